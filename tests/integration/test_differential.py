"""
Differential test: secdns and BIND 9 load the same zone files, get the same
queries, and must give the same answers.

The zones, built at setup from C{tests/zones/}: C{template.zone} loaded at
four origins, unsigned, signed with NSEC, with NSEC3 and with NSEC3
opt-out (C{dnssec-keygen}, C{dnssec-signzone}), and C{other.zone}, into
which the template's out-of-zone targets point.  The queries: every name of
those zones (owners, empty non-terminals, names under wildcards,
delegations, DNAMEs and CNAMEs, missing names, names in no zone) with a
seeded sample of the types present and absent, each sent with a random mix
of DO, EDNS (and its payload size), UDP or TCP, and 0x20 case.

Compared: the rcode, the AA and TC flags, and each section as a set of
RRsets with their TTLs, which must be equal (no TTL difference needed an
allowance).  Names compare case-insensitively; the OPT record and its
options (BIND adds cookies and Extended DNS Errors) are ignored.  When a
response over UDP is truncated, the query is asked again over TCP of both
servers, and those full answers must agree too.  The test also checks that
BIND's answers showed every kind of answer in L{EXPECTED_FEATURES}, so that
a change of zones or queries cannot quietly stop testing one.  Each query
is sent to secdns a second time, in other case, to check that the answer
it then takes from its memo of rendered responses is the same.

BIND runs with C{minimal-responses no-auth}: secdns does not put the apex
NS RRset in the authority section of positive answers (RFC 2181 section 6.1
allows it and it only makes answers bigger), where BIND by default does.

Where the two may rightly differ, L{ALLOWANCES} says how and why; every
other difference is a bug.
"""

from __future__ import annotations

import collections
import random
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import attrs
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from tests.peers import Bind, PeerZone, sign_zone, soa_serial
from tests.support import LOOPBACK, ROOT, Secdns, free_port

ZONES = ROOT / "tests" / "zones"

#: The template zone at four origins, and how each is signed.
TEMPLATE_ZONES: dict[str, dict | None] = {
    "diff.test.": None,
    "signed.test.": {},
    "nsec3.test.": {"nsec3_salt": "cafe"},
    "optout.test.": {"nsec3_salt": "beef", "opt_out": True},
}
OTHER_ZONE = "other.test."

#: Names relative to a template zone's origin that own nothing there: empty
#: non-terminals, names under wildcards, cuts, DNAMEs and CNAMEs, and names
#: before, between and after the owners in canonical order.
EXTRA_NAMES = [
    "b.ent", "ent", "nx.ent", "x.b.ent", "_udp", "target", "b.target",
    "x.wild", "y.x.wild", "anything.wild", "a.b.wild", "a.host.wild", "z.deep.x.wild",
    "foo.wc", "a.b.wc", "foo.wcout", "q.ce", "q.sub.ce", "q.r.sub.ce", "a.b.ce",
    "host.dn", "a.b.dn", "nx.dn", "www.host.dn", "host.dnout", "www.dnout", "nx.dnout",
    "www.sub", "deep.www.sub", "nx.ns.sub", "x.sib", "x.insecure", "ns.insecure.x",
    "x.www", "x.loop1", "x.dangling", "nothere", "nx", "a.nx", "0", "zzzz", "zzz.zz",
]
#: Names in no zone either server serves: REFUSED.
FOREIGN_NAMES = ["test.", "example.net.", "www.example.net.", "."]

TYPES = [
    "A", "AAAA", "NS", "SOA", "MX", "TXT", "SRV", "CNAME", "DNAME", "DS", "DNSKEY",
    "NSEC", "NSEC3", "NSEC3PARAM", "RRSIG", "HINFO", "CAA", "SSHFP", "PTR", "NAPTR", "ANY",
]
#: Types asked of every name; the rest are sampled.
ALWAYS = ["A", "TXT", "CNAME", "ANY"]
SAMPLED_TYPES = 5
#: NSEC3 owners (hashes) get fewer questions: they are all alike.
HASH_TYPES = ["A", "NSEC3", "RRSIG"]

