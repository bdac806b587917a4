"""Kafka record values → the declared columns of a source connection (formats ``json`` and ``raw``).

:func:`payload_columns` says which columns a record's value fills, and :func:`make_decoder` builds
the decoder that fills them; :mod:`sources.kafka_source` appends the metadata columns.

Format ``json`` — one JSON object per record value, its keys matched to the declared columns by name
(exactly, else case-insensitively, so ``userId`` fills the case-folded column ``userid``); extra keys
are ignored. A missing key reads as NULL, or is an error (22023) with ``'json.fail_on_missing'``; a JSON
``null`` is NULL. A record without a value (a tombstone) is a row whose declared columns are all NULL.
A source that declares no columns has one column ``value`` (jsonb) holding the whole value. Values
are converted to the declared PostgreSQL type as follows; anything else is an error with the
SQLSTATE PostgreSQL gives for the same input:

=====================  ==============================================================================
type                   accepted JSON values
=====================  ==============================================================================
smallint/int/bigint    integers, integral numbers (``3.0``), numeric strings (``" 42"``); range checked
real/double precision  numbers, numeric strings, ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
numeric[(p,s)]         numbers (read exactly: such sources parse JSON with decimals), numeric strings;
                       rounded half away from zero to the scale, 22003 past the precision
boolean                ``true``/``false``, integers (non-zero is true, like ``int::boolean``),
                       PostgreSQL's words (``"t"``, ``"yes"``, ``"off"``, ``"1"``, ...)
text, varchar(n),      strings as they are; other values as their JSON text (what ``->>`` gives);
char(n), name          longer than n characters is 22001 (unless the excess is spaces); char(n) pads
bytea                  base64 strings (whitespace ignored)
date / time            ISO-8601 strings (a date may also be a full timestamp: its date part)
timestamp[tz]          ISO-8601 strings (``Z``, ``+02:00``, ``T`` or space) or epoch milliseconds;
                       timestamptz without an offset is UTC; timestamp is the instant in UTC (an
                       offset is applied, not ignored); ``timestamp(p)`` rounds to p digits
uuid                   strings uuid.UUID accepts
json / jsonb           any value, kept as its compact JSON text (a string stays a JSON string)
one-dimensional arrays JSON arrays, each element converted as above
=====================  ==============================================================================

Other declared types (interval, timetz, bit, map, ...) cannot be read from JSON: building a decoder
for them fails with 0A000.

Parsing: orjson, except for sources with a numeric column, which use the stdlib parser with
``parse_float=Decimal`` so that ``19.990`` stays ``19.990`` (and integers past 64 bits stay exact).
orjson reads such integers as doubles, so without a numeric column a 25-digit integer in a text or
jsonb column keeps only 17 significant digits. The two parsers word invalid JSON differently (both
22P02). Values are the Python objects DuckDB and the gateway take: int, float,
Decimal, str, bytes, bool, date, time, datetime (aware for timestamptz), UUID, list; json as str.

Format ``raw`` — columns ``key`` and ``value`` (bytea), or the ones declared among those two, each
``bytea`` (the bytes) or a text type (UTF-8, invalid bytes are 22021).

A decoder raises a :class:`gateway.errors.DataException` subclass naming the column; the reader adds
the partition and offset and applies the connection's error policy.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final, Protocol

import orjson
from sqlglot import exp
from sqlglot.errors import ParseError

from catalog.model import ColumnDef
from gateway.errors import (
    CharacterNotInRepertoire,
    DataException,
    DatatypeMismatch,
    FeatureNotSupported,
    InvalidDatetimeFormat,
    InvalidParameterValue,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
    UndefinedColumn,
    UndefinedObject,
)
from gateway.protocol import types as pg
from gateway.sql.params import oid_of_datatype

__all__ = [
    "JSON_VALUE_COLUMN",
    "PayloadColumn",
    "RecordDecoder",
    "StringDataRightTruncation",
    "make_decoder",
    "payload_columns",
]

JSON_VALUE_COLUMN: Final = "value"  # the one column of a JSON source that declares none
RAW_COLUMNS: Final = ("key", "value")
_SHOWN_CHARS: Final = 60  # how much of a bad value an error message quotes


class StringDataRightTruncation(DataException):
    sqlstate = "22001"


@dataclass(frozen=True, slots=True)
class PayloadColumn:
    """A column filled from the record: name, PostgreSQL OID and the DuckDB type it holds."""

    name: str
    oid: int
    duckdb_type: str
    type_name: str  # PostgreSQL's name for messages: "bigint", "character varying(20)"
    length: int | None = None  # varchar(n) / char(n)
    precision: int | None = None  # numeric(p,s) / timestamp(p)
    scale: int | None = None
    element: PayloadColumn | None = None  # arrays: the element type
    whole_value: bool = False  # the implicit column of a JSON source without declared columns


class RecordDecoder(Protocol):
    """Turns a record's key and value into the payload columns' values."""

    def decode(self, key: bytes | None, value: bytes | None) -> tuple[object, ...]: ...


# --- column types ------------------------------------------------------------------------------
_TYPE_NAMES: Final = {
    pg.BOOL: "boolean",
    pg.INT2: "smallint",
    pg.INT4: "integer",
    pg.INT8: "bigint",
    pg.FLOAT4: "real",
    pg.FLOAT8: "double precision",
    pg.NUMERIC: "numeric",
    pg.TEXT: "text",
    pg.VARCHAR: "character varying",
    pg.BPCHAR: "character",
    pg.NAME: "name",
    pg.BYTEA: "bytea",
    pg.DATE: "date",
    pg.TIME: "time without time zone",
    pg.TIMESTAMP: "timestamp without time zone",
    pg.TIMESTAMPTZ: "timestamp with time zone",
    pg.UUID: "uuid",
    pg.JSON: "json",
    pg.JSONB: "jsonb",
}
_TEXT_OIDS: Final = frozenset({pg.TEXT, pg.VARCHAR, pg.BPCHAR, pg.NAME})


def _int_argument(datatype: exp.DataType, index: int) -> int | None:
    if len(datatype.expressions) <= index:
        return None
    text = datatype.expressions[index].sql()
    return int(text) if text.isdigit() else None


def _column_type(name: str, datatype: exp.DataType, type_sql: str) -> PayloadColumn:
    oid = oid_of_datatype(datatype)
    if datatype.this == exp.DataType.Type.ARRAY and oid is not None:
        inner = datatype.expressions[0]
        if not isinstance(inner, exp.DataType) or inner.this == exp.DataType.Type.ARRAY:
            oid = None
        else:
            element = _column_type(name, inner, inner.sql("postgres").lower())
            return PayloadColumn(
                name, oid, element.duckdb_type + "[]", element.type_name + "[]", element=element
            )
    if oid is None or oid not in _TYPE_NAMES:
        raise FeatureNotSupported(
            f'column "{name}" of type {type_sql} cannot be read from a Kafka JSON source',
            hint="Declare it as text or jsonb and convert it in the query.",
        )
    type_name = _TYPE_NAMES[oid]
    first, second = _int_argument(datatype, 0), _int_argument(datatype, 1)
    if oid in (pg.VARCHAR, pg.BPCHAR):
        length = first if first is not None else 1 if oid == pg.BPCHAR else None
        shown = type_name if length is None else f"{type_name}({length})"
        return PayloadColumn(name, oid, "VARCHAR", shown, length=length)
    if oid == pg.NUMERIC and first is not None:
        scale = second or 0
        return PayloadColumn(
            name, oid, f"DECIMAL({first},{scale})", f"numeric({first},{scale})", precision=first, scale=scale
        )
    if oid in (pg.TIMESTAMP, pg.TIMESTAMPTZ) and first is not None:
        return PayloadColumn(name, oid, pg.duckdb_type_for_oid(oid), type_name, precision=min(first, 6))
    return PayloadColumn(name, oid, pg.duckdb_type_for_oid(oid), type_name)


def declared_column(column: ColumnDef) -> PayloadColumn:
    """The payload column of one declared column (0A000 for a type JSON cannot fill)."""
    try:
        datatype = exp.DataType.build(column.type_sql, dialect="postgres")
    except (ParseError, ValueError) as exc:
        raise UndefinedObject(f'type "{column.type_sql}" does not exist') from exc
    return _column_type(column.name, datatype, column.type_sql)


def payload_columns(declared: Sequence[ColumnDef], fmt: str) -> list[PayloadColumn]:
    """The columns a record's value (and for raw, its key) fills, in order (``fmt`` in any case)."""
    fmt = fmt.strip().lower()
    if fmt == "json":
        if not declared:
            return [PayloadColumn(JSON_VALUE_COLUMN, pg.JSONB, "JSON", "jsonb", whole_value=True)]
        return [declared_column(column) for column in declared]
    if fmt == "raw":
        if not declared:
            return [PayloadColumn(name, pg.BYTEA, "BLOB", "bytea") for name in RAW_COLUMNS]
        return [_raw_column(column) for column in declared]
    if fmt in ("avro", "protobuf") and declared:  # columns from the schema, at CREATE CONNECTION
        return [declared_column(column) for column in declared]
    raise FeatureNotSupported(
        f'format "{fmt}" is not supported for Kafka sources yet',
        hint="The formats json and raw work today: format = 'json' or format = 'raw'.",
    )


