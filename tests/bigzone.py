"""
Big primary zones in numbered versions, for the reload tests and
C{bench/reload_bench.py}: a zone of many A records under one apex, whose
version k differs from every other version in a few known records, so that
a test can tell which version a server answers from, and whether it
answers from one version only.

Version k of a zone (k >= 0) holds, under its origin:

  - the SOA with serial C{BASE_SERIAL + k}, NS, ns1;
  - C{h0} .. C{h(N-1)}: A records; host i has a version-specific address
    when C{i % CHANGE_EVERY == k % CHANGE_EVERY} and k > 0, else its base
    address (so versions 1 and 2 differ from version 0, and from each
    other, in disjoint sets of hosts);
  - C{version A 192.0.2.k}, in every version;
  - C{only-vk A 198.51.100.k}, in version k only.

Files are written in the common subset secdns reads line by line (no
quotes), and replaced atomically (written aside, then renamed), as an
operator's deployment tool does: a reader sees the old file or the new one.

L{Poller} asks one question over and over from a thread, every few
milliseconds, and keeps what each answer said and when.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import attrs
import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

LOOPBACK = "127.0.0.1"
BASE_SERIAL = 2026010100
CHANGE_EVERY = 1000

SMALL_ZONE = (
    "$ORIGIN {origin}.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\n"
    "ns1 A 192.0.2.1\nwww A 192.0.2.80\n"
)


def serial_of_version(k: int) -> int:
    return BASE_SERIAL + k


def changed_hosts(hosts: int, k: int) -> range:
    """The hosts whose address in version k differs from version 0's."""
    if k == 0:
        return range(0)
    return range(k % CHANGE_EVERY, hosts, CHANGE_EVERY)


def address(i: int, k: int) -> str:
    """Host i's address in version k."""
    if k > 0 and i % CHANGE_EVERY == k % CHANGE_EVERY:
        return f"172.{16 + k % 16}.{(i >> 8) & 255}.{i & 255}"
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def write_big_zone(path: Path, origin: str, hosts: int, k: int, extra: str = "") -> None:
    """
    Write version k of a zone of C{hosts} hosts at C{path}, replacing it
    atomically; C{extra} is added after the apex records.
    """
    aside = path.with_name(path.name + ".new")
    with open(aside, "w") as out:
        out.write(
            f"$ORIGIN {origin}.\n$TTL 300\n"
            f"@ SOA ns1 hostmaster {serial_of_version(k)} 3600 600 86400 60\n"
            f"@ NS ns1\nns1 A 192.0.2.1\nversion A 192.0.2.{k % 256}\nonly-v{k} A 198.51.100.{k % 256}\n{extra}"
        )
        step = 20000
        for start in range(0, hosts, step):
            out.write("".join(f"h{i} A {address(i, k)}\n" for i in range(start, min(start + step, hosts))))
    os.replace(aside, path)


def write_small_zone(path: Path, origin: str) -> None:
    path.write_text(SMALL_ZONE.format(origin=origin))


def primary_config(port: int, zones: dict[str, str], state_dir: str = "var") -> str:
    """A secdns config serving each C{origin: file} as a primary zone."""
    text = f'[server]\nlisten = ["127.0.0.1:{port}"]\nstate_dir = "{state_dir}"\n'
    for origin, file in zones.items():
        text += f'\n[[zone]]\nname = "{origin}"\ntype = "primary"\nfile = "{file}"\n'
    return text


def ask(port: int, qname: str, rdtype: str = "A", timeout: float = 2.0) -> dns.message.Message | None:
    """One UDP query; None when nothing answered within C{timeout} (or the port refused)."""
    try:
        return dns.query.udp(dns.message.make_query(qname, rdtype), LOOPBACK, port=port, timeout=timeout)
    except (dns.exception.Timeout, OSError):
        return None


