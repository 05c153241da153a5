"""secdns.ops.alarms.engine: alarms evaluated per zone on a Clock, notifications handed to deliveries, state kept in a real SQLite store."""

from __future__ import annotations

import attrs
import pytest
from twisted.internet import defer
from twisted.internet.task import Clock

from secdns.alarms.model import FIRING, OK, Alarm, Subscription, Topic
from secdns.alarms.state import BUILT_IN, PENDING
from secdns.config import Config
from secdns.core.bus import Bus
from secdns.errors import ConfigError
from secdns.ops.alarms.engine import AlarmEngine
from secdns.ops.alarms.errors import (
    AlarmExists, InvalidRequest, NoSuchAlarm, NoSuchTopic, ReadOnly, TopicExists, TopicInUse,
)
from secdns.ops.metrics import AlarmCollector, exposition, registry_for
from secdns.store.database import Store
from secdns.zones import events
from secdns.zones.status import MasterStatus, ZoneStatus

T0 = 1_700_000_040.0  # the start of a minute
HOUR = 3600.0
DAY = 86400.0
RETRY = 600.0
ZONE = "example.com"
SOURCE = "/etc/secdns/secdns.toml"
BADSIG = "192.0.2.1#53: TSIG BADSIG: our MAC does not verify"


def secondary(name=ZONE, serial=7, expire_at=T0 + 7 * DAY, last_refresh=T0 - 60, last_failure=None, reason=None,
              reachable=True, retry=RETRY) -> ZoneStatus:
    master = MasterStatus("192.0.2.1", 53, reachable, last_refresh, last_failure, reason if reachable is False else None, serial)
    return ZoneStatus(
        name=name, role="secondary", state="loaded", serial=serial, records=10, last_load=None,
        last_failure=last_failure, failure_reason=reason, transfers_in=1, transfer_failures=0,
        masters=(master,), downstreams=(), expire_at=expire_at, next_event=None, last_refresh=last_refresh,
        retry_interval=retry,
    )


def primary(name="example.org", serial=3) -> ZoneStatus:
    return ZoneStatus(
        name=name, role="primary", state="loaded", serial=serial, records=5, last_load=None, last_failure=None,
        failure_reason=None, transfers_in=0, transfer_failures=0, masters=(), downstreams=(), expire_at=None,
        next_event=None,
    )


class Zones:
    """A stand-in for the zone core: its statuses, set by the test, and its bus."""

    def __init__(self, *statuses: ZoneStatus) -> None:
        self.bus = Bus()
        self.statuses = {status.name: status for status in statuses}

    def zones(self):
        return list(self.statuses.values())

    def status(self, name):
        try:
            return self.statuses[str(name).rstrip(".")]
        except KeyError:
            raise KeyError(name) from None

    def set(self, name=ZONE, **changes):
        self.statuses[name] = attrs.evolve(self.statuses[name], **changes)

    def remove(self, name, when):
        del self.statuses[name]
        self.bus.publish(events.ZoneRemoved(name, when, "secondary"))


class Deliveries:
    """Records what it is handed, by topic."""

    def __init__(self):
        self.sent = []
        self.stopped = False

    def deliver(self, topic, notification):
        self.sent.append((topic.name, notification))

    def send_test(self, topic):
        return defer.succeed([(f"{s.protocol} {s.endpoint}".strip(), True, "ok") for s in topic.subscriptions])

    def stop(self):
        self.stopped = True
        return defer.succeed(None)

    def states(self, alarm=None):
        return [(n.alarm, n.zone, n.state, n.repeat) for _, n in self.sent if alarm is None or n.alarm == alarm]


