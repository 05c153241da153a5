# -*- test-case-name: tests.unit.test_update -*-
"""
A DNS UPDATE message (RFC 2136 section 2) read as it was sent: its zone,
and each record of its prerequisite and update sections, in order, with
its class and TTL untouched.

dnspython's parser reads UPDATE messages too, but it drops the TTL of a
record without RDATA (class ANY or NONE) and turns a TTL above 2**31 - 1
into 0, and RFC 2136 says what to answer for both (FORMERR for a TTL that
is not zero; see L{secdns.zones.update}).  So the sections are read here,
with dnspython reading each RDATA.  The dispatcher has parsed the whole
message already (header, additional section, TSIG); this reads no further
than the update section.

What breaks the wire format, or RFC 2136 section 3.1.1's shape of the zone
section (exactly one record, of type SOA), raises
C{dns.exception.FormError}, as dnspython does.
"""

from __future__ import annotations

import struct

import attrs
import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.wire

__all__ = ["UpdateRecord", "UpdateRequest", "read_update"]

ANY = dns.rdataclass.ANY
NONE = dns.rdataclass.NONE


@attrs.frozen
class UpdateRecord:
    """
    One record of a prerequisite or update section, as sent.

    @ivar rdclass: the class as sent: the zone's, C{ANY} or C{NONE}
        (their meaning, RFC 2136 sections 2.4 and 2.5), or another.
    @ivar ttl: the TTL as sent, an unsigned 32-bit number.
    @ivar rdata: L{None} when the record has no RDATA (class ANY, or NONE
        in the prerequisite section); for class NONE in the update section,
        the RDATA read in the zone's class.
    """

    name: dns.name.Name
    rdtype: int
    rdclass: int
    ttl: int
    rdata: dns.rdata.Rdata | None = None


@attrs.frozen
class UpdateRequest:
    """
    What an UPDATE asks: the zone (the zone section's one record) and the
    records of the prerequisite and update sections, in their order.
    """

    zone: dns.name.Name
    zone_class: int
    prerequisites: tuple[UpdateRecord, ...] = ()
    updates: tuple[UpdateRecord, ...] = ()


def read_update(wire: bytes) -> UpdateRequest:
    """
    Read the zone, prerequisite and update sections of an UPDATE message.

    @raise dns.exception.FormError: the message is malformed, or its zone
        section is not one SOA question.
    """
    parser = dns.wire.Parser(wire)
    try:
        _, _, zones, prerequisites, updates, _ = parser.get_struct("!HHHHHH")
        if zones != 1:
            raise dns.exception.FormError(f"{zones} records in the zone section; there must be one")
        zone = parser.get_name(decompress=True)
        rdtype, zone_class = parser.get_struct("!HH")
        if rdtype != dns.rdatatype.SOA:
            raise dns.exception.FormError("the zone section's record is not of type SOA")
        return UpdateRequest(
            zone,
            zone_class,
            tuple(_record(parser, zone_class, False) for _ in range(prerequisites)),
            tuple(_record(parser, zone_class, True) for _ in range(updates)),
        )
    except (struct.error, ValueError, dns.exception.DNSException) as e:
        if isinstance(e, dns.exception.FormError):
            raise
        raise dns.exception.FormError(str(e)) from None


def _record(parser: dns.wire.Parser, zone_class: int, update: bool) -> UpdateRecord:
    name = parser.get_name(decompress=True)
    rdtype, rdclass, ttl, rdlen = parser.get_struct("!HHIH")
    if rdclass == ANY or (rdclass == NONE and not update):
        # RFC 2136 sections 2.4 and 2.5.2-3: these carry no RDATA.
        if rdlen != 0:
            raise dns.exception.FormError(f"{name} class {dns.rdataclass.to_text(rdclass)} record has RDATA")
        return UpdateRecord(name, rdtype, rdclass, ttl)
    with parser.restrict_to(rdlen):
        if rdclass in (zone_class, NONE):
            # Class NONE (delete this record) carries the record's RDATA in the zone's class.
            rdata = dns.rdata.from_wire_parser(zone_class, rdtype, parser)
        else:
            # Another class: FORMERR whatever it holds (L{secdns.zones.update}), so it is not read.
            rdata = dns.rdata.GenericRdata(rdclass, rdtype, parser.get_remaining())
    return UpdateRecord(name, rdtype, rdclass, ttl, rdata)
