"""Planning ``CREATE PIPELINE``: bind every name to a connection, check the output, compile to DuckDB.

A pipeline's body is one or more ``INSERT INTO sink SELECT ... FROM source`` (several for the
spec's fan-out form, all sharing the body's leading CTEs). :func:`plan_pipeline` checks, at CREATE
time, everything that can be known before a record flows:

* every table the SELECTs read is a connection (42P01 otherwise), every connection read is a
  source and every INSERT target a sink (42809), and all SELECTs read the same one source (0A000:
  joins of streams are not supported);
* the SELECT is stateless: aggregation, DISTINCT, ORDER BY, LIMIT and window functions need state
  over an unbounded stream and are refused with 0A000 (windowed aggregation is issue #7);
* columns and functions bind (42703 / 42883 name them): the SELECT is compiled exactly as the
  runtime will run it, against an empty DuckDB table with the source's columns;
* the sink can take the output: the columns its ``key_field``, ``topic_field`` and
  ``partition_field`` name are produced (42703), output names are unique (42701), and at most one
  target sink is transactional (0A000: one Kafka transaction belongs to one producer);
* a windowed pipeline runs as one task (``parallelism`` above 1 is 0A000: a window holds rows of
  every partition).

The resulting :class:`PipelinePlan` says what the runtime runs and :func:`explain` prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp

from catalog.model import ConnectionRecord
from catalog.service import Catalog
from gateway import errors, insert, source_tables
from gateway.protocol import types as pgtypes
from gateway.query.compile import CompiledQuery, compile_select
from gateway.query.engine import QueryEngine
from gateway.query.results import Column
from gateway.sql import statements as st
from pipelines.options import PipelineSettings, pipeline_settings
from pipelines.windows import WindowedPlan, find_window, plan_windowed
from sources.kafka_source import METADATA_COLUMNS, METADATA_NAMES, source_columns, source_duckdb_types

ROUTING_OPTIONS = ("key_field", "topic_field", "partition_field")


@dataclass(frozen=True, slots=True)
class PlannedOutput:
    """One INSERT of the body: the sink, the compiled SELECT and the columns the sink receives
    (for a windowed SELECT, ``window`` holds its statements and ``compiled`` is the emission)."""

    sink: ConnectionRecord
    statement: st.InsertStatement
    compiled: CompiledQuery
    columns: tuple[Column, ...]  # named as the sink sees them (after an INSERT column list)
    window: WindowedPlan | None = None


@dataclass(frozen=True, slots=True)
class PipelinePlan:
    name: str
    source: ConnectionRecord
    outputs: tuple[PlannedOutput, ...]
    settings: PipelineSettings
    transactional_sink: str | None  # the sink whose transactions make the pipeline exactly-once
    body: str
    metadata_used: frozenset[str] = frozenset(METADATA_NAMES)  # _kafka_* columns the SELECTs read

    @property
    def window(self) -> WindowedPlan | None:
        return self.outputs[0].window if len(self.outputs) == 1 else None

    @property
    def connections(self) -> tuple[str, ...]:
        """Every connection the pipeline reads or writes, dead-letter sinks included (the
        catalog's dependency links: none of them can be dropped under the pipeline)."""
        records = (self.source, *(output.sink for output in self.outputs))
        names = [record.name for record in records]
        names += [record.options_dict.get("dlq_connection") or "" for record in records]
        return tuple(dict.fromkeys(name for name in names if name))


def pipeline_engine() -> QueryEngine:
    """A DuckDB engine for one pipeline (planning, then micro-batches), with Laminar's functions."""
    settings = {"timezone": "UTC", "datestyle": "ISO, MDY"}
    return QueryEngine(
        user="laminar",
        database="laminar",
        setting=lambda name: settings.get(name.lower(), ""),
        backend_pid=0,
    )


def _tables_read(query: exp.Expression) -> list[str]:
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    names: list[str] = []
    for table in query.find_all(exp.Table):
        name = table.name
        if table.db:
            raise errors.FeatureNotSupported(
                f'a pipeline reads connections, not "{table.db}.{name}"',
                hint="Name a source connection in FROM.",
            )
        if name and name.lower() not in ctes and name not in names:
            names.append(name)
    return names


def _metadata_used(queries: Sequence[exp.Expression]) -> frozenset[str]:
    """The metadata columns the SELECTs read (all of them for a qualified ``source.*``, which
    keeps them; a bare ``*`` leaves them out)."""
    used: set[str] = set()
    for query in queries:
        for column in query.find_all(exp.Column):
            if isinstance(column.this, exp.Star):
                return frozenset(METADATA_NAMES)
            if column.name in METADATA_NAMES:
                used.add(column.name)
    return frozenset(used)


def _check_stateless(query: exp.Expression) -> None:
    """Refuse what needs state across micro-batches (0A000), with the reason; a GROUP BY with
    a window (TUMBLE/HOP) is the one stateful shape pipelines run (:mod:`pipelines.windows`)."""
    if find_window(query) is not None:
        return
    problems: list[tuple[bool, str]] = [
        (any(s.args.get("group") for s in query.find_all(exp.Select)), "GROUP BY"),
        (query.find(exp.AggFunc) is not None, "aggregate functions"),
        (query.find(exp.Window) is not None, "window functions (OVER)"),
        (any(s.args.get("distinct") for s in query.find_all(exp.Select)), "SELECT DISTINCT"),
        (query.find(exp.Order) is not None, "ORDER BY"),
        (query.find(exp.Limit, exp.Offset) is not None, "LIMIT / OFFSET"),
        (any(s.args.get("joins") for s in query.find_all(exp.Select)), "JOIN"),
        (
            any(
                isinstance(op, exp.Union | exp.Intersect | exp.Except) and op.args.get("distinct")
                for op in query.find_all(exp.SetOperation)
            ),
            "UNION / INTERSECT / EXCEPT without ALL",
        ),
    ]
    for found, what in problems:
        if found:
            hint = (
                "Group by an event-time window as well: GROUP BY ..., TUMBLE(ts, INTERVAL '1 hour')."
                if what in ("GROUP BY", "aggregate functions")
                else "Pipelines transform each record on its own (projection, WHERE, CASE, functions)."
            )
            raise errors.FeatureNotSupported(
                f"{what} in a continuous pipeline is not supported: it needs state over an unbounded stream",
                hint=hint,
            )


async def _connection(catalog: Catalog, name: str, *, role: str) -> ConnectionRecord:
    record = await catalog.store.get_connection(name)
    if record is None:
        raise errors.UndefinedTable(
            f'relation "{name}" does not exist',
            detail=f"The pipeline {role} it, and no connection has that name.",
            hint="Create it with CREATE CONNECTION; SHOW CONNECTIONS lists the existing ones.",
        )
    kind = record.options_dict.get("type")
    wanted = "source" if role == "reads" else "sink"
    if kind != wanted:
        raise errors.WrongObjectType(
            f'connection "{name}" is a {kind}: a pipeline {role} a {wanted} connection',
            hint="Pipelines read from type = 'source' connections and insert into type = 'sink' ones.",
        )
    return record


def _check_sink_can_take(sink: ConnectionRecord, columns: Sequence[Column], *, pipeline: str) -> None:
    names = [column.name for column in columns]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise errors.DuplicateColumn(
                f'pipeline "{pipeline}" produces column "{name}" twice for sink "{sink.name}"',
                hint="Give each output column its own name with AS.",
            )
        seen.add(name)
    options = sink.options_dict
    for option in ROUTING_OPTIONS:
        wanted = options.get(option)
        if wanted and wanted not in seen:
            raise errors.UndefinedColumn(
                f'sink "{sink.name}" takes {option} "{wanted}", which pipeline "{pipeline}" does not produce',
                detail=f"The pipeline's columns are: {', '.join(names)}.",
                hint=f"Add {wanted} to the SELECT list (an expression AS {wanted} works).",
            )


def _plan_window(planned: st.InsertStatement, source: ConnectionRecord, engine: QueryEngine) -> WindowedPlan:
    found = find_window(planned.query)
    assert found is not None
    spec, _ = found
    fmt = source.options_dict.get("format", "json")
    event_time = source.options_dict.get("event_time_column")
    if event_time and event_time != spec.time_column:
        raise errors.FeatureNotSupported(
            f'{spec.kind} reads "{spec.time_column}", and source "{source.name}" declares '
            f'event_time_column "{event_time}"',
            hint=f"Use {spec.kind}({event_time}, ...), or change the source's event_time_column.",
        )
    columns = [
        (name, duck, oid)
        for (name, oid), duck in zip(
            source_columns(source.columns, fmt), source_duckdb_types(source.columns, fmt), strict=True
        )
    ]
    return plan_windowed(planned, spec, source_name=source.name, source_columns=columns, engine=engine)


async def plan_pipeline(
    catalog: Catalog,
    statement: st.CreatePipelineStatement,
    engine: QueryEngine | None = None,
    *,
    options: Sequence[tuple[str, str]] | None = None,
) -> PipelinePlan:
    """Bind and check a CREATE PIPELINE; raises the first problem as a SQLSTATE error.

    ``engine`` (the runtime's) receives the source table; a throwaway one is used otherwise.
    ``options`` replace the statement's WITH options (the catalog's, with the group id chosen).
    """
    settings = pipeline_settings(statement.name, statement.options if options is None else options)
    sources: dict[str, ConnectionRecord] = {}
    sinks: list[ConnectionRecord] = []
    windowed = [planned for planned in statement.inserts if find_window(planned.query) is not None]
    if windowed and len(statement.inserts) > 1:
        raise errors.FeatureNotSupported(
            "a windowed pipeline writes to one sink: the fan-out form is for stateless pipelines",
            hint="Create one windowed pipeline per sink.",
        )
    if windowed and settings.parallelism > 1:
        raise errors.FeatureNotSupported(
            f"a windowed pipeline runs as one task (parallelism = {settings.parallelism} was asked): "
            "its windows hold rows of every source partition",
            hint="Leave parallelism at 1, or pre-aggregate per partition in a stateless pipeline.",
        )
    for planned in statement.inserts:
        _check_stateless(planned.query)
        sinks.append(await _connection(catalog, planned.target, role="inserts into"))
        for name in _tables_read(planned.query):
            if name.lower() not in sources:
                sources[name.lower()] = await _connection(catalog, name, role="reads")
    if not sources:
        raise errors.FeatureNotSupported(
            "a pipeline reads a source connection: INSERT INTO sink SELECT ... FROM source",
            hint="Name a type = 'source' connection in FROM.",
        )
    if len(sources) > 1:
        raise errors.FeatureNotSupported(
            f"a pipeline reads one source connection, this one reads {len(sources)}: "
            + ", ".join(sorted(record.name for record in sources.values())),
            hint="Create one pipeline per source.",
        )
    (source,) = sources.values()
    own_engine = engine is None
    work = engine if engine is not None else pipeline_engine()
    try:
        source_tables.ensure_tables(work, [source])
        hidden = work.hidden_columns
        outputs = []
        for planned, sink in zip(statement.inserts, sinks, strict=True):
            window = _plan_window(planned, source, work) if windowed else None
            if window is not None:
                compiled, produced = window.emit, window.columns
            else:
                compiled = compile_select(insert.prepare_query(planned), (), hidden_columns=hidden)
                produced = work.describe(compiled)
            names = insert.column_names(planned, [c.name for c in produced], [c.name for c in sink.columns])
            if len(names) != len(produced):
                raise errors.SyntaxError_(
                    f"INSERT INTO {sink.name} names {len(names)} columns, the SELECT produces {len(produced)}"
                )
            columns = tuple(
                Column(name, column.type_oid, column.type_size)
                for name, column in zip(names, produced, strict=True)
            )
            _check_sink_can_take(sink, columns, pipeline=statement.name)
            outputs.append(PlannedOutput(sink, planned, compiled, columns, window))
    finally:
        if own_engine:
            work.close()
    transactional = sorted({sink.name for sink in sinks if "transactional.id" in sink.options_dict})
    if len(transactional) > 1:
        raise errors.FeatureNotSupported(
            f"a pipeline can write exactly-once to one transactional sink, this one writes to "
            f"{len(transactional)}: {', '.join(transactional)}",
            hint="A Kafka transaction belongs to one producer: split the pipeline, one per sink.",
        )
    return PipelinePlan(
        name=statement.name,
        source=source,
        outputs=tuple(outputs),
        settings=settings,
        transactional_sink=transactional[0] if transactional else None,
        body=statement.body,
        # A windowed pipeline keeps where each row came from (its commits never pass an open window).
        metadata_used=_metadata_used([planned.query for planned in statement.inserts])
        | (frozenset({"_kafka_partition", "_kafka_offset"}) if windowed else frozenset()),
    )


def _type_name(oid: int) -> str:
    known = pgtypes.TYPES_BY_OID.get(oid)
    return known.name if known is not None else str(oid)


def explain(plan: PipelinePlan) -> list[str]:
    """The plan as lines of text (EXPLAIN CREATE PIPELINE / EXPLAIN PIPELINE)."""
    source = plan.source
    options = source.options_dict
    settings = plan.settings
    delivery = (
        f"exactly-once (Kafka transactions of sink {plan.transactional_sink}, offsets committed in them)"
        if plan.transactional_sink
        else "at-least-once (offsets committed after the sinks acknowledged the records)"
    )
    fmt = options.get("format", "json")
    payload = [
        f"{name} {_type_name(oid)}"
        for name, oid in source_columns(source.columns, fmt)
        if name not in dict(METADATA_COLUMNS)
    ]
    lines = [
        f"Pipeline {plan.name}",
        f"  Delivery: {delivery}",
        f'  Source: {source.name} (Kafka topic "{options.get("topic", "")}", format {fmt}, '
        f"start_offset {options.get('start_offset', 'earliest')}, consumer group {settings.group_id})",
        f"    Columns: {', '.join(payload + [name for name, _ in METADATA_COLUMNS])}",
        f"  Micro-batches: up to {settings.batch_rows} records or {settings.batch_ms} ms; "
        f"commit every {settings.commit_interval_ms} ms",
    ]
    if settings.parallelism > 1:
        lines.append(
            f"  Tasks: {settings.parallelism}, task i reads the partitions p with p % "
            f"{settings.parallelism} = i"
            + (", transactional id <'transactional.id'>-i" if plan.transactional_sink else "")
        )
    for number, output in enumerate(plan.outputs, start=1):
        sink_options = output.sink.options_dict
        routing = [f"{option} {sink_options[option]}" for option in ROUTING_OPTIONS if option in sink_options]
        target = sink_options.get("topic") or f"topic from {sink_options.get('topic_field')}"
        lines.append(
            f"  Output {number}: sink {output.sink.name} (Kafka topic {target}, "
            f"format {sink_options.get('format', 'json')}"
            + (f", {', '.join(routing)}" if routing else "")
            + ")"
        )
        lines.append(
            "    Columns: " + ", ".join(f"{c.name} {_type_name(c.type_oid)}" for c in output.columns)
        )
        if output.window is not None:
            window = output.window
            lines.append(
                f"    Window: {window.spec.describe()}, emitted once the watermark passes its end; "
                f"state: the rows of open windows ({', '.join(window.state_columns)})"
            )
        lines.append(f"    DuckDB: {output.compiled.duckdb_sql}")
    return lines
