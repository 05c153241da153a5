# -*- test-case-name: tests.unit.test_zonefile -*-
"""
Primary zones from RFC 1035 zone files.

L{secdns.wire.zonefile_parser} reads most files alone ($ORIGIN, $TTL,
$GENERATE, quoted strings and escapes), over twenty times as fast as
dnspython and with the same outcome; dnspython reads the rest ($INCLUDE,
and anything the fast reader doubts).  What is ours:

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
  - What may be read is bounded: regular files only (a FIFO would block a
    worker for ever), at most C{max_bytes} octets in all, and C{$INCLUDE}
    only of files in the zone file's directory tree or the zone's
    C{include_dirs} (secdns may start as root: a zone file must not be a
    way to read any file on the host).  An error never quotes more than
    the first few octets of what failed to parse (L{redact}).
"""

from __future__ import annotations

import hashlib
import os
import stat

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

__all__ = ["FileStamp", "ZoneFile", "load_zone_file", "read_zone_file", "redact", "MAX_INCLUDE_DEPTH", "MAX_FILE_BYTES"]

#: How deep $INCLUDE may nest (BIND allows about as much); deeper is a loop.
MAX_INCLUDE_DEPTH = 16

#: Octets a zone file with what it includes may hold, unless the config says
#: otherwise (C{[transfer] max_file_bytes}).
MAX_FILE_BYTES = 2**30

#: Octets of a token that failed to parse quoted in an error.
QUOTED = 8


def _digest(path: str) -> str | None:
    """The SHA-256 of a regular file's bytes; L{None} for one that cannot be read or is not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
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


def read_zone_file(origin: dns.name.Name, path: str, **limits) -> ZoneData:
    """The version a zone file holds; see L{load_zone_file}."""
    return load_zone_file(origin, path, **limits).data


@attrs.frozen
class _Bounds:
    """What a zone's files may be: where (C{roots}, real paths) and how big in all."""

    roots: tuple[str, ...]
    max_bytes: int

    def check_include(self, value: str, path: str) -> None:
        """@raise _Refused: C{path} (from C{$INCLUDE value}) is outside every root."""
        real = os.path.realpath(path)
        if not any(os.path.commonpath((real, root)) == root for root in self.roots):
            raise _Refused(
                f"$INCLUDE {value}: {path} is outside {self.roots[0]}; "
                "list its directory in the zone's include_dirs to allow it"
            )


class _Refused(Exception):
    """A file the zone may not read, or one too big; the message says which and why."""


