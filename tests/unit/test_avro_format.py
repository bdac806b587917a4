"""The avro format: schemas from columns, Confluent-framed encoding checked by decoding every message
independently with fastavro, fitting registered schemas, and the source side's decoding (no sockets).

Rows come from a real in-process DuckDB query whose column OIDs are announced the way the gateway
announces them (gateway.protocol.types.oid_for_duckdb_type), or are literal Python values of the
shapes DuckDB's fetchall() produces.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import random
import struct
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import fastavro
import pytest

from catalog.model import ColumnDef
from formats.avro_format import (
    AvroDecoder,
    AvroEncoder,
    avro_name,
    avro_schema_for,
    avro_type_for,
    check_fits,
    columns_for,
    schema_id_of,
)
from gateway.errors import LaminarError
from gateway.protocol import types as t
from sources.decode import declared_column

UTC = dt.UTC
SCHEMA_ID = 0x01020304


def duckdb_rows(sql: str) -> tuple[list[tuple[str, int]], dict[str, int], list[tuple[object, ...]]]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    cursor = connection.execute(sql)
    columns = [(name, t.oid_for_duckdb_type(str(kind))) for name, kind, *_ in cursor.description]
    typmods = {name: t.typmod_for_duckdb_type(str(kind)) for name, kind, *_ in cursor.description}
    return columns, typmods, cursor.fetchall()


def unframe(message: bytes, schema_id: int = SCHEMA_ID) -> bytes:
    """The Avro body after checking the 5 framing bytes one by one."""
    assert message[0] == 0
    assert message[1] == (schema_id >> 24) & 0xFF
    assert message[2] == (schema_id >> 16) & 0xFF
    assert message[3] == (schema_id >> 8) & 0xFF
    assert message[4] == schema_id & 0xFF
    return message[5:]


def read_back(message: bytes, schema: Any, schema_id: int = SCHEMA_ID) -> Any:
    """Decode with fastavro alone (not the module's decoder), checking every byte is consumed."""
    body = io.BytesIO(unframe(message, schema_id))
    record = fastavro.schemaless_reader(body, fastavro.parse_schema(schema), None)
    assert body.tell() == len(body.getvalue()), "bytes left after the record"
    return record


def encode_and_read(
    columns: Sequence[tuple[str, int]],
    rows: Sequence[Sequence[object]],
    schema: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> list[Any]:
    schema = schema if schema is not None else avro_schema_for(columns, name="rows", **kwargs)
    encoder = AvroEncoder(columns, schema, SCHEMA_ID, exclude=kwargs.get("exclude", ()))
    messages = encoder.encode_many(rows)
    assert messages == [encoder.encode(row) for row in rows]
    return [read_back(message, schema) for message in messages]


def sqlstate_of(excinfo: pytest.ExceptionInfo[LaminarError]) -> str:
    return excinfo.value.sqlstate


# --- schema derivation -----------------------------------------------------------------------------


def nullable(avro: Any) -> list[Any]:
    return ["null", avro]


@pytest.mark.parametrize(
    ("oid", "expected"),
    [
        (t.BOOL, "boolean"),
        (t.INT2, "int"),
        (t.INT4, "int"),
        (t.INT8, "long"),
        (t.OID, "long"),
        (t.FLOAT4, "float"),
        (t.FLOAT8, "double"),
        (t.NUMERIC, {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 10}),
        (t.TEXT, "string"),
        (t.VARCHAR, "string"),
        (t.BPCHAR, "string"),
        (t.NAME, "string"),
        (t.BYTEA, "bytes"),
        (t.DATE, {"type": "int", "logicalType": "date"}),
        (t.TIME, {"type": "long", "logicalType": "time-micros"}),
        (t.TIMESTAMP, {"type": "long", "logicalType": "local-timestamp-micros"}),
        (t.TIMESTAMPTZ, {"type": "long", "logicalType": "timestamp-micros"}),
        (t.UUID, {"type": "string", "logicalType": "uuid"}),
        (t.JSON, "string"),
        (t.JSONB, "string"),
        (t.INTERVAL, "string"),
        (t.TIMETZ, "string"),
        (t.VARBIT, "string"),
        (t.INT4_ARRAY, {"type": "array", "items": ["null", "int"]}),
        (
            t.TIMESTAMPTZ_ARRAY,
            {"type": "array", "items": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
        ),
        (t.TEXT_ARRAY, {"type": "array", "items": ["null", "string"]}),
        (99999, "string"),  # an OID the gateway does not know
    ],
)
def test_avro_type_for_each_postgresql_type(oid: int, expected: Any) -> None:
    assert avro_type_for(oid) == expected


def test_schema_has_one_nullable_field_per_kept_column_in_order() -> None:
    columns = [("id", t.INT8), ("_kafka_headers", t.TEXT), ("price", t.NUMERIC), ("at", t.TIMESTAMPTZ)]
    schema = avro_schema_for(
        columns, name="avro-output", exclude={"_kafka_headers"}, typmods={"price": ((10 << 16) | 2) + 4}
    )
    assert schema == {
        "type": "record",
        "name": "avro_output",
        "namespace": "laminar",
        "fields": [
            {"name": "id", "type": ["null", "long"], "default": None},
            {
                "name": "price",
                "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}],
                "default": None,
            },
            {
                "name": "at",
                "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}],
                "default": None,
            },
        ],
    }
    fastavro.parse_schema(schema)  # valid Avro


def test_numeric_typmods_come_from_duckdb_decimal_types() -> None:
    columns, typmods, _ = duckdb_rows("SELECT 1.5::DECIMAL(18,3) AS a, 2::HUGEINT AS b, 3.25 AS c")
    schema = avro_schema_for(columns, name="r", typmods=typmods)
    decimals = [(f["type"][1]["precision"], f["type"][1]["scale"]) for f in schema["fields"]]
    assert decimals == [(18, 3), (38, 10), (3, 2)]  # HUGEINT has no typmod: the default decimal


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("id", "id"),
        ("_x9", "_x9"),
        ("userId", "userId"),
        ("count(*)", "count___"),
        ("2nd", "_2nd"),
        ("a-b.c", "a_b_c"),
        ("héllo", "h_llo"),
        ("", "_"),
        ("é", "_"),
    ],
)
def test_avro_name_sanitises(name: str, expected: str) -> None:
    assert avro_name(name) == expected


def test_sanitised_field_names_and_namespace() -> None:
    columns = [("count(*)", t.INT8), ("2nd col", t.TEXT)]
    schema = avro_schema_for(columns, name="my-topic", namespace="com.my-company.v1")
    assert schema["name"] == "my_topic"
    assert schema["namespace"] == "com.my_company.v1"
    assert [f["name"] for f in schema["fields"]] == ["count___", "_2nd_col"]
    [record] = encode_and_read(columns, [(3, "x")])
    assert record == {"count___": 3, "_2nd_col": "x"}


def test_columns_that_sanitise_to_the_same_field_are_refused() -> None:
    with pytest.raises(LaminarError) as excinfo:
        avro_schema_for([("a-b", t.INT4), ("a_b", t.INT4)], name="r")
    assert sqlstate_of(excinfo) == "42701"
    assert '"a-b" and "a_b"' in excinfo.value.message


def test_duplicate_columns_are_refused() -> None:
    with pytest.raises(LaminarError) as excinfo:
        avro_schema_for([("a", t.INT4), ("a", t.TEXT)], name="r")
    assert sqlstate_of(excinfo) == "42701"


# --- encoding: every type, decoded independently ---------------------------------------------------

EVERY_TYPE_SQL = """
SELECT
    true AS b,
    (-7)::SMALLINT AS i2,
    2147483647::INTEGER AS i4,
    (-9223372036854775808)::BIGINT AS i8,
    0.1::REAL AS f4,
    -2.5e300::DOUBLE AS f8,
    (-12345.678)::DECIMAL(10,3) AS num,
    'héllo "wörld"'::VARCHAR AS txt,
    '\\x00\\xFF\\x10'::BLOB AS bin,
    DATE '1969-12-31' AS d,
    TIME '23:59:59.999999' AS tm,
    TIMESTAMP '1960-02-29 12:34:56.789012' AS ts,
    TIMESTAMPTZ '2024-02-29 12:34:56.789+02' AS tstz,
    UUID '16a5bf80-6338-45c4-910a-978371f27e46' AS id,
    '{"a": [1, 2.50]}'::JSON AS js,
    INTERVAL '1 month 2 days 3.5 seconds' AS iv,
    [1, NULL, 3]::INTEGER[] AS ints,
    ['x', NULL]::VARCHAR[] AS texts,
    [TIMESTAMPTZ '2024-01-01 00:00:00+00']::TIMESTAMPTZ[] AS stamps,
    MAP {'k': 1} AS m,
    {'x': 1, 'y': 'z'} AS st,
    [[1, 2], [3]] AS nested,
    TIMETZ '12:00:00+02' AS ttz
"""


def test_every_type_from_duckdb_round_trips_through_fastavro() -> None:
    columns, typmods, rows = duckdb_rows(EVERY_TYPE_SQL)
    [record] = encode_and_read(columns, rows, typmods=typmods)
    assert record == {
        "b": True,
        "i2": -7,
        "i4": 2147483647,
        "i8": -(2**63),
        "f4": struct.unpack("<f", struct.pack("<f", 0.1))[0],
        "f8": -2.5e300,
        "num": Decimal("-12345.678"),
        "txt": 'héllo "wörld"',
        "bin": b"\x00\xff\x10",
        "d": dt.date(1969, 12, 31),
        "tm": dt.time(23, 59, 59, 999999),
        "ts": dt.datetime(1960, 2, 29, 12, 34, 56, 789012),
        "tstz": dt.datetime(2024, 2, 29, 10, 34, 56, 789000, tzinfo=dt.UTC),
        "id": uuid.UUID("16a5bf80-6338-45c4-910a-978371f27e46"),
        "js": '{"a": [1, 2.50]}',
        "iv": "P32DT3.5S",  # DuckDB's timedelta counts the month as 30 days
        "ints": [1, None, 3],
        "texts": ["x", None],
        "stamps": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)],
        "m": '{"k":1}',
        "st": '{"x":1,"y":"z"}',
        "nested": ["{1,2}", "{3}"],
        "ttz": "12:00:00+02:00",
    }


