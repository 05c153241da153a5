"""
The alarm engine's minute on the reactor, for many zones: how long a pass
(sample every zone's status, evaluate every alarm) takes, how long the
zone core's C{zones()} takes to make the statuses, and how much the day of
history costs.

It runs the engine of secdns/ops/alarms/engine.py on a Clock, over a
real L{ZoneRegistry} of N secondary zones (scripted masters, a real
SQLite store in a temporary directory), with the two built-in alarms and
C{--alarms} more over every zone, and reports:

  - C{zones()}: the zone core making N statuses (what every pass and
    every /metrics scrape pays);
  - a quiet minute: every zone healthy;
  - every zone failing (one master down for all): the minute they all fire,
    with N notifications written in one store transaction and handed to
    the deliveries, then a quiet failing minute;
  - an hour of minutes: the history's points and the process's peak memory.

Times are printed, never judged.

    .venv/bin/python bench/alarm_bench.py --zones 10000 --failing-minutes 5

Last run (2-core VM, 10,000 zones, 5 alarms; the zone core took 5 minutes
to start them, its map being rebuilt at each zone added): zones() 285 ms;
a quiet minute's sweep 940 ms on the reactor in turns of at most 32 ms; 5
minutes of every zone failing 14.4 s in 447 passes, the longest 566 ms
with a full GC of 620 ms in it (250 zones a pass: about 90 ms without);
a failing minute's sweep 863 ms in turns of at most 29 ms.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import tempfile
import time
from pathlib import Path

import dns.name
import heapq
import itertools

from twisted.internet.base import DelayedCall

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from secdns import heap  # noqa: E402
from secdns.alarms.model import Alarm  # noqa: E402
from secdns.config import Config, PeerConfig, TimersConfig, ZoneConfig  # noqa: E402
from secdns.core.registry import ZoneRegistry  # noqa: E402
from secdns.ops.alarms.engine import AlarmEngine  # noqa: E402
from secdns.store.database import Store  # noqa: E402
from secdns.testing import FakeMasterClient, ScriptedMaster  # noqa: E402
from tests.unit.test_refresh import axfr  # noqa: E402


class HeapClock:
    """
    C{IReactorTime} for many timers: Twisted's C{Clock} sorts all its
    calls on each C{callLater}, which for ten thousand zones costs more
    than everything measured here.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list = []
        self._order = itertools.count()

    def seconds(self) -> float:
        return self.now

    def callLater(self, delay, f, *args, **kw):
        call = DelayedCall(self.now + delay, f, args, kw, lambda c: None, self._push, seconds=self.seconds)
        self._push(call)
        return call

    def _push(self, call) -> None:
        heapq.heappush(self._heap, (call.getTime(), next(self._order), call))

    def getDelayedCalls(self):
        return [call for _, _, call in self._heap if call.active()]

    def advance(self, amount: float) -> None:
        self.now += amount
        while self._heap and self._heap[0][0] <= self.now:
            when, _, call = heapq.heappop(self._heap)
            if call.cancelled or call.called or call.getTime() != when:
                continue  # cancelled, or moved (pushed again at its new time)
            call.called = 1
            call.func(*call.args, **call.kw)


class Deliveries:
    def __init__(self):
        self.count = 0

    def deliver(self, topic, notification):
        self.count += 1

    def send_test(self, topic):
        raise NotImplementedError

    def stop(self):
        return None


class GcPauses:
    """The longest garbage collection, by generation: a pass that includes one is that much longer."""

    def __init__(self) -> None:
        self.longest = [0.0, 0.0, 0.0]
        self._started = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase, info) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            generation = info["generation"]
            self.longest[generation] = max(self.longest[generation], time.perf_counter() - self._started)

    def text(self) -> str:
        pauses, self.longest = self.longest, [0.0, 0.0, 0.0]
        return "longest GC pause by generation: " + ", ".join(f"{p * 1000:.0f} ms" for p in pauses)


def timed(f, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--zones", type=int, default=10_000)
    parser.add_argument("--alarms", type=int, default=3, help="alarms of one's own over every zone, besides the built-ins")
    parser.add_argument("--failing-minutes", type=int, default=20, help="minutes every zone fails")
    args = parser.parse_args()
    n = args.zones
    clock = HeapClock()
    clock.advance(1_700_000_040)
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    names = [dns.name.from_text(f"z{i}.example.com") for i in range(n)]
    # The scripted zone's records say example.com: each zone is given them as they are (the bench needs SOA timers only).
    client = FakeMasterClient(clock, {"192.0.2.1": master})
    zones = tuple(ZoneConfig(name, "secondary", external_masters=(PeerConfig("192.0.2.1"),)) for name in names)
    alarms = tuple(
        Alarm(f"mine-{i}", metric, op, threshold, statistic=statistic, interval=interval, topics=("log",),
              declared_in="bench")
        for i, (metric, op, threshold, statistic, interval) in enumerate([
            ("ZoneTransferFailureCount", ">", 3.0, "sum", 3600.0),
            ("MasterUp", "<", 1.0, "max", 300.0),
            ("ZoneExpirationInHours", "<", 12.0, "min", 300.0),
        ][: args.alarms])
    )
    config = Config(source="bench", timers=TimersConfig(min_refresh=60, min_retry=60, min_expire=600), zones=zones, alarms=alarms)
    with tempfile.TemporaryDirectory() as directory:
        store = Store(str(Path(directory) / "secdns.sqlite"))
        registry = ZoneRegistry(config, store, clock, client)
        started = time.perf_counter()
        registry.start()
        clock.advance(0)
        for _ in range(20):
            clock.advance(1)
        print(f"{n} secondary zones loaded in {time.perf_counter() - started:.1f} s (scripted master, in-process)")
        heap.settle()  # as the service does once the zones are read
        print(f"zones(): {timed(registry.zones) * 1000:.0f} ms for {n} statuses")
        deliveries = Deliveries()
        engine = AlarmEngine(registry, store, clock, deliveries, config)
        engine.start()
        clock.advance(0)
        def sweep(what):
            zones, cpu, _ = engine.last_sweep
            print(
                f"{what}: {zones} zones, {cpu * 1000:.0f} ms on the reactor in all, "
                f"in turns of at most {engine.longest_pass[1] * 1000:.0f} ms ({engine.longest_pass[0]} zones)"
            )
            engine.longest_pass = (0, 0.0)

        sweep(f"first sweep ({len(engine.enabled())} alarms)")
        clock.advance(60 - clock.seconds() % 60)
        sweep("a quiet minute's sweep")
        pauses = GcPauses()
        master.down = True
        before, busy, passes = deliveries.count, engine.seconds, engine.passes
        for _ in range(args.failing_minutes * 60):  # retries every 60 s (+ jitter): each zone's failures, passes per event batch
            clock.advance(1)
        print(
            f"{args.failing_minutes} minutes of every zone failing: the engine {engine.seconds - busy:.2f} s on the reactor in "
            f"{engine.passes - passes} passes (longest {engine.longest_pass[1] * 1000:.0f} ms, {engine.longest_pass[0]} zones), "
            f"{deliveries.count - before} notifications; {pauses.text()}"
        )
        engine.longest_pass = (0, 0.0)
        clock.advance(60 - clock.seconds() % 60)
        sweep("a failing minute's sweep")
        for _ in range(60):
            clock.advance(60)
        print(f"an hour later: {engine.history.points()} history points for {n} zones (a day keeps at most 24 times as many)")
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        engine.stop()
        registry.stop()


if __name__ == "__main__":
    main()
