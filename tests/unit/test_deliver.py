"""
secdns.ops.alarms.deliver.Deliveries on a fake clock: folding past 60 a
minute, the minute's summary, counts and metrics, the stream file, stop,
and no secret in what is logged.
"""

from __future__ import annotations

import json

from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs, formatEvent

from secdns.alarms.backoff import RetryPolicy
from secdns.alarms.model import FIRING, OK, Notification, SmtpConfig, Subscription, Topic
from secdns.ops.alarms.deliver import Deliveries
from secdns.ops.alarms.deliver.streamfile import StreamFile
from secdns.ops.metrics import exposition, registry_for

T0 = 1_700_000_040.0  # the start of a minute


def note(i: int, state: str = FIRING) -> Notification:
    return Notification("transfer-failures", f"z{i}.example", state, "ERROR", "ZoneTransferFailureCount", "",
                        float(i), 3.0, T0, T0, f"k{i}", f"zone z{i}.example: refreshes fail", "")


def make(tmp_path, **kw):
    clock = MemoryReactorClock()
    clock.advance(T0)
    return clock, Deliveries(clock, SmtpConfig(password=b"smtp-pw"), str(tmp_path), **kw)


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_past_sixty_a_minute_are_folded_into_one_summary_and_kept_in_the_stream(tmp_path):
    """100 messages in a minute: 60 delivered, 40 appended to the topic's stream file, and one summary next minute."""
    clock, deliveries = make(tmp_path)
    topic = Topic("ops", (Subscription("log"),))
    with capturedLogs() as events:
        for i in range(100):
            deliveries.deliver(topic, note(i))
            clock.advance(0.5)
        assert deliveries.counts()[("ops", "log")].sent == 60
        folded = lines(tmp_path / "streams" / "ops.jsonl")
        assert [d["zone"] for d in folded] == [f"z{i}.example" for i in range(60, 100)]
        assert folded[0]["folded"] == ["log"] and folded[0]["kind"] == "alarm"
        clock.advance(T0 + 60.5 - clock.seconds())
    counts = deliveries.counts()[("ops", "log")]
    assert (counts.sent, counts.folded, counts.failed) == (61, 40, 0)
    summaries = [e for e in events if e.get("alarm") == "(folded)"]  # what the log subscription logged
    assert len(summaries) == 1
    assert formatEvent(summaries[0]).startswith("[secdns ERROR] 40 notifications folded in the minute from")


def test_folding_is_per_subscription_and_the_stream_line_names_each(tmp_path):
    """A topic's stream subscription takes every message; the others are folded, and the stream file names them."""
    clock, deliveries = make(tmp_path)
    mine = tmp_path / "all.jsonl"
    topic = Topic("ops", (Subscription("log"), Subscription("stream", str(mine))), stream_file="folded.jsonl")
    for i in range(61):
        deliveries.deliver(topic, note(i))
    assert len(lines(mine)) == 61
    [folded] = lines(tmp_path / "folded.jsonl")
    assert folded["folded"] == ["log"] and folded["zone"] == "z60.example"
    counts = deliveries.counts()
    assert counts[("ops", "stream")].sent == 61 and counts[("ops", "log")].folded == 1


def test_counts_are_exported_as_prometheus_counters(tmp_path):
    """secdns_notifications_sent_total and _failed_total, by topic and protocol."""
    clock, deliveries = make(tmp_path)
    deliveries.deliver(Topic("ops", (Subscription("log"), Subscription("webhook", "http://192.0.2.1/h"))), note(1))
    text = exposition(registry_for(*deliveries.collectors())).decode()
    assert 'secdns_notifications_sent_total{protocol="log",topic="ops"} 1.0' in text
    # Plain HTTP off loopback is refused before anything is sent: failed at once, never retried.
    assert 'secdns_notifications_failed_total{protocol="webhook",topic="ops"} 1.0' in text
    assert 'secdns_notifications_folded_total{protocol="log",topic="ops"} 0.0' in text
    assert "secdns_notifications_queued" in text


def test_deliver_never_raises_and_never_waits(tmp_path):
    """A receiver that does not answer leaves deliver() returning at once, the message queued."""
    clock, deliveries = make(tmp_path, policy=RetryPolicy(timeout=5))
    topic = Topic("ops", (Subscription("webhook", "http://127.0.0.1:9/h", b"whsecret"),))
    deliveries.deliver(topic, note(1))
    assert deliveries.counts()[("ops", "webhook")].queued == 1
    assert clock.tcpClients  # a connection is being made, nothing waits for it
    deliveries.deliver(Topic("broken", (Subscription("nonsense"),)), note(2))
    assert deliveries.counts()[("broken", "nonsense")].failed == 1


