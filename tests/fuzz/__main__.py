"""
C{python -m tests.fuzz TARGET [CORPUS_DIR] [libFuzzer options]}: run one
target under atheris, coverage-guided, from its seeds (written into the
corpus directory when it is empty) and what the corpus holds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["secdns"]):
    from tests.fuzz.targets import SEEDS, TARGETS


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        raise SystemExit(f"usage: python -m tests.fuzz {{{','.join(TARGETS)}}} [libFuzzer options]")
    name, options = sys.argv[1], sys.argv[2:]
    if options and not options[0].startswith("-"):
        corpus = Path(options[0])
        corpus.mkdir(parents=True, exist_ok=True)
        if not any(corpus.iterdir()):
            for i, seed in enumerate(SEEDS[name]()):
                (corpus / f"seed-{i}").write_bytes(seed)
    atheris.Setup([sys.argv[0], *options], TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