def test_nulls_of_every_type() -> None:
    columns, typmods, _rows = duckdb_rows(EVERY_TYPE_SQL)
    [record] = encode_and_read(columns, [(None,) * len(columns)], typmods=typmods)
    assert record == {name: None for name, _ in columns}
    assert AvroEncoder(columns, avro_schema_for(columns, name="r"), SCHEMA_ID).encode(
        (None,) * len(columns)
    ) == bytes([0, 1, 2, 3, 4]) + b"\x00" * len(columns)  # each union's "null" branch, nothing else


def test_exact_bytes_of_a_small_record() -> None:
    columns = [("a", t.INT8), ("b", t.TEXT), ("c", t.BOOL), ("d", t.FLOAT8)]
    message = AvroEncoder(columns, avro_schema_for(columns, name="r"), 7).encode((-1, "hi", None, 1.0))
    assert message == (
        b"\x00\x00\x00\x00\x07"  # magic byte, schema id 7
        + b"\x02\x01"  # branch 1 (long), zig-zag -1
        + b"\x02\x04hi"  # branch 1 (string), length 2
        + b"\x00"  # branch 0 (null)
        + b"\x02"
        + struct.pack("<d", 1.0)
    )


@pytest.mark.parametrize(
    ("oid", "values"),
    [
        (t.INT8, [0, 1, -1, 63, -64, 64, 8191, 8192, 2**27, 2**41, 2**55, 2**62, 2**63 - 1, -(2**63)]),
        (t.INT4, [2**31 - 1, -(2**31), 0]),
        (t.INT2, [32767, -32768]),
        (t.FLOAT8, [0.0, -0.0, 1e-310, math.inf, -math.inf, 1.7976931348623157e308]),
        (t.FLOAT4, [3.4028234663852886e38, -1.5, math.inf]),
        (t.TEXT, ["", "x" * 20000, "emoji \U0001f600", "nul \x00 inside"]),
        (t.BYTEA, [b"", bytes(range(256)) * 70]),
        (t.DATE, [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(1970, 1, 1)]),
        (t.TIME, [dt.time(0, 0), dt.time(12, 0, 0, 1)]),
        (t.TIMESTAMP, [dt.datetime(1, 1, 1), dt.datetime.max, dt.datetime(1969, 12, 31, 23, 59, 59, 999999)]),
        (
            t.TIMESTAMPTZ,
            [
                dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=ZoneInfo("UTC")),
                dt.datetime(2024, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris")),  # +02:00 in summer
                dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
                dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            ],
        ),
        (t.INT8_ARRAY, [[], list(range(200)), [None] * 3]),
    ],
)
def test_edge_values_round_trip(oid: int, values: list[object]) -> None:
    records = encode_and_read([("v", oid)], [(value,) for value in values])
    decoded = [record["v"] for record in records]
    for got, value in zip(decoded, values, strict=True):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            assert got == value
            assert got.utcoffset() == dt.timedelta(0)
        elif oid == t.FLOAT8 and value == 0.0:
            assert math.copysign(1, got) == math.copysign(1, value)
        else:
            assert got == value


