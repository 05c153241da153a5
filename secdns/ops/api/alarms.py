# -*- test-case-name: tests.unit.test_api_alarms -*-
"""
Alarms and notifications, shaped like the cloud's Monitoring and
Notifications APIs, through the alarm engine's public methods
(L{secdns.ops.alarms.engine.AlarmEngine}: C{alarms}, C{alarm},
C{create_alarm}, C{update_alarm}, C{delete_alarm}, C{topics}, C{topic},
C{create_topic}, C{update_topic}, C{delete_topic}, C{send_test},
C{notifications}):

    /alarms                                   ListAlarms, CreateAlarm
    /alarms/{alarmId}                         GetAlarm, UpdateAlarm, DeleteAlarm
    /alarms/{alarmId}/status                  GetAlarmStatus (each zone's state)
    /topics                                   ListTopics, CreateTopic
    /topics/{topicId}                         GetTopic, UpdateTopic, DeleteTopic
    /topics/{topicId}/subscriptions           ListSubscriptions, CreateSubscription
    /subscriptions/{subscriptionId}           GetSubscription, DeleteSubscription
    /topics/{topicId}/actions/sendTestNotification
    /notifications                            ListNotifications (what was sent)

Paths take an alarm's or topic's id or its name.  Alarms and topics
declared in the config file, and the built-in ones, are listed and read
like the others, with C{declaredIn} naming where; changing them answers
409 naming it.  A topic that alarms send to cannot be deleted (409 naming
them).  Secrets are taken on create and never shown back.
"""

from __future__ import annotations

from typing import Any

import attrs
from twisted.internet import defer

from secdns.ops.api import alarm_shapes as shapes
from secdns.ops.api.body import parse_json
from secdns.ops.api.context import Api
from secdns.ops.api.errors import ApiError, bad, conflict, not_found, with_field
from secdns.ops.api.operations import parse_since
from secdns.ops.api.routing import Call, Reply, Route, check_if_match, etag, one_of, page_headers, paging

__all__ = ["routes", "MAX_NOTIFICATIONS"]

MAX_NOTIFICATIONS = 10_000


def _read_only(kind: str, name: str, declared_in: str, verb: str) -> ApiError:
    if declared_in == "built-in":
        if kind == "alarm":
            how = "override it, or turn it off (enabled = false), with an [[alarm]] of that name in the config file"
        else:
            how = "replace it with a [[topic]] of that name in the config file"
        return conflict(f"{kind} {name} is built in: {how}, and reload")
    return conflict(f"{kind} {name} is declared in {declared_in}: {verb} it there, and reload")


def _page(call: Call, rows: list, limit: int, offset: int) -> Reply:
    following = offset + limit
    chosen = rows[offset:following]
    return Reply(200, chosen, page_headers(following if following < len(rows) else None, len(rows)), etag(chosen))


