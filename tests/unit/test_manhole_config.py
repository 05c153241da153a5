"""secdns.config's [manhole] table: defaults, paths, loopback unless allowed, and its errors."""

from __future__ import annotations

import pytest

from secdns.config import Endpoint, ManholeConfig, parse
from secdns.errors import ConfigError

SOURCE = "/etc/secdns/secdns.toml"
BASE = "/etc/secdns"


def config(text: str):
    return parse(text, source=SOURCE, base_dir=BASE)


def error(text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        config(text)
    return str(raised.value)


def test_no_manhole_without_the_table():
    assert config("").manhole is None


def test_defaults_loopback_and_state_dir_host_key():
    manhole = config('[server]\nstate_dir = "/var/lib/secdns"\n[manhole]\nauthorized_keys = "manhole_keys"\n').manhole
    assert manhole == ManholeConfig(
        authorized_keys="/etc/secdns/manhole_keys",
        host_key="/var/lib/secdns/manhole_host_key",
        listen=Endpoint("127.0.0.1", 8022),
        allow_remote=False,
    )


def test_every_key():
    manhole = config(
        '[manhole]\nlisten = "[::1]:2222"\nauthorized_keys = "/root/keys"\nhost_key = "keys/host"\n'
    ).manhole
    assert manhole.listen == Endpoint("::1", 2222)
    assert manhole.authorized_keys == "/root/keys"
    assert manhole.host_key == "/etc/secdns/keys/host"


def test_host_key_default_follows_a_relative_state_dir():
    assert config('[manhole]\nauthorized_keys = "k"\n').manhole.host_key == "/etc/secdns/var/manhole_host_key"


def test_remote_address_refused_unless_allowed():
    text = '[manhole]\nlisten = "192.0.2.7:8022"\nauthorized_keys = "k"\n'
    assert error(text) == (
        f"{SOURCE}: manhole.listen: 192.0.2.7:8022 is not a loopback address: the manhole is a root-equivalent door "
        "(keep it on 127.0.0.1 and reach it over an SSH tunnel, or set allow_remote = true)"
    )
    assert "0.0.0.0:8022 is not a loopback address" in error('[manhole]\nlisten = "0.0.0.0:8022"\nauthorized_keys = "k"\n')
    allowed = config(text + "allow_remote = true\n").manhole
    assert allowed.listen == Endpoint("192.0.2.7", 8022) and allowed.allow_remote


@pytest.mark.parametrize(
    "body, message",
    [
        ("", "manhole.authorized_keys: is required"),
        ('authorized_keys = ""', "manhole.authorized_keys: is empty: name the file of public keys that may log in"),
        ("authorized_keys = 3", "manhole.authorized_keys: expected a string, got the integer 3"),
        ('authorized_keys = "k"\npassword = "secret"', "manhole.password: unknown key (expected one of: listen, authorized_keys, host_key, allow_remote)"),
        ('authorized_keys = "k"\nlisten = "localhost:22"', 'manhole.listen: not an IP address: "localhost"'),
        ('authorized_keys = "k"\nlisten = "127.0.0.1"', 'manhole.listen: expected "address:port"'),
        ('authorized_keys = "k"\nallow_remote = "yes"', 'manhole.allow_remote: expected true or false, got the string "yes"'),
    ],
)
def test_errors(body, message):
    assert message in error(f"[manhole]\n{body}\n")
    assert error(f"[manhole]\n{body}\n").startswith(f"{SOURCE}: ")


def test_manhole_must_be_a_table():
    assert error('manhole = "on"\n') == f'{SOURCE}: manhole: expected a [manhole] table, got the string "on"'


# -- in the service tree


def _service(tmp_path, manhole: str):
    from twisted.internet.testing import MemoryReactorClock

    from secdns import config as config_module
    from secdns.service import SecdnsService

    path = tmp_path / "secdns.toml"
    path.write_text(f'[server]\nlisten = ["127.0.0.1:5399"]\nstate_dir = "var"\n{manhole}\n')
    reactor = MemoryReactorClock()
    return SecdnsService(config_module.load(str(path)), reactor, handle_signals=False), path, reactor


def test_manhole_is_a_listener_of_the_service_only_when_configured(tmp_path):
    service, _, _ = _service(tmp_path, "")
    assert not [child for child in service if child.name.startswith("manhole")]
    service, _, reactor = _service(tmp_path, '[manhole]\nlisten = "127.0.0.1:8122"\nauthorized_keys = "keys"')
    (manhole,) = [child for child in service if child.name.startswith("manhole")]
    assert manhole.name == "manhole.listen 127.0.0.1:8122 (SSH)"  # the key and address of a bind error
    manhole.privilegedStartService()
    port, factory, _, interface = reactor.tcpServers[-1]
    assert (port, interface) == (8122, "127.0.0.1")


def test_reload_warns_when_the_manhole_needs_a_restart(tmp_path):
    from twisted.logger import globalLogPublisher

    service, path, _ = _service(tmp_path, '[manhole]\nauthorized_keys = "keys"')
    seen = []
    globalLogPublisher.addObserver(seen.append)
    try:
        path.write_text(path.read_text().replace('"keys"', '"other_keys"'))
        assert service.reload()
        assert service.config.manhole.authorized_keys == str(tmp_path / "other_keys")
        (manhole,) = [child for child in service if child.name.startswith("manhole")]
        (checker,) = set(manhole.factory.portal.checkers.values())
        assert checker._keydb.path() == str(tmp_path / "other_keys")  # the file the next login reads
        assert not [e for e in seen if "manhole changed" in e.get("log_format", "")]  # read at the next login
        path.write_text(path.read_text() + 'listen = "127.0.0.1:8023"\n')
        assert service.reload()
        assert [e for e in seen if "manhole changed" in e.get("log_format", "")]
    finally:
        globalLogPublisher.removeObserver(seen.append)
