"""The embedded SQLite store: snapshots, timers and journal survive as written."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from importlib import resources

import dns.name
import dns.zone
import pytest

from secdns.zones.journal import Changeset
from secdns.store.snapshot import dump_rrsets
from secdns.store.database import Store, ZoneTimers
from secdns.zones.version import from_zone

ORIGIN = dns.name.from_text("Example.ORG.")
ZONE = """
@     300 SOA ns1 hostmaster 7 3600 600 86400 60
@     300 NS  ns1
@     300 DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==
@     300 RRSIG SOA 13 2 300 20301231000000 20201231000000 12345 example.org. 6ZvyK5qLkBMb4gB1n1wnBzhvbnb1k5CMJd5PLPWpLIPMQN5gcvTUcPOfGfNbm1rc4NK8lgvkgwJNbDnOL4R6/Q==
ns1   300 A   192.0.2.1
Www   300 AAAA 2001:db8::80
*.w   300 TXT "wild" "card"
big   300 TYPE65280 \\# 4 deadbeef
"""


def make_data(serial: int = 7):
    return from_zone(dns.zone.from_text(ZONE.replace(" 7 ", f" {serial} "), origin=ORIGIN, relativize=False))


def test_zone_round_trip(tmp_path):
    """A saved zone reads back with the same records, case included, after reopening the file."""
    store = Store.open(str(tmp_path))
    data = make_data()
    store.save_zone(data, now=1000.0)
    store.close()
    stored = Store.open(str(tmp_path)).load_zone(dns.name.from_text("example.org."))
    assert stored.saved_at == 1000.0
    assert stored.data.serial == 7
    def texts(zone):
        return {(name.to_text().lower(), rds.to_text()) for name, rds in zone.rrsets()}

    assert texts(stored.data) == texts(data)
    names = {name.to_text() for name, _ in stored.data.rrsets()}
    assert "Www.Example.ORG." in names


def test_version_saved_in_format_1_still_reads(tmp_path):
    """A store written before schema 2 (RRsets in wire form, format 1) is upgraded and its zone read back."""
    data = make_data()
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(resources.files("secdns.store").joinpath("schema/v1.sql").read_text() + "PRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO zone (name, serial, records, snapshot, saved_at) VALUES (?, ?, ?, ?, ?)",
        ("example.org.", 7, data.record_count, dump_rrsets(data.rrsets()), 1000.0),
    )
    db.commit()
    db.close()
    stored = Store(str(path)).load_zone(dns.name.from_text("example.org."))
    assert stored.data.serial == 7 and stored.data.owners == data.owners


def test_missing_zone():
    """A zone never saved loads as None."""
    assert Store(":memory:").load_zone(ORIGIN) is None


def test_save_replaces():
    """Saving a zone again replaces the previous snapshot."""
    store = Store(":memory:")
    store.save_zone(make_data(7), now=1)
    store.save_zone(make_data(8), now=2)
    assert store.load_zone(ORIGIN).data.serial == 8


def test_timers_round_trip():
    """Timers are stored and read back field for field."""
    store = Store(":memory:")
    timers = ZoneTimers(last_success=1.5, next_refresh=2.5, expire_at=3.5, last_master="192.0.2.1", failure_reason="x")
    store.save_timers(ORIGIN, timers)
    assert store.load_timers(ORIGIN) == timers
    assert store.load_timers(dns.name.from_text("other.")) is None


def versions(count: int):
    from secdns.zones.journal import diff

    zones = [
        from_zone(dns.zone.from_text(ZONE.replace(" 7 ", f" {s} ") + f"v{s} 300 A 192.0.2.{s}\n", origin=ORIGIN, relativize=False))
        for s in range(1, count + 2)
    ]
    return zones, [diff(a, b) for a, b in zip(zones, zones[1:])]


def test_journal_merges_oldest_past_its_count():
    """Past its count the journal merges its oldest changesets: fewer steps, same reach."""
    store = Store(":memory:")
    zones, changes = versions(5)
    for changeset in changes:
        store.append_journal(ORIGIN, changeset, max_entries=3)
    journal = store.journal(ORIGIN)
    assert [(c.serial_from, c.serial_to) for c in journal] == [(1, 4), (4, 5), (5, 6)]
    from secdns.zones.journal import changes_since, diff

    reached = changes_since(journal, 1, 6)
    direct = diff(zones[0], zones[-1])
    assert {str(r) for r in reached.added} == {str(r) for r in direct.added}


def test_journal_drops_oldest_past_its_size():
    """Past its size the journal drops its oldest changesets."""
    store = Store(":memory:")
    _, changes = versions(5)
    for changeset in changes:
        store.append_journal(ORIGIN, changeset, max_bytes=1)
    assert [(c.serial_from, c.serial_to) for c in store.journal(ORIGIN)] == [(5, 6)]


def test_forget_zone():
    """Forgetting a zone drops its snapshot, timers and journal."""
    store = Store(":memory:")
    data = make_data()
    store.save_zone(data, now=1, timers=ZoneTimers(last_success=1))
    soa = list(data.rrsets())[0]
    store.append_journal(ORIGIN, Changeset(1, 2, (soa,), (soa,)))
    store.forget_zone(ORIGIN)
    assert (store.load_zone(ORIGIN), store.load_timers(ORIGIN), store.journal(ORIGIN)) == (None, None, [])


def test_newer_schema_refused(tmp_path):
    """A store written by a newer secdns is refused with a clear error."""
    import sqlite3

    from secdns.store.database import StoreError

    path = tmp_path / "secdns.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer"):
        Store(str(path))


WRITER = textwrap.dedent(
    """
    import sys, dns.zone, dns.name
    from secdns.store.database import Store
    from secdns.zones.version import from_zone
    origin = dns.name.from_text("example.org.")
    store = Store.open(sys.argv[1])
    body = "\\n".join(["@ 300 NS ns1"] + ["n%d 300 TXT %s" % (i, "x" * 200) for i in range(3000)])
    serial = 1
    print("ready", flush=True)
    while serial < 10000:
        text = "@ 300 SOA ns1 hostmaster %d 3600 600 86400 60\\n" % serial + body
        store.save_zone(from_zone(dns.zone.from_text(text, origin=origin, relativize=False)), now=serial)
        serial += 1
    """
)


def test_kill_9_leaves_a_whole_version(tmp_path):
    """A writer killed with SIGKILL mid-save leaves one whole version behind, never a corrupt one."""
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, env=env)
    try:
        assert writer.stdout.readline().strip() == b"ready"
        reader = Store.open(str(tmp_path))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and reader.load_zone(dns.name.from_text("example.org.")) is None:
            time.sleep(0.05)
        reader.close()
        time.sleep(0.7)  # let it be in the middle of later saves
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
    stored = Store.open(str(tmp_path)).load_zone(dns.name.from_text("example.org."))
    assert stored is not None
    assert stored.data.serial == stored.saved_at
    assert stored.data.record_count == 3002


def test_journal_repaired_at_open(tmp_path):
    """
    Opening the store drops each zone's changesets that do not chain up to
    its stored serial, and the journals of zones not stored; the rest serve IXFR.
    """
    from secdns.zones.journal import changes_since, diff

    path = str(tmp_path / "secdns.sqlite")
    store = Store(path)
    zones, changes = versions(3)  # serials 1..4
    store.save_zone(zones[-1], now=1)
    for changeset in [changes[0], changes[0], changes[1], changes[2]]:  # 1->2 written twice
        store.append_journal(ORIGIN, changeset)
    orphan = dns.name.from_text("gone.example.")
    store.append_journal(orphan, changes[0])
    store.close()
    reopened = Store(path)
    assert reopened.repaired == {"example.org.": 1, "gone.example.": 1}
    journal = reopened.journal(ORIGIN)
    assert [(c.serial_from, c.serial_to) for c in journal] == [(1, 2), (2, 3), (3, 4)]
    assert changes_since(journal, 1, 4) is not None
    assert reopened.journal(orphan) == []
    reopened.close()
    assert Store(path).repaired == {}


def test_journal_since_reads_only_the_chain_it_needs(monkeypatch):
    """
    An IXFR from a recent serial decodes the changesets from that serial
    on, not the whole journal (each IXFR out used to read every one of them).
    """
    from secdns.store import database

    store = Store(":memory:")
    _, changes = versions(20)  # serials 1..21
    for changeset in changes:
        store.append_journal(ORIGIN, changeset)
    decoded = []
    real = database._changeset
    monkeypatch.setattr(database, "_changeset", lambda row: decoded.append(row[:2]) or real(row))
    chain = store.journal_since(ORIGIN, 18, 21)
    assert [(c.serial_from, c.serial_to) for c in chain] == [(18, 19), (19, 20), (20, 21)]
    assert decoded == [(18, 19), (19, 20), (20, 21)]
    assert store.journal_since(ORIGIN, 21, 21) is None  # nothing to send: the caller answers with its SOA
    assert store.journal_since(ORIGIN, 0, 21) is None  # before the journal
    assert store.journal_since(ORIGIN, 1, 30) is None  # the journal leads elsewhere than the version served
    assert len(store.journal_since(ORIGIN, 1, 21)) == 20
