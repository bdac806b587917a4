"""Checkpoints of windowed pipelines: the watermark, written to Kafka with the output it goes with.

A windowed pipeline commits source offsets that replay every row of its open windows after a
restart, so rows of windows it already emitted may be replayed too; the checkpoint says which
windows those are: every window ending at or before the checkpoint's watermark was emitted. Offset
metadata would be the natural place, but the test broker drops it (Tansu answers OffsetFetch with
empty metadata), so the checkpoint is a record of its own, keyed by the pipeline's consumer group,
in a one-partition compacted topic :data:`CHECKPOINT_TOPIC` on the sink's cluster. An exactly-once
pipeline writes it inside the transaction that holds the output and the source offsets, so the
three become visible together; an at-least-once pipeline writes it after the output was
acknowledged and before it commits the offsets, so a crash in between replays windows it then
emits again in full (a duplicate, never a partial window).

Reading takes the last *committed* checkpoint of the key: the partition is read from its start
with control records visible, and records of transactions that ended in an ABORT (or have not
ended) are left out here, since the test broker does not hide them (DESIGN.md §2).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from aiokafka import TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.control_record import ABORT_MARKER, ControlRecord
from aiokafka.record.memory_records import MemoryRecords

from gateway import errors
from sinks.producer import Record

CHECKPOINT_TOPIC: Final = "laminar-checkpoints"
READ_UNCOMMITTED: Final = 0
FETCH_MAX_BYTES: Final = 16 * 1024 * 1024
READ_TIMEOUT_S: Final = 30.0


@dataclass(slots=True)
class Checkpoint:
    watermark_us: int | None
    maxima: dict[int, int] = field(default_factory=dict)  # partition -> largest event time seen
    # partition -> offset after the last record read: a replay reads records again up to there,
    # and those were counted (late or not) the first time
    read: dict[int, int] = field(default_factory=dict)

    def record(self, key: str) -> Record:
        value = orjson.dumps(
            {
                "watermark_us": self.watermark_us,
                "maxima": {str(p): m for p, m in self.maxima.items()},
                "read": {str(p): o for p, o in self.read.items()},
            }
        )
        return Record(key.encode(), value, (), int(time.time() * 1000))

    @classmethod
    def parse(cls, value: bytes) -> Checkpoint:
        data = orjson.loads(value)
        maxima = {int(p): int(m) for p, m in dict(data.get("maxima") or {}).items()}
        read = {int(p): int(o) for p, o in dict(data.get("read") or {}).items()}
        watermark = data.get("watermark_us")
        return cls(None if watermark is None else int(watermark), maxima, read)


async def ensure_topic(bootstrap_servers: Sequence[str], security: Mapping[str, Any]) -> None:
    """Create the checkpoint topic (one partition, compacted) unless it exists."""
    admin = AIOKafkaAdminClient(bootstrap_servers=list(bootstrap_servers), **dict(security))
    await admin.start()
    try:
        if CHECKPOINT_TOPIC in await admin.list_topics():
            return
        with contextlib.suppress(kafka_errors.TopicAlreadyExistsError):
            await admin.create_topics(
                [
                    NewTopic(
                        CHECKPOINT_TOPIC,
                        num_partitions=1,
                        replication_factor=1,
                        topic_configs={"cleanup.policy": "compact"},
                    )
                ]
            )
    finally:
        await admin.close()


def _committed_values(raw: bytes, key: bytes, pending: dict[int, list[bytes]], found: list[bytes]) -> int:
    """Values of ``key`` from one fetch answer, transactions resolved by their control records;
    returns the offset after the last batch read."""
    records = MemoryRecords(raw)
    end = -1
    while records.has_next():
        batch = records.next_batch()
        end = batch.next_offset
        producer_id = batch.producer_id
        if batch.is_control_batch:
            control = next(batch)
            values = pending.pop(producer_id, [])
            if ControlRecord.parse(control.key) != ABORT_MARKER:
                found.extend(values)
            continue
        values = [record.value for record in batch if record.key == key and record.value is not None]
        if batch.is_transactional:
            pending.setdefault(producer_id, []).extend(values)
        else:
            found.extend(values)
    return end


async def read_latest(
    bootstrap_servers: Sequence[str], security: Mapping[str, Any], key: str
) -> Checkpoint | None:
    """The last committed checkpoint of ``key``, or None when it has none."""
    client = AIOKafkaClient(bootstrap_servers=list(bootstrap_servers), **dict(security))
    await client.bootstrap()
    try:
        client.add_topic(CHECKPOINT_TOPIC)
        await client.force_metadata_update()
        tp = TopicPartition(CHECKPOINT_TOPIC, 0)
        leader = client.cluster.leader_for_partition(tp)
        if leader is None or leader < 0:
            return None
        pending: dict[int, list[bytes]] = {}
        found: list[bytes] = []
        offset = 0
        deadline = time.monotonic() + READ_TIMEOUT_S
        while True:
            if time.monotonic() > deadline:
                # An older checkpoint would re-emit windows: better no start than a wrong one.
                raise errors.ConnectionFailure(
                    f"reading the checkpoints in topic {CHECKPOINT_TOPIC} did not finish within "
                    f"{READ_TIMEOUT_S:g} s (at offset {offset})"
                )
            request = FetchRequest(
                100,
                1,
                FETCH_MAX_BYTES,
                READ_UNCOMMITTED,
                [(CHECKPOINT_TOPIC, [(0, offset, FETCH_MAX_BYTES)])],
            )
            response = await client.send(leader, request)
            ((_topic, answers),) = response.topics
            ((_partition, error_code, highwater, *data),) = answers
            error = kafka_errors.for_code(error_code)
            if error is not kafka_errors.NoError:
                raise error(f"reading the checkpoints topic {CHECKPOINT_TOPIC}")
            end = _committed_values(data[-1], key.encode(), pending, found)
            if end < 0 or end >= highwater:
                break
            offset = end
        return Checkpoint.parse(found[-1]) if found else None
    finally:
        await client.close()
