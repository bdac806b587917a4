"""The options of ``CREATE PIPELINE name WITH (...) AS ...``: micro-batching, commits and retries.

Every option has a default, so ``WITH (...)`` is optional:

* ``batch_rows`` (10000): the most source records one micro-batch holds.
* ``batch_ms`` (100 ms): how long a micro-batch waits for records before it runs with fewer.
* ``commit_interval_ms`` (1 s): how often the pipeline commits: source offsets (at-least-once) or
  the Kafka transaction holding the output and the offsets (exactly-once). A transaction also ends
  before half of the sink's ``'transaction.timeout.ms'`` has passed, so it never outlives it.
* ``max_retries`` (10): failures in a row that could pass (broker unreachable, request timed out)
  retried before the pipeline is left ``failed``; a failure that cannot pass (a record that does not
  decode under ``error_policy = 'fail'``) fails it at once.
* ``retry_backoff_ms`` (500 ms): the first wait before a retry; it doubles per attempt, to 30 s.
* ``parallelism`` (1): how many tasks run the pipeline. Task ``i`` of ``N`` reads the source
  partitions ``p`` with ``p % N == i``, holds a lease of its own (so the tasks of one pipeline may
  run on different nodes) and, for an exactly-once pipeline, writes through a producer of its own
  whose transactional id is the sink's ``'transactional.id'`` followed by ``-i``. Every task commits
  its partitions' offsets to the pipeline's one consumer group. Windowed pipelines run as one task:
  a window holds rows of every partition.
* ``group_id``: the consumer group whose committed offsets say where the pipeline resumes.
  ``CREATE PIPELINE`` records ``laminar-pipeline-<name>-<creation ms>`` when none is given, so two
  pipelines never share one by default (even on the same source), a pipeline keeps its group
  across restarts, and a new pipeline of a dropped one's name starts afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from catalog.option_values import OptionSpec
from catalog.options import OptionSchema

MAX_BACKOFF_MS = 30_000
MAX_PARALLELISM = 256

PIPELINE_OPTIONS = OptionSchema(
    [
        OptionSpec(
            name="batch_rows",
            kind="integer",
            default=10_000,
            minimum=1,
            maximum=1_000_000,
            description="Most source records one micro-batch holds.",
        ),
        OptionSpec(
            name="batch_ms",
            kind="duration",
            default=100,
            minimum=1,
            maximum=60_000,
            description="How long a micro-batch waits for records before it runs with fewer.",
        ),
        OptionSpec(
            name="commit_interval_ms",
            kind="duration",
            default=1_000,
            minimum=1,
            maximum=3_600_000,
            description="How often source offsets (or the exactly-once transaction) are committed.",
        ),
        OptionSpec(
            name="max_retries",
            kind="integer",
            default=10,
            minimum=0,
            maximum=1_000_000,
            description="Retriable failures in a row before the pipeline is left failed.",
        ),
        OptionSpec(
            name="retry_backoff_ms",
            kind="duration",
            default=500,
            minimum=1,
            maximum=MAX_BACKOFF_MS,
            description="First wait before a retry; doubles per attempt up to 30 s.",
        ),
        OptionSpec(
            name="parallelism",
            kind="integer",
            default=1,
            minimum=1,
            maximum=MAX_PARALLELISM,
            description="Tasks that split the source partitions between them (each on any node).",
        ),
        OptionSpec(
            name="group_id",
            kind="string",
            description="Consumer group of the pipeline's committed offsets "
            "(default laminar-pipeline-<name>-<creation ms>).",
        ),
    ],
    label="pipeline",
)


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    """The typed options of one pipeline."""

    batch_rows: int
    batch_ms: int
    commit_interval_ms: int
    max_retries: int
    retry_backoff_ms: int
    parallelism: int
    group_id: str

    def tasks(self, pipeline: str) -> tuple[TaskSlot, ...]:
        return tuple(TaskSlot(pipeline, index, self.parallelism) for index in range(self.parallelism))


@dataclass(frozen=True, slots=True)
class TaskSlot:
    """Task ``index`` of the ``count`` tasks of a pipeline: the unit a node leases and runs."""

    pipeline: str
    index: int = 0
    count: int = 1

    @property
    def key(self) -> str:
        """The task's lease name: the pipeline's own name when it runs as one task."""
        return self.pipeline if self.count == 1 else f"{self.pipeline}/{self.index}"

    def owns(self, partition: int) -> bool:
        return partition % self.count == self.index

    def transactional_id(self, base: str) -> str:
        """This task's transactional id: one producer identity per task, stable across nodes, so
        the node that takes a task over fences the producer of the node that ran it."""
        return base if self.count == 1 else f"{base}-{self.index}"


def pipeline_settings(name: str, options: Sequence[tuple[str, str]]) -> PipelineSettings:
    """Validate a pipeline's WITH options (42704 for an unknown one, 22023 for a bad value)."""
    validated = PIPELINE_OPTIONS.validate(options, secret_exists=lambda _: False)

    def millis(option: str) -> int:
        value = validated.duration_ms(option)
        assert value is not None, "every duration option of a pipeline has a default"
        return value

    return PipelineSettings(
        batch_rows=validated.integer("batch_rows"),
        batch_ms=millis("batch_ms"),
        commit_interval_ms=millis("commit_interval_ms"),
        max_retries=validated.integer("max_retries"),
        retry_backoff_ms=millis("retry_backoff_ms"),
        parallelism=validated.integer("parallelism"),
        group_id=validated.string("group_id") or f"laminar-pipeline-{name}",
    )
