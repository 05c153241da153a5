# -*- test-case-name: tests.unit.test_lookup -*-
"""
One version of a zone's contents, never changed once built.

A L{ZoneData} is what a query reads and what a transfer sends.  A new
version (a reloaded file, an applied transfer) is a new L{ZoneData}, and the
zone swaps its reference to it in one assignment, so a query sees exactly
one version.  The indexes a lookup needs (names that exist, zone cuts,
DNAMEs, the NSEC and NSEC3 chains) are computed once, here.

Each version also carries C{answers}, a memo of rendered responses: it is
dropped together with the version it belongs to, so a swap invalidates it.
"""

from __future__ import annotations

import bisect
from typing import Iterable, Iterator, Mapping

import attrs
import dns.dnssec
import dns.name
import dns.node
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

from secdns.errors import ZoneLoadError

__all__ = ["ZoneData", "Nsec3Chain", "from_zone", "from_rrsets", "with_serial"]

IN = dns.rdataclass.IN
SOA = dns.rdatatype.SOA
NS = dns.rdatatype.NS
DNSKEY = dns.rdatatype.DNSKEY
DNAME = dns.rdatatype.DNAME
NSEC = dns.rdatatype.NSEC
NSEC3 = dns.rdatatype.NSEC3
NSEC3PARAM = dns.rdatatype.NSEC3PARAM
RRSIG = dns.rdatatype.RRSIG
NONE = dns.rdatatype.NONE


@attrs.frozen
class Nsec3Chain:
    """
    The NSEC3 records of a zone, by hash.

    @ivar hashes: the owner hashes (lowercase base32hex), sorted.
    @ivar owners: hash to owner name.
    """

    salt: bytes
    iterations: int
    algorithm: int
    hashes: tuple[str, ...]
    owners: Mapping[str, dns.name.Name]

    def hash_of(self, name: dns.name.Name) -> str:
        return dns.dnssec.nsec3_hash(name, self.salt, self.iterations, self.algorithm).lower()

    def matching(self, name: dns.name.Name) -> dns.name.Name | None:
        """The owner of the NSEC3 record whose hash is the hash of C{name}, if any."""
        return self.owners.get(self.hash_of(name))

    def covering(self, name: dns.name.Name) -> dns.name.Name | None:
        """The owner of the NSEC3 record whose span covers the hash of C{name}."""
        if not self.hashes:
            return None
        h = self.hash_of(name)
        i = bisect.bisect_left(self.hashes, h) - 1
        return self.owners[self.hashes[i]]  # i == -1 wraps to the last


