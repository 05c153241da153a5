"""
The C{secdns} command-line client, run as an operator runs it (the
installed console script, as a subprocess) against the real appliance
(C{twistd -n secdns}) and real peers: the seeds' two setup task lists.

  - Ingress: list the zone transfer servers, create a TSIG key from
    C{tsig-keygen}'s file, create a SECONDARY zone whose external master is
    a real BIND primary: it is transferred, served, counted in the
    metrics, follows BIND's changes, survives a restart of secdns, shows in
    C{zone status}; deleted, it is gone from answers, metrics and store.
  - Egress: a TSIG key from C{keymgr -t}'s file, a PRIMARY zone with a
    real Knot as external downstream, records patched through the CLI:
    Knot follows each change.

And the CLI's failures as users meet them: the API's message and code,
distinct exit statuses, the endpoint named when nothing listens, tokens.
The README's walkthrough is these commands.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

from tests.peers import Bind, Knot, PeerZone, TsigKey
from tests.support import LOOPBACK, Secdns, free_port, require, wait_until

SECDNS_CLI = Path(sys.executable).with_name("secdns")

INGRESS_ZONE = "example.com"
EGRESS_ZONE = "example.net"


def zone_text(serial: int, extra: str = "") -> str:
    return "\n".join(
        [
            f"$ORIGIN {INGRESS_ZONE}.",
            "$TTL 300",
            f"@ SOA ns1 hostmaster {serial} 3600 600 86400 60",
            "@ NS ns1",
            "ns1 A 192.0.2.1",
            "www A 192.0.2.80",
            *[f"host{i} A 198.51.100.{i}" for i in range(1, 20)],
            extra,
            "",
        ]
    )


def secdns_config(dns_port: int, http_port: int, token_file: str | None = None, http_extra: str = "") -> str:
    token = (f'token_file = "{token_file}"\n' if token_file else "") + http_extra
    return f"""
[server]
listen = ["127.0.0.1:{dns_port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[http]
listen = "127.0.0.1:{http_port}"
{token}
[timers]
min_refresh = 1
min_retry = 1
min_expire = 1

[transfer]
soa_timeout = 1
connect_timeout = 2
"""


def made_key(argv: list[str]) -> tuple[str, str]:
    """Run C{tsig-keygen} or C{keymgr -t}: its output, and the secret read from it by the test itself."""
    text = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout
    match = re.search(r'secret:?\s+"?([A-Za-z0-9+/=]+)"?', text)
    assert match, text
    return text, match.group(1)


class Cli:
    """The installed C{secdns} console script, pointed at one appliance."""

    def __init__(self, tmp: Path, http_port: int, token_file: Path | None = None) -> None:
        if not SECDNS_CLI.exists():
            pytest.fail(f"{SECDNS_CLI} is missing: pip install -e . installs the console script")
        config = tmp / "cli.toml"
        config.write_text(f'endpoint = "http://127.0.0.1:{http_port}"\n' + (f'token_file = "{token_file}"\n' if token_file else ""))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SECDNS_")}
        self.env["SECDNS_CLI_CONFIG"] = str(config)
        self.commands: list[str] = []

    def run(self, *argv: str, input: str | None = None, expect: int = 0) -> subprocess.CompletedProcess:
        self.commands.append(" ".join(argv))
        result = subprocess.run(
            [str(SECDNS_CLI), *argv], capture_output=True, text=True, env=self.env, input=input, timeout=60
        )
        assert result.returncode == expect, (argv, result.returncode, result.stdout, result.stderr)
        return result

    def data(self, *argv: str):
        """The C{data} of a command's JSON output."""
        return json.loads(self.run(*argv).stdout)["data"]


def ask(port: int, name: str, rdtype: str = "A") -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rdtype), LOOPBACK, port=port, timeout=2)


def serial_of(port: int, zone: str) -> int | None:
    try:
        response = ask(port, zone, "SOA")
    except (dns.exception.Timeout, OSError):
        return None
    if response.rcode() != dns.rcode.NOERROR or not response.answer:
        return None
    return response.answer[0][0].serial


def metrics(http_port: int) -> str:
    return urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5).read().decode()


def metric(http_port: int, name: str, zone: str) -> float | None:
    match = re.search(rf'^{name}\{{zone="{re.escape(zone)}"\}} (\S+)$', metrics(http_port), re.M)
    return None if match is None else float(match.group(1))


