"""CREATE/ALTER/DROP/SHOW CONNECTION through real clients, against both catalog stores.

Every CREATE CONNECTION statement of the Kafka sink page (``shared/spec/kafka-sink.md``) is taken
from the page itself and run unchanged: all 19 are created (the avro and protobuf sinks too, since
issue 6), and what SHOW prints must recreate the same connection. ALTER turns a json sink or source
into an avro or protobuf one, and a source declaring its columns is created with either format
(no registry is asked then). The rest covers declared columns, IF [NOT] EXISTS, ALTER ... SET/RESET,
DROP, DDL inside a transaction block, and DDL from many sessions at once.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import asyncpg
import asyncpg.exceptions
import psycopg
import psycopg.errors
import pytest
from psycopg.pq import TransactionStatus

from tests.integration.conftest import CatalogGateway, capture_notices

pytestmark = pytest.mark.integration

SPEC_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "kafka-sink.md"
SPEC_SECRETS = {"sr_key": "spec-registry-key-7f3a", "sr_secret": "spec-registry-secret-91bc"}
SHOW_CONNECTIONS_COLUMNS = ["name", "type", "format", "topic", "bootstrap_servers"]
# The spec's Schema Registry sinks (issue 6), by connection name: accepted like every other sink.
SCHEMA_SINKS = {"kafka_avro_sink": "avro", "kafka_protobuf_sink": "protobuf"}
# One option per line in the spec: bare or quoted name, '=', a quoted value, then ',' or a comment.
OPTION_LINE = re.compile(r"^\s*('?)([A-Za-z_][\w.]*)\1\s*=\s*'((?:[^']|'')*)'")


# --- reading the spec (test scaffolding: the gateway parses the statements itself) -------------
def sql_blocks(markdown: str) -> list[str]:
    """The bodies of the ```sql fenced blocks, in order."""
    blocks: list[str] = []
    current: list[str] | None = None
    fenced = False
    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            if fenced:
                if current is not None:
                    blocks.append("\n".join(current))
                current, fenced = None, False
            else:
                fenced = True
                current = [] if line.strip() == "```sql" else None
            continue
        if current is not None:
            current.append(line)
    return blocks


def split_statements(block: str) -> list[str]:
    """Split a block at ';' that ends a line outside quotes and comments; keep the ';'."""
    statements: list[str] = []
    start = 0
    in_quote = in_comment = False
    for index, char in enumerate(block):
        if in_comment:
            in_comment = char != "\n"
        elif in_quote:
            in_quote = char != "'"
        elif char == "'":
            in_quote = True
        elif char == "-" and block[index + 1 : index + 2] == "-":
            in_comment = True
        elif char == ";" and block[index + 1 :].split("\n", 1)[0].strip() == "":
            statements.append(block[start : index + 1].strip())
            start = index + 1
    if block[start:].strip():
        statements.append(block[start:].strip())
    return statements


def first_code_line(statement: str) -> str:
    return next(
        line.strip() for line in statement.splitlines() if line.strip() and not line.strip().startswith("--")
    )


def spec_create_connections() -> list[str]:
    if not SPEC_PATH.is_file():
        raise FileNotFoundError(f"the Kafka sink spec is missing: {SPEC_PATH}")
    statements = [
        statement
        for block in sql_blocks(SPEC_PATH.read_text(encoding="utf-8"))
        for statement in split_statements(block)
        if first_code_line(statement).upper().startswith("CREATE CONNECTION")
    ]
    assert len(statements) == 19, (
        f"expected the spec's 19 CREATE CONNECTION statements, found {len(statements)}"
    )
    return statements


def connection_name(statement: str) -> str:
    match = re.search(r"CREATE CONNECTION\s+(\w+)", statement, re.IGNORECASE)
    assert match is not None, statement
    return match.group(1).lower()


def option_pairs(statement: str) -> list[tuple[str, str]]:
    pairs = []
    for line in statement.splitlines():
        match = OPTION_LINE.match(line)
        if match:
            pairs.append((match.group(2), match.group(3).replace("''", "'")))
    return pairs


# --- helpers -----------------------------------------------------------------------------------
Conn = psycopg.Connection[tuple[object, ...]]


def kafka_options(topic: str, *, kind: str = "sink", fmt: str = "json", extra: str = "") -> str:
    more = f", {extra}" if extra else ""
    servers = "bootstrap_servers = '127.0.0.1:9092'"
    return f"TO kafka ({servers}, topic = '{topic}', type = '{kind}', format = '{fmt}'{more})"


