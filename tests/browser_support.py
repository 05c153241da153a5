"""
The console's browser tests: Debian's headless Chromium driven by Selenium
through Debian's chromedriver, nothing downloaded (Selenium Manager never
runs: both paths are given, and C{SE_OFFLINE} is set).

  - L{Browser}: one Chromium (headless, C{--no-sandbox} as root, a profile
    in the test's tmp dir, 1280x900), with bounded waits (L{Browser.wait_for},
    L{Browser.wait_text}), L{Browser.fill}, L{Browser.login}, the browser's
    console log (L{Browser.log}) and L{Browser.screenshot}.
  - L{ConsoleAppliance}: the real appliance (C{twistd -n secdns}) with a
    token file, its API client and the console's URL.
  - The module-scoped fixtures L{console_appliance} and L{browser} (a
    logged-in Chromium on it): a test module imports them, so one
    Chromium serves all of a module's tests.

A missing chromium or chromedriver fails the test in CI and skips it
elsewhere (L{tests.support.require}); C{make peers} installs them.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.api_client import ApiClient
from tests.support import ROOT, Secdns, free_port, in_ci, require, wait_until

__all__ = [
    "CHROMIUM", "CHROMEDRIVER", "TOKEN", "SCREENSHOTS", "Browser", "ConsoleAppliance",
    "browser", "console_appliance", "screenshots_wanted",
]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = (1280, 900)
#: Where C{SECDNS_SCREENSHOTS=1} writes the committed screenshots (the README and docs show them).
SCREENSHOTS = ROOT / "docs" / "console"
#: The bearer token of L{ConsoleAppliance}.
TOKEN = "console-token-4f1d2a9c8b7e"
#: How long a wait lasts unless told: pages fetch from the API on loopback, so seconds are plenty.
WAIT = 10.0


def screenshots_wanted() -> bool:
    """C{SECDNS_SCREENSHOTS=1}: the tests write docs/console/*.png (else only into their tmp dirs)."""
    return os.environ.get("SECDNS_SCREENSHOTS", "").lower() in ("1", "true", "yes")


def _selenium():
    """Selenium's modules, imported when a browser is wanted (a missing package fails in CI, skips elsewhere)."""
    try:
        from selenium import webdriver  # noqa: F401
    except ImportError:
        message = "selenium is not installed (pip install -e '.[test]' installs it)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    return webdriver, Service


class Browser:
    """
    One headless Chromium for one test module.

    @ivar driver: the Selenium WebDriver (for what the helpers do not cover).
    @ivar base: the appliance's URL (C{http://127.0.0.1:PORT}).
    @ivar directory: where its profile, chromedriver's log and every screenshot go.
    """

    def __init__(self, directory: Path, base: str) -> None:
        require("chromium")
        require("chromedriver")
        for path in (CHROMIUM, CHROMEDRIVER):
            if not os.access(path, os.X_OK):
                pytest.fail(f"{path} is missing although chromium is on the PATH (Debian's chromium and chromium-driver put it there)")
        webdriver, Service = _selenium()
        # Selenium Manager, were it run, would download a browser and a driver: never.
        os.environ["SE_OFFLINE"] = "true"
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.base = base.rstrip("/")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--user-data-dir={self.directory / 'profile'}",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--metrics-recording-only",
            "--password-store=basic",
            "--force-device-scale-factor=1",
            "--lang=en-US",
        ):
            options.add_argument(argument)
        if os.geteuid() == 0:
            options.add_argument("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=CHROMEDRIVER, log_output=str(self.directory / "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(30)
        self.driver.set_script_timeout(30)
        self._fit_viewport()
        self._log: list[dict] = []

    def _fit_viewport(self) -> None:
        """Make the page itself (not the window with its frame) 1280x900, the screenshots' size."""
        inner = self.driver.execute_script("return [window.innerWidth, window.innerHeight]")
        if list(inner) != list(WINDOW):
            size = self.driver.get_window_size()
            self.driver.set_window_size(size["width"] + WINDOW[0] - inner[0], size["height"] + WINDOW[1] - inner[1])

    # -- lifetime

    def quit(self) -> None:
        """Close Chromium and chromedriver (Selenium stops them by the PIDs it started)."""
        try:
            self.driver.quit()
        except Exception:  # already gone: nothing to stop
            pass

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc_info) -> None:
        self.quit()

    # -- going places

    def url(self, route: str = "") -> str:
        """The console's URL of C{route} (C{"zones"}, C{"#/zones/example.com"} or C{""} for the document)."""
        route = route.lstrip("#/")
        return f"{self.base}/console/" + (f"#/{route}" if route else "")

    def open(self, route: str = "") -> None:
        """Go to a console route; a new document only when not on the console already (the router follows the hash)."""
        target = self.url(route)
        current = self.driver.current_url
        if current.startswith(f"{self.base}/console/") and route:
            self.driver.execute_script("window.location.hash = arguments[0]", "#/" + route.lstrip("#/"))
        else:
            self.driver.get(target)

    def reload(self) -> None:
        """A full reload of the current page (the token stays: it is in session storage)."""
        self.driver.refresh()

    def login(self, token: str = TOKEN, via_form: bool = True) -> None:
        """
        Log in: through the login form (C{#login-form}, its C{token} input)
        as an operator does, or by putting the token into session storage
        (C{secdns.token}) as the form does, for tests about other pages.
        Returns once the app's <nav> shows.
        """
        self.driver.get(self.url())
        if via_form:
            form = self.wait_visible("#login-form")  # shown once the page's first probe of the API is refused
            self.fill("token", token, within=form)
            self.submit(form)
        else:
            # Given once the page's first probe (without a token) has been
            # refused and the login form shows: a refusal arriving after the
            # token was kept would forget it (the console forgets the token
            # on any 401), as a loaded machine once showed.
            self.wait_visible("#login-form")
            self.driver.execute_script("sessionStorage.setItem('secdns.token', arguments[0]); location.hash = '#/zones'", token)
            self.until(lambda d: d.execute_script("return sessionStorage.getItem('secdns.token')") == token, what="the token kept")
            self.driver.refresh()  # a new document, which finds the token at its start
        self.wait_visible("nav")

    def logout(self) -> None:
        """Forget the token (as Sign out does) and show the login form."""
        self.driver.execute_script("sessionStorage.removeItem('secdns.token')")
        self.driver.get(self.url())

    # -- waiting (every wait bounded)

    def until(self, condition: Callable, timeout: float = WAIT, what: str = "the page"):
        """C{condition(driver)}'s first true value within C{timeout} seconds; the failure says what and shows the page's text."""
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)).until(condition)
        except TimeoutException:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; {self.describe()}") from None

    def wait_for(self, css: str, timeout: float = WAIT):
        """The first element matching C{css}, once there is one."""
        from selenium.webdriver.common.by import By

        return self.until(lambda d: (d.find_elements(By.CSS_SELECTOR, css) or [None])[0], timeout, f"an element {css!r}")

    def wait_visible(self, css: str, timeout: float = WAIT):
        """The first displayed element matching C{css}."""
        from selenium.webdriver.common.by import By

        def shown(driver):
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                if element.is_displayed():
                    return element
            return None

        return self.until(shown, timeout, f"a visible element {css!r}")

    def wait_text(self, css: str, text: str | re.Pattern, timeout: float = WAIT):
        """The first element matching C{css} whose text holds C{text} (a string, or a pattern searched)."""
        from selenium.webdriver.common.by import By

        def holds(driver):
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                found = element.text
                if (text.search(found) if isinstance(text, re.Pattern) else text in found):
                    return element
            return None

        return self.until(holds, timeout, f"an element {css!r} with the text {text!r}")

    def wait_gone(self, css: str, timeout: float = WAIT) -> None:
        """Until nothing matches C{css}."""
        from selenium.webdriver.common.by import By

        self.until(lambda d: not d.find_elements(By.CSS_SELECTOR, css), timeout, f"no element {css!r}")

    # -- finding and doing

    def find(self, css: str, within=None):
        from selenium.webdriver.common.by import By

        return (within or self.driver).find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str, within=None) -> list:
        from selenium.webdriver.common.by import By

        return (within or self.driver).find_elements(By.CSS_SELECTOR, css)

    def field(self, name: str, within=None):
        """The input, select or textarea whose C{name} is C{name} (an API field path: C{externalMasters[0].address})."""
        return self.wait_for_within(f'[name="{name}"]', within)

    def wait_for_within(self, css: str, within=None, timeout: float = WAIT):
        if within is None:
            return self.wait_for(css, timeout)
        from selenium.webdriver.common.by import By

        return self.until(lambda d: (within.find_elements(By.CSS_SELECTOR, css) or [None])[0], timeout, f"an element {css!r}")

    def fill(self, name: str, value: str, within=None):
        """
        Set the field named C{name}: type into an input or textarea (cleared
        first), choose the option of a <select> whose text or value is
        C{value}, tick a checkbox or radio (C{value} true-ish).  Returns the field.
        """
        from selenium.webdriver.support.ui import Select

        element = self.field(name, within)
        self.until(lambda d: element.is_displayed() and element.is_enabled(), what=f"the field {name!r} to be shown and enabled")
        tag = element.tag_name.lower()
        kind = (element.get_attribute("type") or "").lower()
        if tag == "select":
            select = Select(element)
            for option in select.options:
                if value in (option.text.strip(), option.get_attribute("value")):
                    select.select_by_visible_text(option.text) if option.text.strip() == value else select.select_by_value(value)
                    return element
            raise AssertionError(f"<select name={name!r}> has no option {value!r}: {[o.text for o in select.options]}")
        if kind in ("checkbox", "radio"):
            if bool(value) != element.is_selected():
                element.click()
            return element
        element.clear()
        element.send_keys(value)
        return element

    def choose(self, name: str, value: str, within=None):
        """Pick the radio button C{name} whose value or label is C{value} (Method: Manual, Zone type: Secondary)."""
        for radio in self.find_all(f'input[type="radio"][name="{name}"]', within):
            label = self._label_of(radio)
            if value in (radio.get_attribute("value"), label) or value.lower() == (radio.get_attribute("value") or "").lower():
                if not radio.is_selected():
                    self.click(radio)
                return radio
        return self.fill(name, value, within)

    def _label_of(self, element) -> str:
        ident = element.get_attribute("id")
        if ident:
            labels = self.find_all(f'label[for="{ident}"]')
            if labels:
                return labels[0].text.strip()
        return (self.driver.execute_script("return arguments[0].closest('label')?.textContent || ''", element) or "").strip()

    def button(self, text: str, within=None, timeout: float = WAIT):
        """The displayed, enabled <button> whose text is C{text} (or holds it)."""
        from selenium.webdriver.common.by import By

        def found(driver):
            candidates = (within or driver).find_elements(By.CSS_SELECTOR, "button")
            exact = [b for b in candidates if b.is_displayed() and b.is_enabled() and b.text.strip() == text]
            near = [b for b in candidates if b.is_displayed() and b.is_enabled() and text in b.text]
            return (exact or near or [None])[0]

        return self.until(found, timeout, f"a button {text!r}")

    def click(self, target, within=None) -> None:
        """Click an element, or the button whose text is C{target}; scrolled into view first."""
        element = self.button(target, within) if isinstance(target, str) else target
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def submit(self, form) -> None:
        """Submit C{form} by its submit button, as a user does (so the page's submit handler runs)."""
        buttons = [b for b in self.find_all('button[type="submit"], button:not([type]), input[type="submit"]', form) if b.is_displayed()]
        if buttons:
            self.click(buttons[0])
        else:
            form.submit()

    def link(self, text: str, timeout: float = WAIT, within: str = "body"):
        """The displayed link whose text is C{text} (a <nav> entry: Zones, Create zone ...), first under C{within} (CSS)."""
        from selenium.webdriver.common.by import By

        def found(driver):
            links = [a for a in driver.find_elements(By.CSS_SELECTOR, f"{within} a") if a.is_displayed()]
            return ([a for a in links if a.text.strip() == text] or [a for a in links if text in a.text] or [None])[0]

        return self.until(found, timeout, f"a link {text!r}")

    def field_error(self, name: str, within=None, timeout: float = WAIT) -> str:
        """
        The error message shown beside the field C{name}: the element its
        C{aria-describedby} names, else the nearest C{.field-error} after it.
        """
        element = self.field(name, within)

        def message(driver):
            text = driver.execute_script(
                """
                const input = arguments[0];
                for (const id of (input.getAttribute('aria-describedby') || '').split(/\\s+/)) {
                  const el = id && document.getElementById(id);
                  if (el && el.classList.contains('field-error') && el.textContent.trim()) return el.textContent.trim();
                }
                let box = input.parentElement;
                for (let i = 0; box && i < 3; i++, box = box.parentElement) {
                  const el = box.querySelector('.field-error');
                  if (el && el.textContent.trim()) return el.textContent.trim();
                }
                return null;
                """,
                element,
            )
            return text

        return self.until(message, timeout, f"an error message beside the field {name!r}")

    # -- what the browser saw

    def text(self, css: str = "body") -> str:
        return self.find(css).text

    def describe(self) -> str:
        """The URL and the start of the page's text, for failure messages."""
        try:
            body = self.driver.execute_script("return document.body ? document.body.innerText : ''") or ""
            return f"at {self.driver.current_url}, the page says: {body[:1500]!r}"
        except Exception as e:  # the browser itself failed: say so
            return f"(the page could not be read: {e})"

    def log(self) -> list[dict]:
        """Every browser console entry so far (chromedriver hands each out once; kept here)."""
        self._log.extend(self.driver.get_log("browser"))
        return list(self._log)

    def mark(self) -> int:
        """A place in the log, for L{problems} and L{csp_violations} of what came after it."""
        return len(self.log())

    def problems(self, allow_401: bool = True, since: int = 0) -> list[str]:
        """
        The console entries that are errors: CSP violations, JavaScript
        exceptions, console.error, failed loads (SEVERE).  An API answer 401
        is what an untokened probe gets, and allowed unless C{allow_401} is false.
        """
        return [
            entry["message"] for entry in self.log()[since:]
            if entry.get("level") == "SEVERE" and not (allow_401 and "status of 401" in entry["message"])
        ]

    def csp_violations(self, since: int = 0) -> list[str]:
        """The entries in which Chromium reports a Content-Security-Policy violation."""
        return [entry["message"] for entry in self.log()[since:] if "Content Security Policy" in entry["message"]]

    def screenshot(self, page: str) -> Path:
        """
        A PNG of the window, in this browser's directory; with
        C{SECDNS_SCREENSHOTS=1} also docs/console/<page>.png (the committed set).
        """
        path = self.directory / f"{page}.png"
        self.driver.save_screenshot(str(path))
        if screenshots_wanted():
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            target = SCREENSHOTS / f"{page}.png"
            shutil.copyfile(path, target)
            _optimise(target)
        return path


def _optimise(path: Path) -> None:
    """Recompress a PNG losslessly with optipng when it is installed (screenshots are committed)."""
    optipng = shutil.which("optipng")
    if optipng:
        import subprocess

        subprocess.run([optipng, "-quiet", "-o2", "-strip", "all", str(path)], check=False, timeout=120)


def console_config(dns_port: int, http_port: int, extra: str = "") -> str:
    """A config with the API and the console on C{http_port}, bearer tokens from C{tokens}, short timers."""
    return f"""
[server]
listen = ["127.0.0.1:{dns_port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[http]
listen = "127.0.0.1:{http_port}"
token_file = "tokens"

[timers]
min_refresh = 1
min_retry = 1
min_expire = 1

[transfer]
soa_timeout = 1
connect_timeout = 2
{extra}
"""


class ConsoleAppliance:
    """
    The real appliance (C{twistd -n secdns}) in a directory of its own, its
    API and console on loopback behind L{TOKEN}.

    @ivar base: C{http://127.0.0.1:PORT} (the console is C{base + "/console/"}).
    @ivar api: an L{ApiClient} with the token, to arrange what a page shows.
    """

    def __init__(self, tmp: Path, extra_config: str = "", files: dict[str, str] | None = None) -> None:
        self.tmp = Path(tmp)
        self.port, self.http = free_port(), free_port()
        for name, text in (files or {}).items():
            (self.tmp / name).write_text(text)
        (self.tmp / "tokens").write_text(f"# operators\nops {TOKEN}\n")
        self.config = self.tmp / "secdns.toml"
        self.config.write_text(console_config(self.port, self.http, extra_config))
        self.base = f"http://127.0.0.1:{self.http}"
        self.secdns = Secdns(self.config, self.port).wait_ready()
        self.api = ApiClient(f"{self.base}/20180115", TOKEN)
        wait_until(lambda: self.api("GET", "/zones").status == 200, 15, what="the REST API to answer")

    def log(self) -> str:
        return self.secdns.log()

    def stop(self) -> None:
        self.secdns.stop()

    def __enter__(self) -> "ConsoleAppliance":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture(scope="module")
def console_appliance(tmp_path_factory) -> Iterator[ConsoleAppliance]:
    """A running appliance with a token file, for one test module."""
    with ConsoleAppliance(tmp_path_factory.mktemp("console")) as appliance:
        yield appliance


@pytest.fixture(scope="module")
def browser(console_appliance, tmp_path_factory) -> Iterator[Browser]:
    """One headless Chromium for the module, logged in to L{console_appliance} (through the session storage)."""
    started = time.monotonic()
    with Browser(tmp_path_factory.mktemp("chromium"), console_appliance.base) as chromium:
        chromium.login(TOKEN, via_form=False)
        print(f"chromium started and logged in in {time.monotonic() - started:.1f} s")
        yield chromium
