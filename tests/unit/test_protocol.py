"""secdns.server.protocol: DNS over TCP (RFC 7766) framing, idle timeout and failure isolation, on fakes."""

from __future__ import annotations

import struct

import dns.message
import dns.name
import dns.rcode
import dns.zone
import pytest
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, PredicateResult, capturedLogs, formatEvent
from twisted.web.test.requesthelper import DummyRequest

from secdns.config import ZoneConfig
from secdns.ops import logfilter
from secdns.ops.http import site
from secdns.ops.metrics import registry_for
from secdns.server.protocol import DNSDatagramProtocol, DNSStreamFactory
from secdns.server.dispatch import QueryHandler, Request
from secdns.testing import FakeDatagramTransport
from secdns.zones.zone import Zone
from secdns.zones.version import from_zone
from secdns.zones.zonemap import ZoneDB

IDLE = 30.0
ORIGIN = dns.name.from_text("example.org")
ZONE = """\
$TTL 300
@    IN SOA ns1 hostmaster 1 7200 3600 1209600 300
     IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   192.0.2.80
mail IN A   192.0.2.25
"""


@pytest.fixture
def handler() -> QueryHandler:
    data = from_zone(dns.zone.from_text(ZONE, ORIGIN, relativize=False))
    zone = Zone(ZoneConfig(ORIGIN, "primary", file="example.org.zone"), data)
    return QueryHandler(ZoneDB.of([zone]))


class RaisingHandler:
    """Answers as C{inner} does, except that a request with ID 0xDEAD makes it raise."""

    def __init__(self, inner: QueryHandler) -> None:
        self.inner = inner

    def answer(self, wire: bytes, request):
        if wire[:2] == b"\xde\xad":
            raise RuntimeError("boom")
        return self.inner.answer(wire, request)


