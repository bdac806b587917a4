"""Ad-hoc queries on DuckDB: one in-memory DuckDB database per session.

A PostgreSQL SELECT is compiled once (sqlglot: postgres tree → DuckDB SQL, parameters cast to
their inferred types) and can then be described without running it and executed many times.
DuckDB work runs in a worker thread so that one slow query never stalls other sessions, and so
that a CancelRequest can interrupt it. SELECTs of plain literals (``SELECT 1``, the health check
every pool sends) are answered without DuckDB.

PostgreSQL functions DuckDB lacks or names differently (``version()``, ``current_database()``,
``pg_sleep``, ``current_setting``, ...) are defined as macros and Python functions on the
session's connection.
"""

from __future__ import annotations

import asyncio
import decimal
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import duckdb
import pyarrow as pa
from duckdb import func as duckdb_func
from duckdb import sqltypes
from sqlglot import exp

from gateway import errors
from gateway.protocol import types as pgtypes
from gateway.query import naming, pg_catalog, pg_catalog_rows, system_views
from gateway.query.duckdb_errors import translate
from gateway.query.pg_keywords import keyword_rows
from gateway.query.results import Column, Row
from gateway.settings import VERSION_STRING
from gateway.sql.params import infer_parameter_types, placeholders

FETCH_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """A SELECT ready to describe and execute."""

    duckdb_sql: str
    describe_sql: str
    param_oids: tuple[int, ...]
    names: tuple[str, ...] | None  # PostgreSQL column names, None to keep DuckDB's
    declared_oids: tuple[int | None, ...] | None
    literal_row: tuple[tuple[Any, int], ...] | None  # (value, oid) per column for literal SELECTs
    tree: exp.Expression | None = None  # kept when the SQL depends on bound values (numeric)
    system_tables: frozenset[str] = frozenset()  # system.* tables to refresh before running
    user_tables: frozenset[str] = frozenset()  # plain table names: source connections, maybe
    peek_limit: int | None = None  # SELECT ... FROM one_table LIMIT n: read no more than n rows
    reads_pg_catalog: bool = False  # pg_catalog / information_schema rows to refresh before running

    def sql_for(self, params: Sequence[Any]) -> str:
        if self.tree is None:
            return self.duckdb_sql
        return _with_parameters(self.tree, self.param_oids, as_null=False, values=params)


def _literal(node: exp.Expression) -> tuple[Any, int] | None:
    """Value and OID of a plain literal select item, as PostgreSQL types it."""
    if isinstance(node, exp.Alias):
        node = node.this
    if isinstance(node, exp.Literal):
        if node.is_string:
            return str(node.this), pgtypes.TEXT
        text = str(node.this)
        if text.isdigit():
            value = int(text)
            if value <= 2**31 - 1:
                return value, pgtypes.INT4
            if value <= 2**63 - 1:
                return value, pgtypes.INT8
        return None
    if isinstance(node, exp.Boolean):
        return bool(node.this), pgtypes.BOOL
    return None


def _literal_row(tree: exp.Expression) -> tuple[tuple[Any, int], ...] | None:
    if not isinstance(tree, exp.Select) or any(
        tree.args.get(key)
        for key in ("from_", "where", "group", "having", "order", "limit", "with_", "joins")
    ):
        return None
    items = [_literal(node) for node in tree.expressions]
    if not items or any(item is None for item in items):
        return None
    return tuple(item for item in items if item is not None)


MAX_DECIMAL_PRECISION = 38


def _decimal_type(text: str) -> exp.DataType | None:
    """DECIMAL(p, s) that holds a numeric literal exactly, as PostgreSQL's numeric would."""
    try:
        value = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        return None
    if not value.is_finite():
        return None
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    scale = max(-exponent, 0)
    precision = max(len(digits) + max(exponent, 0), scale, 1)
    if precision > MAX_DECIMAL_PRECISION:
        return None
    return exp.DataType.build(f"DECIMAL({precision}, {scale})")


def _is_unconstrained_numeric(datatype: exp.Expression) -> bool:
    return (
        isinstance(datatype, exp.DataType)
        and datatype.this == exp.DataType.Type.DECIMAL
        and not datatype.expressions
    )


def _pin_numeric_literals(tree: exp.Expression) -> exp.Expression:
    """``'2.50'::numeric`` keeps its scale in PostgreSQL; DuckDB's DECIMAL defaults to (18, 3)."""
    for cast in tree.find_all(exp.Cast):
        if _is_unconstrained_numeric(cast.to) and isinstance(cast.this, exp.Literal):
            pinned = _decimal_type(str(cast.this.this))
            if pinned is not None:
                cast.set("to", pinned)
    return tree


def _bytea_hex_literals(tree: exp.Expression) -> exp.Expression:
    r"""``'\xdeadbeef'::bytea`` is hex in PostgreSQL; DuckDB's BLOB cast reads escapes instead."""
    for cast in tree.find_all(exp.Cast):
        literal = cast.this
        if (
            isinstance(cast.to, exp.DataType)
            and cast.to.this
            in (exp.DataType.Type.VARBINARY, exp.DataType.Type.BINARY, exp.DataType.Type.BLOB)
            and isinstance(literal, exp.Literal)
            and literal.is_string
            and str(literal.this).startswith("\\x")
        ):
            cast.replace(exp.Anonymous(this="unhex", expressions=[exp.Literal.string(str(literal.this)[2:])]))
    return tree


