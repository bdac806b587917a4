"""Benchmark the Kafka sink's throughput against a hand-written aiokafka producer on the same broker.

This is a benchmark, not a test: run it from the repo root with
`.venv/bin/python bench/sink.py [--rows 200000] [--batch 1000] [--repeat 3] [--insert-rows N]
[--compressions none,snappy] [--json PATH]`. It starts one Tansu broker (in-memory storage, free
loopback port) and one `python -m gateway serve` subprocess. Then it writes the same rows (6 columns:
bigint, bigint, text, timestamptz, float8, bool) as JSON messages three ways, each into its own fresh
1-partition topic, for every compression codec:

1. peer: an `AIOKafkaProducer` driven by hand with `create_batch()` + `send_batch()`, values built with
   orjson, configured like the sink's producer (the same ProducerSettings: acks, idempotence, batch
   bytes, codec);
2. internal: `KafkaSink.write(columns, rows)` in chunks of --batch rows (no gateway in the way);
3. insert: one `INSERT INTO sink (...) VALUES (...), ...` statement of --batch rows per call through
   the real gateway with psycopg (autocommit), the statement texts built before the clock starts.

Every write waits for the broker's acknowledgement before the next one starts. Each variant writes one
warm-up chunk first. Peer and internal then make --repeat alternating passes of all rows and report
the best; INSERT makes one pass of --insert-rows rows (default --rows). Afterwards the topic's end
offset is read from a Fetch response's high watermark (Tansu's ListOffsets(latest) is wrong,
DESIGN.md §2) and must equal warm-up plus measured rows. The first stored value must be the same bytes
for all variants. So a variant that drops or mangles rows cannot look fast. It prints rows/s per variant,
the internal/peer ratio next to its target (>= 0.8) and insert/peer. Broker, gateway and temp dir are
removed afterwards, also on error or Ctrl-C. The exit code is 0 whatever the figures are. It is
non-zero only when something failed to run or a count did not match.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# ruff: noqa: E402 - the imports below need the repo root on sys.path
import aiokafka
import orjson
import psycopg
from aiokafka import AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition

from bench.machine import event_loop_name, machine_facts, run_async
from catalog.options import ValidatedOptions, validate_connection_options
from gateway.protocol import types as pgtypes
from sinks import kafka_compat
from sinks.kafka_sink import KafkaSink, SinkColumn
from sinks.metrics import ProducerMetrics
from sinks.producer_settings import ProducerSettings
from tests.fixtures.gateway import GatewayEndpoint, running_gateway
from tests.fixtures.kafka import create_topic, running_kafka_broker

TARGET_RATIO = 0.8
VARIANTS = ("peer", "internal", "insert")
LABELS = {
    "peer": "aiokafka create_batch/send_batch",
    "internal": "KafkaSink.write (internal API)",
    "insert": "INSERT ... VALUES via gateway",
}
COLUMNS = (
    SinkColumn("id", pgtypes.INT8),
    SinkColumn("user_id", pgtypes.INT8),
    SinkColumn("event_type", pgtypes.TEXT),
    SinkColumn("created_at", pgtypes.TIMESTAMPTZ),
    SinkColumn("amount", pgtypes.FLOAT8),
    SinkColumn("ok", pgtypes.BOOL),
)
NAMES = tuple(column.name for column in COLUMNS)
EVENT_TYPES = ("view", "click", "purchase", "refund")
BASE_TIME = dt.datetime(2024, 2, 29, 12, 0, tzinfo=dt.UTC)
FETCH_MAX_BYTES = 1024 * 1024

Row = tuple[int, int, str, dt.datetime, float, bool]


class BenchError(RuntimeError):
    """Something needed for the benchmark did not run, or a variant lost rows; the message says what."""


@dataclass(frozen=True)
class Measurement:
    """One variant's passes: rows per pass, seconds of each pass, what the topic holds afterwards."""

    compression: str
    variant: str
    topic: str
    rows: int
    passes: tuple[float, ...]
    end_offset: int
    first_value: str

    @property
    def seconds(self) -> float:
        return min(self.passes)

    @property
    def rows_per_s(self) -> float:
        """Of the fastest pass: noise on a shared machine only ever slows a pass down."""
        return self.rows / self.seconds

    @property
    def median_rows_per_s(self) -> float:
        return self.rows / statistics.median(self.passes)


