# -*- test-case-name: tests.integration.test_deliveries -*-
"""
L{Deliveries}: what the alarm engine hands its notifications to.

For each notification and each subscription of its topic::

    deliver(topic, n) --> fold? --yes--> topic's stream file; the minute's summary later
                            |no
                            v
                         courier (one per subscription: in order, retried, bounded)
                            |
                            v
                         sender (email | slack | webhook | pagerduty | stream | log)
                            |
                            v
                         counted: sent / failed, by topic and protocol; logged

L{Deliveries.deliver} only queues: it never raises and never waits, so a
receiver that is down or slow never holds up DNS work or the alarm engine.
The alarm state stays the engine's; what is here is the in-memory queue of
messages still to send, and whatever is still queued at shutdown is
written to its topic's stream file, marked undelivered.
"""

from __future__ import annotations

import uuid
from collections import deque

import attrs
from twisted.internet import defer
from twisted.logger import Logger

from secdns.alarms import render
from secdns.alarms.backoff import RetryPolicy
from secdns.alarms.endpoints import describe
from secdns.alarms.fold import LIMIT, WINDOW, Folder
from secdns.alarms.model import Notification, SmtpConfig, Subscription, Topic
from secdns.ops.alarms.deliver.courier import Courier, Job
from secdns.ops.alarms.deliver.http import JsonPoster, load_trust_root
from secdns.ops.alarms.deliver.senders import Senders, Unusable

__all__ = ["Deliveries", "Counts", "Outcome"]

log = Logger(namespace="secdns.alarms")


@attrs.define
class Counts:
    """Messages for one topic and protocol: delivered, given up, folded, and waiting now."""

    sent: int = 0
    failed: int = 0
    folded: int = 0
    queued: int = 0


@attrs.frozen
class Outcome:
    """
    How one message to one subscription went.

    @ivar subscription: as L{secdns.alarms.endpoints.describe} shows it.
    @ivar kind: C{alarm}, C{summary} or C{test}.
    @ivar tries: tries made (0: never tried, as when stopping).
    """

    when: float
    topic: str
    protocol: str
    subscription: str
    kind: str
    alarm: str
    zone: str
    state: str
    ok: bool
    detail: str
    tries: int


