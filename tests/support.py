"""
What integration tests share: free loopback ports, daemons started and
stopped by PID, and the rule that in CI a missing peer fails the test.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(command: str) -> str:
    """
    The path of a peer's command.  Missing: a failure in CI (where
    C{make test} installs it), a skip elsewhere.
    """
    path = shutil.which(command, path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))
    if path is None:
        message = f"{command} is not installed (make test installs it as root)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


# Ports handed to daemons come from below the kernel's ephemeral range
# (32768-60999 on Linux): a port from inside it can be taken, between our
# check and the daemon's bind, as the source port of any outgoing socket.
_PORTS = range(20000, 32768)
_handed_out: set[int] = set()
_next_port = [random.randrange(len(_PORTS))]


def _binds(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                return False
    return True


def free_port() -> int:
    """
    A port free for both UDP and TCP on 127.0.0.1, outside the ephemeral
    range, and never handed out twice in one test run.
    """
    for _ in range(len(_PORTS)):
        port = _PORTS[_next_port[0] % len(_PORTS)]
        _next_port[0] += 1
        if port not in _handed_out and _binds(port):
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port on 127.0.0.1")


class Daemon:
    """A process started by a test, stopped by its PID, its output kept in a log file."""

    def __init__(self, argv: list[str], log_path: Path, cwd: Path | None = None, env: dict | None = None):
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self._log_start = self._log.tell()  # a process started again appends to the same file
        self.process = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def own_log(self) -> str:
        """What this process has logged (not an earlier one's lines in the same file)."""
        with open(self.log_path, "rb") as f:
            f.seek(self._log_start)
            return f.read().decode(errors="replace")

    def running(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.running():
            os.kill(self.pid, signum)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after C{timeout} seconds: by PID, never by name."""
        if self.running():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(timeout)
        self._log.close()
        return self.process.returncode


def wait_for_dns(port: int, qname: str = ".", timeout: float = 15.0, process: Daemon | None = None) -> None:
    """Wait until something answers DNS over UDP on 127.0.0.1:port (any rcode)."""
    deadline = time.monotonic() + timeout
    query = dns.message.make_query(qname, "SOA")
    while time.monotonic() < deadline:
        if process is not None and not process.running():
            raise AssertionError(f"{process.argv[0]} exited early:\n{process.log()[-3000:]}")
        try:
            dns.query.udp(query, LOOPBACK, port=port, timeout=0.5)
            return
        except (dns.exception.Timeout, OSError):
            time.sleep(0.1)
    raise AssertionError(f"nothing answered DNS on port {port} within {timeout} s")


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.1, what: str = "condition"):
    """Poll C{predicate} until it returns something true, at most C{timeout} seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def twistd_argv(config_path: Path) -> list[str]:
    """C{twistd -n secdns --config PATH}, run by this test's Python."""
    return [
        str(Path(sys.executable).with_name("twistd")),
        "-n",
        "--pidfile=",
        "--logfile=-",
        "secdns",
        "--config",
        str(config_path),
    ]


def secdns_env() -> dict:
    """The environment for a secdns subprocess: this tree first on the path (and its plugin)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


class Secdns(Daemon):
    """C{twistd -n secdns} on a config written by the test."""

    def __init__(self, config_path: Path, port: int, log_path: Path | None = None):
        self.config_path = config_path
        self.port = port
        super().__init__(
            twistd_argv(config_path),
            log_path or config_path.with_suffix(".log"),
            cwd=config_path.parent,
            env=secdns_env(),
        )

    def wait_ready(self, timeout: float = 20.0) -> "Secdns":
        """Wait until it answers DNS and has read every zone file (it logs "secdns serving" then)."""
        wait_for_dns(self.port, timeout=timeout, process=self)
        wait_until(lambda: "secdns serving " in self.own_log(), timeout=timeout, what="the zone files to be read")
        return self

    def reload(self) -> None:
        self.signal(signal.SIGHUP)


def query(qname: str, rdtype: str, port: int, tcp: bool = False, **kw) -> dns.message.Message:
    """One query to 127.0.0.1:port with dnspython."""
    message = dns.message.make_query(qname, rdtype, **kw)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(message, LOOPBACK, port=port, timeout=5)


def rcode_of(response: dns.message.Message) -> str:
    return dns.rcode.to_text(response.rcode())


def memory_kib(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory now (VmRSS) or at its peak (VmHWM), KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


@contextlib.contextmanager
def tmpfs(mount: Path, options: str = "size=3m"):
    """
    A tmpfs mounted at C{mount} (made if missing) with C{options}, unmounted
    afterwards.  Needs root: a failure in CI, a skip elsewhere.
    """
    mount.mkdir(exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], capture_output=True, text=True)
    if result.returncode != 0:
        message = f"cannot mount a tmpfs (needs root): {result.stderr.strip()}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
