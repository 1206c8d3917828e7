"""X12 control numbers in the store: per partner and kind, committed, never handed out twice."""

from __future__ import annotations

import threading

import pytest

from logisync.edi.envelope import parse
from logisync.edi.writer import Envelope, OutboundSet, Party, write_interchange
from logisync.store import open_store
from logisync.store.control_numbers import MAX, ControlNumbers, ControlNumbersExhausted


def test_numbers_rise_per_partner_and_kind(store):
    numbers = ControlNumbers(store)
    assert numbers.last("acme", "interchange") == 0
    assert list(numbers.allocate("acme", "interchange")) == [1]
    assert list(numbers.allocate("acme", "interchange")) == [2]
    assert list(numbers.allocate("acme", "set", 3)) == [1, 2, 3]
    assert list(numbers.allocate("acme", "set", 2)) == [4, 5]
    assert list(numbers.allocate("zenith", "interchange")) == [1]
    assert numbers.last("acme", "set") == 5


def test_unknown_kinds_and_counts_are_refused(store):
    numbers = ControlNumbers(store)
    with pytest.raises(ValueError, match="unknown control number kind 'isa'"):
        numbers.allocate("acme", "isa")
    with pytest.raises(ValueError, match="count must be at least 1"):
        numbers.allocate("acme", "set", 0)


def test_numbers_survive_reopening_the_store(store):
    ControlNumbers(store).allocate("acme", "group", 7)
    again = open_store(store.url)
    try:
        assert list(ControlNumbers(again).allocate("acme", "group")) == [8]
    finally:
        again.close()


def test_exhausted_numbers_are_refused_and_nothing_is_consumed(store):
    numbers = ControlNumbers(store)
    numbers.allocate("acme", "interchange", MAX - 1)
    with pytest.raises(ControlNumbersExhausted, match="would pass 999,999,999"):
        numbers.allocate("acme", "interchange", 2)
    assert numbers.last("acme", "interchange") == MAX - 1
    assert list(numbers.allocate("acme", "interchange")) == [MAX]


def test_a_crash_after_allocating_skips_the_number_and_never_reuses_it(store):
    """The writer allocates (and commits) before formatting: a failure afterwards leaves a gap."""
    numbers = ControlNumbers(store)
    env = Envelope("acme", Party("ZZ", "US"), Party("ZZ", "ACME"))
    with pytest.raises(Exception, match="delimiter"):
        write_interchange(env, [OutboundSet("846", [["BIA", "00", "SI", "A*B"]])], numbers)
    written = write_interchange(env, [OutboundSet("846", [["BIA", "00", "SI", "AB"]])], numbers)
    assert written.control == 2 and written.groups[0].control == 2
    [ic] = parse(written.data).interchanges
    assert ic.control == "000000002"


@pytest.mark.postgres
def test_allocators_racing_on_postgresql_never_share_a_number(postgres_store):
    url = postgres_store.url
    stores = [open_store(url) for _ in range(4)]
    got: list[list[int]] = [[] for _ in stores]
    barrier = threading.Barrier(len(stores))

    def run(i: int) -> None:
        numbers = ControlNumbers(stores[i])
        barrier.wait()
        for n in range(50):
            got[i].extend(numbers.allocate("acme", "interchange", 1 + n % 3))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for s in stores:
            s.close()
    everything = [n for numbers in got for n in numbers]
    assert len(everything) == len(set(everything))  # no number twice
    assert sorted(everything) == list(range(1, len(everything) + 1))  # and no gap without a crash
    assert all(len(numbers) == sum(1 + n % 3 for n in range(50)) for numbers in got)
