"""Zone transfers out: who gets them, what they carry, how they are cut into messages."""

from __future__ import annotations

import gc
import struct
import threading
import weakref

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import pytest
import dns.zone
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from secdns.wire import tsig
from secdns.config import PRIMARY, PeerConfig, TsigKeyConfig, ZoneConfig
from secdns.zones.journal import Changeset, chain_from, diff
from secdns.server.protocol import DNSStreamFactory
from secdns.server.dispatch import QueryHandler, Request
from secdns.server import transfer_out
from secdns.server.transfer_out import TransferServer, keep_transfer_blocks, transfer_blocks
from secdns.zones.zone import Zone
from secdns.zones.version import from_zone
from secdns.zones.zonemap import ZoneDB

ORIGIN = dns.name.from_text("example.org.")
KEY = tsig.Key.from_config(TsigKeyConfig(dns.name.from_text("transfer-key."), "hmac-sha256", b"s" * 32))
HEAD = "@ 300 SOA ns1 hostmaster {serial} 3600 600 86400 60\n@ 300 NS ns1\nns1 300 A 192.0.2.1\n"


def version(serial: int, names: int = 10, extra: str = ""):
    body = "".join(f"host{i} 300 TXT \"{'x' * 100} {i}\"\n" for i in range(names))
    return from_zone(dns.zone.from_text(HEAD.format(serial=serial) + body + extra, origin=ORIGIN, relativize=False))


def make_zone(data, key: bool = False) -> Zone:
    downstream = PeerConfig("127.0.0.1", tsig_key=KEY.name if key else None)
    return Zone(ZoneConfig(ORIGIN, PRIMARY, file="x", external_downstreams=(downstream,)), data)


def history(journal: list[Changeset]):
    """A TransferServer's history, read from an in-memory journal as the store reads its own."""
    def since(zone, serial, current):
        start = chain_from([(c.serial_from, c.serial_to) for c in journal], serial, current)
        return None if start is None else journal[start:]
    return since


def make_handler(zone: Zone, journal=()) -> tuple[QueryHandler, TransferServer]:
    server = TransferServer(history(list(journal)), max_transfers=2)
    clock = Clock()
    clock.advance(1_000_000)
    handler = QueryHandler(ZoneDB.of([zone]), keyring=tsig.Keyring({KEY.name: KEY}), clock=clock)
    handler.handlers[dns.rdatatype.AXFR] = server
    handler.handlers[dns.rdatatype.IXFR] = server
    return handler, server


TCP = Request("127.0.0.1", 40000, True)
UDP = Request("127.0.0.1", 40000, False)


def messages_of(response) -> list[dns.message.Message]:
    wires = [response] if isinstance(response, bytes) else list(response)
    return [dns.message.from_wire(w, keyring=False, xfr=True, origin=ORIGIN) for w in wires]


def records_of(messages) -> list[dns.rrset.RRset]:
    return [rrset for m in messages for rrset in m.answer]


def ixfr_query(serial: int) -> dns.message.Message:
    query = dns.message.make_query(ORIGIN, "IXFR")
    soa = dns.rrset.from_text(ORIGIN, 0, "IN", "SOA", f"ns1.example.org. hostmaster.example.org. {serial} 3600 600 86400 60")
    query.authority.append(soa)
    return query


def test_axfr_soa_first_and_last_over_several_messages():
    """A zone larger than one message goes in several, SOA first and last, each record once."""
    handler, server = make_handler(make_zone(version(1, names=2000)))
    messages = messages_of(handler.answer(dns.message.make_query(ORIGIN, "AXFR").to_wire(), TCP))
    assert len(messages) > 1
    rrsets = records_of(messages)
    assert rrsets[0].rdtype == rrsets[-1].rdtype == dns.rdatatype.SOA
    assert sum(len(r) for r in rrsets) == 2003 + 1
    assert all(m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AA for m in messages)
    assert server.active == 0 and server.completed == {"example.org": 1}


def test_axfr_sends_version_current_at_request():
    """A transfer keeps sending the version it started with when the zone changes under it."""
    zone = make_zone(version(1, names=2000))
    handler, _ = make_handler(zone)
    stream = iter(handler.answer(dns.message.make_query(ORIGIN, "AXFR").to_wire(), TCP))
    first = next(stream)
    zone.swap(version(2, names=5))
    rest = list(stream)
    rrsets = records_of(messages_of([first, *rest]))
    assert {r[0].serial for r in rrsets if r.rdtype == dns.rdatatype.SOA} == {1}


