# -*- test-case-name: tests.integration.test_workers -*-
"""
C{[server] workers = N}: N processes answer UDP and TCP queries on each
C{listen} address; this one (the main process) and N-1 workers
(L{secdns.worker}).

The main process binds N UDP sockets and N listening TCP sockets with
SO_REUSEPORT on each address (L{ReusePortUDP}, L{ReusePortTCP}, in
C{privilegedStartService}, before privileges drop), serves one of each
itself and hands one of each to each worker as an inherited descriptor;
the kernel spreads clients over the sockets by their address and port.
Everything else stays in the main process: the zone core, transfers,
NOTIFY, UPDATE, timers, the API.  The response rate limiter's
buckets are one table in shared memory (L{secdns.server.rrltable}), which
every worker maps from a descriptor it inherits too.

L{WorkerPool} starts the workers (C{python -m secdns.worker}), restarts one
that dies, stops them at shutdown, and tells them (on their standard input,
L{secdns.server.workerlink}) the settings, the zone set and each version
the main process commits; a worker reads that version from the store
itself.  It takes back what a worker does not answer (NOTIFY, UPDATE,
TSIG-signed requests, transfers: L{workerlink.must_forward}), answered here
through this process's own socket on the same address, and the workers'
counters, summed into the metrics (L{WorkerCollector}).  A TCP connection
that brings such a request the worker hands over whole, on a Unix socket
pair made for it at its start (L{secdns.server.workerstream}); the main
process adopts it (L{adopt_connection}).
"""

from __future__ import annotations

import collections
import json
import os
import socket
import sys
from typing import Callable, Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from twisted.application import service
from twisted.internet import defer, main as reactor_main, protocol, task
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IReadDescriptor
from twisted.logger import Logger
from zope.interface import implementer

from secdns.config import Endpoint
from secdns.server.protocol import RECEIVE_BUFFER, DNSDatagramProtocol, DNSStreamFactory
from secdns.server.workerlink import (
    COUNTS, FORWARD, SERVING, FrameReader, HandOvers, Sent, encode, read_forward, serves,
)

__all__ = [
    "ReusePortUDP", "ReusePortTCP", "WorkerPool", "WorkerCollector", "CountingDatagramProtocol", "adopt_connection",
]

log = Logger()

#: Seconds before a worker that died is started again; doubled (up to
#: L{RESTART_MAX}) while workers keep dying within L{STABLE} seconds.
RESTART_DELAY = 0.2
RESTART_MAX = 30.0
STABLE = 10.0
#: Seconds a worker gets to exit at shutdown before it is killed.
STOP_TIMEOUT = 5.0
#: Seconds a new version's NOTIFY waits at most for every worker to serve it.
NOTIFY_HOLD = 3.0
#: Seconds between checks of the zones' expiry (versions are sent as committed).
SYNC_INTERVAL = 1.0
#: Connections waiting to be accepted on each listening TCP socket (Twisted's default).
TCP_BACKLOG = 50


class CountingDatagramProtocol(DNSDatagramProtocol):
    """L{DNSDatagramProtocol} counting the datagrams it receives (per process, in the metrics)."""

    received = 0

    def datagramReceived(self, datagram: bytes, addr) -> None:
        self.received += 1
        DNSDatagramProtocol.datagramReceived(self, datagram, addr)

    def forwarded(self, datagram: bytes, addr) -> None:
        """A datagram a worker received and did not answer: answered from here, through this socket."""
        DNSDatagramProtocol.datagramReceived(self, datagram, addr)


class _ReusePort(service.Service):
    """
    C{count} sockets of one kind bound to one address with SO_REUSEPORT:
    the first served here by C{served}, the others (L{spare}) for the
    workers.
    """

    kind: int  # socket.SOCK_DGRAM or socket.SOCK_STREAM

    def __init__(self, endpoint: Endpoint, served, count: int, reactor) -> None:
        self.endpoint = endpoint
        self.served = served
        self.count = count
        self.reactor = reactor
        self.spare: list[socket.socket] = []
        self.port = None

    def privilegedStartService(self) -> None:
        service.Service.privilegedStartService(self)
        host, port = self.endpoint.host, self.endpoint.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sockets = []
        try:
            for _ in range(self.count):
                s = socket.socket(family, self.kind)
                sockets.append(s)
                self._options(s)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                s.setblocking(False)
                s.bind((host, port))
                port = s.getsockname()[1]  # port 0: the others join the first's
            self._bound(sockets)
        except OSError as e:
            for s in sockets:
                s.close()
            raise CannotListenError(host, port, e) from None
        self.port = self._adopt(sockets[0].fileno(), family)
        sockets[0].close()  # the port has its own copy
        self.spare = sockets[1:]

    def _options(self, s: socket.socket) -> None:
        """Options set on each socket before it is bound."""

    def _bound(self, sockets: list[socket.socket]) -> None:
        """What is done with the sockets once all are bound."""

    def _adopt(self, fd: int, family: int):
        raise NotImplementedError

    def startService(self) -> None:
        service.Service.startService(self)

    def stopService(self):
        service.Service.stopService(self)
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()


