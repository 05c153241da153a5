# -*- test-case-name: tests.unit.test_requestor -*-
"""
Requests we send: SOA queries and transfers to masters, NOTIFYs to
downstreams (Knot's C{query/requestor}).

L{Requestor.query} sends one message and returns the response's bytes:
over UDP (then TCP when the answer is truncated), or over TCP.
L{Requestor.stream} sends one message over TCP and hands each message of
the response to a callback until it says the response is complete (a
zone transfer).  Both sign the request when given a TSIG key and verify
every message of the response against it (L{tsig.StreamVerifier}), so the
caller only ever sees authenticated bytes.

A stream is handed on one message per reactor turn, so a large transfer
never holds the reactor for longer than one message (or, when the handler
works in a thread, not at all), and queries keep being answered.

Every wait is bounded by the clock: the UDP answer, the TCP connect, each
message of a stream, and the whole stream.  Errors say which peer and
which step, in words an operator can act on::

    RequestTimeout   no answer in time (the step is named)
    ConnectFailed    TCP connect refused or unreachable
    ConnectionClosed the peer closed before the response was complete
    BadResponse      a message that is not a response to ours
    PeerRcode        the peer answered with an error RCODE (REFUSED, ...)
    tsig.TsigError   the response does not verify (or the peer rejected ours)
"""

from __future__ import annotations

import ipaddress
import secrets
import struct
from collections import deque
from typing import Callable

import attrs
import dns.rcode
from twisted.internet import defer, error, protocol
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.protocols.basic import Int16StringReceiver
from twisted.python.failure import Failure

from secdns.wire import tsig
from secdns.addresses import canonical
from secdns.errors import PeerError, SecdnsError

__all__ = [
    "Requestor",
    "RequestError",
    "RequestTimeout",
    "ConnectFailed",
    "ConnectionClosed",
    "BadResponse",
    "PeerRcode",
    "Target",
    "rcode_of",
    "check_rcode",
]

log = Logger()

TC = 0x0200

#: Messages of a stream read ahead while one is being handled; past that
#: the connection is paused.
READ_AHEAD = 8


class RequestError(SecdnsError):
    """A request to a peer got no usable response."""


class RequestTimeout(RequestError):
    """The peer did not answer in time."""


def silence(target: str, received: int, timeout: float) -> str:
    """
    Why a TCP exchange was given up after C{received} messages, worded as
    the UDP timeout is: C{no answer over TCP within 10 s}, C{no message 4
    over TCP within 10 s}.
    """
    what = "answer" if received == 0 else f"message {received + 1}"
    return f"{target}: no {what} over TCP within {timeout:g} s"


class ConnectFailed(RequestError):
    """The TCP connection to the peer could not be made."""


class ConnectionClosed(RequestError):
    """The peer closed the connection before the response was complete."""


class BadResponse(RequestError):
    """A message that is not a well-formed response to our request."""


class PeerRcode(PeerError):
    """The peer answered with an error RCODE."""

    def __init__(self, rcode: int, reason: str) -> None:
        super().__init__(reason)
        self.rcode = rcode
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


@attrs.frozen
class Target:
    """Where a request goes: an address, a port, and the key to sign with (if any)."""

    address: str
    port: int = 53
    key: tsig.Key | None = None

    def __str__(self) -> str:
        return f"{self.address}#{self.port}"


def rcode_of(wire: bytes) -> int:
    """The RCODE in a message's header (without EDNS's extension)."""
    return wire[3] & 0x0F


def check_rcode(wire: bytes, target: Target) -> None:
    """@raise PeerRcode: when the response carries an error RCODE."""
    rcode = rcode_of(wire)
    if rcode != dns.rcode.NOERROR:
        raise PeerRcode(rcode, f"{target} answered {dns.rcode.to_text(rcode)}")


