"""secdns.zones.status.health: a zone's health in one word, the same on every surface, for each case of the core's status."""

from __future__ import annotations

import attrs
import pytest

from secdns.zones.status import HEALTHS, Outcome, ZoneStatus, health, last_error

T = 1_700_000_000.0


def status(role="secondary", state="loaded", serial=7, last_load=None, failure_reason=None, expire_at=None) -> ZoneStatus:
    return ZoneStatus(
        name="example.com", role=role, state=state, serial=serial, records=None if serial is None else 4,
        last_load=last_load, last_failure=None if last_load is None or last_load.ok else last_load.when,
        failure_reason=failure_reason, transfers_in=0, transfer_failures=0, masters=(), downstreams=(),
        expire_at=expire_at, next_event=None,
    )


OK = Outcome(T, True, "")
FAILED = Outcome(T + 60, False, "192.0.2.1#53: timed out")

CASES = {
    # secondary zones
    "secondary serving": (status(last_load=OK), "serving", None),
    "secondary refreshing": (status(state="refreshing", last_load=OK), "refreshing", None),
    # still failing while it tries again: the reason stays on the console and in the API during each retry
    "secondary refreshing again after a failure": (status(state="refreshing", last_load=FAILED, failure_reason="timed out"), "failing", "timed out"),
    "secondary whose last refresh failed": (status(last_load=FAILED, failure_reason="timed out"), "failing", "timed out"),
    "secondary recovered (the old reason is kept by the core)": (status(last_load=Outcome(T + 120, True, ""), failure_reason="timed out"), "serving", None),
    "secondary expired after failures": (status(state="expired", last_load=FAILED, failure_reason="timed out"), "expired", "timed out"),
    "secondary expired, no failure recorded": (status(state="expired", last_load=OK), "expired", None),
    "secondary waiting for its first refresh": (status(state="unloaded", serial=None), "never-loaded", None),
    "secondary transferring its first version": (status(state="refreshing", serial=None), "loading", None),
    "secondary whose first transfers fail": (status(state="unloaded", serial=None, last_load=FAILED, failure_reason="refused"), "failing", "refused"),
    # primary zones
    "primary loaded": (status(role="primary", last_load=OK), "serving", None),
    "primary loading its first version": (status(role="primary", state="loading", serial=None), "loading", None),
    "primary whose reload failed, serving the old version": (status(role="primary", last_load=FAILED, failure_reason="bad SOA"), "failing", "bad SOA"),
    "primary whose first load failed": (status(role="primary", state="unloaded", serial=None, last_load=FAILED, failure_reason="no file"), "failing", "no file"),
    "primary not loaded yet": (status(role="primary", state="unloaded", serial=None), "never-loaded", None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_health(case):
    value, expected, error = CASES[case]
    assert health(value) == expected
    assert last_error(value) == error


def test_every_health_is_reached_and_named():
    assert {expected for _, expected, _ in CASES.values()} == set(HEALTHS)


def test_a_failure_without_a_reason_is_failing_still():
    """The outcome decides; the error falls back on its detail."""
    value = attrs.evolve(status(last_load=FAILED), failure_reason=None)
    assert (health(value), last_error(value)) == ("failing", FAILED.detail)
