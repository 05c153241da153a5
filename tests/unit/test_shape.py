"""
The shape memo (L{secdns.zones.shape}, L{secdns.server.dispatch}): a
missing name answered from the response rendered for another name of its
shape gets, byte for byte, what the slow path renders for it.

The zone has what makes shapes go wrong: an SOA whose MNAME and RNAME are
below names that do not exist (a response would compress them against
the question), wildcards with additional data and with an MX target below
themselves, a wildcard CNAME, empty non-terminals, a delegation, a DNAME;
signed with NSEC (dnspython) and with NSEC3 (C{dnssec-signzone}, when
BIND's tools are installed).
"""

from __future__ import annotations

import functools
import random

import dns.dnssec
import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataset
import dns.rdatatype
import dns.zone
import hypothesis
import hypothesis.strategies as st
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from secdns.config import ZoneConfig
from secdns.server.cookies import Cookies
from secdns.server.dispatch import QueryHandler, Request
from secdns.wire.writer import Writer
from secdns.zones.shape import nsec3_cover, nsec3_match, shape_of
from secdns.zones.version import from_zone
from secdns.zones.zone import Zone
from secdns.zones.zonemap import ZoneDB
from tests.support import require

ORIGIN = "shape.test."
ZONE = """\
$TTL 300
@        SOA   ns.sub hostmaster.qq 1 7200 3600 1209600 300
         NS    ns1
         MX    10 mail
ns1      A     192.0.2.1
mail     A     192.0.2.25
web      A     192.0.2.80
*.wild   A     192.0.2.99
         TXT   "wild"
         MX    10 mail
host.wild A    192.0.2.98
deep.x.wild A  192.0.2.97
*.w2     MX    10 a.w2
         SRV   0 0 53 ns1
*.wc     CNAME web
*.loop   CNAME x.loop
a.b.ent  A     192.0.2.7
*.ce     TXT   "ce"
sub.ce   TXT   "real"
*.sub.ce TXT   "sub.ce"
lab      NS    ns.lab
ns.lab   A     192.0.2.53
dn       DNAME web
"""

UDP = Request("192.0.2.200", 53000, False)
TCP = Request("192.0.2.200", 53000, True)
KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
DNSKEY = dns.dnssec.make_dnskey(KEY.public_key(), dns.dnssec.Algorithm.ED25519, flags=257)

#: closest enclosers (existing or not: the generated prefix goes above them)
SUFFIXES = [
    "", "sub.", "ns.sub.", "qq.", "wild.", "x.wild.", "host.wild.", "w2.", "wc.", "loop.", "ent.", "b.ent.",
    "ce.", "sub.ce.", "lab.", "ns.lab.", "dn.", "web.", "mail.", "zz.",
]
LABELS = ["a", "x", "y", "ns", "zz", "qq", "qqq", "sub", "b", "*", "wild", "ab", "cde", "w2", "hostmaster"]
TYPES = ["A", "AAAA", "MX", "TXT", "SOA", "NS", "CNAME", "SRV", "DNAME", "ANY", "DS", "NSEC", "RRSIG", "NSEC3", "KEY"]
#: (use_edns, want_dnssec, payload, tcp)
STATES = [(False, False, 512, False), (0, False, 1232, False), (0, True, 1232, False), (0, True, 512, False), (0, True, 4096, True), (False, False, 512, True)]


def unsigned() -> dns.zone.Zone:
    return dns.zone.from_text(ZONE, ORIGIN, relativize=False)


@functools.lru_cache
def nsec_zone() -> dns.zone.Zone:
    zone = unsigned()
    with zone.writer() as txn:
        dns.dnssec.sign_zone(zone, txn=txn, keys=[(KEY, DNSKEY)], inception=1700000000, expiration=1900000000)
    return zone


@functools.lru_cache
def nsec3_zone(directory) -> dns.zone.Zone:
    from tests.peers import sign_zone

    source = directory / "shape.zone"
    source.write_text(f"$ORIGIN {ORIGIN}\n" + ZONE)
    signed = sign_zone(source, ORIGIN, directory / "keys", nsec3_salt="cafe")
    return dns.zone.from_file(str(signed), ORIGIN, relativize=False, check_origin=False)


