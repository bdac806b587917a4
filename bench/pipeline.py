"""Benchmark a stateless JSON pipeline (filter + projection) against hand-written aiokafka loops.

This is a benchmark, not a test: run it from the repo root with
`.venv/bin/python bench/pipeline.py [--records 1000000 | --quick] [--contenders batched,naive,alo,eos]
[--stall-seconds 30] [--json PATH]`. It measures the first target of DESIGN.md §6: one partition of
JSON records goes through `WHERE event_type = 'purchase'` and a projection to `(id, user_id, amount)`,
and the input records per second are compared side by side, in one run, on one broker.

How it measures:

1. It starts one Tansu broker (in-memory storage, free loopback port) and produces --records JSON
   records once into a 1-partition input topic, e.g.
   `{"id":7,"user_id":"u7","event_type":"purchase","amount":123.45,"ts":"2024-02-29T12:00:00.007+00:00"}`
   (event types drawn with a fixed seed, about a third are purchases), uncompressed, in 16 KiB batches
   (Kafka's default batch.size). While generating it notes which ids are purchases and their amounts:
   that is what every contender must write.
2. Each contender reads the whole input topic from offset 0 and writes the projection of the purchases
   as JSON to its own fresh 1-partition output topic:
   - batched: a hand-written loop as a careful engineer writes it: `AIOKafkaConsumer` (no group, the
     partition assigned, sought to the beginning), `getmany(max_records=...)`, `orjson.loads`, filter,
     `orjson.dumps` of the projection appended to `producer.create_batch()` builders that go out with
     `send_batch`, at most MAX_IN_FLIGHT_BATCHES unacknowledged; it stops at the input's end offset,
     taken from the fetch high watermark `consumer.highwater(tp)` (Tansu's ListOffsets(latest) is
     wrong, DESIGN.md §2), once every batch is acknowledged;
   - naive: `async for msg in consumer: ... await producer.send(...)` per purchase, `flush()` at the end;
   - alo: the Laminar gateway (`laminar serve`, started by the benchmark) running
     `CREATE PIPELINE bench_alo AS INSERT INTO bench_out SELECT id, user_id, amount FROM bench_src
     WHERE event_type = 'purchase'` (at-least-once: the sink connection's defaults);
   - eos: the same with `'transactional.id' = 'bench-eos'` on the sink connection (exactly-once), its
     own source connection (so its own consumer group) and its own output topic.
   Both peers use the producer settings the Laminar sink derives from the same connection options
   (acks=all, idempotence, batch.size, linger.ms, compression: `ProducerSettings`), so all four write
   the same kind of output with the same guarantees.
3. Timing. A peer is timed from before its clients start until its last record is acknowledged. A
   Laminar pipeline is timed from just before `CREATE PIPELINE` until the output topic holds every
   expected record: the benchmark long-polls the output partition with raw Fetch requests and counts
   data records from the record-batch headers, leaving out transaction markers and counting a
   transaction's records only once its COMMIT marker is stored (Tansu does not hide aborted records,
   DESIGN.md §2). Every POLL_STATE_S it reads `SELECT state, error, rows_in, rows_out FROM
   system.pipelines` and stops with the pipeline's error when its state is 'failed'; it also stops
   when the output has not grown for --stall-seconds. Afterwards the pipeline is dropped, so the next
   contender runs alone. The watcher costs about 1% of a core.
4. Verification. After each contender the whole output topic is read back (committed data only) and
   every record must be a JSON object of exactly id, user_id and amount, for an id that is a purchase,
   seen once, with the user_id and the amount (bit for bit) of that input record; the count must equal
   the number of purchases. A contender that drops, duplicates or mangles records fails the run.
5. Report: the machine (cores, CPU model, Python, aiokafka, event loop), the workload, seconds, input and
   output records/s per contender, the seconds to a pipeline's first output record, the gateway's RSS
   when ready and its peak RSS (VmHWM from /proc/<pid>/status) after each
   pipeline, and the ratios alo/batched (target >= 1.0), alo/naive (target >= 2.5) and eos/alo
   (target >= 0.8), each PASS or BELOW.

Broker, gateway and temp dir are removed at the end, also on error or Ctrl-C. The exit code is 0 whatever
the figures are. It is 1 when a contender failed to run or its output did not verify; the figures of the
contenders that did run are printed anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# ruff: noqa: E402 - the imports below need the repo root on sys.path
import aiokafka
import orjson
import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.control_record import ControlRecord
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition

from catalog.options import validate_connection_options
from sinks import kafka_compat
from sinks.producer_settings import ProducerSettings
from tests.fixtures.consume import ABORT, COMMIT, StoredBatch, read_batches
from tests.fixtures.gateway import free_port, wait_for_port
from tests.fixtures.kafka import create_topic, running_kafka_broker

try:
    import uvloop
except ImportError:  # the gateway runs on uvloop when it is installed; so does this benchmark
    uvloop = None  # type: ignore[assignment]

DEFAULT_RECORDS = 1_000_000
QUICK_RECORDS = 100_000
CONTENDERS = ("batched", "naive", "alo", "eos")
LABELS = {
    "batched": "aiokafka getmany + create_batch/send_batch",
    "naive": "aiokafka async for + await send()",
    "alo": "Laminar pipeline, at-least-once",
    "eos": "Laminar pipeline, exactly-once",
}
TARGETS = (  # (numerator, denominator, minimum ratio): DESIGN.md §6
    ("alo", "batched", 1.0),
    ("alo", "naive", 2.5),
    ("eos", "alo", 0.8),
)

EVENT_TYPES = ("purchase", "view", "click")
SEED = 20240229
BASE_TIME = dt.datetime(2024, 2, 29, 12, 0, tzinfo=dt.UTC)
INPUT_BATCH_BYTES = 16384  # Kafka's default batch.size: the input looks like an ordinary producer wrote it
MAX_RECORDS_PER_POLL = 100_000  # the batched peer's getmany(max_records=...)
# the batched peer waits for the oldest ack beyond this many batches (1 to 64: the same speed here)
MAX_IN_FLIGHT_BATCHES = 4
POLL_INTERVAL_S = 0.05  # pause between two polls of a Laminar output topic (keeps the watcher's CPU low)
POLL_STATE_S = 0.5  # how often system.pipelines is read while a pipeline runs
FETCH_WAIT_MS = 100  # long poll of the output watcher; Tansu answers min_bytes 0 with nothing at all
WATCH_FETCH_BYTES = 4 * 1024 * 1024
GATEWAY_STARTUP_S = 30.0

# the sink connection's options: the Laminar pipelines and (through ProducerSettings) both peers use them
SINK_FORMAT = "json"


class BenchError(RuntimeError):
    """Something needed for the benchmark did not run, or a contender's output is wrong; says what."""


