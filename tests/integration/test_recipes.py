"""
The recipes of docs/recipes.rst, each run with exactly the files the page
shows (docs/recipes/): secdns the secondary of a real BIND, Knot, NSD and
PowerDNS primary, and the primary of each of them as secondary.

Only ports and paths change: 5300 (secdns) and 5301 (the peer) become free
loopback ports, and the directories the files name (/var/lib/bind,
/etc/secdns, ...) become the test's own.  Each recipe proves the first
transfer, a change on the primary with its NOTIFY and the transfer that
follows (IXFR where both sides can), the same answers on both sides, and
that TSIG is required (an unsigned AXFR refused, a signed one served).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.xfr
import dns.zone
import pytest

from tests.peers import Bind, Knot, Nsd, Peer, PeerZone, PowerDns, soa_serial
from tests.support import LOOPBACK, ROOT, Secdns, free_port, require, wait_until

RECIPES = ROOT / "docs" / "recipes"
PAGE = ROOT / "docs" / "recipes.rst"
SECDNS_PORT, PEER_PORT = 5300, 5301
SERIAL = 2026120101
TYPES = ("SOA", "NS", "MX", "A", "TXT")
SAMPLE = ("@", "www", "mail", "ns1", "new", "nowhere")
PEERS = {"bind": Bind, "knot": Knot, "nsd": Nsd, "powerdns": PowerDns}
#: The peer's config file of a recipe, by the peer's role in it (primary or secondary).
CONFIG = {"bind": "bind-{role}.named.conf", "knot": "knot-{role}.knot.conf", "nsd": "nsd-{role}.nsd.conf",
          "powerdns": "powerdns-{role}.pdns.conf"}
#: The directories a peer's files name, all of them the peer's own directory in the test.
PEER_PATHS = {
    "bind": ["/var/lib/bind"],
    "knot": ["/var/lib/knot"],
    "nsd": ["/var/lib/nsd"],
    "powerdns": ["/etc/powerdns", "/var/lib/powerdns", "/run/pdns"],
}
#: How secdns takes a change from each primary: only Knot and BIND serve IXFR.
TRANSFER_IN = {"bind": "IXFR", "knot": "IXFR", "nsd": "AXFR (asked IXFR)", "powerdns": "AXFR (asked IXFR)"}


def recipe(name: str) -> str:
    return (RECIPES / name).read_text()


def rewrite(text: str, secdns_port: int, peer_port: int, paths: dict[str, Path]) -> str:
    """A recipe file as the test runs it: the two ports and the directories changed, nothing else."""
    text = re.sub(rf"\b{SECDNS_PORT}\b", str(secdns_port), text)
    text = re.sub(rf"\b{PEER_PORT}\b", str(peer_port), text)
    for old, new in paths.items():
        text = text.replace(old, str(new))
    return text


def keyring() -> dict:
    """The key of the recipes, read from secdns's file of the first recipe."""
    secret = re.search(r'secret = "([^"]+)"', recipe("secondary-of-bind.toml")).group(1)
    return dns.tsigkeyring.from_text({"transfer-key": ("hmac-sha256", secret)})


def axfr(port: int, zone: str, signed: bool) -> dns.zone.Zone:
    """The whole zone by AXFR over TCP, signed with the recipes' key or not (L{dns.xfr.TransferError} if refused)."""
    kw = {"keyring": keyring(), "keyname": "transfer-key"} if signed else {}
    return dns.zone.from_xfr(dns.query.xfr(LOOPBACK, zone, port=port, lifetime=10, **kw))


def refused_unsigned(port: int, zone: str) -> str:
    """The rcode an unsigned AXFR gets (it must not be the zone)."""
    with pytest.raises(dns.xfr.TransferError) as refusal:
        axfr(port, zone, signed=False)
    return dns.rcode.to_text(refusal.value.rcode)


def answers(port: int, zone: str) -> list:
    """Rcode and answer, per name of the sample and type (not ANY: Knot answers ANY minimally)."""
    found = []
    for label in SAMPLE:
        name = zone if label == "@" else f"{label}.{zone}"
        for rdtype in TYPES:
            response = dns.query.udp(dns.message.make_query(name, rdtype), LOOPBACK, port=port, timeout=2)
            found.append((name, rdtype, dns.rcode.to_text(response.rcode()), sorted(r.to_text() for r in response.answer)))
    return found


