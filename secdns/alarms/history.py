# -*- test-case-name: tests.unit.test_alarm_history -*-
"""
Per-zone metric history at one-minute resolution, kept in memory for 24
hours: what alarms reduce (L{secdns.alarms.evaluate}) and what the web
console plots.

Minute C{m} is the wall-clock span C{[60 m, 60 m + 60)}.  Each zone has
one series per metric (L{secdns.alarms.model.METRICS}), of two kinds:

  - B{counts} (L{COUNTS}): events per minute (a failed refresh, an
    applied transfer, a failed NOTIFY), fed one event at a time.  A minute
    the zone was watched in and nothing happened is 0.
  - B{gauges} (L{GAUGES}): a value sampled from the zone's status (once a
    minute, and whenever an event changes the zone).  A minute's value is
    the gauge as of the end of that minute (for the current minute: now).
    Two gauges move by themselves between samples -- the hours to expiry
    fall, the time a refresh has been failing grows -- so a gauge is kept
    as a line, C{max(0, a + b t)} with C{b} = 0 for the others.

A minute is I{missing} when the zone was not watched then (before secdns
started or the zone was added; a gauge with no value, such as the expiry
of a zone never transferred).  The statistics are those of the seeds'
monitoring service, over the observed minutes of the last C{interval}
(the current minute, so far, and the whole ones before it):

  - C{count}: how many minutes were observed (the seeds' "number of
    observations received"); 0 when none were.
  - C{sum}, C{max}, C{min}: of the observed minutes' values.
  - C{mean}: C{sum} / C{count}.
  - C{rate}: per second.  For a count, events per second over the
    observed time (C{sum} / seconds observed); for a gauge, the change
    per second from the first observed minute to the last
    (L{None} with fewer than two).

Every statistic but C{count} is L{None} (no data) when no minute was
observed.  Missing minutes are left out, never taken as 0; so that a
window seen only in part (just after a start) does not mislead, each
statistic says whether it covered the whole window and, if not, whether
the whole window's value could only be greater (L{LOWER_BOUND}: a
count's C{sum}, C{max} or C{count}) or smaller (L{UPPER_BOUND}: its C{min}).

Memory is bounded: a series keeps only its changes (a count: the minutes
that had events; a gauge: the minutes its line changed), at most one per
minute of the last L{KEEP_MINUTES}; L{History.trim} drops older ones, and
L{History.forget} a removed zone's.
"""

from __future__ import annotations

import array
import bisect
import collections
import math
from typing import Iterator

import attrs

__all__ = [
    "MINUTE", "KEEP_MINUTES", "COUNTS", "GAUGES", "EXACT", "LOWER_BOUND", "UPPER_BOUND", "UNKNOWN",
    "Statistic", "CountSeries", "GaugeSeries", "History", "minute_of",
]

MINUTE = 60.0

#: Minutes kept per series: 24 hours, and the current minute.
KEEP_MINUTES = 1441

#: Metrics counted per minute, fed by events.
COUNTS = frozenset({"ZoneTransferFailureCount", "ZoneTransferSuccessCount", "NotifyFailureCount"})

#: Metrics sampled from the zone's status.
GAUGES = frozenset({"ZoneExpirationInHours", "MasterUp", "ZoneSerial", "FailingForRetries"})

#: What a statistic over a window seen only in part says of the whole window's value.
EXACT = "exact"
LOWER_BOUND = "lower bound"
UPPER_BOUND = "upper bound"
UNKNOWN = "unknown"


def minute_of(when: float) -> int:
    """The minute C{when} falls in."""
    return int(math.floor(when / MINUTE))


@attrs.frozen
class Statistic:
    """
    A statistic's value over a window.

    @ivar value: L{None}: no minute of the window was observed.
    @ivar bound: L{EXACT} when the whole window was observed; else
        L{LOWER_BOUND}, L{UPPER_BOUND} or L{UNKNOWN}: what C{value} says of
        the whole window's.
    """

    value: float | None
    bound: str = EXACT


@attrs.frozen
class _Summary:
    count: int
    total: float
    high: float | None
    low: float | None
    first: tuple[float, float] | None  # (time, value) of the first observed minute
    last: tuple[float, float] | None
    seconds: float = 0.0  # the time observed (counts)


