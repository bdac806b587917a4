"""The Kafka sink option schema: every spec CREATE CONNECTION validates, defaults, types, bad options.

The spec's statements are extracted from ../shared/spec/kafka-sink.md, never retyped. The option
list extractor below is test scaffolding for the schema only (sqlglot tokens → ``name = value``
pairs, names normalised as the real parser does: bare names lower-cased, quoted names as written);
the real CREATE CONNECTION parser lives in gateway.sql and has its own tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlglot
from sqlglot.tokenizer_core import Token, TokenType

from catalog.option_values import SecretRef
from catalog.options import ValidatedOptions, describe_options, validate_connection_options
from gateway.errors import LaminarError

SPEC = Path(__file__).resolve().parents[2].parent / "shared/spec/kafka-sink.md"
SECRETS = frozenset({"sr_key", "sr_secret"})
JAVA_INT_MAX = 2**31 - 1


# --- spec extraction (test scaffolding) ------------------------------------------------------------
@dataclass(frozen=True)
class SpecConnection:
    name: str
    options: list[tuple[str, str]]


def _option_list(tokens: list[Token]) -> list[tuple[str, str]]:
    """``( name = value, 'quoted.name' = 'value', ... )`` starting at the opening parenthesis."""
    assert tokens[0].token_type == TokenType.L_PAREN
    options: list[tuple[str, str]] = []
    position = 1
    while tokens[position].token_type != TokenType.R_PAREN:
        name_token, equals = tokens[position], tokens[position + 1]
        assert equals.token_type == TokenType.EQ, f"expected '=' after {name_token.text}"
        quoted = name_token.token_type == TokenType.STRING
        name = name_token.text if quoted else name_token.text.lower()
        position += 2
        sign = ""
        if tokens[position].token_type == TokenType.DASH:
            sign, position = "-", position + 1
        value_token = tokens[position]
        assert value_token.token_type in {TokenType.STRING, TokenType.NUMBER, TokenType.TRUE, TokenType.FALSE}
        value = value_token.text if value_token.token_type == TokenType.STRING else value_token.text.lower()
        options.append((name, sign + value))
        position += 1
        if tokens[position].token_type == TokenType.COMMA:
            position += 1
    return options


def spec_connections() -> list[SpecConnection]:
    """Every ``CREATE CONNECTION name TO kafka (...)`` in the spec's sql blocks, in order."""
    text = SPEC.read_text(encoding="utf-8")
    found: list[SpecConnection] = []
    for block in re.findall(r"```sql\n(.*?)```", text, flags=re.DOTALL):
        tokens = sqlglot.Dialect.get_or_raise("postgres").tokenize(block)
        for index, token in enumerate(tokens):
            if token.token_type != TokenType.CREATE or tokens[index + 1].text.upper() != "CONNECTION":
                continue
            name = tokens[index + 2].text.lower()
            assert [t.text.upper() for t in tokens[index + 3 : index + 5]] == ["TO", "KAFKA"]
            found.append(SpecConnection(name, _option_list(tokens[index + 5 :])))
    return found


SPEC_CONNECTIONS = spec_connections()
BY_NAME = {connection.name: connection for connection in SPEC_CONNECTIONS}


def validate(options: list[tuple[str, str]], columns: tuple[str, ...] = ()) -> ValidatedOptions:
    return validate_connection_options(options, secret_exists=SECRETS.__contains__, columns=columns)


def test_extractor_finds_every_create_connection_in_the_spec() -> None:
    assert len(SPEC_CONNECTIONS) == SPEC.read_text(encoding="utf-8").count("CREATE CONNECTION") == 19
    assert len(BY_NAME) == 19
    assert BY_NAME["kafka_optimized"].options[4:] == [
        ("batch.size", "32768"),
        ("linger.ms", "100"),
        ("buffer.memory", "67108864"),
        ("compression.type", "snappy"),
        ("send.buffer.bytes", "131072"),
        ("max.request.size", "1048576"),
    ]


