"""
The SSH manhole with the real OpenSSH client, driven through a pty
(pexpect): secdns (C{twistd -n secdns}) is the secondary of a real BIND
primary that sends no NOTIFY, so only the manhole's C{refresh()} brings a
new serial.  An authorized key logs in and sees the zone table; the
refresh is printed in the session when the transfer ends and the new
serial is answered over DNS; a mistyped expression prints a traceback and
secdns still answers; C{keys()} shows no secret; a key not in
C{authorized_keys} is refused; the host key file is made 0600.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from tests.peers import Bind, PeerZone
from tests.support import Secdns, free_port, in_ci, require, wait_until

try:
    import pexpect
except ImportError:  # the test extra has it; in CI its absence is a failure, not a skip
    if in_ci():
        raise
    pytest.skip("pexpect is not installed (pip install -e '.[test]')", allow_module_level=True)

ZONE = "example.com"
SECRET = "bWFuaG9sZS10ZXN0LXNlY3JldC1ub3QtdG8tYmUtc2hvd24="
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[cE78]")
PROMPT = ">>> "


def zone_text(serial: int) -> str:
    return "\n".join(
        [
            "$ORIGIN example.com.",
            "$TTL 300",
            f"@ SOA ns1 hostmaster {serial} 3600 600 86400 60",
            "@ NS ns1",
            "ns1 A 192.0.2.1",
            f'txt TXT "serial {serial}"',
            *[f"host{i} A 198.51.100.{i}" for i in range(1, 10)],
            "",
        ]
    )


def keygen(path: Path) -> Path:
    subprocess.run(
        [require("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True, timeout=30,
    )
    return path


class Site:
    """BIND with the zone; secdns its secondary, with a [manhole] on loopback."""

    def __init__(self, tmp: Path) -> None:
        require("ssh")
        self.tmp = tmp
        self.zone_file = tmp / "example.com.zone"
        self.zone_file.write_text(zone_text(1))
        # No NOTIFY to secdns: only a refresh brings a new serial.
        zone = PeerZone(ZONE, file=self.zone_file, extra="allow-transfer { 127.0.0.1; };\n    notify no;")
        self.bind = Bind(tmp, free_port(), zones=[zone]).start()
        self.operator = keygen(tmp / "operator")
        self.stranger = keygen(tmp / "stranger")
        (tmp / "authorized_keys").write_text(
            "# who may log in to the manhole\n" + (tmp / "operator.pub").read_text()
        )
        (tmp / "authorized_keys").chmod(0o600)  # whatever the umask: one others may write lets nobody in
        self.port = free_port()
        self.ssh_port = free_port()
        self.config = tmp / "secdns.toml"
        self.config.write_text(
            f"""
[server]
listen = ["127.0.0.1:{self.port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[timers]
min_refresh = 1
min_retry = 1
min_expire = 1

[transfer]
soa_timeout = 1
connect_timeout = 2

[[tsig_key]]
name = "update-key"
secret = "{SECRET}"

[[zone]]
name = "{ZONE}"
type = "secondary"
external_masters = [ {{ address = "127.0.0.1", port = {self.bind.port} }} ]

[manhole]
listen = "127.0.0.1:{self.ssh_port}"
authorized_keys = "authorized_keys"
"""
        )
        self.secdns = Secdns(self.config, self.port).wait_ready()
        wait_until(lambda: self.serial() == 1, 15, what="secdns serving serial 1")

    def serial(self) -> int | None:
        from tests.peers import soa_serial

        return soa_serial(self.port, ZONE)

    def ssh_argv(self, key: Path) -> list[str]:
        return [
            "-p", str(self.ssh_port), "-i", str(key),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
            "-F", "/dev/null", "operator@127.0.0.1",
        ]

    def stop(self) -> None:
        self.secdns.stop()
        self.bind.stop()


class Session:
    """One login through a pty: lines in, the console's output (colours stripped) out."""

    def __init__(self, site: Site, key: Path | None = None) -> None:
        self.child = pexpect.spawn(
            require("ssh"), ["-tt", *site.ssh_argv(key or site.operator)],
            encoding="utf-8", codec_errors="replace", timeout=15, dimensions=(60, 200),
        )
        self.child.expect_exact(PROMPT)
        self.banner = clean(self.child.before)

    def run(self, line: str, timeout: float = 15) -> str:
        """Type C{line}; what the console printed before the next prompt."""
        self.child.sendline(line)
        self.child.expect_exact("\r\n", timeout=timeout)  # the end of the echoed line
        self.child.expect_exact(PROMPT, timeout=timeout)
        return clean(self.child.before)

    def expect(self, pattern: str, timeout: float = 30) -> str:
        """Output that comes later (a Deferred's result): the first match of C{pattern}."""
        self.child.expect(pattern, timeout=timeout)
        found = clean(self.child.match.group(0))
        self.child.expect_exact(PROMPT, timeout=timeout)  # the prompt drawn again below it
        return found

    def close(self) -> int | None:
        if self.child.isalive():
            self.child.sendcontrol("d")
            try:
                self.child.expect(pexpect.EOF, timeout=10)
            finally:
                self.child.close(force=True)
        return self.child.exitstatus


def clean(text: str) -> str:
    return ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("manhole"))
    yield site
    site.stop()


