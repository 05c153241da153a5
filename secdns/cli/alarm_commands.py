# -*- test-case-name: tests.unit.test_cli_alarms -*-
"""
The CLI's alarms and notifications: C{secdns alarm ...}, C{secdns topic
...}, C{secdns topic subscription ...} and C{secdns notifications}, built
like the other commands (L{secdns.cli.commands}): pure functions from
parsed arguments to a L{Plan}.

An alarm's rule is given as the seeds' query (C{--query
'ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3'}) or
in parts (C{--metric ZoneTransferFailureCount --zones example.com
--statistic sum --interval 1h --operator gt --threshold 3}), which are
written as that query; durations are C{30s}, C{5m}, C{1h}, C{1d} (or ISO
8601, C{PT5M}) and sent as ISO 8601.  Topics are named by name or id.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, Callable

from secdns.cli.client import Request, if_match_of, path_of, query_of

__all__ = ["add_parsers", "query_text", "iso_duration", "OPERATORS", "PROTOCOLS"]


#: Operators by the names the command line takes.
OPERATORS = {
    ">": ">", "gt": ">", "greater-than": ">",
    ">=": ">=", "ge": ">=", "greater-than-or-equal-to": ">=",
    "<": "<", "lt": "<", "less-than": "<",
    "<=": "<=", "le": "<=", "less-than-or-equal-to": "<=",
    "==": "==", "=": "==", "eq": "==", "equal-to": "==",
    "!=": "!=", "ne": "!=", "not-equal-to": "!=",
}
#: Subscription protocols by the names the command line takes (the API's, and secdns's config names).
PROTOCOLS = {
    "email": "EMAIL", "slack": "SLACK", "custom_https": "CUSTOM_HTTPS", "custom-https": "CUSTOM_HTTPS", "webhook": "CUSTOM_HTTPS",
    "https": "CUSTOM_HTTPS", "pagerduty": "PAGERDUTY", "stream": "STREAM", "log": "LOG",
}
METRICS = ("ZoneTransferFailureCount", "ZoneTransferSuccessCount", "ZoneExpirationInHours", "MasterUp",
           "NotifyFailureCount", "ZoneSerial", "FailingForRetries")
STATISTICS = ("count", "sum", "max", "min", "mean", "rate")
SEVERITIES = ("CRITICAL", "ERROR", "WARNING", "INFO")
_SHORT = re.compile(r"^(\d+)([smhd])$")
_ISO = re.compile(r"^P(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$")


def _usage(message: str) -> Exception:
    """A usage error (exit status 2), as L{secdns.cli.commands} raises them."""
    from secdns.cli.commands import UsageError

    return UsageError(message)


def iso_duration(text: str, option: str) -> str:
    """C{5m} as C{PT5M}; ISO 8601 passed on as it is."""
    value = text.strip()
    if _ISO.match(value.upper()) and value.upper() not in ("P", "PT"):
        return value.upper()
    match = _SHORT.match(value.lower())
    if match is None:
        raise _usage(f"{option}: {text!r} is not a duration such as 30s, 5m, 1h, 1d (or PT5M)")
    number, unit = int(match.group(1)), match.group(2)
    if unit == "d":
        return f"P{number}D"
    return f"PT{number}{unit.upper()}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def query_text(metric: str, operator: str, threshold: float, zones: str | None = None, statistic: str = "sum", interval: str = "1h") -> str:
    """The seeds' query of an alarm given in parts."""
    if not _SHORT.match(interval):
        raise _usage(f"--interval: {interval!r} is not an interval such as 5m, 1h or 1d")
    selector = ""
    zones = (zones or "").strip().rstrip(".")
    if zones and zones != "*":
        if '"' in zones:
            raise _usage("--zones: a zone name or glob has no quote in it")
        selector = f'{{resourceName {"=~" if "*" in zones else "="} "{zones}"}}'
    return f"{metric}[{interval}]{selector}.{statistic}() {OPERATORS[operator]} {_number(threshold)}"


