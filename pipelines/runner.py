"""One running pipeline: consume, transform, write, commit, and retry what can pass.

:class:`PipelineRunner` is the body of the pipeline's asyncio task. One *attempt* plans the pipeline
from its catalog SQL (so an altered connection takes effect on the next attempt), starts the sinks,
assigns the task's partitions of the source topic (all of them, unless the pipeline's
``parallelism`` splits them between tasks: :class:`pipelines.options.TaskSlot`) to one consumer (no
group membership; the group only stores offsets) and places each partition at the group's committed
offset, or at the source's ``start_offset`` where none is committed. Then it loops over micro-
batches of at most ``batch_rows`` records or ``batch_ms`` of waiting: decode (undecodable records
follow the source's ``error_policy``), run the SELECTs on DuckDB (:mod:`pipelines.transform`), write
each output to its sink and wait for the acknowledgements. Nothing is fetched while a write is
pending, so a slow sink holds the source back (back-pressure) and memory stays bounded by one micro-
batch plus the consumer's fetch buffer.

Delivery:

* **at-least-once** (default): offsets are committed to the consumer group every
  ``commit_interval_ms``, and only for records whose output the sinks acknowledged. A crash
  replays at most the records since the last commit.
* **exactly-once** (a target sink with ``'transactional.id'``): each commit interval is one Kafka
  transaction of that sink holding the output records and the source offsets
  (``send_offsets_to_transaction``). The sink's producer is started before the offsets are read:
  its InitProducerId fences a previous owner and settles (aborts) a transaction it left open, so
  the committed offsets read next are exactly those of the committed output. A transaction ends
  before half of ``'transaction.timeout.ms'`` has passed, however long the interval.

Failures: an error that could pass (``retriable``: brokers unreachable, a timeout) ends the attempt
(the open transaction is aborted) and the next attempt starts from the committed offsets after an
exponential back-off; ``max_retries`` failed attempts in a row, or any error that cannot pass
(e.g. a record that does not decode under ``error_policy = 'fail'``), leave the pipeline
``failed`` with its error in ``system.pipelines``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Final

import orjson
import pyarrow as pa
from aiokafka import TopicPartition
from aiokafka import errors as kafka_errors

from catalog.model import PipelineRecord
from catalog.service import Catalog
from gateway import errors, logs, source_tables
from gateway.query.results import Row
from gateway.sql import statements as st
from gateway.sql.dialect import parse
from pipelines import checkpoints
from pipelines.checkpoints import Checkpoint
from pipelines.options import MAX_BACKOFF_MS, TaskSlot, pipeline_settings
from pipelines.planner import PipelinePlan, pipeline_engine, plan_pipeline
from pipelines.transform import MicroBatchTransform
from pipelines.windows import Watermark, WindowState
from sinks.kafka_sink import EncodedRows, KafkaSink, SinkColumn
from sinks.metrics import LatencyHistogram
from sinks.producer import Record
from sinks.registry import SinkRegistry
from sources.arrow_json import ArrowJsonDecoder
from sources.fetch import BatchFetcher, Fetched, SourceRecord
from sources.kafka_source import DeadLetter, KafkaSourceReader, NoCommittedOffset, SourceBatch

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 30.0
WRITES_AHEAD = 4  # encoded micro-batches waiting for the writer, beyond the ones it sends


THROUGHPUT_WINDOW_S: Final = 10.0


@dataclasses.dataclass(slots=True)
class Throughput:
    """Rows out per second over the last :data:`THROUGHPUT_WINDOW_S`, from samples at each commit."""

    samples: collections.deque[tuple[float, int]] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=256)
    )

    def sample(self, rows_out: int, now: float | None = None) -> None:
        self.samples.append((time.monotonic() if now is None else now, rows_out))

    def per_second(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        recent = [(t, rows) for t, rows in self.samples if now - t <= THROUGHPUT_WINDOW_S]
        if len(recent) < 2:
            return 0.0
        (first_t, first_rows), (_, last_rows) = recent[0], recent[-1]
        # over the window up to now, so a pipeline that stopped writing drifts towards zero
        return (last_rows - first_rows) / max(now - first_t, 1e-3)


# A merged status shows the first of these its tasks are in (one failed task fails the pipeline).
STATE_PRECEDENCE: Final = ("failed", "retrying", "starting", "running", "paused", "stopped")


@dataclasses.dataclass(slots=True)
class PipelineStatus:
    """What ``system.pipelines`` shows about a pipeline while this process runs it."""

    state: str = "starting"  # starting, running, retrying, paused, failed, stopped
    error: str | None = None
    rows_in: int = 0  # source records read (decoded or not)
    rows_out: int = 0  # records the sinks acknowledged
    rows_dropped: int = 0  # records an error policy skipped (source or sink)
    rows_dead_lettered: int = 0  # records an error policy sent to a dead-letter queue
    rows_late: int = 0  # windowed pipelines: rows for windows the watermark had passed (dropped)
    lag: int | None = None  # records in the source not yet read, over all partitions
    last_commit: dt.datetime | None = None
    attempts: int = 0  # attempts started (the first one included)
    delivery: str = "at-least-once"
    commit_latency: LatencyHistogram = dataclasses.field(default_factory=LatencyHistogram)
    throughput: Throughput = dataclasses.field(default_factory=Throughput)
    partitions: list[int] = dataclasses.field(default_factory=list)  # the source partitions it reads
    summed_rate: float | None = None  # a merged status: its tasks' rows per second, summed

    @classmethod
    def merged(cls, statuses: Sequence[PipelineStatus]) -> PipelineStatus:
        """One status for the tasks of a pipeline: counters summed, the most telling state."""
        if len(statuses) == 1:
            return statuses[0]
        merged = cls(delivery=statuses[0].delivery)
        merged.state = min((s.state for s in statuses), key=STATE_PRECEDENCE.index)
        merged.error = next((s.error for s in statuses if s.error is not None), None)
        for status in statuses:
            for counter in (
                "rows_in",
                "rows_out",
                "rows_dropped",
                "rows_dead_lettered",
                "rows_late",
                "attempts",
            ):
                setattr(merged, counter, getattr(merged, counter) + getattr(status, counter))
            merged.commit_latency.add(status.commit_latency)
            merged.partitions.extend(status.partitions)
        lags = [s.lag for s in statuses if s.lag is not None]
        merged.lag = sum(lags) if lags else None
        commits = [s.last_commit for s in statuses if s.last_commit is not None]
        merged.last_commit = max(commits) if commits else None
        merged.partitions.sort()
        merged.summed_rate = sum(s.rows_per_second() for s in statuses)
        return merged

    def rows_per_second(self) -> float:
        return self.throughput.per_second() if self.summed_rate is None else self.summed_rate

    def to_json(self) -> str:
        """What other nodes show of this task (published with its lease; see the supervisor)."""
        return orjson.dumps(
            {
                **{name: getattr(self, name) for name in _PUBLISHED},
                "last_commit": None if self.last_commit is None else self.last_commit.isoformat(),
                "rows_per_second": self.rows_per_second(),
            }
        ).decode()

    @classmethod
    def from_json(cls, text: str) -> PipelineStatus:
        data = orjson.loads(text)
        status = cls(**{name: data[name] for name in _PUBLISHED if name in data})
        commit = data.get("last_commit")
        status.last_commit = None if commit is None else dt.datetime.fromisoformat(commit)
        status.summed_rate = float(data.get("rows_per_second") or 0.0)
        return status


# The fields of a status another node publishes (the rest are this node's bookkeeping).
_PUBLISHED: Final = (
    "state", "error", "rows_in", "rows_out", "rows_dropped", "rows_dead_lettered", "rows_late", "lag",
    "attempts", "delivery", "partitions",
)  # fmt: skip


def parse_create(record: PipelineRecord) -> st.CreatePipelineStatement:
    """The CREATE PIPELINE statement a catalog record holds."""
    (tree,) = parse(record.sql)
    statement = st.classify(tree)
    if not isinstance(statement, st.CreatePipelineStatement):
        raise errors.DataCorrupted(f'the catalog entry of pipeline "{record.name}" is not a CREATE PIPELINE')
    return statement


def is_retriable(exc: BaseException) -> bool:
    """Could the same work succeed later (brokers back, a timeout not repeated)?"""
    if isinstance(exc, errors.LaminarError):
        return exc.retriable or exc.sqlstate.startswith("08") or exc.sqlstate == "57014"
    if isinstance(exc, kafka_errors.KafkaError):
        return bool(getattr(exc, "retriable", False)) or isinstance(exc, kafka_errors.KafkaConnectionError)
    return isinstance(exc, OSError | TimeoutError)


def describe(exc: BaseException) -> str:
    if isinstance(exc, errors.LaminarError):
        text = f"{exc.sqlstate}: {exc.message}"
        return f"{text} ({exc.detail})" if exc.detail else text
    return f"{type(exc).__name__}: {exc}"


def merge_encoded(
    writes: Iterable[Sequence[tuple[KafkaSink, EncodedRows]]],
) -> list[tuple[KafkaSink, EncodedRows]]:
    """Consecutive micro-batches' encoded rows as one per sink, each partition's records in order."""
    merged: dict[int, tuple[KafkaSink, EncodedRows]] = {}
    for encoded_by_sink in writes:
        for sink, encoded in encoded_by_sink:
            if id(sink) not in merged:
                merged[id(sink)] = (sink, encoded)
                continue
            first = merged[id(sink)][1]
            batches = {target: list(records) for target, records in first.batches.items()}
            for target, records in encoded.batches.items():
                batches.setdefault(target, []).extend(records)
            merged[id(sink)] = (
                sink,
                EncodedRows(
                    first.columns, batches, first.written + encoded.written, first.rejected + encoded.rejected
                ),
            )
    return list(merged.values())


def dead_letter_record(letter: DeadLetter, pipeline: str) -> Record:
    """A record that did not decode, as it was read, with headers saying where from and why."""
    headers = [
        *((name, value or b"") for name, value in letter.headers),
        ("laminar.error", letter.error.encode()),
        ("laminar.sqlstate", letter.sqlstate.encode()),
        ("laminar.pipeline", pipeline.encode()),
        ("laminar.source.topic", letter.topic.encode()),
        ("laminar.source.partition", str(letter.partition).encode()),
        ("laminar.source.offset", str(letter.offset).encode()),
    ]
    return Record(letter.key, letter.value, tuple(headers), letter.timestamp_ms or int(time.time() * 1000))


class PipelineRunner:
    """Runs one pipeline until :meth:`stop` (graceful) or cancellation."""

    def __init__(
        self, record: PipelineRecord, catalog: Catalog, sinks: SinkRegistry, task: TaskSlot | None = None
    ) -> None:
        self.record = record
        self.task = task if task is not None else TaskSlot(record.name)
        self.catalog = catalog
        self.sinks = sinks
        self.status = PipelineStatus()
        self._stopping = asyncio.Event()
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def stop(self) -> None:
        """Finish the micro-batch at hand, commit what was acknowledged, and end."""
        self._stopping.set()

    # -- the task ----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Attempts until stopped, failed for good, or cancelled."""
        logs.PIPELINE.set(self.task.key)  # this task's log lines name the pipeline (and the task)
        statement = parse_create(self.record)
        settings = pipeline_settings(self.record.name, self.record.options)
        failures = 0
        while not self._stopping.is_set():
            self.status.attempts += 1
            attempt: _Attempt | None = None
            engine = pipeline_engine()
            try:
                plan = await plan_pipeline(self.catalog, statement, engine, options=self.record.options)
                transform = MicroBatchTransform(plan, engine)
                await transform.start()
                attempt = _Attempt(self, plan, transform)
                await attempt.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self.started.done():
                    self.started.set_exception(exc)
                    self.started.exception()  # retrieved: CREATE PIPELINE reports it
                self.status.error = describe(exc)
                failures = 1 if attempt is not None and attempt.progressed else failures + 1
                if not is_retriable(exc) or failures > settings.max_retries:
                    self.status.state = "failed"
                    # An error outside the error hierarchy is a bug: its traceback goes to the log.
                    traceback = (
                        None if isinstance(exc, errors.LaminarError | kafka_errors.KafkaError) else exc
                    )
                    log.warning(
                        "pipeline %s failed: %s", self.task.key, self.status.error, exc_info=traceback
                    )
                    return
                self.status.state = "retrying"
                delay = min(settings.retry_backoff_ms * 2 ** (failures - 1), MAX_BACKOFF_MS) / 1000
                log.info(
                    "pipeline %s: retry %d in %.1f s: %s",
                    self.task.key,
                    failures,
                    delay,
                    self.status.error,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
            finally:
                engine.close()
        self.status.state = "stopped"


@dataclasses.dataclass(frozen=True, slots=True)
class _Failure:
    """A record that stops the pipeline: the error, and the records of its micro-batch before it."""

    error: errors.DataException
    before: Sequence[SourceRecord]  # the records of the micro-batch before it


@dataclasses.dataclass(frozen=True, slots=True)
class _Write:
    """A micro-batch handed to the writer: its encoded rows per sink, whether they join the open
    transaction, and the positions that count as delivered once they are acknowledged."""

    encoded: list[tuple[KafkaSink, EncodedRows]]
    in_transaction: bool
    positions: dict[TopicPartition, int]


@dataclasses.dataclass(frozen=True, slots=True)
class _Prepared:
    """A transformed micro-batch: the rows of each output, and the record that failed it, if any."""

    outputs: list[list[Row]]
    failure: _Failure | None


class _Attempt:
    """One attempt of a pipeline, from connecting to the end of its loop."""

    def __init__(self, runner: PipelineRunner, plan: PipelinePlan, transform: MicroBatchTransform) -> None:
        self.runner = runner
        self.plan = plan
        self.transform = transform
        self.status = runner.status
        self.settings = plan.settings
        self.consumer: Any = None  # keeps the group's offsets; records come from the fetcher
        self.fetcher: BatchFetcher | None = None
        self.reader: KafkaSourceReader | None = None
        self.bulk: ArrowJsonDecoder | None = None
        self.window: WindowState | None = None  # windowed pipelines: the open windows
        self.partitions: list[int] = []
        self._checkpointed: Checkpoint | None = None
        self.sinks: list[KafkaSink] = []
        self.transactional: KafkaSink | None = None
        self.dead_letters: KafkaSink | None = None
        self.positions: dict[TopicPartition, int] = {}  # next offset to read, per partition
        self.committed: dict[TopicPartition, int] = {}
        # start_offset 'latest' without a committed offset: ListOffsets(latest) may be short of the
        # log end (Tansu, DESIGN.md §2), so records below the first high watermark seen are dropped.
        self.latest_floor: dict[TopicPartition, int | None] = {}
        self.in_transaction = False
        self.progressed = False
        # Encoded micro-batches waiting for the writer task (a bounded accumulator, aiokafka-style):
        # the loop prepares the next batches while the writer sends, and a crashed writer fails
        # the loop's next hand-over instead of leaving it waiting.
        self._writes: asyncio.Queue[_Write] = asyncio.Queue(maxsize=WRITES_AHEAD)
        self._writer: asyncio.Task[None] | None = None

    async def run(self) -> None:
        try:
            await self._connect()
            if not self.runner.started.done():
                self.runner.started.set_result(None)
            self.status.state = "running"
            self.status.error = None
            await self._loop()
        except BaseException:
            await self._stop_writer()
            await self._abort()
            raise
        finally:
            await self._stop_writer()
            if self.fetcher is not None:
                with contextlib.suppress(Exception):
                    await self.fetcher.stop()
            if self.consumer is not None:
                with contextlib.suppress(Exception):
                    await self.consumer.stop()

    # -- set-up ------------------------------------------------------------------------------------
    async def _connect(self) -> None:
        plan = self.plan
        catalog = self.runner.catalog
        self.reader = reader = await source_tables.reader_for(catalog, plan.source)
        assert self.transform.schema is not None
        schema = self.transform.schema
        self.bulk = ArrowJsonDecoder.for_source(
            reader.payload,
            reader.format,
            fail_on_missing=reader.fail_on_missing,
            schema=schema,
            metadata_used=self.plan.metadata_used,
        )
        for output in plan.outputs:
            task = self.runner.task
            sink = await self.runner.sinks.sink_for(
                output.sink, task=task.index, transactional_id=task.transactional_id
            )
            # Avro/Protobuf sinks: the output must fit the registered schema (so CREATE PIPELINE,
            # which waits for this first attempt, reports a misfit instead of the first write).
            await sink.check_output([SinkColumn(column.name, column.type_oid) for column in output.columns])
            await sink.start()  # exactly-once: fences a previous owner before offsets are read
            self.sinks.append(sink)
            if output.sink.name == plan.transactional_sink:
                self.transactional = sink
        self.status.delivery = "exactly-once" if self.transactional else "at-least-once"
        if plan.window is not None:
            await self._open_windows(reader)
        dlq = reader.error_policy == "dlq" and plan.source.options_dict.get("dlq_connection")
        if dlq:
            self.dead_letters = await self.runner.sinks.sink_for(await catalog.connection(dlq))
        self.consumer = reader.consumer(with_group=True, group_id=self.settings.group_id)
        try:
            await self.consumer.start()
            partitions = self.consumer.partitions_for_topic(reader.topic)
            if not partitions:
                await self.consumer.topics()
                partitions = self.consumer.partitions_for_topic(reader.topic)
        except kafka_errors.KafkaError as exc:
            raise errors.ConnectionFailure(
                f'pipeline "{plan.name}" could not connect to the Kafka brokers of source '
                f'"{plan.source.name}": {exc}'
            ) from exc
        if not partitions:
            raise errors.UndefinedObject(
                f'Kafka topic "{reader.topic}" of source "{plan.source.name}" does not exist',
                hint="Create the topic, or point the source at another one with ALTER CONNECTION.",
            )
        task = self.runner.task
        assigned = [TopicPartition(reader.topic, p) for p in sorted(partitions) if task.owns(p)]
        if not assigned:
            raise errors.ObjectNotInPrerequisiteState(
                f'pipeline "{plan.name}" has {task.count} tasks but topic "{reader.topic}" has '
                f"{len(partitions)} partitions: task {task.index} has none to read",
                hint="Lower the pipeline's parallelism to at most the number of partitions.",
            )
        self.partitions = self.status.partitions = [tp.partition for tp in assigned]
        self.consumer.assign(assigned)
        await self._place(assigned)

    async def _open_windows(self, reader: KafkaSourceReader) -> None:
        """The window state, continuing from the last committed checkpoint (its watermark)."""
        plan = self.plan
        assert plan.window is not None
        watermark = Watermark(reader.watermark_delay_ms * 1000, reader.idle_timeout_ms / 1000)
        self.window = WindowState(plan.window, self.transform.engine, plan.source.name, watermark)
        sink = self.sinks[0]
        await checkpoints.ensure_topic(sink.bootstrap_servers, sink.security())
        latest = await checkpoints.read_latest(
            sink.bootstrap_servers, sink.security(), self.settings.group_id
        )
        self.window.restore(latest)
        self._checkpointed = latest

    async def _place(self, assigned: Sequence[TopicPartition]) -> None:
        """Each partition at its committed offset, else where the source's start_offset says."""
        reader = self.reader
        assert reader is not None
        consumer = self.consumer
        missing = []
        for tp in assigned:
            offset = await consumer.committed(tp)
            if offset is not None and offset >= 0:
                self.positions[tp] = self.committed[tp] = int(offset)
            else:
                missing.append(tp)
        if missing and reader.start_offset == "committed":
            raise NoCommittedOffset(
                f'consumer group "{self.settings.group_id}" has no committed offset for partitions '
                f'{", ".join(str(tp.partition) for tp in missing)} of topic "{reader.topic}"',
                hint="Set start_offset = 'earliest' or 'latest' on the source to say where to begin.",
            )
        if missing:
            placed = (
                await consumer.beginning_offsets(missing)
                if reader.start_offset == "earliest"
                else await consumer.end_offsets(missing)
            )
            for tp in missing:
                self.positions[tp] = int(placed[tp])
                if reader.start_offset == "latest":
                    self.latest_floor[tp] = None
        # The consumer only keeps the group's offsets (committed, commit, log start/end): the
        # records come from the batch fetcher, so the consumer fetches nothing itself.
        consumer.pause(*assigned)
        self.fetcher = BatchFetcher(
            bootstrap_servers=reader.bootstrap_servers,
            client_id=f"laminar-pipeline-{self.plan.name}",
            topic=reader.topic,
            isolation_level=reader.isolation_level,
            max_wait_ms=self.settings.batch_ms,
            security=reader.security,
            on_out_of_range=self._log_start,
        )
        await self.fetcher.start()
        await self.fetcher.seek({tp.partition: offset for tp, offset in self.positions.items()})
        log.info(
            "pipeline %s reads %s from %s",
            self.runner.task.key,
            f'topic "{reader.topic}"',
            ", ".join(
                f"partition {tp.partition} at {offset}" for tp, offset in sorted(self.positions.items())
            ),
        )

    async def _log_start(self, partition: int) -> int:
        """Where a partition whose position fell off the log start goes on: the log start."""
        assert self.reader is not None
        tp = TopicPartition(self.reader.topic, partition)
        start = int((await self.consumer.beginning_offsets([tp]))[tp])
        log.warning(
            "pipeline %s: partition %d goes on at the log start, %d", self.plan.name, partition, start
        )
        return start

    # -- the loop ----------------------------------------------------------------------------------
    def _commit_every_s(self) -> float:
        interval = self.settings.commit_interval_ms / 1000
        if self.transactional is not None:
            timeout_ms = self.transactional.options.integer("transaction.timeout.ms")
            interval = min(interval, timeout_ms / 2000)
        return interval

    async def _loop(self) -> None:
        """Micro-batches until stopped. Up to :data:`WRITES_AHEAD` encoded batches wait for the
        writer while the next is read, decoded (DuckDB in a worker thread) and encoded; positions
        advance, and commits happen, only for batches whose writes were acknowledged."""
        assert self.fetcher is not None
        topic = self.fetcher.topic
        self._writer = asyncio.create_task(self._write_loop(), name=f"pipeline {self.plan.name} writer")
        stopping = self.runner._stopping
        commit_every = self._commit_every_s()
        last_commit = time.monotonic()
        transaction_started = 0.0
        while not stopping.is_set():
            fetched = await self.fetcher.fetch(self.settings.batch_rows)
            if self.latest_floor:
                self._drop_records_before_start(fetched)
            records = len(fetched)
            # Control records and aborted batches move positions too, with or without records.
            reached = {TopicPartition(topic, chunk.partition): chunk.next_offset for chunk in fetched}
            if records:
                if self.transactional is not None and not self.in_transaction:
                    await self.transactional.begin_transaction()
                    self.in_transaction = True
                    transaction_started = time.monotonic()
                prepared = await self._prepare(fetched)
                encoded = await self._encode(prepared.outputs)
                if prepared.failure is not None:
                    # error_policy 'fail': what came before the bad record is delivered and
                    # committed, so the pipeline stops exactly at it.
                    before = {
                        TopicPartition(topic, r.partition): r.offset + 1 for r in prepared.failure.before
                    }
                    await self._hand_over(_Write(encoded, self.in_transaction, before))
                    await self._drain()
                    await self._commit()
                    raise prepared.failure.error
                await self._hand_over(_Write(encoded, self.in_transaction, reached))
            elif self.window is not None and await self._windows_closed_by_time():
                if self.transactional is not None and not self.in_transaction:
                    await self.transactional.begin_transaction()
                    self.in_transaction = True
                    transaction_started = time.monotonic()
                emitted = await self.window.emit()
                await self._hand_over(_Write(await self._encode([emitted]), self.in_transaction, reached))
            elif reached:
                await self._hand_over(_Write([], self.in_transaction, reached))
            self._update_lag()
            now = time.monotonic()
            due = now - (transaction_started if self.in_transaction else last_commit) >= commit_every
            if due or (self.in_transaction and not records):
                await self._drain()
                await self._commit()
                last_commit = time.monotonic()
        await self._drain()
        await self._commit()

    # -- the writer --------------------------------------------------------------------------------
    async def _encode(self, outputs: Sequence[Sequence[Row]]) -> list[tuple[KafkaSink, EncodedRows]]:
        encoded = []
        for output, sink, produced in zip(self.plan.outputs, self.sinks, outputs, strict=False):
            if produced:
                columns = [SinkColumn(column.name, column.type_oid) for column in output.columns]
                encoded.append((sink, await sink.encode(columns, produced)))
        return encoded

    async def _write_loop(self) -> None:
        """The writer task: sends the handed-over micro-batches in order and waits for the acks;
        then their positions count as delivered. Micro-batches that queued up while it was
        sending go out as one send: a sink's send ends with every batch acknowledged, so fewer,
        larger sends leave the producer idle less often."""
        status = self.status
        while True:
            writes = [await self._writes.get()]
            while not self._writes.empty():
                writes.append(self._writes.get_nowait())
            in_transaction = writes[0].in_transaction
            assert all(w.in_transaction == in_transaction for w in writes), "a commit drains first"
            for sink, encoded in merge_encoded(w.encoded for w in writes):
                joined = in_transaction and sink is self.transactional
                result = await sink.send(encoded, in_transaction=joined)
                status.rows_out += result.written
                status.rows_dropped += result.skipped
                status.rows_dead_lettered += result.dead_lettered
            for write in writes:
                for tp, offset in write.positions.items():
                    self.positions[tp] = max(self.positions.get(tp, offset), offset)
                self._writes.task_done()

    async def _until_writer(self, waiting: Awaitable[Any]) -> None:
        """Await ``waiting`` unless the writer ends first: then raise what ended it."""
        writer = self._writer
        assert writer is not None
        if writer.done():
            if inspect.iscoroutine(waiting):
                waiting.close()
            writer.result()
            raise errors.InternalError(f"the writer of pipeline {self.plan.name} ended")
        task = asyncio.ensure_future(waiting)
        done, _ = await asyncio.wait({task, writer}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        writer.result()  # raises the writer's error
        raise errors.InternalError(f"the writer of pipeline {self.plan.name} ended")

    async def _hand_over(self, write: _Write) -> None:
        await self._until_writer(self._writes.put(write))

    async def _drain(self) -> None:
        """Wait until every handed-over micro-batch is acknowledged."""
        await self._until_writer(self._writes.join())

    async def _stop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None and not writer.done():
            writer.cancel()
            with contextlib.suppress(BaseException):
                await writer

    def _drop_records_before_start(self, fetched: Fetched) -> None:
        assert self.fetcher is not None
        for tp, known in list(self.latest_floor.items()):
            floor = known
            if floor is None:
                highwater = self.fetcher.highwater.get(tp.partition)
                if highwater is None:
                    continue
                floor = self.latest_floor[tp] = highwater
            reached = self.positions[tp]
            for chunk in fetched:
                if chunk.partition == tp.partition and chunk.records:
                    reached = max(reached, chunk.records[-1].offset + 1)
                    chunk.records = [record for record in chunk.records if record.offset >= floor]
            if reached >= floor:
                del self.latest_floor[tp]

    async def _windows_closed_by_time(self) -> bool:
        """Without records, idle partitions can still move the watermark past window ends."""
        window = self.window
        assert window is not None
        before = window.watermark.value_us
        window.watermark.observe({}, self.partitions)
        return bool(window.watermark.value_us != before)

    async def _transform(self, decode: Callable[[], pa.Table | None]) -> list[list[Row]] | None:
        """The outputs of a batch: the SELECTs' rows, or for a windowed pipeline the windows the
        batch closed (its rows go into their windows); None when ``decode`` declines the batch."""
        window = self.window
        if window is None:
            return await self.transform.run_decoded(decode)
        added = await window.add(lambda work: self.transform.with_batch(decode, work), self.partitions)
        if added is None:
            return None
        late, untimed = added
        self.status.rows_late += late
        self.status.rows_dropped += untimed
        return [await window.emit()]

    async def _prepare(self, fetched: Fetched) -> _Prepared:
        """Decode and transform records: in bulk when the batch allows it (in the worker thread,
        with DuckDB), else record by record, where under error_policy 'fail' an undecodable
        record ends the batch (the rows before it are kept and the failure returned)."""
        bulk = self.bulk
        if bulk is not None:
            outputs = await self._transform(lambda: bulk.decode(fetched))
            if outputs is not None:
                self.status.rows_in += len(fetched)
                return _Prepared(outputs, None)
        reader = self.reader
        assert reader is not None
        status = self.status
        records = fetched.records()
        await reader.prepare(fetched.values())
        rejected = SourceBatch([], [], {})
        rows = []
        failure = None
        row_of = reader.row_of
        for index, record in enumerate(records):
            try:
                rows.append(row_of(record))
            except errors.DataException as exc:
                try:
                    reader.reject(record, exc, rejected)
                except errors.DataException as fatal:
                    failure = _Failure(fatal, records[:index])
                    break
        status.rows_in += len(records) if failure is None else len(failure.before) + 1  # the bad one was read
        status.rows_dropped += rejected.skipped
        if rejected.dead_letters:
            await self._dead_letter(rejected.dead_letters)
        if not rows:
            return _Prepared([], failure)
        table = self.transform.to_arrow(rows)
        outputs = await self._transform(lambda: table)
        assert outputs is not None, "a table of decoded rows is never declined"
        return _Prepared(outputs, failure)

    async def _dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        if self.dead_letters is None:
            self.status.rows_dropped += len(letters)
            return
        records = [dead_letter_record(letter, self.plan.name) for letter in letters]
        await self.dead_letters.write_records(records)
        self.status.rows_dead_lettered += len(letters)

    async def _commit(self) -> None:
        """Commit what was delivered: the positions (for a windowed pipeline, no further than
        the first row of an open window, with a checkpoint of the watermark; see
        :mod:`pipelines.checkpoints`), in the open transaction if there is one."""
        offsets = dict(self.positions)
        checkpoint = None
        if self.window is not None:
            low = await self.window.low_offsets()
            for tp, position in offsets.items():
                offsets[tp] = min(position, low.get(tp.partition, position))
            checkpoint = self.window.checkpoint(
                {tp.partition: offset for tp, offset in self.positions.items()}
            )
            if checkpoint == self._checkpointed:
                checkpoint = None
        changed = {tp: offset for tp, offset in offsets.items() if self.committed.get(tp) != offset}
        started = time.monotonic()
        if self.in_transaction:
            assert self.transactional is not None
            self.in_transaction = False
            if checkpoint is not None:
                await self._write_checkpoint(self.transactional, checkpoint, in_transaction=True)
            await self.transactional.commit_transaction(changed, self.settings.group_id)
        elif changed or checkpoint is not None:
            if checkpoint is not None:
                await self._write_checkpoint(self.sinks[0], checkpoint, in_transaction=False)
            if changed:
                await self.consumer.commit(changed)
        else:
            return
        if checkpoint is not None:
            self._checkpointed = checkpoint
        self.committed.update(changed)
        self.progressed = True
        self.status.commit_latency.observe(time.monotonic() - started)
        self.status.last_commit = dt.datetime.now(dt.UTC)
        self.status.throughput.sample(self.status.rows_out)

    async def _write_checkpoint(
        self, sink: KafkaSink, checkpoint: Checkpoint, *, in_transaction: bool
    ) -> None:
        record = checkpoint.record(self.settings.group_id)  # windowed pipelines run as one task
        await sink.write_raw(checkpoints.CHECKPOINT_TOPIC, 0, [record], in_transaction=in_transaction)

    async def _abort(self) -> None:
        if self.in_transaction and self.transactional is not None:
            self.in_transaction = False
            with contextlib.suppress(Exception):
                await self.transactional.abort_transaction()

    def _update_lag(self) -> None:
        lag = 0
        assert self.fetcher is not None
        for tp, position in self.positions.items():
            end = self.fetcher.highwater.get(tp.partition)
            if end is None:
                return
            lag += max(int(end) - position, 0)
        self.status.lag = lag
