"""gateway.protocol.types against the real thing: PostgreSQL at 127.0.0.1:5432 (database test, user postgres).

Each reference row is a SQL expression evaluated by PostgreSQL, fetched twice with psycopg loaders that
hand back the raw wire bytes (once in text format, once in binary). The encoder must produce exactly
those bytes for the Python value, the decoder must turn them back into the value, and the column OID
must be the one we announce. Further checks: our pg_type facts equal pg_catalog.pg_type, input text is
parsed into the same value PostgreSQL parses it into (compared through the binary send format),
rejected input carries PostgreSQL's SQLSTATE, and real DuckDB results encode to the same bytes as the
equivalent PostgreSQL expression. PostgreSQL being unreachable is a failure, not a skip.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import struct
import uuid
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal

import duckdb
import psycopg
import pytest
from psycopg.adapt import Loader
from psycopg.pq import Format

from gateway.protocol import types as t
from gateway.protocol.datetime_codec import Interval, parse_interval
from gateway.protocol.types import TypeCodecError

pytestmark = pytest.mark.integration

POSTGRES_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable connect_timeout=5"
SESSION_SETTINGS = (
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, MDY'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 1",
    "SET bytea_output = 'hex'",
)
UTC = dt.UTC
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
SAMPLE_UUID = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")


class _RawTextLoader(Loader):
    format = Format.TEXT

    def load(self, data: bytes | bytearray | memoryview) -> bytes:
        return bytes(data)


class _RawBinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data: bytes | bytearray | memoryview) -> bytes:
        return bytes(data)


def _connect() -> psycopg.Connection[tuple[object, ...]]:
    try:
        connection = psycopg.connect(POSTGRES_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"the reference PostgreSQL at 127.0.0.1:5432 is unreachable: {exc}")
    for setting in SESSION_SETTINGS:
        connection.execute(setting)
    return connection


@pytest.fixture(scope="module")
def postgres() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with _connect() as connection:
        yield connection


@pytest.fixture(scope="module")
def raw_postgres() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection whose results are the undecoded wire bytes of every type in the registry."""
    with _connect() as connection:
        for oid in t.TYPES_BY_OID:
            connection.adapters.register_loader(oid, _RawTextLoader)
            connection.adapters.register_loader(oid, _RawBinaryLoader)
        yield connection


def fetch_wire(connection: psycopg.Connection[tuple[object, ...]], query: str) -> tuple[int, bytes, bytes]:
    """(column type OID, text-format bytes, binary-format bytes) of a one-row, one-column query."""
    results = []
    for binary in (False, True):
        cursor = connection.execute(query, binary=binary)
        assert cursor.description is not None
        row = cursor.fetchone()
        assert row is not None
        assert isinstance(row[0], bytes), row
        results.append((cursor.description[0].type_code, row[0]))
    (oid, text), (binary_oid, data) = results
    assert oid == binary_oid
    return oid, text, data


def as_decoded(value: object) -> object:
    """What decoding gives back for an encoded value: exact intervals become timedeltas."""
    if isinstance(value, Interval):
        return value.to_timedelta()
    if isinstance(value, tuple):
        return [as_decoded(item) for item in value]
    if isinstance(value, list):
        return [as_decoded(item) for item in value]
    return value


def same(left: object, right: object) -> bool:
    return repr(left) == repr(right) or (
        isinstance(left, float) and isinstance(right, float) and math.isnan(left) and math.isnan(right)
    )