# --- the workload ------------------------------------------------------------------------------------
@dataclass
class Expected:
    """What the filter + projection must produce: for every input id, purchase or not and its amount."""

    records: int
    purchase: bytearray = field(repr=False)
    amounts: array[float] = field(repr=False)
    outputs: int = 0  # how many purchases, i.e. output records


def input_values(count: int, expected: Expected) -> Iterator[bytes]:
    """The input records as JSON values, deterministic for a given count; fills in ``expected``."""
    rng = random.Random(SEED)
    dumps = orjson.dumps
    for ident in range(count):
        event_type = EVENT_TYPES[rng.randrange(3)]
        amount = round(rng.uniform(0.5, 500.0), 2)
        expected.purchase[ident] = event_type == "purchase"
        expected.outputs += event_type == "purchase"
        expected.amounts[ident] = amount
        stamp = BASE_TIME + dt.timedelta(milliseconds=ident)
        yield dumps(
            {
                "id": ident,
                "user_id": f"u{ident % 1000}",
                "event_type": event_type,
                "amount": amount,
                "ts": stamp.isoformat(timespec="milliseconds"),
            }
        )


async def produce_input(bootstrap: str, topic: str, count: int) -> tuple[Expected, bytes]:
    """Write ``count`` records into partition 0 of ``topic`` with create_batch/send_batch (not timed).
    Returns what the pipeline must produce and the first input value."""
    expected = Expected(count, bytearray(count), array("d", bytes(8 * count)))
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id="bench-input", acks=1, max_batch_size=INPUT_BATCH_BYTES
    )
    await producer.start()
    try:
        pending: deque[asyncio.Future[Any]] = deque()
        builder = producer.create_batch()
        first = b""
        for value in input_values(count, expected):
            first = first or value
            if builder.append(timestamp=None, key=None, value=value) is None:
                pending.append(await producer.send_batch(builder, topic, partition=0))
                builder = producer.create_batch()
                builder.append(timestamp=None, key=None, value=value)
                while len(pending) > 64:
                    await pending.popleft()
        builder.close()
        pending.append(await producer.send_batch(builder, topic, partition=0))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return expected, first


def sink_option_pairs(
    bootstrap: str, topic: str, extra: tuple[tuple[str, str], ...] = ()
) -> list[tuple[str, str]]:
    return [
        ("bootstrap_servers", bootstrap),
        ("topic", topic),
        ("type", "sink"),
        ("format", SINK_FORMAT),
        *extra,
    ]


