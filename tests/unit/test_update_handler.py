"""
secdns.server.update: DNS UPDATE through the dispatcher, over UDP and TCP,
with TSIG, against a fake core whose edit() applies the changes as the
registry does (or holds them, or fails).
"""

from __future__ import annotations

import struct

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.rrset
import pytest
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from secdns.config import PRIMARY, TsigKeyConfig, ZoneConfig
from secdns.ops.metrics import UpdateCollector, exposition, registry_for
from secdns.server.dispatch import QueryHandler, Request
from secdns.server.protocol import DNSDatagramProtocol, DNSStreamFactory
from secdns.server.update import UpdateHandler
from secdns.testing import FakeDatagramTransport
from secdns.wire import tsig
from secdns.zones.edit import ADD, Change, EditRefused, apply
from secdns.zones.version import from_rrsets
from secdns.zones.zone import Zone
from secdns.zones.zonemap import ZoneDB
from tests.updates import rr, signed, update_wire

NOW = 1_700_000_000
ORIGIN = dns.name.from_text("example.org.")
SECRET = b"0123456789abcdef0123456789abcdef"
UPD = tsig.Key.from_config(TsigKeyConfig(dns.name.from_text("upd-key."), "hmac-sha256", SECRET))
OTHER = tsig.Key.from_config(TsigKeyConfig(dns.name.from_text("other-key."), "hmac-sha256", SECRET))
STRANGER = tsig.Key.from_config(TsigKeyConfig(dns.name.from_text("stranger."), "hmac-sha256", SECRET))
WRONG = tsig.Key(UPD.name, UPD.algorithm, b"not the secret, not the secret!!")
UDP = Request("127.0.0.1", 5353, False)
ADD_NEW = rr("new", "A", "IN", 300, "192.0.2.7")


def version(serial: int = 1):
    return from_rrsets(ORIGIN, [
        dns.rrset.from_text("example.org.", 300, "IN", "SOA", f"ns1.example.org. hostmaster.example.org. {serial} 3600 600 86400 60"),
        dns.rrset.from_text("example.org.", 300, "IN", "NS", "ns1.example.org."),
        dns.rrset.from_text("www.example.org.", 300, "IN", "A", "192.0.2.80"),
    ])


class Core:
    """
    The registry's edit() as the handler sees it: the changes applied to
    the zone's version under the next serial and swapped in.  With
    C{hold}, the Deferred waits for L{release}; C{fail} makes it fail.
    """

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.calls: list = []
        self.hold = False
        self.held: list[defer.Deferred] = []
        self.fail: Exception | None = None
        self.before_edit = lambda: None

    def edit(self, name, changes, source):
        self.calls.append((name, changes, source))
        if self.fail is not None:
            return defer.fail(self.fail)
        self.before_edit()
        if self.hold:
            d = defer.Deferred()
            self.held.append(d)
            return d.addCallback(lambda _: self._apply(changes))
        return defer.maybeDeferred(self._apply, changes)

    def _apply(self, changes):
        new = apply(self.zone.data, changes, self.zone.data.serial + 1)
        self.zone.swap(new)
        return new

    def release(self) -> None:
        self.held.pop(0).callback(None)


@pytest.fixture
def zone() -> Zone:
    return Zone(ZoneConfig(ORIGIN, PRIMARY, allow_update=(UPD.name,)), version())


@pytest.fixture
def core(zone) -> Core:
    return Core(zone)


@pytest.fixture
def updates(core, zone) -> UpdateHandler:
    zonedb = ZoneDB.of([zone])
    return UpdateHandler(core.edit, lambda: zonedb)


@pytest.fixture
def handler(updates, zone) -> QueryHandler:
    clock = Clock()
    clock.advance(NOW)
    keys = {key.name: key for key in (UPD, OTHER)}
    return QueryHandler(ZoneDB.of([zone]), keyring=tsig.Keyring(keys), clock=clock, handlers={dns.opcode.UPDATE: updates})


