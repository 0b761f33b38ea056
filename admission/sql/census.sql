-- Census of children 0-18: staging, set-based validation and merge of the two
-- extracts, the cross-check, the attendance feed, territories and reports.
-- Every step is one statement over the whole file: no per-row round trips.

-- name: census_create_staging
CREATE TEMP TABLE census_raw_persons (line integer GENERATED ALWAYS AS IDENTITY, raw text) ON COMMIT DROP;
CREATE TEMP TABLE census_raw_bbazh (line integer GENERATED ALWAYS AS IDENTITY, raw text) ON COMMIT DROP;
CREATE TEMP TABLE census_stage_persons (
    line integer, fields integer, garbled boolean, iin text, surname text, name text, patronymic text, birth_date text, sex text,
    citizenship text, kandas text, locality text, district text, address text, registered text
) ON COMMIT DROP;
CREATE TEMP TABLE census_stage_bbazh (
    line integer, fields integer, garbled boolean, iin text, surname text, name text, patronymic text, birth_date text, org_bin text,
    org_name text, org_kind text, ownership text, grade text, health_exempt text
) ON COMMIT DROP;

-- name: census_split_persons
-- The raw lines COPY loaded (line 1 is the header, so data starts on line 2),
-- split into fields; blank lines are not rows.
INSERT INTO census_stage_persons
SELECT r.line + 1, cardinality(f.v), false, f.v[1], f.v[2], f.v[3], f.v[4], f.v[5], f.v[6], f.v[7], f.v[8], f.v[9],
       f.v[10], f.v[11], f.v[12]
FROM census_raw_persons r
CROSS JOIN LATERAL (SELECT census.split_line(rtrim(r.raw, E'\r')) AS v OFFSET 0) f
WHERE rtrim(r.raw, E'\r') <> '';

-- name: census_split_bbazh
INSERT INTO census_stage_bbazh
SELECT r.line + 1, cardinality(f.v), false, f.v[1], f.v[2], f.v[3], f.v[4], f.v[5], f.v[6], f.v[7], f.v[8], f.v[9],
       f.v[10], f.v[11]
FROM census_raw_bbazh r
CROSS JOIN LATERAL (SELECT census.split_line(rtrim(r.raw, E'\r')) AS v OFFSET 0) f
WHERE rtrim(r.raw, E'\r') <> '';

-- name: census_split_attendance
INSERT INTO census_stage_attendance
SELECT r.line + 1, cardinality(f.v), false, f.v[1], f.v[2], f.v[3], f.v[4]
FROM census_raw_attendance r
CROSS JOIN LATERAL (SELECT census.split_line(rtrim(r.raw, E'\r')) AS v OFFSET 0) f
WHERE rtrim(r.raw, E'\r') <> '';

-- name: census_upsert_snapshot
-- Creates the region's snapshot of the quarter or takes over the existing one
-- (a re-import replaces its content); refuses a completed one.
INSERT INTO census.snapshots (region_slug, period, as_of, imported_at, persons_file, bbazh_file)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (region_slug, period) DO UPDATE
SET as_of = excluded.as_of, imported_at = excluded.imported_at, persons_file = excluded.persons_file,
    bbazh_file = excluded.bbazh_file, cross_checked_at = NULL
WHERE census.snapshots.completed_at IS NULL
RETURNING id, load_id;

-- name: census_snapshot_by_period
SELECT id, region_slug, period, as_of, imported_at, load_id, persons_file, bbazh_file, persons_rows, bbazh_rows, children,
       rejected, warnings, cross_checked_at, completed_at, completed_by, reported_at, reported_by
FROM census.snapshots
WHERE region_slug = $1 AND period = $2;

-- name: census_latest_snapshot
SELECT id, region_slug, period, as_of, imported_at, load_id, persons_file, bbazh_file, persons_rows, bbazh_rows, children,
       rejected, warnings, cross_checked_at, completed_at, completed_by, reported_at, reported_by
FROM census.snapshots
WHERE region_slug = $1
ORDER BY period DESC
LIMIT 1;

-- name: census_list_snapshots
SELECT id, region_slug, period, as_of, imported_at, load_id, persons_file, bbazh_file, persons_rows, bbazh_rows, children,
       rejected, warnings, cross_checked_at, completed_at, completed_by, reported_at, reported_by