def show_connections(conn: Conn) -> dict[str, tuple[object, ...]]:
    cursor = conn.execute("SHOW CONNECTIONS")
    assert cursor.description is not None
    assert [column.name for column in cursor.description] == SHOW_CONNECTIONS_COLUMNS
    return {str(row[0]): row for row in cursor.fetchall()}


def show_create(conn: Conn, name: str) -> str:
    cursor = conn.execute(f"SHOW CREATE CONNECTION {name}")
    assert cursor.description is not None
    assert [column.name for column in cursor.description] == ["name", "create_sql"]
    rows = cursor.fetchall()
    assert len(rows) == 1
    assert rows[0][0] == name
    return str(rows[0][1])


def catalog_row(conn: Conn, name: str) -> tuple[object, ...] | None:
    """The system.connections row of a connection, without its timestamps."""
    return conn.execute(
        "SELECT name, type, format, topic, bootstrap_servers, options, columns FROM system.connections"
        " WHERE name = %s",
        (name,),
    ).fetchone()


def expect_error(conn: Conn, statement: str, sqlstate: str, fragment: str) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as info:
        conn.execute(statement)
    assert info.value.sqlstate == sqlstate, f"{statement!r}: {info.value.sqlstate} {info.value}"
    assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"
    return info.value


# --- the spec's statements -----------------------------------------------------------------------
async def test_every_spec_create_connection_runs_unchanged_and_round_trips(
    catalog_gateway: CatalogGateway,
) -> None:
    statements = spec_create_connections()
    names = [connection_name(statement) for statement in statements]
    assert len(set(names)) == len(names)
    formats = {
        connection_name(statement): dict(option_pairs(statement))["format"] for statement in statements
    }
    assert {name: fmt for name, fmt in formats.items() if fmt in {"avro", "protobuf"}} == SCHEMA_SINKS
    supported = list(zip(statements, names, strict=True))
    assert len(supported) == 19
    with catalog_gateway.connect() as conn:
        # The avro statement names secrets; with them present it is valid as written.
        for secret, value in SPEC_SECRETS.items():
            assert conn.execute(f"CREATE SECRET {secret} AS '{value}'").statusmessage == "CREATE SECRET"
        for statement, _ in supported:
            assert conn.execute(statement).statusmessage == "CREATE CONNECTION", statement
        shown = show_connections(conn)
        assert {name for _, name in supported} <= set(shown)
        for statement, name in supported:
            options = dict(option_pairs(statement))
            assert shown[name] == (
                name,
                options["type"],
                options["format"],
                options.get("topic"),
                options["bootstrap_servers"],
            )
            create_sql = show_create(conn, name)
            for option, value in option_pairs(statement):
                assert f"{option} = '{value}'" in create_sql or f"'{option}' = '{value}'" in create_sql, (
                    f"{option} = '{value}' missing from SHOW CREATE CONNECTION {name}:\n{create_sql}"
                )
            for secret_value in SPEC_SECRETS.values():
                assert secret_value not in create_sql
            before = catalog_row(conn, name)
            assert conn.execute(f"DROP CONNECTION {name}").statusmessage == "DROP CONNECTION"
            assert catalog_row(conn, name) is None
            assert conn.execute(create_sql).statusmessage == "CREATE CONNECTION"
            assert show_connections(conn)[name] == shown[name]
            assert catalog_row(conn, name) == before
            assert show_create(conn, name) == create_sql
        for _, name in supported:
            conn.execute(f"DROP CONNECTION {name}")

    # The statements as one simple-protocol script from asyncpg.
    aconn = await catalog_gateway.connect_asyncpg()
    try:
        await aconn.execute("\n".join(statement for statement, _ in supported))
        listed = {row["name"] for row in await aconn.fetch("SHOW CONNECTIONS")}
        assert {name for _, name in supported} <= listed
        for _, name in supported:
            assert await aconn.execute(f"DROP CONNECTION {name}") == "DROP CONNECTION"
        for secret in SPEC_SECRETS:
            assert await aconn.execute(f"DROP SECRET {secret}") == "DROP SECRET"
    finally:
        await aconn.close()


