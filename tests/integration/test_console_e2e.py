"""
The web console's end-to-end proof (issue 12), in a real headless
Chromium on the real appliance (C{twistd -n secdns}), with a real BIND
primary upstream and a real Knot downstream: what
C{tests/integration/test_cli.py} does with the CLI, done through the pages
as an operator clicks them, the seed's words on the buttons.

  1. Log in with the token (the login form).
  2. TSIG keys: create a key with a secret generated in the browser; the
     secret is shown once (read from the page, and given to BIND and Knot),
     then never again.
  3. Zones -> Create zone -> Method Manual -> Zone type Secondary -> name ->
     Upstream server IP (+ Add additional server IP) -> TSIG key -> Create:
     the zone turns "serving" with BIND's serial on the zones page.
  4. A primary zone with Knot as downstream, a record added on its page:
     Knot serves it.
  5. BIND stopped (by its PID), the page reloaded: "failing", with the reason.
  6. Create zone's errors, each beside its field: a bad address, a missing
     name, a key deleted meanwhile.

The screenshots of docs/console/ are taken here (C{SECDNS_SCREENSHOTS=1}
writes them there; otherwise they go to the test's tmp dir).
"""

from __future__ import annotations

import re
import subprocess
import time

import dns.rcode
import pytest

from tests.browser_support import TOKEN, Browser, ConsoleAppliance
from tests.peers import Bind, Knot, PeerZone, TsigKey
from tests.support import LOOPBACK, free_port, require, wait_until

SECONDARY = "example.com"
PRIMARY = "example.net"
KEY = "transfer-key"


def upstream_zone(serial: int) -> str:
    """BIND's zone: SOA refresh 2 s and retry 1 s, so a stopped BIND shows within seconds."""
    return "\n".join([
        f"$ORIGIN {SECONDARY}.", "$TTL 300", f"@ SOA ns1 hostmaster {serial} 2 1 86400 60", "@ NS ns1",
        "ns1 A 192.0.2.1", "www A 192.0.2.80", *[f"host{i} A 198.51.100.{i}" for i in range(1, 12)], "",
    ])


class Proof:
    """What the ordered tests of this module share: the appliance, one Chromium, the peers and the key."""

    def __init__(self, tmp_path_factory) -> None:
        self.tmp = tmp_path_factory.mktemp("console-e2e")
        self.appliance = ConsoleAppliance(self.tmp)
        self.browser = Browser(self.tmp / "chromium", self.appliance.base)
        self.secret: str | None = None
        self.bind: Bind | None = None
        self.knot: Knot | None = None
        self.dead_port = free_port()  # the additional upstream: nothing ever listens there

    def close(self) -> None:
        for peer in (self.knot, self.bind):
            if peer is not None:
                peer.stop()
        self.browser.quit()
        self.appliance.stop()


@pytest.fixture(scope="module")
def proof(tmp_path_factory):
    started = time.monotonic()
    shared = Proof(tmp_path_factory)
    try:
        yield shared
    finally:
        shared.close()
        log = shared.appliance.log()
        if shared.secret:
            assert shared.secret not in log
            assert all(shared.secret.encode() not in answer.raw for answer in shared.appliance.api.answers)
        assert TOKEN not in log
        print(f"console end-to-end: {time.monotonic() - started:.1f} s")


def zone_cells(browser: Browser, name: str) -> dict[str, str] | None:
    """
    The zones page's row of C{name}, its cells by column heading and its
    badge's health (C{"health"}), read in one go (the page repaints itself
    every few seconds); L{None} while there is no such row.
    """
    return browser.driver.execute_script(
        """
        const row = document.querySelector(`#zones-table tbody tr[data-name="${arguments[0]}"]`);
        if (!row) return null;
        const heads = [...document.querySelectorAll('#zones-table thead th')].map((th) => th.textContent.replace(/[\u25b2\u25bc\u2191\u2193]/g, '').trim());
        const out = {};
        [...row.cells].forEach((cell, i) => { out[heads[i]] = cell.innerText.trim(); });
        const badge = row.querySelector('[data-health]');
        out.health = badge ? badge.dataset.health : null;
        return out;
        """,
        name,
    )


