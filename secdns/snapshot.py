# -*- test-case-name: tests.unit.test_storage -*-
"""
RRsets to bytes and back, for the store: zone snapshots and journal entries.

The format is DNS wire format grouped by RRset, so that an owner name is
parsed once per RRset rather than once per record::

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

__all__ = ["dump_rrsets", "load_rrsets"]

_HEADER = struct.Struct("!HHIH")
_LENGTH = struct.Struct("!H")


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
