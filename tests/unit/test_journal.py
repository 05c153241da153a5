"""Differences between zone versions: computed, condensed and chosen for IXFR."""

from __future__ import annotations

import dns.name
import dns.rdatatype
import dns.zone

from secdns.zones.journal import Changeset, changes_since, condense, diff
from secdns.zones.version import ZoneData, from_zone

ORIGIN = dns.name.from_text("example.org.")
BASE = """
@    300 SOA ns1 hostmaster {serial} 3600 600 86400 60
@    300 NS  ns1
ns1  300 A   192.0.2.1
www  300 A   192.0.2.80
www  300 A   192.0.2.81
mail 300 MX  10 mx
"""


def version(serial: int, text: str = BASE, extra: str = "") -> ZoneData:
    return from_zone(dns.zone.from_text(text.format(serial=serial) + extra, origin=ORIGIN, relativize=False))


def records(rrsets) -> set[str]:
    return {f"{name} {rds.ttl} {dns.rdatatype.to_text(rds.rdtype)} {rdata}" for name, rds in rrsets for rdata in rds}


def test_diff_lists_removed_and_added_records():
    """A diff removes exactly the records that went and adds those that came, SOAs first."""
    old = version(1)
    new = version(2, BASE.replace("www  300 A   192.0.2.81\n", ""), "new 300 TXT hello\n")
    changeset = diff(old, new)
    assert (changeset.serial_from, changeset.serial_to) == (1, 2)
    assert changeset.removed[0][1][0].serial == 1
    assert changeset.added[0][1][0].serial == 2
    assert records(changeset.removed[1:]) == {"www.example.org. 300 A 192.0.2.81"}
    assert records(changeset.added[1:]) == {'new.example.org. 300 TXT "hello"'}


def test_diff_ttl_change_replaces_rrset():
    """A TTL change removes the RRset with its old TTL and adds it with the new."""
    changeset = diff(version(1), version(2, BASE.replace("ns1  300 A", "ns1  600 A")))
    assert records(changeset.removed[1:]) == {"ns1.example.org. 300 A 192.0.2.1"}
    assert records(changeset.added[1:]) == {"ns1.example.org. 600 A 192.0.2.1"}


def test_condense_cancels_add_then_remove():
    """A record added in one change and removed in the next appears in neither list."""
    v1, v2 = version(1), version(2, extra="tmp 300 A 192.0.2.9\n")
    v3 = version(3, BASE.replace("mail 300 MX  10 mx\n", ""))
    condensed = condense([diff(v1, v2), diff(v2, v3)])
    assert (condensed.serial_from, condensed.serial_to) == (1, 3)
    assert condensed.removed[0][1][0].serial == 1
    assert condensed.added[0][1][0].serial == 3
    assert records(condensed.removed[1:]) == {"mail.example.org. 300 MX 10 mx.example.org."}
    assert records(condensed.added[1:]) == set()


def test_condense_equals_direct_diff():
    """Condensing a chain of changes gives the same records as diffing its ends."""
    versions = [
        version(1),
        version(2, extra="a 300 A 192.0.2.10\n"),
        version(3, BASE.replace("www  300 A   192.0.2.80\n", ""), "a 300 A 192.0.2.10\nb 300 AAAA 2001:db8::1\n"),
        version(4, BASE.replace("300 NS", "600 NS"), "b 300 AAAA 2001:db8::1\n"),
    ]
    chain = [diff(a, b) for a, b in zip(versions, versions[1:])]
    condensed = condense(chain)
    direct = diff(versions[0], versions[-1])
    assert records(condensed.removed[1:]) == records(direct.removed[1:])
    assert records(condensed.added[1:]) == records(direct.added[1:])


def test_changes_since_covered():
    """The journal answers a serial it reaches back to with the condensed changes up to now."""
    v = [version(s) for s in (1, 2, 3)]
    journal = [diff(v[0], v[1]), diff(v[1], v[2])]
    changes = changes_since(journal, 2, 3)
    assert (changes.serial_from, changes.serial_to) == (2, 3)


def test_changes_since_not_covered():
    """A serial older than the journal, or a broken chain, gets None (send the whole zone)."""
    v = [version(s) for s in (1, 2, 3, 4)]
    assert changes_since([diff(v[1], v[2])], 1, 3) is None
    assert changes_since([diff(v[0], v[1]), diff(v[2], v[3])], 1, 4) is None
    assert changes_since([diff(v[0], v[1])], 1, 3) is None


def test_leading_to_reads_back_from_the_newest():
    from secdns.zones.journal import leading_to

    assert leading_to([(1, 2), (2, 3), (3, 4)], 4) == 3
    assert leading_to([(1, 2), (1, 2)], 2) == 1  # a changeset written twice: the older copy cannot chain
    assert leading_to([(1, 2), (5, 6), (6, 7)], 7) == 2  # a gap: what is before it is unreachable
    assert leading_to([(1, 2), (2, 3)], 9) == 0  # leads elsewhere than the version served
    assert leading_to([], 1) == 0


def test_changes_since_despite_a_duplicated_changeset():
    """
    A changeset written twice (a crash between two writes, in an older
    store) used to break the chain: an IXFR from its serial got the whole
    zone.  The chain is read back from the newest, so it gets the change.
    """
    v = [version(s) for s in (1, 2, 3)]
    journal = [diff(v[0], v[1]), diff(v[0], v[1]), diff(v[1], v[2])]
    changes = changes_since(journal, 1, 3)
    assert (changes.serial_from, changes.serial_to) == (1, 3)
    assert changes_since(journal, 2, 3).serial_from == 2
