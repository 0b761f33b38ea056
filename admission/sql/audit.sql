-- name: insert_audit_entry
INSERT INTO audit_log (actor, actor_role, action, region_slug, target, old_value, new_value)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: search_audit_entries
-- The log's filters (the admin API's and the console's): region, action (prefix), actor, a time range.
SELECT id, at, actor, actor_role, action, region_slug, target, old_value, new_value
FROM audit_log
WHERE ($1::text IS NULL OR region_slug = $1)
  AND ($3::bigint IS NULL OR id < $3)
  AND ($4::text IS NULL OR action LIKE $4 || '%')
  AND ($5::text IS NULL OR actor = $5)
  AND ($6::timestamptz IS NULL OR at >= $6)
  AND ($7::timestamptz IS NULL OR at < $7)
ORDER BY id DESC
LIMIT $2;
