# -*- test-case-name: tests.unit.test_registry -*-
"""
The one owner of every zone's state.

L{ZoneRegistry} owns the zone map, the TSIG keyring, the store, the
commit path and one controller per zone (L{PrimaryZone} reads a primary
zone's file; L{SecondaryZone} refreshes a secondary zone from its
masters).  The operator surfaces (the config reload, metrics, and next the
API, CLI, alarms and manhole) talk to it alone, in plain methods:

    zones(), status(name), keys(), key(name)   what there is, in what state, and why
    create_zone, update_zone, delete_zone      zones made at run time (kept in the store)
    create_key, update_key, delete_key         TSIG keys made at run time (likewise)
    edit(name, changes, source)                a dynamic zone's records changed
    replace_content(name, data)                a primary zone's new version
    refresh(name), retransfer(name), notify(name)
    apply(config)                              SIGHUP: the difference between the
                                               config in force and the file, applied
                                               through add_zone, reconfigure_zone
                                               and remove_zone
    history.recent(zone, since)                the recent events

Zones and keys come from two places: the config file, which declares them
(read-only at run time: the file is their record), and the run-time
methods, which keep what they make in the store.  A name in both is an
error at start and on reload (L{ZoneRegistry.check}).

and publish what happens to zones on one bus (L{secdns.core.bus}).

The map is immutable and replaced whole (L{ZoneDB}); each replacement, and
each new keyring, is handed to the watchers (the query dispatcher), so a
query sees one map and one version of each zone.  A zone whose config
changes becomes a new L{Zone} object sharing its version; its controller
is told.  A zone that changes role is removed and added afresh.
"""

from __future__ import annotations

from typing import Callable, Iterable

import attrs
import dns.name
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime

from secdns.config import PRIMARY, TSIG_ALGORITHMS, Config, TsigKeyConfig, ZoneConfig
from secdns.core.bus import Bus
from secdns.core.history import EventHistory
from secdns.errors import ConfigError
from secdns.store.catalog import StoredKey, StoredZoneConfig
from secdns.zones.edit import Change
from secdns.zones.events import NotifyFailed, ZoneAdded, ZoneRemoved
from secdns.core.commit import Committer, Worker
from secdns.core.loading import PrimaryZone
from secdns.zones.status import DownstreamStatus, KeyStatus, MasterStatus, Outcome, ZoneStatus
from secdns.errors import SecdnsError
from secdns.store.database import Store
from secdns.transfer.refresh import SecondaryZone
from secdns.server.transfer_out import TransferServer
from secdns.transfer.notify_out import Notifier
from secdns.transfer.schedule import Event
from secdns.transfer.transfer_in import IMasterClient
from secdns.wire.tsig import Keyring
from secdns.zones.version import ZoneData
from secdns.zones.zone import Zone, zone_label
from secdns.zones.zonemap import ZoneDB

__all__ = [
    "ZoneRegistry", "NoSuchZone", "WrongRole", "NoSuchKey", "ZoneExists", "KeyExists", "ReadOnly", "KeyInUse",
    "InvalidRequest", "NotEditable",
]


class NoSuchZone(SecdnsError, KeyError):
    """No zone of that name."""

    def __str__(self) -> str:
        return f"no zone {self.args[0]}"


class WrongRole(SecdnsError):
    """The action is for zones of the other role (refresh a primary, replace a secondary's content)."""


class NoSuchKey(SecdnsError, KeyError):
    """No TSIG key of that name."""

    def __str__(self) -> str:
        return f"no TSIG key {self.args[0]}"


class ZoneExists(SecdnsError):
    """A zone of that name is served already."""


class KeyExists(SecdnsError):
    """A TSIG key of that name exists already."""


class ReadOnly(SecdnsError):
    """The zone or key is declared in the config file: change it there, and reload."""


class KeyInUse(SecdnsError):
    """The TSIG key is named by zones (L{zones}); it cannot be deleted."""

    def __init__(self, message: str, zones: tuple[str, ...]) -> None:
        super().__init__(message)
        self.zones = zones


class InvalidRequest(SecdnsError):
    """What was asked for is not a valid zone or key (an unknown key, an algorithm, a role change)."""


class NotEditable(SecdnsError):
    """The zone's records come from its zone file, not from edits."""


Controller = PrimaryZone | SecondaryZone


