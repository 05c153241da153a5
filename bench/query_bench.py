"""
Query throughput of secdns against its peers, measured by dnsperf.

In a temporary directory this writes one zone of 10,000 names (A, AAAA, MX,
TXT, CNAMEs, a wildcard) and a dnsperf query file (hits, CNAMEs, no-data,
wildcard and NXDOMAIN queries, some in mixed case), and serves that zone
from secdns, stock Twisted Names, BIND, Knot and NSD on 127.0.0.1 high
ports.  Every server is pinned to core 0 and dnsperf to core 1, so each
server has one core.  A few answers of each server are checked first (a
server that answers wrongly is not measured, but for the known gaps of
Twisted Names, which are reported); then dnsperf runs once through the
query file against each (warm-up), and then for a fixed time per
concurrency setting, server after server, --repeat rounds, so that other
load on the machine falls on all alike.  The table gives queries per second,
average latency, the server's CPU time per answered query (which other load
on the machine disturbs less than queries per second) and the ratios of
secdns to each peer (medians over rounds).

    make bench
    .venv/bin/python bench/query_bench.py --duration 5 --servers secdns,twisted
    .venv/bin/python bench/query_bench.py --edns --do --repeat 3
    .venv/bin/python bench/query_bench.py --unique      # names never asked before
    .venv/bin/python bench/query_bench.py --workers 2   # every core: see below

--workers N compares, in one run, secdns with [server] workers = 1 and = N,
BIND with -n 1 and -n N, and Knot with 1 and N UDP workers, all unpinned
(dnsperf beside them on the same cores, with 32 clients so that the
kernel's SO_REUSEPORT hash has many source ports to spread); the table's
ratios are secdns with N workers over each, and each server's N-to-1
ratio is printed after it (median and best round).

The query file repeats, as dnsperf replays it: after the first pass secdns
answers from its memo of rendered answers.  --unique measures instead with
names asked once each (under the wildcard, or not existing), which only
the slow path can answer.

--signed nsec|nsec3 signs the zone once with BIND's dnssec-signzone (NSEC,
or NSEC3 with a salt and no extra iterations) and every server loads the
signed file as it is (secdns as a primary from the file; Twisted Names,
which cannot serve it, is skipped).  With --do the checks then also ask
with the DO bit: each answer RRset must come with its RRSIG, a negative or
wildcard answer with signed NSEC (NSEC3) records, and secdns must give the
same answer and authority sections (names, types, counts) as BIND.

    .venv/bin/python bench/query_bench.py --servers secdns,bind --unique --do --signed nsec3  Every daemon is started in the
temporary directory and stopped by its PID.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import Daemon, free_port, secdns_env, twistd_argv  # noqa: E402

LOOPBACK = "127.0.0.1"
ORIGIN = "bench.example"
NAMES = 10_000
QUERIES = 50_000
UNIQUE_QUERIES = 1_000_000
SEED = 1035
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")
ALL_SERVERS = ("secdns", "twisted", "bind", "knot", "nsd")
SERVER_CORE = 0
CLIENT_CORE = 1


# -- the zone and the queries


def host(i: int) -> str:
    return f"h{i:05d}"


def is_cname(i: int) -> bool:
    return i % 20 == 19


def address(i: int) -> str:
    return f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}"


def address6(i: int) -> str:
    return f"2001:db8::{i:x}"


def zone_text() -> str:
    """
    The zone, in the subset of RFC 1035 syntax that every peer (Twisted
    Names' C{BindAuthority} included) reads the same way: $ORIGIN, $TTL, one
    record per line, explicit owners and class, unquoted TXT without spaces.
    """
    lines = [
        f"$ORIGIN {ORIGIN}.",
        "$TTL 3600",
        f"@ IN SOA ns1.{ORIGIN}. hostmaster.{ORIGIN}. 2024010101 3600 600 86400 300",
        f"@ IN NS ns1.{ORIGIN}.",
        f"@ IN NS ns2.{ORIGIN}.",
        "ns1 IN A 192.0.2.1",
        "ns2 IN A 192.0.2.2",
        "mail IN A 192.0.2.25",
        "*.wild IN A 192.0.2.99",
        "*.wild IN TXT wildcard",
    ]
    for i in range(NAMES):
        name = host(i)
        if is_cname(i):
            lines.append(f"{name} IN CNAME {host(i - 1)}.{ORIGIN}.")
            continue
        lines.append(f"{name} IN A {address(i)}")
        if i % 2 == 0:
            lines.append(f"{name} IN AAAA {address6(i)}")
        if i % 5 == 0:
            lines.append(f"{name} IN MX 10 mail.{ORIGIN}.")
        if i % 4 == 0:
            lines.append(f"{name} IN TXT v=bench-{i}")
    return "\n".join(lines) + "\n"


def mixed_case(name: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in name)


def queries(rng: random.Random) -> list[str]:
    """The dnsperf query file's lines: C{name type}."""
    plain = [i for i in range(NAMES) if not is_cname(i)]
    cnames = [i for i in range(NAMES) if is_cname(i)]
    kinds = [  # (weight, make a query)
        (40, lambda: (f"{host(rng.choice(plain))}.{ORIGIN}", "A")),
        (12, lambda: (f"{host(rng.randrange(0, NAMES - 1, 2))}.{ORIGIN}", "AAAA")),
        (8, lambda: (f"{host(rng.randrange(0, NAMES, 5))}.{ORIGIN}", "MX")),
        (8, lambda: (f"{host(rng.randrange(0, NAMES, 4))}.{ORIGIN}", "TXT")),
        (10, lambda: (f"{host(rng.choice(cnames))}.{ORIGIN}", "A")),
        (6, lambda: (f"{host(rng.randrange(1, NAMES - 2, 2))}.{ORIGIN}", "AAAA")),  # no data (odd, not CNAME)
        (8, lambda: (f"w{rng.randrange(2000)}.wild.{ORIGIN}", "A")),
        (8, lambda: (f"nx{rng.randrange(100_000)}.{ORIGIN}", "A")),
    ]
    weights = [w for w, _ in kinds]
    makers = [m for _, m in kinds]
    lines = []
    for _ in range(QUERIES):
        name, rdtype = rng.choices(makers, weights)[0]()
        if rng.random() < 0.05:
            name = mixed_case(name, rng)
        lines.append(f"{name} {rdtype}")
    return lines


def unique_queries(count: int, tag: str = "") -> list[str]:
    """
    Lines that never repeat (until dnsperf starts the file again): names
    under the wildcard and names that do not exist, each asked once, so no
    memo of answers can help.  Each C{tag} makes other names: every
    measurement gets its own file, as dnsperf starts each at the top.
    """
    return [f"u{tag}{i}.wild.{ORIGIN} A" if i % 2 else f"nx-u{tag}{i}.{ORIGIN} A" for i in range(count)]


# -- what a correct server answers


@dataclass
class Check:
    qname: str
    rdtype: str
    rcode: str
    answer: set[tuple[str, str]]  # (type, rdata text) in the answer section
    kind: str = "hit"


def checks() -> list[Check]:
    a = lambda i: {("A", address(i))}  # noqa: E731
    return [
        Check(f"{host(2)}.{ORIGIN}", "A", "NOERROR", a(2)),
        Check(f"{host(4)}.{ORIGIN}".upper(), "AAAA", "NOERROR", {("AAAA", address6(4))}),
        Check(f"{host(20)}.{ORIGIN}", "MX", "NOERROR", {("MX", f"10 mail.{ORIGIN}.")}),
        Check(f"{host(8)}.{ORIGIN}", "TXT", "NOERROR", {("TXT", '"v=bench-8"')}),
        Check(f"{host(39)}.{ORIGIN}", "A", "NOERROR", {("CNAME", f"{host(38)}.{ORIGIN}.")} | a(38), "cname"),
        Check(f"{host(3)}.{ORIGIN}", "AAAA", "NOERROR", set(), "nodata"),
        Check(f"nx1.{ORIGIN}", "A", "NXDOMAIN", set(), "nxdomain"),
        Check(f"w7.wild.{ORIGIN}", "A", "NOERROR", {("A", "192.0.2.99")}, "wildcard"),
    ]


def check_answers(
    port: int, known_wrong: frozenset[str] = frozenset(), do: bool = False, signed: str | None = None
) -> list[str]:
    """
    What the server on C{port} answers wrongly, each as a line of text.
    With C{do}, each check is also asked with the DO bit; of a C{signed}
    zone ("nsec" or "nsec3") its answer must then carry the signatures and
    the denial records.
    """
    problems = []
    for check in checks():
        for edns in (-1, 0, "do") if do else (-1, 0):
            if edns == "do":
                query = dns.message.make_query(check.qname, check.rdtype, use_edns=0, payload=1232, want_dnssec=True)
            else:
                query = dns.message.make_query(check.qname, check.rdtype, use_edns=edns)
            try:
                response = dns.query.udp(query, LOOPBACK, port=port, timeout=3)
            except Exception as e:
                problems.append(f"{check.qname} {check.rdtype}: {type(e).__name__} {e}")
                continue
            got_rcode = dns.rcode.to_text(response.rcode())
            got = {
                (dns.rdatatype.to_text(rrset.rdtype), rdata.to_text())
                for rrset in response.answer
                if rrset.rdtype != dns.rdatatype.RRSIG
                for rdata in rrset
            }
            question = response.question[0].name.to_text(omit_final_dot=True) if response.question else ""
            wrong = []
            if got_rcode != check.rcode:
                wrong.append(f"rcode {got_rcode}, expected {check.rcode}")
            if got != check.answer:
                wrong.append(f"answer {sorted(got)}, expected {sorted(check.answer)}")
            if not response.flags & dns.flags.AA:
                wrong.append("AA not set")
            if question != check.qname:
                wrong.append(f"question {question!r}, expected the query's case {check.qname!r}")
            if edns == "do" and signed:
                wrong += dnssec_problems(response, check, signed)
            if wrong:
                if check.kind not in known_wrong:
                    problems.append(f"{check.qname} {check.rdtype} (edns={edns}): " + "; ".join(wrong))
    return problems


def dnssec_problems(response: dns.message.Message, check: Check, signed: str) -> list[str]:
    """What a DO answer from the signed zone lacks: signatures, denial records."""
    wrong = []
    for section_name in ("answer", "authority"):
        section = getattr(response, section_name)
        covered = {(r.name, r.covers) for r in section if r.rdtype == dns.rdatatype.RRSIG}
        for rrset in section:
            if rrset.rdtype != dns.rdatatype.RRSIG and (rrset.name, rrset.rdtype) not in covered:
                wrong.append(f"{section_name} {rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} without its RRSIG")
    denial = dns.rdatatype.NSEC3 if signed == "nsec3" else dns.rdatatype.NSEC
    if check.kind in ("nodata", "nxdomain", "wildcard"):
        if not any(r.rdtype == denial for r in response.authority):
            wrong.append(f"no {dns.rdatatype.to_text(denial)} in the authority section")
    return wrong


def dnssec_shape(port: int) -> dict[str, list[str]]:
    """
    For each check asked with DO: the answer and authority sections, as
    sorted C{section name type(covered) count} lines (rdata aside: the
    signatures are the same, the NSEC3 hashes too), to compare servers by.
    """
    shapes = {}
    for check in checks():
        query = dns.message.make_query(check.qname, check.rdtype, use_edns=0, payload=1232, want_dnssec=True)
        try:
            response = dns.query.udp(query, LOOPBACK, port=port, timeout=3)
        except Exception as e:
            shapes[f"{check.qname} {check.rdtype}"] = [f"{type(e).__name__} {e}"]
            continue
        lines = [f"rcode {dns.rcode.to_text(response.rcode())}"]
        for section_name in ("answer", "authority"):
            for rrset in getattr(response, section_name):
                kind = dns.rdatatype.to_text(rrset.rdtype)
                if rrset.rdtype == dns.rdatatype.RRSIG:
                    kind += f"({dns.rdatatype.to_text(rrset.covers)})"
                lines.append(f"{section_name} {rrset.name.to_text().lower()} {kind} {len(rrset)}")
        shapes[f"{check.qname} {check.rdtype}"] = sorted(lines)
    return shapes


# -- the servers


@dataclass
class Server:
    name: str
    label: str
    argv: list[str]
    port: int
    env: dict | None = None
    #: checks this server is known to fail, and why (reported, not fatal)
    known_wrong: dict[str, str] = field(default_factory=dict)


def which(command: str) -> str | None:
    return shutil.which(command, path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))


