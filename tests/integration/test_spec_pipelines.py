"""The Kafka sink spec's pipelines and bounded INSERTs, run unchanged against real source topics.

Every ``CREATE PIPELINE`` and every bare ``INSERT INTO sink SELECT ... FROM source`` of
/work/shared/spec/kafka-sink.md runs here exactly as the spec writes it; the one change made to the
spec is the bootstrap_servers of its CREATE CONNECTION statements (pointed at the test broker). The
spec never defines its sources (``source_events``, ``events``, ``students``, ``transactions``,
``binary_stream``), so each test declares them as JSON source connections on fresh topics, produces
records that take every branch of the statement (each CASE arm and its ELSE, both sides of every
WHERE, NULLs, values that are not valid JSON for ``is_valid``) and compares what the sinks stored,
record by record, with an expectation computed here from the produced data: values byte for byte,
keys, partitions, headers, topics, and for ``kafka_2pc`` the transactions (every data batch
transactional, each transaction closed by a COMMIT marker).

The pipelines are continuous: each test produces a first wave before CREATE PIPELINE (read from the
earliest offset) and a second one after, polls ``system.pipelines`` until the pipeline has read every
record (rows_in, lag 0) and its sinks acknowledged the expected rows (rows_out), and then reads the
output, which must hold exactly the expected records (no more, no duplicates); the pipeline's
consumer group must then have committed the end offset of every source partition (in the Kafka
transaction for ``kafka_2pc``, after the acknowledgements otherwise). The bounded INSERTs
answer ``INSERT 0 n``. ``user_aggregates`` (GROUP BY ... TUMBLE) is a windowed pipeline: its
expected output is the hours the watermark closed, computed here from the generated events. Spec
topics are shared with the other sink test modules of the session, so outputs are read from the end
offsets seen before each test.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import random
import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.fixtures.consume import (
    COMMIT,
    SPEC_PATH,
    ConsumedRecord,
    data_records,
    end_offsets,
    ensure_topic,
    poll_batches,
    poll_records,
    run_sql,
    spec_connection,
)
from tests.fixtures.kafka import KafkaBroker
from tests.fixtures.spec_data import (
    compact,
    create_json_source,
    ensure_topic_exists,
    json_object,
    produce,
    produced_offsets,
    spec_data_statement,
    spec_data_statements,
    wait_committed,
    wait_pipeline,
)
from tests.integration.conftest import CatalogGateway

pytestmark = pytest.mark.integration

UTC = dt.UTC
SOURCE_PARTITIONS = 3

# What this module runs: every pipeline (name -> sinks, source) and bare INSERT (sink -> source) of the spec.
PIPELINES = {
    "process_events": (("kafka_json_sink",), ("source_events",)),
    "user_aggregates": (("kafka_keyed_sink",), ("events",)),
    "financial_processing": (("kafka_2pc",), ("transactions",)),
    "with_error_handling": (("kafka_main_sink", "kafka_dlq_sink"), ("source_events",)),
    "add_headers": (("kafka_with_headers",), ("events",)),
    "route_by_type": (("kafka_multi",), ("events",)),
}
BOUNDED_INSERTS = {
    "kafka_json_output": ("students",),
    "kafka_custom_partition": ("events",),
    "kafka_raw_sink": ("binary_stream",),
}


class Scenario:
    """What one test created in the module's gateway, dropped again when the test ends (pipelines
    first: a connection a pipeline uses cannot be dropped), so the next test can declare the spec's
    source names (``events``, ``source_events``) with columns of its own."""

    def __init__(self, gateway: CatalogGateway, broker: KafkaBroker) -> None:
        self.gateway = gateway
        self.servers = broker.bootstrap_servers
        self.pipelines: list[str] = []
        self.connections: list[str] = []

    async def sql(self, statement: str) -> str:
        return (await run_sql(self.gateway.endpoint, statement)).status

    async def spec_connection(self, name: str) -> None:
        """The spec's CREATE CONNECTION, bootstrap_servers pointed at the test broker the one change."""
        assert await self.sql(spec_connection(name, self.servers)) == "CREATE CONNECTION"
        self.connections.append(name)

    async def source(self, name: str, columns: str) -> str:
        """A JSON source connection the spec reads but does not define; its (fresh) topic."""
        topic = await create_json_source(
            self.gateway.endpoint, self.servers, name, columns, partitions=SOURCE_PARTITIONS
        )
        self.connections.append(name)
        return topic

    async def produce(self, topic: str, records: Sequence[dict[str, object]], *, first: int = 0) -> None:
        await produce(self.servers, topic, records, partitions=SOURCE_PARTITIONS, first=first)

    async def create_pipeline(self, name: str) -> None:
        """The spec's CREATE PIPELINE statement, unchanged."""
        statement = spec_data_statement("pipeline", name)
        self.pipelines.append(name)
        assert await self.sql(statement.sql) == "CREATE PIPELINE"

    async def committed_everything(self, name: str, topic: str, produced: int) -> None:
        """The pipeline's consumer group committed the end offset of every partition of its source."""
        expected = produced_offsets(produced, SOURCE_PARTITIONS)
        await wait_committed(self.gateway.endpoint, self.servers, name, topic, expected)

    async def bounded_insert(self, target: str, count: int) -> None:
        """The spec's bare INSERT INTO target SELECT ... FROM source, unchanged: ``INSERT 0 count``."""
        statement = spec_data_statement("insert", target)
        assert await self.sql(statement.sql) == f"INSERT 0 {count}"

    async def close(self) -> None:
        for name in self.pipelines:
            assert await self.sql(f"DROP PIPELINE IF EXISTS {name}") == "DROP PIPELINE"
        for name in reversed(self.connections):
            assert await self.sql(f"DROP CONNECTION IF EXISTS {name}") == "DROP CONNECTION"


