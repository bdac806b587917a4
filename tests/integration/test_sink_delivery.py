"""Sink delivery settings through the gateway, checked on the record batches the broker stored.

``compression`` / ``'compression.type'`` must be the codec bits of every stored batch; ``batch_size``
bounds the records per stored batch; every ``acks`` setting delivers (acks = 0 answers before the
broker has stored the records, so reads poll with a deadline) and only ``acks = all`` gets the
idempotent producer by default; ``'transactional.id'`` makes each INSERT one Kafka transaction:
transactional data batches closed by a COMMIT control record, or an ABORT control record when the
statement fails after records went out. Client ``executemany`` (psycopg and asyncpg) delivers every
row exactly once. The spec's delivery-related CREATE CONNECTION statements run with only
bootstrap_servers changed and are checked the same way.

How a transactional INSERT is made to fail half-way: rows that cannot become records (a partition
out of range, a NULL topic) are found before anything is sent, so they fail the statement without a
transaction at all. A row whose record is bigger than ``'max.request.size'`` fails only while the
producer builds the batches, after earlier batches of the statement were sent: that is the honest
mid-way failure used below. Tansu stores the ABORT marker but does not filter aborted records for
read_committed consumers, so the tests assert on the markers (what a Kafka consumer filters by).
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures.consume import (
    ABORT,
    CODECS,
    COMMIT,
    StoredBatch,
    connect,
    create_sink,
    data_records,
    end_offsets,
    ensure_topic,
    poll_batches,
    read_batches,
    read_records,
    run_sql,
    spec_connection,
    spec_query,
    sql_error,
    unique,
)
from tests.fixtures.kafka import KafkaBroker
from tests.integration.conftest import CatalogGateway

pytestmark = pytest.mark.integration


async def sink(
    gateway: CatalogGateway, broker: KafkaBroker, options: str = "", *, partitions: int = 1, columns: str = ""
) -> tuple[str, str]:
    """A json sink connection on a fresh topic: (connection name, topic)."""
    return await create_sink(
        gateway.endpoint,
        broker.bootstrap_servers,
        prefix="deliver",
        partitions=partitions,
        options=options,
        columns=columns,
    )


async def insert(gateway: CatalogGateway, sql: str, count: int) -> None:
    outcome = await run_sql(gateway.endpoint, sql)
    assert outcome.status == f"INSERT 0 {count}"


def numbers(batches: list[StoredBatch]) -> list[int]:
    return [json.loads(r.value or b"")["n"] for r in data_records(batches)]


def outline(batches: list[StoredBatch]) -> list[tuple[int, int, int | None]]:
    """(partition, records, control type) per stored batch."""
    return [(b.partition, len(b.records), b.control_type) for b in batches]


# --- compression and batching --------------------------------------------------------------------
@pytest.mark.parametrize("option", ["compression", "'compression.type'"])
@pytest.mark.parametrize("codec", list(CODECS))
async def test_compression_is_the_stored_batch_codec(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker, option: str, codec: str
) -> None:
    name, topic = await sink(sink_gateway, kafka_broker, f"{option} = '{codec}'")
    await insert(
        sink_gateway,
        f"INSERT INTO {name} SELECT i AS n, repeat('laminar ', 20) AS text FROM range(50) AS t(i)",
        50,
    )
    batches = await read_batches(kafka_broker.bootstrap_servers, topic)
    assert {batch.codec for batch in batches} == {CODECS[codec]}
    assert numbers(batches) == list(range(50))
    if codec != "none":  # the repeated text compresses: the batch is much smaller than its 50 values
        assert sum(batch.size for batch in batches) < 50 * 160 // 2


async def test_default_compression_is_snappy(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> None:
    name, topic = await sink(sink_gateway, kafka_broker)
    await insert(sink_gateway, f"INSERT INTO {name} SELECT i AS n FROM range(5) AS t(i)", 5)
    batches = await read_batches(kafka_broker.bootstrap_servers, topic)
    assert {batch.codec for batch in batches} == {CODECS["snappy"]}


async def test_batch_size_bounds_the_records_per_stored_batch(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await sink(sink_gateway, kafka_broker, "batch_size = 3")
    await insert(sink_gateway, f"INSERT INTO {name} SELECT i AS n FROM range(10) AS t(i)", 10)
    batches = await read_batches(kafka_broker.bootstrap_servers, topic)
    assert [(b.base_offset, len(b.records)) for b in batches] == [(0, 3), (3, 3), (6, 3), (9, 1)]
    assert numbers(batches) == list(range(10))


# --- acks ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("acks", "idempotent"), [("0", False), ("1", False), ("all", True), ("-1", True)])
async def test_every_acks_setting_delivers(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker, acks: str, idempotent: bool
) -> None:
    name, topic = await sink(sink_gateway, kafka_broker, f"acks = '{acks}'")
    await insert(sink_gateway, f"INSERT INTO {name} SELECT i AS n FROM range(20) AS t(i)", 20)
    batches = await poll_batches(kafka_broker.bootstrap_servers, topic, 20)  # acks=0: not stored yet maybe
    assert numbers(batches) == list(range(20))
    assert {batch.producer_id >= 0 for batch in batches} == {idempotent}
    assert not any(batch.transactional for batch in batches)


# --- transactions ----------------------------------------------------------------------------------
def transactions_by_partition(batches: list[StoredBatch]) -> dict[int, list[tuple[int, int | None]]]:
    shape: dict[int, list[tuple[int, int | None]]] = {}
    for batch in batches:
        assert batch.transactional, batch
        shape.setdefault(batch.partition, []).append((len(batch.records), batch.control_type))
    return shape


async def test_spec_transactional_insert_is_one_committed_transaction(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    servers = kafka_broker.bootstrap_servers
    await ensure_topic(servers, "critical-events", 3)
    since = await end_offsets(servers, "critical-events")
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    await run_sql(sink_gateway.endpoint, spec_connection("kafka_transactional", servers))
    await insert(sink_gateway, "INSERT INTO kafka_transactional SELECT i AS n FROM range(6) AS t(i)", 6)
    await insert(sink_gateway, "INSERT INTO kafka_transactional SELECT i AS n FROM range(6, 9) AS t(i)", 3)
    batches = await read_batches(servers, "critical-events", since=since)
    # Round-robin over 3 partitions: each statement puts 2 rows, then 1 row, in each partition.
    assert transactions_by_partition(batches) == {
        p: [(2, None), (1, COMMIT), (1, None), (1, COMMIT)] for p in range(3)
    }
    assert sorted(numbers(batches)) == list(range(9))
    assert len({(b.producer_id, b.producer_epoch) for b in batches}) == 1
    assert batches[0].producer_id >= 0


@pytest.fixture(scope="module")
async def kafka_2pc(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> str:
    """The spec's kafka_2pc connection (one per gateway: a second producer with its transactional.id
    would fence the first); bootstrap_servers pointed at the test broker is the one change."""
    await ensure_topic(kafka_broker.bootstrap_servers, "financial-transactions", 1)
    outcome = await run_sql(
        sink_gateway.endpoint, spec_connection("kafka_2pc", kafka_broker.bootstrap_servers)
    )
    assert outcome.status == "CREATE CONNECTION"
    return "financial-transactions"


async def test_spec_two_phase_commit_sink_commits(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker, kafka_2pc: str
) -> None:
    servers = kafka_broker.bootstrap_servers
    since = await end_offsets(servers, kafka_2pc)
    await insert(
        sink_gateway,
        "INSERT INTO kafka_2pc SELECT * FROM (VALUES (1, 10.50, 'valid'), (2, -3.00, 'valid'),"
        " (3, 99.99, 'void'), (4, 0.01, 'valid')) AS transactions(id, amount, status)"
        " WHERE amount > 0 AND status = 'valid'",
        2,
    )
    batches = await read_batches(servers, kafka_2pc, since=since)
    assert outline(batches) == [(0, 2, None), (0, 1, COMMIT)]
    assert [r.value for r in data_records(batches)] == [
        b'{"id":1,"amount":10.50,"status":"valid"}',
        b'{"id":4,"amount":0.01,"status":"valid"}',
    ]


async def test_spec_two_phase_commit_with_clause_runs(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker, kafka_2pc: str
) -> None:
    """The spec's ``WITH validated_transactions AS (...) INSERT INTO kafka_2pc SELECT * FROM
    validated_transactions`` as a statement (its CREATE PIPELINE line dropped, its ``transactions``
    stream given as inline rows)."""
    servers = kafka_broker.bootstrap_servers
    since = await end_offsets(servers, kafka_2pc)
    statement = spec_query("CREATE PIPELINE financial_processing AS")
    statement = statement[statement.index("WITH") :]
    statement = statement.replace(
        "FROM transactions",
        "FROM (VALUES (7, 5.00, 'valid'), (8, 6.00, 'void')) AS transactions(id, amount, status)",
    )
    await insert(sink_gateway, statement, 1)
    batches = await read_batches(servers, kafka_2pc, since=since)
    assert outline(batches) == [(0, 1, None), (0, 1, COMMIT)]
    assert [r.value for r in data_records(batches)] == [b'{"id":7,"amount":5.00,"status":"valid"}']


async def test_transaction_failing_half_way_is_aborted(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await sink(
        sink_gateway, kafka_broker, f"'transactional.id' = '{unique('txn')}', 'max.request.size' = '2000'"
    )
    error = await sql_error(
        sink_gateway.endpoint,
        f"INSERT INTO {name} SELECT i AS n, CASE WHEN i = 4 THEN repeat('x', 3000) ELSE 'ok' END AS note"
        " FROM range(5) AS t(i)",
    )
    assert error.sqlstate == "22023"
    assert error.diag.message_primary is not None
    assert "more than 'max.request.size' (2000 bytes)" in error.diag.message_primary
    await insert(sink_gateway, f"INSERT INTO {name} SELECT 100 AS n", 1)
    batches = await read_batches(kafka_broker.bootstrap_servers, topic)
    # The four rows before the big one went out in one batch, then the transaction was aborted;
    # the next statement is a transaction of its own, committed.
    assert outline(batches) == [(0, 4, None), (0, 1, ABORT), (0, 1, None), (0, 1, COMMIT)]
    assert all(batch.transactional for batch in batches)
    assert numbers(batches) == [0, 1, 2, 3, 100]
    assert len({b.producer_id for b in batches}) == 1


async def test_transaction_with_a_bad_row_sends_nothing_at_all(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await sink(
        sink_gateway,
        kafka_broker,
        f"'transactional.id' = '{unique('txn')}', partition_field = 'p'",
        partitions=2,
    )
    error = await sql_error(
        sink_gateway.endpoint, f"INSERT INTO {name} SELECT * FROM (VALUES (1, 0), (2, 1), (3, 2)) AS t(n, p)"
    )
    assert error.sqlstate == "22000"
    await insert(sink_gateway, f"INSERT INTO {name} SELECT 4 AS n, 1 AS p", 1)
    batches = await read_batches(kafka_broker.bootstrap_servers, topic)
    assert outline(batches) == [(1, 1, None), (1, 1, COMMIT)]  # no data and no marker of the failed one
    assert numbers(batches) == [4]


# --- client batching -------------------------------------------------------------------------------
async def test_psycopg_executemany_delivers_every_row_once(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await sink(sink_gateway, kafka_broker, partitions=3)
    rows = [(i, f"row {i}") for i in range(60)]
    async with await connect(sink_gateway.endpoint) as conn, conn.cursor() as cursor:
        await cursor.executemany(f"INSERT INTO {name} (a, b) VALUES (%s, %s)", rows)
        assert cursor.rowcount == 60
    records = await read_records(kafka_broker.bootstrap_servers, topic)
    assert sorted((json.loads(r.value or b"")["a"], json.loads(r.value or b"")["b"]) for r in records) == rows


async def test_asyncpg_executemany_delivers_every_row_once(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    name, topic = await sink(sink_gateway, kafka_broker, partitions=3)
    rows = [(i, f"row {i}") for i in range(60)]
    conn = await sink_gateway.connect_asyncpg()
    try:
        await conn.executemany(f"INSERT INTO {name} (a, b) VALUES ($1::bigint, $2::text)", rows)
    finally:
        await conn.close()
    records = await read_records(kafka_broker.bootstrap_servers, topic)
    assert sorted((json.loads(r.value or b"")["a"], json.loads(r.value or b"")["b"]) for r in records) == rows


async def test_asyncpg_executemany_takes_parameter_types_from_declared_columns(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    """As in PostgreSQL, ``INSERT INTO t (a, b) VALUES ($1, $2)`` types $1 and $2 as the columns a and b
    (asyncpg encodes by the types the server describes)."""
    name, topic = await sink(sink_gateway, kafka_broker, columns="(a BIGINT, b TEXT)")
    rows = [(i, f"row {i}") for i in range(10)]
    conn = await sink_gateway.connect_asyncpg()
    try:
        await conn.executemany(f"INSERT INTO {name} (a, b) VALUES ($1, $2)", rows)
    finally:
        await conn.close()
    records = await read_records(kafka_broker.bootstrap_servers, topic)
    assert [r.value for r in records] == [f'{{"a":{a},"b":"{b}"}}'.encode() for a, b in rows]


# --- the spec's other delivery connections -----------------------------------------------------------
@pytest.mark.parametrize(
    ("connection", "topic", "idempotent"),
    [
        ("kafka_optimized", "high-volume", True),  # 'compression.type' = 'snappy', batch.size etc.
        ("kafka_async", "async-events", False),  # acks = 1: not idempotent
        ("kafka_with_retry", "reliable-events", True),
        ("kafka_sink", "output-events", True),
    ],
)
async def test_spec_delivery_connections_deliver(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker, connection: str, topic: str, idempotent: bool
) -> None:
    servers = kafka_broker.bootstrap_servers
    since = await end_offsets(servers, topic)
    # The spec's statement; bootstrap_servers pointed at the test broker is the one change.
    await run_sql(sink_gateway.endpoint, spec_connection(connection, servers))
    await insert(
        sink_gateway, f"INSERT INTO {connection} SELECT i AS n, 'e' || i AS name FROM range(12) AS t(i)", 12
    )
    batches = await read_batches(servers, topic, since=since)
    assert sorted(numbers(batches)) == list(range(12))
    assert {b.codec for b in batches} == {CODECS["snappy"]}  # given, or the spec's default
    assert {b.producer_id >= 0 for b in batches} == {idempotent}


async def test_spec_dead_letter_routing(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> None:
    """The spec's with_error_handling pipeline as two statements: valid rows to kafka_main_sink, the
    others to kafka_dlq_sink (``is_valid(data)`` stands for ``data IS NOT NULL``)."""
    servers = kafka_broker.bootstrap_servers
    since_main = await end_offsets(servers, "processed-events")
    since_dlq = await end_offsets(servers, "failed-events-dlq")
    # The spec's statements; bootstrap_servers pointed at the test broker is the one change.
    await run_sql(sink_gateway.endpoint, spec_connection("kafka_main_sink", servers))
    await run_sql(sink_gateway.endpoint, spec_connection("kafka_dlq_sink", servers))
    processed = (
        "(SELECT *, CASE WHEN data IS NOT NULL THEN 'main' ELSE 'dlq' END as target"
        " FROM (VALUES (1, 'a'), (2, NULL), (3, 'c')) AS source_events(id, data)) AS processed"
    )
    await insert(
        sink_gateway, f"INSERT INTO kafka_main_sink SELECT * FROM {processed} WHERE target = 'main'", 2
    )
    await insert(
        sink_gateway, f"INSERT INTO kafka_dlq_sink SELECT * FROM {processed} WHERE target = 'dlq'", 1
    )
    main = await read_records(servers, "processed-events", since=since_main)
    dlq = await read_records(servers, "failed-events-dlq", since=since_dlq)
    assert sorted(r.value or b"" for r in main) == [
        b'{"id":1,"data":"a","target":"main"}',
        b'{"id":3,"data":"c","target":"main"}',
    ]
    assert [r.value for r in dlq] == [b'{"id":2,"data":null,"target":"dlq"}']
