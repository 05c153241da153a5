"""secdns.alarms.fold: at most 60 messages a minute to one subscription, the rest folded into one summary a minute."""

from __future__ import annotations

import pytest

from secdns.alarms.fold import Folder
from secdns.alarms.model import FIRING, OK, Notification

T0 = 1_700_000_040.0  # the start of a minute of the clock


def note(i: int, state: str = FIRING, severity: str = "WARNING", alarm: str = "xfr") -> Notification:
    return Notification(alarm, f"z{i}.example", state, severity, "ZoneTransferFailureCount", "", 1.0, 0.0,
                        T0, T0, f"k{i}", f"title {i}", "")


def test_sixty_a_minute_pass_and_the_rest_are_folded():
    """The first 60 messages of a minute to a subscription pass; the 61st and later are folded."""
    folder = Folder()
    admitted = [folder.admit("a", note(i), T0 + i * 0.5) for i in range(100)]
    assert admitted == [True] * 60 + [False] * 40


def test_subscriptions_are_counted_apart():
    """One subscription's flood takes nothing from another's sixty."""
    folder = Folder()
    for i in range(70):
        folder.admit("a", note(i), T0 + 1)
    assert all(folder.admit("b", note(i), T0 + 2) for i in range(60))
    assert not folder.admit("b", note(61), T0 + 3)


def test_one_summary_per_minute_once_the_minute_is_over():
    """What was folded in a minute comes back as one summary, and only after that minute ends."""
    folder = Folder()
    for i in range(75):
        folder.admit("a", note(i, state=FIRING if i % 3 else OK, severity="CRITICAL" if i == 70 else "INFO"), T0 + 10)
    assert folder.next_due() == T0 + 60
    assert folder.due(T0 + 59.9) == []
    [summary] = folder.due(T0 + 60)
    assert (summary.key, summary.start, summary.end, summary.count) == ("a", T0, T0 + 60, 15)
    assert summary.firing == sum(1 for i in range(60, 75) if i % 3)
    assert summary.severity == "CRITICAL"
    assert summary.alarms == (("xfr", 15),)
    assert summary.examples == tuple(f"title {i}" for i in range(60, 70))
    assert folder.due(T0 + 61) == [] and folder.next_due() is None


def test_the_summary_takes_a_place_in_the_minute_it_is_sent():
    """With the summary counted, a subscription never gets more than 60 messages in a minute of the clock."""
    folder = Folder()
    for i in range(61):
        folder.admit("a", note(i), T0)
    assert len(folder.due(T0 + 60)) == 1
    admitted = [folder.admit("a", note(i), T0 + 61) for i in range(60)]
    assert admitted.count(True) == 59


def test_a_new_minute_starts_afresh():
    """The count is per minute of the clock, not a sliding window."""
    folder = Folder()
    for i in range(60):
        assert folder.admit("a", note(i), T0 + 59)
    assert not folder.admit("a", note(60), T0 + 59.5)
    folder.due(T0 + 60)
    assert folder.admit("a", note(61), T0 + 60)


def test_each_minute_folded_has_its_own_summary():
    """Two minutes with floods give two summaries, oldest first."""
    folder = Folder()
    for minute in range(2):
        for i in range(62):
            folder.admit("a", note(i), T0 + minute * 60 + 1)
        if minute == 0:
            [first] = folder.due(T0 + 60.5)
    [second] = folder.due(T0 + 120.5)
    assert (first.start, first.count) == (T0, 2)
    # The first summary took one of the second minute's places.
    assert (second.start, second.count) == (T0 + 60, 3)


def test_memory_is_let_go():
    """Counts of minutes that are over are forgotten."""
    folder = Folder()
    for key in range(100):
        folder.admit(key, note(key), T0)
    folder.due(T0 + 3600)
    assert folder._sent == {} and folder._folded == {}


def test_a_limit_must_leave_room_for_the_summary():
    with pytest.raises(ValueError):
        Folder(limit=1)
