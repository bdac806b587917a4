"""gateway.protocol.types fed with real DuckDB results (in-process, no sockets).

For each DuckDB expression: the type string DuckDB 2 prints, the OID it is announced as, and the
exact text PostgreSQL would print for the same value (checked against a live server for the shared
cases in tests/integration/test_types_vs_postgres.py). Also: decoded Bind parameters bind in DuckDB
under `duckdb_type_for_oid`, and come back out as the same text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb
import pytest

from gateway.protocol import types as t


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


DUCKDB_RESULTS: list[tuple[str, str, int, bytes]] = [
    ("true", "BOOLEAN", t.BOOL, b"t"),
    ("(-128)::TINYINT", "TINYINT", t.INT2, b"-128"),
    ("(-32768)::SMALLINT", "SMALLINT", t.INT2, b"-32768"),
    ("2147483647", "INTEGER", t.INT4, b"2147483647"),
    ("(-9223372036854775808)::BIGINT", "BIGINT", t.INT8, b"-9223372036854775808"),
    ("255::UTINYINT", "UTINYINT", t.INT2, b"255"),
    ("65535::USMALLINT", "USMALLINT", t.INT4, b"65535"),
    ("4294967295::UINTEGER", "UINTEGER", t.INT8, b"4294967295"),
    ("18446744073709551615::UBIGINT", "UBIGINT", t.NUMERIC, b"18446744073709551615"),
    (
        "(-170141183460469231731687303715884105728)::HUGEINT",
        "HUGEINT",
        t.NUMERIC,
        b"-170141183460469231731687303715884105728",
    ),
    (
        "340282366920938463463374607431768211455::UHUGEINT",
        "UHUGEINT",
        t.NUMERIC,
        b"340282366920938463463374607431768211455",
    ),
    ("123456789012345678901234567890::BIGNUM", "BIGNUM", t.NUMERIC, b"123456789012345678901234567890"),
    ("1.1::FLOAT", "FLOAT", t.FLOAT4, b"1.1"),
    ("'-inf'::FLOAT", "FLOAT", t.FLOAT4, b"-Infinity"),
    ("1e20::DOUBLE", "DOUBLE", t.FLOAT8, b"1e+20"),
    ("0.1::DOUBLE + 0.2::DOUBLE", "DOUBLE", t.FLOAT8, b"0.30000000000000004"),
    ("'nan'::DOUBLE", "DOUBLE", t.FLOAT8, b"NaN"),
    ("-0.0::DOUBLE", "DOUBLE", t.FLOAT8, b"-0"),
    ("1.50::DECIMAL(10,2)", "DECIMAL(10,2)", t.NUMERIC, b"1.50"),
    ("-0.001::DECIMAL(38,10)", "DECIMAL(38,10)", t.NUMERIC, b"-0.0010000000"),
    ("'h\u00e9llo'", "VARCHAR", t.TEXT, "h\u00e9llo".encode()),
    ("'\\x00\\xFFa'::BLOB", "BLOB", t.BYTEA, b"\\x00ff61"),
    ("DATE '2020-02-29'", "DATE", t.DATE, b"2020-02-29"),
    ("'infinity'::DATE", "DATE", t.DATE, b"infinity"),
    ("TIME '01:02:03.5'", "TIME", t.TIME, b"01:02:03.5"),
    ("'01:02:03.25'::TIME_NS", "TIME_NS", t.TIME, b"01:02:03.25"),
    ("'01:02:03+05:30'::TIMETZ", "TIME WITH TIME ZONE", t.TIMETZ, b"01:02:03+05:30"),
    ("TIMESTAMP '2020-01-01 01:02:03.123456'", "TIMESTAMP", t.TIMESTAMP, b"2020-01-01 01:02:03.123456"),
    ("'2020-01-01 01:02:03'::TIMESTAMP_S", "TIMESTAMP_S", t.TIMESTAMP, b"2020-01-01 01:02:03"),
    ("'2020-01-01 01:02:03.5'::TIMESTAMP_MS", "TIMESTAMP_MS", t.TIMESTAMP, b"2020-01-01 01:02:03.5"),
    (
        "'2020-01-01 01:02:03.1234567'::TIMESTAMP_NS",
        "TIMESTAMP_NS",
        t.TIMESTAMP,
        b"2020-01-01 01:02:03.123456",
    ),
    ("'-infinity'::TIMESTAMP", "TIMESTAMP", t.TIMESTAMP, b"-infinity"),
    (
        "TIMESTAMPTZ '2020-01-01 01:02:03.5+02'",
        "TIMESTAMP WITH TIME ZONE",
        t.TIMESTAMPTZ,
        b"2019-12-31 23:02:03.5+00",
    ),
    ("INTERVAL '1 day 2 hours 3 minutes 4 seconds'", "INTERVAL", t.INTERVAL, b"1 day 02:03:04"),
    ("INTERVAL '-1 second'", "INTERVAL", t.INTERVAL, b"-00:00:01"),
    ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID", "UUID", t.UUID, b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ("'{\"a\": [1, 2]}'::JSON", "JSON", t.JSON, b'{"a": [1, 2]}'),
    ("'10110'::BIT", "BIT", t.VARBIT, b"10110"),
    ("[1, 2, NULL]", "INTEGER[]", t.INT4_ARRAY, b"{1,2,NULL}"),
    ("[]::INTEGER[]", "INTEGER[]", t.INT4_ARRAY, b"{}"),
    ("['a b', NULL, '', 'x\"y']", "VARCHAR[]", t.TEXT_ARRAY, b'{"a b",NULL,"","x\\"y"}'),
    ("[1.5::DECIMAL(5,1)]", "DECIMAL(5,1)[]", t.NUMERIC_ARRAY, b"{1.5}"),
    ("[1.5::DOUBLE, 'inf'::DOUBLE]", "DOUBLE[]", t.FLOAT8_ARRAY, b"{1.5,Infinity}"),
    ("[DATE '2020-01-01']", "DATE[]", t.DATE_ARRAY, b"{2020-01-01}"),
    ("[TIMESTAMP '2020-01-01 01:02:03']", "TIMESTAMP[]", t.TIMESTAMP_ARRAY, b'{"2020-01-01 01:02:03"}'),
    ("['\\x01'::BLOB]", "BLOB[]", t.BYTEA_ARRAY, b'{"\\\\x01"}'),
    ("['{}'::JSON]", "JSON[]", t.JSON_ARRAY, b'{"{}"}'),
    ("[true, false]", "BOOLEAN[]", t.BOOL_ARRAY, b"{t,f}"),
    ("[1, 2]::INTEGER[2]", "INTEGER[2]", t.INT4_ARRAY, b"{1,2}"),
    ("[[1], [2, 3]]", "INTEGER[][]", t.TEXT_ARRAY, b'{"{1}","{2,3}"}'),
    ("[{'a': 1}]", "STRUCT(a INTEGER)[]", t.TEXT_ARRAY, b'{"{\\"a\\":1}"}'),
    ("{'a': 1, 'b': 'x'}", "STRUCT(a INTEGER, b VARCHAR)", t.TEXT, b'{"a":1,"b":"x"}'),
    ("MAP {'k': 1}", "MAP(VARCHAR, INTEGER)", t.TEXT, b'{"k":1}'),
    ("'b'::ENUM('a', 'b')", "ENUM('a', 'b')", t.TEXT, b"b"),
    ("union_value(k := 7)", "UNION(k INTEGER)", t.TEXT, b"7"),
]


@pytest.mark.parametrize(
    ("expression", "type_string", "oid", "text"), DUCKDB_RESULTS, ids=lambda v: str(v)[:40]
)
def test_duckdb_results_are_announced_and_rendered_like_postgresql(
    duck: duckdb.DuckDBPyConnection, expression: str, type_string: str, oid: int, text: bytes
) -> None:
    relation = duck.sql(f"SELECT {expression} AS v")
    assert str(relation.types[0]) == type_string
    assert t.oid_for_duckdb_type(type_string) == oid
    (value,) = relation.fetchall()[0]
    assert t.encode_text(oid, value) == text
    # The binary form carries the same value: decoding either form gives the same Python object
    # (compared by repr, which also tells NaN, -0.0 and the Python types apart).
    assert t.supports_binary(oid)
    assert repr(t.decode_binary(oid, t.encode_binary(oid, value))) == repr(t.decode_text(oid, text))


def test_timestamptz_prints_at_the_offset_it_carries() -> None:
    """DuckDB hands timestamptz values in its own TimeZone; the caller picks the zone to show."""
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'Asia/Kolkata'")
        (value,) = connection.sql("SELECT TIMESTAMPTZ '2020-01-01 01:02:03+00'").fetchall()[0]
    assert t.encode_text(t.TIMESTAMPTZ, value) == b"2020-01-01 06:32:03+05:30"
    assert t.encode_text(t.TIMESTAMPTZ, value.astimezone(dt.UTC)) == b"2020-01-01 01:02:03+00"
    assert t.encode_binary(t.TIMESTAMPTZ, value) == t.encode_binary(t.TIMESTAMPTZ, value.astimezone(dt.UTC))


def test_null_typed_duckdb_column_is_text(duck: duckdb.DuckDBPyConnection) -> None:
    relation = duck.sql("SELECT NULL AS v")
    assert t.oid_for_duckdb_type(str(relation.types[0])) == t.TEXT
    assert relation.fetchall() == [(None,)]


@pytest.mark.parametrize(
    ("type_string", "oid"),
    [
        ("boolean", t.BOOL),
        ("  INTEGER  ", t.INT4),
        ("DECIMAL(38,0)", t.NUMERIC),
        ("TIMESTAMP WITH TIME ZONE[]", t.TIMESTAMPTZ_ARRAY),
        ("UUID[]", t.UUID_ARRAY),
        ("JSON[]", t.JSON_ARRAY),
        ("INTERVAL[]", t.INTERVAL_ARRAY),
        ("UBIGINT[]", t.NUMERIC_ARRAY),
        ("MAP(VARCHAR, INTEGER[])", t.TEXT),
        ("STRUCT(a INTEGER[])", t.TEXT),
        ("ENUM('x[]', 'y')[]", t.TEXT_ARRAY),
        ("GEOMETRY", t.TEXT),
        ('"NULL"', t.TEXT),
        ("SOMETHING_NEW", t.TEXT),
    ],
)
def test_oid_for_duckdb_type_strings(type_string: str, oid: int) -> None:
    assert t.oid_for_duckdb_type(type_string) == oid


@pytest.mark.parametrize(
    ("oid", "duckdb_type"),
    [
        (t.INT4, "INTEGER"),
        (t.TEXT, "VARCHAR"),
        (t.VARCHAR, "VARCHAR"),
        (t.TEXT_ARRAY, "VARCHAR[]"),
        (t.INT8_ARRAY, "BIGINT[]"),
        (t.NUMERIC, "DECIMAL(38,10)"),
        (t.TIMESTAMPTZ, "TIMESTAMP WITH TIME ZONE"),
        (t.JSONB, "JSON"),
        (t.OID, "UINTEGER"),
        (0, "VARCHAR"),
        (99999, "VARCHAR"),
    ],
)
def test_duckdb_type_for_oid(oid: int, duckdb_type: str) -> None:
    assert t.duckdb_type_for_oid(oid) == duckdb_type


def test_duckdb_accepts_the_cast_target_of_every_registered_oid(duck: duckdb.DuckDBPyConnection) -> None:
    for oid in t.TYPES_BY_OID:
        target = t.duckdb_type_for_oid(oid)
        relation = duck.sql(f"SELECT CAST(NULL AS {target}) AS v")
        assert str(relation.types[0]) == target, oid


BIND_PARAMETERS: list[tuple[int, bytes, bytes]] = [
    (t.INT4, b" 42 ", b"42"),
    (t.INT8, b"-9223372036854775808", b"-9223372036854775808"),
    (t.BOOL, b"yes", b"t"),
    (t.FLOAT8, b"1e-5", b"1e-05"),
    (t.FLOAT4, b"0.1", b"0.1"),
    (t.TEXT, "caf\u00e9".encode(), "caf\u00e9".encode()),
    (t.BYTEA, b"\\x0001", b"\\x0001"),
    (t.DATE, b"2020-01-05", b"2020-01-05"),
    (t.TIME, b"01:02:03.5", b"01:02:03.5"),
    (t.TIMESTAMP, b"2020-01-01T01:02:03", b"2020-01-01 01:02:03"),
    (t.TIMESTAMPTZ, b"2020-01-01 01:02:03+02", b"2019-12-31 23:02:03+00"),
    (t.INTERVAL, b"1 day 02:03:04", b"1 day 02:03:04"),
    (t.UUID, b"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    (t.JSON, b'{"a": 1}', b'{"a": 1}'),
    (t.INT4_ARRAY, b"{1,NULL,3}", b"{1,NULL,3}"),
    (t.TEXT_ARRAY, b'{"a b",c}', b'{"a b",c}'),
    (t.NUMERIC, b"1.25", b"1.2500000000"),
]


@pytest.mark.parametrize(("oid", "parameter", "output"), BIND_PARAMETERS, ids=lambda v: str(v)[:30])
def test_decoded_parameters_bind_in_duckdb_and_come_back_unchanged(
    duck: duckdb.DuckDBPyConnection, oid: int, parameter: bytes, output: bytes
) -> None:
    target = t.duckdb_type_for_oid(oid)
    relation = duck.execute(f"SELECT CAST(? AS {target}) AS v", [t.decode_text(oid, parameter)])
    (value,) = relation.fetchall()[0]
    result_oid = t.oid_for_duckdb_type(target)
    assert t.encode_text(result_oid, value) == output


@pytest.mark.parametrize(
    ("type_string", "typmod"),
    [
        ("DECIMAL(10,2)", (10 << 16 | 2) + 4),
        ("DECIMAL(38,0)", (38 << 16) + 4),
        ("INTEGER", -1),
        ("VARCHAR", -1),
    ],
)
def test_typmod_for_duckdb_type(type_string: str, typmod: int) -> None:
    assert t.typmod_for_duckdb_type(type_string) == typmod
