# -*- test-case-name: tests.unit.test_xfrin -*-
"""
Inbound zone transfers: IXFR (RFC 1995) and AXFR (RFC 5936).

L{Inbound} is the state machine, without I/O (as dnspython's
C{dns.xfr.Inbound}): the messages of a response go in one at a time, and
when the last one is in, L{Inbound.finish} returns a new L{ZoneData}.  The
version being served is never touched: an IXFR is applied to a
copy of its owners (unchanged owners' records shared, touched ones made
anew), so until the new version is swapped in, queries keep reading the
old one whole.

The records of an IXFR response (RFC 1995 section 4)::

    SOA(new) ─┬─ SOA(ours) ─> DELETING ─ SOA(next) ─> ADDING ─┬─ SOA(new), last diff ─> DONE
              │       ^                                        │
              │       └──────────── SOA(next), more diffs ─────┘
              ├─ any other record ──────> AXFR-style: the whole zone, up to SOA(new)
              └─ end of the message, SOA(new) == ours ──────> up to date

and of an AXFR: C{SOA(new) records... SOA(new)}.

What cannot be applied raises, and nothing is kept:

  - L{IxfrUnusable}: an IXFR that does not fit our version (a deletion of
    a record we do not have, an SOA at the wrong owner, a serial gap), or
    that the master refused (NOTIMP, REFUSED, FORMERR): an AXFR may work;
  - L{BadTransfer}: a transfer that breaks the protocol or holds an
    invalid zone (a record outside the zone, a missing final SOA, no NS at
    the apex, a class other than IN);
  - L{LimitExceeded}: more records or bytes than C{[transfer]} allows;
  - L{SerialNotNewer}: the master's version is older than ours.

Messages are read by L{secdns.wire.xfr_parser} rather than by
C{dns.message.from_wire}: a whole zone goes straight into the compact form
a version keeps, with no dnspython object per record; only an IXFR's
records become dnspython's objects, to be applied.

L{MasterClient} is the thin I/O shell: an SOA query and a transfer to one
master, through a L{secdns.transfer.requestor.Requestor}.
"""

from __future__ import annotations

import struct
from typing import Callable

import attrs
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
from twisted.internet import defer
from zope.interface import Interface, implementer

from secdns import heap
from secdns.config import TransferConfig
from secdns.errors import SecdnsError, ZoneLoadError
from secdns.transfer.requestor import BadResponse, PeerRcode, Requestor, Target, check_rcode
from secdns.zones.serial import serial_gt
from secdns.wire.compact import RECORD, OwnerKey, decode, encode, key_of, normalize
from secdns.wire.xfr_parser import Owner, WireError, answer_records
from secdns.zones.version import ZoneData, from_owners

__all__ = [
    "Inbound",
    "Limits",
    "TransferResult",
    "TransferError",
    "BadTransfer",
    "IxfrUnusable",
    "LimitExceeded",
    "SerialNotNewer",
    "IMasterClient",
    "MasterClient",
    "AXFR",
    "IXFR",
    "UP_TO_DATE",
]

IN = dns.rdataclass.IN
SOA = dns.rdatatype.SOA
NONE = dns.rdatatype.NONE
RRSIG = dns.rdatatype.RRSIG

AXFR = "AXFR"
IXFR = "IXFR"
UP_TO_DATE = "up to date"
#: Records a transfer reads between two freezes of what it made (L{secdns.heap}).
SETTLE_EVERY = 100_000

_COUNTS = struct.Struct("!HHHH")


class TransferError(SecdnsError):
    """A transfer that cannot be applied; nothing of it is kept."""


class BadTransfer(TransferError):
    """The transfer breaks the protocol or holds an invalid zone."""


class IxfrUnusable(TransferError):
    """The IXFR cannot be applied to our version; an AXFR may be."""


class LimitExceeded(TransferError):
    """The transfer carries more records or bytes than C{[transfer]} allows."""


