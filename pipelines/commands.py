"""Pipeline statements as the session runs them: CREATE, ALTER ... PAUSE|RESUME, DROP, SHOW, EXPLAIN.

``CREATE PIPELINE`` plans the pipeline (every check of :mod:`pipelines.planner`), records it in
the catalog, starts it and answers once its first attempt is connected to the source and the
sinks. If that first attempt fails (brokers unreachable, topic missing, a transactional id
refused) the statement fails with that error and the pipeline is removed again: nothing is left
half-created. The consumer group of a pipeline created without ``group_id`` is chosen here and
recorded with its options, so it is stable across restarts and fresh for a new pipeline of the
same name.
"""

from __future__ import annotations

import dataclasses
import time

from catalog.model import PipelineRecord, now
from catalog.service import Catalog
from gateway import errors
from gateway.protocol import types as pgtypes
from gateway.query.results import Column, ListRowSource, Notice, Result
from gateway.sql import statements as st
from pipelines.planner import explain, plan_pipeline
from pipelines.runner import parse_create
from pipelines.supervisor import Supervisor, pipeline_row

START_TIMEOUT_S = 30.0
SHOW_COLUMNS = (
    Column("name", pgtypes.TEXT),
    Column("state", pgtypes.TEXT),
    Column("source", pgtypes.TEXT),
    Column("sinks", pgtypes.TEXT),
    Column("error", pgtypes.TEXT),
)
EXPLAIN_COLUMNS = (Column("QUERY PLAN", pgtypes.TEXT),)


def _missing(name: str) -> errors.UndefinedObject:
    return errors.UndefinedObject(
        f'pipeline "{name}" does not exist', hint="SHOW PIPELINES lists the existing pipelines."
    )


def _with_group(statement: st.CreatePipelineStatement) -> tuple[tuple[str, str], ...]:
    options = tuple(statement.options)
    if any(name == "group_id" for name, _ in options):
        return options
    return (*options, ("group_id", f"laminar-pipeline-{statement.name}-{time.time_ns() // 1_000_000}"))


async def create(catalog: Catalog, supervisor: Supervisor, statement: st.CreatePipelineStatement) -> Result:
    store = catalog.store
    if await store.get_pipeline(statement.name) is not None:
        if statement.if_not_exists:
            return Result(
                "CREATE PIPELINE", notices=[Notice(f'pipeline "{statement.name}" already exists, skipping')]
            )
        raise errors.DuplicateObject(f'pipeline "{statement.name}" already exists')
    options = _with_group(statement)
    plan = await plan_pipeline(catalog, statement, options=options)
    created = now()
    record = PipelineRecord(
        name=statement.name,
        sql=statement.sql,
        connections=plan.connections,
        state="running",
        created_at=created,
        updated_at=created,
        options=options,
    )
    await store.create_pipeline(record)
    await supervisor.reconcile()
    try:
        await supervisor.wait_started(statement.name, START_TIMEOUT_S)
    except BaseException as exc:
        await store.drop_pipeline(statement.name)
        await supervisor.reconcile()
        if isinstance(exc, TimeoutError):
            raise errors.ConnectionFailure(
                f'pipeline "{statement.name}" did not connect to its source and sinks within '
                f"{START_TIMEOUT_S:g} s; it was not created"
            ) from exc
        raise
    return Result("CREATE PIPELINE")


async def alter(catalog: Catalog, supervisor: Supervisor, statement: st.AlterPipelineStatement) -> Result:
    record = await catalog.store.get_pipeline(statement.name)
    if record is None:
        raise _missing(statement.name)
    state = "paused" if statement.action == "PAUSE" else "running"
    await catalog.store.replace_pipeline(dataclasses.replace(record, state=state, updated_at=now()))
    await supervisor.reconcile()  # a changed updated_at restarts a failed pipeline on RESUME
    return Result("ALTER PIPELINE")


async def drop(catalog: Catalog, supervisor: Supervisor, statement: st.DropStatement) -> Result:
    try:
        await catalog.store.drop_pipeline(statement.name)
    except errors.UndefinedObject:
        if statement.if_exists:
            return Result(
                "DROP PIPELINE", notices=[Notice(f'pipeline "{statement.name}" does not exist, skipping')]
            )
        raise _missing(statement.name) from None
    await supervisor.reconcile()
    return Result("DROP PIPELINE")


async def show(catalog: Catalog, supervisor: Supervisor) -> Result:
    rows = []
    for record in await catalog.store.list_pipelines():
        status = supervisor.status(record.name) if record.state == "running" else None
        name, state, source, sinks, error, *_ = pipeline_row(record, status)
        rows.append((name, state, source, ", ".join(sinks) if isinstance(sinks, list) else sinks, error))
    return Result("SHOW", SHOW_COLUMNS, ListRowSource(rows))


async def explain_statement(catalog: Catalog, statement: st.ExplainPipelineStatement) -> Result:
    if statement.create is not None:
        plan = await plan_pipeline(catalog, statement.create, options=_with_group(statement.create))
    else:
        assert statement.name is not None
        record = await catalog.store.get_pipeline(statement.name)
        if record is None:
            raise _missing(statement.name)
        plan = await plan_pipeline(catalog, parse_create(record), options=record.options)
    return Result("EXPLAIN", EXPLAIN_COLUMNS, ListRowSource([(line,) for line in explain(plan)]))