def wait_health(browser: Browser, name: str, health: str, timeout: float = 30.0) -> dict[str, str]:
    """The cells of C{name}'s row once its badge says C{health} (the page refreshes itself)."""
    return browser.until(
        lambda d: (lambda cells: cells if cells and cells["health"] == health else None)(zone_cells(browser, name)),
        timeout, f"{name} {health} on the zones page",
    )


def test_log_in_with_the_token(proof):
    """The login form takes the appliance's token; the app frame shows with its <nav>."""
    browser = proof.browser
    browser.login(TOKEN)
    nav = browser.find("nav").text
    for entry in ("Zones", "Create zone", "TSIG keys", "Alarms", "Topics", "Sign out"):
        assert entry in nav
    browser.wait_text("#view h1", "Zones")
    assert browser.problems() == []


def test_create_a_tsig_key_whose_secret_is_shown_once(proof):
    """TSIG keys -> a name, Generate, Create key: the secret shown once, with a copy button; then gone."""
    browser = proof.browser
    browser.click(browser.link("TSIG keys"))
    form = browser.wait_for("#key-form")
    browser.fill("name", KEY, within=form)
    browser.fill("algorithm", "hmac-sha256", within=form)
    browser.click("Generate", within=form)
    browser.until(lambda d: browser.field("secret", form).get_attribute("value"), what="a generated secret")
    browser.submit(form)
    dialog = browser.wait_visible("#secret-dialog")
    secret = browser.until(lambda d: browser.find("#secret-value").get_attribute("value"), what="the secret shown")
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", secret), secret  # 32 bytes: hmac-sha256's output
    assert browser.button("Copy secret", within=dialog)
    assert secret in browser.find("#secret-bind").get_attribute("value")
    proof.secret = secret
    browser.wait_text('#keys-table tbody tr[data-name="transfer-key"]', "hmac-sha256")
    browser.screenshot("keys")
    browser.click(browser.find("#secret-done"))
    browser.wait_gone("#secret-dialog")
    assert secret not in browser.driver.page_source
    browser.reload()
    browser.wait_for('#keys-table tbody tr[data-name="transfer-key"]')
    assert secret not in browser.driver.page_source
    key = proof.appliance.api("GET", f"/tsigKeys/{KEY}")
    assert key.status == 200 and secret.encode() not in key.raw


def test_create_a_secondary_zone_as_the_seed_says(proof):
    """
    Zones -> Create zone -> Method Manual -> Zone type Secondary -> name ->
    Upstream server IP (+ Add additional server IP) -> TSIG key -> Create:
    transferred from BIND, "serving" with BIND's serial on the zones page.
    """
    browser = proof.browser
    assert proof.secret, "the key is made by the previous test"
    zone_file = proof.tmp / f"{SECONDARY}.zone"
    zone_file.write_text(upstream_zone(2026120301))
    proof.bind = Bind(proof.tmp, free_port(), keys=[TsigKey(KEY, proof.secret)], zones=[
        PeerZone(SECONDARY, file=zone_file, downstreams=((LOOPBACK, proof.appliance.port),), key=KEY),
    ]).start()

    browser.click(browser.link("Zones"))
    browser.wait_text("#view h1", "Zones")
    browser.click(browser.link("Create zone", within="#view"))  # the zones page's own button, as the seed says
    form = browser.wait_for("#create-form")
    browser.choose("method", "Manual", within=form)
    browser.choose("zoneType", "Secondary", within=form)
    browser.fill("name", SECONDARY, within=form)
    # The zone transfer servers to allow on the primary are on this page, as the seed says.
    servers = browser.wait_visible("#zone-transfer-servers")
    assert f"127.0.0.1:{proof.appliance.port}" in servers.text
    browser.fill("externalMasters[0].address", LOOPBACK, within=form)
    browser.fill("externalMasters[0].port", str(proof.bind.port), within=form)
    browser.fill("externalMasters[0].tsigKeyId", KEY, within=form)
    browser.click("Add additional server IP", within=form)
    browser.fill("externalMasters[1].address", LOOPBACK, within=form)
    browser.fill("externalMasters[1].port", str(proof.dead_port), within=form)
    browser.fill("externalMasters[1].tsigKeyId", KEY, within=form)
    browser.screenshot("create")
    browser.click("Create", within=form)

    browser.until(lambda d: d.current_url.endswith(f"#/zones/{SECONDARY}"), what="the new zone's page")
    zone = proof.appliance.api("GET", f"/zones/{SECONDARY}").json
    assert zone["zoneType"] == "SECONDARY"
    assert [(m["address"], m["port"]) for m in zone["externalMasters"]] == [(LOOPBACK, proof.bind.port), (LOOPBACK, proof.dead_port)]
    assert all(m["tsigKeyId"] for m in zone["externalMasters"])

    browser.click(browser.link("Zones"))
    shown = wait_health(browser, SECONDARY, "serving", timeout=30)
    assert (shown["Type"], shown["Serial"], shown["Records"]) == ("Secondary", "2026120301", "15"), shown
    assert re.search(r"ago|now", shown["Last transfer"]), shown
    assert shown["Last error"] == "", shown

    # Its page: status, masters, events, the charts of the last 24 hours.
    browser.click(browser.find(f'#zones-table tbody tr[data-name="{SECONDARY}"] a'))
    browser.wait_text("#view h1", SECONDARY)
    browser.wait_for("#masters-table")
    browser.wait_text("#events-table", "ransfer")
    browser.wait_for(".zone-charts svg, .zone-charts canvas", timeout=15)
    browser.reload()  # a fresh document: no notice left from the pages before
    charts = browser.wait_for(".zone-charts svg, .zone-charts canvas", timeout=15)
    browser.wait_text("#masters-table", "2026120301")
    browser.driver.execute_script("arguments[0].closest('.zone-charts').scrollIntoView({block: 'center'})", charts)
    browser.screenshot("zone")
    assert browser.problems() == []