class SerialNotNewer(TransferError):
    """The master's serial is not newer than ours (RFC 1982)."""


@attrs.frozen
class Limits:
    """How much one transfer may carry: records (also the zone's size after an IXFR), and octets."""

    max_records: int = 10_000_000
    max_bytes: int = 2**30

    @classmethod
    def from_config(cls, config: TransferConfig) -> "Limits":
        return cls(config.max_records, config.max_bytes)


@attrs.frozen
class TransferResult:
    """
    What a transfer brought.

    @ivar kind: L{AXFR}, L{IXFR} or L{UP_TO_DATE} (an IXFR answered with our serial).
    @ivar style: the request made (C{"AXFR"} or C{"IXFR"}), for logs: an IXFR
        may come back as a whole zone.
    @ivar data: the new version (L{None} when up to date).
    """

    kind: str
    style: str
    serial: int
    data: ZoneData | None
    records: int
    size: int
    messages: int


_FIRST, _SECOND, _DELETING, _ADDING, _WHOLE, _DONE = range(6)


class Inbound:
    """
    The state machine of one transfer (see the module docstring).

    @param origin: the zone's apex.
    @param style: C{"AXFR"} or C{"IXFR"}.
    @param current: the version we serve (the IXFR base, and the serial
        the new one must be newer than), or L{None}.
    """

    def __init__(self, origin: dns.name.Name, style: str, current: ZoneData | None, limits: Limits = Limits()) -> None:
        if style == IXFR and current is None:
            raise ValueError("an IXFR needs a version to apply to")
        self.origin = origin
        self.style = style
        self.current = current
        self.limits = limits
        self.state = _FIRST
        self.records = 0
        self.size = 0
        self.messages = 0
        self.kind = AXFR
        self.new_soa: tuple[int, dns.rdata.Rdata, bytes] | None = None  # TTL, rdata and record of the first SOA
        self.serial: int | None = None
        self.working_serial: int | None = None  # IXFR: the serial the diffs have reached
        # AXFR: owner key -> its record, or its records while it has several
        # (L{secdns.wire.compact} form).  IXFR: the owners touched, as dnspython's
        # RRsets made from the served version (which is never changed), and
        # how many records each had there.
        self.whole: dict[OwnerKey, bytes | list[bytes]] = {}
        self.touched: dict[OwnerKey, dict[tuple[int, int], dns.rdataset.Rdataset]] = {}
        self.touched_before = 0
        self.cased: dict[OwnerKey, dns.name.Name] = {}
        self.settled = 0  # records read when L{secdns.heap} last froze what was made
        self._origin_key = key_of(origin)

    def discard(self) -> None:
        """
        Let go of what the transfer has read so far, when it ends without a
        version: whatever still refers to this state machine afterwards (a
        failure's traceback, a reference cycle the collector may not reach
        before L{secdns.heap} freezes it) then holds no zone's worth of records.
        """
        self.whole = {}
        self.touched = {}
        self.cased = {}
        self.current = None
        self.state = _DONE

    # -- messages in

    def process(self, wire: bytes) -> bool:
        """
        Take the next message of the response.

        @return: whether the transfer is complete.
        @raise TransferError: what cannot be applied (see the module docstring).
        """
        self.messages += 1
        self.size += len(wire)
        if self.size > self.limits.max_bytes:
            raise LimitExceeded(
                f"transfer exceeds transfer.max_bytes ({self.limits.max_bytes} octets) at message {self.messages}"
            )
        if len(wire) < 12:
            raise BadTransfer(f"message {self.messages} is {len(wire)} octets, shorter than a header")
        rcode = wire[3] & 0x0F
        if rcode != dns.rcode.NOERROR:
            name = dns.rcode.to_text(rcode)
            if self.style == IXFR and rcode in (dns.rcode.NOTIMP, dns.rcode.REFUSED, dns.rcode.FORMERR):
                raise IxfrUnusable(f"master answered IXFR with {name}")
            raise PeerRcode(rcode, f"master answered {self.style} with {name}")
        qdcount, ancount, _, _ = _COUNTS.unpack_from(wire, 4)
        if self.state == _DONE:
            raise BadTransfer("records after the final SOA")
        if self.records + ancount > self.limits.max_records:
            raise LimitExceeded(f"transfer exceeds transfer.max_records ({self.limits.max_records} records)")
        self.records += ancount
        whole = self.whole
        cased = self.cased
        origin_key = self._origin_key
        depth = len(origin_key)
        pack = RECORD.pack
        try:
            for owner, rdtype, rdclass, ttl, rdata in answer_records(wire, qdcount, ancount):
                key = owner[0]
                if (
                    self.state == _WHOLE
                    and rdtype != SOA
                    and rdclass == IN
                    and key[len(key) - depth :] == origin_key  # a shorter slice is never equal
                ):
                    # Most of a big transfer: a record added to the whole zone.
                    _hold(whole, key, pack(rdtype, ttl, len(rdata)) + rdata)
                    if owner[3]:
                        cased[key] = dns.name.Name(owner[1])
                    continue
                if self.state == _DONE:
                    raise BadTransfer("records after the final SOA")
                self._record(owner, rdtype, rdclass, ttl, rdata)
        except (WireError, dns.exception.DNSException) as e:  # a label too long, say (found by fuzzing)
            raise BadTransfer(f"message {self.messages} does not parse: {e}") from None
        if self.state == _SECOND and self.serial == self.current.serial:
            self.state = _DONE  # a lone SOA with our serial: nothing to do
            self.kind = UP_TO_DATE
        return self.state == _DONE

    def _record(self, owner: Owner, rdtype: int, rdclass: int, ttl: int, rdata: bytes) -> None:
        key = owner[0]
        if rdclass != IN:
            raise BadTransfer(
                f"{_text(owner)} {dns.rdataclass.to_text(rdclass)} {dns.rdatatype.to_text(rdtype)}: class is not IN"
            )
        if not self._inside(key):
            raise BadTransfer(f"{_text(owner)} {dns.rdatatype.to_text(rdtype)} is outside the zone {self.origin}")
        state = self.state
        if rdtype == SOA:
            self._soa(owner, ttl, rdata)
        elif state == _FIRST:
            raise BadTransfer(f"the transfer starts with {dns.rdatatype.to_text(rdtype)}, not the SOA")
        elif state in (_WHOLE, _SECOND):  # _SECOND, and not an SOA: the IXFR is a whole zone
            if state == _SECOND:
                self._start_whole()
            _hold(self.whole, key, RECORD.pack(rdtype, ttl, len(rdata)) + rdata)
        else:
            record = _rdata(rdtype, rdata)
            if state == _ADDING:
                self._add(owner, rdtype, ttl, record)
            else:
                self._delete(owner, rdtype, record)
        if owner[3]:
            self.cased[key] = dns.name.Name(owner[1])

    def _inside(self, key: OwnerKey) -> bool:
        return key[len(key) - len(self._origin_key) :] == self._origin_key  # a shorter slice is never equal

    def _soa(self, owner: Owner, ttl: int, wire: bytes) -> None:
        rdata = _rdata(SOA, wire)
        serial = rdata.serial
        at_apex = owner[0] == self._origin_key
        state = self.state
        if state == _FIRST:
            if not at_apex:
                raise BadTransfer(f"the transfer starts with the SOA of {_text(owner)}, not of {self.origin}")
            self.serial = serial
            self.new_soa = (ttl, rdata, RECORD.pack(SOA, ttl, len(wire)) + wire)
            current = self.current
            if current is not None and not serial_gt(serial, current.serial) and serial != current.serial:
                raise SerialNotNewer(f"master's serial {serial} is older than ours ({current.serial})")
            if self.style == AXFR:
                self._start_whole()
            else:
                self.state = _SECOND
            return
        if not at_apex:
            if self.style == IXFR and state != _WHOLE:
                raise IxfrUnusable(f"SOA at {_text(owner)}, not at the apex")
            raise BadTransfer(f"SOA at {_text(owner)}, not at the apex")
        if state == _WHOLE:
            if serial != self.serial:
                raise BadTransfer(f"the final SOA has serial {serial}, the first had {self.serial}")
            self.state = _DONE
        elif state == _SECOND:
            if serial == self.serial:
                raise BadTransfer("the zone holds nothing but its SOA")
            if serial != self.current.serial:
                raise IxfrUnusable(f"IXFR starts from serial {serial}, ours is {self.current.serial}")
            self.kind = IXFR
            self.working_serial = serial
            self.state = _DELETING
        elif state == _DELETING:
            self.working_serial = serial  # the version this diff leads to
            self.state = _ADDING
        elif state == _ADDING:
            if serial == self.serial and self.working_serial == self.serial:
                self._finish_soa()
                self.state = _DONE
            elif serial == self.working_serial:
                self.state = _DELETING  # the next diff starts from where we are
            else:
                raise IxfrUnusable(f"IXFR diff starts from serial {serial}, the previous one ended at {self.working_serial}")

    # -- building the new version

    def _start_whole(self) -> None:
        self.kind = AXFR
        self.state = _WHOLE
        self.whole.clear()
        self.touched = {}
        self.cased.clear()
        self.whole[self._origin_key] = self.new_soa[2]
        if self.origin.labels != self._origin_key:
            self.cased[self._origin_key] = self.origin

    def _writable(self, key: OwnerKey) -> dict[tuple[int, int], dns.rdataset.Rdataset]:
        """The RRsets of C{key}, ours to change: made from the served version's records."""
        rdatasets = self.touched.get(key)
        if rdatasets is None:
            blob = self.current.owners.get(key)
            found = decode(blob) if blob is not None else []
            self.touched_before += sum(len(rds) for rds in found)
            rdatasets = self.touched[key] = {(rds.rdtype, rds.covers): rds for rds in found}
        return rdatasets

    def _delete(self, owner: Owner, rdtype: int, rdata) -> None:
        rdatasets = self._writable(owner[0])
        covers = rdata.covers() if rdtype == RRSIG else NONE
        rds = rdatasets.get((rdtype, covers))
        if rds is None or rdata not in rds:
            raise IxfrUnusable(
                f"IXFR deletes {_text(owner)} {dns.rdatatype.to_text(rdtype)} {rdata.to_text()[:80]}, which we do not have"
            )
        rds.discard(rdata)
        if not rds:
            del rdatasets[(rdtype, covers)]

    def _add(self, owner: Owner, rdtype: int, ttl: int, rdata) -> None:
        rdatasets = self._writable(owner[0])
        covers = rdata.covers() if rdtype == RRSIG else NONE
        rds = rdatasets.get((rdtype, covers))
        if rds is None:
            rds = rdatasets[(rdtype, covers)] = dns.rdataset.Rdataset(IN, rdtype, covers)
        rds.add(rdata)
        rds.ttl = ttl  # the TTL the diff sets is the RRset's from now on

    def _finish_soa(self) -> None:
        ttl, rdata, _ = self.new_soa
        rds = dns.rdataset.Rdataset(IN, SOA)
        rds.add(rdata, ttl)
        self._writable(self._origin_key)[(SOA, NONE)] = rds

    # -- the result

    def finish(self) -> TransferResult:
        """
        The new version, built and checked.

        @raise BadTransfer: the response ended before the final SOA, or the
            zone it holds is invalid (L{secdns.zones.version.from_owners}'s checks).
        @raise LimitExceeded: an IXFR left more records than allowed.
        @raise SerialNotNewer: the new serial is not newer than ours.
        """
        if self.state != _DONE:
            raise BadTransfer(f"the {self.style} ended after {self.records} records, without the final SOA")
        if self.kind == UP_TO_DATE:
            return self._result(None)
        if self.current is not None and not serial_gt(self.serial, self.current.serial):
            raise SerialNotNewer(f"master's serial {self.serial} is not newer than ours ({self.current.serial})")
        if self.kind == IXFR:
            owners, cased, count = self._applied()
        else:
            owners, cased, count = self._whole_zone()
        try:
            data = from_owners(self.origin, owners, cased, count)
        except ZoneLoadError as e:
            raise BadTransfer(e.problem) from None
        if self.kind == IXFR and data.record_count > self.limits.max_records:
            raise LimitExceeded(
                f"the zone would hold {data.record_count} records, over transfer.max_records ({self.limits.max_records})"
            )
        return self._result(data)

    def _whole_zone(self) -> tuple[dict, dict, int]:
        """The AXFR's owners in compact form; duplicates dropped, RRsets made whole."""
        owners = self.whole
        count = len(owners)
        for key, held in owners.items():
            if type(held) is list:
                owners[key], held_count = normalize(held)
                count += held_count - 1
        self.whole = {}
        return owners, self.cased, count

    def _applied(self) -> tuple[dict, dict, int]:
        """The served version's owners with the IXFR's changes applied."""
        owners = dict(self.current.owners)
        cased = dict(self.current.cased)
        cased.update(self.cased)
        count = self.current.record_count - self.touched_before
        for key, rdatasets in self.touched.items():
            if rdatasets:
                owners[key] = encode(rdatasets.values())
                count += sum(len(rds) for rds in rdatasets.values())
            else:
                owners.pop(key, None)
                cased.pop(key, None)
        return owners, cased, count

    def _result(self, data: ZoneData | None) -> TransferResult:
        return TransferResult(self.kind, self.style, self.serial, data, self.records, self.size, self.messages)