def test_axfr_refused_to_strangers():
    """An address that is not a downstream gets REFUSED."""
    handler, _ = make_handler(make_zone(version(1)))
    stranger = Request("192.0.2.99", 40000, True)
    (message,) = messages_of(handler.answer(dns.message.make_query(ORIGIN, "AXFR").to_wire(), stranger))
    assert message.rcode() == dns.rcode.REFUSED


def test_axfr_refused_without_required_key():
    """A downstream whose entry names a key gets REFUSED when unsigned."""
    handler, _ = make_handler(make_zone(version(1), key=True))
    (message,) = messages_of(handler.answer(dns.message.make_query(ORIGIN, "AXFR").to_wire(), TCP))
    assert message.rcode() == dns.rcode.REFUSED


def test_signed_axfr_every_message_signed():
    """A signed AXFR request gets a stream whose every message is signed and verifies in dnspython."""
    wires = signed_stream(dns.message.make_query(ORIGIN, "AXFR"))
    assert len(wires) > 1


def signed_stream(query: dns.message.Message) -> list[bytes]:
    """The messages answering C{query}, signed with KEY, each checked to verify in order (RFC 8945 section 5.3.1)."""
    handler, _ = make_handler(make_zone(version(1, names=2000), key=True))
    query.use_tsig(dns.tsig.Key(KEY.name, KEY.secret, KEY.algorithm))
    wire = query.to_wire()
    handler.clock = Clock()
    handler.clock.advance(tsig.split_tsig(wire).record.time_signed)
    wires = list(handler.answer(wire, TCP))
    verifier = tsig.StreamVerifier(KEY, query.mac, 0)
    for w in wires:
        verifier.verify(w, handler.clock.seconds())
    verifier.finish()
    return wires


def test_axfr_over_udp_is_formerr():
    """AXFR is not defined over UDP (RFC 5936 section 4.2): FORMERR."""
    handler, _ = make_handler(make_zone(version(1)))
    (message,) = messages_of(handler.answer(dns.message.make_query(ORIGIN, "AXFR").to_wire(), UDP))
    assert message.rcode() == dns.rcode.FORMERR


def test_ixfr_up_to_date_gets_soa_alone():
    """A client with our serial gets our SOA alone."""
    handler, _ = make_handler(make_zone(version(5)))
    (message,) = messages_of(handler.answer(ixfr_query(5).to_wire(), TCP))
    assert [r.rdtype for r in message.answer] == [dns.rdatatype.SOA]


def test_ixfr_from_journal():
    """A serial the journal reaches gets our SOA, the condensed differences, our SOA."""
    v1, v2, v3 = version(1), version(2, extra="a 300 A 192.0.2.10\n"), version(3, extra="a 300 A 192.0.2.11\n")
    handler, _ = make_handler(make_zone(v3), journal=[diff(v1, v2), diff(v2, v3)])
    rrsets = records_of(messages_of(handler.answer(ixfr_query(1).to_wire(), TCP)))
    assert [r[0].serial for r in rrsets if r.rdtype == dns.rdatatype.SOA] == [3, 1, 3, 3]
    assert [r.to_text() for r in rrsets if r.rdtype != dns.rdatatype.SOA] == ["a 300 IN A 192.0.2.11"]


def test_ixfr_beyond_journal_gets_whole_zone():
    """A serial older than the journal gets the whole zone, AXFR-style."""
    handler, _ = make_handler(make_zone(version(3)), journal=[])
    rrsets = records_of(messages_of(handler.answer(ixfr_query(1).to_wire(), TCP)))
    assert rrsets[0].rdtype == rrsets[-1].rdtype == dns.rdatatype.SOA
    assert sum(len(r) for r in rrsets) == 13 + 1


def test_ixfr_over_udp_too_big_gets_soa():
    """Over UDP an IXFR that does not fit gets our SOA alone, so the client retries over TCP."""
    handler, _ = make_handler(make_zone(version(3, names=50)), journal=[])
    response = handler.answer(ixfr_query(1).to_wire(), UDP)
    (message,) = messages_of(response)
    assert [r.rdtype for r in message.answer] == [dns.rdatatype.SOA]
    assert len(response) <= 512


