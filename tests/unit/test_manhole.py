"""
secdns.ops.manhole and secdns.ops.manhole_namespace: the console's text
(tables, reports, events, metrics), no secret in any of it, the actions'
Deferreds over a real zone core on a Clock, the authorized_keys checker
and the host key file.
"""

from __future__ import annotations

import base64
import os
import stat

import attrs
import dns.name
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from prometheus_client import CollectorRegistry, Counter, Gauge
from twisted.conch.checkers import SSHPublicKeyChecker
from twisted.conch.error import ValidPublicKey
from twisted.conch.ssh import keys
from twisted.cred.credentials import SSHPrivateKey
from twisted.cred.error import UnauthorizedLogin

from secdns.config import Config, ManholeConfig, TsigKeyConfig
from secdns.ops import manhole_namespace as ns
from secdns.ops.manhole import BANNER, AuthorizedKeysFile, HostKeyError, host_key, parse_authorized_keys
from secdns.ops.metrics import ZoneCollector, registry_for
from secdns.zones.events import LoadFailed, TransferFailed, TransferSucceeded, ZoneAdded
from secdns.zones.status import KeyStatus, MasterStatus, Outcome, ZoneStatus
from tests.unit.test_registry import COM, KEY, ORG, Site, secondary

NOW = 1_800_000_000.0


def status(**changes) -> ZoneStatus:
    base = ZoneStatus(
        name="example.com", role="secondary", state="loaded", serial=2026120301, records=45,
        last_load=Outcome(NOW - 300, True), last_failure=None, failure_reason=None, transfers_in=3,
        transfer_failures=0, masters=(MasterStatus("192.0.2.1", 53, True, NOW - 300, None, None, 2026120301),),
        downstreams=(), expire_at=NOW + 36 * 3600, next_event=("refresh", NOW + 3000), last_refresh=NOW - 300,
    )
    return attrs.evolve(base, **changes)


# -- the text


def test_zone_table_is_aligned_one_row_per_zone():
    rows = [
        status(),
        status(name="a-much-longer-name.example", role="primary", serial=7, records=3, expire_at=None, last_refresh=None),
        status(name="down.example", state="expired", failure_reason="192.0.2.1#53: no answer over UDP within 5 s"),
    ]
    text = ns.zone_table(rows, NOW, {"example.com": NOW - 125})
    lines = text.splitlines()
    assert lines[0].split() == ["zone", "type", "health", "serial", "records", "last", "transfer", "expiry", "(h)", "last", "error"]
    assert len(lines) == 4
    column = lines[0].index("serial")
    assert [line[column:].split()[0] for line in lines[1:]] == ["2026120301", "7", "2026120301"]
    assert "2m ago" in lines[1] and "36.0" in lines[1]
    assert lines[2].split()[1:7] == ["primary", "serving", "7", "3", "-", "-"]
    assert "expired" in lines[3] and lines[3].endswith("no answer over UDP within 5 s")
    assert ns.zone_table([], NOW) == "no zones"


def test_zone_table_says_the_health_the_api_says():
    """The health column is secdns.zones.status.health: a refresh that failed is failing, whatever the state."""
    failing = status(last_load=Outcome(NOW - 60, False, "refused"), failure_reason="refused")
    rows = ns.zone_table([failing, status(state="refreshing"), status(state="unloaded", serial=None)], NOW).splitlines()
    assert [line.split()[2] for line in rows[1:]] == ["failing", "refreshing", "never-loaded"]


def test_zone_table_shortens_long_errors():
    text = ns.zone_table([status(failure_reason="x" * 200)], NOW)
    assert text.splitlines()[1].endswith("x" * 57 + "...")


def test_zone_report_has_every_field():
    text = ns.zone_report(status(), NOW)
    assert text.startswith("zone example.com\n")
    for field in attrs.fields(ZoneStatus):
        if field.name not in ("name",):
            assert field.name.replace("_", " ") in text, field.name
    assert "192.0.2.1#53  reachable, serial 2026120301" in text
    assert "expire at:" in text and "(in 1.5d)" in text
    assert "refresh at" in text
    assert "last load:" in text and "5m ago), ok" in text


def test_event_lines_are_the_log_words():
    events = [
        ZoneAdded("example.com", NOW, "secondary"),
        TransferSucceeded("example.com", NOW, "IXFR", 1, 2, "127.0.0.1#53", 45, 0.1, messages=1, size=900),
        TransferFailed("example.com", NOW, "127.0.0.1#53", "no answer", failures=2, retry_at=NOW + 60),
    ]
    lines = ns.event_lines(events).splitlines()
    assert lines[0].endswith("info   zone example.com: added (secondary)")
    assert "zone example.com: IXFR from 127.0.0.1#53: serial 1 -> 2, 45 records" in lines[1]
    assert "error  zone example.com: refresh failed (2 so far): no answer; retrying in 60 s" in lines[2]
    assert ns.event_lines([]) == "no zone events yet"


