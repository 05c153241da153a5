# -*- test-case-name: tests.integration.test_appliance -*-
"""
The appliance as one Twisted service tree: the listeners, wired to the
zone core.

L{SecdnsService} has the listeners as children (DNS over UDP and TCP on
each C{[server] listen} address, and HTTP on C{[http] listen}), the query
dispatcher, and the zone core (L{ZoneRegistry}), which owns every zone and
is the only thing the operator surfaces talk to.  Ports are bound in
C{privilegedStartService} (by Twisted's C{UDPServer}/C{TCPServer}), so
port 53 works under C{twistd --uid}; the store is opened in
C{startService}, as the user we run as.

SIGHUP calls L{SecdnsService.reload} from the reactor: the config file is
read again and, if valid, the registry applies the difference from the
config in force (keys and limits at once; zone files read in worker
threads, each zone swapped when its file is read).  When the config is
invalid, the old one keeps running.
"""

from __future__ import annotations

import collections
import os
import signal

import attrs
import dns.opcode
import dns.rdatatype

from twisted.application import internet, service
from twisted.internet import defer, task, threads
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from secdns import __version__, config as config_module, heap
from secdns.config import Config
from secdns.zones.events import ReloadFailed
from secdns.core.registry import ZoneRegistry
from secdns.errors import ConfigError
from secdns.ops.http import http_service
from secdns.ops.eventlog import log_event
from secdns.ops.alarms.deliver import Deliveries
from secdns.ops.alarms.engine import AlarmEngine
from secdns.ops.metrics import (
    AlarmCollector, BuildInfoCollector, EgressCollector, NotificationCollector, ServerCollector, TransferCollector, UpdateCollector,
    ZoneCollector, registry_for,
)
from secdns.server import loglimit
from secdns.server.dispatch import QueryHandler
from secdns.server.notify_in import NotifyHandler
from secdns.server.protocol import DNSDatagramProtocol, DNSStreamFactory
from secdns.server.cookies import Cookies
from secdns.server.rrl import rate_limiter
from secdns.server.rrltable import SharedBuckets
from secdns.server.transfer_out import TransferServer
from secdns.server.update import UpdateHandler
from secdns.server.workers import (
    CountingDatagramProtocol, ReusePortTCP, ReusePortUDP, WorkerCollector, WorkerPool, adopt_connection,
)
from secdns.store.database import Store
from secdns.transfer.notify_out import Notifier
from secdns.transfer.requestor import Requestor
from secdns.transfer.transfer_in import MasterClient
from secdns.wire.tsig import Keyring
from secdns.zones.zonemap import ZoneDB

__all__ = ["SecdnsService"]

log = Logger()