def test_ixfr_without_soa_is_formerr():
    """An IXFR request without the client's SOA is FORMERR (RFC 1995 section 3)."""
    handler, _ = make_handler(make_zone(version(3)))
    (message,) = messages_of(handler.answer(dns.message.make_query(ORIGIN, "IXFR").to_wire(), TCP))
    assert message.rcode() == dns.rcode.FORMERR


def test_concurrent_transfers_limited():
    """Past the limit of transfers out at once, further requests are refused until one ends."""
    handler, server = make_handler(make_zone(version(1, names=2000)))
    wire = dns.message.make_query(ORIGIN, "AXFR").to_wire()
    streams = [iter(handler.answer(wire, TCP)) for _ in range(2)]
    for stream in streams:
        next(stream)
    (message,) = messages_of(handler.answer(wire, TCP))
    assert message.rcode() == dns.rcode.REFUSED
    list(streams[0])
    assert server.active == 1
    assert not isinstance(handler.answer(wire, TCP), bytes)


def test_tcp_stream_pulled_by_transport():
    """Over TCP the transfer is written a message at a time, as the transport asks for more."""
    handler, _ = make_handler(make_zone(version(1, names=2000)))
    factory = DNSStreamFactory(handler, 30, Clock())
    protocol = factory.buildProtocol(None)
    transport = StringTransport(peerAddress=type("A", (), {"host": "127.0.0.1", "port": 4})())
    protocol.makeConnection(transport)
    query = dns.message.make_query(ORIGIN, "AXFR").to_wire()
    assert transport.producer is protocol and transport.streaming  # the connection's own flow control
    protocol.dataReceived(struct.pack("!H", len(query)) + query)
    assert transport.producer is not protocol and not transport.streaming  # the transfer, pulled
    sent = []
    for _ in range(100):
        if transport.producer is protocol:
            break
        data = transport.value()
        transport.clear()
        sent.append(data)
        transport.producer.resumeProducing()
    sent.append(transport.value())
    stream = b"".join(sent)
    count = 0
    while stream:
        (length,) = struct.unpack("!H", stream[:2])
        dns.message.from_wire(stream[2 : 2 + length], xfr=True, origin=ORIGIN)
        stream = stream[2 + length :]
        count += 1
    assert count > 1
    assert transport.producer is protocol and transport.streaming  # back to the connection's own


def test_key_changed_mid_transfer():
    """A transfer in flight when the keyring is replaced finishes with its key; the next request needs the new one."""
    handler, _ = make_handler(make_zone(version(1, names=2000), key=True))
    old = dns.tsig.Key(KEY.name, KEY.secret, KEY.algorithm)
    query = dns.message.make_query(ORIGIN, "AXFR")
    query.use_tsig(old)
    wire = query.to_wire()
    handler.clock = Clock()
    handler.clock.advance(tsig.split_tsig(wire).record.time_signed)
    stream = iter(handler.answer(wire, TCP))
    first = next(stream)
    renewed = tsig.Key(KEY.name, KEY.algorithm, b"n" * 32)
    handler.keyring = tsig.Keyring({renewed.name: renewed})  # what a SIGHUP does
    verifier = tsig.StreamVerifier(KEY, query.mac, 0)
    for message in [first, *stream]:
        verifier.verify(message, handler.clock.seconds())
    verifier.finish()
    again = dns.message.make_query(ORIGIN, "AXFR")
    again.use_tsig(old)
    refused = handler.answer(again.to_wire(), TCP)
    assert tsig.split_tsig(refused).record.error == dns.rcode.BADSIG
    fresh = dns.message.make_query(ORIGIN, "AXFR")
    fresh.use_tsig(dns.tsig.Key(renewed.name, renewed.secret, renewed.algorithm))
    assert not isinstance(handler.answer(fresh.to_wire(), TCP), bytes)


def test_blocks_made_in_a_thread_are_sent():
    """Blocks rendered in a worker thread and kept on the reactor are what the next AXFR sends."""
    data = version(1, names=2000)
    made = []
    worker = threading.Thread(target=lambda: made.append(transfer_blocks(data)))
    worker.start()
    worker.join()
    keep_transfer_blocks(data, made[0])
    assert transfer_out._KEPT[id(data)] == made[0]
    handler, _ = make_handler(make_zone(data))
    fresh, _ = make_handler(make_zone(version(1, names=2000)))
    axfr = dns.message.make_query(ORIGIN, "AXFR").to_wire()
    assert list(handler.answer(axfr, TCP)) == list(fresh.answer(axfr, TCP))


