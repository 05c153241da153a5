# -*- test-case-name: tests.unit.test_storage -*-
"""
Zones and TSIG keys made at run time, as the store keeps them: a zone's
settings as JSON, a key as its name, algorithm and secret.
"""

from __future__ import annotations

import json

import attrs
import dns.name

from secdns.config import PeerConfig, TransferAllow, TsigKeyConfig, ZoneConfig

__all__ = ["StoredZoneConfig", "StoredKey", "zone_settings", "zone_config"]


@attrs.frozen
class StoredZoneConfig:
    """A zone made at run time, and when it was made and last changed (wall clock)."""

    config: ZoneConfig
    created: float
    updated: float


@attrs.frozen
class StoredKey:
    """A TSIG key made at run time, and when it was made and last changed (wall clock)."""

    key: TsigKeyConfig
    created: float
    updated: float


def _peer(peer: PeerConfig) -> dict:
    return {
        "address": peer.address,
        "port": peer.port,
        "tsig_key": None if peer.tsig_key is None else peer.tsig_key.to_text(),
    }


def _peers(items: list) -> tuple[PeerConfig, ...]:
    return tuple(
        PeerConfig(
            item["address"],
            int(item["port"]),
            None if item.get("tsig_key") is None else dns.name.from_text(item["tsig_key"]),
        )
        for item in items
    )


def zone_settings(config: ZoneConfig) -> str:
    """A run-time zone's settings as the store keeps them (its name is the row's key)."""
    if config.file is not None:
        raise ValueError("a zone made at run time has no zone file")
    return json.dumps(
        {
            "type": config.type,
            "external_masters": [_peer(p) for p in config.external_masters],
            "external_downstreams": [_peer(p) for p in config.external_downstreams],
            "serial_policy": config.serial_policy,
            "allow_update": [name.to_text() for name in config.allow_update],
            "allow_transfer": [
                {"address": e.address, "tsig_key": None if e.tsig_key is None else e.tsig_key.to_text()}
                for e in config.allow_transfer
            ],
        },
        sort_keys=True,
    )


def zone_config(name: str, settings: str) -> ZoneConfig:
    """The zone config a stored row describes."""
    value = json.loads(settings)
    return ZoneConfig(
        name=dns.name.from_text(name),
        type=value["type"],
        external_masters=_peers(value.get("external_masters", [])),
        external_downstreams=_peers(value.get("external_downstreams", [])),
        serial_policy=value.get("serial_policy", "keep"),
        allow_update=tuple(dns.name.from_text(n) for n in value.get("allow_update", [])),
        allow_transfer=tuple(
            TransferAllow(item["address"], None if item.get("tsig_key") is None else dns.name.from_text(item["tsig_key"]))
            for item in value.get("allow_transfer", [])
        ),
    )
