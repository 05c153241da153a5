"""
A zone file of the usual mix read by secdns and by BIND: how long each takes.

Writes a zone file of C{--records} records (default a million) under
C{bench.test}: A, AAAA, TXT (about one record in ten, quoted, with spaces,
escapes and now and then two strings), MX, CNAME, NS (delegations), SRV and
CAA, every name a target points at in the zone and with an address, so
that BIND's integrity checks pass.  Then it times, each in a process of its
own, started the same way and timed by wall clock from here:

  - secdns: C{secdns.zones.zonefile.load_zone_file}, what the zone loader
    calls (the child also reports the read alone, without the
    interpreter's start and imports, and whether the fast reader took
    the file or dnspython read it);
  - BIND: C{named-checkzone} (bind9-utils) on the same file.

and prints both, and their ratio.  Best of C{--runs}.

    .venv/bin/python bench/zonefile_bench.py
    .venv/bin/python bench/zonefile_bench.py --records 200000 --runs 3

Figures for the default million records (29.3 MB; 2-core VM, another
process using a core):

  - before the fast reader read quoted strings (issue 14): the file was
    read by dnspython's parser, 147.6 s (the read alone 143.5 s);
    named-checkzone 4.74 s in the same run: 31x BIND's time;
  - after it: read by the fast reader, 7.1-7.8 s best of 2-3 runs (the
    read alone 6.8-7.5 s); named-checkzone 4.5-4.8 s: 1.6x BIND's time.
    With the machine busier (BIND at 8.7 s), 12.1 s best of 3.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "bench.test"

#: How many of every 20 records are of each type: TXT 2 in 20 (10%).
MIX = ["A"] * 8 + ["AAAA"] * 3 + ["TXT"] * 2 + ["MX", "MX", "CNAME", "CNAME", "NS", "SRV", "CAA"]

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def txt(i: int) -> str:
    """A TXT record's RDATA as people write them: quoted, spaces, escapes, sometimes two strings."""
    kind = i % 5
    if kind == 0:
        return f'"v=spf1 ip4:10.{(i >> 8) & 255}.{i & 255}.0/24 include:_spf.example.net ~all"'
    if kind == 1:
        return f'"google-site-verification={i:08x}{WORDS[i % 8]}{i * 7919 % 100000:05d}"'
    if kind == 2:
        return f'"host {i}; owner \\"ops\\"" "room {WORDS[i % 8]}\\032{i % 97}"'
    if kind == 3:
        return f'( "k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC{i:07d}" ; key\n  "AQAB" )'
    return f"plain{i} \"with \\\\ backslash\" ''"


def write_zone(path: Path, records: int) -> int:
    """The zone file of C{records} records (about); the number written."""
    written = 0
    with open(path, "w") as out:
        out.write(
            f"$ORIGIN {ORIGIN}.\n$TTL 300\n@ IN SOA ns1 hostmaster (\n 2026010101 ; serial\n 3600 600 86400 60 )\n"
            "@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nns2 A 192.0.2.2\n"
        )
        written += 5
        for k in range(100):
            out.write(f"mail{k} A 192.0.2.{k + 10}\n")
        written += 100
        lines = []
        i = 0
        while written < records:
            rdtype = MIX[i % len(MIX)]
            if rdtype == "A":
                lines.append(f"h{i} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n")
            elif rdtype == "AAAA":
                lines.append(f"h{i} AAAA 2001:db8::{(i >> 16) & 0xffff:x}:{i & 0xffff:x}\n")
            elif rdtype == "TXT":
                lines.append(f"t{i} TXT {txt(i)}\n")
            elif rdtype == "MX":
                lines.append(f"m{i} 3600 IN MX {10 * (i % 3)} mail{i % 100}\n")
            elif rdtype == "CNAME":
                lines.append(f"c{i} CNAME mail{i % 100}\n")
            elif rdtype == "NS":
                lines.append(f"d{i} NS ns1\n")
            elif rdtype == "SRV":
                lines.append(f"_sip._tcp.s{i} SRV 0 {i % 10} 5060 mail{i % 100}.{ORIGIN}.\n")
            else:
                lines.append(f'a{i} CAA 0 issue "ca{i % 3}.example.net"\n')
            i += 1
            written += 1
            if len(lines) >= 20000:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))
    return written


def read_in_child(path: str) -> None:
    """Run in the child: read the file as the zone loader does, and report."""
    sys.path.insert(0, str(ROOT))
    import dns.name

    from secdns.wire import zonefile_parser
    from secdns.zones.zonefile import load_zone_file

    taken = []
    fast = zonefile_parser.read

    def watched(origin, text):
        result = fast(origin, text)
        taken.append(result is not None)
        return result

    zonefile_parser.read = watched
    started = time.monotonic()
    data = load_zone_file(dns.name.from_text(ORIGIN), path).data
    seconds = time.monotonic() - started
    print(json.dumps({"read": seconds, "records": data.record_count, "fast": all(taken)}))


def timed(command: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode:
        raise SystemExit(f"{command[0]} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-bind", action="store_true", help="time secdns only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        read_in_child(args.child)
        return

    checkzone = shutil.which("named-checkzone") or shutil.which("named-checkzone", path="/usr/sbin:/sbin:/usr/bin")
    with tempfile.TemporaryDirectory(prefix="secdns-zonefile-bench-") as tmp:
        zone = Path(tmp) / "bench.zone"
        written = write_zone(zone, args.records)
        print(f"zone file: {written:,} records, {zone.stat().st_size / 1e6:.1f} MB "
              f"({sum(1 for t in MIX if t == 'TXT') / len(MIX):.0%} TXT)", flush=True)
        ours, theirs, inner = [], [], []
        for run in range(args.runs):
            seconds, out = timed([sys.executable, __file__, "--child", str(zone)])
            report = json.loads(out.strip().splitlines()[-1])
            ours.append(seconds)
            inner.append(report["read"])
            print(f"run {run + 1}: secdns {seconds:6.2f} s (read {report['read']:.2f} s, "
                  f"{report['records']:,} records, {'fast reader' if report['fast'] else 'dnspython parser'})",
                  flush=True)
            if checkzone and not args.no_bind:
                seconds, out = timed([checkzone, "-q", ORIGIN, str(zone)])
                theirs.append(seconds)
                print(f"run {run + 1}: named-checkzone {seconds:6.2f} s", flush=True)
        line = f"best: secdns {min(ours):.2f} s (read {min(inner):.2f} s)"
        if theirs:
            line += f", BIND named-checkzone {min(theirs):.2f} s; secdns/BIND {min(ours) / min(theirs):.2f}x"
        elif not args.no_bind:
            line += "; named-checkzone not found (bind9-utils)"
        print(line)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
