"""gateway.protocol.types without a server: registry facts, round trips, PostgreSQL's known bytes and
text, what input parsing accepts and rejects (with SQLSTATEs), and the mapping of real DuckDB results.

Expected bytes and strings below were taken from PostgreSQL (`SELECT x::text`, `SELECT typsend(x)`);
tests/integration/test_types_vs_postgres.py re-checks a wider table against a live server.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal

import duckdb
import pytest

from gateway.protocol import types as t
from gateway.protocol.datetime_codec import Interval, parse_interval
from gateway.protocol.types import TypeCodecError

UTC = dt.UTC
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
PST = dt.timezone(dt.timedelta(hours=-8))
SAMPLE_UUID = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")


def same(left: object, right: object) -> bool:
    """Equality that treats NaN as equal to NaN, tells -0.0 from 0.0 and descends into lists."""
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float) and isinstance(right, float):
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    if isinstance(left, Decimal) and isinstance(right, Decimal) and (left.is_nan() or right.is_nan()):
        return left.is_nan() and right.is_nan()
    return type(left) is type(right) and left == right


ROUND_TRIPS: list[tuple[int, object]] = [
    (t.BOOL, True),
    (t.BOOL, False),
    (t.BYTEA, b""),
    (t.BYTEA, bytes(range(256))),
    (t.CHAR, "a"),
    (t.NAME, "pg_catalog"),
    (t.INT2, -32768),
    (t.INT2, 32767),
    (t.INT4, -(2**31)),
    (t.INT4, 2**31 - 1),
    (t.INT8, -(2**63)),
    (t.INT8, 2**63 - 1),
    (t.TEXT, ""),
    (t.TEXT, 'h\u00e9llo "w\u00f6rld"\n\t\\ NULL'),
    (t.OID, 0),
    (t.OID, 4294967295),
    (t.JSON, '{"a": [1, 2.50, null], "a": "dup"}'),
    (t.FLOAT4, 1.5),
    (t.FLOAT4, 0.10000000149011612),
    (t.FLOAT4, 3.4028234663852886e38),
    (t.FLOAT4, 1.401298464324817e-45),
    (t.FLOAT4, -0.0),
    (t.FLOAT4, math.nan),
    (t.FLOAT4, -math.inf),
    (t.FLOAT8, 0.1),
    (t.FLOAT8, 1e20),
    (t.FLOAT8, 5e-324),
    (t.FLOAT8, 1.7976931348623157e308),
    (t.FLOAT8, 123456789012345.6),
    (t.FLOAT8, -0.0),
    (t.FLOAT8, math.nan),
    (t.FLOAT8, math.inf),
    (t.UNKNOWN, "untyped"),
    (t.BPCHAR, "ab  "),
    (t.VARCHAR, "v"),
    (t.DATE, dt.date(2020, 2, 29)),
    (t.DATE, dt.date(1, 1, 2)),
    (t.DATE, dt.date.max),
    (t.DATE, dt.date.min),
    (t.TIME, dt.time(0)),
    (t.TIME, dt.time(23, 59, 59, 999999)),
    (t.TIMETZ, dt.time(1, 2, 3, 500000, tzinfo=IST)),
    (t.TIMETZ, dt.time(23, 59, 59, tzinfo=PST)),
    (t.TIMESTAMP, dt.datetime(2000, 1, 1)),
    (t.TIMESTAMP, dt.datetime(1999, 12, 31, 23, 59, 59, 999999)),
    (t.TIMESTAMP, dt.datetime(1, 1, 1, 0, 0, 1)),
    (t.TIMESTAMP, dt.datetime.max),
    (t.TIMESTAMPTZ, dt.datetime(2020, 1, 1, 1, 2, 3, 4, tzinfo=UTC)),
    (t.TIMESTAMPTZ, dt.datetime(1960, 6, 1, 12, tzinfo=UTC)),
    (t.TIMESTAMPTZ, dt.datetime.min.replace(tzinfo=UTC)),
    (t.INTERVAL, dt.timedelta(0)),
    (t.INTERVAL, dt.timedelta(days=1, hours=2, minutes=3, seconds=4)),
    (t.INTERVAL, dt.timedelta(seconds=-1)),
    (t.INTERVAL, dt.timedelta(days=-10000, microseconds=5)),
    (t.BIT, "101"),
    (t.VARBIT, "0" * 17),
    (t.VARBIT, ""),
    (t.NUMERIC, Decimal("0")),
    (t.NUMERIC, Decimal("0.00")),
    (t.NUMERIC, Decimal("-1.50")),
    (t.NUMERIC, Decimal("12345678901234567890.123456789")),
    (t.NUMERIC, Decimal("0.00000000000000000001")),
    (t.NUMERIC, Decimal("99999999.99990000")),
    (t.NUMERIC, Decimal("NaN")),
    (t.NUMERIC, Decimal("Infinity")),
    (t.NUMERIC, Decimal("-Infinity")),
    (t.UUID, SAMPLE_UUID),
    (t.JSONB, '{"a": 1, "b": [true, null, "x\\u0001"], "aa": {}}'),
    (t.BOOL_ARRAY, [True, None, False]),
    (t.BYTEA_ARRAY, [b"\x01\x02", None, b""]),
    (t.CHAR_ARRAY, ["a", "{"]),
    (t.NAME_ARRAY, ["a", "b c"]),
    (t.INT2_ARRAY, [1, -2]),
    (t.INT4_ARRAY, [1, None, 3]),
    (t.INT4_ARRAY, []),
    (t.INT4_ARRAY, [[1, 2], [3, None]]),
    (t.INT8_ARRAY, [[[2**62]]]),
    (t.TEXT_ARRAY, ["a b", 'c"d', None, "", "NULL", "x\\y", "\u00e9", "{", " ", "a,b"]),
    (t.BPCHAR_ARRAY, ["x "]),
    (t.VARCHAR_ARRAY, ["v", None]),
    (t.OID_ARRAY, [26, 4294967295]),
    (t.JSON_ARRAY, ['{"a": 1}', "[1,2]", '"s"']),
    (t.JSONB_ARRAY, ['{"a": [1, 2]}', "null"]),
    (t.FLOAT4_ARRAY, [1.5, math.inf, None]),
    (t.FLOAT8_ARRAY, [0.1, math.nan, -0.0]),
    (t.NUMERIC_ARRAY, [Decimal("1.5"), Decimal("NaN"), None]),
    (t.DATE_ARRAY, [dt.date(2020, 1, 1), dt.date.max]),
    (t.TIME_ARRAY, [dt.time(1, 2, 3)]),
    (t.TIMETZ_ARRAY, [dt.time(1, 2, 3, tzinfo=UTC)]),
    (t.TIMESTAMP_ARRAY, [dt.datetime(2020, 1, 1, 1, 2, 3), None]),
    (t.TIMESTAMPTZ_ARRAY, [dt.datetime(2020, 1, 1, tzinfo=UTC)]),
    (t.INTERVAL_ARRAY, [dt.timedelta(hours=-22), dt.timedelta(days=3)]),
    (t.UUID_ARRAY, [SAMPLE_UUID, None]),
    (t.BIT_ARRAY, ["1"]),
    (t.VARBIT_ARRAY, ["10", ""]),
]


@pytest.mark.parametrize(("oid", "value"), ROUND_TRIPS, ids=lambda v: repr(v)[:40])
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_encode_then_decode_returns_the_value(oid: int, value: object, binary: bool) -> None:
    encoded = t.encode_binary(oid, value) if binary else t.encode_text(oid, value)
    decoded = t.decode_binary(oid, encoded) if binary else t.decode_text(oid, encoded)
    assert same(decoded, value), (encoded, decoded)


def test_every_registered_type_has_round_trip_cases() -> None:
    covered = {oid for oid, _ in ROUND_TRIPS}
    assert set(t.TYPES_BY_OID) - covered == {t.VOID}


def test_registry_describes_types_like_pg_type() -> None:
    assert t.TYPES_BY_OID[t.INT4] == t.PgType(23, "int4", 4, 1007, 0, "N")
    assert t.TYPES_BY_OID[t.TEXT_ARRAY] == t.PgType(1009, "_text", -1, 0, 25, "A")
    assert t.TYPES_BY_NAME["timestamptz"].oid == 1184
    assert t.TYPES_BY_NAME["_jsonb"].elem_oid == t.JSONB
    required = {16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 700, 701, 705, 1042, 1043, 1082, 1083, 1114, 1184}
    required |= {1186, 1700, 2950, 3802, 2278, 1000, 1005, 1007, 1016, 1009, 1015, 1021, 1022, 1231, 1001}
    required |= {1182, 1183, 1115, 1185, 1187, 2951, 199, 3807, 1028, 1003, 1014, 1002}
    assert required <= set(t.TYPES_BY_OID)
    for pg_type in t.TYPES_BY_OID.values():
        assert t.TYPES_BY_NAME[pg_type.name] is pg_type
        if pg_type.elem_oid:
            assert t.TYPES_BY_OID[pg_type.elem_oid].array_oid == pg_type.oid
        assert t.supports_binary(pg_type.oid)
    with pytest.raises(TypeError):
        t.TYPES_BY_OID[99999] = t.TYPES_BY_OID[t.INT4]  # type: ignore[index]


# --- known output (taken from PostgreSQL) ------------------------------------------------------

KNOWN_TEXT: list[tuple[int, object, bytes | None]] = [
    (t.BOOL, True, b"t"),
    (t.BOOL, False, b"f"),
    (t.BYTEA, b"\x01\x02\xff", b"\\x0102ff"),
    (t.FLOAT8, 1.5, b"1.5"),
    (t.FLOAT8, 1e20, b"1e+20"),
    (t.FLOAT8, 1e15, b"1e+15"),
    (t.FLOAT8, 1e14, b"100000000000000"),
    (t.FLOAT8, 1234567890123456.0, b"1.234567890123456e+15"),
    (t.FLOAT8, 0.0001, b"0.0001"),
    (t.FLOAT8, 0.00001, b"1e-05"),
    (t.FLOAT8, 1.5e-7, b"1.5e-07"),
    (t.FLOAT8, 2.5e-310, b"2.5e-310"),
    (t.FLOAT8, 0.1 + 0.2, b"0.30000000000000004"),
    (t.FLOAT8, -0.0, b"-0"),
    (t.FLOAT8, math.inf, b"Infinity"),
    (t.FLOAT8, -math.inf, b"-Infinity"),
    (t.FLOAT8, math.nan, b"NaN"),
    (t.FLOAT4, 1e5, b"100000"),
    (t.FLOAT4, 1e6, b"1e+06"),
    (t.FLOAT4, 1234567.0, b"1.234567e+06"),
    (t.FLOAT4, 16777217.0, b"1.6777216e+07"),
    (t.FLOAT4, 1.100000023841858, b"1.1"),
    (t.FLOAT4, 3.4e38, b"3.4e+38"),
    (t.FLOAT4, 1e-45, b"1e-45"),
    (t.NUMERIC, Decimal("1E+2"), b"100"),
    (t.NUMERIC, Decimal("-0.00"), b"0.00"),
    (t.NUMERIC, Decimal("-Infinity"), b"-Infinity"),
    (t.NUMERIC, 2**70, b"1180591620717411303424"),
    (t.DATE, dt.date(99, 1, 1), b"0099-01-01"),
    (t.DATE, dt.date.max, b"infinity"),
    (t.TIME, dt.time(1, 2, 3, 500000), b"01:02:03.5"),
    (t.TIMETZ, dt.time(1, 2, 3, tzinfo=IST), b"01:02:03+05:30"),
    (t.TIMETZ, dt.time(1, 2, 3, 500000, tzinfo=dt.timezone(dt.timedelta(hours=-2))), b"01:02:03.5-02"),
    (t.TIMESTAMP, dt.datetime(2020, 1, 1, 1, 2, 3, 120000), b"2020-01-01 01:02:03.12"),
    (t.TIMESTAMPTZ, dt.datetime(2020, 1, 1, 1, 2, 3, 500000, tzinfo=UTC), b"2020-01-01 01:02:03.5+00"),
    (t.TIMESTAMPTZ, dt.datetime(2020, 1, 1, 1, 2, 3, 500000, tzinfo=IST), b"2020-01-01 01:02:03.5+05:30"),
    (
        t.TIMESTAMPTZ,
        dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(seconds=-561))),
        b"2020-01-01 00:00:00-00:09:21",
    ),
    (t.TIMESTAMPTZ, dt.datetime(2020, 1, 1), b"2020-01-01 00:00:00+00"),
    (t.TIMESTAMPTZ, dt.datetime.max, b"infinity"),
    (t.INTERVAL, dt.timedelta(days=1, hours=2, minutes=3, seconds=4), b"1 day 02:03:04"),
    (t.INTERVAL, dt.timedelta(seconds=-1), b"-00:00:01"),
    (t.INTERVAL, dt.timedelta(0), b"00:00:00"),
    (t.INTERVAL, dt.timedelta(hours=100), b"4 days 04:00:00"),
    (t.INTERVAL, Interval(3, 0, 0), b"3 mons"),
    (t.INTERVAL, Interval(14, 3, 14_706_500_000), b"1 year 2 mons 3 days 04:05:06.5"),
    (t.INTERVAL, Interval(0, -1, 7_200_000_000), b"-1 days +02:00:00"),
    (t.INTERVAL, Interval(0, 1, -1_000_000), b"1 day -00:00:01"),
    (t.INTERVAL, Interval(-14, 0, 0), b"-1 years -2 mons"),
    (t.INTERVAL, Interval(-3, 2, 0), b"-3 mons +2 days"),
    (t.INTERVAL, Interval(0, 0, 360_000_000_000), b"100:00:00"),
    (t.UUID, SAMPLE_UUID, b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    (t.JSON, {"a": [1, None]}, b'{"a":[1,null]}'),
    (t.JSON, ' {"b":1,  "a":2} ', b' {"b":1,  "a":2} '),
    (
        t.JSONB,
        '{"b": 1, "a": [1, 2.50, 1e2, -0, 1E-3, 0.0], '
        '"aa": {"x": "y\\u0001\\n\\"\u00e9\\/"}, "\u00e9": null}',
        (
            '{"a": [1, 2.50, 100, 0, 0.001, 0.0], "b": 1, '
            '"aa": {"x": "y\\u0001\\n\\"\u00e9/"}, "\u00e9": null}'
        ).encode(),
    ),
    (t.JSONB, {"k": Decimal("1.50"), "j": 2.5, "i": True}, b'{"i": true, "j": 2.5, "k": 1.50}'),
    (t.CHAR, b"\x80", b"\\200"),
    (t.VARBIT, "101", b"101"),
    (t.INT4_ARRAY, [1, 2, None], b"{1,2,NULL}"),
    (t.INT4_ARRAY, [[1, 2], [3, 4]], b"{{1,2},{3,4}}"),
    (t.INT4_ARRAY, (1, 2), b"{1,2}"),
    (t.INT4_ARRAY, [], b"{}"),
    (t.TEXT_ARRAY, ["a b", 'c"d', None, "", "NULL", "null", "x\\y", "{", " ", "\u00e9", "a,b"], None),
    (t.BYTEA_ARRAY, [b"\x01\x02"], b'{"\\\\x0102"}'),
    (t.FLOAT8_ARRAY, [1.5, math.nan], b"{1.5,NaN}"),
    (t.TIMESTAMP_ARRAY, [dt.datetime(2020, 1, 1, 1, 2, 3)], b'{"2020-01-01 01:02:03"}'),
    (t.TEXT_ARRAY, [[1], [2, 3]], b'{"{1}","{2,3}"}'),
    (t.TEXT, {"a": 1}, b'{"a":1}'),
    (t.TEXT, True, b"true"),
    (t.TEXT, dt.timedelta(days=2), b"2 days"),
    (99999, "anything", b"anything"),
    (99999, 1.5, b"1.5"),
]


@pytest.mark.parametrize(("oid", "value", "expected"), KNOWN_TEXT, ids=lambda v: repr(v)[:40])
def test_text_output_matches_postgresql(oid: int, value: object, expected: bytes | None) -> None:
    if expected is None:  # the quoting table printed by PostgreSQL for ARRAY[...]::text[]
        expected = '{"a b","c\\"d",NULL,"","NULL","null","x\\\\y","{"," ",\u00e9,"a,b"}'.encode()
    assert t.encode_text(oid, value) == expected


KNOWN_BINARY: list[tuple[int, object, bytes]] = [
    (t.BOOL, True, b"\x01"),
    (t.INT2, -2, b"\xff\xfe"),
    (t.INT4, 42, b"\x00\x00\x00*"),
    (t.INT8, 1, b"\x00" * 7 + b"\x01"),
    (t.OID, 4294967295, b"\xff\xff\xff\xff"),
    (t.FLOAT4, 1.5, b"?\xc0\x00\x00"),
    (t.FLOAT8, -2.0, b"\xc0\x00\x00\x00\x00\x00\x00\x00"),
    (t.NUMERIC, Decimal("1.5"), b"\x00\x02\x00\x00\x00\x00\x00\x01\x00\x01\x13\x88"),
    (t.NUMERIC, Decimal("0.00"), b"\x00\x00\x00\x00\x00\x00\x00\x02"),
    (t.NUMERIC, Decimal("-12345.678"), b"\x00\x03\x00\x01\x40\x00\x00\x03\x00\x01\x09\x29\x1a\x7c"),
    (t.NUMERIC, Decimal("10000"), b"\x00\x01\x00\x01\x00\x00\x00\x00\x00\x01"),
    (t.NUMERIC, Decimal("0.0001"), b"\x00\x01\xff\xff\x00\x00\x00\x04\x00\x01"),
    (t.NUMERIC, Decimal("1e-20"), b"\x00\x01\xff\xfb\x00\x00\x00\x14\x00\x01"),
    (t.NUMERIC, Decimal("NaN"), b"\x00\x00\x00\x00\xc0\x00\x00\x00"),
    (t.NUMERIC, Decimal("Infinity"), b"\x00\x00\x00\x00\xd0\x00\x00\x20"),
    (t.NUMERIC, Decimal("-Infinity"), b"\x00\x00\x00\x00\xf0\x00\x00\x20"),
    (t.DATE, dt.date(2000, 1, 2), b"\x00\x00\x00\x01"),
    (t.DATE, dt.date.max, b"\x7f\xff\xff\xff"),
    (t.DATE, dt.date.min, b"\x80\x00\x00\x00"),
    (t.TIME, dt.time(0, 0, 1), b"\x00\x00\x00\x00\x00\x0f\x42\x40"),
    (t.TIMETZ, dt.time(1, 2, 3, tzinfo=IST), b"\x00\x00\x00\x00\xdd\xe8\x78\xc0\xff\xff\xb2\xa8"),
    (t.TIMESTAMP, dt.datetime(2000, 1, 1, 0, 0, 1), b"\x00\x00\x00\x00\x00\x0f\x42\x40"),
    (t.TIMESTAMP, dt.datetime.min, b"\x80" + b"\x00" * 7),
    (t.TIMESTAMPTZ, dt.datetime(2000, 1, 1, 5, 30, 1, tzinfo=IST), b"\x00\x00\x00\x00\x00\x0f\x42\x40"),
    (
        t.INTERVAL,
        Interval(14, 3, 14_706_500_000),
        b"\x00\x00\x00\x03\x6c\x93\x61\xa0\x00\x00\x00\x03\x00\x00\x00\x0e",
    ),
    (t.UUID, SAMPLE_UUID, SAMPLE_UUID.bytes),
    (t.JSON, '{"a":1}', b'{"a":1}'),
    (t.JSONB, '{"a":1}', b'\x01{"a": 1}'),
    (t.VARBIT, "101", b"\x00\x00\x00\x03\xa0"),
    (t.TEXT, "\u00e9", b"\xc3\xa9"),
    (
        t.INT4_ARRAY,
        [1, None],
        b"\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x17\x00\x00\x00\x02\x00\x00\x00\x01"
        b"\x00\x00\x00\x04\x00\x00\x00\x01\xff\xff\xff\xff",
    ),
    (t.INT4_ARRAY, [], b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17"),
]


@pytest.mark.parametrize(("oid", "value", "expected"), KNOWN_BINARY, ids=lambda v: repr(v)[:40])
def test_binary_output_matches_postgresql(oid: int, value: object, expected: bytes) -> None:
    assert t.encode_binary(oid, value) == expected


def test_monthdaynano_from_duckdb_arrow_keeps_months() -> None:
    relation = duckdb.sql("SELECT INTERVAL '1 year 2 months 3 days 04:05:06.5' AS i")
    assert relation is not None
    table = relation.arrow().read_all()
    value = table.column(0)[0].as_py()
    assert t.encode_text(t.INTERVAL, value) == b"1 year 2 mons 3 days 04:05:06.5"
    assert t.encode_binary(t.INTERVAL, value) == t.encode_binary(t.INTERVAL, Interval(14, 3, 14_706_500_000))


# --- input that drivers send ------------------------------------------------------------------

ACCEPTED_TEXT: list[tuple[int, bytes, object]] = [
    *((t.BOOL, word, True) for word in (b"t", b"true", b"TRUE", b" yes ", b"y", b"on", b"1", b"tr")),
    *((t.BOOL, word, False) for word in (b"f", b"false", b"no", b"n", b"off", b"of", b"0", b"FALSE ")),
    (t.INT4, b" -12 ", -12),
    (t.INT4, b"1_000", 1000),  # PostgreSQL 16 accepts underscores and non-decimal literals
    (t.INT4, b"-0x1F", -31),
    (t.INT8, b"0b101", 5),
    (t.INT2, b"012", 12),
    (t.INT8, b"+9223372036854775807", 2**63 - 1),
    (t.OID, b"-1", 4294967295),
    (t.FLOAT8, b"  -Infinity", -math.inf),
    (t.FLOAT8, b"inf", math.inf),
    (t.FLOAT8, b"1e-3", 0.001),
    (t.FLOAT4, b"0.1", 0.10000000149011612),
    (t.NUMERIC, b"NaN", Decimal("NaN")),
    (t.NUMERIC, b" 1.50 ", Decimal("1.50")),
    (t.NUMERIC, b"-inf", Decimal("-Infinity")),
    (t.NUMERIC, b"1e3", Decimal("1E+3")),
    (t.BYTEA, b"\\x 01 0A ff", b"\x01\x0a\xff"),
    (t.BYTEA, b"a\\\\b\\101\\000", b"a\\bA\x00"),
    (t.UUID, b"{A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11}", SAMPLE_UUID),
    (t.UUID, b"a0eebc999c0b4ef8bb6d6bb9bd380a11", SAMPLE_UUID),
    (t.DATE, b"2020-01-05", dt.date(2020, 1, 5)),
    (t.DATE, b"2020-1-5 +02:00", dt.date(2020, 1, 5)),  # pgjdbc appends the zone
    (t.DATE, b"infinity", dt.date.max),
    (t.DATE, b"epoch", dt.date(1970, 1, 1)),
    (t.TIME, b"01:02", dt.time(1, 2)),
    (t.TIME, b"01:02:03.1234567", dt.time(1, 2, 3, 123457)),
    (t.TIME, b"01:02:03+02", dt.time(1, 2, 3)),
    (t.TIME, b"allballs", dt.time(0)),
    (t.TIMETZ, b"01:02:03-08", dt.time(1, 2, 3, tzinfo=PST)),
    (t.TIMETZ, b"01:02:03", dt.time(1, 2, 3, tzinfo=UTC)),
    (t.TIMESTAMP, b"2020-01-01T01:02:03", dt.datetime(2020, 1, 1, 1, 2, 3)),
    (t.TIMESTAMP, b"2020-01-01 01:02:03.5+02", dt.datetime(2020, 1, 1, 1, 2, 3, 500000)),
    (t.TIMESTAMP, b"2020-01-01", dt.datetime(2020, 1, 1)),
    (t.TIMESTAMP, b"2020-01-01 24:00:00", dt.datetime(2020, 1, 2)),
    (t.TIMESTAMP, b"2020-01-01 23:59:60", dt.datetime(2020, 1, 2)),
    (t.TIMESTAMP, b"-infinity", dt.datetime.min),
    (t.TIMESTAMPTZ, b"2020-01-01 01:02:03+02", dt.datetime(2019, 12, 31, 23, 2, 3, tzinfo=UTC)),
    (t.TIMESTAMPTZ, b"2020-01-01T01:02:03.25Z", dt.datetime(2020, 1, 1, 1, 2, 3, 250000, tzinfo=UTC)),
    (t.TIMESTAMPTZ, b"2020-01-01 01:02:03 +05:30", dt.datetime(2019, 12, 31, 19, 32, 3, tzinfo=UTC)),
    (t.TIMESTAMPTZ, b"2020-01-01 01:02:03-0800", dt.datetime(2020, 1, 1, 9, 2, 3, tzinfo=UTC)),
    (t.TIMESTAMPTZ, b"2020-07-01 12:00 Europe/Paris", dt.datetime(2020, 7, 1, 10, tzinfo=UTC)),
    (t.TIMESTAMPTZ, b"2020-01-01 12:00:00", dt.datetime(2020, 1, 1, 12, tzinfo=UTC)),
    (t.INTERVAL, b"1 day 02:03:04", dt.timedelta(days=1, seconds=7384)),
    (t.INTERVAL, b"-1 day 23:59:59.500000", dt.timedelta(days=-1, seconds=86399, microseconds=500000)),
    (t.INTERVAL, b"+1 day +5 second +0 microsecond", dt.timedelta(days=1, seconds=5)),
    (t.INTERVAL, b"P1DT2H", dt.timedelta(days=1, hours=2)),
    (t.INTERVAL, b"PT0.5S", dt.timedelta(milliseconds=500)),
    (t.INTERVAL, b"3 mons", dt.timedelta(days=90)),
    (t.INTERVAL, b"5", dt.timedelta(seconds=5)),
    (t.JSON, b' {"a" : 1} ', ' {"a" : 1} '),
    (t.JSONB, b'{"a":1}', '{"a":1}'),
    (t.TEXT_ARRAY, b'{"a b",c\\"d,NULL,"",  x y  ,"NULL"}', ["a b", 'c"d', None, "", "x y", "NULL"]),
    (t.INT4_ARRAY, b"[0:1]={1,2}", [1, 2]),
    (t.INT4_ARRAY, b"{{1,2},{3,4}}", [[1, 2], [3, 4]]),
    (t.INT4_ARRAY, b"{ 1 , null }", [1, None]),
    (t.INT4_ARRAY, b"{}", []),
    (0, b"untyped parameter", "untyped parameter"),
    (99999, b"unknown oid", "unknown oid"),
]


@pytest.mark.parametrize(("oid", "data", "expected"), ACCEPTED_TEXT, ids=lambda v: repr(v)[:40])
def test_text_input_is_parsed_like_postgresql(oid: int, data: bytes, expected: object) -> None:
    assert same(t.decode_text(oid, data), expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 day 02:03:04", Interval(0, 1, 7_384_000_000)),
        ("1 02:03:04", Interval(0, 1, 7_384_000_000)),
        ("@ 1 day ago", Interval(0, -1, 0)),
        ("1-2", Interval(14, 0, 0)),
        ("1.5 years", Interval(18, 0, 0)),
        ("1.5 months", Interval(1, 15, 0)),
        ("1.5 weeks", Interval(0, 10, 43_200_000_000)),
        ("-1.5 days", Interval(0, -1, -43_200_000_000)),
        ("02:03.5", Interval(0, 0, 123_500_000)),
        ("1 day -1 year", Interval(-12, 1, 0)),
        ("2 decades 1 century", Interval(1440, 0, 0)),
        ("10 ms 5 us", Interval(0, 0, 10_005)),
        ("1 day, 2:03:04", Interval(0, 1, 7_384_000_000)),
        ("P1Y2M3DT4H5M6.5S", Interval(14, 3, 14_706_500_000)),
        ("P-1DT-2H", Interval(0, -1, -7_200_000_000)),
        ("P2W", Interval(0, 14, 0)),
    ],
)
def test_interval_text_parses_to_postgresql_fields(text: str, expected: Interval) -> None:
    assert parse_interval(text) == expected


REJECTED: list[tuple[int, bytes, bool, str]] = [
    (t.INT2, b"32768", False, "22003"),
    (t.INT4, b"12x", False, "22P02"),
    (t.INT4, b"", False, "22P02"),
    (t.INT4, b"\x00\x01", True, "22P03"),
    (t.BOOL, b"maybe", False, "22P02"),
    (t.FLOAT8, b"1e400", False, "22003"),
    (t.FLOAT4, b"1e39", False, "22003"),
    (t.NUMERIC, b"1.2.3", False, "22P02"),
    (t.NUMERIC, b"\x00\x01\x00\x00\x70\x00\x00\x00\x00\x01", True, "22P03"),
    (t.TEXT, b"\xff\xfe", False, "22021"),
    (t.BYTEA, b"\\xabc", False, "22023"),
    (t.BYTEA, b"a\\b", False, "22P02"),
    (t.UUID, b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", False, "22P02"),
    (t.JSON, b"{'a': 1}", False, "22P02"),
    (t.JSON, b"NaN", False, "22P02"),
    (t.JSONB, b"\x02{}", True, "22P03"),
    (t.DATE, b"2020-13-01", False, "22008"),
    (t.DATE, b"0044-03-15 BC", False, "22008"),
    (t.DATE, b"yesterday-ish", False, "22007"),
    (t.TIMESTAMP, b"2020-01-01 25:00:00", False, "22008"),
    (t.TIMESTAMPTZ, b"2020-01-01 00:00 Mars/Olympus", False, "22023"),
    (t.TIME, b"24:00:00", False, "22008"),
    (t.TIME, b"\x00\x00\x00\x14\x1d\xd7\x60\x00", True, "22008"),
    (t.INTERVAL, b"1 fortnight", False, "22007"),
    (t.INTERVAL, b"", False, "22007"),
    (t.INTERVAL, b"3000000000 days", False, "22015"),
    (t.INT4_ARRAY, b"{1,2", False, "22P02"),
    (t.INT4_ARRAY, b"{1,,2}", False, "22P02"),
    (t.INT4_ARRAY, b"1,2", False, "22P02"),
    (t.INT4_ARRAY, b"{1} x", False, "22P02"),
    (
        t.INT4_ARRAY,
        b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x14\x00\x00\x00\x00\x00\x00\x00\x01",
        True,
        "42804",
    ),
    (
        t.INT4_ARRAY,
        b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x17\x00\x00\x00\x01\x00\x00\x00\x01",
        True,
        "22P03",
    ),
    (99999, b"x", True, "0A000"),
]


@pytest.mark.parametrize(("oid", "data", "binary", "sqlstate"), REJECTED, ids=lambda v: repr(v)[:40])
def test_bad_input_raises_with_postgresql_sqlstate(
    oid: int, data: bytes, binary: bool, sqlstate: str
) -> None:
    with pytest.raises(TypeCodecError) as caught:
        t.decode_binary(oid, data) if binary else t.decode_text(oid, data)
    assert caught.value.sqlstate == sqlstate


@pytest.mark.parametrize(
    ("oid", "value", "sqlstate"),
    [
        (t.INT2, 40000, "22003"),
        (t.INT4, "four", "22P02"),
        (t.INT8, object(), "42804"),
        (t.INT4_ARRAY, [[1, 2], [3]], "2202E"),
        (t.INT4_ARRAY, 5, "42804"),
        (t.TEXT, object(), None),
    ],
)
def test_unencodable_values_raise_codec_errors(oid: int, value: object, sqlstate: str | None) -> None:
    if sqlstate is None:  # text accepts anything through render_text
        assert t.encode_text(oid, value).startswith(b"<object object at")
        return
    with pytest.raises(TypeCodecError) as caught:
        t.encode_binary(oid, value)
    assert caught.value.sqlstate == sqlstate
