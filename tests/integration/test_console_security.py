"""
The web console's security, on the real appliance with a token file
(issue 12): no console page and no API datum without the token, the
security headers on every answer of the HTTP listener, and in a real
headless Chromium no Content-Security-Policy violation and no JavaScript
error on any page (and a violation, were there one, is seen).

The console's static files are served without a token (a browser cannot
send one on a page load); what makes that safe is that they hold no data,
which is what is checked here: every file is fetched without a token and
holds no zone name, key name, secret or token of the running appliance.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from importlib import resources

import pytest

from tests.api_client import ApiClient
from tests.browser_support import TOKEN, Browser, ConsoleAppliance

CONFIG_SECRET = "Y29uc29sZS1jb25maWcta2V5LXNlY3JldC0wMTIzNDU2Nzg5"
API_SECRET = "YXBpLW1hZGUta2V5LXNlY3JldCBuZXZlciBpbiBhIHBhZ2U="
CONFIG_ZONE = "declared-zone.example"
API_ZONE = "api-made-zone.example"
CONFIG_KEY = "declared-key"
API_KEY = "api-made-key"
#: What no answer without the token may hold.
DATA = (CONFIG_ZONE, API_ZONE, CONFIG_KEY, API_KEY, CONFIG_SECRET, API_SECRET, TOKEN, "198.51.100.77")

HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}

EXTRA_CONFIG = f"""
[[tsig_key]]
name = "{CONFIG_KEY}"
secret = "{CONFIG_SECRET}"

[[zone]]
name = "{CONFIG_ZONE}"
type = "primary"
file = "declared.zone"
"""

ZONE_TEXT = f"""$ORIGIN {CONFIG_ZONE}.
$TTL 300
@ SOA ns1 hostmaster 7 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.1
www A 198.51.100.77
"""


@pytest.fixture(scope="module")
def appliance(tmp_path_factory):
    with ConsoleAppliance(tmp_path_factory.mktemp("console-security"), EXTRA_CONFIG, {"declared.zone": ZONE_TEXT}) as appliance:
        api = appliance.api
        assert api("POST", "/tsigKeys", {"name": API_KEY, "algorithm": "hmac-sha256", "secret": API_SECRET}).status == 201
        assert api("POST", "/zones", {"name": API_ZONE, "zoneType": "PRIMARY"}).status == 201
        yield appliance
    log = appliance.log()
    for secret in (CONFIG_SECRET, API_SECRET, TOKEN):
        assert secret not in log


@pytest.fixture(scope="module")
def chromium(appliance, tmp_path_factory):
    with Browser(tmp_path_factory.mktemp("chromium-security"), appliance.base) as browser:
        yield browser


def fetch(url: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None):
    """(status, lower-cased headers, body) of one request, errors included, redirects not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kw):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def static_files() -> list[str]:
    """Every file the package ships under the console's static/ (paths relative to it)."""
    root = resources.files("secdns.ops.console").joinpath("static")
    found = []

    def walk(node, prefix):
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif not child.name.startswith("."):
                found.append(prefix + child.name)

    walk(root, "")
    return sorted(found)


def holds_data(raw: bytes) -> list[str]:
    text = raw.decode("utf-8", "replace")
    return [datum for datum in DATA if datum in text]


def test_every_console_file_is_served_without_data(appliance):
    """Each static file answers without a token, with its type and charset, and holds none of the appliance's data."""
    files = static_files()
    assert {"index.html", "console.css", "js/main.js", "js/api.js", "js/ui.js"} <= set(files), files
    for path in ["", *files]:
        status, headers, body = fetch(f"{appliance.base}/console/{path}")
        assert status == 200, (path, status)
        assert holds_data(body) == [], path
        kind = headers["content-type"]
        if path.endswith((".html", ".css", ".js", ".svg")) or path == "":
            assert kind.endswith("; charset=utf-8"), (path, kind)
        assert kind.split(";")[0] == {
            "": "text/html", "html": "text/html", "css": "text/css", "js": "text/javascript", "svg": "image/svg+xml",
            "png": "image/png", "ico": "image/x-icon",
        }[path.rpartition(".")[2] if path else ""], (path, kind)
    # Nothing else is reachable under /console/: no listing, no climbing out, no other kinds of file.
    for path in ("js/", "../secdns.toml", "%2e%2e/tokens", "js/..%2fresource.py", "resource.py", "__init__.py", ".hidden.js"):
        status, _, body = fetch(f"{appliance.base}/console/{path}")
        assert status in (400, 404), (path, status)
        assert holds_data(body) == []


def path_arguments(appliance) -> dict[str, str]:
    """A real object for each path parameter, so that a request that got through would hold data."""
    subscriptions = appliance.api("GET", "/topics/log/subscriptions").json
    items = subscriptions.get("items", subscriptions) if isinstance(subscriptions, dict) else subscriptions
    return {
        "zoneNameOrId": CONFIG_ZONE,
        "domain": f"www.{CONFIG_ZONE}",
        "rtype": "A",
        "action": "refresh",
        "tsigKeyId": API_KEY,
        "alarmId": "zone-refresh-failing",
        "topicId": "log",
        "subscriptionId": (items[0]["id"] if items else "ocid1.onssubscription.secdns..none"),
    }


