# -*- test-case-name: tests.unit.test_acl -*-
"""
Who may do what to a zone.

Queries are open to all.  A zone's transfers (AXFR, IXFR) go to its
C{external_downstreams} and to the hosts and networks of its
C{allow_transfer}, and NOTIFYs are taken only from a secondary zone's
C{external_masters}: by source address (never port), and with the entry's
TSIG key when it names one.  A request signed with a valid key other than
the one the entry names is refused, as is an unsigned request where a key
is named.  Only C{external_downstreams} are notified (L{secdns.transfer.notify_out}).
"""

from __future__ import annotations

import enum
import functools
import ipaddress

import attrs
import dns.name

from secdns.addresses import canonical
from secdns.config import SECONDARY, ZoneConfig

__all__ = ["Action", "Decision", "check", "transferable"]


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
    here = canonical(address)
    if action is Action.NOTIFY:
        if zone.type != SECONDARY:
            return Decision(False, "NOTIFY for a zone we are primary for")
        keys = [peer.tsig_key for peer in zone.external_masters if canonical(peer.address) == here]
        stranger = f"{address} is not an external master of the zone"
    else:
        keys = [peer.tsig_key for peer in zone.external_downstreams if canonical(peer.address) == here]
        keys += [entry.tsig_key for entry in zone.allow_transfer if _within(here, entry.address)]
        stranger = f"{address} is not an external downstream of the zone" + (
            " nor in its allow_transfer" if zone.allow_transfer else ""
        )
    if not keys:
        return Decision(False, stranger)
    if any(key is None or key == key_name for key in keys):
        return Decision(True)
    wanted = ", ".join(sorted({_key_text(key) for key in keys}))
    return Decision(False, f"{address} used {_key_text(key_name)}; the zone requires {wanted}")


def transferable(zone: ZoneConfig) -> bool:
    """Whether anyone may transfer the zone from us (so it keeps a journal for their IXFRs)."""
    return bool(zone.external_downstreams or zone.allow_transfer)


def _within(address: str, network: str) -> bool:
    """Whether C{address} (canonical) is C{network} or in it."""
    try:
        return ipaddress.ip_address(address) in _network(network)
    except ValueError:
        return False


@functools.lru_cache(maxsize=1024)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def _key_text(key_name: dns.name.Name | None) -> str:
    return "no key" if key_name is None else f"key {key_name.to_text(omit_final_dot=True)}"
