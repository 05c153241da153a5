# -*- test-case-name: tests.unit.test_rrl -*-
"""
Response rate limiting over UDP (as BIND's C{rate-limit} and Knot's
C{mod-rrl}): a flood of queries with a spoofed source makes secdns send
its answers to the victim, amplified; RRL caps the identical answers one
network gets.

Responses are counted per client network (an IPv4 /24, an IPv6 /56 by
default) and response class: an answer to one name and type, NXDOMAIN in
one zone-ish bucket, or an error.  Each class has a bucket of
C{responses_per_second} tokens a second, owing at most C{window} seconds'
worth; a response past the bucket is dropped, but every C{slip}-th of
them is sent as an empty truncated answer (TC) instead, so a real client
whose address is being spoofed retries over TCP and is answered there
(spoofing cannot open a TCP connection).  TCP is never limited.

DNS Cookies (L{secdns.server.cookies}) change this as BIND does: a query
with a valid server cookie has a real source and is never limited, and a
limited query that sent a client cookie is answered on its slip turn
with BADCOOKIE and a fresh server cookie instead of TC, so the client
gets an answer over UDP at its next try.  C{cookie_policy = "badcookie"}
answers each limited query that has a client cookie so (as Knot's
C{mod-cookies}), not only every C{slip}-th: a BADCOOKIE is only a few
octets larger than the query.

Pure: the clock is given; the datagram protocol asks L{RateLimiter.judge}
before each send.  The buckets are kept apart from the logic
(L{Buckets}): in a dict (L{LocalBuckets}) when one process answers UDP, in
a table in shared memory (L{secdns.server.rrltable.SharedBuckets}) that
every process of C{[server] workers = N} judges with, so that the
appliance limits as one.
"""

from __future__ import annotations

import collections
import enum
import functools
import struct
import time
from typing import Any, Callable, Mapping, Protocol

import attrs

from secdns.server.cookies import State
from secdns.server.loglimit import network_of

__all__ = ["RateLimiter", "Verdict", "Buckets", "LocalBuckets", "bucket_key", "rate_limiter", "truncated"]

_NXDOMAIN = 3
_BUCKETS_MAX = 100_000


class Verdict(enum.Enum):
    SEND = "send"
    DROP = "drop"
    SLIP = "slip"
    BADCOOKIE = "badcookie"


class Buckets(Protocol):
    """
    Where a L{RateLimiter} keeps its buckets, by key (L{bucket_key}): a
    bucket is its balance, the time of its last update and its count of
    limited responses.
    """

    def get(self, key: bytes) -> tuple[float, float, int] | None:
        """Bucket C{key}, or L{None}: none kept."""

    def put(self, key: bytes, balance: float, last: float, slips: int) -> None:
        """Bucket C{key} is now so."""


class LocalBuckets:
    """
    The buckets of one process (C{workers = 1}): a dict.  Past
    L{_BUCKETS_MAX} buckets, those that have refilled are forgotten (they
    hold nothing a new one would not); all of them if none has.

    @ivar rate: responses a second, to tell a refilled bucket.
    """

    __slots__ = ("rate", "_buckets", "get")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._buckets: dict[bytes, tuple[float, float, int]] = {}
        self.get = self._buckets.get

    def put(self, key: bytes, balance: float, last: float, slips: int) -> None:
        buckets = self._buckets
        if len(buckets) >= _BUCKETS_MAX and key not in buckets:
            self._forget_full(last)
        buckets[key] = (balance, last, slips)

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget_full(self, now: float) -> None:
        rate = self.rate
        for key, (balance, last, _) in list(self._buckets.items()):
            if balance + (now - last) * rate >= rate:
                del self._buckets[key]
        if len(self._buckets) >= _BUCKETS_MAX:
            self._buckets.clear()


