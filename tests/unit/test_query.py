"""
secdns.server.dispatch's fast path: the memos of rendered answers (per zone version)
and of whole datagrams (per zone map) answer byte for byte what the slow
path would, whatever the client's ID, RD, CD, case and EDNS, and never
outlive the version or the zone map they were made from.

The reference is the slow path without the fast path's help: the full
parse, lookup and render of every query.
"""

from __future__ import annotations

import struct
import errno
import functools
import gc
import weakref

import dns.dnssec
import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone
import hypothesis
import hypothesis.strategies as st
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from twisted.internet.testing import FakeDatagramTransport
from twisted.logger import capturedLogs

from secdns.server import dispatch as query_module
from secdns.config import ZoneConfig
from secdns.server.protocol import DNSDatagramProtocol
from secdns.server.dispatch import QueryHandler, Request
from secdns.zones.zone import Zone
from secdns.zones.version import from_zone
from secdns.zones.zonemap import ZoneDB

ORIGIN = dns.name.from_text("example.org")
ZONE = """\
$TTL 300
@        IN SOA   ns1 hostmaster {serial} 7200 3600 1209600 300
         IN NS    ns1
         IN MX    10 mail
ns1      IN A     192.0.2.1
mail     IN A     192.0.2.25
www      IN CNAME web
web      IN A     {web}
         IN AAAA  2001:db8::80
*.users  IN A     192.0.2.99
lab      IN NS    ns.lab
ns.lab   IN A     192.0.2.53
$GENERATE 1-60 mid A 10.0.0.$
$GENERATE 1-100 big A 10.1.0.$
"""
#: the same key for every test, so every version is signed alike
KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
DNSKEY = dns.dnssec.make_dnskey(KEY.public_key(), dns.dnssec.Algorithm.ED25519, flags=257)

ADDR = ("192.0.2.200", 53000)
UDP = Request(*ADDR, False)
TCP = Request(*ADDR, True)

QUESTIONS = [
    ("web.example.org", "A"),  # a hit
    ("web.example.org", "AAAA"),
    ("www.example.org", "A"),  # a CNAME, followed
    ("example.org", "MX"),  # additional data
    ("example.org", "DNSKEY"),
    ("x.users.example.org", "A"),  # a wildcard
    ("nothere.example.org", "A"),  # NXDOMAIN
    ("web.example.org", "MX"),  # no data
    ("host.lab.example.org", "A"),  # a referral, with glue
    ("mid.example.org", "A"),  # over 512 bytes
]

EDNS = {  # how the client asks: make_query's keyword arguments
    "no EDNS": dict(use_edns=False),
    "EDNS": dict(use_edns=0, payload=1232),
    "EDNS and DO": dict(use_edns=0, payload=1232, want_dnssec=True),
    "EDNS 4096": dict(use_edns=0, payload=4096),
}


@functools.lru_cache
def signed_zone(serial: int, web: str) -> dns.zone.Zone:
    zone = dns.zone.from_text(ZONE.format(serial=serial, web=web), ORIGIN, relativize=False)
    with zone.writer() as txn:
        dns.dnssec.sign_zone(zone, txn=txn, keys=[(KEY, DNSKEY)], inception=1700000000, expiration=1900000000)
    return zone


def version(serial: int = 1, web: str = "192.0.2.80"):
    """A new version (with empty memos) of the signed zone; its records are shared, never changed."""
    return from_zone(signed_zone(serial, web))


def make_zone(**kw) -> Zone:
    return Zone(ZoneConfig(ORIGIN, "primary", file="example.org.zone"), version(**kw))


@pytest.fixture
def zone() -> Zone:
    return make_zone()


@pytest.fixture
def handler(zone) -> QueryHandler:
    return QueryHandler(ZoneDB.of([zone]))


def wire_of(qname: str, rdtype: str, id: int = 0x1234, rd: bool = True, cd: bool = False, **edns) -> bytes:
    query = dns.message.make_query(qname, rdtype, **edns)
    query.id = id
    query.flags = (dns.flags.RD if rd else 0) | (dns.flags.CD if cd else 0)
    return query.to_wire()


#: the slow path, for tests that count its uses
answer_slowly = QueryHandler._answer_slowly


