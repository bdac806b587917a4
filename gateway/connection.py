"""One client connection from the first byte to the last: startup, authentication, queries.

This module moves decoded messages between the socket and the handlers and keeps the protocol
state machine; it does no SQL work itself. The order of events follows "Message Flow" in the
PostgreSQL documentation; the rules are written at the top of :mod:`gateway.protocol.state`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass, field

from catalog.service import Catalog
from gateway import errors
from gateway.auth.throttle import LoginThrottle
from gateway.handlers.authentication import AuthConfig, Authenticator
from gateway.handlers.cancel import BackendRegistry
from gateway.handlers.extended_query import READY_FOR_QUERY, ExtendedQueryHandler
from gateway.handlers.output import Output
from gateway.handlers.simple_query import handle_query
from gateway.protocol import messages as m
from gateway.protocol.state import EXTENDED_MESSAGES, ConnectionState
from gateway.session import Session
from pipelines.supervisor import Supervisor
from sinks.registry import SinkRegistry

log = logging.getLogger(__name__)

READ_SIZE = 256 * 1024


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    auth: AuthConfig
    tls: ssl.SSLContext | None = None
    max_message_size: int = m.DEFAULT_MAX_MESSAGE_SIZE
    registry: BackendRegistry = field(default_factory=BackendRegistry)
    catalog: Catalog | None = None
    sinks: SinkRegistry | None = None
    pipelines: Supervisor | None = None
    logins: LoginThrottle = field(default_factory=LoginThrottle)


class _Closed(Exception):
    """The peer went away or the connection must end now."""


class ClientConnection:
    """Drives one connection."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, config: ConnectionConfig
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._config = config
        self._buffer = bytearray()
        self._offset = 0
        self._output = Output(writer)
        self._state = ConnectionState()
        self._tls_done = False
        self.session: Session | None = None

    # -- byte plumbing -------------------------------------------------------------------------
    async def _fill(self) -> None:
        data = await self._reader.read(READ_SIZE)
        if not data:
            raise _Closed
        self._buffer += data

    async def _next_startup_packet(self) -> m.StartupPacket:
        del self._buffer[: self._offset]
        self._offset = 0
        while (decoded := m.decode_startup(self._buffer)) is None:
            await self._fill()
        packet, used = decoded
        del self._buffer[:used]
        return packet

    async def _next_message(self) -> m.FrontendMessage:
        # Messages are decoded in place from an offset; consumed bytes are dropped only when the
        # buffer runs dry, so a pipelined batch costs one copy rather than one per message.
        while (
            decoded := m.decode_frontend(self._buffer, self._config.max_message_size, self._offset)
        ) is None:
            del self._buffer[: self._offset]
            self._offset = 0
            await self._output.flush()
            await self._fill()
        message, self._offset = decoded
        return message

    def _send_error(self, exc: BaseException) -> None:
        self._output.write(m.ErrorResponse(errors.error_fields(exc)).encode())

    # -- lifecycle -----------------------------------------------------------------------------
    async def serve(self) -> None:
        try:
            await self._serve()
        except _Closed:
            pass
        except asyncio.CancelledError:
            # The server is shutting down: tell the client why before closing, as PostgreSQL does.
            self._send_error(errors.AdminShutdown("terminating connection due to administrator command"))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._output.flush(), timeout=1)
            raise
        except errors.FatalError as exc:
            self._send_error(exc)
            await self._flush_quietly()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
            log.debug("connection lost: %s", exc)
        except Exception as exc:
            log.exception("connection failed")
            self._send_error(exc)
            await self._flush_quietly()
        finally:
            await self._close()

    async def _flush_quietly(self) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self._output.flush()

    async def _close(self) -> None:
        self._state.close()
        if self.session is not None:
            self.session.close()
        self._writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self._writer.wait_closed()

    async def _serve(self) -> None:
        startup = await self._negotiate()
        if startup is None:
            return
        user = startup.parameters.get("user", "")
        if not user:
            raise errors.InvalidAuthorization("no PostgreSQL user name specified in startup packet")
        await self._authenticate(user)
        key = self._config.registry.register(self)
        try:
            self.session = Session(
                user=user,
                database=startup.parameters.get("database") or user,
                startup=startup.parameters,
                backend_pid=key.process_id,
                state=self._state,
                catalog=self._config.catalog,
                sinks=self._config.sinks,
                pipelines=self._config.pipelines,
            )
            for name, value in self.session.settings.reported():
                self._output.write(m.ParameterStatus(name, value).encode())
            self._output.write(m.BackendKeyData(key.process_id, key.secret_key).encode())
            self._output.write(m.ReadyForQuery(self._state.transaction.value).encode())
            await self._query_loop(self.session)
        finally:
            self._config.registry.unregister(key)

    def cancel(self) -> None:
        if self.session is not None:
            self.session.cancel()

    async def _negotiate(self) -> m.StartupMessage | None:
        """SSL/GSS negotiation and cancel requests, up to the StartupMessage."""
        while True:
            packet = await self._next_startup_packet()
            if isinstance(packet, m.SSLRequest):
                if self._buffer:  # bytes after an SSLRequest would bypass encryption
                    raise errors.ProtocolViolation("received unencrypted data after SSL request")
                if self._config.tls is not None and not self._tls_done:
                    self._writer.write(b"S")
                    await self._writer.drain()
                    await self._writer.start_tls(self._config.tls)
                    self._tls_done = True
                else:
                    self._writer.write(b"N")
                continue
            if isinstance(packet, m.GSSENCRequest):
                self._writer.write(b"N")
                continue
            if isinstance(packet, m.CancelRequest):
                self._config.registry.cancel(packet.process_id, packet.secret_key)
                return None
            minor = packet.protocol & 0xFFFF
            unknown = tuple(name for name in packet.parameters if name.startswith("_pq_."))
            if minor > 0 or unknown:
                self._output.write(m.NegotiateProtocolVersion(0, unknown).encode())
            return packet

    async def _authenticate(self, user: str) -> None:
        self._state.start_authentication()
        credential = await self._config.auth.find(user)
        authenticator = Authenticator(self._config.auth, user, credential)
        self._output.write(authenticator.start().encode())
        while not authenticator.done:
            message = await self._next_message()
            if isinstance(message, m.Terminate):
                raise _Closed
            self._state.admit(message)
            assert isinstance(message, m.PasswordData)
            try:
                replies = authenticator.receive(message)
            except errors.InvalidPassword:
                # Pause before answering, longer the more this address failed (gateway/auth/throttle.py).
                delay = self._config.logins.failed(self._peer_address())
                if delay > 0:
                    log.warning(
                        "failed login for %r from %s: answering in %.1f s", user, self._peer_address(), delay
                    )
                    await asyncio.sleep(delay)
                raise
            for reply in replies:
                self._output.write(reply.encode())
        self._config.logins.succeeded(self._peer_address())
        self._state.authenticated()

    def _peer_address(self) -> str:
        peer = self._writer.get_extra_info("peername")
        return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"

    # -- queries -------------------------------------------------------------------------------
    async def _query_loop(self, session: Session) -> None:
        extended = ExtendedQueryHandler(session, self._output)
        while True:
            message = await self._next_message()
            if not self._state.admit(message):
                continue
            if isinstance(message, m.Terminate):
                return
            if isinstance(message, m.Sync):
                extended.sync(self._state.sync())
                continue
            if isinstance(message, m.Flush):
                await self._output.flush()
                continue
            try:
                await self._dispatch(extended, message)
            except errors.FatalError:
                raise
            except Exception as exc:
                self._send_error(exc)
                if isinstance(message, EXTENDED_MESSAGES):
                    self._state.extended_error()
                else:
                    self._state.statement_failed()
            if isinstance(message, m.Query):
                session.close_portal("")
                self._output.write(READY_FOR_QUERY[self._state.transaction])

    async def _dispatch(self, extended: ExtendedQueryHandler, message: m.FrontendMessage) -> None:
        if isinstance(message, m.Query):
            assert self.session is not None
            await handle_query(self.session, self._output, message.sql)
        elif isinstance(message, m.Parse):
            await extended.parse(message)
        elif isinstance(message, m.Bind):
            extended.bind(message)
        elif isinstance(message, m.Describe):
            extended.describe(message)
        elif isinstance(message, m.Execute):
            await extended.execute(message)
        elif isinstance(message, m.Close):
            extended.close(message)
        else:
            raise errors.ProtocolViolation(f"unexpected {type(message).__name__} message")
