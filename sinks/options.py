"""The option schema of Kafka sink connections (``type = 'sink'``): every option of the spec, typed.

Covers the spec's option table (``bootstrap_servers`` ... ``linger_ms``) and every quoted Kafka
producer property the spec uses, with Kafka's own defaults where the spec's table has none. The
cross-checks below mirror the Java producer's config validation where Kafka has one, and refuse
options that would otherwise be silently ignored. Decisions the spec leaves open:

* ``topic`` and ``topic_field`` may both be given: ``topic_field`` picks the topic per row and
  ``topic`` is the fallback for rows whose field is NULL. One of the two is required.
* ``compression`` / ``'compression.type'`` and ``linger_ms`` / ``'linger.ms'`` are two spellings of
  one setting: either may be given, both only with the same value; both names then hold the
  value. Their default is the spec's (snappy, 100 ms), not Kafka's.
* ``batch_size`` (messages per batch, the spec's table) and ``'batch.size'`` (bytes per
  partition batch, Kafka's) are different limits; a batch is closed when it reaches either.
* ``'enable.idempotence'`` defaults to true, as in the Java client, unless ``acks`` other than
  all, more than 5 in-flight requests or ``retries = 0`` were set explicitly: then it defaults to
  false. Set to true explicitly with such settings, it is an error. ``'transactional.id'``
  implies idempotence (explicit false is an error).
* ``'delivery.timeout.ms'`` must be at least ``'linger.ms' + 'request.timeout.ms'`` when given;
  when not given it is raised to that sum (as the Java client does).
* ``'json.*'``, Schema Registry, ``'protobuf.*'``, ``'value_subject'``, ``'auto.register.schemas'``,
  ``'key.format'``, ``'transaction.timeout.ms'`` and ``dlq_connection`` are refused where they would
  have no effect (wrong format, no key_field, no transactional.id, no dlq policy).
* ``'security.protocol'`` defaults to PLAINTEXT, as in Kafka. ``'sasl.mechanism'``,
  ``'sasl.username'`` and ``'sasl.password'`` (a secret reference) are required with a SASL_*
  protocol and refused without one: no mechanism is picked silently (the Java client's default,
  GSSAPI, is not offered; PLAIN sends the password as it is).
* ``'partitioner'`` has no fixed default: keyed rows use murmur2 (the Java client's choice),
  rows without a key are spread round-robin (the spec's "no key_field means round-robin").
"""

from __future__ import annotations

