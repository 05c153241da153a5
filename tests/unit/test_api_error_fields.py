"""
The errors' C{field}: a 400 names the request field it concerns, as a
dotted path of the body, for each kind of body the console sends (zones,
TSIG keys, record PATCH items, alarms, topics, subscriptions), and for the
core's refusals whose field the API can tell.
"""

from __future__ import annotations

import pytest
from twisted.python.failure import Failure

from secdns.ops.alarms import errors as alarm_errors
from secdns.ops.api import alarms as alarm_routes
from secdns.ops.api.errors import ApiError, field_of
from tests.unit.test_api_alarms import FAILURES, MemoryEngine, make_topic
from tests.unit.test_api_alarms import Client as AlarmClient
from tests.unit.test_api_resource import SECRET, Client, site_  # noqa: F401 (a fixture)


@pytest.fixture
def client(site_):  # noqa: F811
    return Client(site_.registry)


def field(answer) -> tuple[int, str, str | None]:
    body = answer.json
    return answer.status, body["code"], body.get("field")


BAD = (400, "InvalidParameter")
MISSING = (400, "MissingParameter")


@pytest.mark.parametrize("body, expected", [
    ({"name": ""}, (*BAD, "name")),
    ({"name": "a..b"}, (*BAD, "name")),
    ({"name": 7}, (*BAD, "name")),
    ({"name": "example.net", "zoneType": "TERTIARY"}, (*BAD, "zoneType")),
    ({"name": "example.net", "zoneType": "SECONDARY"}, (*MISSING, "externalMasters")),
    ({"name": "example.net", "zoneType": "SECONDARY", "externalMasters": [{"address": "192.0.2.1"}, {"address": "nope"}]},
     (*BAD, "externalMasters[1].address")),
    ({"name": "example.net", "zoneType": "SECONDARY", "externalMasters": [{"address": "192.0.2.1", "port": 70000}]},
     (*BAD, "externalMasters[0].port")),
    ({"name": "example.net", "zoneType": "SECONDARY", "externalMasters": [{}]}, (*MISSING, "externalMasters[0].address")),
    ({"name": "example.net", "zoneType": "SECONDARY", "externalMasters": [{"address": "192.0.2.1", "colour": "red"}]},
     (*BAD, "externalMasters[0].colour")),
    ({"name": "example.net", "allowTransfer": [{"address": "192.0.2.0/33"}]}, (*BAD, "allowTransfer[0].address")),
    ({"name": "example.net", "colour": "red"}, (*BAD, "colour")),
])
def test_create_zone(client, body, expected):
    assert field(client("POST", "/zones", body)) == expected


def test_create_zone_naming_a_key_the_core_does_not_know(client):
    """The core refuses the unknown key by its name; the API says which field named it."""
    body = {"name": "example.net", "zoneType": "SECONDARY", "externalMasters": [
        {"address": "192.0.2.1"}, {"address": "192.0.2.2", "tsigKeyId": "no-such-key"}]}
    answer = client("POST", "/zones", body)
    assert field(answer) == (*BAD, "externalMasters[1].tsigKeyId")
    assert "no-such-key" in answer.json["message"]


def test_update_zone(client):
    assert client("POST", "/zones", {"name": "example.net"}).status == 201
    answer = client("PUT", "/zones/example.net", {"externalDownstreams": [{"address": "192.0.2.1"}, {"address": "x"}]})
    assert field(answer) == (*BAD, "externalDownstreams[1].address")
    assert field(client("PUT", "/zones/example.net", {"allowUpdate": ["nokey"]})) == (*BAD, "allowUpdate[0]")
    assert field(client("PUT", "/zones/example.net", {"zoneType": "SECONDARY"})) == (*BAD, "zoneType")


@pytest.mark.parametrize("body, expected", [
    ({"algorithm": "hmac-sha256", "secret": SECRET}, (*MISSING, "name")),
    ({"name": "k2", "secret": "not base64!"}, (*BAD, "secret")),
    ({"name": "k2"}, (*MISSING, "secret")),
    ({"name": "k2", "algorithm": "hmac-md4", "secret": SECRET}, (*BAD, "algorithm")),
])
def test_create_tsig_key(client, body, expected):
    answer = client("POST", "/tsigKeys", body)
    assert field(answer) == expected
    assert SECRET not in answer.raw.decode()