def result(response):
    """The bytes of a response, waiting for nothing: a Deferred must have fired."""
    if isinstance(response, defer.Deferred):
        fired = []
        response.addBoth(fired.append)
        assert fired, "the response is still being made"
        (response,) = fired
    assert isinstance(response, bytes), response
    return response


def has_result(d: defer.Deferred) -> bool:
    """Whether C{d} has its result now (C{called} is true too while it waits on another Deferred)."""
    box: list = []
    d.addBoth(lambda result: box.append(result) or result)
    return bool(box)


def parsed(response: bytes) -> dns.message.Message:
    return dns.message.from_wire(response, keyring=False)


def rcode(response) -> str:
    return dns.rcode.to_text(parsed(result(response)).rcode())


def framed_messages(data: bytes) -> list[dns.message.Message]:
    """The length-prefixed messages of a TCP stream, parsed."""
    messages = []
    while data:
        (length,) = struct.unpack("!H", data[:2])
        messages.append(parsed(data[2 : 2 + length]))
        data = data[2 + length :]
    return messages


def a_records(zone: Zone, owner: str):
    rds = zone.data.rdataset(dns.name.from_text(owner, ORIGIN), dns.rdatatype.A)
    return None if rds is None else sorted(r.to_text() for r in rds)


class TestThroughTheDispatcher:
    def test_signed_update_is_committed_then_answered_signed(self, handler, core, zone):
        """An update signed with a key of allow_update goes to edit(); the answer comes once it is done, NOERROR, signed, the zone echoed."""
        core.hold = True
        wire = signed(update_wire(updates=[ADD_NEW]), UPD, NOW)
        response = handler.answer(wire, UDP)
        assert isinstance(response, defer.Deferred) and not has_result(response)
        ((name, changes, source),) = core.calls
        assert name == ORIGIN and source == "DNS UPDATE from 127.0.0.1 (key upd-key)"
        core.release()
        response = result(response)
        tsig.verify(tsig.split_tsig(response), UPD, NOW, prior_mac=tsig.split_tsig(wire).record.mac)
        message = parsed(response)
        assert message.rcode() == dns.rcode.NOERROR and message.opcode() == dns.opcode.UPDATE
        assert message.flags & dns.flags.QR and not message.flags & dns.flags.AA
        assert [(r.name, r.rdtype) for r in message.question] == [(ORIGIN, dns.rdatatype.SOA)]
        assert (message.answer, message.authority) == ([], [])
        assert a_records(zone, "new") == ["192.0.2.7"] and zone.serial == 2

    def test_unsigned_update_is_refused(self, handler, core, zone):
        """An update without TSIG gets REFUSED, unsigned, and changes nothing."""
        response = result(handler.answer(update_wire(updates=[ADD_NEW]), UDP))
        assert rcode(response) == "REFUSED" and tsig.split_tsig(response) is None
        assert core.calls == [] and zone.serial == 1

    def test_key_not_in_allow_update_is_refused_signed(self, handler, core):
        """A valid key that the zone does not list gets REFUSED, signed with that key."""
        wire = signed(update_wire(updates=[ADD_NEW]), OTHER, NOW)
        response = result(handler.answer(wire, UDP))
        assert rcode(response) == "REFUSED" and core.calls == []
        tsig.verify(tsig.split_tsig(response), OTHER, NOW, prior_mac=tsig.split_tsig(wire).record.mac)

    @pytest.mark.parametrize("key, error", [(WRONG, dns.rcode.BADSIG), (STRANGER, dns.rcode.BADKEY)])
    def test_bad_signature_is_notauth(self, handler, core, key, error):
        """A wrong secret or an unknown key never reaches the update: NOTAUTH with BADSIG or BADKEY (RFC 8945)."""
        response = result(handler.answer(signed(update_wire(updates=[ADD_NEW]), key, NOW), UDP))
        assert rcode(response) == "NOTAUTH" and tsig.split_tsig(response).record.error == error
        assert core.calls == []

    def test_zone_we_do_not_serve_is_notauth(self, handler, core):
        """An update for another zone, or for a name inside ours, gets NOTAUTH."""
        for zone_name in ("example.net.", "www.example.org."):
            wire = signed(update_wire(updates=[ADD_NEW], zone=zone_name), UPD, NOW)
            assert rcode(handler.answer(wire, UDP)) == "NOTAUTH"
        assert core.calls == []

    def test_failed_prerequisite_changes_nothing(self, handler, core, zone):
        """A prerequisite that does not hold answers its rcode; edit() is not called."""
        wire = signed(update_wire([rr("www", "A", "NONE")], [ADD_NEW]), UPD, NOW)
        assert rcode(handler.answer(wire, UDP)) == "YXRRSET"
        assert core.calls == [] and zone.serial == 1

    def test_nothing_to_change_answers_at_once(self, handler, core, zone):
        """An update that changes nothing answers NOERROR at once, with no new version."""
        wire = signed(update_wire(updates=[rr("www", "A", "IN", 300, "192.0.2.80")]), UPD, NOW)
        assert rcode(handler.answer(wire, UDP)) == "NOERROR" and core.calls == [] and zone.serial == 1

    def test_edns_is_echoed(self, handler):
        """An update with an OPT gets an OPT back."""
        message = dns.message.from_wire(update_wire(updates=[ADD_NEW]), keyring=False)
        message.use_edns(0, payload=1232)
        response = parsed(result(handler.answer(signed(message.to_wire(), UPD, NOW), UDP)))
        assert response.edns == 0 and response.rcode() == dns.rcode.NOERROR


