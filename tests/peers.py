"""
Real DNS servers that tests run next to secdns: BIND 9 now; Knot and NSD
fit the same shape.

A L{Peer} is one server in a directory of its own under the test's tmp
dir, listening on 127.0.0.1 only, on a port the test chose, serving the
L{PeerZone}s it was given.  C{start()} writes the config, starts the
daemon (a L{tests.support.Daemon}, so it is stopped by its PID) and returns
once every zone answers; C{stop()}, C{reload()} and C{log()} do what they
say.  A missing program fails the test in CI and skips it elsewhere
(L{tests.support.require}).

L{sign_zone} signs a zone file with BIND's C{dnssec-keygen} and
C{dnssec-signzone}, so that every server loads the very same signatures.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

import attrs
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from tests.support import LOOPBACK, Daemon, require

__all__ = ["PeerZone", "TsigKey", "Peer", "Bind", "Knot", "Nsd", "PowerDns", "sign_zone", "soa_serial"]


@attrs.frozen
class TsigKey:
    """A TSIG key as every server's config names it."""

    name: str
    secret: str  # base64
    algorithm: str = "hmac-sha256"


@attrs.frozen
class PeerZone:
    """
    A zone a peer serves.

    @ivar name: the zone's name, without or with the final dot.
    @ivar file: the zone file of a primary zone (absolute path).
    @ivar primaries: for a secondary zone, the (address, port) pairs it
        transfers from; a zone is a secondary exactly when this is not empty.
    @ivar downstreams: (address, port) pairs allowed to transfer the zone and
        notified of changes.
    @ivar extra: server-specific text added inside the zone's own statement.
    @ivar key: the name of the TSIG key (a L{TsigKey} of the peer) required of
        downstreams and used with primaries; L{None} for none.
    """

    name: str
    file: Path | None = None
    primaries: tuple[tuple[str, int], ...] = ()
    downstreams: tuple[tuple[str, int], ...] = ()
    extra: str = ""
    key: str | None = None

    @property
    def origin(self) -> str:
        return self.name.rstrip(".") + "."

    @property
    def is_secondary(self) -> bool:
        return bool(self.primaries)


class Peer:
    """
    One server run by a test.  Subclasses say how to write its config and
    start it; this class runs it, waits for it and stops it.

    @ivar directory: the server's own directory (config, zones it writes, log).
    @ivar port: where it answers DNS over UDP and TCP on 127.0.0.1.
    """

    #: The program, as L{tests.support.require} looks it up.
    program: str = ""
    #: The directory name under the test's tmp dir.
    label: str = ""

    def __init__(
        self,
        tmp_path: Path,
        port: int,
        zones: Sequence[PeerZone] = (),
        extra_conf: str = "",
        keys: Sequence[TsigKey] = (),
    ) -> None:
        self.executable = require(self.program)
        self.port = port
        self.zones = list(zones)
        self.extra_conf = extra_conf
        self.keys = list(keys)
        self.directory = Path(tmp_path) / f"{self.label}-{port}"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.daemon: Daemon | None = None

    # -- what a subclass provides

    def config_path(self) -> Path:
        raise NotImplementedError

    def config_text(self) -> str:
        raise NotImplementedError

    def argv(self) -> list[str]:
        raise NotImplementedError

    # -- running

    def start(self, timeout: float = 20.0) -> "Peer":
        """Write the config, start the server and wait until each primary zone answers."""
        self.config_path().write_text(self.config_text())
        self.daemon = Daemon(self.argv(), self.directory / f"{self.label}.log", cwd=self.directory)
        try:
            for zone in self.zones:
                if not zone.is_secondary:
                    self.wait_for_zone(zone.origin, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> int | None:
        """Stop the server by its PID (SIGTERM, then SIGKILL); its exit status."""
        if self.daemon is None:
            return None
        return self.daemon.stop()

    def reload(self) -> None:
        """Ask the server to read its config and zone files again (SIGHUP)."""
        assert self.daemon is not None, "not started"
        self.daemon.signal(signal.SIGHUP)

    def log(self) -> str:
        return self.daemon.log() if self.daemon is not None else ""

    def __enter__(self) -> "Peer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- asking it

    def query(self, qname: str, rdtype: str = "SOA", tcp: bool = False, **kw) -> dns.message.Message:
        message = dns.message.make_query(qname, rdtype, **kw)
        send = dns.query.tcp if tcp else dns.query.udp
        return send(message, LOOPBACK, port=self.port, timeout=2)

    def serial(self, zone: str) -> int | None:
        """The SOA serial the server answers for C{zone} authoritatively, if any."""
        return soa_serial(self.port, zone)

    def wait_for_zone(self, zone: str, timeout: float = 20.0, serial: int | None = None) -> int:
        """
        Poll until the server answers C{zone}'s SOA authoritatively (with
        C{serial}, when given); its serial.
        """
        deadline = time.monotonic() + timeout
        while True:
            assert self.daemon is not None
            if not self.daemon.running():
                raise AssertionError(f"{self.label} exited early:\n{self.log()[-3000:]}")
            found = self.serial(zone)
            if found is not None and (serial is None or found == serial):
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{self.label} on port {self.port} did not serve {zone} "
                    f"(serial {serial}, have {found}) within {timeout} s:\n{self.log()[-3000:]}"
                )
            time.sleep(0.05)


