"""The option schema of Kafka source connections (``type = 'source'``), typed and cross-checked.

Decisions the spec leaves open (it documents sinks only):

* ``start_offset`` says where to begin in a partition for which the consumer group has **no
  committed offset**; committed offsets always win, so a restarted pipeline resumes where it
  stopped. ``'earliest'`` (the default, like Materialize and RisingWave; it lets a bounded
  ``INSERT ... SELECT`` see the records already in the topic) starts at the log start,
  ``'latest'`` at the log end (only new records), and ``'committed'`` demands committed offsets:
  a partition without one is an error (Kafka's ``auto.offset.reset = none``).
* ``group_id`` has no default here: the caller fills in ``laminar-<connection name>``.
* ``event_time_column`` may name a declared column or the metadata column ``_kafka_timestamp``.
  ``watermark_delay`` (default 0) and ``idle_timeout`` (default 30 seconds: an idle partition
  stops holding the watermark back after that long) are durations in milliseconds and may only
  be given together with ``event_time_column``.
* ``'security.protocol'`` and the ``'sasl.*'`` login options are the sinks' (shared specs and
  checks in :mod:`catalog.options`).
* Options that would have no effect are refused, as for sinks (``'json.fail_on_missing'`` with a
  non-JSON format, registry options without avro/protobuf, ``dlq_connection`` without ``dlq``).
"""

from __future__ import annotations

from catalog.option_values import OptionSpec
from catalog.options import (
    ERROR_POLICY_SPECS,
    FORMATS,
    PROTOBUF_SPECS,
    SCHEMA_REGISTRY_SPECS,
    SECURITY_SPECS,
    CheckContext,
    OptionSchema,
    bootstrap_servers_spec,
    check_declared_column,
    check_error_policy,
    check_format_options,
    check_security,
    connection_type_spec,
    topic_spec,
)

START_OFFSETS = ("earliest", "latest", "committed")
ISOLATION_LEVELS = ("read_committed", "read_uncommitted")
METADATA_TIMESTAMP_COLUMN = "_kafka_timestamp"
DAY_MS = 86_400_000

SOURCE_SPECS = (
    bootstrap_servers_spec(),
    topic_spec("Kafka topic to consume"),
    connection_type_spec("source"),
    OptionSpec(
        name="format", kind="enum", required=True, allowed=FORMATS, description="Message value format"
    ),
    OptionSpec(
        name="group_id",
        kind="string",
        description="Consumer group whose committed offsets track progress (default laminar-<connection>)",
    ),
    OptionSpec(
        name="start_offset",
        kind="enum",
        allowed=START_OFFSETS,
        default="earliest",
        description="Where to start in a partition without a committed offset; 'committed' requires one",
    ),
    OptionSpec(
        name="isolation_level",
        kind="enum",
        allowed=ISOLATION_LEVELS,
        default="read_committed",
        description="read_committed skips records of open and aborted transactions",
    ),
    OptionSpec(
        name="event_time_column",
        kind="string",
        description="Column holding each record's event time (or _kafka_timestamp); enables watermarks",
    ),
    OptionSpec(
        name="watermark_delay",
        kind="duration",
        default=0,
        minimum=0,
        maximum=DAY_MS,
        description="How far the watermark trails the largest event time seen (e.g. '5 seconds')",
    ),
    OptionSpec(
        name="idle_timeout",
        kind="duration",
        default=30_000,
        minimum=1,
        maximum=DAY_MS,
        description="After this long without records a partition no longer holds the watermark back",
    ),
    OptionSpec(
        name="json.fail_on_missing",
        kind="boolean",
        default=False,
        description="A JSON record without a declared column fails (true) or reads it as NULL (false)",
    ),
    *SCHEMA_REGISTRY_SPECS,
    *PROTOBUF_SPECS,
    *SECURITY_SPECS,
    *ERROR_POLICY_SPECS,
)


def check_event_time(context: CheckContext) -> None:
    check_declared_column(context, "event_time_column", also_allowed=(METADATA_TIMESTAMP_COLUMN,))
    if context.given("event_time_column"):
        return
    for option in ("watermark_delay", "idle_timeout"):
        if context.given(option):
            raise context.fail(
                f'option "{option}" applies only with "event_time_column"',
                hint="Add event_time_column = 'column' (or '_kafka_timestamp'), or remove " + option + ".",
            )


def check_source_format(context: CheckContext) -> None:
    fmt = context.string("format")
    if context.given("json.fail_on_missing") and fmt != "json":
        raise context.fail(
            f"option \"json.fail_on_missing\" applies only to format 'json' (format is '{fmt}')",
            hint='Remove "json.fail_on_missing", or change the format.',
        )
    check_format_options(context)


def check_source_topic(context: CheckContext) -> None:
    if not context.given("topic"):
        raise context.fail(
            'missing required option "topic" for a Kafka source connection',
            hint="Set topic = 'name'.",
        )


SOURCE_OPTIONS = OptionSchema(
    SOURCE_SPECS,
    (check_source_topic, check_source_format, check_event_time, check_error_policy, check_security),
    label="Kafka source connection",
    suggestions={
        "bootstrap.servers": "bootstrap_servers",
        "servers": "bootstrap_servers",
        "brokers": "bootstrap_servers",
        "group.id": "group_id",
        "auto.offset.reset": "start_offset",
        "scan.startup.mode": "start_offset",
        "isolation.level": "isolation_level",
        "watermark": "watermark_delay",
        "value.format": "format",
    },
)
