"""
The API's /alarms, /topics, /subscriptions and /notifications in process:
real HTTP bytes through the site, to the real alarm engine (over stand-in
zones, on a Clock, with a real store) and to an in-memory one with the same
methods and refusals (L{secdns.ops.alarms.errors}), which the tests of
states and config-declared objects set up directly.  Every answer is JSON; errors are {code,
message}; no secret comes back.
"""

from __future__ import annotations

import json

import attrs
import pytest
from twisted.internet import defer
from twisted.logger import globalLogPublisher

from secdns.alarms.model import FIRING, Alarm, Notification, Subscription, Topic
from secdns.alarms.query import text
from secdns.alarms.state import AlarmStatus, ZoneAlarmState
from secdns.ops.alarms import errors
from secdns.ops.api import alarm_shapes as shapes
from secdns.ops.api import all_routes
from secdns.ops.api.auth import Access
from secdns.ops.api.context import Api
from secdns.ops.api.openapi import document_bytes
from secdns.ops.api.resource import ApiResource
from secdns.ops.http import site
from tests.unit.test_api_resource import Client as ZoneClient

from prometheus_client.core import CollectorRegistry

SECRET = "webhook-hmac-key-that-must-not-leak"
SLACK = "https://hooks.slack.com/services/T0/B0/SLACKTOKENSECRET"


class MemoryEngine:
    """The alarm engine's run-time methods over dicts (what the API calls, nothing more)."""

    def __init__(self) -> None:
        self._alarms: dict[str, Alarm] = {}
        self._topics: dict[str, Topic] = {}
        self.states: dict[str, tuple[ZoneAlarmState, ...]] = {}
        self.sent: list = []

    def _status(self, rule: Alarm) -> AlarmStatus:
        return AlarmStatus(rule, text(rule), self.states.get(rule.name, ()), rule.declared_in)

    def alarms(self):
        return [self._status(a) for a in self._alarms.values()]

    def alarm(self, name):
        if name not in self._alarms:
            raise errors.NoSuchAlarm(name)
        return self._status(self._alarms[name])

    def create_alarm(self, alarm):
        if alarm.name in self._alarms:
            raise errors.AlarmExists(f"alarm {alarm.name} exists already")
        self._alarms[alarm.name] = alarm

    def update_alarm(self, alarm):
        self.alarm(alarm.name)
        self._alarms[alarm.name] = alarm

    def delete_alarm(self, name):
        self.alarm(name)
        del self._alarms[name]

    def topics(self):
        return list(self._topics.values())

    def topic(self, name):
        if name not in self._topics:
            raise errors.NoSuchTopic(name)
        return self._topics[name]

    def create_topic(self, topic):
        if topic.name in self._topics:
            raise errors.TopicExists(f"topic {topic.name} exists already")
        self._topics[topic.name] = topic

    def update_topic(self, topic):
        self.topic(topic.name)
        self._topics[topic.name] = topic

    def delete_topic(self, name):
        self.topic(name)
        users = tuple(a.name for a in self._alarms.values() if name in a.topics)
        if users:
            raise errors.TopicInUse(f"topic {name} is sent to by alarms {', '.join(users)}", users)
        del self._topics[name]

    def send_test(self, name):
        topic = self.topic(name)
        return defer.succeed([(f"{s.protocol} {s.endpoint}".strip(), True, "ok") for s in topic.subscriptions])

    def notifications(self, since=None, limit=100, zone=None, alarm=None):
        chosen = [n for n in self.sent if (since is None or n.when >= since) and zone in (None, n.zone) and alarm in (None, n.alarm)]
        return chosen[-limit:]


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self):
        return json.loads(self.raw)

    @property
    def error(self) -> tuple[int, str, str]:
        body = self.json
        assert {"code", "message"} <= set(body) <= {"code", "message", "field"}, body
        assert "field" not in body or body["code"] in ("InvalidParameter", "MissingParameter"), body
        return self.status, body["code"], body["message"]


