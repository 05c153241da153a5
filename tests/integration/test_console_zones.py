"""
The console's Zones and Create zone pages in a real headless Chromium on
the real appliance (token file, a config-declared zone beside zones made
through the API): filtering by name and health, sorting by any column
(aria-sort), the 5 s refresh that updates rows in place keeping the
filter and the keyboard focus, the config zone's "declared in" note, the
Create zone form's rows and panels, a 360-pixel-wide window, and routes
with no page.  The seed's end-to-end flow with BIND and Knot is
tests/integration/test_console_e2e.py.
"""

from __future__ import annotations

import pytest

from tests.browser_support import TOKEN, Browser, ConsoleAppliance

CONFIG_ZONE = "declared.example"
ZONE_FILE = "\n".join([
    f"$ORIGIN {CONFIG_ZONE}.", "$TTL 300", "@ SOA ns1 hostmaster 2026120301 3600 600 86400 60", "@ NS ns1", "ns1 A 192.0.2.1", "",
])
EXTRA = f"""
[[zone]]
name = "{CONFIG_ZONE}"
type = "primary"
file = "declared.zone"
"""


@pytest.fixture(scope="module")
def appliance(tmp_path_factory):
    with ConsoleAppliance(tmp_path_factory.mktemp("console-zones"), EXTRA, {"declared.zone": ZONE_FILE}) as made:
        for name in ("alpha.example", "beta.example"):
            assert made.api("POST", "/zones", {"name": name, "zoneType": "PRIMARY"}).status == 201
        # a secondary whose master never answers: failing, with its reason
        answer = made.api("POST", "/zones", {"name": "gamma.example", "zoneType": "SECONDARY",
                                             "externalMasters": [{"address": "127.0.0.1", "port": 9}]})
        assert answer.status == 201, answer
        yield made


@pytest.fixture(scope="module")
def browser(appliance, tmp_path_factory):
    with Browser(tmp_path_factory.mktemp("chromium-zones"), appliance.base) as chromium:
        chromium.login(TOKEN, via_form=False)
        yield chromium


def names(browser) -> list[str]:
    return [row.get_attribute("data-name") for row in browser.find_all("#zones-table tbody tr[data-name]")]


def test_every_zone_has_a_row_with_its_health_in_words(browser):
    browser.open("zones")
    for name in ("alpha.example", "beta.example", "gamma.example", CONFIG_ZONE):
        browser.wait_for(f'#zones-table tr[data-name="{name}"]')
    serving = browser.wait_for('#zones-table tr[data-name="alpha.example"] [data-health="serving"]')
    assert serving.text.strip().endswith("serving")
    failing = browser.wait_for('#zones-table tr[data-name="gamma.example"] [data-health="failing"]', timeout=20)
    assert failing.text.strip().endswith("failing")
    row = browser.wait_text('#zones-table tr[data-name="gamma.example"]', "127.0.0.1")
    assert "Secondary" in row.text
    declared = browser.find(f'#zones-table tr[data-name="{CONFIG_ZONE}"]')
    assert "declared in" in declared.text and "read-only" in declared.text
    link = browser.find(f'#zones-table tr[data-name="{CONFIG_ZONE}"] a')
    assert link.get_attribute("href").endswith(f"#/zones/{CONFIG_ZONE}")
    assert browser.csp_violations() == []


def test_filter_by_name_and_by_health(browser):
    browser.open("zones")
    browser.wait_for('#zones-table tr[data-name="beta.example"]')
    browser.fill("nameContains", "ALPHA")
    browser.until(lambda d: names(browser) == ["alpha.example"], what="only alpha.example")
    browser.fill("nameContains", "")
    browser.driver.execute_script("document.querySelector('[name=nameContains]').dispatchEvent(new Event('input'))")
    browser.fill("health", "failing")
    browser.until(lambda d: names(browser) == ["gamma.example"], what="only the failing zone")
    browser.fill("health", "Any health")
    browser.until(lambda d: len(names(browser)) == 4, what="every zone again")


def test_sort_by_clicking_a_header(browser):
    browser.open("zones")
    browser.wait_for('#zones-table tr[data-name="gamma.example"]')
    name_header = browser.find('#zones-table th:has(button[data-key="name"])')
    assert name_header.get_attribute("aria-sort") == "ascending"
    assert names(browser) == sorted(names(browser))
    browser.click(browser.find('#zones-table button[data-key="name"]'))
    browser.until(lambda d: name_header.get_attribute("aria-sort") == "descending", what="descending")
    assert names(browser) == sorted(names(browser), reverse=True)
    browser.click(browser.find('#zones-table button[data-key="zoneType"]'))
    type_header = browser.find('#zones-table th:has(button[data-key="zoneType"])')
    browser.until(lambda d: type_header.get_attribute("aria-sort") == "ascending", what="sorted by type")
    assert name_header.get_attribute("aria-sort") == "none"
    assert names(browser)[-1] == "gamma.example"  # Primary < Secondary
    browser.click(browser.find('#zones-table button[data-key="name"]'))  # back to the name, for the others


