"""
secdns.ops.api.alarm_shapes: alarms, topics and subscriptions as the
cloud Monitoring and Notifications APIs shape them, and request bodies read
back into the engine's values, with errors that name the field.
"""

from __future__ import annotations

import attrs
import pytest

from secdns.alarms.model import FIRING, OK, Alarm, Notification, Subscription, Topic
from secdns.alarms.state import PENDING, AlarmStatus, ZoneAlarmState
from secdns.ops.api import alarm_shapes as shapes
from secdns.ops.api.errors import ApiError

RULE = Alarm("transfers-failing", "ZoneTransferFailureCount", ">", 3, zones="example.com", statistic="sum",
             interval=3600, pending=300, severity="CRITICAL", topics=("ops",), repeat=7200, body="check the primary")
TOPICS = {shapes.topic_id("ops"): "ops", shapes.topic_id("pager"): "pager"}


def error_of(f, *args) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        f(*args)
    return caught.value.status, caught.value.message


# -- durations


@pytest.mark.parametrize("text, seconds", [("PT5M", 300), ("PT1H30M", 5400), ("P1D", 86400), ("PT0S", 0), ("pt45s", 45), ("P1DT2H", 93600)])
def test_iso_durations_are_read(text, seconds):
    """ISO 8601 durations in days, hours, minutes and seconds are read as seconds."""
    assert shapes.parse_iso_duration(text, "pendingDuration") == seconds


@pytest.mark.parametrize("text", ["5m", "P", "PT", "P1W", "PT1.5M", "", "P1DT", "-PT1M"])
def test_bad_iso_durations_are_refused_naming_the_field(text):
    """A duration that is not ISO 8601 is refused with 400 naming the field."""
    status, message = error_of(shapes.parse_iso_duration, text, "pendingDuration")
    assert status == 400 and message.startswith("pendingDuration must be an ISO 8601 duration")


@pytest.mark.parametrize("seconds, text", [(300, "PT5M"), (5400, "PT1H30M"), (86400, "P1D"), (0, "PT0S"), (93661, "P1DT2H1M1S"), (None, None)])
def test_iso_durations_are_written_shortest(seconds, text):
    """Durations are written as the cloud writes them, and read back to the same."""
    assert shapes.iso_duration(seconds) == text
    if text is not None:
        assert shapes.parse_iso_duration(text, "x") == seconds


# -- alarms out


def test_an_alarm_has_the_cloud_fields_and_its_query():
    """An alarm is shown with the Monitoring API's field names, its rule as a query, and its topics as ids."""
    status = AlarmStatus(RULE, "ignored", (ZoneAlarmState("example.com", FIRING, since=1000.0, value=5.0),), None)
    shaped = shapes.alarm(status)
    assert shaped["id"].startswith("ocid1.alarm.secdns..")
    assert shaped["displayName"] == "transfers-failing"
    assert shaped["namespace"] == "secdns"
    assert shaped["query"] == "ignored"  # the engine's text of its rule
    assert shaped["severity"] == "CRITICAL"
    assert shaped["destinations"] == [shapes.topic_id("ops")]
    assert (shaped["pendingDuration"], shaped["repeatNotificationDuration"]) == ("PT5M", "PT2H")
    assert shaped["isNotificationsPerMetricDimensionEnabled"] is True
    assert shaped["status"] == "FIRING" and shaped["firingZones"] == ["example.com"]
    assert shaped["isProtected"] is False and shaped["declaredIn"] is None
    assert shaped["body"] == "check the primary"


def test_an_alarm_without_a_query_text_shows_its_rule_as_one():
    """When the engine gives no text, the rule is written in the seeds' query language."""
    shaped = shapes.alarm(AlarmStatus(RULE, "", (), "/etc/secdns.toml"))
    assert shaped["query"] == 'ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3'
    assert shaped["status"] == "OK" and shaped["isProtected"] is True


def test_alarm_status_is_one_entry_a_zone_worst_first():
    """An alarm's status lists each zone's state; the alarm's is the worst of them."""
    zones = (ZoneAlarmState("b.example", PENDING, since=5.0), ZoneAlarmState("a.example", OK, since=1.0, value=0.0))
    shaped = shapes.alarm_status(AlarmStatus(RULE, "q", zones, None))
    assert shaped["status"] == "PENDING"
    assert [item["zone"] for item in shaped["items"]] == ["a.example", "b.example"]
    assert shaped["items"][0]["dimensions"] == {"resourceName": "a.example"}
    assert shaped["items"][0]["timestamp"] == "1970-01-01T00:00:01.000Z"