def _hold(whole: dict, key: OwnerKey, record: bytes) -> None:
    """Add C{record} to C{key}'s in C{whole}: a list only for owners of several."""
    held = whole.get(key)
    if held is None:
        whole[key] = record
    elif type(held) is bytes:
        whole[key] = [held, record]
    else:
        held.append(record)


def _text(owner: Owner) -> str:
    return str(dns.name.Name(owner[1]))


def _rdata(rdtype: int, wire: bytes) -> dns.rdata.Rdata:
    try:
        return dns.rdata.from_wire(IN, rdtype, wire, 0, len(wire))
    except (dns.exception.DNSException, ValueError) as e:
        raise BadTransfer(f"{dns.rdatatype.to_text(rdtype)} record does not parse: {e}") from None


# -- the I/O shell


class IMasterClient(Interface):
    """What a secondary zone asks of its masters (L{secdns.transfer.refresh})."""

    def soa_serial(target: Target, origin: dns.name.Name) -> defer.Deferred:
        """
        Ask C{target} for the SOA of C{origin}.

        @return: a Deferred of the serial (an int); it fails with the
            reason when the master does not answer authoritatively.
        """

    def transfer(target: Target, origin: dns.name.Name, current: ZoneData | None, style: str) -> defer.Deferred:
        """
        Transfer C{origin} from C{target}: an L{AXFR}, or an L{IXFR} from C{current}.

        @return: a Deferred of a L{TransferResult}, failing with a
            L{TransferError} (L{IxfrUnusable}: try an AXFR) or the
            request's error; cancelling it abandons the transfer.
        """


