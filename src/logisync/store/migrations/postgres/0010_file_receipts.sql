-- Files received, by content hash: the same bytes from the same system are applied once. A row is
-- written when a file has been read to its end (every row committed), so a file stopped midway
-- can be run again (its rows' change ids then come back as duplicates).

CREATE TABLE file_receipts (
    system       TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,  -- hex digest of the file's bytes
    name         TEXT    NOT NULL,  -- the file name it first came under
    import_name  TEXT,              -- the import that read it (NULL: changes as NDJSON)
    received_us  BIGINT  NOT NULL,
    rows         BIGINT  NOT NULL,
    counts       TEXT    NOT NULL,  -- JSON: rows by outcome
    PRIMARY KEY (system, sha256)
);
