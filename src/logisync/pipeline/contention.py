"""What the ingest transaction does when another writer holds what it needs: wait, then try again.

On PostgreSQL several hub processes write at once. The pipeline takes its locks in one sorted
order (see `store/postgres.py`), so writers of the same records queue instead of deadlocking; what
still goes wrong surfaces as `StoreBusy` and the whole batch is tried again:

- `LockOrderConflict`: a rule needed a record guarded by a lock below one the batch holds, and
  another writer had it. Waiting for it could close a cycle, so the batch starts over with every
  key it asked for among the locks it takes first, in order. It waits there, on the locks, never
  spinning.
- a deadlock or serialization failure that PostgreSQL detected anyway (a lock taken outside the
  pipeline's order): the batch backs off first, as `BusyRetry` says, so two writers that
  collided do not collide again at once.

Once `BusyRetry.attempts` tries have failed, the batch is not lost: each change gets the outcome
`quarantined`, with the reason, and a `store_busy` exception that the inbox can retry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BusyRetry:
    """How often, and after how long, a batch that met another writer is tried again.

    After try n (1-based) failed with `StoreBusy` and n < `attempts`, wait

        delay = u * min(cap_s, base_s * 2 ** (n - 1)),   u uniform in [0, 1)

    ("full jitter": writers that collided spread out instead of colliding again in step), then try
    again. At n = `attempts` there is no next try (`decide` returns None). The defaults wait at
    most 0.01 + 0.02 + 0.04 + 0.08 + 0.16 + 0.25 + 0.25 = 0.81 s in all, over 8 tries.

    A `LockOrderConflict` is not a failed try: the batch starts over at once with every key it
    needed locked first, in order (it waits there, on the locks). Each restart locks more keys up
    front, so they end; `restarts` bounds them all the same.
    """

    attempts: int = 8
    base_s: float = 0.01
    cap_s: float = 0.25
    restarts: int = 32  # lock-order restarts allowed besides: each waits in order, none spins

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.restarts < 0:
            raise ValueError("attempts must be at least 1, restarts at least 0")
        if self.base_s < 0 or self.cap_s < 0:
            raise ValueError("delays must not be negative")

    def decide(self, attempt: int, u: float) -> float | None:
        """The wait before the next try after try `attempt` failed (`u` in [0, 1)); None: give up."""
        if attempt >= self.attempts:
            return None
        return u * min(self.cap_s, self.base_s * 2 ** (attempt - 1))
