"""Bounded, non-committing reads of a Kafka source connection: peeks and bounded ``INSERT ... SELECT``.

:class:`KafkaSourceReader` reads every partition of the connection's topic from its start position up
to the end offset seen when the read began, decodes each record into a row (:mod:`sources.decode`)
and stops. It never commits offsets: the consumer assigns partitions itself (no group membership,
no rebalance), names a consumer group only when it must read the group's committed offsets, has
auto-commit off and never calls commit, so a peek leaves every consumer group as it was.

Columns of a source (:func:`source_columns`): the payload columns (the declared columns for
``json``; ``key`` and ``value`` for ``raw``), then the metadata columns :data:`METADATA_COLUMNS`:

* ``_kafka_key`` bytea (NULL for a record without a key), ``_kafka_partition`` integer,
  ``_kafka_offset`` bigint, ``_kafka_timestamp`` timestamptz (the record's timestamp, create or
  log-append time as the topic says; NULL when the record has none);
* ``_kafka_headers``: a MAP from header name to bytes (DuckDB ``MAP(VARCHAR, BLOB)``, a Python
  ``dict[str, bytes | None]``), the shape a sink's ``_kafka_headers`` column takes, so headers pass
  through ``INSERT INTO sink SELECT ..., _kafka_headers FROM source`` unchanged. When a record
  repeats a header name the last value wins (as in Flink's ``headers`` metadata column).
  PostgreSQL has no map type: the column is announced as text, as the gateway announces every
  DuckDB MAP; :func:`source_duckdb_types` gives the DuckDB types to build Arrow batches with.

Where a read starts, per partition (option ``start_offset``): ``earliest`` at the log start,
``latest`` at the end offset (so a bounded read returns nothing: only records produced after it
started would follow), ``committed`` at the consumer group's committed offset (``group_id``, default
``laminar-<connection>``), a partition without one being an error (55000), as the option says. With
``prefer_committed=True`` a committed offset wins in every mode and ``start_offset`` only places
partitions without one: the rule of continuous pipelines.

Where it ends: the end offset of each partition is taken from the first fetch's high watermark
(the last stable offset under ``read_committed``, so an open transaction does not hold the read
up), never from ListOffsets(latest), which the test broker answers wrongly (DESIGN.md §2). Records
at or past it, produced after the read started, are not returned. (The test broker does not hide
records of aborted transactions from read_committed consumers, DESIGN.md §2: on it they are read.)

Undecodable records follow ``error_policy``: ``fail`` raises the decoder's error (22P02, 22003,
22007, 22023, ...) naming topic, partition and offset; ``skip`` counts them in
:attr:`SourceBatch.skipped`; ``dlq`` returns them as :attr:`SourceBatch.dead_letters` (raw key,
value, headers, timestamp and the reason) for the caller to write to the ``dlq_connection`` sink,
which this module never touches. Both also list the reasons in :attr:`SourceBatch.errors` (the
first :data:`MAX_ERRORS_LISTED`).

Limits: the whole result is held in memory; ``timeout_s`` bounds the call (brokers unreachable in
time: 08006; a read not finished in time: 57014), and cancelling the calling task closes the
consumer before the CancelledError propagates.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka import errors as kafka_errors

from catalog.kafka_security import security_kwargs
from catalog.model import ColumnDef
from catalog.options import ValidatedOptions
from gateway.errors import (
    ConnectionFailure,
    DataException,
    DuplicateColumn,
    InsufficientPrivilege,
    LaminarError,
    QueryCanceled,
    UndefinedObject,
)
from gateway.progress import Progress
from gateway.protocol import types as pg
from sources.decode import PayloadColumn, RecordDecoder, make_decoder, payload_columns
from sources.schema_decoders import SCHEMA_FORMATS, SchemaDecoder

__all__ = [
    "HEADERS_DUCKDB_TYPE",
    "METADATA_COLUMNS",
    "DeadLetter",
    "KafkaSourceReader",
    "NoCommittedOffset",
    "SourceBatch",
    "source_columns",
    "source_duckdb_types",
]

HEADERS_DUCKDB_TYPE: Final = "MAP(VARCHAR, BLOB)"
METADATA_COLUMNS: Final[tuple[tuple[str, int], ...]] = (
    ("_kafka_key", pg.BYTEA),
    ("_kafka_partition", pg.INT4),
    ("_kafka_offset", pg.INT8),
    ("_kafka_timestamp", pg.TIMESTAMPTZ),
    ("_kafka_headers", pg.TEXT),  # a MAP(VARCHAR, BLOB): announced as text, see the module docstring
)
METADATA_NAMES: Final = tuple(name for name, _ in METADATA_COLUMNS)
METADATA_DUCKDB_TYPES: Final = ("BLOB", "INTEGER", "BIGINT", "TIMESTAMP WITH TIME ZONE", HEADERS_DUCKDB_TYPE)
MAX_ERRORS_LISTED: Final = 100
POLL_TIMEOUT_MS: Final = 100  # how long one getmany waits before the loop looks at its partitions again
FETCH_MAX_WAIT_MS: Final = 100  # how long the broker holds a fetch of a partition that has nothing new
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

EndOffsetsCallback = Callable[[Mapping[int, int]], Awaitable[None] | None]


class NoCommittedOffset(LaminarError):
    """start_offset 'committed' and the consumer group has no committed offset for a partition."""

    sqlstate = "55000"  # object_not_in_prerequisite_state


def _payload(declared: Sequence[ColumnDef], fmt: str) -> list[PayloadColumn]:
    columns = payload_columns(declared, fmt)
    metadata = {name for name, _ in METADATA_COLUMNS}
    for column in columns:
        if column.name in metadata:
            raise DuplicateColumn(
                f'column "{column.name}" of a Kafka source clashes with the metadata column of that name',
                hint="Rename the declared column; every source has the metadata columns "
                + ", ".join(name for name, _ in METADATA_COLUMNS)
                + ".",
            )
    return columns


def source_columns(declared: Sequence[ColumnDef], fmt: str) -> list[tuple[str, int]]:
    """(name, PostgreSQL OID) of every column of a source: payload columns, then metadata columns."""
    return [(column.name, column.oid) for column in _payload(declared, fmt)] + list(METADATA_COLUMNS)


def source_duckdb_types(declared: Sequence[ColumnDef], fmt: str) -> list[str]:
    """The DuckDB type of every column of :func:`source_columns`, in the same order."""
    return [column.duckdb_type for column in _payload(declared, fmt)] + list(METADATA_DUCKDB_TYPES)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An undecodable record under ``error_policy = 'dlq'``, as it was read, and why it failed."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    error: str
    sqlstate: str


@dataclass(slots=True)
class SourceBatch:
    """What a bounded read returns; ``rows`` are in partition, then offset order."""

    columns: list[tuple[str, int]]
    rows: list[tuple[object, ...]]
    end_offsets: dict[int, int]  # partition -> end offset fixed when the read began (exclusive)
    start_offsets: dict[int, int] = field(default_factory=dict)  # partition -> where the read began
    skipped: int = 0  # undecodable records dropped under error_policy 'skip'
    errors: list[str] = field(default_factory=list)  # reasons, "partition P, offset O: ..." (skip, dlq)
    dead_letters: list[DeadLetter] = field(default_factory=list)  # under error_policy 'dlq'


class KafkaSourceReader:
    """Reads one source connection; one instance serves any number of calls, also concurrent ones."""

    def __init__(
        self,
        connection: str,
        options: ValidatedOptions,
        resolved: Mapping[str, str],
        declared: Sequence[ColumnDef],
    ) -> None:
        """``options`` are the connection's validated options, ``resolved`` the plaintext of the
        options written as secret references (option name -> value), ``declared`` its columns."""
        if options.connection_type != "source":
            raise ValueError(f"connection {connection!r} is a {options.connection_type}, not a source")
        topic = options.string("topic")
        if topic is None:
            raise ValueError(f"source connection {connection!r} has no topic")
        self.connection = connection
        self.topic: str = topic
        self.format = options.string("format") or "json"
        payload = _payload(declared, self.format)
        self.payload: list[PayloadColumn] = payload
        self.fail_on_missing = self.format == "json" and options.boolean("json.fail_on_missing")
        self.columns: list[tuple[str, int]] = [(c.name, c.oid) for c in payload] + list(METADATA_COLUMNS)
        self.duckdb_types: list[str] = [c.duckdb_type for c in payload] + list(METADATA_DUCKDB_TYPES)
        self.decoder: RecordDecoder
        if self.format in SCHEMA_FORMATS:
            self.decoder = SchemaDecoder(options, resolved, [(c.name, c.type_sql) for c in declared])
        else:
            self.decoder = make_decoder(payload, self.format, fail_on_missing=self.fail_on_missing)
        self.bootstrap_servers: tuple[str, ...] = options.servers("bootstrap_servers")
        self.group_id: str = options.string("group_id") or f"laminar-{connection}"
        self.start_offset: str = options.string("start_offset") or "earliest"
        self.isolation_level: str = options.string("isolation_level") or "read_committed"
        self.error_policy: str = options.string("error_policy") or "fail"
        self.watermark_delay_ms: int = options.duration_ms("watermark_delay") or 0
        self.idle_timeout_ms: int = options.duration_ms("idle_timeout") or 30_000
        self.security = security_kwargs(options, resolved)

    def consumer(self, *, with_group: bool, group_id: str | None = None) -> Any:
        """An unstarted consumer of the topic that commits nothing by itself; ``with_group`` names
        ``group_id`` (default: the connection's) to read or commit that group's offsets."""
        return AIOKafkaConsumer(
            bootstrap_servers=list(self.bootstrap_servers),
            client_id=f"laminar-source-{self.connection}",
            # the group is only asked for its committed offsets; without them no group is named at all
            group_id=(group_id or self.group_id) if with_group else None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a committed offset that fell off the log start
            isolation_level=self.isolation_level,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            **self.security,
        )

    async def prepare(self, values: Iterable[bytes | None]) -> None:
        """Before decoding these values: fetch what an Avro/Protobuf source needs from the registry."""
        if isinstance(self.decoder, SchemaDecoder):
            await self.decoder.prepare(values)

    def row_of(self, record: Any) -> tuple[object, ...]:
        """The row of one consumed record: payload columns, then metadata columns. Raises the
        decoder's :class:`DataException` for a record that does not decode."""
        key: bytes | None = record.key
        timestamp = record.timestamp
        return (
            *self.decoder.decode(key, record.value),
            key,
            record.partition,
            record.offset,
            None if timestamp is None or timestamp < 0 else _EPOCH + dt.timedelta(milliseconds=timestamp),
            dict(record.headers) if record.headers else {},
        )

    def reject(self, record: Any, exc: DataException, batch: SourceBatch) -> None:
        """Apply ``error_policy`` to an undecodable record: raise (fail), count it in ``batch``
        (skip) or add it to ``batch.dead_letters`` (dlq)."""
        where = f"partition {record.partition}, offset {record.offset}"
        policy = self.error_policy
        if policy == "fail":
            advice = "Set error_policy = 'skip' or 'dlq' on the connection to read past undecodable records."
            raise type(exc)(
                f'could not decode the record at {where} of Kafka topic "{self.topic}" '
                f'(connection "{self.connection}"): {exc.message}',
                detail=exc.detail,
                hint=f"{exc.hint} {advice}" if exc.hint else advice,
            ) from exc
        if len(batch.errors) < MAX_ERRORS_LISTED:
            batch.errors.append(f"{where}: {exc.message}")
        if policy == "skip":
            batch.skipped += 1
            return
        timestamp = record.timestamp
        batch.dead_letters.append(
            DeadLetter(
                topic=self.topic,
                partition=record.partition,
                offset=record.offset,
                timestamp_ms=None if timestamp is None or timestamp < 0 else int(timestamp),
                key=record.key,
                value=record.value,
                headers=tuple(record.headers or ()),
                error=exc.message,
                sqlstate=exc.sqlstate,
            )
        )

    async def read_bounded(
        self,
        *,
        limit: int | None = None,
        timeout_s: float = 30.0,
        prefer_committed: bool = False,
        on_end_offsets: EndOffsetsCallback | None = None,
        progress: Progress | None = None,
    ) -> SourceBatch:
        """Every record from the start position to the end offsets seen when the read began.

        ``limit`` stops after that many rows (a peek: which rows is up to the order fetches
        arrive in; they are still returned in partition/offset order, and ``end_offsets`` then
        lacks partitions whose first fetch had not arrived). ``on_end_offsets`` is called (and
        awaited if it returns an awaitable) once the end offset of every partition is known,
        before the read goes on; not at all when the limit is reached first. ``progress`` counts
        the records read so far (a long INSERT reports it). Raises 42704 for a
        topic that does not exist, 55000 for start_offset 'committed' without committed offsets.
        """
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        if limit == 0:
            return SourceBatch(list(self.columns), [], {})
        read = _BoundedRead(
            self, limit=limit, prefer_committed=prefer_committed, on_end_offsets=on_end_offsets
        )
        read.progress = progress
        scope = asyncio.timeout(timeout_s)
        try:
            async with scope:
                return await read.run()
        except TimeoutError:
            if not scope.expired():
                raise
            raise read.timeout_error(timeout_s) from None


class _BoundedRead:
    """The state of one read_bounded call."""

    def __init__(
        self,
        reader: KafkaSourceReader,
        *,
        limit: int | None,
        prefer_committed: bool,
        on_end_offsets: EndOffsetsCallback | None,
    ) -> None:
        self.reader = reader
        self.limit = limit
        self.prefer_committed = prefer_committed
        self.on_end_offsets = on_end_offsets
        self.connected = False
        self.starts: dict[int, int | None] = {}  # None: 'latest', the end offset once known
        self.ends: dict[int, int] = {}
        self.next_offsets: dict[int, int] = {}
        self.rows: dict[int, list[tuple[object, ...]]] = {}
        self.count = 0
        self.progress: Progress | None = None
        self.batch = SourceBatch(list(reader.columns), [], {})

    # --- the read ----------------------------------------------------------------------------
    async def run(self) -> SourceBatch:
        reader = self.reader
        with_group = reader.start_offset == "committed" or self.prefer_committed
        consumer = reader.consumer(with_group=with_group)
        try:
            partitions = await self._connect(consumer)
            self.rows = {partition: [] for partition in partitions}
            assigned = [TopicPartition(reader.topic, partition) for partition in partitions]
            consumer.assign(assigned)
            try:
                await self._seek_to_starts(consumer, assigned)
                await self._consume(consumer, assigned)
            except kafka_errors.KafkaError as exc:
                raise self._kafka_error(exc) from exc
        finally:
            await consumer.stop()
        batch = self.batch
        batch.rows = [row for partition in sorted(self.rows) for row in self.rows[partition]]
        batch.end_offsets = dict(sorted(self.ends.items()))
        batch.start_offsets = {p: start for p, start in sorted(self.starts.items()) if start is not None}
        return batch

    async def _connect(self, consumer: Any) -> list[int]:
        reader = self.reader
        try:
            await consumer.start()
            await consumer.topics()  # all topics' metadata: asks for no topic, so creates none
        except kafka_errors.KafkaError as exc:
            raise self._kafka_error(exc) from exc
        self.connected = True
        partitions = consumer.partitions_for_topic(reader.topic)
        if not partitions:
            raise UndefinedObject(
                f'Kafka topic "{reader.topic}" of connection "{reader.connection}" does not exist',
                hint="Create the topic, or point the connection at another one with "
                f"ALTER CONNECTION {reader.connection} SET (topic = '...').",
            )
        return sorted(int(partition) for partition in partitions)

    async def _seek_to_starts(self, consumer: Any, assigned: list[Any]) -> None:
        reader = self.reader
        committed: dict[Any, int] = {}
        if reader.start_offset == "committed" or self.prefer_committed:
            for tp in assigned:
                offset = await consumer.committed(tp)
                if offset is not None and offset >= 0:
                    committed[tp] = int(offset)
        rest = [tp for tp in assigned if tp not in committed]
        if rest and reader.start_offset == "committed":
            missing = ("partitions " if len(rest) > 1 else "partition ") + ", ".join(
                str(tp.partition) for tp in rest
            )
            raise NoCommittedOffset(
                f'consumer group "{reader.group_id}" has no committed offset for {missing} '
                f"of topic \"{reader.topic}\" (start_offset is 'committed')",
                hint="Set start_offset = 'earliest' or 'latest' to say where partitions without one start.",
            )
        placed: dict[Any, int] = {}
        if rest and reader.start_offset == "earliest":
            placed = await consumer.beginning_offsets(rest)
        elif rest:
            # 'latest' starts at the end offset, known from the first fetch. ListOffsets(latest) can
            # be short of it (Tansu), never past it, so fetching from there reads that high watermark.
            placed = await consumer.end_offsets(rest)
        for tp in assigned:
            if tp in committed:
                start: int | None = committed[tp]
                position = committed[tp]
            else:
                position = int(placed[tp])
                start = position if reader.start_offset == "earliest" else None
            self.starts[tp.partition] = start
            self.next_offsets[tp.partition] = position
            consumer.seek(tp, position)

    async def _consume(self, consumer: Any, assigned: list[Any]) -> None:
        pending = set(assigned)
        announced = False
        while pending:
            fetched = await consumer.getmany(*pending, timeout_ms=POLL_TIMEOUT_MS)
            # Read the high watermarks before anything else can await: what a partition has not
            # returned records for yet may only be updated by a later fetch, which then counts.
            for tp in pending:
                if tp.partition not in self.ends:
                    end = self._end_offset(consumer, tp)
                    if end is not None:
                        self.ends[tp.partition] = end
                        if self.starts[tp.partition] is None:
                            self.starts[tp.partition] = end
            for tp, records in fetched.items():
                await self.reader.prepare(record.value for record in records)
                if self._take(tp.partition, records):
                    return
            if not announced and len(self.ends) == len(assigned):
                announced = True
                await self._announce()
            for tp in list(pending):
                end = self.ends.get(tp.partition)
                start = self.starts[tp.partition]
                if end is None or start is None:
                    continue
                if start >= end or await consumer.position(tp) >= end:
                    pending.discard(tp)
                    consumer.pause(tp)

    def _end_offset(self, consumer: Any, tp: Any) -> int | None:
        highwater = consumer.highwater(tp)
        if highwater is None:
            return None
        if self.reader.isolation_level == "read_committed":
            stable = consumer.last_stable_offset(tp)
            if stable is not None and 0 <= stable <= highwater:
                return int(stable)
        return int(highwater)

    async def _announce(self) -> None:
        if self.on_end_offsets is None:
            return
        result = self.on_end_offsets(dict(sorted(self.ends.items())))
        if inspect.isawaitable(result):
            await result

    def _take(self, partition: int, records: Sequence[Any]) -> bool:
        """Decode the records of one partition within its bounds; True once the limit is reached."""
        start = self.starts[partition]
        end = self.ends[partition]
        assert start is not None, "a partition returns records only after its first fetch"
        row_of = self.reader.row_of
        rows = self.rows[partition]
        for record in records:
            offset: int = record.offset
            if offset < start:
                continue
            if offset >= end:
                break
            self.next_offsets[partition] = offset + 1
            try:
                rows.append(row_of(record))
            except DataException as exc:
                self.reader.reject(record, exc, self.batch)
                continue
            self.count += 1
            if self.limit is not None and self.count >= self.limit:
                break
        if self.progress is not None:
            self.progress.done = self.count
        return self.limit is not None and self.count >= self.limit

    # --- errors ------------------------------------------------------------------------------
    def _kafka_error(self, exc: BaseException) -> LaminarError:
        reader = self.reader
        if isinstance(exc, kafka_errors.TopicAuthorizationFailedError):
            return InsufficientPrivilege(
                f'not allowed to read Kafka topic "{reader.topic}" (connection "{reader.connection}")'
            )
        if not self.connected:
            return ConnectionFailure(
                f'could not connect to the Kafka brokers of connection "{reader.connection}" '
                f"({', '.join(reader.bootstrap_servers)}): {exc}",
            )
        return ConnectionFailure(
            f'reading Kafka topic "{reader.topic}" (connection "{reader.connection}") failed: {exc}'
        )

    def timeout_error(self, timeout_s: float) -> LaminarError:
        reader = self.reader
        if not self.connected:
            return ConnectionFailure(
                f'could not reach the Kafka brokers of connection "{reader.connection}" '
                f"({', '.join(reader.bootstrap_servers)}) within {timeout_s:g} s"
            )
        progress = []
        for partition in sorted(self.rows):
            end = self.ends.get(partition)
            at = self.next_offsets.get(partition)
            progress.append(
                f"partition {partition}: "
                + ("waiting for its first fetch" if end is None else f"at offset {at} of {end}")
            )
        return QueryCanceled(
            f'canceling the read of Kafka topic "{reader.topic}" (connection "{reader.connection}"): '
            f"not finished within {timeout_s:g} s",
            detail="; ".join(progress) or None,
        )
