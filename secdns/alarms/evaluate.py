# -*- test-case-name: tests.unit.test_alarm_evaluate -*-
"""
Alarms evaluated per zone, and the notifications they send.

Each (alarm, zone) is a small state machine, stepped by L{evaluate} with
the alarm's statistic over its interval (L{secdns.alarms.history}) at
each evaluation (every minute, and when an event changes the zone)::

             condition holds               held for `pending`
      OK ───────────────────> PENDING ─────────────────────────> FIRING
      ^ ^    (pending 0: straight to FIRING)                      │  │
      │ └──────── condition no longer holds (no notice) ──────────┘  │ every `repeat`
      │                                                              │ while it holds:
      └──── condition no longer holds: a clear notice ───────────────┘ a repeat notice
            (if notify_on_clear)

One notification per change of state (FIRED, CLEARED), and while
firing one every C{repeat} only (REPEATED): whatever the zone's refresh
rate, this is what keeps the seeds' "duplicate alarm notifications" away.
An alarm over many zones fires and clears for each separately.

No data (no minute of the interval observed) changes nothing.  A window
observed only in part (the zone was added, or secdns started, less than
an interval ago) changes the state only when the part decides it: a
count's C{sum} already over a C{>} threshold is over it on the whole
window too; otherwise the state waits for the whole window.  So a restart
neither fires nor clears on the minutes it did not see.

Alarms with C{steps} (the ZoneExpirationInHours notices) are stepped by
L{evaluate_steps} instead (L{secdns.alarms.expiry}): FIRED at the first
step crossed, a STEP notice at each further one, CLEARED when a
successful refresh starts a new approach.

L{notification} words the message: what an operator needs (the zone,
what happened, since when, the serial served, the hours to expiry and
what to check).  Pure: time is an argument.
"""

from __future__ import annotations

import operator as _operator
import time

import attrs

from secdns.alarms import expiry
from secdns.alarms.history import EXACT, LOWER_BOUND, UPPER_BOUND, Statistic
from secdns.alarms.model import FIRING, OK, Alarm, Notification
from secdns.alarms.query import duration_text, text as query_text
from secdns.alarms.state import PENDING, ZoneAlarmState
from secdns.zones.status import ZoneStatus

__all__ = [
    "FIRED", "REPEATED", "CLEARED", "STEP", "ZoneFacts", "holds", "evaluate", "evaluate_steps", "next_due",
    "notification", "moment", "span",
]

#: What an evaluation asks to notify.
FIRED = "fired"
REPEATED = "repeated"
CLEARED = "cleared"
STEP = "step"

_COMPARE = {
    ">": _operator.gt,
    ">=": _operator.ge,
    "<": _operator.lt,
    "<=": _operator.le,
    "==": _operator.eq,
    "!=": _operator.ne,
}


@attrs.frozen
class ZoneFacts:
    """
    What the message about a zone says, gathered by the engine when it
    notifies.

    @ivar status: the zone's status (L{None}: the zone is gone).
    @ivar failing_since: when its refreshes started failing (L{None}: they do not).
    @ivar failures: refresh attempts that failed in the last C{window} seconds.
    @ivar window: the span C{failures} and C{notify_failures} count over
        (the alarm's interval; for C{FailingForRetries}, since the failures began).
    @ivar last_notify_failure: the last failed NOTIFY to a downstream, in words.
    @ivar notify_failures: NOTIFYs that failed in the alarm's interval.
    """

    zone: str
    status: ZoneStatus | None = None
    failing_since: float | None = None
    failures: float | None = None
    last_notify_failure: str | None = None
    notify_failures: float | None = None
    window: float | None = None


def holds(alarm: Alarm, statistic: Statistic) -> bool | None:
    """
    Whether the alarm's condition holds on C{statistic}; L{None} when it
    cannot be told (no data, or a window observed in part that does not
    decide it).
    """
    value, t, op = statistic.value, alarm.threshold, alarm.operator
    if value is None:
        return None
    result = _COMPARE[op](value, t)
    if statistic.bound == EXACT:
        return result
    if statistic.bound == LOWER_BOUND:  # the whole window's value is at least this
        if op in (">", ">=", "!=") and (value > t or (op == ">=" and value >= t)):
            return True
        if op in ("<", "<=", "==") and (value > t or (op == "<" and value >= t)):
            return False
        return None
    if statistic.bound == UPPER_BOUND:  # at most this
        if op in ("<", "<=", "!=") and (value < t or (op == "<=" and value <= t)):
            return True
        if op in (">", ">=", "==") and (value < t or (op == ">" and value <= t)):
            return False
        return None
    return None


def _dedup_key(alarm: Alarm, zone: str, since: float) -> str:
    return f"{alarm.name}/{zone}/{int(since)}"


