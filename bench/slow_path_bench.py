"""
In-process cost of the query slow path: microseconds per query that no memo
answers.

This builds the zone of C{query_bench.py} (10,000 names), a
L{secdns.server.dispatch.QueryHandler} over it, and the query wires beforehand; then
it times C{handler.answer(wire, request)} on each, emptying the zone
version's memo of rendered answers before every call, so each query takes
the slow path (parse, zone, lookup, render).  No sockets, no reactor: what
is left is the Python the server runs per query never asked before.

    .venv/bin/python bench/slow_path_bench.py                # --unique and --mix, no EDNS
    .venv/bin/python bench/slow_path_bench.py --edns --do --signed
    .venv/bin/python bench/slow_path_bench.py --profile unique

C{unique} asks names under the wildcard and names that do not exist, each
once (as C{query_bench.py --unique}); C{mix} asks C{query_bench.py}'s query
mix (hits, CNAMEs, no data, MX with additional data, wildcard, NXDOMAIN).
The figure is the best of C{--repeat} rounds, so that other load on the
machine disturbs it less.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from pathlib import Path

import dns.dnssec
import dns.message
import dns.name
import dns.zone

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from query_bench import ORIGIN, SEED, queries, unique_queries, zone_text  # noqa: E402

from secdns.config import ZoneConfig  # noqa: E402
from secdns.server.dispatch import QueryHandler, Request  # noqa: E402
from secdns.zones.zone import Zone  # noqa: E402
from secdns.zones.version import from_zone  # noqa: E402
from secdns.zones.zonemap import ZoneDB  # noqa: E402

COUNT = 20_000


def build_handler(signed: bool) -> tuple[QueryHandler, Zone]:
    origin = dns.name.from_text(ORIGIN)
    zone = dns.zone.from_text(zone_text(), origin, relativize=False)
    if signed:
        from cryptography.hazmat.primitives.asymmetric import ed25519

        key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
        dnskey = dns.dnssec.make_dnskey(key.public_key(), dns.dnssec.Algorithm.ED25519, flags=257)
        with zone.writer() as txn:
            dns.dnssec.sign_zone(zone, txn=txn, keys=[(key, dnskey)], inception=1700000000, expiration=1900000000)
    served = Zone(ZoneConfig(origin, "primary", file="bench.zone"), from_zone(zone))
    return QueryHandler(ZoneDB.of([served])), served


def wires(kind: str, count: int, edns: bool, do: bool) -> list[bytes]:
    if kind == "unique":
        lines = unique_queries(count)
    else:
        lines = queries(random.Random(SEED))[:count]
    out = []
    for i, line in enumerate(lines):
        name, rdtype = line.split()
        query = dns.message.make_query(
            name, rdtype, use_edns=0 if edns else False, payload=1232, want_dnssec=do
        )
        query.id = i & 0xFFFF
        out.append(query.to_wire())
    return out


def run(handler: QueryHandler, zone: Zone, batch: list[bytes]) -> float:
    """Seconds for the batch, every query on the slow path."""
    request = Request("192.0.2.1", 53000, False)
    answers = handler._answers.of(zone.data)
    answer = handler.answer
    clear = answers.clear
    start = time.perf_counter()
    for wire in batch:
        clear()
        answer(wire, request)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", default="unique,mix")
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--edns", action="store_true")
    parser.add_argument("--do", action="store_true", help="the DO bit (implies --edns)")
    parser.add_argument("--signed", action="store_true", help="sign the zone (ED25519, NSEC)")
    parser.add_argument("--profile", metavar="KIND", help="profile one kind instead of timing")
    args = parser.parse_args()
    handler, zone = build_handler(args.signed)
    edns = args.edns or args.do
    if args.profile:
        batch = wires(args.profile, args.count, edns, args.do)
        profile = cProfile.Profile()
        profile.runcall(run, handler, zone, batch)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        return
    for kind in args.kinds.split(","):
        batch = wires(kind, args.count, edns, args.do)
        run(handler, zone, batch[:1000])  # warm up
        best = min(run(handler, zone, batch) for _ in range(args.repeat))
        print(f"{kind:7} {len(batch):6} queries  {best / len(batch) * 1e6:7.1f} µs/query")


if __name__ == "__main__":
    main()
