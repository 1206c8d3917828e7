"""What the `logisync` command shows: tables, the NDJSON ingest run, and their helpers."""