@pytest.mark.parametrize("connection", SPEC_CONNECTIONS, ids=lambda c: c.name)
def test_every_spec_connection_validates(connection: SpecConnection) -> None:
    validated = validate(connection.options)
    assert validated.connection_type == "sink"
    assert validated.explicit == {name for name, _ in connection.options}
    assert set(validated.values) == {spec.name for spec in describe_options("sink")}


SINK_ONLY = frozenset({"value_subject", "auto.register.schemas"})


@pytest.mark.parametrize("name", ["kafka_avro_sink", "kafka_protobuf_sink"])
def test_the_spec_avro_and_protobuf_connections_validate_as_sources_too(name: str) -> None:
    # The spec's connection as a source (sink-only options left out): sources decode both formats.
    options = [
        (option, "source" if option == "type" else value)
        for option, value in BY_NAME[name].options
        if option not in SINK_ONLY
    ]
    validated = validate(options)
    assert validated.connection_type == "source"
    assert validated.string("format") == dict(BY_NAME[name].options)["format"]


def test_every_option_name_in_the_spec_is_in_the_schema() -> None:
    used = {name for connection in SPEC_CONNECTIONS for name, _ in connection.options}
    schema = {spec.name for spec in describe_options("sink")}
    assert used <= schema
    assert len(used) == 31  # plus compression, batch_size and linger_ms, used only in the option table


def spec_option_table() -> list[tuple[str, str, str, str]]:
    """(parameter, type, required, default) rows of the spec's "Configuration Options" table."""
    pattern = r"^\| `(\w+)` \| (\w+) \| (Yes|No) \| (.+?) \|"
    return re.findall(pattern, SPEC.read_text(encoding="utf-8"), flags=re.MULTILINE)


def test_the_spec_option_table_matches_the_schema() -> None:
    rows = spec_option_table()
    assert len(rows) == 9
    specs = {spec.name: spec for spec in describe_options("sink")}
    for name, kind, required, default in rows:
        spec = specs[name]
        assert spec.kind in ({"integer"} if kind == "integer" else {"string", "enum", "servers"}), name
        # topic is required unless topic_field picks the topic per row (checked across options).
        assert spec.required == (required == "Yes" and name != "topic"), name
        expected_default = None if default == "-" else default.strip("`")
        assert (None if spec.default is None else str(spec.default)) == expected_default, name
    table_first = [spec.name for spec in describe_options("sink") if spec.name != "topic_field"][:9]
    assert table_first == [row[0] for row in rows]


# --- values of the spec's statements ---------------------------------------------------------------
def test_basic_configuration_defaults() -> None:
    validated = validate(BY_NAME["kafka_sink"].options)
    assert dict(validated.values) == {
        "bootstrap_servers": ("broker1:9092", "broker2:9092"),
        "topic": "output-events",
        "type": "sink",
        "format": "json",
        "key_field": None,
        "partition_field": None,
        "topic_field": None,
        "compression": "snappy",
        "batch_size": 16384,
        "linger_ms": 100,
        "key.format": "string",
        "json.pretty": False,
        "json.include_nulls": True,
        "schema_registry.endpoint": None,
        "schema_registry.api_key": None,
        "schema_registry.api_secret": None,
        "value_subject": None,
        "auto.register.schemas": True,
        "protobuf.message": None,
        "protobuf.descriptor_file": None,
        "partitioner": None,
        "transactional.id": None,
        "transaction.timeout.ms": 60000,
        "enable.idempotence": True,
        "acks": "all",
        "retries": JAVA_INT_MAX,
        "max.in.flight.requests.per.connection": 5,
        "batch.size": 16384,
        "linger.ms": 100,
        "buffer.memory": 33554432,
        "compression.type": "snappy",
        "send.buffer.bytes": 131072,
        "max.request.size": 1048576,
        "retry.backoff.ms": 100,
        "request.timeout.ms": 30000,
        "delivery.timeout.ms": 120000,
        "security.protocol": "PLAINTEXT",
        "sasl.mechanism": None,
        "sasl.username": None,
        "sasl.password": None,
        "error_policy": "fail",
        "dlq_connection": None,
    }
    assert validated.explicit == {"bootstrap_servers", "topic", "type", "format"}


