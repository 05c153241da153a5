# -*- test-case-name: tests.integration.test_appliance,tests.unit.test_tap -*-
"""
C{twistd secdns}: command-line options and the service they make.

The only module that imports the global reactor.

To answer on port 53, start twistd as root with C{--uid} and C{--gid}:
the listeners bind in C{privilegedStartService}, before twistd drops to
that user, and everything after (C{state_dir}, reloads on SIGHUP) runs as
it::

    twistd -n --uid secdns --gid secdns secdns --config /etc/secdns/secdns.toml

or start it as that user with CAP_NET_BIND_SERVICE, as the systemd unit
C{etc/systemd/secdns.service} does (docs/install.rst).  The log: how
twistd's C{--logfile}/C{-n} and C{--log-format}/C{--log-level} choose it,
L{secdns.ops.logoutput}; what it shows, L{secdns.ops.logfilter}.
"""

from __future__ import annotations

import os
import stat
import sys

import dns.rdata
from twisted.application import service
from twisted.logger import ILogObserver
from twisted.python import usage
from twisted.python.components import Componentized

from secdns import __version__, config as config_module
from secdns.errors import ConfigError
from secdns.ops import logfilter, logoutput
from secdns.service import SecdnsService

__all__ = ["Options", "makeService", "Logged"]


class Options(usage.Options):
    """Options of C{twistd secdns}."""

    optParameters = [
        ["config", "c", None, "Path of the TOML config file (required)."],
        ["log-format", None, "text", f"The log's lines: {' or '.join(logoutput.FORMATS)} (JSON lines, for log shippers)."],
        ["log-level", None, "info", f"The least level logged: {', '.join(logfilter.LEVELS)} (debug shows everything)."],
    ]

    longdesc = (
        "secdns answers authoritatively for its primary and secondary zones. "
        "Send SIGHUP to reload the config and the zone files."
    )

    def opt_version(self) -> None:
        """Print secdns's version and exit."""
        print(f"secdns {__version__}")
        sys.exit(0)

    def postOptions(self) -> None:
        if not self["config"]:
            raise usage.UsageError("--config is required")
        if self["log-format"] not in logoutput.FORMATS:
            raise usage.UsageError(f"--log-format: expected one of {', '.join(logoutput.FORMATS)}")
        if self["log-level"] not in logfilter.LEVELS:
            raise usage.UsageError(f"--log-level: expected one of {', '.join(logfilter.LEVELS)}")
        if self["log-format"] != "text" and self.parent is not None and self.parent.get("syslog"):
            raise usage.UsageError("--log-format json writes to a file or standard output, not to syslog")


def makeService(options: Options, reactor=None) -> SecdnsService:
    """
    Read the config and make the appliance.  The zone files are read once
    it runs, in worker threads (a zone answers SERVFAIL until its file is
    read, as BIND's do); one that cannot be opened at all is a config error.

    An invalid config, or a zone file that cannot be opened, ends the
    process with a one-line error.
    """
    if reactor is None:
        from twisted.internet import reactor
    try:
        config = config_module.load(options["config"])
        check_zone_files(config)
    except ConfigError as e:
        raise SystemExit(f"secdns: {e}")
    # dnspython imports the module of each record type the first time it
    # meets it; import them all now, while the files are surely readable,
    # rather than on a SIGHUP after twistd --uid has dropped privileges.
    dns.rdata.load_all_types()
    appliance = SecdnsService(config, reactor)
    twistd = options.parent
    if twistd is None or twistd.get("logger") is not None:
        return appliance  # not run by twistd, or its --logger chose the observer
    try:
        observer = logoutput.observer(twistd, options["log-format"], options["log-level"])
    except (OSError, ValueError) as e:
        raise SystemExit(f"secdns: cannot write the log: {e}") from None
    return Logged(appliance, observer)


class Logged(service.MultiService):
    """
    The appliance as twistd runs it: it hands twistd the log observer of
    C{--log-format} and C{--log-level} (the application's C{ILogObserver},
    which twistd asks for before making its own) when added to the
    application.

    @ivar appliance: the L{SecdnsService}, its only child.
    """

    def __init__(self, appliance: SecdnsService, observer: ILogObserver) -> None:
        super().__init__()
        self.appliance = appliance
        self.observer = observer
        appliance.setServiceParent(self)

    def setServiceParent(self, parent) -> None:
        if isinstance(parent, Componentized) and parent.getComponent(ILogObserver) is None:
            parent.setComponent(ILogObserver, self.observer)
        super().setServiceParent(parent)


def check_zone_files(config: config_module.Config) -> None:
    """
    Each primary zone's file can be opened for reading.

    @raise ConfigError: for the first that cannot, naming the config file,
        the zone's C{file} key, the zone file and why.
    """
    for zone in config.zones:
        if zone.file is None:
            continue
        label = zone.name.to_text(omit_final_dot=True) or "."
        try:
            # Not blocking on a FIFO: one would hang the start for ever.
            fd = os.open(zone.file, os.O_RDONLY | os.O_NONBLOCK)
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
            os.close(fd)
        except OSError as e:
            raise ConfigError(config.source, f'zone "{label}".file', f"{zone.file}: cannot read: {e.strerror}") from None
        if not regular:
            raise ConfigError(config.source, f'zone "{label}".file', f"{zone.file}: not a regular file")
