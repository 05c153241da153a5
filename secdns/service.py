# -*- test-case-name: tests.integration.test_appliance -*-
"""
The appliance as one Twisted service tree.

L{SecdnsService} owns the zone map and the query handler, and has the
listeners as children: DNS over UDP and TCP on each C{[server] listen}
address, and HTTP on C{[http] listen}.  Ports are bound in
C{privilegedStartService} (by Twisted's C{UDPServer}/C{TCPServer}), so port
53 works under C{twistd --uid}.

SIGHUP calls L{SecdnsService.reload} from the reactor: the config and the
zone files are read again and the new zone map replaces the old one in one
assignment; when the config is invalid, the old one keeps running.  The
whole reload runs in one reactor turn, so no query is answered from a
half-built map: queries that arrive meanwhile wait in the socket buffers
and are answered from the new map.
"""

from __future__ import annotations

import gc
import os
import signal

import dns.opcode
import dns.rdatatype

from twisted.application import internet, service
from twisted.internet import threads
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from secdns import config as config_module
from secdns.config import Config
from secdns.errors import ConfigError
from secdns.ops.http import site
from secdns.core.ingress import Ingress
from secdns.server.notify_in import NotifyHandler
from secdns.ops.metrics import EgressCollector, ServerCollector, TransferCollector, ZoneCollector, registry_for
from secdns.server.protocol import DNSDatagramProtocol, DNSStreamFactory
from secdns.server.dispatch import QueryHandler
from secdns.core.egress import Egress
from secdns.transfer.notify_out import Notifier
from secdns.transfer.requestor import Requestor
from secdns.store.database import Store
from secdns.wire.tsig import Keyring
from secdns.transfer.transfer_in import MasterClient
from secdns.server.transfer_out import TransferServer, keep_transfer_blocks, transfer_blocks
from secdns.zones.zonemap import ZoneDB
from secdns.core.loading import reloaded_zonedb

__all__ = ["SecdnsService"]

log = Logger()


