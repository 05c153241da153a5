# -*- test-case-name: tests.unit.test_alarm_model -*-
"""
The values alarms and notifications are made of, frozen.

An L{Alarm} watches one metric of each zone it covers, reduces the last
C{interval} of its per-minute history with a statistic, and compares the
result with a threshold; it fires for a zone once the comparison has held
for C{pending}, and sends a L{Notification} to each of its topics on each
change of state (and again every C{repeat} while firing, if set).  A
L{Topic} delivers to its L{Subscription}s.

Names follow the seeds' monitoring service where it has them (metric
names, severities, the query text); durations are seconds.
"""

from __future__ import annotations

import attrs

__all__ = [
    "METRICS", "STATISTICS", "OPERATORS", "SEVERITIES", "PROTOCOLS", "FIRING", "OK",
    "Alarm", "Subscription", "Topic", "SmtpConfig", "Notification",
]

#: The per-zone metrics alarms can watch, by their names in the query
#: language, each with what it is.  The first three are the seeds'.
METRICS = {
    "ZoneTransferFailureCount": "refresh attempts that failed, per minute",
    "ZoneTransferSuccessCount": "transfers (AXFR or IXFR) applied, per minute",
    "ZoneExpirationInHours": "hours until a secondary zone expires (0: expired)",
    "MasterUp": "masters that answered the last request, of those configured (a fraction, 0 to 1)",
    "NotifyFailureCount": "NOTIFYs to downstreams that failed, per minute",
    "ZoneSerial": "the serial served",
    "FailingForRetries": (
        "how long a secondary zone's refreshes have been failing, in its SOA retry intervals "
        "(as clamped by [timers]); 0 once one succeeds"
    ),
}

STATISTICS = ("count", "sum", "max", "min", "mean", "rate")
OPERATORS = (">", ">=", "<", "<=", "==", "!=")
SEVERITIES = ("CRITICAL", "ERROR", "WARNING", "INFO")
PROTOCOLS = ("email", "slack", "webhook", "pagerduty", "stream", "log")

FIRING = "FIRING"
OK = "OK"


@attrs.frozen
class Alarm:
    """
    One alarm rule.

    @ivar zones: a zone name, a glob (C{*.example.com}), or C{*}: every zone.
    @ivar interval: the window the statistic reduces, in seconds (a whole
        number of minutes).
    @ivar pending: how long the condition must hold before the alarm fires.
    @ivar repeat: re-notify this often while firing; L{None}: never.
    @ivar declared_in: the config file that declares it; L{None}: made at
        run time (through the API), kept in the store.
    @ivar steps: for C{ZoneExpirationInHours} only: hours to expiry at
        which to notify, each once as the zone approaches expiry (a
        successful refresh re-arms them), such as C{(72, 24, 6, 3, 2, 1, 0)};
        the alarm fires at the first crossed (L{secdns.alarms.expiry}).
    """

    name: str
    metric: str
    operator: str
    threshold: float
    zones: str = "*"
    statistic: str = "sum"
    interval: float = 3600.0
    pending: float = 0.0
    severity: str = "ERROR"
    topics: tuple[str, ...] = ()
    repeat: float | None = None
    notify_on_clear: bool = True
    enabled: bool = True
    body: str = ""
    declared_in: str | None = None
    steps: tuple[float, ...] = ()


def _endpoint_repr(endpoint: str) -> str:
    """A URL's repr without what may be a credential (a Slack URL's path is its token)."""
    if "://" not in endpoint:
        return repr(endpoint)
    from secdns.alarms.endpoints import redact_url

    return repr(redact_url(endpoint))


@attrs.frozen
class Subscription:
    """
    Where a topic delivers: C{endpoint} is an email address (C{email}), a
    URL (C{slack}, C{webhook}, C{pagerduty}), a file path (C{stream}), or
    empty (C{log}).

    @ivar secret: a webhook's shared secret, for its HMAC header (or a
        PagerDuty routing key); never shown back, never logged.
    """

    protocol: str
    endpoint: str = attrs.field(default="", repr=lambda endpoint: _endpoint_repr(endpoint))
    secret: bytes = attrs.field(default=b"", repr=False)


@attrs.frozen
class Topic:
    """
    A named set of subscriptions.

    @ivar stream_file: where notifications folded past the per-minute limit
        are appended as JSON lines; L{None}: C{<state_dir>/streams/<name>.jsonl}.
    @ivar description: what the topic is for, in words (the API's C{description}).
    """

    name: str
    subscriptions: tuple[Subscription, ...] = ()
    stream_file: str | None = None
    declared_in: str | None = None
    description: str = ""


@attrs.frozen
class SmtpConfig:
    """
    The C{[smtp]} table: the relay email notifications go through.

    @ivar starttls: C{required}, C{optional} (used when offered) or C{never}.
    @ivar ca_file: a PEM file of the certificates the relay's is verified
        against; L{None}: the platform's trust roots.
    """

    host: str = "127.0.0.1"
    port: int = 25
    starttls: str = "optional"
    username: str | None = None
    password: bytes = attrs.field(default=b"", repr=False)
    sender: str = "secdns@localhost"
    timeout: float = 30.0
    ca_file: str | None = None


@attrs.frozen
class Notification:
    """
    One message about one alarm and one zone.

    @ivar state: L{FIRING} or L{OK} (cleared); a repeat is L{FIRING} again
        with C{repeat} set.
    @ivar value: the statistic's value that decided the state, if any.
    @ivar since: when the alarm started firing for the zone.
    @ivar dedup_key: the same for every message of one firing (alarm,
        zone and start), so receivers can group them.
    @ivar title: one line; C{body}: what an operator needs, in words.
    """

    alarm: str
    zone: str
    state: str
    severity: str
    metric: str
    query: str
    value: float | None
    threshold: float
    when: float
    since: float | None
    dedup_key: str
    title: str
    body: str
    serial: int | None = None
    expiration_hours: float | None = None
    repeat: bool = False
