# -*- test-case-name: tests.unit.test_storage -*-
"""
Zone versions and RRsets to bytes and back, for the store.

A zone version (format 2) is its owners' compact forms
(L{secdns.wire.compact}), each after its name relative to the apex, so that
writing and reading it back make no object per record::

    owner:  labels (wire form, original case)  0x00  length:u32  records

(the apex itself is the 0x00 alone, the apex's labels in lowercase are
implied), or for a name whose apex part is not in lowercase::

    owner:  0xFF  name (uncompressed wire name)  length:u32  records

Journal entries (and zone versions saved in format 1) are RRsets in DNS
wire format, so that an owner name is parsed once per RRset rather than
once per record::

    RRset:  owner (uncompressed wire name)  type:u16  class:u16  ttl:u32  count:u16
            count × ( rdlength:u16  rdata )

Names inside rdata are written uncompressed and in their original case
(RFC 3597 section 4), so what is read back is what was received.
"""

from __future__ import annotations

import struct
from typing import Iterable, Iterator

import dns.name
import dns.rdata
import dns.rdataset
import dns.rdatatype

from secdns.wire.compact import OwnerKey, key_of, name_wire
from secdns.zones.version import ZoneData

__all__ = ["dump_rrsets", "load_rrsets", "dump_owners", "load_owners", "OWNERS_FORMAT", "RRSETS_FORMAT"]

#: The formats of a stored zone version.
RRSETS_FORMAT = 1
OWNERS_FORMAT = 2

_HEADER = struct.Struct("!HHIH")
_LENGTH = struct.Struct("!H")
_OWNER_LENGTH = struct.Struct("!I")
_OWNER_END = struct.Struct("!BI")  # the empty label that ends a relative name, and the records' length
_LENGTHS = tuple(bytes((n,)) for n in range(64))
_ABSOLUTE = b"\xff"  # not a label length: an absolute name follows (its apex part in another case)


#: Owners joined at once by L{dump_owners}: a join holds the interpreter
#: lock, and the store is written from a worker while the reactor answers.
_JOIN_EVERY = 4096


def dump_owners(data: ZoneData) -> bytes:
    """A zone version's owners, each name relative to the apex, in its original case."""
    out = []
    cased = data.cased
    depth = len(data.origin.labels)
    child = depth + 1
    lengths = _LENGTHS
    apex = data.origin_key
    parts = []  # joined every _JOIN_EVERY owners: one join of them all held up the reactor 40 ms
    for key, blob in data.owners.items():
        if len(out) == _JOIN_EVERY:
            parts.append(b"".join(out))
            out.clear()
        name = cased.get(key)
        labels = key if name is None else name.labels
        if name is not None and labels[len(labels) - depth :] != apex:  # the apex part not in lowercase
            out.append(_ABSOLUTE + name_wire(labels) + _OWNER_LENGTH.pack(len(blob)) + blob)
            continue
        if len(labels) == child:  # most owners: one label below the apex
            relative = lengths[len(labels[0])] + labels[0]
        else:
            relative = name_wire(labels[: len(labels) - depth])  # the apex's labels are implied
        out.append(relative + _OWNER_END.pack(0, len(blob)) + blob)
    parts.append(b"".join(out))
    return b"".join(parts)


def load_owners(origin: dns.name.Name, blob: bytes) -> tuple[dict[OwnerKey, bytes], dict[OwnerKey, dns.name.Name]]:
    """
    What L{dump_owners} wrote: owner key to compact form, and the names of
    owners not all lowercase.
    """
    owners: dict[OwnerKey, bytes] = {}
    cased: dict[OwnerKey, dns.name.Name] = {}
    apex_key = key_of(origin)
    unpack = _OWNER_LENGTH.unpack_from
    offset = 0
    end = len(blob)
    while offset < end:
        length = blob[offset]
        if length == _ABSOLUTE[0]:
            name, used = dns.name.from_wire(blob, offset + 1)
            offset += 1 + used
            key = key_of(name)
            cased[key] = name
        elif length and not blob[offset + 1 + length]:  # one label below the apex
            label = blob[offset + 1 : offset + 1 + length]
            offset += length + 2
            lowered = label.lower()
            key = (lowered,) + apex_key
            if lowered != label:
                cased[key] = dns.name.Name((label,) + apex_key)
        else:
            labels = []
            while length:
                labels.append(blob[offset + 1 : offset + 1 + length])
                offset += length + 1
                length = blob[offset]
            offset += 1
            spelled = tuple(labels) + apex_key
            key = tuple([label.lower() for label in spelled])
            if key != spelled:
                cased[key] = dns.name.Name(spelled)
        (size,) = unpack(blob, offset)
        offset += 4
        owners[key] = blob[offset : offset + size]
        offset += size
    return owners, cased


def dump_rrsets(rrsets: Iterable[tuple[dns.name.Name, dns.rdataset.Rdataset]]) -> bytes:
    """Serialise (owner, rdataset) pairs."""
    out = []
    for name, rds in rrsets:
        out.append(name.to_wire())
        out.append(_HEADER.pack(rds.rdtype, rds.rdclass, rds.ttl, len(rds)))
        for rdata in rds:
            wire = rdata.to_wire()
            out.append(_LENGTH.pack(len(wire)))
            out.append(wire)
    return b"".join(out)


def load_rrsets(blob: bytes) -> Iterator[tuple[dns.name.Name, dns.rdataset.Rdataset]]:
    """Read back what L{dump_rrsets} wrote."""
    offset = 0
    end = len(blob)
    while offset < end:
        name, used = dns.name.from_wire(blob, offset)
        offset += used
        rdtype, rdclass, ttl, count = _HEADER.unpack_from(blob, offset)
        offset += _HEADER.size
        rdatas = []
        for _ in range(count):
            (length,) = _LENGTH.unpack_from(blob, offset)
            offset += _LENGTH.size
            rdatas.append(dns.rdata.from_wire(rdclass, rdtype, blob, offset, length))
            offset += length
        covers = rdatas[0].covers() if rdatas else dns.rdatatype.NONE
        rds = dns.rdataset.Rdataset(rdclass, rdtype, covers)
        for rdata in rdatas:
            rds.add(rdata, ttl)
        yield name, rds
