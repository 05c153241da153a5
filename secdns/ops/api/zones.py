# -*- test-case-name: tests.integration.test_api -*-
"""
C{/zones} and C{/zones/{zoneNameOrId}}: ListZones, CreateZone, GetZone,
UpdateZone, DeleteZone, through the zone core's C{zones}, C{status},
C{create_zone}, C{update_zone} and C{delete_zone}.

Zones declared in the config file are listed and read like the others,
with C{declaredIn} naming the file; changing them answers 409 naming it.
A zone's etag covers what a PUT changes (masters, downstreams, update
keys), not its serial, so a transfer between a GET and a PUT does not
make the PUT's C{If-Match} fail.
"""

from __future__ import annotations

from typing import Any, Callable

import attrs
import dns.rdatatype
from twisted.internet import defer

from secdns.config import ZoneConfig
from secdns.ops.api import shapes
from secdns.ops.api.body import parse_json
from secdns.ops.api.context import Api
from secdns.ops.api.errors import ApiError, conflict, with_field
from secdns.ops.api.routing import Call, Reply, Route, check_if_match, etag, one_of, page_headers, paging
from secdns.zones.status import ZoneStatus
from secdns.zones.zone import Zone

__all__ = ["routes", "name_filter", "sorted_page"]


def name_filter(call: Call) -> Callable[[str], bool]:
    """C{nameContains}: whether a zone's name holds the text (any case, a final dot ignored)."""
    contains = call.arg("nameContains")
    if contains is None:
        return lambda name: True
    text = contains.lower().rstrip(".")
    return lambda name: text in name.lower()


def sorted_page(call: Call, rows: list[dict[str, Any]], keys: dict[str, Callable[[dict[str, Any]], Any]], default: str = "name") -> Reply:
    """
    One page of C{rows} (C{limit}, C{page}) in the order C{sortBy} (one of
    C{keys}) and C{sortOrder} ask, with the paging headers and an etag.
    """
    limit, offset = paging(call)
    sort_by = one_of(call, "sortBy", keys, default)
    order = one_of(call, "sortOrder", ("ASC", "DESC"), "ASC")
    rows = sorted(rows, key=keys[sort_by], reverse=order == "DESC")
    following = offset + limit
    chosen = rows[offset:following]
    return Reply(200, chosen, page_headers(following if following < len(rows) else None, len(rows)), etag(chosen))


def _nameservers(zone: Zone) -> list[str]:
    data = zone.data
    if data is None:
        return []
    ns = data.rdataset(zone.name, dns.rdatatype.NS)
    return [] if ns is None else sorted(rdata.target.to_text(omit_final_dot=True) for rdata in ns)


def key_fields(config: ZoneConfig) -> dict[str, str]:
    """Each TSIG key name (lowercase, no final dot) a zone's body names, to the first field that names it."""
    found: dict[str, str] = {}
    named = [(f"externalMasters[{i}].tsigKeyId", p.tsig_key) for i, p in enumerate(config.external_masters)]
    named += [(f"externalDownstreams[{i}].tsigKeyId", p.tsig_key) for i, p in enumerate(config.external_downstreams)]
    named += [(f"allowUpdate[{i}]", name) for i, name in enumerate(config.allow_update)]
    named += [(f"allowTransfer[{i}].tsigKeyId", e.tsig_key) for i, e in enumerate(config.allow_transfer)]
    for field, name in named:
        if name is not None:
            found.setdefault(shapes.label(name).lower(), field)
    return found


def _refused(config: ZoneConfig):
    """An errback: the core's 400s with the field they concern (C{no TSIG key k}: the field naming k)."""
    keys = key_fields(config)

    def field(path: str) -> str | None:
        return path if path.split("[")[0].split(".")[0] in shapes.ZONE_FIELDS else None

    def errback(failure):
        error = with_field(failure.value, field)
        if not isinstance(error, ApiError):
            return failure  # not a refusal: a bug, answered 500 and logged with its traceback
        if error.field is None and error.code == "InvalidParameter" and error.message.startswith("no TSIG key "):
            key = keys.get(error.message[len("no TSIG key "):].strip().rstrip(".").lower())
            if key is not None:
                error = attrs.evolve(error, field=key)
        raise error

    return errback


