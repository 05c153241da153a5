"""
DNS UPDATE decided (secdns.wire.update, secdns.zones.update): messages built
by hand, byte by byte, checked against a zone.  The expected rcodes are
BIND 9.18's for the same messages and zone (sent to named while writing
this; tests/integration/test_update.py compares the two live).
"""

from __future__ import annotations

import dns.exception
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.rrset
import dns.update
import pytest

from secdns.config import PRIMARY, SECONDARY, ZoneConfig
from secdns.wire.update import UpdateRecord, read_update
from secdns.zones.edit import ADD, REQUIRE, REQUIRE_ABSENT, Change, apply
from secdns.zones.update import decide, failed_rcode
from secdns.zones.version import from_rrsets
from secdns.zones.zone import Zone
from tests.updates import BIND_CASES as CASES, SEED as RECORDS, rr, update_wire

ORIGIN = dns.name.from_text("example.org.")
KEY = dns.name.from_text("upd-key.")
OTHER = dns.name.from_text("other-key.")


def data():
    rrsets = []
    for line in RECORDS.splitlines():
        owner, ttl, rdtype, text = line.split(" ", 3)
        rrsets.append(dns.rrset.from_text(owner, int(ttl), "IN", rdtype, text))
    return from_rrsets(ORIGIN, rrsets)


def zone(**config) -> Zone:
    settings = dict(type=PRIMARY, allow_update=(KEY,))
    settings.update(config)
    return Zone(ZoneConfig(ORIGIN, **settings), data())


def decided(prerequisites=(), updates=(), key=KEY, target=None, **message):
    request = read_update(update_wire(prerequisites, updates, **message))
    return decide(request, zone() if target is None else target, key)


def rcode(decision) -> str:
    return dns.rcode.to_text(decision.rcode)


def applied(decision):
    """The version the decision's changes make of the zone, as the core would make it."""
    return apply(data(), decision.changes, serial=2)


def served(version, owner: str, rdtype: str = "A"):
    rds = version.rdataset(dns.name.from_text(owner, ORIGIN), dns.rdatatype.from_text(rdtype))
    return None if rds is None else (rds.ttl, sorted(r.to_text() for r in rds))


class TestReadUpdate:
    def test_sections_are_read_in_order_with_class_and_ttl_as_sent(self):
        """Each prerequisite and update record comes back in order, with its class and TTL untouched."""
        request = read_update(update_wire(
            [rr("www", "A", "ANY", 5)],
            [rr("www", "A", "ANY", 7), rr("www", "A", "IN", 300, "192.0.2.9"), rr("www", "A", "NONE", 0, "192.0.2.80")],
        ))
        assert request.zone == ORIGIN and request.zone_class == dns.rdataclass.IN
        assert request.prerequisites == (UpdateRecord(dns.name.from_text("www.example.org."), 1, 255, 5),)
        assert [(u.rdclass, u.ttl, u.rdata and u.rdata.to_text()) for u in request.updates] == [
            (255, 7, None), (1, 300, "192.0.2.9"), (254, 0, "192.0.2.80"),
        ]

    def test_compressed_names_are_read(self):
        """A message from dnspython (owner and RDATA names compressed) reads back the same."""
        message = dns.update.UpdateMessage("example.org.")
        message.add("mail", 600, "MX", "10 mx.example.org.")
        message.delete("old")
        request = read_update(message.to_wire())
        assert [(str(u.name), u.rdtype, u.ttl) for u in request.updates] == [
            ("mail.example.org.", dns.rdatatype.MX, 600), ("old.example.org.", dns.rdatatype.ANY, 0),
        ]
        assert request.updates[0].rdata.exchange == dns.name.from_text("mx.example.org.")

    @pytest.mark.parametrize("wire", [
        update_wire()[:14],
        update_wire(zone_type="A"),
        update_wire().replace(b"\x00\x01\x00\x00\x00\x00", b"\x00\x02\x00\x00\x00\x00", 1),
        update_wire(updates=[rr("www", "A", "ANY", 0, "192.0.2.1")]),
        update_wire(prerequisites=[rr("www", "A", "NONE", 0, "192.0.2.1")]),
        update_wire(updates=[rr("www", "A", "IN", 300, b"\x01\x02")]),
        update_wire(updates=[rr("www", "A", "IN", 300, "192.0.2.1")[:-1]]),
    ], ids=["short", "zone-not-soa", "two-zones", "any-with-rdata", "prereq-none-with-rdata", "bad-rdata", "truncated"])
    def test_malformed_messages_are_form_errors(self, wire):
        """What RFC 2136 section 3.1.1 or the wire format forbids raises FormError (FORMERR)."""
        with pytest.raises(dns.exception.FormError):
            read_update(wire)


