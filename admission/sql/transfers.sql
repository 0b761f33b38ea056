-- Transfers between schools: calendar, school keys, transfers, their event log.

-- name: holiday_on
SELECT name, starts_on, ends_on, grade_from, grade_to
FROM school_holidays
WHERE $1::date BETWEEN starts_on AND ends_on AND $2::smallint BETWEEN grade_from AND grade_to
ORDER BY starts_on
LIMIT 1;

-- name: list_school_holidays
SELECT name, starts_on, ends_on, grade_from, grade_to
FROM school_holidays
WHERE school_year = $1
ORDER BY starts_on, grade_from;

-- name: delete_school_holidays
DELETE FROM school_holidays WHERE school_year = $1;

-- name: insert_school_holiday
INSERT INTO school_holidays (school_year, name, starts_on, ends_on, grade_from, grade_to)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: get_school_signing_key
SELECT school_bin, kid, private_key FROM school_signing_keys WHERE school_bin = $1;

-- name: insert_school_signing_key
INSERT INTO school_signing_keys (school_bin, kid, private_key, public_key)
VALUES ($1, $2, $3, $4)
ON CONFLICT (school_bin) DO NOTHING;

-- name: current_enrolment
SELECT school_bin, grade, language
FROM contingent.enrolments
WHERE child_iin = $1 AND ended_on IS NULL;

-- name: child_has_undelivered_contingent_events
SELECT EXISTS (SELECT FROM contingent_outbox WHERE child_iin = $1 AND delivered_at IS NULL);

-- name: lock_class_set
-- Serialises seat counting per (school, grade, language): held until the transaction ends.
SELECT classes * seats_per_class AS seats
FROM school_classes
WHERE school_bin = $1 AND grade = $2 AND language = $3
FOR UPDATE;

-- name: class_set_occupancy
-- Pupils enrolled there now (contingent store), plus transfers holding a seat
-- there that the contingent store does not show yet (a completed transfer stops
-- holding once its move, carrying the admission order, has been applied; an
-- arrival talon past its validity holds nothing: shown late, it is refused).
SELECT
    (SELECT count(*) FROM contingent.enrolments e
     WHERE e.school_bin = $1 AND e.grade = $2 AND e.language = $3 AND e.ended_on IS NULL)
  + (SELECT count(*) FROM transfers t
     WHERE t.to_school_bin = $1 AND t.grade = $2 AND t.language = $3
       AND t.status IN ('pending', 'accepted', 'departed', 'completed')
       AND NOT (t.status = 'accepted' AND t.arrival_talon_valid_until IS NOT NULL AND t.arrival_talon_valid_until < $4)
       AND NOT EXISTS (
           SELECT 1 FROM contingent.enrolments e
           WHERE e.child_iin = t.child_iin AND e.school_bin = t.to_school_bin
             AND e.order_number = t.admission_order_number));

-- name: insert_transfer
INSERT INTO transfers (
    id, applicant_iin, applicant_full_name, applicant_phone, registered_address, consent,
    child_iin, child_full_name, from_school_bin, from_region, to_school_bin, to_region,
    grade, language, ground, document_ref, path, status, requested_at, decision_due_at
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'pending', $18, $19)
RETURNING *;

-- name: lock_expired_talons_of_child
-- The child's paper transfer whose arrival talon lapsed unused (para 23).
SELECT * FROM transfers
WHERE child_iin = $1 AND status = 'accepted' AND arrival_talon_valid_until < $2
FOR UPDATE;

-- name: get_transfer
SELECT * FROM transfers WHERE id = $1;

-- name: lock_transfer
SELECT * FROM transfers WHERE id = $1 FOR UPDATE;

-- name: save_transfer
UPDATE transfers
SET status = $2, decided_at = $3, refusal_ground = $4, refusal_code = $5, refusal_reason = $6,
    notification_jws = $7, arrival_talon_number = $8, arrival_talon_valid_until = $9,
    departure_talon_number = $10, departed_at = $11, admission_order_number = $12, admission_order_date = $13,
    expulsion_order_number = $14, expulsion_order_date = $15, completed_at = $16, prevention_ref = $17,
    refused_by_name = $18, refused_by_position = $19
WHERE id = $1
RETURNING *;

-- name: insert_transfer_event
INSERT INTO transfer_events (transfer_id, at, stage, actor, detail)
VALUES ($1, $2, $3, $4, $5);

-- name: list_transfer_events
-- The monitoring report (para 24): every stage, oldest first, paged by id.
SELECT ev.id, ev.transfer_id, ev.at, ev.stage, ev.actor, t.from_region, t.to_region, ev.detail
FROM transfer_events ev
JOIN transfers t ON t.id = ev.transfer_id
WHERE ($1::text IS NULL OR t.from_region = $1 OR t.to_region = $1)
  AND ev.id > $2
ORDER BY ev.id
LIMIT $3;

-- name: list_overdue_transfers
-- Pending past their decision deadline, for the region of the deciding school.
SELECT * FROM transfers
WHERE status = 'pending' AND decision_due_at < $2 AND coalesce(to_region, from_region) = $1
ORDER BY decision_due_at
LIMIT $3;

-- name: list_school_transfers
-- A school's incoming and outgoing transfers, newest first.
SELECT * FROM transfers
WHERE (to_school_bin = $1 OR from_school_bin = $1)
  AND ($2::text IS NULL OR status = $2)
ORDER BY requested_at DESC
LIMIT $3;
