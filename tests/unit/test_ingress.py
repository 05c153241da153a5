"""secdns.core.ingress: NOTIFY in, and keeping one refresh controller per secondary zone across reloads."""

from __future__ import annotations

import time

import attrs
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
from twisted.internet.task import Clock

from secdns.config import Config, PeerConfig, TimersConfig, TsigKeyConfig, ZoneConfig
from secdns.core.registry import ZoneRegistry
from secdns.transfer.refresh import SecondaryZone
from secdns.server.notify_in import NotifyHandler
from secdns.ops.metrics import TransferCollector, exposition, registry_for
from secdns.server.dispatch import QueryHandler, Request
from secdns.store.database import Store
from secdns.testing import FakeMasterClient, ScriptedMaster
from secdns.wire.tsig import Keyring, split_tsig
from secdns.zones.zone import Zone
from secdns.zones.zonemap import ZoneDB
from tests.unit.test_refresh import axfr, records

ORIGIN = dns.name.from_text("example.com")
KEY = TsigKeyConfig(dns.name.from_text("transfer-key"), "hmac-sha256", b"s" * 32)
MASTER = "192.0.2.1"


def secondary_config(name=ORIGIN, masters=((MASTER, None),)) -> ZoneConfig:
    return ZoneConfig(name, "secondary", external_masters=tuple(PeerConfig(a, 53, k) for a, k in masters))


def config_of(*zones: ZoneConfig) -> Config:
    return Config(timers=TimersConfig(min_refresh=60), tsig_keys=(KEY,), zones=zones)


class Controllers:
    """The registry's refresh controllers, by name, as these tests look at them."""

    def __init__(self, registry: ZoneRegistry) -> None:
        self.registry = registry

    def get(self, name):
        controller = self.registry._controllers.get(name)
        return controller if isinstance(controller, SecondaryZone) else None

    def __iter__(self):
        return iter([c for c in self.registry._controllers.values() if isinstance(c, SecondaryZone)])

    def statuses(self):
        return self.registry.zones()


class Appliance:
    """A QueryHandler with the NOTIFY handler, and the zone registry on a Clock."""

    def __init__(self, *zone_configs: ZoneConfig, serial: int = 7) -> None:
        # dnspython signs with the wall clock: the appliance's clock starts
        # at the wall clock's second when it is made (not when this module
        # was imported: a long test run would put that past TSIG's fudge).
        self.start = float(int(time.time()))
        self.clock = Clock()
        self.clock.advance(self.start)
        self.store = Store(":memory:")
        self.master = ScriptedMaster(serial=serial, axfr=axfr(serial))
        self.client = FakeMasterClient(self.clock, {MASTER: self.master})
        self.config = config_of(*zone_configs)
        self.registry = ZoneRegistry(self.config, self.store, self.clock, self.client)
        self.ingress = Controllers(self.registry)
        self.handler = QueryHandler(
            self.registry.zonedb,
            keyring=Keyring.from_config([KEY]),
            clock=self.clock,
            handlers={dns.opcode.NOTIFY: NotifyHandler(self.registry.notified)},
        )
        self.registry.watch(lambda registry: setattr(self.handler, "zonedb", registry.zonedb))
        self.registry.start()
        self.clock.advance(0)

    @property
    def zonedb(self) -> ZoneDB:
        return self.registry.zonedb

    def reload(self, *zone_configs: ZoneConfig) -> None:
        self.config = config_of(*zone_configs)
        self.registry.apply(self.config)

    def notify(self, name="example.com", serial=None, address=MASTER, key=None, rdtype="SOA") -> dns.message.Message:
        message = dns.message.make_query(name, rdtype)
        message.set_opcode(dns.opcode.NOTIFY)
        message.flags = dns.flags.AA | dns.opcode.to_flags(dns.opcode.NOTIFY)
        if serial is not None:
            message.answer.append(
                dns.rrset.from_text(
                    dns.name.from_text(name), 300, "IN", "SOA", f"ns1.example.com. h.example.com. {serial} 1 1 1 1"
                )
            )
        if key is not None:
            message.use_tsig({key.name: dns.tsig.Key(key.name, key.secret, dns.tsig.HMAC_SHA256)}, key.name)
        wire = self.handler.answer(message.to_wire(), Request(address, 5353, False))
        return dns.message.from_wire(wire, keyring=False)

    def soa_queries(self) -> int:
        return self.client.requests.count((MASTER, "SOA"))