def _raw_column(column: ColumnDef) -> PayloadColumn:
    if column.name not in RAW_COLUMNS:
        raise UndefinedColumn(
            f'column "{column.name}" cannot be filled by a raw Kafka source',
            hint="A raw source has the columns key and value (bytea, or text for UTF-8).",
        )
    payload = declared_column(column)
    if payload.oid != pg.BYTEA and payload.oid not in _TEXT_OIDS:
        raise DatatypeMismatch(
            f'column "{column.name}" of a raw Kafka source is of type {payload.type_name}',
            hint="Declare it as bytea (the bytes) or text (UTF-8).",
        )
    return payload


# --- shared helpers ------------------------------------------------------------------------------
_MISSING: Final = object()
_INTEGER: Final = re.compile(r"\s*[+-]?[0-9]+\s*")
_TRUE_WORDS: Final = frozenset({"t", "true", "y", "yes", "on", "1"})
_FALSE_WORDS: Final = frozenset({"f", "false", "n", "no", "off", "0"})
_FLOAT_WORDS: Final = frozenset({"nan", "infinity", "+infinity", "-infinity", "inf", "+inf", "-inf"})
_FLOAT4_MAX: Final = 3.4028234663852886e38
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_INT_RANGES: Final = {pg.INT2: 2**15, pg.INT4: 2**31, pg.INT8: 2**63}

