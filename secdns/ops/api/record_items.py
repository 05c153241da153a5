# -*- test-case-name: tests.unit.test_api_records -*-
"""
A zone's records as the cloud DNS API's items, and items as changes
(L{secdns.zones.edit.Change}).  Pure: no Twisted; the caller runs these in
a worker thread, since each is proportional to the zone or the request.

An item is C{{domain, rtype, rdata, ttl, recordHash, isProtected,
rrsetVersion}}: C{domain} the owner without its final dot, C{rdata} in
presentation format with names absolute, C{recordHash} an id of the record
in its zone (owner, type and RDATA: not its TTL), C{isProtected} for the
apex SOA and NS (and every record of a zone not edited here: a secondary,
or a primary read from a file), C{rrsetVersion} the zone version the item
was read from.

Items coming in are read with the zone's origin: C{rdata} by dnspython
(C{relativize=False}, so C{ns1} in an NS record's RDATA is C{ns1.<zone>.}),
C{domain} as an absolute name that must be in the zone.  PATCH items carry
an C{operation}: C{ADD}, C{REMOVE}, C{REQUIRE} or C{PROHIBIT} (the cloud's
names; C{PROHIBIT} is RFC 2136's "RRset/name does not exist").
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import attrs
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype

from secdns.ops.api.body import Fields
from secdns.ops.api.errors import bad, precondition_failed
from secdns.ops.api.ids import record_hash
from secdns.ops.api.shapes import label, parse_name
from secdns.zones.edit import ADD, REMOVE, REQUIRE, REQUIRE_ABSENT, Change
from secdns.zones.serial import serial_gt
from secdns.wire.compact import OwnerKey, decode
from secdns.zones.version import PerVersion, ZoneData

__all__ = [
    "Scope", "Page", "SORT_KEYS", "OPERATIONS", "parse_rtype", "item", "render", "patch_changes", "put_changes",
    "delete_changes", "guard", "MAX_ITEMS",
]

IN = dns.rdataclass.IN
SOA = dns.rdatatype.SOA
NS = dns.rdatatype.NS
#: The cloud's PATCH operations, as L{secdns.zones.edit}'s.
OPERATIONS = {"ADD": ADD, "REMOVE": REMOVE, "REQUIRE": REQUIRE, "PROHIBIT": REQUIRE_ABSENT}
SORT_KEYS = ("domain", "rtype", "ttl")
#: The most items one PATCH or PUT takes.
MAX_ITEMS = 50_000
_RDATA_LENGTH = 70_000


@attrs.frozen
class Scope:
    """What a records path names: the zone, one domain, or one RRset."""

    origin: dns.name.Name
    name: dns.name.Name | None = None
    rdtype: int | None = None


@attrs.frozen
class Page:
    """One page of items, the total, and the C{page} token of the next (L{None}: the last page)."""

    items: list[dict[str, Any]]
    total: int
    next_page: str | None


@attrs.define
class _Order:
    """A version's owners in DNSSEC order, made once (in a worker) for paging through it."""

    owners: list[OwnerKey] | None = None


_ORDERS: PerVersion[_Order] = PerVersion(_Order)


def _field(field: str) -> str | None:
    """The error's field: C{field} when it is a request field, not words (C{the path's rtype})."""
    return None if " " in field else field


def parse_rtype(text: str, field: str = "rtype") -> int:
    """A record type by its name (C{A}, C{aaaa}, C{TYPE65534}); not a meta-type (C{ANY}, C{AXFR}, C{OPT}, ...)."""
    try:
        rdtype = dns.rdatatype.from_text(text.strip().upper())
    except (dns.rdatatype.UnknownRdatatype, ValueError):
        raise bad(f"{field} is not a record type: {text[:40]!r}", _field(field)) from None
    if rdtype == 0 or dns.rdatatype.is_metatype(rdtype):
        raise bad(f"{field} {dns.rdatatype.to_text(rdtype)} is not a type of record a zone holds", _field(field))
    return rdtype


def parse_domain(text: str, origin: dns.name.Name, field: str = "domain") -> dns.name.Name:
    name = parse_name(text, field, in_path=_field(field) is None)
    if not name.is_subdomain(origin):
        raise bad(f"{field} {label(name)} is not in zone {label(origin)}", _field(field))
    return name


def _protected(origin: dns.name.Name, name: dns.name.Name, rdtype: int, editable: bool) -> bool:
    return not editable or name == origin and rdtype in (SOA, NS)


