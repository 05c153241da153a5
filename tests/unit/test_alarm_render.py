"""secdns.alarms.render: the email, Slack JSON, webhook JSON, PagerDuty event and stream line of a notification."""

from __future__ import annotations

import email
import email.policy
import json

import attrs

from secdns.alarms import render
from secdns.alarms.fold import Summary
from secdns.alarms.model import FIRING, OK, Notification

WHEN = 1_717_243_200.0  # 2024-06-01T12:00:00Z

FIRED = Notification(
    alarm="transfer-failures",
    zone="example.com",
    state=FIRING,
    severity="ERROR",
    metric="ZoneTransferFailureCount",
    query='ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3',
    value=5.0,
    threshold=3.0,
    when=WHEN,
    since=WHEN - 600,
    dedup_key="transfer-failures/example.com/1717242600",
    title="example.com: 5 refresh attempts failed in the last hour",
    body="last: 192.0.2.1#53 answered BADSIG: our MAC does not verify\nCheck the TSIG key on both sides.",
    serial=2024060101,
    expiration_hours=36.5,
)
CLEARED = attrs.evolve(FIRED, state=OK, when=WHEN + 1200, title="example.com: refreshes succeed again")


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_email_subject_says_severity_alarm_zone_and_state():
    """The subject line names severity, alarm, zone and state, for a firing, a repeat and a clear."""
    assert render.subject(FIRED) == "[secdns ERROR] transfer-failures FIRING for example.com"
    assert render.subject(attrs.evolve(FIRED, repeat=True)) == \
        "[secdns ERROR] transfer-failures FIRING (still) for example.com"
    assert render.subject(CLEARED) == "[secdns ERROR] transfer-failures OK (cleared) for example.com"


def test_email_is_a_plain_text_message_with_what_an_operator_needs():
    """The email parses, is text/plain UTF-8, and its body has what happened, since when, serial, expiry and the rule."""
    message = parse(render.email_message(FIRED, "ops", "secdns@example.net", "dns@example.com"))
    assert message["From"] == "secdns <secdns@example.net>"
    assert message["To"] == "dns@example.com"
    assert message["Subject"] == "[secdns ERROR] transfer-failures FIRING for example.com"
    assert message["Date"] == "Sat, 01 Jun 2024 12:00:00 +0000"
    assert message["X-Secdns-Dedup-Key"] == FIRED.dedup_key
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    for text in ["5 refresh attempts failed in the last hour", "BADSIG: our MAC does not verify",
                 "Check the TSIG key", "FIRING since 2024-06-01 11:50:00 UTC", "Serial served: 2024060101",
                 "Expires in:    36.5 hours", FIRED.query, "ZoneTransferFailureCount = 5 (threshold 3)",
                 "Topic:         ops"]:
        assert text in body


def test_a_clear_is_a_reply_to_its_firing():
    """Mail readers thread a firing, its repeats and its clear: the clear's In-Reply-To is the firing's Message-ID."""
    fired = parse(render.email_message(FIRED, "ops", "secdns@example.net", "dns@example.com"))
    cleared = parse(render.email_message(CLEARED, "ops", "secdns@example.net", "dns@example.com"))
    assert cleared["In-Reply-To"] == fired["Message-ID"] == cleared["References"]
    assert cleared["Message-ID"] != fired["Message-ID"]


def test_headers_cannot_be_injected():
    """A newline in an alarm's name or zone does not make a header."""
    evil = attrs.evolve(FIRED, alarm="x\r\nBcc: victim@example.org", zone="a\nb")
    message = parse(render.email_message(evil, "ops", "secdns@example.net", "dns@example.com"))
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]


def test_slack_payload_shape():
    """Slack's incoming-webhook JSON: a text line, and blocks within Slack's limits, with <, > and & escaped."""
    payload = render.slack_payload(attrs.evolve(FIRED, title="a <b> & c"), "ops")
    json.dumps(payload)
    assert payload["text"].startswith(":rotating_light: [secdns ERROR] transfer-failures FIRING for example.com")
    header, section, fields, context = payload["blocks"]
    assert header["type"] == "header" and len(header["text"]["text"]) <= 150
    assert section["text"]["type"] == "mrkdwn" and section["text"]["text"].startswith("a &lt;b&gt; &amp; c")
    assert len(fields["fields"]) <= 10
    assert {"*Zone*\nexample.com", "*Severity*\nERROR"} <= {f["text"] for f in fields["fields"]}
    assert FIRED.dedup_key in context["elements"][0]["text"]
    assert render.slack_payload(CLEARED, "ops")["text"].startswith(":white_check_mark:")


