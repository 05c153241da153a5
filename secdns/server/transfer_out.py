# -*- test-case-name: tests.unit.test_xfrout -*-
"""
Zone transfers out: AXFR (RFC 5936) and IXFR (RFC 1995).

A transfer is a lazy sequence of rendered messages, made from the zone
version that was current when the request came (later swaps do not touch
it) and pulled by the TCP connection as fast as the client reads: the
process never holds more than one rendered message of a transfer, and
queries are answered between messages.

IXFR answer selection, as Knot's C{ixfr.c}::

    client serial >= ours ──────────────► our SOA alone ("up to date")
    journal reaches the client serial ──► the condensed differences
    otherwise ──────────────────────────► the whole zone, AXFR-style
                                          (over UDP: our SOA alone, retry over TCP)
"""

from __future__ import annotations

import struct
import time
from typing import Any, Callable, Iterable, Iterator

import attrs
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from twisted.logger import Logger

from secdns.server.loglimit import LIMITER
from secdns.wire import tsig
from secdns.zones import acl
from secdns.zones.journal import Changeset, condense
from secdns.zones.lookup import RRsetRef
from secdns.wire.compact import RECORD, name_wire
from secdns.server.render import Edns, Question, render_error
from secdns.zones.serial import serial_gt
from secdns.zones.status import Outcome
from secdns.zones.zone import Zone
from secdns.zones.version import PerVersion, ZoneData

__all__ = ["TransferServer", "MAX_MESSAGE", "transfer_blocks", "keep_transfer_blocks"]

log = Logger()

AXFR = dns.rdatatype.AXFR
IXFR = dns.rdatatype.IXFR
SOA = dns.rdatatype.SOA

#: The largest transfer message, as BIND and Knot send over TCP.
MAX_MESSAGE = 65535


