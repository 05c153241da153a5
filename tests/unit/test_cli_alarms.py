"""
C{secdns alarm ...}, C{secdns topic ...} and C{secdns notifications}
without the appliance: each command's request from its arguments, the
usage errors, and the tables.
"""

from __future__ import annotations

import io

import pytest

from secdns.cli import output
from secdns.cli.alarm_commands import iso_duration, query_text
from secdns.cli.client import Request
from secdns.cli.commands import CONFIRM_DELETE, UsageError, parser, plan
from secdns.cli.main import EXIT_USAGE, run

FAILURES = 'ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3'


def plan_of(*argv: str):
    return plan(parser().parse_args(list(argv)))


def request_of(*argv: str) -> Request:
    return plan_of(*argv).request


def usage_error(*argv: str) -> str:
    with pytest.raises(UsageError) as caught:
        plan_of(*argv)
    return str(caught.value)


# -- alarms


def test_alarm_create_as_the_seeds_describe_it():
    """The seeds' example in parts: failures of a zone greater than N during the interval, sent to a topic."""
    r = request_of("alarm", "create", "--name", "transfers-failing", "--metric", "ZoneTransferFailureCount",
                   "--zones", "example.com", "--statistic", "sum", "--interval", "1h", "--operator", "gt", "--threshold", "3",
                   "--severity", "critical", "--destinations", "ops, ocid1.onstopic.secdns..abc", "--pending", "5m",
                   "--repeat", "1d", "--no-notify-on-clear", "--body", "check the primary")
    assert (r.method, r.path) == ("POST", "/alarms")
    assert r.body == {
        "displayName": "transfers-failing", "query": FAILURES, "severity": "CRITICAL",
        "destinations": ["ops", "ocid1.onstopic.secdns..abc"], "pendingDuration": "PT5M",
        "repeatNotificationDuration": "P1D", "notifyOnClear": False, "body": "check the primary",
    }


def test_alarm_create_with_a_query_and_defaults():
    """--query is sent as it is; what is left out is left to the API's defaults."""
    r = request_of("alarm", "create", "--name", "a", "--query", FAILURES)
    assert r.body == {"displayName": "a", "query": FAILURES}
    assert request_of("alarm", "create", "--name", "a", "--query", FAILURES, "--disabled").body["isEnabled"] is False
    assert request_of("alarm", "create", "--name", "a", "--query", FAILURES, "--notify-on-clear").body["notifyOnClear"] is True


@pytest.mark.parametrize("parts, query", [
    (("--metric", "ZoneExpirationInHours", "--operator", "<=", "--threshold", "24", "--statistic", "min", "--interval", "5m"),
     "ZoneExpirationInHours[5m].min() <= 24"),
    (("--metric", "MasterUp", "--zones", "*.example.com", "--operator", "lt", "--threshold", "0.5"),
     'MasterUp[1h]{resourceName =~ "*.example.com"}.sum() < 0.5'),
    (("--metric", "ZoneTransferSuccessCount", "--zones", "*", "--statistic", "count", "--interval", "1d", "--operator", "eq", "--threshold", "0"),
     "ZoneTransferSuccessCount[1d].count() == 0"),
    (("--metric", "ZoneSerial", "--zones", "example.org.", "--operator", "ne", "--threshold", "7"),
     'ZoneSerial[1h]{resourceName = "example.org"}.sum() != 7'),
])
def test_rules_in_parts_become_queries(parts, query):
    """--metric, --zones, --statistic, --interval, --operator and --threshold are written as the seeds' query."""
    assert request_of("alarm", "create", "--name", "a", *parts).body["query"] == query


@pytest.mark.parametrize("argv, start", [
    (("alarm", "create", "--name", "a"), "give the rule"),
    (("alarm", "create", "--name", "a", "--query", FAILURES, "--metric", "ZoneSerial"), "give --query, or --metric"),
    (("alarm", "create", "--name", "a", "--metric", "ZoneSerial", "--threshold", "1"), "--metric, --operator and --threshold go together"),
    (("alarm", "create", "--name", "a", "--query", FAILURES, "--pending", "five minutes"), "--pending: 'five minutes' is not a duration"),
    (("alarm", "create", "--name", "a", "--metric", "ZoneSerial", "--operator", ">", "--threshold", "1", "--interval", "hour"), "--interval: 'hour' is not an interval"),
    (("alarm", "update", "a"), "nothing to change"),
])
def test_alarm_usage_errors(argv, start):
    """Arguments that make no alarm are usage errors that say what is missing."""
    assert usage_error(*argv).startswith(start)


