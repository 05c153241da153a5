# -*- test-case-name: tests.unit.test_alarm_engine -*-
"""
The alarm engine: watches every zone on the reactor's clock, evaluates
the alarms per zone, keeps their state in the store, and hands the
notifications to the deliveries.

What it reads of the zones is what the zone core publishes
(L{secdns.core.registry.ZoneRegistry}: C{zones()}, C{status(name)} and the
events on its bus); nothing else::

    bus event (TransferFailed, TransferSucceeded, RefreshRecovered,
      NotifyFailed, ZoneExpired, ...) ──> counted in the history; the zone
                                           is evaluated in the same turn
    every minute (at :00) ──> every zone sampled (status), every zone
                              evaluated; history older than a day dropped
    a pending alarm due, a repeat due ──> that zone evaluated then

    evaluation of a zone: sample its gauges (L{secdns.alarms.history}),
      step each enabled alarm that covers it (L{secdns.alarms.evaluate})
    end of each pass: the states that changed, the failing zones and the
      notifications sent are written in one store transaction; then each
      notification is handed to its topics' deliveries (which never block)

Alarms and topics come from three places: built in
(L{secdns.alarms.defaults}), the config file (read-only here; a SIGHUP
applies a new file through L{AlarmEngine.apply}), and the run-time methods
(the API), which keep what they make in the store.  Names are unique over
the three; an alarm of the config file with a built-in's name replaces it.

A restart reads back what was firing, what was notified, and which zones
were failing since when: it sends nothing again, and clears only on what
it has seen (see L{secdns.alarms.evaluate}).
"""

from __future__ import annotations

import heapq
import sqlite3
import time
from typing import Callable, Iterable

import attrs
from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from secdns.alarms import defaults
from secdns.alarms.check import alarm_problems, matches, topic_problems, zone_pattern
from secdns.alarms.evaluate import ZoneFacts, evaluate, evaluate_steps, next_due, notification
from secdns.alarms.history import MINUTE, History, minute_of
from secdns.alarms.model import FIRING, METRICS, OK, Alarm, Notification, Topic
from secdns.alarms.query import text as query_text
from secdns.alarms.state import BUILT_IN, PENDING, AlarmStatus, SentNotification, ZoneAlarmState
from secdns.config import Config
from secdns.errors import ConfigError
from secdns.ops.alarms.errors import (
    AlarmExists, InvalidRequest, NoSuchAlarm, NoSuchTopic, ReadOnly, TopicExists, TopicInUse,
)
from secdns.store.alarms import StoredAlarm, StoredTopic
from secdns.store.database import storage_failure
from secdns.zones.events import (
    NotifyFailed, RefreshRecovered, TransferFailed, TransferSucceeded, ZoneAdded, ZoneRemoved, ZoneUnexpired,
)
from secdns.zones.status import ZoneStatus

__all__ = ["AlarmEngine"]

log = Logger(namespace="secdns.alarms")

FAILURES = "ZoneTransferFailureCount"
SUCCESSES = "ZoneTransferSuccessCount"
NOTIFY_FAILURES = "NotifyFailureCount"

#: A pass that takes longer than this is logged: the engine runs on the reactor.
SLOW_PASS = 0.25

#: Zones evaluated in one turn of the reactor, in the minute's sweep of
#: every zone (about 100 us each with a few alarms: some 25 ms a turn).
CHUNK = 250


def _label(name) -> str:
    text = name if isinstance(name, str) else name.to_text(omit_final_dot=True)
    return text.rstrip(".").lower() or "."


def _plain(state: ZoneAlarmState | None) -> bool:
    """A state nothing needs to remember across a restart."""
    return state is None or (state.state == OK and not state.steps_sent)


def _kept(state: ZoneAlarmState | None):
    """What of a state the store keeps (its value is refreshed on every evaluation, so not compared)."""
    return None if _plain(state) else attrs.evolve(state, value=None)


