"""The HTTP API: the batch change endpoint, records with provenance, history and time travel."""

from .app import create_app

__all__ = ["create_app"]