REFERENCE: list[tuple[str, int, object]] = [
    ("true", t.BOOL, True),
    ("false", t.BOOL, False),
    ("'\\x0102ff'::bytea", t.BYTEA, b"\x01\x02\xff"),
    ("''::bytea", t.BYTEA, b""),
    ("'a'::\"char\"", t.CHAR, "a"),
    ("'pg_catalog'::name", t.NAME, "pg_catalog"),
    ("(-32768)::int2", t.INT2, -32768),
    ("2147483647::int4", t.INT4, 2147483647),
    ("(-9223372036854775808)::int8", t.INT8, -(2**63)),
    ("'h\u00e9llo \"w\"\\'::text", t.TEXT, 'h\u00e9llo "w"\\'),
    ("4294967295::oid", t.OID, 4294967295),
    ('\'{"b":1,  "a":2}\'::json', t.JSON, '{"b":1,  "a":2}'),
    ("1.5::float4", t.FLOAT4, 1.5),
    ("1.1::float4", t.FLOAT4, 1.100000023841858),
    ("1e6::float4", t.FLOAT4, 1e6),
    ("16777217::float4", t.FLOAT4, 16777216.0),
    ("'-inf'::float4", t.FLOAT4, -math.inf),
    ("'1e-45'::float4", t.FLOAT4, 1.401298464324817e-45),
    ("0.1::float8", t.FLOAT8, 0.1),
    ("1e20::float8", t.FLOAT8, 1e20),
    ("1e15::float8", t.FLOAT8, 1e15),
    ("123456789012345::float8", t.FLOAT8, 123456789012345.0),
    ("0.00001::float8", t.FLOAT8, 1e-05),
    ("'5e-324'::float8", t.FLOAT8, 5e-324),
    ("'1.7976931348623157e308'::float8", t.FLOAT8, 1.7976931348623157e308),
    ("'-0'::float8", t.FLOAT8, -0.0),
    ("'NaN'::float8", t.FLOAT8, math.nan),
    ("0.1::float8 + 0.2::float8", t.FLOAT8, 0.30000000000000004),
    ("'ab'::char(4)", t.BPCHAR, "ab  "),
    ("'v'::varchar", t.VARCHAR, "v"),
    ("'2020-02-29'::date", t.DATE, dt.date(2020, 2, 29)),
    ("'0099-01-01'::date", t.DATE, dt.date(99, 1, 1)),
    ("'infinity'::date", t.DATE, dt.date.max),
    ("'-infinity'::date", t.DATE, dt.date.min),
    ("'01:02:03.5'::time", t.TIME, dt.time(1, 2, 3, 500000)),
    ("'23:59:59.999999'::time", t.TIME, dt.time(23, 59, 59, 999999)),
    ("'01:02:03+05:30'::timetz", t.TIMETZ, dt.time(1, 2, 3, tzinfo=IST)),
    (
        "'01:02:03.5-02'::timetz",
        t.TIMETZ,
        dt.time(1, 2, 3, 500000, tzinfo=dt.timezone(dt.timedelta(hours=-2))),
    ),
    ("'2020-01-01 01:02:03.123456'::timestamp", t.TIMESTAMP, dt.datetime(2020, 1, 1, 1, 2, 3, 123456)),
    ("'0001-01-01 00:00:01'::timestamp", t.TIMESTAMP, dt.datetime(1, 1, 1, 0, 0, 1)),
    ("'infinity'::timestamp", t.TIMESTAMP, dt.datetime.max),
    (
        "'2020-01-01 01:02:03.5+05:30'::timestamptz",
        t.TIMESTAMPTZ,
        dt.datetime(2019, 12, 31, 19, 32, 3, 500000, tzinfo=UTC),
    ),
    ("'-infinity'::timestamptz", t.TIMESTAMPTZ, dt.datetime.min.replace(tzinfo=UTC)),
    ("'1 day 02:03:04'::interval", t.INTERVAL, dt.timedelta(days=1, seconds=7384)),
    ("'-1 second'::interval", t.INTERVAL, dt.timedelta(seconds=-1)),
    ("'100 hours'::interval", t.INTERVAL, Interval(0, 0, 360_000_000_000)),
    ("'1 year 2 mons 3 days 04:05:06.5'::interval", t.INTERVAL, Interval(14, 3, 14_706_500_000)),
    ("'-1 days +02:00:00'::interval", t.INTERVAL, Interval(0, -1, 7_200_000_000)),
    ("'-3 mons +2 days'::interval", t.INTERVAL, Interval(-3, 2, 0)),
    ("B'101'::bit(3)", t.BIT, "101"),
    ("B'1011000011'::varbit", t.VARBIT, "1011000011"),
    ("0.00::numeric", t.NUMERIC, Decimal("0.00")),
    ("(-12345.678)::numeric", t.NUMERIC, Decimal("-12345.678")),
    ("10000::numeric", t.NUMERIC, Decimal("10000")),
    ("1e-20::numeric", t.NUMERIC, Decimal("1E-20")),
    ("99999999.99990000::numeric", t.NUMERIC, Decimal("99999999.99990000")),
    (
        "123456789012345678901234567890.123456789::numeric",
        t.NUMERIC,
        Decimal("123456789012345678901234567890.123456789"),
    ),
    ("'NaN'::numeric", t.NUMERIC, Decimal("NaN")),
    ("'Infinity'::numeric", t.NUMERIC, Decimal("Infinity")),
    ("'-Infinity'::numeric", t.NUMERIC, Decimal("-Infinity")),
    (f"'{SAMPLE_UUID}'::uuid", t.UUID, SAMPLE_UUID),
    (
        '\'{"b": 1, "a": [1, 2.50, 1e2], "aa": "\\u0001"}\'::jsonb',
        t.JSONB,
        '{"a": [1, 2.50, 100], "b": 1, "aa": "\\u0001"}',
    ),
    ("pg_sleep(0)", t.VOID, None),
    ("ARRAY[true, NULL]", t.BOOL_ARRAY, [True, None]),
    ("ARRAY['\\x01'::bytea, '']", t.BYTEA_ARRAY, [b"\x01", b""]),
    ("ARRAY['a'::\"char\", '{']", t.CHAR_ARRAY, ["a", "{"]),
    ("ARRAY['a b'::name]", t.NAME_ARRAY, ["a b"]),
    ("ARRAY[1::int2, -2::int2]", t.INT2_ARRAY, [1, -2]),
    ("ARRAY[1, NULL, 3]", t.INT4_ARRAY, [1, None, 3]),
    ("'{}'::int4[]", t.INT4_ARRAY, []),
    ("ARRAY[[1, 2], [3, 4]]", t.INT4_ARRAY, [[1, 2], [3, 4]]),
    ("ARRAY[1::int8]", t.INT8_ARRAY, [1]),
    (
        "ARRAY['a b', 'c\"d', NULL, '', 'NULL', 'null', 'x\\y', '{', ' ', '\u00e9', 'a,b',"
        " E'tab\\there']::text[]",
        t.TEXT_ARRAY,
        ["a b", 'c"d', None, "", "NULL", "null", "x\\y", "{", " ", "\u00e9", "a,b", "tab\there"],
    ),
    ("ARRAY['x'::char(2)]", t.BPCHAR_ARRAY, ["x "]),
    ("ARRAY['v'::varchar, NULL]", t.VARCHAR_ARRAY, ["v", None]),
    ("ARRAY[26::oid]", t.OID_ARRAY, [26]),
    ("ARRAY['{\"a\":1}'::json]", t.JSON_ARRAY, ['{"a":1}']),
    ("ARRAY['{\"a\":1}'::jsonb]", t.JSONB_ARRAY, ['{"a": 1}']),
    ("ARRAY[1.5::float4, 'inf']", t.FLOAT4_ARRAY, [1.5, math.inf]),
    ("ARRAY[0.1::float8, '-0', 1e100]", t.FLOAT8_ARRAY, [0.1, -0.0, 1e100]),
    ("ARRAY[1.5::numeric, 'NaN', NULL]", t.NUMERIC_ARRAY, [Decimal("1.5"), Decimal("NaN"), None]),
    ("ARRAY['2020-01-01'::date, 'infinity']", t.DATE_ARRAY, [dt.date(2020, 1, 1), dt.date.max]),
    ("ARRAY['01:02:03'::time]", t.TIME_ARRAY, [dt.time(1, 2, 3)]),
    ("ARRAY['01:02:03+00'::timetz]", t.TIMETZ_ARRAY, [dt.time(1, 2, 3, tzinfo=UTC)]),
    (
        "ARRAY['2020-01-01 01:02:03'::timestamp, NULL]",
        t.TIMESTAMP_ARRAY,
        [dt.datetime(2020, 1, 1, 1, 2, 3), None],
    ),
    ("ARRAY['2020-01-01 00:00+00'::timestamptz]", t.TIMESTAMPTZ_ARRAY, [dt.datetime(2020, 1, 1, tzinfo=UTC)]),
    (
        "ARRAY['-22 hours'::interval, '3 days']",
        t.INTERVAL_ARRAY,
        [dt.timedelta(hours=-22), dt.timedelta(days=3)],
    ),
    (f"ARRAY['{SAMPLE_UUID}'::uuid, NULL]", t.UUID_ARRAY, [SAMPLE_UUID, None]),
    ("ARRAY[B'1'::bit(1)]", t.BIT_ARRAY, ["1"]),
    ("ARRAY[B'10'::varbit, B'']", t.VARBIT_ARRAY, ["10", ""]),
]


