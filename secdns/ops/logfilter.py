# -*- test-case-name: tests.unit.test_logfilter -*-
"""
Which log events reach the operator: secdns's lines, not Twisted's chatter.

At the default level (info) an operator sees one line per thing that
happened to the appliance or its zones.  Twisted also logs, for its own
reasons, each port it opens and closes (C{DNSStreamFactory starting on
5300}, C{(UDP Port 5300 Closed)}), each noisy factory started and stopped,
the reactor's class and the end of its main loop: secdns says where it
answers in its own start line, so those are hidden, with every debug line.
At C{debug}, nothing is hidden.

The rules match Twisted's wording (its C{log_format}, or the text of a
legacy C{log.msg}), so an unknown line is shown rather than lost.
"""

from __future__ import annotations

import re
from typing import Callable

from twisted.logger import FilteringLogObserver, ILogObserver, LogLevel, PredicateResult, formatEvent

from secdns.server.loglimit import LIMITER, LogLimiter

__all__ = ["LEVELS", "NOISE", "FLOODS", "is_noise", "is_flood", "predicate", "filtered"]

LEVELS = ("debug", "info", "warn", "error")

# What Twisted says that an operator of secdns does not need, by wording.
NOISE = tuple(
    re.compile(pattern)
    for pattern in (
        r"\S+ starting on \S+$",  # a port bound (tcp, udp, unix): "DNSStreamFactory starting on 5300"
        r"\((TCP |UDP |UNIX )?Port \S+ Closed\)$",  # a port closed at shutdown
        r"(Starting|Stopping) (factory|protocol) ",  # a noisy factory or protocol (new and legacy wordings)
        r"reactor class: ",  # twistd at start
        r"Main loop terminated\.$",  # the reactor at stop: "Server Shut Down." follows
    )
)


#: Twisted's lines that come once per connection when file descriptors run
#: out (EMFILE): rate-limited as secdns's own lines about single requests
#: are (L{secdns.server.loglimit}), by their kind and the client's network.
FLOODS = {
    "Could not accept new connection ({acceptError})": "accept failed",
    "EMFILE recovery: Closed socket from {address}": "EMFILE",
    "Re-reserving EMFILE recovery file descriptor.": "EMFILE",
}


def is_flood(event: dict, limiter: LogLimiter = LIMITER) -> bool:
    """Whether C{event} is one of L{FLOODS} past its limit (then counted, not shown)."""
    kind = FLOODS.get(event.get("log_format"))
    if kind is None:
        return False
    address = event.get("address")
    host = getattr(address, "host", None) or (address[0] if isinstance(address, tuple) and address else "local")
    return not limiter.allow(kind, str(host))


def _wording(event: dict) -> str:
    """What the noise rules match: the format of a new-style event, the text of a legacy one."""
    if event.get("log_namespace") == "log_legacy" or event.get("log_format") is None:
        try:
            return formatEvent(event)
        except Exception:  # an event that cannot be formatted is not noise we know
            return ""
    return event["log_format"]


def is_noise(event: dict) -> bool:
    """Whether C{event} is one of Twisted's lines listed in L{NOISE} (never an error)."""
    level = event.get("log_level")
    if level is not None and level >= LogLevel.warn or event.get("isError"):
        return False
    wording = _wording(event)
    return any(rule.match(wording) for rule in NOISE)


def predicate(level: str = "info") -> Callable[[dict], PredicateResult]:
    """
    The filter of the log at C{level}: below it, nothing; at C{info} and
    above, not the L{NOISE} either; at C{debug}, everything.

    @raise ValueError: for a level not in L{LEVELS}.
    """
    if level not in LEVELS:
        raise ValueError(f"log level {level!r}: expected one of {', '.join(LEVELS)}")
    if level == "debug":
        return lambda event: PredicateResult.maybe
    threshold = LogLevel.levelWithName(level)

    def wanted(event: dict) -> PredicateResult:
        if event.get("log_level", LogLevel.info) < threshold or is_noise(event) or is_flood(event):
            return PredicateResult.no
        return PredicateResult.maybe

    return wanted


def filtered(observer: ILogObserver, level: str = "info") -> ILogObserver:
    """C{observer}, seeing only what L{predicate} lets through at C{level}."""
    return FilteringLogObserver(observer, [predicate(level)])
