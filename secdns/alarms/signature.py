# -*- test-case-name: tests.unit.test_alarm_signature -*-
"""
The HMAC a webhook receiver checks to know a message is from us.

With a subscription's shared secret, each POST carries::

    X-Secdns-Timestamp: 1717171717
    X-Secdns-Signature: sha256=<hex HMAC-SHA256(secret, b"1717171717." + body)>

over the raw request body as sent.  The timestamp is the time of that try
(a retry is signed again), so a receiver can refuse old or replayed
messages.  L{verify} is what a receiver does; docs/alarms.rst shows the
same in a few lines of plain Python.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "sign", "verify"]

SIGNATURE_HEADER = "X-Secdns-Signature"
TIMESTAMP_HEADER = "X-Secdns-Timestamp"
#: How old a signed message may be, in seconds, for L{verify}.
TOLERANCE = 300.0


def _mac(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, now: float) -> dict[str, str]:
    """The two headers that sign C{body} at C{now}."""
    timestamp = str(int(now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: "sha256=" + _mac(secret, timestamp, body)}


def verify(secret: bytes, body: bytes, timestamp: str | None, signature: str | None, now: float,
           tolerance: float = TOLERANCE) -> bool:
    """Whether C{signature} is C{secret}'s over C{body} at C{timestamp}, and that is within C{tolerance} of C{now}."""
    if not timestamp or not signature or not timestamp.isdigit() or not signature.startswith("sha256="):
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature[len("sha256="):], _mac(secret, timestamp, body))
