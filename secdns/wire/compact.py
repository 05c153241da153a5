# -*- test-case-name: tests.unit.test_records -*-
"""
An owner name's records in compact wire form: what a zone version keeps.

Held as dnspython objects, a zone costs an object or more per record and
per name: a million records took 1.7 GB and most of a transfer's time to
build.  Held as one C{bytes} per owner name it costs some 200 bytes a
record, a transfer is read into it without an object per record, and
dnspython's objects are made only for the names a query asks about.

The records of one owner, their RRsets one after another::

    record:  type:u16  ttl:u32  rdlength:u16  rdata

The records of an RRset are contiguous and share its TTL; each RDATA is
in its uncompressed wire form, names in their original case (RFC 3597
section 4), so what is read back is what was received.  The class is IN.

An owner is keyed by its labels lowercased (L{OwnerKey}): equal when the
names are equal, hashed in C (a C{Name} hashes in Python), and each
ancestor's key is a slice of it.
"""

from __future__ import annotations

import socket
import struct
from typing import Iterable

import dns.name
import dns.node
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype

from secdns.wire.rdtypes import LAYOUTS, SINGLETONS, RdataLayout

__all__ = [
    "OwnerKey",
    "RECORD",
    "SINGLETONS",
    "key_of",
    "name_from_labels",
    "name_wire",
    "encode",
    "decode",
    "node_of",
    "rrset_types",
    "normalize",
]

IN = dns.rdataclass.IN
RRSIG = dns.rdatatype.RRSIG
NONE = dns.rdatatype.NONE

#: An owner name's labels, lowercased, the root label (b"") last.
OwnerKey = tuple[bytes, ...]

#: A record's head: type, TTL, RDLENGTH.
RECORD = struct.Struct("!HIH")

def key_of(name: dns.name.Name) -> OwnerKey:
    return tuple([label.lower() for label in name.labels])


def _name_direct(labels: tuple[bytes, ...]) -> dns.name.Name:
    name = object.__new__(dns.name.Name)
    object.__setattr__(name, "labels", labels)
    return name


def name_wire(labels: Iterable[bytes]) -> bytes:
    """The uncompressed wire form of an absolute name given by its labels."""
    return b"".join([bytes((len(label),)) + label for label in labels])


def encode(rdatasets: Iterable[dns.rdataset.Rdataset]) -> bytes:
    """The compact form of an owner's RRsets (dnspython's)."""
    parts = []
    pack = RECORD.pack
    for rds in rdatasets:
        rdtype, ttl = rds.rdtype, rds.ttl
        for rdata in rds:
            data = rdata.to_wire()
            parts.append(pack(rdtype, ttl, len(data)))
            parts.append(data)
    return b"".join(parts)


def decode(blob: bytes) -> list[dns.rdataset.Rdataset]:
    """The RRsets of an owner's compact form, as dnspython's objects."""
    found: dict[tuple[int, int], dns.rdataset.Rdataset] = {}
    unpack = RECORD.unpack_from
    offset = 0
    end = len(blob)
    while offset < end:
        rdtype, ttl, length = unpack(blob, offset)
        offset += 8
        fast = _FAST_RDATA.get(rdtype)
        rdata = None
        if fast is not None and length == fast[1]:
            rdata = fast[0](blob[offset : offset + length])
        elif fast is not None and fast[1] is None:
            rdata = fast[0](blob[offset : offset + length])  # None if not the simple form it reads
        if rdata is None:
            rdata = dns.rdata.from_wire(IN, rdtype, blob, offset, length)
        offset += length
        covers = rdata.covers() if rdtype == RRSIG else NONE
        rds = found.get((rdtype, covers))
        if rds is None:
            rds = found[(rdtype, covers)] = dns.rdataset.Rdataset(IN, rdtype, covers)
            rds.ttl = ttl
        rds.items[rdata] = None
    return list(found.values())


def node_of(blob: bytes) -> dns.node.Node:
    node = dns.node.Node()
    node.rdatasets.extend(decode(blob))
    return node


def rrset_types(blob: bytes) -> list[tuple[int, int]]:
    """The (type, covered type) of each RRset in an owner's compact form."""
    types = []
    unpack = RECORD.unpack_from
    offset = 0
    end = len(blob)
    last = None
    while offset < end:
        rdtype, _, length = unpack(blob, offset)
        kind = (rdtype, int.from_bytes(blob[offset + 8 : offset + 10], "big") if rdtype == RRSIG else NONE)
        if kind != last:
            types.append(kind)
            last = kind
        offset += 8 + length
    return types


def normalize(records: list[bytes]) -> tuple[bytes, int]:
    """
    Records of one owner (each a L{RECORD} head and its RDATA), in the
    order a transfer sent them, as a compact form: grouped by RRset, each
    record once (records equal but for the case of the names in them are
    one, the first received, as in dnspython's RRsets), each RRset with the
    lowest TTL of its records (as dnspython's C{Rdataset.update_ttl}), and
    for the types that hold one record (SOA, CNAME ...) the last one received.

    @return: the compact form, and how many records it holds.
    """
    groups: dict[tuple[int, bytes], dict[bytes, bytes]] = {}
    ttls: dict[tuple[int, bytes], int] = {}
    for record in records:
        rdtype, ttl, _ = RECORD.unpack_from(record)
        rdata = record[8:]
        group = (rdtype, rdata[:2] if rdtype == RRSIG else b"")
        members = groups.get(group)
        if members is None:
            members = groups[group] = {}
            ttls[group] = ttl
        elif rdtype in SINGLETONS:
            members.clear()
            ttls[group] = ttl
        elif ttl < ttls[group]:
            ttls[group] = ttl
        names_at = _NAMES_AT.get(rdtype)
        same = rdata if names_at is None else rdata[:names_at] + rdata[names_at:].lower()
        members.setdefault(same, rdata)
    parts = []
    count = 0
    for group, members in groups.items():
        head_type, ttl = group[0], ttls[group]
        for rdata in members.values():
            parts.append(RECORD.pack(head_type, ttl, len(rdata)))
            parts.append(rdata)
        count += len(members)
    return b"".join(parts), count


