"""secdns.config: the TOML schema, its defaults, and the operator's error messages."""

from __future__ import annotations

import base64
import os

import dns.name
import dns.tsig
import pytest

from secdns.config import (
    Config,
    Endpoint,
    HttpConfig,
    PeerConfig,
    ServerConfig,
    TimersConfig,
    TransferAllow,
    TransferConfig,
    TsigKeyConfig,
    ZoneConfig,
    diff,
    load,
    parse,
)
from secdns.errors import ConfigError

SOURCE = "/etc/secdns/secdns.toml"
BASE = "/etc/secdns"
SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()

# The example of DESIGN.md "Config file", with a real secret.
EXAMPLE = f"""
[server]
listen = ["127.0.0.1:5300", "[::1]:5300"]
state_dir = "../var"
transfer_source = "127.0.0.1"

[timers]
min_refresh = 300
max_refresh = 2419200
min_retry = 60
max_retry = 1209600
min_expire = 3600
max_expire = 14515200

[http]
listen = "127.0.0.1:8053"

[[tsig_key]]
name = "transfer-key"
algorithm = "hmac-sha256"
secret = "{SECRET}"

[[zone]]
name = "example.com"
type = "secondary"
external_masters = [ {{ address = "192.0.2.1", port = 53, tsig_key = "transfer-key" }} ]

[[zone]]
name = "example.org"
type = "primary"
file = "zones/example.org.zone"
external_downstreams = [ {{ address = "198.51.100.7", port = 53, tsig_key = "transfer-key" }} ]
"""

SECONDARY = '[[zone]]\nname = "example.com"\ntype = "secondary"\nexternal_masters = [{ address = "192.0.2.1" }]\n'
KEY = f'[[tsig_key]]\nname = "k"\nsecret = "{SECRET}"\n'


def name(text: str) -> dns.name.Name:
    return dns.name.from_text(text)


def parse_error(text: str, **kw) -> str:
    with pytest.raises(ConfigError) as raised:
        parse(text, source=SOURCE, base_dir=BASE, **kw)
    return str(raised.value)


def no_secret_file(path: str) -> str:
    raise FileNotFoundError(2, "No such file or directory", path)


class TestDefaults:
    def test_empty_file(self):
        """An empty file is a config of defaults: loopback port 5300, state in ./var, no HTTP, no keys, no zones."""
        config = parse("", source=SOURCE, base_dir=BASE)
        assert config == Config(
            source=SOURCE,
            server=ServerConfig(
                listen=(Endpoint("127.0.0.1", 5300),),
                state_dir="/etc/secdns/var",
                transfer_source=None,
                max_udp_size=1232,
                tcp_idle_timeout=30.0,
            ),
            timers=TimersConfig(300, 2419200, 60, 1209600, 3600, 14515200),
            http=HttpConfig(listen=None),
            tsig_keys=(),
            zones=(),
        )

    def test_peer_defaults(self):
        """A peer's port defaults to 53 and its TSIG key to none."""
        config = parse(SECONDARY, source=SOURCE, base_dir=BASE)
        assert config.zones[0].external_masters == (PeerConfig("192.0.2.1", 53, None),)

    def test_transfer_defaults(self):
        """Without a [transfer] table, transfers get BIND-like timeouts and limits far above real zones."""
        config = parse("", source=SOURCE, base_dir=BASE)
        assert config.transfer == TransferConfig(5.0, 10.0, 30.0, 7200.0, 10_000_000, 2**30)

    def test_transfer_table(self):
        """The [transfer] table sets timeouts (integers or fractions of seconds) and limits."""
        config = parse(
            "[transfer]\nsoa_timeout = 0.5\nconnect_timeout = 2\nmax_records = 1000\nmax_bytes = 65536\n",
            source=SOURCE,
            base_dir=BASE,
        )
        assert config.transfer == TransferConfig(
            soa_timeout=0.5, connect_timeout=2.0, max_records=1000, max_bytes=65536
        )
        assert isinstance(config.transfer.connect_timeout, float)

    def test_algorithm_default(self):
        """A TSIG key's algorithm defaults to hmac-sha256."""
        config = parse(KEY, source=SOURCE, base_dir=BASE)
        assert config.tsig_keys[0].algorithm == "hmac-sha256"
        assert config.tsig_keys[0].algorithm_name == dns.tsig.HMAC_SHA256


