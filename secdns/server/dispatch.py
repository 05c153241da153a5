# -*- test-case-name: tests.unit.test_query -*-
"""
One request in, one response out.

L{QueryHandler} takes the bytes of a request and returns the bytes of the
response (or nothing, for what must not be answered).  It runs entirely in
one reactor turn, reading each zone's current version once, so a response
never mixes two versions.

Two paths:

  - the fast path parses only the header and question of a plain query
    (one question, at most an OPT, no TSIG) and looks the response up in the
    handler's memo of rendered answers for the zone's current version,
    patching in the ID, the RD and CD bits and the question as the client
    wrote it;
  - the slow path answers the query (L{secdns.zones.lookup}, L{secdns.server.render})
    and, when the response is the same for every client, leaves it in the
    memo for the fast path.  A plain query is read from the bytes the fast
    path parsed (L{QueryHandler._answer_plain}); anything else (TSIG,
    NOTIFY, transfers, malformed messages) is parsed whole by dnspython
    first.

The memo of a version, like the wire form of its RRsets that rendering
keeps, is the handler's, beside the version (L{PerVersion}): a version
swapped out takes its memo with it, and a new one starts empty.

A memo entry is the response rendered with ID 0 and RD and CD clear, kept
split: its header for each setting of RD and CD, and what follows the
question.  The question has the same length whatever the client's case, so
compression pointers stay valid when the client's question is put back in.

Beside it, a second memo per version answers names never asked before
that do not exist: keyed by their shape (L{secdns.zones.shape}: closest
encloser, the length of the name above it, type, class, EDNS state, and
with DO in a signed zone the covering NSEC or NSEC3 record), split the same
way, its tail the same for every name of the shape.  A response is kept
there only when its compression pointers never point into the part of the
question above the closest encloser (L{secdns.wire.writer.Writer.low}), and
with the names it writes below the closest encloser, so that a name that
one of them would have compressed against is left to the slow path
(L{_shape_entry}): every response is byte for byte what the slow path
renders.  A random-subdomain flood is answered from it.

Before all that, a datagram is looked up whole (but for its ID) in
L{QueryHandler.answer_datagram}'s memo: a plain UDP query seen before, in
lowercase and without EDNS options, is answered with one dictionary lookup
and one concatenation.  Its entries name the zone and the version they were
made from, and are used only while that version is the zone's current one
and the zone has not expired; a new zone map (a reload) drops them all.
Both memos rely on the answer to a plain query depending only on its bytes
and the zone version, never on who asks.
"""

from __future__ import annotations

import struct
import time
import weakref
from typing import Callable

import attrs
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from secdns.server.cookies import COOKIE, Cookies, State
from secdns.server.loglimit import LIMITER
from secdns.wire import tsig
from secdns.zones.lookup import resolve
from secdns.wire.compact import name_from_labels
from secdns.wire.salvage import salvage
from secdns.server.render import OPT_SIZE, Edns, Question, render, render_error, render_template
from secdns.wire.writer import MAX_POINTER
from secdns.zones.shape import shape_of
from secdns.zones.zone import Zone
from secdns.zones.version import PerVersion
from secdns.zones.zonemap import ZoneDB

__all__ = ["QueryHandler", "Request", "MEMO_LIMIT"]

log = Logger()

QR = dns.flags.QR
DO = dns.flags.DO
IN = dns.rdataclass.IN
DNAME = dns.rdatatype.DNAME

#: Responses remembered per zone version; past that the memo starts again,
#: so a flood of random names cannot grow it without bound.
MEMO_LIMIT = 100_000

#: RFC 9824's NXNAME, the meta-type of compact denial of existence.
NXNAME = 128

#: Types a question may not ask for (RFC 6895 section 3.1: meta-types):
#: FORMERR, with the Extended DNS Error "Invalid Query Type" (RFC 9824
#: section 3.5) to EDNS clients.
META_TYPES = frozenset(
    {dns.rdatatype.OPT, dns.rdatatype.TSIG, dns.rdatatype.TKEY, NXNAME}
)

