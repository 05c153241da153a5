"""
Alarms on the real appliance: secdns (twistd) is the secondary of a real
BIND primary with small SOA timers and clamps; BIND is stopped by its PID,
so refreshes fail.  The built-in zone-refresh-failing alarm (sent, by the
config, to the log and to a topic with a webhook and an email
subscription) fires within one retry interval of the zone failing for 3
of them; exactly one message per change of state reaches a real HTTP
receiver (HMAC checked) and a real SMTP server, a restart meanwhile sends
nothing again, and when BIND comes back the clear notice arrives.
"""

from __future__ import annotations

import calendar
import json
import re
import time
import urllib.request

import pytest

from secdns.alarms.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.peers import Bind, PeerZone
from tests.receivers import HttpReceiver, SmtpReceiver
from tests.support import LOOPBACK, Secdns, free_port, wait_until

ZONE = "example.com"
RETRY = 2  # the SOA retry, seconds: clamps allow it
HMAC_SECRET = "webhook-shared-secret"


def zone_text(serial: int) -> str:
    return "\n".join([
        "$ORIGIN example.com.",
        "$TTL 300",
        f"@ SOA ns1 hostmaster {serial} {RETRY} {RETRY} 3600 60",  # refresh and retry every 2 s
        "@ NS ns1",
        "ns1 A 192.0.2.1",
        "www A 192.0.2.80",
        "",
    ])


def config(port: int, http: int, master: int, webhook: str, smtp: int) -> str:
    return f"""
[server]
listen = ["127.0.0.1:{port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[http]
listen = "127.0.0.1:{http}"

[timers]
min_refresh = 1
min_retry = 1
min_expire = 1

[transfer]
soa_timeout = 1
connect_timeout = 1

[smtp]
host = "127.0.0.1"
port = {smtp}
starttls = "never"
from = "secdns@example.net"

[[topic]]
name = "ops"
[[topic.subscription]]
protocol = "webhook"
endpoint = "{webhook}/hook"
secret = "{HMAC_SECRET}"
[[topic.subscription]]
protocol = "email"
endpoint = "dns-ops@example.net"

[[alarm]]
name = "zone-refresh-failing"   # the built-in, sent to our topic too
topics = ["log", "ops"]

[[zone]]
name = "{ZONE}"
type = "secondary"
external_masters = [ {{ address = "127.0.0.1", port = {master} }} ]
"""


@pytest.fixture
def site(tmp_path):
    made = []

    def start(what):
        made.append(what)
        return what

    yield start
    for what in reversed(made):
        what.stop()


def metric(http: int, name: str, **labels) -> float | None:
    text = urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=5).read().decode()
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    match = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.M)
    return None if match is None else float(match.group(1))


def test_refresh_failing_alarm_fires_once_and_clears_once(tmp_path, site):
    """BIND stopped: the alarm fires within one retry past 3 retries, one webhook POST and one email per change of state, none again across a restart; BIND back: the clear notice."""
    zone_file = tmp_path / "example.com.zone"
    zone_file.write_text(zone_text(1))
    port, http = free_port(), free_port()
    bind = Bind(tmp_path, free_port(), zones=[PeerZone(ZONE, file=zone_file, downstreams=((LOOPBACK, port),))])
    site(bind).start()
    receiver = site(HttpReceiver()).start()
    smtp = site(SmtpReceiver(tmp_path))
    config_path = tmp_path / "secdns.toml"
    config_path.write_text(config(port, http, bind.port, receiver.url, smtp.port))
    secdns = site(Secdns(config_path, port)).wait_ready()
    wait_until(lambda: "AXFR from 127.0.0.1" in secdns.log(), 10, what="the first transfer")

    assert metric(http, "secdns_zone_retry_interval_seconds", zone=ZONE) == RETRY
    bind.stop()
    wait_until(lambda: receiver.requests, timeout=RETRY + 3 * RETRY + 2 * RETRY + 10, what="the firing webhook")

    (path, headers, body), = receiver.requests
    assert path == "/hook"
    assert verify(HMAC_SECRET.encode(), body, headers.get(TIMESTAMP_HEADER.lower()), headers.get(SIGNATURE_HEADER.lower()), time.time())
    fired = json.loads(body)
    assert (fired["alarm"], fired["zone"], fired["state"], fired["severity"]) == ("zone-refresh-failing", ZONE, "FIRING", "ERROR")
    failing_since = re.search(r"failing since (\S+ \S+) UTC", fired["body"])
    assert failing_since is not None, fired["body"]
    failing_for = fired["whenEpoch"] - calendar.timegm(time.strptime(failing_since.group(1), "%Y-%m-%d %H:%M:%S"))
    # Fired past 3 retries of failure (to the second), and within one retry (and its jitter) of that.
    assert 3 * RETRY - 1 < failing_for <= 4 * RETRY * 1.1 + 1, fired["body"]
    assert "refresh attempts failed" in fired["body"] and "127.0.0.1#" in fired["body"]
    assert fired["serial"] == 1
    wait_until(lambda: len(smtp.messages()) == 1, 15, what="the firing email")
    mail = smtp.messages()[0]
    assert mail["to"] == "dns-ops@example.net"
    assert "zone-refresh-failing" in mail["message"]["Subject"] and ZONE in mail["message"]["Subject"]
    assert metric(http, "secdns_alarm_firing", alarm="zone-refresh-failing", zone=ZONE) == 1.0
    assert "zone-refresh-failing" in secdns.log()

    # A restart while it fires: nothing is sent again.
    secdns.stop()
    secdns = site(Secdns(config_path, port, log_path=tmp_path / "secdns-2.log")).wait_ready()
    time.sleep(3 * RETRY)
    assert len(receiver.requests) == 1 and len(smtp.messages()) == 1
    assert metric(http, "secdns_alarm_firing", alarm="zone-refresh-failing", zone=ZONE) == 1.0

    # BIND back, with the same serial: it notifies, the refresh succeeds, the clear notice comes.
    bind = site(Bind(tmp_path, bind.port, zones=[PeerZone(ZONE, file=zone_file, downstreams=((LOOPBACK, port),))]))
    bind.start()
    wait_until(lambda: len(receiver.requests) >= 2, 4 * RETRY + 10, what="the clear webhook")
    cleared = json.loads(receiver.requests[1][2])
    assert (cleared["state"], cleared["dedupKey"]) == ("OK", fired["dedupKey"])
    wait_until(lambda: len(smtp.messages()) >= 2, 15, what="the clear email")
    time.sleep(2 * RETRY)  # nothing more comes
    assert len(receiver.requests) == 2 and len(smtp.messages()) == 2
    assert metric(http, "secdns_alarm_firing", alarm="zone-refresh-failing", zone=ZONE) is None
    assert metric(http, "secdns_alarm_firing_zones", alarm="zone-refresh-failing") == 0.0
    assert "refreshes succeed again" in secdns.log()
