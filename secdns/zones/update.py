# -*- test-case-name: tests.unit.test_update -*-
"""
DNS UPDATE (RFC 2136) decided: what an UPDATE message asks of a zone,
checked against the version served, as the changes L{secdns.zones.edit}
applies, or the rcode to answer instead.

The checks run in BIND 9.18's order (each was sent to C{named} and its
rcode compared; the first failure answers)::

    zone section: not a zone we serve (its apex, class IN) ────────> NOTAUTH
    a secondary zone (updates go to the primary; no forwarding) ───> REFUSED
    not signed with a key of the zone's allow_update ──────────────> REFUSED
    the zone not loaded yet ───────────────────────────────────────> SERVFAIL
    update section, each record in order (RFC 2136 section 3.4.1):
        name outside the zone ──────────────────────────────────────> NOTZONE
        class not IN/ANY/NONE, TTL not 0 for ANY/NONE, a meta type ─> FORMERR
        NSEC, NSEC3 or RRSIG (secdns serves signatures, never makes them) ─> REFUSED
    prerequisite section, each record in order (section 3.2):
        TTL not 0 ─> FORMERR; name outside ─> NOTZONE; class not IN/ANY/NONE ─> FORMERR
        ANY ANY name in use ─> NXDOMAIN    ANY type  RRset exists ──────> NXRRSET
        NONE ANY name unused ─> YXDOMAIN   NONE type RRset does not ────> YXRRSET
    then every "RRset exists (value dependent)" (class IN): the zone's
    RRset is exactly the records given (duplicates count, as in BIND) ─> NXRRSET
    the updates applied, an apex NS inside the zone left without an
    address by them (BIND's post-update name server check) ─────────> REFUSED
    otherwise ──────────────────────────────────────────────────────> NOERROR

and the update section is applied in order, with section 3.4.2's rules:
an SOA that does not raise the serial, a CNAME beside other data, other
data beside a CNAME, a wildcard NS, the deletion of the apex's SOA or NS
RRset, or of its last NS record, or of an SOA record, is ignored (and
reported in L{Decision.ignored}); adding a record already there with
another TTL gives the RRset that TTL.

A name is I{in use} when it owns records: an empty non-terminal is not
(RFC 2136 section 2.4.4; BIND agrees).

The changes handed on are the difference the update makes, not its
records one by one: nothing to change (a record added twice, a deletion
of what is not there) makes no new version, as in BIND.  They start with
a C{REQUIRE} of the served SOA record (L{Decision.pin}): the edit applies
only to the very version the update was checked against; when another
edit came first, the caller decides again on the new version.  The
prerequisites follow as C{REQUIRE}/C{REQUIRE_ABSENT} changes.
"""

from __future__ import annotations

from typing import Iterable

import attrs
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from secdns.config import SECONDARY
from secdns.wire.compact import OwnerKey, decode, key_of
from secdns.wire.update import UpdateRecord, UpdateRequest
from secdns.zones.edit import ADD, REMOVE, REQUIRE, REQUIRE_ABSENT, Change
from secdns.zones.serial import serial_gt
from secdns.zones.version import ZoneData
from secdns.zones.zone import Zone, zone_label

__all__ = ["Decision", "authorise", "decide", "failed_rcode", "MAX_TTL"]

IN = dns.rdataclass.IN
ANY_CLASS = dns.rdataclass.ANY
NONE_CLASS = dns.rdataclass.NONE
ANY = dns.rdatatype.ANY
SOA = dns.rdatatype.SOA
NS = dns.rdatatype.NS
CNAME = dns.rdatatype.CNAME
RRSIG = dns.rdatatype.RRSIG
NSEC = dns.rdatatype.NSEC
NSEC3 = dns.rdatatype.NSEC3
NO_COVERS = dns.rdatatype.NONE

#: The largest TTL; one above is taken as 0 (RFC 2181 section 8).
MAX_TTL = 0x7FFFFFFF

#: Types that may sit beside a CNAME (as L{secdns.zones.edit} checks a zone).
_BESIDE_CNAME = frozenset((CNAME, RRSIG, NSEC))
#: Types an UPDATE may not touch: DNSSEC's chain and signatures.
_DNSSEC = frozenset((NSEC, NSEC3, RRSIG))