def item(name: dns.name.Name, rds: dns.rdataset.Rdataset, rdata: dns.rdata.Rdata, origin: dns.name.Name,
         version: str, editable: bool) -> dict[str, Any]:
    """One record as an item."""
    rtype = dns.rdatatype.to_text(rdata.rdtype)
    domain = label(name)
    return {
        "domain": domain,
        "rtype": rtype,
        "rdata": rdata.to_text(),
        "ttl": rds.ttl,
        "recordHash": record_hash(domain, rtype, rdata.to_digestable(origin)),
        "isProtected": _protected(origin, name, rdata.rdtype, editable),
        "rrsetVersion": version,
    }


def _records(data: ZoneData, scope: Scope) -> Iterator[tuple[dns.name.Name, dns.rdataset.Rdataset]]:
    if scope.name is None:
        for owner, rds in data.rrsets():
            if scope.rdtype is None or rds.rdtype == scope.rdtype:
                yield owner, rds
        return
    node = data.node(scope.name)
    if node is None:
        return
    owner = scope.name
    for rds in node.rdatasets:
        if scope.rdtype is None or rds.rdtype == scope.rdtype:
            yield owner, rds


def _name_key(name: dns.name.Name) -> tuple[bytes, ...]:
    return tuple(label.lower() for label in reversed(name.labels))


def render(
    data: ZoneData,
    scope: Scope,
    editable: bool,
    page: str | None = None,
    limit: int = 100,
    sort_by: str = "domain",
    descending: bool = False,
    domain_contains: str | None = None,
    rtype: int | None = None,
) -> Page:
    """
    One page of the records C{scope} names, sorted (by owner in DNSSEC
    order, type, RDATA; or by type or TTL first), from the C{page} token
    of the previous page.

    A whole zone in owner order, unfiltered, is paged without reading
    every record: the version's owners are sorted once (kept beside the
    version), and a page decodes only its own owners; its tokens are
    C{owner.record}.  Anything else is read whole for each page; its
    tokens are a record offset.

    @raise ApiError: C{page} is not a token this query made.
    """
    if scope.name is None and sort_by == "domain" and domain_contains is None and rtype is None:
        return _owner_page(data, editable, page, limit, descending)
    offset = _token(page, r"\d{1,12}")[0] if page is not None else 0
    version = str(data.serial)
    contains = None if domain_contains is None else domain_contains.lower().rstrip(".")
    rows = []
    for owner, rds in _records(data, scope):
        if rtype is not None and rds.rdtype != rtype:
            continue
        if contains is not None and contains not in owner.to_text(omit_final_dot=True).lower():
            continue
        name_key = _name_key(owner)
        for rdata in rds:
            wire = rdata.to_digestable(data.origin)
            if sort_by == "rtype":
                key = (dns.rdatatype.to_text(rds.rdtype), name_key, wire)
            elif sort_by == "ttl":
                key = (rds.ttl, name_key, rds.rdtype, wire)
            else:
                key = (name_key, rds.rdtype, wire)
            rows.append((key, owner, rds, rdata))
    rows.sort(key=lambda row: row[0], reverse=descending)
    chosen = rows[offset:offset + limit]
    items = [item(owner, rds, rdata, data.origin, version, editable) for _, owner, rds, rdata in chosen]
    following = offset + limit
    return Page(items, len(rows), str(following) if following < len(rows) else None)


def _token(page: str, pattern: str) -> tuple[int, ...]:
    if not re.fullmatch(pattern, page):
        raise bad("page must be the opc-next-page header of the previous page, asked with the same parameters")
    return tuple(int(part) for part in page.split("."))


def _owner_page(data: ZoneData, editable: bool, page: str | None, limit: int, descending: bool) -> Page:
    order = _ORDERS.of(data)
    if order.owners is None:
        order.owners = sorted(data.owners, key=lambda key: key[::-1])
    owners = order.owners
    index, skip = _token(page, r"\d{1,12}\.\d{1,12}") if page is not None else (0, 0)
    version = str(data.serial)
    items: list[dict[str, Any]] = []
    while index < len(owners) and len(items) < limit:
        key = owners[len(owners) - 1 - index] if descending else owners[index]
        owner = data.name_of(key)
        rows = sorted(
            ((rds.rdtype, rdata.to_digestable(data.origin)), rds, rdata) for rds in decode(data.owners[key]) for rdata in rds
        )
        if descending:
            rows.reverse()
        taken = rows[skip:skip + limit - len(items)]
        items.extend(item(owner, rds, rdata, data.origin, version, editable) for _, rds, rdata in taken)
        skip += len(taken)
        if skip >= len(rows):
            index, skip = index + 1, 0
    return Page(items, data.record_count, f"{index}.{skip}" if index < len(owners) else None)