@pytest.fixture
async def scenario(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> AsyncIterator[Scenario]:
    created = Scenario(sink_gateway, kafka_broker)
    try:
        yield created
    finally:
        await created.close()


def by_id(records: Sequence[ConsumedRecord]) -> dict[int, ConsumedRecord]:
    """Records by the "id" of their JSON value; every id once."""
    found: dict[int, ConsumedRecord] = {}
    for record in records:
        assert record.value is not None
        found[json.loads(record.value)["id"]] = record
    assert len(found) == len(records), f"a row was stored twice: {records}"
    return found


def values_by_id(records: Sequence[ConsumedRecord]) -> dict[int, bytes | None]:
    return {number: record.value for number, record in by_id(records).items()}


def assert_status(
    status: dict[str, object], *, source: str, sinks: list[str], delivery: str = "at-least-once"
) -> None:
    assert status["state"] == "running"
    assert status["error"] is None
    assert (status["rows_dropped"], status["rows_dead_lettered"]) == (0, 0)
    assert (status["source"], status["sinks"], status["delivery"]) == (source, sinks, delivery)


# --- coverage ------------------------------------------------------------------------------------------
def test_every_spec_pipeline_and_bounded_insert_is_covered() -> None:
    """A pipeline or INSERT ... SELECT added to the spec fails here until this module runs it."""
    statements = spec_data_statements()
    assert {s.name: (s.targets, s.sources) for s in statements if s.kind == "pipeline"} == PIPELINES
    assert {s.name: s.sources for s in statements if s.kind == "insert"} == BOUNDED_INSERTS
    text = SPEC_PATH.read_text()
    assert len(re.findall(r"\bCREATE PIPELINE\b", text)) == len(PIPELINES)
    assert len(re.findall(r"\bINSERT INTO\b", text)) == sum(len(s.targets) for s in statements)
    tests = {name for name in globals() if name.startswith("test_spec_")}
    for name in [*PIPELINES, *BOUNDED_INSERTS]:
        assert any(name in test for test in tests), f"no test_spec_* test for {name}"


# --- process_events: projection, TO_JSON, WHERE ----------------------------------------------------------
PROCESS_EVENTS_COLUMNS = "id BIGINT, user_id TEXT, event_type TEXT, timestamp TIMESTAMPTZ, metadata JSONB"


def utc(text_or_ms: str | int) -> dt.datetime:
    if isinstance(text_or_ms, int):
        return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=text_or_ms)
    return dt.datetime.fromisoformat(text_or_ms).astimezone(UTC)


def expected_processed_event(event: dict[str, object]) -> bytes:
    timestamp = event["timestamp"]
    assert isinstance(timestamp, str | int)
    metadata = event.get("metadata")
    return json_object(
        [
            ("id", event["id"]),
            ("user_id", event.get("user_id")),
            ("event_type", event["event_type"]),
            ("timestamp", utc(timestamp).isoformat()),
            ("metadata", None if metadata is None else compact(metadata)),
        ]
    )


