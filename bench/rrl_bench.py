"""
In-process cost of response rate limiting: microseconds per
L{secdns.server.rrl.RateLimiter.judge}, with the buckets in this process's
dict (C{workers = 1}) and in the table shared by every process
(L{secdns.server.rrltable}, C{workers > 1}).

    .venv/bin/python bench/rrl_bench.py

C{one key} is a flood: one network asking one name, past the limit;
C{1000 networks} spreads the same answer over 1,000 networks.  The figure
is the best of C{--repeat} rounds of the process's CPU time (timeit), so
that other load on the machine disturbs it less.
"""

from __future__ import annotations

import argparse
import time
import timeit

import dns.message

from secdns.server.rrl import RateLimiter
from secdns.server.rrltable import SharedBuckets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=100_000, help="calls a round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best is kept")
    args = parser.parse_args()
    response = dns.message.make_response(dns.message.make_query("www.example.org", "A")).to_wire()
    networks = [f"10.{i // 256}.{i % 256}.7" for i in range(1000)]
    stores = {"dict": lambda limiter: limiter, "shared": lambda limiter: setattr(limiter, "buckets", SharedBuckets.create())}
    for store, attach in stores.items():
        for label, address in (("one key", lambda i: "192.0.2.7"), ("1000 networks", lambda i: networks[i % 1000])):
            limiter = RateLimiter(10)
            attach(limiter)
            calls = iter(range(1 << 62))

            def judge() -> None:
                limiter.judge(address(next(calls)), response)

            best = min(timeit.Timer(judge, timer=time.process_time).repeat(args.repeat, args.number))
            print(f"{store:7} {label:14} {best / args.number * 1e6:.2f} us a judge")


if __name__ == "__main__":
    main()
