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

With C{dnssec} (the query's DO bit) and a signed zone, RRSIGs go with every
RRset, and negative and wildcard answers carry the NSEC or NSEC3 records that
prove them (RFC 4035 section 3.1.3, RFC 5155 section 7.2); the proof of each
wildcard expansion in a CNAME chain is kept.  Additional-section data
(addresses of NS, MX and SRV targets in the zone) comes last.

Below a DNAME, an ANY query follows the synthesised CNAME to its target,
as RFC 6672 section 3.2 says (step 3.C: "go back to step 1"), and as Knot
and NSD answer; BIND 9 stops at the synthesised CNAME, the one difference
the differential test allows for it.

Where the RFCs leave a choice, secdns answers as BIND 9 does, and
C{tests/integration/test_differential.py} checks it:

  - a CNAME loop, or a chain longer than L{MAX_CHAIN}, is SERVFAIL with the
    chain so far;
  - a CNAME is not followed for QTYPE CNAME, ANY, NSEC, RRSIG or KEY, types
    answered at the CNAME's own name (RFC 1034 section 4.3.2, RFC 4035
    section 2.5), nor a CNAME synthesised from a DNAME for CNAME;
  - ANY returns every RRset at the name, RRSIGs included, and no additional
    data for them;
  - NXDOMAIN to an SOA query carries the SOA with TTL 0, so that a stub can
    find the zone of a name without caching it (BIND's C{zero-no-soa-ttl}).
"""

from __future__ import annotations

import enum

import attrs
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype

from secdns.wire.compact import key_of, name_from_labels
from secdns.zones.shape import nsec3_cover, nsec3_match
from secdns.zones.version import ZoneData

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

#: CNAME and DNAME links followed inside the zone; one more is SERVFAIL
#: (BIND 9's limit of query restarts).
MAX_CHAIN = 11

KEY = dns.rdatatype.KEY

#: Query types answered at a CNAME's own name instead of following it: the
#: CNAME itself, ANY, and the types that may sit beside a CNAME (RFC 2181
#: section 10.1, RFC 4035 section 2.5), as BIND does.
NOT_FOLLOWED = frozenset({CNAME, ANY, NSEC, RRSIG, KEY})
#: Query types a CNAME synthesised from a DNAME answers: it is not followed.
SYNTHESIS_ANSWERS = frozenset({CNAME})

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
    @ivar rcode: NOERROR, NXDOMAIN, YXDOMAIN, or SERVFAIL for a CNAME loop.
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
    @param dnssec: the query's DO bit; DNSSEC records come only from a
        signed zone (as BIND: an unsigned zone's DS is not added to referrals).
    """
    step = _Step(data, dnssec and data.signed, qtype)
    answer: list[RRsetRef] = []
    seen = None  # made for the first link followed: hashing a Name is slow
    name = qname
    for _ in range(MAX_CHAIN + 1):
        follow = step.one(name, answer)
        if follow is None or not follow.is_subdomain(data.origin):
            break
        if seen is None:
            seen = {qname}
        if follow in seen:
            step.rcode = dns.rcode.SERVFAIL  # a loop: no answer exists
            break
        seen.add(follow)
        name = follow
    else:
        step.rcode = dns.rcode.SERVFAIL  # too long a chain to follow
    authority = step.authority + [ref for ref in step.proofs if not _holds(step.authority, ref)]
    additional = _additional(data, step.dnssec, answer if qtype != ANY else [], authority, step.kind)
    return Answer(
        kind=step.kind,
        rcode=step.rcode,
        authoritative=step.kind is not Kind.DELEGATION or bool(answer),
        answer=tuple(answer),
        authority=tuple(authority),
        additional=tuple(additional),
    )


@attrs.define
class _Step:
    """
    Resolves one name of a chain; keeps the classification of the last one.

    @ivar authority: the authority section of the last step.
    @ivar proofs: the NSEC or NSEC3 proofs of the wildcard expansions of
        earlier steps, which the answer needs too (RFC 4035 section 3.1.3.3).
    """

    data: ZoneData
    dnssec: bool
    qtype: int
    kind: Kind = Kind.HIT
    rcode: int = dns.rcode.NOERROR
    authority: list[RRsetRef] = attrs.Factory(list)
    proofs: list[RRsetRef] = attrs.Factory(list)

    def one(self, name: dns.name.Name, answer: list[RRsetRef]) -> dns.name.Name | None:
        """Add the records for C{name} to C{answer}; return a name to follow, if any."""
        data = self.data
        qtype = self.qtype
        self.proofs.extend(ref for ref in self.authority if ref[1].rdtype in (NSEC, NSEC3, RRSIG))
        self.authority = []
        self.rcode = dns.rcode.NOERROR

        above = self.walk_down(name, qtype)
        if above is not None:
            owner, rdtype = above
            if rdtype == NS:
                self.referral(owner)
                return None
            return self.dname(owner, name, answer)

        if data.exists(name):
            return self.at_node(name, name, data.node(name), qtype, answer)

        closest = _closest_encloser(data, name)
        wildcard = source = None
        if data.wildcard_keys:  # else no node is a wildcard: spare making and hashing its Name
            closest_key = key_of(closest)
            if (WILDCARD,) + closest_key in data.wildcard_keys and closest_key not in data.cut_keys:
                wildcard = name_from_labels((WILDCARD,) + closest.labels)
                source = data.node(wildcard)
        if source is not None:
            follow = self.at_node(name, wildcard, source, qtype, answer)
            if self.dnssec:
                self.prove_wildcard(name, closest, wildcard)
            return follow
        self.kind = Kind.NXDOMAIN
        self.rcode = dns.rcode.NXDOMAIN
        self.add_negative_soa(zero_ttl=qtype == SOA)
        if self.dnssec:
            if wildcard is None:
                wildcard = name_from_labels((WILDCARD,) + closest.labels)
            self.prove_nxdomain(name, closest, wildcard)
        return None

    def walk_down(self, name: dns.name.Name, qtype: int) -> tuple[dns.name.Name, int] | None:
        """
        The highest zone cut or DNAME strictly above C{name} (a cut also at
        it, unless the parent answers C{qtype} there: DS, and NSEC where the
        parent has one, RFC 4035 sections 2.3 and 3.1.4.1).
        """
        data = self.data
        cuts, dnames = data.cut_keys, data.dname_keys
        if not cuts and not dnames:
            return None
        labels = name.labels
        keys = key_of(name)
        depth = len(labels) - len(data.origin.labels)
        for extra in range(0, depth + 1):
            key = keys[depth - extra :]
            at_name = extra == depth
            if extra and key in cuts:
                ancestor = name_from_labels(labels[depth - extra :])
                if not (at_name and self.parent_side(ancestor, qtype)):
                    return ancestor, NS
            if not at_name and key in dnames:
                return name_from_labels(labels[depth - extra :]), DNAME
        return None

    def parent_side(self, cut: dns.name.Name, qtype: int) -> bool:
        """Whether C{qtype} at the zone cut C{cut} is the parent's data, not the child's."""
        return qtype == DS or (qtype == NSEC and self.data.rdataset(cut, NSEC) is not None)

    def at_node(self, name, owner, node, qtype, answer) -> dns.name.Name | None:
        """Answer from C{node} (at C{owner}) for C{name}: hit, CNAME or no data."""
        rdatasets = node.rdatasets if node is not None else ()
        if qtype == ANY and rdatasets:
            # Every RRset, RRSIGs too: ANY asks for them explicitly (RFC 3225 section 3).
            self.kind = Kind.HIT
            for rds in rdatasets:
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
        if cname is not None and qtype not in NOT_FOLLOWED:
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

    def add_negative_soa(self, zero_ttl: bool = False) -> None:
        """The SOA of a negative answer; with TTL 0 to an SOA query for a missing name."""
        soa, signature = self.data.negative_soa
        if zero_ttl:
            soa, signature = _zero_ttl(soa), signature and _zero_ttl(signature)
        self.authority.append((self.data.origin, soa))
        if self.dnssec and signature is not None:
            self.authority.append((self.data.origin, signature))

    def add_proof(self, owner: dns.name.Name | None, rdtype: int) -> None:
        """Add the NSEC or NSEC3 at C{owner} (and its RRSIGs) to the authority section once."""
        if owner is None:
            return
        rds = self.data.rdataset(owner, rdtype)
        if rds is None or _holds(self.authority, (owner, rds)) or _holds(self.proofs, (owner, rds)):
            return
        self.add(self.authority, owner, owner, rds)

    # -- DNSSEC proofs (RFC 4035 section 3.1.3, RFC 5155 section 7.2)

    def prove_nodata(self, name: dns.name.Name, owner: dns.name.Name) -> None:
        data = self.data
        if data.nsec_order:
            self.add_proof(data.nsec_covering(owner), NSEC)
            if owner != name:  # wildcard no-data: also show the qname does not exist
                self.add_proof(data.nsec_covering(name), NSEC)
        elif data.nsec3 is not None:
            matching = _nsec3_matching(data, name if owner == name else owner)
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
        if data.nsec_order:
            self.add_proof(data.nsec_covering(name), NSEC)
            self.add_proof(data.nsec_covering(wildcard), NSEC)
        elif data.nsec3 is not None:
            self.prove_closest_encloser(name, closest)
            self.add_proof(_nsec3_covering(data, wildcard), NSEC3)

    def prove_wildcard(self, name, closest, wildcard) -> None:
        """A wildcard answer proves that C{name} itself does not exist."""
        if self.kind is Kind.NODATA:
            return  # prove_nodata did it
        data = self.data
        if data.nsec_order:
            self.add_proof(data.nsec_covering(name), NSEC)
        elif data.nsec3 is not None:
            self.add_proof(_nsec3_covering(data, _next_closer(name, closest)), NSEC3)

    def prove_closest_encloser(self, name, closest) -> None:
        data = self.data
        self.add_proof(_nsec3_matching(data, closest), NSEC3)
        self.add_proof(_nsec3_covering(data, _next_closer(name, closest)), NSEC3)

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
        elif data.nsec_order:
            self.add_proof(cut if data.rdataset(cut, NSEC) else None, NSEC)
        elif data.nsec3 is not None:
            matching = _nsec3_matching(data, cut)
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
        if self.qtype in SYNTHESIS_ANSWERS:
            return None  # the synthesised CNAME is the answer
        return target


def _closest_encloser(data: ZoneData, name: dns.name.Name) -> dns.name.Name:
    """
    The longest existing ancestor of a name that does not exist, found by
    its key (hashed in C) rather than by a C{Name} made for each ancestor.
    """
    labels = name.labels
    keys = key_of(name)
    owners, empty, hidden = data.owners, data.empty_nonterminals, data.hidden
    for i in range(1, len(keys)):
        key = keys[i:]
        if key in owners and key not in hidden or key in empty:
            return name_from_labels(labels[i:])
    raise dns.name.NoParent  # the root, as Name.parent says


def _closest_provable(data: ZoneData, name: dns.name.Name) -> dns.name.Name:
    """The longest ancestor of C{name} that has an NSEC3 record (opt-out chains)."""
    ancestor = name.parent()
    while ancestor != data.origin and _nsec3_matching(data, ancestor) is None:
        ancestor = ancestor.parent()
    return ancestor


def _nsec3_matching(data: ZoneData, name: dns.name.Name) -> dns.name.Name | None:
    """C{data.nsec3.matching(name)}, by the hash as a number (L{secdns.zones.shape.nsec3_match}): no base32 per query."""
    chain = data.nsec3
    i = nsec3_match(data, name.to_wire().lower())
    if i is None:
        return chain.matching(name)
    return None if i < 0 else chain.owners[chain.hashes[i]]


def _nsec3_covering(data: ZoneData, name: dns.name.Name) -> dns.name.Name | None:
    """C{data.nsec3.covering(name)}, as L{_nsec3_matching}."""
    chain = data.nsec3
    i = nsec3_cover(data, name.to_wire().lower())
    if i is None:
        return chain.covering(name)
    return chain.owners[chain.hashes[i]]


def _next_closer(name: dns.name.Name, closest: dns.name.Name) -> dns.name.Name:
    """The ancestor of C{name} one label longer than its closest encloser."""
    return name_from_labels(name.labels[-(len(closest.labels) + 1) :])


def _additional(data, dnssec, answer, authority, kind) -> list[RRsetRef]:
    """
    Addresses of in-zone NS, MX and SRV targets in the answer (RFC 1035
    section 3.3, RFC 2782), and the glue of a referral (also one reached
    through a CNAME chain): the addresses of its NS targets at or below a
    zone cut, in-domain or sibling (RFC 9471).  As BIND, a referral carries
    no addresses of NS targets that are authoritative data of the zone.
    """
    targets: dict[dns.name.Name, bool] = {}  # target to whether it is referral glue
    for name, rds in answer:
        for target in _targets(rds):
            targets.setdefault(target, False)
    if kind is Kind.DELEGATION:
        for name, rds in authority:
            if rds.rdtype == NS:
                for target in _targets(rds):
                    targets[target] = True
    if not targets:
        return []
    present = {(name, rds.rdtype) for name, rds in answer}
    additional: list[RRsetRef] = []
    for target, glue in targets.items():
        if not target.is_subdomain(data.origin) or not data.exists(target):
            continue
        if _below_cut(data, target) != glue:
            continue  # glue only in referrals, and referrals only glue
        for rdtype in (A, AAAA):
            if (target, rdtype) in present:
                continue
            rds = data.rdataset(target, rdtype)
            if rds is None:
                continue
            present.add((target, rdtype))
            additional.append((target, rds))
            if dnssec and not glue:
                signature = data.signature(target, rdtype)
                if signature is not None:
                    additional.append((target, signature))
    return additional


def _targets(rds: dns.rdataset.Rdataset) -> list[dns.name.Name]:
    if rds.rdtype in (NS, SRV):
        return [rdata.target for rdata in rds]
    if rds.rdtype == MX:
        return [rdata.exchange for rdata in rds]
    return []


def _holds(section: list[RRsetRef], ref: RRsetRef) -> bool:
    owner, rds = ref
    return any(r is rds and o == owner for o, r in section)  # identity first: comparing Names is slow


def _zero_ttl(rds: dns.rdataset.Rdataset) -> dns.rdataset.Rdataset:
    copy = rds.copy()
    copy.ttl = 0
    return copy


def _below_cut(data: ZoneData, name: dns.name.Name) -> bool:
    """Whether C{name}, at or below the apex, is at or below a zone cut."""
    cuts = data.cut_keys
    if not cuts:
        return False
    keys = key_of(name)
    return any(keys[i:] in cuts for i in range(len(keys) - len(data.origin.labels)))
