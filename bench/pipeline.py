"""Benchmark a stateless JSON pipeline (filter + projection) against hand-written aiokafka loops, and a
windowed aggregation and its state memory next to it.

This is a benchmark, not a test: run it from the repo root with
`.venv/bin/python bench/pipeline.py [--records 1000000 | --quick]
[--contenders batched,naive,alo,eos,windowed,state] [--stall-seconds 30] [--json PATH]`. It measures
the first target of DESIGN.md §6: one partition of JSON records goes through
`WHERE event_type = 'purchase'` and a projection to `(id, user_id, amount)`, and the input records per
second are compared side by side, in one run, on one broker. In the same run it measures a windowed
aggregation (issue #7) over the same input, and the gateway's memory for the state of one open window
holding --records distinct keys.

How it measures:

1. It starts one Tansu broker (in-memory storage, free loopback port) and produces --records JSON
   records once into a 1-partition input topic, e.g.
   `{"id":7,"user_id":"u7","event_type":"purchase","amount":123.45,"ts":"2024-02-29T12:00:00.007+00:00"}`
   (event types drawn with a fixed seed, about a third are purchases; user_id cycles through u0..u999;
   record i has ts = 12:00 + i ms, so 1M records span 16 min 40 s), uncompressed, in 16 KiB batches
   (Kafka's default batch.size). While generating it notes which ids are purchases and their amounts:
   that is what every stateless contender must write. It also adds up, per (user_id, 1-minute window
   aligned to the epoch), the count and the amounts in cents: what the windowed contender must write
   for every window that ends at or before the largest ts (the watermark, no delay). The last minute's
   windows stay open.
2. Each stateless contender reads the whole input topic from offset 0 and writes the projection of the
   purchases as JSON to its own fresh 1-partition output topic:
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
   Two more Laminar contenders:
   - windowed: on the same gateway, over the same input, with its own connections (at-least-once sink):
     `CREATE PIPELINE bench_win AS INSERT INTO bench_out_win SELECT user_id, count(*) AS n,
     sum(amount) AS total, window_start FROM bench_src_win GROUP BY user_id, TUMBLE(ts, INTERVAL
     '1 minute')`;
   - state: a second 1-partition input topic of --records records with distinct user_id u0, u1, ...,
     all with ts in the first 50 s of 12:00, and the same SELECT with TUMBLE(ts, INTERVAL '1 hour'), so
     every record is a new key of one window that stays open. It runs on its own fresh gateway, so
     memory freed by the pipelines before it cannot hide growth.
3. Timing. A peer is timed from before its clients start until its last record is acknowledged. A
   Laminar pipeline is timed from just before `CREATE PIPELINE` until the output topic holds every
   expected record: the benchmark long-polls the output partition with raw Fetch requests and counts
   data records from the record-batch headers, leaving out transaction markers and counting a
   transaction's records only once its COMMIT marker is stored (Tansu does not hide aborted records,
   DESIGN.md §2). Every POLL_STATE_S it reads `SELECT state, error, rows_in, rows_out, rows_late,
   rows_dropped FROM system.pipelines` and stops with the pipeline's error when its state is 'failed';
   it also stops when neither the output nor rows_in has grown for --stall-seconds. The windowed
   pipeline's clock stops when, in addition, rows_in has reached the input count (read at every poll
   once the closed windows are all there), since the records of the open last minute produce no output.
   The state pipeline's clock stops when rows_in reaches the input count; at every poll it also reads
   the gateway's VmRSS. Afterwards the pipeline is dropped, so the next contender runs alone. The
   watcher costs about 1% of a core.
4. Verification. After each contender the whole output topic is read back (committed data only).
   Stateless: every record must be a JSON object of exactly id, user_id and amount, for an id that is a
   purchase, seen once, with the user_id and the amount (bit for bit) of that input record; the count
   must equal the number of purchases. Windowed: every record must be a JSON object of exactly user_id,
   n, total and window_start, for a closed (user_id, window start) seen once, with n equal to the
   expected count and total within TOTAL_TOLERANCE of the expected sum (doubles added in no defined
   order); the count must equal the number of closed (user, window) rows. State: the output topic must
   be empty and rows_out, rows_late and rows_dropped 0. A contender that drops, duplicates or mangles
   records fails the run.
5. Report: the machine (cores, CPU model, Python, aiokafka, event loop), the workload, seconds, input and
   output records/s per contender, the seconds to a pipeline's first output record, the gateway's RSS
   when ready and its peak RSS (VmHWM from /proc/<pid>/status) after each pipeline, the final
   system.pipelines row of each pipeline, the ratios alo/batched (target >= 1.0), alo/naive
   (target >= 2.5) and eos/alo (target >= 0.8), each PASS or BELOW, and windowed/alo (no target). For
   the state contender: VmRSS before CREATE PIPELINE (connections created), when rows_in reached the
   input count, the growth in MiB and bytes per key (what the pipeline costs with its state: consumer,
   DuckDB engine, batches in flight, producer, and the window's rows), VmRSS along the way (the last
   poll before the first record was read, then at each quarter of the keys), and VmRSS right after
   DROP PIPELINE.

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
from collections.abc import AsyncIterator, Iterator
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

from bench.machine import event_loop_name, machine_facts, run_async
from catalog.options import validate_connection_options
from sinks import kafka_compat
from sinks.producer_settings import ProducerSettings
from tests.fixtures.consume import ABORT, COMMIT, StoredBatch, read_batches
from tests.fixtures.gateway import free_port, wait_for_port
from tests.fixtures.kafka import create_topic, running_kafka_broker

DEFAULT_RECORDS = 1_000_000
QUICK_RECORDS = 100_000
CONTENDERS = ("batched", "naive", "alo", "eos", "windowed", "state")
LABELS = {
    "batched": "aiokafka getmany + create_batch/send_batch",
    "naive": "aiokafka async for + await send()",
    "alo": "Laminar pipeline, at-least-once",
    "eos": "Laminar pipeline, exactly-once",
    "windowed": "Laminar pipeline, TUMBLE 1 minute, alo",
    "state": "Laminar window state, distinct keys",
}
PIPELINES = {"alo": "bench_alo", "eos": "bench_eos", "windowed": "bench_win", "state": "bench_state"}
TARGETS: tuple[tuple[str, str, float | None], ...] = (  # (numerator, denominator, minimum ratio)
    ("alo", "batched", 1.0),  # the three targets of DESIGN.md §6
    ("alo", "naive", 2.5),
    ("eos", "alo", 0.8),
    ("windowed", "alo", None),  # no target: what a windowed aggregation costs next to a stateless one
)

EVENT_TYPES = ("purchase", "view", "click")
SEED = 20240229
BASE_TIME = dt.datetime(2024, 2, 29, 12, 0, tzinfo=dt.UTC)  # record i has ts = BASE_TIME + i ms
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
BASE_MS = (BASE_TIME - EPOCH) // dt.timedelta(milliseconds=1)
WINDOW_MS = 60_000  # the windowed contender's TUMBLE(ts, INTERVAL '1 minute')
STATE_SPAN_MS = 50_000  # the state contender's records have ts in [BASE_TIME, BASE_TIME + 50 s)
TOTAL_TOLERANCE = 1e-6  # sum(amount) of doubles: the order of the additions is not defined
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
    # the windowed contender: (user_id, window start in ms since the epoch) -> [count, sum of cents]
    windows: dict[tuple[str, int], list[int]] = field(default_factory=dict, repr=False)
    max_ts_ms: int = 0  # the largest event time: the watermark once every record was read

    def closed_windows(self) -> dict[tuple[str, int], list[int]]:
        """The (user, window) rows a windowed pipeline emits: windows that end at or before the
        watermark (the largest ts, no delay). The windows of the last minute stay open."""
        return {key: value for key, value in self.windows.items() if key[1] + WINDOW_MS <= self.max_ts_ms}


def input_values(count: int, expected: Expected) -> Iterator[bytes]:
    """The input records as JSON values, deterministic for a given count; fills in ``expected``."""
    rng = random.Random(SEED)
    dumps = orjson.dumps
    windows = expected.windows
    for ident in range(count):
        event_type = EVENT_TYPES[rng.randrange(3)]
        amount = round(rng.uniform(0.5, 500.0), 2)
        user_id = f"u{ident % 1000}"
        expected.purchase[ident] = event_type == "purchase"
        expected.outputs += event_type == "purchase"
        expected.amounts[ident] = amount
        stamp = BASE_TIME + dt.timedelta(milliseconds=ident)
        # the windowed contender's expectation, from the event time (epoch-aligned 1-minute windows)
        ts_ms = (stamp - EPOCH) // dt.timedelta(milliseconds=1)
        window = windows.setdefault((user_id, ts_ms - ts_ms % WINDOW_MS), [0, 0])
        window[0] += 1
        window[1] += round(amount * 100)  # cents: an exact sum
        expected.max_ts_ms = max(expected.max_ts_ms, ts_ms)
        yield dumps(
            {
                "id": ident,
                "user_id": user_id,
                "event_type": event_type,
                "amount": amount,
                "ts": stamp.isoformat(timespec="milliseconds"),
            }
        )


def distinct_key_values(count: int) -> Iterator[bytes]:
    """The state contender's input: user_id u0, u1, ... (every record its own key), all with event
    times in the first STATE_SPAN_MS of one hour, so inside one open 1-hour window."""
    rng = random.Random(SEED + 1)
    dumps = orjson.dumps
    for ident in range(count):
        stamp = BASE_TIME + dt.timedelta(milliseconds=ident * STATE_SPAN_MS // count)
        yield dumps(
            {
                "id": ident,
                "user_id": f"u{ident}",
                "event_type": EVENT_TYPES[rng.randrange(3)],
                "amount": round(rng.uniform(0.5, 500.0), 2),
                "ts": stamp.isoformat(timespec="milliseconds"),
            }
        )


async def produce_input(bootstrap: str, topic: str, count: int) -> tuple[Expected, bytes]:
    """Write ``count`` records into partition 0 of ``topic`` with create_batch/send_batch (not timed).
    Returns what the pipeline must produce and the first input value."""
    expected = Expected(count, bytearray(count), array("d", bytes(8 * count)))
    first = await produce_values(bootstrap, topic, input_values(count, expected))
    return expected, first


async def produce_values(bootstrap: str, topic: str, values: Iterator[bytes]) -> bytes:
    """Write ``values`` into partition 0 of ``topic`` in INPUT_BATCH_BYTES batches; the first value."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id="bench-input", acks=1, max_batch_size=INPUT_BATCH_BYTES
    )
    await producer.start()
    try:
        pending: deque[asyncio.Future[Any]] = deque()
        builder = producer.create_batch()
        first = b""
        for value in values:
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
    return first


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


