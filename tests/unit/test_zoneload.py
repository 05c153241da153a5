"""secdns.core.loading, through the registry: the zone map at start and after a reload, from config text and zone files on disk."""

from __future__ import annotations

import dns.name
import pytest
from twisted.logger import capturedLogs, formatEvent

from secdns.config import parse
from secdns.errors import ConfigError
from secdns.core.registry import ZoneRegistry
from secdns.ops.eventlog import log_event
from secdns.store.database import Store
from secdns.tap import check_zone_files
from secdns.zones.zone import ZoneState
from twisted.internet.task import Clock

_registries = {}


def _settled(registry: ZoneRegistry):
    """The map once every load has ended (a worker that runs at once, here)."""
    _registries[registry.zonedb] = registry
    return registry.zonedb


def initial_zonedb(config):
    """The map at start, as C{twistd secdns} makes it: files checked, then loaded."""
    check_zone_files(config)
    registry = ZoneRegistry(config, Store(":memory:"), Clock(), client=None)
    registry.bus.subscribe(log_event)
    registry.start()
    return _settled(registry)


def reloaded_zonedb(config, old):
    """The map after the registry in force with C{old} applied C{config}."""
    registry = _registries[old]
    registry.apply(config)
    return _settled(registry)

ORG = dns.name.from_text("example.org")
NET = dns.name.from_text("example.net")
COM = dns.name.from_text("example.com")


def zone_text(serial: int, address: str = "192.0.2.80", origin: str = "example.org") -> str:
    return (
        f"$ORIGIN {origin}.\n$TTL 300\n"
        f"@ IN SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n"
        "  IN NS ns1\nns1 IN A 192.0.2.1\n"
        f"www IN A {address}\n"
    )


def primary(name: str, file: str, downstream: str | None = None) -> str:
    text = f'[[zone]]\nname = "{name}"\ntype = "primary"\nfile = "{file}"\n'
    if downstream:
        text += f'external_downstreams = [{{ address = "{downstream}" }}]\n'
    return text


SECONDARY_COM = '[[zone]]\nname = "example.com"\ntype = "secondary"\nexternal_masters = [{ address = "192.0.2.1" }]\n'


class Site:
    """A config file's directory: zone files written, configs parsed against it."""

    def __init__(self, path):
        self.path = path

    def zone(self, filename: str, text: str) -> None:
        (self.path / filename).write_text(text)

    def config(self, text: str):
        return parse(text, source=str(self.path / "secdns.toml"), base_dir=str(self.path))


@pytest.fixture
def site(tmp_path):
    site = Site(tmp_path)
    site.zone("org.zone", zone_text(1))
    return site


def www(zonedb, name=ORG) -> str:
    data = zonedb.get(name).data
    rds = data.rdataset(dns.name.from_text("www", name), 1)
    return rds[0].to_text()


def messages(events) -> list[str]:
    return [formatEvent(event) for event in events]


class TestInitial:
    def test_primary_loaded_secondary_unloaded(self, site):
        """At start a primary zone serves its file and a secondary zone waits for its masters."""
        zonedb = initial_zonedb(site.config(primary("example.org", "org.zone") + SECONDARY_COM))
        assert zonedb.get(ORG).serial == 1
        assert zonedb.get(ORG).state is ZoneState.LOADED
        assert zonedb.get(COM).state is ZoneState.UNLOADED

    def test_missing_zone_file(self, site):
        """A missing zone file at start is a config error naming the config, the zone's file key and the file."""
        config = site.config(primary("example.org", "nonexistent.zone"))
        with pytest.raises(ConfigError) as raised:
            initial_zonedb(config)
        assert str(raised.value) == (
            f'{config.source}: zone "example.org".file: {site.path / "nonexistent.zone"}: '
            "cannot read: No such file or directory"
        )

    def test_unparsable_zone_file(self, site):
        """A zone file that does not parse at start is logged naming the file and line, and its zone left out."""
        site.zone("org.zone", zone_text(1) + "bad IN AAA ::1\n")
        config = site.config(primary("example.org", "org.zone"))
        with capturedLogs() as events:
            zonedb = initial_zonedb(config)
        assert zonedb.get(ORG) is None
        assert f"zone example.org: {site.path / 'org.zone'}:7: unknown rdatatype 'AAA'; zone not added" in messages(events)


