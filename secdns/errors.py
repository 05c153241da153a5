"""
The exceptions secdns raises.

Errors found here (a bad config, a zone file that does not parse) are kept
apart from errors a peer reported to us, so that an operator can tell
"our clock is wrong" from "their clock is wrong".
"""

from __future__ import annotations

__all__ = ["SecdnsError", "ConfigError", "ZoneLoadError", "PeerError"]


class SecdnsError(Exception):
    """Base class of every error secdns raises on purpose."""


class ConfigError(SecdnsError):
    """The config file is invalid; says which file, which key and what is wrong."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(source, key, problem)
        self.source = source
        self.key = key
        self.problem = problem

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        return f"{where}: {self.problem}"


class ZoneLoadError(SecdnsError):
    """A zone file could not be read or holds an invalid zone."""

    def __init__(self, zone: str, path: str, problem: str) -> None:
        super().__init__(zone, path, problem)
        self.zone = zone
        self.path = path
        self.problem = problem

    def __str__(self) -> str:
        return f"zone {self.zone}: {self.path}: {self.problem}"


class PeerError(SecdnsError):
    """A peer (primary, secondary or client) answered with an error."""
