"""The sink's `json` format: one row becomes one JSON object, column names as keys, via orjson.

`JsonEncoder(columns, pretty=..., include_nulls=..., exclude=...)` is built once per statement from
the result columns, (name, PostgreSQL type OID) pairs as gateway.protocol.types announces them, and
then encodes rows (sequences of the Python values DuckDB's fetchall() or the gateway's parameter
decoding produce). Keys keep the column order. `exclude` names the routing columns that are not part
of the value (`_kafka_headers`, the topic_field and partition_field columns). A NULL is written as
`null` with `include_nulls`, else its key is left out. Two kept columns with the same name are refused
(42701) since one would overwrite the other.

How values are written (orjson does most of it natively, in C):

| value / type                 | JSON                                                          |
|------------------------------|---------------------------------------------------------------|
| timestamptz                  | "2024-02-29T12:34:56.789000+00:00" (the value's own offset;   |
|                              | DuckDB hands them in its TimeZone, UTC in the gateway)        |
| timestamp / date / time      | "2024-02-29T12:34:56" / "2024-02-29" / "12:34:56"             |
| timetz                       | "12:34:56+02:00"                                              |
| interval                     | ISO-8601 duration as PostgreSQL's IntervalStyle iso_8601:     |
|                              | "P1DT2H3M4S", "P1Y2M", "PT-0.5S", "PT0S" (DuckDB's timedelta  |
|                              | counts a month as 30 days, so its months arrive as days)      |
| bytea                        | base64 with padding                                           |
| uuid                         | "16a5bf80-6338-45c4-910a-978371f27e46"                        |
| numeric                      | a JSON number with the value's exact digits ("1.500"), also   |
|                              | for integers past 64 bits; numeric NaN/Infinity -> null       |
| float8 / float4              | shortest round-trip digits (float4 at float4 precision: 0.1); |
|                              | NaN and +-Infinity -> null, as JSON has no such numbers       |
| json / jsonb (TO_JSON(...))  | embedded as nested JSON, its text verbatim (compact) or       |
|                              | re-indented (pretty) with numbers kept digit for digit        |
| arrays / lists               | JSON arrays, elements written by the same rules               |
| MAP and STRUCT (dict)        | JSON objects; non-string MAP keys become strings              |
| anything else                | its PostgreSQL text form as a string                          |

The text of json/jsonb values is not re-validated: DuckDB's JSON type and the gateway's json parameter
decoding have already checked it. Timestamps DuckDB reports as +-infinity arrive as datetime.max/min
and are written as those dates (PostgreSQL's to_json writes "infinity").

A value orjson cannot write even then (a str with lone surrogates, nesting deeper than 254 levels)
raises DataException (22000) naming the column; `encode_many` raises on the first such row, so a
sink with a skip/dlq error policy re-encodes that batch row by row with `encode`.

Speed, one core of this 2-core machine, batches of 10k rows through `encode_many`: a 6-column row
(bigint, bigint, text, timestamptz, float8, bool) 0.84 us (~1.2M rows/s); the same with NULL columns
left out 0.92 us, with a routing column excluded 1.05 us; plus a numeric, a bytea and a json column
2.0 us (~500k rows/s); pretty 4.8 us. The fast path is one dict(zip()) and one orjson.dumps per row;
Python-level work happens only for types orjson lacks (Decimal, bytes, intervals, via `default`) and
the few OIDs that need it (json, float4, timetz). Rare values orjson refuses (integers past 64 bits,
tz-aware times inside arrays or maps, non-string dict keys) take a slower exact path on TypeError.
These figures hold while the process keeps some heap: when every batch is freed before the next is
encoded, glibc trims the heap and re-faults it (orjson allocates 1 KiB per output, outside pymalloc)
and the 6-column row costs ~2.2 us; M_TRIM_THRESHOLD / MALLOC_TOP_PAD_ (or any resident working set)
avoid that.
"""

from __future__ import annotations

import binascii
import datetime as dt
import json
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from decimal import Decimal
from typing import Final

import numpy as np
import orjson