@pytest.fixture
def session(site):
    session = Session(site)
    yield session
    session.close()


def test_host_key_made_0600(site):
    key = site.tmp / "var" / "manhole_host_key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert "manhole: made host key" in site.secdns.log()


def test_login_shows_the_banner_and_the_zone_table(site, session):
    assert "secdns manhole" in session.banner and "blocks DNS" in session.banner
    table = session.run("zones()").splitlines()
    assert table[0].split()[:5] == ["zone", "type", "health", "serial", "records"]
    row = table[1].split()
    assert row[:5] == [ZONE, "secondary", "serving", "1", "13"]  # SOA, NS, ns1, txt and 9 hosts
    report = session.run('zone("example.com")')
    assert "zone example.com" in report and f"127.0.0.1#{site.bind.port}  reachable, serial 1" in report


def test_refresh_brings_the_new_serial_from_bind(site, session):
    site.zone_file.write_text(zone_text(2))
    site.bind.reload()
    site.bind.wait_for_zone(ZONE, serial=2, timeout=15)
    assert site.serial() == 1  # no NOTIFY: secdns does not know yet
    assert re.fullmatch(r"<Deferred #\d+>\n?", session.run('refresh("example.com")'))
    outcome = session.expect(r"Deferred #\d+ called back: [^\r\n]*", timeout=30)
    assert re.search(rf"zone example\.com: \S+( \(.*\))? from 127\.0\.0\.1#{site.bind.port}: serial 1 -> 2", outcome), outcome
    assert site.serial() == 2
    events = session.run("events(3)")
    assert "serial 1 -> 2" in events
    nothing_new = session.run('refresh("example.com")')
    assert "<Deferred" in nothing_new
    assert "serial 2 is current at its masters" in session.expect(r"Deferred #\d+ called back: [^\r\n]*")


def test_mistyped_expression_prints_a_traceback_and_secdns_keeps_answering(site, session):
    out = session.run("1/0")
    assert "Traceback (most recent call last):" in out and "ZeroDivisionError: division by zero" in out
    assert "NameError: name 'zonez' is not defined" in session.run("zonez()")
    assert session.run('zone("no-such-zone.example")').strip() == "zone: no zone no-such-zone.example"
    out = session.run('core.status("no-such-zone.example")')
    assert "Traceback" in out and "NoSuchZone: no zone no-such-zone.example" in out
    assert session.run("1 + 1").strip() == "2"
    assert site.serial() is not None  # DNS still answered
    assert site.secdns.running()
    assert ZONE in session.run("zones()")


def test_keys_show_names_and_algorithms_never_secrets(site, session):
    out = session.run("keys()")
    assert "update-key" in out and "hmac-sha256" in out
    for text in (out, session.run("core.keyring"), session.run("core.config"), session.run("keys().rows")):
        assert SECRET not in text and SECRET[:16] not in text
    assert "update-key" in session.run("core.keyring")


def test_metrics_and_help(site, session):
    out = session.run('metrics("zone_serial")')
    assert "secdns_zone_serial (gauge)" in out and 'zone="example.com"' in out
    assert "Have a secondary zone ask its masters now" in session.run("help(refresh)")


