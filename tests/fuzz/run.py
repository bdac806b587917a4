"""Run one fuzz target under atheris (libFuzzer, coverage-guided): ``python -m tests.fuzz.run
protocol|sql [libFuzzer flags]``, e.g. ``-max_total_time=60``. A crash leaves its input as
``crash-*`` in the working directory; copy it to tests/fuzz/regressions/<target>/ so the
regression test replays it for good."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["gateway"]):
    from tests.fuzz import targets

TARGETS = {"protocol": targets.protocol, "sql": targets.sql}


def main() -> None:
    name = sys.argv[1]
    target = TARGETS[name]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
