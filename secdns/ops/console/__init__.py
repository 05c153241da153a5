"""
The web console: one static document and plain ES modules under
C{/console/} (L{secdns.ops.console.resource}), every datum fetched from the
REST API with the operator's bearer token; the security headers of every
answer of the HTTP listener (L{secdns.ops.console.headers}).
"""
