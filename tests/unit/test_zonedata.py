"""secdns.zones.version: versions in compact form, their indexes, and the nodes made for queries."""

from __future__ import annotations

import gc
import weakref

import attrs
import dns.message
import dns.name
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

from secdns.errors import ZoneLoadError
from secdns.wire.compact import encode, key_of
from secdns.config import PRIMARY, PeerConfig, ZoneConfig
from secdns.server.dispatch import QueryHandler, Request
from secdns.server.transfer_out import TransferServer, keep_transfer_blocks, transfer_blocks
from secdns.zones import version as version_module
from secdns.zones.version import NodeCache, PerVersion, ZoneData, from_owners, from_zone
from secdns.zones.zone import Zone
from secdns.zones.zonemap import ZoneDB

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


class TestNoCaches:
    """A version is a value: what queries and transfers make for it is kept beside it, not in it."""

    def test_no_field_is_a_cache(self):
        """Every field is given when the version is built: none is made empty, to be filled later."""
        fields = attrs.fields(ZoneData)
        assert all(not isinstance(f.default, attrs.Factory) for f in fields)
        assert not {f.name for f in fields} & {"answers", "rrset_wire", "transfer_wire", "nodes"}

    def test_use_changes_nothing_in_the_version(self):
        """Queries (slow path and memo) and a transfer leave every field of the version as it was."""
        data = data_of()
        before = _fields_of(data)
        downstream = PeerConfig("127.0.0.1")
        zone = Zone(ZoneConfig(ORIGIN, PRIMARY, file="x", external_downstreams=(downstream,)), data)
        handler = QueryHandler(ZoneDB.of([zone]))
        handler.handlers[dns.rdatatype.AXFR] = TransferServer(lambda zone, serial, current: None)
        for qname, rdtype in [("ns1", "A"), ("x.wild", "A"), ("nope", "A"), ("a.b.c", "A"), ("ns1", "A")]:
            query = dns.message.make_query(f"{qname}.example.org.", rdtype).to_wire()
            assert handler.answer_datagram(query, ("192.0.2.9", 53)) is not None
            assert handler.answer(query, Request("192.0.2.9", 53, True)) is not None
        axfr = dns.message.make_query(ORIGIN, "AXFR").to_wire()
        assert len(list(handler.answer(axfr, Request("127.0.0.1", 53, True)))) == 1
        keep_transfer_blocks(data, transfer_blocks(data))
        assert _fields_of(data) == before


def _fields_of(data: ZoneData) -> dict:
    """Each field's object, and the size of those that have one."""
    return {
        f.name: (id(value), len(value) if hasattr(value, "__len__") else None)
        for f in attrs.fields(ZoneData)
        for value in [getattr(data, f.name)]
    }


class TestPerVersion:
    def test_versions_have_their_own_values(self):
        """Two versions, even of the same contents, never share a value."""
        made = PerVersion(list)
        one, two = data_of(), data_of()
        made.of(one).append(1)
        assert made.of(two) == [] and made.of(one) == [1]
        assert made.get(id(two)) is made.of(two)

    def test_value_goes_with_its_version(self):
        """A version's value is dropped when the version is; nothing keeps the version alive."""
        made = PerVersion(NodeCache)
        data = data_of()
        value = weakref.ref(made.of(data))
        dropped = weakref.ref(data)
        del data
        gc.collect()
        assert dropped() is None and value() is None and not made

    def test_reused_id_gets_a_new_value(self):
        """A version built where a dropped one was (the same id) starts afresh."""
        made = PerVersion(list)
        for serial in range(1, 6):
            data = data_of(ZONE.replace(" 7 3600", f" {serial} 3600"))
            assert made.of(data) == []
            made.of(data).append(serial)
            del data
        assert not made

    def test_nodes_per_version(self):
        """Each version makes its own nodes, kept while it lives and dropped with it."""
        one, two = data_of(), data_of()
        name = dns.name.from_text("ns1.example.org.")
        assert one.node(name) is one.node(name)
        assert two.node(name) is not one.node(name)
        dropped = weakref.ref(one)
        key = id(one)
        del one
        gc.collect()
        assert dropped() is None and key not in version_module.NODES
