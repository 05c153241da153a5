"""
The fuzz targets: each takes arbitrary bytes and either returns or raises
the errors its parser is documented to raise.  Anything else escaping is
the bug a fuzzer looks for (atheris reports it, with the input).
"""

from __future__ import annotations

from typing import Callable

import dns.name
import dns.zone

from secdns import config
from secdns.errors import ConfigError, ZoneLoadError
from secdns.server.dispatch import QueryHandler, Request
from secdns.transfer.requestor import PeerError
from secdns.transfer.transfer_in import Inbound, Limits, TransferError
from secdns.wire import tsig, zonefile_parser
from secdns.zones.version import from_owners, from_zone
from secdns.zones.zone import Zone
from secdns.zones.zonemap import ZoneDB

__all__ = ["TARGETS"]

ORIGIN = dns.name.from_text("example.org.")
ZONE_TEXT = """$TTL 300
@ SOA ns1 hostmaster 7 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.80
*.wild TXT "wild"
sub NS ns.sub
ns.sub A 192.0.2.9
dn DNAME target
"""
KEY = tsig.Key.from_config(
    config.TsigKeyConfig(dns.name.from_text("fuzz-key."), "hmac-sha256", b"k" * 32)
)


def _data():
    return from_zone(dns.zone.from_text(ZONE_TEXT, origin=ORIGIN, relativize=False))


_HANDLER = QueryHandler(
    ZoneDB.of([Zone(config.ZoneConfig(ORIGIN, "primary", file="fuzz.zone"), _data())]),
    keyring=tsig.Keyring({KEY.name: KEY}),
)
_UDP = Request("192.0.2.7", 5353, False)
_TCP = Request("192.0.2.7", 5353, True)


def query(data: bytes) -> None:
    """The query dispatcher over UDP and TCP: never raises, answers only what could be a query."""
    for request in (_UDP, _TCP):
        response = _HANDLER.answer(data, request)
        if response is not None:
            assert isinstance(response, bytes) and len(response) >= 12, response
            assert response[2] & 0x80, "an answer without QR"


def tsig_verify(data: bytes) -> None:
    """The TSIG record split off a message and checked: only TSIG errors."""
    try:
        signed = tsig.split_tsig(data)
        if signed is not None:
            tsig.verify(signed, KEY if signed.key_name == KEY.name else None, 1_700_000_000)
    except tsig.TsigError:
        pass


_CURRENT = _data()


def transfer(data: bytes) -> None:
    """One message of an AXFR and of an IXFR from serial 7: only transfer errors."""
    for style, current in (("AXFR", None), ("IXFR", _CURRENT)):
        inbound = Inbound(ORIGIN, style, current, Limits(max_records=5_000, max_bytes=1_000_000))
        try:
            if inbound.process(data):
                inbound.finish()
        except (TransferError, PeerError):
            pass


def zone_file(data: bytes) -> None:
    """The fast zone-file reader: a version, or 'ask dnspython' (None), or a zone error."""
    text = data.decode("utf-8", "replace")
    try:
        read = zonefile_parser.read(ORIGIN, text)
        if read is not None:
            from_owners(ORIGIN, *read)
    except ZoneLoadError:
        pass


def config_text(data: bytes) -> None:
    """The config parser: a config, or one ConfigError naming the key."""
    text = data.decode("utf-8", "replace")
    try:
        config.parse(text, read_text=lambda path: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=")
    except ConfigError:
        pass


TARGETS: dict[str, Callable[[bytes], None]] = {
    "query": query,
    "tsig": tsig_verify,
    "transfer": transfer,
    "zone_file": zone_file,
    "config": config_text,
}


# -- seeds: a few valid inputs of each kind, for the fuzzer to start from


def _query_seeds() -> list[bytes]:
    import dns.message
    import dns.tsigkeyring

    seeds = []
    for qname, rdtype, edns in (("www.example.org", "A", False), ("x.wild.example.org", "TXT", True),
                                ("a.dn.example.org", "A", True), ("example.org", "AXFR", False),
                                ("example.org", "SOA", True)):
        query = dns.message.make_query(qname, rdtype, use_edns=0 if edns else False, want_dnssec=edns)
        seeds.append(query.to_wire())
    signed = dns.message.make_query("example.org", "SOA")
    signed.use_tsig(dns.tsig.Key(KEY.name, KEY.secret, KEY.algorithm))
    seeds.append(signed.to_wire())
    return seeds


def _transfer_seeds() -> list[bytes]:
    import dns.message
    import dns.rrset

    query = dns.message.make_query(ORIGIN, "AXFR")
    response = dns.message.make_response(query)
    soa = dns.rrset.from_text(ORIGIN, 300, "IN", "SOA", "ns1.example.org. hostmaster.example.org. 8 3600 600 86400 60")
    response.answer += [soa, dns.rrset.from_text(ORIGIN, 300, "IN", "NS", "ns1.example.org."),
                        dns.rrset.from_text("ns1.example.org.", 300, "IN", "A", "192.0.2.1"), soa]
    return [response.to_wire()]


SEEDS: dict[str, Callable[[], list[bytes]]] = {
    "query": _query_seeds,
    "tsig": lambda: [s for s in _query_seeds() if len(s) > 60],
    "transfer": _transfer_seeds,
    "zone_file": lambda: [ZONE_TEXT.encode(), b'$ORIGIN example.org.\n@ 300 IN SOA a b 1 2 3 4 5\n@ TXT "a\\065" ( "b" )\n'],
    "config": lambda: [
        b'[server]\nlisten = ["127.0.0.1:5300"]\n[[tsig_key]]\nname = "k"\nsecret_file = "k"\n'
        b'[[zone]]\nname = "example.org"\ntype = "secondary"\n'
        b'external_masters = [ { address = "192.0.2.1", tsig_key = "k" } ]\n'
        b'allow_transfer = [ { address = "192.0.2.0/24" } ]\n'
    ],
}