async def test_spec_process_events_pipeline(scenario: Scenario) -> None:
    servers = scenario.servers
    await ensure_topic_exists(servers, "processed-events")
    since = await end_offsets(servers, "processed-events")
    await scenario.spec_connection("kafka_json_sink")
    topic = await scenario.source("source_events", PROCESS_EVENTS_COLUMNS)
    first: list[dict[str, object]] = [
        {
            "id": 1,
            "user_id": "u1",
            "event_type": "purchase",
            "timestamp": "2024-02-29T12:00:00Z",
            "metadata": {"sku": "A-1", "qty": 2},
        },
        {"id": 2, "user_id": "u2", "event_type": "view", "timestamp": "2024-02-29T12:00:01Z", "metadata": {}},
        {
            "id": 3,
            "user_id": "u1",
            "event_type": "purchase",
            "timestamp": "2024-02-29T14:00:00.500+02:00",  # an offset: the instant in UTC
            "metadata": None,
        },
        {"id": 4, "user_id": "u3", "event_type": "Purchase", "timestamp": "2024-02-29T12:00:03Z"},
        {"id": 5, "user_id": None, "event_type": "purchase", "timestamp": 1709208000123},  # epoch ms
        {"id": 6, "user_id": "u4", "timestamp": "2024-02-29T12:00:05Z", "metadata": {"x": 1}},  # no type
        {
            "id": 7,
            "user_id": "\u00fcser",
            "event_type": "purchase",
            "timestamp": "2024-02-29T12:00:06.123456Z",
            "metadata": {"items": [{"sku": "B", "price": "9.99"}], "gift": True, "note": "caf\u00e9"},
        },
        {"id": 8, "user_id": "u1", "event_type": "click", "timestamp": "2024-02-29T12:00:07Z"},
    ]
    second: list[dict[str, object]] = [
        {"id": 9, "user_id": "u2", "event_type": "purchase", "timestamp": "2024-03-01T00:00:00Z"},
        {"id": 10, "user_id": "u2", "event_type": "view", "timestamp": "2024-03-01T00:00:01Z"},
        {
            "id": 11,
            "user_id": "u5",
            "event_type": "purchase",
            "timestamp": "2024-03-01T00:00:02Z",
            "metadata": [1, 2, 3],
        },
        {
            "id": 12,
            "user_id": "u6",
            "event_type": "purchase",
            "timestamp": "2024-03-01T00:00:03Z",
            "metadata": "plain",
        },
    ]
    await scenario.produce(topic, first)
    await scenario.create_pipeline("process_events")
    purchases = [e for e in first if e.get("event_type") == "purchase"]
    await wait_pipeline(
        scenario.gateway.endpoint, "process_events", rows_in=len(first), rows_out=len(purchases)
    )
    await scenario.produce(topic, second, first=len(first))
    purchases += [e for e in second if e.get("event_type") == "purchase"]
    status = await wait_pipeline(
        scenario.gateway.endpoint, "process_events", rows_in=len(first) + len(second), rows_out=len(purchases)
    )
    assert_status(status, source="source_events", sinks=["kafka_json_sink"])
    await scenario.committed_everything("process_events", topic, len(first) + len(second))
    records = await poll_records(servers, "processed-events", len(purchases), since=since)
    assert [e["id"] for e in purchases] == [1, 3, 5, 7, 9, 11, 12]
    assert values_by_id(records) == {int(str(e["id"])): expected_processed_event(e) for e in purchases}
    assert {r.key for r in records} == {None}


# --- user_aggregates: per user and hour, GROUP BY ..., TUMBLE -------------------------------------------
USER_EVENT_COLUMNS = "user_id TEXT, amount NUMERIC(12,2), timestamp TIMESTAMP"
HOUR = dt.timedelta(hours=1)
UserEvent = dict[str, object]
HourWindows = dict[tuple[object, dt.datetime], list[UserEvent]]


def user_events(rng: random.Random, start: dt.datetime, count: int) -> list[UserEvent]:
    """``count`` events from ``start`` on, event times rising with the index (so in order in every
    source partition), 0 to 6 minutes apart (some equal, some with microseconds); users u1..u4 and
    a few NULLs; two-decimal amounts (text or number, some negative, a few NULL)."""
    events: list[UserEvent] = []
    moment = start
    for _ in range(count):
        moment += dt.timedelta(
            seconds=rng.choice([0, 1, 59, 180, 360]), microseconds=rng.choice([0, 250_001])
        )
        cents = rng.randint(-5_000, 100_000)
        amount: object = rng.choice([f"{cents / 100:.2f}", cents / 100, None])
        user = rng.choice(["u1", "u2", "u3", "u4", "u4", None])
        events.append({"user_id": user, "amount": amount, "timestamp": moment.isoformat()})
    return events


def hourly_windows(events: Sequence[UserEvent]) -> HourWindows:
    """(user_id, hour) -> the events of that window: the hour is the event time floored to the hour."""
    windows: HourWindows = {}
    for event in events:
        moment = dt.datetime.fromisoformat(str(event["timestamp"]))
        hour = moment.replace(minute=0, second=0, microsecond=0)
        windows.setdefault((event["user_id"], hour), []).append(event)
    return windows