def version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "?"


def secdns_server(work: Path, zone: Path, workers: int = 1, name: str = "secdns") -> Server:
    port = free_port()
    d = work / name
    d.mkdir()
    config = d / "secdns.toml"
    config.write_text(
        f"""
[server]
listen = ["{LOOPBACK}:{port}"]
state_dir = "var"
workers = {workers}

[[zone]]
name = "{ORIGIN}"
type = "primary"
file = "{zone}"
"""
    )
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    label = f"secdns {commit.stdout.strip()}".strip()
    if workers > 1 or name != "secdns":
        label += f" w={workers}"
    return Server(name, label, twistd_argv(config), port, env=secdns_env())


def twisted_server(work: Path, zone: Path) -> Server:
    port = free_port()
    argv = [
        str(Path(sys.executable).with_name("twistd")),
        "-n", "--pidfile=", "--logfile=-",
        "dns", "--bindzone", str(zone), "--interface", LOOPBACK, "--port", str(port),
    ]  # fmt: skip
    import twisted

    return Server(
        "twisted",
        f"Twisted Names {twisted.__version__}",
        argv,
        port,
        known_wrong={
            "wildcard": "no wildcard support, answers NXDOMAIN",
            "cname": "does not follow a CNAME to its target in the zone",
            "nodata": "AA clear",
            "nxdomain": "AA clear",
        },
    )


