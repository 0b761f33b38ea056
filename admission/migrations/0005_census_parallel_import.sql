-- The census import on two connections (admission/census/importer.py): the
-- two extracts are loaded and checked side by side, then the two halves of
-- the ИИН space are merged side by side, so both cores of the database server
-- work.  The work happens in a scratch schema of the import's own,
-- census_work_<load> (unlogged, never read by anyone else, dropped at the
-- end), and in the load table census.children_<load>, committed but outside
-- the partition tree: readers see the snapshot's previous load until the
-- import's last transaction attaches the new one and drops the old.

-- Every real day of the years an ИИН can encode (1800-2099) as the extracts
-- write it (DD.MM.YYYY) and as the integer YYYYMMDD.  The checks look a birth
-- date up here (one hash probe) instead of cutting it apart with
-- census.dmy_number (a microsecond a row in UTF-8); a date not found is not a
-- real date of those years.
CREATE TABLE census.days (
    dmy  text PRIMARY KEY,
    ymd  integer NOT NULL
);
INSERT INTO census.days (dmy, ymd)
SELECT to_char(d, 'DD.MM.YYYY'), to_char(d, 'YYYYMMDD')::integer
FROM generate_series(date '1800-01-01', date '2099-12-31', interval '1 day') AS d;
ANALYZE census.days;

-- What census.days replaces.
DROP FUNCTION census.dmy_number(text);
DROP FUNCTION census.is_date(integer);

DROP FUNCTION census.create_load();
DROP FUNCTION census.seal_load(bigint);

-- The advisory lock an import holds (session-level) while its scratch schema
-- and load table exist: a load whose lock is free and that is neither
-- attached nor a snapshot's was left by an import that died (sweep_loads).
CREATE FUNCTION census.lock_load(load bigint) RETURNS void
LANGUAGE sql
AS $$
    SELECT pg_advisory_lock(7312, load::integer)
$$;

-- The scratch schema and the empty load table of a new import, and in the
-- schema the view load_children onto the load table.
CREATE FUNCTION census.create_load(load bigint) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE format('CREATE SCHEMA %I', 'census_work_' || load);
    EXECUTE format(
        'CREATE TABLE census.%I (LIKE census.children INCLUDING DEFAULTS INCLUDING CONSTRAINTS, CHECK (load_id = %s))',
        'children_' || load, load
    );
    EXECUTE format('CREATE VIEW %I.load_children AS SELECT * FROM census.%I', 'census_work_' || load, 'children_' || load);
END
$$;

-- A filled load gets its index (one ИИН once) and statistics; it is then
-- attached to census.children in the import's last transaction (ATTACH takes
-- only a SHARE UPDATE EXCLUSIVE lock there, and the load's CHECK spares the
-- validation scan).
CREATE FUNCTION census.index_load(load bigint) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE format('CREATE UNIQUE INDEX ON census.%I (iin)', 'children_' || load);
    EXECUTE format('ANALYZE census.%I', 'children_' || load);
END
$$;

CREATE FUNCTION census.attach_load(load bigint) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE format('ALTER TABLE census.children ATTACH PARTITION census.%I FOR VALUES IN (%s)', 'children_' || load, load);
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
        PERFORM census.drop_load(load);
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