def test_bad_operator_and_threshold_are_argparse_errors():
    """An unknown operator or a threshold that is not a number is refused by the parser (exit 2)."""
    for argv in (["--operator", "bigger", "--threshold", "1"], ["--operator", ">", "--threshold", "nan"]):
        stderr = io.StringIO()
        assert run(["alarm", "create", "--name", "a", "--metric", "ZoneSerial", *argv], io.StringIO(), io.StringIO(), stderr, {}) == EXIT_USAGE


def test_alarm_update_get_delete_status_list():
    """update sends only what is given; delete asks first; status without a name asks every alarm's."""
    r = request_of("alarm", "update", "failures", "--severity", "info", "--repeat", "none", "--enabled", "--if-match", '"e"')
    assert (r.method, r.path, r.headers) == ("PUT", "/alarms/failures", (("If-Match", '"e"'),))
    assert r.body == {"severity": "INFO", "repeatNotificationDuration": None, "isEnabled": True}
    assert request_of("alarm", "get", "ocid1.alarm.secdns..x").path == "/alarms/ocid1.alarm.secdns..x"
    p = plan_of("alarm", "delete", "failures")
    assert (p.request.method, p.request.path, p.confirm) == ("DELETE", "/alarms/failures", CONFIRM_DELETE)
    assert plan_of("alarm", "delete", "failures", "--force").confirm is None
    p = plan_of("alarm", "status", "failures")
    assert (p.request.path, p.kind, p.output) == ("/alarms/failures/status", "alarmStatus", "table")
    p = plan_of("alarm", "status")
    assert (p.request.path, p.each_status, p.each, p.paginate) == ("/alarms", True, "alarms", True)
    p = plan_of("alarm", "list", "--status", "firing", "--all")
    assert (p.request.query, p.paginate, p.kind) == ((("status", "FIRING"),), True, "alarms")


@pytest.mark.parametrize("text, iso", [("5m", "PT5M"), ("30s", "PT30S"), ("2h", "PT2H"), ("1d", "P1D"), ("pt5m", "PT5M"), ("P1DT2H", "P1DT2H")])
def test_durations(text, iso):
    assert iso_duration(text, "--pending") == iso


def test_query_text_quotes_nothing_it_cannot():
    with pytest.raises(UsageError):
        query_text("ZoneSerial", ">", 1, zones='a"b')


# -- topics and subscriptions


def test_topic_commands():
    assert request_of("topic", "create", "--name", "ops", "--description", "on call").body == {"name": "ops", "description": "on call"}
    assert request_of("topic", "get", "ops").path == "/topics/ops"
    assert request_of("topic", "list", "--name", "ops").query == (("name", "ops"),)
    p = plan_of("topic", "delete", "ops")
    assert (p.request.method, p.confirm) == ("DELETE", CONFIRM_DELETE)
    r = request_of("topic", "test", "ops")
    assert (r.method, r.path) == ("POST", "/topics/ops/actions/sendTestNotification")
    assert request_of("topic", "update", "ops", "--description", "x").body == {"description": "x"}


def test_subscription_create_takes_its_own_endpoint(tmp_path):
    """--endpoint after the command is the subscription's; the API's comes before it; a secret from a file."""
    secret = tmp_path / "hmac.key"
    secret.write_text("shared-secret\n")
    args = parser().parse_args(["--endpoint", "http://127.0.0.1:9999", "topic", "subscription", "create", "--topic", "ops",
                                "--protocol", "webhook", "--endpoint", "https://hooks.example.net/secdns", "--secret-file", str(secret)])
    assert args.endpoint == "http://127.0.0.1:9999"
    r = plan(args).request
    assert (r.method, r.path) == ("POST", "/topics/ops/subscriptions")
    assert r.body == {"protocol": "CUSTOM_HTTPS", "endpoint": "https://hooks.example.net/secdns", "secret": "shared-secret"}
    assert "shared-secret" not in repr(r)
    r = request_of("topic", "subscription", "create", "--topic", "ops", "--protocol", "email", "--endpoint", "ops@example.com")
    assert r.body == {"protocol": "EMAIL", "endpoint": "ops@example.com"}
    # --endpoint of other commands is still the API's.
    assert parser().parse_args(["zone", "list", "--endpoint", "http://127.0.0.1:1"]).endpoint == "http://127.0.0.1:1"


