"""The PostgreSQL types the gateway speaks: their catalog facts, value codecs, and DuckDB mapping.

`TYPES_BY_OID` / `TYPES_BY_NAME` describe each type the way pg_type does (OID, name, length,
array/element OIDs, category). `encode_text` / `encode_binary` turn a Python value from DuckDB's
`fetchall()` into the bytes of a DataRow column; `decode_text` / `decode_binary` turn a Bind
parameter into the Python value DuckDB accepts. NULL never reaches these functions: the caller
sends/reads length -1. Aware timestamptz values print at their own UTC offset: convert them to
the session's TimeZone (astimezone) before encoding, since DuckDB hands them in its own TimeZone.
`oid_for_duckdb_type` picks the OID a DuckDB result column is announced with in RowDescription,
and `duckdb_type_for_oid` the DuckDB type a typed parameter is cast to.

Codecs for the individual types live in `scalar_codec`, `datetime_codec`, `json_codec` and
`array_codec`; this module is the registry and the dispatch. All of it is sans-IO and pure.
Conversion failures raise `TypeCodecError` (a ValueError) whose `sqlstate` is what PostgreSQL
reports for the same input.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from types import MappingProxyType
from typing import Final

from gateway.protocol import array_codec, datetime_codec, json_codec, scalar_codec
from gateway.protocol.datetime_codec import Interval
from gateway.protocol.scalar_codec import TypeCodecError

__all__ = [
    "TYPES_BY_NAME",
    "TYPES_BY_OID",
    "Interval",
    "PgType",
    "TypeCodecError",
    "decode_binary",
    "decode_text",
    "duckdb_type_for_oid",
    "encode_binary",
    "encode_text",
    "oid_for_duckdb_type",
    "render_text",
    "supports_binary",
    "typmod_for_duckdb_type",
]


@dataclass(frozen=True, slots=True)
class PgType:
    """One row of pg_type, reduced to what the wire protocol and catalog emulation need."""

    oid: int
    name: str
    typlen: int  # bytes; -1 varlena, -2 C string
    array_oid: int  # OID of the array type whose elements are this type; 0 if none
    elem_oid: int  # element type OID when this is an array type, else 0
    category: str  # typcategory letter: B bool, N numeric, S string, D datetime, A array, ...


BOOL: Final = 16
BYTEA: Final = 17
CHAR: Final = 18
NAME: Final = 19
INT8: Final = 20
INT2: Final = 21
INT4: Final = 23
TEXT: Final = 25
OID: Final = 26
JSON: Final = 114
FLOAT4: Final = 700
FLOAT8: Final = 701
UNKNOWN: Final = 705
BPCHAR: Final = 1042
VARCHAR: Final = 1043
DATE: Final = 1082
TIME: Final = 1083
TIMESTAMP: Final = 1114
TIMESTAMPTZ: Final = 1184
INTERVAL: Final = 1186
TIMETZ: Final = 1266
BIT: Final = 1560
VARBIT: Final = 1562
NUMERIC: Final = 1700
VOID: Final = 2278
UUID: Final = 2950
JSONB: Final = 3802

JSON_ARRAY: Final = 199
BOOL_ARRAY: Final = 1000
BYTEA_ARRAY: Final = 1001
CHAR_ARRAY: Final = 1002
NAME_ARRAY: Final = 1003
INT2_ARRAY: Final = 1005
INT4_ARRAY: Final = 1007
TEXT_ARRAY: Final = 1009
BPCHAR_ARRAY: Final = 1014
VARCHAR_ARRAY: Final = 1015
INT8_ARRAY: Final = 1016
FLOAT4_ARRAY: Final = 1021
FLOAT8_ARRAY: Final = 1022
OID_ARRAY: Final = 1028
TIMESTAMP_ARRAY: Final = 1115
DATE_ARRAY: Final = 1182
TIME_ARRAY: Final = 1183
TIMESTAMPTZ_ARRAY: Final = 1185
INTERVAL_ARRAY: Final = 1187
NUMERIC_ARRAY: Final = 1231
TIMETZ_ARRAY: Final = 1270
BIT_ARRAY: Final = 1561
VARBIT_ARRAY: Final = 1563
UUID_ARRAY: Final = 2951
JSONB_ARRAY: Final = 3807

# (oid, name, typlen, array oid, category), as in PostgreSQL 16's pg_type.
_SCALAR_ROWS: Final = (
    (BOOL, "bool", 1, BOOL_ARRAY, "B"),
    (BYTEA, "bytea", -1, BYTEA_ARRAY, "U"),
    (CHAR, "char", 1, CHAR_ARRAY, "Z"),
    (NAME, "name", 64, NAME_ARRAY, "S"),
    (INT8, "int8", 8, INT8_ARRAY, "N"),
    (INT2, "int2", 2, INT2_ARRAY, "N"),
    (INT4, "int4", 4, INT4_ARRAY, "N"),
    (TEXT, "text", -1, TEXT_ARRAY, "S"),
    (OID, "oid", 4, OID_ARRAY, "N"),
    (JSON, "json", -1, JSON_ARRAY, "U"),
    (FLOAT4, "float4", 4, FLOAT4_ARRAY, "N"),
    (FLOAT8, "float8", 8, FLOAT8_ARRAY, "N"),
    (UNKNOWN, "unknown", -2, 0, "X"),
    (BPCHAR, "bpchar", -1, BPCHAR_ARRAY, "S"),
    (VARCHAR, "varchar", -1, VARCHAR_ARRAY, "S"),
    (DATE, "date", 4, DATE_ARRAY, "D"),
    (TIME, "time", 8, TIME_ARRAY, "D"),
    (TIMESTAMP, "timestamp", 8, TIMESTAMP_ARRAY, "D"),
    (TIMESTAMPTZ, "timestamptz", 8, TIMESTAMPTZ_ARRAY, "D"),
    (INTERVAL, "interval", 16, INTERVAL_ARRAY, "T"),
    (TIMETZ, "timetz", 12, TIMETZ_ARRAY, "D"),
    (BIT, "bit", -1, BIT_ARRAY, "V"),
    (VARBIT, "varbit", -1, VARBIT_ARRAY, "V"),
    (NUMERIC, "numeric", -1, NUMERIC_ARRAY, "N"),
    (VOID, "void", 4, 0, "P"),
    (UUID, "uuid", 16, UUID_ARRAY, "U"),
    (JSONB, "jsonb", -1, JSONB_ARRAY, "U"),
)


def _build_registry() -> dict[int, PgType]:
    registry: dict[int, PgType] = {}
    for oid, name, typlen, array_oid, category in _SCALAR_ROWS:
        registry[oid] = PgType(oid, name, typlen, array_oid, 0, category)
        if array_oid:
            registry[array_oid] = PgType(array_oid, f"_{name}", -1, 0, oid, "A")
    return registry


TYPES_BY_OID: Final[Mapping[int, PgType]] = MappingProxyType(_build_registry())
TYPES_BY_NAME: Final[Mapping[str, PgType]] = MappingProxyType({t.name: t for t in TYPES_BY_OID.values()})


# --- generic text rendering ---------------------------------------------------------------------


def render_text(value: object) -> str:
    """PostgreSQL-style text for a value of any supported Python type, chosen by the value's type.

    Used for text-typed columns that carry non-string values (DuckDB STRUCT/MAP/UNION, nested lists
    announced as text) and for OIDs without a codec: str as is, bool 'true'/'false' (like bool::text),
    numbers, bytes, dates, times and intervals as their PostgreSQL types print them, lists as array
    literals, dicts as JSON, anything else str(value).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return scalar_codec.format_float(value, single=False)
    if isinstance(value, Decimal):
        return scalar_codec.format_numeric(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return scalar_codec.encode_bytea_text(value).decode()
    if isinstance(value, dt.datetime):
        return datetime_codec.encode_timestamp_text(value, value.tzinfo is not None).decode()
    if isinstance(value, dt.date):
        return datetime_codec.encode_date_text(value).decode()
    if isinstance(value, dt.time):
        encode = datetime_codec.encode_timetz_text if value.tzinfo else datetime_codec.encode_time_text
        return encode(value).decode()
    if isinstance(value, dt.timedelta | Interval):
        return datetime_codec.encode_interval_text(value).decode()
    if isinstance(value, list | tuple):
        return array_codec.format_array_text(value, _render_bytes, nested=False).decode()
    if isinstance(value, dict):
        return json_codec.dump_json(value)
    return str(value)


def _render_bytes(value: object) -> bytes:
    return render_text(value).encode()


def _decode_void(data: bytes) -> None:
    return None


def _encode_void(value: object) -> bytes:
    return b""


# --- codec table --------------------------------------------------------------------------------

Encoder = Callable[[object], bytes]
Decoder = Callable[[bytes], object]


@dataclass(frozen=True, slots=True)
class _Codec:
    encode_text: Encoder
    decode_text: Decoder
    encode_binary: Encoder
    decode_binary: Decoder


_TEXT_CODEC: Final = _Codec(_render_bytes, scalar_codec.decode_utf8, _render_bytes, scalar_codec.decode_utf8)
_JSON_CODEC: Final = _Codec(
    json_codec.encode_json_text,
    json_codec.decode_json_text,
    json_codec.encode_json_text,
    json_codec.decode_json_text,
)
_BITS_CODEC: Final = _Codec(
    scalar_codec.encode_bits_text,
    scalar_codec.decode_bits_text,
    scalar_codec.encode_bits_binary,
    scalar_codec.decode_bits_binary,
)


def _int_codec(size: int) -> _Codec:
    return _Codec(
        scalar_codec.encode_int_text,
        partial(scalar_codec.decode_int_text, size=size),
        partial(scalar_codec.encode_int_binary, size=size),
        partial(scalar_codec.decode_int_binary, size=size),
    )


def _float_codec(single: bool) -> _Codec:
    return _Codec(
        partial(scalar_codec.encode_float_text, single=single),
        partial(scalar_codec.decode_float_text, single=single),
        partial(scalar_codec.encode_float_binary, single=single),
        partial(scalar_codec.decode_float_binary, single=single),
    )


def _timestamp_codec(with_zone: bool) -> _Codec:
    return _Codec(
        partial(datetime_codec.encode_timestamp_text, with_zone=with_zone),
        partial(datetime_codec.decode_timestamp_text, with_zone=with_zone),
        partial(datetime_codec.encode_timestamp_binary, with_zone=with_zone),
        partial(datetime_codec.decode_timestamp_binary, with_zone=with_zone),
    )


_CODECS: Final[Mapping[int, _Codec]] = MappingProxyType(
    {
        BOOL: _Codec(
            scalar_codec.encode_bool_text,
            scalar_codec.decode_bool_text,
            scalar_codec.encode_bool_binary,
            scalar_codec.decode_bool_binary,
        ),
        BYTEA: _Codec(
            scalar_codec.encode_bytea_text, scalar_codec.decode_bytea_text, scalar_codec.as_bytes, bytes
        ),
        CHAR: _Codec(
            scalar_codec.encode_char_text,
            scalar_codec.decode_char_text,
            scalar_codec.encode_char_binary,
            scalar_codec.decode_char_binary,
        ),
        NAME: _TEXT_CODEC,
        INT2: _int_codec(2),
        INT4: _int_codec(4),
        INT8: _int_codec(8),
        TEXT: _TEXT_CODEC,
        OID: _Codec(
            scalar_codec.encode_int_text,
            scalar_codec.decode_oid_text,
            scalar_codec.encode_oid_binary,
            scalar_codec.decode_oid_binary,
        ),
        JSON: _JSON_CODEC,
        FLOAT4: _float_codec(single=True),
        FLOAT8: _float_codec(single=False),
        UNKNOWN: _TEXT_CODEC,
        BPCHAR: _TEXT_CODEC,
        VARCHAR: _TEXT_CODEC,
        DATE: _Codec(
            datetime_codec.encode_date_text,
            datetime_codec.decode_date_text,
            datetime_codec.encode_date_binary,
            datetime_codec.decode_date_binary,
        ),
        TIME: _Codec(
            datetime_codec.encode_time_text,
            partial(datetime_codec.decode_time_text, with_zone=False),
            datetime_codec.encode_time_binary,
            datetime_codec.decode_time_binary,
        ),
        TIMETZ: _Codec(
            datetime_codec.encode_timetz_text,
            partial(datetime_codec.decode_time_text, with_zone=True),
            datetime_codec.encode_timetz_binary,
            datetime_codec.decode_timetz_binary,
        ),
        TIMESTAMP: _timestamp_codec(with_zone=False),
        TIMESTAMPTZ: _timestamp_codec(with_zone=True),
        INTERVAL: _Codec(
            datetime_codec.encode_interval_text,
            datetime_codec.decode_interval_text,
            datetime_codec.encode_interval_binary,
            datetime_codec.decode_interval_binary,
        ),
        BIT: _BITS_CODEC,
        VARBIT: _BITS_CODEC,
        NUMERIC: _Codec(
            scalar_codec.encode_numeric_text,
            scalar_codec.decode_numeric_text,
            scalar_codec.encode_numeric_binary,
            scalar_codec.decode_numeric_binary,
        ),
        VOID: _Codec(_encode_void, _decode_void, _encode_void, _decode_void),
        UUID: _Codec(
            lambda value: str(scalar_codec.as_uuid(value)).encode(),
            scalar_codec.decode_uuid_text,
            lambda value: scalar_codec.as_uuid(value).bytes,
            scalar_codec.decode_uuid_binary,
        ),
        JSONB: _Codec(
            json_codec.encode_jsonb_text,
            json_codec.decode_json_text,
            json_codec.encode_jsonb_binary,
            json_codec.decode_jsonb_binary,
        ),
    }
)

# Element types whose Python values may themselves be lists, so sub-lists are values, not dimensions.
_FLAT_ELEMENT_TYPES: Final = frozenset({TEXT, VARCHAR, BPCHAR, NAME, UNKNOWN, JSON, JSONB})


def _element_oid(oid: int) -> int:
    pg_type = TYPES_BY_OID.get(oid)
    return pg_type.elem_oid if pg_type is not None else 0


# --- dispatch -----------------------------------------------------------------------------------


def encode_text(oid: int, value: object) -> bytes:
    """The text-format bytes PostgreSQL would send for `value` as type `oid` (value is never None).
    Unknown OIDs fall back to `render_text`, which is str(value) for strings."""
    codec = _CODECS.get(oid)
    if codec is not None:
        return codec.encode_text(value)
    element = _element_oid(oid)
    if element:
        encode_element = partial(encode_text, element)
        return array_codec.format_array_text(value, encode_element, nested=element not in _FLAT_ELEMENT_TYPES)
    return _render_bytes(value)


def encode_binary(oid: int, value: object) -> bytes:
    """The binary-format (`*send`) bytes for `value` as type `oid`; only for `supports_binary(oid)`."""
    codec = _CODECS.get(oid)
    if codec is not None:
        return codec.encode_binary(value)
    element = _element_oid(oid)
    if element:
        encode_element = partial(encode_binary, element)
        nested = element not in _FLAT_ELEMENT_TYPES
        return array_codec.encode_array_binary(value, element, encode_element, nested=nested)
    raise TypeCodecError(f"binary format is not supported for type OID {oid}", "0A000")


def decode_text(oid: int, data: bytes) -> object:
    """A text-format parameter as the Python value DuckDB binds; unknown OIDs (and 0) give the str."""
    codec = _CODECS.get(oid)
    if codec is not None:
        return codec.decode_text(data)
    element = _element_oid(oid)
    if element:
        return array_codec.parse_array_text(data, partial(decode_text, element))
    return scalar_codec.decode_utf8(data)


def decode_binary(oid: int, data: bytes) -> object:
    """A binary-format (`*recv`) parameter as a Python value; only for `supports_binary(oid)`."""
    codec = _CODECS.get(oid)
    if codec is not None:
        return codec.decode_binary(data)
    element = _element_oid(oid)
    if element:
        return array_codec.decode_array_binary(data, element, partial(decode_binary, element))
    raise TypeCodecError(f"binary format is not supported for type OID {oid}", "0A000")


def supports_binary(oid: int) -> bool:
    """Whether encode_binary/decode_binary handle this OID (all registered types and their arrays)."""
    return oid in _CODECS or _element_oid(oid) in _CODECS


# --- DuckDB mapping -----------------------------------------------------------------------------

_DUCKDB_TO_OID: Final[Mapping[str, int]] = MappingProxyType(
    {
        "BOOLEAN": BOOL,
        "BOOL": BOOL,
        "TINYINT": INT2,
        "INT1": INT2,
        "SMALLINT": INT2,
        "INT2": INT2,
        "INTEGER": INT4,
        "INT": INT4,
        "INT4": INT4,
        "BIGINT": INT8,
        "INT8": INT8,
        "UTINYINT": INT2,
        "USMALLINT": INT4,
        "UINTEGER": INT8,
        "UBIGINT": NUMERIC,
        "HUGEINT": NUMERIC,
        "UHUGEINT": NUMERIC,
        "BIGNUM": NUMERIC,
        "VARINT": NUMERIC,
        "DECIMAL": NUMERIC,
        "NUMERIC": NUMERIC,
        "FLOAT": FLOAT4,
        "REAL": FLOAT4,
        "FLOAT4": FLOAT4,
        "DOUBLE": FLOAT8,
        "FLOAT8": FLOAT8,
        "VARCHAR": TEXT,
        "TEXT": TEXT,
        "STRING": TEXT,
        "BLOB": BYTEA,
        "BYTEA": BYTEA,
        "DATE": DATE,
        "TIME": TIME,
        "TIME_NS": TIME,
        "TIME WITH TIME ZONE": TIMETZ,
        "TIMETZ": TIMETZ,
        "TIMESTAMP": TIMESTAMP,
        "DATETIME": TIMESTAMP,
        "TIMESTAMP_S": TIMESTAMP,
        "TIMESTAMP_MS": TIMESTAMP,
        "TIMESTAMP_NS": TIMESTAMP,
        "TIMESTAMP_US": TIMESTAMP,
        "TIMESTAMP WITH TIME ZONE": TIMESTAMPTZ,
        "TIMESTAMPTZ": TIMESTAMPTZ,
        "INTERVAL": INTERVAL,
        "UUID": UUID,
        "JSON": JSON,
        "BIT": VARBIT,
        "BITSTRING": VARBIT,
    }
)
_LIST_SUFFIX: Final = re.compile(r"\[\d*\]$")
_DECIMAL_TYPE: Final = re.compile(r"(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", re.IGNORECASE)


def oid_for_duckdb_type(duckdb_type: str) -> int:
    """The OID a DuckDB result column is announced with, from str(relation.types[i]).

    Unsigned integers widen to the next signed type (UBIGINT and 128-bit integers become numeric),
    lists 'X[]' and fixed arrays 'X[n]' become the array type of X (nested lists and lists of
    unmapped types become text[]), and everything without a PostgreSQL counterpart (STRUCT, MAP,
    UNION, ENUM, GEOMETRY, the NULL type, ...) is text.
    """
    name = duckdb_type.strip()
    suffix = _LIST_SUFFIX.search(name)
    if suffix is not None:
        element = name[: suffix.start()].strip()
        element_oid = TEXT if _LIST_SUFFIX.search(element) else oid_for_duckdb_type(element)
        array_oid = TYPES_BY_OID[element_oid].array_oid
        return array_oid or TEXT_ARRAY
    base = name.split("(", 1)[0].strip().upper()
    return _DUCKDB_TO_OID.get(base, TEXT)


def typmod_for_duckdb_type(duckdb_type: str) -> int:
    """The RowDescription type modifier: numeric's ((precision << 16) | scale) + 4 for DECIMAL(p,s),
    -1 for everything else (DuckDB keeps no varchar lengths)."""
    match = _DECIMAL_TYPE.fullmatch(duckdb_type.strip())
    if match is None:
        return -1
    return ((int(match[1]) << 16) | int(match[2])) + 4


_OID_TO_DUCKDB: Final[Mapping[int, str]] = MappingProxyType(
    {
        BOOL: "BOOLEAN",
        BYTEA: "BLOB",
        INT2: "SMALLINT",
        INT4: "INTEGER",
        INT8: "BIGINT",
        OID: "UINTEGER",
        FLOAT4: "FLOAT",
        FLOAT8: "DOUBLE",
        # PostgreSQL's numeric is unconstrained; DuckDB's widest decimal keeps 28 integer digits.
        NUMERIC: "DECIMAL(38,10)",
        DATE: "DATE",
        TIME: "TIME",
        TIMETZ: "TIME WITH TIME ZONE",
        TIMESTAMP: "TIMESTAMP",
        TIMESTAMPTZ: "TIMESTAMP WITH TIME ZONE",
        INTERVAL: "INTERVAL",
        UUID: "UUID",
        JSON: "JSON",
        JSONB: "JSON",
        BIT: "BIT",
        VARBIT: "BIT",
    }
)


def duckdb_type_for_oid(oid: int) -> str:
    """The DuckDB type a value of PostgreSQL type `oid` is cast to: 23 -> 'INTEGER', 1009 ->
    'VARCHAR[]'; string-like, unknown and unregistered OIDs -> 'VARCHAR'."""
    element = _element_oid(oid)
    if element:
        return f"{duckdb_type_for_oid(element)}[]"
    return _OID_TO_DUCKDB.get(oid, "VARCHAR")
