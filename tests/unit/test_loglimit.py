"""secdns.server.loglimit: lines about single requests, rate-limited per kind and network."""

from __future__ import annotations

from twisted.internet.task import Clock

from secdns.server.loglimit import LogLimiter, Summary, network_of


def limiter(**kw) -> tuple[LogLimiter, Clock]:
    clock = Clock()
    return LogLimiter(clock.seconds, **kw), clock


def test_network_of():
    assert network_of("192.0.2.77") == "192.0.2.0/24"
    assert network_of("2001:db8:1:2:3::9") == "2001:db8:1::/56"
    assert network_of("::ffff:192.0.2.9") == "192.0.2.0/24"
    assert network_of("not an address") == "not an address"


def test_burst_then_held_back_then_summarised():
    logs, clock = limiter(burst=3)
    allowed = [logs.allow("FORMERR", f"192.0.2.{i}") for i in range(10)]
    assert allowed == [True] * 3 + [False] * 7
    assert logs.allow("FORMERR", "198.51.100.1")  # another network
    assert logs.allow("NOTIFY refused", "192.0.2.1")  # another kind
    assert logs.summaries() == []  # the minute is not over
    clock.advance(60)
    assert logs.summaries() == [Summary("FORMERR", "192.0.2.0/24", 7, 60.0)]
    assert str(Summary("FORMERR", "192.0.2.0/24", 4213, 60.0)) == (
        "FORMERR: ... and 4,213 more like it from 192.0.2.0/24 in the last minute"
    )
    assert logs.suppressed == {"FORMERR": 7}
    assert logs.allow("FORMERR", "192.0.2.1")  # a new minute
    assert logs.summaries() == []


def test_memory_bounded_under_a_flood_from_everywhere():
    logs, clock = limiter(burst=1, max_networks=100)
    for i in range(10_000):
        logs.allow("FORMERR", f"10.{i // 256 % 256}.{i % 256}.1")
    assert len(logs._windows) <= 101
    clock.advance(60)
    summaries = logs.summaries()
    assert sum(s.count for s in summaries) == logs.suppressed["FORMERR"] > 9_000
    assert not logs._windows
