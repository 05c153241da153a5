"""
etc/systemd/secdns.service and etc/secdns-production.toml: the unit runs
the installed twistd with secdns on the production config, reloads with
SIGHUP, binds port 53 as the user secdns with one capability, hardened;
the config it names is valid and keeps its store in the unit's
StateDirectory.  systemd-analyze verify checks the unit where systemd is
installed.
"""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from twisted.scripts.twistd import ServerOptions

from secdns import config as config_module
from secdns.tap import check_zone_files

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "etc" / "systemd" / "secdns.service"
PRODUCTION = ROOT / "etc" / "secdns-production.toml"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",), comment_prefixes=("#", ";"))
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser


def service() -> configparser.SectionProxy:
    return unit()["Service"]


def exec_start() -> list[str]:
    return shlex.split(service()["ExecStart"])


def test_execstart_runs_the_installed_twistd_with_secdns():
    argv = exec_start()
    assert argv[0] == "/opt/secdns/bin/twistd"  # the venv of docs/install.rst
    assert argv[1:] == ["-n", "--pidfile=", "secdns", "--config", "/etc/secdns/secdns.toml"]
    assert not any(a.startswith(("--uid", "--gid", "-u", "-g")) for a in argv[1:])  # User= does it


def test_execstart_parses_as_twistd_parses_it():
    """twistd's own option parser takes the unit's command line: -n, no pid file, the secdns plugin, its config."""
    options = ServerOptions()
    options.parseOptions(exec_start()[1:])
    assert options["nodaemon"] and options["pidfile"] == "" and options["logfile"] is None
    assert options.subCommand == "secdns"
    assert options.subOptions["config"] == "/etc/secdns/secdns.toml"
    assert options.subOptions["log-format"] == "text"


def test_reload_sends_sighup():
    assert service()["ExecReload"] == "/bin/kill -HUP $MAINPID"


def test_essentials():
    s = service()
    assert s["Type"] == "simple"
    assert (s["User"], s["Group"]) == ("secdns", "secdns")
    assert s["Restart"] == "on-failure"
    assert s["SyslogIdentifier"] == "secdns"
    assert s["StateDirectory"] == "secdns" and s["ConfigurationDirectory"] == "secdns"
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_port_53_without_root_and_nothing_more():
    s = service()
    assert s["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert s["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert s["NoNewPrivileges"] == "yes"


def test_hardening():
    s = service()
    assert s["ProtectSystem"] == "strict"
    assert s["ProtectHome"] == "yes" and s["PrivateTmp"] == "yes" and s["PrivateDevices"] == "yes"
    assert s["SystemCallFilter"] == "@system-service"
    assert set(s["RestrictAddressFamilies"].split()) == {"AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"}


def test_production_config_is_valid_and_matches_the_unit():
    config = config_module.load(str(PRODUCTION))
    check_zone_files(config)  # zones/ beside it: the example zone ships in etc/zones/
    assert config.server.state_dir == "/var/lib/" + service()["StateDirectory"]
    assert [e.port for e in config.server.listen] == [53, 53]
    assert [e.host for e in config.server.listen] == ["192.0.2.53", "2001:db8::53"]  # documented: replace them
    assert config.http.listen is not None and config.http.listen.host == "127.0.0.1"


def test_systemd_analyze_verify(tmp_path):
    """The unit as systemd reads it: no unknown key, no bad value (ExecStart pointed at this venv's twistd)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    twistd = Path(sys.executable).with_name("twistd")
    copy = tmp_path / "secdns.service"
    copy.write_text(UNIT.read_text().replace("/opt/secdns/bin/twistd", str(twistd)))
    done = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
