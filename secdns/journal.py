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

from secdns.lookup import RRsetRef

__all__ = ["Changeset"]


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
