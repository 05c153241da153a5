# -*- test-case-name: tests.unit.test_tsig -*-
"""
TSIG (RFC 8945): keys, and the MACs of what we receive and send.

dnspython parses and renders TSIG records; the MAC itself is computed here,
with the time passed in (so tests drive it with a clock) and with the
RFC's rules for truncated MACs and multi-message streams, which dnspython
does not enforce.  Policy (who may do what with which key) is in
L{secdns.zones.acl}.

The digest of one message (RFC 8945 section 4.3)::

    first message:  [len + prior MAC] message  key-name class TTL
                                               algorithm time fudge error other
    later messages:  len + prior MAC  [unsigned messages] message  time fudge

where the prior MAC is the request's MAC for the first message of a
response, and the previous signed message's MAC within a stream.

A secret never leaves this module in a string: L{Key} leaves it out of its
C{repr}, and no error message includes it.
"""

from __future__ import annotations

import hmac
import struct
from typing import Iterable, Mapping

import attrs
import dns.exception
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig

from secdns.config import TsigKeyConfig

__all__ = [
    "Key",
    "Keyring",
    "TsigError",
    "BadKey",
    "BadSig",
    "BadTime",
    "BadTrunc",
    "PeerTsigError",
    "Signed",
    "Signature",
    "split_tsig",
    "split_last_tsig",
    "verify",
    "sign",
    "error_record",
    "StreamSigner",
    "StreamVerifier",
    "DEFAULT_FUDGE",
    "MAX_UNSIGNED",
]

#: Seconds a signature's time may differ from ours (RFC 8945 section 10: 300).
DEFAULT_FUDGE = 300

#: Messages of a stream that may go unsigned in a row (RFC 8945 section 5.3.1).
MAX_UNSIGNED = 99

_HASHES = {
    dns.tsig.HMAC_MD5: "md5",
    dns.tsig.HMAC_SHA1: "sha1",
    dns.tsig.HMAC_SHA224: "sha224",
    dns.tsig.HMAC_SHA256: "sha256",
    dns.tsig.HMAC_SHA384: "sha384",
    dns.tsig.HMAC_SHA512: "sha512",
}
_ANY = dns.rdataclass.ANY
_TSIG = dns.rdatatype.TSIG


# -- errors

#: TSIG error names (RFC 8945 section 3): 16 is BADSIG here, not EDNS's BADVERS.
_ERROR_NAMES = {16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 22: "BADTRUNC"}


def error_text(rcode: int) -> str:
    """The name of a TSIG error code."""
    return _ERROR_NAMES.get(rcode) or dns.rcode.to_text(rcode)



class TsigError(dns.exception.DNSException):
    """A TSIG check failed here; C{rcode} is the TSIG error to answer with."""

    rcode = dns.rcode.NOTAUTH

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason

    @property
    def rcode_text(self) -> str:
        return error_text(self.rcode)


class BadKey(TsigError):
    """The key is unknown, or not the one expected."""

    rcode = dns.rcode.BADKEY


class BadSig(TsigError):
    """The MAC does not verify, or a message that must be signed is not."""

    rcode = dns.rcode.BADSIG


class BadTime(TsigError):
    """The time signed is outside the fudge window of our clock."""

    rcode = dns.rcode.BADTIME


class BadTrunc(TsigError):
    """The MAC is truncated more than we accept (we accept full-length MACs only)."""

    rcode = dns.rcode.BADTRUNC


class MalformedTsig(TsigError):
    """The TSIG record breaks the RFC: answered FORMERR."""

    rcode = dns.rcode.FORMERR


class PeerTsigError(TsigError):
    """The peer answered with a TSIG error (it rejected our signature)."""

    def __init__(self, rcode: int, reason: str) -> None:
        super().__init__(reason)
        self.rcode = rcode


# -- keys


@attrs.frozen
class Key:
    """A TSIG key.  Its secret is kept out of C{repr}, logs and errors."""

    name: dns.name.Name
    algorithm: dns.name.Name
    secret: bytes = attrs.field(repr=False)

    @classmethod
    def from_config(cls, config: TsigKeyConfig) -> "Key":
        return cls(config.name, config.algorithm_name, config.secret)

    @property
    def mac_size(self) -> int:
        return dns.tsig.mac_sizes[self.algorithm]

    @property
    def label(self) -> str:
        return self.name.to_text(omit_final_dot=True)

    def hmac(self, prior_mac: bytes | None = None) -> "hmac.HMAC":
        h = hmac.new(self.secret, digestmod=_HASHES[self.algorithm])
        if prior_mac is not None:
            h.update(struct.pack("!H", len(prior_mac)) + prior_mac)
        return h


