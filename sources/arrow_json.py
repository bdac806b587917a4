"""A whole micro-batch of JSON records decoded at once by pyarrow's JSON reader (C++), when it can be.

The per-record decoder (:mod:`sources.decode`) defines what a JSON source means; this module is a
faster way to get *the same rows* for the common case, used by pipelines. It applies only when
every declared column has a type on which pyarrow's reading is the same as or stricter than the
per-record decoder's: ``smallint``, ``integer``, ``bigint``, ``real``, ``double precision``,
``boolean``, ``text``, ``varchar`` without a length and ``timestamptz``; and not with
``'json.fail_on_missing'``. Even then, :meth:`ArrowJsonDecoder.decode` returns None, and the caller
decodes the batch record by record (applying the error policy to each), whenever anything is not
plainly the same:

* pyarrow rejects the batch: invalid JSON, a value of another JSON type than the column's (``"42"``
  for a bigint, ``1.0`` for an integer, ``5`` for text), an out-of-range number, a timestamp it
  cannot parse, a key given twice, a value that is not an object;
* a record has no value (a tombstone), the batch is not valid UTF-8, or it mentions
  ``NaN``/``Infinity`` literals or ``\\u0000`` (pyarrow accepts what the per-record decoder refuses);
* a key matches a declared column only case-insensitively (the per-record decoder fills the column
  with it; pyarrow ignores keys it was not told about). Only rows with a NULL column can be such a
  row, so only those are looked at again;
* the reader returns another number of rows than there are records.

So a record that would fail, or be read differently, is never decided here. Equivalence is tested
value by value in ``tests/unit/test_arrow_json.py`` against the per-record decoder.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from typing import Final, cast

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from gateway.protocol import types as pg
from sources.decode import PayloadColumn
from sources.fetch import Fetched
from sources.kafka_source import METADATA_NAMES

FAST_OIDS: Final = frozenset(
    {pg.INT2, pg.INT4, pg.INT8, pg.FLOAT4, pg.FLOAT8, pg.BOOL, pg.TEXT, pg.VARCHAR, pg.TIMESTAMPTZ}
)
_SUSPECT: Final = (b"NaN", b"Infinity", b"\\u0000")
_TIMESTAMP_MS: Final = pa.timestamp("ms")
_ATTRIBUTES: Final = {"_kafka_key": "key", "_kafka_offset": "offset"}


class ArrowJsonDecoder:
    """Decodes record values of a JSON source into the payload columns of an Arrow table."""

    def __init__(
        self, payload: Sequence[PayloadColumn], schema: pa.Schema, metadata_used: Collection[str]
    ) -> None:
        """``schema``: the Arrow schema of the whole source table (payload, then metadata);
        ``metadata_used``: the metadata columns the queries read (the others are left NULL)."""
        self.metadata_used = frozenset(metadata_used)
        self.names = [column.name for column in payload]
        self.exact = frozenset(self.names)
        self.lowered = frozenset(name.lower() for name in self.names)
        self.schema = schema
        self.payload_schema = pa.schema([schema.field(i) for i in range(len(payload))])
        self.parse_options = pa_json.ParseOptions(
            explicit_schema=self.payload_schema, unexpected_field_behavior="ignore"
        )
        self.read_options = pa_json.ReadOptions(use_threads=False, block_size=1 << 24)

    @classmethod
    def for_source(
        cls,
        payload: Sequence[PayloadColumn],
        fmt: str,
        *,
        fail_on_missing: bool,
        schema: pa.Schema,
        metadata_used: Collection[str] = METADATA_NAMES,
    ) -> ArrowJsonDecoder | None:
        """A decoder for this source, or None when its columns need the per-record decoder."""
        if fmt != "json" or fail_on_missing or not payload:
            return None
        for column in payload:
            if column.oid not in FAST_OIDS or column.length is not None or column.whole_value:
                return None
            if column.oid == pg.TIMESTAMPTZ and column.precision is not None:
                return None
        return cls(payload, schema, metadata_used)

    def decode(self, records: Fetched) -> pa.Table | None:
        """The source table's rows for these records, or None: decode them one by one instead."""
        read = records.values()
        if not read or None in read:
            return None
        values = cast(list[bytes], read)
        joined = b"\n".join(values)
        if any(suspect in joined for suspect in _SUSPECT):
            return None
        try:
            joined.decode()
        except UnicodeDecodeError:
            return None
        try:
            table = pa_json.read_json(
                io.BytesIO(joined), read_options=self.read_options, parse_options=self.parse_options
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return None
        if table.num_rows != len(records):
            return None
        columns = [table.column(i).combine_chunks() for i in range(len(self.names))]
        if self._case_variant_keys(columns, values):
            return None
        columns.extend(self._metadata(records))
        return pa.Table.from_arrays(columns, schema=self.schema)

    def _case_variant_keys(self, columns: Sequence[pa.Array], values: Sequence[bytes]) -> bool:
        """Does a row with a NULL column have a key that only case-insensitively names a column?"""
        nulls = [column.is_null() for column in columns if column.null_count]
        if not nulls:
            return False
        mask = nulls[0]
        for other in nulls[1:]:
            mask = pc.or_(mask, other)
        for index in pc.indices_nonzero(mask).to_pylist():
            keys = orjson.loads(values[index]).keys()
            if any(key not in self.exact and key.lower() in self.lowered for key in keys):
                return True  # "userId" fills column userid in the per-record decoder
        return False

    def _metadata(self, records: Fetched) -> list[pa.Array]:
        """The metadata columns: built from the records where a query reads them, else NULL."""
        base = len(self.names)
        columns = []
        for position, name in enumerate(METADATA_NAMES):
            kind = self.schema.field(base + position).type
            if name not in self.metadata_used:
                columns.append(pa.nulls(len(records), kind))
            elif name == "_kafka_timestamp":
                stamps = pa.array(records.column("timestamp"), pa.int64())
                stamps = pc.if_else(pc.less(stamps, 0), pa.scalar(None, pa.int64()), stamps)
                columns.append(stamps.cast(_TIMESTAMP_MS).cast(kind))
            elif name == "_kafka_headers":
                headers = records.column("headers")
                if any(headers):  # a repeated header name: the last value wins, as per record
                    columns.append(pa.array([list(dict(h).items()) if h else [] for h in headers], kind))
                else:
                    columns.append(pa.array([[]] * len(headers), kind))
            elif name == "_kafka_partition":
                columns.append(pa.array(records.partitions(), kind))
            else:
                columns.append(pa.array(records.column(_ATTRIBUTES[name]), kind))
        return columns