# --- the workload ----------------------------------------------------------------------------------
def make_rows(count: int) -> list[Row]:
    """Deterministic rows; amounts are multiples of 0.25 so their SQL literals are exact."""
    return [
        (
            i,
            1000 + i % 977,
            EVENT_TYPES[i % len(EVENT_TYPES)],
            BASE_TIME + dt.timedelta(milliseconds=i),
            (i % 4000) * 0.25,
            i % 3 != 0,
        )
        for i in range(count)
    ]


def chunks(rows: Sequence[Row], size: int) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def sql_literal_row(row: Row) -> str:
    """A VALUES tuple DuckDB types as (integer, integer, varchar, timestamptz, double, boolean)."""
    ident, user_id, event_type, created_at, amount, ok = row
    text = event_type.replace("'", "''")
    stamp = created_at.strftime("%Y-%m-%d %H:%M:%S.%f+00")
    return f"({ident}, {user_id}, '{text}', TIMESTAMPTZ '{stamp}', {amount!r}e0, {str(ok).lower()})"


def insert_statements(connection: str, rows: Sequence[Row], batch: int) -> list[str]:
    into = f"INSERT INTO {connection} ({', '.join(NAMES)}) VALUES "
    return [into + ", ".join(sql_literal_row(row) for row in chunk) for chunk in chunks(rows, batch)]


def sink_options(bootstrap: str, topic: str, compression: str) -> ValidatedOptions:
    pairs = [
        ("type", "sink"),
        ("format", "json"),
        ("bootstrap_servers", bootstrap),
        ("topic", topic),
        ("compression", compression),
    ]
    return validate_connection_options(pairs, secret_exists=lambda _name: False)


def topic_for(compression: str, variant: str) -> str:
    return f"bench-sink-{variant}-{compression}-{os.getpid()}"


# --- reading the topic back --------------------------------------------------------------------------
async def end_offset_and_first_value(bootstrap: str, topic: str) -> tuple[int, bytes | None]:
    """The partition's high watermark from a Fetch response, and the value of its first record."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await client.bootstrap()
    try:
        await client._wait_on_metadata(topic)
        leader = client.cluster.leader_for_partition(TopicPartition(topic, 0))
        # Tansu answers max_wait 0 / min_bytes 0 with no topics at all: wait up to 200 ms for 1 byte.
        fetch = [(topic, [(0, 0, FETCH_MAX_BYTES)])]
        response = await client.send(leader, FetchRequest(200, 1, FETCH_MAX_BYTES, 0, fetch))
        if not response.topics:
            return 0, None
        (_, partitions), *_ = response.topics
        _, error_code, high_watermark, *rest = partitions[0]
        if error_code != 0:
            raise BenchError(f"fetching {topic}[0] failed with Kafka error code {error_code}")
        batch = MemoryRecords(bytes(rest[-1] or b"")).next_batch()
        first = next(iter(batch), None) if batch is not None else None
        return int(high_watermark), None if first is None else first.value
    finally:
        await client.close()


# --- the three writers ------------------------------------------------------------------------------
class Writer(Protocol):
    async def start(self) -> None: ...
    async def write_chunk(self, chunk: Sequence[Row]) -> None: ...
    async def close(self) -> None: ...


def peer_producer(options: ValidatedOptions) -> Any:
    """An aiokafka producer with the settings the sink's own producer gets from the same options."""
    kafka_compat.install()  # idempotence needs InitProducerId v3 on Tansu, as in the sink
    s = ProducerSettings.from_options(options, {})
    return AIOKafkaProducer(
        bootstrap_servers=list(s.bootstrap_servers),
        client_id="bench-peer",
        acks=s.acks,
        enable_idempotence=s.idempotent,
        compression_type=s.compression,
        max_batch_size=s.batch_bytes,
        linger_ms=s.linger_ms,
        max_request_size=s.max_request_size,
        request_timeout_ms=s.request_timeout_ms,
        retry_backoff_ms=s.retry_backoff_ms,
        **s.security_kwargs(),
    )