def test_float_nan_round_trips() -> None:
    [record] = encode_and_read([("v", t.FLOAT8), ("w", t.FLOAT4)], [(math.nan, math.nan)])
    assert math.isnan(record["v"])
    assert math.isnan(record["w"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1.005"), Decimal("1.01")),  # rounded half away from zero, like numeric(p,s)
        (Decimal("-1.005"), Decimal("-1.01")),
        (Decimal("1.004"), Decimal("1.00")),
        (Decimal("-0.004"), Decimal("0.00")),
        (Decimal("0.0004"), Decimal("0.00")),
        (Decimal("1E-999999"), Decimal("0.00")),
        (Decimal("9999999.994"), Decimal("9999999.99")),
        (Decimal("1E+2"), Decimal("100.00")),
        (Decimal("-128"), Decimal("-128.00")),
        (0, Decimal("0.00")),
        (-5, Decimal("-5.00")),
        (12.5, Decimal("12.50")),  # a float from a double precision column
    ],
)
def test_decimals_are_scaled_and_rounded(value: object, expected: Decimal) -> None:
    oid = t.FLOAT8 if isinstance(value, float) else t.NUMERIC
    schema = {
        "type": "record",
        "name": "r",
        "fields": [
            {"name": "v", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}}
        ],
    }
    [record] = encode_and_read([("v", oid)], [(value,)], schema=schema)
    assert record["v"] == expected
    assert record["v"].as_tuple().exponent == -2


def test_default_decimal_keeps_38_digits_and_rounds_to_10_places() -> None:
    big = Decimal("1234567890123456789012345678.0123456789")
    records = encode_and_read([("v", t.NUMERIC)], [(big,), (Decimal("0.12345678905"),), (-(10**27),)])
    assert [r["v"] for r in records] == [big, Decimal("0.1234567891"), Decimal(-(10**27)).scaleb(0)]


# --- encoding errors ---------------------------------------------------------------------------------


def registered(*fields: dict[str, Any], name: str = "r") -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "com.example", "fields": list(fields)}


@pytest.mark.parametrize(
    ("oid", "value", "field_type", "sqlstate", "words"),
    [
        (
            t.NUMERIC,
            Decimal("1000.00"),
            {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2},
            "22003",
            "out of range",
        ),
        (
            t.NUMERIC,
            Decimal("999.995"),
            {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2},
            "22003",
            "out of range",
        ),
        (
            t.NUMERIC,
            Decimal("NaN"),
            {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2},
            "22003",
            "NaN",
        ),
        (
            t.NUMERIC,
            2**127 - 1,
            {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 10},
            "22003",
            "out of range",
        ),
        (
            t.FLOAT8,
            math.inf,
            {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2},
            "22003",
            "inf",
        ),
        (t.FLOAT8, 1e300, "float", "22003", "out of range for Avro float"),
        (t.INT8, 2**31, "int", "22003", "out of range for Avro int"),
        (t.NUMERIC, Decimal("2147483647.5"), "int", "22003", "out of range"),
        (t.NUMERIC, 2**63, "long", "22003", "out of range for Avro long"),
        (t.TEXT, "lone \ud800 surrogate", "string", "22021", "UTF-8"),
        (t.INT8, "42", "long", "22000", "Python type str"),
        (t.TEXT, "not-a-uuid", {"type": "string", "logicalType": "uuid"}, "22P02", "uuid"),
        (
            t.TEXT,
            "PURPLE",
            {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]},
            "22P02",
            "not a symbol",
        ),
        (t.BYTEA, b"abc", {"type": "fixed", "name": "Four", "size": 4}, "22026", "3 bytes"),
        (t.INT8, None, "long", "22004", "not nullable"),
        (t.INT8, None, ["long", "string"], "22004", 'no "null"'),
        (t.DATE, dt.datetime(2024, 1, 1), {"type": "int", "logicalType": "date"}, "22000", "datetime"),
        (t.INT4_ARRAY, [1, None], {"type": "array", "items": "int"}, "22004", "not nullable"),
        (t.INT4_ARRAY, "[1]", {"type": "array", "items": "int"}, "22000", "Python type str"),
    ],
)
def test_values_that_do_not_fit_raise_data_exceptions_naming_the_column(
    oid: int, value: object, field_type: Any, sqlstate: str, words: str
) -> None:
    schema = registered({"name": "col_x", "type": field_type})
    encoder = AvroEncoder([("col_x", oid)], schema, SCHEMA_ID)
    with pytest.raises(LaminarError) as excinfo:
        encoder.encode((value,))
    assert sqlstate_of(excinfo) == sqlstate
    assert '"col_x"' in excinfo.value.message
    assert words in excinfo.value.message
    with pytest.raises(LaminarError) as many:
        encoder.encode_many([(value,)])
    assert sqlstate_of(many) == sqlstate