SEED = 20240101
EDNS_PAYLOADS = (512, 1232, 4096)
WORKERS = 8


@attrs.frozen
class Query:
    """One generated query and how it is sent."""

    qname: str
    rdtype: str
    dnssec: bool
    edns: bool
    payload: int
    tcp: bool

    def message(self) -> dns.message.Message:
        return dns.message.make_query(
            self.qname,
            self.rdtype,
            use_edns=0 if self.edns else False,
            payload=self.payload,
            want_dnssec=self.dnssec,
        )

    def over_tcp(self) -> "Query":
        return attrs.evolve(self, tcp=True)

    def recased(self) -> "Query":
        return attrs.evolve(self, qname=self.qname.swapcase())

    def __str__(self) -> str:
        edns = f"EDNS {self.payload}{' DO' if self.dnssec else ''}" if self.edns else "no EDNS"
        return f"{self.qname} {self.rdtype} ({edns}, {'TCP' if self.tcp else 'UDP'})"


# -- setting up


@pytest.fixture(scope="module")
def zone_files(tmp_path_factory) -> dict[str, Path]:
    return build_zones(tmp_path_factory.mktemp("zones"))


@pytest.fixture(scope="module")
def servers(tmp_path_factory, zone_files) -> Iterator[tuple[Bind, Secdns]]:
    tmp_path = tmp_path_factory.mktemp("servers")
    bind = Bind(
        tmp_path,
        free_port(),
        zones=[PeerZone(name, file=path) for name, path in zone_files.items()],
        options="minimal-responses no-auth;",
    )
    secdns = start_secdns(tmp_path, free_port(), zone_files)
    try:
        bind.start()
        secdns.wait_ready()
        for zone in zone_files:
            assert soa_serial(secdns.port, zone) is not None, f"secdns does not serve {zone}:\n{secdns.log()}"
        yield bind, secdns
    finally:
        bind.stop()
        secdns.stop()


def build_zones(directory: Path) -> dict[str, Path]:
    """The zone files, signed as L{TEMPLATE_ZONES} says: zone name to path."""
    template = (ZONES / "template.zone").read_text()
    files = {}
    for origin, signing in TEMPLATE_ZONES.items():
        path = directory / f"{origin}zone"
        path.write_text(template)
        if signing is not None:
            path = sign_zone(path, origin, directory / f"keys-{origin}", **signing)
        files[origin] = path
    other = directory / f"{OTHER_ZONE}zone"
    other.write_text((ZONES / "other.zone").read_text())
    files[OTHER_ZONE] = other
    return files


def start_secdns(directory: Path, port: int, files: dict[str, Path]) -> Secdns:
    zones = "".join(
        f'\n[[zone]]\nname = "{name}"\ntype = "primary"\nfile = "{path}"\n' for name, path in files.items()
    )
    config = directory / "secdns.toml"
    config.write_text(f'[server]\nlisten = ["{LOOPBACK}:{port}"]\nstate_dir = "var"\n{zones}')
    return Secdns(config, port)


# -- the queries


def generate_queries(files: dict[str, Path]) -> list[Query]:
    """Every name of the zones with some types each, sent in a random (seeded) way."""
    rng = random.Random(SEED)
    names = []
    for origin, path in files.items():
        zone = dns.zone.from_file(str(path), origin=origin, relativize=False, check_origin=False)
        owners = {name.to_text(): _is_hash(zone, name) for name in zone.nodes}
        extra = EXTRA_NAMES if origin in TEMPLATE_ZONES else ["nx"]
        owners.update({f"{relative}.{origin}": False for relative in extra})
        names += sorted(owners.items())
    names += [(name, False) for name in FOREIGN_NAMES]

    queries = []
    for qname, is_hash in names:
        signed = any(qname.endswith(origin) for origin, how in TEMPLATE_ZONES.items() if how is not None)
        if is_hash:
            types = HASH_TYPES
        else:
            types = ALWAYS + rng.sample([t for t in TYPES if t not in ALWAYS], SAMPLED_TYPES)
        for rdtype in types:
            edns = rng.random() < 0.8
            queries.append(
                Query(
                    qname=_random_case(rng, qname),
                    rdtype=rdtype,
                    dnssec=edns and rng.random() < (0.8 if signed else 0.3),
                    edns=edns,
                    payload=rng.choice(EDNS_PAYLOADS),
                    tcp=rng.random() < 0.25,
                )
            )
    return queries


