"""The ``system`` schema of ad-hoc queries: catalog and broker facts as ordinary tables.

Each session's DuckDB holds empty ``system.*`` tables from the start, so statements that use
them can be described at Parse. Right before a statement that reads one runs, the session
refills just the tables it reads from the catalog (and, for ``kafka_topics``, from the
brokers), so every query sees the catalog as it is at that moment and can use full SQL on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlglot import exp

from catalog.probe import probe_brokers
from catalog.service import Catalog
from sinks.metrics import ProducerMetrics
from sinks.registry import SinkRegistry


class PipelineRows(Protocol):
    """What runs the pipelines (the supervisor) as system.pipelines sees it."""

    async def status_rows(self) -> list[tuple[object, ...]]: ...

    async def node_rows(self) -> list[tuple[object, ...]]: ...

    async def task_rows(self) -> list[tuple[object, ...]]: ...


@dataclass(frozen=True, slots=True)
class SystemContext:
    """Where system tables get their rows: the catalog, this process's sinks and pipelines."""

    catalog: Catalog
    sinks: SinkRegistry | None
    pipelines: PipelineRows | None = None


RowSource = Callable[[SystemContext], Awaitable[list[tuple[object, ...]]]]


def _from_catalog(rows: Callable[[Catalog], Awaitable[list[tuple[object, ...]]]]) -> RowSource:
    async def source(context: SystemContext) -> list[tuple[object, ...]]:
        return await rows(context.catalog)

    return source


def _from_metrics(rows: Callable[[ProducerMetrics], list[tuple[object, ...]]]) -> RowSource:
    async def source(context: SystemContext) -> list[tuple[object, ...]]:
        return [] if context.sinks is None else rows(context.sinks.metrics)

    return source


async def _pipelines(context: SystemContext) -> list[tuple[object, ...]]:
    return [] if context.pipelines is None else await context.pipelines.status_rows()


async def _tasks(context: SystemContext) -> list[tuple[object, ...]]:
    return [] if context.pipelines is None else await context.pipelines.task_rows()


async def _nodes(context: SystemContext) -> list[tuple[object, ...]]:
    return [] if context.pipelines is None else await context.pipelines.node_rows()


async def _producer_status(context: SystemContext) -> list[tuple[object, ...]]:
    return [] if context.sinks is None else context.sinks.status_rows()


async def _kafka_topics(context: SystemContext) -> list[tuple[object, ...]]:
    connections = await context.catalog.store.list_connections()

    async def one(record_name: str, servers: str) -> list[tuple[object, ...]]:
        result = await probe_brokers(servers)
        if not result.ok:
            return [(record_name, None, None, None, result.error)]
        return [(record_name, t.name, t.partitions, t.internal, None) for t in result.topics]

    probes = [
        one(record.name, record.options_dict["bootstrap_servers"])
        for record in connections
        if "bootstrap_servers" in record.options_dict
    ]
    rows: list[tuple[object, ...]] = []
    for found in await asyncio.gather(*probes):
        rows.extend(found)
    return rows


@dataclass(frozen=True, slots=True)
class SystemTable:
    name: str
    columns: str  # DuckDB column definitions
    rows: RowSource


