"""NOTIFY out: one in flight per downstream, retried when unanswered, never a storm."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.zone

from secdns.wire import tsig
from secdns.config import PRIMARY, PeerConfig, TsigKeyConfig, ZoneConfig
from secdns.transfer.notify_out import Notifier
from secdns.transfer.requestor import Requestor
from secdns.testing import FakeReactor
from secdns.zones.zone import Zone
from secdns.zones.version import from_zone

ORIGIN = dns.name.from_text("example.org.")
KEY = tsig.Key.from_config(TsigKeyConfig(dns.name.from_text("transfer-key."), "hmac-sha256", b"k" * 32))


def version(serial: int):
    text = f"@ 300 SOA ns1 hostmaster {serial} 3600 600 86400 60\n@ 300 NS ns1\nns1 300 A 192.0.2.1\n"
    return from_zone(dns.zone.from_text(text, origin=ORIGIN, relativize=False))


def setup(downstreams=(PeerConfig("127.0.0.1", 5301), PeerConfig("127.0.0.1", 5302))):
    reactor = FakeReactor()
    reactor.advance(1_000_000)
    zone = Zone(ZoneConfig(ORIGIN, PRIMARY, file="x", external_downstreams=tuple(downstreams)), version(1))
    keyring = tsig.Keyring({KEY.name: KEY})
    notifier = Notifier(Requestor(reactor, "127.0.0.1"), reactor, lambda: keyring)
    return reactor, zone, notifier


def sent(reactor):
    """(protocol, NOTIFY message, destination) for each datagram written, oldest first."""
    out = []
    for protocol, transport in reactor.udp:
        for wire, addr in transport.written:
            out.append((protocol, dns.message.from_wire(wire, keyring=False), addr))
    return out


def answer(protocol, message, addr, rcode=dns.rcode.NOERROR):
    response = dns.message.make_response(message)
    response.set_rcode(rcode)
    protocol.datagramReceived(response.to_wire(), addr)


def test_notify_each_downstream_with_soa():
    """Each downstream gets a NOTIFY: opcode NOTIFY, AA, the zone's SOA in the answer."""
    reactor, zone, notifier = setup()
    notifier.notify(zone)
    messages = sent(reactor)
    assert [addr for _, _, addr in messages] == [("127.0.0.1", 5301), ("127.0.0.1", 5302)]
    for _, message, _ in messages:
        assert message.opcode() == dns.opcode.NOTIFY
        assert message.flags & dns.flags.AA
        assert message.answer[0][0].serial == 1


def test_answered_notify_not_repeated():
    """An answered NOTIFY is counted and not sent again."""
    reactor, zone, notifier = setup(downstreams=(PeerConfig("127.0.0.1", 5301),))
    notifier.notify(zone)
    answer(*sent(reactor)[0])
    reactor.advance(120)
    assert len(sent(reactor)) == 1
    assert notifier.sent == {"example.org": 1}


def test_unanswered_notify_retried_to_that_downstream_only():
    """A downstream that does not answer gets the NOTIFY again; one that answered does not."""
    reactor, zone, notifier = setup()
    notifier.notify(zone)
    first, second = sent(reactor)
    answer(*first)
    reactor.advance(2.0)  # the second one's answer times out
    reactor.advance(2.0)  # and the retry is due
    destinations = [addr for _, _, addr in sent(reactor)]
    assert destinations == [("127.0.0.1", 5301), ("127.0.0.1", 5302), ("127.0.0.1", 5302)]


def test_gives_up_after_attempts():
    """After five unanswered sends the NOTIFY is given up and counted as failed."""
    reactor, zone, notifier = setup(downstreams=(PeerConfig("127.0.0.1", 5301),))
    notifier.notify(zone)
    for _ in range(200):
        reactor.advance(1)
    assert len(sent(reactor)) == 5
    assert notifier.failed == {"example.org": 1}


def test_error_answer_not_retried():
    """A downstream answering REFUSED is logged and not asked again."""
    reactor, zone, notifier = setup(downstreams=(PeerConfig("127.0.0.1", 5301),))
    notifier.notify(zone)
    answer(*sent(reactor)[0], rcode=dns.rcode.REFUSED)
    reactor.advance(120)
    assert len(sent(reactor)) == 1
    assert notifier.failed == {"example.org": 1}


def test_quick_changes_no_storm():
    """Changes while a NOTIFY is in flight cause one more NOTIFY, with the newest serial."""
    reactor, zone, notifier = setup(downstreams=(PeerConfig("127.0.0.1", 5301),))
    notifier.notify(zone)
    for serial in (2, 3, 4):
        zone.swap(version(serial))
        notifier.notify(zone)
    assert len(sent(reactor)) == 1
    answer(*sent(reactor)[0])
    messages = sent(reactor)
    assert len(messages) == 2
    assert messages[1][1].answer[0][0].serial == 4


def test_signed_when_downstream_names_key():
    """A downstream whose entry names a key gets a signed NOTIFY."""
    reactor, zone, notifier = setup(downstreams=(PeerConfig("127.0.0.1", 5301, tsig_key=KEY.name),))
    notifier.notify(zone)
    (protocol, transport), = reactor.udp
    wire, _ = transport.written[0]
    signed = tsig.split_tsig(wire)
    assert signed is not None and signed.key_name == KEY.name


def test_a_newer_serial_is_sent_when_the_older_goes_unanswered_not_after_its_back_off():
    """An unanswered NOTIFY of serial 1, with serial 2 owed meanwhile: serial 2 goes as soon as 1 times out."""
    reactor, zone, notifier = setup(downstreams=(PeerConfig("127.0.0.1", 5301),))
    notifier.notify(zone)
    zone.swap(version(2))
    notifier.notify(zone)
    assert len(sent(reactor)) == 1
    reactor.advance(notifier.first_timeout + 0.1)  # the first NOTIFY times out
    messages = sent(reactor)
    assert [m.answer[0][0].serial for _, m, _ in messages] == [1, 2]
