# -*- test-case-name: tests.unit.test_zonedb -*-
"""
The name-to-zone map: built whole, replaced whole on reload.

A query finds its zone by the longest suffix of its name.  The fast query
path does the same on wire-format names, so the map is also kept by the
lowercased wire form of each apex.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping

import attrs
import dns.name

from secdns.zones.zone import Zone

__all__ = ["ZoneDB"]


@attrs.frozen(eq=False)
class ZoneDB:
    """
    An immutable set of zones.

    @ivar zones: apex name to zone.
    @ivar by_wire: lowercased uncompressed wire form of each apex to zone.
    """

    zones: Mapping[dns.name.Name, Zone]
    by_wire: Mapping[bytes, Zone]

    @classmethod
    def of(cls, zones: Iterable[Zone]) -> "ZoneDB":
        zones = list(zones)
        return cls(
            zones={zone.name: zone for zone in zones},
            by_wire={zone.name.canonicalize().to_wire(): zone for zone in zones},
        )

    def find(self, qname: dns.name.Name) -> Zone | None:
        """The zone whose apex is the longest suffix of C{qname}, if any."""
        name = qname
        while True:
            zone = self.zones.get(name)
            if zone is not None:
                return zone
            if len(name.labels) <= 1:
                return None
            name = name.parent()

    def get(self, name: dns.name.Name) -> Zone | None:
        return self.zones.get(name)

    def __iter__(self) -> Iterator[Zone]:
        return iter(self.zones.values())

    def __len__(self) -> int:
        return len(self.zones)
