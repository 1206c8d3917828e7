"""Batch files: CSV, JSON and NDJSON imports and exports, and the folder and SFTP they travel by."""