class ReusePortUDP(_ReusePort):
    """UDP sockets with SO_REUSEPORT (L{_ReusePort}), the first served by a L{DNSDatagramProtocol}."""

    kind = socket.SOCK_DGRAM

    def _options(self, s: socket.socket) -> None:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        except OSError:
            pass

    def _adopt(self, fd: int, family: int):
        return self.reactor.adoptDatagramPort(fd, family, self.served)


class ReusePortTCP(_ReusePort):
    """
    Listening TCP sockets with SO_REUSEPORT (L{_ReusePort}), the first
    served by a L{DNSStreamFactory}.  A spare one is listening from the
    start: connections the kernel gives it wait in its backlog until its
    worker accepts them.
    """

    kind = socket.SOCK_STREAM

    def _options(self, s: socket.socket) -> None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Twisted's own TCP ports

    def _bound(self, sockets: list[socket.socket]) -> None:
        for s in sockets:
            s.listen(TCP_BACKLOG)

    def _adopt(self, fd: int, family: int):
        return self.reactor.adoptStreamPort(fd, family, self.served)


def adopt_connection(reactor, factory: DNSStreamFactory, fd: int, data: bytes) -> None:
    """
    Serve here a client's TCP connection a worker handed over: descriptor
    C{fd} (closed here: the reactor keeps its own copy) and C{data}, the
    bytes the worker read from it and did not answer, fed to the new
    protocol as if just read.  Past this process's client limits, the
    connection is closed as a new one would be.
    """
    built = []

    class _Remember(protocol.ServerFactory):
        def buildProtocol(self, addr):
            stream = factory.buildProtocol(addr)
            built.append(stream)
            return stream

    try:
        with socket.socket(fileno=fd) as s:
            s.setblocking(False)
            reactor.adoptStreamConnection(s.fileno(), s.family, _Remember())
    except OSError as e:
        log.info("a TCP connection handed over by a worker is gone: {error}", error=e)
        return
    stream = built[0] if built else None
    if stream is not None and data and stream.transport.connected:
        stream.dataReceived(data)


@implementer(IReadDescriptor)
class _HandOverReader:
    """The main process's end of a worker's hand-over socket, in the reactor."""

    def __init__(self, reactor, sock: socket.socket, number: int, take: Callable[[int, bytes], None]) -> None:
        self.reactor = reactor
        self.sock = sock
        self.number = number
        self.take = take
        self.handovers = HandOvers()
        sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    def logPrefix(self) -> str:
        return f"worker {self.number} hand-over"

    def doRead(self):
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, 65536, 8)
        except BlockingIOError:
            return None
        except OSError as e:
            return e
        if not data:
            for fd in fds:
                os.close(fd)
            return reactor_main.CONNECTION_DONE
        try:
            taken = self.handovers.feed(data, fds)
        except ValueError as e:
            log.error("worker {number}'s hand-over socket: {error}; closing it", number=self.number, error=e)
            return reactor_main.CONNECTION_LOST
        for fd, unanswered in taken:
            self.take(fd, unanswered)
        return None

    def connectionLost(self, reason) -> None:
        self.close()

    def close(self) -> None:
        self.reactor.removeReader(self)
        for fd in self.handovers.descriptors:
            os.close(fd)
        self.handovers.descriptors = []
        self.sock.close()


