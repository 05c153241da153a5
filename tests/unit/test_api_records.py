"""secdns.ops.api.record_items: records as the cloud API's items, and PATCH, PUT and DELETE bodies as edits."""

from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdatatype
import pytest

from secdns.ops.api import record_items
from secdns.ops.api.errors import ApiError
from secdns.ops.api.record_items import Scope
from secdns.zones import edit
from secdns.zones.edit import ADD, REMOVE, REQUIRE, REQUIRE_ABSENT, Change

NET = dns.name.from_text("example.net")
WWW = dns.name.from_text("www.example.net")
MAIL = dns.name.from_text("mail.example.net")
A, NS, SOA, MX, TXT, CNAME = (dns.rdatatype.from_text(t) for t in ("A", "NS", "SOA", "MX", "TXT", "CNAME"))


def rd(rdtype: str, text: str):
    return dns.rdata.from_text("IN", rdtype, text, origin=NET, relativize=False)


@pytest.fixture
def data():
    """A dynamic zone: the default SOA and NS, two A records at www, an MX at the apex, a TXT at mail."""
    start = edit.initial_version(NET, 10)
    return edit.apply(start, [
        Change(ADD, WWW, A, rd("A", "192.0.2.1"), 300),
        Change(ADD, WWW, A, rd("A", "192.0.2.2"), 300),
        Change(ADD, NET, MX, rd("MX", "10 mail"), 600),
        Change(ADD, MAIL, TXT, rd("TXT", '"hello"'), 60),
    ], 11)


def items(data, scope=None, **kw):
    return record_items.render(data, scope or Scope(NET), True, **kw).items


def test_items_have_the_cloud_fields(data):
    """Each record is one item: domain without the final dot, absolute RDATA, TTL, hash, protection, version."""
    page = record_items.render(data, Scope(NET), True)
    assert page.total == 6 and page.next_page is None
    by_type = {(i["domain"], i["rtype"], i["rdata"]): i for i in page.items}
    mx = by_type[("example.net", "MX", "10 mail.example.net.")]
    assert (mx["ttl"], mx["isProtected"], mx["rrsetVersion"]) == (600, False, "11")
    assert by_type[("example.net", "NS", "ns1.example.net.")]["isProtected"] is True
    soa = [i for i in page.items if i["rtype"] == "SOA"][0]
    assert soa["isProtected"] and " 11 " in soa["rdata"]
    assert len({i["recordHash"] for i in page.items}) == 6


def test_every_record_of_a_zone_not_edited_here_is_protected(data):
    assert all(i["isProtected"] for i in record_items.render(data, Scope(NET), False).items)


def test_sorted_in_dns_order_and_paged(data):
    """Owners in DNSSEC order (the apex first), then type; pages follow one another with no gap or overlap."""
    domains = [i["domain"] for i in items(data)]
    assert domains == ["example.net"] * 3 + ["mail.example.net"] + ["www.example.net"] * 2
    first = record_items.render(data, Scope(NET), True, limit=4)
    second = record_items.render(data, Scope(NET), True, page=first.next_page, limit=4)
    assert first.next_page is not None and second.next_page is None and len(second.items) == 2
    assert first.items + second.items == items(data)
    assert [i["ttl"] for i in items(data, sort_by="ttl", descending=True)][0] == 3600


def test_scopes_and_filters(data):
    assert [i["rdata"] for i in items(data, Scope(NET, WWW, A))] == ["192.0.2.1", "192.0.2.2"]
    assert [i["rtype"] for i in items(data, Scope(NET, NET))] == ["NS", "SOA", "MX"]
    assert items(data, Scope(NET, dns.name.from_text("nothing.example.net"))) == []
    assert [i["domain"] for i in items(data, domain_contains="MAIL")] == ["mail.example.net"]
    assert {i["rtype"] for i in items(data, rtype=A)} == {"A"}


def test_patch_operations(data):
    """ADD, REMOVE (record, RRset, domain), REQUIRE and PROHIBIT become the edit's changes; rdata is read with the origin."""
    body = {"items": [
        {"operation": "ADD", "domain": "ftp.example.net", "rtype": "cname", "rdata": "www", "ttl": 30},
        {"operation": "REMOVE", "domain": "www.example.net", "rtype": "A", "rdata": "192.0.2.1"},
        {"operation": "REMOVE", "domain": "mail.example.net", "rtype": "TXT"},
        {"operation": "REMOVE", "domain": "old.example.net."},
        {"operation": "REQUIRE", "domain": "www.example.net", "rtype": "A"},
        {"operation": "PROHIBIT", "domain": "ftp.example.net"},
    ]}
    changes, read_against = record_items.patch_changes(body, Scope(NET), data)
    old = dns.name.from_text("old.example.net")
    assert changes == [
        Change(ADD, dns.name.from_text("ftp.example.net"), CNAME, rd("CNAME", "www.example.net."), 30),
        Change(REMOVE, WWW, A, rd("A", "192.0.2.1")),
        Change(REMOVE, MAIL, TXT),
        Change(REMOVE, old),
        Change(REQUIRE, WWW, A),
        Change(REQUIRE_ABSENT, dns.name.from_text("ftp.example.net")),
    ]
    assert read_against is False
    result = edit.apply(data, changes[:4], 12)
    assert result.rdataset(dns.name.from_text("ftp.example.net"), CNAME)[0].target == WWW


