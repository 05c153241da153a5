"""
docs/config.rst says what secdns does: its example file is a valid config
with the defaults it claims, and each error it quotes is the one secdns
writes for that mistake.
"""

from __future__ import annotations

import re

import pytest

from secdns.config import ManholeConfig, ServerConfig, TimersConfig, TransferConfig, parse
from secdns.errors import ConfigError
from tests.support import ROOT

SOURCE = "/etc/secdns/secdns.toml"
PRIMARY = '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zones/example.org.zone"\n'
SECRET = "EbOeALbhr4JiCtYx8qPE41Ak+Sgz3W6FgZcvWpB0GB0="


def _read(path: str) -> str:
    """What the examples' files hold: a TSIG secret, or (cookie.secret) a cookie secret."""
    return "00" * 16 if path.endswith("cookie.secret") else SECRET


def page() -> str:
    return (ROOT / "docs" / "config.rst").read_text()


def toml_blocks(text: str) -> list[str]:
    return [
        "\n".join(line[4:] for line in match.group(1).splitlines())
        for match in re.finditer(r"^\.\. code-block:: toml\n\n((?:    .*\n|\n)+)", text, re.M)
    ]


def test_the_whole_file_example_is_valid_with_the_defaults_it_shows():
    """The first example gives each [server], [timers] and [transfer] key its default (but listen, state_dir, transfer_source)."""
    example = toml_blocks(page())[0]
    config = parse(example, source=SOURCE, base_dir="/etc/secdns", read_text=_read)
    assert config.timers == TimersConfig() and config.transfer == TransferConfig()
    server = ServerConfig()
    assert (config.server.max_udp_size, config.server.tcp_idle_timeout, config.server.transfers_out,
            config.server.journal_entries, config.server.journal_bytes) == (
        server.max_udp_size, server.tcp_idle_timeout, server.transfers_out, server.journal_entries, server.journal_bytes)
    assert [zone.type for zone in config.zones] == ["secondary", "primary"]


def test_every_example_is_valid():
    for example in toml_blocks(page()):
        parse(example + ("" if "[[zone]]" in example else PRIMARY), source=SOURCE, read_text=_read)


def test_the_manhole_default_is_the_one_documented():
    assert str(ManholeConfig("a", "b").listen) == "127.0.0.1:8022"
    assert '``"127.0.0.1:8022"``' in page()


MISTAKES = [
    '[[zone]]\nname = "example.com"\ntype = "secondary"\n',
    "[server\n",
    '[server]\nlistn = ["127.0.0.1:53"]\n' + PRIMARY,
    '[server]\nlisten = ["127.0.0.1"]\n' + PRIMARY,
    '[server]\nlisten = ["::1:53"]\n' + PRIMARY,
    "[server]\nmax_udp_size = 100\n" + PRIMARY,
    "[server]\ntransfers_out = 0\n" + PRIMARY,
    "[timers]\nmin_refresh = 5000\nmax_refresh = 4000\n" + PRIMARY,
    "[transfer]\nsoa_timeout = 0\n" + PRIMARY,
    '[http]\ncertificate = "a.pem"\n' + PRIMARY,
    '[[tsig_key]]\nname = "k"\n' + PRIMARY,
    '[[tsig_key]]\nname = "k"\nsecret = "notbase64!"\n' + PRIMARY,
    '[[tsig_key]]\nname = "k"\nalgorithm = "hmac-sha3"\nsecret = "c2VjcmV0"\n' + PRIMARY,
    '[zone]\nname = "example.org"\ntype = "primary"\nfile = "x"\n',
    PRIMARY + PRIMARY,
    '[[zone]]\nname = "example.org"\ntype = "master"\nfile = "x"\n',
    '[[zone]]\nname = "example.org"\ntype = "primary"\n',
    '[[zone]]\nname = "example.com"\ntype = "secondary"\nexternal_masters = [ { address = "192.0.2.1" } ]\nfile = "x"\n',
    '[[zone]]\nname = "example.com"\ntype = "secondary"\nexternal_masters = [ { address = "primary.example.net" } ]\n',
    '[[zone]]\nname = "example.com"\ntype = "secondary"\nexternal_masters = [ { address = "192.0.2.1", tsig_key = "nokey" } ]\n',
    '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "x"\nserial_policy = "date"\n',
    '[manhole]\nlisten = "0.0.0.0:8022"\nauthorized_keys = "keys"\n' + PRIMARY,
]


@pytest.mark.parametrize("text", MISTAKES)
def test_each_quoted_error_is_the_one_secdns_writes(text):
    with pytest.raises(ConfigError) as caught:
        parse(text, source=SOURCE)
    quoted = page()
    assert f"    {caught.value}\n" in quoted or f"    secdns: {caught.value}\n" in quoted


def test_the_readme_quick_start_config_is_valid():
    """README.rst's config of one zone of each kind parses."""
    (example,) = toml_blocks((ROOT / "README.rst").read_text())
    config = parse(example, source=SOURCE, base_dir="/etc/secdns", read_text=_read)
    assert [(zone.type, len(zone.external_masters), len(zone.external_downstreams)) for zone in config.zones] == [
        ("secondary", 1, 0), ("primary", 0, 1)]
