"""One micro-batch through a pipeline's SELECTs: source rows in (as Arrow), sink rows out.

The pipeline's DuckDB database holds the source connection as a *view* over an Arrow table that
is swapped for every micro-batch: ``CREATE VIEW events AS SELECT CAST(...) FROM laminar_batch``.
The view keeps the declared types that Arrow cannot carry (json, uuid), so the SELECTs compiled
at CREATE time (:mod:`pipelines.planner`) run unchanged on every batch. Loading a batch and
running every output's SELECT happen in one worker-thread hop, so the event loop (and every
client session on it) keeps running while DuckDB works.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import duckdb
import pyarrow as pa

from gateway.query.engine import QueryEngine
from gateway.query.results import Row
from pipelines.planner import PipelinePlan

BATCH_TABLE = "laminar_batch"
T = TypeVar("T")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _arrow_column(values: Sequence[object], field: pa.Field) -> pa.Array:
    try:
        return pa.array(values, type=field.type)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        # Values Arrow takes only as text here (uuid.UUID for a uuid column): the view casts back.
        return pa.array([None if value is None else str(value) for value in values], type=field.type)


class MicroBatchTransform:
    """Runs the compiled SELECTs of a plan over micro-batches, in the plan's own DuckDB engine."""

    def __init__(self, plan: PipelinePlan, engine: QueryEngine) -> None:
        """``engine`` is the one :func:`plan_pipeline` created the source table in."""
        self.plan = plan
        self.engine = engine
        self.schema: pa.Schema | None = None
        self._sql = [output.compiled.duckdb_sql for output in plan.outputs]

    async def start(self) -> None:
        """Turn the source table into a view over the (empty) batch table."""
        name = _quoted(self.plan.source.name)

        def work(cursor: duckdb.DuckDBPyConnection) -> pa.Schema:
            described = cursor.execute(f"DESCRIBE SELECT * FROM {name}").fetchall()  # noqa: S608
            schema = cursor.sql(f"SELECT * FROM {name} LIMIT 0").to_arrow_table().schema  # noqa: S608
            casts = ", ".join(
                f"CAST({_quoted(column)} AS {duck_type}) AS {_quoted(column)}"
                for column, duck_type, *_ in described
            )
            cursor.execute(f"DROP TABLE {name}")
            cursor.register(BATCH_TABLE, schema.empty_table())
            cursor.execute(f"CREATE VIEW {name} AS SELECT {casts} FROM {BATCH_TABLE}")  # noqa: S608
            return schema

        self.schema = await self.engine.run_work(work)

    def to_arrow(self, rows: Sequence[Sequence[object]]) -> pa.Table:
        assert self.schema is not None, "start() first"
        schema = self.schema
        if not rows:
            return schema.empty_table()
        columns = list(zip(*rows, strict=True))
        return pa.Table.from_arrays(
            [_arrow_column(values, field) for values, field in zip(columns, schema, strict=True)],
            schema=schema,
        )

    async def run_decoded(self, decode: Callable[[], pa.Table | None]) -> list[list[Row]] | None:
        """The rows each output of the plan produces from the batch ``decode`` turns into the source
        table, in one worker-thread hop (pyarrow's JSON reader leaves the event loop free); None if
        it declines the batch."""
        sqls = self._sql
        return await self.with_batch(decode, lambda cursor: [cursor.execute(sql).fetchall() for sql in sqls])

    async def with_batch(
        self,
        decode: Callable[[], pa.Table | None],
        work: Callable[[duckdb.DuckDBPyConnection], T],
    ) -> T | None:
        """``work(cursor)`` with the batch ``decode`` makes as the source's rows, in one worker-thread
        hop; None (and no work) when ``decode`` declines the batch."""

        def run(cursor: duckdb.DuckDBPyConnection) -> T | None:
            table = decode()
            if table is None:
                return None
            cursor.register(BATCH_TABLE, table)
            try:
                return work(cursor)
            finally:
                cursor.unregister(BATCH_TABLE)

        result: T | None = await self.engine.run_work(run)
        return result

    def close(self) -> None:
        self.engine.close()