class Site:
    """An engine over fake zones, on a Clock, with a real SQLite store in tmp_path."""

    def __init__(self, tmp_path, *statuses, config=None):
        self.path = tmp_path / "secdns.sqlite"
        self.clock = Clock()
        self.clock.advance(T0)
        self.zones = Zones(*statuses) if statuses else Zones(secondary())
        self.config = config or Config(source=SOURCE)
        self.start()

    def start(self):
        self.store = Store(str(self.path))
        self.deliveries = Deliveries()
        self.engine = AlarmEngine(self.zones, self.store, self.clock, self.deliveries, self.config)
        self.engine.start()
        self.clock.advance(0)
        return self

    def restart(self):
        self.engine.stop()
        self.store.close()
        return self.start()

    def now(self):
        return self.clock.seconds()

    def run(self, seconds, step=60.0):
        """Let time pass, a step at a time."""
        end = self.now() + seconds
        while self.now() < end:
            self.clock.advance(min(step, end - self.now()))

    def fail(self, zone=ZONE, reason=BADSIG):
        """A refresh of the zone fails now."""
        now = self.now()
        self.zones.set(zone, last_failure=now, failure_reason=reason, masters=(
            MasterStatus("192.0.2.1", 53, False, self.zones.statuses[zone].last_refresh, now, reason, 7),
        ))
        self.zones.bus.publish(events.TransferFailed(zone, now, "192.0.2.1#53", reason, retry_at=now + RETRY))
        self.clock.advance(0)

    def recover(self, zone=ZONE, serial=7):
        """A refresh of the zone succeeds now, confirming the serial."""
        now = self.now()
        status = self.zones.statuses[zone]
        self.zones.set(zone, last_refresh=now, expire_at=now + 7 * DAY, masters=(
            MasterStatus("192.0.2.1", 53, True, now, status.last_failure, None, serial),
        ))
        self.zones.bus.publish(events.RefreshRecovered(zone, now, serial, "192.0.2.1#53"))
        self.clock.advance(0)

    def state(self, alarm, zone=ZONE):
        for state in self.engine.alarm(alarm).zones:
            if state.zone == zone:
                return state
        return None


def config(*alarms: Alarm, topics=()) -> Config:
    return Config(source=SOURCE, alarms=tuple(attrs.evolve(a, declared_in=SOURCE) for a in alarms), topics=tuple(topics))


# -- the defaults


def test_refresh_failing_fires_past_three_retries_and_clears_once(tmp_path):
    """Out of the box: a zone failing for more than 3 SOA retry intervals fires once (to the log topic), and clears once when a refresh succeeds."""
    site = Site(tmp_path)
    for attempt in range(4):  # at 0, 1, 2, 3 retries: failing for 3 retries, not more
        site.fail()
        assert site.deliveries.sent == [], attempt
        if attempt < 3:
            site.run(RETRY)
    site.run(60)  # the next evaluation (each minute, and each event) fires
    assert site.deliveries.states() == [("zone-refresh-failing", ZONE, FIRING, False)]
    topic, message = site.deliveries.sent[0]
    assert topic == "log" and message.when == T0 + 3 * RETRY + 60
    site.run(5 * RETRY)  # failures go on: no duplicates
    for _ in range(3):
        site.fail()
        site.run(RETRY)
    assert len(site.deliveries.sent) == 1
    site.recover()
    assert site.deliveries.states() == [
        ("zone-refresh-failing", ZONE, FIRING, False), ("zone-refresh-failing", ZONE, OK, False)
    ]
    cleared = site.deliveries.sent[1][1]
    assert cleared.dedup_key == message.dedup_key
    assert site.state("zone-refresh-failing").state == OK


def test_the_firing_message_says_what_an_operator_needs(tmp_path):
    """The message names the zone, the failures in the interval and the last reason, since when, the serial, hours to expiry, and what to check."""
    site = Site(tmp_path)
    for _ in range(5):
        site.fail()
        site.run(RETRY)
    site.fail()
    (_, message), = site.deliveries.sent
    assert message.zone == ZONE and message.severity == "ERROR" and message.serial == 7
    assert "zone example.com" in message.title
    assert "4 refresh attempts failed in the last 32 minutes" in message.body
    assert f"last: {BADSIG}" in message.body
    assert "failing since 2023-11-14 22:14:00 UTC" in message.body
    assert "Serving: serial 7" in message.body
    assert "Expires in 167.5 hours" in message.body
    assert "Check that the TSIG key (name, algorithm and secret) is the same here and on the master" in message.body
    assert message.expiration_hours == pytest.approx(7 * 24 - 31 / 60, abs=0.01)
    assert message.query == "FailingForRetries[1m].max() > 3"


