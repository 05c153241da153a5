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
    """C{f(*args, **kwargs)} with the collector held off, and what it made then frozen."""
    with collector_held():
        result = f(*args, **kwargs)
        gc.freeze()
    return result


def settle(generation: int = 2) -> None:
    """
    Collect up to C{generation}, then freeze what is left: cheap, for the
    versions are frozen already and the collector scans only the rest.
    """
    gc.collect(generation)
    gc.freeze()
