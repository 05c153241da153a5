# -*- test-case-name: tests.unit.test_config -*-
"""
The config file: TOML text in, frozen values out.

L{parse} is pure (text in, L{Config} out, or L{ConfigError} naming the key
and the problem); L{load} reads the file and the files it names.  The
C{[[alarm]]}, C{[[topic]]} and C{[smtp]} tables are values of
L{secdns.alarms.model} (see docs/alarms.rst).  Paths in
the file are relative to the file's own directory.  L{diff} says which zones
a reload adds, removes or changes, so that unchanged zones keep their data.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import tomllib
from typing import Any, Callable, Iterable, Iterator

import attrs
import dns.exception
import dns.name
import dns.tsig

from secdns import keyfile
from secdns.alarms import defaults as alarm_defaults
from secdns.alarms.check import NAME as ALARM_NAME, alarm_problems, topic_problems, zone_pattern
from secdns.alarms.model import Alarm, SmtpConfig, Subscription, Topic
from secdns.alarms.query import QueryError, duration as parse_duration, parse as parse_query
from secdns.errors import ConfigError

__all__ = [
    "Config",
    "ServerConfig",
    "TimersConfig",
    "TransferConfig",
    "HttpConfig",
    "ManholeConfig",
    "TsigKeyConfig",
    "PeerConfig",
    "TransferAllow",
    "ZoneConfig",
    "Endpoint",
    "ConfigDiff",
    "PRIMARY",
    "SECONDARY",
    "TSIG_ALGORITHMS",
    "parse",
    "load",
    "diff",
]

PRIMARY = "primary"
SECONDARY = "secondary"
SERIAL_POLICIES = ("keep", "increment", "unixtime")

#: Config names of TSIG algorithms, mapped to their names on the wire.
TSIG_ALGORITHMS: dict[str, dns.name.Name] = {
    "hmac-md5": dns.tsig.HMAC_MD5,
    "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}


@attrs.frozen
class Endpoint:
    """An IP address and port to listen on or talk to."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@attrs.frozen
class ServerConfig:
    """
    The C{[server]} table.

    @ivar listen: where DNS is answered, over UDP and TCP.
    @ivar state_dir: absolute path of the embedded store.
    @ivar transfer_source: source address for SOA queries, transfers and NOTIFY.
    @ivar max_udp_size: the largest UDP response sent, whatever EDNS asks (BIND's default).
    @ivar tcp_idle_timeout: seconds an idle TCP connection is kept (RFC 7766).
    @ivar transfers_out: zone transfers served at once; more are refused.
    @ivar tcp_clients: TCP connections open at once; a new one past it
        closes the one idle the longest.
    @ivar tcp_clients_per_address: TCP connections open at once from one
        address; one more is closed at once.
    @ivar journal_entries: changesets kept per primary zone (older ones are merged).
    @ivar journal_bytes: octets of changesets kept per primary zone (older ones are dropped).
    @ivar workers: processes answering UDP queries on each C{listen} address
        (this one and C{workers - 1} more: L{secdns.server.workers});
        C{"auto"} in the file is the number of cores this process may use.
    """

    listen: tuple[Endpoint, ...] = (Endpoint("127.0.0.1", 5300),)
    state_dir: str = "var"
    transfer_source: str | None = None
    max_udp_size: int = 1232
    tcp_idle_timeout: float = 30.0
    transfers_out: int = 10
    tcp_clients: int = 1000
    tcp_clients_per_address: int = 100
    journal_entries: int = 100
    journal_bytes: int = 64 * 2**20
    workers: int = 1


#: What a rate-limited query with a client cookie gets (L{secdns.server.rrl}).
COOKIE_POLICIES = ("slip", "badcookie")


@attrs.frozen
class RateLimitConfig:
    """
    The C{[rate_limit]} table: response rate limiting over UDP
    (L{secdns.server.rrl}), off while C{responses_per_second} is 0.

    @ivar responses_per_second: identical responses one network gets a second.
    @ivar window: seconds of debt a bucket may run up.
    @ivar slip: every slip-th limited response is sent truncated (0: none).
    @ivar ipv4_prefix: the length of the IPv4 networks counted together.
    @ivar ipv6_prefix: the length of the IPv6 networks counted together.
    @ivar cookie_policy: what a limited query with a client cookie gets:
        C{"slip"}, BADCOOKIE on its slip turn (as BIND), or C{"badcookie"},
        BADCOOKIE each time (L{secdns.server.rrl}).
    """

    responses_per_second: int = 0
    window: int = 15
    slip: int = 2
    ipv4_prefix: int = 24
    ipv6_prefix: int = 56
    cookie_policy: str = "slip"


@attrs.frozen
class CookieConfig:
    """
    The C{[cookies]} table: DNS Cookies (RFC 7873, RFC 9018;
    L{secdns.server.cookies}).

    @ivar enabled: answer a client cookie with a server cookie.
    @ivar secrets: 16-octet keys from C{secret_file}, the first making
        cookies; empty: a random one, new at each start.
    @ivar secret_file: where the secrets came from, for messages.
    """

    enabled: bool = True
    secrets: tuple[bytes, ...] = attrs.field(default=(), repr=False)
    secret_file: str | None = None


@attrs.frozen
class TimersConfig:
    """The C{[timers]} table: clamps, in seconds, on the SOA refresh, retry and expire."""

    min_refresh: int = 300
    max_refresh: int = 2419200
    min_retry: int = 60
    max_retry: int = 1209600
    min_expire: int = 3600
    max_expire: int = 14515200


