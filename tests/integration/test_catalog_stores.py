"""One test suite for both catalog stores: SQLite (a file in a temporary directory) and PostgreSQL.

The ``store_factory`` fixture is parametrized over the two stores. The PostgreSQL variant creates a
fresh database with a random name on the local server (127.0.0.1:5432, user postgres, trust) and
drops it afterwards; it fails loudly when that server is unreachable. Every test asserts exact
records, orderings, SQLSTATEs and messages, and that a refused change leaves the catalog (and
its generation) untouched. Concurrency tests spread the calls over two store objects on the same
file or database, as two gateway processes would.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from catalog.migrations import LATEST_VERSION, MIGRATIONS
from catalog.model import ColumnDef, ConnectionRecord, PipelineRecord, SecretRecord, UserRecord
from catalog.postgres_store import PostgresStore
from catalog.sqlite_store import SqliteStore
from catalog.store import CatalogStore
from gateway.errors import (
    ConnectionFailure,
    DataCorrupted,
    DependentObjectsStillExist,
    DiskFull,
    DuplicateObject,
    FeatureNotSupported,
    IoError,
    LaminarError,
    ReadOnlySqlTransaction,
    UndefinedObject,
)

pytestmark = pytest.mark.integration

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
T0 = dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
T1 = dt.datetime(2024, 5, 2, 8, 30, 15, 654321, tzinfo=dt.UTC)
VERIFIER = (
    "SCRAM-SHA-256$4096:SLrjDryLhwstvP9jHue7Jg==$L+SVJsDYZHgEbx+Wnk6BR0wy/oSIfW9DRb+PzbqQ2eI="
    ":70xm00hD166lUGuIjApCXmfOaovLpFF+5/a5xRBlupk="
)
# Python's str order is code-point order, which both stores must use (SQLite BINARY, PostgreSQL "C").
AWKWARD_NAMES = ["b", "B", "a_1", "_z", "a", "Z9", "é", "a b", "a-b", "ä"]
APPLIED_MIGRATIONS = "SELECT version, description FROM catalog_migrations ORDER BY version"


# --- records -------------------------------------------------------------------------------------
def connection(
    name: str, *, options: tuple[tuple[str, str], ...] = (("topic", "orders"),), created: dt.datetime = T0
) -> ConnectionRecord:
    rendered = ", ".join(f"{key} = '{value}'" for key, value in options)
    return ConnectionRecord(
        name=name,
        connector="kafka",
        columns=(),
        options=(("type", "sink"), ("bootstrap_servers", "localhost:9092"), *options),
        sql=f"CREATE CONNECTION {name} TO kafka ({rendered})",
        created_at=created,
        updated_at=created,
    )


def with_secret(name: str, *secret_names: str) -> ConnectionRecord:
    return connection(name, options=tuple((f"opt_{s}", f"${{secret:{s}}}") for s in secret_names))


def secret(name: str, ciphertext: bytes = b"gAAAA-ciphertext\x00\xff") -> SecretRecord:
    return SecretRecord(name, ciphertext, T0, T0)


def user(name: str, *, superuser: bool = False) -> UserRecord:
    return UserRecord(name, VERIFIER, superuser, T0, T0)


def pipeline(name: str, *connections: str, state: str = "running") -> PipelineRecord:
    return PipelineRecord(
        name=name,
        sql=f"CREATE PIPELINE {name} AS INSERT INTO {connections[-1]} SELECT * FROM {connections[0]}",
        connections=connections,
        state=state,
        created_at=T0,
        updated_at=T0,
        options=(("parallelism", "2"), ("checkpoint_interval", "5s")),
    )


# The error class a refusal must raise, with the SQLSTATE a client must see.
Expected = tuple[type[LaminarError], str]
MISSING: Expected = (UndefinedObject, "42704")
DUPLICATE: Expected = (DuplicateObject, "42710")
IN_USE: Expected = (DependentObjectsStillExist, "2BP01")


def assert_error(error: LaminarError, sqlstate: str, message: str) -> None:
    assert (error.sqlstate, error.message) == (sqlstate, message)


async def refused(change: Awaitable[object], expected: Expected, message: str) -> LaminarError:
    """Await ``change``, which must fail with the expected class, its SQLSTATE and exactly ``message``."""
    kind, sqlstate = expected
    with pytest.raises(kind) as caught:
        await change
    assert_error(caught.value, sqlstate, message)
    return caught.value


# --- fixtures ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoreFactory:
    """Where a catalog lives, and how to open another store object on it."""

    kind: str  # "sqlite" | "postgres"
    location: str  # file path or DSN
    make: Callable[[], CatalogStore]


async def postgres_admin() -> Any:
    try:
        return await asyncpg.connect(f"{POSTGRES_SERVER}/postgres", timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL at 127.0.0.1:5432 is unreachable ({exc!r}); the catalog store tests need it"
            " (start it with: pg_ctlcluster 15 main start)"
        )


@contextlib.asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[tuple[Any, str]]:
    """A new database with a random name, dropped afterwards; yields an admin connection and its name."""
    database = f"laminar_catalog_test_{secrets.token_hex(6)}"
    admin = await postgres_admin()
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
        yield admin, database
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    if request.param == "sqlite":
        path = tmp_path / "catalog.db"
        yield StoreFactory("sqlite", str(path), lambda: SqliteStore(path))
        return
    async with fresh_postgres_database() as (_, database):
        dsn = f"{POSTGRES_SERVER}/{database}"
        yield StoreFactory("postgres", dsn, lambda: PostgresStore(dsn))


@contextlib.asynccontextmanager
async def opened(store: CatalogStore) -> AsyncIterator[CatalogStore]:
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def store(store_factory: StoreFactory) -> AsyncIterator[CatalogStore]:
    async with opened(store_factory.make()) as opened_store:
        yield opened_store


async def query_directly(factory: StoreFactory, statement: str) -> list[tuple[Any, ...]]:
    """Run one statement on the catalog's database without a store (to read or tamper with it)."""
    if factory.kind == "sqlite":
        with contextlib.closing(sqlite3.connect(factory.location)) as conn, conn:
            return [tuple(row) for row in conn.execute(statement)]
    conn = await asyncpg.connect(factory.location)
    try:
        return [tuple(row) for row in await conn.fetch(statement)]
    finally:
        await conn.close()


