# -*- test-case-name: tests.unit.test_refresh -*-
"""
Keeping a secondary zone's copy fresh (RFC 1034 section 4.3.5, RFC 1996).

One L{SecondaryZone} per secondary zone drives the zone's event table
(L{secdns.transfer.schedule}) with two events, REFRESH and EXPIRE.  A refresh, as
Knot's C{refresh.c} draws it::

    BEGIN ──> for each master (the one that last worked, or that sent the
       │      NOTIFY, first; then the config's order):
       │
       │      SOA query ──fails──────────────────────────────> next master
       │        │
       │        ├── serial == ours ──> UP TO DATE ─────────────> DONE
       │        ├── serial older ────> logged, not applied ────> next master
       │        └── serial newer (RFC 1982), or no copy yet:
       │              IXFR from ours ──unusable (NOTIMP, REFUSED,
       │                 │              FORMERR, cannot apply)──> AXFR
       │                 │                                          │
       │              (no copy: AXFR)                               │
       │                 ├──fails──────────────────────────────> next master
       │                 └── validated new version <────────────────┘
       │                       commit (journal, store, swap,
       │                       NOTIFY downstreams) ──fails──────> next master
       │                                                         ─> DONE
       │
       └── no master left ──> FAIL

    DONE: REFRESH in SOA refresh s, EXPIRE in SOA expire s (the zone's own
          SOA, clamped by [timers]); timers saved; served again if expired.
    FAIL: counted once, with every master's reason; REFRESH again in SOA
          retry s (+ up to 10% jitter); EXPIRE left where it was.
    EXPIRE: the zone is answered SERVFAIL (EDE 24) until a refresh succeeds.

A new version goes through the one commit path (L{secdns.core.commit}):
it is journaled and written to the store before it is swapped in, so what
was served before a crash is what a restart serves.  The timers are saved
with it, so a restart keeps the expire deadline: at start the stored copy
is read in a worker and served if its deadline has not passed (else held
as expired), and then a refresh runs.

L{SecondaryZone.retransfer} makes the next refresh an AXFR whatever the
serials say, as C{rndc retransfer} does.

A NOTIFY (L{SecondaryZone.notify}) for a serial we have changes nothing;
otherwise it schedules a refresh now: a burst of NOTIFYs before the
refresh starts makes one refresh, and NOTIFYs that arrive during a refresh
make one more only if they announced a serial newer than what it brought.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Callable

import attrs
import dns.name
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from secdns import heap
from secdns.wire import tsig
from secdns.config import PeerConfig, TimersConfig
from secdns.zones.events import RefreshRecovered, TransferFailed, TransferSucceeded, ZoneExpired, ZoneLoaded, ZoneUnexpired
from secdns.transfer.schedule import Event, ZoneEvents
from secdns.transfer.requestor import Target
from secdns.zones.serial import serial_gt
from secdns.store.database import Store, ZoneTimers, storage_failure
from secdns.transfer.transfer_in import AXFR, IXFR, UP_TO_DATE, IMasterClient, IxfrUnusable, TransferResult
from secdns.zones.zone import Zone

__all__ = ["SecondaryZone", "SecondaryStatus", "MasterStatus", "soa_timers", "JITTER", "UNLOADED_RETRY"]

log = Logger()

#: A failed refresh is retried after RETRY seconds plus up to this fraction
#: of it, so that zones failing together do not retry in lockstep.
JITTER = 0.1

#: The retry interval (before clamping) of a zone that has no SOA yet.
UNLOADED_RETRY = 60

#: Whatever the clamps say, never retry sooner than this.
MIN_DELAY = 1.0


def soa_timers(soa, clamps: TimersConfig) -> tuple[int, int, int]:
    """The SOA's refresh, retry and expire, clamped by C{[timers]}."""
    return (
        min(max(soa.refresh, clamps.min_refresh), clamps.max_refresh),
        min(max(soa.retry, clamps.min_retry), clamps.max_retry),
        min(max(soa.expire, clamps.min_expire), clamps.max_expire),
    )


@attrs.define
class MasterStatus:
    """What we know of one master: when it last answered, and last failed and why."""

    address: str
    port: int
    last_success: float | None = None
    last_failure: float | None = None
    last_error: str | None = None
    last_serial: int | None = None

    @property
    def reachable(self) -> bool | None:
        """Whether the last exchange with it worked (L{None}: never tried)."""
        if self.last_success is None and self.last_failure is None:
            return None
        return (self.last_failure or 0) <= (self.last_success or -1)

    def __str__(self) -> str:
        return f"{self.address}#{self.port}"


