# -*- test-case-name: tests.unit.test_eventlog -*-
"""
The log, as one subscriber of the zone bus (L{secdns.core.bus}).

Each zone event becomes one log line, worded here and nowhere else, so an
operator's grep patterns and the alarms of later issues see the same facts.
Every line carries the zone as the C{zone} field, for filtering observers.
"""

from __future__ import annotations

import time

from twisted.logger import Logger, LogLevel

from secdns.zones.events import (
    LoadFailed,
    NotifyFailed,
    RefreshRecovered,
    ReloadFailed,
    TransferFailed,
    TransferSucceeded,
    ZoneAdded,
    ZoneEdited,
    ZoneEvent,
    ZoneExpired,
    ZoneLoaded,
    ZoneRemoved,
    ZoneUnexpired,
)

__all__ = ["describe", "log_event"]

log = Logger(namespace="secdns.zones")


def _moment(when: float | None) -> str:
    if when is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def _serial(serial: int | None) -> str:
    return "none" if serial is None else str(serial)


def describe(event: ZoneEvent) -> tuple[LogLevel, str]:
    """The level and the words of C{event}'s log line."""
    match event:
        case ZoneLoaded(source="store"):
            return LogLevel.info, f"zone {event.zone}: serving stored copy serial {event.serial} ({event.records} records)"
        case ZoneLoaded(previous=None):
            return LogLevel.info, f"zone {event.zone}: loaded serial {event.serial} ({event.records} records)"
        case ZoneLoaded():
            return LogLevel.info, f"zone {event.zone}: loaded serial {event.serial} ({event.records} records; was {event.previous})"
        case ZoneEdited():
            return LogLevel.info, (
                f"zone {event.zone}: serial {event.previous} -> {event.serial}: "
                f"{event.changes} changes by {event.source}"
            )
        case LoadFailed(serving=None):
            return LogLevel.error, f"{event.reason}; zone not added"
        case LoadFailed():
            return LogLevel.error, f"{event.reason}; still serving serial {event.serving}"
        case TransferSucceeded() if event.kind.startswith("AXFR"):
            # The whole zone came, its SOA twice (first and last): the zone holds one record fewer.
            return LogLevel.info, (
                f"zone {event.zone}: {event.kind} from {event.master}: serial {_serial(event.serial_from)} -> "
                f"{event.serial_to} ({max(0, event.records - 1)} records), {event.messages} messages "
                f"({event.size} octets), {event.seconds:.2f} s"
            )
        case TransferSucceeded():
            return LogLevel.info, (
                f"zone {event.zone}: {event.kind} from {event.master}: serial {_serial(event.serial_from)} -> "
                f"{event.serial_to}, {event.records} records in {event.messages} messages "
                f"({event.size} octets), {event.seconds:.2f} s"
            )
        case TransferFailed():
            retry = "" if event.retry_at is None else f"; retrying in {max(0.0, event.retry_at - event.when):.0f} s"
            return LogLevel.error, f"zone {event.zone}: refresh failed ({event.failures} so far): {event.reason}{retry}"
        case ZoneExpired():
            return LogLevel.error, (
                f"zone {event.zone}: expired: no refresh has succeeded since "
                f"{_moment(event.last_success)}; answering SERVFAIL"
            )
        case ZoneUnexpired(master=None):
            return LogLevel.info, f"zone {event.zone}: serial {event.serial} transferred; serving again"
        case ZoneUnexpired():
            return LogLevel.info, f"zone {event.zone}: serial {event.serial} confirmed by {event.master}; serving again"
        case RefreshRecovered():
            return LogLevel.info, f"zone {event.zone}: serial {event.serial} confirmed by {event.master}; refreshes succeed again"
        case NotifyFailed():
            return LogLevel.error, (
                f"NOTIFY of {event.zone} serial {event.serial} to {event.downstream} failed: {event.reason}"
            )
        case ReloadFailed():
            return LogLevel.error, f"reload failed, leaving the old configuration in place: {event.reason}"
        case ZoneAdded():
            return LogLevel.info, f"zone {event.zone}: added ({event.role})"
        case ZoneRemoved(role="secondary"):
            return LogLevel.info, f"zone {event.zone}: removed (no longer a secondary zone; its stored copy is forgotten)"
        case ZoneRemoved():
            return LogLevel.info, f"zone {event.zone}: removed"
    raise TypeError(f"not a zone event: {event!r}")


def log_event(event: ZoneEvent) -> None:
    """Log C{event}: subscribe this to the zone bus."""
    level, text = describe(event)
    log.emit(level, "{text}", text=text, zone=event.zone, zone_event=event)
