"""Protobuf record values into rows: the source side of the `protobuf` format.

:func:`columns_for` derives a message's source columns (name, PostgreSQL type) and
:class:`ProtobufDecoder` turns framed (or bare) record values into those columns' values, one reader
per field; nested messages, repeated messages and maps become JSON text. The mapping is tabled in
:mod:`formats.protobuf_format`'s docstring.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import DecodeError

from formats.protobuf_schema import (
    _DURATION,
    _EPOCH,
    _F,
    _INT32_TYPES,
    _INT64_TYPES,
    _TIMESTAMP,
    _UINT32_TYPES,
    _UINT64_TYPES,
    _WRAPPERS,
    Converter,
    MessageClass,
    _find_field,
    _is_map,
    read_frame,
)
from gateway.errors import (
    DataException,
    InvalidBinaryRepresentation,
    UndefinedColumn,
)


# --- errors --------------------------------------------------------------------------------------
class DatetimeFieldOverflow(DataException):
    sqlstate = "22008"


# --- decoding --------------------------------------------------------------------------------------
_JSON_MAPPED: Final = frozenset(
    {_TIMESTAMP, _DURATION, *_WRAPPERS}
    | {f"google.protobuf.{name}" for name in ("Struct", "Value", "ListValue", "Any", "FieldMask", "Empty")}
)
_SQL_TYPES: Final = {
    **dict.fromkeys(_INT32_TYPES, "integer"),
    **dict.fromkeys(_INT64_TYPES, "bigint"),
    **dict.fromkeys(_UINT32_TYPES, "bigint"),
    **dict.fromkeys(_UINT64_TYPES, "numeric"),
    _F.TYPE_FLOAT: "real",
    _F.TYPE_DOUBLE: "double precision",
    _F.TYPE_BOOL: "boolean",
    _F.TYPE_STRING: "text",
    _F.TYPE_BYTES: "bytea",
    _F.TYPE_ENUM: "text",
}


def _element_sql_type(field: Any) -> str | None:
    """The column type of one value of the field, or None for messages read as jsonb."""
    message_type = field.message_type
    if message_type is None:
        return _SQL_TYPES.get(field.type)
    if message_type.full_name == _TIMESTAMP:
        return "timestamptz"
    if message_type.full_name == _DURATION:
        return "interval"
    if message_type.full_name in _WRAPPERS:
        return _SQL_TYPES[message_type.fields_by_name["value"].type]
    return None


def _column_type(field: Any) -> str:
    if _is_map(field):
        return "jsonb"
    element = _element_sql_type(field)
    if element is None:
        return "jsonb"
    return element + "[]" if field.is_repeated else element


def columns_for(descriptor: Descriptor) -> list[tuple[str, str]]:
    """The source columns of a message: (field name, PostgreSQL type) in field order."""
    return [(field.name, _column_type(field)) for field in descriptor.fields]


def _timestamp_value(message: Any) -> dt.datetime:
    try:
        return _EPOCH + dt.timedelta(seconds=message.seconds, microseconds=message.nanos // 1000)
    except OverflowError:
        raise DatetimeFieldOverflow(
            f"timestamp out of range: {message.seconds} seconds since 1970-01-01",
        ) from None


def _duration_value(message: Any) -> dt.timedelta:
    try:
        return dt.timedelta(seconds=message.seconds, microseconds=int(message.nanos / 1000))
    except OverflowError:
        raise DatetimeFieldOverflow(f"interval out of range: {message.seconds} seconds") from None


def _value_reader(field: Any) -> Converter | None:
    """Turns one value of the field as the runtime gives it into the column's value (None: as is)."""
    message_type = field.message_type
    if message_type is None:
        if field.type == _F.TYPE_ENUM:
            names = {number: value.name for number, value in field.enum_type.values_by_number.items()}
            return lambda number: names.get(number) or str(number)
        if field.type in _UINT64_TYPES:
            return Decimal
        return None
    name = message_type.full_name
    if name == _TIMESTAMP:
        return _timestamp_value
    if name == _DURATION:
        return _duration_value
    if name in _WRAPPERS:
        inner = _value_reader(message_type.fields_by_name["value"])
        return (lambda m: inner(m.value)) if inner is not None else (lambda m: m.value)
    return None


def _json_scalar(field: Any, value: Any) -> Any:
    if field.type == _F.TYPE_ENUM:
        named = field.enum_type.values_by_number.get(value)
        return named.name if named is not None else value
    if field.type == _F.TYPE_BYTES:
        return base64.b64encode(value).decode()
    if field.message_type is not None:
        return _json_value(value)
    return value


