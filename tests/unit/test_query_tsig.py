"""TSIG on requests the server answers: verified first, responses signed, errors as RFC 8945 says."""

from __future__ import annotations

import struct

import dns.message
import dns.name
import dns.rcode
import dns.tsig
import dns.zone
import pytest
from twisted.internet.task import Clock

from secdns.wire import tsig
from secdns.config import PRIMARY, TsigKeyConfig, ZoneConfig
from secdns.server.dispatch import QueryHandler, Request
from secdns.zones.zone import Zone
from secdns.zones.version import from_zone
from secdns.zones.zonemap import ZoneDB

SECRET = b"0123456789abcdef0123456789abcdef"
KEY = tsig.Key.from_config(TsigKeyConfig(dns.name.from_text("transfer-key."), "hmac-sha256", SECRET))
ORIGIN = dns.name.from_text("example.org.")
ZONE = """
@   300 SOA ns1 hostmaster 1 3600 600 86400 60
@   300 NS  ns1
ns1 300 A   192.0.2.1
www 300 A   192.0.2.80
"""
UDP = Request("127.0.0.1", 5353, False)


def make_handler(now: float) -> QueryHandler:
    data = from_zone(dns.zone.from_text(ZONE, origin=ORIGIN, relativize=False))
    zonedb = ZoneDB.of([Zone(ZoneConfig(ORIGIN, PRIMARY, file="x"), data)])
    clock = Clock()
    clock.advance(now)
    return QueryHandler(zonedb, keyring=tsig.Keyring({KEY.name: KEY}), clock=clock)


def signed_query(secret: bytes = SECRET, name: str = "transfer-key.", **kw) -> dns.message.Message:
    query = dns.message.make_query("www.example.org.", "A", **kw)
    query.use_tsig(dns.tsig.Key(name, secret, dns.tsig.HMAC_SHA256))
    return query


def answer(query: dns.message.Message, now_offset: float = 0, wire: bytes | None = None) -> bytes:
    wire = wire or query.to_wire()
    time_signed = tsig.split_tsig(wire).record.time_signed
    return make_handler(time_signed + now_offset).answer(wire, UDP)


def tsig_of(response: bytes):
    return tsig.split_tsig(response).record


def test_signed_query_gets_signed_answer():
    """A query signed with a known key is answered, signed with the same key over the request's MAC."""
    query = signed_query()
    response = answer(query)
    signed = tsig.split_tsig(response)
    tsig.verify(signed, KEY, signed.record.time_signed, prior_mac=query.mac)
    message = dns.message.from_wire(response, keyring=False)
    assert message.rcode() == dns.rcode.NOERROR
    assert message.answer[0].to_text().endswith("192.0.2.80")


def test_bad_secret_is_badsig_unsigned():
    """A wrong MAC gets NOTAUTH with TSIG error BADSIG and no MAC."""
    response = answer(signed_query(secret=b"not our secret at all, not ours"))
    assert dns.message.from_wire(response, keyring=False).rcode() == dns.rcode.NOTAUTH
    record = tsig_of(response)
    assert (record.error, record.mac) == (dns.rcode.BADSIG, b"")


def test_unknown_key_is_badkey_unsigned():
    """An unknown key name gets NOTAUTH with TSIG error BADKEY and no MAC."""
    response = answer(signed_query(name="who-knows."))
    assert dns.message.from_wire(response, keyring=False).rcode() == dns.rcode.NOTAUTH
    record = tsig_of(response)
    assert (record.error, record.mac) == (dns.rcode.BADKEY, b"")


def test_skewed_clock_is_badtime_signed_with_our_time():
    """Outside the fudge: NOTAUTH, BADTIME, signed, with our time in Other Data and the request's time signed."""
    query = signed_query()
    response = answer(query, now_offset=412)
    signed = tsig.split_tsig(response)
    record = signed.record
    assert record.error == dns.rcode.BADTIME
    upper, lower = struct.unpack("!HI", record.other)
    assert (upper << 32 | lower) - record.time_signed == 412
    tsig.verify(signed, KEY, record.time_signed, prior_mac=query.mac)
    with pytest.raises(dns.tsig.PeerBadTime):
        dns.message.from_wire(response, keyring={KEY.name: dns.tsig.Key(KEY.name, SECRET)}, request_mac=query.mac)


def test_request_with_tsig_error_is_formerr():
    """A request (QR=0) carrying a TSIG error code, as a BADTIME response would, is FORMERR."""
    query = signed_query()
    query.use_tsig(dns.tsig.Key("transfer-key.", SECRET, dns.tsig.HMAC_SHA256), tsig_error=dns.rcode.BADTIME)
    response = answer(query)
    assert dns.message.from_wire(response, keyring=False).rcode() == dns.rcode.FORMERR


def test_truncated_mac_is_badtrunc():
    """A MAC truncated to 16 of 32 octets gets BADTRUNC."""
    wire = signed_query().to_wire()
    signed = tsig.split_tsig(wire)
    rdata = signed.record.replace(mac=signed.record.mac[:16]).to_wire()
    truncated = signed.unsigned[:10] + b"\x00\x01" + signed.unsigned[12:] + KEY.name.to_wire() + struct.pack("!HHIH", 250, 255, 0, len(rdata)) + rdata
    response = make_handler(signed.record.time_signed).answer(truncated, UDP)
    assert tsig_of(response).error == dns.rcode.BADTRUNC


def test_tsig_not_last_is_formerr():
    """A TSIG record that is not the last record makes the request FORMERR."""
    wire = signed_query().to_wire()
    signed = tsig.split_tsig(wire)
    opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
    reordered = signed.unsigned[:10] + b"\x00\x02" + signed.unsigned[12:] + wire[len(signed.unsigned):] + opt
    response = make_handler(signed.record.time_signed).answer(reordered, UDP)
    assert dns.message.from_wire(response, keyring=False).rcode() == dns.rcode.FORMERR


def test_key_removed_by_reload_is_badkey():
    """After a reload drops a key, requests signed with it get BADKEY."""
    query = signed_query()
    wire = query.to_wire()
    handler = make_handler(tsig.split_tsig(wire).record.time_signed)
    handler.keyring = tsig.Keyring()
    assert tsig_of(handler.answer(wire, UDP)).error == dns.rcode.BADKEY