def producer_settings(bootstrap: str, topic: str) -> ProducerSettings:
    """The producer settings the Laminar sink derives from the benchmark's (at-least-once) sink options."""
    options = validate_connection_options(sink_option_pairs(bootstrap, topic), secret_exists=lambda _: False)
    return ProducerSettings.from_options(options, {})


# --- reading topics back -----------------------------------------------------------------------------
# Record batch v2 header fields (Kafka protocol): offsets into a batch as stored.
_BASE_OFFSET_AND_LENGTH = struct.Struct(">qi")
_MAGIC_AT, _ATTRIBUTES_AT, _LAST_DELTA_AT, _PRODUCER_ID_AT, _COUNT_AT = 16, 21, 23, 43, 57
_HEADER_BYTES = 61
_TRANSACTIONAL, _CONTROL = 0x10, 0x20


class OutputWatcher:
    """Counts the committed data records of partition 0 of a topic, incrementally, from batch headers.

    Each :meth:`poll` fetches from where the previous one stopped (read_uncommitted, so markers and open
    transactions are visible). Non-transactional records count at once; a transaction's records count
    when its COMMIT marker arrives and never when an ABORT does. Records are not decoded.
    """

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        self.offset = 0
        self.committed = 0
        self.open: dict[int, int] = {}  # producer id -> data records of its open transaction
        self.leader: int | None = None

    async def start(self) -> None:
        await self.client.bootstrap()
        await self.client._wait_on_metadata(self.topic)
        self.leader = self.client.cluster.leader_for_partition(TopicPartition(self.topic, 0))

    async def close(self) -> None:
        await self.client.close()

    async def poll(self) -> int:
        """Read what was appended since the last poll (waiting up to FETCH_WAIT_MS for it); the count."""
        fetch = [(self.topic, [(0, self.offset, WATCH_FETCH_BYTES)])]
        request = FetchRequest(FETCH_WAIT_MS, 1, WATCH_FETCH_BYTES, 0, fetch)
        response = await self.client.send(self.leader, request)
        if not response.topics:
            return self.committed
        (_, partitions), *_ = response.topics
        _, error_code, _high_watermark, *rest = partitions[0]
        if error_code != 0:
            raise BenchError(f"fetching {self.topic}[0] at {self.offset}: Kafka error code {error_code}")
        self._scan(bytes(rest[-1] or b""))
        return self.committed

    def _scan(self, raw: bytes) -> None:
        position = 0
        while position + _HEADER_BYTES <= len(raw):
            base_offset, length = _BASE_OFFSET_AND_LENGTH.unpack_from(raw, position)
            end = position + 12 + length
            if end > len(raw):
                break  # a partial batch at the end of the response: fetched again next time
            if raw[position + _MAGIC_AT] != 2:
                raise BenchError(
                    f"{self.topic}: record batch magic {raw[position + _MAGIC_AT]} at {base_offset}"
                )
            (attributes,) = struct.unpack_from(">h", raw, position + _ATTRIBUTES_AT)
            (last_delta,) = struct.unpack_from(">i", raw, position + _LAST_DELTA_AT)
            (producer_id,) = struct.unpack_from(">q", raw, position + _PRODUCER_ID_AT)
            (count,) = struct.unpack_from(">i", raw, position + _COUNT_AT)
            if base_offset + last_delta >= self.offset:  # not a batch seen before
                if attributes & _CONTROL:
                    self._marker(raw[position:end], producer_id)
                elif attributes & _TRANSACTIONAL:
                    self.open[producer_id] = self.open.get(producer_id, 0) + count
                else:
                    self.committed += count
                self.offset = base_offset + last_delta + 1
            position = end

    def _marker(self, batch_bytes: bytes, producer_id: int) -> None:
        """A transaction marker ends the producer's open transaction: COMMIT counts its records."""
        batch = MemoryRecords(batch_bytes).next_batch()
        marker = next(iter(batch), None) if batch is not None else None
        if marker is None or marker.key is None:
            raise BenchError(f"{self.topic}: a control batch without a marker record at {self.offset}")
        records = self.open.pop(producer_id, 0)
        if ControlRecord.parse(marker.key).type_ == COMMIT:
            self.committed += records


