"""``INSERT INTO connection ...``: compute the rows on DuckDB, hand them to the connection's sink.

The statement answers ``INSERT 0 n`` only after the broker acknowledged the records (per the
connection's ``acks``). Rows are computed completely before anything is sent, so an error in
the SELECT sends nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from catalog.service import Catalog
from gateway import errors
from gateway.progress import Progress
from gateway.query.compile import CompiledQuery
from gateway.query.engine import QueryEngine
from gateway.query.results import Result
from gateway.sql.statements import InsertStatement
from sinks.kafka_sink import HEADERS_COLUMN, SinkColumn
from sinks.registry import SinkRegistry


def prepare_query(statement: InsertStatement) -> exp.Expression:
    """The SELECT to run for an INSERT, with header values as text.

    Kafka header values are bytes; ``MAP {'id': UUID(), 'v': '1.0'}`` would not even type-check
    in DuckDB (a MAP has one value type), so every value of a ``_kafka_headers`` MAP literal is
    cast to text, which is what a header carries anyway.
    """
    maps = [
        projection
        for projection in statement.query.find_all(exp.Alias)
        if projection.alias == HEADERS_COLUMN and isinstance(projection.this, exp.ToMap)
    ]
    if not maps:
        return statement.query  # compile_select copies before it rewrites anything
    query = statement.query.copy()
    for projection in query.find_all(exp.Alias):
        if projection.alias == HEADERS_COLUMN and isinstance(projection.this, exp.ToMap):
            for pair in projection.this.find_all(exp.PropertyEQ):
                value = pair.expression
                pair.set("expression", exp.Cast(this=value.copy(), to=exp.DataType.build("TEXT")))
    return query


def with_declared_types(statement: InsertStatement, declared: Sequence[tuple[str, str]]) -> InsertStatement:
    """The statement with each bare ``$n`` of its VALUES cast to its target column's declared type.

    Like PostgreSQL, ``INSERT INTO events (id) VALUES ($1)`` then describes ``$1`` as the column's
    type (bigint, not text), which drivers that encode by the described type (asyncpg) rely on.
    """
    if not statement.from_values:
        return statement
    types = dict(declared)
    targets = list(statement.columns) or [name for name, _ in declared]
    query = statement.query.copy()
    values = query.find(exp.Values)
    if values is None:
        return statement
    for row in values.expressions:
        for position, item in enumerate(list(row.expressions)):
            if (
                position < len(targets)
                and isinstance(item, exp.Placeholder | exp.Parameter)
                and targets[position] in types
            ):
                datatype = exp.DataType.build(types[targets[position]], dialect="postgres")
                item.replace(exp.Cast(this=item.copy(), to=datatype))
    return dataclasses.replace(statement, query=query)


def column_names(statement: InsertStatement, produced: Sequence[str], declared: Sequence[str]) -> list[str]:
    if statement.columns:
        if declared:
            unknown = [name for name in statement.columns if name not in declared]
            if unknown:
                raise errors.UndefinedColumn(
                    f'column "{unknown[0]}" of connection "{statement.target}" does not exist',
                    hint=f"Its columns are: {', '.join(declared)}.",
                )
        return list(statement.columns)
    if statement.from_values and declared:
        if len(produced) > len(declared):
            raise errors.SyntaxError_("INSERT has more expressions than target columns")
        return list(declared[: len(produced)])
    if statement.from_values:
        target = statement.target
        raise errors.SyntaxError_(  # messages for the user, not SQL that runs
            f"INSERT INTO {target} VALUES needs column names: the connection declares none",  # noqa: S608
            hint=f"Name them: INSERT INTO {target} (col1, col2, ...) VALUES (...).",  # noqa: S608
        )
    return list(produced)


async def execute_insert(
    statement: InsertStatement,
    compiled: CompiledQuery,
    params: Sequence[Any],
    *,
    catalog: Catalog,
    sinks: SinkRegistry,
    engine: QueryEngine,
    progress: Progress | None = None,
) -> Result:
    record = await catalog.connection(statement.target)
    if progress is not None:
        progress.begin("computing the rows")
    columns, rows = await engine.execute(compiled, params)
    fetched = rows if isinstance(rows, list) else await rows.fetch(0)
    names = column_names(statement, [c.name for c in columns], [c.name for c in record.columns])
    sink = await sinks.sink_for(record)
    if progress is not None:
        # the connection's acknowledged records since now (other writers to it count too: at most
        # the statement's rows are shown)
        metrics = sinks.metrics.for_connection(record.name)
        baseline = metrics.messages_sent
        progress.begin(
            f'writing to sink "{record.name}"',
            total=len(fetched),
            counter=lambda: metrics.messages_sent - baseline,
        )
    result = await sink.write(
        [SinkColumn(name, c.type_oid) for name, c in zip(names, columns, strict=True)], fetched
    )
    outcome = Result("INSERT")
    outcome.row_count = result.written
    if result.skipped:
        outcome.notices_text(
            f"{result.skipped} rows could not be written and were skipped (error_policy = 'skip')"
        )
    if result.dead_lettered:
        outcome.notices_text(
            f"{result.dead_lettered} rows could not be written and went to the dead-letter queue"
        )
    return outcome
