"""secdns.alarms.expiry: the 72, 24, 6, 3, 2 and 1 hour notices and the one at expiry, each once per approach."""

from __future__ import annotations

from secdns.alarms.expiry import NOTICE_HOURS, Approach, advance, hours_left

HOUR = 3600.0
T0 = 1_700_000_000.0


def walk(deadline, start, end, step=60.0, approach=None, last_refresh=None):
    """The steps notified minute by minute from start to end."""
    notified = []
    t = start
    while t <= end:
        approach, _, due = advance(approach, deadline, t, last_refresh=last_refresh)
        if due is not None:
            notified.append((due, round(hours_left(deadline, t), 2)))
        t += step
    return approach, notified


def test_each_notice_once_on_the_way_to_expiry():
    """A zone with a week's expire that never refreshes hears 72, 24, 6, 3, 2, 1 hours and expiry, once each."""
    deadline = T0 + 7 * 24 * HOUR
    _, notified = walk(deadline, T0, deadline + 2 * HOUR, last_refresh=T0)
    assert [step for step, _ in notified] == [72.0, 24.0, 6.0, 3.0, 2.0, 1.0, 0.0]
    assert [left for _, left in notified] == [72.0, 24.0, 6.0, 3.0, 2.0, 1.0, 0.0]


def test_steps_the_approach_began_below_are_not_crossed():
    """A zone whose SOA expire is one day hears nothing at 72 or 24 hours: only 6, 3, 2, 1 and expiry."""
    deadline = T0 + 24 * HOUR
    _, notified = walk(deadline, T0, deadline, step=300.0, last_refresh=T0)
    assert [step for step, _ in notified] == [6.0, 3.0, 2.0, 1.0, 0.0]


def test_a_successful_refresh_rearms_every_step():
    """A new expire time is a new approach: the steps already sent are forgotten."""
    deadline = T0 + 100 * HOUR
    approach, notified = walk(deadline, T0, T0 + 30 * HOUR, last_refresh=T0)
    assert [step for step, _ in notified] == [72.0]
    refreshed = T0 + 30 * HOUR + 60
    approach, new, due = advance(approach, refreshed + 100 * HOUR, refreshed, last_refresh=refreshed)
    assert new and due is None and approach.sent == ()
    _, notified = walk(refreshed + 100 * HOUR, refreshed, refreshed + 30 * HOUR, approach=approach)
    assert [step for step, _ in notified] == [72.0]


def test_steps_passed_together_give_one_notice():
    """After a long gap (a process that was down), the steps passed meanwhile give one notice, the lowest."""
    deadline = T0 + 100 * HOUR
    approach, _, due = advance(None, deadline, T0, last_refresh=T0)
    assert due is None
    approach, _, due = advance(approach, deadline, deadline - 2.5 * HOUR, last_refresh=T0)
    assert due == 3.0
    assert approach.sent == (72.0, 24.0, 6.0, 3.0)
    approach, _, due = advance(approach, deadline, deadline - 2.4 * HOUR, last_refresh=T0)
    assert due is None


def test_a_zone_first_seen_close_to_expiry_is_notified():
    """Seen first at 5 hours left (a restart), a zone whose approach began at a week hears the 6 hour notice at once."""
    deadline = T0 + 5 * HOUR
    approach, new, due = advance(None, deadline, T0, last_refresh=deadline - 7 * 24 * HOUR)
    assert new and due == 6.0
    assert approach.began == 7 * 24


def test_a_known_approach_is_not_notified_again():
    """With the approach kept (the store, across a restart), nothing is sent twice."""
    deadline = T0 + 5 * HOUR
    kept = Approach(deadline, 168.0, (72.0, 24.0, 6.0))
    approach, new, due = advance(kept, deadline, T0)
    assert not new and due is None and approach == kept


def test_notice_hours_are_the_seeds():
    """The schedule is the seeds' 72, 24, 6, 3, 2, 1 hours, then expiry."""
    assert NOTICE_HOURS == (72.0, 24.0, 6.0, 3.0, 2.0, 1.0, 0.0)
