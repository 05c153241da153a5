"""
DNS UPDATE (RFC 2136) on the real appliance, from BIND's C{nsupdate}, with a
real Knot following by IXFR.

secdns serves two dynamic primary zones (no zone file, C{allow_update =
["upd-key"]}): C{dyn.example}, with Knot as its external downstream, and
C{example.org}, which is compared with BIND 9 given the very same UPDATE
messages.  Beside them: a primary zone read from a file, and a secondary,
which both refuse updates.

Each change made with C{nsupdate} must be answered by secdns at once and
reach Knot by NOTIFY and IXFR; each refused update (wrong secret, no key,
a key not in allow_update, a failed prerequisite, a zone secdns does not
serve) must get its rcode and leave the serial as it was; the content must
survive a restart of secdns (it is in the store).
"""

from __future__ import annotations

import base64
import concurrent.futures
import socket
import struct
import subprocess
import urllib.request
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from secdns.config import TsigKeyConfig
from secdns.wire import tsig
from tests.api_client import ApiClient
from tests.peers import Bind, Knot, PeerZone, TsigKey, knot_transfers_in, soa_serial
from tests.support import LOOPBACK, Secdns, free_port, require
from tests.updates import BIND_CASES, SEED, rr, signed, update_wire

UPDATE_SECRET = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
WRONG_SECRET = "V3JvbmdXcm9uZ1dyb25nV3JvbmdXcm9uZ1dyb25nISE="
TRANSFER = TsigKey("transfer-key", "VHJhbnNmZXJUcmFuc2ZlclRyYW5zZmVyVHJhbnNmZXI=")
UPD = TsigKey("upd-key", UPDATE_SECRET)
OTHER = TsigKey("other-key", "T3RoZXJPdGhlck90aGVyT3RoZXJPdGhlck90aGVyISE=")
DYN = "dyn.example"
COMPARED = "example.org"
API_ZONE = "api.example"
#: Seconds Knot gets to follow a new version: a NOTIFY and an IXFR take well under one.
FOLLOW = 15.0


def secdns_config(port: int, http_port: int, knot_port: int, idle_port: int, zone_file: Path) -> str:
    return f"""
[server]
listen = ["127.0.0.1:{port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[transfer]
soa_timeout = 1
connect_timeout = 1

[http]
listen = "127.0.0.1:{http_port}"

[[tsig_key]]
name = "{TRANSFER.name}"
secret = "{TRANSFER.secret}"

[[tsig_key]]
name = "{UPD.name}"
secret = "{UPD.secret}"

[[tsig_key]]
name = "{OTHER.name}"
secret = "{OTHER.secret}"

[[zone]]
name = "{DYN}"
type = "primary"
allow_update = ["{UPD.name}"]
external_downstreams = [ {{ address = "127.0.0.1", port = {knot_port}, tsig_key = "{TRANSFER.name}" }} ]

[[zone]]
name = "{COMPARED}"
type = "primary"
allow_update = ["{UPD.name}"]
external_downstreams = [ {{ address = "127.0.0.1", port = {idle_port}, tsig_key = "{TRANSFER.name}" }} ]

[[zone]]
name = "static.example"
type = "primary"
file = "{zone_file}"

[[zone]]
name = "secondary.example"
type = "secondary"
external_masters = [ {{ address = "127.0.0.1", port = {idle_port} }} ]
"""


STATIC_ZONE = """\
$ORIGIN static.example.
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.1
"""


