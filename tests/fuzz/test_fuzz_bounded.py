"""The coverage-guided fuzzers (atheris), run for a bounded time in ``make test``.

``make test`` runs each for 20 s from a fixed seed, so a run explores the same inputs wherever it
runs (a slower machine a prefix of them) and main does not turn red on a lucky draw; ``make fuzz``
(LAMINAR_FUZZ_SECONDS) runs them longer from a random seed, to find what is new. A crash fails this
test with the input's bytes; copy the ``crash-*`` file it names into
tests/fuzz/regressions/<target>/ and fix the bug, so tests/unit/test_fuzz_regressions.py keeps it
fixed.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LONG_RUN = os.environ.get("LAMINAR_FUZZ_SECONDS")
SECONDS = int(LONG_RUN or "20")
SEED = [] if LONG_RUN else ["-seed=1"]


@pytest.mark.parametrize("target", ["protocol", "sql"])
def test_fuzzer_finds_no_crash(target: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.run",
            target,
            f"-max_total_time={SECONDS}",
            *SEED,
            "-max_len=4096",
            "-print_final_stats=1",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=SECONDS * 4 + 60,
        check=False,
    )
    crashes = sorted(tmp_path.glob("crash-*")) + sorted(tmp_path.glob("timeout-*"))
    found = "\n".join(f"{path.name}: {base64.b64encode(path.read_bytes()).decode()}" for path in crashes)
    assert not crashes, f"{target} fuzzer found a crash:\n{found}\n{done.stderr[-4000:]}"
    assert done.returncode == 0, f"{target} fuzzer exited {done.returncode}:\n{done.stderr[-4000:]}"
    runs = [line for line in done.stderr.splitlines() if line.startswith("stat::number_of_executed_units")]
    assert runs, done.stderr[-2000:]
    assert int(runs[0].split(":")[-1]) > 100, runs  # it really ran