def soa_serial(port: int, zone: str) -> int | None:
    """The serial of an authoritative SOA answer for C{zone} from 127.0.0.1:port, if any."""
    try:
        response = dns.query.udp(dns.message.make_query(zone, "SOA"), LOOPBACK, port=port, timeout=0.5)
    except (dns.exception.Timeout, OSError):
        return None
    if response.rcode() != dns.rcode.NOERROR or not response.flags & dns.flags.AA:
        return None
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


class Bind(Peer):
    """
    BIND 9's C{named -g}: in the foreground, logging to stderr, no rndc
    channel (C{controls {}}), no recursion, IPv4 loopback only.

    @ivar options: text added inside C{options { }}.
    @ivar extra_conf: text added at the end of C{named.conf} (keys, ACLs).
    """

    program = "named"
    label = "bind"

    def __init__(
        self,
        tmp_path: Path,
        port: int,
        zones: Sequence[PeerZone] = (),
        extra_conf: str = "",
        options: str = "",
        keys: Sequence[TsigKey] = (),
    ) -> None:
        super().__init__(tmp_path, port, zones, extra_conf, keys)
        self.options = options

    def config_path(self) -> Path:
        return self.directory / "named.conf"

    def argv(self) -> list[str]:
        return [self.executable, "-g", "-n", "2", "-c", str(self.config_path())]

    def config_text(self) -> str:
        zones = "\n".join(self._zone_statement(zone) for zone in self.zones)
        keys = "\n".join(
            f'key "{key.name}" {{ algorithm {key.algorithm}; secret "{key.secret}"; }};' for key in self.keys
        )
        return f"""\
{keys}
options {{
    directory "{self.directory}";
    pid-file none;
    session-keyfile none;
    listen-on port {self.port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    {self.options}
}};
controls {{ }};
{zones}
{self.extra_conf}
"""

    def _zone_statement(self, zone: PeerZone) -> str:
        lines = []
        key = f" key {zone.key}" if zone.key else ""
        if zone.is_secondary:
            primaries = " ".join(f"{address} port {port}{key};" for address, port in zone.primaries)
            lines += ["type secondary;", f"primaries {{ {primaries} }};", f'file "{zone.origin}db";']
            sources = " ".join(f"{address};" for address, _ in zone.primaries)
            lines.append(f"allow-notify {{ {sources} }};")
        else:
            lines += ["type primary;", f'file "{zone.file}";']
        if zone.downstreams:
            addresses = f"key {zone.key};" if zone.key else " ".join(f"{address};" for address, _ in zone.downstreams)
            notify = " ".join(f"{address} port {port}{key};" for address, port in zone.downstreams)
            lines += [
                f"allow-transfer {{ {addresses} }};",
                "notify explicit;",
                f"also-notify {{ {notify} }};",
            ]
        if zone.extra:
            lines.append(zone.extra)
        body = "\n    ".join(lines)
        return f'zone "{zone.origin}" {{\n    {body}\n}};'


