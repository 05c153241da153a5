"""
secdns as the primary of real secondaries: BIND 9, Knot and NSD each keep a
copy of a secdns zone, TSIG-signed with hmac-sha256, notified of changes and
catching up by IXFR.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

from tests.peers import Bind, Knot, Nsd, PeerZone, TsigKey, soa_serial
from tests.support import LOOPBACK, Secdns, free_port, require, wait_until

SECRET = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
KEY = TsigKey("transfer-key", SECRET)
WRONG = TsigKey("transfer-key", "V3JvbmdXcm9uZ1dyb25nV3JvbmdXcm9uZ1dyb25nISE=")
ZONE = "example.org"
SAMPLE = ["example.org", "www.example.org", "mail.example.org", "host7.example.org", "gone.example.org"]


def zone_text(serial: int, hosts: int = 20, extra: str = "") -> str:
    lines = [
        "$TTL 300",
        f"@ SOA ns1 hostmaster {serial} 3600 600 86400 60",
        "@ NS ns1",
        "@ MX 10 mail",
        "ns1 A 192.0.2.1",
        "mail A 192.0.2.25",
        "www A 192.0.2.80",
        "gone TXT \"present at first\"" if serial == 1 else "",
    ]
    lines += [f"host{i} A 198.51.100.{i % 250}" for i in range(hosts)]
    return "\n".join(lines) + "\n" + extra


def secdns_config(port: int, downstreams: list[int], key: str = "transfer-key") -> str:
    entries = ", ".join(f'{{ address = "127.0.0.1", port = {p}, tsig_key = "{key}" }}' for p in downstreams)
    return f"""
