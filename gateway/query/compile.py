"""Compiling a PostgreSQL SELECT for DuckDB, once per statement text.

:func:`compile_select` turns a PostgreSQL syntax tree into the DuckDB SQL the engine runs: the
emulated catalogs (:mod:`gateway.query.pg_catalog`) and the system views are pointed at their
tables, numeric and bytea literals pinned to PostgreSQL's types, ``encode``/``decode`` mapped,
parameters cast to their inferred types, Kafka metadata columns left out of ``*``, and
``TUMBLE``/``HOP`` window bounds resolved. The result, :class:`CompiledQuery`, also carries what
the session must prepare before it runs (system tables, source tables, catalog rows) and the
PostgreSQL names and declared types of its columns.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlglot import exp

from gateway import errors
from gateway.protocol import types as pgtypes
from gateway.query import naming, pg_catalog, system_views
from gateway.sql.params import infer_parameter_types, placeholders


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
    if projections is not None:
        declared_oids = _with_column_oids(tree, projections, declared_oids or (), column_oids or {})
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
    with declared types (found by its qualifier, or as the one such table of the FROM clause): a
    source connection's columns (``column_oids``) or an emulated catalog's (``oid``, ``name``)."""
    tables: dict[str, Mapping[str, int]] = {}
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if not name or table.catalog:
            continue
        types = column_oids.get(name) if not table.db else None
        if types is None and name not in ctes:
            types = pg_catalog.column_oids(table.db.lower(), name)
        if types:
            tables[(table.alias_or_name or table.name).lower()] = types
    result = list(declared)
    for index, projection in enumerate(projections):
        column = projection.this if isinstance(projection, exp.Alias) else projection
        if result[index] is not None or not isinstance(column, exp.Column) or not column.name:
            continue
        qualifier = column.table.lower()
        candidates = (
            [tables[qualifier]] if qualifier in tables else [] if qualifier else list(tables.values())
        )
        found = {types[column.name] for types in candidates if column.name in types}
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