def reference(handler: QueryHandler, wire: bytes, request: Request = UDP) -> bytes:
    """What the slow path answers on its own: parsed, looked up and rendered, no memo involved."""
    return handler._answer_slowly(wire, request, None)


def answers(handler: QueryHandler, wire: bytes, times: int = 3) -> list[bytes]:
    """The responses to the same datagram asked C{times} times: slow path, then memo, then datagram memo."""
    return [handler.answer_datagram(wire, ADDR) for _ in range(times)]


@pytest.fixture
def no_slow_path(monkeypatch):
    """From now on, any use of the slow path fails the test."""

    def refuse(self, wire, request, fast):
        raise AssertionError(f"slow path used for {wire!r}")

    return lambda: monkeypatch.setattr(QueryHandler, "_answer_slowly", refuse)


class TestSameAsSlowPath:
    @pytest.mark.parametrize("edns", EDNS, ids=list(EDNS))
    @pytest.mark.parametrize("qname, rdtype", QUESTIONS, ids=[" ".join(q) for q in QUESTIONS])
    def test_udp(self, handler, qname, rdtype, edns):
        """Asked again and again over UDP, a query gets the slow path's bytes every time."""
        wire = wire_of(qname, rdtype, **EDNS[edns])
        expected = reference(handler, wire)
        assert answers(handler, wire) == [expected] * 3

    @pytest.mark.parametrize("edns", EDNS, ids=list(EDNS))
    @pytest.mark.parametrize("qname, rdtype", QUESTIONS, ids=[" ".join(q) for q in QUESTIONS])
    def test_tcp(self, handler, qname, rdtype, edns):
        """Over TCP, a remembered answer is the slow path's bytes, never truncated."""
        wire = wire_of(qname, rdtype, **EDNS[edns])
        expected = reference(handler, wire, TCP)
        assert [handler.answer(wire, TCP) for _ in range(3)] == [expected] * 3
        assert not dns.message.from_wire(expected).flags & dns.flags.TC

    def test_memo_answers_without_the_slow_path(self, handler, no_slow_path):
        """Once asked, a query with another ID, flags or case is answered from the memo alone."""
        first = wire_of("web.example.org", "A", id=1)
        handler.answer_datagram(first, ADDR)
        others = [
            wire_of("web.example.org", "A", id=2),
            wire_of("web.example.org", "A", id=3, rd=False, cd=True),
            wire_of("WeB.ExAmPlE.oRg", "A", id=4),
        ]
        expected = [reference(handler, wire) for wire in others]
        no_slow_path()
        assert [handler.answer_datagram(wire, ADDR) for wire in others] == expected
        assert [handler.answer_datagram(wire, ADDR) for wire in others] == expected


class TestHeader:
    @pytest.mark.parametrize("rd", [False, True])
    @pytest.mark.parametrize("cd", [False, True])
    def test_rd_and_cd_copied(self, handler, rd, cd):
        """RD and CD in a remembered answer are the asking query's, whatever the first query had."""
        handler.answer_datagram(wire_of("web.example.org", "A", rd=not rd, cd=not cd), ADDR)
        wire = wire_of("web.example.org", "A", rd=rd, cd=cd)
        expected = reference(handler, wire)
        assert answers(handler, wire) == [expected] * 3
        flags = dns.message.from_wire(expected).flags
        assert bool(flags & dns.flags.RD) == rd and bool(flags & dns.flags.CD) == cd

    def test_id_copied(self, handler):
        """Each response carries its own query's ID, from the datagram memo too."""
        for id in (0, 1, 0xABCD, 0xFFFF, 0xABCD):
            response = handler.answer_datagram(wire_of("web.example.org", "A", id=id), ADDR)
            assert dns.message.from_wire(response).id == id


