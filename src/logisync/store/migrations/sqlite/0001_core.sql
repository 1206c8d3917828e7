-- The sync core: golden records, the change log (also the idempotency index), outcome
-- counters, the outbox, exceptions and connector checkpoints. Times are µs since the epoch.

CREATE TABLE records (
    domain      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fields      TEXT    NOT NULL,  -- JSON object: field -> value
    prov        TEXT    NOT NULL,  -- JSON object: field -> provenance (see domain/record.py)
    revision    INTEGER NOT NULL,
    last_seq    INTEGER,           -- the newest change log entry for this key: its history runs back from here
    created_us  INTEGER NOT NULL,
    updated_us  INTEGER NOT NULL,
    PRIMARY KEY (domain, key)
) WITHOUT ROWID;

CREATE TABLE changes (
    seq          INTEGER PRIMARY KEY,
    system       TEXT    NOT NULL,
    change_id    TEXT    NOT NULL,
    domain       TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    stamp        INTEGER NOT NULL,  -- the order stamp: version, event time or arrival
    received_us  INTEGER NOT NULL,
    outcome      TEXT    NOT NULL,
    reason       TEXT,
    payload      TEXT    NOT NULL,  -- JSON object: the fields as received
    applied      TEXT,              -- JSON list of the fields taken in; NULL: all (if applied) or none
    source       TEXT,              -- where it came from: api, a file and line, a connector
    prev_seq     INTEGER,  -- the previous entry for the same record (its history, newest first)
    versioned    INTEGER NOT NULL DEFAULT 0  -- 1 when the stamp is a source version, 0 a time
);
-- change_id leads, so a batch of ids is looked up by the index whatever the statistics say
CREATE UNIQUE INDEX changes_idempotency ON changes (change_id, system);

CREATE TABLE outcome_counts (
    system   TEXT    NOT NULL,
    domain   TEXT    NOT NULL,
    outcome  TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (system, domain, outcome)
) WITHOUT ROWID;

CREATE TABLE outbox (  -- one row per (route, applied change)
    id              INTEGER PRIMARY KEY,
    route           TEXT    NOT NULL,
    domain          TEXT    NOT NULL,
    key             TEXT    NOT NULL,
    change_seq      INTEGER NOT NULL,
    coalescing      INTEGER NOT NULL,  -- 1 for state domains: the dispatcher sends only a key's latest
    state           TEXT    NOT NULL,  -- pending, in_flight, delivered, coalesced, dead, shadowed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_us INTEGER NOT NULL,
    first_us        INTEGER NOT NULL,  -- when the oldest change this row carries was accepted
    updated_us      INTEGER NOT NULL,
    last_error      TEXT
);
-- The outbox is append-only at ingest (cheap sequential inserts); a state domain's burst of
-- changes to one key is coalesced when the dispatcher leases it: one call carries the latest.
CREATE INDEX outbox_route ON outbox (route, state, id);

CREATE TABLE exceptions (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    state       TEXT    NOT NULL,  -- open, resolved, discarded
    domain      TEXT,
    key         TEXT,
    system      TEXT,
    change_id   TEXT,
    route       TEXT,
    reason      TEXT    NOT NULL,
    detail      TEXT,              -- JSON
    assignee    TEXT,
    created_us  INTEGER NOT NULL,
    updated_us  INTEGER NOT NULL
);
CREATE INDEX exceptions_state ON exceptions (state, kind, id);
CREATE INDEX exceptions_record ON exceptions (domain, key);

CREATE TABLE checkpoints (
    name        TEXT    PRIMARY KEY,
    position    TEXT    NOT NULL,
    updated_us  INTEGER NOT NULL
);
