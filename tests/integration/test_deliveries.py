"""
Deliveries to real receivers on loopback: Twisted's ESMTP server in a
subprocess (plain, and STARTTLS with a self-signed certificate made here,
and a login), and an HTTP(S) server in a thread receiving the Slack, the
webhook (HMAC checked) and the PagerDuty JSON; a receiver down that comes
up, one that stays down, and more than 60 messages in a minute folded.

L{Deliveries} runs on the global reactor, running in a thread
(L{tests.reactor_thread}); the test talks to it through C{call}.
"""

from __future__ import annotations

import json
import time

import attrs
import pytest

from secdns.alarms.backoff import RetryPolicy
from secdns.alarms.model import FIRING, OK, Notification, SmtpConfig, Subscription, Topic
from secdns.alarms.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from secdns.ops.alarms.deliver import Deliveries
from secdns.ops.metrics import exposition, registry_for
from tests import reactor_thread as reactor_thread_module
from tests.receivers import HttpReceiver, SmtpReceiver, self_signed
from tests.support import LOOPBACK, free_port, wait_until

QUICK = RetryPolicy(attempts=4, first=0.3, factor=2, cap=2, total=10, timeout=5)


class ReactorThread:
    """The running reactor, as the tests below talk to it."""

    reactor = property(lambda self: reactor_thread_module.reactor())
    call = staticmethod(reactor_thread_module.call)


@pytest.fixture
def reactor_thread():
    return ReactorThread()


@pytest.fixture
def deliveries_for(reactor_thread, tmp_path):
    made = []

    def make(smtp: SmtpConfig = SmtpConfig(), **kw) -> Deliveries:
        kw.setdefault("policy", QUICK)
        deliveries = reactor_thread.call(Deliveries, reactor_thread.reactor, smtp, str(tmp_path / "state"), **kw)
        made.append(deliveries)
        return deliveries

    yield make
    for deliveries in made:
        reactor_thread.call(deliveries.stop)


def notification(zone: str = "example.com", state: str = FIRING, **kw) -> Notification:
    now = time.time()
    fields = dict(
        alarm="transfer-failures", zone=zone, state=state, severity="ERROR", metric="ZoneTransferFailureCount",
        query=f'ZoneTransferFailureCount[1h]{{resourceName = "{zone}"}}.sum() > 3', value=5.0, threshold=3.0,
        when=now, since=now - 600, dedup_key=f"transfer-failures/{zone}/1", serial=2024060101,
        title=f"{zone}: 5 refresh attempts failed in the last hour",
        body="last: 192.0.2.1#53 answered BADSIG: our MAC does not verify", expiration_hours=36.5,
    )
    fields.update(kw)
    return Notification(**fields)


def counts(reactor_thread, deliveries, topic: str, protocol: str):
    return reactor_thread.call(deliveries.counts).get((topic, protocol))


def wait_counted(reactor_thread, deliveries, topic, protocol, sent=0, failed=0, timeout=15.0):
    def done():
        c = counts(reactor_thread, deliveries, topic, protocol)
        return c is not None and c.sent >= sent and c.failed >= failed and c.queued == 0
    wait_until(done, timeout=timeout, what=f"{sent} sent, {failed} failed to {protocol} of {topic}")
    return counts(reactor_thread, deliveries, topic, protocol)


def metrics(reactor_thread, deliveries) -> str:
    return reactor_thread.call(lambda: exposition(registry_for(*deliveries.collectors())).decode())


# -- email ----------------------------------------------------------------------


