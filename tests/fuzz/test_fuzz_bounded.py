"""The coverage-guided fuzzers (atheris), run for a bounded time in ``make test``.

``make fuzz`` runs them longer. A crash fails this test with the input's bytes; copy the
``crash-*`` file it names into tests/fuzz/regressions/<target>/ and fix the bug, so
tests/unit/test_fuzz_regressions.py keeps it fixed.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("LAMINAR_FUZZ_SECONDS", "20"))


@pytest.mark.parametrize("target", ["protocol", "sql"])
def test_fuzzer_finds_no_crash(target: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.run",
            target,
            f"-max_total_time={SECONDS}",
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
