"""The sink connections a gateway process has open, one producer per connection.

Producers are expensive (connections, metadata, an idempotent or transactional identity), so
all sessions share one :class:`KafkaSink` per connection. A connection that was altered gets a
fresh sink on next use; dropped or replaced sinks are closed. A pipeline that runs as several
tasks writes exactly-once through one producer per task (its own transactional id, see
:class:`pipelines.options.TaskSlot`): those sinks are kept under the connection's name and the task.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable

from catalog.model import ConnectionRecord
from catalog.options import validate_connection_options
from catalog.service import Catalog
from gateway import errors
from sinks.kafka_sink import KafkaSink
from sinks.metrics import ProducerMetrics

Version = tuple[dt.datetime, tuple[dt.datetime | None, ...]]


class SinkRegistry:
    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self.metrics = ProducerMetrics()
        self._sinks: dict[str, tuple[Version, KafkaSink]] = {}
        self._lock = asyncio.Lock()

    async def _version(self, record: ConnectionRecord) -> Version:
        """When the connection or a secret it uses last changed: a sink built before is stale
        (ALTER SECRET of a registry password must reach the sink that uses it)."""
        stamps = []
        for name in record.secret_refs:
            secret = await self._catalog.store.get_secret(name)
            stamps.append(None if secret is None else secret.updated_at)
        return (record.updated_at, tuple(stamps))

    async def sink_for(
        self,
        record: ConnectionRecord,
        *,
        task: int | None = None,
        transactional_id: Callable[[str], str] = str,
    ) -> KafkaSink:
        """The connection's shared sink; with ``task``, the task's own sink (if the connection is
        transactional), its transactional id ``transactional_id(the connection's)``."""
        options = dict(record.options)
        if task is not None and "transactional.id" in options:
            options["transactional.id"] = transactional_id(options["transactional.id"])
            record = dataclasses.replace(record, options=tuple(options.items()))
            key = f"{record.name}/{task}"
        else:
            key = record.name
        async with self._lock:
            version = await self._version(record)
            current = self._sinks.get(key)
            if current is not None and current[0] == version:
                return current[1]
            if current is not None:
                await current[1].close()
                del self._sinks[key]
            sink = await self._build(record, depth=0)
            self._sinks[key] = (version, sink)
            return sink

    async def _build(self, record: ConnectionRecord, *, depth: int) -> KafkaSink:
        secrets = {s.name for s in await self._catalog.store.list_secrets()}
        options = validate_connection_options(
            record.options, secret_exists=secrets.__contains__, columns=[c.name for c in record.columns]
        )
        if options.connection_type != "sink":
            raise errors.WrongObjectType(
                f'connection "{record.name}" is a {options.connection_type}; '
                "INSERT writes to sink connections"
            )
        dead_letters = None
        dlq_name = options.string("dlq_connection")
        if dlq_name is not None and depth == 0:
            dead_letters = await self._build(await self._catalog.connection(dlq_name), depth=1)
        resolved = await self._catalog.resolve_options(record)
        return KafkaSink(record.name, options, resolved, self.metrics, dead_letters=dead_letters)

    def status_rows(self) -> list[tuple[object, ...]]:
        """Rows of system.kafka_producer_status: the live state of each open producer."""
        rows: list[tuple[object, ...]] = []
        for name, (_, sink) in sorted(self._sinks.items()):
            status = sink.status()
            rows.append(
                (
                    name,
                    status.buffer_available_bytes,
                    status.buffer_total_bytes,
                    status.waiting_threads,
                    status.metadata_age_ms,
                )
            )
        return rows

    async def close(self) -> None:
        async with self._lock:
            for _, sink in self._sinks.values():
                await sink.close()
            self._sinks.clear()
