# -*- test-case-name: tests.unit.test_api_statuses -*-
"""
secdns's own overviews for the web console: C{/zoneStatuses} (every
zone's health in one answer, sorted, filtered and paged as ListZones is)
and C{/zones/{zone}/metricHistory} (a zone's last minutes of transfer
counts and hours to expiry, from the alarm engine's in-memory history).
"""

from __future__ import annotations

from typing import Iterable

from secdns.config import PRIMARY
from secdns.ops.api import shapes
from secdns.ops.api.context import Api
from secdns.ops.api.errors import bad
from secdns.ops.api.routing import Call, Reply, Route, etag, one_of
from secdns.ops.api.zones import name_filter, sorted_page
from secdns.zones.events import TransferSucceeded, ZoneEvent, ZoneLoaded
from secdns.zones.status import HEALTHS, ZoneStatus

__all__ = ["routes", "last_versions", "SORT_KEYS", "MAX_MINUTES"]

MAX_MINUTES = 1440


def _nulls_last(field: str):
    return lambda row: (row[field] is None, row[field] if row[field] is not None else 0, row["name"].lower())


SORT_KEYS = {
    "name": lambda row: row["name"].lower(),
    "zoneType": lambda row: (row["zoneType"], row["name"].lower()),
    "health": lambda row: (HEALTHS.index(row["health"]), row["name"].lower()),
    "serial": _nulls_last("serial"),
    "records": _nulls_last("records"),
    "lastTransfer": _nulls_last("lastTransfer"),
    "expiresInHours": _nulls_last("expiresInHours"),
}


def last_versions(events: Iterable[ZoneEvent]) -> dict[tuple[str, type], float]:
    """When each zone (lowercase) last applied a transfer, or loaded, from the core's recent events."""
    found: dict[tuple[str, type], float] = {}
    for event in events:
        if isinstance(event, (TransferSucceeded, ZoneLoaded)) and event.zone:
            key = (event.zone.lower(), type(event))
            found[key] = max(found.get(key, event.when), event.when)
    return found


def _last_version(status: ZoneStatus, versions: dict[tuple[str, type], float]) -> float | None:
    if status.role == PRIMARY:
        loaded = versions.get((status.name.lower(), ZoneLoaded))
        if loaded is None and status.last_load is not None and status.last_load.ok:
            loaded = status.last_load.when
        return loaded
    return versions.get((status.name.lower(), TransferSucceeded))


class Statuses:
    def __init__(self, api: Api) -> None:
        self.api = api

    def list(self, call: Call) -> Reply:
        registry = self.api.core()
        contains = name_filter(call)
        wanted = one_of(call, "health", HEALTHS)
        kind = one_of(call, "zoneType", shapes.ZONE_TYPES.values())
        versions = last_versions(registry.history.recent())
        now = registry.clock.seconds()  # the clock the core's times are on
        rows = []
        for status in registry.zones():
            if not contains(status.name):
                continue
            row = shapes.zone_health(status, now, _last_version(status, versions))
            if wanted is not None and row["health"] != wanted:
                continue
            if kind is not None and row["zoneType"] != kind:
                continue
            rows.append(row)
        return sorted_page(call, rows, SORT_KEYS)

    def history(self, call: Call) -> Reply:
        zone = self.api.zone(call.params["zone"])
        text = call.arg("minutes")
        minutes = MAX_MINUTES
        if text is not None:
            if not text.isascii() or not text.isdigit() or len(text) > 6 or not 1 <= int(text) <= MAX_MINUTES:
                raise bad(f"minutes must be an integer from 1 to {MAX_MINUTES}", field="minutes")
            minutes = int(text)
        engine = self.api.alarms()
        label = shapes.label(zone.name)
        series = {metric: engine.series(label, metric, minutes) for metric in shapes.HISTORY_METRICS}
        body = shapes.metric_history(label, series)
        return Reply(200, body, etag=etag(body))


def routes(api: Api) -> list[Route]:
    statuses = Statuses(api)
    return [
        Route("GET", ("zoneStatuses",), statuses.list, "ListZoneStatuses"),
        Route("GET", ("zones", "{zone}", "metricHistory"), statuses.history, "GetZoneMetricHistory"),
    ]
