"""
Key files as peers write them, and the transfer ACL apart from NOTIFY
targets, against real programs:

  - a secdns secondary of a real BIND primary, whose TSIG key is the very
    file C{tsig-keygen} wrote (BIND includes it, secdns's C{secret_file}
    names it); the file rewritten with a new secret and SIGHUP: the new
    secret is the one in force; a broken file: the old config stays;
  - C{dig AXFR} from 127.0.0.1 refused, then allowed once the zone's
    C{allow_transfer} names the address (SIGHUP), on a secondary zone (a
    secdns secondary may be a primary for others) and on a primary zone;
    with a key from C{keymgr -t} when the entry names one; a downstream
    admitted by address and key whatever its C{port}.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.peers import Bind, PeerZone, soa_serial
from tests.support import LOOPBACK, Secdns, free_port, require, wait_until

ZONE = "example.com"
PRIMARY_ZONE = "acl.test"


def zone_text(origin: str, serial: int) -> str:
    return (
        f"$ORIGIN {origin}.\n$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 86400 60\n@ NS ns1\n"
        f"ns1 A 192.0.2.1\nwww A 192.0.2.80\nv{serial} TXT \"version {serial}\"\n"
    )


def run(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


def tsig_keygen(*args: str) -> str:
    return subprocess.run([require("tsig-keygen"), *args], capture_output=True, text=True, check=True, timeout=30).stdout


def keymgr_t(*args: str) -> str:
    return subprocess.run([require("keymgr"), "-t", *args], capture_output=True, text=True, check=True, timeout=30).stdout


def secret_of(text: str) -> str:
    """The secret a tool wrote, read without secdns's parser."""
    match = re.search(r'secret:?\s*"?([A-Za-z0-9+/=]+)"?', text)
    assert match, text
    return match.group(1)


def dig_xfr(port: int, zone: str, kind: str = "AXFR", key: str | None = None) -> str:
    argv = [require("dig"), "@127.0.0.1", "-p", str(port), "+tries=1", "+time=5", zone, kind]
    if key is not None:
        argv[1:1] = ["-y", key]
    return run(argv)


def transferred(out: str, zone: str) -> bool:
    return f"www.{zone}." in out and "XFR size" in out


def refused(out: str) -> bool:
    return "Transfer failed" in out and "www." not in out


def reload_and_wait(server: Secdns, word: str) -> str:
    """SIGHUP, and the log line that ends the reload (C{reloaded} or C{reload failed})."""
    before = server.log().count(word)
    server.reload()
    wait_until(lambda: server.log().count(word) > before, timeout=20, what=f"'{word}' in the log")
    return server.log()


class Site:
    """BIND primary of example.com (key file from tsig-keygen) -> secdns secondary, plus a secdns primary zone."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.downstream_port = free_port()  # where NOTIFYs for the primary zone go; nothing listens there
        self.key_file = tmp / "xfr-key.conf"
        self.key_file.write_text(tsig_keygen("-a", "hmac-sha512", "xfr-key"))
        self.debug_key_file = tmp / "debug.yaml"
        self.debug_key_file.write_text(keymgr_t("debug-key", "hmac-sha384"))
        self.bind_zone = tmp / "bind-zone.db"
        self.bind_zone.write_text(zone_text(ZONE, 1))
        (tmp / "acl.db").write_text(zone_text(PRIMARY_ZONE, 7))
        self.bind = Bind(
            tmp,
            free_port(),
            zones=[
                PeerZone(
                    ZONE, file=self.bind_zone, downstreams=((LOOPBACK, self.port),), key="xfr-key",
                    extra="notify-delay 0;",
                )
            ],
            extra_conf=f'include "{self.key_file}";',
        )
        self.config = tmp / "secdns.toml"
        self.secdns: Secdns | None = None

    def write_config(self, secondary_allow: str = "", primary_allow: str = "") -> None:
        self.config.write_text(f"""