class TestExample:
    def test_design_example(self):
        """The example config of DESIGN.md parses to the values it spells out."""
        config = parse(EXAMPLE, source=SOURCE, base_dir=BASE)
        assert config.server == ServerConfig(
            listen=(Endpoint("127.0.0.1", 5300), Endpoint("::1", 5300)),
            state_dir="/etc/var",
            transfer_source="127.0.0.1",
        )
        assert config.http == HttpConfig(Endpoint("127.0.0.1", 8053))
        assert config.tsig_keys == (
            TsigKeyConfig(name("transfer-key"), "hmac-sha256", base64.b64decode(SECRET)),
        )
        peer = lambda address: (PeerConfig(address, 53, name("transfer-key")),)  # noqa: E731
        assert config.zones == (
            ZoneConfig(name("example.com"), "secondary", external_masters=peer("192.0.2.1")),
            ZoneConfig(
                name("example.org"),
                "primary",
                file="/etc/secdns/zones/example.org.zone",
                external_downstreams=peer("198.51.100.7"),
            ),
        )

    def test_endpoints_print_as_written(self):
        """Listen addresses print as an operator writes them, IPv6 in brackets."""
        config = parse(EXAMPLE, source=SOURCE, base_dir=BASE)
        assert [str(e) for e in config.server.listen] == ["127.0.0.1:5300", "[::1]:5300"]

    def test_secret_file(self):
        """A secret_file is read relative to the config's directory and holds base64."""
        read = []

        def read_text(path):
            read.append(path)
            return SECRET + "\n"

        text = '[[tsig_key]]\nname = "k"\nsecret_file = "keys/k.secret"\n'
        config = parse(text, source=SOURCE, base_dir=BASE, read_text=read_text)
        assert read == ["/etc/secdns/keys/k.secret"]
        assert config.tsig_keys[0].secret == base64.b64decode(SECRET)

    def test_secret_never_in_repr(self):
        """A key's secret appears in no repr, so no log line can carry it."""
        config = parse(KEY, source=SOURCE, base_dir=BASE)
        assert SECRET not in repr(config)
        assert repr(base64.b64decode(SECRET)) not in repr(config)

    def test_names_and_types_are_case_insensitive(self):
        """Zone names compare as DNS names, and type and algorithm ignore case."""
        text = (
            '[[tsig_key]]\nname = "K"\nalgorithm = "HMAC-SHA512"\n'
            f'secret = "{SECRET}"\n'
            '[[zone]]\nname = "Example.COM."\ntype = "Secondary"\n'
            'external_masters = [{ address = "192.0.2.1", tsig_key = "k" }]\n'
        )
        config = parse(text, source=SOURCE, base_dir=BASE)
        assert config.zone(name("example.com")).type == "secondary"
        assert config.tsig_keys[0].algorithm == "hmac-sha512"


