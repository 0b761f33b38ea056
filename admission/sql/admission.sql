-- Grade-1 applications: decisions, withdrawal, confirmation; class sets,
-- rosters, windows as the admins edit them; free seats for parents.

-- name: application_context
-- Everything a decision needs, in one round trip, and the application this filing repeats
-- (the same slot and form $4, or the applicant $5's Idempotency-Key $6), if any.  With a
-- key, the caller's transaction takes the key's lock, class $7 (admission.locks.IDEMPOTENCY_KEY;
-- false: a request with that key is still being decided).
SELECT s.region_slug, s.name_kk AS school_name_kk, s.name_ru AS school_name_ru,
       r.window_opens_at, r.window_closes_at, r.auto_confirm,
       c.school_bin IS NOT NULL AS offers_language,
       (SELECT p.language FROM preschool_roster p WHERE p.school_bin = s.bin AND p.child_iin = $2) AS roster_language,
       (SELECT a.id FROM applications a
        WHERE a.child_iin = $2 AND a.status IN ('accepted', 'confirmed')) AS live_application_id,
       replay.id AS replay_id, replay.request_hash AS replay_request_hash, replay.by_key AS replay_by_key,
       CASE WHEN $6::text IS NULL THEN true
            ELSE pg_try_advisory_xact_lock($7::integer, hashtext($5 || ':' || $6::text)) END AS key_free
FROM schools s
JOIN regions r ON r.slug = s.region_slug
LEFT JOIN school_classes c ON c.school_bin = s.bin AND c.grade = 1 AND c.language = $3
LEFT JOIN LATERAL (
    SELECT a.id, a.request_hash, coalesce(a.idempotency_key = $6::text, false) AS by_key
    FROM applications a
    WHERE a.filing_key = $4 OR (a.applicant_iin = $5 AND a.idempotency_key = $6::text)
    ORDER BY 3 DESC
    LIMIT 1
) AS replay ON true
WHERE s.bin = $1;

-- name: replay_application
-- The application a filing repeats (after two identical filings raced).
SELECT id AS replay_id, request_hash AS replay_request_hash,
       coalesce(idempotency_key = $3::text, false) AS replay_by_key
FROM applications
WHERE filing_key = $1 OR (applicant_iin = $2 AND idempotency_key = $3::text)
ORDER BY 3 DESC
LIMIT 1;

-- name: decide_seat
-- One statement: take a seat if one is free (general, or held for the
-- roster when :priority) and record the decision.  Concurrent deciders queue on
-- the class-set row and re-check the condition on its newest version, so a
-- seat goes to exactly one of them.  A priority application with no held
-- seat left inserts nothing (the caller retries it on the general basis).
-- When :auto_confirm the admission is confirmed at once and its Enrol
-- event (:enrol_event) is written to the outbox in the same statement.
-- Named parameters: admission.applications.service.SeatDecision.
WITH seat AS (
    UPDATE school_classes
    SET general_taken = general_taken + (NOT :priority::boolean)::integer,
        roster_taken = roster_taken + :priority::boolean::integer
    WHERE school_bin = :school_bin AND grade = 1 AND language = :language
      AND CASE WHEN :priority::boolean THEN roster_taken < roster_held
               ELSE general_taken + roster_held < classes * seats_per_class END
    RETURNING 1
), app AS (
    INSERT INTO applications (
        id, applicant_iin, child_iin, school_bin, region_slug, language, consent, status,
        refusal_ground, refusal_code, priority, decided_at, confirmed_at, order_number, order_date,
        withdraw_token_hash, access_jti, applicant_full_name, filing_key, idempotency_key, request_hash)
    SELECT :id, :applicant_iin, :child_iin, :school_bin, :region_slug, :language, true,
           CASE WHEN NOT s.ok THEN 'refused' WHEN :auto_confirm::boolean THEN 'confirmed' ELSE 'accepted' END,
           CASE WHEN s.ok THEN NULL ELSE 7 END,
           CASE WHEN s.ok THEN NULL ELSE 'class_full' END,
           :priority::boolean AND s.ok,
           :decided_at,
           CASE WHEN s.ok AND :auto_confirm::boolean THEN :decided_at::timestamptz END,
           CASE WHEN s.ok AND :auto_confirm::boolean THEN :order_number::text END,
           CASE WHEN s.ok AND :auto_confirm::boolean THEN :order_date::date END,
           :withdraw_token_hash, :access_jti, :applicant_full_name::text, :filing_key, :idempotency_key, :request_hash
    FROM (SELECT EXISTS (SELECT FROM seat) AS ok) AS s
    WHERE s.ok OR NOT :priority::boolean
    RETURNING status
), event AS (
    INSERT INTO contingent_outbox (child_iin, event)
    SELECT :child_iin, :enrol_event::text::jsonb FROM app WHERE app.status = 'confirmed'
)
SELECT status FROM app;

-- name: insert_refused
-- Named parameters: admission.applications.service.RefusedApplication.
INSERT INTO applications (
    id, applicant_iin, child_iin, school_bin, region_slug, language, consent, status,
    refusal_ground, refusal_code, duplicate_of, decided_at, withdraw_token_hash, access_jti, applicant_full_name,
    filing_key, idempotency_key, request_hash)
VALUES (
    :id, :applicant_iin, :child_iin, :school_bin, :region_slug, :language, :consent, 'refused',
    :refusal_ground, :refusal_code, :duplicate_of, :decided_at, :withdraw_token_hash, :access_jti,
    :applicant_full_name, :filing_key, :idempotency_key, :request_hash);

-- name: live_application
SELECT id FROM applications WHERE child_iin = $1 AND status IN ('accepted', 'confirmed');

-- name: get_application
SELECT a.id, a.applicant_iin, a.applicant_full_name, a.child_iin, a.school_bin, a.region_slug, a.grade, a.language, a.consent,
       a.status, a.refusal_ground, a.refusal_code, a.duplicate_of, a.priority, a.decided_at, a.withdrawn_at,
       a.confirmed_at, a.order_number, a.order_date, a.withdraw_token_hash,
       s.name_kk AS school_name_kk, s.name_ru AS school_name_ru
FROM applications a
JOIN schools s ON s.bin = a.school_bin
WHERE a.id = $1;

-- name: lock_application
SELECT id, status, withdraw_token_hash, applicant_iin, child_iin, school_bin, grade, language, priority, confirmed_at
FROM applications
WHERE id = $1
FOR UPDATE;

-- name: withdraw_application
UPDATE applications SET status = 'withdrawn', withdrawn_at = $2 WHERE id = $1;

-- name: release_seat
UPDATE school_classes
SET general_taken = general_taken - (NOT $4::boolean)::integer,
    roster_taken = roster_taken - $4::boolean::integer
WHERE school_bin = $1 AND grade = $2 AND language = $3;

-- name: confirm_applications
-- Rows are locked in id order, so two confirmations of one school never deadlock.
UPDATE applications a
SET status = 'confirmed', order_number = $3, order_date = $4, confirmed_at = $5
FROM (
    SELECT id FROM applications
    WHERE school_bin = $1 AND status = 'accepted' AND ($2::uuid IS NULL OR id = $2)
    ORDER BY id
    FOR UPDATE
) AS picked
WHERE a.id = picked.id
RETURNING a.id, a.child_iin, a.grade, a.language, a.decided_at;

-- name: application_status_at_school
SELECT status FROM applications WHERE id = $1 AND school_bin = $2;

-- name: school_applications
SELECT id, child_iin, language, status, priority, decided_at, confirmed_at, order_number, order_date
FROM applications
WHERE school_bin = $1 AND ($2::text IS NULL OR status = $2)
ORDER BY decided_at, id
LIMIT $3;

-- name: lock_school_class
SELECT classes, seats_per_class, roster_held, roster_taken, general_taken
FROM school_classes
WHERE school_bin = $1 AND grade = $2 AND language = $3
FOR UPDATE;

-- name: upsert_school_class
-- A new grade-1 class set holds seats for the roster children already listed in its language.
INSERT INTO school_classes (school_bin, grade, language, classes, seats_per_class, roster_held)
VALUES ($1::text, $2::smallint, $3::text, $4, $5, CASE WHEN $2::smallint = 1 THEN (
    SELECT count(*)::integer FROM preschool_roster WHERE school_bin = $1::text AND language = $3::text) ELSE 0 END)
ON CONFLICT (school_bin, grade, language) DO UPDATE
SET classes = excluded.classes, seats_per_class = excluded.seats_per_class;

-- name: get_roster_entry
SELECT language FROM preschool_roster WHERE school_bin = $1 AND child_iin = $2;

-- name: put_roster_entry
INSERT INTO preschool_roster (school_bin, child_iin, language)
VALUES ($1, $2, $3)
ON CONFLICT (school_bin, child_iin) DO UPDATE SET language = excluded.language
WHERE preschool_roster.language <> excluded.language;

-- name: delete_roster_entry
DELETE FROM preschool_roster WHERE school_bin = $1 AND child_iin = $2 RETURNING language;

-- name: lock_region
SELECT slug, window_opens_at, window_closes_at, window_is_demo, auto_confirm
FROM regions WHERE slug = $1 FOR UPDATE;

-- name: set_auto_confirm
UPDATE regions SET auto_confirm = $2 WHERE slug = $1;

-- name: region_schools_with_seats
-- Parents' view during the surge: one indexed pass over a region's schools.
SELECT s.bin, s.name_kk, s.name_ru, s.locality, s.address, s.phone, s.email, s.website,
       c.language, c.classes * c.seats_per_class AS capacity, c.roster_held,
       c.classes * c.seats_per_class - c.roster_held - c.general_taken AS free_general
FROM schools s
LEFT JOIN school_classes c ON c.school_bin = s.bin AND c.grade = 1
WHERE s.region_slug = $1
ORDER BY s.bin, c.language;

-- name: lock_school
SELECT bin, region_slug, name_kk, name_ru, locality, address, phone, email, website
FROM schools WHERE bin = $1 FOR UPDATE;

-- name: update_school
UPDATE schools
SET name_kk = $2, name_ru = $3, locality = $4, address = $5, phone = $6, email = $7, website = $8
WHERE bin = $1;

-- name: get_school_class
SELECT classes, seats_per_class FROM school_classes WHERE school_bin = $1 AND grade = $2 AND language = $3;

-- name: region_class_sets
-- The admin console's table: every school of a region with its class sets of one grade.
SELECT s.bin, s.name_kk, s.name_ru, c.language, c.classes, c.seats_per_class,
       c.classes * c.seats_per_class AS capacity, c.general_taken + c.roster_taken AS taken, c.roster_held
FROM schools s
LEFT JOIN school_classes c ON c.school_bin = s.bin AND c.grade = $2
WHERE s.region_slug = $1 AND ($3::text IS NULL OR s.bin = $3)
ORDER BY substring(s.name_ru FROM '№\s*(\d+)')::integer NULLS LAST, s.bin, c.language;

-- name: admin_get_school
SELECT bin, region_slug, name_kk, name_ru, locality, address, phone, email, website FROM schools WHERE bin = $1;