class TestReload:
    def test_unchanged_zone_is_kept(self, site):
        """A zone whose config and file did not change keeps the very same zone object, and its data."""
        config = site.config(primary("example.org", "org.zone"))
        old = initial_zonedb(config)
        new = reloaded_zonedb(site.config(primary("example.org", "org.zone")), old)
        assert new.get(ORG) is old.get(ORG)

    def test_higher_serial_is_loaded(self, site):
        """A zone file edited with a higher serial is served after the reload."""
        config = site.config(primary("example.org", "org.zone"))
        old = initial_zonedb(config)
        old_version = old.get(ORG).data
        site.zone("org.zone", zone_text(2, "192.0.2.81"))
        with capturedLogs() as events:
            new = reloaded_zonedb(config, old)
        assert new.get(ORG).serial == 2
        assert www(new) == "192.0.2.81"
        assert old_version.rdataset(dns.name.from_text("www", ORG), 1)[0].to_text() == "192.0.2.80"  # versions are never changed
        assert "zone example.org: loaded serial 2 (4 records; was 1)" in messages(events)

    def test_serial_wraps(self, site):
        """A serial that wraps past 2**32 - 1 is greater (RFC 1982), so the file is loaded."""
        site.zone("org.zone", zone_text(4294967295))
        config = site.config(primary("example.org", "org.zone"))
        old = initial_zonedb(config)
        site.zone("org.zone", zone_text(5, "192.0.2.81"))
        assert reloaded_zonedb(config, old).get(ORG).serial == 5

    @pytest.mark.parametrize("serial", [1, 0])
    def test_serial_not_increased_is_refused(self, site, serial):
        """A zone file edited without raising its serial is not loaded, and the log says why."""
        config = site.config(primary("example.org", "org.zone"))
        old = initial_zonedb(config)
        site.zone("org.zone", zone_text(serial, "192.0.2.81"))
        with capturedLogs() as events:
            new = reloaded_zonedb(config, old)
        assert new.get(ORG).serial == 1
        assert www(new) == "192.0.2.80"
        assert messages(events) == [
            f"zone example.org: {site.path / 'org.zone'} changed but its serial {serial} is not "
            "greater than 1; not loaded, still serving serial 1"
        ]
        assert events[0]["log_level"].name == "warn"

    def test_refused_edit_then_higher_serial(self, site):
        """After a refused edit, the next edit with a higher serial is loaded."""
        config = site.config(primary("example.org", "org.zone"))
        zonedb = initial_zonedb(config)
        site.zone("org.zone", zone_text(1, "192.0.2.81"))
        zonedb = reloaded_zonedb(config, zonedb)
        site.zone("org.zone", zone_text(2, "192.0.2.82"))
        zonedb = reloaded_zonedb(config, zonedb)
        assert www(zonedb) == "192.0.2.82"

    def test_included_file_edit_is_seen(self, site):
        """An edit to an included file alone makes the reload read the zone again."""
        site.zone("hosts.inc", "mail IN A 192.0.2.25\n")
        site.zone("org.zone", zone_text(1) + "$INCLUDE hosts.inc\n")
        config = site.config(primary("example.org", "org.zone"))
        old = initial_zonedb(config)
        site.zone("hosts.inc", "mail IN A 192.0.2.26\n")
        with capturedLogs() as events:
            reloaded_zonedb(config, old)
        assert "serial 1 is not greater than 1" in messages(events)[0]

    def test_broken_file_keeps_old_version(self, site):
        """A zone file that no longer parses is logged and the zone keeps serving its old version."""
        config = site.config(primary("example.org", "org.zone"))
        old = initial_zonedb(config)
        site.zone("org.zone", zone_text(2) + "bad IN AAA ::1\n")
        with capturedLogs() as events:
            new = reloaded_zonedb(config, old)
        assert new.get(ORG).data is old.get(ORG).data
        assert messages(events) == [
            f"zone example.org: {site.path / 'org.zone'}:7: unknown rdatatype 'AAA'; still serving serial 1"
        ]
        assert events[0]["log_level"].name == "error"

    def test_removed_file_keeps_old_version(self, site):
        """A zone file that was deleted is logged and the zone keeps serving its old version."""
        config = site.config(primary("example.org", "org.zone"))
        old = initial_zonedb(config)
        (site.path / "org.zone").unlink()
        with capturedLogs() as events:
            new = reloaded_zonedb(config, old)
        assert new.get(ORG).serial == 1
        assert "cannot read: No such file or directory; still serving serial 1" in messages(events)[0]

    def test_zone_added(self, site):
        """A zone new in the config is loaded from its file."""
        old = initial_zonedb(site.config(primary("example.org", "org.zone")))
        site.zone("net.zone", zone_text(7, origin="example.net"))
        new = reloaded_zonedb(site.config(primary("example.org", "org.zone") + primary("example.net", "net.zone")), old)
        assert new.get(NET).serial == 7
        assert new.get(ORG) is old.get(ORG)

    def test_added_zone_with_broken_file_is_left_out(self, site):
        """A new zone whose file does not load is logged and left out; the other zones are reloaded."""
        old = initial_zonedb(site.config(primary("example.org", "org.zone")))
        site.zone("org.zone", zone_text(2))
        with capturedLogs() as events:
            new = reloaded_zonedb(
                site.config(primary("example.org", "org.zone") + primary("example.net", "net.zone")), old
            )
        assert new.get(NET) is None
        assert new.get(ORG).serial == 2
        assert f"zone example.net: {site.path / 'net.zone'}: cannot read: No such file or directory; zone not added" in messages(events)

    def test_zone_removed(self, site):
        """A zone gone from the config is gone from the map, and the log says so."""
        site.zone("net.zone", zone_text(7, origin="example.net"))
        old = initial_zonedb(site.config(primary("example.org", "org.zone") + primary("example.net", "net.zone")))
        with capturedLogs() as events:
            new = reloaded_zonedb(site.config(primary("example.org", "org.zone")), old)
        assert new.get(NET) is None
        assert len(new) == 1
        assert "zone example.net: removed" in messages(events)

    def test_config_change_keeps_data(self, site):
        """A zone whose config changed but whose file did not takes the new config and keeps its data."""
        old = initial_zonedb(site.config(primary("example.org", "org.zone")))
        new = reloaded_zonedb(site.config(primary("example.org", "org.zone", downstream="198.51.100.7")), old)
        assert new.get(ORG).config.external_downstreams[0].address == "198.51.100.7"
        assert new.get(ORG).data is old.get(ORG).data
        assert old.get(ORG).config.external_downstreams == ()

    def test_new_file_loaded_after_failed_switch(self, site):
        """A zone moved to a new file that failed to load reads that file once it is fixed, not the old stamp."""
        old = initial_zonedb(site.config(primary("example.org", "org.zone")))
        moved = site.config(primary("example.org", "new.zone"))
        site.zone("new.zone", zone_text(2) + "bad IN AAA ::1\n")
        zonedb = reloaded_zonedb(moved, old)
        assert zonedb.get(ORG).serial == 1
        site.zone("new.zone", zone_text(2, "192.0.2.82"))
        zonedb = reloaded_zonedb(moved, zonedb)
        assert www(zonedb) == "192.0.2.82"

    def test_type_change_starts_afresh(self, site):
        """A zone that turns from secondary to primary is read from its file."""
        site.zone("com.zone", zone_text(3, origin="example.com"))
        old = initial_zonedb(site.config(SECONDARY_COM))
        new = reloaded_zonedb(site.config(primary("example.com", "com.zone")), old)
        assert new.get(COM).serial == 3
        assert old.get(COM).state is ZoneState.UNLOADED


