"""
The console's files over the real site (L{secdns.ops.http.site}): real
HTTP bytes through twisted.web's HTTPChannel on an in-memory transport.
Every answer -- each static file, the redirect, 404s, 405s, 403s, and the
API's and /metrics's -- carries every security header; nothing outside
C{static/} is reachable, and no directory is listed.
"""

from __future__ import annotations

import configparser
import fnmatch
import re
from pathlib import Path

import attrs
import pytest
from prometheus_client.core import CollectorRegistry
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from secdns.ops.api import all_routes
from secdns.ops.api.auth import Access
from secdns.ops.api.context import Api
from secdns.ops.api.openapi import document_bytes
from secdns.ops.api.resource import ApiResource
from secdns.ops.console.headers import SECURITY_HEADERS
from secdns.ops.console.resource import CONTENT_TYPES, ConsoleResource
from secdns.ops.http import site

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "secdns" / "ops" / "console" / "static"
FILES = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file())

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
EXPECTED = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def request(web, method: str, path: str, peer: str = "127.0.0.1", body: bytes = b"") -> Answer:
    address = IPv4Address("TCP", peer, 40000)
    channel = web.buildProtocol(address)
    transport = StringTransport(hostAddress=IPv4Address("TCP", "127.0.0.1", 8053), peerAddress=address)
    channel.makeConnection(transport)
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost:8053\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    channel.dataReceived(head.encode("latin-1") + body)
    raw_head, _, raw_body = transport.value().partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        raw_body = raw_body[: int(headers["content-length"])]
    return Answer(int(lines[0].split()[1]), headers, raw_body)


def web_site(loopback_only: bool = False):
    api = Api(lambda: None)
    resource = ApiResource(api, Access(None), all_routes(api), document_bytes())
    web = site(CollectorRegistry(), resource, ConsoleResource(loopback_only=loopback_only))
    web.timeOut = None
    return web


@pytest.fixture
def web():
    return web_site()


def assert_secure(answer: Answer) -> None:
    for name, value in EXPECTED.items():
        assert answer.headers.get(name) == value, (name, answer.status, answer.headers)


def test_the_header_table_is_the_contract():
    assert {k.decode().lower(): v.decode() for k, v in SECURITY_HEADERS} == EXPECTED


def test_the_core_files_are_there():
    for name in ("index.html", "console.css", "js/api.js", "js/ui.js", "js/main.js", "js/zones.js", "js/create.js"):
        assert name in FILES, name


@pytest.mark.parametrize("name", FILES)
def test_each_static_file_is_served_with_its_type_and_every_header(web, name):
    answer = request(web, "GET", f"/console/{name}")
    assert answer.status == 200, answer
    assert answer.body == (STATIC / name).read_bytes()
    assert answer.headers["content-type"] == CONTENT_TYPES[Path(name).suffix].decode()
    if answer.headers["content-type"].startswith("text/"):
        assert answer.headers["content-type"].endswith("; charset=utf-8")
    assert_secure(answer)


def test_the_console_root_is_the_document(web):
    answer = request(web, "GET", "/console/")
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.body == (STATIC / "index.html").read_bytes()
    assert_secure(answer)


def test_console_without_slash_redirects(web):
    answer = request(web, "GET", "/console")
    assert answer.status == 301
    assert answer.headers["location"] == "/console/"
    assert_secure(answer)


@pytest.mark.parametrize(
    "path",
    [
        "/console/nope.js",
        "/console/js/",
        "/console/js",
        "/console/js/nope.js",
        "/console/../setup.cfg",
        "/console/js/../../resource.py",
        "/console/%2e%2e/resource.py",
        "/console/..%2fresource.py",
        "/console/.hidden.css",
        "/console/resource.py",
        "/console/static/index.html",
        "/console/index.html/x",
        "/console/README",
        "/console/%ff.js",
        "/console//index.html",
        "/nothing-here",
    ],
)
def test_unknown_paths_are_404_with_every_header_and_no_listing(web, path):
    answer = request(web, "GET", path)
    assert answer.status == 404, answer
    assert b"<a" not in answer.body and b"index.html" not in answer.body
    assert_secure(answer)


def test_only_get_and_head(web):
    answer = request(web, "POST", "/console/", body=b"x=1")
    assert answer.status == 405
    assert answer.headers["allow"] == "GET, HEAD"
    assert_secure(answer)
    head = request(web, "HEAD", "/console/js/main.js")
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == str(len((STATIC / "js" / "main.js").read_bytes()))
    assert_secure(head)


def test_loopback_only_without_a_token_file():
    web = web_site(loopback_only=True)
    assert request(web, "GET", "/console/", peer="127.0.0.1").status == 200
    refused = request(web, "GET", "/console/", peer="192.0.2.7")
    assert refused.status == 403
    assert b"token_file" in refused.body
    assert_secure(refused)
    # with a token file the files (which hold no data) are served to anyone: the data needs the token
    assert request(web_site(loopback_only=False), "GET", "/console/", peer="192.0.2.7").status == 200


@pytest.mark.parametrize(
    "path,status",
    [("/metrics", 200), ("/20180115/zones", 503), ("/20180115/openapi.json", 200), ("/20180115/nope", 404), ("/", 404)],
)
def test_the_api_and_metrics_carry_the_headers_too(web, path, status):
    answer = request(web, "GET", path)
    assert answer.status == status, answer
    assert_secure(answer)


def test_api_refusals_carry_the_headers(web):
    answer = request(web, "GET", "/20180115/zones", peer="192.0.2.7")
    assert answer.status == 403
    assert_secure(answer)


def test_package_data_ships_every_static_file():
    """setup.cfg's package_data globs match every file under static/ (test_install checks a real wheel)."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    globs = [g.strip() for g in config["options.package_data"]["secdns.ops.console"].split(",")]
    for name in FILES:
        assert any(fnmatch.fnmatch(f"static/{name}", g) and g.count("/") == f"static/{name}".count("/") for g in globs), name
    assert "secdns.ops.console" in config["options"]["packages"].split()


@pytest.mark.parametrize("name", [n for n in FILES if n.endswith((".html", ".js", ".css"))])
def test_no_inline_code_and_no_markup_from_strings(name):
    """The CSP forbids inline scripts and styles; data is never parsed as HTML."""
    text = (STATIC / name).read_text(encoding="utf-8")
    if name.endswith(".html"):
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline script"
        assert "<style" not in text
        assert not re.search(r"\sstyle\s*=", text)
        assert not re.search(r"\son[a-z]+\s*=", text)
    if name.endswith(".js"):
        for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert forbidden not in text, forbidden
        assert not re.search(r"setAttribute\(\s*['\"]style['\"]", text)
        assert not re.search(r"""(from\s*|import\(\s*|fetch\(\s*)["'`](https?:)?//""", text), "no third-party origins"
    else:
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//|url\(\s*[\"']?(https?:)?//|@import", text), "no third-party origins"


def test_a_body_too_large_is_refused_with_the_headers(web):
    """The API's 413, written straight to the transport as the body arrives, carries them too."""
    answer = request(web, "POST", "/20180115/zones", body=b"x" * (65536 + 1))
    assert answer.status == 413
    assert_secure(answer)
