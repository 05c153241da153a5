# -*- test-case-name: tests.unit.test_serial -*-
"""SOA serial arithmetic (RFC 1982): serials compare on a circle of 2**32."""

from __future__ import annotations

__all__ = ["serial_gt", "serial_lt", "serial_add"]

_HALF = 2**31
_MOD = 2**32


def serial_gt(a: int, b: int) -> bool:
    """C{a} is newer than C{b}.  Serials exactly half the circle apart are not ordered."""
    return a != b and ((a > b and a - b < _HALF) or (a < b and b - a > _HALF))


def serial_lt(a: int, b: int) -> bool:
    """C{a} is older than C{b}."""
    return serial_gt(b, a)


def serial_add(serial: int, n: int) -> int:
    """C{serial} advanced by C{n} (at most 2**31 - 1), wrapping at 2**32."""
    if not 0 <= n < _HALF:
        raise ValueError(f"serial increment {n} out of range")
    return (serial + n) % _MOD
