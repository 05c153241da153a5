# -*- test-case-name: tests.unit.test_commit -*-
"""
The one path every new version of every zone takes, whatever made it (a
zone file read at start or on reload, a transfer in, later an API edit or
DNS UPDATE), in Knot's order (C{zone_update_commit})::

    validate ──> journal the difference ──> store ──> swap ──> announce
    (reactor)    (worker thread: diff,      (same     (reactor: (NOTIFY the
                  snapshot, one SQLite       thread)   one       downstreams,
                  transaction)                         assignment) publish)

Everything proportional to the zone's size (the diff, the snapshot, the
blocks a transfer out sends) runs in a worker thread; the reactor only
swaps.  A failure at any step before the swap changes nothing that is
served or stored: the store's transaction is rolled back, and the zone
keeps its version.  Commits of one zone run one at a time, in the order
asked.

The journal reaches back across restarts: a zone's first commit after a
start is diffed against the stored copy.  A zone nobody transfers from (a
secondary without downstreams or C{allow_transfer}) keeps no journal.
"""

from __future__ import annotations

import sqlite3
from typing import Callable

import attrs
import dns.name
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from secdns import heap
from secdns.errors import SecdnsError
from secdns.server.transfer_out import keep_transfer_blocks, transfer_blocks
from secdns.store.database import Store, ZoneTimers, storage_failure
from secdns.zones.acl import transferable
from secdns.zones.journal import diff
from secdns.zones.serial import serial_gt
from secdns.zones.version import ZoneData
from secdns.zones.zone import Zone

__all__ = ["Committer", "CommitError", "Worker"]

log = Logger()

Worker = Callable[..., defer.Deferred]


class CommitError(SecdnsError):
    """A new version that was not served: invalid, or the store refused it."""


@attrs.frozen
class _Written:
    """What the worker did: the journal's change, and the transfer blocks rendered."""

    journaled: int | None  # records changed, or None when nothing was journaled
    cleared_from: int | None  # the serial the journal was cleared from (the serial went back)
    blocks: list | None


@attrs.define(eq=False)
class Committer:
    """
    Commits zones' new versions (see the module docstring).

    @ivar worker: runs C{f(*args)} and returns a Deferred of its result; a
        thread pool in the appliance, L{defer.maybeDeferred} in unit tests.
    @ivar zone_of: the zone of that name in the map now (a zone whose config
        changed is a new L{Zone} object): the one a new version is swapped into.
    @ivar announce: called on the reactor after each swap, with the zone.
    @ivar journal_entries: changesets kept per zone; the oldest are merged past it.
    @ivar journal_bytes: octets of journal kept per zone; past it the oldest are dropped.
    """

    store: Store
    clock: IReactorTime
    worker: Worker = defer.maybeDeferred
    zone_of: Callable[[dns.name.Name], Zone | None] | None = None
    announce: Callable[[Zone], None] = lambda zone: None
    journal_entries: int = 100
    journal_bytes: int | None = None
    _locks: dict[dns.name.Name, defer.DeferredLock] = attrs.Factory(dict)

    def lock(self, name: dns.name.Name) -> defer.DeferredLock:
        """The lock one zone's commits (and its removal) take turns under."""
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = defer.DeferredLock()
        return lock

    def forget(self, name: dns.name.Name) -> defer.Deferred:
        """Drop a removed zone's stored copy, timers and journal, after any commit of it in flight."""

        def drop():
            self.store.forget_zone(name)
            if not lock.waiting:
                self._locks.pop(name, None)

        lock = self.lock(name)
        return lock.run(drop)

    def commit(
        self,
        zone: Zone,
        data: ZoneData,
        timers: ZoneTimers | None = None,
        stamp: object = None,
        still_wanted: Callable[[], bool] = lambda: True,
    ) -> defer.Deferred:
        """
        Serve C{data} as C{zone}'s new version, journaled and stored first.

        @param timers: a secondary zone's timers, stored with the version.
        @param stamp: what identifies the file C{data} was read from.
        @param still_wanted: asked on the reactor just before the swap; when
            it says no (the zone was removed, or a newer load superseded this
            one), nothing is swapped and the result is C{False}.
        @return: fires with C{True} once served (C{False}: superseded), or
            fails with L{CommitError}, having changed nothing.
        """
        return self.lock(zone.name).run(
            lambda: defer.Deferred.fromCoroutine(self._commit(zone, data, timers, stamp, still_wanted))
        )

    async def _commit(self, zone, data, timers, stamp, still_wanted) -> bool:
        _validate(zone, data)
        previous = zone.data
        journal = zone.is_primary or transferable(zone.config)
        render = bool(zone.config.external_downstreams)
        try:
            written = await self.worker(heap.built, self._write, zone.name, previous, data, self.clock.seconds(), timers, journal, render)
        except defer.CancelledError:
            raise
        except (sqlite3.Error, OSError) as e:
            reason = storage_failure(e, self.store.directory)
            raise CommitError(f"serial {data.serial} not applied: cannot store it: {reason}") from None
        except Exception as e:
            log.failure("zone {zone}: cannot store serial {serial}", zone=zone.label, serial=data.serial)
            raise CommitError(f"serial {data.serial} not applied: cannot store it ({e})") from None
        if not still_wanted():
            return False
        if self.zone_of is not None:
            zone = self.zone_of(zone.name)
            if zone is None:
                return False  # removed meanwhile
        if written.blocks is not None:
            keep_transfer_blocks(data, written.blocks)
        zone.swap(data)  # the one assignment that serves the new version
        if stamp is not None:
            zone.source_stamp = stamp
        if written.journaled is not None:
            log.info(
                "zone {zone}: journaled serial {old} -> {new} ({records} records changed)",
                zone=zone.label, old=previous.serial if previous else None, new=data.serial, records=written.journaled,
            )
        if written.cleared_from is not None:
            # The serial went back (a file restored from a backup): the old
            # history no longer leads here.
            log.warn(
                "zone {zone}: serial went back from {old} to {new}; journal cleared",
                zone=zone.label, old=written.cleared_from, new=data.serial,
            )
        self.announce(zone)
        return True

    def _write(self, name, previous, data, now, timers, journal, render) -> _Written:
        """In a worker: the journal's change and the snapshot in one transaction, and the transfer blocks."""
        changeset = None
        cleared_from = None
        if journal:
            if previous is None:
                stored_serial = self.store.stored_serial(name)
                if stored_serial == data.serial:
                    # The version saved before a restart: nothing new to store.
                    if timers is not None:
                        self.store.save_timers(name, timers)
                    return _Written(None, None, transfer_blocks(data) if render else None)
                stored = None if stored_serial is None else self.store.load_zone(name)
                previous = None if stored is None else stored.data
            if previous is not None and serial_gt(data.serial, previous.serial):
                changeset = diff(previous, data)
            elif previous is not None:
                cleared_from = previous.serial
        self.store.save_version(
            data,
            now,
            timers,
            changeset=changeset,
            clear_journal=cleared_from is not None,
            max_entries=self.journal_entries,
            max_bytes=self.journal_bytes,
        )
        journaled = None if changeset is None else changeset.record_count - 2
        return _Written(journaled, cleared_from, transfer_blocks(data) if render else None)


def _validate(zone: Zone, data: ZoneData) -> None:
    """What every version must be before it is served: this zone's, with one SOA at the apex."""
    if data.origin != zone.name:
        raise CommitError(f"a version of {data.origin} offered to zone {zone.label}")
    if data.soa is None or len(data.soa) != 1:
        raise CommitError(f"zone {zone.label}: a version without exactly one SOA at the apex")