def committed_values(batches: list[StoredBatch]) -> tuple[list[bytes | None], int]:
    """The values of the data records a read_committed consumer should see, and how many records
    belong to aborted or still open transactions."""
    values: list[bytes | None] = []
    open_: dict[int, list[bytes | None]] = {}
    dropped = 0
    for batch in batches:
        if batch.control:
            records = open_.pop(batch.producer_id, [])
            if batch.control_type == COMMIT:
                values.extend(records)
            elif batch.control_type == ABORT:
                dropped += len(records)
        elif batch.transactional:
            open_.setdefault(batch.producer_id, []).extend(r.value for r in batch.records)
        else:
            values.extend(r.value for r in batch.records)
    return values, dropped + sum(len(records) for records in open_.values())


async def verify_output(bootstrap: str, topic: str, expected: Expected) -> int:
    """Every committed record of ``topic`` is the projection of a distinct purchase, and all are there.
    Returns the count."""
    values, uncommitted = committed_values(await read_batches(bootstrap, topic))
    seen = bytearray(expected.records)
    problems: list[str] = []
    for value in values:
        try:
            row = orjson.loads(value or b"")
            ident = row["id"]
            ok = (
                isinstance(row, dict)
                and row.keys() == {"id", "user_id", "amount"}
                and isinstance(ident, int)
                and 0 <= ident < expected.records
                and expected.purchase[ident]
                and row["user_id"] == f"u{ident % 1000}"
                and row["amount"] == expected.amounts[ident]
            )
        except (orjson.JSONDecodeError, KeyError, TypeError):
            ok = False
        if not ok:
            problems.append(f"not the projection of a purchase: {value!r}")
        elif seen[ident]:
            problems.append(f"id {ident} written twice")
        else:
            seen[ident] = 1
        if len(problems) >= 5:
            break
    if not problems and len(values) != expected.outputs:
        problems.append(f"{len(values)} records, expected {expected.outputs} purchases")
    if problems:
        details = "\n  ".join(problems)
        raise BenchError(
            f"output topic {topic} ({len(values)} committed records, {uncommitted} in aborted or open "
            f"transactions) is wrong:\n  {details}"
        )
    return len(values)


