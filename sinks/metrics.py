"""Producer metrics and request logs per sink connection, behind the spec's system views.

``system.kafka_producer_metrics`` (totals and rates), ``system.kafka_producer_status`` (buffer
and metadata) and ``system.kafka_producer_logs`` (one row per produce request, the newest
``LOG_RETENTION`` kept) are read from here; the sink records into it on every request.
:class:`LatencyHistogram` is the one histogram of durations the ``/metrics`` endpoint exports
(produce requests here, pipeline commits in :mod:`pipelines.runner`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Final

LOG_RETENTION = 10_000
RATE_WINDOW_S = 60.0
LATENCY_BUCKETS_S: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(slots=True)
class LatencyHistogram:
    """Durations in fixed buckets (upper bounds in seconds; the last count is above them all)."""

    bounds: tuple[float, ...] = LATENCY_BUCKETS_S
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))
    total_s: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.total_s += seconds

    def add(self, other: LatencyHistogram) -> None:
        """Fold ``other`` (same bounds) into this one: the tasks of one pipeline, summed."""
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.total_s += other.total_s

    def cumulative(self) -> list[tuple[str, int]]:
        """Prometheus buckets: (upper bound, observations at or below it), ending with +Inf."""
        running, buckets = 0, []
        for bound, count in zip((*[f"{b:g}" for b in self.bounds], "+Inf"), self.counts, strict=True):
            running += count
            buckets.append((bound, running))
        return buckets


@dataclass(frozen=True, slots=True)
class RequestLog:
    """One produce request: when, where, how much, how long, and its error if it failed."""

    timestamp: dt.datetime
    connection: str
    topic: str
    partition: int
    messages: int
    bytes: int
    latency_ms: float
    error: str | None = None


@dataclass(slots=True)
class ConnectionMetrics:
    connection: str
    messages_sent: int = 0
    bytes_sent: int = 0
    errors: int = 0
    requests: int = 0
    latency_ms_total: float = 0.0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    recent: deque[tuple[float, int, int]] = field(default_factory=lambda: deque(maxlen=4096))

    def record(self, log: RequestLog) -> None:
        self.requests += 1
        self.latency_ms_total += log.latency_ms
        self.latency.observe(log.latency_ms / 1000)
        if log.error is None:
            self.messages_sent += log.messages
            self.bytes_sent += log.bytes
        else:
            self.errors += 1
        self.recent.append(
            (time.monotonic(), log.messages if log.error is None else 0, int(log.error is not None))
        )

    def rates(self) -> tuple[float, float]:
        """Messages per second and errors per second over the last minute."""
        horizon = time.monotonic() - RATE_WINDOW_S
        messages = sum(m for t, m, _ in self.recent if t >= horizon)
        failures = sum(e for t, _, e in self.recent if t >= horizon)
        return messages / RATE_WINDOW_S, failures / RATE_WINDOW_S


class ProducerMetrics:
    """Metrics of every sink connection of this gateway process."""

    def __init__(self) -> None:
        self._connections: dict[str, ConnectionMetrics] = {}
        self._logs: deque[RequestLog] = deque(maxlen=LOG_RETENTION)

    def for_connection(self, name: str) -> ConnectionMetrics:
        metrics = self._connections.get(name)
        if metrics is None:
            metrics = self._connections[name] = ConnectionMetrics(name)
        return metrics

    def record(self, log: RequestLog) -> None:
        self.for_connection(log.connection).record(log)
        self._logs.append(log)

    def metric_rows(self) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = []
        for name, m in sorted(self._connections.items()):
            send_rate, error_rate = m.rates()
            rows.append(
                (
                    name,
                    m.messages_sent,
                    m.bytes_sent,
                    send_rate,
                    error_rate,
                    m.messages_sent / m.requests if m.requests else 0.0,
                    m.latency_ms_total / m.requests if m.requests else 0.0,
                )
            )
        return rows

    def log_rows(self) -> list[tuple[object, ...]]:
        return [
            (
                log.timestamp,
                log.connection,
                log.topic,
                log.partition,
                log.messages,
                log.bytes,
                log.latency_ms,
                log.error,
            )
            for log in self._logs
        ]

    def forget(self, name: str) -> None:
        self._connections.pop(name, None)