class Deployment:
    """secdns with its dynamic zones, and Knot following C{dyn.example}: started, restarted, stopped by PID."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.http_port = free_port()
        # Knot follows dyn.example, and api.example once the API has made it.
        followed = [PeerZone(zone, primaries=((LOOPBACK, self.port),), key=TRANSFER.name) for zone in (DYN, API_ZONE)]
        self.knot = Knot(tmp, free_port(), keys=[TRANSFER], zones=followed)
        (tmp / "static.zone").write_text(STATIC_ZONE)
        self.config = tmp / "secdns.toml"
        self.config.write_text(secdns_config(self.port, self.http_port, self.knot.port, free_port(), tmp / "static.zone"))
        self.keyfile = tmp / "upd-key.conf"
        self.keyfile.write_text(f'key "{UPD.name}" {{\n\talgorithm hmac-sha256;\n\tsecret "{UPD.secret}";\n}};\n')
        self.secdns: Secdns | None = None

    def start(self) -> "Deployment":
        self.secdns = Secdns(self.config, self.port).wait_ready()
        self.knot.start()
        return self

    def restart_secdns(self) -> None:
        assert self.secdns is not None
        self.secdns.stop()
        self.secdns = Secdns(self.config, self.port, log_path=self.tmp / "secdns-restarted.log").wait_ready()

    def stop(self) -> None:
        self.knot.stop()
        if self.secdns is not None:
            self.secdns.stop()

    def serial(self, zone: str = DYN) -> int | None:
        return soa_serial(self.port, zone + ".")

    def nsupdate(self, commands: list[str], zone: str = DYN, key: str | None = "y", secret: str = UPDATE_SECRET,
                 key_name: str = UPD.name, tcp: bool = False) -> subprocess.CompletedProcess:
        """
        BIND's nsupdate sending C{commands} as one update of C{zone}: signed
        with C{-y} (C{key="y"}), with C{-k} and a key file (C{key="k"}), or
        unsigned (L{None}); over TCP with C{-v}.
        """
        argv = [require("nsupdate"), "-t", "5"]
        if key == "y":
            argv += ["-y", f"hmac-sha256:{key_name}:{secret}"]
        elif key == "k":
            argv += ["-k", str(self.keyfile)]
        if tcp:
            argv.append("-v")
        script = "\n".join([f"server 127.0.0.1 {self.port}", f"zone {zone}", *commands, "send", ""])
        return subprocess.run(argv, input=script, capture_output=True, text=True, timeout=60)

    def knot_follows(self, serial: int, zone: str = DYN) -> None:
        """Knot serves C{serial} of C{zone}, and took it by IXFR after a NOTIFY."""
        self.knot.wait_for_zone(zone + ".", timeout=FOLLOW, serial=serial)
        transfers = knot_transfers_in(self.knot.log(), zone)
        assert ("IXFR", serial) in transfers, f"Knot did not take serial {serial} by IXFR: {transfers}"
        assert ("notify", serial) in transfers, f"Knot was not notified of serial {serial}: {transfers}"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    deployment = Deployment(tmp_path_factory.mktemp("update"))
    try:
        yield deployment.start()
    finally:
        deployment.stop()


def records(port: int, name: str, rdtype: str) -> tuple[str, list[str]]:
    """The rcode and the RDATA of one UDP query's answer, sorted."""
    response = dns.query.udp(dns.message.make_query(name, rdtype), LOOPBACK, port=port, timeout=3)
    found = sorted(rdata.to_text() for rrset in response.answer if rrset.rdtype == dns.rdatatype.from_text(rdtype) for rdata in rrset)
    return dns.rcode.to_text(response.rcode()), found


