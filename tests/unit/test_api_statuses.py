"""
/zoneStatuses, GET /zones/{zone}/status's health, /zones/{zone}/metricHistory
and the errors' field, in process over twisted.web against the real zone
core on a Clock (see test_api_resource).
"""

from __future__ import annotations

import pytest

from secdns.alarms.history import History
from secdns.ops.api import all_routes
from secdns.ops.api.context import Api
from secdns.ops.api.errors import ApiError, bad, missing
from secdns.ops.api.shapes import metric_history, zone_health
from tests.unit.test_api_resource import Client, site_  # noqa: F401 (a fixture)
from tests.unit.test_registry import COM, START, secondary
from tests.unit.test_zone_health import FAILED, status


class Engine:
    """The alarm engine's series, over a real History on the site's clock."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.history = History()

    def series(self, zone, metric, minutes=1440):
        return self.history.series(zone, metric, self.clock.seconds(), minutes)


@pytest.fixture
def engine(site_):  # noqa: F811
    return Engine(site_.clock)


@pytest.fixture
def client(site_, engine):  # noqa: F811
    api = Api(lambda: site_.registry, alarms=lambda: engine)
    return Client(site_.registry, routes=all_routes(api))


def with_secondary(site):
    site.registry.add_zone(secondary())
    site.run(2)
    assert site.registry.status(COM).serial == 7


# -- shapes


def test_zone_health_row():
    row = zone_health(status(last_load=FAILED, failure_reason="timed out", expire_at=START + 7200), START, START - 60)
    assert row == {
        "name": "example.com", "zoneType": "SECONDARY", "health": "failing", "state": "loaded", "serial": 7, "records": 4,
        "lastTransfer": "2023-11-14T22:12:20.000Z", "lastRefresh": None, "expiresInHours": 2.0, "lastError": "timed out",
        "declaredIn": None, "isProtected": False,
    }
    assert zone_health(status(expire_at=START - 1), START, None)["expiresInHours"] == 0.0


def test_metric_history_shape():
    series = {
        "ZoneTransferSuccessCount": [(START, 1.0), (START + 60, 0.0)],
        "ZoneTransferFailureCount": [(START, None), (START + 60, 2.0)],
        "ZoneExpirationInHours": [(START, 2.5), (START + 60, 2.4833333333)],
    }
    assert metric_history("example.com", series) == {
        "zone": "example.com", "start": "2023-11-14T22:13:20.000Z", "step": 60,
        "metrics": {"ZoneTransferSuccessCount": [1, 0], "ZoneTransferFailureCount": [None, 2], "ZoneExpirationInHours": [2.5, 2.483333]},
    }


def test_error_field_is_in_the_body_only_when_known():
    assert bad("name is not a domain name", "name").body() == {"code": "InvalidParameter", "message": "name is not a domain name", "field": "name"}
    assert bad("no").body() == {"code": "InvalidParameter", "message": "no"}
    assert missing("secret").body()["field"] == "secret"
    assert ApiError("Conflict", "in use").body() == {"code": "Conflict", "message": "in use"}


# -- zoneStatuses


def test_zone_statuses_lists_every_zone_with_its_health(site_, client):  # noqa: F811
    with_secondary(site_)
    answer = client("GET", "/zoneStatuses")
    assert answer.status == 200 and answer.headers["opc-total-items"] == "2"
    rows = {row["name"]: row for row in answer.json}
    assert rows["example.org"]["health"] == "serving" and rows["example.org"]["zoneType"] == "PRIMARY"
    assert rows["example.org"]["lastTransfer"] is not None and rows["example.org"]["expiresInHours"] is None
    com = rows["example.com"]
    assert (com["health"], com["serial"], com["lastError"]) == ("serving", 7, None)
    assert com["lastTransfer"] == com["lastRefresh"] and com["expiresInHours"] > 0


def test_zone_statuses_filter_sort_and_page(site_, client):  # noqa: F811
    with_secondary(site_)
    names = lambda path: [row["name"] for row in client("GET", path).json]  # noqa: E731
    assert names("/zoneStatuses?sortBy=name&sortOrder=DESC") == ["example.org", "example.com"]
    assert names("/zoneStatuses?zoneType=SECONDARY") == ["example.com"]
    assert names("/zoneStatuses?nameContains=ORG.") == ["example.org"]
    assert names("/zoneStatuses?health=failing") == []
    assert names("/zoneStatuses?sortBy=expiresInHours") == ["example.com", "example.org"]  # nulls last
    first = client("GET", "/zoneStatuses?limit=1")
    assert first.headers["opc-next-page"] == "1" and len(first.json) == 1
    second = client("GET", "/zoneStatuses?limit=1&page=1")
    assert "opc-next-page" not in second.headers and second.json[0]["name"] != first.json[0]["name"]
    for query in ("health=ill", "sortBy=colour", "limit=0", "zoneType=tertiary"):
        assert client("GET", f"/zoneStatuses?{query}").status == 400


def test_a_secondary_failing_then_its_status_and_history(site_, client, engine):  # noqa: F811
    with_secondary(site_)
    engine.history.count("example.com", "ZoneTransferSuccessCount", site_.clock.seconds())
    site_.master.down = True
    site_.registry.refresh(COM)
    site_.run(30)
    engine.history.count("example.com", "ZoneTransferFailureCount", site_.clock.seconds())
    (row,) = client("GET", "/zoneStatuses?health=failing").json
    assert row["name"] == "example.com" and row["lastError"]
    assert client("GET", "/zones/example.com/status").json["health"] == "failing"
    assert client("GET", "/zones/example.org/status").json["health"] == "serving"
    history = client("GET", "/zones/example.com/metricHistory?minutes=3").json
    assert history["step"] == 60 and set(history["metrics"]) == {"ZoneTransferSuccessCount", "ZoneTransferFailureCount", "ZoneExpirationInHours"}
    assert all(len(values) == 3 for values in history["metrics"].values())
    successes, failures = history["metrics"]["ZoneTransferSuccessCount"], history["metrics"]["ZoneTransferFailureCount"]
    assert sum(v or 0 for v in successes) == 1 and sum(v or 0 for v in failures) == 1
    assert history["metrics"]["ZoneExpirationInHours"] == [None, None, None]  # never sampled in this test


def test_metric_history_errors(site_, client):  # noqa: F811
    assert len(client("GET", "/zones/example.org/metricHistory").json["metrics"]["ZoneTransferSuccessCount"]) == 1440
    for minutes in ("0", "1441", "x", "-5", "1.5"):
        answer = client("GET", f"/zones/example.org/metricHistory?minutes={minutes}")
        assert (answer.status, answer.json["code"], answer.json["field"]) == (400, "InvalidParameter", "minutes")
    assert client("GET", "/zones/example.net/metricHistory").json["code"] == "NotAuthorizedOrNotFound"


def test_metric_history_waits_for_the_alarm_engine(site_):  # noqa: F811
    answer = Client(site_.registry)("GET", "/zones/example.org/metricHistory")
    assert (answer.status, answer.json["code"]) == (503, "ServiceUnavailable")