class PeerWriter:
    """The hand-written producer: orjson values, create_batch/append/send_batch, wait for the acks."""

    def __init__(self, options: ValidatedOptions, topic: str) -> None:
        self.topic = topic
        self.producer = peer_producer(options)

    async def start(self) -> None:
        await self.producer.start()

    async def write_chunk(self, chunk: Sequence[Row]) -> None:
        producer, topic, dumps = self.producer, self.topic, orjson.dumps
        timestamp_ms = int(time.time() * 1000)
        pending = []
        builder = producer.create_batch()
        for row in chunk:
            value = dumps(dict(zip(NAMES, row, strict=True)))
            if builder.append(timestamp=timestamp_ms, key=None, value=value) is None:  # full: closed
                pending.append(await producer.send_batch(builder, topic, partition=0))
                builder = producer.create_batch()
                if builder.append(timestamp=timestamp_ms, key=None, value=value) is None:
                    raise BenchError(f"a {len(value)}-byte record does not fit an empty batch")
        builder.close()  # complete: a closed batch goes out at once instead of lingering linger_ms
        pending.append(await producer.send_batch(builder, topic, partition=0))
        await asyncio.gather(*pending)  # acknowledged, like KafkaSink.write

    async def close(self) -> None:
        await self.producer.stop()


class InternalWriter:
    """The sink's internal write API, as INSERT uses it, without the gateway around it."""

    def __init__(self, options: ValidatedOptions, connection: str) -> None:
        self.sink = KafkaSink(connection, options, {}, ProducerMetrics())

    async def start(self) -> None:
        await self.sink.start()

    async def write_chunk(self, chunk: Sequence[Row]) -> None:
        result = await self.sink.write(COLUMNS, chunk)
        if result.written != len(chunk):
            raise BenchError(f"KafkaSink.write wrote {result.written} of {len(chunk)} rows")

    async def close(self) -> None:
        await self.sink.close()


async def timed_pass(writer: Writer, rows: Sequence[Row], batch: int) -> float:
    """Seconds to write every chunk in turn, each acknowledged before the next."""
    started = time.perf_counter()
    for chunk in chunks(rows, batch):
        await writer.write_chunk(chunk)
    return time.perf_counter() - started


def run_insert(
    endpoint: GatewayEndpoint,
    *,
    bootstrap: str,
    topic: str,
    compression: str,
    rows: Sequence[Row],
    batch: int,
) -> float:
    """CREATE CONNECTION for topic, one warm-up INSERT, then seconds for one INSERT per chunk of rows."""
    connection = f"bench_insert_{compression}"
    statements = insert_statements(connection, rows, batch)
    sizes = [len(chunk) for chunk in chunks(rows, batch)]
    with psycopg.connect(endpoint.dsn(), autocommit=True) as conn:
        conn.execute(
            f"CREATE CONNECTION {connection} TO kafka (bootstrap_servers = '{bootstrap}', "
            f"topic = '{topic}', type = 'sink', format = 'json', compression = '{compression}')"
        )

        def execute(statement: str, expected: int) -> None:
            cursor = conn.execute(statement)
            if cursor.rowcount != expected:
                raise BenchError(f"INSERT answered {cursor.statusmessage!r}, expected INSERT 0 {expected}")

        execute(statements[0], sizes[0])  # warm-up
        started = time.perf_counter()
        for statement, size in zip(statements, sizes, strict=True):
            execute(statement, size)
        return time.perf_counter() - started


# --- orchestration ---------------------------------------------------------------------------------
async def run_in_process(
    bootstrap: str, compression: str, rows: Sequence[Row], batch: int, repeat: int
) -> dict[str, tuple[float, ...]]:
    """Peer and internal variant for one codec on one event loop: both started and warmed up with one
    chunk, then ``repeat`` measured passes of all rows each, alternating between the two."""
    writers: dict[str, Writer] = {}
    try:
        for variant in ("peer", "internal"):
            topic = topic_for(compression, variant)
            await create_topic(bootstrap, topic, 1)
            options = sink_options(bootstrap, topic, compression)
            writer: Writer
            if variant == "peer":
                writer = PeerWriter(options, topic)
            else:
                writer = InternalWriter(options, f"bench_{compression}")
            writers[variant] = writer
            await writer.start()
            await writer.write_chunk(rows[:batch])  # warm-up
        passes: dict[str, list[float]] = {variant: [] for variant in writers}
        for number in range(1, repeat + 1):
            for variant, writer in writers.items():
                print(f"measuring: {LABELS[variant]}, {compression}, pass {number}/{repeat}", flush=True)
                passes[variant].append(await timed_pass(writer, rows, batch))
        return {variant: tuple(times) for variant, times in passes.items()}
    finally:
        for writer in writers.values():
            await writer.close()


