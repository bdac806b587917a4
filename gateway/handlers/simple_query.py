"""The simple query sub-protocol: one Query message, any number of statements, one ReadyForQuery.

Statements run in order; results come back in text format. The first error ends the message:
the remaining statements are skipped, as in PostgreSQL. The caller sends ReadyForQuery.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.handlers.output import Output
from gateway.handlers.rows import TEXT_FORMAT, command_complete, data_rows, encoders, row_description
from gateway.progress import run_reporting_progress
from gateway.protocol import messages as m
from gateway.query.results import Result
from gateway.session import PreparedStatement, Session

CHUNK_ROWS = 10_000  # rows fetched from the engine and encoded at a time


async def execute_reporting_progress(
    session: Session, output: Output, prepared: PreparedStatement, params: Sequence[Any] = ()
) -> Result:
    """Run a statement; while it runs, send its progress as NOTICEs every
    ``laminar.progress_interval`` (see :mod:`gateway.progress`)."""

    async def report(line: str) -> None:
        output.write(m.NoticeResponse({"S": "NOTICE", "V": "NOTICE", "C": "00000", "M": line}).encode())
        await output.flush()

    return await run_reporting_progress(
        session.execute(prepared, params),
        interval_s=session.progress_interval_s(),
        progress=lambda: session.progress,
        report=report,
    )


async def send_result_rows(
    output: Output, session: Session, result: Result, formats: tuple[int, ...], max_rows: int = 0
) -> tuple[int, bool]:
    """Write DataRows of a result; returns (rows written, whether rows remain)."""
    if result.columns is None or result.rows is None:
        return 0, False
    column_encoders = encoders(result.columns, formats, session.settings.get("TimeZone"))
    written = 0
    while True:
        # Rows go out a chunk at a time, however many the client asked for: a result of millions
        # of rows is never held in memory whole, and the first rows leave before the last exist.
        wanted = CHUNK_ROWS if max_rows <= 0 else min(max_rows - written, CHUNK_ROWS)
        chunk = await result.rows.fetch(wanted)
        if chunk:
            output.write(data_rows(chunk, column_encoders))
            written += len(chunk)
            await output.drain_if_full()
        if max_rows > 0 and written >= max_rows:
            return written, True
        if len(chunk) < wanted:
            return written, False


def send_notices_and_parameters(output: Output, result: Result) -> None:
    for notice in result.notices:
        output.write(
            m.NoticeResponse(
                {"S": notice.severity, "V": notice.severity, "C": notice.sqlstate, "M": notice.message}
            ).encode()
        )
    for name, value in result.changed_parameters:
        output.write(m.ParameterStatus(name, value).encode())


async def handle_query(session: Session, output: Output, sql: str) -> None:
    """Run every statement of a Query message; errors propagate to the caller."""
    prepared_statements = await session.prepare_all_for_client(sql)
    if not prepared_statements:
        output.write(m.EmptyQueryResponse().encode())
        return
    for prepared in prepared_statements:
        result = await execute_reporting_progress(session, output, prepared)
        try:
            send_notices_and_parameters(output, result)
            count = 0
            if result.columns is not None:
                formats = (TEXT_FORMAT,) * len(result.columns)
                output.write(row_description(result.columns, formats))
                count, _ = await send_result_rows(output, session, result, formats)
            output.write(command_complete(result.command_tag(count)))
        finally:
            if result.rows is not None:
                result.rows.close()
