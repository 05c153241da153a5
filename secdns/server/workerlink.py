# -*- test-case-name: tests.unit.test_workerlink -*-
"""
What the main process and its workers say to each other (pure: no
I/O, no reactor).  The processes: L{secdns.server.workers}, L{secdns.worker}.

Main to worker, on the worker's standard input: one JSON object a line
(L{Sent.messages} makes them):

  - C{{"settings": {...}}}: what the query handler needs (C{max_udp_size},
    C{rate_limit} or null, C{cookies}: the secrets in hex, or null) and
    its TCP connections (C{tcp_idle_timeout}, C{tcp_clients},
    C{tcp_clients_per_address}, as the main process's own);
  - C{{"zones": [[name, expired], ...]}}: the whole set of zones;
  - C{{"version": name, "serial": serial}}: a new version of a zone is in
    the store (the worker reads it and swaps it in whole);
  - C{{"go": true}}: the main process has read every zone at its start; the
    worker reads its sockets once the versions it was told of are loaded.

Worker to main, on the worker's standard output: frames of a 4-octet
length, a kind octet and a payload (L{frame}, L{FrameReader}):

  - C{F}: a datagram the worker does not answer itself (L{must_forward}),
    with the index of the C{listen} address it came to and the client's
    address (L{forward_payload});
  - C{C}: the worker's counters, JSON (every few seconds);
  - C{S}: a zone's version the worker now serves, JSON C{{"zone": name,
    "serial": serial}}, sent as soon as it is swapped in: the main process
    holds a new version's NOTIFY until every worker serves it
    (L{serves}), so that a secondary's SOA query, wherever the kernel
    sends it, is told the serial the NOTIFY announced.

Worker to main, on the hand-over socket (a Unix stream socket pair, one
per worker): frames of the same form, each of kind C{T} and sent with one
descriptor (SCM_RIGHTS, on the frame's first octet): a client's TCP
connection the worker hands over whole (L{must_forward}), the payload the
bytes read from it and not answered, length-prefixed messages and any
partial one after them (L{unanswered}); L{HandOvers} pairs each frame
with its descriptor.
"""

from __future__ import annotations

import json
import struct
from typing import Any, Iterable, Mapping

import attrs

from secdns.zones.serial import serial_gt

__all__ = [
    "Sent", "FrameReader", "HandOvers", "frame", "forward_payload", "read_forward", "must_forward", "unanswered",
    "serves", "FORWARD", "COUNTS", "HANDOVER", "SERVING",
]

FORWARD = b"F"
COUNTS = b"C"
HANDOVER = b"T"
SERVING = b"S"

#: A frame's payload at most: a datagram and its address fit many times over.
MAX_FRAME = 1 << 20

_HEADER = struct.Struct("!IB")


def frame(kind: bytes, payload: bytes) -> bytes:
    """One frame: length (of kind and payload), kind, payload."""
    return _HEADER.pack(len(payload) + 1, kind[0]) + payload


class FrameReader:
    """Cuts a byte stream into frames; a frame longer than L{MAX_FRAME} is an error (ValueError)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        buffer = self._buffer + data
        frames = []
        offset = 0
        while len(buffer) - offset >= 5:
            length, kind = _HEADER.unpack_from(buffer, offset)
            if length < 1 or length > MAX_FRAME:
                raise ValueError(f"a frame of {length} octets")
            end = offset + 4 + length
            if end > len(buffer):
                break
            frames.append((bytes((kind,)), buffer[offset + 5 : end]))
            offset = end
        self._buffer = buffer[offset:]
        return frames


def serves(serving: Mapping[str, int | None], zone: str, serial: int) -> bool:
    """Whether a worker serving C{serving} (zone to serial) serves C{serial} of C{zone}, or a later one."""
    held = serving.get(zone)
    return held is not None and (held == serial or serial_gt(held, serial))


def forward_payload(index: int, addr: tuple, datagram: bytes) -> bytes:
    """A forwarded datagram: listen index (1 octet), port (2), host's length (1), host (text), datagram."""
    host = addr[0].encode("ascii")
    return struct.pack("!BHB", index, addr[1], len(host)) + host + datagram


def read_forward(payload: bytes) -> tuple[int, tuple[str, int], bytes]:
    index, port, length = struct.unpack_from("!BHB", payload)
    host = payload[4 : 4 + length].decode("ascii")
    return index, (host, port), payload[4 + length :]


def unanswered(messages: Iterable[bytes], rest: bytes = b"") -> bytes:
    """
    What a TCP connection's reader had of C{messages} (read, not answered)
    and C{rest} (bytes after them: part of a message), as the client sent
    them: each message behind its 2-octet length.
    """
    return b"".join(struct.pack("!H", len(m)) + m for m in messages) + rest


