-- Reference data: regions, schools, class sets, pre-school rosters.
-- Loaded idempotently: names and contacts follow the files; windows and
-- capacities, once loaded, belong to the admins and are not overwritten.

-- name: upsert_regions
INSERT INTO regions (slug, name_kk, name_ru, name_en, window_opens_at, window_closes_at)
SELECT slug, name_kk, name_ru, name_en, window_opens_at, window_closes_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])
    AS t (slug, name_kk, name_ru, name_en, window_opens_at, window_closes_at)
ON CONFLICT (slug) DO UPDATE
SET name_kk = excluded.name_kk, name_ru = excluded.name_ru, name_en = excluded.name_en;

-- name: reset_region_window
UPDATE regions
SET window_opens_at = $2, window_closes_at = $3, window_is_demo = $4
WHERE slug = $1
RETURNING slug;

-- name: upsert_schools
INSERT INTO schools (bin, region_slug, name_kk, name_ru, locality, address, phone, email, website)
SELECT * FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]
)
ON CONFLICT (bin) DO UPDATE
SET region_slug = excluded.region_slug, name_kk = excluded.name_kk, name_ru = excluded.name_ru,
    locality = excluded.locality, address = excluded.address, phone = excluded.phone,
    email = excluded.email, website = excluded.website;

-- name: insert_school_classes
INSERT INTO school_classes (school_bin, grade, language, classes, seats_per_class)
SELECT * FROM unnest($1::text[], $2::smallint[], $3::text[], $4::integer[], $5::integer[])
ON CONFLICT (school_bin, grade, language) DO NOTHING;

-- name: insert_preschool_roster
INSERT INTO preschool_roster (school_bin, child_iin, language)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
ON CONFLICT (school_bin, child_iin) DO NOTHING;

-- name: list_regions
SELECT slug, name_kk, name_ru, name_en, window_opens_at, window_closes_at, window_is_demo
FROM regions
ORDER BY window_opens_at, slug;

-- name: get_region
SELECT slug, name_kk, name_ru, name_en, window_opens_at, window_closes_at, window_is_demo
FROM regions
WHERE slug = $1;

-- name: school_region
-- The one school -> region lookup (applications, transfers, census, prevention, monitoring, the CLI).
SELECT region_slug FROM schools WHERE bin = $1;

-- name: school_card
SELECT bin, name_kk, name_ru, locality, address, phone, email, website FROM schools WHERE bin = $1;