# PostgreSQL's encode(bytes, format) / decode(text, format) in DuckDB's words. 'utf8' is not a
# PostgreSQL format, but the spec writes encode(key, 'utf8') meaning "the text as UTF-8 bytes".
_ENCODERS = {"base64": "to_base64", "hex": "hex", "utf8": "encode", "utf-8": "encode"}
_DECODERS = {"base64": "from_base64", "hex": "unhex", "utf8": "decode", "utf-8": "decode"}


def _encode_decode(tree: exp.Expression) -> exp.Expression:
    """Rewrite encode()/decode() with a format argument to the DuckDB function for it."""
    for node in reversed(list(tree.find_all(exp.Encode, exp.Decode))):  # innermost first
        charset = node.args.get("charset")
        if not isinstance(charset, exp.Literal):
            continue
        table = _ENCODERS if isinstance(node, exp.Encode) else _DECODERS
        function = table.get(str(charset.this).lower())
        if function is None:
            raise errors.InvalidParameterValue(
                f'unrecognized encoding: "{charset.this}"', hint="Use base64, hex or utf8."
            )
        replacement: exp.Expression = exp.Anonymous(this=function, expressions=[node.this.copy()])
        if function == "hex":
            replacement = exp.Lower(this=replacement)  # PostgreSQL writes hex in lower case
        node.replace(replacement)
    return tree


def _with_parameters(
    tree: exp.Expression, param_oids: Sequence[int], *, as_null: bool, values: Sequence[Any] = ()
) -> str:
    """DuckDB SQL where each $n is cast to its PostgreSQL type (or is a typed NULL).

    Numeric parameters are cast to a DECIMAL that fits the bound value when values are given.
    """
    if not param_oids:  # nothing to rewrite: spare the copy (a 1000-row VALUES is a big tree)
        plain: str = tree.sql(dialect="duckdb")
        return plain
    copy = tree.copy()
    for node in placeholders(copy):
        number = int(node.name if isinstance(node, exp.Placeholder) else node.this.name)
        oid = param_oids[number - 1]
        duck_type: str | exp.DataType = pgtypes.duckdb_type_for_oid(oid)
        if (
            oid == pgtypes.NUMERIC
            and number <= len(values)
            and isinstance(values[number - 1], decimal.Decimal)
        ):
            duck_type = _decimal_type(str(values[number - 1])) or duck_type
        if isinstance(node.parent, exp.Cast) and _is_unconstrained_numeric(node.parent.to):
            node.parent.set("to", exp.DataType.build(duck_type) if isinstance(duck_type, str) else duck_type)
        value: exp.Expression = exp.Null() if as_null else exp.Placeholder(this=str(number))
        target = exp.DataType.build(duck_type, dialect="duckdb") if isinstance(duck_type, str) else duck_type
        node.replace(exp.Cast(this=value, to=target))
    sql: str = copy.sql(dialect="duckdb")
    return sql


def _hide_from_star(tree: exp.Expression, hidden: Mapping[str, Sequence[str]]) -> exp.Expression:
    """``SELECT * FROM source`` leaves out the source's metadata columns (``_kafka_offset``, ...),
    as Flink's and RisingWave's metadata columns are left out of ``*``; naming them still works."""
    if not hidden:
        return tree
    for select in tree.find_all(exp.Select):
        source = select.args.get("from_")
        table = source.this if isinstance(source, exp.From) else None
        if select.args.get("joins") or not isinstance(table, exp.Table) or table.db:
            continue
        columns = hidden.get(table.name.lower())
        if not columns:
            continue
        for projection in select.expressions:
            if isinstance(projection, exp.Star):
                projection.set("except_", [exp.column(name, quoted=True) for name in columns])
    return tree


WINDOW_FUNCTIONS = ("TUMBLE", "HOP")
WINDOW_BOUNDS = ("window_start", "window_end")


def window_calls(select: exp.Select) -> list[exp.Anonymous]:
    """The TUMBLE/HOP calls a SELECT groups by (pipelines and bounded queries alike)."""
    group = select.args.get("group")
    return [
        node
        for node in (group.expressions if isinstance(group, exp.Group) else [])
        if isinstance(node, exp.Anonymous) and str(node.this).upper() in WINDOW_FUNCTIONS
    ]


def replace_window_bounds(
    select: exp.Select,
    start: Callable[[], exp.Expression],
    end: Callable[[], exp.Expression],
    *,
    keep: Collection[str] = (),
) -> None:
    """``window_start`` / ``window_end`` in a windowed SELECT become the window's bounds (unless a
    real column of that name is in ``keep``); a bare one in the select list keeps its name."""
    for column in list(select.find_all(exp.Column)):
        name = column.name.lower()
        if column.table or name not in WINDOW_BOUNDS or column.name in keep:
            continue
        bound = start() if name == "window_start" else end()
        column.replace(exp.alias_(bound, name) if column.parent is select else bound)


