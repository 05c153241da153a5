"""Egress metrics: transfers served and NOTIFYs answered or failed, per zone."""

from __future__ import annotations

from secdns.ops.metrics import EgressCollector, exposition, registry_for


class Transfers:
    completed = {"example.org": 3}
    active = 1


class Notifications:
    sent = {"example.org": 2}
    failed = {"example.net": 1}


def test_egress_metrics_exposed():
    """The transfer and NOTIFY counts appear in the Prometheus text, labelled by zone."""
    text = exposition(registry_for(EgressCollector(Transfers(), Notifications()))).decode()
    assert 'secdns_zone_transfers_out_total{zone="example.org"} 3.0' in text
    assert "secdns_transfers_out_active 1.0" in text
    assert 'secdns_notify_sent_total{zone="example.org"} 2.0' in text
    assert 'secdns_notify_failed_total{zone="example.net"} 1.0' in text


def test_udp_lost_exposed():
    """UDP responses the socket would not take are counted."""
    from secdns.ops.metrics import ServerCollector

    text = exposition(registry_for(ServerCollector(lambda: 7))).decode()
    assert "secdns_udp_responses_lost_total 7.0" in text
