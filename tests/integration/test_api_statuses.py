"""
The web console's API on the real appliance (C{twistd -n secdns}), with a
real BIND primary: C{/zoneStatuses}, the status's C{health} and
C{/zones/{zone}/metricHistory} follow a secondary zone from serving to
failing (BIND stopped, a refresh asked), with its error and the counts of
the minutes its transfer and its failure happened in.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

import pytest

from tests.integration.test_api import Appliance, zone_text
from tests.peers import Bind, PeerZone
from tests.support import LOOPBACK, free_port, wait_until

ZONE = "example.com"


@pytest.fixture
def appliance(tmp_path):
    (tmp_path / "secdns").mkdir()
    appliance = Appliance(tmp_path / "secdns")
    yield appliance
    appliance.stop()


def seconds(rfc3339: str) -> float:
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def row_of(api, name: str) -> dict | None:
    answer = api("GET", "/zoneStatuses?" + urlencode({"nameContains": name}))
    assert answer.status == 200, answer.raw
    return next((row for row in answer.json if row["name"] == name), None)


def count_at(history: dict, metric: str, when: float) -> float | None:
    """The value of C{metric} in the minute C{when} falls in."""
    index = int((when - seconds(history["start"])) // history["step"])
    values = history["metrics"][metric]
    assert 0 <= index < len(values), (when, history["start"], len(values))
    return values[index]


def last_event(api, kind: str) -> dict:
    events = api("GET", f"/events?zone={ZONE}&limit=1000").json
    found = [e for e in events if e["type"] == kind]
    assert found, f"no {kind} event in {[e['type'] for e in events]}"
    return found[-1]


def test_a_secondary_from_serving_to_failing(appliance, tmp_path):
    api = appliance.api
    (tmp_path / "bind").mkdir()
    zone_file = tmp_path / "bind" / "example.com.zone"
    zone_file.write_text(zone_text(5))
    bind = Bind(tmp_path / "bind", free_port(), zones=[PeerZone(ZONE, file=zone_file, downstreams=((LOOPBACK, appliance.port),))])
    with bind:
        created = api("POST", "/zones", {"name": ZONE, "zoneType": "SECONDARY", "externalMasters": [{"address": LOOPBACK, "port": bind.port}]})
        assert created.status == 201, created.raw
        row = wait_until(lambda: (r := row_of(api, ZONE)) and r["health"] == "serving" and r, 15, what="the zone serving")
    assert (row["zoneType"], row["state"], row["serial"], row["records"], row["lastError"]) == ("SECONDARY", "loaded", 5, 4, None)
    assert row["lastTransfer"] is not None and row["lastRefresh"] is not None
    assert 23.9 < row["expiresInHours"] <= 24.0
    assert (row["declaredIn"], row["isProtected"]) == (None, False)
    primary = row_of(api, "example.org")
    assert (primary["zoneType"], primary["health"], primary["expiresInHours"]) == ("PRIMARY", "serving", None)
    assert primary["isProtected"] and primary["declaredIn"].endswith("secdns.toml")
    assert api("GET", f"/zones/{ZONE}/status").json["health"] == "serving"

    # BIND stopped: a refresh fails, and the zone says so everywhere.
    api("POST", f"/zones/{ZONE}/actions/refresh")
    wait_until(lambda: row_of(api, ZONE)["health"] == "failing", 15, what="the zone failing")
    row = row_of(api, ZONE)
    assert row["lastError"] and row["serial"] == 5, row
    status = api("GET", f"/zones/{ZONE}/status").json
    assert status["health"] == "failing" and status["failureReason"] == row["lastError"]
    failing = api("GET", "/zoneStatuses?health=failing").json
    assert [r["name"] for r in failing] == [ZONE]

    # The alarm engine's history counted the transfer and the failure, in their minutes.
    transferred, failed = last_event(api, "TransferSucceeded"), last_event(api, "TransferFailed")
    history = wait_until(lambda: (h := api("GET", f"/zones/{ZONE}/metricHistory?minutes=10").json)
                         and (count_at(h, "ZoneTransferFailureCount", seconds(failed["time"])) or 0) >= 1 and h, 10,
                         what="the failure in the history")
    assert history["zone"] == ZONE and history["step"] == 60
    assert all(len(values) == 10 for values in history["metrics"].values())
    assert count_at(history, "ZoneTransferSuccessCount", seconds(transferred["time"])) == 1
    assert count_at(history, "ZoneTransferFailureCount", seconds(failed["time"])) >= 1
    assert 23.0 < history["metrics"]["ZoneExpirationInHours"][-1] <= 24.0
    assert api("GET", f"/zones/{ZONE}/metricHistory?minutes=0").json["field"] == "minutes"
    assert api("GET", "/zones/nowhere.example/metricHistory").status == 404
