# -*- test-case-name: tests.unit.test_shape -*-
"""
Where a name that does not exist falls in a zone version: its shape.

The answer to a missing name depends on the name only through the
question it is written into (RFC 4592 section 3.3.1: a wildcard's answer
takes the question's name as owner), never through the lookup
(L{secdns.zones.lookup.resolve}): the closest encloser decides whether a
wildcard answers and with what; the query type, class and EDNS state
decide what is said; in a signed zone, with DO, the NSEC or NSEC3 record
that covers the name (or its next closer name) is the one proof that
changes from name to name.  Two missing names of the same shape, whose
part above the closest encloser (the I{prefix}) has the same length in
wire form, get the same response but for the question: a response
rendered for one serves the other with its question put in, as long as
it does not point into the prefix (L{secdns.wire.writer.Writer.low}).

L{shape_of} finds the shape from the lowercased wire form of the name,
as the query path's memo keys hold it, without making a C{Name}: the
labels' tuple is the zone's owner key, so the closest encloser is found
by lookups of its suffixes, as L{secdns.zones.lookup} does, once for each
parent (L{parent_of}): the names of a random-subdomain flood share a few.  Names left
to the full lookup (L{None}): names that exist (or are NSEC3 hashes),
names at or below a zone cut or DNAME, names under a wildcard CNAME (its
chain depends on the name: a loop through the name itself), and types
answered differently at a name (ANY, RRSIG, NSEC, NSEC3, DS).
"""

from __future__ import annotations

import bisect
import hashlib

import dns.rdataclass
import dns.rdatatype

from secdns.wire.compact import OwnerKey, name_from_labels
from secdns.zones.version import PerVersion, ZoneData

__all__ = ["Shape", "shape_of", "parent_of", "usable_encloser", "nsec3_cover", "nsec3_match", "nsec3_numbers"]

IN = dns.rdataclass.IN
CNAME = dns.rdatatype.CNAME
WILDCARD = b"*"

#: A shape: the closest encloser's wire form followed by the question's type,
#: class and EDNS state (the end of the memo key), the prefix's length, and
#: with DO in a signed zone the index of the covering NSEC or NSEC3 record.
Shape = tuple

#: Query types answered at a name otherwise than by its closest encloser's
#: rules, or whose answer the proofs make name-dependent: in wire form.
UNSHAPED = frozenset(
    rdtype.to_bytes(2, "big")
    for rdtype in (dns.rdatatype.ANY, dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.NSEC3, dns.rdatatype.DS)
)

#: The EDNS state byte of a memo key that has the DO bit.
_DO_STATE = 2

SHA1 = 1

#: By version: its NSEC3 hashes as numbers (L{nsec3_numbers}).
NSEC3_NUMBERS: PerVersion[list[int]] = PerVersion(list)


def shape_of(data: ZoneData, parents: dict, key: bytes, name_end: int) -> Shape | None:
    """
    The shape of the question C{key} (lowercase name in wire form, type,
    class, EDNS state: the query path's memo key; C{name_end} the name's
    length) in zone version C{data}, or L{None} for a question the full
    lookup must answer.

    @param parents: what L{parent_of} found for the parents of names asked
        in this version, by their wire form, kept by the caller: a flood's
        names have few parents, and a name's closest encloser is its
        parent, or its parent's closest encloser.
    """
    if key[name_end : name_end + 2] in UNSHAPED:
        return None
    first = key[0] + 1
    if first >= name_end:
        return None  # the root
    parent = parents.get(key[first:name_end])
    if parent is None:
        parent = parents[key[first:name_end]] = parent_of(data, key[first:name_end])
    labels, closest, usable, next_closer = parent
    if not usable:
        return None
    name = (key[1:first],) + labels
    if name in data.owners or name in data.empty_nonterminals:
        return None  # it exists, or is an NSEC3 hash: its own answer
    prefix = first + closest
    if key[-1] != _DO_STATE or not data.signed:
        return key[prefix:], prefix
    if data.nsec_order:
        proof = bisect.bisect_right(data.nsec_order, name[::-1]) - 1
        return key[prefix:], prefix, proof % len(data.nsec_order)
    if data.nsec3 is not None:
        proof = nsec3_cover(data, key[: name_end] if next_closer < 0 else key[first + next_closer : name_end])
        if proof is None:
            return None
        return key[prefix:], prefix, proof
    return key[prefix:], prefix


