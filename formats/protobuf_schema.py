"""Protobuf schemas and framing for the `protobuf` format (see :mod:`formats.protobuf_format`).

Compiles .proto text with protoc in process (:func:`compile_proto`), reads descriptor-set files
(:func:`load_descriptor_set`), builds the dynamic message class a name or a record's message indexes
point at (:func:`message_class`, :func:`message_class_at`, :func:`message_indexes`), and writes and
reads the Confluent wire-format header (:func:`frame_header`, :func:`read_frame`). Also holds the
facts about fields that :mod:`formats.protobuf_writer` and :mod:`formats.protobuf_reader` share
(scalar type groups, well-known type names, map detection, column-to-field name matching).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Final

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from gateway.errors import (
    InvalidBinaryRepresentation,
    InvalidParameterValue,
    IoError,
    LaminarError,
    UndefinedObject,
)

MessageClass = type[Message]
Converter = Callable[[Any], Any]


# --- errors --------------------------------------------------------------------------------------
class ProtobufSchemaError(InvalidParameterValue):
    """The .proto text does not compile, or a descriptor set cannot be used (22023)."""


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
_TIMESTAMP: Final = "google.protobuf.Timestamp"
_DURATION: Final = "google.protobuf.Duration"
_WRAPPERS: Final = frozenset(
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _is_map(field: Any) -> bool:
    return bool(field.message_type is not None and field.message_type.GetOptions().map_entry)


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
