"""Pipelines survive SIGKILL: exactly-once output holds every input once, at-least-once misses none.

One gateway runs two pipelines over the same 3-partition JSON source: one into a sink with
``'transactional.id'`` (exactly-once), one into a plain sink (at-least-once), both with small
micro-batches and a 200 ms commit interval so that many transactions and offset commits happen.
The source gets its N records in waves: before the pipelines exist, then one per gateway life,
produced either while that life runs or while the gateway is dead after it. Each life is SIGKILLed
at a random point (once every pipeline's ``rows_out`` passed a random threshold, a random number of
rows after a commit of the life, or a random short time after the pipelines run; ``rows_out`` is
polled from ``system.pipelines``) and the gateway is started again on the same data directory,
where it resumes both pipelines from their committed offsets. The randomness is a seeded
``random.Random``: the seed is printed, and ``LAMINAR_CRASH_SEED=<seed>`` replays the same choices
(waves, kinds of kill point, thresholds, delays; the timing of the processes varies).

After the last restart the test polls until both pipelines caught up, then reads the output topics
raw from the broker. The test broker does not hide aborted records from read_committed consumers
(DESIGN.md §2), so :func:`tests.fixtures.crash.resolve_transactions` keeps only the batches of
committed transactions. Exactly-once must hold ids 0..N-1 once each (also checked after every
kill: never a duplicate); at-least-once must hold each of them at least once (its duplicates are
counted and printed). At least two kills must have landed mid-stream (the exactly-once pipeline
had written output in that life and its committed output was short of the source), one of them
after a commit of its life and one inside a transaction with output in it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from tests.fixtures.consume import read_batches, run_sql, unique
from tests.fixtures.crash import CrashableGateway, TransactionView, crashable_gateway, resolve_transactions
from tests.fixtures.gateway import GatewayEndpoint
from tests.fixtures.kafka import KafkaBroker, create_topic

N = 60_000
PARTITIONS = 3
FIRST_WAVE = 15_000  # in the source before the pipelines exist; the rest in about equal waves
PIPELINE_OPTIONS = "batch_rows = 500, commit_interval_ms = '200 ms'"
KILLS = (3, 5)  # fewest and most kills of one run
KINDS = {"rows": 0.5, "after-commit": 0.25, "delay": 0.25}  # how later kills choose their point
THRESHOLD_ROWS = (1, 2_500)  # rows written (in the life, or after a commit) before a kill
DELAY_S = (0.0, 0.6)  # or this long after the pipelines run
POLL_S = 0.02
RUNNING_DEADLINE_S = 30.0
THRESHOLD_DEADLINE_S = 20.0
CATCH_UP_DEADLINE_S = 60.0


@dataclass(frozen=True)
class PipelineState:
    """One row of system.pipelines, the columns the test looks at."""

    state: str
    error: str | None
    rows_out: int
    lag: int | None
    last_commit: bool  # committed at least once in this life


@dataclass(frozen=True)
class Topics:
    source: str
    exactly_once: str
    at_least_once: str


@dataclass(frozen=True)
class Kill:
    """What was true when the gateway was killed."""

    life: int
    trigger: str
    pipeline: str  # the exactly-once one
    states: dict[str, PipelineState]  # as last polled before the kill
    exactly_once: TransactionView  # the exactly-once topic right after the kill
    committed_before: int  # committed exactly-once records at the previous kill
    source_records: int

    @property
    def mid_stream(self) -> bool:
        """The exactly-once pipeline had written output in this life, and its committed output was
        short of what the source held."""
        wrote = self.states[self.pipeline].rows_out > 0
        return wrote and len(self.exactly_once.committed) < self.source_records

    @property
    def in_transaction(self) -> bool:
        """A transaction with output in it was open."""
        return self.exactly_once.open_records > 0

    @property
    def after_commit(self) -> bool:
        """The exactly-once pipeline committed output in this life before the kill."""
        return len(self.exactly_once.committed) > self.committed_before

    def describe(self) -> str:
        states = ", ".join(f"{name}: rows_out {s.rows_out} lag {s.lag}" for name, s in self.states.items())
        return (
            f"kill {self.life} ({self.trigger}; {states}; source {self.source_records}): "
            f"exactly-once {self.exactly_once.summary()}"
        )


async def _produce(bootstrap: str, topic: str, ids: range) -> None:
    """Append ``{"id": i, "payload": ...}`` for each i of ``ids`` (i to partition i mod 3); await acks."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic, orjson.dumps({"id": i, "payload": f"record-{i}"}), partition=i % PARTITIONS
            )
            for i in ids
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _pipeline_states(endpoint: GatewayEndpoint) -> dict[str, PipelineState]:
    outcome = await run_sql(
        endpoint, "SELECT name, state, error, rows_out, lag, last_commit FROM system.pipelines"
    )
    states = {}
    for name, state, error, rows_out, lag, last_commit in outcome.rows:
        assert isinstance(rows_out, int)
        assert lag is None or isinstance(lag, int)
        error_text = None if error is None else str(error)
        states[str(name)] = PipelineState(str(state), error_text, rows_out, lag, last_commit is not None)
    return states


