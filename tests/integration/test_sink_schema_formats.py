"""The spec's Avro and Protobuf sinks end to end: gateway -> Schema Registry fixture -> Tansu -> bytes.

``kafka_avro_sink`` and ``kafka_protobuf_sink`` are taken from /work/shared/spec/kafka-sink.md
(tests/fixtures/consume.py) and run with two changes only: bootstrap_servers points at the session's
Tansu broker and the registry endpoint ``'http://schema-registry:8081'`` at the registry test server
(tests/fixtures/schema_registry.py), which for the Avro sink enforces basic auth with the credentials
held by the secrets ``sr_key`` / ``sr_secret`` the spec's statement references.

What the sinks stored is decoded here, independently of formats/: every Avro record is checked to be
the magic byte 0, the big-endian id of a schema the registry holds, and an Avro body that
``fastavro.schemaless_reader`` decodes with that schema (as the registry stores it) to exactly the row
that was inserted; every Protobuf record's framing (magic byte, id, message indexes ``[0]`` written as
one 0 byte) is read by hand and the message parsed with a class built from a descriptor set that a
separate ``python -m grpc_tools.protoc`` run compiled from the .proto text.

Covered: every column type of the Avro mapping with NULLs, a continuous pipeline from a JSON source,
``'auto.register.schemas' = 'false'`` against a compatible and an incompatible registered schema,
schema evolution (a new nullable column registers version 2; both ids decode), a key_field with
``'key.format' = 'avro'``, and failures that lose nothing: wrong registry credentials (42501, the
secret shown nowhere), the registry answering 503 or gone (08006), a missing subject (42704), and a
pipeline that retries while the registry is unavailable and then delivers every row.

The spec topics are shared with other modules of the session, so output is read from the end offsets
taken before each test; each test has a registry of its own, so subjects start empty.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import json
import struct
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import psycopg
import pytest

from tests.fixtures.consume import (
    ConsumedRecord,
    end_offsets,
    poll_records,
    read_records,
    run_sql,
    spec_connection,
    sql_error,
    unique,
)
from tests.fixtures.kafka import KafkaBroker
from tests.fixtures.protoc import protoc_message_class
from tests.fixtures.schema_registry import SchemaRegistryServer, running_schema_registry
from tests.fixtures.spec_data import (
    PIPELINE_DEADLINE_S,
    create_json_source,
    ensure_topic_exists,
    pipeline_status,
    produce,
    wait_pipeline,
)
from tests.integration.conftest import CatalogGateway

pytestmark = pytest.mark.integration

UTC = dt.UTC
SPEC_REGISTRY = "'http://schema-registry:8081'"
SR_KEY = "laminar-sink-key"
SR_SECRET = "sr-secret-7d41c9e2-never-shown"
AVRO_TOPIC, AVRO_SUBJECT, AVRO_KEY_SUBJECT = "avro-output", "avro-output-value", "avro-output-key"
PROTO_TOPIC, PROTO_SUBJECT = "protobuf-output", "protobuf-output-value"
SOURCE_PARTITIONS = 3


def spec_registry_connection(name: str, servers: str, registry_url: str) -> str:
    """The spec's CREATE CONNECTION with bootstrap_servers and the registry endpoint replaced: the only
    two changes."""
    statement = spec_connection(name, servers)
    assert statement.count(SPEC_REGISTRY) == 1, statement
    return statement.replace(SPEC_REGISTRY, f"'{registry_url}'")


class Scenario:
    """What one test created in the module's gateway (secrets, connections, pipelines), dropped when the
    test ends so the next test can create the spec's connection names again."""

    def __init__(self, gateway: CatalogGateway, broker: KafkaBroker) -> None:
        self.gateway = gateway
        self.servers = broker.bootstrap_servers
        self.pipelines: list[str] = []
        self.connections: list[str] = []
        self.secrets: list[str] = []

    async def sql(self, statement: str) -> str:
        return (await run_sql(self.gateway.endpoint, statement)).status

    async def secret(self, name: str, value: str) -> None:
        assert await self.sql(f"CREATE SECRET {name} AS '{value}'") == "CREATE SECRET"
        self.secrets.append(name)

    async def avro_sink(self, registry: SchemaRegistryServer, *changes: str) -> dict[int, int]:
        """The spec's kafka_avro_sink on ``registry`` (secrets holding SR_KEY / SR_SECRET), then
        ``ALTER CONNECTION kafka_avro_sink SET (change)`` for each change; the topic's end offsets."""
        await self.secret("sr_key", SR_KEY)
        await self.secret("sr_secret", SR_SECRET)
        return await self._spec_sink("kafka_avro_sink", AVRO_TOPIC, registry, changes)

    async def protobuf_sink(self, registry: SchemaRegistryServer) -> dict[int, int]:
        return await self._spec_sink("kafka_protobuf_sink", PROTO_TOPIC, registry, ())

    async def _spec_sink(
        self, name: str, topic: str, registry: SchemaRegistryServer, changes: Sequence[str]
    ) -> dict[int, int]:
        await ensure_topic_exists(self.servers, topic)
        since = await end_offsets(self.servers, topic)
        statement = spec_registry_connection(name, self.servers, registry.url)
        assert await self.sql(statement) == "CREATE CONNECTION"
        self.connections.append(name)
        for change in changes:
            assert await self.sql(f"ALTER CONNECTION {name} SET ({change})") == "ALTER CONNECTION"
        return since

    async def json_source(self, name: str, columns: str) -> str:
        topic = await create_json_source(
            self.gateway.endpoint, self.servers, name, columns, partitions=SOURCE_PARTITIONS
        )
        self.connections.insert(0, name)
        return topic

    async def pipeline(self, statement: str, name: str) -> None:
        self.pipelines.append(name)
        assert await self.sql(statement) == "CREATE PIPELINE"

    async def close(self) -> None:
        for name in self.pipelines:
            assert await self.sql(f"DROP PIPELINE IF EXISTS {name}") == "DROP PIPELINE"
        for name in reversed(self.connections):
            assert await self.sql(f"DROP CONNECTION IF EXISTS {name}") == "DROP CONNECTION"
        for name in self.secrets:
            assert await self.sql(f"DROP SECRET {name}") == "DROP SECRET"