async def high_watermark(bootstrap: str, topic: str) -> int:
    """The partition's end offset, from a Fetch response (not ListOffsets: DESIGN.md §2)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await client.bootstrap()
    try:
        await client._wait_on_metadata(topic)
        leader = client.cluster.leader_for_partition(TopicPartition(topic, 0))
        fetch = [(topic, [(0, 0, 1)])]
        response = await client.send(leader, FetchRequest(FETCH_WAIT_MS, 1, 1, 0, fetch))
        if not response.topics:
            return 0
        (_, partitions), *_ = response.topics
        return int(partitions[0][2])
    finally:
        await client.close()


# --- the two hand-written peers ----------------------------------------------------------------------
def input_consumer(bootstrap: str, client_id: str) -> AIOKafkaConsumer:
    """No group, no commits: the peers read the partition from the start as a plain assigned consumer."""
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id=client_id, enable_auto_commit=False)


def output_producer(settings: ProducerSettings, client_id: str) -> AIOKafkaProducer:
    """An aiokafka producer configured as the Laminar sink configures its own from the same options."""
    kafka_compat.install()  # idempotence needs InitProducerId v3 on Tansu, as in the sink
    return AIOKafkaProducer(
        bootstrap_servers=list(settings.bootstrap_servers),
        client_id=client_id,
        acks=settings.acks,
        enable_idempotence=settings.idempotent,
        compression_type=settings.compression,
        max_batch_size=settings.batch_bytes,
        linger_ms=settings.linger_ms,
        max_request_size=settings.max_request_size,
        request_timeout_ms=settings.request_timeout_ms,
        retry_backoff_ms=settings.retry_backoff_ms,
        **settings.security_kwargs(),
    )


@contextlib.asynccontextmanager
async def peer_clients(
    bootstrap: str, input_topic: str, settings: ProducerSettings, name: str
) -> AsyncIterator[tuple[AIOKafkaConsumer, AIOKafkaProducer, TopicPartition]]:
    """A consumer assigned partition 0 of the input, at its beginning, and an output producer."""
    tp = TopicPartition(input_topic, 0)
    consumer = input_consumer(bootstrap, f"bench-{name}")
    producer = output_producer(settings, f"bench-{name}")
    try:
        await consumer.start()
        await producer.start()
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        yield consumer, producer, tp
    finally:
        await producer.stop()
        await consumer.stop()


async def run_batched(
    bootstrap: str, input_topic: str, output_topic: str, settings: ProducerSettings
) -> float:
    """The careful hand-written loop; seconds from client start to the last acknowledgement."""
    started = time.perf_counter()
    async with peer_clients(bootstrap, input_topic, settings, "batched") as (consumer, producer, tp):
        loads, dumps = orjson.loads, orjson.dumps
        in_flight: deque[asyncio.Future[Any]] = deque()
        builder = producer.create_batch()
        position, end = 0, None
        while end is None or position < end:
            fetched = await consumer.getmany(tp, timeout_ms=1000, max_records=MAX_RECORDS_PER_POLL)
            for message in fetched.get(tp, ()):
                row = loads(message.value)
                if row["event_type"] == "purchase":
                    value = dumps({"id": row["id"], "user_id": row["user_id"], "amount": row["amount"]})
                    if builder.append(timestamp=None, key=None, value=value) is None:  # full: closed
                        in_flight.append(await producer.send_batch(builder, output_topic, partition=0))
                        builder = producer.create_batch()
                        builder.append(timestamp=None, key=None, value=value)
                        while len(in_flight) > MAX_IN_FLIGHT_BATCHES:
                            await in_flight.popleft()
                position = message.offset + 1
            end = consumer.highwater(tp) if end is None else end
        if builder.record_count():
            builder.close()  # complete: sent at once instead of after linger.ms
            in_flight.append(await producer.send_batch(builder, output_topic, partition=0))
        await asyncio.gather(*in_flight)
        return time.perf_counter() - started


async def run_naive(bootstrap: str, input_topic: str, output_topic: str, settings: ProducerSettings) -> float:
    """`async for msg in consumer: await producer.send(...)`; seconds from client start to flush()."""
    started = time.perf_counter()
    async with peer_clients(bootstrap, input_topic, settings, "naive") as (consumer, producer, tp):
        async for message in consumer:
            row = orjson.loads(message.value)
            if row["event_type"] == "purchase":
                value = orjson.dumps({"id": row["id"], "user_id": row["user_id"], "amount": row["amount"]})
                await producer.send(output_topic, value=value, partition=0)
            if message.offset + 1 >= consumer.highwater(tp):
                break
        await producer.flush()
        return time.perf_counter() - started


# --- the Laminar gateway -----------------------------------------------------------------------------
@dataclass
class Gateway:
    """A `laminar serve` subprocess started by the benchmark (its pid is needed for the peak RSS)."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=laminar dbname=laminar sslmode=disable"

    def status_kib(self, field_name: str) -> int:
        """A memory figure of /proc/<pid>/status in KiB (VmHWM: peak RSS, VmRSS: current RSS)."""
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        found = re.search(rf"^{field_name}:\s+(\d+) kB$", text, re.MULTILINE)
        if found is None:
            raise BenchError(f"no {field_name} in /proc/{self.process.pid}/status")
        return int(found.group(1))

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_tail(self, since: int = 0, lines: int = 40) -> str:
        """The last ``lines`` lines the gateway logged after byte ``since`` of its log."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def running_gateway(data_dir: Path) -> Iterator[Gateway]:
    """Start `laminar serve` (the console script next to this Python) and stop it with SIGTERM."""
    executable = Path(sys.executable).parent / "laminar"
    if not executable.exists():
        raise BenchError(f"{executable} is missing: run `make` (pip install -e .) first")
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [str(executable), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    args += ["--auth", "trust", "--user", "laminar"]
    log_path = data_dir / "gateway.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        gateway = Gateway(process, port, log_path)
        try:
            try:
                wait_for_port("127.0.0.1", port, GATEWAY_STARTUP_S, process)
            except (RuntimeError, TimeoutError) as exc:
                raise BenchError(f"{exc}\n--- gateway log ---\n{gateway.log_tail()}") from exc
            yield gateway
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class PipelineRun:
    seconds: float
    first_output_s: float | None
    final_state: tuple[Any, ...] | None
    peak_rss_kib: int


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def pipeline_statements(
    bootstrap: str, input_topic: str, output_topic: str, contender: str
) -> tuple[list[str], str, str]:
    """The connection DDL, the CREATE PIPELINE statement and the pipeline's name for ``alo`` or ``eos``."""
    suffix = "" if contender == "alo" else "_eos"
    source, sink, pipeline = f"bench_src{suffix}", f"bench_out{suffix}", f"bench_{contender}"
    extra = (("transactional.id", "bench-eos"),) if contender == "eos" else ()
    sink_options = ", ".join(
        f"{quote(name) if '.' in name else name} = {quote(value)}"
        for name, value in sink_option_pairs(bootstrap, output_topic, extra)
    )
    ddl = [
        f"CREATE CONNECTION {source} (id BIGINT, user_id TEXT, event_type TEXT, amount DOUBLE PRECISION, "
        f"ts TIMESTAMPTZ) TO kafka (bootstrap_servers = {quote(bootstrap)}, topic = {quote(input_topic)}, "
        f"type = 'source', format = 'json', start_offset = 'earliest')",
        f"CREATE CONNECTION {sink} TO kafka ({sink_options})",
    ]
    create = (
        f"CREATE PIPELINE {pipeline} AS INSERT INTO {sink} SELECT id, user_id, amount FROM {source} "
        f"WHERE event_type = 'purchase'"
    )
    return ddl, create, pipeline


