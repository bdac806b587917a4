"""Secrets and users through real clients, on both catalog stores, and a restart that keeps everything.

A secret's value is encrypted at rest and must never come back out: not from SHOW, the system
views, an error message or the gateway's log, and not as plaintext in the catalog's storage.
Users created with CREATE USER log in with SCRAM-SHA-256 (psycopg and asyncpg) and stop being able
to once their password changes or they are dropped. A gateway restarted on the same data
directory and catalog finds every connection, secret and user again, and still decrypts secrets.
"""

from __future__ import annotations

import secrets
import stat
import time

import asyncpg
import asyncpg.exceptions
import psycopg
import psycopg.errors
import pytest

from tests.fixtures.kafka import KafkaBroker, create_topic
from tests.integration.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    CatalogGateway,
    CatalogStoreTarget,
    capture_notices,
    gateway_on,
)

pytestmark = pytest.mark.integration

Conn = psycopg.Connection[tuple[object, ...]]
SERVERS = "bootstrap_servers = '127.0.0.1:9092'"


def error_text(error: psycopg.Error) -> str:
    """Every text field the gateway put in its ErrorResponse. (Not ``str(error)``: libpq adds a
    "LINE 1: ..." excerpt of the statement the client itself sent, which holds the literal.)"""
    diag = error.diag
    parts = (
        diag.message_primary,
        diag.message_detail,
        diag.message_hint,
        diag.context,
        diag.internal_query,
        diag.schema_name,
        diag.table_name,
        diag.column_name,
        diag.constraint_name,
    )
    return "\n".join(part for part in parts if part)


def expect_error(conn: Conn, statement: str, sqlstate: str, fragment: str) -> str:
    with pytest.raises(psycopg.Error) as info:
        conn.execute(statement)
    text = error_text(info.value)
    assert info.value.sqlstate == sqlstate, f"{statement!r}: {info.value.sqlstate} {text}"
    assert fragment in text, f"{fragment!r} not in {text!r}"
    return text


def sasl_sink(
    name: str, user_ref: str, password_ref: str, *, topic: str = "t", servers: str = SERVERS
) -> str:
    """A json sink that logs in to Kafka with SASL/SCRAM: its credentials are the options that hold
    secret references (the Schema Registry ones need avro or protobuf, refused until issue 6)."""
    return (
        f"CREATE CONNECTION {name} TO kafka ({servers}, topic = '{topic}', type = 'sink', format = 'json',"
        " 'security.protocol' = 'SASL_PLAINTEXT', 'sasl.mechanism' = 'SCRAM-SHA-256',"
        f" 'sasl.username' = '{user_ref}', 'sasl.password' = '{password_ref}')"
    )


def show_create_sql(conn: Conn, name: str) -> str:
    row = conn.execute(f"SHOW CREATE CONNECTION {name}").fetchone()
    assert row is not None
    return str(row[1])


def all_rows_text(conn: Conn, query: str) -> str:
    cursor = conn.execute(query)
    return repr(cursor.fetchall())


# --- secrets ---------------------------------------------------------------------------------------
def test_secret_lifecycle_command_tags_and_notices(catalog_gateway: CatalogGateway) -> None:
    with catalog_gateway.connect() as conn:
        notices = capture_notices(conn)
        assert conn.execute("CREATE SECRET life_secret AS 'one'").statusmessage == "CREATE SECRET"
        assert conn.execute("ALTER SECRET life_secret AS 'two'").statusmessage == "ALTER SECRET"
        assert (
            conn.execute("CREATE SECRET IF NOT EXISTS life_secret AS 'three'").statusmessage
            == "CREATE SECRET"
        )
        assert notices == ['secret "life_secret" already exists, skipping']
        expect_error(
            conn, "CREATE SECRET life_secret AS 'four'", "42710", 'secret "life_secret" already exists'
        )
        names = [row[0] for row in conn.execute("SHOW SECRETS").fetchall()]
        assert "life_secret" in names
        assert conn.execute("DROP SECRET life_secret").statusmessage == "DROP SECRET"
        assert conn.execute("DROP SECRET IF EXISTS life_secret").statusmessage == "DROP SECRET"
        assert notices[-1] == 'secret "life_secret" does not exist, skipping'
        expect_error(conn, "DROP SECRET life_secret", "42704", 'secret "life_secret" does not exist')
        expect_error(
            conn, "ALTER SECRET life_secret AS 'five'", "42704", 'secret "life_secret" does not exist'
        )
        assert conn.execute("SELECT count(*) FROM system.secrets WHERE name = 'life_secret'").fetchone() == (
            0,
        )


