"""
The security headers on every answer of the HTTP listener (console files,
API answers and errors, C{/metrics}, 404s): nothing it serves may run
inline code, load from another origin, be framed, sniffed or cached.
No imports, so that the API's own early answers can use it too.
"""

from __future__ import annotations

__all__ = ["CSP", "SECURITY_HEADERS", "secure", "raw_lines"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"Content-Security-Policy", CSP.encode("ascii")),
    (b"X-Content-Type-Options", b"nosniff"),
    (b"Referrer-Policy", b"no-referrer"),
    (b"X-Frame-Options", b"DENY"),
    (b"Cache-Control", b"no-store"),
)


def secure(request) -> None:
    """Set L{SECURITY_HEADERS} on C{request} (later headers of the same name replace them)."""
    for name, value in SECURITY_HEADERS:
        request.setHeader(name, value)


def raw_lines() -> bytes:
    """The headers as raw HTTP/1.1 lines, for an answer written straight to the transport."""
    return b"".join(name + b": " + value + b"\r\n" for name, value in SECURITY_HEADERS)
