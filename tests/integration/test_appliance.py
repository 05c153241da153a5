"""The appliance as an operator runs it: C{twistd -n secdns --config PATH}."""

from __future__ import annotations

import base64
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import dns.message
import dns.name
import dns.query
import pytest

from secdns.config import ZoneConfig
from secdns.store.database import Store

from tests.support import (
    LOOPBACK,
    ROOT,
    Daemon,
    Secdns,
    free_port,
    query,
    rcode_of,
    secdns_env,
    twistd_argv,
    wait_for_dns,
    wait_until,
)


@pytest.fixture
def appliance(tmp_path):
    port = free_port()
    shutil.copytree(ROOT / "etc" / "zones", tmp_path / "zones")
    config = tmp_path / "secdns.toml"
    config.write_text(
        f"""
[server]
listen = ["127.0.0.1:{port}"]
state_dir = "var"

[[zone]]
name = "example.org"
type = "primary"
file = "zones/example.org.zone"
"""
    )
    secdns = Secdns(config, port)
    try:
        yield secdns.wait_ready()
    finally:
        secdns.stop()


def test_example_zone_answers(appliance):
    """The example zone is answered authoritatively over UDP and TCP."""
    for tcp in (False, True):
        response = query("www.example.org", "A", appliance.port, tcp=tcp)
        assert rcode_of(response) == "NOERROR"
        assert response.flags & 0x0400  # AA
        assert [rrset.rdtype for rrset in response.answer] == [5, 1]


def test_invalid_config_exits_with_one_line(tmp_path):
    """An invalid config ends twistd with a non-zero status and one line naming file, key and problem."""
    config = tmp_path / "bad.toml"
    config.write_text('[[zone]]\nname = "example.com"\ntype = "secondary"\n')
    result = subprocess.run(
        twistd_argv(config), capture_output=True, text=True, env=secdns_env(), timeout=60, cwd=tmp_path
    )
    assert result.returncode != 0
    assert f'{config}: zone "example.com".external_masters: is required for a secondary zone' in result.stderr


def test_missing_zone_file_exits_with_one_line(tmp_path):
    """A primary zone whose file is missing ends twistd at start with one line naming config, key and file."""
    config = tmp_path / "secdns.toml"
    config.write_text('[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zones/missing.zone"\n')
    result = subprocess.run(
        twistd_argv(config), capture_output=True, text=True, env=secdns_env(), timeout=60, cwd=tmp_path
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f'secdns: {config}: zone "example.org".file: {tmp_path / "zones" / "missing.zone"}: '
        "cannot read: No such file or directory"
    ]


