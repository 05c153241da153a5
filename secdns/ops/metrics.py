# -*- test-case-name: tests.unit.test_metrics -*-
"""
The Prometheus metrics, read from the zones when scraped.

Nothing on the query path updates a metric object: a collector walks the
current zone map at scrape time, so the figures can never drift from what
is served.
"""

from __future__ import annotations

import platform
import time
from typing import Callable, Iterable, Iterator, Mapping

from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest

from secdns.zones.zone import ZoneState
from secdns.zones.zonemap import ZoneDB

__all__ = [
    "BuildInfoCollector", "ZoneCollector", "TransferCollector", "UpdateCollector", "NotificationCollector", "AlarmCollector", "registry_for",
    "exposition",
]


class ZoneCollector:
    """Per-zone gauges: serial, state and record count."""

    def __init__(self, zonedb: Callable[[], ZoneDB]) -> None:
        self._zonedb = zonedb

    def collect(self) -> Iterator[Metric]:
        serial = GaugeMetricFamily("secdns_zone_serial", "SOA serial of the served version.", labels=["zone"])
        state = GaugeMetricFamily(
            "secdns_zone_state",
            "1 for the state the zone is in (unloaded, loaded, expired).",
            labels=["zone", "state"],
        )
        records = GaugeMetricFamily("secdns_zone_records", "Records in the served version.", labels=["zone"])
        for zone in self._zonedb():
            current = zone.state
            for candidate in ZoneState:
                state.add_metric([zone.label, candidate.value], 1.0 if candidate is current else 0.0)
            if zone.data is not None:
                serial.add_metric([zone.label], zone.data.serial)
                records.add_metric([zone.label], zone.data.record_count)
        yield serial
        yield state
        yield records


class TransferCollector:
    """
    Per secondary zone: the seeds' three transfer metrics (ZoneTransferSuccessCount,
    ZoneTransferFailureCount, ZoneExpirationInHours), and what an operator
    looks at when one of them moves: refresh state, last success, last
    failure and its reason, and which masters answer.

    @param statuses: returns a L{secdns.zones.status.ZoneStatus} per zone
        (L{secdns.core.registry.ZoneRegistry.zones}); primary zones are passed over.
    @param now: the wall clock the expiry is counted from.
    """

    def __init__(self, statuses: Callable[[], Iterable], now: Callable[[], float] = time.time) -> None:
        self._statuses = statuses
        self._now = now

    def collect(self) -> Iterator[Metric]:
        success = CounterMetricFamily(
            "secdns_zone_transfer_success_total", "Inbound transfers (AXFR or IXFR) applied.", labels=["zone"]
        )
        failure = CounterMetricFamily(
            "secdns_zone_transfer_failure_total",
            "Refresh attempts that failed (every master tried): timeout, refused, TSIG, bad data.",
            labels=["zone"],
        )
        expiration = GaugeMetricFamily(
            "secdns_zone_expiration_hours",
            "Hours until the zone expires if no refresh succeeds (0: expired, or never transferred).",
            labels=["zone"],
        )
        last_success = GaugeMetricFamily(
            "secdns_zone_transfer_last_success_timestamp_seconds",
            "When a refresh last succeeded (Unix time).",
            labels=["zone"],
        )
        last_failure = GaugeMetricFamily(
            "secdns_zone_transfer_last_failure_timestamp_seconds",
            "When a refresh last failed (Unix time).",
            labels=["zone"],
        )
        reason = GaugeMetricFamily(
            "secdns_zone_transfer_last_failure_info",
            "1, labelled with the reason of the last failed refresh.",
            labels=["zone", "reason"],
        )
        state = GaugeMetricFamily(
            "secdns_zone_refresh_state",
            "1 for the state the secondary zone is in (unloaded, loaded, refreshing, expired).",
            labels=["zone", "state"],
        )
        master_up = GaugeMetricFamily(
            "secdns_zone_master_up",
            "1 when the master answered the last request made to it, 0 when it failed.",
            labels=["zone", "master"],
        )
        refresh_interval = GaugeMetricFamily(
            "secdns_zone_refresh_interval_seconds",
            "The SOA refresh interval in effect (clamped by [timers]).",
            labels=["zone"],
        )
        retry_interval = GaugeMetricFamily(
            "secdns_zone_retry_interval_seconds",
            "The SOA retry interval in effect (clamped by [timers]): a failed refresh is tried again after it.",
            labels=["zone"],
        )
        now = self._now()
        for status in self._statuses():
            if status.role != "secondary":
                continue
            zone = status.name
            success.add_metric([zone], status.transfers_in)
            failure.add_metric([zone], status.transfer_failures)
            # A zone never transferred serves nothing: as good as expired.
            left = 0.0 if status.expire_at is None else max(0.0, status.expire_at - now)
            expiration.add_metric([zone], left / 3600)
            if status.last_refresh is not None:
                last_success.add_metric([zone], status.last_refresh)
            if status.last_failure is not None:
                last_failure.add_metric([zone], status.last_failure)
                reason.add_metric([zone, (status.failure_reason or "")[:200]], 1.0)
            for candidate in ("unloaded", "loaded", "refreshing", "expired"):
                state.add_metric([zone, candidate], 1.0 if candidate == status.state else 0.0)
            for master in status.masters:
                if master.reachable is not None:
                    master_up.add_metric([zone, str(master)], 1.0 if master.reachable else 0.0)
            if getattr(status, "refresh_interval", None) is not None:
                refresh_interval.add_metric([zone], status.refresh_interval)
            if getattr(status, "retry_interval", None) is not None:
                retry_interval.add_metric([zone], status.retry_interval)
        yield from (success, failure, expiration, last_success, last_failure, reason, state, master_up, refresh_interval, retry_interval)


