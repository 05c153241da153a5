# -*- test-case-name: tests.unit.test_api_shapes -*-
"""
The cloud DNS API's shapes (API version 20180115, field names as in its
public SDKs), made from the zone core's frozen values, and request bodies
read back into the core's config values.  Pure: no Twisted, no I/O.

Out: L{zone} (C{Zone}), L{tsig_key} (C{TsigKey}), L{transfer_servers}
(C{ZoneTransferServer}), and secdns's own L{zone_status} and L{event}.
In: L{zone_config} (C{CreateZoneDetails}, C{UpdateZoneDetails}) and
L{key_config} (C{CreateTsigKeyDetails}, C{UpdateTsigKeyDetails}).

Times are RFC 3339 strings in UTC (C{2026-12-03T02:34:44.120Z}).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
from typing import Any, Iterable, Iterator, Mapping

import attrs
import dns.exception
import dns.name

from secdns.config import (
    PRIMARY, SECONDARY, TSIG_ALGORITHMS, Config, PeerConfig, TransferAllow, TsigKeyConfig, ZoneConfig, network_problem,
    normal_network,
)
from secdns.ops.api.body import Fields
from secdns.ops.api.errors import bad, missing
from secdns.ops.api.ids import KEY_PREFIX, key_id, zone_id
from secdns.zones.events import ZoneEvent
from secdns.zones.status import KeyStatus, Outcome, ZoneStatus, health, last_error

__all__ = [
    "rfc3339", "label", "parse_name", "lifecycle_state", "zone", "tsig_key", "transfer_servers", "zone_status",
    "event", "zone_config", "key_config", "KeyIds", "ZONE_TYPES", "LIFECYCLE_STATES", "zone_health", "metric_history",
    "HISTORY_METRICS",
]

ZONE_TYPES = {PRIMARY: "PRIMARY", SECONDARY: "SECONDARY"}
LIFECYCLE_STATES = ("ACTIVE", "CREATING", "DELETED", "DELETING", "FAILED", "UPDATING")
#: Fields of a C{Zone} a client may send back in a PUT: read-only, ignored.
READ_ONLY_ZONE_FIELDS = (
    "id", "self", "serial", "version", "lifecycleState", "timeCreated", "zoneTransferServers", "nameservers",
    "isProtected", "declaredIn", "compartmentId", "freeformTags", "definedTags",
)
#: The fields of a C{CreateZoneDetails} or C{UpdateZoneDetails}.
ZONE_FIELDS = ("name", "zoneType", "scope", "externalMasters", "externalDownstreams", "allowUpdate", "allowTransfer", "compartmentId")
#: A map from key ids to key names, to read C{tsigKeyId} fields.
KeyIds = Mapping[str, dns.name.Name]


def rfc3339(when: float | None) -> str | None:
    """A wall-clock time as the cloud API writes it: UTC, milliseconds, C{Z}."""
    if when is None:
        return None
    moment = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def label(name: dns.name.Name) -> str:
    """A name as operators write it: no final dot (except the root)."""
    return name.to_text(omit_final_dot=True) or "."


def parse_name(text: str, field: str, in_path: bool = False) -> dns.name.Name:
    """
    A domain name as a client writes it (absolute, final dot or not);
    C{field} names it in messages, and in errors unless it is C{in_path}.
    """
    where = None if in_path else field
    if not text.strip():
        raise bad(f"{field} is empty: a domain name is expected", where)
    try:
        return dns.name.from_text(text)
    except dns.exception.DNSException as e:
        raise bad(f"{field} is not a domain name: {e}", where) from None


# -- out


def lifecycle_state(status: ZoneStatus) -> str:
    """
    The cloud's lifecycle state of a zone: C{ACTIVE} when it answers,
    C{CREATING} until its first version is read or transferred, C{FAILED}
    when that failed or the zone expired.
    """
    if status.state in ("loaded", "refreshing"):
        return "ACTIVE"
    if status.state == "expired":
        return "FAILED"
    if status.transfer_failures or (status.last_load is not None and not status.last_load.ok):
        return "FAILED"
    return "CREATING"


def _peer(peer: PeerConfig) -> dict[str, Any]:
    return {
        "address": peer.address,
        "port": peer.port,
        "tsigKeyId": None if peer.tsig_key is None else key_id(peer.tsig_key),
    }


def _transfer_allow(entry: TransferAllow) -> dict[str, Any]:
    return {"address": entry.address, "tsigKeyId": None if entry.tsig_key is None else key_id(entry.tsig_key)}


def zone(
    status: ZoneStatus,
    config: ZoneConfig,
    base: str,
    servers: list[dict[str, Any]],
    nameservers: Iterable[str] = (),
) -> dict[str, Any]:
    """
    A C{Zone}: the cloud's fields, and secdns's C{declaredIn} (the config
    file that declares the zone, whose zones are read-only here; L{None}
    for a zone made through the API), C{allowUpdate} (the TSIG keys
    whose DNS UPDATEs a dynamic primary zone takes) and C{allowTransfer}
    (who else may transfer the zone, never notified).
    """
    return {
        "name": status.name,
        "id": zone_id(status.name),
        "self": f"{base}/zones/{status.name}",
        "zoneType": ZONE_TYPES[status.role],
        "scope": "GLOBAL",
        "serial": status.serial,
        "version": None if status.serial is None else str(status.serial),
        "lifecycleState": lifecycle_state(status),
        "timeCreated": rfc3339(status.created),
        "isProtected": status.declared_in is not None,
        "externalMasters": [_peer(peer) for peer in config.external_masters],
        "externalDownstreams": [_peer(peer) for peer in config.external_downstreams],
        "allowUpdate": [key_id(name) for name in config.allow_update],
        "allowTransfer": [_transfer_allow(entry) for entry in config.allow_transfer],
        "zoneTransferServers": servers,
        "nameservers": [{"hostname": host} for host in nameservers],
        "declaredIn": status.declared_in,
    }


def zone_etag_source(config: ZoneConfig, status: ZoneStatus) -> Any:
    """What a zone's etag is made of: what a PUT changes (not its serial, which transfers change)."""
    source = [
        status.name, config.type, [_peer(p) for p in config.external_masters],
        [_peer(p) for p in config.external_downstreams], [label(n) for n in config.allow_update],
        status.created, status.declared_in,
    ]
    if config.allow_transfer:  # left out when empty, so the etags of zones without it stay as they were
        source.append([_transfer_allow(e) for e in config.allow_transfer])
    return source


