"""A worker's TCP connections, and how one is handed to the main process (secdns.server.workerstream)."""

from __future__ import annotations

import os
import socket
import struct

import dns.message
import dns.zone
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from secdns.server.dispatch import QueryHandler
from secdns.server.workerlink import HandOvers
from secdns.server.workerstream import WorkerStreamFactory, send_connection
from secdns.zones.version import from_zone
from secdns.zones.zone import Zone
from secdns.zones.zonemap import ZoneDB
from secdns.config import PRIMARY, ZoneConfig

ZONE_TEXT = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n"


def handler() -> QueryHandler:
    zone = Zone(ZoneConfig(name=dns.name.from_text("example.com."), type=PRIMARY))
    zone.swap(from_zone(dns.zone.from_text(ZONE_TEXT, origin="example.com.", relativize=False)))
    return QueryHandler(ZoneDB.of([zone]))


class Reactor:
    def __init__(self) -> None:
        self.removed: list[str] = []

    def removeReader(self, transport) -> None:
        self.removed.append("reader")

    def removeWriter(self, transport) -> None:
        self.removed.append("writer")


class Socket:
    closed = False
    shut = False

    def close(self) -> None:
        self.closed = True

    def shutdown(self, how) -> None:  # never called: it would end the connection for the main process too
        self.shut = True


class Transport(StringTransport):
    """What the protocol and the hand-over use of Twisted's TCP transport."""

    def __init__(self) -> None:
        super().__init__(peerAddress=IPv4Address("TCP", "192.0.2.9", 5353))
        self.reactor = Reactor()
        self.socket = Socket()
        self.dataBuffer = b""
        self.offset = 0
        self._tempDataLen = 0

    def fileno(self) -> int:
        return 99


def framed(*messages: dns.message.Message) -> bytes:
    return b"".join(struct.pack("!H", len(w)) + w for w in (m.to_wire() for m in messages))


def responses(transport: Transport) -> list[dns.message.Message]:
    data, out = transport.value(), []
    while data:
        (length,) = struct.unpack("!H", data[:2])
        out.append(dns.message.from_wire(data[2 : 2 + length]))
        data = data[2 + length :]
    return out


def connection():
    clock, handed = Clock(), []
    factory = WorkerStreamFactory(handler(), 30.0, clock, lambda fd, data: handed.append((fd, data)))
    stream = factory.buildProtocol(IPv4Address("TCP", "192.0.2.9", 5353))
    transport = Transport()
    stream.makeConnection(transport)
    return clock, handed, factory, stream, transport


def test_plain_queries_are_answered_in_the_worker():
    clock, handed, factory, stream, transport = connection()
    queries = [dns.message.make_query("example.com.", "SOA"), dns.message.make_query("ns1.example.com.", "A")]
    stream.dataReceived(framed(*queries))
    assert [r.id for r in responses(transport)] == [q.id for q in queries]
    assert factory.queries == 2 and factory.accepted == 1 and factory.connections == 1
    clock.advance(0)
    assert handed == [] and transport.producer is stream


def test_a_transfer_hands_the_connection_over_with_what_followed_it():
    clock, handed, factory, stream, transport = connection()
    first = dns.message.make_query("example.com.", "SOA")
    axfr = dns.message.make_query("example.com.", "AXFR")
    after = dns.message.make_query("example.com.", "NS")
    partial = framed(dns.message.make_query("example.com.", "A"))[:7]
    stream.dataReceived(framed(first, axfr, after) + partial)
    assert [r.id for r in responses(transport)] == [first.id]  # only what came before
    assert transport.producerState == "paused"  # no more read
    clock.advance(0)
    drained = transport.producer
    assert drained is not stream and not transport.streaming
    transport.dataBuffer = b"an answer not yet written"
    drained.resumeProducing()
    assert handed == []  # not while answers of this process wait to go out
    clock.advance(20)  # within the idle timeout (30 s)
    assert not transport.disconnecting
    transport.dataBuffer = b""
    drained.resumeProducing()
    assert handed == [(99, framed(axfr, after) + partial)]
    assert transport.reactor.removed == ["reader", "writer"]
    assert transport.socket.closed and not transport.socket.shut
    assert factory.handed_over == 1 and factory.connections == 0 and factory._per_address == {}
    stream.connectionLost()  # never comes from the reactor; were it to, nothing is counted again
    assert factory.connections == 0 and factory._per_address == {}
    assert factory.queries == 1
    clock.advance(60)  # no idle timeout on a connection this process no longer has
    assert not transport.disconnecting and factory.stalled == 0


def test_a_client_that_does_not_read_is_dropped_at_the_idle_timeout_not_handed_over():
    clock, handed, factory, stream, transport = connection()
    stream.dataReceived(framed(dns.message.make_query("example.com.", "SOA"), dns.message.make_query("example.com.", "AXFR")))
    clock.advance(0)
    transport.dataBuffer = b"answers the client never reads"
    transport.producer.resumeProducing()
    clock.advance(31)
    assert transport.disconnecting and handed == [] and factory.stalled == 1
    stream.connectionLost()
    assert factory.connections == 0 and factory.handed_over == 0


def test_a_client_gone_before_the_hand_over_is_closed_once():
    clock, handed, factory, stream, transport = connection()
    stream.dataReceived(framed(dns.message.make_query("example.com.", "AXFR")))
    transport.connected = False
    stream.connectionLost()
    clock.advance(0)
    assert handed == [] and factory.connections == 0 and factory.handed_over == 0


def test_a_descriptor_and_its_bytes_cross_a_unix_socket():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    read_end, write_end = os.pipe()
    try:
        send_connection(theirs, read_end, b"\x00\x03abc" * 12000)  # more than one read
        handovers, taken = HandOvers(), []
        while not taken:
            data, fds, _, _ = socket.recv_fds(ours, 65536, 4)
            assert data
            taken += handovers.feed(data, fds)
        ((fd, data),) = taken
        assert data == b"\x00\x03abc" * 12000
        assert os.fstat(fd).st_ino == os.fstat(read_end).st_ino and fd != read_end
        os.close(fd)
    finally:
        for s in (ours, theirs):
            s.close()
        os.close(read_end)
        os.close(write_end)