class EgressCollector:
    """Transfers served to downstreams and NOTIFYs sent to them, per primary zone."""

    def __init__(self, transfers, notifier) -> None:
        self._transfers = transfers
        self._notifier = notifier

    def collect(self) -> Iterator[Metric]:
        served = CounterMetricFamily(
            "secdns_zone_transfers_out", "Transfers (AXFR, IXFR) sent in full to downstreams.", labels=["zone"]
        )
        for zone, count in sorted(self._transfers.completed.items()):
            served.add_metric([zone], count)
        active = GaugeMetricFamily("secdns_transfers_out_active", "Transfers being sent now.")
        active.add_metric([], self._transfers.active)
        answered = CounterMetricFamily("secdns_notify_sent", "NOTIFYs answered by downstreams.", labels=["zone"])
        for zone, count in sorted(self._notifier.sent.items()):
            answered.add_metric([zone], count)
        failed = CounterMetricFamily(
            "secdns_notify_failed", "NOTIFYs refused by, or given up on, downstreams.", labels=["zone"]
        )
        for zone, count in sorted(self._notifier.failed.items()):
            failed.add_metric([zone], count)
        yield from (served, active, answered, failed)


class ServerCollector:
    """
    What the server as a whole lost: UDP responses the socket would not
    take, TCP connections closed because their client never read, and log
    lines held back (L{secdns.server.loglimit}).
    """

    def __init__(
        self,
        lost: Callable[[], int],
        stalled: Callable[[], int] = lambda: 0,
        suppressed: Callable[[], Mapping[str, int]] = dict,
        limited: Callable[[], Mapping[str, int]] = dict,
        rate_limited: Callable[[], Mapping[str, int]] = dict,
        cookies: Callable[[], Mapping[str, int]] = dict,
    ) -> None:
        self._rate_limited = rate_limited
        self._cookies = cookies
        self._lost = lost
        self._stalled = stalled
        self._suppressed = suppressed
        self._limited = limited

    def collect(self) -> Iterator[Metric]:
        lost = CounterMetricFamily(
            "secdns_udp_responses_lost", "UDP responses dropped because the socket's buffer was full."
        )
        lost.add_metric([], self._lost())
        yield lost
        stalled = CounterMetricFamily(
            "secdns_tcp_connections_stalled",
            "TCP connections closed at the idle timeout with answers their client never read "
            "(no more requests are read from such a connection meanwhile).",
        )
        stalled.add_metric([], self._stalled())
        yield stalled
        suppressed = CounterMetricFamily(
            "secdns_log_lines_suppressed",
            "Log lines about single requests held back (past 5 a minute of one kind from one network), by kind.",
            labels=["kind"],
        )
        for kind, count in sorted(self._suppressed().items()):
            suppressed.add_metric([kind], count)
        yield suppressed
        limited = CounterMetricFamily(
            "secdns_tcp_connections_limited",
            "TCP connections closed by a limit: limit=address, one past tcp_clients_per_address from one "
            "address; limit=total, the one idle the longest, for a new one past tcp_clients.",
            labels=["limit"],
        )
        counts = self._limited()
        for limit in ("address", "total"):
            limited.add_metric([limit], counts.get(limit, 0))
        yield limited
        rated = CounterMetricFamily(
            "secdns_rate_limited_responses",
            "UDP responses past [rate_limit]: action=dropped; slipped (sent empty and truncated); "
            "badcookie (BADCOOKIE and a fresh server cookie sent instead, to a query with a client cookie); "
            "cookie (sent all the same: the query had a valid server cookie).",
            labels=["action"],
        )
        counts = self._rate_limited()
        for action, key in (("dropped", "drop"), ("slipped", "slip"), ("badcookie", "badcookie"), ("cookie", "cookie")):
            rated.add_metric([action], counts.get(key, 0))
        yield rated
        cookies = CounterMetricFamily(
            "secdns_cookie_queries",
            "Queries with a DNS COOKIE option, by what it held: client (a client cookie only), "
            "valid (a server cookie of ours), invalid (a server cookie not ours, or too old).",
            labels=["cookie"],
        )
        counts = self._cookies()
        for state in ("client", "valid", "invalid"):
            cookies.add_metric([state], counts.get(state, 0))
        yield cookies


