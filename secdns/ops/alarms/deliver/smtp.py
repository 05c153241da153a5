# -*- test-case-name: tests.integration.test_deliveries -*-
"""
Send one email through the C{[smtp]} relay, with Twisted's ESMTP client
(L{twisted.mail.smtp.ESMTPSenderFactory}).

C{starttls}: C{required} (no TLS, no mail), C{optional} (TLS when the
relay offers it) or C{never}.  The relay's certificate is verified against
C{[smtp] ca_file} or the platform's trust roots.  With a C{username}, the
password is only ever sent inside TLS, whatever C{starttls} says, unless
it says C{never} (a relay on loopback, say); Twisted tries CRAM-MD5, then
LOGIN, then PLAIN.

Failures are classified for the retry loop: the relay unreachable, a
timeout, or a 4xx reply are L{Transient}; a 5xx reply (a recipient
refused, a login refused), no STARTTLS where it is required, or a
certificate that does not verify are L{Permanent}.  Their text is made of
the reply's code and words: Twisted's own error text carries the session
transcript, AUTH line included, so it is never used.
"""

from __future__ import annotations

from io import BytesIO

from OpenSSL import SSL
from twisted.internet import defer, error, ssl
from twisted.mail import smtp

from secdns.alarms.model import SmtpConfig
from secdns.ops.alarms.deliver.failures import Permanent, Transient

__all__ = ["send_email"]


class _Sender(smtp.ESMTPSender):
    """Twisted's sender, quiet once the outcome is decided (cancelled by our deadline, say)."""

    def _decided(self) -> bool:
        return self.factory.sendFinished or getattr(self.factory, "result", None) is None

    def sendError(self, exc):
        if self._decided():
            if self.transport is not None:
                self.transport.abortConnection()
            return
        super().sendError(exc)

    def sentMail(self, code, resp, numOk, addresses, log):
        if not self._decided():
            super().sentMail(code, resp, numOk, addresses, log)


class _SenderFactory(smtp.ESMTPSenderFactory):
    """Twisted's sender factory, its protocol's idle timeout on our reactor rather than the global one."""

    noisy = False
    protocol = _Sender

    def __init__(self, reactor, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._reactor = reactor

    def buildProtocol(self, addr):
        p = super().buildProtocol(addr)
        p.callLater = self._reactor.callLater
        return p


def _words(resp) -> str:
    if isinstance(resp, bytes):
        resp = resp.decode("utf-8", "replace")
    return " ".join(str(resp).split())[:200]


def _classify(failure, config: SmtpConfig):
    if failure.check(Transient, Permanent):
        return failure
    relay = f"{config.host}:{config.port}"
    if failure.check(defer.CancelledError, defer.TimeoutError):
        raise Transient(f"relay {relay}: no answer in time")
    if failure.check(smtp.TLSRequiredError):
        raise Permanent(f"relay {relay} does not offer STARTTLS, and [smtp] starttls or a login requires it")
    if failure.check(smtp.AUTHDeclinedError, smtp.AuthenticationError):
        raise Permanent(f"relay {relay} refused the login: {failure.value.code} {_words(failure.value.resp)}")
    if failure.check(smtp.AUTHRequiredError, smtp.EHLORequiredError):
        raise Permanent(f"relay {relay} offers no login this client can use")
    if failure.check(smtp.TLSError):
        raise Permanent(f"relay {relay}: the TLS handshake failed")
    if failure.check(smtp.SMTPTimeoutError):
        raise Transient(f"relay {relay}: no answer in time")
    if failure.check(smtp.SMTPConnectError):
        cause = failure.value.__cause__
        if isinstance(cause, SSL.Error):
            raise Permanent(f"relay {relay}: TLS: its certificate does not verify")
        if isinstance(cause, error.ConnectionRefusedError):
            raise Transient(f"relay {relay}: connection refused")
        name = type(cause).__name__ if cause is not None else "lost"
        raise Transient(f"relay {relay}: cannot connect ({name})")
    if failure.check(smtp.SMTPClientError):
        code = failure.value.code
        detail = f"relay {relay} answered {code} {_words(failure.value.resp)}"
        if failure.check(smtp.SMTPDeliveryError) and failure.value.addresses:
            refused = [f"{_words(a)}: {c} {_words(r)}" for a, c, r in failure.value.addresses if c not in smtp.SUCCESS]
            if refused:
                detail = f"relay {relay} refused " + "; ".join(refused)
                code = min(c for _, c, _ in failure.value.addresses if c not in smtp.SUCCESS)
        if 400 <= code < 500 or code < 0:
            raise Transient(detail)
        raise Permanent(detail)
    if failure.check(error.ConnectionRefusedError):
        raise Transient(f"relay {relay}: connection refused")
    if failure.check(error.DNSLookupError):
        raise Transient(f"relay {relay}: the host name does not resolve")
    if failure.check(error.ConnectError, error.ConnectionLost, error.ConnectionDone):
        raise Transient(f"relay {relay}: cannot connect ({failure.type.__name__})")
    raise Transient(f"relay {relay}: {failure.type.__name__}")


def send_email(reactor, config: SmtpConfig, recipient: str, message: bytes, timeout: float,
               trust_root=None) -> defer.Deferred:
    """
    Send C{message} (headers and body, as L{secdns.alarms.render.email_message}
    makes it) to C{recipient} through C{config}'s relay.  Fires when the
    relay has taken it, or fails with L{Transient} or L{Permanent}; gives
    up after C{timeout} seconds in all.

    @param trust_root: what the relay's certificate is verified against
        (L{secdns.ops.alarms.deliver.http.load_trust_root}); L{None}: the platform's.
    """
    tls = config.starttls != "never"
    context = None
    if tls:
        context = ssl.optionsForClientTLS(
            config.host, trustRoot=trust_root if trust_root is not None else ssl.platformTrust()
        )
    login = bool(config.username)
    connector = None

    def cancel(d):
        # The result fires with CancelledError; the connection's end must not fire it again.
        factory.sendFinished = True
        if factory.currentProtocol is not None and factory.currentProtocol.transport is not None:
            factory.currentProtocol.transport.abortConnection()
        elif connector is not None and getattr(connector, "state", None) == "connecting":
            connector.stopConnecting()

    result: defer.Deferred = defer.Deferred(cancel)
    try:
        factory = _SenderFactory(
            reactor,
            config.username.encode("utf-8") if login else None,
            config.password if login else None,
            config.sender,
            recipient,
            BytesIO(message),
            result,
            retries=0,
            timeout=timeout,
            contextFactory=context,
            heloFallback=not login and config.starttls != "required",
            requireAuthentication=login,
            requireTransportSecurity=config.starttls == "required" or (login and tls),
        )
    except (ValueError, TypeError) as e:  # a non-ASCII address: nothing was sent
        return defer.fail(Permanent(f"cannot send to {recipient!r} through {config.host}:{config.port} ({type(e).__name__})"))
    connector = reactor.connectTCP(config.host, config.port, factory, timeout=timeout)
    result.addTimeout(timeout, reactor)
    result.addErrback(_classify, config)
    return result