# -- NOTIFY


def test_notify_is_answered_at_once_with_aa_and_question():
    """A NOTIFY from the master is answered NOERROR with AA, opcode NOTIFY and the question echoed."""
    appliance = Appliance(secondary_config())
    response = appliance.notify(serial=8)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.opcode() == dns.opcode.NOTIFY
    assert response.flags & dns.flags.AA and response.flags & dns.flags.QR
    assert response.question[0].name == ORIGIN and response.question[0].rdtype == dns.rdatatype.SOA


def test_notify_schedules_a_refresh():
    """A NOTIFY with a serial newer than ours makes the zone ask its master at once."""
    appliance = Appliance(secondary_config())
    assert appliance.soa_queries() == 1
    appliance.notify(serial=8)
    appliance.clock.advance(0)
    assert appliance.soa_queries() == 2


def test_notify_with_our_serial_schedules_nothing():
    """A NOTIFY carrying the serial we serve is answered and changes nothing."""
    appliance = Appliance(secondary_config())
    assert appliance.zonedb.get(ORIGIN).serial == 7
    assert appliance.notify(serial=7).rcode() == dns.rcode.NOERROR
    appliance.clock.advance(0)
    assert appliance.soa_queries() == 1


def test_notify_for_zone_we_do_not_have_is_notauth():
    """A NOTIFY for a zone we do not have, even one below ours, gets NOTAUTH."""
    appliance = Appliance(secondary_config())
    assert appliance.notify("example.net").rcode() == dns.rcode.NOTAUTH
    assert appliance.notify("sub.example.com").rcode() == dns.rcode.NOTAUTH


def test_notify_from_non_master_is_refused():
    """A NOTIFY from an address that is not one of the zone's masters gets REFUSED and schedules nothing."""
    appliance = Appliance(secondary_config())
    assert appliance.notify(serial=8, address="198.51.100.9").rcode() == dns.rcode.REFUSED
    appliance.clock.advance(0)
    assert appliance.soa_queries() == 1


def test_notify_without_the_masters_key_is_refused():
    """Where the master entry names a key, an unsigned NOTIFY is REFUSED and a signed one accepted, its answer signed."""
    appliance = Appliance(secondary_config(masters=((MASTER, KEY.name),)))
    assert appliance.notify(serial=8).rcode() == dns.rcode.REFUSED
    response = appliance.notify(serial=8, key=KEY)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.had_tsig


def test_notify_for_a_primary_zone_is_refused(tmp_path):
    """A NOTIFY for a zone we are primary for gets REFUSED."""
    zone_file = tmp_path / "example.com.zone"
    zone_file.write_text("\n".join(records(7)) + "\n")
    primary = ZoneConfig(ORIGIN, "primary", file=str(zone_file))
    appliance = Appliance(primary)
    assert appliance.notify(serial=8).rcode() == dns.rcode.REFUSED


def test_notify_for_other_type_is_formerr():
    """A NOTIFY whose question is not of type SOA gets FORMERR."""
    appliance = Appliance(secondary_config())
    assert appliance.notify(rdtype="A").rcode() == dns.rcode.FORMERR


# -- controllers across reloads


def test_sync_starts_a_controller_per_secondary_zone():
    """Each secondary zone gets a controller at start, which transfers it."""
    appliance = Appliance(secondary_config(), secondary_config(dns.name.from_text("example.net")))
    assert {secondary.name for secondary in appliance.ingress} == {ORIGIN, dns.name.from_text("example.net")}
    assert appliance.zonedb.get(ORIGIN).serial == 7


def test_reload_keeps_controller_and_hands_it_the_new_zone():
    """A reload that changes a zone's masters keeps its controller, gives it the new Zone, and refreshes at once."""
    appliance = Appliance(secondary_config())
    secondary = appliance.ingress.get(ORIGIN)
    appliance.reload(secondary_config(masters=((MASTER, None), ("192.0.2.2", None))))
    assert appliance.ingress.get(ORIGIN) is secondary
    assert secondary.zone is appliance.zonedb.get(ORIGIN)
    assert secondary.zone.serial == 7
    appliance.clock.advance(0)
    assert appliance.soa_queries() == 2


