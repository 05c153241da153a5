# -*- test-case-name: tests.integration.test_appliance -*-
"""
The operator's HTTP surface: C{/metrics} now; the REST API and web
console hang off the same root.
"""

from __future__ import annotations

from prometheus_client.core import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from twisted.web import resource, server

from secdns.ops.metrics import exposition

__all__ = ["MetricsResource", "QuietSite", "root_resource", "site"]


class MetricsResource(resource.Resource):
    """C{GET /metrics}: Prometheus text format, rendered on the reactor thread."""

    isLeaf = True

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self.registry = registry

    def render_GET(self, request) -> bytes:
        request.setHeader(b"Content-Type", CONTENT_TYPE_LATEST.encode("ascii"))
        return exposition(self.registry)


def root_resource(registry: CollectorRegistry) -> resource.Resource:
    root = resource.Resource()
    root.putChild(b"metrics", MetricsResource(registry))
    return root


class QuietSite(server.Site):
    """
    A site that writes no access log and no factory start/stop lines: a
    line per scrape of C{/metrics} is noise in an operator's log.
    """

    noisy = False

    def log(self, request) -> None:
        pass


def site(registry: CollectorRegistry) -> server.Site:
    return QuietSite(root_resource(registry))
