"""Event-time windows: ``GROUP BY ..., TUMBLE(ts, size)`` or ``HOP(ts, slide, size)`` on a stream.

Planning (:func:`find_window`, :func:`plan_windowed`) turns the user's SELECT into three DuckDB
statements over a state table, ``laminar_window_state``, that holds the rows of the windows still
open (their grouping and aggregate inputs, the window start in microseconds since the epoch, and
each row's source partition and offset):

* *ingest* (every micro-batch): the user's WHERE, then each row's window(s): one for TUMBLE,
  ``size / slide`` for HOP, starts aligned to the epoch as in Flink; rows of windows the watermark
  has already passed are *late*: they are dropped and counted (``rows_late``).
* *emit*: the user's SELECT over the closed windows (``window start + size <= watermark``), with
  the window call grouped as the window start and ``window_start`` / ``window_end`` available in the
  select list; each window is emitted once, in window order.
* *forget*: deletes the emitted windows' rows.

Watermark (:class:`Watermark`): per source partition, the largest event time seen; the watermark is
the smallest of those over the partitions that had records within ``idle_timeout`` (all of them
when none had), minus ``watermark_delay``, and never goes back.

Why raw rows and not partial aggregates: every aggregate DuckDB has works (COUNT(DISTINCT),
medians, string_agg) and a window's result is exactly the batch query's; the state holds only the
columns the query reads, in DuckDB's columnar storage. Recovery needs no state store: the pipeline
commits, per partition, the smallest offset of a row still in an open window (so a restart replays
exactly those rows) and records the watermark in a checkpoint written with the output
(:mod:`pipelines.checkpoints`), so a replay never emits a window twice.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import duckdb
from sqlglot import exp

from gateway import errors
from gateway.protocol import types as pgtypes
from gateway.query.compile import (
    WINDOW_FUNCTIONS,
    CompiledQuery,
    compile_select,
    replace_window_bounds,
    window_calls,
)
from gateway.query.engine import QueryEngine, quote_identifier
from gateway.query.results import Column, Row
from gateway.sql import statements as st
from pipelines.checkpoints import Checkpoint

STATE_TABLE: Final = "laminar_window_state"
WINDOW_START_US: Final = "laminar_ws"
TIME_TYPES: Final = frozenset({pgtypes.TIMESTAMPTZ, pgtypes.TIMESTAMP})


@dataclass(frozen=True, slots=True)
class WindowSpec:
    kind: str  # TUMBLE or HOP
    time_column: str
    size_us: int
    slide_us: int  # = size for TUMBLE

    def describe(self) -> str:
        size = dt.timedelta(microseconds=self.size_us)
        if self.kind == "TUMBLE":
            return f"TUMBLE({self.time_column}, {size})"
        return f"HOP({self.time_column}, slide {dt.timedelta(microseconds=self.slide_us)}, size {size})"


def _interval_us(node: exp.Expression, what: str) -> int:
    """A constant INTERVAL in microseconds (months and years have no fixed length: refused)."""
    if not isinstance(node, exp.Cast | exp.Interval) or node.find(exp.Column) is not None:
        raise errors.FeatureNotSupported(
            f"the {what} of a window must be a constant INTERVAL", hint="e.g. INTERVAL '1 hour'"
        )
    sql = node.sql(dialect="duckdb")
    try:
        connection = duckdb.connect()
        try:
            value = connection.execute(f"SELECT CAST({sql} AS INTERVAL)").fetchone()
        finally:
            connection.close()
    except duckdb.Error as exc:
        raise errors.InvalidParameterValue(f"invalid {what} of a window: {sql}") from exc
    interval = value[0] if value else None
    if not isinstance(interval, dt.timedelta):
        raise errors.InvalidParameterValue(f"invalid {what} of a window: {sql}")
    if "month" in sql.lower() or "year" in sql.lower():
        raise errors.FeatureNotSupported(
            f"the {what} of a window must have a fixed length (days or less), not {sql}",
            hint="Use days, hours, minutes or seconds.",
        )
    micros = int(interval.total_seconds() * 1_000_000)
    if micros <= 0:
        raise errors.InvalidParameterValue(f"the {what} of a window must be positive, not {sql}")
    return micros


def find_window(query: exp.Expression) -> tuple[WindowSpec, exp.Expression] | None:
    """The window call in the GROUP BY of a pipeline's SELECT, checked, or None."""
    if not isinstance(query, exp.Select):
        return None
    calls = window_calls(query)
    if not calls:
        return None
    if len(calls) > 1:
        raise errors.FeatureNotSupported("a pipeline groups by one window (TUMBLE or HOP), not several")
    call = calls[0]
    kind = str(call.this).upper()
    arguments = list(call.expressions)
    wanted = 2 if kind == "TUMBLE" else 3
    if len(arguments) != wanted:
        usage = "TUMBLE(time_column, size)" if kind == "TUMBLE" else "HOP(time_column, slide, size)"
        raise errors.SyntaxError_(f"{kind} takes {wanted} arguments: {usage}")
    time_column = arguments[0]
    if not isinstance(time_column, exp.Column):
        raise errors.FeatureNotSupported(f"the first argument of {kind} must be a column of the source")
    if kind == "TUMBLE":
        size = _interval_us(arguments[1], "size")
        slide = size
    else:
        slide = _interval_us(arguments[1], "slide")
        size = _interval_us(arguments[2], "size")
        if size % slide:
            raise errors.InvalidParameterValue("the size of a HOP window must be a multiple of its slide")
    return WindowSpec(kind, time_column.name, size, slide), call