def _window_columns(tree: exp.Expression) -> exp.Expression:
    """In a bounded query grouped by TUMBLE(ts, size), ``window_start`` and ``window_end`` are
    that window's bounds, as in a pipeline; HOP (a row in several windows) is for pipelines only."""
    for select in tree.find_all(exp.Select):
        calls = window_calls(select)
        if not calls:
            continue
        call = calls[0]
        if str(call.this).upper() == "HOP" or len(call.expressions) != 2:
            raise errors.FeatureNotSupported(
                "HOP windows are for continuous pipelines; a bounded query groups by TUMBLE(ts, size)",
                hint="CREATE PIPELINE ... GROUP BY ..., HOP(ts, slide, size) runs it continuously.",
            )
        replace_window_bounds(select, call.copy, partial(_window_end, call))
    return tree


def _window_end(call: exp.Anonymous) -> exp.Expression:
    """TUMBLE(ts, size) + size: the end of the window TUMBLE gives the start of."""
    return exp.Add(this=call.copy(), expression=call.expressions[1].copy())


def compile_select(
    tree: exp.Expression,
    declared_param_oids: tuple[int, ...],
    *,
    hidden_columns: Mapping[str, Sequence[str]] | None = None,
    column_oids: Mapping[str, Mapping[str, int]] | None = None,
) -> CompiledQuery:
    """Compile a PostgreSQL SELECT tree for DuckDB; ``hidden_columns`` (table → columns) are left
    out of a bare ``*``; ``column_oids`` (table → column → OID) are the declared types a plain
    column reference is described with (a ``varchar`` column is varchar, not DuckDB's text)."""
    param_oids = infer_parameter_types(tree, declared_param_oids)
    tree = _window_columns(_hide_from_star(tree.copy(), hidden_columns or {}))
    projections = naming.select_list(tree)  # names come from the statement as written
    names = None if projections is None else tuple(naming.column_name(p) for p in projections)
    declared_oids = None if projections is None else tuple(naming.declared_oid(p) for p in projections)
    if projections is not None and column_oids:
        declared_oids = _with_column_oids(tree, projections, declared_oids or (), column_oids)
    tree, reads_pg_catalog = pg_catalog.rewrite(tree)
    tree = system_views.qualify(_encode_decode(_bytea_hex_literals(_pin_numeric_literals(tree))))
    duckdb_sql = _with_parameters(tree, param_oids, as_null=False)
    return CompiledQuery(
        duckdb_sql=duckdb_sql,
        describe_sql=_with_parameters(tree, param_oids, as_null=True) if param_oids else duckdb_sql,
        param_oids=param_oids,
        names=names,
        declared_oids=declared_oids,
        literal_row=None if param_oids else _literal_row(tree),
        tree=tree if pgtypes.NUMERIC in param_oids else None,
        system_tables=system_views.tables_read(tree),
        user_tables=_user_tables(tree),
        peek_limit=_peek_limit(tree),
        reads_pg_catalog=reads_pg_catalog,
    )


def _with_column_oids(
    tree: exp.Expression,
    projections: Sequence[exp.Expression],
    declared: Sequence[int | None],
    column_oids: Mapping[str, Mapping[str, int]],
) -> tuple[int | None, ...]:
    """``declared`` with the declared type of each projection that is a plain column of a table
    with declared types (found by its qualifier, or as the one such table of the FROM clause)."""
    tables: dict[str, str] = {}
    for table in tree.find_all(exp.Table):
        if table.name and not table.db and table.name.lower() in column_oids:
            tables[(table.alias_or_name or table.name).lower()] = table.name.lower()
    result = list(declared)
    for index, projection in enumerate(projections):
        column = projection.this if isinstance(projection, exp.Alias) else projection
        if result[index] is not None or not isinstance(column, exp.Column) or not column.name:
            continue
        qualifier = column.table.lower()
        candidates = (
            [tables[qualifier]] if qualifier in tables else [] if qualifier else list(tables.values())
        )
        found = {column_oids[t][column.name] for t in candidates if column.name in column_oids[t]}
        if len(found) == 1:
            result[index] = found.pop()
    return tuple(result)


def _user_tables(tree: exp.Expression) -> frozenset[str]:
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    return frozenset(
        table.name.lower()
        for table in tree.find_all(exp.Table)
        if table.name and not table.db and table.name.lower() not in ctes
    )


def _peek_limit(tree: exp.Expression) -> int | None:
    """n for a plain ``SELECT ... FROM t LIMIT n`` (no filter, join, grouping or order)."""
    if not isinstance(tree, exp.Select) or any(
        tree.args.get(key) for key in ("where", "group", "having", "order", "joins", "with_", "distinct")
    ):
        return None
    if any(p.find(exp.AggFunc, exp.Window) for p in tree.expressions):
        return None  # count(*) ... LIMIT 5 needs every row, not five
    limit = tree.args.get("limit")
    value = limit.expression if isinstance(limit, exp.Limit) else None
    if isinstance(value, exp.Literal) and not value.is_string and str(value.this).isdigit():
        return int(value.this)
    return None


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
