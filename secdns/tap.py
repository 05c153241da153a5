# -*- test-case-name: tests.integration.test_appliance -*-
"""
C{twistd secdns}: command-line options and the service they make.

The only module that imports the global reactor.

To answer on port 53, start twistd as root with C{--uid} and C{--gid}:
the listeners bind in C{privilegedStartService}, before twistd drops to
that user, and everything after (C{state_dir}, reloads on SIGHUP) runs as
it::

    twistd -n --uid secdns --gid secdns secdns --config /etc/secdns/secdns.toml
"""

from __future__ import annotations

import dns.rdata
from twisted.python import usage

from secdns import config as config_module
from secdns.errors import ConfigError
from secdns.service import SecdnsService

__all__ = ["Options", "makeService"]


class Options(usage.Options):
    """Options of C{twistd secdns}."""

    optParameters = [
        ["config", "c", None, "Path of the TOML config file (required)."],
    ]

    longdesc = (
        "secdns answers authoritatively for its primary and secondary zones. "
        "Send SIGHUP to reload the config and the zone files."
    )

    def postOptions(self) -> None:
        if not self["config"]:
            raise usage.UsageError("--config is required")


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
    return SecdnsService(config, reactor)


def check_zone_files(config: config_module.Config) -> None:
    """
    Each primary zone's file can be opened for reading.

    @raise ConfigError: for the first that cannot, naming the config file,
        the zone's C{file} key, the zone file and why.
    """
    for zone in config.zones:
        if zone.file is None:
            continue
        try:
            with open(zone.file, "rb"):
                pass
        except OSError as e:
            label = zone.name.to_text(omit_final_dot=True) or "."
            raise ConfigError(config.source, f'zone "{label}".file', f"{zone.file}: cannot read: {e.strerror}") from None