def test_expiry_notices_at_72_24_6_3_2_1_hours_and_at_expiry(tmp_path):
    """A zone that cannot refresh hears the built-in expiry notices at 72, 24, 6, 3, 2 and 1 hours, at expiry, once each; a refresh clears and re-arms them."""
    deadline = T0 + 80 * HOUR
    site = Site(tmp_path, secondary(expire_at=deadline, last_refresh=T0))
    site.run(80 * HOUR + 120, step=60.0)
    notices = [(n.state, n.repeat, n.threshold, n.severity) for _, n in site.deliveries.sent if n.alarm == "zone-expiring"]
    assert notices == [
        (FIRING, False, 72.0, "WARNING"),
        (FIRING, True, 24.0, "WARNING"),
        (FIRING, True, 6.0, "WARNING"),
        (FIRING, True, 3.0, "WARNING"),
        (FIRING, True, 2.0, "WARNING"),
        (FIRING, True, 1.0, "WARNING"),
        (FIRING, True, 0.0, "CRITICAL"),
    ]
    assert "expired at" in site.deliveries.sent[-1][1].body
    site.deliveries.sent.clear()
    site.recover()
    assert site.deliveries.states("zone-expiring") == [("zone-expiring", ZONE, OK, False)]
    site.run(HOUR)
    assert site.deliveries.states("zone-expiring") == [("zone-expiring", ZONE, OK, False)]


def test_a_healthy_zone_with_a_short_expire_hears_nothing(tmp_path):
    """A zone whose SOA expire is 12 hours, refreshed every hour, never hears an expiry notice: its approaches begin below 24 hours and end in a refresh."""
    site = Site(tmp_path, secondary(expire_at=T0 + 12 * HOUR, last_refresh=T0))
    for _ in range(30):
        site.run(HOUR)
        site.recover()
        site.zones.set(ZONE, expire_at=site.now() + 12 * HOUR)
    assert site.deliveries.sent == []


def test_defaults_can_be_disabled_or_overridden(tmp_path):
    """A config [[alarm]] of a built-in's name replaces it: disabled, it never fires."""
    off = Alarm("zone-refresh-failing", "FailingForRetries", ">", 3.0, statistic="max", interval=60.0, enabled=False)
    site = Site(tmp_path, config=config(off))
    for _ in range(8):
        site.fail()
        site.run(RETRY)
    assert site.deliveries.states("zone-refresh-failing") == []
    assert site.engine.alarm("zone-refresh-failing").declared_in == SOURCE
    assert site.engine.alarm("zone-expiring").declared_in == BUILT_IN


# -- statistics, operators, pending, repeat, clear


@pytest.mark.parametrize(
    "query_fields, fires",
    [
        ({"statistic": "sum", "operator": ">", "threshold": 2}, True),
        ({"statistic": "sum", "operator": ">=", "threshold": 3}, True),
        ({"statistic": "sum", "operator": ">", "threshold": 3}, False),
        ({"statistic": "count", "operator": "==", "threshold": 5}, True),
        ({"statistic": "max", "operator": ">=", "threshold": 2}, True),
        ({"statistic": "min", "operator": "==", "threshold": 0}, True),
        ({"statistic": "mean", "operator": "<", "threshold": 1}, True),
        ({"statistic": "rate", "operator": ">", "threshold": 0.005}, True),
        ({"statistic": "rate", "operator": ">", "threshold": 0.05}, False),
        ({"statistic": "sum", "operator": "!=", "threshold": 3}, False),
        ({"statistic": "sum", "operator": "<=", "threshold": 3}, True),
    ],
)
def test_each_statistic_and_operator_on_counted_failures(tmp_path, query_fields, fires):
    """After three failures in the last five minutes (two in one minute), each statistic and operator decides as it says."""
    alarm = Alarm("failures", "ZoneTransferFailureCount", interval=300.0, topics=("log",), **query_fields)
    site = Site(tmp_path, config=config(alarm))
    site.run(5 * 60)  # the whole window watched
    site.clock.advance(10)
    site.fail()
    site.fail()
    site.run(120)
    site.fail()
    site.clock.advance(20)
    site.clock.advance(0)
    site.engine._touch(ZONE)
    site.clock.advance(0)
    assert (site.state("failures").state == FIRING) is fires, site.state("failures")


def test_pending_duration_before_firing(tmp_path):
    """With pending 2m the alarm is PENDING first and fires 2 minutes later exactly, if the condition still holds."""
    alarm = Alarm("master-down", "MasterUp", "<", 1.0, statistic="max", interval=60.0, pending=120.0, topics=("log",))
    site = Site(tmp_path, config=config(alarm))
    site.clock.advance(5)
    site.fail()
    assert site.state("master-down").state == PENDING
    site.clock.advance(119)
    assert site.deliveries.states("master-down") == []
    site.clock.advance(1)
    assert site.deliveries.states("master-down") == [("master-down", ZONE, FIRING, False)]
    assert site.deliveries.sent[-1][1].when == T0 + 125