class Deliveries:
    """
    Delivers notifications to the subscriptions of their topics.

    @param reactor: the reactor (time, TCP, TLS).
    @param smtp: the C{[smtp]} relay email goes through.
    @param state_dir: where relative stream paths, and the default
        C{streams/<topic>.jsonl}, are.
    @param policy: retries (L{RetryPolicy}; its C{timeout} bounds each try).
    @param limit: messages a minute one subscription may receive (L{Folder}).
    @param fold_window: the length of that minute, in seconds (shorter only in tests).
    @param queue_limit: messages that may wait for one subscription.
    @param ca_file: what HTTPS receivers' certificates are verified
        against (a PEM file); L{None}: the platform's trust roots.
    @param history: how many outcomes L{recent} remembers.
    """

    def __init__(self, reactor, smtp: SmtpConfig, state_dir: str, *, policy: RetryPolicy | None = None,
                 limit: int = LIMIT, fold_window: float = WINDOW, queue_limit: int = 500, ca_file: str | None = None,
                 stream_max_bytes: int | None = None, stream_keep: int | None = None, history: int = 1000) -> None:
        self._reactor = reactor
        self._policy = policy or RetryPolicy()
        self._queue_limit = queue_limit
        self._folder = Folder(limit, fold_window)
        self._poster = JsonPoster(reactor, load_trust_root(ca_file))
        self._senders = Senders(
            reactor, smtp, state_dir, self._poster, self._smtp_trust(smtp), timeout=self._policy.timeout,
            stream_max_bytes=stream_max_bytes, stream_keep=stream_keep,
        )
        self._couriers: dict[tuple[str, Subscription], Courier] = {}
        self._counts: dict[tuple[str, str], Counts] = {}
        self._folded_topics: dict[tuple[str, Subscription], Topic] = {}
        self._flush_call = None
        self._outcomes: deque[Outcome] = deque(maxlen=history)
        self._stopped = False

    @staticmethod
    def _smtp_trust(smtp: SmtpConfig):
        """The relay's trust roots; a C{ca_file} that cannot be read is logged, and each email then fails saying so."""
        if not smtp.ca_file:
            return None
        try:
            return load_trust_root(smtp.ca_file)
        except (OSError, ValueError) as e:
            problem = f"[smtp] ca_file {smtp.ca_file}: {getattr(e, 'strerror', None) or e}"
            log.error("{problem}: no email can be sent", problem=problem)
            return Unusable(problem)

    @property
    def smtp(self) -> SmtpConfig:
        return self._senders.smtp

    def configure(self, smtp: SmtpConfig) -> None:
        """Use C{smtp} from now on (a reload); messages being tried keep the relay they started with."""
        trust = self._smtp_trust(smtp)
        self._senders.smtp = smtp
        self._senders._smtp_trust = trust

    # -- the engine's side ---------------------------------------------------

    def deliver(self, topic: Topic, notification: Notification) -> None:
        """
        Queue C{notification} for each subscription of C{topic}.  Never
        raises, never waits: the outcome is counted and logged.
        """
        try:
            self._deliver(topic, notification)
        except Exception:
            log.failure("queueing a notification for topic {topic}", topic=topic.name)

    def _deliver(self, topic: Topic, notification: Notification) -> None:
        now = self._reactor.seconds()
        self._summarize(now)
        folded_for = []
        for subscription in topic.subscriptions:
            key = (topic.name, subscription)
            if subscription.protocol != "stream" and not self._folder.admit(key, notification, now):
                folded_for.append(subscription)
                self._folded_topics[key] = topic
                continue
            self._queue(Job(topic, subscription, notification, "alarm", now, uuid.uuid4().hex))
        if folded_for:
            self._fold(topic, notification, folded_for)

    def _fold(self, topic: Topic, notification: Notification, folded_for: list[Subscription]) -> None:
        stream = self._senders.stream(topic)
        line = render.stream_line(notification, topic.name, "alarm", folded=[describe(s) for s in folded_for])
        try:
            stream.append([line])
        except OSError as e:
            log.error("cannot write the stream file {path} of topic {topic}: {error}; a folded message is lost",
                      path=stream.path, topic=topic.name, error=e.strerror)
            for subscription in folded_for:
                self._count(topic.name, subscription.protocol).failed += 1
        else:
            for subscription in folded_for:
                self._count(topic.name, subscription.protocol).folded += 1
        self._arm_summaries()

    def _queue(self, job: Job) -> None:
        if self._stopped:
            self._undelivered(job, "not sent: secdns is stopping")
            return
        key = (job.topic.name, job.subscription)
        courier = self._couriers.get(key)
        if courier is None:
            courier = self._couriers[key] = Courier(
                self._reactor, self._send, self._policy, self._done, self._queue_limit
            )
        self._count(job.topic.name, job.subscription.protocol)
        courier.put(job)

    def _send(self, job: Job) -> defer.Deferred:
        return self._senders.send(job.topic, job.subscription, job.notification, job.kind, job.delivery)

    def _count(self, topic: str, protocol: str) -> Counts:
        counts = self._counts.get((topic, protocol))
        if counts is None:
            counts = self._counts[(topic, protocol)] = Counts()
        return counts

    def _done(self, job: Job, ok: bool, detail: str) -> None:
        self._tally(job, ok, detail)
        key = (job.topic.name, job.subscription)
        courier = self._couriers.get(key)
        if courier is not None and courier.idle:
            del self._couriers[key]

    def _record(self, job: Job, ok: bool, detail: str) -> None:
        n = job.notification
        described = describe(job.subscription)
        self._outcomes.append(Outcome(
            self._reactor.seconds(), job.topic.name, job.subscription.protocol, described, job.kind,
            n.alarm, n.zone, n.state, ok, detail, job.tries,
        ))
        subject = render.subject(n, job.kind)
        if ok:
            log.info("notified {subscription} (topic {topic}): {subject} [{detail}]",
                     subscription=described, topic=job.topic.name, subject=subject, detail=detail)
        else:
            log.warn("notification to {subscription} (topic {topic}) failed: {subject}: {detail}",
                     subscription=described, topic=job.topic.name, subject=subject, detail=detail)

    # -- folding ---------------------------------------------------------------

    def _arm_summaries(self) -> None:
        due = self._folder.next_due()
        if due is None or self._stopped or (self._flush_call is not None and self._flush_call.active()):
            return
        # Just past the minute's end, so the clock is in the next minute.
        self._flush_call = self._reactor.callLater(max(0.0, due - self._reactor.seconds()) + 0.01, self._on_summaries)

    def _on_summaries(self) -> None:
        self._flush_call = None
        try:
            self._summarize(self._reactor.seconds())
        except Exception:
            log.failure("sending the summaries of folded notifications")
        self._arm_summaries()

    def _summarize(self, now: float) -> None:
        for summary in self._folder.due(now):
            topic = self._folded_topics.pop(summary.key, None)
            if topic is None:
                continue
            subscription = summary.key[1]
            notification = render.summary_notification(
                summary, topic.name, describe(subscription), self._senders.stream(topic).path
            )
            log.info("{count} notifications to {subscription} (topic {topic}) folded in the minute from {start}",
                     count=summary.count, subscription=describe(subscription), topic=topic.name,
                     start=render.timestamp(summary.start))
            self._queue(Job(topic, subscription, notification, "summary", now, uuid.uuid4().hex))

    # -- tests, figures, stop --------------------------------------------------

    def send_test(self, topic: Topic) -> defer.Deferred:
        """
        One test message to each subscription of C{topic}, now: one try
        each, not folded, not retried, counted.  Fires with
        C{[(subscription, ok, detail)]} in the topic's order; never fails.
        """
        now = self._reactor.seconds()
        notification = render.notification_for_test(topic.name, now)
        tries = []
        for subscription in topic.subscriptions:
            job = Job(topic, subscription, notification, "test", now, uuid.uuid4().hex, tries=1)
            d = defer.maybeDeferred(self._send, job)
            d.addCallbacks(lambda detail, job=job: (True, str(detail)),
                           lambda failure, job=job: (False, str(failure.value)))
            d.addCallback(self._tested, job)
            tries.append(d)
        return defer.gatherResults(tries)

    def _tested(self, result: tuple[bool, str], job: Job) -> tuple[str, bool, str]:
        ok, detail = result
        self._tally(job, ok, detail)
        return (describe(job.subscription), ok, detail)

    def _tally(self, job: Job, ok: bool, detail: str) -> None:
        """Count a try's outcome (sent or failed) and keep it among the recent ones."""
        counts = self._count(job.topic.name, job.subscription.protocol)
        if ok:
            counts.sent += 1
        else:
            counts.failed += 1
        self._record(job, ok, detail)

    def counts(self) -> dict[tuple[str, str], Counts]:
        """C{(topic, protocol)}: the counts so far, and what waits now."""
        for counts in self._counts.values():
            counts.queued = 0
        for (topic, subscription), courier in self._couriers.items():
            self._count(topic, subscription.protocol).queued += len(courier)
        return {key: attrs.evolve(value) for key, value in self._counts.items()}

    def collectors(self) -> list:
        """The Prometheus collectors of these deliveries' figures, for L{secdns.ops.metrics.registry_for}."""
        from secdns.ops.metrics import NotificationCollector

        return [NotificationCollector(self.counts)]

    def recent(self, limit: int = 100) -> list[Outcome]:
        """The last C{limit} outcomes, newest last."""
        return list(self._outcomes)[-limit:] if limit > 0 else []

    def _undelivered(self, job: Job, reason: str) -> None:
        """C{job} will not be tried: counted failed, and kept in its topic's stream file."""
        self._count(job.topic.name, job.subscription.protocol).failed += 1
        self._record(job, False, reason)
        stream = self._senders.stream(job.topic)
        line = render.stream_line(job.notification, job.topic.name, job.kind, undelivered=describe(job.subscription))
        try:
            stream.append([line])
        except OSError as e:
            log.error("cannot write the stream file {path}: {error}", path=stream.path, error=e.strerror)

    def stop(self) -> defer.Deferred:
        """
        Stop: tries in flight are abandoned, retries cancelled, and every
        message still queued is written to its topic's stream file marked
        undelivered, and counted failed.
        """
        self._stopped = True
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None
        couriers, self._couriers = self._couriers, {}
        for courier in couriers.values():
            for job in courier.stop():
                self._undelivered(job, "not sent: secdns stopped")
        return self._poster.close()
