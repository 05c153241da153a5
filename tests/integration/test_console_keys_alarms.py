"""
The console's TSIG keys, Alarms and Topics pages in a real headless
Chromium, on the real appliance (C{twistd -n secdns}) with a token file:

  - a key made with a secret generated in the browser: the secret is shown
    once (with BIND and Knot snippets), never in the list, nor in the page
    after a reload, nor in any API answer; a config-declared key is
    read-only, saying which file declares it;
  - deleting a key a zone uses is refused with the API's message naming
    the zone;
  - an alarm made through the form, its query previewed as the fields
    change; a bad threshold is named beside its field; editing it sends
    the new query with If-Match;
  - a topic with a CUSTOM_HTTPS subscription to a local HTTP receiver gets
    the test notification, and the page says it was delivered.
"""

from __future__ import annotations

import base64
import re

import pytest

from tests.browser_support import TOKEN, Browser, ConsoleAppliance
from tests.receivers import HttpReceiver
from tests.support import LOOPBACK, free_port

CONFIG_SECRET = "Y29uZmlnLWRlY2xhcmVkIGtleTogcmVhZC1vbmx5IGhlcmU="
ZONE = "example.org"

EXTRA = f"""
[[tsig_key]]
name = "config-key"
secret = "{CONFIG_SECRET}"

[[zone]]
name = "{ZONE}"
type = "primary"
file = "{ZONE}.zone"
"""

ZONE_TEXT = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n"


@pytest.fixture(scope="module")
def console_appliance(tmp_path_factory):
    """The appliance with a config-declared key and zone (the browser fixture takes this one)."""
    with ConsoleAppliance(tmp_path_factory.mktemp("console-keys"), EXTRA, {f"{ZONE}.zone": ZONE_TEXT}) as appliance:
        yield appliance


@pytest.fixture(scope="module")
def browser(console_appliance, tmp_path_factory):
    """
    One headless Chromium for the module, signed in through the login form
    as an operator does (it waits for the form to show: putting the token in
    session storage could race the first page's refused probe, which clears it).
    """
    with Browser(tmp_path_factory.mktemp("chromium"), console_appliance.base) as chromium:
        chromium.login(TOKEN, via_form=True)
        yield chromium


def script_problems(browser) -> list[str]:
    """The browser's errors but the API's 4xx answers the tests ask for (a refused delete, a bad field)."""
    return [p for p in browser.problems() if not re.search(r"/20180115/.* status of 4\d\d ", p)]


def goto(browser, route: str) -> None:
    """Show C{route} afresh: a new hash renders it; the same hash again is a reload (the token is kept)."""
    if browser.driver.current_url.endswith("#/" + route):
        browser.reload()
    else:
        browser.open(route)


def module_call(browser, module: str, expression: str):
    """C{expression} as JSON, with C{m} the console's module C{module} (its pure functions), run in the page."""
    # The expression is part of WebDriver's script (the CSP forbids the page's eval, not the driver's).
    return browser.driver.execute_async_script(
        "const done = arguments[1];"
        f"import(arguments[0]).then((m) => done(JSON.stringify({expression})), (e) => done(String(e)));",
        f"{browser.base}/console/js/{module}",
    )


