# -*- test-case-name: tests.unit.test_cli_output -*-
"""
What the CLI prints: pure functions from API responses to text.

JSON (the default) is the cloud CLI's document, C{{"data": ..., "etag":
...}} (with C{"opc-next-page"} when a list has more pages); field names
are the API's own.  C{--output table} is for people: a list as aligned
columns, one object as field/value lines, and zone status as one line a
zone, as C{knotc zone-status} does.

A field named C{secret} is never printed, whatever the server sends.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

__all__ = [
    "HIDDEN",
    "redact",
    "document",
    "to_json",
    "cell",
    "columns",
    "table",
    "fields_table",
    "status_rows",
    "STATUS_COLUMNS",
    "COLUMNS",
    "moment",
    "render",
    "alarm_status_rows",
    "sent_test_rows",
    "ALARM_STATUS_COLUMNS",
]

HIDDEN = "(hidden)"


def redact(value: Any) -> Any:
    """C{value} with every C{secret} field's value replaced."""
    if isinstance(value, dict):
        return {k: (HIDDEN if k.lower() == "secret" and v is not None else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def document(body: Any, headers: dict[str, str] | None = None) -> dict:
    """The cloud CLI's shape: C{data}, then C{etag}, C{opc-next-page}, C{opc-total-items} when the API sent them."""
    headers = headers or {}
    out: dict[str, Any] = {"data": redact(body)}
    for header in ("etag", "opc-next-page", "opc-total-items"):
        if headers.get(header):
            out[header] = headers[header]
    return out


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


# -- tables


def _parse_time(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _span(seconds: float) -> str:
    seconds = int(round(abs(seconds)))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    parts = []
    for name, size in units:
        if seconds >= size or (name == "s" and not parts):
            parts.append(f"{seconds // size}{name}")
            seconds %= size
        if len(parts) == 2:
            break
    return "".join(parts)


def moment(value: Any, now: float) -> str:
    """A time as people read it in a table: C{5m12s ago}, C{in 6d23h}; C{-} for never."""
    when = _parse_time(value)
    if when is None:
        return "-" if value is None else str(value)
    delta = when - now
    if abs(delta) < 1:
        return "now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(delta)} ago"


def cell(value: Any) -> str:
    """One value in one table cell."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value) or "-"
    if isinstance(value, dict):
        if "address" in value:  # a master, downstream or transfer server: BIND's address#port
            port = value.get("port")
            text = str(value["address"]) if port is None else f"{value['address']}#{port}"
            return f"{text} (TSIG)" if value.get("tsigKeyId") else text
        if set(value) == {"hostname"}:  # a nameserver
            return cell(value["hostname"])
        if "protocol" in value and "endpoint" in value:  # a subscription
            return f"{value['protocol']} {value['endpoint']}".strip()
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _clip(text: str, width: int | None) -> str:
    text = " ".join(text.split())
    if width is not None and len(text) > width:
        return text[: width - 1] + "…"
    return text


def table(rows: Sequence[Sequence[str]], titles: Sequence[str]) -> str:
    """Aligned columns under upper-case titles, two spaces apart; the last column is not padded."""
    grid = [list(titles)] + [list(row) for row in rows]
    widths = [max(len(line[i]) for line in grid) for i in range(len(titles))]
    lines = []
    for line in grid:
        padded = [text.ljust(width) for text, width in zip(line[:-1], widths[:-1])] + [line[-1]]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines) + "\n"


#: Columns for each kind of listed resource: (title, field).  Others get every scalar field.
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "zones": (("NAME", "name"), ("TYPE", "zoneType"), ("STATE", "lifecycleState"), ("SERIAL", "serial"),
              ("MASTERS", "externalMasters"), ("DOWNSTREAMS", "externalDownstreams"), ("DECLARED IN", "declaredIn")),
    "records": (("DOMAIN", "domain"), ("TTL", "ttl"), ("TYPE", "rtype"), ("RDATA", "rdata")),
    "tsigKeys": (("NAME", "name"), ("ALGORITHM", "algorithm"), ("STATE", "lifecycleState"), ("ZONES", "zones"),
                 ("DECLARED IN", "declaredIn")),
    "zoneTransferServers": (("ADDRESS", "address"), ("PORT", "port"), ("SOURCE", "isTransferSource"),
                            ("DESTINATION", "isTransferDestination")),
    "alarms": (("NAME", "displayName"), ("SEVERITY", "severity"), ("ENABLED", "isEnabled"), ("STATUS", "status"),
               ("FIRING", "firingZones"), ("QUERY", "query"), ("DECLARED IN", "declaredIn")),
    "topics": (("NAME", "name"), ("SUBSCRIPTIONS", "subscriptions"), ("ALARMS", "alarms"), ("DECLARED IN", "declaredIn")),
    "subscriptions": (("ID", "id"), ("PROTOCOL", "protocol"), ("ENDPOINT", "endpoint"), ("SECRET", "hasSecret")),
    "notifications": (("TIME", "time"), ("ALARM", "alarm"), ("ZONE", "zone"), ("STATE", "state"), ("SEVERITY", "severity"),
                      ("TITLE", "title")),
}


def columns(rows: Sequence[dict]) -> list[tuple[str, str]]:
    """Every field of the rows that is not a nested object, in the order first met."""
    seen: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if not isinstance(value, dict):
                seen.setdefault(key, None)
    return [(key, key) for key in seen]


def _list_table(rows: list, kind: str | None) -> str:
    if not rows:
        return ""
    if not all(isinstance(row, dict) for row in rows):
        return "".join(cell(row) + "\n" for row in rows)
    chosen = list(COLUMNS.get(kind or "", ())) or columns(rows)
    return table([[_clip(cell(row.get(field)), 80) for _, field in chosen] for row in rows], [t for t, _ in chosen])


def fields_table(value: dict) -> str:
    """One object as C{field  value} lines (nested objects as compact JSON)."""
    if not value:
        return ""
    return table([[key, _clip(cell(v), None)] for key, v in value.items()], ["FIELD", "VALUE"])


def clock(value: Any) -> str:
    """A time as a log line has it: C{2026-12-03 02:51:13} (UTC)."""
    when = _parse_time(value)
    if when is None:
        return cell(value)
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def event_rows(events: Iterable[dict]) -> str:
    """Events, as a log: time (UTC), zone, what, then the rest as C{field=value}."""
    rows = []
    for event in events:
        rest = dict(event)
        when = next((rest.pop(k) for k in ("time", "when", "timeCreated") if k in rest), None)
        zone = rest.pop("zone", None)
        what = next((rest.pop(k) for k in ("type", "event") if k in rest), None)
        detail = " ".join(f"{k}={cell(v)}" for k, v in rest.items() if v is not None)
        rows.append([clock(when), cell(zone), cell(what), _clip(detail, 120)])
    return table(rows, ["TIME (UTC)", "ZONE", "EVENT", "DETAIL"]) if rows else ""


# -- zone status, one line a zone

STATUS_COLUMNS = ("ZONE", "ROLE", "STATE", "SERIAL", "LAST TRANSFER", "NEXT", "EXPIRES", "LAST ERROR")


def _last_transfer(status: dict) -> Any:
    """A secondary: the last transfer applied; a primary: the last transfer served to a downstream."""
    if str(status.get("role", "")).lower() == "secondary":
        last = status.get("lastLoad") or {}
        if isinstance(last, dict) and last.get("ok"):
            return last.get("when")
        return status.get("lastRefresh") if not last else None
    times = []
    for downstream in status.get("downstreams") or []:
        transfer = (downstream or {}).get("lastTransfer") or {}
        when = _parse_time(transfer.get("when")) if isinstance(transfer, dict) else None
        if when is not None:
            times.append(when)
    return max(times) if times else None


def _next_event(value: Any, now: float) -> str:
    if isinstance(value, dict):
        what = value.get("what") or value.get("event") or value.get("type")
        when = value.get("when") or value.get("at") or value.get("time")
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        what, when = value
    else:
        return "-" if value is None else cell(value)
    return f"{what} {moment(when, now)}"


def _last_error(status: dict, now: float) -> str:
    reason = status.get("failureReason")
    when = status.get("lastFailure")
    if not reason:
        errors = [m for m in status.get("masters") or [] if isinstance(m, dict) and m.get("lastError")]
        if errors:
            latest = max(errors, key=lambda m: _parse_time(m.get("lastFailure")) or 0)
            reason, when = f"{cell(latest)}: {latest['lastError']}", latest.get("lastFailure")
    if not reason:
        return "-"
    return f"{moment(when, now)}: {reason}" if when is not None else str(reason)


def status_rows(statuses: Iterable[dict], now: float | None = None) -> str:
    """Zone status values (the API's camelCase) as one line a zone."""
    now = time.time() if now is None else now
    rows = []
    for status in statuses:
        secondary = str(status.get("role", "")).lower() == "secondary"
        rows.append(
            [
                cell(status.get("name")),
                cell(status.get("role")),
                cell(status.get("state")),
                cell(status.get("serial")),
                moment(_last_transfer(status), now),
                _next_event(status.get("nextEvent"), now),
                moment(status.get("expireAt"), now) if secondary else "-",
                _clip(_last_error(status, now), 100),
            ]
        )
    return table(rows, STATUS_COLUMNS)


ALARM_STATUS_COLUMNS = ("ALARM", "SEVERITY", "ZONE", "STATUS", "SINCE", "VALUE", "LAST NOTIFIED")


def alarm_status_rows(statuses: Iterable[dict], now: float | None = None) -> str:
    """Alarm status values (C{GET /alarms/{id}/status}) as one line a zone (one line for an alarm with none)."""
    now = time.time() if now is None else now
    rows = []
    for status in statuses:
        if not isinstance(status, dict):
            continue
        items = [item for item in status.get("items") or [] if isinstance(item, dict)]
        name, severity = cell(status.get("displayName")), cell(status.get("severity"))
        if not items:
            rows.append([name, severity, "-", cell(status.get("status")) if status.get("isEnabled", True) else "DISABLED", "-", "-", "-"])
        for item in items:
            rows.append([name, severity, cell(item.get("zone")), cell(item.get("status")), moment(item.get("timestamp"), now),
                         cell(item.get("value")), moment(item.get("lastNotified"), now)])
    return table(rows, ALARM_STATUS_COLUMNS) if rows else ""


def sent_test_rows(body: Any) -> str:
    """A topic's test notification: one line a subscription, how it went."""
    results = (body or {}).get("results", []) if isinstance(body, dict) else []
    rows = [[cell(r.get("subscription")), "delivered" if r.get("delivered") else "FAILED", _clip(cell(r.get("detail")), 100)]
            for r in results if isinstance(r, dict)]
    return table(rows, ["SUBSCRIPTION", "RESULT", "DETAIL"]) if rows else ""


def render(body: Any, headers: dict[str, str] | None, output: str, kind: str | None = None, now: float | None = None) -> str:
    """
    A response as the user asked: C{json}, or C{table} for C{kind} of
    resource (C{zones}, C{records}, C{tsigKeys}, C{zoneTransferServers},
    C{status}, C{events}, C{alarms}, C{alarmStatus}, C{topics},
    C{subscriptions}, C{notifications}, C{testResults}, or L{None}: guessed
    from the shape).
    """
    if output == "json":
        return to_json(document(body, headers))
    body = redact(body)
    now = time.time() if now is None else now
    if kind == "status":
        return status_rows(body if isinstance(body, list) else [body], now)
    if kind == "events":
        return event_rows(body if isinstance(body, list) else (body or {}).get("items", []))
    if kind == "alarmStatus":
        return alarm_status_rows(body if isinstance(body, list) else [body], now)
    if kind == "testResults":
        return sent_test_rows(body)
    if isinstance(body, dict) and isinstance(body.get("items"), list) and set(body) <= {"items", "etag"}:
        return _list_table(body["items"], kind or "records")
    if isinstance(body, list):
        return _list_table(body, kind)
    if isinstance(body, dict):
        return fields_table(body)
    return "" if body is None else cell(body) + "\n"
