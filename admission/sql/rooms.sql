-- The waiting rooms' epochs (admission/waiting_room/rebuild.py).

-- name: room_epoch
SELECT epoch FROM room_epochs WHERE region_slug = $1;

-- name: record_room_epoch
INSERT INTO room_epochs (region_slug, epoch) VALUES ($1, $2)
ON CONFLICT (region_slug) DO UPDATE
SET epoch = greatest(room_epochs.epoch, excluded.epoch), recorded_at = now();
-- Waiting rooms' truth: each region's window (``regions``) and room settings
-- (``room_settings``, absent = the defaults).  Workers copy it into Redis.

-- name: room_truth_all
SELECT r.slug, r.window_opens_at, r.window_closes_at, s.settings
FROM regions r
LEFT JOIN room_settings s ON s.region_slug = r.slug
ORDER BY r.slug;

-- name: room_truth
SELECT r.slug, r.window_opens_at, r.window_closes_at, s.settings
FROM regions r
LEFT JOIN room_settings s ON s.region_slug = r.slug
WHERE r.slug = $1;

-- name: lock_room_settings
-- The region's row is locked, so two admins changing one room take turns.
SELECT r.slug, s.settings
FROM regions r
LEFT JOIN room_settings s ON s.region_slug = r.slug
WHERE r.slug = $1
FOR UPDATE OF r;

-- name: upsert_room_settings
INSERT INTO room_settings (region_slug, settings)
VALUES ($1, $2)
ON CONFLICT (region_slug) DO UPDATE SET settings = excluded.settings, updated_at = now();
