# -*- test-case-name: tests.integration.test_api -*-
"""
What the cloud API has and secdns runs differently: C{/zoneTransferServers}
(ListZoneTransferServers: the addresses a primary's ACL must allow), and
secdns's own C{/zones/{zone}/status}, C{/zones/{zone}/actions/{action}}
(refresh, retransfer, notify: 202, the work goes on after the answer) and
C{/events} (the core's recent events).
"""

from __future__ import annotations

import datetime

from secdns.ops.api import shapes
from secdns.ops.api.context import Api
from secdns.ops.api.errors import bad
from secdns.ops.api.routing import Call, Reply, Route, etag

__all__ = ["routes", "ACTIONS", "parse_since"]

ACTIONS = ("refresh", "retransfer", "notify")
MAX_EVENTS = 10_000


def parse_since(text: str) -> float:
    """C{since}: seconds since the epoch, or an RFC 3339 time."""
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if value != value or value in (float("inf"), float("-inf")):
            raise bad("since must be a time (RFC 3339) or seconds since the epoch")
        return value
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad("since must be a time (RFC 3339) or seconds since the epoch") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


class Operations:
    def __init__(self, api: Api) -> None:
        self.api = api

    def servers(self, call: Call) -> Reply:
        servers = shapes.transfer_servers(self.api.core().config)
        return Reply(200, servers, etag=etag(servers))

    def status(self, call: Call) -> Reply:
        zone = self.api.zone(call.params["zone"])
        body = shapes.zone_status(self.api.core().status(zone.name))
        return Reply(200, body, etag=etag(body))

    def action(self, call: Call) -> Reply:
        action = call.params["action"]
        if action not in ACTIONS:
            raise bad(f"unknown action {action[:40]!r}: one of {', '.join(ACTIONS)}")
        registry = self.api.core()
        zone = self.api.zone(call.params["zone"])
        label = shapes.label(zone.name)
        body = {"zone": label, "action": action}
        if action == "notify":
            body["downstreams"] = registry.notify(zone.name)
        else:
            getattr(registry, action)(zone.name)
        Api.changed(call, f"asked zone {label} to {action}")
        return Reply(202, body)

    def events(self, call: Call) -> Reply:
        zone = call.arg("zone")
        since = call.arg("since")
        limit_text = call.arg("limit")
        if zone is not None:
            zone = shapes.label(shapes.parse_name(zone, "zone"))
        limit = 100
        if limit_text is not None:
            if not limit_text.isascii() or not limit_text.isdigit() or len(limit_text) > 6 or not 1 <= int(limit_text) <= MAX_EVENTS:
                raise bad(f"limit must be an integer from 1 to {MAX_EVENTS}")
            limit = int(limit_text)
        chosen = self.api.core().history.recent(zone, None if since is None else parse_since(since), limit)
        body = [shapes.event(e) for e in chosen]
        return Reply(200, body, etag=etag(body))


def routes(api: Api) -> list[Route]:
    operations = Operations(api)
    return [
        Route("GET", ("zoneTransferServers",), operations.servers, "ListZoneTransferServers"),
        Route("GET", ("zones", "{zone}", "status"), operations.status, "GetZoneStatus"),
        Route("POST", ("zones", "{zone}", "actions", "{action}"), operations.action, "ZoneAction"),
        Route("GET", ("events",), operations.events, "ListEvents"),
    ]
