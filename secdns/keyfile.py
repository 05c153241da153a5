# -*- test-case-name: tests.unit.test_keyfile -*-
"""
TSIG secrets read from files, as the tools that make them write them.

One parser for both readers of key files: the config's C{[[tsig_key]]
secret_file} (L{secdns.config}) and the C{secdns} command's
C{--secret-file} (L{secdns.cli.commands}).  It imports only the standard
library, since the command imports nothing of the server.

L{parse} is pure (text in, L{KeyEntry} values out); L{choose} picks the one
key a command or a config entry means, and L{read} does both for a path (or
C{-}: standard input).  Understood, in one file or several concatenated:

  - a bare base64 line (what C{base64 /dev/urandom | head -c 44} writes);
  - BIND's C{key "name" { algorithm hmac-sha256; secret "..."; };}, as
    C{tsig-keygen} writes it (comments C{#}, C{//} and C{/* */} allowed);
  - Knot's YAML, as C{keymgr -t name} writes it
    (C{key: - id: name  algorithm: ...  secret: ...});
  - NSD's C{key:} clauses (C{name: "name"  algorithm: ...  secret: "..."});
  - C{[algorithm:]name:secret} lines, the C{-y} form of C{dig} and
    C{nsupdate} (C{keymgr -t} prints one as a comment above its YAML).

No error message ever contains a secret: they name the file, the line and
the key.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from dataclasses import dataclass
from typing import Callable

__all__ = ["KeyEntry", "KeyFileError", "ALGORITHMS", "DEFAULT_ALGORITHM", "parse", "choose", "read", "check_secret", "normalise_algorithm"]

#: The algorithms the appliance knows (its config's names).
ALGORITHMS = ("hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512")
DEFAULT_ALGORITHM = "hmac-sha256"


class KeyFileError(ValueError):
    """A key file that cannot be read as one key; the message says why, never the secret."""


@dataclass(frozen=True)
class KeyEntry:
    """
    One key found in a file.

    @ivar name: the key's name, when the file gives one (without a final dot).
    @ivar algorithm: its algorithm in the appliance's spelling, when given.
    @ivar secret: base64, as found (whitespace removed).
    @ivar line: the line of the file where the key starts.
    """

    name: str | None
    algorithm: str | None
    secret: str
    line: int

    def __repr__(self) -> str:  # never the secret
        return f"KeyEntry(name={self.name!r}, algorithm={self.algorithm!r}, line={self.line})"


def normalise_algorithm(text: str) -> str:
    """
    C{HMAC-SHA256}, C{hmac-sha256.} and BIND's C{hmac-md5.sig-alg.reg.int}
    as the appliance spells them: C{hmac-sha256}, C{hmac-md5}.
    """
    name = text.strip().strip('"').lower().rstrip(".")
    if name == "hmac-md5.sig-alg.reg.int":
        name = "hmac-md5"
    return name


def check_secret(secret: str, where: str) -> str:
    """C{secret} without whitespace. @raise KeyFileError: empty, or not base64 (the message names C{where}, not the secret)."""
    secret = "".join(secret.split())
    if not secret:
        raise KeyFileError(f"{where}: the secret is empty")
    try:
        decoded = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{where}: the secret is not valid base64") from None
    if not decoded:
        raise KeyFileError(f"{where}: the secret is empty")
    return secret


def _strip_comments(text: str) -> str:
    """BIND's comments blanked out, line numbers kept; quoted strings left alone."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end + 1
            out.append(text[i:end])
            i = end
        elif c == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


_BIND_KEY = re.compile(r'\bkey\s+("([^"]*)"|([^\s{;"]+))\s*\{(.*?)\}\s*;', re.S)
_BIND_CLAUSE = re.compile(r'^\s*(\w+)\s+("([^"]*)"|([^\s;"]+))\s*$', re.S)


