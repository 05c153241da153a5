"""
What an operator reads in the log of the real twistd: a secdns primary
(text lines) and a secdns secondary of it (JSON lines), queried, reloaded
with SIGHUP, a change sent by IXFR, then stopped.  One line per event,
none of Twisted's chatter, record counts as /metrics says them, no Python
None, no secret; every JSON line parses and has its message and level.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import secdns
from tests.support import Daemon, free_port, query, secdns_env, twistd_argv, wait_for_dns, wait_until

SECRET = "bG9ncy10ZXN0LXNlY3JldC1vZi10aGlydHktdHdvIQ=="
ZONE = "example.org"

# Twisted's lines that must not reach the default log, and debug lines.
NOISE = re.compile(
    r"starting on \d+|Port \d+ Closed|Starting factory|Stopping factory|_UDPMux|reactor class|Main loop terminated|#debug\]"
)


def zone_text(serial: int, hosts: int) -> str:
    lines = ["$TTL 300", f"@ SOA ns1 hostmaster {serial} 3600 600 86400 60", "@ NS ns1", "ns1 A 192.0.2.1"]
    lines += [f"host{i} A 198.51.100.{i}" for i in range(hosts)]
    return "\n".join(lines) + "\n"


def config(port: int, http: int, zone: str) -> str:
    return f"""