def test_a_condition_that_stops_holding_while_pending_sends_nothing(tmp_path):
    """PENDING then OK again before the pending time is up: no notice at all."""
    alarm = Alarm("master-down", "MasterUp", "<", 1.0, statistic="max", interval=60.0, pending=300.0, topics=("log",))
    site = Site(tmp_path, config=config(alarm))
    site.fail()
    site.run(120)
    site.recover()
    site.run(600)
    assert site.deliveries.states("master-down") == []
    assert site.state("master-down").state == OK


def test_repeat_only_at_the_repeat_interval(tmp_path):
    """While firing, a repeat every 10 minutes exactly, whatever the rate of failures; none without repeat."""
    alarm = Alarm("failing", "FailingForRetries", ">", 0.0, statistic="max", interval=60.0, repeat=600.0, topics=("log",))
    site = Site(tmp_path, config=config(alarm))
    site.fail()
    for _ in range(31):  # failures every 60 s for 31 minutes
        site.run(60)
        site.fail()
    repeats = [n.when - T0 for _, n in site.deliveries.sent if n.alarm == "failing"]
    assert repeats == [60.0, 660.0, 1260.0, 1860.0]  # fired once failing for more than 0 retries
    assert [n.repeat for _, n in site.deliveries.sent if n.alarm == "failing"] == [False, True, True, True]
    assert len({n.dedup_key for _, n in site.deliveries.sent if n.alarm == "failing"}) == 1


def test_clear_notice_only_with_notify_on_clear(tmp_path):
    """An alarm with notify_on_clear false clears silently."""
    quiet = Alarm("quiet", "FailingForRetries", ">", 0.0, statistic="max", interval=60.0, topics=("log",),
                  notify_on_clear=False)
    site = Site(tmp_path, config=config(quiet))
    site.fail()
    site.run(60)
    site.recover()
    assert site.deliveries.states("quiet") == [("quiet", ZONE, FIRING, False)]
    assert site.state("quiet").state == OK


def test_each_zone_fires_and_clears_on_its_own(tmp_path):
    """One alarm over every zone fires for the failing zone only, then for the second too, and clears for each separately; a glob covers only its zones."""
    failing = Alarm("failing", "MasterUp", "<", 1.0, statistic="min", interval=60.0, topics=("log",))
    only_net = Alarm("net-only", "MasterUp", "<", 1.0, statistic="min", interval=60.0, topics=("log",),
                     zones="*.example.net")
    site = Site(tmp_path, secondary(ZONE), secondary("a.example.net"), primary(), config=config(failing, only_net))
    site.fail(ZONE)
    assert site.deliveries.states("failing") == [("failing", ZONE, FIRING, False)]
    site.run(60)
    site.fail("a.example.net")
    site.recover(ZONE)
    assert site.deliveries.states("failing") == [
        ("failing", ZONE, FIRING, False), ("failing", "a.example.net", FIRING, False), ("failing", ZONE, OK, False)
    ]
    assert site.deliveries.states("net-only") == [("net-only", "a.example.net", FIRING, False)]
    assert site.state("failing", "example.org").state == OK  # a primary zone has no refreshes


def test_a_removed_zone_is_forgotten(tmp_path):
    """A zone removed while firing is forgotten: no clear notice, no state, no history, nothing in the store."""
    site = Site(tmp_path, secondary(ZONE), secondary("example.net"))
    for _ in range(5):
        site.fail()
        site.run(RETRY)
    site.fail()
    assert site.state("zone-refresh-failing").state == FIRING
    site.zones.remove(ZONE, site.now())
    site.run(120)
    assert site.state("zone-refresh-failing") is None
    assert ZONE not in site.engine.history.zones()
    assert site.deliveries.states() == [("zone-refresh-failing", ZONE, FIRING, False)]
    states, failing = site.store.alarm_states()
    assert states == [] and failing == {}


# -- restarts


def test_restart_neither_resends_nor_forgets(tmp_path):
    """After a restart on the same SQLite file, what fired still fires, nothing is sent again, and the clear notice comes when the zone recovers."""
    site = Site(tmp_path)
    for _ in range(5):
        site.fail()
        site.run(RETRY)
    site.fail()
    fired = site.deliveries.sent[0][1]
    site.restart()
    site.run(3 * 60)
    site.fail()
    site.run(60)
    assert site.deliveries.sent == []
    assert site.state("zone-refresh-failing").state == FIRING
    assert site.state("zone-refresh-failing").since == fired.when
    site.recover()
    assert site.deliveries.states() == [("zone-refresh-failing", ZONE, OK, False)]
    assert site.deliveries.sent[0][1].dedup_key == fired.dedup_key
    sent = site.engine.notifications()
    assert [(s.notification.state, s.topics) for s in sent] == [(FIRING, ("log",)), (OK, ("log",))]


