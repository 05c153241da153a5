# -*- test-case-name: tests.unit.test_alarm_render -*-
"""
What a notification looks like to each kind of receiver, from a
L{Notification}: the email (L{email_message}), Slack's incoming-webhook
JSON (L{slack_payload}), the webhook JSON (L{webhook_payload}, documented
in docs/alarms.rst), a PagerDuty Events API v2 event (L{pagerduty_event})
and a stream file's JSON line (L{stream_line}).  Also the two messages
secdns makes itself: the summary of what was folded in a minute
(L{summary_notification}) and a topic's test message (L{notification_for_test}).

Each message has a C{kind}: C{alarm} (a state change or a repeat),
C{summary} or C{test}.  Pure: no I/O, times are arguments.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from datetime import datetime, timezone

from secdns.alarms.fold import Summary
from secdns.alarms.model import FIRING, OK, Notification

__all__ = [
    "KINDS", "WEBHOOK_VERSION", "timestamp", "subject", "email_text", "email_message", "slack_payload",
    "webhook_payload", "webhook_body", "json_bytes", "pagerduty_event", "stream_line", "summary_notification",
    "notification_for_test",
]

KINDS = ("alarm", "summary", "test")
#: The C{version} field of the webhook JSON; raised only when a field changes meaning or goes.
WEBHOOK_VERSION = 1

_PAGERDUTY_SEVERITY = {"CRITICAL": "critical", "ERROR": "error", "WARNING": "warning", "INFO": "info"}


def timestamp(when: float | None) -> str | None:
    """RFC 3339 in UTC, to the second: C{2024-06-01T12:00:00Z}."""
    if when is None:
        return None
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _human_time(when: float | None) -> str:
    if when is None:
        return "-"
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def _one_line(text: str) -> str:
    """C{text} safe for a header or a one-line field: control characters become spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _state_words(notification: Notification, kind: str) -> str:
    if kind == "test":
        return "TEST"
    if kind == "summary":
        return "FOLDED"
    if notification.state == OK:
        return "OK (cleared)"
    return "FIRING (still)" if notification.repeat else "FIRING"


def subject(notification: Notification, kind: str = "alarm") -> str:
    """One line with severity, alarm, zone and state: C{[secdns ERROR] transfer-failures FIRING for example.com}."""
    if kind == "alarm":
        line = (f"[secdns {notification.severity}] {notification.alarm} "
                f"{_state_words(notification, kind)} for {notification.zone}")
    else:
        line = f"[secdns {notification.severity}] {notification.title}"
    return _one_line(line)[:200]


def _fields(notification: Notification, topic: str) -> list[tuple[str, str]]:
    """The facts, as (label, value), in the order an operator reads them."""
    n = notification
    fields = [("Alarm", n.alarm), ("Zone", n.zone)]
    if n.state == FIRING and n.since is not None:
        fields.append(("State", f"{n.state} since {_human_time(n.since)}"))
    else:
        fields.append(("State", n.state))
    fields.append(("Severity", n.severity))
    if n.query:
        fields.append(("Rule", n.query))
    if n.metric:
        fields.append(("Value", f"{n.metric} = {_number(n.value)} (threshold {_number(n.threshold)})"))
    if n.serial is not None:
        fields.append(("Serial served", str(n.serial)))
    if n.expiration_hours is not None:
        fields.append(("Expires in", f"{n.expiration_hours:.1f} hours" if n.expiration_hours > 0 else "expired"))
    fields.append(("At", _human_time(n.when)))
    fields.append(("Topic", topic))
    fields.append(("Dedup key", n.dedup_key))
    return fields


def email_text(notification: Notification, topic: str, kind: str = "alarm") -> str:
    """The plain-text body of the email."""
    lines = [notification.title, ""]
    if notification.body:
        lines += [notification.body.rstrip(), ""]
    width = max(len(label) for label, _ in _fields(notification, topic)) + 1
    for label, value in _fields(notification, topic):
        lines.append(f"  {label + ':':<{width}} {value}")
    lines += ["", "-- ", f"secdns, topic {topic}" + ("" if kind == "alarm" else f" ({kind} message)")]
    return "\n".join(lines) + "\n"


