# -*- test-case-name: tests.unit.test_zonefile -*-
"""
Primary zones from RFC 1035 zone files.

dnspython parses the file ($ORIGIN, $TTL, $INCLUDE, $GENERATE).  Its
$INCLUDE opens paths relative to the process's working directory; an
operator expects them relative to the zone file, so relative $INCLUDE paths
are made absolute before the text is parsed.
"""

from __future__ import annotations

import os
import re

import attrs
import dns.exception
import dns.name
import dns.zone

from secdns.errors import ZoneLoadError
from secdns.zonedata import ZoneData, from_zone

__all__ = ["FileStamp", "stamp", "read_zone_file"]

_INCLUDE = re.compile(r'^(\$INCLUDE[ \t]+)("?)([^"\s;]+)\2', re.IGNORECASE | re.MULTILINE)


@attrs.frozen
class FileStamp:
    """What tells whether a file changed since it was read (as BIND checks mtime)."""

    mtime_ns: int
    size: int
    inode: int


def stamp(path: str) -> FileStamp | None:
    """The file's stamp, or L{None} if it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return FileStamp(st.st_mtime_ns, st.st_size, st.st_ino)


def read_zone_file(origin: dns.name.Name, path: str) -> ZoneData:
    """
    Read and check a zone file.

    @raise ZoneLoadError: the file cannot be read, does not parse, or holds
        an invalid zone; the message names the file and the problem.
    """
    label = origin.to_text(omit_final_dot=True) or "."
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ZoneLoadError(label, path, f"cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ZoneLoadError(label, path, f"not UTF-8 text: {e}") from None
    text = _absolute_includes(text, os.path.dirname(os.path.abspath(path)))
    try:
        zone = dns.zone.from_text(
            text, origin=origin, relativize=False, filename=path, check_origin=False
        )
    except dns.exception.DNSException as e:
        raise ZoneLoadError(label, path, str(e) or type(e).__name__) from None
    except (OSError, ValueError) as e:
        raise ZoneLoadError(label, path, str(e)) from None
    try:
        return from_zone(zone)
    except ZoneLoadError as e:
        raise ZoneLoadError(label, path, e.problem) from None


def _absolute_includes(text: str, base_dir: str) -> str:
    def absolute(match: re.Match) -> str:
        directive, quote, path = match.groups()
        return f"{directive}{quote}{os.path.join(base_dir, path)}{quote}"

    return _INCLUDE.sub(absolute, text)