@pytest.fixture
async def scenario(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> AsyncIterator[Scenario]:
    created = Scenario(sink_gateway, kafka_broker)
    try:
        yield created
    finally:
        await created.close()


@pytest.fixture
def registry() -> Iterator[SchemaRegistryServer]:
    """A registry of the test's own with basic auth: the credentials the spec's secrets hold."""
    with running_schema_registry(username=SR_KEY, password=SR_SECRET) as server:
        yield server


@pytest.fixture
def open_registry() -> Iterator[SchemaRegistryServer]:
    """A registry without authentication (the spec's Protobuf sink gives no credentials)."""
    with running_schema_registry() as server:
        yield server


# --- independent Avro decoding --------------------------------------------------------------------------
def confluent_header(value: bytes | None) -> int:
    """The schema id of a Confluent-framed message (magic byte 0, then 4 bytes big-endian)."""
    assert value is not None
    assert len(value) >= 5, value
    assert value[0] == 0, f"magic byte {value[0]}"
    return int(struct.unpack(">I", value[1:5])[0])


def registered_avro(registry: SchemaRegistryServer, schema_id: int) -> Any:
    """The schema the registry holds under ``schema_id``, as JSON."""
    stored = registry.schemas[schema_id]
    assert stored.schema_type == "AVRO"
    return json.loads(stored.schema)


def decode_avro(
    registry: SchemaRegistryServer, value: bytes | None, *, reader: Any = None
) -> tuple[int, Any]:
    """(schema id, decoded datum): fastavro.schemaless_reader with the registry's schema for the id;
    the body must be consumed to its last byte."""
    schema_id = confluent_header(value)
    assert value is not None
    writer = fastavro.parse_schema(registered_avro(registry, schema_id))
    body = io.BytesIO(value[5:])
    datum = fastavro.schemaless_reader(
        body, writer, None if reader is None else fastavro.parse_schema(reader)
    )
    assert body.tell() == len(value) - 5, "bytes left after the Avro body"
    return schema_id, datum


def decoded_by(
    key: str, registry: SchemaRegistryServer, records: Sequence[ConsumedRecord]
) -> dict[object, Any]:
    """Decoded values by the value of their field ``key`` (each once)."""
    found: dict[object, Any] = {}
    for record in records:
        _, datum = decode_avro(registry, record.value)
        found[datum[key]] = datum
    assert len(found) == len(records), "a row was stored twice"
    return found


def nothing_written_since(records: Sequence[ConsumedRecord]) -> None:
    assert list(records) == [], f"{len(records)} records were written"


def nullable(avro_type: object) -> dict[str, object]:
    return {"type": ["null", avro_type], "default": None}


# --- 1. every column type ---------------------------------------------------------------------------------
TYPED_SELECT = """INSERT INTO kafka_avro_sink
SELECT id::BIGINT AS id, qty::INTEGER AS qty, name::TEXT AS name, score::DOUBLE PRECISION AS score,
       price, active::BOOLEAN AS active, day::DATE AS day, at::TIMESTAMPTZ AS at,
       ref::UUID AS ref, payload
FROM (VALUES
    (1, 10, 'Ann', 1.5, '12.34'::NUMERIC, true, '2024-02-29', '2024-02-29 12:34:56.789012+00',
     'a1b2c3d4-0000-4000-8000-000000000001', '\\x00ff10'::BYTEA),
    (9223372036854775807, -2147483648, 'h\u00e9llo \u2603', -0.25, '-99999999.0000000001'::NUMERIC, false,
     '1970-01-01', '1999-12-31 23:59:59+02', 'ffffffff-ffff-4fff-bfff-ffffffffffff', ''::BYTEA),
    (-9223372036854775808, 2147483647, '', 1e300, '0'::NUMERIC, true, '9999-12-31', '1970-01-01 00:00:00+00',
     '00000000-0000-0000-0000-000000000000', '\\xdeadbeef'::BYTEA),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS t(id, qty, name, score, price, active, day, at, ref, payload)"""

TYPED_COLUMNS = ("id", "qty", "name", "score", "price", "active", "day", "at", "ref", "payload")
TYPED_ROWS = [
    (
        1,
        10,
        "Ann",
        1.5,
        Decimal("12.34"),
        True,
        dt.date(2024, 2, 29),
        dt.datetime(2024, 2, 29, 12, 34, 56, 789012, tzinfo=UTC),
        uuid.UUID("a1b2c3d4-0000-4000-8000-000000000001"),
        b"\x00\xff\x10",
    ),
    (
        2**63 - 1,
        -(2**31),
        "h\u00e9llo \u2603",
        -0.25,
        Decimal("-99999999.0000000001"),
        False,
        dt.date(1970, 1, 1),
        dt.datetime(1999, 12, 31, 21, 59, 59, tzinfo=UTC),
        uuid.UUID("ffffffff-ffff-4fff-bfff-ffffffffffff"),
        b"",
    ),
    (
        -(2**63),
        2**31 - 1,
        "",
        1e300,
        Decimal("0"),
        True,
        dt.date(9999, 12, 31),
        dt.datetime(1970, 1, 1, tzinfo=UTC),
        uuid.UUID(int=0),
        b"\xde\xad\xbe\xef",
    ),
    (None,) * 10,
]
TYPED_FIELDS = [
    {"name": "id", **nullable("long")},
    {"name": "qty", **nullable("int")},
    {"name": "name", **nullable("string")},
    {"name": "score", **nullable("double")},
    {"name": "price", **nullable({"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 10})},
    {"name": "active", **nullable("boolean")},
    {"name": "day", **nullable({"type": "int", "logicalType": "date"})},
    {"name": "at", **nullable({"type": "long", "logicalType": "timestamp-micros"})},
    {"name": "ref", **nullable({"type": "string", "logicalType": "uuid"})},
    {"name": "payload", **nullable("bytes")},
]


async def test_spec_avro_sink_writes_every_type_decodable_with_the_registered_schema(
    scenario: Scenario, registry: SchemaRegistryServer
) -> None:
    since = await scenario.avro_sink(registry)
    assert await scenario.sql(TYPED_SELECT) == "INSERT 0 4"
    records = await read_records(scenario.servers, AVRO_TOPIC, since=since)
    assert len(records) == 4
    (schema_id,) = registry.subjects[AVRO_SUBJECT]  # registered once, as version 1
    assert set(registry.subjects) == {AVRO_SUBJECT}
    # Derived from the SELECT list: named after the topic, every field nullable with default null.
    schema = registered_avro(registry, schema_id)
    assert schema == {"type": "record", "name": "avro_output", "namespace": "laminar", "fields": TYPED_FIELDS}
    # The client authenticated with the secrets' values: no request was refused.
    assert registry.request_count() > 0
    assert all(request.status == 200 for request in registry.requests)
    decoded = []
    for record in records:
        found_id, datum = decode_avro(registry, record.value)
        assert found_id == schema_id
        assert list(datum) == list(TYPED_COLUMNS)  # the schema's field order: the SELECT list's
        decoded.append(tuple(datum[column] for column in TYPED_COLUMNS))
        assert record.key is None
    assert sorted(decoded, key=repr) == sorted(TYPED_ROWS, key=repr)
    # NULL travels as the union's "null" branch: index 0, one zero byte per field.
    (null_record,) = [r for r in records if r.value is not None and r.value[5:] == b"\x00" * 10]
    assert null_record.value == b"\x00" + struct.pack(">I", schema_id) + b"\x00" * 10


# --- 2. a continuous pipeline into the Avro sink --------------------------------------------------------
async def test_spec_avro_sink_fed_by_a_continuous_pipeline(
    scenario: Scenario, registry: SchemaRegistryServer
) -> None:
    since = await scenario.avro_sink(registry)
    source = unique("avro_src").replace("-", "_")
    topic = await scenario.json_source(
        source, "id BIGINT, name TEXT, amount DOUBLE, at TIMESTAMPTZ, vip BOOLEAN"
    )
    events = [
        {
            "id": n,
            "name": f"user {n}",
            "amount": n * 1.25,
            "at": f"2024-03-01T10:00:{n:02d}Z",
            "vip": n % 2 == 0,
        }
        for n in range(1, 13)
    ]
    events[4] = {"id": 5, "name": None, "amount": None, "at": None, "vip": None}
    await produce(scenario.servers, topic, events[:6], partitions=SOURCE_PARTITIONS)
    name = unique("avro_pipe").replace("-", "_")
    await scenario.pipeline(
        f"CREATE PIPELINE {name} WITH (batch_ms = '50 ms', commit_interval_ms = '200 ms') AS"
        f" INSERT INTO kafka_avro_sink SELECT id, upper(name) AS name, amount * 2 AS amount, at, vip"
        f" FROM {source} WHERE id <> 3",
        name,
    )
    await produce(scenario.servers, topic, events[6:], partitions=SOURCE_PARTITIONS, first=6)
    await wait_pipeline(scenario.gateway.endpoint, name, rows_in=12, rows_out=11)
    records = await poll_records(scenario.servers, AVRO_TOPIC, 11, since=since)
    (schema_id,) = registry.subjects[AVRO_SUBJECT]
    assert {confluent_header(r.value) for r in records} == {schema_id}
    assert [f["name"] for f in registered_avro(registry, schema_id)["fields"]] == [
        "id",
        "name",
        "amount",
        "at",
        "vip",
    ]
    expected = {
        e["id"]: {
            "id": e["id"],
            "name": None if e["name"] is None else str(e["name"]).upper(),
            "amount": None if e["amount"] is None else float(e["amount"]) * 2,  # type: ignore[arg-type]
            "at": None if e["at"] is None else dt.datetime.fromisoformat(str(e["at"])),
            "vip": e["vip"],
        }
        for e in events
        if e["id"] != 3
    }
    assert decoded_by("id", registry, records) == expected


# --- 3. auto.register.schemas = 'false', and schema evolution -------------------------------------------
ORDER_SCHEMA = {
    "type": "record",
    "name": "Order",
    "namespace": "com.example",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "qty", "type": "long"},  # an integer column fits a long field
        {"name": "name", "type": ["null", "string"], "default": None},
        {"name": "amount", "type": "double"},
        {"name": "note", "type": "string", "default": "none"},  # no column: the default is written
    ],
}
ORDER_INSERT = (
    "INSERT INTO kafka_avro_sink SELECT id::BIGINT AS id, qty::INTEGER AS qty, name::TEXT AS name,"
    " amount::DOUBLE PRECISION AS amount FROM (VALUES (1, 3, 'pen', 2.5), (2, 40000, NULL, 0.0))"
    " AS t(id, qty, name, amount)"
)


async def test_auto_register_false_writes_with_a_compatible_registered_schema(
    scenario: Scenario, registry: SchemaRegistryServer
) -> None:
    schema_id = registry.register(AVRO_SUBJECT, json.dumps(ORDER_SCHEMA))
    since = await scenario.avro_sink(registry, "'auto.register.schemas' = 'false'")
    assert await scenario.sql(ORDER_INSERT) == "INSERT 0 2"
    records = await read_records(scenario.servers, AVRO_TOPIC, since=since)
    assert {confluent_header(r.value) for r in records} == {schema_id}
    assert decoded_by("id", registry, records) == {
        1: {"id": 1, "qty": 3, "name": "pen", "amount": 2.5, "note": "none"},
        2: {"id": 2, "qty": 40000, "name": None, "amount": 0.0, "note": "none"},
    }
    assert registry.subjects == {AVRO_SUBJECT: [schema_id]}  # nothing registered
    assert registry.request_count("POST") == 0


async def test_auto_register_false_refuses_an_output_that_does_not_fit_and_writes_nothing(
    scenario: Scenario, registry: SchemaRegistryServer
) -> None:
    misfit = {
        **ORDER_SCHEMA,
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "name", "type": "boolean"},  # a text column cannot fill it
            {"name": "amount", "type": "double"},
            {"name": "quantity", "type": "int"},  # no column, no default
        ],
    }
    schema_id = registry.register(AVRO_SUBJECT, json.dumps(misfit))
    since = await scenario.avro_sink(registry, "'auto.register.schemas' = 'false'")
    error = await sql_error(
        scenario.gateway.endpoint,
        "INSERT INTO kafka_avro_sink SELECT 1::BIGINT AS id, 'pen' AS name, 2.5::DOUBLE PRECISION AS amount",
    )
    assert error.sqlstate == "42804", str(error)
    # Every misfit is listed: the text column for the boolean field, the field without column or default.
    assert "column name is text, field name is boolean" in str(error.diag.message_detail), error_text(error)
    assert "field quantity has no default" in str(error.diag.message_detail), error_text(error)
    assert error.diag.message_primary is not None
    assert "quantity" in error.diag.message_primary
    nothing_written_since(await read_records(scenario.servers, AVRO_TOPIC, since=since))
    assert registry.subjects == {AVRO_SUBJECT: [schema_id]}


