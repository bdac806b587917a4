"""Unit tests for gateway.session.Session, driven directly: no sockets, DuckDB runs in-process.

Each test gets a fresh authenticated session (closed afterwards). Expected tags, column names,
type OIDs, messages and SQLSTATEs were checked against a real PostgreSQL 15 server.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway import errors
from gateway.protocol import types as pgtypes
from gateway.protocol.state import ConnectionState, TransactionStatus
from gateway.query.results import Column, Notice
from gateway.session import Session
from gateway.sql import statements as st

IN_FAILED_TRANSACTION = "current transaction is aborted, commands ignored until end of transaction block"


@pytest.fixture
def session() -> Iterator[Session]:
    state = ConnectionState()
    state.start_authentication()
    state.authenticated()
    session = Session(user="u", database="d", startup={}, backend_pid=1, state=state)
    yield session
    session.close()


@dataclass
class Outcome:
    """What one executed statement produced, with the rows already fetched."""

    tag: str
    columns: tuple[Column, ...] | None = None
    rows: list[tuple[Any, ...]] | None = None
    notices: list[Notice] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)


async def run(session: Session, sql: str, params: tuple[Any, ...] = ()) -> Outcome:
    """Prepare and execute one statement, fetching all of its rows."""
    prepared = session.prepare(sql, tuple(0 for _ in params))
    result = await session.execute(prepared, params)
    rows = await result.rows.fetch(0) if result.rows is not None else None
    return Outcome(result.tag, result.columns, rows, result.notices, result.changed_parameters)


async def run_error(session: Session, sql: str) -> errors.LaminarError:
    """Prepare and execute one statement that must fail; the error it raised."""
    with pytest.raises(errors.LaminarError) as caught:
        await run(session, sql)
    return caught.value


def status(session: Session) -> TransactionStatus:
    """The transaction status the next ReadyForQuery would report."""
    return session.state.transaction


async def show(session: Session, name: str) -> str:
    outcome = await run(session, f"SHOW {name}")
    assert outcome.rows is not None
    assert len(outcome.rows) == 1
    value: str = outcome.rows[0][0]
    return value


# --- parsing --------------------------------------------------------------------------------------
def test_prepare_all_splits_statements(session: Session) -> None:
    prepared = session.prepare_all("BEGIN; SELECT 1; SHOW TimeZone; SET jit = off; COMMIT")
    assert [type(p.statement) for p in prepared] == [
        st.TransactionStatement,
        st.SelectStatement,
        st.ShowStatement,
        st.SetStatement,
        st.TransactionStatement,
    ]
    assert all(p.sql == "BEGIN; SELECT 1; SHOW TimeZone; SET jit = off; COMMIT" for p in prepared)


def test_prepare_all_of_empty_text_is_empty(session: Session) -> None:
    assert session.prepare_all("") == []
    assert session.prepare_all(" ;  ") == []
    assert session.prepare("").statement is None


def test_prepare_refuses_several_statements(session: Session) -> None:
    with pytest.raises(errors.SyntaxError_) as caught:
        session.prepare("SELECT 1; SELECT 2")
    assert caught.value.sqlstate == "42601"
    assert caught.value.message == "cannot insert multiple commands into a prepared statement"


def test_cached_prepare_returns_the_identical_object(session: Session) -> None:
    first = session.prepare("SELECT 1 + 1 AS two")
    assert session.prepare("SELECT 1 + 1 AS two") is first
    assert session.prepare_all("SELECT 1 + 1 AS two") is session.prepare_all("SELECT 1 + 1 AS two")
    assert session.prepare("SELECT 1 + 1 AS two", (23,)) is not first


async def test_cached_statement_executes_again(session: Session) -> None:
    assert (await run(session, "SELECT 20 + 22 AS n")).rows == [(42,)]
    assert (await run(session, "SELECT 20 + 22 AS n")).rows == [(42,)]


# --- SELECT results ---------------------------------------------------------------------------------
async def test_select_one_column_is_named_question_column(session: Session) -> None:
    outcome = await run(session, "SELECT 1")
    assert outcome.tag == "SELECT"
    assert outcome.columns == (Column("?column?", pgtypes.INT4, 4),)
    assert outcome.rows == [(1,)]


async def test_select_now_column_is_named_now(session: Session) -> None:
    outcome = await run(session, "SELECT now()")
    assert outcome.columns == (Column("now", pgtypes.TIMESTAMPTZ, 8),)
    assert outcome.rows is not None
    assert len(outcome.rows) == 1


async def test_select_literals_with_aliases(session: Session) -> None:
    outcome = await run(session, "SELECT 1 AS a, 'x' AS b, true AS c")
    assert [(c.name, c.type_oid) for c in outcome.columns or ()] == [("a", 23), ("b", 25), ("c", 16)]
    assert outcome.rows == [(1, "x", True)]


async def test_select_through_duckdb_returns_rows_in_order(session: Session) -> None:
    outcome = await run(session, "SELECT x * 2 AS y FROM (VALUES (1), (2), (3)) AS t(x) ORDER BY x")
    assert outcome.columns == (Column("y", pgtypes.INT4, 4),)
    assert outcome.rows == [(2,), (4,), (6,)]


async def test_select_several_rows_fetched_in_parts(session: Session) -> None:
    prepared = session.prepare("SELECT x FROM (VALUES (1), (2), (3)) AS t(x) ORDER BY x")
    result = await session.execute(prepared)
    assert result.rows is not None
    assert await result.rows.fetch(2) == [(1,), (2,)]
    assert await result.rows.fetch(2) == [(3,)]
    assert await result.rows.fetch(2) == []


@pytest.mark.parametrize(
    ("sql", "name", "oid", "row"),
    [
        ("SELECT 2 + 3 AS s", "s", 23, (5,)),
        ("SELECT 'a' || 'b' AS t", "t", 25, ("ab",)),
        ("SELECT 7 / 2 AS q", "q", 23, (3,)),
        ("SELECT CAST('42' AS int8) AS big", "big", 20, (42,)),
        ("SELECT upper('abc')", "upper", 25, ("ABC",)),
        ("SELECT NULL", "?column?", 25, (None,)),
        ("SELECT 'abc'", "?column?", 25, ("abc",)),
        ("SELECT 1 = 1 AS eq", "eq", 16, (True,)),
        ("SELECT ARRAY[1, 2] AS arr", "arr", 1007, ([1, 2],)),
        ("SELECT 2.5::float8 AS f", "f", 701, (2.5,)),
        ("SELECT count(*) FROM generate_series(1, 10)", "count", 20, (10,)),
        ("SELECT pg_sleep(0)", "pg_sleep", 2278, ("",)),
        # PostgreSQL: current_database/current_user are name.
        ("SELECT current_database()", "current_database", 19, ("d",)),
        ("SELECT current_user", "current_user", 19, ("u",)),
    ],
)
async def test_select_column_name_type_and_row_match_postgres(
    session: Session, sql: str, name: str, oid: int, row: tuple[Any, ...]
) -> None:
    outcome = await run(session, sql)
    assert [(c.name, c.type_oid) for c in outcome.columns or ()] == [(name, oid)]
    assert outcome.rows == [row]


async def test_select_errors_carry_postgres_sqlstates(session: Session) -> None:
    assert (await run_error(session, "SELECT 1/0")).sqlstate == "22012"
    assert (await run_error(session, "SELECT nosuch")).sqlstate == "42703"
    assert (await run_error(session, "SELECT nosuchfn(1)")).sqlstate == "42883"


# --- syntax errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sql", "message", "position"),
    [
        ("SELECT * FROM WHERE", 'syntax error at or near "WHERE"', 15),
        ("SELECT 1 2 3", 'syntax error at or near "2"', 10),
    ],
)
def test_syntax_error_has_sqlstate_42601_and_postgres_position(
    session: Session, sql: str, message: str, position: int
) -> None:
    with pytest.raises(errors.SyntaxError_) as caught:
        session.prepare_all(sql)
    assert (caught.value.sqlstate, caught.value.message, caught.value.position) == (
        "42601",
        message,
        position,
    )


def test_syntax_error_position_counts_from_the_start_of_a_multi_line_string(session: Session) -> None:
    with pytest.raises(errors.SyntaxError_) as caught:
        session.prepare_all("SELECT 1;\nSELECT * FROM WHERE")
    assert caught.value.position == 25


# --- parameters and describe -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sql", "declared", "inferred"),
    [
        ("SELECT $1::int", (0,), (23,)),
        ("SELECT $1::int", (), (23,)),
        ("SELECT $1 + 1", (0,), (23,)),
        ("SELECT $1", (0,), (25,)),
        ("SELECT $1", (20,), (20,)),
        ("SELECT $1::int8, $2::text, $3::bool", (0, 0, 0), (20, 25, 16)),
    ],
)
def test_parameter_types_are_inferred(
    session: Session, sql: str, declared: tuple[int, ...], inferred: tuple[int, ...]
) -> None:
    assert session.prepare(sql, declared).param_oids == inferred


def test_describe_gives_columns_of_parameterised_select(session: Session) -> None:
    prepared = session.prepare("SELECT $1 + 1", (0,))
    assert session.describe(prepared) == (Column("?column?", pgtypes.INT4, 4),)


async def test_parameterised_select_executes_with_bound_values(session: Session) -> None:
    prepared = session.prepare("SELECT $1::int + 1 AS n, $2 AS t", (0, 0))
    result = await session.execute(prepared, (41, "hi"))
    assert result.rows is not None
    assert await result.rows.fetch(0) == [(42, "hi")]


def test_describe_never_executes(session: Session) -> None:
    started = time.monotonic()
    prepared = session.prepare("SELECT pg_sleep(10)")
    columns = session.describe(prepared)
    elapsed = time.monotonic() - started
    assert columns == (Column("pg_sleep", pgtypes.VOID, 4),)
    assert elapsed < 5, elapsed


def test_describe_of_show_and_of_statements_without_rows(session: Session) -> None:
    assert session.describe(session.prepare("SHOW TimeZone")) == (Column("TimeZone", pgtypes.TEXT),)
    assert session.describe(session.prepare("BEGIN")) is None
    assert session.describe(session.prepare("SET jit = on")) is None


# --- SET / SHOW / RESET ----------------------------------------------------------------------------------
async def test_show_uses_the_canonical_setting_name(session: Session) -> None:
    outcome = await run(session, "SHOW timezone")
    assert outcome.tag == "SHOW"
    assert outcome.columns == (Column("TimeZone", pgtypes.TEXT),)
    assert outcome.rows == [("UTC",)]


async def test_show_multi_word_setting(session: Session) -> None:
    outcome = await run(session, "SHOW transaction isolation level")
    assert outcome.columns == (Column("transaction_isolation", pgtypes.TEXT),)
    assert outcome.rows == [("read committed",)]


async def test_set_reported_setting_reports_the_change(session: Session) -> None:
    outcome = await run(session, "SET TimeZone = 'Europe/Paris'")
    assert (outcome.tag, outcome.columns, outcome.rows) == ("SET", None, None)
    assert outcome.changed == [("TimeZone", "Europe/Paris")]
    assert await show(session, "timezone") == "Europe/Paris"


async def test_set_unreported_setting_reports_nothing(session: Session) -> None:
    outcome = await run(session, "SET extra_float_digits = 3")
    assert (outcome.tag, outcome.changed) == ("SET", [])
    assert await show(session, "extra_float_digits") == "3"


async def test_reset_restores_the_default_and_reports_it(session: Session) -> None:
    await run(session, "SET TimeZone = 'Europe/Paris'")
    outcome = await run(session, "RESET TimeZone")
    assert (outcome.tag, outcome.changed) == ("RESET", [("TimeZone", "UTC")])
    assert await show(session, "TimeZone") == "UTC"


async def test_reset_all_restores_every_setting(session: Session) -> None:
    await run(session, "SET application_name = 'app'")
    await run(session, "SET extra_float_digits = 2")
    outcome = await run(session, "RESET ALL")
    assert (outcome.tag, outcome.changed) == ("RESET", [("application_name", "")])
    assert await show(session, "application_name") == ""
    assert await show(session, "extra_float_digits") == "1"


async def test_dotted_custom_setting_is_accepted_and_shown(session: Session) -> None:
    outcome = await run(session, "SET myapp.tenant = 'acme'")
    assert (outcome.tag, outcome.changed) == ("SET", [])
    shown = await run(session, "SHOW myapp.tenant")
    assert shown.columns == (Column("myapp.tenant", pgtypes.TEXT),)
    assert shown.rows == [("acme",)]


async def test_reset_custom_setting_leaves_it_empty(session: Session) -> None:
    """PostgreSQL keeps a placeholder once defined: after RESET, SHOW gives '' (not 42704)."""
    await run(session, "SET myapp.tenant = 'acme'")
    assert (await run(session, "RESET myapp.tenant")).tag == "RESET"
    assert await show(session, "myapp.tenant") == ""


@pytest.mark.parametrize("sql", ["SET foo = 1", "SHOW foo", "RESET foo"])
async def test_unknown_undotted_setting_is_42704(session: Session, sql: str) -> None:
    error = await run_error(session, sql)
    assert (error.sqlstate, error.message) == ("42704", 'unrecognized configuration parameter "foo"')


async def test_fixed_setting_cannot_be_changed(session: Session) -> None:
    error = await run_error(session, "SET server_version = '1'")
    assert (error.sqlstate, error.message) == ("55P02", 'parameter "server_version" cannot be changed')


async def test_invalid_setting_value_is_22023(session: Session) -> None:
    error = await run_error(session, "SET statement_timeout = 'abc'")
    assert (error.sqlstate, error.message) == (
        "22023",
        'invalid value for parameter "statement_timeout": "abc"',
    )


async def test_set_inside_a_rolled_back_transaction_is_undone(session: Session) -> None:
    await run(session, "BEGIN")
    await run(session, "SET TimeZone = 'Europe/Paris'")
    await run(session, "ROLLBACK")
    assert await show(session, "TimeZone") == "UTC"


async def test_set_local_lasts_until_the_end_of_the_transaction(session: Session) -> None:
    await run(session, "BEGIN")
    assert (await run(session, "SET LOCAL TimeZone = 'Europe/Paris'")).changed == [
        ("TimeZone", "Europe/Paris")
    ]
    assert await show(session, "TimeZone") == "Europe/Paris"
    assert (await run(session, "COMMIT")).changed == [("TimeZone", "UTC")]
    assert await show(session, "TimeZone") == "UTC"


async def test_set_local_of_a_custom_setting_ends_with_the_transaction(session: Session) -> None:
    await run(session, "BEGIN")
    await run(session, "SET LOCAL myapp.tenant = 'acme'")
    assert await show(session, "myapp.tenant") == "acme"
    await run(session, "COMMIT")
    assert await show(session, "myapp.tenant") == ""


async def test_set_local_outside_a_transaction_is_a_warning(session: Session) -> None:
    outcome = await run(session, "SET LOCAL TimeZone = 'Europe/Paris'")
    assert outcome.tag == "SET"
    assert outcome.notices == [Notice("SET LOCAL can only be used in transaction blocks", "25P01", "WARNING")]
    assert await show(session, "TimeZone") == "UTC"


# --- transactions ------------------------------------------------------------------------------------------
async def test_begin_commit_rollback_tags_and_status(session: Session) -> None:
    begin = await run(session, "BEGIN")
    assert (begin.tag, begin.notices, status(session)) == ("BEGIN", [], TransactionStatus.IN_TRANSACTION)
    commit = await run(session, "COMMIT")
    assert (commit.tag, commit.notices, status(session)) == ("COMMIT", [], TransactionStatus.IDLE)
    await run(session, "BEGIN")
    rollback = await run(session, "ROLLBACK")
    assert (rollback.tag, rollback.notices, status(session)) == ("ROLLBACK", [], TransactionStatus.IDLE)


@pytest.mark.parametrize(
    ("begin", "end", "tags"),
    [
        ("START TRANSACTION", "END", ("START TRANSACTION", "COMMIT")),
        ("BEGIN TRANSACTION", "COMMIT TRANSACTION", ("BEGIN", "COMMIT")),
        ("BEGIN WORK", "ROLLBACK WORK", ("BEGIN", "ROLLBACK")),
        ("BEGIN", "ABORT", ("BEGIN", "ROLLBACK")),
    ],
)
async def test_transaction_synonyms_have_postgres_tags(
    session: Session, begin: str, end: str, tags: tuple[str, str]
) -> None:
    assert (await run(session, begin)).tag == tags[0]
    assert status(session) is TransactionStatus.IN_TRANSACTION
    assert (await run(session, end)).tag == tags[1]
    assert status(session) is TransactionStatus.IDLE


async def test_begin_twice_is_a_warning(session: Session) -> None:
    await run(session, "BEGIN")
    outcome = await run(session, "BEGIN")
    assert outcome.tag == "BEGIN"
    assert outcome.notices == [Notice("there is already a transaction in progress", "25001", "WARNING")]
    assert status(session) is TransactionStatus.IN_TRANSACTION


@pytest.mark.parametrize("action", ["COMMIT", "ROLLBACK"])
async def test_end_without_a_transaction_is_a_warning(session: Session, action: str) -> None:
    outcome = await run(session, action)
    assert outcome.tag == action
    assert outcome.notices == [Notice("there is no transaction in progress", "25P01", "WARNING")]
    assert status(session) is TransactionStatus.IDLE


async def test_failed_transaction_refuses_statements_and_commit_rolls_back(session: Session) -> None:
    await run(session, "BEGIN")
    assert (await run_error(session, "SELECT 1/0")).sqlstate == "22012"
    assert status(session) is TransactionStatus.FAILED
    for sql in ("SELECT 1", "SHOW TimeZone", "SET jit = on", "SAVEPOINT a", "BEGIN"):
        error = await run_error(session, sql)
        assert (error.sqlstate, error.message) == ("25P02", IN_FAILED_TRANSACTION), sql
    assert status(session) is TransactionStatus.FAILED
    commit = await run(session, "COMMIT")
    assert (commit.tag, commit.notices) == ("ROLLBACK", [])
    assert status(session) is TransactionStatus.IDLE
    assert (await run(session, "SELECT 1")).rows == [(1,)]


async def test_rollback_of_a_failed_transaction(session: Session) -> None:
    await run(session, "BEGIN")
    await run_error(session, "SELECT nosuch")
    assert (await run(session, "ROLLBACK")).tag == "ROLLBACK"
    assert status(session) is TransactionStatus.IDLE


async def test_error_outside_a_transaction_stays_idle(session: Session) -> None:
    await run_error(session, "SELECT 1/0")
    assert status(session) is TransactionStatus.IDLE
    assert (await run(session, "SELECT 1")).rows == [(1,)]


# --- savepoints ------------------------------------------------------------------------------------------
async def test_rollback_to_savepoint_restores_a_failed_transaction(session: Session) -> None:
    await run(session, "BEGIN")
    assert (await run(session, "SAVEPOINT sp")).tag == "SAVEPOINT"
    await run_error(session, "SELECT 1/0")
    assert status(session) is TransactionStatus.FAILED
    assert (await run(session, "ROLLBACK TO SAVEPOINT sp")).tag == "ROLLBACK"
    assert status(session) is TransactionStatus.IN_TRANSACTION
    assert (await run(session, "SELECT 1")).rows == [(1,)]
    assert (await run(session, "RELEASE SAVEPOINT sp")).tag == "RELEASE"
    assert (await run(session, "COMMIT")).tag == "COMMIT"
    assert status(session) is TransactionStatus.IDLE


async def test_savepoint_survives_rollback_to_it_but_later_ones_do_not(session: Session) -> None:
    await run(session, "BEGIN")
    await run(session, "SAVEPOINT a")
    await run(session, "SAVEPOINT b")
    assert (await run(session, "ROLLBACK TO a")).tag == "ROLLBACK"
    error = await run_error(session, "RELEASE b")
    assert (error.sqlstate, error.message) == ("3B001", 'savepoint "b" does not exist')
    await run(session, "ROLLBACK")
    await run(session, "BEGIN")
    await run(session, "SAVEPOINT a")
    await run(session, "ROLLBACK TO a")
    assert (await run(session, "ROLLBACK TO a")).tag == "ROLLBACK"


async def test_rollback_to_unknown_savepoint_is_3b001(session: Session) -> None:
    await run(session, "BEGIN")
    error = await run_error(session, "ROLLBACK TO SAVEPOINT nope")
    assert (error.sqlstate, error.message) == ("3B001", 'savepoint "nope" does not exist')


async def test_release_in_a_failed_transaction_is_25p02(session: Session) -> None:
    await run(session, "BEGIN")
    await run(session, "SAVEPOINT sp")
    await run_error(session, "SELECT 1/0")
    assert (await run_error(session, "RELEASE SAVEPOINT sp")).sqlstate == "25P02"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SAVEPOINT sp", "SAVEPOINT can only be used in transaction blocks"),
        ("ROLLBACK TO SAVEPOINT sp", "ROLLBACK TO SAVEPOINT can only be used in transaction blocks"),
        ("RELEASE SAVEPOINT sp", "RELEASE SAVEPOINT can only be used in transaction blocks"),
    ],
)
async def test_savepoint_commands_outside_a_transaction_are_25p01(
    session: Session, sql: str, message: str
) -> None:
    error = await run_error(session, sql)
    assert (error.sqlstate, error.severity, error.message) == ("25P01", "ERROR", message)
    assert status(session) is TransactionStatus.IDLE


# --- session bookkeeping ------------------------------------------------------------------------------------
async def test_deallocate_unknown_name_is_26000(session: Session) -> None:
    error = await run_error(session, "DEALLOCATE nope")
    assert (error.sqlstate, error.message) == ("26000", 'prepared statement "nope" does not exist')


async def test_deallocate_known_name_and_all(session: Session) -> None:
    session.statements["mine"] = session.prepare("SELECT 1")
    session.statements["other"] = session.prepare("SELECT 2")
    assert (await run(session, "DEALLOCATE mine")).tag == "DEALLOCATE"
    assert list(session.statements) == ["other"]
    assert (await run(session, "DEALLOCATE ALL")).tag == "DEALLOCATE ALL"
    assert session.statements == {}


async def test_nested_encode_and_decode_are_rewritten_innermost_first(session: Session) -> None:
    """As in PostgreSQL 16: SELECT encode(decode(repeat('ab', 3), 'hex'), 'base64'), ... gives
    q6ur and \\x61."""
    outcome = await run(
        session, "SELECT encode(decode(repeat('ab', 3), 'hex'), 'base64'), decode(encode('a', 'hex'), 'hex')"
    )
    assert outcome.rows == [("q6ur", b"a")]


async def test_a_bounded_query_groups_by_tumble_windows_aligned_to_the_epoch(session: Session) -> None:
    outcome = await run(
        session,
        "SELECT u, count(*) AS n, window_start, window_end FROM (VALUES "
        "('a', TIMESTAMPTZ '2024-01-01 10:05:00+00'), ('a', TIMESTAMPTZ '2024-01-01 10:55:00+00'), "
        "('a', TIMESTAMPTZ '2024-01-01 11:00:00+00'), ('b', TIMESTAMPTZ '2024-01-01 10:30:00+00')) "
        "AS t(u, ts) "
        "GROUP BY u, TUMBLE(ts, INTERVAL '1 hour') ORDER BY u, window_start",
    )
    hour = dt.timedelta(hours=1)
    ten = dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    assert [(u, n, start, end) for u, n, start, end in outcome.rows] == [
        ("a", 2, ten, ten + hour),
        ("a", 1, ten + hour, ten + 2 * hour),
        ("b", 1, ten, ten + hour),
    ]


async def test_hop_windows_are_refused_in_a_bounded_query(session: Session) -> None:
    with pytest.raises(errors.FeatureNotSupported):
        session.prepare(
            "SELECT count(*) FROM (VALUES (now())) t(ts) "
            "GROUP BY HOP(ts, INTERVAL '1 minute', INTERVAL '1 hour')"
        )
