"""
A hostile primary for the integration tests: it answers SOA queries (UDP
and TCP) with a fixed serial and every AXFR or IXFR with an endless stream
of A records, never the closing SOA.  secdns must give up at its
C{[transfer] max_records} and keep what it served.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from tests.support import LOOPBACK

__all__ = ["EndlessPrimary"]

RECORDS_PER_MESSAGE = 500


class EndlessPrimary:
    """SOA serial C{serial} for C{zone} on 127.0.0.1:C{port}; transfers never end (until the client hangs up)."""

    def __init__(self, zone: str, port: int, serial: int = 2) -> None:
        self.origin = dns.name.from_text(zone)
        self.port = port
        self.serial = serial
        self.transfers = 0
        self._messages: list[bytes] = []
        primary = self

        class Stream(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                primary._serve_stream(self.request)

        class Datagram(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                sock.sendto(primary._soa_answer(dns.message.from_wire(data)).to_wire(), self.client_address)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._tcp = socketserver.ThreadingTCPServer((LOOPBACK, port), Stream)
        self._tcp.daemon_threads = True
        self._udp = socketserver.ThreadingUDPServer((LOOPBACK, port), Datagram)
        self._udp.daemon_threads = True

    def start(self) -> "EndlessPrimary":
        for server in (self._tcp, self._udp):
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self

    def stop(self) -> None:
        for server in (self._tcp, self._udp):
            server.shutdown()
            server.server_close()

    def _soa(self) -> dns.rrset.RRset:
        return dns.rrset.from_text(self.origin, 300, "IN", "SOA", f"ns1.{self.origin} hostmaster.{self.origin} {self.serial} 3600 600 86400 60")

    def _soa_answer(self, query: dns.message.Message) -> dns.message.Message:
        answer = dns.message.make_response(query)
        answer.flags |= dns.flags.AA
        answer.answer.append(self._soa())
        return answer

    def _message(self, query: dns.message.Message, index: int) -> bytes:
        """The C{index}th message of the stream (the first one opens with the SOA); made once, then reused."""
        if index < len(self._messages):
            return self._messages[index]
        message = dns.message.make_response(query)
        message.flags |= dns.flags.AA
        if index == 0:
            message.answer.append(self._soa())
        for i in range(index * RECORDS_PER_MESSAGE, (index + 1) * RECORDS_PER_MESSAGE):
            owner = dns.name.from_text(f"h{i}", self.origin)
            message.answer.append(dns.rrset.from_text(owner, 300, "IN", "A", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"))
        self._messages.append(message.to_wire())
        return self._messages[index]

    def _serve_stream(self, sock: socket.socket) -> None:
        try:
            length = struct.unpack("!H", _read(sock, 2))[0]
            query = dns.message.from_wire(_read(sock, length))
            if query.question[0].rdtype == dns.rdatatype.SOA:
                _send(sock, self._soa_answer(query).to_wire())
                return
            self.transfers += 1
            index = 0
            while True:  # until the client hangs up: the point of this primary
                wire = self._message(query, index)
                _send(sock, query.id.to_bytes(2, "big") + wire[2:])
                index += 1
        except (OSError, EOFError):
            return


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _send(sock: socket.socket, wire: bytes) -> None:
    sock.sendall(struct.pack("!H", len(wire)) + wire)
