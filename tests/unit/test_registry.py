"""secdns.core.registry and secdns.core.commit: the one owner of zones, its status values, its events, and the one commit path."""

from __future__ import annotations

import dns.message
import dns.name
import dns.rdatatype
import pytest
from twisted.internet import defer
from twisted.internet.task import Clock

from secdns.config import Config, PeerConfig, TimersConfig, TsigKeyConfig, ZoneConfig
from secdns.zones import events as bus
from secdns.core.commit import CommitError
from secdns.core.registry import NoSuchKey, NoSuchZone, WrongRole, ZoneRegistry
from secdns.errors import SecdnsError
from secdns.store.database import Store
from secdns.testing import FakeMasterClient, ScriptedMaster
from secdns.transfer.notify_out import Notifier
from secdns.transfer.requestor import RequestTimeout
from secdns.server.dispatch import Request
from secdns.server.transfer_out import TransferServer
from secdns.wire.tsig import Keyring
from secdns.zones.status import Outcome
from secdns.zones.zone import Zone
from tests.unit.test_refresh import START, axfr, ixfr, records

ORG = dns.name.from_text("example.org")
COM = dns.name.from_text("example.com")
MASTER = "192.0.2.1"
DOWNSTREAM = PeerConfig("198.51.100.7", 53)
KEY = TsigKeyConfig(dns.name.from_text("k1"), "hmac-sha256", b"s" * 32)


def zone_text(serial: int, address: str = "192.0.2.80") -> str:
    return (
        "$ORIGIN example.org.\n$TTL 300\n"
        f"@ IN SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n"
        f"  IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A {address}\n"
    )


class QueuedWorker:
    """A worker thread pool stand-in: calls wait until the test runs them, in order."""

    def __init__(self) -> None:
        self.calls: list = []

    def __call__(self, f, *args):
        d = defer.Deferred()
        self.calls.append((d, f, args))
        return d

    def run_all(self, limit: int = 50) -> None:
        for _ in range(limit):
            if not self.calls:
                return
            d, f, args = self.calls.pop(0)
            try:
                result = f(*args)
            except Exception:
                d.errback()
            else:
                d.callback(result)
        raise AssertionError("worker queue did not drain")


class FakeNotifier(Notifier):
    """The real notifier, its NOTIFYs going nowhere: every one times out."""

    def __init__(self, clock) -> None:
        class Requestor:
            sent = []

            def query(self, target, wire, udp=True, timeout=None):
                self.sent.append(target)
                return defer.fail(RequestTimeout(f"{target}: no answer over UDP within 2 s"))

        super().__init__(Requestor(), clock, Keyring, attempts=1)

    @property
    def sent_to(self):
        return self.requestor.sent


class Site:
    """A registry over zone files in a directory, on a Clock, with scripted masters."""

    def __init__(self, tmp_path, *zones: ZoneConfig, worker=defer.maybeDeferred, store=None, master=None) -> None:
        self.path = tmp_path
        self.clock = Clock()
        self.clock.advance(START)
        self.store = store or Store(":memory:")
        self.master = master or ScriptedMaster(serial=7, axfr=axfr(7), ixfr=ixfr(7, 8))
        self.client = FakeMasterClient(self.clock, {MASTER: self.master})
        self.notifier = FakeNotifier(self.clock)
        self.config = Config(timers=TimersConfig(min_refresh=60, min_retry=10, min_expire=600), tsig_keys=(KEY,), zones=zones)
        self.registry = ZoneRegistry(self.config, self.store, self.clock, self.client, self.notifier, worker=worker)
        self.events: list = []
        self.registry.bus.subscribe(self.events.append)

    def write(self, serial: int, address: str = "192.0.2.80") -> None:
        (self.path / "org.zone").write_text(zone_text(serial, address))

    def primary(self, downstreams=()) -> ZoneConfig:
        return ZoneConfig(ORG, "primary", file=str(self.path / "org.zone"), external_downstreams=tuple(downstreams))

    def secondary_moves_to_8(self) -> None:
        """Start; the master's serial goes from 7 to 8 and the zone is refreshed: it serves 8."""
        self.registry.start()
        self.run()
        self.master.serial = 8
        self.registry.refresh(COM)
        self.run(1)
        assert self.registry.status(COM).serial == 8

    def kinds(self) -> list[str]:
        return [type(event).__name__ for event in self.events]

    def run(self, seconds: int = 0) -> None:
        self.clock.advance(0)
        for _ in range(seconds):
            self.clock.advance(1)


