"""Benchmark the Kafka sink's value formats against each other: json, avro and protobuf in one run.

This is a benchmark, not a test: run it from the repo root with
`.venv/bin/python bench/formats.py [--rows 200000] [--batch 1000] [--repeat 3] [--json PATH]`.
It starts one Tansu broker (in-memory storage, free loopback port) and the Schema Registry test
server (tests/fixtures/schema_registry.py, in a thread of this process, no authentication), builds
`--rows` rows of 6 columns (bigint, bigint, text, timestamptz, float8, bool) with a DuckDB query, as
the gateway's DuckDB gives them (timestamptz values in ZoneInfo('UTC')), and writes them with three
`KafkaSink`s built directly (no gateway), each on its own fresh 1-partition topic:

1. json: `format = 'json'`;
2. avro: `format = 'avro'`, registering the schema it derives from the columns under `<topic>-value`
   (the default `'auto.register.schemas' = 'true'`);
3. protobuf: `format = 'protobuf'`, `'protobuf.message' = 'bench.Event'`, whose .proto (int64, int64,
   string, google.protobuf.Timestamp, double, bool) is registered under `<topic>-value` beforehand.

Each sink writes one warm-up chunk (that is when the registry is asked). Then `--repeat` passes of all
rows in chunks of `--batch` rows, alternating json, avro, protobuf: `KafkaSink.write(columns, chunk)`,
each chunk acknowledged before the next. The same passes are also timed for `KafkaSink.encode` alone
(the rows turned into records, nothing sent), which shows how much of a write is the format. Best pass
reported (noise only ever slows a pass down), median too, and the ratio of each format to json.

Checks, so that a format that drops or mangles rows cannot look fast: each topic's end offset (the
high watermark of a Fetch answer; Tansu's ListOffsets(latest) is wrong, DESIGN.md §2) must be warm-up
plus every measured pass; the first stored batch of each topic is decoded independently (orjson;
fastavro.schemaless_reader with the schema the registry holds for the record's id; a message class
from a separate `python -m grpc_tools.protoc` run) and must be the first rows; the registry must not be
asked anything during the measured passes (ids and encoders are cached). The exit code is 0 whatever
the figures are; non-zero only when something failed to run or a check failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# ruff: noqa: E402 - the imports below need the repo root on sys.path
import aiokafka
import duckdb
import fastavro
import orjson
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition

from bench.machine import event_loop_name, machine_facts, run_async
from catalog.options import validate_connection_options
from gateway.protocol import types as pgtypes
from sinks.kafka_sink import KafkaSink, SinkColumn
from sinks.metrics import ProducerMetrics
from sinks.producer_settings import ProducerSettings
from tests.fixtures.kafka import create_topic, running_kafka_broker
from tests.fixtures.protoc import protoc_message_class
from tests.fixtures.schema_registry import SchemaRegistryServer, running_schema_registry

FORMATS = ("json", "avro", "protobuf")
COLUMNS = (
    SinkColumn("id", pgtypes.INT8),
    SinkColumn("user_id", pgtypes.INT8),
    SinkColumn("event_type", pgtypes.TEXT),
    SinkColumn("created_at", pgtypes.TIMESTAMPTZ),
    SinkColumn("amount", pgtypes.FLOAT8),
    SinkColumn("ok", pgtypes.BOOL),
)
NAMES = tuple(column.name for column in COLUMNS)
ROWS_SQL = """
SELECT i::BIGINT AS id, (1000 + i % 977)::BIGINT AS user_id,
       ['view', 'click', 'purchase', 'refund'][i % 4 + 1] AS event_type,
       TIMESTAMPTZ '2024-02-29 12:00:00+00' + i * INTERVAL 1 MILLISECOND AS created_at,
       ((i % 4000) * 0.25)::DOUBLE AS amount, i % 3 <> 0 AS ok
FROM range(?) AS t(i) ORDER BY i
"""
PROTO_MESSAGE = "bench.Event"
EVENT_PROTO = """syntax = "proto3";
package bench;

import "google/protobuf/timestamp.proto";

