"""The embedded catalog store: one SQLite file in the data directory, WAL, every change one transaction.

The stdlib ``sqlite3`` module blocks, so the store owns one connection that lives on one worker
thread (a single-worker ``ThreadPoolExecutor``): every method is queued there with
``run_in_executor`` and never blocks the event loop, and calls from this process run one at a time
in arrival order. Each change opens ``BEGIN IMMEDIATE``, which takes SQLite's write lock before it
reads anything, so the preconditions it checks (name free, secrets and connections present, no
dependants) still hold at COMMIT, also against another process on the same file (it waits up to
``busy_timeout``). Reads that need two queries run in one read transaction, so they see one state.

Failures of the file itself (read-only, disk full, locked, I/O, corrupt) surface as
:class:`~gateway.errors.LaminarError` subclasses that name the path, never as ``sqlite3`` errors.
If the awaiting task is cancelled, the queued call still runs to COMMIT or ROLLBACK: the
transaction stays atomic either way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

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
    DataCorrupted,
    DependentObjectsStillExist,
    DiskFull,
    DuplicateObject,
    FeatureNotSupported,
    InternalError,
    IoError,
    LaminarError,
    LockNotAvailable,
    ReadOnlySqlTransaction,
    UndefinedObject,
)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000

# Primary result codes (https://www.sqlite.org/rescode.html); extended codes keep them in the low byte.
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26

_EXISTS = {
    "connection": "SELECT 1 FROM connections WHERE name = ?",
    "secret": "SELECT 1 FROM secrets WHERE name = ?",
    "user": "SELECT 1 FROM users WHERE name = ?",
    "pipeline": "SELECT 1 FROM pipelines WHERE name = ?",
}
_SELECT_CONNECTIONS = "SELECT name, connector, columns, options, sql, created_at, updated_at FROM connections"
_SELECT_PIPELINES = "SELECT name, sql, state, options, created_at, updated_at FROM pipelines"
_SELECT_SECRETS = "SELECT name, ciphertext, created_at, updated_at FROM secrets"
_SELECT_USERS = "SELECT name, scram_verifier, superuser, created_at, updated_at FROM users"


def _timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("catalog timestamps must be timezone-aware")
    return value.astimezone(dt.UTC).isoformat()


def _parse_timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _connection(row: sqlite3.Row) -> ConnectionRecord:
    return ConnectionRecord(
        name=row["name"],
        connector=row["connector"],
        columns=decode_columns(row["columns"]),
        options=decode_pairs(row["options"]),
        sql=row["sql"],
        created_at=_parse_timestamp(row["created_at"]),
        updated_at=_parse_timestamp(row["updated_at"]),
    )


def _secret(row: sqlite3.Row) -> SecretRecord:
    return SecretRecord(
        name=row["name"],
        ciphertext=bytes(row["ciphertext"]),
        created_at=_parse_timestamp(row["created_at"]),
        updated_at=_parse_timestamp(row["updated_at"]),
    )


def _user(row: sqlite3.Row) -> UserRecord:
    return UserRecord(
        name=row["name"],
        scram_verifier=row["scram_verifier"],
        superuser=bool(row["superuser"]),
        created_at=_parse_timestamp(row["created_at"]),
        updated_at=_parse_timestamp(row["updated_at"]),
    )


def _pipeline(row: sqlite3.Row, connections: Iterable[str]) -> PipelineRecord:
    return PipelineRecord(
        name=row["name"],
        sql=row["sql"],
        connections=tuple(connections),
        state=row["state"],
        created_at=_parse_timestamp(row["created_at"]),
        updated_at=_parse_timestamp(row["updated_at"]),
        options=decode_pairs(row["options"]),
    )


def _exists(conn: sqlite3.Connection, kind: str, name: str) -> bool:
    return conn.execute(_EXISTS[kind], (name,)).fetchone() is not None


def _require_absent(conn: sqlite3.Connection, kind: str, name: str) -> None:
    if _exists(conn, kind, name):
        raise DuplicateObject(f'{kind} "{name}" already exists')


def _require_present(conn: sqlite3.Connection, kind: str, names: Iterable[str]) -> None:
    for name in names:
        if not _exists(conn, kind, name):
            raise UndefinedObject(f'{kind} "{name}" does not exist')


def _link_secrets(conn: sqlite3.Connection, record: ConnectionRecord) -> None:
    conn.executemany(
        "INSERT INTO connection_secrets (connection, secret) VALUES (?, ?)",
        [(record.name, secret) for secret in record.secret_refs],
    )


def _link_connections(conn: sqlite3.Connection, record: PipelineRecord) -> None:
    conn.executemany(
        "INSERT INTO pipeline_connections (pipeline, position, connection) VALUES (?, ?, ?)",
        [(record.name, position, name) for position, name in enumerate(record.connections)],
    )


def _pipeline_connections(conn: sqlite3.Connection, pipeline: str) -> list[str]:
    rows = conn.execute(
        "SELECT connection FROM pipeline_connections WHERE pipeline = ? ORDER BY position", (pipeline,)
    )
    return [row[0] for row in rows]


class SqliteStore(CatalogStore):
    """The catalog in a SQLite file.

    ``read_only`` opens the file with SQLite's ``mode=ro``: reads work, every change fails with
    ReadOnlySqlTransaction (25006), exactly as when the file or its directory is not writable.
    ``max_pages`` caps the database size (``PRAGMA max_page_count``); a change past it fails as
    on a full disk (53100).
    """

    def __init__(self, path: Path, *, read_only: bool = False, max_pages: int | None = None) -> None:
        self.path = path
        self._read_only = read_only
        self._max_pages = max_pages
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # used on the worker thread only

    # -- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        if self._executor is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-sqlite")
        self._executor = executor
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._open_in_worker)
        except BaseException:
            self._executor = None
            await asyncio.get_running_loop().run_in_executor(executor, self._close_in_worker)
            executor.shutdown(wait=False)
            raise

    async def close(self) -> None:
        executor = self._executor
        if executor is None:
            return
        self._executor = None
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._close_in_worker)
        finally:
            executor.shutdown(wait=False)

    def _open_in_worker(self) -> None:
        try:
            if self._read_only:
                uri = f"{self.path.absolute().as_uri()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            else:
                conn = sqlite3.connect(self.path, isolation_level=None)
            self._conn = conn
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            if self._max_pages is not None:
                conn.execute(f"PRAGMA max_page_count = {int(self._max_pages):d}")
            self._migrate(conn)
        except sqlite3.Error as exc:
            raise self._storage_error(exc) from exc

    def _close_in_worker(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        # Read first: a catalog that is up to date needs no write lock (and opens read-only).
        if self._applied_version(conn) == LATEST_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(MIGRATIONS_TABLE.sqlite)
            for migration in pending_migrations(self._applied_version(conn)):
                for statement in migration.statements_for(Dialect.SQLITE):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO catalog_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.description, _timestamp(now())),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _applied_version(conn: sqlite3.Connection) -> int:
        table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'catalog_migrations'"
        ).fetchone()
        if table is None:
            return 0
        version = int(conn.execute("SELECT coalesce(max(version), 0) FROM catalog_migrations").fetchone()[0])
        if version > LATEST_VERSION:
            raise FeatureNotSupported(
                f"the catalog schema version {version} is newer than this Laminar supports"
                f" ({LATEST_VERSION})",
                hint="Upgrade Laminar to the version that wrote this catalog.",
            )
        return version

    # -- running on the worker thread ------------------------------------------------------------
    async def _run(self, body: Callable[[sqlite3.Connection], T]) -> T:
        executor = self._executor
        if executor is None:
            raise RuntimeError("the SQLite catalog store is not open")
        return await asyncio.get_running_loop().run_in_executor(executor, self._call, body)

    def _call(self, body: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise RuntimeError("the SQLite catalog store is not open")
        try:
            return body(conn)
        except sqlite3.Error as exc:
            raise self._storage_error(exc) from exc

    async def _change(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body`` in one write transaction that also advances the generation."""

        def transaction(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Write first, as the PostgreSQL store does: a read-only catalog refuses every
                # change the same way, before any precondition is checked.
                conn.execute("UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1")
                result = body(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite itself rolls back after e.g. SQLITE_FULL
                    conn.execute("ROLLBACK")
                raise
            return result

        return await self._run(transaction)

    async def _read(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body`` in one read transaction, so several queries see one state."""

        def transaction(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN")
            try:
                return body(conn)
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

        return await self._run(transaction)

    async def _fetch(self, query: str, parameters: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return await self._run(lambda conn: conn.execute(query, parameters).fetchall())

    def _storage_error(self, exc: sqlite3.Error) -> LaminarError:
        code = getattr(exc, "sqlite_errorcode", -1) & 0xFF
        where = str(self.path)
        detail = f"SQLite: {exc}"
        if code in (SQLITE_READONLY, SQLITE_PERM):
            return ReadOnlySqlTransaction(
                f"the catalog database {where} is read-only",
                detail=detail,
                hint="Make the data directory and the catalog file writable by the user running Laminar.",
            )
        if code == SQLITE_FULL:
            return DiskFull(
                f"the catalog database {where} cannot grow: the disk is full",
                detail=detail,
                hint="Free disk space on the volume that holds the data directory.",
            )
        if code in (SQLITE_BUSY, SQLITE_LOCKED):
            return LockNotAvailable(
                f"the catalog database {where} is locked by another process",
                detail=detail,
                hint="Another Laminar process may be using the same data directory.",
            )
        if code in (SQLITE_IOERR, SQLITE_CANTOPEN):
            return IoError(f"cannot read or write the catalog database {where}", detail=detail)
        if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
            return DataCorrupted(
                f"the catalog database {where} is corrupt or not a SQLite database", detail=detail
            )
        return InternalError(f"catalog database error in {where}", detail=detail)

    # -- metadata --------------------------------------------------------------------------------
    async def schema_version(self) -> int:
        rows = await self._fetch("SELECT coalesce(max(version), 0) FROM catalog_migrations")
        return int(rows[0][0])

    async def generation(self) -> int:
        rows = await self._fetch("SELECT generation FROM catalog_generation WHERE id = 1")
        return int(rows[0][0])

    # -- connections -----------------------------------------------------------------------------
    async def create_connection(self, record: ConnectionRecord) -> None:
        def body(conn: sqlite3.Connection) -> None:
            _require_absent(conn, "connection", record.name)
            _require_present(conn, "secret", record.secret_refs)
            conn.execute(
                "INSERT INTO connections (name, connector, columns, options, sql, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.name,
                    record.connector,
                    encode_columns(record.columns),
                    encode_pairs(record.options),
                    record.sql,
                    _timestamp(record.created_at),
                    _timestamp(record.updated_at),
                ),
            )
            _link_secrets(conn, record)

        await self._change(body)

    async def replace_connection(self, record: ConnectionRecord) -> None:
        def body(conn: sqlite3.Connection) -> None:
            _require_present(conn, "connection", [record.name])
            _require_present(conn, "secret", record.secret_refs)
            conn.execute(
                "UPDATE connections SET connector = ?, columns = ?, options = ?, sql = ?, updated_at = ?"
                " WHERE name = ?",
                (
                    record.connector,
                    encode_columns(record.columns),
                    encode_pairs(record.options),
                    record.sql,
                    _timestamp(record.updated_at),
                    record.name,
                ),
            )
            conn.execute("DELETE FROM connection_secrets WHERE connection = ?", (record.name,))
            _link_secrets(conn, record)

        await self._change(body)

    async def drop_connection(self, name: str, *, cascade: bool) -> tuple[str, ...]:
        def body(conn: sqlite3.Connection) -> tuple[str, ...]:
            _require_present(conn, "connection", [name])
            users = tuple(
                row[0]
                for row in conn.execute(
                    "SELECT DISTINCT pipeline FROM pipeline_connections WHERE connection = ?"
                    " ORDER BY pipeline",
                    (name,),
                )
            )
            if users and not cascade:
                raise DependentObjectsStillExist(
                    f'cannot drop connection "{name}" because other objects depend on it',
                    detail="\n".join(f'pipeline "{p}" depends on connection "{name}"' for p in users),
                    hint="Use DROP CONNECTION ... CASCADE to drop the dependent pipelines too.",
                )
            conn.executemany("DELETE FROM pipelines WHERE name = ?", [(p,) for p in users])
            conn.execute("DELETE FROM connections WHERE name = ?", (name,))
            return users

        return await self._change(body)

    async def get_connection(self, name: str) -> ConnectionRecord | None:
        rows = await self._fetch(f"{_SELECT_CONNECTIONS} WHERE name = ?", (name,))
        return _connection(rows[0]) if rows else None

    async def list_connections(self) -> list[ConnectionRecord]:
        rows = await self._fetch(f"{_SELECT_CONNECTIONS} ORDER BY name")
        return [_connection(row) for row in rows]

    # -- secrets ---------------------------------------------------------------------------------
    async def create_secret(self, record: SecretRecord) -> None:
        def body(conn: sqlite3.Connection) -> None:
            _require_absent(conn, "secret", record.name)
            conn.execute(
                "INSERT INTO secrets (name, ciphertext, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (
                    record.name,
                    record.ciphertext,
                    _timestamp(record.created_at),
                    _timestamp(record.updated_at),
                ),
            )

        await self._change(body)

    async def replace_secret(self, record: SecretRecord) -> None:
        def body(conn: sqlite3.Connection) -> None:
            _require_present(conn, "secret", [record.name])
            conn.execute(
                "UPDATE secrets SET ciphertext = ?, updated_at = ? WHERE name = ?",
                (record.ciphertext, _timestamp(record.updated_at), record.name),
            )

        await self._change(body)

    async def drop_secret(self, name: str) -> None:
        def body(conn: sqlite3.Connection) -> None:
            _require_present(conn, "secret", [name])
            users = [
                row[0]
                for row in conn.execute(
                    "SELECT connection FROM connection_secrets WHERE secret = ? ORDER BY connection", (name,)
                )
            ]
            if users:
                raise DependentObjectsStillExist(
                    f'cannot drop secret "{name}" because other objects depend on it',
                    detail="\n".join(f'connection "{c}" depends on secret "{name}"' for c in users),
                    hint="Alter or drop those connections first.",
                )
            conn.execute("DELETE FROM secrets WHERE name = ?", (name,))

        await self._change(body)

    async def get_secret(self, name: str) -> SecretRecord | None:
        rows = await self._fetch(f"{_SELECT_SECRETS} WHERE name = ?", (name,))
        return _secret(rows[0]) if rows else None

    async def list_secrets(self) -> list[SecretRecord]:
        rows = await self._fetch(f"{_SELECT_SECRETS} ORDER BY name")
        return [_secret(row) for row in rows]

    # -- users -----------------------------------------------------------------------------------
    async def create_user(self, record: UserRecord) -> None:
        def body(conn: sqlite3.Connection) -> None:
            _require_absent(conn, "user", record.name)
            conn.execute(
                "INSERT INTO users (name, scram_verifier, superuser, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    record.name,
                    record.scram_verifier,
                    int(record.superuser),
                    _timestamp(record.created_at),
                    _timestamp(record.updated_at),
                ),
            )

        await self._change(body)

    async def replace_user(self, record: UserRecord) -> None:
        def body(conn: sqlite3.Connection) -> None:
            _require_present(conn, "user", [record.name])
            conn.execute(
                "UPDATE users SET scram_verifier = ?, superuser = ?, updated_at = ? WHERE name = ?",
                (record.scram_verifier, int(record.superuser), _timestamp(record.updated_at), record.name),
            )

        await self._change(body)

    async def drop_user(self, name: str) -> None:
        def body(conn: sqlite3.Connection) -> None:
            _require_present(conn, "user", [name])
            conn.execute("DELETE FROM users WHERE name = ?", (name,))

        await self._change(body)

    async def get_user(self, name: str) -> UserRecord | None:
        rows = await self._fetch(
            f"{_SELECT_USERS} WHERE name = ?",
            (name,),
        )
        return _user(rows[0]) if rows else None

    async def list_users(self) -> list[UserRecord]:
        rows = await self._fetch(f"{_SELECT_USERS} ORDER BY name")
        return [_user(row) for row in rows]

    # -- pipelines -------------------------------------------------------------------------------
    async def create_pipeline(self, record: PipelineRecord) -> None:
        def body(conn: sqlite3.Connection) -> None:
            _require_absent(conn, "pipeline", record.name)
            _require_present(conn, "connection", record.connections)
            conn.execute(
                "INSERT INTO pipelines (name, sql, state, options, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.name,
                    record.sql,
                    record.state,
                    encode_pairs(record.options),
                    _timestamp(record.created_at),
                    _timestamp(record.updated_at),
                ),
            )
            _link_connections(conn, record)

        await self._change(body)

    async def replace_pipeline(self, record: PipelineRecord) -> None:
        def body(conn: sqlite3.Connection) -> None:
            _require_present(conn, "pipeline", [record.name])
            _require_present(conn, "connection", record.connections)
            conn.execute(
                "UPDATE pipelines SET sql = ?, state = ?, options = ?, updated_at = ? WHERE name = ?",
                (
                    record.sql,
                    record.state,
                    encode_pairs(record.options),
                    _timestamp(record.updated_at),
                    record.name,
                ),
            )
            conn.execute("DELETE FROM pipeline_connections WHERE pipeline = ?", (record.name,))
            _link_connections(conn, record)

        await self._change(body)

    async def drop_pipeline(self, name: str) -> None:
        def body(conn: sqlite3.Connection) -> None:
            _require_present(conn, "pipeline", [name])
            conn.execute("DELETE FROM pipelines WHERE name = ?", (name,))

        await self._change(body)

    async def get_pipeline(self, name: str) -> PipelineRecord | None:
        def body(conn: sqlite3.Connection) -> PipelineRecord | None:
            row = conn.execute(
                f"{_SELECT_PIPELINES} WHERE name = ?",
                (name,),
            ).fetchone()
            return None if row is None else _pipeline(row, _pipeline_connections(conn, name))

        return await self._read(body)

    async def list_pipelines(self) -> list[PipelineRecord]:
        def body(conn: sqlite3.Connection) -> list[PipelineRecord]:
            rows = conn.execute(f"{_SELECT_PIPELINES} ORDER BY name").fetchall()
            return [_pipeline(row, _pipeline_connections(conn, row["name"])) for row in rows]

        return await self._read(body)

    # -- nodes and pipeline leases ---------------------------------------------------------------
    async def heartbeat(self, node: str, started_at: float, now: float) -> None:
        def body(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO nodes (name, started_at, heartbeat_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET started_at = excluded.started_at,"
                " heartbeat_at = excluded.heartbeat_at",
                (node, started_at, now),
            )

        await self._run(body)

    async def list_nodes(self) -> list[tuple[str, float, float]]:
        rows = await self._fetch("SELECT name, started_at, heartbeat_at FROM nodes ORDER BY name")
        return [(str(r[0]), float(r[1]), float(r[2])) for r in rows]

    async def claim_tasks(
        self,
        tasks: Sequence[TaskKey],
        node: str,
        now: float,
        ttl_s: float,
        stats: Mapping[TaskKey, str] | None = None,
    ) -> set[TaskKey]:
        def body(conn: sqlite3.Connection) -> set[TaskKey]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                held = set()
                for name, task in tasks:
                    row = conn.execute(
                        "INSERT INTO task_leases (pipeline, task, node, expires_at, stats)"
                        " SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM pipelines WHERE name = ?)"
                        " ON CONFLICT (pipeline, task) DO UPDATE SET node = excluded.node,"
                        " expires_at = excluded.expires_at, stats = excluded.stats"
                        " WHERE task_leases.node = excluded.node OR task_leases.expires_at < ?"
                        " RETURNING pipeline",
                        (name, task, node, now + ttl_s, (stats or {}).get((name, task)), name, now),
                    ).fetchone()
                    if row is not None:
                        held.add((name, task))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return held

        return await self._run(body)

    async def release_task(self, task: TaskKey, node: str) -> None:
        await self._run(
            lambda conn: conn.execute(
                "DELETE FROM task_leases WHERE pipeline = ? AND task = ? AND node = ?", (*task, node)
            )
        )

    async def task_stats(self) -> dict[TaskKey, str]:
        rows = await self._fetch("SELECT pipeline, task, stats FROM task_leases WHERE stats IS NOT NULL")
        return {(str(r[0]), int(r[1])): str(r[2]) for r in rows}

    async def task_leases(self) -> dict[TaskKey, tuple[str, float]]:
        rows = await self._fetch("SELECT pipeline, task, node, expires_at FROM task_leases")
        return {(str(r[0]), int(r[1])): (str(r[2]), float(r[3])) for r in rows}
