"""Ad-hoc queries on DuckDB: one in-memory DuckDB database per session.

A PostgreSQL SELECT is compiled once (:mod:`gateway.query.compile`) and can then be described
without running it and executed many times.
DuckDB work runs in a worker thread so that one slow query never stalls other sessions, and so
that a CancelRequest can interrupt it. SELECTs of plain literals (``SELECT 1``, the health check
every pool sends) are answered without DuckDB.

PostgreSQL functions DuckDB lacks or names differently (``version()``, ``current_database()``,
``pg_sleep``, ``current_setting``, ...) are defined as macros and Python functions on the
session's connection.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa
from duckdb import func as duckdb_func
from duckdb import sqltypes

from gateway import errors
from gateway.protocol import types as pgtypes
from gateway.query import pg_catalog, pg_catalog_rows, system_views
from gateway.query.compile import CompiledQuery
from gateway.query.duckdb_errors import translate
from gateway.query.pg_keywords import keyword_rows
from gateway.query.results import Column, Row
from gateway.settings import VERSION_STRING

FETCH_CHUNK = 1000


def _columns(compiled: CompiledQuery, names: Sequence[str], duck_types: Sequence[str]) -> tuple[Column, ...]:
    pg_names = compiled.names if compiled.names and len(compiled.names) == len(names) else None
    declared = compiled.declared_oids if pg_names else None
    columns = []
    for index, (name, duck_type) in enumerate(zip(names, duck_types, strict=True)):
        oid = pgtypes.oid_for_duckdb_type(duck_type)
        wanted = declared[index] if declared else None
        if wanted is not None and (wanted == pgtypes.VOID or _same_category(wanted, oid)):
            oid = wanted
        columns.append(Column(pg_names[index] if pg_names else name, oid, pgtypes.TYPES_BY_OID[oid].typlen))
    return tuple(columns)


def _same_category(first: int, second: int) -> bool:
    a, b = pgtypes.TYPES_BY_OID.get(first), pgtypes.TYPES_BY_OID.get(second)
    return a is not None and b is not None and a.category == b.category


class DuckDBRows:
    """Rows of an executed DuckDB cursor, fetched chunk by chunk in a worker thread."""

    def __init__(self, engine: QueryEngine, cursor: duckdb.DuckDBPyConnection) -> None:
        self._engine = engine
        self._cursor: duckdb.DuckDBPyConnection | None = cursor

    async def fetch(self, max_rows: int) -> list[Row]:
        cursor = self._cursor
        if cursor is None:
            return []
        size = FETCH_CHUNK if max_rows <= 0 else max_rows
        rows: list[Row] = []
        while True:
            chunk = await self._engine.run(cursor, lambda: cursor.fetchmany(size))
            rows.extend(chunk)
            if len(chunk) < size:
                self.close()
                return rows
            if max_rows > 0:
                return rows

    def close(self) -> None:
        if self._cursor is not None:
            self._engine.release(self._cursor)
            self._cursor = None


class QueryEngine:
    """The DuckDB side of one session."""

    def __init__(
        self,
        *,
        user: str,
        database: str,
        setting: Callable[[str], str],
        backend_pid: int,
        test_connection: Callable[[str], str] | None = None,
        change_setting: Callable[[str, str], object] | None = None,
    ) -> None:
        # integer_division: PostgreSQL's int / int is integer division. Settings given at connect
        # time hold for every cursor of the connection; SET would hold for one cursor only.
        self._connection = duckdb.connect(":memory:", config={"threads": 1, "integer_division": True})
        self._cancelled = threading.Event()
        self._active: set[duckdb.DuckDBPyConnection] = set()
        self._lock = threading.Lock()
        self._setting = setting
        self._function_error: errors.LaminarError | None = None
        self._test_connection = test_connection
        self._change_setting = change_setting
        self.hidden_columns: dict[str, tuple[str, ...]] = {}
        self.column_oids: dict[str, dict[str, int]] = {}
        self._pg_catalog_created = False
        self._define_postgres_functions(user, database, backend_pid)

    # -- set-up --------------------------------------------------------------------------------
    def _define_postgres_functions(self, user: str, database: str, backend_pid: int) -> None:
        con = self._connection
        quote = _quote_literal
        macros = {
            "version()": quote(VERSION_STRING),
            "current_database()": quote(database),
            "current_catalog()": quote(database),
            "current_schema()": "'public'",
            "current_user()": quote(user),
            "session_user()": quote(user),
            "user()": quote(user),
            "pg_backend_pid()": str(backend_pid),
            "pg_advisory_unlock_all()": "NULL",
            "pg_is_in_recovery()": "false",
            "inet_server_port()": "NULL",
            "pg_postmaster_start_time()": "NULL::TIMESTAMPTZ",
            # Laminar's is_valid(x): x is present and its text is well-formed JSON (the DLQ
            # routing example of the spec sends the rest to a dead-letter sink).
            "is_valid(x)": "x IS NOT NULL AND coalesce(json_valid(CAST(x AS VARCHAR)), false)",
            # TUMBLE(ts, size) in a bounded query's GROUP BY: the start of ts's window, windows
            # aligned to the epoch like a pipeline's (pipelines/windows.py).
            "tumble(ts, size)": (
                "make_timestamptz(epoch_us(ts) - (((epoch_us(ts) % CAST(epoch(size) * 1000000 AS BIGINT))"
                " + CAST(epoch(size) * 1000000 AS BIGINT)) % CAST(epoch(size) * 1000000 AS BIGINT)))"
            ),
        }
        # Python functions see NULLs themselves and may block (pg_sleep) or fail (current_setting).
        python_functions: dict[str, tuple[Callable[..., str | None], Any]] = {
            "pg_sleep": (self._pg_sleep, sqltypes.DOUBLE),
            # DuckDB has a current_setting of its own (for DuckDB settings): shadowed by a macro.
            "laminar_current_setting": (self._current_setting, sqltypes.VARCHAR),
            "test_connection": (self._run_test_connection, sqltypes.VARCHAR),
        }
        for name, (function, argument_type) in python_functions.items():
            con.create_function(
                name,
                function,
                [argument_type],
                sqltypes.VARCHAR,
                side_effects=True,
                null_handling=duckdb_func.SPECIAL,
            )
        con.create_function(
            "laminar_set_config",
            self._set_config,
            [sqltypes.VARCHAR, sqltypes.VARCHAR],
            sqltypes.VARCHAR,
            side_effects=True,
            null_handling=duckdb_func.SPECIAL,
        )
        macros["current_setting(name)"] = "laminar_current_setting(name)"
        # set_config(name, value, is_local): SET as a function (pgAdmin calls it at connect).
        macros["set_config(name, value, is_local)"] = "laminar_set_config(name, value)"
        for signature, body in macros.items():
            con.execute(f"CREATE OR REPLACE MACRO {signature} AS {body}")
        for statement in system_views.create_statements():
            con.execute(statement)

    def _pg_sleep(self, seconds: float | None) -> str:
        """PostgreSQL's pg_sleep; returns void, which prints as an empty string."""
        if seconds is not None and self._cancelled.wait(max(seconds, 0.0)):
            raise errors.QueryCanceled("canceling statement due to user request")
        return ""

    def _current_setting(self, name: str | None) -> str | None:
        if name is None:
            return None
        try:
            return self._setting(name)
        except errors.LaminarError as exc:
            # DuckDB wraps exceptions raised in Python functions; keep ours to re-raise it.
            self._function_error = exc
            raise

    def _set_config(self, name: str | None, value: str | None) -> str | None:
        if name is None or self._change_setting is None:
            return None
        try:
            self._change_setting(name, "" if value is None else value)
            return self._setting(name)
        except errors.LaminarError as exc:
            self._function_error = exc
            raise

    def _run_test_connection(self, name: str | None) -> str | None:
        if name is None:
            return None
        if self._test_connection is None:
            self._function_error = errors.FeatureNotSupported("test_connection needs the catalog")
            raise self._function_error
        try:
            return self._test_connection(name)
        except errors.LaminarError as exc:
            self._function_error = exc
            raise

    def ensure_pg_catalog(self) -> None:
        """Create the emulated pg_catalog and information_schema (once per session, on first use),
        with the rows that never change."""
        if self._pg_catalog_created:
            return
        con = self._connection
        try:
            con.execute("BEGIN")
            for statement in pg_catalog.create_statements():
                con.execute(statement)
            for table, rows in pg_catalog_rows.static_rows().items():
                _overwrite(con, f'{pg_catalog.PG}."{table}"', rows)
            _overwrite(con, f"{pg_catalog.PG}.laminar_keywords", keyword_rows())
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise translate(exc) from exc
        self._pg_catalog_created = True

    async def refresh_pg_catalog(
        self,
        pg_rows: dict[str, list[tuple[object, ...]]],
        information_rows: dict[str, list[tuple[object, ...]]],
    ) -> None:
        """Replace the rows of the catalog tables that follow Laminar's objects and the session."""
        self.ensure_pg_catalog()
        await self._replace_tables(
            [(f'{pg_catalog.PG}."{table}"', table_rows) for table, table_rows in pg_rows.items()]
            + [(f'{pg_catalog.INFO}."{table}"', table_rows) for table, table_rows in information_rows.items()]
        )

    async def refresh_system_tables(self, rows: dict[str, list[tuple[object, ...]]]) -> None:
        """Replace the contents of the given system tables (in the worker thread)."""
        for table in rows:
            # Table names come from SYSTEM_TABLES, never from a client; values are bound.
            if table not in system_views.SYSTEM_TABLES:
                raise errors.InternalError(f"unknown system table {table}")
        await self._replace_tables(
            [(f"{system_views.QUALIFIED_SCHEMA}.{table}", table_rows) for table, table_rows in rows.items()]
        )

    async def _replace_tables(self, targets: Sequence[tuple[str, Sequence[Sequence[object]]]]) -> None:
        """Replace the rows of Laminar-owned tables in one transaction, in the worker thread."""
        cursor = self._cursor()

        def work() -> None:
            cursor.execute("BEGIN")
            for target, rows in targets:
                _overwrite(cursor, target, rows)
            cursor.execute("COMMIT")

        try:
            await self.run(cursor, work)
        finally:
            self.release(cursor)

    def create_table(
        self,
        name: str,
        definitions: str,
        *,
        hidden: Sequence[str] = (),
        column_oids: Mapping[str, int] | None = None,
    ) -> None:
        """An empty table for a source connection (kept for the session; refilled before use).
        ``hidden`` columns are left out of ``SELECT *`` and ``column_oids`` are the columns'
        declared PostgreSQL types (see :func:`compile_select`)."""
        if hidden:
            self.hidden_columns[name.lower()] = tuple(hidden)
        if column_oids:
            self.column_oids[name.lower()] = dict(column_oids)
        try:
            self._connection.execute(f"CREATE TABLE IF NOT EXISTS {quote_identifier(name)} ({definitions})")
        except duckdb.Error as exc:
            raise translate(exc) from exc

    async def replace_rows(self, name: str, rows: Sequence[Sequence[object]]) -> None:
        """Replace the rows of a source connection's table (in the worker thread)."""
        cursor = self._cursor()

        def work() -> None:
            cursor.execute("BEGIN")
            _overwrite(cursor, quote_identifier(name), rows)
            cursor.execute("COMMIT")

        try:
            await self.run(cursor, work)
        finally:
            self.release(cursor)

    # -- running -------------------------------------------------------------------------------
    async def run(self, cursor: duckdb.DuckDBPyConnection, work: Callable[[], Any]) -> Any:
        """Run DuckDB work in a worker thread; translate its errors."""
        try:
            return await asyncio.to_thread(work)
        except errors.LaminarError:
            raise
        except duckdb.Error as exc:
            self.release(cursor)
            if self._cancelled.is_set():
                raise errors.QueryCanceled("canceling statement due to user request") from exc
            function_error, self._function_error = self._function_error, None
            if function_error is not None:
                raise function_error from exc
            raise translate(exc) from exc
        except Exception as exc:
            self.release(cursor)
            if self._cancelled.is_set():
                raise errors.QueryCanceled("canceling statement due to user request") from exc
            raise

    async def run_work(self, work: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
        """Run ``work`` with a cursor of this engine's database in a worker thread (pipelines
        use it to load a micro-batch and run their compiled queries in one hop)."""
        cursor = self._cursor()
        try:
            return await self.run(cursor, lambda: work(cursor))
        finally:
            self.release(cursor)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = self._connection.cursor()
        with self._lock:
            self._active.add(cursor)
        return cursor

    def release(self, cursor: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            self._active.discard(cursor)
        cursor.close()

    def describe(self, compiled: CompiledQuery) -> tuple[Column, ...]:
        """Result columns of a query, found by binding it in DuckDB without running it."""
        if compiled.literal_row is not None:
            return self._literal_columns(compiled)
        if compiled.reads_pg_catalog:
            self.ensure_pg_catalog()
        cursor = self._connection.cursor()
        try:
            relation = cursor.sql(compiled.describe_sql)
            if relation is None:
                return ()
            return _columns(compiled, relation.columns, [str(t) for t in relation.types])
        except duckdb.Error as exc:
            raise translate(exc) from exc
        finally:
            cursor.close()

    def _literal_columns(self, compiled: CompiledQuery) -> tuple[Column, ...]:
        assert compiled.literal_row is not None
        assert compiled.names is not None
        return tuple(
            Column(name, oid, pgtypes.TYPES_BY_OID[oid].typlen)
            for name, (_, oid) in zip(compiled.names, compiled.literal_row, strict=True)
        )

    async def execute(
        self, compiled: CompiledQuery, params: Sequence[Any]
    ) -> tuple[tuple[Column, ...], list[Row] | DuckDBRows]:
        """Run a compiled query; rows come back as a list (literal SELECT) or a cursor."""
        self._cancelled.clear()
        if compiled.literal_row is not None:
            return self._literal_columns(compiled), [tuple(value for value, _ in compiled.literal_row)]
        if compiled.reads_pg_catalog:
            self.ensure_pg_catalog()
        cursor = self._cursor()

        def work() -> tuple[tuple[Column, ...], DuckDBRows]:
            cursor.execute(compiled.sql_for(params), list(params))
            description = cursor.description or []
            columns = _columns(compiled, [d[0] for d in description], [str(d[1]) for d in description])
            return columns, DuckDBRows(self, cursor)

        result: tuple[tuple[Column, ...], DuckDBRows] = await self.run(cursor, work)
        return result

    def cancel(self) -> None:
        """Interrupt whatever this session runs in DuckDB right now (from any thread)."""
        self._cancelled.set()
        with self._lock:
            active = list(self._active)
        for cursor in active:
            cursor.interrupt()

    def close(self) -> None:
        self.cancel()
        self._connection.close()


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _overwrite(cursor: duckdb.DuckDBPyConnection, target: str, rows: Sequence[Sequence[object]]) -> None:
    """Replace every row of ``target`` (a quoted or Laminar-owned name, never client text).

    The rows go in as one Arrow table (DuckDB's ``executemany`` binds one row at a time, some
    2,000 rows/s: a source of 50,000 records took 25 s to query). Values Arrow cannot type on
    its own (mixed kinds in one column, integers beyond 64 bits) fall back to ``executemany``.
    """
    cursor.execute(f"DELETE FROM {target}")  # noqa: S608
    if not rows:
        return
    try:
        table = pa.table({f"c{i}": pa.array(column) for i, column in enumerate(zip(*rows, strict=True))})
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        marks = ", ".join("?" * len(rows[0]))
        cursor.executemany(f"INSERT INTO {target} VALUES ({marks})", rows)  # noqa: S608
        return
    cursor.register(_ROWS_VIEW, table)
    try:
        cursor.execute(f"INSERT INTO {target} SELECT * FROM {_ROWS_VIEW}")  # noqa: S608
    finally:
        cursor.unregister(_ROWS_VIEW)


_ROWS_VIEW = "laminar_rows_to_insert"


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
