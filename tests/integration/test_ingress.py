"""
secdns as the secondary of real primaries: BIND 9, Knot and NSD each hold
a zone, require hmac-sha256 TSIG for transfers, and notify secdns of
changes; secdns keeps an authoritative copy.
"""

from __future__ import annotations

import re
import signal
import urllib.request
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.peers import Bind, Knot, Nsd, PeerZone, TsigKey, sign_zone
from tests.support import LOOPBACK, Secdns, free_port, wait_until

SECRET = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
WRONG_SECRET = "V3JvbmdXcm9uZ1dyb25nV3JvbmdXcm9uZ1dyb25nISE="
KEY = TsigKey("transfer-key", SECRET)
ZONE = "example.com"
PEERS = {"bind": Bind, "knot": Knot, "nsd": Nsd}
#: What each primary needs to serve IXFR from the differences of its zone files.
IXFR_FROM_FILES = {
    "bind": "ixfr-from-differences yes;",
    "knot": "    zonefile-load: difference\n    journal-content: changes",
    "nsd": "",  # NSD 4.6 has no IXFR out: it answers IXFR with the whole zone
}


def zone_text(serial: int, refresh: int = 3600, retry: int = 600, expire: int = 86400, extra: str = "") -> str:
    return "\n".join(
        [
            "$ORIGIN example.com.",
            "$TTL 300",
            f"@ SOA ns1 hostmaster {serial} {refresh} {retry} {expire} 60",
            "@ NS ns1",
            "@ MX 10 mail",
            "ns1 A 192.0.2.1",
            "mail A 192.0.2.25",
            "www A 192.0.2.80",
            'txt TXT "serial ' + str(serial) + '"',
            *[f"host{i} A 198.51.100.{i}" for i in range(1, 40)],
            extra,
            "",
        ]
    )


def secdns_config(port: int, http: int, masters: list[int], secret: str = SECRET, timers: str = "", transfer: str = "") -> str:
    entries = ", ".join(f'{{ address = "127.0.0.1", port = {p}, tsig_key = "transfer-key" }}' for p in masters)
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
{timers}

[transfer]
soa_timeout = 1
connect_timeout = 2
{transfer}

[[tsig_key]]
name = "transfer-key"
secret = "{secret}"

