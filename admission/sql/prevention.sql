-- Intra-school prevention registration (admission/prevention/service.py).

-- name: prevention_get_council
SELECT school_bin, order_number, order_date, members, updated_at
FROM prevention.councils WHERE school_bin = $1;

-- name: prevention_put_council
INSERT INTO prevention.councils (school_bin, order_number, order_date, members, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (school_bin) DO UPDATE
SET order_number = EXCLUDED.order_number, order_date = EXCLUDED.order_date,
    members = EXCLUDED.members, updated_at = EXCLUDED.updated_at
RETURNING school_bin, order_number, order_date, members, updated_at;

-- name: prevention_insert_sitting
INSERT INTO prevention.sittings
    (id, school_bin, number, held_on, agenda, participants, heard, chair_name, secretary_name, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: prevention_get_sitting
SELECT * FROM prevention.sittings WHERE id = $1 AND school_bin = $2;

-- name: prevention_list_sittings
SELECT * FROM prevention.sittings WHERE school_bin = $1 ORDER BY held_on DESC, created_at DESC LIMIT $2;

-- name: prevention_sitting_decisions
-- The decisions taken at a sitting ($1): registrations, refusals, removals.  $2 the
-- school: a case it no longer holds (handed over, para 24) shows no name.
SELECT c.id, c.school_bin = $2 AS held, c.pupil_full_name, c.grade, c.grounds, c.decision_note,
       c.removal_reason, c.removal_note,
       CASE WHEN c.removal_sitting_id = $1 THEN 'removed'
            WHEN c.state = 'refused' THEN 'refused'
            ELSE 'registered' END AS kind
FROM prevention.cases c
WHERE c.decision_sitting_id = $1 OR c.removal_sitting_id = $1
ORDER BY c.decided_at, c.id;

-- name: prevention_current_enrolment
SELECT school_bin, grade FROM contingent.enrolments WHERE child_iin = $1 AND ended_on IS NULL;

-- name: prevention_insert_case
INSERT INTO prevention.cases (
    id, school_bin, region_slug, state, source, requested_by_role, requested_by_name, proposed_by_name,
    outside_body, outside_body_name, outside_reference, pupil_iin, pupil_full_name, grade, address,
    registered_address, situation, received_at, registration_due_at, registration_number, registered_at,
    initial_data_due_at, created_at
) VALUES (
    $1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22
)
RETURNING *;

-- name: prevention_get_case
SELECT * FROM prevention.cases WHERE id = $1 AND school_bin = $2;

-- name: prevention_lock_case
SELECT * FROM prevention.cases WHERE id = $1 AND school_bin = $2 FOR UPDATE;

-- name: prevention_list_cases
-- A school's cases, newest first; $2 a state or NULL for all, $3 true: only those arrived by transfer.
SELECT * FROM prevention.cases
WHERE school_bin = $1 AND ($2::text IS NULL OR state = $2) AND (NOT $3 OR arrived_at IS NOT NULL)
ORDER BY received_at DESC, id
LIMIT $4;

-- name: prevention_save_registration
UPDATE prevention.cases SET registration_number = $2, registered_at = $3 WHERE id = $1 RETURNING *;

-- name: prevention_save_initial_data
UPDATE prevention.cases SET initial_data = $2, initial_data_at = coalesce(initial_data_at, $3)
WHERE id = $1 RETURNING *;

-- name: prevention_save_assessment
UPDATE prevention.cases SET assessment = $2, assessment_at = $3 WHERE id = $1 RETURNING *;

-- name: prevention_save_decision
UPDATE prevention.cases
SET state = $2, decision_sitting_id = $3, decided_at = $4, grounds = $5, decision_note = $6, report_due_at = $7
WHERE id = $1 RETURNING *;

-- name: prevention_save_report_back
UPDATE prevention.cases SET reported_at = $2 WHERE id = $1 RETURNING *;

-- name: prevention_save_removal
UPDATE prevention.cases
SET state = 'removed', removal_sitting_id = $2, removed_at = $3, removal_reason = $4, removal_note = $5
WHERE id = $1 RETURNING *;

-- name: prevention_put_plan
INSERT INTO prevention.plans
    (case_id, period_from, period_to, situation, approved_by, approved_on, parent_name, acknowledged_on, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (case_id) DO UPDATE
SET period_from = EXCLUDED.period_from, period_to = EXCLUDED.period_to, situation = EXCLUDED.situation,
    approved_by = EXCLUDED.approved_by, approved_on = EXCLUDED.approved_on, parent_name = EXCLUDED.parent_name,
    acknowledged_on = EXCLUDED.acknowledged_on, updated_at = EXCLUDED.updated_at;

-- name: prevention_delete_plan_rows
DELETE FROM prevention.plan_rows WHERE case_id = $1;

-- name: prevention_insert_plan_rows
INSERT INTO prevention.plan_rows
    (case_id, position, kind_of_help, responsible, period_volume, deadline, quality_indicator, done_on, result)
SELECT $1, ordinality, k, r, p, d, q, done, res
FROM unnest($2::text[], $3::text[], $4::text[], $5::date[], $6::text[], $7::date[], $8::text[])
     WITH ORDINALITY AS rows (k, r, p, d, q, done, res, ordinality);

-- name: prevention_get_plan
SELECT period_from, period_to, situation, approved_by, approved_on, parent_name, acknowledged_on, updated_at
FROM prevention.plans WHERE case_id = $1;

-- name: prevention_get_plan_rows
SELECT position, kind_of_help, responsible, period_volume, deadline, quality_indicator, done_on, result
FROM prevention.plan_rows WHERE case_id = $1 ORDER BY position;

-- name: prevention_insert_referral
INSERT INTO prevention.referrals (case_id, kind, sent_on, outgoing_number, note, created_at)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: prevention_get_referrals
SELECT id, kind, sent_on, outgoing_number, note, created_at FROM prevention.referrals WHERE case_id = $1 ORDER BY id;

-- name: prevention_follow_transfer
-- Para 24: the pupil's live case moves to the receiving school with the completed
-- transfer ($1 pupil, $2 departing school, $3 receiving school and $4 its region,
-- $5 when, $6 the transfer); the departing school keeps only the handover row.
WITH moved AS (
    UPDATE prevention.cases
    SET school_bin = $3, region_slug = $4, arrived_at = $5
    WHERE pupil_iin = $1 AND school_bin = $2 AND state IN ('open', 'registered')
    RETURNING id
)
INSERT INTO prevention.handovers (case_id, transfer_id, from_school_bin, to_school_bin, at)
SELECT id, $6, $2, $3, $5 FROM moved
RETURNING case_id;

-- name: prevention_outgoing_handovers
SELECT transfer_id, to_school_bin, at FROM prevention.handovers WHERE from_school_bin = $1 ORDER BY at DESC, id DESC;

-- name: prevention_incoming_handovers
SELECT case_id, transfer_id, from_school_bin, at FROM prevention.handovers
WHERE to_school_bin = $1 ORDER BY at DESC, id DESC;

-- name: prevention_counts
-- Counts only ($1 a school, $2 a region; NULL = any): cases per state, registered ones per ground.
SELECT count(*) FILTER (WHERE state = 'open') AS open,
       count(*) FILTER (WHERE state = 'registered') AS registered,
       count(*) FILTER (WHERE state = 'refused') AS refused,
       count(*) FILTER (WHERE state = 'removed') AS removed,
       coalesce((
           SELECT jsonb_object_agg(g::text, n)
           FROM (
               SELECT g, count(*) AS n
               FROM prevention.cases k, unnest(k.grounds) AS g
               WHERE k.state = 'registered'
                 AND ($1::text IS NULL OR k.school_bin = $1) AND ($2::text IS NULL OR k.region_slug = $2)
               GROUP BY g
           ) per_ground
       ), '{}'::jsonb) AS by_ground
FROM prevention.cases
WHERE ($1::text IS NULL OR school_bin = $1) AND ($2::text IS NULL OR region_slug = $2);

-- name: prevention_truant_candidates
-- Census truants (10+ unexcused days in a month of the quarter) enrolled at school $2,
-- from snapshot $1; with the school's live case, if any.  Never registered by this list.
SELECT c.iin, c.surname, c.name, c.patronymic, c.birth_date, c.grade,
       (SELECT k.id FROM prevention.cases k
        WHERE k.pupil_iin = c.iin AND k.school_bin = $2 AND k.state IN ('open', 'registered')) AS live_case_id
FROM census.children c
WHERE c.load_id = (SELECT load_id FROM census.snapshots WHERE id = $1)
  AND c.truant AND c.enrolled_school_bin = $2
ORDER BY c.surname, c.name, c.iin
LIMIT $3;
