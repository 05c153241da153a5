"""
The C{secdns} CLI without the appliance: each command's request (method,
path, query, body, headers) from its arguments; endpoint and token from
flags, environment and config file; the HTTP client against a small HTTP
server on loopback standing in for the API (errors, paging, auth,
connection refused); exit statuses; and nothing of the server imported.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from secdns.cli.client import Client, ConnectionFailed, Request, path_of
from secdns.cli.commands import CONFIRM_DELETE, UsageError, parser, plan
from secdns.cli.main import EXIT_ABORTED, EXIT_API, EXIT_CONNECTION, EXIT_OK, EXIT_USAGE, run
from secdns.cli.settings import SettingsError, api_base, resolve
from tests.support import ROOT, free_port

SECRET = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
MASTERS = '[{"address": "192.0.2.1", "port": "53", "tsigKeyId": "transfer-key"}]'


def request_of(*argv: str) -> Request:
    return plan(parser().parse_args(list(argv))).request


# -- arguments to requests


def test_zone_create_secondary_as_in_the_seeds():
    r = request_of("zone", "create", "--name", "example.com", "--zone-type", "secondary", "--external-masters", MASTERS)
    assert (r.method, r.path, r.query, r.headers) == ("POST", "/zones", (), ())
    assert r.body == {
        "name": "example.com",
        "zoneType": "SECONDARY",
        "externalMasters": [{"address": "192.0.2.1", "port": 53, "tsigKeyId": "transfer-key"}],
    }


def test_the_seeds_command_copied_from_the_cloud_cli():
    """C{oci dns zone create ...} from the seed, with C{oci dns} dropped: compartment ignored, scope GLOBAL."""
    argv = ["zone", "create", "--compartment-id", "ocid1.compartment.oc1..x", "--name", "example.com",
            "--zone-type", "SECONDARY", "--scope", "GLOBAL",
            "--external-masters", '[{"address":"192.0.2.1","port":"53","tsigKeyId":"ocid1.dns-tsigkey.secdns..k"}]']
    assert request_of(*argv).body == {
        "name": "example.com",
        "zoneType": "SECONDARY",
        "externalMasters": [{"address": "192.0.2.1", "port": 53, "tsigKeyId": "ocid1.dns-tsigkey.secdns..k"}],
    }
    with pytest.raises(SystemExit):
        parser().parse_args(argv[:-2] + ["--scope", "PRIVATE"])


def test_zone_create_primary_with_downstreams_from_a_file(tmp_path):
    path = tmp_path / "downstreams.json"
    path.write_text('[{"address": "198.51.100.7"}]')
    r = request_of("zone", "create", "--name", "example.org", "--zone-type", "PRIMARY",
                   "--external-downstreams", f"file://{path}")
    assert r.body == {"name": "example.org", "zoneType": "PRIMARY", "externalDownstreams": [{"address": "198.51.100.7"}]}


def test_zone_list_filters_and_paging():
    p = plan(parser().parse_args(["zone", "list", "--name", "example.com", "--zone-type", "secondary",
                                  "--lifecycle-state", "active", "--sort-by", "name", "--sort-order", "desc",
                                  "--limit", "10", "--page", "abc", "--all"]))
    assert (p.request.method, p.request.path, p.paginate, p.kind) == ("GET", "/zones", True, "zones")
    assert p.request.query == (("name", "example.com"), ("zoneType", "SECONDARY"), ("lifecycleState", "ACTIVE"),
                               ("limit", "10"), ("page", "abc"), ("sortBy", "name"), ("sortOrder", "DESC"))
    assert request_of("zone", "list").query == ()


@pytest.mark.parametrize("argv", [["zone", "get", "example.com."], ["zone", "get", "--zone-name-or-id", "example.com."]])
def test_zone_get_by_position_or_option(argv):
    assert request_of(*argv) == Request("GET", "/zones/example.com.")


def test_zone_update_sends_what_is_given_with_if_match():
    r = request_of("zone", "update", "--zone-name-or-id", "example.com", "--external-masters", MASTERS, "--if-match", '"e1"')
    assert (r.method, r.path, r.headers) == ("PUT", "/zones/example.com", (("If-Match", '"e1"'),))
    assert r.body == {"externalMasters": [{"address": "192.0.2.1", "port": 53, "tsigKeyId": "transfer-key"}]}


def test_zone_delete_asks_unless_forced():
    p = plan(parser().parse_args(["zone", "delete", "--zone-name-or-id", "example.com"]))
    assert (p.request.method, p.request.path, p.confirm) == ("DELETE", "/zones/example.com", CONFIRM_DELETE)
    assert plan(parser().parse_args(["zone", "delete", "example.com", "--force"])).confirm is None


def test_zone_status_one_or_all():
    one = plan(parser().parse_args(["zone", "status", "example.com"]))
    assert (one.request, one.each_status, one.output) == (Request("GET", "/zones/example.com/status"), False, "json")
    every = plan(parser().parse_args(["zone", "status"]))
    assert (every.request.path, every.each_status, every.paginate, every.output) == ("/zones", True, True, "table")


@pytest.mark.parametrize("action", ["refresh", "retransfer", "notify"])
def test_zone_actions(action):
    assert request_of("zone", action, "example.com") == Request("POST", f"/zones/example.com/actions/{action}")


def test_records_paths_by_domain_and_rtype():
    assert request_of("zone", "record", "get", "example.org").path == "/zones/example.org/records"
    assert request_of("zone", "record", "get", "example.org", "--domain", "www.example.org").path == (
        "/zones/example.org/records/www.example.org"
    )
    r = request_of("zone", "record", "get", "--zone-name-or-id", "example.org", "--domain", "www.example.org",
                   "--rtype", "aaaa", "--limit", "5")
    assert (r.path, r.query) == ("/zones/example.org/records/www.example.org/AAAA", (("limit", "5"),))


def test_records_of_one_type_and_other_filters():
    r = request_of("zone", "record", "get", "example.org", "--rtype", "mx", "--domain-contains", "mail", "--sort-by", "rtype")
    assert (r.path, r.query) == ("/zones/example.org/records", (("domainContains", "mail"), ("sortBy", "rtype"), ("rtype", "MX")))


def test_allow_update_keys():
    r = request_of("zone", "create", "--name", "dyn.example", "--zone-type", "PRIMARY", "--allow-update", "k1, k2")
    assert r.body == {"name": "dyn.example", "zoneType": "PRIMARY", "allowUpdate": ["k1", "k2"]}
    assert request_of("zone", "update", "dyn.example", "--allow-update", "").body == {"allowUpdate": []}
    assert request_of("zone", "update", "dyn.example", "--allow-update", '["ocid1.dns-tsigkey.secdns..x"]').body == {
        "allowUpdate": ["ocid1.dns-tsigkey.secdns..x"]
    }
    with pytest.raises(UsageError, match="--allow-update: expected a JSON list"):
        request_of("zone", "update", "dyn.example", "--allow-update", "[1]")


def test_allow_transfer_addresses_or_json():
    """--allow-transfer: addresses and networks separated by commas, or a JSON list with keys; "" for none."""
    r = request_of("zone", "create", "--name", "x.example", "--zone-type", "PRIMARY", "--allow-transfer", "192.0.2.9, 2001:db8::/64")
    assert r.body["allowTransfer"] == [{"address": "192.0.2.9"}, {"address": "2001:db8::/64"}]
    entries = [{"address": "10.0.0.0/8", "tsigKeyId": "debug-key"}]
    assert request_of("zone", "update", "x.example", "--allow-transfer", json.dumps(entries)).body == {"allowTransfer": entries}
    assert request_of("zone", "update", "x.example", "--allow-transfer", json.dumps(entries[0])).body == {"allowTransfer": entries}
    assert request_of("zone", "update", "x.example", "--allow-transfer", "").body == {"allowTransfer": []}
    with pytest.raises(UsageError, match="--allow-transfer: expected a JSON list of objects"):
        request_of("zone", "update", "x.example", "--allow-transfer", '["10.0.0.1"]')


def test_record_patch_and_update_bodies():
    items = [{"domain": "www.example.org", "rtype": "A", "rdata": "192.0.2.80", "ttl": 300, "operation": "ADD"}]
    r = request_of("zone", "record", "patch", "example.org", "--items", json.dumps(items), "--if-match", "e")
    assert (r.method, r.body, r.headers) == ("PATCH", {"items": items}, (("If-Match", "e"),))
    r = request_of("zone", "record", "update", "example.org", "--domain", "www.example.org", "--rtype", "A",
                   "--items", json.dumps({"items": items}))
    assert (r.method, r.path, r.body) == ("PUT", "/zones/example.org/records/www.example.org/A", {"items": items})


def test_record_delete_needs_a_domain():
    r = request_of("zone", "record", "delete", "example.org", "--domain", "old.example.org", "--force")
    assert (r.method, r.path) == ("DELETE", "/zones/example.org/records/old.example.org")
    with pytest.raises(UsageError, match="--domain is required"):
        request_of("zone", "record", "delete", "example.org", "--force")


def test_tsig_key_create_from_flags():
    r = request_of("tsig-key", "create", "--name", "transfer-key", "--secret", SECRET)
    assert (r.method, r.path) == ("POST", "/tsigKeys")
    assert r.body == {"name": "transfer-key", "algorithm": "hmac-sha256", "secret": SECRET}
    r = request_of("tsig-key", "create", "--name", "k", "--algorithm", "HMAC-SHA512", "--secret", SECRET)
    assert r.body["algorithm"] == "hmac-sha512"


def test_tsig_key_create_from_a_bind_file_takes_its_name_and_algorithm(tmp_path):
    path = tmp_path / "k.key"
    path.write_text(f'key "from-file" {{\n\talgorithm hmac-sha384;\n\tsecret "{SECRET}";\n}};\n')
    r = request_of("tsig-key", "create", "--secret-file", str(path))
    assert r.body == {"name": "from-file", "algorithm": "hmac-sha384", "secret": SECRET}


def test_tsig_key_create_errors(tmp_path):
    with pytest.raises(UsageError, match="give --secret or --secret-file"):
        request_of("tsig-key", "create", "--name", "k")
    with pytest.raises(UsageError, match="--name is required"):
        request_of("tsig-key", "create", "--secret", SECRET)
    with pytest.raises(UsageError, match="not valid base64"):
        request_of("tsig-key", "create", "--name", "k", "--secret", "nope!")
    with pytest.raises(UsageError, match="--secret-file: .*No such file"):
        request_of("tsig-key", "create", "--name", "k", "--secret-file", str(tmp_path / "missing"))


def test_tsig_key_get_update_delete_list():
    assert request_of("tsig-key", "get", "--tsig-key-id", "ocid1.dns-tsigkey.secdns..x") == Request(
        "GET", "/tsigKeys/ocid1.dns-tsigkey.secdns..x"
    )
    r = request_of("tsig-key", "update", "k", "--secret", SECRET, "--algorithm", "hmac-sha512")
    assert (r.method, r.path, r.body) == ("PUT", "/tsigKeys/k", {"secret": SECRET, "algorithm": "hmac-sha512"})
    assert request_of("tsig-key", "update", "k", "--secret", SECRET).body == {"secret": SECRET}
    with pytest.raises(UsageError, match="give the key's secret again"):
        request_of("tsig-key", "update", "k", "--algorithm", "hmac-sha512")
    p = plan(parser().parse_args(["tsig-key", "delete", "k"]))
    assert (p.request.method, p.request.path, p.confirm) == ("DELETE", "/tsigKeys/k", CONFIRM_DELETE)
    assert request_of("tsig-key", "list", "--name", "k").query == (("name", "k"),)


def test_zone_transfer_servers_and_events():
    assert request_of("zone-transfer-server", "list") == Request("GET", "/zoneTransferServers")
    assert request_of("events", "--zone", "example.com", "--since", "2024-01-01T00:00:00Z").query == (
        ("zone", "example.com"), ("since", "2024-01-01T00:00:00Z"),
    )


def test_names_are_quoted_whole_in_paths():
    assert path_of("zones", "a/b", "records", "x y") == "/zones/a%2Fb/records/x%20y"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["zone", "create", "--name", "x", "--zone-type", "SECONDARY", "--external-masters", "[{"], "not valid JSON"),
        (["zone", "create", "--name", "x", "--zone-type", "SECONDARY", "--external-masters", '"x"'], "expected a JSON list"),
        (["zone", "update", "example.com"], "nothing to change"),
        (["zone", "get"], "--zone-name-or-id is required"),
        (["zone", "get", "a", "--zone-name-or-id", "b"], "two different values"),
        (["zone", "record", "patch", "z", "--rtype", "A", "--items", "[]"], "--rtype needs --domain"),
        (["zone", "record", "patch", "z", "--items", "{}"], "--items: expected a JSON list"),
        (["zone", "create", "--name", "x", "--zone-type", "PRIMARY", "--external-downstreams", "file:///nonexistent"],
         "No such file"),
    ],
)
def test_usage_errors(argv, message):
    with pytest.raises(UsageError, match=message):
        request_of(*argv)


def test_global_options_before_or_after_the_command():
    args = parser().parse_args(["--endpoint", "a:1", "zone", "list", "--output", "table"])
    assert (args.endpoint, args.output) == ("a:1", "table")
    args = parser().parse_args(["--endpoint", "a:1", "zone", "list"])
    assert (args.endpoint, args.output, args.insecure) == ("a:1", None, False)
    args = parser().parse_args(["zone", "list", "--endpoint", "b:2", "--insecure"])
    assert (args.endpoint, args.insecure) == ("b:2", True)


# -- settings


def test_api_base():
    assert api_base("127.0.0.1:8053") == "http://127.0.0.1:8053/20180115"
    assert api_base("https://dns.example:8443/") == "https://dns.example:8443/20180115"
    assert api_base("https://dns.example:8443/20180115/") == "https://dns.example:8443/20180115"
    assert api_base("http://[::1]:8053") == "http://[::1]:8053/20180115"
    for bad in ("ftp://x", "http://", "http://x:port", ""):
        with pytest.raises(SettingsError):
            api_base(bad)


def files(mapping: dict[str, str]):
    def read(path: str) -> str:
        if path not in mapping:
            raise FileNotFoundError(2, "No such file or directory")
        return mapping[path]

    return read


def test_settings_precedence_flags_environment_file():
    conf = '/c/cli.toml'
    read = files({conf: 'endpoint = "https://from-file:1"\ntoken_file = "token"\noutput = "table"\ninsecure = true\n',
                  "/c/token": "# comment\nfile-token\n", "/t": "flag-file-token\n"})
    env = {"SECDNS_CLI_CONFIG": conf}
    s = resolve(environ=env, read=read)
    assert (s.base, s.token, s.output, s.insecure) == ("https://from-file:1/20180115", "file-token", "table", True)
    s = resolve(environ={**env, "SECDNS_ENDPOINT": "env:2", "SECDNS_TOKEN": "env-token"}, read=read)
    assert (s.base, s.token) == ("http://env:2/20180115", "env-token")
    s = resolve(endpoint="flag:3", token_file="/t", environ={**env, "SECDNS_TOKEN": "env-token"}, read=read)
    assert (s.base, s.token) == ("http://flag:3/20180115", "flag-file-token")
    assert "flag-file-token" not in repr(s)


def test_settings_defaults_without_a_config_file():
    s = resolve(environ={}, read=files({}))
    assert (s.base, s.token, s.output, s.timeout) == ("http://127.0.0.1:8053/20180115", None, None, 30.0)


@pytest.mark.parametrize(
    "kwargs, read, message",
    [
        ({"config_file": "/nope.toml"}, {}, "config file /nope.toml: not found"),
        ({"config_file": "/c.toml"}, {"/c.toml": "endpoint = "}, "config file /c.toml"),
        ({"config_file": "/c.toml"}, {"/c.toml": 'endpont = "x"'}, "unknown key 'endpont'"),
        ({"config_file": "/c.toml"}, {"/c.toml": "insecure = 1"}, "insecure has the wrong type"),
        ({"token_file": "/t"}, {}, "token file /t: No such file"),
        ({"token_file": "/t"}, {"/t": "name token\n"}, "expected the token alone on one line"),
        ({"output": "yaml"}, {}, "output 'yaml'"),
    ],
)
def test_settings_errors(kwargs, read, message):
    with pytest.raises(SettingsError, match=message):
        resolve(environ={}, read=files(read), **kwargs)


# -- against a stand-in API on loopback


class FakeApi:
    """An HTTP server on 127.0.0.1 that records requests and answers from a routing table."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.routes: dict[tuple[str, str], list[tuple[int, dict, object]]] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                api.requests.append({
                    "method": self.command, "path": parts.path, "query": parse_qsl(parts.query),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": json.loads(raw) if raw else None,
                })
                key = (self.command, parts.path + ("?" + parts.query if parts.query else ""))
                answers = api.routes.get(key) or api.routes.get((self.command, parts.path))
                status, headers, body = answers.pop(0) if answers else (404, {}, {"code": "NotFound", "message": "no route"})
                data = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def route(self, method: str, path: str, *answers: tuple[int, dict, object]) -> None:
        self.routes[(method, path)] = list(answers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def api():
    server = FakeApi()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def empty_config(tmp_path, monkeypatch):
    """No user's ~/.config/secdns/cli.toml in these tests: an empty one of their own."""
    path = tmp_path / "cli.toml"
    path.write_text("")
    monkeypatch.setenv("SECDNS_CLI_CONFIG", str(path))
    return path


def cli(api: FakeApi | None, *argv: str, stdin: str = "", port: int | None = None):
    """C{secdns ARGV} against the stand-in API: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    env = {"SECDNS_ENDPOINT": f"127.0.0.1:{port or api.port}", "SECDNS_CLI_CONFIG": os.environ["SECDNS_CLI_CONFIG"]}
    status = run(list(argv), io.StringIO(stdin), out, err, env, now=1_700_000_000.0)
    return status, out.getvalue(), err.getvalue()


ZONE = {"id": "ocid1.dns-zone.secdns..1", "name": "example.com", "zoneType": "SECONDARY", "serial": 7}


def test_get_prints_data_and_etag_with_the_token_sent(api):
    api.route("GET", "/20180115/zones/example.com", (200, {"ETag": '"v7"'}, ZONE))
    status, out, err = cli(api, "zone", "get", "example.com", "--token", "sekret-token")
    assert (status, err) == (EXIT_OK, "")
    assert json.loads(out) == {"data": ZONE, "etag": '"v7"'}
    assert api.requests[0]["headers"]["authorization"] == "Bearer sekret-token"
    assert "sekret-token" not in out


def test_create_sends_json(api):
    api.route("POST", "/20180115/zones", (201, {"etag": "e"}, ZONE))
    status, out, _ = cli(api, "zone", "create", "--name", "example.com", "--zone-type", "SECONDARY",
                         "--external-masters", MASTERS)
    assert status == EXIT_OK
    sent = api.requests[0]
    assert sent["headers"]["content-type"] == "application/json"
    assert sent["body"]["externalMasters"][0]["port"] == 53


def test_api_error_prints_code_and_message_and_exits_1(api):
    api.route("GET", "/20180115/zones/nope", (404, {}, {"code": "NotAuthorizedOrNotFound", "message": 'no zone "nope"'}))
    status, out, err = cli(api, "zone", "get", "nope")
    assert (status, out) == (EXIT_API, "")
    assert err == 'secdns: NotAuthorizedOrNotFound (HTTP 404): no zone "nope"\n'


def test_api_error_that_is_not_json(api):
    api.route("GET", "/20180115/zones", (502, {}, b"<html>bad gateway</html>"))
    status, _, err = cli(api, "zone", "list")
    assert status == EXIT_API
    assert "HTTP502 (HTTP 502)" in err and "bad gateway" in err


def test_all_follows_opc_next_page(api):
    api.routes[("GET", "/20180115/zones")] = [(200, {"opc-next-page": "p2"}, [{"name": "a"}])]
    api.routes[("GET", "/20180115/zones?page=p2")] = [(200, {"opc-next-page": "p3"}, [{"name": "b"}])]
    api.routes[("GET", "/20180115/zones?page=p3")] = [(200, {}, [{"name": "c"}])]
    status, out, _ = cli(api, "zone", "list", "--all")
    assert status == EXIT_OK
    assert json.loads(out) == {"data": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}
    assert [r["query"] for r in api.requests] == [[], [("page", "p2")], [("page", "p3")]]


def test_without_all_the_next_page_is_shown(api):
    api.route("GET", "/20180115/zones", (200, {"opc-next-page": "p2"}, [{"name": "a"}]))
    _, out, _ = cli(api, "zone", "list", "--limit", "1")
    assert json.loads(out) == {"data": [{"name": "a"}], "opc-next-page": "p2"}
    assert api.requests[0]["query"] == [("limit", "1")]


def test_all_joins_record_items_and_stops_on_a_repeated_page(api):
    api.routes[("GET", "/20180115/zones/z/records")] = [(200, {"opc-next-page": "x"}, {"items": [{"domain": "a"}]})]
    api.routes[("GET", "/20180115/zones/z/records?page=x")] = [
        (200, {"opc-next-page": "x"}, {"items": [{"domain": "b"}]}),
    ]
    status, _, err = cli(api, "zone", "record", "get", "z", "--all")
    assert status == EXIT_API and "gave the page 'x' twice" in err


def test_delete_confirmation(api):
    api.route("DELETE", "/20180115/zones/example.com", (204, {}, None), (204, {}, None))
    status, out, err = cli(api, "zone", "delete", "example.com", stdin="n\n")
    assert (status, out, api.requests) == (EXIT_ABORTED, "", [])
    assert err == CONFIRM_DELETE + "\nAborted.\n"
    status, _, _ = cli(api, "zone", "delete", "example.com", stdin="")
    assert (status, api.requests) == (EXIT_ABORTED, [])
    status, out, _ = cli(api, "zone", "delete", "example.com", stdin="y\n")
    assert (status, out, len(api.requests)) == (EXIT_OK, "", 1)
    status, out, err = cli(api, "zone", "delete", "example.com", "--force", "--if-match", "e1")
    assert (status, out, err) == (EXIT_OK, "", "")
    assert api.requests[1]["headers"]["if-match"] == "e1"


def test_action_accepted(api):
    api.route("POST", "/20180115/zones/example.com/actions/refresh", (202, {}, None))
    assert cli(api, "zone", "refresh", "example.com") == (EXIT_OK, "", "")


def test_zone_status_table_asks_each_zone(api):
    now = 1_700_000_000.0
    api.route("GET", "/20180115/zones", (200, {}, [{"name": "a.example"}, {"name": "gone.example"}]))
    api.route("GET", "/20180115/zones/a.example/status", (200, {}, {
        "name": "a.example", "role": "secondary", "state": "loaded", "serial": 3,
        "lastLoad": {"when": now - 60, "ok": True, "detail": "AXFR"}, "expireAt": now + 3600, "nextEvent": None,
        "failureReason": None, "masters": [], "downstreams": [],
    }))
    api.route("GET", "/20180115/zones/gone.example/status", (404, {}, {"code": "NotFound", "message": "gone"}))
    status, out, err = cli(api, "zone", "status")
    assert (status, err) == (EXIT_OK, "")
    assert out.splitlines() == [
        "ZONE       ROLE       STATE   SERIAL  LAST TRANSFER  NEXT  EXPIRES  LAST ERROR",
        "a.example  secondary  loaded  3       1m ago         -     in 1h    -",
    ]
    api.route("GET", "/20180115/zones", (200, {}, []))
    status, out, _ = cli(api, "zone", "status", "--output", "json")
    assert (status, json.loads(out)) == (EXIT_OK, {"data": []})


def test_secret_sent_once_and_never_printed(api, tmp_path):
    key = {"id": "ocid1.dns-tsigkey.secdns..k", "name": "k", "algorithm": "hmac-sha256", "secret": SECRET}
    api.route("POST", "/20180115/tsigKeys", (201, {}, key))
    path = tmp_path / "k.key"
    path.write_text(f'key "k" {{ algorithm hmac-sha256; secret "{SECRET}"; }};\n')
    for output in ("json", "table"):
        api.route("POST", "/20180115/tsigKeys", (201, {}, key))
        status, out, err = cli(api, "tsig-key", "create", "--secret-file", str(path), "--output", output)
        assert status == EXIT_OK
        assert SECRET not in out + err
    assert api.requests[0]["body"] == {"name": "k", "algorithm": "hmac-sha256", "secret": SECRET}


def test_connection_refused_names_the_endpoint():
    port = free_port()
    status, out, err = cli(None, "zone", "list", port=port)
    assert (status, out) == (EXIT_CONNECTION, "")
    assert f"cannot connect to http://127.0.0.1:{port}: connection refused" in err


def test_timeout_is_a_connection_failure():
    with socket.socket() as silent:  # accepts (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        status, _, err = cli(None, "zone", "list", "--timeout", "0.3", port=port)
    assert status == EXIT_CONNECTION
    assert f"http://127.0.0.1:{port} did not answer within 0.3 s" in err


def test_https_without_a_trusted_certificate_is_a_connection_failure():
    client = Client(resolve(endpoint="https://127.0.0.1:1", environ={}, read=files({})))
    with pytest.raises(ConnectionFailed, match="cannot connect to https://127.0.0.1:1"):
        client.send(Request("GET", "/zones"))


def test_usage_errors_exit_2(api, capsys):
    assert cli(api, "zone", "update", "example.com")[0] == EXIT_USAGE
    assert cli(api, "zone", "frobnicate")[0] == EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err
    status, _, err = cli(api, "zone", "list", "--token-file", "/nonexistent/token")
    assert status == EXIT_USAGE and "token file /nonexistent/token" in err
    assert api.requests == []


def test_help_and_version_exit_0(capsys):
    assert run(["--version"], io.StringIO(), io.StringIO(), io.StringIO(), {}) == EXIT_OK
    assert "secdns 0.1.0" in capsys.readouterr().out
    assert run(["zone", "create", "--help"], io.StringIO(), io.StringIO(), io.StringIO(), {}) == EXIT_OK
    assert "--external-masters" in capsys.readouterr().out


def test_the_cli_imports_nothing_of_the_server():
    code = (
        "import sys, secdns.cli.main\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('twisted', 'dns', 'attrs', 'prometheus_client')"
        " or m.startswith(('secdns.core', 'secdns.ops', 'secdns.zones', 'secdns.server', 'secdns.store', 'secdns.wire')))\n"
        "print(bad)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
