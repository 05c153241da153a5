"""The API's C{allowTransfer} (a secdns extension of C{Zone}): shapes in and out, the etag, the store's copy."""

from __future__ import annotations

import dns.name
import pytest

from secdns.config import PeerConfig, TransferAllow, ZoneConfig
from secdns.ops.api import openapi, shapes
from secdns.ops.api.errors import ApiError
from secdns.ops.api.ids import KEY_PREFIX, key_id
from secdns.store.catalog import zone_config as stored_zone, zone_settings
from tests.unit.test_api_shapes import COM, K1, KEYS, status


def refusal(body, current=None) -> ApiError:
    with pytest.raises(ApiError) as caught:
        shapes.zone_config(body, KEYS, current)
    return caught.value


def test_create_with_allow_transfer():
    """Addresses and networks, a key by id or by name; normal forms kept."""
    config = shapes.zone_config(
        {"name": "example.com", "allowTransfer": [
            {"address": "192.0.2.9"}, {"address": "2001:DB8::/64", "tsigKeyId": key_id(K1)},
            {"address": "203.0.113.0/24", "tsigKeyId": "k2"}, {"address": "198.51.100.7/32", "tsigKeyId": None},
        ]},
        KEYS,
    )
    assert config.allow_transfer == (
        TransferAllow("192.0.2.9"), TransferAllow("2001:db8::/64", K1),
        TransferAllow("203.0.113.0/24", dns.name.from_text("k2")), TransferAllow("198.51.100.7"),
    )


def test_secondary_zone_takes_it_too():
    config = shapes.zone_config(
        {"name": "example.com", "zoneType": "SECONDARY", "externalMasters": [{"address": "192.0.2.1"}],
         "allowTransfer": [{"address": "127.0.0.1"}]},
        KEYS,
    )
    assert config.allow_transfer == (TransferAllow("127.0.0.1"),)


def test_update_keeps_or_replaces_it():
    current = ZoneConfig(COM, "secondary", external_masters=(PeerConfig("192.0.2.1"),), allow_transfer=(TransferAllow("127.0.0.1"),))
    assert shapes.zone_config({"externalMasters": [{"address": "192.0.2.2"}]}, KEYS, current).allow_transfer == current.allow_transfer
    assert shapes.zone_config({"allowTransfer": []}, KEYS, current).allow_transfer == ()


@pytest.mark.parametrize("entries, message", [
    ([{"address": "192.0.2.1/24"}], 'allowTransfer[0].address: "192.0.2.1/24" has host bits set: write "192.0.2.0/24"'),
    ([{"address": "example.net"}], 'allowTransfer[0].address: not an IP address or network: "example.net"'),
    ([{"address": "10.0.0.0/40"}], "not an IP address or network"),
    ([{}], "allowTransfer[0].address is required"),
    ([{"address": "192.0.2.9", "port": 53}], 'unknown field "port"'),
    ([{"address": "192.0.2.9", "tsigKeyId": KEY_PREFIX + "0" * 32}], "allowTransfer[0].tsigKeyId: no TSIG key has the id"),
    ([{"address": "192.0.2.9"}, {"address": "192.0.2.9/32"}], "allowTransfer[1]: 192.0.2.9 is listed twice"),
    ("192.0.2.9", "allowTransfer must be an array"),
])
def test_refusals(entries, message):
    error = refusal({"name": "example.com", "allowTransfer": entries})
    assert error.code in ("InvalidParameter", "MissingParameter") and message in error.message, error.message


def test_zone_shape_and_etag():
    """GetZone shows allowTransfer with key ids; it changes the etag (a PUT changes it), and its absence does not."""
    plain = ZoneConfig(COM, "secondary", external_masters=(PeerConfig("192.0.2.1"),))
    allowed = ZoneConfig(COM, "secondary", external_masters=(PeerConfig("192.0.2.1"),),
                         allow_transfer=(TransferAllow("192.0.2.0/24", K1), TransferAllow("127.0.0.1")))
    body = shapes.zone(status(), allowed, "http://h/20180115", [])
    assert body["allowTransfer"] == [{"address": "192.0.2.0/24", "tsigKeyId": key_id(K1)}, {"address": "127.0.0.1", "tsigKeyId": None}]
    assert shapes.zone(status(), plain, "http://h/20180115", [])["allowTransfer"] == []
    assert shapes.zone_etag_source(plain, status()) != shapes.zone_etag_source(allowed, status())
    assert len(shapes.zone_etag_source(plain, status())) == 7  # as before allowTransfer existed


def test_the_store_keeps_it():
    config = ZoneConfig(COM, "primary", allow_update=(K1,), allow_transfer=(TransferAllow("2001:db8::/64", K1), TransferAllow("127.0.0.1")))
    assert stored_zone("example.com.", zone_settings(config)) == config
    old_row = '{"type": "primary", "external_masters": [], "external_downstreams": [], "serial_policy": "keep", "allow_update": ["k1."]}'
    assert stored_zone("example.com.", old_row).allow_transfer == ()


def test_openapi_document_describes_it():
    schemas = openapi.SCHEMAS
    assert schemas["Zone"]["properties"]["allowTransfer"]["items"] == {"$ref": "#/components/schemas/TransferAllow"}
    for name in ("CreateZoneDetails", "UpdateZoneDetails"):
        assert schemas[name]["properties"]["allowTransfer"]["items"] == {"$ref": "#/components/schemas/TransferAllow"}
    entry = schemas["TransferAllow"]
    assert entry["required"] == ["address"] and entry["additionalProperties"] is False
    assert set(entry["properties"]) == {"address", "tsigKeyId"}