class Client(ZoneClient):
    def send(self, raw: bytes) -> Answer:
        answer = super().send(raw)
        return Answer(answer.status, answer.headers, answer.raw)

    def __init__(self, engine) -> None:
        api = Api(lambda: None, alarms=lambda: engine)
        resource = ApiResource(api, Access(None), all_routes(api), document_bytes())
        self.web = site(CollectorRegistry(), resource)
        self.web.timeOut = None
        self.peer = "127.0.0.1"


@pytest.fixture(params=["memory", "engine"])
def any_engine(request, tmp_path):
    """The in-memory engine, and the real one (over stand-in zones, on a Clock, with a real store)."""
    if request.param == "memory":
        return MemoryEngine()
    from tests.unit.test_alarm_engine import Site

    return Site(tmp_path).engine


@pytest.fixture
def engine():
    return MemoryEngine()


@pytest.fixture
def any_api(any_engine):
    return Client(any_engine)


@pytest.fixture
def api(engine):
    return Client(engine)


@pytest.fixture
def logged():
    lines = []
    globalLogPublisher.addObserver(lines.append)
    yield lines
    globalLogPublisher.removeObserver(lines.append)


def make_topic(api, name="ops"):
    answer = api("POST", "/topics", {"name": name, "description": "the on-call team"})
    assert answer.status == 201, answer.raw
    return answer.json


FAILURES = 'ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3'


# -- alarms


def test_alarm_lifecycle(any_api, any_engine):
    """An alarm is made, read by id and by name, listed, changed with If-Match, and deleted."""
    make_topic(any_api)
    made = any_api("POST", "/alarms", {"displayName": "failures", "query": FAILURES, "destinations": ["ops"], "pendingDuration": "PT5M"})
    assert made.status == 201, made.raw
    alarm = made.json
    assert made.headers["location"].endswith("/alarms/" + alarm["id"])
    assert alarm["destinations"] == [shapes.topic_id("ops")] and alarm["query"] == FAILURES
    assert any_engine.alarm("failures").alarm.pending == 300
    assert any_api("GET", "/alarms/" + alarm["id"]).json == alarm
    assert any_api("GET", "/alarms/failures").json == alarm
    assert "failures" in [a["displayName"] for a in any_api("GET", "/alarms").json]
    assert any_api("POST", "/alarms", {"displayName": "failures", "query": FAILURES}).status == 409
    tag = any_api("GET", "/alarms/failures").headers["etag"]
    assert any_api("PUT", "/alarms/failures", {"severity": "CRITICAL"}, {"If-Match": '"stale"'}).status == 412
    changed = any_api("PUT", "/alarms/failures", {"severity": "CRITICAL"}, {"If-Match": tag})
    assert changed.status == 200 and changed.json["severity"] == "CRITICAL" and changed.json["pendingDuration"] == "PT5M"
    assert any_api("DELETE", "/alarms/" + alarm["id"]).status == 204
    assert any_api("GET", "/alarms/failures").error == (404, "NotAuthorizedOrNotFound", "no alarm failures")


def test_alarm_status_and_list_filters(api, engine):
    """An alarm's status lists each zone's state; the list filters by status."""
    api("POST", "/alarms", {"displayName": "a", "query": FAILURES})
    api("POST", "/alarms", {"displayName": "b", "query": "ZoneExpirationInHours[5m].min() <= 24"})
    engine.states["a"] = (ZoneAlarmState("example.com", FIRING, since=60.0, value=5.0, dedup_key="k"),)
    status = api("GET", "/alarms/a/status")
    assert status.status == 200
    assert status.json["status"] == "FIRING"
    assert status.json["items"] == [{"zone": "example.com", "dimensions": {"resourceName": "example.com"}, "status": "FIRING",
                                     "timestamp": "1970-01-01T00:01:00.000Z", "value": 5.0, "lastNotified": None, "dedupKey": "k"}]
    assert [a["displayName"] for a in api("GET", "/alarms?status=FIRING").json] == ["a"]
    assert [a["displayName"] for a in api("GET", "/alarms?status=OK").json] == ["b"]
    assert api("GET", "/alarms?status=LOUD").status == 400
    page = api("GET", "/alarms?limit=1")
    assert page.headers["opc-next-page"] == "1" and page.headers["opc-total-items"] == "2"