async def _wait_running(gateway: CrashableGateway, names: Sequence[str]) -> None:
    """Poll system.pipelines until every pipeline runs (fail on a failed one, or at the deadline)."""
    assert gateway.endpoint is not None
    deadline = time.monotonic() + RUNNING_DEADLINE_S
    while True:
        states = await _pipeline_states(gateway.endpoint)
        failed = {name: s for name, s in states.items() if s.state == "failed"}
        assert not failed, f"pipelines failed: {failed}\n--- gateway log ---\n{gateway.log_text()}"
        if all(name in states and states[name].state == "running" for name in names):
            return
        assert time.monotonic() < deadline, f"pipelines not running after {RUNNING_DEADLINE_S}s: {states}"
        await asyncio.sleep(POLL_S)  # poll interval: the loop ends on the condition


async def _wait_for(
    endpoint: GatewayEndpoint, names: Sequence[str], reached: Callable[[dict[str, PipelineState]], bool]
) -> tuple[dict[str, PipelineState], bool]:
    """Poll system.pipelines until ``reached``: (the states, True); (the states, False) when every
    pipeline caught up with the source first (lag 0) or the deadline passed."""
    deadline = time.monotonic() + THRESHOLD_DEADLINE_S
    while True:
        states = await _pipeline_states(endpoint)
        if reached(states):
            return states, True
        if all(states[name].lag == 0 for name in names) or time.monotonic() > deadline:
            return states, False
        await asyncio.sleep(POLL_S)  # poll interval: the loop ends on the condition


async def _kill_point(
    kind: str, endpoint: GatewayEndpoint, names: Sequence[str], rng: random.Random
) -> tuple[str, dict[str, PipelineState]]:
    """Return at a random point of the running life: (how it was chosen, the states last polled).

    ``rows``: once every pipeline wrote a random number of rows in this life (often before the first
    commit of the life); ``after-commit``: a random number of rows after the exactly-once pipeline
    committed in this life; ``delay``: a random short time after the pipelines run (may be before they
    wrote anything, or after they caught up)."""
    eos = names[0]
    if kind == "rows":
        threshold = rng.randint(*THRESHOLD_ROWS)
        states, reached = await _wait_for(
            endpoint, names, lambda s: all(s[name].rows_out >= threshold for name in names)
        )
        return f"rows_out >= {threshold}{'' if reached else ' not reached'}", states
    if kind == "after-commit":
        states, reached = await _wait_for(endpoint, names, lambda s: s[eos].last_commit)
        if reached:
            threshold = states[eos].rows_out + rng.randint(*THRESHOLD_ROWS)
            states, reached = await _wait_for(endpoint, names, lambda s: s[eos].rows_out >= threshold)
            return f"{eos} rows_out >= {threshold} after a commit{'' if reached else ' not reached'}", states
        return "after a commit: no commit", states
    assert kind == "delay", kind
    delay = rng.uniform(*DELAY_S)
    await asyncio.sleep(delay)  # the test's randomness (when to kill), not synchronisation
    return f"{delay:.3f} s after running", await _pipeline_states(endpoint)