class Knot(Peer):
    """Knot DNS's C{knotd}, in the foreground, with its own storage and control socket."""

    program = "knotd"
    label = "knot"

    def config_path(self) -> Path:
        return self.directory / "knot.conf"

    def argv(self) -> list[str]:
        return [self.executable, "-c", str(self.config_path())]

    def config_text(self) -> str:
        d = self.directory
        out = [
            "server:",
            f"    listen: 127.0.0.1@{self.port}",
            f'    rundir: "{d}"',
            f'    pidfile: "{d}/knot.pid"',
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            "log:",
            "  - target: stderr",
            "    any: debug",
            "database:",
            f'    storage: "{d}"',
            "control:",
            f'    listen: "{d}/knot.sock"',
        ]
        if self.keys:
            out.append("key:")
            for key in self.keys:
                out += [f"  - id: {key.name}", f"    algorithm: {key.algorithm}", f"    secret: {key.secret}"]
        remotes, acls, zones = [], [], []
        for i, zone in enumerate(self.zones):
            key = f"    key: {zone.key}" if zone.key else None
            entry = [f"  - domain: {zone.origin}", f'    storage: "{d}"']
            zone_acls = []
            if zone.is_secondary:
                ids = []
                for j, (address, port) in enumerate(zone.primaries):
                    ids.append(f"primary{i}_{j}")
                    remotes += [f"  - id: primary{i}_{j}", f"    address: {address}@{port}"] + ([key] if key else [])
                    acls += [f"  - id: notify{i}_{j}", f"    address: {address}", "    action: notify"] + ([key] if key else [])
                    zone_acls.append(f"notify{i}_{j}")
                entry += [f"    master: [{', '.join(ids)}]", f'    file: "{d}/{zone.origin}zone"', "    zonefile-sync: -1",
                          "    zonefile-load: none", "    journal-content: all"]
            else:
                entry.append(f'    file: "{zone.file}"')
            if zone.downstreams:
                ids = []
                for j, (address, port) in enumerate(zone.downstreams):
                    ids.append(f"downstream{i}_{j}")
                    remotes += [f"  - id: downstream{i}_{j}", f"    address: {address}@{port}"] + ([key] if key else [])
                    acls += [f"  - id: transfer{i}_{j}", f"    address: {address}", "    action: transfer"] + ([key] if key else [])
                    zone_acls.append(f"transfer{i}_{j}")
                entry.append(f"    notify: [{', '.join(ids)}]")
            if zone_acls:
                entry.append(f"    acl: [{', '.join(zone_acls)}]")
            if zone.extra:
                entry.append(zone.extra)
            zones += entry
        if remotes:
            out += ["remote:"] + remotes
        if acls:
            out += ["acl:"] + acls
        out += ["zone:"] + zones
        return "\n".join(out) + "\n" + self.extra_conf + "\n"


