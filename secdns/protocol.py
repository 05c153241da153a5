# -*- test-case-name: tests.unit.test_protocol -*-
"""
DNS over UDP and TCP: framing only.

The protocols turn datagrams and length-prefixed TCP messages into calls of
L{QueryHandler.answer} and write back what it returns.  Every decision about
what to answer is the handler's.
"""

from __future__ import annotations

from collections import deque

from twisted.internet import protocol
from twisted.internet.interfaces import IPullProducer, IReactorTime
from twisted.logger import Logger
from twisted.protocols.basic import Int16StringReceiver
from twisted.protocols.policies import TimeoutMixin
from zope.interface import implementer

from secdns.query import QueryHandler, Request

__all__ = ["DNSDatagramProtocol", "DNSStreamProtocol", "DNSStreamFactory"]

log = Logger()


class DNSDatagramProtocol(protocol.DatagramProtocol):
    """Answers each datagram with at most one datagram."""

    noisy = False  # no "Starting protocol" lines: the port logs where it listens

    def __init__(self, handler: QueryHandler) -> None:
        self.handler = handler

    def datagramReceived(self, datagram: bytes, addr) -> None:
        try:
            response = self.handler.answer(datagram, Request(addr[0], addr[1], False))
        except Exception:
            log.failure("unexpected error answering {address}", address=addr[0])
            return
        if response is not None:
            self.transport.write(response, addr)


class DNSStreamProtocol(Int16StringReceiver, TimeoutMixin):
    """
    DNS over TCP (RFC 7766): many requests per connection, answered in
    order, and the connection closed after C{idle_timeout} seconds without
    a complete request (a byte at a time does not keep it open).  A request
    that makes the handler fail closes this connection only.
    """

    def __init__(self, handler: QueryHandler, idle_timeout: float) -> None:
        self.handler = handler
        self.idle_timeout = idle_timeout
        self._stream: _ResponseStream | None = None
        self._waiting: deque[bytes] = deque()

    def connectionMade(self) -> None:
        peer = self.transport.getPeer()
        self.request = Request(peer.host, peer.port, True)
        self.setTimeout(self.idle_timeout)

    def stringReceived(self, message: bytes) -> None:
        self.resetTimeout()
        if self._stream is not None:
            self._waiting.append(message)  # answered in order, after the transfer
            return
        self._answer(message)

    def _answer(self, message: bytes) -> None:
        try:
            response = self.handler.answer(message, self.request)
        except Exception:
            log.failure("unexpected error answering {address}", address=self.request.address)
            self.transport.loseConnection()
            return
        if response is None:
            return
        if isinstance(response, bytes):
            self.sendString(response)
            return
        # A transfer: messages are made as the client reads them.
        self._stream = _ResponseStream(self, iter(response))
        self.transport.registerProducer(self._stream, False)

    def _stream_finished(self) -> None:
        self.transport.unregisterProducer()
        self._stream = None
        while self._waiting and self._stream is None and self.transport.connected:
            self._answer(self._waiting.popleft())

    def timeoutConnection(self) -> None:
        self.transport.loseConnection()

    def connectionLost(self, reason=protocol.connectionDone) -> None:
        self.setTimeout(None)
        if self._stream is not None:
            self._stream.stopProducing()
            self._stream = None


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
    """Makes a L{DNSStreamProtocol} per TCP connection."""

    noisy = False  # no "Starting factory" lines: the port logs where it listens

    def __init__(self, handler: QueryHandler, idle_timeout: float, clock: IReactorTime) -> None:
        self.handler = handler
        self.idle_timeout = idle_timeout
        self.clock = clock

    def buildProtocol(self, addr) -> DNSStreamProtocol:
        stream = DNSStreamProtocol(self.handler, self.idle_timeout)
        stream.callLater = self.clock.callLater  # TimeoutMixin's seam for its clock
        return stream