@attrs.frozen
class Keyring:
    """The keys of the config, by name.  Replaced whole on reload."""

    keys: Mapping[dns.name.Name, Key] = attrs.field(factory=dict)

    @classmethod
    def from_config(cls, configs: Iterable[TsigKeyConfig]) -> "Keyring":
        return cls({config.name: Key.from_config(config) for config in configs})

    def get(self, name: dns.name.Name | None) -> Key | None:
        return None if name is None else self.keys.get(name)

    def __len__(self) -> int:
        return len(self.keys)


@attrs.frozen
class Signature:
    """What a verified request leaves for signing its response: the key and the request's MAC."""

    key: Key
    mac: bytes
    time_signed: int


# -- the TSIG record of a message


@attrs.frozen
class Signed:
    """
    A message split from its TSIG record.

    @ivar unsigned: the message without its TSIG record, ARCOUNT lowered.
    @ivar key_name: the TSIG owner name.
    @ivar record: the TSIG rdata.
    """

    unsigned: bytes
    key_name: dns.name.Name
    record: dns.rdtypes.ANY.TSIG.TSIG


def split_tsig(wire: bytes) -> Signed | None:
    """
    Find the TSIG record of a message: it must be the last record.

    @return: L{None} when the message has no TSIG record.
    @raise MalformedTsig: a TSIG record that is not last, not of class ANY,
        or does not parse.
    """
    if len(wire) < 12:
        return None
    counts = struct.unpack("!HHHH", wire[4:12])
    total = sum(counts[1:])
    offset = 12
    try:
        for _ in range(counts[0]):
            offset = _skip_name(wire, offset) + 4
        last_start = None
        for index in range(total):
            start = offset
            offset = _skip_name(wire, offset)
            rdtype, rdclass, _, rdlength = struct.unpack("!HHIH", wire[offset : offset + 10])
            offset += 10 + rdlength
            if offset > len(wire):
                return None  # a truncated message: the parser will say FORMERR
            if rdtype == _TSIG:
                if index != total - 1:
                    raise MalformedTsig("TSIG record is not the last record")
                if rdclass != _ANY:
                    raise MalformedTsig("TSIG record is not of class ANY")
                last_start = start
    except (struct.error, IndexError):
        return None
    if last_start is None:
        return None
    if counts[3] == 0:
        raise MalformedTsig("TSIG record is not in the additional section")
    try:
        key_name, used = dns.name.from_wire(wire, last_start)
        rdata_start = last_start + used + 10
        record = dns.rdata.from_wire(_ANY, _TSIG, wire, rdata_start, offset - rdata_start)
    except dns.exception.DNSException as e:
        raise MalformedTsig(f"TSIG record does not parse: {e}") from None
    arcount = counts[3] - 1
    unsigned = wire[:10] + struct.pack("!H", arcount) + wire[12:last_start]
    return Signed(unsigned, key_name, record)


def split_last_tsig(wire: bytes, key_name: dns.name.Name) -> Signed | None:
    """
    L{split_tsig} for a response to a request we signed with C{key_name}:
    the TSIG record is looked for from the end of the message, its owner
    the key's name uncompressed (as peers write it), so that the hundreds
    of records of a transfer's message are not walked one by one.  When it
    is not found so, L{split_tsig} decides.  (A TSIG record elsewhere in
    the message then goes unnoticed here: it would be a record of class
    ANY in the transfer, which is refused there.)
    """
    if len(wire) > 12 and wire[10:12] != b"\x00\x00":
        marker = key_name.to_wire() + _TSIG_HEAD
        start = wire.rfind(marker)
        if start > 12:
            rdata_start = start + len(marker) + 2
            (rdlength,) = struct.unpack_from("!H", wire, rdata_start - 2)
            if rdata_start + rdlength == len(wire):
                try:
                    record = dns.rdata.from_wire(_ANY, _TSIG, wire, rdata_start, rdlength)
                except dns.exception.DNSException as e:
                    raise MalformedTsig(f"TSIG record does not parse: {e}") from None
                arcount = struct.unpack_from("!H", wire, 10)[0] - 1
                unsigned = wire[:10] + struct.pack("!H", arcount) + wire[12:start]
                return Signed(unsigned, key_name, record)
    return split_tsig(wire)