def test_reference_to_unknown_secret_is_42704(catalog_gateway: CatalogGateway) -> None:
    with catalog_gateway.connect() as conn:
        conn.execute("CREATE SECRET IF NOT EXISTS known_key AS 'k'")
        text = expect_error(
            conn,
            sasl_sink("uses_missing", "${secret:known_key}", "${secret:never_made}"),
            "42704",
            "never_made",
        )
        assert 'secret "never_made" does not exist' in text
        assert "CREATE SECRET never_made" in text
        assert conn.execute(
            "SELECT count(*) FROM system.connections WHERE name = 'uses_missing'"
        ).fetchone() == (0,)


def test_drop_of_a_secret_in_use_is_2bp01(catalog_gateway: CatalogGateway) -> None:
    with catalog_gateway.connect() as conn:
        conn.execute("CREATE SECRET used_key AS 'user-name'")
        conn.execute("CREATE SECRET used_secret AS 'pass-word'")
        conn.execute(sasl_sink("holds_secrets", "${secret:used_key}", "${secret:used_secret}"))
        text = expect_error(conn, "DROP SECRET used_secret", "2BP01", "used_secret")
        assert "holds_secrets" in text
        assert conn.execute("SELECT count(*) FROM system.secrets WHERE name = 'used_secret'").fetchone() == (
            1,
        )
        conn.execute("DROP CONNECTION holds_secrets")
        assert conn.execute("DROP SECRET used_secret").statusmessage == "DROP SECRET"
        assert conn.execute("DROP SECRET used_key").statusmessage == "DROP SECRET"


def test_a_secret_value_appears_nowhere(catalog_gateway: CatalogGateway) -> None:
    value = f"TOPSECRET-{secrets.token_hex(8)}"
    other_value = f"ALSOSECRET-{secrets.token_hex(8)}"
    password = f"PASSWORD-{secrets.token_hex(8)}"
    with catalog_gateway.connect() as conn:
        conn.execute(f"CREATE SECRET hidden_key AS '{value}'")
        conn.execute(f"CREATE SECRET hidden_secret AS '{value}'")
        conn.execute(sasl_sink("hides_secret", "${secret:hidden_key}", "${secret:hidden_secret}"))
        conn.execute(f"ALTER SECRET hidden_secret AS '{other_value}'")
        conn.execute(f"CREATE USER hidden_user WITH PASSWORD '{password}'")
        shown = [
            all_rows_text(conn, "SHOW CONNECTIONS"),
            all_rows_text(conn, "SHOW CREATE CONNECTION hides_secret"),
            all_rows_text(conn, "SELECT * FROM system.connections"),
            all_rows_text(conn, "SELECT * FROM system.secrets"),
            all_rows_text(conn, "SHOW SECRETS"),
            all_rows_text(conn, "SELECT * FROM system.users"),
            all_rows_text(conn, "SHOW USERS"),
            # the PostgreSQL catalogs SQL tools browse (issue #8) and pg_stat_activity (issue #10)
            all_rows_text(conn, "SELECT * FROM pg_catalog.pg_views"),
            all_rows_text(conn, "SELECT * FROM pg_catalog.pg_roles"),
            all_rows_text(conn, "SELECT * FROM pg_catalog.pg_settings"),
            all_rows_text(conn, "SELECT * FROM pg_catalog.pg_stat_activity"),
            all_rows_text(conn, "SELECT * FROM information_schema.columns"),
            all_rows_text(conn, "SELECT * FROM information_schema.views"),
        ]
        secret_columns = conn.execute("SELECT * FROM system.secrets").description
        assert secret_columns is not None
        assert {column.name for column in secret_columns} <= {"name", "created_at", "updated_at"}
        assert "${secret:hidden_secret}" in shown[1]
        failing = [
            (f"CREATE SECRET hidden_key AS '{value}'", "42710"),
            (f"ALTER SECRET no_such_secret AS '{value}'", "42704"),
            (f"CREATE SECRET broken AS '{value}' trailing garbage", "42601"),
            (f"CREATE SECRET broken AS '{value}', '{value}'", "42601"),
            (f"CREATE SECRET broken '{value}'", "42601"),
            (f"ALTER SECRET hidden_key '{value}'", "42601"),
            (f"CREATE USER broken_user WITH PASSWORD '{password}' BOGUS", "42601"),
            (f"CREATE USER broken_user WITH PASSWORD '{password}' '{password}'", "42601"),
            (f"CREATE USER broken_user WITH '{password}'", "42601"),
            (f"CREATE USER hidden_user WITH PASSWORD '{password}'", "42710"),
            (f"ALTER USER no_such_user WITH PASSWORD '{password}'", "42704"),
        ]
        for statement, sqlstate in failing:
            with pytest.raises(psycopg.Error) as info:
                conn.execute(statement)
            assert info.value.sqlstate == sqlstate, f"{statement}: {info.value}"
            shown.append(error_text(info.value))
    shown.append(catalog_gateway.log_path.read_text(encoding="utf-8", errors="replace"))
    leaks = [
        text
        for text in shown
        for hidden in (value, other_value, password)
        if hidden in text or hidden.upper() in text.upper()
    ]
    assert not leaks, "a secret value or password was shown back in:\n" + "\n---\n".join(leaks)