[[zone]]
name = "{ZONE}"
type = "secondary"
external_masters = [ {entries} ]
"""


class Deployment:
    """A primary of one kind with the zone, and secdns as its secondary."""

    def __init__(self, kind: str, tmp: Path, zone: str, ixfr: bool = False) -> None:
        self.kind = kind
        self.tmp = tmp
        self.zone_file = tmp / "example.com.zone"
        self.zone_file.write_text(zone)
        self.port = free_port()
        self.http = free_port()
        extra = IXFR_FROM_FILES[kind] if ixfr else ""
        peer_zone = PeerZone(ZONE, file=self.zone_file, downstreams=((LOOPBACK, self.port),), key=KEY.name, extra=extra)
        self.primary = PEERS[kind](tmp, free_port(), zones=[peer_zone], keys=[KEY])
        self.config = tmp / "secdns.toml"
        self.secdns: Secdns | None = None

    def start_primary(self) -> "Deployment":
        self.primary.start()
        return self

    def start_secdns(self, **config) -> Secdns:
        config.setdefault("masters", [self.primary.port])
        self.config.write_text(secdns_config(self.port, self.http, **config))
        self.secdns = Secdns(self.config, self.port).wait_ready()
        return self.secdns

    def stop(self) -> None:
        if self.secdns is not None:
            self.secdns.stop()
        self.primary.stop()

    # -- asking secdns

    def ask(self, name: str, rdtype: str = "A", dnssec: bool = False, port: int | None = None) -> dns.message.Message:
        query = dns.message.make_query(name, rdtype, want_dnssec=dnssec, use_edns=0)
        return dns.query.udp(query, LOOPBACK, port=port or self.port, timeout=2)

    def serial(self) -> int | None:
        response = self.ask(ZONE, "SOA")
        if response.rcode() != dns.rcode.NOERROR or not response.answer:
            return None
        return response.answer[0][0].serial

    def wait_serial(self, serial: int, timeout: float = 15.0) -> None:
        wait_until(lambda: self.serial() == serial, timeout, what=f"secdns serving serial {serial}")

    def metric(self, name: str, **labels) -> float | None:
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=5).read().decode()
        wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
        match = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.M)
        return None if match is None else float(match.group(1))

    def metrics_text(self) -> str:
        return urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=5).read().decode()


@pytest.fixture(params=list(PEERS))
def kind(request) -> str:
    return request.param


@pytest.fixture
def make(tmp_path):
    made = []

    def make(kind: str, zone: str, ixfr: bool = False) -> Deployment:
        deployment = Deployment(kind, tmp_path, zone, ixfr)
        made.append(deployment)
        return deployment

    yield make
    for deployment in made:
        deployment.stop()


def test_axfr_then_ixfr_on_notify(kind, make):
    """The zone arrives by AXFR; a change on the primary and its NOTIFY bring it by IXFR within seconds."""
    d = make(kind, zone_text(1), ixfr=True).start_primary()
    secdns = d.start_secdns()
    d.wait_serial(1)
    assert d.ask("www.example.com").answer[0][0].address == "192.0.2.80"
    d.zone_file.write_text(zone_text(2, extra="new A 192.0.2.99"))
    d.primary.reload()
    d.wait_serial(2, timeout=10)
    response = d.ask("new.example.com")
    assert response.flags & dns.flags.AA and response.answer[0][0].address == "192.0.2.99"
    log = secdns.log()
    assert "NOTIFY from 127.0.0.1 (key transfer-key), serial 2: refresh scheduled" in log
    assert re.search(r"zone example\.com: AXFR from 127\.0\.0\.1#\d+: serial none -> 1", log)
    if kind == "nsd":
        # NSD 4.6 keeps no IXFR history: it answers our IXFR with the whole zone.
        assert re.search(r"zone example\.com: AXFR \(asked IXFR\) from 127\.0\.0\.1#\d+: serial 1 -> 2", log)
    else:
        assert re.search(r"zone example\.com: IXFR from 127\.0\.0\.1#\d+: serial 1 -> 2", log), log[-3000:]
    assert d.metric("secdns_zone_transfer_success_total", zone=ZONE) == 2
    assert d.metric("secdns_zone_transfer_failure_total", zone=ZONE) == 0


def test_wrong_secret_is_badsig_and_old_copy_serves(kind, make):
    """With a wrong secret no transfer happens, each failure is counted with BADSIG as reason, and the copy keeps serving."""
    d = make(kind, zone_text(1, refresh=1, retry=1)).start_primary()
    secdns = d.start_secdns()
    d.wait_serial(1)
    d.config.write_text(secdns_config(d.port, d.http, [d.primary.port], secret=WRONG_SECRET))
    secdns.reload()
    wait_until(lambda: (d.metric("secdns_zone_transfer_failure_total", zone=ZONE) or 0) >= 2, 15, what="failures counted")
    text = d.metrics_text()
    reason = re.search(r'secdns_zone_transfer_last_failure_info\{reason="([^"]*)",zone="example.com"\}', text)
    assert reason is not None and "BADSIG" in reason.group(1), text
    assert "BADSIG" in secdns.log()
    assert d.serial() == 1
    assert d.ask("www.example.com").answer[0][0].address == "192.0.2.80"


def test_primary_stopped_then_expired(kind, make):
    """With the primary stopped, the copy is served until EXPIRE, then SERVFAIL with EDE 24 (zone expired)."""
    d = make(kind, zone_text(1, refresh=1, retry=1, expire=5)).start_primary()
    d.start_secdns(timers="max_retry = 1")
    d.wait_serial(1)
    d.primary.stop()
    assert d.ask("www.example.com").rcode() == dns.rcode.NOERROR
    wait_until(lambda: d.ask("www.example.com").rcode() == dns.rcode.SERVFAIL, 20, what="SERVFAIL after EXPIRE")
    response = d.ask("www.example.com")
    assert [(type(option), option.code) for option in response.options] == [(dns.edns.EDEOption, 24)]
    assert d.metric("secdns_zone_expiration_hours", zone=ZONE) == 0
    assert d.metric("secdns_zone_refresh_state", zone=ZONE, state="expired") == 1
    assert d.metric("secdns_zone_transfer_failure_total", zone=ZONE) >= 2
    # The primary comes back: the next retry serves the zone again.
    d.primary.start()
    wait_until(lambda: d.ask("www.example.com").rcode() == dns.rcode.NOERROR, 20, what="served again")


def test_restart_with_primary_down_serves_stored_copy(kind, make):
    """secdns killed (kill -9) and restarted while the primary is down serves its stored copy at once."""
    d = make(kind, zone_text(1)).start_primary()
    d.start_secdns()
    d.wait_serial(1)
    d.secdns.signal(signal.SIGKILL)
    d.secdns.stop()
    d.primary.stop()
    secdns = d.start_secdns()
    assert d.serial() == 1
    response = d.ask("www.example.com")
    assert response.flags & dns.flags.AA and response.answer[0][0].address == "192.0.2.80"
    assert "serving stored copy serial 1" in secdns.log()


def test_first_master_down_second_used(kind, make):
    """With the first master down, the zone is transferred from the second, and the first is reported down."""
    d = make(kind, zone_text(1)).start_primary()
    dead = free_port()
    secdns = d.start_secdns(masters=[dead, d.primary.port])
    d.wait_serial(1, timeout=20)
    assert re.search(rf"AXFR from 127\.0\.0\.1#{d.primary.port}: serial none -> 1", secdns.log())
    assert d.metric("secdns_zone_master_up", master=f"127.0.0.1#{dead}", zone=ZONE) == 0
    assert d.metric("secdns_zone_master_up", master=f"127.0.0.1#{d.primary.port}", zone=ZONE) == 1
    assert d.metric("secdns_zone_transfer_failure_total", zone=ZONE) == 0


SIGNED_QUESTIONS = [
    ("example.com", "SOA"),
    ("example.com", "NS"),
    ("example.com", "DNSKEY"),
    ("www.example.com", "A"),
    ("www.example.com", "AAAA"),  # NODATA: NSEC proof
    ("nothere.example.com", "A"),  # NXDOMAIN: NSEC proofs
]


def _sections(response: dns.message.Message) -> tuple:
    """
    Rcode, AA, and the records of the answer and authority sections, in
    no particular order.  An answer's authority NS RRset (NSD adds it, BIND
    and Knot do not by default) is left out: it proves nothing.
    """

    def records(section, skip_ns=False):
        return sorted(
            f"{rrset.name} {rrset.ttl} {dns.rdatatype.to_text(rrset.rdtype)} {rdata.to_text()}"
            for rrset in section
            if not (skip_ns and dns.rdatatype.NS in (rrset.rdtype, rrset.covers))
            for rdata in rrset
        )

    return (
        dns.rcode.to_text(response.rcode()),
        bool(response.flags & dns.flags.AA),
        records(response.answer),
        records(response.authority, skip_ns=bool(response.answer)),
    )


def test_signed_zone_served_as_the_primary_serves_it(kind, make, tmp_path):
    """A DNSSEC-signed zone comes through unchanged: answers with DO match the primary's."""
    source = tmp_path / "unsigned.zone"
    source.write_text(zone_text(1))
    signed = sign_zone(source, ZONE, tmp_path / "keys")
    d = make(kind, signed.read_text()).start_primary()
    d.start_secdns()
    d.wait_serial(1)
    for name, rdtype in SIGNED_QUESTIONS:
        ours = d.ask(name, rdtype, dnssec=True)
        theirs = d.ask(name, rdtype, dnssec=True, port=d.primary.port)
        assert _sections(ours) == _sections(theirs), (kind, name, rdtype)
        assert ours.answer or ours.authority


def test_zone_added_and_removed_by_sighup(make):
    """A secondary zone added by SIGHUP is transferred at once; removed by SIGHUP, it is no longer answered."""
    d = make("bind", zone_text(1)).start_primary()
    d.config.write_text(secdns_config(d.port, d.http, [d.primary.port]).split("[[zone]]")[0])
    d.secdns = Secdns(d.config, d.port).wait_ready()
    assert d.ask("www.example.com").rcode() == dns.rcode.REFUSED
    d.config.write_text(secdns_config(d.port, d.http, [d.primary.port]))
    d.secdns.reload()
    d.wait_serial(1)
    d.config.write_text(secdns_config(d.port, d.http, [d.primary.port]).split("[[zone]]")[0])
    d.secdns.reload()
    wait_until(lambda: d.ask("www.example.com").rcode() == dns.rcode.REFUSED, 10, what="zone removed")
    assert "no longer a secondary zone; its stored copy is forgotten" in d.secdns.log()
