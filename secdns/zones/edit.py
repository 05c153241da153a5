# -*- test-case-name: tests.unit.test_edit -*-
"""
Changes to a primary zone's records, applied all or none: the one place
an API edit and a DNS UPDATE (RFC 2136) turn into a new version.

A change is a frozen L{Change}: C{ADD} a record, C{REMOVE} one record, an
RRset or every RRset of a name, or a precondition (C{REQUIRE} that a
record, an RRset or a name exists; C{REQUIRE_ABSENT} that it does not).
L{apply} checks every precondition against the version as it was, applies
the additions and removals in order, checks the result as a zone (one SOA,
NS at the apex, no CNAME beside other data, nothing outside the zone), and
returns the new version under the serial it is given.  Anything wrong
raises L{EditRefused} and nothing is changed.

The apex SOA and NS cannot be removed whole (RFC 2136 section 3.4.2.3
ignores such deletions; here they are refused, so an API user is told).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import attrs
import dns.name
import dns.rdata
import dns.rdataset
import dns.rdatatype

from secdns.errors import SecdnsError, ZoneLoadError
from secdns.wire.compact import OwnerKey, decode, encode, key_of
from secdns.zones.version import ZoneData, from_owners

__all__ = [
    "Change", "EditRefused", "ADD", "REMOVE", "REQUIRE", "REQUIRE_ABSENT", "apply", "records_of", "initial_version",
    "INITIAL_SOA", "INITIAL_TTL",
]

ADD = "ADD"
REMOVE = "REMOVE"
REQUIRE = "REQUIRE"
REQUIRE_ABSENT = "REQUIRE_ABSENT"
_OPERATIONS = (ADD, REMOVE, REQUIRE, REQUIRE_ABSENT)

IN = dns.rdataclass.IN
SOA = dns.rdatatype.SOA
NS = dns.rdatatype.NS
CNAME = dns.rdatatype.CNAME
RRSIG = dns.rdatatype.RRSIG
NSEC = dns.rdatatype.NSEC
#: A new dynamic zone's SOA, after its two names (C{ns1} and C{hostmaster}
#: under the zone) and its serial: refresh, retry, expire, negative TTL.
INITIAL_SOA = (3600, 600, 1209600, 300)
#: The TTL of a new dynamic zone's SOA and NS records.
INITIAL_TTL = 3600

#: Types that may sit beside a CNAME (RFC 2181 section 10.1, RFC 4035).
_BESIDE_CNAME = frozenset((CNAME, RRSIG, NSEC))


@attrs.frozen
class Change:
    """
    One change, or one precondition, to a zone's records.

    @ivar operation: L{ADD}, L{REMOVE}, L{REQUIRE} or L{REQUIRE_ABSENT}.
    @ivar name: the owner, absolute, inside the zone.
    @ivar rdtype: the type; L{None} for every type at C{name} (not for L{ADD}).
    @ivar rdata: the record; L{None} for the whole RRset (not for L{ADD}).
    @ivar ttl: for L{ADD}: the record's TTL (the RRset's, once added).
    """

    operation: str
    name: dns.name.Name
    rdtype: int | None = None
    rdata: dns.rdata.Rdata | None = None
    ttl: int | None = None


class EditRefused(SecdnsError):
    """
    A change that cannot be made, and why.

    @ivar kind: C{"invalid"} (the change itself is wrong, or the zone it
        would make is), or C{"precondition"} (a REQUIRE or REQUIRE_ABSENT
        does not hold: RFC 2136's YXDOMAIN, NXDOMAIN, YXRRSET, NXRRSET).
    @ivar change: the change concerned, if one is.
    """

    def __init__(self, message: str, kind: str = "invalid", change: Change | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.change = change

    def __str__(self) -> str:
        return self.message


def _text(name: dns.name.Name) -> str:
    return name.to_text()


def _what(change: Change) -> str:
    rdtype = "" if change.rdtype is None else " " + dns.rdatatype.to_text(change.rdtype)
    rdata = "" if change.rdata is None else " " + change.rdata.to_text()
    return f"{_text(change.name)}{rdtype}{rdata}"


def _check(origin: dns.name.Name, change: Change) -> None:
    if change.operation not in _OPERATIONS:
        raise EditRefused(f"unknown operation {change.operation!r}", change=change)
    if not change.name.is_subdomain(origin):
        raise EditRefused(f"{_text(change.name)} is not in zone {_text(origin)}", change=change)
    if change.rdata is not None and change.rdtype is not None and change.rdata.rdtype != change.rdtype:
        raise EditRefused(f"{_what(change)}: record of another type than its rtype", change=change)
    if change.operation == ADD:
        if change.rdata is None:
            raise EditRefused(f"{_text(change.name)}: ADD needs a record", change=change)
        if change.ttl is None or not 0 <= change.ttl <= 0x7FFFFFFF:
            raise EditRefused(f"{_what(change)}: ADD needs a TTL from 0 to 2147483647", change=change)
        if change.rdata.rdtype == SOA and change.name != origin:
            raise EditRefused(f"{_what(change)}: an SOA record belongs at the apex only", change=change)
    rdtype = change.rdtype if change.rdtype is not None else (change.rdata.rdtype if change.rdata else None)
    if rdtype is not None and dns.rdatatype.is_metatype(rdtype):
        raise EditRefused(f"{_what(change)}: {dns.rdatatype.to_text(rdtype)} is not a record type", change=change)


class _Owners:
    """The owners being changed: a copy-on-write view of a version's."""

    def __init__(self, data: ZoneData) -> None:
        self.data = data
        self.changed: dict[OwnerKey, list[dns.rdataset.Rdataset]] = {}
        self.cased: dict[OwnerKey, dns.name.Name] = {}

    def rdatasets(self, name: dns.name.Name) -> list[dns.rdataset.Rdataset]:
        key = key_of(name)
        if key not in self.changed:
            blob = self.data.owners.get(key)
            self.changed[key] = [] if blob is None else decode(blob)
            if name.to_text() != name.to_text().lower():
                self.cased.setdefault(key, name)
        return self.changed[key]

    def find(self, name: dns.name.Name, rdtype: int) -> dns.rdataset.Rdataset | None:
        for rds in self.rdatasets(name):
            if rds.rdtype == rdtype and rds.covers == dns.rdatatype.NONE:
                return rds
        return None

    def exists(self, name: dns.name.Name) -> bool:
        """
        Whether C{name} owns records: an empty non-terminal does not (it is
        not "in use", RFC 2136 section 2.4.4, as BIND decides it too).
        """
        return bool(self.rdatasets(name))


def _holds(owners: _Owners, change: Change) -> bool:
    """Whether what C{change} names (record, RRset or name) is in the zone."""
    if change.rdtype is None and change.rdata is None:
        return owners.exists(change.name)
    rdtype = change.rdtype if change.rdtype is not None else change.rdata.rdtype
    rds = owners.find(change.name, rdtype)
    if rds is None:
        return False
    return change.rdata is None or change.rdata in rds


def apply(data: ZoneData, changes: Sequence[Change], serial: int) -> ZoneData:
    """
    The version C{changes} make of C{data}, under C{serial}.

    @raise EditRefused: a change is invalid, a precondition does not hold,
        or the result is not a valid zone.  C{data} is never changed.
    """
    origin = data.origin
    for change in changes:
        _check(origin, change)
    owners = _Owners(data)
    for change in changes:
        if change.operation == REQUIRE and not _holds(owners, change):
            raise EditRefused(f"{_what(change)} is required but not in the zone", "precondition", change)
        if change.operation == REQUIRE_ABSENT and _holds(owners, change):
            raise EditRefused(f"{_what(change)} is required absent but is in the zone", "precondition", change)
    count = data.record_count
    for change in changes:
        if change.operation == ADD:
            count += _add(owners, change)
        elif change.operation == REMOVE:
            count -= _remove(owners, origin, change)
    count += _set_serial(owners, origin, serial)
    return _built(data, owners, count)


def _add(owners: _Owners, change: Change) -> int:
    rdata = change.rdata
    rdatasets = owners.rdatasets(change.name)
    if rdata.rdtype == SOA:
        # One SOA: adding one replaces it (RFC 2136 section 3.4.2.2).
        current = owners.find(change.name, SOA)
        if current is not None:
            rdatasets.remove(current)
        rds = dns.rdataset.Rdataset(IN, SOA)
        rds.add(rdata, change.ttl)
        rdatasets.append(rds)
        return 0 if current is not None else 1
    rds = owners.find(change.name, rdata.rdtype)
    if rds is None:
        rds = dns.rdataset.Rdataset(IN, rdata.rdtype)
        rdatasets.append(rds)
    before = len(rds)
    rds.add(rdata, change.ttl)
    rds.ttl = change.ttl  # an RRset has one TTL: the last given
    return len(rds) - before


def _remove(owners: _Owners, origin: dns.name.Name, change: Change) -> int:
    rdatasets = owners.rdatasets(change.name)
    at_apex = change.name == origin
    if change.rdtype is None and change.rdata is None:
        if at_apex:
            raise EditRefused("the zone apex's SOA and NS cannot be removed", change=change)
        removed = sum(len(rds) for rds in rdatasets)
        rdatasets.clear()
        return removed
    rdtype = change.rdtype if change.rdtype is not None else change.rdata.rdtype
    if at_apex and rdtype == SOA:
        raise EditRefused("the zone's SOA record cannot be removed (add one to replace it)", change=change)
    rds = owners.find(change.name, rdtype)
    if rds is None:
        return 0
    if change.rdata is None:
        if at_apex and rdtype == NS:
            raise EditRefused("the zone apex's NS records cannot all be removed", change=change)
        rdatasets.remove(rds)
        return len(rds)
    if change.rdata not in rds:
        return 0
    if at_apex and rdtype == NS and len(rds) == 1:
        raise EditRefused("the zone apex's last NS record cannot be removed", change=change)
    rds.discard(change.rdata)
    if not rds:
        rdatasets.remove(rds)
    return 1


def _set_serial(owners: _Owners, origin: dns.name.Name, serial: int) -> int:
    soa = owners.find(origin, SOA)
    owners.rdatasets(origin).remove(soa)
    new = dns.rdataset.Rdataset(IN, SOA)
    new.add(soa[0].replace(serial=serial), soa.ttl)
    owners.rdatasets(origin).insert(0, new)
    return 0


def _check_owner(name: dns.name.Name, rdatasets: list[dns.rdataset.Rdataset]) -> None:
    types = {rds.rdtype for rds in rdatasets}
    if CNAME in types:
        if len(rdatasets[[rds.rdtype for rds in rdatasets].index(CNAME)]) > 1:
            raise EditRefused(f"{_text(name)}: more than one CNAME record")
        if types - _BESIDE_CNAME:
            other = ", ".join(sorted(dns.rdatatype.to_text(t) for t in types - _BESIDE_CNAME))
            raise EditRefused(f"{_text(name)}: a CNAME cannot be beside other data ({other})")


def _built(data: ZoneData, owners: _Owners, count: int) -> ZoneData:
    new_owners = dict(data.owners)
    cased = dict(data.cased)
    for key, rdatasets in owners.changed.items():
        name = data.name_of(key) if key in data.owners else owners.cased.get(key) or dns.name.Name(key)
        _check_owner(name, rdatasets)
        if rdatasets:
            new_owners[key] = encode(rdatasets)
            if key in owners.cased and key not in cased:
                cased[key] = owners.cased[key]
        else:
            new_owners.pop(key, None)
            cased.pop(key, None)
    try:
        return from_owners(data.origin, new_owners, cased, count)
    except ZoneLoadError as e:
        raise EditRefused(e.problem) from None


def initial_version(origin: dns.name.Name, serial: int) -> ZoneData:
    """
    What a new dynamic zone holds: C{@ SOA ns1 hostmaster SERIAL 3600 600
    1209600 300} and C{@ NS ns1}, TTL 3600, to be edited from there.
    """
    ns1 = dns.name.Name((b"ns1",)).concatenate(origin)
    refresh, retry, expire, minimum = INITIAL_SOA
    soa = dns.rdataset.from_text(
        IN, SOA, INITIAL_TTL,
        f"{ns1} {dns.name.Name((b'hostmaster',)).concatenate(origin)} {serial} {refresh} {retry} {expire} {minimum}",
    )
    ns = dns.rdataset.from_text(IN, NS, INITIAL_TTL, ns1.to_text())
    return from_owners(origin, {key_of(origin): encode([soa, ns])}, {} if origin.to_text() == origin.to_text().lower() else {key_of(origin): origin}, 2)


def records_of(data: ZoneData, name: dns.name.Name | None = None, rdtype: int | None = None) -> Iterable[
    tuple[dns.name.Name, dns.rdataset.Rdataset]
]:
    """The RRsets of C{data} (of one name, of one type), the apex SOA first."""
    if name is None:
        for owner, rds in data.rrsets():
            if rdtype is None or rds.rdtype == rdtype:
                yield owner, rds
        return
    node = data.node(name)
    if node is None:
        return
    for rds in node:
        if rdtype is None or rds.rdtype == rdtype:
            yield data.name_of(key_of(name)), rds