@implementer(IMasterClient)
class MasterClient:
    """
    SOA queries and transfers to real masters, through a L{Requestor}, with
    the timeouts and limits of C{[transfer]} (C{settings} returns the table
    in force).

    C{worker(f, *args)} runs the parsing of each message and the building
    of the new version, and returns a Deferred of the result: the appliance
    runs them in a thread, so that a big zone's parsing does not hold up
    queries (the GIL is handed back every few milliseconds); tests run
    them inline.  The L{Inbound} is used by one such call at a time, in
    the order of the messages.

    With C{freeze}, what each message added is moved out of the garbage
    collector's sight (L{gc.freeze}): a transfer's objects live as long as
    the zone, and without this each full collection rescans them all, a
    pause of the whole process that grew to 300 ms, every second or so,
    during a 200,000-record transfer.  Young cyclic garbage is collected
    first, so what is frozen is what is alive.
    """

    def __init__(
        self,
        requestor: Requestor,
        settings: Callable[[], TransferConfig] = TransferConfig,
        worker: Callable[..., defer.Deferred] = defer.maybeDeferred,
        freeze: bool = False,
    ) -> None:
        self.requestor = requestor
        self.settings = settings  # read at each request, so a reload takes effect at once
        self.worker = worker
        self.freeze = freeze

    @property
    def config(self) -> TransferConfig:
        return self.settings()

    def soa_serial(self, target: Target, origin: dns.name.Name) -> defer.Deferred:
        """The serial of the master's SOA for C{origin} (a Deferred of an int)."""
        query = dns.message.make_query(origin, SOA)
        d = self.requestor.query(target, query.to_wire(), timeout=self.config.soa_timeout)
        return d.addCallback(_serial_from, target, origin)

    def transfer(self, target: Target, origin: dns.name.Name, current: ZoneData | None, style: str) -> defer.Deferred:
        """
        An AXFR, or an IXFR from C{current}'s serial, over TCP.

        @return: a Deferred of a L{TransferResult}; cancelling it closes the connection.
        """
        query = dns.message.make_query(origin, dns.rdatatype.AXFR if style == AXFR else dns.rdatatype.IXFR)
        if style == IXFR:
            query.authority.append(_rrset(origin, current.soa))
        config = self.config
        inbound = Inbound(origin, style, current, Limits.from_config(config))
        d = self.requestor.stream(
            target,
            query.to_wire(),
            lambda wire: self.worker(self._process, inbound, wire),
            connect_timeout=config.connect_timeout,
            message_timeout=config.message_timeout,
            total_timeout=config.transfer_timeout,
        )
        return d.addCallback(lambda _: self.worker(self._finish, inbound)).addErrback(self._failed, inbound)

    def _failed(self, failure, inbound: Inbound):
        inbound.discard()
        return failure

    def _process(self, inbound: Inbound, wire: bytes) -> bool:
        done = inbound.process(wire)
        if self.freeze and inbound.records >= inbound.settled + SETTLE_EVERY:
            # A big transfer's records, out of the collector's sight now and
            # then; not after every message, for each settle is a collection.
            inbound.settled = inbound.records
            heap.settle()
        return done

    def _finish(self, inbound: Inbound) -> TransferResult:
        if not self.freeze:
            return inbound.finish()
        # Building the version makes an object or more per name: with the
        # collector on, its full collections would rescan them as they come.
        return heap.built(inbound.finish)



def _rrset(name: dns.name.Name, rds: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(name, rds.rdclass, rds.rdtype)
    rrset.update(rds)
    return rrset


def _serial_from(wire: bytes, target: Target, origin: dns.name.Name) -> int:
    check_rcode(wire, target)
    try:
        message = dns.message.from_wire(wire, keyring=False)
    except dns.exception.DNSException as e:
        raise BadResponse(f"{target}: SOA answer does not parse: {e}") from None
    if not message.flags & dns.flags.AA:
        raise BadResponse(f"{target} is not authoritative for {origin}")
    for rrset in message.answer:
        if rrset.rdtype == SOA and rrset.name == origin and len(rrset):
            return rrset[0].serial
    raise BadResponse(f"{target} answered without the SOA of {origin}")
