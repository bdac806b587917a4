"""What the catalog stores: connections, secrets, users and pipelines, as frozen records.

Records are plain data: stores persist them, the catalog service validates them. Option values
are kept exactly as the user wrote them (a secret reference stays ``'${secret:name}'``) so that
``SHOW CREATE CONNECTION`` prints the statement back and secrets are resolved only when used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ColumnDef:
    """A declared column of a connection: ``name`` as written (case-folded unless quoted),
    ``type_sql`` the PostgreSQL type as written, lower-cased (``bigint``, ``varchar(20)``)."""

    name: str
    type_sql: str


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    name: str
    connector: str  # "kafka"
    columns: tuple[ColumnDef, ...]
    options: tuple[tuple[str, str], ...]  # (option name as normalised, value as written), in order
    sql: str  # the CREATE statement as the user wrote it (secret references, never values)
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def options_dict(self) -> dict[str, str]:
        return dict(self.options)

    @property
    def secret_refs(self) -> tuple[str, ...]:
        """Names of the secrets the options reference, in order of first use."""
        found: list[str] = []
        for _, value in self.options:
            name = secret_reference(value)
            if name is not None and name not in found:
                found.append(name)
        return tuple(found)


@dataclass(frozen=True, slots=True)
class SecretRecord:
    name: str
    ciphertext: bytes  # Fernet token; the plaintext never reaches a store
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class UserRecord:
    name: str
    scram_verifier: str  # PostgreSQL's SCRAM-SHA-256$... format; passwords are never stored
    superuser: bool
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PipelineRecord:
    name: str
    sql: str
    connections: tuple[str, ...]  # every connection the pipeline reads or writes
    state: str  # "running", "paused", "failed", ...
    created_at: dt.datetime
    updated_at: dt.datetime
    options: tuple[tuple[str, str], ...] = field(default=())


SECRET_PREFIX = "${secret:"  # noqa: S105 - the reference syntax, not a credential


def secret_reference(value: str) -> str | None:
    """The secret name in a ``'${secret:name}'`` option value, or None for a plain value."""
    if value.startswith(SECRET_PREFIX) and value.endswith("}"):
        return value[len(SECRET_PREFIX) : -1]
    return None


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
