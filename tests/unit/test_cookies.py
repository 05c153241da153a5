"""
secdns.server.cookies and the dispatcher's use of it: DNS Cookies (RFC
7873) with RFC 9018's interoperable server cookie.
"""

from __future__ import annotations

import struct

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.tsig
import pytest
from twisted.internet.task import Clock

from secdns.server import cookies as cookies_module
from secdns.server.cookies import COOKIE, Cookies, State, find_cookie, server_cookie, siphash24
from secdns.server.dispatch import QueryHandler, Request
from secdns.server.protocol import DNSDatagramProtocol
from secdns.server.rrl import RateLimiter, Verdict
from secdns.zones.zonemap import ZoneDB
from tests.unit.test_query import make_zone, wire_of

SECRET = bytes(range(16))
CLIENT = bytes.fromhex("0102030405060708")
NOW = 0x6B1128C7


def option(data: bytes) -> bytes:
    """A COOKIE option in wire form, as the OPT's RDATA holds it."""
    return struct.pack("!HH", COOKIE, len(data)) + data


def at(seconds: float) -> tuple[Cookies, Clock]:
    clock = Clock()
    clock.advance(seconds)
    return Cookies((SECRET,), clock=clock.seconds), clock


def test_siphash_reference_vectors():
    """The SipHash paper's test vector, and two of its reference code's vectors (output octets)."""
    assert siphash24(bytes(range(16)), bytes(range(15))).hex() == "e545be4961ca29a1"
    assert siphash24(bytes(range(16)), b"").hex() == "310e0edd47db6f72"
    assert siphash24(bytes(range(16)), bytes(range(8))).hex() == "6224939a79f5f593"


def test_server_cookie_is_binds():
    """BIND 9.18 (cookie-algorithm siphash24, this secret) gave client 0102030405060708 at 127.0.0.1 this cookie."""
    assert server_cookie(SECRET, CLIENT, "127.0.0.1", NOW).hex() == "010000006b1128c71efe53602a3b5766"


def test_a_client_cookie_gets_a_server_cookie():
    jar, _ = at(NOW)
    state, answer = jar.answer(option(CLIENT), "127.0.0.1")
    assert state is State.CLIENT
    assert answer == option(CLIENT + server_cookie(SECRET, CLIENT, "127.0.0.1", NOW))
    assert jar.counts["client"] == 1


def test_a_young_valid_cookie_is_echoed():
    jar, _ = at(NOW + 600)
    given = server_cookie(SECRET, CLIENT, "127.0.0.1", NOW)
    assert jar.answer(option(CLIENT + given), "127.0.0.1") == (State.VALID, option(CLIENT + given))


def test_a_cookie_half_an_hour_old_is_renewed():
    jar, _ = at(NOW + 1900)
    given = server_cookie(SECRET, CLIENT, "127.0.0.1", NOW)
    state, answer = jar.answer(option(CLIENT + given), "127.0.0.1")
    assert state is State.VALID
    assert answer == option(CLIENT + server_cookie(SECRET, CLIENT, "127.0.0.1", NOW + 1900))


@pytest.mark.parametrize("now", [NOW + 3601, NOW - 301])
def test_too_old_or_too_far_ahead_is_invalid(now):
    jar, _ = at(now)
    given = server_cookie(SECRET, CLIENT, "127.0.0.1", NOW)
    state, answer = jar.answer(option(CLIENT + given), "127.0.0.1")
    assert state is State.INVALID
    assert answer == option(CLIENT + server_cookie(SECRET, CLIENT, "127.0.0.1", now))


def test_timestamps_wrap_as_serial_numbers():
    """RFC 9018: the timestamp is compared in serial number arithmetic, so 2106 is no cliff."""
    jar, _ = at(2**32 + 100)
    given = server_cookie(SECRET, CLIENT, "127.0.0.1", 2**32 - 50)  # wrapped: 150 s ago
    assert jar.answer(option(CLIENT + given), "127.0.0.1")[0] is State.VALID


@pytest.mark.parametrize(
    "given",
    [
        server_cookie(SECRET, CLIENT, "127.0.0.2", NOW),  # made for another address
        server_cookie(bytes(16), CLIENT, "127.0.0.1", NOW),  # another secret
        b"\x02" + server_cookie(SECRET, CLIENT, "127.0.0.1", NOW)[1:],  # another version
        bytes(8),  # another make's (8 to 32 octets)
        bytes(32),
    ],
)
def test_cookies_not_ours_are_invalid_and_replaced(given):
    jar, _ = at(NOW)
    state, answer = jar.answer(option(CLIENT + given), "127.0.0.1")
    assert state is State.INVALID
    assert answer == option(CLIENT + server_cookie(SECRET, CLIENT, "127.0.0.1", NOW))