#: Types whose RDATA ends with names and nothing else, by where the names
#: start: lowercased from there, two such records compare as dnspython
#: compares them.  (A label's length octet, under 64, is no letter.)
_NAMES_AT = {
    layout.rdtype: layout.names_at
    for layout in LAYOUTS.values()
    if layout.names and layout.case_insensitive and not layout.after
}


# -- common records without dnspython's generic parser
#
# dnspython makes A and AAAA records from wire through their text form, and
# names through a parser that checks what the compact form already
# guarantees; at a million records that was most of a transfer's time,
# and it is the cost of each node a query makes.  These build the same
# immutable objects directly (their slots set as dnspython's own __init__
# would, where their layouts in secdns.wire.rdtypes say), and are only
# used if, at import, they give objects equal in every way that matters to
# dnspython's own.


def _set(rdata, rdtype: int, **fields):
    object.__setattr__(rdata, "rdclass", IN)
    object.__setattr__(rdata, "rdtype", rdtype)
    object.__setattr__(rdata, "rdcomment", None)
    for field, value in fields.items():
        object.__setattr__(rdata, field, value)
    return rdata


def _address_builder(cls, rdtype, family):
    def build(data: bytes):
        return _set(object.__new__(cls), rdtype, address=socket.inet_ntop(family, data))

    return build


def _name_at(data: bytes, offset: int) -> dns.name.Name | None:
    """The uncompressed name that ends C{data} from C{offset}, or L{None}."""
    labels = []
    end = len(data)
    while offset < end:
        length = data[offset]
        if length > 63:
            return None
        labels.append(data[offset + 1 : offset + 1 + length])
        offset += length + 1
        if not length:
            return name_from_labels(tuple(labels)) if offset == end else None
    return None


def _name_builder(cls, layout: RdataLayout):
    """A builder for a layout of numbers (or none) then one name that ends the RDATA: NS, MX ..."""
    rdtype = layout.rdtype
    (field,) = layout.names
    at = layout.names_at
    numbers = tuple(number.field for number in layout.before)
    unpack = layout.before_struct.unpack_from

    def build(data: bytes):
        target = _name_at(data, at)
        if target is None:
            return None
        rdata = _set(object.__new__(cls), rdtype)
        object.__setattr__(rdata, field, target)
        if numbers:
            for number, value in zip(numbers, unpack(data)):
                object.__setattr__(rdata, number, value)
        return rdata

    return build


def _same(fast, slow) -> bool:
    return (
        type(fast) is type(slow)
        and fast == slow
        and hash(fast) == hash(slow)
        and fast.to_text() == slow.to_text()
        and fast.to_wire() == slow.to_wire()
    )


def _checked_name_builder():
    name = dns.name.from_text("Www.Example.com")
    built = _name_direct(name.labels)
    same = built == name and hash(built) == hash(name) and built.to_wire() == name.to_wire() and str(built) == str(name)
    return _name_direct if same else dns.name.Name


#: A C{Name} from labels already known valid (a valid name's, its suffixes,
#: a wildcard label before them, or checked wire): dnspython's constructor
#: checks them again and costs ten times as much, on every query.
name_from_labels = _checked_name_builder()


#: The types whose objects are made here: what queries make nodes of most
#: (addresses, referrals, CNAME and DNAME chains, MX and its additional data).
_BUILT_HERE = (
    dns.rdatatype.A,
    dns.rdatatype.AAAA,
    dns.rdatatype.NS,
    dns.rdatatype.CNAME,
    dns.rdatatype.PTR,
    dns.rdatatype.DNAME,
    dns.rdatatype.MX,
)

_SAMPLE_ADDRESSES = {socket.AF_INET: "192.0.2.1", socket.AF_INET6: "2001:db8::1"}


def _checked_fast_rdata():
    """Type to (builder, RDATA length or None for any): those that agree with dnspython here."""
    target = dns.name.from_text("Mail.Example.com").to_wire()
    rdata = {}
    for rdtype in _BUILT_HERE:
        layout = LAYOUTS[rdtype]
        cls = dns.rdata.get_rdata_class(IN, rdtype)
        if layout.address_family is not None:
            build = _address_builder(cls, rdtype, layout.address_family)
            sample = socket.inet_pton(layout.address_family, _SAMPLE_ADDRESSES[layout.address_family])
        else:
            build = _name_builder(cls, layout)
            sample = layout.before_struct.pack(*range(10, 10 + len(layout.before))) + target
        if _same(build(sample), dns.rdata.from_wire(IN, rdtype, sample, 0, len(sample))):
            rdata[rdtype] = (build, layout.size)
    return rdata


_FAST_RDATA = _checked_fast_rdata()
