# -*- test-case-name: tests.unit.test_render -*-
"""
DNS messages written to wire format: the part of dnspython's
C{dns.renderer.Renderer} that answering queries uses, without its cost.

dnspython compresses a name by building a C{Name} for each of its suffixes
and looking it up in a dictionary keyed by names, whose hashing runs in
Python: that was most of the time spent answering a query never asked
before.  L{Writer} keys its compression table by the lowercased wire form
of each suffix instead (bytes hash in C), and otherwise writes what
C{Renderer} writes, byte for byte:

  - every owner name and the question name are compressed, and each suffix
    written at an offset a pointer can reach (up to 0x3FFF) is remembered;
  - names in RDATA are compressed for the types dnspython compresses, those
    RFC 3597 section 4 allows: NS, CNAME, PTR, MX and SOA (their layouts in
    L{secdns.wire.rdtypes}); every other type's RDATA is C{rdata.to_wire()},
    uncompressed (SRV, DNAME, RRSIG, NSEC ...);
  - an RRset that does not fit in the size limit is taken back whole, with
    the compression entries it made, and the caller is told.

L{RRsetWire} is the part of an RRset that does not depend on where it is
written: its type, class and TTL, and each record's RDATA, or for the
compressed types the pieces around its names.  Building it costs more than
writing it, so a caller may keep it per RRset (L{rrset_wire}'s C{cache}).
"""

from __future__ import annotations

import struct
from typing import Union

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype

from secdns.wire.rdtypes import LAYOUTS, RdataLayout

__all__ = ["Writer", "RRsetWire", "name_wire", "rrset_wire", "RRSET_CACHE_LIMIT"]

HEADER = struct.Struct("!HHHHHH")
TYPE_CLASS = struct.Struct("!HH")
TYPE_CLASS_TTL = struct.Struct("!HHI")
OPT = dns.rdatatype.OPT

#: The highest offset a compression pointer can hold (RFC 1035 section 4.1.4).
MAX_POINTER = 0x3FFF
POINTER = 0xC000

#: Names whose wire form is remembered (L{name_wire}); past that it starts again.
NAME_CACHE_LIMIT = 10_000
#: Entries a cache given to L{rrset_wire} holds; past that it starts again.
RRSET_CACHE_LIMIT = 100_000

#: A name as L{Writer} takes it: its wire form as written, and lowercased.
NameWire = tuple[bytes, bytes]
#: One record of an RRset after the owner, type, class and TTL: RDLENGTH and
#: RDATA as bytes, or the pieces of an RDATA with names to compress.
Record = Union[bytes, tuple[Union[bytes, NameWire], ...]]

_names: dict[tuple[bytes, ...], NameWire] = {}


def name_wire(name: dns.name.Name) -> NameWire:
    """
    The wire form of an absolute name, and the same lowercased.

    @raise dns.name.NeedAbsoluteNameOrOrigin: C{name} is relative (as
        C{Renderer} without an origin).
    """
    labels = name.labels
    found = _names.get(labels)  # a tuple of bytes: hashed in C, unlike a Name
    if found is None:
        wire = name.to_wire()
        found = (wire, wire.lower())
        if len(_names) >= NAME_CACHE_LIMIT:
            _names.clear()
        _names[labels] = found
    return found


class RRsetWire:
    """
    An RRset ready to be written under any owner, at any offset.

    @ivar rdataset: the RRset this was made from (kept so that, cached by
        its C{id}, the C{id} cannot be reused while the entry lives).
    @ivar header: type, class and TTL.
    @ivar records: one L{Record} per record (an empty RRset has one record,
        TTL 0 and no RDATA, as dnspython writes it).
    """

    __slots__ = ("rdataset", "header", "records")

    def __init__(self, rdataset: dns.rdataset.Rdataset) -> None:
        self.rdataset = rdataset
        if len(rdataset) == 0:
            self.header = TYPE_CLASS_TTL.pack(rdataset.rdtype, rdataset.rdclass, 0)
            self.records: tuple[Record, ...] = (b"\x00\x00",)
            return
        self.header = TYPE_CLASS_TTL.pack(rdataset.rdtype, rdataset.rdclass, rdataset.ttl)
        records = []
        for rdata in rdataset:
            pieces = _compressed_pieces.get(type(rdata))
            if pieces is None:
                data = rdata.to_wire()
                records.append(len(data).to_bytes(2, "big") + data)
            else:
                records.append(pieces(rdata))
        self.records = tuple(records)


def rrset_wire(rdataset: dns.rdataset.Rdataset, cache: dict | None = None) -> RRsetWire:
    """
    The L{RRsetWire} of C{rdataset}, from C{cache} (keyed by C{id}) when
    there, left there otherwise.  The RRset must not change while cached.
    """
    if cache is None:
        return RRsetWire(rdataset)
    found = cache.get(id(rdataset))
    if found is None or found.rdataset is not rdataset:
        found = RRsetWire(rdataset)
        if len(cache) >= RRSET_CACHE_LIMIT:
            cache.clear()
        cache[id(rdataset)] = found
    return found