# (config text, key path, problem): each error an operator can make, and the
# one line that tells them.
ERRORS = [
    ("serverz = 1", "serverz", "unknown key (expected one of: server, timers, transfer, http, tsig_key, zone, alarm, topic, smtp, manhole, rate_limit, cookies)"),
    (
        "[server]\nlistn = []",
        "server.listn",
        "unknown key (expected one of: listen, state_dir, transfer_source, max_udp_size, tcp_idle_timeout, transfers_out, tcp_clients, tcp_clients_per_address, journal_entries, journal_bytes, workers)",
    ),
    ("server = 1", "server", "expected a [server] table, got the integer 1"),
    ('[server]\nlisten = "127.0.0.1:53"', "server.listen", 'expected a list, got the string "127.0.0.1:53"'),
    ("[server]\nlisten = []", "server.listen", "needs at least one address"),
    (
        '[server]\nlisten = ["127.0.0.1"]',
        "server.listen[0]",
        'expected "address:port", such as "127.0.0.1:53" or "[::1]:53", got the string "127.0.0.1"',
    ),
    ('[server]\nlisten = ["::1:53"]', "server.listen[0]", 'an IPv6 address goes in brackets: "[::1]:53"'),
    ('[server]\nlisten = ["127.0.0.1:0"]', "server.listen[0]", "port must be between 1 and 65535, not 0"),
    ('[server]\nlisten = ["localhost:53"]', "server.listen[0]", 'not an IP address: "localhost"'),
    (
        '[server]\nlisten = ["127.0.0.1:53", "127.0.0.1:53"]',
        "server.listen[1]",
        "127.0.0.1:53 is listed twice",
    ),
    ('[server]\nstate_dir = 5', "server.state_dir", "expected a string, got the integer 5"),
    ('[server]\ntransfer_source = "me"', "server.transfer_source", 'not an IP address: "me"'),
    ("[server]\nmax_udp_size = 100", "server.max_udp_size", "must be between 512 and 65535, not 100"),
    ("[server]\ntcp_idle_timeout = 0", "server.tcp_idle_timeout", "must be more than 0 seconds, not 0"),
    ('[timers]\nmin_refresh = "300"', "timers.min_refresh", 'expected an integer, got the string "300"'),
    ("[timers]\nmin_refresh = true", "timers.min_refresh", "expected an integer, got true"),
    ("[timers]\nmin_refresh = 1.5", "timers.min_refresh", "expected an integer, got the number 1.5"),
    ("[timers]\nmin_retry = -1", "timers.min_retry", "must not be negative, not -1"),
    ("[transfer]\nsoa_timeout = 0", "transfer.soa_timeout", "must be more than 0, not 0"),
    ("[transfer]\nmax_records = 1.5", "transfer.max_records", "expected an integer, got the number 1.5"),
    ('[transfer]\nmessage_timeout = "9"', "transfer.message_timeout", 'expected a number, got the string "9"'),
    (
        "[transfer]\ntimeout = 1",
        "transfer.timeout",
        "unknown key (expected one of: soa_timeout, connect_timeout, message_timeout, "
        "transfer_timeout, max_records, max_bytes, max_file_bytes)",
    ),
    (
        "[timers]\nmin_expire = 100\nmax_expire = 10",
        "timers.min_expire",
        "100 is greater than timers.max_expire (10)",
    ),
    ("[timers]\nrefresh = 1", "timers.refresh", "unknown key (expected one of: min_refresh, max_refresh, "
     "min_retry, max_retry, min_expire, max_expire)"),
    ("[http]\nlisten = 8053", "http.listen", "expected a string, got the integer 8053"),
    ('[http]\nport = 8053', "http.port", "unknown key (expected one of: listen, token_file, certificate, private_key)"),
    ('[http]\ncertificate = "cert.pem"', "http", "certificate and private_key go together (HTTPS needs both)"),
    ('[http]\ntoken_file = 1', "http.token_file", "expected a string, got the integer 1"),
    # [[tsig_key]]
    ('[tsig_key]\nname = "k"', "tsig_key", "write [[tsig_key]] (an array of tables), not [tsig_key]"),
    (f'[[tsig_key]]\nsecret = "{SECRET}"', "tsig_key[0].name", "is required"),
    ('[[tsig_key]]\nname = "k"', 'tsig_key "k"', "needs a secret (or a secret_file)"),
    (
        f'[[tsig_key]]\nname = "k"\nsecret = "{SECRET}"\nsecret_file = "k.secret"',
        'tsig_key "k"',
        "has both secret and secret_file; keep one",
    ),
    ('[[tsig_key]]\nname = "k"\nsecret = "not base64!"', 'tsig_key "k".secret', "is not valid base64"),
    ('[[tsig_key]]\nname = "k"\nsecret = ""', 'tsig_key "k".secret', "is not a secret: it is empty"),
    (
        '[[tsig_key]]\nname = "k"\nsecret_file = "k.secret"',
        'tsig_key "k".secret_file',
        "cannot read /etc/secdns/k.secret: No such file or directory",
    ),
    (
        f'[[tsig_key]]\nname = "k"\nalgorithm = "hmac-sha999"\nsecret = "{SECRET}"',
        'tsig_key "k".algorithm',
        'unknown algorithm "hmac-sha999" (use one of hmac-md5, hmac-sha1, hmac-sha224, '
        "hmac-sha256, hmac-sha384, hmac-sha512)",
    ),
    (
        f'{KEY}[[tsig_key]]\nname = "K."\nsecret = "{SECRET}"',
        "tsig_key[1].name",
        'key "K" is already defined by tsig_key[0]',
    ),
    (f'{KEY}key = "x"', 'tsig_key "k".key', "unknown key (expected one of: name, algorithm, secret, secret_file)"),
    # [[zone]]
    ("zone = 5", "zone", "expected [[zone]] tables, got the integer 5"),
    ('[[zone]]\ntype = "primary"', "zone[0].name", "is required"),
    ('[[zone]]\nname = "a..com"\ntype = "primary"', "zone[0].name", 'not a domain name: "a..com" (A DNS label is empty.)'),
    ('[[zone]]\nname = "a.com"', 'zone "a.com".type', "is required"),
    ('[[zone]]\nname = "a.com"\ntype = "master"', 'zone "a.com".type', 'must be "primary" or "secondary", not "master"'),
    (
        '[[zone]]\nname = "a.com"\ntype = "primary"\nfile = "a"\nmasters = []',
        'zone "a.com".masters',
        "unknown key (expected one of: name, type, file, external_masters, external_downstreams, serial_policy, allow_update, "
        "allow_transfer, include_dirs)",
    ),
    ('[[zone]]\nname = "a.com"\ntype = "primary"', 'zone "a.com".file', "is required for a primary zone"),
    (
        '[[zone]]\nname = "a.com"\ntype = "secondary"',
        'zone "a.com".external_masters',
        "is required for a secondary zone",
    ),
    (
        SECONDARY + 'file = "x.zone"',
        'zone "example.com".file',
        "is for primary zones; a secondary zone's data comes from its external_masters",
    ),
    (
        '[[zone]]\nname = "a.com"\ntype = "primary"\nfile = "a"\nexternal_masters = [{ address = "192.0.2.1" }]',
        'zone "a.com".external_masters',
        "is for secondary zones; a primary zone's data comes from its file",
    ),
    (
        '[[zone]]\nname = "a.com"\ntype = "secondary"\nexternal_masters = { address = "192.0.2.1" }',
        'zone "a.com".external_masters',
        'expected a list of tables such as [{ address = "192.0.2.1" }], got a table',
    ),
    (
        '[[zone]]\nname = "a.com"\ntype = "secondary"\nexternal_masters = ["192.0.2.1"]',
        'zone "a.com".external_masters[0]',
        'expected a table, got the string "192.0.2.1"',
    ),
    (
        '[[zone]]\nname = "a.com"\ntype = "secondary"\nexternal_masters = [{ address = "primary.example" }]',
        'zone "a.com".external_masters[0].address',
        'not an IP address: "primary.example"',
    ),
    (
        '[[zone]]\nname = "a.com"\ntype = "secondary"\nexternal_masters = [{ address = "192.0.2.1", port = 0 }]',
        'zone "a.com".external_masters[0].port',
        "must be between 1 and 65535, not 0",
    ),
    (
        '[[zone]]\nname = "a.com"\ntype = "secondary"\nexternal_masters = [{ address = "192.0.2.1", key = "k" }]',
        'zone "a.com".external_masters[0].key',
        "unknown key (expected one of: address, port, tsig_key)",
    ),
    (
        '[[zone]]\nname = "a.com"\ntype = "secondary"\n'
        'external_masters = [{ address = "192.0.2.1", tsig_key = "transfer-key" }]',
        'zone "a.com".external_masters[0].tsig_key',
        'no [[tsig_key]] is named "transfer-key"',
    ),
    (
        '[[zone]]\nname = "a.com"\ntype = "primary"\nfile = "a"\n'
        'external_downstreams = [{ address = "198.51.100.7", tsig_key = "transfer-key" }]',
        'zone "a.com".external_downstreams[0].tsig_key',
        'no [[tsig_key]] is named "transfer-key"',
    ),
    (
        SECONDARY + '[[zone]]\nname = "EXAMPLE.com."\ntype = "primary"\nfile = "x"',
        "zone[1].name",
        'zone "EXAMPLE.com" is already defined by zone[0]',
    ),
]