message Event {
  int64 id = 1;
  int64 user_id = 2;
  string event_type = 3;
  google.protobuf.Timestamp created_at = 4;
  double amount = 5;
  bool ok = 6;
}
"""
FETCH_MAX_BYTES = 1024 * 1024

Row = tuple[Any, ...]


class BenchError(RuntimeError):
    """Something needed for the benchmark did not run, or a check failed; the message says what."""


@dataclass(frozen=True)
class Measurement:
    """One format: rows per pass, seconds of each write and encode-only pass, what the topic holds."""

    format: str
    topic: str
    rows: int
    write_passes: tuple[float, ...]
    encode_passes: tuple[float, ...]
    end_offset: int
    value_bytes: float  # mean size of a record value over all rows

    @property
    def rows_per_s(self) -> float:
        """Of the fastest write pass: noise on a shared machine only ever slows a pass down."""
        return self.rows / min(self.write_passes)

    @property
    def median_rows_per_s(self) -> float:
        return self.rows / statistics.median(self.write_passes)

    @property
    def encode_rows_per_s(self) -> float:
        return self.rows / min(self.encode_passes)


# --- workload and sinks ------------------------------------------------------------------------------
def make_rows(count: int) -> list[Row]:
    """Deterministic rows, as the gateway's DuckDB gives them (timestamptz in ZoneInfo('UTC'))."""
    conn = duckdb.connect()
    try:
        conn.execute("SET TimeZone = 'UTC'")
        return [tuple(row) for row in conn.execute(ROWS_SQL, [count]).fetchall()]
    finally:
        conn.close()


def chunks(rows: Sequence[Row], size: int) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def topic_for(fmt: str) -> str:
    return f"bench-formats-{fmt}-{os.getpid()}"


def sink_options(fmt: str, bootstrap: str, topic: str, registry_url: str) -> list[tuple[str, str]]:
    pairs = [("type", "sink"), ("format", fmt), ("bootstrap_servers", bootstrap), ("topic", topic)]
    if fmt in ("avro", "protobuf"):
        pairs.append(("schema_registry.endpoint", registry_url))
    if fmt == "protobuf":
        pairs.append(("protobuf.message", PROTO_MESSAGE))
    return pairs


def build_sink(fmt: str, bootstrap: str, registry_url: str) -> KafkaSink:
    options = validate_connection_options(
        sink_options(fmt, bootstrap, topic_for(fmt), registry_url), secret_exists=lambda _name: False
    )
    return KafkaSink(f"bench_{fmt}", options, {}, ProducerMetrics())


# --- independent decoding of stored records ------------------------------------------------------------
def confluent_id(value: bytes) -> int:
    if len(value) < 5 or value[0] != 0:
        raise BenchError(f"not a Confluent-framed message: {value[:8]!r}")
    return int(struct.unpack(">I", value[1:5])[0])


def decoders(registry: SchemaRegistryServer, work: Path) -> dict[str, Callable[[bytes], dict[str, Any]]]:
    """format -> a function turning a record value into {column: value}, without formats/."""
    event = protoc_message_class(work, EVENT_PROTO, PROTO_MESSAGE)

    def json_row(value: bytes) -> dict[str, Any]:
        found: dict[str, Any] = orjson.loads(value)
        found["created_at"] = dt.datetime.fromisoformat(found["created_at"])
        return found

    def avro_row(value: bytes) -> dict[str, Any]:
        stored = registry.schemas[confluent_id(value)]
        schema = fastavro.parse_schema(json.loads(stored.schema))
        body = io.BytesIO(value[5:])
        found = fastavro.schemaless_reader(body, schema, None)
        if body.tell() != len(value) - 5 or not isinstance(found, dict):
            raise BenchError("the Avro record is not one record of its schema")
        return found

    def protobuf_row(value: bytes) -> dict[str, Any]:
        confluent_id(value)
        if value[5] != 0:
            raise BenchError(f"message indexes {value[5]} where [0] (one 0 byte) was expected")
        message = event.FromString(value[6:])
        return {
            "id": message.id,
            "user_id": message.user_id,
            "event_type": message.event_type,
            "created_at": message.created_at.ToDatetime(tzinfo=dt.UTC),
            "amount": message.amount,
            "ok": message.ok,
        }

    return {"json": json_row, "avro": avro_row, "protobuf": protobuf_row}


