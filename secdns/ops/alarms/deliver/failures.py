# -*- test-case-name: tests.unit.test_deliver -*-
"""
How a try at a delivery fails: L{Transient} (the receiver is down, slow,
or says "later": try again) or L{Permanent} (it refused this message, or
the subscription cannot work: trying again would not help).

Their text is written here, from status codes and reasons, never from a
peer's exception repr or an SMTP transcript (which holds the AUTH line),
so it can be logged and shown: it holds no secret and no whole URL.
"""

from __future__ import annotations

__all__ = ["DeliveryFailed", "Transient", "Permanent"]


class DeliveryFailed(Exception):
    """A try at a delivery failed; C{str()} is safe to log and to show."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.detail


class Transient(DeliveryFailed):
    """The receiver could not take it now (refused, timed out, 5xx, 429, SMTP 4xx): try again later."""


class Permanent(DeliveryFailed):
    """The receiver refused it for good (4xx, SMTP 5xx, TLS verification), or the endpoint cannot work."""
