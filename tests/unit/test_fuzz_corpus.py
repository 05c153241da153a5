"""
Every input the fuzzers found a bug with (tests/fuzz/corpus/TARGET/), and
every seed, through its target: each must return or raise only what its
parser documents (see tests/fuzz/targets.py).  The fuzzers themselves run
in tests/integration/test_fuzz.py and C{make fuzz}.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.targets import SEEDS, TARGETS

CORPUS = Path(__file__).resolve().parent.parent / "fuzz" / "corpus"

CASES = [
    pytest.param(name, path, id=f"{name}/{path.name}")
    for name in TARGETS
    for path in sorted((CORPUS / name).glob("*") if (CORPUS / name).is_dir() else [])
]


@pytest.mark.parametrize("name, path", CASES)
def test_kept_inputs(name, path):
    TARGETS[name](path.read_bytes())


@pytest.mark.parametrize("name", list(TARGETS))
def test_seeds(name):
    for seed in SEEDS[name]():
        TARGETS[name](seed)


def test_regressions_are_kept():
    """The two bugs fuzzing found: a TSIG record outside the additional section, a label over 63 octets in a transfer."""
    assert {case.values[0] for case in CASES} >= {"tsig", "transfer"}