def test_patch_by_record_hash(data):
    """An item may name its record by recordHash alone; the changes are then read against the version."""
    target = [i for i in items(data) if i["rdata"] == "192.0.2.2"][0]
    changes, read_against = record_items.patch_changes({"items": [{"operation": "REMOVE", "recordHash": target["recordHash"]}]}, Scope(NET), data)
    assert changes == [Change(REMOVE, WWW, A, rd("A", "192.0.2.2"))] and read_against
    with pytest.raises(ApiError) as caught:
        record_items.patch_changes({"items": [{"operation": "REQUIRE", "recordHash": "0" * 32}]}, Scope(NET), data)
    assert caught.value.status == 412


def test_path_scope_fills_and_checks_items(data):
    """Under /records/{domain}/{rtype}, items may leave out domain and rtype, and may not name others."""
    scope = Scope(NET, WWW, A)
    changes, _ = record_items.patch_changes({"items": [{"operation": "ADD", "rdata": "192.0.2.3", "ttl": 300}]}, scope, data)
    assert changes == [Change(ADD, WWW, A, rd("A", "192.0.2.3"), 300)]
    with pytest.raises(ApiError, match="is not the domain of the path"):
        record_items.patch_changes({"items": [{"operation": "ADD", "domain": "mail.example.net", "rdata": "192.0.2.3", "ttl": 3}]}, scope, data)
    with pytest.raises(ApiError, match="is not the rtype of the path"):
        record_items.patch_changes({"items": [{"operation": "ADD", "rtype": "AAAA", "rdata": "::1", "ttl": 3}]}, scope, data)


@pytest.mark.parametrize(
    "entry, words",
    [
        ({"operation": "ADD", "domain": "x.example.net", "rtype": "MX", "rdata": "bogus", "ttl": 1}, "items[0].rdata is not valid MX data"),
        ({"operation": "ADD", "domain": "x.example.net", "rtype": "A", "rdata": "300.1.1.1", "ttl": 1}, "is not valid A data"),
        ({"operation": "ADD", "domain": "x.example.net", "rtype": "A", "rdata": "   ", "ttl": 1}, "rdata is empty"),
        ({"operation": "ADD", "domain": "x.example.net", "rtype": "A", "rdata": "192.0.2.1"}, "ttl missing"),
        ({"operation": "ADD", "domain": "x.example.org", "rtype": "A", "rdata": "192.0.2.1", "ttl": 1}, "is not in zone example.net"),
        ({"operation": "ADD", "domain": "x.example.net", "rtype": "BOGUS", "rdata": "1", "ttl": 1}, "is not a record type"),
        ({"operation": "ADD", "domain": "x.example.net", "rtype": "ANY", "rdata": "1", "ttl": 1}, "is not a type of record"),
        ({"operation": "ADD", "domain": "x.example.net", "rtype": "A", "rdata": "192.0.2.1", "ttl": -1}, "ttl must be from 0"),
        ({"operation": "UPSERT", "domain": "x.example.net"}, "operation must be one of ADD, REMOVE, REQUIRE, PROHIBIT"),
        ({"domain": "x.example.net"}, "operation is required"),
        ({"operation": "REMOVE"}, "domain is required"),
        ({"operation": "REMOVE", "domain": "x.example.net", "rdata": "192.0.2.1"}, "rdata needs an rtype"),
    ],
)
def test_patch_refusals(data, entry, words):
    with pytest.raises(ApiError) as caught:
        record_items.patch_changes({"items": [entry]}, Scope(NET), data)
    assert words in caught.value.message and caught.value.status == 400