@attrs.frozen
class SecondaryStatus:
    """A snapshot of a secondary zone, for metrics and the API."""

    zone: str
    state: str  # unloaded, loaded, refreshing, expired
    serial: int | None
    successes: int
    failures: int
    last_success: float | None
    last_failure: float | None
    failure_reason: str | None
    next_refresh: float | None
    expire_at: float | None
    masters: tuple[MasterStatus, ...]


_ANY = object()  # a NOTIFY without a serial: refresh whatever we have


class SecondaryZone:
    """
    The refresh controller of one secondary zone (see the module docstring).

    @ivar zone: the L{Zone} served; replaced by L{reconfigure} on reload.
    @ivar clock: usually the reactor, when not testing.
    @ivar client: provides L{IMasterClient}: SOA queries and transfers.
    @ivar keyring: the TSIG keys the masters' C{tsig_key} names.
    @ivar commit: the commit path (L{secdns.core.commit.Committer.commit}).
    @ivar worker: runs C{f(*args)} and returns a Deferred of its result;
        in a thread in the appliance (a big stored copy is read there).
    @ivar publish: hears what happens to the zone (L{secdns.core.bus}).
    """

    def __init__(
        self,
        zone: Zone,
        clamps: TimersConfig,
        store: Store,
        clock: IReactorTime,
        client: IMasterClient,
        keyring: tsig.Keyring = tsig.Keyring(),
        random: Callable[[], float] = random.random,
        worker: Callable[..., defer.Deferred] = defer.maybeDeferred,
        *,
        commit: Callable[..., defer.Deferred],
        publish: Callable[[object], None] = lambda event: None,
    ) -> None:
        self.zone = zone
        self.clamps = clamps
        self.store = store
        self.clock = clock
        self.client = client
        self.keyring = keyring
        self._random = random
        self._worker = worker
        self._commit = commit
        self._publish = publish
        self.events = ZoneEvents(
            clock, {Event.REFRESH: self._refresh, Event.EXPIRE: self._expire}, zone.label
        )
        self.timers = ZoneTimers()
        self.successes = 0
        self.failures = 0
        self.masters: dict[tuple[str, int], MasterStatus] = {}
        self._preferred: str | None = None
        self._pending_notify: object = None  # serial (or _ANY) announced during a refresh
        self._whole = False  # the next refresh transfers the whole zone (retransfer)
        self._stopped = False
        self._in_flight: defer.Deferred | None = None
        self._sync_masters()

    @property
    def name(self) -> dns.name.Name:
        return self.zone.name

    @property
    def label(self) -> str:
        return self.zone.label

    def _now(self) -> float:
        return self.clock.seconds()

    # -- life cycle

    def start(self) -> defer.Deferred:
        """Serve the stored copy (if any), read in a worker, then refresh."""
        self.timers = self.store.load_timers(self.name) or ZoneTimers()
        d = self._worker(heap.built, self.store.load_zone, self.name)

        def loaded(stored):
            if self._stopped:
                return
            if stored is not None and self.zone.data is None:
                self._serve_stored(stored, self._now())
            if self.timers.expire_at is not None and self.zone.data is not None and not self.zone.expired:
                self.events.replace(Event.EXPIRE, self.timers.expire_at)
            self.events.schedule_now(Event.REFRESH)

        def unreadable(failure):
            log.failure("zone {zone}: cannot read its stored copy", failure, zone=self.label)
            self.events.schedule_now(Event.REFRESH)

        return d.addCallbacks(loaded, unreadable)

    def _serve_stored(self, stored, now: float) -> None:
        data = stored.data
        expire_at = self.timers.expire_at
        if expire_at is None:
            expire_at = stored.saved_at + soa_timers(data.soa[0], self.clamps)[2]
            self.timers = attrs.evolve(self.timers, expire_at=expire_at, last_success=stored.saved_at)
        self.zone.swap(data)
        self._publish(ZoneLoaded(self.label, now, data.serial, None, data.record_count, "store"))
        if now >= expire_at:
            self.zone.expired = True
            self._publish(ZoneExpired(self.label, now, data.serial, last_success=self.timers.last_success))

    def stop(self) -> defer.Deferred:
        """Stop refreshing: no more events, and a transfer in flight is abandoned."""
        self._stopped = True
        stopped = self.events.stop()  # first, so that the cancelled refresh is not logged as failed
        if self._in_flight is not None:
            self._in_flight.cancel()
        return stopped

    def reconfigure(self, zone: Zone, clamps: TimersConfig, keyring: tsig.Keyring) -> None:
        """Take the zone and settings of a reloaded config; new masters are asked at once."""
        masters_changed = zone.config.external_masters != self.zone.config.external_masters
        self.zone = zone
        self.clamps = clamps
        self.keyring = keyring
        self._sync_masters()
        if masters_changed:
            self.events.schedule_now(Event.REFRESH)

    def _sync_masters(self) -> None:
        configured = {(peer.address, peer.port): peer for peer in self.zone.config.external_masters}
        self.masters = {
            key: self.masters.get(key) or MasterStatus(peer.address, peer.port) for key, peer in configured.items()
        }

    # -- NOTIFY

    def notify(self, serial: int | None, address: str) -> bool:
        """
        A master announced a change (RFC 1996 section 3.11).

        @return: whether a refresh was scheduled.
        """
        data = self.zone.data
        if serial is not None and data is not None and serial == data.serial and not self.zone.expired:
            return False
        self._preferred = address
        if self.events.running is Event.REFRESH:
            previous = self._pending_notify
            if serial is None or previous is _ANY:
                self._pending_notify = _ANY
            elif previous is None or serial_gt(serial, previous):
                self._pending_notify = serial
            return True
        self.events.schedule_now(Event.REFRESH)
        return True

    def refresh_now(self) -> None:
        self.events.schedule_now(Event.REFRESH)

    def retransfer(self) -> None:
        """Transfer the whole zone (AXFR) now, whatever the serials say."""
        self._whole = True
        self.events.schedule_now(Event.REFRESH)

    # -- the REFRESH event

    def _order(self) -> list[PeerConfig]:
        peers = list(self.zone.config.external_masters)
        first = self._preferred
        self._preferred = None
        if first is None and self.timers.last_master:
            first = self.timers.last_master
        peers.sort(key=lambda peer: 0 if first in (peer.address, f"{peer.address}#{peer.port}") else 1)
        return peers

    def _target(self, peer: PeerConfig) -> Target:
        return Target(peer.address, peer.port, self.keyring.get(peer.tsig_key))

    def _refresh(self) -> defer.Deferred:
        self._pending_notify = None
        d = defer.Deferred.fromCoroutine(self._refresh_from_masters())
        self._in_flight = d

        def done(result):
            self._in_flight = None
            return result

        return d.addBoth(done)

    async def _refresh_from_masters(self) -> None:
        reasons = []
        for peer in self._order():
            target = self._target(peer)
            status = self.masters[(peer.address, peer.port)]
            try:
                outcome = await self._refresh_from(target)
            except defer.CancelledError:
                raise
            except Exception as e:
                reason = _reason(target, e)
                status.last_failure, status.last_error = self._now(), reason
                log.warn("zone {zone}: refresh from {master} failed: {reason}", zone=self.label, master=str(target), reason=reason)
                reasons.append(reason)
                continue
            status.last_success = self._now()
            self._succeeded(target, outcome)
            return
        self._failed("; ".join(reasons) or "no masters", str(target) if len(reasons) == 1 else None)

    async def _refresh_from(self, target: Target) -> TransferResult | None:
        """Refresh from one master: None when up to date, else what was applied."""
        serial = await self.client.soa_serial(target, self.name)
        self.masters[(target.address, target.port)].last_serial = serial
        current = self.zone.data
        whole, self._whole = self._whole, False
        if current is not None and whole:
            if not serial_gt(serial, current.serial) and serial != current.serial:
                raise _OlderSerial(f"master's serial {serial} is older than ours ({current.serial}); not applied")
        elif current is not None:
            if serial == current.serial:
                return None
            if not serial_gt(serial, current.serial):
                raise _OlderSerial(f"master's serial {serial} is older than ours ({current.serial}); not applied")
        started = self._now()
        if current is None or whole:
            result = await self.client.transfer(target, self.name, None, AXFR)
        else:
            try:
                result = await self.client.transfer(target, self.name, current, IXFR)
            except IxfrUnusable as e:
                log.info("zone {zone}: IXFR from {master} unusable ({reason}); trying AXFR", zone=self.label, master=str(target), reason=str(e))
                result = await self.client.transfer(target, self.name, current, AXFR)
        if result.kind == UP_TO_DATE:
            return None
        # Journal, store, then serve: the order that lets a restart serve
        # what was served.  The commit path does the big work in a worker.
        data = result.data
        old = self.zone.serial
        was_expired = self.zone.expired
        timers = self._timers_after_success(data, self._now(), target)
        if not await self._commit(self.zone, data, timers=timers, still_wanted=lambda: not self._stopped):
            raise defer.CancelledError()
        self._applied(target, result, timers, old, self._now() - started, was_expired)
        return result

    def _applied(self, target: Target, result: TransferResult, timers: ZoneTimers, old, seconds: float, was_expired: bool) -> None:
        """A new version was committed: count it and publish it."""
        data = result.data
        self.timers = timers
        self.successes += 1
        kind = result.kind if result.kind == result.style else f"{result.kind} (asked {result.style})"
        self._publish(
            TransferSucceeded(
                self.label, timers.last_success, kind, old, data.serial, str(target), result.records, seconds,
                messages=result.messages, size=result.size,
            )
        )
        if was_expired:
            self._publish(ZoneUnexpired(self.label, timers.last_success, data.serial))

    def _timers_after_success(self, data, now: float, target: Target) -> ZoneTimers:
        refresh, _, expire = soa_timers(data.soa[0], self.clamps)
        return attrs.evolve(
            self.timers,
            last_success=now,
            next_refresh=now + refresh,
            expire_at=now + expire,
            last_master=str(target),
        )

    def _succeeded(self, target: Target, result: TransferResult | None) -> None:
        now = self._now()
        if result is None:
            data = self.zone.data
            before = self.timers
            recovered = before.last_failure is not None and (
                before.last_success is None or before.last_failure > before.last_success
            )
            self.timers = self._timers_after_success(data, now, target)
            if self.zone.expired:
                self.zone.expired = False
                self._publish(ZoneUnexpired(self.label, now, data.serial, master=str(target)))
            elif recovered:  # the alarms clear on it
                self._publish(RefreshRecovered(self.label, now, data.serial, str(target)))
            else:
                log.debug("zone {zone}: serial {serial} is up to date", zone=self.label, serial=data.serial)
            self._save_timers()
        self._plan(self.timers.next_refresh)
        self.events.replace(Event.EXPIRE, self.timers.expire_at)

    def _failed(self, reason: str, master: str | None = None) -> None:
        now = self._now()
        self.failures += 1
        data = self.zone.data
        if data is not None:
            retry = soa_timers(data.soa[0], self.clamps)[1]
        else:
            retry = min(max(UNLOADED_RETRY, self.clamps.min_retry), self.clamps.max_retry)
        delay = max(MIN_DELAY, retry * (1 + JITTER * self._random()))
        self.timers = attrs.evolve(self.timers, last_failure=now, failure_reason=reason, next_refresh=now + delay)
        self._save_timers()
        self._plan(self.timers.next_refresh)
        self._publish(TransferFailed(self.label, now, master, reason, failures=self.failures, retry_at=now + delay))

    def _plan(self, next_refresh: float) -> None:
        """The next REFRESH: as planned, or now for a NOTIFY of a serial newer than ours."""
        pending, self._pending_notify = self._pending_notify, None
        data = self.zone.data
        if pending is _ANY or (pending is not None and (data is None or serial_gt(pending, data.serial))):
            next_refresh = self._now()
        self.events.replace(Event.REFRESH, next_refresh)

    def _save_timers(self) -> None:
        try:
            self.store.save_timers(self.name, self.timers)
        except (sqlite3.Error, OSError) as e:
            log.error(
                "zone {zone}: cannot save its timers: {reason}",
                zone=self.label, reason=storage_failure(e, self.store.directory),
            )
        except Exception:
            log.failure("zone {zone}: cannot save its timers", zone=self.label)

    # -- the EXPIRE event

    def _expire(self) -> None:
        if self.zone.data is None or self.zone.expired:
            return
        self.zone.expired = True
        self._publish(ZoneExpired(self.label, self._now(), self.zone.serial, last_success=self.timers.last_success))

    # -- status

    def intervals(self) -> tuple[int, int]:
        """The refresh and retry intervals in effect: the SOA's, clamped by C{[timers]} (no SOA yet: retry only)."""
        data = self.zone.data
        if data is not None:
            refresh, retry, _ = soa_timers(data.soa[0], self.clamps)
            return refresh, retry
        return 0, min(max(UNLOADED_RETRY, self.clamps.min_retry), self.clamps.max_retry)

    def status(self) -> SecondaryStatus:
        zone = self.zone
        if self.events.running is Event.REFRESH and not zone.expired:
            state = "refreshing"
        else:
            state = zone.state.value
        return SecondaryStatus(
            zone=self.label,
            state=state,
            serial=zone.serial,
            successes=self.successes,
            failures=self.failures,
            last_success=self.timers.last_success,
            last_failure=self.timers.last_failure,
            failure_reason=self.timers.failure_reason,
            next_refresh=self.events.when(Event.REFRESH),
            expire_at=self.timers.expire_at if zone.data is not None else None,
            masters=tuple(attrs.evolve(status) for status in self.masters.values()),
        )


class _OlderSerial(Exception):
    """A master whose serial is older than ours: it is not applied."""


def _reason(target: Target, error: Exception) -> str:
    """One line for an operator: which master, which TSIG error if any, what went wrong."""
    text = str(error) or type(error).__name__
    if isinstance(error, tsig.TsigError) and error.rcode_text not in text:
        text = f"TSIG {error.rcode_text}: {text}"
    if str(target) not in text:
        text = f"{target}: {text}"
    return text