@attrs.frozen
class TransferConfig:
    """
    The C{[transfer]} table: timeouts (seconds) and limits of the transfers
    a secondary zone pulls from its masters.  Each timeout bounds one step,
    so a master that stops answering costs at most that long before the
    next master is tried.

    @ivar soa_timeout: one SOA query (over UDP, and TCP when truncated).
    @ivar connect_timeout: one TCP connection to a master.
    @ivar message_timeout: the wait for each message of a transfer.
    @ivar transfer_timeout: a whole transfer (BIND's max-transfer-time-in).
    @ivar max_records: records a transfer may carry, and a zone may hold.
    @ivar max_bytes: octets of DNS messages a transfer may carry.
    @ivar max_file_bytes: octets a primary zone's file, with the files it
        includes, may hold (a huge or endless file is refused as it is read).
    """

    soa_timeout: float = 5.0
    connect_timeout: float = 10.0
    message_timeout: float = 30.0
    transfer_timeout: float = 7200.0
    max_records: int = 10_000_000
    max_bytes: int = 2**30
    max_file_bytes: int = 2**30


@attrs.frozen
class HttpConfig:
    """
    The C{[http]} table: REST API, C{/metrics} and web console.

    @ivar token_file: absolute path of the API's bearer tokens (one
        C{name token} a line); L{None}: the API answers loopback clients only.
    @ivar certificate: absolute path of a PEM certificate (chain): HTTPS.
    @ivar private_key: absolute path of its PEM private key.
    """

    listen: Endpoint | None = None
    token_file: str | None = None
    certificate: str | None = None
    private_key: str | None = None


@attrs.frozen
class ManholeConfig:
    """
    The C{[manhole]} table: an SSH console into the running process
    (L{secdns.ops.manhole}); there is none without the table.

    @ivar listen: where SSH is answered; loopback unless C{allow_remote}.
    @ivar authorized_keys: absolute path of the OpenSSH C{authorized_keys}
        file whose public keys may log in (read again at each login).
    @ivar host_key: absolute path of the server's private host key, made
        (0600) at first start when missing.
    @ivar allow_remote: whether C{listen} may be an address other than loopback.
    """

    authorized_keys: str
    host_key: str
    listen: Endpoint = Endpoint("127.0.0.1", 8022)
    allow_remote: bool = False


@attrs.frozen
class TsigKeyConfig:
    """A C{[[tsig_key]]}.  The secret is left out of C{repr} so it never reaches a log."""

    name: dns.name.Name
    algorithm: str = "hmac-sha256"
    secret: bytes = attrs.field(default=b"", repr=False)

    @property
    def algorithm_name(self) -> dns.name.Name:
        """The algorithm's name as it goes on the wire."""
        return TSIG_ALGORITHMS[self.algorithm]


@attrs.frozen
class PeerConfig:
    """An external master or downstream: address, port and the name of its TSIG key."""

    address: str
    port: int = 53
    tsig_key: dns.name.Name | None = None


@attrs.frozen
class TransferAllow:
    """
    An C{allow_transfer} entry: who else may transfer a zone (never notified).

    @ivar address: one address (C{192.0.2.9}) or a network (C{192.0.2.0/24}),
        in its normal form.
    @ivar tsig_key: the key its transfers must be signed with, if any.
    """

    address: str
    tsig_key: dns.name.Name | None = None


@attrs.frozen
class ZoneConfig:
    """
    A C{[[zone]]}.

    @ivar file: absolute path of the zone file (primary zones).  A primary
        zone without one is I{dynamic}: its records live in the store,
        start as a default SOA and NS, and change through the API and DNS
        UPDATE (L{secdns.zones.edit}).
    @ivar external_masters: where a secondary zone is transferred from.
    @ivar external_downstreams: who may transfer the zone, and is notified.
    @ivar allow_transfer: who else may transfer the zone (and is not
        notified): a debugging host's C{dig AXFR}, say.
    @ivar serial_policy: what a reload does with a zone file that changed
        but whose serial did not grow: C{keep} refuses it (as BIND does),
        C{increment} serves it with the old serial plus one, C{unixtime}
        with the current time as serial (or the old plus one, if greater).
    @ivar allow_update: the TSIG keys whose DNS UPDATEs a dynamic zone takes.
    @ivar include_dirs: directories (absolute) besides the zone file's own
        whose files its C{$INCLUDE}s may read.
    """

    name: dns.name.Name
    type: str
    file: str | None = None
    external_masters: tuple[PeerConfig, ...] = ()
    external_downstreams: tuple[PeerConfig, ...] = ()
    serial_policy: str = "keep"
    allow_update: tuple[dns.name.Name, ...] = ()
    allow_transfer: tuple[TransferAllow, ...] = ()
    include_dirs: tuple[str, ...] = ()

    @property
    def dynamic(self) -> bool:
        """A primary zone whose records live in the store, not in a file."""
        return self.type == PRIMARY and self.file is None


@attrs.frozen
class Config:
    """The whole config file, with the path it came from."""

    source: str = "<config>"
    server: ServerConfig = ServerConfig()
    timers: TimersConfig = TimersConfig()
    transfer: TransferConfig = TransferConfig()
    http: HttpConfig = HttpConfig()
    tsig_keys: tuple[TsigKeyConfig, ...] = ()
    zones: tuple[ZoneConfig, ...] = ()
    alarms: tuple[Alarm, ...] = ()
    topics: tuple[Topic, ...] = ()
    smtp: SmtpConfig = SmtpConfig()
    manhole: ManholeConfig | None = None
    rate_limit: RateLimitConfig = RateLimitConfig()
    cookies: CookieConfig = CookieConfig()

    def zone(self, name: dns.name.Name) -> ZoneConfig | None:
        """The zone of that name, or L{None}."""
        for zone in self.zones:
            if zone.name == name:
                return zone
        return None