@pytest.mark.parametrize("text, key, problem", ERRORS, ids=[e[1] + ": " + e[2][:30] for e in ERRORS])
def test_error_names_file_key_and_problem(text, key, problem):
    """Each invalid config is one line: the file, the key path, and what is wrong with it."""
    where = f"{SOURCE}: {key}" if key else SOURCE
    message = parse_error(text, read_text=no_secret_file)
    assert message == f"{where}: {problem}"
    assert "\n" not in message


def test_workers_auto_is_the_usable_cores(monkeypatch):
    """C{workers = "auto"}: as many processes as cores this process may run on (its affinity)."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    assert parse('[server]\nworkers = "auto"', source=SOURCE, base_dir=BASE).server.workers == 3
    assert parse("[server]\nworkers = 2", source=SOURCE, base_dir=BASE).server.workers == 2
    assert parse("", source=SOURCE, base_dir=BASE).server.workers == 1
    assert parse_error('[server]\nworkers = "all"') == f'{SOURCE}: server.workers: expected an integer or "auto", got the string "all"'
    assert parse_error("[server]\nworkers = 0") == f"{SOURCE}: server.workers: must be at least 1, not 0"


def test_not_toml():
    """Text that is not TOML is reported with the parser's line and column."""
    message = parse_error('[server]\nlisten = = ["127.0.0.1:53"]\n')
    assert message.startswith(f"{SOURCE}: not valid TOML: ")
    assert "line 2" in message
    assert "\n" not in message


