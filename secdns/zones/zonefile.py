# -*- test-case-name: tests.unit.test_zonefile -*-
"""
Primary zones from RFC 1035 zone files.

dnspython parses the file ($ORIGIN, $TTL, $INCLUDE, $GENERATE), unless it
is simple enough for L{secdns.wire.zonefile_parser} to read alone, over twenty times as
fast, with the same outcome.  Two things are ours:

  - A relative C{$INCLUDE} path is taken relative to the directory of the
    file that holds the directive, as an operator expects (and as Knot
    does), not to the process's working directory, which is where
    dnspython would open it.  L{_Reader} rewrites the path token as the
    reader takes it, so this also holds inside included files, and for
    quoted paths.
  - L{FileStamp} records every file a zone was read from (the zone file and
    what it includes) with a digest of its contents, so that a reload reads
    again only a zone whose files changed, and sees an edit however quickly
    it follows the last read (an mtime can miss that).
"""

from __future__ import annotations

import hashlib
import os

import attrs
import dns.exception
import dns.name
import dns.rdataclass
import dns.tokenizer
import dns.zone
import dns.zonefile

from secdns.wire import zonefile_parser as zonefast
from secdns.errors import ZoneLoadError
from secdns.zones.version import ZoneData, from_owners, from_zone

__all__ = ["FileStamp", "ZoneFile", "load_zone_file", "read_zone_file", "MAX_INCLUDE_DEPTH"]

#: How deep $INCLUDE may nest (BIND allows about as much); deeper is a loop.
MAX_INCLUDE_DEPTH = 16


