# -*- test-case-name: tests.integration.test_deliveries -*-
"""
POST one JSON document to a receiver's URL, with Twisted's own HTTP
client (L{twisted.web.client.Agent}).

TLS certificates are verified (against the platform's trust roots, or
C{ca_file}); a plain C{http://} URL is only sent to loopback (the check is
L{secdns.alarms.endpoints.check}).  Redirects are not followed: a receiver
that moves answers 3xx and the delivery fails, rather than a signed body
going where nobody said.  Connections are not kept: notifications are few.

The outcome is classified for the retry loop: a 2xx is done; 408, 429 and
5xx, refusals and timeouts are L{Transient}; anything else (4xx, 3xx, a
certificate that does not verify) is L{Permanent}.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from OpenSSL import SSL
from twisted.internet import defer, error, protocol, ssl
from twisted.web import client
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer

from secdns import __version__ as _version
from secdns.ops.alarms.deliver.failures import Permanent, Transient

__all__ = ["JsonPoster", "load_trust_root"]

#: What is kept of a receiver's answer body, for the error text.
_KEPT = 300


def load_trust_root(ca_file: str | None):
    """The trust roots for verifying receivers: the certificates in PEM file C{ca_file}, or the platform's."""
    if ca_file is None:
        return ssl.platformTrust()
    with open(ca_file, "rb") as f:
        pem = f.read()
    marker = b"-----END CERTIFICATE-----"
    certificates = [ssl.Certificate.loadPEM(piece + marker) for piece in pem.split(marker) if b"BEGIN CERTIFICATE" in piece]
    if not certificates:
        raise ValueError(f"{ca_file}: no PEM certificate in it")
    return ssl.trustRootFromCertificates(certificates)


@implementer(IBodyProducer)
class _Bytes:
    """A request body already in memory (Twisted's FileBodyProducer would use the global reactor's cooperator)."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self.length = len(body)

    def startProducing(self, consumer):
        consumer.write(self._body)
        return defer.succeed(None)

    def pauseProducing(self):
        pass

    def resumeProducing(self):
        pass

    def stopProducing(self):
        pass


class _Start(protocol.Protocol):
    """Keeps the first bytes of an answer's body, discards the rest."""

    def __init__(self, done: defer.Deferred) -> None:
        self._done = done
        self._kept = b""

    def dataReceived(self, data: bytes) -> None:
        if len(self._kept) < _KEPT:
            self._kept += data[: _KEPT - len(self._kept)]

    def connectionLost(self, reason) -> None:
        if not self._done.called:
            self._done.callback(self._kept)


def _retry_after(value: bytes | None, now: float) -> float | None:
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - now)
    except (TypeError, ValueError):
        return None


def _tls_failure(reasons) -> bool:
    return any(r.check(SSL.Error) for r in reasons)


class _QuietFactory(client._HTTP11ClientFactory):
    noisy = False  # no "Starting factory" line in the log for every notification


class _QuietPool(client.HTTPConnectionPool):
    _factory = _QuietFactory


class JsonPoster:
    """
    POSTs JSON documents.

    @param reactor: provides the TCP, TLS and time interfaces.
    @param trust_root: what HTTPS receivers' certificates are verified
        against (L{load_trust_root}).
    """

    def __init__(self, reactor, trust_root=None, connect_timeout: float = 10.0) -> None:
        self._reactor = reactor
        self._pool = _QuietPool(reactor, persistent=False)
        policy = client.BrowserLikePolicyForHTTPS(trustRoot=trust_root if trust_root is not None else ssl.platformTrust())
        self._agent = client.Agent(reactor, contextFactory=policy, connectTimeout=connect_timeout, pool=self._pool)

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> defer.Deferred:
        """
        POST C{body} to C{url}; fires with the status code (2xx), or fails
        with L{Transient} or L{Permanent} whose text names no URL.  Gives up
        (L{Transient}) after C{timeout} seconds.
        """
        sent = Headers({
            b"Content-Type": [b"application/json"],
            b"User-Agent": [f"secdns/{_version}".encode("ascii")],
        })
        for name, value in headers.items():
            sent.setRawHeaders(name.encode("ascii"), [value.encode("ascii")])
        d = self._agent.request(b"POST", url.encode("ascii"), sent, _Bytes(body))
        d.addCallback(self._answered)
        d.addTimeout(timeout, self._reactor, onTimeoutCancel=lambda result, t: self._timed_out(t))
        d.addErrback(self._classify)
        return d

    def _answered(self, response) -> defer.Deferred:
        start = None

        def stop(_):
            if start is not None and start.transport is not None:
                start.transport.stopProducing()

        done: defer.Deferred = defer.Deferred(stop)
        start = _Start(done)
        response.deliverBody(start)
        done.addCallback(lambda start: self._judge(response, start))
        return done

    def _judge(self, response, start: bytes) -> int:
        code = response.code
        if 200 <= code < 300:
            return code
        phrase = (response.phrase or b"").decode("latin-1", "replace")
        text = " ".join(start.decode("utf-8", "replace").split())[:200]
        detail = f"HTTP {code} {phrase}".strip() + (f": {text}" if text else "")
        if code in (408, 429) or code >= 500:
            raise Transient(detail, _retry_after(response.headers.getRawHeaders(b"retry-after", [None])[0],
                                                 self._reactor.seconds()))
        raise Permanent(detail)

    @staticmethod
    def _timed_out(timeout: float):
        raise Transient(f"no answer within {timeout:g} s")

    @staticmethod
    def _classify(failure):
        if failure.check(Transient, Permanent):
            return failure
        if failure.check(error.ConnectionRefusedError):
            raise Transient("connection refused")
        if failure.check(error.DNSLookupError):
            raise Transient("the receiver's host name does not resolve")
        if failure.check(error.TimeoutError, defer.TimeoutError, defer.CancelledError):
            raise Transient("no answer in time")
        if failure.check(client.ResponseNeverReceived, client.RequestTransmissionFailed, client.ResponseFailed):
            if _tls_failure(failure.value.reasons):
                raise Permanent("TLS: the receiver's certificate does not verify")
            raise Transient("the connection closed before an answer")
        if failure.check(SSL.Error):
            raise Permanent("TLS: the receiver's certificate does not verify")
        if failure.check(error.ConnectError, error.ConnectionLost, error.ConnectionDone):
            raise Transient(f"cannot connect ({failure.type.__name__})")
        raise Transient(f"{failure.type.__name__}")

    def close(self) -> defer.Deferred:
        """Close any connection still open."""
        return self._pool.closeCachedConnections()
