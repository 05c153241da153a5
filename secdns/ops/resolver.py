# -*- test-case-name: tests.unit.test_authority -*-
"""
Each zone as a Twisted Names resolver.

L{ZoneAuthority} provides L{twisted.internet.interfaces.IResolver} over a
zone's current version, so a zone plugs into
L{twisted.names.resolve.ResolverChain} and can be asked from Python (or the
manhole console) like any Twisted resolver.  It reads the same L{ZoneData}
through the same L{secdns.zones.lookup.resolve} as the DNS server: one source of
truth, two faces.  Records become Twisted's record classes only here, by
way of their wire form, so types Twisted does not know (RRSIG, NSEC, ...)
arrive as L{twisted.names.dns.UnknownRecord}.
"""

from __future__ import annotations

from io import BytesIO

import dns.name
import dns.rcode
import dns.rdataset
import dns.rdatatype
from twisted.internet import defer
from twisted.internet.interfaces import IResolver
from twisted.names import common
from twisted.names import dns as tdns
from twisted.names import error
from twisted.python.failure import Failure
from zope.interface import implementer

from secdns.zones.lookup import RRsetRef, resolve
from secdns.zones.zone import Zone

__all__ = ["ZoneAuthority", "to_rrheaders", "resolver_chain"]

_TYPES = tdns.Message()


@implementer(IResolver)
class ZoneAuthority(common.ResolverBase):
    """
    A Twisted resolver answering from one zone.

    Names outside the zone fail with L{twisted.names.error.DomainError} so a
    L{ResolverChain} moves on to its next resolver; names in the zone that do
    not exist fail with L{twisted.names.error.AuthoritativeDomainError}.
    """

    def __init__(self, zone: Zone) -> None:
        common.ResolverBase.__init__(self)
        self.zone = zone

    def _lookup(self, name, cls, type, timeout=None):
        qname = dns.name.from_text(name.decode("ascii") if isinstance(name, bytes) else str(name))
        if cls != tdns.IN or not qname.is_subdomain(self.zone.name):
            return defer.fail(Failure(error.DomainError(name)))
        data = self.zone.data
        if data is None or self.zone.expired:
            return defer.fail(Failure(error.DNSServerError(name)))
        if type == tdns.AXFR:
            records = list(data.rrsets())
            records.append((data.origin, data.soa))
            return defer.succeed((to_rrheaders(records), [], []))
        answer = resolve(data, qname, type)
        if answer.rcode == dns.rcode.NXDOMAIN:
            return defer.fail(Failure(error.AuthoritativeDomainError(name)))
        return defer.succeed(
            (
                to_rrheaders(answer.answer, answer.authoritative),
                to_rrheaders(answer.authority, answer.authoritative),
                to_rrheaders(answer.additional, answer.authoritative),
            )
        )


def to_rrheaders(rrsets: list[RRsetRef] | tuple[RRsetRef, ...], auth: bool = True) -> list[tdns.RRHeader]:
    """dnspython RRsets as Twisted L{RRHeader}s, through the wire form of each record."""
    headers = []
    for name, rds in rrsets:
        owner = name.to_text(omit_final_dot=True).encode("ascii")
        for rdata in rds:
            headers.append(
                tdns.RRHeader(
                    owner,
                    rds.rdtype,
                    rds.rdclass,
                    rds.ttl,
                    _payload(rds.rdtype, rdata.to_wire(), rds.ttl),
                    auth=auth,
                )
            )
    return headers


def _payload(rdtype: int, wire: bytes, ttl: int):
    record_class = _TYPES.lookupRecordType(rdtype)
    if record_class is tdns.UnknownRecord:
        return tdns.UnknownRecord(wire, ttl)
    record = record_class(ttl=ttl)
    record.decode(BytesIO(wire), len(wire))
    return record


def resolver_chain(zones) -> "ResolverChain":
    """A L{ResolverChain} asking each zone in turn (a snapshot of the zones given)."""
    from twisted.names.resolve import ResolverChain

    return ResolverChain([ZoneAuthority(zone) for zone in zones])
