"""secdns.ops.logoutput: text and JSON lines, to where twistd's options say, rotated as twistd's are."""

from __future__ import annotations

import io
import json
import os
import signal
import sys

import pytest
from twisted.logger import Logger, capturedLogs
from twisted.python import log as legacy
from twisted.python import logfile

from secdns.ops import logoutput
from secdns.ops.eventlog import log_event
from secdns.zones import events

WHEN = 1_700_000_000.0


def logged(emit) -> list[dict]:
    with capturedLogs() as captured:
        emit()
    return list(captured)


@pytest.fixture
def sigusr1():
    """SIGUSR1's handler is put back after the test."""
    before = signal.getsignal(signal.SIGUSR1)
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGUSR1, before)


def test_none_is_written_none_in_text():
    out = io.StringIO()
    observer = logoutput.text_observer(out)
    for event in logged(lambda: Logger(namespace="secdns.core").info("journaled serial {old} -> {new}", old=None, new=2)):
        observer(event)
    assert out.getvalue().endswith("journaled serial none -> 2\n")
    assert "None" not in out.getvalue()


def test_readable_leaves_an_event_without_none_as_it_is():
    event = {"log_format": "x {a}", "a": 1, "log_failure": None}
    assert logoutput.readable(event) is event


def test_json_lines_parse_one_object_each_with_message_and_level():
    out = io.StringIO()
    observer = logoutput.json_observer(out)
    zone_event = events.TransferSucceeded("example.com", WHEN, "AXFR", None, 7, "192.0.2.1#53", 6, 0.25, messages=2, size=216)
    emitted = logged(lambda: (
        log_event(zone_event),
        Logger(namespace="secdns.service").warn("server.{key} changed", key="listen"),
        legacy.msg("a legacy line"),
    ))
    for event in emitted:
        observer(event)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert first["message"] == "zone example.com: AXFR from 192.0.2.1#53: serial none -> 7 (5 records), 2 messages (216 octets), 0.25 s"
    assert first["level"] == "info" and first["zone"] == "example.com" and first["log_namespace"] == "secdns.zones"
    assert first["zone_event"] == {
        "type": "TransferSucceeded", "zone": "example.com", "when": WHEN, "kind": "AXFR", "serial_from": None, "serial_to": 7,
        "master": "192.0.2.1#53", "records": 6, "seconds": 0.25, "messages": 2, "size": 216,
    }
    assert (second["message"], second["level"], second["key"]) == ("server.listen changed", "warn", "listen")
    assert (third["message"], third["level"]) == ("a legacy line", "info")
    assert "\x1e" not in out.getvalue()  # JSON Lines, not RFC 7464's record separators


def test_json_line_of_a_failure_has_its_traceback():
    out = io.StringIO()
    observer = logoutput.json_observer(out)

    def fail():
        try:
            raise ValueError("bad")
        except ValueError:
            Logger(namespace="secdns.x").failure("zone {zone}: cannot store", zone="example.org")

    for event in logged(fail):
        observer(event)
    (line,) = (json.loads(line) for line in out.getvalue().splitlines())
    assert line["level"] == "critical" and line["message"] == "zone example.org: cannot store"
    assert "ValueError: bad" in line["traceback"]


def test_json_leaves_out_the_logger_and_source_objects():
    class Source:
        def __repr__(self):
            return "Source(secret='hunter2')"

    source = Source()
    log = Logger(namespace="secdns.x", source=source)
    shown = logoutput.for_json(logged(lambda: log.info("hello"))[0])
    assert "log_logger" not in shown and "log_source" not in shown
    assert "hunter2" not in json.dumps(shown, default=repr)


def test_destination_is_stdout_with_nodaemon_or_dash(sigusr1):
    assert logoutput.destination({"nodaemon": True, "logfile": None}) is sys.stdout
    assert logoutput.destination({"nodaemon": True, "logfile": "-"}) is sys.stdout
    # Nothing to rotate: a stray SIGUSR1 (a logrotate rule left behind) does not end the process.
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_IGN


def test_a_daemon_cannot_log_to_stdout():
    with pytest.raises(SystemExit, match="Daemons cannot log to stdout"):
        logoutput.destination({"nodaemon": False, "logfile": "-"})