async def snapshot(store: CatalogStore) -> tuple[Any, ...]:
    return (
        await store.list_connections(),
        await store.list_secrets(),
        await store.list_users(),
        await store.list_pipelines(),
        await store.generation(),
    )


async def populate(store: CatalogStore) -> None:
    await store.create_secret(secret("kafka_pw"))
    await store.create_connection(with_secret("orders_sink", "kafka_pw"))
    await store.create_connection(connection("clicks"))
    await store.create_user(user("alice", superuser=True))
    await store.create_pipeline(pipeline("copy_clicks", "clicks", "orders_sink"))


# --- opening, migrations, generation -------------------------------------------------------------
async def test_fresh_catalog_is_empty_at_the_latest_schema(store: CatalogStore) -> None:
    assert await store.schema_version() == LATEST_VERSION == 4
    assert await snapshot(store) == ([], [], [], [], 0)
    gets = [store.get_connection("x"), store.get_secret("x"), store.get_user("x"), store.get_pipeline("x")]
    assert [await get for get in gets] == [None, None, None, None]


async def test_migrations_are_recorded_once_and_reopening_is_idempotent(
    store_factory: StoreFactory, store: CatalogStore
) -> None:
    expected = [(m.version, m.description) for m in MIGRATIONS]
    assert await query_directly(store_factory, APPLIED_MIGRATIONS) == expected
    await store.open()  # a second open of the same object does nothing
    async with opened(store_factory.make()) as second, opened(store_factory.make()) as third:
        assert await second.schema_version() == await third.schema_version() == LATEST_VERSION
    assert await query_directly(store_factory, APPLIED_MIGRATIONS) == expected
    assert await store.generation() == 0


async def test_a_catalog_from_a_newer_laminar_is_refused(store_factory: StoreFactory) -> None:
    async with opened(store_factory.make()):
        pass  # creates the schema
    await query_directly(
        store_factory,
        "INSERT INTO catalog_migrations (version, description, applied_at)"
        " VALUES (99, 'future', '2030-01-01 00:00:00+00')",
    )

    message = "the catalog schema version 99 is newer than this Laminar supports (4)"
    error = await refused(store_factory.make().open(), (FeatureNotSupported, "0A000"), message)
    assert error.hint == "Upgrade Laminar to the version that wrote this catalog."


