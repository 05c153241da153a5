"""secdns.transfer.requestor: requests to peers over UDP and TCP, with timeouts and TSIG, on a fake reactor."""

from __future__ import annotations

import struct

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.tsig
import pytest
from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError, TimeoutError
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from secdns.wire import tsig
from secdns.transfer.requestor import (
    READ_AHEAD,
    BadResponse,
    ConnectFailed,
    ConnectionClosed,
    PeerRcode,
    Requestor,
    RequestTimeout,
    Target,
)
from secdns.testing import FakeReactor

KEY = tsig.Key(dns.name.from_text("transfer-key"), dns.tsig.HMAC_SHA256, b"k" * 32)
OTHER = tsig.Key(dns.name.from_text("transfer-key"), dns.tsig.HMAC_SHA256, b"x" * 32)
MASTER = Target("127.0.0.1", 5353)
NOW = 1_700_000_000


def soa_query() -> bytes:
    return dns.message.make_query("example.com", "SOA").to_wire()


def response_to(wire: bytes, rcode: int = dns.rcode.NOERROR, flags: int = 0, answer: str | None = None) -> bytes:
    query = dns.message.from_wire(wire, keyring=False)
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    response.flags |= flags
    if answer:
        response.answer.append(dns.rrset.from_text("example.com.", 300, "IN", "SOA", answer))
    response.keyring = None  # signed, when at all, by the test
    response.request_mac = b""
    response.tsig = None
    return response.to_wire()


def sign_like_peer(request: bytes, response: bytes, key=KEY, now=NOW, prior=None, full=True) -> tuple[bytes, bytes]:
    """Sign a response as the peer would: chained to the request's MAC (or the previous message)."""
    if prior is None:
        prior = tsig.split_tsig(request).record.mac
    return tsig.sign(response, key, now, prior, full=full)


def unsigned(request: bytes) -> bytes:
    signed = tsig.split_tsig(request)
    return request if signed is None else signed.unsigned


def reactor_at(now: float = NOW) -> FakeReactor:
    reactor = FakeReactor()
    reactor.advance(now)
    return reactor


# -- UDP


def test_udp_answer_is_returned():
    """A UDP query returns the bytes of the datagram that answers it, from the port it was sent from."""
    reactor = reactor_at()
    d = Requestor(reactor, source="127.0.0.1").query(MASTER, soa_query(), timeout=5)
    protocol, transport = reactor.udp[0]
    assert transport.interface == "127.0.0.1"
    sent, addr = transport.written[0]
    assert addr == ("127.0.0.1", 5353)
    response = response_to(sent, answer="ns1.example.com. host.example.com. 7 1 1 1 1")
    protocol.datagramReceived(response, ("127.0.0.1", 5353))
    assert Testing.result(d) == response
    assert protocol.pending == {}


def test_udp_requests_share_one_port():
    """Requests in flight share a UDP port; one reusing another's ID to the same peer gets a new ID."""
    reactor = reactor_at()
    requestor = Requestor(reactor)
    query = soa_query()
    first = requestor.query(MASTER, query)
    second = requestor.query(MASTER, query)
    other_peer = requestor.query(Target("127.0.0.2", 53), query)
    assert len(reactor.udp) == 1
    protocol, transport = reactor.udp[0]
    (one, _), (two, _), (three, _) = transport.written
    assert one[:2] == query[:2] == three[:2] and two[:2] != one[:2]
    protocol.datagramReceived(response_to(two), ("127.0.0.1", 5353))
    assert Testing.result(second)[:2] == two[:2] and not first.called
    protocol.datagramReceived(response_to(one), ("127.0.0.1", 5353))
    protocol.datagramReceived(response_to(three), ("127.0.0.2", 53))
    assert first.called and other_peer.called