def test_encode_many_raises_on_the_first_bad_row() -> None:
    columns = [("id", t.INT8), ("name", t.TEXT)]
    encoder = AvroEncoder(columns, avro_schema_for(columns, name="r"), SCHEMA_ID)
    rows: list[tuple[object, ...]] = [(1, "a"), (2, "b\udc00"), ("three", "c")]
    with pytest.raises(LaminarError) as excinfo:
        encoder.encode_many(rows)
    assert sqlstate_of(excinfo) == "22021"
    assert '"name"' in excinfo.value.message
    assert [read_back(m, encoder.schema)["id"] for m in encoder.encode_many(rows[:1])] == [1]


def test_schema_id_must_fit_four_bytes() -> None:
    columns = [("a", t.INT4)]
    with pytest.raises(LaminarError) as excinfo:
        AvroEncoder(columns, avro_schema_for(columns, name="r"), 2**32)
    assert sqlstate_of(excinfo) == "22023"
    message = AvroEncoder(columns, avro_schema_for(columns, name="r"), 2**32 - 1).encode((1,))
    assert message[:5] == b"\x00\xff\xff\xff\xff"


def test_an_invalid_schema_is_refused() -> None:
    with pytest.raises(LaminarError) as excinfo:
        AvroEncoder(
            [("a", t.INT4)], {"type": "record", "name": "r", "fields": [{"name": "a", "type": "nope"}]}, 1
        )
    assert sqlstate_of(excinfo) == "22023"
    assert "invalid Avro schema" in excinfo.value.message


def test_excluded_routing_columns_are_not_written() -> None:
    columns = [("_kafka_headers", t.TEXT), ("id", t.INT8), ("region_partition", t.INT4)]
    exclude = {"_kafka_headers", "region_partition"}
    [record] = encode_and_read(columns, [({"h": b"1"}, 5, 3)], exclude=exclude)
    assert record == {"id": 5}


# --- registered schemas (auto.register.schemas = false) ---------------------------------------------

