-- Foundation: regions and their admission windows, schools and their class
-- capacity, pre-school rosters, the audit trail and the contingent store.

CREATE TABLE regions (
    slug              text PRIMARY KEY CHECK (slug ~ '^[a-z][a-z-]*$'),
    name_kk           text NOT NULL,
    name_ru           text NOT NULL,
    name_en           text NOT NULL,
    -- The grade-1 window of pilot annex 2: [opens_at, closes_at).
    window_opens_at   timestamptz NOT NULL,
    window_closes_at  timestamptz NOT NULL,
    -- True when the run command's demo mode moved the window; never in production.
    window_is_demo    boolean NOT NULL DEFAULT false,
    CHECK (window_closes_at > window_opens_at)
);

CREATE TABLE schools (
    bin          text PRIMARY KEY CHECK (bin ~ '^[0-9]{12}$'),
    region_slug  text NOT NULL REFERENCES regions (slug),
    name_kk      text NOT NULL,
    name_ru      text NOT NULL,
    locality     text NOT NULL,
    address      text NOT NULL,
    phone        text NOT NULL DEFAULT '',
    email        text NOT NULL DEFAULT '',
    website      text NOT NULL DEFAULT ''
);
CREATE INDEX schools_region_idx ON schools (region_slug);

-- Class sets per school, grade and language of instruction (sanitary rules
-- ҚР ДСМ-76 cap the seats per class).
CREATE TABLE school_classes (
    school_bin       text NOT NULL REFERENCES schools (bin),
    grade            smallint NOT NULL CHECK (grade BETWEEN 1 AND 12),
    language         text NOT NULL CHECK (language IN ('kk', 'ru', 'en', 'uz', 'ug', 'tg')),
    classes          integer NOT NULL CHECK (classes >= 0),
    seats_per_class  integer NOT NULL CHECK (seats_per_class BETWEEN 0 AND 40),
    PRIMARY KEY (school_bin, grade, language)
);

-- Children who completed the school's pre-school preparation programme
-- (pilot para 4: admitted to grade 1 there automatically).
CREATE TABLE preschool_roster (
    school_bin  text NOT NULL REFERENCES schools (bin),
    child_iin   text NOT NULL CHECK (child_iin ~ '^[0-9]{12}$'),
    language    text NOT NULL CHECK (language IN ('kk', 'ru', 'en', 'uz', 'ug', 'tg')),
    PRIMARY KEY (school_bin, child_iin)
);
CREATE INDEX preschool_roster_child_idx ON preschool_roster (child_iin);

-- Who changed what: every admin change, old and new values.
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    actor_role   text NOT NULL,
    action       text NOT NULL,
    region_slug  text REFERENCES regions (slug),
    target       text NOT NULL,
    old_value    jsonb,
    new_value    jsonb
);
CREATE INDEX audit_log_region_at_idx ON audit_log (region_slug, at DESC);

-- The contingent store: a stand-in for ҰБДҚ, the register of who studies
-- where.  A child has at most one current enrolment.
CREATE SCHEMA contingent;

CREATE TABLE contingent.enrolments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    child_iin     text NOT NULL CHECK (child_iin ~ '^[0-9]{12}$'),
    school_bin    text NOT NULL,
    grade         smallint NOT NULL CHECK (grade BETWEEN 1 AND 12),
    language      text NOT NULL,
    order_number  text NOT NULL,
    order_date    date NOT NULL,
    since         date NOT NULL,
    ended_on      date,
    end_reason    text,
    CHECK ((ended_on IS NULL) = (end_reason IS NULL))
);
CREATE UNIQUE INDEX enrolments_one_current_idx ON contingent.enrolments (child_iin) WHERE ended_on IS NULL;
CREATE INDEX enrolments_school_idx ON contingent.enrolments (school_bin) WHERE ended_on IS NULL;
