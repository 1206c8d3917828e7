"""Canonical models, keys and the merge rules of golden records (pure: no I/O)."""
