"""Several gateway nodes on one PostgreSQL catalog: each pipeline runs on exactly one node, by a
lease in the catalog, and another node takes it over when its node dies.

Two, then three `laminar serve` processes share a fresh PostgreSQL catalog database. An exactly-once pipeline
runs on whichever node leased it (system.pipelines.node, system.nodes); SIGKILL that node in the
middle of the stream: another node must take the pipeline over within the lease timeout plus one
renewal period, continue from the committed offsets, and the committed output must hold every
input exactly once (the new owner's producer fences the dead one's open transaction).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest

from tests.fixtures.consume import read_batches, unique
from tests.fixtures.crash import CrashableGateway, crashable_gateway, resolve_transactions
from tests.fixtures.gateway import GatewayEndpoint
from tests.fixtures.kafka import KafkaBroker, create_topic
from tests.fixtures.pipelines import produce_json, wait_for
from tests.integration.conftest import CatalogStoreTarget, catalog_database

pytestmark = pytest.mark.integration

LEASE_S = 3.0
RECORDS = 6_000


@pytest.fixture
def shared_catalog() -> Iterator[CatalogStoreTarget]:
    with catalog_database("postgres") as target:
        yield target


async def _query(endpoint: GatewayEndpoint, sql: str) -> list[tuple[object, ...]]:
    async with await psycopg.AsyncConnection.connect(endpoint.dsn(), autocommit=True) as conn:
        cursor = await conn.execute(sql)
        return await cursor.fetchall() if cursor.description is not None else []


@pytest.mark.parametrize("count", [2, 3])
async def test_a_dead_nodes_exactly_once_pipeline_moves_to_another_node(
    count: int, kafka_broker: KafkaBroker, shared_catalog: CatalogStoreTarget, tmp_path: Path
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    src_topic, out_topic = unique("nodes-src"), unique("nodes-out")
    await create_topic(bootstrap, src_topic, 2)
    await create_topic(bootstrap, out_topic, 1)
    args = (*shared_catalog.extra_args, "--lease-timeout", str(LEASE_S))
    names = [f"node-{letter}" for letter in "abc"[:count]]
    with contextlib.ExitStack() as stack:
        nodes: dict[str, CrashableGateway] = {
            name: stack.enter_context(
                crashable_gateway(tmp_path / name, extra_args=(*args, "--node-id", name))
            )
            for name in names
        }
        endpoints = {name: node.start() for name, node in nodes.items()}
        first = endpoints["node-a"]
        for statement in (
            f"CREATE CONNECTION nsrc (id BIGINT) TO kafka (bootstrap_servers = '{bootstrap}', "
            f"topic = '{src_topic}', type = 'source', format = 'json')",
            f"CREATE CONNECTION nout TO kafka (bootstrap_servers = '{bootstrap}', topic = '{out_topic}', "
            "type = 'sink', format = 'json', 'transactional.id' = 'laminar-nodes-test')",
            "CREATE PIPELINE moving WITH (batch_rows = 200, commit_interval_ms = '100 ms') "
            "AS INSERT INTO nout SELECT id FROM nsrc",
        ):
            await _query(first, statement)
        await produce_json(bootstrap, src_topic, [{"id": i} for i in range(RECORDS // 2)], 2)

        async def owner() -> str | None:
            rows = await _query(first, "SELECT node, rows_out FROM system.pipelines WHERE name = 'moving'")
            return None if not rows else (None if rows[0][0] is None else str(rows[0][0]))

        holder = await wait_for(owner, lambda node: node is not None, what="a node leases the pipeline")
        assert holder is not None
        survivors = [name for name in names if name != holder]
        survivor = survivors[0]
        nodes_seen = await _query(endpoints[survivor], "SELECT name, alive FROM system.nodes ORDER BY name")
        assert nodes_seen == [(name, True) for name in names]

        async def output_count() -> int:
            return len(resolve_transactions(await read_batches(bootstrap, out_topic)).committed)

        await wait_for(output_count, lambda n: n > 0, what="the first committed output")
        await produce_json(bootstrap, src_topic, [{"id": i} for i in range(RECORDS // 2, RECORDS)], 2)
        nodes[holder].kill()
        killed_at = time.monotonic()

        async def new_owner() -> str | None:
            rows = await _query(
                endpoints[survivor], "SELECT node FROM system.pipelines WHERE name = 'moving'"
            )
            return None if not rows or rows[0][0] is None else str(rows[0][0])

        taken = await wait_for(new_owner, lambda node: node in survivors, what="a survivor takes over")
        assert taken in survivors
        assert time.monotonic() - killed_at < LEASE_S + LEASE_S / 3 + 2.0  # lease, renewal, slack

        await wait_for(output_count, lambda n: n >= RECORDS, what="every input committed", deadline_s=60)
        view = resolve_transactions(await read_batches(bootstrap, out_topic))
        ids = Counter(int(orjson.loads(record.value or b"{}")["id"]) for record in view.committed)
        assert ids == Counter(range(RECORDS)), view.summary()


async def test_a_parallel_pipeline_spreads_its_tasks_and_survives_a_node(
    kafka_broker: KafkaBroker, shared_catalog: CatalogStoreTarget, tmp_path: Path
) -> None:
    """parallelism = 2 on two nodes: one task per node, each reading its half of the partitions with
    its own transactional id and consumer group; SIGKILL one node in the middle of the stream and the
    other runs both tasks, every input committed exactly once."""
    bootstrap = kafka_broker.bootstrap_servers
    src_topic, out_topic = unique("tasks-src"), unique("tasks-out")
    await create_topic(bootstrap, src_topic, 4)
    # Task i writes to output partition i: the test broker mishandles transactions of two producers
    # that overlap on one partition (DESIGN.md §2); Apache Kafka does not need this.
    await create_topic(bootstrap, out_topic, 2)
    args = (*shared_catalog.extra_args, "--lease-timeout", str(LEASE_S))
    with contextlib.ExitStack() as stack:
        nodes = {
            name: stack.enter_context(
                crashable_gateway(tmp_path / name, extra_args=(*args, "--node-id", name))
            )
            for name in ("node-a", "node-b")
        }
        endpoints = {name: node.start() for name, node in nodes.items()}
        first = endpoints["node-a"]
        await wait_for(
            lambda: _query(first, "SELECT count(*) FROM system.nodes WHERE alive"),
            lambda rows: rows == [(2,)],
            what="both nodes alive",
        )
        for statement in (
            f"CREATE CONNECTION tsrc (id BIGINT) TO kafka (bootstrap_servers = '{bootstrap}', "
            f"topic = '{src_topic}', type = 'source', format = 'json')",
            f"CREATE CONNECTION tout TO kafka (bootstrap_servers = '{bootstrap}', topic = '{out_topic}', "
            "type = 'sink', format = 'json', 'transactional.id' = 'laminar-tasks-test', "
            "partition_field = 'task')",
            "CREATE PIPELINE split WITH (parallelism = 2, batch_rows = 200, commit_interval_ms = '100 ms') "
            "AS INSERT INTO tout SELECT id, _kafka_partition % 2 AS task FROM tsrc",
        ):
            await _query(first, statement)
        await produce_json(bootstrap, src_topic, [{"id": i} for i in range(RECORDS // 2)], 4)

        async def placement(endpoint: GatewayEndpoint) -> list[tuple[object, ...]]:
            return await _query(
                endpoint,
                'SELECT task, tasks, node, "partitions" FROM system.pipeline_tasks '
                "WHERE pipeline = 'split' ORDER BY task",
            )

        def spread(rows: list[tuple[object, ...]]) -> bool:
            return len(rows) == 2 and {row[2] for row in rows} == {"node-a", "node-b"}

        await wait_for(lambda: placement(first), spread, what="one task on each node")
        # Each node knows the partitions of the task it runs: task i reads p with p % 2 == i.
        for name, endpoint in endpoints.items():
            mine = [row for row in await placement(endpoint) if row[2] == name]
            assert len(mine) == 1, mine
            task, tasks, _, partitions = mine[0]
            assert tasks == 2
            assert partitions == [p for p in range(4) if p % 2 == task]
        (summary,) = await _query(first, "SELECT node, tasks FROM system.pipelines WHERE name = 'split'")
        assert summary == ("node-a, node-b", 2)
        # Each node shows the other's task too, with the counters it published with its lease.
        half = RECORDS // 2
        for endpoint in endpoints.values():
            await wait_for(
                lambda endpoint=endpoint: _query(
                    endpoint,
                    "SELECT task, rows_out FROM system.pipeline_tasks WHERE pipeline = 'split' ORDER BY 1",
                ),
                lambda rows: len(rows) == 2 and sum(int(str(r[1] or 0)) for r in rows) == half,
                what="both tasks' counters on every node",
            )
            (total,) = await _query(endpoint, "SELECT rows_out FROM system.pipelines WHERE name = 'split'")
            assert total == (half,)

        async def output_count() -> int:
            return len(resolve_transactions(await read_batches(bootstrap, out_topic)).committed)

        await wait_for(output_count, lambda n: n > 0, what="the first committed output")
        await produce_json(bootstrap, src_topic, [{"id": i} for i in range(RECORDS // 2, RECORDS)], 4)
        nodes["node-b"].kill()
        killed_at = time.monotonic()
        await wait_for(
            lambda: placement(first),
            lambda rows: [row[2] for row in rows] == ["node-a", "node-a"],
            what="node-a runs both tasks",
        )
        assert time.monotonic() - killed_at < LEASE_S + LEASE_S / 3 + 2.0

        await wait_for(output_count, lambda n: n >= RECORDS, what="every input committed", deadline_s=60)
        batches = await read_batches(bootstrap, out_topic)
        view = resolve_transactions(batches)
        ids = Counter(int(orjson.loads(record.value or b"{}")["id"]) for record in view.committed)
        assert ids == Counter(range(RECORDS)), view.summary()
        producers = {batch.producer_id for batch in batches if batch.transactional and not batch.control}
        assert len(producers) == 2, "each task writes through a producer (transactional id) of its own"
