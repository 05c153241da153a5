# -*- test-case-name: tests.unit.test_metrics -*-
"""
The Prometheus metrics, read from the zones when scraped.

Nothing on the query path updates a metric object: a collector walks the
current zone map at scrape time, so the figures can never drift from what
is served.
"""

from __future__ import annotations

from typing import Callable, Iterator

from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest

from secdns.zone import ZoneState
from secdns.zonedb import ZoneDB

__all__ = ["ZoneCollector", "registry_for", "exposition"]


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


def registry_for(*collectors) -> CollectorRegistry:
    """A registry of our own (not the process-global one) holding C{collectors}."""
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The Prometheus text format of everything in C{registry}."""
    return generate_latest(registry)