def test_restart_keeps_the_expiry_notices_sent(tmp_path):
    """The expiry steps notified before a restart are not notified again after it."""
    deadline = T0 + 30 * HOUR
    site = Site(tmp_path, secondary(expire_at=deadline, last_refresh=deadline - 7 * DAY))
    assert [n.threshold for _, n in site.deliveries.sent] == [72.0]
    site.run(7 * HOUR)
    assert [n.threshold for _, n in site.deliveries.sent] == [72.0, 24.0]
    site.restart()
    site.run(HOUR)
    assert site.deliveries.sent == []
    site.run(20 * HOUR)  # 2 hours left
    assert [n.threshold for _, n in site.deliveries.sent] == [6.0, 3.0, 2.0]


def test_a_partial_window_after_restart_does_not_clear(tmp_path):
    """Right after a restart, a firing alarm on a one-hour sum waits for the hour it did not see before it clears."""
    alarm = Alarm("many-failures", "ZoneTransferFailureCount", ">", 2.0, statistic="sum", interval=HOUR, topics=("log",))
    site = Site(tmp_path, config=config(alarm))
    site.run(HOUR)
    for _ in range(3):
        site.fail()
    assert site.deliveries.states("many-failures") == [("many-failures", ZONE, FIRING, False)]
    site.restart()
    site.recover()
    site.run(30 * 60)
    assert site.state("many-failures").state == FIRING
    site.run(31 * 60)
    assert site.deliveries.states("many-failures") == [("many-failures", ZONE, OK, False)]


# -- run-time alarms and topics


def test_run_time_alarms_and_topics_are_kept_and_guarded(tmp_path):
    """Alarms and topics made at run time persist; built-in and config ones are read-only; a topic in use cannot go."""
    site = Site(tmp_path, config=config(Alarm("cfg", "ZoneSerial", "<", 0.0, topics=("log",))))
    hook = Topic("ops", (Subscription("webhook", "https://hooks.example.net/x", b"s3cret-hmac"),))
    site.engine.create_topic(hook)
    with pytest.raises(TopicExists):
        site.engine.create_topic(hook)
    alarm = Alarm("ops-failing", "FailingForRetries", ">", 1.0, statistic="max", interval=60.0, topics=("ops",))
    site.engine.create_alarm(alarm)
    with pytest.raises(AlarmExists):
        site.engine.create_alarm(alarm)
    with pytest.raises(InvalidRequest, match="no topic nowhere"):
        site.engine.create_alarm(attrs.evolve(alarm, name="other", topics=("nowhere",)))
    with pytest.raises(InvalidRequest, match="interval"):
        site.engine.create_alarm(attrs.evolve(alarm, name="other", interval=90.0))
    with pytest.raises(ReadOnly, match="built in"):
        site.engine.update_alarm(attrs.evolve(alarm, name="zone-refresh-failing"))
    with pytest.raises(ReadOnly, match=SOURCE):
        site.engine.delete_alarm("cfg")
    with pytest.raises(ReadOnly):
        site.engine.delete_topic("log")  # no run-time alarm sends there, yet it is built in
    with pytest.raises(TopicInUse) as in_use:
        site.engine.delete_topic("ops")
    assert in_use.value.alarms == ("ops-failing",)
    with pytest.raises(NoSuchAlarm):
        site.engine.alarm("nope")
    with pytest.raises(NoSuchTopic):
        site.engine.topic("nope")
    assert "s3cret" not in repr(site.engine.topics()) and "s3cret" not in repr(site.engine.topic("ops"))
    site.engine.update_alarm(attrs.evolve(alarm, threshold=2.0))
    site.restart()
    assert site.engine.alarm("ops-failing").alarm.threshold == 2.0
    assert site.engine.alarm("ops-failing").declared_in is None
    assert site.engine.topic("ops").subscriptions[0].secret == b"s3cret-hmac"
    assert site.engine.alarm("ops-failing").query == "FailingForRetries[1m].max() > 2"
    site.engine.delete_alarm("ops-failing")
    site.engine.delete_topic("ops")
    site.restart()
    assert [a.alarm.name for a in site.engine.alarms()] == ["zone-refresh-failing", "zone-expiring", "cfg"]
    assert [t.name for t in site.engine.topics()] == ["log"]


