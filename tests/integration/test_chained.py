"""
secdns as a chained secondary: BIND 9 is the primary of a zone, secdns its
secondary (TSIG key C{transfer-key}), and Knot a secondary of secdns, listed
in the zone's C{external_downstreams} (TSIG key C{chain-key}).  Every new
version secdns takes from BIND must reach Knot through secdns: journalled,
announced by NOTIFY, and served as an IXFR.

Knot's refresh timer is an hour, so only a NOTIFY from secdns explains Knot
following within seconds.  What fails because secdns does not pass a change
on (no NOTIFY to Knot, no IXFR from a journal) raises L{NotChained}, so a
failure says which link of the chain broke.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from tests.peers import Bind, Knot, PeerZone, TsigKey, knot_transfers_in, soa_serial
from tests.support import LOOPBACK, Secdns, free_port, wait_until

ZONE = "example.com"
ORIGIN = ZONE + "."
UPSTREAM = TsigKey("transfer-key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
CHAIN = TsigKey("chain-key", "Q2hhaW5DaGFpbkNoYWluQ2hhaW5DaGFpbkNoYWluISE=")
#: Seconds Knot gets to follow a version secdns serves: a NOTIFY and an IXFR
#: take well under one, but a loaded 2-core machine once saw Knot start its
#: IXFR 6 s after the NOTIFY it answered.
FOLLOW = 15.0
#: Records the big change adds: enough that secdns takes a moment to apply it.
BULK = 50_000

class NotChained(AssertionError):
    """secdns did not pass a version on to its downstream: no NOTIFY, or no IXFR from its journal."""


def zone_text(serial: int, www: str = "192.0.2.80", extra: tuple[str, ...] = (), bulk: int = 0) -> str:
    """Version C{serial} of the zone: refresh an hour, so that only NOTIFYs move a secondary."""
    lines = [
        f"$ORIGIN {ORIGIN}",
        "$TTL 300",
        f"@ SOA ns1 hostmaster {serial} 3600 600 86400 60",
        "@ NS ns1",
        "ns1 A 192.0.2.1",
        f"www A {www}",
        f'txt TXT "serial {serial}"',
        *[f"host{i} A 198.51.100.{i}" for i in range(1, 40)],
        *extra,
        *[f"bulk{i} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}" for i in range(bulk)],
    ]
    return "\n".join(lines) + "\n"


def secdns_config(port: int, bind_port: int, knot_port: int) -> str:
    return f"""