def bind_server(work: Path, zone: Path, threads: int = 1, name: str = "bind") -> Server | None:
    named = which("named")
    if named is None:
        return None
    port = free_port()
    d = work / name
    d.mkdir()
    conf = d / "named.conf"
    conf.write_text(
        f"""
options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {port} {{ {LOOPBACK}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-transfer {{ none; }};
}};
controls {{ }};
zone "{ORIGIN}" {{ type primary; file "{zone}"; }};
"""
    )
    label = "BIND " + version([named, "-v"]).split()[1].split("-")[0] + (f" -n {threads}" if name != "bind" else "")
    return Server(name, label, [named, "-g", "-4", "-n", str(threads), "-c", str(conf)], port)


def knot_server(work: Path, zone: Path, workers: int = 1, name: str = "knot") -> Server | None:
    knotd = which("knotd")
    if knotd is None:
        return None
    port = free_port()
    d = work / name
    d.mkdir()
    conf = d / "knot.conf"
    conf.write_text(
        f"""
server:
    rundir: "{d}"
    listen: {LOOPBACK}@{port}
    udp-workers: {workers}
    tcp-workers: {workers}
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "{d}"
template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: {ORIGIN}
    file: "{zone}"
"""
    )
    label = "Knot DNS " + version([knotd, "-V"]).split()[-1] + (f" udp {workers}" if name != "knot" else "")
    return Server(name, label, [knotd, "-c", str(conf)], port)


