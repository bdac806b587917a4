"""Query parameters ($1, $2, ...): finding them and inferring the types of untyped ones.

Drivers often send parameters with type OID 0 ("unknown"): psycopg sends strings that way, and
asyncpg asks the server what types to encode with (ParameterDescription). Like PostgreSQL, the
gateway infers a type from the context of each placeholder: an explicit cast (``$1::int``), the
other side of a comparison or arithmetic (``$1 + 1``, ``x = $1``), and falls back to text.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from gateway.errors import IndeterminateDatatype
from gateway.protocol import types as pgtypes

UNSPECIFIED = 0

_BINARY_CONTEXT = (exp.Binary, exp.Between, exp.In)

# sqlglot data-type names → PostgreSQL OIDs (the types a cast can name).
_DATATYPE_OIDS: dict[Any, int] = {  # sqlglot DataType.Type → OID
    exp.DataType.Type.BOOLEAN: pgtypes.BOOL,
    exp.DataType.Type.SMALLINT: pgtypes.INT2,
    exp.DataType.Type.INT: pgtypes.INT4,
    exp.DataType.Type.BIGINT: pgtypes.INT8,
    exp.DataType.Type.FLOAT: pgtypes.FLOAT4,
    exp.DataType.Type.DOUBLE: pgtypes.FLOAT8,
    exp.DataType.Type.DECIMAL: pgtypes.NUMERIC,
    exp.DataType.Type.TEXT: pgtypes.TEXT,
    exp.DataType.Type.VARCHAR: pgtypes.VARCHAR,
    exp.DataType.Type.NAME: pgtypes.NAME,
    exp.DataType.Type.CHAR: pgtypes.BPCHAR,
    exp.DataType.Type.VARBINARY: pgtypes.BYTEA,
    exp.DataType.Type.DATE: pgtypes.DATE,
    exp.DataType.Type.TIME: pgtypes.TIME,
    exp.DataType.Type.TIMESTAMP: pgtypes.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPTZ: pgtypes.TIMESTAMPTZ,
    exp.DataType.Type.INTERVAL: pgtypes.INTERVAL,
    exp.DataType.Type.UUID: pgtypes.UUID,
    exp.DataType.Type.JSON: pgtypes.JSON,
    exp.DataType.Type.JSONB: pgtypes.JSONB,
}


def oid_of_datatype(datatype: exp.DataType) -> int | None:
    """The PostgreSQL OID a sqlglot DataType names, or None if Laminar has no such type."""
    if datatype.this == exp.DataType.Type.ARRAY and datatype.expressions:
        inner = datatype.expressions[0]
        element = oid_of_datatype(inner) if isinstance(inner, exp.DataType) else None
        if element is None:
            return None
        return pgtypes.TYPES_BY_OID[element].array_oid or None
    if datatype.this == exp.DataType.Type.USERDEFINED:
        name = datatype.sql("postgres").lower()
        found = pgtypes.TYPES_BY_NAME.get(name)
        return found.oid if found else None
    return _DATATYPE_OIDS.get(datatype.this)


def placeholders(tree: exp.Expression) -> list[exp.Placeholder | exp.Parameter]:
    """Every $n placeholder in the statement."""
    found: list[exp.Placeholder | exp.Parameter] = []
    for node in tree.find_all(exp.Placeholder, exp.Parameter):
        if isinstance(node, exp.Placeholder | exp.Parameter) and _placeholder_number(node) is not None:
            found.append(node)
    return found


def _placeholder_number(node: exp.Expression) -> int | None:
    text = node.name if isinstance(node, exp.Placeholder) else node.this.name if node.this else ""
    return int(text) if text.isdigit() else None


def parameter_count(tree: exp.Expression) -> int:
    numbers = [_placeholder_number(node) for node in placeholders(tree)]
    return max((n for n in numbers if n is not None), default=0)


def _literal_oid(node: exp.Expression) -> int | None:
    if isinstance(node, exp.Literal):
        if node.is_string:
            return pgtypes.TEXT
        return pgtypes.INT4 if node.this.lstrip("-").isdigit() else pgtypes.NUMERIC
    if isinstance(node, exp.Boolean):
        return pgtypes.BOOL
    if isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType):
        return oid_of_datatype(node.to)
    return None


def _context_oid(node: exp.Expression) -> int | None:
    parent = node.parent
    if isinstance(parent, exp.Cast) and isinstance(parent.to, exp.DataType):
        return oid_of_datatype(parent.to)
    if isinstance(parent, _BINARY_CONTEXT):
        for sibling in parent.iter_expressions():
            if sibling is not node and isinstance(sibling, exp.Expression):
                found = _literal_oid(sibling)
                if found is not None:
                    return found
    return None


def infer_parameter_types(tree: exp.Expression, declared: tuple[int, ...]) -> tuple[int, ...]:
    """OIDs for $1..$n: the client's where given, else inferred from context, else text."""
    count = max(parameter_count(tree), len(declared))
    inferred: dict[int, int] = {}
    for node in placeholders(tree):
        number = _placeholder_number(node)
        if number is None or number in inferred:
            continue
        oid = _context_oid(node)
        if oid is not None:
            inferred[number] = oid
    result = []
    for number in range(1, count + 1):
        given = declared[number - 1] if number <= len(declared) else UNSPECIFIED
        if given != UNSPECIFIED:
            if given not in pgtypes.TYPES_BY_OID:
                raise IndeterminateDatatype(
                    f"parameter ${number} has a type (OID {given}) Laminar does not know"
                )
            result.append(given)
        else:
            result.append(inferred.get(number, pgtypes.TEXT))
    return tuple(result)