def test_stop_keeps_what_was_not_sent_in_the_stream_file(tmp_path):
    """At stop, queued messages are written to their topic's stream file, marked undelivered, and counted failed."""
    clock, deliveries = make(tmp_path)
    topic = Topic("ops", (Subscription("webhook", "http://127.0.0.1:9/h"),))
    deliveries.deliver(topic, note(1))
    deliveries.deliver(topic, note(2, OK))
    deliveries.stop()
    kept = lines(tmp_path / "streams" / "ops.jsonl")
    assert [(d["zone"], d["state"], d["undelivered"]) for d in kept] == [
        ("z1.example", "FIRING", "webhook http://127.0.0.1:9/h"), ("z2.example", "OK", "webhook http://127.0.0.1:9/h")]
    assert deliveries.counts()[("ops", "webhook")].failed == 2
    assert not clock.getDelayedCalls()


def test_send_test_reports_each_subscription(tmp_path):
    clock, deliveries = make(tmp_path)
    topic = Topic("ops", (Subscription("log"), Subscription("stream"), Subscription("slack", "http://192.0.2.1/x")))
    results = []
    deliveries.send_test(topic).addCallback(results.append)
    [[log, stream, slack]] = results
    assert log == ("log", True, "logged")
    assert stream[1] and stream[2].endswith("streams/ops.jsonl")
    assert slack[0] == "slack http://192.0.2.1/x" and slack[1] is False and "loopback" in slack[2]
    assert lines(tmp_path / "streams" / "ops.jsonl")[0]["kind"] == "test"


def test_secrets_are_never_logged(tmp_path):
    """Neither the SMTP password, nor a webhook secret, nor a URL's token reaches the log, a result or a repr."""
    clock, deliveries = make(tmp_path, policy=RetryPolicy(attempts=2, first=1, timeout=1))
    topic = Topic("ops", (
        Subscription("webhook", "http://user:urlpw@127.0.0.1:9/hook/T0KEN?key=QUERYTOKEN", b"whsecret"),
        Subscription("slack", "https://hooks.slack.com/services/T0/B0/SLACKTOKEN"),
        Subscription("email", "ops@example.com"),
    ))
    with capturedLogs() as events:
        deliveries.deliver(topic, note(1))
        results = []
        deliveries.send_test(topic).addCallback(results.append)
        for _ in range(10):  # no answer: each try times out, then the retry, then it is given up
            clock.advance(1)
        assert deliveries.counts()[("ops", "webhook")].failed == 2
        deliveries.stop()
    seen = "\n".join(formatEvent(e) + repr(e) for e in events) + repr(results) + repr(topic) + repr(deliveries.recent())
    for secret in ["smtp-pw", "whsecret", "urlpw", "T0KEN", "QUERYTOKEN", "SLACKTOKEN"]:
        assert secret not in seen


def test_stream_files_rotate_by_size(tmp_path):
    """Past max_bytes the file is moved to .1 (.1 to .2 ...), and only keep old files stay."""
    stream = StreamFile(str(tmp_path / "s.jsonl"), max_bytes=100, keep=2)
    for i in range(10):
        stream.append([b'{"n":%d,"pad":"%s"}\n' % (i, b"x" * 30)])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["s.jsonl", "s.jsonl.1", "s.jsonl.2"]
    assert all(p.stat().st_size <= 100 for p in tmp_path.iterdir())
    newest = [json.loads(x)["n"] for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    older = [json.loads(x)["n"] for x in (tmp_path / "s.jsonl.1").read_text().splitlines()]
    assert newest[-1] == 9 and older[-1] == newest[0] - 1


def test_an_unreadable_ca_file_fails_each_email_saying_so(tmp_path):
    """A missing [smtp] ca_file does not stop secdns: each email fails, permanently, naming the file."""
    clock = MemoryReactorClock()
    deliveries = Deliveries(clock, SmtpConfig(ca_file=str(tmp_path / "missing.pem")), str(tmp_path))
    results = []
    deliveries.send_test(Topic("ops", (Subscription("email", "ops@example.com"),))).addCallback(results.append)
    [[(_, ok, detail)]] = results
    assert not ok and "missing.pem" in detail and "No such file" in detail