def test_bad_secret_is_not_echoed():
    """A secret that is not base64 is reported without repeating it."""
    message = parse_error('[[tsig_key]]\nname = "k"\nsecret = "hunter2!hunter2"')
    assert "hunter2" not in message


def test_bad_secret_file_names_the_file():
    """A secret_file that holds no base64 is named in the error, with the line."""
    message = parse_error('[[tsig_key]]\nname = "k"\nsecret_file = "k.secret"', read_text=lambda path: "%%%")
    assert message == f'{SOURCE}: tsig_key "k".secret_file: /etc/secdns/k.secret: line 1: the secret is not valid base64'


class TestLoad:
    def test_paths_relative_to_config_file(self, tmp_path):
        """load() takes relative paths from the config file's own directory, not the working directory."""
        (tmp_path / "keys").mkdir()
        (tmp_path / "keys" / "k.secret").write_text(SECRET + "\n")
        path = tmp_path / "secdns.toml"
        path.write_text(
            '[server]\nstate_dir = "../var"\n'
            '[[tsig_key]]\nname = "k"\nsecret_file = "keys/k.secret"\n'
            '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zones/example.org.zone"\n'
        )
        config = load(str(path))
        assert config.source == str(path)
        assert config.server.state_dir == str(tmp_path.parent / "var")
        assert config.zones[0].file == str(tmp_path / "zones" / "example.org.zone")
        assert config.tsig_keys[0].secret == base64.b64decode(SECRET)

    def test_missing_file(self, tmp_path):
        """A config file that cannot be read is named, with the reason."""
        path = tmp_path / "nonexistent.toml"
        with pytest.raises(ConfigError) as raised:
            load(str(path))
        assert str(raised.value) == f"{path}: cannot read: No such file or directory"

    def test_not_text(self, tmp_path):
        """A config file that is not UTF-8 is an error, not a crash."""
        path = tmp_path / "binary.toml"
        path.write_bytes(b"[server]\nstate_dir = '\xff'\n")
        with pytest.raises(ConfigError) as raised:
            load(str(path))
        assert str(raised.value) == f"{path}: not UTF-8 text (byte 22)"


class TestDiff:
    def test_zones_by_name(self):
        """diff() sorts zones into added, removed, changed and unchanged by name."""
        old = parse(
            SECONDARY
            + '[[zone]]\nname = "gone.org"\ntype = "primary"\nfile = "gone"\n'
            + '[[zone]]\nname = "same.org"\ntype = "primary"\nfile = "same"\n',
        )
        new = parse(
            SECONDARY.replace("192.0.2.1", "192.0.2.2")
            + '[[zone]]\nname = "same.org"\ntype = "primary"\nfile = "same"\n'
            + '[[zone]]\nname = "new.org"\ntype = "primary"\nfile = "new"\n',
        )
        changes = diff(old, new)
        assert changes.added == (name("new.org"),)
        assert changes.removed == (name("gone.org"),)
        assert changes.changed == (name("example.com"),)
        assert changes.unchanged == (name("same.org"),)


UPDATE_KEY = '[[tsig_key]]\nname = "upd"\nsecret = "' + base64.b64encode(b"k" * 32).decode() + '"\n'


def test_a_primary_zone_with_allow_update_and_no_file_is_dynamic():
    config = parse(UPDATE_KEY + '[[zone]]\nname = "a.com"\ntype = "primary"\nallow_update = ["upd"]\n')
    (zone,) = config.zones
    assert zone.dynamic and zone.file is None and zone.allow_update == (name("upd"),)