def source_watermark(events: Sequence[UserEvent]) -> dt.datetime:
    """The smallest over the source partitions (event i in partition i mod 3) of the largest event time."""
    largest: dict[int, dt.datetime] = {}
    for number, event in enumerate(events):
        moment = dt.datetime.fromisoformat(str(event["timestamp"]))
        partition = number % SOURCE_PARTITIONS
        largest[partition] = max(largest.get(partition, moment), moment)
    assert len(largest) == SOURCE_PARTITIONS
    return min(largest.values())


def user_aggregate(events: Sequence[UserEvent]) -> tuple[bytes | None, bytes]:
    """The key and value the spec's SELECT makes of one window: user_id, COUNT(*), SUM(amount) as
    NUMERIC (NULL amounts left out; NULL when all are), MAX(timestamp) as a timestamp without zone."""
    amounts = [amount for event in events if (amount := money(event["amount"])) is not None]
    total = sum(amounts, Decimal("0.00")) if amounts else None
    last = max(dt.datetime.fromisoformat(str(event["timestamp"])) for event in events)
    user = events[0]["user_id"]
    value = json_object(
        [
            ("user_id", user),
            ("event_count", len(events)),
            ("total_amount", total),
            ("last_activity", last.isoformat()),
        ]
    )
    return (None if user is None else str(user).encode()), value


def closed_aggregates(events: Sequence[UserEvent]) -> list[tuple[bytes | None, bytes]]:
    """(key, value) of every window whose hour ended at or before the watermark, sorted."""
    mark = source_watermark(events)
    return sorted(
        (user_aggregate(rows) for (_, hour), rows in hourly_windows(events).items() if hour + HOUR <= mark),
        key=repr,
    )


async def test_spec_user_aggregates_pipeline(scenario: Scenario) -> None:
    """The spec's ``GROUP BY user_id, TUMBLE(timestamp, INTERVAL '1 hour')`` pipeline, unchanged, on
    generated events: an hour's row per user once the watermark (the smallest over the source
    partitions of the largest event time read; no delay) passes the hour's end, keyed by user_id
    (key_field), each window once; the hours still open stay out of the output, and the consumer
    group's offsets stop at the first record of an open hour."""
    servers = scenario.servers
    await ensure_topic_exists(servers, "user-events")
    since = await end_offsets(servers, "user-events")
    await scenario.spec_connection("kafka_keyed_sink")
    topic = await scenario.source("events", USER_EVENT_COLUMNS)
    rng = random.Random(7)
    first = user_events(rng, dt.datetime(2024, 3, 1, 0, 0, 0), 90)
    last_first = dt.datetime.fromisoformat(str(first[-1]["timestamp"]))
    second = user_events(rng, last_first, 90)
    # Every partition ends with a record two hours after the rest: all hours of the data close,
    # the closing records' own hour stays open.
    closing_at = dt.datetime.fromisoformat(str(second[-1]["timestamp"])) + 2 * HOUR
    closing: list[UserEvent] = [{"user_id": "u9", "amount": "1.00", "timestamp": closing_at.isoformat()}] * 3
    assert len(closing) == SOURCE_PARTITIONS

    await scenario.produce(topic, first)
    await scenario.create_pipeline("user_aggregates")
    expected_first = closed_aggregates(first)
    assert 0 < len(expected_first) < len(hourly_windows(first)), "the first wave leaves hours open"
    await wait_pipeline(
        scenario.gateway.endpoint, "user_aggregates", rows_in=len(first), rows_out=len(expected_first)
    )
    records = await poll_records(servers, "user-events", len(expected_first), since=since)
    assert sorted(((r.key, r.value) for r in records), key=repr) == expected_first

    await scenario.produce(topic, second + closing, first=len(first))
    events = first + second + closing
    expected = closed_aggregates(events)
    assert len(expected) == len(hourly_windows(first + second))  # every hour but the closing one
    status = await wait_pipeline(
        scenario.gateway.endpoint, "user_aggregates", rows_in=len(events), rows_out=len(expected)
    )
    assert_status(status, source="events", sinks=["kafka_keyed_sink"])
    late = await run_sql(
        scenario.gateway.endpoint, "SELECT rows_late FROM system.pipelines WHERE name = 'user_aggregates'"
    )
    assert late.rows == [(0,)]
    records = await poll_records(servers, "user-events", len(expected), since=since)
    assert sorted(((r.key, r.value) for r in records), key=repr) == expected
    assert any(key is None for key, _ in expected), "a window of the NULL user: no key"
    assert any(b'"total_amount":null' in value for _, value in expected), "a window of NULL amounts only"
    # The closing records (the last of each partition) are the only rows of an open window.
    ends = produced_offsets(len(events), SOURCE_PARTITIONS)
    await wait_committed(
        scenario.gateway.endpoint, servers, "user_aggregates", topic, {p: end - 1 for p, end in ends.items()}
    )


