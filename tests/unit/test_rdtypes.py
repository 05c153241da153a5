"""secdns.wire.rdtypes: each RDATA layout checked against dnspython's rdata classes, and the tables derived from it."""

from __future__ import annotations

import io
import socket
import subprocess
import sys

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from secdns.wire import compact, writer, xfr_parser, zonefile_parser
from secdns.wire.rdtypes import LAYOUTS, SINGLETONS, Number, RdataLayout

IN = dns.rdataclass.IN
T = dns.rdatatype

#: Records of each described type, their names in mixed case.
SAMPLES = {
    T.A: ["192.0.2.1", "0.0.0.0", "255.255.255.255"],
    T.AAAA: ["2001:db8::1", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    T.NS: ["Ns1.Example.ORG.", "."],
    T.CNAME: ["Target.Example."],
    T.PTR: ["Host.EXAMPLE."],
    T.DNAME: ["Target.Example."],
    T.MX: ["10 Mail.Example.", "65535 .", "258 mx.example."],
    T.SRV: ["1 2 5060 Sip.Example.", "65535 258 772 ."],
    T.SOA: ["Ns1.Example. Hostmaster.Example. 2024010101 3600 600 86400 4294967295", ". . 0 1 2 3 4"],
}

CASES = [(rdtype, text) for rdtype, texts in SAMPLES.items() for text in texts]


def rdata_of(rdtype: int, text: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(IN, rdtype, text)


def pack(layout: RdataLayout, rdata, name=lambda name: name.to_wire()) -> bytes:
    """The wire form of C{rdata} as C{layout} says it is laid out."""
    if layout.address_family is not None:
        return socket.inet_pton(layout.address_family, rdata.address)
    return (
        layout.before_struct.pack(*[getattr(rdata, number.field) for number in layout.before])
        + b"".join(name(getattr(rdata, field)) for field in layout.names)
        + layout.after_struct.pack(*[getattr(rdata, number.field) for number in layout.after])
    )


def test_every_layout_has_samples():
    assert set(SAMPLES) == set(LAYOUTS)
    assert all(layout.rdtype == rdtype for rdtype, layout in LAYOUTS.items())


def slots(cls) -> set[str]:
    return {slot for klass in cls.__mro__ for slot in getattr(klass, "__slots__", ())}


def test_fields_are_dnspython_attributes():
    """A layout names every attribute of dnspython's rdata class, and nothing else."""
    common = slots(dns.rdata.Rdata)
    for rdtype, layout in LAYOUTS.items():
        own = slots(dns.rdata.get_rdata_class(IN, rdtype)) - common
        if layout.address_family is not None:
            fields = {"address"}
            assert not layout.before and not layout.names and not layout.after
        else:
            fields = {number.field for number in layout.before + layout.after} | set(layout.names)
            assert layout.names and layout.size is None
        assert fields == own, rdtype


@pytest.mark.parametrize("rdtype, text", CASES)
def test_layout_writes_as_dnspython(rdtype, text):
    """Each field packed where the layout puts it, at the size it gives, is dnspython's wire form."""
    layout = LAYOUTS[rdtype]
    rdata = rdata_of(rdtype, text)
    wire = rdata.to_wire()
    assert pack(layout, rdata) == wire
    if layout.size is not None:
        assert len(wire) == layout.size


@pytest.mark.parametrize("rdtype, text", CASES)
def test_layout_reads_as_dnspython(rdtype, text):
    """Reading dnspython's wire form by the layout gives dnspython's fields, and ends where the RDATA ends."""
    layout = LAYOUTS[rdtype]
    rdata = rdata_of(rdtype, text)
    wire = rdata.to_wire()
    if layout.address_family is not None:
        assert socket.inet_ntop(layout.address_family, wire) == rdata.address
        return
    values = layout.before_struct.unpack_from(wire)
    assert values == tuple(getattr(rdata, number.field) for number in layout.before)
    offset = layout.names_at
    for field in layout.names:
        name, used = dns.name.from_wire(wire, offset)
        assert name == getattr(rdata, field) and name.labels == getattr(rdata, field).labels
        offset += used
    assert layout.after_struct.unpack_from(wire, offset) == tuple(getattr(rdata, number.field) for number in layout.after)
    assert offset + layout.after_size == len(wire)


@pytest.mark.parametrize("rdtype", sorted(LAYOUTS))
def test_compressed_as_dnspython(rdtype):
    """A layout's names are compressed exactly when dnspython compresses them in a message."""
    layout = LAYOUTS[rdtype]
    if not layout.names:
        assert not layout.compressed
        return
    rdata = rdata_of(rdtype, sample_text(layout))
    assert written_compressed(rdata) == layout.compressed


#: Types with names that no layout describes: the writer writes them as
#: they are, which is right only as long as dnspython does not compress them.
UNDESCRIBED_WITH_NAMES = {
    T.AFSDB: "1 Db.Example.",
    T.KX: "1 Kx.Example.",
    T.RT: "1 Rt.Example.",
    T.LP: "1 L.Example.",
    T.NAPTR: '100 10 "u" "E2U+sip" "" Sip.Example.',
    T.RP: "Mbox.Example. Txt.Example.",
    T.PX: "1 Map822.Example. Mapx400.Example.",
    T.NSEC: "Next.Example. A NS",
    T.AMTRELAY: "1 0 3 Relay.Example.",
    T.IPSECKEY: "1 3 2 Gw.Example. AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==",
    T.SVCB: "1 Svc.Example. alpn=h2",
    T.HTTPS: "1 Svc.Example. alpn=h2",
}


@pytest.mark.parametrize("rdtype", sorted(UNDESCRIBED_WITH_NAMES))
def test_no_other_type_compressed(rdtype):
    assert rdtype not in LAYOUTS
    assert not written_compressed(rdata_of(rdtype, UNDESCRIBED_WITH_NAMES[rdtype]))


def sample_text(layout: RdataLayout) -> str:
    """A record of C{layout}'s type whose names all end in Example. (text order is wire order for these types)."""
    fields = [str(7 + i) for i in range(len(layout.before))]
    fields += [f"Name{i}.Example." for i in range(len(layout.names))]
    fields += [str(7 + i) for i in range(len(layout.after))]
    return " ".join(fields)


def written_compressed(rdata) -> bool:
    """Whether dnspython writes C{rdata} shorter after Example. was written to the same message."""
    out = io.BytesIO()
    compress: dict = {}
    dns.name.from_text("example.").to_wire(out, compress)
    start = out.tell()
    rdata.to_wire(out, compress)
    return out.getvalue()[start:] != rdata.to_wire()


@pytest.mark.parametrize("rdtype, text", CASES)
def test_case_insensitive_as_dnspython(rdtype, text):
    """The canonical form (dnspython's to_digestable) lowercases a layout's names exactly when it says so."""
    layout = LAYOUTS[rdtype]
    rdata = rdata_of(rdtype, text)
    if layout.names:
        assert layout.case_insensitive
        assert rdata.to_digestable() == pack(layout, rdata, lambda name: name.to_wire().lower())
    else:
        assert rdata.to_digestable() == rdata.to_wire()


def test_singletons_are_dnspython_singletons():
    assert SINGLETONS == {t for t in T.RdataType if T.is_singleton(t)}
    assert compact.SINGLETONS is SINGLETONS
    for rdtype, layout in LAYOUTS.items():
        assert layout.singleton == T.is_singleton(rdtype)
    assert {rdtype for rdtype, layout in LAYOUTS.items() if layout.singleton} == {T.CNAME, T.DNAME, T.SOA}


def test_numbers_are_network_order_sizes():
    with pytest.raises(ValueError):
        Number("x", 3)
    with pytest.raises(ValueError):
        Number("x.y", 2)
    with pytest.raises(ValueError):
        RdataLayout(T.NS, names=("target; import os",))
    mx = LAYOUTS[T.MX]
    assert mx.before_struct.format == "!H" and mx.names_at == 2
    soa = LAYOUTS[T.SOA]
    assert soa.after_struct.format == "!IIIII" and soa.after_size == 20 and soa.names_at == 0
    assert LAYOUTS[T.SRV].names_at == 6


def test_derived_tables():
    """What each module derives from the layouts: the tables each of them kept before."""
    assert xfr_parser._PLAIN == {T.A: 4, T.AAAA: 16}
    assert xfr_parser._NAMED == {
        T.NS: (0, 1, 0),
        T.CNAME: (0, 1, 0),
        T.PTR: (0, 1, 0),
        T.DNAME: (0, 1, 0),
        T.MX: (2, 1, 0),
        T.SRV: (6, 1, 0),
        T.SOA: (0, 2, 20),
    }
    assert compact._NAMES_AT == {T.NS: 0, T.CNAME: 0, T.PTR: 0, T.DNAME: 0, T.MX: 2, T.SRV: 6}
    assert {rdata_class.__name__ for rdata_class in writer._compressed_pieces} == {"NS", "CNAME", "PTR", "MX", "SOA"}
    assert all(rdata_class is dns.rdata.get_rdata_class(IN, T.from_text(rdata_class.__name__)) for rdata_class in writer._compressed_pieces)
    assert zonefile_parser._FAMILIES == {T.A: socket.AF_INET, T.AAAA: socket.AF_INET6}
    assert set(zonefile_parser._SIMPLE) == {T.NS, T.CNAME, T.PTR, T.DNAME, T.MX, T.SRV}


@pytest.mark.parametrize("rdtype", [rdtype for rdtype, layout in LAYOUTS.items() if layout.compressed])
def test_writer_pieces_are_the_rdata(rdtype):
    """The writer's pieces of a compressed type, names written out, are dnspython's uncompressed wire form."""
    for text in SAMPLES[rdtype]:
        rdata = rdata_of(rdtype, text)
        pieces = writer._compressed_pieces[type(rdata)](rdata)
        assert b"".join(piece if type(piece) is bytes else piece[0] for piece in pieces) == rdata.to_wire()


@pytest.mark.parametrize("rdtype, text", [(rdtype, text) for rdtype, text in CASES if rdtype in zonefile_parser._SIMPLE])
def test_zone_file_packing_is_the_rdata(rdtype, text):
    origin = dns.name.from_text("example.")
    packed = zonefile_parser._SIMPLE[rdtype](text.split(), origin.labels, zonefile_parser._room(origin.labels))
    assert packed == rdata_of(rdtype, text).to_wire()


def test_no_twisted():
    """The layouts are plain data: importing them imports nothing of Twisted."""
    code = "import sys, secdns.wire.rdtypes; print(sorted(m for m in sys.modules if m.split('.')[0] == 'twisted'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("rdtype", [T.SRV, T.DNAME])
def test_writer_pieces_of_any_layout(rdtype):
    """The writer's pieces follow any layout, not only those of the types it compresses."""
    pieces = writer._pieces(LAYOUTS[rdtype])
    for text in SAMPLES[rdtype]:
        rdata = rdata_of(rdtype, text)
        assert b"".join(piece if type(piece) is bytes else piece[0] for piece in pieces(rdata)) == rdata.to_wire()