NOERROR = dns.rcode.NOERROR
FORMERR = dns.rcode.FORMERR
SERVFAIL = dns.rcode.SERVFAIL
NXDOMAIN = dns.rcode.NXDOMAIN
REFUSED = dns.rcode.REFUSED
YXDOMAIN = dns.rcode.YXDOMAIN
YXRRSET = dns.rcode.YXRRSET
NXRRSET = dns.rcode.NXRRSET
NOTAUTH = dns.rcode.NOTAUTH
NOTZONE = dns.rcode.NOTZONE


@attrs.frozen
class Decision:
    """
    What to do with an UPDATE.

    @ivar rcode: the answer, unless the changes fail when applied.
    @ivar reason: why, for the log, when the rcode is not NOERROR.
    @ivar changes: for NOERROR: the pin (L{pin}), the prerequisites, then
        the changes; empty when the update changes nothing.
    @ivar ignored: the update records ignored (section 3.4.2), and why.
    """

    rcode: int
    reason: str = ""
    changes: tuple[Change, ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def pin(self) -> Change | None:
        """The C{REQUIRE} of the SOA record of the version decided on."""
        return self.changes[0] if self.changes else None


def failed_rcode(change: Change) -> int:
    """The rcode of a prerequisite that does not hold (RFC 2136 section 3.2)."""
    if change.operation == REQUIRE:
        return NXDOMAIN if change.rdtype is None else NXRRSET
    return YXDOMAIN if change.rdtype is None else YXRRSET


def authorise(request: UpdateRequest, zone: Zone | None, key_name: dns.name.Name | None) -> Decision | None:
    """
    Whether an UPDATE may be looked at: the NOTAUTH or REFUSED it gets
    before anything else (the first lines of the module docstring's
    table), or L{None}.  It depends on the config only, never on a version.
    """
    if request.zone_class != IN or zone is None or zone.name != request.zone:
        return Decision(NOTAUTH, f"{_text(request.zone)}: not a zone we serve")
    label = zone.label
    if zone.config.type == SECONDARY:
        return Decision(REFUSED, f"zone {label} is a secondary: updates go to its primary (secdns forwards none)")
    allowed = zone.config.allow_update
    if not allowed:
        return Decision(REFUSED, f"zone {label} takes no updates (no allow_update)")
    if key_name is None:
        return Decision(REFUSED, f"zone {label} takes only updates signed with a key of its allow_update")
    if key_name not in allowed:
        return Decision(REFUSED, f"key {zone_label(key_name)} is not in zone {label}'s allow_update")
    return None


def decide(request: UpdateRequest, zone: Zone | None, key_name: dns.name.Name | None) -> Decision:
    """
    Decide an UPDATE for C{zone} (the zone whose apex is the zone section's
    name, if we serve one), signed with C{key_name} (verified) or unsigned,
    against the version C{zone} serves now.  See the module docstring.
    """
    refused = authorise(request, zone, key_name)
    if refused is not None:
        return refused
    label = zone.label
    data = zone.data
    if data is None:
        return Decision(SERVFAIL, f"zone {label} is not loaded yet")
    origin = data.origin

    refused = _prescan(origin, request.updates)
    if refused is not None:
        return refused

    names = _Names(data)
    required: list[Change] = []  # the prerequisites as changes (those edit can check: see _checkable)
    by_value: dict[tuple[OwnerKey, int], tuple[dns.name.Name, list[dns.rdata.Rdata]]] = {}
    for rr in request.prerequisites:
        what = _what(rr)
        if rr.ttl != 0:
            return Decision(FORMERR, f"prerequisite {what}: TTL is not zero")
        if not rr.name.is_subdomain(origin):
            return Decision(NOTZONE, f"prerequisite {what}: name is outside the zone")
        if rr.rdclass == ANY_CLASS:
            if rr.rdtype == ANY:
                required.append(Change(REQUIRE, rr.name))
                if not names.in_use(rr.name):
                    return Decision(NXDOMAIN, f"prerequisite 'name in use' not satisfied: {_text(rr.name)}")
            else:
                _require(required, Change(REQUIRE, rr.name, rr.rdtype))
                if not names.has(rr.name, rr.rdtype):
                    return Decision(NXRRSET, f"prerequisite 'RRset exists' not satisfied: {what}")
        elif rr.rdclass == NONE_CLASS:
            if rr.rdtype == ANY:
                required.append(Change(REQUIRE_ABSENT, rr.name))
                if names.in_use(rr.name):
                    return Decision(YXDOMAIN, f"prerequisite 'name not in use' not satisfied: {_text(rr.name)}")
            else:
                _require(required, Change(REQUIRE_ABSENT, rr.name, rr.rdtype))
                if names.has(rr.name, rr.rdtype):
                    return Decision(YXRRSET, f"prerequisite 'RRset does not exist' not satisfied: {what}")
        elif rr.rdclass == request.zone_class:
            _require(required, Change(REQUIRE, rr.name, rr.rdtype, rr.rdata))
            by_value.setdefault((key_of(rr.name), rr.rdtype), (rr.name, []))[1].append(rr.rdata)
        else:
            return Decision(FORMERR, f"prerequisite {what}: class {dns.rdataclass.to_text(rr.rdclass)}")
    for (_, rdtype), (name, rdatas) in by_value.items():
        if not names.equals(name, rdtype, rdatas):
            return Decision(
                NXRRSET,
                f"prerequisite 'RRset exists (value dependent)' not satisfied: {_text(name)} {dns.rdatatype.to_text(rdtype)}",
            )

    ignored = [message for rr in request.updates if (message := names.update(rr)) is not None]
    lame = names.lame_name_server()
    if lame is not None:
        return Decision(REFUSED, f"post-update name server check failed: {lame}")
    changes = names.changes()
    if not changes:
        return Decision(NOERROR, "nothing to change", (), tuple(ignored))
    pin = Change(REQUIRE, origin, SOA, data.soa[0])
    return Decision(NOERROR, "", (pin, *required, *changes), tuple(ignored))


def _require(required: list[Change], change: Change) -> None:
    """
    Keep a prerequisite as a change, if L{secdns.zones.edit} can check it:
    not one of a meta type (a valid prerequisite, which edit refuses as a
    record type) nor of RRSIG (whose RRsets edit finds by what they cover).
    The pin holds the version those were checked against anyway.
    """
    if not (dns.rdatatype.is_metatype(change.rdtype) or change.rdtype == RRSIG):
        required.append(change)


def _prescan(origin: dns.name.Name, updates: Iterable[UpdateRecord]) -> Decision | None:
    """RFC 2136 section 3.4.1, each record in order: the first failure, or L{None}."""
    for rr in updates:
        what = _what(rr)
        if not rr.name.is_subdomain(origin):
            return Decision(NOTZONE, f"update {what}: name is outside the zone")
        meta = dns.rdatatype.is_metatype(rr.rdtype)
        if rr.rdclass == IN:
            if meta:
                return Decision(FORMERR, f"update {what}: {dns.rdatatype.to_text(rr.rdtype)} is not a record type")
        elif rr.rdclass == ANY_CLASS:
            if rr.ttl != 0 or (meta and rr.rdtype != ANY):
                return Decision(FORMERR, f"update {what}: a deletion needs TTL 0 and a record type or ANY")
        elif rr.rdclass == NONE_CLASS:
            if rr.ttl != 0 or meta:
                return Decision(FORMERR, f"update {what}: a deletion needs TTL 0 and a record type")
        else:
            return Decision(FORMERR, f"update {what}: class {dns.rdataclass.to_text(rr.rdclass)}")
        if rr.rdtype in _DNSSEC:
            return Decision(
                REFUSED, f"update {what}: {dns.rdatatype.to_text(rr.rdtype)} records are not updated (secdns does not sign zones)"
            )
    return None


@attrs.define
class _RRset:
    ttl: int
    rdatas: list[dns.rdata.Rdata]


#: An RRset's place at its owner: its type and, for RRSIG, the type it covers.
_Slot = tuple[int, int]


class _Names:
    """
    The names an update reads and changes: copy-on-write over a version,
    each name's RRsets read from the version once, and changed here.
    """

    def __init__(self, data: ZoneData) -> None:
        self.data = data
        self.origin = data.origin
        self.names: dict[OwnerKey, dns.name.Name] = {}
        self.before: dict[OwnerKey, dict[_Slot, _RRset]] = {}
        self.after: dict[OwnerKey, dict[_Slot, _RRset]] = {}

    def rrsets(self, name: dns.name.Name) -> dict[_Slot, _RRset]:
        key = key_of(name)
        rrsets = self.after.get(key)
        if rrsets is None:
            blob = self.data.owners.get(key)
            found = {} if blob is None else {
                (rds.rdtype, rds.covers): _RRset(rds.ttl, list(rds)) for rds in decode(blob)
            }
            self.before[key] = found
            self.after[key] = rrsets = {slot: _RRset(rrset.ttl, list(rrset.rdatas)) for slot, rrset in found.items()}
            self.names[key] = self.data.name_of(key) if blob is not None else name
        return rrsets

    def in_use(self, name: dns.name.Name) -> bool:
        return bool(self.rrsets(name))

    def has(self, name: dns.name.Name, rdtype: int) -> bool:
        return any(slot[0] == rdtype for slot in self.rrsets(name))

    def equals(self, name: dns.name.Name, rdtype: int, rdatas: list[dns.rdata.Rdata]) -> bool:
        """Whether the RRset of C{rdtype} at C{name} is exactly C{rdatas}."""
        found = [rdata for slot, rrset in self.rrsets(name).items() if slot[0] == rdtype for rdata in rrset.rdatas]
        return sorted(map(self._canonical, found)) == sorted(map(self._canonical, rdatas))

    def _canonical(self, rdata: dns.rdata.Rdata) -> bytes:
        return rdata.to_digestable(self.origin)

    # -- the update section, applied (RFC 2136 section 3.4.2)

    def update(self, rr: UpdateRecord) -> str | None:
        """Apply one update record; why it was ignored, if it was."""
        if rr.rdclass == IN:
            return self._add(rr)
        if rr.rdclass == ANY_CLASS:
            return self._delete_rrsets(rr)
        return self._delete_record(rr)

    def _add(self, rr: UpdateRecord) -> str | None:
        name, rdtype, rdata = rr.name, rr.rdtype, rr.rdata
        ttl = rr.ttl if rr.ttl <= MAX_TTL else 0
        rrsets = self.rrsets(name)
        if rdtype == SOA:
            current = rrsets.get((SOA, NO_COVERS))
            if current is None:
                return f"{_what(rr)}: an SOA record belongs at the zone apex only"
            if not serial_gt(rdata.serial, current.rdatas[0].serial):
                return f"{_what(rr)}: the SOA serial is not greater than {current.rdatas[0].serial}"
            rrsets[(SOA, NO_COVERS)] = _RRset(ttl, [rdata])
            return None
        if rdtype == CNAME:
            others = sorted(dns.rdatatype.to_text(slot[0]) for slot in rrsets if slot[0] not in _BESIDE_CNAME)
            if others:
                return f"{_what(rr)}: a CNAME cannot be beside other data ({', '.join(others)})"
            rrsets[(CNAME, NO_COVERS)] = _RRset(ttl, [rdata])  # one CNAME: a new one replaces it
            return None
        if (CNAME, NO_COVERS) in rrsets and rdtype not in _BESIDE_CNAME:
            return f"{_what(rr)}: other data cannot be beside a CNAME"
        if rdtype == NS and name.is_wild():
            return f"{_what(rr)}: a wildcard NS record"
        rrset = rrsets.setdefault((rdtype, NO_COVERS), _RRset(ttl, []))
        if rdata not in rrset.rdatas:
            rrset.rdatas.append(rdata)
        rrset.ttl = ttl  # an RRset has one TTL: the last given (as BIND does)
        return None

    def _delete_rrsets(self, rr: UpdateRecord) -> str | None:
        rrsets = self.rrsets(rr.name)
        at_apex = rr.name == self.origin
        if rr.rdtype == ANY:
            for slot in list(rrsets):
                # The apex keeps its SOA and NS; signatures are not ours to delete there.
                if not (at_apex and (slot[0] in (SOA, NS) or slot[1] != NO_COVERS)):
                    del rrsets[slot]
            return None
        if at_apex and rr.rdtype in (SOA, NS):
            return f"{_what(rr)}: the zone apex's SOA and NS RRsets are not deleted"
        for slot in [slot for slot in rrsets if slot[0] == rr.rdtype]:
            del rrsets[slot]
        return None

    def _delete_record(self, rr: UpdateRecord) -> str | None:
        if rr.rdtype == SOA:
            return f"{_what(rr)}: the SOA record is not deleted"
        rrsets = self.rrsets(rr.name)
        rrset = rrsets.get((rr.rdtype, NO_COVERS))
        if rrset is None or rr.rdata not in rrset.rdatas:
            return None
        if rr.rdtype == NS and rr.name == self.origin and len(rrset.rdatas) == 1:
            return f"{_what(rr)}: the zone apex's last NS record is not deleted"
        rrset.rdatas.remove(rr.rdata)
        if not rrset.rdatas:
            del rrsets[(rr.rdtype, NO_COVERS)]
        return None

    # -- BIND's post-update name server check

    def lame_name_server(self) -> str | None:
        """
        What makes the apex NS RRset lame, if the update did: an NS record
        it added, or a name whose addresses it removed, leaves an apex NS
        target inside the zone (and not below a delegation) without an A or
        AAAA record.  BIND refuses such an update ("post update name server
        sanity check failed"), and loads no zone in that state; a zone
        already in it (a new dynamic zone's C{ns1}) is not held against an
        update that does not touch it.
        """
        apex = self.rrsets(self.origin).get((NS, NO_COVERS))
        if apex is None:
            return None
        before = self.before[key_of(self.origin)].get((NS, NO_COVERS))
        old_targets = [] if before is None else before.rdatas
        for rdata in apex.rdatas:
            target = rdata.target
            if not target.is_subdomain(self.origin) or self._below_cut(target):
                continue
            at = self.rrsets(target)
            if (dns.rdatatype.A, NO_COVERS) in at or (dns.rdatatype.AAAA, NO_COVERS) in at:
                continue
            key = key_of(target)
            had_address = any(slot[0] in (dns.rdatatype.A, dns.rdatatype.AAAA) for slot in self.before.get(key, {}))
            if rdata not in old_targets or had_address:
                return f"NS {_text(target)} at the apex has no address record (A or AAAA)"
        return None

    def _below_cut(self, name: dns.name.Name) -> bool:
        """Whether C{name} is at or below a delegation (NS below the apex): glue, not ours to check."""
        while name != self.origin:
            if (NS, NO_COVERS) in self.rrsets(name):
                return True
            name = name.parent()
        return False

    # -- what changed

    def changes(self) -> list[Change]:
        """
        The difference between the names as read and as changed, as
        changes L{secdns.zones.edit.apply} makes the same of: for each
        name, its additions (an RRset's TTL with them) before its
        removals, so that a replaced apex NS or CNAME never passes through
        none; a name left with nothing is removed whole (signatures too,
        which edit removes only with their name).
        """
        changes: list[Change] = []
        for key, after in self.after.items():
            before = self.before[key]
            name = self.names[key]
            at_apex = name == self.origin
            if not at_apex and before and not after:
                changes.append(Change(REMOVE, name))
                continue
            adds, removes = [], []
            for slot in {**before, **after}:
                old, new = before.get(slot), after.get(slot)
                old_rdatas = [] if old is None else old.rdatas
                new_rdatas = [] if new is None else new.rdatas
                added = [rdata for rdata in new_rdatas if rdata not in old_rdatas]
                if slot == (SOA, NO_COVERS):
                    if added or new.ttl != old.ttl:
                        adds.append(Change(ADD, name, SOA, new_rdatas[0], new.ttl))  # an SOA added replaces the SOA
                    continue
                if new is not None and (added or (old is not None and new.ttl != old.ttl)):
                    adds.extend(Change(ADD, name, slot[0], rdata, new.ttl) for rdata in added or new_rdatas[:1])
                removes.extend(Change(REMOVE, name, slot[0], rdata) for rdata in old_rdatas if rdata not in new_rdatas)
            changes += adds + removes
        return changes


def _text(name: dns.name.Name) -> str:
    return name.to_text()


def _what(rr: UpdateRecord) -> str:
    rdata = "" if rr.rdata is None else " " + rr.rdata.to_text()
    return f"{_text(rr.name)} {rr.ttl} {dns.rdataclass.to_text(rr.rdclass)} {dns.rdatatype.to_text(rr.rdtype)}{rdata}"
