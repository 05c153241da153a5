# -*- test-case-name: tests.unit.test_cli -*-
"""
Where the CLI finds the API and its token: flags, then the environment,
then a small config file, then the defaults.

The config file (C{~/.config/secdns/cli.toml}, or C{--config-file} /
C{SECDNS_CLI_CONFIG}) is TOML with optional top-level keys::

    endpoint = "https://dns1.example.net:8053"
    token_file = "~/.config/secdns/token"     # or: token = "..."
    ca_file = "/etc/secdns/ca.pem"            # or: insecure = true
    output = "table"                           # the default output format
    timeout = 30

L{resolve} is pure: it is given the flags, the environment and a way to
read files.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

__all__ = ["Settings", "SettingsError", "API_VERSION", "DEFAULT_ENDPOINT", "DEFAULT_CONFIG", "resolve", "api_base"]

API_VERSION = "20180115"
DEFAULT_ENDPOINT = "http://127.0.0.1:8053"
DEFAULT_CONFIG = "~/.config/secdns/cli.toml"
CONFIG_KEYS = {"endpoint": str, "token": str, "token_file": str, "ca_file": str, "insecure": bool, "output": str, "timeout": (int, float)}


class SettingsError(ValueError):
    """A bad flag value, environment variable or config file: a usage error."""


@dataclass(frozen=True)
class Settings:
    """
    How to reach the API.

    @ivar base: the API's base URL, ending in C{/20180115}.
    @ivar token: the bearer token, or L{None} (loopback API without tokens).
    @ivar ca_file: CA certificates to check an HTTPS server's certificate with.
    @ivar insecure: do not check the server's certificate at all.
    @ivar output: C{json} or C{table}, or L{None} for each command's default.
    """

    base: str
    token: str | None = None
    ca_file: str | None = None
    insecure: bool = False
    output: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:  # never the token
        return f"Settings(base={self.base!r}, token={'...' if self.token else None}, ca_file={self.ca_file!r})"


def api_base(endpoint: str) -> str:
    """
    The API's base URL from an endpoint as a user writes it:
    C{127.0.0.1:8053}, C{http://host:8053}, C{https://host:8053/20180115/}.
    """
    text = endpoint.strip()
    if not text:
        raise SettingsError("the endpoint is empty")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise SettingsError(f"endpoint {endpoint!r}: use http:// or https://")
    if not parts.hostname:
        raise SettingsError(f"endpoint {endpoint!r}: no host")
    try:
        parts.port
    except ValueError:
        raise SettingsError(f"endpoint {endpoint!r}: bad port") from None
    path = parts.path.rstrip("/")
    if not path.endswith("/" + API_VERSION):
        path = f"{path}/{API_VERSION}"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _read_token(path: str, read: Callable[[str], str], what: str) -> str:
    try:
        text = read(os.path.expanduser(path))
    except OSError as e:
        raise SettingsError(f"{what} {path}: {e.strerror or e}") from None
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1 or len(lines[0].split()) != 1:
        raise SettingsError(f"{what} {path}: expected the token alone on one line")
    return lines[0]


def _config_file(path: str, explicit: bool, read: Callable[[str], str]) -> dict:
    full = os.path.expanduser(path)
    try:
        text = read(full)
    except FileNotFoundError:
        if explicit:
            raise SettingsError(f"config file {path}: not found") from None
        return {}
    except OSError as e:
        raise SettingsError(f"config file {path}: {e.strerror or e}") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"config file {path}: {e}") from None
    for key, value in table.items():
        kind = CONFIG_KEYS.get(key)
        if kind is None:
            raise SettingsError(f"config file {path}: unknown key {key!r} (known: {', '.join(CONFIG_KEYS)})")
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise SettingsError(f"config file {path}: {key} has the wrong type")
    base = os.path.dirname(full)
    for key in ("token_file", "ca_file"):
        if key in table:
            table[key] = os.path.join(base, os.path.expanduser(table[key]))
    return table


def resolve(
    *,
    endpoint: str | None = None,
    token: str | None = None,
    token_file: str | None = None,
    ca_file: str | None = None,
    insecure: bool = False,
    output: str | None = None,
    timeout: float | None = None,
    config_file: str | None = None,
    environ: Mapping[str, str] = os.environ,
    read: Callable[[str], str] | None = None,
) -> Settings:
    """
    The settings from the flags given (L{None}: not given), else the
    environment (C{SECDNS_ENDPOINT}, C{SECDNS_TOKEN}, C{SECDNS_TOKEN_FILE},
    C{SECDNS_CA_FILE}, C{SECDNS_CLI_CONFIG}), else the config file.

    @raise SettingsError: a bad value, or a file that cannot be read.
    """
    read = read or _read_file
    explicit = config_file is not None or "SECDNS_CLI_CONFIG" in environ
    path = config_file or environ.get("SECDNS_CLI_CONFIG") or DEFAULT_CONFIG
    conf = _config_file(path, explicit, read)

    chosen_endpoint = endpoint or environ.get("SECDNS_ENDPOINT") or conf.get("endpoint") or DEFAULT_ENDPOINT

    # The first source that gives a token wins, whether as text or as a file.
    chosen_token = None
    for text, file, what in (
        (token, token_file, "token file"),
        (environ.get("SECDNS_TOKEN"), environ.get("SECDNS_TOKEN_FILE"), "token file (SECDNS_TOKEN_FILE)"),
        (conf.get("token"), conf.get("token_file"), f"token file (from {path})"),
    ):
        if text:
            chosen_token = text.strip()
            break
        if file:
            chosen_token = _read_token(file, read, what)
            break

    chosen_output = output or conf.get("output")
    if chosen_output not in (None, "json", "table"):
        raise SettingsError(f"output {chosen_output!r}: use json or table")
    chosen_timeout = float(timeout if timeout is not None else conf.get("timeout", 30.0))
    if chosen_timeout <= 0:
        raise SettingsError("timeout must be positive")
    return Settings(
        base=api_base(chosen_endpoint),
        token=chosen_token,
        ca_file=ca_file or environ.get("SECDNS_CA_FILE") or conf.get("ca_file"),
        insecure=bool(insecure or conf.get("insecure", False)),
        output=chosen_output,
        timeout=chosen_timeout,
    )


def _read_file(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read(1 << 20)
