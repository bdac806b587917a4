"""The catalog schema as versioned migrations that both stores apply, and the layout of its JSON columns.

:data:`MIGRATIONS` is an ordered tuple of (version, description, statements). A statement is either
portable SQL (a plain ``str`` that SQLite and PostgreSQL both run as written) or a
:class:`PerDialect` pair where the dialects differ (column types: BLOB/BYTEA, TEXT/TIMESTAMPTZ,
TEXT/JSONB, INTEGER/BOOLEAN). A store applies every migration newer than the highest version in
``catalog_migrations`` inside one transaction and records each one there, so opening a catalog
is idempotent and an older Laminar refuses a catalog written by a newer one.

Never edit a migration that has shipped: append a new one. The JSON columns hold lists, not
objects, so order survives PostgreSQL's JSONB normalisation: ``columns`` is ``[[name, type], ...]``
and ``options`` is ``[[name, value], ...]`` in the order the user wrote them; the ``encode_*`` and
``decode_*`` helpers below are the one definition of that layout.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

from catalog.model import ColumnDef


class Dialect(enum.StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


@dataclass(frozen=True, slots=True)
class PerDialect:
    """One statement spelled for each store where portable SQL is not possible."""

    sqlite: str
    postgres: str

    def for_dialect(self, dialect: Dialect) -> str:
        return self.sqlite if dialect is Dialect.SQLITE else self.postgres


Statement = str | PerDialect


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[Statement, ...]

    def statements_for(self, dialect: Dialect) -> tuple[str, ...]:
        return tuple(s if isinstance(s, str) else s.for_dialect(dialect) for s in self.statements)


# Created by the store before it reads which migrations were applied; not itself a migration.
MIGRATIONS_TABLE = PerDialect(
    sqlite=(
        "CREATE TABLE IF NOT EXISTS catalog_migrations ("
        " version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    ),
    postgres=(
        "CREATE TABLE IF NOT EXISTS catalog_migrations ("
        " version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL)"
    ),
)


def _timestamps(dialect: Dialect) -> str:
    kind = "TEXT" if dialect is Dialect.SQLITE else "TIMESTAMPTZ"
    return f"created_at {kind} NOT NULL, updated_at {kind} NOT NULL"


def _table(name: str, sqlite_columns: str, postgres_columns: str) -> PerDialect:
    """A table whose column types differ; both get the same names and the timestamp pair."""
    return PerDialect(
        sqlite=f"CREATE TABLE {name} ({sqlite_columns}, {_timestamps(Dialect.SQLITE)}) STRICT",
        postgres=f"CREATE TABLE {name} ({postgres_columns}, {_timestamps(Dialect.POSTGRES)})",
    )


_INITIAL_SCHEMA: tuple[Statement, ...] = (
    # One row; every change transaction increments it (and in PostgreSQL, locking this row first
    # is what serialises concurrent DDL from several sessions and gateway nodes).
    "CREATE TABLE catalog_generation ( id INTEGER PRIMARY KEY CHECK (id = 1), generation BIGINT NOT NULL)",
    "INSERT INTO catalog_generation (id, generation) VALUES (1, 0)",
    _table(
        "secrets",
        "name TEXT PRIMARY KEY, ciphertext BLOB NOT NULL",
        "name TEXT PRIMARY KEY, ciphertext BYTEA NOT NULL",
    ),
    _table(
        "connections",
        "name TEXT PRIMARY KEY, connector TEXT NOT NULL,"
        " columns TEXT NOT NULL CHECK (json_valid(columns)),"
        " options TEXT NOT NULL CHECK (json_valid(options)), sql TEXT NOT NULL",
        "name TEXT PRIMARY KEY, connector TEXT NOT NULL, columns JSONB NOT NULL,"
        " options JSONB NOT NULL, sql TEXT NOT NULL",
    ),
    # A secret referenced by a connection cannot be deleted (no ON DELETE: the default restricts).
    "CREATE TABLE connection_secrets ("
    " connection TEXT NOT NULL REFERENCES connections (name) ON DELETE CASCADE,"
    " secret TEXT NOT NULL REFERENCES secrets (name),"
    " PRIMARY KEY (connection, secret))",
    "CREATE INDEX connection_secrets_by_secret ON connection_secrets (secret)",
    _table(
        "users",
        "name TEXT PRIMARY KEY, scram_verifier TEXT NOT NULL,"
        " superuser INTEGER NOT NULL CHECK (superuser IN (0, 1))",
        "name TEXT PRIMARY KEY, scram_verifier TEXT NOT NULL, superuser BOOLEAN NOT NULL",
    ),
    _table(
        "pipelines",
        "name TEXT PRIMARY KEY, sql TEXT NOT NULL, state TEXT NOT NULL,"
        " options TEXT NOT NULL CHECK (json_valid(options))",
        "name TEXT PRIMARY KEY, sql TEXT NOT NULL, state TEXT NOT NULL, options JSONB NOT NULL",
    ),
    # position keeps PipelineRecord.connections in the order given; a connection used by a
    # pipeline cannot be deleted while the link exists.
    "CREATE TABLE pipeline_connections ("
    " pipeline TEXT NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,"
    " position INTEGER NOT NULL,"
    " connection TEXT NOT NULL REFERENCES connections (name),"
    " PRIMARY KEY (pipeline, position))",
    "CREATE INDEX pipeline_connections_by_connection ON pipeline_connections (connection)",
)

# Several gateway nodes on one catalog: which nodes are alive, and which node runs each pipeline.
# Times are seconds since the epoch from the nodes' clocks; a lease is the node's until expires_at.
_NODES_AND_LEASES: tuple[Statement, ...] = (
    PerDialect(
        sqlite="CREATE TABLE nodes (name TEXT PRIMARY KEY, started_at REAL NOT NULL,"
        " heartbeat_at REAL NOT NULL) STRICT",
        postgres="CREATE TABLE nodes (name TEXT PRIMARY KEY, started_at DOUBLE PRECISION NOT NULL,"
        " heartbeat_at DOUBLE PRECISION NOT NULL)",
    ),
    PerDialect(
        sqlite="CREATE TABLE pipeline_leases ("
        " pipeline TEXT PRIMARY KEY REFERENCES pipelines (name) ON DELETE CASCADE,"
        " node TEXT NOT NULL, expires_at REAL NOT NULL) STRICT",
        postgres="CREATE TABLE pipeline_leases ("
        " pipeline TEXT PRIMARY KEY REFERENCES pipelines (name) ON DELETE CASCADE,"
        " node TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL)",
    ),
)

# A pipeline runs as one or more tasks (its ``parallelism``), and a node leases each task on its own.
_TASK_LEASES: tuple[Statement, ...] = (
    PerDialect(
        sqlite="CREATE TABLE task_leases ("
        " pipeline TEXT NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,"
        " task INTEGER NOT NULL, node TEXT NOT NULL, expires_at REAL NOT NULL,"
        " PRIMARY KEY (pipeline, task)) STRICT",
        postgres="CREATE TABLE task_leases ("
        " pipeline TEXT NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,"
        " task INTEGER NOT NULL, node TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL,"
        " PRIMARY KEY (pipeline, task))",
    ),
    "INSERT INTO task_leases (pipeline, task, node, expires_at)"
    " SELECT pipeline, 0, node, expires_at FROM pipeline_leases",
    "DROP TABLE pipeline_leases",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "connections, secrets, users, pipelines and the generation counter",
        _INITIAL_SCHEMA,
    ),
    Migration(2, "gateway nodes and pipeline leases", _NODES_AND_LEASES),
    Migration(3, "leases per pipeline task", _TASK_LEASES),
    # A task's counters, renewed with its lease, so any node shows every node's pipelines.
    Migration(4, "task counters in the lease row", ("ALTER TABLE task_leases ADD COLUMN stats TEXT",)),
)


def _check_versions(migrations: tuple[Migration, ...]) -> int:
    """Versions must run 1, 2, 3, ... so "newest applied" is a complete description of a catalog."""
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise RuntimeError(f"catalog migration {migration.version} is out of order (expected {expected})")
    return len(migrations)


LATEST_VERSION = _check_versions(MIGRATIONS)


def pending_migrations(applied_version: int) -> tuple[Migration, ...]:
    """The migrations to apply to a catalog whose newest applied migration is ``applied_version``."""
    return tuple(m for m in MIGRATIONS if m.version > applied_version)


# --- the layout of the JSON columns ---------------------------------------------------------------
def encode_pairs(pairs: tuple[tuple[str, str], ...]) -> str:
    return json.dumps([[name, value] for name, value in pairs], ensure_ascii=False, separators=(",", ":"))


def decode_pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(value)) for name, value in json.loads(text))


def encode_columns(columns: tuple[ColumnDef, ...]) -> str:
    return json.dumps(
        [[column.name, column.type_sql] for column in columns], ensure_ascii=False, separators=(",", ":")
    )


def decode_columns(text: str) -> tuple[ColumnDef, ...]:
    return tuple(ColumnDef(str(name), str(type_sql)) for name, type_sql in json.loads(text))