def test_reference_table_covers_every_registered_type() -> None:
    # PostgreSQL never sends `unknown` columns: 'x'::unknown arrives as text.
    assert set(t.TYPES_BY_OID) - {oid for _, oid, _ in REFERENCE} == {t.UNKNOWN}


@pytest.mark.parametrize(("expression", "oid", "value"), REFERENCE, ids=lambda v: str(v)[:50])
def test_encoding_matches_postgresql_wire_bytes(
    raw_postgres: psycopg.Connection[tuple[object, ...]], expression: str, oid: int, value: object
) -> None:
    sent_oid, text, binary = fetch_wire(raw_postgres, f"SELECT {expression}")
    assert sent_oid == oid
    assert t.encode_text(oid, value) == text
    assert t.encode_binary(oid, value) == binary
    assert same(t.decode_text(oid, text), as_decoded(value))
    assert same(t.decode_binary(oid, binary), as_decoded(value))


def test_registry_matches_pg_type(postgres: psycopg.Connection[tuple[object, ...]]) -> None:
    rows = postgres.execute(
        "SELECT oid::int, typname::text, typlen::int, typarray::int, typelem::int, typcategory::text"
        " FROM pg_catalog.pg_type WHERE oid = ANY(%s)",
        [list(t.TYPES_BY_OID)],
    ).fetchall()
    assert len(rows) == len(t.TYPES_BY_OID)
    for oid, name, typlen, array_oid, elem_oid, category in rows:
        assert isinstance(oid, int)
        registered = t.TYPES_BY_OID[oid]
        assert (registered.name, registered.typlen, registered.array_oid, registered.category) == (
            name,
            typlen,
            array_oid,
            category,
        )
        # pg_type also gives fixed-length subscriptable types an element (name -> char); we do not.
        assert registered.elem_oid == (elem_oid if category == "A" else 0)