REGISTERED = registered(
    {"name": "at_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "id", "type": "long"},
    {"name": "Email", "type": ["string", "null"]},
    {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
    {"name": "also_color", "type": ["null", "Color"], "default": None},
    {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 4}},
    {
        "name": "price",
        "type": {
            "type": "fixed",
            "name": "Price",
            "size": 8,
            "logicalType": "decimal",
            "precision": 12,
            "scale": 3,
        },
    },
    {"name": "local_ms", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
    {"name": "t_ms", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "ratio", "type": "double"},
    {"name": "small", "type": "long"},
    {"name": "raw", "type": "bytes"},
    {"name": "either", "type": ["null", "long", "string"]},
    {"name": "version", "type": "int", "default": 3},
    {"name": "label", "type": "string", "default": "n/a"},
    {"name": "tags", "type": {"type": "array", "items": "string"}, "default": ["a", "b"]},
    {"name": "blob", "type": "bytes", "default": "\u00ff\u0000"},
    {"name": "opt", "type": ["null", "string"], "default": None},
    {"name": "opt_first", "type": ["int", "null"], "default": 9},
    {"name": "weights", "type": {"type": "map", "values": "double"}, "default": {"x": 1.5}},
    {
        "name": "inner",
        "type": {
            "type": "record",
            "name": "Inner",
            "fields": [{"name": "n", "type": "int"}, {"name": "s", "type": "string", "default": "d"}],
        },
        "default": {"n": 4},
    },
    {"name": "fx", "type": "Digest", "default": "abcd"},
    {"name": "shade", "type": "Color", "default": "GREEN"},
    {"name": "flt", "type": "float", "default": 0.5},
    {"name": "flag", "type": "boolean", "default": True},
)


def test_a_registered_schema_is_filled_by_name_with_defaults_for_the_rest() -> None:
    columns = [
        ("id", t.INT4),  # int into long
        ("email", t.TEXT),  # case-insensitive match of Email
        ("at_ms", t.TIMESTAMPTZ),
        ("color", t.TEXT),
        ("also_color", t.VARCHAR),
        ("digest", t.BYTEA),
        ("price", t.NUMERIC),
        ("local_ms", t.TIMESTAMP),
        ("t_ms", t.TIME),
        ("ratio", t.INT8),  # bigint into double
        ("small", t.NUMERIC),  # a HUGEINT sum into long
        ("raw", t.TEXT),  # text into bytes: UTF-8
        ("either", t.TEXT),  # the first branch a text column fits: string
    ]
    assert check_fits(columns, REGISTERED) == []
    row = (
        7,
        "a@b.c",
        dt.datetime(2024, 1, 2, 3, 4, 5, 678999, tzinfo=ZoneInfo("UTC")),
        "GREEN",
        None,
        b"\x01\x02\x03\x04",
        Decimal("-123456789.1235"),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
        dt.time(1, 2, 3, 4999),
        2**53,
        10**15,
        "é",
        "text",
    )
    [record] = encode_and_read(columns, [row], schema=REGISTERED)
    assert record == {
        "at_ms": dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC),  # truncated to ms
        "id": 7,
        "Email": "a@b.c",
        "color": "GREEN",
        "also_color": None,
        "digest": b"\x01\x02\x03\x04",
        "price": Decimal("-123456789.124"),
        "local_ms": dt.datetime(1969, 12, 31, 23, 59, 59, 999000),  # floor
        "t_ms": dt.time(1, 2, 3, 4000),
        "ratio": float(2**53),
        "small": 10**15,
        "raw": "é".encode(),
        "either": "text",
        "version": 3,
        "label": "n/a",
        "tags": ["a", "b"],
        "blob": b"\xff\x00",
        "opt": None,
        "opt_first": 9,
        "weights": {"x": 1.5},
        "inner": {"n": 4, "s": "d"},
        "fx": b"abcd",
        "shade": "GREEN",
        "flt": 0.5,
        "flag": True,
    }


def test_a_primitive_key_schema_takes_one_column() -> None:
    for oid, value, schema in [(t.TEXT, "customer-1", "string"), (t.INT8, 42, "long")]:
        columns = [("customer_id", oid), ("_kafka_key", t.BYTEA)]
        assert check_fits(columns, schema, exclude={"_kafka_key"}) == []
        encoder = AvroEncoder(columns, schema, 5, exclude={"_kafka_key"})
        assert read_back(encoder.encode((value, b"k")), schema, 5) == value
    assert check_fits([("a", t.TEXT), ("b", t.TEXT)], "string") == [
        "the schema is string, which takes one column, not 2 (a, b)"
    ]
    assert check_fits([("a", t.INT8)], "string") == ["column a is bigint, the schema is string"]


# --- check_fits -----------------------------------------------------------------------------------


def test_the_derived_schema_fits_its_own_columns() -> None:
    columns, typmods, _ = duckdb_rows(EVERY_TYPE_SQL)
    assert check_fits(columns, avro_schema_for(columns, name="r", typmods=typmods)) == []


def test_check_fits_lists_every_problem() -> None:
    schema = registered(
        {"name": "x", "type": "string"},
        {"name": "y", "type": "long"},
        {"name": "w", "type": ["null", "double"], "default": None},
        {"name": "m", "type": {"type": "map", "values": "string"}},
        {"name": "nested", "type": {"type": "record", "name": "N", "fields": [{"name": "a", "type": "int"}]}},
        {"name": "f", "type": "long"},
        {"name": "arr", "type": {"type": "array", "items": "string"}},
        {"name": "ts", "type": "long"},
    )
    columns = [
        ("x", t.INT8),
        ("z", t.TEXT),
        ("m", t.TEXT),
        ("nested", t.TEXT),
        ("f", t.FLOAT8),
        ("arr", t.INT4_ARRAY),
        ("ts", t.TIMESTAMPTZ),
    ]
    assert check_fits(columns, schema) == [
        "column z has no field in the schema",
        "column x is bigint, field x is string",
        "field y has no default and the output has no column y",
        "column m is text, field m is map of string",
        "column nested is text, field nested is record com.example.N",
        "column f is double precision, field f is long",
        "column arr is integer[], field arr is array of string",
        "column ts is timestamp with time zone, field ts is long",
    ]
    with pytest.raises(LaminarError) as excinfo:
        AvroEncoder(columns, schema, 1)
    assert sqlstate_of(excinfo) == "42804"
    assert excinfo.value.detail is not None
    assert excinfo.value.detail.splitlines()[0] == "column z has no field in the schema"


@pytest.mark.parametrize(
    ("oid", "field_type", "fits"),
    [
        (t.INT2, "int", True),
        (t.INT4, "long", True),
        (t.INT8, "int", True),  # narrowing, range checked per value
        (t.INT8, "float", True),
        (t.NUMERIC, "long", True),
        (t.NUMERIC, "double", True),
        (t.FLOAT4, "double", True),
        (t.FLOAT8, "int", False),
        (t.BOOL, "int", False),
        (t.INT4, "boolean", False),
        (t.INT8, "string", False),
        (t.TEXT, "string", True),
        (t.UUID, "string", True),
        (t.UUID, {"type": "string", "logicalType": "uuid"}, True),
        (t.TEXT, {"type": "string", "logicalType": "uuid"}, True),
        (t.JSONB, "string", True),
        (t.INTERVAL, "string", True),
        (t.TEXT, "bytes", True),
        (t.BYTEA, "string", False),
        (t.DATE, {"type": "int", "logicalType": "date"}, True),
        (t.DATE, "int", False),
        (t.TIMESTAMP, {"type": "long", "logicalType": "timestamp-micros"}, True),
        (t.TIMESTAMPTZ, {"type": "long", "logicalType": "local-timestamp-micros"}, True),
        (t.TIMESTAMP, {"type": "int", "logicalType": "date"}, False),
        (t.INT8, {"type": "long", "logicalType": "timestamp-millis"}, False),
        (t.INT8, {"type": "long", "logicalType": "timestamp-nanos"}, True),  # unknown logical type: a long
        (t.TIME, {"type": "long", "logicalType": "time-micros"}, True),
        (t.INT8, {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 0}, True),
        (t.TEXT, {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 0}, False),
        (t.TEXT, {"type": "enum", "name": "E", "symbols": ["A"]}, True),
        (t.UUID, {"type": "enum", "name": "E", "symbols": ["A"]}, False),
        (t.BYTEA, {"type": "fixed", "name": "F", "size": 2}, True),
        (t.TEXT_ARRAY, {"type": "array", "items": "string"}, True),
        (t.INT8_ARRAY, {"type": "array", "items": ["null", "double"]}, True),
        (t.TEXT, {"type": "array", "items": "string"}, False),
        (t.INT8, ["null", "string", "long"], True),
        (t.BOOL, ["null", "string", "long"], False),
    ],
)
def test_column_and_field_type_compatibility(oid: int, field_type: Any, fits: bool) -> None:
    problems = check_fits([("c", oid)], registered({"name": "c", "type": field_type}))
    assert (problems == []) is fits, problems


def test_check_fits_matching_rules() -> None:
    schema = registered({"name": "userId", "type": "long"}, {"name": "count___", "type": "long"})
    assert check_fits([("userid", t.INT8), ("count(*)", t.INT8)], schema) == []
    ambiguous = registered({"name": "Aa", "type": "long"}, {"name": "aA", "type": "long", "default": 0})
    assert check_fits([("aa", t.INT8)], ambiguous) == [
        "column aa has no field in the schema",
        "field Aa has no default and the output has no column Aa",
    ]
    assert check_fits([("Aa", t.INT8), ("A-a", t.INT8)], registered({"name": "Aa", "type": "long"}))[0] == (
        "column A-a has no field in the schema"
    )
    assert check_fits([("a_b", t.INT8), ("a-b", t.INT8)], registered({"name": "a_b", "type": "long"})) == [
        "columns a_b and a-b both match field a_b"
    ]
    assert check_fits([("a", t.INT8)], {"type": "record", "name": "r", "fields": [{"name": "a"}]})[
        0
    ].startswith("the schema is not valid Avro: ")


def test_check_fits_accepts_the_registry_schema_string() -> None:
    text = '{"type": "record", "name": "r", "fields": [{"name": "a", "type": "long"}]}'
    assert check_fits([("a", t.INT8)], text) == []
    assert check_fits([("a", t.TEXT)], text) == ["column a is text, field a is long"]


# --- decoding (sources) ---------------------------------------------------------------------------


def frame(schema_id: int, body: bytes) -> bytes:
    return b"\x00" + schema_id.to_bytes(4, "big") + body


def fastavro_message(schema: Any, schema_id: int, record: Any) -> bytes:
    """A message written by fastavro alone, as another producer would."""
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return frame(schema_id, buffer.getvalue())


def test_schema_id_and_framing_errors() -> None:
    assert schema_id_of(b"\x00\x00\x00\x01\x00rest") == 256
    assert AvroDecoder.schema_id_of(frame(SCHEMA_ID, b"")) == SCHEMA_ID
    for value, words in [
        (b"\x01\x00\x00\x00\x01\x02", "magic byte"),
        (b'{"a": 1}', "magic byte"),
        (b"\x00\x00\x01", "too few"),
        (b"", "too few"),
    ]:
        with pytest.raises(LaminarError) as excinfo:
            AvroDecoder().decode(value, "long")
        assert sqlstate_of(excinfo) == "22P03"
        assert words in excinfo.value.message


def test_corrupt_bodies_are_22p03() -> None:
    schema = registered({"name": "s", "type": "string"}, {"name": "n", "type": "long"})
    decoder = AvroDecoder(columns_for(schema))
    for body in [b"", b"\x08ab", b"\x02\xff", b"\x00\x02\x99"]:
        with pytest.raises(LaminarError) as excinfo:
            decoder.decode(frame(9, body), schema)
        assert sqlstate_of(excinfo) == "22P03"
        assert "schema id 9" in excinfo.value.message
    with pytest.raises(LaminarError) as invalid_utf8:
        decoder.decode(frame(9, b"\x02\xff\x02"), schema)
    assert sqlstate_of(invalid_utf8) == "22P03"


def test_columns_for_maps_avro_types_to_postgresql_types() -> None:
    schema = registered(
        {"name": "b", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": ["null", "long"]},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "s", "type": ["string", "null"]},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A"]}},
        {"name": "by", "type": "bytes"},
        {"name": "fx", "type": {"type": "fixed", "name": "F", "size": 3}},
        {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {
            "name": "fdec",
            "type": {"type": "fixed", "name": "G", "size": 8, "logicalType": "decimal", "precision": 18},
        },
        {"name": "huge", "type": {"type": "bytes", "logicalType": "decimal", "precision": 50, "scale": 2}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "tms", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "tus", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "tsm", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tsu", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "ltm", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {"name": "ltu", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
        {"name": "tsn", "type": {"type": "long", "logicalType": "timestamp-nanos"}},
        {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "arr", "type": {"type": "array", "items": ["null", "int"]}},
        {
            "name": "arr_ts",
            "type": {"type": "array", "items": {"type": "long", "logicalType": "timestamp-micros"}},
        },
        {"name": "arr2", "type": {"type": "array", "items": {"type": "array", "items": "int"}}},
        {"name": "rec", "type": {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}},
        {"name": "m", "type": {"type": "map", "values": "long"}},
        {"name": "multi", "type": ["null", "long", "string"]},
        {"name": "nothing", "type": "null"},
        {"name": "again", "type": "E"},
    )
    columns = columns_for(schema)
    assert columns == [
        ("b", "boolean"),
        ("i", "integer"),
        ("l", "bigint"),
        ("f", "real"),
        ("d", "double precision"),
        ("s", "text"),
        ("e", "text"),
        ("by", "bytea"),
        ("fx", "bytea"),
        ("dec", "numeric(10,2)"),
        ("fdec", "numeric(18,0)"),
        ("huge", "text"),
        ("day", "date"),
        ("tms", "time"),
        ("tus", "time"),
        ("tsm", "timestamptz"),
        ("tsu", "timestamptz"),
        ("ltm", "timestamp"),
        ("ltu", "timestamp"),
        ("tsn", "bigint"),
        ("u", "uuid"),
        ("arr", "integer[]"),
        ("arr_ts", "timestamptz[]"),
        ("arr2", "jsonb"),
        ("rec", "jsonb"),
        ("m", "jsonb"),
        ("multi", "jsonb"),
        ("nothing", "text"),
        ("again", "text"),
    ]
    for name, type_sql in columns:  # a source can declare every one of them
        declared_column(ColumnDef(name, type_sql))
    assert columns_for("string") == [("value", "text")]
    assert columns_for({"type": "array", "items": "long"}) == [("value", "bigint[]")]


def test_rows_round_trip_through_encoder_and_decoder() -> None:
    columns, typmods, rows = duckdb_rows(EVERY_TYPE_SQL)
    schema = avro_schema_for(columns, name="r", typmods=typmods)
    messages = AvroEncoder(columns, schema, SCHEMA_ID).encode_many([*rows, (None,) * len(columns)])
    decoder = AvroDecoder(columns_for(schema))
    assert [name for name, _ in decoder.columns] == [name for name, _ in columns]
    decoded = [decoder.decode_row(message, schema) for message in messages]
    assert decoded[1] == (None,) * len(columns)
    expected = dict(zip([name for name, _ in columns], rows[0], strict=True))
    got = dict(zip([name for name, _ in columns], decoded[0], strict=True))
    assert got == {
        **expected,
        "f4": struct.unpack("<f", struct.pack("<f", 0.1))[0],
        "tstz": dt.datetime(2024, 2, 29, 10, 34, 56, 789000, tzinfo=dt.UTC),
        "iv": "P32DT3.5S",
        "stamps": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)],
        "m": '{"k":1}',
        "st": '{"x":1,"y":"z"}',
        "nested": ["{1,2}", "{3}"],
        "ttz": "12:00:00+02:00",
    }
    assert isinstance(got["i2"], int)
    assert isinstance(got["num"], Decimal)