class _WorkerProcess(protocol.ProcessProtocol):
    """One worker as the main process sees it: its pipes, its counters."""

    def __init__(self, pool: "WorkerPool", number: int) -> None:
        self.pool = pool
        self.number = number
        self.frames = FrameReader()
        self.sent = Sent()
        self.counts: dict = {}
        self.serving: dict[str, int | None] = {}  # zone to the serial it serves, as the worker said
        self.started_at = pool.reactor.seconds()
        self.ended = defer.Deferred()
        self.handover: _HandOverReader | None = None
        self._errors = b""

    @property
    def pid(self) -> int | None:
        return None if self.transport is None else self.transport.pid

    def connectionMade(self) -> None:
        self.pool.sync_one(self)

    def childDataReceived(self, fd: int, data: bytes) -> None:
        if fd == 2:
            self._errors += data
            *lines, self._errors = self._errors.split(b"\n")
            for line in lines:
                if line.strip():
                    log.info("worker {number}: {line}", number=self.number, line=line.decode("utf-8", "replace"))
            return
        try:
            frames = self.frames.feed(data)
        except ValueError as e:
            log.error("worker {number}: {error}; stopping it", number=self.number, error=e)
            self.transport.signalProcess("KILL")
            return
        for kind, payload in frames:
            if kind == FORWARD:
                self.pool.forwarded(*read_forward(payload))
            elif kind == COUNTS:
                self.counts = json.loads(payload)
                self.serving.update(self.counts.get("serials") or {})
                self.pool.release()
            elif kind == SERVING:
                served = json.loads(payload)
                self.serving[served["zone"]] = served["serial"]
                self.pool.release()

    def send(self, messages: list[dict]) -> None:
        if messages and self.transport is not None:
            self.transport.write(encode(messages))

    def processEnded(self, reason) -> None:
        if self.handover is not None:
            self.handover.close()
            self.handover = None
        self.pool.ended(self, reason)
        self.ended.callback(None)