class _Signing:
    """The TSIG side of one request: signs it, then verifies the response's messages."""

    def __init__(self, target: Target, wire: bytes, now: float) -> None:
        self.target = target
        self.query_id = struct.unpack("!H", wire[:2])[0]
        self.opcode = wire[2] & 0x78
        self.question = _question(wire)
        self.verifier = None
        if target.key is None:
            self.wire = wire
        else:
            self.wire, mac = tsig.sign(wire, target.key, now)
            self.verifier = tsig.StreamVerifier(target.key, mac, int(now), peer=str(target))

    def is_response(self, wire: bytes) -> bool:
        """Whether C{wire} answers our request: its ID, QR, opcode, and question when it has one."""
        if not (
            len(wire) >= 12
            and struct.unpack("!H", wire[:2])[0] == self.query_id
            and wire[2] & 0x80
            and wire[2] & 0x78 == self.opcode
        ):
            return False
        return wire[4:6] == b"\x00\x00" or _question(wire) == self.question

    def verify(self, wire: bytes, now: float) -> None:
        """@raise tsig.TsigError, PeerRcode: the message is not authentic."""
        if self.verifier is None:
            return
        try:
            self.verifier.verify(wire, now)
        except tsig.BadSig:
            # An unsigned error (REFUSED, NOTAUTH...) says more than "no TSIG".
            if rcode_of(wire) != dns.rcode.NOERROR and tsig.split_tsig(wire) is None:
                check_rcode(wire, self.target)
            raise

    def finish(self) -> None:
        if self.verifier is not None:
            self.verifier.finish()


def _question(wire: bytes) -> bytes | None:
    """The first question of a message (name uncompressed, as it is first), lowercased."""
    end = 12
    try:
        while wire[end]:
            if wire[end] >= 0xC0:
                return None
            end += wire[end] + 1
    except IndexError:
        return None
    return wire[12 : end + 5].lower()


class Requestor:
    """
    Sends requests from C{source} (C{[server] transfer_source}).

    @ivar reactor: provides C{IReactorTime}, C{IReactorUDP} and C{IReactorTCP}.
    """

    def __init__(self, reactor, source: str | None = None) -> None:
        self.reactor = reactor
        self.source = source
        self._muxes: dict[str, _UDPMux] = {}

    def _now(self) -> float:
        return self.reactor.seconds()

    def _interface(self, address: str) -> str:
        """The local address to send from: C{source} when it is of the peer's family."""
        family = ipaddress.ip_address(address).version
        if self.source is not None and ipaddress.ip_address(self.source).version == family:
            return self.source
        return "::" if family == 6 else ""

    # -- one message

    def query(self, target: Target, wire: bytes, udp: bool = True, timeout: float = 5.0) -> defer.Deferred:
        """
        Send C{wire} and return (a Deferred of) the verified response bytes.
        Over UDP, a truncated response is asked again over TCP, within the
        same C{timeout}.
        """
        if not udp:
            return self._single_tcp(target, wire, timeout)
        started = self._now()
        d = self._udp(target, wire, timeout)

        def maybe_tcp(response: bytes):
            if response[2] & (TC >> 8):
                left = max(0.1, timeout - (self._now() - started))
                return self._single_tcp(target, wire, left)
            return response

        return d.addCallback(maybe_tcp)

    def _udp(self, target: Target, wire: bytes, timeout: float) -> defer.Deferred:
        mux = self._mux(target.address)
        wire = mux.unused_id(wire, target)
        signing = _Signing(target, wire, self._now())
        request = _UDPRequest(target, signing, self.reactor, mux)
        d = defer.Deferred(lambda _: request.abort())
        request.deferred = d
        mux.pending[request.key] = request
        request.timer = self.reactor.callLater(timeout, request.time_out, timeout)
        mux.transport.write(signing.wire, (target.address, target.port))
        return d

    def _mux(self, address: str) -> "_UDPMux":
        """The UDP port requests to C{address}'s family go out from, opened at first use."""
        interface = self._interface(address)
        mux = self._muxes.get(interface)
        if mux is None:
            mux = self._muxes[interface] = _UDPMux()
            self.reactor.listenUDP(0, mux, interface=interface)
        return mux

    def _single_tcp(self, target: Target, wire: bytes, timeout: float) -> defer.Deferred:
        responses = []

        def keep(message: bytes) -> bool:
            responses.append(message)
            return True

        d = self.stream(target, wire, keep, connect_timeout=timeout, message_timeout=timeout, total_timeout=timeout)
        return d.addCallback(lambda _: responses[0])

    # -- a stream of messages

    def stream(
        self,
        target: Target,
        wire: bytes,
        on_message: Callable[[bytes], bool],
        connect_timeout: float = 10.0,
        message_timeout: float = 30.0,
        total_timeout: float = 7200.0,
    ) -> defer.Deferred:
        """
        Send C{wire} over TCP and call C{on_message} with each verified
        message of the response, one per reactor turn, until it returns
        true (or a Deferred of true: the next message waits for it).  An
        exception (or failed Deferred) from C{on_message} ends the request
        with it.

        @return: a Deferred that fires with L{None} when the response is
            complete (and its last message signed, when a key was given);
            cancelling it closes the connection.
        """
        signing = _Signing(target, wire, self._now())
        factory = _StreamFactory(target, signing, on_message, self.reactor, message_timeout)
        d = defer.Deferred(lambda _: factory.abort())
        factory.deferred = d
        factory.total_timer = self.reactor.callLater(total_timeout, factory.time_out_total, total_timeout)
        interface = self._interface(target.address)
        bind = (interface, 0) if interface not in ("", "::") else None
        factory.connector = self.reactor.connectTCP(
            target.address, target.port, factory, timeout=connect_timeout, bindAddress=bind
        )
        return d