def test_key_made_with_a_generated_secret_is_shown_once(browser, console_appliance):
    """Generate, create: the secret shows once with snippets; the list, the reloaded page and the API never hold it."""
    goto(browser, "keys")
    form = browser.wait_for("#key-form")
    config_row = browser.wait_for('#keys-table tr[data-name="config-key"]')
    assert f"declared in {console_appliance.config}" in config_row.text
    assert not browser.find_all("button", config_row), "a config-declared key has no Delete button"
    browser.screenshot("keys-declared")

    browser.fill("name", "console-key", within=form)
    browser.fill("algorithm", "hmac-sha256", within=form)
    browser.click("Generate", within=form)
    browser.submit(form)

    dialog = browser.wait_visible("#secret-dialog")
    secret = browser.find("#secret-value").get_attribute("value")
    assert len(base64.b64decode(secret, validate=True)) == 32
    assert "only time the secret is shown" in dialog.text
    bind = browser.find("#secret-bind").get_attribute("value")
    knot = browser.find("#secret-knot").get_attribute("value")
    assert bind == f'key "console-key" {{\n    algorithm hmac-sha256;\n    secret "{secret}";\n}};\n'
    assert knot == f"key:\n  - id: console-key\n    algorithm: hmac-sha256\n    secret: {secret}\n"
    browser.click("Copy secret", within=dialog)
    browser.wait_text("#notice", re.compile("Copied|selected"))
    browser.screenshot("key-created")
    assert browser.find('[name="secret"]', form).get_attribute("value") == "", "the form forgets the secret"

    browser.click("I have copied it: close")
    browser.wait_gone("#secret-dialog")
    row = browser.wait_for('#keys-table tr[data-name="console-key"]')
    assert "hmac-sha256" in row.text and "API" in row.text
    assert secret not in browser.driver.page_source
    held = "return [...document.querySelectorAll('input, textarea')].some((e) => e.value.includes(arguments[0]))"
    assert not browser.driver.execute_script(held, secret), "no field holds the secret once the dialog is closed"
    browser.reload()
    browser.wait_for('#keys-table tr[data-name="console-key"]')
    assert secret not in browser.driver.page_source
    listed = console_appliance.api("GET", "/tsigKeys")
    assert listed.status == 200 and secret.encode() not in listed.raw
    assert "console-key" in [k["name"] for k in listed.json]
    assert not script_problems(browser)


def test_key_with_a_pasted_secret_by_keyboard(browser, console_appliance):
    """A pasted hmac-sha512 secret: the dialog shows that secret, has the focus, and Escape closes it."""
    from selenium.webdriver.common.keys import Keys

    pasted = base64.b64encode(bytes(range(64))).decode()
    goto(browser, "keys")
    form = browser.wait_for("#key-form")
    browser.fill("name", "pasted-key", within=form)
    browser.fill("algorithm", "hmac-sha512", within=form)
    browser.fill("secret", pasted, within=form).send_keys(Keys.ENTER)
    browser.wait_visible("#secret-dialog")
    assert browser.find("#secret-value").get_attribute("value") == pasted
    assert "algorithm hmac-sha512;" in browser.find("#secret-bind").get_attribute("value")
    assert browser.driver.switch_to.active_element.get_attribute("id") == "secret-done"
    browser.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    browser.wait_gone("#secret-dialog")
    row = browser.wait_for('#keys-table tr[data-name="pasted-key"]')
    assert "hmac-sha512" in row.text
    assert pasted.encode() not in console_appliance.api("GET", "/tsigKeys/pasted-key").raw


def test_secret_sizes_and_snippets_are_pure_functions(browser):
    """keys.js generates each algorithm's output size of random bytes, base64."""
    goto(browser, "keys")
    browser.wait_for("#key-form")
    sizes = module_call(browser, "keys.js", "['hmac-md5', 'hmac-sha1', 'hmac-sha512'].map((a) => atob(m.generateSecret(a)).length)")
    assert sizes == "[16,20,64]"
    assert module_call(browser, "keys.js", "m.generateSecret('hmac-sha256') !== m.generateSecret('hmac-sha256')") == "true"


def test_deleting_a_key_in_use_names_the_zone(browser, console_appliance):
    """A key a zone's downstream names: Delete is refused with the API's message naming the zone; once unused, it goes."""
    api = console_appliance.api
    assert api("POST", "/tsigKeys", {"name": "busy-key", "secret": base64.b64encode(b"k" * 32).decode()}).status == 201
    created = api("POST", "/zones", {"name": "uses-key.example", "zoneType": "PRIMARY",
                                     "externalDownstreams": [{"address": LOOPBACK, "port": free_port(), "tsigKeyId": "busy-key"}]})
    assert created.status == 201, created.raw
    goto(browser, "keys")
    row = browser.wait_for('#keys-table tr[data-name="busy-key"]')
    assert "uses-key.example" in row.text
    browser.click("Delete", within=row)
    browser.click(browser.wait_visible("dialog.confirm button[value=confirm]"))
    message = browser.wait_text("#keys-message", "uses-key.example")
    assert "busy-key" in message.text or "in use" in message.text.lower() or "uses" in message.text.lower()
    browser.screenshot("key-in-use")
    assert api("GET", "/tsigKeys/busy-key").status == 200

    assert api("DELETE", "/zones/uses-key.example").status in (200, 202, 204)
    goto(browser, "keys")
    row = browser.wait_for('#keys-table tr[data-name="busy-key"]')
    assert "none" in row.text
    browser.click("Delete", within=row)
    browser.click(browser.wait_visible("dialog.confirm button[value=confirm]"))
    browser.wait_gone('#keys-table tr[data-name="busy-key"]')
    assert api("GET", "/tsigKeys/busy-key").status == 404


