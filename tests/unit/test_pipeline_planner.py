"""The pure parts of pipeline planning: what is refused as stateful, which metadata is read, options."""

from __future__ import annotations

import pytest
from sqlglot import exp

from gateway.errors import LaminarError
from gateway.sql import statements as st
from gateway.sql.dialect import parse
from pipelines.options import pipeline_settings
from pipelines.planner import METADATA_NAMES, _check_stateless, _metadata_used


def _queries(body: str) -> list[exp.Expression]:
    (tree,) = parse(f"CREATE PIPELINE p AS {body}")
    statement = st.classify(tree)
    assert isinstance(statement, st.CreatePipelineStatement)
    return [insert.query for insert in statement.inserts]


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ("INSERT INTO o SELECT user_id, count(*) FROM s GROUP BY user_id", "GROUP BY"),
        ("INSERT INTO o SELECT max(a) FROM s", "aggregate functions"),
        ("INSERT INTO o SELECT DISTINCT a FROM s", "SELECT DISTINCT"),
        ("INSERT INTO o SELECT a FROM s ORDER BY a", "ORDER BY"),
        ("INSERT INTO o SELECT a FROM s LIMIT 5", "LIMIT / OFFSET"),
        ("INSERT INTO o SELECT a, row_number() OVER () FROM s", "window functions (OVER)"),
        ("INSERT INTO o SELECT s.a FROM s JOIN t ON s.a = t.a", "JOIN"),
        ("INSERT INTO o SELECT a FROM s UNION SELECT a FROM s", "UNION / INTERSECT / EXCEPT without ALL"),
        ("WITH c AS (SELECT a, count(*) AS n FROM s GROUP BY a) INSERT INTO o SELECT * FROM c", "GROUP BY"),
    ],
)
def test_stateful_selects_are_refused_with_the_reason(body: str, what: str) -> None:
    (query,) = _queries(body)
    with pytest.raises(LaminarError) as raised:
        _check_stateless(query)
    assert raised.value.sqlstate == "0A000"
    assert raised.value.message.startswith(what)


@pytest.mark.parametrize(
    "body",
    [
        "INSERT INTO o SELECT *, CASE WHEN a > 1 THEN 'x' ELSE 'y' END AS b FROM s WHERE a IS NOT NULL",
        "INSERT INTO o SELECT a FROM s WHERE a > 1 UNION ALL SELECT a FROM s WHERE a < 0",
        "WITH v AS (SELECT * FROM s WHERE a > 0) INSERT INTO o SELECT * FROM v",
    ],
)
def test_per_row_selects_pass(body: str) -> None:
    for query in _queries(body):
        _check_stateless(query)


@pytest.mark.parametrize(
    ("body", "used"),
    [
        ("INSERT INTO o SELECT * FROM s", set()),
        (
            "INSERT INTO o SELECT id, _kafka_offset AS o FROM s WHERE _kafka_partition = 0",
            {"_kafka_offset", "_kafka_partition"},
        ),
        ("INSERT INTO o SELECT *, _kafka_headers FROM s", {"_kafka_headers"}),
        ("INSERT INTO o SELECT s.* FROM s", set(METADATA_NAMES)),
    ],
)
def test_the_metadata_columns_a_pipeline_reads(body: str, used: set[str]) -> None:
    assert _metadata_used(_queries(body)) == used


def test_pipeline_options_have_defaults_and_checks() -> None:
    settings = pipeline_settings("p", [("batch_ms", "2 seconds"), ("group_id", "g1")])
    assert (settings.batch_rows, settings.batch_ms, settings.commit_interval_ms) == (10_000, 2_000, 1_000)
    assert settings.group_id == "g1"
    assert pipeline_settings("p", []).group_id == "laminar-pipeline-p"
    with pytest.raises(LaminarError) as unknown:
        pipeline_settings("p", [("batch_rowz", "5")])
    assert (unknown.value.sqlstate, unknown.value.hint) == ("42704", 'Did you mean "batch_rows"?')
    with pytest.raises(LaminarError) as bad:
        pipeline_settings("p", [("batch_rows", "0")])
    assert bad.value.sqlstate == "22023"
