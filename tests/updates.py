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

__all__ = ["rr", "update_wire", "signed", "SEED", "BIND_CASES"]


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


#: A zone to try updates on (example.org.), one record a line: owner, TTL, type, RDATA.
SEED = """\
example.org. 300 SOA ns1.example.org. hostmaster.example.org. 1 3600 600 86400 60
example.org. 300 NS ns1.example.org.
example.org. 300 MX 10 mail.example.org.
ns1.example.org. 300 A 192.0.2.1
www.example.org. 300 A 192.0.2.80
www.example.org. 300 A 192.0.2.81
alias.example.org. 300 CNAME www.example.org.
a.b.ent.example.org. 300 TXT "deep"
"""

#: Messages and the rcode BIND 9.18 answers for each, on a zone holding
#: L{SEED}, signed with a key of the zone's allow-update: name -> (prerequisite
#: records, update records, rcode).  None of them changes the zone.
BIND_CASES = {
    "name-in-use": ([rr("www", "ANY", "ANY")], [], "NOERROR"),
    "name-in-use-fails": ([rr("nothere", "ANY", "ANY")], [], "NXDOMAIN"),
    "empty-non-terminal-not-in-use": ([rr("b.ent", "ANY", "ANY")], [], "NXDOMAIN"),
    "empty-non-terminal-unused": ([rr("b.ent", "ANY", "NONE")], [], "NOERROR"),
    "name-not-in-use-fails": ([rr("www", "ANY", "NONE")], [], "YXDOMAIN"),
    "rrset-exists": ([rr("www", "A", "ANY")], [], "NOERROR"),
    "rrset-exists-fails": ([rr("www", "AAAA", "ANY")], [], "NXRRSET"),
    "rrset-absent": ([rr("www", "AAAA", "NONE")], [], "NOERROR"),
    "rrset-absent-fails": ([rr("www", "A", "NONE")], [], "YXRRSET"),
    "value-dependent-equal": ([rr("www", "A", "IN", 0, "192.0.2.81"), rr("www", "A", "IN", 0, "192.0.2.80")], [], "NOERROR"),
    "value-dependent-subset": ([rr("www", "A", "IN", 0, "192.0.2.80")], [], "NXRRSET"),
    "value-dependent-duplicate": (
        [rr("www", "A", "IN", 0, "192.0.2.80"), rr("www", "A", "IN", 0, "192.0.2.81"), rr("www", "A", "IN", 0, "192.0.2.81")],
        [], "NXRRSET",
    ),
    "prerequisite-ttl": ([rr("www", "A", "ANY", 5)], [], "FORMERR"),
    "value-dependent-ttl": ([rr("www", "A", "IN", 5, "192.0.2.80"), rr("www", "A", "IN", 0, "192.0.2.81")], [], "FORMERR"),
    "prerequisite-class-ch": ([rr("www", "A", "CH", 0, b"")], [], "FORMERR"),
    "prerequisite-outside": ([rr("nothere.net.", "A", "ANY")], [], "NOTZONE"),
    "first-prerequisite-failure-wins": ([rr("nothere", "A", "ANY"), rr("www", "A", "ANY", 7)], [], "NXRRSET"),
    "nxdomain-before-yxrrset": ([rr("nothere", "ANY", "ANY"), rr("www", "A", "NONE")], [], "NXDOMAIN"),
    "value-dependent-checked-last": ([rr("www", "A", "IN", 0, "192.0.2.1"), rr("nothere", "ANY", "ANY")], [], "NXDOMAIN"),
    "update-outside": ([], [rr("x.nothere.net.", "A", "IN", 300, "192.0.2.1")], "NOTZONE"),
    "update-any-ttl": ([], [rr("www", "A", "ANY", 5)], "FORMERR"),
    "update-none-ttl": ([], [rr("www", "A", "NONE", 5, "192.0.2.80")], "FORMERR"),
    "update-class-ch": ([], [rr("www", "A", "CH", 0, b"\x01\x02\x03\x04")], "FORMERR"),
    "update-any-axfr": ([], [rr("www", "AXFR", "ANY")], "FORMERR"),
    "update-in-any": ([], [rr("www", "ANY", "IN", 300, b"")], "FORMERR"),
    "update-none-any": ([], [rr("www", "ANY", "NONE", 0, b"")], "FORMERR"),
    "update-nsec": ([], [rr("www2", "NSEC", "IN", 300, "www2.example.org. A")], "REFUSED"),
    "update-delete-nsec": ([], [rr("www", "NSEC", "ANY")], "REFUSED"),
    "update-delete-rrsig": ([], [rr("www", "RRSIG", "ANY")], "REFUSED"),
    "update-scanned-before-prerequisites": ([rr("www", "A", "ANY", 5)], [rr("x.nothere.net.", "A", "IN", 300, "192.0.2.1")], "NOTZONE"),
    "update-formerr-before-prerequisite-outside": ([rr("nothere.net.", "A", "ANY")], [rr("www", "A", "ANY", 5)], "FORMERR"),
    "update-formerr-before-failed-prerequisite": ([rr("nothere", "A", "ANY")], [rr("www", "A", "ANY", 3)], "FORMERR"),
}