class TestWhoMayUpdate:
    def test_not_our_zone_is_notauth(self):
        """An UPDATE for a zone we do not serve, or for a name inside one, or class CH, gets NOTAUTH."""
        assert rcode(decided(zone="example.net.")) == "NOTAUTH"
        request = read_update(update_wire(zone="www.example.org."))
        assert rcode(decide(request, None, KEY)) == "NOTAUTH"
        request = read_update(update_wire(zone_class="CH"))
        assert rcode(decide(request, zone(), KEY)) == "NOTAUTH"

    def test_a_secondary_zone_refuses(self):
        """A secondary zone's updates go to its primary: REFUSED, as BIND without update forwarding."""
        decision = decided(target=zone(type=SECONDARY, allow_update=()), updates=[rr("x", "A", "IN", 300, "192.0.2.1")])
        assert rcode(decision) == "REFUSED" and "secondary" in decision.reason

    @pytest.mark.parametrize("key, allowed, reason", [
        (None, (KEY,), "only updates signed"),
        (OTHER, (KEY,), "key other-key is not in zone example.org's allow_update"),
        (KEY, (), "no allow_update"),
    ])
    def test_unsigned_or_other_key_is_refused_before_anything_else(self, key, allowed, reason):
        """Without a key of allow_update: REFUSED, even when a prerequisite fails or a name is outside (as BIND)."""
        decision = decided(
            [rr("nothere", "ANY", "ANY")], [rr("x.example.net.", "A", "IN", 300, "192.0.2.1")],
            key=key, target=zone(allow_update=allowed),
        )
        assert rcode(decision) == "REFUSED" and reason in decision.reason and not decision.changes

    def test_a_zone_not_loaded_is_servfail(self):
        """A dynamic zone whose first version is not served yet answers SERVFAIL."""
        assert rcode(decided(target=Zone(ZoneConfig(ORIGIN, PRIMARY, allow_update=(KEY,))))) == "SERVFAIL"





@pytest.mark.parametrize("case", CASES)
def test_rcodes_as_bind_gives_them(case):
    """Each prerequisite and update check answers BIND's rcode, the first failure in BIND's order winning."""
    prerequisites, updates, expected = CASES[case]
    decision = decided(prerequisites, updates)
    assert rcode(decision) == expected, decision.reason
    if expected != "NOERROR":
        assert decision.changes == () and decision.reason


def test_changes_start_with_the_served_soa_then_the_prerequisites():
    """The changes pin the version decided on (its SOA record), then carry the prerequisites, then the edits."""
    decision = decided(
        [rr("www", "ANY", "ANY"), rr("www", "AAAA", "NONE"), rr("nothere", "ANY", "NONE"), rr("www", "A", "ANY")],
        [rr("new", "A", "IN", 300, "192.0.2.7")],
    )
    name = lambda text: dns.name.from_text(text, ORIGIN)
    assert decision.pin == Change(REQUIRE, ORIGIN, dns.rdatatype.SOA, data().soa[0])
    assert decision.changes[1:] == (
        Change(REQUIRE, name("www")),
        Change(REQUIRE_ABSENT, name("www"), dns.rdatatype.AAAA),
        Change(REQUIRE_ABSENT, name("nothere")),
        Change(REQUIRE, name("www"), dns.rdatatype.A),
        Change(ADD, name("new"), dns.rdatatype.A, dns.rdata.from_text("IN", "A", "192.0.2.7"), 300),
    )
    assert applied(decision).rdataset(name("new"), dns.rdatatype.A) is not None


def test_a_newer_version_breaks_the_pin():
    """Changes decided on one version fail, as a precondition on its SOA, on the next."""
    decision = decided([], [rr("new", "A", "IN", 300, "192.0.2.7")])
    newer = apply(data(), [], serial=2)
    with pytest.raises(Exception) as e:
        apply(newer, decision.changes, serial=3)
    assert e.value.kind == "precondition" and e.value.change == decision.pin