@attrs.frozen(eq=False)
class ZoneData:
    """
    The contents of one version of a zone, with the indexes lookups need.

    @ivar origin: the zone's apex.
    @ivar nodes: owner name to dnspython node; never mutated once built.
    @ivar serial: the SOA serial of this version.
    @ivar existing: every owner name and each of its ancestors up to the apex,
        so that empty non-terminals exist (RFC 4592 section 2.2.2).
    @ivar cuts: names below the apex that have NS records: delegations.
    @ivar dnames: names that have a DNAME record.
    @ivar cut_keys: C{cuts}, each name as its labels lowercased (hashed in C,
        where a C{Name} hashes in Python); made from C{cuts}.
    @ivar dname_keys: C{dnames} likewise.
    @ivar wildcard_keys: likewise, the names of C{nodes} whose first label is C{*}.
    @ivar nsec_owners: the NSEC owners in canonical order (empty when unsigned).
    @ivar nsec3: the NSEC3 chain, if the zone has one.
    @ivar signed: whether the zone is signed: a DNSKEY RRset at the apex and
        an NSEC or NSEC3 chain (NSEC3PARAM) there, as BIND decides it.
    @ivar answers: rendered responses for this version, filled by the query path.
    @ivar rrset_wire: the wire form of this version's RRsets as answers
        write them (L{secdns.wire.rrset_wire}), filled by the query path.
    @ivar transfer_wire: this version's RRsets in wire form, in transfer
        order, filled by the first transfer out (L{secdns.xfrout}).
    """

    origin: dns.name.Name
    nodes: Mapping[dns.name.Name, dns.node.Node]
    serial: int
    existing: frozenset[dns.name.Name]
    cuts: frozenset[dns.name.Name]
    dnames: frozenset[dns.name.Name]
    nsec_owners: tuple[dns.name.Name, ...]
    nsec3: Nsec3Chain | None
    negative_soa: tuple[dns.rdataset.Rdataset, dns.rdataset.Rdataset | None]
    signed: bool = False
    cut_keys: frozenset[tuple[bytes, ...]] = attrs.field(
        init=False, repr=False, default=attrs.Factory(lambda self: _keys(self.cuts), takes_self=True)
    )
    dname_keys: frozenset[tuple[bytes, ...]] = attrs.field(
        init=False, repr=False, default=attrs.Factory(lambda self: _keys(self.dnames), takes_self=True)
    )
    wildcard_keys: frozenset[tuple[bytes, ...]] = attrs.field(
        init=False,
        repr=False,
        default=attrs.Factory(
            lambda self: _keys(name for name in self.nodes if name.labels[:1] == (b"*",)), takes_self=True
        ),
    )
    answers: dict = attrs.field(factory=dict, repr=False)
    rrset_wire: dict = attrs.field(factory=dict, repr=False)
    transfer_wire: list = attrs.field(factory=list, repr=False)

    @property
    def soa(self) -> dns.rdataset.Rdataset:
        return self.nodes[self.origin].find_rdataset(IN, SOA)

    @property
    def record_count(self) -> int:
        return sum(len(rds) for node in self.nodes.values() for rds in node.rdatasets)

    def rdataset(
        self, name: dns.name.Name, rdtype: int, covers: int = NONE
    ) -> dns.rdataset.Rdataset | None:
        node = self.nodes.get(name)
        if node is None:
            return None
        return node.get_rdataset(IN, rdtype, covers)

    def signature(self, name: dns.name.Name, rdtype: int) -> dns.rdataset.Rdataset | None:
        """The RRSIGs at C{name} covering C{rdtype}, if any."""
        return self.rdataset(name, RRSIG, rdtype)

    def nsec_covering(self, name: dns.name.Name) -> dns.name.Name | None:
        """The owner of the NSEC record that matches or covers C{name}."""
        if not self.nsec_owners:
            return None
        i = bisect.bisect_right(self.nsec_owners, name) - 1
        return self.nsec_owners[i]

    def rrsets(self) -> Iterator[tuple[dns.name.Name, dns.rdataset.Rdataset]]:
        """Every RRset, the apex SOA first (as a transfer sends them)."""
        soa = self.soa
        yield self.origin, soa
        for name, node in self.nodes.items():
            for rds in node.rdatasets:
                if rds is not soa:
                    yield name, rds


