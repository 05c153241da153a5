# -*- test-case-name: tests.unit.test_registry -*-
"""
What the operator surfaces are told of a zone: frozen values, made on
demand by L{secdns.core.registry.ZoneRegistry.status} from the zone, its
controller and what the notifier and transfer server recorded.

Times are wall-clock seconds (Unix time); L{None} means "never".
"""

from __future__ import annotations

import attrs

__all__ = [
    "ZoneStatus", "KeyStatus", "MasterStatus", "DownstreamStatus", "Outcome", "HEALTHS", "health", "last_error",
]

#: A zone's health, in one word: what the API, the console and the manhole say.
HEALTHS = ("serving", "loading", "refreshing", "failing", "expired", "never-loaded")


@attrs.frozen
class Outcome:
    """One attempt and how it ended: C{ok} and, when not, why."""

    when: float
    ok: bool
    detail: str = ""


@attrs.frozen
class MasterStatus:
    """
    One external master of a secondary zone.

    @ivar reachable: whether the last exchange with it worked (L{None}: never tried).
    @ivar last_serial: the serial it last told us (SOA query or transfer).
    """

    address: str
    port: int
    reachable: bool | None
    last_success: float | None
    last_failure: float | None
    last_error: str | None
    last_serial: int | None

    def __str__(self) -> str:
        return f"{self.address}#{self.port}"


@attrs.frozen
class DownstreamStatus:
    """
    One external downstream of a zone.

    @ivar last_notify: the last NOTIFY sent to it and how it ended.
    @ivar last_transfer: the last transfer served to it (C{detail}: its kind and serial).
    """

    address: str
    port: int
    last_notify: Outcome | None
    last_transfer: Outcome | None

    def __str__(self) -> str:
        return f"{self.address}#{self.port}"


@attrs.frozen
class ZoneStatus:
    """
    One zone, as the operator sees it.

    @ivar role: C{primary} or C{secondary}.
    @ivar state: C{unloaded}, C{loading}, C{loaded}, C{refreshing} or C{expired}.
    @ivar last_load: the last time a new version was committed (file or
        transfer) or a commit failed, and how.
    @ivar last_failure: when the zone last failed to load or refresh.
    @ivar expire_at: when a secondary zone expires unless a refresh succeeds.
    @ivar last_refresh: when a secondary zone's refresh last succeeded.
    @ivar next_event: the zone's next scheduled work, as (what, when).
    @ivar declared_in: the config file that declares the zone, or L{None}
        for a zone made at run time (through the API).
    @ivar created: when the zone was made (a config zone: when this
        process took it on).
    @ivar file: a primary zone's zone file; L{None} for a dynamic zone,
        whose records change through the API and DNS UPDATE.
    @ivar refresh_interval: a secondary zone's SOA refresh in effect
        (clamped by C{[timers]}), seconds; L{None}: a primary, or no SOA yet.
    @ivar retry_interval: a secondary zone's SOA retry in effect, seconds.
    """

    name: str
    role: str
    state: str
    serial: int | None
    records: int | None
    last_load: Outcome | None
    last_failure: float | None
    failure_reason: str | None
    transfers_in: int
    transfer_failures: int
    masters: tuple[MasterStatus, ...]
    downstreams: tuple[DownstreamStatus, ...]
    expire_at: float | None
    next_event: tuple[str, float] | None
    last_refresh: float | None = None
    declared_in: str | None = None
    created: float | None = None
    file: str | None = None
    refresh_interval: float | None = None
    retry_interval: float | None = None


@attrs.frozen
class KeyStatus:
    """
    A TSIG key, as the operator sees it: never its secret.

    @ivar declared_in: the config file that declares it, or L{None} for a
        key made at run time (through the API).
    @ivar zones: the zones whose masters, downstreams or C{allow_update} name it.
    """

    name: str
    algorithm: str
    declared_in: str | None
    created: float | None
    updated: float | None
    zones: tuple[str, ...]


def _last_attempt_failed(status: ZoneStatus) -> bool:
    """The last load (primary) or refresh (secondary) failed, and nothing succeeded since."""
    return status.last_load is not None and not status.last_load.ok


def health(status: ZoneStatus) -> str:
    """
    The zone's health, one of L{HEALTHS}, so every surface says the same word:

      - C{expired}: a secondary past its SOA expire: answers SERVFAIL.
      - C{failing}: the last load or refresh failed (C{failure_reason} says
        why); the zone serves the version it had, or nothing if it never
        had one -- a zone whose first transfer fails is C{failing}, not
        C{never-loaded}, so that its error is shown; and it stays
        C{failing} while it tries again, so the reason does not blink away
        at each retry.
      - C{loading}: its first version is being read or transferred.
      - C{refreshing}: a secondary asking its masters now, serving meanwhile.
      - C{never-loaded}: no version yet, none being loaded, no failure
        (a secondary waiting for its first refresh).
      - C{serving}: answers from a current version.
    """
    if status.state == "expired":
        return "expired"
    if _last_attempt_failed(status):
        return "failing"
    if status.state == "loading" or (status.state == "refreshing" and status.serial is None):
        return "loading"
    if status.state == "refreshing":
        return "refreshing"
    if status.serial is None:
        return "never-loaded"
    return "serving"


def last_error(status: ZoneStatus) -> str | None:
    """Why the zone is failing (or expired, when its last refresh failed); L{None} otherwise."""
    if health(status) in ("failing", "expired") and _last_attempt_failed(status):
        return status.failure_reason or status.last_load.detail or "failed (no reason recorded)"
    return None
