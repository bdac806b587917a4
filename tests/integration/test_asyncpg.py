"""asyncpg against the gateway: prepared statements, binary parameters and results, cursors, errors.

asyncpg is the strictest common client: it prepares every statement with Parse/Describe/Flush and
trusts the ParameterDescription and RowDescription it gets back, sends every parameter in binary,
asks for every result column in binary, pipelines executemany batches, walks cursors with row-limited
Execute + PortalSuspended inside a transaction, and cancels timed-out queries with a CancelRequest.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg
import asyncpg.exceptions
import pytest

from tests.fixtures.gateway import GatewayEndpoint

pytestmark = pytest.mark.integration

UTC = dt.UTC
JSON_TEXT = '{"a": [1, 2.5, null], "b": "x"}'  # already in jsonb's canonical form, so both types echo it

# (id, SQL literal, type OID, the value asyncpg decodes from the binary result).
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
    ("json", f"'{JSON_TEXT}'::json", 114, JSON_TEXT),
    ("jsonb", f"'{JSON_TEXT}'::jsonb", 3802, JSON_TEXT),
    # int4[] and other arrays beyond text[] make asyncpg introspect pg_catalog.pg_type, which
    # arrives with the pg_catalog issue (#8); text[] is one of asyncpg's bootstrap codecs.
    ("text[]", "ARRAY['a', 'b c', NULL]::text[]", 1009, ["a", "b c", None]),
]

# (SQL type, type OID, name asyncpg reports for it, a value sent as a binary parameter).
PARAMETERS: list[tuple[str, int, str, Any]] = [
    ("bool", 16, "bool", False),
    ("int2", 21, "int2", -32768),
    ("int4", 23, "int4", -2147483648),
    ("int8", 20, "int8", 9223372036854775807),
    ("float4", 700, "float4", -0.25),
    ("float8", 701, "float8", -2.25e300),
    ("numeric", 1700, "numeric", Decimal("-12345.6789")),
    ("text", 25, "text", "héllo 'quoted' ✓"),
    ("varchar", 1043, "varchar", "abc"),
    ("bytea", 17, "bytea", b"\x00\xde\xad\\'"),
    ("date", 1082, "date", dt.date(2024, 2, 29)),
    ("time", 1083, "time", dt.time(13, 45, 30, 123456)),
    ("timestamp", 1114, "timestamp", dt.datetime(2024, 2, 29, 13, 45, 30, 123456)),
    ("timestamptz", 1184, "timestamptz", dt.datetime(2024, 2, 29, 11, 45, 30, 123456, tzinfo=UTC)),
    ("interval", 1186, "interval", dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=5)),
    ("uuid", 2950, "uuid", uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
    ("json", 114, "json", JSON_TEXT),
    ("jsonb", 3802, "jsonb", JSON_TEXT),
    ("text[]", 1009, "text[]", ["a", "b c", None]),
]


@pytest.fixture
async def conn(any_gateway: GatewayEndpoint) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(any_gateway.url())
    yield connection
    await connection.close()


async def test_connect_and_fetchval(conn: asyncpg.Connection) -> None:
    assert await conn.fetchval("SELECT 1") == 1
    assert not conn.is_closed()
    assert conn.get_server_version().major == 16


async def test_prepared_statement_reports_parameters_and_attributes(conn: asyncpg.Connection) -> None:
    stmt = await conn.prepare("SELECT $1::int4 + $2::int4 AS total, $3::text AS label")
    assert [(p.oid, p.name, p.kind, p.schema) for p in stmt.get_parameters()] == [
        (23, "int4", "scalar", "pg_catalog"),
        (23, "int4", "scalar", "pg_catalog"),
        (25, "text", "scalar", "pg_catalog"),
    ]
    assert [(a.name, a.type.oid, a.type.name) for a in stmt.get_attributes()] == [
        ("total", 23, "int4"),
        ("label", 25, "text"),
    ]
    rows = await stmt.fetch(40, 2, "answer")
    assert [tuple(row) for row in rows] == [(42, "answer")]
    assert dict(rows[0]) == {"total": 42, "label": "answer"}
    assert await stmt.fetchrow(1, 2, None) == (3, None)
    assert await stmt.fetchval(-1, 1, "x") == 0


@pytest.mark.parametrize(
    ("pg_type", "type_oid", "type_name", "value"), PARAMETERS, ids=[p[0] for p in PARAMETERS]
)
async def test_binary_parameter_round_trips_every_type(
    conn: asyncpg.Connection, pg_type: str, type_oid: int, type_name: str, value: Any
) -> None:
    stmt = await conn.prepare(f"SELECT $1::{pg_type} AS value")
    assert [(p.oid, p.name) for p in stmt.get_parameters()] == [(type_oid, type_name)]
    assert [(a.name, a.type.oid) for a in stmt.get_attributes()] == [("value", type_oid)]
    assert await stmt.fetchval(value) == value
    assert await stmt.fetchval(None) is None


@pytest.mark.parametrize(
    ("sql", "type_oid", "expected"), [t[1:] for t in TYPED_LITERALS], ids=[t[0] for t in TYPED_LITERALS]
)
async def test_binary_result_of_every_type(
    conn: asyncpg.Connection, sql: str, type_oid: int, expected: Any
) -> None:
    stmt = await conn.prepare(f"SELECT {sql} AS value")
    assert [(a.name, a.type.oid) for a in stmt.get_attributes()] == [("value", type_oid)]
    assert await stmt.fetchval() == expected


async def test_all_types_in_one_row(conn: asyncpg.Connection) -> None:
    row = await conn.fetchrow("SELECT " + ", ".join(sql for _, sql, _, _ in TYPED_LITERALS))
    assert tuple(row) == tuple(value for _, _, _, value in TYPED_LITERALS)


async def test_executemany_runs_every_parameter_set(conn: asyncpg.Connection) -> None:
    assert await conn.executemany("SELECT $1::int", [(1,), (2,)]) is None
    assert await conn.executemany("SELECT $1::text || $2::text", [("a", "b"), ("c", "d"), ("e", "f")]) is None
    assert await conn.fetchval("SELECT 3") == 3


async def test_executemany_stops_at_the_first_error(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
        await conn.executemany("SELECT 10 / $1::int", [(1,), (0,), (2,)])
    assert not conn.is_in_transaction()
    assert await conn.fetchval("SELECT 4") == 4


async def test_fetch_a_thousand_rows(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch("SELECT generate_series(1, 1000) AS n")
    assert [row["n"] for row in rows] == list(range(1, 1001))


async def test_cursor_iteration_inside_a_transaction(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        assert conn.is_in_transaction()
        numbers = [row["n"] async for row in conn.cursor("SELECT generate_series(1, 10) AS n", prefetch=3)]
        assert numbers == list(range(1, 11))

        cursor = await conn.cursor("SELECT generate_series(1, $1::int) AS n", 10)
        assert [row["n"] for row in await cursor.fetch(4)] == [1, 2, 3, 4]
        assert await cursor.fetchrow() == (5,)
        assert [row["n"] for row in await cursor.fetch(100)] == [6, 7, 8, 9, 10]
        assert await cursor.fetch(1) == []
        assert await cursor.fetchrow() is None
    assert not conn.is_in_transaction()


async def test_two_cursors_interleave(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        low = await conn.cursor("SELECT generate_series(1, 4) AS n")
        high = await conn.cursor("SELECT generate_series(101, 104) AS n")
        fetched = []
        for _ in range(2):
            fetched += [row["n"] for row in await low.fetch(2)]
            fetched += [row["n"] for row in await high.fetch(2)]
    assert fetched == [1, 2, 101, 102, 3, 4, 103, 104]


async def test_transaction_commit_and_rollback_status(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        assert conn.is_in_transaction()
    assert not conn.is_in_transaction()

    transaction = conn.transaction()
    await transaction.start()
    assert await conn.fetchval("SELECT 5") == 5
    await transaction.rollback()
    assert not conn.is_in_transaction()


async def test_division_by_zero_keeps_the_connection_usable(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.exceptions.DivisionByZeroError) as excinfo:
        await conn.fetchval("SELECT 1/0")
    assert excinfo.value.sqlstate == "22012"
    assert str(excinfo.value) == "division by zero"
    assert await conn.fetchval("SELECT 6") == 6


async def test_errors_map_to_their_sqlstates(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.exceptions.PostgresSyntaxError) as syntax:
        await conn.fetchval("SELEC 1")
    assert syntax.value.sqlstate == "42601"
    with pytest.raises(asyncpg.exceptions.UndefinedColumnError) as column:
        await conn.fetchval("SELECT no_such_column")
    assert column.value.sqlstate == "42703"
    with pytest.raises(asyncpg.exceptions.UndefinedFunctionError) as function:
        await conn.fetchval("SELECT no_such_function(1)")
    assert function.value.sqlstate == "42883"
    assert await conn.fetchval("SELECT 7") == 7


async def test_error_inside_a_transaction_rolls_it_back(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
        async with conn.transaction():
            await conn.fetchval("SELECT 1/0")
    assert not conn.is_in_transaction()
    assert await conn.fetchval("SELECT 8") == 8


async def test_timeout_cancels_the_running_query(conn: asyncpg.Connection) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await conn.fetchval("SELECT pg_sleep(30)", timeout=0.5)
    # asyncpg sent a CancelRequest and waited for ReadyForQuery; the session is free again at once.
    assert await conn.fetchval("SELECT 9") == 9
    assert time.monotonic() - started < 10.0


async def test_wrong_password_is_refused(gateway_scram_tls: GatewayEndpoint) -> None:
    with pytest.raises(asyncpg.exceptions.InvalidPasswordError) as excinfo:
        await asyncpg.connect(
            host=gateway_scram_tls.host,
            port=gateway_scram_tls.port,
            user=gateway_scram_tls.user,
            password="not-the-password",
            database=gateway_scram_tls.database,
            ssl="require",
        )
    assert excinfo.value.sqlstate == "28P01"
    assert str(excinfo.value) == f'password authentication failed for user "{gateway_scram_tls.user}"'