class Nsd(Peer):
    """NSD in the foreground (C{-d}), as the user running the test, response rate limiting off."""

    program = "nsd"
    label = "nsd"

    def config_path(self) -> Path:
        return self.directory / "nsd.conf"

    def argv(self) -> list[str]:
        return [self.executable, "-d", "-c", str(self.config_path())]

    def config_text(self) -> str:
        d = self.directory
        out = [
            "server:",
            f"    ip-address: 127.0.0.1@{self.port}",
            f'    zonesdir: "{d}"',
            f'    pidfile: "{d}/nsd.pid"',
            '    database: ""',
            '    username: ""',
            f'    xfrdfile: "{d}/xfrd.state"',
            f'    zonelistfile: "{d}/zone.list"',
            f'    xfrdir: "{d}"',
            "    server-count: 1",
            "    verbosity: 2",
            "    rrl-ratelimit: 0",
            "remote-control:",
            "    control-enable: no",
        ]
        for key in self.keys:
            out += ["key:", f'    name: "{key.name}"', f"    algorithm: {key.algorithm}", f'    secret: "{key.secret}"']
        for zone in self.zones:
            key = zone.key or "NOKEY"
            out += ["zone:", f"    name: {zone.origin}"]
            if zone.is_secondary:
                out.append(f'    zonefile: "{d}/{zone.origin}zone"')
                for address, port in zone.primaries:
                    out += [f"    request-xfr: {address}@{port} {key}", f"    allow-notify: {address} {key}"]
            else:
                out.append(f'    zonefile: "{zone.file}"')
            for address, port in zone.downstreams:
                out += [f"    provide-xfr: {address} {key}", f"    notify: {address}@{port} {key}"]
            if zone.extra:
                out.append(zone.extra)
        return "\n".join(out) + "\n" + self.extra_conf + "\n"


def sign_zone(
    source: Path,
    origin: str,
    directory: Path,
    nsec3_salt: str | None = None,
    opt_out: bool = False,
    algorithm: str = "ECDSAP256SHA256",
) -> Path:
    """
    Sign C{source} as zone C{origin} with a new KSK and ZSK, written in
    C{directory}: NSEC, or NSEC3 with C{nsec3_salt} (hex) and no extra
    iterations (RFC 9276).  The signed file's path.
    """
    keygen = require("dnssec-keygen")
    signzone = require("dnssec-signzone")
    directory.mkdir(parents=True, exist_ok=True)
    origin = origin.rstrip(".") + "."
    for flags in (["-f", "KSK"], []):
        _run([keygen, "-q", "-K", str(directory), "-a", algorithm, *flags, "-n", "ZONE", origin], directory)
    signed = directory / f"{origin}signed"
    argv = [signzone, "-q", "-S", "-K", str(directory), "-o", origin, "-f", str(signed)]
    if nsec3_salt is not None:
        argv += ["-3", nsec3_salt, "-H", "0"] + (["-A"] if opt_out else [])
    _run(argv + [str(source)], directory)
    return signed


def _run(argv: list[str], cwd: Path) -> str:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def knot_transfers_in(log: str, zone: str) -> list[tuple[str, int]]:
    """
    What Knot's log says C{zone} received, in order: C{("notify", serial)}
    for each NOTIFY it took, and C{("IXFR", serial)} or C{("AXFR", serial)}
    for each new version, by how it came (an IXFR answered AXFR-style counts
    as an AXFR, as Knot logs it: "receiving AXFR-style IXFR", then AXFR lines).
    """
    import re

    origin = re.escape(zone.rstrip(".") + ".")
    events: list[tuple[str, int]] = []
    kind = None
    for line in log.splitlines():
        if f"[{zone.rstrip('.')}.]" not in line:
            continue
        if match := re.search(rf"\[{origin}\] notify, incoming, remote \S+?,? serial (\d+)", line):
            events.append(("notify", int(match.group(1))))
        elif match := re.search(rf"\[{origin}\] ([AI]XFR), incoming, remote \S+ finished", line):
            kind = match.group(1)
        elif match := re.search(rf"\[{origin}\] refresh, remote \S+ zone updated, .*serial \S+ -> (\d+)", line):
            events.append((kind or "?", int(match.group(1))))
            kind = None
    return events


