"""Who may transfer a zone (external_downstreams, allow_transfer) and who may NOTIFY it."""

from __future__ import annotations

import attrs
import dns.name

from secdns.zones.acl import Action, check, transferable
from secdns.config import PRIMARY, SECONDARY, PeerConfig, TransferAllow, ZoneConfig

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


# -- allow_transfer: who else may transfer (never notified)

DEBUG = ZoneConfig(
    name=ZONE,
    type=PRIMARY,
    file="x",
    external_downstreams=(PeerConfig("198.51.100.7", port=5353, tsig_key=KEY),),
    allow_transfer=(
        TransferAllow("192.0.2.9"),
        TransferAllow("203.0.113.0/24", tsig_key=OTHER),
        TransferAllow("2001:db8:1::/64"),
    ),
)


def test_allow_transfer_address_may_transfer():
    """A host in allow_transfer may transfer, signed or not, though it is no downstream."""
    assert check(DEBUG, Action.TRANSFER, "192.0.2.9", None)
    assert check(DEBUG, Action.TRANSFER, "::ffff:192.0.2.9", KEY)
    assert not check(DEBUG, Action.TRANSFER, "192.0.2.10", None)


def test_allow_transfer_network_with_key():
    """A network entry admits every address in it, with the key it names only."""
    assert check(DEBUG, Action.TRANSFER, "203.0.113.200", OTHER)
    decision = check(DEBUG, Action.TRANSFER, "203.0.113.200", None)
    assert not decision
    assert decision.reason == "203.0.113.200 used no key; the zone requires key other-key"
    assert not check(DEBUG, Action.TRANSFER, "203.0.113.200", KEY)
    assert not check(DEBUG, Action.TRANSFER, "203.0.114.1", OTHER)


def test_allow_transfer_ipv6_network():
    assert check(DEBUG, Action.TRANSFER, "2001:db8:1::53", None)
    assert check(DEBUG, Action.TRANSFER, "2001:db8:1:0:ffff::1", None)
    assert not check(DEBUG, Action.TRANSFER, "2001:db8:2::53", None)


def test_downstreams_still_by_address_and_key_not_port():
    """Downstreams keep their rule: address and key; their port is where NOTIFYs go."""
    assert check(DEBUG, Action.TRANSFER, "198.51.100.7", KEY)
    assert not check(DEBUG, Action.TRANSFER, "198.51.100.7", None)


def test_downstream_or_allow_transfer_either_admits():
    """An address that is a downstream with a key and in an open allow_transfer entry: either rule admits it."""
    zone = attrs.evolve(DEBUG, allow_transfer=(TransferAllow("198.51.100.0/24"),))
    assert check(zone, Action.TRANSFER, "198.51.100.7", None)
    both_keyed = attrs.evolve(DEBUG, allow_transfer=(TransferAllow("198.51.100.0/24", tsig_key=OTHER),))
    assert check(both_keyed, Action.TRANSFER, "198.51.100.7", OTHER)
    assert check(both_keyed, Action.TRANSFER, "198.51.100.7", KEY)
    decision = check(both_keyed, Action.TRANSFER, "198.51.100.7", None)
    assert decision.reason == "198.51.100.7 used no key; the zone requires key other-key, key transfer-key"


def test_stranger_reason_names_allow_transfer():
    decision = check(DEBUG, Action.TRANSFER, "127.0.0.1", None)
    assert decision.reason == "127.0.0.1 is not an external downstream of the zone nor in its allow_transfer"


def test_allow_transfer_does_not_admit_notify():
    """allow_transfer is about transfers only: a secondary takes NOTIFY from its masters alone."""
    zone = attrs.evolve(SECONDARY_ZONE, allow_transfer=(TransferAllow("0.0.0.0/0"),))
    assert not check(zone, Action.NOTIFY, "198.51.100.7", None)
    assert check(zone, Action.NOTIFY, "192.0.2.2", None)


def test_chained_secondary_transfers_to_its_downstreams_and_allow_transfer():
    """A secondary zone serves transfers as a primary does: to its downstreams and allow_transfer."""
    zone = attrs.evolve(SECONDARY_ZONE, external_downstreams=(PeerConfig("198.51.100.8"),))
    assert check(zone, Action.TRANSFER, "198.51.100.8", None)
    assert not check(zone, Action.TRANSFER, "127.0.0.1", None)
    assert check(attrs.evolve(zone, allow_transfer=(TransferAllow("127.0.0.1"),)), Action.TRANSFER, "127.0.0.1", None)


def test_transferable():
    """A zone keeps a journal for IXFR when anyone may transfer it."""
    assert not transferable(SECONDARY_ZONE)
    assert transferable(attrs.evolve(SECONDARY_ZONE, allow_transfer=(TransferAllow("127.0.0.1"),)))
    assert transferable(PRIMARY_ZONE)
    assert not transferable(attrs.evolve(DEBUG, external_downstreams=(), allow_transfer=()))