def test_declared_columns_are_kept_in_order(catalog_gateway: CatalogGateway) -> None:
    with catalog_gateway.connect() as conn:
        status = conn.execute(
            "CREATE CONNECTION events (id BIGINT, user_id TEXT, amount NUMERIC(10,2), ts TIMESTAMPTZ)"
            " TO kafka (bootstrap_servers = '127.0.0.1:9092', topic = 'events',"
            " type = 'source', format = 'json')"
        ).statusmessage
        assert status == "CREATE CONNECTION"
        row = conn.execute("SELECT columns, type FROM system.connections WHERE name = 'events'").fetchone()
        assert row == (["id", "user_id", "amount", "ts"], "source")
        create_sql = show_create(conn, "events")
        assert "id bigint" in create_sql.lower()
        assert "ts timestamptz" in create_sql.lower()
        assert re.search(r"amount (numeric|decimal)\(10, ?2\)", create_sql.lower()), create_sql
        before = catalog_row(conn, "events")
        conn.execute("DROP CONNECTION events")
        conn.execute(create_sql)
        assert catalog_row(conn, "events") == before


def test_create_if_not_exists_notices_and_duplicate_fails(catalog_gateway: CatalogGateway) -> None:
    with catalog_gateway.connect() as conn:
        notices = capture_notices(conn)
        conn.execute(f"CREATE CONNECTION dup_conn {kafka_options('first')}")
        before = show_connections(conn)["dup_conn"]
        cursor = conn.execute(f"CREATE CONNECTION IF NOT EXISTS dup_conn {kafka_options('second')}")
        assert cursor.statusmessage == "CREATE CONNECTION"
        assert notices == ['connection "dup_conn" already exists, skipping']
        assert show_connections(conn)["dup_conn"] == before
        expect_error(
            conn,
            f"CREATE CONNECTION dup_conn {kafka_options('third')}",
            "42710",
            'connection "dup_conn" already exists',
        )
        assert show_connections(conn)["dup_conn"] == before


PRETTY = "'json.pretty' = 'true'"


def test_alter_set_and_reset_change_what_show_prints(catalog_gateway: CatalogGateway) -> None:
    with catalog_gateway.connect() as conn:
        conn.execute(f"CREATE CONNECTION alter_me {kafka_options('before', extra=PRETTY)}")
        assert (
            conn.execute("ALTER CONNECTION alter_me SET (topic = 'other')").statusmessage
            == "ALTER CONNECTION"
        )
        assert show_connections(conn)["alter_me"] == ("alter_me", "sink", "json", "other", "127.0.0.1:9092")
        assert "'json.pretty' = 'true'" in show_create(conn, "alter_me")
        assert (
            conn.execute("ALTER CONNECTION alter_me RESET ('json.pretty')").statusmessage
            == "ALTER CONNECTION"
        )
        create_sql = show_create(conn, "alter_me")
        assert "json.pretty" not in create_sql
        assert "topic = 'other'" in create_sql
        row = conn.execute("SELECT options FROM system.connections WHERE name = 'alter_me'").fetchone()
        assert row is not None
        assert "json.pretty" not in row[0]
        conn.execute("ALTER CONNECTION alter_me SET ('json.pretty' = 'false', linger_ms = '250')")
        create_sql = show_create(conn, "alter_me")
        assert "'json.pretty' = 'false'" in create_sql
        assert "linger_ms = '250'" in create_sql


def test_alter_of_unknown_connection_is_42704(catalog_gateway: CatalogGateway) -> None:
    with catalog_gateway.connect() as conn:
        expect_error(
            conn, "ALTER CONNECTION no_such_conn SET (topic = 'x')", "42704", 'connection "no_such_conn"'
        )
        expect_error(
            conn, "ALTER CONNECTION no_such_conn RESET (topic)", "42704", 'connection "no_such_conn"'
        )


@pytest.mark.parametrize(
    ("change", "sqlstate"),
    [
        ("SET (format = 'xml')", "22023"),
        ("SET (compression = 'brotli')", "22023"),
        ("SET (batch_size = 'many')", "22023"),
        ("SET ('enable.idempotence' = 'true', acks = '1')", "22023"),
        (
            "SET ('security.protocol' = 'SASL_PLAINTEXT', 'sasl.mechanism' = 'PLAIN',"
            " 'sasl.username' = 'u', 'sasl.password' = '${secret:no_such_secret}')",
            "42704",
        ),
        ("SET ('security.protocol' = 'SASL_SSL')", "22023"),
        ("SET ('sasl.mechanism' = 'PLAIN')", "22023"),
        ("SET (format = 'avro')", "22023"),  # an avro sink needs schema_registry.endpoint
        ("SET (bootstrap_servers = '${secret:no_such_secret}')", "22023"),
        ("RESET (topic)", "22023"),
        ("RESET (format)", "22023"),
    ],
)
def test_invalid_alter_leaves_the_connection_unchanged(
    catalog_gateway: CatalogGateway, change: str, sqlstate: str
) -> None:
    with catalog_gateway.connect() as conn:
        conn.execute(f"CREATE CONNECTION IF NOT EXISTS stable_conn {kafka_options('stable')}")
        before_row, before_sql = catalog_row(conn, "stable_conn"), show_create(conn, "stable_conn")
        with pytest.raises(psycopg.Error) as info:
            conn.execute(f"ALTER CONNECTION stable_conn {change}")
        assert info.value.sqlstate == sqlstate, str(info.value)
        assert catalog_row(conn, "stable_conn") == before_row
        assert show_create(conn, "stable_conn") == before_sql


