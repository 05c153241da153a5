# -*- test-case-name: tests.unit.test_zoneload -*-
"""
Building the zone map from the config, at start and on reload.

As Knot's C{zonedb_reload} does, a reload builds a new map, reusing what it
can: a zone whose config and zone file did not change keeps its L{Zone}
(and so its data); a zone file that changed is read again and served only
if its serial grew.  Nothing is swapped until the new map is complete.
"""

from __future__ import annotations

from typing import Callable

import attrs
from twisted.logger import Logger

from secdns.config import Config, ZoneConfig
from secdns.errors import ZoneLoadError
from secdns.serial import serial_gt
from secdns.zone import Zone
from secdns.zonedb import ZoneDB
from secdns.zonefile import read_zone_file, stamp

__all__ = ["initial_zonedb", "reloaded_zonedb", "ZoneReader"]

log = Logger()

ZoneReader = Callable[[ZoneConfig], Zone]


def _read(config: ZoneConfig) -> Zone:
    """A primary zone read from its file (the file's stamp taken first)."""
    source_stamp = stamp(config.file)
    return Zone(config, read_zone_file(config.name, config.file), source_stamp=source_stamp)


def initial_zonedb(config: Config) -> ZoneDB:
    """
    The zones at start: every primary zone's file must load.

    @raise ZoneLoadError: for the first zone file that does not.
    """
    zones = []
    for zone_config in config.zones:
        if zone_config.file is not None:
            zones.append(_read(zone_config))
        else:
            zones.append(Zone(zone_config))
    return ZoneDB.of(zones)


def reloaded_zonedb(config: Config, old: ZoneDB) -> ZoneDB:
    """
    The zones after a reload.  A zone file that fails to load is logged and
    its zone keeps serving its old data (a new zone with a bad file is left
    out); a file whose serial did not grow is not loaded, as BIND does.
    """
    zones = []
    for zone_config in config.zones:
        previous = old.get(zone_config.name)
        zone = _reload_one(zone_config, previous)
        if zone is not None:
            zones.append(zone)
    return ZoneDB.of(zones)


def _reload_one(config: ZoneConfig, previous: Zone | None) -> Zone | None:
    if previous is not None and previous.config.type != config.type:
        previous = None  # a zone that changes role starts afresh
    if previous is None:
        if config.file is None:
            return Zone(config)
        try:
            zone = _read(config)
        except ZoneLoadError as e:
            log.error("{error}; zone not added", error=str(e))
            return None
        log.info("zone {zone}: loaded serial {serial}", zone=zone.label, serial=zone.serial)
        return zone

    if config.file is None or (
        config.file == previous.config.file and stamp(config.file) == previous.source_stamp
    ):
        # Nothing to read: keep the data, take the new config.
        return previous if previous.config == config else attrs.evolve(previous, config=config)

    try:
        fresh = _read(config)
    except ZoneLoadError as e:
        log.error("{error}; keeping serial {serial}", error=str(e), serial=previous.serial)
        return attrs.evolve(previous, config=config)
    if not serial_gt(fresh.data.serial, previous.serial):
        log.warn(
            "zone {zone}: {file} changed but its serial {new} is not greater than "
            "{old}; not loaded",
            zone=fresh.label,
            file=config.file,
            new=fresh.data.serial,
            old=previous.serial,
        )
        return attrs.evolve(previous, config=config)
    log.info(
        "zone {zone}: loaded serial {serial} (was {old})",
        zone=fresh.label,
        serial=fresh.serial,
        old=previous.serial,
    )
    return fresh