def test_blocks_kept_per_version_and_dropped_with_it():
    """The first blocks kept for a version stay; another version has its own; they go with their version."""
    one, two = version(1), version(2)
    blocks = transfer_blocks(one)
    keep_transfer_blocks(one, blocks)
    keep_transfer_blocks(one, transfer_blocks(two))  # a transfer kept it first: unchanged
    assert transfer_out._KEPT[id(one)] == blocks
    assert id(two) not in transfer_out._KEPT
    handler, _ = make_handler(make_zone(two))
    list(handler.answer(dns.message.make_query(ORIGIN, "AXFR").to_wire(), TCP))  # keeps two's
    assert transfer_out._KEPT[id(two)] == transfer_blocks(two) != blocks
    keys, dropped = {id(one), id(two)}, [weakref.ref(one), weakref.ref(two)]
    del one, two, handler
    gc.collect()
    assert all(ref() is None for ref in dropped) and not keys & set(transfer_out._KEPT)


def test_ixfr_journal_read_in_the_worker():
    """With a worker, an IXFR's journal is read and condensed there, and the answer is a Deferred of the stream."""
    v1, v2 = version(1), version(2, extra="a 300 A 192.0.2.10\n")
    handler, server = make_handler(make_zone(v2))
    reads = []
    server.history = lambda zone, serial, current: reads.append((zone.label, serial, current)) or [diff(v1, v2)]
    queued = []

    def worker(f, *args):
        queued.append((f, args))
        return defer.Deferred()

    server.worker = worker
    response = handler.answer(ixfr_query(1).to_wire(), TCP)
    assert isinstance(response, defer.Deferred) and reads == []
    ((f, args),) = queued
    response.callback(f(*args))  # the worker's result arrives on the reactor
    assert reads == [("example.org", 1, 2)]
    stream = []
    response.addCallback(stream.append)
    rrsets = records_of(messages_of(stream[0]))
    assert [r[0].serial for r in rrsets if r.rdtype == dns.rdatatype.SOA] == [2, 1, 2, 2]


def test_signed_ixfr_made_in_the_worker_is_signed():
    """A signed IXFR answered from the worker has every message signed, as one made at once."""
    v1, v2 = version(1), version(2, extra="a 300 A 192.0.2.10\n")
    handler, server = make_handler(make_zone(v2, key=True), journal=[diff(v1, v2)])
    server.worker = lambda f, *args: defer.succeed(f(*args))
    query = ixfr_query(1)
    query.use_tsig(dns.tsig.Key(KEY.name, KEY.secret, KEY.algorithm))
    wire = query.to_wire()
    handler.clock = Clock()
    handler.clock.advance(tsig.split_tsig(wire).record.time_signed)
    stream = []
    handler.answer(wire, TCP).addCallback(stream.append)
    wires = list(stream[0])
    verifier = tsig.StreamVerifier(KEY, query.mac, 0)
    for w in wires:
        verifier.verify(w, handler.clock.seconds())
    verifier.finish()
    assert wires


@pytest.mark.parametrize("do", [False, True])
def test_opt_in_every_message_to_an_edns_request(do):
    """
    A transfer asked with EDNS gets our OPT in every message (RFC 6891
    section 7), DO echoed, signed ones too; errors and the IXFR answers as
    well; a request without EDNS gets none.
    """
    wires = signed_stream(dns.message.make_query(ORIGIN, "AXFR", use_edns=0, payload=4096, want_dnssec=do))
    messages = [dns.message.from_wire(w, keyring=False, xfr=True, origin=ORIGIN) for w in wires]
    assert len(messages) > 1
    assert all(m.edns == 0 and bool(m.ednsflags & dns.flags.DO) == do for m in messages)
    unsigned, _ = make_handler(make_zone(version(1)))
    for asked in (ixfr_query(1), ixfr_query(0), dns.message.make_query(ORIGIN, "AXFR")):
        asked.use_edns(0, dns.flags.DO if do else 0, 1232)
        for request in (TCP, UDP, Request("192.0.2.99", 40000, True)):
            for m in messages_of(unsigned.answer(asked.to_wire(), request)):
                assert m.edns == 0 and bool(m.ednsflags & dns.flags.DO) == do, (asked.question, request, m)
    plain = messages_of(unsigned.answer(dns.message.make_query(ORIGIN, "AXFR").to_wire(), TCP))
    assert all(m.edns < 0 for m in plain)