class Connection:
    """One TCP connection of a factory, on a StringTransport."""

    def __init__(self, factory: DNSStreamFactory, port: int = 40000) -> None:
        address = IPv4Address("TCP", "127.0.0.1", port)
        self.transport = StringTransport(peerAddress=address)
        self.protocol = factory.buildProtocol(address)
        self.protocol.makeConnection(self.transport)

    def send(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def responses(self) -> list[dns.message.Message]:
        """Every length-prefixed message written so far, parsed; the buffer is then emptied."""
        data = self.transport.value()
        self.transport.clear()
        messages = []
        while data:
            (length,) = struct.unpack("!H", data[:2])
            assert len(data) >= 2 + length, "a response was cut short"
            messages.append(dns.message.from_wire(data[2 : 2 + length]))
            data = data[2 + length :]
        return messages

    @property
    def closed(self) -> bool:
        return self.transport.disconnecting


def framed(qname: str, rdtype: str = "A", id: int = 1) -> bytes:
    wire = dns.message.make_query(qname, rdtype, id=id).to_wire()
    return struct.pack("!H", len(wire)) + wire


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def factory(handler, clock) -> DNSStreamFactory:
    return DNSStreamFactory(handler, IDLE, clock)


class TestFraming:
    def test_pipelined_queries_answered_in_order(self, factory):
        """Several queries sent in one segment are each answered, in the order they came."""
        connection = Connection(factory)
        connection.send(framed("www.example.org", id=1) + framed("mail.example.org", id=2) + framed("ns1.example.org", id=3))
        responses = connection.responses()
        assert [r.id for r in responses] == [1, 2, 3]
        assert [r.answer[0][0].to_text() for r in responses] == ["192.0.2.80", "192.0.2.25", "192.0.2.1"]
        assert not connection.closed

    def test_one_byte_at_a_time(self, factory):
        """Queries that arrive a byte at a time are answered once each is complete, and only then."""
        connection = Connection(factory)
        data = framed("www.example.org", id=7) + framed("mail.example.org", id=8)
        first_end = len(framed("www.example.org", id=7))
        for i in range(len(data)):
            connection.send(data[i : i + 1])
            if i == first_end - 2:
                assert connection.transport.value() == b""
            if i == first_end - 1:
                assert [r.id for r in connection.responses()] == [7]
        assert [r.id for r in connection.responses()] == [8]

    def test_response_split_across_reads_is_one_frame(self, factory):
        """A query whose length prefix and body arrive in separate reads is one query."""
        connection = Connection(factory)
        data = framed("www.example.org", id=9)
        connection.send(data[:1])
        connection.send(data[1:5])
        connection.send(data[5:])
        assert [r.id for r in connection.responses()] == [9]

    def test_no_answer_keeps_connection(self, factory):
        """A message that gets no answer (a response, QR=1) sends nothing and keeps the connection."""
        connection = Connection(factory)
        response = dns.message.make_response(dns.message.make_query("www.example.org", "A")).to_wire()
        connection.send(struct.pack("!H", len(response)) + response)
        assert connection.transport.value() == b""
        assert not connection.closed
        connection.send(framed("www.example.org", id=4))
        assert [r.id for r in connection.responses()] == [4]


class TestIdleTimeout:
    def test_idle_connection_closed(self, factory, clock):
        """A connection with no request for the idle timeout is closed."""
        connection = Connection(factory)
        clock.advance(IDLE - 0.5)
        assert not connection.closed
        clock.advance(1)
        assert connection.closed

    def test_request_restarts_timer(self, factory, clock):
        """Each complete request restarts the idle timer."""
        connection = Connection(factory)
        clock.advance(IDLE * 0.8)
        connection.send(framed("www.example.org"))
        clock.advance(IDLE * 0.8)
        assert not connection.closed
        clock.advance(IDLE * 0.3)
        assert connection.closed

    def test_trickle_does_not_restart_timer(self, factory, clock):
        """Bytes that never complete a request do not keep the connection open."""
        connection = Connection(factory)
        data = framed("www.example.org")
        for i in range(3):
            clock.advance(IDLE / 4)
            connection.send(data[i : i + 1])
        clock.advance(IDLE / 4 + 1)
        assert connection.closed

    def test_closed_connection_leaves_no_timer(self, factory, clock):
        """A connection that closes cancels its idle timer."""
        connection = Connection(factory)
        connection.protocol.connectionLost(None)
        assert clock.getDelayedCalls() == []


class TestFailure:
    def test_handler_error_closes_only_that_connection(self, handler, clock):
        """A request that makes the handler raise closes its connection; the factory and other connections go on."""
        factory = DNSStreamFactory(RaisingHandler(handler), IDLE, clock)
        bad, good = Connection(factory, 40001), Connection(factory, 40002)
        with capturedLogs() as events:
            bad.send(framed("www.example.org", id=0xDEAD))
        assert bad.closed
        assert bad.transport.value() == b""
        assert "unexpected error answering 127.0.0.1" in [formatEvent(event) for event in events]
        good.send(framed("www.example.org", id=5))
        assert [r.id for r in good.responses()] == [5]
        later = Connection(factory, 40003)
        later.send(framed("mail.example.org", id=6))
        assert [r.id for r in later.responses()] == [6]


class TestQuiet:
    def test_dns_factories_log_nothing_on_start_and_stop(self, handler, clock):
        """The DNS factory and datagram protocol write no start/stop lines."""
        with capturedLogs() as events:
            factory = DNSStreamFactory(handler, IDLE, clock)
            factory.doStart()
            factory.doStop()
            datagrams = DNSDatagramProtocol(handler)
            datagrams.doStart()
            datagrams.doStop()
        assert events == []

    def test_http_site_writes_no_access_log(self):
        """The HTTP site writes no start/stop lines, and its access line per request is a debug line (--log-level debug)."""
        http = site(registry_for())
        request = DummyRequest([b"metrics"])
        request.uri = b"/metrics"
        request.code, request.sentLength = 200, 100
        with capturedLogs() as events:
            http.doStart()
            http.log(request)
            http.doStop()
        assert [(e["log_level"], formatEvent(e)) for e in events] == [(LogLevel.debug, "HTTP - GET /metrics 200")]  # a DummyRequest has no client address
        assert [e for e in events if logfilter.predicate("info")(e) is not PredicateResult.no] == []


class DeferringHandler:
    """Answers as C{inner} does, but a request with ID 0xD0 gets a Deferred the test fires (a worker's response)."""

    def __init__(self, inner: QueryHandler) -> None:
        self.inner = inner
        self.pending: list = []

    def answer(self, wire: bytes, request):
        response = self.inner.answer(wire, request)
        if wire[:2] == b"\x00\xd0":
            d = defer.Deferred()
            self.pending.append((d, response))
            return d
        return response

    def answer_datagram(self, wire: bytes, addr):
        if wire[:2] == b"\x00\xd0":
            return self.answer(wire, Request(addr[0], addr[1], False))
        return self.inner.answer_datagram(wire, addr)

    def fire(self) -> None:
        d, response = self.pending.pop(0)
        d.callback(response)


class TestResponsesMadeElsewhere:
    def test_later_requests_wait_for_a_deferred_response(self, handler, clock):
        """A response made in a worker is sent when ready, and the requests after it on the connection are answered after it, in order."""
        deferring = DeferringHandler(handler)
        connection = Connection(DNSStreamFactory(deferring, IDLE, clock))
        connection.send(framed("www.example.org", id=0xD0) + framed("mail.example.org", id=2))
        assert connection.transport.value() == b""
        deferring.fire()
        assert [r.id for r in connection.responses()] == [0xD0, 2]
        connection.send(framed("ns1.example.org", id=3))
        assert [r.id for r in connection.responses()] == [3]

    def test_deferred_response_after_close_is_dropped(self, handler, clock):
        """A response made in a worker for a connection closed meanwhile is not written."""
        deferring = DeferringHandler(handler)
        connection = Connection(DNSStreamFactory(deferring, IDLE, clock))
        connection.send(framed("www.example.org", id=0xD0))
        connection.protocol.connectionLost(None)
        connection.transport.connected = False
        deferring.fire()
        assert connection.transport.value() == b""

    def test_datagram_deferred_response_is_sent(self, handler):
        """A UDP response made in a worker is sent to the client when ready."""
        deferring = DeferringHandler(handler)
        protocol = DNSDatagramProtocol(deferring)
        transport = FakeDatagramTransport()
        protocol.makeConnection(transport)
        protocol.datagramReceived(dns.message.make_query("www.example.org", "A", id=0xD0).to_wire(), ("127.0.0.1", 5353))
        assert transport.written == []
        deferring.fire()
        ((wire, addr),) = transport.written
        assert dns.message.from_wire(wire).id == 0xD0 and addr == ("127.0.0.1", 5353)


class TestBackpressure:
    """A client that sends requests but does not read the answers cannot make secdns buffer without bound."""

    def test_full_transport_stops_reading_and_answering(self, factory):
        """Once the transport says its buffer is full, no more requests are read or answered until it drains."""
        connection = Connection(factory)
        assert connection.transport.producer is connection.protocol and connection.transport.streaming
        connection.transport.producer.pauseProducing()  # what the transport does past its bound
        assert connection.transport.producerState == "paused"  # the socket is not read meanwhile
        connection.send(framed("www.example.org", id=1) + framed("mail.example.org", id=2))
        assert connection.responses() == []
        connection.transport.producer.resumeProducing()  # drained
        assert connection.transport.producerState == "producing"
        assert [r.id for r in connection.responses()] == [1, 2]

    def test_pause_in_the_middle_of_pipelined_requests(self, factory):
        """A pause while answering a segment of pipelined requests leaves the rest read but unanswered, in order."""
        connection = Connection(factory)
        protocol = connection.protocol
        answer = protocol._answer
        answered = []

        def answer_then_fill(message):
            answer(message)
            answered.append(message)
            if len(answered) == 2:
                connection.transport.producer.pauseProducing()

        protocol._answer = answer_then_fill
        connection.send(b"".join(framed("www.example.org", id=i) for i in range(1, 6)))
        assert [r.id for r in connection.responses()] == [1, 2]
        connection.transport.producer.resumeProducing()
        assert [r.id for r in connection.responses()] == [3, 4, 5]

    def test_stalled_connection_closed_at_idle_timeout_and_counted(self, factory, clock):
        connection = Connection(factory)
        connection.send(framed("www.example.org", id=1))
        connection.transport.producer.pauseProducing()
        clock.advance(IDLE + 1)
        assert connection.closed
        assert factory.stalled == 1

    def test_idle_connection_closed_but_not_counted_as_stalled(self, factory, clock):
        connection = Connection(factory)
        clock.advance(IDLE + 1)
        assert connection.closed
        assert factory.stalled == 0


class TestConnectionLimits:
    """At most tcp_clients_per_address from one address; past tcp_clients, the longest idle one makes room."""

    def connect(self, factory, host: str, port: int):
        address = IPv4Address("TCP", host, port)
        stream = factory.buildProtocol(address)
        if stream is None:
            return None
        transport = StringTransport(peerAddress=address)
        stream.makeConnection(transport)
        return stream

    def test_per_address_limit(self, handler, clock):
        factory = DNSStreamFactory(handler, IDLE, clock, max_clients=100, max_per_address=3)
        streams = [self.connect(factory, "192.0.2.1", 40000 + i) for i in range(4)]
        assert streams[3] is None and factory.limited == {"address": 1}
        assert self.connect(factory, "192.0.2.2", 41000) is not None  # another address
        streams[0].transport.loseConnection()
        streams[0].connectionLost()
        assert self.connect(factory, "192.0.2.1", 40009) is not None  # room again
        assert factory.connections == 4

    def test_past_the_total_the_longest_idle_makes_room(self, handler, clock):
        factory = DNSStreamFactory(handler, IDLE, clock, max_clients=3, max_per_address=100)
        a, b, c = (self.connect(factory, f"192.0.2.{i}", 40000) for i in (1, 2, 3))
        a.dataReceived(framed("www.example.org"))  # a is active: b is now the longest idle
        d = self.connect(factory, "192.0.2.4", 40000)
        assert d is not None and factory.limited == {"total": 1}
        assert b.transport.disconnecting and not a.transport.disconnecting and not c.transport.disconnecting
        assert factory.connections == 3
        b.connectionLost()  # the closed one's loss, when it comes, changes no count
        assert factory.connections == 3
