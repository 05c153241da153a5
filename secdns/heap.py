# -*- test-case-name: tests.unit.test_heap -*-
"""
The garbage collector around work that builds a zone's worth of objects.

A zone version is up to millions of objects that live until a newer
version replaces them.  Python's collector is one per process and holds
the interpreter lock while it scans: a full collection, started by
whichever thread happens to allocate, stops the reactor (every zone's
answers) for as long as it takes, and while a big version is being built
in a worker such collections come every second or so and grow with it.

So work that builds a version (reading a zone file, applying a transfer,
diffing for the journal) runs with the collector held off, and then what
it made is frozen out of the collector's sight (L{gc.freeze}).  Frozen
objects are still freed by reference counting when their version goes;
zone data holds no reference cycles, so nothing is kept for good.

But a freeze takes every object alive at that moment, cyclic garbage
too (a finished request's Deferreds, a closed connection), and frozen
garbage is never collected: freezing after each reload leaked a few
megabytes an hour of garbage that was waiting for a collection.  So each
freeze comes after a full collection, which is cheap at that point: a
built version is a few hundred objects the collector tracks (its records
are bytes, which it does not), and the rest was frozen the time before.
When builds overlap, the last one to finish collects and freezes for all.
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
    freeze is out of sight, and a full collection first leaves no garbage
    to freeze for good.
    """
    gc.collect()
    gc.freeze()