FORMAT_CHANGES = [
    ("SET (format = 'avro', 'schema_registry.endpoint' = 'http://127.0.0.1:8081')", "avro"),
    (
        "SET (format = 'protobuf', 'protobuf.message' = 'com.example.Event',"
        " 'protobuf.descriptor_file' = '/etc/laminar/events.desc')",
        "protobuf",
    ),
]


@pytest.mark.parametrize("kind", ["sink", "source"])
@pytest.mark.parametrize(("change", "fmt"), FORMAT_CHANGES)
def test_alter_to_avro_or_protobuf_is_accepted(
    catalog_gateway: CatalogGateway, change: str, fmt: str, kind: str
) -> None:
    name = f"{kind}_becomes_{fmt}"
    # The source declares its columns: recreating it from SHOW CREATE then asks no registry.
    columns = "(id BIGINT) " if kind == "source" else ""
    with catalog_gateway.connect() as conn:
        conn.execute(f"CREATE CONNECTION {name} {columns}{kafka_options('formats', kind=kind)}")
        assert conn.execute(f"ALTER CONNECTION {name} {change}").statusmessage == "ALTER CONNECTION"
        assert show_connections(conn)[name] == (name, kind, fmt, "formats", "127.0.0.1:9092")
        create_sql = show_create(conn, name)
        assert f"format = '{fmt}'" in create_sql
        for option, value in re.findall(r"'([\w.]+)' = '([^']*)'", change):
            assert f"'{option}' = '{value}'" in create_sql, create_sql
        before = catalog_row(conn, name)
        conn.execute(f"DROP CONNECTION {name}")
        assert conn.execute(create_sql).statusmessage == "CREATE CONNECTION"
        assert catalog_row(conn, name) == before
        conn.execute(f"DROP CONNECTION {name}")


@pytest.mark.parametrize(("change", "fmt"), FORMAT_CHANGES)
def test_avro_or_protobuf_source_with_declared_columns_is_created(
    catalog_gateway: CatalogGateway, change: str, fmt: str
) -> None:
    name = f"declared_{fmt}_source"
    options = change.removeprefix("SET (").removesuffix(")").replace(f"format = '{fmt}', ", "")
    declared = kafka_options("formats", kind="source", fmt=fmt, extra=options)
    with catalog_gateway.connect() as conn:
        statement = f"CREATE CONNECTION {name} (id BIGINT, note TEXT) {declared}"
        assert conn.execute(statement).statusmessage == "CREATE CONNECTION"
        row = conn.execute(
            "SELECT columns, type, format FROM system.connections WHERE name = %s", (name,)
        ).fetchone()
        assert row == (["id", "note"], "source", fmt)
        conn.execute(f"DROP CONNECTION {name}")


def test_drop_connection_variants(catalog_gateway: CatalogGateway) -> None:
    with catalog_gateway.connect() as conn:
        notices = capture_notices(conn)
        conn.execute(f"CREATE CONNECTION drop_me {kafka_options('gone')}")
        assert conn.execute("DROP CONNECTION drop_me").statusmessage == "DROP CONNECTION"
        assert "drop_me" not in show_connections(conn)
        assert conn.execute("DROP CONNECTION IF EXISTS drop_me").statusmessage == "DROP CONNECTION"
        assert notices == ['connection "drop_me" does not exist, skipping']
        expect_error(conn, "DROP CONNECTION drop_me", "42704", 'connection "drop_me" does not exist')


