"""
The Makefile's promises: make says what it is about to install before it
does (the Debian packages by name; the venv and its Python packages), and
installs secdns as a plain editable install (no deprecated compat mode).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def make():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")


def run_make(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), *args],
                          capture_output=True, text=True, timeout=60, env=env)


def test_venv_says_what_it_installs_before_pip_and_uses_a_plain_editable_install():
    commands = run_make("-n", "-B", "venv").stdout.splitlines()  # -n: printed, not run
    says = next(i for i, line in enumerate(commands) if "creating .venv, installing Python packages" in line)
    pips = [i for i, line in enumerate(commands) if "/pip install" in line]
    assert pips and says < min(pips), commands
    editable = [line for line in commands if " -e " in line]
    assert editable and all("editable_mode" not in line for line in editable), editable
    assert "editable_mode=compat" not in (ROOT / "Makefile").read_text()


def stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_peers_names_the_debian_packages_before_installing_them(tmp_path):
    """As root with a peer missing, one line names the packages, then apt-get installs them (stubbed here)."""
    stub(tmp_path, "id", 'echo 0')
    stub(tmp_path, "apt-get", 'echo "apt-get $*"')
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ.get('PATH', '')}")
    done = run_make("peers", "PEER_COMMANDS=secdns-no-such-peer", "PEER_PACKAGES=pkg-one pkg-two", env=env)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines[0] == "installing Debian packages pkg-one pkg-two (missing: secdns-no-such-peer)", lines
    assert lines[1:] == ["apt-get update -qq"], lines  # then apt-get ran (install's output goes to /dev/null)


def test_peers_installs_nothing_when_every_peer_is_there(tmp_path):
    stub(tmp_path, "apt-get", 'echo "apt-get $*"; exit 1')
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ.get('PATH', '')}")
    done = run_make("peers", "PEER_COMMANDS=sh", env=env)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout


def test_peers_installs_when_a_peer_file_is_missing(tmp_path):
    """A peer that is no command (PowerDNS's BIND backend) is looked for as a file; missing, it is installed."""
    stub(tmp_path, "id", 'echo 0')
    stub(tmp_path, "apt-get", 'echo "apt-get $*"')
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ.get('PATH', '')}")
    missing = tmp_path / "no-such-backend.so"
    done = run_make("peers", "PEER_COMMANDS=sh", f"PEER_FILES={missing}", "PEER_PACKAGES=pkg-one", env=env)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines == [f"installing Debian packages pkg-one (missing: {missing})", "apt-get update -qq"], lines