def tsig_key(status: KeyStatus, base: str) -> dict[str, Any]:
    """A C{TsigKey}, never with its secret; C{zones}: the zones that name it (secdns's own)."""
    return {
        "name": status.name,
        "id": key_id(status.name),
        "self": f"{base}/tsigKeys/{key_id(status.name)}",
        "algorithm": status.algorithm,
        "lifecycleState": "ACTIVE",
        "timeCreated": rfc3339(status.created),
        "timeUpdated": rfc3339(status.updated),
        "isProtected": status.declared_in is not None,
        "declaredIn": status.declared_in,
        "zones": list(status.zones),
    }


def transfer_servers(config: Config) -> list[dict[str, Any]]:
    """
    C{ZoneTransferServer}s: the addresses secdns answers transfers and
    NOTIFY on (C{listen}: destinations) and the one it transfers and
    notifies from (C{transfer_source}: the source; its port is chosen by
    the system for each transfer, so it has none).  Without a
    C{transfer_source} the system picks the source address and none is
    marked.
    """
    source = config.server.transfer_source
    servers = [
        {"address": e.host, "port": e.port, "isTransferSource": e.host == source, "isTransferDestination": True}
        for e in config.server.listen
    ]
    if source is not None and all(e.host != source for e in config.server.listen):
        servers.append({"address": source, "port": None, "isTransferSource": True, "isTransferDestination": False})
    return servers