# --- kafka_json_output: a bounded INSERT with CASE and TO_JSON --------------------------------------------
def grade(score: object) -> str:
    if isinstance(score, int) and score > 90:
        return "A"
    if isinstance(score, int) and score > 80:
        return "B"
    return "C"


async def test_spec_kafka_json_output_bounded_insert(scenario: Scenario) -> None:
    servers = scenario.servers
    await ensure_topic_exists(servers, "json-output")
    since = await end_offsets(servers, "json-output")
    await scenario.spec_connection("kafka_json_output")
    topic = await scenario.source("students", "id BIGINT, name TEXT, score INT, details JSONB")
    students: list[dict[str, object]] = [
        {"id": 1, "name": "Ann", "score": 95, "details": {"club": "chess", "year": 2}},
        {"id": 2, "name": "Bo", "score": 91, "details": None},
        {"id": 3, "name": "Cy", "score": 90, "details": ["a", "b"]},  # 90 is not > 90: B
        {"id": 4, "name": "Di", "score": 85},
        {"id": 5, "name": "Ed", "score": 81, "details": {"nested": {"deep": [1, {"x": None}]}}},
        {"id": 6, "name": "Flo", "score": 80, "details": "text"},  # 80 is not > 80: C
        {"id": 7, "name": None, "score": 50, "details": {"club": "art"}},
        {"id": 8, "name": "G\u00fcl", "score": None, "details": 42},  # NULL score: ELSE
        {"id": 9, "name": "Hal", "score": 100, "details": True},
    ]
    await scenario.produce(topic, students)
    await scenario.bounded_insert("kafka_json_output", len(students))
    records = await poll_records(servers, "json-output", len(students), since=since)
    assert [grade(s.get("score")) for s in students] == ["A", "A", "B", "B", "B", "C", "C", "C", "A"]
    expected = {
        int(str(s["id"])): json_object(
            [
                ("id", s["id"]),
                ("name", s.get("name")),
                ("grade", grade(s.get("score"))),
                ("details_json", None if s.get("details") is None else compact(s["details"])),
            ]
        )
        for s in students
    }
    assert values_by_id(records) == expected
    assert {r.key for r in records} == {None}


# --- kafka_raw_sink: a bounded INSERT of raw bytes --------------------------------------------------------
async def test_spec_kafka_raw_sink_bounded_insert(scenario: Scenario) -> None:
    """``encode(data, 'base64') as value, encode(key, 'utf8') as key``: the value is the base64 text
    of the data (payloads under 57 bytes: PostgreSQL's encode wraps longer ones at 76 characters),
    the key the UTF-8 bytes of the text; a NULL key is no key, a NULL value a tombstone."""
    servers = scenario.servers
    await ensure_topic_exists(servers, "binary-data")
    since = await end_offsets(servers, "binary-data")
    await scenario.spec_connection("kafka_raw_sink")
    topic = await scenario.source("binary_stream", "data BYTEA, key TEXT")
    payloads: list[tuple[bytes | None, str | None]] = [
        (b"hello", "k1"),
        (b"\x00\xff\x10\x80", "k2"),
        (b"", "empty"),
        (bytes(range(56)), "k\u00fcy"),
        (b"no key", None),
        (None, "tombstone"),
    ]
    stream: list[dict[str, object]] = [
        {"data": None if data is None else base64.b64encode(data).decode(), "key": key}
        for data, key in payloads
    ]
    await scenario.produce(topic, stream)
    await scenario.bounded_insert("kafka_raw_sink", len(payloads))
    records = await poll_records(servers, "binary-data", len(payloads), since=since)
    expected = [
        (None if key is None else key.encode(), None if data is None else base64.b64encode(data))
        for data, key in payloads
    ]
    assert sorted((r.key, r.value) for r in records if r.key is not None) == sorted(
        (k, v) for k, v in expected if k is not None
    )
    assert [(r.key, r.value) for r in records if r.key is None] == [(None, base64.b64encode(b"no key"))]
    assert all(r.headers == () for r in records)


# --- kafka_custom_partition: a bounded INSERT with a computed partition -------------------------------------
def region_partition(region: object) -> int:
    return {"US": 0, "EU": 1, "ASIA": 2}.get(region, 3) if isinstance(region, str) else 3


