"""
Egress through the API, on the real appliance: a PRIMARY zone made through
the API with a real Knot secondary as its external downstream, TSIG-signed
with a key made through the API.  Each PATCH, PUT and DELETE of records is
one new version: Knot is notified and follows by IXFR within seconds.
"""

from __future__ import annotations

import time

import dns.rcode
import pytest

from tests.api_client import ApiClient
from tests.peers import Knot, PeerZone, TsigKey, knot_transfers_in
from tests.support import LOOPBACK, Secdns, free_port, query, wait_until

SECRET = "ZWdyZXNzIGtleSBtYWRlIHRocm91Z2ggdGhlIEFQSQ=="
KEY = TsigKey("egress-key", SECRET)
ZONE = "example.net"


def config_text(port: int, http: int) -> str:
    return f"""
[server]
listen = ["127.0.0.1:{port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[http]
listen = "127.0.0.1:{http}"
"""


@pytest.fixture(scope="module")
def egress(tmp_path_factory):
    """secdns (API without tokens: loopback only), a zone and key made through the API, Knot as the zone's secondary."""
    tmp = tmp_path_factory.mktemp("api-egress")
    port, http = free_port(), free_port()
    config = tmp / "secdns.toml"
    config.write_text(config_text(port, http))
    secdns = Secdns(config, port).wait_ready()
    knot = Knot(tmp, free_port(), keys=[KEY], zones=[PeerZone(ZONE, primaries=((LOOPBACK, port),), key=KEY.name)])
    api = ApiClient(f"http://127.0.0.1:{http}/20180115")
    try:
        knot.start()  # the secondary first, as an operator would: the new zone's NOTIFY brings it
        assert api("POST", "/tsigKeys", {"name": KEY.name, "secret": SECRET}).status == 201
        created = api("POST", "/zones", {
            "name": ZONE, "zoneType": "PRIMARY",
            "externalDownstreams": [{"address": LOOPBACK, "port": knot.port, "tsigKeyId": KEY.name}],
        })
        assert created.status == 201, created.raw
        serial = created.json["serial"]
        knot.wait_for_zone(ZONE + ".", timeout=20, serial=serial)
        wait_until(lambda: f"NOTIFY of {ZONE} serial {serial} answered" in secdns.log(), 10, what="the first NOTIFY answered")
        yield secdns, knot, api
    finally:
        knot.stop()
        secdns.stop()
    assert SECRET not in secdns.log()


def serial_of(api: ApiClient) -> int:
    return api("GET", f"/zones/{ZONE}").json["serial"]


def answers(port: int, name: str, rdtype: str) -> tuple[str, list[str]]:
    response = query(name, rdtype, port)
    return dns.rcode.to_text(response.rcode()), sorted(rd.to_text() for rrset in response.answer for rd in rrset)


def follows_by_ixfr(egress, serial: int) -> float:
    """Knot serves C{serial}, having taken it by IXFR; how long that took."""
    secdns, knot, _ = egress
    started = time.monotonic()
    knot.wait_for_zone(ZONE + ".", timeout=10, serial=serial)
    took = time.monotonic() - started
    wait_until(lambda: ("IXFR", serial) in knot_transfers_in(knot.log(), ZONE), 5, what=f"Knot's IXFR to {serial}")
    wait_until(lambda: f"IXFR of {ZONE} serial {serial} to 127.0.0.1 finished" in secdns.log(), 5, what="secdns's IXFR line")
    return took


def test_the_new_zone_has_the_default_soa_and_ns(egress):
    """A PRIMARY zone made through the API starts with ns1 and hostmaster under the zone, as documented."""
    secdns, knot, api = egress
    records = {(i["rtype"], i["rdata"].split()[0]) for i in api("GET", f"/zones/{ZONE}/records").json["items"]}
    assert records == {("SOA", f"ns1.{ZONE}."), ("NS", f"ns1.{ZONE}.")}
    assert answers(knot.port, ZONE, "NS") == answers(secdns.port, ZONE, "NS")


