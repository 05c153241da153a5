# -*- test-case-name: tests.integration.test_api -*-
"""
The operator's REST API, shaped like the cloud DNS API of the seeds
(version 20180115): zones, records, TSIG keys, zone transfer servers,
secdns's own zone status, actions and events, and alarms, topics and
subscriptions shaped like the cloud's Monitoring and Notifications APIs.
docs/api.rst describes it for operators; C{/20180115/openapi.json} for
programs.

One module a job:

    errors.py          the error shape; the core's refusals as statuses
    ids.py             stable, opaque ids (zones, keys) and record hashes
    body.py            request bodies: JSON read with limits; fields checked
    shapes.py          core values as the cloud's shapes, and bodies as config values
    record_items.py    records as items, items as edits (run in a worker)
    auth.py            bearer tokens from a file; loopback-only without one
    routing.py         calls, replies, routes, etags, paging (pure)
    context.py         what handlers share: the core, a worker, the change log
    zones.py, records.py, keys.py, operations.py    the handlers
    statuses.py        /zoneStatuses and metricHistory: the web console's overviews
    alarm_shapes.py    alarms, topics, subscriptions as the cloud Monitoring/Notifications shapes
    alarms.py          /alarms, /topics, /subscriptions, /notifications (the alarm engine's)
    openapi.py         the OpenAPI 3 document of all of it
    resource.py        the twisted.web resource at /20180115

It talks to the zone core (L{secdns.core.registry.ZoneRegistry}) and the
alarm engine (L{secdns.ops.alarms.engine.AlarmEngine}) through their
public methods only.
"""

from __future__ import annotations

from typing import Callable

from secdns.core.registry import ZoneRegistry
from secdns.ops.api import alarms, keys, operations, records, statuses, zones
from secdns.ops.api.auth import Access
from secdns.ops.api.context import Api, Worker
from secdns.ops.api.openapi import document_bytes
from secdns.ops.api.resource import API_VERSION, ApiResource
from secdns.ops.api.routing import Route

__all__ = ["API_VERSION", "api_resource", "all_routes"]

#: Operations whose bodies may be large (a whole zone's records).
LARGE_BODIES = ("PatchZoneRecords", "UpdateZoneRecords", "PatchDomainRecords", "UpdateDomainRecords", "PatchRRSet", "UpdateRRSet")


def all_routes(api: Api) -> list[Route]:
    return [*zones.routes(api), *records.routes(api), *keys.routes(api), *operations.routes(api), *statuses.routes(api), *alarms.routes(api)]


def api_resource(
    registry: Callable[[], ZoneRegistry | None], access: Access, worker: Worker, alarm_engine: Callable | None = None
) -> ApiResource:
    """The resource to mount at C{/20180115}; C{alarm_engine} returns the alarm engine (or L{None} while it is not running)."""
    api = Api(registry, worker, alarm_engine)
    return ApiResource(api, access, all_routes(api), document_bytes(), LARGE_BODIES)