def test_alarm_form_previews_its_query_and_names_a_bad_threshold(browser, console_appliance):
    """Fields -> the query text, live; a bad threshold beside its field; created; edited with If-Match."""
    api = console_appliance.api
    goto(browser, "alarms/new")
    form = browser.wait_for("#alarm-form")
    preview = browser.find("#alarm-query-preview")
    assert preview.text == "ZoneTransferFailureCount[1h].sum() > 3"
    browser.fill("displayName", "console-transfers", within=form)
    browser.fill("metric", "ZoneTransferFailureCount", within=form)
    browser.fill("interval", "5m", within=form)
    browser.fill("statistic", "sum()", within=form)
    browser.fill("operator", ">", within=form)
    browser.choose("zoneScope", "one", within=form)
    browser.fill("zone", "Example.ORG.", within=form)
    browser.fill("threshold", "2x", within=form)
    browser.wait_text("#alarm-query-preview", 'ZoneTransferFailureCount[5m]{resourceName = "example.org"}.sum() > 2x')
    browser.submit(form)
    assert "threshold must be a number" in browser.field_error("threshold", within=form)
    assert api("GET", "/alarms/console-transfers").status == 404, "nothing is sent while a field is wrong"
    browser.screenshot("alarm-new")

    browser.fill("threshold", "2", within=form)
    browser.wait_text("#alarm-query-preview", 'ZoneTransferFailureCount[5m]{resourceName = "example.org"}.sum() > 2')
    browser.fill("severity", "WARNING", within=form)
    browser.fill("body", "Is the primary up?", within=form)
    browser.submit(form)
    browser.wait_for("#alarm-states")
    alarm = api("GET", "/alarms/console-transfers").json
    assert alarm["query"] == 'ZoneTransferFailureCount[5m]{resourceName = "example.org"}.sum() > 2'
    assert alarm["severity"] == "WARNING" and alarm["body"] == "Is the primary up?" and alarm["isEnabled"] is True
    assert browser.driver.current_url.endswith("#/alarms/" + alarm["id"])
    browser.wait_for(f'#alarm-zones-table tr[data-name="{ZONE}"]')

    # Edit: the form reads the query back; the save is a PUT with If-Match.
    form = browser.wait_for("#alarm-form")
    assert browser.field("zone", form).get_attribute("value") == ZONE
    assert browser.field("threshold", form).get_attribute("value") == "2"
    browser.fill("threshold", "4", within=form)
    browser.fill("interval", "1h", within=form)
    browser.submit(form)
    browser.wait_text("#notice", "saved")
    assert api("GET", "/alarms/console-transfers").json["query"] == 'ZoneTransferFailureCount[1h]{resourceName = "example.org"}.sum() > 4'
    browser.screenshot("alarm")

    # The list: its state, the built-in alarms read-only.
    goto(browser, "alarms")
    row = browser.wait_for('#alarms-table tr[data-name="console-transfers"]')
    assert "OK" in row.text and "WARNING" in row.text
    browser.wait_for('#alarms-table tr[data-name="zone-refresh-failing"]')
    browser.screenshot("alarms-state")
    goto(browser, "alarms/zone-refresh-failing")
    browser.wait_text("#alarm-declared", "built-in")
    assert not browser.field("threshold").is_enabled()
    assert not script_problems(browser)