def test_an_older_secret_is_accepted_and_the_first_makes_the_new_cookie():
    old, new = bytes(16), SECRET
    clock = Clock()
    clock.advance(NOW + 10)
    jar = Cookies((new, old), clock=clock.seconds)
    given = server_cookie(old, CLIENT, "::1", NOW)
    state, answer = jar.answer(option(CLIENT + given), "::1")
    assert state is State.VALID
    assert answer == option(CLIENT + server_cookie(new, CLIENT, "::1", NOW + 10))


def test_no_cookie_option():
    jar, _ = at(NOW)
    other = struct.pack("!HH", 3, 0)  # NSID, asked
    assert jar.answer(other, "127.0.0.1") == (State.NONE, b"")
    assert find_cookie(other + option(CLIENT)) == CLIENT


def test_worked_out_once_per_client_and_cookie(monkeypatch):
    """A client that sends the same cookie again costs a lookup, not a hash, until the answer ages."""
    jar, clock = at(NOW)
    hashes = []
    real = cookies_module.siphash24
    monkeypatch.setattr(cookies_module, "siphash24", lambda key, data: hashes.append(1) or real(key, data))
    for _ in range(100):
        jar.answer(option(CLIENT), "127.0.0.1")
    assert len(hashes) == 1
    clock.advance(61)
    jar.answer(option(CLIENT), "127.0.0.1")
    assert len(hashes) == 2
    assert jar.counts["client"] == 101


def test_a_secret_is_16_octets_and_never_shown():
    with pytest.raises(ValueError):
        Cookies((b"short",))
    assert SECRET.hex() not in repr(Cookies((SECRET,))) and repr(SECRET) not in repr(Cookies((SECRET,)))
    assert Cookies().generated and not Cookies((SECRET,)).generated


# -- the dispatcher


def handler() -> QueryHandler:
    return QueryHandler(ZoneDB.of([make_zone()]), cookies=at(NOW)[0])


def cookie_query(qname="web.example.org", rdtype="A", data=CLIENT, **kw) -> bytes:
    return wire_of(qname, rdtype, use_edns=0, payload=1232, options=[dns.edns.GenericOption(COOKIE, data)], **kw)


def cookie_of(response: bytes) -> bytes | None:
    message = dns.message.from_wire(response)
    for opt in message.options:
        if opt.otype == COOKIE:
            return opt.client + opt.server
    return None


@pytest.mark.parametrize("tcp", [False, True])
def test_answers_carry_the_clients_cookie_from_the_memo_too(tcp):
    """
    The first answer (rendered) and the next (from the memo, kept without
    any cookie) each carry the cookie made for the client that asked, never
    another client's.
    """
    h = handler()
    ask = (lambda wire, address: h.answer(wire, Request(address, 5300, True))) if tcp else (
        lambda wire, address: h.answer_datagram(wire, (address, 5300))
    )
    other = bytes(range(10, 18))
    for client, address in [(CLIENT, "127.0.0.1"), (CLIENT, "127.0.0.1"), (other, "192.0.2.9"), (CLIENT, "::1")]:
        response = ask(cookie_query(data=client), address)
        assert cookie_of(response) == client + server_cookie(SECRET, client, address, NOW)
        assert dns.message.from_wire(response).answer  # the answer itself is there


def test_without_a_cookie_no_cookie_and_the_datagram_memo_as_before():
    h = handler()
    plain = wire_of("web.example.org", "A", use_edns=0, payload=1232)
    for _ in range(2):
        assert cookie_of(h.answer_datagram(plain, ("127.0.0.1", 5300))) is None
    assert len(h._datagrams) == 1
    h.answer_datagram(cookie_query(), ("127.0.0.1", 5300))
    assert len(h._datagrams) == 1  # a query with a cookie is never remembered whole


def test_errors_and_signed_answers_carry_the_cookie_too():
    h = handler()
    refused = h.answer_datagram(cookie_query("example.net"), ("127.0.0.1", 5300))
    assert dns.message.from_wire(refused).rcode() == dns.rcode.REFUSED
    assert cookie_of(refused) == CLIENT + server_cookie(SECRET, CLIENT, "127.0.0.1", NOW)
    from secdns.wire import tsig
    from secdns.config import TsigKeyConfig

    key = TsigKeyConfig(dns.name.from_text("k"), "hmac-sha256", bytes(32))
    h.keyring = tsig.Keyring.from_config([key])
    keyring = {key.name: dns.tsig.Key(key.name, key.secret, "hmac-sha256")}
    query = dns.message.make_query("web.example.org", "A", use_edns=0, options=[dns.edns.GenericOption(COOKIE, CLIENT)])
    query.use_tsig(keyring)
    response = h.answer(query.to_wire(), Request("127.0.0.1", 5300, True))
    message = dns.message.from_wire(response, keyring=keyring, request_mac=query.mac)  # the signature checks out
    assert [o.client + o.server for o in message.options if o.otype == COOKIE] == [
        CLIENT + server_cookie(SECRET, CLIENT, "127.0.0.1", int(h.cookies.clock()))
    ]


