"""
The web console: one static document and plain ES modules under
C{/console/}, every datum fetched from the REST API with the operator's
bearer token (L{secdns.ops.console.resource}).
"""

from secdns.ops.console.resource import SECURITY_HEADERS, ConsoleResource, secure

__all__ = ["ConsoleResource", "SECURITY_HEADERS", "secure"]
