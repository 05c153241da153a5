"""secdns.alarms.history: per-minute series of counts and gauges, their statistics, missing minutes and bounded memory."""

from __future__ import annotations

import random

import pytest

from secdns.alarms.history import (
    EXACT, KEEP_MINUTES, LOWER_BOUND, UNKNOWN, UPPER_BOUND, History, Statistic, minute_of,
)

T0 = 1_700_000_040.0  # the start of a minute
HOUR = 3600.0
FAIL = "ZoneTransferFailureCount"
OKS = "ZoneTransferSuccessCount"
EXPIRY = "ZoneExpirationInHours"


def stat(history, metric, statistic, interval, now, zone="example.com"):
    return history.statistic(zone, metric, statistic, interval, now)


def reference(values, statistic, kind, now, lo_time):
    """The statistic computed the slow way, from the per-minute values."""
    observed = [(t, v) for t, v in values if v is not None]
    if statistic == "count":
        return float(len(observed))
    if not observed:
        return None
    numbers = [v for _, v in observed]
    if statistic == "sum":
        return sum(numbers)
    if statistic == "max":
        return max(numbers)
    if statistic == "min":
        return min(numbers)
    if statistic == "mean":
        return sum(numbers) / len(numbers)
    if kind == "count":
        start = observed[0][0]
        return sum(numbers) / max(1.0, min(now, values[-1][0] + 60) - start)
    (t0, v0), (t1, v1) = observed[0], observed[-1]
    end0 = min(now, t0 + 60)
    end1 = min(now, t1 + 60)
    return None if end1 <= end0 else (v1 - v0) / (end1 - end0)


def test_counts_per_minute_and_each_statistic():
    """Failures counted per minute give sum, count, max, min, mean and rate over the last interval."""
    h = History()
    h.watch("example.com", T0)
    for minute, n in ((0, 2), (1, 0), (2, 3), (4, 1)):
        for _ in range(n):
            h.count("example.com", FAIL, T0 + minute * 60 + 10)
    now = T0 + 4 * 60 + 30  # minute 4, half way
    assert stat(h, FAIL, "sum", 300, now) == Statistic(6.0, EXACT)
    assert stat(h, FAIL, "count", 300, now) == Statistic(5.0, EXACT)
    assert stat(h, FAIL, "max", 300, now).value == 3.0
    assert stat(h, FAIL, "min", 300, now).value == 0.0
    assert stat(h, FAIL, "mean", 300, now).value == pytest.approx(6 / 5)
    # 6 events in the 4.5 minutes observed: per second.
    assert stat(h, FAIL, "rate", 300, now).value == pytest.approx(6 / 270)
    # The last minute alone holds one.
    assert stat(h, FAIL, "sum", 60, now).value == 1.0
    assert stat(h, FAIL, "sum", 120, now).value == 1.0
    assert stat(h, FAIL, "sum", 180, now).value == 4.0


def test_missing_minutes_before_the_zone_was_watched():
    """Minutes before a zone is watched are missing: count says how many were observed, and the rest are bounds."""
    h = History()
    h.watch("example.com", T0)
    h.count("example.com", FAIL, T0 + 5)
    h.count("example.com", FAIL, T0 + 65)
    now = T0 + 90
    total = stat(h, FAIL, "sum", HOUR, now)
    assert total == Statistic(2.0, LOWER_BOUND)  # the whole hour could only hold more
    assert stat(h, FAIL, "count", HOUR, now) == Statistic(2.0, LOWER_BOUND)
    assert stat(h, FAIL, "min", HOUR, now) == Statistic(1.0, UPPER_BOUND)
    assert stat(h, FAIL, "mean", HOUR, now).bound == UNKNOWN
    assert stat(h, FAIL, "sum", 120, now) == Statistic(2.0, EXACT)
    series = h.series("example.com", FAIL, now, minutes=3)
    assert series == [(T0 - 60, None), (T0, 1.0), (T0 + 60, 1.0)]


def test_unknown_zone_or_metric_has_no_data():
    """A zone never seen has no data: every statistic is None but count, which is 0."""
    h = History()
    assert stat(h, FAIL, "sum", 60, T0) == Statistic(None, UNKNOWN)
    assert stat(h, FAIL, "count", 60, T0) == Statistic(0.0, UNKNOWN)
    assert h.series("nowhere", FAIL, T0, 2) == [(T0 - 60, None), (T0, None)]