class TestOneAtATime:
    def test_updates_of_a_zone_are_decided_in_turn(self, handler, core, zone, updates):
        """Updates sent together are decided one after the other, each on the version the one before made."""
        core.hold = True
        first = handler.answer(signed(update_wire(updates=[ADD_NEW], id=1), UPD, NOW), UDP)
        second = handler.answer(signed(update_wire([rr("new", "A", "ANY")], [rr("newer", "A", "IN", 300, "192.0.2.8")], id=2), UPD, NOW), UDP)
        refused = handler.answer(update_wire(updates=[ADD_NEW], id=3), UDP)
        assert rcode(refused) == "REFUSED"  # not allowed: answered at once, not queued
        assert len(core.calls) == 1 and not has_result(first) and not has_result(second)
        core.release()
        assert rcode(first) == "NOERROR" and len(core.calls) == 2
        core.release()
        assert rcode(second) == "NOERROR" and zone.serial == 3
        assert a_records(zone, "newer") == ["192.0.2.8"]
        assert updates._queues == {}


class TestWhenEditFails:
    def test_another_edit_first_means_deciding_again(self, handler, core, zone):
        """When another edit changed the zone after the decision, the update is decided again on the new version and applied."""
        def someone_else_first():
            core.before_edit = lambda: None
            zone.swap(apply(zone.data, [], zone.data.serial + 1))
        core.before_edit = someone_else_first
        response = handler.answer(signed(update_wire(updates=[ADD_NEW]), UPD, NOW), UDP)
        assert rcode(response) == "NOERROR"
        assert len(core.calls) == 2 and a_records(zone, "new") == ["192.0.2.7"] and zone.serial == 3

    def test_a_prerequisite_broken_meanwhile_is_answered(self, handler, core, zone):
        """A prerequisite that held when decided but not after another edit answers its rcode on the new version."""
        def someone_adds_www_aaaa():
            core.before_edit = lambda: None
            aaaa = Change(ADD, dns.name.from_text("www.example.org."), dns.rdatatype.AAAA, dns.rdata.from_text("IN", "AAAA", "2001:db8::1"), 300)
            zone.swap(apply(zone.data, [aaaa], zone.data.serial + 1))
        core.before_edit = someone_adds_www_aaaa
        wire = signed(update_wire([rr("www", "AAAA", "NONE")], [ADD_NEW]), UPD, NOW)
        assert rcode(handler.answer(wire, UDP)) == "YXRRSET"
        assert a_records(zone, "new") is None

    def test_a_zone_that_keeps_changing_is_servfail(self, handler, core, zone):
        """Past the attempts, an update that always finds a newer version answers SERVFAIL."""
        core.before_edit = lambda: zone.swap(apply(zone.data, [], zone.data.serial + 1))
        assert rcode(handler.answer(signed(update_wire(updates=[ADD_NEW]), UPD, NOW), UDP)) == "SERVFAIL"
        assert len(core.calls) == 5

    @pytest.mark.parametrize("error, expected", [
        (EditRefused("a CNAME cannot be beside other data"), "REFUSED"),
        (EditRefused("zone example.org is not loaded yet", "unavailable"), "SERVFAIL"),
        (KeyError("example.org"), "NOTAUTH"),
        (RuntimeError("the disk is full"), "SERVFAIL"),
    ])
    def test_errors_of_edit(self, handler, core, error, expected):
        """What edit() fails with becomes an rcode: an invalid zone REFUSED, a zone gone NOTAUTH, the rest SERVFAIL."""
        core.fail = error
        assert rcode(handler.answer(signed(update_wire(updates=[ADD_NEW]), UPD, NOW), UDP)) == expected

    def test_results_are_counted(self, handler, updates):
        """Each answer is counted by zone and rcode; an update for a zone not ours under the empty zone."""
        handler.answer(signed(update_wire(updates=[ADD_NEW]), UPD, NOW), UDP)
        handler.answer(update_wire(updates=[ADD_NEW]), UDP)
        handler.answer(signed(update_wire(updates=[ADD_NEW], zone="example.net."), UPD, NOW), UDP)
        assert updates.counts == {("example.org", "NOERROR"): 1, ("example.org", "REFUSED"): 1, ("", "NOTAUTH"): 1}
        text = exposition(registry_for(UpdateCollector(lambda: updates.counts))).decode()
        assert 'secdns_updates_total{result="NOERROR",zone="example.org"} 1.0' in text
        assert 'secdns_updates_total{result="NOTAUTH",zone=""} 1.0' in text


