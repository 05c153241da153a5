# -*- test-case-name: tests.unit.test_zonefast -*-
"""
Simple zone files read without dnspython's zone file parser.

dnspython's parser costs over 100 us a record (a tokenizer that reads one
character at a time, an object per record, a transaction step per
record): a zone file of a million records took minutes to load.  Big zone
files are mostly simple: one record a line (but for an SOA or another
record spread over lines in parentheses), no quotes, no escapes.  L{read}
reads such a text a line at a time straight into the compact form
(L{secdns.wire.compact}), over twenty times as fast.

It reads only what it can read exactly as dnspython 2.9's
C{dns.zonefile.Reader} does: C{$ORIGIN}, C{$TTL}, comments, and records of
class IN whose owner is a plain name (absolute, relative, C{@}, or left
out: the previous owner), with a TTL (seconds or BIND units) and the class
in either order or left out, on one line or on several in parentheses
(L{_joined}).  A and AAAA addresses in their canonical form, and the plain
names of NS, CNAME, PTR, DNAME and MX records (L{_SIMPLE}), are packed
here, as their layouts in L{secdns.wire.rdtypes} say; all other RDATA,
and any of these this module doubts, is dnspython's own
(C{dns.rdata.from_text}).  The TTLs a record without one gets, and how
records make RRsets, are dnspython's rules, restated here
(L{_Reader._implicit_ttl}, L{_rrsets}).

Anything else (nested or unbalanced parentheses, quotes, escapes,
C{$INCLUDE}, C{$GENERATE}, another class, a name outside the zone, any
error) and it gives up:
L{read} returns C{None} and the caller reads the text with dnspython, so
that what a file means, and the message an operator gets for a bad one,
stay dnspython's.
"""

from __future__ import annotations

import re
import socket
from typing import Callable, Iterator

import dns.exception
import dns.name
import dns.node
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.ttl

from secdns.wire.compact import RECORD, SINGLETONS, OwnerKey, key_of, name_wire
from secdns.wire.rdtypes import LAYOUTS, RdataLayout

__all__ = ["read"]

IN = dns.rdataclass.IN
SOA = dns.rdatatype.SOA
RRSIG = dns.rdatatype.RRSIG
MX = dns.rdatatype.MX

#: A character this reader leaves to dnspython where it is not in a comment:
#: not printable ASCII (nor a tab), or one that quotes or escapes.
_UNSAFE = re.compile(r'[^\t -~]|["\\]')

#: L{_UNSAFE} but for line ends, which no line holds: a text without any
#: of these has no line with an unsafe character.
_UNSAFE_IN_TEXT = re.compile(r'[^\t\n\r -~]|["\\]')

#: How much of a text one search of L{_UNSAFE_IN_TEXT} covers.  A regular
#: expression holds the interpreter lock until it is done: over a 10 MB
#: zone file at once, that stopped the reactor (every zone's answers) for
#: 140 ms while a reload read the file in a worker.
_SEARCH_CHUNK = 1 << 18


def _has_unsafe(text: str) -> bool:
    """Whether C{text} holds an L{_UNSAFE_IN_TEXT} character, searched a chunk at a time."""
    search = _UNSAFE_IN_TEXT.search
    return any(search(text, start, start + _SEARCH_CHUNK) for start in range(0, len(text), _SEARCH_CHUNK))

#: The parentheses of a line, for L{_joined} to count.
_PARENTHESES = re.compile(r"[()]")

#: What L{_joined} makes of a parenthesis: whitespace (both are delimiters
#: to dnspython's tokenizer, which only counts them).
_UNPARENTHESISE = str.maketrans("()", "  ")

_UPPERCASE = re.compile(rb"[A-Z]")


#: How many RDATA texts L{_Reader._rdata} remembers at most.
_MEMO_SIZE = 4096

#: The class L{_word} gives a token that dnspython reads as another class
#: than IN (which it refuses in a zone of class IN).
_OTHER_CLASS = -1


class _Refused(Exception):
    """The text holds something this reader does not decide: dnspython must read it."""


def read(
    origin: dns.name.Name, text: str
) -> tuple[dict[OwnerKey, bytes], dict[OwnerKey, dns.name.Name], int] | None:
    """
    The records of a zone file's text as a version's compact form, if the
    text is simple enough to be read here.

    @param origin: the zone's apex.
    @param text: the whole zone file.
    @return: C{owners}, C{cased} and the record count, as
        L{secdns.zones.version.from_owners} takes them; or C{None} if the text
        must be read with dnspython.
    """
    try:
        return _Reader(origin).read(text)
    except _Refused:
        return None