@pytest.mark.parametrize("policy", ["increment", "unixtime"])
def test_serial_policy_serves_changed_file_with_new_serial(site, policy):
    """With a serial_policy other than keep, a changed file whose serial did not grow is served under a newer serial."""
    config = site.config(primary("example.org", "org.zone") + f'serial_policy = "{policy}"\n')
    zonedb = initial_zonedb(config)
    site.zone("org.zone", zone_text(1, address="192.0.2.81"))
    reloaded = reloaded_zonedb(config, zonedb)
    data = reloaded.get(ORG).data
    assert www(reloaded) == "192.0.2.81"
    if policy == "increment":
        assert data.serial == 2
    else:
        assert data.serial > 1_700_000_000
    assert data.soa[0].serial == data.serial


def test_next_serial_wraps_and_prefers_time():
    """next_serial adds one on the RFC 1982 circle, and unixtime takes the clock when it is ahead."""
    from secdns.core.loading import next_serial

    assert next_serial("increment", 2**32 - 1, 0) == 0
    assert next_serial("unixtime", 5, 1_800_000_000) == 1_800_000_000
    assert next_serial("unixtime", 2_000_000_000, 1_800_000_000) == 2_000_000_001


def test_serial_policy_rejected_for_secondary(site):
    """A serial_policy on a secondary zone is a config error."""
    with pytest.raises(ConfigError, match="serial_policy: is for primary zones"):
        site.config(SECONDARY_COM + 'serial_policy = "increment"\n')