#: Extended DNS Error "Invalid Query Type" (RFC 9824 section 9).
INVALID_QUERY_TYPE = 30
TRANSFER_TYPES = frozenset({dns.rdatatype.AXFR, dns.rdatatype.IXFR})
UNSUPPORTED_TYPES = frozenset({dns.rdatatype.MAILA, dns.rdatatype.MAILB})

#: RFC 7873's BADCOOKIE, an extended RCODE.
BADCOOKIE = 23

#: Extended DNS Error "Zone Expired" (RFC 8914 section 4.25).
ZONE_EXPIRED = 24

_PLAIN_COUNTS = (
    b"\x00\x01\x00\x00\x00\x00\x00\x00",  # one question
    b"\x00\x01\x00\x00\x00\x00\x00\x01",  # one question and an OPT
)
_NO_EDNS, _EDNS, _EDNS_DO = b"\x00", b"\x01", b"\x02"


@attrs.frozen
class Request:
    """
    Where a request came from, for access control and logs.

    @ivar signature: the request's verified TSIG signature, if it was signed.
    """

    address: str
    port: int
    tcp: bool
    signature: tsig.Signature | None = None

    @property
    def key_name(self) -> dns.name.Name | None:
        return None if self.signature is None else self.signature.key.name


def _forget_datagrams(handler: "QueryHandler", attribute, value):
    """A new zone map or UDP limit: whole-datagram answers made for the old one go."""
    handler._datagrams.clear()
    return value