[server]
listen = ["127.0.0.1:{port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[[tsig_key]]
name = "transfer-key"
secret = "{SECRET}"

[[zone]]
name = "{ZONE}"
type = "primary"
file = "zone.db"
external_downstreams = [ {entries} ]
"""


TYPES = ("SOA", "NS", "MX", "A", "TXT")


def answers(port: int, name: str) -> list:
    """Rcode and answer for each type (not ANY: Knot answers ANY minimally, RFC 8482)."""
    found = []
    for rdtype in TYPES:
        response = dns.query.udp(dns.message.make_query(name, rdtype), LOOPBACK, port=port, timeout=2)
        found.append((rdtype, dns.rcode.to_text(response.rcode()), sorted(r.to_text() for r in response.answer)))
    return found


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """A secdns primary and BIND, Knot and NSD secondaries of its zone."""
    tmp = tmp_path_factory.mktemp("egress")
    peers = [cls(tmp, free_port(), keys=[KEY], zones=[]) for cls in (Bind, Knot, Nsd)]
    port = free_port()
    (tmp / "zone.db").write_text(zone_text(1))
    config = tmp / "secdns.toml"
    config.write_text(secdns_config(port, [peer.port for peer in peers]))
    secdns = Secdns(config, port).wait_ready()
    try:
        for peer in peers:
            peer.zones = [PeerZone(ZONE, primaries=((LOOPBACK, port),), key=KEY.name)]
            peer.start()
        yield secdns, peers, tmp
    finally:
        for peer in peers:
            peer.stop()
        secdns.stop()


def test_each_secondary_loads_and_answers_as_secdns(deployment):
    """Each secondary transfers the zone and answers a sample of names exactly as secdns does."""
    secdns, peers, _ = deployment
    for peer in peers:
        peer.wait_for_zone(ZONE + ".", timeout=30, serial=1)
        for name in SAMPLE:
            assert answers(peer.port, name) == answers(secdns.port, name), (peer.label, name)
    assert secdns.log().count("AXFR of example.org serial 1 to 127.0.0.1 finished") >= 3


def test_edit_notifies_and_secondaries_take_ixfr(deployment):
    """An edited zone file and SIGHUP: every secondary is notified, pulls an IXFR and serves the change."""
    secdns, peers, tmp = deployment
    for peer in peers:
        peer.wait_for_zone(ZONE + ".", timeout=30, serial=1)
    (tmp / "zone.db").write_text(zone_text(2, extra="new A 192.0.2.99\n"))
    secdns.reload()
    for peer in peers:
        peer.wait_for_zone(ZONE + ".", timeout=30, serial=2)
        assert answers(peer.port, "new.example.org") == answers(secdns.port, "new.example.org")
        assert answers(peer.port, "gone.example.org")[0][1] == "NXDOMAIN"
    wait_until(lambda: secdns.log().count("IXFR of example.org serial 2 to 127.0.0.1 finished") >= 3, 10, what="three IXFRs")
    assert secdns.log().count("NOTIFY of example.org serial 2 answered") >= 3
    assert "AXFR of example.org serial 2" not in secdns.log()


def test_stranger_refused(deployment):
    """An address not among the downstreams asking for AXFR gets REFUSED."""
    secdns, _, _ = deployment
    dig = require("dig")
    out = subprocess.run(
        [dig, "@127.0.0.1", "-p", str(secdns.port), "-b", "127.0.0.2", "-y", f"hmac-sha256:transfer-key:{SECRET}", ZONE, "AXFR"],
        capture_output=True, text=True, timeout=30,
    ).stdout
    assert "Transfer failed" in out
    wait_until(lambda: "refused to 127.0.0.2: 127.0.0.2 is not an external downstream" in secdns.log(), 5, what="log line")


class Pair:
    """secdns as primary, and one peer as its secondary, in a test's directory."""

    def __init__(self, tmp_path: Path, peer_class, key: TsigKey = KEY, text: str = zone_text(1)) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.zone_file = tmp_path / "zone.db"
        self.zone_file.write_text(text)
        self.config = tmp_path / "secdns.toml"
        self.peer = peer_class(tmp_path, free_port(), keys=[key], zones=[PeerZone(ZONE, primaries=((LOOPBACK, self.port),), key=key.name)])
        self.config.write_text(secdns_config(self.port, [self.peer.port]))
        self.secdns = Secdns(self.config, self.port).wait_ready()

    def restart_secdns(self) -> None:
        self.secdns.stop()
        self.secdns = Secdns(self.config, self.port).wait_ready()

    def __enter__(self) -> "Pair":
        self.peer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.peer.stop()
        self.secdns.stop()


def test_wrong_key_refused(tmp_path):
    """A downstream signing with the wrong secret gets no zone: its requests fail TSIG (BADSIG)."""
    with Pair(tmp_path, Bind, key=WRONG) as pair:
        wait_until(lambda: "TSIG BADSIG from 127.0.0.1" in pair.secdns.log(), 20, what="BADSIG in the log")
        assert pair.peer.serial(ZONE + ".") is None
        assert "AXFR of example.org serial 1 to 127.0.0.1 started" not in pair.secdns.log()


def test_ixfr_across_restart(tmp_path):
    """Restarted between two edits, secdns still answers the next IXFR from its stored journal."""
    with Pair(tmp_path, Knot) as pair:
        pair.peer.wait_for_zone(ZONE + ".", timeout=30, serial=1)
        pair.secdns.stop()
        pair.zone_file.write_text(zone_text(2, extra="after A 192.0.2.77\n"))
        pair.restart_secdns()
        pair.peer.wait_for_zone(ZONE + ".", timeout=30, serial=2)
        assert answers(pair.peer.port, "after.example.org") == answers(pair.port, "after.example.org")
        wait_until(lambda: "IXFR of example.org serial 2 to 127.0.0.1 finished" in pair.secdns.log(), 10, what="IXFR")


def test_100k_records_to_bind_and_knot(tmp_path):
    """A zone of 100,000 records reaches BIND and Knot whole; sampled answers match secdns."""
    port = free_port()
    (tmp_path / "zone.db").write_text(zone_text(1, hosts=100_000))
    peers = [Bind(tmp_path, free_port(), keys=[KEY]), Knot(tmp_path, free_port(), keys=[KEY])]
    config = tmp_path / "secdns.toml"
    config.write_text(secdns_config(port, [peer.port for peer in peers]))
    secdns = Secdns(config, port).wait_ready(timeout=120)
    try:
        for peer in peers:
            peer.zones = [PeerZone(ZONE, primaries=((LOOPBACK, port),), key=KEY.name)]
            peer.start()
        for peer in peers:
            peer.wait_for_zone(ZONE + ".", timeout=120, serial=1)
            for i in range(0, 100_000, 4999):
                name = f"host{i}.example.org"
                assert answers(peer.port, name) == answers(secdns.port, name), (peer.label, name)
        match = re.findall(r"AXFR of example.org serial 1 to 127.0.0.1 finished: (\d+) messages", secdns.log())
        assert len(match) >= 2 and all(int(m) > 10 for m in match)
    finally:
        for peer in peers:
            peer.stop()
        secdns.stop()


def test_secdns_to_secdns(tmp_path):
    """One secdns is the primary of another's secondary zone: AXFR first, then NOTIFY and IXFR end to end."""
    primary_port, secondary_port = free_port(), free_port()
    (tmp_path / "zone.db").write_text(zone_text(1))
    primary_config = tmp_path / "primary.toml"
    primary_config.write_text(secdns_config(primary_port, [secondary_port]))
    secondary_dir = tmp_path / "secondary"
    secondary_dir.mkdir()
    secondary_config = secondary_dir / "secondary.toml"
    secondary_config.write_text(
        f"""
[server]
listen = ["127.0.0.1:{secondary_port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[[tsig_key]]
name = "transfer-key"
secret = "{SECRET}"

[[zone]]
name = "{ZONE}"
type = "secondary"
external_masters = [ {{ address = "127.0.0.1", port = {primary_port}, tsig_key = "transfer-key" }} ]
"""
    )
    primary = Secdns(primary_config, primary_port).wait_ready()
    secondary = Secdns(secondary_config, secondary_port).wait_ready()
    try:
        wait_until(lambda: soa_serial(secondary_port, ZONE) == 1, 30, what="the first transfer")
        assert answers(secondary_port, "www.example.org") == answers(primary_port, "www.example.org")
        (tmp_path / "zone.db").write_text(zone_text(2, extra="new A 192.0.2.99\n"))
        primary.reload()
        wait_until(lambda: soa_serial(secondary_port, ZONE) == 2, 30, what="the IXFR")
        assert answers(secondary_port, "new.example.org") == answers(primary_port, "new.example.org")
        assert answers(secondary_port, "gone.example.org")[0][1] == "NXDOMAIN"
        wait_until(lambda: "IXFR of example.org serial 2 to 127.0.0.1 finished" in primary.log(), 10, what="IXFR log")
        assert "NOTIFY of example.org serial 2 answered" in primary.log()
    finally:
        secondary.stop()
        primary.stop()


def test_hidden_primary(tmp_path):
    """A hidden primary (apex NS names only the secondary) still answers, notifies and serves its downstream."""
    hide = lambda text: text.replace("@ NS ns1", "@ NS ns.secondary.example.net.")  # noqa: E731
    with Pair(tmp_path, Knot, text=hide(zone_text(1))) as pair:
        pair.peer.wait_for_zone(ZONE + ".", timeout=30, serial=1)
        assert soa_serial(pair.port, ZONE) == 1  # secdns answers it authoritatively
        pair.zone_file.write_text(hide(zone_text(2, extra="new A 192.0.2.99\n")))
        pair.secdns.reload()
        pair.peer.wait_for_zone(ZONE + ".", timeout=30, serial=2)
        assert answers(pair.peer.port, "new.example.org") == answers(pair.port, "new.example.org")
        assert answers(pair.peer.port, ZONE)[1][2] == ["example.org. 300 IN NS ns.secondary.example.net."]
