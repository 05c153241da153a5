# -*- test-case-name: tests.unit.test_registry -*-
"""
What happens to zones, as frozen values: the zone core publishes them on
its bus (L{secdns.core.bus}); the log, the metrics and (later) the alarms
and the API's event history hear them.

Every event names its zone as operators write it (no trailing dot) and the
time it happened, on the wall clock.
"""

from __future__ import annotations

from typing import Union

import attrs

__all__ = [
    "ZoneEvent",
    "ZoneLoaded",
    "ZoneEdited",
    "LoadFailed",
    "TransferSucceeded",
    "TransferFailed",
    "ZoneExpired",
    "ZoneUnexpired",
    "RefreshRecovered",
    "NotifyFailed",
    "ReloadFailed",
    "ZoneAdded",
    "ZoneRemoved",
]


@attrs.frozen
class ZoneLoaded:
    """A primary zone's file (or a stored copy) became the served version."""

    zone: str
    when: float
    serial: int
    previous: int | None
    records: int
    source: str  # the zone file, or "store"
    seconds: float = 0.0


@attrs.frozen
class ZoneEdited:
    """A dynamic zone's records were changed (through the API, or by DNS UPDATE)."""

    zone: str
    when: float
    serial: int
    previous: int
    changes: int
    source: str  # who asked: the API token's name, or the UPDATE's key and address
    seconds: float = 0.0


@attrs.frozen
class LoadFailed:
    """A primary zone's file could not be served; the zone keeps what it served."""

    zone: str
    when: float
    source: str
    reason: str
    serving: int | None = None  # the serial still served, if any


@attrs.frozen
class TransferSucceeded:
    """A secondary zone applied a transfer from a master."""

    zone: str
    when: float
    kind: str  # AXFR, IXFR, or "IXFR (AXFR-style)"
    serial_from: int | None
    serial_to: int
    master: str
    records: int
    seconds: float
    messages: int = 0
    size: int = 0  # octets


@attrs.frozen
class TransferFailed:
    """A refresh of a secondary zone failed with every master."""

    zone: str
    when: float
    master: str | None
    reason: str
    failures: int = 1  # since the zone was last loaded, this one included
    retry_at: float | None = None


@attrs.frozen
class ZoneExpired:
    """A secondary zone passed its expire time: it answers SERVFAIL."""

    zone: str
    when: float
    serial: int | None
    last_success: float | None = None


@attrs.frozen
class ZoneUnexpired:
    """An expired secondary zone was confirmed or transferred again: it answers again."""

    zone: str
    when: float
    serial: int
    master: str | None = None  # who confirmed the serial, when no transfer was needed


@attrs.frozen
class RefreshRecovered:
    """
    A secondary zone's refresh succeeded after failed ones, and no
    transfer was needed: a master confirmed the serial served.  (Had one
    been needed, L{TransferSucceeded} says so; an expired zone,
    L{ZoneUnexpired}.)
    """

    zone: str
    when: float
    serial: int
    master: str


@attrs.frozen
class NotifyFailed:
    """A downstream refused a NOTIFY, or never answered it."""

    zone: str
    when: float
    downstream: str
    serial: int
    reason: str


@attrs.frozen
class ReloadFailed:
    """The config file could not be taken on reload; the old one stays in force."""

    when: float
    file: str
    reason: str
    zone: str | None = None


@attrs.frozen
class ZoneAdded:
    """A zone was added to the map (at start, on reload, or by a surface)."""

    zone: str
    when: float
    role: str


@attrs.frozen
class ZoneRemoved:
    """A zone left the map; it answers REFUSED from now on."""

    zone: str
    when: float
    role: str


ZoneEvent = Union[
    ZoneLoaded, ZoneEdited, LoadFailed, TransferSucceeded, TransferFailed, ZoneExpired, ZoneUnexpired,
    RefreshRecovered, NotifyFailed, ReloadFailed, ZoneAdded, ZoneRemoved,
]


