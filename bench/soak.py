"""
A soak: an hour (by default) of mixed work on one secdns, and whether
anything grows or breaks (issue 13).

secdns runs as a primary (a zone file, rewritten with a higher serial and
SIGHUP every --reload-every seconds; transfers out to anyone on loopback
through allow_transfer), as the secondary of a real BIND (NOTIFY and IXFR
in after each change there), and with its REST API on.  Meanwhile a client
sends queries (UDP and TCP, names that exist and do not), AXFRs and IXFRs
of the primary zone, refreshes and zone status requests through the API.
Every --sample seconds: resident memory, open file descriptors, and error
lines in the log.  Reported: the figures first and last, the growth, the
largest, the error lines (and the first few), the work done.  Printed and
written to bench/out/soak.json; never judged.

    .venv/bin/python bench/soak.py                      # an hour
    .venv/bin/python bench/soak.py --seconds 300        # five minutes
    make soak SOAK_SECONDS=600
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.xfr  # noqa: E402
import dns.zone  # noqa: E402

from tests.peers import Bind, PeerZone  # noqa: E402
from tests.support import LOOPBACK, Secdns, free_port, memory_kib, wait_until  # noqa: E402

PRIMARY, SECONDARY = "soak-primary.test", "soak-secondary.test"
HOSTS = 2_000


def zone_text(origin: str, serial: int) -> str:
    lines = ["$TTL 300", f"@ SOA ns1 hostmaster {serial} 3600 600 86400 60", "@ NS ns1", "ns1 A 192.0.2.1"]
    lines += [f"host{i} A 198.51.100.{(i + serial) % 250}" for i in range(HOSTS)]
    return f"$ORIGIN {origin}.\n" + "\n".join(lines) + "\n"


def error_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "#error]" in line or "#critical]" in line or "Traceback" in line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3600)
    parser.add_argument("--sample", type=float, default=30)
    parser.add_argument("--reload-every", type=float, default=20)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="secdns-soak-") as tmp:
        tmp = Path(tmp)
        port, http, bind_port = free_port(), free_port(), free_port()
        primary_file, bind_file = tmp / "primary.zone", tmp / "bind.zone"
        serial = {"primary": 1, "bind": 1}
        primary_file.write_text(zone_text(PRIMARY, 1))
        bind_file.write_text(zone_text(SECONDARY, 1))
        bind = Bind(tmp, bind_port, zones=[PeerZone(SECONDARY, file=bind_file, downstreams=((LOOPBACK, port),))]).start()
        config = tmp / "secdns.toml"
        config.write_text(
            f'[server]\nlisten = ["{LOOPBACK}:{port}"]\nstate_dir = "var"\ntransfer_source = "{LOOPBACK}"\n'
            f'[http]\nlisten = "{LOOPBACK}:{http}"\n'
            f'[[zone]]\nname = "{PRIMARY}"\ntype = "primary"\nfile = "{primary_file}"\n'
            f'allow_transfer = [ {{ address = "127.0.0.0/8" }} ]\n'
            f'[[zone]]\nname = "{SECONDARY}"\ntype = "secondary"\n'
            f'external_masters = [ {{ address = "{LOOPBACK}", port = {bind_port} }} ]\n'
        )
        secdns = Secdns(config, port).wait_ready()
        api = f"http://{LOOPBACK}:{http}/20180115"
        work = {"queries": 0, "unanswered": 0, "axfr": 0, "ixfr": 0, "api": 0, "sighup": 0, "bind_changes": 0}
        samples = []
        try:
            wait_until(lambda: _serial(port, SECONDARY) == 1, timeout=30, what="the first transfer from BIND")
            started = time.monotonic()
            next_sample = next_reload = started
            while time.monotonic() - started < args.seconds:
                now = time.monotonic()
                if now >= next_sample:
                    fds = len(os.listdir(f"/proc/{secdns.pid}/fd"))
                    samples.append({"t": round(now - started), "rss_kib": memory_kib(secdns.pid), "fds": fds,
                                    "errors": len(error_lines(secdns.log()))})
                    print(f"{samples[-1]} {work}", flush=True)
                    next_sample += args.sample
                if now >= next_reload:
                    serial["primary"] += 1
                    primary_file.write_text(zone_text(PRIMARY, serial["primary"]))
                    secdns.reload()
                    work["sighup"] += 1
                    serial["bind"] += 1
                    bind_file.write_text(zone_text(SECONDARY, serial["bind"]))
                    bind.reload()
                    work["bind_changes"] += 1
                    next_reload += args.reload_every
                _a_round(rng, port, api, serial, work)
        finally:
            log = secdns.log()
            secdns.stop()
            bind.stop()
    errors = error_lines(log)
    report = {
        "seconds": args.seconds, "work": work, "first": samples[0], "last": samples[-1],
        "rss_growth_kib": samples[-1]["rss_kib"] - samples[0]["rss_kib"],
        "max_rss_kib": max(s["rss_kib"] for s in samples), "max_fds": max(s["fds"] for s in samples),
        "error_lines": len(errors), "first_errors": errors[:5], "samples": samples,
    }
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "soak.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=1))


def _serial(port: int, zone: str) -> int | None:
    try:
        answer = dns.query.udp(dns.message.make_query(zone, "SOA"), LOOPBACK, port=port, timeout=2).answer
    except Exception:
        return None
    return answer[0][0].serial if answer else None


def _a_round(rng: random.Random, port: int, api: str, serial: dict, work: dict) -> None:
    """About a hundred queries, and now and then a transfer or an API call."""
    for _ in range(100):
        zone = rng.choice((PRIMARY, SECONDARY))
        name = f"host{rng.randrange(HOSTS * 2)}.{zone}"  # half of them do not exist
        query = dns.message.make_query(name, rng.choice(("A", "AAAA", "TXT")))
        try:
            if rng.random() < 0.1:
                dns.query.tcp(query, LOOPBACK, port=port, timeout=3)
            else:
                dns.query.udp(query, LOOPBACK, port=port, timeout=3)
            work["queries"] += 1
        except Exception:
            work["unanswered"] += 1
    roll = rng.random()
    try:
        if roll < 0.05:
            zone = dns.zone.Zone(PRIMARY)
            dns.query.inbound_xfr(LOOPBACK, zone, port=port, timeout=10)
            work["axfr"] += 1
        elif roll < 0.15:
            since = max(1, serial["primary"] - 1)
            list(dns.query.xfr(LOOPBACK, PRIMARY, rdtype=dns.rdatatype.IXFR, serial=since, port=port, timeout=10, lifetime=30))
            work["ixfr"] += 1
        elif roll < 0.30:
            path = rng.choice(("/zones", "/zoneStatuses", f"/zones/{SECONDARY}/status", "/events?limit=20"))
            urllib.request.urlopen(api + path, timeout=10).read()
            if rng.random() < 0.2:
                request = urllib.request.Request(api + f"/zones/{SECONDARY}/actions/refresh", method="POST", data=b"")
                urllib.request.urlopen(request, timeout=10).read()
            work["api"] += 1
    except Exception:
        work["unanswered"] += 1


if __name__ == "__main__":
    main()