async def _output(bootstrap: str, topic: str) -> tuple[list[int], TransactionView]:
    """The ids of the committed records of an output topic, in log order, and how it was resolved."""
    view = resolve_transactions(await read_batches(bootstrap, topic))
    ids = []
    for record in view.committed:
        assert record.value is not None
        ids.append(int(orjson.loads(record.value)["id"]))
    return ids, view


def _differences(ids: Sequence[int]) -> str:
    counts = Counter(ids)
    duplicated = sorted(i for i, c in counts.items() if c > 1)
    missing = sorted(set(range(N)) - counts.keys())
    foreign = sorted(counts.keys() - set(range(N)))
    return (
        f"{len(ids)} records, {len(counts)} distinct ids; missing {len(missing)}: {missing[:20]}; "
        f"duplicated {len(duplicated)}: {duplicated[:20]}; not in the input {len(foreign)}: {foreign[:20]}"
    )


async def _create_pipelines(endpoint: GatewayEndpoint, bootstrap: str, topics: Topics) -> tuple[str, str]:
    """The source, both sinks and both pipelines: (exactly-once pipeline, at-least-once pipeline)."""
    source, eos_sink, alo_sink = (
        t.replace("-", "_") for t in (topics.source, topics.exactly_once, topics.at_least_once)
    )
    statements = [
        f"CREATE CONNECTION {source} (id BIGINT, payload TEXT) TO kafka (bootstrap_servers = "
        f"'{bootstrap}', topic = '{topics.source}', type = 'source', format = 'json', "
        "start_offset = 'earliest')",
        f"CREATE CONNECTION {eos_sink} TO kafka (bootstrap_servers = '{bootstrap}', "
        f"topic = '{topics.exactly_once}', type = 'sink', format = 'json', "
        f"'transactional.id' = '{topics.exactly_once}-txn')",
        f"CREATE CONNECTION {alo_sink} TO kafka (bootstrap_servers = '{bootstrap}', "
        f"topic = '{topics.at_least_once}', type = 'sink', format = 'json')",
    ]
    for statement in statements:
        assert (await run_sql(endpoint, statement)).status == "CREATE CONNECTION"
    names = (f"{eos_sink}_pipe", f"{alo_sink}_pipe")
    for name, sink in zip(names, (eos_sink, alo_sink), strict=True):
        outcome = await run_sql(
            endpoint,
            f"CREATE PIPELINE {name} WITH ({PIPELINE_OPTIONS}) AS "
            f"INSERT INTO {sink} SELECT id, payload FROM {source}",
        )
        assert outcome.status == "CREATE PIPELINE"
    delivery = await run_sql(endpoint, "SELECT name, delivery FROM system.pipelines ORDER BY name")
    assert sorted(delivery.rows) == sorted(zip(names, ("exactly-once", "at-least-once"), strict=True))
    return names


