"""docs/alarms.rst, "The seeds' example: email me when transfers fail": its config-file example is a valid config, and says what the CLI walkthrough makes."""

from __future__ import annotations

import textwrap

import attrs

from secdns.cli.commands import parser, plan
from secdns.config import parse
from secdns.ops.api.alarm_shapes import alarm_from, topic_id
from tests.support import ROOT


def example_toml() -> str:
    text = (ROOT / "docs" / "alarms.rst").read_text()
    section = text[text.index("The seeds' example: email me when transfers fail"):]
    block = section[section.index(".. code-block:: toml") + len(".. code-block:: toml"):]
    lines = []
    for line in block.splitlines()[1:]:
        if line and not line.startswith("    "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines))


def test_the_config_example_is_valid_and_is_the_cli_alarm():
    """The example's [smtp], [[topic]] and [[alarm]] parse, and the alarm is the one its secdns alarm create makes."""
    zone = '[[zone]]\nname = "example.com"\ntype = "secondary"\nexternal_masters = [ { address = "192.0.2.1" } ]\n'
    config = parse(example_toml() + "\n" + zone, source="/etc/secdns/secdns.toml", read_text=lambda path: "s3cret")
    (alarm,) = config.alarms
    (topic,) = config.topics
    assert (topic.name, [(s.protocol, s.endpoint) for s in topic.subscriptions]) == ("dns-team", [("email", "dns-team@example.com")])
    assert config.smtp.host == "smtp.example.net" and config.smtp.password == b"s3cret"
    argv = ["alarm", "create", "--name", "example-com-transfers", "--metric", "ZoneTransferFailureCount", "--zones", "example.com",
            "--statistic", "sum", "--interval", "1h", "--operator", "gt", "--threshold", "3", "--severity", "CRITICAL",
            "--destinations", "dns-team"]
    made = alarm_from(plan(parser().parse_args(argv)).request.body, {topic_id("dns-team"): "dns-team"})
    assert made == attrs.evolve(alarm, declared_in=None)
