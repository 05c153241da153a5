"""Zones as Twisted Names resolvers (IResolver), reading the same data as the server."""

from __future__ import annotations

import dns.name
import dns.zone
import pytest
from twisted.internet.interfaces import IResolver
from twisted.names import dns as tdns
from twisted.names import error
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from secdns.ops.resolver import ZoneAuthority, resolver_chain
from secdns.config import PRIMARY, ZoneConfig
from secdns.zones.zone import Zone
from secdns.zones.version import from_zone

ZONE = """
$TTL 300
@       SOA ns1 hostmaster 7 3600 600 86400 60
        NS  ns1
        MX  10 mail
ns1     A   192.0.2.1
mail    A   192.0.2.25
www     CNAME web
web     A   192.0.2.80
        AAAA 2001:db8::80
sig     TYPE65534 \\# 2 abcd
"""


def make_zone(origin: str = "example.test.", text: str = ZONE) -> Zone:
    name = dns.name.from_text(origin)
    data = from_zone(dns.zone.from_text(text, origin=name, relativize=False))
    return Zone(ZoneConfig(name=name, type=PRIMARY, file="x"), data)


class ZoneAuthorityTests(SynchronousTestCase):
    def setUp(self):
        self.authority = ZoneAuthority(make_zone())

    def test_provides_iresolver(self):
        """A zone authority is a complete IResolver."""
        self.assertTrue(verifyObject(IResolver, self.authority))

    def test_lookup_address(self):
        """lookupAddress answers the A records of a name, authoritatively."""
        answers, authority, additional = self.successResultOf(self.authority.lookupAddress(b"web.example.test"))
        self.assertEqual([a.payload.dottedQuad() for a in answers], ["192.0.2.80"])
        self.assertTrue(answers[0].auth)
        self.assertEqual(answers[0].ttl, 300)

    def test_cname_followed(self):
        """A CNAME is followed to its target inside the zone."""
        answers, _, _ = self.successResultOf(self.authority.lookupAddress(b"www.example.test"))
        self.assertEqual([a.type for a in answers], [tdns.CNAME, tdns.A])

    def test_mail_exchange_with_additional(self):
        """lookupMailExchange gives the MX and the exchange's address as additional data."""
        answers, _, additional = self.successResultOf(self.authority.lookupMailExchange(b"example.test"))
        self.assertEqual(answers[0].payload.name.name, b"mail.example.test")
        self.assertEqual([a.payload.dottedQuad() for a in additional], ["192.0.2.25"])

    def test_nxdomain(self):
        """A missing name in the zone fails with AuthoritativeDomainError."""
        self.failureResultOf(self.authority.lookupAddress(b"missing.example.test"), error.AuthoritativeDomainError)

    def test_nodata_has_soa(self):
        """A name without the asked type answers nothing, with the SOA in authority."""
        answers, authority, _ = self.successResultOf(self.authority.lookupIPV6Address(b"mail.example.test"))
        self.assertEqual(answers, [])
        self.assertEqual([r.type for r in authority], [tdns.SOA])
        self.assertEqual(authority[0].ttl, 60)

    def test_unknown_type_as_unknown_record(self):
        """Types Twisted does not know arrive as UnknownRecord with their raw data."""
        answers, _, _ = self.successResultOf(self.authority.query(tdns.Query(b"sig.example.test", 65534)))
        self.assertIsInstance(answers[0].payload, tdns.UnknownRecord)
        self.assertEqual(answers[0].payload.data, b"\xab\xcd")

    def test_lookup_zone(self):
        """lookupZone lists every record, SOA first and last, as a transfer would."""
        answers, _, _ = self.successResultOf(self.authority.lookupZone(b"example.test"))
        self.assertEqual(answers[0].type, tdns.SOA)
        self.assertEqual(answers[-1].type, tdns.SOA)
        self.assertEqual(len(answers), 10)

    def test_outside_zone(self):
        """A name outside the zone fails with DomainError, so a chain moves on."""
        self.failureResultOf(self.authority.lookupAddress(b"example.com"), error.DomainError)

    def test_unloaded_zone(self):
        """A zone with no data yet fails with DNSServerError (SERVFAIL)."""
        zone = make_zone()
        zone.data = None
        self.failureResultOf(ZoneAuthority(zone).lookupAddress(b"web.example.test"), error.DNSServerError)

    def test_reads_the_current_version(self):
        """After a swap the authority answers from the new version."""
        zone = make_zone()
        authority = ZoneAuthority(zone)
        zone.swap(make_zone(text=ZONE.replace("192.0.2.80", "192.0.2.81").replace(" 7 ", " 8 ")).data)
        answers, _, _ = self.successResultOf(authority.lookupAddress(b"web.example.test"))
        self.assertEqual(answers[0].payload.dottedQuad(), "192.0.2.81")


class ResolverChainTests(SynchronousTestCase):
    def test_chain_asks_each_zone(self):
        """Zones in a ResolverChain answer each for its own names."""
        other = make_zone("example.other.", ZONE.replace("192.0.2.80", "198.51.100.80"))
        chain = resolver_chain([make_zone(), other])
        answers, _, _ = self.successResultOf(chain.lookupAddress(b"web.example.other"))
        self.assertEqual(answers[0].payload.dottedQuad(), "198.51.100.80")
        answers, _, _ = self.successResultOf(chain.lookupAddress(b"web.example.test"))
        self.assertEqual(answers[0].payload.dottedQuad(), "192.0.2.80")