_EMPTY = _Summary(0, 0.0, None, None, None, None)


class CountSeries:
    """
    Events per minute: the minutes that had any, from C{start} on (earlier
    minutes are missing), in two arrays (12 octets a minute with events).

    @ivar start: the first minute observed.
    """

    __slots__ = ("start", "_minutes", "_counts")

    def __init__(self, start: int) -> None:
        self.start = start
        self._minutes = array.array("q")  # ascending
        self._counts = array.array("f")

    def add(self, minute: int, n: float = 1.0) -> None:
        if minute < self.start:
            self.start = minute
        minutes = self._minutes
        if minutes and minutes[-1] == minute:
            self._counts[-1] += n
        elif not minutes or minutes[-1] < minute:
            minutes.append(minute)
            self._counts.append(n)
        else:  # an event stamped in an earlier minute than the last one counted: rare, kept in order
            i = bisect.bisect_left(minutes, minute)
            if minutes[i] == minute:
                self._counts[i] += n
            else:
                minutes.insert(i, minute)
                self._counts.insert(i, n)

    def trim(self, oldest: int) -> None:
        i = bisect.bisect_left(self._minutes, oldest)
        if i:
            del self._minutes[:i]
            del self._counts[:i]
        if self.start < oldest:
            self.start = oldest

    def __len__(self) -> int:
        return len(self._minutes)

    def _between(self, lo: int, hi: int) -> tuple[int, int]:
        return bisect.bisect_left(self._minutes, lo), bisect.bisect_right(self._minutes, hi)

    def summary(self, lo: int, hi: int, now: float) -> _Summary:
        lo = max(lo, self.start)
        if lo > hi:
            return _EMPTY
        observed = hi - lo + 1
        i, j = self._between(lo, hi)
        values = self._counts[i:j].tolist()
        total = float(sum(values))
        if len(values) < observed:
            values.append(0.0)
        seconds = max(1.0, min(now, (hi + 1) * MINUTE) - lo * MINUTE)
        return _Summary(observed, total, max(values), min(values), None, None, seconds)

    def values(self, lo: int, hi: int) -> list[float | None]:
        """Each minute's count, lo to hi (L{None}: missing)."""
        i, j = self._between(lo, hi)
        counts = dict(zip(self._minutes[i:j], self._counts[i:j]))
        return [None if minute < self.start else float(counts.get(minute, 0.0)) for minute in range(lo, hi + 1)]


class GaugeSeries:
    """
    A sampled value, as runs: from each point's minute until the next
    point's, the gauge is C{max(0, a + b t)} (C{b} = 0: the constant C{a};
    C{a} L{None}: missing).
    """

    __slots__ = ("start", "_points")

    def __init__(self, start: int) -> None:
        self.start = start
        self._points: collections.deque[tuple[int, float | None, float]] = collections.deque()

    def set(self, minute: int, a: float | None, b: float = 0.0) -> None:
        """The gauge from C{minute} on (a later sample in the same minute wins)."""
        points = self._points
        if a is None:
            b = 0.0
        if points:
            last_minute, last_a, last_b = points[-1]
            if minute < last_minute:
                return  # a sample older than one kept: the newer one stands
            if last_a == a and last_b == b:
                return
            if last_minute == minute:
                points.pop()
                if points and points[-1][1] == a and points[-1][2] == b:
                    return
        elif minute < self.start:
            self.start = minute
        points.append((minute, a, b))

    def trim(self, oldest: int) -> None:
        points = self._points
        while len(points) >= 2 and points[1][0] <= oldest:
            points.popleft()
        if self.start < oldest:
            self.start = oldest

    def __len__(self) -> int:
        return len(self._points)

    def _runs(self, lo: int, hi: int) -> Iterator[tuple[int, int, float | None, float]]:
        """(first minute, last minute, a, b) of each run within [lo, hi]."""
        points = self._points
        n = len(points)
        for i, (minute, a, b) in enumerate(points):
            end = points[i + 1][0] - 1 if i + 1 < n else hi
            first, last = max(minute, lo), min(end, hi)
            if first <= last:
                yield first, last, a, b

    def summary(self, lo: int, hi: int, now: float) -> _Summary:
        lo = max(lo, self.start)
        count, total, high, low, first, last = 0, 0.0, None, None, None, None
        current = minute_of(now)
        for m0, m1, a, b in self._runs(lo, hi):
            if a is None:
                continue
            if m1 >= current:  # the current minute's value is as of now, not its end
                parts = [(m0, m1 - 1), (m1, m1)] if m1 > m0 else [(m1, m1)]
            else:
                parts = [(m0, m1)]
            for p0, p1 in parts:
                if p0 > p1:
                    continue
                t0 = _end(p0, now)
                t1 = _end(p1, now)
                v0, v1 = _line(a, b, t0), _line(a, b, t1)
                n = p1 - p0 + 1
                count += n
                total += a * n if b == 0 else _line_sum(a, b, p0, p1, now)
                # A line is monotonic: its extremes are at the ends.
                high = max(v0, v1) if high is None else max(high, v0, v1)
                low = min(v0, v1) if low is None else min(low, v0, v1)
                if first is None:
                    first = (t0, v0)
                last = (t1, v1)
        return _Summary(count, total, high, low, first, last)

    def values(self, lo: int, hi: int, now: float) -> list[float | None]:
        """Each minute's value, lo to hi (L{None}: missing)."""
        out: list[float | None] = [None] * (hi - lo + 1)
        for m0, m1, a, b in self._runs(max(lo, self.start), hi):
            if a is not None:
                for minute in range(m0, m1 + 1):
                    out[minute - lo] = _line(a, b, _end(minute, now))
        return out