class Alarms:
    def __init__(self, api: Api) -> None:
        self.api = api

    # -- lookups

    def topic_ids(self) -> dict[str, str]:
        return {shapes.topic_id(t.name): t.name for t in self.api.alarms().topics()}

    def status(self, text: str) -> Any:
        """The engine's C{AlarmStatus} of the alarm a path names (id or name)."""
        engine = self.api.alarms()
        if text.startswith(shapes.ALARM_PREFIX):
            for status in engine.alarms():
                if shapes.alarm_id(status.alarm.name) == text:
                    return status
            raise not_found(f"no alarm has the id {text[:80]}")
        return engine.alarm(text)

    def topic(self, text: str) -> Any:
        """The L{Topic} a path names (id or name)."""
        engine = self.api.alarms()
        if text.startswith(shapes.TOPIC_PREFIX):
            for value in engine.topics():
                if shapes.topic_id(value.name) == text:
                    return value
            raise not_found(f"no topic has the id {text[:80]}")
        return engine.topic(text)

    def senders(self) -> dict[str, list[str]]:
        """Each topic's name, to the alarms that send to it."""
        out: dict[str, list[str]] = {}
        for status in self.api.alarms().alarms():
            for name in status.alarm.topics:
                out.setdefault(name, []).append(status.alarm.name)
        return out

    # -- alarms

    def times(self, kind: str, name: str) -> tuple[float, float] | None:
        """When a run-time alarm or topic was made and last changed (L{None} for the others)."""
        created = getattr(self.api.alarms(), "created", None)
        return None if created is None else created(kind, name)

    def alarm_shape(self, status: Any) -> dict:
        return shapes.alarm(status, self.times("alarm", status.alarm.name))

    def alarm_reply(self, status: Any, code: int = 200, headers=()) -> Reply:
        return Reply(code, self.alarm_shape(status), headers, etag(shapes.alarm_etag_source(status)))

    def list_alarms(self, call: Call) -> Reply:
        limit, offset = paging(call)
        name = call.arg("displayName")
        state = one_of(call, "lifecycleState", ("ACTIVE", "DELETING", "DELETED"))
        status = one_of(call, "status", shapes.ALARM_STATES)
        sort_by = one_of(call, "sortBy", ("displayName", "severity"), "displayName")
        order = one_of(call, "sortOrder", ("ASC", "DESC"), "ASC")
        rows = [self.alarm_shape(s) for s in self.api.alarms().alarms()]
        rows = [r for r in rows if (name is None or r["displayName"] == name) and state in (None, "ACTIVE")
                and (status is None or r["status"] == status)]
        if sort_by == "severity":
            rank = {s: i for i, s in enumerate(("CRITICAL", "ERROR", "WARNING", "INFO"))}
            rows.sort(key=lambda r: (rank.get(r["severity"], 9), r["displayName"]), reverse=order == "DESC")
        else:
            rows.sort(key=lambda r: r["displayName"], reverse=order == "DESC")
        return _page(call, rows, limit, offset)

    def create_alarm(self, call: Call) -> defer.Deferred:
        engine = self.api.alarms()
        rule = shapes.alarm_from(parse_json(call.body), self.topic_ids())
        created = defer.maybeDeferred(engine.create_alarm, rule).addErrback(_refused, _alarm_field)

        def done(_) -> Reply:
            Api.changed(call, f"created alarm {rule.name} ({shapes.text(rule)})")
            status = engine.alarm(rule.name)
            return self.alarm_reply(status, 201, (("Location", f"{call.base}/alarms/{shapes.alarm_id(rule.name)}"),))

        return created.addCallback(done)

    def get_alarm(self, call: Call) -> Reply:
        return self.alarm_reply(self.status(call.params["alarmId"]))

    def update_alarm(self, call: Call) -> defer.Deferred:
        engine = self.api.alarms()
        current = self.status(call.params["alarmId"])
        if current.declared_in is not None:
            raise _read_only("alarm", current.alarm.name, current.declared_in, "change")
        check_if_match(call, etag(shapes.alarm_etag_source(current)))
        rule = shapes.alarm_from(parse_json(call.body), self.topic_ids(), current.alarm)
        updated = defer.maybeDeferred(engine.update_alarm, rule).addErrback(_refused, _alarm_field)

        def done(_) -> Reply:
            Api.changed(call, f"updated alarm {rule.name} ({shapes.text(rule)})")
            return self.alarm_reply(engine.alarm(rule.name))

        return updated.addCallback(done)

    def delete_alarm(self, call: Call) -> defer.Deferred:
        engine = self.api.alarms()
        current = self.status(call.params["alarmId"])
        if current.declared_in is not None:
            raise _read_only("alarm", current.alarm.name, current.declared_in, "remove")
        check_if_match(call, etag(shapes.alarm_etag_source(current)))
        deleted = defer.maybeDeferred(engine.delete_alarm, current.alarm.name)

        def done(_) -> Reply:
            Api.changed(call, f"deleted alarm {current.alarm.name}")
            return Reply(204)

        return deleted.addCallback(done)

    def alarm_status(self, call: Call) -> Reply:
        body = shapes.alarm_status(self.status(call.params["alarmId"]))
        return Reply(200, body, etag=etag(body))

    # -- topics

    def topic_reply(self, value: Any, code: int = 200, headers=()) -> Reply:
        shaped = shapes.topic(value, self.senders().get(value.name, ()), self.times("topic", value.name))
        return Reply(code, shaped, headers, etag(shapes.topic_etag_source(value)))

    def list_topics(self, call: Call) -> Reply:
        limit, offset = paging(call)
        name = call.arg("name")
        state = one_of(call, "lifecycleState", ("ACTIVE", "DELETING", "CREATING"))
        one_of(call, "sortBy", ("name",), "name")
        order = one_of(call, "sortOrder", ("ASC", "DESC"), "ASC")
        senders = self.senders()
        rows = [shapes.topic(t, senders.get(t.name, ()), self.times("topic", t.name)) for t in self.api.alarms().topics()
                if (name is None or t.name == name) and state in (None, "ACTIVE")]
        rows.sort(key=lambda r: r["name"], reverse=order == "DESC")
        return _page(call, rows, limit, offset)

    def create_topic(self, call: Call) -> defer.Deferred:
        engine = self.api.alarms()
        value = shapes.topic_from(parse_json(call.body))
        created = defer.maybeDeferred(engine.create_topic, value).addErrback(_refused, _topic_field)

        def done(_) -> Reply:
            Api.changed(call, f"created topic {value.name}")
            return self.topic_reply(engine.topic(value.name), 201, (("Location", f"{call.base}/topics/{shapes.topic_id(value.name)}"),))

        return created.addCallback(done)

    def get_topic(self, call: Call) -> Reply:
        return self.topic_reply(self.topic(call.params["topicId"]))

    def _writable(self, value: Any, verb: str) -> None:
        if value.declared_in is not None:
            raise _read_only("topic", value.name, value.declared_in, verb)

    def update_topic(self, call: Call) -> defer.Deferred:
        engine = self.api.alarms()
        current = self.topic(call.params["topicId"])
        self._writable(current, "change")
        check_if_match(call, etag(shapes.topic_etag_source(current)))
        value = shapes.topic_from(parse_json(call.body), current)
        updated = defer.maybeDeferred(engine.update_topic, value).addErrback(_refused, _topic_field)

        def done(_) -> Reply:
            Api.changed(call, f"updated topic {value.name}")
            return self.topic_reply(engine.topic(value.name))

        return updated.addCallback(done)

    def delete_topic(self, call: Call) -> defer.Deferred:
        engine = self.api.alarms()
        current = self.topic(call.params["topicId"])
        self._writable(current, "remove")
        check_if_match(call, etag(shapes.topic_etag_source(current)))
        deleted = defer.maybeDeferred(engine.delete_topic, current.name)

        def done(_) -> Reply:
            Api.changed(call, f"deleted topic {current.name}")
            return Reply(204)

        return deleted.addCallback(done)

    def send_test(self, call: Call) -> defer.Deferred:
        engine = self.api.alarms()
        current = self.topic(call.params["topicId"])
        if not current.subscriptions:
            raise bad(f"topic {current.name} has no subscription to send a test to")
        sent = defer.maybeDeferred(engine.send_test, current.name)

        def done(outcomes) -> Reply:
            results = [{"subscription": str(what), "delivered": bool(ok), "detail": str(detail)} for what, ok, detail in outcomes]
            Api.changed(call, f"sent a test notification to topic {current.name}")
            return Reply(200, {"topicId": shapes.topic_id(current.name), "name": current.name, "results": results})

        return sent.addCallback(done)

    # -- subscriptions

    def find_subscription(self, text: str) -> tuple[Any, Any]:
        """The topic and subscription of a subscription id."""
        if text.startswith(shapes.SUBSCRIPTION_PREFIX):
            for value in self.api.alarms().topics():
                for sub in value.subscriptions:
                    if shapes.subscription_id(value.name, sub) == text:
                        return value, sub
        raise not_found(f"no subscription has the id {text[:80]}")

    def list_subscriptions(self, call: Call) -> Reply:
        limit, offset = paging(call)
        value = self.topic(call.params["topicId"])
        rows = [shapes.subscription(value, sub) for sub in value.subscriptions]
        return _page(call, rows, limit, offset)

    def create_subscription(self, call: Call) -> defer.Deferred:
        engine = self.api.alarms()
        current = self.topic(call.params["topicId"])
        self._writable(current, "change")
        sub = shapes.subscription_from(parse_json(call.body), current)
        updated = defer.maybeDeferred(engine.update_topic, attrs.evolve(current, subscriptions=(*current.subscriptions, sub)))
        new = f"subscriptions[{len(current.subscriptions)}]."
        updated.addErrback(_refused, lambda path: path[len(new):] if path.startswith(new) else None)
        sub_id = shapes.subscription_id(current.name, sub)

        def done(_) -> Reply:
            Api.changed(call, f"subscribed {shapes.PROTOCOLS[sub.protocol]} to topic {current.name} ({sub_id})")
            value = engine.topic(current.name)
            body = shapes.subscription(value, sub)
            return Reply(201, body, (("Location", f"{call.base}/subscriptions/{sub_id}"),), etag(body))

        return updated.addCallback(done)

    def get_subscription(self, call: Call) -> Reply:
        value, sub = self.find_subscription(call.params["subscriptionId"])
        body = shapes.subscription(value, sub)
        return Reply(200, body, etag=etag(body))

    def delete_subscription(self, call: Call) -> defer.Deferred:
        engine = self.api.alarms()
        value, sub = self.find_subscription(call.params["subscriptionId"])
        self._writable(value, "change")
        body = shapes.subscription(value, sub)
        check_if_match(call, etag(body))
        kept = tuple(s for s in value.subscriptions if s is not sub)
        updated = defer.maybeDeferred(engine.update_topic, attrs.evolve(value, subscriptions=kept))

        def done(_) -> Reply:
            Api.changed(call, f"unsubscribed {body['protocol']} from topic {value.name} ({body['id']})")
            return Reply(204)

        return updated.addCallback(done)

    # -- notifications

    def notifications(self, call: Call) -> Reply:
        since = call.arg("since")
        limit_text = call.arg("limit")
        limit = 100
        if limit_text is not None:
            if not limit_text.isascii() or not limit_text.isdigit() or len(limit_text) > 6 or not 1 <= int(limit_text) <= MAX_NOTIFICATIONS:
                raise bad(f"limit must be an integer from 1 to {MAX_NOTIFICATIONS}")
            limit = int(limit_text)
        filters = {}
        zone, alarm = call.arg("zone"), call.arg("alarm")
        if zone is not None:
            filters["zone"] = zone.rstrip(".").lower()
        if alarm is not None:
            filters["alarm"] = alarm
        chosen = self.api.alarms().notifications(since=None if since is None else parse_since(since), limit=limit, **filters)
        body = [shapes.notification(n) for n in chosen]
        return Reply(200, body, etag=etag(body))


