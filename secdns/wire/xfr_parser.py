# -*- test-case-name: tests.unit.test_xfrwire -*-
"""
The answer records of a transfer message, read straight into the compact
form a zone version keeps (L{secdns.wire.compact}).

C{dns.message.from_wire} makes a C{Name}, an RRset and an rdata object per
record; at a million records that was most of a transfer's time and
memory.  Here each record becomes its owner's key and its RDATA as bytes:

  - owner names are decompressed once per message: a name met before
    (through a compression pointer, as nearly every owner is) is looked up
    by its offset, not read again;
  - RDATA is copied as it is for A and AAAA records, decompressed for the
    types whose names senders compress (NS, CNAME, PTR, DNAME, MX, SRV,
    SOA: those with names in L{secdns.wire.rdtypes}), and for every other
    type made into dnspython's object and back, which checks it and
    decompresses any name in it.

Whatever breaks the wire format raises L{WireError}.
"""

from __future__ import annotations

import struct
from typing import Iterator

import dns.exception
import dns.name
import dns.rdata
import dns.rdatatype

from secdns.wire.compact import OwnerKey
from secdns.wire.rdtypes import LAYOUTS

__all__ = ["WireError", "Owner", "answer_records"]


class WireError(ValueError):
    """A message that does not follow the wire format."""


#: An owner as read: its key, its labels as sent, their wire length, and
#: whether any of them has an uppercase letter.
Owner = tuple[OwnerKey, tuple[bytes, ...], int, bool]

_RR = struct.Struct("!HHIH")
_MAX_NAME = 255


def answer_records(wire: bytes, qdcount: int, count: int) -> Iterator[tuple[Owner, int, int, int, bytes]]:
    """
    The C{count} records after the C{qdcount} questions of a message, as
    (owner, type, class, TTL, uncompressed RDATA).

    @raise WireError: a record or name that breaks the wire format.
    """
    names: dict[int, Owner] = {}
    unpack = _RR.unpack_from
    end = len(wire)
    offset = 12
    try:
        for _ in range(qdcount):
            offset = read_owner(wire, offset, names)[1] + 4  # the zone's name: owners point to it
        for _ in range(count):
            owner, offset = read_owner(wire, offset, names)
            rdtype, rdclass, ttl, rdlength = unpack(wire, offset)
            offset += 10
            stop = offset + rdlength
            if stop > end:
                raise WireError("a record runs past the end of the message")
            if _PLAIN.get(rdtype) == rdlength:
                rdata = wire[offset:stop]
            else:
                rdata = _rdata(wire, offset, stop, rdtype, rdclass)
            offset = stop
            yield owner, rdtype, rdclass, ttl, rdata
    except (struct.error, IndexError) as e:
        raise WireError(f"the message ends inside a record ({e})") from None


def read_owner(wire: bytes, offset: int, names: dict[int, Owner]) -> tuple[Owner, int]:
    """
    The name at C{offset}, and the offset after it.  C{names} maps the
    offsets of names already read to them: a pointer to one of them ends
    the name, and the name read (with each suffix it spelled out) is added.
    """
    length = wire[offset]
    if length >= 0xC0:  # a pointer to a name met before: most owners after the first
        known = names.get(((length & 0x3F) << 8) | wire[offset + 1])
        if known is not None:
            return known, offset + 2
    elif length and wire[offset + length + 1] >= 0xC0:  # one label, then a pointer
        known = names.get(((wire[offset + length + 1] & 0x3F) << 8) | wire[offset + length + 2])
        if known is not None:
            label = wire[offset + 1 : offset + 1 + length]
            lowered = label.lower()
            size = known[2] + length + 1
            if size > _MAX_NAME:
                raise WireError("a name is longer than 255 octets")
            owner = ((lowered,) + known[0], (label,) + known[1], size, known[3] or lowered != label)
            names[offset] = owner
            return owner, offset + length + 3
    return _read_owner(wire, offset, names)


