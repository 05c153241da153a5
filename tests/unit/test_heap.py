"""secdns.heap: versions built with the collector held off, then frozen, are still freed when dropped."""

from __future__ import annotations

import gc

import dns.name

from secdns import heap
from secdns.zones.journal import diff
from secdns.zones.zonefile import load_zone_file
from tests.bigzone import write_big_zone

ORIGIN = dns.name.from_text("big.test")


def test_collector_held_is_counted_across_holders():
    assert gc.isenabled()
    with heap.collector_held():
        with heap.collector_held():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_zone_version_and_its_journal_change_hold_no_reference_cycles(tmp_path):
    """
    Frozen objects are freed by reference counting only: a cycle in a
    version would be kept for good after L{heap.built}.  None is made.
    """
    path = tmp_path / "big.zone"
    write_big_zone(path, "big.test", 2000, 0)
    old = load_zone_file(ORIGIN, str(path)).data
    write_big_zone(path, "big.test", 2000, 1)
    gc.collect()
    with heap.collector_held():
        new = load_zone_file(ORIGIN, str(path)).data
        changeset = diff(old, new)
        assert changeset.record_count > 2
        del new, changeset, old
        assert gc.collect() == 0


class _Cyclic:
    """Garbage only the collector can free: it refers to itself."""

    def __init__(self):
        self.me = self


def test_a_freeze_keeps_no_garbage_for_good():
    """
    Cyclic garbage alive when a build ends (a finished request's Deferreds)
    is collected, not frozen: frozen, it was never freed (the soak's
    growth of a few megabytes with each reload).
    """
    import weakref

    gc.collect()
    garbage = _Cyclic()
    gone = weakref.ref(garbage)
    del garbage
    heap.built(lambda: None)
    assert gone() is None
    garbage = _Cyclic()
    gone = weakref.ref(garbage)
    del garbage
    heap.settle()
    assert gone() is None
    gc.unfreeze()


def test_what_was_frozen_alive_and_died_in_a_cycle_is_freed_in_time(monkeypatch):
    """
    An object frozen while alive (a transfer under way, a connection) that
    later dies in a reference cycle is freed once the frozen set has grown
    enough for a full look, at the start of a build.
    """
    import weakref

    gc.collect()
    alive = _Cyclic()
    gone = weakref.ref(alive)
    heap.settle()  # frozen alive
    del alive
    gc.collect()
    assert gone() is not None  # out of the collector's sight
    monkeypatch.setattr(heap, "_frozen_when_whole", 0)  # the frozen set "has grown"
    heap.built(lambda: None)
    assert gone() is None
    assert heap._frozen_when_whole > 0  # the size it was looked at whole
    gc.unfreeze()