def changed(text: str, serial: int) -> str:
    """The zone file edited: its serial raised, one name added."""
    assert str(SERIAL) in text
    return text.replace(str(SERIAL), str(serial)) + "new     A    192.0.2.99\n"


def recipe_peer(kind: str, role: str, tmp: Path, secdns_port: int, zone: PeerZone) -> Peer:
    """
    The peer of a recipe, on a free port: its config the recipe's file (for
    PowerDNS also its zone list, its C{pdnsutil} commands and, as a
    primary, its commands after an edit), ports and directories rewritten.
    """
    base = PEERS[kind]

    class FromRecipe(base):
        files: dict[str, str] = {}

        def config_text(self) -> str:
            return self.files[CONFIG[kind].format(role=role)]

    class PowerDnsFromRecipe(FromRecipe):
        def zones_text(self) -> str:
            return self.files[f"powerdns-{role}.named.conf"]

        def setup_commands(self) -> list[list[str]]:
            return [[require(argv[0]), *argv[1:]] for argv in map(shlex.split, _commands(self.files[f"powerdns-{role}.sh"]))]

        def reload(self) -> None:
            for argv in map(shlex.split, _commands(self.files["powerdns-primary-reload.sh"])):
                subprocess.run([require(argv[0]), *argv[1:]], cwd=self.directory, check=True, capture_output=True, timeout=30)

    peer = (PowerDnsFromRecipe if kind == "powerdns" else FromRecipe)(tmp, free_port(), zones=[zone])
    paths = {old: peer.directory for old in PEER_PATHS[kind]}
    names = [CONFIG[kind].format(role=role)]
    if kind == "powerdns":
        names += [f"powerdns-{role}.named.conf", f"powerdns-{role}.sh"] + (["powerdns-primary-reload.sh"] if role == "primary" else [])
    peer.files = {name: rewrite(recipe(name), secdns_port, peer.port, paths) for name in names}
    for name, text in peer.files.items():
        assert not re.search(r"/(var|etc|run)/", text), (name, text)  # nothing outside the test's directory
    return peer


def _commands(text: str) -> list[str]:
    """The command lines of a recipe's shell file, comments and blank lines left out."""
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def start_secdns(name: str, tmp: Path, secdns_port: int, peer_port: int) -> Secdns:
    """secdns on the recipe's config file, its state and zone files in the test's directory."""
    home = tmp / "secdns"
    (home / "var").mkdir(parents=True, exist_ok=True)
    (home / "zones").mkdir(exist_ok=True)
    text = rewrite(recipe(name), secdns_port, peer_port, {"/var/lib/secdns": home / "var", "/etc/secdns": home})
    config = home / "secdns.toml"
    config.write_text(text)
    return Secdns(config, secdns_port).wait_ready()


@pytest.fixture
def stack():
    """What a test started, stopped by PID at its end (last started, first stopped)."""
    started: list = []
    yield started
    for thing in reversed(started):
        thing.stop()


@pytest.mark.parametrize("kind", list(PEERS))
def test_secdns_secondary_of(kind, tmp_path, stack):
    """secdns takes example.com from the peer by the recipe, then each change by NOTIFY and IXFR (AXFR from NSD, PowerDNS)."""
    secdns_port = free_port()
    peer = recipe_peer(kind, "primary", tmp_path, secdns_port, PeerZone("example.com", file=Path("example.com.zone")))
    zone_file = peer.directory / "example.com.zone"
    zone_file.write_text(recipe("example.com.zone"))
    stack.append(peer.start())
    secdns = start_secdns(f"secondary-of-{kind}.toml", tmp_path, secdns_port, peer.port)
    stack.append(secdns)

    wait_until(lambda: soa_serial(secdns_port, "example.com") == SERIAL, 20, what="the first transfer")
    assert answers(secdns_port, "example.com") == answers(peer.port, "example.com")
    # TSIG: the peer refuses an unsigned transfer, serves a signed one; so secdns signed its own.
    assert refused_unsigned(peer.port, "example.com") in ("REFUSED", "NOTAUTH")
    assert axfr(peer.port, "example.com", signed=True).get_rdataset("www", "A") is not None

    zone_file.write_text(changed(recipe("example.com.zone"), SERIAL + 1))
    peer.reload()
    wait_until(lambda: soa_serial(secdns_port, "example.com") == SERIAL + 1, 20, what="the change to reach secdns")
    assert answers(secdns_port, "example.com") == answers(peer.port, "example.com")
    log = secdns.log()
    # A signed NOTIFY; PowerDNS's carries no SOA, so no serial.
    notified = "-" if kind == "powerdns" else SERIAL + 1
    assert f"NOTIFY from 127.0.0.1 (key transfer-key), serial {notified}: refresh scheduled" in log, log[-3000:]
    assert re.search(rf"zone example\.com: AXFR from 127\.0\.0\.1#\d+: serial none -> {SERIAL}", log), log[-3000:]
    kind_in = re.escape(TRANSFER_IN[kind])
    assert re.search(rf"zone example\.com: {kind_in} from 127\.0\.0\.1#\d+: serial {SERIAL} -> {SERIAL + 1}", log), log[-3000:]


