"""The catalog store interface: one atomic method per change, so every DDL is one transaction.

Two implementations share this contract and one test suite: :mod:`catalog.sqlite_store`
(embedded default, a file in the data directory) and :mod:`catalog.postgres_store` (a shared
PostgreSQL database for several gateway nodes). Each change method runs in a single database
transaction and checks its preconditions inside it, so concurrent DDL from many sessions or
nodes leaves a consistent catalog.

Errors (from :mod:`gateway.errors`): a duplicate name raises ``DuplicateObject`` (42710); a
missing object raises ``UndefinedObject`` (42704); dropping something still in use raises
``DependentObjectsStillExist`` (2BP01) naming the users of it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence

from catalog.model import ConnectionRecord, PipelineRecord, SecretRecord, UserRecord

TaskKey = tuple[str, int]  # (pipeline, task index): what a node leases


class CatalogStore(abc.ABC):
    """Persistent storage of catalog records."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and apply pending migrations (idempotent)."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def schema_version(self) -> int:
        """The newest migration applied."""

    @abc.abstractmethod
    async def generation(self) -> int:
        """A number that grows with every committed change (for caches of the catalog)."""

    # -- connections ---------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_connection(self, record: ConnectionRecord) -> None:
        """Insert; DuplicateObject if the name exists. Every secret it references must exist
        (UndefinedObject otherwise), checked in the same transaction."""

    @abc.abstractmethod
    async def replace_connection(self, record: ConnectionRecord) -> None:
        """Update an existing connection (ALTER); UndefinedObject if missing; secrets as above."""

    @abc.abstractmethod
    async def drop_connection(self, name: str, *, cascade: bool) -> tuple[str, ...]:
        """Delete; returns the pipelines dropped with it (CASCADE). Without cascade, a
        connection used by a pipeline raises DependentObjectsStillExist."""

    @abc.abstractmethod
    async def get_connection(self, name: str) -> ConnectionRecord | None: ...

    @abc.abstractmethod
    async def list_connections(self) -> list[ConnectionRecord]:
        """All connections ordered by name."""

    # -- secrets -------------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_secret(self, record: SecretRecord) -> None: ...

    @abc.abstractmethod
    async def replace_secret(self, record: SecretRecord) -> None: ...

    @abc.abstractmethod
    async def drop_secret(self, name: str) -> None:
        """Delete; DependentObjectsStillExist if a connection references it."""

    @abc.abstractmethod
    async def get_secret(self, name: str) -> SecretRecord | None: ...

    @abc.abstractmethod
    async def list_secrets(self) -> list[SecretRecord]: ...

    # -- users ---------------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_user(self, record: UserRecord) -> None: ...

    @abc.abstractmethod
    async def replace_user(self, record: UserRecord) -> None: ...

    @abc.abstractmethod
    async def drop_user(self, name: str) -> None: ...

    @abc.abstractmethod
    async def get_user(self, name: str) -> UserRecord | None: ...

    @abc.abstractmethod
    async def list_users(self) -> list[UserRecord]: ...

    # -- pipelines (filled by the pipelines issue; here so dependencies are enforced) ----------
    @abc.abstractmethod
    async def create_pipeline(self, record: PipelineRecord) -> None:
        """Insert; every connection it names must exist (UndefinedObject otherwise)."""

    @abc.abstractmethod
    async def replace_pipeline(self, record: PipelineRecord) -> None: ...

    @abc.abstractmethod
    async def drop_pipeline(self, name: str) -> None: ...

    @abc.abstractmethod
    async def get_pipeline(self, name: str) -> PipelineRecord | None: ...

    @abc.abstractmethod
    async def list_pipelines(self) -> list[PipelineRecord]: ...

    # -- nodes and pipeline leases (several gateway nodes on one catalog) -------------------------
    @abc.abstractmethod
    async def heartbeat(self, node: str, started_at: float, now: float) -> None:
        """Record that ``node`` is alive at ``now`` (seconds since the epoch)."""

    @abc.abstractmethod
    async def list_nodes(self) -> list[tuple[str, float, float]]:
        """(name, started_at, heartbeat_at) of every node that ever ran, by name."""

    @abc.abstractmethod
    async def claim_tasks(
        self,
        tasks: Sequence[TaskKey],
        node: str,
        now: float,
        ttl_s: float,
        stats: Mapping[TaskKey, str] | None = None,
    ) -> set[TaskKey]:
        """Take or renew the lease of each pipeline task that is free, expired or already ``node``'s,
        until ``now + ttl_s``; returns the tasks ``node`` holds afterwards (tasks of pipelines that
        do not exist are not leased). ``stats`` (JSON per task) is stored with the leases taken."""

    @abc.abstractmethod
    async def task_stats(self) -> dict[TaskKey, str]:
        """(pipeline, task) -> the counters its node last published with the lease (JSON)."""

    @abc.abstractmethod
    async def release_task(self, task: TaskKey, node: str) -> None:
        """Give a task's lease back (if ``node`` holds it), for another node to take at once."""

    @abc.abstractmethod
    async def task_leases(self) -> dict[TaskKey, tuple[str, float]]:
        """(pipeline, task) -> (node, expires_at) of every lease."""
