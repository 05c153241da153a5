# -*- test-case-name: tests.unit.test_lookup -*-
"""
One version of a zone's contents, never changed once built.

A L{ZoneData} is what a query reads and what a transfer sends.  A new
version (a reloaded file, an applied transfer) is a new L{ZoneData}, and the
zone swaps its reference to it in one assignment, so a query sees exactly
one version.  The indexes a lookup needs (names that exist, zone cuts,
DNAMEs, the NSEC and NSEC3 chains) are computed once, here.

The records are kept in compact wire form, one C{bytes} per owner name
(L{secdns.wire.compact}); dnspython's objects are made from it for the names
queries ask about, and those of the names asked last are kept (L{NodeCache}).

A version holds no caches: it is a value, shared by queries, transfers and
threads.  What the code that reads it makes for it (those nodes, the query
path's rendered answers, a transfer's wire form) is kept beside it by that
code, in a L{PerVersion}, and goes when the version does: a swap drops it.
"""

from __future__ import annotations

import bisect
import functools
import weakref
from typing import Callable, Generic, Iterable, Iterator, Mapping, TypeVar

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
from secdns.wire.compact import OwnerKey, decode, encode, key_of, name_from_labels, node_of, rrset_types

__all__ = ["ZoneData", "Nsec3Chain", "NodeCache", "PerVersion", "from_zone", "from_owners", "from_rrsets", "with_serial"]

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

T = TypeVar("T")


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


class NodeCache:
    """
    The nodes made for queries, by the labels of the name asked (a tuple:
    hashed in C).  Two generations of L{SIZE}: when the young one is full
    it becomes the old one, and a node found there moves back, so a node
    used twice in one query is the same object both times.  Making a node
    costs 7 to 50 us (dnspython's rdata objects, hashed into their
    RRsets); a zone whose busy names fit here makes each once.
    """

    SIZE = 16384

    def __init__(self) -> None:
        self.young: dict[tuple[bytes, ...], dns.node.Node] = {}
        self.old: dict[tuple[bytes, ...], dns.node.Node] = {}

    def get(self, labels: tuple[bytes, ...]) -> dns.node.Node | None:
        node = self.young.get(labels)
        if node is None:
            node = self.old.get(labels)
            if node is not None:
                self.keep(labels, node)
        return node

    def keep(self, labels: tuple[bytes, ...], node: dns.node.Node) -> None:
        if len(self.young) >= self.SIZE:
            self.old, self.young = self.young, {}
        self.young[labels] = node


class PerVersion(dict, Generic[T]):
    """
    What some code made for each zone version (a memo, a cache), kept
    beside the version rather than in it, so that a version stays a value;
    an entry goes when its version does.

    A dict by C{id(version)}, so that the query path finds an entry with
    one C{get(id(data))}: half the cost of a C{WeakKeyDictionary} lookup.
    An id is unique while its object lives, and the entry is dropped by a
    weak reference's callback, which runs before the version's memory (and
    so its id) can be reused.
    """

    __slots__ = ("_make", "_refs")

    def __init__(self, make: Callable[[], T]) -> None:
        super().__init__()
        self._make = make
        self._refs: dict[int, weakref.ref] = {}

    def of(self, data: "ZoneData") -> T:
        """The value for C{data}, made now if it has none."""
        key = id(data)
        value = self.get(key)
        if value is None:
            value = self[key] = self._make()
            self._refs[key] = weakref.ref(data, functools.partial(self._drop, key))
        return value

    def _drop(self, key: int, ref: weakref.ref) -> None:
        if self._refs.get(key) is ref:  # not a newer version's entry
            del self[key], self._refs[key]