@pytest.mark.parametrize("text, problem", [
    ('[[zone]]\nname = "a.com"\ntype = "primary"\nallow_update = ["nope"]\n',
     'zone "a.com".allow_update[0]: no [[tsig_key]] is named "nope"'),
    ('[[zone]]\nname = "a.com"\ntype = "primary"\nallow_update = "upd"\n',
     'zone "a.com".allow_update: expected a list of TSIG key names such as ["update-key"], got the string "upd"'),
    ('[[zone]]\nname = "a.com"\ntype = "primary"\nfile = "a.zone"\nallow_update = ["upd"]\n',
     'zone "a.com".allow_update: is for primary zones without a file'),
    ('[[zone]]\nname = "a.com"\ntype = "secondary"\nexternal_masters = [{ address = "192.0.2.1" }]\nallow_update = ["upd"]\n',
     'zone "a.com".allow_update: is for primary zones without a file'),
])
def test_allow_update_errors(text, problem):
    assert problem in parse_error(UPDATE_KEY + text)


def test_http_token_file_and_tls_paths_are_relative_to_the_config():
    """[http] token_file, certificate and private_key are read as paths relative to the config file's directory."""
    config = parse(
        '[http]\nlisten = "127.0.0.1:8053"\ntoken_file = "tokens"\ncertificate = "tls/cert.pem"\nprivate_key = "/k.pem"\n',
        source=SOURCE,
        base_dir=BASE,
    )
    assert config.http == HttpConfig(
        Endpoint("127.0.0.1", 8053), token_file="/etc/secdns/tokens", certificate="/etc/secdns/tls/cert.pem", private_key="/k.pem"
    )


# -- allow_transfer: who else may transfer a zone

XFR_KEY = '[[tsig_key]]\nname = "debug-key"\nsecret = "' + base64.b64encode(b"d" * 32).decode() + '"\n'


def test_allow_transfer_addresses_networks_and_keys():
    """allow_transfer takes addresses and networks (IPv4, IPv6), each with an optional key, on both zone types."""
    config = parse(
        XFR_KEY + '[[zone]]\nname = "a.com"\ntype = "primary"\nfile = "a"\n'
        'allow_transfer = [ { address = "192.0.2.9" }, { address = "192.0.2.0/24", tsig_key = "debug-key" },\n'
        '  { address = "2001:DB8::/64" }, { address = "198.51.100.7/32" } ]\n'
        '[[zone]]\nname = "b.com"\ntype = "secondary"\nexternal_masters = [{ address = "192.0.2.1" }]\n'
        'allow_transfer = [ { address = "127.0.0.1" } ]\n'
        '[[zone]]\nname = "c.com"\ntype = "primary"\nfile = "c"\nallow_transfer = []\n'
    )
    a, b, c = config.zones
    assert a.allow_transfer == (
        TransferAllow("192.0.2.9"),
        TransferAllow("192.0.2.0/24", name("debug-key")),
        TransferAllow("2001:db8::/64"),
        TransferAllow("198.51.100.7"),
    )
    assert b.allow_transfer == (TransferAllow("127.0.0.1"),)
    assert c.allow_transfer == ()


def test_allow_transfer_ipv4_mapped_entries_are_ipv4():
    """An IPv4-mapped IPv6 entry is kept as IPv4: IPv4 clients on a dual-stack socket are matched as IPv4."""
    config = parse(
        '[[zone]]\nname = "a.com"\ntype = "primary"\nfile = "a"\n'
        'allow_transfer = [ { address = "::ffff:192.0.2.9" }, { address = "::ffff:192.0.2.0/120" } ]\n'
    )
    assert config.zones[0].allow_transfer == (TransferAllow("192.0.2.9"), TransferAllow("192.0.2.0/24"))


def test_allow_transfer_change_is_a_reconfigured_zone():
    """A reload that changes only allow_transfer reconfigures the zone (in force at once)."""
    zone = '[[zone]]\nname = "a.com"\ntype = "primary"\nfile = "a"\n'
    changes = diff(parse(zone), parse(zone + 'allow_transfer = [{ address = "127.0.0.1" }]\n'))
    assert changes.changed == (name("a.com"),)


