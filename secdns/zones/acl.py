# -*- test-case-name: tests.unit.test_acl -*-
"""
Who may do what to a zone.

Queries are open to all.  A zone's transfers go only to its
C{external_downstreams}, and NOTIFYs are taken only from a secondary zone's
C{external_masters}: by source address, and with the entry's TSIG key when
it names one.  A request signed with a valid key other than the one the
entry names is refused, as is an unsigned request where a key is named.
"""

from __future__ import annotations

import enum
import attrs
import dns.name

from secdns.addresses import canonical
from secdns.config import SECONDARY, PeerConfig, ZoneConfig

__all__ = ["Action", "Decision", "check"]


class Action(enum.Enum):
    """What a request asks of a zone."""

    TRANSFER = "transfer"
    NOTIFY = "notify"


@attrs.frozen
class Decision:
    """Whether a request is allowed, and why (for the log line when it is not)."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def check(zone: ZoneConfig, action: Action, address: str, key_name: dns.name.Name | None) -> Decision:
    """
    Decide whether a request from C{address}, signed with C{key_name} (or
    not signed), may do C{action} to C{zone}.  The TSIG signature itself
    has been verified already.
    """
    if action is Action.NOTIFY:
        if zone.type != SECONDARY:
            return Decision(False, "NOTIFY for a zone we are primary for")
        peers = zone.external_masters
        role = "master"
    else:
        peers = zone.external_downstreams
        role = "downstream"
    matching = [peer for peer in peers if canonical(peer.address) == canonical(address)]
    if not matching:
        return Decision(False, f"{address} is not an external {role} of the zone")
    for peer in matching:
        if _key_fits(peer, key_name):
            return Decision(True)
    wanted = ", ".join(sorted({_key_text(peer.tsig_key) for peer in matching}))
    return Decision(False, f"{address} used {_key_text(key_name)}; the zone requires {wanted}")


def _key_fits(peer: PeerConfig, key_name: dns.name.Name | None) -> bool:
    return peer.tsig_key is None or peer.tsig_key == key_name


def _key_text(key_name: dns.name.Name | None) -> str:
    return "no key" if key_name is None else f"key {key_name.to_text(omit_final_dot=True)}"