def test_config_declared_and_built_in_alarms_are_read_only(api, engine):
    """Alarms from the config file or built in are listed, and changing them is 409 naming where they come from."""
    engine._alarms["cfg"] = Alarm("cfg", "ZoneSerial", ">", 1, declared_in="/etc/secdns/secdns.toml")
    engine._alarms["builtin"] = Alarm("builtin", "ZoneSerial", ">", 1, declared_in="built-in")
    assert api("GET", "/alarms/cfg").json["isProtected"] is True
    assert api("PUT", "/alarms/cfg", {"severity": "INFO"}).error == (
        409, "Conflict", "alarm cfg is declared in /etc/secdns/secdns.toml: change it there, and reload")
    assert api("DELETE", "/alarms/cfg").error[2] == "alarm cfg is declared in /etc/secdns/secdns.toml: remove it there, and reload"
    assert api("DELETE", "/alarms/builtin").error[2] == (
        "alarm builtin is built in: override it, or turn it off (enabled = false), with an [[alarm]] of that name in the config file, and reload")


def test_an_alarm_names_only_topics_that_exist(any_api):
    """destinations must name existing topics, by id or name."""
    assert any_api("POST", "/alarms", {"displayName": "x", "query": FAILURES, "destinations": ["nope"]}).error[:2] == (400, "InvalidParameter")


def test_no_engine_is_503(api):
    """Before the alarm engine runs, its resources answer 503."""
    client = Client(None)
    assert client("GET", "/alarms").error[:2] == (503, "ServiceUnavailable")


# -- topics and subscriptions


def test_topic_and_subscriptions_lifecycle(any_api, any_engine, logged):
    """A topic gets subscriptions of each kind; secrets and URL paths never come back, nor reach the log."""
    topic = make_topic(any_api)
    path = "/topics/" + topic["topicId"]
    assert any_api("GET", "/topics/ops").json == topic
    made = any_api("POST", path + "/subscriptions", {"protocol": "CUSTOM_HTTPS", "endpoint": "https://hooks.example.net/secdns/abc", "secret": SECRET})
    assert made.status == 201, made.raw
    sub = made.json
    assert sub["protocol"] == "CUSTOM_HTTPS" and sub["hasSecret"] is True and sub["topicId"] == topic["topicId"]
    assert sub["endpoint"] == "https://hooks.example.net/secdns/\N{HORIZONTAL ELLIPSIS}"
    assert any_engine.topic("ops").subscriptions[0].secret == SECRET.encode()
    assert any_api("POST", path + "/subscriptions", {"protocol": "SLACK", "endpoint": SLACK}).status == 201
    assert any_api("POST", path + "/subscriptions", {"protocol": "EMAIL", "endpoint": "ops@example.com"}).status == 201
    assert any_api("POST", path + "/subscriptions", {"protocol": "EMAIL", "endpoint": "ops@example.com"}).status == 409
    listed = any_api("GET", path + "/subscriptions")
    assert [s["protocol"] for s in listed.json] == ["CUSTOM_HTTPS", "SLACK", "EMAIL"]
    assert any_api("GET", "/subscriptions/" + sub["id"]).json == sub
    everything = b"".join(a.raw for a in (listed, any_api("GET", "/topics"), any_api("GET", path))) + repr(logged).encode()
    assert SECRET.encode() not in everything and b"SLACKTOKENSECRET" not in everything
    assert any_api("DELETE", "/subscriptions/" + sub["id"]).status == 204
    assert any_api("GET", "/subscriptions/" + sub["id"]).status == 404
    assert [s.protocol for s in any_engine.topic("ops").subscriptions] == ["slack", "email"]
    # The others' secrets were kept through the change.
    changed = any_api("PUT", path, {"description": "ops, night shift"})
    assert changed.status == 200 and changed.json["description"] == "ops, night shift"
    assert len(any_engine.topic("ops").subscriptions) == 2


