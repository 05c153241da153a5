"""
Memory after failed inbound transfers (issue 13): whatever way a transfer
ends, what it parsed is freed.  secdns is the secondary of a primary whose
AXFR never ends; each attempt is refused at C{[transfer] max_records}
after parsing 20,000 records; after 50 of them secdns's resident memory is
where it was after the first few.
"""

from __future__ import annotations

import os
import time

import pytest

from tests.api_client import ApiClient
from tests.hostile import EndlessPrimary
from tests.support import LOOPBACK, Secdns, free_port, memory_kib, wait_until

ZONE = "endless.test"
MAX_RECORDS = 20_000
ATTEMPTS = int(os.environ.get("SECDNS_FAILED_TRANSFERS", "50"))  # more in a soak



@pytest.fixture
def appliance(tmp_path):
    primary = EndlessPrimary(ZONE, free_port()).start()
    port, http = free_port(), free_port()
    config = tmp_path / "secdns.toml"
    config.write_text(f"""
[server]
listen = ["{LOOPBACK}:{port}"]
state_dir = "var"
transfer_source = "{LOOPBACK}"

[http]
listen = "{LOOPBACK}:{http}"

[transfer]
max_records = {MAX_RECORDS}

[timers]
min_refresh = 3600
min_retry = 3600

[[zone]]
name = "{ZONE}"
type = "secondary"
external_masters = [ {{ address = "{LOOPBACK}", port = {primary.port} }} ]
""")
    secdns = Secdns(config, port)
    try:
        secdns.wait_ready()
        yield secdns, ApiClient(f"http://{LOOPBACK}:{http}/20180115"), primary
    finally:
        secdns.stop()
        primary.stop()


def failures(api: ApiClient) -> int:
    return api("GET", f"/zones/{ZONE}/status").json["transferFailures"]


def test_failed_transfers_free_what_they_parsed(appliance):
    secdns, api, primary = appliance
    wait_until(lambda: failures(api) >= 1, timeout=30, what="the first transfer to fail")
    figures = []
    started = time.monotonic()
    for attempt in range(2, ATTEMPTS + 1):
        assert api("POST", f"/zones/{ZONE}/actions/retransfer").status == 202
        wait_until(lambda: failures(api) >= attempt, timeout=30, what=f"failure {attempt}")
        if attempt == 5 or attempt % 10 == 0:
            figures.append((attempt, memory_kib(secdns.pid)))
    reason = api("GET", f"/zones/{ZONE}/status").json["failureReason"]
    assert str(MAX_RECORDS) in reason or "records" in reason, reason
    print(f"\nRSS (KiB) after n failed transfers: {figures}; {time.monotonic() - started:.1f} s")
    baseline = figures[0][1]
    growth = figures[-1][1] - baseline
    # Each attempt parses 20,000 records (several MB of objects): kept, 45
    # of them would be well over 100 MB.  Allow allocator noise.
    assert growth < 16 * 1024, f"RSS grew {growth} KiB over {ATTEMPTS - 5} failed transfers: {figures}"
