# -*- test-case-name: tests.unit.test_query -*-
"""
Answers to wire format, within a size limit.

When the answer or authority section does not fit, the response is cut to
the question and OPT with TC set, so the client retries over TCP
(RFC 2181 section 9).  Additional data that does not fit is left out
without TC, except referral glue (RFC 9471).
"""

from __future__ import annotations

from typing import Sequence

import attrs
import dns.edns
import dns.exception
import dns.flags
import dns.name
import dns.opcode
import dns.rcode
import dns.renderer

from secdns.lookup import Answer, Kind, RRsetRef

__all__ = ["Edns", "Question", "render", "render_error", "FLAGS_COPIED"]

QR = dns.flags.QR
AA = dns.flags.AA
TC = dns.flags.TC
#: Header flags a response copies from its query: RD and CD (RFC 1035, RFC 4035 3.1.6).
FLAGS_COPIED = dns.flags.RD | dns.flags.CD
DO = dns.flags.DO

ANSWER = dns.renderer.ANSWER
AUTHORITY = dns.renderer.AUTHORITY
ADDITIONAL = dns.renderer.ADDITIONAL

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
    """

    payload: int
    dnssec_ok: bool = False
    options: tuple[dns.edns.Option, ...] = ()

    def size(self) -> int:
        return OPT_SIZE + sum(4 + len(option.to_wire()) for option in self.options)


def render(
    id: int,
    query_flags: int,
    question: Question,
    answer: Answer,
    edns: Edns | None,
    max_size: int = 65535,
) -> bytes:
    """Render a classified answer; truncate it to C{max_size} as the module says."""
    flags = QR | (query_flags & FLAGS_COPIED) | (answer.rcode & 0xF)
    if answer.authoritative:
        flags |= AA
    renderer = _start(id, flags, question, edns, max_size)
    try:
        _add(renderer, ANSWER, answer.answer)
        _add(renderer, AUTHORITY, answer.authority)
    except dns.exception.TooBig:
        return render_error(id, query_flags | TC, question, answer.rcode, edns, flags=flags | TC)
    for name, rds in answer.additional:
        try:
            renderer.add_rdataset(ADDITIONAL, name, rds, want_shuffle=False)
        except dns.exception.TooBig:
            if answer.kind is Kind.DELEGATION:
                renderer.flags |= TC
            break
    return _finish(renderer, answer.rcode, edns)


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
    renderer = dns.renderer.Renderer(id, flags, 65535)
    if question is not None:
        renderer.add_question(question.name, question.rdtype, question.rdclass)
    return _finish(renderer, rcode, edns)


def _start(id, flags, question, edns, max_size) -> dns.renderer.Renderer:
    renderer = dns.renderer.Renderer(id, flags, max_size)
    renderer.add_question(question.name, question.rdtype, question.rdclass)
    if edns is not None:
        renderer.reserve(edns.size())
    return renderer


def _add(renderer: dns.renderer.Renderer, section: int, rrsets: Sequence[RRsetRef]) -> None:
    for name, rds in rrsets:
        renderer.add_rdataset(section, name, rds, want_shuffle=False)


def _finish(renderer: dns.renderer.Renderer, rcode: int, edns: Edns | None) -> bytes:
    if edns is not None:
        if renderer.reserved:
            renderer.release_reserved()
        ednsflags = ((rcode >> 4) & 0xFF) << 24
        if edns.dnssec_ok:
            ednsflags |= DO
        renderer.add_edns(0, ednsflags, edns.payload, list(edns.options))
    renderer.write_header()
    return renderer.get_wire()
