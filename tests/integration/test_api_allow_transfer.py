"""
C{allowTransfer} through the REST API and the C{secdns} command, on the
real appliance: a zone made with it answers C{dig AXFR} from 127.0.0.1, a
PUT that names a key wants it signed (a key given as the file
C{tsig-keygen} wrote, with C{--secret-file}), an empty list refuses again
at once, and the setting is kept across a restart.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.integration.test_api import TOKEN, Appliance
from tests.integration.test_cli import Cli, made_key
from tests.support import require

ZONE = "xfr.example"


def dig_axfr(port: int, key: str | None = None) -> str:
    argv = [require("dig"), "@127.0.0.1", "-p", str(port), "+tries=1", "+time=5", ZONE, "AXFR"]
    if key is not None:
        argv[1:1] = ["-y", key]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


def transferred(out: str) -> bool:
    return f"ns1.{ZONE}." in out and "XFR size" in out


@pytest.fixture(scope="module")
def appliance(tmp_path_factory):
    appliance = Appliance(tmp_path_factory.mktemp("api-xfr"))
    yield appliance
    appliance.stop()


def test_allow_transfer_through_the_api_and_the_cli(appliance, tmp_path):
    api = appliance.api
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    cli = Cli(tmp_path, appliance.http, token)

    created = api("POST", "/zones", {"name": ZONE, "allowTransfer": [{"address": "127.0.0.1"}]})
    assert created.status == 201, created.raw
    assert created.json["allowTransfer"] == [{"address": "127.0.0.1", "tsigKeyId": None}]
    assert transferred(dig_axfr(appliance.port))

    # A key from the very file tsig-keygen wrote, through the CLI; the zone's ACL then wants it.
    text, secret = made_key([require("tsig-keygen"), "-a", "hmac-sha384", "debug-key"])
    (tmp_path / "debug.key").write_text(text)
    cli.run("tsig-key", "create", "--name", "debug-key", "--secret-file", str(tmp_path / "debug.key"))
    zone = cli.data("zone", "update", ZONE, "--allow-transfer", '[{"address": "127.0.0.0/8", "tsigKeyId": "debug-key"}]')
    assert zone["allowTransfer"] == [{"address": "127.0.0.0/8", "tsigKeyId": zone["allowTransfer"][0]["tsigKeyId"]}]
    assert zone["allowTransfer"][0]["tsigKeyId"].startswith("ocid1.")
    assert "Transfer failed" in dig_axfr(appliance.port)
    assert transferred(dig_axfr(appliance.port, f"hmac-sha384:debug-key:{secret}"))
    key = api("GET", f"/tsigKeys/{zone['allowTransfer'][0]['tsigKeyId']}").json
    assert key["zones"] == [ZONE]
    assert api("DELETE", f"/tsigKeys/{key['id']}").status == 409  # in use by the zone's ACL

    # Refusals say what is wrong.
    refused = api("PUT", f"/zones/{ZONE}", {"allowTransfer": [{"address": "127.0.0.1/8"}]})
    assert refused.error[:2] == (400, "InvalidParameter") and "host bits set" in refused.error[2]
    bad = cli.run("zone", "update", ZONE, "--allow-transfer", "not-an-address", expect=1)
    assert "not an IP address or network" in bad.stderr

    # Kept across a restart.
    appliance.restart()
    assert api("GET", f"/zones/{ZONE}").json["allowTransfer"] == zone["allowTransfer"]
    assert transferred(dig_axfr(appliance.port, f"hmac-sha384:debug-key:{secret}"))

    # None: refused at once.
    assert cli.data("zone", "update", ZONE, "--allow-transfer", "")["allowTransfer"] == []
    assert "Transfer failed" in dig_axfr(appliance.port, f"hmac-sha384:debug-key:{secret}")
    assert secret not in appliance.secdns.log()
    assert api("DELETE", f"/zones/{ZONE}").status == 204