def test_udp_ignores_strays():
    """Datagrams from another address or with another ID are ignored; the real answer still counts."""
    reactor = reactor_at()
    d = Requestor(reactor).query(MASTER, soa_query(), timeout=5)
    protocol, transport = reactor.udp[0]
    sent, _ = transport.written[0]
    response = response_to(sent)
    protocol.datagramReceived(response, ("127.0.0.2", 5353))
    protocol.datagramReceived(b"\xff\xff" + response[2:], ("127.0.0.1", 5353))
    protocol.datagramReceived(sent, ("127.0.0.1", 5353))  # the query itself: QR clear
    other = dns.message.make_response(dns.message.make_query("example.net", "SOA"))
    other.id = dns.message.from_wire(sent).id
    protocol.datagramReceived(other.to_wire(), ("127.0.0.1", 5353))  # another question
    assert not d.called
    protocol.datagramReceived(response, ("127.0.0.1", 5353))
    assert Testing.result(d) == response


def test_udp_timeout():
    """No answer within the timeout is a RequestTimeout naming the peer, and the port is closed."""
    reactor = reactor_at()
    d = Requestor(reactor).query(MASTER, soa_query(), timeout=3)
    _, transport = reactor.udp[0]
    reactor.advance(2.9)
    assert not d.called
    reactor.advance(0.2)
    error = Testing.failure(d, RequestTimeout)
    assert "127.0.0.1#5353" in str(error.value) and "3 s" in str(error.value)
    assert reactor.udp[0][0].pending == {}


def test_truncated_udp_answer_is_asked_again_over_tcp():
    """A UDP answer with TC set sends the query again over TCP, and the TCP answer is returned."""
    reactor = reactor_at()
    d = Requestor(reactor).query(MASTER, soa_query(), timeout=5)
    protocol, transport = reactor.udp[0]
    sent, _ = transport.written[0]
    protocol.datagramReceived(response_to(sent, flags=dns.flags.TC), ("127.0.0.1", 5353))
    host, port, factory, timeout, _ = reactor.tcpClients[0]
    assert (host, port) == ("127.0.0.1", 5353)
    client, stream = connect(factory)
    request = framed_messages(stream)[0]
    full = response_to(request, answer="ns1.example.com. host.example.com. 7 1 1 1 1")
    client.dataReceived(frame(full))
    reactor.advance(0)
    assert Testing.result(d) == full


def test_signed_udp_query():
    """With a key, the query is signed and the response's signature is verified."""
    reactor = reactor_at()
    d = Requestor(reactor).query(Target("127.0.0.1", 5353, KEY), soa_query())
    protocol, transport = reactor.udp[0]
    sent, _ = transport.written[0]
    signed = tsig.split_tsig(sent)
    assert signed.key_name == KEY.name
    tsig.verify(signed, KEY, NOW)
    response, _ = sign_like_peer(sent, response_to(unsigned(sent)))
    protocol.datagramReceived(response, ("127.0.0.1", 5353))
    assert Testing.result(d) == response


def test_response_signed_with_another_secret_is_badsig():
    """A response whose MAC does not verify with our secret fails with BadSig naming the peer."""
    reactor = reactor_at()
    d = Requestor(reactor).query(Target("127.0.0.1", 5353, KEY), soa_query())
    protocol, transport = reactor.udp[0]
    sent, _ = transport.written[0]
    response, _ = sign_like_peer(sent, response_to(unsigned(sent)), key=OTHER)
    protocol.datagramReceived(response, ("127.0.0.1", 5353))
    error = Testing.failure(d, tsig.BadSig)
    assert "127.0.0.1#5353" in str(error.value)


