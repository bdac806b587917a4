"""Kafka source connections as tables of ad-hoc queries and bounded INSERT ... SELECT.

A query that names a source connection (``SELECT * FROM events LIMIT 10``) sees a table of the
same name in the session's DuckDB: created empty with the connection's columns (declared ones
plus the ``_kafka_*`` metadata columns) before the statement is parsed, so Parse can bind it,
and filled right before the statement runs with a bounded read of the topic: every partition up
to the end offset seen at that moment. The read never commits offsets, so peeking is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp
from sqlglot.errors import ParseError

from catalog.model import ConnectionRecord
from catalog.options import validate_connection_options
from catalog.service import Catalog
from gateway.errors import LaminarError
from gateway.progress import Progress
from gateway.query.engine import QueryEngine, quote_identifier
from gateway.sql.dialect import parse
from sources.kafka_source import METADATA_COLUMNS, KafkaSourceReader, source_columns, source_duckdb_types


def referenced_tables(sql: str) -> set[str]:
    """Plain table names a statement text reads (CTE names excluded); empty if it does not parse."""
    try:
        trees = parse(sql)
    except (ParseError, LaminarError):  # the real parse reports the error, with its position
        return set()
    names: set[str] = set()
    for tree in trees:
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            name = table.name.lower()
            if name and table.db.lower() in ("", "public") and not table.catalog and name not in ctes:
                names.add(name)
    return names


async def source_records(catalog: Catalog, names: Iterable[str]) -> list[ConnectionRecord]:
    """The source connections among the names."""
    records = []
    for name in sorted(names):
        record = await catalog.store.get_connection(name)
        if record is not None and record.options_dict.get("type") == "source":
            records.append(record)
    return records


def ensure_tables(engine: QueryEngine, records: Iterable[ConnectionRecord]) -> None:
    """Create (empty) DuckDB tables for source connections the session has not seen yet."""
    for record in records:
        fmt = record.options_dict.get("format", "json")
        names = [name for name, _ in source_columns(record.columns, fmt)]
        types = source_duckdb_types(record.columns, fmt)
        definitions = ", ".join(
            f"{quote_identifier(name)} {duck_type}" for name, duck_type in zip(names, types, strict=True)
        )
        engine.create_table(
            record.name,
            definitions,
            hidden=[name for name, _ in METADATA_COLUMNS],
            column_oids=dict(source_columns(record.columns, fmt)),
        )


async def fill_tables(
    engine: QueryEngine,
    catalog: Catalog,
    records: Iterable[ConnectionRecord],
    *,
    limit: int | None,
    progress: Progress | None = None,
) -> None:
    """Replace each source table's rows with a bounded, non-committing read of its topic."""
    for record in records:
        reader = await reader_for(catalog, record)
        if progress is not None:
            progress.begin(f'reading source "{record.name}"', unit="records")
        batch = await reader.read_bounded(limit=limit, progress=progress)
        await engine.replace_rows(record.name, batch.rows)


async def reader_for(catalog: Catalog, record: ConnectionRecord) -> KafkaSourceReader:
    """A reader of a source connection, its options validated and secret references resolved."""
    secrets = {s.name for s in await catalog.store.list_secrets()}
    options = validate_connection_options(
        record.options, secret_exists=secrets.__contains__, columns=[c.name for c in record.columns]
    )
    resolved = await catalog.resolve_options(record)
    return KafkaSourceReader(record.name, options, resolved, record.columns)