class TestCase:
    @pytest.mark.parametrize(
        "qname", ["WEB.EXAMPLE.ORG", "wEb.ExAmPlE.OrG", "web.example.ORG", "X.Users.Example.Org", "NoThere.example.org"]
    )
    def test_question_as_sent(self, handler, qname):
        """A query in any case (0x20) gets its question back in that case, and the slow path's bytes."""
        lower = qname.lower()
        handler.answer_datagram(wire_of(lower, "A"), ADDR)
        handler.answer_datagram(wire_of(lower, "A"), ADDR)
        wire = wire_of(qname, "A")
        expected = reference(handler, wire)
        assert answers(handler, wire) == [expected] * 3
        assert dns.message.from_wire(expected).question[0].name.to_text() == qname + "."
        assert expected[12 : 12 + len(qname) + 2] == wire[12 : 12 + len(qname) + 2]

    def test_lowercase_first_then_mixed(self, handler):
        """A mixed-case query after the lowercase one is not answered with the lowercase question."""
        answers(handler, wire_of("web.example.org", "A"))
        response = handler.answer_datagram(wire_of("WEB.example.org", "A"), ADDR)
        assert dns.message.from_wire(response).question[0].name.labels[0] == b"WEB"

    def test_random_case_does_not_fill_the_datagram_memo(self, handler):
        """Queries in random case (0x20) are answered from the version's memo without growing the datagram memo."""
        answers(handler, wire_of("web.example.org", "A"))
        remembered = len(handler._datagrams)
        for i in range(1, 64):
            qname = "".join(c.upper() if i >> (n % 6) & 1 else c for n, c in enumerate("web.example.org"))
            wire = wire_of(qname, "A")
            assert handler.answer_datagram(wire, ADDR) == reference(handler, wire)
        assert len(handler._datagrams) == remembered


class TestEdns:
    @pytest.mark.parametrize("first", EDNS, ids=list(EDNS))
    @pytest.mark.parametrize("then", EDNS, ids=list(EDNS))
    def test_each_edns_state_its_own_answer(self, handler, first, then):
        """Whatever EDNS the first query had, the next gets the answer for its own: OPT or not, DO or not."""
        answers(handler, wire_of("example.org", "MX", **EDNS[first]))
        wire = wire_of("example.org", "MX", **EDNS[then])
        expected = reference(handler, wire)
        assert answers(handler, wire) == [expected] * 3
        response = dns.message.from_wire(expected)
        assert response.edns == (-1 if then == "no EDNS" else 0)
        assert bool(response.ednsflags & dns.flags.DO) == (then == "EDNS and DO")
        has_rrsig = any(rrset.rdtype == dns.rdatatype.RRSIG for rrset in response.answer)
        assert has_rrsig == (then == "EDNS and DO")

    def test_edns_options_ignored_and_answered(self, handler):
        """A query with an EDNS option (a cookie) is answered as the slow path does, every time."""
        cookie = dns.edns.GenericOption(dns.edns.COOKIE, b"\x01" * 8)
        wire = wire_of("web.example.org", "A", use_edns=0, payload=1232, options=[cookie])
        expected = reference(handler, wire)
        assert answers(handler, wire) == [expected] * 3


class TestPlainRead:
    """
    A plain query is read from its bytes, not parsed by dnspython; the
    reference parses it (it is called without the fast parser's result).
    """

    OPTIONS = {
        "cookie": [dns.edns.GenericOption(dns.edns.COOKIE, b"\x01" * 8)],
        "client subnet": [dns.edns.ECSOption("192.0.2.0", 24)],
        "NSID and padding": [dns.edns.GenericOption(dns.edns.NSID, b""), dns.edns.GenericOption(12, bytes(20))],
        "unknown": [dns.edns.GenericOption(65001, b"xyz")],
    }

    @pytest.mark.parametrize("options", OPTIONS, ids=list(OPTIONS))
    @pytest.mark.parametrize("qname, rdtype", QUESTIONS, ids=[" ".join(q) for q in QUESTIONS])
    def test_edns_options(self, handler, qname, rdtype, options):
        """With EDNS options dnspython reads, the answer is the one its parse gives."""
        wire = wire_of(qname, rdtype, use_edns=0, payload=1232, want_dnssec=True, options=self.OPTIONS[options])
        expected = reference(handler, wire)
        assert handler.answer(wire, UDP) == expected
        assert handler.answer(wire, TCP) == reference(handler, wire, TCP)

    @pytest.mark.parametrize(
        "option",
        [
            b"\x00\x08\x00\x04\x00\x09\x18\x00",  # client subnet of family 9
            b"\x00\x08\x00\x03\x00\x01\x18",  # client subnet cut short
            b"\x00\x0a\x00\x09" + bytes(9),  # a cookie too long for a client cookie
            b"\x00\x0a\x00\x10" + bytes(4),  # an option longer than the OPT
            b"\x00\x0a\x00",  # half an option header
        ],
    )
    def test_options_dnspython_refuses(self, handler, option):
        """EDNS options dnspython cannot read make a FORMERR, as its parse did."""
        wire = bytearray(wire_of("web.example.org", "A", use_edns=0, payload=1232))
        wire[-2:] = len(option).to_bytes(2, "big")
        wire = bytes(wire) + option
        expected = reference(handler, wire)
        assert dns.message.from_wire(expected).rcode() == dns.rcode.FORMERR
        assert [handler.answer(wire, UDP) for _ in range(2)] == [expected] * 2

    @pytest.mark.parametrize(
        "rdtype, rdclass",
        [("OPT", "IN"), ("TSIG", "IN"), ("MAILA", "IN"), ("A", "CH"), ("A", "ANY"), ("TYPE65280", "IN"), ("AXFR", "IN")],
    )
    def test_odd_questions(self, handler, rdtype, rdclass):
        """Meta types, other classes, unknown types and transfers get what the parsed query got."""
        for edns in EDNS.values():
            query = dns.message.make_query("Web.Example.org", rdtype, rdclass, **edns)
            wire = query.to_wire()
            assert [handler.answer(wire, UDP) for _ in range(2)] == [reference(handler, wire)] * 2

    def test_name_outside_every_zone(self, handler):
        """A name in no zone served, the root included, is refused as before."""
        for qname in ("example.net", ".", "org", "xexample.org"):
            wire = wire_of(qname, "A")
            assert handler.answer(wire, UDP) == reference(handler, wire)


