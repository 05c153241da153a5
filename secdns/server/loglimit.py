# -*- test-case-name: tests.unit.test_loglimit -*-
"""
Log lines about single requests, rate-limited per kind and source network.

A malformed datagram, a refused NOTIFY or transfer, a bad TSIG: each is
worth a line, but anyone can send thousands a second, and a line each would
fill the disk (56,000 hostile datagrams wrote 44,108 lines).  L{LogLimiter}
lets the first L{LogLimiter.burst} lines of a kind from one network (an
IPv4 /24, an IPv6 /56) through each minute and counts the rest; when the
minute is over, L{LogLimiter.summaries} says how many were held back
("... and 4,213 more like it from 192.0.2.0/24 in the last minute"), and
the counts are metrics (C{secdns_log_lines_suppressed_total}).

Pure: the clock is given; L{LIMITER} is the appliance's, whose summaries
the service logs once a minute.
"""

from __future__ import annotations

import collections
import functools
import ipaddress
import time
from typing import Callable

import attrs

__all__ = ["LogLimiter", "Summary", "LIMITER", "network_of"]


@functools.lru_cache(maxsize=65536)
def network_of(address: str, ipv4_prefix: int = 24, ipv6_prefix: int = 56) -> str:
    """The network a source is counted in: its /24 (IPv4) or /56 (IPv6)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = ipv4_prefix if ip.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


@attrs.frozen
class Summary:
    """Lines of C{kind} from C{network} held back in a window of C{seconds}."""

    kind: str
    network: str
    count: int
    seconds: float

    def __str__(self) -> str:
        span = "minute" if self.seconds == 60 else f"{self.seconds:g} s"
        return f"{self.kind}: ... and {self.count:,} more like it from {self.network} in the last {span}"


@attrs.define
class _Window:
    start: float
    shown: int = 0
    held: int = 0


@attrs.define
class LogLimiter:
    """
    @ivar burst: lines of one kind from one network let through per window.
    @ivar window: seconds.
    @ivar max_networks: windows kept at once; past it, new networks are
        counted together as C{"elsewhere"} (a flood from many networks
        must not grow this without bound either).
    @ivar suppressed: lines held back since start, by kind.
    """

    clock: Callable[[], float] = time.monotonic
    burst: int = 5
    window: float = 60.0
    max_networks: int = 10_000
    suppressed: collections.Counter = attrs.Factory(collections.Counter)
    _windows: dict[tuple[str, str], _Window] = attrs.Factory(dict)
    _ended: list[Summary] = attrs.Factory(list)

    def allow(self, kind: str, address: str) -> bool:
        """Whether a line of C{kind} about a request from C{address} may be logged now."""
        now = self.clock()
        key = (kind, network_of(address))
        window = self._windows.get(key)
        if window is not None and now - window.start >= self.window:
            self._end(key, window)
            window = None
        if window is None:
            if len(self._windows) >= self.max_networks:
                key = (kind, "elsewhere")
                window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window(now)
        if window.shown < self.burst:
            window.shown += 1
            return True
        window.held += 1
        self.suppressed[kind] += 1
        return False

    def summaries(self) -> list[Summary]:
        """What was held back in the windows that are over; their memory is let go."""
        now = self.clock()
        for key, window in list(self._windows.items()):
            if now - window.start >= self.window:
                self._end(key, window)
        ended, self._ended = self._ended, []
        return ended

    def reset(self) -> None:
        """Forget every window and count (a test's fresh start)."""
        self._windows.clear()
        self._ended.clear()
        self.suppressed.clear()

    def _end(self, key: tuple[str, str], window: _Window) -> None:
        del self._windows[key]
        if window.held:
            self._ended.append(Summary(key[0], key[1], window.held, self.window))


#: The appliance's limiter (the service logs its summaries once a minute).
LIMITER = LogLimiter()