@pytest.mark.parametrize("kind", list(PEERS))
def test_secdns_primary_for(kind, tmp_path, stack):
    """The peer takes example.org from secdns by the recipe, then each change by NOTIFY and IXFR (AXFR for PowerDNS)."""
    secdns_port, peer_port = free_port(), free_port()
    home = tmp_path / "secdns"
    (home / "zones").mkdir(parents=True)
    zone_file = home / "zones" / "example.org.zone"
    zone_file.write_text(recipe("example.org.zone"))
    peer = recipe_peer(kind, "secondary", tmp_path, secdns_port, PeerZone("example.org", primaries=((LOOPBACK, secdns_port),)))
    secdns = start_secdns(f"primary-for-{kind}.toml", tmp_path, secdns_port, peer.port)
    stack.append(secdns)
    stack.append(peer.start())

    peer.wait_for_zone("example.org.", timeout=30, serial=SERIAL)
    assert answers(peer.port, "example.org") == answers(secdns_port, "example.org")
    # TSIG: secdns refuses an unsigned transfer; the peer's was signed.
    assert refused_unsigned(secdns_port, "example.org") == "REFUSED"
    wait_until(lambda: "127.0.0.1 used no key; the zone requires key transfer-key" in secdns.log(), 5, what="the refusal logged")
    assert f"AXFR of example.org serial {SERIAL} to 127.0.0.1 finished" in secdns.log()

    zone_file.write_text(changed(recipe("example.org.zone"), SERIAL + 1))
    secdns.reload()
    peer.wait_for_zone("example.org.", timeout=30, serial=SERIAL + 1)
    assert answers(peer.port, "example.org") == answers(secdns_port, "example.org")
    wait_until(lambda: f"NOTIFY of example.org serial {SERIAL + 1} answered" in secdns.log(), 10, what="the NOTIFY answered")
    kind_out = "AXFR" if kind == "powerdns" else "IXFR"
    wait_until(lambda: f"{kind_out} of example.org serial {SERIAL + 1} to 127.0.0.1 finished" in secdns.log(), 10,
               what=f"the {kind_out} served")


def test_the_page_shows_every_file_and_the_tests_run_every_file():
    """
    Each file under docs/recipes/ is included in the page and run by the
    tests above; each config names the ports the tests rewrite.
    """
    page = PAGE.read_text()
    included = set(re.findall(r"^\.\. literalinclude:: recipes/(\S+)$", page, re.M))
    files = {path.name for path in RECIPES.iterdir()}
    assert included == files
    run = {"example.com.zone", "example.org.zone", "powerdns-primary-reload.sh"}
    for kind in PEERS:
        run |= {f"secondary-of-{kind}.toml", f"primary-for-{kind}.toml"}
        run |= {CONFIG[kind].format(role=role) for role in ("primary", "secondary")}
    run |= {f"powerdns-{role}.{ext}" for role in ("primary", "secondary") for ext in ("named.conf", "sh")}
    assert run == files
    assert "runs these files with only the ports changed" in " ".join(page.split())
    for name in files:
        if name.endswith((".toml", ".conf")):
            assert re.search(rf"\b({SECDNS_PORT}|{PEER_PORT})\b", recipe(name)), name