def test_metric_lines_group_samples_by_metric():
    registry = CollectorRegistry(auto_describe=False)
    serial = Gauge("secdns_zone_serial", "SOA serial of the served version.", ["zone"], registry=registry)
    serial.labels("example.com").set(2026120301)
    serial.labels("example.org").set(7)
    transfers = Counter("secdns_zone_transfer_success", "Transfers applied.", ["zone"], registry=registry)
    transfers.labels("example.com").inc(3)
    Gauge("secdns_up", "Whether secdns runs.", registry=registry).set(1.5)
    Gauge("secdns_last_timestamp_seconds", "When.", registry=registry).set(NOW + 0.25)
    text, samples = ns.metric_lines(registry.collect())
    assert "secdns_zone_serial (gauge): SOA serial of the served version.\n" in text
    assert '    {zone="example.com"}  2026120301\n' in text
    assert '    {zone="example.org"}  7' in text
    assert '_total{zone="example.com"}  3' in text
    assert "_created" not in text
    assert "secdns_up (gauge): Whether secdns runs.\n    1.5" in text
    assert samples[("secdns_zone_serial", (("zone", "example.org"),))] == 7
    assert "    1800000000.25  (2027-01-15 08:00:00 UTC)" in text
    only, _ = ns.metric_lines(registry.collect(), "transfer")
    assert "secdns_zone_transfer_success" in only and "secdns_zone_serial" not in only
    assert ns.metric_lines(registry.collect(), "nothing")[0] == 'no metric name holds "nothing"'


def test_key_table_names_and_algorithms_only():
    rows = [KeyStatus("transfer-key", "hmac-sha256", "/etc/secdns.toml", NOW, NOW, ("example.com",)), KeyStatus("api-made", "hmac-sha512", None, NOW, NOW, ())]
    lines = ns.key_table(rows).splitlines()
    assert lines[0].split() == ["key", "algorithm", "declared", "in", "zones"]
    assert lines[1].split() == ["transfer-key", "hmac-sha256", "/etc/secdns.toml", "example.com"]
    assert lines[2].split() == ["api-made", "hmac-sha512", "API", "-"]
    assert ns.key_table([]) == "no TSIG keys"


def test_text_prints_as_itself():
    assert repr(ns.Text("a\nb")) == "a\nb" and str(ns.Text("x")) == "x"


# -- the console over a real zone core


class FakeService:
    """What the console asks of SecdnsService: its registry, reactor, config, metrics and reload."""

    def __init__(self, site: Site) -> None:
        self.registry = site.registry
        self.reactor = site.clock
        self.config = attrs.evolve(site.config, source="/etc/secdns/secdns.toml")
        self.metrics = registry_for(ZoneCollector(lambda: site.registry.zonedb))
        self.reloads = 0
        self.take = True

    def reload(self) -> bool:
        self.reloads += 1
        if not self.take:
            from secdns.zones.events import ReloadFailed
            self.registry.bus.publish(ReloadFailed(NOW, self.config.source, "zone[0].name: is required"))
        return self.take


def console_of(tmp_path, *zones):
    site = Site(tmp_path, *zones)
    site.registry.start()
    site.run()
    site.clock.advance(1)  # actions start after the start's transfers
    service = FakeService(site)
    return site, service, ns.namespace(service)


def test_namespace_names_have_docstrings(tmp_path):
    site, service, names = console_of(tmp_path, secondary())
    for name in ("zones", "zone", "refresh", "retransfer", "notify", "reload", "events", "metrics", "keys"):
        assert names[name].__doc__ and len(names[name].__doc__.strip()) > 20, name
        assert name in BANNER
    assert names["core"] is site.registry and names["reactor"] is site.clock


def test_console_tables_over_the_zone_core(tmp_path):
    site, service, names = console_of(tmp_path, secondary())
    table = names["zones"]()
    assert [row.name for row in table.rows] == ["example.com"]
    row = repr(table).splitlines()[1].split()
    assert row[:5] == ["example.com", "secondary", "serving", "7", "4"]
    assert row[5:7] == ["1s", "ago"]  # the AXFR at start
    assert repr(names["zones"]("nothing-like-it")) == "no zones"
    assert [row.name for row in names["zones"]("COM").rows] == ["example.com"]
    report = names["zone"]("example.com")
    assert report.status == site.registry.status(COM) and "transfers in:" in repr(report)
    assert "zone example.com: AXFR from 192.0.2.1#53" in repr(names["events"]())
    assert names["events"](1).events == site.registry.history.recent(limit=1)
    assert names["events"](zone="example.com").events == site.registry.history.recent("example.com")
    assert repr(names["events"](zone="nowhere.example")) == "no zone events yet"
    assert 'secdns_zone_serial (gauge)' in repr(names["metrics"]("serial"))


