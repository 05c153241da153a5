"""
The console's zone page (#/zones/<name>) in a real headless Chromium, on
the real appliance (C{twistd -n secdns}) with a token file:

  - a secondary of a real BIND primary shows its status in words (serving,
    serial, its master reachable with its TSIG key), the transfer among its
    events and in the chart (one success in 24 h); Retransfer shows its
    outcome; a new version on BIND shows up (serial, event, records); with
    BIND stopped, Refresh turns it to failing with the reason;
  - a dynamic primary's records are added, changed and removed through the
    page, each save one new version (the serial up by one), and bad RDATA
    is refused with the API's message beside the Data field;
    a change made stale by another edit is refused (If-Match) and the
    records read again; a zone larger than one API page is read page after page;
  - a config-declared zone is read-only, saying which file declares it;
  - Delete asks first, then the zone is gone and the page is the zones list;
  - chart.js's pure model: bars where transfers were, gaps where nothing
    was observed, the sentence that sums it up.
"""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By

from tests.browser_support import TOKEN, Browser, ConsoleAppliance
from tests.peers import Bind, PeerZone, TsigKey
from tests.support import LOOPBACK, free_port

SECRET = "em9uZSBwYWdlIGtleTogc2VlbiBvbmx5IGFzIGl0cyBuYW1l"
KEY = TsigKey("zone-page-key", SECRET)
DECLARED = "example.org"
DECLARED_TEXT = "$TTL 300\n@ SOA ns1 hostmaster 7 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n"
EXTRA = f"""
[[zone]]
name = "{DECLARED}"
type = "primary"
file = "{DECLARED}.zone"
"""


def bind_zone(serial: int) -> str:
    return "\n".join(["$TTL 300", f"@ SOA ns1 hostmaster {serial} 3600 600 86400 60", "@ NS ns1",
                      "ns1 A 192.0.2.1", "www A 198.51.100.80", ""])


@pytest.fixture(scope="module")
def console_appliance(tmp_path_factory):
    with ConsoleAppliance(tmp_path_factory.mktemp("console-zone"), EXTRA, {f"{DECLARED}.zone": DECLARED_TEXT}) as appliance:
        yield appliance


@pytest.fixture(scope="module")
def browser(console_appliance, tmp_path_factory):
    with Browser(tmp_path_factory.mktemp("chromium"), console_appliance.base) as chromium:
        chromium.login(TOKEN, via_form=True)
        yield chromium
        assert chromium.csp_violations() == []
        # The failed loads are the PATCHes refused on purpose: bad RDATA (400), a stale If-Match (412).
        expected = re.compile(r"/zones/example\.net/records - .* status of (400|412)")
        assert [p for p in chromium.problems() if not expected.search(p)] == []


def status_value(browser: Browser, field: str) -> str:
    return browser.find(f'.status-list [data-field="{field}"]').text


def serial_shown(browser: Browser, serial: int) -> None:
    browser.wait_text('.status-list [data-field="serial"]', str(serial))


def row(browser: Browser, table: str, *texts: str):
    """The row of C{table} holding every one of C{texts}, once there is one."""
    def found(driver):
        for tr in driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr"):
            if all(t in tr.text for t in texts):
                return tr
        return None
    return browser.until(found, what=f"a row of {table} with {texts}")


