"""
C{[server] workers = 2}: the real C{twistd -n secdns} with one worker
process beside the main one, both answering UDP and TCP on the same
address (SO_REUSEPORT).  Clients are told apart by their source port, so
every check asks from many ports (a fresh socket or connection per query):
with two sockets in the group, a run of 40 queries that all land on one
process happens once in 2**39.

What is checked: both processes answer (per-process counters in
/metrics); a new version (a primary's file and SIGHUP; a secondary of a
real BIND, moved by NOTIFY) reaches the worker within a second of the main
process serving it, and no answer is older after that; NOTIFY and
TSIG-signed queries a worker receives are forwarded and answered from the
same address and port; response rate limiting counts one set of buckets
for both processes (a burst from many ports gets the answers one process
would give, not twice as many); a worker killed with SIGKILL is started
again and answers (UDP and TCP); stopping secdns (SIGTERM, or SIGKILL of
the main process, even with its workers stopped by SIGSTOP) leaves no
worker behind.  The main process's serial is
asked with a TSIG-signed query (L{main_serial}): only it answers those.

Over TCP: plain queries from many connections are answered by both
processes (per-process counters); TSIG-signed queries and NOTIFY on fresh
connections are answered (some handed over); AXFR, IXFR and a TSIG-signed AXFR asked
on many fresh connections all complete, equal to the zone the main process
serves, and some of those connections were handed over by the worker
(C{secdns_worker_tcp_handed_over_total}); one connection carrying plain
queries, then an AXFR, then more queries (in one write) gets every answer,
in order, on that connection; a real BIND secondary of secdns gets each
new version from secdns's NOTIFY alone (sent once the worker serves it).
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import struct
import time
import urllib.request
from pathlib import Path

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.zone
import pytest

from tests.bigzone import BASE_SERIAL, ask, serial_of_version, write_big_zone
from tests.peers import Bind, PeerZone, TsigKey
from tests.support import LOOPBACK, Secdns, free_port, memory_kib, wait_until

ZONE = "example.test"
KEY = TsigKey("worker-key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
#: Seconds a new version may take to reach the worker after the main process serves it.
REACH = 1.0


def config_text(port: int, http: int, zones: str, workers: int = 2, extra: str = "") -> str:
    return f"""
[server]
listen = ["{LOOPBACK}:{port}"]
state_dir = "var"
transfer_source = "{LOOPBACK}"
workers = {workers}

[http]
listen = "{LOOPBACK}:{http}"

[transfer]
soa_timeout = 1
connect_timeout = 2

