"""The Laminar dialect against fixture files of accepted and rejected statements (no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlglot.errors import ParseError

from gateway.errors import LaminarError
from gateway.sql import statements as st
from gateway.sql.dialect import parse

FIXTURES = Path(__file__).parent / "sql"


def load_cases(name: str, marker: str) -> list[tuple[str, str]]:
    """(expectation, statement) pairs from a fixture file with '-- <marker>: X' headers."""
    cases: list[tuple[str, list[str]]] = []
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        if line.startswith(f"-- {marker}:"):
            cases.append((line.split(":", 1)[1].strip(), []))
        elif cases and not line.startswith("--"):
            cases[-1][1].append(line)
    return [(expected, "\n".join(lines).strip()) for expected, lines in cases]


ACCEPTED = load_cases("accepted.sql", "accept")
REJECTED = load_cases("rejected.sql", "reject")


def sqlstate_of(sql: str) -> str | None:
    try:
        for tree in parse(sql):
            st.classify(tree)
    except ParseError:
        return "42601"
    except LaminarError as exc:
        return exc.sqlstate
    return None


def test_fixture_files_are_not_empty() -> None:
    assert len(ACCEPTED) >= 30
    assert len(REJECTED) >= 8


@pytest.mark.parametrize(("expected", "sql"), ACCEPTED, ids=[sql for _, sql in ACCEPTED])
def test_accepted_statement_becomes_its_typed_statement(expected: str, sql: str) -> None:
    trees = parse(sql)
    assert len(trees) == 1
    assert type(st.classify(trees[0])).__name__ == expected


@pytest.mark.parametrize(("sqlstate", "sql"), REJECTED, ids=[sql for _, sql in REJECTED])
def test_rejected_statement_gets_its_sqlstate(sqlstate: str, sql: str) -> None:
    assert sqlstate_of(sql) == sqlstate


def test_several_statements_split_and_empty_ones_dropped() -> None:
    assert [type(st.classify(t)).__name__ for t in parse("BEGIN; SELECT 1;; COMMIT;")] == [
        "TransactionStatement",
        "SelectStatement",
        "TransactionStatement",
    ]
    assert parse("") == []
    assert parse(" ; -- only a comment\n") == []


def test_session_statements_carry_their_details() -> None:
    assert st.classify(parse("SHOW transaction isolation level")[0]) == st.ShowStatement(
        "transaction_isolation"
    )
    assert st.classify(parse("SET TIME ZONE 'Europe/Berlin'")[0]) == st.SetStatement(
        "timezone", "Europe/Berlin"
    )
    assert st.classify(parse("SET LOCAL a.b = 1")[0]) == st.SetStatement("a.b", "1", local=True)
    assert st.classify(parse("SET search_path TO DEFAULT")[0]) == st.SetStatement("search_path", None)
    assert st.classify(parse("DEALLOCATE ALL")[0]) == st.SessionResetStatement(
        "DEALLOCATE ALL", deallocate=""
    )
    assert st.classify(parse("ROLLBACK TO SAVEPOINT sp")[0]) == st.SavepointStatement("ROLLBACK", "sp")


def test_words_of_session_statements_stay_usable_as_column_names() -> None:
    tree = parse("SELECT reset, discard, close, release FROM t")[0]
    assert isinstance(st.classify(tree), st.SelectStatement)
    assert tree.named_selects == ["reset", "discard", "close", "release"]


def test_interval_literal_keeps_its_whole_text() -> None:
    sql = parse("SELECT INTERVAL '1 day 02:03:04'")[0].sql("duckdb")
    assert "'1 day 02:03:04'" in sql


def test_create_pipeline_keeps_its_text_options_and_every_insert_of_a_fan_out() -> None:
    sql = (
        "CREATE PIPELINE IF NOT EXISTS fan WITH (batch_rows = 50) AS\n"
        "WITH processed AS (SELECT *, 'main' AS target FROM source_events)\n"
        "INSERT INTO main_sink SELECT * FROM processed WHERE target = 'main'\n"
        "UNION ALL\n"
        "INSERT INTO dlq_sink SELECT * FROM processed WHERE target = 'dlq'"
    )
    (tree,) = parse(sql + ";")
    statement = st.classify(tree)
    assert isinstance(statement, st.CreatePipelineStatement)
    assert (statement.name, statement.if_not_exists) == ("fan", True)
    assert statement.options == (("batch_rows", "50"),)
    assert statement.sql == sql
    assert statement.body == sql.split(" AS\n", 1)[1]
    assert [insert.target for insert in statement.inserts] == ["main_sink", "dlq_sink"]
    for insert in statement.inserts:  # the leading CTE belongs to every INSERT of the fan-out
        assert insert.query.args["with_"].expressions[0].alias == "processed"
        assert not insert.from_values


def test_pipeline_statements_carry_their_details() -> None:
    (alter,) = parse("ALTER PIPELINE Events_P PAUSE")
    assert st.classify(alter) == st.AlterPipelineStatement("events_p", "PAUSE")
    (drop,) = parse('DROP PIPELINE IF EXISTS "Quoted"')
    assert st.classify(drop) == st.DropStatement("PIPELINE", "Quoted", if_exists=True)
    (explain,) = parse("EXPLAIN PIPELINE p")
    assert st.classify(explain) == st.ExplainPipelineStatement(name="p")
    (explain_create,) = parse("EXPLAIN CREATE PIPELINE p AS INSERT INTO o SELECT 1 AS a FROM s")
    explained = st.classify(explain_create)
    assert isinstance(explained, st.ExplainPipelineStatement)
    assert explained.create is not None
    assert explained.create.inserts[0].target == "o"


def test_a_plain_union_all_of_selects_is_still_one_select() -> None:
    (tree,) = parse("SELECT 1 UNION ALL SELECT 2")
    assert isinstance(st.classify(tree), st.SelectStatement)