async def test_create_pipeline_refuses_an_output_that_does_not_fit_the_registered_schema(
    scenario: Scenario, registry: SchemaRegistryServer
) -> None:
    schema_id = registry.register(AVRO_SUBJECT, json.dumps(ORDER_SCHEMA))
    since = await scenario.avro_sink(registry, "'auto.register.schemas' = 'false'")
    source = unique("avro_src").replace("-", "_")
    topic = await scenario.json_source(source, "id BIGINT, label TEXT")
    await produce(scenario.servers, topic, [{"id": 1, "label": "x"}], partitions=SOURCE_PARTITIONS)
    name = unique("avro_misfit").replace("-", "_")
    error = await sql_error(
        scenario.gateway.endpoint,
        f"CREATE PIPELINE {name} AS INSERT INTO kafka_avro_sink SELECT id, label FROM {source}",
    )
    assert error.sqlstate == "42804", str(error)
    detail = str(error.diag.message_detail)
    assert "qty" in detail, detail  # ORDER_SCHEMA's fields without a column or a default
    assert "amount" in detail, detail
    shown = await run_sql(scenario.gateway.endpoint, "SHOW PIPELINES")
    assert name not in {row[0] for row in shown.rows}  # not created
    nothing_written_since(await read_records(scenario.servers, AVRO_TOPIC, since=since))
    assert registry.subjects == {AVRO_SUBJECT: [schema_id]}