def nsd_server(work: Path, zone: Path) -> Server | None:
    nsd = which("nsd")
    if nsd is None:
        return None
    port = free_port()
    d = work / "nsd"
    d.mkdir()
    conf = d / "nsd.conf"
    conf.write_text(
        f"""
server:
    ip-address: {LOOPBACK}
    port: {port}
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    pidfile: "{d}/nsd.pid"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    zonelistfile: "{d}/zone.list"
    verbosity: 0
    rrl-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: {ORIGIN}
    zonefile: "{zone}"
"""
    )
    label = "NSD " + version([nsd, "-v"]).split()[-1]
    return Server("nsd", label, [nsd, "-d", "-c", str(conf)], port)


MAKERS = {
    "secdns": secdns_server,
    "twisted": twisted_server,
    "bind": bind_server,
    "knot": knot_server,
    "nsd": nsd_server,
}


def worker_makers(n: int) -> dict[str, Callable]:
    """
    --workers N: secdns, BIND and Knot each with 1 process (or thread) for
    UDP and with N, so that each one's N-to-1 ratio is measured in the same
    run: what the machine lets any server gain from N cores.
    """
    return {
        "secdns1": lambda work, zone: secdns_server(work, zone, 1, "secdns1"),
        f"secdns{n}": lambda work, zone: secdns_server(work, zone, n, f"secdns{n}"),
        "bind1": lambda work, zone: bind_server(work, zone, 1, "bind1"),
        f"bind{n}": lambda work, zone: bind_server(work, zone, n, f"bind{n}"),
        "knot1": lambda work, zone: knot_server(work, zone, 1, "knot1"),
        f"knot{n}": lambda work, zone: knot_server(work, zone, n, f"knot{n}"),
    }