def _parse_bind(text: str, where: str) -> list[KeyEntry]:
    clean = _strip_comments(text)
    keys = []
    for match in _BIND_KEY.finditer(clean):
        line = clean.count("\n", 0, match.start()) + 1
        name = (match.group(2) if match.group(2) is not None else match.group(3)).rstrip(".")
        here = f'{where}: line {line}: key "{name}"'
        fields: dict[str, str] = {}
        for clause in match.group(4).split(";"):
            if not clause.strip():
                continue
            parts = _BIND_CLAUSE.match(clause)
            if parts is None:
                raise KeyFileError(f"{here}: cannot read a clause (expected 'algorithm NAME;' and 'secret \"BASE64\";')")
            word = parts.group(1).lower()
            fields[word] = parts.group(3) if parts.group(3) is not None else parts.group(4)
        unknown = sorted(set(fields) - {"algorithm", "secret"})
        if unknown:
            raise KeyFileError(f"{here}: unknown clause {unknown[0]!r}")
        if "secret" not in fields:
            raise KeyFileError(f"{here}: no secret")
        if "algorithm" not in fields:
            raise KeyFileError(f"{here}: no algorithm")
        keys.append(KeyEntry(name, normalise_algorithm(fields["algorithm"]), check_secret(fields["secret"], here), line))
    if not keys:
        raise KeyFileError(f"{where}: no complete 'key \"name\" {{ algorithm ...; secret \"...\"; }};' statement")
    position = 0
    for match in [*_BIND_KEY.finditer(clean), None]:
        gap = clean[position : match.start() if match else len(clean)]
        if gap.strip():
            line = clean.count("\n", 0, position + len(gap) - len(gap.lstrip())) + 1
            raise KeyFileError(f"{where}: line {line}: text outside the key statements")
        position = match.end() if match else position
    return keys


_KNOT_ITEM = re.compile(r"^(\s*)(-\s+)?([A-Za-z-]+)\s*:\s*(.*?)\s*$")