def test_decoding_logical_types_from_another_producer() -> None:
    schema = registered(
        {
            "name": "dec",
            "type": {
                "type": "fixed",
                "name": "P",
                "size": 8,
                "logicalType": "decimal",
                "precision": 12,
                "scale": 3,
            },
        },
        {"name": "tsm", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "ltm", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {"name": "tms", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
        {
            "name": "rec",
            "type": {
                "type": "record",
                "name": "R",
                "fields": [
                    {"name": "a", "type": "bytes"},
                    {
                        "name": "b",
                        "type": {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2},
                    },
                ],
            },
        },
        {"name": "m", "type": {"type": "map", "values": {"type": "long", "logicalType": "timestamp-micros"}}},
        {"name": "multi", "type": ["null", "long", "string"]},
        {"name": "arr2", "type": {"type": "array", "items": {"type": "array", "items": "int"}}},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
    )
    record = {
        "dec": Decimal("-1.250"),
        "tsm": dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC),
        "ltm": dt.datetime(2024, 5, 1, 12, 0, 0, 123000),
        "tms": dt.time(13, 14, 15, 16000),
        "u": uuid.UUID("16a5bf80-6338-45c4-910a-978371f27e46"),
        "rec": {"a": b"\x00\xff", "b": Decimal("1.50")},
        "m": {"k": dt.datetime(2024, 1, 1, tzinfo=UTC)},
        "multi": "words",
        "arr2": [[1], []],
        "e": "B",
    }
    decoder = AvroDecoder(columns_for(schema))
    row = decoder.decode_row(fastavro_message(schema, 3, record), schema)
    assert row == (
        Decimal("-1.250"),
        dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC),
        dt.datetime(2024, 5, 1, 12, 0, 0, 123000),
        dt.time(13, 14, 15, 16000),
        uuid.UUID("16a5bf80-6338-45c4-910a-978371f27e46"),
        '{"a":"AP8=","b":1.50}',
        '{"k":"2024-01-01T00:00:00+00:00"}',
        '"words"',
        "[[1],[]]",
        "B",
    )
    for name, type_sql in decoder.columns:
        declared_column(ColumnDef(name, type_sql))