class TestUdpLimit:
    @pytest.mark.parametrize(
        "qname, edns, truncated",
        [
            ("mid.example.org", dict(use_edns=False), True),  # over 512 without EDNS
            ("mid.example.org", dict(use_edns=0, payload=512), True),  # over the client's 512
            ("mid.example.org", dict(use_edns=0, payload=1232), False),
            ("big.example.org", dict(use_edns=0, payload=4096), True),  # over our max_udp_size
        ],
    )
    def test_remembered_answer_too_big_is_truncated(self, handler, qname, edns, truncated):
        """An answer remembered whole (over TCP) is not sent over UDP when over the client's or our limit."""
        handler.answer(wire_of(qname, "A", **edns), TCP)
        handler.answer(wire_of(qname, "A", **edns), TCP)
        wire = wire_of(qname, "A", **edns)
        expected = reference(handler, wire)
        assert answers(handler, wire) == [expected] * 3
        response = dns.message.from_wire(expected)
        assert bool(response.flags & dns.flags.TC) == truncated
        if truncated:
            assert response.answer == []

    @pytest.mark.parametrize("qname, payload", [("mid.example.org", None), ("big.example.org", 4096)])
    def test_answer_entry_point_truncates_too(self, handler, qname, payload):
        """L{QueryHandler.answer} for a UDP request truncates a remembered answer over the limit as the slow path does."""
        edns = dict(use_edns=False) if payload is None else dict(use_edns=0, payload=payload)
        wire = wire_of(qname, "A", **edns)
        handler.answer(wire, TCP)
        expected = reference(handler, wire)
        assert [handler.answer(wire, UDP) for _ in range(3)] == [expected] * 3
        assert dns.message.from_wire(expected).flags & dns.flags.TC

    def test_small_limit_after_large(self, handler):
        """After a client with room for the answer, a client without gets TC=1, not the remembered answer."""
        answers(handler, wire_of("mid.example.org", "A", use_edns=0, payload=1232))
        response = dns.message.from_wire(handler.answer_datagram(wire_of("mid.example.org", "A"), ADDR))
        assert response.flags & dns.flags.TC and response.answer == []

    def test_lower_max_udp_size_at_once(self, handler):
        """A lower max_udp_size applies at once to queries the datagram memo answered before."""
        wire = wire_of("mid.example.org", "A", use_edns=0, payload=1232)
        answers(handler, wire)
        handler.max_udp_size = 512
        response = dns.message.from_wire(handler.answer_datagram(wire, ADDR))
        assert response.flags & dns.flags.TC


