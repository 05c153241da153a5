"""
Response rate limiting against a spoofed-source flood on loopback (issue
13): 2,000 queries "from" 127.0.0.2 (the victim) for one name, with
[rate_limit] responses_per_second = 10 and slip = 2: the victim gets a
fraction of the answers, half of the rest as empty truncated ones and the
rest not at all; a client in another network is answered in full
meanwhile; the victim itself, asking as a real client does, is answered
over TCP after a truncated UDP answer.
"""

from __future__ import annotations

import socket
import time
import urllib.request

import dns.exception
import dns.flags
import dns.message
import dns.query

from tests.support import LOOPBACK, Secdns, free_port, wait_until

ZONE = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.80\n"
FLOOD = 2_000


def test_spoofed_flood_is_rate_limited(tmp_path):
    (tmp_path / "zone").write_text(ZONE)
    port, http = free_port(), free_port()
    (tmp_path / "secdns.toml").write_text(
        f'[server]\nlisten = ["{LOOPBACK}:{port}"]\nstate_dir = "var"\n[http]\nlisten = "{LOOPBACK}:{http}"\n'
        "[rate_limit]\nresponses_per_second = 10\nslip = 2\n"
        '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zone"\n'
    )
    secdns = Secdns(tmp_path / "secdns.toml", port).wait_ready()
    try:
        wire = dns.message.make_query("www.example.org", "A").to_wire()
        full = truncated = 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as victim:
            victim.bind(("127.0.0.2", 0))
            victim.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            started = time.monotonic()
            for _ in range(FLOOD):
                victim.sendto(wire, (LOOPBACK, port))
            took = time.monotonic() - started
            victim.settimeout(1.0)
            for _ in range(FLOOD):
                try:
                    answer = dns.message.from_wire(victim.recv(4096))
                except socket.timeout:
                    break
                if answer.flags & dns.flags.TC:
                    truncated += 1
                else:
                    full += 1
        dropped = FLOOD - full - truncated
        print(f"\n{FLOOD} queries in {took:.2f} s: {full} answered, {truncated} truncated, {dropped} dropped")
        assert full <= 10 + 10 * (took + 1.5), full  # the bucket and what refilled while the flood lasted
        assert truncated > FLOOD / 4 and dropped > FLOOD / 4, (full, truncated, dropped)
        # Another network is answered in full meanwhile.
        other = dns.message.make_query("www.example.org", "A")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.bind(("127.0.1.5", 0))
            client.settimeout(5)
            client.sendto(other.to_wire(), (LOOPBACK, port))
            answer = dns.message.from_wire(client.recv(4096))
        assert answer.answer and not answer.flags & dns.flags.TC
        # The victim, asking as a real client does: over TCP when truncated (TCP is never limited).
        answer, _ = _ask_with_fallback(port)
        assert answer.answer

        def metrics() -> str:
            return urllib.request.urlopen(f"http://{LOOPBACK}:{http}/metrics", timeout=5).read().decode()

        wait_until(lambda: 'secdns_rate_limited_responses_total{action="slipped"}' in metrics(), timeout=5, what="the counts")
    finally:
        secdns.stop()


def _ask_with_fallback(port: int) -> tuple[dns.message.Message, bool]:
    """From the victim's address: UDP, and TCP after a truncated answer or none (bounded: 5 tries)."""
    query = dns.message.make_query("www.example.org", "A")
    for _ in range(5):
        try:
            answer = dns.query.udp(query, LOOPBACK, port=port, timeout=1, source="127.0.0.2")
        except dns.exception.Timeout:
            continue
        if not answer.flags & dns.flags.TC:
            return answer, False
        return dns.query.tcp(query, LOOPBACK, port=port, timeout=5, source="127.0.0.2"), True
    return dns.query.tcp(query, LOOPBACK, port=port, timeout=5, source="127.0.0.2"), True
