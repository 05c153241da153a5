# -*- test-case-name: tests.unit.test_notifier -*-
"""
NOTIFY out (RFC 1996): tell each downstream that a zone has a new version.

One NOTIFY at a time per downstream and zone, as Knot does: a change that
comes while one is in flight is sent once that one ends, carrying the
newest SOA, so quick changes never make a storm.  A NOTIFY that gets no
answer is sent again after 2, 4, 8, ... seconds, up to L{ATTEMPTS} times,
to that downstream only; one answered with an error RCODE is logged and
not repeated (the downstream has said no).
"""

from __future__ import annotations

from typing import Callable

import attrs
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from secdns.config import PeerConfig
from secdns.zones.status import Outcome
from secdns.transfer.requestor import PeerRcode, Requestor, Target, check_rcode
from secdns.wire.tsig import Keyring
from secdns.zones.zone import Zone

__all__ = ["Notifier", "ATTEMPTS", "FIRST_TIMEOUT", "notify_message"]

log = Logger()

#: Sends of one NOTIFY before giving up (BIND: 5).
ATTEMPTS = 5
#: Seconds to wait for the first answer; doubled at each retry.
FIRST_TIMEOUT = 2.0


def notify_message(zone: Zone) -> bytes:
    """A NOTIFY for the zone's current version: AA set, its SOA in the answer (RFC 1996 section 3.7)."""
    message = dns.message.make_query(zone.name, dns.rdatatype.SOA)
    message.set_opcode(dns.opcode.NOTIFY)
    message.flags = dns.flags.AA | dns.opcode.to_flags(dns.opcode.NOTIFY)
    data = zone.data
    soa = dns.rrset.RRset(zone.name, dns.rdataclass.IN, dns.rdatatype.SOA)
    soa.update(data.soa)
    message.answer.append(soa)
    return message.to_wire()


@attrs.define(eq=False)
class _Downstream:
    """What is owed to one downstream for one zone."""

    zone: Zone
    peer: PeerConfig
    serial: int
    sending: int | None = None  # the serial of the NOTIFY in flight
    attempt: int = 0
    retry: object = None  # the delayed call of the next attempt


@attrs.define(eq=False)
class Notifier:
    """
    Sends NOTIFYs for primary zones to their C{external_downstreams}.

    @ivar keyring: the current keys (a downstream's key is looked up at each send).
    @ivar sent: NOTIFYs answered, per zone label.
    @ivar failed: NOTIFYs given up on or refused, per zone label.
    @ivar on_failure: told C{(zone, downstream, serial, reason)} of each NOTIFY refused or given up on.
    """

    requestor: Requestor
    clock: IReactorTime
    keyring: Callable[[], Keyring]
    attempts: int = ATTEMPTS
    first_timeout: float = FIRST_TIMEOUT
    sent: dict[str, int] = attrs.Factory(dict)
    failed: dict[str, int] = attrs.Factory(dict)
    on_failure: Callable[..., None] = lambda zone, downstream, serial, reason: None
    _owed: dict[tuple, _Downstream] = attrs.Factory(dict)
    _results: dict[tuple, Outcome] = attrs.Factory(dict)

    def last_result(self, name: dns.name.Name, address: str, port: int) -> Outcome | None:
        """How the last NOTIFY of zone C{name} to that downstream ended, if one did."""
        return self._results.get((name, address, port))

    def _outcome(self, key, ok: bool, detail: str) -> None:
        self._results[key] = Outcome(self.clock.seconds(), ok, detail)

    def notify(self, zone: Zone) -> None:
        """Tell every downstream of C{zone} about its current version."""
        if zone.data is None:
            return
        for peer in zone.config.external_downstreams:
            key = (zone.name, peer.address, peer.port)
            owed = self._owed.get(key)
            if owed is None:
                owed = self._owed[key] = _Downstream(zone, peer, zone.serial)
            owed.zone, owed.peer, owed.serial = zone, peer, zone.serial
            if owed.sending is None:
                self._cancel_retry(owed)
                owed.attempt = 0
                self._send(key, owed)

    def forget(self, name: dns.name.Name) -> None:
        """Stop notifying for a zone that was removed."""
        for key in [key for key in self._owed if key[0] == name]:
            self._cancel_retry(self._owed.pop(key))
        for key in [key for key in self._results if key[0] == name]:
            del self._results[key]

    def stop(self) -> None:
        for owed in self._owed.values():
            self._cancel_retry(owed)
        self._owed.clear()

    def _send(self, key, owed: _Downstream) -> None:
        owed.retry = None
        owed.attempt += 1
        owed.sending = owed.serial
        peer = owed.peer
        target = Target(peer.address, peer.port, self.keyring().get(peer.tsig_key))
        timeout = self.first_timeout * 2 ** (owed.attempt - 1)
        d = self.requestor.query(target, notify_message(owed.zone), udp=True, timeout=timeout)
        d.addCallback(self._answered, key, owed, target)
        d.addErrback(self._failed, key, owed, target)

    def _answered(self, response: bytes, key, owed: _Downstream, target: Target) -> None:
        label = owed.zone.label
        try:
            check_rcode(response, target)
        except PeerRcode as e:
            self._count(self.failed, label)
            self._outcome(key, False, str(e))
            self.on_failure(owed.zone, str(target), owed.sending, str(e))
            self._done(key, owed)
            return
        log.info("NOTIFY of {zone} serial {serial} answered by {target}", zone=label, serial=owed.sending, target=target)
        self._count(self.sent, label)
        self._outcome(key, True, f"serial {owed.sending}")
        self._done(key, owed)

    def _failed(self, failure, key, owed: _Downstream, target: Target) -> None:
        label = owed.zone.label
        reason = failure.getErrorMessage()
        if self._owed.get(key) is not owed:
            return  # forgotten meanwhile
        if owed.serial != owed.sending:
            # A newer version came while this one went unanswered: tell
            # the downstream that one now, with its own attempts (as Knot
            # does), rather than after this one's back-off.
            owed.sending = None
            owed.attempt = 0
            self._send(key, owed)
            return
        if owed.attempt < self.attempts:
            delay = self.first_timeout * 2 ** (owed.attempt - 1)
            log.info(
                "NOTIFY of {zone} to {target} failed ({reason}); again in {delay:.0f} s",
                zone=label, target=target, reason=reason, delay=delay,
            )
            owed.sending = None
            owed.retry = self.clock.callLater(delay, self._send, key, owed)
            return
        self._count(self.failed, label)
        reason = f"no answer after {owed.attempt} attempts ({reason})"
        self._outcome(key, False, reason)
        self.on_failure(owed.zone, str(target), owed.sending, reason)
        self._done(key, owed)

    def _done(self, key, owed: _Downstream) -> None:
        sent = owed.sending
        owed.sending = None
        if self._owed.get(key) is not owed:
            return
        if sent != owed.serial:  # changed while in flight: tell it the newest
            owed.attempt = 0
            self._send(key, owed)
            return
        del self._owed[key]

    def _cancel_retry(self, owed: _Downstream) -> None:
        if owed.retry is not None and owed.retry.active():
            owed.retry.cancel()
        owed.retry = None

    @staticmethod
    def _count(counter: dict[str, int], label: str) -> None:
        counter[label] = counter.get(label, 0) + 1