[server]
listen = ["127.0.0.1:{port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[http]
listen = "127.0.0.1:{http}"

[[tsig_key]]
name = "transfer-key"
secret = "{SECRET}"

{zone}
"""


def metric(http: int, name: str, zone: str = ZONE) -> float | None:
    text = urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=5).read().decode()
    match = re.search(rf'^{name}{{zone="{re.escape(zone)}"}} (\S+)$', text, re.M)
    return None if match is None else float(match.group(1))


def serial_of(port: int) -> int | None:
    try:
        response = query(ZONE, "SOA", port)
    except Exception:
        return None
    return response.answer[0][0].serial if response.answer else None


class Site:
    def __init__(self, root: Path, name: str, zone: str, extra: list[str]):
        self.dir = root / name
        self.dir.mkdir()
        self.port, self.http = free_port(), free_port()
        self.config = self.dir / "secdns.toml"
        self.config.write_text(config(self.port, self.http, zone))
        self.zone = zone
        self.extra = extra
        self.daemon: Daemon | None = None

    def start(self) -> "Site":
        self.daemon = Daemon(twistd_argv(self.config) + self.extra, self.dir / "twistd.log", cwd=self.dir, env=secdns_env())
        wait_for_dns(self.port, process=self.daemon, timeout=20)
        return self

    def log(self) -> str:
        return self.daemon.log()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Both started, the primary queried, reloaded with a new serial, the secondary caught up by IXFR; both stopped."""
    root = tmp_path_factory.mktemp("logs")
    secondary_port = free_port()
    primary = Site(root, "primary", f"""
[[zone]]
name = "{ZONE}"
type = "primary"
file = "zone.db"
external_downstreams = [ {{ address = "127.0.0.1", port = {secondary_port}, tsig_key = "transfer-key" }} ]
""", [])
    (primary.dir / "zone.db").write_text(zone_text(1, 17))
    primary.start()
    secondary = Site(root, "secondary", "", ["--log-format", "json"])
    secondary.port = secondary_port
    secondary.config.write_text(config(secondary.port, secondary.http, f"""
[[zone]]
name = "{ZONE}"
type = "secondary"
external_masters = [ {{ address = "127.0.0.1", port = {primary.port}, tsig_key = "transfer-key" }} ]
"""))
    figures = {}
    try:
        secondary.start()
        wait_until(lambda: serial_of(secondary.port) == 1, 20, what="the secondary's AXFR")
        figures["primary 1"] = metric(primary.http, "secdns_zone_records")
        figures["secondary 1"] = metric(secondary.http, "secdns_zone_records")
        (primary.dir / "zone.db").write_text(zone_text(2, 23))
        primary.daemon.signal(signal.SIGHUP)
        wait_until(lambda: serial_of(secondary.port) == 2, 20, what="the secondary's IXFR")
        figures["primary 2"] = metric(primary.http, "secdns_zone_records")
        figures["secondary 2"] = metric(secondary.http, "secdns_zone_records")
        figures["build_info"] = urllib.request.urlopen(f"http://127.0.0.1:{primary.http}/metrics", timeout=5).read().decode()
        wait_until(lambda: "IXFR of example.org serial 2" in primary.log(), 5, what="the primary's IXFR line")
    finally:
        for site in (secondary, primary):
            if site.daemon is not None:
                site.daemon.stop()
    yield primary, secondary, figures


def test_text_log_is_one_line_per_event(run):
    primary, _, figures = run
    log = primary.log()
    lines = log.splitlines()
    assert not [line for line in lines if NOISE.search(line)], log
    assert not [line for line in lines if re.search(r"\bNone\b", line)], log
    assert SECRET not in log
    assert "GET /metrics" not in log  # no access lines at info
    messages = [line.split("] ", 1)[1] for line in lines if "] " in line]
    records_1, records_2 = int(figures["primary 1"]), int(figures["primary 2"])
    assert records_1 == 20 and records_2 == 26  # SOA, NS, ns1 and the hosts
    wanted = [
        f"secdns {secdns.__version__} answering on 127.0.0.1:{primary.port}; reading 1 zones",
        f"zone {ZONE}: added (primary)",
        f"zone {ZONE}: loaded serial 1 ({records_1} records)",
        f"secdns serving 1 zones on 127.0.0.1:{primary.port}",
        f"SIGHUP: reloading {primary.config}",
        f"zone {ZONE}: loaded serial 2 ({records_2} records; was 1)",
        "Received SIGTERM, shutting down.",
        "Server Shut Down.",
    ]
    for message in wanted:
        assert message in messages, log
    # In the order they happened, each once.
    assert [messages.index(m) for m in wanted] == sorted(messages.index(m) for m in wanted)
    assert all(messages.count(m) == 1 for m in wanted), log


def test_json_log_lines_parse_with_message_and_level(run):
    _, secondary, figures = run
    log = secondary.log()
    assert SECRET not in log
    lines = [json.loads(line) for line in log.splitlines()]
    assert lines
    for line in lines:
        assert isinstance(line["message"], str) and line["message"], line
        assert line["level"] in ("debug", "info", "warn", "error", "critical"), line
        assert not NOISE.search(line["message"]), line
        assert not re.search(r"\bNone\b", line["message"]), line
        assert line["level"] != "debug"
    messages = [line["message"] for line in lines]
    axfr = [line for line in lines if re.match(rf"zone {ZONE}: AXFR from 127\.0\.0\.1#\d+: serial none -> 1 ", line["message"])]
    assert len(axfr) == 1, messages
    # The record count of the AXFR line is the zone's, as /metrics says it.
    records = int(figures["secondary 1"])
    assert f"({records} records)" in axfr[0]["message"]
    assert records == int(figures["primary 1"])
    assert axfr[0]["zone"] == ZONE
    assert axfr[0]["zone_event"]["type"] == "TransferSucceeded" and axfr[0]["zone_event"]["serial_from"] is None
    assert any(re.match(rf"zone {ZONE}: IXFR from 127\.0\.0\.1#\d+: serial 1 -> 2, ", m) for m in messages), messages
    assert int(figures["secondary 2"]) == int(figures["primary 2"])


def test_build_info_on_metrics(run):
    _, _, figures = run
    python = ".".join(map(str, sys.version_info[:3]))
    match = re.search(r'^secdns_build_info\{python="([^"]+)",twisted="([^"]+)",version="([^"]+)"\} 1\.0$', figures["build_info"], re.M)
    assert match is not None, figures["build_info"]
    assert match.group(1) == python and match.group(3) == secdns.__version__


def test_debug_level_shows_what_is_hidden(tmp_path):
    """--log-level debug: Twisted's port lines are back, and the debug lines (an HTTP request's)."""
    site = Site(tmp_path, "debug", "", ["--log-level", "debug"])
    try:
        site.start()
        wait_until(lambda: "secdns serving" in site.log(), 10, what="start")
        assert metric(site.http, "secdns_zone_records") is None  # no zone: asked only for the access line
        wait_until(lambda: "GET /metrics 200" in site.log(), 5, what="the access line")
    finally:
        site.daemon.stop()
    assert re.search(rf"starting on {site.port}\b", site.log()), site.log()
    assert re.search(r"#debug\] HTTP 127\.0\.0\.1 GET /metrics 200$", site.log(), re.M), site.log()


def test_version_commands():
    """twistd secdns --version and secdns --version print secdns's own version."""
    bin_dir = Path(sys.executable).parent
    for argv in ([str(bin_dir / "twistd"), "secdns", "--version"], [str(bin_dir / "secdns"), "--version"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=secdns_env())
        assert (done.returncode, done.stdout) == (0, f"secdns {secdns.__version__}\n"), (argv, done.stderr)


def test_to_the_journal_lines_have_priorities_and_no_time(tmp_path):
    """Standard output named by JOURNAL_STREAM, as systemd sets it: journald's <N> prefixes, no timestamps."""
    site = Site(tmp_path, "journal", "", [])
    log_path = site.dir / "twistd.log"
    log_path.touch()
    status = os.stat(log_path)
    env = dict(secdns_env(), JOURNAL_STREAM=f"{status.st_dev}:{status.st_ino}")
    site.daemon = Daemon(twistd_argv(site.config), log_path, cwd=site.dir, env=env)
    try:
        wait_for_dns(site.port, process=site.daemon, timeout=20)
        wait_until(lambda: "secdns serving" in site.log(), 10, what="start")
    finally:
        site.daemon.stop()
    lines = site.log().splitlines()
    assert lines and all(re.match(r"<[2-7]>\[[^\]]+#(debug|info|warn|error|critical)\] ", line) for line in lines), lines
    assert f"<6>[secdns.service#info] secdns {secdns.__version__} answering on 127.0.0.1:{site.port}; reading 0 zones" in lines