def test_values_are_typed() -> None:
    validated = validate(BY_NAME["kafka_optimized"].options)
    assert type(validated.get("batch.size")) is int
    assert validated.integer("batch.size") == 32768
    assert validated.integer("buffer.memory") == 67108864
    assert validated.integer("linger_ms") == validated.integer("linger.ms") == 100
    assert validated.get("compression") == validated.get("compression.type") == "snappy"
    json_output = validate(BY_NAME["kafka_json_output"].options)
    assert json_output.get("json.pretty") is False
    assert json_output.get("json.include_nulls") is True
    assert json_output.boolean("json.pretty") is False
    assert validate(BY_NAME["kafka_2pc"].options).get("transaction.timeout.ms") == 60000
    assert validate(BY_NAME["kafka_sink"].options).servers("bootstrap_servers") == (
        "broker1:9092",
        "broker2:9092",
    )


def test_typed_getters_refuse_the_wrong_type_and_unknown_names() -> None:
    validated = validate(BY_NAME["kafka_sink"].options)
    with pytest.raises(TypeError):
        validated.integer("json.pretty")  # a bool is not an int here
    with pytest.raises(TypeError):
        validated.boolean("batch_size")
    with pytest.raises(KeyError):
        validated.get("group_id")


def test_transactional_statement_is_idempotent_with_acks_all() -> None:
    validated = validate(BY_NAME["kafka_transactional"].options)
    assert validated.get("transactional.id") == "laminar-producer-1"
    assert validated.get("enable.idempotence") is True
    assert validated.get("acks") == "all"
    assert validated.get("retries") == 10
    assert validated.get("max.in.flight.requests.per.connection") == 5


def test_async_statement_turns_idempotence_off_like_the_java_client() -> None:
    validated = validate(BY_NAME["kafka_async"].options)
    assert validated.get("acks") == "1"
    assert validated.get("max.in.flight.requests.per.connection") == 10
    assert validated.get("enable.idempotence") is False
    assert "enable.idempotence" not in validated.explicit


def test_avro_statement_keeps_secret_references() -> None:
    validated = validate(BY_NAME["kafka_avro_sink"].options)
    assert validated.get("schema_registry.api_key") == SecretRef("sr_key")
    assert validated.get("schema_registry.api_secret") == SecretRef("sr_secret")
    assert str(validated.get("schema_registry.api_key")) == "${secret:sr_key}"
    assert validated.get("schema_registry.endpoint") == "http://schema-registry:8081"
    assert validated.get("value_subject") == "avro-output-value"
    assert validated.get("auto.register.schemas") is True


def test_secret_existence_is_asked_for_each_reference() -> None:
    asked: list[str] = []

    def exists(name: str) -> bool:
        asked.append(name)
        return True

    validate_connection_options(BY_NAME["kafka_avro_sink"].options, secret_exists=exists)
    assert asked == ["sr_key", "sr_secret"]


def test_routing_options() -> None:
    multi = validate(BY_NAME["kafka_multi"].options)
    assert multi.get("topic") is None
    assert multi.get("topic_field") == "_target_topic"
    hashed = validate(BY_NAME["kafka_hash_partition"].options)
    assert hashed.get("partitioner") == "murmur2_random"
    assert hashed.get("key_field") == "customer_id"
    custom = validate(BY_NAME["kafka_custom_partition"].options)
    assert custom.get("partition_field") == "region_partition"
    # topic and topic_field together: the field picks per row, topic is the fallback.
    both = validate(
        [*BASE, ("key_field", "k"), ("partition_field", "p"), ("topic_field", "t")], ("k", "p", "t")
    )
    assert (both.get("topic"), both.get("topic_field"), both.get("key_field")) == ("events", "t", "k")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("none", "none"), ("GZIP", "gzip"), ("snappy", "snappy"), ("lz4", "lz4"), ("Zstd", "zstd")],
)
def test_compression_values(given: str, expected: str) -> None:
    validated = validate([*BASE, ("compression", given)])
    assert validated.get("compression") == validated.get("compression.type") == expected