def test_alarm_query_as_text(browser, console_appliance):
    """Edit the query as text, back to the form; a query the form cannot express stays text and is sent as written."""
    api = console_appliance.api
    goto(browser, "alarms/new")
    form = browser.wait_for("#alarm-form")
    browser.fill("displayName", "console-expiry", within=form)
    browser.click("Edit the query as text", within=form)
    raw = browser.wait_visible("#alarm-query-raw")
    assert raw.get_attribute("value") == "ZoneTransferFailureCount[1h].sum() > 3"
    browser.fill("query", 'ZoneExpirationInHours[5m]{resourceName =~ "*.example.org"}.min() <= 24', within=form)
    browser.click("Use the form", within=form)
    browser.wait_text("#alarm-query-preview", 'ZoneExpirationInHours[5m]{resourceName =~ "*.example.org"}.min() <= 24')
    assert browser.field("statistic", form).get_attribute("value") == "min"
    assert browser.field("zone", form).get_attribute("value") == "*.example.org"

    # A dimension the form has no field for: it stays text, and the API's word on it shows beside it.
    browser.click("Edit the query as text", within=form)
    browser.fill("query", 'ZoneSerial[5m]{region = "x"}.max() > 1', within=form)
    browser.click("Use the form", within=form)
    assert "cannot express" in browser.field_error("query", within=form)
    browser.submit(form)
    assert "resourceName" in browser.field_error("query", within=form)
    assert api("GET", "/alarms/console-expiry").status == 404
    browser.fill("query", "ZoneSerial[5m].max() > 1", within=form)
    browser.submit(form)
    browser.wait_for("#alarm-states")
    assert api("GET", "/alarms/console-expiry").json["query"] == "ZoneSerial[5m].max() > 1"
    assert not script_problems(browser)


def test_built_in_topic_is_read_only(browser):
    """The built-in topic log: its subscriptions listed, no form to add one, no Delete."""
    goto(browser, "topics/log")
    browser.wait_text("#topic-declared", "built-in")
    browser.wait_for("#subscriptions-table")
    assert not browser.find_all("#subscription-form")
    assert not [b for b in browser.find_all("#subscriptions-table button") if b.text == "Delete"]


def test_alarm_query_round_trip(browser):
    """alarm_query.js writes what secdns/alarms/query.py reads, and reads back what it writes; else: edit as text."""
    goto(browser, "alarms")
    browser.wait_for("#alarms-table")
    for query in ('ZoneExpirationInHours[5m]{resourceName =~ "*.example.com"}.min() <= 24',
                  "ZoneTransferSuccessCount[1d].count() == 0",
                  "MasterUp[10m].mean() < 0.5"):
        assert module_call(browser, "alarm_query.js", f"m.queryText(m.parseQuery({query!r}))") == f'"{query.replace(chr(34), chr(92) + chr(34))}"'
    assert module_call(browser, "alarm_query.js", "m.parseQuery('Unknown[1m].sum() > 1')") == "null"
    assert module_call(browser, "alarm_query.js", "m.parseQuery('ZoneSerial[30s].max() > 1')") == "null"


def test_topic_with_a_webhook_gets_the_test_notification(browser, console_appliance):
    """Create a topic, subscribe a local HTTP receiver (CUSTOM_HTTPS), send a test: delivered; delete the subscription."""
    receiver = HttpReceiver().start()
    try:
        goto(browser, "topics")
        form = browser.wait_for("#topic-form")
        browser.wait_for('#topics-table tr[data-name="log"]')
        browser.fill("name", "console-team", within=form)
        browser.fill("description", "the console's test topic", within=form)
        browser.submit(form)
        form = browser.wait_for("#subscription-form")
        browser.fill("protocol", "CUSTOM_HTTPS", within=form)
        browser.fill("endpoint", f"{receiver.url}/hook/console", within=form)
        browser.submit(form)
        browser.wait_for("#subscriptions-table tbody tr:not(.empty)")
        assert "CUSTOM_HTTPS" in browser.text("#subscriptions-table")
        browser.click("Send test notification")
        result = browser.wait_text("#test-results", "delivered")
        assert browser.find_all('#test-results li[data-delivered="true"]'), result.text
        assert receiver.bodies(), "the receiver got the test message"
        browser.screenshot("topic")

        # A subscription the API refuses: its message beside the endpoint.
        browser.fill("protocol", "EMAIL", within=form)
        browser.fill("endpoint", "not an address", within=form)
        browser.submit(form)
        browser.wait_for("#subscription-form .field-error")

        row = browser.wait_for("#subscriptions-table tbody tr:not(.empty)")
        browser.click("Delete", within=row)
        browser.click(browser.wait_visible("dialog.confirm button[value=confirm]"))
        browser.wait_for("#subscriptions-table tr.empty")
        topic = console_appliance.api("GET", "/topics/console-team").json
        assert topic["subscriptions"] == []
        assert not script_problems(browser)
    finally:
        receiver.stop()