class Zones:
    def __init__(self, api: Api) -> None:
        self.api = api

    def shape(self, call: Call, status: ZoneStatus, zone: Zone) -> dict[str, Any]:
        servers = shapes.transfer_servers(self.api.core().config)
        return shapes.zone(status, zone.config, call.base, servers, _nameservers(zone))

    def reply(self, call: Call, zone: Zone, status_code: int = 200, headers=()) -> Reply:
        status = self.api.core().status(zone.name)
        return Reply(status_code, self.shape(call, status, zone), headers, etag(shapes.zone_etag_source(zone.config, status)))

    def current_etag(self, zone: Zone) -> str:
        return etag(shapes.zone_etag_source(zone.config, self.api.core().status(zone.name)))

    # -- handlers

    def list(self, call: Call) -> Reply:
        registry = self.api.core()
        name = call.arg("name")
        contains = name_filter(call)
        kind = one_of(call, "zoneType", shapes.ZONE_TYPES.values())
        state = one_of(call, "lifecycleState", shapes.LIFECYCLE_STATES)
        if name is not None:
            name = shapes.label(shapes.parse_name(name, "name")).lower()
        rows = []
        for zone in list(registry.zonedb):
            status = registry.status(zone.name)
            if name is not None and status.name.lower() != name:
                continue
            if not contains(status.name):
                continue
            if kind is not None and shapes.ZONE_TYPES[status.role] != kind:
                continue
            if state is not None and shapes.lifecycle_state(status) != state:
                continue
            rows.append(self.shape(call, status, zone))
        return sorted_page(call, rows, {
            "name": lambda z: z["name"].lower(), "zoneType": lambda z: (z["zoneType"], z["name"].lower()),
            "timeCreated": lambda z: (z["timeCreated"] or "", z["name"].lower()),
        })

    def create(self, call: Call) -> defer.Deferred:
        registry = self.api.core()
        config = shapes.zone_config(parse_json(call.body), self.api.key_ids())
        created = defer.maybeDeferred(registry.create_zone, config).addErrback(_refused(config))

        def done(status: ZoneStatus) -> Reply:
            Api.changed(call, f"created {shapes.ZONE_TYPES[config.type]} zone {status.name}")
            zone = registry.zonedb.get(config.name)
            if zone is None:  # deleted meanwhile
                return Reply(201, None)
            return self.reply(call, zone, 201, (("Location", f"{call.base}/zones/{status.name}"),))

        return created.addCallback(done)

    def get(self, call: Call) -> Reply:
        return self.reply(call, self.api.zone(call.params["zone"]))

    def update(self, call: Call) -> defer.Deferred:
        registry = self.api.core()
        zone = self.api.zone(call.params["zone"])
        status = registry.status(zone.name)
        if status.declared_in is not None:
            raise conflict(f"zone {status.name} is declared in {status.declared_in}: change it there, and reload")
        check_if_match(call, self.current_etag(zone))
        config = shapes.zone_config(parse_json(call.body), self.api.key_ids(), current=zone.config)
        updated = defer.maybeDeferred(registry.update_zone, config).addErrback(_refused(config))

        def done(status: ZoneStatus) -> Reply:
            Api.changed(call, f"updated zone {status.name}")
            current = registry.zonedb.get(config.name)
            return Reply(200, None) if current is None else self.reply(call, current)

        return updated.addCallback(done)

    def delete(self, call: Call) -> defer.Deferred:
        registry = self.api.core()
        zone = self.api.zone(call.params["zone"])
        status = registry.status(zone.name)
        if status.declared_in is not None:
            raise conflict(f"zone {status.name} is declared in {status.declared_in}: remove it there, and reload")
        check_if_match(call, self.current_etag(zone))
        deleted = defer.maybeDeferred(registry.delete_zone, zone.name)

        def done(_) -> Reply:
            Api.changed(call, f"deleted zone {status.name}")
            return Reply(204)

        return deleted.addCallback(done)


def routes(api: Api) -> list[Route]:
    zones = Zones(api)
    return [
        Route("GET", ("zones",), zones.list, "ListZones"),
        Route("POST", ("zones",), zones.create, "CreateZone"),
        Route("GET", ("zones", "{zone}"), zones.get, "GetZone"),
        Route("PUT", ("zones", "{zone}"), zones.update, "UpdateZone"),
        Route("DELETE", ("zones", "{zone}"), zones.delete, "DeleteZone"),
    ]


