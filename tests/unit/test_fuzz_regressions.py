"""Inputs the fuzzers once crashed on (tests/fuzz/regressions/<target>/), replayed on every run.

Each file is the raw input libFuzzer wrote as ``crash-*``; the target must now handle it. The
first one: invalid UTF-8 before an unterminated string made sqlglot raise TokenError, which
reached the client as XX000 instead of 42601.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz import targets

REGRESSIONS = Path(__file__).resolve().parents[1] / "fuzz" / "regressions"
CASES = sorted(path for path in REGRESSIONS.glob("*/*") if path.is_file())


def test_there_are_regression_inputs() -> None:
    assert CASES, f"no regression inputs under {REGRESSIONS}"


@pytest.mark.parametrize("path", CASES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_a_crashing_input_is_handled(path: Path) -> None:
    target = {"protocol": targets.protocol, "sql": targets.sql}[path.parent.name]
    target(path.read_bytes())  # raises (failing the test) if the bug is back