@attrs.define(eq=False)
class QueryHandler:
    """
    Answers requests from the current L{ZoneDB}.

    @ivar zonedb: replaced whole (one assignment) when the config is reloaded.
    @ivar max_udp_size: the largest UDP response, whatever EDNS asks.
    @ivar edns_payload: the UDP payload size advertised in our OPT records.
    @ivar keyring: the TSIG keys; replaced whole on reload (a request in
        flight keeps the key it was verified with).
    @ivar clock: the time TSIG signatures are checked against.
    @ivar handlers: opcode to a handler of the parsed message (NOTIFY,
        UPDATE) returning response bytes, or a Deferred of them (an UPDATE
        answered once committed); opcodes missing here get NOTIMP.
    @ivar cookies: DNS Cookies (L{secdns.server.cookies}): a query with a
        client cookie is answered with a server cookie; L{None}: off, the
        option is ignored.
    """

    zonedb: ZoneDB = attrs.field(on_setattr=_forget_datagrams)
    max_udp_size: int = attrs.field(default=1232, on_setattr=_forget_datagrams)
    keyring: tsig.Keyring = tsig.Keyring()
    clock: IReactorTime | None = None
    handlers: dict[int, Callable[[dns.message.Message, Request, Zone | None], bytes | defer.Deferred | None]] = attrs.Factory(dict)
    cookies: Cookies | None = None
    #: datagram but for its ID -> (zone, weak reference to the version, response but for its ID)
    _datagrams: dict = attrs.field(factory=dict, init=False, repr=False)
    #: by version: its rendered answers, memo key -> (headers, tail) (L{_remember})
    _answers: PerVersion[dict] = attrs.field(factory=lambda: PerVersion(dict), init=False, repr=False)
    #: by version: (answers by shape -> (headers, tail, names below the
    #: closest encloser), parents of names asked (L{secdns.zones.shape.parent_of})) (L{_shape_entry})
    _shapes: PerVersion[tuple[dict, dict]] = attrs.field(factory=lambda: PerVersion(lambda: ({}, {})), init=False, repr=False)
    #: the last question the memos missed: [its key, its shape, id of the version]
    #: (a list: setting an attribute of this class costs a microsecond)
    _missed: list = attrs.field(factory=lambda: [None, None, None], init=False, repr=False)
    #: by version: the wire form of its RRsets (L{secdns.wire.writer.rrset_wire})
    _rrset_wire: PerVersion[dict] = attrs.field(factory=lambda: PerVersion(dict), init=False, repr=False)
    #: EDNS options' bytes to whether dnspython reads them (L{_options_read})
    _options_seen: dict[bytes, bool] = attrs.field(factory=dict, init=False, repr=False)

    # -- entry points

    def answer(self, wire: bytes, request: Request) -> bytes | None:
        """The response to C{wire}, or L{None} to send nothing."""
        fast = _parse_plain_query(wire)
        if fast is not None:
            found = self._remembered(wire, fast)
            if found is not None:
                response = found[0]
                if self.cookies is not None and len(wire) > fast[2] + OPT_SIZE:
                    response = _with_cookie(response, self._cookie(wire, fast, request.address))
                if request.tcp or len(response) <= min(fast[3], self.max_udp_size):
                    return response
        return self._answer_slowly(wire, request, fast)

    def answer_datagram(self, wire: bytes, addr: tuple[str, int]) -> bytes | None:
        """
        The response to a UDP datagram from C{addr} (host, port), or L{None}
        to send nothing: what L{answer} would say, faster for a query seen
        before.  A L{Request} is made only when the memos do not answer.
        """
        seen = self._datagrams.get(wire[2:])
        if seen is not None:
            zone, version, tail = seen
            data = zone.data
            if data is not None and data is version() and not zone.expired:
                return wire[:2] + tail
        return self._answer_datagram(wire, addr)

    # -- the fast path

    def _answer_datagram(self, wire: bytes, addr) -> bytes | None:
        fast = _parse_plain_query(wire)
        if fast is not None:
            found = self._remembered(wire, fast)
            if found is not None:
                response, zone, data, shaped = found
                key, name_end, question_end, limit = fast
                if self.cookies is not None and len(wire) > question_end + OPT_SIZE:
                    response = _with_cookie(response, self._cookie(wire, fast, addr[0]))
                if len(response) <= min(limit, self.max_udp_size):
                    # Remembered whole only in lowercase and without EDNS
                    # options: a client's random case (0x20) or cookie
                    # would make entries that are never asked for again;
                    # nor a name answered by its shape, until it is asked
                    # again (L{_remembered}): a flood's names are asked once.
                    if not shaped and len(wire) - question_end in (0, 11) and wire[12 : 12 + name_end] == key[:name_end]:
                        datagrams = self._datagrams
                        if len(datagrams) >= MEMO_LIMIT:
                            datagrams.clear()
                        datagrams[wire[2:]] = (zone, weakref.ref(data), response[2:])
                    return response
        return self._answer_slowly(wire, Request(addr[0], addr[1], False), fast)

    def _remembered(self, wire: bytes, fast):
        """
        C{(response, zone, version, shaped)} from the zone version's memos,
        or L{None}; C{shaped} when from the shape memo.  The memos are keyed
        without the EDNS options: a query with options the slow path would
        reject (FORMERR) is never answered from them.  An answer found by
        its shape is also put in the version's memo under its question (the
        same objects: no copy), so that a name asked a second time is
        remembered whole, as any other.
        """
        key, name_end, question_end, _ = fast
        if len(wire) > question_end + OPT_SIZE and not self._options_valid(wire, fast):
            return None
        zone = self._zone_of(key, name_end)
        if zone is None or zone.expired:
            return None
        data = zone.data
        if data is None:
            return None
        memo = self._answers.get(id(data))
        entry = None if memo is None else memo.get(key)
        shaped = entry is None
        if shaped:
            entry = self._shape_entry(data, key, name_end)
            if entry is None:
                return None
            if memo is None:
                memo = self._answers.of(data)
            elif len(memo) >= MEMO_LIMIT:
                memo.clear()
            memo[key] = entry
        heads, tail = entry[0], entry[1]
        response = wire[:2] + heads[(wire[2] & 0x01) | ((wire[3] >> 3) & 0x02)] + wire[12:question_end] + tail
        return response, zone, data, shaped

    def _shape_entry(self, data, key: bytes, name_end: int):
        """
        The shape memo's entry for the missing name of C{key}, or L{None};
        the shape is left in C{_missed} for the slow path to keep its
        response under.  An entry made for a name whose response wrote a
        name that this one would be compressed against is not used.
        """
        memos = self._shapes.get(id(data))
        if memos is None:
            memos = self._shapes.of(data)
        shapes, parents = memos
        if len(parents) >= MEMO_LIMIT:
            parents.clear()
        shape = shape_of(data, parents, key, name_end)
        missed = self._missed
        missed[0], missed[1], missed[2] = key, shape, id(data)
        if shape is None:
            return None
        entry = shapes.get(shape)
        if entry is None:
            return None
        below = entry[2]
        if below:  # the name and its ancestors above the closest encloser
            offset, prefix = 0, shape[1]
            while offset < prefix:
                if key[offset:name_end] in below:
                    return None
                offset += key[offset] + 1
        return entry

    def _options_valid(self, wire: bytes, fast) -> bool:
        """L{_options_read}, remembered by the options' bytes (a client sends the same ones, its cookie, again and again)."""
        options = wire[fast[2] + OPT_SIZE :]
        known = self._options_seen.get(options)
        if known is None:
            if len(self._options_seen) >= MEMO_LIMIT:
                self._options_seen.clear()
            known = self._options_seen[options] = _options_read(wire, fast)
        return known

    def _cookie(self, wire: bytes, fast, address: str, count: bool = True) -> bytes:
        """The COOKIE option answering a plain query's, in wire form; C{b""} when it has none (or cookies are off)."""
        if self.cookies is None:
            return b""
        return self.cookies.answer(wire[fast[2] + OPT_SIZE :], address, count)[1]

    def cookie_state(self, wire: bytes, address: str) -> State:
        """
        What the COOKIE option of request C{wire} from C{address} proves
        (L{State.NONE} when it has none, or is not a plain query, or
        cookies are off): response rate limiting asks, for the few it limits.
        """
        fast = _parse_plain_query(wire)
        if self.cookies is None or fast is None or not self._options_valid(wire, fast):
            return State.NONE
        return self.cookies.answer(wire[fast[2] + OPT_SIZE :], address, count=False)[0]  # counted when answered

    def bad_cookie(self, wire: bytes, address: str) -> bytes | None:
        """
        BADCOOKIE (RFC 7873 section 5.2.3) with a fresh server cookie, for
        a plain query from C{address} that has a client cookie: its
        question and an OPT, a few octets more than the query; L{None}
        for any other request.
        """
        fast = _parse_plain_query(wire)
        if self.cookies is None or fast is None or not self._options_valid(wire, fast):
            return None
        cookie = self._cookie(wire, fast, address, count=False)  # counted when answered
        if not cookie:
            return None
        question = _question(wire, fast)
        edns = Edns(self.max_udp_size, fast[0][-1:] == _EDNS_DO, cookie=cookie)
        return render_error(int.from_bytes(wire[:2], "big"), int.from_bytes(wire[2:4], "big"), question, BADCOOKIE, edns)

    def _zone_of(self, key: bytes, name_end: int) -> Zone | None:
        """The zone of the (lowercase, wire-form) name at the start of C{key}: longest suffix first."""
        by_wire = self.zonedb.by_wire
        offset = 0
        while True:
            zone = by_wire.get(key[offset:name_end])
            if zone is not None:
                return zone
            length = key[offset]
            if length == 0:
                return None
            offset += length + 1

    # -- the slow path

    def _answer_slowly(self, wire: bytes, request: Request, fast) -> bytes | None:
        if fast is not None and _qtype(wire, fast) not in TRANSFER_TYPES and self._options_valid(wire, fast):
            return self._answer_plain(wire, request, fast)
        if len(wire) < 12 or wire[2] & 0x80:
            return None  # no header to answer, or a response: never answer those
        query_id = int.from_bytes(wire[:2], "big")
        query_flags = int.from_bytes(wire[2:4], "big")
        opcode = dns.opcode.from_flags(query_flags)
        try:
            message = dns.message.from_wire(wire, keyring=False, ignore_trailing=False)
        except Exception as e:  # whatever the bytes, never let parsing take us down
            log.debug("FORMERR to {address}: {error}", address=request.address, error=e)
            return self._formerr(wire, query_id, query_flags, opcode)

        if message.had_tsig:
            verified = self._authenticate(wire, message, request)
            if isinstance(verified, bytes):
                return verified  # the TSIG error response
            request = attrs.evolve(request, signature=verified)
            return self._sign(self._respond(wire, message, request, None), verified)
        return self._respond(wire, message, request, fast)

    def _answer_plain(self, wire: bytes, request: Request, fast) -> bytes | None:
        """
        Answer a plain query (L{_parse_plain_query}) from its bytes.  Once
        its EDNS options are known to be readable (L{_options_read}),
        C{dns.message.from_wire} cannot fail on such a query, and would find
        in it only what is read here: the ID and flags, one question, and an
        OPT of version 0 with its payload and DO bit, or none.  (Options
        change no answer.)  Transfers are not read here: their handlers take
        the parsed message.
        """
        key, name_end, question_end, payload = fast
        question = _question(wire, fast)
        state = key[-1:]
        edns = None if state == _NO_EDNS else self._edns(state == _EDNS_DO, self._cookie(wire, fast, request.address))
        return self._answer_query(
            wire,
            request,
            fast,
            int.from_bytes(wire[:2], "big"),
            int.from_bytes(wire[2:4], "big"),
            question,
            edns,
            max(512, min(payload, self.max_udp_size)),
            self._zone_of(key, name_end),
        )

    def _respond(self, wire: bytes, message: dns.message.Message, request: Request, fast):
        opcode = message.opcode()
        edns = self._edns_of(message, request.address)
        if message.edns > 0:
            return self._error(message, dns.rcode.BADVERS, edns)
        handler = self.handlers.get(opcode)
        if opcode != dns.opcode.QUERY and handler is None:
            # Whatever its sections hold: an opcode we do not implement is
            # NOTIMP (RFC 1035 section 4.1.1), as BIND, Knot and NSD answer.
            return self._error(message, dns.rcode.NOTIMP, edns, question=False)
        if len(message.question) != 1:
            return self._error(message, dns.rcode.FORMERR, edns, question=False)
        rrset = message.question[0]
        question = Question(rrset.name, rrset.rdtype, rrset.rdclass)

        if handler is not None:
            return handler(message, request, self.zonedb.find(question.name))
        return self._answer_query(
            wire,
            request,
            fast,
            message.id,
            message.flags,
            question,
            edns,
            self._udp_limit(message),
            self.zonedb.find(question.name),
            message,
        )

    def _answer_query(
        self,
        wire: bytes,
        request: Request,
        fast,
        query_id: int,
        query_flags: int,
        question: Question,
        edns: Edns | None,
        udp_limit: int,
        zone: Zone | None,
        message: dns.message.Message | None = None,
    ) -> bytes | None:
        """
        Answer a query (opcode QUERY) for C{question}, whose zone is C{zone}.

        @param message: the parsed query, which transfer handlers take;
            L{None} when it was read from its bytes, never a transfer.
        """
        if question.rdtype in META_TYPES:
            if edns is not None:
                edns = attrs.evolve(edns, options=(dns.edns.EDEOption(INVALID_QUERY_TYPE),))
            return render_error(query_id, query_flags, question, dns.rcode.FORMERR, edns)
        if question.rdtype in UNSUPPORTED_TYPES:
            return render_error(query_id, query_flags, question, dns.rcode.NOTIMP, edns)
        if question.rdclass != IN or zone is None:
            return render_error(query_id, query_flags, question, dns.rcode.REFUSED, edns)
        if question.rdtype in TRANSFER_TYPES:
            handler = self.handlers.get(question.rdtype)
            if handler is None:
                return render_error(query_id, query_flags, question, dns.rcode.REFUSED, edns)
            return handler(message, request, zone)
        data = zone.data
        if data is None or zone.expired:
            if edns is not None and zone.expired:
                edns = attrs.evolve(edns, options=(dns.edns.EDEOption(ZONE_EXPIRED),))
            return render_error(query_id, query_flags, question, dns.rcode.SERVFAIL, edns)

        answer = resolve(data, question.name, question.rdtype, edns is not None and edns.dnssec_ok)
        limit = 65535 if request.tcp else udp_limit
        if request.signature is not None:
            limit -= tsig.record_size(request.signature.key)
        rrset_wire = self._rrset_wire.of(data)
        if fast is not None and not _synthesised(answer):
            key, _, question_end, _ = fast
            # Remembered without the client's cookie, which is put back for each client.
            cookie = b"" if edns is None else edns.cookie
            template, writer = render_template(question, answer, attrs.evolve(edns, cookie=b"") if cookie else edns, rrset_wire)
            entry = _remember(self._answers.of(data), key, template)
            missed = self._missed
            if missed[0] is key and missed[1] is not None and missed[2] == id(data):
                missed[0] = None
                _remember_shape(self._shapes.of(data)[0], missed[1], entry, template, writer, question_end)
            response = _with_cookie(_patch(template, wire, question_end), cookie)
            if len(response) <= limit:
                return response
        return render(query_id, query_flags, question, answer, edns, limit, rrset_wire)

    def _udp_limit(self, message: dns.message.Message) -> int:
        if message.edns < 0:
            return 512
        return max(512, min(message.payload, self.max_udp_size))

    def _edns_of(self, message: dns.message.Message, address: str) -> Edns | None:
        if message.edns < 0:
            return None
        cookie = b""
        if self.cookies is not None:
            for option in message.options:
                if option.otype == dns.edns.OptionType.COOKIE:
                    data = option.client + option.server
                    cookie = self.cookies.answer(struct.pack("!HH", COOKIE, len(data)) + data, address)[1]
                    break
        return self._edns(bool(message.ednsflags & DO), cookie)

    def _formerr(self, wire: bytes, query_id: int, query_flags: int, opcode: int) -> bytes:
        """
        FORMERR for a message dnspython refused: with its question and an
        OPT when the message is whole in form (L{salvage}), as BIND answers.
        """
        salvaged = salvage(wire)
        if salvaged is None:
            return render_error(query_id, query_flags, None, dns.rcode.FORMERR, opcode=opcode)
        question = None if salvaged.question is None else Question(*salvaged.question)
        edns = None if salvaged.opt is None else self._edns(salvaged.opt[1])
        return render_error(query_id, query_flags, question, dns.rcode.FORMERR, edns, opcode=opcode)

    def _edns(self, dnssec_ok: bool, cookie: bytes = b"") -> Edns:
        """Our OPT (RFC 6891) for a query that has one, DO echoed, with our answer to its cookie."""
        return Edns(self.max_udp_size, dnssec_ok, cookie=cookie)

    def _error(self, message, rcode, edns, question=True) -> bytes:
        q = None
        if question and message.question:
            rrset = message.question[0]
            q = Question(rrset.name, rrset.rdtype, rrset.rdclass)
        return render_error(
            message.id, message.flags, q, rcode, edns, opcode=message.opcode()
        )

    # -- TSIG (RFC 8945 section 5.2)

    def _now(self) -> float:
        if self.clock is None:
            return time.time()
        return self.clock.seconds()

    def _authenticate(self, wire, message, request) -> tsig.Signature | bytes:
        """The request's verified signature, or the error response to send instead."""
        edns = self._edns_of(message, request.address)
        now = self._now()
        try:
            signed = tsig.split_tsig(wire)
            if signed is None:
                raise tsig.MalformedTsig("TSIG record does not parse")
            if signed.record.error != 0:
                raise tsig.MalformedTsig("a request carries a TSIG error code")
            mac = tsig.verify(signed, self.keyring.get(signed.key_name), now)
        except tsig.MalformedTsig as e:
            if LIMITER.allow("FORMERR", request.address):
                log.info("FORMERR to {address}: {reason}", address=request.address, reason=e.reason)
            return self._error(message, dns.rcode.FORMERR, edns)
        except tsig.TsigError as e:
            if LIMITER.allow("TSIG refused", request.address):
                log.info(
                    "TSIG {error} from {address} for {qname}: {reason}",
                    error=e.rcode_text,
                    address=request.address,
                    qname=message.question[0].name if message.question else "-",
                    reason=e.reason,
                )
            response = self._error(message, dns.rcode.NOTAUTH, edns)
            key = self.keyring.get(signed.key_name)
            if isinstance(e, (tsig.BadKey, tsig.BadSig)) or key is None:
                return tsig.error_record(response, signed, e.rcode, now)
            other = tsig.time_other_data(now) if isinstance(e, tsig.BadTime) else b""
            signed_response, _ = tsig.sign(
                response, key, now, signed.record.mac, error=e.rcode, other=other,
                time_signed=signed.record.time_signed,
            )
            return signed_response
        return tsig.Signature(self.keyring.get(signed.key_name), mac, signed.record.time_signed)

    def _sign(self, response, signature: tsig.Signature):
        """Sign a response, or each message of a response stream, or what a worker makes (a Deferred of either)."""
        if response is None:
            return None
        if isinstance(response, defer.Deferred):
            return response.addCallback(self._sign, signature)
        if isinstance(response, bytes):
            signed, _ = tsig.sign(response, signature.key, self._now(), signature.mac)
            return signed
        signer = tsig.StreamSigner(signature.key, signature.mac)
        return (signer.sign(message, self._now()) for message in response)

