"""A UDP worker's state, driven by the main process's messages (secdns.worker), without processes or sockets."""

from __future__ import annotations

import dns.message
import dns.name
import dns.rcode
from twisted.internet import defer
from twisted.internet.task import Clock

from secdns.server.rrltable import SharedBuckets
from secdns.server.workerlink import Sent
from secdns.worker import Worker
from secdns.zones.version import ZoneData


class FakeStore:
    def __init__(self) -> None:
        self.versions: dict[str, ZoneData] = {}
        self.reads: list[str] = []

    def read(self, name: dns.name.Name):
        self.reads.append(name.to_text())
        return self.versions.get(name.to_text())


def version(origin: str, serial: int, www: str = "192.0.2.80") -> ZoneData:
    from secdns.zones.version import from_zone
    import dns.zone

    text = f"$ORIGIN {origin}\n$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A {www}\n"
    return from_zone(dns.zone.from_text(text, origin=origin, relativize=False))


def answer(worker: Worker, qname: str, rdtype: str = "A"):
    query = dns.message.make_query(qname, rdtype)
    wire = worker.handler.answer_datagram(query.to_wire(), ("192.0.2.9", 5353))
    return dns.message.from_wire(wire)


def make(deferreds=None):
    store = FakeStore()
    if deferreds is None:
        in_thread = lambda f, *a: defer.maybeDeferred(f, *a)  # noqa: E731
    else:
        def in_thread(f, *a):
            d = defer.Deferred()
            deferreds.append((d, f, a))
            return d
    worker = Worker(Clock(), 1, store, [], in_thread=in_thread)
    return worker, store


SETTINGS = {"max_udp_size": 1232, "rate_limit": None, "cookies": None}


def feed(worker: Worker, sent: Sent, zones) -> None:
    for message in sent.messages(SETTINGS, zones):
        worker.message(message)


def test_versions_are_read_from_the_store_and_served_whole():
    worker, store = make()
    v1 = store.versions["example.com."] = version("example.com.", 1)
    sent = Sent()
    feed(worker, sent, {"example.com.": (v1, 1, False)})
    assert worker.ports == [] and worker._report.running  # listening (no sockets in this test)
    assert answer(worker, "www.example.com.").answer[0][0].address == "192.0.2.80"
    v2 = store.versions["example.com."] = version("example.com.", 2, "192.0.2.81")
    feed(worker, sent, {"example.com.": (v2, 2, False)})
    assert answer(worker, "www.example.com.").answer[0][0].address == "192.0.2.81"
    assert worker.counts()["serials"] == {"example.com.": 2}


def test_it_waits_for_the_first_versions_before_listening():
    pending = []
    worker, store = make(pending)
    v1 = store.versions["example.com."] = version("example.com.", 1)
    feed(worker, Sent(), {"example.com.": (v1, 1, False)})
    assert not worker._report.running
    d, f, a = pending.pop()
    d.callback(f(*a))
    assert worker._report.running


def test_zones_removed_added_and_expired():
    worker, store = make()
    sent = Sent()
    a = store.versions["a.test."] = version("a.test.", 1)
    b = store.versions["b.test."] = version("b.test.", 5)
    feed(worker, sent, {"a.test.": (a, 1, False), "b.test.": (b, 5, False)})
    assert answer(worker, "www.b.test.").rcode() == dns.rcode.NOERROR
    feed(worker, sent, {"a.test.": (a, 1, False)})
    assert answer(worker, "www.b.test.").rcode() == dns.rcode.REFUSED
    feed(worker, sent, {"a.test.": (a, 1, True)})
    assert answer(worker, "www.a.test.").rcode() == dns.rcode.SERVFAIL
    feed(worker, sent, {"a.test.": (a, 1, False)})
    assert answer(worker, "www.a.test.").rcode() == dns.rcode.NOERROR


def test_a_burst_of_versions_reads_the_zone_once_more_at_most():
    pending = []
    worker, store = make(pending)
    sent = Sent()
    store.versions["a.test."] = version("a.test.", 1)
    feed(worker, sent, {"a.test.": (object(), 1, False)})
    for serial in (2, 3, 4):
        store.versions["a.test."] = version("a.test.", serial)
        feed(worker, sent, {"a.test.": (object(), serial, False)})
    while pending:
        d, f, a = pending.pop(0)
        d.callback(f(*a))
    assert store.reads == ["a.test.", "a.test."]
    assert worker.zones["a.test."].serial == 4


def test_settings():
    worker, _ = make()
    worker.message({"settings": {"max_udp_size": 4096, "rate_limit": None, "cookies": ["01" * 16]}})
    assert worker.handler.max_udp_size == 4096
    assert worker.handler.cookies.secrets == (b"\x01" * 16,)
    limit = {"responses_per_second": 5, "window": 15, "slip": 2, "ipv4_prefix": 24, "ipv6_prefix": 56, "cookie_policy": "slip"}
    worker.message({"settings": {"max_udp_size": 1232, "rate_limit": limit, "cookies": None}})
    assert worker.rrl is not None and worker.handler.cookies is None


def test_the_rate_limiter_judges_with_the_shared_table():
    """Given the table (C{--rrl-table}), each limiter the settings make keeps its buckets there."""
    table = SharedBuckets.create(slots=64)
    try:
        worker = Worker(Clock(), 1, FakeStore(), [], rrl_table=table)
        limit = {"responses_per_second": 5, "window": 15, "slip": 2, "ipv4_prefix": 24, "ipv6_prefix": 56, "cookie_policy": "slip"}
        worker.message({"settings": {"max_udp_size": 1232, "rate_limit": limit, "cookies": None}})
        assert worker.rrl.buckets is table
        worker.message({"settings": {"max_udp_size": 1232, "rate_limit": dict(limit, responses_per_second=6), "cookies": None}})
        assert worker.rrl.responses_per_second == 6 and worker.rrl.buckets is table
    finally:
        table.close()


def test_tcp_settings_and_counts():
    worker, _ = make()
    worker.message({"settings": {**SETTINGS, "tcp_idle_timeout": 7.5, "tcp_clients": 20, "tcp_clients_per_address": 3}})
    streams = worker.streams
    assert (streams.idle_timeout, streams.max_clients, streams.max_per_address) == (7.5, 20, 3)
    assert streams.handler is worker.handler  # the same zones as over UDP
    counts = worker.counts()
    assert {k: counts[k] for k in ("tcp_queries", "tcp_connections", "tcp_handed_over", "tcp_stalled", "tcp_limited")} == {
        "tcp_queries": 0, "tcp_connections": 0, "tcp_handed_over": 0, "tcp_stalled": 0, "tcp_limited": {},
    }