class TestTransports:
    def test_over_tcp_the_answer_waits_for_the_commit(self, handler, core):
        """Over TCP, the UPDATE's answer is written when the commit path is done, and later requests after it."""
        core.hold = True
        factory = DNSStreamFactory(handler, 30.0, Clock())
        address = IPv4Address("TCP", "127.0.0.1", 40000)
        transport = StringTransport(peerAddress=address)
        protocol = factory.buildProtocol(address)
        protocol.makeConnection(transport)
        wire = signed(update_wire(updates=[ADD_NEW], id=77), UPD, NOW)
        query = dns.message.make_query("new.example.org.", "A", id=78).to_wire()
        protocol.dataReceived(struct.pack("!H", len(wire)) + wire + struct.pack("!H", len(query)) + query)
        assert transport.value() == b""
        core.release()
        first, second = framed_messages(transport.value())
        assert (first.id, first.rcode(), second.id) == (77, dns.rcode.NOERROR, 78)
        assert second.answer[0][0].to_text() == "192.0.2.7"

    def test_over_udp_the_answer_is_sent_when_committed(self, handler, core):
        """Over UDP, the answer datagram is sent when the commit path is done."""
        core.hold = True
        protocol = DNSDatagramProtocol(handler)
        transport = FakeDatagramTransport()
        protocol.makeConnection(transport)
        protocol.datagramReceived(signed(update_wire(updates=[ADD_NEW], id=99), UPD, NOW), ("127.0.0.1", 5353))
        assert transport.written == []
        core.release()
        ((wire, addr),) = transport.written
        assert parsed(wire).id == 99 and parsed(wire).rcode() == dns.rcode.NOERROR and addr == ("127.0.0.1", 5353)