#: The alarm engine's names of an alarm's fields, as the request's (the query's parts: C{query}).
_ALARM_FIELDS = {
    "name": "displayName", "topics": "destinations", "steps": "expirySteps", "pending": "pendingDuration",
    "repeat": "repeatNotificationDuration", "severity": "severity", "body": "body", "metric": "query",
    "statistic": "query", "operator": "query", "threshold": "query", "interval": "query", "zones": "query",
}


def _alarm_field(path: str) -> str | None:
    return _ALARM_FIELDS.get(path.split("[")[0])


def _topic_field(path: str) -> str | None:
    return path if path in ("name", "description") else None


def _refused(failure, names):
    """An errback: the engine's 400s with the request field they concern, read from their message."""
    error = with_field(failure.value, names)
    if not isinstance(error, ApiError):
        return failure
    if error.field is None and error.code == "InvalidParameter" and error.message.startswith("no topic "):
        error = attrs.evolve(error, field="destinations")
    raise error


def routes(api: Api) -> list[Route]:
    alarms = Alarms(api)
    return [
        Route("GET", ("alarms",), alarms.list_alarms, "ListAlarms"),
        Route("POST", ("alarms",), alarms.create_alarm, "CreateAlarm"),
        Route("GET", ("alarms", "{alarmId}"), alarms.get_alarm, "GetAlarm"),
        Route("PUT", ("alarms", "{alarmId}"), alarms.update_alarm, "UpdateAlarm"),
        Route("DELETE", ("alarms", "{alarmId}"), alarms.delete_alarm, "DeleteAlarm"),
        Route("GET", ("alarms", "{alarmId}", "status"), alarms.alarm_status, "GetAlarmStatus"),
        Route("GET", ("topics",), alarms.list_topics, "ListTopics"),
        Route("POST", ("topics",), alarms.create_topic, "CreateTopic"),
        Route("GET", ("topics", "{topicId}"), alarms.get_topic, "GetTopic"),
        Route("PUT", ("topics", "{topicId}"), alarms.update_topic, "UpdateTopic"),
        Route("DELETE", ("topics", "{topicId}"), alarms.delete_topic, "DeleteTopic"),
        Route("GET", ("topics", "{topicId}", "subscriptions"), alarms.list_subscriptions, "ListSubscriptions"),
        Route("POST", ("topics", "{topicId}", "subscriptions"), alarms.create_subscription, "CreateSubscription"),
        Route("POST", ("topics", "{topicId}", "actions", "sendTestNotification"), alarms.send_test, "SendTestNotification"),
        Route("GET", ("subscriptions", "{subscriptionId}"), alarms.get_subscription, "GetSubscription"),
        Route("DELETE", ("subscriptions", "{subscriptionId}"), alarms.delete_subscription, "DeleteSubscription"),
        Route("GET", ("notifications",), alarms.notifications, "ListNotifications"),
    ]
