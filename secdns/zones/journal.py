# -*- test-case-name: tests.unit.test_journal -*-
"""
Differences between zone versions, as IXFR carries them (RFC 1995).

A L{Changeset} is one step from one serial to the next: the RRs removed
(the old SOA first) and the RRs added (the new SOA first).  Pure: the store
keeps changesets, the transfer code sends them.
"""

from __future__ import annotations

import attrs
import dns.name
import dns.rdataset
import dns.rdatatype

from secdns.zones.lookup import RRsetRef
from secdns.wire.compact import decode
from secdns.zones.version import ZoneData

__all__ = ["Changeset", "diff", "condense", "changes_since", "chain_from", "leading_to"]


@attrs.frozen
class Changeset:
    """
    One version change.

    @ivar removed: RRsets deleted, the old SOA first.
    @ivar added: RRsets added, the new SOA first.
    """

    serial_from: int
    serial_to: int
    removed: tuple[RRsetRef, ...]
    added: tuple[RRsetRef, ...]

    @property
    def record_count(self) -> int:
        return sum(len(rds) for _, rds in self.removed) + sum(len(rds) for _, rds in self.added)


_Record = tuple  # (owner, rdtype, covers, rdata)


def diff(old: ZoneData, new: ZoneData) -> Changeset:
    """
    The changes that turn C{old} into C{new}, as one changeset.  Owners
    whose records are the same bytes in both are passed over unread.
    """
    removed: list[RRsetRef] = [(old.origin, old.soa)]
    added: list[RRsetRef] = [(new.origin, new.soa)]
    before, after = old.owners, new.owners
    apex = old.origin_key
    for key, blob in before.items():
        other = after.get(key)
        if other != blob:
            old_name, new_name = old.name_of(key), new.name_of(key) if other is not None else None
            _diff_owner(old_name, new_name, _rdatasets(blob, key == apex), _rdatasets(other, key == apex), removed, added)
    for key, blob in after.items():
        if key not in before:
            _diff_owner(None, new.name_of(key), {}, _rdatasets(blob, key == apex), removed, added)
    return Changeset(old.serial, new.serial, tuple(removed), tuple(added))


def _diff_owner(old_name, new_name, before, after, removed, added) -> None:
    """The changes of one owner's RRsets (by type and covered type)."""
    _only_in(old_name, before, after, removed)
    _only_in(new_name, after, before, added)


def _only_in(name, these, others, out: list) -> None:
    """
    Add to C{out} what of C{these} RRsets C{others} lacks: a whole RRset
    when its TTL differs (an RRset has one TTL), else its missing records.
    """
    for key, rds in these.items():
        other = others.get(key)
        if other is None or other.ttl != rds.ttl:
            out.append((name, rds))
        else:
            missing = _subset(rds, [r for r in rds if r not in other])
            if missing is not None:
                out.append((name, missing))


def condense(changesets: list[Changeset]) -> Changeset:
    """
    One changeset with the net effect of consecutive ones: a record added
    and later removed appears in neither list.
    """
    first, last = changesets[0], changesets[-1]
    removed: dict[_Record, int] = {}
    added: dict[_Record, int] = {}
    for changeset in changesets:
        for record, ttl in _records(changeset.removed[1:]):
            if record in added:
                del added[record]
            else:
                removed[record] = ttl
        for record, ttl in _records(changeset.added[1:]):
            if removed.get(record) == ttl:
                del removed[record]
            else:
                added[record] = ttl
    return Changeset(
        first.serial_from,
        last.serial_to,
        (first.removed[0], *_regroup(removed)),
        (last.added[0], *_regroup(added)),
    )


def leading_to(steps: list[tuple[int, int]], current: int) -> int:
    """
    How many of the last C{(serial_from, serial_to)} C{steps} chain up to
    C{current}, read back from the newest: the journal that can serve
    IXFR.  What comes before them (a changeset written twice, a step that
    leads elsewhere: the marks of a write interrupted by a crash) cannot.
    """
    expected = current
    kept = 0
    for serial_from, serial_to in reversed(steps):
        if serial_to != expected:
            break
        kept += 1
        expected = serial_from
    return kept


def chain_from(steps: list[tuple[int, int]], serial: int, current: int) -> int | None:
    """
    Where, in the C{(serial_from, serial_to)} C{steps} oldest first, the
    chain from C{serial} up to C{current} starts; L{None} when the chain
    that leads to C{current} (L{leading_to}) does not reach back that far.
    The store reads this from the serials alone, then only the changesets
    from there on.
    """
    kept = leading_to(steps, current)
    for index in range(len(steps) - kept, len(steps)):
        if steps[index][0] == serial:
            return index
    return None


def changes_since(journal: list[Changeset], serial: int, current: int) -> Changeset | None:
    """
    The condensed changes from C{serial} to C{current}, or L{None} when the
    journal's chain up to C{current} does not reach back that far.
    """
    start = chain_from([(c.serial_from, c.serial_to) for c in journal], serial, current)
    return None if start is None else condense(journal[start:])


def _rdatasets(blob: bytes | None, apex: bool) -> dict[tuple[int, int], dns.rdataset.Rdataset]:
    """An owner's RRsets by (type, covered type); at the apex, without the SOA (the changeset's ends)."""
    if blob is None:
        return {}
    return {
        (rds.rdtype, rds.covers): rds
        for rds in decode(blob)
        if not (apex and rds.rdtype == dns.rdatatype.SOA)
    }


def _subset(template: dns.rdataset.Rdataset, rdatas: list) -> dns.rdataset.Rdataset | None:
    if not rdatas:
        return None
    rds = dns.rdataset.Rdataset(template.rdclass, template.rdtype, template.covers)
    for rdata in rdatas:
        rds.add(rdata, template.ttl)
    return rds


def _records(rrsets):
    for name, rds in rrsets:
        for rdata in rds:
            yield (name, rds.rdtype, rds.covers, rdata), rds.ttl


def _regroup(records: dict[_Record, int]) -> list[RRsetRef]:
    groups: dict[tuple, dns.rdataset.Rdataset] = {}
    for (name, rdtype, covers, rdata), ttl in records.items():
        key = (name, rdtype, covers, ttl)
        rds = groups.get(key)
        if rds is None:
            rds = groups[key] = dns.rdataset.Rdataset(rdata.rdclass, rdtype, covers)
        rds.add(rdata, ttl)
    return [(key[0], rds) for key, rds in groups.items()]
