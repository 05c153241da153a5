"""
Idle and slow TCP clients cannot keep others out (issue 13): with 1,000
idle connections open (from ten loopback addresses, 100 each: the default
tcp_clients and tcp_clients_per_address) and a slowloris that sent one
byte of a query, UDP and new TCP clients are answered; one more connection from a
full address is closed at once; each limit is counted.
"""

from __future__ import annotations

import socket
import struct
import time
import urllib.request

import dns.message

from tests.support import LOOPBACK, Secdns, free_port, query, wait_until

ZONE = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.80\n"


def connect(source: str, port: int) -> socket.socket:
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.bind((source, 0))
    client.settimeout(5)
    client.connect((LOOPBACK, port))
    return client


def ask_tcp(client: socket.socket) -> dns.message.Message:
    wire = dns.message.make_query("www.example.org", "A").to_wire()
    client.sendall(struct.pack("!H", len(wire)) + wire)
    length = struct.unpack("!H", client.recv(2, socket.MSG_WAITALL))[0]
    return dns.message.from_wire(client.recv(length, socket.MSG_WAITALL))


def test_idle_and_slow_clients_leave_room(tmp_path):
    (tmp_path / "zone").write_text(ZONE)
    port, http = free_port(), free_port()
    (tmp_path / "secdns.toml").write_text(
        f'[server]\nlisten = ["{LOOPBACK}:{port}"]\nstate_dir = "var"\n[http]\nlisten = "{LOOPBACK}:{http}"\n'
        '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zone"\n'
    )
    secdns = Secdns(tmp_path / "secdns.toml", port).wait_ready()
    clients: list[socket.socket] = []
    try:
        for n in range(10):
            clients += [connect(f"127.0.0.{n + 2}", port) for _ in range(100)]
        # One more from a full address: closed at once.
        extra = connect("127.0.0.2", port)
        clients.append(extra)
        assert extra.recv(1) == b""
        # A slowloris: one byte of a query, and then nothing.
        slow = connect("127.0.0.20", port)
        clients.append(slow)
        wire = dns.message.make_query("www.example.org", "A").to_wire()
        slow.sendall(struct.pack("!H", len(wire))[:1])
        # UDP and a new TCP client are answered meanwhile (the longest idle connection makes room).
        started = time.monotonic()
        assert query("www.example.org", "A", port).answer
        fresh = connect("127.0.0.30", port)
        clients.append(fresh)
        assert ask_tcp(fresh).answer
        assert time.monotonic() - started < 10

        def metrics() -> str:
            return urllib.request.urlopen(f"http://{LOOPBACK}:{http}/metrics", timeout=5).read().decode()

        wait_until(lambda: 'secdns_tcp_connections_limited_total{limit="address"} 1.0' in metrics(), timeout=10, what="the per-address limit counted")
        assert 'secdns_tcp_connections_limited_total{limit="total"} 2.0' in metrics()  # for the slowloris and the fresh client
    finally:
        for client in clients:
            client.close()
        secdns.stop()
