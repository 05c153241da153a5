# -*- test-case-name: tests.integration.test_workers -*-
"""
C{python -m secdns.worker}: one worker of C{[server] workers = N},
started by the main process (L{secdns.server.workers.WorkerPool}), never
by hand.

It answers plain queries over UDP and TCP on the sockets it inherits
(descriptors 3, 4, ...: one UDP socket per C{listen} address, then one
listening TCP socket per address, all bound by the main process with
SO_REUSEPORT) from its own L{QueryHandler}, over a L{ZoneDB} of the versions
the main process commits: told on its standard input that a zone has a new
version (L{secdns.server.workerlink}), it reads it from the store (a
read-only SQLite connection, in a thread) and swaps it in whole.  Whatever
else comes to its UDP sockets (NOTIFY, UPDATE, TSIG, transfers) it writes
to its standard output for the main process to answer, with its counters
every few seconds; a TCP connection bringing such a message it hands to
the main process whole, on its hand-over socket
(L{secdns.server.workerstream}).  Its response rate limiter keeps its
buckets in the table every process shares (L{secdns.server.rrltable}),
mapped from the descriptor C{--rrl-table} names.  Its log lines go to
standard error, which the main process logs.  It ends when its standard
input closes (the main process is gone) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import json
import os
import signal
import socket
import sqlite3
import sys
import urllib.parse

import dns.name
from twisted.internet import stdio, task, threads
from twisted.logger import LogLevel, formatEvent, globalLogBeginner, Logger
from twisted.protocols.basic import LineReceiver

from secdns import heap
from secdns.config import PRIMARY, ZoneConfig
from secdns.server.cookies import Cookies
from secdns.server.dispatch import QueryHandler
from secdns.server.protocol import DNSDatagramProtocol
from secdns.server.rrl import RateLimiter, rate_limiter
from secdns.server.rrltable import SharedBuckets
from secdns.server.workerstream import WorkerStreamFactory, send_connection
from secdns.server.workerlink import COUNTS, FORWARD, SERVING, forward_payload, frame, must_forward
from secdns.store.snapshot import RRSETS_FORMAT, load_owners, load_rrsets
from secdns.store.database import build_zone
from secdns.zones.version import ZoneData, from_owners
from secdns.zones.zone import Zone
from secdns.zones.zonemap import ZoneDB

__all__ = ["Worker", "StoreReader", "main"]

log = Logger()

#: prctl(2)'s option: the signal this process gets when its parent ends.
_PR_SET_PDEATHSIG = 1
#: Seconds between counter reports to the main process.
REPORT_INTERVAL = 2.0


class StoreReader:
    """Zone versions read from the store: a read-only connection (WAL lets it read while the main process writes)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def read(self, name: dns.name.Name) -> ZoneData | None:
        """The stored version of zone C{name} (L{None}: none stored); called from one thread at a time."""
        if self._db is None:
            uri = "file:" + urllib.parse.quote(self.path) + "?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        rows = self._db.execute(
            "SELECT snapshot, format, records FROM zone WHERE name = ?", (name.canonicalize().to_text(),)
        ).fetchall()  # all: the read transaction ends here
        if not rows:
            return None
        blob, snapshot_format, records = rows[0]
        if snapshot_format == RRSETS_FORMAT:
            return build_zone(name, load_rrsets(blob))
        owners, cased = load_owners(name, blob)
        return from_owners(name, owners, cased, records)


class WorkerDatagramProtocol(DNSDatagramProtocol):
    """Answers plain queries here; hands the rest (L{must_forward}) to the main process."""

    def __init__(self, handler: QueryHandler, rrl, index: int, forward) -> None:
        super().__init__(handler, rrl)
        self.index = index
        self.forward = forward
        self.received = 0
        self.forwarded = 0

    def datagramReceived(self, datagram: bytes, addr) -> None:
        self.received += 1
        if must_forward(datagram):
            self.forwarded += 1
            self.forward(self.index, addr, datagram)
            return
        DNSDatagramProtocol.datagramReceived(self, datagram, addr)


class Control(LineReceiver):
    """The pipes to the main process: its messages in (lines), frames out."""

    delimiter = b"\n"
    MAX_LENGTH = 256 * 2**20  # the zone set of a very big server is one line

    def __init__(self, worker: "Worker") -> None:
        self.worker = worker

    def lineReceived(self, line: bytes) -> None:
        try:
            self.worker.message(json.loads(line))
        except Exception:
            log.failure("cannot take a message from the main process")

    def connectionLost(self, reason) -> None:
        self.worker.main_gone()


