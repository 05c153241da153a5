# -*- test-case-name: tests.unit.test_lookup -*-
"""
What an authoritative server answers: pure, no I/O, no rendering.

L{resolve} classifies a question against one zone version before anything
is rendered, as Knot's C{internet.c} does::

    walk down from the apex ──► zone cut above qname ──► DELEGATION (referral, no AA)
         │                  └─► DNAME above qname ───► synthesize CNAME, follow
         ▼
    qname exists? ── yes ──► type present ─► HIT
         │                └► CNAME ────────► CNAME, follow the target in the zone
         │                └► otherwise ────► NODATA (SOA in authority)
         no
         ▼
    wildcard at the closest encloser? ── yes ──► as above, owner rewritten
         no ──► NXDOMAIN (SOA in authority)

With C{dnssec} (the query's DO bit) RRSIGs go with every RRset, and negative
and wildcard answers carry the NSEC or NSEC3 records that prove them
(RFC 4035 section 3.1.3, RFC 5155 section 7.2).  Additional-section data
(addresses of NS, MX and SRV targets in the zone) comes last.
"""

from __future__ import annotations

import enum
from typing import Iterable

import attrs
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype

from secdns.zonedata import ZoneData

__all__ = ["Kind", "Answer", "resolve", "MAX_CHAIN"]

IN = dns.rdataclass.IN
A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
ANY = dns.rdatatype.ANY
CNAME = dns.rdatatype.CNAME
DNAME = dns.rdatatype.DNAME
DS = dns.rdatatype.DS
MX = dns.rdatatype.MX
NS = dns.rdatatype.NS
NSEC = dns.rdatatype.NSEC
NSEC3 = dns.rdatatype.NSEC3
RRSIG = dns.rdatatype.RRSIG
SOA = dns.rdatatype.SOA
SRV = dns.rdatatype.SRV

#: CNAME and DNAME links followed inside the zone before giving up (BIND: 16).
MAX_CHAIN = 16

WILDCARD = b"*"

RRsetRef = tuple[dns.name.Name, dns.rdataset.Rdataset]


class Kind(enum.Enum):
    """How the question was answered."""

    HIT = "hit"
    CNAME = "cname"
    NODATA = "nodata"
    NXDOMAIN = "nxdomain"
    DELEGATION = "delegation"


@attrs.frozen
class Answer:
    """
    A classified answer, with its sections as (owner, rdataset) pairs.

    @ivar kind: the classification of the last step of any CNAME chain.
    @ivar rcode: NOERROR, NXDOMAIN or YXDOMAIN.
    @ivar authoritative: AA; clear only for referrals.
    """

    kind: Kind
    rcode: int
    authoritative: bool
    answer: tuple[RRsetRef, ...] = ()
    authority: tuple[RRsetRef, ...] = ()
    additional: tuple[RRsetRef, ...] = ()


def resolve(data: ZoneData, qname: dns.name.Name, qtype: int, dnssec: bool = False) -> Answer:
    """
    Answer C{qname}/C{qtype} from one zone version.

    @param qname: a name at or below C{data.origin}.
    @param dnssec: the query's DO bit.
    """
    step = _Step(data, dnssec)
    answer: list[RRsetRef] = []
    seen = {qname}
    name = qname
    for _ in range(MAX_CHAIN + 1):
        follow = step.one(name, qtype, answer)
        if follow is None or not follow.is_subdomain(data.origin) or follow in seen:
            break
        seen.add(follow)
        name = follow
    additional = _additional(data, dnssec, answer, step.authority, step.kind)
    return Answer(
        kind=step.kind,
        rcode=step.rcode,
        authoritative=step.kind is not Kind.DELEGATION or bool(answer),
        answer=tuple(answer),
        authority=tuple(step.authority),
        additional=tuple(additional),
    )


