"""The KPIs page's cache: computed off the request, one window at a time, kept for a while, failures shown."""

from __future__ import annotations

import threading

from logisync.kpi.engine import KpiValue
from logisync.web.kpis import KpiCache, detail, display


def test_the_first_request_waits_then_is_told_it_is_computing_and_later_gets_the_figures():
    release = threading.Event()
    calls: list[tuple[str, str | None]] = []

    def compute(window: str, by: str | None) -> dict:
        calls.append((window, by))
        release.wait(10)
        return {"rows": [window]}

    cache = KpiCache(compute)
    assert cache.get("7d", None, wait_s=0.05) is None  # still computing
    assert cache.get("7d", None) is None
    release.set()
    month = cache.get("30d", None, wait_s=10)
    assert month is not None and month["rows"] == ["30d"] and month["took_s"] >= 0
    found = cache.get("7d", None, wait_s=10)
    assert found is not None and found["rows"] == ["7d"]
    assert calls == [("7d", None), ("30d", None)]  # one computation per window, not per request


def test_stale_figures_are_served_while_new_ones_are_computed():
    rounds = iter(range(10))
    cache = KpiCache(lambda window, by: {"round": next(rounds)}, fresh_s=0.0)
    first = cache.get("24h", "channel", wait_s=10)
    assert first is not None and first["round"] == 0
    again = cache.get("24h", "channel")  # stale at once: the old figures, and a new computation
    assert again is not None and again["round"] == 0
    for _ in range(200):
        if cache.entries[("24h", "channel")][1]["round"] == 1:
            break
        threading.Event().wait(0.01)
    assert cache.entries[("24h", "channel")][1]["round"] == 1


def test_a_failed_computation_is_kept_as_its_error():
    def broken(window: str, by: str | None) -> dict:
        raise ValueError("the store is gone")

    found = KpiCache(broken).get("7d", None, wait_s=10)
    assert found is not None and found["error"] == "ValueError: the store is gone"


def test_figures_as_people_read_them():
    ratio = KpiValue("otif", "all", 0.875, 7, 8, 8, "ratio")
    assert (display(ratio), detail(ratio)) == ("87.5 %", "7 / 8")
    assert display(KpiValue("order_to_ship_avg", "all", 17.04, None, None, 2, "hours")) == "17.0 h"
    assert display(KpiValue("otif", "all", None, 0, 0, 0, "ratio")) == "—"