class UpdateCollector:
    """DNS UPDATE requests (RFC 2136) answered, by zone and rcode."""

    def __init__(self, counts: Callable[[], Mapping[tuple[str, str], int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        updates = CounterMetricFamily(
            "secdns_updates",
            "DNS UPDATE requests answered, by rcode (NOERROR: applied, or nothing to change); "
            "zone is empty for a zone not served here.",
            labels=["zone", "result"],
        )
        for (zone, result), count in sorted(self._counts().items()):
            updates.add_metric([zone, result], count)
        yield updates


class NotificationCollector:
    """
    Alarm notifications by topic and protocol (L{secdns.ops.alarms.deliver}):
    delivered, given up, folded into a minute's summary, and waiting now.

    @param counts: returns C{{(topic, protocol): counts}}, each with
        C{sent}, C{failed}, C{folded} and C{queued}.
    """

    def __init__(self, counts: Callable[[], Mapping[tuple[str, str], object]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        labels = ["topic", "protocol"]
        sent = CounterMetricFamily(
            "secdns_notifications_sent", "Notifications delivered (the receiver took them).", labels=labels
        )
        failed = CounterMetricFamily(
            "secdns_notifications_failed",
            "Notifications given up: refused, or the receiver stayed down past the retries.",
            labels=labels,
        )
        folded = CounterMetricFamily(
            "secdns_notifications_folded",
            "Notifications past 60 a minute to one subscription: folded into a summary, kept in the stream file.",
            labels=labels,
        )
        queued = GaugeMetricFamily("secdns_notifications_queued", "Notifications waiting to be delivered.", labels=labels)
        for (topic, protocol), counts in sorted(self._counts().items()):
            sent.add_metric([topic, protocol], counts.sent)
            failed.add_metric([topic, protocol], counts.failed)
            folded.add_metric([topic, protocol], counts.folded)
            queued.add_metric([topic, protocol], counts.queued)
        yield from (sent, failed, folded, queued)


class AlarmCollector:
    """
    The alarm engine's state (L{secdns.ops.alarms.engine}): which alarms
    fire for which zones.

    @param states: returns C{(alarm, zone, state)} for every alarm not OK
        for a zone (C{FIRING} or C{PENDING}), and C{alarms()} the names of
        the enabled alarms.
    """

    def __init__(self, states: Callable[[], Iterable[tuple[str, str, str]]], alarms: Callable[[], Iterable[str]]) -> None:
        self._states = states
        self._alarms = alarms

    def collect(self) -> Iterator[Metric]:
        firing = GaugeMetricFamily(
            "secdns_alarm_firing",
            "1 while the alarm fires for the zone; 0 while its condition holds but not yet for its pending time.",
            labels=["alarm", "zone"],
        )
        zones = GaugeMetricFamily(
            "secdns_alarm_firing_zones", "Zones the alarm fires for (0: none), per enabled alarm.", labels=["alarm"]
        )
        counts = {name: 0 for name in self._alarms()}
        for alarm, zone, state in sorted(self._states()):
            firing.add_metric([alarm, zone], 1.0 if state == "FIRING" else 0.0)
            if state == "FIRING":
                counts[alarm] = counts.get(alarm, 0) + 1
        for alarm, count in sorted(counts.items()):
            zones.add_metric([alarm], count)
        yield firing
        yield zones


class BuildInfoCollector:
    """
    C{secdns_build_info{version, python, twisted} 1}: what is running, to
    join on (C{* on(instance) group_left(version) secdns_build_info}) and
    to see an upgrade land.
    """

    def __init__(self, version: str | None = None, python: str | None = None, twisted: str | None = None) -> None:
        if version is None:
            from secdns import __version__ as version
        if python is None:
            python = platform.python_version()
        if twisted is None:
            from twisted import __version__ as twisted
        self._labels = [version, python, twisted]

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "secdns_build_info", "1, labelled with the versions of secdns, Python and Twisted running.",
            labels=["version", "python", "twisted"],
        )
        info.add_metric(self._labels, 1)
        yield info


def registry_for(*collectors) -> CollectorRegistry:
    """A registry of our own (not the process-global one) holding C{collectors}."""
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The Prometheus text format of everything in C{registry}."""
    return generate_latest(registry)
