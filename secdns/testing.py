# -*- test-case-name: tests.unit.test_requestor -*-
"""
Fakes for tests, shipped with the package (as txacme's C{testing.py}).

L{MemoryReactorClock} from Twisted records TCP connections but has no UDP;
L{FakeReactor} adds it: C{listenUDP} connects the protocol to a
L{FakeDatagramTransport} that keeps what was written, and the test answers
by calling the protocol's C{datagramReceived}.
"""

from __future__ import annotations

import attrs
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock

__all__ = ["FakeDatagramTransport", "FakeReactor"]


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