INPUTS: list[tuple[str, str]] = [
    ("bool", " yes "),
    ("bool", "OFF"),
    ("int4", " -12 "),
    ("oid", "-1"),
    ("float8", "  -Infinity"),
    ("float8", "1e-3"),
    ("float4", "0.1"),
    ("numeric", " 1.50 "),
    ("numeric", "1e3"),
    ("numeric", "-inf"),
    ("bytea", "\\x 01 0A ff"),
    ("bytea", "a\\\\b\\101\\000"),
    ("uuid", "{A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11}"),
    ("date", "2020-1-5 +02:00"),
    ("date", "epoch"),
    ("time", "01:02:03.1234567"),
    ("time", "01:02"),
    ("timetz", "01:02:03-08"),
    ("timetz", "01:02:03"),
    ("timestamp", "2020-01-01T01:02:03"),
    ("timestamp", "2020-01-01 01:02:03.5+02"),
    ("timestamp", "2020-01-01 24:00:00"),
    ("timestamp", "2020-01-01 23:59:60"),
    ("timestamp", "2020-01-01"),
    ("timestamptz", "2020-01-01 01:02:03+02"),
    ("timestamptz", "2020-01-01T01:02:03.25Z"),
    ("timestamptz", "2020-01-01 01:02:03 +05:30"),
    ("timestamptz", "2020-01-01 01:02:03-0800"),
    ("timestamptz", "2020-07-01 12:00 Europe/Paris"),
    ("timestamptz", "2020-01-01 12:00:00"),
    ("timestamptz", "infinity"),
    ("interval", "1 day 02:03:04"),
    ("interval", "-1 day 23:59:59.500000"),
    ("interval", "+1 day +5 second +0 microsecond"),
    ("interval", "1 day, 2:03:04"),
    ("interval", "@ 1 day ago"),
    ("interval", "1 02:03:04"),
    ("interval", "1-2"),
    ("interval", "1.5 years"),
    ("interval", "1.5 months"),
    ("interval", "-1.5 weeks"),
    ("interval", "02:03.5"),
    ("interval", "2 decades 1 century 10 ms 5 us"),
    ("interval", "5"),
    ("interval", "P1Y2M3DT4H5M6.5S"),
    ("interval", "P-1DT-2H"),
    ("interval", "PT0.5S"),
    ("jsonb", '{"b":1,"a":{"x":[1,2.0]}}'),
    ("varbit", "xF0"),
    ("int4[]", "[1:2]={1,2}"),  # other lower bounds cannot be kept in a Python list
    ("int4[]", "{{1,2},{3,4}}"),
    ("text[]", '{"a b",c\\"d,NULL,"",  x y  ,"NULL"}'),
]


