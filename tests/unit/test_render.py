"""
L{secdns.server.render} writes with L{secdns.wire.writer.Writer} exactly the bytes
dnspython's C{dns.renderer.Renderer} wrote before it: the same compression
pointers, the same sizes, so the same truncation at every size limit.

The reference, L{reference_render} and L{reference_render_error}, is the
render module as it was with C{Renderer}; each answer of a zone with every
kind of record (names compressed in RDATA and not, signatures, NSEC, a
referral with glue, a DNAME, RRsets larger than a pointer can reach) is
rendered by both, at many size limits, with and without EDNS.
"""

from __future__ import annotations

import random
from typing import Sequence

import dns.dnssec
import dns.edns
import dns.exception
import dns.flags
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.renderer
import dns.zone
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from secdns.wire import writer as wire
from secdns.zones.lookup import Answer, Kind, resolve
from secdns.server.render import Edns, Question, render, render_error
from secdns.zones.version import from_zone

ORIGIN = dns.name.from_text("Example.ORG")
ZONE = """\
$TTL 300
@        IN SOA   ns1 HostMaster 7 7200 3600 1209600 300
         IN NS    ns1
         IN NS    ns2.other.net.
         IN MX    10 mail
         IN MX    20 Mail.Example.ORG.
         IN MX    30 mx.other.net.
         IN TXT   "apex"
ns1      IN A     192.0.2.1
         IN AAAA  2001:db8::1
Mail     IN A     192.0.2.25
www      IN CNAME web
web      IN A     192.0.2.80
         IN AAAA  2001:db8::80
         IN TXT   "a" "b c"
         IN HINFO "PC" "Linux"
         IN CAA   0 issue "ca.example"
         IN SSHFP 1 1 0123456789abcdef0123456789abcdef01234567
_sip._udp IN SRV  10 5 5060 web
         IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp
1.2      IN PTR   web.example.org.
rp       IN RP    hostmaster.example.org. web.example.org.
afs      IN AFSDB 1 web
kx       IN KX    10 web
rt       IN RT    10 web
dn       IN DNAME web.example.org.
*.users  IN A     192.0.2.99
         IN MX    5 mail
lab      IN NS    ns.lab
         IN NS    NS.Lab
         IN NS    ns1
ns.lab   IN A     192.0.2.53
         IN AAAA  2001:db8::53
$GENERATE 1-60 mid A 10.0.0.$
$GENERATE 1-200 big A 10.1.0.$
$GENERATE 1-40 wide NS ns$.wide
$GENERATE 1-40 ns$.wide A 10.3.0.$
"""
ZONE += "".join(f"many IN MX {i} m{i}.many\nm{i}.many IN A 10.2.{i // 256}.{i % 256}\n" for i in range(1, 301))
ZONE += "".join(f'big IN TXT "some text to make the answer large, record {i}"\n' for i in range(300))
ZONE += "".join(f"big IN MX {i} m{i}.many\n" for i in range(1, 301))  # names past offset 0x3FFF
QR, AA, TC, DO = dns.flags.QR, dns.flags.AA, dns.flags.TC, dns.flags.DO
FLAGS_COPIED = dns.flags.RD | dns.flags.CD

KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
DNSKEY = dns.dnssec.make_dnskey(KEY.public_key(), dns.dnssec.Algorithm.ED25519, flags=257)

QNAMES = [
    "example.org", "EXAMPLE.org", "ns1.example.org", "mail.example.org", "www.example.org",
    "WWW.Example.Org", "web.example.org", "_sip._udp.example.org", "1.2.example.org",
    "rp.example.org", "afs.example.org", "kx.example.org", "rt.example.org", "dn.example.org",
    "a.dn.example.org", "x.users.example.org", "X.USERS.example.org", "lab.example.org",
    "host.lab.example.org", "mid.example.org", "big.example.org", "many.example.org",
    "wide.example.org", "nothere.example.org", "a.b.c.nothere.example.org",
]
QTYPES = [
    "A", "AAAA", "MX", "NS", "SOA", "TXT", "CNAME", "SRV", "PTR", "NAPTR", "RP", "AFSDB",
    "KX", "RT", "DNAME", "HINFO", "CAA", "SSHFP", "ANY", "DS", "DNSKEY", "NSEC", "RRSIG",
]
EDNS = [
    None,
    Edns(1232),
    Edns(4096, dnssec_ok=True),
    Edns(1232, options=(dns.edns.EDEOption(24),)),
    Edns(512, dnssec_ok=True, options=(dns.edns.EDEOption(3, "some text"),)),
]


