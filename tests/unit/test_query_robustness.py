"""
secdns.server.dispatch under malformed input: whatever the bytes, QueryHandler.answer
returns nothing or a well-formed response, and never raises.

The random messages are seeded, and bounded in number, so a failure
reproduces: the assertion message carries the offending bytes.
"""

from __future__ import annotations

import random
import struct

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from secdns.config import ZoneConfig
from secdns.server.dispatch import QueryHandler, Request
from secdns.zones.zone import Zone
from secdns.zones.version import from_zone
from secdns.zones.zonemap import ZoneDB

SEED = 1035
MUTATED = 3000
RANDOM = 1500

ORIGIN = dns.name.from_text("example.org")
ZONE = """\
$TTL 300
@        IN SOA   ns1 hostmaster 2026010101 7200 3600 1209600 300
         IN NS    ns1
         IN MX    10 mail
ns1      IN A     192.0.2.1
mail     IN A     192.0.2.25
www      IN CNAME web
web      IN A     192.0.2.80
         IN AAAA  2001:db8::80
*.users  IN A     192.0.2.99
lab      IN NS    ns.lab
ns.lab   IN A     192.0.2.53
txt      IN TXT   "hello" "world"
$GENERATE 1-60 big A 10.0.0.$
"""

UDP = Request("127.0.0.1", 53000, False)
TCP = Request("127.0.0.1", 53000, True)


@pytest.fixture(scope="module")
def handler() -> QueryHandler:
    data = from_zone(dns.zone.from_text(ZONE, ORIGIN, relativize=False))
    zone = Zone(ZoneConfig(ORIGIN, "primary", file="example.org.zone"), data)
    return QueryHandler(ZoneDB.of([zone]))


