"""The catalog service: DDL semantics on top of a store — validation, secrets, users, rendering.

Every DDL statement is validated completely before the store is touched (a connection whose
format is not supported yet, avro or protobuf until issue 6, is refused here with 0A000), and the
store applies it in one transaction, so a failed statement changes nothing. Secret values are encrypted here
and decrypted only by :meth:`Catalog.resolve_options`, when a connection is actually used.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import ParseError

from catalog.model import ColumnDef, ConnectionRecord, SecretRecord, UserRecord, now, secret_reference
from catalog.options import CONNECTION_TYPES, ValidatedOptions, describe_options, validate_connection_options
from catalog.secret_box import SecretBox
from catalog.store import CatalogStore
from gateway import errors
from gateway.auth.passwords import make_scram_verifier
from gateway.sql.params import oid_of_datatype

CONNECTORS = ("kafka",)
REDACTED = "********"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a DDL statement did: its command tag and notices for the client."""

    tag: str
    notices: tuple[str, ...] = ()


def _check_columns(columns: Sequence[tuple[str, str]]) -> tuple[ColumnDef, ...]:
    seen: set[str] = set()
    result = []
    for name, type_sql in columns:
        if name in seen:
            raise errors.DuplicateColumn(f'column "{name}" specified more than once')
        seen.add(name)
        try:
            datatype = exp.DataType.build(type_sql, dialect="postgres")
        except (ParseError, ValueError) as exc:
            raise errors.UndefinedObject(f'type "{type_sql}" does not exist') from exc
        if oid_of_datatype(datatype) is None and datatype.this != exp.DataType.Type.MAP:
            raise errors.UndefinedObject(f'type "{type_sql}" of column "{name}" is not supported by Laminar')
        result.append(ColumnDef(name, type_sql))
    return tuple(result)


def _quote_option_name(name: str) -> str:
    return name if name.isidentifier() and name.islower() else "'" + name.replace("'", "''") + "'"


def render_connection(record: ConnectionRecord) -> str:
    """A CREATE CONNECTION statement that recreates the connection (secrets stay references)."""
    columns = ""
    if record.columns:
        columns = " (" + ", ".join(f"{c.name} {c.type_sql}" for c in record.columns) + ")"
    options = ",\n".join(
        f"    {_quote_option_name(name)} = '{value.replace(chr(39), chr(39) * 2)}'"
        for name, value in record.options
    )
    return f"CREATE CONNECTION {record.name}{columns} TO {record.connector} (\n{options}\n)"