def reference_render(id, query_flags, question, answer, edns, max_size=65535) -> bytes:
    """secdns.server.render.render as it was, with dnspython's Renderer."""
    flags = QR | (query_flags & FLAGS_COPIED) | (answer.rcode & 0xF)
    if answer.authoritative:
        flags |= AA
    renderer = dns.renderer.Renderer(id, flags, max_size)
    renderer.add_question(question.name, question.rdtype, question.rdclass)
    if edns is not None:
        renderer.reserve(sum(4 + len(o.to_wire()) for o in edns.options) + 11)
    try:
        _reference_add(renderer, dns.renderer.ANSWER, answer.answer)
        _reference_add(renderer, dns.renderer.AUTHORITY, answer.authority)
    except dns.exception.TooBig:
        return reference_render_error(id, query_flags | TC, question, answer.rcode, edns, flags=flags | TC)
    for name, rds in answer.additional:
        try:
            renderer.add_rdataset(dns.renderer.ADDITIONAL, name, rds, want_shuffle=False)
        except dns.exception.TooBig:
            if answer.kind is Kind.DELEGATION:
                renderer.flags |= TC
            break
    return _reference_finish(renderer, answer.rcode, edns)


def reference_render_error(id, query_flags, question, rcode, edns=None, opcode=dns.opcode.QUERY, flags=None) -> bytes:
    """secdns.server.render.render_error as it was, with dnspython's Renderer."""
    if flags is None:
        flags = QR | (query_flags & FLAGS_COPIED) | dns.opcode.to_flags(opcode) | (rcode & 0xF)
    renderer = dns.renderer.Renderer(id, flags, 65535)
    if question is not None:
        renderer.add_question(question.name, question.rdtype, question.rdclass)
    return _reference_finish(renderer, rcode, edns)


def _reference_add(renderer, section, rrsets: Sequence) -> None:
    for name, rds in rrsets:
        renderer.add_rdataset(section, name, rds, want_shuffle=False)


def _reference_finish(renderer, rcode, edns) -> bytes:
    if edns is not None:
        if renderer.reserved:
            renderer.release_reserved()
        ednsflags = ((rcode >> 4) & 0xFF) << 24
        if edns.dnssec_ok:
            ednsflags |= DO
        renderer.add_edns(0, ednsflags, edns.payload, list(edns.options))
    renderer.write_header()
    return renderer.get_wire()


@pytest.fixture(scope="module")
def data():
    zone = dns.zone.from_text(ZONE, ORIGIN, relativize=False)
    with zone.writer() as txn:
        dns.dnssec.sign_zone(zone, txn=txn, keys=[(KEY, DNSKEY)], inception=1700000000, expiration=1900000000)
    return from_zone(zone)


def answers(data):
    """Every question of QNAMES and QTYPES, answered with and without DNSSEC."""
    for qname in QNAMES:
        for qtype in QTYPES:
            name = dns.name.from_text(qname)
            rdtype = dns.rdatatype.from_text(qtype)
            for dnssec in (False, True):
                yield Question(name, rdtype, dns.rdataclass.IN), resolve(data, name, rdtype, dnssec)


def limits(full: int, rng: random.Random) -> list[int]:
    """Size limits around the full size and across it, where truncation changes."""
    low = min(full, 300)
    chosen = {512, 1232, full - 1, full, full + 1}
    chosen.update(rng.randrange(low, full + 1) for _ in range(3))
    return sorted(limit for limit in chosen if limit >= 300)