@attrs.define(eq=False)
class TransferServer:
    """
    Answers AXFR and IXFR requests for the zones it is given.

    @ivar history: C{history(zone, serial, current)}: the zone's changesets
        from C{serial} up to C{current}, oldest first, or L{None} when its
        journal does not reach back that far.
    @ivar max_transfers: transfers out at once; more are refused.
    @ivar max_udp_size: the largest IXFR response over UDP, whatever EDNS asks.
    @ivar active: transfers in progress now.
    @ivar completed: transfers sent in full, per zone label.
    @ivar now: the wall clock, for when each downstream was last served.
    @ivar worker: runs C{f(*args)} in a thread and returns a Deferred of its
        result: an IXFR's changesets are read and condensed there (they grow
        with the changes, and are read from the store); L{None}: at once.
    """

    history: Callable[[Zone, int, int], list[Changeset] | None]
    max_transfers: int = 10
    max_udp_size: int = 1232
    active: int = 0
    completed: dict[str, int] = attrs.Factory(dict)
    worker: Callable[..., Any] | None = None
    now: Callable[[], float] = time.time
    _served: dict[tuple[dns.name.Name, str], Outcome] = attrs.Factory(dict)

    def last_served(self, name: dns.name.Name, address: str) -> Outcome | None:
        """How the last transfer of zone C{name} to C{address} (over TCP) ended, if there was one."""
        return self._served.get((name, address))

    def __call__(self, message: dns.message.Message, request, zone: Zone):
        """A response (bytes) or a stream of responses (an iterator of bytes)."""
        question = message.question[0]
        kind = dns.rdatatype.to_text(question.rdtype)
        q = Question(question.name, question.rdtype, question.rdclass)
        if question.name != zone.name:
            return self._error(message, q, dns.rcode.NOTAUTH)
        if question.rdtype == AXFR and not request.tcp:
            return self._error(message, q, dns.rcode.FORMERR)
        decision = acl.check(zone.config, acl.Action.TRANSFER, request.address, request.key_name)
        if not decision:
            if LIMITER.allow("transfer refused", request.address):
                log.warn(
                    "{kind} of {zone} refused to {address}: {reason}",
                    kind=kind, zone=zone.label, address=request.address, reason=decision.reason,
                )
            return self._error(message, q, dns.rcode.REFUSED)
        data = zone.data
        if data is None or zone.expired:
            return self._error(message, q, dns.rcode.SERVFAIL)
        if self.active >= self.max_transfers:
            if LIMITER.allow("transfer refused", request.address):
                log.warn(
                    "{kind} of {zone} refused to {address}: {active} transfers out already",
                    kind=kind, zone=zone.label, address=request.address, active=self.active,
                )
            return self._error(message, q, dns.rcode.REFUSED)
        reserve = 0 if request.signature is None else tsig.record_size(request.signature.key)
        if question.rdtype == IXFR:
            return self._ixfr(message, request, zone, data, q, reserve)
        return self._stream(message, request, zone, data, q, reserve, "AXFR", _zone_wire(data))

    def _ixfr(self, message, request, zone: Zone, data: ZoneData, q: Question, reserve: int):
        client_serial = _client_serial(message, zone)
        if client_serial is None:
            return self._error(message, q, dns.rcode.FORMERR)
        ours = (data.origin, data.soa)
        soa_only = list(_wire(data.origin, [ours]))
        if not serial_gt(data.serial, client_serial):
            return _render_all(message, q, soa_only, MAX_MESSAGE - reserve, opt=self._opt(message))[0]
        if self.worker is None:
            changes = self._changes(zone, client_serial, data.serial)
            return self._ixfr_answer(changes, message, request, zone, data, q, reserve, client_serial, soa_only)
        d = self.worker(self._changes, zone, client_serial, data.serial)
        return d.addCallback(self._ixfr_answer, message, request, zone, data, q, reserve, client_serial, soa_only)

    def _changes(self, zone: Zone, client_serial: int, serial: int) -> Changeset | None:
        """The journal's changes from the client's serial to ours, condensed (L{None}: it does not reach back)."""
        chain = self.history(zone, client_serial, serial)
        return None if chain is None else condense(chain)

    def _ixfr_answer(self, changes, message, request, zone, data, q, reserve, client_serial, soa_only):
        ours = (data.origin, data.soa)
        if changes is None:
            log.info(
                "IXFR of {zone} to {address}: no history from serial {serial}, sending the whole zone",
                zone=zone.label, address=request.address, serial=client_serial,
            )
            chunks: Iterable[Chunk] = _zone_wire(data)
            style = "IXFR (AXFR-style)"
        else:
            chunks = _wire(data.origin, _ixfr_rrsets(ours, changes))
            style = "IXFR"
        if request.tcp:
            return self._stream(message, request, zone, data, q, reserve, style, chunks)
        limit = self._udp_limit(message) - reserve
        opt = self._opt(message)
        messages = _render_all(message, q, chunks, limit, single=True, opt=opt)
        if messages is None:  # does not fit: our SOA tells the client to use TCP
            return _render_all(message, q, soa_only, limit, opt=opt)[0]
        return messages[0]

    def _stream(self, message, request, zone, data, q, reserve, style, chunks) -> Iterator[bytes]:
        self.active += 1
        log.info(
            "{style} of {zone} serial {serial} to {address} started",
            style=style, zone=zone.label, serial=data.serial, address=request.address,
        )
        messages = _render(message, q, chunks, MAX_MESSAGE - reserve, self._opt(message))
        return self._counted(messages, zone, style, request, data)

    def _counted(self, messages: Iterator[bytes], zone, style, request, data) -> Iterator[bytes]:
        sent = 0
        finished = False
        try:
            for wire in messages:
                sent += 1
                yield wire
            finished = True
        finally:
            self.active -= 1
            if finished:
                self.completed[zone.label] = self.completed.get(zone.label, 0) + 1
            outcome = f"{style} serial {data.serial}" + ("" if finished else f", cut short after {sent} messages")
            self._served[(zone.name, request.address)] = Outcome(self.now(), finished, outcome)
            log.info(
                "{style} of {zone} serial {serial} to {address} {outcome}: {messages} messages",
                style=style, zone=zone.label, serial=data.serial, address=request.address,
                outcome="finished" if finished else "cut short", messages=sent,
            )

    def _udp_limit(self, message: dns.message.Message) -> int:
        return 512 if message.edns < 0 else max(512, min(message.payload, self.max_udp_size))

    def _error(self, message, q: Question, rcode: int) -> bytes:
        edns = None if message.edns < 0 else Edns(self.max_udp_size, bool(message.ednsflags & dns.flags.DO))
        return render_error(message.id, message.flags, q, rcode, edns)

    def _opt(self, message: dns.message.Message) -> bytes:
        return opt_record(message, self.max_udp_size)