def _is_hash(zone: dns.zone.Zone, name: dns.name.Name) -> bool:
    node = zone.nodes[name]
    return all(dns.rdatatype.NSEC3 in (rds.rdtype, rds.covers) for rds in node.rdatasets)


def _random_case(rng: random.Random, name: str) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)


def ask(port: int, query: Query) -> dns.message.Message:
    send = dns.query.tcp if query.tcp else dns.query.udp
    return send(query.message(), LOOPBACK, port=port, timeout=5)


# -- comparing


def summary(response: dns.message.Message) -> dict:
    """What is compared: rcode, AA, TC and each section as a set of RRsets."""
    return {
        "rcode": dns.rcode.to_text(response.rcode()),
        "AA": bool(response.flags & dns.flags.AA),
        "TC": bool(response.flags & dns.flags.TC),
        "answer": _rrsets(response.answer),
        "authority": _rrsets(response.authority),
        "additional": _rrsets(response.additional),
    }


def _rrsets(section) -> frozenset:
    return frozenset(
        (
            rrset.name.canonicalize(),
            rrset.rdtype,
            rrset.covers,
            rrset.ttl,
            frozenset(rdata.to_digestable() for rdata in rrset),
        )
        for rrset in section
    )


#: The ways secdns's answers may differ from BIND 9.18's, and why.  Each is
#: applied only where its condition (in L{Comparison}) holds.
ALLOWANCES = {
    "truncated-content": (
        "When both set TC over UDP, what else the two truncated responses hold "
        "is not compared: BIND fills one with the RRsets that fit (and, without "
        "EDNS, part of an RRset), secdns sends the question alone.  RFC 2181 "
        "section 9: a client ignores a response with TC set and asks again over "
        "TCP.  The answers over TCP are compared instead."
    ),
    "bind-longer-encoding": (
        "BIND set TC over UDP and secdns did not: BIND compresses names "
        "case-sensitively, so with a 0x20 mixed-case QNAME its encoding of the "
        "same records is longer and crosses the size limit first.  Allowed only "
        "when secdns's UDP answer equals BIND's (and secdns's) answer over TCP."
    ),
    "referral-glue-tc": (
        "secdns set TC on a referral whose glue did not all fit and BIND 9.18 "
        "did not: RFC 9471 section 3 requires TC when in-domain glue is left "
        "out; BIND 9.18 sends the glue that fits.  Allowed only when the answers "
        "over TCP agree."
    ),
    "any-below-dname": (
        "An ANY query below a DNAME: secdns follows the synthesised CNAME to "
        "its target, as RFC 6672 section 3.2 says and Knot and NSD answer; BIND "
        "9.18 stops at the synthesised CNAME.  Allowed when secdns's answer "
        "section holds all of BIND's (the DNAME and the CNAME), or secdns's "
        "longer answer was truncated over UDP (the answers over TCP are compared "
        "then); what the target adds (its records, or NXDOMAIN with the SOA) is "
        "not compared."
    ),
    "bind-no-additional-edns512": (
        "BIND leaves the additional section out of every non-referral UDP "
        "answer to a query that advertises an EDNS buffer of exactly 512 "
        "bytes, even when it fits.  Additional data is optional (RFC 1034 "
        "section 4.3.2 step 6, RFC 2181 section 9); secdns adds it when it fits."
    ),
}