class TestVersions:
    def test_swap_never_serves_the_old_version(self, handler, zone):
        """After a swap to a new version, a query remembered from the old one gets the new answer."""
        wire = wire_of("web.example.org", "A")
        assert "192.0.2.80" in dns.message.from_wire(answers(handler, wire)[-1]).to_text()
        zone.swap(version(serial=2, web="192.0.2.81"))
        expected = reference(handler, wire)
        assert "192.0.2.81" in dns.message.from_wire(expected).to_text()
        assert answers(handler, wire) == [expected] * 3

    def test_swap_back_and_forth(self, handler, zone):
        """Each swap is seen by the next query, for every version in turn."""
        wire = wire_of("web.example.org", "A")
        versions = [version(serial=n, web=f"192.0.2.{n}") for n in (10, 11, 12)]
        for data in versions + versions[::-1]:
            zone.swap(data)
            for response in answers(handler, wire):
                assert f"192.0.2.{data.serial}" in dns.message.from_wire(response).to_text()

    def test_old_version_not_kept_alive(self, handler, zone):
        """A version swapped out is not kept alive by the memos."""
        for qname, rdtype in QUESTIONS:
            answers(handler, wire_of(qname, rdtype))
        old = weakref.ref(zone.data)
        zone.swap(version(serial=2))
        gc.collect()
        assert old() is None

    def test_versions_have_separate_memos(self, handler, zone, monkeypatch):
        """A new version, even of the same contents, is answered by the slow path first, then from its own memo."""
        wire = wire_of("web.example.org", "A")
        first = answers(handler, wire)
        old = zone.data
        zone.swap(version())
        slow = []
        monkeypatch.setattr(QueryHandler, "_answer_slowly", lambda self, *a: slow.append(a) or answer_slowly(self, *a))
        assert answers(handler, wire) == first
        assert len(slow) == 1
        memos = handler._answers
        assert len(memos[id(old)]) == len(memos[id(zone.data)]) == 1
        assert memos[id(old)] is not memos[id(zone.data)]

    def test_memo_goes_with_its_version(self, handler, zone):
        """The memo of a version swapped out is dropped with it; only the current version's is left."""
        for qname, rdtype in QUESTIONS:
            answers(handler, wire_of(qname, rdtype))
        old = id(zone.data)
        assert old in handler._answers and old in handler._rrset_wire
        zone.swap(version(serial=2))
        gc.collect()
        assert not handler._answers and not handler._rrset_wire
        answers(handler, wire_of("web.example.org", "A"))
        assert list(handler._answers) == [id(zone.data)]

    def test_dropped_version_memo_never_answers_the_next(self, handler, zone):
        """A version built after the old one is dropped (maybe where it was) is never answered from its memo."""
        wire = wire_of("web.example.org", "A")
        answers(handler, wire)
        for n in range(81, 86):
            zone.swap(None)
            gc.collect()
            zone.swap(from_zone(signed_zone(1, f"192.0.2.{n}")))
            for response in answers(handler, wire) + [handler.answer(wire, TCP)]:
                assert f"192.0.2.{n}" in dns.message.from_wire(response).to_text()

    def test_expired_zone_servfail(self, handler, zone):
        """A zone that expires gets SERVFAIL at once, for queries remembered before."""
        wire = wire_of("web.example.org", "A")
        answers(handler, wire)
        zone.expired = True
        for response in answers(handler, wire):
            assert dns.message.from_wire(response).rcode() == dns.rcode.SERVFAIL

    def test_zone_removed_refused(self, handler):
        """After a reload that drops the zone, queries remembered before are REFUSED."""
        wire = wire_of("web.example.org", "A")
        answers(handler, wire)
        handler.zonedb = ZoneDB.of([])
        for response in answers(handler, wire):
            assert dns.message.from_wire(response).rcode() == dns.rcode.REFUSED

    def test_child_zone_added(self, handler, zone):
        """After a reload that adds a zone below, its names are answered from it, not from memos of the parent."""
        wire = wire_of("host.lab.example.org", "A")
        assert not dns.message.from_wire(answers(handler, wire)[-1]).flags & dns.flags.AA  # a referral
        lab = dns.name.from_text("lab.example.org")
        child = from_zone(
            dns.zone.from_text(
                "$TTL 300\n@ IN SOA ns hostmaster 1 7200 3600 1209600 300\n IN NS ns\nns IN A 192.0.2.53\n"
                "host IN A 192.0.2.54\n",
                lab,
                relativize=False,
            )
        )
        handler.zonedb = ZoneDB.of([zone, Zone(ZoneConfig(lab, "primary", file="lab.zone"), child)])
        for response in answers(handler, wire):
            message = dns.message.from_wire(response)
            assert message.flags & dns.flags.AA
            assert "192.0.2.54" in message.to_text()

    def test_datagram_memo_bounded(self, handler, monkeypatch):
        """The datagram memo starts again when full, and answers stay right."""
        wires = [wire_of(qname, rdtype) for qname, rdtype in QUESTIONS]
        for wire in wires:
            handler.answer_datagram(wire, ADDR)  # into the version's memo
        monkeypatch.setattr(query_module, "MEMO_LIMIT", 4)
        for _ in range(3):
            for wire in wires:
                assert handler.answer_datagram(wire, ADDR) == reference(handler, wire)
                assert len(handler._datagrams) <= 4