class Worker:
    """
    The worker's state: the zones (by name, with the trailing dot), the
    handler answering from them, the versions still to read.
    """

    def __init__(
        self, reactor, number: int, store: StoreReader, descriptors: list[int], in_thread=None,
        rrl_table: SharedBuckets | None = None,
        tcp_descriptors: list[int] = (), handover: socket.socket | None = None,
    ) -> None:
        self.reactor = reactor
        self.rrl_table = rrl_table
        self.number = number
        self.store = store
        self.descriptors = descriptors
        self.tcp_descriptors = list(tcp_descriptors)
        self.handover = handover
        self.in_thread = in_thread or (lambda f, *a: threads.deferToThread(f, *a))
        self.handler = QueryHandler(ZoneDB.of([]), clock=reactor)
        # Its idle timeout and limits come with the settings.
        self.streams = WorkerStreamFactory(self.handler, 10.0, reactor, self.hand_over)
        self.zones: dict[str, Zone] = {}
        self.expired: dict[str, bool] = {}
        self.rrl: RateLimiter | None = None
        self.protocols: list[WorkerDatagramProtocol] = []
        self.ports = []
        self.control: Control | None = None
        self._wanted: dict[str, int] = {}  # zone -> serial announced, to read
        self._loading = False
        self._go = False
        self._past_rrl: collections.Counter = collections.Counter()
        self._past_cookies: collections.Counter = collections.Counter()
        self._report = task.LoopingCall(self.report)
        self._report.clock = reactor

    # -- messages from the main process

    def message(self, message: dict) -> None:
        if "settings" in message:
            self.settings(message["settings"])
        elif "zones" in message:
            self.set_zones(message["zones"])
        elif "version" in message:
            self._wanted.pop(message["version"], None)
            self._wanted[message["version"]] = message["serial"]
            self._next()
        elif message.get("go"):
            self._go = True
            self._maybe_listen()

    def settings(self, settings: dict) -> None:
        handler = self.handler
        if handler.max_udp_size != settings["max_udp_size"]:
            handler.max_udp_size = settings["max_udp_size"]
        limit = settings.get("rate_limit")
        if self.rrl is not None:
            self._past_rrl.update(self.rrl.counts)
        self.rrl = rate_limiter(limit, self.rrl_table)  # the same buckets as every other process
        for datagrams in self.protocols:
            datagrams.rrl = self.rrl
        secrets = settings.get("cookies")
        if handler.cookies is not None:
            self._past_cookies.update(handler.cookies.counts)
        handler.cookies = None if secrets is None else Cookies(tuple(bytes.fromhex(s) for s in secrets))
        streams = self.streams
        streams.idle_timeout = settings.get("tcp_idle_timeout", streams.idle_timeout)
        streams.max_clients = settings.get("tcp_clients", streams.max_clients)
        streams.max_per_address = settings.get("tcp_clients_per_address", streams.max_per_address)

    def set_zones(self, pairs: list) -> None:
        wanted = dict(pairs)
        changed = wanted.keys() != self.zones.keys()
        for name in [name for name in self.zones if name not in wanted]:
            del self.zones[name]
            self._wanted.pop(name, None)
        for name in wanted:
            if name not in self.zones:
                self.zones[name] = Zone(ZoneConfig(name=dns.name.from_text(name), type=PRIMARY))
        self.expired = wanted
        for name, zone in self.zones.items():
            zone.expired = wanted[name]
        if changed:
            self.handler.zonedb = ZoneDB.of(self.zones.values())

    # -- reading versions, one at a time

    def _next(self) -> None:
        if self._loading or not self._wanted:
            return
        name = next(iter(self._wanted))
        serial = self._wanted.pop(name)
        self._loading = True
        # As the main process builds versions (secdns.heap): the collector
        # held off while the version is read, what it made frozen after.
        self.in_thread(heap.built, self.store.read, dns.name.from_text(name)).addCallbacks(
            self._loaded, self._failed, callbackArgs=(name, serial), errbackArgs=(name,)
        ).addBoth(self._done)

    def _loaded(self, data: ZoneData | None, name: str, serial: int) -> None:
        zone = self.zones.get(name)
        if zone is None:
            return  # removed meanwhile
        if data is None:
            log.warn("zone {zone}: serial {serial} announced but no version stored", zone=name, serial=serial)
            return
        zone.swap(data)  # the one assignment: a query sees the old version or the new
        zone.expired = self.expired.get(name, False)
        if self.control is not None:  # the main process holds its NOTIFY till then
            self.control.transport.write(frame(SERVING, json.dumps({"zone": name, "serial": data.serial}).encode()))

    def _failed(self, failure, name: str) -> None:
        log.failure("zone {zone}: cannot read its version from the store", failure, zone=name)

    def _done(self, _) -> None:
        self._loading = False
        self._next()
        self._maybe_listen()

    # -- the sockets

    def _maybe_listen(self) -> None:
        if not self._go or self.ports or self._loading or self._wanted:
            return
        for index, fd in enumerate(self.descriptors):
            inherited = socket.socket(fileno=fd)
            datagrams = WorkerDatagramProtocol(self.handler, self.rrl, index, self.forward)
            self.protocols.append(datagrams)
            self.ports.append(self.reactor.adoptDatagramPort(inherited.fileno(), inherited.family, datagrams))
            inherited.close()  # the port has its own copy
        for fd in self.tcp_descriptors:
            inherited = socket.socket(fileno=fd)
            self.ports.append(self.reactor.adoptStreamPort(inherited.fileno(), inherited.family, self.streams))
            inherited.close()
        self._report.start(REPORT_INTERVAL, now=False)
        log.info("answering ({count} zones)", count=len(self.zones))

    def forward(self, index: int, addr, datagram: bytes) -> None:
        if self.control is not None:
            self.control.transport.write(frame(FORWARD, forward_payload(index, addr, datagram)))

    def hand_over(self, fd: int, data: bytes) -> None:
        """A TCP connection (descriptor C{fd}) and its unanswered bytes, to the main process."""
        if self.handover is None:
            raise OSError("no hand-over socket")
        send_connection(self.handover, fd, data)

    def counts(self) -> dict:
        rrl = collections.Counter(self._past_rrl)
        if self.rrl is not None:
            rrl.update(self.rrl.counts)
        cookies = collections.Counter(self._past_cookies)
        if self.handler.cookies is not None:
            cookies.update(self.handler.cookies.counts)
        return {
            "queries": sum(p.received for p in self.protocols),
            "forwarded": sum(p.forwarded for p in self.protocols),
            "lost": sum(p.lost for p in self.protocols),
            "tcp_queries": self.streams.queries,
            "tcp_connections": self.streams.accepted,
            "tcp_handed_over": self.streams.handed_over,
            "tcp_stalled": self.streams.stalled,
            "tcp_limited": dict(self.streams.limited),
            "rate_limited": dict(rrl),
            "cookies": dict(cookies),
            "serials": {name: zone.serial for name, zone in self.zones.items()},
        }

    def report(self) -> None:
        if self.control is not None:
            self.control.transport.write(frame(COUNTS, json.dumps(self.counts()).encode()))

    def main_gone(self) -> None:
        if self.reactor.running:
            self.reactor.stop()