def test_a_topic_alarms_send_to_cannot_be_deleted(any_api):
    """Deleting a topic an alarm sends to is 409 naming the alarm; without it, 204."""
    make_topic(any_api)
    any_api("POST", "/alarms", {"displayName": "failures", "query": FAILURES, "destinations": ["ops"]})
    assert any_api("GET", "/topics/ops").json["alarms"] == ["failures"]
    assert any_api("DELETE", "/topics/ops").error == (409, "Conflict", "topic ops is sent to by alarms failures")
    any_api("DELETE", "/alarms/failures")
    assert any_api("DELETE", "/topics/ops").status == 204


def test_config_declared_topics_are_read_only(api, engine):
    """A config file's topic cannot be changed, subscribed to or unsubscribed from here (409 naming the file)."""
    engine._topics["cfg"] = Topic("cfg", (Subscription("log"),), declared_in="/etc/secdns/secdns.toml")
    sub_id = api("GET", "/topics/cfg/subscriptions").json[0]["id"]
    message = "topic cfg is declared in /etc/secdns/secdns.toml: change it there, and reload"
    assert api("POST", "/topics/cfg/subscriptions", {"protocol": "EMAIL", "endpoint": "a@example.com"}).error == (409, "Conflict", message)
    assert api("DELETE", "/subscriptions/" + sub_id).error == (409, "Conflict", message)
    assert api("PUT", "/topics/cfg", {"description": "x"}).error == (409, "Conflict", message)
    assert api("DELETE", "/topics/cfg").error[0] == 409


def test_send_test_notification(any_api, any_engine):
    """sendTestNotification sends to each subscription and says how each went; a topic without any is 400."""
    make_topic(any_api)
    assert any_api("POST", "/topics/ops/actions/sendTestNotification").error[:2] == (400, "InvalidParameter")
    any_api("POST", "/topics/ops/subscriptions", {"protocol": "EMAIL", "endpoint": "ops@example.com"})
    answer = any_api("POST", "/topics/ops/actions/sendTestNotification")
    assert answer.status == 200
    assert answer.json == {"topicId": shapes.topic_id("ops"), "name": "ops",
                           "results": [{"subscription": "email ops@example.com", "delivered": True, "detail": "ok"}]}


def test_notifications_since(api, engine):
    """GET /notifications lists what was sent, from a time on."""
    for when in (60.0, 120.0):
        engine.sent.append(Notification("a", "example.com", FIRING, "ERROR", "ZoneTransferFailureCount", FAILURES, 5.0, 3.0, when, 60.0, "k", "t", "b"))
    assert len(api("GET", "/notifications").json) == 2
    assert [n["time"] for n in api("GET", "/notifications?since=1970-01-01T00:01:30Z").json] == ["1970-01-01T00:02:00.000Z"]
    assert api("GET", "/notifications?since=yesterday").status == 400
    assert api("GET", "/notifications?limit=0").status == 400


def test_built_in_alarms_and_topic_of_the_real_engine(tmp_path):
    """The real engine's built-in alarms and log topic are listed, read-only, and /notifications answers."""
    from tests.unit.test_alarm_engine import Site

    api = Client(Site(tmp_path).engine)
    alarm = api("GET", "/alarms/zone-refresh-failing").json
    assert (alarm["declaredIn"], alarm["isProtected"], alarm["query"]) == ("built-in", True, "FailingForRetries[1m].max() > 3")
    assert alarm["destinations"] == [shapes.topic_id("log")]
    assert api("DELETE", "/alarms/zone-refresh-failing").error[:2] == (409, "Conflict")
    assert api("GET", "/alarms/zone-expiring").json["expirySteps"] == [72, 24, 6, 3, 2, 1, 0]
    assert api("GET", "/topics/log").json["subscriptions"][0]["protocol"] == "LOG"
    assert api("POST", "/topics/log/subscriptions", {"protocol": "EMAIL", "endpoint": "a@example.com"}).error[:2] == (409, "Conflict")
    assert api("GET", "/notifications").json == []
