"""
A TCP client that pipelines queries and never reads the answers (issue 13):
secdns stops reading from it once its answers back up, keeps answering
everyone else, closes it at the idle timeout and counts it; its memory does
not grow with what the client sends.
"""

from __future__ import annotations

import socket
import struct
import time
import urllib.request

import dns.message

from tests.support import LOOPBACK, Secdns, free_port, memory_kib, query, rcode_of, wait_until

QUERIES = 40_000  # 40,000 answers of 4.5 KB: 180 MB, were they all kept
IDLE = 3



def test_client_that_never_reads(tmp_path):
    txt = "\n".join(f'big TXT "{"x" * 40}{i:03d}"' for i in range(100))  # one 4.5 KB answer
    (tmp_path / "zone").write_text(f"$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n{txt}\n")
    port, http = free_port(), free_port()
    config = tmp_path / "secdns.toml"
    config.write_text(
        f'[server]\nlisten = ["{LOOPBACK}:{port}"]\nstate_dir = "var"\ntcp_idle_timeout = {IDLE}\n'
        f'[http]\nlisten = "{LOOPBACK}:{http}"\n'
        '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zone"\n'
    )
    secdns = Secdns(config, port).wait_ready()
    try:
        before = memory_kib(secdns.pid)
        wire = dns.message.make_query("big.example.org", "TXT").to_wire()
        framed = struct.pack("!H", len(wire)) + wire
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and never read
        client.connect((LOOPBACK, port))
        client.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 10
        batch = framed * 500
        while sent < QUERIES and time.monotonic() < deadline:
            try:
                sent += client.send(batch) // len(framed)
            except BlockingIOError:
                time.sleep(0.01)  # secdns stopped reading from us: the point
        # Everyone else is answered meanwhile, over UDP and over TCP.
        assert rcode_of(query("big.example.org", "TXT", port)) == "NOERROR"
        assert len(query("big.example.org", "TXT", port, tcp=True).answer[0]) == 100
        # Not read from at all (reading would let it go on): closed at the idle timeout, and counted.
        wait_until(lambda: "secdns_tcp_connections_stalled_total 1.0" in metrics(http), timeout=IDLE + 10, what="the stalled connection to be closed")
        assert _reset(client), "the stalled connection is still open"
        # What it held meanwhile: the transport's bound and the kernel's buffers, not what was sent.
        grown = memory_kib(secdns.pid, "VmHWM") - before
        assert grown < 30 * 1024, f"peak RSS {grown} KiB above the start after {sent} queries never read"
        print(f"\n{sent} queries sent unread before secdns stopped reading; RSS grew {grown} KiB")
        client.close()
    finally:
        secdns.stop()


def metrics(http: int) -> str:
    return urllib.request.urlopen(f"http://{LOOPBACK}:{http}/metrics", timeout=5).read().decode()


def _reset(sock: socket.socket) -> bool:
    """Whether secdns dropped the connection: what it had sent is read (a bounded amount), then the reset."""
    try:
        for _ in range(1000):
            if not sock.recv(1 << 20):
                return True
    except ConnectionResetError:
        return True
    except BlockingIOError:
        return False
    return False