def _unquote_yaml(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _parse_knot(lines: list[str], where: str) -> list[KeyEntry]:
    """
    The C{key:} sections of a Knot config (a list of maps with C{id},
    C{algorithm}, C{secret}) or of an NSD config (one map a section, with
    C{name} for C{id}).
    """
    keys: list[KeyEntry] = []
    current: dict[str, str] | None = None
    start = 0
    in_key = False

    def finish() -> None:
        if current is None:
            return
        name = current.get("id", "").rstrip(".") or None
        here = f"{where}: line {start}" + (f': key "{name}"' if name else "")
        if name is None:
            raise KeyFileError(f"{here}: a key without 'id' (Knot) or 'name' (NSD)")
        if "secret" not in current:
            raise KeyFileError(f"{here}: no secret")
        algorithm = normalise_algorithm(current["algorithm"]) if "algorithm" in current else None
        keys.append(KeyEntry(name, algorithm, check_secret(current["secret"], here), start))

    for number, raw in enumerate(lines, 1):
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        if not line[0].isspace():  # a top-level section
            finish()
            current = None
            in_key = line.strip() == "key:"
            if not in_key:
                raise KeyFileError(f"{where}: line {number}: only 'key:' sections are understood, not {line.strip()!r}")
            continue
        if not in_key:
            continue
        match = _KNOT_ITEM.match(line)
        if match is None:
            raise KeyFileError(f"{where}: line {number}: cannot read this line of a 'key:' section")
        _indent, dash, field, value = match.groups()
        if dash or current is None:  # Knot: "- id: ..." starts each key; NSD: one key a section
            finish()
            current, start = {}, number
        field = field.lower()
        if field not in ("id", "name", "algorithm", "secret"):
            raise KeyFileError(f"{where}: line {number}: unknown key field {field!r}")
        field = "id" if field == "name" else field
        if field in current:
            raise KeyFileError(f"{where}: line {number}: the key's {field if field != 'id' else 'name'} is given twice")
        current[field] = _unquote_yaml(value)
    finish()
    if not keys:
        raise KeyFileError(f"{where}: a 'key:' section with no key")
    return keys


_Y_LINE = re.compile(r"^(?:([A-Za-z0-9.-]+):)?([^:\s]+):(\S+)$")


def _parse_y_line(line: str, number: int, where: str) -> KeyEntry | None:
    match = _Y_LINE.match(line)
    if match is None:
        return None
    algorithm, name, secret = match.groups()
    here = f"{where}: line {number}"
    return KeyEntry(
        name.rstrip("."),
        normalise_algorithm(algorithm) if algorithm else None,
        check_secret(secret, f'{here}: key "{name}"'),
        number,
    )


def parse(text: str, where: str = "key file") -> list[KeyEntry]:
    """
    Every key in C{text}, in order.

    @param where: how messages name the file.
    @raise KeyFileError: nothing that reads as a key, or a key that is
        incomplete or whose secret is not base64.
    """
    lines = text.splitlines()
    if re.search(r"(^|[\s;{}])key\s+(\"[^\"]*\"|[^\s{;:\"]+)\s*\{", _strip_comments(text)):
        return _parse_bind(text, where)
    if any(line.rstrip() == "key:" for line in lines):
        return _parse_knot(lines, where)
    keys = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry = _parse_y_line(line, number, where)
        if entry is None:
            entry = KeyEntry(None, None, check_secret(line, f"{where}: line {number}"), number)
        keys.append(entry)
    if not keys:
        raise KeyFileError(f"{where}: no key in the file")
    if len(keys) > 1 and any(key.name is None for key in keys):
        raise KeyFileError(
            f"{where}: more than one line; expected one base64 secret, a BIND 'key' statement or Knot's 'key:' section"
        )
    return keys


def choose(keys: list[KeyEntry], name: str | None, algorithm: str | None, where: str = "key file") -> KeyEntry:
    """
    The one key that C{--name} and C{--algorithm} mean, with its name and
    algorithm filled in from the command line or the defaults.

    A file of several keys needs C{name}; a key named in the file must
    match C{name} when both are given (the name is part of the signature),
    and so must the algorithm.

    @raise KeyFileError: no key or several keys fit, or they disagree.
    """
    wanted = name.rstrip(".") if name else None
    candidates = keys
    if len(keys) > 1:
        names = ", ".join(f'"{key.name}"' for key in keys)
        if wanted is None:
            raise KeyFileError(f"{where}: {len(keys)} keys ({names}): say which with --name")
        candidates = [key for key in keys if key.name is not None and key.name.lower() == wanted.lower()]
        if not candidates:
            raise KeyFileError(f'{where}: no key "{wanted}" (the file has {names})')
        if len(candidates) > 1:
            raise KeyFileError(f'{where}: key "{wanted}" appears {len(candidates)} times')
    key = candidates[0]
    at = f"{where}: line {key.line}" if key.line else where
    if wanted is not None and key.name is not None and key.name.lower() != wanted.lower():
        raise KeyFileError(f'{at}: the file\'s key is "{key.name}", not "{wanted}" (TSIG key names must match the peer\'s)')
    final_name = key.name if key.name is not None else wanted
    if final_name is None:
        raise KeyFileError(f"{where}: the file names no key: give --name")
    given = normalise_algorithm(algorithm) if algorithm else None
    if given is not None and key.algorithm is not None and given != key.algorithm:
        raise KeyFileError(f'{at}: key "{final_name}" is {key.algorithm}, not {given}')
    final_algorithm = key.algorithm or given or DEFAULT_ALGORITHM
    if final_algorithm not in ALGORITHMS:
        raise KeyFileError(f'{at}: key "{final_name}": unknown algorithm {final_algorithm} (use one of {", ".join(ALGORITHMS)})')
    return KeyEntry(final_name, final_algorithm, key.secret, key.line)


def read(
    path: str,
    name: str | None = None,
    algorithm: str | None = None,
    opener: Callable[[str], str] | None = None,
    stdin=None,
) -> KeyEntry:
    """
    The key C{path} holds (C{-}: standard input), chosen by L{choose}.

    @raise KeyFileError: the file cannot be read, or holds no key that fits.
    """
    if path == "-":
        where = "standard input"
        text = (stdin or sys.stdin).read()
    else:
        where = path
        try:
            text = opener(path) if opener is not None else _read_text(path)
        except OSError as e:
            raise KeyFileError(f"{path}: {e.strerror or e}") from None
        except UnicodeDecodeError:
            raise KeyFileError(f"{path}: not a text file") from None
    return choose(parse(text, where), name, algorithm, where)


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read(1 << 20)