async def pipeline_state(conn: psycopg.AsyncConnection[Any], pipeline: str) -> tuple[Any, ...] | None:
    cursor = await conn.execute(
        "SELECT state, error, rows_in, rows_out FROM system.pipelines WHERE name = %s", (pipeline,)
    )
    return await cursor.fetchone()


async def watch_pipeline(
    conn: psycopg.AsyncConnection[Any],
    watcher: OutputWatcher,
    pipeline: str,
    *,
    expected: Expected,
    stall_seconds: float,
    started: float,
) -> float | None:
    """Poll until the output holds every expected record; fail on a 'failed' state or a stall.
    Returns the seconds from ``started`` to the first output record."""
    first_output: float | None = None
    progress_at, last_count, state_at = started, 0, 0.0
    state = None
    while True:
        count = await watcher.poll()
        now = time.perf_counter()
        if count and first_output is None:
            first_output = now - started
        if count >= expected.outputs:
            return first_output
        if count != last_count:
            progress_at, last_count = now, count
        if now - state_at >= POLL_STATE_S:
            state_at = now
            state = await pipeline_state(conn, pipeline)
            if state is None:
                raise BenchError(f"system.pipelines has no row for {pipeline}")
            if state[0] == "failed":
                raise BenchError(
                    f"pipeline {pipeline} failed: {state[1]} (state, error, rows_in, rows_out = {state})"
                )
        if now - progress_at > stall_seconds:
            raise BenchError(
                f"pipeline {pipeline}: output stuck at {count} of {expected.outputs} records for "
                f"{stall_seconds:.0f}s; state, error, rows_in, rows_out = {state}"
            )
        await asyncio.sleep(POLL_INTERVAL_S)  # poll interval: the loop ends on the condition


async def drop_quietly(gateway: Gateway, pipeline: str) -> None:
    """After a failure: stop the pipeline if it exists, so it does not slow down the next contender."""
    with contextlib.suppress(psycopg.Error):
        async with await psycopg.AsyncConnection.connect(gateway.dsn, autocommit=True) as conn:
            await conn.execute(f"DROP PIPELINE IF EXISTS {pipeline}")


async def run_laminar(
    gateway: Gateway,
    *,
    bootstrap: str,
    input_topic: str,
    output_topic: str,
    contender: str,
    expected: Expected,
    stall_seconds: float,
) -> PipelineRun:
    """Create the connections, then time CREATE PIPELINE until every expected record is committed."""
    ddl, create, pipeline = pipeline_statements(bootstrap, input_topic, output_topic, contender)
    watcher = OutputWatcher(bootstrap, output_topic)
    await watcher.start()
    log_from, statement = gateway.log_size(), "connecting"
    try:
        async with await psycopg.AsyncConnection.connect(gateway.dsn, autocommit=True) as conn:
            for statement in ddl:  # the statement that failed is named in the error
                await conn.execute(statement)
            started = time.perf_counter()
            statement = create
            await conn.execute(create)
            statement = "SELECT ... FROM system.pipelines"
            first_output = await watch_pipeline(
                conn, watcher, pipeline, expected=expected, stall_seconds=stall_seconds, started=started
            )
            seconds = time.perf_counter() - started
            state = await pipeline_state(conn, pipeline)
            peak = gateway.status_kib("VmHWM")
            statement = f"DROP PIPELINE {pipeline}"
            await conn.execute(statement)  # the next contender runs alone
            return PipelineRun(seconds, first_output, state, peak)
    except psycopg.Error as exc:
        await drop_quietly(gateway, pipeline)
        sqlstate = exc.sqlstate or "no SQLSTATE"
        raise BenchError(
            f"{type(exc).__name__} ({sqlstate}): {exc}\n  statement: {statement}\n"
            f"--- gateway log since the first statement ---\n{gateway.log_tail(log_from)}"
        ) from exc
    except BaseException:
        await drop_quietly(gateway, pipeline)
        raise
    finally:
        await watcher.close()


# --- orchestration -----------------------------------------------------------------------------------
@dataclass
class Result:
    contender: str
    topic: str
    seconds: float | None = None
    records_per_s: float | None = None
    output_records: int | None = None
    first_output_s: float | None = None
    peak_rss_kib: int | None = None
    final_state: list[Any] | None = None
    error: str | None = None