def _digest(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


@attrs.frozen
class FileStamp:
    """
    The files a zone was read from, each with a digest of what was read.

    @ivar files: C{(absolute path, SHA-256 hex digest)} pairs, the zone file
        first, then each included file in the order it was read.
    """

    files: tuple[tuple[str, str | None], ...]

    @property
    def path(self) -> str:
        """The zone file itself."""
        return self.files[0][0]

    def changed(self) -> bool:
        """Whether any of the files now holds something else (or is gone)."""
        return any(_digest(path) != digest for path, digest in self.files)


@attrs.frozen
class ZoneFile:
    """A zone file as read: the version it holds and the stamp of its files."""

    data: ZoneData
    stamp: FileStamp


def read_zone_file(origin: dns.name.Name, path: str) -> ZoneData:
    """The version a zone file holds; see L{load_zone_file}."""
    return load_zone_file(origin, path).data


def load_zone_file(origin: dns.name.Name, path: str) -> ZoneFile:
    """
    Read and check a zone file and the files it includes.

    @raise ZoneLoadError: a file cannot be read, does not parse, or holds an
        invalid zone; the message names the file (and line) and the problem.
    """
    label = origin.to_text(omit_final_dot=True) or "."
    path = os.path.abspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ZoneLoadError(label, path, f"cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ZoneLoadError(label, path, f"not UTF-8 text (byte {e.start})") from None

    files = [(path, hashlib.sha256(raw).hexdigest())]
    return ZoneFile(_version(label, origin, path, text, files), FileStamp(tuple(files)))


def _version(label: str, origin: dns.name.Name, path: str, text: str, files: list) -> ZoneData:
    """
    The version a zone file's text holds, checked: read by L{zonefast} if
    it can, else by dnspython (which adds the files it includes to C{files}).
    """
    fast = zonefast.read(origin, text)
    zone = None if fast is not None else _parse(label, origin, path, text, files)
    try:
        return from_owners(origin, *fast) if zone is None else from_zone(zone)
    except ZoneLoadError as e:
        raise ZoneLoadError(label, path, e.problem) from None


def _parse(label: str, origin: dns.name.Name, path: str, text: str, files: list) -> dns.zone.Zone:
    """A zone file's text read by dnspython, its errors told with the file and line."""
    zone = dns.zone.Zone(origin, dns.rdataclass.IN, relativize=False)
    reader = None
    try:
        with zone.writer(True) as txn:
            reader = _Reader(
                dns.tokenizer.Tokenizer(text, path), dns.rdataclass.IN, txn, files
            )
            reader.read()
    except _IncludeTooDeep:
        raise ZoneLoadError(
            label,
            reader.include_where,
            f"$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep (does a file include itself?)",
        ) from None
    except dns.exception.SyntaxError as e:
        where, problem = _located(str(e), reader)
        raise ZoneLoadError(label, where, problem) from None
    except dns.exception.DNSException as e:
        raise ZoneLoadError(label, _where(reader, path), str(e) or type(e).__name__) from None
    except OSError as e:  # an included file that cannot be read
        where = reader.include_where if reader is not None else path
        raise ZoneLoadError(label, where, f"cannot read {e.filename}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ZoneLoadError(label, _where(reader, path), f"not UTF-8 text (byte {e.start})") from None
    except (KeyError, ValueError) as e:
        # dnspython refuses a name outside the zone with a KeyError.
        problem = e.args[0] if e.args and isinstance(e.args[0], str) else str(e)
        raise ZoneLoadError(label, _where(reader, path), problem) from None
    return zone


def _where(reader: "_Reader | None", default: str) -> str:
    """The file and line the reader was at, or C{default}."""
    if reader is None:
        return default
    filename, line = reader.tok.where()
    return f"{filename}:{line}"


def _located(message: str, reader: "_Reader | None") -> tuple[str, str]:
    """dnspython's C{"file:line: problem"} split into where and what."""
    if reader is not None:
        where = _where(reader, "")
        if message.startswith(where + ": "):
            return where, message[len(where) + 2 :]
    return _where(reader, "?"), message


class _IncludeTooDeep(Exception):
    """$INCLUDE nested past L{MAX_INCLUDE_DEPTH}."""


class _IncludeTokenizer(dns.tokenizer.Tokenizer):
    """
    A dnspython tokenizer that makes the path after C{$INCLUDE} absolute,
    relative to the directory of the file being read, and records it.

    dnspython's reader takes a directive with C{get(True, True)} (the only
    call with C{want_comment}) and the path with the next C{get()}.
    """

    _reader: "_Reader"
    _include_next: bool = False

    def get(self, want_leading: bool = False, want_comment: bool = False) -> dns.tokenizer.Token:
        token = super().get(want_leading, want_comment)
        if self._include_next:
            self._include_next = False
            if token.is_identifier() or token.is_quoted_string():
                token = dns.tokenizer.Token(token.ttype, self._resolve(token.value))
        elif want_comment and token.is_identifier() and token.value.upper() == "$INCLUDE":
            self._include_next = True
            self._reader.include_where = f"{self.filename}:{self.line_number}"
        return token

    def _resolve(self, value: str) -> str:
        base = os.path.dirname(os.path.abspath(self.filename))
        path = os.path.normpath(os.path.join(base, os.path.expanduser(value)))
        self._reader.files.append((path, _digest(path)))
        return path


class _Reader(dns.zonefile.Reader):
    """dnspython's zone file reader with $INCLUDE allowed and resolved by L{_IncludeTokenizer}."""

    def __init__(self, tok, rdclass, txn, files: list) -> None:
        self.files = files
        self.include_where = ""  # file:line of the last $INCLUDE, for errors
        super().__init__(tok, rdclass, txn, allow_include=True)

    @property
    def tok(self) -> dns.tokenizer.Tokenizer:
        return self._tok

    @tok.setter
    def tok(self, value: dns.tokenizer.Tokenizer) -> None:
        # dnspython makes a plain Tokenizer for each included file (and rdata
        # parsers insist on a Tokenizer instance), so each one it assigns is
        # turned into ours in place: same object, same state, our get().
        if not isinstance(value, _IncludeTokenizer):
            if len(getattr(self, "saved_state", ())) > MAX_INCLUDE_DEPTH:
                self.current_file.close()
                raise _IncludeTooDeep()
            value.__class__ = _IncludeTokenizer
            value._reader = self
        self._tok = value