async def test_spec_kafka_custom_partition_bounded_insert(scenario: Scenario) -> None:
    servers = scenario.servers
    await ensure_topic(servers, "geo-events", 4)  # partitions 0 to 3, as the CASE computes
    since = await end_offsets(servers, "geo-events")
    await scenario.spec_connection("kafka_custom_partition")
    topic = await scenario.source("events", "id BIGINT, region TEXT, amount NUMERIC(10,2)")
    events: list[dict[str, object]] = [
        {"id": 1, "region": "US", "amount": 1.5},
        {"id": 2, "region": "EU", "amount": 2},
        {"id": 3, "region": "ASIA", "amount": "3.25"},
        {"id": 4, "region": "MARS", "amount": 4},
        {"id": 5, "region": None, "amount": 5},  # CASE NULL: ELSE
        {"id": 6, "region": "us"},  # case matters: ELSE
        {"id": 7, "region": "EU", "amount": 7.005},  # numeric(10,2) rounds half away from zero
        {"id": 8, "region": "US", "amount": -8},
    ]
    await scenario.produce(topic, events)
    await scenario.bounded_insert("kafka_custom_partition", len(events))
    records = await poll_records(servers, "geo-events", len(events), since=since)

    def amount(event: dict[str, object]) -> Decimal | None:
        value = event.get("amount")
        return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)

    stored = by_id(records)
    assert {n: (r.partition, r.value) for n, r in stored.items()} == {
        int(str(e["id"])): (
            region_partition(e.get("region")),
            json_object([("id", e["id"]), ("region", e.get("region")), ("amount", amount(e))]),
        )
        for e in events
    }
    assert [region_partition(e.get("region")) for e in events] == [0, 1, 2, 3, 3, 3, 1, 0]
    assert {r.key for r in records} == {None}


# --- financial_processing: exactly-once through kafka_2pc ---------------------------------------------------
TRANSACTION_COLUMNS = "id BIGINT, amount NUMERIC(12,2), status TEXT, currency TEXT"