def test_put_replaces_and_keeps_the_protected_records(data):
    """A whole-zone PUT removes what it does not list (not the apex SOA and NS), adds what is new, keeps what is there."""
    body = {"items": [
        {"domain": "www.example.net", "rtype": "A", "rdata": "192.0.2.2", "ttl": 300},
        {"domain": "new.example.net", "rtype": "AAAA", "rdata": "2001:db8::1", "ttl": 60},
    ]}
    changes = record_items.put_changes(body, Scope(NET), data)
    new = dns.name.from_text("new.example.net")
    assert sorted(changes, key=repr) == sorted([
        Change(REMOVE, NET, MX), Change(REMOVE, MAIL, TXT), Change(REMOVE, WWW, A, rd("A", "192.0.2.1")),
        Change(ADD, new, dns.rdatatype.AAAA, rd("AAAA", "2001:db8::1"), 60),
    ], key=repr)
    assert changes[-1].operation == ADD  # removals first
    result = edit.apply(data, changes, 12)
    assert result.record_count == 4 and result.rdataset(NET, NS) is not None


def test_put_of_what_is_there_changes_nothing(data):
    """A PUT of an RRset as it is makes no change (and so no new version)."""
    body = {"items": [{"rdata": "192.0.2.1", "ttl": 300}, {"rdata": "192.0.2.2", "ttl": 300}]}
    assert record_items.put_changes(body, Scope(NET, WWW, A), data) == []
    changed = record_items.put_changes({"items": [{"rdata": "192.0.2.1", "ttl": 60}]}, Scope(NET, WWW, A), data)
    assert Change(ADD, WWW, A, rd("A", "192.0.2.1"), 60) in changed


def test_put_refuses_two_ttls_in_one_rrset(data):
    body = {"items": [{"rdata": "192.0.2.1", "ttl": 300}, {"rdata": "192.0.2.2", "ttl": 30}]}
    with pytest.raises(ApiError, match="one RRset has one TTL"):
        record_items.put_changes(body, Scope(NET, WWW, A), data)


def test_delete(data):
    """DELETE of a domain removes its records; at the apex, all but the SOA and NS; of nothing, no change."""
    assert record_items.delete_changes(Scope(NET, WWW), data) == [Change(REMOVE, WWW, None)]
    assert record_items.delete_changes(Scope(NET, WWW, A), data) == [Change(REMOVE, WWW, A)]
    assert record_items.delete_changes(Scope(NET, NET), data) == [Change(REMOVE, NET, MX)]
    assert record_items.delete_changes(Scope(NET, dns.name.from_text("nothing.example.net")), data) == []


def test_guard_holds_only_for_its_version(data):
    """The guard (the version's SOA as a REQUIRE) passes on that version and fails on the next."""
    guard = record_items.guard(data)
    later = edit.apply(data, [guard], 12)
    with pytest.raises(edit.EditRefused) as caught:
        edit.apply(later, [guard], 13)
    assert caught.value.change is guard and caught.value.kind == "precondition"


def every_page(data, limit, **kw):
    items, page = [], None
    for _ in range(100):
        answer = record_items.render(data, Scope(NET), True, page=page, limit=limit, **kw)
        items += answer.items
        page = answer.next_page
        if page is None:
            return items
    raise AssertionError("pages never ended")


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 100])
@pytest.mark.parametrize("descending", [False, True])
def test_paging_by_owner_is_the_full_sort_paged(data, limit, descending):
    """The whole zone paged owner by owner (never reading it all) lists what the full sort lists, in its order."""
    assert every_page(data, limit, descending=descending) == every_page(data, 100, descending=descending, domain_contains="")
    assert len(every_page(data, limit, descending=descending)) == 6


@pytest.mark.parametrize("page", ["x", "1", "1.2.3", "-1.0"])
def test_a_page_token_from_elsewhere_is_400(data, page):
    with pytest.raises(ApiError) as caught:
        record_items.render(data, Scope(NET), True, page=page)
    assert caught.value.status == 400
    with pytest.raises(ApiError):
        record_items.render(data, Scope(NET), True, page="1.0", rtype=A)


def test_put_of_an_soa_with_a_greater_serial_is_a_change(data):
    """An SOA given as it is (any serial not greater) changes nothing; with a greater serial it is added, so the zone takes it."""
    soa = data.soa[0]
    same = {"items": [{"rdata": soa.to_text(), "ttl": data.soa.ttl}]}
    lower = {"items": [{"rdata": soa.replace(serial=soa.serial - 1).to_text(), "ttl": data.soa.ttl}]}
    assert record_items.put_changes(same, Scope(NET, NET, SOA), data) == []
    assert record_items.put_changes(lower, Scope(NET, NET, SOA), data) == []
    greater = soa.replace(serial=soa.serial + 100)
    assert record_items.put_changes({"items": [{"rdata": greater.to_text(), "ttl": data.soa.ttl}]}, Scope(NET, NET, SOA), data) == [
        Change(ADD, NET, SOA, greater, data.soa.ttl)
    ]