def _zone_of(name) -> Zone:
    return Zone(ZoneConfig(name, "secondary", external_masters=(PeerConfig(MASTER, 53),)))


def secondary(downstreams=()) -> ZoneConfig:
    return ZoneConfig(COM, "secondary", external_masters=(PeerConfig(MASTER, 53),), external_downstreams=tuple(downstreams))


# -- primary zones


def test_primary_zone_status_after_load(tmp_path):
    """A primary zone added is loaded from its file, and its status says what, when and how it went."""
    site = Site(tmp_path)
    site.write(1)
    site.registry.start()
    site.registry.add_zone(site.primary())
    status = site.registry.status("example.org")
    assert (status.role, status.state, status.serial, status.records) == ("primary", "loaded", 1, 4)
    assert status.last_load.ok and status.last_load.when == START
    assert status.last_failure is None and status.failure_reason is None
    assert site.kinds() == ["ZoneAdded", "ZoneLoaded"]
    assert site.events[1] == bus.ZoneLoaded("example.org", START, 1, None, 4, str(tmp_path / "org.zone"), 0.0)


def test_primary_new_version_is_journaled_stored_and_announced(tmp_path):
    """A zone file with a higher serial is journaled, stored, served and NOTIFYed, in that order."""
    site = Site(tmp_path)
    site.write(1)
    site.registry.add_zone(site.primary([DOWNSTREAM]))
    site.write(2, "192.0.2.81")
    site.registry.reload_zone("example.org")
    assert site.registry.status(ORG).serial == 2
    (changeset,) = site.store.journal(ORG)
    assert (changeset.serial_from, changeset.serial_to) == (1, 2)
    assert site.store.stored_serial(ORG) == 2
    assert [str(t) for t in site.notifier.sent_to] == ["198.51.100.7#53", "198.51.100.7#53"]
    assert site.events[-1].previous == 1


def test_commit_hooks_see_each_version_stored_and_served(tmp_path):
    """L{ZoneRegistry.on_commit}: each hook is called once per committed version, when the store and the map hold it."""
    site = Site(tmp_path)
    seen = []
    site.registry.on_commit(lambda zone: seen.append((zone.serial, site.store.stored_serial(ORG), site.registry.status(ORG).serial)))
    site.write(1)
    site.registry.add_zone(site.primary())
    site.write(2, "192.0.2.81")
    site.registry.reload_zone("example.org")
    site.registry.reload_zone("example.org")  # the same serial: nothing committed
    assert seen == [(1, 1, 1), (2, 2, 2)]


def test_notify_waits_for_a_commit_hooks_deferred(tmp_path):
    """A hook's Deferred holds the version's NOTIFY (workers not serving it yet); its firing lets it go."""
    site = Site(tmp_path)
    site.write(1)
    site.registry.add_zone(site.primary([DOWNSTREAM]))
    sent = len(site.notifier.sent_to)
    holds = []
    site.registry.on_commit(lambda zone: holds.append(defer.Deferred()) or holds[-1])
    site.write(2, "192.0.2.81")
    site.registry.reload_zone("example.org")
    assert site.registry.status(ORG).serial == 2 and len(holds) == 1
    assert len(site.notifier.sent_to) == sent  # held
    holds[0].callback(None)
    assert len(site.notifier.sent_to) == sent + 1


def test_failed_store_changes_nothing(tmp_path):
    """A store that fails mid-transaction (after journaling) leaves the served version, the snapshot and the journal as they were."""

    class FailingStore(Store):
        fail = False

        def _append(self, db, key, changeset, max_entries, max_bytes):
            super()._append(db, key, changeset, max_entries, max_bytes)
            if self.fail:
                raise OSError(28, "No space left on device")

    store = FailingStore(":memory:")
    site = Site(tmp_path, store=store)
    site.write(1)
    site.registry.add_zone(site.primary())
    served = site.registry.zonedb.get(ORG).data
    store.fail = True
    site.write(2)
    site.registry.reload_zone(ORG)
    assert site.registry.zonedb.get(ORG).data is served
    assert store.stored_serial(ORG) == 1 and store.journal(ORG) == []
    status = site.registry.status(ORG)
    assert "cannot store" in status.failure_reason and status.last_failure == START
    assert site.kinds()[-1] == "LoadFailed"


def test_invalid_version_is_refused(tmp_path):
    """A version of another zone offered as a zone's content is refused and nothing changes."""
    site = Site(tmp_path)
    site.write(1)
    site.registry.add_zone(site.primary())
    other = site.registry.zonedb.get(ORG).data
    failures = []
    site.registry.committer.commit(site.registry.zonedb.get(COM) or _zone_of(COM), other).addErrback(failures.append)
    assert failures and failures[0].check(CommitError)
    assert "a version of example.org. offered to zone example.com" in str(failures[0].value)
    assert site.registry.status(ORG).serial == 1
    assert site.store.stored_serial(COM) is None


