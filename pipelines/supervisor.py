"""The supervisor: one asyncio task per running pipeline, kept in step with the catalog.

The catalog holds what the user asked for (a pipeline is ``running`` or ``paused``); the
supervisor holds what is happening (``starting``, ``running``, ``retrying``, ``failed``).
:meth:`Supervisor.reconcile` compares the two and starts or stops tasks; it runs when the gateway
starts (so every running pipeline resumes from its committed offsets after a restart) and after
every statement that changes pipelines or connections. A pipeline whose definition or whose
connections changed since its task started is restarted, so ``ALTER CONNECTION`` takes effect.
A failed pipeline stays failed (its error visible) until ``ALTER PIPELINE ... RESUME``, a change
of one of its connections, or a gateway restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.model import PipelineRecord
from catalog.service import Catalog
from pipelines.runner import STOP_TIMEOUT_S, PipelineRunner, PipelineStatus
from sinks.registry import SinkRegistry

log = logging.getLogger(__name__)

LEASE_S = 10.0  # how long a node holds a pipeline without renewing it

Fingerprint = tuple[dt.datetime, tuple[dt.datetime | None, ...]]


@dataclass(slots=True)
class _Running:
    runner: PipelineRunner
    task: asyncio.Task[None]
    fingerprint: Fingerprint


class Supervisor:
    """Runs this gateway's pipelines."""

    def __init__(
        self, catalog: Catalog, sinks: SinkRegistry, *, node: str = "local", lease_s: float = LEASE_S
    ) -> None:
        """``node`` names this gateway among the nodes sharing the catalog; a pipeline runs on the
        node holding its lease, renewed every ``lease_s / 3`` and taken over by another node once
        ``lease_s`` passed without renewal (the node died or lost the catalog)."""
        self.catalog = catalog
        self.sinks = sinks
        self.node = node
        self.lease_s = lease_s
        self._started_at = time.time()
        self._running: dict[str, _Running] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        self._keeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Resume every running pipeline this node can lease, then keep the leases and follow
        changes other nodes make to the catalog."""
        await self._tick()
        self._keeper = asyncio.create_task(self._keep(), name="pipeline leases")

    async def _keep(self) -> None:
        renewed = time.monotonic()
        while not self._closed:
            await asyncio.sleep(self.lease_s / 3)  # the renewal period, not a synchronisation
            try:
                await self._tick()
                renewed = time.monotonic()
            except Exception:
                log.exception("renewing pipeline leases failed (retrying)")
                if time.monotonic() - renewed > self.lease_s:
                    # Our leases have expired: another node may run these pipelines now.
                    await self._stop_all("its leases expired while the catalog was unreachable")

    async def _stop_all(self, why: str) -> None:
        async with self._lock:
            names = list(self._running)
            if names:
                log.warning("stopping pipelines %s: %s", ", ".join(names), why)
            await asyncio.gather(*(self._stop(name) for name in names))

    async def _tick(self) -> None:
        await self.catalog.store.heartbeat(self.node, self._started_at, time.time())
        await self.reconcile()

    async def reconcile(self) -> None:
        """Start the pipelines that should run and do not, stop those that should not."""
        async with self._lock:
            if self._closed:
                return
            store = self.catalog.store
            records = await store.list_pipelines()
            changed_at = {record.name: record.updated_at for record in await store.list_connections()}
            to_run = [record.name for record in records if record.state == "running"]
            held = await store.claim_pipelines(to_run, self.node, time.time(), self.lease_s)
            wanted: dict[str, tuple[PipelineRecord, Fingerprint]] = {}
            for record in records:
                if record.state == "running" and record.name in held:
                    fingerprint = (record.updated_at, tuple(changed_at.get(c) for c in record.connections))
                    wanted[record.name] = (record, fingerprint)
            for name, running in list(self._running.items()):
                if name not in wanted or wanted[name][1] != running.fingerprint:
                    await self._stop(name)
            for name, (record, fingerprint) in wanted.items():
                if name not in self._running:
                    self._start(record, fingerprint)

    def _start(self, record: PipelineRecord, fingerprint: Fingerprint) -> None:
        runner = PipelineRunner(record, self.catalog, self.sinks)
        task = asyncio.create_task(runner.run(), name=f"pipeline {record.name}")
        task.add_done_callback(lambda done: _log_crash(record.name, done))
        self._running[record.name] = _Running(runner, task, fingerprint)

    async def _stop(self, name: str) -> None:
        running = self._running.pop(name, None)
        if running is None:
            return
        running.runner.stop()
        done, _ = await asyncio.wait([running.task], timeout=STOP_TIMEOUT_S)
        if not done:
            log.warning("pipeline %s did not stop within %.0f s: cancelled", name, STOP_TIMEOUT_S)
            running.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running.task

    async def restart(self, name: str) -> None:
        """Stop the pipeline's task (if any) and start it again if the catalog says it runs."""
        async with self._lock:
            await self._stop(name)
        await self.reconcile()

    async def wait_started(self, name: str, timeout_s: float) -> None:
        """Wait until the pipeline's first attempt reads and writes, or raise its first error."""
        running = self._running.get(name)
        if running is None:
            return
        await asyncio.wait_for(asyncio.shield(running.runner.started), timeout_s)

    def status(self, name: str) -> PipelineStatus | None:
        running = self._running.get(name)
        return None if running is None else running.runner.status

    async def statuses(self) -> list[tuple[PipelineRecord, PipelineStatus | None]]:
        """Every pipeline of the catalog with its live status (None unless this process runs it)."""
        return [
            (record, self.status(record.name) if record.state == "running" else None)
            for record in await self.catalog.store.list_pipelines()
        ]

    async def status_rows(self) -> list[tuple[object, ...]]:
        """Rows of system.pipelines, with the node that holds each pipeline's lease."""
        leases = await self.catalog.store.pipeline_leases()
        now = time.time()
        rows = []
        for record, status in await self.statuses():
            holder, expires = leases.get(record.name, (None, 0.0))
            node = holder if holder is not None and expires > now else None
            rows.append((*pipeline_row(record, status, remote=node not in (None, self.node)), node))
        return rows

    async def node_rows(self) -> list[tuple[object, ...]]:
        """Rows of system.nodes: every node that ever ran, whether it is alive, what it runs."""
        leases = await self.catalog.store.pipeline_leases()
        now = time.time()
        rows: list[tuple[object, ...]] = []
        for name, started, beat in await self.catalog.store.list_nodes():
            held = sorted(p for p, (holder, expires) in leases.items() if holder == name and expires > now)
            alive = now - beat < self.lease_s
            rows.append((name, _instant(started), _instant(beat), alive, name == self.node, held))
        return rows

    async def close(self) -> None:
        """Stop every pipeline: each commits what its sinks acknowledged (or aborts its transaction)
        and gives its lease back, so another node takes it over at once."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        async with self._lock:
            self._closed = True
            names = list(self._running)
            await asyncio.gather(*(self._stop(name) for name in names))
            for name in names:
                with contextlib.suppress(Exception):
                    await self.catalog.store.release_pipeline(name, self.node)


def pipeline_row(
    record: PipelineRecord, status: PipelineStatus | None, *, remote: bool = False
) -> tuple[object, ...]:
    """One row of system.pipelines (columns as gateway.query.system_views declares them); a
    pipeline another node runs (``remote``) is 'running' with its counters unknown here."""
    state = record.state if status is None else status.state
    if status is None and record.state == "running":
        state = "running" if remote else "starting"
    connections: Sequence[str] = record.connections
    source = connections[0] if connections else None
    sinks = list(connections[1:])
    if status is None and remote:
        return (record.name, state, source, sinks, None, *([None] * 8), record.sql)
    if status is None:
        return (record.name, state, source, sinks, None, 0, 0, 0, 0, 0, None, None, None, record.sql)
    return (
        record.name,
        state,
        source,
        sinks,
        status.error,
        status.rows_in,
        status.rows_out,
        status.rows_dropped,
        status.rows_dead_lettered,
        status.rows_late,
        status.lag,
        status.last_commit,
        status.delivery,
        record.sql,
    )


def _instant(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _log_crash(name: str, task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("pipeline %s crashed", name, exc_info=task.exception())