class Appliance:
    """secdns with its REST API on loopback, restartable on the same state."""

    def __init__(self, tmp: Path, token_file: str | None = None, http_extra: str = "") -> None:
        self.tmp = tmp
        self.port = free_port()
        self.http = free_port()
        self.scheme = "https" if "certificate" in http_extra else "http"
        self.config = tmp / "secdns.toml"
        self.config.write_text(secdns_config(self.port, self.http, token_file, http_extra))
        self.daemon: Secdns | None = None

    def start(self) -> "Appliance":
        self.daemon = Secdns(self.config, self.port).wait_ready()
        wait_until(self._api_answers, timeout=15, what="the REST API to answer")
        return self

    def _api_answers(self) -> bool:
        import socket

        try:
            socket.create_connection(("127.0.0.1", self.http), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
            self.daemon = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.config.with_suffix(".log").read_text(errors="replace")


@pytest.fixture
def appliance(tmp_path):
    secdns = Appliance(tmp_path)
    try:
        yield secdns.start()
    finally:
        secdns.stop()


def test_ingress_walkthrough(appliance, tmp_path):
    """
    The seeds' "Secondary Ingress Setup Tasks" through the CLI, with BIND as
    the external primary: issue 9's proof.
    """
    secdns = appliance
    cli = Cli(tmp_path, secdns.http)
    key_text, secret = made_key([require("tsig-keygen"), "-a", "hmac-sha256", "transfer-key"])
    key_file = tmp_path / "transfer-key.key"
    key_file.write_text(key_text)
    zone_file = tmp_path / "example.com.zone"
    zone_file.write_text(zone_text(1))
    bind = Bind(
        tmp_path, free_port(), keys=[TsigKey("transfer-key", secret)],
        zones=[PeerZone(INGRESS_ZONE, file=zone_file, downstreams=((LOOPBACK, secdns.port),), key="transfer-key")],
    )
    bind.start()
    try:
        # 1. (Optional) Listing Zone Transfer Servers: what BIND's ACL must allow.
        servers = cli.data("zone-transfer-server", "list")
        assert servers == [{"address": "127.0.0.1", "port": secdns.port, "isTransferSource": True, "isTransferDestination": True}]
        table = cli.run("zone-transfer-server", "list", "--output", "table").stdout
        assert table.splitlines()[0].split() == ["ADDRESS", "PORT", "SOURCE", "DESTINATION"]

        # 2. (Optional) Creating a TSIG Key: the file tsig-keygen wrote.
        created = cli.run("tsig-key", "create", "--secret-file", str(key_file))
        assert secret not in created.stdout + created.stderr
        key = json.loads(created.stdout)["data"]
        assert (key["name"], key["algorithm"]) == ("transfer-key", "hmac-sha256")
        assert "secret" not in key or key["secret"] in (None, "(hidden)")

        # 3. Creating a Secondary DNS Zone, its external master BIND.
        masters = json.dumps([{"address": "127.0.0.1", "port": bind.port, "tsigKeyId": key["id"]}])
        zone = cli.data("zone", "create", "--name", INGRESS_ZONE, "--zone-type", "SECONDARY", "--external-masters", masters)
        assert (zone["name"].rstrip("."), zone["zoneType"]) == (INGRESS_ZONE, "SECONDARY")

        # Transferred and served.
        wait_until(lambda: serial_of(secdns.port, INGRESS_ZONE) == 1, timeout=20, what="secdns serving serial 1")
        response = ask(secdns.port, f"www.{INGRESS_ZONE}")
        assert [rrset.to_text() for rrset in response.answer] == [f"www.{INGRESS_ZONE}. 300 IN A 192.0.2.80"]
        wait_until(lambda: (metric(secdns.http, "secdns_zone_transfer_success_total", INGRESS_ZONE) or 0) >= 1,
                   timeout=10, what="the transfer counted")
        assert metric(secdns.http, "secdns_zone_expiration_hours", INGRESS_ZONE) > 0

        # Its status, one line a zone, as knotc zone-status.
        lines = cli.run("zone", "status").stdout.splitlines()
        assert lines[0].split()[:4] == ["ZONE", "ROLE", "STATE", "SERIAL"]
        row = next(line.split() for line in lines[1:] if line.split()[0].rstrip(".") == INGRESS_ZONE)
        assert row[1:4] == ["secondary", "loaded", "1"], lines
        status = cli.data("zone", "status", INGRESS_ZONE)
        assert (status["serial"], status["role"], status["transfersIn"]) == (1, "secondary", 1)
        events = cli.data("events", "--zone", INGRESS_ZONE)
        assert [e["type"] for e in events if e["type"] == "TransferSucceeded"] == ["TransferSucceeded"]

        # BIND's next serial reaches secdns (NOTIFY, then a transfer); "zone refresh" asks at once.
        zone_file.write_text(zone_text(2, extra="new A 192.0.2.99"))
        bind.reload()
        bind.wait_for_zone(INGRESS_ZONE + ".", serial=2)
        cli.run("zone", "refresh", INGRESS_ZONE)
        wait_until(lambda: serial_of(secdns.port, INGRESS_ZONE) == 2, timeout=20, what="secdns serving serial 2")
        assert ask(secdns.port, f"new.{INGRESS_ZONE}").answer

        # A restart of secdns keeps the zone and the key, and serves the copy.
        secdns.restart()
        wait_until(lambda: serial_of(secdns.port, INGRESS_ZONE) == 2, timeout=20, what="serial 2 after a restart")
        assert [z["name"].rstrip(".") for z in cli.data("zone", "list")] == [INGRESS_ZONE]
        assert [k["name"] for k in cli.data("tsig-key", "list")] == ["transfer-key"]

        # The key is in use: it cannot be deleted, and the CLI says why.
        refused = cli.run("tsig-key", "delete", key["id"], "--force", expect=1)
        assert "Conflict" in refused.stderr and INGRESS_ZONE in refused.stderr

        # Deleted: gone from answers, metrics and (after a restart) the store.
        cli.run("zone", "delete", "--zone-name-or-id", INGRESS_ZONE, input="y\n")
        wait_until(lambda: ask(secdns.port, INGRESS_ZONE, "SOA").rcode() == dns.rcode.REFUSED, timeout=10,
                   what="the zone REFUSED")
        assert f'zone="{INGRESS_ZONE}"' not in metrics(secdns.http)
        gone = cli.run("zone", "get", INGRESS_ZONE, expect=1)
        assert "(HTTP 404)" in gone.stderr
        cli.run("tsig-key", "delete", "--tsig-key-id", key["id"], "--force")
        secdns.restart()
        assert cli.data("zone", "list") == []
        assert cli.data("tsig-key", "list") == []
        assert ask(secdns.port, INGRESS_ZONE, "SOA").rcode() == dns.rcode.REFUSED

        assert secret not in secdns.log()
    finally:
        bind.stop()


def test_egress_walkthrough(appliance, tmp_path):
    """
    The seeds' "Secondary Egress Setup Tasks" through the CLI, with Knot as
    the external downstream: a PRIMARY zone edited with "zone record patch".
    """
    secdns = appliance
    cli = Cli(tmp_path, secdns.http)
    key_text, secret = made_key([require("keymgr"), "-t", "knot-key", "hmac-sha256"])
    key_file = tmp_path / "knot-key.yaml"
    key_file.write_text(key_text)
    knot_port = free_port()

    # 1. Listing Zone Transfer Servers (what Knot must accept NOTIFY from and transfer from).
    assert any(s["isTransferSource"] for s in cli.data("zone-transfer-server", "list"))
    # 2. Creating a TSIG Key: the YAML keymgr -t wrote.
    key = cli.data("tsig-key", "create", "--secret-file", str(key_file))
    # 3. Creating a Public DNS Zone (PRIMARY), its records patched in.
    cli.data("zone", "create", "--name", EGRESS_ZONE, "--zone-type", "PRIMARY")
    items = [
        {"domain": f"ns1.{EGRESS_ZONE}", "rtype": "A", "rdata": "192.0.2.53", "ttl": 3600, "operation": "ADD"},
        {"domain": f"www.{EGRESS_ZONE}", "rtype": "A", "rdata": "192.0.2.80", "ttl": 300, "operation": "ADD"},
        {"domain": EGRESS_ZONE, "rtype": "MX", "rdata": f"10 mail.{EGRESS_ZONE}.", "ttl": 300, "operation": "ADD"},
        {"domain": f"mail.{EGRESS_ZONE}", "rtype": "A", "rdata": "192.0.2.25", "ttl": 300, "operation": "ADD"},
    ]
    table = cli.run("zone", "record", "patch", "--zone-name-or-id", EGRESS_ZONE, "--output", "table", "--items", json.dumps(items))
    assert [line.split()[:3] for line in table.stdout.splitlines()] == [
        ["DOMAIN", "TTL", "TYPE"], [EGRESS_ZONE, "3600", "NS"], [EGRESS_ZONE, "3600", "SOA"], [EGRESS_ZONE, "300", "MX"],
        [f"mail.{EGRESS_ZONE}", "300", "A"], [f"ns1.{EGRESS_ZONE}", "3600", "A"], [f"www.{EGRESS_ZONE}", "300", "A"],
    ]
    first = serial_of(secdns.port, EGRESS_ZONE)
    assert first is not None

    # 4. Adding Knot as a downstream server (the key by its name, as the README does).
    downstreams = json.dumps([{"address": "127.0.0.1", "port": knot_port, "tsigKeyId": "knot-key"}])
    updated = cli.data("zone", "update", "--zone-name-or-id", EGRESS_ZONE, "--external-downstreams", downstreams)
    assert updated["externalDownstreams"] == [{"address": "127.0.0.1", "port": knot_port, "tsigKeyId": key["id"]}]

    knot = Knot(
        tmp_path, knot_port, keys=[TsigKey("knot-key", secret)],
        zones=[PeerZone(EGRESS_ZONE, primaries=((LOOPBACK, secdns.port),), key="knot-key")],
    )
    knot.start()
    try:
        knot.wait_for_zone(EGRESS_ZONE + ".", timeout=30, serial=first)
        assert [r.to_text() for r in knot.query(f"www.{EGRESS_ZONE}", "A").answer] == [
            f"www.{EGRESS_ZONE}. 300 IN A 192.0.2.80"
        ]

        # A change through the CLI: NOTIFY, and Knot takes it by IXFR.
        change = [
            {"domain": f"www.{EGRESS_ZONE}", "rtype": "A", "rdata": "192.0.2.80", "ttl": 300, "operation": "REMOVE"},
            {"domain": f"www.{EGRESS_ZONE}", "rtype": "A", "rdata": "192.0.2.81", "ttl": 300, "operation": "ADD"},
        ]
        cli.run("zone", "record", "patch", EGRESS_ZONE, "--items", json.dumps(change))
        second = serial_of(secdns.port, EGRESS_ZONE)
        assert second is not None and second != first
        knot.wait_for_zone(EGRESS_ZONE + ".", timeout=30, serial=second)
        assert [r.to_text() for r in knot.query(f"www.{EGRESS_ZONE}", "A").answer] == [
            f"www.{EGRESS_ZONE}. 300 IN A 192.0.2.81"
        ]
        wait_until(lambda: "IXFR, incoming" in knot.log(), timeout=10, what="Knot's IXFR")

        # The records as the CLI shows them, and one RRset.
        rows = cli.run("zone", "record", "get", EGRESS_ZONE, "--domain", f"www.{EGRESS_ZONE}", "--output", "table").stdout
        assert rows.splitlines()[0].split() == ["DOMAIN", "TTL", "TYPE", "RDATA"]
        assert rows.splitlines()[1].split() == [f"www.{EGRESS_ZONE}", "300", "A", "192.0.2.81"]
        rrset = cli.data("zone", "record", "get", EGRESS_ZONE, "--domain", f"www.{EGRESS_ZONE}", "--rtype", "A")
        assert [item["rdata"] for item in rrset["items"]] == ["192.0.2.81"]

        # An atomic PATCH: a failed REQUIRE changes nothing, and the CLI says so.
        failed = cli.run("zone", "record", "patch", EGRESS_ZONE, "--items", json.dumps([
            {"domain": f"www.{EGRESS_ZONE}", "rtype": "A", "rdata": "203.0.113.1", "ttl": 300, "operation": "REQUIRE"},
            {"domain": f"evil.{EGRESS_ZONE}", "rtype": "A", "rdata": "203.0.113.2", "ttl": 300, "operation": "ADD"},
        ]), expect=1)
        assert "HTTP 4" in failed.stderr
        assert serial_of(secdns.port, EGRESS_ZONE) == second

        lines = cli.run("zone", "status", "--output", "table").stdout.splitlines()
        row = next(line.split() for line in lines[1:] if line.split()[0].rstrip(".") == EGRESS_ZONE)
        assert row[1:4] == ["primary", "loaded", str(second)]
        assert secret not in secdns.log()
    finally:
        knot.stop()


def test_errors_as_users_meet_them(appliance, tmp_path):
    """The API's message and code on stderr, and the exit status says which kind of failure."""
    cli = Cli(tmp_path, appliance.http)
    missing = cli.run("zone", "get", "no-such-zone.example", expect=1)
    assert missing.stdout == ""
    assert re.match(r"secdns: \w+ \(HTTP 404\): .*no-such-zone\.example", missing.stderr), missing.stderr
    bad = cli.run("zone", "create", "--name", "example.com", "--zone-type", "SECONDARY",
                  "--external-masters", '[{"address": "not-an-address", "port": 53}]', expect=1)
    assert "(HTTP 400)" in bad.stderr
    usage = cli.run("zone", "create", "--name", "x", expect=2)
    assert "--zone-type" in usage.stderr
    port = free_port()
    refused = cli.run("--endpoint", f"http://127.0.0.1:{port}", "zone", "list", expect=3)
    assert f"cannot connect to http://127.0.0.1:{port}: connection refused" in refused.stderr
    aborted = cli.run("zone", "delete", "example.com", input="n\n", expect=4)
    assert "Aborted" in aborted.stderr


def test_tokens(tmp_path):
    """With [http] token_file the API wants a bearer token: without one the CLI exits 1 with the API's 401."""
    tokens = tmp_path / "tokens"
    tokens.write_text("operator s3cr3t-t0ken-value\n")
    secdns = Appliance(tmp_path, token_file=str(tokens)).start()
    try:
        anonymous = Cli(tmp_path, secdns.http).run("zone", "list", expect=1)
        assert "(HTTP 401)" in anonymous.stderr
        token_file = tmp_path / "my-token"
        token_file.write_text("s3cr3t-t0ken-value\n")
        assert Cli(tmp_path, secdns.http, token_file=token_file).data("zone", "list") == []
        wrong = Cli(tmp_path, secdns.http).run("--token", "wrong", "zone", "list", expect=1)
        assert "(HTTP 401)" in wrong.stderr and "s3cr3t" not in wrong.stderr
    finally:
        secdns.stop()


def test_paging_against_the_api(appliance, tmp_path):
    """--limit shows opc-next-page; --all follows it to the end."""
    cli = Cli(tmp_path, appliance.http)
    names = [f"zone{i}.example" for i in range(3)]
    for name in names:
        cli.run("zone", "create", "--name", name, "--zone-type", "PRIMARY")
    first = json.loads(cli.run("zone", "list", "--limit", "2").stdout)
    assert [z["name"] for z in first["data"]] == names[:2]
    assert first["opc-next-page"]
    rest = cli.data("zone", "list", "--limit", "2", "--page", first["opc-next-page"])
    assert [z["name"] for z in rest] == names[2:]
    assert [z["name"] for z in cli.data("zone", "list", "--limit", "1", "--all")] == names
    table = cli.run("zone", "list", "--all", "--output", "table").stdout.splitlines()
    assert [line.split()[:3] for line in table] == [["NAME", "TYPE", "STATE"]] + [[n, "PRIMARY", "ACTIVE"] for n in names]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, its own CA, and its key (PEM files)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "secdns test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "api.crt", directory / "api.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https(tmp_path):
    """An HTTPS API: refused with a clear message until the CLI is given the CA (or told not to check)."""
    cert, key = self_signed(tmp_path)
    secdns = Appliance(tmp_path, http_extra=f'certificate = "{cert}"\nprivate_key = "{key}"\n').start()
    try:
        cli = Cli(tmp_path, secdns.http)
        endpoint = f"https://127.0.0.1:{secdns.http}"
        unverified = cli.run("--endpoint", endpoint, "zone", "list", expect=3)
        assert f"{endpoint}: the server's certificate cannot be verified" in unverified.stderr
        assert "--ca-file" in unverified.stderr
        assert cli.data("--endpoint", endpoint, "--ca-file", str(cert), "zone", "list") == []
        assert cli.data("--endpoint", endpoint, "--insecure", "zone-transfer-server", "list")
        plain = cli.run("--endpoint", f"http://127.0.0.1:{secdns.http}", "zone", "list", expect=3)
        assert f"http://127.0.0.1:{secdns.http} closed the connection without an answer (is it HTTPS?" in plain.stderr
    finally:
        secdns.stop()


def test_zones_declared_in_the_config_are_read_only(tmp_path):
    """A zone of the config file is listed with the file's name, and the CLI shows the API's 409 naming it."""
    (tmp_path / "example.org.zone").write_text("$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n")
    declared = '\n[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "example.org.zone"\n'
    secdns = Appliance(tmp_path)
    secdns.config.write_text(secdns.config.read_text() + declared)
    secdns.start()
    try:
        cli = Cli(tmp_path, secdns.http)
        rows = cli.run("zone", "list", "--output", "table").stdout.splitlines()
        assert rows[0].split()[-2:] == ["DECLARED", "IN"]
        assert rows[1].split()[0] == "example.org" and rows[1].endswith(str(secdns.config))
        refused = cli.run("zone", "delete", "example.org", "--force", expect=1)
        assert refused.stderr.startswith("secdns: Conflict (HTTP 409): ") and str(secdns.config) in refused.stderr
        refused = cli.run("zone", "update", "example.org", "--external-downstreams", '[{"address": "192.0.2.7"}]', expect=1)
        assert "(HTTP 409)" in refused.stderr and str(secdns.config) in refused.stderr
        assert serial_of(secdns.port, "example.org") == 1
    finally:
        secdns.stop()
