"""Who may transfer a zone and who may NOTIFY it."""

from __future__ import annotations

import dns.name

from secdns.zones.acl import Action, check
from secdns.config import PRIMARY, SECONDARY, PeerConfig, ZoneConfig

KEY = dns.name.from_text("transfer-key.")
OTHER = dns.name.from_text("other-key.")
ZONE = dns.name.from_text("example.org.")

PRIMARY_ZONE = ZoneConfig(
    name=ZONE,
    type=PRIMARY,
    file="x",
    external_downstreams=(PeerConfig("198.51.100.7", tsig_key=KEY), PeerConfig("2001:db8::7")),
)
SECONDARY_ZONE = ZoneConfig(
    name=ZONE, type=SECONDARY, external_masters=(PeerConfig("192.0.2.1", tsig_key=KEY), PeerConfig("192.0.2.2"))
)


def test_downstream_with_its_key_may_transfer():
    """A downstream signing with the key its entry names may transfer."""
    assert check(PRIMARY_ZONE, Action.TRANSFER, "198.51.100.7", KEY)


def test_downstream_without_its_key_is_refused():
    """A downstream whose entry names a key may not transfer unsigned."""
    decision = check(PRIMARY_ZONE, Action.TRANSFER, "198.51.100.7", None)
    assert not decision
    assert decision.reason == "198.51.100.7 used no key; the zone requires key transfer-key"


def test_downstream_with_another_valid_key_is_refused():
    """A request signed with a valid key other than the one named is refused."""
    assert not check(PRIMARY_ZONE, Action.TRANSFER, "198.51.100.7", OTHER)


def test_downstream_without_key_entry_may_transfer_either_way():
    """An entry naming no key admits its address signed or not."""
    assert check(PRIMARY_ZONE, Action.TRANSFER, "2001:db8::7", None)
    assert check(PRIMARY_ZONE, Action.TRANSFER, "2001:db8::7", KEY)


def test_stranger_is_refused():
    """An address that is no downstream may not transfer, whatever its key."""
    decision = check(PRIMARY_ZONE, Action.TRANSFER, "203.0.113.9", KEY)
    assert not decision
    assert "not an external downstream" in decision.reason


def test_ipv4_mapped_address_matches():
    """An IPv4 peer seen on a dual-stack socket as ::ffff:a.b.c.d still matches."""
    assert check(PRIMARY_ZONE, Action.TRANSFER, "::ffff:198.51.100.7", KEY)


def test_master_may_notify_secondary():
    """A secondary zone takes NOTIFY from its masters, with the named key."""
    assert check(SECONDARY_ZONE, Action.NOTIFY, "192.0.2.1", KEY)
    assert not check(SECONDARY_ZONE, Action.NOTIFY, "192.0.2.1", None)
    assert check(SECONDARY_ZONE, Action.NOTIFY, "192.0.2.2", None)


def test_notify_from_stranger_refused():
    """NOTIFY from an address that is no master is refused."""
    assert not check(SECONDARY_ZONE, Action.NOTIFY, "198.51.100.7", None)


def test_primary_takes_no_notify():
    """A primary zone takes NOTIFY from nobody."""
    assert not check(PRIMARY_ZONE, Action.NOTIFY, "198.51.100.7", KEY)