@attrs.define
class Comparison:
    """
    Compares one query's answers, applying L{ALLOWANCES}.

    @ivar used: how often each allowance was applied.
    @ivar seen: the L{features} of BIND's answers.
    """

    bind_port: int
    secdns_port: int
    used: collections.Counter = attrs.Factory(collections.Counter)
    seen: set[str] = attrs.Factory(set)
    _lock: threading.Lock = attrs.Factory(threading.Lock)

    def check(self, query: Query) -> str | None:
        """A report of the differences in the answers to C{query}, or L{None}."""
        bind, ours = ask(self.bind_port, query), ask(self.secdns_port, query)
        with self._lock:
            self.seen |= features(bind)
        expected, actual = summary(bind), summary(ours)
        problems = []
        # Asked again, in other case, secdns answers from its memo of rendered
        # responses (its fast path): the same answer.
        again = ask(self.secdns_port, query.recased())
        if summary(again) != actual:
            keys = ["the answer to the same query before"]
            problems.append(_report(query.recased(), keys, ours, again, ("secdns, first", "secdns, again")))
        if not query.tcp and (expected["TC"] or actual["TC"]):
            bind_full, ours_full = ask(self.bind_port, query.over_tcp()), ask(self.secdns_port, query.over_tcp())
            keys = self.differences(query, summary(bind_full), summary(ours_full))
            if keys:
                problems.append(_report(query.over_tcp(), keys, bind_full, ours_full))
            expected, actual = self.truncation(query, expected, actual, summary(bind_full))
        keys = self.differences(query, expected, actual)
        if keys:
            problems.append(_report(query, keys, bind, ours))
        return "\n".join(problems) or None

    def truncation(self, query, expected, actual, full) -> tuple[dict, dict]:
        """Apply the allowances for responses truncated over UDP."""
        if expected["TC"] and actual["TC"]:
            self.allow("truncated-content")
            return _flags_only(expected), _flags_only(actual)
        if expected["TC"] and _without_tc(actual) == _without_tc(full):
            self.allow("bind-longer-encoding")
            return _flags_only(expected, tc=False), _flags_only(actual, tc=False)
        if actual["TC"] and _is_referral(full) and expected["additional"] < full["additional"]:
            self.allow("referral-glue-tc")
            return _flags_only(expected, tc=False), _flags_only(actual, tc=False)
        return expected, actual

    def allow(self, name: str) -> None:
        with self._lock:
            self.used[name] += 1

    def differences(self, query: Query, expected: dict, actual: dict) -> list[str]:
        if (
            query.rdtype == "ANY"
            and any(rrset[1] == dns.rdatatype.DNAME for rrset in expected.get("answer", ()))
            and (expected["answer"] <= actual.get("answer", frozenset()) or actual["TC"])
        ):
            # Truncated: the target's proof made secdns's longer; the full answers over TCP were compared.
            self.allow("any-below-dname")
            return []
        if (
            query.edns
            and query.payload == 512
            and not query.tcp
            and "additional" in expected
            and not expected["additional"]
            and actual["additional"]
            and not _is_referral(expected)
        ):
            self.allow("bind-no-additional-edns512")
            actual = dict(actual, additional=frozenset())
        return [key for key in expected if expected[key] != actual[key]]


def _flags_only(summary: dict, tc: bool | None = None) -> dict:
    flags = {key: summary[key] for key in ("rcode", "AA", "TC")}
    if tc is not None:
        flags["TC"] = tc
    return flags


def _without_tc(summary: dict) -> dict:
    return dict(summary, TC=False)


def _is_referral(summary: dict) -> bool:
    return not summary["AA"] and any(rrset[1] == dns.rdatatype.NS for rrset in summary["authority"])


def _report(query, keys, expected, actual, labels=("BIND", "secdns")) -> str:
    return (
        f"query: {query}\ndiffers in: {', '.join(keys)}\n"
        f"--- {labels[0]}\n{expected.to_text()}\n--- {labels[1]}\n{actual.to_text()}\n"
    )


# -- what the queries must cover


