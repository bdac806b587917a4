"""Issue #8: the start-up and schema-browsing SQL of DBeaver, Metabase, Grafana, Superset, pgAdmin and
Tableau, replayed against Laminar.

The statements are the tools' own (tests/integration/bi_queries/*.sql, each file saying where every
statement came from; each ran unchanged on PostgreSQL 15). Laminar holds a source connection named
``orders`` (the name the fixtures browse), a sink and a pipeline. The fixtures name the table's OID
16384, as a tool would after looking it up; the test puts Laminar's OID of ``orders`` there. Every
message must run without an error, and each tool's table and column listings must find ``orders``
and its columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.fixtures.consume import unique
from tests.fixtures.kafka import KafkaBroker, create_topic
from tests.integration.conftest import CatalogGateway

pytestmark = pytest.mark.integration

QUERIES = Path(__file__).parent / "bi_queries"
TOOLS = ["dbeaver", "grafana", "metabase", "pgadmin", "superset", "tableau"]
ORDERS_COLUMNS = ("id", "customer", "amount", "ts")
FIXTURE_OID = "16384"  # the OID of orders in the fixtures (see each file's header)


@dataclass(frozen=True)
class Message:
    line: int  # where it starts in the file
    sql: str  # one Query message: one statement, or several the tool sends together


def messages(tool: str) -> list[Message]:
    """The fixture's messages: lines up to one ending with ';', comments and blank lines dropped."""
    found, pending, start = [], [], 0
    for number, line in enumerate((QUERIES / f"{tool}.sql").read_text().splitlines(), start=1):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        if not pending:
            start = number
        pending.append(line)
        if line.rstrip().endswith(";"):
            found.append(Message(start, "\n".join(pending)))
            pending = []
    assert not pending, f"{tool}.sql ends inside a statement"
    return found


@pytest.fixture(scope="module")
async def orders_gateway(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> CatalogGateway:
    bootstrap = kafka_broker.bootstrap_servers
    source_topic, sink_topic = unique("replay-orders"), unique("replay-out")
    await create_topic(bootstrap, source_topic, 1)
    await create_topic(bootstrap, sink_topic, 1)
    async with await psycopg.AsyncConnection.connect(sink_gateway.endpoint.dsn(), autocommit=True) as conn:
        await conn.execute(
            f"CREATE CONNECTION IF NOT EXISTS orders (id BIGINT, customer VARCHAR, amount NUMERIC(10,2), "
            f"ts TIMESTAMPTZ) TO kafka (bootstrap_servers = '{bootstrap}', topic = '{source_topic}', "
            "type = 'source', format = 'json')"
        )
        await conn.execute(
            f"CREATE CONNECTION IF NOT EXISTS orders_totals (id BIGINT, total NUMERIC(10,2)) TO kafka ("
            f"bootstrap_servers = '{bootstrap}', topic = '{sink_topic}', type = 'sink', format = 'json')"
        )
        await conn.execute(
            "CREATE PIPELINE IF NOT EXISTS orders_copy AS INSERT INTO orders_totals "
            "SELECT id, amount AS total FROM orders"
        )
    return sink_gateway


@pytest.mark.parametrize("tool", TOOLS)
async def test_the_tools_queries_run_and_find_the_objects(tool: str, orders_gateway: CatalogGateway) -> None:
    seen: list[object] = []
    async with await psycopg.AsyncConnection.connect(orders_gateway.endpoint.dsn(), autocommit=True) as conn:
        found = await (await conn.execute("SELECT 'orders'::regclass::oid")).fetchone()
        assert found is not None
        orders_oid = str(found[0])
        for message in messages(tool):
            sql = message.sql.replace(FIXTURE_OID, orders_oid)
            try:
                cursor = await conn.execute(sql.encode())  # bytes: sent as written, no %s parsing
                while True:
                    if cursor.description is not None:
                        seen.extend(value for row in await cursor.fetchall() for value in row)
                    if not cursor.nextset():
                        break
            except psycopg.Error as exc:
                pytest.fail(f"{tool}.sql:{message.line}: {exc.sqlstate} {exc}\n{sql}", pytrace=False)
    texts = {str(value) for value in seen}
    assert "orders" in texts, f"{tool}: no listing found the orders connection"
    assert set(ORDERS_COLUMNS) <= texts, f"{tool}: the columns of orders were not listed"