FROM census.snapshots
WHERE ($1::text IS NULL OR region_slug = $1)
  AND ($2::date IS NULL OR period = $2)
ORDER BY region_slug, period DESC;

-- name: census_create_load
SELECT census.create_load();

-- name: census_seal_load
SELECT census.seal_load($1);

-- name: census_drop_load
SELECT census.drop_load($1);

-- name: census_clear_issues
DELETE FROM census.issues WHERE snapshot_id = $1;

-- name: census_check_persons
-- $1 as_of.  Every row gets its first failing reason, or none (one pass;
-- census_mark_duplicates then marks all but the first row of an ИИН).
CREATE TEMP TABLE census_persons_checked ON COMMIT DROP AS
SELECT s.line, s.fields, s.iin, s.surname, s.name, s.patronymic, s.birth_date, s.sex, s.citizenship, s.kandas,
       s.locality, s.district, s.address, s.registered, p.born, NULL::integer AS first_line,
    CASE
        WHEN s.fields <> 12 THEN 'field_count'
        WHEN s.garbled THEN 'invalid_encoding'
        WHEN NOT census.iin_valid(s.iin) THEN 'invalid_iin'
        WHEN p.born IS NULL THEN 'invalid_date'
        WHEN NOT census.iin_matches_birth_date(s.iin, s.birth_date) THEN 'birth_date_mismatch'
        WHEN p.born > $1::date THEN 'invalid_date'
        WHEN p.born <= ($1::date - interval '18 years')::date THEN 'not_a_child'
        WHEN trim(s.surname) = '' OR trim(s.name) = '' OR trim(s.locality) = '' THEN 'missing_field'
        WHEN s.sex NOT IN ('M', 'F') OR (s.sex = 'M') <> (ascii(substr(s.iin, 7, 1)) % 2 = 1) THEN 'sex_mismatch'
        WHEN s.citizenship <> 'XXA'
             AND NOT (length(s.citizenship) = 2 AND ltrim(s.citizenship, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') = '')
            THEN 'invalid_value'
        WHEN s.kandas NOT IN ('0', '1') OR s.registered NOT IN ('0', '1') THEN 'invalid_value'
    END AS reason
FROM census_stage_persons s
CROSS JOIN LATERAL (SELECT census.dmy(s.birth_date) AS born OFFSET 0) p;

-- name: census_check_bbazh
CREATE TEMP TABLE census_bbazh_checked ON COMMIT DROP AS
SELECT s.line, s.fields, s.iin, s.surname, s.name, s.patronymic, s.birth_date, s.org_bin, s.org_name, s.org_kind,
       s.ownership, s.grade, s.health_exempt, p.born, p.kind, p.exempt, NULL::integer AS first_line,
    CASE
        WHEN s.fields <> 11 THEN 'field_count'
        WHEN s.garbled THEN 'invalid_encoding'
        WHEN NOT census.iin_valid(s.iin) THEN 'invalid_iin'
        WHEN p.born IS NULL THEN 'invalid_date'
        WHEN NOT census.iin_matches_birth_date(s.iin, s.birth_date) THEN 'birth_date_mismatch'
        WHEN p.born > $1::date THEN 'invalid_date'
        WHEN p.born <= ($1::date - interval '18 years')::date THEN 'not_a_child'
        WHEN trim(s.surname) = '' OR trim(s.name) = '' THEN 'missing_field'
        WHEN p.exempt NOT IN ('0', '1') THEN 'invalid_value'
        WHEN p.kind IS NULL AND p.exempt = '1' THEN NULL  -- known to the education system, attends nothing
        WHEN p.kind IS NULL THEN 'missing_field'
        WHEN p.kind NOT IN ('preschool', 'school', 'tvet') THEN 'invalid_value'
        WHEN NOT census.iin_valid(s.org_bin) THEN 'invalid_org_bin'
        WHEN s.ownership NOT IN ('state', 'private') THEN 'invalid_value'
        WHEN p.kind = 'school' AND NOT (length(s.grade) <= 2 AND census.is_digits(s.grade)) THEN 'invalid_value'
        WHEN p.kind = 'school' AND s.grade::integer > 12 THEN 'invalid_value'
        WHEN p.kind <> 'school' AND trim(s.grade) NOT IN ('', '0') THEN 'invalid_value'
    END AS reason
FROM census_stage_bbazh s
CROSS JOIN LATERAL (
    SELECT census.dmy(s.birth_date) AS born, nullif(trim(s.org_kind), '') AS kind,
           coalesce(nullif(trim(s.health_exempt), ''), '0') AS exempt
    OFFSET 0
) p;

-- name: census_mark_duplicate_persons
UPDATE census_persons_checked c
SET reason = 'duplicate_iin', first_line = d.first_line
FROM (
    SELECT iin, min(line) AS first_line FROM census_persons_checked WHERE reason IS NULL
    GROUP BY iin HAVING count(*) > 1
) d
WHERE c.iin = d.iin AND c.reason IS NULL AND c.line > d.first_line;

-- name: census_mark_duplicate_bbazh
UPDATE census_bbazh_checked c
SET reason = 'duplicate_iin', first_line = d.first_line
FROM (
    SELECT iin, min(line) AS first_line FROM census_bbazh_checked WHERE reason IS NULL
    GROUP BY iin HAVING count(*) > 1
) d
WHERE c.iin = d.iin AND c.reason IS NULL AND c.line > d.first_line;

-- name: census_record_rejects
-- $1 region, $2 snapshot, $3 persons file, $4 bbazh file
INSERT INTO census.issues (region_slug, snapshot_id, source, file, line, iin, severity, code, detail)
SELECT $1, $2, src, CASE src WHEN 'persons' THEN $3 ELSE $4 END, line, iin, 'rejected', code,
       CASE code
           WHEN 'field_count' THEN format('expected %s fields, got %s', expected, fields)
           WHEN 'invalid_encoding' THEN 'the row is not valid UTF-8 (or holds NUL bytes)'
           WHEN 'invalid_iin' THEN format('ИИН %L is not 12 digits with a valid check digit', iin)
           WHEN 'invalid_date' THEN format('birth date %L is not a past DD.MM.YYYY date', birth_date)
           WHEN 'birth_date_mismatch' THEN format('birth date %s differs from the one in the ИИН', birth_date)
           WHEN 'not_a_child' THEN format('born %s: 18 or older on the extract date', birth_date)
           WHEN 'missing_field' THEN 'a required field is empty'
           WHEN 'sex_mismatch' THEN format('sex %L differs from the ИИН''s 7th digit', sex)
           WHEN 'invalid_org_bin' THEN format('organisation БСН %L is not valid', org_bin)
           WHEN 'duplicate_iin' THEN format('ИИН already on line %s', first_line)
           ELSE format('a value is not one of the allowed ones (%s)', detail)
       END
FROM (
    SELECT 'persons' AS src, line, iin, reason AS code, fields, 12 AS expected,
           birth_date, sex, NULL::text AS org_bin, first_line,
           format('sex %s, citizenship %s, kandas %s, registered %s', sex, citizenship, kandas, registered) AS detail
    FROM census_persons_checked WHERE reason IS NOT NULL
    UNION ALL
    SELECT 'bbazh', line, iin, reason, fields, 11, birth_date, NULL, org_bin, first_line,
           format('org_kind %s, ownership %s, grade %s, health_exempt %s', org_kind, ownership, grade, health_exempt)
    FROM census_bbazh_checked WHERE reason IS NOT NULL
) bad;

-- name: census_merge_children
-- $1 the new load, $2 as_of, $3 the 1 September that starts the snapshot's
-- school year, $4 region, $5..$6 the attendance months of the quarter.  One
-- row per ИИН from both extracts, categorised, cross-checked against the
-- contingent and the attendance feed (as census_cross_check does).
INSERT INTO census.children (
    load_id, iin, surname, name, patronymic, birth_date, age, in_persons, in_bbazh,
    citizenship, kandas, locality, district, address, registered,
    org_bin, org_name, org_kind, org_private, grade, health_exempt,
    preschool_age, school_age, not_subject, tvet, non_state, foreign_stateless,
    enrolled_school_bin, not_covered, truant
)
WITH truants AS MATERIALIZED (
    SELECT DISTINCT iin
    FROM census.attendance
    WHERE region_slug = $4 AND month BETWEEN $5 AND $6
    GROUP BY iin, month
    HAVING sum(days_missed) >= 10
)
SELECT $1, m.iin, m.surname, m.name, m.patronymic, m.born, date_part('year', age($2::date, m.born))::smallint,
       m.in_persons, m.in_bbazh, m.citizenship, m.kandas, m.locality, m.district, m.address, m.registered,
       m.org_bin, m.org_name, m.kind, m.org_private, m.grade, m.exempt,
       NOT m.school_age, m.school_age, m.school_age AND m.exempt, m.tvet, m.org_private,
       coalesce(m.citizenship <> 'KZ', false),
       e.school_bin, census.not_covered(m.school_age, m.exempt, m.tvet, e.school_bin), t.iin IS NOT NULL
FROM (
    SELECT coalesce(p.iin, b.iin) AS iin,
           trim(coalesce(p.surname, b.surname)) AS surname, trim(coalesce(p.name, b.name)) AS name,
           trim(coalesce(p.patronymic, b.patronymic, '')) AS patronymic,
           coalesce(p.born, b.born) AS born,
           p.iin IS NOT NULL AS in_persons, b.iin IS NOT NULL AS in_bbazh,
           p.citizenship, coalesce(p.kandas = '1', false) AS kandas, trim(p.locality) AS locality,
           trim(coalesce(p.district, '')) AS district, trim(p.address) AS address, p.registered = '1' AS registered,
           CASE WHEN b.kind IS NOT NULL THEN b.org_bin END AS org_bin,
           CASE WHEN b.kind IS NOT NULL THEN trim(b.org_name) END AS org_name, b.kind,
           b.kind IS NOT DISTINCT FROM 'tvet' AS tvet,
           coalesce(b.kind IS NOT NULL AND b.ownership = 'private', false) AS org_private,
           CASE WHEN b.kind = 'school' THEN b.grade::smallint END AS grade,
           coalesce(b.exempt = '1', false) AS exempt,
           date_part('year', age($3::date, coalesce(p.born, b.born))) >= 6 AS school_age
    FROM (SELECT * FROM census_persons_checked WHERE reason IS NULL) p
    FULL JOIN (SELECT * FROM census_bbazh_checked WHERE reason IS NULL) b ON b.iin = p.iin
) m
LEFT JOIN contingent.enrolments e ON e.child_iin = m.iin AND e.ended_on IS NULL
LEFT JOIN truants t ON t.iin = m.iin;

-- name: census_record_warnings
-- The same child in both extracts under another surname or name: kept (the
-- persons register wins), the ББАЖ row is flagged.
INSERT INTO census.issues (region_slug, snapshot_id, source, file, line, iin, severity, code, detail)
SELECT $1, $2, 'bbazh', $3, b.line, b.iin, 'warning', 'name_mismatch',
       format('ББАЖ has %s %s, the persons register %s %s', trim(b.surname), trim(b.name), trim(p.surname),
              trim(p.name))
FROM census_bbazh_checked b
JOIN census_persons_checked p ON p.iin = b.iin AND p.reason IS NULL
WHERE b.reason IS NULL
  AND (upper(trim(b.surname)) <> upper(trim(p.surname)) OR upper(trim(b.name)) <> upper(trim(p.name)));

-- name: census_finish_snapshot
-- $1 snapshot, $2 its new load, $3 persons rows, $4 ББАЖ rows.
UPDATE census.snapshots s
SET load_id = $2, persons_rows = $3, bbazh_rows = $4,
    children = (SELECT count(*) FROM census.children WHERE load_id = $2),
    rejected = (SELECT count(*) FROM census.issues WHERE snapshot_id = s.id AND severity = 'rejected'),
    warnings = (SELECT count(*) FROM census.issues WHERE snapshot_id = s.id AND severity = 'warning')
WHERE s.id = $1
RETURNING children, rejected, warnings;

-- name: census_cross_check
-- Para 10: education data against the state register, again (the contingent
-- and the attendance feed move on after the import).  Truants: 10+ calendar
-- days missed without a reason in one month of the quarter ($3..$4) of the
-- attendance feed.  $1 is the snapshot's load.  One scan finds the children
-- whose result changed; only those rows are written (found again by their
-- ctid, no second scan).
WITH truants AS MATERIALIZED (
    SELECT DISTINCT iin
    FROM census.attendance
    WHERE region_slug = $2 AND month BETWEEN $3 AND $4
    GROUP BY iin, month
    HAVING sum(days_missed) >= 10
), changed AS MATERIALIZED (
    SELECT c.ctid AS row_id, live.*
    FROM census.children c
    LEFT JOIN contingent.enrolments e ON e.child_iin = c.iin AND e.ended_on IS NULL
    LEFT JOIN truants t ON t.iin = c.iin
    CROSS JOIN LATERAL (
        SELECT e.school_bin AS enrolled_school_bin,
               census.not_covered(c.school_age, c.health_exempt, c.tvet, e.school_bin) AS not_covered,
               t.iin IS NOT NULL AS truant
    ) live
    WHERE c.load_id = $1
      AND (c.enrolled_school_bin, c.not_covered, c.truant)
          IS DISTINCT FROM (live.enrolled_school_bin, live.not_covered, live.truant)
)
UPDATE census.children c
SET enrolled_school_bin = changed.enrolled_school_bin, not_covered = changed.not_covered, truant = changed.truant
FROM changed
WHERE c.load_id = $1 AND c.ctid = changed.row_id;

-- name: census_mark_cross_checked
UPDATE census.snapshots SET cross_checked_at = $2 WHERE id = $1;

-- name: census_create_attendance_staging
CREATE TEMP TABLE census_raw_attendance (line integer GENERATED ALWAYS AS IDENTITY, raw text) ON COMMIT DROP;
CREATE TEMP TABLE census_stage_attendance (
    line integer, fields integer, garbled boolean, iin text, org_bin text, month text, days_missed text
) ON COMMIT DROP;

-- name: census_delete_attendance_feed
-- A re-import replaces the month's earlier feed (its rows go with it).
DELETE FROM census.attendance_feeds WHERE region_slug = $1 AND month = $2;

-- name: census_delete_attendance_issues
DELETE FROM census.issues WHERE region_slug = $1 AND attendance_month = $2;

-- name: census_insert_attendance_feed
INSERT INTO census.attendance_feeds (region_slug, month, imported_at, file, rows, rejected)
VALUES ($1, $2, $3, $4, 0, 0);

-- name: census_load_attendance
-- $1 region, $2 month (first day), $3 file.
WITH judged AS (
    SELECT s.*,
        CASE
            WHEN fields <> 4 THEN 'field_count'
            WHEN NOT census.iin_valid(iin) THEN 'invalid_iin'
            WHEN NOT census.iin_valid(org_bin) THEN 'invalid_org_bin'
            WHEN trim(month) <> to_char($2::date, 'YYYY-MM') THEN 'wrong_month'
            WHEN NOT (length(days_missed) <= 2 AND census.is_digits(days_missed))
                 OR days_missed::integer > date_part('day', $2::date + interval '1 month' - interval '1 day')
                THEN 'invalid_value'
        END AS reason
    FROM census_stage_attendance s
), ranked AS (
    SELECT j.*,
           CASE WHEN reason IS NULL THEN row_number() OVER (PARTITION BY reason IS NULL, iin, org_bin ORDER BY line)
           END AS nth,
           CASE WHEN reason IS NULL THEN min(line) OVER (PARTITION BY reason IS NULL, iin, org_bin) END AS first_line
    FROM judged j
), kept AS (
    INSERT INTO census.attendance (region_slug, month, iin, org_bin, days_missed)
    SELECT $1, $2, iin, org_bin, days_missed::smallint FROM ranked WHERE reason IS NULL
    RETURNING 1
), bad AS (
    INSERT INTO census.issues (region_slug, attendance_month, source, file, line, iin, severity, code, detail)
    SELECT $1, $2, 'attendance', $3, line, iin, 'rejected', coalesce(reason, 'duplicate_iin'),
           CASE coalesce(reason, 'duplicate_iin')
               WHEN 'field_count' THEN format('expected 4 fields, got %s', fields)
               WHEN 'invalid_iin' THEN format('ИИН %L is not 12 digits with a valid check digit', iin)
               WHEN 'invalid_org_bin' THEN format('organisation БСН %L is not valid', org_bin)
               WHEN 'wrong_month' THEN format('month %L is not the feed''s month %s', month, to_char($2::date, 'YYYY-MM'))
               WHEN 'duplicate_iin' THEN format('ИИН and organisation already on line %s', first_line)
               ELSE format('days missed %L is not 0 to the days of the month', days_missed)
           END
    FROM ranked WHERE reason IS NOT NULL OR nth > 1
    RETURNING 1
)
UPDATE census.attendance_feeds
SET rows = (SELECT count(*) FROM kept), rejected = (SELECT count(*) FROM bad)
WHERE region_slug = $1 AND month = $2
RETURNING rows, rejected;

-- name: census_set_completed
UPDATE census.snapshots SET completed_at = $2, completed_by = $3
WHERE id = $1 AND completed_at IS NULL
RETURNING id;

-- name: census_set_reported
UPDATE census.snapshots SET reported_at = $2, reported_by = $3
WHERE id = $1 AND completed_at IS NOT NULL AND reported_at IS NULL
RETURNING id;

-- name: census_region_counts
-- Counts per category of one snapshot; $2 school BIN restricts to its service territory.
SELECT count(*) AS children,
       count(*) FILTER (WHERE c.preschool_age) AS preschool_age,
       count(*) FILTER (WHERE c.school_age) AS school_age,
       count(*) FILTER (WHERE c.not_subject) AS not_subject,
       count(*) FILTER (WHERE c.tvet) AS tvet,
       count(*) FILTER (WHERE c.non_state) AS non_state,
       count(*) FILTER (WHERE c.kandas) AS kandas,
       count(*) FILTER (WHERE c.foreign_stateless) AS foreign_stateless,
       count(*) FILTER (WHERE c.not_covered) AS not_covered,
       count(*) FILTER (WHERE c.truant) AS truant,
       count(*) FILTER (WHERE c.in_persons AND NOT c.registered) AS not_registered,
       count(*) FILTER (WHERE NOT c.in_persons) AS residence_unknown
FROM census.children c
WHERE c.load_id = (SELECT load_id FROM census.snapshots WHERE id = $1)
  AND ($2::text IS NULL OR EXISTS (
      SELECT 1 FROM census.service_territories t
      WHERE t.school_bin = $2 AND t.locality = c.locality AND t.district IN ('', c.district)
  ));

-- name: census_list_children
-- One category's children of a snapshot (optionally of one school's service
-- territory), ИИН order, keyset pages.
SELECT c.iin, c.surname, c.name, c.patronymic, c.birth_date, c.age, c.locality, c.district, c.address,
       c.registered, c.citizenship, c.kandas, c.org_bin, c.org_name, c.org_kind, c.grade, c.enrolled_school_bin,
       c.in_persons, c.in_bbazh
FROM census.children c
WHERE c.load_id = (SELECT load_id FROM census.snapshots WHERE id = $1)
  AND CASE $2::text
      WHEN 'all' THEN true
      WHEN 'preschool_age' THEN c.preschool_age
      WHEN 'school_age' THEN c.school_age
      WHEN 'not_subject' THEN c.not_subject
      WHEN 'tvet' THEN c.tvet
      WHEN 'non_state' THEN c.non_state
      WHEN 'kandas' THEN c.kandas
      WHEN 'foreign_stateless' THEN c.foreign_stateless
      WHEN 'not_covered' THEN c.not_covered
      WHEN 'truant' THEN c.truant
      WHEN 'not_registered' THEN c.in_persons AND NOT c.registered
      WHEN 'residence_unknown' THEN NOT c.in_persons
  END
  AND ($3::text IS NULL OR EXISTS (
      SELECT 1 FROM census.service_territories t
      WHERE t.school_bin = $3 AND t.locality = c.locality AND t.district IN ('', c.district)
  ))
  AND ($4::text IS NULL OR c.iin > $4)
ORDER BY c.iin
LIMIT $5;

-- name: census_list_issues
SELECT source, file, line, iin, severity, code, detail
FROM census.issues
WHERE snapshot_id = $1
ORDER BY source, line
LIMIT $2 OFFSET $3;

-- name: census_list_attendance_issues
SELECT source, file, line, iin, severity, code, detail
FROM census.issues
WHERE region_slug = $1 AND attendance_month = $2
ORDER BY line;

-- name: census_get_territory
SELECT locality, district FROM census.service_territories WHERE school_bin = $1 ORDER BY locality, district;

-- name: census_delete_territories
DELETE FROM census.service_territories WHERE school_bin = ANY ($1::text[]);

-- name: census_insert_territories
-- $1 schools, $2 localities, $3 districts ('' = the whole locality).
INSERT INTO census.service_territories (school_bin, locality, district)
SELECT DISTINCT b, l, d FROM unnest($1::text[], $2::text[], $3::text[]) AS a (b, l, d)
ON CONFLICT DO NOTHING;

-- name: census_unknown_schools
SELECT DISTINCT b FROM unnest($1::text[]) AS a (b) WHERE NOT EXISTS (SELECT 1 FROM schools WHERE bin = b);

-- name: census_get_school
SELECT bin, region_slug, name_kk, name_ru FROM schools WHERE bin = $1;

-- name: census_region_exists
SELECT 1 FROM regions WHERE slug = $1;

-- name: census_list_region_slugs
SELECT slug FROM regions ORDER BY slug;

-- name: census_counts_by_school
-- The counts of census_region_counts for every school of the region with a
-- service territory ($2 region); a child living in two schools' territories
-- counts for both.
SELECT s.bin AS school_bin, s.name_kk, s.name_ru,
       count(*) AS children,
       count(*) FILTER (WHERE c.preschool_age) AS preschool_age,
       count(*) FILTER (WHERE c.school_age) AS school_age,
       count(*) FILTER (WHERE c.not_subject) AS not_subject,
       count(*) FILTER (WHERE c.tvet) AS tvet,
       count(*) FILTER (WHERE c.non_state) AS non_state,
       count(*) FILTER (WHERE c.kandas) AS kandas,
       count(*) FILTER (WHERE c.foreign_stateless) AS foreign_stateless,
       count(*) FILTER (WHERE c.not_covered) AS not_covered,
       count(*) FILTER (WHERE c.truant) AS truant,
       count(*) FILTER (WHERE c.in_persons AND NOT c.registered) AS not_registered,
       count(*) FILTER (WHERE NOT c.in_persons) AS residence_unknown
FROM census.children c
JOIN census.service_territories t ON t.locality = c.locality AND t.district IN ('', c.district)
JOIN schools s ON s.bin = t.school_bin AND s.region_slug = $2
WHERE c.load_id = (SELECT load_id FROM census.snapshots WHERE id = $1)
GROUP BY s.bin, s.name_kk, s.name_ru
ORDER BY s.bin;

-- name: census_due_for_grade1
-- Children of the snapshot who are 6 by 1 September of the admission year
-- (born after $2, on or before $3), of one school's service territory ($4) or
-- the whole region, with their grade-1 application (the live one, else the
-- latest) and current enrolment.  Set-based: applications are read once.
WITH due AS MATERIALIZED (
    SELECT c.iin, c.surname, c.name, c.patronymic, c.birth_date, c.locality, c.district, c.address, c.registered,
           c.org_bin, c.org_name, c.org_kind, c.health_exempt
    FROM census.children c
    WHERE c.load_id = (SELECT load_id FROM census.snapshots WHERE id = $1)
      AND c.birth_date > $2 AND c.birth_date <= $3
      AND ($4::text IS NULL OR EXISTS (
          SELECT 1 FROM census.service_territories t
          WHERE t.school_bin = $4 AND t.locality = c.locality AND t.district IN ('', c.district)
      ))
), latest AS (
    SELECT DISTINCT ON (ap.child_iin) ap.child_iin, ap.status, ap.school_bin, ap.decided_at
    FROM applications ap
    JOIN due ON due.iin = ap.child_iin
    ORDER BY ap.child_iin, ap.status IN ('accepted', 'confirmed') DESC, ap.decided_at DESC
)
SELECT due.*, a.status AS application_status, a.school_bin AS application_school_bin, a.decided_at,
       a.child_iin IS NOT NULL AS applied, e.school_bin AS enrolled_school_bin, e.grade AS enrolled_grade
FROM due
LEFT JOIN latest a ON a.child_iin = due.iin
LEFT JOIN contingent.enrolments e ON e.child_iin = due.iin AND e.ended_on IS NULL
ORDER BY due.surname, due.name, due.iin;