def test_secrets_are_encrypted_at_rest_with_a_private_key_file(catalog_gateway: CatalogGateway) -> None:
    value = f"AT-REST-{secrets.token_hex(8)}"
    password = f"USER-PASSWORD-{secrets.token_hex(8)}"
    with catalog_gateway.connect() as conn:
        conn.execute(f"CREATE SECRET at_rest AS '{value}'")
        conn.execute(f"CREATE USER at_rest_user WITH PASSWORD '{password}'")
    key_file = catalog_gateway.data_dir / "secret.key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    if catalog_gateway.store.kind == "sqlite":
        files = sorted(catalog_gateway.data_dir.glob("catalog.db*"))
        assert catalog_gateway.data_dir / "catalog.db" in files
        stored = b"".join(path.read_bytes() for path in files)
        assert b"at_rest" in stored  # the names are there, so these are the right files
    else:
        with catalog_gateway.store.connect_catalog_database() as direct:
            rows = direct.execute("SELECT name, ciphertext FROM secrets").fetchall()
            assert "at_rest" in [row[0] for row in rows]
            tables = [
                row[0]
                for row in direct.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                ).fetchall()
            ]
            assert {"secrets", "users", "connections"} <= set(tables)
            dumps = [repr(direct.execute(f'SELECT t::text FROM "{table}" t').fetchall()) for table in tables]
            stored = "\n".join([repr(rows), *dumps]).encode()
    assert value.encode() not in stored
    assert password.encode() not in stored
    assert key_file.read_bytes().strip() not in stored


def test_alter_reset_of_the_sasl_options_releases_the_secrets(catalog_gateway: CatalogGateway) -> None:
    with catalog_gateway.connect() as conn:
        conn.execute("CREATE SECRET released_user AS 'released-user-value'")
        conn.execute("CREATE SECRET released_password AS 'released-password-value'")
        conn.execute(sasl_sink("releases", "${secret:released_user}", "${secret:released_password}"))
        text = expect_error(
            conn,
            "ALTER CONNECTION releases SET ('security.protocol' = 'PLAINTEXT')",
            "22023",
            "option \"sasl.mechanism\" applies only with security.protocol 'SASL_PLAINTEXT' or 'SASL_SSL'"
            " (security.protocol is 'PLAINTEXT')",
        )
        assert "released-password-value" not in text
        expect_error(conn, "DROP SECRET released_password", "2BP01", 'cannot drop secret "released_password"')
        status = conn.execute(
            "ALTER CONNECTION releases RESET ('security.protocol', 'sasl.mechanism', 'sasl.username',"
            " 'sasl.password')"
        ).statusmessage
        assert status == "ALTER CONNECTION"
        create_sql = show_create_sql(conn, "releases")
        assert "sasl" not in create_sql
        assert "security.protocol" not in create_sql
        assert conn.execute("DROP SECRET released_password").statusmessage == "DROP SECRET"
        assert conn.execute("DROP SECRET released_user").statusmessage == "DROP SECRET"
        conn.execute("DROP CONNECTION releases")


# --- users -----------------------------------------------------------------------------------------
def login_psycopg(gateway: CatalogGateway, user: str, password: str) -> str:
    with gateway.connect(user=user, password=password) as conn:
        row = conn.execute("SELECT current_user").fetchone()
        assert row is not None
        return str(row[0])


def assert_psycopg_refused(gateway: CatalogGateway, user: str, password: str) -> None:
    with pytest.raises(psycopg.OperationalError) as info:
        login_psycopg(gateway, user, password)
    assert f'password authentication failed for user "{user}"' in str(info.value)


async def login_asyncpg(gateway: CatalogGateway, user: str, password: str) -> str:
    conn = await gateway.connect_asyncpg(user=user, password=password)
    try:
        return str(await conn.fetchval("SELECT current_user"))
    finally:
        await conn.close()