class TestSameBytesAsRenderer:
    def test_every_answer(self, data):
        """Every answer of the zone, at every size limit tried, is the Renderer's bytes."""
        rng = random.Random(1035)
        cache: dict = {}
        compared = truncated = 0
        for question, answer in answers(data):
            edns = rng.choice(EDNS)
            id, query_flags = rng.randrange(65536), rng.choice([0, 0x0100, 0x0010, 0x0110, 0x7FFF])
            full = reference_render(id, query_flags, question, answer, edns)
            for limit in limits(len(full), rng):
                expected = reference_render(id, query_flags, question, answer, edns, limit)
                with_cache = cache if compared % 2 else None
                assert render(id, query_flags, question, answer, edns, limit, with_cache) == expected
                compared += 1
                truncated += len(expected) < len(full)
        assert compared > 4000 and truncated > 1000

    def test_every_edns(self, data):
        """Each OPT (payload, DO, options) and the extended RCODE are written as the Renderer wrote them."""
        question, answer = Question(ORIGIN, dns.rdatatype.SOA, dns.rdataclass.IN), resolve(data, ORIGIN, dns.rdatatype.SOA)
        for edns in EDNS:
            assert render(1, 0, question, answer, edns) == reference_render(1, 0, question, answer, edns)
            for rcode in (dns.rcode.NOERROR, dns.rcode.SERVFAIL, dns.rcode.BADVERS, 4095):
                expected = reference_render_error(2, 0x0110, question, rcode, edns)
                assert render_error(2, 0x0110, question, rcode, edns) == expected

    def test_errors(self):
        """Error responses, with and without a question, any opcode or flags, are the Renderer's bytes."""
        question = Question(dns.name.from_text("WWW.example.org"), dns.rdatatype.A, dns.rdataclass.CH)
        for q in (question, None):
            for opcode in (dns.opcode.QUERY, dns.opcode.NOTIFY, dns.opcode.UPDATE, 15):
                for edns in EDNS:
                    args = (0xBEEF, 0xFFFF, q, dns.rcode.FORMERR, edns)
                    assert render_error(*args, opcode=opcode) == reference_render_error(*args, opcode=opcode)
                    flags = QR | TC | dns.flags.AA
                    assert render_error(*args, flags=flags) == reference_render_error(*args, flags=flags)

    def test_pointers_out_of_reach(self, data):
        """Past offset 0x3FFF names are written whole, as pointers cannot reach them."""
        name = dns.name.from_text("big.example.org")
        for qtype in ("ANY",):
            answer = resolve(data, name, dns.rdatatype.from_text(qtype), True)
            question = Question(name, dns.rdatatype.from_text(qtype), dns.rdataclass.IN)
            expected = reference_render(9, 0, question, answer, Edns(1232, True))
            assert len(expected) > 0x3FFF
            assert render(9, 0, question, answer, Edns(1232, True)) == expected

    def test_made_up_answers(self, data):
        """Owners in any case and out of the zone, the root, an empty RRset and glue that does not fit."""
        a = data.rdataset(dns.name.from_text("web.example.org"), dns.rdatatype.A)
        ns = data.rdataset(dns.name.from_text("wide.example.org"), dns.rdatatype.NS)
        glue = [(dns.name.from_text(f"NS{i}.wide.example.org"), data.rdataset(dns.name.from_text(f"ns{i}.wide.example.org"), dns.rdatatype.A)) for i in range(1, 41)]
        empty = dns.rdataset.Rdataset(dns.rdataclass.IN, dns.rdatatype.TXT)
        cases = [
            Answer(Kind.HIT, 0, True, answer=((dns.name.root, a), (dns.name.from_text("A.B.Example.NET"), a), (dns.name.from_text("b.example.net"), a))),
            Answer(Kind.HIT, 0, True, answer=((dns.name.from_text("x.example.org"), empty),)),
            Answer(Kind.DELEGATION, 0, False, authority=((dns.name.from_text("WIDE.example.org"), ns),), additional=tuple(glue)),
            Answer(Kind.HIT, 0, True, answer=((dns.name.from_text("web.example.org"), a),), additional=tuple(glue)),
        ]
        question = Question(dns.name.from_text("Web.Example.Org"), dns.rdatatype.A, dns.rdataclass.IN)
        for answer in cases:
            for edns in (None, Edns(1232)):
                full = len(reference_render(3, 0, question, answer, edns))
                for limit in [*range(61, full, 5), full - 1, full, full + 1]:
                    expected = reference_render(3, 0, question, answer, edns, limit)
                    assert render(3, 0, question, answer, edns, limit) == expected


class TestWriter:
    def test_question_too_big(self):
        """A question larger than the limit raises TooBig, as the Renderer did."""
        writer = wire.Writer(20)
        with pytest.raises(dns.exception.TooBig):
            writer.question(dns.name.from_text("a-rather-long-name.example.org"), 1, 1)

    @pytest.mark.parametrize("at", [0x3FF0, 0x3FFD, 0x3FFE, 0x3FFF, 0x4000])
    def test_pointer_reach(self, at):
        """A suffix at offset 0x3FFF is remembered and one at 0x4000 is not, as dnspython does."""
        names = [dns.name.from_text(text) for text in ("a.example.org", "B.Example.org", "a.example.org", "org")]
        writer = wire.Writer()
        writer.out += bytes(at - 12)
        renderer = dns.renderer.Renderer(0, 0)
        renderer.output.write(bytes(at - 12))
        for name in names:
            writer.name(*wire.name_wire(name))
            name.to_wire(renderer.output, renderer.compress)
        assert bytes(writer.out[12:]) == renderer.output.getvalue()[12:]

    def test_rollback_forgets_its_names(self):
        """An RRset taken back leaves no compression entry pointing past the message."""
        rds = dns.rdataset.from_text("IN", "NS", 300, "ns1.elsewhere.example.", "ns2.elsewhere.example.")
        writer = wire.Writer(60)
        writer.question(dns.name.from_text("example.org"), 2, 1)
        assert not writer.rrset(1, dns.name.from_text("sub.example.org"), rds)
        assert len(writer.out) == 12 + 17
        assert all(offset < len(writer.out) for offset in writer.compress.values())

    def test_cache_keyed_by_identity(self):
        """A cached RRset is found again only for the same object, never for another at a reused id."""
        cache: dict = {}
        rds = dns.rdataset.from_text("IN", "A", 300, "192.0.2.1")
        first = wire.rrset_wire(rds, cache)
        assert wire.rrset_wire(rds, cache) is first
        other = dns.rdataset.from_text("IN", "A", 300, "192.0.2.2")
        cache[id(other)] = first  # as if other had taken rds's place at its id
        assert wire.rrset_wire(other, cache).rdataset is other
