"""Avro binary encoding for the `avro` format: per-field writers from column values to bytes.

Zig-zag varints from two 16k-entry tables, and one closure per (column type, Avro type) pair that
turns a value (never None) into its bytes: ints, floats, booleans, decimals, strings, uuids, bytes,
fixed, enums, dates, times, timestamps and arrays. `_Writers` picks the writer for a column and a
field type (unions through their first branch the column fits, NULL to their "null" branch), and
`_default_bytes` encodes the JSON default of a field no column fills. A value that does not fit
raises a DataException naming the column (NullValueNotAllowed 22004, StringDataLengthMismatch
22026, ...). formats.avro_encoder assembles these into rows; what fits what is tabled in
formats.avro_format's docstring.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
import uuid
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, cast
from zoneinfo import ZoneInfo

from formats.avro_schema import (
    _INT32,
    _INT64,
    _INTEGERS,
    _NOT_STRING,
    _NUMBERS,
    _TEXT_LIKE,
    _TIMESTAMPS,
    _element_oid,
    _logical,
    _physical,
    _Schema,
    _shown,
)
from formats.json_format import iso8601_duration
from gateway.errors import (
    DataException,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
)
from gateway.protocol import types as pg
from gateway.protocol.datetime_codec import Interval


class NullValueNotAllowed(DataException):
    sqlstate = "22004"


class StringDataLengthMismatch(DataException):
    sqlstate = "22026"


_Write = Callable[[object], bytes]  # one value (never None) -> its Avro bytes
_Field = Callable[[object], bytes]  # one value (None included) -> the field's bytes


# --- binary primitives ---------------------------------------------------------------------------
# Zig-zag varints: _FINAL[n] encodes n < 2**14 completely, _MORE[n] encodes 14 bits of a longer one.
_FINAL: Final = tuple(bytes((n,)) if n < 0x80 else bytes(((n & 0x7F) | 0x80, n >> 7)) for n in range(1 << 14))
_MORE: Final = tuple(bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80)) for n in range(1 << 14))
_EPOCH_DAY: Final = dt.date(1970, 1, 1).toordinal()
_EPOCH_UTC: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_NAIVE: Final = dt.datetime(1970, 1, 1)
_MICROSECOND: Final = dt.timedelta(microseconds=1)
_FALSE: Final = b"\x00"
_UUID_LENGTH: Final = b"H"  # zig-zag 36, the length of a uuid's text
_TRUE: Final = b"\x01"
_pack_float = struct.Struct("<f").pack
_pack_double = struct.Struct("<d").pack


def _varint(n: int) -> bytes:
    """An unsigned varint (n >= 0, already zig-zagged); unrolled up to 56 bits (timestamps)."""
    if n < 0x4000:
        return _FINAL[n]
    if n < 1 << 28:
        return _MORE[n & 0x3FFF] + _FINAL[n >> 14]
    if n < 1 << 42:
        return b"".join((_MORE[n & 0x3FFF], _MORE[(n >> 14) & 0x3FFF], _FINAL[n >> 28]))
    if n < 1 << 56:
        return b"".join(
            (_MORE[n & 0x3FFF], _MORE[(n >> 14) & 0x3FFF], _MORE[(n >> 28) & 0x3FFF], _FINAL[n >> 42])
        )
    parts = []
    while n >= 0x4000:
        parts.append(_MORE[n & 0x3FFF])
        n >>= 14
    parts.append(_FINAL[n])
    return b"".join(parts)


def _long(value: int) -> bytes:
    """A long (-2**63 <= value < 2**63), zig-zag encoded."""
    n = (value << 1) ^ (value >> 63)
    return _FINAL[n] if n < 0x4000 else _varint(n)


def _length_prefixed(data: bytes) -> bytes:
    return _long(len(data)) + data


# --- value writers: (column, value) -> bytes, None never reaches them ------------------------------
def _out_of_range(column: str, value: object, target: str) -> NumericValueOutOfRange:
    return NumericValueOutOfRange(
        f'column "{column}": value {_shown(value)} is out of range for Avro {target}'
    )


def _unexpected(column: str, value: object, target: str) -> DataException:
    return DataException(
        f'column "{column}": a value of Python type {type(value).__name__} ({_shown(value)}) '
        f"cannot be written as Avro {target}"
    )


def _integer_converter(column: str, limit: int, target: str) -> Callable[[object], int]:
    """Column value -> a Python int in [-limit, limit)."""

    def convert(value: object) -> int:
        if type(value) is int:
            number = value
        elif isinstance(value, Decimal):
            if not value.is_finite():
                raise _out_of_range(column, value, target)
            number = int(value.to_integral_value(ROUND_HALF_UP))
        elif isinstance(value, int) and not isinstance(value, bool):
            number = int(value)
        else:
            raise _unexpected(column, value, target)
        if not -limit <= number < limit:
            raise _out_of_range(column, value, target)
        return number

    return convert


def _int_writer(column: str, oid: int, avro: Any) -> _Write | None:
    kind = _physical(avro)
    if oid not in _INTEGERS and oid != pg.NUMERIC:
        return None
    if kind == "long" and oid in (pg.INT2, pg.INT4, pg.INT8):
        return cast(_Write, _long)  # the column's type already bounds the value
    convert = _integer_converter(column, _INT32 if kind == "int" else _INT64, kind)

    def write(value: object) -> bytes:
        return _long(convert(value))

    return write


def _float_writer(column: str, oid: int, avro: Any) -> _Write | None:
    if oid not in _NUMBERS:
        return None
    kind = _physical(avro)
    pack = _pack_float if kind == "float" else _pack_double

    def write(value: object) -> bytes:
        if type(value) is float:
            number = value
        elif isinstance(value, int | Decimal) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                raise _out_of_range(column, value, kind) from None
        else:
            raise _unexpected(column, value, kind)
        try:
            return pack(number)
        except (OverflowError, struct.error):
            raise _out_of_range(column, value, kind) from None

    return write


def _boolean_writer(column: str, oid: int, avro: Any) -> _Write | None:
    if oid != pg.BOOL:
        return None

    def write(value: object) -> bytes:
        if value is True:
            return _TRUE
        if value is False:
            return _FALSE
        raise _unexpected(column, value, "boolean")

    return write


def _decimal_writer(column: str, oid: int, avro: Any) -> _Write | None:
    if oid not in _NUMBERS:
        return None
    precision = int(avro.get("precision", 0))
    scale = int(avro.get("scale", 0))
    size = int(avro["size"]) if avro["type"] == "fixed" else None
    target = f"decimal({precision},{scale})"
    factor = 10**scale
    limit = 10**precision
    integer_digits = precision - scale

    def unscaled(value: object) -> int:
        """The value times 10**scale, rounded half away from zero (PostgreSQL's numeric rounding)."""
        number: int
        if type(value) is int:
            number = value * factor
        else:
            exact = value
            if type(exact) is not Decimal:
                if type(exact) is float:
                    exact = Decimal(repr(exact)) if math.isfinite(exact) else Decimal(exact)
                elif not isinstance(exact, Decimal):
                    raise _unexpected(column, value, target)
            assert isinstance(exact, Decimal)
            magnitude = exact.adjusted()  # exponent of the leading digit (0 for NaN and infinities)
            if magnitude < -scale - 1 and exact.is_finite():
                return 0  # rounds to zero (and keeps 1E-999999 from becoming a huge fraction)
            if magnitude >= integer_digits and exact:
                raise _out_of_range(column, value, target)
            try:
                numerator, denominator = exact.as_integer_ratio()
            except (ValueError, OverflowError):  # NaN, infinity
                raise _out_of_range(column, value, target) from None
            number, rest = divmod(numerator * factor, denominator)
            if rest and (2 * rest > denominator or (2 * rest == denominator and numerator > 0)):
                number += 1
        if not -limit < number < limit:
            raise _out_of_range(column, value, target)
        return number

    if size is None:

        def write(value: object) -> bytes:
            number = unscaled(value)
            return _length_prefixed(number.to_bytes((number.bit_length() + 8) // 8, "big", signed=True))

        return write

    def write_fixed(value: object) -> bytes:
        number = unscaled(value)
        try:
            return number.to_bytes(size, "big", signed=True)
        except OverflowError:
            raise _out_of_range(column, value, f"{target} in fixed({size})") from None

    return write_fixed


def _text_of(oid: int) -> Callable[[object], str]:
    """Column value -> the text a string field holds."""

    def text(value: object) -> str:
        if type(value) is str:
            return value
        if isinstance(value, bytes) and oid in (pg.JSON, pg.JSONB):
            return value.decode()
        if isinstance(value, dt.timedelta | Interval):
            return iso8601_duration(value)
        if isinstance(value, dt.time) and value.tzinfo is not None:
            return value.isoformat()
        return pg.render_text(value)

    return text


def _string_writer(column: str, oid: int, avro: Any) -> _Write | None:
    if oid in _NOT_STRING or _element_oid(oid):
        return None
    text = _text_of(oid)
    if _logical(avro) == "uuid":

        def write_uuid(value: object) -> bytes:
            if isinstance(value, uuid.UUID):
                return _UUID_LENGTH + str(value).encode()
            shown = text(value)
            try:
                return _length_prefixed(str(uuid.UUID(shown)).encode())
            except ValueError:
                raise InvalidTextRepresentation(
                    f'column "{column}": invalid input syntax for type uuid: "{_shown(shown)}"'
                ) from None

        return write_uuid

    def write(value: object) -> bytes:
        # A str with lone surrogates raises UnicodeEncodeError: _diagnose makes it 22021.
        data = (value if type(value) is str else text(value)).encode()
        return _long(len(data)) + data

    return write


def _bytes_writer(column: str, oid: int, avro: Any) -> _Write | None:
    if oid == pg.BYTEA:

        def write(value: object) -> bytes:
            if isinstance(value, bytes | bytearray | memoryview):
                data = bytes(value)
                return _long(len(data)) + data
            raise _unexpected(column, value, "bytes")

        return write
    return _string_writer(column, oid, "string")  # text into bytes: its UTF-8


def _fixed_writer(column: str, oid: int, avro: Any) -> _Write | None:
    if oid != pg.BYTEA:
        return None
    size = int(avro["size"])

    def write(value: object) -> bytes:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise _unexpected(column, value, f"fixed({size})")
        data = bytes(value)
        if len(data) != size:
            raise StringDataLengthMismatch(
                f'column "{column}": {len(data)} bytes do not fit the Avro fixed {avro["name"]} '
                f"of {size} bytes"
            )
        return data

    return write


def _enum_writer(column: str, oid: int, avro: Any) -> _Write | None:
    if oid not in _TEXT_LIKE:
        return None
    symbols = {symbol: _long(index) for index, symbol in enumerate(avro["symbols"])}
    text = _text_of(oid)

    def write(value: object) -> bytes:
        symbol = text(value)
        encoded = symbols.get(symbol)
        if encoded is None:
            raise InvalidTextRepresentation(
                f'column "{column}": "{_shown(symbol)}" is not a symbol of the Avro enum {avro["name"]}',
                hint="Symbols: " + ", ".join(avro["symbols"]),
            )
        return encoded

    return write


def _date_writer(column: str, oid: int, avro: Any) -> _Write | None:
    if oid != pg.DATE:
        return None

    def write(value: object) -> bytes:
        if type(value) is dt.date or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            return _long(value.toordinal() - _EPOCH_DAY)
        raise _unexpected(column, value, "date")

    return write


def _time_writer(column: str, oid: int, avro: Any) -> _Write | None:
    if oid != pg.TIME:
        return None
    divisor = 1000 if _logical(avro) == "time-millis" else 1

    def write(value: object) -> bytes:
        if not isinstance(value, dt.time):
            raise _unexpected(column, value, str(_logical(avro)))
        micros = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
        return _long(micros // divisor)

    return write


_UTC_ZONE_KEYS: Final = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"}
)


def _is_utc_zoneinfo(zone: dt.tzinfo) -> bool:
    """Whether a zone is a ZoneInfo that is UTC at every instant, as DuckDB's timestamptz values in the
    gateway are: subtracting such values is slow (dt.timezone ones are fast and take that path)."""
    return isinstance(zone, ZoneInfo) and zone.key in _UTC_ZONE_KEYS


def _timestamp_writer(column: str, oid: int, avro: Any) -> _Write | None:
    if oid not in _TIMESTAMPS:
        return None
    logical = str(_logical(avro))
    millis = logical.endswith("-millis")
    utc_zones: set[dt.tzinfo] = set()  # the zone objects seen that are UTC: their fields are UTC's

    def write(value: object) -> bytes:
        # Aware values count from the UTC epoch; naive ones are taken as UTC wall-clock time. Both
        # give the same number for the instant and for its UTC local time.
        if not isinstance(value, dt.datetime):
            raise _unexpected(column, value, logical)
        zone = value.tzinfo
        if zone is None:
            micros = (value - _EPOCH_NAIVE) // _MICROSECOND
        elif zone in utc_zones:  # the fields are UTC's: skip the slow subtraction of ZoneInfo values
            seconds = (value.toordinal() - _EPOCH_DAY) * 86400 + value.hour * 3600 + value.minute * 60
            micros = (seconds + value.second) * 1_000_000 + value.microsecond
        else:
            if _is_utc_zoneinfo(zone):
                utc_zones.add(zone)
            micros = (value - _EPOCH_UTC) // _MICROSECOND
        return _long(micros // 1000 if millis else micros)

    return write


_LOGICAL_WRITERS: Final[Mapping[tuple[str, str], Callable[[str, int, Any], _Write | None]]] = {
    ("bytes", "decimal"): _decimal_writer,
    ("fixed", "decimal"): _decimal_writer,
    ("int", "date"): _date_writer,
    ("int", "time-millis"): _time_writer,
    ("long", "time-micros"): _time_writer,
    ("long", "timestamp-millis"): _timestamp_writer,
    ("long", "timestamp-micros"): _timestamp_writer,
    ("long", "local-timestamp-millis"): _timestamp_writer,
    ("long", "local-timestamp-micros"): _timestamp_writer,
    ("string", "uuid"): _string_writer,
}
_PHYSICAL_WRITERS: Final[Mapping[str, Callable[[str, int, Any], _Write | None]]] = {
    "boolean": _boolean_writer,
    "int": _int_writer,
    "long": _int_writer,
    "float": _float_writer,
    "double": _float_writer,
    "string": _string_writer,
    "bytes": _bytes_writer,
    "fixed": _fixed_writer,
    "enum": _enum_writer,
}


class _Writers:
    """Builds, for one column and one Avro type, the function writing the column's values."""

    def __init__(self, schema: _Schema) -> None:
        self.schema = schema

    def value(self, column: str, oid: int, avro: Any) -> _Write | None:
        """Writer of non-null values, None when the column cannot fill this (non-union) type."""
        avro = self.schema.resolve(avro)
        kind = _physical(avro)
        if kind == "array":
            return self._array(column, oid, avro)
        logical = _logical(avro)
        if logical is not None:
            logical_build = _LOGICAL_WRITERS.get((kind, logical))
            if logical_build is not None:
                return logical_build(column, oid, avro)
            # other logical types are ignored, as the specification says: the physical type counts
        build = _PHYSICAL_WRITERS.get(kind)
        return build(column, oid, avro) if build is not None else None

    def field(self, column: str, oid: int, avro: Any) -> _Field | None:
        """Writer of the column's values, NULL included, for a field (or array items) of type avro."""
        avro = self.schema.resolve(avro)
        if not isinstance(avro, list):
            found = self.value(column, oid, avro)
            if found is None:
                return None
            write: _Write = found

            def required(value: object) -> bytes:
                if value is None:
                    raise NullValueNotAllowed(
                        f'column "{column}": NULL cannot be written to the Avro field of type '
                        f"{self.schema.describe(avro)}, which is not nullable"
                    )
                return write(value)

            return required
        branches = [self.schema.resolve(branch) for branch in avro]
        null_index = next((i for i, branch in enumerate(branches) if branch == "null"), None)
        for index, branch in enumerate(branches):
            if branch == "null":
                continue
            branch_write = self.value(column, oid, branch)
            if branch_write is not None:
                return _union_field(column, branch_write, index, null_index, self.schema.describe(avro))
        return None

    def _array(self, column: str, oid: int, avro: Any) -> _Write | None:
        element = _element_oid(oid)
        if not element:
            return None
        item = self.field(column, element, avro["items"])
        if item is None:
            return None

        def write(value: object) -> bytes:
            if not isinstance(value, list | tuple):
                raise _unexpected(column, value, "array")
            if not value:
                return _FALSE  # an empty array: the end block
            return b"".join([_long(len(value)), *map(item, value), _FALSE])

        return write


def _union_field(column: str, write: _Write, index: int, null_index: int | None, described: str) -> _Field:
    tag = _long(index)
    if null_index is None:

        def required(value: object) -> bytes:
            if value is None:
                raise NullValueNotAllowed(
                    f'column "{column}": NULL cannot be written to the Avro field of type {described}, '
                    'whose union has no "null"'
                )
            return tag + write(value)

        return required
    null = _long(null_index)

    def nullable(value: object) -> bytes:
        return null if value is None else tag + write(value)

    return nullable


# --- defaults (fields no column fills) ---------------------------------------------------------------
def _default_bytes(schema: _Schema, avro: Any, default: object) -> bytes:
    """The binary encoding of a field default, given as JSON (bytes and fixed as ISO-8859-1 text,
    logical types by their physical value, unions by the branch the value belongs to)."""
    avro = schema.resolve(avro)
    if isinstance(avro, list):
        branches = [schema.resolve(branch) for branch in avro]
        for index, branch in enumerate(branches):
            if (default is None) == (branch == "null"):
                try:
                    return _long(index) + _default_bytes(schema, branch, default)
                except (TypeError, ValueError, KeyError, OverflowError, struct.error):
                    continue
        raise ValueError(f"default {default!r} matches no branch of {avro}")
    kind = _physical(avro)
    if kind == "null":
        if default is not None:
            raise ValueError("null default expected")
        return b""
    if kind == "boolean" and isinstance(default, bool):
        return _TRUE if default else _FALSE
    if kind in ("int", "long") and type(default) is int:
        return _long(default)
    if kind in ("float", "double") and isinstance(default, int | float) and not isinstance(default, bool):
        return (_pack_float if kind == "float" else _pack_double)(float(default))
    if kind == "string" and isinstance(default, str):
        return _length_prefixed(default.encode())
    if kind == "bytes" and isinstance(default, str):
        return _length_prefixed(default.encode("latin-1"))
    if kind == "fixed" and isinstance(default, str):
        data = default.encode("latin-1")
        if len(data) != avro["size"]:
            raise ValueError("wrong fixed size")
        return data
    if kind == "enum" and isinstance(default, str):
        return _long(list(avro["symbols"]).index(default))
    if kind == "array" and isinstance(default, list):
        if not default:
            return _FALSE
        items = [_default_bytes(schema, avro["items"], item) for item in default]
        return b"".join([_long(len(default)), *items, _FALSE])
    if kind == "map" and isinstance(default, dict):
        if not default:
            return _FALSE
        entries = [
            _length_prefixed(str(key).encode()) + _default_bytes(schema, avro["values"], value)
            for key, value in default.items()
        ]
        return b"".join([_long(len(default)), *entries, _FALSE])
    if kind in ("record", "error") and isinstance(default, dict):
        return b"".join(
            _default_bytes(schema, field["type"], default.get(field["name"], field.get("default")))
            for field in avro["fields"]
        )
    raise TypeError(f"default {default!r} does not fit {kind}")
