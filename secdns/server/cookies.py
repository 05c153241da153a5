# -*- test-case-name: tests.unit.test_cookies -*-
"""
DNS Cookies (RFC 7873), with the interoperable server cookie of RFC 9018.

A client sends an 8-octet client cookie, and from its second query on the
server cookie it was given.  A server cookie proves that the client has
seen an answer at its address: a query that carries a valid one cannot
have a spoofed source, so response rate limiting lets it through
(L{secdns.server.rrl}).

The server cookie is RFC 9018's, so servers of any make that share a
secret (an anycast cluster of secdns, BIND, Knot, PowerDNS) accept each
other's: version 1, three reserved octets, a timestamp, and SipHash-2-4
of the client cookie, those eight octets and the client's address, keyed
with the secret.  It is valid for an hour (and five minutes ahead, for
clocks apart), and renewed once half an hour old.

L{Cookies} keeps what it worked out per client address and cookie option,
so a client that sends the same cookie again and again costs a lookup.
Pure but for the clock it is given.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import struct
import time
from typing import Callable

import attrs

__all__ = ["COOKIE", "Cookies", "State", "find_cookie", "server_cookie", "siphash24"]

#: The EDNS option code of COOKIE (RFC 7873 section 4).
COOKIE = 10

CLIENT_SIZE = 8
SERVER_SIZE = 16  # RFC 9018's: version, reserved, timestamp, hash
VERSION = 1
LIFETIME = 3600  # RFC 9018 section 4.3: older is invalid
AHEAD = 300  # ... and so is one from more than five minutes ahead
RENEW_AFTER = 1800  # ... and one half an hour old is replaced

_MASK = 0xFFFFFFFFFFFFFFFF
_KNOWN_LIMIT = 100_000


class State(enum.Enum):
    """What a query's COOKIE option proves."""

    NONE = "none"  # no COOKIE option
    CLIENT = "client"  # a client cookie only: a first query, or a server cookie not asked for
    INVALID = "invalid"  # a server cookie that is not ours, or too old
    VALID = "valid"  # a server cookie of ours: the source address is real


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _MASK


def siphash24(key: bytes, data: bytes) -> bytes:
    """SipHash-2-4 of C{data} under the 16-octet C{key}, as 8 octets (little-endian, as RFC 9018 carries it)."""
    k0, k1 = struct.unpack("<QQ", key)
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573
    tail = len(data) % 8
    blocks = list(struct.unpack(f"<{len(data) // 8}Q", data[: len(data) - tail]))
    blocks.append(int.from_bytes(data[len(data) - tail :], "little") | ((len(data) & 0xFF) << 56))

    def rounds(v0, v1, v2, v3, count):
        for _ in range(count):
            v0 = (v0 + v1) & _MASK
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & _MASK
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & _MASK
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & _MASK
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)
        return v0, v1, v2, v3

    for m in blocks:
        v3 ^= m
        v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 2)
        v0 ^= m
    v2 ^= 0xFF
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 4)
    return struct.pack("<Q", v0 ^ v1 ^ v2 ^ v3)


def _address_bytes(address: str) -> bytes:
    return ipaddress.ip_address(address).packed


def server_cookie(secret: bytes, client: bytes, address: str, timestamp: int) -> bytes:
    """RFC 9018's server cookie for C{client} at C{address}, made at C{timestamp} (seconds since the epoch)."""
    head = struct.pack("!B3xI", VERSION, timestamp & 0xFFFFFFFF)
    return head + siphash24(secret, client + head + _address_bytes(address))


def find_cookie(options: bytes) -> bytes | None:
    """The data of the first COOKIE option in an OPT record's RDATA, or L{None}."""
    offset, size = 0, len(options)
    while offset + 4 <= size:
        code, length = struct.unpack_from("!HH", options, offset)
        if code == COOKIE:
            return options[offset + 4 : offset + 4 + length]
        offset += 4 + length
    return None


def _age(now: int, timestamp: int) -> int:
    """Seconds from C{timestamp} to C{now}, in serial number arithmetic (RFC 1982; negative: ahead of us)."""
    delta = (now - timestamp) & 0xFFFFFFFF
    return delta - (1 << 32) if delta >= (1 << 31) else delta


@attrs.define(eq=False)
class Cookies:
    """
    The server side of DNS Cookies.

    @ivar secrets: 16-octet SipHash keys; the first makes cookies, each of
        them is accepted (so a secret can be replaced without turning every
        client's cookie down at once); none: a random one.
    @ivar counts: queries seen with EDNS options, by what their cookie proves.
    """

    secrets: tuple[bytes, ...] = attrs.field(default=(), repr=False)
    clock: Callable[[], float] = time.time
    counts: dict[str, int] = attrs.Factory(lambda: dict.fromkeys((s.value for s in State), 0))
    #: whether the secret is a random one made here, none being given
    generated: bool = attrs.field(init=False, default=False)
    #: (address, EDNS options) -> (state, the option to answer with, good until, the state's name)
    _known: dict[tuple[str, bytes], tuple[State, bytes, float, str]] = attrs.field(factory=dict, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.secrets:
            self.secrets, self.generated = (os.urandom(16),), True
        for secret in self.secrets:
            if len(secret) != 16:
                raise ValueError("a cookie secret is 16 octets (32 hexadecimal digits)")

    def answer(self, options: bytes, address: str, count: bool = True) -> tuple[State, bytes]:
        """
        What the COOKIE option among a query's EDNS C{options} (the OPT
        record's RDATA, which the parser has checked) proves, and the whole
        COOKIE option (code, length, data) to answer it with: the client
        cookie and a server cookie, the one given while it is young, else
        a new one.  C{(State.NONE, b"")} when there is no COOKIE option.
        C{count}: count the query in L{counts} (the first look at it does).
        """
        key = (address, options)
        known = self._known.get(key)
        if known is None or known[2] <= self.clock():
            if len(self._known) >= _KNOWN_LIMIT:
                self._known.clear()
            state, option, until = self._work_out(find_cookie(options), address, int(self.clock()))
            known = self._known[key] = (state, option, until, state.value)
        if count:
            self.counts[known[3]] += 1
        return known[0], known[1]

    def _work_out(self, data: bytes | None, address: str, now: int) -> tuple[State, bytes, float]:
        if data is None:
            return State.NONE, b"", float("inf")
        client, given = data[:CLIENT_SIZE], data[CLIENT_SIZE:]
        state = State.CLIENT if not given else State.INVALID
        if len(given) == SERVER_SIZE and given[0] == VERSION and given[1:4] == b"\0\0\0":
            timestamp = struct.unpack_from("!I", given, 4)[0]
            age = _age(now, timestamp)
            if -AHEAD <= age <= LIFETIME and any(
                server_cookie(secret, client, address, timestamp) == given for secret in self.secrets
            ):
                state = State.VALID
                if age < RENEW_AFTER and server_cookie(self.secrets[0], client, address, timestamp) == given:
                    # Still young and made with today's secret: echoed until it is half an hour old.
                    return state, _option(client + given), now + (RENEW_AFTER - age)
        # A fresh cookie, given again for this option for a minute (and
        # never past the end of the one presented, when that was valid).
        until = now + 60 if state is not State.VALID else now + min(60, LIFETIME - age)
        return state, _option(client + server_cookie(self.secrets[0], client, address, now)), until


def _option(data: bytes) -> bytes:
    return struct.pack("!HH", COOKIE, len(data)) + data
