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
before each send.
"""

from __future__ import annotations

import collections
import enum
import struct
import time
from typing import Callable

import attrs

from secdns.server.cookies import State
from secdns.server.loglimit import network_of

__all__ = ["RateLimiter", "Verdict", "truncated"]

_NXDOMAIN = 3
_BUCKETS_MAX = 100_000


class Verdict(enum.Enum):
    SEND = "send"
    DROP = "drop"
    SLIP = "slip"
    BADCOOKIE = "badcookie"


@attrs.define
class RateLimiter:
    """
    @ivar responses_per_second: identical responses a network gets a second.
    @ivar window: seconds of debt a bucket may run up (BIND's C{window}).
    @ivar slip: every slip-th limited response is sent truncated; 0: none.
    @ivar cookie_policy: C{"slip"} or C{"badcookie"} (L{secdns.config.COOKIE_POLICIES}).
    @ivar counts: responses by verdict, since start, and C{"cookie"}: the
        responses past the limit sent for a valid server cookie.
    """

    responses_per_second: int
    window: float = 15.0
    slip: int = 2
    ipv4_prefix: int = 24
    ipv6_prefix: int = 56
    cookie_policy: str = "slip"
    clock: Callable[[], float] = time.monotonic
    counts: collections.Counter = attrs.Factory(collections.Counter)
    _buckets: dict[tuple, list] = attrs.Factory(dict)

    def judge(self, address: str, response: bytes, cookie: Callable[[], State] = lambda: State.NONE) -> Verdict:
        """
        What to do with C{response} to C{address}: send it, drop it, send
        it truncated, or send BADCOOKIE instead.  C{cookie} tells what the
        query's COOKIE option proves; it is asked only past the limit.
        """
        now = self.clock()
        key = (network_of(address, self.ipv4_prefix, self.ipv6_prefix), _response_class(response))
        bucket = self._buckets.get(key)
        rate = self.responses_per_second
        if bucket is None:
            if len(self._buckets) >= _BUCKETS_MAX:
                self._forget_full(now)
            bucket = self._buckets[key] = [float(rate), now, 0]
        else:
            bucket[0] = min(float(rate), bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
        bucket[0] = max(bucket[0] - 1.0, -rate * self.window)
        if bucket[0] >= 0:
            verdict = Verdict.SEND
        else:
            state = cookie()
            if state is State.VALID:
                bucket[0] += 1.0  # not counted: its source is real
                self.counts["cookie"] += 1
                return Verdict.SEND
            bucket[2] += 1
            slips = self.slip and bucket[2] % self.slip == 0
            if state is not State.NONE and (slips or self.cookie_policy == "badcookie"):
                verdict = Verdict.BADCOOKIE
            else:
                verdict = Verdict.SLIP if slips else Verdict.DROP
        self.counts[verdict.value] += 1
        return verdict

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled (they hold nothing a new one would not)."""
        rate = self.responses_per_second
        for key, (balance, last, _) in list(self._buckets.items()):
            if balance + (now - last) * rate >= rate:
                del self._buckets[key]
        if len(self._buckets) >= _BUCKETS_MAX:
            self._buckets.clear()


def _response_class(response: bytes) -> tuple:
    """What makes responses alike: NXDOMAIN and errors by kind, answers by name and type (lowercase)."""
    rcode = response[3] & 0x0F
    if rcode == _NXDOMAIN:
        return ("nxdomain",)
    if rcode != 0:
        return ("error", rcode)
    end = _name_end(response)
    return ("answer", response[12:end].lower(), response[end : end + 2]) if end else ("answer",)


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
