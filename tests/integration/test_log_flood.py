"""
Hostile traffic cannot fill the disk through the log (issue 13): 500
refused NOTIFYs and 300 refused transfers from one network write at most 5
lines of each kind a minute; the rest are counted in
secdns_log_lines_suppressed_total, and secdns answers each one.
"""

from __future__ import annotations

import socket
import urllib.request

import dns.message
import dns.opcode
import dns.query
import dns.rcode

from tests.support import LOOPBACK, Daemon, Secdns, free_port, require, secdns_env, twistd_argv, wait_for_dns, wait_until

ZONE = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n"


def test_refused_requests_flood_the_log_no_more(tmp_path):
    (tmp_path / "zone").write_text(ZONE)
    port, http = free_port(), free_port()
    (tmp_path / "secdns.toml").write_text(
        f'[server]\nlisten = ["{LOOPBACK}:{port}"]\nstate_dir = "var"\n[http]\nlisten = "{LOOPBACK}:{http}"\n'
        '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zone"\n'
    )
    secdns = Secdns(tmp_path / "secdns.toml", port).wait_ready()
    try:
        notify = dns.message.make_query("example.org", "SOA")
        notify.set_opcode(dns.opcode.NOTIFY)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            for i in range(500):
                notify.id = i
                s.sendto(notify.to_wire(), (LOOPBACK, port))
                assert dns.message.from_wire(s.recv(4096)).rcode() == dns.rcode.REFUSED
        axfr = dns.message.make_query("example.org", "AXFR")
        for _ in range(300):
            assert dns.query.tcp(axfr, LOOPBACK, port=port, timeout=5).rcode() == dns.rcode.REFUSED

        def counted() -> str:
            return urllib.request.urlopen(f"http://{LOOPBACK}:{http}/metrics", timeout=5).read().decode()

        wait_until(lambda: 'secdns_log_lines_suppressed_total{kind="transfer refused"} 295.0' in counted(), timeout=10, what="the count")
        assert 'secdns_log_lines_suppressed_total{kind="NOTIFY refused"} 495.0' in counted()
        log = secdns.log()
        assert log.count("NOTIFY for zone example.org from 127.0.0.1 refused") == 5
        assert log.count("AXFR of example.org refused to 127.0.0.1") == 5
    finally:
        secdns.stop()


def test_out_of_descriptors_floods_the_log_no_more(tmp_path):
    """
    secdns limited to 64 file descriptors, and 300 TCP connections opened
    to it: Twisted closes what it cannot keep (EMFILE recovery) and says so
    once per connection; at most 5 such lines a minute reach the log, and
    UDP is answered throughout.
    """
    (tmp_path / "zone").write_text(ZONE)
    port = free_port()
    config = tmp_path / "secdns.toml"
    config.write_text(
        f'[server]\nlisten = ["{LOOPBACK}:{port}"]\nstate_dir = "var"\n'
        '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zone"\n'
    )
    argv = [require("prlimit"), "--nofile=64:64", *twistd_argv(config)]
    secdns = Daemon(argv, tmp_path / "secdns.log", cwd=tmp_path, env=secdns_env())
    clients = []
    try:
        wait_for_dns(port, process=secdns)
        for _ in range(300):
            client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            client.settimeout(5)
            try:
                client.connect((LOOPBACK, port))
            except OSError:
                client.close()
                continue
            clients.append(client)
        wait_until(lambda: "EMFILE" in secdns.log(), timeout=10, what="secdns to run out of descriptors")
        assert dns.query.udp(dns.message.make_query("example.org", "SOA"), LOOPBACK, port=port, timeout=5).answer
        lines = [line for line in secdns.log().splitlines() if "EMFILE recovery: Closed socket" in line]
        assert 1 <= len(lines) <= 5, "\n".join(lines[:20])
    finally:
        for client in clients:
            client.close()
        secdns.stop()
