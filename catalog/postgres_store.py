"""The shared catalog store: a PostgreSQL database reached through asyncpg, for one or many gateway nodes.

Every change is one transaction whose first statement increments the single row of
``catalog_generation``. That row lock is the catalog's write lock: concurrent DDL from any number
of sessions and nodes runs one change at a time, and because the transaction runs at READ
COMMITTED, every statement after the lock sees all changes committed before it. The checks a
change makes (name free, referenced secrets and connections present, no dependants) therefore
still hold at COMMIT: of 20 concurrent creates of one name exactly one succeeds, and a connection
cannot be dropped while a pipeline on it is being created. Foreign keys enforce the same rules
once more in the schema. Migrations run under a transaction-scoped advisory lock, so nodes that
start together apply them once.

Errors: a unique violation becomes DuplicateObject (42710); a server that cannot be reached or
drops the connection becomes ConnectionFailure (08006) naming host and database, never the
password of the DSN.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import asyncpg

from catalog.migrations import (
    LATEST_VERSION,
    MIGRATIONS_TABLE,
    Dialect,
    decode_columns,
    decode_pairs,
    encode_columns,
    encode_pairs,
    pending_migrations,
)
from catalog.model import ConnectionRecord, PipelineRecord, SecretRecord, UserRecord, now
from catalog.store import CatalogStore, TaskKey
from gateway.errors import (
    ConnectionFailure,
    DependentObjectsStillExist,
    DuplicateObject,
    FeatureNotSupported,
    InternalError,
    LaminarError,
    UndefinedObject,
)

T = TypeVar("T")

# pg_advisory_xact_lock key of the migration step ("LAMINAR" in ASCII).
MIGRATION_LOCK_KEY = 0x4C414D494E4152
CLOSE_TIMEOUT_SECONDS = 10.0

_ADVANCE_GENERATION = "UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1"
_EXISTS = {
    "connection": "SELECT 1 FROM connections WHERE name = $1",
    "secret": "SELECT 1 FROM secrets WHERE name = $1",
    "user": "SELECT 1 FROM users WHERE name = $1",
    "pipeline": "SELECT 1 FROM pipelines WHERE name = $1",
}
_KIND_OF_TABLE = {
    "connections": "connection",
    "secrets": "secret",
    "users": "user",
    "pipelines": "pipeline",
}
_SELECT_CONNECTIONS = (
    "SELECT name, connector, columns::text AS columns, options::text AS options, sql, created_at, updated_at"
    " FROM connections"
)
_SELECT_SECRETS = "SELECT name, ciphertext, created_at, updated_at FROM secrets"
_SELECT_USERS = "SELECT name, scram_verifier, superuser, created_at, updated_at FROM users"
_SELECT_PIPELINES = (
    "SELECT p.name, p.sql, p.state, p.options::text AS options, p.created_at, p.updated_at,"
    " ARRAY(SELECT pc.connection FROM pipeline_connections pc WHERE pc.pipeline = p.name"
    " ORDER BY pc.position) AS connections"
    " FROM pipelines p"
)
# Losing the server mid-operation; connect-time failures are caught separately in open().
_CONNECTION_LOST = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    # asyncpg's protocol state no longer matches the session's: seen when the server ends a
    # session that sits idle in the pool ("cannot switch to state 11; another operation (2) is
    # in progress") and when the connection is already closed.
    asyncpg.InternalClientError,
    asyncpg.InterfaceError,
)


def _connection_broke(exc: BaseException) -> bool:
    """Whether a driver error means the connection is unusable (not a bad argument, which is a bug)."""
    return isinstance(exc, _CONNECTION_LOST) and not isinstance(exc, asyncpg.exceptions.DataError)


def describe_dsn(dsn: str) -> str:
    """``host:port/database`` of a postgresql:// DSN, without user name or password."""
    parts = urllib.parse.urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres"):
        return "(not a postgresql:// URL)"  # e.g. libpq key=value text, which may hold a password
    hosts = parts.netloc.rpartition("@")[2]
    if not hosts:
        hosts = ",".join(urllib.parse.parse_qs(parts.query).get("host", ["localhost"]))
    return f"{hosts}{parts.path or '/'}"


