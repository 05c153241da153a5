# -*- test-case-name: tests.unit.test_zoneload -*-
"""
Primary zones: their files read in a worker thread and committed.

L{PrimaryZone} is the controller of one primary zone.  L{PrimaryZone.load}
reads the zone file in a worker (parsing a big file takes seconds, and
must not stop the answers of every other zone) and hands what it read to
the commit path (L{secdns.core.commit}).  Loads of one zone run one at a
time, in the order asked, so two reloads in quick succession end in the
state of the last file read, never a mix.

What a load does, as BIND does it::

    file unchanged since the version served ---> nothing (no read)
    cannot read, does not parse -------------> logged; the zone keeps its
                                                version (a zone never loaded
                                                is left out of the map)
    serial not greater (RFC 1982) -----------> serial_policy "keep": logged,
                                                not loaded; "increment" or
                                                "unixtime": served under a
                                                newer serial
    otherwise ------------------------------> committed

A primary zone without a file is I{dynamic}: its first load serves its
stored copy, or a new zone's initial SOA and NS
(L{secdns.zones.edit.initial_version}), and L{PrimaryZone.edit} makes
each later version from changes (the API's, DNS UPDATE's), one at a time
and each from the version then served.
"""

from __future__ import annotations

import os
import time
from typing import Callable

import attrs
import dns.name
from twisted.internet import defer
from twisted.logger import Logger

from secdns import heap
from secdns.config import ZoneConfig
from secdns.zones.edit import ADD, REMOVE, SOA, Change, EditRefused, apply as apply_changes, initial_version
from secdns.zones.events import LoadFailed, ZoneEdited, ZoneLoaded
from secdns.errors import ZoneLoadError
from secdns.zones.serial import serial_add, serial_gt
from secdns.zones.version import ZoneData, with_serial
from secdns.zones.zone import Zone, zone_label
from secdns.zones.zonefile import MAX_FILE_BYTES, FileStamp, ZoneFile, load_zone_file

__all__ = ["PrimaryZone", "next_serial", "edit_serial", "file_version", "unchanged"]

log = Logger()


def next_serial(policy: str, previous: int, now: float) -> int:
    """The serial a changed zone gets under C{serial_policy} (RFC 1982 arithmetic)."""
    bumped = serial_add(previous, 1)
    if policy == "unixtime":
        candidate = int(now) % 2**32
        if serial_gt(candidate, bumped):
            return candidate
    return bumped


def edit_serial(changes: tuple[Change, ...], policy: str, previous: int, now: float) -> int:
    """
    The serial an edit makes: the one an added SOA gives, if greater (as
    BIND keeps a DNS UPDATE's), else the next under C{policy}.
    """
    bumped = next_serial(policy, previous, now)
    for change in changes:
        if change.operation == ADD and change.rdata is not None and change.rdata.rdtype == SOA:
            if serial_gt(change.rdata.serial, previous):
                return change.rdata.serial
    return bumped


def unchanged(file: str, stamp: FileStamp | None) -> bool:
    """Whether the data in hand was read from C{file}, and no file it read has changed."""
    return stamp is not None and stamp.path == os.path.abspath(file) and not stamp.changed()


def file_version(config: ZoneConfig, previous: ZoneData | None, fresh: ZoneData, now: float) -> ZoneData | None:
    """
    The version a freshly read file makes, given the one served: the file's
    own, one under a newer serial (C{serial_policy}), or L{None} when it is
    refused (its serial did not grow).  Logs why.
    """
    label = zone_label(config.name)
    if previous is None or serial_gt(fresh.serial, previous.serial):
        return fresh
    if config.serial_policy != "keep":
        serial = next_serial(config.serial_policy, previous.serial, now)
        log.info(
            "zone {zone}: {file} changed but its serial {new} is not greater than {old}; "
            "serving it as serial {serial} (serial_policy {policy})",
            zone=label, file=config.file, new=fresh.serial, old=previous.serial,
            serial=serial, policy=config.serial_policy,
        )
        return with_serial(fresh, serial)
    log.warn(
        "zone {zone}: {file} changed but its serial {new} is not greater than "
        "{old}; not loaded, still serving serial {old}",
        zone=label, file=config.file, new=fresh.serial, old=previous.serial,
    )
    return None


def _read_if_changed(config: ZoneConfig, stamp: FileStamp | None, max_bytes: int) -> ZoneFile | None:
    """In a worker: the zone file read, unless it is what C{stamp} was taken of (L{None})."""
    if unchanged(config.file, stamp):
        return None
    return load_zone_file(config.name, config.file, max_bytes=max_bytes, include_dirs=config.include_dirs)