@attrs.define
class RateLimiter:
    """
    @ivar responses_per_second: identical responses a network gets a second.
    @ivar window: seconds of debt a bucket may run up (BIND's C{window}).
    @ivar slip: every slip-th limited response is sent truncated; 0: none.
    @ivar cookie_policy: C{"slip"} or C{"badcookie"} (L{secdns.config.COOKIE_POLICIES}).
    @ivar counts: responses by verdict, since start, and C{"cookie"}: the
        responses past the limit sent for a valid server cookie (this
        process's, whatever the buckets are shared with).
    @ivar buckets: where the buckets are kept: this process's own
        (L{LocalBuckets}, the default) or shared with other processes.
    """

    responses_per_second: int
    window: float = 15.0
    slip: int = 2
    ipv4_prefix: int = 24
    ipv6_prefix: int = 56
    cookie_policy: str = "slip"
    clock: Callable[[], float] = time.monotonic
    counts: collections.Counter = attrs.Factory(collections.Counter)
    buckets: Buckets = attrs.Factory(lambda self: LocalBuckets(self.responses_per_second), takes_self=True)

    def judge(self, address: str, response: bytes, cookie: Callable[[], State] = lambda: State.NONE) -> Verdict:
        """
        What to do with C{response} to C{address}: send it, drop it, send
        it truncated, or send BADCOOKIE instead.  C{cookie} tells what the
        query's COOKIE option proves; it is asked only past the limit.
        """
        now = self.clock()
        key = bucket_key(address, response, self.ipv4_prefix, self.ipv6_prefix)
        bucket = self.buckets.get(key)
        rate = self.responses_per_second
        if bucket is None:
            balance = float(rate)
            slips = 0
        else:
            balance = min(float(rate), bucket[0] + (now - bucket[1]) * rate)
            slips = bucket[2]
        balance = max(balance - 1.0, -rate * self.window)
        if balance >= 0:
            verdict = Verdict.SEND
        else:
            state = cookie()
            if state is State.VALID:
                self.buckets.put(key, balance + 1.0, now, slips)  # not counted: its source is real
                self.counts["cookie"] += 1
                return Verdict.SEND
            slips += 1
            slipped = self.slip and slips % self.slip == 0
            if state is not State.NONE and (slipped or self.cookie_policy == "badcookie"):
                verdict = Verdict.BADCOOKIE
            else:
                verdict = Verdict.SLIP if slipped else Verdict.DROP
        self.buckets.put(key, balance, now, slips)
        self.counts[verdict.value] += 1
        return verdict


def bucket_key(address: str, response: bytes, ipv4_prefix: int = 24, ipv6_prefix: int = 56) -> bytes:
    """
    The bucket C{response} to C{address} is counted in, as octets: the
    client's network and a space (L{_network_key}), then the response's
    class (L{_response_class}).  The same in every process (a shared
    table hashes it).
    """
    return _network_key(address, ipv4_prefix, ipv6_prefix) + _response_class(response)


@functools.lru_cache(maxsize=65536)
def _network_key(address: str, ipv4_prefix: int, ipv6_prefix: int) -> bytes:
    return network_of(address, ipv4_prefix, ipv6_prefix).encode() + b" "


#: The class of an error response, by RCODE.
_ERRORS = tuple(b"e" + bytes((rcode,)) for rcode in range(16))


def rate_limiter(settings: Mapping[str, Any] | None, buckets: Buckets | None = None) -> RateLimiter | None:
    """
    The limiter C{[rate_limit]} asks for, from its keys as a mapping
    (L{secdns.config.RateLimitConfig}: the main process's config, or the
    settings a worker is sent), or L{None}: off.  C{buckets}: shared with
    the other processes (L{secdns.server.rrltable}); this process's own if
    not given.
    """
    if not settings or not settings["responses_per_second"]:
        return None
    if buckets is None:
        return RateLimiter(**settings)
    return RateLimiter(**settings, buckets=buckets)


def _response_class(response: bytes) -> bytes:
    """
    What makes responses alike: NXDOMAIN (C{n}) and errors by kind (C{e}
    and the RCODE), answers by name (lowercase, on the wire) and type; an
    answer without a question, C{a}.  No name starts with C{a}, C{e} or
    C{n}: its first octet is a label's length, at most 63.
    """
    rcode = response[3] & 0x0F
    if rcode == _NXDOMAIN:
        return b"n"
    if rcode != 0:
        return _ERRORS[rcode]
    end = _name_end(response)
    return response[12:end].lower() + response[end : end + 2] if end else b"a"


def _name_end(response: bytes) -> int:
    """The end of the question's (uncompressed) name, or 0 when there is none."""
    if len(response) < 17 or response[4:6] != b"\x00\x01":
        return 0
    offset = 12
    while offset < len(response):
        length = response[offset]
        if length == 0:
            return offset + 1
        if length > 63:
            return 0
        offset += length + 1
    return 0


def truncated(response: bytes) -> bytes:
    """C{response} as an empty answer with TC set: its header and question, nothing else."""
    end = _name_end(response)
    question = response[12 : end + 4] if end else b""
    flags = struct.unpack("!H", response[2:4])[0] | 0x0200
    return response[:2] + struct.pack("!HHHHH", flags, 1 if question else 0, 0, 0, 0) + question