@pytest.mark.parametrize(
    "statement",
    [
        f"CREATE CONNECTION in_txn {kafka_options('t')}",
        "ALTER CONNECTION txn_existing SET (topic = 'changed')",
        "DROP CONNECTION txn_existing",
        "CREATE SECRET in_txn_secret AS 'x'",
        "CREATE USER in_txn_user WITH PASSWORD 'pw'",
    ],
)
def test_ddl_inside_a_transaction_block_is_refused(catalog_gateway: CatalogGateway, statement: str) -> None:
    with catalog_gateway.connect() as setup:
        setup.execute(f"CREATE CONNECTION IF NOT EXISTS txn_existing {kafka_options('kept')}")
        before = show_connections(setup)
        secrets_before = setup.execute("SELECT name FROM system.secrets ORDER BY name").fetchall()
        users_before = setup.execute("SELECT name FROM system.users ORDER BY name").fetchall()
    with catalog_gateway.connect(autocommit=False) as conn:
        conn.execute("SELECT 1")
        assert conn.info.transaction_status == TransactionStatus.INTRANS
        with pytest.raises(psycopg.errors.ActiveSqlTransaction) as info:
            conn.execute(statement)
        assert info.value.sqlstate == "25001"
        assert "cannot run inside a transaction block" in str(info.value)
        assert conn.info.transaction_status == TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.rollback()
    with catalog_gateway.connect() as check:
        assert show_connections(check) == before
        assert check.execute("SELECT name FROM system.secrets ORDER BY name").fetchall() == secrets_before
        assert check.execute("SELECT name FROM system.users ORDER BY name").fetchall() == users_before


# --- concurrency ---------------------------------------------------------------------------------
SESSIONS = 20


async def test_twenty_sessions_create_distinct_connections_concurrently(
    catalog_gateway: CatalogGateway,
) -> None:
    sessions = await asyncio.gather(*(catalog_gateway.connect_asyncpg() for _ in range(SESSIONS)))
    try:

        async def create_five(index: int, session: asyncpg.Connection) -> list[str]:
            statuses = []
            for number in range(5):
                name = f"par_{index:02d}_{number}"
                statuses.append(await session.execute(f"CREATE CONNECTION {name} {kafka_options(name)}"))
            return statuses

        results = await asyncio.gather(*(create_five(i, s) for i, s in enumerate(sessions)))
        assert results == [["CREATE CONNECTION"] * 5] * SESSIONS
        rows = await sessions[0].fetch("SHOW CONNECTIONS")
        created = sorted((r["name"], r["topic"]) for r in rows if r["name"].startswith("par_"))
        expected = sorted((f"par_{i:02d}_{n}", f"par_{i:02d}_{n}") for i in range(SESSIONS) for n in range(5))
        assert created == expected
        count = await sessions[1].fetchval("SELECT count(*) FROM system.connections WHERE name LIKE 'par_%'")
        assert count == SESSIONS * 5
    finally:
        await asyncio.gather(*(session.close() for session in sessions))


async def test_twenty_sessions_racing_for_one_name_one_wins(catalog_gateway: CatalogGateway) -> None:
    sessions = await asyncio.gather(*(catalog_gateway.connect_asyncpg() for _ in range(SESSIONS)))
    try:

        async def attempt(index: int, session: asyncpg.Connection) -> str:
            try:
                return str(
                    await session.execute(f"CREATE CONNECTION contested {kafka_options(f'winner_{index}')}")
                )
            except asyncpg.exceptions.PostgresError as exc:
                return str(exc.sqlstate)

        outcomes = await asyncio.gather(*(attempt(i, s) for i, s in enumerate(sessions)))
        assert sorted(outcomes) == ["42710"] * (SESSIONS - 1) + ["CREATE CONNECTION"]
        rows = [r for r in await sessions[0].fetch("SHOW CONNECTIONS") if r["name"] == "contested"]
        assert len(rows) == 1
        winner = outcomes.index("CREATE CONNECTION")
        assert rows[0]["topic"] == f"winner_{winner}"
        shown = await sessions[1].fetchrow("SHOW CREATE CONNECTION contested")
        assert shown is not None
        assert f"topic = 'winner_{winner}'" in shown["create_sql"]
    finally:
        await asyncio.gather(*(session.close() for session in sessions))


def test_a_source_without_columns_cannot_become_avro_by_alter(catalog_gateway: CatalogGateway) -> None:
    """CREATE takes an Avro/Protobuf source's columns from the registry; ALTER has none to give."""
    with catalog_gateway.connect() as conn:
        conn.execute(f"CREATE CONNECTION bare_source {kafka_options('bare', kind='source')}")
        before = show_create(conn, "bare_source")
        with pytest.raises(psycopg.errors.FeatureNotSupported) as raised:
            conn.execute(
                "ALTER CONNECTION bare_source SET (format = 'avro', "
                "'schema_registry.endpoint' = 'http://127.0.0.1:8081')"
            )
        assert raised.value.sqlstate == "0A000"
        assert raised.value.diag.message_primary == (
            'source "bare_source" declares no columns, so it cannot become format avro by ALTER'
        )
        assert show_create(conn, "bare_source") == before