def _json_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_value(message: Any) -> Any:
    """A message as JSON-ready Python values (see the module docstring)."""
    descriptor = message.DESCRIPTOR
    if descriptor.full_name in _WRAPPERS:
        return _json_scalar(descriptor.fields_by_name["value"], message.value)
    if descriptor.full_name in _JSON_MAPPED:
        try:
            return json_format.MessageToDict(message, preserving_proto_field_name=True)
        except (TypeError, ValueError, KeyError, json_format.Error):  # an Any of a type not in the pool
            return {
                "@type": getattr(message, "type_url", ""),
                "value": base64.b64encode(getattr(message, "value", b"")).decode(),
            }
    out: dict[str, Any] = {}
    for field in descriptor.fields:
        value = getattr(message, field.name)
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            out[field.name] = {_json_key(k): _json_scalar(value_field, v) for k, v in sorted(value.items())}
        elif field.is_repeated:
            out[field.name] = [_json_scalar(field, item) for item in value]
        elif not field.has_presence or message.HasField(field.name):
            out[field.name] = _json_scalar(field, value)
    return out


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _field_reader(field: Any) -> Callable[[Any], Any]:
    """The column value of ``field`` in a parsed message."""
    name = field.name
    if _is_map(field):
        value_field = field.message_type.fields_by_name["value"]
        return lambda m: _json_text(
            {_json_key(k): _json_scalar(value_field, v) for k, v in sorted(getattr(m, name).items())}
        )
    if field.is_repeated:
        if _element_sql_type(field) is None:
            return lambda m: _json_text([_json_value(item) for item in getattr(m, name)])
        element = _value_reader(field)
        if element is None:
            return lambda m: list(getattr(m, name))
        return lambda m: [element(item) for item in getattr(m, name)]
    read = _value_reader(field)
    if read is None and field.message_type is not None:

        def read(message: Any) -> Any:
            return _json_text(_json_value(message))

    if field.has_presence:
        if read is None:
            return lambda m: getattr(m, name) if m.HasField(name) else None
        return lambda m: read(getattr(m, name)) if m.HasField(name) else None
    if read is None:
        return lambda m: getattr(m, name)
    return lambda m: read(getattr(m, name))


class ProtobufDecoder:
    """Framed (or bare) Protobuf record values → the columns of :func:`columns_for` (or a subset)."""

    def __init__(
        self,
        message_cls: MessageClass,
        *,
        columns: Sequence[str] | None = None,
        framed: bool = True,
        message_indexes: Sequence[int] | None = None,
    ) -> None:
        """``columns`` picks fields by name (exactly, else case-insensitively; 42703 for none);
        ``message_indexes`` makes records naming another message of the schema an error (22P03)."""
        self._cls = message_cls
        self.descriptor = message_cls.DESCRIPTOR
        if columns is None:
            named = [(field.name, field) for field in self.descriptor.fields]
        else:
            named = [(name, self._field_named(name)) for name in columns]
        self.columns: tuple[tuple[str, str], ...] = tuple((name, _column_type(f)) for name, f in named)
        fields = [field for _, field in named]
        self._readers = tuple(_field_reader(field) for field in fields)
        self._framed = framed
        self._indexes = None if message_indexes is None else tuple(message_indexes) or (0,)
        self._nulls = (None,) * len(fields)

    def _field_named(self, name: str) -> Any:
        field, _ = _find_field(self.descriptor, name)
        if field is None:
            raise UndefinedColumn(
                f'column "{name}" has no field in Protobuf message {self.descriptor.full_name}',
                hint="Its fields are " + ", ".join(f.name for f in self.descriptor.fields) + ".",
            )
        return field

    def parse(self, value: bytes) -> Any:
        """The message in a record value (framing checked when the decoder is framed)."""
        offset = 0
        if self._framed:
            _, indexes, offset = read_frame(value)
            if self._indexes is not None and indexes != self._indexes:
                raise InvalidBinaryRepresentation(
                    f"the record holds the message at indexes {list(indexes)}, not "
                    f"{self.descriptor.full_name} (indexes {list(self._indexes)})"
                )
        try:
            return self._cls.FromString(value[offset:] if offset else value)
        except DecodeError as exc:
            raise InvalidBinaryRepresentation(
                f"the record value is not a valid {self.descriptor.full_name} message: {exc}"
            ) from None

    def row(self, message: Any) -> tuple[Any, ...]:
        """The column values of a parsed message."""
        return tuple(read(message) for read in self._readers)

    def decode(self, key: bytes | None, value: bytes | None) -> tuple[Any, ...]:
        del key
        if value is None:
            return self._nulls
        return self.row(self.parse(value))
