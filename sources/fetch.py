"""Reading a source topic as Kafka record batches, without a Python object per record on the way.

aiokafka's consumer turns every record into a ``ConsumerRecord`` (a namedtuple built in Python,
with sizes, deserializers and a headers tuple): about 1 µs a record, more than a pipeline spends
on the rest of a record's stateless work. :class:`BatchFetcher` sends the Fetch requests itself
(aiokafka's client and protocol classes, so versions, TLS and SASL are aiokafka's) and parses
the answers with aiokafka's C record-batch reader; the caller gets each partition's records as
aiokafka's C record objects, from which the pipeline takes just the values (and the metadata
columns its SELECT reads). It is the read-side twin of the producer building record batches
directly (DESIGN.md §2).

It does what aiokafka's fetcher does with the batches: checks their CRCs; under
``read_committed`` drops the batches of aborted transactions (by the aborted-transaction list of
the answer and the ABORT control records, exactly as ``aiokafka.consumer.fetcher`` does); skips
control batches and records below the fetch offset (a compressed batch starting earlier); and
moves each partition's position past all of them, so a position never stops on a control
record. One Fetch request per leader is kept in flight ahead of the caller (prefetch), so the
network and the broker work while the caller transforms what it has.

Errors: a partition whose leader moved or is unknown gets its metadata refreshed and is fetched
again; an offset out of range is handed to ``on_out_of_range`` (the pipeline places the partition
at the log start); any other error is raised as aiokafka's exception on the next :meth:`fetch`.
The group's offsets (committed, commit) stay with an AIOKafkaConsumer; this class never commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

import aiokafka.errors as kafka_errors
from aiokafka import TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.control_record import ABORT_MARKER, ControlRecord
from aiokafka.record.memory_records import MemoryRecords

log = logging.getLogger(__name__)

READ_UNCOMMITTED: Final = 0
READ_COMMITTED: Final = 1
FETCH_MAX_BYTES: Final = 16 * 1024 * 1024
PARTITION_MAX_BYTES: Final = 2 * 1024 * 1024


class SourceRecord(NamedTuple):
    """One record with its topic and partition (what the per-record decoder and the error policy
    read); built only when a micro-batch is decoded record by record."""

    topic: str
    partition: int
    offset: int
    timestamp: int | None
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


@dataclass(slots=True)
class PartitionChunk:
    """Consecutive records of one partition; ``next_offset`` is where reading goes on after them
    (past control records and aborted batches that followed them)."""

    partition: int
    records: list[Any]  # aiokafka record objects: offset, timestamp, key, value, headers
    next_offset: int


@dataclass(slots=True)
class Fetched:
    """Records handed out by one :meth:`BatchFetcher.fetch`, in partition, then offset order."""

    topic: str
    chunks: list[PartitionChunk] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(chunk.records) for chunk in self.chunks)

    def values(self) -> list[bytes | None]:
        return [record.value for chunk in self.chunks for record in chunk.records]

    def column(self, attribute: str) -> list[Any]:
        """One attribute of every record: ``offset``, ``timestamp``, ``key`` or ``headers``."""
        return [getattr(record, attribute) for chunk in self.chunks for record in chunk.records]

    def partitions(self) -> list[int]:
        return [chunk.partition for chunk in self.chunks for _ in chunk.records]

    def records(self) -> list[SourceRecord]:
        topic = self.topic
        return [
            SourceRecord(topic, chunk.partition, r.offset, r.timestamp, r.key, r.value, r.headers)
            for chunk in self.chunks
            for r in chunk.records
        ]

    def __iter__(self) -> Iterator[PartitionChunk]:
        return iter(self.chunks)


def _contains_abort_marker(batch: Any) -> bool:
    try:
        control = next(batch)
    except StopIteration:
        raise kafka_errors.KafkaError("Control batch did not contain any records") from None
    return bool(ControlRecord.parse(control.key) == ABORT_MARKER)


class PartitionStream:
    """One partition's message set from a fetch answer, turned into records only as they are
    taken: a batch at a time, so the records alive at once stay few (creating hundreds of
    thousands of GC-tracked record objects at once costs more in garbage collection than the
    parsing itself)."""

    def __init__(
        self,
        partition: int,
        raw: bytes,
        fetch_offset: int,
        *,
        read_committed: bool,
        aborted_transactions: Sequence[tuple[int, int]] | None,
    ) -> None:
        self.partition = partition
        self._records = MemoryRecords(raw)
        self._read_committed = read_committed
        self._aborted = sorted(aborted_transactions or [], key=lambda item: item[1])
        self._aborted_producers: set[int] = set()
        self.next_offset = fetch_offset  # past everything taken or skipped so far
        self._pending: list[Any] = []  # records of the open batch not taken yet
        self._pending_end = fetch_offset  # next offset after the open batch

    @property
    def exhausted(self) -> bool:
        return not self._pending and not self._records.has_next()

    def _open_next_batch(self) -> bool:
        """Make the next batch with data records the open one; False when none is left."""
        records = self._records
        while records.has_next():
            batch = records.next_batch()
            if not batch.validate_crc():
                raise kafka_errors.CorruptRecordException(f"Invalid CRC - partition {self.partition}")
            producer_id = batch.producer_id
            if self._read_committed and producer_id is not None:
                aborted = self._aborted
                while aborted and aborted[0][1] <= batch.base_offset:
                    self._aborted_producers.add(aborted.pop(0)[0])
                if batch.is_control_batch and _contains_abort_marker(batch):
                    self._aborted_producers.discard(producer_id)
                if batch.is_transactional and producer_id in self._aborted_producers:
                    self.next_offset = batch.next_offset
                    continue
            if batch.is_control_batch:
                self.next_offset = batch.next_offset
                continue
            if batch.base_offset < self.next_offset:
                floor = self.next_offset
                taken = [record for record in batch if record.offset >= floor]
            else:
                taken = list(batch)
            if not taken:
                self.next_offset = batch.next_offset
                continue
            self._pending, self._pending_end = taken, batch.next_offset
            return True
        return False

    def take(self, room: int) -> PartitionChunk:
        """Up to ``room`` records, with the position after them."""
        taken: list[Any] = []
        while room > 0 and (self._pending or self._open_next_batch()):
            pending = self._pending
            if len(pending) <= room:
                taken.extend(pending)
                room -= len(pending)
                self._pending = []
                self.next_offset = self._pending_end
            else:
                taken.extend(pending[:room])
                self._pending = pending[room:]
                self.next_offset = pending[room - 1].offset + 1
                room = 0
        return PartitionChunk(self.partition, taken, self.next_offset)


def unpack(
    partition: int,
    raw: bytes,
    fetch_offset: int,
    *,
    read_committed: bool,
    aborted_transactions: Sequence[tuple[int, int]] | None,
) -> PartitionChunk:
    """Every record of a message set at once, with the fetcher's rules (module doc)."""
    stream = PartitionStream(
        partition, raw, fetch_offset, read_committed=read_committed, aborted_transactions=aborted_transactions
    )
    return stream.take(1 << 62)