async def test_pipelines_survive_sigkill_mid_stream(kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    seed = int(os.environ.get("LAMINAR_CRASH_SEED", str(random.SystemRandom().randrange(2**32))))
    print(f"\ncrash test seed {seed} (LAMINAR_CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    bootstrap = kafka_broker.bootstrap_servers
    topics = Topics(unique("crash-src"), unique("crash-eos"), unique("crash-alo"))
    for topic in (topics.source, topics.exactly_once, topics.at_least_once):
        await create_topic(bootstrap, topic, PARTITIONS)

    kills = rng.randint(*KILLS)
    # the first life is killed after a commit of its own (it has the biggest backlog), the second once
    # its pipelines wrote some rows, the others at points of random kinds
    kinds = ["after-commit", "rows", *rng.choices(list(KINDS), weights=list(KINDS.values()), k=kills - 2)]
    # wave 0 before the pipelines exist, wave k in life k (while it runs or after its kill), the
    # last one while the final life runs; the waves after the first are about equal (+-20 %)
    step = (N - FIRST_WAVE) / (kills + 1)
    cuts = [FIRST_WAVE + round(step * (k + rng.uniform(-0.2, 0.2))) for k in range(1, kills + 1)]
    waves = [range(start, stop) for start, stop in itertools.pairwise([0, FIRST_WAVE, *cuts, N])]
    produced = 0

    async def produce(wave: range) -> None:
        nonlocal produced
        await _produce(bootstrap, topics.source, wave)
        produced = max(produced, wave.stop)

    await produce(waves[0])
    history: list[Kill] = []
    with crashable_gateway(tmp_path / "gateway") as gateway:
        names = await _create_pipelines(gateway.start(), bootstrap, topics)
        await _wait_running(gateway, names)
        for life in range(1, kills + 1):
            assert gateway.endpoint is not None
            wave_while_running = rng.random() < 0.5
            background = asyncio.create_task(produce(waves[life])) if wave_while_running else None
            trigger, states = await _kill_point(kinds[life - 1], gateway.endpoint, names, rng)
            gateway.kill()
            if background is not None:
                await background
            eos_ids, eos_view = await _output(bootstrap, topics.exactly_once)
            before = len(history[-1].exactly_once.committed) if history else 0
            kill = Kill(life, trigger, names[0], states, eos_view, before, produced)
            history.append(kill)
            print(kill.describe())
            assert len(set(eos_ids)) == len(eos_ids), (
                f"seed {seed}, {kill.describe()}: duplicated exactly-once output: {_differences(eos_ids)}"
            )
            if background is None:
                await produce(waves[life])  # while the gateway is dead
            gateway.start()
            await _wait_running(gateway, names)

        for wave in waves[kills + 1 :]:
            await produce(wave)  # while the last life runs
        assert produced == N
        context = f"seed {seed}; " + "; ".join(kill.describe() for kill in history)
        deadline = time.monotonic() + CATCH_UP_DEADLINE_S
        while True:  # both caught up: lag 0, N committed exactly-once records, every id at-least-once
            assert gateway.endpoint is not None
            states = await _pipeline_states(gateway.endpoint)
            eos_ids, eos_view = await _output(bootstrap, topics.exactly_once)
            alo_ids, _ = await _output(bootstrap, topics.at_least_once)
            if (
                all(states[name].lag == 0 for name in names)
                and len(eos_ids) >= N
                and set(alo_ids) >= set(range(N))
            ):
                break
            assert time.monotonic() < deadline, (
                f"{context}: not caught up after {CATCH_UP_DEADLINE_S}s: {states}; exactly-once "
                f"{_differences(eos_ids)}; at-least-once {_differences(alo_ids)}\n"
                f"--- gateway log ---\n{gateway.log_text()}"
            )
            await asyncio.sleep(0.1)  # poll interval: the loop ends on the condition
        gateway.stop()
        log_text = gateway.log_text()

    eos_ids, eos_view = await _output(bootstrap, topics.exactly_once)
    alo_ids, alo_view = await _output(bootstrap, topics.at_least_once)
    alo_counts = Counter(alo_ids)
    print(f"exactly-once output: {eos_view.summary()}")
    print(
        f"at-least-once output: {len(alo_ids)} records, {len(alo_ids) - len(alo_counts)} duplicates "
        f"(of {sum(count > 1 for count in alo_counts.values())} ids)"
    )
    assert Counter(eos_ids) == Counter(range(N)), (
        f"{context}: exactly-once output: {_differences(eos_ids)}; {eos_view.summary()}\n"
        f"--- gateway log ---\n{log_text}"
    )
    assert alo_counts.keys() == set(range(N)), (
        f"{context}: at-least-once output: {_differences(alo_ids)}\n--- gateway log ---\n{log_text}"
    )
    assert alo_view.non_transactional_records == len(alo_ids), alo_view.summary()
    mid_stream = [kill for kill in history if kill.mid_stream]
    assert len(mid_stream) >= 2, (
        f"{context}: only {len(mid_stream)} of {len(history)} kills landed mid-stream"
    )
    assert any(kill.after_commit for kill in mid_stream), (
        f"{context}: no kill landed mid-stream after a commit of its life"
    )
    assert any(kill.in_transaction for kill in mid_stream), (
        f"{context}: no kill landed while a transaction with output in it was open"
    )
