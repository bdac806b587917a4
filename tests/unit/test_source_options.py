"""The Kafka source option schema, the dispatch on ``type`` and secret handling: defaults, errors.

The spec documents sinks only, so the statements here are written for this test; they follow the
source options of DESIGN.md §3-§4 and issue 5 (group id, start offset, isolation level, event time
and watermark delay, error policy).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from catalog.option_values import SecretRef, parse_duration_ms
from catalog.options import ValidatedOptions, describe_options, validate_connection_options
from gateway.errors import LaminarError

SECRETS = frozenset({"sr_key", "sr_secret"})
BASE = [("bootstrap_servers", "localhost:9092"), ("topic", "events"), ("type", "source"), ("format", "json")]
COLUMNS = ("id", "user_id", "event_time", "amount")


def validate(options: list[tuple[str, str]], columns: tuple[str, ...] = COLUMNS) -> ValidatedOptions:
    return validate_connection_options(options, secret_exists=SECRETS.__contains__, columns=columns)


def test_defaults_of_a_minimal_source() -> None:
    validated = validate(BASE)
    assert validated.connection_type == "source"
    assert dict(validated.values) == {
        "bootstrap_servers": ("localhost:9092",),
        "topic": "events",
        "type": "source",
        "format": "json",
        "group_id": None,
        "start_offset": "earliest",
        "isolation_level": "read_committed",
        "event_time_column": None,
        "watermark_delay": 0,
        "idle_timeout": 30000,
        "json.fail_on_missing": False,
        "schema_registry.endpoint": None,
        "schema_registry.api_key": None,
        "schema_registry.api_secret": None,
        "protobuf.message": None,
        "protobuf.descriptor_file": None,
        "security.protocol": "PLAINTEXT",
        "sasl.mechanism": None,
        "sasl.username": None,
        "sasl.password": None,
        "error_policy": "fail",
        "dlq_connection": None,
    }
    assert validated.explicit == {"bootstrap_servers", "topic", "type", "format"}


def test_a_full_source_is_typed() -> None:
    validated = validate(
        [
            ("bootstrap_servers", "kafka-1.internal:9092, 10.0.0.7:9093,[::1]:9094"),
            ("topic", "source-events"),
            ("type", "SOURCE"),
            ("format", "JSON"),
            ("group_id", "analytics"),
            ("start_offset", "latest"),
            ("isolation_level", "read_uncommitted"),
            ("event_time_column", "event_time"),
            ("watermark_delay", "5 seconds"),
            ("idle_timeout", "1 minute"),
            ("json.fail_on_missing", "true"),
            ("error_policy", "dlq"),
            ("dlq_connection", "kafka_dlq_sink"),
        ]
    )
    assert validated.servers("bootstrap_servers") == ("kafka-1.internal:9092", "10.0.0.7:9093", "[::1]:9094")
    assert validated.get("type") == "source"
    assert validated.get("format") == "json"
    assert validated.string("group_id") == "analytics"
    assert validated.get("start_offset") == "latest"
    assert validated.get("isolation_level") == "read_uncommitted"
    assert validated.string("event_time_column") == "event_time"
    assert validated.duration_ms("watermark_delay") == 5000
    assert validated.duration_ms("idle_timeout") == 60000
    assert validated.boolean("json.fail_on_missing") is True
    assert validated.get("error_policy") == "dlq"
    assert validated.get("dlq_connection") == "kafka_dlq_sink"


def test_event_time_may_be_the_kafka_timestamp() -> None:
    validated = validate([*BASE, ("event_time_column", "_kafka_timestamp"), ("watermark_delay", "500 ms")])
    assert validated.get("event_time_column") == "_kafka_timestamp"
    assert validated.get("watermark_delay") == 500


def test_event_time_column_is_not_checked_without_declared_columns() -> None:
    options = [
        *BASE[:3],
        ("format", "avro"),
        ("schema_registry.endpoint", "http://registry:8081"),
        ("schema_registry.api_key", "${secret:sr_key}"),
        ("schema_registry.api_secret", "${secret:sr_secret}"),
        ("event_time_column", "ts"),
    ]
    validated = validate(options, columns=())
    assert validated.get("event_time_column") == "ts"
    assert validated.secret_or_text("schema_registry.api_key") == SecretRef("sr_key")


def test_protobuf_source_with_a_descriptor_file() -> None:
    validated = validate(
        [
            *BASE[:3],
            ("format", "protobuf"),
            ("protobuf.message", "com.example.Event"),
            ("protobuf.descriptor_file", "events.desc"),
        ],
        columns=(),
    )
    assert validated.get("protobuf.message") == "com.example.Event"


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("5 seconds", 5000),
        ("1 second", 1000),
        ("1 minute", 60000),
        ("500 ms", 500),
        ("500ms", 500),
        ("2 hours", 7_200_000),
        ("1 day", 86_400_000),
        ("1.5 s", 1500),
        ("1 minute 30 seconds", 90000),
        ("00:00:05", 5000),
        ("01:02:03.5", 3_723_500),
        ("INTERVAL '5 seconds'", 5000),
        ("interval '1 hour'", 3_600_000),
        ("INTERVAL '5' SECOND", 5000),
        ("  10 Minutes ", 600_000),
        ("0 ms", 0),
    ],
)
def test_durations(text: str, millis: int) -> None:
    assert parse_duration_ms(text) == millis


@pytest.mark.parametrize(
    "text", ["", "5", "five seconds", "5 fortnights", "-5 seconds", "5 seconds ago", "1:2"]
)
def test_not_durations(text: str) -> None:
    assert parse_duration_ms(text) is None


def test_describe_options() -> None:
    assert [spec.name for spec in describe_options("source")] == [
        "bootstrap_servers",
        "topic",
        "type",
        "format",
        "group_id",
        "start_offset",
        "isolation_level",
        "event_time_column",
        "watermark_delay",
        "idle_timeout",
        "json.fail_on_missing",
        "schema_registry.endpoint",
        "schema_registry.api_key",
        "schema_registry.api_secret",
        "protobuf.message",
        "protobuf.descriptor_file",
        "security.protocol",
        "sasl.mechanism",
        "sasl.username",
        "sasl.password",
        "error_policy",
        "dlq_connection",
    ]
    assert all(spec.description for spec in describe_options("source"))


def test_describe_options_of_an_unknown_type() -> None:
    with pytest.raises(LaminarError) as raised:
        describe_options("table")
    assert raised.value.sqlstate == "22023"
    assert raised.value.message == 'invalid value "table" for option "type": allowed values are sink, source'


# --- bad options ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bad:
    options: list[tuple[str, str]]
    sqlstate: str
    message: str
    hint: str | None = None


DURATION_EXPECTED = "expected a duration such as '5 seconds', '500 ms', '1 minute' or INTERVAL '1 hour'"
EVENT_TIME = ("event_time_column", "event_time")

BAD_SOURCE_OPTIONS = [
    Bad([*BASE, ("type", "source")], "42710", 'option "type" specified more than once'),
    Bad(
        [opt for opt in BASE if opt[0] != "type"],
        "22023",
        'missing required option "type"',
        "Add type = 'sink' (to produce to Kafka) or type = 'source' (to consume from it).",
    ),
    Bad(
        [*BASE, ("group.id", "g")],
        "42704",
        'unknown option "group.id" for a Kafka source connection',
        'Did you mean "group_id"?',
    ),
    Bad(
        [*BASE, ("auto.offset.reset", "earliest")],
        "42704",
        'unknown option "auto.offset.reset" for a Kafka source connection',
        'Did you mean "start_offset"?',
    ),
    Bad(
        [*BASE, ("compression", "gzip")],
        "42704",
        'unknown option "compression" for a Kafka source connection',
    ),
    Bad(
        [*BASE, ("group_id", "a"), ("group_id", "b")],
        "42710",
        'option "group_id" specified more than once',
    ),
    Bad(
        [opt for opt in BASE if opt[0] != "topic"],
        "22023",
        'missing required option "topic" for a Kafka source connection',
    ),
    Bad(
        BASE[1:],
        "22023",
        'missing required option "bootstrap_servers" for a Kafka source connection',
    ),
    Bad(
        [*BASE, ("start_offset", "beginning")],
        "22023",
        'invalid value "beginning" for option "start_offset": allowed values are earliest, latest, committed',
    ),
    Bad(
        [*BASE, ("start_offset", "earlist")],
        "22023",
        'invalid value "earlist" for option "start_offset": allowed values are earliest, latest, committed',
        "Did you mean 'earliest'?",
    ),
    Bad(
        [*BASE, ("isolation_level", "serializable")],
        "22023",
        'invalid value "serializable" for option "isolation_level": '
        "allowed values are read_committed, read_uncommitted",
    ),
    Bad(
        [*BASE, EVENT_TIME, ("watermark_delay", "5")],
        "22023",
        f'invalid value "5" for option "watermark_delay": {DURATION_EXPECTED}',
    ),
    Bad(
        [*BASE, EVENT_TIME, ("watermark_delay", "5 fortnights")],
        "22023",
        f'invalid value "5 fortnights" for option "watermark_delay": {DURATION_EXPECTED}',
    ),
    Bad(
        [*BASE, EVENT_TIME, ("watermark_delay", "-5 seconds")],
        "22023",
        f'invalid value "-5 seconds" for option "watermark_delay": {DURATION_EXPECTED}',
    ),
    Bad(
        [*BASE, EVENT_TIME, ("watermark_delay", "2 days")],
        "22023",
        'invalid value "2 days" for option "watermark_delay": the duration must be from 0 ms to 86400000 ms',
    ),
    Bad(
        [*BASE, EVENT_TIME, ("idle_timeout", "0 ms")],
        "22023",
        'invalid value "0 ms" for option "idle_timeout": the duration must be from 1 ms to 86400000 ms',
    ),
    Bad(
        [*BASE, ("watermark_delay", "5 seconds")],
        "22023",
        'option "watermark_delay" applies only with "event_time_column"',
    ),
    Bad(
        [*BASE, ("idle_timeout", "1 minute")],
        "22023",
        'option "idle_timeout" applies only with "event_time_column"',
    ),
    Bad(
        [*BASE, ("event_time_column", "ts")],
        "42703",
        'column "ts" named by option "event_time_column" is not a column of this connection',
        "Declared columns: id, user_id, event_time, amount, _kafka_timestamp.",
    ),
    Bad(
        [*BASE[:3], ("format", "avro")],
        "22023",
        "format 'avro' needs option \"schema_registry.endpoint\"",
    ),
    Bad(
        [*BASE[:3], ("format", "raw"), ("json.fail_on_missing", "true")],
        "22023",
        "option \"json.fail_on_missing\" applies only to format 'json' (format is 'raw')",
    ),
    Bad(
        [*BASE, ("error_policy", "dlq")],
        "22023",
        "error_policy 'dlq' needs option \"dlq_connection\"",
    ),
    Bad(
        [*BASE, ("error_policy", "skip"), ("dlq_connection", "dlq")],
        "22023",
        "option \"dlq_connection\" applies only with error_policy 'dlq' (error_policy is 'skip')",
    ),
    Bad(
        [*BASE, ("group_id", "${secret:sr_key}")],
        "22023",
        'option "group_id" cannot take a secret reference',
    ),
    Bad(
        [
            *BASE[:3],
            ("format", "avro"),
            ("schema_registry.endpoint", "https://registry:8081"),
            ("schema_registry.api_key", "${secret:sr_key}"),
            ("schema_registry.api_secret", "${secret:sr_pass}"),
        ],
        "42704",
        'secret "sr_pass" does not exist',
        "CREATE SECRET sr_pass AS '...'",
    ),
    Bad(
        [
            *BASE[:3],
            ("format", "protobuf"),
            ("protobuf.message", "a.B"),
            ("protobuf.descriptor_file", "x.desc"),
            ("schema_registry.api_key", "${secret:sr_key}"),
            ("schema_registry.api_secret", "${secret:sr_secret}"),
        ],
        "22023",
        'Schema Registry credentials need option "schema_registry.endpoint"',
    ),
    Bad(
        [*BASE[:3], ("format", "avro"), ("schema_registry.endpoint", "registry:8081")],
        "22023",
        'invalid value "registry:8081" for option "schema_registry.endpoint": '
        "expected an http:// or https:// URL",
    ),
    Bad(
        [*BASE[:2], ("type", "sorce"), BASE[3]],
        "22023",
        'invalid value "sorce" for option "type": allowed values are sink, source',
        "Did you mean 'source'?",
    ),
]


@pytest.mark.parametrize("case", BAD_SOURCE_OPTIONS, ids=lambda case: case.message)
def test_bad_source_options(case: Bad) -> None:
    with pytest.raises(LaminarError) as raised:
        validate(case.options)
    assert (raised.value.sqlstate, raised.value.message) == (case.sqlstate, case.message)
    if case.hint is not None:
        assert raised.value.hint == case.hint


def test_bad_cases_are_distinct() -> None:
    assert len({case.message for case in BAD_SOURCE_OPTIONS}) == len(BAD_SOURCE_OPTIONS) >= 20


def test_type_is_case_insensitive_and_may_come_anywhere() -> None:
    validated = validate([("type", "Source"), *[opt for opt in BASE if opt[0] != "type"]])
    assert validated.get("type") == "source"


def test_type_with_an_unknown_option_reports_the_unknown_option() -> None:
    with pytest.raises(LaminarError) as raised:
        validate([*BASE, ("watermark_dealy", "5 seconds")])
    assert raised.value.sqlstate == "42704"
    assert raised.value.hint == 'Did you mean "watermark_delay"?'


# --- secrets (the same rules for sinks and sources) ---------------------------------------------
LITERAL_SECRET = "hunter2-s3cr3t"
AVRO = [*BASE[:3], ("format", "avro"), ("schema_registry.endpoint", "http://registry:8081")]


@pytest.mark.parametrize(
    "options",
    [
        [*AVRO, ("schema_registry.api_key", "user"), ("schema_registry.api_secret", LITERAL_SECRET)],
        [*AVRO, ("schema_registry.api_key", LITERAL_SECRET), ("schema_registry.api_key", LITERAL_SECRET)],
        [*AVRO, ("schema_registry.api_key", "${secret:" + LITERAL_SECRET)],
        [
            *BASE,
            ("schema_registry.api_key", LITERAL_SECRET),
            ("schema_registry.api_secret", "${secret:sr_secret}"),
        ],
        [
            *BASE[:3],
            ("format", "avro"),
            ("schema_registry.endpoint", f"http://u:{LITERAL_SECRET}@registry:8081"),
        ],
    ],
    ids=[
        "literal api_secret",
        "duplicate api_key",
        "malformed reference",
        "api_key with json",
        "URL credentials",
    ],
)
def test_secret_values_never_appear_in_errors(options: list[tuple[str, str]]) -> None:
    with pytest.raises(LaminarError) as raised:
        validate(options)
    assert raised.value.sqlstate in {"22023", "42710"}
    for text in (raised.value.message, raised.value.detail, raised.value.hint, str(raised.value)):
        assert LITERAL_SECRET not in (text or "")


def test_literal_api_secret_is_refused_with_a_hint_to_create_a_secret() -> None:
    with pytest.raises(LaminarError) as raised:
        validate([*AVRO, ("schema_registry.api_key", "user"), ("schema_registry.api_secret", "pw")])
    assert raised.value.sqlstate == "22023"
    assert raised.value.message == (
        "option \"schema_registry.api_secret\" must be a secret reference such as '${secret:name}'"
    )
    assert raised.value.hint is not None
    assert "CREATE SECRET name AS '...'" in raised.value.hint


def test_literal_api_key_is_accepted_as_text() -> None:
    validated = validate(
        [*AVRO, ("schema_registry.api_key", "user"), ("schema_registry.api_secret", "${secret:sr_key}")]
    )
    assert validated.get("schema_registry.api_key") == "user"
    assert validated.secret_or_text("schema_registry.api_secret") == SecretRef("sr_key")


def test_missing_secret_hint_quotes_names_that_need_it() -> None:
    with pytest.raises(LaminarError) as raised:
        validate(
            [*AVRO, ("schema_registry.api_key", "user"), ("schema_registry.api_secret", "${secret:My Key}")]
        )
    assert (raised.value.sqlstate, raised.value.message) == ("42704", 'secret "My Key" does not exist')
    assert raised.value.hint == "CREATE SECRET \"My Key\" AS '...'"
    assert raised.value.detail == 'Option "schema_registry.api_secret" refers to it.'