def _read_owner(wire: bytes, offset: int, names: dict[int, Owner]) -> tuple[Owner, int]:
    labels: list[bytes] = []
    starts: list[int] = []  # where each label read from the wire starts
    known: Owner = ((), (), 0, False)
    after = None
    position = offset
    for _ in range(128):
        length = wire[position]
        if length >= 0xC0:
            if after is None:
                after = position + 2
            target = _pointer(wire, position, starts[-1] if starts else position)
            found = names.get(target)
            if found is not None:
                known = found
                break
            position = target
            continue
        if length > 63:
            raise WireError(f"label type {length >> 6} is not supported")
        starts.append(position)
        labels.append(wire[position + 1 : position + 1 + length])
        if length == 0:
            if after is None:
                after = position + 1
            break
        position += length + 1
    else:
        raise WireError("a name has too many labels")
    spelled = tuple(labels)
    lowered = tuple([label.lower() for label in spelled])
    size = known[2] + sum(len(label) + 1 for label in spelled)
    if size > _MAX_NAME:
        raise WireError("a name is longer than 255 octets")
    key, cased = lowered + known[0], spelled + known[1]
    mixed = known[3] or lowered != spelled
    # Each label read starts a suffix that later pointers may name.
    for i, start in enumerate(starts):
        if start not in names:
            suffix_size = size - sum(len(label) + 1 for label in spelled[:i])
            names[start] = (key[i:], cased[i:], suffix_size, mixed if i == 0 else cased[i:] != key[i:])
    owner = names.setdefault(offset, (key, cased, size, mixed))
    return owner, after


def expand_name(wire: bytes, offset: int) -> tuple[bytes, int]:
    """The (possibly compressed) name at C{offset} in uncompressed wire form, and the offset after it."""
    parts: list[bytes] = []
    size = 0
    after = None
    position = offset
    lowest = offset  # a pointer must point before every label read so far
    for _ in range(128):
        length = wire[position]
        if length >= 0xC0:
            if after is None:
                after = position + 2
            position = lowest = _pointer(wire, position, lowest)
            continue
        if length > 63:
            raise WireError(f"label type {length >> 6} is not supported")
        parts.append(wire[position : position + 1 + length])
        size += length + 1
        if size > _MAX_NAME:
            raise WireError("a name is longer than 255 octets")
        if length == 0:
            return b"".join(parts), after if after is not None else position + 1
        position += length + 1
    raise WireError("a name has too many labels")


def _pointer(wire: bytes, position: int, limit: int) -> int:
    """The target of the compression pointer at C{position}: before C{limit}, so that no name loops."""
    target = ((wire[position] & 0x3F) << 8) | wire[position + 1]
    if target >= limit:
        raise WireError("a compression pointer does not point back")
    return target


def _rdata(wire: bytes, offset: int, stop: int, rdtype: int, rdclass: int) -> bytes:
    layout = _NAMED.get(rdtype)
    if layout is not None:
        before, names, after = layout
        parts = [wire[offset : offset + before]]
        position = offset + before
        for _ in range(names):
            name, position = expand_name(wire, position)
            parts.append(name)
        parts.append(wire[position : position + after])
        if position + after == stop and position <= stop:
            return b"".join(parts)
    try:
        return dns.rdata.from_wire(rdclass, rdtype, wire, offset, stop - offset).to_wire()
    except (dns.exception.DNSException, ValueError, IndexError, struct.error) as e:
        raise WireError(f"{dns.rdatatype.to_text(rdtype)} record does not parse: {e}") from None


#: Types whose RDATA is taken as it is when its length is right (A, AAAA).
_PLAIN = {layout.rdtype: layout.size for layout in LAYOUTS.values() if layout.size is not None}

#: Types with names in their RDATA (NS, MX, SOA ...): octets before the
#: names, how many names, octets after.  Anything else goes through dnspython.
_NAMED = {
    layout.rdtype: (layout.names_at, len(layout.names), layout.after_size)
    for layout in LAYOUTS.values()
    if layout.names
}
