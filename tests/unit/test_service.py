"""The service tree in-process: what a reload changes at once."""

from __future__ import annotations

from twisted.internet.testing import MemoryReactorClock

from secdns import config as config_module
from secdns.server.rrl import LocalBuckets
from secdns.service import SecdnsService

ZONE = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n"


def write_config(path, extra: str = "") -> None:
    path.write_text(
        f'[server]\nlisten = ["127.0.0.1:5399"]\nstate_dir = "var"\n{extra}\n'
        '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zone.db"\n'
    )


def test_reload_applies_server_limits(tmp_path):
    """A reload takes new max_udp_size, transfers_out and transfer_source at once, without a restart."""
    (tmp_path / "zone.db").write_text(ZONE)
    path = tmp_path / "secdns.toml"
    write_config(path)
    config = config_module.load(str(path))
    service = SecdnsService(config, MemoryReactorClock(), handle_signals=False)
    assert service.requestor.source is None
    write_config(path, 'max_udp_size = 1400\ntransfers_out = 3\ntransfer_source = "127.0.0.2"')
    assert service.reload()
    assert service.handler.max_udp_size == 1400
    assert service.transfers.max_transfers == 3
    assert service.requestor.source == "127.0.0.2"


def test_reload_turns_rate_limiting_on_and_off(tmp_path):
    """[rate_limit] is taken at once: the UDP protocols judge with the new limiter, or none."""
    (tmp_path / "zone.db").write_text(ZONE)
    path = tmp_path / "secdns.toml"
    write_config(path)
    service = SecdnsService(config_module.load(str(path)), MemoryReactorClock(), handle_signals=False)
    assert service.rrl is None and all(p.rrl is None for p in service.datagram_protocols)
    path.write_text(path.read_text() + "[rate_limit]\nresponses_per_second = 7\n")
    assert service.reload()
    assert service.rrl.responses_per_second == 7
    assert all(p.rrl is service.rrl for p in service.datagram_protocols)
    write_config(path)
    assert service.reload()
    assert service.rrl is None and all(p.rrl is None for p in service.datagram_protocols)


def test_workers_share_one_rate_limit_table_across_reloads(tmp_path):
    """With workers > 1 the limiter's buckets are the shared table; a reload that changes [rate_limit] keeps it (emptied)."""
    (tmp_path / "zone.db").write_text(ZONE)
    path = tmp_path / "secdns.toml"
    write_config(path, "workers = 2\n[rate_limit]\nresponses_per_second = 7\n")
    service = SecdnsService(config_module.load(str(path)), MemoryReactorClock(), handle_signals=False)
    table = service.rrl_table
    try:
        assert service.rrl.buckets is table and service.workers.rrl_table == table.fd
        service.rrl.judge("192.0.2.7", b"\x00\x01\x81\x00" + bytes(8))
        assert len(table) == 1
        write_config(path, "workers = 2\n[rate_limit]\nresponses_per_second = 9\n")
        assert service.reload()
        assert service.rrl.responses_per_second == 9 and service.rrl.buckets is table
        assert all(p.rrl is service.rrl for p in service.datagram_protocols)
        assert len(table) == 0  # the counts start again
    finally:
        table.close()


def test_one_process_keeps_its_buckets_in_a_dict(tmp_path):
    (tmp_path / "zone.db").write_text(ZONE)
    path = tmp_path / "secdns.toml"
    write_config(path, "[rate_limit]\nresponses_per_second = 7\n")
    service = SecdnsService(config_module.load(str(path)), MemoryReactorClock(), handle_signals=False)
    assert service.rrl_table is None and isinstance(service.rrl.buckets, LocalBuckets)
