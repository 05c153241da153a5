# -*- test-case-name: tests.unit.test_deliver_courier -*-
"""
One subscription's queue: its messages go one at a time, in the order
they were queued (a clear never overtakes its firing), each tried again
with backoff while its receiver is down (L{secdns.alarms.backoff}).

Every message gets at least one try; after that, tries stop at the
policy's bounds in count and in time since the message was queued.  The
queue is bounded too: past C{limit} messages waiting, the oldest is given
up.  Whatever the outcome, C{done(job, ok, detail)} is called once per
message; nothing here ever raises to the caller.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

import attrs
from twisted.internet import defer
from twisted.logger import Logger

from secdns.alarms.backoff import RetryPolicy
from secdns.alarms.endpoints import describe
from secdns.alarms.model import Notification, Subscription, Topic
from secdns.ops.alarms.deliver.failures import Permanent, Transient

__all__ = ["Job", "Courier"]

log = Logger(namespace="secdns.alarms")


@attrs.define(eq=False)
class Job:
    """
    One message to one subscription.

    @ivar kind: C{alarm}, C{summary} or C{test} (L{secdns.alarms.render.KINDS}).
    @ivar queued: when it was queued (the reactor's clock).
    @ivar delivery: its name, the same in each try.
    @ivar tries: tries made so far.
    """

    topic: Topic
    subscription: Subscription
    notification: Notification
    kind: str
    queued: float
    delivery: str
    tries: int = 0


class Courier:
    """
    @param send: one try at a job: a L{Deferred} that fires on success
        (with a short text) or fails with L{Transient} or L{Permanent}.
    @param done: called once per job with C{(job, ok, detail)}.
    """

    def __init__(self, reactor, send: Callable[[Job], defer.Deferred], policy: RetryPolicy,
                 done: Callable[[Job, bool, str], None], limit: int = 500) -> None:
        self._reactor = reactor
        self._send = send
        self._policy = policy
        self._done = done
        self._limit = limit
        self._queue: deque[Job] = deque()
        self._trying: defer.Deferred | None = None
        self._waiting = None
        self._stopped = False
        self._looping = False

    def __len__(self) -> int:
        """Messages queued, the one being tried included."""
        return len(self._queue)

    @property
    def idle(self) -> bool:
        return not self._queue

    def put(self, job: Job) -> None:
        """Queue C{job}; past the limit, the oldest waiting (not the one being tried) is given up."""
        if self._stopped:
            self._finish(job, False, "not sent: secdns is stopping")
            return
        self._queue.append(job)
        if len(self._queue) > self._limit and len(self._queue) > 1:
            dropped = self._queue[1]
            del self._queue[1]
            self._finish(dropped, False, f"given up: more than {self._limit} messages waiting for this subscription")
        self._next()

    def _finish(self, job: Job, ok: bool, detail: str) -> None:
        try:
            self._done(job, ok, detail)
        except Exception:
            log.failure("recording the outcome of a delivery")

    def _next(self) -> None:
        # A loop, not recursion: a try that ends at once (log, stream) calls
        # back into _next, which then only returns, and the loop goes on.
        if self._looping:
            return
        self._looping = True
        try:
            while not self._stopped and self._trying is None and self._waiting is None and self._queue:
                job = self._queue[0]
                job.tries += 1
                try:
                    d = self._send(job)
                except Exception as e:  # a bug in a sender must not stop the queue
                    log.failure("sending a notification")
                    d = defer.fail(Permanent(f"{type(e).__name__} in the sender"))
                self._trying = d
                d.addCallbacks(self._sent, self._failed, callbackArgs=(job,), errbackArgs=(job,))
        finally:
            self._looping = False

    def _sent(self, detail, job: Job) -> None:
        self._trying = None
        if self._stopped:
            return
        self._queue.popleft()
        self._finish(job, True, str(detail or "sent"))
        self._next()

    def _failed(self, failure, job: Job) -> None:
        self._trying = None
        if self._stopped:
            return
        wait = None
        if failure.check(Transient):
            elapsed = self._reactor.seconds() - job.queued
            wait = self._policy.delay(job.tries, elapsed, failure.value.retry_after)
        if failure.check(Transient, Permanent):
            detail = str(failure.value)
        else:
            log.failure("a delivery failed unexpectedly", failure)
            detail = failure.type.__name__
        if wait is None:
            self._queue.popleft()
            tried = f"{job.tries} tr{'y' if job.tries == 1 else 'ies'}"
            self._finish(job, False, f"{detail} (given up after {tried})")
            self._next()
            return
        log.info(
            "delivery to {subscription} failed ({detail}); trying again in {wait:.0f} s",
            subscription=describe(job.subscription), detail=detail, wait=wait,
        )
        self._waiting = self._reactor.callLater(wait, self._retry)

    def _retry(self) -> None:
        self._waiting = None
        self._next()

    def stop(self) -> list[Job]:
        """
        Stop: no more tries, the try in flight abandoned.  Returns the jobs
        not delivered, for the caller to report (C{done} is not called for them).
        """
        self._stopped = True
        if self._waiting is not None and self._waiting.active():
            self._waiting.cancel()
        self._waiting = None
        left = list(self._queue)
        self._queue.clear()
        trying, self._trying = self._trying, None
        if trying is not None:
            trying.addErrback(lambda _: None)
            trying.cancel()
        return left