def test_a_record_added_on_a_primary_zone_reaches_knot(proof):
    """Create zone -> Primary -> Knot as downstream (the key); a record added on the zone's page: Knot serves it."""
    browser = proof.browser
    knot_port = free_port()
    browser.click(browser.link("Create zone"))
    form = browser.wait_for("#create-form")
    browser.choose("zoneType", "Primary", within=form)
    browser.fill("name", PRIMARY, within=form)
    browser.click("Add downstream", within=form)
    browser.fill("externalDownstreams[0].address", LOOPBACK, within=form)
    browser.fill("externalDownstreams[0].port", str(knot_port), within=form)
    browser.fill("externalDownstreams[0].tsigKeyId", KEY, within=form)
    browser.click("Create", within=form)
    browser.until(lambda d: d.current_url.endswith(f"#/zones/{PRIMARY}"), what="the new zone's page")
    first = wait_until(lambda: proof.appliance.api("GET", f"/zones/{PRIMARY}").json.get("serial"), 10, what="a serial")

    proof.knot = Knot(proof.tmp, knot_port, keys=[TsigKey(KEY, proof.secret)], zones=[
        PeerZone(PRIMARY, primaries=((LOOPBACK, proof.appliance.port),), key=KEY),
    ]).start()
    proof.knot.wait_for_zone(PRIMARY + ".", timeout=30, serial=first)

    form = browser.wait_for("#record-add-form", timeout=15)
    browser.fill("domain", "www", within=form)
    browser.fill("rtype", "A", within=form)
    browser.fill("ttl", "300", within=form)
    browser.fill("rdata", "192.0.2.81", within=form)
    browser.click("Add record", within=form)
    browser.wait_text("#records-table", "192.0.2.81")

    def knot_serves() -> bool:
        answer = proof.knot.query(f"www.{PRIMARY}", "A")
        return answer.rcode() == dns.rcode.NOERROR and [r.to_text() for r in answer.answer] == [f"www.{PRIMARY}. 300 IN A 192.0.2.81"]

    wait_until(knot_serves, 20, what="Knot to serve the record added in the browser")
    kdig = subprocess.run([require("kdig"), "@127.0.0.1", "-p", str(knot_port), f"www.{PRIMARY}", "A", "+short"],
                          capture_output=True, text=True, timeout=10)
    assert kdig.stdout.split() == ["192.0.2.81"], kdig
    assert proof.knot.serial(PRIMARY) > first
    browser.click(browser.link("Zones"))
    browser.reload()  # a fresh document: no notice left from the pages before
    wait_health(browser, PRIMARY, "serving")
    wait_health(browser, SECONDARY, "serving")
    browser.screenshot("zones")


