# -*- test-case-name: tests.unit.test_zonedb -*-
"""
A zone as the server holds it: its config, the version it serves, its state.

The served version is replaced, never changed: L{Zone.swap} is one
assignment, so a query (which reads C{zone.data} once) sees one version.
"""

from __future__ import annotations

import enum

import attrs
import dns.name

from secdns.config import PRIMARY, ZoneConfig
from secdns.zones.version import ZoneData

__all__ = ["Zone", "ZoneState", "zone_label"]


class ZoneState(enum.Enum):
    """What a zone can answer."""

    UNLOADED = "unloaded"  # no data yet: SERVFAIL, as BIND does
    LOADED = "loaded"
    EXPIRED = "expired"  # a secondary whose masters went silent past EXPIRE: SERVFAIL


def zone_label(name: dns.name.Name) -> str:
    """A zone name as operators write it and metrics label it: no trailing dot."""
    return name.to_text(omit_final_dot=True) or "."


@attrs.define(eq=False)
class Zone:
    """
    One zone of the server.

    @ivar config: the zone's C{[[zone]]} table.
    @ivar data: the version being served, or L{None} before the first load.
    @ivar expired: set when a secondary zone passes its expire time.
    @ivar source_stamp: what identifies the zone file the data was read from
        (primary zones), so that a reload skips files that did not change.
    """

    config: ZoneConfig
    data: ZoneData | None = None
    expired: bool = False
    source_stamp: object = None

    @property
    def name(self) -> dns.name.Name:
        return self.config.name

    @property
    def label(self) -> str:
        return zone_label(self.config.name)

    @property
    def is_primary(self) -> bool:
        return self.config.type == PRIMARY

    @property
    def state(self) -> ZoneState:
        if self.data is None:
            return ZoneState.UNLOADED
        if self.expired:
            return ZoneState.EXPIRED
        return ZoneState.LOADED

    @property
    def serial(self) -> int | None:
        return None if self.data is None else self.data.serial

    def swap(self, data: ZoneData) -> None:
        """Serve C{data} from now on."""
        self.data = data
        self.expired = False
