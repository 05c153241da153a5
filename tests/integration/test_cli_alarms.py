"""
The seeds' "Monitoring Secondary DNS" walkthrough with the C{secdns}
command (the installed console script, as a subprocess) against the real
appliance, secondary of a real BIND primary, with a real SMTP server and
a real HTTP receiver on loopback (tests.receivers):

  1. a topic, an email subscription and a webhook subscription with an
     HMAC secret; C{secdns topic test} reaches both;
  2. the seeds' alarm: ZoneTransferFailureCount greater than N during the
     interval, sent to that topic;
  3. BIND stops: the alarm fires, one email arrives naming the zone, and
     C{secdns alarm status}, C{secdns alarm list --status FIRING} and
     C{secdns notifications} show it;
  4. what is refused says why: the built-in alarm (409), a topic an alarm
     sends to (409 naming it), a bad query (400 saying where).

The commands are those of docs/alarms.rst ("The seeds' example: email me when transfers fail").
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli import Cli
from tests.peers import Bind, PeerZone
from tests.receivers import HttpReceiver, SmtpReceiver
from tests.support import Secdns, free_port, require, wait_until

ZONE = "example.com"
HMAC_KEY = "a-shared-secret-for-the-webhook"


def zone_text(serial: int) -> str:
    return f"""$ORIGIN {ZONE}.
$TTL 300
@ SOA ns1 hostmaster {serial} 2 1 1209600 60
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.80
"""


def secdns_config(dns_port: int, http_port: int, bind_port: int, smtp_port: int) -> str:
    return f"""
[server]
listen = ["127.0.0.1:{dns_port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[http]
listen = "127.0.0.1:{http_port}"

[timers]
min_refresh = 1
min_retry = 1

[transfer]
soa_timeout = 1
connect_timeout = 1

[smtp]
host = "127.0.0.1"
port = {smtp_port}
starttls = "never"
from = "secdns@example.net"

[[topic]]
name = "config-team"
[[topic.subscription]]
protocol = "log"

[[zone]]
name = "{ZONE}"
type = "secondary"
external_masters = [ {{ address = "127.0.0.1", port = {bind_port} }} ]
"""


def test_the_seeds_alarm_with_the_cli(tmp_path: Path):
    """Topic, email and webhook subscriptions, the seeds' alarm: it fires when BIND stops, one email arrives, and the CLI shows it."""
    require("named")
    dns_port, http_port, bind_port = free_port(), free_port(), free_port()
    zone_file = tmp_path / "example.com.zone"
    zone_file.write_text(zone_text(1))
    smtp = SmtpReceiver(tmp_path)
    hook = HttpReceiver().start()
    bind = Bind(tmp_path, bind_port, [PeerZone(ZONE, file=zone_file, downstreams=(("127.0.0.1", dns_port),))]).start()
    config = tmp_path / "secdns.toml"
    config.write_text(secdns_config(dns_port, http_port, bind_port, smtp.port))
    secdns = Secdns(config, dns_port)
    cli = Cli(tmp_path, http_port)
    try:
        secdns.wait_ready()
        wait_until(lambda: cli.data("zone", "status", ZONE)["serial"] == 1, timeout=20, what="the first transfer")

        # 1. Where notifications go.
        topic = cli.data("topic", "create", "--name", "dns-team", "--description", "whoever is on call for DNS")
        assert topic["name"] == "dns-team" and topic["topicId"].startswith("ocid1.onstopic.")
        email = cli.data("topic", "subscription", "create", "--topic", "dns-team", "--protocol", "EMAIL", "--endpoint", "dns-team@example.com")
        assert (email["protocol"], email["endpoint"]) == ("EMAIL", "dns-team@example.com")
        key_file = tmp_path / "webhook.key"
        key_file.write_text(HMAC_KEY + "\n")
        webhook = cli.data("topic", "subscription", "create", "--topic", "dns-team", "--protocol", "CUSTOM_HTTPS",
                           "--endpoint", f"{hook.url}/secdns/alarms", "--secret-file", str(key_file))
        assert webhook["hasSecret"] is True and HMAC_KEY not in json.dumps(webhook)
        tested = cli.data("topic", "test", "dns-team")
        assert [r["delivered"] for r in tested["results"]] == [True, True], tested
        wait_until(lambda: len(smtp.messages()) == 1, timeout=20, what="the test email")
        assert smtp.messages()[0]["to"] == "dns-team@example.com"
        assert len(hook.requests) == 1
        table = cli.run("topic", "subscription", "list", "--topic", "dns-team", "--output", "table").stdout
        assert "EMAIL" in table and "CUSTOM_HTTPS" in table and HMAC_KEY not in table

        # 2. The seeds' alarm: more than 3 failed transfers of the zone within the hour, sent to the topic.
        alarm = cli.data("alarm", "create", "--name", "example-com-transfers", "--metric", "ZoneTransferFailureCount",
                         "--zones", ZONE, "--statistic", "sum", "--interval", "1h", "--operator", "gt", "--threshold", "3",
                         "--severity", "CRITICAL", "--destinations", "dns-team")
        assert alarm["query"] == 'ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3'
        assert alarm["destinations"] == [topic["topicId"]] and alarm["status"] == "OK"
        names = [a["displayName"] for a in cli.data("alarm", "list")]
        assert {"example-com-transfers", "zone-refresh-failing", "zone-expiring"} <= set(names)

        # 3. The primary stops: refreshes fail every second; the alarm fires and one email says so.
        bind.stop()
        wait_until(lambda: "example-com-transfers" in [a["displayName"] for a in cli.data("alarm", "list", "--status", "FIRING")],
                   timeout=40, interval=0.5, what="the alarm to fire")
        firing = wait_until(lambda: [m for m in smtp.messages()[1:] if "example.com" in str(m["message"]["Subject"])],
                            timeout=30, what="the alarm's email")
        assert len(firing) == 1, [str(m["message"]["Subject"]) for m in firing]
        status = cli.run("alarm", "status", "example-com-transfers").stdout
        line = next(line for line in status.splitlines() if ZONE in line)
        assert line.split()[:4] == ["example-com-transfers", "CRITICAL", ZONE, "FIRING"]
        sent = cli.data("notifications", "--since", "1970-01-01T00:00:00Z")
        mine = [n for n in sent if n["alarm"] == "example-com-transfers"]
        assert [(n["zone"], n["state"]) for n in mine] == [(ZONE, "FIRING")]
        assert "dns-team" in mine[0]["topics"]

        # 4. Refusals that say why.
        refused = cli.run("alarm", "delete", "zone-refresh-failing", "--force", expect=1)
        assert "Conflict (HTTP 409)" in refused.stderr and "built in" in refused.stderr
        refused = cli.run("topic", "delete", "dns-team", "--force", expect=1)
        assert "example-com-transfers" in refused.stderr
        refused = cli.run("topic", "subscription", "create", "--topic", "config-team", "--protocol", "LOG", expect=1)
        assert "declared in" in refused.stderr and str(config) in refused.stderr
        refused = cli.run("alarm", "create", "--name", "bad", "--query", "ZoneTransferFailureCount[1h].sum() >", expect=1)
        assert "InvalidParameter (HTTP 400): query:" in refused.stderr
        cli.run("alarm", "delete", "example-com-transfers", "--force")
        cli.run("topic", "delete", "dns-team", "--force")
        assert "dns-team" not in [t["name"] for t in cli.data("topic", "list")]
        assert HMAC_KEY not in secdns.log()
    finally:
        bind.stop()
        secdns.stop()
        hook.stop()
        smtp.stop()
    assert "Traceback" not in secdns.log(), secdns.log()[-5000:]