#: A TSIG record's type, class (ANY) and TTL (0), after its owner name.
_TSIG_HEAD = struct.pack("!HHI", 250, 255, 0)


def _skip_name(wire: bytes, offset: int) -> int:
    for _ in range(128):
        length = wire[offset]
        if length == 0:
            return offset + 1
        if length >= 0xC0:
            return offset + 2
        offset += length + 1
    raise IndexError("name too long")


# -- computing and checking MACs


def _variables(key: Key, record, full: bool) -> bytes:
    timers = struct.pack("!HIH", (record.time_signed >> 32) & 0xFFFF, record.time_signed & 0xFFFFFFFF, record.fudge)
    if not full:
        return timers
    return b"".join(
        (
            key.name.to_digestable(),
            struct.pack("!HI", _ANY, 0),
            key.algorithm.to_digestable(),
            timers,
            struct.pack("!HH", record.error, len(record.other)),
            record.other,
        )
    )


def _mac(key: Key, unsigned: bytes, record, prior_mac: bytes | None, full: bool, between: Iterable[bytes] = ()) -> bytes:
    h = key.hmac(prior_mac)
    for message in between:
        h.update(message)
    h.update(struct.pack("!H", record.original_id) + unsigned[2:])
    h.update(_variables(key, record, full))
    return h.digest()


