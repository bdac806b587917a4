"""The commit-latency histogram of a pipeline's status (no sockets)."""

from __future__ import annotations

from pipelines.runner import LatencyHistogram


def test_observations_land_in_cumulative_buckets_with_their_sum() -> None:
    histogram = LatencyHistogram(bounds=(0.01, 0.1, 1.0), counts=[0, 0, 0, 0])
    for seconds in (0.004, 0.01, 0.05, 0.5, 3.0):
        histogram.observe(seconds)
    assert histogram.cumulative() == [("0.01", 2), ("0.1", 3), ("1", 4), ("+Inf", 5)]
    assert abs(histogram.total_s - 3.564) < 1e-9