def verify(measurement: Measurement, warmup: int) -> None:
    """The topic holds exactly the warm-up and every pass: nothing dropped, nothing written twice."""
    expected = warmup + measurement.rows * len(measurement.passes)
    if measurement.end_offset != expected:
        raise BenchError(
            f"{measurement.variant} ({measurement.compression}) left {measurement.end_offset} records in "
            f"{measurement.topic}, expected {expected} ({warmup} warm-up + {len(measurement.passes)} x "
            f"{measurement.rows} measured)"
        )


def measure_inserts(
    endpoint: GatewayEndpoint, root: Path, bootstrap: str, args: argparse.Namespace, rows: Sequence[Row]
) -> dict[tuple[str, str], tuple[float, ...]]:
    """The INSERT variant for every codec, through the running gateway."""
    passes: dict[tuple[str, str], tuple[float, ...]] = {}
    for compression in args.compressions:
        topic = topic_for(compression, "insert")
        run_async(create_topic(bootstrap, topic, 1))
        print(f"measuring: {LABELS['insert']}, {compression}, {args.insert_rows} rows", flush=True)
        try:
            seconds = run_insert(
                endpoint,
                bootstrap=bootstrap,
                topic=topic,
                compression=compression,
                rows=rows[: args.insert_rows],
                batch=args.batch,
            )
        except psycopg.Error as exc:
            log = (root / "gateway" / "gateway.log").read_text(errors="replace")
            tail = "\n".join(log.splitlines()[-40:])
            raise BenchError(
                f"INSERT through the gateway failed: {exc}\n--- gateway log ---\n{tail}"
            ) from exc
        passes[(compression, "insert")] = (seconds,)
    return passes


def benchmark(args: argparse.Namespace, root: Path) -> list[Measurement]:
    """Start broker and gateway, measure every variant and codec, then check what each topic holds."""
    rows = make_rows(args.rows)
    with running_kafka_broker(root / "kafka") as broker:
        bootstrap = broker.bootstrap_servers
        print(f"broker: tansu on {bootstrap}", flush=True)
        passes: dict[tuple[str, str], tuple[float, ...]] = {}
        for compression in args.compressions:
            found = run_async(run_in_process(bootstrap, compression, rows, args.batch, args.repeat))
            passes.update({(compression, variant): times for variant, times in found.items()})
        with running_gateway(root / "gateway", auth="trust", user="laminar") as endpoint:
            print(f"gateway: port {endpoint.port}", flush=True)
            passes.update(measure_inserts(endpoint, root, bootstrap, args, rows))
        measurements = []
        for (compression, variant), times in passes.items():
            topic = topic_for(compression, variant)
            measured = args.insert_rows if variant == "insert" else len(rows)
            end, first = run_async(end_offset_and_first_value(bootstrap, topic))
            value = (first or b"").decode(errors="replace")
            measurement = Measurement(compression, variant, topic, measured, times, end, value)
            verify(measurement, warmup=min(args.batch, measured))
            measurements.append(measurement)
        if len({m.first_value for m in measurements}) != 1:
            listing = "\n".join(f"  {m.variant}/{m.compression}: {m.first_value}" for m in measurements)
            raise BenchError(f"the variants stored different bytes for the first row:\n{listing}")
        return sorted(
            measurements, key=lambda m: (args.compressions.index(m.compression), VARIANTS.index(m.variant))
        )


# --- report ---------------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    """What the figures were measured on."""
    return {
        **machine_facts(),
        "aiokafka": aiokafka.__version__,
        "loop": event_loop_name(),
    }


