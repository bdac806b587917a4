"""A Kafka sink connection at work: rows in, Kafka records out, acknowledged before returning.

For each row the sink encodes the value (json or raw), takes the key from ``key_field``, the
topic from ``topic_field`` (falling back to ``topic``), the partition from ``partition_field`` or
the partitioner, and headers from a ``_kafka_headers`` MAP column. Routing columns never reach
the message value. Records are grouped into one batch per topic-partition and handed to the
producer, which builds Kafka record batches directly. A row that cannot be turned into a record
follows the connection's ``error_policy``: ``fail`` the statement, ``skip`` it (counted) or send
it to the ``dlq_connection`` with headers saying why. With ``transactional.id`` every write is
one Kafka transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition

from catalog.options import ValidatedOptions
from formats.json_format import JsonEncoder
from formats.raw_format import RawEncoder
from gateway import errors
from gateway.protocol import types as pgtypes
from sinks.metrics import ProducerMetrics, RequestLog
from sinks.partitioners import TopicPartitioners
from sinks.produce_errors import ProduceError
from sinks.producer import ProducerStatus, Record, SinkProducer
from sinks.producer import RequestLog as ProducerRequestLog
from sinks.schema_encoders import RowEncoder, SchemaEncoders

HEADERS_COLUMN = "_kafka_headers"
ENCODE_SLICE = 512  # rows encoded between two turns of the event loop
KEY_COLUMN = "_kafka_key"


@dataclass(frozen=True, slots=True)
class SinkColumn:
    name: str
    type_oid: int


@dataclass(frozen=True, slots=True)
class WriteResult:
    written: int
    skipped: int = 0
    dead_lettered: int = 0


@dataclass(frozen=True, slots=True)
class EncodedRows:
    """Rows turned into records (:meth:`KafkaSink.encode`), not sent yet."""

    columns: Sequence[SinkColumn]
    batches: dict[tuple[str, int], list[Record]]
    written: int  # records in ``batches``
    rejected: list[tuple[int, Sequence[object], str]]  # (row number, row, why) for the error policy


class RecordError(errors.DataException):
    """A row that cannot become a Kafka record (bad partition, no topic, unencodable value)."""


def _text_bytes(value: object, type_oid: int) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return pgtypes.encode_text(type_oid, value)


def _headers(value: object) -> tuple[tuple[str, bytes], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise RecordError(
            f"{HEADERS_COLUMN} must be a MAP of header names to values, not {type(value).__name__}"
        )
    return tuple(
        (str(key), b"" if item is None else item if isinstance(item, bytes) else str(item).encode())
        for key, item in value.items()
    )


class KafkaSink:
    """One sink connection's writer (shared by every session of the gateway)."""

    def __init__(
        self,
        connection: str,
        options: ValidatedOptions,
        resolved: dict[str, str],
        metrics: ProducerMetrics,
        *,
        dead_letters: KafkaSink | None = None,
    ) -> None:
        self.connection = connection
        self.options = options
        self._metrics = metrics
        self._dead_letters = dead_letters
        self._producer = SinkProducer(
            options, resolved=resolved, client_id=f"laminar-{connection}", on_request=self._on_request
        )
        self._partitioners = TopicPartitioners(options.string("partitioner"))
        self._transactional = options.string("transactional.id") is not None
        fmt = options.string("format")
        self._schemas = SchemaEncoders(connection, options, resolved) if fmt in ("avro", "protobuf") else None
        self._started = False
        self._transaction_lock = asyncio.Lock()

    def _on_request(self, log: ProducerRequestLog) -> None:
        self._metrics.record(
            RequestLog(
                log.timestamp,
                self.connection,
                log.topic,
                log.partition,
                log.messages,
                log.bytes,
                log.latency_ms,
                log.error,
            )
        )

    async def start(self) -> None:
        if not self._started:
            await self._producer.start()
            self._started = True

    @property
    def bootstrap_servers(self) -> tuple[str, ...]:
        return self._producer.settings.bootstrap_servers

    def security(self) -> dict[str, Any]:
        """aiokafka's TLS/SASL arguments for other clients of this sink's cluster."""
        return self._producer.settings.security_kwargs()

    def status(self) -> ProducerStatus:
        """Buffer and metadata state of this connection's producer."""
        return self._producer.status()

    async def close(self) -> None:
        if self._schemas is not None:
            await self._schemas.close()
        if self._started:
            await self._producer.stop()
            self._started = False
        self._transaction_lock = asyncio.Lock()

    # -- encoding ------------------------------------------------------------------------------
    def _routing(self, columns: Sequence[SinkColumn]) -> dict[str, int]:
        index = {column.name: i for i, column in enumerate(columns)}
        routing: dict[str, int] = {}
        for role, name in (
            ("key", self.options.string("key_field")),
            ("topic", self.options.string("topic_field")),
            ("partition", self.options.string("partition_field")),
            ("headers", HEADERS_COLUMN),
            ("kafka_key", KEY_COLUMN),
        ):
            if name is None:
                continue
            if name in index:
                routing[role] = index[name]
            elif role in ("key", "topic", "partition"):
                raise errors.UndefinedColumn(
                    f'connection "{self.connection}" routes by column "{name}", which the rows do not have',
                    hint=f"Add a column named {name} to the SELECT list.",
                )
        return routing

    async def _encoder(self, columns: Sequence[SinkColumn], routing: dict[str, int]) -> RowEncoder:
        """The value encoder: json/raw here, avro/protobuf through the Schema Registry."""
        if self._schemas is None:
            return self._value_encoder(columns, routing)
        pairs = [(c.name, c.type_oid) for c in columns]
        return await self._schemas.value_encoder(pairs, self._excluded(columns, routing))

    async def _key_encoder(
        self, columns: Sequence[SinkColumn], routing: dict[str, int]
    ) -> Callable[[Sequence[object]], bytes | None]:
        if self._schemas is None or self.options.string("key.format") != "avro" or "key" not in routing:
            return self._key_of(columns, routing)
        position = routing["key"]
        encode = await self._schemas.key_encoder(columns[position].name, columns[position].type_oid)
        return lambda row: encode(row[position])

    def _value_encoder(
        self, columns: Sequence[SinkColumn], routing: dict[str, int]
    ) -> JsonEncoder | RawEncoder:
        excluded = self._excluded(columns, routing)
        pairs = [(c.name, c.type_oid) for c in columns]
        if self.options.string("format") == "raw":
            return RawEncoder(pairs, key_column=self._raw_key_column(), exclude=excluded)
        return JsonEncoder(
            pairs,
            pretty=self.options.boolean("json.pretty"),
            include_nulls=self.options.boolean("json.include_nulls"),
            exclude=excluded,
        )

    async def check_output(self, columns: Sequence[SinkColumn]) -> None:
        """At CREATE PIPELINE: can this sink write rows of these columns? (Avro/Protobuf: the
        registered schema must take them; 42804 listing the fields that do not fit.)"""
        if self._schemas is not None:
            routing = self._routing(columns)
            pairs = [(c.name, c.type_oid) for c in columns]
            await self._schemas.check_fits(pairs, self._excluded(columns, routing))

    @staticmethod
    def _excluded(columns: Sequence[SinkColumn], routing: dict[str, int]) -> set[str]:
        """Routing columns: they steer records and never reach the message value."""
        return {
            columns[routing[role]].name
            for role in ("topic", "partition", "headers", "kafka_key")
            if role in routing
        }

    def _raw_key_column(self) -> str:
        return self.options.string("key_field") or "key"

    def _key_of(
        self, columns: Sequence[SinkColumn], routing: dict[str, int]
    ) -> Callable[[Sequence[object]], bytes | None]:
        if self.options.string("format") == "raw" and "kafka_key" not in routing:
            raw = RawEncoder(
                [(c.name, c.type_oid) for c in columns],
                key_column=self._raw_key_column(),
                exclude=self._excluded(columns, routing),
            )
            return raw.key
        position = routing.get("key", routing.get("kafka_key"))
        if position is None:
            return lambda row: None
        type_oid = columns[position].type_oid
        return lambda row: None if row[position] is None else _text_bytes(row[position], type_oid)

    # -- transactions held across writes (exactly-once pipelines) ---------------------------------
    @property
    def transactional(self) -> bool:
        return self._transactional

    async def begin_transaction(self) -> None:
        """Open a Kafka transaction that the following ``write(..., in_transaction=True)`` calls
        join; it holds the producer until :meth:`commit_transaction` or :meth:`abort_transaction`
        (other writers of this sink wait for it)."""
        await self.start()
        await self._transaction_lock.acquire()
        try:
            await self._producer.begin()
        except BaseException:
            self._transaction_lock.release()
            raise

    async def commit_transaction(self, offsets: Mapping[TopicPartition, int], group_id: str) -> None:
        """Commit the open transaction with the consumer group's source offsets in it."""
        try:
            if offsets:
                await self._producer.send_offsets(offsets, group_id)
            await self._producer.commit()
        except BaseException:
            with contextlib.suppress(ProduceError):
                await self._producer.abort()
            raise
        finally:
            self._transaction_lock.release()

    async def abort_transaction(self) -> None:
        """Abort the open transaction (nothing it wrote becomes visible to read_committed readers)."""
        try:
            await self._producer.abort()
        finally:
            self._transaction_lock.release()

    # -- writing -------------------------------------------------------------------------------
    async def write_raw(
        self, topic: str, partition: int, records: Sequence[Record], *, in_transaction: bool = False
    ) -> None:
        """Records as they are to one topic-partition of this sink's cluster (a pipeline's
        checkpoints), in the open transaction if ``in_transaction``."""
        await self.start()
        await self._send({(topic, partition): list(records)}, joined=in_transaction and self._transactional)

    async def write_records(self, records: Sequence[Record]) -> int:
        """Send records as they are (a dead-letter queue's copies) to the sink's topic, partitioned
        by key; returns once acknowledged."""
        topic = self.options.string("topic")
        if not records:
            return 0
        if not topic:
            raise RecordError(f'sink "{self.connection}" has no topic to send dead letters to')
        await self.start()
        count = await self._producer.partitions_for(topic)
        partitioner = self._partitioners[topic]
        batches: dict[tuple[str, int], list[Record]] = defaultdict(list)
        for record in records:
            batches[(topic, partitioner(record.key, count))].append(record)
        await self._send(batches)
        return len(records)

    async def write(
        self,
        columns: Sequence[SinkColumn],
        rows: Sequence[Sequence[object]],
        *,
        in_transaction: bool = False,
    ) -> WriteResult:
        """Send rows as records; returns once the broker acknowledged them (per ``acks``).
        ``in_transaction``: the rows join the transaction opened by :meth:`begin_transaction`."""
        return await self.send(await self.encode(columns, rows), in_transaction=in_transaction)

    async def send(self, encoded: EncodedRows, *, in_transaction: bool = False) -> WriteResult:
        """Send what :meth:`encode` made of some rows (the second half of :meth:`write`); a
        pipeline encodes a micro-batch while the previous one is still being sent."""
        await self.start()
        skipped, dead = await self._handle_rejected(encoded.rejected, encoded.columns)
        if encoded.batches:
            await self._send(encoded.batches, joined=in_transaction and self._transactional)
        return WriteResult(encoded.written, skipped, dead)

    async def encode(self, columns: Sequence[SinkColumn], rows: Sequence[Sequence[object]]) -> EncodedRows:
        """Rows as records grouped by topic-partition, ready to send; rows that cannot become a
        record are set aside for the error policy, applied when they are sent."""
        await self.start()
        routing = self._routing(columns)
        encoder = await self._encoder(columns, routing)
        key_of = await self._key_encoder(columns, routing)
        default_topic = self.options.string("topic")
        timestamp_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        if default_topic and not routing.keys() & {"topic", "partition", "headers"}:
            fast = await self._plain_batches(encoder, key_of, rows, default_topic, timestamp_ms)
            if fast is not None:
                return EncodedRows(columns, fast, len(rows), [])
        encode_value = encoder.encode
        batches: dict[tuple[str, int], list[Record]] = defaultdict(list)
        partitions: dict[str, int] = {}
        rejected: list[tuple[int, Sequence[object], str]] = []
        for number, row in enumerate(rows, start=1):
            try:
                topic = default_topic
                if "topic" in routing and row[routing["topic"]] is not None:
                    topic = str(row[routing["topic"]])
                if not topic:
                    raise RecordError(
                        f"row {number} has no topic: {self.options.string('topic_field')} is NULL"
                    )
                if topic not in partitions:
                    partitions[topic] = await self._producer.partitions_for(topic)
                key = key_of(row)
                if "partition" in routing and row[routing["partition"]] is not None:
                    partition = int(row[routing["partition"]])  # type: ignore[call-overload]
                    if not 0 <= partition < partitions[topic]:
                        raise RecordError(
                            f"row {number}: partition {partition} is out of range: topic {topic} has "
                            f"{partitions[topic]} partitions (0 to {partitions[topic] - 1})"
                        )
                else:
                    partition = self._partitioners[topic](key, partitions[topic])
                headers = _headers(row[routing["headers"]]) if "headers" in routing else ()
                record = Record(key, encode_value(row), headers, timestamp_ms)
            except (RecordError, errors.LaminarError, ValueError, TypeError) as exc:
                message = exc.message if isinstance(exc, errors.LaminarError) else str(exc)
                rejected.append((number, row, message))
                continue
            batches[(topic, partition)].append(record)
        written = sum(len(records) for records in batches.values())
        return EncodedRows(columns, batches, written, rejected)

    async def _plain_batches(
        self,
        encoder: RowEncoder,
        key_of: Callable[[Sequence[object]], bytes | None],
        rows: Sequence[Sequence[object]],
        topic: str,
        timestamp_ms: int,
    ) -> dict[tuple[str, int], list[Record]] | None:
        """The common case (one topic, no routing columns): encode the rows a slice at a time.
        None when some row cannot be encoded; the row-by-row path then applies the error policy.

        Between slices the event loop gets its turn, so acknowledgements of what is being sent
        meanwhile (a pipeline's previous micro-batch) are handled promptly: the producer sends one
        request per broker at a time, and each waits for the loop to see the previous answer."""
        count = await self._producer.partitions_for(topic)
        partitioner = self._partitioners[topic]
        batches: dict[tuple[str, int], list[Record]] = defaultdict(list)
        for start in range(0, len(rows), ENCODE_SLICE):
            if start:
                await asyncio.sleep(0)
            chunk = rows[start : start + ENCODE_SLICE]
            try:
                values = encoder.encode_many(chunk)
                keys = [key_of(row) for row in chunk]
            except (errors.LaminarError, ValueError, TypeError):
                return None
            for key, value in zip(keys, values, strict=True):
                batches[(topic, partitioner(key, count))].append(Record(key, value, (), timestamp_ms))
        return batches

    async def _send(self, batches: dict[tuple[str, int], list[Record]], *, joined: bool = False) -> None:
        if not self._transactional or joined:
            await self._producer.send(batches)
            return
        # One producer holds one transaction at a time: writes of concurrent sessions take turns.
        async with self._transaction_lock:
            await self._producer.begin()
            try:
                await self._producer.send(batches)
            except BaseException:
                with contextlib.suppress(ProduceError):  # the send's error is the one to report
                    await self._producer.abort()
                raise
            await self._producer.commit()

    async def _handle_rejected(
        self, rejected: list[tuple[int, Sequence[object], str]], columns: Sequence[SinkColumn]
    ) -> tuple[int, int]:
        if not rejected:
            return 0, 0
        policy = self.options.string("error_policy") or "fail"
        if policy == "fail":
            _, _, message = rejected[0]
            raise RecordError(
                message,
                detail=f"{len(rejected)} of the rows could not be written; nothing was sent",
                hint="Set error_policy = 'skip' or 'dlq' on the connection to keep going past bad rows.",
            )
        if policy == "skip" or self._dead_letters is None:
            self._metrics.for_connection(self.connection).errors += len(rejected)
            return len(rejected), 0
        dlq_columns = [
            SinkColumn("row_number", pgtypes.INT8),
            SinkColumn("error", pgtypes.TEXT),
            SinkColumn("row", pgtypes.JSON),
            SinkColumn(HEADERS_COLUMN, pgtypes.TEXT),
        ]
        encoder = JsonEncoder([(c.name, c.type_oid) for c in columns], pretty=False, include_nulls=True)
        dlq_rows = [
            (
                number,
                message,
                encoder.encode(row).decode(),
                {"laminar.error": message, "laminar.connection": self.connection, "laminar.row": str(number)},
            )
            for number, row, message in rejected
        ]
        result = await self._dead_letters.write(dlq_columns, dlq_rows)
        return 0, result.written