from catalog.option_values import JAVA_INT_MAX, OptionSpec
from catalog.options import (
    ERROR_POLICY_SPECS,
    FORMATS,
    PROTOBUF_SPECS,
    REGISTRY_FORMATS,
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

COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
PARTITIONERS = (
    "random",
    "consistent",
    "consistent_random",
    "murmur2",
    "murmur2_random",
    "fnv1a",
    "fnv1a_random",
    "round_robin",
)
MAX_IDEMPOTENT_IN_FLIGHT = 5

SINK_SPECS = (
    # -- the spec's option table ------------------------------------------------------------------
    bootstrap_servers_spec(),
    topic_spec("Target Kafka topic (the fallback topic when topic_field is given)"),
    connection_type_spec("sink"),
    OptionSpec(
        name="format", kind="enum", required=True, allowed=FORMATS, description="Message value format"
    ),
    OptionSpec(name="key_field", kind="string", description="Column whose value is the message key"),
    OptionSpec(
        name="partition_field",
        kind="string",
        description="Column holding the partition number of each row (not written into the value)",
    ),
    OptionSpec(
        name="topic_field",
        kind="string",
        description="Column holding the topic of each row (not written into the value)",
    ),
    OptionSpec(
        name="compression",
        kind="enum",
        allowed=COMPRESSIONS,
        default="snappy",
        description="Compression codec of record batches (same setting as 'compression.type')",
    ),
    OptionSpec(
        name="batch_size",
        kind="integer",
        default=16384,
        minimum=1,
        maximum=1_000_000,
        description="Max messages per batch",
    ),
    OptionSpec(
        name="linger_ms",
        kind="integer",
        default=100,
        minimum=0,
        maximum=JAVA_INT_MAX,
        description="Max wait in ms before sending a batch (same setting as 'linger.ms')",
    ),
    # -- serialization ------------------------------------------------------------------------------
    OptionSpec(
        name="key.format",
        kind="enum",
        allowed=("string", "avro"),
        default="string",
        description="Encoding of the key_field value: UTF-8 text, or Avro under subject <topic>-key",
    ),
    OptionSpec(name="json.pretty", kind="boolean", default=False, description="Indent JSON values"),
    OptionSpec(
        name="json.include_nulls",
        kind="boolean",
        default=True,
        description="Write NULL columns as JSON null (false: leave them out)",
    ),
    *SCHEMA_REGISTRY_SPECS,
    OptionSpec(
        name="value_subject",
        kind="string",
        description="Schema Registry subject of the value schema (default <topic>-value)",
    ),
    OptionSpec(
        name="auto.register.schemas",
        kind="boolean",
        default=True,
        description="Register the schema derived from the output columns (false: use the subject's latest)",
    ),
    *PROTOBUF_SPECS,
    # -- partitioning ---------------------------------------------------------------------------
    OptionSpec(
        name="partitioner",
        kind="enum",
        allowed=PARTITIONERS,
        description="Partition choice (librdkafka names); default: murmur2 with a key, else round-robin",
    ),
    # -- delivery guarantees --------------------------------------------------------------------
    OptionSpec(
        name="transactional.id",
        kind="string",
        description="Enables exactly-once transactional writes under this id (fences older producers)",
    ),
    OptionSpec(
        name="transaction.timeout.ms",
        kind="integer",
        default=60000,
        minimum=1,
        maximum=JAVA_INT_MAX,
        description="Max ms a transaction may stay open before the broker aborts it",
    ),
    OptionSpec(
        name="enable.idempotence",
        kind="boolean",
        default=True,
        description="Idempotent producer (no duplicates on retry); needs acks=all and in-flight <= 5",
    ),
    OptionSpec(
        name="acks",
        kind="enum",
        allowed=("0", "1", "all"),
        synonyms=(("-1", "all"),),
        default="all",
        description="Acknowledgements a write waits for: 0 none, 1 leader, all (-1) every in-sync replica",
    ),
    OptionSpec(
        name="retries",
        kind="integer",
        default=JAVA_INT_MAX,
        minimum=0,
        maximum=JAVA_INT_MAX,
        description="Retries of a failed produce request (bounded by delivery.timeout.ms)",
    ),
    OptionSpec(
        name="max.in.flight.requests.per.connection",
        kind="integer",
        default=5,
        minimum=1,
        maximum=JAVA_INT_MAX,
        description="Max unacknowledged produce requests per broker",
    ),
    # -- batching, buffers and network ----------------------------------------------------------
    OptionSpec(
        name="batch.size",
        kind="integer",
        default=16384,
        minimum=1,
        maximum=JAVA_INT_MAX,
        description="Max bytes of one partition's record batch",
    ),
    OptionSpec(
        name="linger.ms",
        kind="integer",
        default=100,
        minimum=0,
        maximum=JAVA_INT_MAX,
        description="Max wait in ms before sending a batch (same setting as linger_ms)",
    ),
    OptionSpec(
        name="buffer.memory",
        kind="integer",
        default=33554432,
        minimum=1,
        description="Bytes of records waiting to be sent; writers wait when it is full",
    ),
    OptionSpec(
        name="compression.type",
        kind="enum",
        allowed=COMPRESSIONS,
        default="snappy",
        description="Compression codec of record batches (same setting as compression)",
    ),
    OptionSpec(
        name="send.buffer.bytes",
        kind="integer",
        default=131072,
        minimum=-1,
        maximum=JAVA_INT_MAX,
        description="TCP send buffer in bytes (-1: the OS default)",
    ),
    OptionSpec(
        name="max.request.size",
        kind="integer",
        default=1048576,
        minimum=1,
        maximum=JAVA_INT_MAX,
        description="Max bytes of one produce request (and so of one record)",
    ),
    OptionSpec(
        name="retry.backoff.ms",
        kind="integer",
        default=100,
        minimum=0,
        maximum=JAVA_INT_MAX,
        description="Wait in ms before retrying a failed request",
    ),
    OptionSpec(
        name="request.timeout.ms",
        kind="integer",
        default=30000,
        minimum=1,
        maximum=JAVA_INT_MAX,
        description="Max ms to wait for a broker's answer to one request",
    ),
    OptionSpec(
        name="delivery.timeout.ms",
        kind="integer",
        default=120000,
        minimum=1,
        maximum=JAVA_INT_MAX,
        description="Max ms from write to acknowledgement, retries included; then the error policy applies",
    ),
    # -- connection security (shared with sources) ----------------------------------------------
    *SECURITY_SPECS,
    # -- errors ---------------------------------------------------------------------------------
    *ERROR_POLICY_SPECS,
)


def check_topic(context: CheckContext) -> None:
    """A sink needs a topic, a per-row topic column, or both (the column wins, topic is the fallback)."""
    if not context.given("topic") and not context.given("topic_field"):
        raise context.fail(
            'missing required option "topic" for a Kafka sink connection',
            hint="Set topic = 'name', or topic_field = 'column' to pick the topic per row.",
        )


def check_routing_columns(context: CheckContext) -> None:
    for option in ("key_field", "partition_field", "topic_field"):
        check_declared_column(context, option)
    topic_field = context.string("topic_field")
    if topic_field is not None and topic_field == context.string("partition_field"):
        raise context.fail(
            f'topic_field and partition_field both name column "{topic_field}"',
            hint="A topic is text and a partition is a number: use two columns.",
        )


def check_serialization(context: CheckContext) -> None:
    key_format = context.string("key.format")
    if context.given("key.format") and not context.given("key_field"):
        raise context.fail(
            'option "key.format" applies only with key_field (messages without key_field have no key)',
            hint="Add key_field = 'column', or remove 'key.format'.",
        )
    key_avro = key_format == "avro"
    if key_avro and not context.given("schema_registry.endpoint"):
        raise context.fail(
            "'key.format' = 'avro' needs option \"schema_registry.endpoint\"",
            hint="Add 'schema_registry.endpoint' = 'http://schema-registry:8081'.",
        )
    check_format_options(context, key_uses_registry=key_avro)
    fmt = context.string("format")
    if context.given("value_subject") and fmt not in REGISTRY_FORMATS:
        raise context.fail(
            f"option \"value_subject\" applies only to format 'avro' or 'protobuf' (format is '{fmt}')",
            hint='Remove "value_subject", or change the format.',
        )
    if context.given("auto.register.schemas") and fmt not in REGISTRY_FORMATS and not key_avro:
        raise context.fail(
            "option \"auto.register.schemas\" applies only to format 'avro' or 'protobuf' "
            f"(format is '{fmt}')",
            hint='Remove "auto.register.schemas", or change the format.',
        )


def _unify(context: CheckContext, ours: str, kafkas: str) -> None:
    """Two spellings of one setting: equal if both are given, and both names get the value."""
    if context.given(ours) and context.given(kafkas):
        if context.get(ours) != context.get(kafkas):
            raise context.fail(
                f'conflicting options: {ours} = {context.get(ours)} but "{kafkas}" = {context.get(kafkas)}',
                hint=f'{ours} and "{kafkas}" are the same setting: give one of them.',
            )
    elif context.given(kafkas):
        context.values[ours] = context.get(kafkas)
    else:
        context.values[kafkas] = context.get(ours)


def check_spellings(context: CheckContext) -> None:
    _unify(context, "compression", "compression.type")
    _unify(context, "linger_ms", "linger.ms")


def check_delivery_guarantees(context: CheckContext) -> None:
    """Idempotence and transactions, checked as the Java producer does."""
    acks = context.string("acks")
    in_flight = context.integer("max.in.flight.requests.per.connection")
    retries = context.integer("retries")
    transactional = context.given("transactional.id")
    conflicts: list[str] = []
    if context.given("acks") and acks != "all":
        conflicts.append(f'"acks" = {acks} (needs all)')
    if context.given("max.in.flight.requests.per.connection") and in_flight > MAX_IDEMPOTENT_IN_FLIGHT:
        conflicts.append(
            f'"max.in.flight.requests.per.connection" = {in_flight} '
            f"(needs at most {MAX_IDEMPOTENT_IN_FLIGHT})"
        )
    if context.given("retries") and retries == 0:
        conflicts.append('"retries" = 0 (needs at least 1)')
    idempotence_given = context.given("enable.idempotence")
    if transactional and idempotence_given and not context.boolean("enable.idempotence"):
        raise context.fail(
            '"transactional.id" needs the idempotent producer, but "enable.idempotence" = false',
            hint="Remove 'enable.idempotence' or set it to true.",
        )
    if conflicts and (transactional or (idempotence_given and context.boolean("enable.idempotence"))):
        cause = '"transactional.id"' if transactional else '"enable.idempotence" = true'
        raise context.fail(
            f"{cause} conflicts with " + " and ".join(conflicts),
            hint="The idempotent producer needs acks = all, at most 5 in-flight requests and retries.",
        )
    if not idempotence_given:
        context.values["enable.idempotence"] = not conflicts
    if context.given("transaction.timeout.ms") and not transactional:
        raise context.fail(
            'option "transaction.timeout.ms" applies only with "transactional.id"',
            hint="Add 'transactional.id' to write in transactions, or remove 'transaction.timeout.ms'.",
        )


def check_timeouts(context: CheckContext) -> None:
    """``delivery.timeout.ms`` covers one linger and one request at least (Kafka's rule)."""
    least = context.integer("linger.ms") + context.integer("request.timeout.ms")
    delivery = context.integer("delivery.timeout.ms")
    if delivery >= least:
        return
    if context.given("delivery.timeout.ms"):
        raise context.fail(
            f'"delivery.timeout.ms" = {delivery} must be at least '
            f'"linger.ms" + "request.timeout.ms" = {least}',
            hint=f"Raise 'delivery.timeout.ms' to {least} or more, or lower the other two.",
        )
    context.values["delivery.timeout.ms"] = least


SINK_OPTIONS = OptionSchema(
    SINK_SPECS,
    (
        check_topic,
        check_routing_columns,
        check_serialization,
        check_error_policy,
        check_security,
        check_spellings,
        check_delivery_guarantees,
        check_timeouts,
    ),
    label="Kafka sink connection",
    suggestions={
        "bootstrap.servers": "bootstrap_servers",
        "servers": "bootstrap_servers",
        "brokers": "bootstrap_servers",
        "key": "key_field",
        "value.format": "format",
        "idempotence": "enable.idempotence",
    },
)
