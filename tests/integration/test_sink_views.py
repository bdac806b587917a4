"""The producer views after real INSERTs: ``system.kafka_producer_metrics``, ``_status`` and ``_logs``.

A gateway with a SQLite catalog gets the spec's ``kafka_sink`` connection (bootstrap_servers pointed
at the test broker, the one change) and two INSERTs through it; the module reads back the record
batches the broker stored for them. The spec's monitoring queries ("Producer Metrics", "Queue
Status", "Performance Analysis" and the "Troubleshooting" ones) are taken from the spec file and run
unchanged; their figures must agree with what the broker stored: one produce request per stored
batch, messages per batch, and the batch bytes as stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal

import pytest

from tests.fixtures.consume import (
    POLL_INTERVAL_S,
    StoredBatch,
    end_offsets,
    read_batches,
    run_sql,
    spec_connection,
    spec_query,
    unique,
)
from tests.fixtures.kafka import KafkaBroker, create_topic, topic_partitions
from tests.integration.conftest import CatalogGateway

pytestmark = pytest.mark.integration

TOPIC = "output-events"  # the spec's kafka_sink topic
ROWS = (10, 5)  # rows of the two INSERTs
DEFAULT_BUFFER_MEMORY = 33554432


@dataclass(frozen=True)
class Written:
    batches: list[StoredBatch]  # what the broker stored for the INSERTs
    started: float  # time.monotonic() before the first INSERT


@pytest.fixture(scope="module")
async def kafka_sink(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> Written:
    """The spec's kafka_sink and two INSERTs through it; nothing else writes through it."""
    servers = kafka_broker.bootstrap_servers
    since = await end_offsets(servers, TOPIC)
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    assert (await run_sql(sink_gateway.endpoint, spec_connection("kafka_sink", servers))).status == (
        "CREATE CONNECTION"
    )
    started = time.monotonic()
    first, second = ROWS
    outcome = await run_sql(
        sink_gateway.endpoint,
        f"INSERT INTO kafka_sink SELECT i AS id, 'event ' || i AS name FROM range({first}) t(i)",
    )
    assert outcome.status == f"INSERT 0 {first}"
    values = ", ".join(f"({100 + i}, 'late')" for i in range(second))
    outcome = await run_sql(sink_gateway.endpoint, f"INSERT INTO kafka_sink (id, name) VALUES {values}")
    assert outcome.status == f"INSERT 0 {second}"
    batches = await read_batches(servers, TOPIC, since=since)
    assert sum(len(batch.records) for batch in batches) == sum(ROWS)
    return Written(batches, started)


def one_row(rows: list[tuple[object, ...]]) -> tuple[object, ...]:
    assert len(rows) == 1, rows
    return rows[0]


async def test_spec_producer_metrics_query(sink_gateway: CatalogGateway, kafka_sink: Written) -> None:
    query = spec_query("-- Monitor producer performance")
    row = one_row((await run_sql(sink_gateway.endpoint, query)).rows)
    name, sent, sent_bytes, send_rate, error_rate, avg_batch, avg_latency = row
    requests = len(kafka_sink.batches)
    assert (name, sent, sent_bytes) == ("kafka_sink", sum(ROWS), sum(b.size for b in kafka_sink.batches))
    assert send_rate == sum(ROWS) / 60  # messages per second over the last minute
    assert error_rate == 0.0
    assert avg_batch == sum(ROWS) / requests
    assert isinstance(avg_latency, float)
    assert 0 < avg_latency < 10_000


async def test_spec_queue_status_query(sink_gateway: CatalogGateway, kafka_sink: Written) -> None:
    query = spec_query("-- Check producer buffer status")
    row = one_row((await run_sql(sink_gateway.endpoint, query)).rows)
    name, available, total, waiting, metadata_age = row
    elapsed_ms = (time.monotonic() - kafka_sink.started) * 1000
    # At rest every byte of 'buffer.memory' (Kafka's default, the spec gives none) is free again.
    assert (name, available, total, waiting) == (
        "kafka_sink",
        DEFAULT_BUFFER_MEMORY,
        DEFAULT_BUFFER_MEMORY,
        0,
    )
    assert isinstance(metadata_age, int)
    assert 0 <= metadata_age <= elapsed_ms + 1000  # metadata was fetched for the first INSERT at the latest


async def test_spec_performance_analysis_query(sink_gateway: CatalogGateway, kafka_sink: Written) -> None:
    query = spec_query("-- Analyze write performance")
    assert "FROM system.kafka_producer_logs" in query
    rows = (await run_sql(sink_gateway.endpoint, query)).rows
    assert rows
    now = dt.datetime.now(dt.UTC)
    minutes = [row[0] for row in rows if isinstance(row[0], dt.datetime)]
    assert len(minutes) == len(rows)
    assert minutes == sorted(minutes, reverse=True)  # ORDER BY minute DESC
    for minute, _, _, avg_latency, max_latency in rows:
        assert isinstance(minute, dt.datetime)
        assert (minute.second, minute.microsecond) == (0, 0)  # DATE_TRUNC('minute', ...)
        assert now - dt.timedelta(hours=1) <= minute <= now
        assert isinstance(avg_latency, float)
        assert isinstance(max_latency, float)
        assert 0 < avg_latency <= max_latency
    # one log row per produce request, i.e. per stored batch; SUM(bytes) is the stored batch bytes
    assert sum(int(str(row[1])) for row in rows) == len(kafka_sink.batches)
    assert sum(Decimal(str(row[2])) for row in rows) == sum(b.size for b in kafka_sink.batches)


