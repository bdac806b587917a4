"""Issue #8, ODBC: psqlODBC (what Tableau, Power BI and Excel use) through unixODBC and pyodbc, on Laminar.

A DSN-less connection string names the driver library itself, so nothing needs registering in
odbcinst.ini. The test lists the tables of ``public``, the columns and primary keys of a source
connection and reads the source, against Laminar (two Kafka connections, a pipeline, three records in
the source topic) and against a scratch database on the reference PostgreSQL holding equivalent real
tables and a view (tests/fixtures/bi.py). Both must answer the same, so the expected values are what
psqlODBC reports for PostgreSQL itself; only the catalog column (the database name) differs. On
connecting, psqlODBC sends queries of its own (``SET DateStyle = 'ISO';SET extra_float_digits =
2;show transaction_isolation``, the ``lo`` type probe; see bi_queries/tableau.sql).

pyodbc is synchronous, so the tests are plain functions; only the setup of Laminar's objects runs in
the event loop (an async fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyodbc
import pytest

from tests.fixtures.bi import (
    EXPECTED_ORDER_ROWS,
    BiTarget,
)

pytestmark = pytest.mark.integration

PSQLODBC_DRIVER = Path("/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so")  # Debian odbc-postgresql

# (table_name, table_type) of SQLTables on schema public.
PUBLIC_TABLES = [
    ("orders_out", "TABLE"),
    ("orders_src", "TABLE"),
    ("orders_totals", "VIEW"),
]
# (column_name, data_type, type_name, ordinal_position, nullable) of SQLColumns on orders_src, as the
# Unicode driver reports them: varchar is SQL_WVARCHAR (-9), float8 SQL_FLOAT (6), timestamptz
# SQL_TYPE_TIMESTAMP (93), bytea SQL_LONGVARBINARY (-4); nullable 1 is SQL_NULLABLE. The type of
# _kafka_headers is Laminar's choice and is not compared.
SOURCE_COLUMNS = [
    ("id", -5, "int8", 1, 1),
    ("customer", -9, "varchar", 2, 1),
    ("amount", 6, "float8", 3, 1),
    ("ts", 93, "timestamptz", 4, 1),
    ("_kafka_key", -4, "bytea", 5, 1),
    ("_kafka_partition", 4, "int4", 6, 1),
    ("_kafka_offset", -5, "int8", 7, 1),
    ("_kafka_timestamp", 93, "timestamptz", 8, 1),
    ("_kafka_headers", None, None, 9, 1),
]


def connection_string(target: BiTarget) -> str:
    if not PSQLODBC_DRIVER.is_file():
        pytest.fail(
            f"psqlODBC driver not found at {PSQLODBC_DRIVER}: install the Debian packages odbc-postgresql "
            "and unixodbc (`make system-deps` does)",
            pytrace=False,
        )
    return (
        f"DRIVER={{{PSQLODBC_DRIVER}}};SERVER={target.host};PORT={target.port};DATABASE={target.database};"
        f"UID={target.user};PWD={target.password or ''};SSLMode=disable;UseServerSidePrepare=1;"
    )


@pytest.fixture
def odbc(bi_target: BiTarget) -> Iterator[pyodbc.Connection]:
    connection = pyodbc.connect(connection_string(bi_target), autocommit=True, timeout=10)
    try:
        yield connection
    finally:
        connection.close()


def test_psqlodbc_connects_to_a_postgresql(odbc: pyodbc.Connection) -> None:
    assert odbc.getinfo(pyodbc.SQL_DBMS_NAME) == "PostgreSQL"


def test_psqlodbc_lists_connections_as_tables_and_pipelines_as_views(
    odbc: pyodbc.Connection, bi_target: BiTarget
) -> None:
    rows = odbc.cursor().tables(schema="public").fetchall()

    assert [(r.table_cat, r.table_schem) for r in rows] == [(bi_target.database, "public")] * len(rows)
    assert [(r.table_name, r.table_type) for r in rows] == PUBLIC_TABLES


def test_psqlodbc_describes_the_columns_of_a_source(odbc: pyodbc.Connection) -> None:
    rows = odbc.cursor().columns(table="orders_src", schema="public").fetchall()

    assert [(r.table_schem, r.table_name) for r in rows] == [("public", "orders_src")] * len(rows)
    described = [
        (r.column_name, r.data_type, r.type_name, r.ordinal_position, r.nullable)
        if r.column_name != "_kafka_headers"
        else (r.column_name, None, None, r.ordinal_position, r.nullable)
        for r in rows
    ]
    assert described == SOURCE_COLUMNS


def test_psqlodbc_finds_no_primary_key(odbc: pyodbc.Connection) -> None:
    assert odbc.cursor().primaryKeys("orders_src", schema="public").fetchall() == []


def test_psqlodbc_reads_the_source(odbc: pyodbc.Connection) -> None:
    cursor = odbc.cursor()
    cursor.execute("SELECT id, customer, amount FROM orders_src ORDER BY id")

    assert [(d[0], d[1]) for d in cursor.description] == [("id", int), ("customer", str), ("amount", float)]
    assert [tuple(row) for row in cursor.fetchall()] == EXPECTED_ORDER_ROWS