class ZoneRegistry:
    """
    The zones, their controllers, the keys and the store (see the module docstring).

    @ivar zonedb: the map in force; replaced whole.
    @ivar keyring: the TSIG keys in force; replaced whole.
    @ivar bus: where zone events are published.
    @ivar committer: the commit path.
    @ivar notifier: sends NOTIFYs to downstreams (L{None}: none are sent).
    @ivar transfers: the transfer server, if any: what it served to whom.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        clock: IReactorTime,
        client: IMasterClient,
        notifier: Notifier | None = None,
        worker: Worker = defer.maybeDeferred,
        wall_clock: Callable[[], float] | None = None,
        bus: Bus | None = None,
        transfers: TransferServer | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.client = client
        self.notifier = notifier
        self.transfers = transfers
        self.worker = worker
        self._now = wall_clock or clock.seconds
        self.bus = bus or Bus()
        self.history = EventHistory()
        self.bus.subscribe(self.history)
        self._started = self._now()
        self._api_zones: dict[dns.name.Name, StoredZoneConfig] = {s.config.name: s for s in store.api_zones()}
        self._api_keys: dict[dns.name.Name, StoredKey] = {s.key.name: s for s in store.api_keys()}
        self.keyring = Keyring.from_config(self._all_keys())
        self.zonedb = ZoneDB.of([])
        self.committer = Committer(
            store,
            clock,
            worker,
            zone_of=lambda name: self.zonedb.get(name),
            announce=self._committed,
            journal_entries=config.server.journal_entries,
            journal_bytes=config.server.journal_bytes,
        )
        self._controllers: dict[dns.name.Name, Controller] = {}
        self._watchers: list[Callable[["ZoneRegistry"], None]] = []
        self._commit_hooks: list[Callable[[Zone], None]] = []
        if notifier is not None:
            notifier.on_failure = self._notify_failed

    # -- the map, as the dispatcher sees it

    def watch(self, watcher: Callable[["ZoneRegistry"], None]) -> None:
        """Have C{watcher} told of each new map and keyring (and once now)."""
        self._watchers.append(watcher)
        watcher(self)

    def on_commit(self, hook: Callable[[Zone], defer.Deferred | None]) -> None:
        """
        Have C{hook} called, on the reactor, with each zone whose new
        version the commit path has just stored and swapped in (the
        workers of C{[server] workers} read it from the store then).  A
        hook may return a Deferred: the version's NOTIFY waits for it (till
        the workers serve the version too).
        """
        self._commit_hooks.append(hook)

    def _publish_map(self, zones: Iterable[Zone]) -> None:
        self.zonedb = ZoneDB.of(zones)
        self._tell_watchers()

    def _tell_watchers(self) -> None:
        for watcher in self._watchers:
            watcher(self)

    def _replace_in_map(self, zone: Zone) -> None:
        self._publish_map([zone if z.name == zone.name else z for z in self.zonedb])

    # -- life cycle

    def start(self) -> defer.Deferred:
        """
        Serve the config's zones: secondaries' stored copies and primaries'
        files are read in workers, each zone served as soon as it is read.

        Zones and keys made at run time (kept in the store) are served
        beside them.

        @return: fires when every primary zone's first load has ended.
        @raise ConfigError: the config declares a zone or key also made at run time.
        """
        self.check(self.config)
        return self.apply_zones(self._all_zones())

    def check(self, config: Config) -> None:
        """
        Whether C{config} can be put in force beside what was made at run
        time: no name in both, no run-time zone left naming a key the
        config no longer has.

        @raise ConfigError: naming the config file, the zone or key, and the store.
        """
        for zone in config.zones:
            if zone.name in self._api_zones:
                raise ConfigError(
                    config.source, f'zone "{zone_label(zone.name)}"',
                    f"is also a zone made through the API (kept in {self.store.path}); delete one of them",
                )
        declared = {key.name for key in config.tsig_keys}
        for key in config.tsig_keys:
            if key.name in self._api_keys:
                raise ConfigError(
                    config.source, f'tsig_key "{zone_label(key.name)}"',
                    f"is also a TSIG key made through the API (kept in {self.store.path}); delete one of them",
                )
        for stored in self._api_zones.values():
            for name in _key_names(stored.config):
                if name not in declared and name not in self._api_keys:
                    raise ConfigError(
                        config.source, "tsig_key",
                        f'no key "{zone_label(name)}", which zone {zone_label(stored.config.name)} '
                        f"(made through the API) uses",
                    )

    def _all_zones(self) -> list[ZoneConfig]:
        return [*self.config.zones, *(stored.config for stored in self._api_zones.values())]

    def _all_keys(self) -> list[TsigKeyConfig]:
        return [*self.config.tsig_keys, *(stored.key for stored in self._api_keys.values())]

    def stop(self) -> defer.Deferred:
        """Stop every controller; fires when none is running an event."""
        stopping = [self._stop_controller(c) for c in self._controllers.values()]
        self._controllers = {}
        if self.notifier is not None:
            self.notifier.stop()
        return defer.gatherResults(stopping, consumeErrors=True)

    @staticmethod
    def _stop_controller(controller: Controller) -> defer.Deferred:
        stopped = controller.stop()
        return stopped if isinstance(stopped, defer.Deferred) else defer.succeed(None)

    # -- what there is

    def zones(self) -> list[ZoneStatus]:
        """Every zone's status, in the config's order."""
        return [self.status(zone.name) for zone in self.zonedb]

    def status(self, name: dns.name.Name | str) -> ZoneStatus:
        """One zone's status (L{NoSuchZone} if there is none)."""
        zone = self._zone(name)
        controller = self._controllers.get(zone.name)
        downstreams = tuple(self._downstream(zone, peer) for peer in zone.config.external_downstreams)
        data = zone.data
        common = dict(
            name=zone.label,
            role=zone.config.type,
            serial=zone.serial,
            records=None if data is None else data.record_count,
            downstreams=downstreams,
            declared_in=self._declared_in(zone.name),
            created=self._api_zones[zone.name].created if zone.name in self._api_zones else self._started,
            file=zone.config.file,
        )
        if isinstance(controller, SecondaryZone):
            status = controller.status()
            timers = controller.timers
            last_load = None
            if timers.last_success is not None or timers.last_failure is not None:
                ok = (timers.last_failure or 0) <= (timers.last_success or -1)
                when = timers.last_success if ok else timers.last_failure
                last_load = Outcome(when, ok, "" if ok else (timers.failure_reason or ""))
            events = controller.events
            upcoming = [(e.name.lower(), events.when(e)) for e in (Event.REFRESH, Event.EXPIRE) if events.when(e) is not None]
            refresh, retry = controller.intervals()
            return ZoneStatus(
                **common,
                state=status.state,
                last_load=last_load,
                last_failure=status.last_failure,
                failure_reason=status.failure_reason,
                transfers_in=status.successes,
                transfer_failures=status.failures,
                masters=tuple(
                    MasterStatus(m.address, m.port, m.reachable, m.last_success, m.last_failure, m.last_error, m.last_serial)
                    for m in status.masters
                ),
                expire_at=status.expire_at,
                next_event=min(upcoming, key=lambda item: item[1]) if upcoming else None,
                last_refresh=status.last_success,
                refresh_interval=refresh or None,
                retry_interval=retry,
            )
        outcome = None if controller is None else controller.last_outcome
        loading = controller is not None and controller.loading
        state = "loading" if loading and data is None else zone.state.value
        failed = outcome is not None and not outcome[1]
        return ZoneStatus(
            **common,
            state=state,
            last_load=None if outcome is None else Outcome(*outcome),
            last_failure=outcome[0] if failed else None,
            failure_reason=outcome[2] if failed else None,
            transfers_in=0,
            transfer_failures=0,
            masters=(),
            expire_at=None,
            next_event=None,
            last_refresh=None,
        )

    def _downstream(self, zone: Zone, peer) -> DownstreamStatus:
        notified = None if self.notifier is None else self.notifier.last_result(zone.name, peer.address, peer.port)
        served = None if self.transfers is None else self.transfers.last_served(zone.name, peer.address)
        return DownstreamStatus(peer.address, peer.port, notified, served)

    def _zone(self, name: dns.name.Name | str) -> Zone:
        key = _name(name)
        zone = self.zonedb.get(key)
        if zone is None:
            raise NoSuchZone(zone_label(key))
        return zone

    def _declared_in(self, name: dns.name.Name) -> str | None:
        return None if name in self._api_zones else self.config.source

    # -- zones

    def add_zone(self, config: ZoneConfig) -> defer.Deferred:
        """
        Serve a new zone: unloaded (SERVFAIL) until its file, stored copy or
        first transfer is read.  Fires when a primary zone's load has ended.
        """
        if self.zonedb.get(config.name) is not None:
            raise SecdnsError(f"zone {zone_label(config.name)} exists already")
        zone = Zone(config)
        self._publish_map([*self.zonedb, zone])
        self.bus.publish(ZoneAdded(zone.label, self._now(), config.type))
        return self._start_controller(zone)

    def _start_controller(self, zone: Zone) -> defer.Deferred:
        if zone.is_primary:
            controller = PrimaryZone(
                zone,
                self.committer.commit,
                self.worker,
                self._now,
                publish=self.bus.publish,
                left_out=self._left_out,
                read_stored=self.store.load_zone,
                max_file_bytes=lambda: self.config.transfer.max_file_bytes,
            )
            self._controllers[zone.name] = controller
            return controller.load()
        controller = SecondaryZone(
            zone,
            self.config.timers,
            self.store,
            self.clock,
            self.client,
            self.keyring,
            worker=self.worker,
            commit=self.committer.commit,
            publish=self.bus.publish,
        )
        self._controllers[zone.name] = controller
        return controller.start().addCallback(lambda _: self._announce_stored(zone.name))

    def _announce_stored(self, name: dns.name.Name) -> None:
        """A stored copy served at start: downstreams may have missed it (BIND notifies at start too)."""
        zone = self.zonedb.get(name)
        if zone is not None and zone.data is not None and not zone.expired:
            self._announce(zone)

    def _left_out(self, zone: Zone) -> None:
        """A new primary zone whose file did not load: out of the map until a reload reads it."""
        if self.zonedb.get(zone.name) is zone:
            self._controllers.pop(zone.name, None)
            self._publish_map([z for z in self.zonedb if z.name != zone.name])

    def reconfigure_zone(self, config: ZoneConfig) -> defer.Deferred:
        """
        Take a zone's new config.  A new role starts the zone afresh; a
        primary zone's file is read again if it changed.
        """
        zone = self._zone(config.name)
        if zone.config.type != config.type:
            return self.remove_zone(config.name).addCallback(lambda _: self.add_zone(config))
        if zone.config != config:
            zone = attrs.evolve(zone, config=config)
            self._replace_in_map(zone)
        controller = self._controllers.get(config.name)
        if isinstance(controller, SecondaryZone):
            controller.reconfigure(zone, self.config.timers, self.keyring)
            return defer.succeed(None)
        if controller is None:  # a zone left out after its first load failed
            return self._start_controller(zone)
        controller.zone = zone
        return controller.load()

    def remove_zone(self, name: dns.name.Name | str) -> defer.Deferred:
        """Stop serving a zone and forget what is stored of it."""
        zone = self._zone(name)
        controller = self._controllers.pop(zone.name, None)
        stopped = defer.succeed(None) if controller is None else self._stop_controller(controller)
        if self.notifier is not None:
            self.notifier.forget(zone.name)
        self._publish_map([z for z in self.zonedb if z.name != zone.name])
        self.bus.publish(ZoneRemoved(zone.label, self._now(), zone.config.type))
        return stopped.addCallback(lambda _: self.committer.forget(zone.name))

    def apply_zones(self, configs: Iterable[ZoneConfig]) -> defer.Deferred:
        """Make the zone set what C{configs} says: add, reconfigure and remove by name."""
        configs = list(configs)
        wanted = {config.name for config in configs}
        work = [self.remove_zone(zone.name) for zone in list(self.zonedb) if zone.name not in wanted]
        for config in configs:
            if self.zonedb.get(config.name) is None:
                work.append(self.add_zone(config))
            else:
                work.append(self.reconfigure_zone(config))
        return defer.gatherResults(work, consumeErrors=True).addCallback(lambda _: None)

    # -- zones made at run time

    def create_zone(self, config: ZoneConfig) -> defer.Deferred:
        """
        Make and serve a zone, kept in the store: a secondary is transferred
        at once; a primary is dynamic (no file), starting with an SOA and NS
        (L{secdns.zones.edit.initial_version}).  Fires with its status once
        a primary's first version is served (a secondary's: once its stored
        copy, if any, is read).
        """
        if self.zonedb.get(config.name) is not None or config.name in self._api_zones:
            raise ZoneExists(f"zone {zone_label(config.name)} exists already")
        if config.file is not None:
            raise InvalidRequest("a zone made through the API has no zone file: its records are edited through the API")
        self._check_keys(config)
        now = self._now()
        self.store.save_api_zone(config, now)
        self._api_zones[config.name] = StoredZoneConfig(config, now, now)
        return self.add_zone(config).addCallback(lambda _: self.status(config.name))

    def update_zone(self, config: ZoneConfig) -> defer.Deferred:
        """Change a run-time zone's masters, downstreams or update keys; fires with its status."""
        stored = self._made_at_run_time(config.name)
        if config.type != stored.config.type:
            raise InvalidRequest(
                f"zone {zone_label(config.name)} is a {stored.config.type} zone: a zone's type cannot change "
                "(delete it and create it again)"
            )
        if config.file is not None:
            raise InvalidRequest("a zone made through the API has no zone file: its records are edited through the API")
        self._check_keys(config)
        now = self._now()
        self.store.save_api_zone(config, now)
        self._api_zones[config.name] = StoredZoneConfig(config, stored.created, now)
        return self.reconfigure_zone(config).addCallback(lambda _: self.status(config.name))

    def delete_zone(self, name: dns.name.Name | str) -> defer.Deferred:
        """Stop serving a run-time zone and forget it, its data and its journal."""
        stored = self._made_at_run_time(name)
        del self._api_zones[stored.config.name]
        self.store.forget_api_zone(stored.config.name)
        return self.remove_zone(stored.config.name)

    def _made_at_run_time(self, name: dns.name.Name | str) -> StoredZoneConfig:
        zone = self._zone(name)
        stored = self._api_zones.get(zone.name)
        if stored is None:
            raise ReadOnly(f"zone {zone.label} is declared in {self.config.source}: change it there, and reload")
        return stored

    def _check_keys(self, config: ZoneConfig) -> None:
        known = {key.name for key in self._all_keys()}
        for name in _key_names(config):
            if name not in known:
                raise InvalidRequest(f"no TSIG key {zone_label(name)}")

    # -- keys

    def keys(self) -> list[KeyStatus]:
        """Every TSIG key (never its secret): the config's, then those made at run time."""
        return [self._key_status(key) for key in self._all_keys()]

    def key(self, name: dns.name.Name | str) -> KeyStatus:
        key = self._find_key(_name(name))
        return self._key_status(key)

    def _key_status(self, key: TsigKeyConfig) -> KeyStatus:
        stored = self._api_keys.get(key.name)
        users = tuple(zone.label for zone in self.zonedb if key.name in _key_names(zone.config))
        return KeyStatus(
            name=zone_label(key.name),
            algorithm=key.algorithm,
            declared_in=None if stored is not None else self.config.source,
            created=self._started if stored is None else stored.created,
            updated=self._started if stored is None else stored.updated,
            zones=users,
        )

    def _find_key(self, name: dns.name.Name) -> TsigKeyConfig:
        for key in self._all_keys():
            if key.name == name:
                return key
        raise NoSuchKey(zone_label(name))

    def create_key(self, key: TsigKeyConfig) -> KeyStatus:
        """Make a TSIG key, kept in the store; in force at once."""
        if any(k.name == key.name for k in self._all_keys()):
            raise KeyExists(f"TSIG key {zone_label(key.name)} exists already")
        _check_key(key)
        now = self._now()
        self.store.save_api_key(key, now)
        self._api_keys[key.name] = StoredKey(key, now, now)
        self._set_keys()
        return self._key_status(key)

    def update_key(self, key: TsigKeyConfig) -> KeyStatus:
        """Change a run-time key's algorithm and secret; in force at once."""
        stored = self._run_time_key(key.name)
        _check_key(key)
        now = self._now()
        self.store.save_api_key(key, now)
        self._api_keys[key.name] = StoredKey(key, stored.created, now)
        self._set_keys()
        return self._key_status(key)

    def delete_key(self, name: dns.name.Name | str) -> None:
        """Forget a run-time key no zone uses."""
        name = _name(name)
        self._find_key(name)
        users = tuple(zone.label for zone in self.zonedb if name in _key_names(zone.config))
        if users:
            raise KeyInUse(f"TSIG key {zone_label(name)} is used by zones {', '.join(users)}", users)
        self._run_time_key(name)
        self.store.forget_api_key(name)
        del self._api_keys[name]
        self._set_keys()

    def _run_time_key(self, name: dns.name.Name) -> StoredKey:
        self._find_key(name)
        stored = self._api_keys.get(name)
        if stored is None:
            raise ReadOnly(f"TSIG key {zone_label(name)} is declared in {self.config.source}: change it there, and reload")
        return stored

    def _set_keys(self) -> None:
        self.keyring = Keyring.from_config(self._all_keys())
        for controller in self._controllers.values():
            if isinstance(controller, SecondaryZone):
                controller.keyring = self.keyring
        self._tell_watchers()

    # -- content and actions

    def replace_content(self, name: dns.name.Name | str, data: ZoneData) -> defer.Deferred:
        """Serve C{data} as a primary zone's new version, through the commit path."""
        controller = self._controller(name, PrimaryZone, "replace the content of")
        return controller.replace(data, "replace_content")

    def edit(self, name: dns.name.Name | str, changes: Iterable[Change], source: str = "") -> defer.Deferred:
        """
        Change a dynamic zone's records (L{secdns.zones.edit}), all or none,
        from the version served when the edit runs; edits of a zone run one
        at a time.  Fires with the new version once served and announced, or
        fails with L{secdns.zones.edit.EditRefused} having changed nothing.

        @param source: who asked, for the log and the event.
        """
        zone = self._zone(name)
        controller = self._controller(zone.name, PrimaryZone, "edit the records of")
        if not zone.config.dynamic:
            raise NotEditable(
                f"zone {zone.label} is read from its zone file {zone.config.file}: edit the file and reload"
            )
        return controller.edit(tuple(changes), source)

    def refresh(self, name: dns.name.Name | str) -> None:
        """Have a secondary zone ask its masters now."""
        self._controller(name, SecondaryZone, "refresh").refresh_now()

    def retransfer(self, name: dns.name.Name | str) -> None:
        """Have a secondary zone transfer itself whole (AXFR) now."""
        self._controller(name, SecondaryZone, "retransfer").retransfer()

    def notified(self, name: dns.name.Name, serial: int | None, address: str) -> bool | None:
        """
        A master's NOTIFY for a zone (already checked against its ACL):
        whether a refresh was scheduled, or L{None} for a zone that is not
        refreshed from masters.
        """
        controller = self._controllers.get(name)
        if not isinstance(controller, SecondaryZone):
            return None
        return controller.notify(serial, address)

    def notify(self, name: dns.name.Name | str) -> int:
        """NOTIFY a zone's downstreams of its current version now; returns how many."""
        zone = self._zone(name)
        if self.notifier is None or zone.data is None:
            return 0
        self.notifier.notify(zone)
        return len(zone.config.external_downstreams)

    def reload_zone(self, name: dns.name.Name | str) -> defer.Deferred:
        """Read a primary zone's file again (if it changed)."""
        return self._controller(name, PrimaryZone, "reload").load()

    def _controller(self, name, kind, action: str):
        zone = self._zone(name)
        controller = self._controllers.get(zone.name)
        if not isinstance(controller, kind):
            raise WrongRole(f"zone {zone.label} is a {zone.config.type} zone: cannot {action} it")
        return controller

    def _committed(self, zone: Zone) -> None:
        """After each swap: the commit hooks, then (once the hooks' Deferreds fire) the zone's downstreams."""
        waits = [d for d in (hook(zone) for hook in self._commit_hooks) if d is not None]
        if not waits:
            self._announce(zone)
            return
        defer.gatherResults(waits, consumeErrors=True).addBoth(lambda _: self._announce(zone))

    def _announce(self, zone: Zone) -> None:
        """Tell the zone's downstreams of its version."""
        if self.notifier is not None and zone.config.external_downstreams:
            self.notifier.notify(zone)

    def _notify_failed(self, zone: Zone, downstream: str, serial: int, reason: str) -> None:
        self.bus.publish(NotifyFailed(zone.label, self._now(), downstream, serial, reason))

    # -- the config

    def apply(self, config: Config) -> defer.Deferred:
        """
        Put C{config} in force: its keys, timers and limits at once, then
        its zones through L{apply_zones}.  Fires when every primary zone's
        load has ended.
        """
        self.check(config)
        self.config = config
        self.keyring = Keyring.from_config(self._all_keys())
        server = config.server
        self.committer.journal_entries = server.journal_entries
        self.committer.journal_bytes = server.journal_bytes
        self._tell_watchers()
        return self.apply_zones(self._all_zones())


def _name(name: dns.name.Name | str) -> dns.name.Name:
    return name if isinstance(name, dns.name.Name) else dns.name.from_text(name)


def _key_names(config: ZoneConfig) -> set[dns.name.Name]:
    """The TSIG keys a zone's config names."""
    peers = (*config.external_masters, *config.external_downstreams, *config.allow_transfer)
    return {peer.tsig_key for peer in peers if peer.tsig_key is not None} | set(config.allow_update)


def _check_key(key: TsigKeyConfig) -> None:
    if key.algorithm not in TSIG_ALGORITHMS:
        raise InvalidRequest(f"unknown TSIG algorithm {key.algorithm!r} (one of: {', '.join(TSIG_ALGORITHMS)})")
    if not key.secret:
        raise InvalidRequest("a TSIG key needs a secret")
