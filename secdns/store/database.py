# -*- test-case-name: tests.unit.test_storage -*-
"""
The embedded store: one SQLite file in C{state_dir}.

It keeps, per zone, the served version (a snapshot), the secondary timers,
and the IXFR journal; the zones and TSIG keys made at run time (through
the API), which the config file does not name; and the alarm engine's
run-time alarms and topics, where each alarm stands per zone, and the
notifications it sent (L{secdns.store.alarms}).  Every save is one SQLite transaction in WAL mode
with C{synchronous=FULL}: a process killed at any moment leaves the old
row or the new one, never a mix.  The schema is in numbered files
(C{schema/v1.sql}, ...), applied in order and recorded in C{user_version}.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import threading
from importlib import resources
from typing import Iterable

import attrs
import dns.name
import dns.zone

from secdns.config import TsigKeyConfig, ZoneConfig
from secdns.errors import SecdnsError
from secdns.store.catalog import StoredKey, StoredZoneConfig, zone_config, zone_settings
from secdns.store import alarms as stored_alarms
from secdns.store.alarms import StoredAlarm, StoredTopic
from secdns.alarms.state import SentNotification
from secdns.zones.journal import Changeset, chain_from, condense, leading_to
from secdns.store.snapshot import OWNERS_FORMAT, RRSETS_FORMAT, dump_owners, dump_rrsets, load_owners, load_rrsets
from secdns.zones.version import ZoneData, from_owners, from_zone

__all__ = ["Store", "StoreError", "ZoneTimers", "StoredZone", "STORE_FILE", "storage_failure"]

STORE_FILE = "secdns.sqlite"
SCHEMA_VERSIONS = (1, 2, 3, 4)

# Read at import, while twistd still runs as the user that installed us:
# after --uid/--gid the package files may not be readable.
_SCHEMAS = {
    version: resources.files("secdns.store").joinpath(f"schema/v{version}.sql").read_text()
    for version in SCHEMA_VERSIONS
}


class StoreError(SecdnsError):
    """The store cannot be opened or is not ours."""


@attrs.frozen
class ZoneTimers:
    """
    A secondary zone's timers, in wall-clock seconds, as Knot's C{zone_timers}.

    @ivar last_success: when a refresh last succeeded (the expire clock starts there).
    @ivar next_refresh: when the next refresh is due.
    @ivar expire_at: when the zone expires unless a refresh succeeds first.
    @ivar last_master: the master that last answered, tried first next time.
    """

    last_success: float | None = None
    next_refresh: float | None = None
    expire_at: float | None = None
    last_master: str | None = None
    last_failure: float | None = None
    failure_reason: str | None = None


@attrs.frozen
class StoredZone:
    """A zone version read back from the store, and when it was saved."""

    data: ZoneData
    saved_at: float


def _key(name: dns.name.Name) -> str:
    return name.canonicalize().to_text()


class Store:
    """The SQLite store.  C{path} may be C{":memory:"} for tests."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.directory = os.path.dirname(os.path.abspath(path)) if path != ":memory:" else "."
        try:
            # Used from the reactor's thread and, for a big zone's save,
            # from a worker thread: one at a time, under _lock.
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._lock = threading.RLock()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
            self.repaired = self._repair_journals()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{path}: {e}") from None

    @classmethod
    def open(cls, state_dir: str) -> "Store":
        os.makedirs(state_dir, exist_ok=True)
        return cls(os.path.join(state_dir, STORE_FILE))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSIONS[-1]:
            raise StoreError(f"{self.path}: schema version {version} is newer than this secdns")
        for target in SCHEMA_VERSIONS:
            if target <= version:
                continue
            self._db.executescript(f"BEGIN;\n{_SCHEMAS[target]}\nPRAGMA user_version = {target};\nCOMMIT;")

    def _transaction(self):
        return _Transaction(self._db, self._lock)

    def _repair_journals(self) -> dict[str, int]:
        """
        At open: drop each zone's changesets that do not chain up to its
        stored serial (L{leading_to}), and the journals of zones no longer
        stored, so that an IXFR is answered from a whole chain or not at
        all.  One transaction writes a version and its changeset, so only a
        store written otherwise (an older secdns, a copy taken mid-write)
        has any.

        @return: changesets dropped, by zone (lowercase, with the final dot).
        """
        dropped: dict[str, int] = {}
        with self._transaction() as db:
            serials = dict(db.execute("SELECT name, serial FROM zone").fetchall())
            rows: dict[str, list[tuple[int, int, int]]] = {}
            for name, seq, serial_from, serial_to in db.execute(
                "SELECT name, seq, serial_from, serial_to FROM journal ORDER BY name, seq"
            ):
                rows.setdefault(name, []).append((seq, serial_from, serial_to))
            for name, steps in rows.items():
                current = serials.get(name)
                kept = 0 if current is None else leading_to([(f, t) for _, f, t in steps], current)
                stale = [seq for seq, _, _ in steps[: len(steps) - kept]]
                if stale:
                    db.executemany("DELETE FROM journal WHERE seq = ?", [(seq,) for seq in stale])
                    dropped[name] = len(stale)
        return dropped

    # -- zones

    def save_zone(self, data: ZoneData, now: float, timers: ZoneTimers | None = None) -> None:
        """Store C{data} as the zone's version (and its timers), atomically, leaving its journal as it is."""
        self.save_version(data, now, timers)

    def save_version(
        self,
        data: ZoneData,
        now: float,
        timers: ZoneTimers | None = None,
        changeset: Changeset | None = None,
        clear_journal: bool = False,
        max_entries: int | None = None,
        max_bytes: int | None = None,
    ) -> None:
        """
        Store C{data} as the zone's version, with its timers and the
        journal's new changeset (or the journal cleared), in one
        transaction: a process killed meanwhile leaves the old version and
        journal, or the new ones.  A million records take about a second:
        the commit path calls this from a worker thread (the store
        serialises its users).
        """
        snapshot = dump_owners(data)
        key = _key(data.origin)
        with self._transaction() as db:
            if clear_journal:
                db.execute("DELETE FROM journal WHERE name = ?", (key,))
            if changeset is not None:
                self._append(db, key, changeset, max_entries, max_bytes)
            db.execute(
                "INSERT OR REPLACE INTO zone (name, serial, records, snapshot, saved_at, format)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, data.serial, data.record_count, snapshot, now, OWNERS_FORMAT),
            )
            if timers is not None:
                self._write_timers(db, data.origin, timers)

    def load_zone(self, name: dns.name.Name) -> StoredZone | None:
        with self._lock:
            row = self._db.execute(
                "SELECT snapshot, saved_at, format, records FROM zone WHERE name = ?", (_key(name),)
            ).fetchone()
        if row is None:
            return None
        blob, saved_at, snapshot_format, records = row
        if snapshot_format == RRSETS_FORMAT:
            data = build_zone(name, load_rrsets(blob))
        else:
            owners, cased = load_owners(name, blob)
            data = from_owners(name, owners, cased, records)
        return StoredZone(data=data, saved_at=saved_at)

    def stored_serial(self, name: dns.name.Name) -> int | None:
        """The serial of the stored version, without reading it."""
        with self._lock:
            row = self._db.execute("SELECT serial FROM zone WHERE name = ?", (_key(name),)).fetchone()
        return None if row is None else row[0]

    def forget_zone(self, name: dns.name.Name) -> None:
        """Drop everything stored for a zone."""
        with self._transaction() as db:
            for table in ("zone", "timers", "journal"):
                db.execute(f"DELETE FROM {table} WHERE name = ?", (_key(name),))

    # -- timers

    def save_timers(self, name: dns.name.Name, timers: ZoneTimers) -> None:
        with self._transaction() as db:
            self._write_timers(db, name, timers)

    def _write_timers(self, db, name: dns.name.Name, timers: ZoneTimers) -> None:
        db.execute(
            "INSERT OR REPLACE INTO timers (name, last_success, next_refresh, expire_at, last_master,"
            " last_failure, failure_reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (_key(name), *attrs.astuple(timers)),
        )

    def load_timers(self, name: dns.name.Name) -> ZoneTimers | None:
        with self._lock:
            row = self._db.execute(
                "SELECT last_success, next_refresh, expire_at, last_master, last_failure, failure_reason"
                " FROM timers WHERE name = ?",
                (_key(name),),
            ).fetchone()
        return None if row is None else ZoneTimers(*row)

    # -- journal

    def append_journal(
        self,
        name: dns.name.Name,
        changeset: Changeset,
        max_entries: int | None = None,
        max_bytes: int | None = None,
    ) -> None:
        """
        Add a changeset.  Past C{max_entries}, the two oldest are merged into
        one (the journal still reaches as far back, in fewer steps); past
        C{max_bytes}, the oldest are dropped (IXFR from before them gets the
        whole zone).
        """
        with self._transaction() as db:
            self._append(db, _key(name), changeset, max_entries, max_bytes)

    def _append(self, db, key: str, changeset: Changeset, max_entries: int | None, max_bytes: int | None) -> None:
        self._insert_changeset(db, key, changeset)
        while max_entries is not None and self._count(db, key) > max_entries:
            rows = db.execute(
                "SELECT seq, serial_from, serial_to, removed, added FROM journal WHERE name = ? ORDER BY seq LIMIT 2",
                (key,),
            ).fetchall()
            merged = condense([_changeset(row[1:]) for row in rows])
            db.execute("DELETE FROM journal WHERE seq IN (?, ?)", (rows[0][0], rows[1][0]))
            self._insert_changeset(db, key, merged, seq=rows[0][0])
        while max_bytes is not None and self._count(db, key) > 1 and self._size(db, key) > max_bytes:
            db.execute("DELETE FROM journal WHERE seq = (SELECT MIN(seq) FROM journal WHERE name = ?)", (key,))

    @staticmethod
    def _insert_changeset(db, key: str, changeset: Changeset, seq: int | None = None) -> None:
        removed = dump_rrsets(changeset.removed)
        added = dump_rrsets(changeset.added)
        db.execute(
            "INSERT INTO journal (seq, name, serial_from, serial_to, removed, added, size) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, key, changeset.serial_from, changeset.serial_to, removed, added, len(removed) + len(added)),
        )

    @staticmethod
    def _count(db, key: str) -> int:
        return db.execute("SELECT COUNT(*) FROM journal WHERE name = ?", (key,)).fetchone()[0]

    @staticmethod
    def _size(db, key: str) -> int:
        return db.execute("SELECT COALESCE(SUM(size), 0) FROM journal WHERE name = ?", (key,)).fetchone()[0]

    def journal(self, name: dns.name.Name) -> list[Changeset]:
        """Every changeset kept for the zone, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT serial_from, serial_to, removed, added FROM journal WHERE name = ? ORDER BY seq", (_key(name),)
            ).fetchall()
        return [_changeset(row) for row in rows]

    def journal_since(self, name: dns.name.Name, serial: int, current: int) -> list[Changeset] | None:
        """
        The changesets from C{serial} up to C{current}, oldest first, read
        from the store only from where that chain starts (an IXFR from a
        recent serial reads a few rows, not the whole journal); L{None}
        when the journal does not reach back to C{serial}.
        """
        key = _key(name)
        with self._lock:
            steps = self._db.execute(
                "SELECT seq, serial_from, serial_to FROM journal WHERE name = ? ORDER BY seq", (key,)
            ).fetchall()
            start = chain_from([(f, t) for _, f, t in steps], serial, current)
            if start is None:
                return None
            rows = self._db.execute(
                "SELECT serial_from, serial_to, removed, added FROM journal WHERE name = ? AND seq >= ? ORDER BY seq",
                (key, steps[start][0]),
            ).fetchall()
        return [_changeset(row) for row in rows]

    def clear_journal(self, name: dns.name.Name) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM journal WHERE name = ?", (_key(name),))

    # -- zones and keys made at run time

    def save_api_zone(self, config: ZoneConfig, now: float) -> None:
        """Keep a zone made (or changed) at run time; its first save is when it was made."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO api_zone (name, settings, created, updated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, updated = excluded.updated",
                (_key(config.name), zone_settings(config), now, now),
            )

    def api_zones(self) -> list[StoredZoneConfig]:
        with self._lock:
            rows = self._db.execute("SELECT name, settings, created, updated FROM api_zone ORDER BY created, name").fetchall()
        return [StoredZoneConfig(zone_config(name, settings), created, updated) for name, settings, created, updated in rows]

    def forget_api_zone(self, name: dns.name.Name) -> None:
        """Drop a run-time zone's settings and everything stored of its data, in one transaction."""
        with self._transaction() as db:
            for table in ("api_zone", "zone", "timers", "journal"):
                db.execute(f"DELETE FROM {table} WHERE name = ?", (_key(name),))

    def save_api_key(self, key: TsigKeyConfig, now: float) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO api_key (name, algorithm, secret, created, updated) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET algorithm = excluded.algorithm, secret = excluded.secret,"
                " updated = excluded.updated",
                (_key(key.name), key.algorithm, key.secret, now, now),
            )

    def api_keys(self) -> list[StoredKey]:
        with self._lock:
            rows = self._db.execute("SELECT name, algorithm, secret, created, updated FROM api_key ORDER BY created, name").fetchall()
        return [
            StoredKey(TsigKeyConfig(dns.name.from_text(name), algorithm, bytes(secret)), created, updated)
            for name, algorithm, secret, created, updated in rows
        ]

    def forget_api_key(self, name: dns.name.Name) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM api_key WHERE name = ?", (_key(name),))


    # -- alarms (secdns.ops.alarms.engine)

    def save_api_alarm(self, alarm, now: float) -> None:
        """Keep an alarm made (or changed) at run time."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO api_alarm (name, settings, created, updated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, updated = excluded.updated",
                (alarm.name, stored_alarms.alarm_settings(alarm), now, now),
            )

    def api_alarms(self) -> list[StoredAlarm]:
        with self._lock:
            rows = self._db.execute("SELECT name, settings, created, updated FROM api_alarm ORDER BY created, name").fetchall()
        return [StoredAlarm(stored_alarms.alarm_from(name, settings), created, updated) for name, settings, created, updated in rows]

    def forget_api_alarm(self, name: str) -> None:
        """Drop a run-time alarm, and where it stood for each zone."""
        with self._transaction() as db:
            db.execute("DELETE FROM api_alarm WHERE name = ?", (name,))
            db.execute("DELETE FROM alarm_state WHERE alarm = ?", (name,))

    def save_api_topic(self, topic, now: float) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO api_topic (name, settings, created, updated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, updated = excluded.updated",
                (topic.name, stored_alarms.topic_settings(topic), now, now),
            )

    def api_topics(self) -> list[StoredTopic]:
        with self._lock:
            rows = self._db.execute("SELECT name, settings, created, updated FROM api_topic ORDER BY created, name").fetchall()
        return [StoredTopic(stored_alarms.topic_from(name, settings), created, updated) for name, settings, created, updated in rows]

    def forget_api_topic(self, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM api_topic WHERE name = ?", (name,))

    def alarm_states(self) -> list:
        """Every (alarm name, L{secdns.alarms.state.ZoneAlarmState}) kept, and the failing zones: C{(states, {zone: since})}."""
        with self._lock:
            rows = self._db.execute(
                "SELECT alarm, zone, state, since, value, last_notified, dedup_key, deadline, began, steps_sent"
                " FROM alarm_state ORDER BY alarm, zone"
            ).fetchall()
            failing = dict(self._db.execute("SELECT zone, failing_since FROM alarm_zone").fetchall())
        return [stored_alarms.state_from(row) for row in rows], failing

    def save_alarm_states(
        self,
        states=(),
        forget=(),
        failing=(),
        sent=(),
        keep_sent: int = 10_000,
    ) -> list[int]:
        """
        In one transaction: the (alarm, state) pairs to keep, the (alarm,
        zone) pairs to forget (alarm L{None}: every alarm of the zone), the
        C{(zone, failing_since or None)} pairs, and the notifications sent
        as C{(when, topics, notification)} (past C{keep_sent}, the oldest
        are dropped).

        @return: the ids given to the notifications sent.
        """
        ids = []
        with self._transaction() as db:
            for alarm, zone in forget:
                if alarm is None:
                    db.execute("DELETE FROM alarm_state WHERE zone = ?", (zone,))
                else:
                    db.execute("DELETE FROM alarm_state WHERE alarm = ? AND zone = ?", (alarm, zone))
            db.executemany(
                "INSERT OR REPLACE INTO alarm_state (alarm, zone, state, since, value, last_notified, dedup_key,"
                " deadline, began, steps_sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [stored_alarms.state_row(alarm, state) for alarm, state in states],
            )
            for zone, since in failing:
                if since is None:
                    db.execute("DELETE FROM alarm_zone WHERE zone = ?", (zone,))
                else:
                    db.execute("INSERT OR REPLACE INTO alarm_zone (zone, failing_since) VALUES (?, ?)", (zone, since))
            for when, topics, notification in sent:
                cursor = db.execute(
                    "INSERT INTO notification (sent, alarm, zone, topics, message) VALUES (?, ?, ?, ?, ?)",
                    (when, notification.alarm, notification.zone, json.dumps(list(topics)), stored_alarms.message(notification)),
                )
                ids.append(cursor.lastrowid)
            if sent:
                db.execute(
                    "DELETE FROM notification WHERE id <= (SELECT MAX(id) FROM notification) - ?", (keep_sent,)
                )
        return ids

    def sent_notifications(self, since: float | None = None, limit: int = 100, zone: str | None = None,
                           alarm: str | None = None) -> list:
        """The last C{limit} notifications sent (from C{since} on), oldest first."""
        where, args = [], []
        if since is not None:
            where.append("sent >= ?")
            args.append(since)
        if zone is not None:
            where.append("zone = ?")
            args.append(zone)
        if alarm is not None:
            where.append("alarm = ?")
            args.append(alarm)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, sent, topics, message FROM notification{clause} ORDER BY id DESC LIMIT ?", (*args, max(0, limit))
            ).fetchall()
        return [
            SentNotification(id, sent, tuple(json.loads(topics)), stored_alarms.notification_from(text))
            for id, sent, topics, text in reversed(rows)
        ]


class _Transaction:
    """C{BEGIN IMMEDIATE} ... C{COMMIT}, or C{ROLLBACK} on any error; the store's lock held meanwhile."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return self._db

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                try:
                    self._db.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
            else:
                self._rollback()
        finally:
            self._lock.release()

    def _rollback(self) -> None:
        """
        Undo what the transaction did, if SQLite has not already: on some
        errors (a full disk) it rolls back by itself, and a ROLLBACK then
        fails with "no transaction is active", which would hide the reason.
        """
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the error that brought us here says why