def test_peer_rejecting_our_signature_is_peer_error():
    """A peer answering NOTAUTH with TSIG error BADSIG is reported as the peer's BADSIG."""
    reactor = reactor_at()
    d = Requestor(reactor).query(Target("127.0.0.1", 5353, KEY), soa_query())
    protocol, transport = reactor.udp[0]
    sent, _ = transport.written[0]
    response = tsig.error_record(
        response_to(unsigned(sent), rcode=dns.rcode.NOTAUTH), tsig.split_tsig(sent), dns.rcode.BADSIG, NOW
    )
    protocol.datagramReceived(response, ("127.0.0.1", 5353))
    error = Testing.failure(d, tsig.PeerTsigError)
    assert "BADSIG" in str(error.value)


def test_unsigned_refusal_reports_the_rcode():
    """An unsigned REFUSED to a signed query is reported as REFUSED, not as a missing signature."""
    reactor = reactor_at()
    d = Requestor(reactor).query(Target("127.0.0.1", 5353, KEY), soa_query())
    protocol, transport = reactor.udp[0]
    sent, _ = transport.written[0]
    protocol.datagramReceived(response_to(unsigned(sent), rcode=dns.rcode.REFUSED), ("127.0.0.1", 5353))
    error = Testing.failure(d, PeerRcode)
    assert error.value.rcode == dns.rcode.REFUSED
    assert "REFUSED" in str(error.value)


def test_unsigned_answer_to_signed_query_is_badsig():
    """An unsigned NOERROR answer to a signed query is refused as unauthenticated."""
    reactor = reactor_at()
    d = Requestor(reactor).query(Target("127.0.0.1", 5353, KEY), soa_query())
    protocol, transport = reactor.udp[0]
    sent, _ = transport.written[0]
    protocol.datagramReceived(response_to(unsigned(sent)), ("127.0.0.1", 5353))
    Testing.failure(d, tsig.BadSig)


# -- TCP streams


def frame(wire: bytes) -> bytes:
    return struct.pack("!H", len(wire)) + wire


def framed_messages(transport: StringTransport) -> list[bytes]:
    data = transport.value()
    out = []
    while data:
        (length,) = struct.unpack("!H", data[:2])
        out.append(data[2 : 2 + length])
        data = data[2 + length :]
    return out


def connect(factory):
    client = factory.buildProtocol(None)
    transport = StringTransport()
    client.makeConnection(transport)
    return client, transport


def start_stream(reactor, target=MASTER, limit=3, **timeouts):
    seen = []

    def on_message(wire: bytes) -> bool:
        seen.append(wire)
        return len(seen) == limit

    d = Requestor(reactor).stream(target, soa_query(), on_message, **timeouts)
    _, _, factory, _, _ = reactor.tcpClients[-1]
    client, transport = connect(factory)
    request = framed_messages(transport)[0]
    return d, seen, client, transport, request


def test_stream_hands_one_message_per_reactor_turn():
    """Messages that arrive together are handled later, each in a turn of its own; many pause the connection."""
    reactor = reactor_at()
    count = READ_AHEAD + 2
    d, seen, client, transport, request = start_stream(reactor, limit=count)
    messages = [response_to(request) for _ in range(count)]
    client.dataReceived(b"".join(frame(m) for m in messages))
    assert seen == [] and transport.producerState == "paused"
    due = [call for call in reactor.getDelayedCalls() if call.getTime() <= reactor.seconds()]
    assert len(due) == 1  # one message per call; each call schedules the next
    reactor.advance(0)
    assert seen == messages
    assert Testing.result(d) is None
    assert transport.disconnecting


def test_handler_deferred_is_waited_for():
    """A handler returning a Deferred gets the next message only once it fires; its failure ends the stream."""
    reactor = reactor_at()
    pending = []

    def on_message(wire):
        pending.append(defer.Deferred())
        return pending[-1]

    d = Requestor(reactor).stream(MASTER, soa_query(), on_message)
    client, transport = connect(reactor.tcpClients[0][2])
    request = framed_messages(transport)[0]
    client.dataReceived(frame(response_to(request)) + frame(response_to(request)))
    reactor.advance(0)
    assert len(pending) == 1
    pending[0].callback(False)
    reactor.advance(0)
    assert len(pending) == 2
    pending[1].errback(ValueError("bad zone data"))
    Testing.failure(d, ValueError)


def test_paused_connection_is_not_timed():
    """While the connection is paused because handling lags, the peer's silence does not time the stream out."""
    reactor = reactor_at()
    pending = []

    def on_message(wire):
        pending.append(defer.Deferred())
        return pending[-1]

    d = Requestor(reactor).stream(MASTER, soa_query(), on_message, message_timeout=10)
    client, transport = connect(reactor.tcpClients[0][2])
    request = framed_messages(transport)[0]
    client.dataReceived(b"".join(frame(response_to(request)) for _ in range(READ_AHEAD + 1)))
    reactor.advance(0)
    assert transport.producerState == "paused"
    reactor.advance(100)
    assert not d.called
    for _ in range(3):
        pending[-1].callback(False)
        reactor.advance(0)
    assert transport.producerState == "producing"
    reactor.advance(11)
    Testing.failure(d, RequestTimeout)


def test_stream_resumes_reading_when_queue_is_empty():
    """Once the messages read so far are handled, the connection is read again."""
    reactor = reactor_at()
    d, seen, client, transport, request = start_stream(reactor)
    client.dataReceived(frame(response_to(request)))
    reactor.advance(0)
    assert transport.producerState == "producing"
    assert not d.called


def test_signed_stream_verifies_every_message():
    """A signed multi-message response is verified as a chain, and its end needs a signed last message."""
    reactor = reactor_at()
    d, seen, client, transport, request = start_stream(reactor, Target("127.0.0.1", 5353, KEY))
    first, mac = sign_like_peer(request, response_to(unsigned(request)))
    middle = response_to(unsigned(request))  # RFC 8945 5.3.1: some may go unsigned
    last, _ = tsig.sign(response_to(unsigned(request)), KEY, NOW, mac, full=False, between=[middle])
    client.dataReceived(frame(first) + frame(middle) + frame(last))
    for _ in range(3):
        reactor.advance(0)
    assert len(seen) == 3
    assert Testing.result(d) is None


def test_stream_with_unsigned_last_message_fails():
    """A signed stream whose final message is unsigned is refused."""
    reactor = reactor_at()
    d, seen, client, transport, request = start_stream(reactor, Target("127.0.0.1", 5353, KEY), limit=2)
    first, _ = sign_like_peer(request, response_to(unsigned(request)))
    client.dataReceived(frame(first) + frame(response_to(unsigned(request))))
    reactor.advance(0)
    reactor.advance(0)
    Testing.failure(d, tsig.BadSig)


def test_stream_cut_off_half_way():
    """A connection closed before the response is complete fails with ConnectionClosed."""
    reactor = reactor_at()
    d, seen, client, transport, request = start_stream(reactor)
    client.dataReceived(frame(response_to(request)))
    reactor.advance(0)
    client.connectionLost(Failure(ConnectionRefusedError()))
    error = Testing.failure(d, ConnectionClosed)
    assert "after 1 messages" in str(error.value)


def test_messages_read_before_close_are_still_handled():
    """A peer that sends the whole response and closes at once still completes the request."""
    reactor = reactor_at()
    d, seen, client, transport, request = start_stream(reactor, limit=2)
    client.dataReceived(frame(response_to(request)) + frame(response_to(request)))
    client.connectionLost(Failure(ConnectionRefusedError()))
    reactor.advance(0)
    reactor.advance(0)
    assert Testing.result(d) is None


def test_message_that_is_not_our_response():
    """A message with another ID fails the stream with BadResponse."""
    reactor = reactor_at()
    d, seen, client, transport, request = start_stream(reactor)
    client.dataReceived(frame(b"\x00\x00" + response_to(request)[2:]))
    reactor.advance(0)
    Testing.failure(d, BadResponse)
    assert transport.disconnected or transport.disconnecting


def test_on_message_error_ends_the_stream():
    """An exception from the message handler ends the request with that exception and closes the connection."""
    reactor = reactor_at()

    def on_message(wire):
        raise ValueError("bad zone data")

    d = Requestor(reactor).stream(MASTER, soa_query(), on_message)
    client, transport = connect(reactor.tcpClients[0][2])
    client.dataReceived(frame(response_to(framed_messages(transport)[0])))
    reactor.advance(0)
    Testing.failure(d, ValueError)
    assert transport.disconnected


def test_message_timeout():
    """No message for message_timeout seconds fails the stream with RequestTimeout."""
    reactor = reactor_at()
    d, seen, client, transport, request = start_stream(reactor, message_timeout=10)
    reactor.advance(5)
    client.dataReceived(frame(response_to(request)))
    reactor.advance(0)
    reactor.advance(9)
    assert not d.called
    reactor.advance(2)
    error = Testing.failure(d, RequestTimeout)
    assert "message 2" in str(error.value)


def test_total_timeout():
    """A stream that keeps trickling is cut at total_timeout."""
    reactor = reactor_at()
    d, seen, client, transport, request = start_stream(reactor, limit=1000, message_timeout=10, total_timeout=25)
    for _ in range(3):
        client.dataReceived(frame(response_to(request)))
        reactor.advance(0)
        reactor.advance(9)
    Testing.failure(d, RequestTimeout)


def test_connect_failures():
    """A refused connection is ConnectFailed; a connect timeout is RequestTimeout."""
    reactor = reactor_at()
    requestor = Requestor(reactor)
    refused = requestor.stream(MASTER, soa_query(), lambda wire: True)
    factory = reactor.tcpClients[-1][2]
    factory.clientConnectionFailed(None, Failure(ConnectionRefusedError()))
    Testing.failure(refused, ConnectFailed)
    slow = requestor.stream(MASTER, soa_query(), lambda wire: True, connect_timeout=3)
    host, port, factory, timeout, bind = reactor.tcpClients[-1]
    assert timeout == 3
    factory.clientConnectionFailed(None, Failure(TimeoutError()))
    Testing.failure(slow, RequestTimeout)


def test_source_address_is_bound():
    """TCP requests are sent from transfer_source."""
    reactor = reactor_at()
    Requestor(reactor, source="127.0.0.1").stream(MASTER, soa_query(), lambda wire: True)
    assert reactor.tcpClients[-1][4] == ("127.0.0.1", 0)


def test_cancel_closes_the_connection():
    """Cancelling a stream closes its connection and stops its timers."""
    reactor = reactor_at()
    d, seen, client, transport, request = start_stream(reactor)
    d.cancel()
    assert transport.disconnected
    assert reactor.getDelayedCalls() == []
    d.addErrback(lambda f: None)


class Testing:
    """Reading Deferreds that have fired (as SynchronousTestCase's successResultOf does)."""

    @staticmethod
    def result(d):
        results = []
        d.addBoth(results.append)
        assert results, "Deferred has not fired"
        if isinstance(results[0], Failure):
            results[0].raiseException()
        return results[0]

    @staticmethod
    def failure(d, kind):
        results = []
        d.addBoth(results.append)
        assert results, "Deferred has not fired"
        assert isinstance(results[0], Failure), f"expected {kind.__name__}, got {results[0]!r}"
        assert results[0].check(kind), results[0].getTraceback()
        return results[0]


def test_silence_is_worded_like_the_udp_timeout():
    """Not "no the first message within 10 s" (as it was): the first is an answer, later ones numbered."""
    from secdns.transfer.requestor import silence

    assert silence("192.0.2.1#53", 0, 10) == "192.0.2.1#53: no answer over TCP within 10 s"
    assert silence("192.0.2.1#53", 3, 2.5) == "192.0.2.1#53: no message 4 over TCP within 2.5 s"