@pytest.mark.parametrize(("type_name", "text"), INPUTS, ids=lambda v: str(v)[:40])
def test_input_is_parsed_into_the_value_postgresql_parses(
    raw_postgres: psycopg.Connection[tuple[object, ...]], type_name: str, text: str
) -> None:
    pg_type = t.TYPES_BY_NAME["_" + type_name[:-2] if type_name.endswith("[]") else type_name]
    cursor = raw_postgres.execute(f"SELECT %s::{type_name}", [text], binary=True)
    row = cursor.fetchone()
    assert row is not None
    ours = parse_interval(text) if pg_type.oid == t.INTERVAL else t.decode_text(pg_type.oid, text.encode())
    assert t.encode_binary(pg_type.oid, ours) == row[0]


REJECTED: list[tuple[str, str]] = [
    ("int2", "32768"),
    ("int4", "12x"),
    ("int4", ""),
    ("bool", "maybe"),
    ("float8", "1e400"),
    ("float4", "1e39"),
    ("numeric", "1.2.3"),
    ("bytea", "\\xabc"),
    ("bytea", "a\\b"),
    ("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"),
    ("json", "{'a': 1}"),
    ("json", "NaN"),
    ("date", "2020-13-01"),
    ("date", "yesterday-ish"),
    ("timestamp", "2020-01-01 25:00:00"),
    ("timestamptz", "2020-01-01 00:00 Mars/Olympus"),
    ("interval", "1 fortnight"),
    ("interval", "3000000000 days"),
    ("int4[]", "{1,2"),
    ("int4[]", "{1,,2}"),
    ("int4[]", "1,2"),
    ("int4[]", "{1} x"),
]


@pytest.mark.parametrize(("type_name", "text"), REJECTED, ids=lambda v: str(v)[:40])
def test_rejected_input_has_postgresqls_sqlstate(
    postgres: psycopg.Connection[tuple[object, ...]], type_name: str, text: str
) -> None:
    with pytest.raises(psycopg.Error) as from_postgres:
        postgres.execute(f"SELECT %s::{type_name}", [text])
    pg_type = t.TYPES_BY_NAME["_" + type_name[:-2] if type_name.endswith("[]") else type_name]
    with pytest.raises(TypeCodecError) as from_us:
        t.decode_text(pg_type.oid, text.encode())
    assert from_us.value.sqlstate == from_postgres.value.sqlstate


DUCKDB_VS_POSTGRES: list[tuple[str, str]] = [
    ("true", "true"),
    ("(-128)::TINYINT", "(-128)::int2"),
    ("4294967295::UINTEGER", "4294967295::int8"),
    ("18446744073709551615::UBIGINT", "18446744073709551615::numeric"),
    ("170141183460469231731687303715884105727::HUGEINT", "170141183460469231731687303715884105727::numeric"),
    ("1.1::FLOAT", "1.1::float4"),
    ("1e20::DOUBLE", "1e20::float8"),
    ("1 / 3::DOUBLE", "1 / 3::float8"),
    ("'nan'::DOUBLE", "'nan'::float8"),
    ("1.50::DECIMAL(10,2)", "1.50::numeric(10,2)"),
    ("-0.001::DECIMAL(38,10)", "(-0.001)::numeric(38,10)"),
    ("'h\u00e9llo'", "'h\u00e9llo'::text"),
    ("'\\x00\\xFFa'::BLOB", "'\\x00ff61'::bytea"),
    ("DATE '2020-02-29'", "'2020-02-29'::date"),
    ("'infinity'::DATE", "'infinity'::date"),
    ("TIME '01:02:03.5'", "'01:02:03.5'::time"),
    ("'01:02:03+05:30'::TIMETZ", "'01:02:03+05:30'::timetz"),
    ("TIMESTAMP '2020-01-01 01:02:03.123456'", "'2020-01-01 01:02:03.123456'::timestamp"),
    ("'2020-01-01 01:02:03.1234567'::TIMESTAMP_NS", "'2020-01-01 01:02:03.123456'::timestamp"),
    ("TIMESTAMPTZ '2020-01-01 01:02:03.5+02'", "'2020-01-01 01:02:03.5+02'::timestamptz"),
    ("INTERVAL '1 day 2 hours 3 minutes 4.5 seconds'", "'1 day 02:03:04.5'::interval"),
    ("INTERVAL '-1 second'", "'-1 second'::interval"),
    ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid"),
    ("'{\"a\": [1, 2]}'::JSON", "'{\"a\": [1, 2]}'::json"),
    ("'10110'::BIT", "B'10110'::varbit"),
    ("[1, 2, NULL]", "ARRAY[1, 2, NULL]"),
    ("['a b', NULL, '', 'x\"y']", "ARRAY['a b', NULL, '', 'x\"y']::text[]"),
    ("[1.5::DECIMAL(5,1), NULL]", "ARRAY[1.5::numeric(5,1), NULL]"),
    ("[DATE '2020-01-01']", "ARRAY['2020-01-01'::date]"),
    ("[TIMESTAMPTZ '2020-01-01 00:00:00+00']", "ARRAY['2020-01-01 00:00:00+00'::timestamptz]"),
    ("['\\x01'::BLOB]", "ARRAY['\\x01'::bytea]"),
    ("['{}'::JSON]", "ARRAY['{}'::json]"),
    ("[1, 2]::INTEGER[2]", "ARRAY[1, 2]"),
    ("[INTERVAL '3 days']", "ARRAY['3 days'::interval]"),
]


