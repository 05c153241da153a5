"""
etc/prometheus/secdns-alerts.yml, the alerting rules shipped for
Prometheus users, checked with Prometheus's own C{promtool} (Debian's
C{prometheus} package; in CI a missing promtool is a failure):

  - C{promtool check rules}: the file loads;
  - C{promtool test rules}: its unit tests (secdns-alerts.test.yml) pass;
  - against a real scrape: secdns is the secondary of a real BIND primary
    that is then stopped, and of a master that never answers; its
    C{/metrics} passes C{promtool check metrics}, and the rules, evaluated
    by promtool on exactly the series scraped, raise the refresh alerts
    for those two zones and nothing else.
"""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from pathlib import Path

import yaml

from tests.peers import Bind, PeerZone
from tests.support import ROOT, Secdns, free_port, require, wait_until

RULES = ROOT / "etc" / "prometheus" / "secdns-alerts.yml"
RULE_TESTS = ROOT / "etc" / "prometheus" / "secdns-alerts.test.yml"


def promtool(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([require("promtool"), *args], input=stdin, capture_output=True, cwd=cwd, timeout=60)


def test_rules_load():
    """promtool loads the rules file: every expression parses and every template is valid."""
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"SUCCESS: 6 rules found" in result.stdout


def test_rules_unit_tests():
    """The rules' own unit tests (failing refreshes, never transferred, the 72/24/6 h bands, expired) pass under promtool."""
    result = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"SUCCESS" in result.stdout


# -- against a real scrape

ZONE_TEXT = """$ORIGIN ingress.test.
$TTL 300
@ SOA ns1 hostmaster 1 1 1 1209600 60
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.80
"""

_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """The samples of a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, line
        labels = dict(_LABEL.findall(match.group("labels") or ""))
        out.append((match.group("name"), labels, float(match.group("value"))))
    return out


def series_text(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def without_annotations(rules: dict) -> dict:
    """The rules with their annotations left out: the test below checks which alerts fire, the unit tests their text."""
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return rules


def test_rules_fire_on_a_real_scrape(tmp_path):
    """
    A real secdns whose BIND primary stopped answering, and a zone whose
    master never answered: the scrape passes promtool check metrics, and
    on those very series the rules raise SecdnsZoneRefreshFailing and
    SecdnsZoneNeverTransferred for those zones, and nothing else.
    """
    require("named")
    bind_port, port, http, dead = free_port(), free_port(), free_port(), free_port()
    zone_file = tmp_path / "ingress.test.zone"
    zone_file.write_text(ZONE_TEXT)
    bind = Bind(tmp_path, bind_port, [PeerZone("ingress.test", file=zone_file, downstreams=(("127.0.0.1", port),))]).start()
    config = tmp_path / "secdns.toml"
    config.write_text(f"""
[server]
listen = ["127.0.0.1:{port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[http]
listen = "127.0.0.1:{http}"

[timers]
min_refresh = 1
max_refresh = 1
min_retry = 1
max_retry = 1

[transfer]
soa_timeout = 1
connect_timeout = 1

[[zone]]
name = "ingress.test"
type = "secondary"
external_masters = [ {{ address = "127.0.0.1", port = {bind_port} }} ]

[[zone]]
name = "never.test"
type = "secondary"
external_masters = [ {{ address = "127.0.0.1", port = {dead} }} ]
""")
    secdns = Secdns(config, port)
    try:
        secdns.wait_ready()

        def scrape() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=10) as answer:
                return answer.read().decode()

        def value(text: str, name: str, zone: str) -> float | None:
            return next((v for n, labels, v in samples(text) if n == name and labels.get("zone") == zone), None)

        wait_until(lambda: value(scrape(), "secdns_zone_transfer_success_total", "ingress.test") == 1, timeout=20, what="the first transfer")
        bind.stop()
        # Refresh 1 s, retry 1 s: the refresh and three retries have failed within a few seconds.
        wait_until(
            lambda: (value(text := scrape(), "secdns_zone_transfer_failure_total", "ingress.test") or 0) >= 5
            and (value(text, "secdns_zone_transfer_failure_total", "never.test") or 0) >= 5,
            timeout=30,
            what="five failed refreshes of each zone",
        )
        text = scrape()
        scraped_at = time.time()
    finally:
        bind.stop()
        secdns.stop()

    # The format is right (exit 1 would say otherwise); of promtool's naming
    # advice (exit 3) only one is taken: ZoneExpirationInHours is the
    # seeds' metric, and secdns_zone_expiration_hours its documented name.
    checked = promtool("check", "metrics", stdin=text.encode())
    problems = [line for line in (checked.stdout + checked.stderr).decode().splitlines() if line.strip()]
    assert checked.returncode in (0, 3), problems
    assert problems in ([], ['secdns_zone_expiration_hours use base unit "seconds" instead of "hours"']), problems

    # Every series the rules read is one secdns exports.
    exported = {name for name, _, _ in samples(text)}
    named = set(re.findall(r"\bsecdns_[a-z_]+\b", RULES.read_text()))
    assert named and named <= exported, named - exported

    # The scrape as promtool's input, 10 minutes into its clock: times are
    # moved so that the scrape happened at 600 s (time() in the rules).
    shift = scraped_at - 600
    series = []
    for name, labels, sample in samples(text):
        if not name.startswith("secdns_"):
            continue
        if name.endswith("_timestamp_seconds"):
            sample -= shift
        series.append({"series": series_text(name, {**labels, "instance": f"127.0.0.1:{http}", "job": "secdns"}), "values": f"{sample!r}x10"})
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(without_annotations(yaml.safe_load(RULES.read_text()))))
    expected = {
        "SecdnsZoneRefreshFailing": [{"exp_labels": {"zone": "ingress.test", "severity": "error", "instance": f"127.0.0.1:{http}", "job": "secdns"}}],
        "SecdnsZoneNeverTransferred": [{"exp_labels": {"zone": "never.test", "severity": "error", "instance": f"127.0.0.1:{http}", "job": "secdns"}}],
    }
    alerts = [rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [{"eval_time": "10m", "alertname": alert, "exp_alerts": expected.get(alert, [])} for alert in alerts],
        }],
    }
    (tmp_path / "scrape.test.yml").write_text(yaml.safe_dump(tests))
    result = promtool("test", "rules", "scrape.test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode() + text
