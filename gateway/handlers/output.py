"""Buffered output of one connection, written to the socket in as few writes as possible.

Handlers append encoded messages; the connection flushes at ReadyForQuery and Flush, and a
large result is drained in pieces so that memory stays bounded when a client reads slowly.
"""

from __future__ import annotations

import asyncio

FLUSH_THRESHOLD = 256 * 1024


class Output:
    def __init__(self, writer: asyncio.StreamWriter | None = None) -> None:
        self._writer = writer
        self._buffer = bytearray()

    def attach(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        self._buffer += data

    def take(self) -> bytes:
        """Everything buffered so far (used by tests and by flush)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    async def flush(self) -> None:
        if self._buffer and self._writer is not None:
            self._writer.write(self.take())
            await self._writer.drain()

    async def drain_if_full(self) -> None:
        if len(self._buffer) >= FLUSH_THRESHOLD:
            await self.flush()
