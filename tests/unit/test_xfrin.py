"""secdns.transfer.transfer_in: the inbound transfer state machine, fed with messages written by hand."""

from __future__ import annotations

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

from secdns.transfer.requestor import PeerRcode
from secdns.transfer.transfer_in import (
    AXFR,
    IXFR,
    UP_TO_DATE,
    BadTransfer,
    Inbound,
    IxfrUnusable,
    LimitExceeded,
    Limits,
    SerialNotNewer,
)
from secdns.wire.compact import key_of
from secdns.zones.version import from_zone

ORIGIN = dns.name.from_text("example.com")


def soa(serial: int, owner: str = "example.com.") -> str:
    return f"{owner} 300 IN SOA ns1.example.com. hostmaster.example.com. {serial} 3600 600 86400 300"


BASE = [
    "example.com. 300 IN NS ns1.example.com.",
    "ns1.example.com. 300 IN A 192.0.2.1",
    "www.example.com. 300 IN A 192.0.2.80",
    "www.example.com. 300 IN A 192.0.2.81",
]


def zone_of(serial: int, records=BASE):
    text = "\n".join([soa(serial), *records])
    return from_zone(dns.zone.from_text(text, origin=ORIGIN, relativize=False))


def message(*records: str, rcode: int = dns.rcode.NOERROR, rdtype=dns.rdatatype.AXFR) -> bytes:
    """One response message whose answer section holds C{records} in that order."""
    query = dns.message.make_query(ORIGIN, rdtype)
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    for text in records:
        response.answer.append(dns.rrset.from_text(*_split(text)))
    return response.to_wire()


def _split(text: str):
    name, ttl, rdclass, rdtype, rdata = text.split(None, 4)
    return name, int(ttl), rdclass, rdtype, rdata


def run(inbound: Inbound, *messages: bytes):
    done = False
    for wire in messages:
        assert not done, "messages after the end"
        done = inbound.process(wire)
    return done


def names_and_types(data) -> set[tuple[str, str, str]]:
    return {
        (name.to_text(), dns.rdatatype.to_text(rds.rdtype), rdata.to_text())
        for name, rds in data.rrsets()
        for rdata in rds
    }


# -- AXFR


def test_axfr_in_one_message():
    """An AXFR of one message builds the zone it carries, SOA first and last."""
    inbound = Inbound(ORIGIN, AXFR, None)
    assert run(inbound, message(soa(7), *BASE, soa(7)))
    result = inbound.finish()
    assert result.kind == AXFR and result.serial == 7 and result.records == 6
    assert names_and_types(result.data) == names_and_types(zone_of(7))


def test_axfr_over_several_messages():
    """An AXFR split over messages is complete only at the final SOA."""
    inbound = Inbound(ORIGIN, AXFR, None)
    assert not inbound.process(message(soa(7), BASE[0]))
    assert not inbound.process(message(*BASE[1:]))
    assert inbound.process(message(soa(7)))
    assert inbound.finish().messages == 3


def test_axfr_missing_final_soa():
    """An AXFR that ends without its final SOA cannot be finished."""
    inbound = Inbound(ORIGIN, AXFR, None)
    assert not run(inbound, message(soa(7), *BASE))
    with pytest.raises(BadTransfer, match="without the final SOA"):
        inbound.finish()


def test_record_outside_the_zone():
    """A record whose owner is outside the zone aborts the transfer, naming it."""
    inbound = Inbound(ORIGIN, AXFR, None)
    with pytest.raises(BadTransfer, match="evil.example.net. A is outside the zone"):
        inbound.process(message(soa(7), *BASE, "evil.example.net. 300 IN A 192.0.2.66", soa(7)))


def test_records_after_final_soa():
    """Records after the final SOA are an error, in the same message or a later one."""
    inbound = Inbound(ORIGIN, AXFR, None)
    with pytest.raises(BadTransfer, match="after the final SOA"):
        inbound.process(message(soa(7), *BASE, soa(7), "x.example.com. 300 IN A 192.0.2.9"))
    inbound = Inbound(ORIGIN, AXFR, None)
    inbound.process(message(soa(7), *BASE, soa(7)))
    with pytest.raises(BadTransfer, match="after the final SOA"):
        inbound.process(message("x.example.com. 300 IN A 192.0.2.9"))