@attrs.frozen
class ConfigDiff:
    """What a reload changes: names of zones added, removed, changed and kept as they were."""

    added: tuple[dns.name.Name, ...]
    removed: tuple[dns.name.Name, ...]
    changed: tuple[dns.name.Name, ...]
    unchanged: tuple[dns.name.Name, ...]


def diff(old: Config, new: Config) -> ConfigDiff:
    """Compare the zones of two configs by name."""
    before = {zone.name: zone for zone in old.zones}
    after = {zone.name: zone for zone in new.zones}
    return ConfigDiff(
        added=tuple(name for name in after if name not in before),
        removed=tuple(name for name in before if name not in after),
        changed=tuple(name for name in after if name in before and after[name] != before[name]),
        unchanged=tuple(name for name in after if name in before and after[name] == before[name]),
    )


def load(path: str) -> Config:
    """Read and parse the config file at C{path}."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(path, "", f"cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(path, "", f"not UTF-8 text (byte {e.start})") from None
    return parse(text, source=path, base_dir=os.path.dirname(os.path.abspath(path)))


def _read_secret_file(path: str) -> str:
    with open(path, encoding="ascii") as f:
        return f.read()


def parse(
    text: str,
    source: str = "<config>",
    base_dir: str = ".",
    read_text: Callable[[str], str] = _read_secret_file,
) -> Config:
    """
    Parse config text.

    @param source: the file name, for error messages.
    @param base_dir: the directory relative paths are taken from.
    @param read_text: reads a C{secret_file}; the only I/O, injected.
    @raise ConfigError: naming C{source}, the key and the problem.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, "", f"not valid TOML: {e}") from None
    return _Parser(source, base_dir, read_text).config(document)


_TOP_KEYS = ("server", "timers", "transfer", "http", "tsig_key", "zone", "alarm", "topic", "smtp", "manhole", "rate_limit", "cookies")


