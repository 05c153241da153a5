"""TSIG against real clients: dig and kdig sign queries to secdns and check its answers."""

from __future__ import annotations

import base64
import subprocess

import pytest

from tests.support import Secdns, free_port, require

ALGORITHMS = ["hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"]
ZONE = """$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.80
"""


def secret_for(algorithm: str) -> str:
    return base64.b64encode(algorithm.encode().ljust(32, b"!")).decode()


@pytest.fixture(scope="module")
def secdns(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tsig")
    (tmp / "zone.db").write_text(ZONE)
    keys = "".join(
        f'[[tsig_key]]\nname = "{a}-key"\nalgorithm = "{a}"\nsecret = "{secret_for(a)}"\n' for a in ALGORITHMS
    )
    port = free_port()
    config = tmp / "secdns.toml"
    config.write_text(
        f'[server]\nlisten = ["127.0.0.1:{port}"]\nstate_dir = "var"\n{keys}'
        '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zone.db"\n'
    )
    server = Secdns(config, port).wait_ready()
    yield server
    server.stop()


def run(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout


def dig(server, key: str, *extra: str) -> str:
    return run([require("dig"), "@127.0.0.1", "-p", str(server.port), "-y", key, "www.example.org", "A", *extra])


def kdig(server, key: str, *extra: str, prefix: tuple = ()) -> str:
    return run([*prefix, require("kdig"), "@127.0.0.1", "-p", str(server.port), "-y", key, "www.example.org", "A", *extra])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_dig_signed_query_verified(secdns, algorithm):
    """dig's signed query is answered, and dig verifies the signed answer, for every algorithm."""
    out = dig(secdns, f"{algorithm}:{algorithm}-key:{secret_for(algorithm)}")
    assert "status: NOERROR" in out
    assert "192.0.2.80" in out
    assert f"{algorithm}-key." in out and "NOERROR 0" in out
    assert "Couldn't verify" not in out and "could not be validated" not in out


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "hmac-sha512", "hmac-md5"])
def test_kdig_signed_query_verified_over_tcp(secdns, algorithm):
    """kdig's signed query over TCP gets an answer kdig verifies."""
    out = kdig(secdns, f"{algorithm}:{algorithm}-key:{secret_for(algorithm)}", "+tcp")
    assert "status: NOERROR" in out and "192.0.2.80" in out
    assert "WARNING" not in out


def test_wrong_secret_badsig(secdns):
    """A wrong secret gets NOTAUTH with TSIG error BADSIG."""
    out = dig(secdns, f"hmac-sha256:hmac-sha256-key:{secret_for('wrong')}")
    assert "status: NOTAUTH" in out and "BADSIG" in out


def test_unknown_key_badkey(secdns):
    """An unknown key name gets NOTAUTH with TSIG error BADKEY."""
    out = kdig(secdns, f"hmac-sha256:nobody-key:{secret_for('hmac-sha256')}")
    assert "BADKEY" in out


def test_skewed_clock_badtime(secdns):
    """A client whose clock is an hour ahead gets BADTIME, signed, carrying secdns's time."""
    faketime = require("faketime")
    out = kdig(secdns, f"hmac-sha256:hmac-sha256-key:{secret_for('hmac-sha256')}", prefix=(faketime, "-f", "+1h"))
    assert "status: BADTIME" in out
    assert "BADTIME 6 " in out  # six octets of Other Data: our time
