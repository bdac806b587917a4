"""The extended query sub-protocol: Parse, Bind, Describe, Execute, Close, Sync and Flush.

Protocol bookkeeping only: named and unnamed statements and portals, parameter decoding,
result formats, row limits with PortalSuspended. Describe never executes a statement. What a
statement means is the session's business. Errors propagate to the connection, which reports
them and discards messages until Sync (see :mod:`gateway.protocol.state`).
"""

from __future__ import annotations

from typing import Any

from gateway import errors
from gateway.handlers.output import Output
from gateway.handlers.rows import (
    BINARY_FORMAT,
    TEXT_FORMAT,
    command_complete,
    resolve_formats,
    row_description,
)
from gateway.handlers.simple_query import (
    execute_reporting_progress,
    send_notices_and_parameters,
    send_result_rows,
)
from gateway.protocol import messages as m
from gateway.protocol import types as pgtypes
from gateway.protocol.state import TransactionStatus
from gateway.session import Portal, PreparedStatement, Session


def _decode_parameters(prepared: PreparedStatement, bind: m.Bind) -> tuple[Any, ...]:
    oids = prepared.param_oids
    if len(bind.params) != len(oids):
        raise errors.ProtocolViolation(
            f"bind message supplies {len(bind.params)} parameters, but prepared statement "
            f'"{bind.statement}" requires {len(oids)}'
        )
    formats = resolve_formats(len(oids), bind.param_formats) if oids else ()
    values: list[Any] = []
    for number, (raw, oid, fmt) in enumerate(zip(bind.params, oids, formats, strict=True), start=1):
        if raw is None:
            values.append(None)
            continue
        try:
            if fmt == BINARY_FORMAT:
                values.append(pgtypes.decode_binary(oid, raw))
            elif fmt == TEXT_FORMAT:
                values.append(pgtypes.decode_text(oid, raw))
            else:
                raise errors.ProtocolViolation(f"unsupported format code {fmt}")
        except errors.LaminarError:
            raise
        except (ValueError, TypeError, ArithmeticError, UnicodeDecodeError) as exc:
            type_name = pgtypes.TYPES_BY_OID[oid].name if oid in pgtypes.TYPES_BY_OID else str(oid)
            error = (
                errors.InvalidBinaryRepresentation
                if fmt == BINARY_FORMAT
                else errors.InvalidTextRepresentation
            )
            raise error(f"invalid input for parameter ${number} of type {type_name}: {exc}") from exc
    return tuple(values)


# Messages without fields, encoded once: the extended protocol sends several per round trip.
PARSE_COMPLETE = m.ParseComplete().encode()
BIND_COMPLETE = m.BindComplete().encode()
NO_DATA = m.NoData().encode()
EMPTY_QUERY_RESPONSE = m.EmptyQueryResponse().encode()
PORTAL_SUSPENDED = m.PortalSuspended().encode()
CLOSE_COMPLETE = m.CloseComplete().encode()
READY_FOR_QUERY = {status: m.ReadyForQuery(status.value).encode() for status in TransactionStatus}


class ExtendedQueryHandler:
    """Extended-protocol messages of one connection."""

    def __init__(self, session: Session, output: Output) -> None:
        self.session = session
        self.output = output

    def _statement(self, name: str) -> PreparedStatement:
        prepared = self.session.statements.get(name)
        if prepared is None:
            raise errors.InvalidStatementName(f'prepared statement "{name}" does not exist')
        return prepared

    def _portal(self, name: str) -> Portal:
        portal = self.session.portals.get(name)
        if portal is None:
            raise errors.InvalidCursorName(f'portal "{name}" does not exist')
        return portal

    async def parse(self, message: m.Parse) -> None:
        if message.name and message.name in self.session.statements:
            raise errors.DuplicatePreparedStatement(f'prepared statement "{message.name}" already exists')
        prepared = await self.session.prepare_for_client(message.sql, message.param_oids)
        self.session.statements[message.name] = prepared
        self.output.write(PARSE_COMPLETE)

    def bind(self, message: m.Bind) -> None:
        prepared = self._statement(message.statement)
        if message.portal and message.portal in self.session.portals:
            raise errors.DuplicateCursor(f'cursor "{message.portal}" already exists')
        params = _decode_parameters(prepared, message)
        self.session.close_portal(message.portal)
        self.session.portals[message.portal] = Portal(prepared, params, message.result_formats)
        self.output.write(BIND_COMPLETE)

    def describe(self, message: m.Describe) -> None:
        if message.kind == "S":
            prepared = self._statement(message.name)
            self.output.write(m.ParameterDescription(prepared.param_oids).encode())
            self._describe_rows(prepared, ())
        else:
            portal = self._portal(message.name)
            self._describe_rows(portal.prepared, portal.result_formats)

    def _describe_rows(self, prepared: PreparedStatement, requested_formats: tuple[int, ...]) -> None:
        if prepared.statement is None:
            self.output.write(NO_DATA)
            return
        columns = self.session.describe(prepared)
        if columns is None:
            self.output.write(NO_DATA)
        else:
            formats = resolve_formats(len(columns), requested_formats)
            self.output.write(row_description(columns, formats))

    async def execute(self, message: m.Execute) -> None:
        portal = self._portal(message.portal)
        prepared = portal.prepared
        if prepared.statement is None:
            self.output.write(EMPTY_QUERY_RESPONSE)
            return
        if portal.result is None:
            portal.result = await execute_reporting_progress(
                self.session, self.output, prepared, portal.params
            )
            send_notices_and_parameters(self.output, portal.result)
        result = portal.result
        if result.columns is None:
            self.output.write(command_complete(result.command_tag(0)))
            return
        formats = resolve_formats(len(result.columns), portal.result_formats)
        sent, more = await send_result_rows(self.output, self.session, result, formats, message.max_rows)
        if more:
            self.output.write(PORTAL_SUSPENDED)
            return
        # Like PostgreSQL, the tag counts the rows of this Execute, not of the whole portal.
        self.output.write(command_complete(result.command_tag(sent)))
        if result.rows is not None:
            result.rows.close()

    def close(self, message: m.Close) -> None:
        if message.kind == "S":
            self.session.statements.pop(message.name, None)
        else:
            self.session.close_portal(message.name)
        self.output.write(CLOSE_COMPLETE)

    def sync(self, status: TransactionStatus) -> None:
        """End of an extended batch; outside a transaction block, portals end with it."""
        if status is TransactionStatus.IDLE:
            self.session.close_portals()
        self.output.write(READY_FOR_QUERY[status])