async def test_a_new_column_registers_a_backward_compatible_version_and_both_ids_decode(
    scenario: Scenario, registry: SchemaRegistryServer
) -> None:
    since = await scenario.avro_sink(registry)
    assert (
        await scenario.sql("INSERT INTO kafka_avro_sink SELECT 1::BIGINT AS id, 'Ann' AS name")
        == "INSERT 0 1"
    )
    assert (
        await scenario.sql(
            "INSERT INTO kafka_avro_sink SELECT 2::BIGINT AS id, 'Bo' AS name, 'bo@example.com' AS email"
        )
        == "INSERT 0 1"
    )
    first_id, second_id = registry.subjects[AVRO_SUBJECT]  # versions 1 and 2
    assert first_id != second_id
    assert registry.schemas[second_id].schema_type == "AVRO"
    v1, v2 = registered_avro(registry, first_id), registered_avro(registry, second_id)
    assert v2["fields"] == [*v1["fields"], {"name": "email", **nullable("string")}]
    records = await read_records(scenario.servers, AVRO_TOPIC, since=since)
    first, second = sorted(records, key=lambda record: confluent_header(record.value))
    assert decode_avro(registry, first.value) == (first_id, {"id": 1, "name": "Ann"})
    assert decode_avro(registry, second.value) == (
        second_id,
        {"id": 2, "name": "Bo", "email": "bo@example.com"},
    )
    # BACKWARD: a reader of version 2 reads what version 1 wrote (the new field takes its default).
    assert decode_avro(registry, first.value, reader=v2) == (
        first_id,
        {"id": 1, "name": "Ann", "email": None},
    )
    # An incompatible change (id from bigint to text) is refused by the registry: 42804, nothing written.
    before = await end_offsets(scenario.servers, AVRO_TOPIC)
    error = await sql_error(
        scenario.gateway.endpoint, "INSERT INTO kafka_avro_sink SELECT 'x' AS id, 'Cy' AS name"
    )
    assert error.sqlstate == "42804", str(error)
    assert AVRO_SUBJECT in str(error.diag.message_primary)
    nothing_written_since(await read_records(scenario.servers, AVRO_TOPIC, since=before))
    assert registry.subjects[AVRO_SUBJECT] == [first_id, second_id]