def _refuse_shapes(query: exp.Select) -> None:
    for key, what in (("with_", "WITH"), ("joins", "JOIN"), ("order", "ORDER BY"), ("limit", "LIMIT")):
        if query.args.get(key):
            raise errors.FeatureNotSupported(f"{what} in a windowed pipeline is not supported")
    if query.args.get("distinct") or query.find(exp.Window) is not None:
        raise errors.FeatureNotSupported(
            "DISTINCT and window functions (OVER) in a windowed pipeline are not supported"
        )
    source = query.args.get("from_")
    if not isinstance(source, exp.From) or not isinstance(source.this, exp.Table):
        raise errors.FeatureNotSupported(
            "a windowed pipeline reads its source directly: FROM source, not a subquery"
        )


def _window_start(spec: WindowSpec) -> exp.Expression:
    return exp.Anonymous(this="make_timestamptz", expressions=[exp.column(WINDOW_START_US)])


def _window_end(spec: WindowSpec) -> exp.Expression:
    return exp.Anonymous(
        this="make_timestamptz",
        expressions=[exp.Add(this=exp.column(WINDOW_START_US), expression=exp.Literal.number(spec.size_us))],
    )


@dataclass(frozen=True, slots=True)
class WindowedPlan:
    """The DuckDB statements of a windowed pipeline (see the module docstring)."""

    spec: WindowSpec
    state_definitions: str  # DuckDB column definitions of the state table
    ingest_select: str  # the batch's rows with the user's WHERE and laminar_ts (event time, µs)
    state_columns: tuple[str, ...]  # columns of the state table after laminar_ws, in order
    emit: CompiledQuery  # the user's SELECT over the state table (WHERE closed windows added)
    columns: tuple[Column, ...]  # what emit produces


def plan_windowed(
    statement: st.InsertStatement,
    spec: WindowSpec,
    *,
    source_name: str,
    source_columns: Sequence[tuple[str, str, int]],  # (name, DuckDB type, PostgreSQL OID)
    engine: QueryEngine,
) -> WindowedPlan:
    """Compile a windowed pipeline's SELECT; the engine gets the state table."""
    query = statement.query
    assert isinstance(query, exp.Select)
    _refuse_shapes(query)
    by_name = {name: (duck, oid) for name, duck, oid in source_columns}
    if spec.time_column not in by_name:
        raise errors.UndefinedColumn(
            f'column "{spec.time_column}" of {spec.kind} does not exist in source "{source_name}"',
            hint=f"Its columns are: {', '.join(by_name)}.",
        )
    if by_name[spec.time_column][1] not in TIME_TYPES:
        raise errors.DatatypeMismatch(
            f'{spec.kind} needs a timestamp column, and "{spec.time_column}" is not one',
            hint="Declare the event-time column as timestamptz, or use _kafka_timestamp.",
        )
    # The state keeps the columns the SELECT reads (after its WHERE), plus where each row came from.
    read = {column.name for column in query.find_all(exp.Column)}
    if any(isinstance(item, exp.Star) or isinstance(item.this, exp.Star) for item in query.expressions):
        read |= set(by_name)  # SELECT *: every column (count(*) reads none)
    kept = [name for name, _, _ in source_columns if name in read and name != "_kafka_headers"]
    for needed in ("_kafka_partition", "_kafka_offset"):
        if needed not in kept:
            kept.append(needed)
    definitions = ", ".join(
        [f"{WINDOW_START_US} BIGINT"] + [f"{quote_identifier(name)} {by_name[name][0]}" for name in kept]
    )
    engine.create_table(STATE_TABLE, definitions)

    # ingest: SELECT kept..., epoch_us(time) AS laminar_ts FROM source WHERE <user where>
    ingest_tree = exp.select(
        *[exp.column(name, quoted=True) for name in kept],
        exp.alias_(
            exp.Anonymous(this="epoch_us", expressions=[exp.column(spec.time_column, quoted=True)]),
            "laminar_ts",
        ),
    ).from_(exp.to_table(source_name))
    where = query.args.get("where")
    if isinstance(where, exp.Where):
        ingest_tree.set("where", where.copy())
    ingest = compile_select(ingest_tree, ())
    engine.describe(ingest)  # unknown columns of the WHERE surface at CREATE

    # emit: the user's SELECT over the state of closed windows
    emit_tree = query.copy()
    emit_tree.set("where", None)
    emit_tree.set("from_", exp.From(this=exp.to_table(STATE_TABLE)))
    for node in list(emit_tree.find_all(exp.Anonymous)):
        if str(node.this).upper() in WINDOW_FUNCTIONS:
            inside_group = node.find_ancestor(exp.Group) is not None
            node.replace(exp.column(WINDOW_START_US) if inside_group else _window_start(spec))
    replace_window_bounds(emit_tree, lambda: _window_start(spec), lambda: _window_end(spec), keep=by_name)
    group = emit_tree.args.get("group")
    assert isinstance(group, exp.Group)
    if not any(isinstance(e, exp.Column) and e.name == WINDOW_START_US for e in group.expressions):
        group.append("expressions", exp.column(WINDOW_START_US))
    emit_tree.set("order", exp.Order(expressions=[exp.Ordered(this=exp.column(WINDOW_START_US))]))
    # Only closed windows: window start + size <= $1 (the watermark, bound at each emission).
    emit_tree.where(
        exp.LTE(
            this=exp.Add(this=exp.column(WINDOW_START_US), expression=exp.Literal.number(spec.size_us)),
            expression=exp.Parameter(this=exp.Literal.number(1)),
        ),
        copy=False,
    )
    emit = compile_select(emit_tree, (pgtypes.INT8,))
    produced = engine.describe(emit)
    return WindowedPlan(spec, definitions, ingest.duckdb_sql, tuple(kept), emit, produced)


