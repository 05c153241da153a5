# -*- test-case-name: tests.unit.test_logoutput -*-
"""
Where and how C{twistd secdns} writes its log: text lines or JSON lines,
to the file twistd's own options name, through L{secdns.ops.logfilter}.

twistd makes its log observer from C{--logfile}, C{--syslog} and C{-n};
an application that provides its own (the C{ILogObserver} component of
the application, which twistd asks for before making its own) must honour
those options itself: L{destination} does, as twistd does (C{--logfile -}
or C{-n} without C{--logfile}: standard output; C{--logfile PATH}: a file
rotated at 1,000,000 octets and on SIGUSR1; daemon without C{--logfile}: C{twistd.log}).

Text lines are twistd's usual ones; to systemd's journal (standard
output of a service, named by C{JOURNAL_STREAM}) without the time, which
the journal has, and with the C{<N>} priority prefix journald reads.
JSON lines (C{--log-format json}) are one object per line (Twisted's
C{jsonFileLogObserver}, without its RS separator), with the event's fields
and, for log shippers, C{message} (the line's text), C{level} (its name)
and, on a zone event, C{zone_event} (its type and fields).  A C{None} in
a line is written C{none}.
"""

from __future__ import annotations

import io
import os
import signal
import sys
from typing import IO, Callable

import attrs
from twisted.logger import (
    ILogObserver, LegacyLogObserverWrapper, formatEvent, formatEventAsClassicLogText, jsonFileLogObserver,
    textFileLogObserver,
)
from twisted.python import logfile
from zope.interface import provider

from secdns.ops import logfilter

__all__ = [
    "FORMATS", "observer", "destination", "rotate_or_reopen", "text_observer", "journal_observer", "journal_line",
    "to_journal", "json_observer", "for_json", "readable",
]

FORMATS = ("text", "json")


def readable(event: dict) -> dict:
    """C{event}, its C{None} fields given as C{none} (the operator reads words, not Python)."""
    if not any(value is None for key, value in event.items() if not key.startswith("log_")):
        return event
    return {key: ("none" if value is None and not key.startswith("log_") else value) for key, value in event.items()}


def text_observer(out: IO[str]) -> ILogObserver:
    """twistd's text lines, with C{none} for C{None}."""
    inner = textFileLogObserver(out)

    @provider(ILogObserver)
    def observe(event: dict) -> None:
        inner(readable(event))

    return observe


# journald's priorities (syslog's), by level: with them the journal knows
# an error from an info line (journalctl -p warning).
PRIORITIES = {"debug": 7, "info": 6, "warn": 4, "error": 3, "critical": 2}


def journal_line(event: dict) -> str | None:
    """
    C{event} as journald reads a line of standard output: each line
    prefixed C{<N>} with its priority, and no time (the journal has it).
    """
    text = formatEventAsClassicLogText(readable(event), formatTime=lambda when: "")
    if text is None:
        return None
    level = event.get("log_level")
    priority = PRIORITIES.get(level.name if level is not None else "info", 6)
    first, *more = text[1:].rstrip("\n").split("\n")  # text[1:]: the empty time's space
    return "".join(f"<{priority}>{line}\n" for line in [first, *more])


def journal_observer(out: IO[str]) -> ILogObserver:
    """twistd's text lines, as journald takes them (L{journal_line})."""

    @provider(ILogObserver)
    def observe(event: dict) -> None:
        line = journal_line(event)
        if line is not None:
            out.write(line)
            out.flush()

    return observe


def to_journal(out: IO[str], environ=os.environ) -> bool:
    """
    Whether C{out} is systemd's journal stream: systemd names it in
    C{JOURNAL_STREAM} (device:inode) for the service it started.
    """
    stream = environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in stream.split(":"))
        status = os.fstat(out.fileno())
    except (ValueError, OSError, AttributeError, io.UnsupportedOperation):
        return False
    return (status.st_dev, status.st_ino) == (device, inode)