def _thread_id(notification: Notification, domain: str) -> str:
    """The Message-ID of a firing's first message, which its repeats and clear refer to."""
    digest = hashlib.sha256(notification.dedup_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def email_message(notification: Notification, topic: str, sender: str, recipient: str,
                  kind: str = "alarm") -> bytes:
    """
    The whole email, headers and body, as sent over SMTP.  A firing's
    first message has a Message-ID made from its dedup key; repeats and
    the clear are replies to it, so mail readers thread them.
    """
    n = notification
    domain = sender.rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["From"] = formataddr(("secdns", sender))
    message["To"] = recipient
    message["Subject"] = subject(n, kind)
    message["Date"] = format_datetime(datetime.fromtimestamp(n.when, timezone.utc))
    thread = _thread_id(n, domain)
    if kind == "alarm" and n.state == FIRING and not n.repeat:
        message["Message-ID"] = thread
    else:
        stamp = hashlib.sha256(f"{n.dedup_key} {n.state} {n.when} {kind}".encode("utf-8")).hexdigest()[:32]
        message["Message-ID"] = f"<{stamp}@{domain}>"
        if kind == "alarm":
            message["In-Reply-To"] = thread
            message["References"] = thread
    message["X-Secdns-Kind"] = kind
    message["X-Secdns-Alarm"] = _one_line(n.alarm)
    message["X-Secdns-Zone"] = _one_line(n.zone)
    message["X-Secdns-State"] = n.state
    message["X-Secdns-Severity"] = n.severity
    message["X-Secdns-Dedup-Key"] = _one_line(n.dedup_key)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email_text(n, topic, kind))
    return message.as_bytes()


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(notification: Notification, topic: str, kind: str = "alarm") -> dict:
    """
    Slack's incoming-webhook message: C{text} (the notification line, and
    what clients without blocks show) and C{blocks} (header, what happened,
    the facts as fields, the rule and dedup key).
    """
    n = notification
    marker = ":white_check_mark:" if n.state == OK and kind == "alarm" else (
        ":information_source:" if kind != "alarm" else ":rotating_light:")
    line = subject(n, kind)
    text = f"{marker} {_slack_escape(line)}"
    described = _slack_escape(n.title) + (f"\n{_slack_escape(n.body.rstrip())}" if n.body else "")
    facts = [(label, value) for label, value in _fields(n, topic) if label not in ("Rule", "Dedup key", "Topic")]
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": line[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": described[:3000]}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*{label}*\n{_slack_escape(value)}"[:2000]} for label, value in facts[:10]
        ]},
    ]
    context = [f"topic {_slack_escape(topic)}", f"dedup key {_slack_escape(n.dedup_key)}"]
    if n.query:
        context.insert(0, f"`{_slack_escape(n.query)}`")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " \N{MIDDLE DOT} ".join(context)[:3000]}]})
    return {"text": text, "blocks": blocks}


def webhook_payload(notification: Notification, topic: str, kind: str = "alarm") -> dict:
    """The webhook's JSON object (docs/alarms.rst lists the fields)."""
    n = notification
    return {
        "version": WEBHOOK_VERSION,
        "kind": kind,
        "topic": topic,
        "alarm": n.alarm,
        "zone": n.zone,
        "state": n.state,
        "repeat": n.repeat,
        "severity": n.severity,
        "metric": n.metric,
        "query": n.query,
        "value": _finite(n.value),
        "threshold": _finite(n.threshold),
        "when": timestamp(n.when),
        "since": timestamp(n.since),
        "whenEpoch": n.when,
        "sinceEpoch": n.since,
        "dedupKey": n.dedup_key,
        "title": n.title,
        "body": n.body,
        "serial": n.serial,
        "expirationHours": _finite(n.expiration_hours),
    }


