"""secdns.ops.alarms.deliver.courier: one subscription's queue, in order, retried with backoff, bounded."""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.task import Clock

from secdns.alarms.backoff import RetryPolicy
from secdns.alarms.model import FIRING, Notification, Subscription, Topic
from secdns.ops.alarms.deliver.courier import Courier, Job
from secdns.ops.alarms.deliver.failures import Permanent, Transient

TOPIC = Topic("ops", (Subscription("webhook", "https://x.example/h"),))


def job(i: int, now: float = 0.0) -> Job:
    n = Notification("a", f"z{i}", FIRING, "ERROR", "m", "", 1.0, 0.0, now, now, f"k{i}", f"t{i}", "")
    return Job(TOPIC, TOPIC.subscriptions[0], n, "alarm", now, f"d{i}")


class Receiver:
    """A fake send: each try is a Deferred the test fires; records who was tried."""

    def __init__(self):
        self.tries: list[tuple[str, defer.Deferred]] = []

    def __call__(self, j: Job) -> defer.Deferred:
        d = defer.Deferred()
        self.tries.append((j.notification.zone, d))
        return d


def make(policy=RetryPolicy(attempts=4, first=2, factor=2, cap=60, total=100), limit=500):
    clock, receiver, outcomes = Clock(), Receiver(), []
    courier = Courier(clock, receiver, policy, lambda j, ok, detail: outcomes.append((j.notification.zone, ok, detail, j.tries)), limit)
    return clock, receiver, outcomes, courier


def test_one_at_a_time_in_order():
    """The second message is not tried until the first is delivered: a clear never overtakes its firing."""
    clock, receiver, outcomes, courier = make()
    courier.put(job(1))
    courier.put(job(2))
    assert [z for z, _ in receiver.tries] == ["z1"]
    receiver.tries[0][1].callback("HTTP 200")
    assert [z for z, _ in receiver.tries] == ["z1", "z2"]
    receiver.tries[1][1].callback("HTTP 204")
    assert outcomes == [("z1", True, "HTTP 200", 1), ("z2", True, "HTTP 204", 1)]
    assert courier.idle


def test_transient_failures_are_retried_with_backoff_until_success():
    """A receiver that is down is tried again after 2 s, then 4 s; when it answers, the message is delivered."""
    clock, receiver, outcomes, courier = make()
    courier.put(job(1))
    receiver.tries[-1][1].errback(Transient("connection refused"))
    clock.advance(1.9)
    assert len(receiver.tries) == 1
    clock.advance(0.1)
    assert len(receiver.tries) == 2
    receiver.tries[-1][1].errback(Transient("HTTP 503"))
    clock.advance(3.9)
    assert len(receiver.tries) == 2
    clock.advance(0.1)
    receiver.tries[-1][1].callback("HTTP 200")
    assert outcomes == [("z1", True, "HTTP 200", 3)]


def test_retries_are_bounded_in_attempts():
    """A receiver that stays down gets the policy's attempts, then the message is given up and reported once."""
    clock, receiver, outcomes, courier = make()
    courier.put(job(1))
    for _ in range(10):
        if receiver.tries[-1][1].called:
            break
        receiver.tries[-1][1].errback(Transient("connection refused"))
        clock.advance(10)
    assert len(receiver.tries) == 4
    assert outcomes == [("z1", False, "connection refused (given up after 4 tries)", 4)]
    assert courier.idle and not clock.getDelayedCalls()


def test_retries_are_bounded_in_time():
    """No try starts later than the policy's total after the message was queued."""
    clock, receiver, outcomes, courier = make(RetryPolicy(attempts=100, first=30, factor=1, cap=30, total=70))
    courier.put(job(1))
    for _ in range(10):
        if not receiver.tries[-1][1].called:
            receiver.tries[-1][1].errback(Transient("timed out"))
        clock.advance(30)
    assert len(receiver.tries) == 3  # at 0, 30, 60; 90 would be past 70
    assert outcomes[0][1] is False


def test_retry_after_is_waited_for():
    clock, receiver, outcomes, courier = make()
    courier.put(job(1))
    receiver.tries[-1][1].errback(Transient("HTTP 429", retry_after=30))
    clock.advance(29)
    assert len(receiver.tries) == 1
    clock.advance(1)
    assert len(receiver.tries) == 2


def test_permanent_failures_are_not_retried():
    """A refusal (4xx, a 5xx SMTP reply) is given up at once, and the next message goes."""
    clock, receiver, outcomes, courier = make()
    courier.put(job(1))
    courier.put(job(2))
    receiver.tries[0][1].errback(Permanent("HTTP 404 Not Found"))
    assert outcomes == [("z1", False, "HTTP 404 Not Found (given up after 1 try)", 1)]
    assert [z for z, _ in receiver.tries] == ["z1", "z2"]


def test_the_queue_is_bounded():
    """Past the limit, the oldest waiting message is given up (the one being tried goes on)."""
    clock, receiver, outcomes, courier = make(limit=3)
    for i in range(5):
        courier.put(job(i))
    assert len(courier) == 3
    assert [(z, ok) for z, ok, _, _ in outcomes] == [("z1", False), ("z2", False)]
    assert "more than 3 messages waiting" in outcomes[0][2]


def test_many_quick_sends_do_not_recurse():
    """Thousands of messages whose tries end at once (log, stream) go through without deep recursion."""
    clock, outcomes = Clock(), []
    courier = Courier(clock, lambda j: defer.succeed("logged"), RetryPolicy(), lambda j, ok, d: outcomes.append(ok), 10_000)
    blocker = defer.Deferred()
    first = [True]

    def send(j):
        if first:
            first.clear()
            return blocker
        return defer.succeed("logged")

    courier._send = send
    for i in range(5000):
        courier.put(job(i))
    blocker.callback("ok")
    assert len(outcomes) == 5000 and all(outcomes)


def test_stop_abandons_the_try_and_hands_back_the_rest():
    """Stop cancels the try in flight and the retry timer, and returns what was not delivered."""
    clock, receiver, outcomes, courier = make()
    courier.put(job(1))
    courier.put(job(2))
    left = courier.stop()
    assert [j.notification.zone for j in left] == ["z1", "z2"]
    assert receiver.tries[0][1].called  # cancelled
    assert outcomes == [] and not clock.getDelayedCalls()
    courier.put(job(3))
    assert outcomes == [("z3", False, "not sent: secdns is stopping", 0)]