@attrs.define
class _Step:
    """Resolves one name of a chain; keeps the classification of the last one."""

    data: ZoneData
    dnssec: bool
    kind: Kind = Kind.HIT
    rcode: int = dns.rcode.NOERROR
    authority: list[RRsetRef] = attrs.Factory(list)

    def one(self, name: dns.name.Name, qtype: int, answer: list[RRsetRef]) -> dns.name.Name | None:
        """Add the records for C{name} to C{answer}; return a name to follow, if any."""
        data = self.data
        self.authority = []
        self.rcode = dns.rcode.NOERROR

        above = self.walk_down(name, qtype)
        if above is not None:
            owner, rdtype = above
            if rdtype == NS:
                self.referral(owner)
                return None
            return self.dname(owner, name, answer)

        if name in data.existing:
            node = data.nodes.get(name)
            return self.at_node(name, name, node, qtype, answer)

        closest = _closest_encloser(data, name)
        wildcard = dns.name.Name((WILDCARD,) + closest.labels)
        source = data.nodes.get(wildcard)
        if source is not None and closest not in data.cuts:
            follow = self.at_node(name, wildcard, source, qtype, answer)
            if self.dnssec:
                self.prove_wildcard(name, closest, wildcard)
            return follow
        self.kind = Kind.NXDOMAIN
        self.rcode = dns.rcode.NXDOMAIN
        self.add_negative_soa()
        if self.dnssec:
            self.prove_nxdomain(name, closest, wildcard)
        return None

    def walk_down(self, name: dns.name.Name, qtype: int) -> tuple[dns.name.Name, int] | None:
        """The highest zone cut or DNAME strictly above C{name} (a cut also at it)."""
        data = self.data
        if not data.cuts and not data.dnames:
            return None
        depth = len(name.labels) - len(data.origin.labels)
        for extra in range(0, depth + 1):
            ancestor = dns.name.Name(name.labels[depth - extra :])
            at_name = extra == depth
            if extra and ancestor in data.cuts and not (at_name and qtype == DS):
                return ancestor, NS
            if not at_name and ancestor in data.dnames:
                return ancestor, DNAME
        return None

    def at_node(self, name, owner, node, qtype, answer) -> dns.name.Name | None:
        """Answer from C{node} (at C{owner}) for C{name}: hit, CNAME or no data."""
        data = self.data
        rdatasets = node.rdatasets if node is not None else ()
        if qtype == ANY and rdatasets:
            self.kind = Kind.HIT
            for rds in rdatasets:
                if rds.rdtype != RRSIG or self.dnssec:
                    answer.append((name, rds))
            return None
        if qtype == RRSIG:
            found = [rds for rds in rdatasets if rds.rdtype == RRSIG]
        else:
            found = [rds for rds in rdatasets if rds.rdtype == qtype and rds.covers == 0]
        if found:
            self.kind = Kind.HIT
            for rds in found:
                self.add(answer, name, owner, rds)
            return None
        cname = node.get_rdataset(IN, CNAME) if node is not None else None
        if cname is not None:
            self.kind = Kind.CNAME
            self.add(answer, name, owner, cname)
            return cname[0].target
        self.kind = Kind.NODATA
        self.add_negative_soa()
        if self.dnssec:
            self.prove_nodata(name, owner)
        return None

    def add(self, section, name, owner, rds) -> None:
        """Add C{rds}, found at C{owner}, under the name C{name}, with its RRSIGs."""
        section.append((name, rds))
        if self.dnssec and rds.rdtype != RRSIG:
            signature = self.data.signature(owner, rds.rdtype)
            if signature is not None:
                section.append((name, signature))

    def add_negative_soa(self) -> None:
        soa, signature = self.data.negative_soa
        self.authority.append((self.data.origin, soa))
        if self.dnssec and signature is not None:
            self.authority.append((self.data.origin, signature))

    def add_proof(self, owner: dns.name.Name | None, rdtype: int) -> None:
        """Add the NSEC or NSEC3 at C{owner} (and its RRSIGs) to the authority section once."""
        if owner is None:
            return
        rds = self.data.rdataset(owner, rdtype)
        if rds is None or any(o == owner and r is rds for o, r in self.authority):
            return
        self.add(self.authority, owner, owner, rds)

    # -- DNSSEC proofs (RFC 4035 section 3.1.3, RFC 5155 section 7.2)

    def prove_nodata(self, name: dns.name.Name, owner: dns.name.Name) -> None:
        data = self.data
        if data.nsec_owners:
            self.add_proof(data.nsec_covering(owner), NSEC)
            if owner != name:  # wildcard no-data: also show the qname does not exist
                self.add_proof(data.nsec_covering(name), NSEC)
        elif data.nsec3 is not None:
            matching = data.nsec3.matching(name if owner == name else owner)
            if owner == name and matching is None:
                # An empty non-terminal under opt-out: prove the closest encloser.
                self.prove_closest_encloser(name, _closest_provable(data, name))
                return
            self.add_proof(matching, NSEC3)
            if owner != name:
                closest = owner.parent()
                self.prove_closest_encloser(name, closest)

    def prove_nxdomain(self, name, closest, wildcard) -> None:
        data = self.data
        if data.nsec_owners:
            self.add_proof(data.nsec_covering(name), NSEC)
            self.add_proof(data.nsec_covering(wildcard), NSEC)
        elif data.nsec3 is not None:
            self.prove_closest_encloser(name, closest)
            self.add_proof(data.nsec3.covering(wildcard), NSEC3)

    def prove_wildcard(self, name, closest, wildcard) -> None:
        """A wildcard answer proves that C{name} itself does not exist."""
        if self.kind is Kind.NODATA:
            return  # prove_nodata did it
        data = self.data
        if data.nsec_owners:
            self.add_proof(data.nsec_covering(name), NSEC)
        elif data.nsec3 is not None:
            self.add_proof(data.nsec3.covering(_next_closer(name, closest)), NSEC3)

    def prove_closest_encloser(self, name, closest) -> None:
        nsec3 = self.data.nsec3
        self.add_proof(nsec3.matching(closest), NSEC3)
        self.add_proof(nsec3.covering(_next_closer(name, closest)), NSEC3)

    # -- delegations and DNAME

    def referral(self, cut: dns.name.Name) -> None:
        data = self.data
        self.kind = Kind.DELEGATION
        self.authority.append((cut, data.rdataset(cut, NS)))
        if not self.dnssec:
            return
        ds = data.rdataset(cut, DS)
        if ds is not None:
            self.add(self.authority, cut, cut, ds)
        elif data.nsec_owners:
            self.add_proof(cut if data.rdataset(cut, NSEC) else None, NSEC)
        elif data.nsec3 is not None:
            matching = data.nsec3.matching(cut)
            if matching is not None:
                self.add_proof(matching, NSEC3)
            else:  # opt-out: prove the closest provable encloser instead
                self.prove_closest_encloser(cut, _closest_provable(data, cut))

    def dname(self, owner, name, answer) -> dns.name.Name | None:
        """RFC 6672: the DNAME, a CNAME synthesized from it, then follow the new name."""
        dname = self.data.rdataset(owner, DNAME)
        self.add(answer, owner, owner, dname)
        try:
            target = name.relativize(owner).derelativize(dname[0].target)
        except dns.name.NameTooLong:
            self.kind = Kind.CNAME
            self.rcode = dns.rcode.YXDOMAIN
            return None
        cname = dns.rdataset.Rdataset(IN, CNAME)
        cname.add(dns.rdata.from_text(IN, CNAME, target.to_text()), dname.ttl)
        answer.append((name, cname))
        self.kind = Kind.CNAME
        return target


