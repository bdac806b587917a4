"""Progress of a long statement, sent to the client as NOTICE messages while the statement runs.

A bounded ``INSERT INTO sink SELECT ... FROM source`` can read and write millions of records; a
user who started it from ``laminar sql -f`` (psql) wants to see it move. The session keeps a
:class:`Progress` for the statement it runs: which phase it is in (reading a source, computing the
rows, writing them to a sink) and how far that phase got. :func:`run_reporting_progress` runs the
statement and, every ``laminar.progress_interval`` milliseconds it is still running, hands a line
such as ``INSERT INTO orders_out: writing to sink "orders_out": 120000 of 500000 rows (60000
rows/s), 4 s`` to the handler, which sends it as a NoticeResponse; psql prints it to stderr at once.

The setting is 0 (off) by default, so drivers that collect notices see nothing new;
``laminar sql`` turns it on for its psql. The notices carry SQLSTATE 00000, like PostgreSQL's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

SETTING = "laminar.progress_interval"


@dataclass(slots=True)
class Progress:
    """How far the running statement got: its phase and the rows (or records) done in it."""

    statement: str  # e.g. "INSERT INTO orders_out"
    phase: str = "starting"
    done: int = 0
    total: int | None = None
    unit: str = "rows"
    started: float = field(default_factory=time.monotonic)
    phase_started: float = field(default_factory=time.monotonic)
    counter: Callable[[], int] | None = None  # reads ``done`` from elsewhere (acknowledged records)

    def begin(
        self,
        phase: str,
        *,
        total: int | None = None,
        unit: str = "rows",
        counter: Callable[[], int] | None = None,
    ) -> None:
        self.phase, self.total, self.unit, self.counter = phase, total, unit, counter
        self.done = 0
        self.phase_started = time.monotonic()

    def advance(self, count: int = 1) -> None:
        self.done += count

    def current(self) -> int:
        done = self.counter() if self.counter is not None else self.done
        return done if self.total is None else min(done, self.total)

    def message(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        done = self.current()
        amount = f"{done} of {self.total}" if self.total is not None else str(done)
        rate = done / max(now - self.phase_started, 1e-3)
        return (
            f"{self.statement}: {self.phase}: {amount} {self.unit} ({rate:.0f} {self.unit}/s), "
            f"{now - self.started:.0f} s"
        )


async def run_reporting_progress(
    work: Awaitable[T],
    *,
    interval_s: float,
    progress: Callable[[], Progress | None],
    report: Callable[[str], Awaitable[None]],
) -> T:
    """Await ``work``; every ``interval_s`` it is still running, ``report`` the progress line (if
    the statement keeps a :class:`Progress`). ``interval_s`` <= 0 awaits ``work`` alone.
    Cancelling this cancels ``work``."""
    if interval_s <= 0:
        return await work
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait([task], timeout=interval_s)
            if done:
                return task.result()
            current = progress()
            if current is not None:
                await report(current.message())
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def interval_s(value: str | None) -> float:
    """The setting's value (milliseconds, as SET stores it) in seconds; 0 when unset."""
    return 0.0 if not value else int(value) / 1000