def test_pages_fit_at_200_percent_zoom_in_the_dark(browser):
    """At 200% zoom (640 CSS pixels wide) and prefers-color-scheme: dark, no page scrolls sideways."""
    driver = browser.driver
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 640, "height": 450, "deviceScaleFactor": 2, "mobile": False})
    try:
        for route, ready in (("keys", "#keys-table"), ("alarms", "#alarms-table"), ("alarms/new", "#alarm-form"),
                             ("alarms/zone-expiring", "#alarm-zones-table"), ("topics", "#topics-table"),
                             ("topics/log", "#subscriptions-table")):
            goto(browser, route)
            browser.wait_for(ready)
            assert driver.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches")
            wide, window = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
            assert wide <= window, f"#/{route} is {wide} px wide in a {window} px window"
        browser.screenshot("topic-zoomed-dark")
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    assert not script_problems(browser)


def test_alarm_made_in_the_console_fires_to_its_topic(browser, console_appliance):
    """
    An alarm made with the form on the config zone's serial, sent to a topic
    with a webhook: FIRING on its page, its notification among the topic's
    recent ones and at the receiver; deleted from its page.
    """
    api = console_appliance.api
    receiver = HttpReceiver().start()
    try:
        topic = api("POST", "/topics", {"name": "fire-team", "description": "fired by the console test"}).json
        assert api("POST", f"/topics/{topic['topicId']}/subscriptions",
                   {"protocol": "CUSTOM_HTTPS", "endpoint": f"{receiver.url}/fire"}).status == 201
        goto(browser, "alarms/new")
        form = browser.wait_for("#alarm-form")
        browser.fill("displayName", "serial-watch", within=form)
        browser.fill("metric", "ZoneSerial", within=form)
        browser.fill("interval", "1m", within=form)
        browser.fill("statistic", "max()", within=form)
        browser.fill("operator", ">", within=form)
        browser.fill("threshold", "0", within=form)
        browser.choose("zoneScope", "one", within=form)
        browser.fill("zone", ZONE, within=form)
        browser.click(browser.find(f'input[name="destinations"][value="{topic["topicId"]}"]', form))
        browser.wait_text("#alarm-query-preview", f'ZoneSerial[1m]{{resourceName = "{ZONE}"}}.max() > 0')
        browser.submit(form)
        row = browser.wait_for(f'#alarm-zones-table tr[data-name="{ZONE}"]')
        browser.until(lambda d: browser.find_all(f'#alarm-zones-table tr[data-name="{ZONE}"] [data-state="FIRING"]'),
                      timeout=40, what="the zone's state to be FIRING")
        assert api("GET", "/alarms/serial-watch").json["destinations"] == [topic["topicId"]]

        goto(browser, f"topics/{topic['topicId']}")
        browser.wait_text("#notifications-table", "serial-watch")
        assert ZONE in browser.text("#notifications-table") and "FIRING" in browser.text("#notifications-table")
        browser.until(lambda d: receiver.bodies("/fire"), what="the webhook's notification")

        goto(browser, "alarms/serial-watch")
        browser.click(browser.wait_visible("#alarm-delete"))
        browser.click(browser.wait_visible("dialog.confirm button[value=confirm]"))
        browser.wait_for('#alarms-table')
        browser.wait_gone('#alarms-table tr[data-name="serial-watch"]')
        assert api("GET", "/alarms/serial-watch").status == 404
        assert not script_problems(browser)
    finally:
        receiver.stop()
