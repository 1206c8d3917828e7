-- Cross-reference tables: per system, its own ids (a listing id, an item number, a service code)
-- for canonical keys, loaded from CSV or learned from inbound records.

CREATE TABLE xrefs (
    system       TEXT    NOT NULL,
    kind         TEXT    NOT NULL,  -- sku, location, service
    external_id  TEXT    COLLATE "C" NOT NULL,  -- as the system writes it
    canonical    TEXT    NOT NULL,  -- the canonical key it stands for
    source       TEXT    NOT NULL,  -- where the pair came from: FILE.csv:LINE, or system/change-id when learned
    updated_us   BIGINT  NOT NULL,
    PRIMARY KEY (system, kind, external_id)
);