# --- 4. Avro keys ------------------------------------------------------------------------------------------
async def test_key_field_with_key_format_avro_frames_the_key_with_the_key_subject_id(
    scenario: Scenario, registry: SchemaRegistryServer
) -> None:
    since = await scenario.avro_sink(registry, "key_field = 'id', 'key.format' = 'avro'")
    assert (
        await scenario.sql(
            "INSERT INTO kafka_avro_sink SELECT id::BIGINT AS id, name FROM"
            " (VALUES (7, 'a'), (-300, 'b'), (NULL, 'c')) AS t(id, name)"
        )
        == "INSERT 0 3"
    )
    records = await read_records(scenario.servers, AVRO_TOPIC, since=since)
    (key_id,) = registry.subjects[AVRO_KEY_SUBJECT]
    (value_id,) = registry.subjects[AVRO_SUBJECT]
    assert key_id != value_id
    keys = {}
    for record in records:
        _, value = decode_avro(registry, record.value)
        assert confluent_header(record.value) == value_id
        if value["id"] is None:
            assert record.key is None  # a NULL key_field: no key at all
            continue
        found_id, key = decode_avro(registry, record.key)
        assert found_id == key_id
        keys[key] = value
    assert keys == {7: {"id": 7, "name": "a"}, -300: {"id": -300, "name": "b"}}
    assert len(records) == 3