def test_key_not_in_authorized_keys_is_refused(site):
    done = subprocess.run(
        [require("ssh"), *site.ssh_argv(site.stranger), "zones()"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert done.returncode != 0
    assert "Permission denied (publickey)" in done.stderr  # and no other way in is offered
    assert site.secdns.running()


def test_authorized_keys_read_at_each_login(site):
    """A key added to authorized_keys lets its holder in at the next login, without a reload."""
    keys = site.tmp / "authorized_keys"
    before = keys.read_text()
    try:
        keys.write_text(before + (site.tmp / "stranger.pub").read_text())
        session = Session(site, site.stranger)
        try:
            assert session.run("1 + 2").strip() == "3"
        finally:
            session.close()
    finally:
        keys.write_text(before)


def test_a_command_or_no_terminal_is_told_why(site):
    command = subprocess.run(
        [require("ssh"), *site.ssh_argv(site.operator), "zones()"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert command.returncode != 0
    assert "secdns manhole: it runs no commands: log in without one, and type Python at the prompt" in command.stderr
    piped = subprocess.run(
        [require("ssh"), "-T", *site.ssh_argv(site.operator)],
        input="zones()\n", capture_output=True, text=True, timeout=30,
    )
    assert piped.returncode != 0
    assert "secdns manhole: it needs a terminal: run ssh with -t" in piped.stderr


def test_window_resized_and_eof(site):
    session = Session(site)
    session.child.setwinsize(30, 100)
    assert session.run("6 * 7").strip() == "42"
    session.child.sendeof()
    session.child.expect(pexpect.EOF, timeout=10)
    session.close()


def test_log_has_one_line_per_login_and_no_ssh_chatter(site, session):
    session.run("1")
    wait_until(lambda: "manhole: operator logged in from 127.0.0.1:" in site.secdns.log(), 5, what="the login line")
    log = site.secdns.log()
    listed = subprocess.run(
        [require("ssh-keygen"), "-l", "-f", str(site.tmp / "operator.pub")], capture_output=True, text=True, timeout=30
    ).stdout.split()[1]
    assert re.search(rf"manhole: operator logged in from 127\.0\.0\.1:\d+ with key {re.escape(listed)}$", log, re.M)
    assert re.search(r"manhole: login refused for operator from 127\.0\.0\.1:\d+: key SHA256:\S+ is not in authorized_keys", log)
    assert re.search(r"manhole: session from 127\.0\.0\.1:\d+ ended", log)
    for chatter in (
        "channel open", "Handling pty request", "requesting shell", "Got remote error", "moduli file", "connection lost",
        "Traceback", "Unhandled Error", "NotImplementedError",
    ):
        assert chatter not in log, chatter


def test_host_key_readable_by_others_stops_secdns(tmp_path):
    """A host key file the group or others may read: secdns refuses to start, saying why in one line."""
    (tmp_path / "var").mkdir()
    key = tmp_path / "var" / "manhole_host_key"
    subprocess.run([require("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    key.chmod(0o644)
    (tmp_path / "authorized_keys").write_text("")
    config = tmp_path / "secdns.toml"
    config.write_text(
        f'[server]\nlisten = ["127.0.0.1:{free_port()}"]\nstate_dir = "var"\n'
        f'[manhole]\nlisten = "127.0.0.1:{free_port()}"\nauthorized_keys = "authorized_keys"\n'
    )
    from tests.support import secdns_env, twistd_argv

    done = subprocess.run(
        twistd_argv(config), cwd=tmp_path, env=secdns_env(), capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode != 0
    assert (
        f"secdns: {config}: manhole.host_key: {key} may be read by others (mode 0644): "
        f"whoever reads it can pose as this server; run chmod 600 {key}"
    ) in done.stdout + done.stderr


def test_reload_says_whether_the_config_was_taken(site, session):
    good = site.config.read_text()
    try:
        site.config.write_text(good + "\nbogus = 1\n")
        out = session.run("reload()")
        assert out.startswith(f"reload of {site.config} refused, the old config stays in force: ")
        assert "manhole.bogus: unknown key" in out
    finally:
        site.config.write_text(good)
    assert session.run("reload()").startswith(f"reloaded {site.config}: config taken")
    assert site.serial() is not None