def test_email_through_a_plain_relay(tmp_path, reactor_thread, deliveries_for):
    """An email reaches a real SMTP server: envelope, subject with severity, alarm, zone and state, and the facts."""
    relay = SmtpReceiver(tmp_path)
    try:
        smtp = SmtpConfig(host=LOOPBACK, port=relay.port, starttls="optional", sender="secdns@example.net")
        deliveries = deliveries_for(smtp)
        topic = Topic("ops", (Subscription("email", "dns-team@example.com"),))
        reactor_thread.call(deliveries.deliver, topic, notification())
        reactor_thread.call(deliveries.deliver, topic, notification(state=OK, title="example.com: refreshes succeed"))
        wait_counted(reactor_thread, deliveries, "ops", "email", sent=2)
        fired, cleared = relay.messages()
    finally:
        relay.stop()
    assert (fired["from"], fired["to"], fired["tls"], fired["user"]) == (
        "secdns@example.net", "dns-team@example.com", False, None)
    message = fired["message"]
    assert message["Subject"] == "[secdns ERROR] transfer-failures FIRING for example.com"
    body = message.get_content()
    assert "5 refresh attempts failed in the last hour" in body and "BADSIG" in body
    assert "Serial served: 2024060101" in body and "Expires in:    36.5 hours" in body
    assert cleared["message"]["Subject"] == "[secdns ERROR] transfer-failures OK (cleared) for example.com"
    assert cleared["message"]["In-Reply-To"] == message["Message-ID"]
    assert 'secdns_notifications_sent_total{protocol="email",topic="ops"} 2.0' in metrics(reactor_thread, deliveries)


def test_email_with_starttls_and_login(tmp_path, reactor_thread, deliveries_for):
    """
    STARTTLS with a self-signed certificate trusted through [smtp] ca_file,
    and a login: the relay sees TLS and the user.  The same relay refuses
    (each once, never retried) a wrong password, an untrusted certificate,
    and a recipient it does not take; a relay without STARTTLS is refused
    when it is required.
    """
    cert, key = self_signed(tmp_path)
    relay = SmtpReceiver(tmp_path, tls=(cert, key), login=("secdns", "pa55-w0rd"))
    plain = SmtpReceiver(tmp_path)
    try:
        good = SmtpConfig(host=LOOPBACK, port=relay.port, starttls="required", username="secdns",
                          password=b"pa55-w0rd", sender="secdns@example.net", ca_file=str(cert), timeout=5)
        deliveries = deliveries_for(good)
        topic = Topic("ops", (Subscription("email", "dns-team@example.com"),))
        reactor_thread.call(deliveries.deliver, topic, notification())
        wait_counted(reactor_thread, deliveries, "ops", "email", sent=1)
        [received] = relay.messages()
        assert (received["tls"], received["user"], received["to"]) == (True, "secdns", "dns-team@example.com")
        assert received["message"]["Subject"] == "[secdns ERROR] transfer-failures FIRING for example.com"

        cases = {
            "wrong-password": (attrs.evolve(good, password=b"wrong"), "dns-team@example.com", "refused the login: 535"),
            "untrusted": (attrs.evolve(good, ca_file=None), "dns-team@example.com", "certificate does not verify"),
            "no-starttls": (attrs.evolve(good, port=plain.port, username=None, password=b""),
                            "dns-team@example.com", "does not offer STARTTLS"),
            "refused-rcpt": (good, "refused@example.com", "refused"),
        }
        for name, (smtp, recipient, expected) in cases.items():
            other = deliveries_for(smtp)
            results = reactor_thread.call(other.send_test, Topic(name, (Subscription("email", recipient),)))
            [(described, ok, detail)] = results
            assert not ok and expected in detail, (name, detail)
            assert "pa55-w0rd" not in detail and "wrong" not in detail
            reactor_thread.call(other.deliver, Topic(name, (Subscription("email", recipient),)), notification())
            c = wait_counted(reactor_thread, other, name, "email", failed=2)
            [outcome] = [o for o in reactor_thread.call(other.recent) if o.kind == "alarm"]
            assert outcome.tries == 1, (name, outcome)  # permanent: not retried
            assert c.sent == 0
        assert len(relay.messages()) == 1 and plain.messages() == []
    finally:
        relay.stop()
        plain.stop()


# -- HTTP -------------------------------------------------------------------------


