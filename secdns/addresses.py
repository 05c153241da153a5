# -*- test-case-name: tests.unit.test_acl -*-
"""IP addresses as they compare: one spelling per address."""

from __future__ import annotations

import ipaddress

__all__ = ["canonical"]


def canonical(address: str) -> str:
    """
    The address in its one normal form; an IPv4 peer seen on a dual-stack
    socket as C{::ffff:a.b.c.d} as C{a.b.c.d}.  Text that is no address is
    returned as it is (it then equals no address).
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)
