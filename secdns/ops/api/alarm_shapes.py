# -*- test-case-name: tests.unit.test_api_alarm_shapes -*-
"""
Alarms, topics and subscriptions as the cloud's Monitoring and
Notifications APIs shape them (C{Alarm}, C{NotificationTopic},
C{Subscription}: field names as in their public SDKs), made from the
alarm engine's frozen values (L{secdns.alarms.model}, L{secdns.alarms.state}),
and request bodies read back into those values.  Pure: no Twisted, no I/O.

Out: L{alarm}, L{alarm_status}, L{topic}, L{subscription}, L{notification}.
In: L{alarm_from} (C{CreateAlarmDetails}, C{UpdateAlarmDetails}),
L{topic_from} (C{CreateTopicDetails}, C{UpdateTopicDetails}) and
L{subscription_from} (C{CreateSubscriptionDetails}).

An alarm's rule is its C{query}, in the seeds' monitoring query language
(L{secdns.alarms.query}); durations are ISO 8601 (C{PT5M}).  A secret
(a webhook's HMAC key, a PagerDuty routing key) is taken on create and
never shown back, and a Slack, webhook or PagerDuty URL, which often holds
a token in its path, is shown with all but its host and first path segment
hidden (L{secdns.alarms.endpoints.redact_url}).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable, Mapping

import attrs

from secdns.alarms.endpoints import check as check_endpoint
from secdns.alarms.endpoints import redact_url
from secdns.alarms.check import NAME
from secdns.alarms.model import FIRING, OK, SEVERITIES, Alarm, Notification, Subscription, Topic
from secdns.alarms.query import QueryError, parse, text
from secdns.ops.api.body import Fields
from secdns.ops.api.errors import bad, conflict, missing
from secdns.ops.api.shapes import rfc3339

__all__ = [
    "ALARM_PREFIX", "TOPIC_PREFIX", "SUBSCRIPTION_PREFIX", "NAMESPACE", "PROTOCOLS", "PROTOCOL_OF", "ALARM_STATES", "NAME_PATTERN",
    "alarm_id", "topic_id", "subscription_id", "iso_duration", "parse_iso_duration",
    "alarm", "alarm_status", "alarm_etag_source", "topic", "topic_etag_source", "subscription", "notification",
    "alarm_from", "topic_from", "subscription_from", "TopicIds",
]

ALARM_PREFIX = "ocid1.alarm.secdns.."
TOPIC_PREFIX = "ocid1.onstopic.secdns.."
SUBSCRIPTION_PREFIX = "ocid1.onssubscription.secdns.."
#: The metric namespace of every alarm (the seeds' C{oci_dns} is accepted for it).
NAMESPACE = "secdns"
NAMESPACES = (NAMESPACE, "oci_dns")
#: The API's protocol names, by the model's.
PROTOCOLS = {"email": "EMAIL", "slack": "SLACK", "webhook": "CUSTOM_HTTPS", "pagerduty": "PAGERDUTY", "stream": "STREAM", "log": "LOG"}
#: The model's protocol names, by the API's.
PROTOCOL_OF = {api: model for model, api in PROTOCOLS.items()}
#: An alarm's state for one zone; an alarm's C{status} is the worst of its zones'.
ALARM_STATES = ("FIRING", "PENDING", "OK")
#: A map from topic ids to topic names, to read C{destinations}.
TopicIds = Mapping[str, str]

_URL_PROTOCOLS = ("slack", "webhook", "pagerduty")
#: Names of alarms and topics (they go in URLs, metric labels and file names): the engine's rule.
NAME_PATTERN = NAME.pattern
_STREAM_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
#: Fields of an C{Alarm} a client may send back in a PUT: read-only, ignored.
READ_ONLY_ALARM_FIELDS = (
    "id", "namespace", "lifecycleState", "timeCreated", "timeUpdated", "isProtected", "declaredIn", "status",
    "firingZones", "compartmentId", "metricCompartmentId", "isNotificationsPerMetricDimensionEnabled",
)
READ_ONLY_TOPIC_FIELDS = ("topicId", "lifecycleState", "timeCreated", "isProtected", "declaredIn", "subscriptions", "compartmentId")


def _digest(kind: str, *parts: str) -> str:
    return hashlib.sha256("\0".join((kind, *parts)).encode("utf-8", "surrogateescape")).hexdigest()[:32]


def alarm_id(name: str) -> str:
    """The id of the alarm of that name: stable across restarts, opaque."""
    return ALARM_PREFIX + _digest("alarm", name)


def topic_id(name: str) -> str:
    return TOPIC_PREFIX + _digest("topic", name)


def subscription_id(topic_name: str, sub: Subscription) -> str:
    """A subscription's id: its topic, protocol and endpoint (a topic has each pair once)."""
    return SUBSCRIPTION_PREFIX + _digest("subscription", topic_name, sub.protocol, sub.endpoint)