def test_slack_webhook_and_pagerduty_json_reach_a_real_http_server(tmp_path, reactor_thread, deliveries_for):
    """Slack's message JSON, the webhook JSON with a valid HMAC, and a PagerDuty v2 event, each POSTed once."""
    receiver = HttpReceiver().start()
    try:
        deliveries = deliveries_for()
        topic = Topic("ops", (
            Subscription("slack", f"{receiver.url}/services/T000/B000/XXXXSLACKTOKEN"),
            Subscription("webhook", f"{receiver.url}/hook?token=QUERYTOKEN", b"webhook-secret"),
            Subscription("webhook", f"{receiver.url}/unsigned"),
            Subscription("pagerduty", f"{receiver.url}/v2/enqueue", b"ROUTINGKEY"),
        ))
        n = notification()
        reactor_thread.call(deliveries.deliver, topic, n)
        for protocol, sent in (("slack", 1), ("webhook", 2), ("pagerduty", 1)):
            wait_counted(reactor_thread, deliveries, "ops", protocol, sent=sent)
        by_path = {path.split("?")[0]: (headers, body) for path, headers, body in receiver.requests}
    finally:
        receiver.stop()
    assert len(receiver.requests) == 4

    headers, body = by_path["/services/T000/B000/XXXXSLACKTOKEN"]
    slack = json.loads(body)
    assert headers["content-type"] == "application/json"
    assert slack["text"].endswith("[secdns ERROR] transfer-failures FIRING for example.com")
    assert [b["type"] for b in slack["blocks"]] == ["header", "section", "section", "context"]

    headers, body = by_path["/hook"]
    assert verify(b"webhook-secret", body, headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()],
                  now=time.time())
    assert not verify(b"another-secret", body, headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()],
                      now=time.time())
    hook = json.loads(body)
    assert {k: hook[k] for k in ("alarm", "zone", "metric", "value", "threshold", "severity", "state", "dedupKey")} == {
        "alarm": "transfer-failures", "zone": "example.com", "metric": "ZoneTransferFailureCount", "value": 5.0,
        "threshold": 3.0, "severity": "ERROR", "state": "FIRING", "dedupKey": n.dedup_key}
    assert hook["query"] == n.query and hook["title"] == n.title and hook["body"] == n.body
    assert hook["when"].endswith("Z") and hook["since"].endswith("Z") and hook["kind"] == "alarm"
    assert len(headers["x-secdns-delivery"]) == 32

    headers, body = by_path["/unsigned"]
    assert SIGNATURE_HEADER.lower() not in headers

    headers, body = by_path["/v2/enqueue"]
    event = json.loads(body)
    assert (event["routing_key"], event["event_action"], event["dedup_key"]) == ("ROUTINGKEY", "trigger", n.dedup_key)


def test_https_certificates_are_verified(tmp_path, reactor_thread, deliveries_for):
    """An HTTPS receiver with a self-signed certificate is refused (not retried) unless its CA is given."""
    cert, key = self_signed(tmp_path)
    receiver = HttpReceiver(tls=(cert, key)).start()
    try:
        topic = Topic("ops", (Subscription("webhook", f"{receiver.url}/hook", b"hook-secret"),))
        default = deliveries_for()
        [(_, ok, detail)] = reactor_thread.call(default.send_test, topic)
        assert not ok and "certificate does not verify" in detail
        assert receiver.requests == []
        trusting = deliveries_for(ca_file=str(cert))
        [(_, ok, detail)] = reactor_thread.call(trusting.send_test, topic)
        assert ok and detail == "HTTP 200"
        assert receiver.bodies()[0]["kind"] == "test"
    finally:
        receiver.stop()


def test_a_receiver_down_then_up_gets_the_message_on_a_retry(tmp_path, reactor_thread, deliveries_for):
    """Refused, then 503: the message is tried again with backoff and delivered once the receiver answers; counted sent."""
    port = free_port()
    deliveries = deliveries_for()
    topic = Topic("ops", (Subscription("webhook", f"http://{LOOPBACK}:{port}/hook"),))
    reactor_thread.call(deliveries.deliver, topic, notification())
    assert counts(reactor_thread, deliveries, "ops", "webhook").queued == 1
    time.sleep(0.5)  # tried at once and refused, and again after 0.3 s
    receiver = HttpReceiver(port=port)
    receiver.statuses = [503]
    receiver.start()
    try:
        c = wait_counted(reactor_thread, deliveries, "ops", "webhook", sent=1)
    finally:
        receiver.stop()
    assert (c.sent, c.failed) == (1, 0)
    assert len(receiver.requests) == 2  # the 503, then the 200
    [outcome] = reactor_thread.call(deliveries.recent)
    assert outcome.ok and outcome.tries >= 3
    text = metrics(reactor_thread, deliveries)
    assert 'secdns_notifications_sent_total{protocol="webhook",topic="ops"} 1.0' in text
    assert 'secdns_notifications_failed_total{protocol="webhook",topic="ops"} 0.0' in text


