# -*- test-case-name: tests.integration.test_deliveries -*-
"""
One try at sending one notification to one subscription, by protocol:
C{email} (SMTP), C{slack} and C{webhook} and C{pagerduty} (an HTTPS POST),
C{stream} (a JSON line in a file) and C{log} (a line in secdns's log).

Each returns a L{Deferred} that fires with a short text of how it went
(C{"HTTP 200"}, C{"relay 127.0.0.1:25 took it"}) or fails with
L{Transient} or L{Permanent}; whether to try again is the caller's
business (L{secdns.ops.alarms.deliver.courier}).
"""

from __future__ import annotations

import os
import re

from twisted.internet import defer
from twisted.logger import Logger

from secdns.alarms import render
from secdns.alarms.endpoints import PAGERDUTY_URL, check, scrub
from secdns.alarms.model import OK, Notification, SmtpConfig, Subscription, Topic
from secdns.alarms.signature import sign
from secdns.ops.alarms.deliver.failures import DeliveryFailed, Permanent
from secdns.ops.alarms.deliver.http import JsonPoster
from secdns.ops.alarms.deliver.smtp import send_email
from secdns.ops.alarms.deliver.streamfile import StreamFile

__all__ = ["Senders", "Unusable", "stream_path"]

log = Logger(namespace="secdns.alarms")

_LEVELS = {"CRITICAL": log.critical, "ERROR": log.error, "WARNING": log.warn, "INFO": log.info}


def stream_path(state_dir: str, topic: Topic, endpoint: str = "") -> str:
    """
    The file a C{stream} subscription (C{endpoint}), or the topic's folded
    messages (no endpoint), go to: relative paths are relative to C{state_dir};
    the default is C{<state_dir>/streams/<topic>.jsonl}.
    """
    path = endpoint or topic.stream_file
    if not path:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", topic.name).lstrip(".") or "topic"
        path = os.path.join("streams", f"{safe}.jsonl")
    return os.path.join(state_dir, path)


class Unusable:
    """Trust roots that could not be loaded: every try that needs them fails, saying why."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


class Senders:
    """
    @ivar smtp: the C{[smtp]} relay in force (replaced on reload).
    """

    def __init__(self, reactor, smtp: SmtpConfig, state_dir: str, poster: JsonPoster, smtp_trust=None,
                 timeout: float = 30.0, stream_max_bytes: int | None = None, stream_keep: int | None = None) -> None:
        self._reactor = reactor
        self.smtp = smtp
        self._state_dir = state_dir
        self._poster = poster
        self._smtp_trust = smtp_trust
        self._timeout = timeout
        self._stream_options = {
            k: v for k, v in (("max_bytes", stream_max_bytes), ("keep", stream_keep)) if v is not None
        }

    def stream(self, topic: Topic, endpoint: str = "") -> StreamFile:
        """The stream file of a C{stream} subscription, or of C{topic}'s folded messages."""
        return StreamFile(stream_path(self._state_dir, topic, endpoint), **self._stream_options)

    def send(self, topic: Topic, subscription: Subscription, notification: Notification, kind: str,
             delivery: str) -> defer.Deferred:
        """
        One try.  C{delivery} names this delivery (the same in each of its
        tries): the webhook's C{X-Secdns-Delivery} header, so a receiver can
        drop a retry of a message it already has.
        """
        try:
            check(subscription)
        except ValueError as e:
            return defer.fail(Permanent(str(e)))
        d = defer.maybeDeferred(getattr(self, f"_send_{subscription.protocol}"), topic, subscription,
                                notification, kind, delivery)
        return d.addErrback(self._scrubbed, subscription)

    @staticmethod
    def _scrubbed(failure, subscription: Subscription):
        if failure.check(DeliveryFailed):
            failure.value.detail = scrub(failure.value.detail, subscription)
            return failure
        raise Permanent(scrub(f"{failure.type.__name__}", subscription))

    def _send_email(self, topic, subscription, notification, kind, delivery):
        if isinstance(self._smtp_trust, Unusable):
            raise Permanent(self._smtp_trust.problem)
        message = render.email_message(notification, topic.name, self.smtp.sender, subscription.endpoint, kind)
        d = send_email(self._reactor, self.smtp, subscription.endpoint, message, self.smtp.timeout, self._smtp_trust)
        return d.addCallback(lambda _: f"relay {self.smtp.host}:{self.smtp.port} took it")

    def _post(self, url: str, body: bytes, headers: dict[str, str]):
        d = self._poster.post(url, body, headers, self._timeout)
        return d.addCallback(lambda code: f"HTTP {code}")

    def _send_slack(self, topic, subscription, notification, kind, delivery):
        body = render.json_bytes(render.slack_payload(notification, topic.name, kind))
        return self._post(subscription.endpoint, body, {})

    def _send_webhook(self, topic, subscription, notification, kind, delivery):
        body = render.webhook_body(notification, topic.name, kind)
        headers = {"X-Secdns-Delivery": delivery, "X-Secdns-Kind": kind}
        if subscription.secret:
            headers.update(sign(subscription.secret, body, self._reactor.seconds()))
        return self._post(subscription.endpoint, body, headers)

    def _send_pagerduty(self, topic, subscription, notification, kind, delivery):
        event = render.pagerduty_event(notification, topic.name, subscription.secret.decode("utf-8", "replace"), kind)
        return self._post(subscription.endpoint or PAGERDUTY_URL, render.json_bytes(event), {})

    def _send_stream(self, topic, subscription, notification, kind, delivery):
        stream = self.stream(topic, subscription.endpoint)
        try:
            stream.append([render.stream_line(notification, topic.name, kind)])
        except OSError as e:
            raise Permanent(f"cannot write {stream.path}: {e.strerror}") from None
        return f"appended to {stream.path}"

    def _send_log(self, topic, subscription, notification, kind, delivery):
        emit = log.info if notification.state == OK or kind != "alarm" else _LEVELS.get(notification.severity, log.error)
        emit(
            "{subject}: {title}",
            subject=render.subject(notification, kind),
            title=notification.title,
            topic=topic.name,
            alarm=notification.alarm,
            zone=notification.zone,
            state=notification.state,
            severity=notification.severity,
            dedup_key=notification.dedup_key,
        )
        return "logged"