def end_of(raw: bytes, fetch_offset: int) -> int:
    """The offset after the last complete batch of a message set (batch headers only)."""
    records = MemoryRecords(raw)
    end = fetch_offset
    while records.has_next():
        end = max(end, records.next_batch().next_offset)
    return end


OutOfRange = Callable[[int], Awaitable[int]]


class BatchFetcher:
    """Fetches the assigned partitions of one topic; one instance per reader, not thread-safe."""

    def __init__(
        self,
        *,
        bootstrap_servers: Sequence[str],
        client_id: str,
        topic: str,
        isolation_level: str,
        max_wait_ms: int,
        security: Mapping[str, Any],
        on_out_of_range: OutOfRange,
    ) -> None:
        self.topic = topic
        self.read_committed = isolation_level == "read_committed"
        self.max_wait_ms = max_wait_ms
        self.on_out_of_range = on_out_of_range
        self._client = AIOKafkaClient(
            bootstrap_servers=list(bootstrap_servers), client_id=client_id, **dict(security)
        )
        self._positions: dict[int, int] = {}  # next offset to fetch, per partition
        self._buffer: list[PartitionStream] = []
        self._pending: asyncio.Task[list[PartitionStream]] | None = None
        self.highwater: dict[int, int] = {}
        self.last_stable: dict[int, int] = {}

    async def start(self) -> None:
        self._client.add_topic(self.topic)
        await self._client.bootstrap()

    async def stop(self) -> None:
        await self._cancel_pending()
        await self._client.close()

    async def seek(self, positions: Mapping[int, int]) -> None:
        """Fetch these partitions from these offsets on (drops what was fetched ahead)."""
        await self._cancel_pending()
        self._buffer.clear()
        self._positions = dict(positions)

    async def _cancel_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending

    async def fetch(self, max_records: int) -> Fetched:
        """Up to ``max_records`` records; waits at most about ``max_wait_ms`` when there are none."""
        if not self._buffer:
            if self._pending is None:
                self._pending = asyncio.create_task(self._fetch_once())
            pending = self._pending
            try:
                self._buffer.extend(await pending)
            finally:
                if self._pending is pending:
                    self._pending = None
        taken = self._take(max_records)
        if self._pending is None:
            self._pending = asyncio.create_task(self._fetch_once())  # fetch ahead while the caller works
        return taken

    def _take(self, max_records: int) -> Fetched:
        fetched = Fetched(self.topic)
        room = max_records
        while self._buffer and room > 0:
            stream = self._buffer[0]
            chunk = stream.take(room)
            room -= len(chunk.records)
            fetched.chunks.append(chunk)
            if stream.exhausted:
                self._buffer.pop(0)
        return fetched

    # -- one round of Fetch requests ---------------------------------------------------------------
    async def _fetch_once(self) -> list[PartitionStream]:
        by_leader: dict[int, list[int]] = {}
        unknown = False
        for partition in sorted(self._positions):
            leader = self._client.cluster.leader_for_partition(TopicPartition(self.topic, partition))
            if leader is None or leader < 0:
                unknown = True
                continue
            by_leader.setdefault(leader, []).append(partition)
        if unknown:
            await self._client.force_metadata_update()
        if not by_leader:
            await asyncio.sleep(self.max_wait_ms / 1000)  # no leader known yet: wait as a fetch would
            return []
        answers = await asyncio.gather(
            *(self._fetch_from(node, partitions) for node, partitions in by_leader.items())
        )
        return [chunk for chunks in answers for chunk in chunks]

    async def _fetch_from(self, node: int, partitions: list[int]) -> list[PartitionStream]:
        offsets = {partition: self._positions[partition] for partition in partitions}
        request = FetchRequest(
            self.max_wait_ms,
            1,
            FETCH_MAX_BYTES,
            READ_COMMITTED if self.read_committed else READ_UNCOMMITTED,
            [(self.topic, [(p, offsets[p], PARTITION_MAX_BYTES) for p in partitions])],
        )
        response = await self._client.send(node, request)
        streams: list[PartitionStream] = []
        refresh = False
        for _topic, answers in response.topics:
            for partition, error_code, highwater, *data in answers:
                error = kafka_errors.for_code(error_code)
                if error is kafka_errors.OffsetOutOfRangeError:
                    self._positions[partition] = await self.on_out_of_range(partition)
                    continue
                if error is not kafka_errors.NoError:
                    if getattr(error, "invalid_metadata", False) or getattr(error, "retriable", False):
                        refresh = True
                        continue
                    raise error(f"fetching partition {partition} of topic {self.topic}")
                if self._positions.get(partition) != offsets[partition]:
                    continue  # a seek happened meanwhile
                self.highwater[partition] = int(highwater)
                aborted = None
                if response.API_VERSION >= 4:
                    self.last_stable[partition] = int(data[0])
                    aborted = data[2] if response.API_VERSION >= 11 else data[-2]
                raw = data[-1]
                end = end_of(raw, offsets[partition])
                if end != offsets[partition]:
                    self._positions[partition] = end  # the next fetch goes on from here
                    streams.append(
                        PartitionStream(
                            partition,
                            raw,
                            offsets[partition],
                            read_committed=self.read_committed,
                            aborted_transactions=aborted,
                        )
                    )
        if refresh:
            await self._client.force_metadata_update()
        return streams
