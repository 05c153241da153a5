"""secdns.alarms.endpoints: which subscription endpoints are accepted, and how they are shown without secrets."""

from __future__ import annotations

import pytest

from secdns.alarms.endpoints import check, describe, redact_url, scrub
from secdns.alarms.model import Subscription

SLACK = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"


@pytest.mark.parametrize("url, shown", [
    (SLACK, "https://hooks.slack.com/services/…"),
    ("https://user:pw@alerts.example.com:8443/hook?token=abc", "https://alerts.example.com:8443/hook?…"),
    ("https://alerts.example.com", "https://alerts.example.com"),
    ("http://[::1]:8080/a/b", "http://[::1]:8080/a/…"),
])
def test_urls_are_shown_without_what_may_be_a_credential(url, shown):
    """Userinfo, the query and the path past its first segment are hidden."""
    assert redact_url(url) == shown


def test_describe_never_shows_a_secret():
    """A subscription's description holds neither its secret nor its URL's token."""
    for subscription in [Subscription("slack", SLACK), Subscription("webhook", SLACK + "?k=v", b"hmac-secret"),
                         Subscription("pagerduty", "", b"routing-key-123")]:
        text = describe(subscription) + repr(subscription)
        assert "XXXXXXXX" not in text and "hmac-secret" not in text and "routing-key-123" not in text
    assert describe(Subscription("pagerduty", "", b"k")) == "pagerduty https://events.pagerduty.com/v2/…"
    assert describe(Subscription("email", "ops@example.com")) == "email ops@example.com"
    assert describe(Subscription("log")) == "log"


@pytest.mark.parametrize("subscription", [
    Subscription("email", "ops@example.com"),
    Subscription("slack", SLACK),
    Subscription("webhook", "https://alerts.example.com/hook", b"s"),
    Subscription("webhook", "http://127.0.0.1:8080/hook"),
    Subscription("webhook", "http://localhost:8080/hook"),
    Subscription("webhook", "http://[::1]:8080/hook"),
    Subscription("pagerduty", "", b"routing-key"),
    Subscription("stream", "/var/lib/secdns/streams/x.jsonl"),
    Subscription("stream"),
    Subscription("log"),
])
def test_good_endpoints_pass(subscription):
    check(subscription)


@pytest.mark.parametrize("subscription, message", [
    (Subscription("sms", "+15550100"), "unknown protocol 'sms'"),
    (Subscription("email", "Ops <ops@example.com>"), "is not one address"),
    (Subscription("email", "a@example.com, b@example.com"), "is not one address"),
    (Subscription("webhook", "http://alerts.example.com/hook"), "plain http only to loopback"),
    (Subscription("webhook", "ftp://alerts.example.com/hook"), "must be an https:// URL"),
    (Subscription("slack", "hooks.slack.com/services/T/B/X"), "must be an https:// URL"),
    (Subscription("pagerduty", ""), "routing key"),
    (Subscription("log", "x"), "no endpoint"),
])
def test_bad_endpoints_say_why(subscription, message):
    with pytest.raises(ValueError, match=message):
        check(subscription)


def test_check_errors_never_show_the_token():
    with pytest.raises(ValueError) as e:
        check(Subscription("slack", SLACK.replace("https", "http")))
    assert "XXXXXXXX" not in str(e.value)


def test_scrub_removes_url_and_secret_from_any_text():
    """Whatever text a peer's error holds, the subscription's URL and secret are taken out of it."""
    subscription = Subscription("webhook", "https://user:urlpass@x.example/hook/abcdef?token=zzzz", b"hmac-secret")
    text = scrub(f"failed POST {subscription.endpoint} with hmac-secret; token=zzzz; user:urlpass", subscription)
    assert "zzzz" not in text and "hmac-secret" not in text and "abcdef" not in text and "urlpass" not in text