def served_serial(port: int, origin: str, timeout: float = 2.0) -> int | None:
    """The serial of an authoritative NOERROR SOA answer for C{origin}, if any."""
    response = ask(port, origin, "SOA", timeout)
    if response is None or response.rcode() != dns.rcode.NOERROR:
        return None
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def a_record(port: int, qname: str, timeout: float = 2.0) -> str:
    """The rcode of an A query, and its addresses: C{"NOERROR 10.0.0.1"}, C{"NXDOMAIN"}, C{"timeout"}."""
    response = ask(port, qname, "A", timeout)
    if response is None:
        return "timeout"
    addresses = sorted(r.address for rrset in response.answer if rrset.rdtype == dns.rdatatype.A for r in rrset)
    return " ".join([dns.rcode.to_text(response.rcode()), *addresses])


def expected_a(origin: str, hosts: int, k: int, qname: str) -> str:
    """What L{a_record} says for C{qname} in version k."""
    relative = qname[: -len(origin) - 1]
    if relative == "version":
        return f"NOERROR 192.0.2.{k % 256}"
    if relative.startswith("only-v"):
        return f"NOERROR 198.51.100.{k % 256}" if relative == f"only-v{k}" else "NXDOMAIN"
    i = int(relative[1:])
    return f"NOERROR {address(i, k)}" if i < hosts else "NXDOMAIN"