@pytest.mark.parametrize(("given", "expected"), [("0", "0"), ("1", "1"), ("all", "all"), ("-1", "all")])
def test_acks_values(given: str, expected: str) -> None:
    validated = validate([*BASE, ("acks", given)])
    assert validated.get("acks") == expected
    assert validated.get("enable.idempotence") is (expected == "all")


@pytest.mark.parametrize(
    ("given", "expected"), [("true", True), ("FALSE", False), ("on", True), ("0", False)]
)
def test_boolean_spellings(given: str, expected: bool) -> None:
    assert validate([*BASE, ("json.pretty", given)]).get("json.pretty") is expected


def test_same_value_under_both_spellings_is_fine() -> None:
    validated = validate([*BASE, ("compression", "lz4"), ("compression.type", "LZ4"), ("linger_ms", "5")])
    assert validated.get("compression.type") == "lz4"
    assert validated.get("linger.ms") == 5


def test_batch_size_and_kafka_batch_size_are_different_settings() -> None:
    validated = validate([*BASE, ("batch_size", "500"), ("batch.size", "1048576")])
    assert validated.integer("batch_size") == 500
    assert validated.integer("batch.size") == 1048576


def test_delivery_timeout_default_is_raised_to_cover_linger_and_request_timeout() -> None:
    validated = validate([*BASE, ("request.timeout.ms", "200000"), ("linger.ms", "50")])
    assert validated.get("delivery.timeout.ms") == 200050
    assert "delivery.timeout.ms" not in validated.explicit


def test_format_specific_options() -> None:
    key_avro = validate(
        [
            *BASE,
            ("key_field", "id"),
            ("key.format", "avro"),
            ("schema_registry.endpoint", "https://registry.example.com:8081/api"),
            ("auto.register.schemas", "false"),
        ]
    )
    assert key_avro.get("key.format") == "avro"
    assert key_avro.get("auto.register.schemas") is False
    protobuf_file = validate(
        [
            *with_options(format="protobuf"),
            ("protobuf.message", "com.example.Event"),
            ("protobuf.descriptor_file", "/etc/laminar/events.desc"),
        ]
    )
    assert protobuf_file.get("protobuf.descriptor_file") == "/etc/laminar/events.desc"


def test_dlq_policy() -> None:
    validated = validate([*BASE, ("error_policy", "DLQ"), ("dlq_connection", "kafka_dlq_sink")])
    assert validated.get("error_policy") == "dlq"
    assert validated.get("dlq_connection") == "kafka_dlq_sink"


def test_describe_options_documents_every_option() -> None:
    specs = describe_options("sink")
    assert all(spec.description for spec in specs)
    secret_ok = [spec.name for spec in specs if spec.secret_ok]
    assert secret_ok == [
        "schema_registry.api_key",
        "schema_registry.api_secret",
        "sasl.username",
        "sasl.password",
    ]
    secret_required = [spec.name for spec in specs if spec.secret_required]
    assert secret_required == ["schema_registry.api_secret", "sasl.password"]
    partitioner = next(spec for spec in specs if spec.name == "partitioner")
    names = "random consistent consistent_random murmur2 murmur2_random fnv1a fnv1a_random round_robin"
    assert partitioner.allowed == tuple(names.split())


# --- bad options ---------------------------------------------------------------------------------
BASE = [("bootstrap_servers", "localhost:9092"), ("topic", "events"), ("type", "sink"), ("format", "json")]


def with_options(*, drop: tuple[str, ...] = (), **changes: str) -> list[tuple[str, str]]:
    """BASE with options replaced in place (keyword names use '__' for '.') and others dropped."""
    named = {key.replace("__", "."): value for key, value in changes.items()}
    options = [(name, named.pop(name, value)) for name, value in BASE if name not in drop]
    return options + list(named.items())


@dataclass(frozen=True)
class Bad:
    options: list[tuple[str, str]]
    sqlstate: str
    message: str
    hint: str | None = None
    columns: tuple[str, ...] = ()


IDEMPOTENCE_HINT = "The idempotent producer needs acks = all, at most 5 in-flight requests and retries."
AVRO = [*with_options(format="avro"), ("schema_registry.endpoint", "http://registry:8081")]

