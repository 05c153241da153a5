# -*- test-case-name: tests.unit.test_alarm_endpoints -*-
"""
Subscription endpoints: which are acceptable, and how they are shown.

A Slack or webhook URL is often a secret in itself (Slack's path is the
token), so a URL is never shown whole: L{redact_url} keeps the scheme,
the host and port and the first path segment, and hides the rest, the
query and any userinfo.  L{describe} is how a subscription appears in
logs, errors and test results.  L{check} says what is wrong with an
endpoint before anything is sent to it (the config and the API use it).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from secdns.alarms.model import PROTOCOLS, Subscription

__all__ = ["PAGERDUTY_URL", "redact_url", "describe", "check", "is_loopback", "scrub"]

#: Where PagerDuty's Events API v2 takes events (a C{pagerduty} endpoint left empty).
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"

_HIDDEN = "\N{HORIZONTAL ELLIPSIS}"
# One address, no display name, no list: what an SMTP RCPT TO takes.
_EMAIL = re.compile(r"^[^@\s<>,;\"()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def redact_url(url: str) -> str:
    """C{url} without what may be a credential: C{https://hooks.slack.com/services/…}."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(a URL that does not parse)"
    if ":" in host:
        host = f"[{host}]"
    shown = f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    segments = parts.path.lstrip("/").split("/")
    if segments and segments[0]:
        shown += "/" + segments[0]
        if len(segments) > 1:
            shown += "/" + _HIDDEN
    if parts.query:
        shown += "?" + _HIDDEN
    return shown


def describe(subscription: Subscription) -> str:
    """How C{subscription} is named in logs and results: C{slack https://hooks.slack.com/services/…}."""
    protocol, endpoint = subscription.protocol, subscription.endpoint
    if protocol in ("slack", "webhook", "pagerduty"):
        endpoint = redact_url(endpoint or PAGERDUTY_URL)
    shown = f"{protocol} {endpoint}".strip()
    return shown


def is_loopback(host: str) -> bool:
    """Whether C{host} (a name or an address) is this machine's loopback."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check(subscription: Subscription) -> None:
    """
    @raise ValueError: with what is wrong, when C{subscription} cannot be
        delivered to: an unknown protocol, an email endpoint that is not
        one address, a URL that is not HTTPS (plain HTTP is for loopback
        only), a PagerDuty subscription without its routing key.
    """
    protocol, endpoint = subscription.protocol, subscription.endpoint
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r} (one of: {', '.join(PROTOCOLS)})")
    if protocol == "email":
        if not _EMAIL.match(endpoint):
            raise ValueError(f"email endpoint {endpoint!r} is not one address such as ops@example.com")
    elif protocol in ("slack", "webhook", "pagerduty"):
        if protocol == "pagerduty" and not subscription.secret:
            raise ValueError("a pagerduty subscription needs its routing key as the secret")
        if protocol == "pagerduty" and not endpoint:
            return
        try:
            parts = urlsplit(endpoint)
            host = parts.hostname
            parts.port
        except ValueError:
            raise ValueError(f"{protocol} endpoint is not a URL: {redact_url(endpoint)}") from None
        if parts.scheme not in ("https", "http") or not host:
            raise ValueError(f"{protocol} endpoint must be an https:// URL: {redact_url(endpoint)}")
        if parts.scheme == "http" and not is_loopback(host):
            raise ValueError(f"{protocol} endpoint must be https:// (plain http only to loopback): {redact_url(endpoint)}")
    elif protocol == "log" and endpoint:
        raise ValueError("a log subscription has no endpoint")


def scrub(text: str, subscription: Subscription) -> str:
    """C{text} with C{subscription}'s URL and secret, wherever they appear, replaced by their redacted forms."""
    secrets = []
    if subscription.protocol in ("slack", "webhook", "pagerduty") and subscription.endpoint:
        secrets.append((subscription.endpoint, redact_url(subscription.endpoint)))
        parts = urlsplit(subscription.endpoint)
        userinfo = parts.netloc.rpartition("@")[0]
        for piece in [userinfo, *userinfo.split(":"), parts.query, parts.path if len(parts.path) > 1 else ""]:
            if piece:
                secrets.append((piece, _HIDDEN))
    if subscription.secret:
        secrets.append((subscription.secret.decode("utf-8", "replace"), _HIDDEN))
    for secret, shown in secrets:
        if len(secret) >= 4:  # shorter is no secret, and would mangle every word it is in
            text = text.replace(secret, shown)
    return text
