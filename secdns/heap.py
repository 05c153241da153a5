# -*- test-case-name: tests.unit.test_heap -*-
"""
The garbage collector around work that builds a zone's worth of objects.

Building a zone version makes up to millions of objects (a transfer's
records as they are read, a zone file's lines).  Python's collector is one per process and holds
the interpreter lock while it scans: a full collection, started by
whichever thread happens to allocate, stops the reactor (every zone's
answers) for as long as it takes, and while a big version is being built
in a worker such collections come every second or so and grow with it.

So work that builds a version (reading a zone file, applying a transfer,
diffing for the journal) runs with the collector held off, and then what
it made is frozen out of the collector's sight (L{gc.freeze}).  Frozen
objects are still freed by reference counting when their version goes;
zone data holds no reference cycles, so nothing is kept for good.

But a freeze takes every object alive at that moment, and an object
frozen alive that later dies in a reference cycle (a connection and its
protocol, a finished transfer's Deferreds and what they hold) is never
collected: the soak grew by megabytes with each reload and transfer.  So
each freeze comes after a collection (cheap: a built version is a few
hundred objects the collector tracks, as its records are bytes, and the
rest was frozen the time before), and when the frozen set has grown by a
quarter (and 20,000 objects) since it was last looked at whole, the next
build starts with a full look: unfreeze, collect, freeze.  That is the
rule CPython keeps for its oldest generation, so the work stays in
proportion to what lives; it runs when a build starts, while no big
transfer is half-read, and costs tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from typing import Callable, Iterator, TypeVar

__all__ = ["collector_held", "built", "settle"]

T = TypeVar("T")

_held = 0
_lock = threading.Lock()
_frozen_when_whole = 0  # gc.get_freeze_count() after the last full look


@contextlib.contextmanager
def collector_held() -> Iterator[None]:
    """The collector off meanwhile, in every thread, until the last holder lets go."""
    global _held
    with _lock:
        _held += 1
        gc.disable()
    try:
        yield
    finally:
        with _lock:
            _held -= 1
            if _held == 0:
                gc.enable()


def built(f: Callable[..., T], *args, **kwargs) -> T:
    """
    C{f(*args, **kwargs)} with the collector held off; then, once no other
    build is under way, the garbage collected and what is left frozen.
    """
    global _held
    with _lock:
        if _held == 0:
            _look_whole_if_grown()
        _held += 1
        gc.disable()
    try:
        return f(*args, **kwargs)
    finally:
        with _lock:
            _held -= 1
            if _held == 0:
                settle()
                gc.enable()


def settle() -> None:
    """
    Collect, then freeze what is left: cheap, for what lived at the last
    freeze is out of sight, and the collection first leaves no garbage to
    freeze for good.
    """
    gc.collect()
    gc.freeze()


def _look_whole_if_grown() -> None:
    """Unfreeze, collect and freeze again once the frozen set has grown by a quarter since the last time."""
    global _frozen_when_whole
    if gc.get_freeze_count() > _frozen_when_whole * 5 // 4 + 20_000:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        _frozen_when_whole = gc.get_freeze_count()