def test_nsupdate_changes_are_served_and_knot_follows_by_ixfr(deployment):
    """nsupdate -y adds, nsupdate -k (a key file) deletes and adds: secdns serves each change, and Knot takes each by IXFR."""
    start = deployment.knot.wait_for_zone(DYN + ".", timeout=30)
    assert start == deployment.serial()

    done = deployment.nsupdate([
        "update add www.dyn.example. 300 A 192.0.2.10",
        "update add www.dyn.example. 300 A 192.0.2.11",
        'update add www.dyn.example. 300 TXT "hello from nsupdate"',
    ])
    assert done.returncode == 0, done.stderr
    assert records(deployment.port, "www.dyn.example", "A") == ("NOERROR", ["192.0.2.10", "192.0.2.11"])
    assert deployment.serial() == start + 1
    deployment.knot_follows(start + 1)
    assert records(deployment.knot.port, "www.dyn.example", "TXT") == ("NOERROR", ['"hello from nsupdate"'])

    done = deployment.nsupdate([
        "prereq yxrrset www.dyn.example. A",
        "update delete www.dyn.example. A 192.0.2.10",
        "update delete www.dyn.example. TXT",
        "update add mail.dyn.example. 600 MX 10 mx.dyn.example.",
    ], key="k", tcp=True)
    assert done.returncode == 0, done.stderr
    assert records(deployment.port, "www.dyn.example", "A") == ("NOERROR", ["192.0.2.11"])
    assert records(deployment.port, "www.dyn.example", "TXT") == ("NOERROR", [])
    assert deployment.serial() == start + 2
    deployment.knot_follows(start + 2)
    for name, rdtype in (("www.dyn.example", "A"), ("www.dyn.example", "TXT"), ("mail.dyn.example", "MX")):
        assert records(deployment.knot.port, name, rdtype) == records(deployment.port, name, rdtype)

    done = deployment.nsupdate(["update delete www.dyn.example."])
    assert done.returncode == 0, done.stderr
    assert records(deployment.port, "www.dyn.example", "A")[0] == "NXDOMAIN"
    deployment.knot_follows(start + 3)
    assert records(deployment.knot.port, "www.dyn.example", "A")[0] == "NXDOMAIN"
    assert f"zone {DYN}: serial {start + 2} -> {start + 3}" in deployment.secdns.log()
    assert "by DNS UPDATE from 127.0.0.1 (key upd-key)" in deployment.secdns.log()


