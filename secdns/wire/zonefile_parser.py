# -*- test-case-name: tests.unit.test_zonefast -*-
"""
Zone files read without dnspython's zone file parser.

dnspython's parser costs over 100 us a record (a tokenizer that reads one
character at a time, an object per record, a transaction step per
record): a zone file of a million records took minutes to load.  L{read}
reads a zone file's text a line at a time straight into the compact form
(L{secdns.wire.compact}), over twenty times as fast.

It reads only what it can read exactly as dnspython 2.9's
C{dns.zonefile.Reader} does: C{$ORIGIN}, C{$TTL}, C{$GENERATE}, comments,
and records of class IN whose owner is a name (absolute, relative, C{@},
with escapes or not, or left out: the previous owner), with a TTL
(seconds or BIND units) and the class in either order or left out, on one
line or on several in parentheses.  Most lines are plain (no quote, no
backslash): split at whitespace, or joined over their lines first
(L{_joined}).  A line with a quote or a backslash is read token by token
as dnspython's tokenizer reads it (L{_scanned}: quoted strings, escapes
kept as written, comments, parentheses), over lines too.

A and AAAA addresses in their canonical form, the plain names of NS,
CNAME, PTR, DNAME, MX and SRV records (L{_SIMPLE}), as their layouts in
L{secdns.wire.rdtypes} say, and the character-strings of TXT and SPF
records, quoted or not, escapes (C{\\DDD}, C{\\X}) applied
(L{_strings}), are packed here; all other RDATA (CAA, NAPTR, HINFO ...,
and any of these with a quoted or escaped name), and any of these this
module doubts, is dnspython's own (C{dns.rdata.from_text}, of the tokens
joined again).  C{$GENERATE} is read as dnspython's
C{Reader._generate_line} reads it, each name and RDATA made by its own
C{_generate_text} (L{_Reader._generate}).  The TTLs a record without one
gets, and how records make RRsets, are dnspython's rules, restated here
(L{_Reader._implicit_ttl}, L{_rrsets}).

Anything else (nested or unbalanced parentheses, a quote not closed on its
line, a backslash ending a line, a character that is not printable ASCII
outside a comment, a quoted name, C{$INCLUDE} (nothing but the text given
is ever read), C{$UNICODE}, another class, a name outside the zone, a
C{$GENERATE} line with more after its right-hand side, any error) and it
gives up: L{read} returns C{None} and the caller reads the text with
dnspython, so that what a file means, and the message an operator gets
for a bad one, stay dnspython's.
"""

from __future__ import annotations

import re
import socket
from typing import Callable, Iterator

import dns.exception
import dns.grange
import dns.ipv6
import dns.name
import dns.node
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.ttl
from dns.zonefile import _generate_text

from secdns.wire.compact import RECORD, SINGLETONS, OwnerKey, key_of, name_wire
from secdns.wire.rdtypes import LAYOUTS, RdataLayout

__all__ = ["read"]

IN = dns.rdataclass.IN
SOA = dns.rdatatype.SOA
RRSIG = dns.rdatatype.RRSIG
MX = dns.rdatatype.MX

#: A character that sends a line to L{_scanned} (the line is read token by
#: token, as dnspython's tokenizer reads it): one that quotes or escapes,
#: or one that is not printable ASCII nor a tab (which is refused there
#: but in a comment).
_CAREFUL = re.compile(r'[^\t -~]|["\\]')

#: L{_CAREFUL} but for line ends, which no line holds: a text without any
#: of these has no line to be read with care.
_UNSAFE_IN_TEXT = re.compile(r'[^\t\n\r -~]|["\\]')

#: What L{_scanned} refuses outside a comment: not printable ASCII, nor a tab.
_NOT_PRINTABLE = re.compile(r"[^\t -~]")

#: One token of a line as dnspython's tokenizer reads it: whitespace, a
#: quoted string (escapes in it kept as written, a quote escaped in it
#: not ending it), a comment, a parenthesis, or an identifier (escapes kept
#: as written, so an escaped delimiter is part of it).  A quote that is
#: not closed, or a backslash at the end of a line, matches nothing.
_TOKEN = re.compile(r'[ \t]+|"(?:[^"\\]|\\.)*"|;.*|[()]|(?:[^ \t;()"\\]|\\.)+')

#: An escape in a character-string or a name: C{\DDD} (three digits, at
#: most 255), C{\X} (X not a digit), or a bad one (one or two digits).
_ESCAPE = re.compile(r"\\([0-9]{3}|[^0-9]|[0-9]{0,2})")

