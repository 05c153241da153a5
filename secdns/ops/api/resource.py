# -*- test-case-name: tests.unit.test_api_resource -*-
"""
The API on twisted.web: L{ApiResource}, mounted at C{/20180115}, turns
each request into a L{Call}, routes it (L{secdns.ops.api.routing}), and
writes the L{Reply} or error as JSON.  L{LimitedRequest} caps request
bodies as they arrive.

Whatever comes in -- bytes that are not UTF-8, a path or query that does
not decode, a body too large, a handler's bug -- the client gets a JSON
error with the right status and never a traceback; a bug is logged with
its traceback (never a request body) and answered 500.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterable
from urllib.parse import unquote_to_bytes

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource, server

from secdns.ops.api.auth import Access
from secdns.ops.api.body import MAX_BODY
from secdns.ops.api.context import Api
from secdns.ops.api.errors import ApiError, error_for
from secdns.ops.api.routing import Call, Reply, Route, match
from secdns.ops.console.headers import raw_lines

__all__ = ["ApiResource", "LimitedRequest", "API_VERSION", "SMALL_BODY"]

log = Logger(namespace="secdns.api")

API_VERSION = "20180115"
#: The largest body of a request that is not a records PATCH or PUT (read on the reactor thread).
SMALL_BODY = 64 * 1024
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class LimitedRequest(server.Request):
    """
    A request whose body may not pass L{MAX_BODY} octets: past it (by its
    C{Content-Length}, or as it arrives), the client is answered 413 at
    once and the connection closed, and nothing more of the body is kept.
    """

    max_body = MAX_BODY
    refused = False

    def gotLength(self, length):
        if length is not None and length > self.max_body:
            self._refuse()
            length = 0
        super().gotLength(length)

    def handleContentChunk(self, data):
        if self.refused:
            return
        if self.content.tell() + len(data) > self.max_body:
            self._refuse()
            return
        super().handleContentChunk(data)

    def _refuse(self) -> None:
        if self.refused:
            return
        self.refused = True
        body = _json({"code": "PayloadTooLarge", "message": f"the request body is larger than {self.max_body} octets"})
        head = (
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n" % len(body)
        ) + raw_lines() + b"\r\n"
        transport = self.channel.transport
        if transport is not None:
            transport.write(head + body)
            transport.loseConnection()

    def requestReceived(self, command, path, version):
        if self.refused:  # answered already; the connection is closing
            return
        super().requestReceived(command, path, version)


class ApiResource(resource.Resource):
    """
    Everything under C{/20180115/}: the routes, and the OpenAPI document
    at C{openapi.json} (served to anyone: it holds no secret).
    """

    isLeaf = True

    def __init__(self, api: Api, access: Access, routes: Iterable[Route], openapi: bytes, large_bodies: Iterable[str] = ()) -> None:
        super().__init__()
        self.api = api
        self.access = access
        self.routes = list(routes)
        self.openapi = openapi
        self.large_bodies = frozenset(large_bodies)

    def render(self, request) -> Any:
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))
        answered = defer.maybeDeferred(self._handle, request)
        answered.addCallback(_checked)
        answered.addErrback(self._error, request)
        answered.addCallback(self._write, request, gone)
        answered.addErrback(lambda f: log.failure("API: writing an answer failed", f))
        return server.NOT_DONE_YET

    # -- in

    def _handle(self, request) -> Any:
        if getattr(request, "refused", False):
            raise ApiError("PayloadTooLarge", f"the request body is larger than {MAX_BODY} octets")
        path = self._path(request)
        method = request.method.decode("ascii", "replace").upper()
        if path == ("openapi.json",) and method in ("GET", "HEAD"):
            return Reply(200, None, (("Content-Type", "application/json"),), None), self.openapi
        client = request.getClientAddress()
        host = getattr(client, "host", None)
        who = self.access.who(_header(request, b"authorization"), host)
        route, params = match(self.routes, "GET" if method == "HEAD" else method, path)
        body = request.content.read() if request.content is not None else b""
        limit = MAX_BODY if route.operation in self.large_bodies else SMALL_BODY
        if len(body) > limit:
            raise ApiError("PayloadTooLarge", f"the request body is larger than {limit} octets")
        call = Call(
            method=route.method,
            path=path,
            params=params,
            query=self._query(request),
            headers=self._headers(request),
            body=body,
            who=who,
            client=host or "?",
            base=self._base(request),
        )
        return route.handler(call)

    @staticmethod
    def _path(request) -> tuple[str, ...]:
        segments = list(request.postpath)
        if segments and segments[-1] == b"":
            segments.pop()
        decoded = []
        for segment in segments:
            try:
                decoded.append(unquote_to_bytes(segment).decode("utf-8"))
            except UnicodeDecodeError:
                raise ApiError("NotFound", "the path is not UTF-8 text") from None
        return tuple(decoded)

    @staticmethod
    def _query(request) -> dict[str, list[str]]:
        query = {}
        try:
            for key, values in (request.args or {}).items():
                query[key.decode("utf-8")] = [value.decode("utf-8") for value in values]
        except UnicodeDecodeError:
            raise ApiError("InvalidParameter", "the query string is not UTF-8 text") from None
        return query

    @staticmethod
    def _headers(request) -> dict[str, str]:
        headers = {}
        for name, values in request.requestHeaders.getAllRawHeaders():
            key = name.decode("latin-1").lower()
            headers[key] = ", ".join(value.decode("latin-1") for value in values)
        return headers

    @staticmethod
    def _base(request) -> str:
        scheme = "https" if request.isSecure() else "http"
        host = (_header(request, b"host") or "").strip()
        if not _HOST.match(host):
            address = request.getHost()
            host = f"[{address.host}]:{address.port}" if ":" in address.host else f"{address.host}:{address.port}"
        return f"{scheme}://{host}/{API_VERSION}"

    # -- out

    def _error(self, failure: Failure, request) -> Reply:
        error = error_for(failure.value)
        if error is None:
            log.failure(
                "API: {method} {path} failed",
                failure,
                method=request.method.decode("ascii", "replace"),
                path=request.path.decode("ascii", "replace")[:200],
            )
            error = ApiError("InternalServerError", "the request failed inside secdns; the log says why")
        return Reply(error.status, error.body(), error.headers)

    def _write(self, reply: Any, request, gone: list[bool]) -> None:
        raw = None
        if isinstance(reply, tuple):  # the OpenAPI document, already bytes
            reply, raw = reply
        if gone:
            return
        request.setResponseCode(reply.status)
        request.setHeader(b"opc-request-id", os.urandom(16).hex().encode("ascii"))
        request.setHeader(b"Cache-Control", b"no-store")
        if reply.etag is not None:
            request.setHeader(b"etag", reply.etag.encode("ascii"))
        for name, value in reply.headers:
            request.setHeader(name.encode("ascii"), value.encode("utf-8"))
        if raw is None and reply.body is not None:
            raw = _json(reply.body)
        if raw is not None:
            if not request.responseHeaders.hasHeader(b"content-type"):
                request.setHeader(b"Content-Type", b"application/json")
            request.setHeader(b"Content-Length", str(len(raw)).encode("ascii"))
            request.write(raw)
        request.finish()


def _checked(reply: Any) -> Any:
    if isinstance(reply, Reply) or isinstance(reply, tuple) and isinstance(reply[0], Reply):
        return reply
    raise TypeError(f"a handler answered {type(reply).__name__}, not a Reply")


def _header(request, name: bytes) -> str | None:
    value = request.getHeader(name)
    return None if value is None else value.decode("latin-1")