def _parse_plain_query(wire: bytes):
    """
    Parse the header and question of a plain query without building objects.

    @return: C{(key, name_end, question_end, udp_limit)}, where C{key} is the
        memo key (the question with its name lowercased, then the EDNS state)
        and C{name_end} the length of the name in it; or L{None} when the
        message is anything but one question and at most a bare OPT.
    """
    size = len(wire)
    if size < 17 or wire[2] & 0xFA or wire[4:12] not in _PLAIN_COUNTS:
        return None
    offset = 12
    length = wire[12]
    while length:
        if length > 63:
            return None  # a compression pointer or an extended label type
        offset += length + 1
        if offset >= size:
            return None
        length = wire[offset]
    name_end = offset + 1 - 12
    if name_end > 255:
        return None
    question_end = offset + 5
    if wire[11] == 0:
        if question_end != size:
            return None
        key = wire[12 : offset + 1].lower() + wire[offset + 1 : question_end] + _NO_EDNS
        return key, name_end, question_end, 512
    # The OPT: root owner, type 41, payload, extended RCODE 0, version 0, flags, RDLENGTH.
    opt = question_end
    if (
        size < opt + 11
        or wire[opt] != 0
        or wire[opt + 1 : opt + 3] != b"\x00\x29"
        or wire[opt + 5] != 0
        or wire[opt + 6] != 0
        or opt + 11 + int.from_bytes(wire[opt + 9 : opt + 11], "big") != size
    ):
        return None
    payload = max(512, int.from_bytes(wire[opt + 3 : opt + 5], "big"))
    state = _EDNS_DO if wire[opt + 7] & 0x80 else _EDNS
    key = wire[12 : offset + 1].lower() + wire[offset + 1 : question_end] + state
    return key, name_end, question_end, payload


