-- The delivery engine: bodies kept for shadowed and dead rows, what each route's target last
-- received (compare-and-set, shadow diffs), and the exceptions inbox's audit trail.

ALTER TABLE outbox ADD COLUMN body TEXT;  -- JSON: what a shadowed row would send, what a dead row failed to send
-- a key's backlog on a route, read when the dispatcher coalesces it
CREATE INDEX outbox_route_key ON outbox (route, key, state);

CREATE TABLE route_state (  -- per (route, key): the last body delivered (in shadow mode: computed)
    route       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    body        TEXT    NOT NULL,  -- JSON
    change_seq  INTEGER NOT NULL,
    updated_us  INTEGER NOT NULL,
    PRIMARY KEY (route, key)
) WITHOUT ROWID;

CREATE TABLE exception_actions (  -- who did what to an exception, and when
    id            INTEGER PRIMARY KEY,
    exception_id  INTEGER NOT NULL,
    at_us         INTEGER NOT NULL,
    actor         TEXT    NOT NULL,
    action        TEXT    NOT NULL,  -- retry, edit, discard, assign, resolve
    detail        TEXT               -- JSON
);
CREATE INDEX exception_actions_exception ON exception_actions (exception_id, id);