def test_bind_stopped_the_zone_turns_failing_with_the_reason(proof):
    """BIND stopped by its PID and the zones page reloaded: the zone is "failing", the reason in words."""
    browser = proof.browser
    assert proof.bind is not None, "BIND is started by the previous test"
    proof.bind.stop()
    browser.click(browser.link("Zones"))
    browser.reload()
    shown = wait_health(browser, SECONDARY, "failing", timeout=40)
    reason = shown["Last error"]
    assert f"127.0.0.1#{proof.bind.port}" in reason or f"127.0.0.1:{proof.bind.port}" in reason, shown
    assert shown["Serial"] == "2026120301", shown  # still serving the copy it has
    failing = wait_until(
        lambda: next((s for s in proof.appliance.api("GET", "/zoneStatuses").json if s["name"] == SECONDARY and s["health"] == "failing"), None),
        20, what="the API to say failing",
    )
    assert failing["lastError"] == reason, (failing, reason)
    browser.screenshot("zones-failing")


def test_create_zone_errors_are_shown_beside_their_field(proof):
    """A bad upstream address, a missing name, a key deleted meanwhile: each message beside its field; nothing made."""
    browser = proof.browser
    api = proof.appliance.api
    assert api("POST", "/tsigKeys", {"name": "doomed-key", "algorithm": "hmac-sha256",
                                     "secret": "ZG9vbWVkLWtleS1zZWNyZXQtMDEyMzQ1Njc4OWFiY2Q="}).status == 201
    before = sorted(z["name"] for z in api("GET", "/zones").json)

    browser.click(browser.link("Create zone"))
    form = browser.wait_for("#create-form")
    browser.choose("zoneType", "Secondary", within=form)
    browser.fill("name", "errors.example", within=form)
    browser.fill("externalMasters[0].address", "not-an-address", within=form)
    browser.click("Create", within=form)
    message = browser.field_error("externalMasters[0].address", within=form)
    print(f"bad address: {message}")
    assert "address" in message.lower(), message
    assert browser.field("externalMasters[0].address", form).get_attribute("aria-invalid") == "true"

    browser.fill("externalMasters[0].address", LOOPBACK, within=form)
    browser.fill("name", "", within=form)
    browser.click("Create", within=form)
    message = browser.field_error("name", within=form)
    print(f"missing name: {message}")
    assert "name" in message.lower(), message
    assert browser.field("name", form).get_attribute("aria-invalid") == "true"

    # The key is in the page's list, and deleted by another operator before Create.
    browser.fill("name", "errors.example", within=form)
    browser.fill("externalMasters[0].tsigKeyId", "doomed-key", within=form)
    assert api("DELETE", "/tsigKeys/doomed-key").status == 204
    browser.click("Create", within=form)
    message = browser.field_error("externalMasters[0].tsigKeyId", within=form)
    print(f"unknown key: {message}")
    assert "doomed-key" in message or "no TSIG key" in message, message  # the page sends the key's id
    assert sorted(z["name"] for z in api("GET", "/zones").json) == before
    # The API's 400s are logged by Chromium as failed loads; nothing else went wrong.
    assert [p for p in browser.problems() if "Failed to load resource" not in p] == []


def test_alarms_and_topics_pages(proof):
    """The alarms and topics pages render the built-in alarms and the log topic (their screenshots)."""
    browser = proof.browser
    browser.click(browser.link("Alarms"))
    browser.reload()  # a fresh document: no notice left from the pages before
    browser.wait_text("#view", "zone-refresh-failing")
    browser.wait_for('#alarms-table tbody tr[data-name="zone-refresh-failing"]')
    browser.screenshot("alarms")
    browser.click(browser.link("Topics"))
    browser.reload()
    browser.wait_text("#view", "log")
    browser.screenshot("topics")
    assert browser.csp_violations() == []