def test_refresh_updates_rows_in_place_keeping_filter_and_focus(browser, appliance):
    browser.open("zones")
    browser.wait_for('#zones-table tr[data-name="alpha.example"]')
    browser.fill("nameContains", "example")
    field = browser.field("nameContains")
    field.click()
    marker = browser.driver.execute_script("const t = document.getElementById('zones-table'); t.dataset.marker = 'kept'; return t.dataset.marker")
    assert appliance.api("POST", "/zones", {"name": "delta.example", "zoneType": "PRIMARY"}).status == 201
    browser.wait_for('#zones-table tr[data-name="delta.example"]', timeout=15)
    # the same table (no reload, no re-render), the filter kept, the focus still in the filter
    assert browser.driver.execute_script("return document.getElementById('zones-table').dataset.marker") == marker
    assert browser.field("nameContains").get_attribute("value") == "example"
    assert browser.driver.execute_script("return document.activeElement.name") == "nameContains"
    assert appliance.api("DELETE", "/zones/delta.example").status == 204
    browser.wait_gone('#zones-table tr[data-name="delta.example"]', timeout=15)


def test_focus_on_a_row_link_survives_a_refresh(browser):
    browser.open("zones")
    link = browser.wait_for('#zones-table tr[data-name="beta.example"] a')
    browser.driver.execute_script("arguments[0].focus()", link)
    before = browser.driver.execute_script("return document.activeElement")
    # two refreshes: the rows are rebuilt, the focus follows the row
    browser.until(lambda d: d.execute_script("return document.activeElement") != before, timeout=15, what="a refresh rebuilding the rows")
    browser.until(
        lambda d: d.execute_script("return document.activeElement.closest('tr')?.dataset.name") == "beta.example",
        timeout=3, what="the focus back on beta.example's link",
    )


def test_create_zone_form_rows_and_panels(browser):
    browser.open("create")
    form = browser.wait_for("#create-form")
    assert browser.find('input[name="method"][value="manual"]').is_selected()
    browser.choose("zoneType", "Primary", within=form)
    soa = browser.wait_visible("#create-soa-preview")
    browser.fill("name", "new.example", within=form)
    browser.until(lambda d: "ns1.new.example. hostmaster.new.example." in soa.text, what="the SOA preview")
    assert not browser.find("#externalMasters-fieldset").is_displayed()
    browser.click("Add downstream", within=form)
    assert browser.field("externalDownstreams[0].port").get_attribute("value") == "53"
    browser.choose("zoneType", "Secondary", within=form)
    assert not soa.is_displayed()
    assert browser.wait_visible("#zone-transfer-servers").text
    assert "Allow these addresses on your primary's ACL" in browser.text("main")
    browser.click("Add additional server IP", within=form)
    browser.click("Add additional server IP", within=form)
    browser.fill("externalMasters[2].address", "192.0.2.3", within=form)
    browser.click(browser.find('button[aria-label="Remove upstream server 2"]'))
    # the rows are renumbered: the third is now the second
    assert browser.field("externalMasters[1].address").get_attribute("value") == "192.0.2.3"
    assert browser.find_all('[name="externalMasters[2].address"]') == []
    assert browser.find("#externalMasters-fieldset button.remove").is_enabled()


def test_create_a_primary_goes_to_its_page_and_errors_stay_beside_fields(browser, appliance):
    browser.open("zones")
    browser.wait_for("#zones-table")
    browser.open("create")
    form = browser.wait_for("#create-form")
    browser.choose("zoneType", "Primary", within=form)
    browser.fill("name", "alpha.example", within=form)
    browser.click("Create", within=form)
    assert browser.field_error("name") == "zone alpha.example exists already"
    assert browser.field("name").get_attribute("aria-invalid") == "true"
    browser.fill("name", "made-here.example", within=form)
    browser.click("Create", within=form)
    browser.until(lambda d: d.current_url.endswith("#/zones/made-here.example"), what="the new zone's page")
    assert appliance.api("GET", "/zones/made-here.example").status == 200


def test_narrow_window_keeps_everything_within_the_width(browser):
    browser.driver.set_window_size(360, 800)
    try:
        for route, css in (("zones", '#zones-table tr[data-name="alpha.example"]'), ("create", "#create-form")):
            browser.open(route)
            browser.wait_visible(css)
            width = browser.driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], (route, width)
    finally:
        browser._fit_viewport()


def test_unknown_route_says_so(browser):
    browser.open("no-such-page")
    browser.wait_text("main h1", "No such page")
    browser.click(browser.link("Go to the zones"))
    browser.wait_for("#zones-table")
    assert browser.problems() == [] or all("status of 409" in p or "status of 400" in p for p in browser.problems())
