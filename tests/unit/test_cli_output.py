"""
secdns.cli.output: the cloud CLI's JSON document, tables for people, zone
status one line a zone, and no secret printed whatever the server sends.
"""

from __future__ import annotations

import json

from secdns.cli.output import HIDDEN, cell, document, moment, render, status_rows, table

NOW = 1_700_000_000.0

ZONE = {
    "id": "zone-1",
    "name": "example.com",
    "zoneType": "SECONDARY",
    "serial": 7,
    "lifecycleState": "ACTIVE",
    "externalMasters": [{"address": "192.0.2.1", "port": 53, "tsigKeyId": "transfer-key"}],
    "externalDownstreams": [],
    "declaredIn": None,
}


def test_json_document_is_data_then_etag_and_paging_headers():
    text = render([ZONE], {"etag": '"e1"', "opc-next-page": "p2", "content-type": "application/json"}, "json")
    assert json.loads(text) == {"data": [ZONE], "etag": '"e1"', "opc-next-page": "p2"}
    assert list(json.loads(text)) == ["data", "etag", "opc-next-page"]
    assert text.endswith("}\n")


def test_secret_fields_are_never_printed():
    body = {"name": "k", "secret": "c2VjcmV0", "nested": [{"secret": "c2VjcmV0"}], "Secret": "x"}
    assert "c2VjcmV0" not in render(body, {}, "json")
    assert "c2VjcmV0" not in render(body, {}, "table")
    assert document(body)["data"]["secret"] == HIDDEN
    assert document({"secret": None})["data"]["secret"] is None


def test_zone_list_table():
    other = dict(ZONE, id="zone-2", name="example.org", zoneType="PRIMARY", serial=2024010101, externalMasters=[],
                 externalDownstreams=[{"address": "2001:db8::7", "port": 5300, "tsigKeyId": None}],
                 declaredIn="/etc/secdns/secdns.toml")
    text = render([ZONE, other], {}, "table", "zones")
    assert text.splitlines() == [
        "NAME         TYPE       STATE   SERIAL      MASTERS              DOWNSTREAMS       DECLARED IN",
        "example.com  SECONDARY  ACTIVE  7           192.0.2.1#53 (TSIG)  -                 -",
        "example.org  PRIMARY    ACTIVE  2024010101  -                    2001:db8::7#5300  /etc/secdns/secdns.toml",
    ]


def test_records_table_from_items():
    body = {"items": [{"domain": "www.example.org", "rtype": "A", "rdata": "192.0.2.80", "ttl": 300, "recordHash": "h"}]}
    assert render(body, {}, "table").splitlines() == [
        "DOMAIN           TTL  TYPE  RDATA",
        "www.example.org  300  A     192.0.2.80",
    ]


def test_zone_transfer_servers_table():
    body = [{"address": "127.0.0.1", "port": 5300, "isTransferSource": True, "isTransferDestination": False}]
    assert render(body, {}, "table", "zoneTransferServers").splitlines() == [
        "ADDRESS    PORT  SOURCE  DESTINATION",
        "127.0.0.1  5300  yes     no",
    ]


def test_one_object_as_fields():
    text = render({"name": "k", "algorithm": "hmac-sha256", "zones": ["a", "b"], "x": {"y": 1}}, {}, "table", "tsigKeys")
    assert text.splitlines() == ["FIELD      VALUE", "name       k", "algorithm  hmac-sha256", "zones      a, b", 'x          {"y":1}']


def test_unknown_list_gets_every_scalar_field():
    assert render([{"a": 1, "b": None}, {"c": True}], {}, "table").splitlines() == ["a  b  c", "1  -  -", "-  -  yes"]


def test_empty_list_prints_nothing_as_a_table():
    assert render([], {}, "table", "zones") == ""
    assert json.loads(render([], {}, "json")) == {"data": []}


def test_moment():
    assert moment(None, NOW) == "-"
    assert moment(NOW, NOW) == "now"
    assert moment(NOW - 312, NOW) == "5m12s ago"
    assert moment(NOW + 6 * 86400 + 23 * 3600 + 59, NOW) == "in 6d23h"
    assert moment(NOW - 5, NOW) == "5s ago"
    assert moment("2023-11-14T22:13:20Z", NOW) == "now"
    assert moment("2023-11-14T21:13:20+00:00", NOW) == "1h ago"
    assert moment("yesterday", NOW) == "yesterday"