async def test_reopening_keeps_everything(store_factory: StoreFactory) -> None:
    async with opened(store_factory.make()) as first:
        await populate(first)
        before = await snapshot(first)
    async with opened(store_factory.make()) as second:
        assert await snapshot(second) == before
        assert await second.schema_version() == LATEST_VERSION
        assert await second.get_pipeline("copy_clicks") == pipeline("copy_clicks", "clicks", "orders_sink")


async def test_generation_grows_by_one_per_change_and_not_on_reads_or_refusals(store: CatalogStore) -> None:
    changes: list[Callable[[], Awaitable[object]]] = [
        lambda: store.create_secret(secret("s")),
        lambda: store.replace_secret(secret("s", b"new")),
        lambda: store.create_connection(with_secret("c", "s")),
        lambda: store.replace_connection(connection("c")),
        lambda: store.create_user(user("u")),
        lambda: store.replace_user(user("u", superuser=True)),
        lambda: store.create_pipeline(pipeline("p", "c")),
        lambda: store.replace_pipeline(pipeline("p", "c", state="paused")),
        lambda: store.drop_pipeline("p"),
        lambda: store.drop_user("u"),
        lambda: store.drop_connection("c", cascade=False),
        lambda: store.drop_secret("s"),
    ]
    for expected, change in enumerate(changes, start=1):
        await change()
        assert await store.generation() == expected
        await snapshot(store)  # reads
        assert await store.generation() == expected
    await refused(store.drop_secret("s"), MISSING, 'secret "s" does not exist')
    await refused(store.create_pipeline(pipeline("p", "gone")), MISSING, 'connection "gone" does not exist')
    assert await store.generation() == len(changes)


# --- connections ---------------------------------------------------------------------------------
async def test_connection_round_trips_exactly(store: CatalogStore) -> None:
    await store.create_secret(secret("kafka_pw"))
    record = ConnectionRecord(
        name="Orders Sink",
        connector="kafka",
        columns=(ColumnDef("id", "bigint"), ColumnDef("Événement", "varchar(20)"), ColumnDef("a", "text[]")),
        options=(
            ("type", "source"),
            ("topic", "orders"),
            ("bootstrap_servers", "b1:9092,b2:9092"),
            ("json.pretty", "true"),
            ("sasl_password", "${secret:kafka_pw}"),
            ("description", 'it\'s "quoted", ünïcode ✓\nand a newline'),
            ("acks", "all"),
        ),
        sql="CREATE CONNECTION \"Orders Sink\" (id bigint) TO kafka (\n  type = 'source' -- c\n)",
        created_at=T0,
        updated_at=T1,
    )

    await store.create_connection(record)

    assert await store.get_connection("Orders Sink") == record
    assert await store.list_connections() == [record]
    assert await store.get_connection("orders sink") is None  # names are stored exactly


async def test_timestamps_come_back_as_the_same_instant_in_utc(store: CatalogStore) -> None:
    plus_two = dt.datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    await store.create_connection(connection("c", created=plus_two))
    stored = await store.get_connection("c")
    assert stored is not None
    assert stored.created_at == dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
    assert stored.created_at.utcoffset() == dt.timedelta(0)
    with pytest.raises(ValueError, match="timezone-aware"):  # naive: a bug in the caller
        await store.create_user(dataclasses.replace(user("u"), created_at=dt.datetime(2024, 1, 1)))
    assert await store.list_users() == []


async def test_lists_are_ordered_by_name_in_code_point_order(store: CatalogStore) -> None:
    for name in AWKWARD_NAMES:
        await store.create_connection(connection(name))
        await store.create_secret(secret(name))
        await store.create_user(user(name))
        await store.create_pipeline(pipeline(name, name))

    expected = sorted(AWKWARD_NAMES)
    assert expected == ["B", "Z9", "_z", "a", "a b", "a-b", "a_1", "b", "ä", "é"]
    assert [r.name for r in await store.list_connections()] == expected
    assert [r.name for r in await store.list_secrets()] == expected
    assert [r.name for r in await store.list_users()] == expected
    assert [r.name for r in await store.list_pipelines()] == expected


async def test_duplicate_or_unknown_secret_refuses_a_connection_and_changes_nothing(
    store: CatalogStore,
) -> None:
    await store.create_secret(secret("known"))
    await store.create_connection(connection("orders"))
    before = await snapshot(store)

    duplicate = connection("orders", options=(("topic", "other"),))
    await refused(store.create_connection(duplicate), DUPLICATE, 'connection "orders" already exists')
    unknown = with_secret("c", "known", "missing")
    await refused(store.create_connection(unknown), MISSING, 'secret "missing" does not exist')
    assert await snapshot(store) == before


