-- Reconciliation runs: one row per comparison of a system's snapshot with the golden records, so
-- drift across runs can be read back (counts, units and value at stake, where the variances went).

CREATE TABLE reconcile_runs (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,  -- the reconciliation (SYSTEM-DOMAIN unless named)
    system          TEXT    NOT NULL,
    domain          TEXT    NOT NULL,
    source          TEXT    NOT NULL,  -- the file, URL or query the snapshot came from
    started_us      INTEGER NOT NULL,
    finished_us     INTEGER NOT NULL,
    snapshot_us     INTEGER NOT NULL,  -- when the snapshot was taken (a file: its modification time)
    state           TEXT    NOT NULL,  -- running, done, failed
    error           TEXT,              -- why a failed run failed
    hub_keys        INTEGER NOT NULL DEFAULT 0,
    system_keys     INTEGER NOT NULL DEFAULT 0,
    variance_keys   INTEGER NOT NULL DEFAULT 0,
    explained_keys  INTEGER NOT NULL DEFAULT 0,
    variances       INTEGER NOT NULL DEFAULT 0,
    units           REAL    NOT NULL DEFAULT 0,  -- units at stake
    value           REAL,                        -- their value, where prices are known
    summary         TEXT,              -- JSON: the whole summary (by kind, worst SKUs and locations)
    report          TEXT,              -- the file every variance was written to
    corrections     TEXT               -- JSON: mode, what was pushed or held, the exception opened
);
CREATE INDEX reconcile_runs_name ON reconcile_runs (name, id);

-- what put an outbox row there when it was not an applied change: a reconciliation's correction
-- names its run (`reconcile run 7`)
ALTER TABLE outbox ADD COLUMN origin TEXT;
