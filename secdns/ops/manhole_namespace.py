# -*- test-case-name: tests.unit.test_manhole -*-
"""
What an operator finds in the manhole (L{secdns.ops.manhole}): the zone
core, the reactor, and small functions for inspection and the common
actions, each with a docstring so C{help(name)} says what it does.

Results are values whose C{repr} is the readable text (the console prints
a result's C{repr}), and which keep the raw values beside it: C{zones()}
is a table and C{zones().rows} the L{ZoneStatus} values.  The actions
(C{refresh}, C{retransfer}, C{notify}) return Deferreds that fire with the
outcome when the work ends; the console prints it when it arrives, and
the prompt stays usable meanwhile.

The text is made by pure functions (L{zone_table}, L{zone_report},
L{event_lines}, L{metric_lines}, L{key_table}); L{Console} asks the
service for what is true now, at each call, so a SIGHUP or a change made
through the API shows at once.  No secret reaches any text here: the
key values carry none (L{KeyStatus}), and the config's secrets are kept
out of their reprs.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

import attrs
from twisted.internet import defer, task

from secdns.errors import SecdnsError
from secdns.ops.eventlog import describe
from secdns.zones.events import (
    RefreshRecovered, ReloadFailed, TransferFailed, TransferSucceeded, ZoneEvent, ZoneUnexpired,
)
from secdns.zones.status import KeyStatus, ZoneStatus, health

__all__ = [
    "Console", "Text", "ZoneTable", "ZoneReport", "EventList", "Metrics", "KeyTable",
    "zone_table", "zone_report", "event_lines", "metric_lines", "key_table", "namespace",
]

#: How long an action's Deferred waits for its outcome before saying it has none yet.
ACTION_TIMEOUT = 300.0
#: How often an action looks at the zone's status for an outcome no event announces.
POLL_INTERVAL = 0.2


class Text:
    """A result printed as its text (its C{repr}), not as a quoted string."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and other.text == self.text

    __hash__ = None  # type: ignore[assignment]


class ZoneTable(Text):
    """C{zones()}: the table; C{.rows} holds each zone's L{ZoneStatus}."""

    def __init__(self, rows: list[ZoneStatus], text: str) -> None:
        super().__init__(text)
        self.rows = rows


class ZoneReport(Text):
    """C{zone(name)}: the zone's whole status, one field a line; C{.status} is the value."""

    def __init__(self, status: ZoneStatus, text: str) -> None:
        super().__init__(text)
        self.status = status


class EventList(Text):
    """C{events()}: one line per event, as the log words it; C{.events} holds the values."""

    def __init__(self, events: list[ZoneEvent], text: str) -> None:
        super().__init__(text)
        self.events = events


class Metrics(Text):
    """C{metrics()}: the figures grouped by metric; C{.samples} maps (name, labels) to values."""

    def __init__(self, samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], text: str) -> None:
        super().__init__(text)
        self.samples = samples


class KeyTable(Text):
    """C{keys()}: names, algorithms, where declared and the zones using each; never a secret."""

    def __init__(self, rows: list[KeyStatus], text: str) -> None:
        super().__init__(text)
        self.rows = rows


# -- the pure part: values in, text out


