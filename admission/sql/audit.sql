-- name: insert_audit_entry
INSERT INTO audit_log (actor, actor_role, action, region_slug, target, old_value, new_value)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: list_audit_entries
SELECT id, at, actor, actor_role, action, region_slug, target, old_value, new_value
FROM audit_log
WHERE ($1::text IS NULL OR region_slug = $1)
  AND ($3::bigint IS NULL OR id < $3)
ORDER BY id DESC
LIMIT $2;
