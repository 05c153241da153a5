# -*- test-case-name: tests.integration.test_appliance -*-
"""
The operator's HTTP surface on C{[http] listen}: C{/metrics}, and the REST
API under C{/20180115/} (L{secdns.ops.api}), and the web console under C{/console/}
(L{secdns.ops.console}).  HTTPS when C{[http]} names a certificate and private key.
"""

from __future__ import annotations

import re
from typing import Callable

from prometheus_client.core import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from twisted.application import internet
from twisted.logger import Logger
from twisted.web import pages, resource, server

from secdns.config import Config, HttpConfig
from secdns.errors import ConfigError
from secdns.ops.api import API_VERSION, api_resource
from secdns.ops.api.auth import Access, Tokens, is_loopback
from secdns.ops.api.resource import LimitedRequest
from secdns.ops.console.headers import secure
from secdns.ops.console.resource import ConsoleResource
from secdns.ops.metrics import exposition

__all__ = ["MetricsResource", "QuietSite", "root_resource", "site", "http_service", "tls_options"]

log = Logger()


class MetricsResource(resource.Resource):
    """C{GET /metrics}: Prometheus text format, rendered on the reactor thread."""

    isLeaf = True

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self.registry = registry

    def render_GET(self, request) -> bytes:
        request.setHeader(b"Content-Type", CONTENT_TYPE_LATEST.encode("ascii"))
        return exposition(self.registry)


class _Root(resource.Resource):
    """The HTTP root: its children, and a plain 404 for anything else (C{/} included)."""

    def getChild(self, path: bytes, request) -> resource.IResource:
        return pages.notFound()


def root_resource(
    registry: CollectorRegistry, api: resource.Resource | None = None, console: resource.Resource | None = None
) -> resource.Resource:
    root = _Root()
    root.putChild(b"metrics", MetricsResource(registry))
    if api is not None:
        root.putChild(API_VERSION.encode("ascii"), api)
    if console is not None:
        root.putChild(b"console", console)
    return root


class QuietSite(server.Site):
    """
    A site that writes no access log and no factory start/stop lines: a
    line per scrape of C{/metrics} is noise in an operator's log (the API
    logs each change itself, with the token's name).  Each request is a
    debug line, for C{--log-level debug}.  Request bodies are
    capped as they arrive (L{LimitedRequest}).
    """

    noisy = False
    requestFactory = LimitedRequest

    def getResourceFor(self, request):
        """Every answer (console, API, C{/metrics}, 404s) carries the console's security headers."""
        secure(request)
        return super().getResourceFor(request)

    def log(self, request) -> None:
        """One debug line per request: shown only with C{twistd secdns --log-level debug}."""
        log.debug(
            "HTTP {client} {method} {uri} {code}",
            client=getattr(request.getClientAddress(), "host", "-"),
            method=request.method.decode("ascii", "replace"),
            uri=request.uri.decode("ascii", "replace")[:200],
            code=request.code,
        )


def site(
    registry: CollectorRegistry, api: resource.Resource | None = None, console: resource.Resource | None = None
) -> server.Site:
    return QuietSite(root_resource(registry, api, console))


def tls_options(http: HttpConfig, source: str):
    """
    The TLS context of C{[http] certificate} (a PEM certificate, then any
    intermediates) and C{private_key}.

    @raise ConfigError: a file cannot be read, or they are not a matching PEM certificate and key.
    """
    from twisted.internet import ssl

    files = {}
    for key in ("certificate", "private_key"):
        path = getattr(http, key)
        try:
            with open(path, "rb") as f:
                files[key] = f.read()
        except OSError as e:
            raise ConfigError(source, f"http.{key}", f"cannot read {path}: {e.strerror}") from None
    certificates = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", files["certificate"], re.S)
    if not certificates:
        raise ConfigError(source, "http.certificate", f"{http.certificate} holds no PEM certificate")
    try:
        leaf = ssl.PrivateCertificate.loadPEM(certificates[0] + b"\n" + files["private_key"])
        chain = [ssl.Certificate.loadPEM(pem).original for pem in certificates[1:]]
        return ssl.CertificateOptions(privateKey=leaf.privateKey.original, certificate=leaf.original, extraCertChain=chain)
    except Exception as e:  # pyOpenSSL's errors hold no key material, only OpenSSL's reason
        raise ConfigError(source, "http.private_key", f"{http.private_key} is not the PEM private key of {http.certificate} ({type(e).__name__})") from None


def http_service(
    config: Config, metrics: CollectorRegistry, registry: Callable, reactor, worker, alarms: Callable | None = None
) -> internet.TCPServer:
    """
    The listener of C{[http] listen}: C{/metrics} and the API, over HTTPS
    when a certificate is configured.  C{alarms} returns the alarm engine
    (or L{None} while there is none), for the API's C{/alarms} and C{/topics}.

    @raise ConfigError: the token file, certificate or key cannot be used.
    """
    http = config.http
    listen = http.listen
    if http.token_file is not None:
        try:
            tokens = Tokens.load(http.token_file)
        except ConfigError as e:
            raise ConfigError(config.source, "http.token_file", str(e)) from None
        access = Access(tokens)
    else:
        access = Access(None)
    scheme = "https" if http.certificate is not None else "http"
    where = f"{scheme}://{listen}/{API_VERSION}/"
    if http.token_file is not None:
        log.info("REST API at {where}: bearer tokens from {file}", where=where, file=http.token_file)
    elif is_loopback(listen.host):
        log.info("REST API at {where}: no [http] token_file, so loopback clients only", where=where)
    else:
        log.warn(
            "REST API at {where}: no [http] token_file, so it answers loopback clients only "
            "(others get 403; name a token file to serve them)",
            where=where,
        )
    console = ConsoleResource(loopback_only=http.token_file is None)
    web = site(metrics, api_resource(registry, access, worker, alarms), console)
    if http.certificate is not None:
        return internet.SSLServer(listen.port, web, tls_options(http, config.source), interface=listen.host, reactor=reactor)
    return internet.TCPServer(listen.port, web, interface=listen.host, reactor=reactor)
