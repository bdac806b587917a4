"""The value (and Avro key) encoders of ``format = 'avro' | 'protobuf'`` sinks, from the Schema Registry.

Avro: with ``'auto.register.schemas'`` (the default) the sink derives a record schema from the rows'
columns and their types (:func:`formats.avro_format.avro_schema_for`), registers it under
``value_subject`` (default ``<topic>-value``) and writes with the id the registry returns;
without it, the sink takes the subject's latest schema and the columns must fit it (42804 listing
what does not). ``'key.format' = 'avro'`` encodes the key_field value with a primitive schema
registered under ``<topic>-key``.

Protobuf: the message ``'protobuf.message'`` comes from the subject's latest schema (.proto text,
compiled by protoc) or, with ``'protobuf.descriptor_file'`` and no registry, from that descriptor
set, when records carry the bare message (there is no schema id to frame them with).

Encoders are built once per column shape (names and types) and kept; the registry client
caches ids and schemas, so the registry is asked once per shape, not per write.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

from catalog.kafka_security import option_text
from catalog.options import ValidatedOptions
from formats import avro_format, protobuf_format
from formats.schema_registry import SchemaRegistryClient
from gateway import errors


class RowEncoder(Protocol):
    """What every value encoder of a sink offers (raw values may be NULL: a tombstone)."""

    def encode(self, row: Sequence[Any]) -> bytes | None: ...

    def encode_many(self, rows: Iterable[Sequence[Any]]) -> Sequence[bytes | None]: ...


Shape = tuple[tuple[str, int], ...]


class SchemaEncoders:
    """Registry-backed encoders of one sink connection (see the module docstring)."""

    def __init__(self, connection: str, options: ValidatedOptions, resolved: Mapping[str, str]) -> None:
        self.connection = connection
        self.format = options.string("format") or "json"
        self.topic = options.string("topic") or connection
        self.value_subject = options.string("value_subject") or f"{self.topic}-value"
        self.key_subject = f"{self.topic}-key"
        self.auto_register = options.boolean("auto.register.schemas")
        self.message = options.string("protobuf.message")
        self.descriptor_file = options.string("protobuf.descriptor_file")
        endpoint = options.string("schema_registry.endpoint")
        self.registry = (
            SchemaRegistryClient(
                endpoint,
                api_key=option_text(options, resolved, "schema_registry.api_key"),
                api_secret=option_text(options, resolved, "schema_registry.api_secret"),
            )
            if endpoint
            else None
        )
        self._values: dict[tuple[Shape, frozenset[str]], RowEncoder] = {}
        self._keys: dict[tuple[str, int], RowEncoder] = {}

    def _client(self) -> SchemaRegistryClient:
        if self.registry is None:
            raise errors.FeatureNotSupported(
                f'sink "{self.connection}" needs option "schema_registry.endpoint" for format {self.format}'
            )
        return self.registry

    async def value_encoder(self, columns: Sequence[tuple[str, int]], exclude: Collection[str]) -> RowEncoder:
        shape = (tuple(columns), frozenset(exclude))
        encoder = self._values.get(shape)
        if encoder is None:
            encoder = await (
                self._avro(columns, exclude) if self.format == "avro" else self._protobuf(columns, exclude)
            )
            self._values[shape] = encoder
        return encoder

    async def _avro(self, columns: Sequence[tuple[str, int]], exclude: Collection[str]) -> RowEncoder:
        client = self._client()
        if self.auto_register:
            schema = avro_format.avro_schema_for(columns, name=self.topic, exclude=exclude)
            schema_id = await client.register(self.value_subject, json.dumps(schema), "AVRO")
            return avro_format.AvroEncoder(columns, schema, schema_id, exclude=exclude)
        latest = await client.latest(self.value_subject)
        self._check(latest.schema_type, "AVRO", self.value_subject)
        return avro_format.AvroEncoder(columns, latest.schema, latest.id, exclude=exclude)

    async def _protobuf(self, columns: Sequence[tuple[str, int]], exclude: Collection[str]) -> RowEncoder:
        assert self.message is not None, "format 'protobuf' requires 'protobuf.message' (options check)"
        if self.registry is None:
            assert self.descriptor_file is not None, "a descriptor file or a registry (options check)"
            descriptors = protobuf_format.load_descriptor_set(self.descriptor_file)
            message, _ = protobuf_format.message_class(descriptors, self.message)
            return protobuf_format.ProtobufEncoder(columns, message, None, exclude=exclude)
        latest = await self.registry.latest(self.value_subject)
        self._check(latest.schema_type, "PROTOBUF", self.value_subject)
        descriptors = protobuf_format.compile_proto(latest.schema)
        message, indexes = protobuf_format.message_class(descriptors, self.message)
        return protobuf_format.ProtobufEncoder(columns, message, latest.id, indexes, exclude=exclude)

    async def check_fits(self, columns: Sequence[tuple[str, int]], exclude: Collection[str]) -> None:
        """At CREATE PIPELINE: raise 42804 (listing what does not fit) when the output cannot be
        written with the subject's latest schema; nothing to check when the sink registers its own
        (auto.register.schemas), so a check never registers anything."""
        if self.format == "avro" and self.auto_register:
            return
        await self.value_encoder(columns, exclude)  # builds the encoder, which checks the fit

    def _check(self, found: str, wanted: str, subject: str) -> None:
        if found.upper() != wanted:
            raise errors.DatatypeMismatch(
                f'subject "{subject}" holds a {found} schema, and sink "{self.connection}" writes {wanted}',
                hint="Point value_subject at a subject of the sink's format.",
            )

    async def key_encoder(self, column: str, oid: int) -> Callable[[object], bytes | None]:
        """The Avro encoding of a key_field value ('key.format' = 'avro')."""
        encoder = self._keys.get((column, oid))
        if encoder is None:
            schema: Any = avro_format.avro_type_for(oid)
            client = self._client()
            if self.auto_register:
                schema_id = await client.register(self.key_subject, json.dumps(schema), "AVRO")
            else:
                latest = await client.latest(self.key_subject)
                schema, schema_id = latest.schema, latest.id
            encoder = avro_format.AvroEncoder([(column, oid)], schema, schema_id)
            self._keys[(column, oid)] = encoder
        key = encoder
        return lambda value: None if value is None else key.encode((value,))

    async def close(self) -> None:
        if self.registry is not None:
            await self.registry.close()
