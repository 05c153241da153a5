"""secdns.ops.eventlog: each zone event is one log line, worded once."""

from __future__ import annotations

import typing

import pytest
from twisted.logger import LogLevel, capturedLogs, formatEvent

from secdns.core.bus import Bus
from secdns.ops.eventlog import describe, log_event
from secdns.zones import events

WHEN = 1_700_000_000.0

LINES = [
    (events.ZoneLoaded("example.org", WHEN, 2, None, 4, "/etc/secdns/org.zone"), LogLevel.info,
     "zone example.org: loaded serial 2 (4 records)"),
    (events.ZoneLoaded("example.org", WHEN, 3, 2, 4, "/etc/secdns/org.zone"), LogLevel.info,
     "zone example.org: loaded serial 3 (4 records; was 2)"),
    (events.ZoneLoaded("example.com", WHEN, 7, None, 5, "store"), LogLevel.info,
     "zone example.com: serving stored copy serial 7 (5 records)"),
    (events.ZoneEdited("example.org", WHEN, 3, 2, 4, "API token ops"), LogLevel.info,
     "zone example.org: serial 2 -> 3: 4 changes by API token ops"),
    (events.LoadFailed("example.org", WHEN, "org.zone", "zone example.org: org.zone:7: bad TTL"), LogLevel.error,
     "zone example.org: org.zone:7: bad TTL; zone not added"),
    (events.LoadFailed("example.org", WHEN, "org.zone", "zone example.org: org.zone:7: bad TTL", serving=2),
     LogLevel.error, "zone example.org: org.zone:7: bad TTL; still serving serial 2"),
    (events.TransferSucceeded("example.com", WHEN, "IXFR", 7, 8, "192.0.2.1#53", 3, 0.25, messages=1, size=180),
     LogLevel.info, "zone example.com: IXFR from 192.0.2.1#53: serial 7 -> 8, 3 records in 1 messages (180 octets), 0.25 s"),
    # A whole zone: its SOA comes twice, so a zone of 5 records is 6 in the AXFR (as secdns_zone_records counts)
    (events.TransferSucceeded("example.com", WHEN, "AXFR", None, 7, "192.0.2.1#53", 6, 0.25, messages=2, size=216),
     LogLevel.info, "zone example.com: AXFR from 192.0.2.1#53: serial none -> 7 (5 records), 2 messages (216 octets), 0.25 s"),
    (events.TransferSucceeded("example.com", WHEN, "AXFR (asked IXFR)", 7, 9, "192.0.2.1#53", 6, 0.25, messages=2, size=216),
     LogLevel.info,
     "zone example.com: AXFR (asked IXFR) from 192.0.2.1#53: serial 7 -> 9 (5 records), 2 messages (216 octets), 0.25 s"),
    (events.TransferSucceeded("example.com", WHEN, "IXFR", None, 8, "192.0.2.1#53", 4, 0.25, messages=1, size=180),
     LogLevel.info, "zone example.com: IXFR from 192.0.2.1#53: serial none -> 8, 4 records in 1 messages (180 octets), 0.25 s"),
    (events.TransferFailed("example.com", WHEN, "192.0.2.1#53", "timed out", failures=2, retry_at=WHEN + 600),
     LogLevel.error, "zone example.com: refresh failed (2 so far): timed out; retrying in 600 s"),
    (events.ZoneExpired("example.com", WHEN, 7, last_success=WHEN - 86400), LogLevel.error,
     "zone example.com: expired: no refresh has succeeded since 2023-11-13 22:13:20 UTC; answering SERVFAIL"),
    (events.ZoneExpired("example.com", WHEN, None), LogLevel.error,
     "zone example.com: expired: no refresh has succeeded since never; answering SERVFAIL"),
    (events.ZoneUnexpired("example.com", WHEN, 7, master="192.0.2.1#53"), LogLevel.info,
     "zone example.com: serial 7 confirmed by 192.0.2.1#53; serving again"),
    (events.ZoneUnexpired("example.com", WHEN, 8), LogLevel.info,
     "zone example.com: serial 8 transferred; serving again"),
    (events.RefreshRecovered("example.com", WHEN, 7, "192.0.2.1#53"), LogLevel.info,
     "zone example.com: serial 7 confirmed by 192.0.2.1#53; refreshes succeed again"),
    (events.NotifyFailed("example.org", WHEN, "192.0.2.9#53", 3, "REFUSED"), LogLevel.error,
     "NOTIFY of example.org serial 3 to 192.0.2.9#53 failed: REFUSED"),
    (events.ReloadFailed(WHEN, "secdns.toml", "secdns.toml: zone[0].name: missing"), LogLevel.error,
     "reload failed, leaving the old configuration in place: secdns.toml: zone[0].name: missing"),
    (events.ZoneAdded("example.net", WHEN, "primary"), LogLevel.info, "zone example.net: added (primary)"),
    (events.ZoneRemoved("example.net", WHEN, "primary"), LogLevel.info, "zone example.net: removed"),
    (events.ZoneRemoved("example.com", WHEN, "secondary"), LogLevel.info,
     "zone example.com: removed (no longer a secondary zone; its stored copy is forgotten)"),
]


@pytest.mark.parametrize("event, level, line", LINES, ids=[f"{type(e).__name__}-{i}" for i, (e, _, _) in enumerate(LINES)])
def test_line(event, level, line):
    assert describe(event) == (level, line)


def test_every_kind_of_event_has_a_line():
    """A new event type without words here fails this test, not the server."""
    described = {type(event) for event, _, _ in LINES}
    assert described == set(typing.get_args(events.ZoneEvent))


def test_subscribed_to_the_bus_each_event_is_logged_with_its_zone():
    bus = Bus()
    bus.subscribe(log_event)
    event = events.ZoneRemoved("example.net", WHEN, "primary")
    with capturedLogs() as logged:
        bus.publish(event)
    (entry,) = logged
    assert formatEvent(entry) == "zone example.net: removed"
    assert entry["log_level"] is LogLevel.info
    assert entry["zone"] == "example.net" and entry["zone_event"] is event


@pytest.mark.parametrize("event, level, line", LINES, ids=[f"{type(e).__name__}-{i}" for i, (e, _, _) in enumerate(LINES)])
def test_no_python_none_in_a_line(event, level, line):
    """An absent serial or master is written "none", never Python's None."""
    assert "None" not in describe(event)[1]