def test_no_secret_in_any_repr(tmp_path):
    """keys(), the core's keyring and config, zone reports: the TSIG secret appears in none."""
    site, service, names = console_of(tmp_path, secondary())
    made = TsigKeyConfig(dns.name.from_text("api-made"), "hmac-sha512", b"made-at-run-time-secret-0123456789")
    site.registry.create_key(made)  # as the REST API does
    core = names["core"]
    texts = [
        repr(names["keys"]()), repr(names["keys"]().rows), repr(core.keyring), repr(core.keyring.keys),
        repr(core.config), repr(core.keys()), repr(core._api_keys), repr(names["zones"]()),
        repr(names["zone"]("example.com")), repr(service.config), repr(names["events"]()),
    ]
    for secret in (KEY.secret, made.secret):
        for form in (secret.decode(), base64.b64encode(secret).decode(), repr(secret)):
            for text in texts:
                assert form not in text
    assert "k1" in texts[0] and "hmac-sha256" in texts[0]
    assert "api-made" in texts[0] and "hmac-sha512" in texts[0] and "API" in texts[0]


def test_refresh_fires_with_the_transfer(tmp_path):
    site, service, names = console_of(tmp_path, secondary())
    site.master.serial = 8
    d = names["refresh"]("example.com")
    results = []
    d.addCallback(results.append)
    site.run(1)
    assert len(results) == 1
    assert "zone example.com: IXFR from 192.0.2.1#53: serial 7 -> 8" in repr(results[0])


def test_refresh_with_nothing_new_says_the_serial_is_current(tmp_path):
    site, service, names = console_of(tmp_path, secondary())
    results = []
    names["refresh"]("example.com").addCallback(results.append)
    site.run(2)
    assert results == [ns.Text("zone example.com: serial 7 is current at its masters (no transfer needed)")]


def test_refresh_failure_and_retransfer(tmp_path):
    site, service, names = console_of(tmp_path, secondary())
    site.master.down = True
    failed = []
    names["refresh"]("example.com").addCallback(failed.append)
    site.run(10)
    assert "zone example.com: refresh failed (1 so far)" in repr(failed[0])
    site.master.down = False
    whole = []
    names["retransfer"]("example.com").addCallback(whole.append)
    site.run(60)
    assert "AXFR from 192.0.2.1#53: serial 7 -> 7" in repr(whole[0])


def test_actions_on_the_wrong_zone_say_why(tmp_path):
    site, service, names = console_of(tmp_path, secondary())
    assert repr(names["refresh"]("nowhere.example")).startswith("refresh: ")
    assert "nowhere.example" in repr(names["refresh"]("nowhere.example"))
    site.write(1)
    site.registry.add_zone(site.primary())
    assert repr(names["retransfer"]("example.org")) == "retransfer: zone example.org is a primary zone: cannot retransfer it"
    assert "nothing sent" in repr(names["notify"]("example.org"))
    assert repr(names["zone"]("nowhere.example")) == "zone: no zone nowhere.example"
    assert repr(names["notify"]("nowhere.example")) == "notify: no zone nowhere.example"


def test_action_without_outcome_times_out(tmp_path, monkeypatch):
    site, service, names = console_of(tmp_path, secondary())
    controller = site.registry._controllers[COM]
    monkeypatch.setattr(controller, "refresh_now", lambda: None)  # the refresh never starts
    results = []
    names["refresh"]("example.com").addCallback(results.append)
    site.clock.advance(ns.ACTION_TIMEOUT + 1)
    assert results and "no outcome after 300 s" in repr(results[0])


def test_reload_says_whether_the_config_was_taken(tmp_path):
    site, service, names = console_of(tmp_path, secondary())
    assert repr(names["reload"]()) .startswith("reloaded /etc/secdns/secdns.toml: config taken")
    service.take = False
    assert repr(names["reload"]()) == (
        "reload of /etc/secdns/secdns.toml refused, the old config stays in force: zone[0].name: is required"
    )
    assert service.reloads == 2


# -- who may log in


def new_key() -> keys.Key:
    return keys.Key(ed25519.Ed25519PrivateKey.generate())


def test_authorized_keys_parsed_public_keys_only():
    one, two = new_key(), new_key()
    data = b"\n".join([
        b"# operators",
        one.public().toString("OPENSSH") + b" alice@example",
        b"",
        b'from="10.0.0.1" ' + two.public().toString("OPENSSH"),
        b"not a key at all",
        b"ssh-ed25519 AAAAnotbase64!!",
        two.toString("OPENSSH"),
        two.public().toString("OPENSSH"),
    ])
    found, problems = parse_authorized_keys(data)
    assert found == [one.public(), two.public()]
    assert problems[0].startswith("holds a private key")
    assert len(problems) == 4  # the private key's lines are not each a problem
    assert "line 4: key options are not supported by the manhole; line ignored" in problems
    assert "line 5: not an OpenSSH public key; line ignored" in problems
    assert "line 6: not an OpenSSH public key; line ignored" in problems
    assert not any("AAAA" in problem for problem in problems)