def _end(minute: int, now: float) -> float:
    """When a minute's gauge value is taken: its end, or now for the current minute."""
    return min(now, (minute + 1) * MINUTE)


def _line(a: float, b: float, t: float) -> float:
    if b == 0:
        return a
    # a + b t cancels (a is about -b t): keep the digits that mean something,
    # so that 3 retry intervals to the second is 3, not 3.0000000005.
    v = round(a + b * t, 6)
    return v if v > 0 else 0.0


def _line_sum(a: float, b: float, m0: int, m1: int, now: float) -> float:
    """The sum of C{max(0, a + b t)} over minutes m0..m1 (each at its end; none is the current one, or only m0 == m1)."""
    if m0 == m1:
        return _line(a, b, _end(m0, now))
    # The minutes where the line is positive: one run, at one end (it is monotonic).
    crossing = -a / b / MINUTE - 1  # the minute (fractional) at whose end a + b t = 0
    if b > 0:
        p0, p1 = max(m0, int(math.floor(crossing)) + 1), m1
    else:
        p0, p1 = m0, min(m1, int(math.ceil(crossing)) - 1)
    while p0 <= p1 and a + b * (p0 + 1) * MINUTE <= 0:
        p0 += 1
    while p0 <= p1 and a + b * (p1 + 1) * MINUTE <= 0:
        p1 -= 1
    if p0 > p1:
        return 0.0
    n = p1 - p0 + 1
    return n * a + b * MINUTE * (p0 + 1 + p1 + 1) * n / 2


def _statistic(kind: str, statistic: str, s: _Summary) -> float | None:
    if statistic == "count":
        return float(s.count)
    if s.count == 0:
        return None
    if statistic == "sum":
        return s.total
    if statistic == "max":
        return s.high
    if statistic == "min":
        return s.low
    if statistic == "mean":
        return s.total / s.count
    if statistic == "rate":
        if kind == "count":
            return s.total / s.seconds
        (t0, v0), (t1, v1) = s.first, s.last
        return None if t1 <= t0 else (v1 - v0) / (t1 - t0)
    raise ValueError(f"unknown statistic {statistic!r}")


#: What a count's statistic over part of the window says of the whole window's.
_COUNT_BOUNDS = {"count": LOWER_BOUND, "sum": LOWER_BOUND, "max": LOWER_BOUND, "min": UPPER_BOUND}


