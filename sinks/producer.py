"""The Kafka sink's producer: record batches built with aiokafka's batch API, bounded and retried.

:class:`SinkProducer` turns a sink connection's validated options into one ``AIOKafkaProducer`` and
sends rows that the sink already encoded (:class:`Record`) to explicit topic-partitions. The hot
path never calls ``producer.send()`` per message: :meth:`SinkProducer.send` fills
``create_batch()`` builders and hands them over with ``send_batch()``. ``on_request`` receives one
:class:`RequestLog` per produce attempt of a batch (the feed of the metrics views) and
:meth:`SinkProducer.status` the buffer figures. What each option does:

* ``bootstrap_servers``, ``acks`` (0 / 1 / all), ``'enable.idempotence'``, ``'transactional.id'``,
  ``'transaction.timeout.ms'``, ``compression``, ``'request.timeout.ms'`` (one request's answer),
  ``'retry.backoff.ms'``, ``'max.request.size'``: passed to aiokafka as they are. With acks=0,
  :meth:`SinkProducer.stop` makes one metadata round trip per broker connection before closing it,
  so the broker has read every produce request (closing right after the last write can lose it).
* ``batch_size`` closes a batch at that many messages; ``'batch.size'`` closes it at that many bytes
  (before compression; it is capped at ``'max.request.size'`` and ``'buffer.memory'`` so one batch
  always fits both). A record bigger than ``'batch.size'`` travels alone in its batch; one bigger
  than ``'max.request.size'`` or ``'buffer.memory'`` fails with :class:`RecordTooLarge` (22023).
* ``'buffer.memory'``: bytes of batches handed to Kafka and not yet acknowledged, over all callers
  of the producer. A batch waits for room; waiting longer than ``'delivery.timeout.ms'`` fails
  with :class:`BufferExhausted` (53000, retriable).
* ``'max.in.flight.requests.per.connection'``: aiokafka has no such knob; it keeps one produce
  request in flight per broker and one more batch queued per partition. The producer bounds the
  unacknowledged batches it hands over per partition by this number (1 means: the next batch of
  a partition is built only after the previous one was acknowledged), so the effective bound is
  min(setting, 2) batches per partition and order within a partition is kept.
* ``retries`` + ``'retry.backoff.ms'`` + ``'delivery.timeout.ms'``: a batch that fails with a
  retriable error is rebuilt and sent again, at most ``retries`` times, while its delivery time
  (from its first hand-over) is below ``'delivery.timeout.ms'``; idempotent producers also retry
  inside aiokafka. When that time has passed, every batch still pending is failed, the client is
  reconnected on next use and :class:`DeliveryTimeout` (08006, retriable) is raised.
* ``linger_ms`` / ``'linger.ms'``: passed to aiokafka, where it delays only batches that are left
  open. :meth:`send` is a flush point: it holds every record its batches will ever contain, so it
  closes them and they go out at once (like ``KafkaProducer.flush()``). Gathering rows for up to
  ``linger.ms`` before calling :meth:`send` is the caller's job (the pipeline's micro-batcher).
* ``'security.protocol'``, ``'sasl.mechanism'``, ``'sasl.username'``, ``'sasl.password'``: aiokafka's
  ``security_protocol``, ``sasl_mechanism`` and ``sasl_plain_username`` / ``sasl_plain_password``
  (secret references resolved by the caller); SSL and SASL_SSL use ``ssl.create_default_context()``.
* ``'send.buffer.bytes'``: aiokafka has no socket options, so the producer sets ``SO_SNDBUF`` on
  every broker connection right after aiokafka opens it (-1 keeps the OS default).

Errors come out as :class:`ProduceError` subclasses with a SQLSTATE and a ``retriable`` flag.
Transactions: :meth:`begin` / :meth:`commit` (EndTxn commit) / :meth:`abort`; a fenced producer
(a newer one took its ``transactional.id``) raises :class:`ProducerFencedError` until restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from types import TracebackType
from typing import Any, NamedTuple, Self

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.client import ConnectionGroup
from aiokafka.protocol.metadata import MetadataRequest

from catalog.options import ValidatedOptions
from sinks import kafka_compat
from sinks.produce_errors import (
    BufferExhausted,
    CompressionUnavailable,
    DeliveryTimeout,
    PartitionNotFound,
    ProduceError,
    ProducerFencedError,
    ProducerReset,
    RecordTooLarge,
    TransactionStateError,
    describe_error,
    is_retriable,
    translate,
)
from sinks.producer_settings import ProducerSettings

log = logging.getLogger(__name__)

_NO_HEADERS: list[tuple[str, bytes]] = []


class Record(NamedTuple):
    """One message, already encoded: key, value, headers and timestamp (None: now)."""

    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class RequestLog:
    """One produce attempt of one record batch (a row of ``system.kafka_producer_logs``)."""

    timestamp: datetime
    topic: str
    partition: int
    messages: int
    bytes: int
    latency_ms: float
    error: str | None


@dataclass(frozen=True, slots=True)
class SendReport:
    """What one :meth:`SinkProducer.send` delivered."""

    messages: int
    batches: int
    bytes: int  # record batch bytes as sent (after compression)
    retries: int
    batch_latencies_ms: tuple[float, ...]
    buffer_waits: int  # batches that had to wait for 'buffer.memory'
    elapsed_ms: float

    @property
    def max_latency_ms(self) -> float:
        return max(self.batch_latencies_ms, default=0.0)


@dataclass(frozen=True, slots=True)
class ProducerStatus:
    """A row of ``system.kafka_producer_status``."""

    buffer_available_bytes: int
    buffer_total_bytes: int
    waiting_threads: int
    metadata_age_ms: int | None


class ByteBudget:
    """A counting semaphore of bytes with first-come-first-served waiters (for 'buffer.memory')."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.available = total
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for _, future in self._waiters if not future.done())

    async def acquire(self, amount: int, wait_s: float) -> bool:
        """Take ``amount`` bytes, waiting at most ``wait_s`` seconds (TimeoutError); True if it waited."""
        if amount > self.total:
            raise ValueError(f"{amount} bytes can never fit a budget of {self.total}")
        if not self._waiters and amount <= self.available:
            self.available -= amount
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (amount, future)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(future, wait_s)
        except BaseException:
            if future.done() and not future.cancelled():
                self.release(amount)  # granted at the last moment: give it back
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)
            self._grant()  # a smaller waiter behind this one may fit now
            raise
        return True

    def release(self, amount: int) -> None:
        self.available += amount
        self._grant()

    def _grant(self) -> None:
        while self._waiters:
            amount, future = self._waiters[0]
            if future.done():
                self._waiters.popleft()
            elif amount <= self.available:
                self._waiters.popleft()
                self.available -= amount
                future.set_result(None)
            else:
                return