@pytest.mark.parametrize("entry, problem", [
    ('"127.0.0.1"', 'zone "a.com".allow_transfer: expected a list of tables such as [{ address = "192.0.2.0/24" }], '
                    'got the string "127.0.0.1"'),
    ('["127.0.0.1"]', 'zone "a.com".allow_transfer[0]: expected a table, got the string "127.0.0.1"'),
    ('[{ tsig_key = "debug-key" }]', 'zone "a.com".allow_transfer[0].address: is required'),
    ('[{ address = "192.0.2.300" }]', 'zone "a.com".allow_transfer[0].address: not an IP address or network: '
                                      '"192.0.2.300" (expected "192.0.2.9", "192.0.2.0/24" or "2001:db8::/64")'),
    ('[{ address = "192.0.2.0/33" }]', 'not an IP address or network: "192.0.2.0/33"'),
    ('[{ address = "example.com" }]', 'not an IP address or network: "example.com"'),
    ('[{ address = "192.0.2.9/24" }]', 'zone "a.com".allow_transfer[0].address: "192.0.2.9/24" has host bits set: '
                                       'write "192.0.2.0/24" (or one address, without a prefix length)'),
    ('[{ address = "2001:db8::1/64" }]', 'has host bits set: write "2001:db8::/64"'),
    ('[{ address = "127.0.0.1", tsig_key = "nope" }]',
     'zone "a.com".allow_transfer[0].tsig_key: no [[tsig_key]] is named "nope"'),
    ('[{ address = "127.0.0.1", port = 5353 }]',
     'zone "a.com".allow_transfer[0].port: unknown key (expected one of: address, tsig_key)'),
    ('[{ address = 127 }]', 'zone "a.com".allow_transfer[0].address: expected a string, got the integer 127'),
])
def test_allow_transfer_errors(entry, problem):
    message = parse_error(XFR_KEY + f'[[zone]]\nname = "a.com"\ntype = "primary"\nfile = "a"\nallow_transfer = {entry}\n')
    assert problem in message
    assert "\n" not in message


class TestCookies:
    """[cookies] and [rate_limit] cookie_policy (DNS Cookies, RFC 7873 and 9018)."""

    def test_defaults(self):
        config = parse("", source=SOURCE, base_dir=BASE)
        assert config.cookies.enabled and config.cookies.secrets == ()
        assert config.rate_limit.cookie_policy == "slip"

    def test_secret_file_holds_hex_secrets_first_one_first(self):
        files = {"/etc/secdns/cookie.secret": "# new, then the one being retired\n" + "00" * 16 + "\n\n" + "ab" * 16 + "\n"}
        config = parse('[cookies]\nsecret_file = "cookie.secret"\n', source=SOURCE, base_dir=BASE, read_text=files.__getitem__)
        assert config.cookies.secrets == (bytes(16), b"\xab" * 16)
        assert "ab" * 16 not in repr(config) and "\\xab" not in repr(config)

    @pytest.mark.parametrize(
        "content, problem",
        [
            ("0123456789\n", "line 1: expected 32 hexadecimal digits (a 128-bit secret)"),
            ("00" * 16 + "\nnot hex at all, a secret typed wrong\n", "line 2: expected 32 hexadecimal digits"),
            ("# nothing\n", "holds no secret"),
        ],
    )
    def test_a_bad_secret_file_is_named_never_quoted(self, content, problem):
        files = {"/etc/secdns/cookie.secret": content}
        error = parse_error('[cookies]\nsecret_file = "cookie.secret"\n', read_text=files.__getitem__)
        assert error.startswith(f"{SOURCE}: cookies.secret_file: /etc/secdns/cookie.secret") and problem in error
        assert "0123456789" not in error and "typed wrong" not in error

    def test_errors(self):
        assert "cookies.secret_file: cannot read /etc/secdns/none: No such file" in parse_error(
            '[cookies]\nsecret_file = "none"\n', read_text=no_secret_file
        )
        assert "cookies.enabled: expected true or false" in parse_error("[cookies]\nenabled = 1\n")
        assert "cookies.secret: unknown key (expected one of: enabled, secret_file)" in parse_error('[cookies]\nsecret = "x"\n')
        assert 'rate_limit.cookie_policy: must be one of slip, badcookie, not "always"' in parse_error(
            '[rate_limit]\ncookie_policy = "always"\n'
        )