[server]
listen = ["127.0.0.1:{port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[transfer]
soa_timeout = 1
connect_timeout = 2

[[tsig_key]]
name = "{UPSTREAM.name}"
secret = "{UPSTREAM.secret}"

[[tsig_key]]
name = "{CHAIN.name}"
secret = "{CHAIN.secret}"

[[zone]]
name = "{ZONE}"
type = "secondary"
external_masters = [ {{ address = "127.0.0.1", port = {bind_port}, tsig_key = "{UPSTREAM.name}" }} ]
external_downstreams = [ {{ address = "127.0.0.1", port = {knot_port}, tsig_key = "{CHAIN.name}" }} ]
"""


class Chain:
    """BIND -> secdns -> Knot for one zone, in a test's directory."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.zone_file = tmp / "bind-zone.db"
        self.zone_file.write_text(zone_text(1))
        self.bind = Bind(
            tmp,
            free_port(),
            keys=[UPSTREAM],
            zones=[
                PeerZone(
                    ZONE,
                    file=self.zone_file,
                    downstreams=((LOOPBACK, self.port),),
                    key=UPSTREAM.name,
                    extra="ixfr-from-differences yes; notify-delay 0;",
                )
            ],
        )
        # refresh-min-interval: whatever the SOA says, Knot refreshes on a NOTIFY only.
        self.knot = Knot(
            tmp,
            free_port(),
            keys=[CHAIN],
            zones=[
                PeerZone(
                    ZONE,
                    primaries=((LOOPBACK, self.port),),
                    key=CHAIN.name,
                    extra="    refresh-min-interval: 3600",
                )
            ],
        )
        self.config = tmp / "secdns.toml"
        self.config.write_text(secdns_config(self.port, self.bind.port, self.knot.port))
        self.state_dir = tmp / "var"
        self.secdns: Secdns | None = None

    def start(self) -> "Chain":
        """Start BIND, then secdns, then Knot, and wait until Knot serves serial 1."""
        self.bind.start()
        self.start_secdns()
        self.wait_secdns(1)
        self.knot.start()
        self.knot.wait_for_zone(ORIGIN, timeout=15, serial=1)
        return self

    def start_secdns(self) -> Secdns:
        self.secdns = Secdns(self.config, self.port).wait_ready()
        return self.secdns

    def stop(self) -> None:
        for server in (self.knot, self.secdns, self.bind):
            if server is not None:
                server.stop()

    def publish(self, text: str) -> None:
        """A new version on BIND: the zone file replaced, then SIGHUP (BIND diffs it, journals it, notifies)."""
        aside = self.zone_file.with_name(self.zone_file.name + ".new")
        aside.write_text(text)
        aside.replace(self.zone_file)
        self.bind.reload()

    def wait_secdns(self, serial: int, timeout: float = 15.0) -> None:
        assert self.secdns is not None
        wait_until(
            lambda: soa_serial(self.port, ZONE) == serial or not self.secdns.running(),
            timeout,
            what=f"secdns serving serial {serial}",
        )
        assert self.secdns.running(), self.secdns.log()[-3000:]

    def wait_knot_follows(self, serial: int, timeout: float = FOLLOW) -> None:
        """Knot serves C{serial} within C{timeout} seconds, else L{NotChained}."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.knot.daemon is not None and self.knot.daemon.running(), self.knot.log()[-3000:]
            if self.knot.serial(ORIGIN) == serial:
                return
            time.sleep(0.05)
        raise NotChained(
            f"Knot still serves serial {self.knot.serial(ORIGIN)}, not {serial}, {timeout} s after secdns did.\n"
            f"secdns, about its downstream:\n{self.secdns_lines('NOTIFY of', 'XFR of')}\n"
            f"Knot's transfers in: {knot_transfers_in(self.knot.log(), ORIGIN)}"
        )

    def secdns_lines(self, *words: str) -> str:
        assert self.secdns is not None
        return "\n".join(line for line in self.secdns.log().splitlines() if any(w in line for w in words))



def answer(port: int, name: str, rdtype: str = "A") -> tuple:
    """Rcode, AA and the answer's records of one UDP query."""
    response = dns.query.udp(dns.message.make_query(name, rdtype), LOOPBACK, port=port, timeout=2)
    return (
        dns.rcode.to_text(response.rcode()),
        bool(response.flags & dns.flags.AA),
        sorted(f"{rrset.name} {rdata.to_text()}" for rrset in response.answer for rdata in rrset),
    )


@pytest.fixture
def chain(tmp_path):
    made = Chain(tmp_path)
    try:
        yield made
    finally:
        made.stop()


SAMPLE = ["www", "txt", "host7", "new", "newer"]


def test_knot_takes_the_zone_from_secdns(chain):
    """Knot, a secondary of secdns's secondary zone, transfers it and answers as BIND does."""
    chain.start()
    for label in SAMPLE:
        name = f"{label}.{ORIGIN}"
        for rdtype in ("A", "TXT"):
            assert answer(chain.knot.port, name, rdtype) == answer(chain.bind.port, name, rdtype), name
    assert re.search(r"zone example\.com: AXFR from 127\.0\.0\.1#\d+: serial none -> 1", chain.secdns.log())
    served = "XFR of example.com serial 1 to 127.0.0.1 finished"
    wait_until(lambda: served in chain.secdns.log(), 5, what="secdns's transfer out")


def test_each_change_on_bind_reaches_knot_by_notify_and_ixfr(chain):
    """
    Each of two changes made on BIND reaches Knot within seconds: secdns
    takes it by IXFR, notifies Knot, and serves Knot an IXFR from its journal.
    """
    chain.start()
    versions = [
        (2, zone_text(2, www="192.0.2.81", extra=("new A 192.0.2.99",))),
        (3, zone_text(3, www="192.0.2.81", extra=("newer A 192.0.2.100",))),
    ]
    for serial, text in versions:
        chain.publish(text)
        chain.wait_secdns(serial)
        log = chain.secdns.log()
        taken = rf"zone example\.com: IXFR from 127\.0\.0\.1#{chain.bind.port}: serial {serial - 1} -> {serial}"
        assert re.search(taken, log), log[-3000:]
        chain.wait_knot_follows(serial)
        for label in SAMPLE:
            name = f"{label}.{ORIGIN}"
            for rdtype in ("A", "TXT"):
                assert answer(chain.knot.port, name, rdtype) == answer(chain.bind.port, name, rdtype), name
        transfers = knot_transfers_in(chain.knot.log(), ORIGIN)
        if ("notify", serial) not in transfers:
            raise NotChained(f"Knot has serial {serial} without a NOTIFY of it: {transfers}")
        if ("IXFR", serial) not in transfers:
            raise NotChained(f"Knot did not take serial {serial} by IXFR: {transfers}")
        served = f"IXFR of example.com serial {serial} to 127.0.0.1 finished"
        announced = f"NOTIFY of example.com serial {serial} answered"
        try:
            wait_until(lambda: served in chain.secdns.log() and announced in chain.secdns.log(), 5, what=served)
        except AssertionError as e:
            raise NotChained(f"{e}; secdns logged:\n{chain.secdns_lines('NOTIFY of', 'XFR of')}") from None


def test_secdns_killed_while_applying_a_big_change(chain):
    """
    secdns killed (kill -9) while it stores a change of 50,000 records serves,
    restarted, wholly the old or wholly the new version, and Knot follows it
    to the new one.
    """
    chain.start()
    chain.publish(zone_text(2, www="192.0.2.81", bulk=BULK))
    wait_until(
        lambda: "NOTIFY from 127.0.0.1 (key transfer-key), serial 2" in chain.secdns.log(), 15, interval=0.01,
        what="BIND's NOTIFY to secdns",
    )
    # Killed as soon as secdns starts writing its state: the new version
    # is being stored (or, if the write is quick, stored but not served).
    before = state_of(chain.state_dir)
    wait_until(
        lambda: state_of(chain.state_dir) != before or soa_serial(chain.port, ZONE) == 2, 10, interval=0.001,
        what="secdns storing the new version",
    )
    chain.secdns.signal(signal.SIGKILL)
    chain.secdns.stop()
    secdns = chain.start_secdns()
    # What it serves first is one version: the serial says which, and the records agree.
    for _ in range(5):
        serial = soa_serial(chain.port, ZONE)
        seen = version_seen(chain.port)
        if soa_serial(chain.port, ZONE) == serial:
            break
    assert serial in (1, 2), secdns.log()[-3000:]
    assert seen == expected_version(serial), (serial, seen)
    chain.wait_secdns(2, timeout=20)
    assert version_seen(chain.port) == expected_version(2)
    chain.wait_knot_follows(2)
    assert version_seen(chain.knot.port) == expected_version(2)
    transfers = knot_transfers_in(chain.knot.log(), ORIGIN)
    if ("IXFR", 2) not in transfers and ("AXFR", 2) not in transfers:
        raise NotChained(f"Knot serves serial 2 but its log shows no transfer of it: {transfers}")


BULK_SAMPLE = [0, 1, 12_345, 25_000, BULK - 1]


def state_of(directory: Path) -> tuple:
    """The names, sizes and modification times of the files in secdns's state_dir."""
    found = []
    for path in sorted(directory.iterdir()):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        found.append((path.name, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def version_seen(port: int) -> tuple:
    """What a server answers for the names that tell versions 1 and 2 apart."""
    questions = [(f"www.{ORIGIN}", "A"), (f"txt.{ORIGIN}", "TXT")] + [(f"bulk{i}.{ORIGIN}", "A") for i in BULK_SAMPLE]
    return tuple(answer(port, name, rdtype)[::2] for name, rdtype in questions)


def expected_version(serial: int) -> tuple:
    """L{version_seen} of version C{serial} (1 or 2) of the big change."""
    www = "192.0.2.80" if serial == 1 else "192.0.2.81"
    found = [("NOERROR", [f"www.{ORIGIN} {www}"]), ("NOERROR", [f'txt.{ORIGIN} "serial {serial}"'])]
    for i in BULK_SAMPLE:
        if serial == 1:
            found.append(("NXDOMAIN", []))
        else:
            found.append(("NOERROR", [f"bulk{i}.{ORIGIN} 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"]))
    return tuple(found)