# --- the producer ----------------------------------------------------------------------------------
@dataclass(slots=True)
class _Flight:
    """One record batch of one partition: records[start:stop], and its current attempt."""

    topic: str
    partition: int
    records: Sequence[Record]
    start: int
    stop: int
    builder: Any
    attempts: int = 0
    sent_at: float = 0.0
    deadline: float = 0.0
    future: asyncio.Future[Any] | None = None


@dataclass(slots=True)
class _Tally:
    messages: int = 0
    batches: int = 0
    bytes: int = 0
    retries: int = 0
    buffer_waits: int = 0
    latencies: list[float] = field(default_factory=list)
    error: ProduceError | None = None

    def fail(self, error: ProduceError) -> None:
        if self.error is None:
            self.error = error


class SinkProducer:
    """One aiokafka producer for one sink connection; see the module docstring for the options."""

    def __init__(
        self,
        options: ValidatedOptions,
        *,
        resolved: Mapping[str, str],
        client_id: str,
        on_request: Callable[[RequestLog], None] | None = None,
    ) -> None:
        self.settings = ProducerSettings.from_options(options, resolved)
        self.client_id = client_id
        self._on_request = on_request
        self._budget = ByteBudget(self.settings.buffer_memory)
        self._producer: Any = None
        self._start_lock = asyncio.Lock()
        self._shutdowns: set[asyncio.Task[None]] = set()  # clients given up on, closing in the background
        self._stopped = False
        self._in_transaction = False
        self._fenced = False
        self._delivery_s = self.settings.delivery_timeout_ms / 1000
        self._backoff_s = self.settings.retry_backoff_ms / 1000

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def transactional(self) -> bool:
        return self.settings.transactional_id is not None

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect (bootstrap and, when idempotent, get a producer id). Fails with a ProduceError."""
        self._stopped = False
        self._fenced = False
        await self._ready()

    async def stop(self) -> None:
        """Close the connections. An open transaction is left to the broker (a restart aborts it)."""
        self._stopped = True
        self._in_transaction = False
        async with self._start_lock:
            producer, self._producer = self._producer, None
            if producer is not None:
                if self.settings.acks == 0:
                    await self._round_trip(producer)
                await producer.stop()
            await self._finish_shutdowns()

    async def _round_trip(self, producer: Any) -> None:
        """One metadata request per broker connection before closing it: with acks=0 nothing else
        tells that the broker has read the produce requests written to it (closing right after the
        last write can lose it); brokers answer the requests of one connection in order."""
        client = producer.client
        for node_id, group in list(client._conns):
            if group == ConnectionGroup.DEFAULT and isinstance(node_id, int):
                with contextlib.suppress(kafka_errors.KafkaError, TimeoutError):
                    request = MetadataRequest([])
                    await asyncio.wait_for(
                        client.send(node_id, request), self.settings.request_timeout_ms / 1000
                    )

    async def _ready(self) -> Any:
        if self._stopped:
            raise ProduceError("the Kafka producer is stopped")
        if self._fenced:
            raise self._fenced_error("writing")
        if self._producer is not None:
            return self._producer
        async with self._start_lock:
            await self._finish_shutdowns()
            if self._producer is None:
                self._producer = await self._open_client()
            return self._producer

    async def _open_client(self) -> Any:
        kafka_compat.install()
        s = self.settings
        try:
            producer = AIOKafkaProducer(
                bootstrap_servers=list(s.bootstrap_servers),
                client_id=self.client_id,
                acks=s.acks,
                enable_idempotence=s.idempotent,
                transactional_id=s.transactional_id,
                transaction_timeout_ms=s.transaction_timeout_ms,
                compression_type=s.compression,
                max_batch_size=s.batch_bytes,
                linger_ms=s.linger_ms,
                max_request_size=s.max_request_size,
                request_timeout_ms=s.request_timeout_ms,
                retry_backoff_ms=s.retry_backoff_ms,
                **s.security_kwargs(),
            )
        except RuntimeError as exc:  # aiokafka: "Compression library for X not found"
            raise CompressionUnavailable(
                f"compression '{s.compression}' is not available: {exc}",
                hint="Install cramjam (aiokafka's snappy, lz4 and zstd codecs).",
            ) from exc
        self._tune_send_buffer(producer)
        try:
            await asyncio.wait_for(producer.start(), self._delivery_s)
        except Exception as exc:
            await producer.stop()
            servers = ",".join(s.bootstrap_servers)
            raise translate(exc, what=f"connecting to Kafka at {servers}") from exc
        except BaseException:
            await producer.stop()
            raise
        return producer

    def _abandon(self, producer: Any, reason: str) -> None:
        """Give up on everything pending in ``producer``: it is shut down in the background (its
        sender stopped, then every batch still pending failed) and a new one connects on next use."""
        if producer is not None and producer is self._producer:
            self._producer = None
            self._in_transaction = False
            task = asyncio.create_task(_shut_down(producer, reason))
            self._shutdowns.add(task)

    async def _finish_shutdowns(self) -> None:
        while self._shutdowns:
            task = self._shutdowns.pop()
            try:
                await task
            except Exception:
                log.exception("closing an abandoned Kafka producer failed")

    def _tune_send_buffer(self, producer: Any) -> None:
        """Apply 'send.buffer.bytes' (SO_SNDBUF) to each broker connection aiokafka opens."""
        size = self.settings.send_buffer_bytes
        if size < 0:
            return
        client = producer.client
        get_conn = client._get_conn
        tuned: weakref.WeakSet[Any] = weakref.WeakSet()

        async def get_tuned_conn(*args: Any, **kwargs: Any) -> Any:
            conn = await get_conn(*args, **kwargs)
            if conn is not None and conn not in tuned:
                sock = _connection_socket(conn)
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
                tuned.add(conn)
            return conn

        client._get_conn = get_tuned_conn

    # -- metadata and status ----------------------------------------------------------------------
    async def partitions_for(self, topic: str) -> int:
        """How many partitions ``topic`` has (brokers that auto-create topics create it here)."""
        producer = await self._ready()
        try:
            partitions = await producer.partitions_for(topic)
        except Exception as exc:
            raise translate(exc, what=f'reading the metadata of topic "{topic}"', topic=topic) from exc
        return len(partitions)

    def status(self) -> ProducerStatus:
        age: int | None = None
        if self._producer is not None:
            refreshed = self._producer.client.cluster._last_successful_refresh_ms
            age = max(0, int(time.time() * 1000 - refreshed)) if refreshed else None
        return ProducerStatus(
            buffer_available_bytes=self._budget.available,
            buffer_total_bytes=self._budget.total,
            waiting_threads=self._budget.waiting,
            metadata_age_ms=age,
        )

    def connection_send_buffers(self) -> list[int]:
        """SO_SNDBUF of each open broker connection (the kernel reports twice the value set)."""
        if self._producer is None:
            return []
        sizes = []
        for conn in list(self._producer.client._conns.values()):
            sock = _connection_socket(conn)
            if sock is not None:
                sizes.append(sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
        return sizes

    # -- transactions ---------------------------------------------------------------------------
    async def begin(self) -> None:
        """Start a transaction (needs 'transactional.id')."""
        self._require_transactional("BEGIN")
        if self._in_transaction:
            raise TransactionStateError("a Kafka transaction is already open on this producer")
        producer = await self._ready()
        try:
            await asyncio.wait_for(producer.begin_transaction(), self._delivery_s)
        except Exception as exc:
            raise self._transaction_failure(exc, "starting a Kafka transaction") from exc
        self._in_transaction = True

    async def commit(self) -> None:
        """Commit the open transaction (EndTxn commit) once all its batches are acknowledged."""
        await self._end_transaction(commit=True)

    async def abort(self) -> None:
        """Abort the open transaction; a no-op when none is open (e.g. after a reset or fencing)."""
        if not self._in_transaction or self._fenced:
            self._in_transaction = False
            return
        await self._end_transaction(commit=False)

    async def send_offsets(self, offsets: Mapping[TopicPartition, int], group_id: str) -> None:
        """Add a consumer group's offsets to the open transaction (consume-transform-produce):
        they become the group's committed offsets if and only if the transaction commits."""
        self._require_transactional("sending offsets")
        if not self._in_transaction:
            raise TransactionStateError("sending offsets needs an open Kafka transaction")
        producer = self._producer
        try:
            await asyncio.wait_for(
                producer.send_offsets_to_transaction(dict(offsets), group_id), self._delivery_s
            )
        except Exception as exc:
            raise self._transaction_failure(exc, "adding source offsets to a Kafka transaction") from exc

    async def _end_transaction(self, *, commit: bool) -> None:
        verb = "committing" if commit else "aborting"
        self._require_transactional("COMMIT" if commit else "ABORT")
        if self._fenced:
            raise self._fenced_error(f"{verb} the transaction")
        if not self._in_transaction:
            raise TransactionStateError(f"{verb} failed: no Kafka transaction is open")
        producer = self._producer
        self._in_transaction = False
        end = producer.commit_transaction() if commit else producer.abort_transaction()
        try:
            await asyncio.wait_for(end, self._delivery_s)
        except Exception as exc:
            # The outcome is unknown or the transaction is doomed: re-initialising the producer id on
            # the next use makes the coordinator abort whatever is still open.
            raise self._transaction_failure(exc, f"{verb} a Kafka transaction") from exc

    def _transaction_failure(self, exc: Exception, what: str) -> ProduceError:
        if isinstance(exc, kafka_errors.ProducerFenced):
            self._fenced = True
            self._in_transaction = False
        else:
            self._abandon(self._producer, f"{what} failed")
        if isinstance(exc, TimeoutError):
            return DeliveryTimeout(
                f"{what} was not confirmed within delivery.timeout.ms "
                f"({self.settings.delivery_timeout_ms} ms)"
            )
        return translate(exc, what=what)

    def _require_transactional(self, what: str) -> None:
        if not self.transactional:
            raise TransactionStateError(
                f"{what} of a Kafka transaction needs option 'transactional.id' on the sink connection"
            )

    def _fenced_error(self, what: str) -> ProducerFencedError:
        return ProducerFencedError(
            f"{what} failed: a newer producer with transactional.id "
            f'"{self.settings.transactional_id}" fenced this one',
            hint="Restart this producer to take the transactional.id back (that fences the other).",
        )

    # -- the hot path ----------------------------------------------------------------------------
    async def send(self, batches: Mapping[tuple[str, int], Sequence[Record]]) -> SendReport:
        """Send records to explicit (topic, partition)s; returns once Kafka acknowledged all of them
        (per ``acks``) or raises a :class:`ProduceError` after retries."""
        started = time.monotonic()
        producer = await self._ready()
        if self.transactional and not self._in_transaction:
            raise TransactionStateError(
                "writing with 'transactional.id' needs an open Kafka transaction (call begin() first)"
            )
        tally = _Tally()
        targets = [(target, records) for target, records in batches.items() if records]
        for (topic, partition), _ in targets:
            await self._check_partition(producer, topic, partition)
        if len(targets) == 1:
            (topic, partition), records = targets[0]
            await self._send_partition(producer, topic, partition, records, tally)
        elif targets:
            await asyncio.gather(
                *(self._send_partition(producer, *target, records, tally) for target, records in targets)
            )
        if tally.error is not None:
            raise tally.error
        return SendReport(
            messages=tally.messages,
            batches=tally.batches,
            bytes=tally.bytes,
            retries=tally.retries,
            batch_latencies_ms=tuple(tally.latencies),
            buffer_waits=tally.buffer_waits,
            elapsed_ms=(time.monotonic() - started) * 1000,
        )

    async def _check_partition(self, producer: Any, topic: str, partition: int) -> None:
        what = f'reading the metadata of topic "{topic}"'
        try:
            partitions = await producer.partitions_for(topic)
            if partition not in partitions:
                await producer.client.force_metadata_update()
                partitions = await producer.partitions_for(topic)
        except Exception as exc:
            raise translate(exc, what=what, topic=topic) from exc
        if partition not in partitions:
            raise PartitionNotFound(
                f'partition {partition} of Kafka topic "{topic}" does not exist',
                detail=f"The topic has {len(partitions)} partitions (0 to {len(partitions) - 1}).",
            )

    async def _send_partition(
        self, producer: Any, topic: str, partition: int, records: Sequence[Record], tally: _Tally
    ) -> None:
        """Build and hand over the partition's batches in order, at most max.in.flight unacknowledged."""
        window: deque[_Flight] = deque()
        try:
            start = 0
            while start < len(records) and tally.error is None:
                if len(window) >= self.settings.max_in_flight:
                    await self._settle(producer, window.popleft(), tally)
                    continue
                flight = self._build(producer, topic, partition, records, start)
                start = flight.stop
                await self._submit(producer, flight, tally)
                window.append(flight)
            while window:
                await self._settle(producer, window.popleft(), tally)
        except ProduceError as exc:
            tally.fail(exc)
            while window:  # nothing of this call stays in flight once send() has answered
                with contextlib.suppress(ProduceError):
                    await self._settle(producer, window.popleft(), tally)

    def _build(
        self, producer: Any, topic: str, partition: int, records: Sequence[Record], start: int
    ) -> _Flight:
        builder = producer.create_batch()
        # The C record-batch builder inside aiokafka's BatchBuilder, called directly: the wrapper's
        # append() only adds two Python calls per record (a third of the hot path's time).
        append = builder._builder.append
        no_headers = _NO_HEADERS
        end = stop = min(len(records), start + self.settings.batch_messages)
        for index in range(start, stop):
            key, value, headers, timestamp_ms = records[index]
            # the C builder takes header lists only; it does not keep the list it is given
            header_list = list(headers) if headers else no_headers
            if append(index - start, timestamp_ms, key, value, header_list) is None:
                end = index  # 'batch.size' reached: this record opens the next batch
                break
        builder._relative_offset = end - start  # the record count aiokafka's sequence numbers use
        builder.close()
        if end == start + 1 and builder.size() > self.settings.batch_bytes:
            self._check_record_size(builder.size(), topic, partition, start)
        return _Flight(topic, partition, records, start, end, builder)

    def _check_record_size(self, size: int, topic: str, partition: int, index: int) -> None:
        s = self.settings
        for limit, name in ((s.max_request_size, "max.request.size"), (s.buffer_memory, "buffer.memory")):
            if size > limit:
                raise RecordTooLarge(
                    f"a record for {topic}[{partition}] is {size} bytes as a batch, more than "
                    f"'{name}' ({limit} bytes)",
                    detail=f"It is record {index} of the {topic}[{partition}] write.",
                    hint=f"Raise '{name}' on the sink connection, or write smaller records.",
                )

    async def _submit(self, producer: Any, flight: _Flight, tally: _Tally) -> None:
        """Reserve the batch's bytes in 'buffer.memory' and hand it to aiokafka."""
        size = flight.builder.size()
        now = time.monotonic()
        if flight.attempts == 0:
            flight.deadline = now + self._delivery_s
        try:
            tally.buffer_waits += await self._budget.acquire(size, max(flight.deadline - now, 0.0))
        except TimeoutError:
            raise BufferExhausted(
                f"waited more than delivery.timeout.ms ({self.settings.delivery_timeout_ms} ms) for "
                f"{size} bytes of 'buffer.memory' ({self.settings.buffer_memory} bytes) to send "
                f"{flight.stop - flight.start} records to {flight.topic}[{flight.partition}]",
                hint="Kafka acknowledges slower than rows arrive; raise 'buffer.memory' or retry.",
            ) from None
        flight.attempts += 1
        flight.sent_at = time.monotonic()
        try:
            if producer is not self._producer:
                raise ProducerReset("the producer is reconnecting after a delivery timeout")
            future = await producer.send_batch(flight.builder, flight.topic, partition=flight.partition)
        except Exception as exc:  # the attempt failed before aiokafka took the batch
            future = asyncio.get_running_loop().create_future()
            future.set_exception(exc)
        flight.future = future
        future.add_done_callback(partial(self._batch_done, size))

    def _batch_done(self, size: int, future: asyncio.Future[Any]) -> None:
        self._budget.release(size)
        if not future.cancelled():
            future.exception()  # retrieved: a failure is reported through _settle

    async def _settle(self, producer: Any, flight: _Flight, tally: _Tally) -> None:
        """Wait for the batch's acknowledgement, retrying retriable failures; raise when giving up."""
        while True:
            future = flight.future
            assert future is not None
            if not future.done():
                await asyncio.wait((future,), timeout=max(flight.deadline - time.monotonic(), 0.0))
            if not future.done():
                reason = (
                    f"{flight.stop - flight.start} records for {flight.topic}[{flight.partition}] were "
                    f"not acknowledged within delivery.timeout.ms ({self.settings.delivery_timeout_ms} ms)"
                )
                self._log_request(flight, TimeoutError(reason))
                self._abandon(producer, reason)
                raise DeliveryTimeout(reason, hint="Check that the Kafka brokers are up and reachable.")
            exc = future.exception()
            self._log_request(flight, exc)
            if exc is None:
                tally.messages += flight.stop - flight.start
                tally.batches += 1
                tally.bytes += flight.builder.size()
                tally.latencies.append((time.monotonic() - flight.sent_at) * 1000)
                return
            if isinstance(exc, kafka_errors.ProducerFenced):
                self._fenced = True
                self._in_transaction = False
                raise self._fenced_error(f"writing to {flight.topic}[{flight.partition}]") from exc
            remaining = flight.deadline - time.monotonic()
            if (
                tally.error is not None
                or not is_retriable(exc)
                or flight.attempts > self.settings.retries
                or remaining <= self._backoff_s
            ):
                raise translate(
                    exc, what=f"writing to {flight.topic}[{flight.partition}]", topic=flight.topic
                )
            tally.retries += 1
            await asyncio.sleep(self._backoff_s)  # retry.backoff.ms before the next attempt
            flight.builder = self._rebuild(producer, flight)
            await self._submit(producer, flight, tally)

    def _rebuild(self, producer: Any, flight: _Flight) -> Any:
        """A fresh builder with the batch's records (a built batch cannot be sent twice)."""
        builder = producer.create_batch()
        for key, value, headers, timestamp_ms in flight.records[flight.start : flight.stop]:
            builder.append(timestamp=timestamp_ms, key=key, value=value, headers=list(headers))
        builder.close()
        return builder

    def _log_request(self, flight: _Flight, error: BaseException | None) -> None:
        if self._on_request is None:
            return
        entry = RequestLog(
            timestamp=datetime.now(UTC),
            topic=flight.topic,
            partition=flight.partition,
            messages=flight.stop - flight.start,
            bytes=flight.builder.size(),
            latency_ms=(time.monotonic() - flight.sent_at) * 1000,
            error=None if error is None else describe_error(error),
        )
        try:
            self._on_request(entry)
        except Exception:
            log.exception("the produce request log callback failed")


async def _shut_down(producer: Any, reason: str) -> None:
    """Close a client whose pending batches nobody waits for: stop its sender first (a batch must
    not be failed while a request carrying it is in flight), then fail what is left and close."""
    await producer._sender.close()
    accumulator = producer._message_accumulator
    queued = [batch for queue in accumulator._batches.values() for batch in queue]
    for batch in queued:
        if batch.retry_count:  # sent before and re-queued: its done-callback expects it among the pending
            accumulator._pending_batches.add(batch)
    accumulator.fail_all(ProducerReset(reason))
    for batch in [*queued, *accumulator._pending_batches]:
        for future in (batch.future, batch._drain_waiter):  # retrieved: nobody waits for them any more
            if future.done() and not future.cancelled():
                future.exception()
    await producer.stop()


def _connection_socket(conn: Any) -> socket.socket | None:
    writer = getattr(conn, "_writer", None)
    if writer is None:
        return None
    sock: socket.socket | None = writer.get_extra_info("socket")
    return sock