V1 = registered({"name": "id", "type": "int"}, {"name": "name", "type": "string"}, name="User")
V2 = registered(
    {"name": "id", "type": "long"},
    {"name": "name", "type": ["null", "string"], "default": None},
    {"name": "email", "type": ["null", "string"], "default": None},
    {
        "name": "score",
        "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2},
        "default": "\u0000",
    },
    name="User",
)
V3 = registered(
    {"name": "email", "type": "string"},
    {"name": "id", "type": "long"},
    {"name": "score", "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 1}},
    {"name": "extra", "type": "boolean"},
    name="User",
)


def test_schema_evolution_decodes_each_message_by_its_writer_schema() -> None:
    decoder = AvroDecoder(columns_for(V2))
    assert decoder.columns == (
        ("id", "bigint"),
        ("name", "text"),
        ("email", "text"),
        ("score", "numeric(6,2)"),
    )
    by_id = {1: V1, 2: V2, 3: V3}
    messages = [
        fastavro_message(V1, 1, {"id": 1, "name": "ann"}),
        fastavro_message(V2, 2, {"id": 2**40, "name": None, "email": "bo@x", "score": Decimal("12.34")}),
        fastavro_message(V3, 3, {"email": "cy@x", "id": 3, "score": Decimal("-5.5"), "extra": True}),
        fastavro_message(V1, 1, {"id": -4, "name": "dee"}),
    ]
    rows = [decoder.decode_row(message, by_id[schema_id_of(message)]) for message in messages]
    assert rows == [
        (1, "ann", None, None),  # fields v1 lacks are NULL
        (2**40, None, "bo@x", Decimal("12.34")),
        (3, None, "cy@x", Decimal("-5.50")),  # v3's name is gone; its decimal is rescaled
        (-4, "dee", None, None),
    ]
    # The records themselves, before mapping, are each writer's own
    assert decoder.decode(messages[2], V3) == {
        "email": "cy@x",
        "id": 3,
        "score": Decimal("-5.5"),
        "extra": True,
    }


def test_a_schema_id_reused_with_another_schema_is_parsed_again() -> None:
    decoder = AvroDecoder([("id", "bigint"), ("name", "text")])
    assert decoder.decode_row(fastavro_message(V1, 1, {"id": 1, "name": "a"}), V1) == (1, "a")
    assert decoder.decode_row(
        fastavro_message(V3, 1, {"email": "e", "id": 2, "score": Decimal(0), "extra": False}), V3
    ) == (2, None)


def test_decoder_coercions_and_their_errors() -> None:
    schema = registered(
        {"name": "n", "type": "long"},
        {"name": "s", "type": "string"},
        {"name": "x", "type": "string"},
        {"name": "t", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "l", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
    )
    moment = dt.datetime(2024, 5, 1, 12, tzinfo=UTC)
    message = fastavro_message(
        schema, 4, {"n": 2**40, "s": "abc", "x": "12", "t": moment, "l": moment.replace(tzinfo=None)}
    )
    coercing = AvroDecoder(
        [("n", "double precision"), ("s", "bytea"), ("t", "timestamp"), ("l", "timestamptz"), ("x", "text")]
    )
    assert coercing.decode_row(message, schema) == (
        float(2**40),
        b"abc",
        dt.datetime(2024, 5, 1, 12),
        dt.datetime(2024, 5, 1, 12, tzinfo=UTC),
        "12",
    )
    for columns, sqlstate, words in [
        ([("n", "integer")], "22003", "out of range for type integer"),
        ([("s", "bigint")], "22000", 'column "s" is bigint but the record holds a str'),
        ([("x", "uuid")], "22P02", "uuid"),
        ([("t", "date")], "22000", 'column "t" is date'),
    ]:
        with pytest.raises(LaminarError) as excinfo:
            AvroDecoder(columns).decode_row(message, schema)
        assert sqlstate_of(excinfo) == sqlstate
        assert words in excinfo.value.message
        assert excinfo.value.detail == "The message was written with schema id 4."
    with pytest.raises(LaminarError) as unsupported:
        AvroDecoder([("a", "interval")])
    assert sqlstate_of(unsupported) == "0A000"


def test_tombstones_and_non_record_schemas() -> None:
    decoder = AvroDecoder(columns_for("string"))
    assert decoder.decode_row(None, None) == (None,)
    message = fastavro_message("string", 8, "just text")
    assert decoder.decode(message, "string") == {"value": "just text"}
    assert decoder.decode_row(message, "string") == ("just text",)
    with pytest.raises(LaminarError) as excinfo:
        decoder.decode(message + b"\x00", "string")
    assert sqlstate_of(excinfo) == "22P03"
    assert "1 bytes after" in excinfo.value.message


def test_an_output_without_columns_writes_the_defaults() -> None:
    schema = registered(
        {"name": "v", "type": "int", "default": 1}, {"name": "s", "type": ["null", "string"], "default": None}
    )
    assert check_fits([], schema) == []
    message = AvroEncoder([], schema, SCHEMA_ID).encode(())
    assert read_back(message, schema) == {"v": 1, "s": None}
    only_routing = AvroEncoder([("_kafka_key", t.BYTEA)], schema, SCHEMA_ID, exclude={"_kafka_key"})
    assert read_back(only_routing.encode((b"k",)), schema) == {"v": 1, "s": None}


def test_a_row_shorter_than_the_columns_is_a_data_exception() -> None:
    columns = [("a", t.INT8), ("b", t.INT8)]
    encoder = AvroEncoder(columns, avro_schema_for(columns, name="r"), SCHEMA_ID)
    with pytest.raises(LaminarError) as excinfo:
        encoder.encode((1,))
    assert sqlstate_of(excinfo) == "22000"
    assert "1 values" in excinfo.value.message


def test_registry_schema_strings_are_json() -> None:
    assert check_fits([("k", t.TEXT)], '"string"') == []
    assert columns_for('{"type": "record", "name": "r", "fields": [{"name": "a", "type": "int"}]}') == [
        ("a", "integer")
    ]
    assert check_fits([("k", t.TEXT)], "{not json")[0].startswith("the schema is not valid Avro: not JSON")


def test_bytes_are_identical_to_fastavro_schemaless_writer_for_random_rows() -> None:
    rng = random.Random(6)
    columns = [
        ("l", t.INT8),
        ("i", t.INT4),
        ("f", t.FLOAT8),
        ("s", t.TEXT),
        ("b", t.BYTEA),
        ("ok", t.BOOL),
        ("d", t.DATE),
        ("tm", t.TIME),
        ("ts", t.TIMESTAMP),
        ("tz", t.TIMESTAMPTZ),
        ("n", t.NUMERIC),
        ("u", t.UUID),
        ("a", t.INT8_ARRAY),
    ]
    schema = avro_schema_for(columns, name="r", typmods={"n": ((20 << 16) | 4) + 4})

    def sometimes(value: object) -> object:
        return None if rng.random() < 0.1 else value

    def long_value() -> int:
        bits = rng.randrange(0, 64)
        return rng.randrange(-(2**bits), 2**bits) if bits < 63 else rng.choice([2**63 - 1, -(2**63)])

    rows = []
    for _ in range(3000):
        micros = rng.randrange(-(2**50), 2**52)
        moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=micros)
        rows.append(
            tuple(
                sometimes(value)
                for value in (
                    long_value(),
                    rng.randrange(-(2**31), 2**31),
                    rng.uniform(-1e300, 1e300),
                    "".join(chr(rng.randrange(32, 0x3000)) for _ in range(rng.randrange(0, 300))),
                    rng.randbytes(rng.randrange(0, 20000)),
                    rng.random() < 0.5,
                    dt.date.fromordinal(rng.randrange(1, 3652059)),
                    (dt.datetime.min + dt.timedelta(microseconds=rng.randrange(0, 86400 * 10**6))).time(),
                    moment,
                    moment.replace(tzinfo=ZoneInfo("UTC")),
                    Decimal(rng.randrange(-(10**20) + 1, 10**20)).scaleb(-4),
                    uuid.UUID(int=rng.getrandbits(128)),
                    [sometimes(long_value()) for _ in range(rng.randrange(0, 70))],
                )
            )
        )
    parsed = fastavro.parse_schema(schema)
    names = [name for name, _ in columns]
    messages = AvroEncoder(columns, schema, SCHEMA_ID).encode_many(rows)
    for row, message in zip(rows, messages, strict=True):
        expected = io.BytesIO()
        fastavro.schemaless_writer(expected, parsed, dict(zip(names, row, strict=True)))
        assert unframe(message) == expected.getvalue(), row