Converter = Callable[[object], object]


def _json_text(value: object) -> str:
    """Compact JSON text of a parsed value (Decimals keep their digits)."""
    try:
        return orjson.dumps(value, default=_decimal_fragment).decode()
    except TypeError:  # an integer past 64 bits, a lone surrogate: the slow exact path
        return _slow_json_text(value)


def _decimal_fragment(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError


def _slow_json_text(value: object) -> str:
    if isinstance(value, dict):
        items = (json.dumps(str(k), ensure_ascii=False) + ":" + _slow_json_text(v) for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_slow_json_text(item) for item in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else _json_text(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."


def _bad_syntax(column: PayloadColumn, value: object) -> InvalidTextRepresentation:
    return InvalidTextRepresentation(
        f'column "{column.name}": invalid input syntax for type {column.type_name}: "{_shown(value)}"'
    )


def _out_of_range(column: PayloadColumn, value: object) -> NumericValueOutOfRange:
    return NumericValueOutOfRange(
        f'column "{column.name}": value "{_shown(value)}" is out of range for type {column.type_name}'
    )


# --- converters: one per column, called with a JSON value that is not null ------------------------
def _integer_converter(column: PayloadColumn) -> Converter:
    limit = _INT_RANGES[column.oid]

    def convert(value: object) -> object:
        if type(value) is int:
            number = value
        elif isinstance(value, float | Decimal):
            if not math.isfinite(value) or value != int(value):
                raise _bad_syntax(column, value)
            number = int(value)
        elif isinstance(value, str) and _INTEGER.fullmatch(value):
            number = int(value)
        else:
            raise _bad_syntax(column, value)
        if not -limit <= number < limit:
            raise _out_of_range(column, value)
        return number

    return convert


def _float_converter(column: PayloadColumn) -> Converter:
    def convert(value: object) -> object:
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            number = float(value)
            if not math.isfinite(number):
                raise _out_of_range(column, value)
        elif isinstance(value, str):
            text = value.strip()
            try:
                if "_" in text:  # Python's float() takes digit separators, PostgreSQL's does not
                    raise ValueError(text)
                number = float(text)
            except ValueError:
                raise _bad_syntax(column, value) from None
            if math.isinf(number) and text.lower() not in _FLOAT_WORDS:
                raise _out_of_range(column, value)
        else:
            raise _bad_syntax(column, value)
        if column.oid == pg.FLOAT4 and math.isfinite(number) and abs(number) > _FLOAT4_MAX:
            raise _out_of_range(column, value)
        return number

    return convert


def _numeric_converter(column: PayloadColumn) -> Converter:
    quantum = None if column.scale is None else Decimal(1).scaleb(-column.scale)
    integer_digits = None if column.precision is None else column.precision - (column.scale or 0)

    def convert(value: object) -> object:
        if isinstance(value, Decimal):
            number = value
        elif type(value) is int:
            number = Decimal(value)
        elif type(value) is float:
            number = Decimal(repr(value))
        elif isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                raise _bad_syntax(column, value) from None
        else:
            raise _bad_syntax(column, value)
        if not number.is_finite():
            raise InvalidTextRepresentation(
                f'column "{column.name}": numeric value "{_shown(value)}" is not supported (NaN or infinity)'
            )
        if quantum is not None:
            number = number.quantize(quantum, rounding=ROUND_HALF_UP)
        if integer_digits is not None and number != 0 and number.adjusted() >= integer_digits:
            raise NumericValueOutOfRange(
                f'column "{column.name}": numeric field overflow: "{_shown(value)}" does not fit '
                f"{column.type_name}"
            )
        return number

    return convert


def _bool_converter(column: PayloadColumn) -> Converter:
    def convert(value: object) -> object:
        if isinstance(value, bool):
            return value
        if type(value) is int:
            return value != 0
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE_WORDS:
                return True
            if word in _FALSE_WORDS:
                return False
        raise _bad_syntax(column, value)

    return convert


def _text_converter(column: PayloadColumn) -> Converter:
    length = column.length
    pad = column.oid == pg.BPCHAR

    def convert(value: object) -> object:
        text = value if isinstance(value, str) else _json_text(value)
        if length is not None:
            if len(text) > length:
                if text[length:].strip(" "):
                    raise StringDataRightTruncation(
                        f'column "{column.name}": value too long for type {column.type_name}'
                    )
                text = text[:length]
            elif pad:
                text = text.ljust(length)
        return text

    return convert


def _bytea_converter(column: PayloadColumn) -> Converter:
    def convert(value: object) -> object:
        if isinstance(value, str):
            try:
                return base64.b64decode("".join(value.split()), validate=True)
            except (binascii.Error, ValueError):
                pass
        raise InvalidTextRepresentation(
            f'column "{column.name}": invalid base64 for type bytea: "{_shown(value)}"',
            hint="bytea columns of a JSON source take base64 strings.",
        )

    return convert


def _bad_datetime(column: PayloadColumn, value: object) -> InvalidDatetimeFormat:
    return InvalidDatetimeFormat(
        f'column "{column.name}": invalid input syntax for type {column.type_name}: "{_shown(value)}"',
        hint="Use an ISO-8601 string such as '2024-02-29T12:34:56Z'"
        + (" or epoch milliseconds." if column.oid in (pg.TIMESTAMP, pg.TIMESTAMPTZ) else "."),
    )


def _date_converter(column: PayloadColumn) -> Converter:
    def convert(value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                try:
                    return dt.datetime.fromisoformat(text).date()
                except ValueError:
                    pass
        raise _bad_datetime(column, value)

    return convert


def _time_converter(column: PayloadColumn) -> Converter:
    def convert(value: object) -> object:
        if isinstance(value, str):
            try:
                return dt.time.fromisoformat(value.strip()).replace(tzinfo=None)
            except ValueError:
                pass
        raise _bad_datetime(column, value)

    return convert


def _round_micros(moment: dt.datetime, precision: int | None) -> dt.datetime:
    if precision is None or precision >= 6:
        return moment
    step = 10 ** (6 - precision)
    rest = moment.microsecond % step
    moment -= dt.timedelta(microseconds=rest)
    return moment + dt.timedelta(microseconds=step) if rest * 2 >= step else moment


def _timestamp_converter(column: PayloadColumn) -> Converter:
    aware = column.oid == pg.TIMESTAMPTZ

    def convert(value: object) -> object:
        try:
            if isinstance(value, str):
                moment = dt.datetime.fromisoformat(value.strip())
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=dt.UTC)
                elif moment.utcoffset() != dt.timedelta(0):
                    moment = moment.astimezone(dt.UTC)
            elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                moment = _EPOCH + dt.timedelta(milliseconds=value if type(value) is int else float(value))
            else:
                raise _bad_datetime(column, value)
        except ValueError:
            raise _bad_datetime(column, value) from None
        except OverflowError:
            raise NumericValueOutOfRange(
                f'column "{column.name}": timestamp out of range: "{_shown(value)}"'
            ) from None
        moment = _round_micros(moment, column.precision)
        return moment if aware else moment.replace(tzinfo=None)

    return convert


def _uuid_converter(column: PayloadColumn) -> Converter:
    def convert(value: object) -> object:
        if isinstance(value, str):
            try:
                return uuid.UUID(value.strip())
            except ValueError:
                pass
        raise _bad_syntax(column, value)

    return convert


def _json_converter(column: PayloadColumn) -> Converter:
    del column
    return _json_text


def _array_converter(column: PayloadColumn) -> Converter:
    assert column.element is not None
    element = _converter(column.element)

    def convert(value: object) -> object:
        if not isinstance(value, list):
            raise InvalidTextRepresentation(
                f'column "{column.name}": expected a JSON array for type {column.type_name}, '
                f'not "{_shown(value)}"'
            )
        return [None if item is None else element(item) for item in value]

    return convert


_CONVERTERS: Final[dict[int, Callable[[PayloadColumn], Converter]]] = {
    pg.INT2: _integer_converter,
    pg.INT4: _integer_converter,
    pg.INT8: _integer_converter,
    pg.FLOAT4: _float_converter,
    pg.FLOAT8: _float_converter,
    pg.NUMERIC: _numeric_converter,
    pg.BOOL: _bool_converter,
    pg.TEXT: _text_converter,
    pg.VARCHAR: _text_converter,
    pg.BPCHAR: _text_converter,
    pg.NAME: _text_converter,
    pg.BYTEA: _bytea_converter,
    pg.DATE: _date_converter,
    pg.TIME: _time_converter,
    pg.TIMESTAMP: _timestamp_converter,
    pg.TIMESTAMPTZ: _timestamp_converter,
    pg.UUID: _uuid_converter,
    pg.JSON: _json_converter,
    pg.JSONB: _json_converter,
}


def _converter(column: PayloadColumn) -> Converter:
    if column.element is not None:
        return _array_converter(column)
    return _CONVERTERS[column.oid](column)


# --- decoders ------------------------------------------------------------------------------------
def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


class JsonDecoder:
    """JSON object values → the declared columns (see the module docstring for the rules)."""

    def __init__(self, columns: Sequence[PayloadColumn], *, fail_on_missing: bool) -> None:
        self.columns = tuple(columns)
        self.fail_on_missing = fail_on_missing
        self._whole_value = len(self.columns) == 1 and self.columns[0].whole_value
        self._fields = tuple((column.name, _converter(column)) for column in self.columns)
        self._nulls = (None,) * len(self.columns)
        # numeric columns need the numbers' exact digits: parse floats as Decimal (slower, stdlib)
        self._exact = any(
            column.oid == pg.NUMERIC or (column.element is not None and column.element.oid == pg.NUMERIC)
            for column in self.columns
        )

    def _parse(self, value: bytes) -> object:
        try:
            if self._exact:
                return json.loads(value, parse_float=Decimal, parse_constant=_reject_constant)
            return orjson.loads(value)
        except (ValueError, RecursionError) as exc:
            problem = str(exc).split("\n", 1)[0]
            raise InvalidTextRepresentation(f"invalid JSON in the record value: {problem}") from None

    def decode(self, key: bytes | None, value: bytes | None) -> tuple[object, ...]:
        del key
        if value is None:
            return self._nulls
        parsed = self._parse(value)
        if self._whole_value:
            return (_json_text(parsed),)
        if not isinstance(parsed, dict):
            raise InvalidTextRepresentation(
                f'the record value is not a JSON object: "{_shown(parsed)}"',
                hint="A JSON source reads one object per record; declare no columns to read any JSON value.",
            )
        row: list[object] = []
        for name, convert in self._fields:
            item = parsed.get(name, _MISSING)
            if item is _MISSING:
                item = self._folded_lookup(parsed, name)
            if item is None:
                row.append(None)
            else:
                row.append(convert(item))
        return tuple(row)

    def _folded_lookup(self, parsed: dict[str, object], name: str) -> object:
        folded = name.casefold()
        for key, item in parsed.items():
            if key.casefold() == folded:
                return item
        if self.fail_on_missing:
            raise InvalidParameterValue(
                f'the record has no key "{name}" (json.fail_on_missing is true)',
                hint="Set 'json.fail_on_missing' = 'false' to read missing keys as NULL.",
            )
        return None


class RawDecoder:
    """The record's key and value as bytes (bytea columns) or UTF-8 text (text columns)."""

    def __init__(self, columns: Sequence[PayloadColumn]) -> None:
        self.columns = tuple(columns)
        self._parts = tuple((column.name, column.oid != pg.BYTEA) for column in self.columns)

    def decode(self, key: bytes | None, value: bytes | None) -> tuple[object, ...]:
        row: list[object] = []
        for name, as_text in self._parts:
            data = key if name == "key" else value
            if data is None or not as_text:
                row.append(data)
                continue
            try:
                row.append(data.decode())
            except UnicodeDecodeError as exc:
                raise CharacterNotInRepertoire(
                    f'column "{name}": invalid byte sequence for encoding "UTF8" at byte {exc.start}',
                    hint=f"Declare {name} as bytea to read bytes that are not UTF-8.",
                ) from None
        return tuple(row)


def make_decoder(
    columns: Sequence[PayloadColumn], fmt: str, *, fail_on_missing: bool = False
) -> RecordDecoder:
    """The decoder of a source's payload columns (from :func:`payload_columns`)."""
    fmt = fmt.strip().lower()
    if fmt == "json":
        return JsonDecoder(columns, fail_on_missing=fail_on_missing)
    if fmt == "raw":
        return RawDecoder(columns)
    raise FeatureNotSupported(f'format "{fmt}" is not supported for Kafka sources yet')