#: How much of a text one search of L{_UNSAFE_IN_TEXT} covers.  A regular
#: expression holds the interpreter lock until it is done: over a 10 MB
#: zone file at once, that stopped the reactor (every zone's answers) for
#: 140 ms while a reload read the file in a worker.
_SEARCH_CHUNK = 1 << 18


def _has_careful(text: str) -> bool:
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
    An address in its canonical text form, packed; an IPv6 address in
    another form (leading zeros, zeros not shortened, uppercase) packed if
    dnspython's C{dns.ipv6.inet_aton} (what its AAAA record packs) agrees;
    C{None} for any other text (a non-canonical IPv4 address, an IPv6
    address with a dotted quad, an invalid one), which is left to dnspython.
    """
    try:
        packed = socket.inet_pton(family, text)
    except OSError:
        return None
    if family == socket.AF_INET6 and "." in text:
        return None
    if socket.inet_ntop(family, packed) != text:
        if family != socket.AF_INET6:
            return None
        try:
            if dns.ipv6.inet_aton(text) != packed:
                return None
        except Exception:
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
    CNAME, PTR, DNAME: L{_target}), or 16-bit numbers then one name (MX's
    preference, SRV's priority, weight and port: ASCII digits as
    dnspython's C{Tokenizer.as_int} takes them, leading zeros too, up to
    65535).
    """
    (_,) = layout.names
    if layout.after or any(number.size != 2 for number in layout.before):
        raise ValueError(f"not a layout of a name, or of 16-bit numbers then a name: {layout}")

    if not layout.before:

        def one_name(tokens: list[str], origin: tuple[bytes, ...], room: int) -> bytes | None:
            if len(tokens) != 1:
                return None
            return _target(tokens[0], origin, room)

        return one_name

    pack = layout.before_struct.pack
    count = len(layout.before)

    def numbers_and_name(tokens: list[str], origin: tuple[bytes, ...], room: int) -> bytes | None:
        if len(tokens) != count + 1:
            return None
        values = []
        for number in tokens[:count]:
            if not (number.isdigit() and number.isascii()):
                return None
            value = int(number)
            if value > 65535:
                return None
            values.append(value)
        wire = _target(tokens[count], origin, room)
        if wire is None:
            return None
        return pack(*values) + wire

    return numbers_and_name


#: The types whose plain RDATA is packed here rather than by dnspython: a
#: function of the RDATA's tokens, the origin's labels and L{_room}, which
#: gives the wire form or C{None} (then dnspython reads it).
_SIMPLE: dict[int, Callable[[list[str], tuple[bytes, ...], int], bytes | None]] = {
    rdtype: _packer(LAYOUTS[rdtype])
    for rdtype in (
        dns.rdatatype.NS, dns.rdatatype.CNAME, dns.rdatatype.PTR, dns.rdatatype.DNAME, MX, dns.rdatatype.SRV
    )
}


def _unescaped(text: str) -> bytes | None:
    """
    The octets of a character-string's text (quotes taken off), its
    escapes applied as dnspython's C{Token.unescape_to_bytes} applies them:
    C{\\DDD} is the octet DDD (at most 255), C{\\X} is X.  C{None} for a bad
    escape (dnspython's error).  The text is printable ASCII (L{_scanned}),
    so each other character is its own octet.
    """
    bad = False

    def octet(match: re.Match) -> str:
        nonlocal bad
        escaped = match.group(1)
        if len(escaped) == 3:
            value = int(escaped)
            if value <= 255:
                return chr(value)
        elif len(escaped) == 1 and not escaped.isdigit():
            return escaped
        bad = True
        return ""

    unescaped = _ESCAPE.sub(octet, text)
    return None if bad else unescaped.encode("latin-1")


def _strings(tokens: list[str], origin: tuple[bytes, ...], room: int) -> bytes | None:
    """
    The RDATA of a TXT or SPF record: one character-string a token, quoted
    or not, escapes applied (L{_unescaped}), as dnspython's C{TXTBase}
    reads them; C{None} for none, a bad escape or one longer than 255
    octets (dnspython's errors), or RDATA in RFC 3597's generic form
    (C{\\#} first, unquoted), which dnspython reads.
    """
    if not tokens or tokens[0] == "\\#":
        return None
    parts = []
    for token in tokens:
        if token[0] == '"':
            token = token[1:-1]
        if "\\" in token:
            octets = _unescaped(token)
            if octets is None:
                return None
        else:
            octets = token.encode()
        if len(octets) > 255:
            return None
        parts.append(bytes((len(octets),)))
        parts.append(octets)
    return b"".join(parts)


