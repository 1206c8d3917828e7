-- Outbound deliveries to a system that names things by its own ids look a canonical key up the
-- other way round: (system, kind, canonical) -> its newest external id.

CREATE INDEX xrefs_canonical ON xrefs (system, kind, canonical, updated_us);
