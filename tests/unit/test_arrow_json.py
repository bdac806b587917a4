"""The bulk JSON decoder gives exactly the per-record decoder's rows, or declines (no sockets).

Every value below goes through both :mod:`sources.decode` (via ``KafkaSourceReader.row_of``) and
:class:`sources.arrow_json.ArrowJsonDecoder`. Whenever the bulk decoder returns a table, the
per-record decoder must have succeeded on every record with the same values; wherever the
per-record decoder fails (or reads a value differently), the bulk decoder must decline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import NamedTuple

import orjson
import pyarrow as pa
import pytest

from catalog.model import ColumnDef
from catalog.options import validate_connection_options
from gateway.errors import DataException
from pipelines.planner import pipeline_engine
from sources.arrow_json import ArrowJsonDecoder
from sources.fetch import Fetched, PartitionChunk
from sources.kafka_source import KafkaSourceReader, source_duckdb_types

COLUMNS = (
    ColumnDef("id", "bigint"),
    ColumnDef("small", "smallint"),
    ColumnDef("n", "integer"),
    ColumnDef("name", "text"),
    ColumnDef("label", "varchar"),
    ColumnDef("score", "double precision"),
    ColumnDef("ratio", "real"),
    ColumnDef("ok", "boolean"),
    ColumnDef("at", "timestamptz"),
)
OPTIONS = (("bootstrap_servers", "127.0.0.1:9"), ("topic", "t"), ("type", "source"), ("format", "json"))


class FakeRecord(NamedTuple):
    """The fields of aiokafka's ConsumerRecord the decoders read."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


def _reader(
    columns: Sequence[ColumnDef] = COLUMNS, options: Sequence[tuple[str, str]] = OPTIONS
) -> KafkaSourceReader:
    validated = validate_connection_options(
        options, secret_exists=lambda _: True, columns=[c.name for c in columns]
    )
    return KafkaSourceReader("src", validated, {}, columns)


def _schema(reader: KafkaSourceReader) -> pa.Schema:
    engine = pipeline_engine()
    try:
        definitions = ", ".join(
            f'"{name}" {duck}'
            for (name, _), duck in zip(reader.columns, source_duckdb_types(COLUMNS, "json"), strict=True)
        )
        engine.create_table("src", definitions)

        async def read() -> pa.Schema:
            schema: pa.Schema = await engine.run_work(
                lambda cursor: cursor.sql("SELECT * FROM src LIMIT 0").to_arrow_table().schema
            )
            return schema

        return asyncio.run(read())
    finally:
        engine.close()


READER = _reader()
DECODER = ArrowJsonDecoder.for_source(READER.payload, "json", fail_on_missing=False, schema=_schema(READER))

VALUES: list[bytes | None] = [
    b'{"id": 1, "small": 2, "n": 3, "name": "a", "label": "b", "score": 1.5, "ratio": 0.25, "ok": true, '
    b'"at": "2024-01-01T00:00:00Z"}',
    b'{"id": -9223372036854775808, "n": 2147483647, "small": -32768}',
    b'{"id": 9223372036854775807, "at": "2024-02-29 12:34:56.123456"}',
    b'{"at": "2024-01-01T00:00:00+02:00", "name": "\\u00e9\\ud83d\\ude00", "extra": [1, {"x": null}]}',
    b'{"at": "2024-01-01"}',
    b'{"name": null, "score": null, "ok": false}',
    b"{}",
    b'{"score": 1e308, "ratio": 3.5}',
    b'{"score": -0.0}',
    # values the bulk decoder must leave to the per-record decoder (differences or errors):
    b'{"id": "42"}',
    b'{"id": 3.0}',
    b'{"id": 1.5}',
    b'{"small": 40000}',
    b'{"n": 3000000000}',
    b'{"id": 9223372036854775808}',
    b'{"name": 5}',
    b'{"name": true}',
    b'{"name": {"nested": 1}}',
    b'{"ok": 1}',
    b'{"ok": "yes"}',
    b'{"score": "NaN"}',
    b'{"score": NaN}',
    b'{"score": Infinity}',
    b'{"score": "1.5"}',
    b'{"at": 1700000000000}',
    b'{"at": "yesterday"}',
    b'{"at": "2024-01-01T00:00:00.123456789Z"}',
    b'{"name": "nul \\u0000 inside"}',
    b'{"ID": 7}',
    b'{"id": 1, "id": 2}',
    b"[1, 2]",
    b"42",
    b"not json",
    b"",
    b'{"name": "\xff"}',
    None,
]