def test_final_soa_must_match_first():
    """An AXFR whose last SOA has another serial than its first is refused."""
    inbound = Inbound(ORIGIN, AXFR, None)
    with pytest.raises(BadTransfer, match="final SOA has serial 8"):
        inbound.process(message(soa(7), *BASE, soa(8)))


def test_soa_at_wrong_owner_in_axfr():
    """An SOA below the apex in an AXFR is refused."""
    inbound = Inbound(ORIGIN, AXFR, None)
    with pytest.raises(BadTransfer, match="SOA at sub.example.com"):
        inbound.process(message(soa(7), *BASE, soa(7, "sub.example.com."), soa(7)))


def test_transfer_must_start_with_soa():
    """A transfer whose first record is not the zone's SOA is refused."""
    with pytest.raises(BadTransfer, match="starts with NS"):
        Inbound(ORIGIN, AXFR, None).process(message(*BASE, soa(7)))


def test_zone_without_ns_is_refused():
    """A complete AXFR of a zone without NS at the apex fails validation."""
    inbound = Inbound(ORIGIN, AXFR, None)
    run(inbound, message(soa(7), "www.example.com. 300 IN A 192.0.2.80", soa(7)))
    with pytest.raises(BadTransfer, match="no NS records"):
        inbound.finish()


def test_axfr_error_rcode():
    """An AXFR answered NOTAUTH fails with the master's RCODE."""
    with pytest.raises(PeerRcode, match="NOTAUTH") as raised:
        Inbound(ORIGIN, AXFR, None).process(message(rcode=dns.rcode.NOTAUTH))
    assert raised.value.rcode == dns.rcode.NOTAUTH


def test_record_limit():
    """More records than max_records aborts the transfer with the key to raise."""
    inbound = Inbound(ORIGIN, AXFR, None, Limits(max_records=4))
    with pytest.raises(LimitExceeded, match=r"transfer.max_records \(4 records\)"):
        inbound.process(message(soa(7), *BASE, soa(7)))


def test_byte_limit():
    """More octets than max_bytes aborts the transfer with the key to raise."""
    inbound = Inbound(ORIGIN, AXFR, None, Limits(max_bytes=170))
    inbound.process(message(soa(7), BASE[0]))
    with pytest.raises(LimitExceeded, match=r"transfer.max_bytes \(170 octets\)"):
        inbound.process(message(*BASE[1:]))


def test_axfr_older_serial():
    """An AXFR whose serial is older than ours is refused from its first SOA."""
    with pytest.raises(SerialNotNewer, match="older than ours"):
        Inbound(ORIGIN, AXFR, zone_of(10)).process(message(soa(9), *BASE, soa(9)))


def test_served_version_untouched_by_axfr_failure():
    """A transfer that fails half way leaves the served version as it was."""
    current = zone_of(7)
    before = names_and_types(current)
    inbound = Inbound(ORIGIN, AXFR, current)
    inbound.process(message(soa(8), "www.example.com. 300 IN A 192.0.2.99"))
    with pytest.raises(BadTransfer):
        inbound.finish()
    assert names_and_types(current) == before


# -- IXFR


def ixfr(*records, rcode=dns.rcode.NOERROR):
    return message(*records, rcode=rcode, rdtype=dns.rdatatype.IXFR)


