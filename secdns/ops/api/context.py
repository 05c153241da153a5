# -*- test-case-name: tests.unit.test_api_resource -*-
"""
What every handler of the API shares: the zone core (reached only
through its public methods and the values they return), a worker to run
what is proportional to a zone's size off the reactor thread, and the log
of changes (each line names the token that asked, never the token).
"""

from __future__ import annotations

from typing import Any, Callable

import dns.name
from twisted.internet import defer
from twisted.logger import Logger

from secdns.core.registry import NoSuchZone, ZoneRegistry
from secdns.ops.api.errors import ApiError, not_found
from secdns.ops.api.ids import KEY_PREFIX, ZONE_PREFIX, key_id, zone_id
from secdns.ops.api.routing import Call
from secdns.ops.api.shapes import label, parse_name
from secdns.zones.zone import Zone
from secdns.zones.zonemap import ZoneDB

__all__ = ["Api", "Worker"]

log = Logger(namespace="secdns.api")

Worker = Callable[..., defer.Deferred]


class Api:
    """
    The API's view of the appliance.

    @ivar registry: returns the zone core, or L{None} while the appliance starts.
    @ivar worker: runs a function in a worker thread (L{defer.maybeDeferred} in tests).
    @ivar alarm_engine: returns the alarm engine, or L{None} while it is not running.
    """

    def __init__(
        self,
        registry: Callable[[], ZoneRegistry | None],
        worker: Worker = defer.maybeDeferred,
        alarms: Callable[[], Any] | None = None,
    ) -> None:
        self.registry = registry
        self.worker = worker
        self.alarm_engine = alarms or (lambda: None)
        self._ids_of: ZoneDB | None = None
        self._zone_ids: dict[str, dns.name.Name] = {}

    def core(self) -> ZoneRegistry:
        registry = self.registry()
        if registry is None:
            raise ApiError("ServiceUnavailable", "secdns is starting; ask again in a moment")
        return registry

    def alarms(self) -> Any:
        """The alarm engine (L{secdns.ops.alarms.engine.AlarmEngine}), or 503 while it is not running."""
        engine = self.alarm_engine()
        if engine is None:
            raise ApiError("ServiceUnavailable", "secdns's alarms are not running yet; ask again in a moment")
        return engine

    def zone(self, text: str) -> Zone:
        """
        The zone a path names, by name or id.

        @raise ApiError: C{NotAuthorizedOrNotFound}, or C{InvalidParameter}
            for a name outside DNS syntax.
        """
        registry = self.core()
        if text.startswith(ZONE_PREFIX):
            zonedb = registry.zonedb
            if zonedb is not self._ids_of:  # the map is replaced whole on each change
                self._zone_ids = {zone_id(z.name): z.name for z in zonedb}
                self._ids_of = zonedb
            name = self._zone_ids.get(text)
            if name is None:
                raise not_found(f"no zone has the id {text[:80]}")
        else:
            name = parse_name(text, "zone", in_path=True)
        found = registry.zonedb.get(name)
        if found is None:
            raise not_found(str(NoSuchZone(label(name))))
        return found

    def key_name(self, text: str) -> dns.name.Name:
        """The TSIG key a path names, by name or id (L{NoSuchKey} is the caller's to meet)."""
        if text.startswith(KEY_PREFIX):
            for status in self.core().keys():
                if key_id(status.name) == text:
                    return parse_name(status.name, "tsigKeyId", in_path=True)
            raise not_found(f"no TSIG key has the id {text[:80]}")
        return parse_name(text, "tsigKeyId", in_path=True)

    def key_ids(self) -> dict[str, dns.name.Name]:
        """Every key's id, to its name (to read C{tsigKeyId} fields)."""
        return {key_id(status.name): dns.name.from_text(status.name) for status in self.core().keys()}

    def in_worker(self, f: Callable, *args: Any, **kwargs: Any) -> defer.Deferred:
        return self.worker(f, *args, **kwargs)

    @staticmethod
    def changed(call: Call, what: str, **fields: Any) -> None:
        """Log a change, with the name of the token that made it."""
        log.info("API: {who} ({client}) {what}", who=call.who, client=call.client, what=what, **fields)