def _pieces(layout: RdataLayout):
    """
    The function that cuts a record of C{layout}'s type into pieces: its
    numbers before the names packed (if any), each name (L{name_wire}),
    its numbers after the names packed (if any).  Its code is written out
    from the layout, as attrs and dataclasses write theirs: a loop over
    the fields cost up to half as much again.
    """
    pieces = []
    if layout.before:
        pieces.append(f"pack_before({', '.join(f'rdata.{number.field}' for number in layout.before)})")
    pieces += [f"name_wire(rdata.{field})" for field in layout.names]
    if layout.after:
        pieces.append(f"pack_after({', '.join(f'rdata.{number.field}' for number in layout.after)})")
    source = f"def pieces(rdata):\n    return ({', '.join(pieces)},)\n"
    namespace = {"name_wire": name_wire, "pack_before": layout.before_struct.pack, "pack_after": layout.after_struct.pack}
    exec(compile(source, f"<pieces of {layout.rdtype.name}>", "exec"), namespace)
    return namespace["pieces"]


#: The RDATA classes whose names dnspython compresses (those of RFC 3597
#: section 4: NS, CNAME, PTR, MX, SOA), by exact class: a subclass may
#: write itself otherwise.
_compressed_pieces = {
    dns.rdata.get_rdata_class(dns.rdataclass.IN, layout.rdtype): _pieces(layout)
    for layout in LAYOUTS.values()
    if layout.compressed
}


class Writer:
    """
    One message being written: header, question, RRsets, OPT.

    @ivar out: the message so far (the header is written by L{finish}).
    @ivar compress: lowercased wire form of each name suffix written to its offset.
    @ivar max_size: the size RRsets must fit in (what L{reserve} leaves).
    @ivar counts: records in the question, answer, authority and additional sections.
    @ivar question_lower: the question's name, lowercased, once written
        (L{None} for the root): an owner equal to it is a pointer to it.
    @ivar low: the lowest offset a compression pointer written points at,
        but for owners equal to the question's name.  A response kept as
        the answer to every missing name of a shape
        (L{secdns.zones.shape}) must not point into the part of the
        question that differs between them.
    """

    __slots__ = ("out", "compress", "max_size", "reserved", "counts", "question_lower", "low")

    def __init__(self, max_size: int = 65535) -> None:
        self.out = bytearray(12)
        self.compress: dict[bytes, int] = {}
        self.max_size = max_size
        self.reserved = 0
        self.counts = [0, 0, 0, 0]
        self.question_lower: bytes | None = None
        self.low = POINTER

    def question(self, name: dns.name.Name, rdtype: int, rdclass: int) -> None:
        """
        Add the question.

        @raise dns.exception.TooBig: it does not fit (as C{Renderer}).
        """
        start = len(self.out)
        wire, lower = name_wire(name)
        self.name(wire, lower)
        self.out += TYPE_CLASS.pack(rdtype, rdclass)
        if len(self.out) > self.max_size:
            self._rollback(start)
            raise dns.exception.TooBig
        if start == 12 and lower[0]:
            self.question_lower = lower
        self.counts[0] += 1

    def reserve(self, size: int) -> None:
        """Keep C{size} bytes (the OPT) out of what RRsets may use."""
        if size > self.max_size:
            raise ValueError("cannot reserve more than the maximum size")
        self.reserved += size
        self.max_size -= size

    def release_reserved(self) -> None:
        self.max_size += self.reserved
        self.reserved = 0

    def name(self, wire: bytes, lower: bytes) -> None:
        """Write a name (L{name_wire}), compressed, remembering its suffixes."""
        out = self.out
        compress = self.compress
        start = len(out)
        offset = 0
        length = lower[0]
        while length:
            key = lower[offset:]
            pointer = compress.get(key)
            if pointer is not None:
                if pointer < self.low:
                    self.low = pointer
                out += wire[:offset]
                out += (POINTER | pointer).to_bytes(2, "big")
                return
            if start + offset <= MAX_POINTER:
                compress[key] = start + offset
            offset += length + 1
            length = lower[offset]
        out += wire

    def rrset(self, section: int, owner: dns.name.Name, rdataset, cache: dict | None = None) -> bool:
        """
        Add C{rdataset} under C{owner} to C{section} (1 to 3), or nothing
        if it does not fit.

        @return: whether it was added.
        """
        entry = rrset_wire(rdataset, cache)
        out = self.out
        start = len(out)
        owner_wire = name_wire(owner)
        # The question's own name (a wildcard's answer): a pointer to it,
        # as the lookup would find, not counted in C{low}.
        at_question = owner_wire[1] == self.question_lower
        header = entry.header
        for record in entry.records:
            if at_question:
                out += b"\xc0\x0c"
            else:
                self.name(*owner_wire)
            out += header
            if type(record) is bytes:
                out += record
                continue
            length_at = len(out)
            out += b"\x00\x00"
            for piece in record:
                if type(piece) is bytes:
                    out += piece
                else:
                    self.name(*piece)
            out[length_at : length_at + 2] = (len(out) - length_at - 2).to_bytes(2, "big")
        if len(out) > self.max_size:
            self._rollback(start)
            return False
        self.counts[section] += len(entry.records)
        return True

    def opt(self, payload: int, ttl: int, options: bytes) -> None:
        """Add an OPT record (RFC 6891): C{options} already in wire form."""
        self.out += b"\x00" + TYPE_CLASS_TTL.pack(OPT, payload, ttl) + len(options).to_bytes(2, "big") + options
        self.counts[3] += 1

    def finish(self, id: int, flags: int) -> bytes:
        """The message, its header written."""
        out = self.out
        out[:12] = HEADER.pack(id, flags, *self.counts)
        return bytes(out)

    def _rollback(self, where: int) -> None:
        del self.out[where:]
        compress = self.compress
        for key in [key for key, offset in compress.items() if offset >= where]:
            del compress[key]