class WorkerPool(service.Service):
    """
    The worker processes (numbered 1 to N-1; the main process is 0).

    @ivar udp: the L{ReusePortUDP} of each listen address, in order: worker
        i gets the i-th spare socket of each.
    @ivar tcp: the L{ReusePortTCP} of each listen address, the same way.
    @ivar take: serves here a TCP connection a worker handed over:
        (descriptor, unanswered bytes); L{None}: no TCP in the workers.
    @ivar state: what the workers must serve now: C{(settings, zones)} as
        L{Sent.messages} takes them.
    @ivar forward: answers a datagram a worker forwarded: (listen index,
        datagram, client address).
    @ivar rrl_table: the descriptor of the rate limiter's shared buckets
        (L{secdns.server.rrltable}), handed to each worker; L{None}: none.
    """

    def __init__(
        self,
        reactor,
        count: int,
        udp: list[ReusePortUDP],
        store_path: Callable[[], str],
        state: Callable[[], tuple[Mapping, Mapping]],
        forward: Callable[[int, bytes, tuple], None],
        rrl_table: int | None = None,
        tcp: list[ReusePortTCP] = (),
        take: Callable[[int, bytes], None] | None = None,
    ) -> None:
        self.reactor = reactor
        self.rrl_table = rrl_table
        self.count = count
        self.udp = udp
        self.tcp = list(tcp)
        self.take = take
        self.store_path = store_path
        self.state = state
        self.forward = forward
        self.processes: dict[int, _WorkerProcess] = {}
        #: counters of workers that ended, so that the sums never go back
        self.before: dict[int, dict] = collections.defaultdict(dict)
        self.restarts = 0
        self._delay = RESTART_DELAY
        self._pending: dict[int, object] = {}
        self._held: list[tuple[str, int, defer.Deferred, object]] = []  # NOTIFYs waiting (serving)
        self._stopping = False
        self.ready = False  # every zone read at start: the workers may answer
        self._sync_soon = None
        self._loop = task.LoopingCall(self.sync)
        self._loop.clock = reactor

    # -- life cycle

    def startService(self) -> None:
        service.Service.startService(self)
        self._stopping = False
        for number in range(1, self.count):
            self._spawn(number)
        self._loop.start(SYNC_INTERVAL, now=False)

    def _spawn(self, number: int) -> None:
        self._pending.pop(number, None)
        fds = [udp.spare[number - 1].fileno() for udp in self.udp]
        tcp = [listening.spare[number - 1].fileno() for listening in self.tcp]
        child = {0: "w", 1: "r", 2: "r"}
        child.update({3 + i: fd for i, fd in enumerate(fds + tcp)})
        argv = [sys.executable, "-m", "secdns.worker", "--number", str(number), "--store", self.store_path(),
                "--sockets", str(len(fds)), "--tcp-sockets", str(len(tcp))]
        next_fd = 3 + len(fds) + len(tcp)  # the descriptors after the sockets, each named on the command line
        ours = theirs = None
        if tcp and self.take is not None:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            child[next_fd] = theirs.fileno()
            argv += ["--handover", str(next_fd)]
            next_fd += 1
        if self.rrl_table is not None:
            child[next_fd] = self.rrl_table
            argv += ["--rrl-table", str(next_fd)]
        process = _WorkerProcess(self, number)
        self.processes[number] = process
        try:
            self.reactor.spawnProcess(process, sys.executable, argv, env=dict(os.environ), childFDs=child)
        finally:
            if theirs is not None:
                theirs.close()  # the worker has it now
        if ours is not None:
            process.handover = _HandOverReader(self.reactor, ours, number, self.take)
            self.reactor.addReader(process.handover)
        log.info("worker {number} started (pid {pid})", number=number, pid=process.pid)

    def ended(self, process: _WorkerProcess, reason) -> None:
        number = process.number
        if self.processes.get(number) is process:
            del self.processes[number]
        self.release()  # a worker gone holds no NOTIFY (one started again answers once it has read every version)
        self.before[number] = _add(self.before[number], process.counts)
        if self._stopping:
            return
        self.restarts += 1
        lived = self.reactor.seconds() - process.started_at
        self._delay = RESTART_DELAY if lived >= STABLE else min(self._delay * 2, RESTART_MAX)
        delay = RESTART_DELAY if lived >= STABLE else self._delay
        log.warn(
            "worker {number} (pid {pid}) ended: {reason}; starting it again in {delay:.1f} s",
            number=number, pid=process.pid, reason=reason.getErrorMessage(), delay=delay,
        )
        self._pending[number] = self.reactor.callLater(delay, self._spawn, number)

    def stopService(self):
        service.Service.stopService(self)
        self._stopping = True
        if self._loop.running:
            self._loop.stop()
        for call in self._pending.values():
            if call.active():
                call.cancel()
        self._pending = {}
        if self._sync_soon is not None and self._sync_soon.active():
            self._sync_soon.cancel()
        held, self._held = self._held, []
        for _, _, deferred, timeout in held:
            timeout.cancel()
            deferred.callback(None)
        ending = []
        for process in list(self.processes.values()):
            ending.append(process.ended)
            try:
                process.transport.signalProcess("TERM")
            except Exception:  # already gone
                pass
            killer = self.reactor.callLater(STOP_TIMEOUT, _kill, process)
            process.ended.addBoth(lambda result, killer=killer: killer.cancel() if killer.active() else None)
        return defer.DeferredList(ending)

    # -- telling the workers

    def changed(self) -> None:
        """Something the workers serve changed: tell them in this reactor turn's end."""
        if self._sync_soon is None or not self._sync_soon.active():
            self._sync_soon = self.reactor.callLater(0, self.sync)

    def go(self) -> None:
        """
        The main process has read every zone at its start: the workers
        read their sockets once they have loaded those versions.  Till
        then, queries to their sockets wait there (a worker answers no
        SERVFAIL for a zone the main process serves).
        """
        self.ready = True
        self.sync()

    def sync(self) -> None:
        settings, zones = self.state()
        for process in list(self.processes.values()):
            process.send(process.sent.messages(settings, zones, self.ready))

    def sync_one(self, process: _WorkerProcess) -> None:
        settings, zones = self.state()
        process.send(process.sent.messages(settings, zones, self.ready))

    # -- NOTIFY held till the workers serve the version

    def serving(self, zone: str, serial: int) -> defer.Deferred | None:
        """
        A Deferred that fires once every running worker serves C{serial}
        of C{zone} (or a later one), or after L{NOTIFY_HOLD} seconds; the
        commit path holds the version's NOTIFY on it.  L{None}: no worker
        answers yet, nothing to wait for.
        """
        if not self.ready or not self.processes:
            return None
        held = defer.Deferred()
        timeout = self.reactor.callLater(NOTIFY_HOLD, self._held_too_long, held, zone, serial)
        self._held.append((zone, serial, held, timeout))
        self.release()
        return held

    def release(self) -> None:
        """Fire the holds every running worker has caught up with."""
        serving = [process.serving for process in self.processes.values()]
        for entry in list(self._held):
            zone, serial, held, timeout = entry
            if all(serves(s, zone, serial) for s in serving):
                self._held.remove(entry)
                timeout.cancel()
                held.callback(None)

    def _held_too_long(self, held: defer.Deferred, zone: str, serial: int) -> None:
        self._held = [entry for entry in self._held if entry[2] is not held]
        late = sorted(n for n, p in self.processes.items() if not serves(p.serving, zone, serial))
        log.warn(
            "zone {zone}: serial {serial} not served by worker {late} after {hold:g} s; notifying anyway",
            zone=zone.rstrip(".") or ".", serial=serial, late=", ".join(map(str, late)), hold=NOTIFY_HOLD,
        )
        held.callback(None)

    def forwarded(self, index: int, addr, datagram: bytes) -> None:
        if 0 <= index < len(self.udp):
            self.forward(index, datagram, addr)

    # -- what the metrics show

    def totals(self) -> dict[int, dict]:
        """Each worker's counters since secdns started (restarts included)."""
        numbers = set(self.before) | set(self.processes)
        return {
            n: _add(self.before.get(n, {}), self.processes[n].counts if n in self.processes else {}) for n in numbers
        }

    def summed(self, key: str) -> int:
        """A counter summed over the workers."""
        return sum(counts.get(key, 0) for counts in self.totals().values())

    def summed_by(self, key: str) -> collections.Counter:
        """A counter with labels (a mapping) summed over the workers."""
        total: collections.Counter = collections.Counter()
        for counts in self.totals().values():
            total.update(counts.get(key) or {})
        return total

    def pids(self) -> dict[int, int]:
        return {n: p.pid for n, p in self.processes.items() if p.pid is not None}


