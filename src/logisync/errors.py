"""The error tree: stable codes, messages that say what to do, transient vs permanent."""

from __future__ import annotations


class LogisyncError(Exception):
    """Base of every fault logisync raises on purpose.

    Business rejections (validation, ownership, staleness) are not errors: they are outcomes.
    `transient` says whether trying the same thing again later may succeed; it is read in one
    place, by whoever decides to retry.
    """

    code = "logisync_error"
    transient = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(LogisyncError):
    """The sync map or the settings are wrong; the message names the file, line and key."""

    code = "config_error"


class StoreError(LogisyncError):
    """The store could not do what was asked."""

    code = "store_error"
    transient = True


class StoreBusy(StoreError):
    """A concurrent writer holds what this transaction needs; retry the whole batch."""

    code = "store_busy"
    transient = True


class LockOrderConflict(StoreBusy):
    """A lock below one the transaction holds was taken by another writer: waiting for it could
    deadlock, so the transaction is rolled back; try again with `keys` among the locks taken first."""

    code = "lock_order_conflict"

    def __init__(self, message: str, keys: list[str]) -> None:
        super().__init__(message)
        self.keys = keys


class HubWriteLost(LogisyncError):
    """A value the hub derived (a hold, a status that follows) was not taken by its record.

    The hub's own fields always win by construction, so this is a fault: the batch fails whole,
    nothing of it is committed, and the sender is told to retry rather than a hold being lost.
    """

    code = "hub_write_lost"


class MigrationError(StoreError):
    """The store's schema is newer than this code, or a migration failed."""

    code = "migration_error"
    transient = False
