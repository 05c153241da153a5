"""secdns.alarms.evaluate: the per-zone state machine, partial windows, and the words of each notification."""

from __future__ import annotations

import attrs
import pytest

from secdns.alarms.evaluate import (
    CLEARED, FIRED, REPEATED, STEP, ZoneFacts, advice, evaluate, evaluate_steps, holds, next_due, notification,
)
from secdns.alarms.history import EXACT, LOWER_BOUND, UNKNOWN, UPPER_BOUND, Statistic
from secdns.alarms.model import FIRING, OK, Alarm
from secdns.alarms.state import PENDING, ZoneAlarmState
from secdns.zones.status import MasterStatus, ZoneStatus

T0 = 1_700_000_000.0
ZONE = "example.com"


def alarm(**kw) -> Alarm:
    fields = dict(name="a", metric="ZoneTransferFailureCount", operator=">", threshold=3.0, interval=3600.0)
    fields.update(kw)
    return Alarm(**fields)


def exact(value):
    return Statistic(value, EXACT)


@pytest.mark.parametrize(
    "operator, value, expected",
    [(">", 4, True), (">", 3, False), (">=", 3, True), ("<", 2, True), ("<", 3, False), ("<=", 3, True),
     ("==", 3, True), ("==", 3.5, False), ("!=", 3.5, True), ("!=", 3, False)],
)
def test_each_operator_on_a_whole_window(operator, value, expected):
    assert holds(alarm(operator=operator), exact(value)) is expected


@pytest.mark.parametrize(
    "operator, bound, value, expected",
    [
        (">", LOWER_BOUND, 4, True),   # already over: more minutes can only add
        (">", LOWER_BOUND, 2, None),   # could still go over
        ("<", LOWER_BOUND, 2, None),   # the minutes not seen could add
        ("<", LOWER_BOUND, 3, False),  # already at it: it cannot come down
        ("==", LOWER_BOUND, 4, False),
        ("<", UPPER_BOUND, 2, True),   # a min already under stays under
        (">", UPPER_BOUND, 2, False),
        (">", UPPER_BOUND, 4, None),
        (">", UNKNOWN, 400, None),
    ],
)
def test_a_window_seen_in_part_decides_only_what_it_can(operator, bound, value, expected):
    """Just after a start, a statistic over part of its window decides only what more minutes could not change."""
    assert holds(alarm(operator=operator), Statistic(float(value), bound)) is expected


def test_no_data_changes_nothing():
    """No minute observed: the state stays what it was, firing or not."""
    firing = ZoneAlarmState(ZONE, FIRING, since=T0, dedup_key="k")
    state, kind = evaluate(alarm(), firing, ZONE, Statistic(None, UNKNOWN), T0 + 60)
    assert state.state == FIRING and kind is None


def test_the_state_machine_step_by_step():
    """OK -> PENDING -> FIRING after the pending time -> repeat after the repeat -> OK with a clear notice."""
    a = alarm(pending=120.0, repeat=600.0)
    state, kind = evaluate(a, None, ZONE, exact(4), T0)
    assert (state.state, kind, state.since) == (PENDING, None, T0)
    assert next_due(a, state) == T0 + 120
    state, kind = evaluate(a, state, ZONE, exact(5), T0 + 60)
    assert (state.state, kind) == (PENDING, None)
    state, kind = evaluate(a, state, ZONE, exact(5), T0 + 120)
    assert (state.state, kind, state.since, state.dedup_key) == (FIRING, FIRED, T0 + 120, f"a/{ZONE}/{int(T0 + 120)}")
    assert next_due(a, state) == T0 + 720
    state, kind = evaluate(a, state, ZONE, exact(5), T0 + 719)
    assert kind is None
    state, kind = evaluate(a, state, ZONE, exact(5), T0 + 720)
    assert (kind, state.last_notified) == (REPEATED, T0 + 720)
    previous = state
    state, kind = evaluate(a, state, ZONE, exact(1), T0 + 800)
    assert (state.state, kind, state.dedup_key) == (OK, CLEARED, None)
    message = notification(a, previous, state, kind, ZoneFacts(ZONE), T0 + 800)
    assert message.dedup_key == previous.dedup_key and message.since == T0 + 120 and message.state == OK


def test_steps_fire_then_step_then_clear_on_a_new_deadline():
    """The expiry alarm: FIRED at the first step crossed, STEP at the next, CLEARED when the deadline moves."""
    a = alarm(metric="ZoneExpirationInHours", operator="<=", threshold=72.0, steps=(72.0, 24.0, 0.0))
    deadline = T0 + 100 * 3600
    state, kind, step = evaluate_steps(a, None, ZONE, deadline, T0, T0)
    assert (state.state, kind, step) == (OK, None, None)
    state, kind, step = evaluate_steps(a, state, ZONE, deadline, T0, deadline - 72 * 3600)
    assert (state.state, kind, step) == (FIRING, FIRED, 72.0)
    state, kind, step = evaluate_steps(a, state, ZONE, deadline, T0, deadline - 23 * 3600)
    assert (state.state, kind, step) == (FIRING, STEP, 24.0)
    state, kind, step = evaluate_steps(a, state, ZONE, deadline + 86400, deadline - 23 * 3600, deadline - 23 * 3600)
    assert (state.state, kind, step, state.steps_sent) == (OK, CLEARED, None, ())


