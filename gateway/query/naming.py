"""Column names and declared types of a SELECT list, computed the way PostgreSQL does.

DuckDB names an unaliased ``SELECT 1`` column ``1`` and ``SELECT now()`` ``now()``; PostgreSQL
says ``?column?`` and ``now``. Clients show these names and some tests compare them, so the
gateway computes them from the PostgreSQL syntax tree (FigureColname in PostgreSQL's parser).
Explicit casts in the select list also tell which PostgreSQL type to report (``'x'::varchar`` is
varchar, not text; ``1::int2`` is int2 although DuckDB computes it as SMALLINT either way).
"""

from __future__ import annotations

from sqlglot import exp

from gateway.protocol import types as pgtypes
from gateway.sql.params import oid_of_datatype

UNNAMED = "?column?"

# Names PostgreSQL gives to SQL-standard functions that sqlglot parses into special nodes.
_SPECIAL_NAMES: dict[type[exp.Expression], str] = {
    exp.CurrentTimestamp: "now",
    exp.CurrentDate: "current_date",
    exp.CurrentTime: "current_time",
    exp.CurrentUser: "current_user",
    exp.Case: "case",
    exp.Array: "array",
    exp.Coalesce: "coalesce",
}


def _type_name(datatype: exp.DataType) -> str:
    oid = oid_of_datatype(datatype)
    if oid is None:
        return datatype.sql("postgres").lower()
    return pgtypes.TYPES_BY_OID[oid].name


def column_name(node: exp.Expression) -> str:
    """PostgreSQL's name for one select-list expression."""
    if isinstance(node, exp.Alias):
        return node.alias
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Cast):
        inner = column_name(node.this)
        if inner != UNNAMED:
            return inner
        return _type_name(node.to) if isinstance(node.to, exp.DataType) else UNNAMED
    for special, name in _SPECIAL_NAMES.items():
        if isinstance(node, special):
            return name
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    if isinstance(node, exp.Func) and not isinstance(node, exp.Binary | exp.Unary):
        # The name as PostgreSQL spells the call, e.g. version() for sqlglot's CurrentVersion.
        written = node.sql("postgres")
        return written.split("(", 1)[0].strip().lower() if "(" in written else UNNAMED
    if isinstance(node, exp.Paren):
        return column_name(node.this)
    return UNNAMED


# Functions whose PostgreSQL result type DuckDB cannot express.
_FUNCTION_OIDS = {
    "pg_sleep": pgtypes.VOID,
    "current_database": pgtypes.NAME,
    "current_catalog": pgtypes.NAME,
    "current_schema": pgtypes.NAME,
    "current_user": pgtypes.NAME,
    "session_user": pgtypes.NAME,
}


def declared_oid(node: exp.Expression) -> int | None:
    """The OID an explicit top-level cast, or a function with a PostgreSQL-only type, names."""
    if isinstance(node, exp.Alias):
        node = node.this
    if isinstance(node, exp.Cast):  # a Cast is also a Func: check it first
        return oid_of_datatype(node.to) if isinstance(node.to, exp.DataType) else None
    if isinstance(node, exp.Func | exp.CurrentUser):
        return _FUNCTION_OIDS.get(column_name(node))
    return None


def select_list(tree: exp.Expression) -> list[exp.Expression] | None:
    """The projections of a plain SELECT (None for set operations or ``*``)."""
    if not isinstance(tree, exp.Select):
        return None
    projections = list(tree.expressions)
    if any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and p.is_star) for p in projections):
        return None
    return projections