@pytest.mark.parametrize(
    ("duckdb_expression", "postgres_expression"), DUCKDB_VS_POSTGRES, ids=lambda v: v[:40]
)
def test_duckdb_results_reach_the_wire_as_postgresql_sends_them(
    raw_postgres: psycopg.Connection[tuple[object, ...]], duckdb_expression: str, postgres_expression: str
) -> None:
    with duckdb.connect() as duck:
        duck.execute("SET TimeZone = 'UTC'")
        relation = duck.sql(f"SELECT {duckdb_expression}")
        oid = t.oid_for_duckdb_type(str(relation.types[0]))
        (value,) = relation.fetchall()[0]
    sent_oid, text, binary = fetch_wire(raw_postgres, f"SELECT {postgres_expression}")
    assert oid == sent_oid
    assert t.encode_text(oid, value) == text
    assert t.encode_binary(oid, value) == binary


def _random_doubles(rng: random.Random, count: int) -> list[float]:
    """Finite doubles from random bit patterns (every exponent), plus short decimals people type."""
    values: list[float] = []
    while len(values) < count:
        value = struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))[0]
        if math.isfinite(value):
            values.append(value)
        values.append(round(rng.uniform(-1e6, 1e6), rng.randint(0, 8)))
    return values


def test_random_floats_print_like_postgresql(raw_postgres: psycopg.Connection[tuple[object, ...]]) -> None:
    rng = random.Random(20240501)
    doubles = _random_doubles(rng, 3000)
    singles = [struct.unpack(">f", rng.getrandbits(32).to_bytes(4, "big"))[0] for _ in range(3000)]
    singles = [value for value in singles if math.isfinite(value)]
    singles += [struct.unpack(">f", struct.pack(">f", value))[0] for value in doubles if abs(value) < 3e38]
    for type_name, oid, values in (("float8", t.FLOAT8, doubles), ("float4", t.FLOAT4, singles)):
        rows = raw_postgres.execute(
            f"SELECT x::{type_name}::text FROM unnest(%s::float8[]) WITH ORDINALITY AS u(x, n) ORDER BY n",
            [values],
        ).fetchall()
        expected = [row[0].encode() if isinstance(row[0], str) else row[0] for row in rows]
        assert [t.encode_text(oid, value) for value in values] == expected


def test_random_numerics_match_numeric_send(raw_postgres: psycopg.Connection[tuple[object, ...]]) -> None:
    rng = random.Random(7)
    values = [Decimal(0), Decimal("-0.000"), Decimal("1E+30")]
    for _ in range(2000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 40)))
        exponent = rng.randint(-45, 25)
        values.append(Decimal(f"{rng.choice('-+')}{digits}E{exponent}"))
    rows = raw_postgres.execute(
        "SELECT x::text, numeric_send(x) FROM unnest(%s::numeric[]) WITH ORDINALITY AS u(x, n) ORDER BY n",
        [values],
        binary=True,
    ).fetchall()
    for value, (text, binary) in zip(values, rows, strict=True):
        expected_text = text.encode() if isinstance(text, str) else text
        assert t.encode_text(t.NUMERIC, value) == expected_text, value
        assert t.encode_binary(t.NUMERIC, value) == binary, value
        assert t.decode_binary(t.NUMERIC, binary) == value