# -- items in


def _rdata(text: str, rdtype: int, origin: dns.name.Name, where: str) -> dns.rdata.Rdata:
    if len(text) > _RDATA_LENGTH:
        raise bad(f"{where}.rdata is longer than {_RDATA_LENGTH} characters", f"{where}.rdata")
    if not text.strip():
        raise bad(f"{where}.rdata is empty", f"{where}.rdata")
    try:
        return dns.rdata.from_text(IN, rdtype, text, origin=origin, relativize=False)
    except Exception as e:  # dnspython raises many kinds (SyntaxError, ValueError, UnexpectedEnd, ...)
        detail = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise bad(f"{where}.rdata is not valid {dns.rdatatype.to_text(rdtype)} data: {detail}", f"{where}.rdata") from None


@attrs.frozen
class _Item:
    operation: str | None
    name: dns.name.Name | None
    rdtype: int | None
    rdata: dns.rdata.Rdata | None
    ttl: int | None
    hash: str | None


def _read_item(value: Any, where: str, scope: Scope, with_operation: bool) -> _Item:
    fields = Fields(value, where, ignored=("isProtected", "rrsetVersion"))
    operation = fields.choice("operation", OPERATIONS, required=with_operation) if with_operation else None
    domain = fields.string("domain", max_length=1100)
    rtype = fields.string("rtype", max_length=20)
    rdata_text = fields.string("rdata", max_length=_RDATA_LENGTH)
    ttl = fields.integer("ttl", 0, 0x7FFFFFFF)
    hash_ = fields.string("recordHash", max_length=64)
    if not with_operation:
        fields.read.add("recordHash")
    fields.done()
    name = None if domain is None else parse_domain(domain, scope.origin, f"{where}.domain")
    if scope.name is not None:
        if name is not None and name != scope.name:
            raise bad(f"{where}.domain {label(name)} is not the domain of the path ({label(scope.name)})", f"{where}.domain")
        name = scope.name
    rdtype = None if rtype is None else parse_rtype(rtype, f"{where}.rtype")
    if scope.rdtype is not None:
        if rdtype is not None and rdtype != scope.rdtype:
            raise bad(f"{where}.rtype {rtype} is not the rtype of the path ({dns.rdatatype.to_text(scope.rdtype)})", f"{where}.rtype")
        rdtype = scope.rdtype
    if rdata_text is not None and rdtype is None:
        raise bad(f"{where}: rdata needs an rtype", f"{where}.rtype")
    rdata = None if rdata_text is None else _rdata(rdata_text, rdtype, scope.origin, where)
    return _Item(OPERATIONS.get(operation) if operation else None, name, rdtype, rdata, ttl, hash_ if with_operation else None)


def _items(body: Any, scope: Scope, with_operation: bool) -> list[_Item]:
    fields = Fields(body)
    values = fields.array("items", required=True, max_items=MAX_ITEMS)
    fields.done()
    return [_read_item(value, f"items[{i}]", scope, with_operation) for i, value in enumerate(values)]


def _hashes(data: ZoneData, scope: Scope) -> dict[str, tuple[dns.name.Name, dns.rdata.Rdata]]:
    found = {}
    for owner, rds in _records(data, scope):
        for rdata in rds:
            found[record_hash(label(owner), dns.rdatatype.to_text(rdata.rdtype), rdata.to_digestable(data.origin))] = (owner, rdata)
    return found


def patch_changes(body: Any, scope: Scope, data: ZoneData | None) -> tuple[list[Change], bool]:
    """
    A C{PatchZoneRecordsDetails} (C{{"items": [RecordOperation]}}) as
    changes, and whether they were read against C{data} (items that name a
    record by C{recordHash} are: the caller then guards the edit with
    L{guard}).

    @raise ApiError: an item is invalid, or names an unknown C{recordHash}.
    """
    items = _items(body, scope, with_operation=True)
    hashes = None
    changes = []
    for i, entry in enumerate(items):
        where = f"items[{i}]"
        name, rdtype, rdata = entry.name, entry.rdtype, entry.rdata
        if entry.hash is not None and rdata is None:
            if hashes is None:
                hashes = {} if data is None else _hashes(data, Scope(scope.origin))
            found = hashes.get(entry.hash)
            if found is None:
                raise precondition_failed(f"{where}.recordHash: no record of the zone has the hash {entry.hash}")
            if name is not None and name != found[0] or rdtype is not None and rdtype != found[1].rdtype:
                raise bad(f"{where}: recordHash names another record than domain and rtype", f"{where}.recordHash")
            name, rdata = found
            rdtype = rdata.rdtype
        if name is None:
            raise bad(f"{where}.domain is required", f"{where}.domain")
        if entry.operation == ADD:
            if rdtype is None or rdata is None or entry.ttl is None:
                missing = [f for f, v in (("rtype", rdtype), ("rdata", rdata), ("ttl", entry.ttl)) if v is None]
                raise bad(f"{where}: ADD needs domain, rtype, rdata and ttl ({', '.join(missing)} missing)", f"{where}.{missing[0]}")
        changes.append(Change(entry.operation, name, rdtype, rdata, entry.ttl))
    return changes, hashes is not None