def _lines(text: str) -> Iterator[str]:
    """
    The lines of C{text}.  dnspython's tokenizer ends a line at a CR, an
    LF or a CRLF (and at nothing else, unlike C{str.splitlines}).  Split a
    chunk at a time, each ending at a line end: one split of a whole big
    file holds the interpreter lock (and the reactor) for 30 ms.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    start, size = 0, len(text)
    while start <= size:
        end = text.find("\n", start + _SEARCH_CHUNK)
        if end < 0:
            end = size
        yield from text[start:end].split("\n")
        start = end + 1


def _labels(text: str, origin: tuple[bytes, ...], room: int) -> tuple[bytes, ...]:
    """
    The labels of the name C{text} (ASCII, no escapes) relative to
    C{origin}, as C{dns.name.from_text} makes them.

    @param room: how long a relative name's text may be, so that the
        name is not too long with C{origin}: L{_room}.
    @raise _Refused: an empty or too long label, or too long a name:
        dnspython's errors.
    """
    if text == "@":
        return origin
    if text == ".":
        return (b"",)
    labels = text.encode("ascii").split(b".")
    if labels[-1]:
        if len(text) > room or b"" in labels:
            raise _Refused()
        labels = tuple(labels) + origin
    else:
        labels.pop()
        if len(text) > 254 or b"" in labels:
            raise _Refused()
        labels = tuple(labels) + (b"",)
    if len(text) > 63 and any(len(label) > 63 for label in labels):
        raise _Refused()
    return labels


def _room(origin: tuple[bytes, ...]) -> int:
    """
    How long the text of a name relative to C{origin} may be: its wire
    form is one octet longer than its text, and with the origin's it may
    not pass 255 octets.
    """
    return 254 - len(origin) - sum(map(len, origin))


def _address(family: int, text: str) -> bytes | None:
    """
    An address in its canonical text form, packed; C{None} for any other
    text (a non-canonical form, an IPv6 address with a dotted quad, an
    invalid one), which is left to dnspython.
    """
    try:
        packed = socket.inet_pton(family, text)
    except OSError:
        return None
    if socket.inet_ntop(family, packed) != text or (family == socket.AF_INET6 and "." in text):
        return None
    return packed


#: The types whose RDATA is an address (A, AAAA), by its family.
_FAMILIES = {
    layout.rdtype: layout.address_family for layout in LAYOUTS.values() if layout.address_family is not None
}


def _target(text: str, origin: tuple[bytes, ...], room: int) -> bytes | None:
    """
    The wire form of the name C{text} in a record's RDATA, as dnspython's
    C{to_wire()} gives it (uncompressed, case kept); C{None} for a name
    dnspython refuses (L{_labels}), which is left to it and its message.
    """
    try:
        return name_wire(_labels(text, origin, room))
    except _Refused:
        return None


def _packer(layout: RdataLayout) -> Callable[[list[str], tuple[bytes, ...], int], bytes | None]:
    """
    The packer of the RDATA of C{layout}'s type if it is one name (NS,
    CNAME, PTR, DNAME: L{_target}), or a 16-bit number then one name (MX:
    its preference, ASCII digits as dnspython's C{Tokenizer.as_int} takes
    them, leading zeros too, up to 65535).
    """
    (_,) = layout.names
    if layout.after or len(layout.before) > 1 or any(number.size != 2 for number in layout.before):
        raise ValueError(f"not a layout of a name, or of a 16-bit number then a name: {layout}")

    if not layout.before:

        def one_name(tokens: list[str], origin: tuple[bytes, ...], room: int) -> bytes | None:
            if len(tokens) != 1:
                return None
            return _target(tokens[0], origin, room)

        return one_name

    pack = layout.before_struct.pack

    def number_and_name(tokens: list[str], origin: tuple[bytes, ...], room: int) -> bytes | None:
        if len(tokens) != 2:
            return None
        number, name = tokens
        if not (number.isdigit() and number.isascii()):
            return None
        value = int(number)
        wire = _target(name, origin, room)
        if value > 65535 or wire is None:
            return None
        return pack(value) + wire

    return number_and_name


#: The types whose plain RDATA is packed here rather than by dnspython: a
#: function of the RDATA's tokens, the origin's labels and L{_room}, which
#: gives the wire form or C{None} (then dnspython reads it).
_SIMPLE: dict[int, Callable[[list[str], tuple[bytes, ...], int], bytes | None]] = {
    rdtype: _packer(LAYOUTS[rdtype])
    for rdtype in (dns.rdatatype.NS, dns.rdatatype.CNAME, dns.rdatatype.PTR, dns.rdatatype.DNAME, MX)
}


def _joined(code: str, lines: Iterator[str], unsafe: Callable | None) -> str:
    """
    A record with parentheses (C{code}, its first line, comment cut off)
    as one line, taking from C{lines} the lines it goes on over.

    dnspython's tokenizer takes a parenthesis as a delimiter that it only
    counts, and a line end while one is open as whitespace (a comment
    still ends at its line's end), so the record means what its lines
    cut of their comments and joined, parentheses made spaces, mean.
    Unbalanced parentheses (dnspython's error), nested ones (which its
    tokenizer takes, but no zone file needs), a directive in parentheses,
    and a line that starts with a parenthesis (which dnspython reads as
    naming an owner, not as one of the last owner) are left to dnspython.
    """
    if code[0] in "()$":
        raise _Refused()
    parts = []
    depth = 0
    while True:
        for parenthesis in _PARENTHESES.findall(code):
            depth += 1 if parenthesis == "(" else -1
            if depth not in (0, 1):
                raise _Refused()
        parts.append(code)
        if not depth:
            return " ".join(parts).translate(_UNPARENTHESISE)
        line = next(lines, None)
        if line is None:
            raise _Refused()  # dnspython: unbalanced parentheses
        code = line.partition(";")[0]
        if unsafe is not None and unsafe(code):
            raise _Refused()


def _word(token: str) -> tuple[int | None, int | None, int | None]:
    """
    What dnspython's C{_rr_line} makes of C{token} where a record's TTL,
    class or type may stand: C{(ttl, rdclass, rdtype)}, each C{None} if
    the token is not one.  Types that dnspython would not take in a zone
    file (meta types), or whose RRsets are not told apart by the first
    octets of the RDATA as L{_rrsets} does it (SIG), are C{None} here.
    """
    try:
        ttl = dns.ttl.from_text(token)
    except dns.ttl.BadTTL:
        ttl = None
    try:
        rdclass = dns.rdataclass.from_text(token)
    except dns.exception.SyntaxError:
        rdclass = _OTHER_CLASS
    except Exception:
        rdclass = None
    if rdclass is not None and rdclass != IN:
        rdclass = _OTHER_CLASS
    try:
        rdtype = dns.rdatatype.from_text(token)
    except Exception:
        rdtype = None
    if rdtype is not None and (dns.rdatatype.is_metatype(rdtype) or rdtype == dns.rdatatype.SIG):
        rdtype = None
    return ttl, rdclass, rdtype


class _Reader:
    """
    The state of one read, as dnspython's C{Reader} keeps it: the origin
    relative names end in, the last owner, and what a record without a TTL
    gets.
    """

    def __init__(self, origin: dns.name.Name) -> None:
        self.zone_origin = origin
        self.zone_key = key_of(origin)
        self._set_origin(origin)
        self.last_labels = origin.labels
        self.last_key = self.zone_key
        self.last_ttl = 0
        self.last_ttl_known = False
        self.default_ttl = 0
        self.default_ttl_known = False
        self.default_ttl_from_soa = False
        self.words: dict[str, tuple[int | None, int | None, int | None]] = {}
        self.owners: dict[OwnerKey, bytes] = {}
        self.shared: dict[OwnerKey, list[bytes]] = {}  # owners of more than one record
        self.cased: dict[OwnerKey, dns.name.Name] = {}

    def read(self, text: str) -> tuple[dict[OwnerKey, bytes], dict[OwnerKey, dns.name.Name], int]:
        """
        Read C{text} a line at a time (a line's comment cut off first):
        a directive, a record naming its owner, or one of the last owner;
        a record in parentheses is joined from its lines first
        (L{_joined}).  Lines are searched for L{_UNSAFE} characters, and
        for parentheses, only if the text holds any (in comments, most
        likely, or one multi-line SOA).
        """
        unsafe = _UNSAFE.search if _has_unsafe(text) else None
        parenthesised = "(" in text or ")" in text
        lines = _lines(text)
        for line in lines:
            code = line.partition(";")[0]
            if unsafe is not None and unsafe(code):
                raise _Refused()
            if parenthesised and ("(" in code or ")" in code):
                code = _joined(code, lines, unsafe)
            fields = code.split()
            if not fields:
                continue
            if code[0] == " " or code[0] == "\t":
                self._record(fields, 0)
            elif code[0] == "$":
                self._directive(fields)
            else:
                self._owner(fields[0])
                self._record(fields, 1)
        return self._finish()

    def _directive(self, fields: list[str]) -> None:
        """C{$TTL} and C{$ORIGIN}; any other directive is dnspython's."""
        directive = fields[0].upper()
        if len(fields) != 2:
            raise _Refused()
        if directive == "$TTL":
            ttl = self._word(fields, 1)[0]
            if ttl is None:
                raise _Refused()
            self.default_ttl = ttl
            self.default_ttl_known = True
            self.default_ttl_from_soa = False
        elif directive == "$ORIGIN":
            self._set_origin(dns.name.Name(_labels(fields[1], self.origin.labels, self.room)))
        else:
            raise _Refused()

    def _set_origin(self, origin: dns.name.Name) -> None:
        """The origin relative names end in from now on."""
        self.rdata_memo: dict[tuple[int, str], bytes] = {}
        self.origin = origin
        self.origin_key = key_of(origin)
        self.origin_cased = self.origin_key != origin.labels
        self.room = _room(origin.labels)

    def _owner(self, text: str) -> None:
        """A record's owner, named: the last owner from now on."""
        labels = _labels(text, self.origin.labels, self.room)
        lower = text.lower()
        if lower == text and not self.origin_cased:
            key = labels
        else:
            key = _labels(lower, self.origin_key, self.room)
        depth = len(self.zone_key)
        if len(key) < depth or key[len(key) - depth :] != self.zone_key:
            raise _Refused()  # dnspython skips it, and the lines after it that name no owner
        self.last_labels = labels
        self.last_key = key

    def _record(self, fields: list[str], start: int) -> None:
        """A record of the last owner: C{fields[start:]} are its TTL, class, type and RDATA."""
        ttl, rdtype, start = self._header(fields, start)
        rdata = self._rdata(rdtype, fields[start:])
        if rdtype == SOA:
            ttl = self._soa(rdata, ttl)
        if ttl is None:
            raise _Refused()
        self._add(RECORD.pack(rdtype, ttl, len(rdata)) + rdata)

    def _header(self, fields: list[str], i: int) -> tuple[int | None, int, int]:
        """
        A record's TTL (C{None}: not known yet), type, and where its RDATA
        starts: C{[TTL] [class] [TTL] type}, the TTL once, as dnspython's
        C{_rr_line} takes them.
        """
        ttl, rdclass, rdtype = self._word(fields, i)
        if ttl is not None:
            self._explicit_ttl(ttl)
            i += 1
            _, rdclass, rdtype = self._word(fields, i)
        if rdclass is not None:
            if rdclass != IN:
                raise _Refused()
            i += 1
            word = self._word(fields, i)
            if ttl is None and word[0] is not None:
                ttl = word[0]
                self._explicit_ttl(ttl)
                i += 1
                word = self._word(fields, i)
            rdtype = word[2]
        if ttl is None:
            ttl = self._implicit_ttl()
        if rdtype is None:
            raise _Refused()
        return ttl, rdtype, i + 1

    def _word(self, fields: list[str], i: int) -> tuple[int | None, int | None, int | None]:
        """L{_word} of C{fields[i]}, remembered: a file holds few distinct ones."""
        if i >= len(fields):
            raise _Refused()
        token = fields[i]
        word = self.words.get(token)
        if word is None:
            word = self.words[token] = _word(token)
        return word

    def _explicit_ttl(self, ttl: int) -> None:
        """A TTL a record states: the last one stated from now on."""
        self.last_ttl = ttl
        self.last_ttl_known = True

    def _implicit_ttl(self) -> int | None:
        """
        The TTL of a record without one, as dnspython 2.9 gives it (RFC
        2308 mode): C{$TTL}'s if there was one, else the last TTL stated,
        else the SOA's minimum; C{None} if none of them is known yet.
        """
        if self.last_ttl_known and (not self.default_ttl_known or self.default_ttl_from_soa):
            return self.last_ttl
        if self.default_ttl_known:
            return self.default_ttl
        return None

    def _soa(self, rdata: bytes, ttl: int | None) -> int | None:
        """
        The TTL of an SOA record: without a C{$TTL} before it, its minimum
        is the default from now on (and its own TTL, if it has none and no
        TTL was stated before), as dnspython does it.
        """
        if self.last_key != self.zone_key:
            raise _Refused()  # dnspython refuses an SOA elsewhere
        if not self.default_ttl_known:
            self.default_ttl = int.from_bytes(rdata[-4:], "big")
            self.default_ttl_known = True
            self.default_ttl_from_soa = True
            if ttl is None:
                ttl = self._implicit_ttl()
        return ttl

    def _rdata(self, rdtype: int, tokens: list[str]) -> bytes:
        """
        The wire form of a record's RDATA: an address, or the names of a
        L{_SIMPLE} type, packed here (a few microseconds, where dnspython
        takes some 70); the rest by dnspython, remembered (under this
        origin) for the lines that repeat it.
        """
        family = _FAMILIES.get(rdtype)
        if family is not None and len(tokens) == 1:
            packed = _address(family, tokens[0])
            if packed is not None:
                return packed
        simple = _SIMPLE.get(rdtype)
        if simple is not None:
            packed = simple(tokens, self.origin.labels, self.room)
            if packed is not None:
                return packed
        text = " ".join(tokens)
        wire = self.rdata_memo.get((rdtype, text))
        if wire is None:
            try:
                wire = dns.rdata.from_text(IN, rdtype, text, self.origin, False, self.zone_origin).to_wire()
            except Exception:
                raise _Refused() from None
            if len(self.rdata_memo) >= _MEMO_SIZE:
                self.rdata_memo.clear()
            self.rdata_memo[(rdtype, text)] = wire
        return wire

    def _add(self, record: bytes) -> None:
        """A record of the last owner, kept in the order the file gives them."""
        key = self.last_key
        first = self.owners.get(key)
        if first is None:
            self.owners[key] = record
            if key != self.last_labels:
                self.cased[key] = dns.name.Name(self.last_labels)
        else:
            records = self.shared.get(key)
            if records is None:
                self.shared[key] = [first, record]
            else:
                records.append(record)

    def _finish(self) -> tuple[dict[OwnerKey, bytes], dict[OwnerKey, dns.name.Name], int]:
        """The owners of several records made into RRsets; the owners, cased names and record count."""
        count = len(self.owners)
        owners = self.owners
        for key, records in self.shared.items():
            owners[key], held = _rrsets(records)
            count += held - 1
        return owners, self.cased, count


def _rrsets(records: list[bytes]) -> tuple[bytes, int]:
    """
    The records of one owner, in the order read, as dnspython's zone makes
    them into RRsets: each record once (as dnspython compares them: in
    canonical form), each RRset with the lowest TTL of its records, of an
    SOA, CNAME or other singleton type only the last record, and the
    RRsets in the order they were last added to (dnspython puts an RRset
    back at the end of its node's list each time a record is added).
    This is not L{secdns.wire.compact.normalize}, which keeps a transfer's
    order and gives a singleton the TTL of its last record.

    @return: the compact form, and how many records it holds.
    @raise _Refused: a CNAME beside other data, which dnspython refuses.
    """
    groups: dict[tuple[int, bytes], tuple[int, dict[bytes, bytes]]] = {}
    for record in records:
        rdtype, ttl, _ = RECORD.unpack_from(record)
        rdata = record[8:]
        group = (rdtype, rdata[:2] if rdtype == RRSIG else b"")
        held = groups.pop(group, None)
        if held is None:
            members: dict[bytes, bytes] = {}
        else:
            ttl = min(ttl, held[0])
            members = held[1]
            if rdtype in SINGLETONS:
                members.clear()
        members.setdefault(_identity(rdtype, rdata), rdata)
        groups[group] = (ttl, members)
    _check_cname(groups)
    parts = []
    count = 0
    for (rdtype, _), (ttl, members) in groups.items():
        for rdata in members.values():
            parts.append(RECORD.pack(rdtype, ttl, len(rdata)))
            parts.append(rdata)
        count += len(members)
    return b"".join(parts), count


def _identity(rdtype: int, rdata: bytes) -> bytes:
    """
    What tells two records of a type apart in dnspython's RRsets: their
    canonical form (RFC 4034 section 6.2), which is their wire form with
    the names of some types lowercased, so the same as the wire form if
    that holds no uppercase letter.
    """
    if rdtype in _FAMILIES or not _UPPERCASE.search(rdata):
        return rdata
    return dns.rdata.from_wire(IN, rdtype, rdata, 0, len(rdata)).to_digestable()


def _check_cname(groups: dict[tuple[int, bytes], tuple[int, dict[bytes, bytes]]]) -> None:
    """
    Refuse an owner whose RRsets dnspython would not hold together: a
    CNAME (or its RRSIGs) beside other data than NSEC, NSEC3, KEY and
    their RRSIGs.
    """
    kinds = {
        dns.node.NodeKind.classify(rdtype, int.from_bytes(covers, "big") if covers else dns.rdatatype.NONE)
        for rdtype, covers in groups
    }
    if dns.node.NodeKind.CNAME in kinds and dns.node.NodeKind.REGULAR in kinds:
        raise _Refused()