async def assert_asyncpg_refused(gateway: CatalogGateway, user: str, password: str) -> None:
    with pytest.raises(asyncpg.exceptions.InvalidPasswordError) as info:
        await login_asyncpg(gateway, user, password)
    assert info.value.sqlstate == "28P01"


def admin(gateway: CatalogGateway) -> Conn:
    return gateway.connect(user=ADMIN_USER, password=ADMIN_PASSWORD)


async def test_created_user_logs_in_until_password_change_and_drop(
    scram_catalog_gateway: CatalogGateway,
) -> None:
    gateway = scram_catalog_gateway
    with admin(gateway) as conn:
        assert conn.execute("CREATE USER alice WITH PASSWORD 'pw1'").statusmessage == "CREATE ROLE"
    assert login_psycopg(gateway, "alice", "pw1") == "alice"
    assert await login_asyncpg(gateway, "alice", "pw1") == "alice"
    assert_psycopg_refused(gateway, "alice", "wrong")
    await assert_asyncpg_refused(gateway, "alice", "wrong")

    with admin(gateway) as conn:
        assert conn.execute("ALTER USER alice WITH PASSWORD 'pw2'").statusmessage == "ALTER ROLE"
    assert_psycopg_refused(gateway, "alice", "pw1")
    await assert_asyncpg_refused(gateway, "alice", "pw1")
    assert login_psycopg(gateway, "alice", "pw2") == "alice"
    assert await login_asyncpg(gateway, "alice", "pw2") == "alice"

    with admin(gateway) as conn:
        assert conn.execute("DROP USER alice").statusmessage == "DROP ROLE"
    assert_psycopg_refused(gateway, "alice", "pw2")
    await assert_asyncpg_refused(gateway, "alice", "pw2")


def test_user_ddl_errors_notices_and_roles(scram_catalog_gateway: CatalogGateway) -> None:
    with admin(scram_catalog_gateway) as conn:
        notices = capture_notices(conn)
        assert conn.execute("CREATE ROLE bob WITH PASSWORD 'bob-pw' LOGIN").statusmessage == "CREATE ROLE"
        expect_error(conn, "CREATE USER bob WITH PASSWORD 'again'", "42710", 'role "bob" already exists')
        assert conn.execute("CREATE USER IF NOT EXISTS bob WITH PASSWORD 'x'").statusmessage == "CREATE ROLE"
        assert notices == ['role "bob" already exists, skipping']
        expect_error(conn, "ALTER USER nobody WITH PASSWORD 'x'", "42704", 'role "nobody" does not exist')
        expect_error(conn, "DROP USER nobody", "42704", 'role "nobody" does not exist')
        assert conn.execute("DROP USER IF EXISTS nobody").statusmessage == "DROP ROLE"
        assert notices[-1] == 'role "nobody" does not exist, skipping'
        expect_error(conn, "CREATE USER carl", "22023", "needs a password")
        assert conn.execute("SELECT count(*) FROM system.users WHERE name = 'carl'").fetchone() == (0,)
    assert login_psycopg(scram_catalog_gateway, "bob", "bob-pw") == "bob"
    with admin(scram_catalog_gateway) as conn:
        assert conn.execute("DROP ROLE bob").statusmessage == "DROP ROLE"


def test_system_users_lists_names_never_verifiers(scram_catalog_gateway: CatalogGateway) -> None:
    with admin(scram_catalog_gateway) as conn:
        conn.execute("CREATE USER dora WITH PASSWORD 'dora-password-1'")
        conn.execute("CREATE USER emil WITH PASSWORD 'emil-password-2' SUPERUSER")
        cursor = conn.execute("SELECT * FROM system.users ORDER BY name")
        assert cursor.description is not None
        columns = [column.name for column in cursor.description]
        assert "name" in columns
        rows = cursor.fetchall()
        names = [row[columns.index("name")] for row in rows]
        assert {"dora", "emil"} <= set(names)
        text = repr(rows) + repr(conn.execute("SHOW USERS").fetchall())
        assert "SCRAM-SHA-256" not in text
        assert "dora-password-1" not in text
        assert "emil-password-2" not in text
        if "superuser" in columns:
            by_name = {row[columns.index("name")]: row[columns.index("superuser")] for row in rows}
            assert (by_name["dora"], by_name["emil"]) == (False, True)
        conn.execute("DROP USER dora")
        conn.execute("DROP USER emil")