def _outcome(outcome: Outcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    return {"when": rfc3339(outcome.when), "ok": outcome.ok, "detail": outcome.detail}


def zone_status(status: ZoneStatus) -> dict[str, Any]:
    """Everything the core's L{ZoneStatus} says, in camelCase, times in RFC 3339."""
    return {
        "name": status.name,
        "id": zone_id(status.name),
        "role": status.role,
        "state": status.state,
        "health": health(status),
        "lifecycleState": lifecycle_state(status),
        "serial": status.serial,
        "records": status.records,
        "lastLoad": _outcome(status.last_load),
        "lastFailure": rfc3339(status.last_failure),
        "failureReason": status.failure_reason,
        "transfersIn": status.transfers_in,
        "transferFailures": status.transfer_failures,
        "masters": [
            {
                "address": m.address,
                "port": m.port,
                "reachable": m.reachable,
                "lastSuccess": rfc3339(m.last_success),
                "lastFailure": rfc3339(m.last_failure),
                "lastError": m.last_error,
                "lastSerial": m.last_serial,
            }
            for m in status.masters
        ],
        "downstreams": [
            {
                "address": d.address,
                "port": d.port,
                "lastNotify": _outcome(d.last_notify),
                "lastTransfer": _outcome(d.last_transfer),
            }
            for d in status.downstreams
        ],
        "expireAt": rfc3339(status.expire_at),
        "nextEvent": None if status.next_event is None else {"what": status.next_event[0], "when": rfc3339(status.next_event[1])},
        "lastRefresh": rfc3339(status.last_refresh),
        "declaredIn": status.declared_in,
        "created": rfc3339(status.created),
        "file": status.file,
    }


def zone_health(status: ZoneStatus, now: float, last_version: float | None) -> dict[str, Any]:
    """
    One row of C{/zoneStatuses} (secdns's): a zone's health and what the
    console's zone list shows.  C{last_version}: when the zone last took
    a new version (a secondary: a transfer applied; a primary: a load).
    """
    expires = None
    if status.expire_at is not None:
        expires = round(max(0.0, status.expire_at - now) / 3600.0, 3)
    return {
        "name": status.name,
        "zoneType": ZONE_TYPES[status.role],
        "health": health(status),
        "state": status.state,
        "serial": status.serial,
        "records": status.records,
        "lastTransfer": rfc3339(last_version),
        "lastRefresh": rfc3339(status.last_refresh),
        "expiresInHours": expires,
        "lastError": last_error(status),
        "declaredIn": status.declared_in,
        "isProtected": status.declared_in is not None,
    }


#: The metrics of C{metricHistory}, in the order they are given.
HISTORY_METRICS = ("ZoneTransferSuccessCount", "ZoneTransferFailureCount", "ZoneExpirationInHours")


def metric_history(zone: str, series: Mapping[str, list[tuple[float, float | None]]]) -> dict[str, Any]:
    """
    C{metricHistory} (secdns's): each metric's per-minute values, oldest
    first, from the alarm engine's history (each series: (minute's start,
    value or L{None})).  The first series sets the minutes; a value of
    another at a minute it lacks is L{None}.
    """
    names = list(series)
    first = series[names[0]] if names else []
    minutes = [start for start, _ in first]
    metrics = {}
    for name in names:
        by_minute = dict(series[name])
        metrics[name] = [_number(by_minute.get(start)) for start in minutes]
    return {"zone": zone, "start": rfc3339(minutes[0]) if minutes else None, "step": 60, "metrics": metrics}


def _number(value: float | None) -> float | int | None:
    """A whole number as an integer (counts), others as they are."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 6)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def event(value: ZoneEvent) -> dict[str, Any]:
    """An event: its C{type} (C{TransferSucceeded}, ...), C{zone}, C{time}, then its own fields in camelCase."""
    fields = attrs.asdict(value, recurse=False)
    shaped: dict[str, Any] = {"type": type(value).__name__, "zone": fields.pop("zone", None), "time": rfc3339(fields.pop("when"))}
    for key, item in fields.items():
        if isinstance(item, float) and key.endswith("_at"):
            item = rfc3339(item)
        shaped[_camel(key)] = item
    return shaped


# -- in


def _key_name(text: str, field: str, keys: KeyIds) -> dns.name.Name:
    """A C{tsigKeyId}: a key's id, or (secdns) its name."""
    if text.startswith(KEY_PREFIX):
        name = keys.get(text)
        if name is None:
            raise bad(f"{field}: no TSIG key has the id {text[:80]}", field)
        return name
    return parse_name(text, field)


def _peers(fields: Fields, field: str, keys: KeyIds) -> tuple[PeerConfig, ...] | None:
    items = fields.array(field, max_items=64)
    if items is None:
        return None
    peers = []
    for where, entry in _entries(fields, field, items):
        address = entry.string("address", required=True, max_length=64)
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            raise bad(f"{where}.address is not an IP address", f"{where}.address") from None
        port = entry.integer("port", 1, 65535)
        key_text = entry.string("tsigKeyId", max_length=300)
        entry.done()
        peer = PeerConfig(address, 53 if port is None else port, _optional_key(key_text, where, keys))
        if peer in peers:
            raise bad(f"{where}: {address} port {peer.port} is listed twice", f"{where}.address")
        peers.append(peer)
    return tuple(peers)


def _transfer_acl(fields: Fields, field: str, keys: KeyIds) -> tuple[TransferAllow, ...] | None:
    """C{allowTransfer}: addresses or networks, each with an optional C{tsigKeyId}."""
    items = fields.array(field, max_items=64)
    if items is None:
        return None
    entries = []
    for where, entry in _entries(fields, field, items):
        address = entry.string("address", required=True, max_length=64)
        key_text = entry.string("tsigKeyId", max_length=300)
        entry.done()
        problem = network_problem(address)
        if problem is not None:
            raise bad(f"{where}.address: {problem}", f"{where}.address")
        allow = TransferAllow(normal_network(address), _optional_key(key_text, where, keys))
        if allow in entries:
            raise bad(f"{where}: {allow.address} is listed twice", f"{where}.address")
        entries.append(allow)
    return tuple(entries)


def _entries(fields: Fields, field: str, items: list) -> Iterator[tuple[str, Fields]]:
    """The objects of an array such as C{externalMasters}, each with where it is."""
    for i, item in enumerate(items):
        where = fields.item_name(field, i)
        yield where, Fields(item, where)


def _optional_key(key_text: str | None, where: str, keys: KeyIds) -> dns.name.Name | None:
    """An entry's C{tsigKeyId}, if it has one, as the key's name."""
    return None if key_text is None else _key_name(key_text, f"{where}.tsigKeyId", keys)


def _key_names(fields: Fields, field: str, keys: KeyIds) -> tuple[dns.name.Name, ...] | None:
    items = fields.array(field, max_items=64)
    if items is None:
        return None
    names = []
    for i, item in enumerate(items):
        where = fields.item_name(field, i)
        if not isinstance(item, str):
            raise bad(f"{where} must be a string (a tsigKeyId)", where)
        names.append(_key_name(item, where, keys))
    return tuple(dict.fromkeys(names))


def zone_config(body: Any, keys: KeyIds, current: ZoneConfig | None = None) -> ZoneConfig:
    """
    A C{CreateZoneDetails} (C{current} is L{None}) or C{UpdateZoneDetails}
    (fields left out keep C{current}'s value) as a L{ZoneConfig}.

    @raise ApiError: a field missing, of the wrong type, or out of range.
    """
    fields = Fields(body, ignored=READ_ONLY_ZONE_FIELDS if current is not None else ("compartmentId",))
    scope = fields.string("scope", max_length=16)
    if scope is not None and scope != "GLOBAL":
        raise bad("scope must be GLOBAL (secdns serves public zones)", "scope")
    name_text = fields.string("name", required=current is None, max_length=1024)
    kind = fields.choice("zoneType", ZONE_TYPES.values())
    masters = _peers(fields, "externalMasters", keys)
    downstreams = _peers(fields, "externalDownstreams", keys)
    allow_update = _key_names(fields, "allowUpdate", keys)
    allow_transfer = _transfer_acl(fields, "allowTransfer", keys)
    fields.done()
    if current is None:
        name = parse_name(name_text, "name")
        role = SECONDARY if kind == "SECONDARY" else PRIMARY
    else:
        name = current.name
        role = current.type
        if name_text is not None and parse_name(name_text, "name") != current.name:
            raise bad("name cannot change: a zone is renamed by deleting it and creating it again", "name")
        if kind is not None and kind != ZONE_TYPES[current.type]:
            raise bad(f"zoneType cannot change: zone {label(name)} is {ZONE_TYPES[current.type]} (delete it and create it again)", "zoneType")
    masters = (current.external_masters if current is not None else ()) if masters is None else masters
    downstreams = (current.external_downstreams if current is not None else ()) if downstreams is None else downstreams
    allow_update = (current.allow_update if current is not None else ()) if allow_update is None else allow_update
    allow_transfer = (current.allow_transfer if current is not None else ()) if allow_transfer is None else allow_transfer
    if role == SECONDARY:
        if not masters:
            if current is None and not fields.has("externalMasters"):
                raise missing("externalMasters", "when zoneType is SECONDARY")
            raise bad("externalMasters must name at least one master for a SECONDARY zone", "externalMasters")
        if allow_update:
            raise bad("allowUpdate is for PRIMARY zones (a SECONDARY zone's records come from its masters)", "allowUpdate")
    elif masters:
        raise bad("externalMasters is for SECONDARY zones (a PRIMARY zone's records are edited here)", "externalMasters")
    return ZoneConfig(
        name=name,
        type=role,
        file=None,
        external_masters=masters,
        external_downstreams=downstreams,
        allow_update=allow_update,
        allow_transfer=allow_transfer,
    )


def _secret(fields: Fields, required: bool) -> bytes | None:
    # The secret is never put in a message: only its field name.
    text = fields.get("secret", (str,), "a string (base64)", required)
    if text is None:
        return None
    if len(text) > 4096:
        raise bad("secret is longer than 4096 characters", "secret")
    try:
        secret = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise bad("secret is not valid base64", "secret") from None
    if not secret:
        raise bad("secret is empty", "secret")
    return secret


def key_config(body: Any, current: KeyStatus | None = None) -> TsigKeyConfig:
    """
    A C{CreateTsigKeyDetails} (C{current} is L{None}: name, algorithm,
    secret) or an update of C{current} (algorithm, secret; the secret is
    required, since it is never read back).
    """
    ignored = ("compartmentId",) if current is None else ("id", "self", "lifecycleState", "timeCreated", "timeUpdated", "isProtected", "declaredIn", "zones", "compartmentId")
    fields = Fields(body, ignored=ignored)
    name_text = fields.string("name", required=current is None, max_length=1024)
    algorithm = fields.string("algorithm", max_length=64)
    secret = _secret(fields, required=current is None)
    fields.done()
    if algorithm is not None:
        algorithm = algorithm.lower().rstrip(".")
        if algorithm not in TSIG_ALGORITHMS:
            raise bad(f"algorithm must be one of {', '.join(TSIG_ALGORITHMS)}", "algorithm")
    if current is None:
        return TsigKeyConfig(parse_name(name_text, "name"), algorithm or "hmac-sha256", secret)
    if name_text is not None and parse_name(name_text, "name") != parse_name(current.name, "name"):
        raise bad("name cannot change: a key is renamed by deleting it and creating it again", "name")
    if secret is None:
        raise missing("secret", "(a key's secret is never read back, so an update gives it again)")
    return TsigKeyConfig(parse_name(current.name, "name"), algorithm or current.algorithm, secret)