@pytest.mark.parametrize("change, expected", [
    (Change(REQUIRE, ORIGIN), "NXDOMAIN"),
    (Change(REQUIRE, ORIGIN, dns.rdatatype.A), "NXRRSET"),
    (Change(REQUIRE, ORIGIN, dns.rdatatype.A, dns.rdata.from_text("IN", "A", "192.0.2.1")), "NXRRSET"),
    (Change(REQUIRE_ABSENT, ORIGIN), "YXDOMAIN"),
    (Change(REQUIRE_ABSENT, ORIGIN, dns.rdatatype.A), "YXRRSET"),
])
def test_failed_rcode(change, expected):
    """A prerequisite the core found false answers RFC 2136's rcode for its kind."""
    assert dns.rcode.to_text(failed_rcode(change)) == expected


class TestUpdatesApplied:
    def test_add_to_an_rrset_and_delete_one_record(self):
        """Deleting one record and adding another with a new TTL leaves the RRset with both changes and that TTL."""
        version = applied(decided([], [rr("www", "A", "NONE", 0, "192.0.2.80"), rr("www", "A", "IN", 60, "192.0.2.82")]))
        assert served(version, "www") == (60, ["192.0.2.81", "192.0.2.82"])

    def test_delete_an_rrset_and_a_name(self):
        """Class ANY deletes an RRset (type) or every RRset of a name (ANY)."""
        version = applied(decided([], [rr("www", "A", "ANY"), rr("alias", "ANY", "ANY")]))
        assert served(version, "www") is None and served(version, "alias", "CNAME") is None
        assert not version.exists(dns.name.from_text("alias", ORIGIN))

    def test_deleting_everything_at_the_apex_keeps_soa_and_ns(self):
        """ANY ANY at the apex deletes its other RRsets only (RFC 2136 section 3.4.2.3)."""
        version = applied(decided([], [rr("@", "ANY", "ANY")]))
        assert served(version, "@", "MX") is None
        assert served(version, "@", "NS") == (300, ["ns1.example.org."])

    def test_nothing_to_change_makes_no_version(self):
        """A record already there, a deletion of what is not there, an add then its deletion: no changes at all."""
        decision = decided([], [
            rr("www", "A", "IN", 300, "192.0.2.80"),
            rr("nothere", "A", "ANY"),
            rr("www", "A", "NONE", 0, "192.0.2.99"),
            rr("tmp", "A", "IN", 300, "192.0.2.5"),
            rr("tmp", "ANY", "ANY"),
        ])
        assert rcode(decision) == "NOERROR" and decision.changes == () and decision.reason == "nothing to change"

    def test_the_same_record_with_another_ttl_changes_the_rrset_ttl(self):
        """Adding a record that is there, with another TTL, gives the RRset that TTL (as BIND does)."""
        version = applied(decided([], [rr("www", "A", "IN", 900, "192.0.2.80")]))
        assert served(version, "www") == (900, ["192.0.2.80", "192.0.2.81"])

    def test_a_ttl_above_2_31_is_zero(self):
        """A TTL with its top bit set is taken as 0 (RFC 2181 section 8)."""
        version = applied(decided([], [rr("big", "A", "IN", 2**31 + 5, "192.0.2.5")]))
        assert served(version, "big") == (0, ["192.0.2.5"])

    @pytest.mark.parametrize("updates, why", [
        ([rr("alias", "A", "IN", 300, "192.0.2.1")], "other data cannot be beside a CNAME"),
        ([rr("@", "CNAME", "IN", 300, "www.example.org.")], "a CNAME cannot be beside other data (MX, NS, SOA)"),
        ([rr("*.w", "NS", "IN", 300, "ns1.example.org.")], "a wildcard NS record"),
        ([rr("@", "NS", "ANY")], "apex's SOA and NS RRsets are not deleted"),
        ([rr("@", "SOA", "ANY")], "apex's SOA and NS RRsets are not deleted"),
        ([rr("@", "NS", "NONE", 0, "ns1.example.org.")], "last NS record is not deleted"),
        ([rr("@", "SOA", "NONE", 0, "ns1.example.org. hostmaster.example.org. 1 3600 600 86400 60")], "SOA record is not deleted"),
        ([rr("@", "SOA", "IN", 300, "ns1.example.org. hostmaster.example.org. 1 3600 600 86400 60")], "not greater than 1"),
        ([rr("www", "SOA", "IN", 300, "ns1.example.org. hostmaster.example.org. 9 3600 600 86400 60")], "at the zone apex only"),
    ], ids=["a-beside-cname", "cname-at-apex", "wildcard-ns", "apex-ns-rrset", "apex-soa-rrset", "last-ns", "soa-record", "soa-serial", "soa-elsewhere"])
    def test_ignored_updates(self, updates, why):
        """What RFC 2136 section 3.4.2 (and BIND) ignores is ignored, with a reason for the log; NOERROR."""
        decision = decided([], updates)
        assert rcode(decision) == "NOERROR" and decision.changes == ()
        assert len(decision.ignored) == 1 and why in decision.ignored[0]

    def test_ignoring_follows_the_updates_before(self):
        """An update is judged on the zone as the earlier updates left it: delete the A records, then a CNAME fits."""
        version = applied(decided([], [rr("www", "A", "ANY"), rr("www", "CNAME", "IN", 300, "ns1.example.org.")]))
        assert served(version, "www", "CNAME") == (300, ["ns1.example.org."])

    def test_a_cname_replaces_the_cname(self):
        """A CNAME added where a CNAME is replaces it."""
        version = applied(decided([], [rr("alias", "CNAME", "IN", 300, "ns1.example.org.")]))
        assert served(version, "alias", "CNAME") == (300, ["ns1.example.org."])

    def test_apex_ns_replaced_in_either_order(self):
        """Adding an apex NS then deleting the old one replaces it; deleting the only one first is ignored."""
        version = applied(decided([], [
            rr("@", "NS", "IN", 300, "ns2.example.org."), rr("@", "NS", "NONE", 0, "ns1.example.org."),
            rr("ns2", "A", "IN", 300, "192.0.2.2"),
        ]))
        assert served(version, "@", "NS") == (300, ["ns2.example.org."])
        decision = decided([], [
            rr("@", "NS", "NONE", 0, "ns1.example.org."), rr("@", "NS", "IN", 300, "ns2.example.org."),
            rr("ns2", "A", "IN", 300, "192.0.2.2"),
        ])
        assert served(applied(decision), "@", "NS") == (300, ["ns1.example.org.", "ns2.example.org."])
        assert len(decision.ignored) == 1

    def test_a_newer_soa_replaces_the_soa(self):
        """An SOA with a greater serial replaces the apex SOA's fields (the core then sets the serial)."""
        decision = decided([], [rr("@", "SOA", "IN", 600, "ns1.example.org. admin.example.org. 5 1800 600 86400 60")])
        version = applied(decision)
        assert version.soa[0].rname == dns.name.from_text("admin.example.org.") and version.soa.ttl == 600
        assert version.serial == 2