def test_alarm_etag_ignores_zone_states():
    """An alarm's etag changes with its rule, not with its zones' states."""
    a = AlarmStatus(RULE, "q", (), None)
    b = AlarmStatus(RULE, "q", (ZoneAlarmState("example.com", FIRING),), None)
    assert shapes.alarm_etag_source(a) == shapes.alarm_etag_source(b)
    c = AlarmStatus(attrs.evolve(RULE, threshold=4), "q", (), None)
    assert shapes.alarm_etag_source(a) != shapes.alarm_etag_source(c)


# -- alarms in


def test_create_alarm_details_make_an_alarm():
    """CreateAlarmDetails: the query gives the rule, the rest its delivery."""
    rule = shapes.alarm_from({
        "displayName": "failures", "namespace": "oci_dns", "compartmentId": "ignored",
        "query": 'ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3',
        "severity": "WARNING", "destinations": ["ops", shapes.topic_id("pager")], "pendingDuration": "PT5M",
        "repeatNotificationDuration": "PT1H", "isEnabled": False, "notifyOnClear": False, "body": "look",
    }, TOPICS)
    assert (rule.name, rule.metric, rule.interval, rule.zones, rule.statistic, rule.operator, rule.threshold) == (
        "failures", "ZoneTransferFailureCount", 3600, "example.com", "sum", ">", 3)
    assert (rule.severity, rule.topics, rule.pending, rule.repeat, rule.enabled, rule.notify_on_clear, rule.body) == (
        "WARNING", ("ops", "pager"), 300, 3600, False, False, "look")
    assert rule.declared_in is None


def test_create_alarm_defaults():
    """Left out: severity ERROR, no topics, no pending, no repeat, enabled, notices on clear."""
    rule = shapes.alarm_from({"displayName": "x", "query": "ZoneExpirationInHours[5m].min() <= 24"}, TOPICS)
    assert (rule.severity, rule.topics, rule.pending, rule.repeat, rule.enabled, rule.notify_on_clear, rule.zones) == (
        "ERROR", (), 0, None, True, True, "*")


@pytest.mark.parametrize("body, status, start", [
    ({"query": "ZoneSerial[1m].max() > 1"}, 400, "displayName is required"),
    ({"displayName": "x"}, 400, "query is required"),
    ({"displayName": "x", "query": "Nope[1h].sum() > 1"}, 400, "query: unknown metric 'Nope'"),
    ({"displayName": "x", "query": "ZoneSerial[1h].sum() >"}, 400, "query: 'ZoneSerial[1h].sum() >' is not a query"),
    ({"displayName": "x", "query": "ZoneSerial[1h].sum() > 1", "severity": "LOUD"}, 400, "severity must be one of"),
    ({"displayName": "x", "query": "ZoneSerial[1h].sum() > 1", "destinations": ["nobody"]}, 400, "destinations[0]: no topic is named 'nobody'"),
    ({"displayName": "x", "query": "ZoneSerial[1h].sum() > 1", "destinations": [shapes.TOPIC_PREFIX + "0"]}, 400, "destinations[0]: no topic has the id"),
    ({"displayName": "x", "query": "ZoneSerial[1h].sum() > 1", "pendingDuration": "P2D"}, 400, "pendingDuration must be from PT0S to P1D"),
    ({"displayName": "x", "query": "ZoneSerial[1h].sum() > 1", "repeatNotificationDuration": "PT30S"}, 400, "repeatNotificationDuration must be from PT1M"),
    ({"displayName": "x", "query": "ZoneSerial[1h].sum() > 1", "namespace": "oci_compute"}, 400, "namespace must be secdns"),
    ({"displayName": "x", "query": "ZoneSerial[1h].sum() > 1", "isNotificationsPerMetricDimensionEnabled": False}, 400, "isNotificationsPerMetricDimensionEnabled must be true"),
    ({"displayName": "x", "query": "ZoneSerial[1h].sum() > 1", "expirySteps": [24]}, 400, "expirySteps is for alarms on ZoneExpirationInHours"),
    ({"displayName": " x", "query": "ZoneSerial[1h].sum() > 1"}, 400, "displayName must be 1 to 63 letters, digits"),
    ({"displayName": "a/b", "query": "ZoneSerial[1h].sum() > 1"}, 400, "displayName must be 1 to 63 letters, digits"),
    ({"displayName": "ocid1.alarm.x", "query": "ZoneSerial[1h].sum() > 1"}, 400, "displayName must not begin with ocid1."),
    ({"displayName": "x", "query": "ZoneSerial[1h].sum() > 1", "resolution": "1m"}, 400, 'the request body: unknown field "resolution"'),
])
def test_bad_alarm_details_are_refused_saying_why(body, status, start):
    """Each wrong field is refused with 400 and a message that names it."""
    got_status, message = error_of(shapes.alarm_from, body, TOPICS)
    assert got_status == status and message.startswith(start), message


