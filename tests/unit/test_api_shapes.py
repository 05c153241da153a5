"""secdns.ops.api.shapes and ids: the core's values as the cloud API's shapes, and request bodies as config values."""

from __future__ import annotations

import base64

import dns.name
import pytest

from secdns.config import Config, Endpoint, PeerConfig, ServerConfig, TsigKeyConfig, ZoneConfig
from secdns.ops.api import shapes
from secdns.ops.api.errors import ApiError
from secdns.ops.api.ids import KEY_PREFIX, ZONE_PREFIX, key_id, record_hash, zone_id
from secdns.zones.events import TransferFailed, TransferSucceeded
from secdns.zones.status import DownstreamStatus, KeyStatus, MasterStatus, Outcome, ZoneStatus

COM = dns.name.from_text("example.com")
K1 = dns.name.from_text("k1")
KEYS = {key_id(K1): K1}
SECRET = base64.b64encode(b"very secret bytes, 32 of them!!!").decode()


def status(**changes) -> ZoneStatus:
    values = dict(
        name="example.com", role="secondary", state="loaded", serial=7, records=10, last_load=Outcome(1000.0, True),
        last_failure=None, failure_reason=None, transfers_in=1, transfer_failures=0,
        masters=(MasterStatus("192.0.2.1", 53, True, 1000.0, None, None, 7),),
        downstreams=(DownstreamStatus("198.51.100.7", 5300, Outcome(1001.5, False, "timed out"), None),),
        expire_at=90000.0, next_event=("refresh", 4600.0), last_refresh=1000.0, declared_in=None, created=500.0,
    )
    values.update(changes)
    return ZoneStatus(**values)