# --- 5. Protobuf --------------------------------------------------------------------------------------------
EVENT_PROTO = """syntax = "proto3";
package com.example;

import "google/protobuf/timestamp.proto";

enum Kind {
  KIND_UNSPECIFIED = 0;
  CLICK = 1;
  VIEW = 2;
}

message Event {
  int64 id = 1;
  string name = 2;
  double amount = 3;
  google.protobuf.Timestamp created_at = 4;
  bool active = 5;
  Kind kind = 6;
  repeated string tags = 7;
}
"""


async def test_spec_protobuf_sink_frames_messages_that_protoc_classes_parse(
    scenario: Scenario, open_registry: SchemaRegistryServer, tmp_path: Path
) -> None:
    schema_id = open_registry.register(PROTO_SUBJECT, EVENT_PROTO, "PROTOBUF")
    since = await scenario.protobuf_sink(open_registry)
    assert (
        await scenario.sql(
            "INSERT INTO kafka_protobuf_sink SELECT id::BIGINT AS id, name,"
            " amount::DOUBLE PRECISION AS amount, created_at::TIMESTAMPTZ AS created_at,"
            " active::BOOLEAN AS active, kind, tags::TEXT[] AS tags"
            " FROM (VALUES"
            " (1, 'Ann', 9.75, '2024-02-29 12:34:56.789012+00', true, 'CLICK', ['a', 'b']),"
            " (2, 'Bo', -1.5, '1999-12-31 23:59:59+02', false, 'VIEW', []),"
            " (3, NULL, NULL, NULL, NULL, NULL, NULL)"
            ") AS t(id, name, amount, created_at, active, kind, tags)"
        )
        == "INSERT 0 3"
    )
    records = await read_records(scenario.servers, PROTO_TOPIC, since=since)
    assert open_registry.subjects == {PROTO_SUBJECT: [schema_id]}  # the sink registered nothing
    event = protoc_message_class(tmp_path, EVENT_PROTO, "com.example.Event")
    kind = event.DESCRIPTOR.fields_by_name["kind"].enum_type.values_by_name
    found = {}
    for record in records:
        value = record.value
        assert value is not None
        assert value[0] == 0  # magic byte
        assert value[1:5] == struct.pack(">I", schema_id)
        assert value[5] == 0  # message indexes [0] (the first message of the file): one 0 byte
        message = event.FromString(value[6:])
        assert message.SerializeToString() == value[6:]  # no field the protoc class does not know
        created = message.created_at.ToDatetime(tzinfo=UTC) if message.HasField("created_at") else None
        found[message.id] = (
            message.name,
            message.amount,
            created,
            message.active,
            message.kind,
            list(message.tags),
        )
    assert found == {
        1: (
            "Ann",
            9.75,
            dt.datetime(2024, 2, 29, 12, 34, 56, 789012, tzinfo=UTC),
            True,
            kind["CLICK"].number,
            ["a", "b"],
        ),
        2: ("Bo", -1.5, dt.datetime(1999, 12, 31, 21, 59, 59, tzinfo=UTC), False, kind["VIEW"].number, []),
        3: ("", 0.0, None, False, 0, []),  # NULL leaves the field unset: proto3 defaults, no Timestamp
    }
    assert len(records) == 3