def test_patch_reaches_knot_by_ixfr(egress):
    """A PATCH of three records is one new serial; Knot is notified and takes it by IXFR within seconds."""
    secdns, knot, api = egress
    before = serial_of(api)
    patched = api("PATCH", f"/zones/{ZONE}/records", {"items": [
        {"operation": "ADD", "domain": f"ns1.{ZONE}", "rtype": "A", "rdata": "192.0.2.53", "ttl": 3600},
        {"operation": "ADD", "domain": f"www.{ZONE}", "rtype": "A", "rdata": "192.0.2.80", "ttl": 300},
        {"operation": "ADD", "domain": ZONE, "rtype": "MX", "rdata": "10 mail", "ttl": 300},
    ]})
    assert patched.status == 200, patched.raw
    assert serial_of(api) == before + 1
    took = follows_by_ixfr(egress, before + 1)
    print(f"PATCH -> Knot serving it: {took:.2f} s")
    for name, rdtype in ((f"www.{ZONE}", "A"), (ZONE, "MX"), (f"ns1.{ZONE}", "A")):
        assert answers(knot.port, name, rdtype) == answers(secdns.port, name, rdtype)
    assert answers(knot.port, ZONE, "MX")[1] == [f"10 mail.{ZONE}."]


def test_put_and_delete_reach_knot(egress):
    """A PUT of an RRset and a DELETE of a domain: one serial each, each followed by Knot by IXFR."""
    secdns, knot, api = egress
    before = serial_of(api)
    rrset = api("GET", f"/zones/{ZONE}/records/www.{ZONE}/A")
    put = api("PUT", f"/zones/{ZONE}/records/www.{ZONE}/A", {"items": [{"rdata": "192.0.2.81", "ttl": 60}, {"rdata": "192.0.2.82", "ttl": 60}]},
              {"If-Match": rrset.headers["etag"]})
    assert put.status == 200 and sorted(i["rdata"] for i in put.json["items"]) == ["192.0.2.81", "192.0.2.82"]
    follows_by_ixfr(egress, before + 1)
    assert answers(knot.port, f"www.{ZONE}", "A") == ("NOERROR", ["192.0.2.81", "192.0.2.82"])
    assert api("DELETE", f"/zones/{ZONE}/records/www.{ZONE}").status == 204
    follows_by_ixfr(egress, before + 2)
    assert answers(knot.port, f"www.{ZONE}", "A")[0] == "NXDOMAIN"


def test_a_refused_patch_changes_nothing(egress):
    """A PATCH whose REQUIRE fails, or that would put a CNAME beside an A: refused whole, no new serial, Knot untouched."""
    secdns, knot, api = egress
    before = serial_of(api)
    failed = api("PATCH", f"/zones/{ZONE}/records", {"items": [
        {"operation": "ADD", "domain": f"ftp.{ZONE}", "rtype": "A", "rdata": "192.0.2.21", "ttl": 60},
        {"operation": "REQUIRE", "domain": f"nothing.{ZONE}"},
    ]})
    assert failed.error[:2] == (412, "PreconditionFailed")
    beside = api("PATCH", f"/zones/{ZONE}/records", {"items": [
        {"operation": "ADD", "domain": f"ns1.{ZONE}", "rtype": "CNAME", "rdata": f"www.{ZONE}.", "ttl": 60},
    ]})
    assert beside.error[:2] == (400, "InvalidParameter") and "CNAME" in beside.error[2]
    unparsable = api("PATCH", f"/zones/{ZONE}/records", {"items": [
        {"operation": "ADD", "domain": f"x.{ZONE}", "rtype": "AAAA", "rdata": "not-an-address", "ttl": 60},
    ]})
    assert unparsable.error[:2] == (400, "InvalidParameter") and "rdata" in unparsable.error[2]
    assert serial_of(api) == before
    assert answers(secdns.port, f"ftp.{ZONE}", "A")[0] == "NXDOMAIN"
    assert knot.serial(ZONE + ".") == before


def test_a_whole_zone_put_keeps_soa_and_ns(egress):
    """A PUT of the whole zone replaces everything but the apex SOA and NS (not given), in one serial."""
    secdns, knot, api = egress
    before = serial_of(api)
    put = api("PUT", f"/zones/{ZONE}/records", {"items": [
        {"domain": f"ns1.{ZONE}", "rtype": "A", "rdata": "192.0.2.53", "ttl": 3600},
        {"domain": f"api.{ZONE}", "rtype": "TXT", "rdata": '"made by PUT"', "ttl": 120},
    ]})
    assert put.status == 200
    assert sorted(i["rtype"] for i in put.json["items"]) == ["A", "NS", "SOA", "TXT"]
    follows_by_ixfr(egress, before + 1)
    assert answers(knot.port, ZONE, "MX")[1] == [] and answers(knot.port, f"api.{ZONE}", "TXT")[1] == ['"made by PUT"']
