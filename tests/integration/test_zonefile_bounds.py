"""
Zone files that would take secdns down or read what they should not
(issue 13), on the real appliance: a file grown past
C{[transfer] max_file_bytes} on SIGHUP is one log line and the old version
keeps serving; a FIFO as a zone file ends the start with one line instead
of hanging it; an C{$INCLUDE} outside the zone file's directory is refused.
"""

from __future__ import annotations

import os
import subprocess

from tests.support import LOOPBACK, Secdns, free_port, query, secdns_env, twistd_argv, wait_until

HEAD = "$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n"


def config_text(port: int, file: str = "zone", extra: str = "") -> str:
    return (
        f'[server]\nlisten = ["{LOOPBACK}:{port}"]\nstate_dir = "var"\n'
        "[transfer]\nmax_file_bytes = 4000\n"
        f'[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "{file}"\n{extra}'
    )


def serial(port: int) -> int:
    return query("example.org", "SOA", port).answer[0][0].serial


def test_file_grown_past_the_limit_keeps_the_old_version(tmp_path):
    port = free_port()
    (tmp_path / "zone").write_text(HEAD.format(serial=1))
    (tmp_path / "secdns.toml").write_text(config_text(port))
    secdns = Secdns(tmp_path / "secdns.toml", port).wait_ready()
    try:
        assert serial(port) == 1
        (tmp_path / "zone").write_text(HEAD.format(serial=2) + "".join(f"h{i} A 192.0.2.1\n" for i in range(400)))
        secdns.reload()
        wait_until(lambda: "more than 4,000 octets" in secdns.log(), timeout=15, what="the refusal in the log")
        assert serial(port) == 1
        assert "Traceback" not in secdns.log()
        # The include of a file outside the zone's directory: refused, the old version kept.
        (tmp_path / "zone").write_text(HEAD.format(serial=3) + "$INCLUDE /etc/hostname\n")
        secdns.reload()
        wait_until(lambda: "$INCLUDE /etc/hostname: /etc/hostname is outside" in secdns.log(), timeout=15, what="the include refused")
        assert serial(port) == 1
    finally:
        secdns.stop()


def test_fifo_as_zone_file_ends_the_start_with_one_line(tmp_path):
    os.mkfifo(tmp_path / "zone")
    (tmp_path / "secdns.toml").write_text(config_text(free_port()))
    result = subprocess.run(
        twistd_argv(tmp_path / "secdns.toml"), capture_output=True, text=True, env=secdns_env(), timeout=60, cwd=tmp_path
    )
    assert result.returncode != 0
    assert f'zone "example.org".file: {tmp_path / "zone"}: not a regular file' in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout
