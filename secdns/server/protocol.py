# -*- test-case-name: tests.unit.test_protocol -*-
"""
DNS over UDP and TCP: framing only.

The protocols turn datagrams and length-prefixed TCP messages into calls of
L{QueryHandler.answer_datagram} and L{QueryHandler.answer} and write back
what they return: the response's bytes, an iterator of messages (a
transfer, sent as the client reads it), or a L{Deferred} of either (a
response made in a worker thread: later requests on the same connection
wait for it, so they are answered in order).  Every decision about what to
answer is the handler's.
"""

from __future__ import annotations

import collections
import errno
import socket
from collections import deque

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IPullProducer, IPushProducer, IReactorTime
from twisted.logger import Logger
from twisted.protocols.basic import Int16StringReceiver
from twisted.protocols.policies import TimeoutMixin
from zope.interface import implementer

from secdns.server.dispatch import QueryHandler, Request
from secdns.server.rrl import RateLimiter, Verdict, truncated

__all__ = ["DNSDatagramProtocol", "DNSStreamProtocol", "DNSStreamFactory"]

log = Logger()

#: The receive buffer asked for on a UDP socket (the kernel caps it at
#: net.core.rmem_max): room for a burst of queries behind a slow answer.
RECEIVE_BUFFER = 4 * 1024 * 1024

#: Errors of sendto that lose that one response, as the network could: the
#: socket's buffer is full, or an ICMP error about an earlier datagram.
_LOST = frozenset(
    {errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS, errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH}
)


class DNSDatagramProtocol(protocol.DatagramProtocol):
    """
    Answers each datagram with at most one datagram.

    Responses go straight to the port's socket: the port's C{write} checks
    that the address is an IP address, for every datagram, and that costs
    more than answering from the memo; the addresses here come from the
    socket itself.

    @ivar lost: responses the socket would not take (see L{_LOST}).
    """

    noisy = False  # no "Starting protocol" lines: the port logs where it listens

    def __init__(self, handler: QueryHandler, rrl: RateLimiter | None = None) -> None:
        self.handler = handler
        self.lost = 0
        self._sendto = self._write
        self.rrl = rrl

    @property
    def rrl(self) -> RateLimiter | None:
        """Response rate limiting (L{secdns.server.rrl}), or L{None}: off, and no cost per datagram."""
        return self._rrl

    @rrl.setter
    def rrl(self, rrl: RateLimiter | None) -> None:
        self._rrl = rrl
        self._send = self._send_all if rrl is None else self._send_limited

    def _write(self, response: bytes, addr) -> None:
        self.transport.write(response, addr)

    def startProtocol(self) -> None:
        getHandle = getattr(self.transport, "getHandle", None)
        if getHandle is None:
            return  # a transport without a socket (a test's): its write() it is
        handle = getHandle()
        self._sendto = handle.sendto
        try:
            handle.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        except OSError as e:
            log.info("UDP receive buffer left at its default: {error}", error=e)

    def datagramReceived(self, datagram: bytes, addr) -> None:
        try:
            response = self.handler.answer_datagram(datagram, addr)
        except Exception:
            log.failure("unexpected error answering {address}", address=addr[0])
            return
        # bytes, None, or a Deferred (made in a worker: an IXFR from a long
        # journal).  The type test first: isinstance() with Deferred (a
        # generic Awaitable, so an ABC) costs 0.14 us a query, 1% of one.
        if type(response) is not bytes and isinstance(response, defer.Deferred):
            response.addCallback(self._send, addr, datagram).addErrback(
                lambda failure: log.failure("unexpected error answering {address}", failure, address=addr[0])
            )
            return
        self._send(response, addr, datagram)

    def _send_limited(self, response: bytes | None, addr, datagram: bytes) -> None:
        if response is not None:
            verdict = self._rrl.judge(addr[0], response, lambda: self.handler.cookie_state(datagram, addr[0]))
            if verdict is Verdict.DROP:
                return
            if verdict is Verdict.SLIP:
                response = truncated(response)
            elif verdict is Verdict.BADCOOKIE:
                response = self.handler.bad_cookie(datagram, addr[0])
        self._send_all(response, addr)

    def _send_all(self, response: bytes | None, addr, datagram: bytes = b"") -> None:
        if response is not None:
            try:
                self._sendto(response, addr)
            except OSError as e:
                if e.errno in _LOST:
                    self.lost += 1
                else:
                    log.error("cannot send a response to {address}: {error}", address=addr[0], error=e)

    def stopProtocol(self) -> None:
        self._sendto = self._write


#: Requests read and held while a transfer is sent on the same connection;
#: past it, no more are read until the transfer ends.
MAX_WAITING = 100


@implementer(IPushProducer)
class DNSStreamProtocol(Int16StringReceiver, TimeoutMixin):
    """
    DNS over TCP (RFC 7766): many requests per connection, answered in
    order, and the connection closed after C{idle_timeout} seconds without
    a complete request (a byte at a time does not keep it open).  A request
    that makes the handler fail closes this connection only.

    A client that sends requests but does not read the answers gets no
    more read from it once the answers waiting to go out pass the
    transport's bound (the protocol is the transport's streaming producer:
    Twisted pauses it then), nor once L{MAX_WAITING} requests wait behind a
    transfer; so it cannot make secdns buffer without bound, and the idle
    timeout closes it if it does not drain them (counted: the factory's
    C{stalled}).
    """

    def __init__(self, handler: QueryHandler, idle_timeout: float) -> None:
        self.handler = handler
        self.idle_timeout = idle_timeout
        self._stream: _ResponseStream | None = None
        self._waiting: deque[bytes] = deque()
        self._full = False  # the transport's buffer is past its bound

    def connectionMade(self) -> None:
        peer = self.transport.getPeer()
        self.request = Request(peer.host, peer.port, True)
        self.setTimeout(self.idle_timeout)
        self.transport.registerProducer(self, True)
        self.factory.opened(self)

    # IPushProducer: the transport's word on its buffer

    def pauseProducing(self) -> None:
        self._full = True
        self._hold()

    def resumeProducing(self) -> None:
        self._full = False
        self._release()

    def _hold(self) -> None:
        """Read no more requests (and answer none of those read) for now."""
        if not self.paused:
            self.paused = True
            self.transport.pauseProducing()

    def _release(self) -> None:
        if self.paused and not self._full and len(self._waiting) < MAX_WAITING and not self.transport.disconnecting:
            self.paused = False
            self.transport.resumeProducing()
            self.dataReceived(b"")  # the requests read before the pause

    def stringReceived(self, message: bytes) -> None:
        self.resetTimeout()
        self.factory.active(self)
        if self._stream is not None:
            self._waiting.append(message)  # answered in order, after the transfer
            if len(self._waiting) >= MAX_WAITING:
                self._hold()
            return
        self._answer(message)

    def _answer(self, message: bytes) -> None:
        try:
            response = self.handler.answer(message, self.request)
        except Exception:
            log.failure("unexpected error answering {address}", address=self.request.address)
            self.transport.loseConnection()
            return
        if isinstance(response, defer.Deferred):
            # Made in a worker (an IXFR from a long journal): later requests
            # wait for it, to be answered in order.
            self._stream = _PENDING
            response.addCallbacks(self._ready, self._not_ready)
            return
        self._respond(response)

    def _ready(self, response) -> None:
        self._stream = None
        if self.transport.connected:
            self._respond(response)
            if self._stream is None:
                self._stream_finished()

    def _not_ready(self, failure) -> None:
        self._stream = None
        log.failure("unexpected error answering {address}", failure, address=self.request.address)
        self.transport.loseConnection()

    def _respond(self, response) -> None:
        if response is None:
            return
        if isinstance(response, bytes):
            self.sendString(response)
            return
        # A transfer: messages are made as the client reads them.
        self._stream = _ResponseStream(self, iter(response))
        self.transport.unregisterProducer()
        self.transport.registerProducer(self._stream, False)

    def _stream_finished(self) -> None:
        if self._stream is not None:
            self.transport.unregisterProducer()
            self._full = False
            self.transport.registerProducer(self, True)
        self._stream = None
        while self._waiting and self._stream is None and not self._full and self.transport.connected:
            self._answer(self._waiting.popleft())
        self._release()

    def timeoutConnection(self) -> None:
        if self._full:
            # It sent requests and never read the answers: closing politely
            # would wait for them to be read.  Drop them, with the connection.
            self.factory.stalled += 1
            self.transport.abortConnection()
            return
        self.transport.loseConnection()

    def connectionLost(self, reason=protocol.connectionDone) -> None:
        self.setTimeout(None)
        self.factory.closed(self)
        if self._stream is not None and self._stream is not _PENDING:
            self._stream.stopProducing()
            self._stream = None


