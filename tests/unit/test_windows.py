"""Windows of pipelines without a broker: finding TUMBLE/HOP, the watermark, and the state in DuckDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from sqlglot import exp

from gateway.errors import LaminarError
from gateway.protocol import types as pg
from gateway.sql import statements as st
from gateway.sql.dialect import parse
from pipelines.checkpoints import Checkpoint
from pipelines.planner import pipeline_engine
from pipelines.windows import Watermark, WindowState, find_window, plan_windowed

HOUR_US = 3_600_000_000
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SOURCE_COLUMNS = [
    ("user_id", "VARCHAR", pg.TEXT),
    ("amount", "DOUBLE", pg.FLOAT8),
    ("ts", "TIMESTAMP WITH TIME ZONE", pg.TIMESTAMPTZ),
    ("_kafka_partition", "INTEGER", pg.INT4),
    ("_kafka_offset", "BIGINT", pg.INT8),
]


def _insert(sql: str) -> st.InsertStatement:
    (tree,) = parse(f"CREATE PIPELINE p AS {sql}")
    statement = st.classify(tree)
    assert isinstance(statement, st.CreatePipelineStatement)
    return statement.inserts[0]


def _query(sql: str) -> exp.Expression:
    return _insert(sql).query


@pytest.mark.parametrize(
    ("group_by", "kind", "size", "slide"),
    [
        ("TUMBLE(ts, INTERVAL '1 hour')", "TUMBLE", HOUR_US, HOUR_US),
        ("tumble(ts, INTERVAL '90 seconds')", "TUMBLE", 90_000_000, 90_000_000),
        ("HOP(ts, INTERVAL '15 minutes', INTERVAL '1 hour')", "HOP", HOUR_US, HOUR_US // 4),
    ],
)
def test_the_window_of_a_group_by(group_by: str, kind: str, size: int, slide: int) -> None:
    found = find_window(_query(f"INSERT INTO o SELECT user_id, count(*) FROM s GROUP BY user_id, {group_by}"))
    assert found is not None
    spec, _ = found
    assert (spec.kind, spec.time_column, spec.size_us, spec.slide_us) == (kind, "ts", size, slide)


def test_a_group_by_without_window_has_none() -> None:
    assert find_window(_query("INSERT INTO o SELECT user_id, count(*) FROM s GROUP BY user_id")) is None


@pytest.mark.parametrize(
    ("group_by", "sqlstate"),
    [
        ("TUMBLE(ts, INTERVAL '1 month')", "0A000"),
        ("TUMBLE(ts, INTERVAL '0 seconds')", "22023"),
        ("TUMBLE(ts)", "42601"),
        ("TUMBLE(ts, INTERVAL '1 hour'), TUMBLE(ts, INTERVAL '1 day')", "0A000"),
        ("HOP(ts, INTERVAL '7 minutes', INTERVAL '1 hour')", "22023"),
        ("TUMBLE(ts + INTERVAL '1 hour', INTERVAL '1 hour')", "0A000"),
        ("TUMBLE(ts, amount)", "0A000"),
    ],
)
def test_malformed_windows_are_refused(group_by: str, sqlstate: str) -> None:
    with pytest.raises(LaminarError) as raised:
        find_window(_query(f"INSERT INTO o SELECT count(*) FROM s GROUP BY user_id, {group_by}"))
    assert raised.value.sqlstate == sqlstate


def test_the_watermark_is_the_slowest_active_partition_minus_the_delay() -> None:
    mark = Watermark(delay_us=10, idle_timeout_s=3600)
    mark.observe({0: 100}, [0, 1])
    assert mark.value_us is None  # partition 1 has not said where it is
    mark.observe({1: 50}, [0, 1])
    assert mark.value_us == 40
    mark.observe({1: 500, 0: 300}, [0, 1])
    assert mark.value_us == 290
    mark.observe({0: 200}, [0, 1])  # out of order: the largest seen still counts, and it never goes back
    assert mark.value_us == 290


def test_an_idle_partition_stops_holding_the_watermark_back() -> None:
    mark = Watermark(delay_us=0, idle_timeout_s=0.0)  # every partition is idle at once
    mark.observe({0: 100}, [0, 1])
    assert mark.value_us == 100


class _Batches:
    """Runs window-state work with a batch registered as the source, as the transform does."""

    def __init__(self, engine: Any, source: str, columns: list[tuple[str, str, int]]) -> None:
        self.engine = engine
        self.source = source
        self.columns = columns

    def runner(self, rows: list[tuple[object, ...]]) -> Callable[[Any], Any]:
        names = [name for name, _, _ in self.columns]
        table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})

        async def run(work: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
            def body(cursor: duckdb.DuckDBPyConnection) -> Any:
                cursor.register("batch_rows", table)
                cursor.execute(f'DROP TABLE IF EXISTS "{self.source}"')
                casts = ", ".join(f'CAST("{n}" AS {t}) AS "{n}"' for n, t, _ in self.columns)
                cursor.execute(
                    f'CREATE OR REPLACE TEMP VIEW "{self.source}" AS SELECT {casts} FROM batch_rows'
                )
                return work(cursor)

            return await self.engine.run_work(body)

        return run


async def test_window_state_emits_each_closed_window_once_and_keeps_open_rows() -> None:
    engine = pipeline_engine()
    try:
        insert = _insert(
            "INSERT INTO o SELECT user_id, count(*) AS n, sum(amount) AS total, window_start, window_end "
            "FROM s WHERE amount > 0 GROUP BY user_id, TUMBLE(ts, INTERVAL '1 hour')"
        )
        found = find_window(insert.query)
        assert found is not None
        engine.create_table("s", ", ".join(f'"{n}" {t}' for n, t, _ in SOURCE_COLUMNS))
        plan = plan_windowed(insert, found[0], source_name="s", source_columns=SOURCE_COLUMNS, engine=engine)
        assert [c.name for c in plan.columns] == ["user_id", "n", "total", "window_start", "window_end"]
        state = WindowState(plan, engine, "s", Watermark(delay_us=0, idle_timeout_s=3600))
        batches = _Batches(engine, "s", SOURCE_COLUMNS)
        minute = dt.timedelta(minutes=1)
        first = [
            ("a", 1.0, T0 + 5 * minute, 0, 0),
            ("a", 2.0, T0 + 50 * minute, 0, 1),
            ("a", -1.0, T0 + 55 * minute, 0, 2),  # filtered out by WHERE
            ("b", 4.0, T0 + 70 * minute, 0, 3),  # the next hour: its window stays open
        ]
        assert await state.add(batches.runner(first), [0]) == (0, 0)
        assert state.watermark.value_us == int((T0 + 70 * minute).timestamp() * 1_000_000)
        hour = dt.timedelta(hours=1)
        assert await state.emit() == [("a", 2, 3.0, T0, T0 + hour)]
        assert await state.emit() == []  # emitted once
        assert await state.low_offsets() == {0: 3}  # the first row of the open window
        late = [("a", 9.0, T0 + 10 * minute, 0, 4), ("b", 1.0, T0 + 130 * minute, 0, 5)]
        assert await state.add(batches.runner(late), [0]) == (1, 0)  # 00:10 belongs to a closed window
        assert await state.emit() == [("b", 1, 4.0, T0 + hour, T0 + 2 * hour)]
        assert state.checkpoint({0: 6}) == Checkpoint(
            state.watermark.value_us, {0: state.watermark.value_us}, {0: 6}
        )
    finally:
        engine.close()


async def test_hop_puts_a_row_in_each_of_its_windows() -> None:
    engine = pipeline_engine()
    try:
        insert = _insert(
            "INSERT INTO o SELECT count(*) AS n, window_start FROM s "
            "GROUP BY HOP(ts, INTERVAL '30 minutes', INTERVAL '1 hour')"
        )
        found = find_window(insert.query)
        assert found is not None
        engine.create_table("s", ", ".join(f'"{n}" {t}' for n, t, _ in SOURCE_COLUMNS))
        plan = plan_windowed(insert, found[0], source_name="s", source_columns=SOURCE_COLUMNS, engine=engine)
        state = WindowState(plan, engine, "s", Watermark(delay_us=0, idle_timeout_s=3600))
        batches = _Batches(engine, "s", SOURCE_COLUMNS)
        minute = dt.timedelta(minutes=1)
        rows = [("a", 1.0, T0 + 40 * minute, 0, 0), ("a", 1.0, T0 + 240 * minute, 0, 1)]
        await state.add(batches.runner(rows), [0])
        # 00:40 lies in [00:00, 01:00) and [00:30, 01:30); both have closed by 04:00.
        assert await state.emit() == [(1, T0), (1, T0 + 30 * minute)]
    finally:
        engine.close()
