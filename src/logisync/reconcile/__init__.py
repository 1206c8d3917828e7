"""Reconciliation: a system's full snapshot against the golden records, variances, corrections."""