def _options_read(wire: bytes, fast) -> bool:
    """
    Whether the EDNS options of a plain query (L{_parse_plain_query}), if
    it has any, are ones dnspython reads: C{dns.message.from_wire} reads
    them with the same function, and fails on the message when it fails.
    """
    question_end = fast[2]
    options_at = question_end + OPT_SIZE
    if len(wire) <= options_at:
        return True  # no OPT, or one without options
    payload = int.from_bytes(wire[question_end + 3 : question_end + 5], "big")
    try:
        dns.rdata.from_wire(payload, dns.rdatatype.OPT, wire, options_at, len(wire) - options_at)
    except Exception:
        return False
    return True


def _question(wire: bytes, fast) -> Question:
    """The question of a plain query (L{_parse_plain_query} has checked its name), read from its bytes."""
    question_end = fast[2]
    return Question(
        name_from_labels(_labels(wire)),
        int.from_bytes(wire[question_end - 4 : question_end - 2], "big"),
        int.from_bytes(wire[question_end - 2 : question_end], "big"),
    )


def _qtype(wire: bytes, fast) -> int:
    question_end = fast[2]
    return int.from_bytes(wire[question_end - 4 : question_end - 2], "big")


def _labels(wire: bytes) -> tuple[bytes, ...]:
    """The labels of the uncompressed name at offset 12, the end of a header, root included."""
    labels = []
    offset = 12
    length = wire[12]
    while length:
        labels.append(wire[offset + 1 : offset + 1 + length])
        offset += length + 1
        length = wire[offset]
    labels.append(b"")
    return tuple(labels)