async def end_offset_and_first_values(bootstrap: str, topic: str) -> tuple[int, list[bytes | None]]:
    """The partition's high watermark from a Fetch response, and the values of its first batch."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await client.bootstrap()
    try:
        await client._wait_on_metadata(topic)
        leader = client.cluster.leader_for_partition(TopicPartition(topic, 0))
        # Tansu answers max_wait 0 / min_bytes 0 with no topics at all: wait up to 200 ms for 1 byte.
        fetch = [(topic, [(0, 0, FETCH_MAX_BYTES)])]
        response = await client.send(leader, FetchRequest(200, 1, FETCH_MAX_BYTES, 0, fetch))
        if not response.topics:
            return 0, []
        (_, partitions), *_ = response.topics
        _, error_code, high_watermark, *rest = partitions[0]
        if error_code != 0:
            raise BenchError(f"fetching {topic}[0] failed with Kafka error code {error_code}")
        batch = MemoryRecords(bytes(rest[-1] or b"")).next_batch()
        return int(high_watermark), [] if batch is None else [record.value for record in batch]
    finally:
        await client.close()


# --- measuring -----------------------------------------------------------------------------------------
async def write_pass(sink: KafkaSink, rows: Sequence[Row], batch: int) -> float:
    """Seconds to write every chunk in turn, each acknowledged before the next."""
    started = time.perf_counter()
    for chunk in chunks(rows, batch):
        result = await sink.write(COLUMNS, chunk)
        if result.written != len(chunk):
            raise BenchError(f"{sink.connection} wrote {result.written} of {len(chunk)} rows")
    return time.perf_counter() - started


async def encode_pass(sink: KafkaSink, rows: Sequence[Row], batch: int) -> float:
    """Seconds to turn every chunk into records (KafkaSink.encode), sending nothing."""
    started = time.perf_counter()
    for chunk in chunks(rows, batch):
        encoded = await sink.encode(COLUMNS, chunk)
        if encoded.written != len(chunk) or encoded.rejected:
            raise BenchError(f"{sink.connection} encoded {encoded.written} of {len(chunk)} rows")
    return time.perf_counter() - started


async def mean_value_bytes(sink: KafkaSink, rows: Sequence[Row]) -> float:
    """The mean size of the record values the sink makes of the rows (not timed)."""
    encoded = await sink.encode(COLUMNS, rows)
    sizes = [len(record.value or b"") for records in encoded.batches.values() for record in records]
    return sum(sizes) / len(sizes)


async def measure(
    bootstrap: str, registry: SchemaRegistryServer, rows: Sequence[Row], args: argparse.Namespace
) -> dict[str, tuple[tuple[float, ...], tuple[float, ...], float]]:
    """All three sinks on one event loop: started and warmed up with one chunk each, then ``repeat``
    passes of writes and of encodes, alternating between the formats."""
    sinks: dict[str, KafkaSink] = {}
    try:
        for fmt in FORMATS:
            await create_topic(bootstrap, topic_for(fmt), 1)
            sinks[fmt] = build_sink(fmt, bootstrap, registry.url)
            await sinks[fmt].start()
            await sinks[fmt].write(COLUMNS, rows[: args.batch])  # warm-up: schemas registered here
        asked = registry.request_count()
        writes: dict[str, list[float]] = {fmt: [] for fmt in FORMATS}
        encodes: dict[str, list[float]] = {fmt: [] for fmt in FORMATS}
        for number in range(1, args.repeat + 1):
            for fmt, sink in sinks.items():
                print(f"measuring: {fmt}, pass {number}/{args.repeat}", flush=True)
                writes[fmt].append(await write_pass(sink, rows, args.batch))
                encodes[fmt].append(await encode_pass(sink, rows, args.batch))
        if registry.request_count() != asked:
            raise BenchError(
                f"the registry was asked {registry.request_count() - asked} times while measuring"
            )
        return {
            fmt: (tuple(writes[fmt]), tuple(encodes[fmt]), await mean_value_bytes(sink, rows))
            for fmt, sink in sinks.items()
        }
    finally:
        for sink in sinks.values():
            await sink.close()


def check_first_rows(
    fmt: str, decode: Callable[[bytes], dict[str, Any]], values: list[bytes | None], rows: Sequence[Row]
) -> None:
    """The topic's first batch (of the warm-up write) decodes to the first rows, in order."""
    if not values:
        raise BenchError(f"{fmt}: the topic's first batch is empty")
    for number, (value, row) in enumerate(zip(values, rows, strict=False)):
        expected = dict(zip(NAMES, row, strict=True))
        found = None if value is None else decode(value)
        if found != expected:
            raise BenchError(f"{fmt}: record {number} decodes to {found}, not row {number} {expected}")


def benchmark(args: argparse.Namespace, root: Path) -> list[Measurement]:
    """Start broker and registry, measure the three formats, then check what each topic holds."""
    rows = make_rows(args.rows)
    with running_kafka_broker(root / "kafka") as broker, running_schema_registry() as registry:
        bootstrap = broker.bootstrap_servers
        print(f"broker: tansu on {bootstrap}; schema registry fixture on {registry.url}", flush=True)
        registry.register(f"{topic_for('protobuf')}-value", EVENT_PROTO, "PROTOBUF")
        passes = run_async(measure(bootstrap, registry, rows, args))
        decode = decoders(registry, root)
        measurements = []
        for fmt in FORMATS:
            writes, encodes, size = passes[fmt]
            end, first = run_async(end_offset_and_first_values(bootstrap, topic_for(fmt)))
            expected = min(args.batch, len(rows)) + len(rows) * len(writes)
            if end != expected:
                raise BenchError(
                    f"{fmt}: {topic_for(fmt)} holds {end} records, expected {expected} (warm-up "
                    f"{min(args.batch, len(rows))} + {len(writes)} x {len(rows)})"
                )
            check_first_rows(fmt, decode[fmt], first, rows)
            measurements.append(Measurement(fmt, topic_for(fmt), len(rows), writes, encodes, end, size))
        return measurements