class PowerDns(Peer):
    """
    PowerDNS Authoritative's C{pdns_server} with the bind backend, in the
    foreground (no guardian, no daemon), no webserver, its control socket
    and pid file in its own directory, as the user running the test.

    Its zones are a C{named.conf} for the bind backend.  Its TSIG keys and
    zone metadata live in the bind backend's SQLite database, written by
    C{pdnsutil} before the server starts: C{TSIG-ALLOW-AXFR} for a zone
    with downstreams (PowerDNS signs its NOTIFYs with that key too),
    C{AXFR-MASTER-TSIG} for a secondary zone.  As a primary it answers IXFR
    with the whole zone.
    """

    program = "pdns_server"
    label = "pdns"

    def config_path(self) -> Path:
        return self.directory / "pdns.conf"

    def zones_path(self) -> Path:
        return self.directory / "named.conf"

    def argv(self) -> list[str]:
        d = self.directory
        return [
            self.executable, f"--config-dir={d}", f"--socket-dir={d}", "--guardian=no", "--daemon=no",
            "--webserver=no", "--disable-syslog=yes", "--setuid=", "--setgid=",
            f"--local-address={LOOPBACK}", f"--local-port={self.port}",
        ]

    def config_text(self) -> str:
        unsigned = sorted({address for zone in self.zones if not zone.key for address, _ in zone.downstreams})
        out = [
            "launch=bind",
            f"bind-config={self.zones_path()}",
            f"bind-dnssec-db={self.directory}/bind-dnssec.db",
            f"primary={'yes' if any(zone.downstreams for zone in self.zones) else 'no'}",
            f"secondary={'yes' if any(zone.is_secondary for zone in self.zones) else 'no'}",
            f"allow-axfr-ips={','.join(unsigned)}",
            "only-notify=",  # the also-notify targets only, never the hosts of a zone's NS records
        ]
        return "\n".join(out) + "\n" + self.extra_conf + "\n"

    def zones_text(self) -> str:
        out = [f'options {{ directory "{self.directory}"; }};']
        for zone in self.zones:
            lines = []
            if zone.is_secondary:
                masters = " ".join(f"{address}:{port};" for address, port in zone.primaries)
                lines += ["type slave;", f"masters {{ {masters} }};", f'file "{zone.origin}zone";']
            else:
                lines += ["type master;", f'file "{zone.file}";']
            if zone.downstreams:
                notify = " ".join(f"{address}:{port};" for address, port in zone.downstreams)
                lines.append(f"also-notify {{ {notify} }};")
            if zone.extra:
                lines.append(zone.extra)
            out.append(f'zone "{zone.origin}" {{\n    ' + "\n    ".join(lines) + "\n};")
        return "\n".join(out) + "\n"

    def setup_commands(self) -> list[list[str]]:
        """The C{pdnsutil} commands that put the keys and zone metadata in place."""
        pdnsutil = [require("pdnsutil"), f"--config-dir={self.directory}"]
        commands = [pdnsutil + ["create-bind-db", f"{self.directory}/bind-dnssec.db"]]
        commands += [pdnsutil + ["import-tsig-key", key.name, key.algorithm, key.secret] for key in self.keys]
        for zone in self.zones:
            if zone.key and zone.downstreams:
                commands.append(pdnsutil + ["set-meta", zone.origin, "TSIG-ALLOW-AXFR", zone.key])
            if zone.key and zone.is_secondary:
                commands.append(pdnsutil + ["set-meta", zone.origin, "AXFR-MASTER-TSIG", zone.key])
        return commands

    def start(self, timeout: float = 20.0) -> "PowerDns":
        """The zone list, the config and the metadata database written, then the server started."""
        self.zones_path().write_text(self.zones_text())
        self.config_path().write_text(self.config_text())
        if not (self.directory / "bind-dnssec.db").exists():
            for argv in self.setup_commands():
                _run(argv, self.directory)
        return super().start(timeout)

    def control(self, *command: str) -> str:
        """C{pdns_control} through this server's control socket."""
        return _run([require("pdns_control"), f"--config-dir={self.directory}", f"--socket-dir={self.directory}", *command], self.directory)

    def reload(self) -> None:
        """Read each primary zone's file again and NOTIFY its downstreams now."""
        for zone in self.zones:
            if not zone.is_secondary:
                self.control("bind-reload-now", zone.origin)
                if zone.downstreams:
                    self.control("notify", zone.origin)
