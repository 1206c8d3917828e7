"""The ingest transaction: validate → dedupe → authorize → order → apply → log → enqueue."""

from .ingest import Pipeline

__all__ = ["Pipeline"]