def run_async(coroutine: Awaitable[Any]) -> Any:
    async def wrapped() -> Any:
        return await coroutine

    if uvloop is not None:
        return uvloop.run(wrapped())
    return asyncio.run(wrapped())


def output_topic(contender: str) -> str:
    return f"bench-pipeline-{contender}-{os.getpid()}"


@dataclass
class Session:
    """One benchmark run's broker, input and (started on first use) gateway."""

    bootstrap: str
    input_topic: str
    expected: Expected
    root: Path
    stall_seconds: float
    stack: contextlib.ExitStack
    workload: dict[str, Any]
    gateway: Gateway | None = None

    def laminar(self) -> Gateway:
        """The gateway, started on first use; notes its RSS when ready in ``workload``."""
        if self.gateway is None:
            self.gateway = self.stack.enter_context(running_gateway(self.root / "gateway"))
            self.workload["gateway_rss_at_start_kib"] = self.gateway.status_kib("VmRSS")
            print(f"  gateway: pid {self.gateway.process.pid}, port {self.gateway.port}", flush=True)
        return self.gateway

    def measure(self, contender: str) -> Result:
        """Run one contender into its own fresh output topic and verify that topic."""
        topic = output_topic(contender)
        result = Result(contender, topic)
        run_async(create_topic(self.bootstrap, topic, 1))
        if contender in ("batched", "naive"):
            peer = run_batched if contender == "batched" else run_naive
            settings = producer_settings(self.bootstrap, topic)
            result.seconds = run_async(peer(self.bootstrap, self.input_topic, topic, settings))
        else:
            run = run_async(
                run_laminar(
                    self.laminar(),
                    bootstrap=self.bootstrap,
                    input_topic=self.input_topic,
                    output_topic=topic,
                    contender=contender,
                    expected=self.expected,
                    stall_seconds=self.stall_seconds,
                )
            )
            result.seconds, result.first_output_s = run.seconds, run.first_output_s
            result.peak_rss_kib = run.peak_rss_kib
            result.final_state = list(run.final_state) if run.final_state else None
        result.output_records = run_async(verify_output(self.bootstrap, topic, self.expected))
        result.records_per_s = self.expected.records / result.seconds
        return result


def produce_workload(bootstrap: str, input_topic: str, records: int) -> tuple[Expected, dict[str, Any]]:
    """Create and fill the input topic (not timed as part of any contender) and describe it."""
    run_async(create_topic(bootstrap, input_topic, 1))
    print(f"producing {records} input records ...", flush=True)
    started = time.perf_counter()
    expected, first_input = run_async(produce_input(bootstrap, input_topic, records))
    end = run_async(high_watermark(bootstrap, input_topic))
    if end != records:
        raise BenchError(f"the input topic holds {end} records, expected {records}")
    workload = {
        "records": records,
        "purchases": expected.outputs,
        "input_bytes_each": len(first_input),
        "example": first_input.decode(),
        "produce_seconds": time.perf_counter() - started,
    }
    print(f"  done in {workload['produce_seconds']:.1f}s; {expected.outputs} purchases expected", flush=True)
    return expected, workload


def benchmark(args: argparse.Namespace, root: Path) -> tuple[dict[str, Any], list[Result]]:
    """Start the broker, produce the input, run every contender in turn and verify what each wrote.
    A contender that fails is recorded with its error; the others still run."""
    results: list[Result] = []
    with running_kafka_broker(root / "kafka") as broker, contextlib.ExitStack() as stack:
        bootstrap = broker.bootstrap_servers
        print(f"broker: tansu on {bootstrap}", flush=True)
        input_topic = f"bench-pipeline-input-{os.getpid()}"
        expected, workload = produce_workload(bootstrap, input_topic, args.records)
        session = Session(bootstrap, input_topic, expected, root, args.stall_seconds, stack, workload)
        for contender in args.contenders:
            print(f"measuring: {LABELS[contender]} ...", flush=True)
            try:
                result = session.measure(contender)
            except (BenchError, KafkaError, OSError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                result = Result(contender, output_topic(contender), error=error)
                print(f"  FAILED: {error.splitlines()[0]}", flush=True)
            else:
                print(
                    f"  {result.seconds:.2f}s, {result.records_per_s:,.0f} input records/s, "
                    f"{result.output_records} output records verified",
                    flush=True,
                )
            results.append(result)
    return workload, results


# --- report ------------------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return {
        "cores": str(os.cpu_count()),
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "python": platform.python_version(),
        "aiokafka": aiokafka.__version__,
        "loop": "uvloop" if uvloop is not None else "asyncio",
    }


