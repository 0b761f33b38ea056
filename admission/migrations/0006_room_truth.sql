-- PostgreSQL is the truth for every waiting room's settings and window (issue 11).
--
-- Redis holds each room's live state (places, slots) and a copy of its settings
-- and window; the copy is rebuilt from here whenever Redis lost it.  Every change
-- of a window (``regions``) or of a room's settings (``room_settings``) notifies
-- the channel ``kezek_rooms`` with the region's slug when it commits, so every
-- running worker applies it to its room at once; workers also compare the two
-- every few seconds, so a missed notification is caught up.

-- A room's settings as admins set them (``admission.waiting_room.room.RoomSettings``
-- as JSON; fields missing here take the code's defaults).  No row: every default.
CREATE TABLE room_settings (
    region_slug  text PRIMARY KEY REFERENCES regions (slug),
    settings     jsonb NOT NULL CHECK (jsonb_typeof(settings) = 'object'),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION notify_room_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- tg_argv[0]: the column holding the region's slug
    PERFORM pg_notify('kezek_rooms', to_jsonb(new) ->> tg_argv[0]);
    RETURN NULL;
END
$$;

CREATE TRIGGER room_settings_notify
AFTER INSERT OR UPDATE ON room_settings
FOR EACH ROW EXECUTE FUNCTION notify_room_changed('region_slug');

CREATE TRIGGER regions_window_notify
AFTER UPDATE OF window_opens_at, window_closes_at ON regions
FOR EACH ROW
WHEN (old.window_opens_at IS DISTINCT FROM new.window_opens_at
      OR old.window_closes_at IS DISTINCT FROM new.window_closes_at)
EXECUTE FUNCTION notify_room_changed('slug');

-- Filing is idempotent (issue 11 point 7).  ``filing_key`` is the slot's access
-- token id and a hash of the form: the same slot sending the same form again gets
-- the first decision back.  ``idempotency_key`` is the client's ``Idempotency-Key``
-- header, unique per applicant, with a hash of the request it came with, so the
-- same key with another request is refused.  Applications filed before this
-- migration have neither.
ALTER TABLE applications
    ADD COLUMN filing_key text,
    ADD COLUMN idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    ADD COLUMN request_hash bytea,
    ADD CONSTRAINT applications_idempotency_check CHECK ((idempotency_key IS NULL) = (request_hash IS NULL));
CREATE UNIQUE INDEX applications_filing_key_idx ON applications (filing_key);
CREATE UNIQUE INDEX applications_idempotency_key_idx ON applications (applicant_iin, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