def _client_serial(message: dns.message.Message, zone: Zone) -> int | None:
    """The serial in the IXFR request's authority section (RFC 1995 section 3)."""
    for rrset in message.authority:
        if rrset.rdtype == SOA and rrset.name == zone.name and len(rrset):
            return rrset[0].serial
    return None


def _ixfr_rrsets(ours: RRsetRef, changes: Changeset) -> Iterator[RRsetRef]:
    yield ours
    yield from changes.removed
    yield from changes.added
    yield ours


# -- wire form
#
# Transfers are assembled from records in wire form rather than through
# dnspython's renderer: owner names are written relative to the question's
# name (the zone apex, at offset 12 of every message, so a pointer to it is
# valid in each), rdata uncompressed.  An AXFR is made from the version's
# compact records (secdns.wire.compact) without an object per record; a
# version's AXFR wire form is kept with it (made when a primary zone is
# loaded, or by the first transfer), so transfers only join bytes.

_RR = struct.Struct("!HHIH")
_HEADER = struct.Struct("!HHHHHH")
_APEX_POINTER = b"\xc0\x0c"
Chunk = tuple[bytes, int]  # wire RRs, and how many


def _wire(origin: dns.name.Name, rrsets: Iterable[RRsetRef]) -> Iterator[Chunk]:
    """RRsets as wire chunks; an RRset of many records in one chunk per record."""
    apex_labels = len(origin.labels)
    last_name = owner = None
    for name, rds in rrsets:
        if name is not last_name:  # the RRsets of a node come together
            labels = name.labels[: len(name.labels) - apex_labels]
            owner = name_wire(labels) + _APEX_POINTER
            last_name = name
        head = (rds.rdtype, rds.rdclass, rds.ttl)
        yield from _chunks([owner + _RR.pack(*head, len(w)) + w for w in (rdata.to_wire() for rdata in rds)])


def _chunks(records: list[bytes]) -> Iterator[Chunk]:
    """An RRset's (or an owner's) wire records as one chunk, or one chunk each when there are many."""
    if len(records) <= 64:
        yield b"".join(records), len(records)
    else:
        for record in records:
            yield record, 1


def _zone_chunks(data: ZoneData) -> Iterator[Chunk]:
    """A version's AXFR records as wire chunks: the SOA, every owner's records, the SOA."""
    soa = list(_wire(data.origin, [(data.origin, data.soa)]))
    yield from soa
    apex_key = data.origin_key
    apex_labels = len(apex_key)
    cased = data.cased
    unpack = RECORD.unpack_from
    for key, blob in data.owners.items():
        name = cased.get(key)
        labels = key if name is None else name.labels
        owner = name_wire(labels[: len(labels) - apex_labels]) + _APEX_POINTER
        if len(blob) == 8 + int.from_bytes(blob[6:8], "big"):  # one record: most owners
            if key != apex_key or blob[:2] != _SOA_TYPE:
                yield owner + blob[:2] + _CLASS_IN + blob[2:], 1
            continue
        records = []
        offset = 0
        end = len(blob)
        while offset < end:
            rdtype, _, length = unpack(blob, offset)
            stop = offset + 8 + length
            if not (rdtype == SOA and key == apex_key):
                records.append(owner + blob[offset : offset + 2] + _CLASS_IN + blob[offset + 2 : stop])
            offset = stop
        yield from _chunks(records)
    yield from soa


