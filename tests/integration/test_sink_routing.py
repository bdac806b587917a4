"""Sink routing through the gateway: keys, partitions, topics and headers of the stored records.

Each test writes through ``INSERT INTO sink ...`` on a gateway with a SQLite catalog and reads what the
Tansu broker stored. Partition choices are compared with implementations that do not come from the
sink: aiokafka's own ``murmur2`` / ``DefaultPartitioner`` (checked here against the Java client's
published murmur2 vectors), ``zlib.crc32`` for ``consistent`` and librdkafka's ``rd_fnv1a`` written
out below from its definition (checked against the FNV reference vectors). ``partition_field``,
``topic_field`` and ``_kafka_headers`` steer records and must not appear in the value; an
out-of-range partition follows ``error_policy`` (fail: nothing sent; skip: NOTICE; dlq: the row goes
to the DLQ connection's topic with ``laminar.*`` headers). The spec's routing CREATE CONNECTION
statements run with only bootstrap_servers changed.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Callable

import pytest
from aiokafka.partitioner import DefaultPartitioner, murmur2

from tests.fixtures.consume import (
    ConsumedRecord,
    create_sink,
    end_offsets,
    ensure_topic,
    read_records,
    run_sql,
    spec_connection,
    spec_insert,
    sql_error,
    unique,
)
from tests.fixtures.kafka import KafkaBroker, create_topic
from tests.integration.conftest import CatalogGateway

pytestmark = pytest.mark.integration

PARTITIONS = 7
KEYS = 200
# org.apache.kafka.common.utils.UtilsTest#testMurmur2: Utils.murmur2 of these keys (Java ints).
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


# --- reference partitioners (not the sink's code) -------------------------------------------------
def java_partition(key: bytes, partitions: int) -> int:
    """The Java client's keyed choice, via aiokafka's DefaultPartitioner."""
    chosen: int = DefaultPartitioner()(key, list(range(partitions)), list(range(partitions)))
    return chosen


def crc32_partition(key: bytes, partitions: int) -> int:
    return zlib.crc32(key) % partitions


def rd_fnv1a(data: bytes) -> int:
    """librdkafka rdfnv1a.c: 32-bit FNV-1a in an int32, then its absolute value (Sarama-compatible)."""
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    signed = h - (1 << 32) if h & 0x80000000 else h
    return abs(signed) & 0xFFFFFFFF


def fnv1a_partition(key: bytes, partitions: int) -> int:
    return rd_fnv1a(key) % partitions


def test_reference_hashes_match_published_vectors() -> None:
    for key, java in JAVA_MURMUR2.items():
        assert murmur2(key) == java & 0xFFFFFFFF
    # FNV-1a 32-bit test vectors (Fowler/Noll/Vo test suite), before librdkafka's absolute value
    assert rd_fnv1a(b"a") == (1 << 32) - 0xE40C292C  # 0xe40c292c is negative as an int32
    assert rd_fnv1a(b"foobar") == (1 << 32) - 0xBF9CF968
    assert rd_fnv1a(b"") == (1 << 32) - 0x811C9DC5  # the offset basis, negative as an int32


# --- helpers --------------------------------------------------------------------------------------
async def keyed_sink(
    gateway: CatalogGateway, broker: KafkaBroker, partitions: int, extra: str = ""
) -> tuple[str, str]:
    """A json sink connection on a fresh topic with ``partitions`` partitions: (name, topic)."""
    return await create_sink(
        gateway.endpoint, broker.bootstrap_servers, prefix="route", partitions=partitions, options=extra
    )


async def insert(gateway: CatalogGateway, sql: str, count: int) -> list[str]:
    outcome = await run_sql(gateway.endpoint, sql)
    assert outcome.status == f"INSERT 0 {count}"
    return outcome.notices


def by_number(records: list[ConsumedRecord]) -> dict[int, ConsumedRecord]:
    """Records by the "n" field of their JSON value (each n once)."""
    found = {}
    for record in records:
        assert record.value is not None
        found[json.loads(record.value)["n"]] = record
    assert len(found) == len(records), "a row was stored twice"
    return found


# --- keys and partitioners ----------------------------------------------------------------------
async def test_key_field_value_is_the_key(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> None:
    name, topic = await keyed_sink(sink_gateway, kafka_broker, 1, "key_field = 'user_id'")
    await insert(
        sink_gateway,
        f"INSERT INTO {name} SELECT * FROM (VALUES ('u-1', 1), ('\u00fcser', 2), (NULL, 3)) AS t(user_id, n)",
        3,
    )
    await insert(sink_gateway, f"INSERT INTO {name} SELECT 42 AS user_id, 4 AS n", 1)
    records = await read_records(kafka_broker.bootstrap_servers, topic)
    assert [(r.key, r.value) for r in records] == [
        (b"u-1", b'{"user_id":"u-1","n":1}'),  # the key column stays in the value
        ("\u00fcser".encode(), '{"user_id":"\u00fcser","n":2}'.encode()),
        (None, b'{"user_id":null,"n":3}'),
        (b"42", b'{"user_id":42,"n":4}'),  # non-text keys: their PostgreSQL text form
    ]


async def test_default_partitioner_of_a_keyed_sink_is_the_java_clients(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await keyed_sink(sink_gateway, kafka_broker, PARTITIONS, "key_field = 'customer_id'")
    await insert(
        sink_gateway,
        f"INSERT INTO {name} SELECT 'customer-' || i AS customer_id, i AS n"
        f" FROM generate_series(1, {KEYS}) AS t(i)",
        KEYS,
    )
    java_keys = ", ".join(f"('{key.decode()}', {-i})" for i, key in enumerate(JAVA_MURMUR2, start=1))
    await insert(
        sink_gateway, f"INSERT INTO {name} SELECT * FROM (VALUES {java_keys}) AS t(customer_id, n)", 6
    )
    records = await read_records(kafka_broker.bootstrap_servers, topic)
    assert len(records) == KEYS + len(JAVA_MURMUR2)
    for record in records:
        assert record.key is not None
        assert record.partition == java_partition(record.key, PARTITIONS), record
    assert len({r.partition for r in records}) == PARTITIONS
    for key, java in JAVA_MURMUR2.items():  # toPositive(murmur2(key)) % n with the Java ints
        (record,) = [r for r in records if r.key == key]
        assert record.partition == (java & 0x7FFFFFFF) % PARTITIONS


@pytest.mark.parametrize(
    ("partitioner", "reference"),
    [
        ("murmur2", java_partition),
        ("murmur2_random", java_partition),
        ("consistent", crc32_partition),
        ("consistent_random", crc32_partition),
        ("fnv1a", fnv1a_partition),
        ("fnv1a_random", fnv1a_partition),
    ],
)
async def test_hash_partitioners_pick_the_reference_partition(
    sink_gateway: CatalogGateway,
    kafka_broker: KafkaBroker,
    partitioner: str,
    reference: Callable[[bytes, int], int],
) -> None:
    name, topic = await keyed_sink(
        sink_gateway, kafka_broker, PARTITIONS, f"key_field = 'k', 'partitioner' = '{partitioner}'"
    )
    await insert(
        sink_gateway,
        f"INSERT INTO {name} SELECT 'key-' || i AS k, i AS n FROM generate_series(1, {KEYS}) AS t(i)",
        KEYS,
    )
    records = await read_records(kafka_broker.bootstrap_servers, topic)
    assert len(records) == KEYS
    assert all(r.key is not None and r.partition == reference(r.key, PARTITIONS) for r in records)
    assert len({r.partition for r in records}) == PARTITIONS


@pytest.mark.parametrize(
    ("partitioner", "expected"),
    [
        ("murmur2", java_partition(b"", PARTITIONS)),
        ("consistent", 0),
        ("fnv1a", fnv1a_partition(b"", PARTITIONS)),
    ],
)
async def test_null_keys_go_to_one_partition_with_deterministic_partitioners(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker, partitioner: str, expected: int
) -> None:
    """librdkafka: "NULL keys are mapped to single partition" for murmur2, consistent and fnv1a."""
    name, topic = await keyed_sink(
        sink_gateway, kafka_broker, PARTITIONS, f"key_field = 'k', 'partitioner' = '{partitioner}'"
    )
    await insert(
        sink_gateway, f"INSERT INTO {name} SELECT NULL::text AS k, i AS n FROM range(20) AS t(i)", 20
    )
    records = await read_records(kafka_broker.bootstrap_servers, topic)
    assert {(r.key, r.partition) for r in records} == {(None, expected)}
    assert len(records) == 20


async def test_round_robin_partitioner_spreads_keyed_rows_evenly(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await keyed_sink(
        sink_gateway, kafka_broker, PARTITIONS, "key_field = 'k', 'partitioner' = 'round_robin'"
    )
    await insert(sink_gateway, f"INSERT INTO {name} SELECT 'same' AS k, i AS n FROM range(21) AS t(i)", 21)
    records = by_number(await read_records(kafka_broker.bootstrap_servers, topic))
    assert {n: r.partition for n, r in records.items()} == {n: n % PARTITIONS for n in range(21)}
    assert {r.key for r in records.values()} == {b"same"}


async def test_random_partitioner_uses_valid_partitions(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await keyed_sink(sink_gateway, kafka_broker, PARTITIONS, "'partitioner' = 'random'")
    await insert(sink_gateway, f"INSERT INTO {name} SELECT i AS n FROM range({KEYS}) AS t(i)", KEYS)
    records = by_number(await read_records(kafka_broker.bootstrap_servers, topic))
    assert sorted(records) == list(range(KEYS))
    assert {r.partition for r in records.values()} <= set(range(PARTITIONS))
    assert len({r.partition for r in records.values()}) > 1  # 200 rows in one partition: p = 7**-199


async def test_no_key_and_no_partitioner_is_round_robin(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await keyed_sink(sink_gateway, kafka_broker, PARTITIONS)
    await insert(sink_gateway, f"INSERT INTO {name} SELECT i AS n FROM range(70) AS t(i)", 70)
    records = by_number(await read_records(kafka_broker.bootstrap_servers, topic))
    assert {n: r.partition for n, r in records.items()} == {n: n % PARTITIONS for n in range(70)}
    assert Counter(r.partition for r in records.values()) == dict.fromkeys(range(PARTITIONS), 10)
    assert {r.key for r in records.values()} == {None}


# --- partition_field -----------------------------------------------------------------------------
async def test_spec_custom_partition_puts_each_row_in_its_partition(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    servers = kafka_broker.bootstrap_servers
    await ensure_topic(servers, "geo-events", 4)
    since = await end_offsets(servers, "geo-events")
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    await run_sql(sink_gateway.endpoint, spec_connection("kafka_custom_partition", servers))
    await insert(
        sink_gateway, "INSERT INTO kafka_custom_partition SELECT 'US' AS region, 0 AS region_partition", 1
    )
    await insert(
        sink_gateway, "INSERT INTO kafka_custom_partition SELECT 'EU' AS region, 1 AS region_partition", 1
    )
    statement = spec_insert(
        "kafka_custom_partition", "events", "VALUES (1, 'US'), (2, 'EU'), (3, 'ASIA'), (4, 'MARS')"
    ).replace("AS events", "AS events(id, region)")
    await insert(sink_gateway, statement, 4)
    records = await read_records(servers, "geo-events", since=since)
    assert sorted((r.partition, r.value) for r in records) == [
        (0, b'{"id":1,"region":"US"}'),
        (0, b'{"region":"US"}'),
        (1, b'{"id":2,"region":"EU"}'),
        (1, b'{"region":"EU"}'),
        (2, b'{"id":3,"region":"ASIA"}'),
        (3, b'{"id":4,"region":"MARS"}'),
    ]


async def test_out_of_range_partition_fails_the_statement_and_sends_nothing(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await keyed_sink(sink_gateway, kafka_broker, 4, "partition_field = 'p'")
    error = await sql_error(
        sink_gateway.endpoint,
        f"INSERT INTO {name} SELECT * FROM (VALUES ('ok', 0), ('bad', 9), ('ok2', 3), ('neg', -1))"
        " AS t(v, p)",
    )
    assert error.sqlstate == "22000"
    assert error.diag.message_primary == (
        f"row 2: partition 9 is out of range: topic {topic} has 4 partitions (0 to 3)"
    )
    assert error.diag.message_detail == "2 of the rows could not be written; nothing was sent"
    await insert(sink_gateway, f"INSERT INTO {name} SELECT 'sentinel' AS v, 2 AS p", 1)
    records = await read_records(kafka_broker.bootstrap_servers, topic)
    assert [(r.partition, r.value) for r in records] == [(2, b'{"v":"sentinel"}')]


async def test_skip_policy_sends_good_rows_and_notices_the_skipped(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await keyed_sink(
        sink_gateway, kafka_broker, 4, "partition_field = 'p', error_policy = 'skip'"
    )
    notices = await insert(
        sink_gateway,
        f"INSERT INTO {name} SELECT * FROM (VALUES ('a', 0), ('bad', 4), ('b', 3), ('neg', -1)) AS t(v, p)",
        2,
    )
    assert notices == ["2 rows could not be written and were skipped (error_policy = 'skip')"]
    records = await read_records(kafka_broker.bootstrap_servers, topic)
    assert sorted((r.partition, r.value) for r in records) == [(0, b'{"v":"a"}'), (3, b'{"v":"b"}')]


async def test_dlq_policy_sends_the_bad_row_to_the_dlq_topic(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    dlq_name, dlq_topic = await keyed_sink(sink_gateway, kafka_broker, 1)
    name, topic = await keyed_sink(
        sink_gateway,
        kafka_broker,
        2,
        f"partition_field = 'p', error_policy = 'dlq', dlq_connection = '{dlq_name}'",
    )
    notices = await insert(
        sink_gateway, f"INSERT INTO {name} SELECT * FROM (VALUES ('good', 1), ('bad', 5)) AS t(v, p)", 1
    )
    assert notices == ["1 rows could not be written and went to the dead-letter queue"]
    records = await read_records(kafka_broker.bootstrap_servers, topic)
    assert [(r.partition, r.value) for r in records] == [(1, b'{"v":"good"}')]
    (dead,) = await read_records(kafka_broker.bootstrap_servers, dlq_topic)
    reason = f"row 2: partition 5 is out of range: topic {topic} has 2 partitions (0 to 1)"
    assert dead.headers == (
        ("laminar.error", reason.encode()),
        ("laminar.connection", name.encode()),
        ("laminar.row", b"2"),
    )
    assert dead.value is not None
    assert json.loads(dead.value) == {"row_number": 2, "error": reason, "row": {"v": "bad", "p": 5}}


# --- topic_field ----------------------------------------------------------------------------------
async def test_spec_route_by_type_sends_each_row_to_its_topic(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    servers = kafka_broker.bootstrap_servers
    topics = ["orders-topic", "payments-topic", "shipments-topic", "misc-topic"]
    since = {topic: await end_offsets(servers, topic) for topic in topics}
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    await run_sql(sink_gateway.endpoint, spec_connection("kafka_multi", servers))
    statement = spec_insert(
        "kafka_multi",
        "events",
        "VALUES (1, 'order'), (2, 'payment'), (3, 'shipment'), (4, 'refund'), (5, 'order')",
    ).replace("AS events", "AS events(id, event_type)")
    await insert(sink_gateway, statement, 5)
    stored = {topic: await read_records(servers, topic, since=since[topic]) for topic in topics}
    assert {topic: sorted(r.value or b"" for r in records) for topic, records in stored.items()} == {
        "orders-topic": [b'{"id":1,"event_type":"order"}', b'{"id":5,"event_type":"order"}'],
        "payments-topic": [b'{"id":2,"event_type":"payment"}'],
        "shipments-topic": [b'{"id":3,"event_type":"shipment"}'],
        "misc-topic": [b'{"id":4,"event_type":"refund"}'],
    }


async def test_null_topic_field_falls_back_to_topic(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    routed = unique("routed")
    await create_topic(kafka_broker.bootstrap_servers, routed, 1)
    name, fallback = await keyed_sink(sink_gateway, kafka_broker, 1, "topic_field = 'dest'")
    await insert(
        sink_gateway,
        f"INSERT INTO {name} SELECT * FROM (VALUES (1, NULL), (2, '{routed}'), (3, NULL)) AS t(n, dest)",
        3,
    )
    assert [r.value for r in await read_records(kafka_broker.bootstrap_servers, fallback)] == [
        b'{"n":1}',
        b'{"n":3}',
    ]
    assert [r.value for r in await read_records(kafka_broker.bootstrap_servers, routed)] == [b'{"n":2}']


async def test_null_topic_field_without_topic_is_an_error(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    routed = unique("routed")
    await create_topic(kafka_broker.bootstrap_servers, routed, 1)
    name = unique("no_topic").replace("-", "_")
    await run_sql(
        sink_gateway.endpoint,
        f"CREATE CONNECTION {name} TO kafka (bootstrap_servers = '{kafka_broker.bootstrap_servers}', "
        "type = 'sink', format = 'json', topic_field = 'dest')",
    )
    error = await sql_error(
        sink_gateway.endpoint,
        f"INSERT INTO {name} SELECT * FROM (VALUES (1, '{routed}'), (2, NULL)) AS t(n, dest)",
    )
    assert (error.sqlstate, error.diag.message_primary) == ("22000", "row 2 has no topic: dest is NULL")
    assert error.diag.message_detail == "1 of the rows could not be written; nothing was sent"
    assert await read_records(kafka_broker.bootstrap_servers, routed) == []


# --- headers ------------------------------------------------------------------------------------
async def test_spec_headers_map_becomes_message_headers(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    servers = kafka_broker.bootstrap_servers
    since = await end_offsets(servers, "events-with-headers")
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    await run_sql(sink_gateway.endpoint, spec_connection("kafka_with_headers", servers))
    statement = spec_insert("kafka_with_headers", "events", "VALUES (1, 'click'), (2, 'view')").replace(
        "AS events", "AS events(id, kind)"
    )
    await insert(sink_gateway, statement, 2)
    records = await read_records(servers, "events-with-headers", since=since)
    assert sorted(r.value or b"" for r in records) == [b'{"id":1,"kind":"click"}', b'{"id":2,"kind":"view"}']
    correlation_ids = set()
    for record in records:
        headers = dict(record.headers)
        assert [name for name, _ in record.headers] == ["source", "version", "timestamp", "correlation_id"]
        assert (headers["source"], headers["version"]) == (b"laminar", b"1.0")
        assert headers["timestamp"] is not None
        assert headers["timestamp"].decode().startswith("20")  # CAST(NOW() AS STRING)
        assert headers["correlation_id"] is not None
        assert len(headers["correlation_id"]) == 36  # UUID() as text
        correlation_ids.add(headers["correlation_id"])
    assert len(correlation_ids) == 2


# --- the spec's keyed connections ----------------------------------------------------------------
async def test_spec_keyed_sink_keys_by_user_id(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    servers = kafka_broker.bootstrap_servers
    await ensure_topic(servers, "user-events", 5)
    since = await end_offsets(servers, "user-events")
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    await run_sql(sink_gateway.endpoint, spec_connection("kafka_keyed_sink", servers))
    # The spec's aggregate, without its TUMBLE window (windows belong to pipelines).
    await insert(
        sink_gateway,
        "INSERT INTO kafka_keyed_sink SELECT user_id, COUNT(*) as event_count, SUM(amount) as total_amount,"
        " MAX(timestamp) as last_activity FROM (VALUES ('alice', 10, TIMESTAMP '2024-01-01 10:00:00'),"
        " ('bob', 5, TIMESTAMP '2024-01-01 10:05:00'), ('alice', 7, TIMESTAMP '2024-01-01 10:30:00'))"
        " AS events(user_id, amount, timestamp) GROUP BY user_id",
        2,
    )
    records = await read_records(servers, "user-events", since=since)
    assert sorted((r.key, r.value) for r in records) == [
        (
            b"alice",
            b'{"user_id":"alice","event_count":2,"total_amount":17,"last_activity":"2024-01-01T10:30:00"}',
        ),
        (b"bob", b'{"user_id":"bob","event_count":1,"total_amount":5,"last_activity":"2024-01-01T10:05:00"}'),
    ]
    assert all(r.key is not None and r.partition == java_partition(r.key, 5) for r in records)


async def test_spec_hash_partition_sink(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> None:
    servers = kafka_broker.bootstrap_servers
    await ensure_topic(servers, "partitioned-events", PARTITIONS)
    since = await end_offsets(servers, "partitioned-events")
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    await run_sql(sink_gateway.endpoint, spec_connection("kafka_hash_partition", servers))
    await insert(
        sink_gateway,
        "INSERT INTO kafka_hash_partition SELECT 'cust-' || i AS customer_id, i AS n FROM range(50) AS t(i)",
        50,
    )
    records = await read_records(servers, "partitioned-events", since=since)
    assert sorted(json.loads(r.value or b"")["n"] for r in records) == list(range(50))
    assert all(r.key is not None and r.partition == java_partition(r.key, PARTITIONS) for r in records)


async def test_spec_round_robin_sink_balances(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    servers = kafka_broker.bootstrap_servers
    await ensure_topic(servers, "balanced-events", 3)
    since = await end_offsets(servers, "balanced-events")
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    await run_sql(sink_gateway.endpoint, spec_connection("kafka_round_robin", servers))
    await insert(sink_gateway, "INSERT INTO kafka_round_robin SELECT i AS n FROM range(30) AS t(i)", 30)
    records = by_number(await read_records(servers, "balanced-events", since=since))
    assert {n: r.partition for n, r in records.items()} == {n: n % 3 for n in range(30)}