def test_secondary_of_bind(console_appliance, browser, tmp_path):
    """Status, master, events and the chart of a secondary of BIND; Retransfer; BIND stopped: failing, with the reason."""
    api = console_appliance.api
    zone_file = tmp_path / "example.com.zone"
    zone_file.write_text(bind_zone(5))
    bind = Bind(tmp_path, free_port(), keys=[KEY], zones=[
        PeerZone("example.com", file=zone_file, downstreams=((LOOPBACK, console_appliance.port),), key=KEY.name),
    ])
    with bind:
        key = api("POST", "/tsigKeys", {"name": KEY.name, "algorithm": "hmac-sha256", "secret": SECRET})
        assert key.status == 201, key.raw
        created = api("POST", "/zones", {"name": "example.com", "zoneType": "SECONDARY", "externalMasters": [
            {"address": LOOPBACK, "port": bind.port, "tsigKeyId": key.json["id"]}]})
        assert created.status == 201, created.raw

        browser.open("#/zones/example.com")
        browser.wait_text(".zone-head", "example.com")
        browser.wait_for('.zone-head .badge[data-health="serving"]')
        serial_shown(browser, 5)
        assert status_value(browser, "records") == "4"
        master = row(browser, "masters-table", f"{LOOPBACK}#{bind.port}")
        assert "zone-page-key" in master.text and "yes" in master.text
        transfer = row(browser, "events-table", "Transfer", "AXFR")
        assert "serial none \u2192 5" in transfer.text and "4 records" in transfer.text
        browser.wait_text('.chart-summary[data-kind="transfers"]', "1 transfer, 0 failures in 24 h")
        browser.wait_text('.chart-summary[data-kind="expiry"]', "h to expiry now")
        chart = browser.find("svg.chart-transfers")
        assert chart.get_attribute("role") == "img"
        assert browser.find_all("svg.chart-transfers rect.chart-ok")
        assert "1 transfer, 0 failures" in browser.find("svg.chart-transfers desc").get_attribute("textContent")
        assert SECRET not in browser.driver.page_source

        browser.click("Retransfer")
        browser.wait_text("#notice", "asked to retransfer")
        browser.wait_text('.chart-summary[data-kind="transfers"]', "2 transfers, 0 failures in 24 h", timeout=15)
        assert len([tr for tr in browser.find_all("#events-table tbody tr") if "AXFR" in tr.text]) == 2
        browser.driver.execute_script("document.getElementById('zone-charts').scrollIntoView()")
        browser.screenshot("zone-charts")

        # A new version on BIND, NOTIFYed: the page follows (serial, event, records).
        zone_file.write_text(bind_zone(6) + "ftp A 198.51.100.21\n")
        bind.reload()
        serial_shown(browser, 6)
        row(browser, "events-table", "Transfer", "serial 5 \u2192 6")
        row(browser, "records-table", "ftp.example.com", "198.51.100.21")

    # BIND is gone: a refresh fails, and the page says so.
    browser.click("Refresh")
    browser.wait_for('.zone-head .badge[data-health="failing"]', timeout=15)
    failed = row(browser, "events-table", "Transfer failed")
    assert f"{LOOPBACK}#{bind.port}" in failed.text
    assert "no" in row(browser, "masters-table", f"{LOOPBACK}#{bind.port}").text
    browser.wait_text(".status-list", "Last failure")
    browser.wait_text('.chart-summary[data-kind="transfers"]', re.compile(r"3 transfers, [1-9]\d* failures? in 24 h"), timeout=15)


def test_primary_records_edited(console_appliance, browser):
    """Add, change, remove: each one PATCH, one version (serial + 1); bad RDATA named beside the Data field."""
    api = console_appliance.api
    assert api("POST", "/zones", {"name": "example.net"}).status == 201
    serial = api("GET", "/zones/example.net").json["serial"]

    browser.open("#/zones/example.net")
    serial_shown(browser, serial)
    add = browser.wait_visible("#record-add-form")
    browser.fill("domain", "www", within=add)
    browser.fill("rtype", "A", within=add)
    browser.fill("ttl", "300", within=add)
    browser.fill("rdata", "192.0.2.10", within=add)
    browser.submit(add)
    row(browser, "records-table", "www.example.net", "192.0.2.10")
    serial_shown(browser, serial + 1)
    browser.wait_text("#notice", f"serial {serial} \u2192 {serial + 1}")

    # Bad data: the API's message beside the Data input; nothing changes.
    browser.fill("rdata", "not-an-address", within=add)
    browser.submit(add)
    message = browser.field_error("rdata", within=add)
    print(f"bad rdata: {message}")
    assert "rdata" in message.lower() or "not-an-address" in message
    assert browser.field("rdata", within=add).get_attribute("aria-invalid") == "true"
    assert api("GET", "/zones/example.net").json["serial"] == serial + 1
    browser.driver.execute_script("document.getElementById('zone-records').scrollIntoView()")
    browser.screenshot("zone-records")

    # Change: TTL and data in one PATCH (REMOVE old + ADD new).  While the
    # form is open another edit comes in through the API: the save is refused
    # (If-Match: the version the operator saw), the records are read again,
    # and saving once more goes through.
    browser.click(browser.find('button[data-action="edit"]', within=row(browser, "records-table", "192.0.2.10")))
    edit = browser.wait_visible("#record-edit-form")
    other = api("PATCH", "/zones/example.net/records", {"items": [
        {"operation": "ADD", "domain": "mail.example.net", "rtype": "A", "rdata": "192.0.2.25", "ttl": 300}]})
    assert other.status == 200, other.raw
    browser.fill("ttl", "600", within=edit)
    browser.fill("rdata", "192.0.2.11", within=edit)
    browser.submit(edit)
    browser.wait_text("#notice", "changed since its records were read")
    row(browser, "records-table", "mail.example.net", "192.0.2.25")
    row(browser, "records-table", "www.example.net", "192.0.2.10")
    serial_shown(browser, serial + 2)
    browser.submit(edit)
    changed = row(browser, "records-table", "www.example.net", "192.0.2.11")
    assert "600" in changed.text
    serial_shown(browser, serial + 3)
    www = [r for r in api("GET", "/zones/example.net/records").json["items"] if r["domain"] == "www.example.net"]
    assert [(r["rdata"], r["ttl"]) for r in www] == [("192.0.2.11", 600)]
    serial += 1  # the API's edit

    # Remove, after saying yes.
    browser.click(browser.find('button[data-action="remove"]', within=changed))
    browser.click(browser.button("Remove record", within=browser.wait_visible("dialog.confirm")))
    browser.until(lambda d: not any("www.example.net" in tr.text for tr in d.find_elements(By.CSS_SELECTOR, "#records-table tbody tr")),
                  what="the record gone from the table")
    serial_shown(browser, serial + 3)
    assert not [r for r in api("GET", "/zones/example.net/records").json["items"] if r["domain"] == "www.example.net"]
    edited = [e for e in api("GET", "/events?zone=example.net").json if e["type"] == "ZoneEdited"]
    assert [e["serial"] for e in edited] == [serial, serial + 1, serial + 2, serial + 3]
    assert browser.driver.switch_to.active_element.get_attribute("name") == "filter"


