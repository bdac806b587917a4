"""The system views and test_connection() against a real broker (Tansu), on both catalog stores.

``test_connection('name')`` really asks the connection's brokers for metadata: it reports the
partition count of an existing topic, says when the topic does not exist, and fails clearly and
within a bounded time when nothing listens. ``system.kafka_topics`` lists the broker's topics;
``system.connections``, ``system.secrets`` and ``system.users`` are ordinary tables for full SQL.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time

import psycopg
import psycopg.errors
import pytest

from tests.fixtures.gateway import free_port
from tests.fixtures.kafka import KafkaBroker, create_topic
from tests.integration.conftest import CatalogGateway

pytestmark = pytest.mark.integration

Conn = psycopg.Connection[tuple[object, ...]]
FAILURE_DEADLINE_S = 10.0
CONNECTIONS_COLUMNS = [
    "name",
    "type",
    "format",
    "topic",
    "bootstrap_servers",
    "options",
    "columns",
    "created_at",
]


def connection_sql(name: str, servers: str, topic: str, *, kind: str = "sink", fmt: str = "json") -> str:
    return (
        f"CREATE CONNECTION {name} TO kafka (bootstrap_servers = '{servers}', topic = '{topic}',"
        f" type = '{kind}', format = '{fmt}')"
    )


def one_value(conn: Conn, query: str) -> object:
    rows = conn.execute(query).fetchall()
    assert len(rows) == 1, rows
    assert len(rows[0]) == 1, rows
    return rows[0][0]


@pytest.fixture(scope="module")
async def three_partition_topic(kafka_broker: KafkaBroker) -> str:
    topic = f"views-{secrets.token_hex(4)}"
    await create_topic(kafka_broker.bootstrap_servers, topic, 3)
    return topic


@pytest.fixture(scope="module")
def probed(
    catalog_gateway: CatalogGateway, kafka_broker: KafkaBroker, three_partition_topic: str
) -> CatalogGateway:
    """Connections to the broker: one to the 3-partition topic, one to a missing topic, as sink and source."""
    servers = kafka_broker.bootstrap_servers
    with catalog_gateway.connect() as conn:
        for statement in (
            connection_sql("tc_ok", servers, three_partition_topic),
            connection_sql("tc_ok_source", servers, three_partition_topic, kind="source"),
            connection_sql("tc_missing_topic", servers, f"absent-{secrets.token_hex(4)}"),
        ):
            conn.execute(statement.replace("CREATE CONNECTION", "CREATE CONNECTION IF NOT EXISTS"))
    return catalog_gateway


# --- test_connection ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["tc_ok", "tc_ok_source"])
def test_connection_reports_the_partition_count(
    probed: CatalogGateway, three_partition_topic: str, name: str
) -> None:
    with probed.connect() as conn:
        cursor = conn.execute(f"SELECT test_connection('{name}')")
        assert cursor.description is not None
        assert [column.name for column in cursor.description] == ["test_connection"]
        rows = cursor.fetchall()
        assert len(rows) == 1
        text = str(rows[0][0])
        assert text.startswith("OK:"), text
        assert "3 partitions" in text
        assert three_partition_topic in text


def test_connection_says_when_the_topic_does_not_exist(probed: CatalogGateway) -> None:
    with probed.connect() as conn:
        text = str(one_value(conn, "SELECT test_connection('tc_missing_topic')"))
    assert text.startswith("OK:"), text
    assert "does not exist" in text


def test_connection_to_a_closed_port_fails_quickly(probed: CatalogGateway) -> None:
    closed = f"127.0.0.1:{free_port()}"
    with probed.connect() as conn:
        conn.execute(connection_sql("tc_closed", closed, "anything"))
        started = time.monotonic()
        text = str(one_value(conn, "SELECT test_connection('tc_closed')"))
        elapsed = time.monotonic() - started
        conn.execute("DROP CONNECTION tc_closed")
    assert text.startswith("FAILED:"), text
    assert closed in text
    assert elapsed < FAILURE_DEADLINE_S, f"test_connection took {elapsed:.1f}s"


def test_connection_of_an_unknown_connection_is_42704(probed: CatalogGateway) -> None:
    with probed.connect() as conn, pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT test_connection('no_such_connection')")
    assert info.value.sqlstate == "42704"
    assert 'connection "no_such_connection" does not exist' in str(info.value.diag.message_primary)


def test_connection_works_with_a_bound_parameter_and_in_a_query(probed: CatalogGateway) -> None:
    with probed.connect() as conn:
        row = conn.execute("SELECT test_connection(%s)", ("tc_ok",)).fetchone()
        assert row is not None
        assert str(row[0]).startswith("OK:")
        rows = conn.execute(
            "SELECT name, left(test_connection(name), 3) FROM system.connections"
            " WHERE name IN ('tc_ok', 'tc_missing_topic') ORDER BY name"
        ).fetchall()
        assert rows == [("tc_missing_topic", "OK:"), ("tc_ok", "OK:")]


# --- system.kafka_topics -------------------------------------------------------------------------------
def test_kafka_topics_lists_the_topic_with_its_partitions(
    probed: CatalogGateway, three_partition_topic: str
) -> None:
    with probed.connect() as conn:
        rows = conn.execute(
            "SELECT topic, partitions FROM system.kafka_topics WHERE connection = 'tc_ok' ORDER BY topic"
        ).fetchall()
        assert (three_partition_topic, 3) in rows
        assert rows == sorted(rows)
        count = one_value(
            conn,
            f"SELECT count(*) FROM system.kafka_topics WHERE topic = '{three_partition_topic}'"
            " AND connection IN ('tc_ok', 'tc_ok_source', 'tc_missing_topic')",
        )
        assert count == 3


# --- system.connections, system.secrets, system.users ----------------------------------------------------
def test_system_connections_columns_and_values(probed: CatalogGateway, kafka_broker: KafkaBroker) -> None:
    with probed.connect() as conn:
        conn.execute("CREATE SECRET IF NOT EXISTS view_key AS 'view-key-value'")
        conn.execute("CREATE SECRET IF NOT EXISTS view_secret AS 'view-secret-value'")
        conn.execute(
            "CREATE CONNECTION view_sasl (id BIGINT, name TEXT) TO kafka ("
            f" bootstrap_servers = '{kafka_broker.bootstrap_servers}', topic = 'view-topic', type = 'sink',"
            " format = 'json', 'security.protocol' = 'SASL_SSL', 'sasl.mechanism' = 'SCRAM-SHA-512',"
            " 'sasl.username' = '${secret:view_key}', 'sasl.password' = '${secret:view_secret}')"
        )
        cursor = conn.execute("SELECT * FROM system.connections WHERE name = 'view_sasl'")
        assert cursor.description is not None
        columns = [column.name for column in cursor.description]
        assert columns[: len(CONNECTIONS_COLUMNS)] == CONNECTIONS_COLUMNS
        rows = cursor.fetchall()
        assert len(rows) == 1
        row = dict(zip(columns, rows[0], strict=True))
        assert (row["name"], row["type"], row["format"], row["topic"], row["bootstrap_servers"]) == (
            "view_sasl",
            "sink",
            "json",
            "view-topic",
            kafka_broker.bootstrap_servers,
        )
        assert row["columns"] == ["id", "name"]
        assert parsed_options(row["options"]) == {
            "bootstrap_servers": kafka_broker.bootstrap_servers,
            "topic": "view-topic",
            "type": "sink",
            "format": "json",
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "${secret:view_key}",
            "sasl.password": "${secret:view_secret}",
        }
        created = row["created_at"]
        assert isinstance(created, dt.datetime)
        assert created.tzinfo is not None
        assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 60
        assert "view-key-value" not in repr(rows)
        assert "view-secret-value" not in repr(rows)
        conn.execute("DROP CONNECTION view_sasl")


def parsed_options(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else json.loads(str(value))


def test_system_connections_hides_a_literal_user_name(probed: CatalogGateway) -> None:
    # Credential options (those that may hold a secret reference) show literal values as ********;
    # the protocol and mechanism are not credentials and show as written.
    with probed.connect() as conn:
        conn.execute("CREATE SECRET IF NOT EXISTS view_password AS 'view-password-value'")
        conn.execute(
            "CREATE CONNECTION view_literal_user TO kafka (bootstrap_servers = '127.0.0.1:9092',"
            " topic = 't', type = 'source', format = 'raw', 'security.protocol' = 'sasl_plaintext',"
            " 'sasl.mechanism' = 'plain', 'sasl.username' = 'literal-user-name',"
            " 'sasl.password' = '${secret:view_password}')"
        )
        options = parsed_options(
            one_value(conn, "SELECT options FROM system.connections WHERE name = 'view_literal_user'")
        )
        assert {name: options[name] for name in options if "." in name} == {
            "security.protocol": "sasl_plaintext",
            "sasl.mechanism": "plain",
            "sasl.username": "********",
            "sasl.password": "${secret:view_password}",
        }
        conn.execute("DROP CONNECTION view_literal_user")
        conn.execute("DROP SECRET view_password")


def test_system_secrets_has_names_only(probed: CatalogGateway) -> None:
    with probed.connect() as conn:
        conn.execute("CREATE SECRET names_only AS 'names-only-value'")
        cursor = conn.execute("SELECT * FROM system.secrets WHERE name = 'names_only'")
        assert cursor.description is not None
        assert cursor.description[0].name == "name"
        assert {column.name for column in cursor.description} <= {"name", "created_at", "updated_at"}
        rows = cursor.fetchall()
        assert [row[0] for row in rows] == ["names_only"]
        assert "names-only-value" not in repr(rows)
        conn.execute("DROP SECRET names_only")


def test_full_sql_over_system_connections(probed: CatalogGateway) -> None:
    layout = [
        ("gv_sink_json_1", "sink", "json"),
        ("gv_sink_json_2", "sink", "json"),
        ("gv_sink_raw", "sink", "raw"),
        ("gv_source_json_1", "source", "json"),
        ("gv_source_json_2", "source", "json"),
        ("gv_source_json_3", "source", "json"),
    ]
    with probed.connect() as conn:
        for name, kind, fmt in layout:
            conn.execute(connection_sql(name, "127.0.0.1:9092", f"topic-{name}", kind=kind, fmt=fmt))
        grouped = conn.execute(
            "SELECT type, format, COUNT(*) AS n FROM system.connections WHERE name LIKE 'gv%'"
            " GROUP BY type, format ORDER BY n DESC, type"
        ).fetchall()
        assert grouped == [("source", "json", 3), ("sink", "json", 2), ("sink", "raw", 1)]
        newest_first = conn.execute(
            "SELECT name FROM system.connections WHERE name LIKE 'gv%' ORDER BY name DESC LIMIT 2"
        ).fetchall()
        assert newest_first == [("gv_source_json_3",), ("gv_source_json_2",)]
        having = conn.execute(
            "SELECT type FROM system.connections WHERE name LIKE 'gv%' GROUP BY type HAVING COUNT(*) > 2"
            " ORDER BY type"
        ).fetchall()
        assert having == [("sink",), ("source",)]
        total = one_value(conn, "SELECT COUNT(*) FROM system.connections")
        assert total == len(conn.execute("SHOW CONNECTIONS").fetchall())
        recent = one_value(
            conn,
            "SELECT COUNT(*) FROM system.connections WHERE name LIKE 'gv%'"
            " AND created_at > NOW() - INTERVAL '1 hour'",
        )
        assert recent == len(layout)
        with_secret = one_value(
            conn,
            "SELECT COUNT(*) FROM system.connections c JOIN system.secrets s ON c.name = s.name",
        )
        assert with_secret == 0
        for name, _, _ in layout:
            conn.execute(f"DROP CONNECTION {name}")
        assert one_value(conn, "SELECT COUNT(*) FROM system.connections WHERE name LIKE 'gv%'") == 0


def test_views_see_changes_from_other_sessions_at_once(probed: CatalogGateway) -> None:
    with probed.connect() as reader, probed.connect() as writer:
        query = "SELECT COUNT(*) FROM system.connections WHERE name = 'seen_live'"
        assert one_value(reader, query) == 0
        writer.execute(connection_sql("seen_live", "127.0.0.1:9092", "live"))
        assert one_value(reader, query) == 1
        writer.execute("ALTER CONNECTION seen_live SET (topic = 'changed')")
        assert one_value(reader, "SELECT topic FROM system.connections WHERE name = 'seen_live'") == "changed"
        writer.execute("DROP CONNECTION seen_live")
        assert one_value(reader, query) == 0
