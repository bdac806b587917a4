"""The emulated pg_catalog and information_schema, and SQL cursors, on a session without sockets.

The session has no catalog store here, so it shows the built-in objects only: the system views
under ``system``, pg_catalog's and information_schema's own relations, the built-in types, and the
session's user as the bootstrap role. Client-level checks (psql, pgjdbc, SQLAlchemy, asyncpg,
psqlODBC, the replayed tools) are in tests/integration/test_bi_*.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from gateway.errors import LaminarError
from gateway.protocol import types as pgtypes
from gateway.protocol.state import ConnectionState
from gateway.query.pg_catalog_rows import stable_oid
from gateway.session import Session


@pytest.fixture
def session() -> Session:
    return Session(user="alice", database="laminar", startup={}, backend_pid=7, state=ConnectionState())


async def rows(session: Session, sql: str) -> list[tuple[object, ...]]:
    result = await session.execute(session.prepare(sql))
    assert result.rows is not None, sql
    return list(await result.rows.fetch(0))


async def one(session: Session, sql: str) -> Sequence[object]:
    (row,) = await rows(session, sql)
    return row


async def sqlstate(session: Session, sql: str) -> tuple[str, str]:
    with pytest.raises(LaminarError) as raised:
        await session.execute(session.prepare(sql))
    return raised.value.sqlstate, raised.value.message


async def test_regclass_casts_look_relations_up_both_ways(session: Session) -> None:
    pg_class = stable_oid("relation", "pg_catalog.pg_class")
    assert await one(session, "SELECT 'pg_class'::regclass::oid, 'pg_catalog.pg_class'::regclass::oid") == (
        pg_class,
        pg_class,
    )
    assert await one(session, f"SELECT {pg_class}::regclass::text") == ("pg_class",)
    pipelines = stable_oid("relation", "system.pipelines")
    assert await one(session, f"SELECT c.oid::regclass FROM pg_class c WHERE c.oid = {pipelines}") == (
        "system.pipelines",
    )
    assert await one(session, "SELECT 'nothing_here'::regclass") == (None,)


async def test_format_type_speaks_sql_names_with_modifiers(session: Session) -> None:
    assert await one(
        session,
        "SELECT format_type(23, NULL), pg_catalog.format_type(1043, 24), format_type(1700, 655366), "
        "format_type(1184, -1), format_type(1007, -1), format_type(16, NULL)",
    ) == (
        "integer",
        "character varying(20)",
        "numeric(10,2)",
        "timestamp with time zone",
        "integer[]",
        "boolean",
    )
    assert await one(session, "SELECT 'int4'::regtype::oid, 'integer'::regtype::oid") == (23, 23)


async def test_psql_style_predicates(session: Session) -> None:
    found = await rows(
        session,
        "SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.~) '^(pub.*)$' "
        "COLLATE pg_catalog.default AND pg_catalog.pg_get_userbyid(n.nspowner) = 'alice'",
    )
    assert found == [("public",)]
    assert await one(session, "SELECT count(*) FROM pg_type WHERE typname = ANY ('{int4,text}')") == (2,)
    assert await one(
        session, "SELECT count(*) FROM pg_get_keywords() WHERE word <> ALL ('{select,from}')"
    ) == (458,)


async def test_catalog_tables_have_postgres_columns_and_types(session: Session) -> None:
    result = await session.execute(
        session.prepare("SELECT oid, relname, relkind FROM pg_catalog.pg_class LIMIT 1")
    )
    assert [(c.name, c.type_oid) for c in result.columns or ()] == [
        ("oid", pgtypes.OID),  # described as PostgreSQL does, though DuckDB holds it as BIGINT
        ("relname", pgtypes.NAME),
        ("relkind", pgtypes.TEXT),  # "char" has no codec here: text, as before
    ]
    assert await one(session, "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attname = 'relkind'") == (
        1,
    )
    views = await rows(
        session,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'system' "
        "AND table_type = 'VIEW' AND table_name IN ('pipelines', 'nodes') ORDER BY 1",
    )
    assert views == [("nodes",), ("pipelines",)]
    role = await one(session, "SELECT rolname, rolsuper, oid FROM pg_roles")
    assert role == ("alice", True, 10)


async def test_functions_clients_call(session: Session) -> None:
    assert await one(session, "SELECT current_schemas(true), current_schemas(false)") == (
        ["pg_catalog", "public"],
        ["public"],
    )
    assert await one(
        session, "SELECT x.x, x.n FROM information_schema._pg_expandarray(ARRAY[7, 8]) x LIMIT 1"
    ) == (
        7,
        1,
    )
    assert await one(
        session, "SELECT pg_encoding_to_char(6), quote_ident('Mixed Case'), quote_ident('plain')"
    ) == (
        "UTF8",
        '"Mixed Case"',
        "plain",
    )
    assert await one(session, "SELECT s[2] FROM string_to_array('a,b,c', ',') s") == ("b",)
    assert await one(session, "SELECT c.tableoid FROM pg_class c LIMIT 1") == (
        stable_oid("relation", "pg_catalog.pg_class"),
    )
    assert await one(session, "SELECT set_config('application_name', 'bi', false)") == ("bi",)
    assert session.settings.get("application_name") == "bi"


async def test_unknown_catalog_objects_are_named_in_the_error(session: Session) -> None:
    assert await sqlstate(session, "SELECT * FROM pg_catalog.pg_nothing") == (
        "42P01",
        'relation "pg_catalog.pg_nothing" does not exist',
    )
    state, message = await sqlstate(session, "SELECT pg_catalog.no_such_function(1)")
    assert state == "42883"
    assert "no_such_function" in message


async def test_sql_cursors_declare_fetch_move_close(session: Session) -> None:
    assert await sqlstate(session, "DECLARE c CURSOR FOR SELECT 1") == (
        "25P01",
        "DECLARE CURSOR can only be used in transaction blocks",
    )
    await session.execute(
        session.prepare("DECLARE h CURSOR WITH HOLD FOR SELECT * FROM generate_series(1, 5)")
    )
    assert await rows(session, "FETCH 2 FROM h") == [(1,), (2,)]
    moved = await session.execute(session.prepare("MOVE 1 h"))
    assert moved.command_tag(0) == "MOVE 1"
    assert await rows(session, "FETCH ALL IN h") == [(4,), (5,)]
    assert await sqlstate(session, "DECLARE h CURSOR WITH HOLD FOR SELECT 1") == (
        "42P03",
        'cursor "h" already exists',
    )
    await session.execute(session.prepare("CLOSE h"))
    assert await sqlstate(session, "FETCH h") == ("34000", 'cursor "h" does not exist')