def for_json(event: dict) -> dict:
    """
    What a JSON line holds: the event's fields, less the logger and source
    objects, plus C{message}, C{level}, the zone event's own fields, and
    the traceback of a failure.
    """
    shown = {key: value for key, value in event.items() if key not in ("log_logger", "log_source", "failure")}
    try:
        shown["message"] = formatEvent(readable(event))
    except Exception:  # formatEvent reports its own failures in its text; be safe anyway
        shown["message"] = str(event.get("log_format"))
    level = event.get("log_level")
    shown["level"] = level.name if level is not None else "info"
    zone_event = event.get("zone_event")
    if zone_event is not None and attrs.has(type(zone_event)):
        shown["zone_event"] = {"type": type(zone_event).__name__, **attrs.asdict(zone_event)}
    failure = event.get("log_failure") or event.get("failure")
    if failure is not None and hasattr(failure, "getTraceback"):
        shown["traceback"] = failure.getTraceback()
        shown.pop("log_failure", None)
    return shown


def json_observer(out: IO[str]) -> ILogObserver:
    """One JSON object per line (no RS separator: JSON Lines, as log shippers read them)."""
    inner = jsonFileLogObserver(out, recordSeparator="")

    @provider(ILogObserver)
    def observe(event: dict) -> None:
        inner(for_json(event))

    return observe


def rotate_or_reopen(log: logfile.LogFile) -> None:
    """
    SIGUSR1's work: rotate the file as twistd does (C{secdns.log} becomes
    C{secdns.log.1}), or, when something else (logrotate) has moved it
    away already, start a new file where it was.
    """
    if os.path.exists(log.path):
        log.rotate()
    else:
        log.reopen()


def _rotate_on_sigusr1(log: logfile.LogFile) -> None:
    """As twistd does, SIGUSR1 rotates the log file (L{rotate_or_reopen}), unless something else handles it."""
    if signal.getsignal(signal.SIGUSR1) in (None, signal.SIG_DFL):

        def rotate(signum, frame):
            from twisted.internet import reactor

            reactor.callFromThread(rotate_or_reopen, log)

        signal.signal(signal.SIGUSR1, rotate)


def _ignore_sigusr1() -> None:
    """
    Logging to standard output (journald's), there is nothing to rotate:
    a SIGUSR1 meant for a log file (a logrotate rule left behind) must not
    end the process, as it would by default.
    """
    if signal.getsignal(signal.SIGUSR1) in (None, signal.SIG_DFL):
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)


def destination(twistd: dict, open_file: Callable[[str], IO[str]] = logfile.LogFile.fromFullPath) -> IO[str]:
    """
    The file twistd's options name for the log: standard output for
    C{--logfile -} or C{-n} without C{--logfile} (SIGUSR1 then does
    nothing); else the file (default C{twistd.log}), which rotates as
    twistd's does: at 1,000,000 octets and on SIGUSR1.

    @raise SystemExit: for C{--logfile -} without C{-n}, as twistd.
    """
    name = twistd.get("logfile") or ""
    if name == "-" and not twistd.get("nodaemon"):
        sys.exit("Daemons cannot log to stdout, exiting!")
    if name == "-" or twistd.get("nodaemon") and not name:
        _ignore_sigusr1()
        return sys.stdout
    log = open_file(name or "twistd.log")
    if isinstance(log, logfile.LogFile):
        _rotate_on_sigusr1(log)
    return log


def observer(twistd: dict, log_format: str = "text", level: str = "info") -> ILogObserver:
    """
    The observer for twistd's options: C{--syslog} (text only) or the
    L{destination} file, in C{log_format}, filtered at C{level}.

    @raise ValueError: an unknown format, or JSON to syslog.
    """
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r}: expected one of {', '.join(FORMATS)}")
    if twistd.get("syslog"):
        if log_format != "text":
            raise ValueError("--log-format json writes to a file or standard output, not to syslog")
        from twisted.python import syslog

        inner = LegacyLogObserverWrapper(syslog.SyslogObserver(twistd.get("prefix") or "secdns").emit)
        return logfilter.filtered(_readable(inner), level)
    out = destination(twistd)
    if log_format == "json":
        made = json_observer(out)
    elif to_journal(out):
        made = journal_observer(out)
    else:
        made = text_observer(out)
    return logfilter.filtered(made, level)


def _readable(inner: ILogObserver) -> ILogObserver:
    @provider(ILogObserver)
    def observe(event: dict) -> None:
        inner(readable(event))

    return observe