REFUSALS = {
    # name: (nsupdate arguments, what nsupdate prints)
    "wrong-secret": (dict(secret=WRONG_SECRET), "NOTAUTH(BADSIG)"),
    "unknown-key": (dict(key_name="stranger-key"), "NOTAUTH(BADKEY)"),
    "no-key": (dict(key=None), "REFUSED"),
    "key-not-in-allow-update": (dict(key_name=OTHER.name, secret=OTHER.secret), "REFUSED"),
    "failed-prerequisite": (dict(commands=["prereq nxdomain mail.dyn.example."]), "YXDOMAIN"),
    "failed-value-prerequisite": (dict(commands=["prereq yxrrset mail.dyn.example. MX 20 other.dyn.example."]), "NXRRSET"),
    "zone-not-served": (dict(zone="nothere.example", commands=["update add x.nothere.example. 300 A 192.0.2.1"]), "NOTAUTH"),
    "zone-from-a-file": (dict(zone="static.example", commands=["update add x.static.example. 300 A 192.0.2.1"]), "REFUSED"),
    "secondary-zone": (dict(zone="secondary.example", commands=["update add x.secondary.example. 300 A 192.0.2.1"]), "REFUSED"),
    "outside-the-zone": (dict(commands=["update add x.elsewhere.example. 300 A 192.0.2.1"]), "NOTZONE"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refused_updates_change_nothing(deployment, case):
    """Each refused update gets its rcode (as nsupdate reports it), and the zone keeps its serial and records."""
    arguments, expected = REFUSALS[case]
    arguments = dict(arguments)
    commands = arguments.pop("commands", []) + ["update add refused.dyn.example. 300 A 192.0.2.99"]
    before = deployment.serial()
    done = deployment.nsupdate(commands, **arguments)
    assert done.returncode != 0
    assert f"update failed: {expected}" in done.stderr, done.stderr
    assert deployment.serial() == before
    assert records(deployment.port, "refused.dyn.example", "A")[0] == "NXDOMAIN"


def test_concurrent_updates_each_apply_once(deployment):
    """Twenty updates sent at once, each with a prerequisite, all apply: one new serial each, no update lost or doubled."""
    keyring = dns.tsigkeyring.from_text({UPD.name: ("hmac-sha256", UPD.secret)})

    def one(i: int) -> str:
        message = dns.update.UpdateMessage(DYN + ".", keyring=keyring)
        message.present(f"mail.{DYN}.", "MX")
        message.add(f"burst{i}", 300, "A", f"198.51.100.{i}")
        response = dns.query.tcp(message, LOOPBACK, port=deployment.port, timeout=30)
        return dns.rcode.to_text(response.rcode())

    start = deployment.serial()
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        rcodes = list(pool.map(one, range(20), timeout=120))
    assert rcodes == ["NOERROR"] * 20
    assert deployment.serial() == start + 20
    for i in range(20):
        assert records(deployment.port, f"burst{i}.{DYN}", "A") == ("NOERROR", [f"198.51.100.{i}"])
    deployment.knot_follows(start + 20)


def test_updates_are_counted_in_the_metrics(deployment):
    """secdns_updates_total counts the updates answered, by zone and rcode."""
    assert deployment.nsupdate(["update add counted.dyn.example. 300 A 192.0.2.5"]).returncode == 0
    assert deployment.nsupdate(["update add x.static.example. 300 A 192.0.2.5"], zone="static.example").returncode != 0
    text = urllib.request.urlopen(f"http://127.0.0.1:{deployment.http_port}/metrics", timeout=5).read().decode()
    assert 'secdns_updates_total{result="NOERROR",zone="dyn.example"}' in text
    assert 'secdns_updates_total{result="REFUSED",zone="static.example"}' in text


def test_a_zone_made_through_the_api_takes_updates(deployment):
    """A PRIMARY zone created through the REST API with allowUpdate takes nsupdate's changes, and Knot follows it by IXFR."""
    api = ApiClient(f"http://127.0.0.1:{deployment.http_port}/20180115")
    created = api("POST", "/zones", {
        "name": API_ZONE, "zoneType": "PRIMARY", "allowUpdate": [UPD.name],
        "externalDownstreams": [{"address": LOOPBACK, "port": deployment.knot.port, "tsigKeyId": TRANSFER.name}],
    })
    assert created.status == 201, created.raw
    assert created.json["allowUpdate"]
    start = deployment.knot.wait_for_zone(API_ZONE + ".", timeout=30)
    assert start == deployment.serial(API_ZONE)
    done = deployment.nsupdate([f"update add www.{API_ZONE}. 300 A 192.0.2.44"], zone=API_ZONE)
    assert done.returncode == 0, done.stderr
    assert records(deployment.port, f"www.{API_ZONE}", "A") == ("NOERROR", ["192.0.2.44"])
    deployment.knot_follows(start + 1, API_ZONE)
    assert records(deployment.knot.port, f"www.{API_ZONE}", "A") == ("NOERROR", ["192.0.2.44"])
    listed = api("GET", f"/zones/{API_ZONE}/records/www.{API_ZONE}")
    assert listed.status == 200 and "192.0.2.44" in listed.raw.decode()
    refused = deployment.nsupdate([f"update add x.{API_ZONE}. 300 A 192.0.2.45"], zone=API_ZONE, key_name=OTHER.name, secret=OTHER.secret)
    assert "update failed: REFUSED" in refused.stderr and deployment.serial(API_ZONE) == start + 1


# -- secdns and BIND given the same messages


BIND_ZONE = """\
$ORIGIN example.org.
$TTL 3600
@ SOA ns1 hostmaster 1 3600 600 1209600 300
@ NS ns1
ns1 300 A 192.0.2.1
"""

#: Updates that change the zone, sent in this order after the seed: name -> (prerequisites, updates).
MUTATIONS = {
    "replace-one-ttl-60": ([], [rr("www", "A", "NONE", 0, "192.0.2.80"), rr("www", "A", "IN", 60, "192.0.2.82")]),
    "same-record-other-ttl": ([], [rr("www", "A", "IN", 900, "192.0.2.81")]),
    "a-beside-cname": ([], [rr("alias", "A", "IN", 300, "192.0.2.1")]),
    "cname-at-apex": ([], [rr("@", "CNAME", "IN", 300, "www.example.org.")]),
    "wildcard-ns": ([], [rr("*.w", "NS", "IN", 300, "ns1.example.org.")]),
    "apex-ns-and-soa-rrsets": ([], [rr("@", "NS", "ANY"), rr("@", "SOA", "ANY")]),
    "last-apex-ns": ([], [rr("@", "NS", "NONE", 0, "ns1.example.org.")]),
    "soa-record-deleted": ([], [rr("@", "SOA", "NONE", 0, "ns1.example.org. hostmaster.example.org. 1 3600 600 1209600 300")]),
    "apex-ns-without-address": ([], [rr("@", "NS", "IN", 3600, "ns2.example.org.")]),
    "apex-ns-to-a-cname": ([], [rr("@", "NS", "IN", 3600, "alias.example.org.")]),
    "apex-ns-replaced": ([], [
        rr("@", "NS", "IN", 3600, "ns2.example.org."), rr("@", "NS", "NONE", 0, "ns1.example.org."),
        rr("ns2", "AAAA", "IN", 300, "2001:db8::2"),
    ]),
    "apex-ns-address-removed": ([], [rr("ns2", "AAAA", "ANY")]),
    "apex-ns-deleted-first": ([], [
        rr("@", "NS", "NONE", 0, "ns2.example.org."), rr("@", "NS", "IN", 3600, "ns3.example.org."),
        rr("ns3", "A", "IN", 300, "192.0.2.3"),
    ]),
    "apex-ns-below-a-cut": ([], [rr("cut", "NS", "IN", 300, "ns.cut.example.org."), rr("@", "NS", "IN", 3600, "x.cut.example.org.")]),
    "cname-replaced": ([], [rr("alias", "CNAME", "IN", 300, "ns1.example.org.")]),
    "a-then-cname": ([], [rr("www", "A", "ANY"), rr("www", "CNAME", "IN", 300, "ns1.example.org.")]),
    "name-deleted": ([], [rr("alias", "ANY", "ANY")]),
    "apex-emptied": ([], [rr("@", "ANY", "ANY")]),
    "added-then-deleted": ([], [rr("tmp", "A", "IN", 300, "192.0.2.5"), rr("tmp", "ANY", "ANY")]),
    "value-prerequisite-then-add": (
        [rr("a.b.ent", "TXT", "IN", 0, '"deep"')],
        [rr("a.b.ent", "TXT", "IN", 300, '"deeper" "two strings"'), rr("srv", "SRV", "IN", 300, "10 5 443 www.example.org.")],
    ),
    "many-types": ([], [
        rr("v6", "AAAA", "IN", 300, "2001:db8::1"), rr("@", "CAA", "IN", 300, '0 issue "ca.example"'),
        rr("mx", "MX", "IN", 300, "10 mail.example.org."), rr("mx", "MX", "IN", 300, "20 mail2.example.org."),
        rr("ptr", "PTR", "IN", 300, "www.example.org."), rr("sub", "NS", "IN", 300, "ns.sub.example.org."),
        rr("ns.sub", "A", "IN", 300, "192.0.2.53"),
    ]),
    "ent-absent-then-fill": ([rr("b.ent", "ANY", "NONE")], [rr("b.ent", "A", "IN", 300, "192.0.2.9")]),
}

SEED_UPDATE = [
    rr(owner, rdtype, "IN", int(ttl), rdata)
    for owner, ttl, rdtype, rdata in (line.split(" ", 3) for line in SEED.splitlines())
    if rdtype not in ("SOA", "NS")
]


def zone_content(port: int, key: TsigKey) -> list[tuple]:
    """The zone example.org by AXFR, signed with C{key}, its SOA serial left out."""
    keyring = {dns.name.from_text(key.name): dns.tsig.Key(key.name, key.secret, "hmac-sha256")}
    content = set()
    for message in dns.query.xfr(LOOPBACK, COMPARED + ".", port=port, keyring=keyring, keyname=key.name, timeout=10, lifetime=30):
        for rrset in message.answer:
            for rdata in rrset:
                if rrset.rdtype == dns.rdatatype.SOA:
                    rdata = rdata.replace(serial=0)
                content.add((rrset.name.to_text(), rrset.ttl, dns.rdatatype.to_text(rrset.rdtype), rdata.to_text()))
    return sorted(content)


def send(port: int, wire: bytes) -> str:
    """Send an UPDATE (signed with upd-key) over TCP, as built (dnspython would not send some); the rcode of the answer."""
    key = tsig.Key.from_config(TsigKeyConfig(dns.name.from_text(UPD.name), "hmac-sha256", base64.b64decode(UPD.secret)))
    wire = signed(wire, key)
    with socket.create_connection((LOOPBACK, port), timeout=10) as connection:
        connection.sendall(struct.pack("!H", len(wire)) + wire)
        with connection.makefile("rb") as stream:
            (length,) = struct.unpack("!H", stream.read(2))
            response = dns.message.from_wire(stream.read(length), keyring=False)
    return dns.rcode.to_text(response.rcode())


@pytest.fixture(scope="module")
def bind(deployment, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("update-bind")
    (tmp / "example.org.zone").write_text(BIND_ZONE)
    # BIND's own checks of a zone's content (an MX or NS target without an
    # address, names that are not host names) are policy, not RFC 2136, and
    # secdns makes none of them: off, so that the comparison is of UPDATE.
    extra = (
        f"allow-update {{ key {UPD.name}; }};\n    allow-transfer {{ key {TRANSFER.name}; }};\n"
        "    check-integrity no;\n    check-names ignore;"
    )
    server = Bind(tmp, free_port(), keys=[UPD, TRANSFER], zones=[PeerZone(COMPARED, file=tmp / "example.org.zone", extra=extra)])
    with server:
        yield server


def test_same_messages_same_rcodes_and_zone_as_bind(deployment, bind):
    """Given the same UPDATE messages, secdns answers each with BIND's rcode and ends each with BIND's zone content."""
    ours, theirs = deployment.port, bind.port
    # BIND loads no zone whose NS has no address; secdns's new zone starts with none.
    assert send(ours, update_wire(updates=[rr("ns1", "A", "IN", 300, "192.0.2.1")])) == "NOERROR"
    assert zone_content(ours, TRANSFER) == zone_content(theirs, TRANSFER)
    seed = update_wire(updates=SEED_UPDATE)
    assert send(ours, seed) == send(theirs, seed) == "NOERROR"
    differences = []
    steps = [(f"case {name}", p, u) for name, (p, u, _) in BIND_CASES.items()] + [(name, p, u) for name, (p, u) in MUTATIONS.items()]
    for name, prerequisites, updates in steps:
        wire = update_wire(prerequisites, updates, id=len(differences) + 1)
        got, wanted = send(ours, wire), send(theirs, wire)
        if got != wanted:
            differences.append(f"{name}: secdns {got}, BIND {wanted}")
        ours_now, theirs_now = zone_content(ours, TRANSFER), zone_content(theirs, TRANSFER)
        if ours_now != theirs_now:
            only_ours = sorted(set(ours_now) - set(theirs_now))
            only_theirs = sorted(set(theirs_now) - set(ours_now))
            differences.append(f"{name}: zone differs: secdns only {only_ours}, BIND only {only_theirs}")
            break
    assert differences == []


def test_content_survives_a_restart(deployment):
    """The updated zone is in the store: after a restart secdns serves the same serial and records, and Knot stays in step."""
    done = deployment.nsupdate(["update add kept.dyn.example. 300 A 192.0.2.77"])
    assert done.returncode == 0, done.stderr
    serial = deployment.serial()
    deployment.knot_follows(serial)
    before = [records(deployment.port, name, "A") for name in ("kept.dyn.example", "www.dyn.example")]
    before_mx = records(deployment.port, "mail.dyn.example", "MX")
    deployment.restart_secdns()
    assert deployment.serial() == serial
    assert [records(deployment.port, name, "A") for name in ("kept.dyn.example", "www.dyn.example")] == before
    assert records(deployment.port, "mail.dyn.example", "MX") == before_mx
    done = deployment.nsupdate(["update add after.dyn.example. 300 A 192.0.2.78"])
    assert done.returncode == 0, done.stderr
    assert deployment.serial() == serial + 1
    deployment.knot_follows(serial + 1)
