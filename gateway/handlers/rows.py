"""Turning result rows into RowDescription and DataRow bytes, in text or binary format.

Shared by the simple and extended query handlers. Values are encoded column by column with the
codec of :mod:`gateway.protocol.types`; aware timestamps are shown in the session's TimeZone.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from gateway.errors import FeatureNotSupported, ProtocolViolation
from gateway.protocol import messages as m
from gateway.protocol import types as pgtypes
from gateway.query.results import Column, Row

TEXT_FORMAT = 0
BINARY_FORMAT = 1

Encoder = Callable[[Any], bytes]


def resolve_formats(count: int, requested: Sequence[int]) -> tuple[int, ...]:
    """Per-column formats from Bind's list: none → text, one → all columns, else one each."""
    if not requested:
        return (TEXT_FORMAT,) * count
    if len(requested) == 1:
        return (requested[0],) * count
    if len(requested) != count:
        raise ProtocolViolation(
            f"bind message has {len(requested)} result formats but query has {count} columns"
        )
    return tuple(requested)


@lru_cache(maxsize=1024)
def row_description(columns: tuple[Column, ...], formats: tuple[int, ...]) -> bytes:
    """RowDescription bytes; cached, since a prepared statement describes the same way each time."""
    return m.RowDescription(
        tuple(
            m.FieldDescription(c.name, c.type_oid, c.type_size, c.type_modifier, fmt)
            for c, fmt in zip(columns, formats, strict=True)
        )
    ).encode()


@lru_cache(maxsize=64)
def _zone(name: str) -> dt.tzinfo:
    return dt.UTC if name == "UTC" else zoneinfo.ZoneInfo(name)


@lru_cache(maxsize=1024)
def encoders(columns: tuple[Column, ...], formats: tuple[int, ...], time_zone: str) -> tuple[Encoder, ...]:
    """One encoder per column for the requested formats (cached per result shape)."""
    result: list[Encoder] = []
    zone = _zone(time_zone)
    for column, fmt in zip(columns, formats, strict=True):
        oid = column.type_oid
        if fmt == BINARY_FORMAT:
            if not pgtypes.supports_binary(oid):
                raise FeatureNotSupported(f"binary output is not supported for column {column.name!r}")
            base: Encoder = _binary_encoder(oid)
        elif fmt == TEXT_FORMAT:
            base = _text_encoder(oid)
        else:
            raise ProtocolViolation(f"unsupported format code {fmt}")
        if oid == pgtypes.TIMESTAMPTZ:  # DuckDB hands out values in its own zone: always convert
            result.append(_in_zone(base, zone))
        else:
            result.append(base)
    return tuple(result)


def _text_encoder(oid: int) -> Encoder:
    return lambda value: pgtypes.encode_text(oid, value)


def _binary_encoder(oid: int) -> Encoder:
    return lambda value: pgtypes.encode_binary(oid, value)


def _in_zone(base: Encoder, zone: dt.tzinfo) -> Encoder:
    def encode(value: Any) -> bytes:
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(zone)
        return base(value)

    return encode


@lru_cache(maxsize=512)
def command_complete(tag: str) -> bytes:
    """CommandComplete bytes; tags repeat ("SELECT 1", "SET"), so they are encoded once."""
    return m.CommandComplete(tag).encode()


def data_rows(rows: Sequence[Row], column_encoders: Sequence[Encoder]) -> bytes:
    """DataRow messages for a chunk of rows, as one bytes object."""
    encode_row = m.encode_data_row
    out = []
    for row in rows:
        out.append(
            encode_row(
                [
                    None if value is None else enc(value)
                    for value, enc in zip(row, column_encoders, strict=True)
                ]
            )
        )
    return b"".join(out)