def test_ixfr_applies_diffs():
    """An IXFR of two diffs deletes and adds records on a copy, leaving the served version as it was."""
    current = zone_of(7)
    before = names_and_types(current)
    inbound = Inbound(ORIGIN, IXFR, current)
    done = run(
        inbound,
        ixfr(
            soa(9),
            soa(7),
            "www.example.com. 300 IN A 192.0.2.80",
            soa(8),
            "new.example.com. 300 IN A 192.0.2.8",
        ),
        ixfr(
            soa(8),
            "ns1.example.com. 300 IN A 192.0.2.1",
            soa(9),
            "ns1.example.com. 600 IN A 192.0.2.2",
            soa(9),
        ),
    )
    assert done
    result = inbound.finish()
    assert result.kind == IXFR and result.serial == 9
    assert names_and_types(current) == before
    after = names_and_types(result.data)
    assert ("www.example.com.", "A", "192.0.2.80") not in after
    assert ("www.example.com.", "A", "192.0.2.81") in after
    assert ("new.example.com.", "A", "192.0.2.8") in after
    assert ("ns1.example.com.", "A", "192.0.2.2") in after
    assert result.data.rdataset(dns.name.from_text("ns1.example.com"), dns.rdatatype.A).ttl == 600
    assert result.data.serial == 9
    www = key_of(dns.name.from_text("www.example.com"))
    assert result.data.owners[www] != current.owners[www]


def test_ixfr_owner_emptied_is_gone():
    """An IXFR deleting the last record of an owner removes the owner; owners it does not touch are shared."""
    current = zone_of(7, BASE + ["gone.example.com. 300 IN TXT bye"])
    inbound = Inbound(ORIGIN, IXFR, current)
    run(inbound, ixfr(soa(8), soa(7), 'gone.example.com. 300 IN TXT "bye"', soa(8), soa(8)))
    data = inbound.finish().data
    assert not data.exists(dns.name.from_text("gone.example.com"))
    www = key_of(dns.name.from_text("www.example.com"))
    assert data.owners[www] is current.owners[www]


def test_ixfr_up_to_date():
    """An IXFR answered with our own serial alone is 'up to date', with no new version."""
    inbound = Inbound(ORIGIN, IXFR, zone_of(7))
    assert inbound.process(ixfr(soa(7)))
    result = inbound.finish()
    assert result.kind == UP_TO_DATE and result.data is None


def test_ixfr_answered_with_whole_zone():
    """An IXFR answered AXFR-style is taken as a whole zone."""
    inbound = Inbound(ORIGIN, IXFR, zone_of(7))
    run(inbound, ixfr(soa(8), *BASE, "extra.example.com. 300 IN A 192.0.2.5", soa(8)))
    result = inbound.finish()
    assert result.kind == AXFR and result.style == IXFR
    assert ("extra.example.com.", "A", "192.0.2.5") in names_and_types(result.data)


def test_ixfr_deleting_what_we_do_not_have():
    """An IXFR deleting a record we do not have cannot be applied: AXFR may."""
    inbound = Inbound(ORIGIN, IXFR, zone_of(7))
    with pytest.raises(IxfrUnusable, match="deletes www.example.com. A 192.0.2.99, which we do not have"):
        inbound.process(ixfr(soa(8), soa(7), "www.example.com. 300 IN A 192.0.2.99", soa(8), soa(8)))


def test_ixfr_from_another_serial():
    """An IXFR whose first diff starts from another serial than ours is a serial gap."""
    inbound = Inbound(ORIGIN, IXFR, zone_of(7))
    with pytest.raises(IxfrUnusable, match="starts from serial 6, ours is 7"):
        inbound.process(ixfr(soa(8), soa(6), soa(8), soa(8)))


def test_ixfr_gap_between_diffs():
    """An IXFR whose diffs do not follow each other is a serial gap."""
    inbound = Inbound(ORIGIN, IXFR, zone_of(7))
    with pytest.raises(IxfrUnusable, match="diff starts from serial 9, the previous one ended at 8"):
        inbound.process(ixfr(soa(10), soa(7), soa(8), soa(9), soa(10), soa(10)))


def test_ixfr_soa_at_wrong_owner():
    """An SOA below the apex inside an IXFR makes it unusable."""
    inbound = Inbound(ORIGIN, IXFR, zone_of(7))
    with pytest.raises(IxfrUnusable, match="SOA at sub.example.com"):
        inbound.process(ixfr(soa(8), soa(7), soa(8, "sub.example.com."), soa(8)))


