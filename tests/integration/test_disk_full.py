"""
A full state_dir (issue 13), on a tmpfs this test mounts and unmounts
itself: a transfer that cannot be stored is not served, the zone keeps
serving what it had, the failure's reason says why in the system's words
("No space left on device", not SQLite's "cannot rollback - no transaction
is active"), and once there is room again the next refresh stores and
serves it.  (A read-only one: tests/unit/test_storage_failure.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api_client import ApiClient
from tests.peers import Bind, PeerZone
from tests.support import LOOPBACK, Secdns, free_port, query, tmpfs, wait_until

ZONE = "big.test"


def zone_text(serial: int, hosts: int) -> str:
    lines = ["$TTL 300", f"@ SOA ns1 hostmaster {serial} 3600 600 86400 60", "@ NS ns1", "ns1 A 192.0.2.1"]
    lines += [f"host{i} A 198.51.100.{i % 250} " for i in range(hosts)]
    lines += [f'host{i} TXT "{"padding " * 8}{i}"' for i in range(hosts)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def state(tmp_path):
    """A 3 MB tmpfs for the state_dir."""
    with tmpfs(tmp_path / "state") as mount:
        yield mount


def fill(path: Path) -> None:
    """Write zeros to C{path} until its file system is full (a 3 MB one: a bounded loop)."""
    with open(path, "wb") as f:
        for _ in range(1024):
            try:
                f.write(b"\0" * 65536)
                f.flush()
            except OSError:
                return
    raise AssertionError(f"{path}'s file system did not fill up")


def serial(port: int) -> int | None:
    answer = query(ZONE, "SOA", port).answer
    return answer[0][0].serial if answer else None


def test_full_state_dir(tmp_path, state):
    bind_port, port, http = free_port(), free_port(), free_port()
    zone_file = tmp_path / "big.zone"
    zone_file.write_text(zone_text(1, 10))
    bind = Bind(tmp_path, bind_port, zones=[PeerZone(ZONE, file=zone_file, downstreams=((LOOPBACK, port),))]).start()
    config = tmp_path / "secdns.toml"
    config.write_text(
        f'[server]\nlisten = ["{LOOPBACK}:{port}"]\nstate_dir = "{state}"\ntransfer_source = "{LOOPBACK}"\n'
        f'[http]\nlisten = "{LOOPBACK}:{http}"\n'
        "[timers]\nmin_refresh = 3600\nmin_retry = 3600\n"
        f'[[zone]]\nname = "{ZONE}"\ntype = "secondary"\n'
        f'external_masters = [ {{ address = "{LOOPBACK}", port = {bind_port} }} ]\n'
    )
    secdns = Secdns(config, port).wait_ready()
    api = ApiClient(f"http://{LOOPBACK}:{http}/20180115")
    try:
        wait_until(lambda: serial(port) == 1, timeout=20, what="the first transfer")

        # Full: a version that does not fit is not served; the reason is the system's.
        fill(state / "filler")
        zone_file.write_text(zone_text(2, 2_000))
        bind.reload()
        assert api("POST", f"/zones/{ZONE}/actions/refresh").status == 202
        wait_until(lambda: api("GET", f"/zones/{ZONE}/status").json["failureReason"], timeout=60, what="the failure")
        reason = api("GET", f"/zones/{ZONE}/status").json["failureReason"]
        assert "No space left on device" in reason, reason
        assert "rollback" not in reason
        assert serial(port) == 1

        # Room again: the next refresh stores and serves it.
        (state / "filler").unlink()
        assert api("POST", f"/zones/{ZONE}/actions/refresh").status == 202
        wait_until(lambda: serial(port) == 2, timeout=60, what="serial 2 served once there is room")

        assert "Traceback" not in secdns.log()
    finally:
        secdns.stop()
        bind.stop()