def features(response: dns.message.Message) -> set[str]:
    """The kinds of answer a response shows, so that the test can insist it saw each."""
    found = {dns.rcode.to_text(response.rcode())}

    def types(section) -> set[int]:
        return {rrset.rdtype for rrset in section}

    answer, authority, additional = types(response.answer), types(response.authority), types(response.additional)
    if response.flags & dns.flags.TC:
        found.add("TC")
    if not response.answer and dns.rdatatype.SOA in authority and response.rcode() == dns.rcode.NOERROR:
        found.add("NODATA")
    if not response.flags & dns.flags.AA and dns.rdatatype.NS in authority:
        found.add("referral")
        if additional & {dns.rdatatype.A, dns.rdatatype.AAAA}:
            found.add("glue")
        if dns.rdatatype.DS in authority:
            found.add("DS in referral")
    if dns.rdatatype.DNAME in answer:
        found.add("DNAME")
    if sum(rrset.rdtype == dns.rdatatype.CNAME for rrset in response.answer) > 1:
        found.add("CNAME chain")
    for rdtype in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3):
        if rdtype in authority:
            found.add(f"{dns.rdatatype.to_text(rdtype)} proof")
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.RRSIG and rrset[0].labels < len(rrset.name) - 1:
            found.add("wildcard")
    if response.answer and additional & {dns.rdatatype.A, dns.rdatatype.AAAA}:
        found.add("additional")
    return found


EXPECTED_FEATURES = {
    "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "NODATA", "TC", "referral", "glue",
    "DS in referral", "DNAME", "CNAME chain", "NSEC proof", "NSEC3 proof", "wildcard", "additional",
}


# -- the test


def test_answers_match_bind(servers, zone_files):
    """secdns gives the same rcode, AA, TC and sections as BIND for every generated query."""
    bind, secdns = servers
    queries = generate_queries(zone_files)
    comparison = Comparison(bind.port, secdns.port)
    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        reports = list(pool.map(comparison.check, queries))
    mismatches = [report for report in reports if report is not None]
    print(
        f"\n{len(queries)} queries compared in {time.monotonic() - started:.1f} s; "
        f"allowances used: {dict(comparison.used)}"
    )
    shown = "\n".join(mismatches[:8])
    assert not mismatches, f"{len(mismatches)} of {len(queries)} answers differ; the first ones:\n{shown}"
    missing = EXPECTED_FEATURES - comparison.seen
    assert not missing, f"no query produced: {missing}"


# -- opcodes


def _raw_exchange(port: int, wire: bytes) -> bytes | None:
    """One datagram to 127.0.0.1:C{port}, its answer or L{None} after 2 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)
        s.sendto(wire, (LOOPBACK, port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


def _opcode_request(opcode: int, with_question: bool, edns: bool) -> bytes:
    header = struct.pack("!HHHHHH", 0x1234, opcode << 11, 1 if with_question else 0, 0, 0, 1 if edns else 0)
    question = dns.name.from_text("www.diff.test.").to_wire() + struct.pack("!HH", 1, 1) if with_question else b""
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0) if edns else b""
    return header + question + opt


def _header_summary(wire: bytes | None) -> dict | None:
    """What of an answer to an odd opcode is compared: opcode, rcode, QR, AA, counts, OPT present."""
    if wire is None:
        return None
    _id, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
    return {
        "opcode": (flags >> 11) & 0xF, "rcode": flags & 0xF, "qr": bool(flags & 0x8000),
        "aa": bool(flags & 0x0400), "qdcount": qd, "ancount": an, "nscount": ns, "opt": ar > 0,
    }


def test_opcodes_match_bind(servers):
    """
    Every opcode, 0 to 15, with and without a question, with and without
    EDNS: the same opcode echoed, rcode (NOTIMP for the ones not
    implemented: RFC 1035 section 4.1.1), flags and section counts as BIND.
    """
    bind, secdns = servers
    differences = []
    for opcode in range(16):
        for with_question in (True, False):
            for edns in (False, True):
                wire = _opcode_request(opcode, with_question, edns)
                theirs = _header_summary(_raw_exchange(bind.port, wire))
                ours = _header_summary(_raw_exchange(secdns.port, wire))
                if theirs != ours:
                    differences.append(f"opcode {opcode} question={with_question} edns={edns}: BIND {theirs}, secdns {ours}")
    assert not differences, "\n".join(differences)
