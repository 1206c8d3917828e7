-- Leases that several dispatcher processes can share: who holds an in-flight row and until when
-- (a row whose lease expired is leased again: its process stopped), the due scan's index, and
-- the difference a shadow route found between what it would send and what the target has.

ALTER TABLE outbox ADD COLUMN lease_owner TEXT;        -- the dispatcher holding an in_flight row
ALTER TABLE outbox ADD COLUMN lease_until_us BIGINT;   -- its lease ends then (renewed while it works)
ALTER TABLE outbox ADD COLUMN diff TEXT;               -- JSON: a shadowed row's field-level difference from the target
-- the lease scan: a route's pending rows that are due, oldest first
CREATE INDEX outbox_due ON outbox (route, state, next_attempt_us, id);