def _zone_of(content) -> Zone:
    return Zone(ZoneConfig(dns.name.from_text(ORIGIN), "primary", file="shape.zone"), from_zone(content))


@pytest.fixture(scope="module")
def nsec3_signed(tmp_path_factory) -> Zone:
    """The zone signed with NSEC3 by BIND's dnssec-signzone (missing: a failure in CI)."""
    require("dnssec-signzone")
    return _zone_of(nsec3_zone(tmp_path_factory.mktemp("nsec3")))


@pytest.fixture(scope="module", params=["unsigned", "nsec", "nsec3"])
def zone(request) -> Zone:
    if request.param == "nsec3":
        return request.getfixturevalue("nsec3_signed")
    return _zone_of(unsigned() if request.param == "unsigned" else nsec_zone())


def wire_of(qname: str, rdtype: str, state, id: int = 0x4321, rd: bool = True, cd: bool = False) -> bytes:
    use_edns, do, payload, _ = state
    query = dns.message.make_query(qname, rdtype, use_edns=use_edns, want_dnssec=do, payload=payload)
    query.id = id
    query.flags = (dns.flags.RD if rd else 0) | (dns.flags.CD if cd else 0)
    return query.to_wire()


def expected(zone: Zone, wire: bytes, request: Request) -> bytes:
    """What the slow path answers alone: parsed by dnspython, looked up, rendered; no memo."""
    return QueryHandler(ZoneDB.of([zone]))._answer_slowly(wire, request, None)


def shape_hits(handler: QueryHandler, zone: Zone) -> int:
    return len(handler._shapes.of(zone.data)[0])


