-- Intra-school prevention registration (МЕА; methodical recommendations, order No. 398
-- of 2023): each school's prevention council, its sittings and minutes, the cases
-- (from a request or from outside information) with their deadlines, decisions,
-- individual prevention plans (annex 1), removals, referrals to the commission for
-- minors, and the handovers of a case to the pupil's new school (para 24).
--
-- The most sensitive data in the system: only the holding school's admins read a
-- case (admission/prevention/service.py enforces it and audits every read).

CREATE SCHEMA prevention;

-- Paras 6-7: approved by the head's order; >= 5 staff, one chair (the head), one
-- secretary (the social pedagogue or their stand-in).  Replaced whole.
CREATE TABLE prevention.councils (
    school_bin    text PRIMARY KEY REFERENCES schools (bin),
    order_number  text NOT NULL,
    order_date    date NOT NULL,
    members       jsonb NOT NULL CHECK (jsonb_typeof(members) = 'array' AND jsonb_array_length(members) >= 5),
    updated_at    timestamptz NOT NULL
);

-- Para 5, 17: a sitting and what its minutes carry besides the decisions (which
-- are stored on the cases: decision_sitting_id, removal_sitting_id).
CREATE TABLE prevention.sittings (
    id              uuid PRIMARY KEY,
    school_bin      text NOT NULL REFERENCES schools (bin),
    number          text NOT NULL,
    held_on         date NOT NULL,
    agenda          jsonb NOT NULL,         -- ["item", ...]
    participants    jsonb NOT NULL,         -- [{full_name, post, kind: member|invited|parent}]
    heard           text NOT NULL,          -- short extract of what was heard
    chair_name      text NOT NULL,          -- who signs (the council's chair and secretary then)
    secretary_name  text NOT NULL,
    created_at      timestamptz NOT NULL,
    UNIQUE (school_bin, number)
);
CREATE INDEX sittings_school_idx ON prevention.sittings (school_bin, held_on DESC);

CREATE TABLE prevention.cases (
    id                   uuid PRIMARY KEY,
    -- The school holding the case now: the pupil's school (it changes on transfer, para 24).
    school_bin           text NOT NULL REFERENCES schools (bin),
    region_slug          text NOT NULL REFERENCES regions (slug),
    -- open (awaiting the council) -> registered -> removed; or open -> refused.
    state                text NOT NULL CHECK (state IN ('open', 'registered', 'refused', 'removed')),
    source               text NOT NULL CHECK (source IN ('request', 'outside')),
    -- Para 4: a request by staff, proposed by the deputy head for upbringing.
    requested_by_role    text CHECK (requested_by_role IN ('class_teacher', 'social_pedagogue', 'subject_teacher', 'other')),
    requested_by_name    text,
    proposed_by_name     text,
    -- Para 11: information from a body of the offence-prevention system.
    outside_body         text CHECK (outside_body IN (
        'police', 'health', 'social_protection', 'family_support', 'religious_affairs', 'other')),
    outside_body_name    text,
    outside_reference    text,
    pupil_iin            text NOT NULL CHECK (pupil_iin ~ '^[0-9]{12}$'),
    pupil_full_name      text NOT NULL,
    grade                smallint CHECK (grade BETWEEN 0 AND 12),
    address              text NOT NULL DEFAULT '',
    registered_address   text NOT NULL DEFAULT '',
    situation            text NOT NULL,
    received_at          timestamptz NOT NULL,
    -- Para 11: outside information registered within 1 working day.
    registration_due_at  timestamptz,
    registration_number  text,
    registered_at        timestamptz,
    -- Para 12: initial data collected within 2 working days.
    initial_data_due_at  timestamptz NOT NULL,
    initial_data         jsonb,
    initial_data_at      timestamptz,
    -- Para 14: the initial assessment materials, before the decision.
    assessment           jsonb,
    assessment_at        timestamptz,
    -- Paras 15, 22: the decision, on one or more of the 10 grounds when registering.
    decision_sitting_id  uuid REFERENCES prevention.sittings (id),
    decided_at           timestamptz,
    grounds              smallint[] NOT NULL DEFAULT '{}' CHECK (grounds <@ '{1,2,3,4,5,6,7,8,9,10}'),
    decision_note        text,
    -- Para 20: the decision reported back to the outside body within 1 working day.
    report_due_at        timestamptz,
    reported_at          timestamptz,
    -- Para 23: removal.
    removal_sitting_id   uuid REFERENCES prevention.sittings (id),
    removed_at           timestamptz,
    removal_reason       text CHECK (removal_reason IN (
        'responsible_request', 'positive_references', 'relocation', 'school_change')),
    removal_note         text,
    -- Para 24: when it arrived at the holding school with the pupil's transfer.
    arrived_at           timestamptz,
    created_at           timestamptz NOT NULL,
    CHECK ((source = 'outside') = (outside_body IS NOT NULL)),
    CHECK ((source = 'outside') = (registration_due_at IS NOT NULL)),
    CHECK ((source = 'request') = (requested_by_role IS NOT NULL)),
    CHECK ((state = 'registered' OR state = 'removed') = (cardinality(grounds) > 0)),
    CHECK ((state = 'open') = (decided_at IS NULL)),
    CHECK ((state = 'removed') = (removed_at IS NOT NULL))
);
-- One live case per pupil, across schools.
CREATE UNIQUE INDEX cases_one_live_idx ON prevention.cases (pupil_iin) WHERE state IN ('open', 'registered');
CREATE INDEX cases_school_idx ON prevention.cases (school_bin, state, received_at DESC);
CREATE INDEX cases_region_idx ON prevention.cases (region_slug, state);
CREATE INDEX cases_decision_sitting_idx ON prevention.cases (decision_sitting_id);
CREATE INDEX cases_removal_sitting_idx ON prevention.cases (removal_sitting_id);

-- Annex 1: the individual prevention plan, approved by the head, acknowledged by a parent.
CREATE TABLE prevention.plans (
    case_id          uuid PRIMARY KEY REFERENCES prevention.cases (id),
    period_from      date NOT NULL,
    period_to        date NOT NULL,
    situation        text NOT NULL,
    approved_by      text NOT NULL,
    approved_on      date NOT NULL,
    parent_name      text,
    acknowledged_on  date,
    updated_at       timestamptz NOT NULL,
    CHECK (period_to >= period_from),
    CHECK ((parent_name IS NULL) = (acknowledged_on IS NULL))
);

-- Annex 1's rows: kind of help, responsible, period/volume, deadline, quality indicator;
-- para 19: each row's result is monitored and assessed.
CREATE TABLE prevention.plan_rows (
    case_id            uuid NOT NULL REFERENCES prevention.plans (case_id) ON DELETE CASCADE,
    position           smallint NOT NULL,
    kind_of_help       text NOT NULL,
    responsible        text NOT NULL,
    period_volume      text NOT NULL,
    deadline           date NOT NULL,
    quality_indicator  text NOT NULL,
    done_on            date,
    result             text,
    PRIMARY KEY (case_id, position)
);

-- Para 21: proposals to the territorial commission for minors and the protection of their rights.
CREATE TABLE prevention.referrals (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id          uuid NOT NULL REFERENCES prevention.cases (id),
    kind             text NOT NULL CHECK (kind IN ('parents_duties', 'parents_measures', 'minor_offence')),
    sent_on          date NOT NULL,
    outgoing_number  text NOT NULL,
    note             text NOT NULL,
    created_at       timestamptz NOT NULL
);
CREATE INDEX referrals_case_idx ON prevention.referrals (case_id, id);

-- Para 24: a case handed over with the pupil's completed transfer.  The departing
-- school keeps only this: that it handed a case over, to whom, and when.
CREATE TABLE prevention.handovers (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id          uuid NOT NULL REFERENCES prevention.cases (id),
    transfer_id      uuid NOT NULL REFERENCES transfers (id),
    from_school_bin  text NOT NULL REFERENCES schools (bin),
    to_school_bin    text NOT NULL REFERENCES schools (bin),
    at               timestamptz NOT NULL
);
CREATE INDEX handovers_from_idx ON prevention.handovers (from_school_bin, at DESC);
CREATE INDEX handovers_to_idx ON prevention.handovers (to_school_bin, at DESC);