def refusal(f, *args, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as caught:
        f(*args, **kwargs)
    return caught.value


class TestIds:
    def test_ids_are_stable_opaque_and_case_blind(self):
        """A zone's id is the same for any spelling of its name, and different from its key namesake's."""
        assert zone_id("Example.COM.") == zone_id("example.com") == zone_id(COM)
        assert zone_id("example.com").startswith(ZONE_PREFIX) and "example" not in zone_id("example.com")
        assert key_id("example.com").startswith(KEY_PREFIX) and key_id("example.com")[-32:] != zone_id("example.com")[-32:]

    def test_record_hash_ignores_ttl_and_owner_case(self):
        assert record_hash("WWW.example.com", "A", b"\xc0\x00\x02\x01") == record_hash("www.example.com.", "A", b"\xc0\x00\x02\x01")
        assert record_hash("www.example.com", "A", b"\xc0\x00\x02\x01") != record_hash("www.example.com", "A", b"\xc0\x00\x02\x02")


class TestOut:
    def test_zone_shape(self):
        """A secondary zone as a Zone: cloud fields, peers with key ids, transfer servers, nameservers."""
        config = ZoneConfig(COM, "secondary", external_masters=(PeerConfig("192.0.2.1", 53, K1),))
        body = shapes.zone(status(), config, "http://h:1/20180115", [{"address": "127.0.0.1"}], ["ns1.example.com"])
        assert body["id"] == zone_id("example.com") and body["self"] == "http://h:1/20180115/zones/example.com"
        assert (body["zoneType"], body["serial"], body["version"], body["lifecycleState"]) == ("SECONDARY", 7, "7", "ACTIVE")
        assert body["timeCreated"] == "1970-01-01T00:08:20.000Z"
        assert body["externalMasters"] == [{"address": "192.0.2.1", "port": 53, "tsigKeyId": key_id(K1)}]
        assert body["nameservers"] == [{"hostname": "ns1.example.com"}]
        assert body["isProtected"] is False and body["declaredIn"] is None

    @pytest.mark.parametrize(
        "changes, state",
        [
            ({}, "ACTIVE"),
            ({"state": "refreshing"}, "ACTIVE"),
            ({"state": "expired"}, "FAILED"),
            ({"state": "unloaded", "serial": None, "last_load": None, "transfers_in": 0}, "CREATING"),
            ({"state": "unloaded", "serial": None, "transfer_failures": 2}, "FAILED"),
            ({"state": "loading", "serial": None, "last_load": None}, "CREATING"),
        ],
    )
    def test_lifecycle_state(self, changes, state):
        assert shapes.lifecycle_state(status(**changes)) == state

    def test_zone_status_in_camel_case(self):
        """Everything of the core's status, camelCase, times in RFC 3339."""
        body = shapes.zone_status(status())
        assert body["masters"][0] == {
            "address": "192.0.2.1", "port": 53, "reachable": True, "lastSuccess": "1970-01-01T00:16:40.000Z",
            "lastFailure": None, "lastError": None, "lastSerial": 7,
        }
        assert body["downstreams"][0]["lastNotify"] == {"when": "1970-01-01T00:16:41.500Z", "ok": False, "detail": "timed out"}
        assert body["nextEvent"] == {"what": "refresh", "when": "1970-01-01T01:16:40.000Z"}
        assert (body["transfersIn"], body["expireAt"]) == (1, "1970-01-02T01:00:00.000Z")

    def test_tsig_key_never_has_a_secret(self):
        body = shapes.tsig_key(KeyStatus("k1", "hmac-sha256", "/etc/secdns.toml", 1.0, 2.0, ("example.com",)), "http://h/20180115")
        assert "secret" not in body
        assert (body["id"], body["isProtected"], body["zones"]) == (key_id("k1"), True, ["example.com"])

    def test_transfer_servers(self):
        """The listen addresses are destinations; transfer_source is the source, listed apart if it is not one of them."""
        config = Config(server=ServerConfig(listen=(Endpoint("192.0.2.53", 53), Endpoint("::1", 53)), transfer_source="192.0.2.54"))
        assert shapes.transfer_servers(config) == [
            {"address": "192.0.2.53", "port": 53, "isTransferSource": False, "isTransferDestination": True},
            {"address": "::1", "port": 53, "isTransferSource": False, "isTransferDestination": True},
            {"address": "192.0.2.54", "port": None, "isTransferSource": True, "isTransferDestination": False},
        ]
        same = Config(server=ServerConfig(listen=(Endpoint("192.0.2.53", 53),), transfer_source="192.0.2.53"))
        assert shapes.transfer_servers(same)[0]["isTransferSource"] is True and len(shapes.transfer_servers(same)) == 1

    def test_events(self):
        """An event: its type, zone and time, then its own fields in camelCase (times as RFC 3339)."""
        ok = shapes.event(TransferSucceeded("example.com", 0.0, "IXFR", 7, 8, "192.0.2.1#53", 10, 0.5))
        assert ok == {
            "type": "TransferSucceeded", "zone": "example.com", "time": "1970-01-01T00:00:00.000Z", "kind": "IXFR",
            "serialFrom": 7, "serialTo": 8, "master": "192.0.2.1#53", "records": 10, "seconds": 0.5, "messages": 0, "size": 0,
        }
        failed = shapes.event(TransferFailed("example.com", 0.0, None, "refused", retry_at=60.0))
        assert failed["retryAt"] == "1970-01-01T00:01:00.000Z"


class TestZoneIn:
    def test_create_secondary(self):
        """A CreateZoneDetails for a secondary, with a key by id and one by name."""
        config = shapes.zone_config(
            {
                "name": "Example.com", "zoneType": "SECONDARY", "compartmentId": "ocid1.compartment..x",
                "externalMasters": [{"address": "192.0.2.1", "tsigKeyId": key_id(K1)}, {"address": "2001:db8::1", "port": 5300, "tsigKeyId": "k2"}],
            },
            KEYS,
        )
        assert config == ZoneConfig(
            dns.name.from_text("Example.com"), "secondary",
            external_masters=(PeerConfig("192.0.2.1", 53, K1), PeerConfig("2001:db8::1", 5300, dns.name.from_text("k2"))),
        )

    def test_create_primary_is_the_default_and_dynamic(self):
        config = shapes.zone_config({"name": "example.net"}, KEYS)
        assert config.type == "primary" and config.dynamic

    @pytest.mark.parametrize(
        "body, code, message",
        [
            ({}, "MissingParameter", "name is required"),
            ({"name": "example.com", "zoneType": "SECONDARY"}, "MissingParameter", "externalMasters is required when zoneType is SECONDARY"),
            ({"name": "example.com", "zoneType": "SECONDARY", "externalMasters": []}, "InvalidParameter", "at least one master"),
            ({"name": "example.com", "externalMasters": [{"address": "192.0.2.1"}]}, "InvalidParameter", "for SECONDARY zones"),
            ({"name": "a..b"}, "InvalidParameter", "name is not a domain name"),
            ({"name": "x" * 64 + ".com"}, "InvalidParameter", "name is not a domain name"),
            ({"name": ""}, "InvalidParameter", "name is empty"),
            ({"name": 5}, "InvalidParameter", "name must be a string, not a number"),
            ({"name": "example.com", "zoneType": "TERTIARY"}, "InvalidParameter", "zoneType must be one of PRIMARY, SECONDARY"),
            ({"name": "example.com", "scope": "PRIVATE"}, "InvalidParameter", "scope must be GLOBAL"),
            ({"name": "example.com", "externalDownstreams": [{"address": "example.net"}]}, "InvalidParameter", "externalDownstreams[0].address is not an IP address"),
            ({"name": "example.com", "externalDownstreams": [{"address": "192.0.2.1", "port": 0}]}, "InvalidParameter", "externalDownstreams[0].port must be from 1 to 65535"),
            ({"name": "example.com", "externalDownstreams": [{"address": "192.0.2.1", "tsigKeyId": KEY_PREFIX + "0" * 32}]}, "InvalidParameter", "no TSIG key has the id"),
            ({"name": "example.com", "externalDownstreams": [{"address": "192.0.2.1"}, {"address": "192.0.2.1", "port": 53}]}, "InvalidParameter", "listed twice"),
            ({"name": "example.com", "externalDownstreams": "192.0.2.1"}, "InvalidParameter", "externalDownstreams must be an array"),
            ({"name": "example.com", "externalDownstreams": [17]}, "InvalidParameter", "externalDownstreams[0] must be a JSON object"),
            ({"name": "example.com", "freeformTags": {}}, "InvalidParameter", 'unknown field "freeformTags"'),
            ({"name": "example.com", "zoneType": "SECONDARY", "externalMasters": [{"address": "192.0.2.1"}], "allowUpdate": ["k1"]}, "InvalidParameter", "allowUpdate is for PRIMARY zones"),
        ],
    )
    def test_create_refusals(self, body, code, message):
        error = refusal(shapes.zone_config, body, KEYS)
        assert error.code == code and message in error.message

    def test_update_keeps_what_is_left_out(self):
        """An UpdateZoneDetails changes the fields it gives, and ignores a GetZone answer's read-only fields."""
        current = ZoneConfig(COM, "secondary", external_masters=(PeerConfig("192.0.2.1"),), external_downstreams=(PeerConfig("192.0.2.9"),))
        config = shapes.zone_config({"externalMasters": [{"address": "192.0.2.2"}], "id": "x", "serial": 7, "name": "example.com."}, KEYS, current)
        assert config.external_masters == (PeerConfig("192.0.2.2"),) and config.external_downstreams == current.external_downstreams

    def test_update_cannot_rename_or_change_type(self):
        current = ZoneConfig(COM, "secondary", external_masters=(PeerConfig("192.0.2.1"),))
        assert "name cannot change" in refusal(shapes.zone_config, {"name": "example.net"}, KEYS, current).message
        assert "zoneType cannot change" in refusal(shapes.zone_config, {"zoneType": "PRIMARY"}, KEYS, current).message
        assert "at least one master" in refusal(shapes.zone_config, {"externalMasters": []}, KEYS, current).message


class TestKeyIn:
    def test_create(self):
        key = shapes.key_config({"name": "k2", "algorithm": "HMAC-SHA512", "secret": SECRET, "compartmentId": "x"})
        assert key == TsigKeyConfig(dns.name.from_text("k2"), "hmac-sha512", base64.b64decode(SECRET))

    @pytest.mark.parametrize(
        "body, message",
        [
            ({"name": "k2"}, "secret is required"),
            ({"name": "k2", "secret": "!!not base64!!"}, "secret is not valid base64"),
            ({"name": "k2", "secret": ""}, "secret is empty"),
            ({"name": "k2", "secret": 123456}, "secret must be a string (base64), not a number"),
            ({"name": "k2", "secret": SECRET, "algorithm": "hmac-sha3"}, "algorithm must be one of"),
        ],
    )
    def test_refusals_never_hold_the_secret(self, body, message):
        """Each refusal says what is wrong with the secret without repeating it."""
        error = refusal(shapes.key_config, body)
        assert message in error.message
        assert "not base64" not in error.message.replace("not valid base64", "") and "123456" not in error.message

    def test_update_needs_the_secret(self):
        current = KeyStatus("k2", "hmac-sha256", None, 1.0, 1.0, ())
        assert refusal(shapes.key_config, {"algorithm": "hmac-sha512"}, current).code == "MissingParameter"
        key = shapes.key_config({"algorithm": "hmac-sha512", "secret": SECRET, "id": key_id("k2")}, current)
        assert (key.algorithm, key.secret) == ("hmac-sha512", base64.b64decode(SECRET))
        assert "name cannot change" in refusal(shapes.key_config, {"name": "k3", "secret": SECRET}, current).message