from formats.rows import kept_columns, row_picker
from gateway.errors import DataException
from gateway.protocol import types
from gateway.protocol.datetime_codec import Interval

__all__ = ["JsonEncoder", "iso8601_duration"]

_Converter = Callable[[object], object]

_MICROS_PER_SECOND: Final = 1_000_000
_MICROS_PER_MINUTE: Final = 60 * _MICROS_PER_SECOND
_MICROS_PER_HOUR: Final = 60 * _MICROS_PER_MINUTE
_INT64_MIN: Final = -(2**63)
_UINT64_MAX: Final = 2**64 - 1


def _truncating_divmod(value: int, divisor: int) -> tuple[int, int]:
    quotient = abs(value) // divisor * (1 if value >= 0 else -1)
    return quotient, value - quotient * divisor


def iso8601_duration(value: dt.timedelta | Interval) -> str:
    """EncodeInterval with IntervalStyle = iso_8601: 'P1Y2M3DT4H5M6.5S', each field signed on its own,
    zero fields left out, 'PT0S' for zero. A timedelta is split sign-symmetrically into days and time."""
    interval = Interval.from_value(value)
    if not (interval.months or interval.days or interval.microseconds):
        return "PT0S"
    years, months = _truncating_divmod(interval.months, 12)
    parts = ["P"]
    if years:
        parts.append(f"{years}Y")
    if months:
        parts.append(f"{months}M")
    if interval.days:
        parts.append(f"{interval.days}D")
    micros = interval.microseconds
    if micros:
        parts.append("T")
        hours, micros = _truncating_divmod(micros, _MICROS_PER_HOUR)
        minutes, micros = _truncating_divmod(micros, _MICROS_PER_MINUTE)
        if hours:
            parts.append(f"{hours}H")
        if minutes:
            parts.append(f"{minutes}M")
        if micros:
            seconds, fraction = divmod(abs(micros), _MICROS_PER_SECOND)
            sign = "-" if micros < 0 else ""
            text = f"{seconds}.{fraction:06d}".rstrip("0").rstrip(".")
            parts.append(f"{sign}{text}S")
    return "".join(parts)


# --- type-driven conversion (orjson's `default`, called only for types it cannot write) ----------


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        text = str(value)  # plain digits unless the exponent is positive or the value tiny
        return orjson.Fragment(text if "E" not in text else format(value, "f"))
    if isinstance(value, bytes | bytearray | memoryview):
        return binascii.b2a_base64(value, newline=False).decode("ascii")
    if isinstance(value, dt.timedelta | Interval):
        return iso8601_duration(value)
    return types.render_text(value)


def _prepare(value: object) -> object:
    """The slow path: rewrite what orjson refuses even with `default` (integers past 64 bits,
    tz-aware times), recursively; dict keys are left to OPT_NON_STR_KEYS."""
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _UINT64_MAX else orjson.Fragment(str(value))
    if isinstance(value, dt.time) and value.tzinfo is not None:
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_prepare(item) for item in value]
    if isinstance(value, dict):
        return {key: _prepare(item) for key, item in value.items()}
    return value


def _unwritable(record: dict[str, object], option: int) -> DataException:
    for name, value in record.items():
        try:
            orjson.dumps(_prepare(value), _default, option)
        except TypeError as exc:
            return DataException(f'value of column "{name}" cannot be written as JSON: {exc}')
    return DataException("row cannot be written as JSON")  # pragma: no cover - some column failed


# --- OID-driven conversion (values whose Python type alone does not say how to write them) --------


def _float4(value: object) -> object:
    if isinstance(value, float):
        return orjson.Fragment(str(np.float32(value))) if math.isfinite(value) else None
    return value


def _timetz(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.time) else value


def _json_compact(value: object) -> object:
    if isinstance(value, str | bytes):
        return orjson.Fragment(value)
    return value