def valid_queries() -> list[bytes]:
    """Well-formed requests of many shapes: the seeds that mutation starts from."""
    queries = []
    names = ["example.org", "www.example.org", "nothing.example.org", "a.users.example.org",
             "host.lab.example.org", "big.example.org", "txt.example.org", "example.com", "."]
    types = ["A", "AAAA", "MX", "SOA", "NS", "TXT", "ANY", "CNAME", "DS", "AXFR", "IXFR", "OPT", "RRSIG"]
    for i, qname in enumerate(names):
        for j, rdtype in enumerate(types):
            mode = (i + j) % 3  # no EDNS, EDNS, EDNS with DO
            query = dns.message.make_query(
                qname, rdtype, use_edns=0 if mode else None,
                want_dnssec=mode == 2, payload=[512, 1232, 4096][j % 3],
            )
            query.id = (i * 100 + j) & 0xFFFF
            queries.append(query.to_wire())
    notify = dns.message.make_query("example.org", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    queries.append(notify.to_wire())
    update = dns.message.make_query("example.org", "SOA")
    update.set_opcode(dns.opcode.UPDATE)
    queries.append(update.to_wire())
    chaos = dns.message.make_query("version.bind", "TXT", rdclass="CH")
    queries.append(chaos.to_wire())
    return queries


def mutate(rng: random.Random, wire: bytes) -> bytes:
    """A valid message edited: half the time in its fields only, else in its structure too."""
    return tweak(rng, wire) if rng.random() < 0.5 else damage(rng, wire)


def tweak(rng: random.Random, wire: bytes) -> bytes:
    """Random values in the fields of a valid query, its structure kept: these reach the lookup."""
    data = bytearray(wire)
    end = 12
    while data[end]:
        end += data[end] + 1
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(5)
        if kind == 0:  # any query type, including meta and transfer types
            data[end + 1 : end + 3] = struct.pack("!H", rng.choice([rng.randrange(65536), rng.randrange(256)]))
        elif kind == 1:  # any class
            data[end + 3 : end + 5] = struct.pack("!H", rng.choice([1, 1, 3, 254, 255, rng.randrange(65536)]))
        elif kind == 2 and end > 13:  # any byte in a label, the lengths kept
            at = rng.randrange(13, end)
            if data[at - 1] != 0 and at not in _length_offsets(data, end):
                data[at] = rng.randrange(256)
        elif kind == 3 and len(data) >= end + 16:  # any OPT payload and flags; now and then a version
            opt = end + 5
            data[opt + 3 : opt + 5] = rng.randbytes(2)
            data[opt + 7 : opt + 9] = rng.randbytes(2)
            if rng.random() < 0.1:
                data[opt + 5 : opt + 7] = rng.randbytes(2)
        elif kind == 4:  # any flags but QR, any opcode
            data[2] = rng.randrange(256) & 0x7F
            data[3] = rng.randrange(256)
    return bytes(data)


def _length_offsets(data: bytearray, end: int) -> set[int]:
    offsets, at = set(), 12
    while at < end:
        offsets.add(at)
        at += data[at] + 1
    return offsets


def damage(rng: random.Random, wire: bytes) -> bytes:
    """One to three random edits of a message: flipped bytes, cuts, insertions, new counts."""
    data = bytearray(wire)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(6)
        if kind == 0 and data:  # flip a byte
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 1 and data:  # cut the end
            del data[rng.randrange(len(data)) :]
        elif kind == 2:  # insert random bytes
            at = rng.randrange(len(data) + 1)
            data[at:at] = rng.randbytes(rng.randint(1, 8))
        elif kind == 3 and len(data) >= 12:  # new section counts
            offset = 4 + 2 * rng.randrange(4)
            data[offset : offset + 2] = struct.pack("!H", rng.choice([0, 1, 2, 3, 255, 65535]))
        elif kind == 4 and len(data) >= 4:  # new flags (keeping QR clear half the time)
            data[2] = rng.randrange(256) & (0xFF if rng.random() < 0.5 else 0x7F)
            data[3] = rng.randrange(256)
        elif kind == 5 and len(data) > 12:  # a compression pointer into the question
            at = rng.randrange(12, len(data))
            data[at : at + 2] = bytes((0xC0 | rng.randrange(64), rng.randrange(256)))
    return bytes(data)


def parses(wire: bytes) -> dns.message.Message | None:
    try:
        return dns.message.from_wire(wire, keyring=False, ignore_trailing=False)
    except Exception:
        return None


def check(handler: QueryHandler, wire: bytes, request: Request) -> bytes | None:
    """Answer C{wire} and check the response is one a client can use; return it."""
    try:
        response = handler.answer(wire, request)
    except Exception as e:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"answer() raised {e!r} for {wire.hex()}")
    has_header = len(wire) >= 12
    is_response = has_header and wire[2] & 0x80
    if response is None:
        assert not has_header or is_response or parses(wire) is not None, (
            f"malformed query with a header got no FORMERR: {wire.hex()}"
        )
        return None
    assert has_header and not is_response, f"answered something that is not a query: {wire.hex()}"
    message = parses(response)
    if message is None and dns.opcode.from_flags(int.from_bytes(response[2:4], "big")) == dns.opcode.UPDATE:
        # FORMERR to an UPDATE echoes its zone section as BIND does, even of a
        # type dnspython will not read there: read it as a query's question.
        message = parses(response[:2] + bytes((response[2] & 0x87,)) + response[3:])
    assert message is not None, f"unparsable response {response.hex()} to {wire.hex()}"
    assert message.id == int.from_bytes(wire[:2], "big"), wire.hex()
    assert message.flags & dns.flags.QR, wire.hex()
    assert response[2] & 0x78 == wire[2] & 0x78, f"opcode not echoed: {wire.hex()}"
    if not request.tcp:
        query = parses(wire)
        limit = 512 if query is None or query.edns < 0 else handler.max_udp_size
        assert len(response) <= limit, f"{len(response)}-byte UDP response to {wire.hex()}"
    if parses(wire) is None:
        assert message.rcode() == dns.rcode.FORMERR, f"{dns.rcode.to_text(message.rcode())} to {wire.hex()}"
    return response