def test_webhook_payload_fields():
    """The webhook JSON has exactly the fields docs/alarms.rst documents, times as RFC 3339 and epoch."""
    payload = render.webhook_payload(FIRED, "ops")
    assert payload == {
        "version": 1, "kind": "alarm", "topic": "ops", "alarm": "transfer-failures", "zone": "example.com",
        "state": "FIRING", "repeat": False, "severity": "ERROR", "metric": "ZoneTransferFailureCount",
        "query": FIRED.query, "value": 5.0, "threshold": 3.0,
        "when": "2024-06-01T12:00:00Z", "since": "2024-06-01T11:50:00Z", "whenEpoch": WHEN, "sinceEpoch": WHEN - 600,
        "dedupKey": FIRED.dedup_key, "title": FIRED.title, "body": FIRED.body,
        "serial": 2024060101, "expirationHours": 36.5,
    }
    assert json.loads(render.webhook_body(FIRED, "ops")) == payload


def test_webhook_json_is_strict():
    """A value with no JSON form (NaN) is sent as null, not as invalid JSON."""
    body = render.webhook_body(attrs.evolve(FIRED, value=float("nan"), since=None), "ops")
    document = json.loads(body)
    assert document["value"] is None and document["since"] is None


def test_pagerduty_events():
    """A firing triggers and a clear resolves the same dedup key; a test resolves a key no incident has."""
    trigger = render.pagerduty_event(FIRED, "ops", "R0UTING")
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == FIRED.dedup_key
    assert trigger["routing_key"] == "R0UTING"
    assert trigger["payload"]["severity"] == "error" and trigger["payload"]["source"] == "example.com"
    assert trigger["payload"]["timestamp"] == "2024-06-01T12:00:00Z"
    resolve = render.pagerduty_event(CLEARED, "ops", "R0UTING")
    assert resolve == {"routing_key": "R0UTING", "event_action": "resolve", "dedup_key": FIRED.dedup_key}
    test = render.pagerduty_event(render.notification_for_test("ops", WHEN), "ops", "R0UTING", kind="test")
    assert test["event_action"] == "resolve" and test["dedup_key"] == "secdns-test-ops"


def test_stream_line_is_one_json_line():
    line = render.stream_line(FIRED, "ops", folded=["email ops@example.com"])
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line)["folded"] == ["email ops@example.com"]


def test_summary_says_how_many_were_folded_and_where_they_are():
    """The minute's summary counts what was folded, names the alarms, and points at the stream file."""
    summary = Summary(key=("ops", None), start=WHEN, end=WHEN + 60, count=140, firing=100, severity="CRITICAL",
                      alarms=(("transfer-failures", 120), ("expiry", 20)), examples=("t1", "t2"))
    n = render.summary_notification(summary, "ops", "email ops@example.com", "/var/lib/secdns/streams/ops.jsonl")
    assert n.state == FIRING and n.severity == "CRITICAL"
    assert n.title == "140 notifications folded in the minute from 12:00 UTC (topic ops)"
    for text in ["100 firing, 40 cleared", "transfer-failures (120), expiry (20)",
                 "/var/lib/secdns/streams/ops.jsonl", "  - t1"]:
        assert text in n.body
    assert render.subject(n, "summary") == f"[secdns CRITICAL] {n.title}"
    assert render.webhook_payload(n, "ops", "summary")["kind"] == "summary"


def test_test_message():
    n = render.notification_for_test("ops", WHEN)
    assert render.subject(n, "test") == "[secdns INFO] secdns test message for topic ops"
    assert "test" in parse(render.email_message(n, "ops", "s@x.org", "r@x.org", "test"))["X-Secdns-Kind"]
