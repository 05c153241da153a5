# -*- test-case-name: tests.unit.test_workerstream -*-
"""
DNS over TCP in a worker (L{secdns.worker}): the main process's
L{DNSStreamProtocol} and L{DNSStreamFactory} (idle timeout, client limits,
backpressure), answering plain queries; a connection that brings a message
the main process must answer (L{must_forward}: a transfer, NOTIFY, UPDATE,
TSIG) is handed over to it whole, so its client sees one connection
answered throughout:

  1. the worker reads no more from it and answers nothing more;
  2. the answers already written go out of Twisted's buffer (the kernel's
     goes with the socket);
  3. the socket's descriptor goes to the main process (SCM_RIGHTS, on the
     worker's hand-over socket) with the bytes read and not answered
     (L{workerlink.unanswered}): that message and whatever followed it;
  4. the worker drops its copy without C{shutdown()} (which would end the
     connection for the main process too): out of the reactor, its
     descriptor closed, counted closed once.
"""

from __future__ import annotations

import socket

from twisted.internet.interfaces import IPullProducer
from twisted.logger import Logger
from zope.interface import implementer

from secdns.server.protocol import DNSStreamFactory, DNSStreamProtocol
from secdns.server.workerlink import HANDOVER, frame, must_forward, unanswered

__all__ = ["WorkerStreamProtocol", "WorkerStreamFactory", "send_connection", "unsent"]

log = Logger()


def unsent(transport) -> int:
    """Octets a Twisted TCP transport holds, written and not yet given to the kernel."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


def send_connection(channel: socket.socket, fd: int, data: bytes) -> None:
    """Hand descriptor C{fd} and its unanswered C{data} to the main process (C{channel}: blocking)."""
    message = frame(HANDOVER, data)
    sent = socket.send_fds(channel, [message], [fd])
    if sent < len(message):
        channel.sendall(message[sent:])


class WorkerStreamProtocol(DNSStreamProtocol):
    """L{DNSStreamProtocol} that answers plain queries and hands the connection over at the first other message."""

    _leaving: list[bytes] | None = None  # the messages to hand over, once leaving
    _gone = False  # handed over: this process is done with it

    def stringReceived(self, message: bytes) -> None:
        if self._leaving is not None:
            self._leaving.append(message)
            return
        if must_forward(message):
            self._leave(message)
            return
        DNSStreamProtocol.stringReceived(self, message)

    def _leave(self, message: bytes) -> None:
        """Read and answer no more; hand over once what was answered is out of Twisted's buffer."""
        self._leaving = list(self._waiting) + [message]
        self._waiting.clear()
        # The idle timeout keeps running: a client that does not read what
        # was answered before is dropped at it, here, as it would have been.
        self.paused = True  # the parser stops here: what follows stays in _unprocessed
        self.transport.pauseProducing()
        # Not now: the parser sets _unprocessed when this message's call returns.
        self.callLater(0, self._await_drain)

    def _release(self) -> None:
        if self._leaving is None:
            DNSStreamProtocol._release(self)

    def _await_drain(self) -> None:
        if not self.transport.connected or self.transport.disconnecting:
            return  # the client went meanwhile: connectionLost did the rest
        self.transport.unregisterProducer()
        self.transport.registerProducer(_Drained(self), False)

    def _drained(self) -> None:
        transport = self.transport
        if self._gone or not transport.connected or unsent(transport):
            return
        data = unanswered(self._leaving, self._unprocessed)
        try:
            self.factory.hand_over(transport.fileno(), data)
        except OSError as e:
            log.error("cannot hand a TCP connection from {address} to the main process: {error}",
                      address=self.request.address, error=e)
            transport.abortConnection()
            return
        self._gone = True
        self.setTimeout(None)
        self.factory.handed_over += 1
        transport.unregisterProducer()
        _drop(transport)
        self.factory.closed(self)

    def timeoutConnection(self) -> None:
        if self._leaving is not None and not self._gone:
            # Its answers never left Twisted's buffer: the client does not read.
            self.factory.stalled += 1
            self.transport.abortConnection()
            return
        DNSStreamProtocol.timeoutConnection(self)

    def connectionLost(self, reason=None) -> None:
        if not self._gone:
            DNSStreamProtocol.connectionLost(self, reason)


@implementer(IPullProducer)
class _Drained:
    """Told by the transport when its buffer is empty (a pull producer is asked for more then)."""

    def __init__(self, protocol: WorkerStreamProtocol) -> None:
        self.protocol = protocol

    def resumeProducing(self) -> None:
        self.protocol._drained()

    def stopProducing(self) -> None:
        pass


def _drop(transport) -> None:
    """
    Forget a TCP transport whose socket another process now holds: out of
    the reactor and its descriptor closed, without the C{shutdown()} of
    Twisted's close (it would end the connection for the other process),
    and without C{connectionLost} (the connection did not end).
    """
    transport.reactor.removeReader(transport)
    transport.reactor.removeWriter(transport)
    transport.connected = False
    transport.disconnected = True
    transport.socket.close()


class WorkerStreamFactory(DNSStreamFactory):
    """
    L{DNSStreamFactory} of a worker: L{WorkerStreamProtocol}s, and
    C{hand_over(fd, data)} that sends a connection to the main process.
    """

    protocol = WorkerStreamProtocol

    def __init__(self, handler, idle_timeout: float, clock, hand_over, **limits) -> None:
        super().__init__(handler, idle_timeout, clock, **limits)
        self.hand_over = hand_over
        self.handed_over = 0
