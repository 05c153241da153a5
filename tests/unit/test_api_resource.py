"""
The API over twisted.web, in process: real HTTP bytes through the site's
HTTPChannel on an in-memory transport, to the real zone core on a Clock
(the worker runs at once).  Every answer is JSON; errors are {code, message}.
"""

from __future__ import annotations

import base64
import json

import attrs
import pytest
from prometheus_client.core import CollectorRegistry
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher

from secdns.config import Config
from secdns.core.registry import ZoneRegistry
from secdns.ops.api import all_routes
from secdns.ops.api.auth import Access, Tokens
from secdns.ops.api.context import Api
from secdns.ops.api.ids import key_id, zone_id
from secdns.ops.api.openapi import document_bytes
from secdns.ops.api.resource import ApiResource
from secdns.ops.api.routing import Route
from secdns.ops.http import site
from secdns.store.database import Store
from tests.unit.test_registry import KEY, MASTER, Site

SECRET = base64.b64encode(b"an API secret that must not leak").decode()
TOKEN = "alice-token-0123456789abcdef"


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self):
        return json.loads(self.raw)


class Client:
    """Speaks HTTP/1.1 to the site, one connection a request, as a client at C{peer}."""

    def __init__(self, registry, access: Access = Access(None), peer: str = "127.0.0.1", routes=None) -> None:
        api = Api(lambda: registry)
        resource = ApiResource(api, access, routes if routes is not None else all_routes(api), document_bytes(), ("PatchZoneRecords", "UpdateZoneRecords"))
        self.web = site(CollectorRegistry(), resource)
        self.web.timeOut = None
        self.peer = peer

    def send(self, raw: bytes) -> Answer:
        address = IPv4Address("TCP", self.peer, 40000)
        channel = self.web.buildProtocol(address)
        transport = StringTransport(hostAddress=IPv4Address("TCP", "127.0.0.1", 8053), peerAddress=address)
        channel.makeConnection(transport)
        channel.dataReceived(raw)
        head, _, body = transport.value().partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = body[: int(headers["content-length"])]
        return Answer(int(lines[0].split()[1]), headers, body)

    def __call__(self, method: str, path: str, body=None, headers: dict | None = None) -> Answer:
        data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        lines = [f"{method} /20180115{path} HTTP/1.1", "Host: localhost:8053", f"Content-Length: {len(data)}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        return self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)


@pytest.fixture
def site_(tmp_path):
    s = Site(tmp_path, store=Store(str(tmp_path / "store.sqlite")))
    s.write(1)
    s.config = Config(source=str(tmp_path / "secdns.toml"), tsig_keys=(KEY,), zones=(s.primary(),))
    s.registry = ZoneRegistry(s.config, s.store, s.clock, s.client, s.notifier)
    s.registry.start()
    return s


@pytest.fixture
def client(site_):
    return Client(site_.registry)


@pytest.fixture
def logged():
    lines: list[str] = []

    def observe(event):
        from twisted.logger import formatEvent

        lines.append(formatEvent(event) + repr(event.get("log_failure", "")))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


def error(answer: Answer) -> tuple[int, str, str]:
    assert answer.headers["content-type"] == "application/json"
    body = answer.json
    optional = {"field"} if body.get("code") in ("InvalidParameter", "MissingParameter") else set()
    assert {"code", "message"} <= set(body) <= {"code", "message"} | optional
    return answer.status, body["code"], body["message"]


# -- zones


def test_config_zone_listed_and_read_only(client, site_):
    """A zone of the config file is listed with declaredIn, and changing or deleting it is 409 naming the file."""
    zones = client("GET", "/zones")
    assert zones.status == 200 and zones.headers["opc-total-items"] == "1"
    (org,) = zones.json
    assert (org["name"], org["declaredIn"], org["isProtected"], org["lifecycleState"]) == ("example.org", site_.config.source, True, "ACTIVE")
    for method, body in (("PUT", {"externalDownstreams": []}), ("DELETE", None)):
        status, code, message = error(client(method, "/zones/example.org", body))
        assert (status, code) == (409, "Conflict") and site_.config.source in message
    status, code, message = error(client("PATCH", "/zones/example.org/records", {"items": []}))
    assert status == 409 and "zone file" in message


def test_zone_life_cycle(client):
    """Create (201, Location, etag), get by name and by id, update with If-Match, delete (204), then 404."""
    created = client("POST", "/zones", {"name": "example.net", "zoneType": "PRIMARY", "externalDownstreams": [{"address": "127.0.0.1", "port": 5301}]})
    assert created.status == 201 and created.headers["location"] == "http://localhost:8053/20180115/zones/example.net"
    zone = created.json
    assert (zone["id"], zone["serial"] is not None, zone["nameservers"]) == (zone_id("example.net"), True, [{"hostname": "ns1.example.net"}])
    tag = created.headers["etag"]
    by_id = client("GET", f"/zones/{zone['id']}")
    assert by_id.json == client("GET", "/zones/Example.NET.").json and by_id.headers["etag"] == tag
    assert error(client("POST", "/zones", {"name": "example.net"}))[:2] == (409, "Conflict")
    stale = client("PUT", "/zones/example.net", {"externalDownstreams": []}, {"If-Match": '"old"'})
    assert error(stale)[:2] == (412, "PreconditionFailed")
    updated = client("PUT", "/zones/example.net", {"externalDownstreams": []}, {"If-Match": tag})
    assert updated.status == 200 and updated.json["externalDownstreams"] == [] and updated.headers["etag"] != tag
    assert client("DELETE", "/zones/example.net", headers={"If-Match": updated.headers["etag"]}).status == 204
    assert error(client("GET", "/zones/example.net"))[:2] == (404, "NotAuthorizedOrNotFound")
    assert error(client("GET", f"/zones/{zone['id']}"))[:2] == (404, "NotAuthorizedOrNotFound")


def test_zone_list_filters_sorting_and_pages(client):
    for name in ("b.test", "a.test", "c.test"):
        assert client("POST", "/zones", {"name": name}).status == 201
    names = lambda answer: [z["name"] for z in answer.json]  # noqa: E731
    assert names(client("GET", "/zones?zoneType=PRIMARY&sortOrder=DESC&nameContains=.TEST")) == ["c.test", "b.test", "a.test"]
    first = client("GET", "/zones?limit=2")
    assert names(first) == ["a.test", "b.test"] and first.headers["opc-next-page"] == "2"
    last = client("GET", f"/zones?limit=2&page={first.headers['opc-next-page']}")
    assert names(last) == ["c.test", "example.org"] and "opc-next-page" not in last.headers
    assert names(client("GET", "/zones?name=B.test.")) == ["b.test"]
    assert client("GET", "/zones?zoneType=SECONDARY").json == []
    assert error(client("GET", "/zones?sortBy=colour"))[:2] == (400, "InvalidParameter")


def test_secondary_zone_with_an_unknown_key_is_400(client):
    body = {"name": "example.com", "zoneType": "SECONDARY", "externalMasters": [{"address": MASTER, "tsigKeyId": "nokey"}]}
    status, code, message = error(client("POST", "/zones", body))
    assert (status, code) == (400, "InvalidParameter") and "nokey" in message


def test_secondary_zone_status_and_actions(client, site_):
    """A secondary made here is transferred; its status says so; refresh and retransfer are accepted (202)."""
    body = {"name": "example.com", "zoneType": "SECONDARY", "externalMasters": [{"address": MASTER, "tsigKeyId": key_id("k1")}]}
    assert client("POST", "/zones", body).status == 201
    site_.run(2)
    status = client("GET", "/zones/example.com/status").json
    assert (status["role"], status["state"], status["serial"], status["transfersIn"]) == ("secondary", "loaded", 7, 1)
    assert status["masters"][0]["address"] == MASTER and status["declaredIn"] is None
    for action in ("refresh", "retransfer", "notify"):
        answer = client("POST", f"/zones/example.com/actions/{action}")
        assert answer.status == 202 and answer.json["action"] == action
    assert error(client("POST", "/zones/example.org/actions/refresh"))[:2] == (409, "Conflict")
    assert error(client("POST", "/zones/example.com/actions/explode"))[:2] == (400, "InvalidParameter")
    events = client("GET", "/events?zone=example.com").json
    assert [e["type"] for e in events][:2] == ["ZoneAdded", "TransferSucceeded"]
    assert client("GET", "/events?zone=example.com&since=2100-01-01T00:00:00Z").json == []
    assert error(client("GET", "/events?since=yesterday"))[:2] == (400, "InvalidParameter")
    assert client("GET", "/zones/example.com/records").json["items"][0]["isProtected"] is True
    assert error(client("PATCH", "/zones/example.com/records", {"items": []}))[0] == 409


# -- records


def test_records_patch_put_delete(client):
    """PATCH adds, PUT replaces an RRset, DELETE removes a domain; each a new serial; answers carry the records."""
    serial = client("POST", "/zones", {"name": "example.net"}).json["serial"]
    patched = client("PATCH", "/zones/example.net/records", {"items": [
        {"operation": "ADD", "domain": "www.example.net", "rtype": "A", "rdata": "192.0.2.1", "ttl": 300},
        {"operation": "ADD", "domain": "www.example.net", "rtype": "A", "rdata": "192.0.2.2", "ttl": 300},
    ]})
    assert patched.status == 200 and patched.headers["opc-total-items"] == "4"
    rrset = client("GET", "/zones/example.net/records/www.example.net/A")
    assert [i["rdata"] for i in rrset.json["items"]] == ["192.0.2.1", "192.0.2.2"]
    assert rrset.json["items"][0]["rrsetVersion"] == str(serial + 1)
    put = client("PUT", "/zones/example.net/records/www.example.net/A", {"items": [{"rdata": "192.0.2.9", "ttl": 60}]}, {"If-Match": rrset.headers["etag"]})
    assert put.status == 200 and [(i["rdata"], i["ttl"]) for i in put.json["items"]] == [("192.0.2.9", 60)]
    stale = client("PATCH", "/zones/example.net/records", {"items": [{"operation": "REMOVE", "domain": "www.example.net"}]}, {"If-Match": rrset.headers["etag"]})
    assert error(stale)[:2] == (412, "PreconditionFailed")
    assert client("DELETE", "/zones/example.net/records/www.example.net").status == 204
    assert client("GET", "/zones/example.net/records/www.example.net").json == {"items": []}
    assert client("GET", "/zones/example.net").json["serial"] == serial + 3
    assert client("DELETE", "/zones/example.net/records/nothing.example.net").status == 204
    assert client("GET", "/zones/example.net").json["serial"] == serial + 3


def test_record_refusals(client):
    """A record that does not parse, a CNAME beside other data, a failed REQUIRE, the apex NS: each its error."""
    client("POST", "/zones", {"name": "example.net"})
    records = "/zones/example.net/records"
    add = lambda domain, rtype, rdata: {"items": [{"operation": "ADD", "domain": domain, "rtype": rtype, "rdata": rdata, "ttl": 60}]}  # noqa: E731
    assert error(client("PATCH", records, add("www.example.net", "AAAA", "192.0.2.1")))[:2] == (400, "InvalidParameter")
    assert client("PATCH", records, add("www.example.net", "A", "192.0.2.1")).status == 200
    status, code, message = error(client("PATCH", records, add("www.example.net", "CNAME", "example.net.")))
    assert (status, code) == (400, "InvalidParameter") and "CNAME" in message
    status, code, _ = error(client("PATCH", records, {"items": [{"operation": "REQUIRE", "domain": "nx.example.net"}]}))
    assert (status, code) == (412, "PreconditionFailed")
    assert error(client("DELETE", f"{records}/example.net/NS"))[0] == 400
    assert error(client("GET", f"{records}/www.example.org"))[:2] == (400, "InvalidParameter")
    assert error(client("GET", f"{records}/www.example.net/NOTATYPE"))[:2] == (400, "InvalidParameter")
    assert error(client("GET", f"{records}?zoneVersion=1"))[:2] == (404, "NotAuthorizedOrNotFound")


# -- keys


def test_key_life_cycle_never_shows_the_secret(client, logged):
    """Create, get, list, update (secret again), in-use delete refused, delete: no answer or log line has the secret."""
    answers = [client("POST", "/tsigKeys", {"name": "api-key", "algorithm": "hmac-sha256", "secret": SECRET})]
    key = answers[0].json
    assert answers[0].status == 201 and key["id"] == key_id("api-key") and key["declaredIn"] is None
    answers.append(client("GET", f"/tsigKeys/{key['id']}"))
    answers.append(client("GET", "/tsigKeys"))
    assert {k["name"] for k in answers[-1].json} == {"k1", "api-key"}
    answers.append(client("PUT", "/tsigKeys/api-key", {"algorithm": "hmac-sha512"}))
    assert error(answers[-1])[:2] == (400, "MissingParameter")
    answers.append(client("PUT", "/tsigKeys/api-key", {"algorithm": "hmac-sha512", "secret": SECRET}))
    assert answers[-1].json["algorithm"] == "hmac-sha512"
    answers.append(client("POST", "/tsigKeys", {"name": "api-key", "secret": SECRET}))
    assert error(answers[-1])[:2] == (409, "Conflict")
    answers.append(client("POST", "/tsigKeys", {"name": "bad", "secret": SECRET[:-3] + "!!!"}))
    assert error(answers[-1])[:2] == (400, "InvalidParameter")
    client("POST", "/zones", {"name": "example.net", "externalDownstreams": [{"address": "127.0.0.1", "tsigKeyId": key["id"]}]})
    answers.append(client("DELETE", "/tsigKeys/api-key"))
    status, code, message = error(answers[-1])
    assert (status, code) == (409, "Conflict") and "example.net" in message
    client("DELETE", "/zones/example.net")
    assert client("DELETE", "/tsigKeys/api-key").status == 204
    for answer in answers:
        assert SECRET.encode() not in answer.raw and base64.b64decode(SECRET) not in answer.raw and b'"secret":' not in answer.raw
    text = "\n".join(logged)
    assert "created TSIG key api-key" in text and SECRET not in text


def test_config_key_is_read_only(client, site_):
    status, code, message = error(client("PUT", "/tsigKeys/k1", {"secret": SECRET}))
    assert (status, code) == (409, "Conflict") and site_.config.source in message
    assert error(client("DELETE", "/tsigKeys/k1"))[0] == 409
    assert error(client("GET", "/tsigKeys/nokey"))[:2] == (404, "NotAuthorizedOrNotFound")


# -- the rest


def test_zone_transfer_servers(client):
    servers = client("GET", "/zoneTransferServers")
    assert servers.status == 200 and servers.json[0]["isTransferDestination"] is True and "etag" in servers.headers


def test_openapi_is_served(client):
    answer = client("GET", "/openapi.json")
    assert answer.status == 200 and answer.json["openapi"].startswith("3.")


@pytest.mark.parametrize(
    "method, path, body, status, code",
    [
        ("GET", "/nothing", None, 404, "NotFound"),
        ("GET", "", None, 404, "NotFound"),
        ("DELETE", "/zones", None, 405, "MethodNotAllowed"),
        ("BREW", "/zones", None, 405, "MethodNotAllowed"),
        ("POST", "/zones", b"{bad json", 400, "CannotParseRequest"),
        ("POST", "/zones", b"", 400, "CannotParseRequest"),
        ("POST", "/zones", b'{"name": "\xff"}', 400, "CannotParseRequest"),
        ("POST", "/zones", b"[" * 5000, 400, "CannotParseRequest"),
        ("POST", "/zones", b'{"name": "x.test", "zoneType": ["PRIMARY"]}', 400, "InvalidParameter"),
        ("POST", "/zones", b" " * 70_000, 413, "PayloadTooLarge"),
        ("GET", "/zones/%ff%fe", None, 404, "NotFound"),
        ("GET", "/zones?name=%ff", None, 400, "InvalidParameter"),
        ("GET", "/zones/a..b", None, 400, "InvalidParameter"),
        ("GET", "/tsigKeys?limit=-1", None, 400, "InvalidParameter"),
    ],
)
def test_malformed_requests(client, method, path, body, status, code):
    """Malformed requests get a 4xx in the error shape, never a 500 or a traceback."""
    answer = client(method, path, body)
    assert error(answer)[:2] == (status, code)
    assert b"Traceback" not in answer.raw


def test_a_huge_body_is_refused_as_it_arrives(client):
    """A Content-Length past the cap is answered 413 before the body is read, and the connection closed."""
    answer = client.send(b"PATCH /20180115/zones/x/records HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999\r\n\r\n{")
    assert error(answer)[:2] == (413, "PayloadTooLarge")
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
    answer = client.send(b"PATCH /20180115/zones/x/records HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 9)
    assert error(answer)[:2] == (413, "PayloadTooLarge")


def test_a_bug_is_500_without_a_traceback(site_, logged):
    """A handler that fails unexpectedly: 500 in the error shape, the traceback in the log only."""
    def broken(call):
        raise ZeroDivisionError("a bug")

    client = Client(site_.registry, routes=[Route("GET", ("broken",), broken)])
    status, code, message = error(client("GET", "/broken"))
    assert (status, code) == (500, "InternalServerError") and "ZeroDivision" not in message
    assert any("ZeroDivisionError" in line for line in logged)


def test_starting_is_503(site_):
    client = Client(None)
    assert error(client("GET", "/zones"))[:2] == (503, "ServiceUnavailable")


def test_tokens(site_, tmp_path, logged):
    """With a token file: 401 without or with a wrong token; with one, changes are logged under its name, never the token."""
    (tmp_path / "tokens").write_text(f"alice {TOKEN}\n")
    client = Client(site_.registry, Access(Tokens.load(str(tmp_path / "tokens"))), peer="192.0.2.10")
    assert error(client("GET", "/zones"))[:2] == (401, "NotAuthenticated")
    assert error(client("GET", "/zones", headers={"Authorization": "Bearer wrong-token-0123456789"}))[:2] == (401, "NotAuthenticated")
    assert client("GET", "/openapi.json").status == 200
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client("POST", "/zones", {"name": "example.net"}, auth).status == 201
    text = "\n".join(logged)
    assert "API: alice (192.0.2.10) created PRIMARY zone example.net" in text and TOKEN not in text


def test_loopback_only_without_tokens(site_):
    assert error(Client(site_.registry, peer="192.0.2.10")("GET", "/zones"))[:2] == (403, "NotAuthorized")


def test_head_is_get_without_a_body(client):
    answer = client("HEAD", "/zones")
    assert answer.status == 200 and answer.raw == b""


def test_zone_made_here_survives_a_restart(site_, tmp_path):
    """What the API made is in the store: a new core on it serves the zone and key again."""
    client = Client(site_.registry)
    client("POST", "/tsigKeys", {"name": "api-key", "secret": SECRET})
    client("POST", "/zones", {"name": "example.net", "externalDownstreams": [{"address": "127.0.0.1", "tsigKeyId": "api-key"}]})
    client("PATCH", "/zones/example.net/records", {"items": [{"operation": "ADD", "domain": "www.example.net", "rtype": "A", "rdata": "192.0.2.1", "ttl": 5}]})
    site_.registry.stop()
    again = ZoneRegistry(site_.config, Store(str(tmp_path / "store.sqlite")), site_.clock, site_.client, site_.notifier)
    again.start()
    client = Client(again)
    zone = client("GET", "/zones/example.net").json
    assert zone["externalDownstreams"] == [{"address": "127.0.0.1", "port": 53, "tsigKeyId": key_id("api-key")}]
    assert [i["rdata"] for i in client("GET", "/zones/example.net/records/www.example.net/A").json["items"]] == ["192.0.2.1"]