class TestLameNameServers:
    """BIND's post-update name server check: an update may not leave an apex NS inside the zone without an address."""

    @pytest.mark.parametrize("updates, expected", [
        ([rr("@", "NS", "IN", 300, "ns9.example.org.")], "REFUSED"),
        ([rr("@", "NS", "IN", 300, "alias.example.org.")], "REFUSED"),
        ([rr("ns1", "A", "ANY")], "REFUSED"),
        ([rr("@", "NS", "IN", 300, "ns.elsewhere.net.")], "NOERROR"),
        ([rr("@", "NS", "IN", 300, "ns7.example.org."), rr("ns7", "AAAA", "IN", 300, "2001:db8::7")], "NOERROR"),
        ([rr("sub", "NS", "IN", 300, "ns.sub.example.org."), rr("@", "NS", "IN", 300, "x.sub.example.org.")], "NOERROR"),
        ([rr("sub", "NS", "IN", 300, "ns.sub.example.org.")], "NOERROR"),
        ([rr("@", "MX", "IN", 300, "10 nomx.example.org.")], "NOERROR"),
    ], ids=["added-no-address", "added-cname", "address-removed", "outside", "address-added-too", "below-a-cut", "delegation-no-glue", "mx"])
    def test_as_bind(self, updates, expected):
        """What BIND 9.18 refuses (or takes) for the same updates."""
        decision = decided([], updates)
        assert rcode(decision) == expected, decision.reason
        if expected == "REFUSED":
            assert "has no address record" in decision.reason

    def test_a_new_zone_without_an_address_for_its_name_server_takes_updates(self):
        """A new dynamic zone's ns1 has no address; an update that does not touch it is not refused for that."""
        new = from_rrsets(ORIGIN, [
            dns.rrset.from_text("example.org.", 3600, "IN", "SOA", "ns1.example.org. hostmaster.example.org. 1 3600 600 1209600 300"),
            dns.rrset.from_text("example.org.", 3600, "IN", "NS", "ns1.example.org."),
        ])
        request = read_update(update_wire(updates=[rr("www", "A", "IN", 300, "192.0.2.80")]))
        assert rcode(decide(request, Zone(ZoneConfig(ORIGIN, PRIMARY, allow_update=(KEY,)), new), KEY)) == "NOERROR"