def test_port_in_use_exits_with_one_line(tmp_path):
    """A listen address that cannot be bound ends twistd with one line naming the key, the address and why."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "secdns.toml"
        config.write_text(f'[server]\nlisten = ["127.0.0.1:{port}"]\nstate_dir = "var"\n')
        result = subprocess.run(
            twistd_argv(config), capture_output=True, text=True, env=secdns_env(), timeout=60, cwd=tmp_path
        )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert (
        f"secdns: {config}: server.listen: cannot listen on 127.0.0.1:{port} (TCP): Address already in use"
    ) in output


# -- reloading on SIGHUP


def zone_text(origin: str, serial: int, address: str = "192.0.2.80", extra: str = "") -> str:
    return (
        f"$ORIGIN {origin}.\n$TTL 300\n"
        f"@   IN SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n"
        "    IN NS  ns1\nns1 IN A   192.0.2.1\n"
        f"www IN A   {address}\n{extra}"
    )


class Site:
    """A config directory the test edits, and the appliance serving it."""

    def __init__(self, path, port: int) -> None:
        self.path = path
        self.port = port
        (path / "zones").mkdir()
        self.config_path = path / "secdns.toml"

    def config(self, *zones: str, extra: str = "") -> None:
        text = f'[server]\nlisten = ["127.0.0.1:{self.port}"]\nstate_dir = "var"\n{extra}'
        for origin in zones:
            text += f'[[zone]]\nname = "{origin}"\ntype = "primary"\nfile = "zones/{origin}.zone"\n'
        self.config_path.write_text(text)

    def zone(self, origin: str, serial: int, address: str = "192.0.2.80", extra: str = "") -> None:
        (self.path / "zones" / f"{origin}.zone").write_text(zone_text(origin, serial, address, extra))

    def start(self) -> Daemon:
        self.secdns = Secdns(self.config_path, self.port).wait_ready()
        return self.secdns

    def reload(self) -> str:
        """SIGHUP, and wait until the reload is over; its log lines."""
        before = self.secdns.log()
        self.secdns.signal(signal.SIGHUP)

        def finished():
            log = self.secdns.log()
            new = log[len(before) :]
            return log if "reloaded " in new or "reload failed" in new else None

        after = wait_until(finished, what="the reload to finish")
        assert self.secdns.running()
        return after[len(before) :]

    def www(self, origin: str, tcp: bool = False) -> tuple[str, str]:
        """The rcode and the address of www in that zone."""
        response = query(f"www.{origin}", "A", self.port, tcp=tcp)
        answer = response.answer[0][0].to_text() if response.answer else ""
        return rcode_of(response), answer

    def serial(self, origin: str) -> int:
        return query(origin, "SOA", self.port).answer[0][0].serial


@pytest.fixture
def site(tmp_path):
    site = Site(tmp_path, free_port())
    site.zone("example.org", 1)
    site.zone("example.net", 1)
    site.config("example.org", "example.net")
    try:
        yield site
    finally:
        if hasattr(site, "secdns"):
            site.secdns.stop()


def test_sighup_adds_removes_and_changes_zones(site):
    """SIGHUP applies a new config: a zone added, a zone removed, a zone file with a higher serial."""
    site.start()
    assert site.www("example.org") == ("NOERROR", "192.0.2.80")
    site.zone("example.com", 5, "192.0.2.55")
    site.zone("example.org", 2, "192.0.2.81")
    site.config("example.org", "example.com")
    lines = site.reload()
    assert "reloaded " in lines and "(1 added, 1 removed, 0 reconfigured)" in lines
    assert "zone example.net: removed" in lines
    assert site.www("example.com") == ("NOERROR", "192.0.2.55")
    assert site.www("example.org") == ("NOERROR", "192.0.2.81")
    assert site.serial("example.org") == 2
    assert site.www("example.net") == ("REFUSED", "")


def test_sighup_refuses_zone_file_whose_serial_did_not_grow(site):
    """A zone file edited without a higher serial is not loaded on SIGHUP, and the log says why."""
    site.start()
    site.zone("example.org", 1, "192.0.2.81")
    lines = site.reload()
    path = site.path / "zones" / "example.org.zone"
    assert (
        f"zone example.org: {path} changed but its serial 1 is not greater than 1; "
        "not loaded, still serving serial 1"
    ) in lines
    assert site.www("example.org") == ("NOERROR", "192.0.2.80")
    site.zone("example.org", 2, "192.0.2.82")
    site.reload()
    assert site.www("example.org") == ("NOERROR", "192.0.2.82")


def test_sighup_with_broken_config_keeps_old_zones(site):
    """A broken config on SIGHUP is logged in one line and every zone keeps being served as before."""
    site.start()
    site.config("example.org", "example.net", extra="max_udp_size = 100\n")
    site.zone("example.org", 2, "192.0.2.81")
    lines = site.reload()
    assert (
        f"reload failed, leaving the old configuration in place: {site.config_path}: "
        "server.max_udp_size: must be between 512 and 65535, not 100"
    ) in lines
    for origin in ("example.org", "example.net"):
        for tcp in (False, True):
            assert site.www(origin, tcp=tcp) == ("NOERROR", "192.0.2.80")
    site.config("example.org", extra='[[tsig_key]]\nname = "k"\nsecret = "%%%"\n')
    lines = site.reload()
    assert f'{site.config_path}: tsig_key "k".secret: is not valid base64' in lines
    assert site.www("example.net") == ("NOERROR", "192.0.2.80")
    site.config("example.org", "example.net")
    site.reload()
    assert site.www("example.org") == ("NOERROR", "192.0.2.81")


def test_sighup_with_broken_zone_file_keeps_that_zone(site):
    """A zone file broken on SIGHUP is logged; its zone keeps its old version while the others reload."""
    site.start()
    site.zone("example.org", 2, extra="bad IN AAA ::1\n")
    site.zone("example.net", 2, "192.0.2.81")
    lines = site.reload()
    path = site.path / "zones" / "example.org.zone"
    assert f"zone example.org: {path}:7: unknown rdatatype 'AAA'; still serving serial 1" in lines
    assert site.www("example.org") == ("NOERROR", "192.0.2.80")
    assert site.serial("example.org") == 1
    assert site.www("example.net") == ("NOERROR", "192.0.2.81")
    (site.path / "zones" / "example.org.zone").unlink()
    lines = site.reload()
    assert f"zone example.org: {path}: cannot read: No such file or directory; still serving serial 1" in lines
    assert site.www("example.org") == ("NOERROR", "192.0.2.80")


# Each version k of the changing zone: serial BASE + k, and a CNAME to a
# name that exists in version k only, which holds the TXT "k".  A response
# from a mix of two versions, or from a half-loaded zone, breaks the pair.
BASE_SERIAL = 2026010100
RELOADS = 5
FILLER = "$GENERATE 1-3000 host$ AAAA 2001:db8::$\n"  # makes each reload take a while


def version_zone(k: int) -> str:
    return f'alias IN CNAME target-{k}\ntarget-{k} IN TXT "{k}"\n' + FILLER


def read_version(response) -> int:
    """The version a response to "alias TXT" comes from; fails on any error or mix."""
    assert rcode_of(response) == "NOERROR", rcode_of(response)
    assert response.flags & 0x0400, "not authoritative"
    cname, txt = response.answer
    k = int(cname[0].target.labels[0].decode().removeprefix("target-"))
    assert txt.name == cname[0].target
    assert [r.to_text() for r in txt] == [f'"{k}"'], f"CNAME of version {k} with {txt}"
    return k


def test_queries_answered_throughout_reloads(site):
    """Queries sent without pause over UDP and TCP during several reloads all get the old or the new version."""
    site.zone("example.org", BASE_SERIAL, extra=version_zone(0))
    site.start()
    stop = threading.Event()
    seen: dict[str, list[int]] = {"udp": [], "tcp": []}
    errors: list[str] = []
    deadline = time.monotonic() + 40

    def ask(kind: str) -> None:
        sock = socket.create_connection((LOOPBACK, site.port), timeout=5) if kind == "tcp" else None
        try:
            for _ in range(20000):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                message = dns.message.make_query("alias.example.org", "TXT")
                try:
                    if sock is None:
                        response = dns.query.udp(message, LOOPBACK, port=site.port, timeout=3)
                    else:
                        response = dns.query.tcp(message, LOOPBACK, port=site.port, timeout=3, sock=sock)
                    seen[kind].append(read_version(response))
                except Exception as e:  # any failure is what this test looks for
                    errors.append(f"{kind}: {e!r}")
                    return
        finally:
            if sock is not None:
                sock.close()

    threads = [threading.Thread(target=ask, args=(kind,), daemon=True) for kind in seen]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: errors or all(seen.values()), what="both clients to see version 0")
        for k in range(1, RELOADS + 1):
            site.zone("example.org", BASE_SERIAL + k, extra=version_zone(k))
            site.reload()
            wait_until(
                lambda: errors or all(versions and versions[-1] == k for versions in seen.values()),
                what=f"both clients to see version {k}",
            )
            assert not errors, errors
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert not errors, errors
    for kind, versions in seen.items():
        assert versions == sorted(versions), f"{kind} went back to an older version"
        assert set(versions) == set(range(RELOADS + 1)), f"{kind} missed a version"
    assert site.serial("example.org") == BASE_SERIAL + RELOADS


# -- a privileged port under twistd --uid


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                return False
    return True


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="binding port 853 needs root")
def test_privileged_port_under_uid():
    """Started as root with --uid nobody, secdns binds port 853 before dropping privileges, then answers and reloads as nobody."""
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    port = 853
    if not _bindable(port):
        pytest.skip(f"port {port} is in use")
    # pytest's tmp_path lies under a 0700 directory that nobody cannot enter.
    base = Path(tempfile.mkdtemp(prefix="secdns-uid-"))
    daemon = None
    try:
        base.chmod(0o755)
        site = Site(base, port)
        site.zone("example.org", 1)
        site.config("example.org")
        (base / "var").mkdir()
        os.chown(base / "var", nobody.pw_uid, nobody.pw_gid)
        argv = twistd_argv(site.config_path)
        at = argv.index("secdns")
        argv[at:at] = ["--uid", str(nobody.pw_uid), "--gid", str(nobody.pw_gid)]
        daemon = site.secdns = Daemon(argv, base / "secdns.log", cwd=base, env=secdns_env())
        wait_for_dns(port, timeout=20, process=daemon)
        wait_until(lambda: "secdns serving " in daemon.log(), timeout=20, what="the zone file to be read")
        status = Path(f"/proc/{daemon.pid}/status").read_text()
        uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
        assert set(uids) == {str(nobody.pw_uid)}
        for tcp in (False, True):
            assert site.www("example.org", tcp=tcp) == ("NOERROR", "192.0.2.80")
        site.zone("example.org", 2, "192.0.2.81")
        site.reload()
        assert site.www("example.org") == ("NOERROR", "192.0.2.81")
    finally:
        if daemon is not None:
            daemon.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_a_zone_both_declared_and_made_at_run_time_exits_with_one_line(tmp_path):
    """A config naming a zone the store holds as made through the API: twistd exits, naming both."""
    store = Store.open(str(tmp_path / "var"))
    store.save_api_zone(ZoneConfig(dns.name.from_text("example.net"), "primary"), 0.0)
    store.close()
    key = base64.b64encode(b"k" * 32).decode()
    config = tmp_path / "secdns.toml"
    config.write_text(
        f'[server]\nlisten = ["127.0.0.1:{free_port()}"]\nstate_dir = "var"\n'
        f'[[tsig_key]]\nname = "upd"\nsecret = "{key}"\n'
        '[[zone]]\nname = "example.net"\ntype = "primary"\nallow_update = ["upd"]\n'
    )
    result = subprocess.run(
        twistd_argv(config), capture_output=True, text=True, env=secdns_env(), timeout=60, cwd=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    assert (
        f'secdns: {config}: zone "example.net": is also a zone made through the API '
        f'(kept in {tmp_path / "var" / "secdns.sqlite"}); delete one of them'
    ) in output
