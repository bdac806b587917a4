"""Source connections in ad-hoc SQL: peeking with SELECT and bounded INSERT ... SELECT into a sink.

The gateway reads each partition up to the end offset seen when the statement starts, never
commits offsets, and answers with exactly the records the topic held (checked by producing
known records first and consuming the sink's topic afterwards).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.fixtures.gateway import GatewayEndpoint, running_gateway
from tests.fixtures.kafka import KafkaBroker, create_topic

EVENTS = [
    {"id": i, "user_id": f"u{i % 3}", "event_type": "purchase" if i % 2 else "view", "amount": 1.25 * i}
    for i in range(12)
]


@pytest.fixture(scope="module")
def gateway_for_sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayEndpoint]:
    with running_gateway(Path(tmp_path_factory.mktemp("gw-sources"))) as endpoint:
        yield endpoint


async def _produce(bootstrap: str, topic: str) -> None:
    await create_topic(bootstrap, topic, 3)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for event in EVENTS:
            await producer.send_and_wait(
                topic, orjson.dumps(event), key=str(event["id"]).encode(), partition=event["id"] % 3
            )
    finally:
        await producer.stop()


async def _consume_all(bootstrap: str, topic: str, expected: int) -> list[dict[str, object]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    values: list[dict[str, object]] = []
    try:
        for _ in range(50):  # bounded polls: each waits at most 200 ms for records
            batches = await consumer.getmany(timeout_ms=200)
            values += [orjson.loads(r.value) for records in batches.values() for r in records]
            if len(values) >= expected:
                break
    finally:
        await consumer.stop()
    return values


def _connect(endpoint: GatewayEndpoint) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(endpoint.dsn(), autocommit=True)


async def test_select_from_a_source_reads_the_topic_without_committing(
    gateway_for_sources: GatewayEndpoint, kafka_broker: KafkaBroker
) -> None:
    topic = f"src-{uuid.uuid4().hex[:8]}"
    await _produce(kafka_broker.bootstrap_servers, topic)
    with _connect(gateway_for_sources) as conn:
        conn.execute(
            f"CREATE CONNECTION {topic.replace('-', '_')} (id BIGINT, user_id TEXT, event_type TEXT, "
            f"amount DOUBLE PRECISION) TO kafka (bootstrap_servers = '{kafka_broker.bootstrap_servers}', "
            f"topic = '{topic}', type = 'source', format = 'json')"
        )
        name = topic.replace("-", "_")
        rows = conn.execute(f"SELECT id, user_id, event_type, amount FROM {name} ORDER BY id").fetchall()
        assert rows == [(e["id"], e["user_id"], e["event_type"], e["amount"]) for e in EVENTS]
        assert conn.execute(f"SELECT count(*) FROM {name} LIMIT 5").fetchone() == (12,)
        peek = conn.execute(
            f"SELECT id, _kafka_partition, _kafka_offset, _kafka_key FROM {name} LIMIT 4"
        ).fetchall()
        assert len(peek) == 4
        for row_id, partition, offset, key in peek:
            assert partition == row_id % 3
            assert offset == row_id // 3
            assert key == str(row_id).encode()
        grouped = conn.execute(
            f"SELECT event_type, count(*), sum(amount) FROM {name} GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert grouped == [
            ("purchase", 6, sum(e["amount"] for e in EVENTS if e["event_type"] == "purchase")),
            ("view", 6, sum(e["amount"] for e in EVENTS if e["event_type"] == "view")),
        ]
        # Reading again sees the same records: nothing was committed or consumed away.
        assert conn.execute(f"SELECT count(*) FROM {name}").fetchone() == (12,)


async def test_bounded_insert_select_from_source_into_sink(
    gateway_for_sources: GatewayEndpoint, kafka_broker: KafkaBroker
) -> None:
    source_topic = f"src-{uuid.uuid4().hex[:8]}"
    sink_topic = f"out-{uuid.uuid4().hex[:8]}"
    await _produce(kafka_broker.bootstrap_servers, source_topic)
    bootstrap = kafka_broker.bootstrap_servers
    with _connect(gateway_for_sources) as conn:
        conn.execute(
            "CREATE CONNECTION purchases_src (id BIGINT, user_id TEXT, event_type TEXT, "
            f"amount DOUBLE PRECISION) TO kafka (bootstrap_servers = '{bootstrap}', "
            f"topic = '{source_topic}', type = 'source', format = 'json')"
        )
        conn.execute(
            f"CREATE CONNECTION purchases_out TO kafka (bootstrap_servers = '{bootstrap}', "
            f"topic = '{sink_topic}', type = 'sink', format = 'json', key_field = 'user_id')"
        )
        cursor = conn.execute(
            "INSERT INTO purchases_out SELECT id, user_id, amount FROM purchases_src "
            "WHERE event_type = 'purchase'"
        )
        assert cursor.statusmessage == "INSERT 0 6"
    written = await _consume_all(bootstrap, sink_topic, 6)
    expected = [
        {"id": e["id"], "user_id": e["user_id"], "amount": e["amount"]}
        for e in EVENTS
        if e["event_type"] == "purchase"
    ]
    assert sorted(written, key=lambda v: int(str(v["id"]))) == expected


def test_unknown_table_is_still_42p01(gateway_for_sources: GatewayEndpoint) -> None:
    with _connect(gateway_for_sources) as conn, pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute("SELECT * FROM no_such_connection")


async def test_star_leaves_out_metadata_columns_which_stay_nameable(
    gateway_for_sources: GatewayEndpoint, kafka_broker: KafkaBroker
) -> None:
    topic = f"src-{uuid.uuid4().hex[:8]}"
    await _produce(kafka_broker.bootstrap_servers, topic)
    with _connect(gateway_for_sources) as conn:
        conn.execute(
            "CREATE CONNECTION star_src (id BIGINT, user_id TEXT, event_type TEXT, amount DOUBLE PRECISION) "
            f"TO kafka (bootstrap_servers = '{kafka_broker.bootstrap_servers}', topic = '{topic}', "
            "type = 'source', format = 'json')"
        )
        cursor = conn.execute("SELECT * FROM star_src LIMIT 1")
        assert [column.name for column in cursor.description or []] == [
            "id",
            "user_id",
            "event_type",
            "amount",
        ]
        cursor = conn.execute("SELECT *, _kafka_offset FROM star_src ORDER BY id LIMIT 1")
        assert [column.name for column in cursor.description or []][-1] == "_kafka_offset"


async def test_cancel_request_stops_a_bounded_insert_waiting_for_its_brokers(
    gateway_for_sources: GatewayEndpoint,
) -> None:
    """psql's Ctrl-C (a CancelRequest) ends a bounded INSERT stuck on a silent broker with 57014,
    and the session stays usable. The "broker" is a loopback listener that accepts and never
    answers, so the read waits for it until cancelled (its own timeout is 30 s)."""
    accepted = asyncio.Event()
    peers: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer)
        accepted.set()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    name = f"silent_{uuid.uuid4().hex[:8]}"
    conn = await psycopg.AsyncConnection.connect(gateway_for_sources.dsn(), autocommit=True)
    try:
        await conn.execute(
            f"CREATE CONNECTION {name} (id BIGINT) TO kafka (bootstrap_servers = '127.0.0.1:{port}', "
            "topic = 'nowhere', type = 'source', format = 'json')"
        )
        await conn.execute(
            f"CREATE CONNECTION {name}_out TO kafka (bootstrap_servers = '127.0.0.1:{port}', "
            "topic = 'nowhere-out', type = 'sink', format = 'json')"
        )
        insert = asyncio.create_task(conn.execute(f"INSERT INTO {name}_out SELECT id FROM {name}"))
        await asyncio.wait_for(accepted.wait(), 20)
        started = asyncio.get_running_loop().time()
        await conn.cancel_safe()
        with pytest.raises(psycopg.errors.QueryCanceled) as raised:
            await asyncio.wait_for(insert, 10)
        assert asyncio.get_running_loop().time() - started < 5
        assert raised.value.sqlstate == "57014"
        assert raised.value.diag.message_primary == "canceling statement due to user request"
        cursor = await conn.execute("SELECT 1")
        assert await cursor.fetchall() == [(1,)]
    finally:
        await conn.close()
        for writer in peers:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_bounded_insert_grouped_by_tumble_flushes_every_window(
    gateway_for_sources: GatewayEndpoint, kafka_broker: KafkaBroker
) -> None:
    """The spec's user_aggregates SELECT as a bounded INSERT: every window of the input is written,
    the last one included (the input ends, so no watermark has to pass it)."""
    bootstrap = kafka_broker.bootstrap_servers
    source_topic = f"win-src-{uuid.uuid4().hex[:8]}"
    sink_topic = f"win-out-{uuid.uuid4().hex[:8]}"
    await create_topic(bootstrap, source_topic, 2)
    stamps = ["2024-01-01T10:05:00+00:00", "2024-01-01T10:55:00+00:00", "2024-01-01T11:10:00+00:00"]
    events = [
        {"user_id": user, "amount": 1.0 + i, "timestamp": ts}
        for i, ts in enumerate(stamps)
        for user in ("a", "b")
    ]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n, event in enumerate(events):
            await producer.send_and_wait(source_topic, orjson.dumps(event), partition=n % 2)
    finally:
        await producer.stop()
    with _connect(gateway_for_sources) as conn:
        conn.execute(
            "CREATE CONNECTION win_events (user_id TEXT, amount DOUBLE PRECISION, timestamp TIMESTAMPTZ) "
            f"TO kafka (bootstrap_servers = '{bootstrap}', topic = '{source_topic}', "
            "type = 'source', format = 'json')"
        )
        conn.execute(
            f"CREATE CONNECTION win_out TO kafka (bootstrap_servers = '{bootstrap}', "
            f"topic = '{sink_topic}', type = 'sink', format = 'json', key_field = 'user_id')"
        )
        cursor = conn.execute(
            "INSERT INTO win_out SELECT user_id, COUNT(*) AS event_count, SUM(amount) AS total_amount, "
            "MAX(timestamp) AS last_activity FROM win_events "
            "GROUP BY user_id, TUMBLE(timestamp, INTERVAL '1 hour')"
        )
        assert cursor.statusmessage == "INSERT 0 4"
    written = await _consume_all(bootstrap, sink_topic, 4)
    assert sorted(written, key=lambda v: (str(v["user_id"]), str(v["last_activity"]))) == [
        {"user_id": "a", "event_count": 2, "total_amount": 3.0, "last_activity": "2024-01-01T10:55:00+00:00"},
        {"user_id": "a", "event_count": 1, "total_amount": 3.0, "last_activity": "2024-01-01T11:10:00+00:00"},
        {"user_id": "b", "event_count": 2, "total_amount": 3.0, "last_activity": "2024-01-01T10:55:00+00:00"},
        {"user_id": "b", "event_count": 1, "total_amount": 3.0, "last_activity": "2024-01-01T11:10:00+00:00"},
    ]