def test_cookies_off_answers_without_one():
    h = QueryHandler(ZoneDB.of([make_zone()]))
    assert cookie_of(h.answer_datagram(cookie_query(), ("127.0.0.1", 5300))) is None


@pytest.mark.parametrize("size", [0, 5, 9, 15, 41])
def test_a_malformed_cookie_is_formerr_before_and_after_the_memo(size):
    """RFC 7873 section 5.2.2: FORMERR, whether or not the question is in the memo."""
    h = handler()
    h.answer_datagram(cookie_query(), ("127.0.0.1", 5300))  # the valid twin: the question is remembered
    bad = cookie_query(data=bytes(size))
    assert dns.message.from_wire(h.answer_datagram(bad, ("127.0.0.1", 5300))).rcode() == dns.rcode.FORMERR


def test_bad_cookie_response():
    h = handler()
    response = dns.message.from_wire(h.bad_cookie(cookie_query(), "127.0.0.1"))
    assert response.rcode() == dns.rcode.BADCOOKIE
    assert response.id == 0x1234 and str(response.question[0].name) == "web.example.org."
    assert not response.answer
    assert cookie_of(h.bad_cookie(cookie_query(), "127.0.0.1")) == CLIENT + server_cookie(SECRET, CLIENT, "127.0.0.1", NOW)
    assert h.bad_cookie(wire_of("web.example.org", "A", use_edns=0), "127.0.0.1") is None  # no cookie: none
    assert h.cookie_state(cookie_query(), "127.0.0.1") is State.CLIENT
    assert h.cookie_state(wire_of("web.example.org", "A"), "127.0.0.1") is State.NONE


# -- response rate limiting


def response(qname="www.example.org") -> bytes:
    return dns.message.make_response(dns.message.make_query(qname, "A")).to_wire()


@pytest.mark.parametrize(
    "policy, state, expected",
    [
        ("slip", State.VALID, [Verdict.SEND] * 6),
        ("slip", State.CLIENT, [Verdict.DROP, Verdict.BADCOOKIE] * 3),
        ("slip", State.INVALID, [Verdict.DROP, Verdict.BADCOOKIE] * 3),
        ("slip", State.NONE, [Verdict.DROP, Verdict.SLIP] * 3),
        ("badcookie", State.CLIENT, [Verdict.BADCOOKIE] * 6),
        ("badcookie", State.NONE, [Verdict.DROP, Verdict.SLIP] * 3),
    ],
)
def test_rate_limiting_and_cookies(policy, state, expected):
    """As BIND: a valid server cookie is never limited; a client cookie gets BADCOOKIE where others get TC."""
    clock = Clock()
    rrl = RateLimiter(5, slip=2, cookie_policy=policy, clock=clock.seconds)
    asked = []
    for _ in range(5):
        assert rrl.judge("192.0.2.7", response(), lambda: asked.append(1) or state) is Verdict.SEND
    assert not asked  # the cookie is looked at only past the limit
    assert [rrl.judge("192.0.2.7", response(), lambda: state) for _ in range(6)] == expected


def test_datagram_protocol_sends_badcookie_then_answers_the_cookie():
    """Under a flood, a client with a client cookie gets BADCOOKIE, then every answer with the cookie it was given."""

    class Transport:
        def __init__(self):
            self.sent = []

        def write(self, data, addr):
            self.sent.append(data)

    h = handler()
    clock = Clock()
    proto = DNSDatagramProtocol(h, RateLimiter(2, slip=1, clock=clock.seconds))
    proto.transport = Transport()
    address = ("127.0.0.1", 5300)
    for _ in range(3):
        proto.datagramReceived(cookie_query(), address)
    first, second, third = (dns.message.from_wire(w) for w in proto.transport.sent)
    assert [m.rcode() for m in (first, second, third)] == [dns.rcode.NOERROR, dns.rcode.NOERROR, dns.rcode.BADCOOKIE]
    given = cookie_of(proto.transport.sent[-1])
    for _ in range(20):
        proto.datagramReceived(cookie_query(data=given), address)
    later = [dns.message.from_wire(w) for w in proto.transport.sent[3:]]
    assert len(later) == 20 and all(m.rcode() == dns.rcode.NOERROR and m.answer for m in later)
    assert proto.rrl.counts["cookie"] == 20
    proto.datagramReceived(wire_of("web.example.org", "A", use_edns=0), address)  # no cookie: slipped (TC)
    assert dns.message.from_wire(proto.transport.sent[-1]).flags & dns.flags.TC
