"""Confluent-framed Avro messages -> rows for the `avro` format's sources.

`schema_id_of` reads the framing (22P03 without it), `columns_for` derives a source's columns
(name, PostgreSQL type SQL) from a record schema, and `AvroDecoder` decodes each message by its own
writer schema with fastavro.schemaless_reader, then maps the record onto the reader's columns by
name, coercing values the way Avro schema resolution promotes them (the `_coercer` functions).
The type table and speed figures are in formats.avro_format's docstring.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, Final

import fastavro
import orjson

from formats.avro_schema import (
    _INT32,
    _INT64,
    HEADER_SIZE,
    MAGIC_BYTE,
    VALUE_COLUMN,
    _logical,
    _parse,
    _physical,
    _Schema,
    _shown,
)
from gateway.errors import (
    DataException,
    FeatureNotSupported,
    InvalidBinaryRepresentation,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
)
from gateway.protocol import types as pg


# --- decoding (sources) --------------------------------------------------------------------------
def schema_id_of(value: bytes) -> int:
    """The registry id of a Confluent-framed message (22P03 when the framing is missing)."""
    if len(value) < HEADER_SIZE:
        raise InvalidBinaryRepresentation(
            f"the record value has {len(value)} bytes, too few for the Confluent framing "
            "(magic byte and schema id)"
        )
    if value[0] != MAGIC_BYTE:
        raise InvalidBinaryRepresentation(
            f"the record value starts with byte {value[0]}, not the Confluent magic byte 0",
            hint="Avro sources read messages written with a schema registry (Confluent wire format).",
        )
    return int.from_bytes(value[1:HEADER_SIZE], "big")


_COLUMN_TYPES: Final[Mapping[str, str]] = {
    "boolean": "boolean",
    "int": "integer",
    "long": "bigint",
    "float": "real",
    "double": "double precision",
    "string": "text",
    "enum": "text",
    "bytes": "bytea",
    "fixed": "bytea",
    "null": "text",
}
_LOGICAL_COLUMN_TYPES: Final[Mapping[tuple[str, str], str]] = {
    ("int", "date"): "date",
    ("int", "time-millis"): "time",
    ("long", "time-micros"): "time",
    ("long", "timestamp-millis"): "timestamptz",
    ("long", "timestamp-micros"): "timestamptz",
    ("long", "local-timestamp-millis"): "timestamp",
    ("long", "local-timestamp-micros"): "timestamp",
    ("string", "uuid"): "uuid",
}
_MAX_DUCKDB_PRECISION: Final = 38


def _column_type(schema: _Schema, avro: Any, *, in_array: bool = False) -> str:
    avro = schema.resolve(avro)
    if isinstance(avro, list):
        non_null = [branch for branch in avro if schema.resolve(branch) != "null"]
        return _column_type(schema, non_null[0], in_array=in_array) if len(non_null) == 1 else "jsonb"
    kind = _physical(avro)
    logical = _logical(avro)
    if logical == "decimal" and kind in ("bytes", "fixed"):
        precision, scale = int(avro.get("precision", 0)), int(avro.get("scale", 0))
        if 0 < precision <= _MAX_DUCKDB_PRECISION and scale <= precision:
            return f"numeric({precision},{scale})"
        return "text"
    if logical is not None and (kind, logical) in _LOGICAL_COLUMN_TYPES:
        return _LOGICAL_COLUMN_TYPES[kind, logical]
    if kind == "array" and not in_array:
        items = _column_type(schema, avro["items"], in_array=True)
        return "jsonb" if items == "jsonb" else items + "[]"
    return _COLUMN_TYPES.get(kind, "jsonb")


def _root_fields(schema: _Schema) -> list[tuple[str, Any]] | None:
    root = schema.resolve(schema.parsed)
    if isinstance(root, dict) and root.get("type") in ("record", "error"):
        return [(field["name"], field["type"]) for field in root["fields"]]
    return None


def columns_for(schema: Mapping[str, Any] | str | list[Any]) -> list[tuple[str, str]]:
    """A source's columns: (field name, PostgreSQL type SQL) per field of a record schema, in field
    order; one column `value` for any other schema (formats.avro_format lists the types)."""
    parsed = _parse(schema)
    fields = _root_fields(parsed)
    if fields is None:
        return [(VALUE_COLUMN, _column_type(parsed, parsed.parsed))]
    return [(name, _column_type(parsed, avro)) for name, avro in fields]


# --- coercion of decoded values to the reader's columns ---------------------------------------------
_Coerce = Callable[[object], object]
_NUMERIC_TYPE: Final = re.compile(r"(?:numeric|decimal)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?")
_TYPE_ALIASES: Final[Mapping[str, str]] = {
    "bool": "boolean",
    "int": "integer",
    "int4": "integer",
    "int2": "smallint",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "double": "double precision",
    "varchar": "text",
    "character varying": "text",
    "string": "text",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "time without time zone": "time",
    "json": "jsonb",
}
_INT_LIMITS: Final = {"smallint": 2**15, "integer": _INT32, "bigint": _INT64}


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value) if value.is_finite() else "null")
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise TypeError


def _json_text(value: object) -> str:
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


def _mismatch(column: str, type_sql: str, value: object) -> DataException:
    return DataException(
        f'column "{column}" is {type_sql} but the record holds a {type(value).__name__} ({_shown(value)})',
        hint="The field's type changed between schema versions in a way Laminar cannot convert.",
    )


def _coercer(column: str, type_sql: str) -> _Coerce:
    """Decoded Avro value (None included) -> the Python value of a column of type `type_sql`."""
    text = " ".join(type_sql.strip().lower().split())
    if text.endswith("[]"):
        element = _coercer(column, text[:-2])

        def array(value: object) -> object:
            if value is None:
                return None
            if not isinstance(value, list):
                raise _mismatch(column, type_sql, value)
            return [element(item) for item in value]

        return array
    kind = _TYPE_ALIASES.get(text, text)
    numeric = _NUMERIC_TYPE.fullmatch(kind)
    if numeric is not None:
        return _numeric_coercer(column, type_sql, numeric[1], numeric[2])
    build = _COERCERS.get(kind)
    if build is None:
        raise FeatureNotSupported(
            f'column "{column}" of type {type_sql} cannot be read from an Avro source',
            hint="Avro source columns take the types columns_for gives.",
        )
    return build(column, type_sql, kind)


def _boolean_coercer(column: str, type_sql: str, kind: str) -> _Coerce:
    def coerce(value: object) -> object:
        if value is None or isinstance(value, bool):
            return value
        raise _mismatch(column, type_sql, value)

    return coerce


def _integer_coercer(column: str, type_sql: str, kind: str) -> _Coerce:
    limit = _INT_LIMITS[kind]

    def coerce(value: object) -> object:
        if value is None:
            return None
        if type(value) is not int:
            raise _mismatch(column, type_sql, value)
        if not -limit <= value < limit:
            raise NumericValueOutOfRange(
                f'column "{column}": value {value} is out of range for type {type_sql}'
            )
        return value

    return coerce


def _float_coercer(column: str, type_sql: str, kind: str) -> _Coerce:
    def coerce(value: object) -> object:
        if value is None or type(value) is float:
            return value
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return float(value)
        raise _mismatch(column, type_sql, value)

    return coerce


def _numeric_coercer(column: str, type_sql: str, precision: str | None, scale: str | None) -> _Coerce:
    quantum = None if precision is None else Decimal(1).scaleb(-int(scale or 0))
    context = Context(prec=int(precision or 1), rounding=ROUND_HALF_UP, traps=[InvalidOperation])

    def coerce(value: object) -> object:
        if value is None:
            return None
        if type(value) is int:
            value = Decimal(value)
        elif not isinstance(value, Decimal):
            raise _mismatch(column, type_sql, value)
        if quantum is None:
            return value
        try:
            return value.quantize(quantum, context=context)
        except InvalidOperation:
            raise NumericValueOutOfRange(
                f'column "{column}": numeric field overflow: {_shown(value)} does not fit {type_sql}'
            ) from None

    return coerce


def _text_coercer(column: str, type_sql: str, kind: str) -> _Coerce:
    del column, type_sql, kind

    def coerce(value: object) -> object:
        if value is None or type(value) is str:
            return value
        if isinstance(value, Decimal):
            return pg.render_text(value)  # plain digits, as numeric prints
        return _json_text(value)

    return coerce


def _bytea_coercer(column: str, type_sql: str, kind: str) -> _Coerce:
    def coerce(value: object) -> object:
        if value is None or type(value) is bytes:
            return value
        if isinstance(value, str):
            return value.encode()  # Avro's string -> bytes promotion
        raise _mismatch(column, type_sql, value)

    return coerce


def _date_coercer(column: str, type_sql: str, kind: str) -> _Coerce:
    def coerce(value: object) -> object:
        if value is None or type(value) is dt.date:
            return value
        raise _mismatch(column, type_sql, value)

    return coerce


def _time_coercer(column: str, type_sql: str, kind: str) -> _Coerce:
    def coerce(value: object) -> object:
        if value is None or isinstance(value, dt.time):
            return value
        raise _mismatch(column, type_sql, value)

    return coerce


def _timestamp_coercer(column: str, type_sql: str, kind: str) -> _Coerce:
    aware = kind == "timestamptz"

    def coerce(value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise _mismatch(column, type_sql, value)
        if aware:
            return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)

    return coerce


def _uuid_coercer(column: str, type_sql: str, kind: str) -> _Coerce:
    def coerce(value: object) -> object:
        if value is None or isinstance(value, uuid.UUID):
            return value
        if isinstance(value, str):
            try:
                return uuid.UUID(value)
            except ValueError:
                raise InvalidTextRepresentation(
                    f'column "{column}": invalid input syntax for type uuid: "{_shown(value)}"'
                ) from None
        raise _mismatch(column, type_sql, value)

    return coerce


def _jsonb_coercer(column: str, type_sql: str, kind: str) -> _Coerce:
    del column, type_sql, kind

    def coerce(value: object) -> object:
        return None if value is None else _json_text(value)

    return coerce


_COERCERS: Final[Mapping[str, Callable[[str, str, str], _Coerce]]] = {
    "boolean": _boolean_coercer,
    "smallint": _integer_coercer,
    "integer": _integer_coercer,
    "bigint": _integer_coercer,
    "real": _float_coercer,
    "double precision": _float_coercer,
    "text": _text_coercer,
    "bytea": _bytea_coercer,
    "date": _date_coercer,
    "time": _time_coercer,
    "timestamp": _timestamp_coercer,
    "timestamptz": _timestamp_coercer,
    "uuid": _uuid_coercer,
    "jsonb": _jsonb_coercer,
}


class AvroDecoder:
    """Confluent-framed Avro messages -> records -> rows of the reader's columns (see formats.avro_format).

    `columns` are the source's (name, type SQL) pairs, normally `columns_for` of the schema the source
    was created with; every message is decoded by its own writer schema and mapped by name.
    """

    __slots__ = ("_fields", "_nulls", "_parsed", "columns")

    def __init__(self, columns: Sequence[tuple[str, str]] = ()) -> None:
        self.columns = tuple(columns)
        self._fields = tuple((name, _coercer(name, type_sql)) for name, type_sql in self.columns)
        self._nulls: tuple[object, ...] = (None,) * len(self.columns)
        # schema id -> (the dict we were given, fastavro's parsed schema, whether it is a record)
        self._parsed: dict[int, tuple[Mapping[str, Any] | str | list[Any], Any, bool]] = {}

    schema_id_of = staticmethod(schema_id_of)

    def _writer(self, schema_id: int, writer_schema: Mapping[str, Any] | str | list[Any]) -> tuple[Any, bool]:
        cached = self._parsed.get(schema_id)
        if cached is not None and (cached[0] is writer_schema or cached[0] == writer_schema):
            return cached[1], cached[2]
        parsed = _parse(writer_schema)
        is_record = _root_fields(parsed) is not None
        self._parsed[schema_id] = (writer_schema, parsed.parsed, is_record)
        return parsed.parsed, is_record

    def decode(self, value: bytes, writer_schema: Mapping[str, Any] | str | list[Any]) -> dict[str, object]:
        """The record of a framed message, decoded by `writer_schema` (the schema of its id); a
        schema that is not a record gives {"value": the datum}. 22P03 for bad framing or bytes."""
        schema_id = schema_id_of(value)
        parsed, is_record = self._writer(schema_id, writer_schema)
        stream = io.BytesIO(value)
        stream.seek(HEADER_SIZE)
        try:
            datum = fastavro.schemaless_reader(stream, parsed, None)
        except Exception as exc:  # EOFError, IndexError, UnicodeDecodeError, ValueError, ... from fastavro
            problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise InvalidBinaryRepresentation(
                f"the record value is not valid Avro for schema id {schema_id}: {problem}"
            ) from None
        if stream.tell() != len(value):
            raise InvalidBinaryRepresentation(
                f"the record value has {len(value) - stream.tell()} bytes after the Avro record "
                f"of schema id {schema_id}"
            )
        if not is_record:
            return {VALUE_COLUMN: datum}
        assert isinstance(datum, dict)
        return datum

    def to_row(self, record: Mapping[str, object] | None) -> tuple[object, ...]:
        """The reader columns' values from a decoded record: missing fields are NULL, extra ones ignored."""
        if record is None:
            return self._nulls
        return tuple([coerce(record.get(name)) for name, coerce in self._fields])

    def decode_row(
        self, value: bytes | None, writer_schema: Mapping[str, Any] | str | list[Any] | None
    ) -> tuple[object, ...]:
        """`to_row(decode(value, writer_schema))`; a record without a value (tombstone) is all NULL."""
        if value is None or writer_schema is None:
            return self._nulls
        record = self.decode(value, writer_schema)
        try:
            return self.to_row(record)
        except DataException as exc:
            if exc.detail is None:
                exc.detail = f"The message was written with schema id {schema_id_of(value)}."
            raise
