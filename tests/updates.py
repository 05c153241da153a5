"""
DNS UPDATE messages built by hand, byte by byte, for the tests: dnspython's
UpdateMessage cannot send what RFC 2136 says to refuse (a TTL on a
deletion, RDATA on a class ANY record, a class other than IN, ANY or NONE),
and the tests send exactly that.
"""

from __future__ import annotations

import struct
import time

import dns.name
import dns.opcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from secdns.wire import tsig

__all__ = ["rr", "update_wire", "signed"]


def rr(name: str, rdtype: str, rdclass: str, ttl: int = 0, rdata: str | bytes = b"", origin: str = "example.org.") -> bytes:
    """
    One record in wire form: C{name} relative to C{origin} (or absolute),
    C{rdata} as text (read in class IN) or as bytes.
    """
    apex = dns.name.from_text(origin)
    if isinstance(rdata, str):
        rdata = dns.rdata.from_text("IN", rdtype, rdata, origin=apex, relativize=False).to_digestable()
    owner = dns.name.from_text(name, apex).to_wire()
    return owner + struct.pack(
        "!HHIH", dns.rdatatype.from_text(rdtype), dns.rdataclass.from_text(rdclass), ttl, len(rdata)
    ) + rdata


def update_wire(
    prerequisites=(), updates=(), zone: str = "example.org.", zone_class: str = "IN", id: int = 4321, zone_type: str = "SOA"
) -> bytes:
    """An UPDATE message (RFC 2136 section 2) of those records, unsigned."""
    header = struct.pack(
        "!HHHHHH", id, dns.opcode.to_flags(dns.opcode.UPDATE), 1, len(prerequisites), len(updates), 0
    )
    zone_section = dns.name.from_text(zone).to_wire() + struct.pack(
        "!HH", dns.rdatatype.from_text(zone_type), dns.rdataclass.from_text(zone_class)
    )
    return header + zone_section + b"".join(prerequisites) + b"".join(updates)


def signed(wire: bytes, key: tsig.Key, now: float | None = None) -> bytes:
    """C{wire} with a TSIG record of C{key} appended (RFC 8945)."""
    return tsig.sign(wire, key, time.time() if now is None else now)[0]