# -- ISO 8601 durations

_ISO = re.compile(r"^P(?:(?P<d>\d{1,6})D)?(?:T(?:(?P<h>\d{1,6})H)?(?:(?P<m>\d{1,8})M)?(?:(?P<s>\d{1,9})S)?)?$")


def parse_iso_duration(value: str, field: str) -> float:
    """Seconds of an ISO 8601 duration in days, hours, minutes and seconds: C{PT5M}, C{PT1H30M}, C{P1D}."""
    match = _ISO.match(value.strip().upper()) if isinstance(value, str) else None
    if match is None or value.strip().upper() in ("P", "PT") or value.strip().upper().endswith("T"):
        raise bad(f"{field} must be an ISO 8601 duration such as PT5M, PT1H or P1D", field)
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    return float(parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0))


def iso_duration(seconds: float | None) -> str | None:
    """C{PT5M}, C{PT1H30M}, C{P1D}; C{PT0S} for none; L{None} for L{None}."""
    if seconds is None:
        return None
    whole = int(round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    if clock:
        out += "T" + clock
    return out if out != "P" else "PT0S"


# -- out


def _worst(states: Iterable[str]) -> str:
    states = set(states)
    for state in ALARM_STATES:
        if state in states:
            return state
    return OK


def alarm(status: Any, times: tuple[float, float] | None = None) -> dict[str, Any]:
    """
    An C{Alarm} from an engine's C{AlarmStatus}: the cloud's fields, and
    secdns's own (C{notifyOnClear}, C{expirySteps}, C{status} and
    C{firingZones}, C{isProtected}, C{declaredIn}: the config file, or
    C{built-in}, whose alarms are read-only here; L{None}: made through the API).
    C{times}: when it was made and last changed (made through the API only).
    """
    rule: Alarm = status.alarm
    zones = tuple(getattr(status, "zones", ()) or ())
    return {
        "id": alarm_id(rule.name),
        "displayName": rule.name,
        "namespace": NAMESPACE,
        "query": getattr(status, "query", None) or text(rule),
        "severity": rule.severity,
        "destinations": [topic_id(name) for name in rule.topics],
        "isEnabled": rule.enabled,
        "pendingDuration": iso_duration(rule.pending),
        "repeatNotificationDuration": iso_duration(rule.repeat),
        "body": rule.body or None,
        "isNotificationsPerMetricDimensionEnabled": True,
        "notifyOnClear": rule.notify_on_clear,
        "expirySteps": list(getattr(rule, "steps", ()) or ()),
        "lifecycleState": "ACTIVE",
        "timeCreated": rfc3339(None if times is None else times[0]),
        "timeUpdated": rfc3339(None if times is None else times[1]),
        "status": _worst(z.state for z in zones),
        "firingZones": sorted(z.zone for z in zones if z.state == FIRING),
        "isProtected": status.declared_in is not None,
        "declaredIn": status.declared_in,
    }


def alarm_etag_source(status: Any) -> Any:
    """What an alarm's etag is made of: its rule (what a PUT changes), not its zones' states."""
    rule: Alarm = status.alarm
    return [alarm_id(rule.name), text(rule), rule.severity, list(rule.topics), rule.enabled, rule.pending, rule.repeat,
            rule.body, rule.notify_on_clear, list(getattr(rule, "steps", ()) or ()), status.declared_in]


def alarm_status(status: Any) -> dict[str, Any]:
    """
    An alarm's state for each zone, as the cloud's C{RetrieveDimensionStates}
    answers it (C{items} of C{dimensions}, C{status}, C{timestamp}), with
    secdns's C{zone}, C{value}, C{lastNotified} and C{dedupKey}.
    """
    rule: Alarm = status.alarm
    items = []
    for state in sorted(getattr(status, "zones", ()) or (), key=lambda z: z.zone):
        items.append({
            "zone": state.zone,
            "dimensions": {"resourceName": state.zone},
            "status": state.state,
            "timestamp": rfc3339(state.since),
            "value": state.value,
            "lastNotified": rfc3339(state.last_notified),
            "dedupKey": state.dedup_key,
        })
    return {
        "id": alarm_id(rule.name),
        "displayName": rule.name,
        "query": getattr(status, "query", None) or text(rule),
        "severity": rule.severity,
        "isEnabled": rule.enabled,
        "status": _worst(item["status"] for item in items),
        "items": items,
    }


def _shown_endpoint(sub: Subscription) -> str:
    if sub.protocol in _URL_PROTOCOLS and sub.endpoint:
        return redact_url(sub.endpoint)
    return sub.endpoint


def subscription(topic_value: Topic, sub: Subscription) -> dict[str, Any]:
    """
    A C{Subscription}: never its secret (C{hasSecret} says whether it has
    one), and a URL endpoint with its path past the first segment hidden.
    """
    return {
        "id": subscription_id(topic_value.name, sub),
        "topicId": topic_id(topic_value.name),
        "protocol": PROTOCOLS.get(sub.protocol, sub.protocol.upper()),
        "endpoint": _shown_endpoint(sub),
        "hasSecret": bool(sub.secret),
        "lifecycleState": "ACTIVE",
        "isProtected": topic_value.declared_in is not None,
        "declaredIn": topic_value.declared_in,
    }


def topic(value: Topic, alarms: Iterable[str] = (), times: tuple[float, float] | None = None) -> dict[str, Any]:
    """
    A C{NotificationTopic}, with secdns's C{subscriptions} (each as
    L{subscription} shows it), C{streamFile} (where messages folded past 60
    a minute go; L{None}: the default in the state directory), C{alarms}
    (those that send to it) and C{isProtected}/C{declaredIn}.
    """
    return {
        "topicId": topic_id(value.name),
        "name": value.name,
        "description": getattr(value, "description", "") or None,
        "lifecycleState": "ACTIVE",
        "timeCreated": rfc3339(None if times is None else times[0]),
        "subscriptions": [subscription(value, sub) for sub in value.subscriptions],
        "streamFile": value.stream_file,
        "alarms": sorted(alarms),
        "isProtected": value.declared_in is not None,
        "declaredIn": value.declared_in,
    }


def topic_etag_source(value: Topic) -> Any:
    """What a topic's etag is made of: never a secret (nor a digest of one)."""
    return [topic_id(value.name), getattr(value, "description", ""), value.stream_file, value.declared_in,
            [subscription_id(value.name, sub) for sub in value.subscriptions]]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def notification(value: Any) -> dict[str, Any]:
    """
    A notification that was sent (secdns's own): an engine's record of it
    in camelCase, times in RFC 3339; a L{Notification} inside it (as
    C{notification}) is spread into the record.
    """
    if isinstance(value, Notification):
        fields = attrs.asdict(value, recurse=False)
    elif attrs.has(type(value)):
        fields = {}
        for key, item in attrs.asdict(value, recurse=False).items():
            if isinstance(item, Notification):
                fields.update(attrs.asdict(item, recurse=False))
            else:
                fields[key] = item
    elif isinstance(value, Mapping):
        fields = dict(value)
    else:
        raise TypeError(f"not a notification: {type(value).__name__}")
    shaped: dict[str, Any] = {}
    for key, item in fields.items():
        if key in ("when", "since", "sent", "at") or key.endswith("_at"):
            item = rfc3339(item) if isinstance(item, (int, float)) and not isinstance(item, bool) else item
        elif isinstance(item, tuple):
            item = [list(i) if isinstance(i, tuple) else i for i in item]
        elif isinstance(item, bytes):
            continue  # nothing in bytes is for a client
        shaped["time" if key == "when" else _camel(key)] = item
    return shaped


# -- in


def _topic_names(fields: Fields, field: str, topics: TopicIds) -> tuple[str, ...] | None:
    items = fields.array(field, max_items=32)
    if items is None:
        return None
    names = []
    known = set(topics.values())
    for i, item in enumerate(items):
        where = fields.item_name(field, i)
        if not isinstance(item, str):
            raise bad(f"{where} must be a string (a topic's id or name)", where)
        if item.startswith(TOPIC_PREFIX):
            name = topics.get(item)
            if name is None:
                raise bad(f"{where}: no topic has the id {item[:80]}", where)
        elif item in known:
            name = item
        else:
            raise bad(f"{where}: no topic is named {item[:80]!r} (make it first: POST /topics)", where)
        names.append(name)
    return tuple(dict.fromkeys(names))


def _name(text_: str, field: str) -> str:
    if not NAME.match(text_):
        raise bad(f"{field} must be 1 to 63 letters, digits, '_', '.' and '-', beginning with a letter or digit", field)
    if text_.startswith("ocid1."):
        raise bad(f"{field} must not begin with ocid1. (ids do)", field)
    return text_


def _duration(fields: Fields, field: str, low: float, high: float) -> float | None:
    value = fields.string(field, max_length=64)
    if value is None:
        return None
    seconds = parse_iso_duration(value, field)
    if not low <= seconds <= high:
        raise bad(f"{field} must be from {iso_duration(low)} to {iso_duration(high)}", field)
    return seconds


def _steps(fields: Fields) -> tuple[float, ...] | None:
    items = fields.array("expirySteps", max_items=24)
    if items is None:
        return None
    steps = []
    for i, item in enumerate(items):
        where = fields.item_name("expirySteps", i)
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0 <= item <= 24 * 366:
            raise bad(f"{where} must be a number of hours from 0 to {24 * 366}", where)
        steps.append(float(item))
    return tuple(sorted(set(steps), reverse=True))


def alarm_from(body: Any, topics: TopicIds, current: Alarm | None = None) -> Alarm:
    """
    A C{CreateAlarmDetails} (C{current} is L{None}: C{displayName} and
    C{query} required) or C{UpdateAlarmDetails} (fields left out keep
    C{current}'s values) as an L{Alarm}.

    @raise ApiError: a field missing, of the wrong type, or out of range; a
        query that does not parse (its message says where); a destination
        that names no topic.
    """
    fields = Fields(body, ignored=READ_ONLY_ALARM_FIELDS if current is not None else ("compartmentId", "metricCompartmentId"))
    name_text = fields.string("displayName", required=current is None, max_length=255)
    namespace = fields.string("namespace", max_length=64) if current is None else None
    query_text = fields.string("query", required=current is None, max_length=2000)
    severity = fields.choice("severity", SEVERITIES)
    destinations = _topic_names(fields, "destinations", topics)
    enabled = fields.boolean("isEnabled")
    pending = _duration(fields, "pendingDuration", 0, 86400)
    repeat_given = "repeatNotificationDuration" in fields.value  # null: no repeats
    repeat = _duration(fields, "repeatNotificationDuration", 60, 7 * 86400)
    body_text = fields.string("body", max_length=1000)
    per_zone = fields.boolean("isNotificationsPerMetricDimensionEnabled") if current is None else None
    notify_on_clear = fields.boolean("notifyOnClear")
    steps = _steps(fields)
    fields.done()
    if namespace is not None and namespace not in NAMESPACES:
        raise bad(f"namespace must be {NAMESPACE} (the metrics of secdns's zones)", "namespace")
    if per_zone is False:
        raise bad("isNotificationsPerMetricDimensionEnabled must be true: secdns notifies for each zone apart", "isNotificationsPerMetricDimensionEnabled")
    if current is None:
        name = _name(name_text, "displayName")
    else:
        name = current.name
        if name_text is not None and name_text != current.name:
            raise bad("displayName cannot change: an alarm is renamed by deleting it and creating it again", "displayName")
    if query_text is not None:
        try:
            rule = parse(query_text)
        except QueryError as e:
            raise bad(f"query: {e}", "query") from None
        metric, interval, zones, statistic, operator, threshold = (
            rule.metric, rule.interval, rule.zones, rule.statistic, rule.operator, rule.threshold)
    else:
        assert current is not None
        metric, interval, zones, statistic, operator, threshold = (
            current.metric, current.interval, current.zones, current.statistic, current.operator, current.threshold)
    base = current if current is not None else Alarm(name=name, metric=metric, operator=operator, threshold=threshold)
    if steps is None:
        steps = tuple(getattr(base, "steps", ()) or ()) if base.metric == metric else ()
    if steps and metric != "ZoneExpirationInHours":
        raise bad("expirySteps is for alarms on ZoneExpirationInHours", "expirySteps")
    changes: dict[str, Any] = dict(
        name=name, metric=metric, interval=interval, zones=zones, statistic=statistic, operator=operator,
        threshold=threshold, severity=severity or base.severity,
        topics=base.topics if destinations is None else destinations,
        enabled=base.enabled if enabled is None else enabled,
        pending=base.pending if pending is None else pending,
        repeat=(None if repeat is None else repeat) if repeat_given or current is None else base.repeat,
        notify_on_clear=base.notify_on_clear if notify_on_clear is None else notify_on_clear,
        body=base.body if body_text is None else body_text,
        declared_in=None,
    )
    if "steps" in attrs.fields_dict(Alarm):
        changes["steps"] = steps
    return attrs.evolve(base, **changes)


def topic_from(body: Any, current: Topic | None = None) -> Topic:
    """
    A C{CreateTopicDetails} (C{name}, C{description}) or an
    C{UpdateTopicDetails} of C{current} (C{description}) as a L{Topic};
    subscriptions are made apart (L{subscription_from}).
    """
    fields = Fields(body, ignored=READ_ONLY_TOPIC_FIELDS if current is not None else ("compartmentId",))
    name_text = fields.string("name", required=current is None, max_length=63)
    description = fields.string("description", max_length=1024)
    fields.done()
    if description is not None and any(ord(c) < 32 and c not in "\t\n" for c in description):
        raise bad("description must not hold control characters", "description")
    if current is None:
        _name(name_text, "name")
        return Topic(name=name_text, description=description or "")
    if name_text is not None and name_text != current.name:
        raise bad("name cannot change: a topic is renamed by deleting it and creating it again", "name")
    return attrs.evolve(current, description=current.description if description is None else description)


def _stream_endpoint(endpoint: str) -> str:
    """A stream subscription made through the API writes under the state directory's C{streams/} only."""
    name = endpoint[len("streams/"):] if endpoint.startswith("streams/") else endpoint
    if not _STREAM_FILE.match(name) or ".." in name:
        raise bad("endpoint of a STREAM subscription is a file name (letters, digits, . _ -) in the state "
                  "directory's streams/ (a path elsewhere is for the config file)", "endpoint")
    return "streams/" + name


def subscription_from(body: Any, topic_value: Topic) -> Subscription:
    """
    A C{CreateSubscriptionDetails} (C{protocol}, C{endpoint}, and
    secdns's write-only C{secret}) as a L{Subscription} of C{topic_value}.

    @raise ApiError: the protocol is unknown, the endpoint cannot be
        delivered to (L{secdns.alarms.endpoints.check}), or C{topicId}
        names another topic.
    """
    fields = Fields(body, ignored=("compartmentId",))
    given_topic = fields.string("topicId", max_length=300)
    protocol_name = fields.choice("protocol", PROTOCOL_OF, required=True)
    endpoint = fields.string("endpoint", max_length=2048)
    # The secret is never put in a message: only its field name.
    secret = fields.get("secret", (str,), "a string", False)
    fields.done()
    if given_topic is not None and given_topic not in (topic_id(topic_value.name), topic_value.name):
        raise bad("topicId names another topic than the path's", "topicId")
    if secret is not None and len(secret) > 4096:
        raise bad("secret is longer than 4096 characters", "secret")
    protocol = PROTOCOL_OF[protocol_name]
    endpoint = (endpoint or "").strip()
    if protocol in ("email", "slack", "webhook", "stream") and not endpoint:
        raise missing("endpoint", f"for a {protocol_name} subscription")
    if any(ord(c) < 32 or ord(c) == 127 for c in endpoint):
        raise bad("endpoint must not hold control characters", "endpoint")
    if protocol == "stream":
        endpoint = _stream_endpoint(endpoint)
    if secret and protocol not in ("webhook", "pagerduty"):
        raise bad(f"secret is for CUSTOM_HTTPS (its HMAC key) and PAGERDUTY (its routing key), not {protocol_name}", "secret")
    sub = Subscription(protocol=protocol, endpoint=endpoint, secret=(secret or "").encode("utf-8"))
    try:
        check_endpoint(sub)
    except ValueError as e:
        raise bad(f"endpoint: {e}", "endpoint") from None
    if any(subscription_id(topic_value.name, s) == subscription_id(topic_value.name, sub) for s in topic_value.subscriptions):
        raise conflict(f"topic {topic_value.name} has this {protocol_name} subscription already")
    return sub
