# -*- test-case-name: tests.unit.test_storage -*-
"""
Zone versions and RRsets to bytes and back, for the store.

A zone version (format 2) is its owners' compact forms
(L{secdns.records}), each after its name, so that writing and reading it
back make no object per record::

    owner:  name (uncompressed wire name, original case)  length:u32  records

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

from secdns.records import OwnerKey, name_wire
from secdns.zonedata import ZoneData

__all__ = ["dump_rrsets", "load_rrsets", "dump_owners", "load_owners", "OWNERS_FORMAT", "RRSETS_FORMAT"]

#: The formats of a stored zone version.
RRSETS_FORMAT = 1
OWNERS_FORMAT = 2

_HEADER = struct.Struct("!HHIH")
_LENGTH = struct.Struct("!H")
_OWNER_LENGTH = struct.Struct("!I")


def dump_owners(data: ZoneData) -> bytes:
    """A zone version's owners, each name in its original case."""
    out = []
    cased = data.cased
    pack = _OWNER_LENGTH.pack
    for key, blob in data.owners.items():
        name = cased.get(key)
        out.append(name_wire(key if name is None else name.labels))
        out.append(pack(len(blob)))
        out.append(blob)
    return b"".join(out)


def load_owners(blob: bytes) -> tuple[dict[OwnerKey, bytes], dict[OwnerKey, dns.name.Name]]:
    """
    What L{dump_owners} wrote: owner key to compact form, and the names of
    owners not all lowercase.
    """
    owners: dict[OwnerKey, bytes] = {}
    cased: dict[OwnerKey, dns.name.Name] = {}
    unpack = _OWNER_LENGTH.unpack_from
    offset = 0
    end = len(blob)
    while offset < end:
        labels = []
        while True:
            length = blob[offset]
            labels.append(blob[offset + 1 : offset + 1 + length])
            offset += length + 1
            if not length:
                break
        spelled = tuple(labels)
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