def money(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def validated(transaction: dict[str, object]) -> bool:
    amount = money(transaction.get("amount"))
    return amount is not None and amount > 0 and transaction.get("status") == "valid"


async def test_spec_financial_processing_pipeline_is_transactional(scenario: Scenario) -> None:
    servers = scenario.servers
    await ensure_topic(servers, "financial-transactions", 1)
    since = await end_offsets(servers, "financial-transactions")
    await scenario.spec_connection("kafka_2pc")
    topic = await scenario.source("transactions", TRANSACTION_COLUMNS)
    first: list[dict[str, object]] = [
        {"id": 1, "amount": 10.5, "status": "valid", "currency": "EUR"},
        {"id": 2, "amount": -3, "status": "valid", "currency": "EUR"},  # amount <= 0
        {"id": 3, "amount": 99.99, "status": "void", "currency": "USD"},  # not valid
        {"id": 4, "amount": 0.01, "status": "valid", "currency": "USD"},
        {"id": 5, "amount": 0, "status": "valid", "currency": "USD"},  # zero is not > 0
        {"id": 6, "amount": None, "status": "valid", "currency": "USD"},  # NULL amount
        {"id": 7, "amount": 20, "currency": "GBP"},  # NULL status
        {"id": 8, "amount": "12.345", "status": "valid", "currency": None},  # rounds to 12.35
        {"id": 9, "amount": 1000000, "status": "valid", "currency": "JPY"},
        {"id": 10, "amount": 5, "status": "VALID", "currency": "EUR"},  # case matters
        {"id": 11, "amount": 0.004, "status": "valid", "currency": "EUR"},  # rounds to 0.00: not > 0
    ]
    second: list[dict[str, object]] = [
        {"id": 12, "amount": 7.25, "status": "valid", "currency": "EUR"},
        {"id": 13, "amount": 7.25, "status": "pending", "currency": "EUR"},
        {"id": 14, "amount": 0.005, "status": "valid", "currency": "EUR"},  # rounds to 0.01
    ]
    await scenario.produce(topic, first)
    await scenario.create_pipeline("financial_processing")
    kept = [t for t in first if validated(t)]
    await wait_pipeline(
        scenario.gateway.endpoint, "financial_processing", rows_in=len(first), rows_out=len(kept)
    )
    await scenario.produce(topic, second, first=len(first))
    kept += [t for t in second if validated(t)]
    status = await wait_pipeline(
        scenario.gateway.endpoint,
        "financial_processing",
        rows_in=len(first) + len(second),
        rows_out=len(kept),
    )
    assert_status(status, source="transactions", sinks=["kafka_2pc"], delivery="exactly-once")
    await scenario.committed_everything("financial_processing", topic, len(first) + len(second))
    assert [t["id"] for t in kept] == [1, 4, 8, 9, 12, 14]
    batches = await poll_batches(servers, "financial-transactions", len(kept), since=since)
    # Every transaction the pipeline opened is closed by a COMMIT marker; poll until the last one is.
    deadline = time.monotonic() + 20
    while batches[-1].control_type != COMMIT:
        assert time.monotonic() < deadline, f"the last transaction was not committed: {batches[-1]}"
        batches = await poll_batches(servers, "financial-transactions", len(kept), since=since)
    assert all(batch.transactional for batch in batches)
    assert {batch.control_type for batch in batches if batch.control} == {COMMIT}
    assert not batches[0].control
    for before, after in itertools.pairwise(batches):
        assert not (before.control and after.control), "a marker without data: an empty transaction"
    assert len({(b.producer_id, b.producer_epoch) for b in batches}) == 1
    assert batches[0].producer_id >= 0
    # Source order is kept: one partition out, and the source's partitions read in turn per batch.
    expected = {
        int(str(t["id"])): json_object(
            [
                ("id", t["id"]),
                ("amount", money(t["amount"])),
                ("status", "valid"),
                ("currency", t["currency"]),
            ]
        )
        for t in kept
    }
    assert values_by_id(data_records(batches)) == expected


# --- with_error_handling: fan-out by is_valid(data) --------------------------------------------------------
def json_valid(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


async def test_spec_with_error_handling_pipeline_routes_invalid_data_to_the_dlq(scenario: Scenario) -> None:
    servers = scenario.servers
    for topic in ("processed-events", "failed-events-dlq"):
        await ensure_topic_exists(servers, topic)
    since_main = await end_offsets(servers, "processed-events")
    since_dlq = await end_offsets(servers, "failed-events-dlq")
    await scenario.spec_connection("kafka_main_sink")
    await scenario.spec_connection("kafka_dlq_sink")
    topic = await scenario.source("source_events", "id BIGINT, data TEXT")
    first: list[dict[str, object]] = [
        {"id": 1, "data": '{"amount": 5, "ok": true}'},
        {"id": 2, "data": "not json"},
        {"id": 3, "data": "[1, 2, 3]"},
        {"id": 4, "data": None},  # NULL: not valid
        {"id": 5, "data": '{"a":'},  # truncated
        {"id": 6, "data": '"just a string"'},
        {"id": 7},  # missing: NULL
        {"id": 8, "data": ""},  # empty text
        {"id": 9, "data": "42"},
        {"id": 10, "data": "{'single': 'quotes'}"},
    ]
    second: list[dict[str, object]] = [
        {"id": 11, "data": '{"caf\u00e9": "cr\u00e8me"}'},
        {"id": 12, "data": "{broken"},
        {"id": 13, "data": "null"},  # the JSON literal null is well-formed JSON
    ]
    await scenario.produce(topic, first)
    await scenario.create_pipeline("with_error_handling")
    await wait_pipeline(
        scenario.gateway.endpoint, "with_error_handling", rows_in=len(first), rows_out=len(first)
    )
    await scenario.produce(topic, second, first=len(first))
    events = first + second
    status = await wait_pipeline(
        scenario.gateway.endpoint, "with_error_handling", rows_in=len(events), rows_out=len(events)
    )
    assert_status(status, source="source_events", sinks=["kafka_main_sink", "kafka_dlq_sink"])
    await scenario.committed_everything("with_error_handling", topic, len(events))
    main = [e for e in events if json_valid(e.get("data"))]
    dlq = [e for e in events if not json_valid(e.get("data"))]
    assert [e["id"] for e in main] == [1, 3, 6, 9, 11, 13]
    stored_main = await poll_records(servers, "processed-events", len(main), since=since_main)
    stored_dlq = await poll_records(servers, "failed-events-dlq", len(dlq), since=since_dlq)

    def expected(rows: list[dict[str, object]], target: str) -> dict[int, bytes]:
        return {
            int(str(e["id"])): json_object([("id", e["id"]), ("data", e.get("data")), ("target", target)])
            for e in rows
        }

    assert values_by_id(stored_main) == expected(main, "main")
    assert values_by_id(stored_dlq) == expected(dlq, "dlq")


# --- add_headers: a MAP becomes the message headers -------------------------------------------------------
async def test_spec_add_headers_pipeline(scenario: Scenario) -> None:
    servers = scenario.servers
    await ensure_topic_exists(servers, "events-with-headers")
    since = await end_offsets(servers, "events-with-headers")
    await scenario.spec_connection("kafka_with_headers")
    topic = await scenario.source("events", "id BIGINT, user_id TEXT, kind TEXT")
    first: list[dict[str, object]] = [
        {"id": 1, "user_id": "u1", "kind": "click"},
        {"id": 2, "user_id": None, "kind": "view"},
        {"id": 3, "user_id": "u3", "kind": None},
        {"id": 4, "user_id": "u4", "kind": "click"},
    ]
    second: list[dict[str, object]] = [{"id": 5, "user_id": "u5", "kind": "buy"}]
    before = dt.datetime.now(UTC)
    await scenario.produce(topic, first)
    await scenario.create_pipeline("add_headers")
    await wait_pipeline(scenario.gateway.endpoint, "add_headers", rows_in=len(first), rows_out=len(first))
    await scenario.produce(topic, second, first=len(first))
    events = first + second
    status = await wait_pipeline(
        scenario.gateway.endpoint, "add_headers", rows_in=len(events), rows_out=len(events)
    )
    after = dt.datetime.now(UTC)
    assert_status(status, source="events", sinks=["kafka_with_headers"])
    await scenario.committed_everything("add_headers", topic, len(events))
    records = await poll_records(servers, "events-with-headers", len(events), since=since)
    # The headers column is not part of the value: it is the record's headers.
    assert values_by_id(records) == {
        int(str(e["id"])): json_object([("id", e["id"]), ("user_id", e["user_id"]), ("kind", e["kind"])])
        for e in events
    }
    correlation_ids = set()
    for record in records:
        names = [name for name, _ in record.headers]
        assert names == ["source", "version", "timestamp", "correlation_id"], record
        headers = {name: (value or b"").decode() for name, value in record.headers}
        assert (headers["source"], headers["version"]) == ("laminar", "1.0")
        stamped = dt.datetime.fromisoformat(headers["timestamp"])  # CAST(NOW() AS STRING)
        assert stamped.tzinfo is not None, headers["timestamp"]
        assert before - dt.timedelta(seconds=1) <= stamped <= after, (before, headers["timestamp"], after)
        correlation = uuid.UUID(headers["correlation_id"])  # UUID()
        assert str(correlation) == headers["correlation_id"]
        assert correlation.version == 4
        correlation_ids.add(correlation)
        assert record.key is None
    assert len(correlation_ids) == len(events), "UUID() must differ per row"


# --- route_by_type: topic_field routing ------------------------------------------------------------------
ROUTES = {"order": "orders-topic", "payment": "payments-topic", "shipment": "shipments-topic"}
ROUTED_TOPICS = [*ROUTES.values(), "misc-topic"]


async def test_spec_route_by_type_pipeline(scenario: Scenario) -> None:
    servers = scenario.servers
    for routed in ROUTED_TOPICS:
        await ensure_topic_exists(servers, routed)
    since = {routed: await end_offsets(servers, routed) for routed in ROUTED_TOPICS}
    await scenario.spec_connection("kafka_multi")
    topic = await scenario.source("events", "id BIGINT, event_type TEXT, amount DOUBLE PRECISION")
    first: list[dict[str, object]] = [
        {"id": 1, "event_type": "order", "amount": 10.5},
        {"id": 2, "event_type": "payment", "amount": 10.5},
        {"id": 3, "event_type": "shipment"},
        {"id": 4, "event_type": "refund", "amount": -1.25},
        {"id": 5, "event_type": None, "amount": 0},  # CASE NULL: ELSE
        {"id": 6, "event_type": "Order", "amount": 1},  # case matters: ELSE
        {"id": 7, "event_type": "order", "amount": 2.5},
    ]
    second: list[dict[str, object]] = [
        {"id": 8, "event_type": "payment", "amount": 3},
        {"id": 9, "event_type": "shipment", "amount": 0.1},
        {"id": 10, "event_type": "", "amount": 4},
    ]
    await scenario.produce(topic, first)
    await scenario.create_pipeline("route_by_type")
    await wait_pipeline(scenario.gateway.endpoint, "route_by_type", rows_in=len(first), rows_out=len(first))
    await scenario.produce(topic, second, first=len(first))
    events = first + second
    status = await wait_pipeline(
        scenario.gateway.endpoint, "route_by_type", rows_in=len(events), rows_out=len(events)
    )
    assert_status(status, source="events", sinks=["kafka_multi"])
    await scenario.committed_everything("route_by_type", topic, len(events))

    def route(event: dict[str, object]) -> str:
        kind = event.get("event_type")
        return ROUTES.get(kind, "misc-topic") if isinstance(kind, str) else "misc-topic"

    def amount(event: dict[str, object]) -> float | None:
        value = event.get("amount")
        return None if value is None else float(str(value))

    expected: dict[str, dict[int, bytes | None]] = {routed: {} for routed in ROUTED_TOPICS}
    for event in events:
        expected[route(event)][int(str(event["id"]))] = json_object(
            [("id", event["id"]), ("event_type", event.get("event_type")), ("amount", amount(event))]
        )
    assert {routed: sorted(rows) for routed, rows in expected.items()} == {
        "orders-topic": [1, 7],
        "payments-topic": [2, 8],
        "shipments-topic": [3, 9],
        "misc-topic": [4, 5, 6, 10],
    }
    stored = {
        routed: values_by_id(await poll_records(servers, routed, len(expected[routed]), since=since[routed]))
        for routed in ROUTED_TOPICS
    }
    assert stored == expected