class AlarmEngine:
    """
    The alarms and topics, their per-zone state and history (see the module docstring).

    @param registry: the zone core: C{zones()}, C{status(name)}, C{bus}.
    @param store: L{secdns.store.database.Store}.
    @param clock: C{IReactorTime}; usually the reactor, when not testing.
        Its C{seconds()} is the wall clock, as for the registry.
    @param deliveries: hands notifications to subscriptions: C{deliver(topic,
        notification)} (never raises, never blocks), C{send_test(topic)}
        (a Deferred), C{stop()} (L{secdns.ops.alarms.deliver.Deliveries}).
    @param config: the config in force (its C{alarms}, C{topics}, C{source}).
    """

    def __init__(self, registry, store, clock: IReactorTime, deliveries, config: Config) -> None:
        self.registry = registry
        self.store = store
        self.clock = clock
        self.deliveries = deliveries
        self.config = config
        self.history = History()
        self._stored_alarms: dict[str, StoredAlarm] = {s.alarm.name: s for s in store.api_alarms()}
        self._stored_topics: dict[str, StoredTopic] = {s.topic.name: s for s in store.api_topics()}
        rows, failing = store.alarm_states()
        self._states: dict[str, dict[str, ZoneAlarmState]] = {}
        for name, state in rows:
            self._states.setdefault(name, {})[state.zone] = state
        self._failing: dict[str, float] = dict(failing)
        self._last_notify_failure: dict[str, str] = {}
        self._alarms: dict[str, Alarm] = {}
        self._topics: dict[str, Topic] = {}
        self._due: list[tuple[float, str, str]] = []
        self._touched: set[str] = set()
        self._names: set[str] = set()  # every zone served, from zones() at start, then the bus
        self._sweep: list[str] = []  # the zones of the sweep under way, not yet evaluated
        self._sweep_call = None
        self._sweep_figures = (0, 0.0, 0.0)  # zones, CPU seconds, started (wall)
        self._pass_call = None
        self._tick_call = None
        self._due_call = None
        self._unsubscribe: Callable[[], None] | None = None
        self._writes: dict[tuple[str, str], ZoneAlarmState | None] = {}
        self._failing_writes: dict[str, float | None] = {}
        self._sent: list[tuple[float, tuple[str, ...], Notification]] = []
        self._combine()
        self.running = False
        #: Figures for the log and the benchmarks: the last pass (zones
        #: evaluated, seconds on the reactor), the longest since start, and
        #: the last whole sweep of every zone (zones, seconds on the reactor
        #: in all, seconds from its start to its end).
        self.last_pass: tuple[int, float] = (0, 0.0)
        self.longest_pass: tuple[int, float] = (0, 0.0)
        self.last_sweep: tuple[int, float, float] = (0, 0.0, 0.0)
        self.passes = 0
        self.seconds = 0.0  # on the reactor since start, in all

    def _now(self) -> float:
        return self.clock.seconds()

    # -- life cycle

    def start(self) -> None:
        """
        Hear the zone bus, evaluate every zone now and every minute from
        now on.

        @raise ConfigError: the config declares an alarm or topic also made
            at run time, or drops a topic a run-time alarm sends to.
        """
        self.check(self.config)
        self._unsubscribe = self.registry.bus.subscribe(self._on_event)
        self.running = True
        self._names = {_label(status.name) for status in self.registry.zones()}
        kept = {zone for states in self._states.values() for zone in states} | set(self._failing)
        for zone in kept - self._names:  # zones removed while secdns was down
            self._forget_zone(zone)
        for name, states in self._states.items():
            alarm = self._alarms.get(name)
            if alarm is not None:
                for state in states.values():
                    self._push_due(alarm, state)
        self._touch_all()
        self._schedule_tick()
        firing = sum(1 for states in self._states.values() for s in states.values() if s.state == FIRING)
        log.info(
            "alarms: {count} ({enabled} enabled), {topics} topics; {firing} firing",
            count=len(self._alarms), enabled=len(self._enabled()), topics=len(self._topics), firing=firing,
        )

    def stop(self) -> defer.Deferred:
        """Stop evaluating; what changed is written; the deliveries stop (their queue goes to the stream files)."""
        self.running = False
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for call in (self._pass_call, self._tick_call, self._due_call, self._sweep_call):
            if call is not None and call.active():
                call.cancel()
        self._pass_call = self._tick_call = self._due_call = self._sweep_call = None
        self._sweep = []
        self._flush()
        stopped = self.deliveries.stop()
        return stopped if isinstance(stopped, defer.Deferred) else defer.succeed(None)

    # -- the alarms and topics in force

    def _combine(self) -> None:
        config = self.config
        # A built-in overridden by the config keeps its place in the lists.
        alarms = {alarm.name: alarm for alarm in defaults.ALARMS}
        alarms.update((alarm.name, alarm) for alarm in config.alarms)
        alarms.update((name, stored.alarm) for name, stored in self._stored_alarms.items())
        topics = {topic.name: topic for topic in defaults.TOPICS}
        topics.update((topic.name, topic) for topic in config.topics)
        topics.update((name, stored.topic) for name, stored in self._stored_topics.items())
        self._alarms, self._topics = alarms, topics
        for name in list(self._states):
            alarm = alarms.get(name)
            if alarm is None or not alarm.enabled:
                self._forget_alarm(name)
            else:
                for zone in [z for z in self._states[name] if not matches(alarm.zones, z)]:
                    self._forget_state(name, zone)

    def _enabled(self) -> list[Alarm]:
        return [alarm for alarm in self._alarms.values() if alarm.enabled]

    def check(self, config: Config) -> None:
        """
        Whether C{config}'s alarms and topics can be put in force beside
        those made at run time.

        @raise ConfigError: naming the config file, the alarm or topic, and the store.
        """
        for alarm in config.alarms:
            if alarm.name in self._stored_alarms:
                raise ConfigError(
                    config.source, f'alarm "{alarm.name}"',
                    f"is also an alarm made through the API (kept in {self.store.path}); delete one of them",
                )
        for topic in config.topics:
            if topic.name in self._stored_topics:
                raise ConfigError(
                    config.source, f'topic "{topic.name}"',
                    f"is also a topic made through the API (kept in {self.store.path}); delete one of them",
                )
        known = {t.name for t in config.topics} | {t.name for t in defaults.TOPICS} | set(self._stored_topics)
        for stored in self._stored_alarms.values():
            for topic in stored.alarm.topics:
                if topic not in known:
                    raise ConfigError(
                        config.source, "topic",
                        f'no topic "{topic}", which alarm {stored.alarm.name} (made through the API) sends to',
                    )

    def apply(self, config: Config) -> None:
        """
        Put a reloaded config's alarms and topics in force (SIGHUP): an
        alarm removed or disabled forgets its states (no notice); one
        changed keeps them and is evaluated at once.

        @raise ConfigError: see L{check}; the old config stays in force.
        """
        self.check(config)
        self.config = config
        self._combine()
        configure = getattr(self.deliveries, "configure", None)
        if configure is not None:
            configure(config.smtp)
        self._rebuild_due()
        self._touch_all()

    # -- what happens to zones

    def _on_event(self, event) -> None:
        zone = getattr(event, "zone", None)
        if not zone:
            return
        zone = _label(zone)
        when = event.when
        match event:
            case TransferFailed():
                self.history.count(zone, FAILURES, when)
                if zone not in self._failing:
                    self._set_failing(zone, when)
            case TransferSucceeded():
                self.history.count(zone, SUCCESSES, when)
                self._set_failing(zone, None)
            case RefreshRecovered() | ZoneUnexpired():
                self._set_failing(zone, None)
            case NotifyFailed():
                self.history.count(zone, NOTIFY_FAILURES, when)
                self._last_notify_failure[zone] = f"{event.downstream} (serial {event.serial}): {event.reason}"
            case ZoneAdded():
                self.history.watch(zone, when)
            case ZoneRemoved():
                self._forget_zone(zone)
                return
        self._names.add(zone)
        self._touch(zone)

    def _set_failing(self, zone: str, since: float | None) -> None:
        if self._failing.get(zone) == since:
            return
        if since is None:
            self._failing.pop(zone, None)
        else:
            self._failing[zone] = since
        self._failing_writes[zone] = since

    def _forget_zone(self, zone: str) -> None:
        """A zone removed: its history, states and failing record go, without notices."""
        self.history.forget(zone)
        self._names.discard(zone)
        self._last_notify_failure.pop(zone, None)
        self._touched.discard(zone)
        if zone in self._failing:
            self._set_failing(zone, None)
        for name in list(self._states):
            self._forget_state(name, zone)

    def _forget_state(self, name: str, zone: str) -> None:
        states = self._states.get(name)
        if states is not None and states.pop(zone, None) is not None:
            self._writes[(name, zone)] = None

    def _forget_alarm(self, name: str) -> None:
        for zone in list(self._states.get(name, {})):
            self._writes[(name, zone)] = None
        self._states.pop(name, None)

    # -- scheduling

    def _touch(self, zone: str) -> None:
        self._touched.add(zone)
        self._schedule_pass()

    def _touch_all(self) -> None:
        """Every zone evaluated soon: a sweep (see L{_sweep_step})."""
        if not self.running:
            return
        if self._sweep:
            self._sweep = sorted(self._names)  # start over: what changed applies to every zone
            return
        self._sweep = sorted(self._names)
        self._sweep_figures = (len(self._sweep), 0.0, self._now())
        self._sweep_call = self.clock.callLater(0, self._sweep_step)

    def _sweep_step(self) -> None:
        """
        The next L{CHUNK} zones of the sweep, then the reactor's other work
        (queries) before the next chunk: a sweep of many zones never holds
        the reactor for long.
        """
        self._sweep_call = None
        chunk, self._sweep = self._sweep[:CHUNK], self._sweep[CHUNK:]
        started = time.perf_counter()
        self._run_pass(set(chunk))
        zones, seconds, began = self._sweep_figures
        self._sweep_figures = (zones, seconds + time.perf_counter() - started, began)
        if self._sweep and self.running:
            self._sweep_call = self.clock.callLater(0, self._sweep_step)
        else:
            zones, seconds, began = self._sweep_figures
            self.last_sweep = (zones, seconds, self._now() - began)

    def _schedule_pass(self) -> None:
        if self.running and (self._pass_call is None or not self._pass_call.active()):
            self._pass_call = self.clock.callLater(0, self._on_pass)

    def _on_pass(self) -> None:
        """The zones events touched, L{CHUNK} a turn (a master down for many zones touches them all at once)."""
        self._pass_call = None
        zones = self._touched
        if len(zones) > CHUNK:
            chunk = set(sorted(zones)[:CHUNK])
            self._touched = zones - chunk
            zones = chunk
            self._schedule_pass()
        else:
            self._touched = set()
        if zones:
            self._run_pass(zones)

    def _schedule_tick(self) -> None:
        if not self.running:
            return
        now = self._now()
        boundary = (minute_of(now) + 1) * MINUTE
        self._tick_call = self.clock.callLater(max(0.0, boundary - now), self._on_tick)

    def _on_tick(self) -> None:
        self._tick_call = None
        try:
            if self._sweep:
                log.warn(
                    "alarms: the last minute's evaluation of {count} zones has not ended; {left} are left",
                    count=self._sweep_figures[0], left=len(self._sweep),
                )
            self.history.trim(self._now())
            self._touch_all()
        finally:
            self._schedule_tick()

    def _push_due(self, alarm: Alarm, state: ZoneAlarmState) -> None:
        due = next_due(alarm, state)
        if due is None:
            return
        heapq.heappush(self._due, (due, alarm.name, state.zone))
        if self.running and self._due[0][0] == due:
            self._arm_due()

    def _rebuild_due(self) -> None:
        self._due = []
        for name, states in self._states.items():
            alarm = self._alarms.get(name)
            if alarm is not None:
                for state in states.values():
                    due = next_due(alarm, state)
                    if due is not None:
                        self._due.append((due, name, state.zone))
        heapq.heapify(self._due)
        self._arm_due()

    def _arm_due(self) -> None:
        if self._due_call is not None and self._due_call.active():
            self._due_call.cancel()
        self._due_call = None
        if self._due and self.running:
            self._due_call = self.clock.callLater(max(0.0, self._due[0][0] - self._now()), self._on_due)

    def _on_due(self) -> None:
        self._due_call = None
        now = self._now()
        while self._due and self._due[0][0] <= now:
            _, _, zone = heapq.heappop(self._due)
            self._touched.add(zone)  # stale entries cost one evaluation of the zone, nothing more
        if self._touched:
            if self._pass_call is not None and self._pass_call.active():
                self._pass_call.cancel()
            self._on_pass()
        self._arm_due()

    # -- evaluation

    def _run_pass(self, zones: Iterable[str]) -> None:
        """Sample and evaluate C{zones}, then write and deliver what changed."""
        started = time.perf_counter()
        now = self._now()
        count = 0
        try:
            enabled = self._enabled()
            for zone in zones:
                try:
                    status = self.registry.status(zone)
                except KeyError:  # gone (a primary zone whose first load failed is left out without an event)
                    self._forget_zone(zone)
                    continue
                self._evaluate_zone(status, enabled, now)
                count += 1
        except Exception:
            log.failure("alarms: evaluation failed")
        self._flush()
        seconds = time.perf_counter() - started
        self.last_pass = (count, seconds)
        self.seconds += seconds
        if seconds > self.longest_pass[1]:
            self.longest_pass = (count, seconds)
        self.passes += 1
        if seconds > SLOW_PASS:
            log.warn("alarms: evaluating {count} zones took {seconds:.3f} s", count=count, seconds=seconds)

    def _evaluate_zone(self, status: ZoneStatus, enabled: list[Alarm], now: float) -> None:
        zone = _label(status.name)
        self._sample(zone, status, now)
        for alarm in enabled:
            if matches(alarm.zones, zone):
                self._evaluate(alarm, zone, status, now)

    def _sample(self, zone: str, status: ZoneStatus, now: float) -> None:
        history = self.history
        history.watch(zone, now)
        history.line(zone, "ZoneSerial", now, None if status.serial is None else float(status.serial))
        if status.role != "secondary":
            return
        expire_at = status.expire_at
        history.line(zone, "ZoneExpirationInHours", now, None if expire_at is None else expire_at / 3600.0, -1 / 3600.0)
        masters = status.masters
        if masters and any(m.reachable is not None for m in masters):
            history.line(zone, "MasterUp", now, sum(1 for m in masters if m.reachable) / len(masters))
        else:
            history.line(zone, "MasterUp", now, None)
        failing = status.last_failure is not None and (
            status.last_refresh is None or status.last_failure > status.last_refresh
        )
        since = self._failing.get(zone)
        if failing and since is None:
            since = status.last_failure
            self._set_failing(zone, since)
        elif not failing and since is not None:
            since = None
            self._set_failing(zone, None)
        retry = getattr(status, "retry_interval", None)
        if since is not None and status.serial is None and status.last_refresh is not None:
            # Its stored copy is still being read: the SOA retry is not known yet.
            history.line(zone, "FailingForRetries", now, None)
        elif since is not None and retry:
            history.line(zone, "FailingForRetries", now, -since / retry, 1.0 / retry)
        else:
            history.line(zone, "FailingForRetries", now, 0.0)

    def _evaluate(self, alarm: Alarm, zone: str, status: ZoneStatus, now: float) -> None:
        states = self._states.setdefault(alarm.name, {})
        previous = states.get(zone)
        step = None
        if alarm.steps:
            expire_at = status.expire_at if status.role == "secondary" else None
            state, kind, step = evaluate_steps(alarm, previous, zone, expire_at, status.last_refresh, now)
        else:
            statistic = self.history.statistic(zone, alarm.metric, alarm.statistic, alarm.interval, now)
            state, kind = evaluate(alarm, previous, zone, statistic, now)
        if state is previous:
            return
        states[zone] = state
        if _kept(previous) != _kept(state):
            self._writes[(alarm.name, zone)] = None if _plain(state) else state
            if next_due(alarm, state) != (None if previous is None else next_due(alarm, previous)):
                self._push_due(alarm, state)
        if kind is not None:
            self._notify(alarm, previous, state, kind, status, now, step)

    def _notify(self, alarm, previous, state, kind, status, now, step) -> None:
        zone = state.zone
        since = self._failing.get(zone)
        window = alarm.interval
        if alarm.metric == "FailingForRetries" or alarm.steps:
            # Count the failures since they began (within the day kept).
            window = MINUTE * min(1440, minute_of(now) - minute_of(since) + 1) if since is not None else MINUTE
        facts = ZoneFacts(
            zone=zone,
            status=status,
            failing_since=since,
            failures=self.history.statistic(zone, FAILURES, "sum", window, now).value,
            last_notify_failure=self._last_notify_failure.get(zone),
            notify_failures=self.history.statistic(zone, NOTIFY_FAILURES, "sum", window, now).value,
            window=window,
        )
        message = notification(alarm, previous, state, kind, facts, now, step)
        topics = tuple(name for name in alarm.topics if name in self._topics)
        for name in alarm.topics:
            if name not in self._topics:
                log.warn("alarm {alarm}: no topic {topic}; not sent there", alarm=alarm.name, topic=name)
        self._sent.append((now, topics, message))

    def _flush(self) -> None:
        """Write what changed in one transaction, then hand what was sent to the deliveries."""
        writes, self._writes = self._writes, {}
        failing, self._failing_writes = self._failing_writes, {}
        sent, self._sent = self._sent, []
        if writes or failing or sent:
            keep = [(name, state) for (name, _), state in writes.items() if state is not None]
            forget = [(name, zone) for (name, zone), state in writes.items() if state is None]
            # Better told twice after a restart than not at all: deliver anyway.
            try:
                self.store.save_alarm_states(keep, forget, list(failing.items()), sent)
            except (sqlite3.Error, OSError) as e:
                log.error("alarms: cannot write their state to the store: {reason}", reason=storage_failure(e, self.store.directory))
            except Exception:
                log.failure("alarms: cannot write their state to the store")
        for _, topics, message in sent:
            log.debug(
                "alarm {alarm} {state} for zone {zone} -> {topics}",
                alarm=message.alarm, state=message.state, zone=message.zone, topics=", ".join(topics) or "(no topic)",
            )
            for name in topics:
                self.deliveries.deliver(self._topics[name], message)

    # -- what the operator surfaces ask

    def alarms(self) -> list[AlarmStatus]:
        """Every alarm (built in, the config's, then those made at run time) and where it stands per zone."""
        return [self._status(alarm) for alarm in self._alarms.values()]

    def alarm(self, name: str) -> AlarmStatus:
        return self._status(self._alarm(name))

    def _alarm(self, name: str) -> Alarm:
        alarm = self._alarms.get(name)
        if alarm is None:
            raise NoSuchAlarm(name)
        return alarm

    def _status(self, alarm: Alarm) -> AlarmStatus:
        states = self._states.get(alarm.name, {})
        return AlarmStatus(
            alarm=alarm,
            query=query_text(alarm),
            zones=tuple(states[zone] for zone in sorted(states)),
            declared_in=alarm.declared_in,
        )

    def firing(self) -> list[tuple[str, str, str]]:
        """(alarm, zone, state) of every alarm not OK for a zone: for the metrics."""
        return [
            (name, zone, state.state)
            for name, states in self._states.items()
            for zone, state in states.items()
            if state.state != OK
        ]

    def enabled(self) -> list[str]:
        """The names of the alarms evaluated."""
        return [alarm.name for alarm in self._enabled()]

    def _valid_alarm(self, alarm: Alarm) -> Alarm:
        alarm = attrs.evolve(alarm, declared_in=None, zones=zone_pattern(alarm.zones))
        problems = alarm_problems(alarm)
        if problems:
            raise InvalidRequest("; ".join(f"{field}: {problem}" for field, problem in problems))
        for topic in alarm.topics:
            if topic not in self._topics:
                raise InvalidRequest(f"no topic {topic}")
        return alarm

    def create_alarm(self, alarm: Alarm) -> AlarmStatus:
        """Make an alarm, kept in the store; evaluated at once."""
        if alarm.name in self._alarms:
            raise AlarmExists(f"alarm {alarm.name} exists already")
        alarm = self._valid_alarm(alarm)
        now = self._now()
        self.store.save_api_alarm(alarm, now)
        self._stored_alarms[alarm.name] = StoredAlarm(alarm, now, now)
        self._combine()
        self._touch_all()
        return self._status(alarm)

    def update_alarm(self, alarm: Alarm) -> AlarmStatus:
        """Change a run-time alarm; where it stands per zone is kept, and evaluated again at once."""
        stored = self._run_time_alarm(alarm.name)
        alarm = self._valid_alarm(alarm)
        now = self._now()
        self.store.save_api_alarm(alarm, now)
        self._stored_alarms[alarm.name] = StoredAlarm(alarm, stored.created, now)
        self._combine()
        self._rebuild_due()
        self._touch_all()
        return self._status(alarm)

    def delete_alarm(self, name: str) -> None:
        """Forget a run-time alarm and its states (no notice is sent)."""
        self._run_time_alarm(name)
        self.store.forget_api_alarm(name)
        del self._stored_alarms[name]
        self._states.pop(name, None)
        self._combine()
        self._rebuild_due()

    def _run_time_alarm(self, name: str) -> StoredAlarm:
        alarm = self._alarm(name)
        stored = self._stored_alarms.get(name)
        if stored is None:
            where = "built in" if alarm.declared_in == BUILT_IN else f"declared in {alarm.declared_in}"
            hint = "override it with an [[alarm]] of that name in the config file" if alarm.declared_in == BUILT_IN else "change it there"
            raise ReadOnly(f"alarm {name} is {where}: {hint}, and reload")
        return stored

    def topics(self) -> list[Topic]:
        """Every topic (built in, the config's, then those made at run time); secrets never in their repr."""
        return list(self._topics.values())

    def topic(self, name: str) -> Topic:
        topic = self._topics.get(name)
        if topic is None:
            raise NoSuchTopic(name)
        return topic

    def _valid_topic(self, topic: Topic) -> Topic:
        topic = attrs.evolve(topic, declared_in=None)
        problems = topic_problems(topic)
        if problems:
            raise InvalidRequest("; ".join(f"{field}: {problem}" for field, problem in problems))
        return topic

    def create_topic(self, topic: Topic) -> Topic:
        if topic.name in self._topics:
            raise TopicExists(f"topic {topic.name} exists already")
        topic = self._valid_topic(topic)
        now = self._now()
        self.store.save_api_topic(topic, now)
        self._stored_topics[topic.name] = StoredTopic(topic, now, now)
        self._combine()
        return topic

    def update_topic(self, topic: Topic) -> Topic:
        stored = self._run_time_topic(topic.name)
        topic = self._valid_topic(topic)
        now = self._now()
        self.store.save_api_topic(topic, now)
        self._stored_topics[topic.name] = StoredTopic(topic, stored.created, now)
        self._combine()
        return topic

    def delete_topic(self, name: str) -> None:
        """Forget a run-time topic no alarm sends to."""
        self._run_time_topic(name)
        users = tuple(alarm.name for alarm in self._alarms.values() if name in alarm.topics)
        if users:
            raise TopicInUse(f"topic {name} is sent to by alarms {', '.join(users)}", users)
        self.store.forget_api_topic(name)
        del self._stored_topics[name]
        self._combine()

    def _run_time_topic(self, name: str) -> StoredTopic:
        topic = self.topic(name)
        stored = self._stored_topics.get(name)
        if stored is None:
            where = "built in" if topic.declared_in == BUILT_IN else f"declared in {topic.declared_in}"
            hint = "replace it with a [[topic]] of that name in the config file" if topic.declared_in == BUILT_IN else "change it there"
            raise ReadOnly(f"topic {name} is {where}: {hint}, and reload")
        return stored

    def created(self, kind: str, name: str) -> tuple[float, float] | None:
        """When a run-time alarm or topic was made and last changed (L{None}: not made at run time)."""
        stored = (self._stored_alarms if kind == "alarm" else self._stored_topics).get(name)
        return None if stored is None else (stored.created, stored.updated)

    def send_test(self, topic_name: str) -> defer.Deferred:
        """One test message to each subscription of a topic: fires with C{[(subscription, ok, detail)]}."""
        return defer.maybeDeferred(self.deliveries.send_test, self.topic(topic_name))

    def series(self, zone: str, metric: str, minutes: int = 1440) -> list[tuple[float, float | None]]:
        """A zone's per-minute history of C{metric}, oldest first: (minute's start, value or L{None})."""
        if metric not in METRICS:
            raise InvalidRequest(f"unknown metric {metric!r} (one of: {', '.join(METRICS)})")
        if not 1 <= int(minutes) <= 1440:
            raise InvalidRequest("minutes must be from 1 to 1440")
        return self.history.series(_label(zone), metric, self._now(), int(minutes))

    def notifications(self, since: float | None = None, limit: int = 100, zone: str | None = None,
                      alarm: str | None = None) -> list[SentNotification]:
        """The last C{limit} notifications sent (from C{since} on), oldest first."""
        if not 0 <= limit <= 10_000:
            raise InvalidRequest("limit must be from 0 to 10000")
        return self.store.sent_notifications(since, limit, None if zone is None else _label(zone), alarm)
