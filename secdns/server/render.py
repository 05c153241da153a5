# -*- test-case-name: tests.unit.test_render,tests.unit.test_query -*-
"""
Answers to wire format, within a size limit.

When the answer or authority section does not fit, the response is cut to
the question and OPT with TC set, so the client retries over TCP
(RFC 2181 section 9).  Additional data that does not fit is left out
without TC, except referral glue (RFC 9471).

The bytes are those dnspython's C{dns.renderer.Renderer} wrote, compression
included (C{tests/unit/test_render.py} holds the two side by side); they are
written by L{secdns.wire.writer.Writer}, which does the same several times faster.
"""

from __future__ import annotations

import struct
from typing import Sequence

import attrs
import dns.edns
import dns.exception
import dns.flags
import dns.name
import dns.opcode
import dns.rcode

from secdns.zones.lookup import Answer, Kind, RRsetRef
from secdns.wire.writer import Writer

__all__ = ["Edns", "Question", "render", "render_template", "render_error", "FLAGS_COPIED"]

# Plain ints: arithmetic on dnspython's IntFlag members runs in Python.
QR = int(dns.flags.QR)
AA = int(dns.flags.AA)
TC = int(dns.flags.TC)
#: Header flags a response copies from its query: RD and CD (RFC 1035, RFC 4035 3.1.6).
FLAGS_COPIED = int(dns.flags.RD | dns.flags.CD)
DO = int(dns.flags.DO)

ANSWER = 1
AUTHORITY = 2
ADDITIONAL = 3

OPT_SIZE = 11  # root owner, type, class, TTL, RDLENGTH: an OPT without options


@attrs.frozen
class Question:
    """The question of a query, the name in the client's case."""

    name: dns.name.Name
    rdtype: int
    rdclass: int


@attrs.frozen
class Edns:
    """
    The OPT record of a response (RFC 6891).

    @ivar payload: the UDP payload size we advertise.
    @ivar dnssec_ok: the DO bit, echoed from the query (RFC 3225).
    @ivar options: EDNS options, such as Extended DNS Errors (RFC 8914).
    @ivar cookie: the COOKIE option answering the client's (RFC 7873), in
        wire form (code, length, data), after the others; kept apart so a
        response remembered without it can have it put back.
    """

    payload: int
    dnssec_ok: bool = False
    options: tuple[dns.edns.Option, ...] = ()
    cookie: bytes = b""

    def size(self) -> int:
        return OPT_SIZE + len(self.options_wire())

    def options_wire(self) -> bytes:
        """The options as the OPT record's RDATA."""
        if not self.options:
            return self.cookie
        parts = []
        for option in self.options:
            data = option.to_wire()
            parts.append(struct.pack("!HH", option.otype, len(data)) + data)
        parts.append(self.cookie)
        return b"".join(parts)


def render(
    id: int,
    query_flags: int,
    question: Question,
    answer: Answer,
    edns: Edns | None,
    max_size: int = 65535,
    cache: dict | None = None,
) -> bytes:
    """
    Render a classified answer; truncate it to C{max_size} as the module says.

    @param cache: where to keep the wire form of the answer's RRsets
        (L{secdns.wire.writer.rrset_wire}): one per zone version, whose RRsets never change.
    """
    return _render(Writer(max_size), id, query_flags, question, answer, edns, cache)


def render_template(question: Question, answer: Answer, edns: Edns | None, cache: dict | None = None) -> tuple[bytes, Writer]:
    """
    L{render} with ID 0, RD and CD clear, no size limit, for a memo; with
    the L{Writer}, whose C{low} and C{compress} tell whether the response
    also answers other names of the question's shape (L{secdns.zones.shape}).
    """
    writer = Writer()
    return _render(writer, 0, 0, question, answer, edns, cache), writer


def _render(writer: Writer, id: int, query_flags: int, question: Question, answer: Answer, edns: Edns | None, cache) -> bytes:
    flags = QR | (query_flags & FLAGS_COPIED) | (answer.rcode & 0xF)
    if answer.authoritative:
        flags |= AA
    writer.question(question.name, question.rdtype, question.rdclass)
    if edns is not None:
        writer.reserve(edns.size())
    if not (_add(writer, ANSWER, answer.answer, cache) and _add(writer, AUTHORITY, answer.authority, cache)):
        return render_error(id, query_flags | TC, question, answer.rcode, edns, flags=flags | TC)
    for name, rds in answer.additional:
        if not writer.rrset(ADDITIONAL, name, rds, cache):
            if answer.kind is Kind.DELEGATION:
                flags |= TC
            break
    return _finish(writer, id, flags, answer.rcode, edns)


def render_error(
    id: int,
    query_flags: int,
    question: Question | None,
    rcode: int,
    edns: Edns | None = None,
    opcode: int = dns.opcode.QUERY,
    flags: int | None = None,
) -> bytes:
    """A response with no records: errors, and truncated answers."""
    if flags is None:
        flags = QR | (query_flags & FLAGS_COPIED) | dns.opcode.to_flags(opcode) | (rcode & 0xF)
    writer = Writer()
    if question is not None:
        writer.question(question.name, question.rdtype, question.rdclass)
    return _finish(writer, id, flags, rcode, edns)


def _add(writer: Writer, section: int, rrsets: Sequence[RRsetRef], cache: dict | None) -> bool:
    for name, rds in rrsets:
        if not writer.rrset(section, name, rds, cache):
            return False
    return True


def _finish(writer: Writer, id: int, flags: int, rcode: int, edns: Edns | None) -> bytes:
    if edns is not None:
        writer.release_reserved()
        ttl = ((rcode >> 4) & 0xFF) << 24  # the extended RCODE; EDNS version 0
        if edns.dnssec_ok:
            ttl |= DO
        writer.opt(edns.payload, ttl, edns.options_wire())
    return writer.finish(id, flags)
