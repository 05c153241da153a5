"""
Each fuzz target under atheris, coverage-guided, for a bounded number of
runs from its seeds (issue 13): a short version of C{make fuzz}, so that a
parser change that lets an exception escape fails C{make test}.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fuzz.targets import TARGETS
from tests.support import ROOT

RUNS = 20_000


@pytest.mark.parametrize("name", list(TARGETS))
def test_fuzz_target(name, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz", name, str(tmp_path / "corpus"), f"-runs={RUNS}",
         f"-artifact_prefix={tmp_path}/", "-print_final_stats=0"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    assert result.returncode == 0 and not crashes, (
        f"fuzz target {name} failed ({crashes}); keep the input in tests/fuzz/corpus/{name}/:\n{result.stderr[-3000:]}"
    )
