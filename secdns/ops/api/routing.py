# -*- test-case-name: tests.unit.test_api_routing -*-
"""
Requests and answers as plain values, and the table that routes one to
the other.  Pure: L{ApiResource<secdns.ops.api.resource.ApiResource>}
turns a twisted.web request into a L{Call} and a L{Reply} back into bytes.

A L{Route} is a method and a path pattern (C{("zones", "{zone}",
"records")}); L{match} finds the route of a call, or says which methods
the path has (405) or that it has none (404).  L{etag} and L{check_if_match}
are the API's optimistic concurrency: an C{etag} header on every resource,
C{If-Match} honoured (412 when it is not the current one).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Iterable

import attrs

from secdns.ops.api.errors import ApiError, bad, precondition_failed

__all__ = ["Call", "Reply", "Route", "match", "etag", "check_if_match", "paging", "one_of", "DEFAULT_LIMIT", "MAX_LIMIT"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@attrs.frozen
class Call:
    """
    One request, as the handlers see it.

    @ivar params: the path's variables (C{zone}, C{domain}, ...), decoded.
    @ivar query: the query string's values, decoded.
    @ivar headers: lowercase header names to values.
    @ivar who: the token's name (or C{loopback}): for the log.
    @ivar base: the API's absolute URL, C{http://host:port/20180115}.
    """

    method: str
    path: tuple[str, ...]
    params: dict[str, str] = attrs.field(factory=dict)
    query: dict[str, list[str]] = attrs.field(factory=dict)
    headers: dict[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    who: str = ""
    client: str = ""
    base: str = ""

    def arg(self, name: str) -> str | None:
        """A query parameter given once, or L{None}."""
        values = self.query.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise bad(f"the query parameter {name} is given {len(values)} times")
        return values[0]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@attrs.frozen
class Reply:
    """An answer: status, JSON body (L{None}: no body), extra headers, and the resource's etag."""

    status: int = 200
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None


Handler = Callable[[Call], Any]  # -> Reply, or a Deferred firing with one


@attrs.frozen
class Route:
    method: str
    pattern: tuple[str, ...]
    handler: Handler
    operation: str = ""  # the operationId, for the log and the OpenAPI document

    def bind(self, path: tuple[str, ...]) -> dict[str, str] | None:
        if len(path) != len(self.pattern):
            return None
        params = {}
        for part, segment in zip(self.pattern, path):
            if part.startswith("{"):
                if not segment:
                    return None
                params[part[1:-1]] = segment
            elif part != segment:
                return None
        return params


def match(routes: Iterable[Route], method: str, path: tuple[str, ...]) -> tuple[Route, dict[str, str]]:
    """
    The route of C{method} on C{path}, and the path's variables.

    @raise ApiError: C{NotFound} (no route has the path), or
        C{MethodNotAllowed} with an C{Allow} header.
    """
    allowed = []
    for route in routes:
        params = route.bind(path)
        if params is None:
            continue
        if route.method == method:
            return route, params
        allowed.append(route.method)
    if not allowed:
        raise ApiError("NotFound", "there is no such resource in this API (see /20180115/openapi.json)")
    methods = sorted(set(allowed))
    raise ApiError("MethodNotAllowed", f"{method} is not a method of this resource (it has: {', '.join(methods)})", (("Allow", ", ".join(methods)),))


def etag(source: Any) -> str:
    """An opaque etag for what C{source} (JSON values) describes."""
    text = json.dumps(source, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32] + '"'


def _tags(header: str) -> list[str]:
    tags = []
    for part in header.split(","):
        part = part.strip()
        if part.startswith("W/"):
            part = part[2:]
        if part:
            tags.append(part.strip('"'))
    return tags


def check_if_match(call: Call, current: str | None) -> None:
    """
    Honour C{If-Match}: the current etag must be one of those given (or
    C{*} for any existing resource).

    @raise ApiError: C{PreconditionFailed}.
    """
    header = call.header("if-match")
    if header is None:
        return
    tags = _tags(header)
    if current is not None and ("*" in tags or current.strip('"') in tags):
        return
    raise precondition_failed("If-Match: the resource has changed (its etag is no longer the one given)")


def one_of(call: Call, name: str, choices: Iterable[str], default: str | None = None) -> str | None:
    choices = tuple(choices)
    value = call.arg(name)
    if value is None:
        return default
    if value not in choices:
        raise bad(f"{name} must be one of {', '.join(choices)}")
    return value


def paging(call: Call, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT, with_page: bool = True) -> Any:
    """
    The C{limit} (1 to C{maximum}) and the offset C{page} names (a token
    from C{opc-next-page}); the limit alone if not C{with_page} (the
    caller reads its own tokens).
    """
    text = call.arg("limit")
    if text is None:
        limit = default
    else:
        if not text.isascii() or not text.isdigit() or len(text) > 9 or not 1 <= int(text) <= maximum:
            raise bad(f"limit must be an integer from 1 to {maximum}")
        limit = int(text)
    if not with_page:
        return limit
    page = call.arg("page")
    if page is None:
        return limit, 0
    if not page.isascii() or not page.isdigit() or len(page) > 12:
        raise bad("page must be a token from a previous answer's opc-next-page header")
    return limit, int(page)


def page_headers(next_page: int | str | None, total: int | None = None) -> tuple[tuple[str, str], ...]:
    headers = []
    if next_page is not None:
        headers.append(("opc-next-page", str(next_page)))
    if total is not None:
        headers.append(("opc-total-items", str(total)))
    return tuple(headers)