[[tsig_key]]
name = "{KEY.name}"
secret = "{KEY.secret}"
{extra}
{zones}
"""


def primary(file: str = "zone.db", extra: str = "") -> str:
    return f'\n[[zone]]\nname = "{ZONE}"\ntype = "primary"\nfile = "{file}"\n{extra}\n'


class Site:
    def __init__(self, tmp: Path, zones: str | None = None, hosts: int = 100, extra: str = "") -> None:
        self.tmp = tmp
        self.port, self.http = free_port(), free_port()
        self.zone_file = tmp / "zone.db"
        self.hosts = hosts
        if zones is None:
            write_big_zone(self.zone_file, ZONE, hosts, 0)
            zones = primary()
        self.config = tmp / "secdns.toml"
        self.config.write_text(config_text(self.port, self.http, zones, extra=extra))
        self.secdns: Secdns | None = None

    def start(self) -> Secdns:
        self.secdns = Secdns(self.config, self.port).wait_ready()
        wait_until(lambda: self.worker_pids(), timeout=10, what="a worker to start")
        wait_until(lambda: "answering (" in self.secdns.log(), timeout=20, what="the worker to answer")
        return self.secdns

    def stop(self) -> None:
        if self.secdns is not None:
            self.secdns.stop()

    def worker_pids(self) -> list[int]:
        """The main process's children running secdns.worker, by /proc."""
        pids = []
        for pid in _children(self.secdns.pid):
            try:
                if b"secdns.worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(pid)
            except OSError:
                pass
        return pids

    def metrics(self) -> str:
        return urllib.request.urlopen(f"http://{LOOPBACK}:{self.http}/metrics", timeout=5).read().decode()

    def per_worker_queries(self, metric: str = "secdns_worker_udp_queries_total") -> dict[str, float]:
        return {w: float(v) for w, v in re.findall(rf'^{metric}\{{worker="(\d+)"\}} (\S+)$', self.metrics(), re.M)}

    def handed_over(self) -> float:
        match = re.search(r"^secdns_worker_tcp_handed_over_total (\S+)$", self.metrics(), re.M)
        return float(match.group(1)) if match else -1.0

    def wait_handed_over(self) -> float:
        """The TCP connections handed over, once the worker has reported one (every 2 s)."""
        return wait_until(lambda: (lambda h: h if h >= 1 else None)(self.handed_over()), timeout=6,
                          what="a TCP connection handed over, in /metrics")


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            out += [int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        pass
    return out


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not re.search(r"^State:\s+Z", status, re.M)


def serials(port: int, count: int, timeout: float = 2.0) -> list[int | None]:
    """The SOA serial of C{count} answers, each asked from a new socket (a new source port)."""
    out = []
    for _ in range(count):
        response = ask(port, ZONE, "SOA", timeout)
        out.append(None if response is None or not response.answer else response.answer[0][0].serial)
    return out


def tcp_serial(port: int) -> int | None:
    """The serial answered over TCP, on a new connection (either process: see L{reach_time})."""
    try:
        response = dns.query.tcp(dns.message.make_query(ZONE, "SOA"), LOOPBACK, port=port, timeout=2)
    except Exception:
        return None
    return response.answer[0][0].serial if response.answer else None


def main_serial(port: int) -> int | None:
    """
    The serial the main process serves: a TSIG-signed query is answered by
    it alone (a worker forwards it), unlike a plain one over UDP or TCP.
    """
    query = dns.message.make_query(ZONE, "SOA")
    query.use_tsig(dns.tsigkeyring.from_text({KEY.name: ("hmac-sha256", KEY.secret)}), KEY.name)
    try:
        response = dns.query.udp(query, LOOPBACK, port=port, timeout=2)
    except Exception:
        return None
    return response.answer[0][0].serial if response.answer else None


def reach_time(port: int, serial: int, old: int, run: int = 40, timeout: float = 30.0) -> float:
    """
    Once the main process serves C{serial} (L{main_serial}), ask over UDP from
    fresh ports until C{run} answers in a row have it; the seconds from
    the main serving it to the last answer with C{old}.  Anything but
    those two serials fails.
    """
    wait_until(lambda: main_serial(port) == serial, timeout=timeout, interval=0.01, what=f"serial {serial} from the main")
    served = time.monotonic()
    last_old = served
    in_a_row = 0
    while in_a_row < run:
        got = serials(port, 1)[0]
        if got == serial:
            in_a_row += 1
        elif got == old:
            in_a_row = 0
            last_old = time.monotonic()
        else:
            raise AssertionError(f"serial {got} answered, expected {old} or {serial}")
        assert time.monotonic() - served < timeout
    return last_old - served


@pytest.fixture
def site(tmp_path):
    site = Site(tmp_path)
    yield site
    site.stop()


def test_both_processes_answer_from_many_ports(site):
    site.start()
    print(f"RSS with a 100-host zone: main {memory_kib(site.secdns.pid) / 1024:.1f} MB, "
          f"worker {[round(memory_kib(p) / 1024, 1) for p in site.worker_pids()]} MB")
    answers = serials(site.port, 200)
    assert answers == [BASE_SERIAL] * 200
    counts = wait_until(
        lambda: (lambda c: c if len(c) == 2 and sum(c.values()) >= 200 else None)(site.per_worker_queries()),
        timeout=6, what="both processes' counters in /metrics",
    )
    assert counts["0"] > 20 and counts["1"] > 20, counts  # the kernel spread them
    assert re.search(r"^secdns_workers 2\.0$", site.metrics(), re.M)
    assert tcp_serial(site.port) == BASE_SERIAL


def test_no_servfail_from_the_worker_at_start(tmp_path):
    """The worker reads its socket once it has the versions the main process read at start: queries wait, never SERVFAIL."""
    site = Site(tmp_path, hosts=50_000)
    try:
        site.secdns = Secdns(site.config, site.port)
        wait_until(lambda: main_serial(site.port) == BASE_SERIAL, timeout=30, interval=0.02, what="the main serving the zone")
        assert serials(site.port, 60, timeout=10) == [BASE_SERIAL] * 60
    finally:
        site.stop()


def test_a_reload_reaches_the_worker_within_a_second(site):
    site.start()
    for k in (1, 2, 3):
        write_big_zone(site.zone_file, ZONE, site.hosts, k)
        site.secdns.reload()
        late = reach_time(site.port, serial_of_version(k), serial_of_version(k - 1))
        assert late < REACH, f"version {k}: a worker answered the old serial {late:.2f} s after the main served the new"
        assert serials(site.port, 60) == [serial_of_version(k)] * 60


def test_a_big_zone_reaches_the_worker_within_a_second(tmp_path):
    site = Site(tmp_path, hosts=100_000)
    try:
        site.start()
        wait_until(lambda: set(serials(site.port, 20)) == {BASE_SERIAL}, timeout=20, what="the worker to load")
        write_big_zone(site.zone_file, ZONE, site.hosts, 1)
        site.secdns.reload()
        late = reach_time(site.port, serial_of_version(1), BASE_SERIAL)
        print(f"the 100,000-host version: last old answer {late:.3f} s after the main served the new")
        assert late < REACH, f"the 100,000-host version reached the worker {late:.2f} s after the main served it"
        main_kib = memory_kib(site.secdns.pid)
        worker_kib = [memory_kib(pid) for pid in site.worker_pids()]
        print(f"RSS with a 100,000-host zone: main {main_kib / 1024:.1f} MB, worker {[round(w / 1024, 1) for w in worker_kib]} MB")
        assert all(w < main_kib for w in worker_kib)
    finally:
        site.stop()


def test_notify_and_tsig_are_forwarded_and_the_secondary_reaches_the_worker(tmp_path):
    port = free_port()
    zone_file = tmp_path / "bind-zone.db"
    write_big_zone(zone_file, ZONE, 200, 0)
    bind = Bind(
        tmp_path, free_port(),
        zones=[PeerZone(ZONE, file=zone_file, downstreams=((LOOPBACK, port),), extra="notify-delay 0;")],
    )
    bind.start()
    zones = f'\n[[zone]]\nname = "{ZONE}"\ntype = "secondary"\nexternal_masters = [ {{ address = "{LOOPBACK}", port = {bind.port} }} ]\n'
    site = Site(tmp_path, zones)
    site.port = port
    site.config.write_text(config_text(port, site.http, zones))
    try:
        site.start()
        wait_until(lambda: set(serials(port, 20)) == {BASE_SERIAL}, timeout=20, what="serial 0 from both processes")
        # NOTIFY from many ports: each answered, from the address and port asked.
        for _ in range(12):
            notify = dns.message.make_query(ZONE, "SOA")
            notify.flags = dns.flags.AA
            notify.set_opcode(dns.opcode.NOTIFY)
            response = dns.query.udp(notify, LOOPBACK, port=port, timeout=3)
            assert response.opcode() == dns.opcode.NOTIFY and response.rcode() == dns.rcode.NOERROR
        # TSIG-signed queries from many ports: answered signed (dnspython checks the signature).
        keyring = dns.tsigkeyring.from_text({KEY.name: ("hmac-sha256", KEY.secret)})
        for _ in range(12):
            query = dns.message.make_query(ZONE, "SOA")
            query.use_tsig(keyring, KEY.name)
            response = dns.query.udp(query, LOOPBACK, port=port, timeout=3)
            assert response.had_tsig and response.answer[0][0].serial == BASE_SERIAL
        forwarded = wait_until(
            lambda: float(re.search(r"^secdns_worker_forwarded_total (\S+)$", site.metrics(), re.M).group(1)),
            timeout=6, what="the worker's forwarded datagrams in /metrics",
        )
        assert forwarded >= 2  # 24 from as many ports: about half reached the worker
        # A new version on BIND: its NOTIFY (to whichever process) brings it to both.
        for k in (1, 2):
            write_big_zone(zone_file, ZONE, 200, k)
            bind.reload()
            late = reach_time(port, serial_of_version(k), serial_of_version(k - 1))
            assert late < REACH, f"serial {serial_of_version(k)} reached the worker {late:.2f} s after the main"
    finally:
        site.stop()
        bind.stop()


def burst(port: int, qname: str, count: int, wait: float = 1.5) -> tuple[int, float]:
    """
    C{count} identical queries at once, each from a fresh socket (a new
    source port, as a spoofed flood's); the answers received within
    C{wait} seconds of the last, and the seconds the sending took.
    """
    wire = dns.message.make_query(qname, "A").to_wire()
    sockets = []
    selector = selectors.DefaultSelector()
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sockets.append(s)
            s.bind((LOOPBACK, 0))
            s.setblocking(False)
            selector.register(s, selectors.EVENT_READ)
        started = time.monotonic()
        for s in sockets:
            s.sendto(wire, (LOOPBACK, port))
        took = time.monotonic() - started
        answered = 0
        deadline = time.monotonic() + wait
        while answered < count and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
                answer = dns.message.from_wire(key.fileobj.recv(4096))
                assert answer.answer, answer  # slip = 0: a limited response is dropped, never truncated
                answered += 1
                selector.unregister(key.fileobj)
        return answered, took
    finally:
        selector.close()
        for s in sockets:
            s.close()


def test_rate_limit_is_shared_by_the_processes(tmp_path):
    """
    [rate_limit] responses_per_second = 5, workers = 2: a burst of 80
    identical queries from 80 ports, about half to each process, gets the
    5 answers of the bucket (and what refills while it lasts), not 5 from
    each process.  After a reload to 7 a second, likewise with 7.
    """
    rate, count = 5, 80
    site = Site(tmp_path, extra=f"[rate_limit]\nresponses_per_second = {rate}\nslip = 0\n")
    try:
        site.start()
        before = site.per_worker_queries()
        answered, took = burst(site.port, f"version.{ZONE}", count)  # a name nothing asked before
        print(f"\n{count} queries from {count} ports in {took:.3f} s: {answered} answered")
        counts = wait_until(
            lambda: (lambda c: c if len(c) == 2 and sum(c.values()) - sum(before.values()) >= count else None)(
                site.per_worker_queries()
            ),
            timeout=6, what="both processes' counters in /metrics",
        )
        got = {w: counts[w] - before.get(w, 0) for w in counts}
        print(f"queries by process: {got}")
        # Each process received enough that, counting apart, each would have answered rate.
        assert got["0"] >= 2 * rate and got["1"] >= 2 * rate, got
        # Shared: the bucket and its refill while the burst lasted (and half
        # a second's slack); apart, the processes would answer twice that:
        # 2 * rate * (1 + took) > rate * (1.5 + took) however long it took.
        assert rate <= answered <= rate + rate * (took + 0.5), (answered, took)
        dropped = wait_until(
            lambda: (lambda m: float(m.group(1)) if m and float(m.group(1)) >= count - answered else None)(
                re.search(r'^secdns_rate_limited_responses_total\{action="dropped"\} (\S+)$', site.metrics(), re.M)
            ),
            timeout=6, what="the dropped responses of both processes in /metrics",
        )
        assert dropped == count - answered
        # A reload that changes [rate_limit]: both processes make new limiters, over the same table.
        rate = 7
        site.config.write_text(site.config.read_text().replace("responses_per_second = 5", f"responses_per_second = {rate}"))
        site.secdns.reload()
        wait_until(lambda: "reloaded " in site.secdns.log(), timeout=10, what="the reload")
        time.sleep(0.5)  # the new settings reach the worker on its pipe in a reactor turn
        before = counts
        answered, took = burst(site.port, f"only-v0.{ZONE}", count)
        print(f"after the reload: {answered} answered in {took:.3f} s")
        counts = wait_until(
            lambda: (lambda c: c if sum(c.values()) - sum(before.values()) >= count else None)(site.per_worker_queries()),
            timeout=6, what="both processes' counters in /metrics",
        )
        got = {w: counts[w] - before[w] for w in counts}
        assert got["0"] >= 2 * rate and got["1"] >= 2 * rate, got
        assert rate <= answered <= rate + rate * (took + 0.5), (answered, took)
    finally:
        site.stop()


def test_a_killed_worker_is_started_again(site):
    site.start()
    (first,) = site.worker_pids()
    os.kill(first, signal.SIGKILL)
    new = wait_until(lambda: [p for p in site.worker_pids() if p != first], timeout=10, what="a new worker")
    assert not _alive(first)
    # Queries to the dead worker's socket wait in it until the new one reads it.
    answers = serials(site.port, 100, timeout=5)
    assert answers == [BASE_SERIAL] * 100
    # So do TCP connections to its listening socket: accepted by the new one.
    assert [tcp_serial(site.port) for _ in range(40)] == [BASE_SERIAL] * 40
    counts = wait_until(lambda: (lambda c: c if c.get("1", 0) > 0 else None)(site.per_worker_queries()), timeout=6, what="the new worker's counters")
    assert counts["1"] > 0
    assert re.search(r"^secdns_worker_restarts_total 1\.0$", site.metrics(), re.M)
    assert new


def test_stopping_secdns_stops_every_worker(site):
    site.start()
    workers = site.worker_pids()
    assert len(workers) == 1
    site.secdns.stop()
    assert not site.secdns.running()
    wait_until(lambda: not any(_alive(p) for p in workers), timeout=5, what="the workers to end")


def test_a_worker_ends_with_the_main_process_killed(site):
    site.start()
    workers = site.worker_pids()
    os.kill(site.secdns.pid, signal.SIGKILL)
    site.secdns.process.wait(5)
    wait_until(lambda: not any(_alive(p) for p in workers), timeout=5, what="the workers to end")


def test_a_wedged_worker_ends_with_the_main_process_killed(site):
    """
    A worker that cannot run (stopped here with SIGSTOP, as a wedged one
    would be) never reads its closed standard input; it ends all the same
    when its main process is killed (PR_SET_PDEATHSIG), so that no stale
    process stays in the SO_REUSEPORT group of a secdns started again.
    """
    site.start()
    workers = site.worker_pids()
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    try:
        os.kill(site.secdns.pid, signal.SIGKILL)
        site.secdns.process.wait(5)
        wait_until(lambda: not any(_alive(p) for p in workers), timeout=5, what="the stopped workers to end")
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


# -- TCP


#: Transfers allowed from the tests' address, signed or not.
TRANSFERS = 'allow_transfer = [ { address = "127.0.0.1" } ]'


@pytest.fixture
def transfer_site(tmp_path):
    site = Site(tmp_path, primary(extra=TRANSFERS))
    write_big_zone(site.zone_file, ZONE, site.hosts, 0)
    yield site
    site.stop()


def test_tcp_queries_are_answered_by_both_processes(site):
    site.start()
    for _ in range(80):  # a fresh connection (source port) each
        assert tcp_serial(site.port) == BASE_SERIAL
    counts = wait_until(
        lambda: (lambda c: c if len(c) == 2 and sum(c.values()) >= 80 else None)(
            site.per_worker_queries("secdns_worker_tcp_queries_total")),
        timeout=6, what="both processes' TCP counters in /metrics",
    )
    assert counts["0"] >= 5 and counts["1"] >= 5, counts  # the kernel spread the connections
    connections = site.per_worker_queries("secdns_worker_tcp_connections_total")
    assert connections["0"] >= 5 and connections["1"] >= 5, connections
    assert site.handed_over() == 0


def test_signed_queries_and_notify_over_tcp_are_handed_over(site):
    site.start()
    keyring = dns.tsigkeyring.from_text({KEY.name: ("hmac-sha256", KEY.secret)})
    for _ in range(12):  # fresh connections: some land on the worker
        query = dns.message.make_query(ZONE, "SOA")
        query.use_tsig(keyring, KEY.name)
        response = dns.query.tcp(query, LOOPBACK, port=site.port, timeout=3)  # dnspython checks the signature
        assert response.had_tsig and response.answer[0][0].serial == BASE_SERIAL
        notify = dns.message.make_query(ZONE, "SOA")
        notify.flags = dns.flags.AA
        notify.set_opcode(dns.opcode.NOTIFY)
        response = dns.query.tcp(notify, LOOPBACK, port=site.port, timeout=3)
        assert response.opcode() == dns.opcode.NOTIFY and response.id == notify.id
    print(f"{site.wait_handed_over():.0f} of 24 connections handed over")


def _zone_text(zone: dns.zone.Zone) -> list[str]:
    return sorted(zone.to_text(relativize=False).splitlines())


def test_transfers_on_fresh_connections_are_handed_over_whole(transfer_site):
    site = transfer_site
    site.start()
    expected = _zone_text(dns.zone.from_file(str(site.zone_file), ZONE, relativize=False))
    for _ in range(16):
        zone = dns.zone.from_xfr(dns.query.xfr(LOOPBACK, ZONE, port=site.port, timeout=5, relativize=False), relativize=False)
        assert _zone_text(zone) == expected
    keyring = dns.tsigkeyring.from_text({KEY.name: ("hmac-sha256", KEY.secret)})
    for _ in range(8):  # signed: dnspython checks every message's signature
        messages = dns.query.xfr(
            LOOPBACK, ZONE, port=site.port, timeout=5, relativize=False, keyring=keyring, keyname=KEY.name,
            keyalgorithm="hmac-sha256",
        )
        zone = dns.zone.from_xfr(messages, relativize=False)
        assert _zone_text(zone) == expected
    # IXFR from the version before: the same changes on every connection.
    write_big_zone(site.zone_file, ZONE, site.hosts, 1)
    site.secdns.reload()
    wait_until(lambda: main_serial(site.port) == serial_of_version(1), timeout=10, what="version 1")
    ixfrs = []
    for _ in range(16):
        messages = dns.query.xfr(
            LOOPBACK, ZONE, rdtype=dns.rdatatype.IXFR, serial=BASE_SERIAL, port=site.port, timeout=5, relativize=False
        )
        records = [rrset.to_text() for message in messages for rrset in message.answer]
        assert records[0].split()[-5] == str(serial_of_version(1)) and records[-1] == records[0]
        assert f" {BASE_SERIAL} " in records[1]  # incremental: the old SOA opens the first difference
        ixfrs.append(records)
    assert all(ixfr == ixfrs[0] for ixfr in ixfrs)
    handed = site.wait_handed_over()  # 40 connections: about half reached the worker
    print(f"{handed:.0f} of 40 transfer connections handed over by the worker")


def _read_message(conn: socket.socket) -> dns.message.Message:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise AssertionError(f"connection closed with {len(data)} of {n} octets read")
            data += chunk
        return data

    (length,) = struct.unpack("!H", exactly(2))
    return dns.message.from_wire(exactly(length), one_rr_per_rrset=True)  # a transfer's two SOAs apart


def test_plain_queries_then_a_transfer_on_one_connection(transfer_site):
    site = transfer_site
    site.start()
    asked = [(ZONE, "SOA"), (ZONE, "NS"), (f"ns1.{ZONE}", "A")]
    for _ in range(12):  # fresh connections: some land on the worker
        before = [dns.message.make_query(name, rdtype) for name, rdtype in asked]
        axfr = dns.message.make_query(ZONE, "AXFR")
        after = [dns.message.make_query(ZONE, "SOA"), dns.message.make_query(ZONE, "NS")]
        wire = b"".join(struct.pack("!H", len(w)) + w for w in (m.to_wire() for m in before + [axfr] + after))
        with socket.create_connection((LOOPBACK, site.port), timeout=5) as conn:
            conn.sendall(wire)  # pipelined: all of it before any answer is read
            for query in before:
                response = _read_message(conn)
                assert response.id == query.id and response.answer, response
            soas = 0
            for _ in range(1000):  # the transfer's messages, till its closing SOA
                response = _read_message(conn)
                assert response.id == axfr.id and response.rcode() == dns.rcode.NOERROR
                soas += sum(1 for rrset in response.answer if rrset.rdtype == dns.rdatatype.SOA)
                if soas == 2:
                    break
            assert soas == 2
            for query in after:
                response = _read_message(conn)
                assert response.id == query.id and response.answer, response
    site.wait_handed_over()


def test_a_bind_secondary_pulls_each_version_from_both_processes(tmp_path):
    """
    BIND, a secondary of secdns (workers = 2), follows each new version
    from secdns's own NOTIFY alone: BIND's SOA query, sent at once over
    UDP, reaches the worker half the time, and the NOTIFY went out only
    once the worker served the version (a 20,000-host zone takes the
    worker a tenth of a second or more to read: without the hold, BIND
    would be told the old serial and wait for its next refresh).
    """
    site = Site(tmp_path, hosts=20_000)
    bind = Bind(tmp_path, free_port(), zones=[PeerZone(ZONE, primaries=((LOOPBACK, site.port),))])
    extra = f'external_downstreams = [ {{ address = "{LOOPBACK}", port = {bind.port} }} ]'
    site.config.write_text(config_text(site.port, site.http, primary(extra=extra)))
    try:
        site.start()
        bind.start()
        bind.wait_for_zone(ZONE, serial=BASE_SERIAL)
        versions = 1
        for k in range(1, 13):  # 4 new versions; more (12 at most) till a transfer has reached the worker
            if k > 4 and site.handed_over() >= 1:
                break
            versions += 1
            write_big_zone(site.zone_file, ZONE, site.hosts, k)
            site.secdns.reload()
            bind.wait_for_zone(ZONE, timeout=20, serial=serial_of_version(k))
        ours = _zone_text(dns.zone.from_xfr(dns.query.xfr(LOOPBACK, ZONE, port=site.port, relativize=False), relativize=False))
        theirs = _zone_text(dns.zone.from_xfr(dns.query.xfr(LOOPBACK, ZONE, port=bind.port, relativize=False), relativize=False))
        assert theirs == ours
        handed = site.wait_handed_over()
        print(f"BIND: {versions} versions, {handed:.0f} transfer connections handed over by the worker")
    finally:
        site.stop()
        bind.stop()