#: What C{_stream} holds while a response is being made in a worker.
_PENDING = object()


@implementer(IPullProducer)
class _ResponseStream:
    """Pulls the next message of a multi-message response when the transport has room."""

    def __init__(self, protocol: DNSStreamProtocol, messages) -> None:
        self.protocol = protocol
        self.messages = messages

    def resumeProducing(self) -> None:
        try:
            wire = next(self.messages)
        except StopIteration:
            self.protocol._stream_finished()
            return
        except Exception:
            log.failure("transfer to {address} failed", address=self.protocol.request.address)
            self.protocol.transport.loseConnection()
            return
        self.protocol.resetTimeout()
        self.protocol.sendString(wire)

    def stopProducing(self) -> None:
        close = getattr(self.messages, "close", None)
        if close is not None:
            close()


class DNSStreamFactory(protocol.ServerFactory):
    """
    Makes a L{DNSStreamProtocol} per TCP connection, within two limits (as
    BIND's C{tcp-clients} and Knot's C{tcp-max-clients}): at most
    C{max_per_address} connections from one address (one more is closed
    at once), and at most C{max_clients} in all, where a new connection
    closes the one that has been idle the longest, so that idle or slow
    clients cannot keep new ones out.  Both counted in C{limited}.
    """

    noisy = False  # no "Starting factory" lines: the port logs where it listens
    protocol = DNSStreamProtocol

    def __init__(
        self,
        handler: QueryHandler,
        idle_timeout: float,
        clock: IReactorTime,
        max_clients: int = 1000,
        max_per_address: int = 100,
    ) -> None:
        self.handler = handler
        self.idle_timeout = idle_timeout
        self.clock = clock
        self.max_clients = max_clients
        self.max_per_address = max_per_address
        self.stalled = 0  # connections closed with answers they never read
        self.accepted = 0  # connections served (taken over from a worker included)
        self.queries = 0  # requests read
        self.limited: collections.Counter = collections.Counter()  # by which limit
        self._open: dict[DNSStreamProtocol, None] = {}  # least recently active first
        self._per_address: collections.Counter = collections.Counter()

    def buildProtocol(self, addr) -> DNSStreamProtocol | None:
        host = getattr(addr, "host", None)
        if host is not None and self._per_address[host] >= self.max_per_address:
            self.limited["address"] += 1
            return None  # Twisted closes the connection
        while len(self._open) >= self.max_clients:
            oldest = next(iter(self._open))
            self.closed(oldest)
            self.limited["total"] += 1
            oldest.transport.abortConnection()
        stream = self.protocol(self.handler, self.idle_timeout)
        stream.factory = self
        stream.callLater = self.clock.callLater  # TimeoutMixin's seam for its clock
        return stream

    def opened(self, stream: DNSStreamProtocol) -> None:
        self.accepted += 1
        self._open[stream] = None
        self._per_address[stream.request.address] += 1

    def active(self, stream: DNSStreamProtocol) -> None:
        """A request came on C{stream}: it is the most recently active now."""
        self.queries += 1
        if stream in self._open:
            del self._open[stream]
            self._open[stream] = None

    def closed(self, stream: DNSStreamProtocol) -> None:
        if stream in self._open:
            del self._open[stream]
            address = stream.request.address
            self._per_address[address] -= 1
            if self._per_address[address] <= 0:
                del self._per_address[address]

    @property
    def connections(self) -> int:
        return len(self._open)
