-- Transfers between schools (model rules paras 17-25, 27 and annex 2; intra-school
-- registration para 24): the academic calendar, the schools' signing keys, the
-- transfers themselves and the event log each stage writes to.

-- School holidays per school year, kept by the ministry admin.  A period may
-- apply to some grades only (the extra February week of grade 1).
CREATE TABLE school_holidays (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school_year  text NOT NULL CHECK (school_year ~ '^[0-9]{4}-[0-9]{4}$'),
    name         text NOT NULL,
    starts_on    date NOT NULL,
    ends_on      date NOT NULL,
    grade_from   smallint NOT NULL DEFAULT 1 CHECK (grade_from BETWEEN 1 AND 12),
    grade_to     smallint NOT NULL DEFAULT 12 CHECK (grade_to BETWEEN 1 AND 12),
    CHECK (ends_on >= starts_on),
    CHECK (grade_to >= grade_from)
);
CREATE INDEX school_holidays_dates_idx ON school_holidays (starts_on, ends_on);

-- Kazakhstan defaults (ministry orders on the structure of the school year);
-- the ministry admin replaces a year's periods through the API.
INSERT INTO school_holidays (school_year, name, starts_on, ends_on, grade_from, grade_to) VALUES
    ('2025-2026', 'autumn', '2025-10-27', '2025-11-02', 1, 12),
    ('2025-2026', 'winter', '2025-12-29', '2026-01-07', 1, 12),
    ('2025-2026', 'grade 1 extra', '2026-02-09', '2026-02-15', 1, 1),
    ('2025-2026', 'spring', '2026-03-19', '2026-03-29', 1, 12),
    ('2025-2026', 'summer', '2026-05-26', '2026-08-31', 1, 12),
    ('2026-2027', 'autumn', '2026-10-26', '2026-11-01', 1, 12),
    ('2026-2027', 'winter', '2026-12-30', '2027-01-07', 1, 12),
    ('2026-2027', 'grade 1 extra', '2027-02-08', '2027-02-14', 1, 1),
    ('2026-2027', 'spring', '2027-03-19', '2027-03-28', 1, 12),
    ('2026-2027', 'summer', '2027-05-26', '2027-08-31', 1, 12);

-- Each school's signing key (the stand-in for its ЭЦҚ): Ed25519, created on
-- first use.  The public half is published; notifications are JWS signed with it.
CREATE TABLE school_signing_keys (
    school_bin   text PRIMARY KEY REFERENCES schools (bin),
    kid          text NOT NULL UNIQUE,
    private_key  bytea NOT NULL,
    public_key   bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE transfers (
    id                       uuid PRIMARY KEY,
    applicant_iin            text NOT NULL CHECK (applicant_iin ~ '^[0-9]{12}$'),
    child_iin                text NOT NULL CHECK (child_iin ~ '^[0-9]{12}$'),
    child_full_name          text NOT NULL,
    from_school_bin          text NOT NULL REFERENCES schools (bin),
    from_region              text NOT NULL REFERENCES regions (slug),
    -- NULL only when the pupil leaves Kazakhstan.
    to_school_bin            text REFERENCES schools (bin),
    to_region                text REFERENCES regions (slug),
    grade                    smallint NOT NULL CHECK (grade BETWEEN 1 AND 11),
    language                 text NOT NULL CHECK (language IN ('kk', 'ru', 'en', 'uz', 'ug', 'tg')),
    ground                   text NOT NULL
        CHECK (ground IN ('holidays', 'court_decision', 'relocation', 'leaving_country', 'bullying')),
    document_ref             text,
    path                     text NOT NULL CHECK (path IN ('portal', 'paper')),
    -- pending -> accepted [-> departed (paper)] -> completed; or refused.
    status                   text NOT NULL CHECK (status IN ('pending', 'accepted', 'departed', 'completed', 'refused')),
    requested_at             timestamptz NOT NULL,
    decision_due_at          timestamptz NOT NULL,
    decided_at               timestamptz,
    refusal_ground           smallint CHECK (refusal_ground BETWEEN 1 AND 7),
    refusal_code             text,
    refusal_reason           text,
    -- The para 19 notification (or the motivated refusal) as a compact JWS.
    notification_jws         text,
    arrival_talon_number     text UNIQUE,
    arrival_talon_valid_until timestamptz,
    departure_talon_number   text UNIQUE,
    departed_at              timestamptz,
    admission_order_number   text,
    admission_order_date     date,
    expulsion_order_number   text,
    expulsion_order_date     date,
    completed_at             timestamptz,
    -- Opaque reference to prevention-work information (intra-school registration
    -- para 24); shown only to the two schools' admins.
    prevention_ref           text,
    CHECK ((to_school_bin IS NULL) = (ground = 'leaving_country')),
    CHECK ((to_school_bin IS NULL) = (to_region IS NULL)),
    CHECK (to_school_bin IS DISTINCT FROM from_school_bin),
    CHECK ((status = 'refused') = (refusal_code IS NOT NULL))
);
-- One transfer in progress per pupil.
CREATE UNIQUE INDEX transfers_one_live_idx ON transfers (child_iin) WHERE status IN ('pending', 'accepted', 'departed');
-- Seats held in a receiving class set (capacity counting).
CREATE INDEX transfers_holding_idx ON transfers (to_school_bin, grade, language)
    WHERE status IN ('pending', 'accepted', 'departed', 'completed');
CREATE INDEX transfers_overdue_idx ON transfers (decision_due_at) WHERE status = 'pending';
CREATE INDEX transfers_from_idx ON transfers (from_school_bin, requested_at DESC);
CREATE INDEX transfers_to_idx ON transfers (to_school_bin, requested_at DESC);

-- Every stage of every transfer (para 24: reported to the state-services monitoring).
CREATE TABLE transfer_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transfer_id  uuid NOT NULL REFERENCES transfers (id),
    at           timestamptz NOT NULL,
    stage        text NOT NULL,
    actor        text NOT NULL,
    detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX transfer_events_transfer_idx ON transfer_events (transfer_id, id);
CREATE INDEX transfer_events_at_idx ON transfer_events (at, id);