@attrs.define(eq=False)
class PrimaryZone:
    """
    The controller of one primary zone (see the module docstring).

    @ivar zone: the zone in the map now (replaced when its config changes).
    @ivar commit: the commit path: C{commit(zone, data, stamp=...)}.
    @ivar worker: runs C{f(*args)} in a thread, returning a Deferred.
    @ivar left_out: called when the zone's first load failed, to take it out of the map.
    @ivar read_stored: reads the zone's stored copy (a dynamic zone's first load), in a worker.
    """

    zone: Zone
    commit: Callable[..., defer.Deferred]
    worker: Callable[..., defer.Deferred]
    now: Callable[[], float]
    publish: Callable[[object], None] = lambda event: None
    left_out: Callable[[Zone], None] = lambda zone: None
    read_stored: Callable[[dns.name.Name], object] = lambda name: None
    max_file_bytes: Callable[[], int] = lambda: MAX_FILE_BYTES
    last_outcome: tuple[float, bool, str] | None = None
    _loads: defer.DeferredLock = attrs.Factory(defer.DeferredLock)
    _stopped: bool = False

    @property
    def loading(self) -> bool:
        return self._loads.locked

    def load(self) -> defer.Deferred:
        """Read the zone file (unless unchanged) and serve it; fires when done, never fails."""
        return self._loads.run(lambda: defer.Deferred.fromCoroutine(self._load()))

    def replace(self, data: ZoneData, source: str) -> defer.Deferred:
        """Serve C{data} (an edit from elsewhere than the file) through the commit path."""
        return self._loads.run(lambda: defer.Deferred.fromCoroutine(self._commit(data, None, source, self.now())))

    def edit(self, changes: tuple[Change, ...], source: str) -> defer.Deferred:
        """
        A dynamic zone's records changed by C{source}: fires with the new
        version once served, or fails with L{secdns.zones.edit.EditRefused}
        (or L{secdns.core.commit.CommitError}) having changed nothing.
        """
        return self._loads.run(lambda: defer.Deferred.fromCoroutine(self._edit(changes, source)))

    def stop(self) -> None:
        self._stopped = True

    async def _edit(self, changes: tuple[Change, ...], source: str) -> ZoneData:
        data = self.zone.data
        if data is None or self._stopped:
            raise EditRefused(f"zone {self.zone.label} is not loaded yet", "unavailable")
        policy = "unixtime" if self.zone.config.serial_policy == "unixtime" else "increment"
        serial = edit_serial(changes, policy, data.serial, time.time())
        started = self.now()
        new = await self.worker(heap.built, apply_changes, data, changes, serial)
        if not await self.commit(self.zone, new, still_wanted=lambda: not self._stopped):
            raise EditRefused(f"zone {self.zone.label} was removed meanwhile", "unavailable")
        now = self.now()
        self.last_outcome = (now, True, f"serial {new.serial}")
        made = sum(1 for change in changes if change.operation in (ADD, REMOVE))
        self.publish(ZoneEdited(self.zone.label, now, new.serial, data.serial, made, source, now - started))
        return new

    async def _load_dynamic(self) -> None:
        """The first load of a zone without a file: its stored copy, or a new zone's first version."""
        if self.zone.data is not None:
            return
        started = self.now()
        stored = await self.worker(heap.built, self.read_stored, self.zone.name)
        if self._stopped or self.zone.data is not None:
            return
        if stored is not None:
            await self._commit(stored.data, None, "store", started)
        else:
            await self._commit(initial_version(self.zone.name, int(time.time()) % 2**32), None, "new", started)

    async def _load(self) -> None:
        if self._stopped:
            return
        config = self.zone.config
        if config.dynamic:
            return await self._load_dynamic()
        started = self.now()
        stamp = None if self.zone.data is None else self.zone.source_stamp
        try:
            loaded: ZoneFile | None = await self.worker(heap.built, _read_if_changed, config, stamp, self.max_file_bytes())
        except ZoneLoadError as e:
            self._failed(config, str(e))
            return
        if self._stopped or loaded is None:
            return
        data = file_version(config, self.zone.data, loaded.data, time.time())
        if data is None:
            return
        await self._commit(data, loaded.stamp, config.file, started)

    async def _commit(self, data: ZoneData, stamp, source: str, started: float) -> None:
        previous = self.zone.serial
        try:
            done = await self.commit(self.zone, data, stamp=stamp, still_wanted=lambda: not self._stopped)
        except Exception as e:
            self._failed(self.zone.config, str(e))
            return
        if not done:
            return
        now = self.now()
        self.last_outcome = (now, True, f"serial {data.serial}")
        self.publish(ZoneLoaded(self.zone.label, now, data.serial, previous, data.record_count, source, now - started))

    def _failed(self, config: ZoneConfig, message: str) -> None:
        now = self.now()
        self.last_outcome = (now, False, message)
        self.publish(LoadFailed(self.zone.label, now, config.file or "", message, serving=self.zone.serial))
        if self.zone.data is None:
            self.left_out(self.zone)