@dataclass(slots=True)
class Watermark:
    """Event-time progress of one source (see the module docstring)."""

    delay_us: int
    idle_timeout_s: float
    value_us: int | None = None  # None until the first event time is seen
    maxima: dict[int, int] = field(default_factory=dict)  # partition -> largest event time seen
    last_seen: dict[int, float] = field(default_factory=dict)  # partition -> monotonic time of records

    def observe(self, partition_maxima: Mapping[int, int], partitions: Sequence[int]) -> None:
        now = time.monotonic()
        for partition in partitions:
            self.last_seen.setdefault(partition, now)  # silent partitions start their idle clock
        for partition, largest in partition_maxima.items():
            self.maxima[partition] = max(self.maxima.get(partition, largest), largest)
            self.last_seen[partition] = now
        active = [
            self.maxima.get(p) for p in partitions if now - self.last_seen.get(p, now) < self.idle_timeout_s
        ]
        if any(value is None for value in active):
            return  # an active partition has not said where it is yet
        known = [value for value in active if value is not None] or list(self.maxima.values())
        if not known:
            return
        candidate = min(known) - self.delay_us
        if self.value_us is None or candidate > self.value_us:
            self.value_us = candidate


class WindowState:
    """The open windows of one pipeline attempt, in its DuckDB engine."""

    def __init__(
        self, plan: WindowedPlan, engine: QueryEngine, source_name: str, watermark: Watermark
    ) -> None:
        self.plan = plan
        self.engine = engine
        self.source_name = source_name
        self.watermark = watermark
        self._emitted_through: int | None = None  # the watermark of the last emission
        self._replay_until: dict[int, int] = {}  # partition -> offset read before a restart

    def _assign_sql(self) -> str:
        """The batch's rows with their window start(s), as DuckDB SQL over the ingest select."""
        spec = self.plan.spec
        size, slide = spec.size_us, spec.slide_us
        aligned = f"(s.laminar_ts - (((s.laminar_ts % {slide}) + {slide}) % {slide}))"
        kept = ", ".join(f"s.{quote_identifier(name)}" for name in self.plan.state_columns)
        if spec.kind == "TUMBLE":
            return (
                f"SELECT {aligned} AS {WINDOW_START_US}, {kept} "  # noqa: S608 - generated, names quoted
                f"FROM ({self.plan.ingest_select}) s WHERE s.laminar_ts IS NOT NULL"
            )
        back = (size // slide - 1) * slide
        return (
            f"SELECT w.{WINDOW_START_US}, {kept} FROM ({self.plan.ingest_select}) s, "  # noqa: S608
            f"UNNEST(generate_series({aligned} - {back}, {aligned}, {slide})) AS w({WINDOW_START_US}) "
            f"WHERE s.laminar_ts IS NOT NULL AND w.{WINDOW_START_US} + {size} > s.laminar_ts"
        )

    async def add(self, run_batch: Any, partitions: Sequence[int]) -> tuple[int, int] | None:
        """Put a micro-batch's rows into their windows; returns (late rows, rows without event time).

        ``run_batch(work)`` runs ``work(cursor)`` with the batch registered as the source, or
        returns None when it declined the batch (then nothing changed).
        """
        spec = self.plan.spec
        size = spec.size_us
        watermark = self.watermark.value_us
        assign = self._assign_sql()
        replayed = self._replayed_until_sql()
        source = quote_identifier(self.source_name)
        time_column = quote_identifier(spec.time_column)

        def work(cursor: duckdb.DuckDBPyConnection) -> tuple[list[tuple[int, int]], int, int]:
            if watermark is None:
                late = 0
                cursor.execute(f"INSERT INTO {STATE_TABLE} {assign}")
            else:
                # The batch's rows with their windows, computed once: some are late, the rest kept.
                # A record is late when none of its windows is open any more (HOP: all of them);
                # records a replay reads again were counted when first read.
                cursor.execute(f"CREATE OR REPLACE TEMP TABLE laminar_assigned AS {assign}")
                counted = cursor.execute(
                    f"SELECT count(*) FROM (SELECT max({WINDOW_START_US}) AS last FROM laminar_assigned "  # noqa: S608
                    f"WHERE _kafka_offset >= {replayed} GROUP BY _kafka_partition, _kafka_offset) "
                    f"WHERE last + {size} <= {watermark}"
                ).fetchone()
                cursor.execute(
                    f"INSERT INTO {STATE_TABLE} SELECT * FROM laminar_assigned "  # noqa: S608
                    f"WHERE {WINDOW_START_US} + {size} > {watermark}"
                )
                late = int(counted[0]) if counted else 0
            maxima = cursor.execute(
                f"SELECT _kafka_partition, max(epoch_us({time_column})), "  # noqa: S608
                f"count(*) FILTER (WHERE {time_column} IS NULL) "
                f"FROM {source} GROUP BY 1"
            ).fetchall()
            untimed = sum(int(row[2]) for row in maxima)
            return [(int(p), int(m)) for p, m, _ in maxima if m is not None], late, untimed

        outcome = await run_batch(work)
        if outcome is None:
            return None  # the batch was declined (decoded record by record instead)
        maxima, late, untimed = outcome
        self.watermark.observe(dict(maxima), partitions)
        return late, untimed

    async def emit(self) -> list[Row]:
        """The results of every window the watermark has passed; their rows leave the state."""
        watermark = self.watermark.value_us
        if watermark is None or watermark == self._emitted_through:
            return []  # the watermark has not moved: no window closed since the last emission
        self._emitted_through = watermark
        size = self.plan.spec.size_us
        closed = f"{WINDOW_START_US} + {size} <= {watermark}"
        emit = self.plan.emit

        def work(cursor: duckdb.DuckDBPyConnection) -> list[Row]:
            rows = cursor.execute(emit.sql_for([watermark]), [watermark]).fetchall()
            cursor.execute(f"DELETE FROM {STATE_TABLE} WHERE {closed}")  # noqa: S608
            return rows

        result: list[Row] = await self.engine.run_work(work)
        return result

    def checkpoint(self, read: Mapping[int, int]) -> Checkpoint:
        """The watermark and, per partition, the offset after the last record read (``read``)."""
        return Checkpoint(self.watermark.value_us, dict(self.watermark.maxima), dict(read))

    def restore(self, checkpoint: Checkpoint | None) -> None:
        """Continue from a checkpoint: windows ending at or before its watermark were emitted."""
        if checkpoint is not None:
            self.watermark.value_us = checkpoint.watermark_us
            self.watermark.maxima.update(checkpoint.maxima)
            self._replay_until = dict(checkpoint.read)

    def _replayed_until_sql(self) -> str:
        """SQL of the offset before which a row's partition was read before the restart."""
        if not self._replay_until:
            return "-1"
        arms = " ".join(f"WHEN {p} THEN {offset}" for p, offset in sorted(self._replay_until.items()))
        return f"(CASE _kafka_partition {arms} ELSE -1 END)"

    async def low_offsets(self) -> dict[int, int]:
        """Per partition, the smallest offset of a row still in an open window."""

        def work(cursor: duckdb.DuckDBPyConnection) -> list[tuple[int, int]]:
            return cursor.execute(
                f"SELECT _kafka_partition, min(_kafka_offset) FROM {STATE_TABLE} GROUP BY 1"  # noqa: S608
            ).fetchall()

        rows: list[tuple[int, int]] = await self.engine.run_work(work)
        return {int(partition): int(offset) for partition, offset in rows}

    async def open_rows(self) -> int:
        def work(cursor: duckdb.DuckDBPyConnection) -> int:
            row = cursor.execute(f"SELECT count(*) FROM {STATE_TABLE}").fetchone()  # noqa: S608
            return int(row[0]) if row else 0

        count: int = await self.engine.run_work(work)
        return count