async def test_replace_connection_updates_everything_but_created_at(store: CatalogStore) -> None:
    await store.create_secret(secret("old"))
    await store.create_secret(secret("new"))
    await store.create_connection(with_secret("c", "old"))
    replacement = dataclasses.replace(
        with_secret("c", "new"),
        columns=(ColumnDef("x", "int"),),
        sql="CREATE CONNECTION c (x int) TO kafka (...)",
        created_at=T1,
        updated_at=T1,
    )

    await store.replace_connection(replacement)

    assert await store.get_connection("c") == dataclasses.replace(replacement, created_at=T0)
    await store.drop_secret("old")  # no longer referenced
    await refused(
        store.drop_secret("new"), IN_USE, 'cannot drop secret "new" because other objects depend on it'
    )


async def test_replace_connection_errors(store: CatalogStore) -> None:
    await refused(store.replace_connection(connection("ghost")), MISSING, 'connection "ghost" does not exist')

    await store.create_connection(connection("c"))
    before = await snapshot(store)
    await refused(
        store.replace_connection(with_secret("c", "missing")), MISSING, 'secret "missing" does not exist'
    )
    assert await snapshot(store) == before


async def test_drop_connection(store: CatalogStore) -> None:
    await store.create_connection(connection("a"))
    await store.create_connection(connection("b"))

    assert await store.drop_connection("a", cascade=False) == ()

    assert await store.get_connection("a") is None
    assert [r.name for r in await store.list_connections()] == ["b"]
    await refused(store.drop_connection("a", cascade=True), MISSING, 'connection "a" does not exist')


async def test_connection_used_by_pipelines_is_refused_without_cascade(store: CatalogStore) -> None:
    for name in ("src", "sink", "other"):
        await store.create_connection(connection(name))
    await store.create_pipeline(pipeline("p2", "src", "sink"))
    await store.create_pipeline(pipeline("p1", "src", "other"))
    await store.create_pipeline(pipeline("p3", "other"))
    before = await snapshot(store)

    error = await refused(
        store.drop_connection("src", cascade=False),
        IN_USE,
        'cannot drop connection "src" because other objects depend on it',
    )
    assert (
        error.detail == 'pipeline "p1" depends on connection "src"\npipeline "p2" depends on connection "src"'
    )
    assert error.hint == "Use DROP CONNECTION ... CASCADE to drop the dependent pipelines too."
    assert await snapshot(store) == before


async def test_cascade_drops_the_pipelines_and_returns_their_names(store: CatalogStore) -> None:
    for name in ("src", "sink", "other"):
        await store.create_connection(connection(name))
    await store.create_pipeline(pipeline("p2", "src", "sink"))
    await store.create_pipeline(pipeline("p1", "src", "src", "other"))
    await store.create_pipeline(pipeline("p3", "other"))

    assert await store.drop_connection("src", cascade=True) == ("p1", "p2")

    assert [r.name for r in await store.list_pipelines()] == ["p3"]
    assert [r.name for r in await store.list_connections()] == ["other", "sink"]
    assert await store.generation() == 7
    assert await store.drop_connection("sink", cascade=False) == ()  # p2's links went with it


# --- secrets -------------------------------------------------------------------------------------
async def test_secret_lifecycle(store: CatalogStore) -> None:
    record = secret("kafka_pw", bytes(range(256)))
    await store.create_secret(record)
    assert await store.get_secret("kafka_pw") == record
    assert await store.list_secrets() == [record]

    await refused(
        store.create_secret(secret("kafka_pw", b"other")), DUPLICATE, 'secret "kafka_pw" already exists'
    )

    await store.replace_secret(SecretRecord("kafka_pw", b"rotated", T1, T1))
    assert await store.get_secret("kafka_pw") == SecretRecord("kafka_pw", b"rotated", T0, T1)

    await store.drop_secret("kafka_pw")
    assert await store.list_secrets() == []
    missing = 'secret "kafka_pw" does not exist'
    await refused(store.drop_secret("kafka_pw"), MISSING, missing)
    await refused(store.replace_secret(record), MISSING, missing)