def test_gauge_constant_runs():
    """A gauge holds its value from its sample until the next; the current minute is as of now."""
    h = History()
    h.gauge("example.com", "MasterUp", T0, 1.0)
    h.gauge("example.com", "MasterUp", T0 + 125, 0.5)
    h.gauge("example.com", "MasterUp", T0 + 130, 0.0)  # the later sample of a minute wins
    now = T0 + 250
    assert h.series("example.com", "MasterUp", now, 5) == [
        (T0, 1.0), (T0 + 60, 1.0), (T0 + 120, 0.0), (T0 + 180, 0.0), (T0 + 240, 0.0)
    ]
    assert stat(h, "MasterUp", "min", 300, now) == Statistic(0.0, EXACT)
    assert stat(h, "MasterUp", "max", 300, now).value == 1.0
    assert stat(h, "MasterUp", "mean", 300, now).value == pytest.approx(2 / 5)
    assert stat(h, "MasterUp", "max", 60, now).value == 0.0
    # A window reaching before the first sample is partial: nothing is known of the rest.
    assert stat(h, "MasterUp", "max", 600, now).bound == UNKNOWN


def test_gauge_without_value_is_missing():
    """A gauge sampled as None (a zone never transferred has no expiry) is missing in those minutes."""
    h = History()
    h.gauge("example.com", EXPIRY, T0, None)
    now = T0 + 30
    assert stat(h, EXPIRY, "min", 60, now) == Statistic(None, UNKNOWN)
    assert stat(h, EXPIRY, "count", 60, now).value == 0.0


def test_expiry_falls_by_itself_between_samples():
    """The hours to expiry, sampled once as a deadline, fall minute by minute and stop at 0."""
    h = History()
    deadline = T0 + 2 * HOUR
    h.gauge("example.com", EXPIRY, T0, (deadline - T0) / HOUR, slope=-1 / HOUR)
    now = T0 + 90 * 60 + 30
    assert stat(h, EXPIRY, "min", 60, now).value == pytest.approx((deadline - now) / HOUR)
    assert stat(h, EXPIRY, "max", 300, now).value == pytest.approx((deadline - (T0 + 87 * 60)) / HOUR)
    later = T0 + 3 * HOUR + 10
    assert stat(h, EXPIRY, "min", 60, later).value == 0.0
    assert h.points() == 1  # one sample, one point, however long it runs


@pytest.mark.parametrize("seed", range(12))
def test_fast_statistics_equal_the_minute_by_minute_ones(seed):
    """For random counts and lines (crossing 0 or not), every statistic equals the one computed minute by minute."""
    rnd = random.Random(seed)
    h = History()
    start = T0 + rnd.randrange(0, 60)
    h.watch("z", start)
    t = start
    for _ in range(rnd.randrange(1, 40)):
        t += rnd.uniform(1, 400)
        if rnd.random() < 0.5:
            h.count("z", FAIL, t, n=rnd.randrange(1, 4))
        else:
            kind = rnd.choice(["const", "down", "up", "none"])
            if kind == "const":
                h.gauge("z", EXPIRY, t, rnd.uniform(0, 100))
            elif kind == "down":
                h.gauge("z", EXPIRY, t, rnd.uniform(0, 3), slope=-1 / HOUR)
            elif kind == "up":
                h.gauge("z", EXPIRY, t, 0.0, slope=1 / 600)
            else:
                h.gauge("z", EXPIRY, t, None)
    now = t + rnd.uniform(0, 3000)
    for minutes in (1, 5, 37, 60, 240):
        lo_time = (minute_of(now) - minutes + 1) * 60
        for metric, kind in ((FAIL, "count"), (EXPIRY, "gauge")):
            values = h.series("z", metric, now, minutes)
            for statistic in ("count", "sum", "max", "min", "mean", "rate"):
                got = h.statistic("z", metric, statistic, minutes * 60, now).value
                want = reference(values, statistic, kind, now, lo_time)
                if want is None:
                    assert got is None, (metric, statistic, minutes)
                else:
                    assert got == pytest.approx(want, rel=1e-9, abs=1e-4), (metric, statistic, minutes)


def test_memory_is_bounded_and_forgotten():
    """A day of events keeps at most a day of minutes per series; a forgotten zone keeps nothing."""
    h = History()
    h.watch("example.com", T0)
    for minute in range(3 * 1440):
        when = T0 + minute * 60
        h.count("example.com", FAIL, when)
        h.gauge("example.com", "ZoneSerial", when, minute)
        h.trim(when)
    assert h.points() <= 2 * KEEP_MINUTES
    now = T0 + (3 * 1440 - 1) * 60
    assert stat(h, FAIL, "sum", 86400, now) == Statistic(1440.0, EXACT)
    h.forget("example.com")
    assert h.points() == 0 and h.zones() == []


def test_counts_only_for_counted_metrics():
    """Counting a gauge, or sampling a count, is a mistake caught at once."""
    h = History()
    with pytest.raises(ValueError):
        h.count("z", EXPIRY, T0)
    with pytest.raises(ValueError):
        h.gauge("z", FAIL, T0, 1.0)