@pytest.mark.parametrize("rcode", [dns.rcode.NOTIMP, dns.rcode.REFUSED, dns.rcode.FORMERR])
def test_ixfr_refused_falls_back(rcode):
    """An IXFR answered NOTIMP, REFUSED or FORMERR is unusable, so the caller falls back to AXFR."""
    with pytest.raises(IxfrUnusable, match=dns.rcode.to_text(rcode)):
        Inbound(ORIGIN, IXFR, zone_of(7)).process(ixfr(rcode=rcode))


def test_ixfr_older_serial():
    """A master whose serial is older than ours is not applied."""
    with pytest.raises(SerialNotNewer):
        Inbound(ORIGIN, IXFR, zone_of(7)).process(ixfr(soa(6)))


def test_serial_wraps_around():
    """A serial that wrapped past 2**32 is newer (RFC 1982): 4294967295 -> 5."""
    inbound = Inbound(ORIGIN, IXFR, zone_of(4294967295))
    run(inbound, ixfr(soa(5), soa(4294967295), soa(5), "w.example.com. 300 IN A 192.0.2.5", soa(5)))
    assert inbound.finish().serial == 5
    with pytest.raises(SerialNotNewer):
        Inbound(ORIGIN, IXFR, zone_of(5)).process(ixfr(soa(4294967295)))


def test_ixfr_cut_off_half_way():
    """An IXFR that stops between diffs leaves nothing to apply."""
    inbound = Inbound(ORIGIN, IXFR, zone_of(7))
    assert not inbound.process(ixfr(soa(9), soa(7), soa(8)))
    with pytest.raises(BadTransfer, match="without the final SOA"):
        inbound.finish()


def test_ixfr_result_over_record_limit():
    """An IXFR that leaves the zone bigger than max_records is refused, even if the IXFR itself is small."""
    inbound = Inbound(ORIGIN, IXFR, zone_of(7), Limits(max_records=6))
    added = ["a.example.com. 300 IN A 192.0.2.5", "b.example.com. 300 IN A 192.0.2.6"]
    run(inbound, ixfr(soa(8), soa(7), soa(8), *added, soa(8)))
    with pytest.raises(LimitExceeded, match="would hold 7 records"):
        inbound.finish()


def test_dnssec_records_carried_through():
    """RRSIG, NSEC and DNSKEY records come through as they were sent, RRSIGs kept by covered type."""
    records = BASE + [
        "example.com. 300 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
        "example.com. 300 IN RRSIG NS 13 2 300 20300101000000 20200101000000 12345 example.com. AAAA",
        "example.com. 300 IN RRSIG SOA 13 2 300 20300101000000 20200101000000 12345 example.com. AAAA",
        "example.com. 300 IN NSEC ns1.example.com. NS SOA RRSIG NSEC DNSKEY",
    ]
    inbound = Inbound(ORIGIN, AXFR, None)
    run(inbound, message(soa(7), *records, soa(7)))
    data = inbound.finish().data
    assert data.signature(ORIGIN, dns.rdatatype.NS) is not None
    assert data.signature(ORIGIN, dns.rdatatype.SOA) is not None
    assert data.rdataset(ORIGIN, dns.rdatatype.DNSKEY) is not None


# -- the message parser (more in test_xfrwire)


def test_compression_pointer_loop_is_refused():
    """A name whose compression pointer points forward or at itself is refused, not followed forever."""
    header = b"\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00"
    looping = header + b"\x01a\xc0\x0c" + b"\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xc0\x00\x02\x01"
    inbound = Inbound(ORIGIN, AXFR, None)
    with pytest.raises(BadTransfer, match="does not point back"):
        inbound.process(looping)


def test_owner_case_kept_through_ixfr_answered_whole():
    """An IXFR answered AXFR-style keeps owners' case from its very first record on."""
    inbound = Inbound(ORIGIN, IXFR, zone_of(7))
    run(inbound, message(soa(8), "Mixed.example.com. 300 IN A 192.0.2.9", *BASE, soa(8), rdtype=dns.rdatatype.IXFR))
    data = inbound.finish().data
    names = {name.to_text() for name, _ in data.rrsets()}
    assert "Mixed.example.com." in names