def test_a_receiver_that_stays_down_is_given_up_bounded_and_counted(tmp_path, reactor_thread, deliveries_for):
    """Nothing listening, and a receiver that always answers 503: the policy's tries, then failed, counted."""
    receiver = HttpReceiver().start()
    receiver.statuses = [503] * 100
    try:
        deliveries = deliveries_for(policy=RetryPolicy(attempts=3, first=0.2, factor=2, total=10, timeout=2))
        topic = Topic("ops", (
            Subscription("webhook", f"http://{LOOPBACK}:{free_port()}/nobody"),
            Subscription("slack", f"{receiver.url}/busy"),
        ))
        started = time.monotonic()
        reactor_thread.call(deliveries.deliver, topic, notification())
        wait_counted(reactor_thread, deliveries, "ops", "webhook", failed=1)
        wait_counted(reactor_thread, deliveries, "ops", "slack", failed=1)
        elapsed = time.monotonic() - started
    finally:
        receiver.stop()
    assert len(receiver.requests) == 3
    outcomes = {o.protocol: o for o in reactor_thread.call(deliveries.recent)}
    assert outcomes["webhook"].tries == 3 and "connection refused (given up after 3 tries)" == outcomes["webhook"].detail
    assert outcomes["slack"].detail.startswith("HTTP 503")
    assert elapsed < 10
    text = metrics(reactor_thread, deliveries)
    assert 'secdns_notifications_failed_total{protocol="webhook",topic="ops"} 1.0' in text
    assert 'secdns_notifications_failed_total{protocol="slack",topic="ops"} 1.0' in text
    assert 'secdns_notifications_sent_total{protocol="slack",topic="ops"} 0.0' in text


# -- folding ------------------------------------------------------------------------


def test_more_than_sixty_in_a_minute_are_folded(tmp_path, reactor_thread, deliveries_for):
    """
    100 messages at once to a webhook: 60 arrive, the other 40 are in the
    topic's stream file, and one summary arrives when the window is over
    (the window is 2 s here rather than a minute, to keep the test short).
    """
    receiver = HttpReceiver().start()
    try:
        deliveries = deliveries_for(fold_window=2.0)
        stream = tmp_path / "ops-folded.jsonl"
        topic = Topic("ops", (Subscription("webhook", f"{receiver.url}/hook"),), stream_file=str(stream))
        time.sleep(2.0 - time.time() % 2.0 + 0.05)  # at the start of a window: the burst falls in one

        def burst():
            for i in range(100):
                deliveries.deliver(topic, notification(zone=f"z{i}.example", dedup_key=f"k{i}"))

        reactor_thread.call(burst)
        wait_until(lambda: len(receiver.requests) >= 61, timeout=15, what="60 messages and the summary")
        time.sleep(0.3)
        bodies = receiver.bodies()
        c = counts(reactor_thread, deliveries, "ops", "webhook")
    finally:
        receiver.stop()
    alarms = [b for b in bodies if b["kind"] == "alarm"]
    summaries = [b for b in bodies if b["kind"] == "summary"]
    assert [b["zone"] for b in alarms] == [f"z{i}.example" for i in range(60)]
    assert len(summaries) == 1
    assert summaries[0]["title"].startswith("40 notifications folded in the minute")
    assert str(stream) in summaries[0]["body"]
    folded = [json.loads(line) for line in stream.read_text().splitlines()]
    assert [d["zone"] for d in folded] == [f"z{i}.example" for i in range(60, 100)]
    assert (c.sent, c.folded, c.failed) == (61, 40, 0)
