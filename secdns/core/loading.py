# -*- test-case-name: tests.unit.test_zoneload -*-
"""
Building the zone map from the config, at start and on reload.

As Knot's C{zonedb_reload} does, a reload builds a new map, reusing what it
can: a zone whose config and zone files did not change keeps its L{Zone}
(and so its data); a zone file that changed is read again and served only
if its serial grew.  Nothing is swapped until the new map is complete, and
a zone's new version is a new L{ZoneData}, never a change to the old one,
so a query sees the old zone or the new one, never a mix.

On reload, for each zone of the new config::

    not in the old map ------------------> read its file (none: unloaded)
                                            fails: logged, zone left out
    in it, same type, same file,
      files' contents unchanged ---------> keep the zone (new config)
    in it, file changed or renamed ------> read the file
        fails -------------------------> logged, old version kept
        serial not greater (RFC 1982) --> logged, old version kept
        serial greater ----------------> new version
    in it, type changed -----------------> as if new
"""

from __future__ import annotations

import os
import time

import attrs
from twisted.logger import Logger

from secdns.config import Config, ZoneConfig
from secdns.errors import ConfigError, ZoneLoadError
from secdns.zones.serial import serial_add, serial_gt
from secdns.zones.zone import Zone
from secdns.zones.zonemap import ZoneDB
from secdns.zones.version import with_serial
from secdns.zones.zonefile import FileStamp, load_zone_file

__all__ = ["initial_zonedb", "reloaded_zonedb"]

log = Logger()


def _read(config: ZoneConfig) -> Zone:
    """A primary zone read from its file, with the stamp of the files read."""
    loaded = load_zone_file(config.name, config.file)
    return Zone(config, loaded.data, source_stamp=loaded.stamp)


def initial_zonedb(config: Config) -> ZoneDB:
    """
    The zones at start: every primary zone's file must load.

    @raise ConfigError: for the first zone file that does not, naming the
        config file, the zone's C{file} key, the zone file (and line) and
        the problem.
    """
    zones = []
    for zone_config in config.zones:
        if zone_config.file is None:
            zones.append(Zone(zone_config))
            continue
        try:
            zones.append(_read(zone_config))
        except ZoneLoadError as e:
            raise ConfigError(config.source, f'zone "{e.zone}".file', f"{e.path}: {e.problem}") from None
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
    for zone in old:
        if config.zone(zone.name) is None:
            log.info("zone {zone}: removed", zone=zone.label)
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
            log.error("{error}; zone not added", error=str(e), zone=e.zone, problem=e.problem)
            return None
        log.info("zone {zone}: loaded serial {serial}", zone=zone.label, serial=zone.serial)
        return zone

    if config.file is None or _unchanged(config.file, previous.source_stamp):
        # Nothing to read: keep the data, take the new config.
        return previous if previous.config == config else attrs.evolve(previous, config=config)

    try:
        fresh = _read(config)
    except ZoneLoadError as e:
        log.error(
            "{error}; still serving serial {serial}",
            error=str(e),
            serial=previous.serial,
            zone=previous.label,
            problem=e.problem,
        )
        return attrs.evolve(previous, config=config)
    if previous.serial is not None and not serial_gt(fresh.data.serial, previous.serial):
        if config.serial_policy != "keep":
            serial = next_serial(config.serial_policy, previous.serial, time.time())
            log.info(
                "zone {zone}: {file} changed but its serial {new} is not greater than {old}; "
                "serving it as serial {serial} (serial_policy {policy})",
                zone=fresh.label, file=config.file, new=fresh.data.serial, old=previous.serial,
                serial=serial, policy=config.serial_policy,
            )
            return attrs.evolve(fresh, data=with_serial(fresh.data, serial))
        log.warn(
            "zone {zone}: {file} changed but its serial {new} is not greater than "
            "{old}; not loaded, still serving serial {old}",
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


def next_serial(policy: str, previous: int, now: float) -> int:
    """The serial a changed zone gets under C{serial_policy} (RFC 1982 arithmetic)."""
    bumped = serial_add(previous, 1)
    if policy == "unixtime":
        candidate = int(now) % 2**32
        if serial_gt(candidate, bumped):
            return candidate
    return bumped


def _unchanged(file: str, stamp: FileStamp | None) -> bool:
    """Whether the data in hand was read from C{file}, and no file it read has changed."""
    return stamp is not None and stamp.path == os.path.abspath(file) and not stamp.changed()
