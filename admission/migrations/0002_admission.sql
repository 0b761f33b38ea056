-- Grade-1 admission: seat counters, applications, the contingent outbox and
-- the contingent store's record of applied events.

-- Seat counters live on the class-set row they count, so one conditional
-- UPDATE of that row decides a seat.  ``roster_held`` is the number of seats
-- held for the school's pre-school roster children in that language (pilot
-- para 4; kept by the trigger below), ``roster_taken`` how many of them are
-- used, ``general_taken`` the seats taken on the general basis.  The CHECKs
-- are the last line of defence: no code path can overbook a class set.
ALTER TABLE school_classes
    ADD COLUMN roster_held integer NOT NULL DEFAULT 0,
    ADD COLUMN roster_taken integer NOT NULL DEFAULT 0,
    ADD COLUMN general_taken integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT school_classes_counters_check CHECK (
        roster_taken >= 0 AND general_taken >= 0 AND roster_taken <= roster_held
        AND general_taken + roster_held <= classes * seats_per_class
    );

-- A region may confirm accepted applications automatically (no order by hand).
ALTER TABLE regions ADD COLUMN auto_confirm boolean NOT NULL DEFAULT false;

CREATE FUNCTION preschool_roster_hold_seat() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF tg_op IN ('DELETE', 'UPDATE') THEN
        UPDATE school_classes SET roster_held = roster_held - 1
        WHERE school_bin = old.school_bin AND grade = 1 AND language = old.language;
    END IF;
    IF tg_op IN ('INSERT', 'UPDATE') THEN
        UPDATE school_classes SET roster_held = roster_held + 1
        WHERE school_bin = new.school_bin AND grade = 1 AND language = new.language;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER preschool_roster_hold_seat
AFTER INSERT OR DELETE OR UPDATE OF school_bin, language ON preschool_roster
FOR EACH ROW EXECUTE FUNCTION preschool_roster_hold_seat();

-- Rosters loaded before this migration hold their seats too.
UPDATE school_classes c
SET roster_held = r.n
FROM (SELECT school_bin, language, count(*)::integer AS n FROM preschool_roster GROUP BY 1, 2) r
WHERE c.school_bin = r.school_bin AND c.grade = 1 AND c.language = r.language;

-- Every grade-1 application and its decision; rows are never deleted
-- (withdrawal and confirmation are state changes with their own timestamps).
CREATE TABLE applications (
    id                   uuid PRIMARY KEY,
    applicant_iin        text NOT NULL CHECK (applicant_iin ~ '^[0-9]{12}$'),
    child_iin            text NOT NULL CHECK (child_iin ~ '^[0-9]{12}$'),
    school_bin           text NOT NULL REFERENCES schools (bin),
    region_slug          text NOT NULL REFERENCES regions (slug),
    grade                smallint NOT NULL DEFAULT 1 CHECK (grade = 1),
    language             text NOT NULL,
    consent              boolean NOT NULL,
    status               text NOT NULL CHECK (status IN ('accepted', 'refused', 'withdrawn', 'confirmed')),
    -- Annex 2 item 9 ground (1-7); NULL for a window refusal, which is not one of them.
    refusal_ground       smallint CHECK (refusal_ground BETWEEN 1 AND 7),
    refusal_code         text,
    -- A refusal as a duplicate points to the child's live application.
    duplicate_of         uuid REFERENCES applications (id),
    -- Admitted from the pre-school roster (pilot para 4).
    priority             boolean NOT NULL DEFAULT false,
    decided_at           timestamptz NOT NULL,
    withdrawn_at         timestamptz,
    confirmed_at         timestamptz,
    order_number         text,
    order_date           date,
    -- sha256 of the withdraw token handed out with the decision.
    withdraw_token_hash  bytea NOT NULL,
    -- The waiting-room slot (access token jti) the application was filed in.
    access_jti           text,
    CHECK ((status = 'refused') = (refusal_code IS NOT NULL)),
    CHECK ((confirmed_at IS NULL) = (order_number IS NULL) AND (order_number IS NULL) = (order_date IS NULL)),
    CHECK (status <> 'confirmed' OR confirmed_at IS NOT NULL),
    CHECK ((status = 'withdrawn') = (withdrawn_at IS NOT NULL))
);
-- One live application per child, nationwide.
CREATE UNIQUE INDEX applications_one_live_idx ON applications (child_iin) WHERE status IN ('accepted', 'confirmed');
CREATE INDEX applications_school_idx ON applications (school_bin, status);

-- The transactional outbox towards the contingent store: written in the same
-- transaction as the change it reports, delivered by the publisher in id
-- order per child, with retries and backoff.
CREATE TABLE contingent_outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    child_iin        text NOT NULL,
    event            jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    delivered_at     timestamptz
);
CREATE INDEX contingent_outbox_pending_idx ON contingent_outbox (id) WHERE delivered_at IS NULL;
CREATE INDEX contingent_outbox_child_pending_idx ON contingent_outbox (child_iin, id) WHERE delivered_at IS NULL;

-- The receiving side: which outbox events the store has applied (idempotency
-- by event id) and in what order.
CREATE TABLE contingent.applied_events (
    event_id    bigint PRIMARY KEY,
    seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    child_iin   text NOT NULL,
    kind        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