def parent_of(data: ZoneData, wire: bytes) -> tuple[OwnerKey, int, bool, int]:
    """
    For the lowercase wire form C{wire} of the parent of missing names:
    its labels (the owner key), the offset in it of their closest
    encloser (0: the parent itself), whether that encloser gives shapes
    (L{usable_encloser}), and the offset of the next closer name (RFC 5155
    section 1.3) in it, -1 when the closest encloser is the parent (the
    next closer name is then the missing name itself).
    """
    labels = []
    offsets = []
    offset = 0
    length = wire[0]
    while length:
        offsets.append(offset)
        labels.append(wire[offset + 1 : offset + 1 + length])
        offset += length + 1
        length = wire[offset]
    offsets.append(offset)
    labels.append(b"")
    name = tuple(labels)
    owners, empty, hidden = data.owners, data.empty_nonterminals, data.hidden
    for i in range(len(name)):
        closest = name[i:]
        if closest in owners and closest not in hidden or closest in empty:
            break
    else:
        return name, 0, False, -1
    origin_depth = len(data.origin.labels)
    if len(closest) < origin_depth:
        return name, 0, False, -1  # above the apex: not this zone's
    return name, offsets[i], usable_encloser(data, closest), offsets[i - 1] if i else -1


def usable_encloser(data: ZoneData, closest: OwnerKey) -> bool:
    """
    Whether the missing names below C{closest} (an existing name) have a
    shape: no zone cut from below the apex down to it, no DNAME from the
    apex down to it (as L{secdns.zones.lookup._Step.walk_down} looks), and
    no CNAME at its wildcard.
    """
    depth = len(data.origin.labels)
    cuts, dnames = data.cut_keys, data.dname_keys
    for j in range(len(closest) - depth + 1):
        ancestor = closest[j:]
        if ancestor in dnames or (len(ancestor) > depth and ancestor in cuts):
            return False
    wildcard = (WILDCARD,) + closest
    if wildcard in data.wildcard_keys:
        node = data.node(name_from_labels(wildcard))
        if node is None or node.get_rdataset(IN, CNAME) is not None:
            return False
    return True


def nsec3_cover(data: ZoneData, wire: bytes) -> int | None:
    """
    The index in C{data.nsec3.hashes} of the NSEC3 record that covers the
    name whose lowercase wire form is C{wire}, as
    L{secdns.zones.version.Nsec3Chain.covering} finds it; L{None} when
    L{nsec3_numbers} has none for the chain.
    """
    found = nsec3_search(data, wire)
    if found is None:
        return None
    numbers, number, i = found
    return (i - 1) % len(numbers)


def nsec3_match(data: ZoneData, wire: bytes) -> int | None:
    """The index in C{data.nsec3.hashes} of the hash of C{wire} (as L{nsec3_cover}), or -1 when no record has it; L{None} as L{nsec3_cover}."""
    found = nsec3_search(data, wire)
    if found is None:
        return None
    numbers, number, i = found
    return i if i < len(numbers) and numbers[i] == number else -1


def nsec3_search(data: ZoneData, wire: bytes) -> tuple[list[int], int, int] | None:
    """
    The chain's hashes as numbers (L{nsec3_numbers}), the hash of the name
    whose lowercase wire form is C{wire} (RFC 5155 section 5: SHA-1 of the
    name and salt, iterated) as a number, and where it would go among them.
    """
    numbers = NSEC3_NUMBERS.get(id(data))
    if numbers is None:
        numbers = nsec3_numbers(data)
    if not numbers:
        return None
    chain = data.nsec3
    salt = chain.salt or b""
    digest = hashlib.sha1(wire + salt).digest()
    for _ in range(chain.iterations):
        digest = hashlib.sha1(digest + salt).digest()
    number = int.from_bytes(digest, "big")
    return numbers, number, bisect.bisect_left(numbers, number)


def nsec3_numbers(data: ZoneData) -> list[int]:
    """
    The hashes of C{data}'s NSEC3 chain as numbers (base32hex, RFC 4648
    section 7, is base 32 to C{int}: no base32 encoding per query), in the
    chain's order, kept for the version; empty when the chain is not
    SHA-1 or an owner's label is not a 32-digit hash (then the order of the
    strings could differ from the numbers').
    """
    chain = data.nsec3
    numbers: list[int] = []
    if chain is not None and chain.algorithm == SHA1 and all(len(h) == 32 for h in chain.hashes):
        try:
            numbers = [int(h, 32) for h in chain.hashes]
        except ValueError:
            numbers = []
    NSEC3_NUMBERS.of(data).extend(numbers)
    return NSEC3_NUMBERS.of(data)
