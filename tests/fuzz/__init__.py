"""
Coverage-guided fuzzing of the parsers that read what anyone may send
(issue 13): C{python -m tests.fuzz TARGET [libFuzzer options]} runs one
target under atheris; L{targets} says what each may and may not do.
C{make fuzz} runs each for a while; C{make test} for a few thousand runs,
and replays every input kept in C{tests/fuzz/corpus/TARGET/}.
"""
