"""
secdns.server.rrltable: the rate limiter's buckets in shared memory, one
set for every process of C{[server] workers = N}.
"""

from __future__ import annotations

import os
import subprocess
import sys

import dns.rcode
import hypothesis
import hypothesis.strategies as st
import pytest
from twisted.internet.task import Clock

from secdns.server.cookies import State
from secdns.server.rrl import LocalBuckets, RateLimiter, Verdict, bucket_key
from secdns.server.rrltable import PROBES, SharedBuckets, key_hash
from tests.support import ROOT
from tests.unit.test_rrl import response


@pytest.fixture
def table():
    table = SharedBuckets.create()
    yield table
    table.close()


def twin(table: SharedBuckets) -> SharedBuckets:
    """The same table mapped again from its descriptor, as a worker maps it (a dup: each closes its own)."""
    return SharedBuckets.attach(os.dup(table.fd))


RESPONSES = [
    response(),
    response("mail.example.org"),
    response(rdtype="AAAA"),
    response("nx.example.org", rcode=dns.rcode.NXDOMAIN),
    response(rcode=dns.rcode.REFUSED),
]
ADDRESSES = ["192.0.2.7", "192.0.2.200", "198.51.100.1", "2001:db8::1", "2001:db8:0:1::9"]
STEPS = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=3, allow_nan=False),  # seconds since the step before
        st.sampled_from(ADDRESSES),
        st.integers(min_value=0, max_value=len(RESPONSES) - 1),
        st.sampled_from([State.NONE, State.NONE, State.CLIENT, State.VALID]),
    ),
    max_size=200,
)


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(
    STEPS,
    st.integers(min_value=1, max_value=20),
    st.sampled_from([1.0, 2.0, 15.0]),
    st.integers(min_value=0, max_value=3),
    st.sampled_from(["slip", "badcookie"]),
)
def test_shared_table_judges_as_the_dict(steps, rate, window, slip, policy):
    """
    The same verdicts, step by step, from the dict and from the table: 20
    keys in 4,096 slots, none evicted (five keys in one run of slots is
    about 1 in 10**7).
    """
    table = SharedBuckets.create(slots=4096)
    try:
        clock = Clock()
        local = RateLimiter(rate, window, slip, cookie_policy=policy, clock=clock.seconds)
        shared = RateLimiter(rate, window, slip, cookie_policy=policy, clock=clock.seconds, buckets=table)
        assert isinstance(local.buckets, LocalBuckets)
        for advance, address, which, state in steps:
            clock.advance(advance)
            expected = local.judge(address, RESPONSES[which], lambda: state)
            assert shared.judge(address, RESPONSES[which], lambda: state) is expected
        assert shared.counts == local.counts
        assert len(table) == len(local.buckets)
    finally:
        table.close()


def test_two_limiters_over_one_table_limit_as_one(table):
    """Two processes (two limiters, two mappings) judging one flood: the rate once, not twice."""
    clock = Clock()
    first = RateLimiter(5, slip=0, clock=clock.seconds, buckets=table)
    other = twin(table)
    try:
        second = RateLimiter(5, slip=0, clock=clock.seconds, buckets=other)
        verdicts = [(first if i % 2 else second).judge("192.0.2.7", response()) for i in range(20)]
        assert verdicts.count(Verdict.SEND) == 5
        assert verdicts[:5] == [Verdict.SEND] * 5
        # The counters are each limiter's own (summed in the metrics).
        assert first.counts["send"] + second.counts["send"] == 5
        assert first.counts["drop"] + second.counts["drop"] == 15
        clock.advance(0.2)  # one token back, whoever takes it
        assert second.judge("192.0.2.7", response()) is Verdict.DROP  # it owes 15
        # Apart, each would have let 5 through.
        apart = [RateLimiter(5, slip=0, clock=clock.seconds) for _ in range(2)]
        assert [apart[i % 2].judge("192.0.2.7", response()) for i in range(20)].count(Verdict.SEND) == 10
    finally:
        other.close()


