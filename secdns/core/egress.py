# -*- test-case-name: tests.unit.test_egress -*-
"""
The primary side: every new version of a primary zone is journaled, saved
and announced, in Knot's order (C{zone_update_commit})::

    new version ─► diff against the previous one ─► journal ─► snapshot ─► swap ─► NOTIFY

The previous version is the one served before, or after a restart the
snapshot in the store, so that IXFR reaches across restarts.
"""

from __future__ import annotations

from typing import Callable

import attrs
from twisted.logger import Logger

from secdns.zones.journal import Changeset, diff
from secdns.zones.serial import serial_gt
from secdns.store.database import Store
from secdns.zones.zone import Zone
from secdns.zones.version import ZoneData

__all__ = ["Egress"]

log = Logger()


@attrs.define(eq=False)
class Egress:
    """
    Journals primary zones' changes and keeps their snapshots.

    @ivar journal_entries: changesets kept per zone; the oldest are merged past it.
    @ivar journal_bytes: octets of journal kept per zone; past it the oldest
        are dropped, and IXFR from before them gets the whole zone.
    """

    store: Store
    now: Callable[[], float]
    journal_entries: int = 100
    journal_bytes: int | None = None

    def record(self, zone: Zone, previous: ZoneData | None) -> None:
        """
        Journal and save C{zone.data}, the new version of a primary zone;
        C{previous} is the version served before it, if any.  Call before the
        new version is served.
        """
        data = zone.data
        if previous is None:
            if self.store.stored_serial(zone.name) == data.serial:
                return  # the version saved before the restart
            stored = self.store.load_zone(zone.name)
            previous = None if stored is None else stored.data
        if previous is not None and serial_gt(data.serial, previous.serial):
            changeset = diff(previous, data)
            self.store.append_journal(zone.name, changeset, self.journal_entries, self.journal_bytes)
            log.info(
                "zone {zone}: journaled serial {old} -> {new} ({records} records changed)",
                zone=zone.label, old=previous.serial, new=data.serial, records=changeset.record_count - 2,
            )
        elif previous is not None:
            # The serial went back (a file restored from a backup): the old
            # history no longer leads here.
            self.store.clear_journal(zone.name)
            log.warn(
                "zone {zone}: serial went back from {old} to {new}; journal cleared",
                zone=zone.label, old=previous.serial, new=data.serial,
            )
        self.store.save_zone(data, self.now())

    def journal(self, zone: Zone) -> list[Changeset]:
        return self.store.journal(zone.name)
