"""
The REST API on the real appliance (C{twistd -n secdns}), over real HTTP:
a secondary zone made through it is transferred from a real BIND primary
(TSIG key made through it too), served, counted in the metrics, kept
across a restart, and gone when deleted; bearer tokens; config-declared
objects read-only; HTTPS; the DNS server answering while the API is fed
malformed requests; and no secret or token in any answer or log line.
"""

from __future__ import annotations

import datetime
import re
import socket
import ssl
import time
import urllib.request
from pathlib import Path

import dns.flags
import dns.rcode
import pytest

from tests.api_client import Answer, ApiClient
from tests.peers import Bind, PeerZone, TsigKey
from tests.support import LOOPBACK, Secdns, free_port, query, wait_until

SECRET = "QVBJLW1hZGUga2V5OiBuZXZlciBzaG93biwgbmV2ZXIgbG9nZ2Vk"  # "API-made key: never shown, never logged"
CONFIG_SECRET = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
TOKEN = "ops-token-5b0e6c1a9d8f7e6d"
KEY = TsigKey("api-key", SECRET)


def zone_text(serial: int, extra: str = "") -> str:
    return "\n".join(
        ["$TTL 300", f"@ SOA ns1 hostmaster {serial} 3600 600 86400 60", "@ NS ns1", "ns1 A 192.0.2.1", "www A 192.0.2.80", extra, ""]
    )


def config_text(port: int, http: int, tls: str = "") -> str:
    return f"""
[server]
listen = ["127.0.0.1:{port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[http]
listen = "127.0.0.1:{http}"
token_file = "tokens"
{tls}

[timers]
min_refresh = 1
min_retry = 1
min_expire = 1

[transfer]
soa_timeout = 1
connect_timeout = 2

[[tsig_key]]
name = "config-key"
secret = "{CONFIG_SECRET}"

[[zone]]
name = "example.org"
type = "primary"
file = "example.org.zone"
"""


class Appliance:
    """secdns with its API on a token, a config-declared zone and key, in a directory of its own."""

    def __init__(self, tmp: Path, tls: str = "", scheme: str = "http", context=None) -> None:
        self.tmp = tmp
        self.port, self.http = free_port(), free_port()
        (tmp / "example.org.zone").write_text(zone_text(1))
        (tmp / "tokens").write_text(f"# operators\nops {TOKEN}\n")
        self.config = tmp / "secdns.toml"
        self.config.write_text(config_text(self.port, self.http, tls))
        self.secdns = Secdns(self.config, self.port).wait_ready()
        self.api = ApiClient(f"{scheme}://127.0.0.1:{self.http}/20180115", TOKEN, context)

    def restart(self) -> None:
        self.secdns.stop()
        self.secdns = Secdns(self.config, self.port).wait_ready()

    def metrics(self) -> str:
        return urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=5).read().decode()

    def stop(self) -> None:
        self.secdns.stop()


@pytest.fixture(scope="module")
def appliance(tmp_path_factory):
    appliance = Appliance(tmp_path_factory.mktemp("api"))
    yield appliance
    appliance.stop()
    log = appliance.secdns.log()
    # No answer and no log line ever held the API-made key's secret, the config's, or the token.
    for answer in appliance.api.answers:
        for secret in (SECRET, CONFIG_SECRET, TOKEN):
            assert secret.encode() not in answer.raw
    for secret in (SECRET, CONFIG_SECRET, TOKEN):
        assert secret not in log


def soa_of(port: int, zone: str) -> int | None:
    response = query(zone, "SOA", port)
    if response.rcode() != dns.rcode.NOERROR or not response.flags & dns.flags.AA or not response.answer:
        return None
    return response.answer[0][0].serial


