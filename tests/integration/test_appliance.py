"""The appliance as an operator runs it: C{twistd -n secdns --config PATH}."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.support import ROOT, Secdns, free_port, query, rcode_of, secdns_env, twistd_argv


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