# --- restart ---------------------------------------------------------------------------------------
def catalog_snapshot(conn: Conn) -> dict[str, object]:
    names = [str(row[0]) for row in conn.execute("SHOW CONNECTIONS").fetchall()]
    return {
        "connections": conn.execute("SHOW CONNECTIONS").fetchall(),
        "create_sql": {name: conn.execute(f"SHOW CREATE CONNECTION {name}").fetchall() for name in names},
        "system.connections": conn.execute(
            "SELECT name, type, format, topic, bootstrap_servers, options, columns, created_at"
            " FROM system.connections ORDER BY name"
        ).fetchall(),
        "secrets": conn.execute("SELECT name, created_at FROM system.secrets ORDER BY name").fetchall(),
        # Bootstrap users come from the command line, which differs between the two runs.
        "users": conn.execute(
            f"SELECT name FROM system.users WHERE name NOT IN ('laminar', '{ADMIN_USER}') ORDER BY name"
        ).fetchall(),
    }


async def test_restart_keeps_every_object_and_secrets_still_decrypt(
    catalog_store: CatalogStoreTarget, kafka_broker: KafkaBroker, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data_dir = tmp_path_factory.mktemp(f"restart-{catalog_store.kind}")
    topic = f"restart-{catalog_store.kind}-{secrets.token_hex(4)}"
    await create_topic(kafka_broker.bootstrap_servers, topic, 3)
    servers = f"bootstrap_servers = '{kafka_broker.bootstrap_servers}'"
    user_value, password_value = f"USER-{secrets.token_hex(8)}", f"PASSWORD-{secrets.token_hex(8)}"
    hidden = (user_value, password_value, "kept-password")
    with gateway_on(data_dir, catalog_store) as first, first.connect() as conn:
        conn.execute(f"CREATE SECRET kafka_user AS '{user_value}'")
        conn.execute(f"CREATE SECRET kafka_password AS '{password_value}'")
        # The secrets live in a SASL connection; test_connection must reach Tansu (which runs without
        # SASL), so a plain json connection to the same topic is the one probed for partitions.
        conn.execute(
            sasl_sink(
                "kept_sasl", "${secret:kafka_user}", "${secret:kafka_password}", topic=topic, servers=servers
            )
        )
        conn.execute(
            f"CREATE CONNECTION kept_json TO kafka ({servers}, topic = '{topic}',"
            " type = 'sink', format = 'json')"
        )
        conn.execute(
            "CREATE CONNECTION kept_source (id BIGINT, ts TIMESTAMPTZ) TO kafka ("
            f" {servers}, topic = '{topic}', type = 'source', format = 'json',"
            " event_time_column = 'ts', watermark_delay = '5 seconds')"
        )
        conn.execute("CREATE USER kept_user WITH PASSWORD 'kept-password'")
        before = catalog_snapshot(conn)
        kept_sql = show_create_sql(conn, "kept_sasl")
        assert "'sasl.username' = '${secret:kafka_user}'" in kept_sql
        assert "'sasl.password' = '${secret:kafka_password}'" in kept_sql
        row = conn.execute("SELECT test_connection('kept_json')").fetchone()
        assert row is not None
        assert str(row[0]).startswith("OK:"), row
    first_log = (data_dir / "gateway.log").read_text(encoding="utf-8", errors="replace")
    for value in hidden:
        assert value not in first_log

    with gateway_on(
        data_dir, catalog_store, auth="scram-sha-256", user=ADMIN_USER, password=ADMIN_PASSWORD
    ) as second:
        with second.connect(user=ADMIN_USER, password=ADMIN_PASSWORD) as conn:
            after = catalog_snapshot(conn)
            assert after == before
            started = time.monotonic()
            row = conn.execute("SELECT test_connection('kept_json')").fetchone()
            assert row is not None
            assert str(row[0]).startswith("OK:"), row
            assert "3 partitions" in str(row[0])
            assert time.monotonic() - started < 10
            # test_connection decrypts every secret the connection references before it talks to the
            # brokers: a secret the restarted gateway could not decrypt is an error here, not a line.
            # Whether the probe then logs in with SASL (Tansu would refuse) is the probe's business.
            sasl_row = conn.execute("SELECT test_connection('kept_sasl')").fetchone()
            assert sasl_row is not None
            assert str(sasl_row[0]).startswith(("OK: connection kept_sasl", "FAILED: connection kept_sasl"))
            assert not [value for value in hidden if value in str(sasl_row[0])]
            source = conn.execute("SELECT test_connection('kept_source')").fetchone()
            assert source is not None
            assert str(source[0]).startswith("OK:")
        assert login_psycopg(second, "kept_user", "kept-password") == "kept_user"
        assert await login_asyncpg(second, "kept_user", "kept-password") == "kept_user"
    second_log = (data_dir / "gateway.log").read_text(encoding="utf-8", errors="replace")
    for value in hidden:
        assert value not in second_log
