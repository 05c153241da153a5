"""secdns.core.registry: zones and TSIG keys made at run time, kept in the store; config ones read-only; edits of dynamic zones."""

from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdatatype
import pytest

from secdns.config import Config, PeerConfig, TsigKeyConfig, ZoneConfig
from secdns.core.registry import (
    InvalidRequest, KeyExists, KeyInUse, NoSuchKey, NoSuchZone, NotEditable, ReadOnly, ZoneExists, ZoneRegistry,
)
from secdns.errors import ConfigError
from secdns.store.database import Store
from secdns.zones import events
from secdns.zones.edit import ADD, REMOVE, REQUIRE, Change, EditRefused
from tests.unit.test_registry import COM, KEY, MASTER, ORG, Site

NET = dns.name.from_text("example.net")
UPD = TsigKeyConfig(dns.name.from_text("upd"), "hmac-sha256", b"u" * 32)


def dynamic(name=NET, downstreams=(), allow_update=()) -> ZoneConfig:
    return ZoneConfig(name, "primary", external_downstreams=tuple(downstreams), allow_update=tuple(allow_update))


def a(text: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text("IN", "A", text)


def www(zone=NET) -> dns.name.Name:
    return dns.name.from_text("www", zone)


def result(d):
    """The result of a Deferred that has fired (the site's worker runs at once)."""
    out = []
    d.addBoth(out.append)
    (value,) = out
    if hasattr(value, "raiseException"):
        value.raiseException()
    return value


@pytest.fixture
def site(tmp_path):
    site = Site(tmp_path, store=Store(str(tmp_path / "store.sqlite")))
    site.write(1)
    site.config = Config(source=str(tmp_path / "secdns.toml"), tsig_keys=(KEY,), zones=(site.primary(),))
    site.registry = ZoneRegistry(site.config, site.store, site.clock, site.client, site.notifier)
    site.registry.bus.subscribe(site.events.append)
    site.registry.start()
    return site


def restarted(site) -> ZoneRegistry:
    """A new registry on the same store and config: what a restart serves."""
    site.registry.stop()
    registry = ZoneRegistry(site.config, Store(str(site.path / "store.sqlite")), site.clock, site.client, site.notifier)
    registry.start()
    return registry


def test_a_dynamic_zone_starts_with_an_soa_and_ns_and_is_kept(site):
    status = result(site.registry.create_zone(dynamic()))
    assert (status.name, status.role, status.state, status.records) == ("example.net", "primary", "loaded", 2)
    assert status.declared_in is None and status.file is None and status.created == site.clock.seconds()
    data = site.registry.zonedb.get(NET).data
    assert data.soa[0].mname == dns.name.from_text("ns1.example.net")
    assert [r.target for r in data.rdataset(NET, dns.rdatatype.NS)] == [dns.name.from_text("ns1.example.net")]
    again = restarted(site)
    assert again.status(NET).serial == status.serial and again.status(NET).declared_in is None


def test_edits_make_one_version_each_and_survive_a_restart(site):
    first = result(site.registry.create_zone(dynamic())).serial
    data = result(site.registry.edit(NET, [Change(ADD, www(), dns.rdatatype.A, a("192.0.2.80"), 300)], "test"))
    assert data.serial == first + 1
    assert site.registry.zonedb.get(NET).data is data
    edited = [e for e in site.events if isinstance(e, events.ZoneEdited)]
    assert edited == [events.ZoneEdited("example.net", site.clock.seconds(), first + 1, first, 1, "test", 0.0)]
    assert [(c.serial_from, c.serial_to) for c in site.store.journal(NET)] == [(first, first + 1)]
    with pytest.raises(EditRefused):
        result(site.registry.edit(NET, [
            Change(REMOVE, www(), dns.rdatatype.A, a("192.0.2.80")),
            Change(REQUIRE, www(), dns.rdatatype.A, a("192.0.2.99")),
        ], "test"))
    assert site.registry.zonedb.get(NET).data is data
    again = restarted(site)
    assert [r.address for r in again.zonedb.get(NET).data.rdataset(www(), dns.rdatatype.A)] == ["192.0.2.80"]


def test_only_dynamic_primary_zones_are_edited(site):
    with pytest.raises(NotEditable, match="read from its zone file .*org.zone: edit the file and reload"):
        site.registry.edit(ORG, [Change(ADD, www(ORG), dns.rdatatype.A, a("192.0.2.1"), 300)])
    with pytest.raises(NoSuchZone):
        site.registry.edit(NET, [])


def test_a_secondary_made_at_run_time_is_transferred_at_once(site):
    status = result(site.registry.create_zone(ZoneConfig(COM, "secondary", external_masters=(PeerConfig(MASTER, 53),))))
    assert status.role == "secondary"
    site.run()
    assert site.registry.status(COM).serial == 7
    assert site.client.requests[-1] == (MASTER, "AXFR")


def test_config_zones_and_keys_are_read_only(site):
    with pytest.raises(ReadOnly, match=r"zone example.org is declared in .*secdns.toml: change it there, and reload"):
        site.registry.delete_zone(ORG)
    with pytest.raises(ReadOnly):
        site.registry.update_zone(site.primary())
    with pytest.raises(ReadOnly, match="TSIG key k1 is declared in"):
        site.registry.update_key(TsigKeyConfig(KEY.name, "hmac-sha256", b"x" * 32))
    with pytest.raises(ReadOnly):
        site.registry.delete_key(KEY.name)
    assert site.registry.status(ORG).declared_in == str(site.path / "secdns.toml")


def test_zones_made_twice_or_naming_unknown_keys_are_refused(site):
    with pytest.raises(ZoneExists):
        site.registry.create_zone(dynamic(ORG))
    with pytest.raises(InvalidRequest, match="no TSIG key nope"):
        site.registry.create_zone(dynamic(allow_update=(dns.name.from_text("nope"),)))
    with pytest.raises(InvalidRequest, match="has no zone file"):
        site.registry.create_zone(ZoneConfig(NET, "primary", file="/etc/passwd"))
    result(site.registry.create_zone(dynamic()))
    with pytest.raises(InvalidRequest, match="type cannot change"):
        site.registry.update_zone(ZoneConfig(NET, "secondary", external_masters=(PeerConfig(MASTER, 53),)))
    with pytest.raises(NoSuchZone):
        site.registry.delete_zone(COM)


def test_updating_and_deleting_a_run_time_zone(site):
    result(site.registry.create_zone(dynamic()))
    site.registry.create_key(UPD)
    status = result(site.registry.update_zone(dynamic(allow_update=(UPD.name,))))
    assert status.name == "example.net"
    assert site.registry.key(UPD.name).zones == ("example.net",)
    result(site.registry.delete_zone(NET))
    assert site.registry.zonedb.get(NET) is None
    assert site.store.stored_serial(NET) is None and site.store.api_zones() == []
    assert [type(e).__name__ for e in site.events][-1] == "ZoneRemoved"
    assert restarted(site).zonedb.get(NET) is None


def test_keys_made_at_run_time(site):
    status = site.registry.create_key(UPD)
    assert (status.name, status.algorithm, status.declared_in, status.zones) == ("upd", "hmac-sha256", None, ())
    assert "u" * 32 not in repr(status) and "secret" not in repr(status)
    assert site.registry.keyring.get(UPD.name) is not None
    with pytest.raises(KeyExists):
        site.registry.create_key(UPD)
    with pytest.raises(InvalidRequest, match="unknown TSIG algorithm 'hmac-foo'"):
        site.registry.create_key(TsigKeyConfig(dns.name.from_text("k9"), "hmac-foo", b"x"))
    result(site.registry.create_zone(dynamic(allow_update=(UPD.name,))))
    with pytest.raises(KeyInUse, match="used by zones example.net") as e:
        site.registry.delete_key(UPD.name)
    assert e.value.zones == ("example.net",)
    site.registry.update_key(TsigKeyConfig(UPD.name, "hmac-sha512", b"v" * 64))
    again = restarted(site)
    assert again.key(UPD.name).algorithm == "hmac-sha512"
    assert [k.name for k in again.keys()] == ["k1", "upd"]
    result(again.delete_zone(NET))
    again.delete_key(UPD.name)
    with pytest.raises(NoSuchKey):
        again.key(UPD.name)


def test_a_config_naming_what_was_made_at_run_time_is_refused(site):
    result(site.registry.create_zone(dynamic()))
    site.registry.create_key(UPD)
    clash = Config(source="new.toml", tsig_keys=(KEY,), zones=(site.primary(), dynamic(allow_update=(KEY.name,))))
    with pytest.raises(ConfigError, match=r'new.toml: zone "example.net": is also a zone made through the API'):
        site.registry.apply(clash)
    with pytest.raises(ConfigError, match=r'tsig_key "upd": is also a TSIG key made through the API'):
        site.registry.check(Config(source="new.toml", tsig_keys=(KEY, UPD)))
    assert site.registry.config is site.config


def test_history_keeps_recent_events(site):
    result(site.registry.create_zone(dynamic()))
    recent = site.registry.history.recent(zone="example.net.")
    assert [type(e).__name__ for e in recent] == ["ZoneAdded", "ZoneLoaded"]
    assert site.registry.history.recent(since=site.clock.seconds() + 1) == []
    assert len(site.registry.history.recent(limit=1)) == 1


def test_an_edit_adding_an_soa_with_a_greater_serial_keeps_that_serial(site):
    """As BIND keeps a DNS UPDATE's SOA serial when it is greater; a smaller one gives the next serial."""
    first = result(site.registry.create_zone(dynamic())).serial
    soa = dns.rdata.from_text("IN", "SOA", f"ns1.example.net. hostmaster.example.net. {first + 100} 3600 600 1209600 300")
    data = result(site.registry.edit(NET, [Change(ADD, NET, dns.rdatatype.SOA, soa, 3600)], "test"))
    assert data.serial == first + 100
    lower = dns.rdata.from_text("IN", "SOA", f"ns1.example.net. hostmaster.example.net. {first} 3600 600 1209600 300")
    data = result(site.registry.edit(NET, [Change(ADD, NET, dns.rdatatype.SOA, lower, 3600)], "test"))
    assert data.serial == first + 101
    edited = [e for e in site.events if isinstance(e, events.ZoneEdited)]
    assert [e.changes for e in edited] == [1, 1]