def _kill(process: _WorkerProcess) -> None:
    try:
        process.transport.signalProcess("KILL")
    except Exception:
        pass


def _add(a: Mapping, b: Mapping) -> dict:
    """Counters added key by key (numbers, or mappings of numbers)."""
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, dict):
            merged = dict(out.get(key) or {})
            for k, v in value.items():
                merged[k] = merged.get(k, 0) + v
            out[key] = merged
        elif isinstance(value, (int, float)):
            out[key] = out.get(key, 0) + value
    return out


class WorkerCollector:
    """The processes answering UDP and TCP, and the queries and connections each received."""

    def __init__(
        self, pool: WorkerPool, main_queries: Callable[[], int], main_streams: Callable[[], DNSStreamFactory | None] = lambda: None
    ) -> None:
        self.pool = pool
        self.main_queries = main_queries
        self.main_streams = main_streams

    def collect(self) -> Iterator:
        workers = GaugeMetricFamily(
            "secdns_workers", "Processes answering UDP and TCP queries now: the main process and its running workers."
        )
        workers.add_metric([], 1 + len(self.pool.processes))
        yield workers
        restarts = CounterMetricFamily("secdns_worker_restarts", "Worker processes started again after they ended.")
        restarts.add_metric([], self.pool.restarts)
        yield restarts
        streams = self.main_streams()
        totals = sorted(self.pool.totals().items())
        for key, own, name, text in (
            ("queries", self.main_queries, "secdns_worker_udp_queries",
             "UDP datagrams received, by process (0: the main process; 1 to workers-1: the workers)."),
            ("tcp_queries", lambda: 0 if streams is None else streams.queries, "secdns_worker_tcp_queries",
             "TCP requests read, by process (0: the main process, with those on connections the workers handed over)."),
            ("tcp_connections", lambda: 0 if streams is None else streams.accepted, "secdns_worker_tcp_connections",
             "TCP connections served, by process (0: the main process, with those the workers handed over)."),
        ):
            family = CounterMetricFamily(name, text, labels=["worker"])
            family.add_metric(["0"], own())
            for number, counts in totals:
                family.add_metric([str(number)], counts.get(key, 0))
            yield family
        forwarded = CounterMetricFamily(
            "secdns_worker_forwarded",
            "Datagrams the workers passed to the main process to answer (NOTIFY, UPDATE, TSIG, transfers).",
        )
        forwarded.add_metric([], self.pool.summed("forwarded"))
        yield forwarded
        handed = CounterMetricFamily(
            "secdns_worker_tcp_handed_over",
            "TCP connections the workers handed to the main process whole, at a request it answers "
            "(transfers, NOTIFY, UPDATE, TSIG).",
        )
        handed.add_metric([], self.pool.summed("tcp_handed_over"))
        yield handed