def storage_failure(error: BaseException, directory: str) -> str:
    """
    Why writing to the store in C{directory} failed, in the system's words
    ("No space left on device", "Read-only file system", "Permission
    denied") rather than SQLite's ("database or disk is full", "attempt to
    write a readonly database").
    """
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error)
    try:
        status = os.statvfs(directory)
    except OSError:
        return text
    if status.f_flag & os.ST_RDONLY:
        return f"{os.strerror(errno.EROFS)} ({text})"
    if "full" in text or status.f_bavail == 0:
        return f"{os.strerror(errno.ENOSPC)} ({text})"
    if "readonly" in text or not os.access(directory, os.W_OK):
        return f"{os.strerror(errno.EACCES)} ({text})"
    return text


def _changeset(row) -> Changeset:
    serial_from, serial_to, removed, added = row
    return Changeset(serial_from, serial_to, tuple(load_rrsets(removed)), tuple(load_rrsets(added)))


def build_zone(origin: dns.name.Name, rrsets: Iterable) -> ZoneData:
    """A zone version from (owner, rdataset) pairs."""
    zone = dns.zone.Zone(origin, relativize=False)
    for name, rds in rrsets:
        node = zone.find_node(name, create=True)
        node.replace_rdataset(rds)
    return from_zone(zone)
