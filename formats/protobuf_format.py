"""The `protobuf` format: rows as Protobuf messages in the Confluent wire format, and back.

Schemas. :func:`compile_proto` turns .proto text, as a Confluent Schema Registry stores it (plus the
texts of the files it imports, by import path), into a ``FileDescriptorSet`` by running protoc in
process (grpcio-tools' bundled compiler, whose well-known types make ``import
"google/protobuf/timestamp.proto"`` work without a reference). :func:`load_descriptor_set` reads the
file named by ``'protobuf.descriptor_file'`` (``protoc --include_imports -o FILE``). From a set,
:func:`message_class` builds the dynamic message class of ``'protobuf.message'`` in a fresh
DescriptorPool and gives its message indexes; :func:`message_class_at` finds the message a record's
indexes name. Bad schema text or an unreadable set is :class:`ProtobufSchemaError` (22023) carrying
protoc's messages (``schema.proto:3:25: Expected ";".``); a message the set lacks is 42704.

Framing (Confluent's wire format for Protobuf, docs.confluent.io/platform/current/schema-registry/
fundamentals/serdes-develop/index.html#wire-format): byte 0 is the magic byte 0; bytes 1-4 the schema
id, big-endian; then the message indexes, the path from the schema file's top level to the message
(``[1]`` the second top-level message, ``[0, 2]`` the third message nested in the first), written as
zig-zag varints: their count, then each index; ``[0]``, by far the commonest, is written as the single
byte 0 (a count of zero). The serialized message follows. :func:`frame_header` writes it,
:func:`read_frame` reads it (22P03 for a bad magic byte or truncated header). An encoder or decoder
built without a schema id reads and writes bare messages (a descriptor file without a registry).

Sinks: :class:`ProtobufEncoder` is built once per statement from the output columns, (name,
PostgreSQL OID) pairs like :class:`formats.json_format.JsonEncoder`, less the routing columns in
``exclude``. Each column goes to the field of the same name (else the field whose JSON name matches,
else a case-insensitive match: PostgreSQL folds ``userId`` to ``userid``). NULL leaves the field
unset (proto3's default, or absent for fields with presence: optional, messages, wrappers, oneof
members). What each field takes (:func:`check_fits` lists the columns that do not fit at CREATE time;
the constructor raises :class:`ProtobufMismatch`, 22023, for them):

=============================  ====================================================================
field                          columns (values as DuckDB's fetchall() gives them)
=============================  ====================================================================
int32/sint32/sfixed32, int64,  smallint/integer/bigint; numeric and real/double rounded as
uint32/fixed32, uint64, ...    PostgreSQL casts them (numeric half away from zero, floats half to
                               even); out of the field's range is 22003
float / double                 any number; past float's range is 22003 (NaN and infinities pass)
bool                           boolean
string                         any type: text as is, other values as their PostgreSQL text form
bytes                          bytea; text as its UTF-8 bytes
enum                           text: the value's name (exact, else case-insensitively; unknown names
                               22P02); integers: the number (closed proto2 enums: defined ones only)
google.protobuf.Timestamp      timestamptz, timestamp (as UTC), date (its midnight UTC), text
                               (ISO-8601, UTC without an offset), json (RFC 3339 string)
google.protobuf.Duration       interval (a month counts 30 days, as DuckDB's timedelta does)
google.protobuf.*Value         what the wrapped field takes; NULL leaves the wrapper unset
other messages, Struct         json/jsonb or text holding a JSON object (Protobuf's JSON mapping:
                               names or JSON names, int64 as numbers or strings, enums by name);
                               STRUCT values (dicts, announced as text) with the field names as keys
repeated X                     an array whose elements fit X (a NULL element is 22004); json/jsonb or
                               text holding a JSON array
map<K, V>                      json/jsonb or text holding a JSON object; MAP values (dicts)
=============================  ====================================================================

Two non-NULL columns for members of one oneof are 22000 (one would silently replace the other); a
NULL for a proto2 ``required`` field is 22004. A value that does not fit its field at run time (a
string in a bigint column, an integer past the field's range) raises a :class:`DataException`
subclass naming the column and the field; ``encode_many`` raises on the first such row, so a sink with
a skip/dlq policy re-encodes that batch row by row with ``encode``.

Sources: :func:`columns_for` derives columns (name, PostgreSQL type) from a message's fields and
:class:`ProtobufDecoder` turns framed record values into those columns' values (a ``RecordDecoder``
like :mod:`sources.decode`'s). Columns are the fields in declaration order, named as in the .proto:

=============================  ==========================  =========================================
field                          column type                 value
=============================  ==========================  =========================================
int32, sint32, sfixed32        integer                     int
int64, sint64, sfixed64        bigint                      int
uint32, fixed32                bigint                      int
uint64, fixed64                numeric                     Decimal
float / double                 real / double precision     float
bool / string / bytes          boolean / text / bytea      bool / str / bytes
enum                           text                        the value's name (its number if unnamed)
google.protobuf.Timestamp      timestamptz                 aware datetime in UTC (nanos truncated to
                                                           microseconds; past year 9999 is 22008)
google.protobuf.Duration       interval                    timedelta
google.protobuf.*Value         the wrapped type            the value; NULL when unset
other messages                 jsonb                       JSON text: fields by their .proto names,
                                                           enums by name, bytes base64, int64 as
                                                           numbers, Timestamp/Duration/Struct as
                                                           Protobuf's JSON mapping writes them,
                                                           unset optional fields left out, map
                                                           keys sorted
repeated scalar/enum/Timestamp the array type (text[],...) a list
repeated message, map          jsonb                       a JSON array / a JSON object
=============================  ==========================  =========================================

Fields with presence (``optional``, messages, wrappers, oneof members) read as NULL when unset;
proto3 scalars without presence read as their default (0, '', false, the enum's first name). The
message is parsed with the reader's (configured) message whatever schema id the record carries:
Protobuf matches fields by number, so fields a newer writer added are skipped and fields it dropped
read as defaults. Bad bytes are 22P03. A record without a value (a tombstone) is a row of NULLs.

Speed, one core of this 2-core machine, batches of 10k rows through ``encode_many`` (upb runtime): a
6-field message (int64, int64, string, Timestamp, double, bool) 2.5 us per row (~400k rows/s; JsonEncoder
took 3.3 us for the same rows in the same run); int64, int64, double, bool alone 1.1 us (~880k rows/s:
rows whose columns need no conversion go through one comprehension). Each row is one constructor call
plus one converter call per column whose values need one (text into string fields, timestamps, enums by
name). The Timestamp costs ~0.6 us: datetimes become seconds/nanos here, as the runtime's own datetime
conversion costs ~3 us.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import math
import os
import tempfile
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from pathlib import Path, PurePosixPath
from typing import Any, Final

import orjson
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, EncodeError, Message

from gateway.errors import (
    CharacterNotInRepertoire,
    DataException,
    InvalidBinaryRepresentation,
    InvalidDatetimeFormat,
    InvalidParameterValue,
    InvalidTextRepresentation,
    IoError,
    LaminarError,
    NumericValueOutOfRange,
    UndefinedColumn,
    UndefinedObject,
)
from gateway.protocol import types as pg
from gateway.protocol.datetime_codec import Interval

__all__ = [
    "DatetimeFieldOverflow",
    "NullValueNotAllowed",
    "ProtobufDecoder",
    "ProtobufEncoder",
    "ProtobufMismatch",
    "ProtobufSchemaError",
    "ProtobufValueError",
    "UndefinedFile",
    "check_fits",
    "columns_for",
    "compile_proto",
    "frame_header",
    "load_descriptor_set",
    "message_class",
    "message_class_at",
    "message_indexes",
    "read_frame",
]

MessageClass = type[Message]
Converter = Callable[[Any], Any]


# --- errors --------------------------------------------------------------------------------------
class ProtobufSchemaError(InvalidParameterValue):
    """The .proto text does not compile, or a descriptor set cannot be used (22023)."""


class ProtobufMismatch(InvalidParameterValue):
    """Output columns that have no field, or whose type does not fit their field (22023)."""


class ProtobufValueError(DataException):
    """A value that does not fit its field (22000)."""


class NullValueNotAllowed(DataException):
    sqlstate = "22004"


class DatetimeFieldOverflow(DataException):
    sqlstate = "22008"


class UndefinedFile(LaminarError):
    sqlstate = "58P01"


# --- framing -------------------------------------------------------------------------------------
_MAGIC: Final = 0
_MAX_SCHEMA_ID: Final = 2**32 - 1
_MAX_INDEXES: Final = 1024  # a sanity bound on the count read from a record


def _zigzag_varint(value: int) -> bytes:
    number = value * 2 if value >= 0 else -value * 2 - 1
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def frame_header(schema_id: int, message_indexes: Sequence[int]) -> bytes:
    """Magic byte, big-endian schema id and message indexes: what precedes each serialized message."""
    if not 0 <= schema_id <= _MAX_SCHEMA_ID:
        raise ValueError(f"schema id {schema_id} does not fit 4 bytes")
    indexes = list(message_indexes)
    if not indexes or indexes == [0]:
        index_bytes = b"\x00"
    else:
        index_bytes = _zigzag_varint(len(indexes)) + b"".join(_zigzag_varint(i) for i in indexes)
    return bytes((_MAGIC,)) + schema_id.to_bytes(4, "big") + index_bytes


def _read_zigzag(data: bytes, offset: int) -> tuple[int, int]:
    number = shift = 0
    while True:
        if offset >= len(data):
            raise InvalidBinaryRepresentation(
                "truncated Confluent Protobuf header: a message index is cut off"
            )
        byte = data[offset]
        offset += 1
        number |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift > 63:
            raise InvalidBinaryRepresentation(
                "invalid Confluent Protobuf header: a message index is too long"
            )
    return (number >> 1) ^ -(number & 1), offset


def read_frame(data: bytes) -> tuple[int, tuple[int, ...], int]:
    """(schema id, message indexes, offset of the serialized message) of a framed record value."""
    if len(data) < 6:
        raise InvalidBinaryRepresentation(
            f"record value of {len(data)} bytes is too short for the Confluent Protobuf wire format",
            hint="Such values start with a magic byte 0, a 4-byte schema id and the message indexes.",
        )
    if data[0] != _MAGIC:
        raise InvalidBinaryRepresentation(
            f"unknown magic byte {data[0]} in a Protobuf record value (expected 0)",
            hint="The record was not written with the Confluent wire format.",
        )
    schema_id = int.from_bytes(data[1:5], "big")
    count, offset = _read_zigzag(data, 5)
    if count == 0:
        return schema_id, (0,), offset
    if not 0 < count <= _MAX_INDEXES:
        raise InvalidBinaryRepresentation(f"invalid Confluent Protobuf header: {count} message indexes")
    indexes = []
    for _ in range(count):
        index, offset = _read_zigzag(data, offset)
        indexes.append(index)
    return schema_id, tuple(indexes), offset


# --- schemas -------------------------------------------------------------------------------------
_PROTOC_LOCK: Final = threading.Lock()  # protoc's main is not documented as reentrant


def _bundled_include() -> str:
    import grpc_tools  # noqa: PLC0415 - protoc is needed at CREATE time only

    return os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")


def _relative_proto_path(name: str, what: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name or "\x00" in name:
        raise ProtobufSchemaError(f'invalid {what} "{name}": expected a relative path such as "a/b.proto"')
    return path


def compile_proto(
    schema_text: str, *, file_name: str = "schema.proto", dependencies: Mapping[str, str] | None = None
) -> descriptor_pb2.FileDescriptorSet:
    """The descriptors of a .proto text and everything it imports (dependencies first, it last).

    ``dependencies`` maps import paths (as the ``import`` statements spell them, which is what a
    registry's schema references name) to .proto texts. The well-known types under
    ``google/protobuf/`` come with the compiler; a dependency of the same name is ignored.
    """
    from grpc_tools import _protoc_compiler  # noqa: PLC0415 - see _bundled_include

    include = _bundled_include()
    root = _relative_proto_path(file_name, "schema file name")
    with tempfile.TemporaryDirectory(prefix="laminar-proto-") as temp:
        sources = Path(temp, "src")
        files = {root: schema_text}
        for name, text in (dependencies or {}).items():
            path = _relative_proto_path(name, "schema reference")
            if path != root and not Path(include, path).is_file():
                files[path] = text
        for path, text in files.items():
            target = sources.joinpath(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        include_paths = [str(sources).encode(), include.encode()]
        # get_protos parses like protoc and reports errors as values, not on the process's stderr.
        try:
            with _PROTOC_LOCK:
                _protoc_compiler.get_protos(str(root).encode(), include_paths)
        except _protoc_compiler.ProtocErrors as exc:
            problems = [_protoc_problem(error) for error in exc.errors()]
            raise ProtobufSchemaError(
                f'invalid Protobuf schema "{root}": ' + "; ".join(problems),
                hint="The schema is compiled with protoc; imports other than google/protobuf/*.proto "
                "must be given as schema references.",
            ) from None
        output = Path(temp, "descriptors.pb")
        arguments = [
            b"protoc",
            *(b"--proto_path=" + path for path in include_paths),
            b"--include_imports",
            b"--descriptor_set_out=" + str(output).encode(),
            str(sources.joinpath(root)).encode(),
        ]
        with _PROTOC_LOCK:
            status = _protoc_compiler.run_main(arguments)
        if status != 0 or not output.is_file():
            raise ProtobufSchemaError(f'invalid Protobuf schema "{root}": protoc failed')
        return descriptor_pb2.FileDescriptorSet.FromString(output.read_bytes())


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _protoc_problem(error: Any) -> str:
    """'schema.proto:3:25: Expected ";".' (protoc counts lines and columns from 0 here)."""
    where = _text(error.filename)
    if error.line >= 0:
        where += f":{error.line + 1}:{error.column + 1}"
    return f"{where}: {_text(error.message)}"


def load_descriptor_set(path: str | os.PathLike[str]) -> descriptor_pb2.FileDescriptorSet:
    """A FileDescriptorSet file (``protoc --include_imports --descriptor_set_out=FILE ...``)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UndefinedFile(
            f'could not open Protobuf descriptor file "{path}": no such file',
            hint="Write one with protoc --include_imports --descriptor_set_out=FILE x.proto.",
        ) from None
    except OSError as exc:
        raise IoError(f'could not read Protobuf descriptor file "{path}": {exc.strerror or exc}') from None
    try:
        descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(data)
    except DecodeError as exc:
        raise ProtobufSchemaError(f'"{path}" is not a Protobuf FileDescriptorSet: {exc}') from None
    if not descriptor_set.file or any(not file.name for file in descriptor_set.file):
        raise ProtobufSchemaError(f'"{path}" is not a Protobuf FileDescriptorSet: it names no files')
    return descriptor_set


def _well_known_files() -> dict[str, bytes]:
    from google.protobuf import (  # noqa: PLC0415 - only when a set lacks them
        any_pb2,
        api_pb2,
        duration_pb2,
        empty_pb2,
        field_mask_pb2,
        source_context_pb2,
        struct_pb2,
        timestamp_pb2,
        type_pb2,
        wrappers_pb2,
    )

    modules: tuple[Any, ...] = (any_pb2, api_pb2, descriptor_pb2, duration_pb2, empty_pb2, field_mask_pb2)
    modules += (source_context_pb2, struct_pb2, timestamp_pb2, type_pb2, wrappers_pb2)
    return {module.DESCRIPTOR.name: module.DESCRIPTOR.serialized_pb for module in modules}


def _pool(descriptor_set: descriptor_pb2.FileDescriptorSet) -> Any:
    """A fresh DescriptorPool holding the set's files, each after the files it imports (the
    well-known types come from the runtime when the set lacks them)."""
    files: dict[str, Any] = {}
    for file in descriptor_set.file:
        files.setdefault(file.name, file)
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()
    well_known: dict[str, bytes] | None = None

    def add(name: str, importer: str | None, visiting: tuple[str, ...]) -> None:
        nonlocal well_known
        if name in added:
            return
        file = files.get(name)
        if file is None:
            well_known = _well_known_files() if well_known is None else well_known
            if name not in well_known:
                raise ProtobufSchemaError(
                    f'Protobuf file "{importer}" imports "{name}", which the descriptors do not contain',
                    hint="Build descriptor files with protoc --include_imports.",
                )
            pool.AddSerializedFile(well_known[name])
            added.add(name)
            return
        if name in visiting:
            raise ProtobufSchemaError(f'Protobuf file "{name}" imports itself through "{importer}"')
        for dependency in file.dependency:
            add(dependency, name, (*visiting, name))
        try:
            pool.AddSerializedFile(file.SerializeToString())
        except (TypeError, ValueError) as exc:
            raise ProtobufSchemaError(f'invalid Protobuf descriptors in "{name}": {exc}') from None
        added.add(name)

    for name in files:
        add(name, None, ())
    return pool


def _message_names(descriptor_set: descriptor_pb2.FileDescriptorSet) -> list[str]:
    names: list[str] = []

    def walk(prefix: str, messages: Iterable[Any]) -> None:
        for message in messages:
            if message.options.map_entry:
                continue
            names.append(prefix + message.name)
            walk(prefix + message.name + ".", message.nested_type)

    for file in descriptor_set.file:
        if not file.name.startswith("google/protobuf/"):
            walk(f"{file.package}." if file.package else "", file.message_type)
    return names


def message_indexes(descriptor: Descriptor) -> list[int]:
    """The Confluent message indexes of a message: its path from its file's top level."""
    chain = []
    current: Descriptor | None = descriptor
    while current is not None:
        chain.append(current.name)
        current = current.containing_type
    chain.reverse()
    file = descriptor_pb2.FileDescriptorProto.FromString(descriptor.file.serialized_pb)
    indexes = []
    messages: Sequence[Any] = file.message_type
    for name in chain:
        position = next(i for i, message in enumerate(messages) if message.name == name)
        indexes.append(position)
        messages = messages[position].nested_type
    return indexes


def message_class(
    descriptor_set: descriptor_pb2.FileDescriptorSet, full_name: str, *, file_name: str | None = None
) -> tuple[MessageClass, list[int]]:
    """The dynamic class of message ``full_name`` (``com.example.Event``) and its message indexes.

    With ``file_name`` the message must be defined in that file (a registry subject's own schema,
    which the indexes are relative to), not in one it imports.
    """
    name = full_name.strip().lstrip(".")
    pool = _pool(descriptor_set)
    try:
        descriptor = pool.FindMessageTypeByName(name)
    except KeyError:
        known = _message_names(descriptor_set)
        raise UndefinedObject(
            f'Protobuf message "{full_name}" does not exist in the schema',
            hint=("The schema defines: " + ", ".join(known) + ".") if known else "The schema defines none.",
        ) from None
    if file_name is not None and descriptor.file.name != file_name:
        raise ProtobufSchemaError(
            f'Protobuf message "{name}" is defined in "{descriptor.file.name}", not in "{file_name}"',
            hint="Name a message of the subject's own schema.",
        )
    return message_factory.GetMessageClass(descriptor), message_indexes(descriptor)


def message_class_at(
    descriptor_set: descriptor_pb2.FileDescriptorSet,
    indexes: Sequence[int],
    *,
    file_name: str | None = None,
) -> MessageClass:
    """The class of the message that message indexes name in ``file_name`` (default: the set's last
    file, which is the compiled file itself for :func:`compile_proto`'s sets)."""
    if not descriptor_set.file:
        raise ProtobufSchemaError("the Protobuf descriptors contain no files")
    root = descriptor_set.file[-1] if file_name is None else None
    for file in descriptor_set.file:
        if file.name == file_name:
            root = file
    if root is None:
        raise ProtobufSchemaError(f'the Protobuf descriptors have no file "{file_name}"')
    names: list[str] = []
    messages: Sequence[Any] = root.message_type
    for index in indexes or (0,):
        if not 0 <= index < len(messages):
            raise InvalidBinaryRepresentation(
                f'message indexes {list(indexes)} name no message of Protobuf schema "{root.name}"'
            )
        names.append(messages[index].name)
        messages = messages[index].nested_type
    full_name = ".".join(([root.package] if root.package else []) + names)
    descriptor = _pool(descriptor_set).FindMessageTypeByName(full_name)
    found: MessageClass = message_factory.GetMessageClass(descriptor)
    return found


# --- field facts ---------------------------------------------------------------------------------
_F = FieldDescriptor
_INT32_TYPES: Final = frozenset({_F.TYPE_INT32, _F.TYPE_SINT32, _F.TYPE_SFIXED32})
_INT64_TYPES: Final = frozenset({_F.TYPE_INT64, _F.TYPE_SINT64, _F.TYPE_SFIXED64})
_UINT32_TYPES: Final = frozenset({_F.TYPE_UINT32, _F.TYPE_FIXED32})
_UINT64_TYPES: Final = frozenset({_F.TYPE_UINT64, _F.TYPE_FIXED64})
_INTEGER_BOUNDS: Final = {
    **dict.fromkeys(_INT32_TYPES, (-(2**31), 2**31 - 1)),
    **dict.fromkeys(_INT64_TYPES, (-(2**63), 2**63 - 1)),
    **dict.fromkeys(_UINT32_TYPES, (0, 2**32 - 1)),
    **dict.fromkeys(_UINT64_TYPES, (0, 2**64 - 1)),
}
_SCALAR_NAMES: Final = {
    _F.TYPE_INT32: "int32",
    _F.TYPE_SINT32: "sint32",
    _F.TYPE_SFIXED32: "sfixed32",
    _F.TYPE_INT64: "int64",
    _F.TYPE_SINT64: "sint64",
    _F.TYPE_SFIXED64: "sfixed64",
    _F.TYPE_UINT32: "uint32",
    _F.TYPE_FIXED32: "fixed32",
    _F.TYPE_UINT64: "uint64",
    _F.TYPE_FIXED64: "fixed64",
    _F.TYPE_FLOAT: "float",
    _F.TYPE_DOUBLE: "double",
    _F.TYPE_BOOL: "bool",
    _F.TYPE_STRING: "string",
    _F.TYPE_BYTES: "bytes",
}
_TIMESTAMP: Final = "google.protobuf.Timestamp"
_DURATION: Final = "google.protobuf.Duration"
_WRAPPERS: Final = frozenset(
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
_JSON_MAPPED: Final = frozenset(
    {_TIMESTAMP, _DURATION, *_WRAPPERS}
    | {f"google.protobuf.{name}" for name in ("Struct", "Value", "ListValue", "Any", "FieldMask", "Empty")}
)
_FLOAT4_MAX: Final = 3.4028234663852886e38
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NAIVE_EPOCH: Final = dt.datetime(1970, 1, 1)
_SECONDS_PER_DAY: Final = 86_400
_MONTH_DAYS: Final = 30

_TEXT_OIDS: Final = frozenset({pg.TEXT, pg.VARCHAR, pg.BPCHAR, pg.NAME, pg.CHAR, pg.UNKNOWN})
_JSON_OIDS: Final = frozenset({pg.JSON, pg.JSONB})
_INTEGER_OIDS: Final = frozenset({pg.INT2, pg.INT4, pg.INT8, pg.OID})
_FLOAT_OIDS: Final = frozenset({pg.FLOAT4, pg.FLOAT8})
_NUMBER_OIDS: Final = _INTEGER_OIDS | _FLOAT_OIDS | {pg.NUMERIC}


def _is_map(field: Any) -> bool:
    return bool(field.message_type is not None and field.message_type.GetOptions().map_entry)


def _type_name(field: Any, *, element: bool = False) -> str:
    """'int64', 'repeated string', 'map<string, int64>', 'com.example.Kind', 'google.protobuf.Timestamp'."""
    if _is_map(field) and not element:
        entry = field.message_type.fields_by_name
        return f"map<{_type_name(entry['key'])}, {_type_name(entry['value'])}>"
    if field.is_repeated and not element:
        return "repeated " + _type_name(field, element=True)
    if field.type == _F.TYPE_ENUM:
        return str(field.enum_type.full_name)
    if field.message_type is not None:
        return str(field.message_type.full_name)
    return _SCALAR_NAMES.get(field.type, "group")


def _oid_name(oid: int) -> str:
    pg_type = pg.TYPES_BY_OID.get(oid)
    if pg_type is None:
        return f"type {oid}"
    if pg_type.elem_oid:
        return _oid_name(pg_type.elem_oid) + "[]"
    return pg_type.name


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:60] + "..."


# --- encoding: one converter per (column type, field) ---------------------------------------------
class _Unfit(Exception):
    """A column type that cannot fill a field (a check_fits problem)."""


class _Where:
    """Names a column and its field in error messages."""

    __slots__ = ("column", "field", "message")

    def __init__(self, column: str, field: Any) -> None:
        self.column = column
        self.field = field
        self.message = field.containing_type.full_name

    def __str__(self) -> str:
        return f'column "{self.column}" (field "{self.field.name}" of {self.message})'

    def out_of_range(self, value: object, type_name: str | None = None) -> NumericValueOutOfRange:
        kind = type_name or _type_name(self.field, element=True)
        return NumericValueOutOfRange(f'{self}: value "{_shown(value)}" is out of range for {kind}')

    def mismatch(self, value: object, detail: str = "") -> ProtobufValueError:
        kind = _type_name(self.field, element=True)
        return ProtobufValueError(
            f"{self}: a value of type {type(value).__name__} does not fit {kind}"
            + (f": {detail}" if detail else "")
        )


def _integer_converter(oid: int, field: Any, where: _Where) -> Converter | None:
    if oid in _INTEGER_OIDS:
        return None  # the runtime checks the range (a ValueError, reported by _diagnose)
    low, high = _INTEGER_BOUNDS[field.type]

    def convert(value: Any) -> int:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise where.out_of_range(value)
            number = int(value.to_integral_value(ROUND_HALF_UP))
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise where.out_of_range(value)
            number = round(value)  # PostgreSQL's float-to-integer casts round half to even
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            raise where.mismatch(value)
        if not low <= number <= high:
            raise where.out_of_range(value)
        return number

    return convert


def _float_converter(oid: int, field: Any, where: _Where) -> Converter | None:
    single = field.type == _F.TYPE_FLOAT
    if oid in _INTEGER_OIDS or oid == pg.FLOAT4 or (oid == pg.FLOAT8 and not single):
        return None
    limit = _FLOAT4_MAX if single else math.inf

    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise where.mismatch(value)
        number = float(value)
        if math.isinf(number) and not _is_infinite(value):
            raise where.out_of_range(value)  # a numeric or double past the field's range
        if math.isfinite(number) and abs(number) > limit:
            raise where.out_of_range(value)
        return number

    return convert


def _is_infinite(value: int | float | Decimal) -> bool:
    if isinstance(value, Decimal):
        return value.is_infinite()
    return isinstance(value, float) and math.isinf(value)


def _as_text(value: Any) -> str:
    return value if type(value) is str else pg.render_text(value)


def _bytes_from_text(where: _Where) -> Converter:
    def convert(value: Any) -> bytes:
        try:
            return _as_text(value).encode()
        except UnicodeEncodeError as exc:
            raise CharacterNotInRepertoire(f"{where}: the text is not valid Unicode ({exc.reason})") from None

    return convert


def _enum_converter(oid: int, field: Any, where: _Where) -> Converter | None:
    enum = field.enum_type
    if oid in _INTEGER_OIDS:
        if not enum.is_closed:
            return None  # open (proto3) enums take any int32
        defined = frozenset(enum.values_by_number)

        def convert_number(value: Any) -> int:
            if value not in defined:
                raise InvalidTextRepresentation(
                    f"{where}: {value} is not a value of the closed enum {enum.full_name}",
                    hint="Its values are " + ", ".join(str(n) for n in sorted(defined)) + ".",
                )
            return int(value)

        return convert_number
    if oid not in _TEXT_OIDS:
        raise _Unfit
    exact = {name: value.number for name, value in enum.values_by_name.items()}
    folded: dict[str, int] = {}
    for name, number in exact.items():
        folded.setdefault(name.casefold(), number)

    def convert_name(value: Any) -> int:
        if isinstance(value, str):
            number = exact.get(value)
            if number is None:
                number = folded.get(value.strip().casefold())
            if number is not None:
                return number
        raise InvalidTextRepresentation(
            f'{where}: invalid input value for enum {enum.full_name}: "{_shown(value)}"',
            hint="Its names are " + ", ".join(exact) + ".",
        )

    return convert_name


def _seconds_nanos(moment: dt.datetime) -> dict[str, int]:
    delta = moment - (_EPOCH if moment.tzinfo is not None else _NAIVE_EPOCH)
    return {"seconds": delta.days * _SECONDS_PER_DAY + delta.seconds, "nanos": delta.microseconds * 1000}


def _json_message(where: _Where, message_cls: MessageClass) -> Converter:
    """JSON text (Protobuf's JSON mapping) into a message of ``message_cls``."""

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            raise where.mismatch(value)
        message = message_cls()
        try:
            json_format.Parse(value, message)
        except json_format.ParseError as exc:
            raise InvalidTextRepresentation(f"{where}: {exc}") from None
        return message

    return convert


def _timestamp_converter(oid: int, where: _Where, message_cls: MessageClass) -> Converter:
    if oid in (pg.TIMESTAMPTZ, pg.TIMESTAMP):

        def convert_moment(value: Any) -> dict[str, int]:
            if not isinstance(value, dt.datetime):
                raise where.mismatch(value)
            return _seconds_nanos(value)

        return convert_moment
    if oid == pg.DATE:

        def convert_date(value: Any) -> dict[str, int]:
            if not isinstance(value, dt.date):
                raise where.mismatch(value)
            return _seconds_nanos(dt.datetime.combine(value, dt.time(), dt.UTC))

        return convert_date
    if oid in _TEXT_OIDS:

        def convert_text(value: Any) -> dict[str, int]:
            if isinstance(value, dt.datetime):
                return _seconds_nanos(value)
            try:
                return _seconds_nanos(dt.datetime.fromisoformat(_as_text(value).strip()))
            except ValueError:
                raise InvalidDatetimeFormat(
                    f'{where}: invalid input syntax for a timestamp: "{_shown(value)}"',
                    hint="Use an ISO-8601 timestamp such as '2024-02-29T12:34:56Z'.",
                ) from None

        return convert_text
    if oid in _JSON_OIDS:
        return _json_message(where, message_cls)
    raise _Unfit


def _duration_converter(oid: int, where: _Where, message_cls: MessageClass) -> Converter:
    if oid == pg.INTERVAL:

        def convert(value: Any) -> dict[str, int]:
            if isinstance(value, Interval):
                micros = (value.months * _MONTH_DAYS + value.days) * _SECONDS_PER_DAY * 10**6
                value = dt.timedelta(microseconds=micros + value.microseconds)
            if not isinstance(value, dt.timedelta):
                raise where.mismatch(value)
            micros = (value.days * _SECONDS_PER_DAY + value.seconds) * 10**6 + value.microseconds
            seconds = int(micros / 10**6)  # toward zero: seconds and nanos share the sign
            return {"seconds": seconds, "nanos": (micros - seconds * 10**6) * 1000}

        return convert
    if oid in _JSON_OIDS:
        return _json_message(where, message_cls)
    raise _Unfit


def _jsonable(value: Any) -> Any:
    """A STRUCT/MAP value with only JSON types, for Struct/Value/ListValue fields."""
    return orjson.loads(orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return pg.render_text(value)


def _message_converter(oid: int, field: Any, where: _Where) -> Converter | None:
    message_type = field.message_type
    full_name = message_type.full_name
    message_cls = message_factory.GetMessageClass(message_type)
    if full_name == _TIMESTAMP:
        return _timestamp_converter(oid, where, message_cls)
    if full_name == _DURATION:
        return _duration_converter(oid, where, message_cls)
    if full_name in _WRAPPERS:
        if oid in _JSON_OIDS:
            return _json_message(where, message_cls)
        inner = _scalar_converter(oid, message_type.fields_by_name["value"], where)
        if inner is None:
            return lambda value: {"value": value}
        return lambda value: {"value": inner(value)}
    if oid not in _JSON_OIDS and oid not in _TEXT_OIDS:
        raise _Unfit
    from_json = _json_message(where, message_cls)
    generic = full_name.startswith("google.protobuf.")

    def convert(value: Any) -> Any:
        if isinstance(value, dict | list) and generic:  # Struct, Value, ListValue from a STRUCT/list
            message = message_cls()
            try:
                json_format.ParseDict(_jsonable(value), message)
            except json_format.ParseError as exc:
                raise InvalidTextRepresentation(f"{where}: {exc}") from None
            return message
        if isinstance(value, dict):  # a STRUCT: its keys are the field names
            try:
                return message_cls(**value)
            except (TypeError, ValueError, OverflowError) as exc:
                raise where.mismatch(value, str(exc)) from None
        return from_json(value)

    return convert


def _scalar_converter(oid: int, field: Any, where: _Where) -> Converter | None:
    """Turns one non-NULL value of a column of type ``oid`` into what a (single, not repeated) field
    takes; None when the runtime takes the value as it is. Raises _Unfit."""
    kind = field.type
    if kind in _INTEGER_BOUNDS:
        if oid not in _NUMBER_OIDS:
            raise _Unfit
        return _integer_converter(oid, field, where)
    if kind in (_F.TYPE_FLOAT, _F.TYPE_DOUBLE):
        if oid not in _NUMBER_OIDS:
            raise _Unfit
        return _float_converter(oid, field, where)
    if kind == _F.TYPE_BOOL:
        if oid != pg.BOOL:
            raise _Unfit
        return None
    if kind == _F.TYPE_STRING:
        return _as_text if oid in _TEXT_OIDS or oid in _JSON_OIDS else pg.render_text
    if kind == _F.TYPE_BYTES:
        if oid == pg.BYTEA:
            return None
        if oid in _TEXT_OIDS:
            return _bytes_from_text(where)
        raise _Unfit
    if kind == _F.TYPE_ENUM:
        return _enum_converter(oid, field, where)
    if field.message_type is not None and kind == _F.TYPE_MESSAGE:
        return _message_converter(oid, field, where)
    raise _Unfit  # groups


def _json_field(where: _Where, field: Any, container: Callable[[Any], Any]) -> Converter:
    """JSON text of a repeated or map field's value, parsed through a scratch parent message."""
    parent_cls = message_factory.GetMessageClass(field.containing_type)
    key = orjson.dumps(field.name).decode()

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            raise where.mismatch(value)
        parent = parent_cls()
        try:
            json_format.Parse("{" + key + ":" + value + "}", parent)
        except json_format.ParseError as exc:
            raise InvalidTextRepresentation(f"{where}: {exc}") from None
        return container(getattr(parent, field.name))

    return convert


def _field_converter(oid: int, field: Any, where: _Where) -> Converter | None:
    """The converter of a column of type ``oid`` into ``field`` (any label). Raises _Unfit."""
    element_oid = pg.TYPES_BY_OID[oid].elem_oid if oid in pg.TYPES_BY_OID else 0
    if _is_map(field):
        if oid in _JSON_OIDS or oid in _TEXT_OIDS:
            from_json = _json_field(where, field, dict)

            def convert_map(value: Any) -> Any:
                return value if isinstance(value, dict) else from_json(value)

            return convert_map
        raise _Unfit
    if field.is_repeated:
        if element_oid:
            element = _scalar_converter(element_oid, field, where)
            return _list_converter(element, where)
        if oid in _JSON_OIDS or oid in _TEXT_OIDS:
            from_json = _json_field(where, field, list)
            from_list: Converter | None = None
            if oid in _TEXT_OIDS:  # lists that DuckDB announces as text (inside a UNION, say)
                with contextlib.suppress(_Unfit):
                    from_list = _list_converter(_scalar_converter(pg.TEXT, field, where), where)

            def convert_list(value: Any) -> Any:
                if from_list is not None and isinstance(value, list | tuple):
                    return from_list(value)
                return from_json(value)

            return convert_list
        raise _Unfit
    if element_oid:
        raise _Unfit
    return _scalar_converter(oid, field, where)


def _list_converter(element: Converter | None, where: _Where) -> Converter:
    def convert(value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise where.mismatch(value)
        if None in value:
            raise NullValueNotAllowed(
                f"{where}: the array holds a NULL, which a repeated field cannot hold",
                hint="Drop NULL elements first, for example with list_filter(x, e -> e IS NOT NULL).",
            )
        return value if element is None else [element(item) for item in value]

    return convert


# --- column-to-field matching ---------------------------------------------------------------------
def _find_field(descriptor: Any, column: str) -> tuple[Any, list[Any]]:
    """The field a column fills (exact name, JSON name, case-insensitively), and ambiguous candidates."""
    field = descriptor.fields_by_name.get(column)
    if field is not None:
        return field, []
    by_json = [f for f in descriptor.fields if f.json_name == column]
    if len(by_json) == 1:
        return by_json[0], []
    folded = column.casefold()
    candidates = [f for f in descriptor.fields if folded in (f.name.casefold(), f.json_name.casefold())]
    if len(candidates) == 1:
        return candidates[0], []
    return None, candidates


def _plan(
    columns: Sequence[tuple[str, int]], descriptor: Any, exclude: Collection[str]
) -> tuple[list[tuple[int, str, Any, Converter | None]], list[str]]:
    """(row index, column, field, converter) of each kept column, and the problems found."""
    plans: list[tuple[int, str, Any, Converter | None]] = []
    problems: list[str] = []
    filled: dict[str, str] = {}
    for index, (column, oid) in enumerate(columns):
        if column in exclude:
            continue
        field, candidates = _find_field(descriptor, column)
        if field is None:
            if candidates:
                names = ", ".join(f'"{f.name}"' for f in candidates)
                problems.append(
                    f'column "{column}" matches several fields of {descriptor.full_name}: {names}'
                )
            else:
                fields = ", ".join(f.name for f in descriptor.fields)
                problems.append(
                    f'column "{column}" has no field in message {descriptor.full_name} (fields: {fields})'
                )
            continue
        if field.name in filled:
            problems.append(f'columns "{filled[field.name]}" and "{column}" both fill field "{field.name}"')
            continue
        filled[field.name] = column
        try:
            convert = _field_converter(oid, field, _Where(column, field))
        except _Unfit:
            problems.append(
                f'column "{column}" of type {_oid_name(oid)} does not fit field "{field.name}" '
                f"({_type_name(field)}) of {descriptor.full_name}"
            )
            continue
        plans.append((index, column, field, convert))
    for field in descriptor.fields:
        if field.is_required and field.name not in filled:
            problems.append(f'required field "{field.name}" of {descriptor.full_name} has no column')
    return plans, problems


def check_fits(
    columns: Sequence[tuple[str, int]], descriptor: Descriptor, exclude: Collection[str] = ()
) -> list[str]:
    """What keeps the output columns (name, OID) from filling the message: columns without a field,
    column types that do not fit their field, proto2 required fields without a column. Empty when
    they fit; fields without a column are fine (they stay unset)."""
    return _plan(columns, descriptor, exclude)[1]


class ProtobufEncoder:
    """Encodes rows of one result shape as framed Protobuf messages (see the module docstring)."""

    __slots__ = (
        "_cls",
        "_converters",
        "_header",
        "_names",
        "_oneofs",
        "_pick",
        "_plans",
        "columns",
        "descriptor",
        "message_indexes",
        "schema_id",
    )

    def __init__(
        self,
        columns: Sequence[tuple[str, int]],
        message_cls: MessageClass,
        schema_id: int | None,
        message_indexes: Sequence[int] = (0,),
        *,
        exclude: Collection[str] = (),
    ) -> None:
        """``schema_id`` None writes bare messages, without the Confluent header."""
        self.descriptor = message_cls.DESCRIPTOR
        plans, problems = _plan(columns, self.descriptor, exclude)
        if problems:
            raise ProtobufMismatch(
                f"the output does not fit Protobuf message {self.descriptor.full_name}: "
                + "; ".join(problems),
                hint="Rename columns with AS to the message's field names and cast them to fitting types.",
            )
        self._cls = message_cls
        self._plans = tuple((column, field, convert) for _, column, field, convert in plans)
        self.columns: tuple[tuple[str, int], ...] = tuple(columns[index] for index, *_ in plans)
        self.schema_id = schema_id
        self.message_indexes = tuple(message_indexes)
        self._header = b"" if schema_id is None else frame_header(schema_id, self.message_indexes)
        self._names = tuple(field.name for _, field, _ in self._plans)
        self._converters = tuple(
            (position, field.name, convert)
            for position, (_, field, convert) in enumerate(self._plans)
            if convert is not None
        )
        indexes = [index for index, *_ in plans]
        self._pick: Callable[[Sequence[Any]], Sequence[Any]] | None
        if indexes == list(range(len(columns))):
            self._pick = None
        elif len(indexes) == 1:
            only = indexes[0]
            self._pick = lambda row: (row[only],)
        elif indexes:
            self._pick = itemgetter(*indexes)
        else:
            self._pick = lambda row: ()
        groups: dict[str, list[int]] = {}
        for position, (_, field, _) in enumerate(self._plans):
            if field.containing_oneof is not None:
                groups.setdefault(field.containing_oneof.full_name, []).append(position)
        self._oneofs = tuple(tuple(group) for group in groups.values() if len(group) > 1)

    def _build(self, row: Sequence[Any]) -> Any:
        values = row if self._pick is None else self._pick(row)
        fields = dict(zip(self._names, values))  # noqa: B905 - rows have the constructor's width
        for position, name, convert in self._converters:
            value = values[position]
            if value is not None:
                fields[name] = convert(value)
        for group in self._oneofs:
            present = [self._plans[p][0] for p in group if values[p] is not None]
            if len(present) > 1:
                oneof = self._plans[group[0]][1].containing_oneof.name
                raise ProtobufValueError(
                    f'columns "{present[0]}" and "{present[1]}" both set oneof "{oneof}" of '
                    f"{self.descriptor.full_name}",
                    hint="At most one column of a oneof may be non-NULL in a row.",
                )
        try:
            return self._cls(**fields)
        except (TypeError, ValueError, OverflowError) as exc:
            raise self._diagnose(values, exc) from None

    def _diagnose(self, values: Sequence[Any], exc: Exception) -> DataException:
        """The error naming the column whose value the runtime refused."""
        for (column, field, convert), value in zip(self._plans, values):  # noqa: B905
            if value is None:
                continue
            converted = value if convert is None else convert(value)
            try:
                self._cls(**{field.name: converted})
            except (TypeError, ValueError, OverflowError) as error:
                where = _Where(column, field)
                if isinstance(error, UnicodeError):
                    return CharacterNotInRepertoire(f"{where}: the text is not valid Unicode ({error})")
                if field.is_repeated and isinstance(converted, list | tuple) and None in converted:
                    return NullValueNotAllowed(
                        f"{where}: the array holds a NULL, which a repeated field cannot hold"
                    )
                if "out of range" in str(error):
                    return where.out_of_range(value)
                return where.mismatch(value, str(error))
        return ProtobufValueError(f"the row cannot be encoded as {self.descriptor.full_name}: {exc}")

    def _serialize(self, message: Any) -> bytes:
        try:
            data: bytes = message.SerializeToString()
        except EncodeError as exc:
            missing = [
                f.name for f in self.descriptor.fields if f.is_required and not message.HasField(f.name)
            ]
            if not missing:
                raise ProtobufValueError(
                    f"the row cannot be encoded as {self.descriptor.full_name}: {exc}"
                ) from None
            names = ", ".join(f'"{name}"' for name in missing)
            raise NullValueNotAllowed(
                f"the row leaves required field {names} of {self.descriptor.full_name} NULL"
            ) from None
        return self._header + data

    def encode(self, row: Sequence[Any]) -> bytes:
        """One row (one value per constructor column, excluded ones included)."""
        return self._serialize(self._build(row))

    def encode_many(self, rows: Iterable[Sequence[Any]]) -> list[bytes]:
        """Rows in order; raises on the first row that does not fit."""
        if self._converters or self._pick is not None or self._oneofs:
            build, serialize = self._build, self._serialize
            return [serialize(build(row)) for row in rows]
        if not isinstance(rows, list | tuple):
            rows = list(rows)  # read again by the fallback below
        cls, names, header = self._cls, self._names, self._header
        try:
            return [header + cls(**dict(zip(names, row))).SerializeToString() for row in rows]  # noqa: B905
        except (TypeError, ValueError, OverflowError, EncodeError):
            return [self.encode(row) for row in rows]


# --- decoding --------------------------------------------------------------------------------------
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