def test_authorized_keys_file_read_at_each_login(tmp_path):
    path = tmp_path / "authorized_keys"
    one, two = new_key(), new_key()
    db = AuthorizedKeysFile(lambda: str(path))
    assert db.getAuthorizedKeys(b"anyone") == []  # missing file: nobody
    path.write_bytes(one.public().toString("OPENSSH") + b"\n")
    assert db.getAuthorizedKeys(b"anyone") == [one.public()]
    path.write_bytes(two.public().toString("OPENSSH") + b"\n")
    assert db.getAuthorizedKeys(b"root") == [two.public()]


def test_authorized_keys_others_may_write_lets_nobody_in(tmp_path):
    from twisted.logger import globalLogPublisher

    path = tmp_path / "authorized_keys"
    key = new_key()
    path.write_bytes(key.public().toString("OPENSSH") + b"\n")
    db = AuthorizedKeysFile(lambda: str(path))
    seen = []
    globalLogPublisher.addObserver(seen.append)
    try:
        for mode in (0o664, 0o646):
            os.chmod(path, mode)
            assert db.getAuthorizedKeys(b"operator") == []
        os.chmod(path, 0o644)
        assert db.getAuthorizedKeys(b"operator") == [key.public()]
    finally:
        globalLogPublisher.removeObserver(seen.append)
    errors = [e for e in seen if "may be written by others" in e.get("log_format", "")]
    assert [e["mode"] for e in errors] == ["0664", "0646"]


def _credentials(key: keys.Key, signed: bool = True) -> SSHPrivateKey:
    blob = key.public().blob()
    data = b"session data"
    return SSHPrivateKey(b"operator", b"ssh-ed25519", blob, data, key.sign(data) if signed else None)


def test_checker_lets_in_listed_keys_only(tmp_path):
    path = tmp_path / "authorized_keys"
    listed, other = new_key(), new_key()
    path.write_bytes(listed.public().toString("OPENSSH") + b"\n")
    checker = SSHPublicKeyChecker(AuthorizedKeysFile(lambda: str(path)))
    assert checker.requestAvatarId(_credentials(listed)).result == b"operator"
    refused = checker.requestAvatarId(_credentials(other))
    assert refused.result.check(UnauthorizedLogin)
    refused.addErrback(lambda _: None)
    probe = checker.requestAvatarId(_credentials(listed, signed=False))
    assert probe.result.check(ValidPublicKey)
    probe.addErrback(lambda _: None)


# -- the host key


def test_host_key_made_once_0600(tmp_path):
    path = tmp_path / "state" / "manhole_host_key"
    key = host_key(str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert key.type() == "Ed25519" and not key.isPublic()
    assert path.read_bytes().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert host_key(str(path)) == key
    assert sorted(os.listdir(path.parent)) == ["manhole_host_key"]


def test_host_key_path_unusable_is_one_line(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(HostKeyError, match=r"^cannot read .*/state/manhole_host_key: Not a directory$"):
        host_key(str(blocker / "manhole_host_key"))


def test_host_key_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "manhole_host_key"
    host_key(str(path))
    os.chmod(path, 0o644)
    with pytest.raises(HostKeyError, match=r"may be read by others \(mode 0644\).*chmod 600"):
        host_key(str(path))


def test_host_key_not_a_private_key_is_refused(tmp_path):
    path = tmp_path / "manhole_host_key"
    path.write_bytes(new_key().public().toString("OPENSSH"))
    os.chmod(path, 0o600)
    with pytest.raises(HostKeyError, match="is a public key"):
        host_key(str(path))
    path.write_bytes(b"garbage")
    with pytest.raises(HostKeyError, match="not an unencrypted private key"):
        host_key(str(path))


def test_notify_fires_with_each_downstreams_answer(tmp_path):
    from tests.unit.test_registry import DOWNSTREAM

    site, service, names = console_of(tmp_path, secondary([DOWNSTREAM]))
    results = []
    names["notify"]("example.com").addCallback(results.append)
    site.run(30)
    assert results, "no outcome"
    lines = repr(results[0]).splitlines()
    assert lines[0] == "zone example.com: NOTIFY of serial 7"
    assert lines[1].startswith("  198.51.100.7#53: failed: ") and "no answer" in lines[1]


def test_docs_show_the_banner_secdns_prints():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "manhole.rst").read_text()
    indented = "\n".join("    " + line for line in BANNER.rstrip("\n").splitlines())
    assert indented in page
