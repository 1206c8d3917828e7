"""Faults of a reconciliation run: a snapshot that cannot be read, a rule that cannot apply."""

from __future__ import annotations

from ..errors import LogisyncError


class SnapshotError(LogisyncError):
    """The snapshot cannot be read as asked: the message names the source and what is wrong."""

    code = "snapshot_error"


class SnapshotUnavailable(SnapshotError):
    """The system did not answer (an HTTP snapshot): trying again later may work."""

    code = "snapshot_unavailable"
    transient = True
