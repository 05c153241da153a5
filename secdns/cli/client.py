# -*- test-case-name: tests.unit.test_cli -*-
"""
The HTTP side of the CLI: one L{Request} value in, one L{Response} out,
over C{urllib.request} (the standard library: the CLI installs nothing
beyond the appliance's own package and imports nothing of the server).

Failures are two exceptions, which the CLI turns into distinct exit
statuses: L{ApiError} (the API answered, with an error) and
L{ConnectionFailed} (it could not be asked: refused, unreachable, TLS,
timeout), whose message names the endpoint.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote, urlencode, urlsplit

from secdns import __version__
from secdns.cli.settings import Settings

__all__ = [
    "Request", "Response", "ApiError", "ConnectionFailed", "Client", "path_of", "query_of", "if_match_of", "MAX_BODY",
]

#: The most of a response body read (a zone's records can be large).
MAX_BODY = 512 * 1024 * 1024
#: The most pages C{--all} follows.
MAX_PAGES = 100_000


def path_of(*segments: str) -> str:
    """C{/zones/example.com./records}: each segment quoted whole (a C{/} in a name stays in its segment)."""
    return "".join("/" + quote(str(segment), safe="") for segment in segments)


def query_of(args, pairs) -> tuple[tuple[str, str], ...]:
    """The query parameters among C{pairs} (argument attribute, API name) that were given."""
    out = []
    for attribute, name in pairs:
        value = getattr(args, attribute, None)
        if value is not None:
            out.append((name, str(value)))
    return tuple(out)


def if_match_of(args) -> tuple[tuple[str, str], ...]:
    """The C{If-Match} header, when C{--if-match} was given."""
    return (("If-Match", args.if_match),) if getattr(args, "if_match", None) else ()


@dataclass(frozen=True)
class Request:
    """
    One API request.

    @ivar path: below the API's base, starting with C{/}.
    @ivar query: (name, value) pairs, in order.
    @ivar body: what is sent as JSON; L{None}: no body.
    @ivar headers: extra headers, such as C{If-Match}.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()

    def with_query(self, name: str, value: str) -> "Request":
        kept = tuple((k, v) for k, v in self.query if k != name)
        return Request(self.method, self.path, kept + ((name, value),), self.body, self.headers)

    def __repr__(self) -> str:  # bodies can hold a secret
        return f"Request({self.method} {self.path}{'?' + urlencode(self.query) if self.query else ''})"


@dataclass(frozen=True)
class Response:
    """
    One API response.

    @ivar headers: names in lower case.
    @ivar body: the parsed JSON, or L{None} for an empty body.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class ApiError(Exception):
    """The API answered with an error status: its C{code} and C{message}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class ConnectionFailed(Exception):
    """The API could not be reached; the message names the endpoint."""


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    if settings.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=settings.ca_file)


def _error_of(status: int, reason: str, raw: bytes) -> ApiError:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = None
    if isinstance(body, dict) and "message" in body:
        return ApiError(status, str(body.get("code") or f"HTTP{status}"), str(body["message"]))
    text = raw[:300].decode("utf-8", "replace").strip()
    return ApiError(status, f"HTTP{status}", f"{reason or 'error'}" + (f": {text}" if text else ""))