def test_every_api_operation_needs_the_token(appliance):
    """
    Every operation of the OpenAPI document, on real objects, without a
    token and with a wrong one: 401 NotAuthenticated holding no datum, and
    nothing changed.
    """
    api = appliance.api
    document = ApiClient(api.base)("GET", "/openapi.json").json  # the document itself is public
    before = {path: api("GET", path).raw for path in ("/zones", "/tsigKeys", "/alarms", "/topics", f"/zones/{CONFIG_ZONE}/records")}
    arguments = path_arguments(appliance)
    operations = 0
    for template, item in document["paths"].items():
        path = re.sub(r"\{(\w+)\}", lambda m: urllib.parse.quote(arguments[m.group(1)], safe=""), template)
        for method in ("get", "post", "put", "patch", "delete"):
            if method not in item:
                continue
            operations += 1
            body = None if method in ("get", "delete") else b'{"name": "x.example", "items": []}'
            for token in (None, "wrong-token-0123456789abcdef"):
                headers = {"Content-Type": "application/json"}
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                status, answer_headers, raw = fetch(api.base + path, method.upper(), headers, body)
                assert status == 401, (method, path, token, status, raw[:300])
                assert b'"NotAuthenticated"' in raw, (method, path, raw[:300])
                assert holds_data(raw) == [], (method, path)
                assert all(answer_headers.get(name) == value for name, value in HEADERS.items()), (method, path)
    assert operations >= 35, operations
    assert {path: api("GET", path).raw for path in before} == before


def test_every_answer_carries_the_security_headers(appliance):
    """Console files, redirects, 404s and 405s, API answers and errors, /metrics, and the root: each with the headers."""
    base = appliance.base
    token = {"Authorization": f"Bearer {TOKEN}"}
    cases = [
        ("GET", "/console/", {}, 200),
        ("HEAD", "/console/", {}, 200),
        ("GET", "/console", {}, 301),
        ("GET", "/console/js/main.js", {}, 200),
        ("GET", "/console/console.css", {}, 200),
        ("GET", "/console/no-such-page.js", {}, 404),
        ("POST", "/console/", {}, 405),
        ("GET", "/20180115/zones", {}, 401),
        ("GET", "/20180115/zones", token, 200),
        ("GET", "/20180115/zoneStatuses", token, 200),
        ("GET", "/20180115/zones/no-such-zone.example", token, 404),
        ("GET", "/20180115/no-such-collection", token, 404),
        ("GET", "/20180115/openapi.json", {}, 200),
        ("GET", "/metrics", {}, 200),
        ("GET", "/", {}, 404),
        ("GET", "/no/such/thing", {}, 404),
    ]
    for method, path, headers, expected in cases:
        status, answer, body = fetch(base + path, method, headers, b"" if method == "POST" else None)
        assert status == expected, (method, path, status, body[:200])
        missing = {name: answer.get(name) for name, value in HEADERS.items() if answer.get(name) != value}
        assert missing == {}, (method, path, missing)
        assert answer.get("cache-control", "").startswith(("no-store", "max-age=")), (method, path, answer.get("cache-control"))
        assert answer.get("content-type"), (method, path)
        if answer["content-type"].startswith("text/"):
            assert "charset=" in answer["content-type"], (method, path, answer["content-type"])


def test_the_console_code_has_no_inline_script_and_builds_no_html_from_strings():
    """
    What the CSP forbids is not in the files (so nothing depends on it
    being lifted): no inline <script> or style, no on* handler attributes,
    no third-party origin; the JavaScript builds DOM nodes rather than
    parsing strings as HTML or code (zone names and messages are untrusted).
    """
    root = resources.files("secdns.ops.console").joinpath("static")
    for path in static_files():
        if not path.endswith((".html", ".js", ".css")):
            continue
        text = root.joinpath(*path.split("/")).read_text(encoding="utf-8")
        assert not re.search(r"""\b(?:src|href|url\()\s*=?\s*["']?(?:https?:)?//""", text), f"{path} names another origin"
        assert not re.search(r"""@import\s+["']?(?:https?:)?//""", text), path
        if path.endswith(".html"):
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"{path} has an inline <script>"
            assert not re.search(r"<style\b", text), f"{path} has a <style> element"
            assert not re.search(r"""\sstyle\s*=\s*["']""", text), f"{path} has a style attribute"
            assert not re.search(r"""\son[a-z]+\s*=\s*["']""", text), f"{path} has an on* handler attribute"
            assert not re.search(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", text, re.I), path
        if path.endswith(".js"):
            code = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)
            for pattern, why in (
                (r"\.(?:inner|outer)HTML\s*\+?=(?!\s*(?:\"\"|''|``)\s*;)", "assigns innerHTML/outerHTML"),
                (r"\.insertAdjacentHTML\s*\(", "parses HTML from a string"),
                (r"\bdocument\.write(?:ln)?\s*\(", "writes the document"),
                (r"(?<![\w.])eval\s*\(", "evaluates a string"),
                (r"\bnew\s+Function\s*\(", "makes a function from a string"),
                (r"\bsetTimeout\s*\(\s*[\"'`]", "evaluates a string later"),
                (r"\bsetInterval\s*\(\s*[\"'`]", "evaluates a string later"),
                (r"\.setAttribute\s*\(\s*[\"']on", "sets an on* handler attribute"),
                (r"\.setAttribute\s*\(\s*[\"']style[\"']", "sets a style attribute (CSP: style-src)"),
                (r"\blocalStorage\b", "keeps something beyond the tab (the token lives in sessionStorage)"),
                (r"\bdocument\.cookie\b", "uses cookies"),
            ):
                assert not re.search(pattern, code), f"{path} {why}"


