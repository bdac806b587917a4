"""Avro schemas for the `avro` format: names, the PostgreSQL -> Avro type mapping, parsing.

The facts both directions share: the Confluent framing constants (MAGIC_BYTE, HEADER_SIZE), valid
Avro names (`avro_name`), what PostgreSQL type OIDs mean for Avro, the record schema a sink derives
from its output columns (`avro_type_for`, `avro_schema_for`), and `_Schema`: a schema fastavro has
parsed (`_parse`), with named references resolved and types described for error messages. The
mapping tables are in formats.avro_format's docstring; the writers (formats.avro_writer), the
encoder (formats.avro_encoder) and the decoder (formats.avro_reader) build on this module.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import fastavro
import orjson

from formats.rows import kept_columns
from gateway.errors import (
    DuplicateColumn,
    InvalidParameterValue,
)
from gateway.protocol import types as pg

MAGIC_BYTE: Final = 0
HEADER_SIZE: Final = 5
DEFAULT_DECIMAL: Final = (38, 10)  # (precision, scale) of numeric without a typmod
VALUE_COLUMN: Final = "value"  # the one column of a source whose schema is not a record
_SHOWN_CHARS: Final = 60


# --- names ---------------------------------------------------------------------------------------
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_NAME_CHAR: Final = re.compile(r"[^A-Za-z0-9_]")


def avro_name(name: str) -> str:
    """`name` as a valid Avro name: other characters become '_', a leading digit (or nothing) gets
    a '_' in front. Valid names come back unchanged."""
    if _NAME.fullmatch(name):
        return name
    cleaned = _NOT_NAME_CHAR.sub("_", name)
    return cleaned if cleaned[:1].isalpha() or cleaned[:1] == "_" else "_" + cleaned


def _namespace(namespace: str) -> str:
    return ".".join(avro_name(part) for part in namespace.split(".")) if namespace else ""


# --- PostgreSQL type facts -------------------------------------------------------------------------
_TEXT_LIKE: Final = frozenset({pg.TEXT, pg.VARCHAR, pg.BPCHAR, pg.NAME, pg.CHAR, pg.UNKNOWN})
_INTEGERS: Final = frozenset({pg.INT2, pg.INT4, pg.INT8, pg.OID})
_FLOATS: Final = frozenset({pg.FLOAT4, pg.FLOAT8})
_NUMBERS: Final = _INTEGERS | _FLOATS | {pg.NUMERIC}
_TIMESTAMPS: Final = frozenset({pg.TIMESTAMP, pg.TIMESTAMPTZ})
_INT32: Final = 2**31
_INT64: Final = 2**63
# Types whose values are written as text into string fields; every OID the gateway does not know
# (DuckDB MAP, STRUCT, ... are announced as text anyway) counts as text too.
_NOT_STRING: Final = _NUMBERS | _TIMESTAMPS | {pg.BOOL, pg.BYTEA, pg.DATE, pg.TIME, pg.VOID}

_TYPE_NAMES: Final = {
    pg.BOOL: "boolean",
    pg.INT2: "smallint",
    pg.INT4: "integer",
    pg.INT8: "bigint",
    pg.OID: "oid",
    pg.FLOAT4: "real",
    pg.FLOAT8: "double precision",
    pg.NUMERIC: "numeric",
    pg.TEXT: "text",
    pg.VARCHAR: "character varying",
    pg.BPCHAR: "character",
    pg.NAME: "name",
    pg.CHAR: '"char"',
    pg.BYTEA: "bytea",
    pg.DATE: "date",
    pg.TIME: "time without time zone",
    pg.TIMETZ: "time with time zone",
    pg.TIMESTAMP: "timestamp without time zone",
    pg.TIMESTAMPTZ: "timestamp with time zone",
    pg.INTERVAL: "interval",
    pg.UUID: "uuid",
    pg.JSON: "json",
    pg.JSONB: "jsonb",
    pg.BIT: "bit",
    pg.VARBIT: "bit varying",
    pg.UNKNOWN: "unknown",
    pg.VOID: "void",
}


def _element_oid(oid: int) -> int:
    pg_type = pg.TYPES_BY_OID.get(oid)
    return pg_type.elem_oid if pg_type is not None else 0


def _type_name(oid: int) -> str:
    element = _element_oid(oid)
    if element:
        return _type_name(element) + "[]"
    return _TYPE_NAMES.get(oid, "text")


def _decimal_of_typmod(typmod: int) -> tuple[int, int]:
    if typmod < 4:
        return DEFAULT_DECIMAL
    packed = typmod - 4
    return (packed >> 16) & 0xFFFF, packed & 0xFFFF


# --- schema derivation ---------------------------------------------------------------------------
def avro_type_for(oid: int, typmod: int = -1) -> Any:
    """The (non-null) Avro type a column of PostgreSQL type `oid` is written as (see formats.avro_format)."""
    element = _element_oid(oid)
    if element:
        return {"type": "array", "items": ["null", avro_type_for(element)]}
    if oid == pg.NUMERIC:
        precision, scale = _decimal_of_typmod(typmod)
        return {"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale}
    simple = _SIMPLE_TYPES.get(oid)
    if simple is not None:
        return dict(simple) if isinstance(simple, dict) else simple
    return "string"


_SIMPLE_TYPES: Final[Mapping[int, Any]] = {
    pg.BOOL: "boolean",
    pg.INT2: "int",
    pg.INT4: "int",
    pg.INT8: "long",
    pg.OID: "long",
    pg.FLOAT4: "float",
    pg.FLOAT8: "double",
    pg.BYTEA: "bytes",
    pg.DATE: {"type": "int", "logicalType": "date"},
    pg.TIME: {"type": "long", "logicalType": "time-micros"},
    pg.TIMESTAMP: {"type": "long", "logicalType": "local-timestamp-micros"},
    pg.TIMESTAMPTZ: {"type": "long", "logicalType": "timestamp-micros"},
    pg.UUID: {"type": "string", "logicalType": "uuid"},
}


def _kept(columns: Sequence[tuple[str, int]], exclude: Collection[str]) -> list[tuple[int, str, int]]:
    return kept_columns(columns, exclude, what="Avro field names")


def avro_schema_for(
    columns: Sequence[tuple[str, int]],
    *,
    name: str,
    namespace: str = "laminar",
    exclude: Collection[str] = (),
    typmods: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """A record schema with one nullable field per kept column, in column order (see formats.avro_format)."""
    fields: list[dict[str, Any]] = []
    owners: dict[str, str] = {}
    for _, column, oid in _kept(columns, exclude):
        field = avro_name(column)
        if field in owners:
            raise DuplicateColumn(
                f'columns "{owners[field]}" and "{column}" both become the Avro field "{field}"',
                hint="Give the columns names that differ in letters, digits or '_' with AS.",
            )
        owners[field] = column
        typmod = (typmods or {}).get(column, -1)
        fields.append({"name": field, "type": ["null", avro_type_for(oid, typmod)], "default": None})
    schema: dict[str, Any] = {"type": "record", "name": avro_name(name)}
    if namespace:
        schema["namespace"] = _namespace(namespace)
    schema["fields"] = fields
    return schema


# --- schema inspection ---------------------------------------------------------------------------
_PRIMITIVES: Final = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_COMPLEX: Final = frozenset({"record", "error", "enum", "array", "map", "fixed"})


@dataclass(frozen=True, slots=True)
class _Schema:
    """A schema fastavro has parsed: full names everywhere, named types in `named`."""

    parsed: Any
    named: Mapping[str, Any]

    def resolve(self, avro: Any) -> Any:
        """A named reference -> its definition; {"type": "string"} -> "string"; others as they are."""
        while True:
            if isinstance(avro, str):
                if avro in _PRIMITIVES or avro not in self.named:
                    return avro
                avro = self.named[avro]
            elif isinstance(avro, dict):
                inner = avro.get("type")
                if isinstance(inner, dict | list):
                    avro = inner  # {"type": {...}}: the inner type
                elif not isinstance(inner, str) or inner in _COMPLEX:
                    return avro
                elif inner not in _PRIMITIVES:
                    avro = self.named.get(inner, inner)  # {"type": "ns.Name"}
                elif "logicalType" in avro:
                    return avro
                else:
                    return inner  # {"type": "long"} (perhaps with a doc): "long"
            else:
                return avro

    def describe(self, avro: Any) -> str:
        avro = self.resolve(avro)
        if isinstance(avro, str):
            return avro
        if isinstance(avro, list):
            non_null = [branch for branch in avro if self.resolve(branch) != "null"]
            if len(non_null) == 1 and len(avro) == 2:
                return self.describe(non_null[0])
            return "union [" + ", ".join(self.describe(branch) for branch in avro) + "]"
        kind = avro["type"]
        logical = avro.get("logicalType")
        if kind == "array":
            return "array of " + self.describe(avro["items"])
        if kind == "map":
            return "map of " + self.describe(avro["values"])
        if kind in ("record", "error", "enum"):
            return f"{kind} {avro['name']}"
        text = f"fixed({avro['size']})" if kind == "fixed" else str(kind)
        if logical == "decimal":
            return f"{text} (decimal({avro.get('precision')},{avro.get('scale', 0)}))"
        return f"{text} ({logical})" if logical else text


def _parse(schema: Mapping[str, Any] | str | list[Any]) -> _Schema:
    """fastavro's parsed form of a schema: a dict, a list (union), a type name, or the registry's
    schema string (JSON text: '{"type": "record", ...}', '"string"')."""
    named: dict[str, Any] = {}
    if isinstance(schema, str) and schema.lstrip()[:1] in ("{", "[", '"'):
        try:
            schema = orjson.loads(schema)
        except orjson.JSONDecodeError as exc:
            raise InvalidParameterValue(f"invalid Avro schema: not JSON: {exc}") from None
    try:
        parsed = fastavro.parse_schema(
            dict(schema) if isinstance(schema, Mapping) else schema, named_schemas=named
        )
    except Exception as exc:  # fastavro raises SchemaParseException, UnknownType, ValueError, ...
        raise InvalidParameterValue(f"invalid Avro schema: {exc}") from None
    return _Schema(parsed, named)


def _physical(avro: Any) -> str:
    return avro if isinstance(avro, str) else str(avro["type"])


def _logical(avro: Any) -> str | None:
    if isinstance(avro, dict):
        logical = avro.get("logicalType")
        return logical if isinstance(logical, str) else None
    return None


# --- messages ----------------------------------------------------------------------------------
def _shown(value: object) -> str:
    text = (
        value
        if isinstance(value, str)
        else str(value)
        if isinstance(value, int | float | Decimal)
        else repr(value)
    )
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."
