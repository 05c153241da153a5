"""
In-process cost of the query slow path: microseconds per query that no memo
answers.

This builds the zone of C{query_bench.py} (10,000 names), a
L{secdns.server.dispatch.QueryHandler} over it, and the query wires beforehand; then
it times C{handler.answer(wire, request)} on each, emptying the zone
version's memo of rendered answers by question before every call, so each
query is one never asked before.  No sockets, no reactor: what is left is
the Python the server runs per query never asked before.  The memo by
shape (L{secdns.zones.shape}) is kept, as in a flood of new names: a
missing name of a shape seen before is answered from it; C{--cold} empties
it too, so every query takes the slow path (parse, zone, lookup, render).

    .venv/bin/python bench/slow_path_bench.py                # --unique and --mix, no EDNS
    .venv/bin/python bench/slow_path_bench.py --edns --do --signed
    .venv/bin/python bench/slow_path_bench.py --do --signed --nsec3   # dnssec-signzone, NSEC3
    .venv/bin/python bench/slow_path_bench.py --cold         # no shape memo either
    .venv/bin/python bench/slow_path_bench.py --profile unique

C{unique} asks names under the wildcard and names that do not exist, each
once (as C{query_bench.py --unique}), other names in each round; C{mix} asks C{query_bench.py}'s query
mix (hits, CNAMEs, no data, MX with additional data, wildcard, NXDOMAIN).
The figure is the best of C{--repeat} rounds of the process's CPU time,
so that other load on the machine disturbs it less.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
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


def build_handler(signed: bool, nsec3: bool = False) -> tuple[QueryHandler, Zone]:
    origin = dns.name.from_text(ORIGIN)
    if nsec3:
        zone = nsec3_zone(origin)
    else:
        zone = dns.zone.from_text(zone_text(), origin, relativize=False)
    if signed and not nsec3:
        from cryptography.hazmat.primitives.asymmetric import ed25519

        key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
        dnskey = dns.dnssec.make_dnskey(key.public_key(), dns.dnssec.Algorithm.ED25519, flags=257)
        with zone.writer() as txn:
            dns.dnssec.sign_zone(zone, txn=txn, keys=[(key, dnskey)], inception=1700000000, expiration=1900000000)
    served = Zone(ZoneConfig(origin, "primary", file="bench.zone"), from_zone(zone))
    return QueryHandler(ZoneDB.of([served])), served


def nsec3_zone(origin: dns.name.Name) -> dns.zone.Zone:
    """The zone signed with NSEC3 (salt, no extra iterations) by BIND's dnssec-signzone (dnspython signs NSEC only)."""
    import tempfile

    from tests.peers import sign_zone

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "bench.zone"
        source.write_text(zone_text())
        signed = sign_zone(source, ORIGIN, Path(tmp) / "keys", nsec3_salt="cafe")
        return dns.zone.from_file(str(signed), origin, relativize=False, check_origin=False)


def wires(kind: str, count: int, edns: bool, do: bool, tag: str = "") -> list[bytes]:
    if kind == "unique":
        lines = unique_queries(count, tag)
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


def run(handler: QueryHandler, zone: Zone, batch: list[bytes], cold: bool = False) -> float:
    """Seconds for the batch, each query never asked before (and with C{cold} no shape known either)."""
    request = Request("192.0.2.1", 53000, False)
    answers = handler._answers.of(zone.data)
    answer = handler.answer
    clear = answers.clear
    shapes = getattr(handler, "_shapes", None)  # none before the shape memo
    if cold and shapes is not None:
        by_shape = shapes.of(zone.data)[0]
        start = time.process_time()
        for wire in batch:
            clear()
            by_shape.clear()
            answer(wire, request)
        return time.process_time() - start
    start = time.process_time()
    for wire in batch:
        clear()
        answer(wire, request)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", default="unique,mix")
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--edns", action="store_true")
    parser.add_argument("--do", action="store_true", help="the DO bit (implies --edns)")
    parser.add_argument("--signed", action="store_true", help="sign the zone (ED25519, NSEC)")
    parser.add_argument("--nsec3", action="store_true", help="sign the zone with NSEC3 (dnssec-signzone; implies --signed)")
    parser.add_argument("--cold", action="store_true", help="empty the shape memo before each query too: the slow path alone")
    parser.add_argument("--profile", metavar="KIND", help="profile one kind instead of timing")
    args = parser.parse_args()
    handler, zone = build_handler(args.signed or args.nsec3, args.nsec3)
    gc.collect()
    gc.freeze()  # as the server does once a version is built (secdns.heap)
    edns = args.edns or args.do
    if args.profile:
        batch = wires(args.profile, args.count, edns, args.do)
        profile = cProfile.Profile()
        profile.runcall(run, handler, zone, batch, args.cold)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        return
    for kind in args.kinds.split(","):
        # Each round of unique asks names of its own: never asked before, in
        # any round; shapes learnt in one serve the next, as in a flood.
        batches = [wires(kind, args.count, edns, args.do, f"r{i}-" if kind == "unique" else "") for i in range(args.repeat)]
        run(handler, zone, wires(kind, 1000, edns, args.do, "warm-")[:1000], args.cold)  # warm up
        times = [run(handler, zone, batch, args.cold) for batch in batches]
        count = len(batches[0])
        print(
            f"{kind:7} {count:6} queries  {min(times) / count * 1e6:7.1f} µs/query"
            f"  (first round {times[0] / count * 1e6:.1f})"
        )


if __name__ == "__main__":
    main()
