"""The supervisor: one asyncio task per running pipeline task, kept in step with the catalog.

The catalog holds what the user asked for (a pipeline is ``running`` or ``paused``); the
supervisor holds what is happening (``starting``, ``running``, ``retrying``, ``failed``).
:meth:`Supervisor.reconcile` compares the two and starts or stops tasks; it runs when the gateway
starts (so every running pipeline resumes from its committed offsets after a restart) and after
every statement that changes pipelines or connections. A pipeline whose definition or whose
connections changed since its task started is restarted, so ``ALTER CONNECTION`` takes effect.
A failed pipeline stays failed (its error visible) until ``ALTER PIPELINE ... RESUME``, a change
of one of its connections, or a gateway restart.

A pipeline runs as ``parallelism`` tasks (:class:`pipelines.options.TaskSlot`), and each task runs
on the node that holds its lease in the catalog. Every node claims the leases it holds and free
ones up to its fair share (the running tasks over the live nodes, rounded up) and gives back what
it holds beyond that share, so tasks spread over the nodes and move to a node that joins; a lease
not renewed within ``lease_s`` (its node died or lost the catalog) is free for any node. Renewing
a lease also publishes the task's counters with it, so every node's system.pipelines and
system.pipeline_tasks show the tasks other nodes run.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.model import PipelineRecord
from catalog.service import Catalog
from catalog.store import TaskKey
from pipelines.options import TaskSlot, pipeline_settings
from pipelines.runner import STOP_TIMEOUT_S, PipelineRunner, PipelineStatus
from sinks.registry import SinkRegistry

log = logging.getLogger(__name__)

LEASE_S = 10.0  # how long a node holds a pipeline task without renewing it

Fingerprint = tuple[dt.datetime, tuple[dt.datetime | None, ...]]
Leases = dict[TaskKey, tuple[str, float]]  # (pipeline, task) -> (node, expires_at)


@dataclass(slots=True)
class _Running:
    runner: PipelineRunner
    task: asyncio.Task[None]
    fingerprint: Fingerprint


def task_slots(record: PipelineRecord) -> tuple[TaskSlot, ...]:
    """The tasks a pipeline runs as (one, unless its WITH options set ``parallelism``)."""
    return pipeline_settings(record.name, record.options).tasks(record.name)


class Supervisor:
    """Runs this gateway's pipeline tasks."""

    def __init__(
        self, catalog: Catalog, sinks: SinkRegistry, *, node: str = "local", lease_s: float = LEASE_S
    ) -> None:
        """``node`` names this gateway among the nodes sharing the catalog; a task runs on the
        node holding its lease, renewed every ``lease_s / 3`` and taken over by another node once
        ``lease_s`` passed without renewal (the node died or lost the catalog)."""
        self.catalog = catalog
        self.sinks = sinks
        self.node = node
        self.lease_s = lease_s
        self._started_at = time.time()
        self._running: dict[TaskKey, _Running] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        self._keeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Resume every running pipeline task this node can lease, then keep the leases and follow
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
                    # Our leases have expired: another node may run these tasks now.
                    await self._stop_all("its leases expired while the catalog was unreachable")

    async def _stop_all(self, why: str) -> None:
        async with self._lock:
            keys = list(self._running)
            if keys:
                log.warning(
                    "stopping pipelines %s: %s",
                    ", ".join(self._running[k].runner.task.key for k in keys),
                    why,
                )
            await asyncio.gather(*(self._stop(key) for key in keys))

    async def _tick(self) -> None:
        await self.catalog.store.heartbeat(self.node, self._started_at, time.time())
        await self.reconcile()

    async def reconcile(self) -> None:
        """Start the tasks that should run here and do not, stop those that should not."""
        async with self._lock:
            if self._closed:
                return
            store = self.catalog.store
            records = await store.list_pipelines()
            changed_at = {record.name: record.updated_at for record in await store.list_connections()}
            slots = {
                (slot.pipeline, slot.index): (record, slot)
                for record in records
                if record.state == "running"
                for slot in task_slots(record)
            }
            to_claim = await self._share(list(slots))
            published = {key: running.runner.status.to_json() for key, running in self._running.items()}
            held = await store.claim_tasks(to_claim, self.node, time.time(), self.lease_s, published)
            wanted: dict[TaskKey, tuple[PipelineRecord, TaskSlot, Fingerprint]] = {}
            for key in held:
                record, slot = slots[key]
                fingerprint = (record.updated_at, tuple(changed_at.get(c) for c in record.connections))
                wanted[key] = (record, slot, fingerprint)
            for key, running in list(self._running.items()):
                if key not in wanted or wanted[key][2] != running.fingerprint:
                    await self._stop(key)
                    if key not in wanted:  # paused, dropped or beyond this node's share: free it now
                        await store.release_task(key, self.node)
            for key, (record, slot, fingerprint) in wanted.items():
                if key not in self._running:
                    self._start(record, slot, fingerprint)

    async def _share(self, keys: Sequence[TaskKey]) -> list[TaskKey]:
        """The task leases to claim: those this node holds, then free ones, up to its fair share."""
        store = self.catalog.store
        now = time.time()
        live = sum(
            1 for name, _, beat in await store.list_nodes() if now - beat < self.lease_s or name == self.node
        )
        share = math.ceil(len(keys) / max(live, 1))
        leases = await store.task_leases()
        mine = [key for key in keys if leases.get(key, ("", 0.0))[0] == self.node]
        free = [key for key in keys if key not in leases or leases[key][1] < now]
        return mine[:share] + [key for key in free if key not in mine][: max(share - len(mine), 0)]

    def _start(self, record: PipelineRecord, slot: TaskSlot, fingerprint: Fingerprint) -> None:
        runner = PipelineRunner(record, self.catalog, self.sinks, slot)
        task = asyncio.create_task(runner.run(), name=f"pipeline {slot.key}")
        task.add_done_callback(lambda done: _log_crash(slot.key, done))
        self._running[slot.pipeline, slot.index] = _Running(runner, task, fingerprint)

    async def _stop(self, key: TaskKey) -> None:
        running = self._running.pop(key, None)
        if running is None:
            return
        running.runner.stop()
        done, _ = await asyncio.wait([running.task], timeout=STOP_TIMEOUT_S)
        if not done:
            log.warning(
                "pipeline %s did not stop within %.0f s: cancelled", running.runner.task.key, STOP_TIMEOUT_S
            )
            running.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running.task

    def _local(self, name: str) -> list[_Running]:
        """This node's tasks of pipeline ``name``."""
        return [running for running in self._running.values() if running.runner.record.name == name]

    async def wait_started(self, name: str, timeout_s: float) -> None:
        """Wait until this node's tasks of the pipeline read and write, or raise the first error."""
        started = [asyncio.shield(running.runner.started) for running in self._local(name)]
        if started:
            await asyncio.wait_for(asyncio.gather(*started), timeout_s)

    def status(self, name: str) -> PipelineStatus | None:
        """The pipeline's status from the tasks this node runs (None if it runs none)."""
        local = self._local(name)
        return PipelineStatus.merged([running.runner.status for running in local]) if local else None

    async def statuses(self) -> list[tuple[PipelineRecord, PipelineStatus | None]]:
        """Every pipeline of the catalog with its live status (None unless this process runs it)."""
        return [
            (record, self.status(record.name) if record.state == "running" else None)
            for record in await self.catalog.store.list_pipelines()
        ]

    async def _live_leases(self) -> Leases:
        now = time.time()
        return {
            key: lease for key, lease in (await self.catalog.store.task_leases()).items() if lease[1] > now
        }

    def _task_statuses(
        self, record: PipelineRecord, leases: Leases, published: dict[TaskKey, str]
    ) -> list[tuple[TaskSlot, str | None, PipelineStatus | None]]:
        """Each task of a running pipeline: the node that holds it and its status, this node's own
        or what the holder last published with its lease (None before it first did)."""
        found = []
        for slot in task_slots(record):
            key = (slot.pipeline, slot.index)
            node = leases[key][0] if key in leases else None
            running = self._running.get(key)
            if running is not None:
                status: PipelineStatus | None = running.runner.status
            elif node is not None and key in published:
                status = PipelineStatus.from_json(published[key])
            else:
                status = None
            found.append((slot, node, status))
        return found

    async def status_rows(self) -> list[tuple[object, ...]]:
        """Rows of system.pipelines: every task's counters summed, whichever node runs it."""
        leases = await self._live_leases()
        published = await self.catalog.store.task_stats()
        rows = []
        for record in await self.catalog.store.list_pipelines():
            tasks = self._task_statuses(record, leases, published) if record.state == "running" else []
            holders = sorted({node for _, node, _ in tasks if node is not None})
            known = [status for _, _, status in tasks if status is not None]
            status = PipelineStatus.merged(known) if known else None
            remote = bool(holders) and self.node not in holders
            rate = None if status is None else status.rows_per_second()
            node = ", ".join(holders) if holders else None
            rows.append((*pipeline_row(record, status, remote=remote), node, len(task_slots(record)), rate))
        return rows

    async def task_rows(self) -> list[tuple[object, ...]]:
        """Rows of system.pipeline_tasks: each task of a running pipeline, where it runs, and its
        counters (this node's, or what the node running it published with its lease)."""
        leases = await self._live_leases()
        published = await self.catalog.store.task_stats()
        rows: list[tuple[object, ...]] = []
        for record in await self.catalog.store.list_pipelines():
            if record.state != "running":
                continue
            for slot, node, status in self._task_statuses(record, leases, published):
                if status is None:
                    state = "running" if node is not None else "starting"
                    rows.append(
                        (record.name, slot.index, slot.count, node, state, None, None, None, None, None, None)
                    )
                    continue
                rows.append(
                    (
                        record.name,
                        slot.index,
                        slot.count,
                        node,
                        status.state,
                        list(status.partitions),
                        status.rows_in,
                        status.rows_out,
                        status.rows_per_second(),
                        status.lag,
                        status.error,
                    )
                )
        return rows

    async def node_rows(self) -> list[tuple[object, ...]]:
        """Rows of system.nodes: every node that ever ran, whether it is alive, what it runs."""
        leases = await self._live_leases()
        tasks = {record.name: len(task_slots(record)) for record in await self.catalog.store.list_pipelines()}
        now = time.time()
        rows: list[tuple[object, ...]] = []
        for name, started, beat in await self.catalog.store.list_nodes():
            held = sorted(
                TaskSlot(pipeline, index, tasks.get(pipeline, 1)).key
                for (pipeline, index), (holder, _) in leases.items()
                if holder == name
            )
            alive = now - beat < self.lease_s
            rows.append((name, _instant(started), _instant(beat), alive, name == self.node, held))
        return rows

    async def close(self) -> None:
        """Stop every task: each commits what its sinks acknowledged (or aborts its transaction)
        and gives its lease back, so another node takes it over at once."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        async with self._lock:
            self._closed = True
            keys = list(self._running)
            await asyncio.gather(*(self._stop(key) for key in keys))
            for key in keys:
                with contextlib.suppress(Exception):
                    await self.catalog.store.release_task(key, self.node)


def pipeline_row(
    record: PipelineRecord, status: PipelineStatus | None, *, remote: bool = False
) -> tuple[object, ...]:
    """One row of system.pipelines (columns as gateway.query.system_views declares them); a
    pipeline another node runs (``remote``) whose counters it has not published yet is 'running'
    with its counters NULL."""
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
