"""Avro and Protobuf source connections: columns and record values through the Schema Registry.

A source with ``format = 'avro' | 'protobuf'`` takes its columns from the schema when it declares
none (:func:`schema_columns`, at CREATE CONNECTION: the latest schema of ``<topic>-value``, or for
Protobuf the ``'protobuf.message'`` of that schema or of ``'protobuf.descriptor_file'``). Values
are decoded by :class:`SchemaDecoder`:

* Avro: each message names its writer schema by id; the ids a micro-batch carries are looked up
  (once each, then cached) by :meth:`SchemaDecoder.prepare` before the batch is decoded, so
  records written with older or newer schemas decode by their own schema and map to the
  connection's columns by name (schema evolution; a field a schema lacks reads as NULL).
* Protobuf: every message is parsed with the configured message (fields match by number, the
  Protobuf evolution rule), from the subject's latest schema or the descriptor file.

A message that does not decode raises a :class:`gateway.errors.DataException` and follows the
connection's ``error_policy`` like a bad JSON record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from catalog.kafka_security import option_text
from catalog.options import ValidatedOptions
from formats import avro_format, protobuf_format
from formats.schema_registry import SchemaRegistryClient
from gateway import errors

SCHEMA_FORMATS = ("avro", "protobuf")


def _registry(options: ValidatedOptions, resolved: Mapping[str, str]) -> SchemaRegistryClient | None:
    endpoint = options.string("schema_registry.endpoint")
    if not endpoint:
        return None
    return SchemaRegistryClient(
        endpoint,
        api_key=option_text(options, resolved, "schema_registry.api_key"),
        api_secret=option_text(options, resolved, "schema_registry.api_secret"),
    )


def _subject(options: ValidatedOptions) -> str:
    return f"{options.string('topic')}-value"


async def _message(options: ValidatedOptions, registry: SchemaRegistryClient | None) -> Any:
    name = options.string("protobuf.message")
    assert name is not None, "format 'protobuf' requires 'protobuf.message' (options check)"
    descriptor_file = options.string("protobuf.descriptor_file")
    if registry is None:
        assert descriptor_file is not None, "a descriptor file or a registry (options check)"
        descriptors = protobuf_format.load_descriptor_set(descriptor_file)
    else:
        latest = await registry.latest(_subject(options))
        descriptors = protobuf_format.compile_proto(latest.schema)
    message, _ = protobuf_format.message_class(descriptors, name)
    return message


async def schema_columns(options: ValidatedOptions, resolved: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, type SQL) of the columns a schema source without declared columns gets."""
    registry = _registry(options, resolved)
    try:
        if options.string("format") == "protobuf":
            message = await _message(options, registry)
            return protobuf_format.columns_for(message.DESCRIPTOR)
        if registry is None:
            raise errors.FeatureNotSupported('an Avro source needs option "schema_registry.endpoint"')
        latest = await registry.latest(_subject(options))
        return avro_format.columns_for(latest.schema)
    finally:
        if registry is not None:
            await registry.close()


class SchemaDecoder:
    """Decodes the values of one Avro or Protobuf source (see the module docstring)."""

    def __init__(
        self, options: ValidatedOptions, resolved: Mapping[str, str], columns: Sequence[tuple[str, str]]
    ) -> None:
        self.options = options
        self.format = options.string("format") or "avro"
        self.columns = list(columns)
        self.registry = _registry(options, resolved)
        self._avro = avro_format.AvroDecoder(self.columns) if self.format == "avro" else None
        self._writer_schemas: dict[int, str] = {}
        self._protobuf: protobuf_format.ProtobufDecoder | None = None
        self._nulls = (None,) * len(self.columns)

    async def prepare(self, values: Iterable[bytes | None]) -> None:
        """Fetch what decoding these values needs: unknown Avro schema ids, the Protobuf message."""
        if self.format == "protobuf":
            if self._protobuf is None:
                message = await _message(self.options, self.registry)
                self._protobuf = protobuf_format.ProtobufDecoder(
                    message, columns=[name for name, _ in self.columns], framed=self.registry is not None
                )
            return
        wanted = set()
        for value in values:
            if (
                value is not None
                and len(value) >= avro_format.HEADER_SIZE
                and value[0] == avro_format.MAGIC_BYTE
            ):
                schema_id = avro_format.schema_id_of(value)
                if schema_id not in self._writer_schemas:
                    wanted.add(schema_id)
        if wanted and self.registry is None:
            raise errors.FeatureNotSupported('an Avro source needs option "schema_registry.endpoint"')
        for schema_id in sorted(wanted):
            assert self.registry is not None
            self._writer_schemas[schema_id] = (await self.registry.by_id(schema_id)).schema

    def decode(self, key: bytes | None, value: bytes | None) -> tuple[object, ...]:
        if value is None:
            return self._nulls
        if self._protobuf is not None:
            return self._protobuf.decode(key, value)
        assert self._avro is not None
        schema_id = avro_format.schema_id_of(value)  # 22P03 for a value without the framing
        schema = self._writer_schemas.get(schema_id)
        if schema is None:
            raise errors.InvalidBinaryRepresentation(
                f"the record names Avro schema id {schema_id}, which the Schema Registry did not have"
            )
        return self._avro.decode_row(value, schema)

    async def close(self) -> None:
        if self.registry is not None:
            await self.registry.close()
