# -*- test-case-name: tests.unit.test_rrltable -*-
"""
The response rate limiter's buckets (L{secdns.server.rrl}) shared by every
process of C{[server] workers = N}, as BIND and Knot share theirs between
threads: a flood spread over the N sockets (many source ports, as a
spoofed flood is) is limited as one, not N times the rate.

A fixed-size open-addressed table in shared memory: the main process makes
it (L{SharedBuckets.create}: C{memfd_create}, C{ftruncate}, C{mmap
MAP_SHARED}) before it starts the workers, and each worker maps the same
memory from the descriptor it inherits (L{SharedBuckets.attach}).  A slot
holds a 64-bit hash of the bucket's key, its balance, the time of its last
update (C{time.monotonic}: CLOCK_MONOTONIC is one clock for every process)
and its count of limited responses (for C{slip}).  The hash is BLAKE2b
keyed with a random salt the main process writes in the table's header:
the same in every process (Python's C{hash()} is salted per process), and
unknown to whoever would aim keys at one slot to evict a bucket.  A key
lives in one of L{PROBES} slots from its hash on; when they are all taken,
the one updated longest ago is reused.

Updates are not atomic across processes: two processes judging the same
bucket at the same moment may each write their own result, and one update
is lost.  That lets through at most a few responses more than the rate,
which is what RRL promises (a rate, not an exact count); no lock is taken
on the answer path.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import secrets
import struct

__all__ = ["SharedBuckets", "key_hash", "SLOTS", "PROBES"]

#: Slots in the table (a power of two): more than the 100,000 buckets a
#: single process keeps (L{secdns.server.rrl.LocalBuckets}), so a table
#: holding that many still finds free slots.  4 MiB, touched page by page
#: as used.
SLOTS = 1 << 17
#: Slots a key may live in, from the one its hash names on.
PROBES = 4

_MAGIC = b"secdns-rrl-1\x00\x00\x00\x00"
_HEADER = struct.Struct("=16sQ16s")  # magic, slots, salt
_HEADER_SIZE = 64
#: hash (0: empty), balance, last update, limited responses
_SLOT = struct.Struct("=QddQ")


def key_hash(key: bytes, salt: bytes) -> int:
    """The slot hash of bucket C{key}: the same in every process given one salt; never 0 (an empty slot)."""
    value = int.from_bytes(hashlib.blake2b(key, digest_size=8, key=salt).digest(), "little")
    return value or 1


class SharedBuckets:
    """
    The buckets of every process, in shared memory (see the module's
    docstring).  L{get} and L{put} are what L{secdns.server.rrl.RateLimiter}
    asks of its buckets; the slot L{get} found (or chose for a new key) is
    remembered for the L{put} of the same key that follows it.

    @ivar fd: the memory's descriptor (for the workers to inherit).
    """

    def __init__(self, fd: int, memory: mmap.mmap) -> None:
        self.fd = fd
        self._memory = memory
        magic, slots, salt = _HEADER.unpack_from(memory, 0)
        if magic != _MAGIC or slots < PROBES or slots & (slots - 1) or len(memory) < _HEADER_SIZE + slots * _SLOT.size:
            memory.close()
            raise ValueError("not a secdns rate-limit table")
        self.slots = slots
        self._salt = salt
        self._hasher = hashlib.blake2b(digest_size=8, key=salt)  # copied for each key: cheaper than keying anew
        self._last_key: bytes | None = None
        self._last_offset = 0
        self._last_hash = 0

    @classmethod
    def create(cls, slots: int = SLOTS) -> "SharedBuckets":
        """
        A new, empty table (the main process, before it starts workers).
        Its descriptor is closed on exec: a worker gets it only as one of
        the descriptors it is handed (C{childFDs}).
        """
        if slots < PROBES or slots & (slots - 1):
            raise ValueError(f"slots must be a power of two, at least {PROBES}")
        fd = os.memfd_create("secdns-rrl", os.MFD_CLOEXEC)
        size = _HEADER_SIZE + slots * _SLOT.size
        os.ftruncate(fd, size)
        memory = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        _HEADER.pack_into(memory, 0, _MAGIC, slots, secrets.token_bytes(16))
        return cls(fd, memory)

    @classmethod
    def attach(cls, fd: int) -> "SharedBuckets":
        """The table the main process made, from the descriptor a worker inherited."""
        size = os.fstat(fd).st_size
        memory = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        return cls(fd, memory)

    def hash(self, key: bytes) -> int:
        """L{key_hash} of C{key} with this table's salt."""
        hasher = self._hasher.copy()
        hasher.update(key)
        return int.from_bytes(hasher.digest(), "little") or 1

    def get(self, key: bytes) -> tuple[float, float, int] | None:
        """Bucket C{key} (balance, last update, limited responses), or L{None}: none kept."""
        hasher = self._hasher.copy()
        hasher.update(key)
        wanted = int.from_bytes(hasher.digest(), "little") or 1
        memory = self._memory
        unpack = _SLOT.unpack_from
        mask = self.slots - 1
        index = wanted & mask
        oldest_offset = -1
        oldest = float("inf")
        for probe in range(PROBES):
            offset = _HEADER_SIZE + ((index + probe) & mask) * _SLOT.size
            held, balance, last, slips = unpack(memory, offset)
            if held == wanted:
                self._last_key, self._last_offset, self._last_hash = key, offset, wanted
                return balance, last, slips
            if held == 0:
                # Slots are emptied only all at once (clear): the key is not further on.
                self._last_key, self._last_offset, self._last_hash = key, offset, wanted
                return None
            if last < oldest:
                oldest, oldest_offset = last, offset
        self._last_key, self._last_offset, self._last_hash = key, oldest_offset, wanted
        return None

    def put(self, key: bytes, balance: float, last: float, slips: int) -> None:
        """Bucket C{key} is now so: in the slot L{get} found for it (or for a new key, took)."""
        if key is not self._last_key:
            self.get(key)
        _SLOT.pack_into(self._memory, self._last_offset, self._last_hash, balance, last, slips)

    def clear(self) -> None:
        """Forget every bucket (a reload that changes C{[rate_limit]}: the counts start again)."""
        size = self.slots * _SLOT.size
        step = 1 << 20
        for start in range(0, size, step):
            end = min(start + step, size)
            self._memory[_HEADER_SIZE + start : _HEADER_SIZE + end] = bytes(end - start)
        self._last_key = None

    def __len__(self) -> int:
        """Buckets kept (counted slot by slot: for tests and the console, not the answer path)."""
        unpack = _SLOT.unpack_from
        return sum(1 for i in range(self.slots) if unpack(self._memory, _HEADER_SIZE + i * _SLOT.size)[0])

    def close(self) -> None:
        self._memory.close()
        os.close(self.fd)