def _log_to_stderr(event) -> None:
    if event.get("log_level") not in (LogLevel.info, LogLevel.warn, LogLevel.error, LogLevel.critical):
        return
    text = formatEvent(event)
    failure = event.get("log_failure")
    if failure is not None:
        text += "\n" + failure.getTraceback()
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _end_with_the_main_process() -> None:
    """
    Linux: be killed when the main process ends (PR_SET_PDEATHSIG), even
    wedged.  The closing of standard input ends a worker that runs; this
    ends one that cannot read it, which would otherwise keep its sockets in
    the SO_REUSEPORT groups of a secdns started again on the same addresses.
    """
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux
        return
    if os.getppid() != parent:  # the main process ended meanwhile: no signal will come
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m secdns.worker", description="A worker of secdns, answering UDP and TCP (started by secdns).")
    parser.add_argument("--number", type=int, required=True)
    parser.add_argument("--store", required=True, help="the store's SQLite file")
    parser.add_argument("--sockets", type=int, required=True, help="UDP sockets inherited, from descriptor 3 on")
    parser.add_argument("--rrl-table", type=int, help="the descriptor of the rate limiter's shared buckets")
    parser.add_argument("--tcp-sockets", type=int, default=0, help="listening TCP sockets inherited, after the UDP ones")
    parser.add_argument("--handover", type=int, help="descriptor of the Unix socket to hand TCP connections over on")
    args = parser.parse_args(argv)
    _end_with_the_main_process()
    # The main process decides when workers end: a terminal's Ctrl-C or
    # hangup reaches the whole process group, and SIGHUP is a reload.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    globalLogBeginner.beginLoggingTo([_log_to_stderr], redirectStandardIO=False)
    import dns.rdata

    dns.rdata.load_all_types()
    from twisted.internet import reactor

    table = None if args.rrl_table is None else SharedBuckets.attach(args.rrl_table)
    udp = [3 + i for i in range(args.sockets)]
    tcp = [3 + args.sockets + i for i in range(args.tcp_sockets)]
    handover = None
    if args.handover is not None:
        handover = socket.socket(fileno=args.handover)
        handover.setblocking(True)  # a hand-over is written whole; the main process reads it at once
    worker = Worker(reactor, args.number, StoreReader(args.store), udp, tcp_descriptors=tcp, handover=handover,
                    rrl_table=table)
    worker.control = Control(worker)
    stdio.StandardIO(worker.control, stdin=0, stdout=1, reactor=reactor)
    reactor.run()


if __name__ == "__main__":
    main()