def test_without_the_token_the_browser_shows_only_the_login_form(appliance, chromium):
    """
    A fresh tab on any route: the login form and nothing of the
    appliance's; a wrong token is refused beside the field and shows
    nothing; the right one shows the zones.  No CSP violation, no error but
    the probes' 401s.
    """
    mark = chromium.mark()
    for route in ("zones", f"zones/{CONFIG_ZONE}", "keys", "create", "alarms", "topics"):
        chromium.driver.get(chromium.url(route))
        chromium.wait_visible("#login-form")
        chromium.until(lambda d: not chromium.find("#view").is_displayed(), what="the app frame to stay hidden")
        page = chromium.driver.page_source + chromium.text()
        assert [datum for datum in DATA if datum in page] == [], route
        assert chromium.driver.execute_script("return sessionStorage.getItem('secdns.token')") is None
    chromium.fill("token", "not-a-token-of-this-appliance")
    chromium.submit(chromium.find("#login-form"))
    assert "not one of the appliance's tokens" in chromium.field_error("token")
    assert [datum for datum in DATA if datum in chromium.driver.page_source] == []
    assert not chromium.find("#nav").is_displayed()
    chromium.login(TOKEN)
    chromium.wait_text("#view", API_ZONE)
    assert chromium.driver.execute_script("return sessionStorage.getItem('secdns.token')") == TOKEN
    assert chromium.driver.execute_script("return localStorage.length") == 0
    assert chromium.driver.get_cookies() == []
    assert chromium.csp_violations(mark) == []
    assert chromium.problems(since=mark) == []
    # Sign out: the token forgotten, the login form back, the data gone from the page.
    chromium.click("Sign out")
    chromium.wait_visible("#login-form")
    assert chromium.driver.execute_script("return sessionStorage.getItem('secdns.token')") is None
    assert API_ZONE not in chromium.text()


#: Every page the console has, as its routes: each must load with no CSP violation and no JavaScript error.
ROUTES = ("zones", f"zones/{CONFIG_ZONE}", f"zones/{API_ZONE}", "create", "keys", "alarms", "alarms/new",
          "alarms/zone-refresh-failing", "topics", "topics/log")


def test_no_page_breaks_the_content_security_policy(appliance, chromium):
    """
    Logged in, each route renders its page (a heading, no error shown) and
    the browser logs no CSP violation and no error.  Then the oracle: an
    inline script added to the page is refused by Chromium and the log
    says so (so a violation in a page would have been seen).
    """
    chromium.login(TOKEN, via_form=False)
    for route in ROUTES:
        mark = chromium.mark()
        chromium.open(route)
        heading = chromium.wait_visible("#view h1")
        chromium.until(lambda d: chromium.find("#view").get_attribute("aria-busy") != "true", what=f"{route} to render")
        assert heading.text and heading.text not in ("No such page", "Error"), (route, heading.text)
        assert not chromium.find_all("#view .empty-state") or "not yet part of the console" not in chromium.text("#view"), f"{route}: page missing"
        assert not [e for e in chromium.find_all("#view .form-error") if e.text.strip()], (route, chromium.text("#view"))
        assert chromium.csp_violations(mark) == [], route
        assert chromium.problems(allow_401=False, since=mark) == [], route
        # Every request the page made went to the appliance itself, and none carried the token in its URL.
        fetched = chromium.driver.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
        assert fetched and all(url.startswith(appliance.base + "/") for url in fetched), (route, fetched)
        assert not [url for url in fetched if TOKEN in url], route
    mark = chromium.mark()
    ran = chromium.driver.execute_script(
        "const s = document.createElement('script'); s.textContent = 'window.inlineRan = true';"
        "document.body.append(s); return window.inlineRan === true;"
    )
    assert ran is False
    chromium.until(lambda d: chromium.csp_violations(mark), what="Chromium to log the refused inline script")
