"""psycopg 3 against the gateway: binding, binary and text results, sessions, transactions, errors, cancel.

psycopg 3 uses the extended protocol with server-side parameters, so these tests check that the
gateway infers parameter types, honours per-column result formats, reports ParameterStatus and
transaction status like PostgreSQL 16, keeps a session usable after errors and answers CancelRequest
(both the legacy plaintext one and libpq 17's, which goes over TLS when the session does).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import psycopg.errors
import pytest
from psycopg.pq import TransactionStatus
from psycopg.types.json import Json, Jsonb

from tests.fixtures.gateway import GatewayEndpoint

pytestmark = pytest.mark.integration

CANCEL_DEADLINE_S = 10.0
UTC = dt.UTC

# (SQL literal, type OID, the Python value psycopg loads it as), one per supported type.
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
    (
        "uuid",
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
        2950,
        uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ),
    ("json", """'{"a": [1, 2.5, null], "b": "x"}'::json""", 114, {"a": [1, 2.5, None], "b": "x"}),
    ("jsonb", """'{"a": [1, 2.5, null], "b": "x"}'::jsonb""", 3802, {"a": [1, 2.5, None], "b": "x"}),
    ("int4[]", "ARRAY[1, -2, 3]::int4[]", 1007, [1, -2, 3]),
    ("text[]", "ARRAY['a', 'b c', NULL]::text[]", 1009, ["a", "b c", None]),
]

# (target type, Python value) for parameters; psycopg picks the wire type from the Python type.
PARAMETERS: list[tuple[str, Any]] = [
    ("bool", False),
    ("int2", -32768),
    ("int4", 2147483647),
    ("int8", -9223372036854775808),
    ("float4", 1.5),
    ("float8", -2.25e300),
    ("numeric", Decimal("-12345.6789")),
    ("text", "héllo 'quoted' ✓"),
    ("varchar", "abc"),
    ("bytea", b"\x00\xde\xad\\'"),
    ("date", dt.date(2024, 2, 29)),
    ("time", dt.time(13, 45, 30, 123456)),
    ("timestamp", dt.datetime(2024, 2, 29, 13, 45, 30, 123456)),
    ("timestamptz", dt.datetime(2024, 2, 29, 11, 45, 30, 123456, tzinfo=UTC)),
    ("interval", dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=5)),
    ("uuid", uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
    ("int4[]", [1, -2, 3]),
    ("text[]", ["a", "b c", None]),
]


def connect(
    endpoint: GatewayEndpoint, *, autocommit: bool = True, **overrides: str
) -> psycopg.Connection[Any]:
    """Connect with keyword parameters, which psycopg quotes (the SCRAM password contains spaces)."""
    params: dict[str, Any] = {
        "host": endpoint.host,
        "port": endpoint.port,
        "user": endpoint.user,
        "password": endpoint.password,
        "dbname": endpoint.database,
        "sslmode": endpoint.sslmode,
    }
    return psycopg.connect(autocommit=autocommit, **(params | overrides))


def tx_status(conn: psycopg.Connection[Any]) -> TransactionStatus:
    """Read the status afresh (a plain attribute read would be narrowed by mypy between statements)."""
    return conn.info.transaction_status


@pytest.fixture
def conn(any_gateway: GatewayEndpoint) -> Iterator[psycopg.Connection[Any]]:
    with connect(any_gateway) as connection:
        yield connection


def test_connect_and_select_one(conn: psycopg.Connection[Any]) -> None:
    cur = conn.execute("SELECT 1")
    assert cur.fetchall() == [(1,)]
    assert cur.description is not None
    assert cur.description[0].type_code == 23
    assert cur.statusmessage == "SELECT 1"


def test_server_side_parameter_binding(conn: psycopg.Connection[Any]) -> None:
    cur = conn.cursor()
    assert cur.execute("SELECT %s::int + 1", [41]).fetchone() == (42,)
    assert cur.execute("SELECT %t::text || '!'", ["hi"]).fetchone() == ("hi!",)
    assert cur.execute("SELECT %b::int8 * 2", [21]).fetchone() == (42,)
    assert cur.execute("SELECT %b::text || '?'", ["why"]).fetchone() == ("why?",)
    assert cur.execute("SELECT %(a)s::int * %(b)s::int", {"a": 6, "b": 7}).fetchone() == (42,)


def test_none_parameters_are_sql_nulls(conn: psycopg.Connection[Any]) -> None:
    cur = conn.cursor()
    assert cur.execute("SELECT %s::int IS NULL, %s::text IS NULL", [None, None]).fetchone() == (True, True)
    assert cur.execute("SELECT %s", [None]).fetchone() == (None,)
    assert cur.execute("SELECT coalesce(%s::int, 7)", [None]).fetchone() == (7,)


@pytest.mark.parametrize(("pg_type", "value"), PARAMETERS, ids=[p[0] for p in PARAMETERS])
@pytest.mark.parametrize("placeholder", ["%t", "%b"], ids=["text_param", "binary_param"])
def test_parameter_round_trips_every_type(
    conn: psycopg.Connection[Any], placeholder: str, pg_type: str, value: Any
) -> None:
    row = conn.execute(f"SELECT {placeholder}::{pg_type}", [value]).fetchone()
    assert row == (value,)


@pytest.mark.parametrize(("pg_type", "wrapper"), [("json", Json), ("jsonb", Jsonb)], ids=["json", "jsonb"])
@pytest.mark.parametrize("placeholder", ["%t", "%b"], ids=["text_param", "binary_param"])
def test_json_parameters_round_trip(
    conn: psycopg.Connection[Any], placeholder: str, pg_type: str, wrapper: Callable[[object], object]
) -> None:
    document = {"a": [1, 2.5, None], "b": "x"}
    assert conn.execute(f"SELECT {placeholder}::{pg_type}", [wrapper(document)]).fetchone() == (document,)


@pytest.mark.parametrize(
    ("sql", "type_oid", "expected"), [t[1:] for t in TYPED_LITERALS], ids=[t[0] for t in TYPED_LITERALS]
)
@pytest.mark.parametrize("binary", [False, True], ids=["text_result", "binary_result"])
def test_result_of_every_type(
    conn: psycopg.Connection[Any], binary: bool, sql: str, type_oid: int, expected: Any
) -> None:
    cur = conn.cursor(binary=binary)
    cur.execute(f"SELECT {sql} AS value")
    assert cur.description is not None
    assert (cur.description[0].name, cur.description[0].type_code) == ("value", type_oid)
    assert cur.pgresult is not None
    assert cur.pgresult.fformat(0) == (1 if binary else 0)
    assert cur.fetchall() == [(expected,)]


def test_binary_cursor_fetches_all_types_in_one_row(conn: psycopg.Connection[Any]) -> None:
    cur = conn.cursor(binary=True)
    cur.execute("SELECT " + ", ".join(sql for _, sql, _, _ in TYPED_LITERALS))
    assert cur.description is not None
    assert [column.type_code for column in cur.description] == [oid for _, _, oid, _ in TYPED_LITERALS]
    assert cur.fetchone() == tuple(value for _, _, _, value in TYPED_LITERALS)


def test_executemany_of_a_select_returns_each_result(conn: psycopg.Connection[Any]) -> None:
    cur = conn.cursor()
    cur.executemany("SELECT %s::int * 10", [(1,), (2,), (3,)], returning=True)
    results = [cur.fetchall()]
    while cur.nextset():
        results.append(cur.fetchall())
    assert results == [[(10,)], [(20,)], [(30,)]]


def test_parameter_status_matches_postgres_16(conn: psycopg.Connection[Any]) -> None:
    status = conn.info.parameter_status
    server_version = status("server_version")
    assert server_version is not None
    assert server_version.startswith("16")
    assert conn.info.server_version // 10000 == 16
    assert status("IntervalStyle") == "postgres"
    assert status("DateStyle") == "ISO, MDY"
    assert status("integer_datetimes") == "on"
    assert status("standard_conforming_strings") == "on"
    assert status("client_encoding") == "UTF8"
    assert status("server_encoding") == "UTF8"
    timezone = status("TimeZone")
    assert timezone is not None
    summer, winter = dt.datetime(2024, 7, 1, 12), dt.datetime(2024, 1, 1, 12)
    for moment in (summer, winter):  # psycopg resolves the zone name it was told; "UTC" becomes dt.UTC
        assert conn.info.timezone.utcoffset(moment) == ZoneInfo(timezone).utcoffset(moment)
    for name in ("TimeZone", "IntervalStyle", "DateStyle", "standard_conforming_strings", "client_encoding"):
        assert conn.execute(f"SHOW {name}").fetchone() == (status(name),)


def test_transaction_status_through_begin_commit_rollback(conn: psycopg.Connection[Any]) -> None:
    assert tx_status(conn) == TransactionStatus.IDLE
    conn.execute("BEGIN")
    assert tx_status(conn) == TransactionStatus.INTRANS
    assert conn.execute("SELECT 1").fetchone() == (1,)
    conn.execute("COMMIT")
    assert tx_status(conn) == TransactionStatus.IDLE
    conn.execute("BEGIN")
    conn.execute("ROLLBACK")
    assert tx_status(conn) == TransactionStatus.IDLE


def test_error_inside_a_transaction_fails_it_until_rollback(conn: psycopg.Connection[Any]) -> None:
    conn.execute("BEGIN")
    with pytest.raises(psycopg.errors.DivisionByZero):
        conn.execute("SELECT 1/0")
    assert tx_status(conn) == TransactionStatus.INERROR
    with pytest.raises(psycopg.errors.InFailedSqlTransaction) as excinfo:
        conn.execute("SELECT 1")
    assert excinfo.value.sqlstate == "25P02"
    assert tx_status(conn) == TransactionStatus.INERROR
    conn.execute("ROLLBACK")
    assert tx_status(conn) == TransactionStatus.IDLE
    assert conn.execute("SELECT 2").fetchone() == (2,)


def test_transaction_blocks_and_nested_savepoints(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        assert tx_status(conn) == TransactionStatus.INTRANS
        with conn.transaction():
            assert conn.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(psycopg.errors.DivisionByZero), conn.transaction():
            conn.execute("SELECT 1/0")
        assert tx_status(conn) == TransactionStatus.INTRANS
        assert conn.execute("SELECT 2").fetchone() == (2,)
    assert tx_status(conn) == TransactionStatus.IDLE


def test_implicit_transaction_without_autocommit(any_gateway: GatewayEndpoint) -> None:
    with connect(any_gateway, autocommit=False) as connection:
        assert tx_status(connection) == TransactionStatus.IDLE
        assert connection.execute("SELECT 1").fetchone() == (1,)
        assert tx_status(connection) == TransactionStatus.INTRANS
        connection.commit()
        assert tx_status(connection) == TransactionStatus.IDLE
        connection.execute("SELECT 2")
        connection.rollback()
        assert tx_status(connection) == TransactionStatus.IDLE


@pytest.mark.parametrize("binary", [False, True], ids=["text_result", "binary_result"])
def test_prepared_statements_are_reused(conn: psycopg.Connection[Any], binary: bool) -> None:
    cur = conn.cursor(binary=binary)
    results = [
        cur.execute("SELECT %s::int * 2, %s::text", [i, f"n{i}"], prepare=True).fetchone() for i in range(4)
    ]
    assert results == [(0, "n0"), (2, "n1"), (4, "n2"), (6, "n3")]
    assert conn.execute("SELECT %s::int + 100", [1], prepare=True).fetchone() == (101,)


def test_division_by_zero_keeps_the_connection_usable(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.DivisionByZero) as excinfo:
        conn.execute("SELECT 1/0")
    assert excinfo.value.sqlstate == "22012"
    assert excinfo.value.diag.message_primary == "division by zero"
    assert excinfo.value.diag.severity == "ERROR"
    assert conn.execute("SELECT 3").fetchone() == (3,)


def test_syntax_error_keeps_the_connection_usable(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.SyntaxError) as excinfo:
        conn.execute("SELEC 1")
    assert excinfo.value.sqlstate == "42601"
    message = excinfo.value.diag.message_primary
    assert message is not None
    assert message.startswith("syntax error")
    assert conn.execute("SELECT 4").fetchone() == (4,)


def test_undefined_column_and_function_errors(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.UndefinedColumn) as column_error:
        conn.execute("SELECT no_such_column")
    assert column_error.value.sqlstate == "42703"
    with pytest.raises(psycopg.errors.UndefinedFunction) as function_error:
        conn.execute("SELECT no_such_function(1)")
    assert function_error.value.sqlstate == "42883"
    assert conn.execute("SELECT 5").fetchone() == (5,)


def test_wrong_password_is_refused(gateway_scram_tls: GatewayEndpoint) -> None:
    with pytest.raises(psycopg.OperationalError) as excinfo:
        connect(gateway_scram_tls, password="not-the-password")
    assert f'password authentication failed for user "{gateway_scram_tls.user}"' in str(excinfo.value)


def run_and_cancel(conn: psycopg.Connection[Any], cancel: Callable[[], None]) -> BaseException | None:
    """Run pg_sleep(30) in a thread and cancel it repeatedly until it ends; return what it raised."""
    outcome: list[BaseException | None] = []

    def sleep_query() -> None:
        try:
            conn.execute("SELECT pg_sleep(30)")
            outcome.append(None)
        except psycopg.Error as exc:
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=sleep_query)
    worker.start()
    # A cancel that arrives before the query starts is ignored by an idle session, so keep sending
    # until the query thread finishes, polling with a deadline.
    while worker.is_alive() and time.monotonic() - started < CANCEL_DEADLINE_S:
        cancel()
        worker.join(0.05)
    worker.join(CANCEL_DEADLINE_S)
    assert not worker.is_alive()
    assert time.monotonic() - started < CANCEL_DEADLINE_S
    return outcome[0]


@pytest.mark.parametrize("method", ["cancel", "cancel_safe"])
def test_cancel_interrupts_pg_sleep(conn: psycopg.Connection[Any], method: str) -> None:
    error = run_and_cancel(conn, getattr(conn, method))
    assert isinstance(error, psycopg.errors.QueryCanceled)
    assert error.sqlstate == "57014"
    assert tx_status(conn) == TransactionStatus.IDLE
    assert conn.execute("SELECT 6").fetchone() == (6,)