def telling_names(origin: str, hosts: int, versions: list[int], sample: int = 40) -> list[str]:
    """Names whose answers tell C{versions} apart (and from version 0), and a few that do not."""
    names = [f"version.{origin}"] + [f"only-v{k}.{origin}" for k in versions]
    for k in versions:
        names += [f"h{i}.{origin}" for i in changed_hosts(hosts, k)][:sample]
    names += [f"h{i}.{origin}" for i in range(0, hosts, max(1, hosts // 10))]
    return names


def mismatches(port: int, origin: str, hosts: int, k: int, names: list[str]) -> list[str]:
    """The names among C{names} not answered as version k has them."""
    out = []
    for name in names:
        got, want = a_record(port, name), expected_a(origin, hosts, k, name)
        if got != want:
            out.append(f"{name}: {got!r}, version {k} has {want!r}")
    return out


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def udp_bound(port: int) -> bool:
    """Whether some process has a UDP socket bound to 127.0.0.1:port (Linux's /proc/net/udp)."""
    wanted = f"0100007F:{port:04X}"
    try:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(line.split()[1] == wanted for line in lines if len(line.split()) > 1)


@attrs.define
class Answer:
    sent: float  # time.monotonic() when the query was sent
    received: float | None  # when its answer came; None: none within the timeout
    rcode: str | None  # "NOERROR", "SERVFAIL", ...; None: no answer
    serial: int | None = None  # for SOA queries, the serial answered


class Poller(threading.Thread):
    """
    Asks C{qname}/C{rdtype} over UDP every C{interval} seconds, from another
    thread, until stopped or C{deadline} (monotonic), at most C{limit}
    times; each query waits C{timeout} seconds for its answer.
    """

    def __init__(
        self,
        port: int,
        qname: str,
        rdtype: str = "A",
        interval: float = 0.01,
        timeout: float = 2.0,
        deadline: float | None = None,
        limit: int = 100_000,
    ) -> None:
        super().__init__(daemon=True)
        self.port, self.qname, self.rdtype = port, qname, rdtype
        self.interval, self.timeout, self.limit = interval, timeout, limit
        self.deadline = deadline if deadline is not None else time.monotonic() + 600
        self.stopped = threading.Event()
        self.answers: list[Answer] = []

    def run(self) -> None:
        for _ in range(self.limit):
            if self.stopped.is_set() or time.monotonic() > self.deadline:
                return
            sent = time.monotonic()
            response = ask(self.port, self.qname, self.rdtype, self.timeout)
            received = time.monotonic()
            if response is None:
                self.answers.append(Answer(sent, None, None))
            else:
                serial = next(
                    (rrset[0].serial for rrset in response.answer if rrset.rdtype == dns.rdatatype.SOA), None
                )
                self.answers.append(Answer(sent, received, dns.rcode.to_text(response.rcode()), serial))
            self.stopped.wait(self.interval)

    def stop(self) -> "Poller":
        self.stopped.set()
        self.join(self.timeout + 5)
        return self

    # -- what it saw

    def answered(self, rcode: str = "NOERROR") -> list[Answer]:
        return [a for a in self.answers if a.rcode == rcode]

    def lost(self) -> list[Answer]:
        return [a for a in self.answers if a.rcode is None]

    def first(self, rcode: str = "NOERROR", serial: int | None = None) -> Answer | None:
        return next(
            (a for a in self.answers if a.rcode == rcode and (serial is None or a.serial == serial)), None
        )

    def slowest(self) -> float:
        return max((a.received - a.sent for a in self.answers if a.received is not None), default=0.0)

    def longest_gap(self, since: float | None = None) -> float:
        """The longest time between two answers received (from C{since}, when given)."""
        times = [a.received for a in self.answers if a.received is not None]
        if since is not None:
            times = [since] + [t for t in times if t >= since]
        return max((b - a for a, b in zip(times, times[1:])), default=0.0)


@attrs.define
class Start:
    """What L{watch_start} saw of a server's start, in time.monotonic() seconds."""

    started: float  # the process was started
    bound: float | None = None  # its UDP port was first seen bound
    small_answered: float | None = None  # the first NOERROR answer for the small zone was received
    big_asked: float | None = None  # the first query the big zone answered with the wanted serial was sent
    big_answered: float | None = None  # ... and its answer received
    big_before: list[str] = attrs.Factory(list)  # what the big zone answered before that: rcodes, "timeout", "serial N"
    big_after: list[str] = attrs.Factory(list)  # what it answered in the rounds after


def watch_start(
    daemon,
    port: int,
    small_qname: str,
    big_origin: str,
    serial: int,
    started: float,
    timeout: float = 60.0,
    rounds_after: int = 5,
) -> Start:
    """
    Watch a server start: once its UDP port is bound, ask in rounds, every
    10 ms, first the big zone's SOA, then the small zone's C{small_qname},
    until both are answered (the big zone with C{serial}), then
    C{rounds_after} rounds more.  Asking the big zone first in each round
    means that when both become answerable at once, the big zone's first
    answer is the earlier one.
    """
    start = Start(started)
    deadline = time.monotonic() + timeout
    while start.bound is None:
        if not daemon.running():
            raise AssertionError(f"the server exited early:\n{daemon.log()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"port {port} not bound within {timeout} s")
        if udp_bound(port):
            start.bound = time.monotonic()
        else:
            time.sleep(0.002)
    after = 0
    for _ in range(100_000):
        if time.monotonic() > deadline or not daemon.running():
            raise AssertionError(f"not served within {timeout} s: {start}\n{daemon.log()[-3000:]}")
        sent = time.monotonic()
        response = ask(port, big_origin, "SOA", timeout=10)
        received = time.monotonic()
        if response is None:
            said = "timeout"
        else:
            said = dns.rcode.to_text(response.rcode())
            soa = [rrset[0].serial for rrset in response.answer if rrset.rdtype == dns.rdatatype.SOA]
            if said == "NOERROR" and soa != [serial]:
                said = f"serial {soa[0] if soa else None}"
        if start.big_asked is not None:
            start.big_after.append(said)
        elif said == "NOERROR":
            start.big_asked, start.big_answered = sent, received
        else:
            start.big_before.append(said)
        response = ask(port, small_qname, "A", timeout=10)
        if start.small_answered is None and response is not None and response.rcode() == dns.rcode.NOERROR:
            start.small_answered = time.monotonic()
        if start.big_asked is not None and start.small_answered is not None:
            if after >= rounds_after:
                return start
            after += 1
        time.sleep(0.01)
    raise AssertionError(f"not served in 100,000 rounds: {start}")