class Client:
    """
    Sends L{Request}s to the API described by a L{Settings}.

    @param urlopen: C{urllib.request.OpenerDirector.open}'s stand-in, for tests.
    """

    def __init__(self, settings: Settings, urlopen: Callable | None = None) -> None:
        self.settings = settings
        if urlopen is None:
            handlers: list = []
            if urlsplit(settings.base).scheme == "https":
                handlers.append(urllib.request.HTTPSHandler(context=_ssl_context(settings)))
            # Proxies from the environment are not for an appliance's API.
            handlers.append(urllib.request.ProxyHandler({}))
            urlopen = urllib.request.build_opener(*handlers).open
        self._urlopen = urlopen

    @property
    def endpoint(self) -> str:
        parts = urlsplit(self.settings.base)
        return f"{parts.scheme}://{parts.netloc}"

    def url(self, request: Request) -> str:
        url = self.settings.base + request.path
        return url + ("?" + urlencode(request.query) if request.query else "")

    def send(self, request: Request) -> Response:
        """
        @raise ApiError: the API answered 4xx or 5xx, or something that is not JSON.
        @raise ConnectionFailed: it could not be asked.
        """
        data = None
        headers = {"Accept": "application/json", "User-Agent": f"secdns-cli/{__version__}"}
        if request.body is not None:
            data = json.dumps(request.body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        headers.update(dict(request.headers))
        http_request = urllib.request.Request(self.url(request), data=data, headers=headers, method=request.method)
        try:
            with self._urlopen(http_request, timeout=self.settings.timeout) as answer:
                status = answer.status
                answer_headers = {k.lower(): v for k, v in answer.headers.items()}
                raw = answer.read(MAX_BODY)
        except urllib.error.HTTPError as e:
            try:
                raw = e.read(1 << 20)
            except OSError:
                raw = b""
            raise _error_of(e.code, e.reason, raw) from None
        except urllib.error.URLError as e:
            raise ConnectionFailed(self._why(e.reason)) from None
        except (OSError, ssl.SSLError) as e:  # timeouts and resets while reading
            raise ConnectionFailed(self._why(e)) from None
        if not raw.strip():
            return Response(status, answer_headers, None)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ApiError(status, "InvalidResponse", f"{self.endpoint} answered {status} with a body that is not JSON") from None
        return Response(status, answer_headers, body)

    def _why(self, reason: object) -> str:
        endpoint = self.endpoint
        if isinstance(reason, ConnectionRefusedError):
            return f"cannot connect to {endpoint}: connection refused (is secdns running, with [http] listen there?)"
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return f"{endpoint} did not answer within {self.settings.timeout:g} s"
        if isinstance(reason, ssl.SSLCertVerificationError):
            return f"{endpoint}: the server's certificate cannot be verified ({reason.verify_message}); give --ca-file, or --insecure"
        if isinstance(reason, ssl.SSLError):
            return f"{endpoint}: TLS failed ({reason.reason or reason})"
        if isinstance(reason, http.client.RemoteDisconnected) and endpoint.startswith("http:"):
            return f"{endpoint} closed the connection without an answer (is it HTTPS? then use https://)"
        if isinstance(reason, socket.gaierror):
            return f"cannot connect to {endpoint}: unknown host ({reason.strerror})"
        if isinstance(reason, OSError):
            return f"cannot connect to {endpoint}: {reason.strerror or reason}"
        return f"cannot connect to {endpoint}: {reason}"

    def send_all(self, request: Request) -> Response:
        """
        L{send}, then follow C{opc-next-page} until the last page: the
        lists (or C{items} lists) of every page joined in one L{Response}.
        """
        first = self.send(request)
        body = first.body
        token = first.headers.get("opc-next-page")
        seen = set()
        for _ in range(MAX_PAGES):
            if not token:
                break
            if token in seen:
                raise ApiError(first.status, "InvalidResponse", f"{self.endpoint} gave the page {token!r} twice")
            seen.add(token)
            page = self.send(request.with_query("page", token))
            body = _join(body, page.body)
            token = page.headers.get("opc-next-page")
        headers = {k: v for k, v in first.headers.items() if k != "opc-next-page"}
        return Response(first.status, headers, body)


def _join(body: Any, more: Any) -> Any:
    if isinstance(body, list) and isinstance(more, list):
        return body + more
    if isinstance(body, dict) and isinstance(more, dict) and isinstance(body.get("items"), list):
        return {**body, "items": body["items"] + list(more.get("items") or [])}
    raise ApiError(200, "InvalidResponse", "pages of different shapes")