def test_update_alarm_details_keep_what_is_left_out():
    """An UpdateAlarmDetails changes what it gives; a GetAlarm answer sent back whole changes nothing."""
    changed = shapes.alarm_from({"severity": "INFO", "repeatNotificationDuration": None}, TOPICS, RULE)
    assert (changed.severity, changed.repeat, changed.threshold, changed.topics, changed.pending) == ("INFO", None, 3, ("ops",), 300)
    same = shapes.alarm_from(shapes.alarm(AlarmStatus(RULE, "", (), None)), TOPICS, RULE)
    assert same == RULE
    assert shapes.alarm_from({"query": "ZoneTransferFailureCount[5m].count() >= 1"}, TOPICS, RULE).interval == 300


def test_update_cannot_rename():
    """displayName cannot change in an update."""
    assert error_of(shapes.alarm_from, {"displayName": "other"}, TOPICS, RULE)[1].startswith("displayName cannot change")


# -- topics and subscriptions


def test_topic_shape_never_shows_secrets_nor_url_paths():
    """A topic lists its subscriptions without their secrets, and a Slack URL without its token."""
    topic = Topic("ops", (
        Subscription("email", "ops@example.com"),
        Subscription("slack", "https://hooks.slack.com/services/T000/B000/XXXXSECRETTOKEN"),
        Subscription("webhook", "https://hooks.example.net/secdns", b"hmac-key-that-must-not-leak"),
    ), description="the on-call team")
    shaped = shapes.topic(topic, ["a1"])
    text = repr(shaped)
    assert "XXXXSECRETTOKEN" not in text and "hmac-key-that-must-not-leak" not in text
    assert shaped["topicId"].startswith("ocid1.onstopic.secdns..") and shaped["description"] == "the on-call team"
    assert [s["protocol"] for s in shaped["subscriptions"]] == ["EMAIL", "SLACK", "CUSTOM_HTTPS"]
    assert shaped["subscriptions"][1]["endpoint"] == "https://hooks.slack.com/services/\N{HORIZONTAL ELLIPSIS}"
    assert [s["hasSecret"] for s in shaped["subscriptions"]] == [False, False, True]
    assert shaped["alarms"] == ["a1"]
    assert "hmac" not in repr(shapes.topic_etag_source(topic))


def test_subscription_ids_are_stable_and_distinct():
    """A subscription's id depends on its topic, protocol and endpoint only."""
    a = shapes.subscription_id("ops", Subscription("email", "a@example.com"))
    assert a == shapes.subscription_id("ops", Subscription("email", "a@example.com", b"x"))
    assert a != shapes.subscription_id("ops", Subscription("email", "b@example.com"))
    assert a != shapes.subscription_id("dev", Subscription("email", "a@example.com"))


def test_create_topic_details():
    """A topic is made from its name and description; a name outside [A-Za-z0-9_-] is refused."""
    assert shapes.topic_from({"name": "ops-team", "description": "d", "compartmentId": "x"}) == Topic("ops-team", description="d")
    assert error_of(shapes.topic_from, {"name": "ops team"})[1].startswith("name must be 1 to 63 letters")
    current = Topic("ops", (Subscription("log"),), description="old")
    assert shapes.topic_from({"description": "new"}, current) == Topic("ops", (Subscription("log"),), description="new")
    assert error_of(shapes.topic_from, {"name": "dev"}, current)[1].startswith("name cannot change")


@pytest.mark.parametrize("body, expected", [
    ({"protocol": "EMAIL", "endpoint": "ops@example.com"}, Subscription("email", "ops@example.com")),
    ({"protocol": "SLACK", "endpoint": "https://hooks.slack.com/services/T/B/X"}, Subscription("slack", "https://hooks.slack.com/services/T/B/X")),
    ({"protocol": "CUSTOM_HTTPS", "endpoint": "http://127.0.0.1:9000/hook", "secret": "k"}, Subscription("webhook", "http://127.0.0.1:9000/hook", b"k")),
    ({"protocol": "PAGERDUTY", "secret": "routing-key"}, Subscription("pagerduty", "", b"routing-key")),
    ({"protocol": "STREAM", "endpoint": "alarms.jsonl"}, Subscription("stream", "streams/alarms.jsonl")),
    ({"protocol": "STREAM", "endpoint": "streams/alarms.jsonl"}, Subscription("stream", "streams/alarms.jsonl")),
    ({"protocol": "LOG", "topicId": shapes.topic_id("ops")}, Subscription("log", "")),
])
def test_create_subscription_details(body, expected):
    """Each protocol's subscription is made from protocol, endpoint and (webhook, PagerDuty) secret."""
    assert shapes.subscription_from(body, Topic("ops")) == expected