def _closest_encloser(data: ZoneData, name: dns.name.Name) -> dns.name.Name:
    """The longest existing ancestor of a name that does not exist."""
    ancestor = name.parent()
    while ancestor not in data.existing:
        ancestor = ancestor.parent()
    return ancestor


def _closest_provable(data: ZoneData, name: dns.name.Name) -> dns.name.Name:
    """The longest ancestor of C{name} that has an NSEC3 record (opt-out chains)."""
    ancestor = name.parent()
    while ancestor != data.origin and data.nsec3.matching(ancestor) is None:
        ancestor = ancestor.parent()
    return ancestor


def _next_closer(name: dns.name.Name, closest: dns.name.Name) -> dns.name.Name:
    """The ancestor of C{name} one label longer than its closest encloser."""
    return dns.name.Name(name.labels[-(len(closest.labels) + 1) :])


def _additional(data, dnssec, answer, authority, kind) -> list[RRsetRef]:
    """Addresses of in-zone NS, MX and SRV targets (RFC 1035 section 3.3, RFC 2782)."""
    referral = kind is Kind.DELEGATION and not answer
    present = {(name, rds.rdtype) for name, rds in answer}
    targets: list[dns.name.Name] = []
    for name, rds in _chain(answer, authority):
        if rds.rdtype == NS:
            targets.extend(rdata.target for rdata in rds)
        elif rds.rdtype == MX:
            targets.extend(rdata.exchange for rdata in rds)
        elif rds.rdtype == SRV:
            targets.extend(rdata.target for rdata in rds)
    additional: list[RRsetRef] = []
    for target in dict.fromkeys(targets):
        if not target.is_subdomain(data.origin) or target not in data.existing:
            continue
        if not referral and _below_cut(data, target):
            continue  # glue is only for referrals
        for rdtype in (A, AAAA):
            if (target, rdtype) in present:
                continue
            rds = data.rdataset(target, rdtype)
            if rds is None:
                continue
            present.add((target, rdtype))
            additional.append((target, rds))
            if dnssec and not referral:
                signature = data.signature(target, rdtype)
                if signature is not None:
                    additional.append((target, signature))
    return additional


def _below_cut(data: ZoneData, name: dns.name.Name) -> bool:
    if not data.cuts:
        return False
    ancestor = name
    while ancestor != data.origin:
        if ancestor in data.cuts:
            return True
        ancestor = ancestor.parent()
    return False


def _chain(*sections: Iterable[RRsetRef]) -> Iterable[RRsetRef]:
    for section in sections:
        yield from section
