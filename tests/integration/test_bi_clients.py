"""Issue #8: psql's meta-commands, SQLAlchemy's inspector, pandas and asyncpg's type introspection
browse Laminar's schemas the way they browse PostgreSQL's.

Every check runs against Laminar (two Kafka connections, a pipeline and three records in the source
topic; tests/fixtures/bi.py) and against a scratch database on the reference PostgreSQL holding
equivalent real tables and a view, and both must answer alike: what the tools print or return for
PostgreSQL is the expectation. Only what is Laminar's by design differs (the owner's name, the
``system`` schema of Laminar's system views).
"""

from __future__ import annotations

import asyncio
import subprocess

import asyncpg
import pandas as pd
import pytest
import sqlalchemy

from tests.fixtures.bi import (
    EXPECTED_ORDER_ROWS,
    PIPELINE_VIEW,
    SINK_TABLE,
    SOURCE_TABLE,
    BiTarget,
)

pytestmark = pytest.mark.integration

# What \d orders_src prints for the declared columns (the metadata columns follow on Laminar).
SOURCE_COLUMN_LINES = [
    "id | bigint",
    "customer | character varying",
    "amount | double precision",
    "ts | timestamp with time zone",
]


def _psql(target: BiTarget, command: str) -> list[list[str]]:
    """psql's unaligned output of one meta-command, rows only, as lists of cells."""
    done = subprocess.run(
        [
            *("psql", "-X", "-A", "-t", "-F", " | ", "-v", "ON_ERROR_STOP=1"),
            *("-h", target.host, "-p", str(target.port), "-U", target.user, "-d", target.database),
            "-c",
            command,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PGPASSWORD": target.password or "", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, f"{command}: {done.stderr}"
    assert "ERROR" not in done.stderr, done.stderr
    return [line.split(" | ") for line in done.stdout.splitlines() if line]


async def test_psql_meta_commands_list_and_describe(bi_target: BiTarget) -> None:
    target = bi_target
    databases = await asyncio.to_thread(_psql, target, r"\l")
    assert target.database in [row[0] for row in databases]
    schemas = {row[0] for row in await asyncio.to_thread(_psql, target, r"\dn")}
    assert {"public", "system"} <= schemas  # the reference database has a system schema of views too
    relations = await asyncio.to_thread(_psql, target, r"\d")
    assert [(row[1], row[2]) for row in relations] == [
        (SINK_TABLE, "table"),
        (SOURCE_TABLE, "table"),
        (PIPELINE_VIEW, "view"),
    ]
    tables = await asyncio.to_thread(_psql, target, r"\dt")
    assert [row[1] for row in tables] == [SINK_TABLE, SOURCE_TABLE]
    views = await asyncio.to_thread(_psql, target, r"\dv")
    assert [row[1] for row in views] == [PIPELINE_VIEW]
    described = await asyncio.to_thread(_psql, target, rf"\d {SOURCE_TABLE}")
    assert [" | ".join(row[:2]) for row in described[:4]] == SOURCE_COLUMN_LINES
    functions = await asyncio.to_thread(_psql, target, r"\df")
    assert all(len(row) == 5 for row in functions)  # Schema, Name, Result, Arguments, Type
    roles = await asyncio.to_thread(_psql, target, r"\du")
    assert target.user in [row[0] for row in roles]
    info = await asyncio.to_thread(_psql, target, r"\conninfo")
    assert f'database "{target.database}" as user "{target.user}"' in " ".join(" ".join(r) for r in info)


def _engine(target: BiTarget, driver: str) -> sqlalchemy.Engine:
    password = f":{target.password}" if target.password else ""
    url = f"postgresql+{driver}://{target.user}{password}@{target.host}:{target.port}/{target.database}"
    return sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
async def test_sqlalchemy_inspects_schemas_tables_views_and_columns(bi_target: BiTarget, driver: str) -> None:
    def inspect() -> tuple[list[str], list[str], list[str], list[tuple[str, str]], dict[str, object]]:
        engine = _engine(bi_target, driver)
        try:
            inspector = sqlalchemy.inspect(engine)
            columns = [
                (column["name"], str(column["type"]))
                for column in inspector.get_columns(SOURCE_TABLE, schema="public")
            ]
            return (
                inspector.get_schema_names(),
                inspector.get_table_names(schema="public"),
                inspector.get_view_names(schema="public"),
                columns,
                inspector.get_pk_constraint(SOURCE_TABLE, schema="public"),
            )
        finally:
            engine.dispose()

    schemas, tables, views, columns, primary_key = await asyncio.to_thread(inspect)
    assert {"public", "system"} <= set(schemas)
    assert sorted(tables) == [SINK_TABLE, SOURCE_TABLE]
    assert views == [PIPELINE_VIEW]
    assert columns[:4] == [
        ("id", "BIGINT"),
        ("customer", "VARCHAR"),
        ("amount", "DOUBLE PRECISION"),
        ("ts", "TIMESTAMP"),
    ]
    assert primary_key["constrained_columns"] == []


async def test_pandas_reads_a_query_and_a_table(bi_target: BiTarget) -> None:
    def read() -> tuple[list[tuple[object, ...]], list[str]]:
        engine = _engine(bi_target, "psycopg")
        try:
            with engine.connect() as connection:
                frame = pd.read_sql(
                    f"SELECT id, customer, amount FROM {SOURCE_TABLE} ORDER BY id",
                    connection,
                )
                table = pd.read_sql_table(SOURCE_TABLE, connection, schema="public")
            return list(frame.itertuples(index=False, name=None)), list(table.columns)
        finally:
            engine.dispose()

    rows, table_columns = await asyncio.to_thread(read)
    assert rows == EXPECTED_ORDER_ROWS
    assert table_columns[:4] == ["id", "customer", "amount", "ts"]


# Every type a Laminar column can have; asyncpg introspects each through pg_type.
INTROSPECTED_TYPES = [
    "bool",
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "numeric",
    "text",
    "varchar",
    "bpchar",
    "bytea",
    "date",
    "time",
    "timetz",
    "timestamp",
    "timestamptz",
    "interval",
    "uuid",
    "json",
    "jsonb",
    "oid",
    "name",
]  # fmt: skip (asyncpg allows custom codecs on scalar types only; arrays use their elements')


async def test_asyncpg_introspects_every_column_type(bi_target: BiTarget) -> None:
    """asyncpg's set_type_codec looks a type up by name and then introspects it with its own
    recursive query over pg_type (the one it runs for any type it has no codec for)."""
    target = bi_target
    conn = await asyncpg.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        database=target.database,
    )
    try:
        for name in INTROSPECTED_TYPES:
            await conn.set_type_codec(
                name, schema="pg_catalog", encoder=str, decoder=lambda text: f"<{text}>", format="text"
            )
        value = await conn.fetchval("SELECT 42::int4")
        assert value == "<42>"
        rows = await conn.fetch(f"SELECT id, customer FROM {SOURCE_TABLE} ORDER BY id")
        assert [(row["id"], row["customer"]) for row in rows] == [
            (f"<{order_id}>", f"<{customer}>") for order_id, customer, _ in EXPECTED_ORDER_ROWS
        ]
    finally:
        await conn.close()