@pytest.mark.parametrize("body, start", [
    ({"protocol": "SMS", "endpoint": "+1"}, "protocol must be one of"),
    ({"protocol": "EMAIL"}, "endpoint is required for a EMAIL subscription"),
    ({"protocol": "EMAIL", "endpoint": "not an address"}, "endpoint: email endpoint"),
    ({"protocol": "CUSTOM_HTTPS", "endpoint": "http://hooks.example.net/x"}, "endpoint: webhook endpoint must be https://"),
    ({"protocol": "SLACK", "endpoint": "ftp://x/y"}, "endpoint: slack endpoint must be an https:// URL"),
    ({"protocol": "PAGERDUTY"}, "endpoint: a pagerduty subscription needs its routing key"),
    ({"protocol": "STREAM", "endpoint": "../secdns.sqlite"}, "endpoint of a STREAM subscription is a file name"),
    ({"protocol": "STREAM", "endpoint": "/etc/passwd"}, "endpoint of a STREAM subscription is a file name"),
    ({"protocol": "LOG", "endpoint": "x"}, "endpoint: a log subscription has no endpoint"),
    ({"protocol": "EMAIL", "endpoint": "a@example.com", "secret": "s"}, "secret is for CUSTOM_HTTPS"),
    ({"protocol": "LOG", "topicId": "other"}, "topicId names another topic"),
    ({"protocol": "EMAIL", "endpoint": "a@example.com\r\nBcc: x@example.com"}, "endpoint must not hold control characters"),
])
def test_bad_subscriptions_are_refused_saying_why(body, start):
    """A subscription that cannot be delivered to is refused with 400, before anything is sent."""
    status, message = error_of(shapes.subscription_from, body, Topic("ops"))
    assert status == 400 and message.startswith(start), message


def test_a_secret_is_never_in_a_refusal():
    """Whatever is wrong, the refusal does not hold the secret given."""
    status, message = error_of(shapes.subscription_from, {"protocol": "CUSTOM_HTTPS", "endpoint": "http://192.0.2.1/x", "secret": "s3cr3t-value"}, Topic("ops"))
    assert "s3cr3t-value" not in message
    status, message = error_of(shapes.subscription_from, {"protocol": "CUSTOM_HTTPS", "endpoint": "https://x.example/p", "secret": 5}, Topic("ops"))
    assert message == "secret must be a string, not a number"


def test_the_same_subscription_twice_is_a_conflict():
    """A topic has each protocol and endpoint once: the second is 409."""
    topic = Topic("ops", (Subscription("email", "a@example.com"),))
    assert error_of(shapes.subscription_from, {"protocol": "EMAIL", "endpoint": "a@example.com"}, topic)[0] == 409


# -- notifications


def test_notification_records_are_camel_case_with_rfc3339_times():
    """A sent notification is shown with its fields in camelCase, times in RFC 3339, and no bytes."""
    n = Notification("a", "example.com", FIRING, "ERROR", "ZoneTransferFailureCount", "q", 5.0, 3.0, 60.0, 0.0, "k", "t", "b")
    shaped = shapes.notification(n)
    assert shaped["time"] == "1970-01-01T00:01:00.000Z" and shaped["since"] == "1970-01-01T00:00:00.000Z"
    assert shaped["dedupKey"] == "k" and shaped["expirationHours"] is None


def test_a_sent_notification_record_spreads_its_notification():
    """The engine's record of a sent notification: its id, when, the topics, and the notification's own fields."""
    from secdns.alarms.state import SentNotification

    n = Notification("a", "example.com", FIRING, "ERROR", "ZoneTransferFailureCount", "q", 5.0, 3.0, 60.0, 0.0, "k", "t", "b")
    shaped = shapes.notification(SentNotification(7, 61.0, ("ops", "log"), n))
    assert (shaped["id"], shaped["sent"], shaped["topics"]) == (7, "1970-01-01T00:01:01.000Z", ["ops", "log"])
    assert (shaped["alarm"], shaped["zone"], shaped["state"], shaped["time"]) == ("a", "example.com", FIRING, "1970-01-01T00:01:00.000Z")