def moment(when: float | None) -> str:
    """A wall-clock time as the log writes it; C{never} for L{None}."""
    if when is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def age(when: float | None, now: float) -> str:
    """How long ago, shortly: C{12s ago}, C{5m ago}, C{3h ago}, C{2d ago}; C{-} for never."""
    if when is None:
        return "-"
    seconds = max(0.0, now - when)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _columns(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Left-aligned columns, two spaces apart, the last one unpadded."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _expiry(status: ZoneStatus, now: float) -> str:
    if status.state == "expired":
        return "expired"
    if status.expire_at is None:
        return "-"
    return f"{max(0.0, status.expire_at - now) / 3600:.1f}"


def zone_table(statuses: Iterable[ZoneStatus], now: float, last_transfers: dict[str, float] | None = None) -> str:
    """
    One row per zone: name, type, health (L{secdns.zones.status.health}:
    the word the API and the web console say), serial, records, last transfer
    (from C{last_transfers}, by zone name), hours to expiry, last error.
    """
    last_transfers = last_transfers or {}
    rows = [
        (
            status.name,
            status.role,
            health(status),
            "-" if status.serial is None else str(status.serial),
            "-" if status.records is None else str(status.records),
            age(last_transfers.get(status.name), now),
            _expiry(status, now),
            "-" if not status.failure_reason else _shorten(status.failure_reason, 60),
        )
        for status in statuses
    ]
    if not rows:
        return "no zones"
    header = ("zone", "type", "health", "serial", "records", "last transfer", "expiry (h)", "last error")
    return _columns(header, rows)


_TIMES = ("last_failure", "expire_at", "last_refresh", "created", "last_success")


def _value(name: str, value: Any, now: float) -> str:
    if value is None:
        return "never" if name in _TIMES else "-"
    if name in _TIMES and isinstance(value, (int, float)):
        return f"{moment(value)} ({age(value, now) if value <= now else 'in ' + _until(value, now)})"
    if name in ("refresh_interval", "retry_interval"):
        return f"{value:g} s"
    if name == "next_event":
        what, when = value
        return f"{what} at {moment(when)} (in {_until(when, now)})"
    if attrs.has(type(value)) and hasattr(value, "ok"):  # an Outcome
        how = "ok" if value.ok else f"failed: {value.detail}"
        detail = f" ({value.detail})" if value.ok and value.detail else ""
        return f"{moment(value.when)} ({age(value.when, now)}), {how}{detail}"
    return str(value)


def _until(when: float, now: float) -> str:
    seconds = max(0.0, when - now)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{int(seconds)}s"


def zone_report(status: ZoneStatus, now: float) -> str:
    """Every field of a zone's status, one a line; masters and downstreams one a line each."""
    lines = [f"zone {status.name}"]
    for field in attrs.fields(ZoneStatus):
        if field.name == "name":
            continue
        value = getattr(status, field.name)
        label = field.name.replace("_", " ")
        if field.name == "masters":
            lines.append(f"  masters:{'' if value else ' none'}")
            for master in value:
                reach = {None: "never tried", True: "reachable", False: "unreachable"}[master.reachable]
                lines.append(
                    f"    {master}  {reach}, serial {_value('', master.last_serial, now)}, "
                    f"last success {_value('last_success', master.last_success, now)}, "
                    f"last failure {_value('last_failure', master.last_failure, now)}"
                    + (f": {master.last_error}" if master.last_error else "")
                )
            continue
        if field.name == "downstreams":
            lines.append(f"  downstreams:{'' if value else ' none'}")
            for downstream in value:
                lines.append(
                    f"    {downstream}  last NOTIFY {_value('outcome', downstream.last_notify, now)}, "
                    f"last transfer {_value('outcome', downstream.last_transfer, now)}"
                )
            continue
        lines.append(f"  {label + ':':<19}{_value(field.name, value, now)}")
    return "\n".join(lines)


def event_lines(events: Iterable[ZoneEvent]) -> str:
    """Each event as its log line, with its time and level."""
    lines = []
    for event in events:
        level, words = describe(event)
        lines.append(f"{moment(event.when)}  {level.name:<5}  {words}")
    return "\n".join(lines) if lines else "no zone events yet"


def _number(value: float, name: str = "") -> str:
    """A sample's value in full (Python's shortest form); a Unix time also as a date."""
    value = float(value)
    text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if name.endswith("_timestamp_seconds") and value > 0:
        text += f"  ({moment(value)})"
    return text


def metric_lines(families: Iterable[Any], match: str = "") -> tuple[str, dict]:
    """
    The figures of Prometheus metric families (a registry's C{collect()}),
    grouped by metric: its name, type and help, then one line per sample
    (labels, value).  Counters' C{_created} samples are left out.  Only
    metrics whose name holds C{match}, when given.

    @return: the text, and the samples by (name, sorted labels).
    """
    blocks = []
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in families:
        if match and match not in family.name:
            continue
        rows = []
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = tuple(sorted(sample.labels.items()))
            samples[(sample.name, labels)] = sample.value
            shown = ", ".join(f'{key}="{value}"' for key, value in labels)
            suffix = sample.name[len(family.name):]
            rows.append((f"{suffix}{{{shown}}}" if shown or suffix else "", _number(sample.value, sample.name)))
        head = f"{family.name} ({family.type}): {family.documentation}"
        if not rows:
            blocks.append(f"{head}\n    (no samples)")
            continue
        width = max(len(label) for label, _ in rows)
        body = "\n".join(f"    {label.ljust(width)}  {value}".rstrip() if label else f"    {value}" for label, value in rows)
        blocks.append(f"{head}\n{body}")
    if not blocks:
        return (f'no metric name holds "{match}"' if match else "no metrics"), samples
    return "\n".join(blocks), samples


def key_table(statuses: Iterable[KeyStatus]) -> str:
    """One row per TSIG key: name, algorithm, where declared, the zones using it."""
    rows = [
        (key.name, key.algorithm, key.declared_in or "API", ", ".join(key.zones) or "-")
        for key in statuses
    ]
    if not rows:
        return "no TSIG keys"
    return _columns(("key", "algorithm", "declared in", "zones"), rows)


def last_transfers(events: Iterable[ZoneEvent]) -> dict[str, float]:
    """When each zone's last transfer in was applied, from the recent events."""
    found: dict[str, float] = {}
    for event in events:
        if isinstance(event, TransferSucceeded):
            found[event.zone] = max(found.get(event.zone, event.when), event.when)
    return found


def outcome_of(event: ZoneEvent) -> str:
    """The words of an action's outcome: its event's log line."""
    return describe(event)[1]


# -- the console's functions, over the running service


class Console:
    """
    The functions of the manhole's namespace, asking C{service} (a
    L{secdns.service.SecdnsService}) at each call.
    """

    def __init__(self, service, reactor=None) -> None:
        self.service = service
        self.reactor = reactor or service.reactor

    @property
    def registry(self):
        registry = self.service.registry
        if registry is None:
            raise RuntimeError("secdns has not started its zone core yet")
        return registry

    def _now(self) -> float:
        return self.reactor.seconds()

    def zones(self, match: str = "") -> ZoneTable:
        """
        Every zone in a table (or those whose name holds match): name,
        type, health, serial, records, last transfer in (since start),
        hours to expiry, last error.  zones().rows are the ZoneStatus values.
        """
        registry = self.registry
        rows = [status for status in registry.zones() if match.lower() in status.name.lower()]
        return ZoneTable(rows, zone_table(rows, self._now(), last_transfers(registry.history.recent())))

    def zone(self, name: str) -> ZoneReport:
        """
        One zone's whole status (serial, state, timers, masters, downstreams,
        last failure...), one field a line.  zone("x").status is the
        ZoneStatus value.
        """
        try:
            status = self.registry.status(name)
        except SecdnsError as e:
            return Text(f"zone: {e}")
        return ZoneReport(status, zone_report(status, self._now()))

    def refresh(self, name: str):
        """
        Have a secondary zone ask its masters now.  Returns a Deferred: the
        console prints the outcome (the transfer, the failure, or that the
        serial is current) when it arrives.
        """
        return self._act(name, "refresh", self.registry.refresh)

    def retransfer(self, name: str):
        """
        Have a secondary zone transfer itself whole (AXFR) now, whatever the
        serials say.  Returns a Deferred that fires with the outcome.
        """
        return self._act(name, "retransfer", self.registry.retransfer)

    def notify(self, name: str):
        """
        NOTIFY a zone's downstreams of its current serial now.  Returns a
        Deferred that fires with each downstream's answer.
        """
        registry = self.registry
        start = self._now()
        try:
            count = registry.notify(name)
        except SecdnsError as e:
            return Text(f"notify: {e}")
        if not count:
            return Text(f"notify: zone {name} has no downstreams to notify (or no data yet): nothing sent")
        return self._wait(name, lambda status: _notify_outcome(status, start), notify=True)

    def reload(self) -> Text:
        """Read the config file again and put it in force, as SIGHUP does; says whether it was taken."""
        registry = self.service.registry
        failed: list[ReloadFailed] = []
        stop_hearing = None if registry is None else registry.bus.subscribe(
            lambda event: failed.append(event) if isinstance(event, ReloadFailed) else None
        )
        try:
            taken = self.service.reload()
        finally:
            if stop_hearing is not None:
                stop_hearing()
        source = self.service.config.source
        if taken:
            return Text(f"reloaded {source}: config taken; zone files are read in the background (see events())")
        reason = failed[-1].reason if failed else "see the log"
        return Text(f"reload of {source} refused, the old config stays in force: {reason}")

    def events(self, n: int = 20, zone: str | None = None) -> EventList:
        """The last n zone events (of one zone, if named), as the log words them."""
        chosen = self.registry.history.recent(zone, limit=n)
        return EventList(chosen, event_lines(chosen))

    def metrics(self, match: str = "") -> Metrics:
        """The current figures of /metrics, grouped by metric; only those whose name holds match."""
        text, samples = metric_lines(self.service.metrics.collect(), match)
        return Metrics(samples, text)

    def keys(self) -> KeyTable:
        """The TSIG keys: name, algorithm, where declared, the zones using each.  Never a secret."""
        rows = self.registry.keys()
        return KeyTable(rows, key_table(rows))

    # -- waiting for an action's outcome

    def _act(self, name: str, what: str, action):
        try:
            before = self.registry.status(name).last_refresh
            action(name)
        except SecdnsError as e:
            return Text(f"{what}: {e}")
        return self._wait(name, lambda status: _current(status, before))

    def _wait(self, name: str, from_status, notify: bool = False) -> defer.Deferred:
        """
        The outcome: the zone's next event that ends the work, or what its
        status says once the work ended without one; after
        L{ACTION_TIMEOUT} seconds, that there is none yet.
        """
        registry = self.registry
        label = registry.status(name).name
        done = defer.Deferred()
        # A NOTIFY's answers are in the status; a refresh's end is an event (or, when current, the status).
        kinds = () if notify else (TransferSucceeded, TransferFailed, RefreshRecovered, ZoneUnexpired)

        def finish(text: str) -> None:
            if done.called:
                return
            unsubscribe()
            if poll.running:
                poll.stop()
            if timeout.active():
                timeout.cancel()
            done.callback(Text(text))

        def heard(event: ZoneEvent) -> None:
            if event.zone == label and isinstance(event, kinds):
                finish(outcome_of(event))

        def look() -> None:
            try:
                status = registry.status(label)
            except SecdnsError as e:
                finish(f"zone {label}: {e}")
                return
            text = from_status(status)
            if text is not None:
                finish(text)

        unsubscribe = registry.bus.subscribe(heard)
        poll = task.LoopingCall(look)
        poll.clock = self.reactor
        timeout = self.reactor.callLater(
            ACTION_TIMEOUT, lambda: finish(f"zone {label}: no outcome after {ACTION_TIMEOUT:g} s; see events() and zone()")
        )
        poll.start(POLL_INTERVAL, now=False)
        return done


def _current(status: ZoneStatus, before: float | None) -> str | None:
    """
    A refresh that ended with no transfer (the serial is current): no
    event says so, the status does (its last successful refresh moved).
    """
    if status.state != "refreshing" and status.last_refresh is not None and status.last_refresh != before:
        return f"zone {status.name}: serial {status.serial} is current at its masters (no transfer needed)"
    return None


def _notify_outcome(status: ZoneStatus, start: float) -> str | None:
    """Each downstream's answer, once every one has answered (or failed) since C{start}."""
    outcomes = [d.last_notify for d in status.downstreams]
    if not outcomes or any(o is None or o.when < start for o in outcomes):
        return None
    lines = [f"zone {status.name}: NOTIFY of serial {status.serial}"]
    for downstream, outcome in zip(status.downstreams, outcomes):
        how = "answered" if outcome.ok else f"failed: {outcome.detail}"
        lines.append(f"  {downstream}: {how}")
    return "\n".join(lines)


def namespace(service, reactor=None) -> dict[str, Any]:
    """The manhole's names, made at each login from the service as it is then."""
    console = Console(service, reactor)
    names: dict[str, Any] = {
        name: getattr(console, name)
        for name in ("zones", "zone", "refresh", "retransfer", "notify", "reload", "events", "metrics", "keys")
    }
    names["core"] = service.registry
    names["reactor"] = console.reactor
    names["service"] = service
    return names