_SOA_TYPE = SOA.to_bytes(2, "big")
_CLASS_IN = dns.rdataclass.IN.to_bytes(2, "big")

#: Octets of wire RRs per block of a version's kept wire form: a few
#: thousand objects for a million records, where one per RRset cost ~100 MB.
BLOCK = 8192


def _blocks(chunks: Iterable[Chunk]) -> Iterator[Chunk]:
    """Chunks joined into blocks of about L{BLOCK} octets."""
    parts: list[bytes] = []
    size = count = 0
    for chunk, n in chunks:
        parts.append(chunk)
        size += len(chunk)
        count += n
        if size >= BLOCK:
            yield b"".join(parts), count
            parts, size, count = [], 0, 0
    if parts:
        yield b"".join(parts), count


def transfer_blocks(data: ZoneData) -> list[Chunk]:
    """
    A version's AXFR in wire form, in blocks: pure, so it may run in a
    worker thread when a version is made, before any downstream asks.
    """
    return list(_blocks(_zone_chunks(data)))


#: By version: its AXFR in wire form, in blocks, once kept.  On the reactor only.
_KEPT: PerVersion[list[Chunk]] = PerVersion(list)


def keep_transfer_blocks(data: ZoneData, blocks: list[Chunk]) -> None:
    """Keep C{blocks} as C{data}'s wire form, unless a transfer kept it first: on the reactor."""
    kept = _KEPT.of(data)
    if not kept:
        kept.extend(blocks)


def _zone_wire(data: ZoneData) -> Iterator[Chunk]:
    """The version's AXFR in wire form: as kept, or made now (and kept)."""
    kept = _KEPT.get(id(data))
    if kept:
        yield from kept
        return
    made = []
    for block in _blocks(_zone_chunks(data)):
        made.append(block)
        yield block
    keep_transfer_blocks(data, made)


def _render(message, q: Question, chunks: Iterable[Chunk], limit: int, opt: bytes = b"") -> Iterator[bytes]:
    """
    Pack wire chunks into as many messages as they need (RFC 5936 section
    2.2), each with C{opt} (our OPT record, when the request had one: RFC
    6891 section 7) at its end.
    """
    flags = dns.flags.QR | dns.flags.AA | (message.flags & dns.flags.RD)
    question = q.name.to_wire() + struct.pack("!HH", q.rdtype, q.rdclass)
    room = limit - _HEADER.size - len(question) - len(opt)
    additional = 1 if opt else 0
    parts: list[bytes] = []
    size = count = 0
    for chunk, n in chunks:
        if size + len(chunk) > room and count:
            yield _HEADER.pack(message.id, flags, 1, count, 0, additional) + question + b"".join(parts) + opt
            parts, size, count = [], 0, 0
        if len(chunk) > room:
            raise dns.exception.TooBig("a record larger than a message")
        parts.append(chunk)
        size += len(chunk)
        count += n
    yield _HEADER.pack(message.id, flags, 1, count, 0, additional) + question + b"".join(parts) + opt


def opt_record(message: dns.message.Message, payload: int) -> bytes:
    """Our OPT record for a response to C{message}: none when it had none; DO echoed (RFC 3225)."""
    if message.edns < 0:
        return b""
    return b"\x00" + struct.pack("!HHIH", dns.rdatatype.OPT, payload, message.ednsflags & dns.flags.DO, 0)


def _render_all(message, q, chunks, limit, single=False, opt: bytes = b"") -> list[bytes] | None:
    try:
        messages = list(_render(message, q, chunks, limit, opt))
    except dns.exception.TooBig:
        return None
    if single and len(messages) > 1:
        return None
    return messages