def test_records_read_page_after_page(browser, console_appliance):
    """A zone of more records than one page holds (1000): every page read (opc-next-page), the filter narrows them."""
    api = console_appliance.api
    assert api("POST", "/zones", {"name": "big.test"}).status == 201
    items = [{"operation": "ADD", "domain": f"h{i}.big.test", "rtype": "A", "rdata": f"10.0.{i // 256}.{i % 256}", "ttl": 60}
             for i in range(1500)]
    assert api("PATCH", "/zones/big.test/records", {"items": items}).status == 200
    first = api("GET", "/zones/big.test/records?limit=1000")
    assert first.headers.get("opc-next-page"), "the API pages at 1000: this test wants a second page"
    browser.open("#/zones/big.test")
    browser.wait_text(".records-count", "1502 records")
    assert len(browser.find_all("#records-table tbody tr")) == 1502
    browser.fill("filter", "h1499.")
    browser.wait_text(".records-count", "1 of 1502 records")
    row(browser, "records-table", "h1499.big.test", "10.0.5.219")


def test_config_declared_zone_is_read_only(browser, console_appliance):
    browser.open(f"#/zones/{DECLARED}")
    serial_shown(browser, 7)
    declared = browser.wait_visible(".declared")
    assert str(console_appliance.config) in declared.text
    assert not browser.find_all('button[data-action="delete"]')
    assert not browser.find_all("#record-add-form")
    row(browser, "records-table", f"ns1.{DECLARED}", "192.0.2.1")
    assert not browser.find_all('#records-table button[data-action="edit"]')


def test_delete_asks_then_goes_back_to_the_zones(browser, console_appliance):
    api = console_appliance.api
    assert api("POST", "/zones", {"name": "gone.test"}).status == 201
    browser.open("#/zones/gone.test")
    browser.wait_text(".zone-head", "gone.test")
    browser.click("Delete zone")
    dialog = browser.wait_visible("dialog.confirm")
    assert "gone.test" in dialog.text
    browser.click(browser.button("Cancel", within=dialog))
    browser.wait_gone("dialog.confirm")
    assert api("GET", "/zones/gone.test").status == 200
    browser.click("Delete zone")
    browser.click(browser.button("Delete gone.test", within=browser.wait_visible("dialog.confirm")))
    browser.until(lambda d: d.current_url.endswith("#/zones"), what="the zones list")
    browser.wait_text("#notice", "gone.test deleted")
    assert api("GET", "/zones/gone.test").status == 404


def test_chart_model(browser):
    """chart.js's pure model, run in the browser: bars only where transfers were, gaps where nothing was observed, the summary."""
    result = browser.driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        import("./js/chart.js").then((chart) => {
          const none = null;
          const history = {zone: "example.com", start: "2026-12-03T00:00:00Z", step: 60, metrics: {
            ZoneTransferSuccessCount: [none, none, 0, 2, 0, 1],
            ZoneTransferFailureCount: [none, none, 1, 0, 0, 0],
            ZoneExpirationInHours: [none, none, 10, 9.7, none, 9.5],
          }};
          const bars = chart.transferModel(history);
          const line = chart.expiryModel(history);
          const svg = chart.draw(bars);
          done({
            summary: bars.summary, gaps: bars.gaps.length, rects: bars.rects.map((r) => r.cls),
            lineSummary: line.summary, paths: line.paths.length, dots: line.dots.length, lineGaps: line.gaps.length,
            title: svg.querySelector("title").textContent, labelled: svg.getAttribute("aria-labelledby"),
            runs: chart.gaps([null, 1, null, null, 2, null]),
          });
        }, (e) => done({error: String(e)}));
        """
    )
    assert "error" not in result, result
    assert result["summary"] == "3 transfers, 1 failure in 6 min"
    assert result["rects"] == ["chart-fail", "chart-ok", "chart-ok"]
    assert result["gaps"] == 1  # the first two minutes
    assert result["lineSummary"] == "9.5 h to expiry now, lowest 9.5 h in 6 min"
    assert (result["paths"], result["dots"], result["lineGaps"]) == (1, 1, 2)  # a line over minutes 2-3, a dot at 5
    assert result["title"] == "Transfers per minute" and len(result["labelled"].split()) == 2
    assert result["runs"] == [[0, 1], [2, 2], [5, 1]]
