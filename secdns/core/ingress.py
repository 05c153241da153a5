# -*- test-case-name: tests.unit.test_ingress -*-
"""
The secondary side: one refresh controller per secondary zone, kept in
step with the zone map, and the NOTIFYs masters send us.

L{Ingress.sync} is called at start and after each reload, with the zone
map in force: a secondary zone new to it gets a controller (which serves
the stored copy at once and starts a refresh), a kept zone's controller
takes the zone's new L{Zone} object and settings, and a zone gone from the
config has its controller stopped (a transfer in flight abandoned) and its
stored copy forgotten.

L{NotifyHandler} answers NOTIFY (RFC 1996 section 3) at once, and only
schedules work::

    not a question for a zone apex we have ───────> NOTAUTH  (logged)
    not from one of the zone's masters (and key) ─> REFUSED  (logged)
    otherwise ────────────────────────────────────> NOERROR, AA, question echoed;
                                                    a refresh, unless the SOA it
                                                    carries is the serial we serve
"""

from __future__ import annotations

from typing import Callable, Iterator

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from secdns.zones import acl
from secdns.config import Config
from secdns.transfer.refresh import SecondaryStatus, SecondaryZone
from secdns.server.render import Edns, Question, render_error
from secdns.store.database import Store
from secdns.wire.tsig import Keyring
from secdns.transfer.transfer_in import IMasterClient
from secdns.zones.zone import Zone, zone_label
from secdns.zones.zonemap import ZoneDB

__all__ = ["Ingress"]

log = Logger()


class Ingress:
    """The controllers of the secondary zones, by zone name."""

    def __init__(
        self,
        store: Store,
        clock: IReactorTime,
        client: IMasterClient,
        worker: Callable[..., defer.Deferred] = defer.maybeDeferred,
    ) -> None:
        self.store = store
        self.clock = clock
        self.client = client
        self.worker = worker
        self.zones: dict[dns.name.Name, SecondaryZone] = {}

    def get(self, name: dns.name.Name) -> SecondaryZone | None:
        return self.zones.get(name)

    def __iter__(self) -> Iterator[SecondaryZone]:
        return iter(list(self.zones.values()))

    def statuses(self) -> list[SecondaryStatus]:
        return [secondary.status() for secondary in self.zones.values()]

    def sync(self, zonedb: ZoneDB, config: Config) -> None:
        """Start, reconfigure and stop controllers so there is one per secondary zone of C{zonedb}."""
        keyring = Keyring.from_config(config.tsig_keys)
        wanted = {zone.name: zone for zone in zonedb if not zone.is_primary}
        for name in [name for name in self.zones if name not in wanted]:
            self.zones.pop(name).stop()
            if config.zone(name) is None:
                self.store.forget_zone(name)
                log.info("zone {zone}: no longer a secondary zone; its stored copy is forgotten", zone=zone_label(name))
        for name, zone in wanted.items():
            secondary = self.zones.get(name)
            if secondary is None:
                secondary = SecondaryZone(
                    zone, config.timers, self.store, self.clock, self.client, keyring, worker=self.worker
                )
                self.zones[name] = secondary
                secondary.start()
            else:
                secondary.reconfigure(zone, config.timers, keyring)

    def stop(self) -> defer.Deferred:
        """Stop every controller; fires when none is running an event."""
        stopping = [secondary.stop() for secondary in self.zones.values()]
        self.zones = {}
        return defer.gatherResults(stopping, consumeErrors=True)
