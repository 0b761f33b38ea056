-- Census of children 0-18 (order No. 324): the single database built from the
-- education system's extract (ББАЖ) and the state bodies' persons extract
-- (МО АЖ), kept as quarterly snapshots per region; schools' service
-- territories; the monthly attendance feed (systematic truants); bad rows.

CREATE SCHEMA census;

-- ИИН/ЖСН/БСН check digit: weights 1..11 over digits 1-11 mod 11; when 10,
-- weights 3..11,1,2; when still 10 the number is invalid.  Plain SQL over a
-- bigint (no regular expressions: they cost microseconds a row) so the
-- planner inlines it into set-based validation.  The sum is written once, as
-- the operand of a simple CASE (evaluated once; the check digit 0-9 can never
-- equal the remainder 10).
CREATE FUNCTION census.check_digit_ok(n bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE (n / 100000000000 % 10 + 2 * (n / 10000000000 % 10) + 3 * (n / 1000000000 % 10) + 4 * (n / 100000000 % 10) + 5 * (n / 10000000 % 10) + 6 * (n / 1000000 % 10)
             + 7 * (n / 100000 % 10) + 8 * (n / 10000 % 10) + 9 * (n / 1000 % 10) + 10 * (n / 100 % 10) + 11 * (n / 10 % 10)) % 11
        WHEN n % 10 THEN true
        WHEN 10 THEN (3 * (n / 100000000000 % 10) + 4 * (n / 10000000000 % 10) + 5 * (n / 1000000000 % 10) + 6 * (n / 100000000 % 10) + 7 * (n / 10000000 % 10) + 8 * (n / 1000000 % 10)
             + 9 * (n / 100000 % 10) + 10 * (n / 10000 % 10) + 11 * (n / 1000 % 10) + n / 100 % 10 + 2 * (n / 10 % 10)) % 11 = n % 10
        ELSE false
    END
$$;

-- Whether ``value`` is all ASCII digits (and not empty).
CREATE FUNCTION census.is_digits(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT value <> '' AND ltrim(value, '0123456789') = ''
$$;

-- A valid ИИН/БСН.  (Inlined, ``iin::bigint`` is cast once per digit: the
-- extract checks cast a field once in a fenced subquery and call
-- check_digit_ok on the number instead.)
CREATE FUNCTION census.iin_valid(iin text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN length(iin) = 12 AND census.is_digits(iin) THEN census.check_digit_ok(iin::bigint) ELSE false END
$$;

-- The number a field of ``digits`` ASCII digits spells, or NULL.  (Lengths
-- in bytes: length() counts UTF-8 characters one by one; a field of digits
-- has as many bytes as characters, any other fails the digit test anyway.)
CREATE FUNCTION census.number_of(value text, digits integer) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN octet_length(value) = digits AND ltrim(value, '0123456789') = '' THEN value::bigint END
$$;

-- Every real day of the years an ИИН can encode (1800-2099) as the extracts
-- write it (DD.MM.YYYY) and as the integer YYYYMMDD.  The checks look a birth
-- date up here (one hash probe) instead of cutting it apart per row; a date
-- not found is not a real date of those years.  Full years between two dates
-- are the difference of the YYYYMMDD numbers div 10000: no date arithmetic
-- per row.
CREATE TABLE census.days (
    dmy  text PRIMARY KEY,
    ymd  integer NOT NULL
);
INSERT INTO census.days (dmy, ymd)
SELECT to_char(d, 'DD.MM.YYYY'), to_char(d, 'YYYYMMDD')::integer
FROM generate_series(date '1800-01-01', date '2099-12-31', interval '1 day') AS d;
ANALYZE census.days;

CREATE FUNCTION census.ymd_date(ymd integer) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT make_date(ymd / 10000, ymd / 100 % 100, ymd % 100)
$$;

-- Whether a birth date (YYYYMMDD) is the one an individual's ИИН (as a
-- number) encodes: digits 1-6 YYMMDD, digit 7 the century (1/2 1800s, 3/4
-- 1900s, 5/6 2000s).  Integer arithmetic: no text is cut per row.
CREATE FUNCTION census.iin_matches_birth_date(iin bigint, ymd integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT iin / 1000000 = ymd % 1000000
       AND ymd / 1000000 = CASE iin / 100000 % 10 WHEN 1 THEN 18 WHEN 2 THEN 18 WHEN 3 THEN 19
                                                  WHEN 4 THEN 19 WHEN 5 THEN 20 WHEN 6 THEN 20 END
$$;

-- The first check a child's row of either extract fails, or NULL: its shape
-- (``fields`` against the ``expected`` count, ``garbled`` encoding), its ИИН
-- (as a number: 12 digits, a century digit 1-6 and a valid check digit), its
-- birth date (YYYYMMDD from census.days: a real day, the one the ИИН encodes,
-- not after ``as_of``), under 18 on ``as_of``, and a surname and a name.
-- What each extract checks besides follows in its own statement.  Inlined
-- by the planner into the set-based check, as the functions it calls.
CREATE FUNCTION census.child_row_reason(
    fields integer, expected integer, garbled boolean, iin bigint, born integer, as_of integer, surname text, name text
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN fields <> expected THEN 'field_count'
        WHEN garbled THEN 'invalid_encoding'
        WHEN iin IS NULL OR NOT census.check_digit_ok(iin)
             OR iin / 100000 % 10 NOT BETWEEN 1 AND 6 THEN 'invalid_iin'  -- 7th digit: no century
        WHEN born IS NULL THEN 'invalid_date'  -- not a real day (census.days)
        WHEN NOT census.iin_matches_birth_date(iin, born) THEN 'birth_date_mismatch'
        WHEN born > as_of THEN 'invalid_date'
        WHEN born <= as_of - 180000 THEN 'not_a_child'
        WHEN trim(surname) = '' OR trim(name) = '' THEN 'missing_field'
    END
$$;

-- One line of a ``;``-separated file split into its fields.  Lines without
-- quotes (nearly all) split in C; quoted fields ("a;b", "say ""hi""") take
-- the slower regular-expression path.  A field cannot hold a line break.
CREATE FUNCTION census.split_quoted(line text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT array_agg(
        CASE WHEN m[1] LIKE '"%' THEN replace(substr(m[1], 2, length(m[1]) - 2), '""', '"') ELSE m[1] END
        ORDER BY n
    )
    FROM regexp_matches(line || ';', '("(?:[^"]|"")*"|[^;"]*);', 'g') WITH ORDINALITY AS r (m, n)
$$;

CREATE FUNCTION census.split_line(line text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN strpos(line, '"') = 0 THEN string_to_array(line, ';') ELSE census.split_quoted(line) END
$$;

-- One census of one region in one quarter (March, June, September,
-- December).  Earlier quarters stay as history; a completed snapshot is frozen.
CREATE TABLE census.snapshots (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region_slug       text NOT NULL REFERENCES regions (slug),
    period            date NOT NULL CHECK (extract(day FROM period) = 1 AND extract(month FROM period) IN (3, 6, 9, 12)),
    -- The day the extracts were taken: ages are counted on it.
    as_of             date NOT NULL CHECK (date_trunc('month', as_of)::date = period),
    imported_at       timestamptz NOT NULL,
    -- The load holding the snapshot's children (see census.children).
    load_id           bigint,
    persons_file      text NOT NULL,
    bbazh_file        text NOT NULL,
    persons_rows      integer NOT NULL DEFAULT 0,
    bbazh_rows        integer NOT NULL DEFAULT 0,
    children          integer NOT NULL DEFAULT 0,
    rejected          integer NOT NULL DEFAULT 0,
    warnings          integer NOT NULL DEFAULT 0,
    cross_checked_at  timestamptz,
    -- The region office closes the census (September: by 20 September) …
    completed_at      timestamptz,
    completed_by      text,
    -- … and reports it to the ministry (by 15 October).
    reported_at       timestamptz,
    reported_by       text,
    UNIQUE (region_slug, period),
    CHECK (reported_at IS NULL OR completed_at IS NOT NULL)
);

-- The single database: one row per child (ИИН) per snapshot, merged from
-- both extracts, with the categories of para 11.  Each import writes a new
-- load, a table of its own with no index while it fills; it is indexed when
-- full and attached as a partition, then replaces the snapshot's previous
-- load, which is dropped whole just before the import commits (no
-- million-row DELETE, no index maintained row by row, and readers see the
-- previous load until then).
CREATE SEQUENCE census.load_ids;

CREATE TABLE census.children (
    load_id              bigint NOT NULL,
    iin                  text NOT NULL,
    surname              text NOT NULL,
    name                 text NOT NULL,
    patronymic           text NOT NULL DEFAULT '',
    birth_date           date NOT NULL,
    age                  smallint NOT NULL CHECK (age BETWEEN 0 AND 17),
    in_persons           boolean NOT NULL,      -- found in the МО АЖ persons extract
    in_bbazh             boolean NOT NULL,      -- found in the ББАЖ education extract
    -- МО АЖ: residence (registered there or not), citizenship, kandas status.
    citizenship          text,                  -- ISO 3166 alpha-2, XXA = stateless
    kandas               boolean NOT NULL DEFAULT false,
    locality             text,
    district             text,
    address              text,
    registered           boolean,
    -- ББАЖ: the organisation the child attends.
    org_bin              text,
    org_name             text,
    org_kind             text CHECK (org_kind IN ('preschool', 'school', 'tvet')),
    org_private          boolean NOT NULL DEFAULT false,
    grade                smallint,
    health_exempt        boolean NOT NULL DEFAULT false,
    -- Categories fixed by the extracts and the snapshot's date.
    preschool_age        boolean NOT NULL,
    school_age           boolean NOT NULL,
    not_subject          boolean NOT NULL,      -- school age, not subject to schooling on health grounds
    tvet                 boolean NOT NULL,
    non_state            boolean NOT NULL,
    foreign_stateless    boolean NOT NULL,
    -- Categories of the cross-check against the contingent and attendance.
    enrolled_school_bin  text,
    not_covered          boolean NOT NULL DEFAULT false,
    truant               boolean NOT NULL DEFAULT false
) PARTITION BY LIST (load_id);

-- The census import runs on two connections (admission/census/importer.py):
-- the two extracts are loaded and checked side by side, then the two halves
-- of the ИИН space are merged side by side, so both cores of the database
-- server work.  The work happens in a scratch schema of the import's own,
-- census_work_<load> (unlogged, never read by anyone else, dropped at the
-- end), and in the load table census.children_<load>, committed but outside
-- the partition tree (CREATE TABLE … PARTITION OF would lock census.children
-- against every reader for the whole import): readers see the snapshot's
-- previous load until the import's last transaction attaches the new one and
-- drops the old.

-- The advisory lock an import holds (session-level) while its scratch schema
-- and load table exist: a load whose lock is free and that is neither
-- attached nor a snapshot's was left by an import that died (sweep_loads).
CREATE FUNCTION census.lock_load(load bigint) RETURNS void
LANGUAGE sql
AS $$
    SELECT pg_advisory_lock(7312, load::integer)
$$;

-- A load's table, census.children_<load> (a partition of census.children once
-- attached), through its life, one ``step`` at a time, its name and its DDL in
-- one place:
--   create  the import's scratch schema census_work_<load>, the empty table,
--           and in the schema the view load_children onto it;
--   index   the filled table's index (one ИИН once) and statistics;
--   attach  to census.children, in the import's last transaction (ATTACH takes
--           only a SHARE UPDATE EXCLUSIVE lock there, and the table's CHECK
--           spares the validation scan);
--   drop    the table, if there.
CREATE FUNCTION census.load_step(load bigint, step text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    load_table constant text := format('census.%I', 'children_' || load);
    work constant text := format('%I', 'census_work_' || load);
BEGIN
    CASE step
    WHEN 'create' THEN
        EXECUTE 'CREATE SCHEMA ' || work;
        EXECUTE format(
            'CREATE TABLE %s (LIKE census.children INCLUDING DEFAULTS INCLUDING CONSTRAINTS, CHECK (load_id = %s))',
            load_table, load
        );
        EXECUTE format('CREATE VIEW %s.load_children AS SELECT * FROM %s', work, load_table);
    WHEN 'index' THEN
        EXECUTE format('CREATE UNIQUE INDEX ON %s (iin)', load_table);
        EXECUTE 'ANALYZE ' || load_table;
    WHEN 'attach' THEN
        EXECUTE format('ALTER TABLE census.children ATTACH PARTITION %s FOR VALUES IN (%s)', load_table, load);
    WHEN 'drop' THEN
        EXECUTE 'DROP TABLE IF EXISTS ' || load_table;
    END CASE;
END
$$;

-- The end of an import: its scratch schema goes, and its load table too
-- unless it was attached (``keep_load``).
CREATE FUNCTION census.drop_work(load bigint, keep_load boolean) RETURNS void
LANGUAGE plpgsql
SET client_min_messages = warning  -- no NOTICE listing what the schema held
AS $$
BEGIN
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', 'census_work_' || load);
    IF NOT keep_load THEN
        PERFORM census.load_step(load, 'drop');
    END IF;
END
$$;

-- Cleans up after imports that died (killed, connection lost): drops their
-- scratch schemas and, unless attached, their load tables; returns how many
-- loads it cleaned.  Run by every import before it starts.
CREATE FUNCTION census.sweep_loads() RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    found bigint;
    swept integer := 0;
BEGIN
    FOR found IN
        SELECT substr(nspname, 13)::bigint FROM pg_namespace WHERE nspname ~ '^census_work_[0-9]+$'
        UNION
        SELECT substr(relname, 10)::bigint FROM pg_class
        WHERE relnamespace = 'census'::regnamespace AND relname ~ '^children_[0-9]+$' AND relkind = 'r'
          AND NOT relispartition AND substr(relname, 10)::bigint NOT IN (
              SELECT load_id FROM census.snapshots WHERE load_id IS NOT NULL
          )
    LOOP
        CONTINUE WHEN NOT pg_try_advisory_xact_lock(7312, found::integer);  -- its import is alive
        PERFORM census.drop_work(found, EXISTS (
            SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(format('census.%I', 'children_' || found))
        ));
        swept := swept + 1;
    END LOOP;
    RETURN swept;
END
$$;

-- Para 10, the cross-check: a school-age child is covered by a current
-- enrolment in the contingent (ҰБДҚ) or by technical/vocational education;
-- one not subject to schooling on health grounds is not "not covered".
CREATE FUNCTION census.not_covered(school_age boolean, health_exempt boolean, tvet boolean, enrolled_school_bin text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT school_age AND NOT health_exempt AND NOT tvet AND enrolled_school_bin IS NULL
$$;

-- A school's service territory, set by the local authority: whole
-- localities (district '') or districts/microdistricts of one.
CREATE TABLE census.service_territories (
    school_bin  text NOT NULL REFERENCES schools (bin),
    locality    text NOT NULL CHECK (locality <> ''),
    district    text NOT NULL DEFAULT '',
    PRIMARY KEY (school_bin, locality, district)
);
CREATE INDEX service_territories_area_idx ON census.service_territories (locality, district);

-- The monthly attendance feed: calendar days missed without a valid reason.
CREATE TABLE census.attendance_feeds (
    region_slug  text NOT NULL REFERENCES regions (slug),
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    imported_at  timestamptz NOT NULL,
    file         text NOT NULL,
    rows         integer NOT NULL,
    rejected     integer NOT NULL,
    PRIMARY KEY (region_slug, month)
);

CREATE TABLE census.attendance (
    region_slug  text NOT NULL,
    month        date NOT NULL,
    iin          text NOT NULL,
    org_bin      text NOT NULL,
    days_missed  smallint NOT NULL CHECK (days_missed BETWEEN 0 AND 31),
    PRIMARY KEY (region_slug, month, iin, org_bin),
    FOREIGN KEY (region_slug, month) REFERENCES census.attendance_feeds (region_slug, month) ON DELETE CASCADE
);

-- The children of ``region`` the feed shows missing 10 or more calendar days
-- without a valid reason in one month of ``first_month``..``last_month`` when
-- ``per_month``, else summed over them (Readings.truant_period): what makes a
-- systematic truant of a pupil old enough (census.may_be_truant, para 2.5).
-- The merge and the cross-check read it; inlined by the planner.
CREATE FUNCTION census.truants(region text, first_month date, last_month date, per_month boolean)
RETURNS TABLE (iin text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT DISTINCT a.iin
    FROM census.attendance a
    WHERE a.region_slug = region AND a.month BETWEEN first_month AND last_month
    GROUP BY a.iin, CASE WHEN per_month THEN a.month END
    HAVING sum(a.days_missed) >= 10
$$;

-- Rows of the files that were rejected, or kept with a warning: file, line, reason.
CREATE TABLE census.issues (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region_slug       text NOT NULL REFERENCES regions (slug),
    snapshot_id       bigint REFERENCES census.snapshots (id) ON DELETE CASCADE,
    attendance_month  date,
    source            text NOT NULL CHECK (source IN ('persons', 'bbazh', 'attendance')),
    file              text NOT NULL,
    line              integer NOT NULL,
    iin               text,
    severity          text NOT NULL CHECK (severity IN ('rejected', 'warning')),
    code              text NOT NULL,
    detail            text NOT NULL,
    CHECK ((snapshot_id IS NULL) <> (attendance_month IS NULL))
);
CREATE INDEX issues_snapshot_idx ON census.issues (snapshot_id, source, line);
CREATE INDEX issues_attendance_idx ON census.issues (region_slug, attendance_month) WHERE attendance_month IS NOT NULL;