def from_zone(zone: dns.zone.Zone) -> ZoneData:
    """
    Build a version from a dnspython zone (absolute names), checking it.

    @raise ZoneLoadError: no SOA, several SOAs, no NS at the apex, or names
        outside the zone.
    """
    origin = zone.origin
    label = origin.to_text(omit_final_dot=True)
    nodes = {name: node for name, node in zone.nodes.items() if len(node.rdatasets)}
    apex = nodes.get(origin)
    soa = apex.get_rdataset(IN, SOA) if apex is not None else None
    if soa is None:
        raise ZoneLoadError(label, "", "no SOA record at the zone apex")
    if len(soa) != 1:
        raise ZoneLoadError(label, "", f"{len(soa)} SOA records at the apex; there must be one")
    if apex.get_rdataset(IN, NS) is None:
        raise ZoneLoadError(label, "", "no NS records at the zone apex")

    existing = {origin}
    cuts = set()
    dnames = set()
    nsec_owners = []
    nsec3_records = {}
    for name, node in nodes.items():
        if not name.is_subdomain(origin):
            raise ZoneLoadError(label, "", f"{name} is outside the zone")
        if not _only_nsec3(node):
            # NSEC3 owners are hashes, not names of the zone's tree (RFC 5155).
            ancestor = name
            while ancestor not in existing:
                existing.add(ancestor)
                ancestor = ancestor.parent()
        for rds in node.rdatasets:
            rdtype = rds.rdtype
            if rdtype == NS and name != origin:
                cuts.add(name)
            elif rdtype == DNAME:
                dnames.add(name)
            elif rdtype == NSEC:
                nsec_owners.append(name)
            elif rdtype == NSEC3:
                nsec3_records[name] = rds[0]
            elif rdtype == SOA and name != origin:
                raise ZoneLoadError(label, "", f"SOA record at {name}, not at the apex")

    nsec_owners.sort()
    return ZoneData(
        origin=origin,
        nodes=nodes,
        serial=soa[0].serial,
        existing=frozenset(existing),
        cuts=frozenset(cuts),
        dnames=frozenset(dnames),
        nsec_owners=tuple(nsec_owners),
        nsec3=_nsec3_chain(origin, apex, nsec3_records),
        negative_soa=_negative_soa(soa, apex.get_rdataset(IN, RRSIG, SOA)),
        signed=apex.get_rdataset(IN, DNSKEY) is not None
        and (apex.get_rdataset(IN, NSEC) is not None or apex.get_rdataset(IN, NSEC3PARAM) is not None),
    )


def with_serial(data: ZoneData, serial: int) -> ZoneData:
    """The same contents under another SOA serial (the served version is left as it is)."""
    soa = data.soa
    new_soa = dns.rdataset.Rdataset(IN, SOA)
    new_soa.add(soa[0].replace(serial=serial), soa.ttl)
    apex = dns.node.Node()
    for rds in data.nodes[data.origin].rdatasets:
        apex.rdatasets.append(new_soa if rds is soa else rds)
    zone = dns.zone.Zone(data.origin, relativize=False)
    zone.nodes.update(data.nodes)
    zone.nodes[data.origin] = apex
    return from_zone(zone)


def from_rrsets(origin: dns.name.Name, rrsets: Iterable[dns.rrset.RRset]) -> ZoneData:
    """Build a version from RRsets (as a transfer delivers them)."""
    zone = dns.zone.Zone(origin, relativize=False)
    for rrset in rrsets:
        node = zone.find_node(rrset.name, create=True)
        rds = node.find_rdataset(rrset.rdclass, rrset.rdtype, rrset.covers, create=True)
        rds.update(rrset)
    return from_zone(zone)


def _keys(names: Iterable[dns.name.Name]) -> frozenset[tuple[bytes, ...]]:
    return frozenset(tuple(label.lower() for label in name.labels) for name in names)


def _only_nsec3(node: dns.node.Node) -> bool:
    return all(NSEC3 in (rds.rdtype, rds.covers) for rds in node.rdatasets)


def _nsec3_chain(origin, apex, records) -> Nsec3Chain | None:
    if not records:
        return None
    param = apex.get_rdataset(IN, NSEC3PARAM)
    source = param[0] if param is not None else next(iter(records.values()))
    owners = {owner.labels[0].decode("ascii").lower(): owner for owner in records}
    return Nsec3Chain(
        salt=source.salt,
        iterations=source.iterations,
        algorithm=source.algorithm,
        hashes=tuple(sorted(owners)),
        owners=owners,
    )


def _negative_soa(soa, signature):
    """The SOA (and its RRSIG) with the negative-caching TTL of RFC 2308 section 3."""
    ttl = min(soa.ttl, soa[0].minimum)
    negative = dns.rdataset.Rdataset(IN, SOA)
    negative.update(soa)
    negative.ttl = ttl
    if signature is None:
        return negative, None
    negative_signature = dns.rdataset.Rdataset(IN, RRSIG, SOA)
    negative_signature.update(signature)
    negative_signature.ttl = ttl
    return negative, negative_signature
