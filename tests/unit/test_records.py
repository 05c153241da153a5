"""secdns.wire.compact: an owner's records in compact wire form, and back."""

from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdataset
import dns.rdatatype
import dns.rrset
import pytest

from secdns.wire.compact import _FAST_RDATA, RECORD, decode, encode, key_of, name_wire, normalize, rrset_types


def rdataset(rdtype: str, ttl: int, *texts: str) -> dns.rdataset.Rdataset:
    return dns.rrset.from_text("x.example.", ttl, "IN", rdtype, *texts).to_rdataset()


def record(rdtype: str, ttl: int, text: str) -> bytes:
    wire = dns.rdata.from_text("IN", rdtype, text).to_wire()
    return RECORD.pack(dns.rdatatype.from_text(rdtype), ttl, len(wire)) + wire


def test_encode_decode_round_trip():
    """RRsets (signatures by the type they cover) come back equal, TTLs and all."""
    rrsets = [
        rdataset("A", 300, "192.0.2.1", "192.0.2.2"),
        rdataset("AAAA", 60, "2001:db8::1"),
        rdataset("MX", 300, "10 Mail.Example."),
        rdataset("TXT", 300, '"hello world"'),
        rdataset("RRSIG", 300, "A 13 2 300 20301231000000 20201231000000 1 example. AAAA"),
        rdataset("RRSIG", 300, "MX 13 2 300 20301231000000 20201231000000 1 example. AAAA"),
    ]
    back = decode(encode(rrsets))
    assert [(r.rdtype, r.covers, r.ttl, set(r)) for r in back] == [(r.rdtype, r.covers, r.ttl, set(r)) for r in rrsets]
    assert str(back[2][0].exchange) == "Mail.Example."  # names keep their case
    assert rrset_types(encode(rrsets)) == [
        (dns.rdatatype.A, 0),
        (dns.rdatatype.AAAA, 0),
        (dns.rdatatype.MX, 0),
        (dns.rdatatype.TXT, 0),
        (dns.rdatatype.RRSIG, dns.rdatatype.A),
        (dns.rdatatype.RRSIG, dns.rdatatype.MX),
    ]


def test_normalize_groups_dedupes_and_takes_lowest_ttl():
    """As dnspython builds RRsets: grouped by type, each record once, the lowest TTL, the last SOA."""
    records = [
        record("A", 300, "192.0.2.1"),
        record("TXT", 60, "t"),
        record("A", 100, "192.0.2.2"),
        record("A", 300, "192.0.2.1"),
        record("SOA", 300, "ns. host. 1 2 3 4 5"),
        record("SOA", 300, "ns. host. 2 2 3 4 5"),
    ]
    blob, count = normalize(records)
    assert count == 4
    rrsets = {r.rdtype: r for r in decode(blob)}
    assert rrsets[dns.rdatatype.A].ttl == 100 and len(rrsets[dns.rdatatype.A]) == 2
    assert rrsets[dns.rdatatype.SOA][0].serial == 2


def test_keys_and_names():
    name = dns.name.from_text("Www.Example.ORG.")
    assert key_of(name) == (b"www", b"example", b"org", b"")
    assert name_wire(name.labels) == name.to_wire()


def test_fast_rdata_in_use():
    """The direct builders agree with dnspython here, so they are used."""
    assert set(_FAST_RDATA) == {
        dns.rdatatype.A,
        dns.rdatatype.AAAA,
        dns.rdatatype.NS,
        dns.rdatatype.CNAME,
        dns.rdatatype.PTR,
        dns.rdatatype.DNAME,
        dns.rdatatype.MX,
    }


@pytest.mark.parametrize(
    "rdtype, text",
    [
        ("A", "192.0.2.1"),
        ("AAAA", "2001:db8::1"),
        ("NS", "Ns1.Example.org."),
        ("CNAME", "."),
        ("PTR", "host.example."),
        ("DNAME", "target.example."),
        ("MX", "65535 Mail.example."),
        ("MX", "0 ."),
    ],
)
def test_fast_rdata_equal_to_dnspython(rdtype, text):
    """Records made by the direct builders equal dnspython's, hash alike and write alike."""
    expected = dns.rdata.from_text("IN", rdtype, text)
    (rds,) = decode(record(rdtype, 300, text))
    (made,) = rds
    assert made == expected and hash(made) == hash(expected)
    assert made.to_text() == expected.to_text() and made.to_wire() == expected.to_wire()
    assert type(made) is type(expected)


def test_names_from_labels_are_dnspython_names():
    """The direct Name builder is in use here and makes names equal to dnspython's in every way."""
    from secdns.wire.compact import name_from_labels

    name = dns.name.from_text("*.Sub.example.ORG.")
    built = name_from_labels(name.labels)
    assert name_from_labels is not dns.name.Name
    assert built == name and hash(built) == hash(name) and built.labels == name.labels
    assert built.to_wire() == name.to_wire() and str(built) == str(name) and built.is_wild()


def test_normalize_merges_records_equal_but_for_name_case():
    """NS NS1.example. and NS ns1.example. are one record, the first, as dnspython has them; MX preferences are not names."""
    blob, count = normalize(
        [
            record("NS", 300, "NS1.example."),
            record("NS", 300, "ns1.example."),
            record("MX", 300, "65 mail.example."),  # 65 is "A" as an octet
            record("MX", 300, "97 mail.example."),  # and 97 "a": two records
        ]
    )
    rrsets = {r.rdtype: r for r in decode(blob)}
    assert count == 3
    assert [str(r.target) for r in rrsets[dns.rdatatype.NS]] == ["NS1.example."]
    assert sorted(r.preference for r in rrsets[dns.rdatatype.MX]) == [65, 97]
