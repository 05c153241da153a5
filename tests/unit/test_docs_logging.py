"""docs/logging.rst shows each zone event's line as secdns.ops.eventlog words it, and no line it no longer writes."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from secdns import tap
from secdns.zones import events
from tests.unit.test_eventlog import LINES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "logging.rst").read_text()

# The literal blocks of zone events: "    info   zone example.org: ..."
SHOWN = re.findall(r"^    (debug|info|warn|error|critical) +(\S.*)$", DOC, re.M)


def test_each_kind_of_zone_event_is_shown_with_its_level():
    shown = set(SHOWN)
    for kind in typing.get_args(events.ZoneEvent):
        examples = {(level.name, line) for event, level, line in LINES if type(event) is kind}
        assert examples & shown, f"docs/logging.rst shows no {kind.__name__} line: one of {sorted(examples)}"


def test_every_line_shown_is_worded_as_secdns_words_it():
    worded = {(level.name, line) for _, level, line in LINES}
    assert SHOWN
    stale = [entry for entry in SHOWN if entry not in worded]
    assert not stale, f"docs/logging.rst shows lines secdns no longer writes: {stale}"


def test_the_options_documented_exist():
    options = {name for name, *_ in tap.Options.optParameters}
    for option in ("log-format", "log-level"):
        assert f"--{option}" in DOC and option in options