class SecdnsService(service.MultiService):
    """
    The whole appliance.

    @ivar config: the config in force.
    @ivar handler: answers DNS requests from the registry's current map.
    @ivar registry: the zone core; made in C{startService}, with the store.
    """

    def __init__(self, config: Config, reactor, handle_signals: bool = True) -> None:
        super().__init__()
        self.config = config
        self.reactor = reactor
        self.handle_signals = handle_signals
        self.registry: ZoneRegistry | None = None
        self.store: Store | None = None
        self.alarms: AlarmEngine | None = None  # made in startService, with the store
        self.deliveries: Deliveries | None = None
        self.transfers = TransferServer(
            self._history_of,
            max_transfers=config.server.transfers_out,
            max_udp_size=config.server.max_udp_size,
            worker=self._in_thread,
        )
        self.requestor = Requestor(reactor, config.server.transfer_source)
        self.updates = UpdateHandler(self._edit, lambda: self.handler.zonedb, config.server.max_udp_size)
        self.handler = QueryHandler(
            ZoneDB.of([]),
            max_udp_size=config.server.max_udp_size,
            keyring=Keyring.from_config(config.tsig_keys),
            clock=reactor,
            handlers={
                dns.rdatatype.AXFR: self.transfers,
                dns.rdatatype.IXFR: self.transfers,
                dns.opcode.NOTIFY: NotifyHandler(self._notified, config.server.max_udp_size),
                dns.opcode.UPDATE: self.updates,
            },
        )
        self.notifier = Notifier(self.requestor, reactor, lambda: self.handler.keyring)
        self.metrics = registry_for(
            BuildInfoCollector(),
            ZoneCollector(lambda: self.handler.zonedb),
            TransferCollector(lambda: [] if self.registry is None else self.registry.zones(), reactor.seconds),
            EgressCollector(self.transfers, self.notifier),
            ServerCollector(
                lambda: sum(p.lost for p in self.datagram_protocols) + self._from_workers("lost"),
                lambda: (0 if self.streams is None else self.streams.stalled) + self._from_workers("tcp_stalled"),
                lambda: loglimit.LIMITER.suppressed,
                lambda: self._with_workers("tcp_limited", {} if self.streams is None else self.streams.limited),
                lambda: self._with_workers("rate_limited", {} if self.rrl is None else self.rrl.counts),
                lambda: self._with_workers("cookies", {} if self.handler.cookies is None else self.handler.cookies.counts),
            ),
            UpdateCollector(lambda: self.updates.counts),
            AlarmCollector(
                lambda: [] if self.alarms is None else self.alarms.firing(),
                lambda: [] if self.alarms is None else self.alarms.enabled(),
            ),
            NotificationCollector(lambda: {} if self.deliveries is None else self.deliveries.counts()),
        )
        self._previous_sighup = None
        self.datagram_protocols: list[DNSDatagramProtocol] = []
        self.streams: DNSStreamFactory | None = None
        self.workers: WorkerPool | None = None  # [server] workers > 1
        # The rate limiter's buckets, shared with the workers (secdns.server.rrltable):
        # made before them, whether [rate_limit] is on or not, since a reload may turn it on.
        self.rrl_table = SharedBuckets.create() if config.server.workers > 1 else None
        self.rrl = rate_limiter(attrs.asdict(config.rate_limit), self.rrl_table)
        self.handler.cookies = _cookies(config.cookies, None)
        self._add_listeners(config)

    @property
    def zonedb(self) -> ZoneDB:
        return self.handler.zonedb

    def _add_listeners(self, config: Config) -> None:
        streams = self.streams = DNSStreamFactory(
            self.handler,
            config.server.tcp_idle_timeout,
            self.reactor,
            max_clients=config.server.tcp_clients,
            max_per_address=config.server.tcp_clients_per_address,
        )
        if config.server.workers > 1:
            self._add_workers(config)
        else:
            for endpoint in config.server.listen:
                datagrams = DNSDatagramProtocol(self.handler, self.rrl)  # a protocol has one transport
                self.datagram_protocols.append(datagrams)
                udp = internet.UDPServer(endpoint.port, datagrams, interface=endpoint.host, reactor=self.reactor)
                udp.setName(f"server.listen {endpoint} (UDP)")
                udp.setServiceParent(self)
                tcp = internet.TCPServer(endpoint.port, streams, interface=endpoint.host, reactor=self.reactor)
                tcp.setName(f"server.listen {endpoint} (TCP)")
                tcp.setServiceParent(self)
        if config.http.listen is not None:
            listen = config.http.listen
            try:
                http = http_service(
                    config, self.metrics, lambda: self.registry, self.reactor, self._in_thread, lambda: getattr(self, "alarms", None)
                )
            except ConfigError as e:
                raise SystemExit(f"secdns: {e}") from None
            http.setName(f"http.listen {listen} (TCP)")
            http.setServiceParent(self)
        if config.manhole is not None:
            self._add_manhole(config)

    def _add_workers(self, config: Config) -> None:
        """
        UDP and TCP on each listen address from N processes
        (secdns.server.workers): N sockets of each bound with SO_REUSEPORT,
        one of each served here, one of each per worker.
        """
        count = config.server.workers
        sockets, listening = [], []
        for endpoint in config.server.listen:
            datagrams = CountingDatagramProtocol(self.handler, self.rrl)
            self.datagram_protocols.append(datagrams)
            udp = ReusePortUDP(endpoint, datagrams, count, self.reactor)
            udp.setName(f"server.listen {endpoint} (UDP)")
            udp.setServiceParent(self)
            sockets.append(udp)
            tcp = ReusePortTCP(endpoint, self.streams, count, self.reactor)
            tcp.setName(f"server.listen {endpoint} (TCP)")
            tcp.setServiceParent(self)
            listening.append(tcp)
        self.workers = WorkerPool(
            self.reactor, count, sockets, lambda: self.store.path, self._worker_state,
            lambda index, datagram, addr: self.datagram_protocols[index].forwarded(datagram, addr),
            rrl_table=self.rrl_table.fd,
            tcp=listening,
            take=lambda fd, data: adopt_connection(self.reactor, self.streams, fd, data),
        )
        self.workers.setName("server.workers")
        self.workers.setServiceParent(self)
        self.metrics.register(
            WorkerCollector(self.workers, lambda: sum(p.received for p in self.datagram_protocols), lambda: self.streams)
        )

    def _worker_state(self):
        """What the workers serve: the settings their handler needs, and each zone's version."""
        cookies = self.handler.cookies
        settings = {
            "max_udp_size": self.handler.max_udp_size,
            "rate_limit": None if self.rrl is None else attrs.asdict(self.config.rate_limit),
            "cookies": None if cookies is None else [secret.hex() for secret in cookies.secrets],
            "tcp_idle_timeout": self.streams.idle_timeout,
            "tcp_clients": self.streams.max_clients,
            "tcp_clients_per_address": self.streams.max_per_address,
        }
        zones = {zone.name.to_text(): (zone.data, zone.serial, zone.expired) for zone in self.handler.zonedb}
        return settings, zones

    def _tell_workers(self, zone):
        """A version committed: to the workers; its NOTIFY waits till they serve it."""
        self._workers_changed()
        return self.workers.serving(zone.name.to_text(), zone.serial)

    def _workers_changed(self) -> None:
        if self.workers is not None:
            self.workers.changed()

    def _from_workers(self, key: str) -> int:
        return 0 if self.workers is None else self.workers.summed(key)

    def _with_workers(self, key: str, own):
        """A labelled counter of this process, with the workers' added."""
        if self.workers is None:
            return own
        total = collections.Counter(own)
        total.update(self.workers.summed_by(key))
        return total

    def _add_manhole(self, config: Config) -> None:
        """The SSH manhole (secdns.ops.manhole): its names made at each login; authorized_keys read at each login."""
        from secdns.ops.manhole import ManholeService  # twisted.conch only when a [manhole] asks for it
        from secdns.ops.manhole_namespace import namespace

        manhole = ManholeService(
            config.manhole,
            lambda: namespace(self),
            self.reactor,
            authorized_keys=lambda: (self.config.manhole or config.manhole).authorized_keys,
            source=config.source,
        )
        manhole.setName(f"manhole.listen {config.manhole.listen} (SSH)")
        manhole.setServiceParent(self)

    def privilegedStartService(self) -> None:
        """
        Bind every listener, before twistd drops to C{--uid}/C{--gid}; one
        that cannot bind ends the process with a one-line error.
        """
        service.Service.privilegedStartService(self)
        for child in self:
            try:
                child.privilegedStartService()
            except CannotListenError as e:
                key, where = child.name.split(" ", 1)
                reason = e.socketError.strerror if isinstance(e.socketError, OSError) else e.socketError
                if isinstance(e.socketError, PermissionError) and e.port < 1024:
                    reason += " (a port below 1024 needs twistd started as root, with --uid and --gid, or CAP_NET_BIND_SERVICE)"
                raise SystemExit(f"secdns: {self.config.source}: {key}: cannot listen on {where}: {reason}") from None

    def startService(self) -> None:
        # After twistd --uid/--gid dropped privileges: the store must belong
        # to the user the appliance runs as, not to root.
        state_dir = self.config.server.state_dir
        try:
            os.makedirs(state_dir, exist_ok=True)
        except OSError as e:
            raise SystemExit(
                f"secdns: {self.config.source}: server.state_dir: cannot create {state_dir}: "
                f"{e.strerror} (it must be writable by the user secdns runs as)"
            ) from None
        self.store = Store.open(state_dir)
        for zone, count in sorted(self.store.repaired.items()):
            log.warn(
                "zone {zone}: dropped {count} journal changesets that did not lead to its stored serial "
                "(an IXFR from before them gets the whole zone)",
                zone=zone.rstrip(".") or ".", count=count,
            )
        client = MasterClient(self.requestor, lambda: self.config.transfer, self._in_thread, freeze=True)
        self.registry = ZoneRegistry(
            self.config, self.store, self.reactor, client, self.notifier, worker=self._in_thread, transfers=self.transfers
        )
        self.registry.bus.subscribe(log_event)
        if self.workers is not None:
            self.registry.on_commit(self._tell_workers)
        self.registry.watch(self._serve)
        super().startService()
        if self.handle_signals:
            self._previous_sighup = signal.signal(signal.SIGHUP, self._on_sighup)
        log.info(
            "secdns {version} answering on {listen}; reading {count} zones",
            version=__version__,
            count=len(self.config.zones),
            listen=", ".join(str(e) for e in self.config.server.listen),
        )
        try:
            started = self.registry.start()
        except ConfigError as e:
            raise SystemExit(f"secdns: {e}") from None
        started.addCallback(self._started)
        self._log_summaries = task.LoopingCall(self._summarise_held_lines)
        self._log_summaries.clock = self.reactor
        self._log_summaries.start(loglimit.LIMITER.window, now=False)
        self.deliveries = Deliveries(self.reactor, self.config.smtp, state_dir)
        self.alarms = AlarmEngine(self.registry, self.store, self.reactor, self.deliveries, self.config)
        try:
            self.alarms.start()
        except ConfigError as e:
            raise SystemExit(f"secdns: {e}") from None

    def _started(self, _) -> None:
        """Every zone file read (a zone that failed is logged and left out), stored copies served."""
        heap.settle()
        if self.workers is not None:
            self.workers.go()
        log.info(
            "secdns serving {count} zones on {listen}",
            count=len(self.handler.zonedb),
            listen=", ".join(str(e) for e in self.config.server.listen),
        )

    def _serve(self, registry: ZoneRegistry) -> None:
        """The registry's map or keys changed: queries see them from now on."""
        if self.handler.zonedb is not registry.zonedb:
            self.handler.zonedb = registry.zonedb  # the one assignment that switches queries over
        self.handler.keyring = registry.keyring
        self._workers_changed()

    def _summarise_held_lines(self) -> None:
        """Once a minute: how many lines about single requests were held back, per kind and network."""
        for summary in loglimit.LIMITER.summaries():
            log.info("{summary}", summary=str(summary))

    def stopService(self):
        stopping = []
        if getattr(self, "_log_summaries", None) is not None and self._log_summaries.running:
            self._log_summaries.stop()
        if self.alarms is not None:
            stopping.append(self.alarms.stop())  # and its deliveries: what waits goes to the stream files
        if self.registry is not None:
            self.registry.stop()
        if self.handle_signals and self._previous_sighup is not None:
            signal.signal(signal.SIGHUP, self._previous_sighup)
            self._previous_sighup = None
        stopped = super().stopService()
        if stopped is not None:
            stopping.append(stopped)
        return defer.gatherResults(stopping, consumeErrors=True).addCallback(lambda _: None)

    def _on_sighup(self, signum, frame) -> None:
        # A signal handler only hands the work to the reactor.
        self.reactor.callFromThread(self._reload_on_signal)

    def _reload_on_signal(self) -> None:
        log.info("SIGHUP: reloading {source}", source=self.config.source)
        self.reload()

    def reload(self) -> bool:
        """
        Read the config again and put it in force: keys and limits at once,
        zone files read in worker threads (see L{ZoneRegistry.apply}).
        Zone files that fail to load, or whose serial did not grow, are
        logged and their zones keep serving what they served.

        @return: whether the new config was taken.
        """
        try:
            new = config_module.load(self.config.source)
            if self.registry is not None:
                self.registry.check(new)
            if self.alarms is not None:
                self.alarms.check(new)
        except ConfigError as e:
            failed = ReloadFailed(self.reactor.seconds(), self.config.source, str(e))
            if self.registry is None:
                log_event(failed)
            else:
                self.registry.bus.publish(failed)
            return False
        self._warn_about_restart(new)
        changes = config_module.diff(self.config, new)
        self._apply_limits(new)
        self.config = new
        self._workers_changed()  # max_udp_size, [rate_limit], [cookies]
        if self.alarms is not None:
            self.alarms.apply(new)
        if self.registry is None:
            return True

        def reloaded(_):
            heap.settle()
            log.info(
                "reloaded {source}: {count} zones ({added} added, {removed} removed, {changed} reconfigured)",
                source=new.source,
                count=len(self.handler.zonedb),
                added=len(changes.added),
                removed=len(changes.removed),
                changed=len(changes.changed),
            )

        self.registry.apply(new).addCallback(reloaded).addErrback(
            lambda failure: log.failure("reload of {source} failed", failure, source=new.source)
        )
        return True

    def _in_thread(self, f, *args, **kwargs):
        """Run work proportional to a zone's size (parse, diff, snapshot) in the reactor's thread pool."""
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), f, *args, **kwargs)

    def _notified(self, name, serial, address):
        return None if self.registry is None else self.registry.notified(name, serial, address)

    def _edit(self, name, changes, source):
        """A DNS UPDATE's changes, through the registry's commit path (zones are served only once it exists)."""
        return self.registry.edit(name, changes, source)

    def _history_of(self, zone, serial: int, current: int):
        """A zone's changesets from C{serial} up to C{current}, from the store (L{None}: it has none that far back)."""
        return None if self.store is None else self.store.journal_since(zone.name, serial, current)

    def _apply_limits(self, new: Config) -> None:
        """The [server] settings a reload takes at once."""
        server = new.server
        if self.handler.max_udp_size != server.max_udp_size:
            self.handler.max_udp_size = server.max_udp_size
        self.transfers.max_transfers = server.transfers_out
        self.transfers.max_udp_size = server.max_udp_size
        self.requestor.source = server.transfer_source  # read for each request sent
        if self.streams is not None:
            self.streams.max_clients = server.tcp_clients
            self.streams.max_per_address = server.tcp_clients_per_address
        if new.rate_limit != self.config.rate_limit:
            if self.rrl_table is not None:
                self.rrl_table.clear()  # the counts start again, as with a limiter of one process
            self.rrl = rate_limiter(attrs.asdict(new.rate_limit), self.rrl_table)
            for datagrams in self.datagram_protocols:
                datagrams.rrl = self.rrl
        if new.cookies != self.config.cookies:
            self.handler.cookies = _cookies(new.cookies, self.handler.cookies)

    def _warn_about_restart(self, new: Config) -> None:
        old = self.config
        for key in ("listen", "tcp_idle_timeout", "state_dir", "workers"):
            if getattr(old.server, key) != getattr(new.server, key):
                log.warn("server.{key} changed; it takes effect at the next restart", key=key)
        if old.http != new.http:
            log.warn("http.listen changed; it takes effect at the next restart")
        if old.manhole != new.manhole and (old.manhole is None or new.manhole is None or attrs.evolve(
            old.manhole, authorized_keys=new.manhole.authorized_keys) != new.manhole):
            # authorized_keys is read at each login: a new path counts at the next one.
            log.warn("manhole changed; it takes effect at the next restart (authorized_keys is read at each login)")


def _cookies(config, old: Cookies | None) -> Cookies | None:
    """
    DNS Cookies as C{[cookies]} asks, or none (off).  Without a
    secret_file the random secret made at start is kept across reloads,
    so clients' cookies stay valid.
    """
    if not config.enabled:
        return None
    if config.secrets:
        return Cookies(config.secrets)
    if old is not None and old.generated:
        return old
    return Cookies()