# --- 6. failures that lose nothing --------------------------------------------------------------------------
def error_text(error: psycopg.Error) -> str:
    diag = error.diag
    return " ".join(
        str(part) for part in (diag.message_primary, diag.message_detail, diag.message_hint) if part
    )


SIMPLE_INSERT = "INSERT INTO kafka_avro_sink SELECT 1::BIGINT AS id, 'x' AS name"


async def test_wrong_registry_credentials_are_42501_and_never_show_the_secret(
    scenario: Scenario, sink_gateway: CatalogGateway
) -> None:
    with running_schema_registry(username=SR_KEY, password="what-the-registry-expects") as registry:
        since = await scenario.avro_sink(registry)
        error = await sql_error(scenario.gateway.endpoint, SIMPLE_INSERT)
        assert error.sqlstate == "42501", str(error)
        text = error_text(error)
        assert AVRO_SUBJECT in text or registry.url in text, text
        assert registry.request_count() > 0
        assert {request.status for request in registry.requests} == {401}
    basic = base64.b64encode(f"{SR_KEY}:{SR_SECRET}".encode()).decode()
    log = sink_gateway.log_path.read_text(errors="replace")
    assert log  # the gateway does log: the check below is not vacuous
    for secret in (SR_SECRET, basic):
        assert secret not in text
        assert secret not in str(error)
        assert secret not in log
    nothing_written_since(await read_records(scenario.servers, AVRO_TOPIC, since=since))


async def test_alter_secret_reaches_a_sink_already_in_use(scenario: Scenario) -> None:
    """The registry password is wrong, then fixed with ALTER SECRET: the next INSERT uses the new
    value (the sink built with the old one is rebuilt, with no ALTER CONNECTION or restart)."""
    with running_schema_registry(username=SR_KEY, password="the-new-password") as registry:
        await scenario.avro_sink(registry)
        assert (await sql_error(scenario.gateway.endpoint, SIMPLE_INSERT)).sqlstate == "42501"
        await scenario.sql("ALTER SECRET sr_secret AS 'the-new-password'")
        assert await scenario.sql(SIMPLE_INSERT) == "INSERT 0 1"


