"""secdns.zones.version: versions in compact form, their indexes, and the nodes made for queries."""

from __future__ import annotations

import dns.name
import dns.rrset
import dns.zone
import pytest

from secdns.errors import ZoneLoadError
from secdns.wire.compact import encode, key_of
from secdns.zones.version import NodeCache, from_owners, from_zone

ORIGIN = dns.name.from_text("example.org.")
ZONE = """
@        300 SOA ns1 hostmaster 7 3600 600 86400 60
@        300 NS  ns1
ns1      300 A   192.0.2.1
a.b.c    300 A   192.0.2.2
Mixed    300 TXT "case"
sub      300 NS  ns.sub
ns.sub   300 A   192.0.2.3
*.wild   300 A   192.0.2.4
"""


def data_of(text: str = ZONE):
    return from_zone(dns.zone.from_text(text, origin=ORIGIN, relativize=False))


def test_indexes():
    data = data_of()
    assert data.record_count == 8
    assert data.exists(dns.name.from_text("b.c.example.org.")) and data.exists(dns.name.from_text("c.example.org."))
    assert key_of(dns.name.from_text("b.c.example.org.")) in data.empty_nonterminals
    assert not data.exists(dns.name.from_text("nope.example.org."))
    assert data.cut_keys == {key_of(dns.name.from_text("sub.example.org."))}
    assert data.wildcard_keys == {key_of(dns.name.from_text("*.wild.example.org."))}
    assert data.name_of(key_of(dns.name.from_text("mixed.example.org."))).labels[0] == b"Mixed"


def test_node_is_the_same_object_while_cached():
    data = data_of()
    name = dns.name.from_text("ns1.example.org.")
    assert data.node(name) is data.node(name)
    assert data.node(dns.name.from_text("nope.example.org.")) is None


def test_node_cache_generations():
    """A node found in the old generation moves back to the young one; two rollovers forget it."""
    cache = NodeCache()
    cache.SIZE = 2
    cache.keep(("a",), "A")
    cache.keep(("b",), "B")
    cache.keep(("c",), "C")  # a and b are old now
    assert cache.get(("a",)) == "A"  # back in the young generation, with c
    cache.keep(("d",), "D")  # young (c, a) becomes old
    cache.keep(("e",), "E")
    cache.keep(("f",), "F")  # (d, e) old: c and a forgotten
    assert cache.get(("a",)) is None and cache.get(("e",)) == "E"


SOA = "example.org. 300 IN SOA ns1.example.org. h.example.org. 1 2 3 4 5"
NS = "example.org. 300 IN NS ns1.example.org."


@pytest.mark.parametrize(
    "lines, problem",
    [
        ([NS], "no SOA record at the zone apex"),
        ([SOA], "no NS records at the zone apex"),
        ([SOA, NS, "x.example.org. 300 IN SOA ns1.example.org. h.example.org. 1 2 3 4 5"], "SOA record at x.example.org., not at the apex"),
        ([SOA, NS, "www.example.com. 300 IN A 192.0.2.1"], "www.example.com. is outside the zone"),
    ],
)
def test_invalid_versions_refused(lines, problem):
    owners: dict = {}
    for line in lines:
        rrset = dns.rrset.from_text(*_split(line))
        owners.setdefault(key_of(rrset.name), []).append(rrset.to_rdataset())
    with pytest.raises(ZoneLoadError, match=problem):
        from_owners(ORIGIN, {key: encode(rrsets) for key, rrsets in owners.items()}, {}, len(lines))


def _split(line: str):
    name, ttl, rdclass, rdtype, rdata = line.split(None, 4)
    return name, int(ttl), rdclass, rdtype, rdata
