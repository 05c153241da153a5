"""secdns.wire.xfr_parser: transfer messages read into compact records, checked against dnspython's reading."""

from __future__ import annotations

import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from secdns.wire.xfr_parser import WireError, answer_records, expand_name

ORIGIN = dns.name.from_text("example.com")


def message(*records: str) -> bytes:
    query = dns.message.make_query(ORIGIN, dns.rdatatype.AXFR)
    response = dns.message.make_response(query)
    for text in records:
        name, ttl, rdclass, rdtype, rdata = text.split(None, 4)
        response.answer.append(dns.rrset.from_text(name, int(ttl), rdclass, rdtype, rdata))
    return response.to_wire()


SOA = "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 7 3600 600 86400 300"


def test_records_read_as_dnspython_reads_them():
    """Owners (compressed against owners, in mixed case) and RDATA (names decompressed) read back as dnspython reads them."""
    owners = ["example.com.", "a.example.com.", "b.a.example.com.", "B.A.example.com.", "c.b.a.EXAMPLE.com.", "x.example.com."]
    records = [SOA] + [f"{owner} 300 IN NS ns{i}.b.a.example.com." for i, owner in enumerate(owners)]
    records += [
        "x.example.com. 300 IN A 192.0.2.1",
        "x.example.com. 300 IN AAAA 2001:db8::1",
        "x.example.com. 300 IN MX 10 mail.b.a.example.com.",
        "x.example.com. 300 IN SRV 1 2 3 sip.a.example.com.",
        "x.example.com. 300 IN CNAME a.example.com.",
        "y.example.com. 300 IN TXT \"hello\" \"world\"",
        "y.example.com. 300 IN PTR B.a.example.com.",
        "z.example.com. 300 IN DNAME a.example.com.",
        SOA,
    ]
    wire = message(*records)
    expected = dns.message.from_wire(wire, one_rr_per_rrset=True)
    parsed = list(answer_records(wire, 1, len(expected.answer)))
    assert len(parsed) == len(expected.answer)
    for (owner, rdtype, rdclass, ttl, rdata), rrset in zip(parsed, expected.answer):
        key, labels, size, mixed = owner
        assert labels == rrset.name.labels
        assert key == tuple(label.lower() for label in rrset.name.labels)
        assert size == len(rrset.name.to_wire())
        assert mixed == (labels != key)
        assert (rdtype, rdclass, ttl) == (rrset.rdtype, rrset.rdclass, rrset.ttl)
        assert rdata == rrset[0].to_wire()  # uncompressed, original case
        assert dns.rdata.from_wire(rdclass, rdtype, rdata, 0, len(rdata)) == rrset[0]


def test_expand_name_follows_pointers_back():
    wire = b"\x07example\x03com\x00" + b"\x03www\xc0\x00"
    assert expand_name(wire, 13) == (b"\x03www\x07example\x03com\x00", 19)


@pytest.mark.parametrize(
    "wire, offset, reason",
    [
        (b"\x03www\xc0\x00", 0, "does not point back"),
        (b"\xc0\x00", 0, "does not point back"),
        (b"\x40abc", 0, "label type"),
        (b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63 + b"\x3f" + b"c" * 63 + b"\x3f" + b"d" * 63 + b"\x00", 0, "longer than 255"),
    ],
)
def test_bad_names_are_refused(wire, offset, reason):
    with pytest.raises(WireError, match=reason):
        expand_name(wire, offset)


def test_bad_rdata_is_refused():
    """A record whose RDATA does not parse (a TXT string running past its end) is a WireError."""
    header = b"\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00"
    record = b"\x01a\x00" + b"\x00\x10\x00\x01\x00\x00\x01\x2c\x00\x03" + b"\x05ab"
    with pytest.raises(WireError, match="TXT record does not parse"):
        list(answer_records(header + record, 0, 1))


def test_truncated_message_is_refused():
    header = b"\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00"
    with pytest.raises(WireError):
        list(answer_records(header + b"\x01a\x00\x00\x01\x00", 0, 1))
