# -*- test-case-name: tests.unit.test_console_resource -*-
"""
C{/console/}: the console's static files, shipped in the package, with
the security headers on every answer (L{secdns.ops.console.headers}).

The files hold no data (every datum comes from the API, with the bearer
token the browser keeps in session storage), so they are served without a
token; a browser cannot send one on a page load anyway.  Without a token
file the API answers loopback clients only, and so does the console.
"""

from __future__ import annotations

from importlib import resources
from typing import Callable

from twisted.web import resource

from secdns.ops.api.auth import is_loopback
from secdns.ops.console.headers import SECURITY_HEADERS, secure

__all__ = ["CONTENT_TYPES", "SECURITY_HEADERS", "ConsoleResource", "secure"]

#: The only kinds of file served; anything else is a 404.
CONTENT_TYPES: dict[str, bytes] = {
    ".html": b"text/html; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".svg": b"image/svg+xml; charset=utf-8",
    ".png": b"image/png",
    ".ico": b"image/x-icon",
}

_TEXT = b"text/plain; charset=utf-8"


class ConsoleResource(resource.Resource):
    """
    The files under C{static/}, by path: C{/console/} is C{index.html};
    C{/console} redirects to C{/console/}.  Only GET and HEAD, only files
    of L{CONTENT_TYPES}, no directory listing, no dot segments.

    @param loopback_only: answer 403 to clients not on loopback (no token file).
    @param root: the directory served (the package's C{static/} by default).
    """

    isLeaf = True

    def __init__(self, loopback_only: bool | Callable[[], bool] = False, root=None) -> None:
        super().__init__()
        self.loopback_only = loopback_only
        self.root = root if root is not None else resources.files(__package__).joinpath("static")

    def render(self, request) -> bytes:
        secure(request)
        method = request.method
        if method not in (b"GET", b"HEAD"):
            request.setHeader(b"Allow", b"GET, HEAD")
            return self._plain(request, 405, "method not allowed: the console is read with GET")
        only = self.loopback_only() if callable(self.loopback_only) else self.loopback_only
        if only and not is_loopback(getattr(request.getClientAddress(), "host", "") or ""):
            return self._plain(request, 403, "the console answers loopback clients only: give secdns a token file ([http] token_file) to serve others")
        segments = request.postpath
        if not segments:
            request.setResponseCode(301)
            request.setHeader(b"Location", b"/console/")
            request.setHeader(b"Content-Type", _TEXT)
            return b"see /console/\n"
        if segments == [b""]:
            segments = [b"index.html"]
        found = self._file(segments)
        if found is None:
            return self._plain(request, 404, "no such console file")
        data, kind = found
        request.setHeader(b"Content-Type", kind)
        request.setHeader(b"Content-Length", str(len(data)).encode("ascii"))
        return b"" if method == b"HEAD" else data

    def _file(self, segments: list[bytes]) -> tuple[bytes, bytes] | None:
        """The bytes and type of the file at C{segments}, or L{None} (nothing there, or not to be served)."""
        names = []
        for raw in segments:
            try:
                name = raw.decode("ascii")
            except UnicodeDecodeError:
                return None
            if not name or name.startswith(".") or any(c in name for c in "/\\\0%:"):
                return None
            names.append(name)
        dot = names[-1].rfind(".")
        kind = CONTENT_TYPES.get(names[-1][dot:]) if dot > 0 else None
        if kind is None:
            return None
        target = self.root.joinpath(*names)
        try:
            if not target.is_file():
                return None
            return target.read_bytes(), kind
        except OSError:
            return None

    @staticmethod
    def _plain(request, code: int, message: str) -> bytes:
        request.setResponseCode(code)
        body = (message + "\n").encode("utf-8")
        request.setHeader(b"Content-Type", _TEXT)
        request.setHeader(b"Content-Length", str(len(body)).encode("ascii"))
        return b"" if request.method == b"HEAD" else body