@attrs.define
class _Parser:
    """Walks the TOML document, checking each key against the schema."""

    source: str
    base_dir: str
    read_text: Callable[[str], str]

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, key, problem)

    def config(self, document: dict[str, Any]) -> Config:
        self.reject_unknown("", document, _TOP_KEYS)
        server = self.server(self.table(document, "server"))
        timers = self.timers(self.table(document, "timers"))
        transfer = self.transfer(self.table(document, "transfer"))
        http = self.http(self.table(document, "http"))
        keys = tuple(
            self.tsig_key(f"tsig_key[{i}]", table)
            for i, table in enumerate(self.array_of_tables(document, "tsig_key"))
        )
        self.check_unique("tsig_key", "key", [key.name for key in keys])
        key_names = {key.name for key in keys}
        zones = tuple(
            self.zone(f"zone[{i}]", table, key_names)
            for i, table in enumerate(self.array_of_tables(document, "zone"))
        )
        self.check_unique("zone", "zone", [zone.name for zone in zones])
        smtp = self.smtp(self.table(document, "smtp"))
        topics = tuple(
            self.topic(f"topic[{i}]", table) for i, table in enumerate(self.array_of_tables(document, "topic"))
        )
        self.check_unique_names("topic", [topic.name for topic in topics])
        topic_names = {topic.name for topic in topics} | {topic.name for topic in alarm_defaults.TOPICS}
        alarms = tuple(
            self.alarm(f"alarm[{i}]", table, topic_names)
            for i, table in enumerate(self.array_of_tables(document, "alarm"))
        )
        self.check_unique_names("alarm", [alarm.name for alarm in alarms])
        manhole = None if "manhole" not in document else self.manhole(self.table(document, "manhole"), server)
        return Config(
            source=self.source,
            server=server,
            timers=timers,
            transfer=transfer,
            http=http,
            tsig_keys=keys,
            zones=zones,
            alarms=alarms,
            topics=topics,
            smtp=smtp,
            manhole=manhole,
            rate_limit=self.rate_limit(self.table(document, "rate_limit")),
            cookies=self.cookies(self.table(document, "cookies")),
        )

    def rate_limit(self, table: dict[str, Any]) -> RateLimitConfig:
        fields = {f.name: f.default for f in attrs.fields(RateLimitConfig)}
        self.reject_unknown("rate_limit", table, fields)
        bounds = {"responses_per_second": (0, 1_000_000), "window": (1, 3600), "slip": (0, 10),
                  "ipv4_prefix": (8, 32), "ipv6_prefix": (16, 128)}
        values = {}
        policy = self.get(table, "rate_limit", "cookie_policy", str, fields.pop("cookie_policy"))
        if policy not in COOKIE_POLICIES:
            raise self.error("rate_limit.cookie_policy", f'must be one of {", ".join(COOKIE_POLICIES)}, not "{policy}"')
        values["cookie_policy"] = policy
        for name, default in fields.items():
            value = self.get(table, "rate_limit", name, int, default)
            low, high = bounds[name]
            if not low <= value <= high:
                raise self.error(f"rate_limit.{name}", f"must be between {low} and {high}, not {value}")
            values[name] = value
        return RateLimitConfig(**values)

    def cookies(self, table: dict[str, Any]) -> CookieConfig:
        self.reject_unknown("cookies", table, ("enabled", "secret_file"))
        enabled = self.get(table, "cookies", "enabled", bool, True)
        given = self.get(table, "cookies", "secret_file", str, None)
        if given is None:
            return CookieConfig(enabled)
        path = self.path(given)
        try:
            text = self.read_text(path)
        except OSError as e:
            raise self.error("cookies.secret_file", f"cannot read {path}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise self.error("cookies.secret_file", f"{path} is not ASCII text") from None
        secrets = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                secret = bytes.fromhex(line)
            except ValueError:
                secret = b""
            if len(secret) != 16:
                # The line is a secret: never quoted.
                raise self.error("cookies.secret_file", f"{path} line {number}: expected 32 hexadecimal digits (a 128-bit secret)")
            secrets.append(secret)
        if not secrets:
            raise self.error("cookies.secret_file", f"{path} holds no secret (32 hexadecimal digits a line)")
        return CookieConfig(enabled, tuple(secrets), path)

    # -- tables

    def server(self, table: dict[str, Any]) -> ServerConfig:
        defaults = ServerConfig()
        self.reject_unknown("server", table, [f.name for f in attrs.fields(ServerConfig)])
        listen = self.get(table, "server", "listen", list, None)
        if listen is None:
            endpoints = defaults.listen
        else:
            if not listen:
                raise self.error("server.listen", "needs at least one address")
            endpoints = tuple(
                self.endpoint(f"server.listen[{i}]", value) for i, value in enumerate(listen)
            )
            for i, endpoint in enumerate(endpoints):
                if endpoint in endpoints[:i]:
                    raise self.error(f"server.listen[{i}]", f"{endpoint} is listed twice")
        transfer_source = self.get(table, "server", "transfer_source", str, None)
        if transfer_source is not None:
            self.address("server.transfer_source", transfer_source)
        max_udp_size = self.get(table, "server", "max_udp_size", int, defaults.max_udp_size)
        if not 512 <= max_udp_size <= 65535:
            raise self.error("server.max_udp_size", f"must be between 512 and 65535, not {max_udp_size}")
        idle = self.get(table, "server", "tcp_idle_timeout", (int, float), defaults.tcp_idle_timeout)
        if idle <= 0:
            raise self.error("server.tcp_idle_timeout", f"must be more than 0 seconds, not {idle}")
        counts = {}
        workers = table.get("workers")
        if workers == "auto":
            table = {**table, "workers": usable_cores()}
        elif isinstance(workers, str):
            raise self.error("server.workers", f'expected an integer or "auto", got {_describe(workers)}')
        for key in ("transfers_out", "tcp_clients", "tcp_clients_per_address", "journal_entries", "journal_bytes", "workers"):
            counts[key] = self.get(table, "server", key, int, getattr(defaults, key))
            if counts[key] < 1:
                raise self.error(f"server.{key}", f"must be at least 1, not {counts[key]}")
        return ServerConfig(
            listen=endpoints,
            state_dir=self.path(self.get(table, "server", "state_dir", str, defaults.state_dir)),
            transfer_source=transfer_source,
            max_udp_size=max_udp_size,
            tcp_idle_timeout=float(idle),
            **counts,
        )

    def timers(self, table: dict[str, Any]) -> TimersConfig:
        fields = {f.name: f.default for f in attrs.fields(TimersConfig)}
        self.reject_unknown("timers", table, fields)
        values = {}
        for name, default in fields.items():
            value = self.get(table, "timers", name, int, default)
            if value < 0:
                raise self.error(f"timers.{name}", f"must not be negative, not {value}")
            values[name] = value
        for kind in ("refresh", "retry", "expire"):
            low, high = values[f"min_{kind}"], values[f"max_{kind}"]
            if low > high:
                raise self.error(
                    f"timers.min_{kind}", f"{low} is greater than timers.max_{kind} ({high})"
                )
        return TimersConfig(**values)

    def transfer(self, table: dict[str, Any]) -> TransferConfig:
        fields = {f.name: f.default for f in attrs.fields(TransferConfig)}
        self.reject_unknown("transfer", table, fields)
        values = {}
        for name, default in fields.items():
            if isinstance(default, int):
                value = self.get(table, "transfer", name, int, default)
            else:
                value = float(self.get(table, "transfer", name, (int, float), default))
            if value <= 0:
                raise self.error(f"transfer.{name}", f"must be more than 0, not {value:g}")
            values[name] = value
        return TransferConfig(**values)

    def http(self, table: dict[str, Any]) -> HttpConfig:
        self.reject_unknown("http", table, ("listen", "token_file", "certificate", "private_key"))
        listen = self.get(table, "http", "listen", str, None)
        paths = {}
        for key in ("token_file", "certificate", "private_key"):
            value = self.get(table, "http", key, str, None)
            paths[key] = None if value is None else self.path(value)
        if (paths["certificate"] is None) != (paths["private_key"] is None):
            raise self.error("http", "certificate and private_key go together (HTTPS needs both)")
        return HttpConfig(listen=None if listen is None else self.endpoint("http.listen", listen), **paths)

    def manhole(self, table: dict[str, Any], server: ServerConfig) -> ManholeConfig:
        self.reject_unknown("manhole", table, ("listen", "authorized_keys", "host_key", "allow_remote"))
        listen = self.get(table, "manhole", "listen", str, None)
        endpoint = Endpoint("127.0.0.1", 8022) if listen is None else self.endpoint("manhole.listen", listen)
        allow_remote = self.get(table, "manhole", "allow_remote", bool, False)
        if not allow_remote and not ipaddress.ip_address(endpoint.host).is_loopback:
            raise self.error(
                "manhole.listen",
                f"{endpoint} is not a loopback address: the manhole is a root-equivalent door "
                "(keep it on 127.0.0.1 and reach it over an SSH tunnel, or set allow_remote = true)",
            )
        authorized_keys = self.require(table, "manhole", "authorized_keys", str)
        if not authorized_keys.strip():
            raise self.error("manhole.authorized_keys", "is empty: name the file of public keys that may log in")
        host_key = self.get(table, "manhole", "host_key", str, None)
        return ManholeConfig(
            listen=endpoint,
            authorized_keys=self.path(authorized_keys),
            host_key=os.path.join(server.state_dir, "manhole_host_key") if host_key is None else self.path(host_key),
            allow_remote=allow_remote,
        )

    def tsig_key(self, key: str, table: dict[str, Any]) -> TsigKeyConfig:
        name = self.domain_name(f"{key}.name", self.require(table, key, "name", str))
        key = f'tsig_key "{_label(name)}"'
        self.reject_unknown(key, table, ("name", "algorithm", "secret", "secret_file"))
        given = self.get(table, key, "algorithm", str, None)
        algorithm = "hmac-sha256" if given is None else given.lower()
        if algorithm not in TSIG_ALGORITHMS:
            raise self.error(
                f"{key}.algorithm",
                f'unknown algorithm "{algorithm}" (use one of {", ".join(TSIG_ALGORITHMS)})',
            )
        secret_text = self.get(table, key, "secret", str, None)
        secret_file = self.get(table, key, "secret_file", str, None)
        if secret_text is None and secret_file is None:
            raise self.error(key, "needs a secret (or a secret_file)")
        if secret_text is not None and secret_file is not None:
            raise self.error(key, "has both secret and secret_file; keep one")
        if secret_file is not None:
            entry = self.key_file(f"{key}.secret_file", self.path(secret_file), name, given)
            return TsigKeyConfig(name=name, algorithm=entry.algorithm, secret=base64.b64decode(entry.secret))
        try:
            # The secret itself never goes into a message.
            secret = base64.b64decode(secret_text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise self.error(f"{key}.secret", "is not valid base64") from None
        if not secret:
            raise self.error(f"{key}.secret", "is not a secret: it is empty")
        return TsigKeyConfig(name=name, algorithm=algorithm, secret=secret)

    def key_file(self, key: str, path: str, name: dns.name.Name, algorithm: str | None) -> keyfile.KeyEntry:
        """
        The key of that name in a key file as BIND's C{tsig-keygen}, Knot's
        C{keymgr -t} or C{base64} write it (L{secdns.keyfile}); the file's
        algorithm when the config gives none.
        """
        try:
            text = self.read_text(path)
        except OSError as e:
            raise self.error(key, f"cannot read {path}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise self.error(key, f"{path} is not ASCII text") from None
        try:
            return keyfile.choose(keyfile.parse(text, path), _label(name), algorithm, path)
        except keyfile.KeyFileError as e:
            raise self.error(key, str(e)) from None

    def zone(self, key: str, table: dict[str, Any], key_names: set[dns.name.Name]) -> ZoneConfig:
        name = self.domain_name(f"{key}.name", self.require(table, key, "name", str))
        key = f'zone "{_label(name)}"'
        allowed = (
            "name", "type", "file", "external_masters", "external_downstreams", "serial_policy", "allow_update",
            "allow_transfer", "include_dirs",
        )
        self.reject_unknown(key, table, allowed)
        kind = self.require(table, key, "type", str).lower()
        if kind not in (PRIMARY, SECONDARY):
            raise self.error(f"{key}.type", f'must be "primary" or "secondary", not "{kind}"')
        file = self.get(table, key, "file", str, None)
        masters = self.peers(f"{key}.external_masters", table.get("external_masters", []), key_names)
        downstreams = self.peers(
            f"{key}.external_downstreams", table.get("external_downstreams", []), key_names
        )
        allow_transfer = self.transfer_acl(f"{key}.allow_transfer", table.get("allow_transfer", []), key_names)
        if kind == SECONDARY:
            if not masters:
                raise self.error(f"{key}.external_masters", "is required for a secondary zone")
            if file is not None:
                raise self.error(f"{key}.file", "is for primary zones; a secondary zone's data comes from its external_masters")
        allow_update = self.key_names(f"{key}.allow_update", table.get("allow_update", []), key_names)
        if allow_update and (kind == SECONDARY or file is not None):
            raise self.error(
                f"{key}.allow_update",
                "is for primary zones without a file, whose records live in the store (DNS UPDATE would not reach the file)",
            )
        if kind == PRIMARY:
            if file is None and not allow_update:
                raise self.error(f"{key}.file", "is required for a primary zone")
            if masters:
                raise self.error(f"{key}.external_masters", "is for secondary zones; a primary zone's data comes from its file")
        include_dirs = self.get(table, key, "include_dirs", list, [])
        if not all(isinstance(d, str) and d for d in include_dirs):
            raise self.error(f"{key}.include_dirs", f'expected a list of directories such as ["common"], got {_describe(include_dirs)}')
        if include_dirs and file is None:
            raise self.error(f"{key}.include_dirs", "is for zones read from a file")
        policy = self.get(table, key, "serial_policy", str, "keep")
        if policy not in SERIAL_POLICIES:
            raise self.error(f"{key}.serial_policy", f'must be one of {", ".join(SERIAL_POLICIES)}, not "{policy}"')
        if policy != "keep" and kind == SECONDARY:
            raise self.error(f"{key}.serial_policy", "is for primary zones; a secondary zone's serial is its master's")
        return ZoneConfig(
            name=name,
            type=kind,
            file=None if file is None else self.path(file),
            external_masters=masters,
            external_downstreams=downstreams,
            serial_policy=policy,
            allow_update=allow_update,
            allow_transfer=allow_transfer,
            include_dirs=tuple(self.path(d) for d in include_dirs),
        )

    # -- alarms, topics, the SMTP relay (secdns.alarms)

    def smtp(self, table: dict[str, Any]) -> SmtpConfig:
        defaults = SmtpConfig()
        allowed = ("host", "port", "starttls", "username", "password", "password_file", "from", "timeout", "ca_file")
        self.reject_unknown("smtp", table, allowed)
        host = self.get(table, "smtp", "host", str, defaults.host).strip()
        if not host:
            raise self.error("smtp.host", "must name the relay (a host name or an address)")
        port = self.get(table, "smtp", "port", int, defaults.port)
        if not 1 <= port <= 65535:
            raise self.error("smtp.port", f"must be between 1 and 65535, not {port}")
        starttls = self.get(table, "smtp", "starttls", str, defaults.starttls).lower()
        if starttls not in ("required", "optional", "never"):
            raise self.error("smtp.starttls", f'must be "required", "optional" or "never", not "{starttls}"')
        username = self.get(table, "smtp", "username", str, None)
        password = self.secret_text("smtp", table, "password", "password_file", required=False)
        if (username is None) != (password is None):
            raise self.error("smtp", "username and password (or password_file) go together (SMTP login needs both)")
        sender = self.get(table, "smtp", "from", str, defaults.sender)
        if "@" not in sender or any(c in sender for c in " ,;<>"):
            raise self.error("smtp.from", f'not one email address such as secdns@example.com: "{sender}"')
        timeout = self.get(table, "smtp", "timeout", (int, float), defaults.timeout)
        if timeout <= 0:
            raise self.error("smtp.timeout", f"must be more than 0 seconds, not {timeout}")
        ca_file = self.get(table, "smtp", "ca_file", str, None)
        extra = {} if "ca_file" not in attrs.fields_dict(SmtpConfig) else {"ca_file": None if ca_file is None else self.path(ca_file)}
        return SmtpConfig(
            host=host, port=port, starttls=starttls, username=username,
            password=b"" if password is None else password.encode("utf-8"),
            sender=sender, timeout=float(timeout), **extra,
        )

    def secret_text(self, key: str, table: dict[str, Any], name: str, file_name: str, required: bool) -> str | None:
        """A secret given in the file (C{name}) or in a file of its own (C{file_name}); never echoed in an error."""
        text = self.get(table, key, name, str, None)
        path = self.get(table, key, file_name, str, None)
        if text is not None and path is not None:
            raise self.error(key, f"has both {name} and {file_name}; keep one")
        if path is not None:
            path = self.path(path)
            try:
                text = self.read_text(path)
            except OSError as e:
                raise self.error(f"{key}.{file_name}", f"cannot read {path}: {e.strerror}") from None
            except UnicodeDecodeError:
                raise self.error(f"{key}.{file_name}", f"{path} is not ASCII text") from None
            if not text.strip():
                raise self.error(f"{key}.{file_name}", f"{path} is empty")
            return text.strip()
        if text is None and required:
            raise self.error(key, f"needs a {name} (or a {file_name})")
        if text is not None and not text:
            raise self.error(f"{key}.{name}", "is empty")
        return text

    def topic(self, key: str, table: dict[str, Any]) -> Topic:
        name = self.require(table, key, "name", str)
        if not ALARM_NAME.match(name):
            raise self.error(f"{key}.name", f'"{name}" is not a topic name (letters, digits, _ . -, at most 63)')
        key = f'topic "{name}"'
        self.reject_unknown(key, table, ("name", "subscription", "stream_file", "description"))
        items = table.get("subscription", [])
        if isinstance(items, dict):
            raise self.error(f"{key}.subscription", "write [[topic.subscription]] (an array of tables), not [topic.subscription]")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise self.error(f"{key}.subscription", f"expected [[topic.subscription]] tables, got {_describe(items)}")
        subscriptions = []
        for i, item in enumerate(items):
            where = f"{key}.subscription[{i}]"
            self.reject_unknown(where, item, ("protocol", "endpoint", "secret", "secret_file"))
            protocol = self.require(item, where, "protocol", str).lower()
            endpoint = self.get(item, where, "endpoint", str, "").strip()
            if protocol == "stream" and endpoint:
                endpoint = self.path(endpoint)
            secret = self.secret_text(where, item, "secret", "secret_file", required=False)
            subscriptions.append(Subscription(protocol, endpoint, b"" if secret is None else secret.encode("utf-8")))
        stream_file = self.get(table, key, "stream_file", str, None)
        extra = {}
        if "description" in attrs.fields_dict(Topic):
            extra["description"] = self.get(table, key, "description", str, "")
        topic = Topic(
            name=name,
            subscriptions=tuple(subscriptions),
            stream_file=None if stream_file is None else self.path(stream_file),
            declared_in=self.source,
            **extra,
        )
        for field, problem in topic_problems(topic):
            raise self.error(f"{key}.{field.replace('subscriptions', 'subscription')}", problem)
        return topic

    _QUERY_FIELDS = ("metric", "zones", "statistic", "interval", "operator", "threshold")

    def alarm(self, key: str, table: dict[str, Any], topic_names: set[str]) -> Alarm:
        name = self.require(table, key, "name", str)
        if not ALARM_NAME.match(name):
            raise self.error(f"{key}.name", f'"{name}" is not an alarm name (letters, digits, _ . -, at most 63)')
        key = f'alarm "{name}"'
        allowed = (
            "name", "query", *self._QUERY_FIELDS, "pending", "severity", "topics", "repeat", "notify_on_clear",
            "enabled", "body", "steps",
        )
        self.reject_unknown(key, table, allowed)
        built_in = {alarm.name: alarm for alarm in alarm_defaults.ALARMS}.get(name)
        values: dict[str, Any] = {} if built_in is None else attrs.asdict(built_in, recurse=False)
        query = self.get(table, key, "query", str, None)
        if query is not None:
            both = [field for field in self._QUERY_FIELDS if field in table]
            if both:
                raise self.error(key, f"has both query and {', '.join(both)}; the query says them all")
            try:
                parsed = parse_query(query)
            except QueryError as e:
                raise self.error(f"{key}.query", str(e)) from None
            values.update(attrs.asdict(parsed))
            values["steps"] = ()
        else:
            if built_in is None:
                for field in ("metric",) if "steps" in table else ("metric", "operator", "threshold"):
                    if field not in table:
                        raise self.error(f"{key}.{field}", "is required (or write the rule as query = '...')")
            for field in ("metric", "statistic", "operator"):
                if field in table:
                    values[field] = self.get(table, key, field, str, None)
            if "zones" in table:
                values["zones"] = zone_pattern(self.get(table, key, "zones", str, "*"))
            if "threshold" in table:
                values["threshold"] = float(self.get(table, key, "threshold", (int, float), 0))
            if "interval" in table:
                values["interval"] = self.duration(table, key, "interval")
        for field in ("pending", "repeat"):
            if field in table:
                if field == "repeat" and table[field] in ("none", "never", 0):
                    values[field] = None
                else:
                    values[field] = self.duration(table, key, field)
        if "severity" in table:
            values["severity"] = self.get(table, key, "severity", str, "").upper()
        for field in ("notify_on_clear", "enabled"):
            if field in table:
                values[field] = self.get(table, key, field, bool, True)
        if "body" in table:
            values["body"] = self.get(table, key, "body", str, "")
        if "topics" in table:
            topics = self.get(table, key, "topics", list, [])
            for i, topic in enumerate(topics):
                if not isinstance(topic, str):
                    raise self.error(f"{key}.topics[{i}]", f"expected a topic name, got {_describe(topic)}")
                if topic not in topic_names:
                    raise self.error(f"{key}.topics[{i}]", f'no [[topic]] is named "{topic}"')
            values["topics"] = tuple(topics)
        if "steps" in table:
            steps = self.get(table, key, "steps", list, [])
            if not all(isinstance(step, (int, float)) and not isinstance(step, bool) for step in steps):
                raise self.error(f"{key}.steps", "expected a list of hours to expiry such as [72, 24, 6, 3, 2, 1, 0]")
            values["steps"] = tuple(float(step) for step in sorted(steps, reverse=True))
            if steps and "operator" not in table and "threshold" not in table:
                values["operator"], values["threshold"] = "<=", max(values["steps"])
        elif values.get("steps") and any(field in table for field in ("operator", "threshold", "query")):
            values["steps"] = ()
        values.update(name=name, declared_in=self.source)
        values.setdefault("topics", ())
        alarm = Alarm(**values)
        for field, problem in alarm_problems(alarm):
            raise self.error(f"{key}.{field}", problem)
        return alarm

    def duration(self, table: dict[str, Any], key: str, field: str) -> float:
        """A duration written as C{"5m"}, C{"1h"}, C{"1d"}, C{"30s"}, or a number of seconds."""
        value = table[field]
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except QueryError:
                raise self.error(f"{key}.{field}", f'expected a duration such as "30s", "5m", "1h" or "1d", got "{value}"') from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise self.error(f"{key}.{field}", f'expected a duration such as "5m" (or seconds), got {_describe(value)}')
        return float(value)

    def check_unique_names(self, array: str, names: list[str]) -> None:
        first: dict[str, int] = {}
        for i, name in enumerate(names):
            if name in first:
                raise self.error(f"{array}[{i}].name", f'{array} "{name}" is already defined by {array}[{first[name]}]')
            first[name] = i

    def key_names(self, key: str, value: Any, key_names: set[dns.name.Name]) -> tuple[dns.name.Name, ...]:
        """A list of names of declared TSIG keys."""
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(key, f'expected a list of TSIG key names such as ["update-key"], got {_describe(value)}')
        names = []
        for i, text in enumerate(value):
            name = self.domain_name(f"{key}[{i}]", text)
            if name not in key_names:
                raise self.error(f"{key}[{i}]", f'no [[tsig_key]] is named "{text}"')
            names.append(name)
        return tuple(names)

    def peers(self, key: str, value: Any, key_names: set[dns.name.Name]) -> tuple[PeerConfig, ...]:
        peers = []
        for where, item in self.entries(key, value, '{ address = "192.0.2.1" }', ("address", "port", "tsig_key")):
            address = self.address(f"{where}.address", self.require(item, where, "address", str))
            port = self.get(item, where, "port", int, 53)
            if not 1 <= port <= 65535:
                raise self.error(f"{where}.port", f"must be between 1 and 65535, not {port}")
            peers.append(PeerConfig(address=address, port=port, tsig_key=self.key_ref(where, item, key_names)))
        return tuple(peers)

    def transfer_acl(self, key: str, value: Any, key_names: set[dns.name.Name]) -> tuple[TransferAllow, ...]:
        """C{allow_transfer}: addresses or networks, each with an optional TSIG key."""
        entries = []
        for where, item in self.entries(key, value, '{ address = "192.0.2.0/24" }', ("address", "tsig_key")):
            address = self.network(f"{where}.address", self.require(item, where, "address", str))
            entries.append(TransferAllow(address=address, tsig_key=self.key_ref(where, item, key_names)))
        return tuple(entries)

    def entries(self, key: str, value: Any, example: str, allowed: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
        """The tables of a list such as C{external_masters}, each with where it is, its keys checked."""
        if not isinstance(value, list):
            raise self.error(key, f"expected a list of tables such as [{example}], got {_describe(value)}")
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            if not isinstance(item, dict):
                raise self.error(where, f"expected a table, got {_describe(item)}")
            self.reject_unknown(where, item, allowed)
            yield where, item

    def key_ref(self, where: str, item: dict[str, Any], key_names: set[dns.name.Name]) -> dns.name.Name | None:
        """An entry's optional C{tsig_key}, which must name a [[tsig_key]]."""
        tsig_key = self.get(item, where, "tsig_key", str, None)
        if tsig_key is None:
            return None
        key_name = self.domain_name(f"{where}.tsig_key", tsig_key)
        if key_name not in key_names:
            raise self.error(f"{where}.tsig_key", f'no [[tsig_key]] is named "{tsig_key}"')
        return key_name

    # -- values

    def table(self, document: dict[str, Any], name: str) -> dict[str, Any]:
        value = document.get(name, {})
        if not isinstance(value, dict):
            raise self.error(name, f"expected a [{name}] table, got {_describe(value)}")
        return value

    def array_of_tables(self, document: dict[str, Any], name: str) -> list[dict[str, Any]]:
        value = document.get(name, [])
        if isinstance(value, dict):
            raise self.error(name, f"write [[{name}]] (an array of tables), not [{name}]")
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(name, f"expected [[{name}]] tables, got {_describe(value)}")
        return value

    def reject_unknown(self, where: str, table: dict[str, Any], allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for key in table:
            if key not in allowed:
                raise self.error(
                    f"{where}.{key}" if where else key,
                    f"unknown key (expected one of: {', '.join(allowed)})",
                )

    def require(self, table: dict[str, Any], where: str, key: str, kind: type) -> Any:
        if key not in table:
            raise self.error(f"{where}.{key}", "is required")
        return self.get(table, where, key, kind, None)

    def get(self, table: dict[str, Any], where: str, key: str, kind: Any, default: Any) -> Any:
        if key not in table:
            return default
        value = table[key]
        if kind is bool:
            if not isinstance(value, bool):
                raise self.error(f"{where}.{key}", f"expected true or false, got {_describe(value)}")
            return value
        # bool is an int in Python but never a valid number here.
        if isinstance(value, bool) or not isinstance(value, kind):
            expected = _type_name_of(kind)
            raise self.error(f"{where}.{key}", f"expected {expected}, got {_describe(value)}")
        return value

    def domain_name(self, key: str, text: str) -> dns.name.Name:
        try:
            return dns.name.from_text(text)
        except dns.exception.DNSException as e:
            raise self.error(key, f'not a domain name: "{text}" ({e})') from None

    def address(self, key: str, text: str) -> str:
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise self.error(key, f'not an IP address: "{text}"') from None

    def network(self, key: str, text: str) -> str:
        """An address (C{192.0.2.9}) or a network (C{192.0.2.0/24}, C{2001:db8::/64}) in its normal form."""
        error = network_problem(text)
        if error is not None:
            raise self.error(key, error)
        return normal_network(text)

    def endpoint(self, key: str, text: Any) -> Endpoint:
        expected = 'expected "address:port", such as "127.0.0.1:53" or "[::1]:53"'
        if not isinstance(text, str):
            raise self.error(key, f"{expected}, got {_describe(text)}")
        host, sep, port = text.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        elif ":" in host:
            raise self.error(key, f'an IPv6 address goes in brackets: "[{host}]:{port}"')
        if not sep or not port.isdigit():
            raise self.error(key, f"{expected}, got {_describe(text)}")
        if not 1 <= int(port) <= 65535:
            raise self.error(key, f"port must be between 1 and 65535, not {port}")
        return Endpoint(self.address(key, host), int(port))

    def path(self, text: str) -> str:
        return os.path.normpath(os.path.join(self.base_dir, os.path.expanduser(text)))

    def check_unique(self, array: str, what: str, names: list[dns.name.Name]) -> None:
        first: dict[dns.name.Name, int] = {}
        for i, name in enumerate(names):
            if name in first:
                raise self.error(
                    f"{array}[{i}].name",
                    f'{what} "{_label(name)}" is already defined by {array}[{first[name]}]',
                )
            first[name] = i


def network_problem(text: str) -> str | None:
    """What is wrong with an address or network as C{allow_transfer} takes it (L{None}: nothing)."""
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return f'not an IP address or network: "{text}" (expected "192.0.2.9", "192.0.2.0/24" or "2001:db8::/64")'
    try:
        ipaddress.ip_network(text)
    except ValueError:
        return f'"{text}" has host bits set: write "{network}" (or one address, without a prefix length)'
    return None


def normal_network(text: str) -> str:
    """
    One address as itself (C{192.0.2.9}), a network in CIDR form
    (C{192.0.2.0/24}); IPv4-mapped IPv6 (C{::ffff:192.0.2.0/120}) as IPv4,
    since an IPv4 client seen on a dual-stack socket is matched as IPv4.
    """
    network = ipaddress.ip_network(text, strict=False)
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            network = ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def _label(name: dns.name.Name) -> str:
    """A name as operators write it: no trailing dot (except the root)."""
    return name.to_text(omit_final_dot=True) or "."


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "a table", bool: "true or false"}


def usable_cores() -> int:
    """The cores this process may run on (its affinity, as C{taskset} or a cgroup sets it): C{workers = "auto"}."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _describe(value: Any) -> str:
    """A TOML value as an operator would recognise it in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'the string "{value}"' if len(value) <= 60 else "a long string"
    if isinstance(value, (int, float)):
        return f"the {'integer' if isinstance(value, int) else 'number'} {value}"
    return _TYPE_NAMES.get(type(value), f"a {type(value).__name__}")


def _type_name_of(kind: Any) -> str:
    if isinstance(kind, tuple):
        return "a number"
    return _TYPE_NAMES.get(kind, kind.__name__)