class HandOvers:
    """
    The connections a worker hands over, cut from its hand-over socket:
    what a read gave (bytes, and the descriptors that came with them) in;
    (descriptor, unanswered bytes) pairs out, one per C{HANDOVER} frame.
    A descriptor arrives with its frame's first octet (Linux does not merge
    a read across a message with descriptors), so it is there by the time
    its frame is whole.  A frame without its descriptor is an error
    (ValueError), as is any other kind of frame.
    """

    def __init__(self) -> None:
        self.frames = FrameReader()
        self.descriptors: list[int] = []  # received, their frame not yet whole

    def feed(self, data: bytes, descriptors: Iterable[int] = ()) -> list[tuple[int, bytes]]:
        self.descriptors.extend(descriptors)
        out = []
        for kind, payload in self.frames.feed(data):
            if kind != HANDOVER or not self.descriptors:
                raise ValueError(f"a frame of kind {kind!r} with {len(self.descriptors)} descriptors")
            out.append((self.descriptors.pop(0), payload))
        return out


#: QTYPEs a worker never answers: transfers are the main process's.
_TRANSFERS = (b"\x00\xfb", b"\x00\xfc")  # IXFR, AXFR
#: QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT of a plain query: one question, no OPT or one.
_PLAIN_COUNTS = (b"\x00\x01\x00\x00\x00\x00\x00\x00", b"\x00\x01\x00\x00\x00\x00\x00\x01")


def must_forward(wire: bytes) -> bool:
    """
    Whether a worker hands datagram C{wire} to the main process rather than
    answering it: an opcode other than QUERY (NOTIFY, UPDATE), anything
    that may carry a TSIG record (records in the answer or authority
    sections, more than one additional record, or one that is not an OPT),
    and transfers (AXFR, IXFR).  So whatever needs the zone state or the
    keys goes to the one process that holds them.  What no server answers
    (shorter than a header, or a response) is not forwarded: the worker's
    handler drops it; a malformed plain query is the worker's to answer
    (FORMERR), as it would be the main process's.

    The question's name is not walked label by label: its end is the first
    zero octet (the root label), which is wrong only for a label holding a
    zero octet, and then the worker answers what the main process would
    have: the worker's handler reads the message whole and, having no keys,
    refuses a signature.
    """
    if len(wire) < 12 or wire[2] & 0x80:
        return False
    if wire[2] & 0x78 or wire[4:12] not in _PLAIN_COUNTS:
        return True  # an opcode other than QUERY, or sections a plain query has not
    end = wire.find(b"\x00", 12)
    if end < 0:
        return False  # no question to read: FORMERR
    if wire[end + 1 : end + 3] in _TRANSFERS:
        return True
    if wire[11] == 0:
        return False
    # The one additional record: a plain query's is an OPT (root owner, type 41).
    return wire[end + 5 : end + 8] != b"\x00\x00\x29"


@attrs.define
class Sent:
    """
    What one worker has been told: the settings, the zone set (name to
    whether it has expired) and, per zone, the version (the object the
    main process serves) it was told of.
    """

    settings: Any = None
    zones: dict[str, bool] | None = None
    versions: dict[str, object] = attrs.Factory(dict)
    started: bool = False

    def messages(
        self, settings: Mapping, zones: Mapping[str, tuple[object, int | None, bool]], go: bool = True
    ) -> list[dict]:
        """
        The messages that bring the worker to C{settings} and C{zones}
        (name to the version served, its serial, whether expired; a zone
        not loaded has version L{None}), and remember them as sent.  The
        first time C{go} is true, they end with C{go}.
        """
        out: list[dict] = []
        if settings != self.settings:
            self.settings = dict(settings)
            out.append({"settings": self.settings})
        zone_set = {name: expired for name, (_, _, expired) in zones.items()}
        if zone_set != self.zones:
            self.zones = zone_set
            out.append({"zones": sorted([name, expired] for name, expired in zone_set.items())})
        for name in [name for name in self.versions if name not in zones]:
            del self.versions[name]
        for name, (version, serial, _) in sorted(zones.items()):
            if version is not None and self.versions.get(name) is not version:
                self.versions[name] = version
                out.append({"version": name, "serial": serial})
        if go and not self.started:
            self.started = True
            out.append({"go": True})
        return out


def encode(messages: Iterable[dict]) -> bytes:
    """Messages as the lines written to a worker's standard input."""
    return b"".join(json.dumps(message, separators=(",", ":")).encode() + b"\n" for message in messages)
