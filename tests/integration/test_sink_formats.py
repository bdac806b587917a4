"""Sink formats through the gateway: what ``INSERT INTO sink ...`` stores in Kafka, byte for byte.

Each test creates a sink connection to the session's Tansu broker and a topic of its own, runs an
INSERT through a gateway with a SQLite catalog (the catalog store is not under test here), and reads
the stored records back from the broker (tests/fixtures/consume.py). ``json``: column names as keys,
``'json.pretty'``, ``'json.include_nulls'``, ISO-8601 timestamps, base64 bytea, exact numeric digits,
``TO_JSON(...)`` and json values nested rather than quoted. ``raw``: the ``value``/``key`` columns are
the message bytes, text as UTF-8, a NULL value a tombstone. The spec's json and raw CREATE CONNECTION
statements run with only bootstrap_servers changed, followed by the spec's INSERT with its source
table given as inline rows.
"""

from __future__ import annotations

import base64
import json
import re

import psycopg
import pytest

from tests.fixtures.consume import (
    ConsumedRecord,
    create_sink,
    end_offsets,
    now_ms,
    read_records,
    run_sql,
    spec_connection,
    spec_insert,
    spec_statements,
    sql_error,
)
from tests.fixtures.kafka import KafkaBroker
from tests.integration.conftest import CatalogGateway

pytestmark = pytest.mark.integration


async def sink_on_new_topic(
    gateway: CatalogGateway, broker: KafkaBroker, fmt: str, extra: str = ""
) -> tuple[str, str]:
    """A sink connection writing to a fresh 1-partition topic: (connection name, topic)."""
    return await create_sink(
        gateway.endpoint, broker.bootstrap_servers, prefix=f"fmt-{fmt}", fmt=fmt, options=extra
    )


async def insert(gateway: CatalogGateway, sql: str, count: int) -> tuple[int, int]:
    """Run an INSERT that must answer ``INSERT 0 count``; the wall-clock window it ran in (ms)."""
    before = now_ms()
    outcome = await run_sql(gateway.endpoint, sql)
    after = now_ms()
    assert outcome.status == f"INSERT 0 {count}"
    assert outcome.notices == []
    return before, after


def values(records: list[ConsumedRecord]) -> list[bytes | None]:
    return [record.value for record in records]


def sorted_values(records: list[ConsumedRecord]) -> list[bytes]:
    """The values in byte order, for records spread over partitions (none may be a tombstone)."""
    found = [record.value for record in records]
    assert None not in found
    return sorted(value for value in found if value is not None)


