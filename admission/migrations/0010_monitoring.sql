-- Monitoring of admission results (order No. 271, 2023; ../shared/domain.md §5):
-- the decision to monitor, its commission, the schedule of visits, the findings
-- (computed from Kezek's records, reviewed by the commission, or the commission's
-- own), the certificate, the plan of measures and the report.

-- The order deciding to monitor one year's admission (para 3), issued by
-- 1 November of that year.  region_slug NULL: the ministry's, nationwide.
CREATE TABLE monitoring_decisions (
    id               uuid PRIMARY KEY,
    region_slug      text REFERENCES regions (slug),
    admission_year   smallint NOT NULL CHECK (admission_year BETWEEN 2000 AND 2100),
    order_number     text NOT NULL CHECK (length(order_number) BETWEEN 1 AND 100),
    order_date       date NOT NULL,
    decided_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (order_date BETWEEN make_date(admission_year, 1, 1) AND make_date(admission_year, 11, 1))
);
CREATE UNIQUE INDEX monitoring_decisions_order_idx
    ON monitoring_decisions (coalesce(region_slug, ''), admission_year, order_number);

-- The commission the order approves (para 4): a chair, members, one lead from
-- the ministry's or office's staff; odd, at least 7 including the chair.
CREATE TABLE monitoring_commission_members (
    decision_id   uuid NOT NULL REFERENCES monitoring_decisions (id),
    seat          smallint NOT NULL CHECK (seat >= 1),
    full_name     text NOT NULL,
    post          text NOT NULL,
    organisation  text NOT NULL,
    affiliation   text NOT NULL
        CHECK (affiliation IN ('ministry', 'office', 'subordinate', 'college', 'school')),
    is_chair      boolean NOT NULL DEFAULT false,
    is_lead       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (decision_id, seat)
);
CREATE UNIQUE INDEX monitoring_one_chair_idx ON monitoring_commission_members (decision_id) WHERE is_chair;
CREATE UNIQUE INDEX monitoring_one_lead_idx ON monitoring_commission_members (decision_id) WHERE is_lead;

-- One school's visit on the schedule (at most 5 working days), its certificate
-- (para 7-8), plan of measures (10 calendar days) and report (30 calendar days, para 9).
CREATE TABLE monitoring_visits (
    id                     uuid PRIMARY KEY,
    decision_id            uuid NOT NULL REFERENCES monitoring_decisions (id),
    school_bin             text NOT NULL REFERENCES schools (bin),
    region_slug            text NOT NULL REFERENCES regions (slug),
    starts_on              date NOT NULL,
    ends_on                date NOT NULL,
    working_days           smallint NOT NULL CHECK (working_days BETWEEN 1 AND 5),
    findings_computed_at   timestamptz,
    certificate_language   text CHECK (certificate_language IN ('kk', 'ru')),
    certificate_signed_on  date,
    certificate_issued_at  timestamptz,
    certificate_issued_by  text,
    -- True when the certificate holds nonconformities: a plan and a report are then due.
    remediation_required   boolean,
    plan_number            text,
    plan_approved_on       date,
    plan_measures          jsonb,
    plan_recorded_at       timestamptz,
    report_submitted_on    date,
    report_summary         text,
    report_recorded_at     timestamptz,
    UNIQUE (decision_id, school_bin),
    CHECK (ends_on >= starts_on),
    CHECK ((certificate_signed_on IS NULL) = (certificate_language IS NULL)),
    CHECK ((certificate_signed_on IS NULL) = (remediation_required IS NULL)),
    CHECK (certificate_signed_on IS NULL OR certificate_signed_on BETWEEN starts_on AND ends_on),
    CHECK ((plan_approved_on IS NULL) = (plan_measures IS NULL))
);
CREATE INDEX monitoring_visits_school_idx ON monitoring_visits (school_bin);
CREATE INDEX monitoring_visits_region_idx ON monitoring_visits (region_slug, starts_on);

-- A finding: computed from Kezek's records (origin 'computed', keyed by its
-- fingerprint so a recomputation keeps the commission's review) or the
-- commission's own.  Nothing computed is final until reviewed.
CREATE TABLE monitoring_findings (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visit_id            uuid NOT NULL REFERENCES monitoring_visits (id),
    kind                text NOT NULL,
    origin              text NOT NULL CHECK (origin IN ('computed', 'commission')),
    fingerprint         text,
    evidence            jsonb NOT NULL,
    description         text,
    verdict             text NOT NULL DEFAULT 'pending'
        CHECK (verdict IN ('pending', 'accepted', 'rejected', 'edited')),
    note                text,
    reviewed_by         text,
    reviewed_at         timestamptz,
    -- A reviewed computed finding the latest computation no longer yields.
    stale               boolean NOT NULL DEFAULT false,
    CHECK ((origin = 'computed') = (fingerprint IS NOT NULL)),
    -- The commission's own finding is stated as it is written; it may withdraw (reject) or reword it.
    CHECK (origin = 'computed' OR verdict <> 'pending'),
    UNIQUE (visit_id, fingerprint)
);
CREATE INDEX monitoring_findings_visit_idx ON monitoring_findings (visit_id, id);
