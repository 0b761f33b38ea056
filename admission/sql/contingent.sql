-- The contingent outbox (sending side) and the PostgreSQL contingent store
-- (receiving side, schema ``contingent``).

-- name: outbox_lock_child
-- $1: admission.locks.OUTBOX_CHILD; $2: the child's IIN.
SELECT pg_advisory_xact_lock($1::integer, hashtext($2));

-- name: outbox_insert
INSERT INTO contingent_outbox (child_iin, event)
SELECT * FROM unnest($1::text[], $2::text[]::jsonb[]);

-- name: outbox_claim
-- The oldest due event of each child whose earlier events are all delivered and
-- that no live claim holds; rows another publisher is claiming are skipped, so
-- publishers run side by side.  The claim is a lease ($3 seconds) committed at
-- once: delivery happens outside any transaction.
WITH due AS (
    SELECT o.id
    FROM contingent_outbox o
    WHERE o.delivered_at IS NULL
      AND o.next_attempt_at <= $1
      AND (o.claimed_until IS NULL OR o.claimed_until <= $1)
      AND NOT EXISTS (
          SELECT FROM contingent_outbox p
          WHERE p.child_iin = o.child_iin AND p.delivered_at IS NULL AND p.id < o.id
      )
    ORDER BY o.id
    LIMIT $2
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE contingent_outbox o
SET claimed_until = $1::timestamptz + make_interval(secs => $3::float8), claim = $4
FROM due
WHERE o.id = due.id
RETURNING o.id, o.child_iin, o.event::text AS event, o.attempts;

-- name: outbox_mark_delivered
UPDATE contingent_outbox SET delivered_at = $2, last_error = NULL, claimed_until = NULL, claim = NULL
WHERE id = ANY($1::bigint[]) AND delivered_at IS NULL;

-- name: outbox_mark_failed
-- Only while this publisher's claim still holds: a claim that lapsed belongs to whoever took it over.
UPDATE contingent_outbox o
SET attempts = o.attempts + 1,
    last_error = f.error,
    next_attempt_at = $3::timestamptz + make_interval(secs => least($4::float8 * power(2, o.attempts), $5::float8)),
    claimed_until = NULL,
    claim = NULL
FROM unnest($1::bigint[], $2::text[]) AS f (id, error)
WHERE o.id = f.id AND o.claim = $6 AND o.delivered_at IS NULL;

-- name: outbox_prune
-- Delivered events older than the retention period, a bounded batch at a time.
DELETE FROM contingent_outbox
WHERE id IN (
    SELECT id FROM contingent_outbox
    WHERE delivered_at IS NOT NULL AND delivered_at < $1
    ORDER BY delivered_at
    LIMIT $2
);

-- name: outbox_lag
SELECT count(*) AS pending, min(created_at) AS oldest
FROM contingent_outbox
WHERE delivered_at IS NULL;

-- name: store_mark_applied
INSERT INTO contingent.applied_events (event_id, child_iin, kind)
VALUES ($1, $2, $3)
ON CONFLICT (event_id) DO NOTHING
RETURNING seq;

-- name: store_current_enrolment
SELECT id, school_bin, grade, language
FROM contingent.enrolments
WHERE child_iin = $1 AND ended_on IS NULL
FOR UPDATE;

-- name: store_start_enrolment
INSERT INTO contingent.enrolments (child_iin, school_bin, grade, language, order_number, order_date, since)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: store_end_enrolment
UPDATE contingent.enrolments
SET ended_on = greatest(since, $2), end_reason = $3
WHERE id = $1;

-- name: load_demo_contingent
-- Demo data (kezek census contingent): enrol each child unless it already has a current enrolment.
WITH given AS (
    SELECT DISTINCT ON (child_iin) child_iin, school_bin, grade, language
    FROM unnest($1::text[], $2::text[], $3::smallint[], $4::text[]) AS g (child_iin, school_bin, grade, language)
    ORDER BY child_iin
), inserted AS (
    INSERT INTO contingent.enrolments (child_iin, school_bin, grade, language, order_number, order_date, since)
    SELECT g.child_iin, g.school_bin, g.grade, g.language, 'DEMO', $5, $5
    FROM given g
    WHERE NOT EXISTS (
        SELECT 1 FROM contingent.enrolments e WHERE e.child_iin = g.child_iin AND e.ended_on IS NULL
    )
    RETURNING 1
)
SELECT count(*) FROM inserted;
