"""
The systemd unit's privileges, tried for real without systemd: twistd
secdns started as an unprivileged user with only the unit's capability
(ambient and bounding CAP_NET_BIND_SERVICE, no new privileges: what
systemd does for User=, AmbientCapabilities=, CapabilityBoundingSet= and
NoNewPrivileges=, done here by setpriv) answers on port 53 of a loopback
address, writes its store as that user, reloads on SIGHUP and stops.

Needs root (to become another user) and an interpreter that user may run;
skipped where either is missing.
"""

from __future__ import annotations

import os
import pwd
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import dns.message
import dns.query
import pytest

from tests.support import ROOT, Daemon, wait_until
from tests.unit.test_systemd_unit import service

USER = "nobody"


def interpreter_for(user: pwd.struct_passwd) -> str | None:
    """A Python 3.11 that C{user} may run: this one, or the system's."""
    for candidate in (sys.executable, "/usr/bin/python3.11", "/usr/bin/python3"):
        if not Path(candidate).exists():
            continue
        probe = subprocess.run(
            ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", candidate, "-c",
             "import sys; print(sys.version_info[:2] == (3, 11))"],
            capture_output=True, text=True, timeout=30,
        )
        if probe.stdout.strip() == "True":
            return candidate
    return None


@pytest.fixture
def site():
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv (util-linux) to start secdns as another user")
    user = pwd.getpwnam(USER)
    python = interpreter_for(user)
    if python is None:
        pytest.skip(f"no Python 3.11 that the user {USER} may run")
    root = Path(tempfile.mkdtemp(prefix="secdns-unit-", dir="/tmp"))
    try:
        root.chmod(0o755)
        # A venv of that interpreter, lent this environment's packages and this tree (both readable by all).
        subprocess.run([python, "-m", "venv", "--without-pip", str(root / "venv")], check=True, timeout=60)
        purelib = subprocess.run([root / "venv" / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        Path(purelib, "borrowed.pth").write_text(f"{ROOT}\n{sysconfig.get_paths()['purelib']}\n")
        twistd = root / "venv" / "bin" / "twistd"  # as pip writes it for Twisted
        twistd.write_text(f"#!{root / 'venv' / 'bin' / 'python'}\nimport sys\nfrom twisted.scripts.twistd import run\nsys.exit(run())\n")
        twistd.chmod(0o755)
        # As docs/install.rst says: twistd run once as root writes the plugin cache the service cannot.
        subprocess.run([twistd, "--help"], capture_output=True, check=True, timeout=60, env=_environ())
        shutil.copytree(ROOT / "etc" / "zones", root / "zones")
        state = root / "state"
        state.mkdir(mode=0o750)
        os.chown(state, user.pw_uid, user.pw_gid)
        address = f"127.{random.randrange(64, 250)}.{random.randrange(1, 250)}.{random.randrange(1, 250)}"
        (root / "secdns.toml").write_text(
            f'[server]\nlisten = ["{address}:53"]\nstate_dir = "{state}"\n\n'
            '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zones/example.org.zone"\n'
        )
        for path in root.rglob("*"):
            if path != state and state not in path.parents:
                path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
        yield root, user, address
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_port_53_as_an_unprivileged_user_with_the_units_capability(site):
    root, user, address = site
    unit = service()
    assert unit["User"] == "secdns"  # here: nobody, the same as far as the kernel cares
    caps = unit["AmbientCapabilities"].lower().removeprefix("cap_")
    assert unit["CapabilityBoundingSet"].lower().removeprefix("cap_") == caps and unit["NoNewPrivileges"] == "yes"
    argv = shlex.split(unit["ExecStart"])
    argv[0] = str(root / "venv" / "bin" / "twistd")
    argv[argv.index("--config") + 1] = str(root / "secdns.toml")
    setpriv = [
        "setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
        f"--inh-caps=+{caps}", f"--ambient-caps=+{caps}", f"--bounding-set=-all,+{caps}", "--no-new-privs",
    ]
    daemon = Daemon(setpriv + argv, root / "twistd.log", cwd=root / "state", env=_environ())
    try:
        answer = wait_until(lambda: ask(address, daemon), 20, what=f"an answer on {address}:53")
        assert answer.answer[0][0].serial == 2026112101
        status = Path(f"/proc/{daemon.pid}/status").read_text()
        assert f"Uid:\t{user.pw_uid}\t{user.pw_uid}" in status
        assert "NoNewPrivs:\t1" in status
        effective = int(re.search(r"^CapEff:\t([0-9a-f]+)$", status, re.M).group(1), 16)
        assert effective == 1 << 10  # CAP_NET_BIND_SERVICE, and nothing else
        daemon.signal(signal.SIGHUP)
        wait_until(lambda: "reloaded " in daemon.log(), 10, what="the reload")
    finally:
        daemon.stop()
    log = daemon.log()
    assert "Unable to write to plugin cache" not in log and "Traceback" not in log, log
    stored = root / "state" / "secdns.sqlite"
    assert stored.stat().st_uid == user.pw_uid  # the store is the service user's
    assert f"answering on {address}:53" in log and "Server Shut Down." in log, log


def _environ() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def ask(address: str, daemon: Daemon):
    """The SOA of example.org from secdns on port 53, or None while it does not serve it yet."""
    if not daemon.running():
        raise AssertionError(f"twistd exited:\n{daemon.log()[-3000:]}")
    try:
        response = dns.query.udp(dns.message.make_query("example.org", "SOA"), address, port=53, timeout=0.5)
    except (dns.exception.Timeout, OSError):
        return None
    return response if response.answer else None  # SERVFAIL until the zone file is read