[server]
listen = ["127.0.0.1:{self.port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[transfer]
soa_timeout = 1
connect_timeout = 2

[[tsig_key]]
name = "xfr-key"
secret_file = "{self.key_file.name}"

[[tsig_key]]
name = "debug-key"
secret_file = "{self.debug_key_file.name}"

[[zone]]
name = "{ZONE}"
type = "secondary"
external_masters = [ {{ address = "127.0.0.1", port = {self.bind.port}, tsig_key = "xfr-key" }} ]
{secondary_allow}

[[zone]]
name = "{PRIMARY_ZONE}"
type = "primary"
file = "acl.db"
external_downstreams = [ {{ address = "127.0.0.1", port = {self.downstream_port}, tsig_key = "xfr-key" }} ]
{primary_allow}
""")

    def start(self) -> "Site":
        self.bind.start()
        self.write_config()
        self.secdns = Secdns(self.config, self.port).wait_ready()
        wait_until(lambda: soa_serial(self.port, ZONE) == 1, timeout=20, what="secdns to transfer serial 1 from BIND")
        return self

    def stop(self) -> None:
        if self.secdns is not None:
            self.secdns.stop()
        self.bind.stop()

    def key(self, path: Path, name: str, algorithm: str) -> str:
        return f"{algorithm}:{name}:{secret_of(path.read_text())}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("keyfiles-acl")).start()
    yield site
    site.stop()


def test_1_secondary_from_bind_with_the_tsig_keygen_file(site):
    """secdns took the zone from BIND with the key both read from the file tsig-keygen wrote."""
    log = site.secdns.log()
    assert "xfr-key" in site.key_file.read_text() and "hmac-sha512" in site.key_file.read_text()
    assert secret_of(site.key_file.read_text()) not in log
    assert soa_serial(site.port, ZONE) == 1


def test_2_axfr_refused_then_allowed_on_a_secondary_zone(site):
    """A debugging host's dig AXFR of a secondary zone: refused, then allowed by allow_transfer after SIGHUP."""
    out = dig_xfr(site.port, ZONE)
    assert refused(out), out
    assert "127.0.0.1 is not an external downstream of the zone" in site.secdns.log()
    site.write_config(secondary_allow='allow_transfer = [ { address = "127.0.0.1" } ]')
    log = reload_and_wait(site.secdns, "reloaded ")
    assert "reload failed" not in log
    out = dig_xfr(site.port, ZONE)
    assert transferred(out, ZONE), out
    assert "v1.example.com." in out


def test_3_a_new_secret_in_the_file_takes_effect_on_sighup(site):
    """The key file rewritten by tsig-keygen: secdns (SIGHUP) and BIND (SIGHUP) both use the new secret."""
    old = secret_of(site.key_file.read_text())
    site.key_file.write_text(tsig_keygen("-a", "hmac-sha512", "xfr-key"))
    new = secret_of(site.key_file.read_text())
    assert new != old
    reload_and_wait(site.secdns, "reloaded ")
    site.bind_zone.write_text(zone_text(ZONE, 2))
    site.bind.reload()  # BIND reads the key file and the zone again, and NOTIFYs secdns signed with the new key
    wait_until(lambda: soa_serial(site.port, ZONE) == 2, timeout=20, what="secdns to transfer serial 2 with the new key")
    assert old not in site.secdns.log() and new not in site.secdns.log()


def test_4_secondary_with_allow_transfer_serves_ixfr_from_its_journal(site):
    """A secondary zone that anyone may transfer keeps a journal: dig IXFR from serial 1 gets the difference."""
    out = dig_xfr(site.port, ZONE, "IXFR=1")
    records = [line.split() for line in out.splitlines() if line and not line.startswith(";")]
    soas = [r[6] for r in records if r[3] == "SOA"]
    assert soas == ["2", "1", "2", "2"], out  # ours, the old one (deleted), ours (added), ours
    assert any(r[0] == "v2.example.com." for r in records) and any(r[0] == "v1.example.com." for r in records)
    assert not any(r[0] == "www.example.com." for r in records), out


def test_5_a_broken_key_file_keeps_the_old_config(site):
    """A key file that no longer holds a key: the reload fails, naming file, key and line; the old key stays."""
    good = site.key_file.read_text()
    secret = secret_of(good)
    site.key_file.write_text(good.replace(secret, secret[:20] + "!!" + secret[22:]))
    try:
        log = reload_and_wait(site.secdns, "reload failed")
        line = [l for l in log.splitlines() if "reload failed" in l][-1]
        assert f'tsig_key "xfr-key".secret_file: {site.key_file}: line 1: key "xfr-key": the secret is not valid base64' in line
        assert secret[:20] not in log
        assert soa_serial(site.port, ZONE) == 2
        assert transferred(dig_xfr(site.port, ZONE), ZONE)
    finally:
        site.key_file.write_text(good)


def test_6_primary_zone_downstream_by_address_and_key_not_port(site):
    """A downstream's entry admits its address with its key, whatever port it listens on; unsigned is refused."""
    assert refused(dig_xfr(site.port, PRIMARY_ZONE))
    out = dig_xfr(site.port, PRIMARY_ZONE, key=site.key(site.key_file, "xfr-key", "hmac-sha512"))
    assert transferred(out, PRIMARY_ZONE), out
    # dig -k reads the very file tsig-keygen wrote, as secdns and BIND do.
    out = run([require("dig"), "-k", str(site.key_file), "@127.0.0.1", "-p", str(site.port), PRIMARY_ZONE, "AXFR"])
    assert transferred(out, PRIMARY_ZONE), out


def test_7_allow_transfer_with_a_key_from_keymgr(site):
    """allow_transfer naming a key (written by keymgr -t): unsigned refused, signed allowed; then open to the address."""
    site.write_config(
        secondary_allow='allow_transfer = [ { address = "127.0.0.1" } ]',
        primary_allow='allow_transfer = [ { address = "127.0.0.0/8", tsig_key = "debug-key" } ]',
    )
    reload_and_wait(site.secdns, "reloaded ")
    assert refused(dig_xfr(site.port, PRIMARY_ZONE))
    assert "127.0.0.1 used no key; the zone requires key debug-key, key xfr-key" in site.secdns.log()
    debug = site.key(site.debug_key_file, "debug-key", "hmac-sha384")
    assert transferred(dig_xfr(site.port, PRIMARY_ZONE, key=debug), PRIMARY_ZONE)
    kdig = run([require("kdig"), "@127.0.0.1", "-p", str(site.port), "-y", debug, PRIMARY_ZONE, "AXFR"])
    assert f"www.{PRIMARY_ZONE}." in kdig and "WARNING" not in kdig, kdig
    site.write_config(
        secondary_allow='allow_transfer = [ { address = "127.0.0.1" } ]',
        primary_allow='allow_transfer = [ { address = "127.0.0.1" } ]',
    )
    reload_and_wait(site.secdns, "reloaded ")
    assert transferred(dig_xfr(site.port, PRIMARY_ZONE), PRIMARY_ZONE)


def test_8_allow_transfer_removed_refuses_again(site):
    """allow_transfer taken away by a reload: refused at once."""
    site.write_config()
    reload_and_wait(site.secdns, "reloaded ")
    assert refused(dig_xfr(site.port, ZONE))
    assert refused(dig_xfr(site.port, PRIMARY_ZONE))
