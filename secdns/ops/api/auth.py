# -*- test-case-name: tests.unit.test_api_auth -*-
"""
Who may use the API.

With C{[http] token_file}, every request needs C{Authorization: Bearer
TOKEN} with a token from that file; the file holds one C{name token} a
line (C{#} starts a comment), and the name is what the log says made each
change.  The file is read again when it changes, so tokens can be added
and revoked without a restart.  Tokens are compared by their SHA-256, in
constant time, and never logged.

Without a token file, the API answers only clients on loopback addresses
(127.0.0.0/8, ::1): anyone who can reach a non-loopback C{http.listen}
would otherwise own the zones.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from typing import Callable

import attrs
from twisted.logger import Logger

from secdns.errors import ConfigError
from secdns.ops.api.errors import ApiError

__all__ = ["Tokens", "Access", "parse_tokens", "is_loopback", "MIN_TOKEN_LENGTH", "LOOPBACK_NAME"]

log = Logger()

#: Tokens shorter than this are refused: a bearer token must not be guessable.
MIN_TOKEN_LENGTH = 16
#: The name changes are logged under when there is no token file (loopback clients).
LOOPBACK_NAME = "loopback"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def parse_tokens(text: str, source: str) -> dict[bytes, str]:
    """
    The tokens of a token file, by their SHA-256, with their names.

    @raise ConfigError: naming the file and line; never the token.
    """
    tokens: dict[bytes, str] = {}
    names: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ConfigError(source, f"line {number}", "expected a name and a token, separated by a space")
        name, token = parts
        if len(token) < MIN_TOKEN_LENGTH:
            raise ConfigError(source, f"line {number}", f"the token of {name} is shorter than {MIN_TOKEN_LENGTH} characters")
        if name in names:
            raise ConfigError(source, f"line {number}", f"the name {name} is used twice")
        digest = _digest(token)
        if digest in tokens:
            raise ConfigError(source, f"line {number}", f"the token of {name} is also {tokens[digest]}'s")
        names.add(name)
        tokens[digest] = name
    if not tokens:
        raise ConfigError(source, "", "holds no token (one 'name token' a line)")
    return tokens


def _stamp(path: str) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


class Tokens:
    """
    The tokens of a token file, read again when the file changes (a file
    that becomes unreadable or invalid leaves the last good tokens in
    force, and is logged once).
    """

    def __init__(self, path: str, stamp: Callable[[str], tuple] = _stamp, read: Callable[[str], str] | None = None) -> None:
        self.path = path
        self._stamp_of = stamp
        self._read = read or _read_text
        self._stamp = stamp(path)
        self._tokens = parse_tokens(self._read(path), path)
        self._complained = None

    @classmethod
    def load(cls, path: str) -> "Tokens":
        """
        Read a token file at start.

        @raise ConfigError: it cannot be read, or is invalid.
        """
        try:
            return cls(path)
        except OSError as e:
            raise ConfigError(path, "", f"cannot read the token file: {e.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(path, "", "the token file is not UTF-8 text") from None

    def _refresh(self) -> None:
        try:
            stamp = self._stamp_of(self.path)
            if stamp == self._stamp:
                return
            tokens = parse_tokens(self._read(self.path), self.path)
        except (OSError, UnicodeDecodeError, ConfigError) as e:
            problem = e.strerror if isinstance(e, OSError) else str(e)
            if problem != self._complained:
                log.warn("API tokens: {path}: {problem}; the tokens read before stay in force", path=self.path, problem=problem)
                self._complained = problem
            return
        self._stamp, self._tokens, self._complained = stamp, tokens, None
        log.info("API tokens: read {path} again: {count} tokens", path=self.path, count=len(tokens))

    def name_of(self, token: str) -> str | None:
        """The name of C{token}, or L{None} if it is not one of the file's."""
        self._refresh()
        digest = _digest(token)
        found = None
        for known, name in self._tokens.items():
            if hmac.compare_digest(known, digest):
                found = name
        return found


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


@attrs.define
class Access:
    """
    The API's access rule: bearer tokens from a file, or (without one)
    loopback clients only.
    """

    tokens: Tokens | None = None

    def who(self, authorization: str | None, client: str | None) -> str:
        """
        The name a request acts under.

        @param authorization: its C{Authorization} header, if any.
        @param client: its client's IP address, if known.
        @raise ApiError: C{NotAuthenticated} (401) or C{NotAuthorized} (403).
        """
        if self.tokens is None:
            if client is None or not is_loopback(client):
                raise ApiError(
                    "NotAuthorized",
                    "this API answers loopback clients only: give it a token file ([http] token_file) to serve others",
                )
            return LOOPBACK_NAME
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                "NotAuthenticated", "an Authorization: Bearer token is required", (("WWW-Authenticate", 'Bearer realm="secdns"'),)
            )
        name = self.tokens.name_of(token.strip())
        if name is None:
            raise ApiError(
                "NotAuthenticated", "the bearer token is not valid", (("WWW-Authenticate", 'Bearer realm="secdns", error="invalid_token"'),)
            )
        return name