def status(**kw) -> ZoneStatus:
    fields = dict(
        name=ZONE, role="secondary", state="loaded", serial=2024060101, records=10, last_load=None,
        last_failure=T0 - 60, failure_reason="192.0.2.1#53: TSIG BADSIG: our MAC does not verify", transfers_in=1,
        transfer_failures=5, masters=(
            MasterStatus("192.0.2.1", 53, False, T0 - 7200, T0 - 60, "192.0.2.1#53: TSIG BADSIG: our MAC does not verify", 1),
            MasterStatus("192.0.2.2", 53, True, T0 - 60, None, None, 2024060101),
        ),
        downstreams=(), expire_at=T0 + 36 * 3600, next_event=None, last_refresh=T0 - 7200, retry_interval=600.0,
    )
    fields.update(kw)
    return ZoneStatus(**fields)


def fired(a: Alarm, value=5.0) -> ZoneAlarmState:
    return ZoneAlarmState(ZONE, FIRING, since=T0, value=value, last_notified=T0, dedup_key=f"{a.name}/{ZONE}/{int(T0)}")


def test_failure_count_message_reads_like_the_issue():
    """"5 refresh attempts failed in the last hour; last: 192.0.2.1#53 ... BADSIG ...", since when, serial, hours to expiry, what to check."""
    a = alarm()
    message = notification(a, None, fired(a), FIRED, ZoneFacts(ZONE, status(), failing_since=T0 - 1800, failures=5.0), T0)
    first = message.body.splitlines()[0]
    assert first.startswith("Zone example.com: 5 refresh attempts failed in the last hour; failing since ")
    assert first.endswith("last: 192.0.2.1#53: TSIG BADSIG: our MAC does not verify.")
    assert "Serving: serial 2024060101" in message.body
    assert "Expires in 36.0 hours" in message.body
    assert "192.0.2.1#53 (failing: TSIG BADSIG: our MAC does not verify); 192.0.2.2#53 (answering)" in message.body
    assert message.body.splitlines()[-1] == (
        "Check that the TSIG key (name, algorithm and secret) is the same here and on the master."
    )
    assert (message.serial, message.expiration_hours, message.value, message.threshold) == (2024060101, 36.0, 5.0, 3.0)
    assert message.query == "ZoneTransferFailureCount[1h].sum() > 3"


@pytest.mark.parametrize(
    "reason, words",
    [
        ("192.0.2.1#53: no answer over UDP within 5 s", "a firewall, routing, or a stopped server"),
        ("192.0.2.1#53: REFUSED", "allow-transfer ACL"),
        ("192.0.2.1#53: TSIG BADTIME: clock skew", "clocks"),
        ("192.0.2.1#53: serial 3 is older than ours (5)", "went backwards"),
        (None, "the masters' logs"),
    ],
)
def test_what_to_check_follows_the_reason(reason, words):
    assert words in advice(reason)


def test_master_up_and_notify_messages():
    """MasterUp names the masters not answering; NotifyFailureCount the last failed NOTIFY."""
    a = alarm(name="masters", metric="MasterUp", operator="<", threshold=1.0, statistic="min", interval=300.0)
    message = notification(a, None, fired(a, 0.5), FIRED, ZoneFacts(ZONE, status()), T0)
    assert message.body.startswith("Zone example.com: 1 of 2 masters answer; not answering: 192.0.2.1#53 (")
    n = alarm(name="notify", metric="NotifyFailureCount", operator=">", threshold=0.0, interval=600.0)
    primary = status(role="primary", masters=(), expire_at=None, failure_reason=None)
    message = notification(
        n, None, fired(n, 2.0), FIRED,
        ZoneFacts(ZONE, primary, notify_failures=2.0, last_notify_failure="198.51.100.7#53 (serial 5): REFUSED"), T0,
    )
    assert message.body.startswith(
        "Zone example.com: 2 NOTIFYs to downstreams failed in the last 10 minutes; last: 198.51.100.7#53 (serial 5): REFUSED."
    )
    assert "Check that the downstreams run" in message.body


def test_repeat_and_clear_titles():
    a = alarm(repeat=3600.0)
    state = fired(a)
    repeated = notification(a, state, attrs.evolve(state, last_notified=T0 + 3600), REPEATED, ZoneFacts(ZONE, status(), failures=9.0), T0 + 3600)
    assert repeated.repeat and "still firing" in repeated.title and repeated.dedup_key == state.dedup_key
    cleared = notification(a, state, ZoneAlarmState(ZONE, OK, since=T0 + 4000), CLEARED,
                           ZoneFacts(ZONE, status(last_refresh=T0 + 4000, last_failure=T0 - 60)), T0 + 4000)
    assert cleared.title == "OK: a: zone example.com: cleared: refresh succeeded at 2023-11-14 23:20:00 UTC"
    assert cleared.state == OK and cleared.since == T0 and not cleared.repeat


def test_the_alarm_body_is_appended_and_a_gone_zone_said():
    a = alarm(body="Runbook: https://wiki.example.net/dns")
    message = notification(a, None, fired(a), FIRED, ZoneFacts(ZONE, None, failures=4.0), T0)
    assert message.body.splitlines()[-1] == "Runbook: https://wiki.example.net/dns"
    assert "Zone example.com is no longer served here." in message.body
