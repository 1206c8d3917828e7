"""The overview's route rows: the breaker and counters of this process's dispatcher, the health."""

from __future__ import annotations

from types import SimpleNamespace

from logisync.monitor.lag import RouteLag
from logisync.web import overview
from logisync.web.overview import RouteView


def view(**changes) -> RouteView:
    base = dict(
        name="r", domain="inventory", to="shop", mode="live", pending=0, in_flight=0, dead=0, lag_s=0.0,
        sla_s=60.0, breached=False, breaker="closed", last_error=None,
    )  # fmt: skip
    return RouteView(**{**base, **changes})


def test_health_is_the_worst_of_sla_breaker_and_dead():
    assert view().health == "ok"
    assert view(breaker=None).health == "ok"
    assert view(dead=1).health == "warn"
    assert view(breaker="half_open").health == "warn"
    assert view(breaker="open").health == "bad"
    assert view(breached=True, dead=3).health == "bad"


def test_route_views_take_the_breaker_from_the_dispatcher(monkeypatch):
    route = SimpleNamespace(name="stock-to-shop", domain="inventory", to="shop")
    worker = SimpleNamespace(
        route=route,
        breaker=SimpleNamespace(state=SimpleNamespace(value="open")),
        stats=SimpleNamespace(last_error="503 from shop"),
    )
    deps = SimpleNamespace(
        dispatcher=SimpleNamespace(workers=[worker]), sql=None, syncmap=SimpleNamespace(routes=[route])
    )
    monkeypatch.setattr(overview.reads, "dead_by_route", lambda store, routes: {"stock-to-shop": 2})
    [row] = overview.route_views(deps, [RouteLag("stock-to-shop", 5, 1, 12.5, 60.0, "live")])
    assert (row.breaker, row.last_error, row.dead, row.pending, row.health) == (
        "open",
        "503 from shop",
        2,
        5,
        "bad",
    )
    deps.dispatcher = None
    [row] = overview.route_views(deps, [RouteLag("stock-to-shop", 5, 1, 12.5, 60.0, "live")])
    assert row.breaker is None and row.health == "warn"


def test_lag_history_keeps_a_sample_every_ten_seconds_for_two_hours():
    history = overview.LagHistory()
    s = 1_000_000
    lag = [RouteLag("a", 1, 0, 4.0, None, "live")]
    for t in (0, 3, 10, 15, 20):  # 3 and 15 come too soon after the last kept one
        history.add(t * s, lag)
    assert history.series(["a", "b"])["x"] == [0, 10, 20]
    assert history.series(["a", "b"])["series"] == [
        {"label": "a", "values": [4.0, 4.0, 4.0]},
        {"label": "b", "values": [None, None, None]},
    ]
    history.add((2 * 3600 + 15) * s, lag)
    assert history.series(["a"])["x"] == [20, 2 * 3600 + 15]  # older than two hours: dropped