def test_replace_content_goes_through_the_commit_path(tmp_path):
    """Replacing a primary zone's content serves it, journaled; a secondary's content cannot be replaced."""
    site = Site(tmp_path, secondary())
    site.write(1)
    site.registry.start()
    site.registry.add_zone(site.primary())
    site.write(5, "192.0.2.99")
    from secdns.zones.zonefile import read_zone_file

    site.registry.replace_content("example.org", read_zone_file(ORG, str(tmp_path / "org.zone")))
    assert site.registry.status(ORG).serial == 5
    assert [c.serial_to for c in site.store.journal(ORG)] == [5]
    with pytest.raises(WrongRole):
        site.registry.replace_content("example.com", site.registry.zonedb.get(ORG).data)
    with pytest.raises(NoSuchZone):
        site.registry.status("example.net")


def test_overlapping_loads_end_in_the_last_file(tmp_path):
    """Two reloads whose reads overlap end serving the second file's version, whole."""
    worker = QueuedWorker()
    site = Site(tmp_path, worker=worker)
    site.write(1)
    site.registry.add_zone(site.primary())
    worker.run_all()
    site.write(2, "192.0.2.82")
    site.registry.reload_zone(ORG)
    site.write(3, "192.0.2.83")
    site.registry.reload_zone(ORG)
    assert site.registry.status(ORG).serial == 1  # nothing swapped before the worker ran
    worker.run_all()
    data = site.registry.zonedb.get(ORG).data
    assert data.serial == 3
    assert data.rdataset(dns.name.from_text("www", ORG), dns.rdatatype.A)[0].to_text() == "192.0.2.83"
    assert [c.serial_to for c in site.store.journal(ORG)] == [2, 3] or [c.serial_to for c in site.store.journal(ORG)] == [3]


def test_zone_loading_is_reported_and_answers_nothing_yet(tmp_path):
    """A zone whose file is still being read is 'loading' and unloaded in the map; others are served meanwhile."""
    worker = QueuedWorker()
    site = Site(tmp_path, worker=worker)
    site.write(1)
    site.registry.add_zone(site.primary())
    assert site.registry.status(ORG).state == "loading"
    assert site.registry.zonedb.get(ORG).data is None
    worker.run_all()
    assert site.registry.status(ORG).state == "loaded"


def test_removed_zone_is_forgotten(tmp_path):
    """Removing a zone takes it out of the map and the store, and says so on the bus."""
    site = Site(tmp_path)
    site.write(1)
    site.registry.add_zone(site.primary())
    site.registry.remove_zone("example.org")
    assert site.registry.zonedb.get(ORG) is None
    assert site.store.stored_serial(ORG) is None
    assert site.kinds()[-1] == "ZoneRemoved"


def test_load_finishing_after_removal_is_dropped(tmp_path):
    """A load still reading when its zone is removed serves and stores nothing."""
    worker = QueuedWorker()
    site = Site(tmp_path, worker=worker)
    site.write(1)
    site.registry.add_zone(site.primary())
    site.registry.remove_zone(ORG)
    worker.run_all()
    assert site.registry.zonedb.get(ORG) is None
    assert site.store.stored_serial(ORG) is None


# -- secondary zones


def test_secondary_status_follows_refreshes(tmp_path):
    """A secondary zone's status moves with each transfer, failure and expiry, and each is an event."""
    site = Site(tmp_path, secondary())
    site.registry.start()
    site.run()
    status = site.registry.status(COM)
    assert (status.role, status.state, status.serial, status.transfers_in) == ("secondary", "loaded", 7, 1)
    (master,) = status.masters
    assert master.reachable is True and master.last_serial == 7
    assert status.expire_at == START + 86400
    assert status.next_event == ("refresh", START + 3600)
    assert site.kinds() == ["ZoneAdded", "TransferSucceeded"]
    assert site.events[1] == bus.TransferSucceeded("example.com", START, "AXFR", None, 7, "192.0.2.1#53", 5, 0.0, messages=2, size=216)

    site.master.down = True
    site.registry.refresh("example.com")
    site.run(6)
    status = site.registry.status(COM)
    assert status.transfer_failures == 1 and status.masters[0].reachable is False
    assert "no answer" in status.failure_reason
    assert site.kinds()[-1] == "TransferFailed" and site.events[-1].master == "192.0.2.1#53"

    site.clock.advance(86400)
    site.run(10)  # the refresh that was due runs out first: one event at a time
    assert site.registry.status(COM).state == "expired"
    assert "ZoneExpired" in site.kinds()
    site.master.down = False
    site.registry.refresh(COM)
    site.run(1)
    assert site.registry.status(COM).state == "loaded"
    assert site.kinds()[-1] == "ZoneUnexpired"