class FakeSocket:
    """The socket of a UDP port: records what is sent; sendto raises C{error} when set."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple]] = []
        self.options: dict = {}
        self.error: OSError | None = None

    def sendto(self, data: bytes, addr) -> int:
        if self.error is not None:
            raise self.error
        self.sent.append((data, addr))
        return len(data)

    def setsockopt(self, level, option, value) -> None:
        self.options[(level, option)] = value


class FakePort(FakeDatagramTransport):
    """A UDP port transport with a socket (L{FakeSocket})."""

    def __init__(self) -> None:
        super().__init__()
        self.socket = FakeSocket()

    def getHandle(self) -> FakeSocket:
        return self.socket


class TestDatagramProtocol:
    def test_response_to_sender(self, handler):
        """Each datagram's response goes to the address it came from, with the slow path's bytes."""
        transport = FakeDatagramTransport()
        protocol = DNSDatagramProtocol(handler)
        protocol.makeConnection(transport)
        wire = wire_of("web.example.org", "A")
        for port in (1000, 1001, 1002):
            protocol.datagramReceived(wire, ("192.0.2.9", port))
        expected = reference(handler, wire)
        assert transport.written == [(expected, ("192.0.2.9", port)) for port in (1000, 1001, 1002)]

    def test_sent_on_the_socket(self, handler):
        """On a port with a socket, responses are sent on the socket, and its receive buffer is enlarged."""
        port = FakePort()
        protocol = DNSDatagramProtocol(handler)
        protocol.makeConnection(port)
        wire = wire_of("web.example.org", "A")
        for _ in range(3):
            protocol.datagramReceived(wire, ADDR)
        assert port.socket.sent == [(reference(handler, wire), ADDR)] * 3
        assert port.written == []
        assert list(port.socket.options.values()) == [4 * 1024 * 1024]

    @pytest.mark.parametrize("code", [errno.EAGAIN, errno.ENOBUFS, errno.ECONNREFUSED])
    def test_full_socket_loses_the_response(self, handler, code):
        """A response the socket will not take is counted as lost, quietly, and the next one is sent."""
        port = FakePort()
        protocol = DNSDatagramProtocol(handler)
        protocol.makeConnection(port)
        wire = wire_of("web.example.org", "A")
        port.socket.error = OSError(code, "no")
        with capturedLogs() as events:
            protocol.datagramReceived(wire, ADDR)
        assert events == [] and protocol.lost == 1
        port.socket.error = None
        protocol.datagramReceived(wire, ADDR)
        assert port.socket.sent == [(reference(handler, wire), ADDR)]

    def test_other_send_error_logged(self, handler):
        """Any other error sending a response is logged, and does not stop the protocol."""
        port = FakePort()
        protocol = DNSDatagramProtocol(handler)
        protocol.makeConnection(port)
        port.socket.error = OSError(errno.EINVAL, "invalid")
        with capturedLogs() as events:
            protocol.datagramReceived(wire_of("web.example.org", "A"), ADDR)
        assert len(events) == 1 and protocol.lost == 0

    def test_handler_error_logged_and_next_answered(self, handler, monkeypatch):
        """A datagram that makes the handler fail is logged, unanswered, and the next one is answered."""
        transport = FakeDatagramTransport()
        protocol = DNSDatagramProtocol(handler)
        protocol.makeConnection(transport)

        def boom(self, wire, addr):
            raise RuntimeError("boom")

        monkeypatch.setattr(QueryHandler, "answer_datagram", boom)
        with capturedLogs() as events:
            protocol.datagramReceived(wire_of("web.example.org", "A"), ADDR)
        assert transport.written == [] and len(events) == 1
        monkeypatch.undo()
        protocol.datagramReceived(wire_of("web.example.org", "A"), ADDR)
        assert len(transport.written) == 1


@pytest.mark.parametrize("opcode", [1, 2, 3, 6, 7, 15])
@pytest.mark.parametrize("questions", [0, 1, 2])
def test_unknown_opcodes_get_notimp_whatever_the_sections(handler, opcode, questions):
    """
    An opcode secdns does not implement is NOTIMP (RFC 1035 section
    4.1.1), with or without a question, as BIND, Knot and NSD answer;
    before, one with no question got FORMERR.
    """
    question = dns.name.from_text("www.example.org.").to_wire() + struct.pack("!HH", 1, 1)
    wire = struct.pack("!HHHHHH", 9, opcode << 11, questions, 0, 0, 0) + question * questions
    response = handler.answer(wire, UDP)
    assert (response[2] >> 3) & 0xF == opcode
    assert response[3] & 0xF == dns.rcode.NOTIMP


# -- the memo never answers what the slow path rejects (issue 13)

_OPTION_CODES = st.sampled_from([dns.edns.NSID, dns.edns.ECS, dns.edns.COOKIE, dns.edns.EDE, 12, 65001])


@st.composite
def _options(draw) -> bytes:
    """EDNS options, well formed or not: any code, any length, data cut short or left over."""
    out = b""
    for _ in range(draw(st.integers(1, 3))):
        code = draw(_OPTION_CODES)
        data = draw(st.binary(max_size=44))
        length = draw(st.one_of(st.just(len(data)), st.integers(0, 60)))
        out += code.to_bytes(2, "big") + length.to_bytes(2, "big") + data
    return out


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # the handler fixture's long repr
@hypothesis.settings(max_examples=300, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(options=_options(), twin=st.sampled_from(["none", "cookie"]), do=st.booleans(), datagram=st.booleans())
def test_memo_rejects_what_the_slow_path_rejects(handler, options, twin, do, datagram):
    """
    A query's EDNS options, sent after their valid twin (the same question
    and EDNS, with no options or a good cookie) put the answer in the memo:
    the answer is still the slow path's (FORMERR when dnspython cannot read
    the options).  Before, a malformed cookie got FORMERR the first time and
    the remembered answer once its twin had been asked.
    """
    twin_options = [] if twin == "none" else [dns.edns.GenericOption(dns.edns.COOKIE, b"\x01" * 8)]
    valid = wire_of("web.example.org", "A", use_edns=0, payload=1232, want_dnssec=do, options=twin_options)
    for _ in range(2):
        (handler.answer_datagram(valid, ADDR) if datagram else handler.answer(valid, UDP))
    head = bytearray(wire_of("web.example.org", "A", use_edns=0, payload=1232, want_dnssec=do))
    head[-2:] = len(options).to_bytes(2, "big")
    wire = bytes(head) + options
    expected = reference(handler, wire)
    got = handler.answer_datagram(wire, ADDR) if datagram else handler.answer(wire, UDP)
    assert got == expected


@pytest.mark.parametrize("rdtype", ["TYPE128", "OPT", "TSIG", "TKEY"])
def test_meta_types_get_formerr_with_invalid_query_type(handler, rdtype):
    """
    A question for a meta-type, RFC 9824's NXNAME (128) among them, is
    FORMERR (RFC 9824 section 3.5 says MUST for NXNAME), with the Extended
    DNS Error 30 "Invalid Query Type" to an EDNS client, from the memo too.
    """
    plain = dns.message.from_wire(handler.answer(wire_of("web.example.org", rdtype), UDP))
    assert plain.rcode() == dns.rcode.FORMERR and plain.edns < 0
    wire = wire_of("web.example.org", rdtype, use_edns=0, payload=1232)
    for _ in range(2):
        response = dns.message.from_wire(handler.answer(wire, UDP))
        assert response.rcode() == dns.rcode.FORMERR
        assert [(o.otype, o.code) for o in response.options] == [(dns.edns.EDE, 30)]
