# -*- test-case-name: tests.unit.test_xfrin -*-
"""
Inbound zone transfers: IXFR (RFC 1995) and AXFR (RFC 5936).

L{Inbound} is the state machine, without I/O (as dnspython's
C{dns.xfr.Inbound}): the messages of a response go in one at a time, and
when the last one is in, L{Inbound.finish} returns a new L{ZoneData}.  The
version being served is never touched: an IXFR is applied to a
copy-on-write view of it (unchanged owners and RRsets are shared, touched
ones copied), so until the new version is swapped in, queries keep
reading the old one whole.

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

Messages are parsed here rather than by C{dns.message.from_wire}: only the
answer section is read, owner names repeated through compression pointers
are parsed once per message, and no RRset object is built per record.

L{MasterClient} is the thin I/O shell: an SOA query and a transfer to one
master, through a L{secdns.requestor.Requestor}.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import struct
import threading
from typing import Callable, Iterator

import attrs
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.node
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone
from twisted.internet import defer
from zope.interface import Interface, implementer

from secdns.config import TransferConfig
from secdns.errors import SecdnsError, ZoneLoadError
from secdns.requestor import BadResponse, PeerRcode, Requestor, Target, check_rcode
from secdns.serial import serial_gt
from secdns.zonedata import ZoneData, from_zone

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

AXFR = "AXFR"
IXFR = "IXFR"
UP_TO_DATE = "up to date"

_RR = struct.Struct("!HHIH")
_SINGLETONS = frozenset(t for t in dns.rdatatype.RdataType if dns.rdatatype.is_singleton(t))
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
        self.new_soa: tuple[int, dns.rdata.Rdata] | None = None  # (ttl, rdata) of the first SOA
        self.serial: int | None = None
        self.working_serial: int | None = None  # IXFR: the serial the diffs have reached
        # AXFR: owner -> {(type, covers): rdataset}.  IXFR: the owners touched,
        # over current.nodes, and the RRsets that are ours to change (copies,
        # or new), by identity: the served version's are never changed.
        self.owners: dict[dns.name.Name, dict[tuple[int, int], dns.rdataset.Rdataset]] = {}
        self.ours: dict[int, dns.rdataset.Rdataset] = {}
        self._origin_labels = tuple(label.lower() for label in origin.labels)

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
        try:
            for record in _answer_records(wire, qdcount, ancount):
                if self.state == _DONE:
                    raise BadTransfer("records after the final SOA")
                self._record(*record)
        except (struct.error, IndexError, dns.exception.DNSException) as e:
            raise BadTransfer(f"message {self.messages} does not parse: {e}") from None
        if self.state == _SECOND and self.serial == self.current.serial:
            self.state = _DONE  # a lone SOA with our serial: nothing to do
            self.kind = UP_TO_DATE
        return self.state == _DONE

    def _record(self, name: dns.name.Name, rdtype: int, rdclass: int, ttl: int, rdata) -> None:
        self.records += 1
        if self.records > self.limits.max_records:
            raise LimitExceeded(f"transfer exceeds transfer.max_records ({self.limits.max_records} records)")
        if rdclass != IN:
            raise BadTransfer(f"{name} {dns.rdataclass.to_text(rdclass)} {dns.rdatatype.to_text(rdtype)}: class is not IN")
        if not self._inside(name):
            raise BadTransfer(f"{name} {dns.rdatatype.to_text(rdtype)} is outside the zone {self.origin}")
        state = self.state
        if rdtype == SOA:
            self._soa(name, ttl, rdata)
        elif state == _FIRST:
            raise BadTransfer(f"the transfer starts with {dns.rdatatype.to_text(rdtype)}, not the SOA")
        elif state == _WHOLE:
            self._add_whole(name, rdtype, ttl, rdata)
        elif state == _ADDING:
            self._add(name, rdtype, ttl, rdata)
        elif state == _DELETING:
            self._delete(name, rdtype, rdata)
        else:  # _SECOND, and not an SOA: the IXFR is a whole zone
            self._start_whole()
            self._add_whole(name, rdtype, ttl, rdata)

    def _inside(self, name: dns.name.Name) -> bool:
        """C{name.is_subdomain(origin)}, in a tenth of the time: labels compared as bytes."""
        count = len(self._origin_labels)
        labels = name.labels
        if len(labels) < count:
            return False
        return tuple(label.lower() for label in labels[len(labels) - count :]) == self._origin_labels

    def _soa(self, name: dns.name.Name, ttl: int, rdata) -> None:
        serial = rdata.serial
        at_apex = name == self.origin
        state = self.state
        if state == _FIRST:
            if not at_apex:
                raise BadTransfer(f"the transfer starts with the SOA of {name}, not of {self.origin}")
            self.serial = serial
            self.new_soa = (ttl, rdata)
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
                raise IxfrUnusable(f"SOA at {name}, not at the apex")
            raise BadTransfer(f"SOA at {name}, not at the apex")
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
        self.owners = {}
        ttl, rdata = self.new_soa
        self._add_whole(self.origin, SOA, ttl, rdata)

    def _add_whole(self, name, rdtype, ttl, rdata) -> None:
        rdatasets = self.owners.get(name)
        if rdatasets is None:
            rdatasets = self.owners[name] = {}
        covers = rdata.covers() if rdtype == dns.rdatatype.RRSIG else NONE
        rds = rdatasets.get((rdtype, covers))
        if rds is None:
            rds = rdatasets[(rdtype, covers)] = dns.rdataset.Rdataset(IN, rdtype, covers)
            rds.ttl = ttl
        elif rdtype in _SINGLETONS:
            rds.add(rdata, ttl)  # dnspython's rule: the last one stays
            return
        elif ttl < rds.ttl:
            rds.ttl = ttl  # as Rdataset.update_ttl: an RRset has one TTL, the lowest
        rds.items.setdefault(rdata)  # Rdataset.add without its checks: one hash, not two

    def _writable(self, name: dns.name.Name) -> dict[tuple[int, int], dns.rdataset.Rdataset]:
        rdatasets = self.owners.get(name)
        if rdatasets is None:
            node = self.current.nodes.get(name)
            rdatasets = {} if node is None else {(rds.rdtype, rds.covers): rds for rds in node.rdatasets}
            self.owners[name] = rdatasets
        return rdatasets

    def _copy(self, rdatasets, key) -> dns.rdataset.Rdataset | None:
        """The RRset at C{key}, copied first if it is still the served version's."""
        rds = rdatasets.get(key)
        if rds is not None and id(rds) not in self.ours:
            rds = rds.copy()
            rdatasets[key] = rds
            self.ours[id(rds)] = rds
        return rds

    def _delete(self, name, rdtype, rdata) -> None:
        rdatasets = self._writable(name)
        covers = rdata.covers() if rdtype == dns.rdatatype.RRSIG else NONE
        rds = rdatasets.get((rdtype, covers))
        if rds is None or rdata not in rds:
            raise IxfrUnusable(
                f"IXFR deletes {name} {dns.rdatatype.to_text(rdtype)} {rdata.to_text()[:80]}, which we do not have"
            )
        rds = self._copy(rdatasets, (rdtype, covers))
        rds.discard(rdata)
        if not rds:
            del rdatasets[(rdtype, covers)]

    def _add(self, name, rdtype, ttl, rdata) -> None:
        rdatasets = self._writable(name)
        covers = rdata.covers() if rdtype == dns.rdatatype.RRSIG else NONE
        rds = self._copy(rdatasets, (rdtype, covers))
        if rds is None:
            rds = rdatasets[(rdtype, covers)] = dns.rdataset.Rdataset(IN, rdtype, covers)
            self.ours[id(rds)] = rds
        rds.add(rdata)
        rds.ttl = ttl  # the TTL the diff sets is the RRset's from now on

    def _finish_soa(self) -> None:
        ttl, rdata = self.new_soa
        rds = dns.rdataset.Rdataset(IN, SOA)
        rds.add(rdata, ttl)
        rdatasets = self._writable(self.origin)
        rdatasets[(SOA, NONE)] = rds
        self.ours[id(rds)] = rds

    # -- the result

    def finish(self) -> TransferResult:
        """
        The new version, built and checked.

        @raise BadTransfer: the response ended before the final SOA, or the
            zone it holds is invalid (L{secdns.zonedata.from_zone}'s checks).
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
            nodes = dict(self.current.nodes)
        else:
            nodes = {}
        for name, rdatasets in self.owners.items():
            if rdatasets:
                node = dns.node.Node()
                node.rdatasets.extend(rdatasets.values())
                nodes[name] = node
            else:
                nodes.pop(name, None)
        zone = dns.zone.Zone(self.origin, relativize=False)
        zone.nodes = nodes
        try:
            data = from_zone(zone)
        except ZoneLoadError as e:
            raise BadTransfer(e.problem) from None
        if self.kind == IXFR and data.record_count > self.limits.max_records:
            raise LimitExceeded(
                f"the zone would hold {data.record_count} records, over transfer.max_records ({self.limits.max_records})"
            )
        return self._result(data)

    def _result(self, data: ZoneData | None) -> TransferResult:
        return TransferResult(self.kind, self.style, self.serial, data, self.records, self.size, self.messages)


# -- parsing


def _answer_records(wire: bytes, qdcount: int, count: int) -> Iterator[tuple]:
    """
    The records of the answer section as (owner, type, class, TTL, rdata),
    after the C{qdcount} questions.

    Owner names are decompressed here, and a name met before in the message
    (through a compression pointer, as most owners are) is not parsed
    again; A and AAAA rdata, the bulk of big zones, are built directly.
    """
    names: dict[int, dns.name.Name] = {}
    rdata_from_wire = dns.rdata.from_wire
    fast = _FAST_RDATA
    unpack = _RR.unpack_from
    end = len(wire)
    offset = 12
    for _ in range(qdcount):
        offset = _read_name(wire, offset, names)[1] + 4  # the zone's name: owners point to it
    for _ in range(count):
        name, offset = _read_name(wire, offset, names)
        rdtype, rdclass, ttl, rdlength = unpack(wire, offset)
        offset += 10
        if offset + rdlength > end:
            raise BadTransfer("a record runs past the end of the message")
        build = fast.get(rdtype) if rdclass == IN else None
        if build is not None and rdlength == build[1]:
            rdata = build[0](wire[offset : offset + rdlength])
        else:
            rdata = rdata_from_wire(rdclass, rdtype, wire, offset, rdlength)
        offset += rdlength
        yield name, rdtype, rdclass, ttl, rdata


def _read_name(wire: bytes, offset: int, names: dict[int, dns.name.Name]) -> tuple[dns.name.Name, int]:
    """
    The name at C{offset}, and the offset after it.  C{names} maps offsets
    of names already read to them: it is used to end a name at a pointer
    to one of them, and the name read is added to it.
    """
    labels: list[bytes] = []
    starts: list[int] = []  # where each label read from the wire starts
    after = None
    position = offset
    for _ in range(128):
        length = wire[position]
        if length >= 0xC0:
            if after is None:
                after = position + 2
            target = ((length & 0x3F) << 8) | wire[position + 1]
            known = names.get(target)
            if known is not None:
                labels.extend(known.labels)
                break
            if target >= (starts[-1] if starts else position):
                raise BadTransfer("a compression pointer does not point back")
            position = target
            continue
        if length > 63:
            raise BadTransfer(f"label type {length >> 6} is not supported")
        starts.append(position)
        if length == 0:
            labels.append(b"")
            if after is None:
                after = position + 1
            break
        labels.append(wire[position + 1 : position + 1 + length])
        position += length + 1
    else:
        raise BadTransfer("a name has too many labels")
    if sum(len(label) + 1 for label in labels) > 255:
        raise BadTransfer("a name is longer than 255 octets")
    name = _name(tuple(labels))
    # Each label read starts a suffix that later pointers may name.
    for i, start in enumerate(starts):
        if start not in names and i < len(labels) - 1:
            names[start] = name if i == 0 else _name(tuple(labels[i:]))
    names.setdefault(offset, name)
    return name, after


# -- building names and rdata without dnspython's generic parsers
#
# dnspython's Name and A/AAAA constructors validate what the wire format
# already guarantees, and A/AAAA go through text; at a million records that
# is most of a transfer's time.  These build the same immutable objects
# directly (their slots set as dnspython's own __init__ would), and are
# only used if, at import, they give objects equal in every way that
# matters to dnspython's own; otherwise the generic paths are used.


def _name_direct(labels: tuple[bytes, ...]) -> dns.name.Name:
    name = object.__new__(dns.name.Name)
    object.__setattr__(name, "labels", labels)
    return name


def _address_builder(cls, rdtype, family):
    def build(data: bytes):
        rdata = object.__new__(cls)
        object.__setattr__(rdata, "rdclass", dns.rdataclass.IN)
        object.__setattr__(rdata, "rdtype", rdtype)
        object.__setattr__(rdata, "rdcomment", None)
        object.__setattr__(rdata, "address", socket.inet_ntop(family, data))
        return rdata

    return build


def _same(fast, slow) -> bool:
    return (
        type(fast) is type(slow)
        and fast == slow
        and hash(fast) == hash(slow)
        and fast.to_text() == slow.to_text()
        and fast.to_wire() == slow.to_wire()
    )


def _checked_fast_paths():
    """The direct builders that agree with dnspython here, else the generic ones."""
    import dns.rdtypes.IN.A
    import dns.rdtypes.IN.AAAA

    name = dns.name.from_text("Www.Example.com")
    name_builder = _name_direct if _same(_name_direct(name.labels), name) else dns.name.Name
    rdata = {}
    for cls, rdtype, family, sample in (
        (dns.rdtypes.IN.A.A, dns.rdatatype.A, socket.AF_INET, b"\xc0\x00\x02\x01"),
        (dns.rdtypes.IN.AAAA.AAAA, dns.rdatatype.AAAA, socket.AF_INET6, b"\x20\x01\x0d\xb8" + b"\x00" * 11 + b"\x01"),
    ):
        build = _address_builder(cls, rdtype, family)
        if _same(build(sample), dns.rdata.from_wire(IN, rdtype, sample, 0, len(sample))):
            rdata[rdtype] = (build, len(sample))
    return name_builder, rdata


_name, _FAST_RDATA = _checked_fast_paths()


# -- the I/O shell


class IMasterClient(Interface):
    """What a secondary zone asks of its masters (L{secdns.refresh})."""

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
        return d.addCallback(lambda _: self.worker(self._finish, inbound))

    def _process(self, inbound: Inbound, wire: bytes) -> bool:
        done = inbound.process(wire)
        self._settle()
        return done

    def _finish(self, inbound: Inbound) -> TransferResult:
        if not self.freeze:
            return inbound.finish()
        # Building the version makes an object or more per name: with the
        # collector on, its full collections would rescan them as they come.
        with _collector_held():
            result = inbound.finish()
            gc.freeze()
        return result

    def _settle(self) -> None:
        if self.freeze:
            gc.collect(1)
            gc.freeze()


_held = 0
_held_lock = threading.Lock()


@contextlib.contextmanager
def _collector_held():
    """The garbage collector off meanwhile (in every thread: it is per process), then on again."""
    global _held
    with _held_lock:
        _held += 1
        gc.disable()
    try:
        yield
    finally:
        with _held_lock:
            _held -= 1
            if _held == 0:
                gc.enable()


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