async def test_registry_answering_503_is_08006_and_nothing_is_written_until_it_is_back(
    scenario: Scenario, registry: SchemaRegistryServer
) -> None:
    since = await scenario.avro_sink(registry)
    with registry.unavailable():
        error = await sql_error(scenario.gateway.endpoint, SIMPLE_INSERT)
    assert error.sqlstate == "08006", str(error)
    assert registry.url in error_text(error)
    assert registry.subjects == {}
    nothing_written_since(await read_records(scenario.servers, AVRO_TOPIC, since=since))
    # The same statement once the registry answers again: written, decodable.
    assert await scenario.sql(SIMPLE_INSERT) == "INSERT 0 1"
    (record,) = await read_records(scenario.servers, AVRO_TOPIC, since=since)
    assert decode_avro(registry, record.value)[1] == {"id": 1, "name": "x"}


async def test_registry_gone_is_08006_and_nothing_is_written(
    scenario: Scenario, registry: SchemaRegistryServer
) -> None:
    since = await scenario.avro_sink(registry)
    registry.stop()
    error = await sql_error(scenario.gateway.endpoint, SIMPLE_INSERT)
    assert error.sqlstate == "08006", str(error)
    assert registry.url in error_text(error)
    nothing_written_since(await read_records(scenario.servers, AVRO_TOPIC, since=since))


async def test_missing_subject_with_auto_register_false_is_42704_naming_it(
    scenario: Scenario, registry: SchemaRegistryServer
) -> None:
    since = await scenario.avro_sink(registry, "'auto.register.schemas' = 'false'")
    error = await sql_error(scenario.gateway.endpoint, SIMPLE_INSERT)
    assert error.sqlstate == "42704", str(error)
    assert AVRO_SUBJECT in str(error.diag.message_primary)
    nothing_written_since(await read_records(scenario.servers, AVRO_TOPIC, since=since))
    assert registry.subjects == {}


async def test_pipeline_retries_while_the_registry_is_unavailable_and_then_delivers_every_row(
    scenario: Scenario, registry: SchemaRegistryServer
) -> None:
    since = await scenario.avro_sink(registry)
    source = unique("avro_src").replace("-", "_")
    topic = await scenario.json_source(source, "id BIGINT, name TEXT")
    name = unique("avro_retry").replace("-", "_")
    events = [{"id": n, "name": f"n{n}"} for n in range(1, 9)]
    with registry.unavailable():
        await scenario.pipeline(
            f"CREATE PIPELINE {name} WITH (batch_ms = '50 ms', max_retries = 1000,"
            f" retry_backoff_ms = '100 ms') AS INSERT INTO kafka_avro_sink SELECT id, name FROM {source}",
            name,
        )
        await produce(scenario.servers, topic, events, partitions=SOURCE_PARTITIONS)
        status = await wait_for_status(scenario, name, lambda status: status["state"] == "retrying")
        assert registry.url in str(status["error"]), status
        assert "08006" in str(status["error"]) or "unavailable" in str(status["error"]), status
        nothing_written_since(await read_records(scenario.servers, AVRO_TOPIC, since=since))
    # Back: the retried attempt re-reads from the committed offsets (rows_in counts re-reads).
    status = await wait_for_status(
        scenario,
        name,
        lambda status: (status["state"], status["rows_out"], status["lag"]) == ("running", 8, 0),
    )
    assert status["error"] is None
    records = await poll_records(scenario.servers, AVRO_TOPIC, 8, since=since)
    assert decoded_by("id", registry, records) == {e["id"]: e for e in events}


async def wait_for_status(
    scenario: Scenario, name: str, done: Callable[[Mapping[str, object]], bool]
) -> Mapping[str, object]:
    """Poll system.pipelines until ``done(status)``, or fail at the deadline."""
    deadline = time.monotonic() + PIPELINE_DEADLINE_S
    while True:
        status = await pipeline_status(scenario.gateway.endpoint, name)
        if done(status):
            return status
        assert time.monotonic() < deadline, f"pipeline {name} after {PIPELINE_DEADLINE_S}s: {status}"
        await asyncio.sleep(0.05)  # poll interval: the loop ends on the condition