def test_record_patch_items(client):
    assert client("POST", "/zones", {"name": "example.net"}).status == 201
    records = "/zones/example.net/records"
    add = {"operation": "ADD", "domain": "www.example.net", "rtype": "A", "rdata": "192.0.2.1", "ttl": 300}
    cases = [
        ([add, {**add, "rdata": "not-an-address"}], (*BAD, "items[1].rdata")),
        ([{**add, "domain": "www.example.org"}], (*BAD, "items[0].domain")),
        ([{**add, "rtype": "NOPE"}], (*BAD, "items[0].rtype")),
        ([{**add, "ttl": -1}], (*BAD, "items[0].ttl")),
        ([add, add, {key: value for key, value in add.items() if key != "ttl"}], (*BAD, "items[2].ttl")),
        ([add, {**add, "operation": "MOVE"}], (*BAD, "items[1].operation")),
        ([add, {**add, "domain": "www.example.net", "rtype": "SOA", "rdata": "ns1 host 1 2 3 4 5"}], (*BAD, "items[1].domain")),
    ]
    for items, expected in cases:
        assert field(client("PATCH", records, {"items": items})) == expected, items


@pytest.fixture
def alarms():
    return AlarmClient(MemoryEngine())


def test_create_alarm(alarms):
    make_topic(alarms)
    good = {"displayName": "failures", "query": FAILURES, "destinations": ["ops"]}
    assert field(alarms("POST", "/alarms", {**good, "displayName": "no spaces"})) == (*BAD, "displayName")
    assert field(alarms("POST", "/alarms", {**good, "query": "nonsense"})) == (*BAD, "query")
    assert field(alarms("POST", "/alarms", {**good, "destinations": ["ops", "nope"]})) == (*BAD, "destinations[1]")
    assert field(alarms("POST", "/alarms", {**good, "pendingDuration": "5 minutes"})) == (*BAD, "pendingDuration")
    assert field(alarms("POST", "/alarms", {**good, "severity": "DIRE"})) == (*BAD, "severity")
    assert field(alarms("POST", "/alarms", {"query": FAILURES})) == (*MISSING, "displayName")


def test_create_topic_and_subscription(alarms):
    assert field(alarms("POST", "/topics", {"name": "has space"})) == (*BAD, "name")
    assert field(alarms("POST", "/topics", {"name": "ops", "description": "a\x01b"})) == (*BAD, "description")
    path = f"/topics/{make_topic(alarms)['topicId']}/subscriptions"
    assert field(alarms("POST", path, {"protocol": "PIGEON", "endpoint": "x"})) == (*BAD, "protocol")
    assert field(alarms("POST", path, {"protocol": "EMAIL"})) == (*MISSING, "endpoint")
    assert field(alarms("POST", path, {"protocol": "EMAIL", "endpoint": "not an address"})) == (*BAD, "endpoint")
    assert field(alarms("POST", path, {"protocol": "EMAIL", "endpoint": "ops@example.com", "secret": "s"})) == (*BAD, "secret")


def test_the_engines_refusals_are_given_the_request_field():
    """The engine names an alarm's fields as the config does (topics, steps); the API as the request does."""
    def refused(message, names):
        with pytest.raises(ApiError) as raised:
            alarm_routes._refused(Failure(alarm_errors.InvalidRequest(message)), names)
        return raised.value.field

    assert refused("steps: are for ZoneExpirationInHours alarms only", alarm_routes._alarm_field) == "expirySteps"
    assert refused("topics[1]: 'x y' is not a topic name", alarm_routes._alarm_field) == "destinations"
    assert refused("no topic ops", alarm_routes._alarm_field) == "destinations"
    assert refused("interval: must be whole minutes", alarm_routes._alarm_field) == "query"
    assert refused("colour: unknown", alarm_routes._alarm_field) is None
    assert refused("name: 'x y' is not a name", alarm_routes._topic_field) == "name"


def test_field_of_reads_only_a_path_prefix():
    same = lambda path: path  # noqa: E731
    assert field_of("externalMasters[0].tsigKeyId: no key k", same) == "externalMasters[0].tsigKeyId"
    assert field_of("zone example.com is a primary zone: ...", same) is None
    assert field_of("no TSIG key k", same) is None
    assert field_of("name: bad", lambda path: None) is None


def test_no_field_for_other_errors(client):
    assert "field" not in client("GET", "/zones/example.net").json
    assert "field" not in client("POST", "/zones", b"{not json").json
    assert "field" not in client("GET", "/zones/a..b/status").json  # a path's name, not a body field