def test_random_intervals_and_timestamps_print_like_postgresql(
    raw_postgres: psycopg.Connection[tuple[object, ...]],
) -> None:
    rng = random.Random(11)
    fields = [(0, 0, 0)]
    for _ in range(1500):
        months = rng.choice([0, rng.randint(-30, 30), rng.randint(-(2**31) + 1, 2**31 - 1)])
        days = rng.choice([0, rng.randint(-40, 40), rng.randint(-(2**31) + 1, 2**31 - 1)])
        micros = rng.choice([0, rng.randint(-(10**11), 10**11), rng.randint(-(2**62), 2**62)])
        fields.append((months, days, micros))
    # Interval * float8 is exact only below 2**53, so whole hours and the rest are added separately.
    hours = [int(micros / 3_600_000_000) for _, _, micros in fields]
    rest = [micros - h * 3_600_000_000 for (_, _, micros), h in zip(fields, hours, strict=True)]
    rows = raw_postgres.execute(
        "SELECT v::text, v FROM (SELECT make_interval(months => m, days => d, hours => h)"
        " + r * interval '1 microsecond' AS v, n FROM unnest(%s::int[], %s::int[], %s::int[], %s::int8[])"
        " WITH ORDINALITY AS f(m, d, h, r, n)) s ORDER BY n",
        [[m for m, _, _ in fields], [d for _, d, _ in fields], hours, rest],
        binary=True,
    ).fetchall()
    for (months, days, micros), (text, binary) in zip(fields, rows, strict=True):
        interval = Interval(months, days, micros)
        assert t.encode_text(t.INTERVAL, interval) == text, interval
        assert t.encode_binary(t.INTERVAL, interval) == binary, interval
        assert parse_interval(text.decode()) == interval

    offsets = [rng.randint(-63_082_281_600 * 10**6, 252_455_615_999 * 10**6) for _ in range(1500)]
    rows = raw_postgres.execute(
        "SELECT v::text, v, (v AT TIME ZONE 'UTC')::text FROM (SELECT timestamp '2000-01-01'"
        " + make_interval(days => d) + r * interval '1 microsecond' AS v, n"
        " FROM unnest(%s::int[], %s::int8[]) WITH ORDINALITY AS f(d, r, n)) s ORDER BY n",
        [[u // 86_400_000_000 for u in offsets], [u % 86_400_000_000 for u in offsets]],
        binary=True,
    ).fetchall()
    for micros, (text, binary, text_tz) in zip(offsets, rows, strict=True):
        stamp = dt.datetime(2000, 1, 1) + dt.timedelta(microseconds=micros)
        assert t.encode_text(t.TIMESTAMP, stamp) == text
        assert t.encode_binary(t.TIMESTAMP, stamp) == binary
        assert t.encode_text(t.TIMESTAMPTZ, stamp.replace(tzinfo=UTC)) == text_tz
        assert t.decode_text(t.TIMESTAMP, text) == stamp


@pytest.mark.parametrize("zone_name", ["Asia/Kolkata", "America/St_Johns", "Europe/Paris", "UTC"])
def test_timestamptz_converted_to_the_session_zone_prints_like_postgresql(
    raw_postgres: psycopg.Connection[tuple[object, ...]], zone_name: str
) -> None:
    """Converting to the session's TimeZone before encoding gives what PostgreSQL prints there
    (including Paris's pre-1911 local mean time offset of +00:09:21)."""
    instants = ["2020-01-01 01:02:03.5+00", "2020-07-01 12:00:00+00", "1900-01-01 00:00:00+00", "infinity"]
    raw_postgres.execute(f"SET TimeZone = '{zone_name}'")
    try:
        for instant in instants:
            oid, text, binary = fetch_wire(raw_postgres, f"SELECT '{instant}'::timestamptz")
            value = t.decode_binary(oid, binary)
            assert isinstance(value, dt.datetime)
            if value not in (dt.datetime.max.replace(tzinfo=UTC), dt.datetime.min.replace(tzinfo=UTC)):
                value = value.astimezone(zoneinfo.ZoneInfo(zone_name))
            assert t.encode_text(t.TIMESTAMPTZ, value) == text
            assert t.encode_binary(t.TIMESTAMPTZ, value) == binary
    finally:
        raw_postgres.execute("SET TimeZone = 'UTC'")
