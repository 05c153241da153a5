# -*- test-case-name: tests.integration.test_api_records -*-
"""
A zone's records: C{/zones/{zone}/records} (GetZoneRecords,
PatchZoneRecords, UpdateZoneRecords), C{.../records/{domain}} (the same
for one domain, and DeleteDomainRecords) and C{.../records/{domain}/{rtype}}
(GetRRSet, PatchRRSet, UpdateRRSet, DeleteRRSet).

Every change is one call of the core's C{edit}: one new version through
the commit path (serial increased, journal, store, swap, NOTIFY), all of
the request or none of it.  What is proportional to the zone or to the
request -- reading the body, parsing RDATA, listing, sorting and rendering
records, working out what a PUT changes -- runs in a worker thread.

A change worked out from the version served when the request came (a
PUT, a DELETE at the apex, a PATCH naming records by C{recordHash}, any
request with C{If-Match}) carries that version's SOA as a precondition,
checked in the same step as the edit: if another edit came first, a PUT
or DELETE is worked out again from the new version (three times at most),
and an C{If-Match} answers 412.
"""

from __future__ import annotations

from typing import Any, Callable

import attrs
from twisted.internet import defer

from secdns.ops.api import record_items, shapes
from secdns.ops.api.body import parse_json
from secdns.ops.api.context import Api
from secdns.ops.api.errors import conflict, error_for, not_found, precondition_failed
from secdns.ops.api.record_items import Scope, guard
from secdns.ops.api.routing import Call, Reply, Route, check_if_match, etag, one_of, page_headers, paging
from secdns.zones.edit import ADD, REMOVE, Change, EditRefused
from secdns.zones.version import ZoneData
from secdns.zones.zone import Zone

__all__ = ["routes", "records_etag"]

#: How many times a PUT or DELETE is worked out again when other edits come first.
ATTEMPTS = 3


def records_etag(zone: Zone, data: ZoneData) -> str:
    """The etag of a zone's records: its name and version."""
    return etag(["records", shapes.label(zone.name), data.serial])


class _Stale(Exception):
    """The version a change was worked out from is no longer served."""