async def test_producer_logs_have_one_row_per_stored_batch(
    sink_gateway: CatalogGateway, kafka_sink: Written
) -> None:
    rows = (
        await run_sql(
            sink_gateway.endpoint,
            "SELECT topic, partition, messages, bytes, error FROM system.kafka_producer_logs"
            " WHERE connection = 'kafka_sink'",
        )
    ).rows
    stored = [(TOPIC, b.partition, len(b.records), b.size, None) for b in kafka_sink.batches]
    assert sorted(rows, key=repr) == sorted(stored, key=repr)


async def test_spec_troubleshooting_queries(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker, kafka_sink: Written
) -> None:
    partitions = await topic_partitions(kafka_broker.bootstrap_servers, TOPIC)
    tested = one_row(
        (await run_sql(sink_gateway.endpoint, spec_query("SELECT test_connection('kafka_sink')"))).rows
    )
    assert tested == (
        f"OK: connection kafka_sink reached 1 broker; topic {TOPIC} has {partitions} partitions",
    )
    topics = (await run_sql(sink_gateway.endpoint, spec_query("-- Verify topic exists"))).rows
    assert ("kafka_sink", TOPIC, partitions, False, None) in topics
    assert {row[0] for row in topics} == {"kafka_sink"}


async def test_metrics_of_a_batched_connection(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    topic = unique("views-batched")
    name = topic.replace("-", "_")
    await create_topic(kafka_broker.bootstrap_servers, topic, 1)
    await run_sql(
        sink_gateway.endpoint,
        f"CREATE CONNECTION {name} TO kafka (bootstrap_servers = '{kafka_broker.bootstrap_servers}', "
        f"topic = '{topic}', type = 'sink', format = 'json', batch_size = 4, compression = 'none')",
    )
    assert (
        await run_sql(sink_gateway.endpoint, f"INSERT INTO {name} SELECT i AS n FROM range(10) t(i)")
    ).status == ("INSERT 0 10")
    batches = await read_batches(kafka_broker.bootstrap_servers, topic)
    assert [len(b.records) for b in batches] == [4, 4, 2]
    row = one_row(
        (
            await run_sql(
                sink_gateway.endpoint,
                "SELECT connection_name, messages_sent, bytes_sent, send_rate, error_rate, avg_batch_size,"
                " avg_request_latency_ms FROM system.kafka_producer_metrics"
                f" WHERE connection_name = '{name}'",
            )
        ).rows
    )
    assert row[:6] == (name, 10, sum(b.size for b in batches), 10 / 60, 0.0, 10 / 3)


async def test_status_shows_the_spec_buffer_memory(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    servers = kafka_broker.bootstrap_servers
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    await run_sql(sink_gateway.endpoint, spec_connection("kafka_optimized", servers))
    outcome = await run_sql(sink_gateway.endpoint, "INSERT INTO kafka_optimized SELECT 1 AS id")
    assert outcome.status == "INSERT 0 1"
    row = one_row(
        (
            await run_sql(
                sink_gateway.endpoint,
                "SELECT buffer_available_bytes, buffer_total_bytes, waiting_threads"
                " FROM system.kafka_producer_status WHERE connection_name = 'kafka_optimized'",
            )
        ).rows
    )
    assert row == (67108864, 67108864, 0)  # 'buffer.memory' = '67108864' (64MB)


async def test_metadata_age_restarts_when_the_producer_fetches_metadata(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    """Routing a row to a topic the producer has not seen makes it fetch metadata: the age drops.
    The test first waits (polling the view, with a deadline) until the age is over a second, then
    creates the second topic (so no metadata the producer fetched before can know it) and routes a
    row to it."""
    servers = kafka_broker.bootstrap_servers
    first, second = unique("views-meta-a"), unique("views-meta-b")
    await create_topic(servers, first, 1)
    name = first.replace("-", "_")
    await run_sql(
        sink_gateway.endpoint,
        f"CREATE CONNECTION {name} TO kafka (bootstrap_servers = '{servers}', type = 'sink',"
        " format = 'json', topic_field = 'dest')",
    )
    status = f"SELECT metadata_age_ms FROM system.kafka_producer_status WHERE connection_name = '{name}'"
    assert (await run_sql(sink_gateway.endpoint, f"INSERT INTO {name} SELECT '{first}' AS dest")).status == (
        "INSERT 0 1"
    )
    deadline = time.monotonic() + 10
    while True:
        (age,) = one_row((await run_sql(sink_gateway.endpoint, status)).rows)
        assert isinstance(age, int)
        if age >= 1000:
            break
        assert time.monotonic() < deadline, f"metadata_age_ms stays at {age}"
        await asyncio.sleep(POLL_INTERVAL_S)  # poll interval: the loop ends on the condition
    await create_topic(servers, second, 1)
    routed = time.monotonic()
    assert (await run_sql(sink_gateway.endpoint, f"INSERT INTO {name} SELECT '{second}' AS dest")).status == (
        "INSERT 0 1"
    )
    (age,) = one_row((await run_sql(sink_gateway.endpoint, status)).rows)
    assert isinstance(age, int)
    assert age <= (time.monotonic() - routed) * 1000 + 50, age