def pinned(core: int | None, argv: list[str]) -> list[str]:
    return argv if core is None else ["taskset", "-c", str(core), *argv]


def wait_ready(daemon: Daemon, port: int, timeout: float) -> None:
    """Wait until the server answers our zone's SOA authoritatively."""
    deadline = time.monotonic() + timeout
    query = dns.message.make_query(f"{ORIGIN}.", "SOA")
    while time.monotonic() < deadline:
        if not daemon.running():
            raise RuntimeError(f"{daemon.argv[0]} exited early:\n{daemon.log()[-3000:]}")
        try:
            response = dns.query.udp(query, LOOPBACK, port=port, timeout=0.5)
            if response.rcode() == dns.rcode.NOERROR and response.answer:
                return
        except (dns.exception.Timeout, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{daemon.argv} did not answer for {ORIGIN} within {timeout} s")


# -- dnsperf


@dataclass
class Result:
    qps: float
    latency_ms: float
    lost: str
    rcodes: str
    #: CPU time the server used per answered query, in microseconds
    cpu_us: float | None = None
    #: CPU time dnsperf itself used per answered query, in microseconds
    client_cpu_us: float | None = None


TICK = os.sysconf("SC_CLK_TCK")
#: Warm-up passes through the query file with --workers (each from fresh
#: source ports): a question misses one of 2 processes in all of them once
#: in 2**5.
WARM_PASSES = 5


def session_cpu(session: int) -> float | None:
    """
    CPU seconds used so far by the processes of a session (a daemon and its
    children, such as NSD's server processes; threads are counted in their
    process), or L{None} where /proc cannot say.
    """
    total = 0
    found = False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[3]) == session:  # field 6 of stat(5): session id
            total += int(fields[11]) + int(fields[12])  # utime, stime
            found = True
    return total / TICK if found else None


def dnsperf(
    port: int, queryfile: Path, args, outstanding: int, duration: float, runs: int | None = None, session: int | None = None
) -> Result:
    argv = [
        "dnsperf", "-s", LOOPBACK, "-p", str(port), "-d", str(queryfile),
        "-c", str(args.clients), "-q", str(outstanding), "-l", str(duration), "-t", "2",
    ]  # fmt: skip
    if runs is not None:
        argv += ["-n", str(runs)]
    if args.tcp:
        argv += ["-m", "tcp"]
    if args.edns:
        argv.append("-e")
    if args.do:
        argv.append("-D")
    before = session_cpu(session) if session is not None else None
    client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        pinned(args.client_core, argv), capture_output=True, text=True, timeout=duration + 30
    )
    client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = session_cpu(session) if session is not None else None
    text = out.stdout + out.stderr
    if out.returncode != 0:
        raise RuntimeError(f"dnsperf failed ({out.returncode}):\n{text[-2000:]}")
    qps = re.search(r"Queries per second:\s+([\d.]+)", text)
    latency = re.search(r"Average Latency \(s\):\s+([\d.]+)", text)
    lost = re.search(r"Queries lost:\s+(\d+ \([\d.]+%\))", text)
    rcodes = re.search(r"Response codes:\s+(.*)", text)
    completed = re.search(r"Queries completed:\s+(\d+)", text)
    if not (qps and latency and completed):
        raise RuntimeError(f"cannot read dnsperf's output:\n{text[-2000:]}")
    cpu_us = client_cpu_us = None
    answered = int(completed.group(1))
    if before is not None and after is not None and answered:
        cpu_us = (after - before) / answered * 1e6
    if answered:
        used = (client_after.ru_utime + client_after.ru_stime) - (client_before.ru_utime + client_before.ru_stime)
        client_cpu_us = used / answered * 1e6
    return Result(
        float(qps.group(1)),
        float(latency.group(1)) * 1000,
        lost.group(1) if lost else "?",
        rcodes.group(1).strip() if rcodes else "?",
        cpu_us,
        client_cpu_us,
    )


# -- the run