def test_a_run_time_alarm_fires_to_its_topic(tmp_path):
    """An alarm made at run time is evaluated at once and sends to the topic it names."""
    site = Site(tmp_path)
    site.engine.create_topic(Topic("ops", (Subscription("email", "ops@example.net"),)))
    site.fail()
    site.engine.create_alarm(Alarm("any-failure", "ZoneTransferFailureCount", ">", 0.0, interval=300.0, topics=("ops",)))
    site.clock.advance(0)
    assert [(topic, n.alarm, n.state) for topic, n in site.deliveries.sent] == [("ops", "any-failure", FIRING)]
    results = []
    site.engine.send_test("ops").addCallback(results.append)
    assert results == [[("email ops@example.net", True, "ok")]]


def test_config_clashing_with_run_time_objects_is_refused(tmp_path):
    """A config declaring an alarm also made at run time, or dropping a topic a run-time alarm uses, is refused; the old one stays."""
    site = Site(tmp_path, config=config(topics=[Topic("ops", (Subscription("log"),), declared_in=SOURCE)]))
    site.engine.create_alarm(Alarm("mine", "ZoneSerial", "<", 0.0, topics=("ops",)))
    with pytest.raises(ConfigError, match='alarm "mine"'):
        site.engine.apply(config(Alarm("mine", "ZoneSerial", "<", 0.0), topics=[Topic("ops", declared_in=SOURCE)]))
    with pytest.raises(ConfigError, match='no topic "ops", which alarm mine'):
        site.engine.apply(config())
    assert site.engine.topic("ops").declared_in == SOURCE


def test_reload_applies_new_alarms(tmp_path):
    """A reloaded config's new alarm is evaluated at once; a removed one forgets its states silently."""
    site = Site(tmp_path)
    site.fail()
    new = config(Alarm("any-failure", "ZoneTransferFailureCount", ">", 0.0, interval=300.0, topics=("log",)))
    site.engine.apply(new)
    site.clock.advance(0)
    assert site.deliveries.states("any-failure") == [("any-failure", ZONE, FIRING, False)]
    site.engine.apply(config())
    site.run(120)
    assert site.deliveries.states("any-failure") == [("any-failure", ZONE, FIRING, False)]
    assert "any-failure" not in [a.alarm.name for a in site.engine.alarms()]


# -- surfaces


def test_metric_secdns_alarm_firing(tmp_path):
    """secdns_alarm_firing{alarm,zone} is 1 while an alarm fires for a zone; the per-alarm count of zones is there too."""
    site = Site(tmp_path)
    for _ in range(5):
        site.fail()
        site.run(RETRY)
    site.fail()
    text = exposition(registry_for(AlarmCollector(site.engine.firing, site.engine.enabled))).decode()
    assert 'secdns_alarm_firing{alarm="zone-refresh-failing",zone="example.com"} 1.0' in text
    assert 'secdns_alarm_firing_zones{alarm="zone-refresh-failing"} 1.0' in text
    assert 'secdns_alarm_firing_zones{alarm="zone-expiring"} 0.0' in text


def test_series_for_the_console(tmp_path):
    """A zone's per-minute history: failures counted per minute, missing before it was watched."""
    site = Site(tmp_path)
    site.run(120)
    site.fail()
    site.fail()
    series = site.engine.series("example.com.", "ZoneTransferFailureCount", minutes=4)
    assert [value for _, value in series] == [None, 0.0, 0.0, 2.0]
    assert series[-1][0] == T0 + 120
    with pytest.raises(InvalidRequest):
        site.engine.series(ZONE, "Nope")


def test_stop_writes_and_stops_the_deliveries(tmp_path):
    """Stopping the engine stops its deliveries, and evaluates no more."""
    site = Site(tmp_path)
    site.engine.stop()
    assert site.deliveries.stopped
    site.run(HOUR)
    assert site.engine.passes <= 2


def test_the_minute_sweep_goes_a_chunk_at_a_time(tmp_path):
    """With many zones, the minute's evaluation runs CHUNK zones per reactor turn, and reaches every zone."""
    from secdns.ops.alarms.engine import CHUNK

    statuses = [secondary(f"z{i}.example.com") for i in range(2 * CHUNK + 10)]
    site = Site(tmp_path, *statuses)
    site.engine.longest_pass = (0, 0.0)
    site.clock.advance(60)
    assert site.engine.longest_pass[0] == CHUNK
    assert site.engine.last_sweep[0] == len(statuses)
    assert len(site.engine.alarm("zone-refresh-failing").zones) == len(statuses)