def print_report(info: dict[str, str], args: argparse.Namespace, measurements: list[Measurement]) -> None:
    """The machine, the workload, one table row per codec and variant, and the ratios."""
    print(
        f"\nmachine: nproc={info['nproc']}, cpu={info['cpu']}, python={info['python']}, "
        f"aiokafka {info['aiokafka']}, event loop {info['loop']}"
    )
    sample = measurements[0].first_value
    print(f"workload: rows of 6 columns as JSON, {len(sample)} bytes each, e.g. {sample}")
    settings = ProducerSettings.from_options(sink_options("127.0.0.1:9092", "t", "none"), {})
    print(
        f"          {args.batch} rows per write (each acknowledged before the next), 1 partition per "
        f"variant, acks={settings.acks}, idempotence={settings.idempotent}, batch.size "
        f"{settings.batch_bytes} bytes (sink defaults, peer the same); one warm-up write per variant"
    )
    print(
        f"          peer and internal: {args.rows} rows per pass, {args.repeat} alternating passes, "
        f"best pass reported; INSERT: {args.insert_rows} rows, one pass"
    )
    print("          every topic's end offset (Fetch high watermark) matched the rows written")
    header = f"{'codec':<8}{'variant':<34}{'seconds':>9}{'rows/s':>11}{'median':>11}{'vs peer':>9}"
    print(header)
    print("-" * len(header))
    by_key = {(m.compression, m.variant): m for m in measurements}
    for m in measurements:
        ratio = m.rows_per_s / by_key[(m.compression, "peer")].rows_per_s
        print(
            f"{m.compression:<8}{LABELS[m.variant]:<34}{m.seconds:>9.3f}{m.rows_per_s:>11.0f}"
            f"{m.median_rows_per_s:>11.0f}{ratio:>9.3f}"
        )
    print()
    below = []
    for compression in args.compressions:
        peer = by_key[(compression, "peer")].rows_per_s
        internal = by_key[(compression, "internal")].rows_per_s / peer
        insert = by_key[(compression, "insert")].rows_per_s / peer
        status = "PASS" if internal >= args.target else "BELOW"
        if status == "BELOW":
            below.append(compression)
        print(
            f"{compression}: internal/peer = {internal:.3f} (target >= {args.target}: {status}); "
            f"insert/peer = {insert:.3f}"
        )
    if below:
        print(f"\nBELOW TARGET: internal/peer ratio < {args.target} with compression {', '.join(below)}")


def compressions_arg(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    allowed = ("none", "gzip", "snappy", "lz4", "zstd")
    unknown = [name for name in names if name not in allowed]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"codecs are comma-separated names out of {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000, help="measured rows per variant")
    parser.add_argument("--batch", type=int, default=1000, help="rows per write / INSERT statement")
    parser.add_argument(
        "--insert-rows", type=int, default=None, help="measured rows of the INSERT variant (default: --rows)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="measured passes of peer and internal")
    parser.add_argument(
        "--compressions", type=compressions_arg, default=["none", "snappy"], help="codecs, e.g. none,snappy"
    )
    parser.add_argument("--target", type=float, default=TARGET_RATIO, help="minimum internal/peer ratio")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.insert_rows is None:
        args.insert_rows = args.rows
    if min(args.rows, args.batch, args.repeat) < 1 or not 1 <= args.insert_rows <= args.rows:
        parser.error("--rows, --batch and --repeat must be positive, --insert-rows between 1 and --rows")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (whatever the figures), 1 when something failed to run."""
    args = parse_args(argv)
    os.chdir(REPO_ROOT)  # `python -m gateway` must find the package: it is not installed in the venv
    info = machine()
    root = Path(tempfile.mkdtemp(prefix="laminar-bench-sink-"))
    try:
        measurements = benchmark(args, root)
    except (BenchError, KafkaError, RuntimeError, TimeoutError, OSError) as exc:
        print(f"benchmark failed to run: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; broker and gateway stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_report(info, args, measurements)
    if args.json is not None:
        settings = {
            "rows": args.rows,
            "batch": args.batch,
            "repeat": args.repeat,
            "insert_rows": args.insert_rows,
            "compressions": args.compressions,
        }
        results = [
            {
                **asdict(m),
                "seconds": m.seconds,
                "rows_per_s": m.rows_per_s,
                "median_rows_per_s": m.median_rows_per_s,
            }
            for m in measurements
        ]
        payload = {"machine": info, "settings": settings, "results": results}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