def evaluate(
    alarm: Alarm, state: ZoneAlarmState | None, zone: str, statistic: Statistic, now: float
) -> tuple[ZoneAlarmState, str | None]:
    """
    Step the state machine (see the module docstring).

    @return: the new state, and what to notify: L{FIRED}, L{REPEATED},
        L{CLEARED} or L{None}.
    """
    if state is None:
        state = ZoneAlarmState(zone, OK, since=now)
    condition = holds(alarm, statistic)
    if state.value != statistic.value:
        state = attrs.evolve(state, value=statistic.value)
    if condition is None:
        return state, None
    if state.state == OK:
        if not condition:
            return state, None
        if alarm.pending <= 0:
            return _fire(alarm, state, now), FIRED
        return attrs.evolve(state, state=PENDING, since=now), None
    if state.state == PENDING:
        if not condition:
            return attrs.evolve(state, state=OK, since=now), None
        if now - (state.since or now) >= alarm.pending:
            return _fire(alarm, state, now), FIRED
        return state, None
    # FIRING
    if not condition:
        cleared = attrs.evolve(state, state=OK, since=now, dedup_key=None)
        if alarm.notify_on_clear:
            return attrs.evolve(cleared, last_notified=now), CLEARED
        return cleared, None
    if alarm.repeat is not None and now - (state.last_notified or state.since or now) >= alarm.repeat:
        return attrs.evolve(state, last_notified=now), REPEATED
    return state, None


def _fire(alarm: Alarm, state: ZoneAlarmState, now: float) -> ZoneAlarmState:
    return attrs.evolve(
        state, state=FIRING, since=now, last_notified=now, dedup_key=_dedup_key(alarm, state.zone, now)
    )


def evaluate_steps(
    alarm: Alarm,
    state: ZoneAlarmState | None,
    zone: str,
    expire_at: float | None,
    last_refresh: float | None,
    now: float,
) -> tuple[ZoneAlarmState, str | None, float | None]:
    """
    Step an alarm with C{steps} (the expiry notices).

    @param expire_at: the zone's expire time (L{None}: not known, as for a
        zone never transferred: nothing changes).
    @return: the new state, what to notify (L{FIRED}, L{STEP},
        L{CLEARED} or L{None}) and the step notified.
    """
    if state is None:
        state = ZoneAlarmState(zone, OK, since=now)
    if expire_at is None:
        return (state if state.value is None else attrs.evolve(state, value=None)), None, None
    known = None
    if state.deadline is not None and state.began is not None:
        known = expiry.Approach(state.deadline, state.began, state.steps_sent)
    approach, new, step = expiry.advance(known, expire_at, now, alarm.steps, last_refresh)
    hours = expiry.hours_left(expire_at, now)
    kind = None
    if new and state.state == FIRING:
        state = attrs.evolve(state, state=OK, since=now, dedup_key=None)
        if alarm.notify_on_clear:
            state = attrs.evolve(state, last_notified=now)
            kind = CLEARED
    if (state.deadline, state.began, state.steps_sent) != (approach.deadline, approach.began, approach.sent):
        state = attrs.evolve(state, deadline=approach.deadline, began=approach.began, steps_sent=approach.sent)
    if state.value is None or abs(state.value - hours) >= 0.01:  # the hours shown, to about half a minute
        state = attrs.evolve(state, value=round(hours, 2))
    if step is None:
        return state, kind, None
    if state.state == FIRING:
        return attrs.evolve(state, last_notified=now), STEP, step
    return _fire(alarm, state, now), FIRED, step


def next_due(alarm: Alarm, state: ZoneAlarmState) -> float | None:
    """When the state machine changes with nothing else changing: a pending alarm fires, a firing one repeats."""
    if state.state == PENDING and state.since is not None:
        return state.since + alarm.pending
    if state.state == FIRING and alarm.repeat is not None and not alarm.steps:
        return (state.last_notified or state.since or 0.0) + alarm.repeat
    return None


# -- the words


def moment(when: float | None) -> str:
    """A time as the log writes it."""
    if when is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def span(seconds: float) -> str:
    """A duration in words: 45 s, 12 min, 3.5 hours, 2.1 days."""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.1f} days"


