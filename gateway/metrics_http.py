"""The Prometheus ``/metrics`` endpoint of a gateway node (``laminar serve --metrics-port N``).

An aiohttp server on the gateway's own event loop answers ``GET /metrics`` in the Prometheus text
format (or OpenMetrics when the scraper asks for it). Nothing is sampled in the background: every
scrape reads the live state. :class:`GatewayCollector` turns what the gateway already keeps into
metric families:

* per pipeline (labels ``pipeline``, ``source``, ``sink``; a fan-out pipeline's sinks joined by
  commas), from the :class:`~pipelines.supervisor.Supervisor`: the counters
  ``laminar_pipeline_rows_in_total``, ``_rows_out_total``, ``_rows_dropped_total``,
  ``_rows_dead_lettered_total``, ``_rows_late_total`` and ``_attempts_total`` (they start again at
  zero when the pipeline's task restarts, which Prometheus reads as a counter reset), the gauges
  ``laminar_pipeline_lag`` (source records not yet read; absent until known),
  ``laminar_pipeline_last_commit_timestamp_seconds`` and ``laminar_pipeline_up`` (1 while the
  pipeline runs, 0 otherwise; label ``state`` as in ``system.pipelines``), and the histogram
  ``laminar_pipeline_commit_seconds``; a pipeline of several tasks shows the sum over the tasks this
  node runs (each node exports its own, so summing over nodes gives the pipeline's);
* per sink connection (label ``connection``), from the sinks' producer metrics (the figures behind
  ``system.kafka_producer_metrics``): ``laminar_producer_messages_total``,
  ``laminar_producer_bytes_total``, ``laminar_producer_errors_total`` and the histogram
  ``laminar_producer_request_latency_seconds`` of produce requests;
* ``laminar_asyncio_tasks``: the tasks alive on the event loop (a leaked session or producer task
  shows as a count that does not come back down);
* the process itself (CPU, memory, file descriptors, garbage collections, Python version), from
  prometheus_client's standard collectors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import CollectorRegistry

from catalog.model import PipelineRecord
from pipelines.runner import PipelineStatus
from pipelines.supervisor import Supervisor
from sinks.metrics import ProducerMetrics

log = logging.getLogger(__name__)

PIPELINE_LABELS = ("pipeline", "source", "sink")
PIPELINE_COUNTERS = (
    # (metric name without _total, PipelineStatus field, help)
    ("laminar_pipeline_rows_in", "rows_in", "Source records the pipeline read (decoded or not)."),
    ("laminar_pipeline_rows_out", "rows_out", "Records the pipeline's sinks acknowledged."),
    ("laminar_pipeline_rows_dropped", "rows_dropped", "Records an error policy skipped."),
    ("laminar_pipeline_rows_dead_lettered", "rows_dead_lettered", "Records sent to a dead-letter queue."),
    ("laminar_pipeline_rows_late", "rows_late", "Rows for windows the watermark had already closed."),
    ("laminar_pipeline_attempts", "attempts", "Attempts the pipeline's task started (the first included)."),
)

PipelineStatuses = Sequence[tuple[PipelineRecord, PipelineStatus | None]]


def pipeline_state(record: PipelineRecord, status: PipelineStatus | None) -> str:
    """The state ``system.pipelines`` shows: the task's while it runs, else the catalog's."""
    if status is not None:
        return status.state
    return "starting" if record.state == "running" else record.state


class GatewayCollector:
    """A prometheus_client collector over the live state of this gateway's pipelines and sinks.

    The pipeline list comes from the catalog, which is read asynchronously: :meth:`refresh` reads
    it at the start of each scrape, and :meth:`collect` (synchronous, as prometheus_client calls
    it) then turns it and the sinks' producer metrics into metric families.
    """

    def __init__(self, supervisor: Supervisor, producers: ProducerMetrics) -> None:
        self.supervisor = supervisor
        self.producers = producers
        self._pipelines: PipelineStatuses = ()

    async def refresh(self) -> None:
        self._pipelines = await self.supervisor.statuses()

    def collect(self) -> Iterator[Metric]:
        yield from self._pipeline_families(self._pipelines)
        yield from self._producer_families()
        tasks = GaugeMetricFamily(
            "laminar_asyncio_tasks",
            "Tasks alive on the gateway's event loop (sessions, pipelines, producers): a leak shows here.",
        )
        tasks.add_metric([], len(asyncio.all_tasks()))
        yield tasks

    @staticmethod
    def _pipeline_families(pipelines: PipelineStatuses) -> Iterator[Metric]:
        counters = {
            field: CounterMetricFamily(name, text, labels=PIPELINE_LABELS)
            for name, field, text in PIPELINE_COUNTERS
        }
        lag = GaugeMetricFamily(
            "laminar_pipeline_lag",
            "Records in the pipeline's source not yet read, over all partitions.",
            labels=PIPELINE_LABELS,
        )
        last_commit = GaugeMetricFamily(
            "laminar_pipeline_last_commit_timestamp_seconds",
            "When the pipeline last committed its source offsets (Unix time).",
            labels=PIPELINE_LABELS,
        )
        commits = HistogramMetricFamily(
            "laminar_pipeline_commit_seconds",
            "How long committing took: offsets, or the transaction with output and offsets.",
            labels=PIPELINE_LABELS,
        )
        up = GaugeMetricFamily(
            "laminar_pipeline_up",
            "1 while the pipeline runs, 0 otherwise (state as in system.pipelines).",
            labels=(*PIPELINE_LABELS, "state"),
        )
        for record, status in pipelines:
            connections = record.connections
            labels = [record.name, connections[0] if connections else "", ",".join(connections[1:])]
            for field, family in counters.items():
                family.add_metric(labels, 0 if status is None else getattr(status, field))
            if status is not None and status.lag is not None:
                lag.add_metric(labels, status.lag)
            if status is not None and status.last_commit is not None:
                last_commit.add_metric(labels, status.last_commit.timestamp())
            if status is not None:
                histogram = status.commit_latency
                commits.add_metric(labels, histogram.cumulative(), sum_value=histogram.total_s)
            state = pipeline_state(record, status)
            up.add_metric([*labels, state], 1 if state == "running" else 0)
        yield from counters.values()
        yield from (lag, last_commit, commits, up)

    def _producer_families(self) -> Iterator[Metric]:
        labels = ("connection",)
        messages = CounterMetricFamily(
            "laminar_producer_messages", "Records the sink connection's brokers acknowledged.", labels=labels
        )
        sent = CounterMetricFamily(
            "laminar_producer_bytes", "Record batch bytes the brokers acknowledged.", labels=labels
        )
        failures = CounterMetricFamily(
            "laminar_producer_errors", "Produce requests that failed.", labels=labels
        )
        latency = HistogramMetricFamily(
            "laminar_producer_request_latency_seconds",
            "Latency of the sink connection's produce requests.",
            labels=labels,
        )
        for row in self.producers.metric_rows():
            name = str(row[0])
            metrics = self.producers.for_connection(name)  # exists: metric_rows listed it
            messages.add_metric([name], metrics.messages_sent)
            sent.add_metric([name], metrics.bytes_sent)
            failures.add_metric([name], metrics.errors)
            latency.add_metric([name], metrics.latency.cumulative(), sum_value=metrics.latency.total_s)
        yield from (messages, sent, failures, latency)


class MetricsServer:
    """``GET /metrics`` over HTTP on the gateway's event loop."""

    def __init__(self, host: str, port: int, supervisor: Supervisor, producers: ProducerMetrics) -> None:
        self.host = host
        self.port = port
        self.collector = GatewayCollector(supervisor, producers)
        self.registry = CollectorRegistry()
        self.registry.register(self.collector)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self._exposition = make_aiohttp_handler(self.registry)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        await self.collector.refresh()
        return await self._exposition(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("Prometheus metrics at %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
