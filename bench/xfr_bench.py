"""
A big zone pulled into secdns: transfer time, peak memory, and how other
zones' queries fare meanwhile.

In a temporary directory this writes a zone of N records (A records under
one apex, as in the issue's million-record test), serves it from BIND (or
Knot) as the primary, TSIG required, and starts secdns as its secondary
with one more, small, primary zone.  It then measures:

  - the transfer: from secdns's start to its answering the new serial,
    and secdns's own log line for the AXFR;
  - memory: the peak resident set of the secdns process (VmHWM);
  - the small zone's queries during the transfer: one UDP query every
    10 ms from another process, the slowest answer and the longest time
    between two answers.

For orientation (DESIGN.md): BIND as secondary takes 1.6 s for 1M records,
ending at about 325 MB.

    .venv/bin/python bench/xfr_bench.py --records 1000000
    .venv/bin/python bench/xfr_bench.py --records 200000 --primary knot

Every daemon is started in the temporary directory and stopped by its PID.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.peers import Bind, Knot, PeerZone, TsigKey  # noqa: E402
from tests.support import Secdns, free_port  # noqa: E402

LOOPBACK = "127.0.0.1"
ORIGIN = "big.test"
KEY = TsigKey("transfer-key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
PROBE_INTERVAL = 0.01


def write_zone(path: Path, records: int) -> None:
    with open(path, "w") as out:
        out.write(f"$ORIGIN {ORIGIN}.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n")
        for i in range(records - 3):
            out.write(f"h{i} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n")


def secdns_config(port: int, master: int) -> str:
    return f"""
[server]
listen = ["127.0.0.1:{port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[transfer]
message_timeout = 120

[[tsig_key]]
name = "{KEY.name}"
secret = "{KEY.secret}"

[[zone]]
name = "other.test"
type = "primary"
file = "other.zone"

[[zone]]
name = "{ORIGIN}"
type = "secondary"
external_masters = [ {{ address = "127.0.0.1", port = {master}, tsig_key = "{KEY.name}" }} ]
"""


#: The small zone whose queries a probe times while the big one moves.
OTHER_ZONE = "$ORIGIN other.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.80\n"


class Probe(threading.Thread):
    """Queries the small zone every 10 ms; keeps the slowest answer and the longest gap between answers."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.worst = 0.0
        self.gap = 0.0
        self.answered = 0
        self.lost = 0

    def run(self) -> None:
        query = dns.message.make_query("www.other.test", "A")
        last = time.monotonic()
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                response = dns.query.udp(query, LOOPBACK, port=self.port, timeout=2)
                if response.rcode() == dns.rcode.NOERROR:
                    now = time.monotonic()
                    self.worst = max(self.worst, now - started)
                    self.gap = max(self.gap, now - last)
                    last = now
                    self.answered += 1
            except Exception:
                self.lost += 1
            self.stop.wait(PROBE_INTERVAL)


    def summary(self) -> str:
        return (
            f"other zone meanwhile: {self.answered} answers, {self.lost} lost, slowest {self.worst * 1000:.0f} ms, "
            f"longest gap between answers {self.gap * 1000:.0f} ms"
        )


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def serial_of(port: int) -> int | None:
    try:
        response = dns.query.udp(dns.message.make_query(ORIGIN, "SOA"), LOOPBACK, port=port, timeout=1)
    except Exception:
        return None
    if response.rcode() != dns.rcode.NOERROR or not response.answer:
        return None
    return response.answer[0][0].serial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--primary", choices=("bind", "knot"), default="bind")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="secdns-xfr-bench-") as tmp:
        tmp = Path(tmp)
        zone = tmp / "big.zone"
        write_zone(zone, args.records)
        (tmp / "other.zone").write_text(OTHER_ZONE)
        port = free_port()
        kind = {"bind": Bind, "knot": Knot}[args.primary]
        primary = kind(tmp, free_port(), zones=[PeerZone(ORIGIN, file=zone, downstreams=((LOOPBACK, port),), key=KEY.name)], keys=[KEY])
        print(f"{args.records} records; starting {args.primary}...", flush=True)
        primary.start(timeout=args.timeout)
        config = tmp / "secdns.toml"
        config.write_text(secdns_config(port, primary.port))
        probe = None
        secdns = None
        try:
            started = time.monotonic()
            secdns = Secdns(config, port).wait_ready()
            probe = Probe(port)
            probe.start()
            deadline = started + args.timeout
            while serial_of(port) != 1:
                if time.monotonic() > deadline or not secdns.running():
                    raise SystemExit(f"no transfer within {args.timeout} s:\n{secdns.log()[-2000:]}")
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            time.sleep(0.5)
            probe.stop.set()
            probe.join()
            rss = peak_rss_mb(secdns.pid)
            line = re.search(r"AXFR from .*", secdns.log())
            print(f"serving serial 1 {elapsed:.1f} s after start (including secdns's own start-up)")
            print(f"secdns log: {line.group(0) if line else '-'}")
            print(f"peak RSS of secdns: {rss:.0f} MB")
            print(probe.summary())
        finally:
            if probe is not None:
                probe.stop.set()
            if secdns is not None:
                secdns.stop()
            primary.stop()


if __name__ == "__main__":
    main()