class _UDPMux(protocol.DatagramProtocol):
    """
    One UDP port shared by every request to one address family, each
    request told apart by its ID and peer (as a stub resolver does): a port
    per request would cost a socket, and two log lines, per SOA query.
    Answers are authenticated by TSIG where it matters; without it, the
    random ID, the peer's address and port, and the echoed question must
    all match.
    """

    noisy = False

    def __init__(self) -> None:
        self.pending: dict[tuple[int, str, int], _UDPRequest] = {}

    def unused_id(self, wire: bytes, target: Target) -> bytes:
        """C{wire}, with another ID if a request to the same peer is using its own."""
        for _ in range(100):
            key = (struct.unpack("!H", wire[:2])[0], canonical(target.address), target.port)
            if key not in self.pending:
                return wire
            wire = secrets.token_bytes(2) + wire[2:]
        raise RequestError(f"{target}: too many requests in flight")

    def datagramReceived(self, data: bytes, addr) -> None:
        if len(data) < 12:
            return
        key = (struct.unpack("!H", data[:2])[0], canonical(addr[0]), addr[1])
        request = self.pending.get(key)
        if request is not None:
            request.received(data)


class _UDPRequest:
    """Waits for the one datagram that answers our request; ignores the rest."""

    def __init__(self, target: Target, signing: _Signing, clock: IReactorTime, mux: _UDPMux) -> None:
        self.target = target
        self.signing = signing
        self.clock = clock
        self.mux = mux
        self.key = (signing.query_id, canonical(target.address), target.port)
        self.deferred: defer.Deferred | None = None
        self.timer = None

    def received(self, data: bytes) -> None:
        if self.deferred is None or not self.signing.is_response(data):
            return  # a stray or late datagram: keep waiting for ours
        try:
            self.signing.verify(data, self.clock.seconds())
            self.signing.finish()
        except Exception:
            self._end(Failure())
            return
        self._end(data)

    def time_out(self, timeout: float) -> None:
        self.timer = None
        self._end(Failure(RequestTimeout(f"{self.target}: no answer over UDP within {timeout:g} s")))

    def abort(self) -> None:
        self.deferred = None
        self._cleanup()

    def _cleanup(self) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        if self.mux.pending.get(self.key) is self:
            del self.mux.pending[self.key]

    def _end(self, result) -> None:
        d, self.deferred = self.deferred, None
        self._cleanup()
        if d is not None:
            if isinstance(result, Failure):
                d.errback(result)
            else:
                d.callback(result)


class _StreamFactory(protocol.ClientFactory):
    """One TCP request: connects once, and ends the request's Deferred once."""

    noisy = False

    def __init__(self, target, signing, on_message, clock, message_timeout) -> None:
        self.target = target
        self.signing = signing
        self.on_message = on_message
        self.clock = clock
        self.message_timeout = message_timeout
        self.deferred: defer.Deferred | None = None
        self.connector = None
        self.total_timer = None
        self.client: _StreamClient | None = None

    def buildProtocol(self, addr) -> "_StreamClient":
        self.client = _StreamClient(self)
        return self.client

    def clientConnectionFailed(self, connector, reason) -> None:
        text = reason.getErrorMessage()
        if "timeout" in text.lower() or "timed out" in text.lower():
            error = RequestTimeout(f"{self.target}: TCP connect timed out")
        else:
            error = ConnectFailed(f"{self.target}: TCP connect failed: {text}")
        self.end(Failure(error))

    def time_out_total(self, timeout: float) -> None:
        self.total_timer = None
        self.end(Failure(RequestTimeout(f"{self.target}: response not complete within {timeout:g} s")))

    def abort(self) -> None:
        self.deferred = None
        self._cleanup()

    def _cleanup(self, graceful: bool = False) -> None:
        if self.total_timer is not None and self.total_timer.active():
            self.total_timer.cancel()
        self.total_timer = None
        if self.client is not None:
            self.client.close(graceful)
        elif self.connector is not None:
            try:
                self.connector.stopConnecting()
            except error.NotConnectingError:
                pass

    def end(self, result) -> None:
        d, self.deferred = self.deferred, None
        self._cleanup(graceful=not isinstance(result, Failure))
        if d is not None:
            if isinstance(result, Failure):
                d.errback(result)
            else:
                d.callback(result)


