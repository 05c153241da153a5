"""secdns.store: schema v4 (run-time alarms and topics, alarm states, notifications sent) on a real SQLite file."""

from __future__ import annotations

import sqlite3

from secdns.alarms.model import FIRING, Alarm, Notification, Subscription, Topic
from secdns.alarms.state import ZoneAlarmState
from secdns.store import database
from secdns.store.database import Store

T0 = 1_700_000_000.0


def message(zone="example.com", when=T0) -> Notification:
    return Notification(
        alarm="a", zone=zone, state=FIRING, severity="ERROR", metric="MasterUp", query="MasterUp[1m].min() < 1",
        value=0.0, threshold=1.0, when=when, since=when, dedup_key=f"a/{zone}/{int(when)}", title="t", body="b",
        serial=7, expiration_hours=12.5,
    )


def test_a_version_3_store_is_upgraded_and_keeps_its_rows(tmp_path):
    """A store written by the previous secdns (schema 3) opens as schema 4 with its run-time zones and keys intact."""
    path = tmp_path / "secdns.sqlite"
    db = sqlite3.connect(path)
    for version in (1, 2, 3):
        db.executescript(database._SCHEMAS[version])
    db.execute("INSERT INTO api_key VALUES ('k.', 'hmac-sha256', x'00', 1, 1)")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    store = Store(str(path))
    assert [k.key.algorithm for k in store.api_keys()] == ["hmac-sha256"]
    assert store._db.execute("PRAGMA user_version").fetchone() == (4,)
    assert store.api_alarms() == [] and store.alarm_states() == ([], {})


def test_alarms_topics_states_and_sent_notifications_round_trip(tmp_path):
    """What the engine writes reads back the same after the file is opened again, secrets included."""
    path = str(tmp_path / "secdns.sqlite")
    store = Store(path)
    alarm = Alarm("a", "ZoneExpirationInHours", "<=", 48.0, statistic="min", interval=60.0, repeat=None,
                  topics=("ops",), steps=(48.0, 6.0, 0.0), body="runbook")
    store.save_api_alarm(alarm, T0)
    topic = Topic("ops", (Subscription("webhook", "https://hooks.example.net/x", b"s3cret"),), stream_file="/var/ops.jsonl")
    store.save_api_topic(topic, T0)
    state = ZoneAlarmState("example.com", FIRING, T0, 5.5, T0, "a/example.com/1", T0 + 3600, 72.0, (48.0, 6.0))
    ids = store.save_alarm_states([("a", state)], [], [("example.com", T0 - 600)], [(T0, ("ops",), message())])
    store.close()
    store = Store(path)
    assert [s.alarm for s in store.api_alarms()] == [alarm]
    assert [s.topic for s in store.api_topics()] == [topic]
    assert store.alarm_states() == ([("a", state)], {"example.com": T0 - 600})
    (sent,) = store.sent_notifications()
    assert (sent.id, sent.sent, sent.topics, sent.notification) == (ids[0], T0, ("ops",), message())
    store.save_alarm_states(forget=[(None, "example.com")], failing=[("example.com", None)])
    assert store.alarm_states() == ([], {})


def test_sent_notifications_are_bounded_and_filtered(tmp_path):
    """Past the number kept, the oldest notifications go; a query may ask for one zone, from a time on."""
    store = Store(str(tmp_path / "secdns.sqlite"))
    for i in range(30):
        store.save_alarm_states(sent=[(T0 + i, ("log",), message("a.example" if i % 2 else "b.example", T0 + i))], keep_sent=20)
    everything = store.sent_notifications(limit=100)
    assert len(everything) == 20 and everything[0].sent == T0 + 10
    assert [s.sent for s in store.sent_notifications(since=T0 + 25, zone="a.example")] == [T0 + 25, T0 + 27, T0 + 29]
    assert [s.sent for s in store.sent_notifications(limit=2)] == [T0 + 28, T0 + 29]