def _topics(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# -- alarms


def _rule(args, required: bool) -> str | None:
    parts = [args.metric, args.operator, args.threshold]
    if args.query is not None:
        if any(p is not None for p in parts) or args.zones is not None or args.statistic is not None or args.interval is not None:
            raise _usage("give --query, or --metric with --operator and --threshold, not both")
        return args.query
    if all(p is None for p in parts) and args.zones is None and args.statistic is None and args.interval is None:
        if required:
            raise _usage("give the rule: --query '...', or --metric, --operator and --threshold (with --zones, --statistic, --interval)")
        return None
    if None in parts:
        raise _usage("--metric, --operator and --threshold go together (or give --query)")
    return query_text(args.metric, args.operator, args.threshold, args.zones, args.statistic or "sum", args.interval or "1h")


def _alarm_body(args, creating: bool) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if creating:
        body["displayName"] = args.name
    rule = _rule(args, required=creating)
    if rule is not None:
        body["query"] = rule
    if args.severity is not None:
        body["severity"] = args.severity
    if args.destinations is not None:
        body["destinations"] = _topics(args.destinations)
    if args.pending is not None:
        body["pendingDuration"] = iso_duration(args.pending, "--pending")
    if args.repeat is not None:
        body["repeatNotificationDuration"] = None if args.repeat.lower() in ("none", "never", "0") else iso_duration(args.repeat, "--repeat")
    if args.notify_on_clear is not None:
        body["notifyOnClear"] = args.notify_on_clear
    if args.enabled is not None:
        body["isEnabled"] = args.enabled
    if args.body is not None:
        body["body"] = args.body
    return body


def alarm_create(args) -> "Plan":
    return _plan(Request("POST", "/alarms", body=_alarm_body(args, creating=True)), kind="alarms")


def alarm_list(args) -> "Plan":
    query = query_of(args, (("name", "displayName"), ("status", "status"), ("limit", "limit"), ("page", "page"),
                          ("sort_by", "sortBy"), ("sort_order", "sortOrder")))
    return _plan(Request("GET", "/alarms", query), kind="alarms", paginate=args.all)


def alarm_get(args) -> "Plan":
    return _plan(Request("GET", path_of("alarms", args.alarm)), kind="alarms")


def alarm_update(args) -> "Plan":
    body = _alarm_body(args, creating=False)
    if not body:
        raise _usage("nothing to change: give the rule (--query, or --metric ...), --severity, --destinations, --pending, "
                     "--repeat, --notify-on-clear, --enabled/--disabled or --body")
    return _plan(Request("PUT", path_of("alarms", args.alarm), body=body, headers=if_match_of(args)), kind="alarms")


def alarm_delete(args) -> "Plan":
    return _plan(Request("DELETE", path_of("alarms", args.alarm), headers=if_match_of(args)), confirm=_confirm(args))


def alarm_status(args) -> "Plan":
    if args.alarm:
        return _plan(Request("GET", path_of("alarms", args.alarm, "status")), kind="alarmStatus", output="table")
    return _plan(Request("GET", "/alarms"), kind="alarmStatus", paginate=True, output="table", each_status=True, each="alarms")


# -- topics and subscriptions


def topic_create(args) -> "Plan":
    body = {"name": args.name}
    if args.description is not None:
        body["description"] = args.description
    return _plan(Request("POST", "/topics", body=body), kind="topics")


def topic_list(args) -> "Plan":
    query = query_of(args, (("name", "name"), ("limit", "limit"), ("page", "page"), ("sort_order", "sortOrder")))
    return _plan(Request("GET", "/topics", query), kind="topics", paginate=args.all)


def topic_get(args) -> "Plan":
    return _plan(Request("GET", path_of("topics", args.topic)), kind="topics")


def topic_update(args) -> "Plan":
    if args.description is None:
        raise _usage("nothing to change: give --description")
    return _plan(Request("PUT", path_of("topics", args.topic), body={"description": args.description}, headers=if_match_of(args)), kind="topics")


def topic_delete(args) -> "Plan":
    return _plan(Request("DELETE", path_of("topics", args.topic), headers=if_match_of(args)), confirm=_confirm(args))


def topic_test(args) -> "Plan":
    return _plan(Request("POST", path_of("topics", args.topic, "actions", "sendTestNotification")), kind="testResults")


def _read_secret(path: str) -> str:
    try:
        if path == "-":
            text = sys.stdin.readline()
        else:
            with open(path, encoding="utf-8") as f:
                text = f.readline()
    except OSError as e:
        raise _usage(f"--secret-file: {path}: {e.strerror or e}") from None
    text = text.strip()
    if not text:
        raise _usage(f"--secret-file: {path}: its first line is empty")
    return text


def subscription_create(args) -> "Plan":
    protocol = PROTOCOLS.get(args.protocol.lower().replace(" ", ""))
    if protocol is None:
        raise _usage(f"--protocol: one of EMAIL, SLACK, CUSTOM_HTTPS (webhook), PAGERDUTY, STREAM, LOG, not {args.protocol!r}")
    body: dict[str, Any] = {"protocol": protocol}
    if args.subscription_endpoint is not None:
        body["endpoint"] = args.subscription_endpoint
    if args.secret is not None:
        body["secret"] = args.secret
    elif args.secret_file is not None:
        body["secret"] = _read_secret(args.secret_file)
    return _plan(Request("POST", path_of("topics", args.topic, "subscriptions"), body=body), kind="subscriptions")


def subscription_list(args) -> "Plan":
    query = query_of(args, (("limit", "limit"), ("page", "page")))
    return _plan(Request("GET", path_of("topics", args.topic, "subscriptions"), query), kind="subscriptions", paginate=args.all)


def subscription_delete(args) -> "Plan":
    return _plan(Request("DELETE", path_of("subscriptions", args.subscription), headers=if_match_of(args)), confirm=_confirm(args))


def notifications(args) -> "Plan":
    return _plan(Request("GET", "/notifications", query_of(args, (("since", "since"), ("limit", "limit")))), kind="notifications")


# -- helpers shared with secdns.cli.commands


def _plan(request: Request, **kw) -> "Plan":
    from secdns.cli.commands import Plan

    return Plan(request, **kw)


def _confirm(args) -> str | None:
    from secdns.cli.commands import CONFIRM_DELETE

    return None if args.force else CONFIRM_DELETE


def _upper(text: str) -> str:
    return text.upper()


def _operator(text: str) -> str:
    key = text.strip().lower()
    if key not in OPERATORS:
        raise argparse.ArgumentTypeError(f"one of > >= < <= == != (or gt ge lt le eq ne), not {text!r}")
    return key


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def add_parsers(groups, leaf: Callable, list_options: Callable, if_match: Callable, force: Callable, common) -> None:
    """C{alarm}, C{topic} and C{notifications}, added to the CLI's command groups."""

    def rule_options(p: argparse.ArgumentParser) -> None:
        r = p.add_argument_group("the rule: --query, or --metric with --operator and --threshold")
        r.add_argument("--query", metavar="QUERY",
                       help='in the seeds\' query language: \'ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3\'')
        r.add_argument("--metric", choices=METRICS, metavar="METRIC", help="one of: " + ", ".join(METRICS))
        r.add_argument("--zones", metavar="ZONES", help="a zone, a glob (*.example.com) or * (the default: every zone)")
        r.add_argument("--statistic", choices=STATISTICS, help="over the interval (default sum)")
        r.add_argument("--interval", metavar="INTERVAL", help="the window: 1m to 1d, e.g. 5m, 1h (default 1h)")
        r.add_argument("--operator", type=_operator, metavar="OP", help="> >= < <= == != (or gt ge lt le eq ne)")
        r.add_argument("--threshold", type=_float, metavar="N")

    def delivery_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--severity", type=_upper, choices=SEVERITIES)
        p.add_argument("--destinations", metavar="TOPICS", help='topic names or ids, separated by commas ("" for none)')
        p.add_argument("--pending", metavar="DURATION", help="how long the condition must hold before it fires: 0s, 5m, 1h ...")
        p.add_argument("--repeat", metavar="DURATION", help="notify again this often while firing: 1h, 1d ... (none: never)")
        p.add_argument("--notify-on-clear", dest="notify_on_clear", action="store_true", default=None,
                       help="send a notice when it clears (the default)")
        p.add_argument("--no-notify-on-clear", dest="notify_on_clear", action="store_false", help="send nothing when it clears")
        p.add_argument("--body", metavar="TEXT", help="what to check, added to each notification")

    def alarm_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("alarm", metavar="ALARM", help="the alarm's name or id")

    # alarm ...
    alarm = groups.add_parser("alarm", help="alarms on the zones' metrics").add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = leaf(alarm, "create", alarm_create, "create an alarm")
    p.add_argument("--name", required=True, help="the alarm's name (its displayName)")
    rule_options(p)
    delivery_options(p)
    p.add_argument("--disabled", dest="enabled", action="store_false", default=None, help="create it disabled")
    p = leaf(alarm, "list", alarm_list, "list alarms: built in, from the config file, and made here")
    p.add_argument("--name", help="only the alarm of this name")
    p.add_argument("--status", type=_upper, choices=("FIRING", "PENDING", "OK"), help="only alarms in this status")
    list_options(p)
    p = leaf(alarm, "get", alarm_get, "one alarm")
    alarm_option(p)
    p = leaf(alarm, "update", alarm_update, "change an alarm made here")
    alarm_option(p)
    rule_options(p)
    delivery_options(p)
    e = p.add_mutually_exclusive_group()
    e.add_argument("--enabled", dest="enabled", action="store_true", default=None, help="enable it")
    e.add_argument("--disabled", dest="enabled", action="store_false", help="disable it")
    if_match(p)
    p = leaf(alarm, "delete", alarm_delete, "delete an alarm made here")
    alarm_option(p)
    if_match(p)
    force(p)
    p = leaf(alarm, "status", alarm_status, "an alarm's state for each zone (a table); without ALARM, every alarm's")
    p.add_argument("alarm", nargs="?", metavar="ALARM", help="the alarm's name or id")

    # topic ...
    topic = groups.add_parser("topic", help="notification topics and their subscriptions").add_subparsers(
        dest="command", metavar="COMMAND", required=True
    )

    def topic_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("topic", metavar="TOPIC", help="the topic's name or id")

    p = leaf(topic, "create", topic_create, "create a topic")
    p.add_argument("--name", required=True, help="letters, digits, - and _")
    p.add_argument("--description", metavar="TEXT")
    p = leaf(topic, "list", topic_list, "list topics")
    p.add_argument("--name", help="only the topic of this name")
    list_options(p)
    topic_option(leaf(topic, "get", topic_get, "one topic, with its subscriptions (never their secrets)"))
    p = leaf(topic, "update", topic_update, "change a topic's description")
    topic_option(p)
    p.add_argument("--description", metavar="TEXT")
    if_match(p)
    p = leaf(topic, "delete", topic_delete, "delete a topic no alarm sends to")
    topic_option(p)
    if_match(p)
    force(p)
    topic_option(leaf(topic, "test", topic_test, "send a test message to each subscription of a topic, and say how each went"))

    subscription = topic.add_parser("subscription", help="a topic's subscriptions").add_subparsers(
        dest="subscription_command", metavar="COMMAND", required=True
    )
    # Here --endpoint is the subscription's, as in the cloud CLI: the API's
    # is given before the command (secdns --endpoint URL topic ...) or by
    # SECDNS_ENDPOINT.  Its own copy of the global options, so that taking
    # --endpoint over changes no other command's.
    from secdns.cli.commands import _globals

    what = "subscribe an endpoint to a topic"
    p = subscription.add_parser("create", parents=[_globals(suppress=True)], conflict_handler="resolve", help=what,
                                description=what + " (the API's endpoint: secdns --endpoint URL topic subscription create ...)")
    p.set_defaults(build=subscription_create)
    p.add_argument("--topic", required=True, metavar="TOPIC", help="the topic's name or id")
    p.add_argument("--protocol", required=True, metavar="PROTOCOL",
                   help="EMAIL, SLACK, CUSTOM_HTTPS (webhook), PAGERDUTY, STREAM or LOG")
    p.add_argument("--endpoint", dest="subscription_endpoint", metavar="ENDPOINT",
                   help="EMAIL: an address; SLACK: the incoming-webhook URL; CUSTOM_HTTPS: the receiver's https:// URL; "
                        "PAGERDUTY: the events URL (default PagerDuty's); STREAM: a file name in the state directory's streams/")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--secret", metavar="TEXT", help="CUSTOM_HTTPS: the HMAC key; PAGERDUTY: the routing key (argv is public: prefer --secret-file)")
    g.add_argument("--secret-file", metavar="PATH", help="a file whose first line is the secret ('-': standard input)")
    p = leaf(subscription, "list", subscription_list, "a topic's subscriptions")
    p.add_argument("--topic", required=True, metavar="TOPIC", help="the topic's name or id")
    list_options(p)
    p = leaf(subscription, "delete", subscription_delete, "unsubscribe")
    p.add_argument("subscription", metavar="SUBSCRIPTION", help="the subscription's id")
    if_match(p)
    force(p)

    # notifications
    p = groups.add_parser("notifications", parents=[common], help="notifications sent lately", description="notifications sent lately")
    p.set_defaults(build=notifications)
    p.add_argument("--since", metavar="TIME", help="only those from this time on (RFC 3339, or seconds since the epoch)")
    p.add_argument("--limit", type=int, metavar="N")
