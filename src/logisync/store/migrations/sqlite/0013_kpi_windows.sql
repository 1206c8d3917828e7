-- The KPI reads of a time window (`store/kpi_reads.py`) as index ranges, not table scans.
-- Deliveries: the rows delivered in the window, by when they were delivered; partial (only
-- delivered rows are entered) and covering (route and first_us are in it: no table lookups; so
-- is state, constant here, which SQLite's planner needs in the index to call it covering).
CREATE INDEX outbox_delivered ON outbox (updated_us, route, first_us, state) WHERE state = 'delivered';
-- exceptions opened in the window, and the orders a shipment_mismatch was opened for
CREATE INDEX exceptions_created ON exceptions (created_us);
CREATE INDEX exceptions_kind ON exceptions (kind, domain, key);
-- EDI functional groups sent in the window
CREATE INDEX edi_outbound_groups_sent ON edi_outbound_groups (sent_us);
-- reconciliation runs started in the window
CREATE INDEX reconcile_runs_started ON reconcile_runs (started_us);