class Records:
    def __init__(self, api: Api) -> None:
        self.api = api

    # -- what a path names

    def scope(self, call: Call) -> tuple[Zone, Scope]:
        zone = self.api.zone(call.params["zone"])
        domain = call.params.get("domain")
        rtype = call.params.get("rtype")
        name = None if domain is None else record_items.parse_domain(domain, zone.name, "the path's domain")
        rdtype = None if rtype is None else record_items.parse_rtype(rtype, "the path's rtype")
        return zone, Scope(zone.name, name, rdtype)

    @staticmethod
    def data_of(zone: Zone) -> ZoneData:
        data = zone.data
        if data is None:
            raise conflict(f"zone {shapes.label(zone.name)} has no records yet (not loaded or transferred)")
        return data

    def editable(self, zone: Zone) -> None:
        config = zone.config
        label = shapes.label(zone.name)
        if config.type != "primary":
            raise conflict(f"zone {label} is a secondary zone: its records come from its masters")
        if config.file is not None:
            raise conflict(f"zone {label} is read from its zone file {config.file}: edit the file and reload")

    def current(self, zone: Zone) -> tuple[Zone, ZoneData]:
        """The zone as served now (a new object after each change of the map)."""
        now = self.api.core().zonedb.get(zone.name)
        if now is None:
            raise not_found(f"zone {shapes.label(zone.name)} was deleted")
        return now, self.data_of(now)

    # -- reading

    def page(self, call: Call, zone: Zone, data: ZoneData, scope: Scope) -> defer.Deferred:
        limit = paging(call, with_page=False)
        page = call.arg("page")
        sort_by = one_of(call, "sortBy", record_items.SORT_KEYS, "domain")
        order = one_of(call, "sortOrder", ("ASC", "DESC"), "ASC")
        contains = call.arg("domainContains")
        rtype_text = call.arg("rtype")
        rtype = None if rtype_text is None else record_items.parse_rtype(rtype_text, "rtype")
        domain = call.arg("domain")
        if domain is not None and scope.name is None:
            scope = Scope(scope.origin, record_items.parse_domain(domain, scope.origin))
        editable = zone.config.type == "primary" and zone.config.file is None
        rendered = self.api.in_worker(
            record_items.render, data, scope, editable, page, limit, sort_by, order == "DESC", contains, rtype
        )

        def reply(answer: record_items.Page) -> Reply:
            headers = page_headers(answer.next_page, answer.total)
            return Reply(200, {"items": answer.items}, headers, records_etag(zone, data))

        return rendered.addCallback(reply)

    def get(self, call: Call) -> defer.Deferred:
        zone, scope = self.scope(call)
        data = self.data_of(zone)
        version = call.arg("zoneVersion")
        if version is not None and version != str(data.serial):
            raise not_found(f"zone {shapes.label(zone.name)} is at version {data.serial}; version {version[:20]} is not kept")
        return self.page(call, zone, data, scope)

    # -- changing

    def _edit(self, call: Call, zone: Zone, changes: list[Change], stale: Change | None, what: str) -> defer.Deferred:
        """Hand the changes to the core's commit path; C{stale}: the guard whose failure means "worked out from an old version"."""
        registry = self.api.core()
        before = zone.data.serial if zone.data is not None else None
        source = f"API ({call.who})"
        edited = defer.maybeDeferred(registry.edit, zone.name, changes, source)

        def refused(failure):
            failure.trap(EditRefused)
            if stale is not None and failure.value.change is stale:
                raise _Stale()
            return failure

        made = sum(1 for change in changes if change.operation in (ADD, REMOVE))

        def done(data: ZoneData) -> ZoneData:
            Api.changed(call, f"{what} zone {shapes.label(zone.name)}: {made} records added or removed, serial {before} -> {data.serial}")
            return data

        return edited.addErrback(refused).addCallback(done)

    def patch(self, call: Call) -> defer.Deferred:
        zone, scope = self.scope(call)
        self.editable(zone)
        data = self.data_of(zone)
        check_if_match(call, records_etag(zone, data))
        if_match = call.header("if-match") is not None

        def build() -> tuple[list[Change], bool]:
            return record_items.patch_changes(parse_json(call.body), scope, data)

        def edit(built: tuple[list[Change], bool]) -> defer.Deferred:
            changes, read_against = built
            guarded = guard(data) if read_against or if_match else None
            edited = self._edit(call, zone, ([guarded] if guarded else []) + changes, guarded, "patched the records of")
            return edited.addErrback(_item_refused, changes)

        edited = self.api.in_worker(build).addCallback(edit)
        edited.addErrback(self._stale_is_412)
        return edited.addCallback(lambda data: self.after(call, zone, data, scope))

    @staticmethod
    def _stale_is_412(failure):
        failure.trap(_Stale)
        raise precondition_failed("the zone changed since the request's version of it (If-Match, or a recordHash): ask again")

    def after(self, call: Call, zone: Zone, data: ZoneData, scope: Scope) -> defer.Deferred:
        now = self.api.core().zonedb.get(zone.name) or zone
        return self.page(call, now, data, scope)

    def _retried(self, call: Call, zone: Zone, work: Callable[[ZoneData], list[Change]], what: str) -> defer.Deferred:
        """Work out the changes from the version served, and edit; again if another edit came first."""
        if_match = call.header("if-match") is not None

        def attempt(left: int) -> defer.Deferred:
            current, data = self.current(zone)

            def edit(changes: list[Change]) -> Any:
                if not changes:
                    return data
                guarded = guard(data)
                return self._edit(call, current, [guarded, *changes], guarded, what)

            def again(failure):
                failure.trap(_Stale)
                if left <= 1 or if_match:
                    return self._stale_is_412(failure)
                return attempt(left - 1)

            return self.api.in_worker(work, data).addCallback(edit).addErrback(again)

        return attempt(ATTEMPTS)

    def put(self, call: Call) -> defer.Deferred:
        zone, scope = self.scope(call)
        self.editable(zone)
        check_if_match(call, records_etag(zone, self.data_of(zone)))
        body_bytes = call.body

        def work(data: ZoneData) -> list[Change]:
            return record_items.put_changes(parse_json(body_bytes), scope, data)

        edited = self._retried(call, zone, work, "replaced the records of")
        return edited.addCallback(lambda data: self.after(call, zone, data, scope))

    def delete(self, call: Call) -> defer.Deferred:
        zone, scope = self.scope(call)
        self.editable(zone)
        check_if_match(call, records_etag(zone, self.data_of(zone)))

        def work(data: ZoneData) -> list[Change]:
            return record_items.delete_changes(scope, data)

        return self._retried(call, zone, work, "deleted records of").addCallback(lambda _: Reply(204))


#: What part of an item the core's refusal of its change concerns, by the message's end.
_REFUSAL_FIELDS = (
    ("is not in zone", "domain"), ("belongs at the apex only", "domain"), ("of another type than its rtype", "rtype"),
    ("is not a record type", "rtype"), ("needs a record", "rdata"), ("needs a TTL", "ttl"),
)


def _item_refused(failure, changes: list[Change]):
    """An errback: the core's refusal of one item's change (a PATCH has one change an item), with its field."""
    failure.trap(EditRefused)
    refused = failure.value
    error = error_for(refused)
    if error is None or error.code != "InvalidParameter" or refused.change is None or refused.change not in changes:
        return failure
    where = f"items[{changes.index(refused.change)}]"
    part = next((name for text, name in _REFUSAL_FIELDS if text in refused.message), None)
    raise attrs.evolve(error, field=where if part is None else f"{where}.{part}")


def routes(api: Api) -> list[Route]:
    records = Records(api)
    zone = ("zones", "{zone}", "records")
    domain = zone + ("{domain}",)
    rrset = domain + ("{rtype}",)
    return [
        Route("GET", zone, records.get, "GetZoneRecords"),
        Route("PATCH", zone, records.patch, "PatchZoneRecords"),
        Route("PUT", zone, records.put, "UpdateZoneRecords"),
        Route("GET", domain, records.get, "GetDomainRecords"),
        Route("PATCH", domain, records.patch, "PatchDomainRecords"),
        Route("PUT", domain, records.put, "UpdateDomainRecords"),
        Route("DELETE", domain, records.delete, "DeleteDomainRecords"),
        Route("GET", rrset, records.get, "GetRRSet"),
        Route("PATCH", rrset, records.patch, "PatchRRSet"),
        Route("PUT", rrset, records.put, "UpdateRRSet"),
        Route("DELETE", rrset, records.delete, "DeleteRRSet"),
    ]