def test_valid_queries_are_answered(handler):
    """Every seed query gets a well-formed response over UDP and TCP."""
    for wire in valid_queries():
        for request in (UDP, TCP):
            assert check(handler, wire, request) is not None


def test_mutated_queries(handler):
    """Thousands of mutated valid queries get nothing or a well-formed response, never an exception."""
    rng = random.Random(SEED)
    seeds = valid_queries()
    answered = formerr = 0
    for i in range(MUTATED):
        wire = mutate(rng, rng.choice(seeds))
        response = check(handler, wire, TCP if i % 4 == 0 else UDP)
        if response is not None:
            answered += 1
            formerr += response[3] & 0x0F == dns.rcode.FORMERR
    # The mutations reach both the answering and the refusing paths.
    assert answered > MUTATED // 3
    assert formerr > MUTATED // 10


def test_random_bytes(handler):
    """Random bytes, with and without a plausible query header, get nothing or a well-formed response."""
    rng = random.Random(SEED + 1)
    for i in range(RANDOM):
        wire = rng.randbytes(rng.randint(0, 300))
        if i % 2 and len(wire) >= 12:
            # QR clear, opcode QUERY, one question: past the first checks.
            wire = wire[:2] + bytes((wire[2] & 0x07, wire[3])) + b"\x00\x01" + wire[6:]
        check(handler, wire, UDP)


def test_two_questions_formerr(handler):
    """A query with two questions is answered FORMERR."""
    query = dns.message.make_query("www.example.org", "A")
    query.question.append(dns.message.make_query("web.example.org", "A").question[0])
    response = dns.message.from_wire(check(handler, query.to_wire(), UDP))
    assert response.rcode() == dns.rcode.FORMERR


def test_no_question_formerr(handler):
    """A query with no question is answered FORMERR."""
    query = dns.message.make_query("www.example.org", "A")
    query.question = []
    response = dns.message.from_wire(check(handler, query.to_wire(), UDP))
    assert response.rcode() == dns.rcode.FORMERR


@pytest.mark.parametrize("cut", [13, 17, 20, 28])
def test_truncated_name_formerr(handler, cut):
    """A query cut off inside or just after its question name is answered FORMERR with its ID."""
    wire = dns.message.make_query("www.example.org", "A", id=4242).to_wire()[:cut]
    response = dns.message.from_wire(check(handler, wire, UDP))
    assert response.rcode() == dns.rcode.FORMERR
    assert response.id == 4242


def test_pointer_loop_formerr(handler):
    """A question name that is a compression pointer to itself is answered FORMERR."""
    wire = bytes.fromhex("1234 0000 0001 0000 0000 0000 c00c 0001 0001")
    response = dns.message.from_wire(check(handler, wire, UDP))
    assert response.rcode() == dns.rcode.FORMERR


def test_trailing_garbage_formerr(handler):
    """A query followed by bytes no section counts for is answered FORMERR."""
    wire = dns.message.make_query("www.example.org", "A").to_wire() + b"\x00garbage"
    response = dns.message.from_wire(check(handler, wire, UDP))
    assert response.rcode() == dns.rcode.FORMERR


@pytest.mark.parametrize("wire", [b"", b"\x00", b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00"])
def test_shorter_than_header_no_answer(handler, wire):
    """Fewer bytes than a DNS header get no answer: there is no ID to answer to."""
    assert handler.answer(wire, UDP) is None


@pytest.mark.parametrize("tcp", [False, True])
def test_response_gets_no_answer(handler, tcp):
    """A response (QR=1), well-formed or not, is never answered, so two servers cannot loop."""
    query = dns.message.make_query("www.example.org", "A")
    response = dns.message.make_response(query).to_wire()
    request = TCP if tcp else UDP
    assert handler.answer(response, request) is None
    assert handler.answer(response[:14], request) is None
    assert handler.answer(response + b"junk", request) is None