class SecdnsService(service.MultiService):
    """
    The whole appliance.

    @ivar config: the config in force.
    @ivar handler: answers DNS requests from C{handler.zonedb}.
    """

    def __init__(self, config: Config, zonedb: ZoneDB, reactor, handle_signals: bool = True) -> None:
        super().__init__()
        self.config = config
        self.reactor = reactor
        self.handle_signals = handle_signals
        self.handler = QueryHandler(
            zonedb,
            max_udp_size=config.server.max_udp_size,
            keyring=Keyring.from_config(config.tsig_keys),
            clock=reactor,
        )
        self.store: Store | None = None  # opened in startService, as the user we run as
        self.egress: Egress | None = None
        self.transfers = TransferServer(
            self._journal_of, max_transfers=config.server.transfers_out, max_udp_size=config.server.max_udp_size
        )
        self.requestor = Requestor(reactor, config.server.transfer_source)
        self.notifier = Notifier(self.requestor, reactor, lambda: self.handler.keyring)
        self.handler.handlers[dns.rdatatype.AXFR] = self.transfers
        self.handler.handlers[dns.rdatatype.IXFR] = self.transfers
        self.ingress: Ingress | None = None  # started with the store
        self.handler.handlers[dns.opcode.NOTIFY] = NotifyHandler(self._secondary, config.server.max_udp_size)
        self.registry = registry_for(
            ZoneCollector(lambda: self.handler.zonedb),
            TransferCollector(lambda: [] if self.ingress is None else self.ingress.statuses(), reactor.seconds),
            EgressCollector(self.transfers, self.notifier),
            ServerCollector(lambda: sum(p.lost for p in self.datagram_protocols)),
        )
        self._previous_sighup = None
        self.datagram_protocols: list[DNSDatagramProtocol] = []
        self._add_listeners(config)

    @property
    def zonedb(self) -> ZoneDB:
        return self.handler.zonedb

    def _add_listeners(self, config: Config) -> None:
        streams = DNSStreamFactory(self.handler, config.server.tcp_idle_timeout, self.reactor)
        for endpoint in config.server.listen:
            datagrams = DNSDatagramProtocol(self.handler)  # a protocol has one transport
            self.datagram_protocols.append(datagrams)
            udp = internet.UDPServer(endpoint.port, datagrams, interface=endpoint.host, reactor=self.reactor)
            tcp = internet.TCPServer(endpoint.port, streams, interface=endpoint.host, reactor=self.reactor)
            udp.setName(f"server.listen {endpoint} (UDP)")
            tcp.setName(f"server.listen {endpoint} (TCP)")
            udp.setServiceParent(self)
            tcp.setServiceParent(self)
        if config.http.listen is not None:
            listen = config.http.listen
            http = internet.TCPServer(listen.port, site(self.registry), interface=listen.host, reactor=self.reactor)
            http.setName(f"http.listen {listen} (TCP)")
            http.setServiceParent(self)

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
                    reason += " (a port below 1024 needs twistd started as root, with --uid and --gid)"
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
        server = self.config.server
        self.egress = Egress(self.store, self.reactor.seconds, server.journal_entries, server.journal_bytes)
        for zone in self.zonedb:
            if zone.is_primary:
                self.egress.record(zone, None)
        for zone in self.zonedb:
            if zone.is_primary:
                self._prepare_transfers(zone)
        _settle_heap()
        super().startService()
        for zone in self.zonedb:
            if zone.is_primary:
                self.notifier.notify(zone)  # on start, as BIND does
        client = MasterClient(self.requestor, lambda: self.config.transfer, self._in_thread, freeze=True)
        self.ingress = Ingress(self.store, self.reactor, client, self._in_thread)
        self.ingress.sync(self.zonedb, self.config)  # stored copies served now, refreshes started
        if self.handle_signals:
            self._previous_sighup = signal.signal(signal.SIGHUP, self._on_sighup)
        log.info(
            "secdns serving {count} zones on {listen}",
            count=len(self.zonedb),
            listen=", ".join(str(e) for e in self.config.server.listen),
        )

    def stopService(self):
        self.notifier.stop()
        if self.ingress is not None:
            self.ingress.stop()
        if self.handle_signals and self._previous_sighup is not None:
            signal.signal(signal.SIGHUP, self._previous_sighup)
            self._previous_sighup = None
        return super().stopService()

    def _on_sighup(self, signum, frame) -> None:
        # A signal handler only hands the work to the reactor.
        self.reactor.callFromThread(self._reload_on_signal)

    def _reload_on_signal(self) -> None:
        log.info("SIGHUP: reloading {source}", source=self.config.source)
        self.reload()

    def reload(self) -> bool:
        """
        Read the config and zone files again and serve what they say.

        Zone files that fail to load, or whose serial did not grow, are
        logged and their zones keep serving what they served (see
        L{secdns.core.loading}).

        @return: whether the new config was taken.
        """
        try:
            new = config_module.load(self.config.source)
        except ConfigError as e:
            log.error("reload failed, leaving the old configuration in place: {error}", error=str(e))
            return False
        try:
            zonedb = reloaded_zonedb(new, self.handler.zonedb)
        except Exception:
            log.failure("reload failed, leaving the old configuration in place")
            return False
        self._warn_about_restart(new)
        announce = self._record_new_versions(zonedb)
        changes = config_module.diff(self.config, new)
        self.handler.keyring = Keyring.from_config(new.tsig_keys)
        self.handler.zonedb = zonedb  # the one assignment that switches queries over
        self._apply_limits(new)
        self.config = new
        for name in changes.removed:
            self.notifier.forget(name)
        if self.ingress is not None:
            self.ingress.sync(zonedb, new)
        for zone in announce:
            self.notifier.notify(zone)
        _settle_heap()
        log.info(
            "reloaded {source}: {count} zones ({added} added, {removed} removed, {changed} reconfigured)",
            source=new.source,
            count=len(zonedb),
            added=len(changes.added),
            removed=len(changes.removed),
            changed=len(changes.changed),
        )
        return True

    def _in_thread(self, f, *args):
        """Run pure work (parsing a transfer, building a version) in the reactor's thread pool."""
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), f, *args)

    @staticmethod
    def _prepare_transfers(zone) -> None:
        """
        Render a primary zone's new version for transfers now, with the
        loading: its downstreams ask for it as soon as they are notified.
        """
        if zone.config.external_downstreams and zone.data is not None:
            keep_transfer_blocks(zone.data, transfer_blocks(zone.data))

    def _secondary(self, name):
        return None if self.ingress is None else self.ingress.get(name)

    def _journal_of(self, zone):
        return [] if self.egress is None else self.egress.journal(zone)

    def _record_new_versions(self, zonedb: ZoneDB) -> list:
        """
        Journal the primary zones that have a new version, before it is
        served; return the zones whose downstreams are to be notified (a new
        version, or new downstreams).
        """
        announce = []
        for zone in zonedb:
            if not zone.is_primary:
                continue
            old = self.zonedb.get(zone.name)
            previous = None if old is None or not old.is_primary else old.data
            if previous is not zone.data:
                if self.egress is not None:
                    self.egress.record(zone, previous)
                self._prepare_transfers(zone)
                announce.append(zone)
            elif old.config.external_downstreams != zone.config.external_downstreams:
                announce.append(zone)
        return announce

    def _apply_limits(self, new: Config) -> None:
        """The [server] settings a reload takes at once."""
        server = new.server
        if self.handler.max_udp_size != server.max_udp_size:
            self.handler.max_udp_size = server.max_udp_size
        self.transfers.max_transfers = server.transfers_out
        self.transfers.max_udp_size = server.max_udp_size
        if self.egress is not None:
            self.egress.journal_entries = server.journal_entries
            self.egress.journal_bytes = server.journal_bytes

    def _warn_about_restart(self, new: Config) -> None:
        old = self.config
        for key in ("listen", "tcp_idle_timeout", "state_dir"):
            if getattr(old.server, key) != getattr(new.server, key):
                log.warn("server.{key} changed; it takes effect at the next restart", key=key)
        if old.http != new.http:
            log.warn("http.listen changed; it takes effect at the next restart")


def _settle_heap() -> None:
    """
    Move what the zones hold out of the garbage collector's sight: they live
    until replaced, and each full collection would otherwise rescan every
    record, a pause of the whole process that grows with the zones.
    """
    gc.collect()
    gc.freeze()