def _record(value: bytes | None, offset: int = 0) -> FakeRecord:
    return FakeRecord("t", 0, offset, 1_700_000_000_000 + offset, b"k", value, [("h", b"v")])


def _fetched(records: Sequence[FakeRecord]) -> Fetched:
    """Records of partition 0 as the batch fetcher hands them out."""
    return Fetched("t", [PartitionChunk(0, list(records), records[-1].offset + 1)])


def _per_record(record: FakeRecord) -> tuple[object, ...] | DataException:
    try:
        return READER.row_of(record)
    except DataException as exc:
        return exc


def _normalise(value: object) -> object:
    """Arrow's view of a value: maps as lists of pairs, floats of a real column as float32."""
    if isinstance(value, dict):
        return list(value.items())
    return value


@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:60] for v in VALUES])
def test_one_record_is_read_alike_or_declined(value: bytes | None) -> None:
    assert DECODER is not None
    record = _record(value)
    table = DECODER.decode(_fetched([record]))
    expected = _per_record(record)
    if table is None:
        return  # declined: the per-record decoder decides, whatever it says
    assert not isinstance(expected, DataException), (
        f"bulk accepted what the per-record decoder refuses: {expected}"
    )
    (row,) = table.to_pylist()
    got = list(row.values())
    wanted = [_normalise(v) for v in expected]
    ratio = [c.name for c in COLUMNS].index("ratio")
    if wanted[ratio] is not None:  # a real column holds float32 on both paths once in DuckDB
        wanted[ratio] = float(pa.scalar(wanted[ratio], pa.float32()).as_py())
    assert got == wanted


def test_a_clean_batch_is_decoded_in_bulk_with_its_metadata() -> None:
    assert DECODER is not None
    values = [v for v in VALUES[:9] if v is not None]
    records = [_record(value, offset) for offset, value in enumerate(values)]
    table = DECODER.decode(_fetched(records))
    assert table is not None
    assert table.num_rows == len(records)
    rows = table.to_pylist()
    assert [row["_kafka_offset"] for row in rows] == list(range(len(records)))
    assert all(row["_kafka_headers"] == [("h", b"v")] for row in rows)
    assert all(row["_kafka_key"] == b"k" for row in rows)


def test_one_odd_record_sends_the_whole_batch_to_the_per_record_decoder() -> None:
    assert DECODER is not None
    records = [_record(orjson.dumps({"id": i}), i) for i in range(100)] + [_record(b'{"id": "7"}', 100)]
    assert DECODER.decode(_fetched(records)) is None


@pytest.mark.parametrize(
    ("columns", "options"),
    [
        ((ColumnDef("meta", "jsonb"),), OPTIONS),
        ((ColumnDef("code", "varchar(3)"),), OPTIONS),
        ((ColumnDef("amount", "numeric(10,2)"),), OPTIONS),
        ((ColumnDef("at", "timestamptz(3)"),), OPTIONS),
        ((ColumnDef("id", "bigint"),), (*OPTIONS, ("json.fail_on_missing", "true"))),
    ],
)
def test_sources_with_other_types_keep_the_per_record_decoder(
    columns: tuple[ColumnDef, ...], options: tuple[tuple[str, str], ...]
) -> None:
    reader = _reader(columns, options)
    assert (
        ArrowJsonDecoder.for_source(
            reader.payload, "json", fail_on_missing=reader.fail_on_missing, schema=pa.schema([])
        )
        is None
    )


def test_metadata_columns_no_query_reads_are_left_null() -> None:
    reader = _reader()
    decoder = ArrowJsonDecoder.for_source(
        reader.payload, "json", fail_on_missing=False, schema=_schema(reader), metadata_used={"_kafka_offset"}
    )
    assert decoder is not None
    table = decoder.decode(_fetched([_record(b'{"id": 1}', 41), _record(b'{"id": 2}', 42)]))
    assert table is not None
    assert table.column("_kafka_offset").to_pylist() == [41, 42]
    for unused in ("_kafka_key", "_kafka_partition", "_kafka_timestamp", "_kafka_headers"):
        assert table.column(unused).null_count == 2
