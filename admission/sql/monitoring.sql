-- Monitoring of admission results (order No. 271): decisions, commission,
-- visits, findings, certificate, plan and report; and the records the
-- findings are computed from.

-- name: mon_insert_decision
INSERT INTO monitoring_decisions (id, region_slug, admission_year, order_number, order_date, decided_by)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, region_slug, admission_year, order_number, order_date, decided_by, created_at;

-- name: mon_get_decision
SELECT id, region_slug, admission_year, order_number, order_date, decided_by, created_at
FROM monitoring_decisions WHERE id = $1;

-- name: mon_lock_decision
SELECT id, region_slug, admission_year, order_number, order_date, decided_by, created_at
FROM monitoring_decisions WHERE id = $1 FOR UPDATE;

-- name: mon_list_decisions
-- $1 region (NULL: every decision, ministry view), $2 year (NULL: all).
-- A region sees its own decisions and the ministry's decisions with a visit in it.
SELECT d.id, d.region_slug, d.admission_year, d.order_number, d.order_date, d.decided_by, d.created_at
FROM monitoring_decisions d
WHERE ($2::smallint IS NULL OR d.admission_year = $2)
  AND ($1::text IS NULL OR d.region_slug = $1
       OR EXISTS (SELECT FROM monitoring_visits v WHERE v.decision_id = d.id AND v.region_slug = $1))
ORDER BY d.order_date DESC, d.created_at DESC;

-- name: mon_commission
SELECT seat, full_name, post, organisation, affiliation, is_chair, is_lead
FROM monitoring_commission_members WHERE decision_id = $1 ORDER BY seat;

-- name: mon_delete_commission
DELETE FROM monitoring_commission_members WHERE decision_id = $1;

-- name: mon_insert_commission
INSERT INTO monitoring_commission_members
    (decision_id, seat, full_name, post, organisation, affiliation, is_chair, is_lead)
SELECT $1, * FROM unnest($2::smallint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::boolean[]);

-- name: mon_decision_has_certificate
SELECT EXISTS (SELECT FROM monitoring_visits WHERE decision_id = $1 AND certificate_signed_on IS NOT NULL);

-- name: mon_insert_visit
INSERT INTO monitoring_visits (id, decision_id, school_bin, region_slug, starts_on, ends_on, working_days)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id;

-- name: mon_get_visit
SELECT v.*, d.admission_year, d.region_slug AS decision_region, d.order_number, d.order_date,
       s.name_kk AS school_name_kk, s.name_ru AS school_name_ru, s.address AS school_address
FROM monitoring_visits v
JOIN monitoring_decisions d ON d.id = v.decision_id
JOIN schools s ON s.bin = v.school_bin
WHERE v.id = $1;

-- name: mon_lock_visit
SELECT id FROM monitoring_visits WHERE id = $1 FOR UPDATE;

-- name: mon_list_visits
-- $1 decision, $2 region, $3 school, $4 year: each NULL means any.
SELECT v.*, d.admission_year, d.region_slug AS decision_region, d.order_number, d.order_date,
       s.name_kk AS school_name_kk, s.name_ru AS school_name_ru, s.address AS school_address
FROM monitoring_visits v
JOIN monitoring_decisions d ON d.id = v.decision_id
JOIN schools s ON s.bin = v.school_bin
WHERE ($1::uuid IS NULL OR v.decision_id = $1)
  AND ($2::text IS NULL OR v.region_slug = $2)
  AND ($3::text IS NULL OR v.school_bin = $3)
  AND ($4::smallint IS NULL OR d.admission_year = $4)
ORDER BY v.starts_on, v.school_bin;

-- name: mon_set_findings_computed
UPDATE monitoring_visits SET findings_computed_at = $2 WHERE id = $1;

-- name: mon_issue_certificate
UPDATE monitoring_visits
SET certificate_language = $2, certificate_signed_on = $3, certificate_issued_at = $4,
    certificate_issued_by = $5, remediation_required = $6
WHERE id = $1;

-- name: mon_record_plan
UPDATE monitoring_visits
SET plan_number = $2, plan_approved_on = $3, plan_measures = $4, plan_recorded_at = $5
WHERE id = $1;

-- name: mon_record_report
UPDATE monitoring_visits
SET report_submitted_on = $2, report_summary = $3, report_recorded_at = $4
WHERE id = $1;

-- name: mon_findings
SELECT id, visit_id, kind, origin, fingerprint, evidence, description, verdict, note,
       reviewed_by, reviewed_at, stale
FROM monitoring_findings WHERE visit_id = $1 ORDER BY id;

-- name: mon_lock_finding
SELECT id, visit_id, kind, origin, fingerprint, evidence, description, verdict, note,
       reviewed_by, reviewed_at, stale
FROM monitoring_findings WHERE id = $1 AND visit_id = $2 FOR UPDATE;