def verify(
    signed: Signed,
    key: Key | None,
    now: float,
    prior_mac: bytes | None = None,
    full: bool = True,
    between: Iterable[bytes] = (),
) -> bytes:
    """
    Check a message's MAC and time (RFC 8945 section 5.2), in the RFC's order:
    key, MAC size, MAC, then time.

    @param key: the key named by the message, or L{None} if we have none.
    @param prior_mac: the request MAC (for a response) or the previous MAC
        of the stream.
    @param full: whether all TSIG variables are digested (the first message),
        or only the timers (later messages of a stream).
    @param between: unsigned messages since the previous signed one.
    @return: the MAC, to chain the next message or response with.
    @raise TsigError: the subclass says which TSIG error applies.
    """
    record = signed.record
    if key is None or key.name != signed.key_name:
        raise BadKey(f"unknown key {signed.key_name}")
    if key.algorithm != record.algorithm:
        raise BadKey(f"key {key.label} is {key.algorithm}, the message used {record.algorithm}")
    size = len(record.mac)
    full_size = key.mac_size
    if size > full_size:
        raise MalformedTsig(f"MAC of {size} octets is longer than {key.algorithm}'s {full_size}")
    if size < max(10, full_size // 2):
        raise MalformedTsig(f"MAC truncated to {size} octets, below the RFC 8945 minimum")
    expected = _mac(key, signed.unsigned, record, prior_mac, full, between)
    if not hmac.compare_digest(expected[:size], record.mac):
        raise BadSig(f"bad MAC with key {key.label}")
    if size < full_size:
        raise BadTrunc(f"MAC truncated to {size} octets; key {key.label} requires {full_size}")
    skew = int(now) - record.time_signed
    if abs(skew) > record.fudge:
        raise BadTime(f"clocks differ by {abs(skew)} s (fudge {record.fudge} s)")
    return record.mac


def _record(key_name, algorithm, time_signed, original_id, error=0, other=b"", mac=b"", fudge=DEFAULT_FUDGE):
    return dns.rdtypes.ANY.TSIG.TSIG(_ANY, _TSIG, algorithm, time_signed, fudge, mac, original_id, error, other)


def _append(wire: bytes, key_name: dns.name.Name, record) -> bytes:
    rdata = record.to_wire()
    arcount = struct.unpack("!H", wire[10:12])[0] + 1
    return b"".join(
        (
            wire[:10],
            struct.pack("!H", arcount),
            wire[12:],
            key_name.to_wire(),
            struct.pack("!HHIH", _TSIG, _ANY, 0, len(rdata)),
            rdata,
        )
    )


def record_size(key: Key, other: int = 0) -> int:
    """Octets a TSIG record of C{key} adds to a message: room to reserve."""
    return len(key.name.to_wire()) + 10 + len(key.algorithm.to_wire()) + 16 + key.mac_size + other


def sign(
    wire: bytes,
    key: Key,
    now: float,
    prior_mac: bytes | None = None,
    full: bool = True,
    error: int = 0,
    other: bytes = b"",
    between: Iterable[bytes] = (),
    time_signed: int | None = None,
) -> tuple[bytes, bytes]:
    """
    Sign a message: append its TSIG record.

    @return: the signed message, and its MAC (to chain the next message with).
    """
    original_id = struct.unpack("!H", wire[:2])[0]
    when = int(now) if time_signed is None else time_signed
    record = _record(key.name, key.algorithm, when, original_id, error, other)
    mac = _mac(key, wire, record, prior_mac, full, between)
    return _append(wire, key.name, record.replace(mac=mac)), mac


def error_record(wire: bytes, signed: Signed, error: int, now: float) -> bytes:
    """
    Append an unsigned TSIG record carrying C{error} (BADKEY, BADSIG: the
    response is not signed, RFC 8945 section 5.3.2).
    """
    original_id = struct.unpack("!H", wire[:2])[0]
    record = _record(signed.key_name, signed.record.algorithm, int(now), original_id, error)
    return _append(wire, signed.key_name, record)


def time_other_data(now: float) -> bytes:
    """Other Data of a BADTIME response: our time, 48 bits (RFC 8945 section 5.2.3)."""
    t = int(now)
    return struct.pack("!HI", (t >> 32) & 0xFFFF, t & 0xFFFFFFFF)


def peer_error(rcode: int, record, request_time: int) -> PeerTsigError:
    """What the peer's TSIG error tells an operator."""
    name = error_text(rcode)
    if rcode == dns.rcode.BADTIME and len(record.other) == 6:
        upper, lower = struct.unpack("!HI", record.other)
        their_time = (upper << 32) | lower
        return PeerTsigError(rcode, f"answered BADTIME: clocks differ by {abs(their_time - request_time)} s")
    if rcode == dns.rcode.BADKEY:
        return PeerTsigError(rcode, "answered BADKEY: it does not know our key")
    if rcode == dns.rcode.BADSIG:
        return PeerTsigError(rcode, "answered BADSIG: our MAC does not verify with its secret")
    return PeerTsigError(rcode, f"answered TSIG error {name}")


# -- streams


@attrs.define
class StreamSigner:
    """
    Signs the messages of a multi-message response (AXFR, IXFR) one by one.
    Every message is signed, which RFC 8945 section 5.3.1 allows and every
    peer accepts.
    """

    key: Key
    request_mac: bytes
    _previous: bytes | None = None

    def sign(self, wire: bytes, now: float) -> bytes:
        first = self._previous is None
        prior = self.request_mac if first else self._previous
        signed, self._previous = sign(wire, self.key, now, prior, full=first)
        return signed


@attrs.define
class StreamVerifier:
    """
    Verifies the messages of a response to a request we signed, single or
    multi-message (RFC 8945 section 5.3.1): the first and the last must be
    signed, and at most L{MAX_UNSIGNED} in a row may be unsigned.

    @ivar peer: names the peer in error messages.
    """

    key: Key
    request_mac: bytes
    request_time: int
    peer: str = "peer"
    _previous: bytes | None = None
    _unsigned: list[bytes] = attrs.Factory(list)

    def verify(self, wire: bytes, now: float) -> None:
        """
        Verify the next message of the response.

        @raise TsigError: with a reason an operator can act on.
        """
        try:
            signed = split_last_tsig(wire, self.key.name)
        except MalformedTsig as e:
            raise MalformedTsig(f"{self.peer}: {e.reason}") from None
        first = self._previous is None
        if signed is None:
            if first:
                raise BadSig(f"{self.peer} answered without TSIG; key {self.key.label} required")
            self._unsigned.append(wire)
            if len(self._unsigned) > MAX_UNSIGNED:
                raise BadSig(f"{self.peer} sent more than {MAX_UNSIGNED} unsigned messages in a row")
            return
        if signed.record.error != 0:
            error = peer_error(signed.record.error, signed.record, self.request_time)
            raise PeerTsigError(error.rcode, f"{self.peer} {error.reason}")
        prior = self.request_mac if first else self._previous
        try:
            self._previous = verify(signed, self.key, now, prior, full=first, between=self._unsigned)
        except TsigError as e:
            e.reason = f"{self.peer}: {e.reason}"
            raise
        self._unsigned = []

    def finish(self) -> None:
        """The response is complete: its last message must have been signed."""
        if self._previous is None or self._unsigned:
            raise BadSig(f"{self.peer}: the last message of the response was not signed")
