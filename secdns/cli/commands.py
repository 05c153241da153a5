# -*- test-case-name: tests.unit.test_cli -*-
"""
The command line: C{argparse} parsers for every command, and for each a
pure function from its parsed arguments to a L{Plan} (the request to send,
and how to show the answer).  Names follow the cloud CLI (C{oci dns zone
create --zone-type SECONDARY --external-masters '[...]'}), without
C{dns} and without compartments.

JSON arguments (C{--items}, C{--external-masters},
C{--external-downstreams}, C{--allow-transfer}) are JSON text or
C{file://PATH}, as in the cloud CLI.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any, Callable

from secdns import __version__, keyfile
from secdns.cli import alarm_commands
from secdns.cli.client import Request, if_match_of, path_of, query_of

__all__ = ["Plan", "UsageError", "parser", "plan"]


class UsageError(ValueError):
    """Arguments that cannot make a request; the CLI exits with the usage status."""


@dataclass(frozen=True)
class Plan:
    """
    What one command does.

    @ivar request: the request to send (for C{zone status} without a zone:
        the zone list, whose zones' status is then asked one by one).
    @ivar kind: the kind of resource, for C{--output table}.
    @ivar paginate: follow C{opc-next-page} (C{--all}).
    @ivar confirm: ask this before sending, unless C{--force}.
    @ivar output: the output when none is asked for.
    @ivar each_status: the request lists zones (or C{each}), and each one's status is shown.
    @ivar each: the collection whose items' C{status} is asked (C{zones}, C{alarms}).
    """

    request: Request
    kind: str | None = None
    paginate: bool = False
    confirm: str | None = None
    output: str = "json"
    each_status: bool = False
    each: str = "zones"


CONFIRM_DELETE = "Are you sure you want to delete this resource? [y/N]: "


# -- argument values


def json_argument(text: str, option: str, reader: Callable[[str], str] | None = None) -> Any:
    """JSON text, or C{file://PATH} holding it."""
    source = option
    if text.startswith("file://"):
        path = text[len("file://"):]
        source = f"{option} {path}"
        try:
            text = (reader or _read_text)(path)
        except OSError as e:
            raise UsageError(f"{option}: {path}: {e.strerror or e}") from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise UsageError(f"{source}: not valid JSON ({e})") from None


def servers_argument(text: str, option: str, reader: Callable[[str], str] | None = None) -> list[dict]:
    """C{[{"address": ..., "port": ..., "tsigKeyId": ...}]}; a port written as a string of digits becomes a number."""
    value = json_argument(text, option, reader)
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise UsageError(f'{option}: expected a JSON list of objects: [{{"address": "192.0.2.1", "port": 53, "tsigKeyId": "..."}}]')
    out = []
    for item in value:
        item = dict(item)
        if isinstance(item.get("port"), str) and item["port"].strip().isdigit():
            item["port"] = int(item["port"])
        out.append(item)
    return out


def items_argument(text: str, reader: Callable[[str], str] | None = None) -> list[dict]:
    """C{--items}: a JSON list of records (C{{"items": [...]}} is accepted too)."""
    value = json_argument(text, "--items", reader)
    if isinstance(value, dict) and isinstance(value.get("items"), list):
        value = value["items"]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise UsageError('--items: expected a JSON list of records: [{"domain": ..., "rtype": ..., "rdata": ..., "ttl": ...}]')
    return value


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _one_of(args, positional: str, option: str, flag: str) -> str:
    a, b = getattr(args, positional, None), getattr(args, option, None)
    if a and b and a != b:
        raise UsageError(f"two different values: {a!r} and {flag} {b!r}")
    value = a or b
    if not value:
        raise UsageError(f"{flag} is required")
    return value


def _zone(args) -> str:
    return _one_of(args, "zone", "zone_name_or_id", "--zone-name-or-id")


def _key_id(args) -> str:
    return _one_of(args, "key", "tsig_key_id", "--tsig-key-id")


LIST_QUERY = (("limit", "limit"), ("page", "page"), ("sort_by", "sortBy"), ("sort_order", "sortOrder"))


# -- zones


def zone_list(args) -> Plan:
    query = query_of(args, (("name", "name"), ("name_contains", "nameContains"), ("zone_type", "zoneType"),
                          ("lifecycle_state", "lifecycleState")) + LIST_QUERY)
    return Plan(Request("GET", "/zones", query), kind="zones", paginate=args.all)


def keys_argument(text: str, option: str) -> list[str]:
    """TSIG key ids or names: a JSON list, or names separated by commas (empty: none)."""
    if text.lstrip().startswith("[") or text.startswith("file://"):
        value = json_argument(text, option)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise UsageError(f'{option}: expected a JSON list of TSIG key ids or names: ["update-key"]')
        return value
    return [part.strip() for part in text.split(",") if part.strip()]


def transfer_acl_argument(text: str, option: str, reader: Callable[[str], str] | None = None) -> list[dict]:
    """
    C{allowTransfer}: a JSON list (or C{file://PATH}) of C{{"address": ..., "tsigKeyId": ...}},
    or addresses and networks separated by commas, without keys (empty: none).
    """
    if text.lstrip().startswith(("[", "{")) or text.startswith("file://"):
        value = json_argument(text, option, reader)
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise UsageError(f'{option}: expected a JSON list of objects: [{{"address": "192.0.2.0/24", "tsigKeyId": "..."}}]')
        return value
    return [{"address": part.strip()} for part in text.split(",") if part.strip()]


def _zone_fields(args) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if args.external_masters is not None:
        body["externalMasters"] = servers_argument(args.external_masters, "--external-masters")
    if args.external_downstreams is not None:
        body["externalDownstreams"] = servers_argument(args.external_downstreams, "--external-downstreams")
    if args.allow_update is not None:
        body["allowUpdate"] = keys_argument(args.allow_update, "--allow-update")
    if getattr(args, "allow_transfer", None) is not None:
        body["allowTransfer"] = transfer_acl_argument(args.allow_transfer, "--allow-transfer")
    return body


def zone_create(args) -> Plan:
    body: dict[str, Any] = {"name": args.name, "zoneType": args.zone_type, **_zone_fields(args)}
    return Plan(Request("POST", "/zones", body=body), kind="zones")


def zone_get(args) -> Plan:
    return Plan(Request("GET", path_of("zones", _zone(args))), kind="zones")


def zone_update(args) -> Plan:
    body = _zone_fields(args)
    if not body:
        raise UsageError(
            "nothing to change: give --external-masters, --external-downstreams, --allow-update or --allow-transfer"
        )
    return Plan(Request("PUT", path_of("zones", _zone(args)), body=body, headers=if_match_of(args)), kind="zones")


def zone_delete(args) -> Plan:
    request = Request("DELETE", path_of("zones", _zone(args)), headers=if_match_of(args))
    return Plan(request, confirm=None if args.force else CONFIRM_DELETE)


def zone_status(args) -> Plan:
    zone = getattr(args, "zone", None) or getattr(args, "zone_name_or_id", None)
    if zone:
        return Plan(Request("GET", path_of("zones", zone, "status")), kind="status")
    return Plan(Request("GET", "/zones"), kind="status", paginate=True, output="table", each_status=True)


def zone_action(action: str) -> Callable:
    def build(args) -> Plan:
        return Plan(Request("POST", path_of("zones", _zone(args), "actions", action)))

    build.__name__ = f"zone_{action}"
    return build


# -- records


def _records_path(args) -> str:
    segments = ["zones", _zone(args), "records"]
    if args.domain:
        segments.append(args.domain)
        if args.rtype:
            segments.append(args.rtype.upper())
    elif args.rtype:
        raise UsageError("--rtype needs --domain")
    return path_of(*segments)


def record_get(args) -> Plan:
    query = query_of(args, (("zone_version", "zoneVersion"), ("domain_contains", "domainContains")) + LIST_QUERY)
    if args.rtype and not args.domain:  # every record of a type: a filter, as the cloud CLI's --rtype
        query += (("rtype", args.rtype.upper()),)
        return Plan(Request("GET", path_of("zones", _zone(args), "records"), query), kind="records", paginate=args.all)
    return Plan(Request("GET", _records_path(args), query), kind="records", paginate=args.all)


def record_patch(args) -> Plan:
    items = items_argument(args.items)
    return Plan(Request("PATCH", _records_path(args), body={"items": items}, headers=if_match_of(args)), kind="records")


def record_update(args) -> Plan:
    items = items_argument(args.items)
    return Plan(Request("PUT", _records_path(args), body={"items": items}, headers=if_match_of(args)), kind="records")


def record_delete(args) -> Plan:
    if not args.domain:
        raise UsageError("--domain is required (records are deleted by domain, or by domain and --rtype)")
    request = Request("DELETE", _records_path(args), headers=if_match_of(args))
    return Plan(request, confirm=None if args.force else CONFIRM_DELETE)


# -- TSIG keys


def _secret(args, name: str | None, algorithm: str | None, required: bool) -> keyfile.KeyEntry | None:
    if args.secret is not None:
        try:
            secret = keyfile.check_secret(args.secret, "--secret")
        except keyfile.KeyFileError as e:
            raise UsageError(str(e)) from None
        return keyfile.KeyEntry(name, keyfile.normalise_algorithm(algorithm) if algorithm else None, secret, 0)
    if args.secret_file is not None:
        try:
            return keyfile.read(args.secret_file, name, algorithm)
        except keyfile.KeyFileError as e:
            raise UsageError(f"--secret-file: {e}") from None
    if required:
        raise UsageError("give --secret or --secret-file")
    return None


def tsig_key_create(args) -> Plan:
    key = _secret(args, args.name, args.algorithm, required=True)
    assert key is not None
    name = key.name or args.name
    if not name:
        raise UsageError("--name is required (the secret file names no key)")
    algorithm = key.algorithm or keyfile.DEFAULT_ALGORITHM
    return Plan(Request("POST", "/tsigKeys", body={"name": name, "algorithm": algorithm, "secret": key.secret}), kind="tsigKeys")


def tsig_key_list(args) -> Plan:
    query = query_of(args, (("name", "name"), ("lifecycle_state", "lifecycleState")) + LIST_QUERY)
    return Plan(Request("GET", "/tsigKeys", query), kind="tsigKeys", paginate=args.all)


def tsig_key_get(args) -> Plan:
    return Plan(Request("GET", path_of("tsigKeys", _key_id(args))), kind="tsigKeys")


def tsig_key_update(args) -> Plan:
    """A new secret (the API never reads one back, so an update always gives it), and perhaps a new algorithm."""
    key = _secret(args, None, args.algorithm, required=False)
    if key is None:
        raise UsageError("give the key's secret again (--secret or --secret-file), with --algorithm to change it")
    body: dict[str, Any] = {"secret": key.secret}
    if key.algorithm:
        body["algorithm"] = key.algorithm
    return Plan(Request("PUT", path_of("tsigKeys", _key_id(args)), body=body, headers=if_match_of(args)), kind="tsigKeys")


def tsig_key_delete(args) -> Plan:
    request = Request("DELETE", path_of("tsigKeys", _key_id(args)), headers=if_match_of(args))
    return Plan(request, confirm=None if args.force else CONFIRM_DELETE)


# -- the rest


def zone_transfer_server_list(args) -> Plan:
    return Plan(Request("GET", "/zoneTransferServers"), kind="zoneTransferServers")


def events(args) -> Plan:
    return Plan(Request("GET", "/events", query_of(args, (("zone", "zone"), ("since", "since"), ("limit", "limit")))), kind="events")


# -- the parsers


def _globals(suppress: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name."""
    g = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS if suppress else None)
    o = g.add_argument_group("connection and output")
    o.add_argument("--endpoint", metavar="URL",
                   help="the API, e.g. http://127.0.0.1:8053 (env SECDNS_ENDPOINT; default http://127.0.0.1:8053)")
    o.add_argument("--token", metavar="TOKEN", help="bearer token (env SECDNS_TOKEN; prefer --token-file: argv is public)")
    o.add_argument("--token-file", metavar="PATH", help="file holding the bearer token (env SECDNS_TOKEN_FILE)")
    o.add_argument("--config-file", metavar="PATH",
                   help="CLI config file (env SECDNS_CLI_CONFIG; default ~/.config/secdns/cli.toml)")
    o.add_argument("--ca-file", metavar="PATH", help="CA certificates for an HTTPS endpoint (env SECDNS_CA_FILE)")
    o.add_argument("--insecure", action="store_true", help="do not verify the HTTPS server's certificate")
    o.add_argument("--output", choices=("json", "table"), help="json (the default) or table")
    o.add_argument("--timeout", type=float, metavar="SECONDS", help="seconds to wait for the API (default 30)")
    c = g.add_argument_group("accepted for commands copied from the cloud CLI")
    c.add_argument("--compartment-id", metavar="ID", help="ignored: secdns has no compartments")
    c.add_argument("--scope", type=_upper, choices=("GLOBAL",), help="GLOBAL (the only scope secdns has)")
    return g


def _upper(text: str) -> str:
    return text.upper()


def parser() -> argparse.ArgumentParser:
    """The whole command line."""
    common = _globals(suppress=True)
    top = argparse.ArgumentParser(
        prog="secdns",
        parents=[_globals(suppress=False)],
        description="Command-line client of the secdns REST API: zones, records, TSIG keys, zone transfer servers, "
        "status, alarms and notification topics.  Output is JSON ({\"data\": ...}) unless --output table.",
        epilog="Exit status: 0 done, 1 the API answered with an error, 2 usage error, 3 the API could not be reached, "
        "4 not confirmed.",
    )
    top.add_argument("--version", action="version", version=f"secdns {__version__}")
    groups = top.add_subparsers(dest="group", metavar="COMMAND", required=True)

    def leaf(subparsers, name: str, build: Callable, help: str) -> argparse.ArgumentParser:
        p = subparsers.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(build=build)
        return p

    def zone_option(p: argparse.ArgumentParser, positional: bool = True) -> None:
        if positional:
            p.add_argument("zone", nargs="?", metavar="ZONE", help="zone name or id (or --zone-name-or-id)")
        p.add_argument("--zone-name-or-id", metavar="ZONE", help="zone name or id")

    def list_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--sort-by", metavar="FIELD", help="e.g. name, zoneType, timeCreated")
        p.add_argument("--sort-order", type=_upper, choices=("ASC", "DESC"))
        p.add_argument("--limit", type=int, metavar="N", help="items a page")
        p.add_argument("--page", metavar="TOKEN", help="the page to get (opc-next-page of the previous one)")
        p.add_argument("--all", action="store_true", help="get every page")

    def if_match(p: argparse.ArgumentParser) -> None:
        p.add_argument("--if-match", metavar="ETAG", help="only if the resource's etag is still this")

    def force(p: argparse.ArgumentParser) -> None:
        p.add_argument("--force", action="store_true", help="do not ask for confirmation")

    allow_update_help = ("a PRIMARY zone's TSIG keys (ids or names) whose DNS UPDATEs it takes: "
                         'key1,key2 or a JSON list; "" for none')
    servers_help = 'JSON list (or file://PATH): [{"address": "192.0.2.1", "port": 53, "tsigKeyId": "..."}]'
    allow_transfer_help = ("who else may transfer the zone (never notified): addresses or networks, "
                           '192.0.2.9,10.0.0.0/8, or a JSON list [{"address": "192.0.2.0/24", "tsigKeyId": "..."}]; '
                           '"" for none')

    # zone ...
    zone = groups.add_parser("zone", help="zones, their records, status and actions").add_subparsers(
        dest="command", metavar="COMMAND", required=True
    )
    p = leaf(zone, "list", zone_list, "list zones")
    p.add_argument("--name", help="only the zone of this name")
    p.add_argument("--name-contains", metavar="TEXT", help="only zones whose name contains this")
    p.add_argument("--zone-type", type=_upper, choices=("PRIMARY", "SECONDARY"))
    p.add_argument("--lifecycle-state", type=_upper, metavar="STATE", help="ACTIVE, CREATING, FAILED, DELETING")
    list_options(p)
    p = leaf(zone, "create", zone_create, "create a zone")
    p.add_argument("--name", required=True, help="the zone's name, e.g. example.com")
    p.add_argument("--zone-type", type=_upper, choices=("PRIMARY", "SECONDARY"), required=True)
    p.add_argument("--external-masters", metavar="JSON", help="a SECONDARY zone's primaries: " + servers_help)
    p.add_argument("--external-downstreams", metavar="JSON", help="servers notified and allowed to transfer: " + servers_help)
    p.add_argument("--allow-update", metavar="KEYS", help=allow_update_help)
    p.add_argument("--allow-transfer", metavar="ADDRESSES", help=allow_transfer_help)
    p = leaf(zone, "get", zone_get, "one zone")
    zone_option(p)
    p = leaf(zone, "update", zone_update, "change a zone's external masters, downstreams, update keys or transfer ACL")
    zone_option(p)
    p.add_argument("--external-masters", metavar="JSON", help=servers_help)
    p.add_argument("--external-downstreams", metavar="JSON", help=servers_help)
    p.add_argument("--allow-update", metavar="KEYS", help=allow_update_help)
    p.add_argument("--allow-transfer", metavar="ADDRESSES", help=allow_transfer_help)
    if_match(p)
    p = leaf(zone, "delete", zone_delete, "delete a zone")
    zone_option(p)
    if_match(p)
    force(p)
    p = leaf(zone, "status", zone_status, "a zone's status (JSON); without ZONE, one line a zone (a table)")
    zone_option(p)
    for action, what in (("refresh", "check the primaries' SOA now (a secondary zone)"),
                         ("retransfer", "transfer the whole zone again now (AXFR; a secondary zone)"),
                         ("notify", "send NOTIFY to the zone's downstreams now")):
        zone_option(leaf(zone, action, zone_action(action), what))

    record = zone.add_parser("record", help="a zone's records").add_subparsers(dest="record_command", metavar="COMMAND", required=True)

    def record_options(p: argparse.ArgumentParser) -> None:
        zone_option(p)
        p.add_argument("--domain", help="only the records of this owner name")
        p.add_argument("--rtype", help="only this type (with --domain: that RRset)")

    items_help = ('JSON list (or file://PATH) of {"domain", "rtype", "rdata", "ttl"%s}')
    p = leaf(record, "get", record_get, "a zone's records (all, a domain's, or one RRset)")
    record_options(p)
    p.add_argument("--zone-version", metavar="VERSION", help="the zone version to read")
    p.add_argument("--domain-contains", metavar="TEXT", help="only owner names containing this")
    list_options(p)
    p = leaf(record, "patch", record_patch, "add, remove or require records, all or none")
    record_options(p)
    p.add_argument("--items", required=True, metavar="JSON", help=items_help % ', "operation": ADD|REMOVE|REQUIRE')
    if_match(p)
    p = leaf(record, "update", record_update, "replace the records (of the zone, a domain, or an RRset)")
    record_options(p)
    p.add_argument("--items", required=True, metavar="JSON", help=items_help % "")
    if_match(p)
    p = leaf(record, "delete", record_delete, "delete a domain's records, or one RRset")
    record_options(p)
    if_match(p)
    force(p)

    # tsig-key ...
    tsig = groups.add_parser("tsig-key", help="TSIG keys").add_subparsers(dest="command", metavar="COMMAND", required=True)

    def secret_options(p: argparse.ArgumentParser) -> None:
        g = p.add_mutually_exclusive_group()
        g.add_argument("--secret", metavar="BASE64", help="the secret (argv is public: prefer --secret-file)")
        g.add_argument("--secret-file", metavar="PATH",
                       help="a file with the secret: a base64 line, tsig-keygen's key {} statement, keymgr -t's "
                       "YAML or NSD's key: clause ('-': standard input); with several keys, --name picks one")

    def key_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("key", nargs="?", metavar="KEY", help="TSIG key id (or --tsig-key-id)")
        p.add_argument("--tsig-key-id", metavar="ID", help="TSIG key id")

    p = leaf(tsig, "create", tsig_key_create, "create a TSIG key")
    p.add_argument("--name", help="the key's name, as the peers know it (default: the name in --secret-file)")
    p.add_argument("--algorithm", type=str.lower, choices=keyfile.ALGORITHMS,
                   help="default: the one in --secret-file, else hmac-sha256")
    secret_options(p)
    p = leaf(tsig, "list", tsig_key_list, "list TSIG keys")
    p.add_argument("--name", help="only the key of this name")
    p.add_argument("--lifecycle-state", type=_upper, metavar="STATE")
    list_options(p)
    p = leaf(tsig, "get", tsig_key_get, "one TSIG key (never its secret)")
    key_option(p)
    p = leaf(tsig, "update", tsig_key_update, "give a TSIG key a new secret (and algorithm)")
    key_option(p)
    p.add_argument("--algorithm", type=str.lower, choices=keyfile.ALGORITHMS)
    secret_options(p)
    if_match(p)
    p = leaf(tsig, "delete", tsig_key_delete, "delete a TSIG key (not while a zone uses it)")
    key_option(p)
    if_match(p)
    force(p)

    # zone-transfer-server list
    zts = groups.add_parser("zone-transfer-server", help="the addresses secdns transfers from and answers on").add_subparsers(
        dest="command", metavar="COMMAND", required=True
    )
    leaf(zts, "list", zone_transfer_server_list, "what a primary's ACL must allow (isTransferSource) and notify (isTransferDestination)")

    # events
    p = groups.add_parser("events", parents=[common], help="recent zone events", description="recent zone events")
    p.set_defaults(build=events)
    p.add_argument("--zone", help="only this zone's")
    p.add_argument("--since", metavar="TIME", help="only events after this time")
    p.add_argument("--limit", type=int, metavar="N")

    # alarm ..., topic ..., notifications
    alarm_commands.add_parsers(groups, leaf, list_options, if_match, force, common)
    return top


def plan(args: argparse.Namespace) -> Plan:
    """The L{Plan} of parsed arguments. @raise UsageError: they cannot make a request."""
    return args.build(args)
