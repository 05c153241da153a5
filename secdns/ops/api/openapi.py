# -*- test-case-name: tests.unit.test_api_openapi -*-
"""
The OpenAPI 3 document of the whole API, served at
C{/20180115/openapi.json}: built here, beside the shapes it describes,
and checked by tests (openapi-spec-validator, and a schemathesis run
against the live appliance: every answer must match it).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from secdns.alarms.model import SEVERITIES
from secdns.config import TSIG_ALGORITHMS
from secdns.ops.api.alarm_shapes import ALARM_STATES, NAME_PATTERN as ALARM_NAME_PATTERN, NAMESPACES as ALARM_NAMESPACES, PROTOCOLS as _PROTOCOLS
from secdns.ops.api.errors import CODES
from secdns.ops.api.operations import ACTIONS
from secdns.ops.api.record_items import OPERATIONS, SORT_KEYS
from secdns.ops.api.routing import MAX_LIMIT
from secdns.ops.api.shapes import HISTORY_METRICS, LIFECYCLE_STATES
from secdns.ops.api.statuses import MAX_MINUTES, SORT_KEYS as HEALTH_SORT_KEYS
from secdns.zones.status import HEALTHS

__all__ = ["document", "document_bytes"]

REF = "#/components/schemas/"
SUBSCRIPTION_PROTOCOLS = tuple(_PROTOCOLS.values())


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _string(description: str = "", **more: Any) -> dict[str, Any]:
    return {"type": "string", **({"description": description} if description else {}), **more}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _time(description: str) -> dict[str, Any]:
    return _nullable(_string(description + " (RFC 3339, UTC)", format="date-time"))


def _object(properties: dict[str, Any], required: tuple[str, ...] = (), description: str = "", closed: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    if closed:
        schema["additionalProperties"] = False
    return schema


def _array(items: dict[str, Any], description: str = "", **more: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **({"description": description} if description else {}), **more}


#: Base64 (RFC 4648), as a TSIG secret is written.
_BASE64 = "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"

_PEER = {
    "address": {"type": "string", "description": "IPv4 or IPv6 address", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 53},
    "tsigKeyId": _nullable(_string("the id (or, in secdns, the name) of a TSIG key", maxLength=300)),
}
_HEALTH = _string("secdns: the zone's health in one word", enum=list(HEALTHS))
_OUTCOME = _nullable(_object({
    "when": _time("when"),
    "ok": {"type": "boolean"},
    "detail": _string("why it failed, or what was done"),
}, ("when", "ok", "detail")))

_RECORD_FIELDS = {
    "domain": _string("the record's owner: a fully qualified domain name in the zone", maxLength=1100),
    "rtype": _string("the record's type: A, AAAA, MX, ...", maxLength=20),
    "rdata": _string("the record's data in presentation format; names relative to the zone's origin are completed", maxLength=70000),
    "ttl": {"type": "integer", "minimum": 0, "maximum": 2147483647},
    "recordHash": _string("the record's id in its zone (owner, type, data)", maxLength=64),
    "isProtected": {"type": "boolean", "description": "read-only: the apex SOA and NS, or every record of a zone not edited here"},
    "rrsetVersion": _string("read-only: the zone version the record was read from"),
}

SCHEMAS: dict[str, Any] = {
    "Error": _object({
        "code": _string("one of: " + ", ".join(CODES)), "message": _string(),
        "field": _string("InvalidParameter, MissingParameter: the request field the error concerns, when known, as a dotted "
                         "path of the request body (name, externalMasters[0].address, items[2].rdata) or a query parameter"),
    }, ("code", "message")),
    "ExternalMaster": _object(_PEER, ("address",), "a master a SECONDARY zone is transferred from", closed=True),
    "ExternalDownstream": _object(_PEER, ("address",), "a server that may transfer the zone, and is notified of changes", closed=True),
    "TransferAllow": _object({
        "address": _string("one IPv4 or IPv6 address (192.0.2.9), or a network (192.0.2.0/24, 2001:db8::/64)", maxLength=64),
        "tsigKeyId": _nullable(_string("the id (or the name) of the TSIG key its transfers must be signed with", maxLength=300)),
    }, ("address",), "secdns: a host or network that may transfer the zone besides its downstreams; never notified", closed=True),
    "ZoneTransferServer": _object({
        "address": _string(),
        "port": _nullable({"type": "integer"}),
        "isTransferSource": {"type": "boolean", "description": "secdns transfers and notifies from this address"},
        "isTransferDestination": {"type": "boolean", "description": "secdns answers transfers and NOTIFY here"},
    }, ("address", "port", "isTransferSource", "isTransferDestination")),
    "Nameserver": _object({"hostname": _string()}, ("hostname",)),
    "Zone": _object({
        "name": _string(),
        "id": _string(),
        "self": _string("the zone's URL"),
        "zoneType": _string(enum=["PRIMARY", "SECONDARY"]),
        "scope": _string(enum=["GLOBAL"]),
        "serial": _nullable({"type": "integer", "format": "int64"}),
        "version": _nullable(_string()),
        "lifecycleState": _string(enum=list(LIFECYCLE_STATES)),
        "timeCreated": _time("when the zone was made"),
        "isProtected": {"type": "boolean", "description": "declared in the config file: read-only here"},
        "externalMasters": _array(_ref("ExternalMaster")),
        "externalDownstreams": _array(_ref("ExternalDownstream")),
        "allowUpdate": _array(_string(), "secdns: ids of the TSIG keys whose DNS UPDATEs the zone takes"),
        "allowTransfer": _array(_ref("TransferAllow"), "secdns: who else may transfer the zone (AXFR, IXFR)"),
        "zoneTransferServers": _array(_ref("ZoneTransferServer")),
        "nameservers": _array(_ref("Nameserver")),
        "declaredIn": _nullable(_string("secdns: the config file that declares the zone; null: made through the API")),
    }, ("name", "id", "self", "zoneType", "scope", "serial", "version", "lifecycleState", "timeCreated", "isProtected",
        "externalMasters", "externalDownstreams", "zoneTransferServers", "nameservers", "declaredIn")),
    "CreateZoneDetails": _object({
        "name": _string("the zone's name", maxLength=1024),
        "zoneType": _string(enum=["PRIMARY", "SECONDARY"], default="PRIMARY"),
        "externalMasters": _array(_ref("ExternalMaster"), "required (not empty) for a SECONDARY zone", maxItems=64),
        "externalDownstreams": _array(_ref("ExternalDownstream"), maxItems=64),
        "allowUpdate": _array(_string(maxLength=300), "secdns: TSIG keys (ids or names) whose DNS UPDATEs a PRIMARY zone takes", maxItems=64),
        "allowTransfer": _array(_ref("TransferAllow"), "secdns: who else may transfer the zone (AXFR, IXFR)", maxItems=64),
        "scope": _string(enum=["GLOBAL"]),
        "compartmentId": _string("accepted and ignored"),
    }, ("name",), closed=True),
    "UpdateZoneDetails": _object({
        "externalMasters": _array(_ref("ExternalMaster"), maxItems=64),
        "externalDownstreams": _array(_ref("ExternalDownstream"), maxItems=64),
        "allowUpdate": _array(_string(maxLength=300), maxItems=64),
        "allowTransfer": _array(_ref("TransferAllow"), maxItems=64),
        "scope": _string(enum=["GLOBAL"]),
    }, description="fields left out keep their values; a GetZone answer's read-only fields may be sent back and are ignored"),
    "Record": _object(_RECORD_FIELDS, ("domain", "rtype", "rdata", "ttl", "recordHash", "isProtected", "rrsetVersion")),
    "RecordCollection": _object({"items": _array(_ref("Record"))}, ("items",)),
    "RecordDetails": _object(_RECORD_FIELDS, ("domain", "rtype", "rdata", "ttl"), closed=True),
    "RecordOperation": _object({
        **_RECORD_FIELDS,
        "operation": _string("ADD a record; REMOVE a record, an RRset (no rdata) or a domain (no rtype); REQUIRE or "
                             "PROHIBIT that one exists (preconditions, checked with the change, all or none)",
                             enum=list(OPERATIONS)),
    }, ("operation",), closed=True),
    "PatchRecordsDetails": _object({"items": _array(_ref("RecordOperation"), maxItems=50000)}, ("items",), closed=True),
    "UpdateRecordsDetails": _object({"items": _array(_ref("RecordDetails"), maxItems=50000)}, ("items",), closed=True),
    "TsigKey": _object({
        "name": _string(),
        "id": _string(),
        "self": _string(),
        "algorithm": _string(enum=list(TSIG_ALGORITHMS)),
        "lifecycleState": _string(enum=list(LIFECYCLE_STATES)),
        "timeCreated": _time("when the key was made"),
        "timeUpdated": _time("when the key last changed"),
        "isProtected": {"type": "boolean"},
        "declaredIn": _nullable(_string()),
        "zones": _array(_string(), "secdns: the zones whose masters, downstreams, allowUpdate or allowTransfer name the key"),
    }, ("name", "id", "self", "algorithm", "lifecycleState", "timeCreated", "timeUpdated", "isProtected", "declaredIn", "zones"),
        "a TSIG key: never its secret"),
    "CreateTsigKeyDetails": _object({
        "name": _string(maxLength=1024),
        "algorithm": _string(enum=list(TSIG_ALGORITHMS), default="hmac-sha256"),
        "secret": _string("the shared secret, base64; never returned", maxLength=4096, pattern=_BASE64),
        "compartmentId": _string("accepted and ignored"),
    }, ("name", "secret"), closed=True),
    "UpdateTsigKeyDetails": _object({
        "algorithm": _string(enum=list(TSIG_ALGORITHMS)),
        "secret": _string("the shared secret, base64: required, since it is never read back", maxLength=4096, pattern=_BASE64),
    }, ("secret",)),
    "MasterStatus": _object({
        "address": _string(), "port": {"type": "integer"}, "reachable": _nullable({"type": "boolean"}),
        "lastSuccess": _time("last answer"), "lastFailure": _time("last failure"), "lastError": _nullable(_string()),
        "lastSerial": _nullable({"type": "integer", "format": "int64"}),
    }, ("address", "port", "reachable", "lastSuccess", "lastFailure", "lastError", "lastSerial")),
    "DownstreamStatus": _object({
        "address": _string(), "port": {"type": "integer"}, "lastNotify": _OUTCOME, "lastTransfer": _OUTCOME,
    }, ("address", "port", "lastNotify", "lastTransfer")),
    "ZoneStatus": _object({
        "name": _string(), "id": _string(), "role": _string(enum=["primary", "secondary"]),
        "state": _string(enum=["unloaded", "loading", "loaded", "refreshing", "expired"]),
        "health": _HEALTH,
        "lifecycleState": _string(enum=list(LIFECYCLE_STATES)),
        "serial": _nullable({"type": "integer", "format": "int64"}), "records": _nullable({"type": "integer"}),
        "lastLoad": _OUTCOME, "lastFailure": _time("last failed load or refresh"), "failureReason": _nullable(_string()),
        "transfersIn": {"type": "integer"}, "transferFailures": {"type": "integer"},
        "masters": _array(_ref("MasterStatus")), "downstreams": _array(_ref("DownstreamStatus")),
        "expireAt": _time("when a secondary zone expires unless refreshed"),
        "nextEvent": _nullable(_object({"what": _string(), "when": _time("when")}, ("what", "when"))),
        "lastRefresh": _time("last successful refresh"), "declaredIn": _nullable(_string()),
        "created": _time("when the zone was made"), "file": _nullable(_string()),
    }, ("name", "id", "role", "state", "health", "lifecycleState", "serial", "records", "lastLoad", "lastFailure", "failureReason",
        "transfersIn", "transferFailures", "masters", "downstreams", "expireAt", "nextEvent", "lastRefresh", "declaredIn",
        "created", "file"), "secdns: everything the zone core knows of a zone"),
    "ZoneHealth": _object({
        "name": _string(), "zoneType": _string(enum=["PRIMARY", "SECONDARY"]), "health": _HEALTH,
        "state": _string("the zone core's state", enum=["unloaded", "loading", "loaded", "refreshing", "expired"]),
        "serial": _nullable({"type": "integer", "format": "int64"}), "records": _nullable({"type": "integer"}),
        "lastTransfer": _time("a SECONDARY: the last transfer applied; a PRIMARY: the last load"),
        "lastRefresh": _time("a SECONDARY: the last successful refresh"),
        "expiresInHours": _nullable({"type": "number", "minimum": 0, "description": "a SECONDARY: hours until it expires unless refreshed"}),
        "lastError": _nullable(_string("why the zone is failing (or expired); null otherwise")),
        "declaredIn": _nullable(_string()), "isProtected": {"type": "boolean"},
    }, ("name", "zoneType", "health", "state", "serial", "records", "lastTransfer", "lastRefresh", "expiresInHours",
        "lastError", "declaredIn", "isProtected"), "secdns: one zone's health, for the console's zone list"),
    "MetricHistory": _object({
        "zone": _string(), "start": _time("the start of the first minute"),
        "step": {"type": "integer", "enum": [60], "description": "seconds between values"},
        "metrics": _object({
            name: _array(_nullable({"type": "number"}), "one value a minute, oldest first; null: a minute not observed")
            for name in HISTORY_METRICS
        }, HISTORY_METRICS),
    }, ("zone", "start", "step", "metrics"), "secdns: a zone's per-minute metrics from the alarm engine's history"),
    "ZoneEvent": {
        **_object({"type": _string("ZoneLoaded, ZoneEdited, TransferSucceeded, TransferFailed, ZoneExpired, ..."),
                   "zone": _nullable(_string()), "time": _time("when")}, ("type", "zone", "time")),
        "additionalProperties": True,
    },
    "ActionResult": _object({
        "zone": _string(), "action": _string(enum=list(ACTIONS)),
        "downstreams": {"type": "integer", "description": "notify: how many downstreams are notified"},
    }, ("zone", "action")),
}

_HEADERS = {
    "etag": {"description": "the resource's etag, for If-Match", "schema": {"type": "string"}},
    "opc-request-id": {"description": "this request's id", "schema": {"type": "string"}},
}
_PAGED = {
    **_HEADERS,
    "opc-next-page": {"description": "the page parameter of the next page; absent on the last", "schema": {"type": "string"}},
    "opc-total-items": {"description": "how many items there are in all", "schema": {"type": "string"}},
}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        answer["headers"] = headers
    return answer


_ERROR = _json(_ref("Error"), "an error: its code and a message")


def _errors(*statuses: int) -> dict[str, Any]:
    answers = {str(status): _ERROR for status in statuses}
    answers["default"] = _ERROR
    return answers


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or {"type": "string"}}


def _path(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema or {"type": "string", "minLength": 1}}


_IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "description": "the etag the change is made against (412 if it is not current)", "schema": {"type": "string"}}
_LIMIT = _query("limit", "the most items in one answer", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100})
_PAGE = _query("page", "the opc-next-page header of the previous answer")
_SORT_ORDER = _query("sortOrder", "ASC or DESC", {"type": "string", "enum": ["ASC", "DESC"]})
_ZONE = _path("zoneNameOrId", "the zone's name or id")
_DOMAIN = _path("domain", "a fully qualified domain name in the zone")
_RTYPE = _path("rtype", "a record type: A, AAAA, MX, ...")
_KEY = _path("tsigKeyId", "the TSIG key's id or name")
_RECORD_QUERY = [
    _LIMIT, _PAGE, _query("zoneVersion", "answer only if the zone is at this version"),
    _query("domain", "only this domain's records"), _query("domainContains", "only domains containing this text"),
    _query("rtype", "only records of this type"), _query("sortBy", "domain, rtype or ttl", {"type": "string", "enum": list(SORT_KEYS)}),
    _SORT_ORDER,
]


def _operation(op_id: str, summary: str, answers: dict[str, Any], parameters: list | None = None, body: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": op_id, "summary": summary, "responses": answers}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    return operation


def _records_paths() -> dict[str, Any]:
    paths = {}
    for suffix, params, kind in (
        ("", [_ZONE], "Zone"),
        ("/{domain}", [_ZONE, _DOMAIN], "Domain"),
        ("/{domain}/{rtype}", [_ZONE, _DOMAIN, _RTYPE], "RRSet"),
    ):
        ops = {}
        get_id = "GetZoneRecords" if kind == "Zone" else ("GetDomainRecords" if kind == "Domain" else "GetRRSet")
        collection = _json(_ref("RecordCollection"), "the records (one page)", _PAGED)
        ops["get"] = _operation(get_id, f"the records of the {kind.lower()}", {"200": collection, **_errors(400, 401, 403, 404, 409)}, params + _RECORD_QUERY)
        patch_id = f"Patch{kind}Records" if kind != "RRSet" else "PatchRRSet"
        ops["patch"] = _operation(
            patch_id, "add, remove and require records, all or none: one new version",
            {"200": collection, **_errors(400, 401, 403, 404, 409, 412, 413)}, params + [_IF_MATCH, _LIMIT], "PatchRecordsDetails",
        )
        put_id = f"Update{kind}Records" if kind != "RRSet" else "UpdateRRSet"
        ops["put"] = _operation(
            put_id, "replace the records (the apex SOA and NS are kept unless given): one new version",
            {"200": collection, **_errors(400, 401, 403, 404, 409, 412, 413)}, params + [_IF_MATCH, _LIMIT], "UpdateRecordsDetails",
        )
        if kind != "Zone":
            delete_id = "DeleteDomainRecords" if kind == "Domain" else "DeleteRRSet"
            ops["delete"] = _operation(delete_id, "delete the records (not the apex SOA and NS)", {"204": {"description": "deleted"}, **_errors(400, 401, 403, 404, 409, 412)}, params + [_IF_MATCH])
        paths["/zones/{zoneNameOrId}/records" + suffix] = ops
    return paths


# -- alarms, topics, subscriptions (the cloud's Monitoring and Notifications shapes)

_ISO_DURATION = "^P([0-9]{1,6}D)?(T([0-9]{1,6}H)?([0-9]{1,8}M)?([0-9]{1,9}S)?)?$"
_ALARM_FIELDS = {
    "displayName": _string("the alarm's name (unique; alarms are named by it or by id)", pattern=ALARM_NAME_PATTERN, maxLength=63),
    "namespace": _string("the metrics' namespace: secdns (the seeds' oci_dns is accepted)", enum=list(ALARM_NAMESPACES)),
    "query": _string('the rule, in the seeds\' monitoring query language: ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3',
                     maxLength=2000),
    "severity": _string(enum=list(SEVERITIES)),
    "destinations": _array(_string("a topic's id (or, in secdns, its name)", maxLength=300), "the topics notified", maxItems=32),
    "isEnabled": {"type": "boolean"},
    "pendingDuration": _string("how long the condition must hold before the alarm fires (ISO 8601, PT0S to P1D)", pattern=_ISO_DURATION, maxLength=64),
    "repeatNotificationDuration": _nullable(_string("re-notify this often while firing (ISO 8601, PT1M to P7D); null: never",
                                                    pattern=_ISO_DURATION, maxLength=64)),
    "body": _nullable(_string("what to check, added to each notification", maxLength=1000)),
    "isNotificationsPerMetricDimensionEnabled": {"type": "boolean", "description": "always true: secdns notifies for each zone apart"},
    "notifyOnClear": {"type": "boolean", "description": "secdns: send a notice when the alarm clears for a zone"},
    "expirySteps": _array({"type": "number", "minimum": 0, "maximum": 8784},
                          "secdns: for ZoneExpirationInHours, the hours to expiry at which to notify once each (72, 24, 6, 3, 2, 1, 0)", maxItems=24),
}
_ALARM_STATE = _string("FIRING, PENDING (the condition holds, not yet for pendingDuration) or OK", enum=list(ALARM_STATES))

ALARM_SCHEMAS: dict[str, Any] = {
    "Alarm": _object({
        "id": _string(),
        **_ALARM_FIELDS,
        "namespace": _string(enum=[ALARM_NAMESPACES[0]]),
        "repeatNotificationDuration": _nullable(_string("null: never", pattern=_ISO_DURATION)),
        "lifecycleState": _string(enum=["ACTIVE", "DELETING", "DELETED"]),
        "timeCreated": _time("when the alarm was made"),
        "timeUpdated": _time("when it last changed"),
        "status": _ALARM_STATE,
        "firingZones": _array(_string(), "secdns: the zones it fires for"),
        "isProtected": {"type": "boolean", "description": "declared in the config file, or built in: read-only here"},
        "declaredIn": _nullable(_string("secdns: the config file that declares it, or built-in; null: made through the API")),
    }, ("id", "displayName", "namespace", "query", "severity", "destinations", "isEnabled", "pendingDuration",
        "repeatNotificationDuration", "body", "isNotificationsPerMetricDimensionEnabled", "notifyOnClear", "expirySteps",
        "lifecycleState", "timeCreated", "timeUpdated", "status", "firingZones", "isProtected", "declaredIn"),
        "an alarm on a metric of secdns's zones"),
    "CreateAlarmDetails": _object({
        **_ALARM_FIELDS,
        "compartmentId": _string("accepted and ignored"),
        "metricCompartmentId": _string("accepted and ignored"),
    }, ("displayName", "query"), closed=True),
    "UpdateAlarmDetails": _object(_ALARM_FIELDS, description="fields left out keep their values; a GetAlarm answer's "
                                  "read-only fields may be sent back and are ignored; displayName cannot change"),
    "AlarmDimensionState": _object({
        "zone": _string(),
        "dimensions": _object({"resourceName": _string()}, ("resourceName",)),
        "status": _ALARM_STATE,
        "timestamp": _time("when it entered that status"),
        "value": _nullable({"type": "number", "description": "the statistic's last value"}),
        "lastNotified": _time("when a notification about it was last sent"),
        "dedupKey": _nullable(_string("the same in every notification of one firing")),
    }, ("zone", "dimensions", "status", "timestamp", "value", "lastNotified", "dedupKey")),
    "AlarmStatus": _object({
        "id": _string(), "displayName": _string(), "query": _string(), "severity": _string(enum=list(SEVERITIES)),
        "isEnabled": {"type": "boolean"}, "status": _ALARM_STATE, "items": _array(_ref("AlarmDimensionState")),
    }, ("id", "displayName", "query", "severity", "isEnabled", "status", "items"), "an alarm's state for each zone"),
    "Subscription": _object({
        "id": _string(),
        "topicId": _string(),
        "protocol": _string(enum=list(SUBSCRIPTION_PROTOCOLS)),
        "endpoint": _string("an email address, a URL (shown with its path past the first segment hidden), a stream file, or empty (LOG)"),
        "hasSecret": {"type": "boolean", "description": "secdns: it has a secret (never shown)"},
        "lifecycleState": _string(enum=["PENDING", "ACTIVE", "DELETED"]),
        "isProtected": {"type": "boolean"},
        "declaredIn": _nullable(_string()),
    }, ("id", "topicId", "protocol", "endpoint", "hasSecret", "lifecycleState", "isProtected", "declaredIn"),
        "where a topic delivers: never its secret"),
    "CreateSubscriptionDetails": _object({
        "topicId": _string("the path's topic (may be left out)", maxLength=300),
        "protocol": _string(enum=list(SUBSCRIPTION_PROTOCOLS)),
        "endpoint": _string("EMAIL: an address; SLACK: an incoming-webhook URL; CUSTOM_HTTPS: the receiver's URL "
                            "(https://, or http:// to loopback); PAGERDUTY: the events URL (empty: PagerDuty's); "
                            "STREAM: a file name in the state directory's streams/; LOG: empty", maxLength=2048),
        "secret": _string("CUSTOM_HTTPS: the HMAC key; PAGERDUTY: the routing key. Never returned", maxLength=4096),
        "compartmentId": _string("accepted and ignored"),
    }, ("protocol",), closed=True),
    "NotificationTopic": _object({
        "topicId": _string(),
        "name": _string(),
        "description": _nullable(_string()),
        "lifecycleState": _string(enum=["ACTIVE", "DELETING", "CREATING"]),
        "timeCreated": _time("when the topic was made"),
        "subscriptions": _array(_ref("Subscription"), "secdns: its subscriptions"),
        "streamFile": _nullable(_string("secdns: where messages folded past 60 a minute go; null: streams/<name>.jsonl in the state directory")),
        "alarms": _array(_string(), "secdns: the alarms that send to it"),
        "isProtected": {"type": "boolean"},
        "declaredIn": _nullable(_string()),
    }, ("topicId", "name", "description", "lifecycleState", "timeCreated", "subscriptions", "streamFile", "alarms",
        "isProtected", "declaredIn"), "a named set of subscriptions that alarms send to"),
    "CreateTopicDetails": _object({
        "name": _string("letters, digits, '_', '.' and '-'", pattern=ALARM_NAME_PATTERN, maxLength=63),
        "description": _string(maxLength=1024),
        "compartmentId": _string("accepted and ignored"),
    }, ("name",), closed=True),
    "UpdateTopicDetails": _object({"description": _string(maxLength=1024)}, description="a GetTopic answer's read-only fields may be sent back and are ignored"),
    "TestNotificationResult": _object({
        "topicId": _string(), "name": _string(),
        "results": _array(_object({
            "subscription": _string("the subscription, as the log names it (URLs redacted)"),
            "delivered": {"type": "boolean"},
            "detail": _string("what the receiver answered, or why it failed"),
        }, ("subscription", "delivered", "detail"))),
    }, ("topicId", "name", "results")),
    "Notification": {
        **_object({"alarm": _string(), "zone": _string(), "state": _string(), "time": _time("when")}),
        "additionalProperties": True,
        "description": "secdns: a notification sent (alarm, zone, state, severity, value, dedupKey, title, body, ...)",
    },
}


def _alarm_paths() -> dict[str, Any]:
    alarm = _json(_ref("Alarm"), "the alarm", _HEADERS)
    topic = _json(_ref("NotificationTopic"), "the topic", _HEADERS)
    subscription = _json(_ref("Subscription"), "the subscription", _HEADERS)
    alarm_id = _path("alarmId", "the alarm's id or name")
    topic_id = _path("topicId", "the topic's id or name")
    subscription_id = _path("subscriptionId", "the subscription's id")
    return {
        "/alarms": {
            "get": _operation("ListAlarms", "the alarms: built in, config-declared and made here", {"200": _json(_array(_ref("Alarm")), "the alarms (one page)", _PAGED), **_errors(400, 401, 403, 503)}, [
                _LIMIT, _PAGE, _query("displayName", "only the alarm of this name"),
                _query("lifecycleState", "only alarms in this state", {"type": "string", "enum": ["ACTIVE", "DELETING", "DELETED"]}),
                _query("status", "only alarms in this status", {"type": "string", "enum": list(ALARM_STATES)}),
                _query("sortBy", "displayName or severity", {"type": "string", "enum": ["displayName", "severity"]}), _SORT_ORDER,
                _query("compartmentId", "accepted and ignored"),
            ]),
            "post": _operation("CreateAlarm", "make an alarm", {"201": alarm, **_errors(400, 401, 403, 409, 413, 503)}, body="CreateAlarmDetails"),
        },
        "/alarms/{alarmId}": {
            "get": _operation("GetAlarm", "one alarm", {"200": alarm, **_errors(400, 401, 403, 404, 503)}, [alarm_id]),
            "put": _operation("UpdateAlarm", "change an alarm made here", {"200": alarm, **_errors(400, 401, 403, 404, 409, 412, 413, 503)}, [alarm_id, _IF_MATCH], "UpdateAlarmDetails"),
            "delete": _operation("DeleteAlarm", "forget an alarm made here", {"204": {"description": "deleted"}, **_errors(400, 401, 403, 404, 409, 412, 503)}, [alarm_id, _IF_MATCH]),
        },
        "/alarms/{alarmId}/status": {
            "get": _operation("GetAlarmStatus", "the alarm's state for each zone", {"200": _json(_ref("AlarmStatus"), "its states", _HEADERS), **_errors(400, 401, 403, 404, 503)}, [alarm_id]),
        },
        "/topics": {
            "get": _operation("ListTopics", "the notification topics", {"200": _json(_array(_ref("NotificationTopic")), "the topics (one page)", _PAGED), **_errors(400, 401, 403, 503)}, [
                _LIMIT, _PAGE, _query("name", "only the topic of this name"),
                _query("lifecycleState", "only topics in this state", {"type": "string", "enum": ["ACTIVE", "DELETING", "CREATING"]}),
                _query("sortBy", "name", {"type": "string", "enum": ["name"]}), _SORT_ORDER, _query("compartmentId", "accepted and ignored"),
            ]),
            "post": _operation("CreateTopic", "make a topic", {"201": topic, **_errors(400, 401, 403, 409, 413, 503)}, body="CreateTopicDetails"),
        },
        "/topics/{topicId}": {
            "get": _operation("GetTopic", "one topic", {"200": topic, **_errors(400, 401, 403, 404, 503)}, [topic_id]),
            "put": _operation("UpdateTopic", "change a topic's description", {"200": topic, **_errors(400, 401, 403, 404, 409, 412, 413, 503)}, [topic_id, _IF_MATCH], "UpdateTopicDetails"),
            "delete": _operation("DeleteTopic", "forget a topic no alarm sends to", {"204": {"description": "deleted"}, **_errors(400, 401, 403, 404, 409, 412, 503)}, [topic_id, _IF_MATCH]),
        },
        "/topics/{topicId}/subscriptions": {
            "get": _operation("ListSubscriptions", "the topic's subscriptions (never their secrets)", {"200": _json(_array(_ref("Subscription")), "the subscriptions (one page)", _PAGED), **_errors(400, 401, 403, 404, 503)}, [topic_id, _LIMIT, _PAGE]),
            "post": _operation("CreateSubscription", "subscribe an endpoint to the topic", {"201": subscription, **_errors(400, 401, 403, 404, 409, 413, 503)}, [topic_id], "CreateSubscriptionDetails"),
        },
        "/topics/{topicId}/actions/sendTestNotification": {
            "post": _operation("SendTestNotification", "secdns: send one test message to each of the topic's subscriptions, and say how each went",
                               {"200": _json(_ref("TestNotificationResult"), "each subscription's outcome"), **_errors(400, 401, 403, 404, 503)}, [topic_id]),
        },
        "/subscriptions/{subscriptionId}": {
            "get": _operation("GetSubscription", "one subscription", {"200": subscription, **_errors(400, 401, 403, 404, 503)}, [subscription_id]),
            "delete": _operation("DeleteSubscription", "unsubscribe", {"204": {"description": "deleted"}, **_errors(400, 401, 403, 404, 409, 412, 503)}, [subscription_id, _IF_MATCH]),
        },
        "/notifications": {
            "get": _operation("ListNotifications", "secdns: the notifications sent lately, oldest first", {"200": _json(_array(_ref("Notification")), "the notifications", _HEADERS), **_errors(400, 401, 403, 503)}, [
                _query("since", "only those from this time on (RFC 3339, or seconds since the epoch)"),
                _query("zone", "only this zone's"), _query("alarm", "only this alarm's"),
                _query("limit", "the last this many", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}),
            ]),
        },
    }


def document() -> dict[str, Any]:
    """The OpenAPI 3.0 document."""
    zone = _json(_ref("Zone"), "the zone", _HEADERS)
    key = _json(_ref("TsigKey"), "the TSIG key", _HEADERS)
    paths: dict[str, Any] = {
        "/zones": {
            "get": _operation("ListZones", "the zones: config-declared and made here", {"200": _json(_array(_ref("Zone")), "the zones (one page)", _PAGED), **_errors(400, 401, 403)}, [
                _LIMIT, _PAGE, _query("name", "only the zone of this name"), _query("nameContains", "only zones whose name contains this"),
                _query("zoneType", "PRIMARY or SECONDARY", {"type": "string", "enum": ["PRIMARY", "SECONDARY"]}),
                _query("lifecycleState", "only zones in this state", {"type": "string", "enum": list(LIFECYCLE_STATES)}),
                _query("sortBy", "name, zoneType or timeCreated", {"type": "string", "enum": ["name", "zoneType", "timeCreated"]}), _SORT_ORDER,
                _query("compartmentId", "accepted and ignored"),
            ]),
            "post": _operation("CreateZone", "make a zone: a SECONDARY is transferred at once, a PRIMARY starts with an SOA and NS",
                               {"201": zone, **_errors(400, 401, 403, 409, 413)}, body="CreateZoneDetails"),
        },
        "/zones/{zoneNameOrId}": {
            "get": _operation("GetZone", "one zone", {"200": zone, **_errors(400, 401, 403, 404)}, [_ZONE]),
            "put": _operation("UpdateZone", "change a zone's masters, downstreams, update keys or transfer ACL", {"200": zone, **_errors(400, 401, 403, 404, 409, 412, 413)}, [_ZONE, _IF_MATCH], "UpdateZoneDetails"),
            "delete": _operation("DeleteZone", "stop serving a zone and forget it", {"204": {"description": "deleted"}, **_errors(400, 401, 403, 404, 409, 412)}, [_ZONE, _IF_MATCH]),
        },
        **_records_paths(),
        "/zones/{zoneNameOrId}/status": {
            "get": _operation("GetZoneStatus", "secdns: everything the zone core knows of the zone", {"200": _json(_ref("ZoneStatus"), "the status", _HEADERS), **_errors(400, 401, 403, 404)}, [_ZONE]),
        },
        "/zones/{zoneNameOrId}/metricHistory": {
            "get": _operation("GetZoneMetricHistory", "secdns: the zone's last minutes of transfer counts and hours to expiry",
                              {"200": _json(_ref("MetricHistory"), "the history", _HEADERS), **_errors(400, 401, 403, 404, 503)}, [
                _ZONE, _query("minutes", "how many minutes, up to now", {"type": "integer", "minimum": 1, "maximum": MAX_MINUTES, "default": MAX_MINUTES}),
            ]),
        },
        "/zoneStatuses": {
            "get": _operation("ListZoneStatuses", "secdns: every zone's health", {"200": _json(_array(_ref("ZoneHealth")), "the zones (one page)", _PAGED), **_errors(400, 401, 403)}, [
                _LIMIT, _PAGE, _query("nameContains", "only zones whose name contains this"),
                _query("health", "only zones of this health", {"type": "string", "enum": list(HEALTHS)}),
                _query("zoneType", "PRIMARY or SECONDARY", {"type": "string", "enum": ["PRIMARY", "SECONDARY"]}),
                _query("sortBy", "the field to sort by", {"type": "string", "enum": list(HEALTH_SORT_KEYS)}), _SORT_ORDER,
            ]),
        },
        "/zones/{zoneNameOrId}/actions/{action}": {
            "post": _operation("ZoneAction", "secdns: refresh or retransfer a SECONDARY zone now; NOTIFY a zone's downstreams now",
                               {"202": _json(_ref("ActionResult"), "accepted: the work goes on"), **_errors(400, 401, 403, 404, 409)},
                               [_ZONE, _path("action", "refresh, retransfer or notify", {"type": "string", "enum": list(ACTIONS)})]),
        },
        "/tsigKeys": {
            "get": _operation("ListTsigKeys", "the TSIG keys (never their secrets)", {"200": _json(_array(_ref("TsigKey")), "the keys (one page)", _PAGED), **_errors(400, 401, 403)}, [
                _LIMIT, _PAGE, _query("name", "only the key of this name"),
                _query("lifecycleState", "only keys in this state", {"type": "string", "enum": list(LIFECYCLE_STATES)}),
                _query("sortBy", "name or timeCreated", {"type": "string", "enum": ["name", "timeCreated"]}), _SORT_ORDER,
                _query("compartmentId", "accepted and ignored"),
            ]),
            "post": _operation("CreateTsigKey", "make a TSIG key", {"201": key, **_errors(400, 401, 403, 409, 413)}, body="CreateTsigKeyDetails"),
        },
        "/tsigKeys/{tsigKeyId}": {
            "get": _operation("GetTsigKey", "one TSIG key", {"200": key, **_errors(400, 401, 403, 404)}, [_KEY]),
            "put": _operation("UpdateTsigKey", "change a key's algorithm and secret", {"200": key, **_errors(400, 401, 403, 404, 409, 412, 413)}, [_KEY, _IF_MATCH], "UpdateTsigKeyDetails"),
            "delete": _operation("DeleteTsigKey", "forget a key no zone uses", {"204": {"description": "deleted"}, **_errors(400, 401, 403, 404, 409, 412)}, [_KEY, _IF_MATCH]),
        },
        "/zoneTransferServers": {
            "get": _operation("ListZoneTransferServers", "the addresses secdns transfers from and answers transfers on",
                              {"200": _json(_array(_ref("ZoneTransferServer")), "the servers", _HEADERS), **_errors(401, 403)},
                              [_query("compartmentId", "accepted and ignored")]),
        },
        "/events": {
            "get": _operation("ListEvents", "secdns: the zone core's recent events, oldest first", {"200": _json(_array(_ref("ZoneEvent")), "the events", _HEADERS), **_errors(400, 401, 403)}, [
                _query("zone", "only this zone's events"), _query("since", "only events from this time on (RFC 3339, or seconds since the epoch)"),
                _query("limit", "the last this many", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}),
            ]),
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "secdns API",
            "version": "20180115",
            "description": "secdns's operator API, shaped like the cloud DNS API (version 20180115) for zones, records, "
                           "TSIG keys and zone transfer servers, with secdns's own zone status, actions and events, and alarms, "
                           "notification topics and subscriptions shaped like the cloud's Monitoring and Notifications APIs. "
                           "Errors are {code, message} (and field, when known). With a token file, every request needs Authorization: Bearer.",
        },
        "servers": [{"url": "/20180115"}],
        "security": [{"bearer": []}, {}],
        "paths": {**paths, **_alarm_paths()},
        "components": {
            "schemas": {**SCHEMAS, **ALARM_SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "a token from [http] token_file"}},
        },
    }


@functools.cache
def document_bytes() -> bytes:
    return json.dumps(document(), indent=1, sort_keys=False).encode("utf-8")
