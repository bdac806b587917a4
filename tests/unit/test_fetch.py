"""Record batches as the batch fetcher reads them (no sockets): transactions, control records,
offsets below the fetch position, CRCs, and handing out records a micro-batch at a time."""

from __future__ import annotations

import struct

import pytest
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.util import calc_crc32c

from sources.fetch import BatchFetcher, Fetched, PartitionChunk, PartitionStream, end_of, unpack

ATTRIBUTES_OFFSET = struct.calcsize(">qiibI")
CRC_OFFSET = struct.calcsize(">qiib")
CONTROL = 0x20
ABORT, COMMIT = 0, 1


def batch(base: int, values: list[bytes], *, producer_id: int = -1, transactional: bool = False) -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=int(transactional),
        producer_id=producer_id,
        producer_epoch=0 if producer_id >= 0 else -1,
        base_sequence=0 if producer_id >= 0 else -1,
        batch_size=1 << 20,
    )
    for index, value in enumerate(values):
        builder.append(index, timestamp=1_700_000_000_000 + index, key=b"k", value=value, headers=[])
    raw = bytearray(builder.build())
    struct.pack_into(">q", raw, 0, base)  # the broker assigns the base offset
    return bytes(raw)


def control(base: int, producer_id: int, marker: int) -> bytes:
    """A control batch (commit or abort marker) as a broker writes it."""
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=1,
        producer_id=producer_id,
        producer_epoch=0,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    builder.append(0, timestamp=1_700_000_000_000, key=struct.pack(">hh", 0, marker), value=b"", headers=[])
    raw = bytearray(builder.build())
    struct.pack_into(">q", raw, 0, base)
    attributes = struct.unpack_from(">h", raw, ATTRIBUTES_OFFSET)[0] | CONTROL
    struct.pack_into(">h", raw, ATTRIBUTES_OFFSET, attributes)
    struct.pack_into(">I", raw, CRC_OFFSET, calc_crc32c(bytes(raw[ATTRIBUTES_OFFSET:])))
    return bytes(raw)


def offsets_and_values(chunk: PartitionChunk) -> list[tuple[int, bytes]]:
    return [(record.offset, record.value) for record in chunk.records]


def test_plain_batches_are_read_whole_and_the_position_moves_past_them() -> None:
    raw = batch(0, [b"a", b"b"]) + batch(2, [b"c"])
    chunk = unpack(3, raw, 0, read_committed=True, aborted_transactions=[])
    assert offsets_and_values(chunk) == [(0, b"a"), (1, b"b"), (2, b"c")]
    assert (chunk.partition, chunk.next_offset) == (3, 3)


def test_records_below_the_fetch_offset_are_skipped() -> None:
    chunk = unpack(0, batch(10, [b"a", b"b", b"c"]), 11, read_committed=False, aborted_transactions=None)
    assert offsets_and_values(chunk) == [(11, b"b"), (12, b"c")]
    assert chunk.next_offset == 13


def test_read_committed_drops_aborted_transactions_and_every_control_record() -> None:
    raw = (
        batch(0, [b"kept-1", b"kept-2"], producer_id=7, transactional=True)
        + control(2, 7, COMMIT)
        + batch(3, [b"aborted"], producer_id=8, transactional=True)
        + control(4, 8, ABORT)
        + batch(5, [b"plain"])
    )
    committed = unpack(0, raw, 0, read_committed=True, aborted_transactions=[(8, 3)])
    assert offsets_and_values(committed) == [(0, b"kept-1"), (1, b"kept-2"), (5, b"plain")]
    assert committed.next_offset == 6
    uncommitted = unpack(0, raw, 0, read_committed=False, aborted_transactions=None)
    assert [value for _, value in offsets_and_values(uncommitted)] == [
        b"kept-1",
        b"kept-2",
        b"aborted",
        b"plain",
    ]


def test_a_trailing_control_record_still_moves_the_position() -> None:
    raw = batch(0, [b"a"], producer_id=7, transactional=True) + control(1, 7, COMMIT)
    chunk = unpack(0, raw, 0, read_committed=True, aborted_transactions=[])
    assert offsets_and_values(chunk) == [(0, b"a")]
    assert chunk.next_offset == 2  # a pipeline's lag and committed offset pass the marker


def test_a_corrupt_batch_is_an_error() -> None:
    raw = bytearray(batch(0, [b"value"]))
    raw[-1] ^= 0xFF
    with pytest.raises(CorruptRecordException):
        unpack(0, bytes(raw), 0, read_committed=False, aborted_transactions=None)


def test_fetched_records_come_out_in_partition_order_with_their_metadata() -> None:
    first = unpack(0, batch(0, [b"a", b"b"]), 0, read_committed=False, aborted_transactions=None)
    second = unpack(2, batch(5, [b"c"]), 5, read_committed=False, aborted_transactions=None)
    fetched = Fetched("events", [first, second])
    assert len(fetched) == 3
    assert fetched.values() == [b"a", b"b", b"c"]
    assert fetched.partitions() == [0, 0, 2]
    assert fetched.column("offset") == [0, 1, 5]
    records = fetched.records()
    assert [(r.topic, r.partition, r.offset, r.key, r.value) for r in records] == [
        ("events", 0, 0, b"k", b"a"),
        ("events", 0, 1, b"k", b"b"),
        ("events", 2, 5, b"k", b"c"),
    ]


async def test_records_are_handed_out_at_most_max_records_at_a_time() -> None:
    async def never(partition: int) -> int:
        raise AssertionError(f"partition {partition} was not out of range")

    fetcher = BatchFetcher(
        bootstrap_servers=["127.0.0.1:9"],
        client_id="t",
        topic="events",
        isolation_level="read_committed",
        max_wait_ms=10,
        security={},
        on_out_of_range=never,
    )
    fetcher._buffer = [  # what two fetch answers left
        PartitionStream(0, batch(0, [b"a", b"b", b"c"]), 0, read_committed=True, aborted_transactions=[]),
        PartitionStream(1, batch(0, [b"d"]), 0, read_committed=True, aborted_transactions=[]),
    ]
    first = fetcher._take(2)
    assert first.values() == [b"a", b"b"]
    assert [chunk.next_offset for chunk in first] == [2]  # the rest of partition 0 is still to come
    second = fetcher._take(10)
    assert second.values() == [b"c", b"d"]
    assert [(chunk.partition, chunk.next_offset) for chunk in second] == [(0, 3), (1, 1)]
    await fetcher._client.close()


def test_a_stream_hands_out_records_a_batch_at_a_time_and_knows_its_end() -> None:
    raw = batch(0, [b"a", b"b"], producer_id=7, transactional=True) + control(2, 7, COMMIT) + batch(3, [b"c"])
    assert end_of(raw, 0) == 4
    stream = PartitionStream(0, raw, 0, read_committed=True, aborted_transactions=[])
    first = stream.take(1)
    assert (offsets_and_values(first), first.next_offset, stream.exhausted) == ([(0, b"a")], 1, False)
    second = stream.take(5)
    assert offsets_and_values(second) == [(1, b"b"), (3, b"c")]
    assert (second.next_offset, stream.exhausted) == (4, True)