class _StreamClient(Int16StringReceiver):
    """
    Reads the response and hands it on one message at a time, each in a
    reactor turn of its own; a handler that returns a Deferred (work done
    in a thread) is waited for before the next message.  Up to
    L{READ_AHEAD} messages are read ahead meanwhile; past that the
    connection is paused, and the peer's silence is not timed while it is.
    """

    def __init__(self, factory: _StreamFactory) -> None:
        self.factory = factory
        self.queue: deque[bytes] = deque()
        self.scheduled = None
        self.timer = None
        self.busy = False  # a message is being handled
        self.held = False  # reading paused by us (not _PauseableMixin.paused)
        self.closed = False  # by us: nothing more is handled
        self.lost = False  # by the peer: what was read is still handled
        self.messages = 0

    def connectionMade(self) -> None:
        self.sendString(self.factory.signing.wire)
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self.timer = self.factory.clock.callLater(self.factory.message_timeout, self._time_out)

    def _disarm(self) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None

    def _time_out(self) -> None:
        self.timer = None
        self.factory.end(Failure(RequestTimeout(silence(self.factory.target, self.messages + len(self.queue), self.factory.message_timeout))))

    def stringReceived(self, message: bytes) -> None:
        if self.closed:
            return
        self.queue.append(message)
        if not self.held:
            self._arm()  # the peer's silence is timed from its last message
        self._next()

    def _next(self) -> None:
        """Read on or pause, and hand on the next message unless one is being handled."""
        if self.closed:
            return
        if not self.lost:
            if len(self.queue) >= READ_AHEAD and not self.held:
                self.held = True
                self._disarm()
                self.transport.pauseProducing()
            elif len(self.queue) < READ_AHEAD and self.held:
                self.held = False
                self._arm()
                self.transport.resumeProducing()
        if self.busy:
            return
        if self.queue:
            self.busy = True
            self.scheduled = self.factory.clock.callLater(0, self._handle_one)
        elif self.lost:
            self._cut()

    def _handle_one(self) -> None:
        self.scheduled = None
        message = self.queue.popleft()
        self.messages += 1
        signing = self.factory.signing
        try:
            if not signing.is_response(message):
                raise BadResponse(f"{self.factory.target}: message {self.messages} is not a response to our request")
            signing.verify(message, self.factory.clock.seconds())
            outcome = self.factory.on_message(message)
        except Exception:
            self.factory.end(Failure())
            return
        if isinstance(outcome, defer.Deferred):
            outcome.addCallbacks(self._handled, self._failed)
        else:
            self._handled(outcome)

    def _handled(self, done) -> None:
        if self.closed:
            return
        self.busy = False
        if done:
            try:
                self.factory.signing.finish()
            except Exception:
                self.factory.end(Failure())
                return
            self.factory.end(None)
            return
        self._next()

    def _failed(self, failure: Failure) -> None:
        if not self.closed:
            self.factory.end(failure)

    def close(self, graceful: bool = False) -> None:
        """Stop handling messages and close the connection (abruptly, after an error)."""
        if self.closed:
            return
        self.closed = True
        self._disarm()
        if self.scheduled is not None and self.scheduled.active():
            self.scheduled.cancel()
        self.scheduled = None
        self.queue.clear()
        if self.lost:
            return
        if graceful:
            self.transport.loseConnection()
        else:
            self.transport.abortConnection()

    def connectionLost(self, reason=protocol.connectionDone) -> None:
        self.lost = True
        self._disarm()
        if self.closed:
            return
        if not self.busy:
            self._cut()
        # else: the messages already read are handled first; the last one may complete the response.

    def _cut(self) -> None:
        self.factory.end(
            Failure(
                ConnectionClosed(
                    f"{self.factory.target}: connection closed after {self.messages} messages, "
                    "before the response was complete"
                )
            )
        )