BAD_SINK_OPTIONS = [
    Bad(
        [*BASE, ("batchsize", "10")],
        "42704",
        'unknown option "batchsize" for a Kafka sink connection',
        'Did you mean "batch_size"?',
    ),
    Bad(
        [*with_options(drop=("bootstrap_servers",)), ("bootstrap.servers", "localhost:9092")],
        "42704",
        'unknown option "bootstrap.servers" for a Kafka sink connection',
        'Did you mean "bootstrap_servers"?',
    ),
    Bad(
        [*BASE, ("json.include_null", "true")],
        "42704",
        'unknown option "json.include_null" for a Kafka sink connection',
        'Did you mean "json.include_nulls"?',
    ),
    Bad(
        [*BASE, ("group_id", "g")],
        "42704",
        'unknown option "group_id" for a Kafka sink connection',
    ),
    Bad([*BASE, ("topic", "other")], "42710", 'option "topic" specified more than once'),
    Bad(
        with_options(type="sinks"),
        "22023",
        'invalid value "sinks" for option "type": allowed values are sink, source',
        "Did you mean 'sink'?",
    ),
    Bad(
        with_options(drop=("bootstrap_servers",)),
        "22023",
        'missing required option "bootstrap_servers" for a Kafka sink connection',
    ),
    Bad(
        with_options(drop=("format",)),
        "22023",
        'missing required option "format" for a Kafka sink connection',
    ),
    Bad(
        with_options(drop=("topic",)),
        "22023",
        'missing required option "topic" for a Kafka sink connection',
        "Set topic = 'name', or topic_field = 'column' to pick the topic per row.",
    ),
    Bad(
        with_options(format="xml"),
        "22023",
        'invalid value "xml" for option "format": allowed values are json, avro, protobuf, raw',
    ),
    Bad(
        [*BASE, ("compression", "brotli")],
        "22023",
        'invalid value "brotli" for option "compression": allowed values are none, gzip, snappy, lz4, zstd',
    ),
    Bad(
        [*BASE, ("compression.type", "gzipp")],
        "22023",
        'invalid value "gzipp" for option "compression.type": '
        "allowed values are none, gzip, snappy, lz4, zstd",
        "Did you mean 'gzip'?",
    ),
    Bad(
        [*BASE, ("batch_size", "16k")],
        "22023",
        'invalid value "16k" for option "batch_size": expected an integer from 1 to 1000000',
    ),
    Bad(
        [*BASE, ("batch_size", "0")],
        "22023",
        'invalid value "0" for option "batch_size": expected an integer from 1 to 1000000',
    ),
    Bad(
        [*BASE, ("linger_ms", "-5")],
        "22023",
        'invalid value "-5" for option "linger_ms": expected an integer from 0 to 2147483647',
    ),
    Bad(
        [*BASE, ("retries", "1.5")],
        "22023",
        'invalid value "1.5" for option "retries": expected an integer from 0 to 2147483647',
    ),
    Bad(
        [*BASE, ("buffer.memory", "0")],
        "22023",
        'invalid value "0" for option "buffer.memory": expected an integer of at least 1',
    ),
    Bad(
        [*BASE, ("json.pretty", "maybe")],
        "22023",
        'invalid value "maybe" for option "json.pretty": expected a boolean (true or false)',
    ),
    Bad(
        with_options(bootstrap_servers="broker1"),
        "22023",
        'invalid value "broker1" for option "bootstrap_servers": '
        'expected a comma-separated list of host:port, but "broker1" has no port',
    ),
    Bad(
        with_options(bootstrap_servers="broker1:9092,b:99999"),
        "22023",
        'invalid value "broker1:9092,b:99999" for option "bootstrap_servers": '
        'expected a comma-separated list of host:port, but the port of "b:99999" is not from 1 to 65535',
    ),
    Bad(
        with_options(bootstrap_servers="a:9092,,b:9092"),
        "22023",
        'invalid value "a:9092,,b:9092" for option "bootstrap_servers": '
        "expected a comma-separated list of host:port, but an entry is empty",
    ),
    Bad(
        with_options(bootstrap_servers="bad host:9092"),
        "22023",
        'invalid value "bad host:9092" for option "bootstrap_servers": '
        'expected a comma-separated list of host:port, but "bad host" is not a host name',
    ),
    Bad(
        with_options(topic="my events"),
        "22023",
        'invalid value "my events" for option "topic": '
        "a Kafka topic name has 1 to 249 characters from a-z, A-Z, 0-9, '.', '_' and '-'",
    ),
    Bad(
        with_options(topic=""),
        "22023",
        'invalid value "" for option "topic": must not be empty',
    ),
    Bad(
        [*BASE, ("acks", "2")],
        "22023",
        'invalid value "2" for option "acks": allowed values are 0, 1, all',
    ),
    Bad(
        [*BASE, ("key_field", "id"), ("partitioner", "murmur3")],
        "22023",
        'invalid value "murmur3" for option "partitioner": allowed values are random, consistent, '
        "consistent_random, murmur2, murmur2_random, fnv1a, fnv1a_random, round_robin",
        "Did you mean 'murmur2'?",
    ),
    Bad(
        with_options(format="avro", schema_registry__endpoint="ftp://registry:21"),
        "22023",
        'invalid value "ftp://registry:21" for option "schema_registry.endpoint": '
        "expected an http:// or https:// URL",
    ),
    Bad(
        [
            *AVRO,
            ("schema_registry.api_key", "${secret:nope}"),
            ("schema_registry.api_secret", "${secret:sr_secret}"),
        ],
        "42704",
        'secret "nope" does not exist',
        "CREATE SECRET nope AS '...'",
    ),
    Bad(
        with_options(topic="${secret:sr_key}"),
        "22023",
        'option "topic" cannot take a secret reference',
    ),
    Bad(
        [
            *AVRO,
            ("schema_registry.api_key", "${secret:}"),
            ("schema_registry.api_secret", "${secret:sr_secret}"),
        ],
        "22023",
        'invalid secret reference in option "schema_registry.api_key"',
        "Write the reference as '${secret:name}'.",
    ),
    Bad(
        [*AVRO, ("schema_registry.api_key", "${secret:sr_key}")],
        "22023",
        'option "schema_registry.api_secret" is missing: the Schema Registry credentials come as a pair',
    ),
    Bad(
        [*BASE, ("enable.idempotence", "true"), ("acks", "1")],
        "22023",
        '"enable.idempotence" = true conflicts with "acks" = 1 (needs all)',
        IDEMPOTENCE_HINT,
    ),
    Bad(
        [*BASE, ("enable.idempotence", "true"), ("max.in.flight.requests.per.connection", "6")],
        "22023",
        '"enable.idempotence" = true conflicts with '
        '"max.in.flight.requests.per.connection" = 6 (needs at most 5)',
        IDEMPOTENCE_HINT,
    ),
    Bad(
        [*BASE, ("enable.idempotence", "true"), ("retries", "0")],
        "22023",
        '"enable.idempotence" = true conflicts with "retries" = 0 (needs at least 1)',
        IDEMPOTENCE_HINT,
    ),
    Bad(
        [*BASE, ("transactional.id", "tx-1"), ("enable.idempotence", "false")],
        "22023",
        '"transactional.id" needs the idempotent producer, but "enable.idempotence" = false',
    ),
    Bad(
        [*BASE, ("transactional.id", "tx-1"), ("acks", "0")],
        "22023",
        '"transactional.id" conflicts with "acks" = 0 (needs all)',
        IDEMPOTENCE_HINT,
    ),
    Bad(
        [*BASE, ("transaction.timeout.ms", "60000")],
        "22023",
        'option "transaction.timeout.ms" applies only with "transactional.id"',
    ),
    Bad(
        [*BASE, ("compression", "gzip"), ("compression.type", "lz4")],
        "22023",
        'conflicting options: compression = gzip but "compression.type" = lz4',
        'compression and "compression.type" are the same setting: give one of them.',
    ),
    Bad(
        [*BASE, ("linger_ms", "5"), ("linger.ms", "10")],
        "22023",
        'conflicting options: linger_ms = 5 but "linger.ms" = 10',
    ),
    Bad(
        [*BASE, ("delivery.timeout.ms", "1000")],
        "22023",
        '"delivery.timeout.ms" = 1000 must be at least "linger.ms" + "request.timeout.ms" = 30100',
    ),
    Bad(
        with_options(format="avro"),
        "22023",
        "format 'avro' needs option \"schema_registry.endpoint\"",
    ),
    Bad(
        [*with_options(format="protobuf"), ("schema_registry.endpoint", "http://registry:8081")],
        "22023",
        "format 'protobuf' needs option \"protobuf.message\"",
    ),
    Bad(
        [*with_options(format="protobuf"), ("protobuf.message", "com.example.Event")],
        "22023",
        'format \'protobuf\' needs option "schema_registry.endpoint" or "protobuf.descriptor_file"',
    ),
    Bad(
        [*BASE, ("protobuf.message", "com.example.Event")],
        "22023",
        "option \"protobuf.message\" applies only to format 'protobuf' (format is 'json')",
    ),
    Bad(
        [
            *with_options(format="protobuf"),
            ("schema_registry.endpoint", "http://registry:8081"),
            ("protobuf.message", "com..Event"),
        ],
        "22023",
        'invalid value "com..Event" for option "protobuf.message": '
        "expected a fully qualified Protobuf message name such as 'com.example.Event'",
    ),
    Bad(
        [*with_options(format="raw"), ("json.pretty", "true")],
        "22023",
        "option \"json.pretty\" applies only to format 'json' (format is 'raw')",
    ),
    Bad(
        [*BASE, ("schema_registry.endpoint", "http://registry:8081")],
        "22023",
        "option \"schema_registry.endpoint\" applies only to format 'avro' or 'protobuf' (format is 'json')",
    ),
    Bad(
        [*BASE, ("value_subject", "events-value")],
        "22023",
        "option \"value_subject\" applies only to format 'avro' or 'protobuf' (format is 'json')",
    ),
    Bad(
        [*BASE, ("key.format", "string")],
        "22023",
        'option "key.format" applies only with key_field (messages without key_field have no key)',
    ),
    Bad(
        [*BASE, ("key_field", "id"), ("key.format", "avro")],
        "22023",
        "'key.format' = 'avro' needs option \"schema_registry.endpoint\"",
    ),
    Bad(
        [*BASE, ("error_policy", "dlq")],
        "22023",
        "error_policy 'dlq' needs option \"dlq_connection\"",
    ),
    Bad(
        [*BASE, ("dlq_connection", "kafka_dlq_sink")],
        "22023",
        "option \"dlq_connection\" applies only with error_policy 'dlq' (error_policy is 'fail')",
    ),
    Bad(
        [*BASE, ("error_policy", "ignore")],
        "22023",
        'invalid value "ignore" for option "error_policy": allowed values are fail, skip, dlq',
    ),
    Bad(
        [*BASE, ("key_field", "user_idx")],
        "42703",
        'column "user_idx" named by option "key_field" is not a column of this connection',
        "Declared columns: user_id, amount.",
        ("user_id", "amount"),
    ),
    Bad(
        [*BASE, ("topic_field", "route"), ("partition_field", "route")],
        "22023",
        'topic_field and partition_field both name column "route"',
    ),
]


@pytest.mark.parametrize("case", BAD_SINK_OPTIONS, ids=lambda case: case.message)
def test_bad_sink_options(case: Bad) -> None:
    with pytest.raises(LaminarError) as raised:
        validate(case.options, columns=case.columns)
    assert (raised.value.sqlstate, raised.value.message) == (case.sqlstate, case.message)
    if case.hint is not None:
        assert raised.value.hint == case.hint


def test_bad_cases_are_distinct() -> None:
    assert len({case.message for case in BAD_SINK_OPTIONS}) == len(BAD_SINK_OPTIONS) >= 40


def test_unknown_option_without_a_close_match_lists_the_valid_options() -> None:
    with pytest.raises(LaminarError) as raised:
        validate([*BASE, ("zzqx", "1")])
    assert raised.value.sqlstate == "42704"
    hint = raised.value.hint or ""
    assert hint.startswith("Valid options: acks, auto.register.schemas, batch.size, batch_size, ")
    assert hint.endswith(", type, value_subject.")
