# -*- test-case-name: tests.unit.test_requestor -*-
"""
Fakes for tests, shipped with the package (as txacme's C{testing.py}).

L{MemoryReactorClock} from Twisted records TCP connections but has no UDP;
L{FakeReactor} adds it: C{listenUDP} connects the protocol to a
L{FakeDatagramTransport} that keeps what was written, and the test answers
by calling the protocol's C{datagramReceived}.

L{FakeMasterClient} provides L{IMasterClient} for masters scripted by
L{ScriptedMaster}: the refresh controller's unit tests drive it with a
L{twisted.internet.task.Clock}.
"""

from __future__ import annotations

import attrs
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock
from zope.interface import implementer

from secdns.transfer.requestor import ConnectionClosed, RequestTimeout
from secdns.transfer.transfer_in import IXFR, IMasterClient, Inbound, Limits

__all__ = ["FakeDatagramTransport", "FakeReactor", "ScriptedMaster", "FakeMasterClient"]


@attrs.define
class FakeDatagramTransport:
    """A bound UDP port: datagrams written, and whether it was closed."""

    interface: str = ""
    port: int = 40000
    written: list = attrs.Factory(list)
    closed: bool = False

    def write(self, datagram: bytes, addr) -> None:
        self.written.append((datagram, addr))

    def stopListening(self) -> None:
        self.closed = True

    def getHost(self) -> IPv4Address:
        return IPv4Address("UDP", self.interface or "0.0.0.0", self.port)


class FakeReactor(MemoryReactorClock):
    """A memory reactor and clock that also does UDP (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.udp: list[tuple[object, FakeDatagramTransport]] = []

    def listenUDP(self, port, protocol, interface="", maxPacketSize=8192):
        transport = FakeDatagramTransport(interface, 40000 + len(self.udp))
        self.udp.append((protocol, transport))
        protocol.makeConnection(transport)
        return transport


@attrs.define
class ScriptedMaster:
    """
    A master as a test scripts it (for L{FakeMasterClient}).

    @ivar serial: what it answers to SOA queries.
    @ivar axfr: the messages of its AXFR response.
    @ivar ixfr: the messages of its IXFR response (L{None}: it sends the AXFR's).
    @ivar down: it answers nothing: requests time out after C{timeout} seconds.
    @ivar cut_after: messages sent before the connection drops, if it does.
    @ivar soa_error: an exception its SOA query fails with.
    @ivar latency: seconds before each answer and each message of a transfer.
    """

    serial: int | None = None
    axfr: list = attrs.Factory(list)
    ixfr: list | None = None
    down: bool = False
    timeout: float = 5.0
    cut_after: int | None = None
    soa_error: Exception | None = None
    latency: float = 0.0


@implementer(IMasterClient)
class FakeMasterClient:
    """
    Masters without a network: SOA queries answered from each
    L{ScriptedMaster}, and transfers fed through the real
    L{secdns.transfer.transfer_in.Inbound}, one message per clock turn.

    @ivar requests: (address, "SOA" | "AXFR" | "IXFR") in the order asked.
    """

    def __init__(self, clock, masters: dict, limits: Limits = Limits()) -> None:
        self.clock = clock
        self.masters = masters
        self.limits = limits
        self.requests: list[tuple[str, str]] = []

    def _master(self, target) -> ScriptedMaster:
        return self.masters[target.address]

    def _later(self, delay: float, f, *args) -> defer.Deferred:
        d = defer.Deferred()
        call = self.clock.callLater(delay, lambda: _settle(d, f, *args))
        d.addErrback(lambda failure: (call.cancel() if call.active() else None, failure)[1])
        return d

    def soa_serial(self, target, origin) -> defer.Deferred:
        self.requests.append((target.address, "SOA"))
        master = self._master(target)
        if master.down:
            return self._later(master.timeout, _raise, RequestTimeout(f"{target}: no answer over UDP within {master.timeout:g} s"))
        if master.soa_error is not None:
            return self._later(master.latency, _raise, master.soa_error)
        return self._later(master.latency, lambda: master.serial)

    def transfer(self, target, origin, current, style) -> defer.Deferred:
        self.requests.append((target.address, style))
        master = self._master(target)
        if master.down:
            return self._later(master.timeout, _raise, RequestTimeout(f"{target}: TCP connect timed out"))
        messages = master.ixfr if style == IXFR and master.ixfr is not None else master.axfr
        inbound = Inbound(origin, style, current, self.limits)
        calls = []
        result = defer.Deferred(lambda _: [call.cancel() for call in calls if call.active()])

        def step(index: int) -> None:
            if result.called:
                return
            try:
                if master.cut_after is not None and index >= master.cut_after or index >= len(messages):
                    raise ConnectionClosed(f"{target}: connection closed after {index} messages, before the response was complete")
                if inbound.process(messages[index]):
                    result.callback(inbound.finish())
                    return
            except Exception:
                result.errback()
                return
            calls.append(self.clock.callLater(master.latency, step, index + 1))

        calls.append(self.clock.callLater(master.latency, step, 0))
        return result


def _raise(error: Exception):
    raise error


def _settle(d: defer.Deferred, f, *args) -> None:
    if not d.called:
        try:
            d.callback(f(*args))
        except Exception:
            d.errback()