def test_chained_secondary_journals_and_notifies(tmp_path):
    """A secondary zone with downstreams journals each applied transfer and NOTIFYs its downstreams."""
    site = Site(tmp_path, secondary([DOWNSTREAM]))
    site.secondary_moves_to_8()
    assert [(c.serial_from, c.serial_to) for c in site.store.journal(COM)] == [(7, 8)]
    assert len(site.notifier.sent_to) >= 2
    downstream = site.registry.status(COM).downstreams[0]
    assert downstream.last_notify is not None and not downstream.last_notify.ok
    assert "NotifyFailed" in site.kinds()


def test_secondary_without_downstreams_keeps_no_journal(tmp_path):
    """A secondary zone nobody transfers from keeps no journal."""
    site = Site(tmp_path, secondary())
    site.secondary_moves_to_8()
    assert site.store.journal(COM) == []


def test_retransfer_asks_for_the_whole_zone(tmp_path):
    """A retransfer makes an AXFR even when the master's serial is ours."""
    site = Site(tmp_path, secondary())
    site.registry.start()
    site.run()
    site.registry.retransfer("example.com")
    site.run(1)
    assert site.client.requests[-1] == (MASTER, "AXFR")
    assert site.registry.status(COM).transfers_in == 2
    site.write(1)
    site.registry.add_zone(site.primary())
    with pytest.raises(WrongRole, match="zone example.org is a primary zone: cannot retransfer it"):
        site.registry.retransfer(ORG)


# -- keys and config


def test_keys_are_added_changed_and_removed(tmp_path):
    """Keys change at run time; the watchers get each new keyring; a key in use cannot be removed."""
    site = Site(tmp_path, ZoneConfig(COM, "secondary", external_masters=(PeerConfig(MASTER, 53, KEY.name),)))
    site.registry.start()
    seen = []
    site.registry.watch(lambda registry: seen.append(registry.keyring))
    site.registry.create_key(TsigKeyConfig(dns.name.from_text("k2"), "hmac-sha512", b"t" * 64))
    assert site.registry.keyring.get(dns.name.from_text("k2")) is not None
    site.registry.update_key(TsigKeyConfig(dns.name.from_text("k2"), "hmac-sha256", b"u" * 32))
    site.registry.delete_key(dns.name.from_text("k2"))
    assert site.registry.keyring.get(dns.name.from_text("k2")) is None
    assert len(seen) == 4
    with pytest.raises(SecdnsError, match="used by zones example.com"):
        site.registry.delete_key(KEY.name)
    with pytest.raises(NoSuchKey):
        site.registry.update_key(TsigKeyConfig(dns.name.from_text("nope"), "hmac-sha256", b"x"))


def test_apply_is_the_difference_applied(tmp_path):
    """Applying a config adds, reconfigures and removes zones by name, and the events say which."""
    site = Site(tmp_path, secondary())
    site.write(1)
    site.registry.start()
    site.run()
    com = site.registry.zonedb.get(COM)
    site.registry.apply(Config(timers=site.config.timers, tsig_keys=(KEY,), zones=(site.primary(),)))
    assert [z.name for z in site.registry.zonedb] == [ORG]
    assert site.kinds()[-3:] == ["ZoneRemoved", "ZoneAdded", "ZoneLoaded"]
    assert com.data is not None  # the old zone's version is untouched


def test_downstream_status_shows_last_transfer_served(tmp_path):
    """A zone's status tells, per downstream, the last transfer served to it and its serial."""
    site = Site(tmp_path)
    site.write(1)
    site.registry.add_zone(site.primary([PeerConfig("127.0.0.1", 53)]))
    server = TransferServer(lambda zone, serial, current: site.store.journal_since(zone.name, serial, current), now=site.clock.seconds)
    site.registry.transfers = server
    query = dns.message.make_query(ORG, "AXFR")
    list(server(query, Request("127.0.0.1", 40000, True), site.registry.zonedb.get(ORG)))
    (downstream,) = site.registry.status(ORG).downstreams
    assert downstream.last_transfer == Outcome(START, True, "AXFR serial 1")
    assert str(downstream) == "127.0.0.1#53"