async def test_secret_referenced_by_connections_cannot_be_dropped(store: CatalogStore) -> None:
    await store.create_secret(secret("s"))
    await store.create_secret(secret("t"))
    await store.create_connection(with_secret("c2", "s", "t", "s"))
    await store.create_connection(with_secret("c1", "s"))
    before = await snapshot(store)

    error = await refused(
        store.drop_secret("s"), IN_USE, 'cannot drop secret "s" because other objects depend on it'
    )
    assert error.detail == 'connection "c1" depends on secret "s"\nconnection "c2" depends on secret "s"'
    assert error.hint == "Alter or drop those connections first."
    assert await snapshot(store) == before

    await store.drop_connection("c1", cascade=False)
    await store.drop_connection("c2", cascade=False)
    await store.drop_secret("s")
    await store.drop_secret("t")
    assert await store.list_secrets() == []


# --- users ---------------------------------------------------------------------------------------
async def test_user_lifecycle(store: CatalogStore) -> None:
    await store.create_user(user("alice", superuser=True))
    await store.create_user(user("bob"))
    assert await store.list_users() == [user("alice", superuser=True), user("bob")]
    assert await store.get_user("bob") == user("bob")

    await refused(store.create_user(user("bob", superuser=True)), DUPLICATE, 'user "bob" already exists')

    changed = UserRecord("bob", VERIFIER.replace("4096", "8192"), True, T1, T1)
    await store.replace_user(changed)
    assert await store.get_user("bob") == dataclasses.replace(changed, created_at=T0)

    await store.drop_user("alice")
    assert [u.name for u in await store.list_users()] == ["bob"]
    missing = 'user "alice" does not exist'
    await refused(store.drop_user("alice"), MISSING, missing)
    await refused(store.replace_user(user("alice")), MISSING, missing)


# --- pipelines -----------------------------------------------------------------------------------
async def test_pipeline_lifecycle(store: CatalogStore) -> None:
    for name in ("src_a", "sink_b", "src_c"):
        await store.create_connection(connection(name))
    record = pipeline("p", "sink_b", "src_a")  # order kept as given
    await store.create_pipeline(record)
    assert await store.get_pipeline("p") == record
    assert await store.list_pipelines() == [record]

    await refused(store.create_pipeline(pipeline("p", "src_a")), DUPLICATE, 'pipeline "p" already exists')

    changed = dataclasses.replace(
        pipeline("p", "src_c", "sink_b", state="paused"), options=(("z", "1"), ("a", "2")), updated_at=T1
    )
    await store.replace_pipeline(changed)
    assert await store.get_pipeline("p") == changed
    await store.drop_connection("src_a", cascade=False)  # no longer used by p

    await store.drop_pipeline("p")
    assert await store.list_pipelines() == []
    missing = 'pipeline "p" does not exist'
    await refused(store.drop_pipeline("p"), MISSING, missing)
    await refused(store.replace_pipeline(changed), MISSING, missing)


async def test_pipeline_on_unknown_connection_is_42704_and_not_created(store: CatalogStore) -> None:
    await store.create_connection(connection("src"))
    await store.create_pipeline(pipeline("p", "src"))
    before = await snapshot(store)

    await refused(
        store.create_pipeline(pipeline("q", "src", "nope")), MISSING, 'connection "nope" does not exist'
    )
    await refused(store.replace_pipeline(pipeline("p", "nope")), MISSING, 'connection "nope" does not exist')

    assert await snapshot(store) == before


# --- concurrency ---------------------------------------------------------------------------------
async def create_on_two_nodes(
    factory: StoreFactory, store: CatalogStore, records: list[ConnectionRecord]
) -> list[BaseException | None]:
    """Create all ``records`` at once, alternating between ``store`` and a second store object."""
    async with opened(factory.make()) as other_node:
        nodes = [store, other_node]
        return await asyncio.gather(
            *(nodes[i % 2].create_connection(record) for i, record in enumerate(records)),
            return_exceptions=True,
        )


async def test_twenty_concurrent_creates_with_distinct_names_all_land(
    store_factory: StoreFactory, store: CatalogStore
) -> None:
    records = [connection(f"c{i:02d}") for i in range(20)]
    assert await create_on_two_nodes(store_factory, store, records) == [None] * 20
    assert await store.list_connections() == records
    assert await store.generation() == 20