def test_reload_adding_a_zone_starts_it():
    """A secondary zone added by a reload is transferred without waiting."""
    appliance = Appliance(secondary_config())
    other = dns.name.from_text("example.net")
    appliance.reload(secondary_config(), secondary_config(other))
    assert appliance.ingress.get(other) is not None
    appliance.clock.advance(0)
    assert appliance.client.requests[-2:] == [(MASTER, "SOA"), (MASTER, "AXFR")]


def test_reload_removing_a_zone_stops_and_forgets_it():
    """A secondary zone removed from the config has its controller stopped and its stored copy forgotten."""
    appliance = Appliance(secondary_config())
    assert appliance.store.load_zone(ORIGIN) is not None
    secondary = appliance.ingress.get(ORIGIN)
    appliance.reload()
    assert appliance.ingress.get(ORIGIN) is None
    assert appliance.store.load_zone(ORIGIN) is None
    secondary.refresh_now()
    appliance.clock.advance(3600)
    assert appliance.soa_queries() == 1


# -- metrics


def sample(text: str, series: str) -> float:
    """The value of one series in Prometheus text format."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{series} not in {text}")


def test_transfer_metrics():
    """The collector exposes the seeds' three transfer metrics per secondary zone, and the refresh details."""
    appliance = Appliance(secondary_config())
    collector = TransferCollector(appliance.ingress.statuses, appliance.clock.seconds)
    text = exposition(registry_for(collector)).decode()
    assert 'secdns_zone_transfer_success_total{zone="example.com"} 1.0' in text
    assert 'secdns_zone_transfer_failure_total{zone="example.com"} 0.0' in text
    # The scripted zone's SOA expire is 86400 s: 24 hours from now.
    assert 'secdns_zone_expiration_hours{zone="example.com"} 24.0' in text
    assert sample(text, 'secdns_zone_transfer_last_success_timestamp_seconds{zone="example.com"}') == appliance.start
    assert 'secdns_zone_refresh_state{state="loaded",zone="example.com"} 1.0' in text
    assert 'secdns_zone_master_up{master="192.0.2.1#53",zone="example.com"} 1.0' in text
    appliance.master.down = True
    appliance.ingress.get(ORIGIN).refresh_now()
    appliance.clock.advance(0)
    appliance.clock.advance(5)
    text = exposition(registry_for(collector)).decode()
    assert 'secdns_zone_transfer_failure_total{zone="example.com"} 1.0' in text
    assert 'secdns_zone_master_up{master="192.0.2.1#53",zone="example.com"} 0.0' in text
    assert 'secdns_zone_transfer_last_failure_info{reason="192.0.2.1#53: no answer over UDP within 5 s",zone="example.com"} 1.0' in text


def test_unloaded_zone_expiration_is_zero():
    """A secondary zone never transferred reports 0 hours to expiry, so an alarm on it fires."""
    appliance = Appliance(secondary_config())
    appliance.master.down = True
    appliance.reload(secondary_config(), secondary_config(dns.name.from_text("example.net")))
    text = exposition(registry_for(TransferCollector(appliance.ingress.statuses, appliance.clock.seconds))).decode()
    assert sample(text, 'secdns_zone_expiration_hours{zone="example.net"}') == 0


def test_refresh_and_retry_intervals_in_effect():
    """The SOA's refresh and retry, clamped by [timers], are exported per secondary zone: what alert rules count in."""
    appliance = Appliance(secondary_config())
    status = appliance.registry.status(ORIGIN)
    text = exposition(registry_for(TransferCollector(appliance.ingress.statuses, appliance.clock.seconds))).decode()
    assert sample(text, 'secdns_zone_refresh_interval_seconds{zone="example.com"}') == status.refresh_interval
    assert sample(text, 'secdns_zone_retry_interval_seconds{zone="example.com"}') == status.retry_interval
    # The scripted zone's SOA says refresh 3600, retry 600: inside the clamps.
    assert (status.refresh_interval, status.retry_interval) == (3600, 600)