def _json_pretty(value: object) -> object:
    """Parsed so orjson can indent it; numbers stay Fragments holding their original digits."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        return json.loads(value, parse_float=orjson.Fragment, parse_int=orjson.Fragment)
    return value


def _each_element(convert: _Converter) -> _Converter:
    def convert_array(value: object) -> object:
        if isinstance(value, list | tuple):
            return [None if item is None else convert_array(item) for item in value]
        return convert(value)

    return convert_array


def _converter_for(oid: int, pretty: bool) -> _Converter | None:
    json_converter = _json_pretty if pretty else _json_compact
    scalar: dict[int, _Converter] = {
        types.JSON: json_converter,
        types.JSONB: json_converter,
        types.FLOAT4: _float4,
        types.TIMETZ: _timetz,
    }
    if oid in scalar:
        return scalar[oid]
    pg_type = types.TYPES_BY_OID.get(oid)
    if pg_type is not None and pg_type.elem_oid in scalar:
        return _each_element(scalar[pg_type.elem_oid])
    return None


class JsonEncoder:
    """Encodes rows of one result shape as JSON object bytes (see the module docstring)."""

    __slots__ = ("_converters", "_include_nulls", "_keys", "_option", "_pick", "columns")

    def __init__(
        self,
        columns: Sequence[tuple[str, int]],
        *,
        pretty: bool,
        include_nulls: bool,
        exclude: Collection[str] = (),
    ) -> None:
        kept = kept_columns(columns, exclude, what="JSON keys")
        self.columns: tuple[tuple[str, int], ...] = tuple((name, oid) for _, name, oid in kept)
        self._keys = tuple(name for _, name, _ in kept)
        self._pick = row_picker([index for index, _, _ in kept], len(columns))
        self._converters = tuple(
            (name, converter)
            for _, name, oid in kept
            if (converter := _converter_for(oid, pretty)) is not None
        )
        self._include_nulls = include_nulls
        # Dataclasses (Interval) go to `default` rather than being written field by field.
        self._option = orjson.OPT_PASSTHROUGH_DATACLASS | (orjson.OPT_INDENT_2 if pretty else 0)

    def _as_dict(self, row: Sequence[object]) -> dict[str, object]:
        values = row if self._pick is None else self._pick(row)
        # zip without strict: the sink hands rows of the constructor's width, and strict= costs 15%.
        if self._include_nulls or None not in values:
            record = dict(zip(self._keys, values))  # noqa: B905
        else:
            record = {key: value for key, value in zip(self._keys, values) if value is not None}  # noqa: B905
        for name, convert in self._converters:
            value = record.get(name)
            if value is not None:
                record[name] = convert(value)  # may give None (float4 NaN): written as null
        return record

    def _dump(self, record: dict[str, object]) -> bytes:
        try:
            return orjson.dumps(record, _default, self._option)
        except TypeError:
            option = self._option | orjson.OPT_NON_STR_KEYS
            try:
                return orjson.dumps(_prepare(record), _default, option)
            except TypeError as exc:
                raise _unwritable(record, option) from exc

    def encode(self, row: Sequence[object]) -> bytes:
        """One row (one value per constructor column, excluded ones included)."""
        return self._dump(self._as_dict(row))

    def encode_many(self, rows: Iterable[Sequence[object]]) -> list[bytes]:
        """Rows in order. The common shapes (every column written, no per-value conversion) run as one
        comprehension around orjson.dumps."""
        if self._converters or self._pick is not None:
            as_dict, dump = self._as_dict, self._dump
            return [dump(as_dict(row)) for row in rows]
        if not isinstance(rows, list | tuple):
            rows = list(rows)  # the fallback below reads them again
        keys, dumps, default, option = self._keys, orjson.dumps, _default, self._option
        try:
            if self._include_nulls:
                return [dumps(dict(zip(keys, row)), default, option) for row in rows]  # noqa: B905
            return [
                dumps(
                    dict(zip(keys, row))  # noqa: B905
                    if None not in row
                    else {key: value for key, value in zip(keys, row) if value is not None},  # noqa: B905
                    default,
                    option,
                )
                for row in rows
            ]
        except TypeError:
            return [self.encode(row) for row in rows]