#: The types whose RDATA is character-strings only, packed by L{_strings}.
_STRINGS = frozenset((dns.rdatatype.TXT, dns.rdatatype.SPF))

#: Types whose canonical form is their wire form (no names in them): a
#: record of these is told apart from another by its RDATA (L{_identity}).
_NAMELESS = frozenset((dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.CAA, *_STRINGS))


def _plain(token: str) -> bool:
    """Whether a token is neither quoted nor holds an escape: what the packers here take."""
    return '"' not in token and "\\" not in token


def _scan(line: str, depth: int, tokens: list[str]) -> tuple[int, int]:
    """
    The tokens of one line (L{_TOKEN}) added to C{tokens}, as dnspython's
    tokenizer reads them: quoted strings with their quotes (no identifier
    starts with an unescaped quote, so the quote tells them apart),
    identifiers as written, comments and whitespace left out, parentheses
    counted.  C{depth} is how many parentheses are open before the line.

    @return: how many are open after it, and how many the line holds.
    @raise _Refused: a quote not closed on its line, a backslash at the end
        of a line, a character not printable ASCII outside a comment, or
        parentheses unbalanced or nested (as L{_joined}).
    """
    match = _TOKEN.match
    position, end = 0, len(line)
    parentheses = 0
    while position < end:
        found = match(line, position)
        if found is None:
            raise _Refused()
        token = found.group()
        first = token[0]
        if first == ";":
            end = position
            break
        if first == "(" or first == ")":
            parentheses += 1
            depth += 1 if first == "(" else -1
            if depth not in (0, 1):
                raise _Refused()
        elif first != " " and first != "\t":
            tokens.append(token)
        position = found.end()
    if _NOT_PRINTABLE.search(line, 0, end):
        raise _Refused()
    return depth, parentheses


def _scanned(line: str, lines: Iterator[str], tokens: list[str] | None = None, depth: int = 0) -> list[str]:
    """
    The tokens of a record or directive (L{_scan}) that starts on C{line},
    or goes on over it (C{tokens} so far and C{depth} open), taking from
    C{lines} the lines it goes on over while parentheses are open.  What
    L{_joined} refuses is refused here too.
    """
    if tokens is None:
        tokens = []
        if line[:1] in ("(", ")"):
            raise _Refused()
        depth, parentheses = _scan(line, depth, tokens)
        if parentheses and line[0] == "$":
            raise _Refused()
    else:
        depth, _ = _scan(line, depth, tokens)
    while depth:
        line = next(lines, None)
        if line is None:
            raise _Refused()  # dnspython: unbalanced parentheses
        depth, _ = _scan(line, depth, tokens)
    return tokens


