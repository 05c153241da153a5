"""secdns.ops.logfilter: Twisted's chatter and debug lines hidden at the default level, nothing hidden at debug."""

from __future__ import annotations

import pytest
from twisted.logger import Logger, LogLevel, PredicateResult, capturedLogs
from twisted.python import log as legacy

from secdns.ops import logfilter


class Factory:
    """Stands for a noisy Twisted factory: its lines come from a Logger bound to it."""

    _log = Logger()


def logged(emit) -> list[dict]:
    with capturedLogs() as events:
        emit()
    return list(events)


def shown(events: list[dict], level: str = "info") -> list[dict]:
    wanted = logfilter.predicate(level)
    return [e for e in events if wanted(e) is not PredicateResult.no]


# What Twisted itself logs when secdns starts and stops (legacy log.msg and new-style), word for word.
TWISTED_NOISE = [
    lambda: legacy.msg("DNSDatagramProtocol starting on 5300"),
    lambda: legacy.msg("DNSStreamFactory starting on 5300"),
    lambda: legacy.msg("QuietSite starting on 8053"),
    lambda: legacy.msg("_UDPMux starting on 41234"),
    lambda: legacy.msg("(TCP Port 5300 Closed)"),
    lambda: legacy.msg("(UDP Port 5300 Closed)"),
    lambda: legacy.msg("(Port '/run/x.sock' Closed)"),
    lambda: Factory()._log.info("Starting factory {factory!r}", factory=object()),
    lambda: Factory()._log.info("Stopping factory {factory!r}", factory=object()),
    lambda: legacy.msg("Starting factory <twisted.web.client._HTTP11ClientFactory object at 0x7f>"),
    lambda: Logger(namespace="twisted.scripts._twistd_unix.UnixAppLogger").info(
        "reactor class: {reactor}.", reactor="twisted.internet.epollreactor.EPollReactor"
    ),
    lambda: Logger(namespace="twisted.internet.base").info("Main loop terminated."),
]

# What an operator reads: kept.
OPERATOR_LINES = [
    lambda: Logger(namespace="secdns.zones").info("{text}", text="zone example.org: loaded serial 3 (19 records)"),
    lambda: Logger(namespace="secdns.service").info("secdns serving {count} zones on {listen}", count=1, listen="x"),
    lambda: Logger(namespace="twisted.scripts._twistd_unix.UnixAppLogger").info(
        "twistd {version} ({exe} {pyVersion}) starting up.", version="26", exe="python", pyVersion="3.11"
    ),
    lambda: Logger(namespace="twisted.internet.base").info("Received SIGTERM, shutting down."),
    lambda: Logger(namespace="twisted.scripts._twistd_unix.UnixAppLogger").info("Server Shut Down."),
    lambda: legacy.msg(format="Unable to write to plugin cache %(path)s: error number %(errno)d", path="/x", errno=13),
    lambda: Logger(namespace="secdns.zones").error("{text}", text="zone example.com: expired"),
    lambda: Logger(namespace="secdns.zones").warn("{text}", text="AXFR of example.org refused to 192.0.2.7"),
]


@pytest.mark.parametrize("emit", TWISTED_NOISE)
def test_twisted_noise_is_hidden_at_info(emit):
    events = logged(emit)
    assert events and all(logfilter.is_noise(e) for e in events)
    assert shown(events) == []


@pytest.mark.parametrize("emit", TWISTED_NOISE)
def test_debug_hides_nothing(emit):
    events = logged(emit)
    assert shown(events, "debug") == events


@pytest.mark.parametrize("emit", OPERATOR_LINES)
def test_operator_lines_are_kept(emit):
    events = logged(emit)
    assert shown(events) == events


def test_debug_lines_only_at_debug():
    events = logged(lambda: Logger(namespace="secdns.transfer").debug("zone {zone}: serial 3 is up to date", zone="x"))
    assert shown(events) == []
    assert shown(events, "debug") == events


def test_a_level_hides_what_is_below_it():
    log = Logger(namespace="secdns.test")
    events = logged(lambda: (log.info("i"), log.warn("w"), log.error("e"), log.critical("c")))
    assert [e["log_format"] for e in shown(events, "warn")] == ["w", "e", "c"]
    assert [e["log_format"] for e in shown(events, "error")] == ["e", "c"]


def test_noise_words_in_an_error_are_kept():
    """An error is never noise, whatever its words."""
    events = logged(lambda: Logger(namespace="secdns.x").error("(TCP Port 53 Closed)"))
    assert not logfilter.is_noise(events[0])
    legacy_error = logged(lambda: legacy.err(ValueError("x"), "DNSStreamFactory starting on 53"))
    assert shown(legacy_error) == legacy_error


def test_secdns_lines_that_look_like_noise_are_not_matched_inside():
    """The rules match from the start of the wording: a zone line mentioning a port is kept."""
    events = logged(lambda: Logger(namespace="secdns.zones").info("{text}", text="zone a: starting on 53 (x)"))
    # The format is "{text}": new-style events are matched on their format, which is secdns's own.
    assert shown(events) == events


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="expected one of debug, info, warn, error"):
        logfilter.predicate("verbose")


def test_filtered_observer_passes_what_the_predicate_keeps():
    seen = []
    observer = logfilter.filtered(seen.append, "info")
    for event in logged(lambda: (legacy.msg("(UDP Port 5300 Closed)"), Logger(namespace="s").info("kept"))):
        observer(event)
    assert [e.get("log_format") for e in seen] == ["kept"]
    assert LogLevel.info is seen[0]["log_level"]


def test_emfile_lines_rate_limited_per_network():
    """Twisted's line per connection when descriptors run out: 5 a minute per kind and network, the rest counted."""
    from twisted.internet.address import IPv4Address
    from twisted.internet.task import Clock

    from secdns.ops.logfilter import is_flood
    from secdns.server.loglimit import LogLimiter

    clock = Clock()
    limiter = LogLimiter(clock.seconds)
    closed = {"log_format": "EMFILE recovery: Closed socket from {address}", "log_level": LogLevel.info}
    shown = [
        not is_flood({**closed, "address": IPv4Address("TCP", f"192.0.2.{i}", 4000 + i)}, limiter) for i in range(50)
    ]
    assert shown == [True] * 5 + [False] * 45
    assert not is_flood({**closed, "address": IPv4Address("TCP", "198.51.100.1", 4000)}, limiter)
    accept = {"log_format": "Could not accept new connection ({acceptError})", "acceptError": "EMFILE"}
    assert [is_flood(accept, limiter) for _ in range(7)] == [False] * 5 + [True] * 2
    assert limiter.suppressed == {"EMFILE": 45, "accept failed": 2}
    assert not is_flood({"log_format": "secdns answering on {listen}"}, limiter)
