"""The asyncio TCP server: accepts sockets, hands each to a ClientConnection, stops cleanly.

It only moves bytes and owns process-level concerns: listening, TLS context, signals and
shutdown. On SIGTERM or SIGINT it stops accepting, tells every connected client
``57P01 terminating connection due to administrator command`` and closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from dataclasses import dataclass
from pathlib import Path

from gateway.connection import ClientConnection, ConnectionConfig

log = logging.getLogger(__name__)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


@dataclass
class GatewayServer:
    host: str
    port: int
    config: ConnectionConfig

    def __post_init__(self) -> None:
        self._connections: dict[asyncio.Task[None], ClientConnection] = {}
        self._server: asyncio.Server | None = None
        self._stopping = asyncio.Event()
        self._stopped = False

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = ClientConnection(reader, writer, self.config)
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = connection
        try:
            await connection.serve()
        finally:
            self._connections.pop(task, None)

    async def start(self) -> None:
        # Signals are handled from the moment clients can connect: a SIGTERM while the node still
        # resumes its pipelines must stop it cleanly, not kill it.
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=2**20)
        log.info("Laminar gateway listening on %s:%s", self.host, self.port)

    def request_stop(self) -> None:
        self._stopping.set()

    async def serve_until_stopped(self) -> None:
        await self._stopping.wait()
        await self.stop()

    async def stop(self) -> None:
        """Stop accepting and end every connection; a second call does nothing."""
        if self._stopped:
            return
        self._stopped = True
        if self._server is not None:
            self._server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        if self._server is not None:
            await self._server.wait_closed()
        log.info("Laminar gateway stopped")