def start(server: Server, work: Path, args) -> Daemon | str:
    """Start a server in its own directory and check its answers; a string says why not."""
    cwd = work / server.name
    cwd.mkdir(exist_ok=True)
    daemon = Daemon(pinned(args.server_core, server.argv), work / f"{server.name}.log", cwd=cwd, env=server.env)
    try:
        wait_ready(daemon, server.port, timeout=120)
    except RuntimeError as e:
        daemon.stop()
        return f"did not start: {e}"
    for what, why in server.known_wrong.items():
        print(f"  {server.name}: known wrong answer, {what}: {why}")
    problems = check_answers(server.port, frozenset(server.known_wrong), args.do, args.signed)
    for problem in problems:
        print(f"  {server.name}: WRONG {problem}")
    if problems and not args.no_check:
        daemon.stop()
        return "wrong answers (see above); not measured"
    return daemon


def measure(
    servers: dict[str, tuple[Server, Daemon]], queryfile: Path, measured: Callable[[int, int], Path], args
) -> dict[str, dict[int, list[Result]]]:
    """
    Warm each server up with one pass through the query file, then measure
    (with the file C{measured(round, outstanding)}) each -q setting, server
    after server, C{args.repeat} times round, so that other load on the
    machine falls on all servers alike.
    """
    results: dict[str, dict[int, list[Result]]] = {name: {q: [] for q in args.outstanding} for name in servers}
    for name, (server, _) in servers.items():
        # A server of several processes has a memo in each, and the kernel
        # gives each client port to one of them: passes from fresh ports
        # until every process is likely to have seen every question.
        for _ in range(WARM_PASSES if args.workers > 1 else 1):
            warm = dnsperf(server.port, queryfile, args, max(args.outstanding), duration=30, runs=1)
        print(f"  {name}: warmed up, {warm.rcodes}", flush=True)
    for round in range(args.repeat):
        for outstanding in args.outstanding:
            measured_now = measured(round, outstanding)
            for name, (server, daemon) in servers.items():
                if not daemon.running():
                    continue
                result = dnsperf(server.port, measured_now, args, outstanding, args.duration, session=daemon.pid)
                print(
                    f"  {name}: -q {outstanding}: {result.qps:,.0f} q/s, {result.latency_ms:.3f} ms,"
                    f" {fmt_cpu(result.cpu_us)} CPU us/query, lost {result.lost}, {result.rcodes}",
                    flush=True,
                )
                results[name][outstanding].append(result)
    return results


def fmt_cpu(cpu_us: float | None) -> str:
    return "?" if cpu_us is None else f"{cpu_us:.1f}"


