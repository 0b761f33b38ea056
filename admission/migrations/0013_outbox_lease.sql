-- The outbox publisher claims a batch with a lease and commits before it calls
-- the contingent store, so no transaction or row lock is held across a remote
-- call (a hung store held them for minutes).  A claim whose publisher died
-- lapses at claimed_until and the events are delivered again (the store is
-- idempotent by event id).  Delivered rows are pruned after a retention period.
ALTER TABLE contingent_outbox
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN claim uuid;

CREATE INDEX contingent_outbox_delivered_idx ON contingent_outbox (delivered_at) WHERE delivered_at IS NOT NULL;