def ratios(results: list[Result]) -> list[dict[str, Any]]:
    by_name = {r.contender: r.records_per_s for r in results}
    found = []
    for numerator, denominator, target in TARGETS:
        top, bottom = by_name.get(numerator), by_name.get(denominator)
        ratio = top / bottom if top and bottom else None
        status = "n/a" if ratio is None else "PASS" if ratio >= target else "BELOW"
        found.append(
            {"ratio": f"{numerator}/{denominator}", "value": ratio, "target": target, "status": status}
        )
    return found


def print_report(info: dict[str, str], workload: dict[str, Any], results: list[Result]) -> None:
    print(
        f"\nmachine: {info['cores']} cores, {info['cpu']}, Python {info['python']}, "
        f"aiokafka {info['aiokafka']}, event loop {info['loop']}"
    )
    settings = producer_settings("127.0.0.1:9092", "t")
    print(
        f"workload: {workload['records']} JSON records ({workload['input_bytes_each']} bytes each, e.g. "
        f"{workload['example']}), 1 partition; {workload['purchases']} purchases pass the filter"
    )
    print(
        f"          output producers (peers and sink): acks={settings.acks}, idempotence="
        f"{settings.idempotent}, compression={settings.compression}, batch.size {settings.batch_bytes}, "
        f"linger.ms {settings.linger_ms}; every output verified record by record"
    )
    header = (
        f"{'contender':<44}{'seconds':>9}{'in rec/s':>11}{'out rec/s':>11}{'1st out s':>10}{'peak RSS':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if r.error is not None or r.seconds is None or r.records_per_s is None:
            print(f"{LABELS[r.contender]:<44}{'FAILED':>9}")
            continue
        first = f"{r.first_output_s:.2f}" if r.first_output_s is not None else ""
        rss = f"{r.peak_rss_kib / 1024:.0f} MiB" if r.peak_rss_kib is not None else ""
        out_per_s = (r.output_records or 0) / r.seconds
        print(
            f"{LABELS[r.contender]:<44}{r.seconds:>9.2f}{r.records_per_s:>11,.0f}{out_per_s:>11,.0f}"
            f"{first:>10}{rss:>10}"
        )
    print(
        "(in rec/s: input records per second, the figure the ratios use; out rec/s: records written per "
        "second;\n 1st out s: seconds to the first output record; peak RSS: the gateway's VmHWM after the "
        "pipeline ran)"
    )
    if "gateway_rss_at_start_kib" in workload:
        start_mib = workload["gateway_rss_at_start_kib"] / 1024
        print(f"gateway RSS when it was ready, before any pipeline: {start_mib:.0f} MiB")
    for r in results:
        if r.final_state is not None:
            state, error, rows_in, rows_out = r.final_state
            print(
                f"system.pipelines for {r.contender} when its output was complete: state={state}, "
                f"rows_in={rows_in}, rows_out={rows_out}, error={error}"
            )
    print()
    for ratio in ratios(results):
        value = "n/a" if ratio["value"] is None else f"{ratio['value']:.3f}"
        print(f"{ratio['ratio']:<14} = {value:>6} (target >= {ratio['target']}: {ratio['status']})")
    failed = [r for r in results if r.error is not None]
    for r in failed:
        print(f"\n{r.contender} FAILED: {r.error}")


def contenders_arg(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONTENDERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"contenders are comma-separated names out of {', '.join(CONTENDERS)}"
        )
    return sorted(dict.fromkeys(names), key=CONTENDERS.index)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS, help="input records")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RECORDS} input records")
    parser.add_argument(
        "--contenders", type=contenders_arg, default=list(CONTENDERS), help="e.g. batched,naive,alo,eos"
    )
    parser.add_argument(
        "--stall-seconds", type=float, default=30.0, help="give up on a pipeline whose output stops growing"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.records = QUICK_RECORDS
    if args.records < 1 or args.stall_seconds <= 0:
        parser.error("--records and --stall-seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every contender ran and verified (whatever the figures), else 1."""
    args = parse_args(argv)
    info = machine()
    root = Path(tempfile.mkdtemp(prefix="laminar-bench-pipeline-"))
    try:
        workload, results = benchmark(args, root)
    except (BenchError, KafkaError, RuntimeError, TimeoutError, OSError) as exc:
        print(f"benchmark failed to run: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; broker and gateway stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_report(info, workload, results)
    if args.json is not None:
        payload = {
            "machine": info,
            "workload": workload,
            "results": [asdict(r) for r in results],
            "ratios": ratios(results),
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 1 if any(r.error is not None for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
