"""The Prometheus ``/metrics`` endpoint of a real gateway process, scraped over HTTP while a pipeline runs.

A gateway started with ``--metrics-port`` runs a JSON pipeline on the real broker; the test produces
known records and scrapes ``/metrics`` with aiohttp, parsing the text with prometheus_client's own
parser, until the pipeline's counters equal what was produced and its lag is 0. Then it produces
more and scrapes again: the counters moved by exactly that many, and so did the sink connection's
producer metrics (messages, bytes, request latency histogram). Pausing and dropping the pipeline show
in ``laminar_pipeline_up`` and in its series going away. A second gateway takes the port from
``LAMINAR_METRICS_PORT`` and answers an OpenMetrics scrape. Polls with a deadline, never sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.fixtures.consume import create_sink, poll_records, run_sql, unique
from tests.fixtures.gateway import GatewayEndpoint, free_port, running_gateway, wait_for_port
from tests.fixtures.kafka import KafkaBroker
from tests.fixtures.pipelines import json_source, produce_json, wait_for

pytestmark = pytest.mark.integration

PARTITIONS = 3
FAST = "WITH (commit_interval_ms = '100 ms', batch_ms = '20 ms')"
METRICS_DEADLINE_S = 30.0


@dataclass(frozen=True)
class MetricsGateway:
    endpoint: GatewayEndpoint
    metrics_url: str


@pytest.fixture(scope="module")
def metrics_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetricsGateway]:
    """A gateway (SQLite catalog) serving /metrics on a port of its own."""
    port = free_port()
    with running_gateway(
        tmp_path_factory.mktemp("gw-metrics"), extra_args=("--metrics-port", str(port))
    ) as endpoint:
        # The endpoint starts right after the pgwire port and the pipelines: wait until it listens.
        wait_for_port("127.0.0.1", port, METRICS_DEADLINE_S)
        yield MetricsGateway(endpoint, f"http://127.0.0.1:{port}/metrics")


@dataclass(frozen=True)
class Scrape:
    """One scrape: its content type and every sample, parsed by prometheus_client."""

    content_type: str
    samples: list[Sample]

    def value(self, name: str, **labels: str) -> float | None:
        """The value of the one sample named ``name`` whose labels include ``labels``, or None."""
        found = [s.value for s in self.samples if s.name == name and labels.items() <= s.labels.items()]
        assert len(found) <= 1, f"{name}{labels}: {len(found)} samples"
        return found[0] if found else None

    def labelled(self, name: str, **labels: str) -> list[Sample]:
        return [s for s in self.samples if s.name == name and labels.items() <= s.labels.items()]


async def scrape(url: str, accept: str | None = None) -> Scrape:
    headers = {} if accept is None else {"Accept": accept}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        text = await response.text()
        content_type = response.headers["Content-Type"]
    parse = openmetrics_families if content_type.startswith("application/openmetrics-text") else None
    families = list((parse or text_string_to_metric_families)(text))
    return Scrape(content_type, [sample for family in families for sample in family.samples])


def events(start: int, count: int) -> list[dict[str, object]]:
    return [{"id": i, "kind": "view" if i % 2 else "buy"} for i in range(start, start + count)]


async def test_metrics_follow_a_running_pipeline(
    metrics_gateway: MetricsGateway, kafka_broker: KafkaBroker
) -> None:
    endpoint, url = metrics_gateway.endpoint, metrics_gateway.metrics_url
    bootstrap = kafka_broker.bootstrap_servers
    src, src_topic = await json_source(
        endpoint, bootstrap, prefix="mtsrc", columns="id BIGINT, kind TEXT", partitions=PARTITIONS
    )
    out, out_topic = await create_sink(endpoint, bootstrap, prefix="mtout")
    name = unique("metered").replace("-", "_")
    labels = {"pipeline": name, "source": src, "sink": out}

    first = await scrape(url)
    assert first.content_type.startswith("text/plain; version=")
    assert first.value("process_cpu_seconds_total") is not None  # the process collectors are there
    assert first.labelled("laminar_pipeline_up", pipeline=name) == []

    await produce_json(bootstrap, src_topic, events(0, 30), PARTITIONS)
    outcome = await run_sql(
        endpoint, f"CREATE PIPELINE {name} {FAST} AS INSERT INTO {out} SELECT * FROM {src}"
    )
    assert outcome.status == "CREATE PIPELINE"
    assert len(await poll_records(bootstrap, out_topic, 30)) == 30

    def pipeline_at(rows: int) -> Callable[[Scrape], bool]:
        def done(s: Scrape) -> bool:
            return (
                s.value("laminar_pipeline_rows_in_total", **labels),
                s.value("laminar_pipeline_rows_out_total", **labels),
                s.value("laminar_pipeline_lag", **labels),
                s.value("laminar_producer_messages_total", connection=out),
            ) == (rows, rows, 0, rows)

        return done

    async def probe() -> Scrape:
        return await scrape(url)

    second = await wait_for(
        probe, pipeline_at(30), what="30 in, 30 out, lag 0, 30 produced", deadline_s=METRICS_DEADLINE_S
    )
    assert second.value("laminar_pipeline_up", **labels, state="running") == 1
    assert second.value("laminar_pipeline_rows_dropped_total", **labels) == 0
    assert second.value("laminar_pipeline_rows_late_total", **labels) == 0
    assert second.value("laminar_pipeline_attempts_total", **labels) == 1
    bytes_at_30 = second.value("laminar_producer_bytes_total", connection=out)
    requests_at_30 = second.value("laminar_producer_request_latency_seconds_count", connection=out)
    latency_at_30 = second.value("laminar_producer_request_latency_seconds_sum", connection=out)
    assert bytes_at_30 is not None
    assert bytes_at_30 > 0
    assert requests_at_30 is not None
    assert requests_at_30 >= 1
    assert latency_at_30 is not None
    assert latency_at_30 > 0
    assert second.value("laminar_producer_errors_total", connection=out) == 0

    # Continuous: 15 more records move every counter by exactly 15, and the producer's figures grow.
    await produce_json(bootstrap, src_topic, events(30, 15), PARTITIONS)
    third = await wait_for(
        probe, pipeline_at(45), what="45 in, 45 out, lag 0, 45 produced", deadline_s=METRICS_DEADLINE_S
    )
    assert (third.value("laminar_producer_bytes_total", connection=out) or 0) > bytes_at_30
    assert (
        third.value("laminar_producer_request_latency_seconds_count", connection=out) or 0
    ) > requests_at_30
    assert (third.value("laminar_producer_request_latency_seconds_sum", connection=out) or 0) > latency_at_30
    requests = third.value("laminar_producer_request_latency_seconds_count", connection=out)
    assert (
        third.value("laminar_producer_request_latency_seconds_bucket", le="+Inf", connection=out) == requests
    )
    assert (
        third.value("laminar_producer_request_latency_seconds_bucket", le="0.001", connection=out) is not None
    )
    last_commit = third.value("laminar_pipeline_last_commit_timestamp_seconds", **labels)
    assert last_commit is not None
    assert last_commit > 0
    commits = third.value("laminar_pipeline_commit_seconds_count", **labels) or 0
    assert commits >= 1
    assert third.value("laminar_pipeline_commit_seconds_bucket", le="+Inf", **labels) == commits
    assert (third.value("laminar_pipeline_commit_seconds_sum", **labels) or 0) > 0

    # A paused pipeline is down; a dropped one has no series any more.
    assert (await run_sql(endpoint, f"ALTER PIPELINE {name} PAUSE")).status == "ALTER PIPELINE"
    paused = await scrape(url)
    assert [(s.labels["state"], s.value) for s in paused.labelled("laminar_pipeline_up", **labels)] == [
        ("paused", 0)
    ]
    assert paused.value("laminar_pipeline_rows_in_total", **labels) == 0  # this process runs no task for it
    assert (await run_sql(endpoint, f"DROP PIPELINE {name}")).status == "DROP PIPELINE"
    dropped = await scrape(url)
    assert [s for s in dropped.samples if s.labels.get("pipeline") == name] == []


async def test_metrics_port_from_the_environment_and_openmetrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("LAMINAR_METRICS_PORT", str(port))
    with running_gateway(tmp_path / "gw"):
        wait_for_port("127.0.0.1", port, METRICS_DEADLINE_S)
        got = await scrape(f"http://127.0.0.1:{port}/metrics", accept="application/openmetrics-text")
    assert got.content_type.startswith("application/openmetrics-text")
    assert got.value("process_resident_memory_bytes") is not None
    assert got.labelled("laminar_pipeline_up") == []  # a fresh catalog has no pipelines