@attrs.frozen(eq=False)
class ZoneData:
    """
    The contents of one version of a zone, with the indexes lookups need.

    @ivar origin: the zone's apex.
    @ivar owners: owner key to its records in compact form; never mutated once built.
    @ivar serial: the SOA serial of this version.
    @ivar record_count: how many records C{owners} holds.
    @ivar soa: the apex SOA RRset.
    @ivar cased: the names of the owners whose name is not all lowercase.
    @ivar empty_nonterminals: names that own nothing but have descendants:
        they exist (RFC 4592 section 2.2.2).
    @ivar hidden: owners of nothing but NSEC3 records (and their RRSIGs):
        hashes, not names of the zone's tree (RFC 5155), so they do not exist.
    @ivar cut_keys: owners below the apex that have NS records: delegations.
    @ivar dname_keys: owners that have a DNAME record.
    @ivar wildcard_keys: owners whose first label is C{*}.
    @ivar nsec_order: the NSEC owners' keys, each reversed (the root label
        first), sorted: the DNSSEC canonical order (RFC 4034 section 6.1).
    @ivar nsec3: the NSEC3 chain, if the zone has one.
    @ivar signed: whether the zone is signed: a DNSKEY RRset at the apex and
        an NSEC or NSEC3 chain (NSEC3PARAM) there, as BIND decides it.
    """

    origin: dns.name.Name
    owners: Mapping[OwnerKey, bytes] = attrs.field(repr=False)
    serial: int
    record_count: int
    soa: dns.rdataset.Rdataset = attrs.field(repr=False)
    cased: Mapping[OwnerKey, dns.name.Name] = attrs.field(repr=False)
    empty_nonterminals: frozenset[OwnerKey] = attrs.field(repr=False)
    hidden: frozenset[OwnerKey] = attrs.field(repr=False)
    cut_keys: frozenset[OwnerKey] = attrs.field(repr=False)
    dname_keys: frozenset[OwnerKey] = attrs.field(repr=False)
    wildcard_keys: frozenset[OwnerKey] = attrs.field(repr=False)
    nsec_order: tuple[OwnerKey, ...] = attrs.field(repr=False)
    nsec3: Nsec3Chain | None = attrs.field(repr=False)
    negative_soa: tuple[dns.rdataset.Rdataset, dns.rdataset.Rdataset | None] = attrs.field(repr=False)
    signed: bool = False

    @property
    def origin_key(self) -> OwnerKey:
        return key_of(self.origin)

    def name_of(self, key: OwnerKey) -> dns.name.Name:
        """The owner name of C{key}, in its original case."""
        return _name(self.cased, key)

    def exists(self, name: dns.name.Name) -> bool:
        """Whether C{name} exists in the zone's tree: it owns records, or is an empty non-terminal."""
        key = key_of(name)
        if key in self.owners:
            return key not in self.hidden
        return key in self.empty_nonterminals

    def node(self, name: dns.name.Name) -> dns.node.Node | None:
        """The records of C{name}, if it owns any (the same object while it stays in L{NODES})."""
        nodes = NODES.get(id(self))
        if nodes is None:
            nodes = NODES.of(self)
        labels = name.labels
        node = nodes.get(labels)
        if node is None:
            blob = self.owners.get(key_of(name))
            if blob is None:
                return None
            node = node_of(blob)
            nodes.keep(labels, node)
        return node

    def rdataset(
        self, name: dns.name.Name, rdtype: int, covers: int = NONE
    ) -> dns.rdataset.Rdataset | None:
        node = self.node(name)
        if node is None:
            return None
        return node.get_rdataset(IN, rdtype, covers)

    def signature(self, name: dns.name.Name, rdtype: int) -> dns.rdataset.Rdataset | None:
        """The RRSIGs at C{name} covering C{rdtype}, if any."""
        return self.rdataset(name, RRSIG, rdtype)

    def nsec_covering(self, name: dns.name.Name) -> dns.name.Name | None:
        """The owner of the NSEC record that matches or covers C{name}."""
        if not self.nsec_order:
            return None
        i = bisect.bisect_right(self.nsec_order, key_of(name)[::-1]) - 1
        return self.name_of(self.nsec_order[i][::-1])

    def rrsets(self) -> Iterator[tuple[dns.name.Name, dns.rdataset.Rdataset]]:
        """
        Every RRset, the apex SOA first (as a transfer sends them).  Made
        afresh, not kept: this may run in another thread than queries.
        """
        soa = self.soa
        yield self.origin, soa
        origin_key = self.origin_key
        for key, blob in self.owners.items():
            name = self.name_of(key)
            for rds in decode(blob):
                if not (rds.rdtype == SOA and key == origin_key):
                    yield name, rds


#: The nodes made for queries, by version (L{ZoneData.node}).
NODES: PerVersion[NodeCache] = PerVersion(NodeCache)


def from_zone(zone: dns.zone.Zone) -> ZoneData:
    """
    Build a version from a dnspython zone (absolute names), checking it.

    @raise ZoneLoadError: no SOA, several SOAs, no NS at the apex, or names
        outside the zone.
    """
    owners = {}
    cased = {}
    count = 0
    for name, node in zone.nodes.items():
        if not len(node.rdatasets):
            continue
        key = key_of(name)
        owners[key] = encode(node.rdatasets)
        if key != name.labels:
            cased[key] = name
        count += sum(len(rds) for rds in node.rdatasets)
    return from_owners(zone.origin, owners, cased, count)


