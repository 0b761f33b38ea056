-- The waiting room's own durable trace: the epoch of each region's room in Redis.
-- A room Redis lost is rebuilt with a larger epoch (so the lost room's tickets and
-- access tokens are recognised as survivors') and, because a row was here, with a
-- recovery grace during which nobody new is admitted.  Written when a worker creates
-- or finds a room (start-up, rebuild), never on a visitor's path.

CREATE TABLE room_epochs (
    region_slug text PRIMARY KEY REFERENCES regions (slug),
    epoch bigint NOT NULL CHECK (epoch > 0),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