class Catalog:
    """Connections, secrets and users, validated and persisted."""

    def __init__(self, store: CatalogStore, secret_box: SecretBox) -> None:
        self.store = store
        self.secret_box = secret_box

    async def _secret_names(self) -> set[str]:
        return {secret.name for secret in await self.store.list_secrets()}

    async def _validate(
        self, options: Sequence[tuple[str, str]], columns: Sequence[ColumnDef]
    ) -> ValidatedOptions:
        secrets = await self._secret_names()
        return validate_connection_options(
            options, secret_exists=secrets.__contains__, columns=[c.name for c in columns]
        )

    # -- connections ---------------------------------------------------------------------------
    async def create_connection(
        self,
        name: str,
        connector: str,
        columns: Sequence[tuple[str, str]],
        options: Sequence[tuple[str, str]],
        *,
        sql: str,
        if_not_exists: bool = False,
    ) -> Outcome:
        if connector not in CONNECTORS:
            raise errors.UndefinedObject(
                f'connector "{connector}" does not exist',
                hint=f"Laminar connects to: {', '.join(CONNECTORS)}.",
            )
        column_defs = _check_columns(columns)
        await self._validate(options, column_defs)
        if await self.store.get_connection(name) is not None:
            if if_not_exists:
                return Outcome("CREATE CONNECTION", (f'connection "{name}" already exists, skipping',))
            raise errors.DuplicateObject(f'connection "{name}" already exists')
        stamp = now()
        record = ConnectionRecord(name, connector, column_defs, tuple(options), sql, stamp, stamp)
        await self.store.create_connection(record)
        return Outcome("CREATE CONNECTION")

    async def connection(self, name: str) -> ConnectionRecord:
        record = await self.store.get_connection(name)
        if record is None:
            raise errors.UndefinedObject(f'connection "{name}" does not exist')
        return record

    async def alter_connection(
        self, name: str, set_options: Sequence[tuple[str, str]], reset_options: Sequence[str]
    ) -> Outcome:
        record = await self.connection(name)
        options = dict(record.options)
        for option in reset_options:
            if option not in options:
                raise errors.UndefinedObject(f'option "{option}" is not set on connection "{name}"')
            del options[option]
        options.update(set_options)
        merged = tuple(options.items())
        validated = await self._validate(merged, record.columns)
        fmt = validated.string("format")
        if validated.connection_type == "source" and fmt in ("avro", "protobuf") and not record.columns:
            # CREATE takes such a source's columns from the registry; ALTER cannot give it any.
            raise errors.FeatureNotSupported(
                f'source "{name}" declares no columns, so it cannot become format {fmt} by ALTER',
                hint="DROP and CREATE it again with the new format: its columns then come from the schema.",
            )
        updated = dataclasses.replace(record, options=merged, updated_at=now())
        updated = dataclasses.replace(updated, sql=render_connection(updated))
        await self.store.replace_connection(updated)
        return Outcome("ALTER CONNECTION")

    async def drop(self, kind: str, name: str, *, if_exists: bool, cascade: bool) -> Outcome:
        label = kind.lower()
        tag = f"DROP {'ROLE' if kind == 'USER' else kind}"
        try:
            if kind == "CONNECTION":
                dropped = await self.store.drop_connection(name, cascade=cascade)
                notices = tuple(f'drop cascades to pipeline "{p}"' for p in dropped)
                return Outcome(tag, notices)
            if kind == "SECRET":
                await self.store.drop_secret(name)
            else:
                await self.store.drop_user(name)
        except errors.UndefinedObject as exc:
            noun = "role" if kind == "USER" else label  # PostgreSQL calls users roles
            if if_exists:
                return Outcome(tag, (f'{noun} "{name}" does not exist, skipping',))
            raise errors.UndefinedObject(f'{noun} "{name}" does not exist') from exc
        return Outcome(tag)

    # -- secrets -------------------------------------------------------------------------------
    async def put_secret(self, name: str, value: str, *, alter: bool, if_not_exists: bool = False) -> Outcome:
        existing = await self.store.get_secret(name)
        stamp = now()
        if alter:
            if existing is None:
                raise errors.UndefinedObject(f'secret "{name}" does not exist')
            record = SecretRecord(name, self.secret_box.encrypt(value), existing.created_at, stamp)
            await self.store.replace_secret(record)
            return Outcome("ALTER SECRET")
        if existing is not None:
            if if_not_exists:
                return Outcome("CREATE SECRET", (f'secret "{name}" already exists, skipping',))
            raise errors.DuplicateObject(f'secret "{name}" already exists')
        await self.store.create_secret(SecretRecord(name, self.secret_box.encrypt(value), stamp, stamp))
        return Outcome("CREATE SECRET")

    async def resolve_options(self, record: ConnectionRecord) -> dict[str, str]:
        """Option values with secret references replaced by the secrets' values (use only)."""
        resolved: dict[str, str] = {}
        for option, value in record.options:
            name = secret_reference(value)
            if name is None:
                resolved[option] = value
                continue
            secret = await self.store.get_secret(name)
            if secret is None:
                raise errors.UndefinedObject(
                    f'secret "{name}" used by connection "{record.name}" does not exist'
                )
            resolved[option] = self.secret_box.decrypt(secret.ciphertext)
        return resolved

    # -- users ---------------------------------------------------------------------------------
    async def put_user(
        self,
        name: str,
        password: str | None,
        superuser: bool | None,
        *,
        alter: bool,
        if_not_exists: bool = False,
    ) -> Outcome:
        existing = await self.store.get_user(name)
        stamp = now()
        if alter:
            if existing is None:
                raise errors.UndefinedObject(f'role "{name}" does not exist')
            record = dataclasses.replace(
                existing,
                scram_verifier=make_scram_verifier(password)
                if password is not None
                else existing.scram_verifier,
                superuser=existing.superuser if superuser is None else superuser,
                updated_at=stamp,
            )
            await self.store.replace_user(record)
            return Outcome("ALTER ROLE")
        if existing is not None:
            if if_not_exists:
                return Outcome("CREATE ROLE", (f'role "{name}" already exists, skipping',))
            raise errors.DuplicateObject(f'role "{name}" already exists')
        if password is None:
            raise errors.InvalidParameterValue(
                f'user "{name}" needs a password', hint=f"CREATE USER {name} WITH PASSWORD '...'"
            )
        record = UserRecord(name, make_scram_verifier(password), bool(superuser), stamp, stamp)
        try:
            await self.store.create_user(record)
        except errors.DuplicateObject as exc:  # another session won the race
            raise errors.DuplicateObject(f'role "{name}" already exists') from exc
        return Outcome("CREATE ROLE")

    async def user(self, name: str) -> UserRecord | None:
        return await self.store.get_user(name)

    # -- views ---------------------------------------------------------------------------------
    async def connection_rows(self) -> list[tuple[object, ...]]:
        """Rows of system.connections; option values of secret-bearing options are redacted."""
        rows: list[tuple[object, ...]] = []
        for record in await self.store.list_connections():
            options = dict(record.options)
            shown = {key: _redacted(key, value) for key, value in record.options}
            rows.append(
                (
                    record.name,
                    options.get("type"),
                    options.get("format"),
                    options.get("topic"),
                    options.get("bootstrap_servers"),
                    json.dumps(shown),
                    [c.name for c in record.columns],
                    record.created_at,
                    record.updated_at,
                )
            )
        return rows

    async def secret_rows(self) -> list[tuple[object, ...]]:
        return [(s.name, s.created_at, s.updated_at) for s in await self.store.list_secrets()]

    async def user_rows(self) -> list[tuple[object, ...]]:
        return [(u.name, u.superuser, u.created_at) for u in await self.store.list_users()]


@functools.cache
def _credential_options() -> frozenset[str]:
    """Options that may hold a secret reference (sasl.username, schema_registry.api_key, ...)."""
    return frozenset(
        spec.name for kind in CONNECTION_TYPES for spec in describe_options(kind) if spec.secret_ok
    )


def _redacted(option: str, value: str) -> str:
    """Secret references are shown as written; literal values of credential options are not."""
    if secret_reference(value) is None and option in _credential_options():
        return REDACTED
    return value