def load_zone_file(
    origin: dns.name.Name, path: str, max_bytes: int = MAX_FILE_BYTES, include_dirs: tuple[str, ...] = ()
) -> ZoneFile:
    """
    Read and check a zone file and the files it includes.

    @param max_bytes: octets the zone file and what it includes may hold in all.
    @param include_dirs: directories besides the zone file's own whose
        files C{$INCLUDE} may read.
    @raise ZoneLoadError: a file cannot be read, is not a regular file, is
        too big or out of bounds, does not parse, or holds an invalid zone;
        the message names the file (and line) and the problem.
    """
    label = origin.to_text(omit_final_dot=True) or "."
    path = os.path.abspath(path)
    roots = (os.path.realpath(os.path.dirname(path)), *(os.path.realpath(d) for d in include_dirs))
    bounds = _Bounds(roots, max_bytes)
    try:
        raw = _read_regular(path, max_bytes)
    except _Refused as e:
        raise ZoneLoadError(label, path, str(e)) from None
    except OSError as e:
        raise ZoneLoadError(label, path, f"cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ZoneLoadError(label, path, f"not UTF-8 text (byte {e.start})") from None

    files = [(path, hashlib.sha256(raw).hexdigest())]
    return ZoneFile(_version(label, origin, path, text, files, bounds), FileStamp(tuple(files)))


def _read_regular(path: str, max_bytes: int) -> bytes:
    """
    A regular file's bytes, read without blocking on a FIFO or device.

    @raise _Refused: not a regular file, or more than C{max_bytes} octets
        (checked as it is read too: a file may grow meanwhile).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        _check_regular(os.fstat(fd), max_bytes, max_bytes)
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise _Refused(_too_big(max_bytes))
    return raw


def _check_regular(status: os.stat_result, room: int, max_bytes: int) -> None:
    """@raise _Refused: not a regular file, or more than the C{room} left of C{max_bytes}."""
    if not stat.S_ISREG(status.st_mode):
        raise _Refused("is not a regular file (a FIFO, socket or device is never read)")
    if status.st_size > room:
        raise _Refused(_too_big(max_bytes))


def _too_big(max_bytes: int) -> str:
    return f"more than {max_bytes:,} octets with what it includes (transfer.max_file_bytes)"


def _version(label: str, origin: dns.name.Name, path: str, text: str, files: list, bounds: _Bounds) -> ZoneData:
    """
    The version a zone file's text holds, checked: read by L{zonefast} if
    it can, else by dnspython (which adds the files it includes to C{files}).
    """
    fast = zonefast.read(origin, text)
    zone = None if fast is not None else _parse(label, origin, path, text, files, bounds)
    try:
        return from_owners(origin, *fast) if zone is None else from_zone(zone)
    except ZoneLoadError as e:
        raise ZoneLoadError(label, path, e.problem) from None


def _parse(label: str, origin: dns.name.Name, path: str, text: str, files: list, bounds: _Bounds) -> dns.zone.Zone:
    """A zone file's text read by dnspython, its errors told with the file and line, redacted."""
    zone = dns.zone.Zone(origin, dns.rdataclass.IN, relativize=False)
    reader = None
    try:
        with zone.writer(True) as txn:
            reader = _Reader(
                dns.tokenizer.Tokenizer(text, path), dns.rdataclass.IN, txn, files, bounds, len(text.encode())
            )
            reader.read()
    except _IncludeTooDeep:
        raise ZoneLoadError(
            label,
            reader.include_where,
            f"$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep (does a file include itself?)",
        ) from None
    except _Refused as e:
        raise ZoneLoadError(label, reader.include_where, str(e)) from None
    except dns.exception.SyntaxError as e:
        where, problem = _located(str(e), reader)
        raise ZoneLoadError(label, where, _redacted(problem, reader)) from None
    except dns.exception.DNSException as e:
        raise ZoneLoadError(label, _where(reader, path), _redacted(str(e) or type(e).__name__, reader)) from None
    except OSError as e:  # an included file that cannot be read
        where = reader.include_where if reader is not None else path
        raise ZoneLoadError(label, where, f"cannot read {e.filename}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ZoneLoadError(label, _where(reader, path), f"not UTF-8 text (byte {e.start})") from None
    except (KeyError, ValueError) as e:
        # dnspython refuses a name outside the zone with a KeyError.
        problem = e.args[0] if e.args and isinstance(e.args[0], str) else str(e)
        raise ZoneLoadError(label, _where(reader, path), _redacted(problem, reader)) from None
    return zone


def redact(problem: str, lines: list[str]) -> str:
    """
    C{problem} with each word of C{lines} (where the parse failed) longer
    than L{QUOTED} octets cut to its first few: an error must not be a way
    to read a file (say an C{$INCLUDE}d one) a line at a time.
    """
    for word in sorted({w for line in lines for w in line.split()}, key=len, reverse=True):
        if len(word) > QUOTED and word in problem:
            problem = problem.replace(word, word[:QUOTED] + "...")
    return problem


def _redacted(problem: str, reader: "_Reader | None") -> str:
    """L{redact} with the lines around where C{reader} stopped (dnspython counts the newline it read)."""
    if reader is None:
        return problem
    filename, number = reader.tok.where()
    lines: list[str] = []
    try:
        with open(filename, "rb") as f:
            for i, raw in enumerate(f, 1):
                if i >= number - 1:
                    lines.append(raw[:4096].decode("utf-8", "replace"))
                if i >= number:
                    break
    except OSError:
        return problem
    return redact(problem, lines)


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
        """The path C{$INCLUDE value} names, once it is known to be one the zone may read."""
        base = os.path.dirname(os.path.abspath(self.filename))
        path = os.path.normpath(os.path.join(base, os.path.expanduser(value)))
        reader = self._reader
        reader.bounds.check_include(value, path)
        try:
            status = os.stat(path)
        except OSError:
            status = None  # dnspython's open says why, with the file's name
        if status is not None:
            _check_regular(status, reader.bounds.max_bytes - reader.read_bytes, reader.bounds.max_bytes)
            reader.read_bytes += status.st_size
        reader.files.append((path, _digest(path)))
        return path


class _Reader(dns.zonefile.Reader):
    """
    dnspython's zone file reader with $INCLUDE allowed, resolved and
    bounded by L{_IncludeTokenizer}.

    @ivar read_bytes: octets of the zone file and the files included so far.
    """

    def __init__(self, tok, rdclass, txn, files: list, bounds: _Bounds, read_bytes: int) -> None:
        self.files = files
        self.bounds = bounds
        self.read_bytes = read_bytes
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
