"""secdns.zones.edit: record changes applied all or none, checked as a zone."""

from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdatatype
import pytest

from secdns.zones.edit import ADD, REMOVE, REQUIRE, REQUIRE_ABSENT, Change, EditRefused, apply, records_of
from secdns.zones.version import from_rrsets
import dns.rrset

ORIGIN = dns.name.from_text("example.org")



def zone():
    return from_rrsets(ORIGIN, [
        dns.rrset.from_text("example.org.", 300, "IN", "SOA", "ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300"),
        dns.rrset.from_text("example.org.", 300, "IN", "NS", "ns1.example.org."),
        dns.rrset.from_text("ns1.example.org.", 300, "IN", "A", "192.0.2.1"),
        dns.rrset.from_text("www.example.org.", 300, "IN", "A", "192.0.2.80"),
    ])


def name(text: str) -> dns.name.Name:
    return dns.name.from_text(text, ORIGIN)


def rdata(rdtype: str, text: str, origin=ORIGIN) -> dns.rdata.Rdata:
    return dns.rdata.from_text("IN", rdtype, text, origin=origin, relativize=False)


A = dns.rdatatype.A


def served(data, owner: str, rdtype=A):
    rds = data.rdataset(name(owner), rdtype)
    return None if rds is None else sorted(r.to_text() for r in rds)


def test_add_and_remove_make_one_new_version_under_the_serial_given():
    old = zone()
    new = apply(old, [
        Change(ADD, name("mail"), A, rdata("A", "192.0.2.25"), 600),
        Change(REMOVE, name("www"), A, rdata("A", "192.0.2.80")),
    ], serial=2)
    assert new.serial == 2 and old.serial == 1
    assert served(new, "mail") == ["192.0.2.25"] and new.rdataset(name("mail"), A).ttl == 600
    assert served(new, "www") is None and not new.exists(name("www"))
    assert served(old, "www") == ["192.0.2.80"]
    assert new.record_count == old.record_count


def test_an_rrset_has_the_last_ttl_given():
    new = apply(zone(), [Change(ADD, name("www"), A, rdata("A", "192.0.2.81"), 60)], serial=2)
    assert served(new, "www") == ["192.0.2.80", "192.0.2.81"]
    assert new.rdataset(name("www"), A).ttl == 60
    assert new.record_count == zone().record_count + 1


def test_a_failed_precondition_changes_nothing():
    old = zone()
    with pytest.raises(EditRefused) as e:
        apply(old, [
            Change(ADD, name("mail"), A, rdata("A", "192.0.2.25"), 600),
            Change(REQUIRE, name("www"), A, rdata("A", "192.0.2.99")),
        ], serial=2)
    assert e.value.kind == "precondition"
    assert served(old, "mail") is None


@pytest.mark.parametrize("change, holds", [
    (Change(REQUIRE, name("www")), True),
    (Change(REQUIRE, name("nothere")), False),
    (Change(REQUIRE, name("www"), A), True),
    (Change(REQUIRE, name("www"), dns.rdatatype.AAAA), False),
    (Change(REQUIRE_ABSENT, name("nothere")), True),
    (Change(REQUIRE_ABSENT, name("www"), A), False),
])
def test_preconditions(change, holds):
    if holds:
        assert apply(zone(), [change], serial=2).serial == 2
    else:
        with pytest.raises(EditRefused):
            apply(zone(), [change], serial=2)


def test_an_empty_non_terminal_is_not_a_name_in_use():
    """A name that owns nothing but has descendants exists in DNS but is not in use (RFC 2136 section 2.4.4)."""
    data = apply(zone(), [Change(ADD, name("a.b"), A, rdata("A", "192.0.2.7"), 300)], serial=2)
    assert data.exists(name("b"))
    assert apply(data, [Change(REQUIRE_ABSENT, name("b"))], serial=3).serial == 3
    with pytest.raises(EditRefused):
        apply(data, [Change(REQUIRE, name("b"))], serial=3)


@pytest.mark.parametrize("changes, message", [
    ([Change(ADD, name("www"), dns.rdatatype.CNAME, rdata("CNAME", "ns1"), 300)], "CNAME cannot be beside other data (A)"),
    ([Change(REMOVE, ORIGIN, dns.rdatatype.NS)], "NS records cannot all be removed"),
    ([Change(REMOVE, ORIGIN)], "SOA and NS cannot be removed"),
    ([Change(REMOVE, ORIGIN, dns.rdatatype.SOA)], "SOA record cannot be removed"),
    ([Change(ADD, dns.name.from_text("www.example.com"), A, rdata("A", "192.0.2.1"), 300)], "not in zone example.org."),
    ([Change(ADD, name("www"), A, rdata("A", "192.0.2.1"), None)], "needs a TTL"),
    ([Change(ADD, name("www"), dns.rdatatype.ANY, None, 300)], "needs a record"),
    ([Change("UPSERT", name("www"))], "unknown operation"),
])
def test_invalid_changes_are_refused_with_a_reason(changes, message):
    with pytest.raises(EditRefused) as e:
        apply(zone(), changes, serial=2)
    assert message in str(e.value) and e.value.kind == "invalid"


def test_adding_an_soa_replaces_it_but_the_serial_is_the_one_given():
    new = apply(zone(), [Change(ADD, ORIGIN, dns.rdatatype.SOA, rdata("SOA", "ns1 admin 99 3600 600 86400 60"), 300)], serial=5)
    assert new.serial == 5
    assert new.soa[0].rname == name("admin") and new.soa[0].minimum == 60


def test_removing_a_whole_name():
    new = apply(zone(), [Change(REMOVE, name("www"))], serial=2)
    assert not new.exists(name("www")) and new.record_count == zone().record_count - 1


def test_records_of():
    data = zone()
    assert [(str(n), r.rdtype) for n, r in records_of(data, name("www"))] == [("www.example.org.", A)]
    assert [r.rdtype for _, r in records_of(data)][0] == dns.rdatatype.SOA
