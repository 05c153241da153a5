"""
L{secdns.zones.lookup.resolve}: one zone version in, a classified answer out.

Most of these pin down behaviour the differential test against BIND 9
(C{tests/integration/test_differential.py}) found wrong; each says which.
"""

from __future__ import annotations

import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone

from secdns.zones.lookup import MAX_CHAIN, Kind, resolve
from secdns.zones.version import ZoneData, from_zone

ORIGIN = "example.test."

ZONE = """
$TTL 3600
@        SOA   ns1 hostmaster 1 7200 3600 1209600 300
         NS    ns1
         MX    10 mail
ns1      A     192.0.2.53
mail     A     192.0.2.25
         AAAA  2001:db8::25
web      A     192.0.2.80
www      CNAME web
loop1    CNAME loop2
loop2    CNAME loop1
self     CNAME self
dn       DNAME target
a.target CNAME web
sub      NS    ns.sub
         NS    ns1
         DS    12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sub   A     192.0.2.60
todeleg  CNAME host.sub
"""

#: A hand-made NSEC chain with placeholder signatures: enough for the
#: lookup, which never checks a signature.
SIG = "20300101000000 20200101000000 1 example.test. AAAA"
SIGNED = f"""
$TTL 3600
@        SOA    ns1 hostmaster 1 7200 3600 1209600 300
         RRSIG  SOA 13 2 3600 {SIG}
         NS     ns1
         DNSKEY 257 3 13 AAAA
         NSEC   *.wc NS SOA RRSIG NSEC DNSKEY
*.wc     CNAME  web
         RRSIG  CNAME 13 3 3600 {SIG}
         NSEC   insecure CNAME RRSIG NSEC
insecure NS     ns.insecure
         NSEC   ns.insecure NS RRSIG NSEC
         RRSIG  NSEC 13 2 300 {SIG}
ns.insecure A   192.0.2.62
         NSEC   ns1 A RRSIG NSEC
ns1      A      192.0.2.53
         NSEC   web A RRSIG NSEC
web      A      192.0.2.80
         RRSIG  A 13 2 3600 {SIG}
         NSEC   example.test. A RRSIG NSEC
"""


def zone_data(text: str = ZONE) -> ZoneData:
    return from_zone(dns.zone.from_text(text, origin=ORIGIN, relativize=False))


def name(text: str) -> dns.name.Name:
    return dns.name.from_text(text, dns.name.from_text(ORIGIN))


def ask(qname: str, qtype: str, dnssec: bool = False, text: str = ZONE):
    return resolve(zone_data(text), name(qname), dns.rdatatype.from_text(qtype), dnssec)


def section(refs) -> list[tuple[str, str]]:
    """A section as (relative owner, type) pairs, RRSIGs shown with what they cover."""
    origin = dns.name.from_text(ORIGIN)
    return [
        (
            owner.relativize(origin).to_text(),
            dns.rdatatype.to_text(rds.rdtype)
            + (f"({dns.rdatatype.to_text(rds.covers)})" if rds.rdtype == dns.rdatatype.RRSIG else ""),
        )
        for owner, rds in refs
    ]


class TestChains:
    def test_cname_followed(self):
        """A CNAME is followed to its target's data in the zone."""
        answer = ask("www", "A")
        assert answer.rcode == dns.rcode.NOERROR
        assert section(answer.answer) == [("www", "CNAME"), ("web", "A")]

    def test_cname_loop_is_servfail(self):
        """A CNAME loop answers SERVFAIL with the chain up to the loop, as BIND does."""
        answer = ask("loop1", "A")
        assert answer.rcode == dns.rcode.SERVFAIL
        assert answer.authoritative
        assert section(answer.answer) == [("loop1", "CNAME"), ("loop2", "CNAME")]

    def test_cname_to_itself_is_servfail(self):
        """A CNAME that names itself answers SERVFAIL."""
        answer = ask("self", "TXT")
        assert answer.rcode == dns.rcode.SERVFAIL
        assert section(answer.answer) == [("self", "CNAME")]

    def test_chain_too_long_is_servfail(self):
        """MAX_CHAIN links are followed; one more is SERVFAIL with the chain so far, as BIND does."""
        links = "".join(f"c{i} CNAME c{i + 1}\n" for i in range(MAX_CHAIN + 1))
        text = ZONE + links + f"c{MAX_CHAIN + 1} A 192.0.2.1\n"
        answered = ask("c1", "A", text=text)
        assert answered.rcode == dns.rcode.NOERROR
        assert len(answered.answer) == MAX_CHAIN + 1
        too_long = ask("c0", "A", text=text)
        assert too_long.rcode == dns.rcode.SERVFAIL
        assert len(too_long.answer) == MAX_CHAIN + 1

    def test_cname_not_followed_for_nsec_and_rrsig(self):
        """NSEC and RRSIG queries at a CNAME are answered at that name (no data here), not followed."""
        for qtype in ("NSEC", "RRSIG"):
            answer = ask("www", qtype)
            assert answer.kind is Kind.NODATA, qtype
            assert answer.answer == ()
            assert section(answer.authority) == [("@", "SOA")]

    def test_dname_synthesis_answers_cname_queries(self):
        """A CNAME synthesised from a DNAME answers a CNAME query; the target's own CNAME is not added."""
        answer = ask("a.dn", "CNAME")
        assert section(answer.answer) == [("dn", "DNAME"), ("a.dn", "CNAME")]
        assert answer.authority == ()

    def test_dname_synthesis_followed_for_any_queries(self):
        """
        An ANY query below a DNAME follows the synthesised CNAME (RFC 6672
        section 3.2, as Knot and NSD answer; BIND stops at it): what the
        target has (a CNAME, not followed for ANY), or NXDOMAIN with the
        SOA when it does not exist.
        """
        answer = ask("a.dn", "ANY")
        assert answer.rcode == dns.rcode.NOERROR
        assert section(answer.answer) == [("dn", "DNAME"), ("a.dn", "CNAME"), ("a.target", "CNAME")]
        missing = ask("nx.dn", "ANY")
        assert missing.rcode == dns.rcode.NXDOMAIN
        assert section(missing.answer) == [("dn", "DNAME"), ("nx.dn", "CNAME")]
        assert section(missing.authority) == [("@", "SOA")]

    def test_dname_synthesis_followed_for_other_types(self):
        """For other types, the synthesised CNAME is followed, through CNAMEs at the target."""
        answer = ask("a.dn", "A")
        assert section(answer.answer) == [("dn", "DNAME"), ("a.dn", "CNAME"), ("a.target", "CNAME"), ("web", "A")]