def window_row(value: bytes | None, wanted: dict[tuple[str, int], list[int]]) -> tuple[str, int] | str:
    """The (user_id, window start ms) of a windowed output record whose count and total are the
    expected ones for that closed window, or what is wrong with it."""
    try:
        row = orjson.loads(value or b"")
        if not isinstance(row, dict) or row.keys() != {"user_id", "n", "total", "window_start"}:
            return f"not a row of (user_id, n, total, window_start): {value!r}"
        start = dt.datetime.fromisoformat(row["window_start"])
        key = (row["user_id"], (start - EPOCH) // dt.timedelta(milliseconds=1))
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return f"not a row of (user_id, n, total, window_start): {value!r}"
    if key not in wanted:
        return f"not a closed window of that user: {value!r}"
    count, cents = wanted[key]
    n, total = row["n"], row["total"]
    if type(n) is not int or n != count:
        return f"n should be {count}: {value!r}"
    if type(total) not in (int, float) or abs(total - cents / 100) > TOTAL_TOLERANCE:
        return f"total should be {cents / 100}: {value!r}"
    return key


async def verify_windows(bootstrap: str, topic: str, expected: Expected) -> int:
    """Every committed record of ``topic`` is the row of one closed (user, window) with its count and
    total (the sum of cents computed while generating), each once, and all are there. The count."""
    values, uncommitted = committed_values(await read_batches(bootstrap, topic))
    wanted = expected.closed_windows()
    seen: set[tuple[str, int]] = set()
    problems: list[str] = []
    for value in values:
        found = window_row(value, wanted)
        if isinstance(found, str):
            problems.append(found)
        elif found in seen:
            problems.append(f"window {found} written twice")
        else:
            seen.add(found)
        if len(problems) >= 5:
            break
    if not problems and len(values) != len(wanted):
        problems.append(f"{len(values)} records, expected {len(wanted)} closed (user, window) rows")
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


@dataclass(frozen=True)
class StateRun:
    """The state contender: the gateway's VmRSS around a pipeline that holds every key in one window."""

    seconds: float  # from CREATE PIPELINE until rows_in reached the input count
    final_state: tuple[Any, ...]
    rss_before_kib: int  # before CREATE PIPELINE
    rss_full_kib: int  # when rows_in reached the input count (the window still open)
    rss_dropped_kib: int  # right after DROP PIPELINE
    peak_rss_kib: int
    samples: list[tuple[int, int]]  # (rows_in, VmRSS KiB) at every poll while the state filled


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


WINDOWED_SELECT = (  # {source} and {size} filled in; the windowed and state contenders
    "SELECT user_id, count(*) AS n, sum(amount) AS total, window_start FROM {source} "
    "GROUP BY user_id, TUMBLE(ts, INTERVAL '{size}')"
)


def pipeline_statements(
    bootstrap: str, input_topic: str, output_topic: str, contender: str
) -> tuple[list[str], str, str]:
    """The connection DDL, the CREATE PIPELINE statement and the pipeline's name for a Laminar
    contender (alo, eos, windowed or state); each has its own connections."""
    suffix = {"alo": "", "eos": "_eos", "windowed": "_win", "state": "_keys"}[contender]
    source, sink, pipeline = f"bench_src{suffix}", f"bench_out{suffix}", PIPELINES[contender]
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
    if contender in ("windowed", "state"):
        size = "1 minute" if contender == "windowed" else "1 hour"
        select = WINDOWED_SELECT.format(source=source, size=size)
    else:
        select = f"SELECT id, user_id, amount FROM {source} WHERE event_type = 'purchase'"
    return ddl, f"CREATE PIPELINE {pipeline} AS INSERT INTO {sink} {select}", pipeline


STATE_COLUMNS = ("state", "error", "rows_in", "rows_out", "rows_late", "rows_dropped")
ROWS_IN = STATE_COLUMNS.index("rows_in")


@dataclass
class Statements:
    """One psycopg connection to the gateway that remembers the statement it ran last (for errors)."""

    conn: psycopg.AsyncConnection[Any] | None = None
    current: str = "connecting"

    async def run(self, statement: str, params: tuple[Any, ...] = ()) -> psycopg.AsyncCursor[Any]:
        assert self.conn is not None
        self.current = statement
        return await self.conn.execute(statement, params or None)

    async def pipeline_state(self, pipeline: str) -> tuple[Any, ...]:
        """The pipeline's row of system.pipelines (STATE_COLUMNS); fails when missing or 'failed'."""
        cursor = await self.run(
            f"SELECT {', '.join(STATE_COLUMNS)} FROM system.pipelines WHERE name = %s",
            (pipeline,),
        )
        state = await cursor.fetchone()
        if state is None:
            raise BenchError(f"system.pipelines has no row for {pipeline}")
        if state[0] == "failed":
            raise BenchError(f"pipeline {pipeline} failed: {state[1]} ({describe_state(state)})")
        return tuple(state)


def describe_state(state: tuple[Any, ...] | list[Any] | None) -> str:
    if state is None:
        return "no system.pipelines row read yet"
    return ", ".join(f"{name}={value}" for name, value in zip(STATE_COLUMNS, state, strict=False))


async def drop_quietly(gateway: Gateway, pipeline: str) -> None:
    """After a failure: stop the pipeline if it exists, so it does not slow down the next contender."""
    with contextlib.suppress(psycopg.Error):
        async with await psycopg.AsyncConnection.connect(gateway.dsn, autocommit=True) as conn:
            await conn.execute(f"DROP PIPELINE IF EXISTS {pipeline}")


@contextlib.asynccontextmanager
async def statements(gateway: Gateway, pipeline: str) -> AsyncIterator[Statements]:
    """A connection to the gateway. A psycopg error becomes a BenchError naming the statement, its
    SQLSTATE and the gateway's log since; after any error the pipeline is dropped if it exists."""
    log_from = gateway.log_size()
    sql = Statements()
    try:
        async with await psycopg.AsyncConnection.connect(gateway.dsn, autocommit=True) as conn:
            sql.conn = conn
            yield sql
    except psycopg.Error as exc:
        await drop_quietly(gateway, pipeline)
        sqlstate = exc.sqlstate or "no SQLSTATE"
        raise BenchError(
            f"{type(exc).__name__} ({sqlstate}): {exc}\n  statement: {sql.current}\n"
            f"--- gateway log since the first statement ---\n{gateway.log_tail(log_from)}"
        ) from exc
    except BaseException:
        await drop_quietly(gateway, pipeline)
        raise


async def watch_pipeline(
    sql: Statements,
    watcher: OutputWatcher,
    pipeline: str,
    *,
    outputs: int,
    rows_in: int | None,
    stall_seconds: float,
    started: float,
) -> float | None:
    """Poll until the output holds ``outputs`` records and, unless ``rows_in`` is None, the pipeline
    has read that many input records; fail on a 'failed' state or when neither moves for
    ``stall_seconds``. Returns the seconds from ``started`` to the first output record."""
    first_output: float | None = None
    progress_at, last_progress, state_at = started, (0, 0), 0.0
    state: tuple[Any, ...] | None = None
    while True:
        count = await watcher.poll()
        now = time.perf_counter()
        if count and first_output is None:
            first_output = now - started
        complete = count >= outputs
        if complete and rows_in is None:
            return first_output
        if complete or now - state_at >= POLL_STATE_S:  # every poll once only rows_in is missing
            state_at = now
            state = await sql.pipeline_state(pipeline)
            if complete and rows_in is not None and state[ROWS_IN] >= rows_in:
                return first_output
        progress = (count, state[ROWS_IN] if state else 0)
        if progress != last_progress:
            progress_at, last_progress = now, progress
        if now - progress_at > stall_seconds:
            raise BenchError(
                f"pipeline {pipeline}: output at {count} of {outputs} records and rows_in at "
                f"{progress[1]} of {rows_in} for {stall_seconds:.0f}s; {describe_state(state)}"
            )
        await asyncio.sleep(POLL_INTERVAL_S)  # poll interval: the loop ends on the condition


async def run_laminar(
    gateway: Gateway,
    *,
    bootstrap: str,
    input_topic: str,
    output_topic: str,
    contender: str,
    outputs: int,
    rows_in: int | None,
    stall_seconds: float,
) -> PipelineRun:
    """Create the connections, then time CREATE PIPELINE until ``outputs`` records are committed
    (and, for a windowed pipeline, ``rows_in`` input records were read)."""
    ddl, create, pipeline = pipeline_statements(bootstrap, input_topic, output_topic, contender)
    watcher = OutputWatcher(bootstrap, output_topic)
    await watcher.start()
    try:
        async with statements(gateway, pipeline) as sql:
            for statement in ddl:
                await sql.run(statement)
            started = time.perf_counter()
            await sql.run(create)
            first_output = await watch_pipeline(
                sql,
                watcher,
                pipeline,
                outputs=outputs,
                rows_in=rows_in,
                stall_seconds=stall_seconds,
                started=started,
            )
            seconds = time.perf_counter() - started
            state = await sql.pipeline_state(pipeline)
            peak = gateway.status_kib("VmHWM")
            await sql.run(f"DROP PIPELINE {pipeline}")  # the next contender runs alone
            return PipelineRun(seconds, first_output, state, peak)
    finally:
        await watcher.close()


async def run_state(
    gateway: Gateway,
    *,
    bootstrap: str,
    input_topic: str,
    output_topic: str,
    keys: int,
    stall_seconds: float,
) -> StateRun:
    """VmRSS before CREATE PIPELINE and once the pipeline has read all ``keys`` records, every one a
    new key of the one open window (nothing may be emitted); then DROP PIPELINE."""
    ddl, create, pipeline = pipeline_statements(bootstrap, input_topic, output_topic, "state")
    async with statements(gateway, pipeline) as sql:
        for statement in ddl:
            await sql.run(statement)
        rss_before = gateway.status_kib("VmRSS")
        started = time.perf_counter()
        await sql.run(create)
        samples: list[tuple[int, int]] = []
        progress_at, last = started, -1
        while True:
            state = await sql.pipeline_state(pipeline)
            rss = gateway.status_kib("VmRSS")
            now = time.perf_counter()
            samples.append((state[ROWS_IN], rss))
            if state[ROWS_IN] >= keys:
                break
            if state[ROWS_IN] != last:
                progress_at, last = now, state[ROWS_IN]
            if now - progress_at > stall_seconds:
                raise BenchError(
                    f"pipeline {pipeline}: rows_in stuck at {last} of {keys} for {stall_seconds:.0f}s; "
                    f"{describe_state(state)}"
                )
            await asyncio.sleep(POLL_INTERVAL_S)  # poll interval: the loop ends on the condition
        seconds = now - started
        peak = gateway.status_kib("VmHWM")
        await sql.run(f"DROP PIPELINE {pipeline}")
        rss_dropped = gateway.status_kib("VmRSS")
    return StateRun(seconds, state, rss_before, rss, rss_dropped, peak, samples)


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
    memory: dict[str, Any] | None = None  # the state contender's figures
    error: str | None = None


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
        if contender == "state":
            self.measure_state(result)
            return result
        windowed = contender == "windowed"
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
                    outputs=len(self.expected.closed_windows()) if windowed else self.expected.outputs,
                    rows_in=self.expected.records if windowed else None,
                    stall_seconds=self.stall_seconds,
                )
            )
            result.seconds, result.first_output_s = run.seconds, run.first_output_s
            result.peak_rss_kib = run.peak_rss_kib
            result.final_state = list(run.final_state) if run.final_state else None
        verify = verify_windows if windowed else verify_output
        result.output_records = run_async(verify(self.bootstrap, topic, self.expected))
        result.records_per_s = self.expected.records / result.seconds
        return result

    def measure_state(self, result: Result) -> None:
        """The state contender: its own input of distinct keys and its own fresh gateway (so freed
        memory of the pipelines before it cannot hide growth); nothing may be emitted."""
        keys = self.expected.records
        keys_topic = f"bench-pipeline-keys-{os.getpid()}"
        run_async(create_topic(self.bootstrap, keys_topic, 1))
        print(f"  producing {keys} records with distinct user_id into one open window ...", flush=True)
        first = run_async(produce_values(self.bootstrap, keys_topic, distinct_key_values(keys)))
        self.workload["state_example"] = first.decode()
        with running_gateway(self.root / "gateway-state") as gateway:
            ready = gateway.status_kib("VmRSS")
            print(f"  its own gateway: pid {gateway.process.pid}, port {gateway.port}", flush=True)
            run: StateRun = run_async(
                run_state(
                    gateway,
                    bootstrap=self.bootstrap,
                    input_topic=keys_topic,
                    output_topic=result.topic,
                    keys=keys,
                    stall_seconds=self.stall_seconds,
                )
            )
        counters = dict(zip(STATE_COLUMNS, run.final_state, strict=False))
        unexpected = {k: counters[k] for k in ("rows_out", "rows_late", "rows_dropped") if counters[k]}
        if unexpected:
            raise BenchError(f"the window is open and every record in it, yet {unexpected}")
        values, uncommitted = committed_values(run_async(read_batches(self.bootstrap, result.topic)))
        if values or uncommitted:
            raise BenchError(f"{len(values) + uncommitted} records emitted for a window that is still open")
        result.seconds, result.records_per_s = run.seconds, keys / run.seconds
        result.output_records, result.peak_rss_kib = 0, run.peak_rss_kib
        result.final_state = list(run.final_state)
        growth_kib = run.rss_full_kib - run.rss_before_kib
        # how VmRSS grew with the keys: before the first record was read, then at each quarter
        idle = [sample for sample in run.samples if sample[0] == 0]
        path = idle[-1:] + [
            next(sample for sample in run.samples if sample[0] >= keys * quarter // 4)
            for quarter in (1, 2, 3)
        ]
        result.memory = {
            "keys": keys,
            "rss_ready_kib": ready,
            "rss_before_kib": run.rss_before_kib,
            "rss_full_kib": run.rss_full_kib,
            "rss_after_drop_kib": run.rss_dropped_kib,
            "growth_kib": growth_kib,
            "bytes_per_key": growth_kib * 1024 / keys,
            "rss_path_kib": [*path, (keys, run.rss_full_kib)],  # (rows_in, VmRSS) along the way
            "samples": run.samples,
        }


def produce_workload(bootstrap: str, input_topic: str, records: int) -> tuple[Expected, dict[str, Any]]:
    """Create and fill the input topic (not timed as part of any contender) and describe it."""
    run_async(create_topic(bootstrap, input_topic, 1))
    print(f"producing {records} input records ...", flush=True)
    started = time.perf_counter()
    expected, first_input = run_async(produce_input(bootstrap, input_topic, records))
    end = run_async(high_watermark(bootstrap, input_topic))
    if end != records:
        raise BenchError(f"the input topic holds {end} records, expected {records}")
    closed = expected.closed_windows()
    workload = {
        "records": records,
        "purchases": expected.outputs,
        "closed_window_rows": len(closed),
        "closed_windows": len({window for _, window in closed}),
        "open_window_rows": len(expected.windows) - len(closed),
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
    facts = machine_facts()
    return {
        "cores": facts["nproc"],
        "cpu": facts["cpu"],
        "python": facts["python"],
        "aiokafka": aiokafka.__version__,
        "loop": event_loop_name(),
    }


def ratios(results: list[Result]) -> list[dict[str, Any]]:
    by_name = {r.contender: r.records_per_s for r in results}
    found = []
    for numerator, denominator, target in TARGETS:
        top, bottom = by_name.get(numerator), by_name.get(denominator)
        ratio = top / bottom if top and bottom else None
        if ratio is None:
            status = "n/a"
        elif target is None:
            status = "no target"
        else:
            status = "PASS" if ratio >= target else "BELOW"
        found.append(
            {"ratio": f"{numerator}/{denominator}", "value": ratio, "target": target, "status": status}
        )
    return found


def print_memory(memory: dict[str, Any]) -> None:
    """The state contender's figures: VmRSS of its own gateway before and with the full window."""
    mib = 1024.0
    path = ", ".join(f"{rows:,}: {rss / mib:.0f}" for rows, rss in memory["rss_path_kib"])
    print(
        f"window state at {memory['keys']:,} distinct keys, all in one open 1-hour window (its own "
        f"gateway, {memory['rss_ready_kib'] / mib:.0f} MiB when ready):\n"
        f"  VmRSS {memory['rss_before_kib'] / mib:.0f} MiB before CREATE PIPELINE, "
        f"{memory['rss_full_kib'] / mib:.0f} MiB when rows_in reached {memory['keys']:,}: "
        f"+{memory['growth_kib'] / mib:.0f} MiB, {memory['bytes_per_key']:,.0f} bytes per key;\n"
        f"  VmRSS in MiB as rows_in grew (rows_in: MiB): {path};\n"
        f"  {memory['rss_after_drop_kib'] / mib:.0f} MiB right after DROP PIPELINE"
    )


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
        f"          windowed: ts advances 1 ms a record; {workload['closed_window_rows']} (user, minute) "
        f"rows in {workload['closed_windows']} closed 1-minute windows expected, "
        f"{workload['open_window_rows']} rows of the last minute stay open"
    )
    if "state_example" in workload:
        print(f"          state: {workload['records']} distinct user_id, e.g. {workload['state_example']}")
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
        "pipeline ran;\n windowed: until rows_in reached the input count and every closed window was "
        "written; state: until rows_in reached the input count)"
    )
    if "gateway_rss_at_start_kib" in workload:
        start_mib = workload["gateway_rss_at_start_kib"] / 1024
        print(f"gateway RSS when it was ready, before any pipeline: {start_mib:.0f} MiB")
    for r in results:
        if r.final_state is not None:
            print(
                f"system.pipelines for {r.contender} at the end of its run: {describe_state(r.final_state)}"
            )
    for r in results:
        if r.memory is not None:
            print_memory(r.memory)
    print()
    for ratio in ratios(results):
        value = "n/a" if ratio["value"] is None else f"{ratio['value']:.3f}"
        target = "no target" if ratio["target"] is None else f"target >= {ratio['target']}: {ratio['status']}"
        print(f"{ratio['ratio']:<14} = {value:>6} ({target})")
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
        "--contenders",
        type=contenders_arg,
        default=list(CONTENDERS),
        help="e.g. batched,naive,alo,eos,windowed,state",
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