def test_secondary_made_through_the_api_from_bind(appliance, tmp_path):
    """
    A TSIG key and a SECONDARY zone made through the API, pointing at a real
    BIND primary: transferred at once, served, counted; kept across a
    restart; deleted: gone from answers, the API and the metrics.
    """
    api = appliance.api
    zone_file = tmp_path / "example.com.zone"
    zone_file.write_text(zone_text(5).replace("192.0.2.80", "198.51.100.80"))
    bind = Bind(tmp_path, free_port(), keys=[KEY], zones=[
        PeerZone("example.com", file=zone_file, downstreams=((LOOPBACK, appliance.port),), key=KEY.name),
    ])
    with bind:
        key = api("POST", "/tsigKeys", {"name": "api-key", "algorithm": "hmac-sha256", "secret": SECRET})
        assert key.status == 201 and "secret" not in key.json
        created = api("POST", "/zones", {
            "name": "example.com", "zoneType": "SECONDARY",
            "externalMasters": [{"address": LOOPBACK, "port": bind.port, "tsigKeyId": key.json["id"]}],
        })
        assert created.status == 201, created.raw
        started = time.monotonic()
        wait_until(lambda: soa_of(appliance.port, "example.com") == 5, 15, what="the zone transferred from BIND")
        print(f"secondary made through the API: served {time.monotonic() - started:.2f} s after CreateZone")
        answer = query("www.example.com", "A", appliance.port)
        assert answer.flags & dns.flags.AA and answer.answer[0][0].address == "198.51.100.80"
        zone = api("GET", "/zones/example.com").json
        assert (zone["lifecycleState"], zone["serial"], zone["declaredIn"]) == ("ACTIVE", 5, None)
        status = api("GET", f"/zones/{zone['id']}/status").json
        assert status["transfersIn"] >= 1 and status["masters"][0]["lastSerial"] == 5
        assert re.search(r'^secdns_zone_transfer_success_total\{zone="example.com"\} [1-9]', appliance.metrics(), re.M)
        assert "TransferSucceeded" in {e["type"] for e in api("GET", "/events?zone=example.com").json}
        assert api("GET", "/tsigKeys/api-key").json["zones"] == ["example.com"]

        appliance.restart()
        assert soa_of(appliance.port, "example.com") == 5
        assert api("GET", "/zones/example.com").json["externalMasters"][0]["port"] == bind.port

        in_use = api("DELETE", "/tsigKeys/api-key")
        assert in_use.error[:2] == (409, "Conflict") and "example.com" in in_use.error[2]
        assert api("DELETE", "/zones/example.com").status == 204
        assert query("example.com", "SOA", appliance.port).rcode() == dns.rcode.REFUSED
        assert api("GET", "/zones/example.com").status == 404
        assert 'zone="example.com"' not in appliance.metrics()
        assert api("DELETE", "/tsigKeys/api-key").status == 204
    appliance.restart()
    assert query("example.com", "SOA", appliance.port).rcode() == dns.rcode.REFUSED
    assert api("GET", "/tsigKeys/api-key").status == 404


def test_tokens_are_required_and_changes_are_logged_by_name(appliance):
    """No token: 401; a wrong one: 401; the document is public; each change is logged with the token's name."""
    anonymous = ApiClient(appliance.api.base)
    assert anonymous("GET", "/zones").error[:2] == (401, "NotAuthenticated")
    assert ApiClient(appliance.api.base, "not-the-token-000000")("GET", "/zones").status == 401
    assert anonymous("GET", "/openapi.json").json["info"]["version"] == "20180115"
    assert appliance.api("POST", "/zones", {"name": "logged.test"}).status == 201
    assert appliance.api("DELETE", "/zones/logged.test").status == 204
    wait_until(lambda: "API: ops (127.0.0.1) deleted zone logged.test" in appliance.secdns.log(), 5, what="the change logged")
    assert "API: ops (127.0.0.1) created PRIMARY zone logged.test" in appliance.secdns.log()


def test_config_declared_objects_are_read_only(appliance):
    """The config's zone and key are listed, marked, and changing them answers 409 naming the file."""
    api = appliance.api
    zone = api("GET", "/zones/example.org").json
    assert zone["declaredIn"] == str(appliance.config) and zone["isProtected"]
    for answer in (
        api("PUT", "/zones/example.org", {"externalDownstreams": [{"address": LOOPBACK}]}),
        api("DELETE", "/zones/example.org"),
        api("PUT", "/tsigKeys/config-key", {"secret": CONFIG_SECRET}),
        api("DELETE", "/tsigKeys/config-key"),
    ):
        status, code, message = answer.error
        assert (status, code) == (409, "Conflict") and str(appliance.config) in message
    patch = api("PATCH", "/zones/example.org/records", {"items": [{"operation": "ADD", "domain": "x.example.org", "rtype": "A", "rdata": "192.0.2.1", "ttl": 1}]})
    assert patch.error[0] == 409 and "example.org.zone" in patch.error[2]
    records = api("GET", "/zones/example.org/records").json["items"]
    assert records and all(item["isProtected"] for item in records)


