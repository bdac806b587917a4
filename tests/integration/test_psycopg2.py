"""psycopg2 against the gateway: client-side interpolation, text-format types, OIDs, errors, autocommit.

psycopg2 interpolates parameters into the SQL text itself and uses only the simple query protocol,
so these tests check that the gateway parses the literals psycopg2 writes (doubled quotes and raw
backslashes under standard_conforming_strings, '\\x' bytea, ISO timestamps with a 'T', intervals in
seconds, ARRAY[...]) and that every type's text output and RowDescription OID is what psycopg2's
typecasters expect from PostgreSQL 16.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
import pytest

from tests.fixtures.gateway import GatewayEndpoint

pytestmark = pytest.mark.integration

UTC = dt.UTC

# (id, SQL literal, type OID, the Python value psycopg2 casts the text output to).
TYPED_LITERALS: list[tuple[str, str, int, Any]] = [
    ("bool", "true", 16, True),
    ("int2", "'-32768'::int2", 21, -32768),
    ("int4", "2147483647::int4", 23, 2147483647),
    ("int8", "'-9223372036854775808'::int8", 20, -9223372036854775808),
    ("float4", "'1.5'::float4", 700, 1.5),
    ("float8", "'3.141592653589793'::float8", 701, 3.141592653589793),
    ("numeric", "'-12345.6789'::numeric", 1700, Decimal("-12345.6789")),
    ("text", "'héllo wörld ✓'::text", 25, "héllo wörld ✓"),
    ("varchar", "'abc'::varchar(10)", 1043, "abc"),
    ("bytea", "'\\xdeadbeef00'::bytea", 17, b"\xde\xad\xbe\xef\x00"),
    ("date", "'2024-02-29'::date", 1082, dt.date(2024, 2, 29)),
    ("time", "'13:45:30.123456'::time", 1083, dt.time(13, 45, 30, 123456)),
    (
        "timestamp",
        "'2024-02-29 13:45:30.123456'::timestamp",
        1114,
        dt.datetime(2024, 2, 29, 13, 45, 30, 123456),
    ),
    (
        "timestamptz",
        "'2024-02-29 13:45:30.123456+02'::timestamptz",
        1184,
        dt.datetime(2024, 2, 29, 11, 45, 30, 123456, tzinfo=UTC),
    ),
    (
        "interval",
        "'1 day 02:03:04.000005'::interval",
        1186,
        dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=5),
    ),
    ("uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", 2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ("json", """'{"a": [1, 2.5, null], "b": "x"}'::json""", 114, {"a": [1, 2.5, None], "b": "x"}),
    ("jsonb", """'{"a": [1, 2.5, null], "b": "x"}'::jsonb""", 3802, {"a": [1, 2.5, None], "b": "x"}),
    ("int4[]", "ARRAY[1, -2, 3]::int4[]", 1007, [1, -2, 3]),
    ("text[]", "ARRAY['a', 'b c', NULL]::text[]", 1009, ["a", "b c", None]),
]

# (target type, Python value, the literal psycopg2 writes for it) for client-side interpolation; numbers
# get a leading space so that `-%s` cannot turn into a comment. `-32768::int2` would be
# -(32768::int2), out of range in PostgreSQL, so the minimum values are not used here.
PARAMETERS: list[tuple[str, Any, bytes]] = [
    ("bool", False, b"false"),
    ("int2", -32767, b" -32767"),
    ("int8", -9223372036854775807, b" -9223372036854775807"),
    ("float8", -2.25e300, b" -2.25e+300"),
    ("numeric", Decimal("-12345.6789"), b" -12345.6789"),
    ("text", "it's a \\ ✓", "'it''s a \\ ✓'".encode()),
    ("bytea", b"\x00\xde\xad", b"'\\x00dead'::bytea"),
    ("date", dt.date(2024, 2, 29), b"'2024-02-29'::date"),
    ("time", dt.time(13, 45, 30, 123456), b"'13:45:30.123456'::time"),
    ("timestamp", dt.datetime(2024, 2, 29, 13, 45, 30, 123456), b"'2024-02-29T13:45:30.123456'::timestamp"),
    (
        "timestamptz",
        dt.datetime(2024, 2, 29, 11, 45, 30, 123456, tzinfo=UTC),
        b"'2024-02-29T11:45:30.123456+00:00'::timestamptz",
    ),
    (
        "interval",
        dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=5),
        b"'1 days 7384.000005 seconds'::interval",
    ),
    ("int4[]", [1, -2, 3], b"ARRAY[1, -2,3]"),
    ("text[]", ["a", "b c", None], b"ARRAY['a','b c',NULL]"),
]


def connect(endpoint: GatewayEndpoint, **overrides: str) -> psycopg2.extensions.connection:
    """Connect with keyword parameters, which psycopg2 quotes (the SCRAM password contains spaces)."""
    params: dict[str, Any] = {
        "host": endpoint.host,
        "port": endpoint.port,
        "user": endpoint.user,
        "password": endpoint.password,
        "dbname": endpoint.database,
        "sslmode": endpoint.sslmode,
    }
    return psycopg2.connect(**(params | overrides))


@pytest.fixture
def conn(any_gateway: GatewayEndpoint) -> Iterator[psycopg2.extensions.connection]:
    connection = connect(any_gateway)
    connection.autocommit = True
    yield connection
    connection.close()


def fetch_one(conn: psycopg2.extensions.connection, sql: str, params: Any = None) -> tuple[Any, ...]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    assert row is not None
    return tuple(row)


def test_connect_and_select_one(conn: psycopg2.extensions.connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
        assert cur.statusmessage == "SELECT 1"
        assert cur.rowcount == 1
        assert cur.description is not None
        assert (cur.description[0].name, cur.description[0].type_code) == ("?column?", 23)


def test_server_version_is_postgres_16(conn: psycopg2.extensions.connection) -> None:
    assert conn.server_version == 160004
    assert (conn.get_parameter_status("server_version") or "").startswith("16.4")
    assert conn.get_parameter_status("DateStyle") == "ISO, MDY"
    assert conn.get_parameter_status("client_encoding") == "UTF8"
    assert conn.encoding == "UTF8"


def test_client_side_interpolation(conn: psycopg2.extensions.connection) -> None:
    assert fetch_one(conn, "SELECT %s + 1", (41,)) == (42,)
    assert fetch_one(conn, "SELECT %(a)s * %(b)s", {"a": 6, "b": 7}) == (42,)
    assert fetch_one(conn, "SELECT %s, %s IS NULL", ("O'Reilly", None)) == ("O'Reilly", True)
    assert fetch_one(conn, "SELECT %s::int IS NULL", (None,)) == (True,)
    assert fetch_one(conn, "SELECT '100%%' AS pct, %s", ("x",)) == ("100%", "x")


@pytest.mark.parametrize(("pg_type", "value", "literal"), PARAMETERS, ids=[p[0] for p in PARAMETERS])
def test_interpolated_literal_round_trips(
    conn: psycopg2.extensions.connection, pg_type: str, value: Any, literal: bytes
) -> None:
    with conn.cursor() as cur:
        assert cur.mogrify("SELECT %s", (value,)) == b"SELECT " + literal
        cur.execute(f"SELECT %s::{pg_type}", (value,))
        (result,) = cur.fetchone() or (None,)
    assert (bytes(result) if isinstance(result, memoryview) else result) == value


@pytest.mark.parametrize("pg_type", ["json", "jsonb"])
def test_json_adapter_round_trips(conn: psycopg2.extensions.connection, pg_type: str) -> None:
    document = {"a": [1, 2.5, None], "b": "x"}
    assert fetch_one(conn, f"SELECT %s::{pg_type}", (psycopg2.extras.Json(document),)) == (document,)


def test_uuid_adapter_round_trips(conn: psycopg2.extensions.connection) -> None:
    value = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    psycopg2.extras.register_uuid(conn_or_curs=conn)
    assert fetch_one(conn, "SELECT %s", (value,)) == (value,)


@pytest.mark.parametrize(
    ("sql", "type_oid", "expected"), [t[1:] for t in TYPED_LITERALS], ids=[t[0] for t in TYPED_LITERALS]
)
def test_text_result_of_every_type(
    conn: psycopg2.extensions.connection, sql: str, type_oid: int, expected: Any
) -> None:
    with conn.cursor() as cur:
        cur.execute(f"SELECT {sql} AS value")
        assert cur.description is not None
        assert (cur.description[0].name, cur.description[0].type_code) == ("value", type_oid)
        (value,) = cur.fetchone() or (None,)
    assert (bytes(value) if isinstance(value, memoryview) else value) == expected


def test_description_type_codes_of_a_wide_row(conn: psycopg2.extensions.connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT " + ", ".join(sql for _, sql, _, _ in TYPED_LITERALS))
        assert cur.description is not None
        assert [column.type_code for column in cur.description] == [oid for _, _, oid, _ in TYPED_LITERALS]
        row = cur.fetchone()
    assert row is not None
    assert len(row) == len(TYPED_LITERALS)


def test_errors_carry_pgcode_and_keep_the_session_usable(conn: psycopg2.extensions.connection) -> None:
    with pytest.raises(psycopg2.errors.DivisionByZero) as division:
        fetch_one(conn, "SELECT 1/0")
    assert division.value.pgcode == "22012"
    assert division.value.diag.message_primary == "division by zero"
    assert (division.value.pgerror or "").startswith("ERROR:  division by zero")

    with pytest.raises(psycopg2.errors.SyntaxError) as syntax:
        fetch_one(conn, "SELEC 1")
    assert syntax.value.pgcode == "42601"

    with pytest.raises(psycopg2.errors.UndefinedColumn) as column:
        fetch_one(conn, "SELECT no_such_column")
    assert column.value.pgcode == "42703"

    with pytest.raises(psycopg2.errors.UndefinedFunction) as function:
        fetch_one(conn, "SELECT no_such_function(1)")
    assert function.value.pgcode == "42883"
    assert fetch_one(conn, "SELECT 7") == (7,)


def test_autocommit_off_opens_a_transaction_until_commit(any_gateway: GatewayEndpoint) -> None:
    conn = connect(any_gateway)
    try:
        assert conn.autocommit is False
        assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
        assert fetch_one(conn, "SELECT 1") == (1,)
        assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
        conn.commit()
        assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE

        with pytest.raises(psycopg2.errors.DivisionByZero):
            fetch_one(conn, "SELECT 1/0")
        assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INERROR
        with pytest.raises(psycopg2.errors.InFailedSqlTransaction) as failed:
            fetch_one(conn, "SELECT 2")
        assert failed.value.pgcode == "25P02"
        conn.rollback()
        assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
        assert fetch_one(conn, "SELECT 3") == (3,)
        conn.rollback()
    finally:
        conn.close()


def test_autocommit_on_stays_idle(conn: psycopg2.extensions.connection) -> None:
    assert conn.autocommit is True
    assert fetch_one(conn, "SELECT 1") == (1,)
    assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
        cur.execute("COMMIT")
    assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE


def test_wrong_password_is_refused(gateway_scram_tls: GatewayEndpoint) -> None:
    with pytest.raises(psycopg2.OperationalError) as excinfo:
        connect(gateway_scram_tls, password="not-the-password")
    assert f'password authentication failed for user "{gateway_scram_tls.user}"' in str(excinfo.value)