def test_destination_is_the_logfile_rotated_on_sigusr1(tmp_path, sigusr1):
    path = tmp_path / "secdns.log"
    out = logoutput.destination({"nodaemon": True, "logfile": str(path)})
    assert isinstance(out, logfile.LogFile) and out.path == str(path)
    assert out.rotateLength == 1_000_000  # twistd's: rotated at a million octets
    assert callable(signal.getsignal(signal.SIGUSR1))
    out.close()


def test_a_daemon_without_logfile_writes_twistd_log(tmp_path, monkeypatch, sigusr1):
    opened = []
    out = logoutput.destination({"nodaemon": False, "logfile": None}, open_file=lambda name: opened.append(name) or io.StringIO())
    assert opened == ["twistd.log"] and isinstance(out, io.StringIO)


def test_rotate_or_reopen(tmp_path):
    path = tmp_path / "secdns.log"
    log = logfile.LogFile.fromFullPath(str(path))
    log.write("one\n")
    logoutput.rotate_or_reopen(log)  # still there: twistd's rotation, secdns.log -> secdns.log.1
    assert (tmp_path / "secdns.log.1").read_text() == "one\n"
    log.write("two\n")
    path.rename(tmp_path / "secdns.log-20261203")  # logrotate moved it away
    logoutput.rotate_or_reopen(log)  # a new file where it was
    log.write("three\n")
    log.flush()
    assert path.read_text() == "three\n"
    assert (tmp_path / "secdns.log-20261203").read_text() == "two\n"
    log.close()


def test_observer_filters_and_formats(tmp_path, sigusr1):
    path = tmp_path / "secdns.log"
    observer = logoutput.observer({"nodaemon": True, "logfile": str(path)}, "json", "info")
    for event in logged(lambda: (legacy.msg("(UDP Port 5300 Closed)"), Logger(namespace="s").debug("d"), Logger(namespace="s").info("kept"))):
        observer(event)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["message"] for line in lines] == ["kept"]


def test_json_to_syslog_is_refused():
    with pytest.raises(ValueError, match="not to syslog"):
        logoutput.observer({"syslog": True}, "json")


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="expected one of text, json"):
        logoutput.observer({"nodaemon": True}, "xml")


def test_journal_lines_carry_the_priority_and_no_time():
    emitted = logged(lambda: (
        Logger(namespace="secdns.zones").error("zone {zone}: expired", zone="example.com"),
        Logger(namespace="secdns.service").info("serial {old} -> 2", old=None),
        Logger(namespace="secdns.service").warn("w"),
    ))
    assert [logoutput.journal_line(e) for e in emitted] == [
        "<3>[secdns.zones#error] zone example.com: expired\n",
        "<6>[secdns.service#info] serial none -> 2\n",
        "<4>[secdns.service#warn] w\n",
    ]


def test_journal_lines_of_a_traceback_each_have_the_priority():
    def fail():
        try:
            raise ValueError("bad")
        except ValueError:
            Logger(namespace="secdns.x").failure("boom")

    (line,) = [logoutput.journal_line(e) for e in logged(fail)]
    lines = line.splitlines()
    assert lines[0] == "<2>[secdns.x#critical] boom" and len(lines) > 2
    assert all(entry.startswith("<2>\t") for entry in lines[1:])
    assert "ValueError: bad" in line


def test_to_journal_when_journal_stream_names_the_file(tmp_path):
    with open(tmp_path / "out", "w") as out:
        status = os.fstat(out.fileno())
        assert logoutput.to_journal(out, {"JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}"})
        assert not logoutput.to_journal(out, {"JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino + 1}"})
        assert not logoutput.to_journal(out, {})
        assert not logoutput.to_journal(out, {"JOURNAL_STREAM": "garbage"})
    assert not logoutput.to_journal(io.StringIO(), {"JOURNAL_STREAM": "1:2"})


def test_under_systemd_text_goes_to_the_journal_with_priorities(tmp_path, monkeypatch, sigusr1):
    with open(tmp_path / "stdout", "w") as out:
        status = os.fstat(out.fileno())
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setenv("JOURNAL_STREAM", f"{status.st_dev}:{status.st_ino}")
        observer = logoutput.observer({"nodaemon": True, "logfile": None}, "text", "info")
        for event in logged(lambda: (legacy.msg("(UDP Port 53 Closed)"), Logger(namespace="s").error("e"))):
            observer(event)
    assert (tmp_path / "stdout").read_text() == "<3>[s#error] e\n"