def median(results: list[Result]) -> Result:
    return sorted(results, key=lambda r: r.qps)[len(results) // 2]


def usable_cores() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except AttributeError:
        return set(range(os.cpu_count() or 1))


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Linux {os.uname().release}, Python {sys.version.split()[0]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default=",".join(ALL_SERVERS), help="comma-separated, of: " + ", ".join(ALL_SERVERS))
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement (default 8)")
    parser.add_argument("--outstanding", default="20,200", help="dnsperf -q settings, comma-separated (default 20,200)")
    parser.add_argument("--clients", type=int, default=4, help="dnsperf -c (default 4)")
    parser.add_argument("--repeat", type=int, default=1, help="measure this many rounds; the table shows medians (default 1)")
    parser.add_argument(
        "--unique",
        action="store_true",
        help="measure with names asked once each (wildcard and NXDOMAIN): answers that no memo has",
    )
    parser.add_argument("--edns", action="store_true", help="send EDNS (dnsperf -e)")
    parser.add_argument("--tcp", action="store_true", help="ask over TCP (dnsperf -m tcp: one connection per client)")
    parser.add_argument("--do", action="store_true", help="set the DO bit (dnsperf -D, implies EDNS)")
    parser.add_argument(
        "--signed", choices=("nsec", "nsec3"),
        help="serve the zone signed by dnssec-signzone, with NSEC or NSEC3 (Twisted Names skipped)",
    )
    parser.add_argument("--no-check", action="store_true", help="measure servers whose answers are wrong")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and dnsperf to cores")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--workers", type=int, default=0,
        help="compare secdns with 1 and N workers, BIND -n 1 and -n N, Knot with 1 and N UDP workers, unpinned",
    )
    args = parser.parse_args(argv)
    makers = MAKERS
    args.reference = "secdns"
    if args.workers > 1:
        makers = worker_makers(args.workers)
        args.servers = ",".join(makers)
        args.no_pin = True
        args.reference = f"secdns{args.workers}"
        if args.clients == 4:
            args.clients = 32  # source ports for the kernel to spread over the sockets
    args.outstanding = [int(q) for q in args.outstanding.split(",")]
    if args.repeat < 1 or args.duration <= 0:
        parser.error("--repeat and --duration must be positive")
    names = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(names) - set(makers)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    if args.reference not in names:
        print("note: secdns is not in --servers, so there are no ratios")

    if shutil.which("dnsperf") is None:
        print("dnsperf is not installed (make peers installs it as root)", file=sys.stderr)
        return 2
    cores = usable_cores()
    if args.no_pin or not {SERVER_CORE, CLIENT_CORE} <= cores or shutil.which("taskset") is None:
        if not args.no_pin:
            print(f"warning: cores {sorted(cores)} available; running unpinned", file=sys.stderr)
        args.server_core = args.client_core = None
    else:
        args.server_core, args.client_core = SERVER_CORE, CLIENT_CORE

    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="secdns-bench-"))
    running: dict[str, tuple[Server, Daemon]] = {}
    failures: dict[str, str] = {}
    labels: dict[str, str] = {}
    try:
        zone = work / f"{ORIGIN}.zone"
        zone.write_text(zone_text())
        if args.signed:
            from tests.peers import sign_zone

            signing = time.monotonic()
            zone = sign_zone(zone, ORIGIN, work / "keys", nsec3_salt="cafe" if args.signed == "nsec3" else None)
            print(f"signed with {args.signed.upper()} by dnssec-signzone in {time.monotonic() - signing:.1f} s: {zone}")
        queryfile = work / "queries.txt"
        lines = queries(random.Random(SEED))
        queryfile.write_text("\n".join(lines) + "\n")

        def measured(round: int, outstanding: int) -> Path:
            if not args.unique:
                return queryfile
            # A file of its own for each measurement: were dnsperf to ask
            # the names of an earlier one again, memos would answer them.
            path = work / "unique.txt"
            path.write_text("\n".join(unique_queries(UNIQUE_QUERIES, f"{round}q{outstanding}-")) + "\n")
            return path

        print(f"{machine()}; load average {os.getloadavg()[0]:.2f}")
        print(
            f"zone {ORIGIN}: {NAMES} names; {len(lines)} queries ({len(set(lines))} distinct);"
            f" servers on core {args.server_core}, dnsperf on core {args.client_core};"
            f"{' measured with ' + str(UNIQUE_QUERIES) + ' names asked once each;' if args.unique else ''}"
            f" dnsperf -c {args.clients} -l {args.duration:g}"
            f"{' -e' if args.edns else ''}{' -D' if args.do else ''}{' -m tcp' if args.tcp else ''};"
            f"{' zone signed, ' + args.signed.upper() + ';' if args.signed else ''} in {work}",
            flush=True,
        )
        for name in names:
            if args.signed and name == "twisted":
                failures[name] = "skipped: cannot serve a signed zone"
                labels[name] = "Twisted Names"
                continue
            server = makers[name](work, zone)
            if server is None:
                failures[name] = "not installed"
                labels[name] = name
                continue
            labels[name] = server.label
            print(f"{server.label} on port {server.port}", flush=True)
            started = start(server, work, args)
            if isinstance(started, str):
                failures[name] = started
            else:
                running[name] = (server, started)
        if args.signed and args.do and args.reference in running and "bind" in running:
            # secdns must answer as BIND does: the same signatures and
            # denial records, not fewer (which would be cheaper).
            ours, theirs = dnssec_shape(running[args.reference][0].port), dnssec_shape(running["bind"][0].port)
            differ = [q for q in theirs if ours.get(q) != theirs[q]]
            for q in differ:
                print(f"  {args.reference}: DIFFERS from BIND with DO, {q}:\n    ours   {ours.get(q)}\n    BIND's {theirs[q]}")
            if differ and not args.no_check:
                server, daemon = running.pop(args.reference)
                daemon.stop()
                failures[args.reference] = "answers with DO differ from BIND's (see above); not measured"
            elif not differ:
                print(f"  {args.reference}: answers with DO as BIND's (sections, names, types, counts)")
        results = measure(running, queryfile, measured, args)
        for name, (_, daemon) in running.items():
            if not daemon.running():
                failures[name] = f"exited during the run:\n{daemon.log()[-2000:]}"
        print_table(names, labels, results, failures, args)
        print(f"load average {os.getloadavg()[0]:.2f}; {time.monotonic() - began:.0f} s in all")
        return 0 if not failures else 1
    finally:
        for _, daemon in running.values():
            daemon.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def print_table(names, labels, results, failures, args) -> None:
    """
    Medians over the rounds.  Queries/s is what dnsperf measured; CPU
    us/query is the server's CPU time per answered query, which other load
    on the machine disturbs less (it is what queries/s would be the inverse
    of if the server had its core to itself, and it is busy all the time).
    """
    print()
    header = (
        f"{'server':<22} {'-q':>4} {'queries/s':>10} {'avg latency':>12} {'secdns/this':>12}"
        f" {'CPU us/query':>13} {'secdns/this':>12}"
    )
    if args.repeat > 1:
        header += f"  {'queries/s, ' + str(args.repeat) + ' runs'}"
    if args.reference != "secdns":
        header = header.replace(" secdns/this", f"{args.reference + '/this':>13}")
    print(header)
    print("-" * len(header))
    ours = results.get(args.reference)
    for name in names:
        if name in failures:
            print(f"{labels[name]:<22} {failures[name].splitlines()[0]}")
            continue
        for outstanding, runs in results[name].items():
            if not runs:
                continue
            result = median(runs)
            cpu = sorted(r.cpu_us for r in runs if r.cpu_us is not None)
            cpu_us = cpu[len(cpu) // 2] if cpu else None
            ratio = cpu_ratio = ""
            if ours and ours.get(outstanding):
                ratio = f"{median(ours[outstanding]).qps / result.qps:.2f}x"
                our_cpu = sorted(r.cpu_us for r in ours[outstanding] if r.cpu_us is not None)
                if our_cpu and cpu_us:
                    cpu_ratio = f"{cpu_us / our_cpu[len(our_cpu) // 2]:.2f}x"
            line = (
                f"{labels[name]:<22} {outstanding:>4} {result.qps:>10,.0f}"
                f" {result.latency_ms:>9.3f} ms {ratio:>12} {fmt_cpu(cpu_us):>13} {cpu_ratio:>12}"
            )
            if args.repeat > 1:
                line += f"  {min(r.qps for r in runs):,.0f}-{max(r.qps for r in runs):,.0f}"
            print(line)
    if args.reference != "secdns":
        print()
        n = args.workers
        for server in ("secdns", "bind", "knot"):
            many, one = results.get(f"{server}{n}"), results.get(f"{server}1")
            if not many or not one:
                continue
            for outstanding in args.outstanding:
                if many.get(outstanding) and one.get(outstanding):
                    best = max(r.qps for r in many[outstanding]) / max(r.qps for r in one[outstanding])
                    pairs = [f"{a.qps / b.qps:.2f}" for a, b in zip(many[outstanding], one[outstanding])]
                    print(
                        f"{server}, {n} / 1, -q {outstanding}: median {median(many[outstanding]).qps / median(one[outstanding]).qps:.2f}x,"
                        f" best {best:.2f}x (round by round: {', '.join(pairs)})"
                    )
        print_ceiling(results, args)

def print_ceiling(results, args) -> None:
    """
    What the machine can carry, server and dnsperf together: with dnsperf
    on the same cores, no server answers more than cores / (its CPU per
    query + dnsperf's), however many processes it runs.
    """
    cores = len(usable_cores())
    print()
    for name, by_q in results.items():
        for outstanding, runs in by_q.items():
            if not runs:
                continue
            run = median(runs)  # the figures of one round, side by side
            if run.cpu_us is None or run.client_cpu_us is None:
                continue
            s, c = run.cpu_us, run.client_cpu_us
            print(
                f"{name}, -q {outstanding}: {s:.1f} CPU us a query + dnsperf's {c:.1f}:"
                f" at most {cores * 1e6 / (s + c):,.0f} q/s on {cores} cores; measured {run.qps:,.0f}"
            )


if __name__ == "__main__":
    sys.exit(main())
