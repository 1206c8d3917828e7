-- The backorder queue: which orders wait for units of a SKU, oldest backorder first, so that
-- stock freed at a position (a receipt, a count, a cancelled hold) fills them in that order, in
-- the transaction that freed it. The orders' own `backorders` field is the truth; this is its index.

CREATE TABLE backorders (
    order_key  TEXT    NOT NULL,
    sku        TEXT    NOT NULL,
    queued     INTEGER NOT NULL,  -- change log position of the hub change that first recorded it
    PRIMARY KEY (order_key, sku)
) WITHOUT ROWID;
CREATE INDEX backorders_by_sku ON backorders (sku, queued);

-- orders backordered before the queue existed wait from their newest change
INSERT INTO backorders (order_key, sku, queued)
SELECT r.key, b.key, COALESCE(r.last_seq, 0)
FROM records AS r, json_each(r.fields, '$.backorders') AS b
WHERE r.domain = 'order' AND json_type(r.fields, '$.backorders') = 'object';