# --- report --------------------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    """What the figures were measured on."""
    return {
        **machine_facts(),
        "aiokafka": aiokafka.__version__,
        "fastavro": fastavro.__version__,
        "loop": event_loop_name(),
    }


def print_report(info: dict[str, str], args: argparse.Namespace, measurements: list[Measurement]) -> None:
    print(
        f"\nmachine: nproc={info['nproc']}, cpu={info['cpu']}, python={info['python']}, "
        f"aiokafka {info['aiokafka']}, fastavro {info['fastavro']}, event loop {info['loop']}"
    )
    settings = ProducerSettings.from_options(
        validate_connection_options(
            sink_options("json", "127.0.0.1:9092", "t", ""), secret_exists=lambda _name: False
        ),
        {},
    )
    sizes = ", ".join(f"{m.format} {m.value_bytes:.1f}" for m in measurements)
    print(
        f"workload: {args.rows} rows of 6 columns (bigint, bigint, text, timestamptz, float8, bool) from "
        f"DuckDB; mean value bytes: {sizes}"
    )
    print(
        f"          KafkaSink.write of {args.batch} rows per call (each acknowledged before the next), "
        f"1 partition per format, acks={settings.acks}, idempotence={settings.idempotent}, batch.size "
        f"{settings.batch_bytes} bytes; {args.repeat} alternating passes, best reported; one warm-up "
        "write per format"
    )
    print(
        "          every topic's end offset matched the rows written; its first stored batch decoded "
        "independently to the first rows; no registry request while measuring"
    )
    header = (
        f"{'format':<10}{'write s':>9}{'rows/s':>11}{'median':>11}{'vs json':>9}"
        f"{'encode rows/s':>15}{'vs json':>9}"
    )
    print(header)
    print("-" * len(header))
    json_m = next(m for m in measurements if m.format == "json")
    for m in measurements:
        print(
            f"{m.format:<10}{min(m.write_passes):>9.3f}{m.rows_per_s:>11.0f}{m.median_rows_per_s:>11.0f}"
            f"{m.rows_per_s / json_m.rows_per_s:>9.3f}{m.encode_rows_per_s:>15.0f}"
            f"{m.encode_rows_per_s / json_m.encode_rows_per_s:>9.3f}"
        )
    print()
    for m in measurements:
        if m.format != "json":
            print(
                f"{m.format}/json: write {m.rows_per_s / json_m.rows_per_s:.3f}, "
                f"encode {m.encode_rows_per_s / json_m.encode_rows_per_s:.3f}, "
                f"value size {m.value_bytes / json_m.value_bytes:.3f}"
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000, help="measured rows per format and pass")
    parser.add_argument("--batch", type=int, default=1000, help="rows per KafkaSink.write call")
    parser.add_argument("--repeat", type=int, default=3, help="measured passes per format")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if min(args.rows, args.batch, args.repeat) < 1:
        parser.error("--rows, --batch and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (whatever the figures), 1 when something failed to run."""
    args = parse_args(argv)
    os.chdir(REPO_ROOT)
    info = machine()
    root = Path(tempfile.mkdtemp(prefix="laminar-bench-formats-"))
    try:
        measurements = benchmark(args, root)
    except (
        BenchError,
        KafkaError,
        RuntimeError,
        TimeoutError,
        OSError,
        subprocess.CalledProcessError,
    ) as exc:
        print(f"benchmark failed to run: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; broker and registry stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_report(info, args, measurements)
    if args.json is not None:
        settings = {"rows": args.rows, "batch": args.batch, "repeat": args.repeat}
        json_m = next(m for m in measurements if m.format == "json")
        results = [
            {
                **asdict(m),
                "rows_per_s": m.rows_per_s,
                "median_rows_per_s": m.median_rows_per_s,
                "encode_rows_per_s": m.encode_rows_per_s,
                "write_vs_json": m.rows_per_s / json_m.rows_per_s,
                "encode_vs_json": m.encode_rows_per_s / json_m.encode_rows_per_s,
            }
            for m in measurements
        ]
        payload = {"machine": info, "settings": settings, "results": results}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