def from_owners(
    origin: dns.name.Name, owners: dict[OwnerKey, bytes], cased: Mapping[OwnerKey, dns.name.Name], record_count: int
) -> ZoneData:
    """
    Build a version from owners' compact forms (L{secdns.wire.compact}),
    taking C{owners}, checking it and computing its indexes.

    @raise ZoneLoadError: no SOA, several SOAs, no NS at the apex, an SOA
        elsewhere, or names outside the zone.
    """
    label = origin.to_text(omit_final_dot=True)
    origin_key = key_of(origin)
    apex_blob = owners.get(origin_key)
    apex = node_of(apex_blob) if apex_blob is not None else None
    soa = apex.get_rdataset(IN, SOA) if apex is not None else None
    if soa is None:
        raise ZoneLoadError(label, "", "no SOA record at the zone apex")
    if len(soa) != 1:
        raise ZoneLoadError(label, "", f"{len(soa)} SOA records at the apex; there must be one")
    if apex.get_rdataset(IN, NS) is None:
        raise ZoneLoadError(label, "", "no NS records at the zone apex")

    depth = len(origin_key)
    entry_depth = depth + 1  # a child of the apex: its only ancestor is the apex
    plain = _PLAIN_SIZES
    empty = set()
    hidden = set()
    cuts = set()
    dnames = set()
    wildcards = set()
    nsec_keys = []
    nsec3_keys = []
    for key, blob in owners.items():
        size = len(key)
        if size < depth or key[size - depth :] != origin_key:
            raise ZoneLoadError(label, "", f"{_name(cased, key)} is outside the zone")
        if key[0] == b"*":
            wildcards.add(key)
        if plain.get(blob[:2]) == len(blob):
            types = ()  # one A or AAAA record: nothing to index
        else:
            types = rrset_types(blob)
            if all(NSEC3 in kind for kind in types):
                hidden.add(key)
                nsec3_keys.append(key)
                continue  # a hash, not a name of the zone's tree
        for rdtype, _ in types:
            if rdtype == NS and size != depth:
                cuts.add(key)
            elif rdtype == DNAME:
                dnames.add(key)
            elif rdtype == NSEC:
                nsec_keys.append(key[::-1])
            elif rdtype == NSEC3:
                nsec3_keys.append(key)
            elif rdtype == SOA and size != depth:
                raise ZoneLoadError(label, "", f"SOA record at {_name(cased, key)}, not at the apex")
        if size > entry_depth:
            for i in range(1, size - depth):
                ancestor = key[i:]
                if ancestor in owners and ancestor not in hidden or ancestor in empty:
                    break
                empty.add(ancestor)

    nsec_keys.sort()
    signed = apex.get_rdataset(IN, DNSKEY) is not None and (
        apex.get_rdataset(IN, NSEC) is not None or apex.get_rdataset(IN, NSEC3PARAM) is not None
    )
    return ZoneData(
        origin=origin,
        owners=owners,
        serial=soa[0].serial,
        record_count=record_count,
        soa=soa,
        cased=cased,
        empty_nonterminals=frozenset(empty),
        hidden=frozenset(hidden),
        cut_keys=frozenset(cuts),
        dname_keys=frozenset(dnames),
        wildcard_keys=frozenset(wildcards),
        nsec_order=tuple(nsec_keys),
        nsec3=_nsec3_chain(apex, nsec3_keys, owners, cased),
        negative_soa=_negative_soa(soa, apex.get_rdataset(IN, RRSIG, SOA)),
        signed=signed,
    )


def with_serial(data: ZoneData, serial: int) -> ZoneData:
    """The same contents under another SOA serial (the served version is left as it is)."""
    soa = data.soa
    new_soa = dns.rdataset.Rdataset(IN, SOA)
    new_soa.add(soa[0].replace(serial=serial), soa.ttl)
    origin_key = data.origin_key
    apex = [new_soa if rds.rdtype == SOA else rds for rds in decode(data.owners[origin_key])]
    owners = dict(data.owners)
    owners[origin_key] = encode(apex)
    return from_owners(data.origin, owners, data.cased, data.record_count)


def from_rrsets(origin: dns.name.Name, rrsets: Iterable[dns.rrset.RRset]) -> ZoneData:
    """Build a version from RRsets (as a transfer delivers them)."""
    zone = dns.zone.Zone(origin, relativize=False)
    for rrset in rrsets:
        node = zone.find_node(rrset.name, create=True)
        rds = node.find_rdataset(rrset.rdclass, rrset.rdtype, rrset.covers, create=True)
        rds.update(rrset)
    return from_zone(zone)


#: The first two octets and the length of an owner's compact form that
#: holds a single A or a single AAAA record, as most owners of big zones do.
_PLAIN_SIZES = {dns.rdatatype.A.to_bytes(2, "big"): 12, dns.rdatatype.AAAA.to_bytes(2, "big"): 24}


def _nsec3_chain(apex, keys, owners, cased) -> Nsec3Chain | None:
    if not keys:
        return None
    param = apex.get_rdataset(IN, NSEC3PARAM)
    if param is not None:
        source = param[0]
    else:
        source = node_of(owners[keys[0]]).get_rdataset(IN, NSEC3)[0]
    names = {key[0].decode("ascii"): _name(cased, key) for key in keys}
    return Nsec3Chain(
        salt=source.salt,
        iterations=source.iterations,
        algorithm=source.algorithm,
        hashes=tuple(sorted(names)),
        owners=names,
    )


def _name(cased, key: OwnerKey) -> dns.name.Name:
    name = cased.get(key)
    return name if name is not None else name_from_labels(key)


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