-- name: mon_upsert_computed_finding
-- A recomputation refreshes the evidence of a finding still pending; a reviewed
-- one keeps what the commission saw and reviewed.
INSERT INTO monitoring_findings (visit_id, kind, origin, fingerprint, evidence)
VALUES ($1, $2, 'computed', $3, $4)
ON CONFLICT (visit_id, fingerprint) DO UPDATE
SET evidence = CASE WHEN monitoring_findings.verdict = 'pending' THEN excluded.evidence
                    ELSE monitoring_findings.evidence END,
    stale = false;

-- name: mon_drop_vanished_findings
-- Computed findings the records no longer show: pending ones go, reviewed ones are marked stale.
WITH gone AS (
    DELETE FROM monitoring_findings
    WHERE visit_id = $1 AND origin = 'computed' AND verdict = 'pending' AND NOT fingerprint = ANY($2::text[])
    RETURNING id
)
UPDATE monitoring_findings SET stale = true
WHERE visit_id = $1 AND origin = 'computed' AND verdict <> 'pending' AND NOT fingerprint = ANY($2::text[]);

-- name: mon_insert_commission_finding
INSERT INTO monitoring_findings (visit_id, kind, origin, evidence, description, verdict, note, reviewed_by, reviewed_at)
VALUES ($1, $2, 'commission', $3, $4, 'accepted', $5, $6, $7)
RETURNING id;

-- name: mon_review_finding
UPDATE monitoring_findings
SET verdict = $3, description = $4, note = $5, reviewed_by = $6, reviewed_at = $7
WHERE id = $1 AND visit_id = $2;

-- Records the findings are computed from ---------------------------------

-- name: mon_region_window
SELECT window_opens_at, window_closes_at FROM regions WHERE slug = $1;

-- name: mon_audit_of
-- Audit entries of one action on targets starting with $3, oldest first.
SELECT id, at, old_value, new_value, target
FROM audit_log
WHERE region_slug = $1 AND action = ANY($2::text[]) AND starts_with(target, $3)
ORDER BY at, id;

-- name: mon_year_applications
SELECT id, child_iin, language, status, refusal_ground, refusal_code, priority, decided_at,
       withdrawn_at, confirmed_at, order_number, order_date
FROM applications
WHERE school_bin = $1 AND decided_at >= $2 AND decided_at < $3
ORDER BY decided_at, id;

-- name: mon_school_class_sets
SELECT grade, language, classes * seats_per_class AS capacity, roster_held, roster_taken, general_taken
FROM school_classes WHERE school_bin = $1;

-- name: mon_school_roster
SELECT child_iin, language FROM preschool_roster WHERE school_bin = $1;

-- name: mon_enrolments_of
-- Grade-1 enrolments at the school of the given children, any state.
SELECT id, child_iin, order_number, since, ended_on, end_reason
FROM contingent.enrolments
WHERE school_bin = $1 AND grade = 1 AND child_iin = ANY($2::text[])
ORDER BY id;

-- name: mon_outbox_of
-- Outbox events about the school for the given children, with their delivery.
SELECT id, child_iin, event->>'type' AS kind, event->>'order_number' AS order_number,
       created_at, delivered_at, attempts, last_error
FROM contingent_outbox
WHERE child_iin = ANY($2::text[])
  AND (event->>'school_bin' = $1 OR event->>'to_school_bin' = $1)
ORDER BY id;

-- name: mon_year_transfers
-- Transfers the school decides (receiving; departing when the pupil leaves the country), requested in the period.
SELECT id, child_iin, grade, language, status, to_school_bin, requested_at, decision_due_at, decided_at
FROM transfers
WHERE (to_school_bin = $1 OR (to_school_bin IS NULL AND from_school_bin = $1))
  AND requested_at >= $2 AND requested_at < $3
ORDER BY requested_at, id;

-- name: mon_class_enrolled_on
-- Pupils enrolled in a class set on a day (the contingent store), other than $5.
SELECT count(*) FROM contingent.enrolments
WHERE school_bin = $1 AND grade = $2 AND language = $3 AND since <= $4
  AND (ended_on IS NULL OR ended_on > $4) AND child_iin <> $5;

-- name: mon_transfers_holding_before
-- Transfers into a class set accepted before $4 whose pupil the store did not show there on $5.
SELECT count(*) FROM transfers t
WHERE t.to_school_bin = $1 AND t.grade = $2 AND t.language = $3
  AND t.status IN ('accepted', 'departed', 'completed') AND t.decided_at < $4 AND t.child_iin <> $6
  AND NOT EXISTS (
      SELECT FROM contingent.enrolments e
      WHERE e.child_iin = t.child_iin AND e.school_bin = $1 AND e.since <= $5
        AND (e.ended_on IS NULL OR e.ended_on > $5));
