"""secdns.config: the [[alarm]], [[topic]] and [smtp] tables, their defaults, and errors naming file, key and problem."""

from __future__ import annotations

import pytest

from secdns.alarms.defaults import EXPIRING, REFRESH_FAILING
from secdns.alarms.model import Alarm, SmtpConfig, Subscription
from secdns.config import parse
from secdns.errors import ConfigError

SOURCE = "/etc/secdns/secdns.toml"
BASE = "/etc/secdns"

TOPIC = """
[[topic]]
name = "ops"
description = "the DNS team"
[[topic.subscription]]
protocol = "email"
endpoint = "dns-ops@example.net"
[[topic.subscription]]
protocol = "webhook"
endpoint = "https://hooks.example.net/secdns"
secret = "shared-secret"
[[topic.subscription]]
protocol = "stream"
endpoint = "streams/ops.jsonl"
"""


def files(path: str) -> str:
    return {"/etc/secdns/smtp.pass": "relay-pass\n", "/etc/secdns/hook.secret": "from-a-file\n"}[path]


def config(text: str):
    return parse(text, source=SOURCE, base_dir=BASE, read_text=files)


def error(text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        config(text)
    return str(raised.value)


def test_nothing_configured_means_the_defaults():
    """With no [[alarm]], [[topic]] nor [smtp], the config has none (the built-ins are the engine's) and the default relay."""
    parsed = config("")
    assert parsed.alarms == () and parsed.topics == ()
    assert parsed.smtp == SmtpConfig()


def test_topic_with_subscriptions():
    """A [[topic]] with [[topic.subscription]]s: email, webhook with its secret, stream relative to the file."""
    (topic,) = config(TOPIC).topics
    assert topic.name == "ops" and topic.declared_in == SOURCE and topic.description == "the DNS team"
    assert topic.subscriptions == (
        Subscription("email", "dns-ops@example.net"),
        Subscription("webhook", "https://hooks.example.net/secdns", b"shared-secret"),
        Subscription("stream", "/etc/secdns/streams/ops.jsonl"),
    )
    assert "shared-secret" not in repr(topic)


def test_alarm_in_fields_with_durations():
    """An [[alarm]] in fields, with durations such as "5m", sending to a declared topic."""
    text = TOPIC + """
[[alarm]]
name = "transfer-failures"
metric = "ZoneTransferFailureCount"
zones = "Example.COM."
statistic = "sum"
interval = "1h"
operator = ">"
threshold = 3
pending = "5m"
repeat = "4h"
severity = "critical"
topics = ["ops", "log"]
notify_on_clear = false
body = "Call the primary's operator."
"""
    (alarm,) = config(text).alarms
    assert alarm == Alarm(
        name="transfer-failures", metric="ZoneTransferFailureCount", operator=">", threshold=3.0, zones="example.com",
        statistic="sum", interval=3600.0, pending=300.0, severity="CRITICAL", topics=("ops", "log"), repeat=14400.0,
        notify_on_clear=False, body="Call the primary's operator.", declared_in=SOURCE,
    )


def test_alarm_as_a_query():
    """The same rule written in the seeds' query language."""
    text = TOPIC + """
[[alarm]]
name = "transfer-failures"
query = 'ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3'
topics = ["ops"]
"""
    (alarm,) = config(text).alarms
    assert (alarm.metric, alarm.interval, alarm.zones, alarm.statistic, alarm.operator, alarm.threshold) == (
        "ZoneTransferFailureCount", 3600.0, "example.com", "sum", ">", 3.0
    )
    assert alarm.pending == 0.0 and alarm.repeat is None and alarm.enabled


def test_a_built_in_alarm_overridden_keeps_what_is_not_said():
    """An [[alarm]] with a built-in's name takes the built-in's fields it does not give: here only its topics, or only enabled."""
    text = TOPIC + """
[[alarm]]
name = "zone-refresh-failing"
topics = ["log", "ops"]

[[alarm]]
name = "zone-expiring"
enabled = false
"""
    failing, expiring = config(text).alarms
    assert failing.metric == REFRESH_FAILING.metric and failing.threshold == 3.0 and failing.topics == ("log", "ops")
    assert failing.declared_in == SOURCE
    assert expiring.steps == EXPIRING.steps and not expiring.enabled


def test_expiry_steps_of_ones_own():
    """An alarm on ZoneExpirationInHours with steps fires at the highest of them."""
    text = """
[[alarm]]
name = "expiry"
metric = "ZoneExpirationInHours"
statistic = "min"
interval = "1m"
steps = [12, 48, 0]
topics = ["log"]
"""
    (alarm,) = config(text).alarms
    assert alarm.steps == (48.0, 12.0, 0.0) and (alarm.operator, alarm.threshold) == ("<=", 48.0)


def test_smtp_relay_with_a_password_file():
    """[smtp] with STARTTLS required and a login whose password is in a file of its own."""
    text = """
[smtp]
host = "mail.example.net"
port = 587
starttls = "required"
username = "secdns"
password_file = "smtp.pass"
from = "secdns@example.net"
timeout = 10
"""
    smtp = config(text).smtp
    assert (smtp.host, smtp.port, smtp.starttls, smtp.username, smtp.sender, smtp.timeout) == (
        "mail.example.net", 587, "required", "secdns", "secdns@example.net", 10.0
    )
    assert smtp.password == b"relay-pass"
    assert "relay-pass" not in repr(smtp)


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[alarm]]\nname = "a"\nmetric = "ZoneTransferFailureCount"\noperator = ">"\nthreshold = 1\ntopics = ["ops"]\n',
         f'{SOURCE}: alarm "a".topics[0]: no [[topic]] is named "ops"'),
        ('[[alarm]]\nname = "a"\nquery = "ZoneTransferFailureCount[1h].sum() >"\n',
         f'{SOURCE}: alarm "a".query: \'ZoneTransferFailureCount[1h].sum() >\' is not a query such as '
         'ZoneTransferFailureCount[1h]{resourceName = "example.com"}.sum() > 3'),
        ('[[alarm]]\nname = "a"\nquery = "ZoneTransferFailureCount[1h].sum() > 3"\nthreshold = 4\n',
         f'{SOURCE}: alarm "a": has both query and threshold; the query says them all'),
        ('[[alarm]]\nname = "a"\nmetric = "ZoneTransferFailureCount"\noperator = ">"\n',
         f'{SOURCE}: alarm "a".threshold: is required (or write the rule as query = \'...\')'),
        ('[[alarm]]\nname = "a"\nmetric = "Nope"\noperator = ">"\nthreshold = 1\n',
         f"{SOURCE}: alarm \"a\".metric: unknown metric 'Nope' (one of: ZoneTransferFailureCount, "
         "ZoneTransferSuccessCount, ZoneExpirationInHours, MasterUp, NotifyFailureCount, ZoneSerial, FailingForRetries)"),
        ('[[alarm]]\nname = "a"\nmetric = "MasterUp"\noperator = "<"\nthreshold = 1\ninterval = "90s"\n',
         f'{SOURCE}: alarm "a".interval: must be whole minutes from 1m to 1d, not 90 s'),
        ('[[alarm]]\nname = "a"\nmetric = "MasterUp"\noperator = "<"\nthreshold = 1\npending = "soon"\n',
         f'{SOURCE}: alarm "a".pending: expected a duration such as "30s", "5m", "1h" or "1d", got "soon"'),
        ('[[alarm]]\nname = "a"\nmetric = "MasterUp"\noperator = "<"\nthreshold = 1\nseverity = "loud"\n',
         f"{SOURCE}: alarm \"a\".severity: unknown severity 'LOUD' (one of: CRITICAL, ERROR, WARNING, INFO)"),
        ('[[alarm]]\nname = "a"\nmetric = "MasterUp"\noperator = "<"\nthreshold = 1\nsteps = [1]\n',
         f'{SOURCE}: alarm "a".steps: are for ZoneExpirationInHours alarms only'),
        ('[[alarm]]\nname = "a b"\n', f'{SOURCE}: alarm[0].name: "a b" is not an alarm name (letters, digits, _ . -, at most 63)'),
        ('[[alarm]]\nname = "a"\nmetric = "MasterUp"\noperator = "<"\nthreshold = 1\ncolour = "red"\n',
         f"{SOURCE}: alarm \"a\".colour: unknown key (expected one of: name, query, metric, zones, statistic, interval, "
         "operator, threshold, pending, severity, topics, repeat, notify_on_clear, enabled, body, steps)"),
        ('[[alarm]]\nname = "a"\nquery = "MasterUp[1m].min() < 1"\n[[alarm]]\nname = "a"\nquery = "MasterUp[1m].min() < 1"\n',
         f'{SOURCE}: alarm[1].name: alarm "a" is already defined by alarm[0]'),
        ('[[topic]]\nname = "t"\n[[topic.subscription]]\nprotocol = "sms"\nendpoint = "+1555"\n',
         f"{SOURCE}: topic \"t\".subscription[0].protocol: unknown protocol 'sms' (one of: email, slack, webhook, "
         "pagerduty, stream, log)"),
        ('[[topic]]\nname = "t"\n[[topic.subscription]]\nprotocol = "email"\nendpoint = "not an address"\n',
         f"{SOURCE}: topic \"t\".subscription[0].endpoint: email endpoint 'not an address' is not one address such as "
         "ops@example.com"),
        ('[[topic]]\nname = "t"\n[[topic.subscription]]\nprotocol = "webhook"\nendpoint = "ftp://x/y"\nsecret = "s"\n',
         f"{SOURCE}: topic \"t\".subscription[0].endpoint: webhook endpoint must be an https:// URL: ftp://x/y"),
        ('[[topic]]\nname = "t"\n[[topic.subscription]]\nprotocol = "webhook"\nendpoint = "https://x/y"\nsecret = "s"\n'
         'secret_file = "hook.secret"\n',
         f'{SOURCE}: topic "t".subscription[0]: has both secret and secret_file; keep one'),
        ('[[topic]]\nname = "t"\n[topic.subscription]\nprotocol = "log"\n',
         f'{SOURCE}: topic "t".subscription: write [[topic.subscription]] (an array of tables), not [topic.subscription]'),
        ('[smtp]\nstarttls = "maybe"\n', f'{SOURCE}: smtp.starttls: must be "required", "optional" or "never", not "maybe"'),
        ('[smtp]\nusername = "u"\n', f"{SOURCE}: smtp: username and password (or password_file) go together (SMTP login needs both)"),
        ('[smtp]\nusername = "u"\npassword_file = "missing.pass"\n',
         f"{SOURCE}: smtp.password_file: cannot read /etc/secdns/missing.pass: No such file or directory"),
        ('[smtp]\nport = 0\n', f"{SOURCE}: smtp.port: must be between 1 and 65535, not 0"),
        ('[smtp]\nfrom = "nobody"\n', f'{SOURCE}: smtp.from: not one email address such as secdns@example.com: "nobody"'),
    ],
)
def test_errors_name_file_key_and_problem(text, message):
    def missing(path):
        if "missing" in path:
            raise FileNotFoundError(2, "No such file or directory")
        return files(path)

    with pytest.raises(ConfigError) as raised:
        parse(text, source=SOURCE, base_dir=BASE, read_text=missing)
    assert str(raised.value) == message


def test_secrets_never_in_errors():
    """A secret given in the file is never repeated in an error about it."""
    message = error('[[topic]]\nname = "t"\n[[topic.subscription]]\nprotocol = "log"\nendpoint = "x"\nsecret = "hunter2"\n')
    assert "hunter2" not in message
    message = error('[smtp]\npassword = "hunter2"\n')
    assert "hunter2" not in message
