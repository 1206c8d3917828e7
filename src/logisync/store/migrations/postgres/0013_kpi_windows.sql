-- The KPI reads of a time window (`store/kpi_reads.py`) as index ranges, not table scans.
-- Deliveries: the rows delivered in the window, by when they were delivered; partial (only
-- delivered rows are entered) and covering (route and first_us are in it: an index-only scan).
CREATE INDEX outbox_delivered ON outbox (updated_us) INCLUDE (route, first_us) WHERE state = 'delivered';
-- exceptions opened in the window
CREATE INDEX exceptions_created ON exceptions (created_us);
-- the orders a shipment_mismatch was opened for (kind and domain lead: SQLite's planner then
-- prefers it to exceptions_record); partial, so the inbox's lists by kind, paged in
-- id order, keep walking ids rather than sorting every exception of a kind
CREATE INDEX exceptions_mismatched ON exceptions (kind, domain, key) WHERE kind = 'shipment_mismatch' AND domain = 'order';
-- EDI functional groups sent in the window
CREATE INDEX edi_outbound_groups_sent ON edi_outbound_groups (sent_us);
-- reconciliation runs started in the window
CREATE INDEX reconcile_runs_started ON reconcile_runs (started_us);
