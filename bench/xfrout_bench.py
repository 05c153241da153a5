"""
A big zone sent by secdns: AXFR time to dig, kdig and a BIND secondary,
secdns's memory, and how another zone's queries fare meanwhile.

In a temporary directory this writes a zone of N records, serves it from
secdns as a primary (with one more, small, zone), then:

  - times C{dig AXFR} and C{kdig AXFR} of it (each twice: the first
    transfer of a version renders its wire form, later ones reuse it);
  - times a BIND secondary's transfer, from BIND's start to its answering
    the serial;
  - reads secdns's resident memory before and after, and its peak;
  - queries the small zone every 10 ms from another thread throughout,
    keeping the slowest answer and the longest gap between answers.

For orientation (issue 5): BIND serves 1M records in about 1.7 s, Knot and
NSD in about 0.6 s (the client is the limit).

    .venv/bin/python bench/xfrout_bench.py --records 1000000

Every daemon is started in the temporary directory and stopped by its PID.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.xfr_bench import ORIGIN, OTHER_ZONE, Probe, peak_rss_mb, write_zone  # noqa: E402
from tests.peers import Bind, PeerZone  # noqa: E402
from tests.support import LOOPBACK, Secdns, free_port, require  # noqa: E402

def secdns_config(port: int, downstream: int) -> str:
    return f"""
[server]
listen = ["127.0.0.1:{port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[[zone]]
name = "other.test"
type = "primary"
file = "other.zone"

[[zone]]
name = "{ORIGIN}"
type = "primary"
file = "big.zone"
external_downstreams = [ {{ address = "127.0.0.1", port = {downstream} }} ]
"""


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def timed_axfr(client: str, port: int) -> tuple[float, str]:
    """Seconds for one AXFR with dig or kdig, and what the client says of its size."""
    argv = [require(client), "@127.0.0.1", "-p", str(port), ORIGIN, "AXFR"]
    started = time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600).stdout
    elapsed = time.monotonic() - started
    size = re.search(r";; (XFR size: .*|Received .*)", out)
    return elapsed, size.group(1) if size else out[-300:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="secdns-xfrout-bench-") as tmp:
        tmp = Path(tmp)
        write_zone(tmp / "big.zone", args.records)
        (tmp / "other.zone").write_text(OTHER_ZONE)
        port, bind_port = free_port(), free_port()
        config = tmp / "secdns.toml"
        config.write_text(secdns_config(port, bind_port))
        print(f"{args.records} records; starting secdns...", flush=True)
        started = time.monotonic()
        secdns = Secdns(config, port)
        bind = None
        probe = None
        try:
            secdns.wait_ready(timeout=args.timeout)
            print(f"secdns serving after {time.monotonic() - started:.1f} s (reading the zone file)", flush=True)
            before = rss_mb(secdns.pid)
            probe = Probe(port)
            probe.start()
            for client in ("dig", "kdig"):
                for attempt in ("first", "again"):
                    elapsed, size = timed_axfr(client, port)
                    print(f"{client} AXFR ({attempt}): {elapsed:.2f} s  [{size}]", flush=True)
            bind = Bind(tmp, bind_port, zones=[PeerZone(ORIGIN, primaries=((LOOPBACK, port),))])
            started = time.monotonic()
            bind.start()
            bind.wait_for_zone(ORIGIN + ".", timeout=args.timeout, serial=1)
            print(f"BIND secondary serving {time.monotonic() - started:.2f} s after its start", flush=True)
            after = rss_mb(secdns.pid)
            probe.stop.set()
            probe.join()
            print(f"secdns RSS: {before:.0f} MB before the transfers, {after:.0f} MB after, peak {peak_rss_mb(secdns.pid):.0f} MB")
            print(probe.summary())
            for line in re.findall(r"AXFR of .* finished.*", secdns.log()):
                print(f"secdns log: {line}")
        finally:
            if probe is not None:
                probe.stop.set()
            if bind is not None:
                bind.stop()
            secdns.stop()


if __name__ == "__main__":
    main()