def test_cell():
    assert cell({"address": "192.0.2.1", "port": 53}) == "192.0.2.1#53"
    assert cell({"address": "192.0.2.1", "port": None, "isTransferSource": True}) == "192.0.2.1"
    assert cell([{"hostname": "ns1.example.org"}, {"hostname": "ns2.example.org"}]) == "ns1.example.org, ns2.example.org"
    assert cell(0.004155397415161133) == "0.0041554"
    assert cell([]) == "-"
    assert cell(False) == "no"


def test_table_alignment():
    assert table([["a", "bb"], ["ccc", "d"]], ["X", "Y"]) == "X    Y\na    bb\nccc  d\n"


def status(**over) -> dict:
    base = {
        "name": "example.com",
        "role": "secondary",
        "state": "loaded",
        "serial": 2024010101,
        "records": 42,
        "lastLoad": {"when": NOW - 125, "ok": True, "detail": "IXFR from 192.0.2.1#53"},
        "lastFailure": None,
        "failureReason": None,
        "transfersIn": 3,
        "transferFailures": 0,
        "masters": [{"address": "192.0.2.1", "port": 53, "reachable": True, "lastSuccess": NOW - 125,
                     "lastFailure": None, "lastError": None, "lastSerial": 2024010101}],
        "downstreams": [],
        "expireAt": NOW + 7 * 86400,
        "nextEvent": ["refresh", NOW + 3600],
        "lastRefresh": NOW - 125,
        "declaredIn": None,
    }
    base.update(over)
    return base


def test_status_one_line_a_zone_like_knotc():
    primary = status(
        name="example.org", role="primary", serial=5, masters=[], expireAt=None, nextEvent=None, lastRefresh=None,
        lastLoad={"when": NOW - 86400, "ok": True, "detail": "zones/example.org.zone"},
        downstreams=[{"address": "198.51.100.7", "port": 53, "lastNotify": None,
                      "lastTransfer": {"when": NOW - 60, "ok": True, "detail": "IXFR 5"}}],
    )
    failing = status(
        name="broken.example", state="expired", serial=None, lastLoad=None, lastRefresh=None, expireAt=NOW - 60,
        lastFailure=NOW - 30, failureReason="192.0.2.9#53: timed out", nextEvent={"what": "refresh", "when": NOW + 30},
    )
    lines = status_rows([status(), primary, failing], NOW).splitlines()
    assert lines == [
        "ZONE            ROLE       STATE    SERIAL      LAST TRANSFER  NEXT            EXPIRES  LAST ERROR",
        "example.com     secondary  loaded   2024010101  2m5s ago       refresh in 1h   in 7d    -",
        "example.org     primary    loaded   5           1m ago         -               -        -",
        "broken.example  secondary  expired  -           -              refresh in 30s  1m ago   30s ago: 192.0.2.9#53: timed out",
    ]


def test_status_last_error_from_a_master():
    s = status(masters=[{"address": "192.0.2.1", "port": 53, "reachable": False, "lastSuccess": None,
                         "lastFailure": NOW - 10, "lastError": "REFUSED", "lastSerial": None}])
    assert status_rows([s], NOW).splitlines()[1].endswith("10s ago: 192.0.2.1#53: REFUSED")


def test_status_of_one_zone_as_table_and_json():
    assert render(status(), {}, "table", "status", NOW).splitlines()[1].startswith("example.com ")
    assert json.loads(render(status(), {}, "json", "status"))["data"]["records"] == 42


def test_events_table():
    events = [{"type": "TransferSucceeded", "zone": "example.com", "time": "2026-12-03T02:51:13.690Z", "kind": "IXFR",
               "serialFrom": None, "serialTo": 8, "seconds": 0.0033857}]
    assert render(events, {}, "table", "events", NOW).splitlines() == [
        "TIME (UTC)           ZONE         EVENT              DETAIL",
        "2026-12-03 02:51:13  example.com  TransferSucceeded  kind=IXFR serialTo=8 seconds=0.0033857",
    ]
