"""Progress of a long statement (no sockets): the line it reports, the reporting loop, and the
setting that turns it on, from SET or from a start-up packet's ``options`` (PGOPTIONS)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.errors import LaminarError
from gateway.progress import SETTING, Progress, interval_s, run_reporting_progress
from gateway.settings import SessionSettings


def test_the_line_names_the_statement_phase_amount_and_rate() -> None:
    progress = Progress("INSERT INTO out", started=100.0, phase_started=100.0)
    progress.begin('writing to sink "out"', total=1000)
    progress.phase_started = 102.0
    progress.advance(250)
    assert progress.message(now=104.0) == (
        'INSERT INTO out: writing to sink "out": 250 of 1000 rows (125 rows/s), 4 s'
    )


def test_a_counter_is_read_and_capped_at_the_total() -> None:
    acknowledged = [0]
    progress = Progress("INSERT INTO out")
    progress.begin("writing", total=10, counter=lambda: acknowledged[0])
    acknowledged[0] = 7
    assert progress.current() == 7
    acknowledged[0] = 25  # another session wrote to the same connection meanwhile
    assert progress.current() == 10


async def test_reports_come_while_the_work_runs_and_stop_with_it() -> None:
    release = asyncio.Event()
    lines: list[str] = []
    progress = Progress("INSERT INTO out")
    progress.begin('reading source "src"', unit="records")

    async def work() -> str:
        await release.wait()
        return "done"

    async def report(line: str) -> None:
        lines.append(line)
        progress.advance(10)
        if len(lines) == 3:
            release.set()

    result = await run_reporting_progress(work(), interval_s=0.001, progress=lambda: progress, report=report)
    assert result == "done"
    assert len(lines) == 3
    assert [line.split(": ")[2].split(" ")[0] for line in lines] == ["0", "10", "20"]


async def test_cancelling_the_report_loop_cancels_the_work() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    async def report(_: str) -> None:
        return None

    loop = asyncio.ensure_future(
        run_reporting_progress(work(), interval_s=0.001, progress=lambda: None, report=report)
    )
    await started.wait()
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert cancelled.is_set()


def test_the_setting_takes_units_and_start_up_options() -> None:
    settings = SessionSettings("laminar")
    assert interval_s(settings.get(SETTING)) == 0.0
    settings.set(SETTING, "2s")
    assert settings.get(SETTING) == "2000"
    settings.set(SETTING, "250ms")
    assert interval_s(settings.get(SETTING)) == 0.25
    with pytest.raises(LaminarError) as bad:
        settings.set(SETTING, "soon")
    assert bad.value.sqlstate == "22023"
    started = SessionSettings("laminar", {"options": f"-c {SETTING}=1500 --application-name=cli"})
    assert (started.get(SETTING), started.get("application_name")) == ("1500", "cli")
    glued = SessionSettings("laminar", {"options": "-cTimeZone=Europe/Paris"})
    assert glued.get("TimeZone") == "Europe/Paris"