def test_subscription_usage_errors(tmp_path):
    assert usage_error("topic", "subscription", "create", "--topic", "ops", "--protocol", "sms").startswith("--protocol: one of")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert "its first line is empty" in usage_error("topic", "subscription", "create", "--topic", "ops", "--protocol", "webhook",
                                                     "--endpoint", "https://x.example/", "--secret-file", str(empty))
    assert "No such file" in usage_error("topic", "subscription", "create", "--topic", "ops", "--protocol", "webhook",
                                         "--secret-file", str(tmp_path / "missing"))


def test_subscription_list_and_delete():
    assert request_of("topic", "subscription", "list", "--topic", "ops").path == "/topics/ops/subscriptions"
    p = plan_of("topic", "subscription", "delete", "ocid1.onssubscription.secdns..x", "--force")
    assert (p.request.method, p.request.path, p.confirm) == ("DELETE", "/subscriptions/ocid1.onssubscription.secdns..x", None)


def test_notifications_command():
    r = request_of("notifications", "--since", "2026-12-03T00:00:00Z", "--limit", "5")
    assert (r.path, r.query) == ("/notifications", (("since", "2026-12-03T00:00:00Z"), ("limit", "5")))


# -- tables


def test_alarm_status_table():
    """Alarm status: one line a zone, times as people read them; an alarm with no zone yet has one line."""
    statuses = [
        {"displayName": "failures", "severity": "ERROR", "status": "FIRING", "isEnabled": True, "items": [
            {"zone": "example.com", "status": "FIRING", "timestamp": "1970-01-01T00:00:00Z", "value": 5.0, "lastNotified": "1970-01-01T00:01:00Z"}]},
        {"displayName": "quiet", "severity": "INFO", "status": "OK", "isEnabled": False, "items": []},
    ]
    text = output.render(statuses, {}, "table", "alarmStatus", now=600)
    lines = text.splitlines()
    assert lines[0].split() == ["ALARM", "SEVERITY", "ZONE", "STATUS", "SINCE", "VALUE", "LAST", "NOTIFIED"]
    assert lines[1].split() == ["failures", "ERROR", "example.com", "FIRING", "10m", "ago", "5", "9m", "ago"]
    assert lines[2].split() == ["quiet", "INFO", "-", "DISABLED", "-", "-", "-"]


def test_topic_and_subscription_tables_never_show_secrets():
    topics = [{"name": "ops", "subscriptions": [{"protocol": "EMAIL", "endpoint": "ops@example.com", "secret": "s3cr3t"}],
               "alarms": ["a"], "declaredIn": None}]
    text = output.render(topics, {}, "table", "topics")
    assert "EMAIL ops@example.com" in text and "s3cr3t" not in text
    subs = [{"id": "i", "protocol": "CUSTOM_HTTPS", "endpoint": "https://h.example/…", "hasSecret": True, "secret": "s3"}]
    text = output.render(subs, {}, "table", "subscriptions")
    assert text.splitlines()[1].split() == ["i", "CUSTOM_HTTPS", "https://h.example/…", "yes"] and "s3" not in text
    assert "s3" not in output.render(subs, {}, "json", "subscriptions")


def test_sent_test_table():
    body = {"results": [{"subscription": "email ops@example.com", "delivered": True, "detail": "250 OK"},
                        {"subscription": "webhook https://h.example/…", "delivered": False, "detail": "connection refused"}]}
    lines = output.render(body, {}, "table", "testResults").splitlines()
    assert lines[1].split()[:3] == ["email", "ops@example.com", "delivered"]
    assert "FAILED" in lines[2]