def put_changes(body: Any, scope: Scope, data: ZoneData) -> list[Change]:
    """
    An C{UpdateZoneRecordsDetails} / C{UpdateDomainRecordsDetails} /
    C{UpdateRRSetDetails} (C{{"items": [RecordDetails]}}) as the changes
    that make C{scope} hold exactly those records, from C{data}.  The apex
    SOA and NS are kept when the items hold none of them (they are
    protected), and replaced when they do (an SOA's serial is taken only
    if greater than the zone's: L{secdns.core.loading.edit_serial}).
    """
    items = _items(body, scope, with_operation=False)
    wanted: dict[tuple[dns.name.Name, int], list[_Item]] = {}
    for i, entry in enumerate(items):
        where = f"items[{i}]"
        if entry.name is None or entry.rdtype is None or entry.rdata is None or entry.ttl is None:
            raise bad(f"{where}: each record needs domain, rtype, rdata and ttl", where)
        wanted.setdefault((entry.name, entry.rdtype), []).append(entry)
    changes = []
    current: dict[tuple[dns.name.Name, int], dns.rdataset.Rdataset] = {}
    for owner, rds in _records(data, scope):
        if rds.covers != dns.rdatatype.NONE:
            continue
        current[(owner, rds.rdtype)] = rds
        entries = wanted.get((owner, rds.rdtype))
        if entries is None:
            if owner == scope.origin and rds.rdtype in (SOA, NS):
                continue  # protected, and not given: kept
            changes.append(Change(REMOVE, owner, rds.rdtype))
            continue
        if rds.rdtype == SOA:
            continue  # an ADD replaces it
        keep = {entry.rdata for entry in entries}
        changes.extend(Change(REMOVE, owner, rds.rdtype, rdata) for rdata in rds if rdata not in keep)
    for (owner, rdtype), entries in wanted.items():
        ttls = {entry.ttl for entry in entries}
        if len(ttls) > 1:
            raise bad(f"{label(owner)} {dns.rdatatype.to_text(rdtype)}: one RRset has one TTL, not {len(ttls)}")
        rds = current.get((owner, rdtype))
        for entry in entries:
            if rds is not None and rds.ttl == entry.ttl and _holds(rds, entry.rdata):
                continue  # there already, as given
            changes.append(Change(ADD, owner, rdtype, entry.rdata, entry.ttl))
    # Additions of a name's records before the removal of its last other
    # ones would put a CNAME beside them for a moment: apply removals first.
    changes.sort(key=lambda change: change.operation != REMOVE)
    return changes


def _holds(rds: dns.rdataset.Rdataset, rdata: dns.rdata.Rdata) -> bool:
    if rdata.rdtype == SOA:  # the same but for a serial that is not greater: the zone's own is kept
        return rdata.replace(serial=rds[0].serial) == rds[0] and not serial_gt(rdata.serial, rds[0].serial)
    return rdata in rds


def delete_changes(scope: Scope, data: ZoneData) -> list[Change]:
    """The changes that delete what C{scope} names (one domain, or one RRset); the apex SOA and NS stay."""
    if scope.name is None:
        raise bad("a zone's records are deleted by domain, or by domain and rtype")
    if not any(True for _ in _records(data, scope)):
        return []
    if scope.name != scope.origin or scope.rdtype is not None:
        return [Change(REMOVE, scope.name, scope.rdtype)]
    return [
        Change(REMOVE, scope.name, rds.rdtype)
        for _, rds in _records(data, scope)
        if rds.rdtype not in (SOA, NS) and rds.covers == dns.rdatatype.NONE
    ]


def guard(data: ZoneData) -> Change:
    """A precondition that the zone is still at C{data}'s version: its SOA, serial included, is the same."""
    return Change(REQUIRE, data.origin, SOA, data.soa[0])
