"""Bounded reads of Kafka source connections (sources.kafka_source) against the real test broker.

Records are produced with aiokafka (keys, headers, timestamps, several batches per partition so
that the broker's short ListOffsets(latest) answer would show), then read back with
:class:`KafkaSourceReader` and compared row by row: every record exactly once with its metadata,
nothing produced after the read fixed its end offsets, the limit, start offsets, error policies,
raw values, consumer groups left untouched, unknown topics and unreachable brokers, timeouts and
cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from catalog.model import ColumnDef
from catalog.options import validate_connection_options
from gateway.errors import LaminarError
from gateway.protocol import types as pg
from sinks import kafka_compat
from sources.kafka_source import DeadLetter, KafkaSourceReader, SourceBatch
from tests.fixtures.gateway import free_port
from tests.fixtures.kafka import KafkaBroker, create_topic, topic_partitions

pytestmark = pytest.mark.integration

EVENT_COLUMNS = (
    ColumnDef("id", "bigint"),
    ColumnDef("user_id", "text"),
    ColumnDef("amount", "numeric(10,2)"),
)
BASE_TIME_MS = 1_709_210_096_789  # 2024-02-29 12:34:56.789 UTC
TASK_DEADLINE_S = 10.0


@dataclass(frozen=True)
class Produced:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int


def new_topic_name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def reader_for(
    bootstrap_servers: str,
    topic: str,
    *,
    columns: Sequence[ColumnDef] = EVENT_COLUMNS,
    fmt: str = "json",
    name: str = "events",
    **options: str,
) -> KafkaSourceReader:
    pairs = [
        ("bootstrap_servers", bootstrap_servers),
        ("topic", topic),
        ("type", "source"),
        ("format", fmt),
        *options.items(),
    ]
    validated = validate_connection_options(
        [(key.replace("__", "."), value) for key, value in pairs],
        secret_exists=lambda _: False,
        columns=[column.name for column in columns],
    )
    return KafkaSourceReader(name, validated, {}, columns)


@contextlib.asynccontextmanager
async def producer_on(broker: KafkaBroker, **kwargs: object) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, **kwargs)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def produce(
    broker: KafkaBroker,
    topic: str,
    records: Sequence[tuple[int, bytes | None, bytes | None, Sequence[tuple[str, bytes]]]],
    *,
    batch: int = 5,
    first_timestamp_ms: int = BASE_TIME_MS,
) -> list[Produced]:
    """Send (partition, key, value, headers) records, ``batch`` at a time, and wait for every ack."""
    produced: list[Produced] = []
    async with producer_on(broker) as producer:
        for start in range(0, len(records), batch):
            chunk = records[start : start + batch]
            futures = []
            for number, (partition, key, value, headers) in enumerate(chunk, start):
                timestamp_ms = first_timestamp_ms + number
                future = await producer.send(
                    topic,
                    value,
                    key=key,
                    partition=partition,
                    headers=list(headers),
                    timestamp_ms=timestamp_ms,
                )
                futures.append((future, key, value, tuple(headers), timestamp_ms))
            await producer.flush()
            for future, key, value, headers, timestamp_ms in futures:
                metadata = await future
                produced.append(
                    Produced(metadata.partition, metadata.offset, key, value, headers, timestamp_ms)
                )
    return sorted(produced, key=lambda record: (record.partition, record.offset))


def event(
    number: int, partition: int, *, padding: int = 0
) -> tuple[int, bytes | None, bytes, list[tuple[str, bytes]]]:
    """A JSON event record; ``padding`` adds a string of that many characters (an undeclared key)."""
    body = {"id": number, "user_id": f"user-{number % 7}", "amount": f"{number}.25"}
    if padding:
        body["padding"] = "x" * padding
    value = json.dumps(body).encode()
    headers = [("trace", f"t-{number}".encode()), ("dup", b"first"), ("dup", b"last")]
    return partition, f"k{number}".encode(), value, headers


def expected_event_rows(produced: Sequence[Produced]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for record in produced:
        assert record.value is not None
        body = json.loads(record.value)
        rows.append(
            (
                body["id"],
                body.get("user_id"),
                Decimal(body["amount"]) if "amount" in body else None,
                record.key,
                record.partition,
                record.offset,
                timestamp_of(record),
                dict(record.headers),
            )
        )
    return rows


def timestamp_of(record: Produced) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=record.timestamp_ms)


def ends_of(produced: Sequence[Produced], partitions: int) -> dict[int, int]:
    return {p: sum(1 for record in produced if record.partition == p) for p in range(partitions)}


@pytest.fixture
def topic() -> str:
    return new_topic_name("source")


# --- reading everything once ---------------------------------------------------------------------
async def test_every_record_is_read_once_with_its_metadata(kafka_broker: KafkaBroker, topic: str) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 3)
    records = [event(number, number % 3) for number in range(40)]
    records.append((1, None, b'{"id": 1000}', []))  # no key, no headers, no user_id/amount keys
    produced = await produce(kafka_broker, topic, records, batch=6)

    batch = await reader_for(kafka_broker.bootstrap_servers, topic).read_bounded()

    assert batch.columns == [
        ("id", pg.INT8),
        ("user_id", pg.TEXT),
        ("amount", pg.NUMERIC),
        ("_kafka_key", pg.BYTEA),
        ("_kafka_partition", pg.INT4),
        ("_kafka_offset", pg.INT8),
        ("_kafka_timestamp", pg.TIMESTAMPTZ),
        ("_kafka_headers", pg.TEXT),
    ]
    assert batch.rows == expected_event_rows(produced)
    assert [row for row in batch.rows if row[0] == 1000] == [
        (1000, None, None, None, 1, 13, timestamp_of(next(r for r in produced if r.key is None)), {})
    ]
    assert batch.rows[0][7] == {"trace": b"t-0", "dup": b"last"}
    assert batch.end_offsets == {0: 14, 1: 14, 2: 13}
    assert batch.start_offsets == {0: 0, 1: 0, 2: 0}
    assert (batch.skipped, batch.errors, batch.dead_letters) == (0, [], [])


async def test_records_produced_after_the_end_offsets_were_fixed_are_left_out(
    kafka_broker: KafkaBroker, topic: str
) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 3)
    # ~2.5 MB per partition: three fetches (1 MiB per partition each), so the read is still going
    # when the late records arrive and the fetches after them report a higher high watermark
    records = [event(n, n % 3, padding=2500) for n in range(3000)]
    before = await produce(kafka_broker, topic, records, batch=500)
    seen_ends: list[Mapping[int, int]] = []
    late: list[Produced] = []

    async def produce_more_while_reading(ends: Mapping[int, int]) -> None:
        seen_ends.append(ends)
        late.extend(await produce(kafka_broker, topic, [event(n, n % 3) for n in range(3000, 3090)]))

    reader = reader_for(kafka_broker.bootstrap_servers, topic)
    batch = await reader.read_bounded(on_end_offsets=produce_more_while_reading)

    assert seen_ends == [{0: 1000, 1: 1000, 2: 1000}]
    assert len(late) == 90
    assert batch.end_offsets == {0: 1000, 1: 1000, 2: 1000}
    assert batch.rows == expected_event_rows(before)

    again = await reader.read_bounded()
    assert again.end_offsets == {0: 1030, 1: 1030, 2: 1030}
    assert again.rows == expected_event_rows(sorted([*before, *late], key=lambda r: (r.partition, r.offset)))


async def test_an_empty_topic_reads_nothing(kafka_broker: KafkaBroker, topic: str) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 2)
    batch = await reader_for(kafka_broker.bootstrap_servers, topic).read_bounded(timeout_s=10)
    assert (batch.rows, batch.end_offsets, batch.start_offsets) == ([], {0: 0, 1: 0}, {0: 0, 1: 0})


async def test_limit_stops_after_that_many_rows(kafka_broker: KafkaBroker, topic: str) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 3)
    produced = await produce(kafka_broker, topic, [event(n, n % 3) for n in range(30)])
    everything = expected_event_rows(produced)
    reader = reader_for(kafka_broker.bootstrap_servers, topic)

    peek = await reader.read_bounded(limit=4)
    assert len(peek.rows) == 4
    assert all(row in everything for row in peek.rows)
    assert peek.rows == sorted(peek.rows, key=lambda row: (row[4], row[5]))

    assert (await reader.read_bounded(limit=1000)).rows == everything
    unreachable = reader_for(f"127.0.0.1:{free_port()}", topic)
    nothing = await unreachable.read_bounded(limit=0)
    assert (nothing.rows, nothing.end_offsets, nothing.columns) == ([], {}, reader.columns)


async def test_start_offset_latest_reads_nothing_of_what_is_there(
    kafka_broker: KafkaBroker, topic: str
) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 3)
    produced = await produce(kafka_broker, topic, [event(n, n % 3) for n in range(45)], batch=5)
    batch = await reader_for(kafka_broker.bootstrap_servers, topic, start_offset="latest").read_bounded()
    # the end offsets are the real ones (15 each), though ListOffsets(latest) answers less on Tansu
    assert batch.rows == []
    assert batch.end_offsets == ends_of(produced, 3) == {0: 15, 1: 15, 2: 15}
    assert batch.start_offsets == batch.end_offsets


# --- consumer groups ----------------------------------------------------------------------------
async def committed_offsets(
    broker: KafkaBroker, group: str, topic: str, partitions: int
) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)}
    finally:
        await consumer.stop()


async def commit_offsets(broker: KafkaBroker, group: str, topic: str, offsets: Mapping[int, int]) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in offsets])
        await consumer.commit({TopicPartition(topic, p): offset for p, offset in offsets.items()})
    finally:
        await consumer.stop()


async def test_reads_never_commit_offsets(kafka_broker: KafkaBroker, topic: str) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 3)
    produced = await produce(kafka_broker, topic, [event(n, n % 3) for n in range(12)])
    group = new_topic_name("group")
    reader = reader_for(kafka_broker.bootstrap_servers, topic, group_id=group)

    assert len((await reader.read_bounded()).rows) == 12
    assert len((await reader.read_bounded(prefer_committed=True)).rows) == 12
    assert await committed_offsets(kafka_broker, group, topic, 3) == {0: None, 1: None, 2: None}

    await commit_offsets(kafka_broker, group, topic, {0: 1, 1: 3, 2: 4})
    resumed = await reader.read_bounded(prefer_committed=True)
    assert resumed.start_offsets == {0: 1, 1: 3, 2: 4}
    assert resumed.rows == expected_event_rows(
        [r for r in produced if r.offset >= {0: 1, 1: 3, 2: 4}[r.partition]]
    )
    assert await committed_offsets(kafka_broker, group, topic, 3) == {0: 1, 1: 3, 2: 4}


async def test_start_offset_committed_needs_a_committed_offset_per_partition(
    kafka_broker: KafkaBroker, topic: str
) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 3)
    produced = await produce(kafka_broker, topic, [event(n, n % 3) for n in range(9)])
    reader = reader_for(kafka_broker.bootstrap_servers, topic, start_offset="committed", name="orders")

    await commit_offsets(kafka_broker, "laminar-orders", topic, {1: 2})
    with pytest.raises(LaminarError) as caught:
        await reader.read_bounded()
    assert caught.value.sqlstate == "55000"
    assert caught.value.message == (
        f'consumer group "laminar-orders" has no committed offset for partitions 0, 2 of topic "{topic}" '
        "(start_offset is 'committed')"
    )

    await commit_offsets(kafka_broker, "laminar-orders", topic, {0: 3, 2: 0})
    batch = await reader.read_bounded()
    assert batch.start_offsets == {0: 3, 1: 2, 2: 0}
    assert batch.rows == expected_event_rows(
        [r for r in produced if r.offset >= {0: 3, 1: 2, 2: 0}[r.partition]]
    )
    assert await committed_offsets(kafka_broker, "laminar-orders", topic, 3) == {0: 3, 1: 2, 2: 0}


# --- transactions ---------------------------------------------------------------------------------
async def test_read_committed_ends_at_the_last_stable_offset(kafka_broker: KafkaBroker, topic: str) -> None:
    kafka_compat.install()
    await create_topic(kafka_broker.bootstrap_servers, topic, 1)
    committed = await produce(kafka_broker, topic, [event(n, 0) for n in range(3)])
    async with producer_on(kafka_broker, transactional_id=new_topic_name("tx")) as producer:
        await producer.begin_transaction()
        for number in range(3, 5):
            _, key, value, headers = event(number, 0)
            await producer.send_and_wait(topic, value, key=key, partition=0, headers=headers)
        open_read = await reader_for(kafka_broker.bootstrap_servers, topic).read_bounded()
        assert [row[0] for row in open_read.rows] == [0, 1, 2]
        assert open_read.end_offsets == {0: 3}
        uncommitted = await reader_for(
            kafka_broker.bootstrap_servers, topic, isolation_level="read_uncommitted"
        ).read_bounded()
        assert [row[0] for row in uncommitted.rows] == [0, 1, 2, 3, 4]
        assert uncommitted.end_offsets == {0: 5}
        await producer.commit_transaction()
    after = await reader_for(kafka_broker.bootstrap_servers, topic).read_bounded()
    assert [row[0] for row in after.rows] == [0, 1, 2, 3, 4]
    assert after.end_offsets == {0: 6}  # the commit marker takes an offset and is no row
    assert after.rows[:3] == expected_event_rows(committed)


# --- error policies -------------------------------------------------------------------------------
BAD_RECORDS = [
    (0, b"a", b'{"id": 1, "user_id": "u1", "amount": 1}', [("h", b"1")]),
    (0, b"b", b"{oops", [("h", b"2")]),
    (0, None, b'{"id": 3, "user_id": "u3"}', []),
    (0, b"d", b'{"id": "three", "user_id": "u4"}', []),
    (0, b"e", b'{"id": 5, "amount": "12345678901.5"}', []),
    (0, b"f", b'{"id": 6}', []),
]
# the amount column is numeric, so these records are parsed by the exact (stdlib) JSON parser
BAD_JSON = (
    "invalid JSON in the record value: "
    "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
)
BAD_ID = 'column "id": invalid input syntax for type bigint: "three"'
BAD_AMOUNT = 'column "amount": numeric field overflow: "12345678901.5" does not fit numeric(10,2)'


async def test_error_policy_fail_names_the_record(kafka_broker: KafkaBroker, topic: str) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 1)
    await produce(kafka_broker, topic, BAD_RECORDS)
    with pytest.raises(LaminarError) as caught:
        await reader_for(kafka_broker.bootstrap_servers, topic, name="payments").read_bounded()
    assert caught.value.sqlstate == "22P02"
    assert caught.value.message == (
        f'could not decode the record at partition 0, offset 1 of Kafka topic "{topic}" '
        f'(connection "payments"): {BAD_JSON}'
    )
    assert caught.value.hint == (
        "Set error_policy = 'skip' or 'dlq' on the connection to read past undecodable records."
    )


async def test_error_policy_skip_counts_and_lists_the_records(kafka_broker: KafkaBroker, topic: str) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 1)
    await produce(kafka_broker, topic, BAD_RECORDS)
    batch = await reader_for(kafka_broker.bootstrap_servers, topic, error_policy="skip").read_bounded()
    assert [(row[0], row[1], row[2], row[3], row[5]) for row in batch.rows] == [
        (1, "u1", Decimal("1.00"), b"a", 0),
        (3, "u3", None, None, 2),
        (6, None, None, b"f", 5),
    ]
    assert batch.skipped == 3
    assert batch.errors == [
        f"partition 0, offset 1: {BAD_JSON}",
        f"partition 0, offset 3: {BAD_ID}",
        f"partition 0, offset 4: {BAD_AMOUNT}",
    ]
    assert batch.dead_letters == []
    assert batch.end_offsets == {0: 6}


async def test_error_policy_dlq_returns_the_records_as_read(kafka_broker: KafkaBroker, topic: str) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 1)
    produced = await produce(kafka_broker, topic, BAD_RECORDS)
    reader = reader_for(
        kafka_broker.bootstrap_servers, topic, error_policy="dlq", dlq_connection="bad_events"
    )
    batch = await reader.read_bounded()
    assert [row[0] for row in batch.rows] == [1, 3, 6]
    assert batch.skipped == 0
    assert len(batch.errors) == 3
    assert batch.dead_letters == [
        DeadLetter(topic, 0, 1, produced[1].timestamp_ms, b"b", b"{oops", (("h", b"2"),), BAD_JSON, "22P02"),
        DeadLetter(topic, 0, 3, produced[3].timestamp_ms, b"d", BAD_RECORDS[3][2], (), BAD_ID, "22P02"),
        DeadLetter(topic, 0, 4, produced[4].timestamp_ms, b"e", BAD_RECORDS[4][2], (), BAD_AMOUNT, "22003"),
    ]


async def test_fail_on_missing_makes_a_missing_key_fail_the_read(
    kafka_broker: KafkaBroker, topic: str
) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 1)
    await produce(
        kafka_broker, topic, [(0, None, b'{"id": 1, "user_id": "x", "amount": 2}', []), BAD_RECORDS[5]]
    )
    reader = reader_for(kafka_broker.bootstrap_servers, topic, name="strict", json__fail_on_missing="true")
    with pytest.raises(LaminarError) as caught:
        await reader.read_bounded()
    assert caught.value.sqlstate == "22023"
    assert caught.value.message == (
        f'could not decode the record at partition 0, offset 1 of Kafka topic "{topic}" '
        '(connection "strict"): the record has no key "user_id" (json.fail_on_missing is true)'
    )


# --- raw ------------------------------------------------------------------------------------------
async def test_raw_format_reads_key_and_value_bytes(kafka_broker: KafkaBroker, topic: str) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 2)
    produced = await produce(
        kafka_broker,
        topic,
        [
            (0, b"\x00key", b"\xff\xfe binary", [("h", b"\x01")]),
            (1, None, b"plain", []),
            (1, b"gone", None, []),
        ],
    )
    batch = await reader_for(kafka_broker.bootstrap_servers, topic, columns=(), fmt="raw").read_bounded()
    assert batch.columns[:3] == [("key", pg.BYTEA), ("value", pg.BYTEA), ("_kafka_key", pg.BYTEA)]
    assert [row[:5] for row in batch.rows] == [
        (b"\x00key", b"\xff\xfe binary", b"\x00key", 0, 0),
        (None, b"plain", None, 1, 0),
        (b"gone", None, b"gone", 1, 1),
    ]
    assert [row[6] for row in batch.rows] == [{"h": b"\x01"}, {}, {}]
    assert [row[5] for row in batch.rows] == [timestamp_of(record) for record in produced]


# --- what cannot be read ------------------------------------------------------------------------
async def test_a_topic_that_does_not_exist_is_a_clear_error_and_is_not_created(
    kafka_broker: KafkaBroker,
) -> None:
    missing = new_topic_name("missing")
    with pytest.raises(LaminarError) as caught:
        await reader_for(kafka_broker.bootstrap_servers, missing, name="ghost").read_bounded()
    assert caught.value.sqlstate == "42704"
    assert caught.value.message == f'Kafka topic "{missing}" of connection "ghost" does not exist'
    assert caught.value.hint == (
        "Create the topic, or point the connection at another one with "
        "ALTER CONNECTION ghost SET (topic = '...')."
    )
    assert await topic_partitions(kafka_broker.bootstrap_servers, missing) == 0


async def test_an_unreachable_broker_is_a_connection_failure(kafka_broker: KafkaBroker) -> None:
    port = free_port()
    reader = reader_for(f"127.0.0.1:{port}", "events", name="far")
    with pytest.raises(LaminarError) as caught:
        await reader.read_bounded(timeout_s=10)
    assert caught.value.sqlstate == "08006"
    assert caught.value.message.startswith(
        f'could not connect to the Kafka brokers of connection "far" (127.0.0.1:{port}): '
    )


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_broker_that_never_answers_is_bounded_by_the_timeout() -> None:
    async with silent_server() as port:
        reader = reader_for(f"127.0.0.1:{port}", "events", name="mute")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(LaminarError) as caught:
            await reader.read_bounded(timeout_s=1.0)
        assert loop.time() - started < 5.0
    assert caught.value.sqlstate == "08006"
    assert caught.value.message == (
        f'could not reach the Kafka brokers of connection "mute" (127.0.0.1:{port}) within 1 s'
    )


def other_tasks(before: set[asyncio.Task[object]]) -> set[asyncio.Task[object]]:
    return {task for task in asyncio.all_tasks() if task not in before and task is not asyncio.current_task()}


async def wait_for_no_new_tasks(before: set[asyncio.Task[object]]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TASK_DEADLINE_S
    while other_tasks(before):
        assert loop.time() < deadline, f"tasks left running: {other_tasks(before)}"
        await asyncio.sleep(0.01)  # poll interval: the loop ends on the condition


async def test_a_read_that_does_not_finish_in_time_is_57014_with_its_progress(
    kafka_broker: KafkaBroker, topic: str
) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 2)
    await produce(kafka_broker, topic, [event(n, 0) for n in range(4)])
    before = set(asyncio.all_tasks())
    never = asyncio.Event()

    async def stall(_: Mapping[int, int]) -> None:
        await never.wait()

    with pytest.raises(LaminarError) as caught:
        await reader_for(kafka_broker.bootstrap_servers, topic, name="slow").read_bounded(
            timeout_s=1.0, on_end_offsets=stall
        )
    assert caught.value.sqlstate == "57014"
    assert caught.value.message == (
        f'canceling the read of Kafka topic "{topic}" (connection "slow"): not finished within 1 s'
    )
    assert caught.value.detail in {
        "partition 0: at offset 4 of 4; partition 1: at offset 0 of 0",
        "partition 0: at offset 0 of 4; partition 1: at offset 0 of 0",
    }
    await wait_for_no_new_tasks(before)


async def test_cancelling_a_read_closes_its_consumer(kafka_broker: KafkaBroker, topic: str) -> None:
    await create_topic(kafka_broker.bootstrap_servers, topic, 3)
    await produce(kafka_broker, topic, [event(n, n % 3) for n in range(30)])
    before = set(asyncio.all_tasks())
    reached = asyncio.Event()
    never = asyncio.Event()

    async def stall(_: Mapping[int, int]) -> None:
        reached.set()
        await never.wait()

    read: asyncio.Task[SourceBatch] = asyncio.create_task(
        reader_for(kafka_broker.bootstrap_servers, topic).read_bounded(on_end_offsets=stall)
    )
    await asyncio.wait_for(reached.wait(), TASK_DEADLINE_S)
    assert len(other_tasks(before)) > 1  # the read and the consumer's own tasks
    read.cancel()
    with pytest.raises(asyncio.CancelledError):
        await read
    await wait_for_no_new_tasks(before)