def _patch(template: bytes, wire: bytes, question_end: int) -> bytes:
    """A remembered response made the answer to C{wire}: its ID, RD, CD and question."""
    return b"".join(
        (
            wire[:2],
            bytes((template[2] | (wire[2] & 0x01), template[3] | (wire[3] & 0x10))),
            template[4:12],
            wire[12:question_end],
            template[question_end:],
        )
    )


def _synthesised(answer) -> bool:
    """
    Whether the answer holds a CNAME made from a DNAME (RFC 6672): its
    target is the question's name in the asker's case, so the answer is
    not the same for every asker and is not remembered.
    """
    return any(rds.rdtype == DNAME for _, rds in answer.answer)


def _with_cookie(response: bytes, cookie: bytes) -> bytes:
    """
    C{response}, whose last record is a bare OPT (as every remembered
    response to an EDNS query is), with the COOKIE option C{cookie} in it.
    """
    if not cookie:
        return response
    return response[:-2] + len(cookie).to_bytes(2, "big") + cookie


def _remember_shape(memo: dict, shape, entry, template: bytes, writer, question_end: int) -> None:
    """
    Keep C{template} (C{entry}: as L{_remember} split it) as the response
    to every missing name of C{shape} (L{secdns.zones.shape}), unless it
    is truncated, too long for every offset to be pointed at, or points
    into the question's prefix (the labels above the closest encloser,
    which differ from name to name).  With it, the names it wrote below the
    closest encloser (from the writer's compression table): another name's
    response would point at one that is its own name or an ancestor of it.
    """
    prefix = shape[1]
    if writer.low < 12 + prefix or template[2] & 0x02 or len(template) > MAX_POINTER:
        return
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    closest = shape[0][: question_end - 12 - prefix - 4]
    below = frozenset(
        name
        for name, offset in writer.compress.items()
        if offset >= question_end and len(name) > len(closest) and name.endswith(closest)
    )
    memo[shape] = (entry[0], entry[1], below)


def _split(template: bytes, question_end: int):
    """C{template}'s header after the ID for each setting of RD and CD (indexed by RD | CD >> 3), and what follows the question."""
    high, low = template[2], template[3]  # the two bytes of flags
    counts = template[4:12]
    heads = (
        bytes((high, low)) + counts,
        bytes((high | 0x01, low)) + counts,  # RD
        bytes((high, low | 0x10)) + counts,  # CD
        bytes((high | 0x01, low | 0x10)) + counts,
    )
    return heads, template[question_end:]


def _remember(memo: dict, key: bytes, template: bytes) -> tuple:
    """
    Remember C{template} (a response with ID 0, RD and CD clear) under C{key}
    (from L{_parse_plain_query}), split as the fast path uses it: the header
    after the ID for each setting of RD and CD (indexed by RD | CD >> 3),
    and what follows the question.  The entry made.
    """
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    question_end = 12 + len(key) - 1  # the key: name, type, class, EDNS state
    entry = memo[key] = _split(template, question_end)
    return entry
