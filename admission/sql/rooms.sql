-- The waiting rooms' epochs (admission/waiting_room/rebuild.py).

-- name: room_epoch
SELECT epoch FROM room_epochs WHERE region_slug = $1;

-- name: record_room_epoch
INSERT INTO room_epochs (region_slug, epoch) VALUES ($1, $2)
ON CONFLICT (region_slug) DO UPDATE
SET epoch = greatest(room_epochs.epoch, excluded.epoch), recorded_at = now();