def test_another_process_limits_with_the_same_table(table):
    """A child process mapping the inherited descriptor sees the buckets this one wrote, and hashes as this one."""
    clock = Clock()
    here = RateLimiter(5, slip=0, clock=clock.seconds, buckets=table)
    assert [here.judge("192.0.2.7", response()) for _ in range(4)] == [Verdict.SEND] * 4
    key = bucket_key("192.0.2.7", response())
    program = (
        "import sys, time\n"
        "from secdns.server.rrl import RateLimiter\n"
        "from secdns.server.rrltable import SharedBuckets\n"
        "from tests.unit.test_rrl import response\n"
        "table = SharedBuckets.attach(int(sys.argv[1]))\n"
        "print(table.hash(bytes.fromhex(sys.argv[2])))\n"
        "rrl = RateLimiter(5, slip=0, clock=lambda: float(sys.argv[3]), buckets=table)\n"
        "print(' '.join(rrl.judge('192.0.2.7', response()).value for _ in range(3)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program, str(table.fd), key.hex(), repr(clock.seconds())],
        pass_fds=[table.fd], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split("\n")
    assert int(out[0]) == table.hash(key)
    assert out[1] == "send drop drop"  # one token left of five
    assert here.judge("192.0.2.7", response()) is Verdict.DROP


def colliding(table: SharedBuckets, count: int) -> list[str]:
    """C{count} addresses (each its own /24) whose buckets all start at slot 0."""
    found = []
    for i in range(1_000_000):
        address = f"10.{i >> 8 & 255}.{i & 255}.1"
        if table.hash(bucket_key(address, response())) & (table.slots - 1) == 0:
            found.append(address)
            if len(found) == count:
                return found
    raise AssertionError("not enough colliding keys")


def test_eviction_when_the_probed_slots_are_full():
    """A key whose slots are all taken takes the one updated longest ago; the others are kept."""
    table = SharedBuckets.create(slots=64)
    try:
        clock = Clock()
        rrl = RateLimiter(1, slip=0, clock=clock.seconds, buckets=table)
        addresses = colliding(table, PROBES + 1)
        for address in addresses[:PROBES]:
            clock.advance(0.1)
            assert rrl.judge(address, response()) is Verdict.SEND
        assert rrl.judge(addresses[1], response()) is Verdict.DROP  # refreshed: now the newest
        assert len(table) == PROBES
        clock.advance(0.1)
        assert rrl.judge(addresses[PROBES], response()) is Verdict.SEND
        assert len(table) == PROBES
        assert table.get(bucket_key(addresses[0], response())) is None  # the oldest went
        for address in addresses[1:]:
            assert table.get(bucket_key(address, response())) is not None
        assert rrl.judge(addresses[1], response()) is Verdict.DROP  # still owing
    finally:
        table.close()


def test_a_stable_key_hash(table):
    """The key's octets and their hash are fixed: every process, every start, computes the same."""
    key = bucket_key("192.0.2.7", response())
    assert key == b"192.0.2.0/24 \x03www\x07example\x03org\x00\x00\x01"
    assert bucket_key("2001:db8::1", response(rcode=dns.rcode.NXDOMAIN)) == b"2001:db8::/56 n"
    assert bucket_key("192.0.2.7", response(rcode=dns.rcode.REFUSED)) == b"192.0.2.0/24 e\x05"
    assert bucket_key("192.0.2.7", response("WWW.Example.ORG")) == key
    assert key_hash(key, bytes(16)) == 0x443B522D02536EEF
    assert key_hash(key, bytes(16)) != key_hash(key, bytes(15) + b"\x01")  # the salt changes it
    assert table.hash(key) == key_hash(key, table._salt)
    other = twin(table)
    try:
        assert other.hash(key) == table.hash(key)
    finally:
        other.close()


def test_clear_forgets_every_bucket(table):
    clock = Clock()
    rrl = RateLimiter(1, slip=0, clock=clock.seconds, buckets=table)
    assert [rrl.judge("192.0.2.7", response()) for _ in range(2)] == [Verdict.SEND, Verdict.DROP]
    table.clear()
    assert len(table) == 0
    assert rrl.judge("192.0.2.7", response()) is Verdict.SEND


def test_a_descriptor_that_is_no_table_is_refused(tmp_path):
    path = tmp_path / "not-a-table"
    path.write_bytes(bytes(4096))
    fd = os.open(path, os.O_RDWR)
    with pytest.raises(ValueError):
        SharedBuckets.attach(fd)
    os.close(fd)
