"""Catalog statements as the session runs them: DDL, SHOW of catalog objects, test_connection.

The session hands typed statements here; :class:`catalog.service.Catalog` does the work. This
module only turns outcomes into results (tags, notices, rows) for the client.
"""

from __future__ import annotations

from typing import TypeGuard

from catalog.model import ConnectionRecord, now
from catalog.options import validate_connection_options
from catalog.probe import PROBE_TIMEOUT_S, describe_probe, probe_brokers
from catalog.service import Catalog, Outcome, render_connection
from gateway.protocol import types as pgtypes
from gateway.query.results import Column, ListRowSource, Notice, Result
from gateway.sql import statements as st
from pipelines import commands as pipeline_commands
from sources.schema_decoders import SCHEMA_FORMATS, schema_columns

TEST_CONNECTION_TIMEOUT_S = PROBE_TIMEOUT_S

DdlStatement = (
    st.CreateConnectionStatement
    | st.AlterConnectionStatement
    | st.SecretStatement
    | st.UserStatement
    | st.DropStatement
)
PipelineDdl = st.CreatePipelineStatement | st.AlterPipelineStatement | st.DropStatement


def is_pipeline_statement(statement: DdlStatement | PipelineDdl) -> TypeGuard[PipelineDdl]:
    """Statements the pipeline supervisor handles (DROP PIPELINE included)."""
    if isinstance(statement, st.DropStatement):
        return statement.kind == "PIPELINE"
    return isinstance(statement, st.CreatePipelineStatement | st.AlterPipelineStatement)


def command_name(statement: DdlStatement | PipelineDdl) -> str:
    if isinstance(statement, st.CreatePipelineStatement):
        return "CREATE PIPELINE"
    if isinstance(statement, st.AlterPipelineStatement):
        return "ALTER PIPELINE"
    if isinstance(statement, st.CreateConnectionStatement):
        return "CREATE CONNECTION"
    if isinstance(statement, st.AlterConnectionStatement):
        return "ALTER CONNECTION"
    if isinstance(statement, st.SecretStatement):
        return "ALTER SECRET" if statement.alter else "CREATE SECRET"
    if isinstance(statement, st.UserStatement):
        return "ALTER USER" if statement.alter else "CREATE USER"
    return f"DROP {statement.kind}"


def _result(outcome: Outcome) -> Result:
    return Result(outcome.tag, notices=[Notice(text) for text in outcome.notices])


async def _schema_source_columns(
    catalog: Catalog, statement: st.CreateConnectionStatement
) -> tuple[tuple[str, str], ...]:
    """The declared columns, or for an Avro/Protobuf source declaring none, its schema's columns."""
    options = dict(statement.options)
    fmt = options.get("format", "").strip().lower()
    if statement.columns or options.get("type", "").strip().lower() != "source" or fmt not in SCHEMA_FORMATS:
        return statement.columns
    secrets = {secret.name for secret in await catalog.store.list_secrets()}
    validated = validate_connection_options(statement.options, secret_exists=secrets.__contains__)
    draft = ConnectionRecord(
        statement.name, statement.connector, (), statement.options, statement.sql, now(), now()
    )
    return tuple(await schema_columns(validated, await catalog.resolve_options(draft)))


async def execute(catalog: Catalog, statement: DdlStatement) -> Result:
    if isinstance(statement, st.CreateConnectionStatement):
        outcome = await catalog.create_connection(
            statement.name,
            statement.connector,
            await _schema_source_columns(catalog, statement),
            statement.options,
            sql=statement.sql,
            if_not_exists=statement.if_not_exists,
        )
    elif isinstance(statement, st.AlterConnectionStatement):
        outcome = await catalog.alter_connection(
            statement.name, statement.set_options, statement.reset_options
        )
    elif isinstance(statement, st.SecretStatement):
        outcome = await catalog.put_secret(
            statement.name, statement.value, alter=statement.alter, if_not_exists=statement.if_not_exists
        )
    elif isinstance(statement, st.UserStatement):
        outcome = await catalog.put_user(
            statement.name,
            statement.password,
            statement.superuser,
            alter=statement.alter,
            if_not_exists=statement.if_not_exists,
        )
    else:
        outcome = await catalog.drop(
            statement.kind, statement.name, if_exists=statement.if_exists, cascade=statement.cascade
        )
    return _result(outcome)


_SHOW_COLUMNS = {
    "CONNECTION": ("name", "type", "format", "topic", "bootstrap_servers"),
    "SECRET": ("name", "created_at"),
    "USER": ("name", "superuser"),
}
_SHOW_TYPES = {"created_at": pgtypes.TIMESTAMPTZ, "superuser": pgtypes.BOOL}


def show_columns(statement: st.ShowObjectsStatement) -> tuple[Column, ...]:
    if statement.kind == "PIPELINE":
        return pipeline_commands.SHOW_COLUMNS
    if statement.create_of is not None:
        return (Column("name", pgtypes.TEXT), Column("create_sql", pgtypes.TEXT))
    return tuple(Column(name, _SHOW_TYPES.get(name, pgtypes.TEXT)) for name in _SHOW_COLUMNS[statement.kind])


async def show(catalog: Catalog, statement: st.ShowObjectsStatement) -> Result:
    columns = show_columns(statement)
    rows: list[tuple[object, ...]]
    if statement.create_of is not None:
        record = await catalog.connection(statement.create_of)
        rows = [(record.name, render_connection(record))]
    elif statement.kind == "CONNECTION":
        rows = [row[:5] for row in await catalog.connection_rows()]
    elif statement.kind == "SECRET":
        rows = [row[:2] for row in await catalog.secret_rows()]
    else:
        rows = [row[:2] for row in await catalog.user_rows()]
    return Result("SHOW", columns, ListRowSource(rows))


async def test_connection(catalog: Catalog, name: str) -> str:
    """Connect to the connection's brokers and say what works (a line for test_connection())."""
    record = await catalog.connection(name)
    options = await catalog.resolve_options(record)
    result = await probe_brokers(options["bootstrap_servers"], timeout_s=TEST_CONNECTION_TIMEOUT_S)
    return describe_probe(name, options.get("topic"), result)