def _scrub(text: str, dsn: str) -> str:
    """``text`` with the DSN and its password blanked out, should a driver message quote them."""
    text = text.replace(dsn, "<dsn>")
    with contextlib.suppress(ValueError):
        password = urllib.parse.urlsplit(dsn).password
        if password:
            for form in {password, urllib.parse.unquote(password)}:
                text = text.replace(form, "********")
    return text


def _timestamp(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("catalog timestamps must be timezone-aware")
    return value


def _connection(row: Any) -> ConnectionRecord:
    return ConnectionRecord(
        name=row["name"],
        connector=row["connector"],
        columns=decode_columns(row["columns"]),
        options=decode_pairs(row["options"]),
        sql=row["sql"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _secret(row: Any) -> SecretRecord:
    return SecretRecord(
        name=row["name"],
        ciphertext=bytes(row["ciphertext"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _user(row: Any) -> UserRecord:
    return UserRecord(
        name=row["name"],
        scram_verifier=row["scram_verifier"],
        superuser=bool(row["superuser"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _pipeline(row: Any) -> PipelineRecord:
    return PipelineRecord(
        name=row["name"],
        sql=row["sql"],
        connections=tuple(row["connections"]),
        state=row["state"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        options=decode_pairs(row["options"]),
    )


async def _exists(conn: Any, kind: str, name: str) -> bool:
    return await conn.fetchval(_EXISTS[kind], name) is not None


async def _require_absent(conn: Any, kind: str, name: str) -> None:
    if await _exists(conn, kind, name):
        raise DuplicateObject(f'{kind} "{name}" already exists')


async def _require_present(conn: Any, kind: str, names: Iterable[str]) -> None:
    for name in names:
        if not await _exists(conn, kind, name):
            raise UndefinedObject(f'{kind} "{name}" does not exist')


async def _link_secrets(conn: Any, record: ConnectionRecord) -> None:
    await conn.execute(
        "INSERT INTO connection_secrets (connection, secret) SELECT $1, s FROM unnest($2::text[]) AS s",
        record.name,
        list(record.secret_refs),
    )


async def _link_connections(conn: Any, record: PipelineRecord) -> None:
    await conn.execute(
        "INSERT INTO pipeline_connections (pipeline, position, connection)"
        " SELECT $1, t.n - 1, t.c FROM unnest($2::text[]) WITH ORDINALITY AS t(c, n)",
        record.name,
        list(record.connections),
    )


class PostgresStore(CatalogStore):
    """The catalog in a PostgreSQL database (``--catalog postgresql://...``)."""

    def __init__(
        self,
        dsn: str,
        *,
        min_connections: int = 1,
        max_connections: int = 4,
        connect_timeout: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self.where = describe_dsn(dsn)
        self._min_connections = min_connections
        self._max_connections = max_connections
        self._connect_timeout = connect_timeout
        self._pool: Any = None

    # -- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            pool = await asyncpg.create_pool(
                self._dsn,
                min_size=self._min_connections,
                max_size=self._max_connections,
                timeout=self._connect_timeout,
            )
        except (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            reason = _scrub(str(exc), self._dsn) or type(exc).__name__
            raise ConnectionFailure(
                f"could not connect to the catalog database at {self.where}: {reason}",
                hint="Check the --catalog URL and that PostgreSQL is running and reachable.",
            ) from None
        self._pool = pool
        try:
            await self._migrate()
        except BaseException:
            self._pool = None
            pool.terminate()
            raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            pool.terminate()

    async def _migrate(self) -> None:
        async with self._acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
            await conn.execute(MIGRATIONS_TABLE.postgres)
            version = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM catalog_migrations"))
            if version > LATEST_VERSION:
                raise FeatureNotSupported(
                    f"the catalog schema version {version} is newer than this Laminar supports"
                    f" ({LATEST_VERSION})",
                    hint="Upgrade Laminar to the version that wrote this catalog.",
                )
            for migration in pending_migrations(version):
                for statement in migration.statements_for(Dialect.POSTGRES):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO catalog_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.description,
                    now(),
                )

    # -- running statements ----------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _acquire(self) -> AsyncIterator[Any]:
        """A pooled connection; driver errors leave as LaminarErrors."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("the PostgreSQL catalog store is not open")
        try:
            async with pool.acquire() as conn:
                try:
                    yield conn
                except Exception as exc:
                    if _connection_broke(exc):
                        with contextlib.suppress(Exception):
                            conn.terminate()  # so the pool never hands this connection out again
                    raise
        except LaminarError:
            raise
        except asyncpg.UniqueViolationError as exc:
            kind = _KIND_OF_TABLE.get(exc.table_name or "", "catalog object")
            raise DuplicateObject(f"{kind} already exists", detail=exc.detail) from None
        except Exception as exc:
            if _connection_broke(exc):
                reason = _scrub(str(exc), self._dsn) or type(exc).__name__
                raise ConnectionFailure(
                    f"lost the connection to the catalog database at {self.where}: {reason}"
                ) from None
            if isinstance(exc, asyncpg.PostgresError):
                raise InternalError(
                    f"catalog database error at {self.where}", detail=f"PostgreSQL {exc.sqlstate}: {exc}"
                ) from exc
            raise

    async def _change(self, body: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``body`` in one transaction that first takes the catalog's write lock."""
        async with self._acquire() as conn, conn.transaction():
            await conn.execute(_ADVANCE_GENERATION)
            return await body(conn)

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        async with self._acquire() as conn:
            rows: list[Any] = await conn.fetch(query, *args)
            return rows

    # -- metadata --------------------------------------------------------------------------------
    async def schema_version(self) -> int:
        rows = await self._fetch("SELECT coalesce(max(version), 0) FROM catalog_migrations")
        return int(rows[0][0])

    async def generation(self) -> int:
        rows = await self._fetch("SELECT generation FROM catalog_generation WHERE id = 1")
        return int(rows[0][0])

    # -- connections -----------------------------------------------------------------------------
    async def create_connection(self, record: ConnectionRecord) -> None:
        async def body(conn: Any) -> None:
            await _require_absent(conn, "connection", record.name)
            await _require_present(conn, "secret", record.secret_refs)
            await conn.execute(
                "INSERT INTO connections (name, connector, columns, options, sql, created_at, updated_at)"
                " VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7)",
                record.name,
                record.connector,
                encode_columns(record.columns),
                encode_pairs(record.options),
                record.sql,
                _timestamp(record.created_at),
                _timestamp(record.updated_at),
            )
            await _link_secrets(conn, record)

        await self._change(body)

    async def replace_connection(self, record: ConnectionRecord) -> None:
        async def body(conn: Any) -> None:
            await _require_present(conn, "connection", [record.name])
            await _require_present(conn, "secret", record.secret_refs)
            await conn.execute(
                "UPDATE connections SET connector = $2, columns = $3::jsonb, options = $4::jsonb, sql = $5,"
                " updated_at = $6 WHERE name = $1",
                record.name,
                record.connector,
                encode_columns(record.columns),
                encode_pairs(record.options),
                record.sql,
                _timestamp(record.updated_at),
            )
            await conn.execute("DELETE FROM connection_secrets WHERE connection = $1", record.name)
            await _link_secrets(conn, record)

        await self._change(body)

    async def drop_connection(self, name: str, *, cascade: bool) -> tuple[str, ...]:
        async def body(conn: Any) -> tuple[str, ...]:
            await _require_present(conn, "connection", [name])
            rows = await conn.fetch(
                "SELECT pipeline FROM pipeline_connections WHERE connection = $1"
                ' GROUP BY pipeline ORDER BY pipeline COLLATE "C"',
                name,
            )
            users = tuple(str(row["pipeline"]) for row in rows)
            if users and not cascade:
                raise DependentObjectsStillExist(
                    f'cannot drop connection "{name}" because other objects depend on it',
                    detail="\n".join(f'pipeline "{p}" depends on connection "{name}"' for p in users),
                    hint="Use DROP CONNECTION ... CASCADE to drop the dependent pipelines too.",
                )
            await conn.execute("DELETE FROM pipelines WHERE name = ANY($1::text[])", list(users))
            await conn.execute("DELETE FROM connections WHERE name = $1", name)
            return users

        return await self._change(body)

    async def get_connection(self, name: str) -> ConnectionRecord | None:
        rows = await self._fetch(f"{_SELECT_CONNECTIONS} WHERE name = $1", name)
        return _connection(rows[0]) if rows else None

    async def list_connections(self) -> list[ConnectionRecord]:
        rows = await self._fetch(f'{_SELECT_CONNECTIONS} ORDER BY name COLLATE "C"')
        return [_connection(row) for row in rows]

    # -- secrets ---------------------------------------------------------------------------------
    async def create_secret(self, record: SecretRecord) -> None:
        async def body(conn: Any) -> None:
            await _require_absent(conn, "secret", record.name)
            await conn.execute(
                "INSERT INTO secrets (name, ciphertext, created_at, updated_at) VALUES ($1, $2, $3, $4)",
                record.name,
                record.ciphertext,
                _timestamp(record.created_at),
                _timestamp(record.updated_at),
            )

        await self._change(body)

    async def replace_secret(self, record: SecretRecord) -> None:
        async def body(conn: Any) -> None:
            await _require_present(conn, "secret", [record.name])
            await conn.execute(
                "UPDATE secrets SET ciphertext = $2, updated_at = $3 WHERE name = $1",
                record.name,
                record.ciphertext,
                _timestamp(record.updated_at),
            )

        await self._change(body)

    async def drop_secret(self, name: str) -> None:
        async def body(conn: Any) -> None:
            await _require_present(conn, "secret", [name])
            rows = await conn.fetch(
                'SELECT connection FROM connection_secrets WHERE secret = $1 ORDER BY connection COLLATE "C"',
                name,
            )
            users = [str(row["connection"]) for row in rows]
            if users:
                raise DependentObjectsStillExist(
                    f'cannot drop secret "{name}" because other objects depend on it',
                    detail="\n".join(f'connection "{c}" depends on secret "{name}"' for c in users),
                    hint="Alter or drop those connections first.",
                )
            await conn.execute("DELETE FROM secrets WHERE name = $1", name)

        await self._change(body)

    async def get_secret(self, name: str) -> SecretRecord | None:
        rows = await self._fetch(f"{_SELECT_SECRETS} WHERE name = $1", name)
        return _secret(rows[0]) if rows else None

    async def list_secrets(self) -> list[SecretRecord]:
        rows = await self._fetch(f'{_SELECT_SECRETS} ORDER BY name COLLATE "C"')
        return [_secret(row) for row in rows]

    # -- users -----------------------------------------------------------------------------------
    async def create_user(self, record: UserRecord) -> None:
        async def body(conn: Any) -> None:
            await _require_absent(conn, "user", record.name)
            await conn.execute(
                "INSERT INTO users (name, scram_verifier, superuser, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                record.name,
                record.scram_verifier,
                record.superuser,
                _timestamp(record.created_at),
                _timestamp(record.updated_at),
            )

        await self._change(body)

    async def replace_user(self, record: UserRecord) -> None:
        async def body(conn: Any) -> None:
            await _require_present(conn, "user", [record.name])
            await conn.execute(
                "UPDATE users SET scram_verifier = $2, superuser = $3, updated_at = $4 WHERE name = $1",
                record.name,
                record.scram_verifier,
                record.superuser,
                _timestamp(record.updated_at),
            )

        await self._change(body)

    async def drop_user(self, name: str) -> None:
        async def body(conn: Any) -> None:
            await _require_present(conn, "user", [name])
            await conn.execute("DELETE FROM users WHERE name = $1", name)

        await self._change(body)

    async def get_user(self, name: str) -> UserRecord | None:
        rows = await self._fetch(f"{_SELECT_USERS} WHERE name = $1", name)
        return _user(rows[0]) if rows else None

    async def list_users(self) -> list[UserRecord]:
        rows = await self._fetch(f'{_SELECT_USERS} ORDER BY name COLLATE "C"')
        return [_user(row) for row in rows]

    # -- pipelines -------------------------------------------------------------------------------
    async def create_pipeline(self, record: PipelineRecord) -> None:
        async def body(conn: Any) -> None:
            await _require_absent(conn, "pipeline", record.name)
            await _require_present(conn, "connection", record.connections)
            await conn.execute(
                "INSERT INTO pipelines (name, sql, state, options, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
                record.name,
                record.sql,
                record.state,
                encode_pairs(record.options),
                _timestamp(record.created_at),
                _timestamp(record.updated_at),
            )
            await _link_connections(conn, record)

        await self._change(body)

    async def replace_pipeline(self, record: PipelineRecord) -> None:
        async def body(conn: Any) -> None:
            await _require_present(conn, "pipeline", [record.name])
            await _require_present(conn, "connection", record.connections)
            await conn.execute(
                "UPDATE pipelines SET sql = $2, state = $3, options = $4::jsonb, updated_at = $5"
                " WHERE name = $1",
                record.name,
                record.sql,
                record.state,
                encode_pairs(record.options),
                _timestamp(record.updated_at),
            )
            await conn.execute("DELETE FROM pipeline_connections WHERE pipeline = $1", record.name)
            await _link_connections(conn, record)

        await self._change(body)

    async def drop_pipeline(self, name: str) -> None:
        async def body(conn: Any) -> None:
            await _require_present(conn, "pipeline", [name])
            await conn.execute("DELETE FROM pipelines WHERE name = $1", name)

        await self._change(body)

    async def get_pipeline(self, name: str) -> PipelineRecord | None:
        rows = await self._fetch(f"{_SELECT_PIPELINES} WHERE p.name = $1", name)
        return _pipeline(rows[0]) if rows else None

    async def list_pipelines(self) -> list[PipelineRecord]:
        rows = await self._fetch(f'{_SELECT_PIPELINES} ORDER BY p.name COLLATE "C"')
        return [_pipeline(row) for row in rows]

    # -- nodes and pipeline leases ---------------------------------------------------------------
    async def heartbeat(self, node: str, started_at: float, now: float) -> None:
        async with self._acquire() as conn:
            await conn.execute(
                "INSERT INTO nodes (name, started_at, heartbeat_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (name) DO UPDATE SET started_at = EXCLUDED.started_at,"
                " heartbeat_at = EXCLUDED.heartbeat_at",
                node,
                started_at,
                now,
            )

    async def list_nodes(self) -> list[tuple[str, float, float]]:
        rows = await self._fetch('SELECT name, started_at, heartbeat_at FROM nodes ORDER BY name COLLATE "C"')
        return [(str(r[0]), float(r[1]), float(r[2])) for r in rows]

    async def claim_tasks(
        self,
        tasks: Sequence[TaskKey],
        node: str,
        now: float,
        ttl_s: float,
        stats: Mapping[TaskKey, str] | None = None,
    ) -> set[TaskKey]:
        if not tasks:
            return set()
        # One statement: a lease is taken when free, expired or already this node's (renewed).
        stats = stats or {}
        rows = await self._fetch(
            "INSERT INTO task_leases (pipeline, task, node, expires_at, stats)"
            " SELECT p.name, t.task, $4, $5, t.stats"
            " FROM unnest($1::text[], $2::int[], $3::text[]) AS t (pipeline, task, stats)"
            " JOIN pipelines p ON p.name = t.pipeline"
            " ON CONFLICT (pipeline, task)"
            " DO UPDATE SET node = EXCLUDED.node, expires_at = EXCLUDED.expires_at, stats = EXCLUDED.stats"
            " WHERE task_leases.node = EXCLUDED.node OR task_leases.expires_at < $6"
            " RETURNING pipeline, task",
            [pipeline for pipeline, _ in tasks],
            [task for _, task in tasks],
            [stats.get(key) for key in tasks],
            node,
            now + ttl_s,
            now,
        )
        return {(str(row[0]), int(row[1])) for row in rows}

    async def release_task(self, task: TaskKey, node: str) -> None:
        async with self._acquire() as conn:
            await conn.execute(
                "DELETE FROM task_leases WHERE pipeline = $1 AND task = $2 AND node = $3", *task, node
            )

    async def task_stats(self) -> dict[TaskKey, str]:
        rows = await self._fetch("SELECT pipeline, task, stats FROM task_leases WHERE stats IS NOT NULL")
        return {(str(r[0]), int(r[1])): str(r[2]) for r in rows}

    async def task_leases(self) -> dict[TaskKey, tuple[str, float]]:
        rows = await self._fetch("SELECT pipeline, task, node, expires_at FROM task_leases")
        return {(str(r[0]), int(r[1])): (str(r[2]), float(r[3])) for r in rows}
