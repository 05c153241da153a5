"""secdns.alarms.query: the seeds' monitoring query language, read and written."""

from __future__ import annotations

import pytest

from secdns.alarms.model import Alarm
from secdns.alarms.query import Query, QueryError, duration, duration_text, parse, text


@pytest.mark.parametrize("query, parsed", [
    ('ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3',
     Query("ZoneTransferFailureCount", 3600, "example.com", "sum", ">", 3)),
    ('ZoneExpirationInHours[5m]{resourceName =~ "*.Example.com."}.min() <= 24.5',
     Query("ZoneExpirationInHours", 300, "*.example.com", "min", "<=", 24.5)),
    ("ZoneTransferSuccessCount[1d].count()==0", Query("ZoneTransferSuccessCount", 86400, "*", "count", "==", 0)),
    ("  MasterUp [ 10m ] . mean ( ) != 1 ", Query("MasterUp", 600, "*", "mean", "!=", 1)),
])
def test_parse(query, parsed):
    assert parse(query) == parsed


@pytest.mark.parametrize("query, message", [
    ("ZoneTransferFailureCount > 3", "is not a query such as"),
    ("NoSuchMetric[1h].sum() > 3", "unknown metric 'NoSuchMetric'"),
    ("ZoneTransferFailureCount[1h].median() > 3", "unknown statistic median()"),
    ("ZoneTransferFailureCount[90s].sum() > 3", "must be whole minutes"),
    ("ZoneTransferFailureCount[2d].sum() > 3", "from 1m to 1d"),
    ('ZoneTransferFailureCount[1h]{zone = "a.com"}.sum() > 3', "unknown dimension 'zone'"),
    ('ZoneTransferFailureCount[1h]{resourceName = "*.a.com"}.sum() > 3', "a glob needs =~"),
])
def test_errors_say_what_is_wrong(query, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(query)


def test_text_reads_back_as_the_same_rule():
    for query in ('ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3',
                  'ZoneExpirationInHours[5m]{resourceName =~ "*.example.com"}.min() <= 24.5',
                  "ZoneTransferSuccessCount[1d].count() == 0"):
        q = parse(query)
        alarm = Alarm("a", q.metric, q.operator, q.threshold, zones=q.zones, statistic=q.statistic, interval=q.interval)
        assert text(alarm) == query


def test_durations():
    assert [duration(d) for d in ("30s", "5m", "1h", "1d")] == [30, 300, 3600, 86400]
    assert [duration_text(s) for s in (30, 300, 5400, 86400)] == ["30s", "5m", "90m", "1d"]
    with pytest.raises(QueryError):
        duration("5 minutes")
