"""A pipeline's status (no sockets): the latency histogram, throughput, the merged status of a
pipeline's tasks, and which partitions each task reads."""

from __future__ import annotations

import datetime as dt

from pipelines.options import TaskSlot, pipeline_settings
from pipelines.runner import PipelineStatus, Throughput
from sinks.metrics import LatencyHistogram


def test_observations_land_in_cumulative_buckets_with_their_sum() -> None:
    histogram = LatencyHistogram(bounds=(0.01, 0.1, 1.0), counts=[0, 0, 0, 0])
    for seconds in (0.004, 0.01, 0.05, 0.5, 3.0):
        histogram.observe(seconds)
    assert histogram.cumulative() == [("0.01", 2), ("0.1", 3), ("1", 4), ("+Inf", 5)]
    assert abs(histogram.total_s - 3.564) < 1e-9


def test_histograms_of_several_tasks_add_up() -> None:
    first, second = LatencyHistogram(), LatencyHistogram()
    first.observe(0.003)
    second.observe(0.003)
    second.observe(20.0)
    first.add(second)
    assert first.cumulative()[-1] == ("+Inf", 3)
    assert dict(first.cumulative())["0.005"] == 2


def test_throughput_is_rows_over_the_recent_window_and_drifts_to_zero() -> None:
    throughput = Throughput()
    assert throughput.per_second(now=0.0) == 0.0
    throughput.sample(0, now=100.0)
    throughput.sample(500, now=101.0)
    throughput.sample(1000, now=102.0)
    assert throughput.per_second(now=102.0) == 500.0
    assert throughput.per_second(now=104.0) == 250.0  # nothing new for two seconds
    assert throughput.per_second(now=200.0) == 0.0  # every sample older than the window


def test_a_merged_status_sums_counters_and_shows_the_worst_state() -> None:
    commit = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    running = PipelineStatus(
        state="running", rows_in=10, rows_out=9, lag=3, last_commit=commit, partitions=[0, 2]
    )
    failed = PipelineStatus(state="failed", error="boom", rows_in=5, rows_out=5, lag=None, partitions=[1, 3])
    merged = PipelineStatus.merged([running, failed])
    assert (merged.state, merged.error) == ("failed", "boom")
    assert (merged.rows_in, merged.rows_out, merged.lag, merged.last_commit) == (15, 14, 3, commit)
    assert merged.partitions == [0, 1, 2, 3]
    assert PipelineStatus.merged([running]) is running


def test_tasks_split_partitions_and_own_their_transactional_ids() -> None:
    tasks = pipeline_settings("p", [("parallelism", "3")]).tasks("p")
    assert [task.key for task in tasks] == ["p/0", "p/1", "p/2"]
    assert [[p for p in range(7) if task.owns(p)] for task in tasks] == [[0, 3, 6], [1, 4], [2, 5]]
    assert [task.transactional_id("tx") for task in tasks] == ["tx-0", "tx-1", "tx-2"]
    single = TaskSlot("p")
    assert (single.key, single.transactional_id("tx"), single.owns(5)) == ("p", "tx", True)
