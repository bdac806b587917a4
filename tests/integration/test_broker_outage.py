"""Issue #10: the broker goes away for 30 s in the middle of a stream, then comes back.

Two pipelines read one source through a proxy in front of the broker: one exactly-once (a
transactional sink), one at-least-once. Mid-stream the proxy is cut (every connection closed,
nothing listening: the broker's host is down) for ``LAMINAR_OUTAGE_SECONDS`` (30 by default); the
pipelines notice (state ``retrying``), retry with back-off, and resume from their committed offsets
once the broker is back. Afterwards the exactly-once output holds every input exactly once and the
at-least-once output holds every input at least once: nothing lost.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from pathlib import Path

import orjson
import psycopg
import pytest

from tests.fixtures.consume import read_batches
from tests.fixtures.crash import crashable_gateway, resolve_transactions
from tests.fixtures.gateway import GatewayEndpoint
from tests.fixtures.kafka import create_topic
from tests.fixtures.outage import proxied_broker
from tests.fixtures.pipelines import produce_json_batched, wait_for

pytestmark = pytest.mark.integration

OUTAGE_S = float(os.environ.get("LAMINAR_OUTAGE_SECONDS", "30"))
RECORDS = 4_000


async def _rows(endpoint: GatewayEndpoint, sql: str) -> list[tuple[object, ...]]:
    async with await psycopg.AsyncConnection.connect(endpoint.dsn(), autocommit=True) as conn:
        cursor = await conn.execute(sql)
        return await cursor.fetchall() if cursor.description is not None else []


async def test_pipelines_ride_out_a_broker_outage(tmp_path: Path) -> None:
    async with proxied_broker(tmp_path / "broker") as broker:
        bootstrap = broker.bootstrap_servers
        await create_topic(bootstrap, "outage-src", 2)
        await create_topic(bootstrap, "outage-eo", 1)
        await create_topic(bootstrap, "outage-alo", 1)
        with crashable_gateway(tmp_path / "gw") as gateway:
            endpoint = gateway.start()
            servers = f"bootstrap_servers = '{bootstrap}'"
            for statement in (
                f"CREATE CONNECTION osrc (id BIGINT) TO kafka ({servers}, topic = 'outage-src', "
                "type = 'source', format = 'json')",
                f"CREATE CONNECTION oeo TO kafka ({servers}, topic = 'outage-eo', type = 'sink', "
                "format = 'json', 'transactional.id' = 'laminar-outage-test')",
                f"CREATE CONNECTION oalo TO kafka ({servers}, topic = 'outage-alo', type = 'sink', "
                "format = 'json')",
                "CREATE PIPELINE eo WITH (commit_interval_ms = '200 ms', max_retries = 100) "
                "AS INSERT INTO oeo SELECT id FROM osrc",
                "CREATE PIPELINE alo WITH (commit_interval_ms = '200 ms', max_retries = 100) "
                "AS INSERT INTO oalo SELECT id FROM osrc",
            ):
                await _rows(endpoint, statement)
            await produce_json_batched(bootstrap, "outage-src", [{"id": i} for i in range(RECORDS // 2)], 2)

            async def committed(topic: str) -> list[int]:
                view = resolve_transactions(await read_batches(bootstrap, topic))
                return [int(orjson.loads(record.value or b"{}")["id"]) for record in view.committed]

            await wait_for(lambda: committed("outage-eo"), lambda ids: len(ids) > 0, what="first output")

            await broker.proxy.cut()
            cut_at = time.monotonic()
            states = await wait_for(
                lambda: _rows(endpoint, "SELECT name, state FROM system.pipelines ORDER BY name"),
                lambda rows: all(state == "retrying" for _, state in rows),
                what="both pipelines notice the outage",
                deadline_s=OUTAGE_S + 60,
            )
            assert [name for name, _ in states] == ["alo", "eo"]
            await asyncio.sleep(max(OUTAGE_S - (time.monotonic() - cut_at), 0))  # the outage itself
            await broker.proxy.restore()

            await produce_json_batched(
                bootstrap, "outage-src", [{"id": i} for i in range(RECORDS // 2, RECORDS)], 2
            )
            exactly = await wait_for(
                lambda: committed("outage-eo"),
                lambda ids: len(ids) >= RECORDS,
                what="eo output",
                deadline_s=120,
            )
            assert Counter(exactly) == Counter(range(RECORDS)), "exactly-once output lost or repeated input"
            at_least = await wait_for(
                lambda: committed("outage-alo"),
                lambda ids: set(ids) >= set(range(RECORDS)),
                what="alo output",
                deadline_s=120,
            )
            assert set(at_least) == set(range(RECORDS))
            running = await _rows(endpoint, "SELECT name, state, error FROM system.pipelines ORDER BY name")
            assert [(name, state) for name, state, _ in running] == [("alo", "running"), ("eo", "running")]
            print(
                f"outage of {OUTAGE_S:.0f} s: eo {len(exactly)} records for {RECORDS} inputs, "
                f"alo {len(at_least)} records ({len(at_least) - RECORDS} repeated)"
            )