SYSTEM_TABLES: dict[str, SystemTable] = {
    table.name: table
    for table in (
        SystemTable(
            "connections",
            "name VARCHAR, type VARCHAR, format VARCHAR, topic VARCHAR, bootstrap_servers VARCHAR, "
            "options JSON, columns VARCHAR[], created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ",
            _from_catalog(Catalog.connection_rows),
        ),
        SystemTable(
            "secrets",
            "name VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ",
            _from_catalog(Catalog.secret_rows),
        ),
        SystemTable(
            "users",
            "name VARCHAR, superuser BOOLEAN, created_at TIMESTAMPTZ",
            _from_catalog(Catalog.user_rows),
        ),
        # The producer views, with the spec's column names.
        SystemTable(
            "kafka_producer_metrics",
            "connection_name VARCHAR, messages_sent BIGINT, bytes_sent BIGINT, send_rate DOUBLE, "
            "error_rate DOUBLE, avg_batch_size DOUBLE, avg_request_latency_ms DOUBLE",
            _from_metrics(ProducerMetrics.metric_rows),
        ),
        SystemTable(
            "kafka_producer_status",
            "connection_name VARCHAR, buffer_available_bytes BIGINT, buffer_total_bytes BIGINT, "
            "waiting_threads INTEGER, metadata_age_ms BIGINT",
            _producer_status,
        ),
        SystemTable(
            "kafka_producer_logs",
            '"timestamp" TIMESTAMPTZ, "connection" VARCHAR, topic VARCHAR, "partition" INTEGER, '
            'messages INTEGER, "bytes" BIGINT, latency_ms DOUBLE, error VARCHAR',
            _from_metrics(ProducerMetrics.log_rows),
        ),
        SystemTable(
            "pipelines",
            "name VARCHAR, state VARCHAR, source VARCHAR, sinks VARCHAR[], error VARCHAR, "
            "rows_in BIGINT, rows_out BIGINT, rows_dropped BIGINT, rows_dead_lettered BIGINT, "
            "rows_late BIGINT, lag BIGINT, last_commit TIMESTAMPTZ, delivery VARCHAR, sql VARCHAR, "
            "node VARCHAR, tasks INTEGER, rows_per_second DOUBLE",
            _pipelines,
        ),
        SystemTable(
            "pipeline_tasks",
            "pipeline VARCHAR, task INTEGER, tasks INTEGER, node VARCHAR, state VARCHAR, "
            '"partitions" INTEGER[], rows_in BIGINT, rows_out BIGINT, rows_per_second DOUBLE, lag BIGINT, '
            "error VARCHAR",
            _tasks,
        ),
        SystemTable(
            "nodes",
            "name VARCHAR, started_at TIMESTAMPTZ, heartbeat_at TIMESTAMPTZ, alive BOOLEAN, "
            "this_node BOOLEAN, pipelines VARCHAR[]",
            _nodes,
        ),
        SystemTable(
            "kafka_topics",
            "connection VARCHAR, topic VARCHAR, partitions INTEGER, internal BOOLEAN, error VARCHAR",
            _kafka_topics,
        ),
    )
}


# DuckDB has a catalog of its own called "system"; Laminar's schema lives in the session's
# database ("memory"), so references are qualified with it.
QUALIFIED_SCHEMA = "memory.system"


def create_statements() -> list[str]:
    """DDL creating the empty system tables in a session's DuckDB."""
    return [f"CREATE SCHEMA IF NOT EXISTS {QUALIFIED_SCHEMA}"] + [
        f"CREATE TABLE {QUALIFIED_SCHEMA}.{t.name} ({t.columns})" for t in SYSTEM_TABLES.values()
    ]


def qualify(tree: exp.Expression) -> exp.Expression:
    """Point ``system.x`` at Laminar's tables rather than DuckDB's own ``system`` catalog."""
    for table in tree.find_all(exp.Table):
        if table.db.lower() == "system" and not table.catalog and table.name.lower() in SYSTEM_TABLES:
            table.set("catalog", exp.to_identifier("memory"))
    return tree


def tables_read(tree: exp.Expression) -> frozenset[str]:
    """The system tables a statement reads."""
    return frozenset(
        table.name.lower()
        for table in tree.find_all(exp.Table)
        if table.db.lower() == "system" and table.name.lower() in SYSTEM_TABLES
    )


async def fetch_rows(context: SystemContext, tables: Iterable[str]) -> dict[str, list[tuple[object, ...]]]:
    names = sorted(tables)
    results = await asyncio.gather(*(SYSTEM_TABLES[name].rows(context) for name in names))
    return dict(zip(names, results, strict=True))