class History:
    """
    Every zone's series (see the module docstring).

    @ivar keep: minutes kept per series.
    """

    def __init__(self, keep: int = KEEP_MINUTES) -> None:
        self.keep = keep
        self._zones: dict[str, dict[str, CountSeries | GaugeSeries]] = {}

    def zones(self) -> list[str]:
        return list(self._zones)

    def watch(self, zone: str, when: float) -> None:
        """The zone is watched from C{when} on: its counts are 0 until events come."""
        series = self._zones.get(zone)
        if series is None:
            series = self._zones[zone] = {}
        minute = minute_of(when)
        for metric in COUNTS:
            if metric not in series:
                series[metric] = CountSeries(minute)

    def count(self, zone: str, metric: str, when: float, n: float = 1.0) -> None:
        """C{n} events of C{metric} (one of L{COUNTS}) at C{when}."""
        if metric not in COUNTS:
            raise ValueError(f"{metric} is not counted")
        self.watch(zone, when)
        self._zones[zone][metric].add(minute_of(when), n)

    def gauge(self, zone: str, metric: str, when: float, value: float | None, slope: float = 0.0) -> None:
        """
        C{metric} (one of L{GAUGES}) is C{value} at C{when}; with a
        C{slope}, it moves by that much per second from then on (never
        below 0).
        """
        self.line(zone, metric, when, None if value is None else float(value) - slope * when, slope)

    def line(self, zone: str, metric: str, when: float, a: float | None, b: float = 0.0) -> None:
        """
        C{metric} (one of L{GAUGES}) is C{max(0, a + b t)} from C{when}'s
        minute on (C{b} = 0: the constant C{a}; C{a} L{None}: no value).
        Giving the same line again adds nothing: a gauge that moves only
        by itself (the hours to a fixed expire time) costs one point.
        """
        if metric not in GAUGES:
            raise ValueError(f"{metric} is not a gauge")
        series = self._zones.setdefault(zone, {})
        minute = minute_of(when)
        gauge = series.get(metric)
        if gauge is None:
            gauge = series[metric] = GaugeSeries(minute)
        gauge.set(minute, None if a is None else float(a), float(b))

    def forget(self, zone: str) -> None:
        """A zone removed: its history goes."""
        self._zones.pop(zone, None)

    def trim(self, now: float) -> None:
        """Drop what is older than L{keep} minutes."""
        oldest = minute_of(now) - self.keep + 1
        for series in self._zones.values():
            for one in series.values():
                one.trim(oldest)

    def points(self) -> int:
        """How many changes are kept, in all (what memory grows with)."""
        return sum(len(one) for series in self._zones.values() for one in series.values())

    def statistic(self, zone: str, metric: str, statistic: str, interval: float, now: float) -> Statistic:
        """C{statistic} of C{metric} over the last C{interval} seconds (whole minutes) for C{zone}."""
        series = self._zones.get(zone, {}).get(metric)
        hi = minute_of(now)
        minutes = max(1, int(round(interval / MINUTE)))
        lo = hi - minutes + 1
        if series is None:
            return Statistic(0.0 if statistic == "count" else None, UNKNOWN)
        kind = "count" if isinstance(series, CountSeries) else "gauge"
        summary = series.summary(lo, hi, now)
        value = _statistic(kind, statistic, summary)
        if series.start <= lo and summary.count == minutes:
            return Statistic(value, EXACT)
        if kind == "count" and series.start <= lo:
            return Statistic(value, EXACT)
        if kind == "count":
            return Statistic(value, _COUNT_BOUNDS.get(statistic, UNKNOWN))
        return Statistic(value, UNKNOWN)

    def series(self, zone: str, metric: str, now: float, minutes: int = 1440) -> list[tuple[float, float | None]]:
        """
        The last C{minutes} minutes of C{metric} for C{zone}, oldest first:
        (the minute's start, its value or L{None} when missing).
        """
        one = self._zones.get(zone, {}).get(metric)
        hi = minute_of(now)
        minutes = max(1, min(int(minutes), self.keep))
        lo = hi - minutes + 1
        if one is None:
            values: list[float | None] = [None] * minutes
        elif isinstance(one, CountSeries):
            values = one.values(lo, hi)
        else:
            values = one.values(lo, hi, now)
        return [((lo + i) * MINUTE, value) for i, value in enumerate(values)]