questions = st.lists(
    st.tuples(
        st.lists(st.sampled_from(LABELS), min_size=1, max_size=3),
        st.sampled_from(SUFFIXES),
        st.sampled_from(TYPES),
        st.sampled_from(STATES),
        st.randoms(use_true_random=False),
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


@hypothesis.settings(max_examples=150, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(questions)
def test_same_bytes_as_the_slow_path(zone, batch):
    """Whatever names come in whatever order, each response is the slow path's, byte for byte."""
    handler = QueryHandler(ZoneDB.of([zone]))
    for labels, suffix, rdtype, state, rng, rd, cd in batch:
        qname = "".join(c.upper() if rng.random() < 0.3 else c for c in ".".join(labels) + "." + suffix + ORIGIN)
        wire = wire_of(qname, rdtype, state, id=rng.randrange(65536), rd=rd, cd=cd)
        request = TCP if state[3] else UDP
        want = expected(zone, wire, request)  # byte for byte, below a DNAME too (its CNAME target is in the asker's case)
        for _ in range(2):  # the second: from a memo
            assert handler.answer(wire, request) == want, (qname, rdtype, state)
        if not state[3]:
            got = handler.answer_datagram(wire, (request.address, request.port))
            assert got == want, (qname, rdtype, state)


def test_many_names_answered_from_shapes(zone, monkeypatch):
    """Random missing names under every suffix: byte for byte the slow path's, most of them from a shape."""
    handler = QueryHandler(ZoneDB.of([zone]))
    rng = random.Random(4592)
    slow = 0
    original = QueryHandler._answer_slowly

    def count(self, *args):
        nonlocal slow
        slow += self is handler
        return original(self, *args)

    monkeypatch.setattr(QueryHandler, "_answer_slowly", count)
    total = 0
    for suffix in SUFFIXES:
        for state in STATES[:3]:
            for rdtype in ("A", "TXT", "MX", "SOA", "ANY"):
                for _ in range(8):
                    label = "".join(rng.choice("abcdefghij-0123") for _ in range(6))
                    qname = "".join(c.upper() if rng.random() < 0.3 else c for c in f"{label}.{suffix}{ORIGIN}")
                    wire = wire_of(qname, rdtype, state, id=rng.randrange(65536))
                    assert handler.answer(wire, UDP) == expected(zone, wire, UDP), (qname, rdtype, state)
                    total += 1
    # Without shapes every one of them is slow.  With NSEC3 and DO, a name's
    # shape has its own covering hash: of a chain of a few dozen, repeats are rarer.
    assert slow < total * (0.6 if zone.data.nsec3 is None else 0.75)
    assert shape_hits(handler, zone)


@pytest.mark.parametrize(
    "first, then",
    [
        # The SOA's MNAME ns.sub.<zone> is an ancestor of the first name: its
        # response points into the question, and must not serve the second
        # (same closest encloser, the apex, and the same length above it).
        ("x.ns.sub", "y.zz.qqq"),
        # The other way round: the second's response would point MNAME at its question.
        ("y.zz.qqq", "x.ns.sub"),
        # MNAME is the question itself (a pointer to offset 12), then another name.
        ("ns.sub", "ab.cde"),
        ("ab.cde", "ns.sub"),
        ("ab.cde", "ab.qq"),  # RNAME hostmaster.qq.<zone>
        ("hostmaster.qq", "ab.cd.e"),
    ],
)
@pytest.mark.parametrize("state", STATES[:3])
def test_names_the_response_holds(zone, first, then, state):
    handler = QueryHandler(ZoneDB.of([zone]))
    for name in (first, then, first):
        wire = wire_of(f"{name}.{ORIGIN}", "A", state)
        assert handler.answer(wire, UDP) == expected(zone, wire, UDP), name


def test_wildcard_mx_target_below_itself(zone):
    """*.w2 MX 10 a.w2: the target points at the question when the question is a.w2."""
    handler = QueryHandler(ZoneDB.of([zone]))
    for name in ("b.w2", "a.w2", "c.w2", "a.w2"):
        for state in STATES[:3]:
            wire = wire_of(f"{name}.{ORIGIN}", "MX", state)
            assert handler.answer(wire, UDP) == expected(zone, wire, UDP), (name, state)


def test_shape_answers_without_the_slow_path(zone, monkeypatch):
    """One missing name, then another of its shape: the second is answered from the shape memo."""
    handler = QueryHandler(ZoneDB.of([zone]))
    for name in ("one.wild", "nx1"):
        wire = wire_of(f"{name}.{ORIGIN}", "A", STATES[1])
        handler.answer(wire, UDP)
    wires = [wire_of(f"{name}.{ORIGIN}", "A", STATES[1], id=77) for name in ("two.wild", "nx2", "thr.wild", "nx3")]
    wanted = [expected(zone, wire, UDP) for wire in wires]
    monkeypatch.setattr(QueryHandler, "_answer_slowly", lambda *args: pytest.fail("slow path used"))
    assert [handler.answer(wire, UDP) for wire in wires[:2]] == wanted[:2]
    assert [handler.answer_datagram(wire, ("192.0.2.9", 5353)) for wire in wires[2:]] == wanted[2:]


@pytest.mark.parametrize("name", ["x.lab", "a.ns.lab", "x.dn", "a.x.dn", "web", "b.ent", "ent", "x.wc", "x.loop", "y.loop"])
def test_no_shape(zone, name):
    """Names that exist, at or below a cut or DNAME, under a wildcard CNAME: the full lookup's."""
    handler = QueryHandler(ZoneDB.of([zone]))
    key = dns.name.from_text(f"{name}.{ORIGIN}").to_wire().lower()
    assert shape_of(zone.data, {}, key + b"\x00\x01\x00\x01\x02", len(key)) is None


def test_unshaped_types(zone):
    key = dns.name.from_text(f"nx.{ORIGIN}").to_wire()
    for rdtype in ("ANY", "RRSIG", "NSEC", "NSEC3", "DS"):
        assert shape_of(zone.data, {}, key + dns.rdatatype.from_text(rdtype).to_bytes(2, "big") + b"\x00\x01\x00", len(key)) is None
    assert shape_of(zone.data, {}, key + b"\x00\x01\x00\x01\x00", len(key)) is not None


def test_nsec3_cover_as_the_chain_finds_it(nsec3_signed):
    zone = nsec3_signed
    chain = zone.data.nsec3
    for i in range(200):
        name = dns.name.from_text(f"n{i}.x{i % 7}.{ORIGIN}")
        assert chain.hashes[nsec3_cover(zone.data, name.to_wire())] == chain.covering(name).labels[0].decode().lower()


def test_cookie_put_back_into_shape_answers(zone):
    """A shape answer to a query with a client cookie carries the server's cookie, as the slow path's."""
    cookies = Cookies((bytes(16),), clock=lambda: 1700000000.0)
    handler = QueryHandler(ZoneDB.of([zone]), cookies=cookies)
    reference = QueryHandler(ZoneDB.of([zone]), cookies=Cookies((bytes(16),), clock=lambda: 1700000000.0))
    for name in ("c1.wild", "c2.wild", "nx-c1", "nx-c2"):
        query = dns.message.make_query(f"{name}.{ORIGIN}", "A", use_edns=0, options=[dns.edns.CookieOption(b"\x01" * 8, b"")])
        wire = query.to_wire()
        assert handler.answer(wire, UDP) == reference._answer_slowly(wire, UDP, None)


def test_writer_low_ignores_the_question_as_owner():
    """A wildcard's answer owner is the question: a pointer to it, not counted; any other pointer is."""
    question = dns.name.from_text("a.b.example.")
    writer = Writer()
    writer.question(question, 1, 1)
    rds = dns.rdataset.from_text("IN", "A", 300, "192.0.2.1")
    writer.rrset(1, dns.name.from_text("A.b.example."), rds)
    assert writer.low == 0xC000 and bytes(writer.out[-16:-14]) == b"\xc0\x0c"
    writer.rrset(1, dns.name.from_text("b.example."), rds)
    assert writer.low == 14


def test_expired_zone_and_new_version(zone):
    """A shape known for one version answers neither an expired zone nor the next version."""
    content = zone.data
    handler = QueryHandler(ZoneDB.of([zone]))
    for name in ("e1.wild", "nx-e1"):
        handler.answer(wire_of(f"{name}.{ORIGIN}", "A", STATES[1]), UDP)
    assert shape_hits(handler, zone) == 2
    try:
        zone.expired = True
        wire = wire_of(f"e2.wild.{ORIGIN}", "A", STATES[1])
        assert dns.message.from_wire(handler.answer(wire, UDP)).rcode() == dns.rcode.SERVFAIL
        zone.expired = False
        changed = unsigned()
        changed.replace_rdataset(dns.name.from_text(f"*.wild.{ORIGIN}"), dns.rdataset.from_text("IN", "A", 300, "192.0.2.100"))
        zone.swap(from_zone(changed))
        for name in ("e3.wild", "nx-e3"):
            wire = wire_of(f"{name}.{ORIGIN}", "A", STATES[1])
            assert handler.answer(wire, UDP) == expected(zone, wire, UDP)
        assert "192.0.2.100" in dns.message.from_wire(handler.answer(wire_of(f"e4.wild.{ORIGIN}", "A", STATES[1]), UDP)).to_text()
    finally:
        zone.expired = False
        zone.swap(content)


def test_shape_memos_bounded(zone, monkeypatch):
    """The shape memo and the parents' start again when full, and answers stay right."""
    monkeypatch.setattr("secdns.server.dispatch.MEMO_LIMIT", 3)
    handler = QueryHandler(ZoneDB.of([zone]))
    for i in range(20):
        wire = wire_of(f"n{i}.p{i % 7}.{'wild.' if i % 2 else ''}{ORIGIN}", "A", STATES[i % 3])
        assert handler.answer(wire, UDP) == expected(zone, wire, UDP)
        shapes, parents = handler._shapes.of(zone.data)
        assert len(shapes) <= 3 and len(parents) <= 3


def test_nsec3_match_as_the_chain_finds_it(nsec3_signed):
    zone = nsec3_signed
    chain = zone.data.nsec3
    names = [dns.name.from_text(f"n{i}.{ORIGIN}") for i in range(50)] + [zone.data.name_of(key) for key in zone.data.owners]
    for name in names:
        i = nsec3_match(zone.data, name.to_wire().lower())
        owner = chain.matching(name)
        assert (None if i < 0 else chain.owners[chain.hashes[i]]) == owner, name