class TestAny:
    def test_any_has_no_additional_data(self):
        """The MX target's addresses are not added to an ANY answer, as BIND does not."""
        answer = ask("@", "ANY")
        assert ("@", "MX") in section(answer.answer)
        assert answer.additional == ()

    def test_any_includes_signatures_without_do(self):
        """ANY returns the RRSIGs at the name too, DO or not: they are asked for explicitly."""
        answer = ask("web", "ANY", text=SIGNED)
        assert ("web", "RRSIG(A)") in section(answer.answer)

    def test_any_referral_keeps_glue(self):
        """An ANY query below a cut is a referral with its glue."""
        answer = ask("www.sub", "ANY")
        assert answer.kind is Kind.DELEGATION
        assert section(answer.additional) == [("ns.sub", "A")]


class TestNegative:
    def test_soa_query_for_missing_name_has_zero_ttl(self):
        """The SOA of an NXDOMAIN answer to an SOA query has TTL 0 (BIND's zero-no-soa-ttl)."""
        answer = ask("nothere", "SOA")
        assert answer.rcode == dns.rcode.NXDOMAIN
        assert [rds.ttl for _, rds in answer.authority] == [0]

    def test_soa_query_signature_has_zero_ttl(self):
        """The SOA's RRSIG in that answer has TTL 0 too."""
        answer = ask("nothere", "SOA", dnssec=True, text=SIGNED)
        assert {rds.ttl for _, rds in answer.authority if rds.covers == dns.rdatatype.SOA} == {0}

    def test_soa_nodata_keeps_negative_ttl(self):
        """A NODATA answer to an SOA query keeps the negative-caching TTL."""
        answer = ask("web", "SOA")
        assert [rds.ttl for _, rds in answer.authority] == [300]

    def test_other_nxdomain_keeps_negative_ttl(self):
        """NXDOMAIN for other types keeps the negative-caching TTL, and the zone's SOA is untouched."""
        data = zone_data()
        answer = resolve(data, name("nothere"), dns.rdatatype.A)
        assert [rds.ttl for _, rds in answer.authority] == [300]
        resolve(data, name("nothere"), dns.rdatatype.SOA)
        assert data.negative_soa[0].ttl == 300


class TestReferrals:
    def test_unsigned_zone_referral_has_no_ds_with_do(self):
        """An unsigned zone's DS does not go into a referral, even to a DO query."""
        answer = ask("www.sub", "A", dnssec=True)
        assert section(answer.authority) == [("sub", "NS")]

    def test_cname_to_a_referral_adds_glue(self):
        """A CNAME chain that ends in a referral carries the referral's glue."""
        answer = ask("todeleg", "A")
        assert answer.kind is Kind.DELEGATION
        assert answer.authoritative
        assert section(answer.additional) == [("ns.sub", "A")]

    def test_referral_has_glue_only(self):
        """A referral carries the glue below the cut, not the addresses of NS targets the zone holds itself."""
        answer = ask("www.sub", "A")
        assert sorted(section(answer.authority)) == [("sub", "NS")]
        assert section(answer.additional) == [("ns.sub", "A")]

    def test_nsec_at_a_cut_answered_by_the_parent(self):
        """An NSEC query at a zone cut gets the parent's NSEC, authoritatively (RFC 4035 section 2.3)."""
        answer = ask("insecure", "NSEC", text=SIGNED)
        assert answer.authoritative
        assert section(answer.answer) == [("insecure", "NSEC")]

    def test_other_types_at_a_cut_are_referred(self):
        """Other types at a zone cut, RRSIG included, get a referral."""
        answer = ask("insecure", "RRSIG", text=SIGNED)
        assert answer.kind is Kind.DELEGATION


class TestWildcardProofs:
    def test_wildcard_cname_keeps_its_proof(self):
        """A wildcard CNAME followed to its target keeps the NSEC proving the query name does not exist."""
        answer = ask("foo.wc", "A", dnssec=True, text=SIGNED)
        assert section(answer.answer) == [("foo.wc", "CNAME"), ("foo.wc", "RRSIG(CNAME)"), ("web", "A"), ("web", "RRSIG(A)")]
        assert ("*.wc", "NSEC") in section(answer.authority)

    def test_wildcard_cname_to_no_data_keeps_both_proofs(self):
        """A wildcard CNAME to a name without the type proves both the expansion and the no-data."""
        authority = section(ask("foo.wc", "MX", dnssec=True, text=SIGNED).authority)
        assert ("*.wc", "NSEC") in authority
        assert ("web", "NSEC") in authority
        assert ("@", "SOA") in authority
