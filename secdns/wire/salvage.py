# -*- test-case-name: tests.unit.test_salvage -*-
"""
What a message dnspython refuses still tells us, for the error answer.

A message can be whole in form -- every section's records where its header
says, nothing left over -- and still be refused by dnspython for what it
means: an UPDATE whose zone section is not of type SOA, say.  BIND answers
such a message FORMERR with its question and an OPT record when the
request had one (RFC 6891 section 7); L{salvage} reads just those, without
judging anything else, so the dispatcher can do the same.  A message that
is not whole in form yields L{None}: its answer echoes nothing.
"""

from __future__ import annotations

import struct

import attrs
import dns.exception
import dns.name
import dns.wire

__all__ = ["Salvaged", "salvage"]

_OPT = 41


@attrs.frozen
class Salvaged:
    """
    @ivar question: the one question (name, type, class), or L{None} when
        the question section does not hold exactly one.
    @ivar opt: the OPT record's (payload, DO bit, version), or L{None}.
    """

    question: tuple[dns.name.Name, int, int] | None
    opt: tuple[int, bool, int] | None


def salvage(wire: bytes) -> Salvaged | None:
    """The question and OPT of a message whole in form; L{None} if it is not."""
    if len(wire) < 12:
        return None
    qdcount, ancount, nscount, arcount = struct.unpack("!HHHH", wire[4:12])
    parser = dns.wire.Parser(wire, 12)
    try:
        questions = [(parser.get_name(), *parser.get_struct("!HH")) for _ in range(qdcount)]
        opt = None
        for index in range(ancount + nscount + arcount):
            name = parser.get_name()
            rdtype, rdclass, ttl, rdlen = parser.get_struct("!HHIH")
            parser.get_bytes(rdlen)
            if rdtype == _OPT and index >= ancount + nscount:
                if opt is not None or name != dns.name.root:
                    return None  # two OPTs, or one not at the root: malformed (RFC 6891 section 6.1.1)
                opt = (max(512, rdclass), bool(ttl & 0x8000), (ttl >> 16) & 0xFF)
    except (dns.exception.FormError, struct.error, ValueError):
        return None
    if parser.remaining():
        return None
    return Salvaged(questions[0] if len(questions) == 1 else None, opt)
