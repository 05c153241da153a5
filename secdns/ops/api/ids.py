# -*- test-case-name: tests.unit.test_api_shapes -*-
"""
The API's ids: stable and opaque, shaped like the cloud's OCIDs
(C{ocid1.<type>.<realm>..<unique>}), made from the object's name, so a
zone or key keeps its id across restarts and reloads (and gets the same
one back if deleted and made again).  Paths take the id or the name.
"""

from __future__ import annotations

import hashlib

import dns.name

__all__ = ["ZONE_PREFIX", "KEY_PREFIX", "zone_id", "key_id", "record_hash"]

ZONE_PREFIX = "ocid1.dns-zone.secdns.."
KEY_PREFIX = "ocid1.dns-tsigkey.secdns.."


def _digest(kind: str, name: str) -> str:
    canonical = name.rstrip(".").lower() or "."
    return hashlib.sha256(f"{kind}\0{canonical}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def zone_id(name: str | dns.name.Name) -> str:
    """The id of the zone of that name (as operators write it, or a dnspython name)."""
    if isinstance(name, dns.name.Name):
        name = name.to_text()
    return ZONE_PREFIX + _digest("zone", name)


def key_id(name: str | dns.name.Name) -> str:
    """The id of the TSIG key of that name."""
    if isinstance(name, dns.name.Name):
        name = name.to_text()
    return KEY_PREFIX + _digest("tsigkey", name)


def record_hash(domain: str, rtype: str, rdata_wire: bytes) -> str:
    """
    A record's id within its zone: its owner (case-insensitive), type and
    RDATA; not its TTL, so a record keeps its hash when its TTL changes.
    """
    owner = domain.rstrip(".").lower().encode("utf-8", "surrogateescape")
    return hashlib.sha256(owner + b"\0" + rtype.encode("ascii") + b"\0" + rdata_wire).hexdigest()[:32]