def _finite(value: float | None) -> float | None:
    """JSON has no NaN nor infinity: those are sent as null."""
    return value if value is None or math.isfinite(value) else None


def json_bytes(document: dict) -> bytes:
    """C{document} as compact UTF-8 JSON, as sent."""
    return json.dumps(document, separators=(",", ":"), sort_keys=False, ensure_ascii=False, allow_nan=False).encode("utf-8")


def webhook_body(notification: Notification, topic: str, kind: str = "alarm") -> bytes:
    """L{webhook_payload} as the bytes POSTed (and signed)."""
    return json_bytes(webhook_payload(notification, topic, kind))


def pagerduty_event(notification: Notification, topic: str, routing_key: str, kind: str = "alarm") -> dict:
    """
    A PagerDuty Events API v2 event: C{trigger} while firing, C{resolve}
    when cleared, with the notification's dedup key, so one firing is one
    incident.  A test message resolves a dedup key no incident has: it
    proves the routing key without paging anyone.
    """
    n = notification
    action = "trigger" if kind != "test" and n.state == FIRING else "resolve"
    key = n.dedup_key if kind != "test" else f"secdns-test-{topic}"
    event = {"routing_key": routing_key, "event_action": action, "dedup_key": key[:255]}
    if action == "trigger":
        event["payload"] = {
            "summary": subject(n, kind)[:1024],
            "source": n.zone or "secdns",
            "severity": _PAGERDUTY_SEVERITY.get(n.severity, "error"),
            "timestamp": timestamp(n.when),
            "component": n.zone,
            "group": n.alarm,
            "class": n.metric,
            "custom_details": webhook_payload(n, topic, kind),
        }
    return event


def stream_line(notification: Notification, topic: str, kind: str = "alarm", **extra) -> bytes:
    """One line of a stream file: the webhook's JSON (and C{extra} fields), newline-terminated."""
    document = webhook_payload(notification, topic, kind)
    document.update(extra)
    return json_bytes(document) + b"\n"


def summary_notification(summary: Summary, topic: str, subscription: str, stream_file: str) -> Notification:
    """The one message that stands for C{summary}'s folded messages."""
    start = time.strftime("%H:%M", time.gmtime(summary.start))
    cleared = summary.count - summary.firing
    alarms = ", ".join(f"{alarm} ({count})" for alarm, count in summary.alarms[:10])
    if len(summary.alarms) > 10:
        alarms += f", and {len(summary.alarms) - 10} more alarms"
    lines = [
        f"More than the limit of messages a minute were due to {subscription} in the minute "
        f"from {start} UTC: {summary.count} were folded into this summary "
        f"({summary.firing} firing, {cleared} cleared).",
        f"Alarms: {alarms}.",
        f"Every one of them is in the topic's stream file: {stream_file}",
        "",
        "The first of them:",
        *(f"  - {title}" for title in summary.examples),
    ]
    return Notification(
        alarm="(folded)",
        zone="*",
        state=FIRING if summary.firing else OK,
        severity=summary.severity,
        metric="",
        query="",
        value=float(summary.count),
        threshold=0.0,
        when=summary.end,
        since=summary.start,
        dedup_key=f"secdns-folded:{topic}:{int(summary.start)}",
        title=f"{summary.count} notifications folded in the minute from {start} UTC (topic {topic})",
        body="\n".join(lines),
    )


def notification_for_test(topic: str, now: float) -> Notification:
    """The test message a topic sends to each of its subscriptions."""
    return Notification(
        alarm="(test)",
        zone="*",
        state=OK,
        severity="INFO",
        metric="",
        query="",
        value=None,
        threshold=0.0,
        when=now,
        since=None,
        dedup_key=f"secdns-test:{topic}:{int(now)}",
        title=f"secdns test message for topic {topic}",
        body=(f"This is a test of the subscriptions of topic {topic}. "
              "If you read it, alarm notifications sent to this topic reach you this way."),
    )