def _window(interval: float) -> str:
    """'the last hour', 'the last 5 minutes'."""
    for size, one, many in ((86400, "day", "days"), (3600, "hour", "hours"), (60, "minute", "minutes")):
        if interval % size == 0:
            n = int(interval // size)
            return f"the last {one}" if n == 1 else f"the last {n} {many}"
    return f"the last {duration_text(interval)}"


def _number(value: float | None) -> str:
    if value is None:
        return "no data"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _times(n: float | None, one: str, many: str) -> str:
    n = int(n or 0)
    return f"{n} {one if n == 1 else many}"


#: What to check, by what a failure's reason says (first match wins).
_ADVICE = (
    (("BADTIME",), "both machines' clocks: TSIG allows 5 minutes of difference"),
    (("BADSIG", "BADKEY", "TSIG"), "that the TSIG key (name, algorithm and secret) is the same here and on the master"),
    (("NOTAUTH", "REFUSED", "refused the transfer", "NOTIMP"),
     "that the master allows transfers of the zone to this server's transfer_source address (its allow-transfer ACL)"),
    (("Connection refused", "connection refused"), "that the master runs and listens on that address and port"),
    (("timed out", "timeout", "Timeout", "no answer"),
     "that the master runs and answers on that address and port (a firewall, routing, or a stopped server)"),
    (("older", "went backwards"), "the master's serial: it went backwards (RFC 1982), so its copy is not applied"),
    (("records", "octets", "bad data", "FORMERR"), "the master's copy of the zone and the [transfer] limits"),
)


def advice(reason: str | None) -> str:
    """What an operator should check for a refresh that failed with C{reason}."""
    for needles, text in _ADVICE:
        if reason and any(needle in reason for needle in needles):
            return f"Check {text}."
    return "Check that the masters answer SOA queries and allow transfers from this server, and the masters' logs."


def _failure_line(alarm: Alarm, facts: ZoneFacts, now: float) -> str:
    status = facts.status
    parts = []
    if facts.failures is not None:
        window = facts.window or alarm.interval
        parts.append(f"{_times(facts.failures, 'refresh attempt', 'refresh attempts')} failed in {_window(window)}")
    if facts.failing_since is not None:
        retry = "" if status is None or not status.retry_interval else (
            f", {(now - facts.failing_since) / status.retry_interval:.1f} times the SOA retry of {span(status.retry_interval)}"
        )
        parts.append(f"failing since {moment(facts.failing_since)} ({span(now - facts.failing_since)}{retry})")
    if status is not None and status.failure_reason:
        parts.append(f"last: {status.failure_reason}")
    return "; ".join(parts) if parts else "refreshes fail"


def _what(alarm: Alarm, facts: ZoneFacts, value: float | None, now: float, step: float | None) -> str:
    """The one line that says what happened."""
    status = facts.status
    metric = alarm.metric
    if metric in ("ZoneTransferFailureCount", "FailingForRetries"):
        return _failure_line(alarm, facts, now)
    if metric == "ZoneTransferSuccessCount":
        if alarm.statistic == "sum":
            return f"{_times(value, 'transfer', 'transfers')} applied in {_window(alarm.interval)}"
        return f"transfers applied: {alarm.statistic} {_number(value)} over {_window(alarm.interval)}"
    if metric == "ZoneExpirationInHours":
        expire_at = None if status is None else status.expire_at
        if expire_at is not None and expire_at <= now:
            return f"expired at {moment(expire_at)}: it answers SERVFAIL until a refresh succeeds"
        if step is not None and expire_at is not None:
            return f"expires in {expiry.hours_left(expire_at, now):.1f} hours (at {moment(expire_at)}) unless a refresh succeeds"
        return f"{_number(value)} hours to expiry ({alarm.statistic} over {_window(alarm.interval)})"
    if metric == "MasterUp":
        if status is None or not status.masters:
            return f"masters answering: {_number(value)}"
        up = [m for m in status.masters if m.reachable]
        down = [f"{m} ({m.last_error or 'not answering'})" for m in status.masters if m.reachable is False]
        line = f"{len(up)} of {len(status.masters)} masters answer"
        return f"{line}; not answering: {', '.join(down)}" if down else line
    if metric == "NotifyFailureCount":
        line = f"{_times(facts.notify_failures, 'NOTIFY', 'NOTIFYs')} to downstreams failed in {_window(facts.window or alarm.interval)}"
        return f"{line}; last: {facts.last_notify_failure}" if facts.last_notify_failure else line
    if metric == "ZoneSerial":
        return f"serial {_number(value)}"
    return f"{metric} {alarm.statistic} is {_number(value)}"


def _headline(alarm: Alarm, facts: ZoneFacts, what: str, now: float) -> str:
    """What happened, short enough for a subject line."""
    status = facts.status
    if alarm.metric in ("ZoneTransferFailureCount", "FailingForRetries") and facts.failing_since is not None:
        reason = "" if status is None or not status.failure_reason else f": {status.failure_reason}"
        if len(reason) > 120:
            reason = reason[:117] + "..."
        return f"refreshes failing for {span(now - facts.failing_since)}{reason}"
    return what


def _context(facts: ZoneFacts, now: float) -> list[str]:
    """The zone as it stands: serial served, last refresh, hours to expiry, masters."""
    status = facts.status
    if status is None:
        return [f"Zone {facts.zone} is no longer served here."]
    lines = []
    serving = "nothing (never loaded)" if status.serial is None else f"serial {status.serial}"
    lines.append(f"Serving: {serving} ({status.role} zone, {status.state}).")
    if status.role == "secondary":
        lines.append(f"Last successful refresh: {moment(status.last_refresh)}.")
        if status.expire_at is not None:
            if status.expire_at <= now:
                lines.append(f"Expired at {moment(status.expire_at)}: answering SERVFAIL.")
            else:
                lines.append(
                    f"Expires in {expiry.hours_left(status.expire_at, now):.1f} hours, at {moment(status.expire_at)}, "
                    "unless a refresh succeeds."
                )
        if status.masters:
            masters = []
            for master in status.masters:
                if master.reachable is None:
                    masters.append(f"{master} (not asked yet)")
                elif master.reachable:
                    masters.append(f"{master} (answering)")
                else:
                    error = master.last_error or "no answer"
                    if error.startswith(f"{master}: "):
                        error = error[len(f"{master}: "):]
                    masters.append(f"{master} (failing: {error})")
            lines.append(f"Masters: {'; '.join(masters)}.")
    return lines


def _check(alarm: Alarm, facts: ZoneFacts) -> str:
    status = facts.status
    if alarm.metric == "NotifyFailureCount":
        return "Check that the downstreams run, answer on their address and port, and know the zone and its TSIG key."
    if alarm.metric == "ZoneSerial":
        return "Check the zone's recent changes (secdns zone events)."
    if status is None or status.role != "secondary":
        return "Check the zone's status (secdns zone get) and the log."
    reason = status.failure_reason
    if reason is None:
        masters = [m.last_error for m in status.masters if m.last_error]
        reason = masters[0] if masters else None
    return advice(reason)


def notification(
    alarm: Alarm,
    previous: ZoneAlarmState | None,
    state: ZoneAlarmState,
    kind: str,
    facts: ZoneFacts,
    now: float,
    step: float | None = None,
) -> Notification:
    """
    The message for a change of C{alarm}'s state on a zone: C{kind} is
    L{FIRED}, L{REPEATED}, L{STEP} or L{CLEARED}; C{previous} and C{state}
    the states before and after it.
    """
    zone = facts.zone
    query = query_text(alarm)
    status = facts.status
    value = state.value
    severity = alarm.severity
    expire_at = None if status is None else status.expire_at
    if step == 0:
        severity = "CRITICAL"
    if kind == CLEARED:
        fired = previous.since if previous is not None else None
        key = (previous.dedup_key if previous is not None else None) or _dedup_key(alarm, zone, fired or now)
        title = f"OK: {alarm.name}: zone {zone}: cleared"
        if alarm.metric in ("ZoneTransferFailureCount", "FailingForRetries") or alarm.steps:
            if status is not None and status.last_refresh is not None:
                headline = f"refresh succeeded at {moment(status.last_refresh)}"
            else:
                headline = "refreshes succeed again"
        else:
            headline = f"{query} no longer holds (value {_number(value)})"
        title = f"{title}: {headline}"
        lines = [
            f"Zone {zone}: {headline}.",
            f"Alarm {alarm.name} ({severity}) cleared; it had fired at {moment(fired)}"
            + ("" if fired is None else f" ({span(now - fired)} ago)") + ".",
        ]
        lines += _context(facts, now)
        since = fired
    else:
        what = _what(alarm, facts, value, now, step)
        key = state.dedup_key or _dedup_key(alarm, zone, state.since or now)
        still = "still firing: " if kind == REPEATED else ""
        title = f"{severity}: {alarm.name}: zone {zone}: {still}{_headline(alarm, facts, what, now)}"
        lines = [f"Zone {zone}: {what}."]
        if alarm.steps:
            hours = ", ".join(_number(s) for s in alarm.steps)
            lines.append(f"Alarm {alarm.name} ({severity}) notifies at {hours} hours before expiry, once each.")
        else:
            lines.append(f"Alarm {alarm.name} ({severity}): {query}; value {_number(value)}.")
        if kind == FIRED:
            lines.append(f"Firing since {moment(state.since)}.")
        else:
            lines.append(f"Firing since {moment(state.since)} ({span(now - (state.since or now))}).")
        lines += _context(facts, now)
        lines.append(_check(alarm, facts))
        since = state.since
    if alarm.body:
        lines.append(alarm.body)
    if len(title) > 300:
        title = title[:297] + "..."
    return Notification(
        alarm=alarm.name,
        zone=zone,
        state=OK if kind == CLEARED else FIRING,
        severity=severity,
        metric=alarm.metric,
        query=query,
        value=value,
        threshold=alarm.threshold if step is None else step,
        when=now,
        since=since,
        dedup_key=key,
        title=title,
        body="\n".join(lines),
        serial=None if status is None else status.serial,
        expiration_hours=None if expire_at is None else round(expiry.hours_left(expire_at, now), 2),
        repeat=kind in (REPEATED, STEP),
    )