def too_large(appliance) -> Answer:
    """A body declared larger than the cap: answered 413 before it is sent, and the connection closed."""
    with socket.create_connection((LOOPBACK, appliance.http), timeout=5) as s:
        s.sendall(b"PUT /20180115/zones/example.org/records HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (9 << 20))
        s.sendall(b" " * 65536)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return Answer(int(head.split()[1]), {}, body)


def test_every_error_class(appliance):
    """400, 401, 404, 405, 409, 412, 413 each in the {code, message} shape; nothing is ever 500."""
    api = appliance.api
    cases = [
        (api("POST", "/zones", {"name": "bad..name"}), 400, "InvalidParameter"),
        (api("POST", "/zones", {"name": "x.test", "zoneType": "SECONDARY", "externalMasters": [{"address": "primary.example"}]}), 400, "InvalidParameter"),
        (api("POST", "/zones", {"name": "x.test", "zoneType": "SECONDARY", "externalMasters": [{"address": LOOPBACK, "tsigKeyId": "nokey"}]}), 400, "InvalidParameter"),
        (api("POST", "/zones", {"name": "x.test", "zoneType": "SECONDARY"}), 400, "MissingParameter"),
        (api("POST", "/zones", raw=b"{not json"), 400, "CannotParseRequest"),
        (api("POST", "/zones", raw=b'{"name": "\xc3\x28"}'), 400, "CannotParseRequest"),
        (api("POST", "/zones", raw=b"[" * 60000), 400, "CannotParseRequest"),
        (ApiClient(api.base)("GET", "/zones"), 401, "NotAuthenticated"),
        (api("GET", "/zones/nowhere.test"), 404, "NotAuthorizedOrNotFound"),
        (api("GET", "/nowhere"), 404, "NotFound"),
        (api("DELETE", "/zoneTransferServers"), 405, "MethodNotAllowed"),
        (api("POST", "/zones", {"name": "example.org"}), 409, "Conflict"),
        (too_large(appliance), 413, "PayloadTooLarge"),
    ]
    api("POST", "/zones", {"name": "etag.test"})
    tag = api("GET", "/zones/etag.test").headers["etag"]
    cases.append((api("PUT", "/zones/etag.test", {"externalDownstreams": []}, {"If-Match": '"0000"'}), 412, "PreconditionFailed"))
    cases.append((api("DELETE", "/zones/etag.test", headers={"If-Match": '"0000"'}), 412, "PreconditionFailed"))
    for answer, status, code in cases:
        assert answer.error[:2] == (status, code), answer
        assert b"Traceback" not in answer.raw
    assert api("DELETE", "/zones/etag.test", headers={"If-Match": tag}).status == 204
    assert "Traceback" not in appliance.secdns.log()


def test_dns_answers_while_the_api_is_fed_garbage(appliance):
    """Malformed HTTP of every kind, sent for a bounded time: every DNS query meanwhile is answered."""
    garbage = [
        b"\x00\xff" * 500 + b"\r\n\r\n",
        b"GET /20180115/zones HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n",
        b"POST /20180115/zones HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /20180115/zones HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"PATCH /20180115/zones/example.org/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 20\r\n\r\n{\"items\": [[[[[[[",
        b"GET /20180115/zones/%c0%af HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    answered = 0
    deadline = time.monotonic() + 3
    rounds = 0
    while time.monotonic() < deadline and rounds < 50:
        rounds += 1
        for raw in garbage:
            with socket.create_connection((LOOPBACK, appliance.http), timeout=5) as s:
                try:
                    s.sendall(raw)
                    s.shutdown(socket.SHUT_WR)
                    while s.recv(65536):
                        pass
                except OSError:  # the server answered and closed first: what it may do with garbage
                    pass
        assert query("www.example.org", "A", appliance.port).rcode() == dns.rcode.NOERROR
        answered += 1
    assert answered == rounds and rounds >= 1
    assert appliance.secdns.running()
    assert appliance.api("GET", "/zones/example.org").status == 200


def test_https(tmp_path):
    """With a certificate and key in [http], the API and /metrics are served over HTTPS only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    appliance = Appliance(tmp_path, tls='certificate = "cert.pem"\nprivate_key = "key.pem"', scheme="https", context=context)
    try:
        zones = appliance.api("GET", "/zones")
        assert zones.status == 200 and zones.json[0]["self"].startswith("https://127.0.0.1:")
        with pytest.raises(Exception):
            urllib.request.urlopen(f"http://127.0.0.1:{appliance.http}/metrics", timeout=5).read()
        assert "REST API at https://127.0.0.1:" in appliance.secdns.log()
    finally:
        appliance.stop()


def test_a_bad_token_file_stops_the_start_with_one_line(tmp_path):
    """A token file that cannot be read ends twistd at once, naming the config, the key and the file."""
    port, http = free_port(), free_port()
    (tmp_path / "example.org.zone").write_text(zone_text(1))
    config = tmp_path / "secdns.toml"
    config.write_text(config_text(port, http))
    secdns = Secdns(config, port)
    try:
        wait_until(lambda: not secdns.running(), 20, what="twistd to exit")
        assert secdns.process.returncode != 0
        assert re.search(r"secdns: .*secdns.toml: http.token_file: .*tokens.*cannot read the token file", secdns.log()), secdns.log()[-2000:]
    finally:
        secdns.stop()
