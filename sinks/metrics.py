"""Producer metrics and request logs per sink connection, behind the spec's system views.

``system.kafka_producer_metrics`` (totals and rates), ``system.kafka_producer_status`` (buffer
and metadata) and ``system.kafka_producer_logs`` (one row per produce request, the newest
``LOG_RETENTION`` kept) are read from here; the sink records into it on every request.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from dataclasses import dataclass, field

LOG_RETENTION = 10_000
RATE_WINDOW_S = 60.0


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
    recent: deque[tuple[float, int, int]] = field(default_factory=lambda: deque(maxlen=4096))

    def record(self, log: RequestLog) -> None:
        self.requests += 1
        self.latency_ms_total += log.latency_ms
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