async def test_twenty_concurrent_creates_of_one_name_give_one_success(
    store_factory: StoreFactory, store: CatalogStore
) -> None:
    candidates = [connection("same", options=(("topic", f"t{i}"),)) for i in range(20)]
    results = await create_on_two_nodes(store_factory, store, candidates)
    winners = [i for i, result in enumerate(results) if result is None]
    losers = [result for result in results if result is not None]
    assert (len(winners), len(losers)) == (1, 19)
    for error in losers:
        assert isinstance(error, DuplicateObject)
        assert_error(error, "42710", 'connection "same" already exists')
    assert await store.list_connections() == [candidates[winners[0]]]
    assert await store.generation() == 1


async def test_a_connection_cannot_be_dropped_while_a_pipeline_on_it_is_created(
    store_factory: StoreFactory, store: CatalogStore
) -> None:
    async with opened(store_factory.make()) as other_node:
        for round_ in range(10):
            name = f"c{round_}"
            await store.create_connection(connection(name))
            created, dropped = await asyncio.gather(
                store.create_pipeline(pipeline(f"p{round_}", name)),
                other_node.drop_connection(name, cascade=False),
                return_exceptions=True,
            )
            if created is None:  # the pipeline won: the drop must have seen it
                assert isinstance(dropped, DependentObjectsStillExist)
                assert await store.get_connection(name) is not None
            else:  # the drop won: the pipeline must have seen the connection gone
                assert dropped == ()
                assert isinstance(created, UndefinedObject)
                assert_error(created, "42704", f'connection "{name}" does not exist')
                assert await store.get_pipeline(f"p{round_}") is None
    existing = {record.name for record in await store.list_connections()}
    for record in await store.list_pipelines():
        assert set(record.connections) <= existing


# --- SQLite: the file itself ---------------------------------------------------------------------
async def test_sqlite_read_only_catalog_reads_and_refuses_changes(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    async with opened(SqliteStore(path)) as writable:
        await populate(writable)
        before = await snapshot(writable)
    # We run as root in CI, where chmod cannot stop a write. SQLite's mode=ro open is what SQLite
    # itself falls back to when the file is not writable, so it fails writes with the same error
    # code (SQLITE_READONLY) as a read-only file or data directory would.
    async with opened(SqliteStore(path, read_only=True)) as read_only:
        assert await snapshot(read_only) == before
        message = f"the catalog database {path} is read-only"
        await refused(
            read_only.create_connection(connection("new")), (ReadOnlySqlTransaction, "25006"), message
        )
        # Refused before the dependency check (the secret is in use), as PostgreSQL would.
        error = await refused(read_only.drop_secret("kafka_pw"), (ReadOnlySqlTransaction, "25006"), message)
        assert (
            error.hint == "Make the data directory and the catalog file writable by the user running Laminar."
        )
        assert await snapshot(read_only) == before


async def test_sqlite_full_disk_is_53100_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    async with opened(SqliteStore(path)) as store:
        await populate(store)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    # A size cap at the current size: SQLite reports SQLITE_FULL exactly as for a full disk.
    async with opened(SqliteStore(path, max_pages=pages)) as full:
        before = await snapshot(full)
        huge = dataclasses.replace(connection("huge"), sql="-- " + "x" * 200_000)
        message = f"the catalog database {path} cannot grow: the disk is full"
        await refused(full.create_connection(huge), (DiskFull, "53100"), message)
        assert await snapshot(full) == before


async def test_sqlite_files_that_cannot_be_opened_are_clear_errors(tmp_path: Path) -> None:
    absent = tmp_path / "absent.db"
    message = f"cannot read or write the catalog database {absent}"
    await refused(SqliteStore(absent, read_only=True).open(), (IoError, "58030"), message)
    garbage = tmp_path / "catalog.db"
    garbage.write_bytes(b"this is not a SQLite database, just some text " * 100)
    message = f"the catalog database {garbage} is corrupt or not a SQLite database"
    await refused(SqliteStore(garbage).open(), (DataCorrupted, "XX001"), message)


# --- PostgreSQL: reaching the server -------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1:1/laminar", "Connect call failed"),
        ("127.0.0.1:5432/no_db", 'database "no_db" does not exist'),
    ],
    ids=["refused", "no-database"],
)
async def test_postgres_unreachable_is_08006_with_host_and_without_password(
    address: str, reason: str
) -> None:
    store = PostgresStore(f"postgresql://postgres:hunter2-s3cret@{address}", connect_timeout=5)
    with pytest.raises(ConnectionFailure) as caught:
        await store.open()
    error = caught.value
    assert error.sqlstate == "08006"
    assert error.message.startswith(f"could not connect to the catalog database at {address}: ")
    assert reason in error.message
    assert error.hint == "Check the --catalog URL and that PostgreSQL is running and reachable."
    assert "hunter2" not in f"{error} {error.message} {error.hint} {error.detail}"
    assert error.__cause__ is None
    assert error.__suppress_context__