# --- json ----------------------------------------------------------------------------------------------
async def test_json_writes_column_names_as_keys_and_every_type_as_the_spec_says(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await sink_on_new_topic(sink_gateway, kafka_broker, "json")
    before, after = await insert(
        sink_gateway,
        f"INSERT INTO {name} SELECT 1 AS id, 'Ann' AS name,"
        " TIMESTAMPTZ '2024-02-29 12:34:56.789+00' AS ts, TIMESTAMP '2024-02-29 12:34:56' AS local_ts,"
        " DATE '2024-02-29' AS day, '\\x00ff10'::bytea AS payload,"
        " 12345678901234567890.000100::numeric(38,6) AS big, 1.500::numeric(10,3) AS price,"
        " to_json(MAP {'a': 1}) AS details, '{\"b\": [1, 2.50]}'::json AS literal,"
        " 'a1b2c3d4-0000-0000-0000-000000000001'::uuid AS ref, true AS ok, NULL::text AS note",
        1,
    )
    (record,) = await read_records(kafka_broker.bootstrap_servers, topic)
    assert record.value == (
        b'{"id":1,"name":"Ann","ts":"2024-02-29T12:34:56.789000+00:00","local_ts":"2024-02-29T12:34:56",'
        b'"day":"2024-02-29","payload":"AP8Q","big":12345678901234567890.000100,"price":1.500,'
        b'"details":{"a":1},"literal":{"b": [1, 2.50]},"ref":"a1b2c3d4-0000-0000-0000-000000000001",'
        b'"ok":true,"note":null}'
    )
    assert base64.b64decode("AP8Q") == b"\x00\xff\x10"
    assert (record.key, record.headers, record.offset) == (None, (), 0)
    assert before <= record.timestamp <= after


async def test_json_value_of_to_json_is_nested_not_a_string(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await sink_on_new_topic(sink_gateway, kafka_broker, "json")
    await insert(sink_gateway, f"INSERT INTO {name} SELECT 1 AS id, to_json(MAP {{'a': 1}}) AS details", 1)
    await insert(sink_gateway, f"""INSERT INTO {name} SELECT 2 AS id, '{{"a":1}}'::json AS details""", 1)
    first, second = await read_records(kafka_broker.bootstrap_servers, topic)
    assert first.value == b'{"id":1,"details":{"a":1}}'
    assert second.value == b'{"id":2,"details":{"a":1}}'
    assert json.loads(first.value)["details"] == {"a": 1}


async def test_json_pretty_true_indents_the_value(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await sink_on_new_topic(sink_gateway, kafka_broker, "json", "'json.pretty' = 'true'")
    await insert(
        sink_gateway,
        f"INSERT INTO {name} SELECT 7 AS id, 'Ann' AS name, to_json(MAP {{'a': 1}}) AS details,"
        " ARRAY[1, 2] AS tags, NULL::int AS gone",
        1,
    )
    (record,) = await read_records(kafka_broker.bootstrap_servers, topic)
    expected = {"id": 7, "name": "Ann", "details": {"a": 1}, "tags": [1, 2], "gone": None}
    assert record.value == json.dumps(expected, indent=2).encode()
    assert record.value is not None
    assert record.value.startswith(b'{\n  "id": 7,\n  "name": "Ann",\n  "details": {\n    "a": 1\n  },')


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("'json.include_nulls' = 'false'", b'{"id":1,"name":"x"}'),
        ("'json.include_nulls' = 'true'", b'{"id":1,"note":null,"name":"x","extra":null}'),
        ("", b'{"id":1,"note":null,"name":"x","extra":null}'),  # the default writes nulls
    ],
)
async def test_json_include_nulls(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker, option: str, expected: bytes
) -> None:
    name, topic = await sink_on_new_topic(sink_gateway, kafka_broker, "json", option)
    await insert(
        sink_gateway, f"INSERT INTO {name} SELECT 1 AS id, NULL::text AS note, 'x' AS name, NULL AS extra", 1
    )
    assert values(await read_records(kafka_broker.bootstrap_servers, topic)) == [expected]


async def test_insert_values_with_column_list_and_rows(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await sink_on_new_topic(sink_gateway, kafka_broker, "json")
    await insert(sink_gateway, f"INSERT INTO {name} (a, b) VALUES (1, 'x'), (2, NULL), (3, 'z')", 3)
    assert values(await read_records(kafka_broker.bootstrap_servers, topic)) == [
        b'{"a":1,"b":"x"}',
        b'{"a":2,"b":null}',
        b'{"a":3,"b":"z"}',
    ]


async def test_failing_select_sends_nothing(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> None:
    name, topic = await sink_on_new_topic(sink_gateway, kafka_broker, "json")
    error = await sql_error(
        sink_gateway.endpoint,
        f"INSERT INTO {name} SELECT 1 / (i - 3) AS n FROM generate_series(1, 5) AS t(i)",
    )
    assert isinstance(error, psycopg.errors.DivisionByZero)
    assert error.sqlstate == "22012"
    await insert(sink_gateway, f"INSERT INTO {name} SELECT 'after' AS marker", 1)  # the only record
    assert values(await read_records(kafka_broker.bootstrap_servers, topic)) == [b'{"marker":"after"}']


# --- raw -----------------------------------------------------------------------------------------------
async def test_raw_value_column_is_the_message_and_key_column_the_key(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await sink_on_new_topic(sink_gateway, kafka_broker, "raw")
    await insert(
        sink_gateway, f"INSERT INTO {name} SELECT encode('hello'::bytea, 'base64') AS value, 'k1' AS key", 1
    )
    (record,) = await read_records(kafka_broker.bootstrap_servers, topic)
    assert (record.key, record.value, record.headers) == (b"k1", b"aGVsbG8=", ())


async def test_raw_text_is_utf8_bytea_verbatim_and_null_a_tombstone(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await sink_on_new_topic(sink_gateway, kafka_broker, "raw")
    await insert(sink_gateway, f"INSERT INTO {name} SELECT 'h\u00e9llo \u2603' AS value", 1)
    await insert(sink_gateway, f"INSERT INTO {name} SELECT '\\xdeadbeef00'::bytea AS value, 'bin' AS key", 1)
    await insert(sink_gateway, f"INSERT INTO {name} SELECT NULL::bytea AS value, 'user-42' AS key", 1)
    await insert(sink_gateway, f"INSERT INTO {name} SELECT '' AS value, NULL::text AS key", 1)
    await insert(sink_gateway, f"INSERT INTO {name} SELECT 42 AS value, 7 AS key", 1)
    records = await read_records(kafka_broker.bootstrap_servers, topic)
    assert [(r.offset, r.key, r.value) for r in records] == [
        (0, None, "h\u00e9llo \u2603".encode()),
        (1, b"bin", b"\xde\xad\xbe\xef\x00"),
        (2, b"user-42", None),  # tombstone: a keyed record with a null value
        (3, None, b""),  # an empty value is not a tombstone
        (4, b"7", b"42"),  # other types: their PostgreSQL text form
    ]


async def test_raw_refuses_columns_it_has_no_place_for(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await sink_on_new_topic(sink_gateway, kafka_broker, "raw")
    extra = await sql_error(sink_gateway.endpoint, f"INSERT INTO {name} SELECT 'v' AS value, 1 AS other")
    missing = await sql_error(sink_gateway.endpoint, f"INSERT INTO {name} SELECT 'v' AS payload")
    assert (extra.sqlstate, extra.diag.message_primary) == (
        "42601",
        'raw format has no place for column "other"',
    )
    assert (missing.sqlstate, missing.diag.message_primary) == (
        "42703",
        'raw format needs a column named "value"',
    )
    assert await read_records(kafka_broker.bootstrap_servers, topic) == []


# --- the spec's connections and INSERTs ---------------------------------------------------------------
# Every json/raw sink CREATE CONNECTION of the spec, and the module whose tests run it and an INSERT
# through it (avro and protobuf connections are refused at CREATE until their own issue).
SPEC_SINKS_EXERCISED = {
    "kafka_sink": "test_sink_views, test_sink_delivery",
    "kafka_json_sink": "test_sink_formats",
    "kafka_json_output": "test_sink_formats",
    "kafka_raw_sink": "test_sink_formats",
    "kafka_keyed_sink": "test_sink_routing",
    "kafka_hash_partition": "test_sink_routing",
    "kafka_custom_partition": "test_sink_routing",
    "kafka_round_robin": "test_sink_routing",
    "kafka_with_headers": "test_sink_routing",
    "kafka_multi": "test_sink_routing",
    "kafka_transactional": "test_sink_delivery",
    "kafka_2pc": "test_sink_delivery",
    "kafka_optimized": "test_sink_delivery, test_sink_views",
    "kafka_async": "test_sink_delivery",
    "kafka_with_retry": "test_sink_delivery",
    "kafka_main_sink": "test_sink_delivery",
    "kafka_dlq_sink": "test_sink_delivery",
}


def test_every_json_and_raw_spec_sink_is_exercised() -> None:
    found = {}
    for statement in spec_statements():
        match = re.search(r"CREATE CONNECTION (\w+) TO kafka \((.*)\)", statement, re.DOTALL)
        if match and "type = 'sink'" in match.group(2):
            fmt = re.search(r"format = '(\w+)'", match.group(2))
            assert fmt is not None, statement
            found[match.group(1)] = fmt.group(1)
    assert len(found) == 19
    assert {name for name, fmt in found.items() if fmt in {"json", "raw"}} == set(SPEC_SINKS_EXERCISED)
    assert {name for name, fmt in found.items() if fmt not in {"json", "raw"}} == {
        "kafka_avro_sink",
        "kafka_protobuf_sink",
    }


async def test_spec_simple_json_sink(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> None:
    servers = kafka_broker.bootstrap_servers
    since = await end_offsets(servers, "processed-events")
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    assert (await run_sql(sink_gateway.endpoint, spec_connection("kafka_json_sink", servers))).status == (
        "CREATE CONNECTION"
    )
    statement = spec_insert(
        "kafka_json_sink",
        "source_events",
        "VALUES (1, 'u1', 'purchase', TIMESTAMPTZ '2024-02-29 12:00:00+00', MAP {'sku': 'A-1', 'qty': '2'}),"
        " (2, 'u2', 'view', TIMESTAMPTZ '2024-02-29 12:00:01+00', MAP {'sku': 'B-2'}),"
        " (3, 'u1', 'purchase', TIMESTAMPTZ '2024-02-29 12:00:02.5+00', MAP {'sku': 'C-3'})",
    ).replace("AS source_events", "AS source_events(id, user_id, event_type, timestamp, metadata)")
    await insert(sink_gateway, statement, 2)
    records = await read_records(servers, "processed-events", since=since)
    assert sorted_values(records) == [
        b'{"id":1,"user_id":"u1","event_type":"purchase","timestamp":"2024-02-29T12:00:00+00:00",'
        b'"metadata":{"sku":"A-1","qty":"2"}}',
        b'{"id":3,"user_id":"u1","event_type":"purchase","timestamp":"2024-02-29T12:00:02.500000+00:00",'
        b'"metadata":{"sku":"C-3"}}',
    ]
    assert {r.key for r in records} == {None}


async def test_spec_json_output_with_pretty_false_and_nulls(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    servers = kafka_broker.bootstrap_servers
    since = await end_offsets(servers, "json-output")
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    await run_sql(sink_gateway.endpoint, spec_connection("kafka_json_output", servers))
    statement = spec_insert(
        "kafka_json_output",
        "students",
        "VALUES (1, 'Ann', 95, MAP {'club': 'chess'}), (2, 'Bo', 85, NULL),"
        " (3, NULL, 50, MAP {'club': 'art'})",
    ).replace("AS students", "AS students(id, name, score, details)")
    await insert(sink_gateway, statement, 3)
    records = await read_records(servers, "json-output", since=since)
    assert sorted_values(records) == [
        b'{"id":1,"name":"Ann","grade":"A","details_json":{"club":"chess"}}',
        b'{"id":2,"name":"Bo","grade":"B","details_json":null}',
        b'{"id":3,"name":null,"grade":"C","details_json":{"club":"art"}}',
    ]


async def test_spec_raw_sink_example(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> None:
    """The spec's raw INSERT as written: ``encode(data, 'base64') as value, encode(key, 'utf8') as key``."""
    servers = kafka_broker.bootstrap_servers
    since = await end_offsets(servers, "binary-data")
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    await run_sql(sink_gateway.endpoint, spec_connection("kafka_raw_sink", servers))
    statement = spec_insert(
        "kafka_raw_sink", "binary_stream", "VALUES ('hello'::bytea, 'k1'), ('\\x00ff'::bytea, 'k2')"
    ).replace("AS binary_stream", "AS binary_stream(data, key)")
    await insert(sink_gateway, statement, 2)
    records = await read_records(servers, "binary-data", since=since)
    assert sorted((r.key, r.value) for r in records) == [(b"k1", b"aGVsbG8="), (b"k2", b"AP8=")]
