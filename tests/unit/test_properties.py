"""
Properties of the pure parts, over generated inputs (hypothesis): serial
arithmetic (RFC 1982), the compact record form's round trip, and journal
diffs that condense to the diff of their ends and replay to the version
they lead to.
"""

from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.zone
import hypothesis
import hypothesis.strategies as st

from secdns.wire.compact import decode, encode
from secdns.zones.journal import condense, diff
from secdns.zones.serial import serial_add, serial_gt, serial_lt
from secdns.zones.version import ZoneData, from_zone

SERIALS = st.integers(0, 2**32 - 1)
STEPS = st.integers(1, 2**31 - 1)


@hypothesis.given(SERIALS, STEPS)
def test_a_serial_advanced_is_newer(serial, n):
    later = serial_add(serial, n)
    assert serial_gt(later, serial) and serial_lt(serial, later)
    assert not serial_gt(serial, later)


@hypothesis.given(SERIALS, SERIALS)
def test_serial_order_is_antisymmetric(a, b):
    assert not (serial_gt(a, b) and serial_gt(b, a))
    assert not serial_gt(a, a)
    if (a - b) % 2**32 == 2**31:  # exactly half the circle apart: not ordered (RFC 1982 section 3.2)
        assert not serial_gt(a, b) and not serial_gt(b, a)


# -- the compact form

RDATA = st.one_of(
    st.tuples(st.just("A"), st.ip_addresses(v=4).map(str)),
    st.tuples(st.just("AAAA"), st.ip_addresses(v=6).map(str)),
    st.tuples(st.just("TXT"), st.lists(st.text("abc xyz\\\";0123", min_size=0, max_size=40), min_size=1, max_size=3).map(
        lambda parts: " ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in parts))),
    st.tuples(st.just("MX"), st.tuples(st.integers(0, 65535), st.sampled_from(["mx", "mx.example.net.", "a.b"])).map(lambda t: f"{t[0]} {t[1]}")),
    st.tuples(st.just("SRV"), st.tuples(st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 65535)).map(lambda t: f"{t[0]} {t[1]} {t[2]} sip")),
    st.tuples(st.just("CAA"), st.sampled_from(['0 issue "ca.example"', '128 iodef "mailto:x@example.org"', '0 issuewild ";"'])),
)
ORIGIN = dns.name.from_text("example.org.")


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(st.lists(RDATA, min_size=1, max_size=12), st.integers(0, 2**31 - 1))
def test_compact_form_round_trip(items, ttl):
    """Whatever RRsets an owner has, encode then decode gives them back (the store and the memo rely on it)."""
    rdatasets: dict[int, dns.rdataset.Rdataset] = {}
    for rdtype, text in items:
        kind = dns.rdatatype.from_text(rdtype)
        rds = rdatasets.setdefault(kind, dns.rdataset.Rdataset(dns.rdataclass.IN, kind))
        rds.add(dns.rdata.from_text(dns.rdataclass.IN, kind, text, origin=ORIGIN, relativize=False), ttl)
    back = {rds.rdtype: rds for rds in decode(encode(rdatasets.values()))}
    assert back.keys() == rdatasets.keys()
    for kind, rds in rdatasets.items():
        assert back[kind] == rds and back[kind].ttl == rds.ttl


# -- journal diffs

HOSTS = st.dictionaries(
    st.sampled_from(["a", "b", "c", "www", "x.y", "mail", "deep.x.y"]),
    st.lists(st.sampled_from(["A 192.0.2.1", "A 192.0.2.2", "AAAA 2001:db8::1", 'TXT "t"', "MX 10 mail"]), min_size=1, max_size=3),
    max_size=6,
)


def zone_of(serial: int, hosts: dict[str, list[str]]) -> ZoneData:
    lines = [f"@ 300 SOA ns1 hostmaster {serial} 3600 600 86400 60", "@ 300 NS ns1", "ns1 300 A 192.0.2.53"]
    lines += [f"{owner} 300 {record}" for owner, records in hosts.items() for record in records]
    return from_zone(dns.zone.from_text("\n".join(lines) + "\n", origin=ORIGIN, relativize=False))


def records(rrsets) -> set[str]:
    return {f"{name} {rds.ttl} {dns.rdatatype.to_text(rds.rdtype)} {rdata}" for name, rds in rrsets for rdata in rds}


def replay(data: ZoneData, changeset) -> set[str]:
    """The records of C{data} with C{changeset}'s removals taken out and additions put in, SOA aside."""
    present = records([r for r in data.rrsets() if r[1].rdtype != dns.rdatatype.SOA])
    return (present - records(changeset.removed[1:])) | records(changeset.added[1:])


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(st.lists(HOSTS, min_size=2, max_size=5))
def test_diffs_condense_and_replay(versions):
    """
    The condensed chain of diffs is the diff of its ends, record for
    record; and each diff, replayed on its old version, gives the new one.
    """
    zones = [zone_of(serial, hosts) for serial, hosts in enumerate(versions, 1)]
    chain = [diff(a, b) for a, b in zip(zones, zones[1:])]
    for old, new, changeset in zip(zones, zones[1:], chain):
        assert replay(old, changeset) == records([r for r in new.rrsets() if r[1].rdtype != dns.rdatatype.SOA])
    condensed, direct = condense(chain), diff(zones[0], zones[-1])
    assert (condensed.serial_from, condensed.serial_to) == (1, len(zones))
    assert records(condensed.removed[1:]) == records(direct.removed[1:])
    assert records(condensed.added[1:]) == records(direct.added[1:])