async def terminate_sessions(admin: Any, database: str) -> int:
    """End every server session on ``database`` and wait (with a deadline) until they are gone."""
    pids = [
        row["pid"]
        for row in await admin.fetch(
            "SELECT pid, pg_terminate_backend(pid)"
            " FROM (SELECT pid FROM pg_stat_activity WHERE datname = $1 OFFSET 0) AS sessions",
            database,
        )
    ]
    deadline = asyncio.get_running_loop().time() + 10
    while await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", pids):
        assert asyncio.get_running_loop().time() < deadline, f"sessions {pids} did not end"
        await asyncio.sleep(0.01)  # poll interval; the loop ends on the condition
    return len(pids)


async def test_postgres_sessions_ended_by_the_server_are_08006_then_replaced() -> None:
    """A pooled connection whose session the server ended is either replaced before use or
    reported once as ConnectionFailure (never a raw asyncpg error), then replaced."""
    async with fresh_postgres_database() as (admin, database):
        dsn = f"postgresql://postgres:hunter2-s3cret@127.0.0.1:5432/{database}"
        async with opened(PostgresStore(dsn)) as store:
            await store.create_connection(connection("c"))
            ended = await terminate_sessions(admin, database)
            assert ended >= 1
            outcomes: list[list[str] | ConnectionFailure] = []
            for _ in range(ended + 1):
                try:
                    outcomes.append([r.name for r in await store.list_connections()])
                except ConnectionFailure as error:
                    outcomes.append(error)
    failures = [o for o in outcomes if isinstance(o, ConnectionFailure)]
    assert len(failures) <= ended
    assert outcomes[-1] == ["c"]
    for failure in failures:
        assert failure.message.startswith(
            f"lost the connection to the catalog database at 127.0.0.1:5432/{database}: "
        )
        assert "hunter2" not in failure.message


async def test_task_leases_go_to_one_node_until_they_expire(store: CatalogStore) -> None:
    """Two nodes claim the same pipeline tasks: each is held by one node; renewals keep it there; an
    expired or released lease goes to the other; a dropped pipeline's lease goes with it."""
    stamp = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    await store.create_connection(ConnectionRecord("c1", "kafka", (), (("type", "sink"),), "", stamp, stamp))
    for name in ("p1", "p2"):
        await store.create_pipeline(PipelineRecord(name, "CREATE PIPELINE", ("c1",), "running", stamp, stamp))
    p1, p2, p2b = ("p1", 0), ("p2", 0), ("p2", 1)
    claimed = await store.claim_tasks([p1, p2, p2b, ("missing", 0)], "node-a", now=100.0, ttl_s=10)
    assert claimed == {p1, p2, p2b}
    assert await store.claim_tasks([p1, p2], "node-b", now=105.0, ttl_s=10) == set()
    renewed = await store.claim_tasks([p1, p2b], "node-a", now=108.0, ttl_s=10, stats={p1: '{"rows_out": 7}'})
    assert renewed == {p1, p2b}  # renewed to 118
    assert await store.task_stats() == {p1: '{"rows_out": 7}'}
    assert await store.claim_tasks([p1, p2], "node-b", now=111.0, ttl_s=10) == {p2}  # p2/0 expired
    assert await store.task_leases() == {p1: ("node-a", 118.0), p2: ("node-b", 121.0), p2b: ("node-a", 118.0)}
    await store.release_task(p1, "node-b")  # not node-b's: nothing happens
    await store.release_task(p1, "node-a")
    assert await store.claim_tasks([p1], "node-b", now=112.0, ttl_s=10) == {p1}
    await store.drop_pipeline("p2")
    assert await store.task_leases() == {p1: ("node-b", 122.0)}
    await store.heartbeat("node-a", started_at=90.0, now=112.0)
    await store.heartbeat("node-a", started_at=90.0, now=113.0)
    assert await store.list_nodes() == [("node-a", 90.0, 113.0)]