def _joined(code: str, lines: Iterator[str], careful: Callable | None) -> list[str]:
    """
    The fields of a record with parentheses (C{code}, its first line,
    comment cut off), taking from C{lines} the lines it goes on over; from
    a line that must be read with care (L{_CAREFUL}) on, by L{_scanned}.

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
            return " ".join(parts).translate(_UNPARENTHESISE).split()
        line = next(lines, None)
        if line is None:
            raise _Refused()  # dnspython: unbalanced parentheses
        if careful is not None and careful(line):
            return _scanned(line, lines, " ".join(parts).translate(_UNPARENTHESISE).split(), depth)
        code = line.partition(";")[0]


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
        (L{_joined}).  A line with a quote, a backslash or a character not
        printable ASCII (L{_CAREFUL}) is read token by token instead
        (L{_scanned}).  Lines are searched for those characters, and for
        parentheses, only if the text holds any.
        """
        careful = _CAREFUL.search if _has_careful(text) else None
        parenthesised = "(" in text or ")" in text
        lines = _lines(text)
        for line in lines:
            if careful is not None and careful(line):
                fields = _scanned(line, lines)
                plain = False
            else:
                code = line.partition(";")[0]
                if parenthesised and ("(" in code or ")" in code):
                    fields = _joined(code, lines, careful)
                    plain = careful is None  # else a line it took may have been careful
                else:
                    fields = code.split()
                    plain = True
            if not fields:
                continue
            first = line[0]
            if first == " " or first == "\t":
                self._record(fields, 0, plain)
            elif first == "$":
                self._directive(fields)
            else:
                self._owner(fields[0])
                self._record(fields, 1, plain)
        return self._finish()

    def _directive(self, fields: list[str]) -> None:
        """C{$TTL}, C{$ORIGIN} and C{$GENERATE}; any other directive is dnspython's."""
        directive = fields[0].upper()
        if directive == "$GENERATE":
            self._generate(fields)
            return
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
            self._set_origin(dns.name.Name(self._labels(fields[1])))
        else:
            raise _Refused()

    def _generate(self, fields: list[str]) -> None:
        """
        C{$GENERATE range lhs [ttl] [class] type rhs}, as dnspython's
        C{Reader._generate_line} reads it: the range with
        C{dns.grange.from_text}, the TTL (the last one stated from now on)
        or the implicit one (not the SOA's: no SOA is generated here), the
        class IN or none; each name and RDATA text made by dnspython's own
        C{_generate_text}, the name the last owner from now on.  The line
        must end after the rhs (but for a comment), as BIND has it: what
        dnspython makes of more is left to it.
        """
        if len(fields) < 5 or any(field[0] == '"' for field in fields):
            raise _Refused()
        try:
            start, stop, step = dns.grange.from_text(fields[1])
        except Exception:
            raise _Refused() from None
        lhs = fields[2]
        i = 3
        ttl = self._word(fields, i)[0]
        if ttl is not None:
            self._explicit_ttl(ttl)
            i += 1
        else:
            ttl = self._implicit_ttl()
            if ttl is None:
                raise _Refused()
        rdclass = self._word(fields, i)[1]
        if rdclass is not None:
            if rdclass != IN:
                raise _Refused()
            i += 1
        rdtype = self._word(fields, i)[2]
        if rdtype is None or rdtype == SOA or len(fields) != i + 2:
            raise _Refused()
        rhs = fields[i + 1]
        generate = _generate_text
        for counter in range(start, stop + 1, step):
            try:
                owner = generate(lhs, counter)
                text = generate(rhs, counter)
            except Exception:
                raise _Refused() from None
            self._owner(owner)
            rdata = self._rdata(rdtype, [text], _plain(text))
            self._add(RECORD.pack(rdtype, ttl, len(rdata)) + rdata)

    def _set_origin(self, origin: dns.name.Name) -> None:
        """The origin relative names end in from now on."""
        self.rdata_memo: dict[tuple[int, str], bytes] = {}
        self.origin = origin
        self.origin_key = key_of(origin)
        self.origin_cased = self.origin_key != origin.labels
        self.room = _room(origin.labels)

    def _labels(self, text: str) -> tuple[bytes, ...]:
        """
        The labels of a name's token under the current origin: L{_labels}
        for a plain one; one with escapes as dnspython's
        C{Tokenizer.as_name} reads it (C{dns.name.from_text}); a quoted
        string is not a name to dnspython.
        """
        if _plain(text):
            return _labels(text, self.origin.labels, self.room)
        if text[0] == '"':
            raise _Refused()
        try:
            return dns.name.from_text(text, self.origin).labels
        except Exception:
            raise _Refused() from None

    def _owner(self, text: str) -> None:
        """A record's owner, named: the last owner from now on."""
        if not _plain(text):
            labels = self._labels(text)
            key = tuple([label.lower() for label in labels])
        else:
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

    def _record(self, fields: list[str], start: int, plain: bool) -> None:
        """
        A record of the last owner: C{fields[start:]} are its TTL, class,
        type and RDATA; C{plain} if none of them is quoted or holds an
        escape (else the RDATA is looked at: L{_rdata}).
        """
        ttl, rdtype, start = self._header(fields, start)
        tokens = fields[start:]
        rdata = self._rdata(rdtype, tokens, plain or all(map(_plain, tokens)))
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

    def _rdata(self, rdtype: int, tokens: list[str], plain: bool) -> bytes:
        """
        The wire form of a record's RDATA: an address, the names of a
        L{_SIMPLE} type (when C{plain}: no token quoted nor escaped), or
        the character-strings of a TXT or SPF record (L{_strings}), packed
        here (a few microseconds, where dnspython takes some 70); the rest
        by dnspython (the tokens, quoted strings with their quotes, joined
        again: text its tokenizer reads into the same tokens), remembered
        (under this origin) for the lines that repeat it.
        """
        if rdtype in _STRINGS:
            packed = _strings(tokens, self.origin.labels, self.room)
            if packed is not None:
                return packed
        elif plain:
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
    if rdtype in _NAMELESS or not _UPPERCASE.search(rdata):
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
