"""Bad DDL: each statement gets the right SQLSTATE and a message a user can act on, and changes nothing.

The cases cover the option schemas (unknown options with "Did you mean", bad enum values listing
what is allowed, bad numbers, booleans, broker lists, URLs and durations, missing and conflicting
options, SASL credentials; avro and protobuf connections, accepted for sinks and sources since
issue 6, still need theirs), connectors, columns, syntax, secrets, users and objects that do not
exist or already do.
The expected texts are the ones :mod:`catalog.options`, :mod:`sinks.options`,
:mod:`sources.options` and :mod:`catalog.service` write. Every case runs on both catalog stores,
and the catalog (connections, secrets, users) is compared before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest

from tests.integration.conftest import CatalogGateway

pytestmark = pytest.mark.integration

Conn = psycopg.Connection[tuple[object, ...]]

B = "bootstrap_servers = '127.0.0.1:9092'"
SINK = f"{B}, topic = 't', type = 'sink', format = 'json'"
SOURCE = f"{B}, topic = 't', type = 'source', format = 'json'"
REGISTRY = "'schema_registry.endpoint' = 'http://127.0.0.1:8081'"
SASL = "'security.protocol' = 'SASL_PLAINTEXT', 'sasl.mechanism' = 'SCRAM-SHA-256'"
URL_PASSWORD = "hunter2-in-a-url"


def sink(extra: str) -> str:
    return f"CREATE CONNECTION bad TO kafka ({SINK}, {extra})"


def source(extra: str) -> str:
    return f"CREATE CONNECTION bad TO kafka ({SOURCE}, {extra})"


@dataclass(frozen=True)
class Case:
    id: str
    statement: str
    sqlstate: str
    fragments: tuple[str, ...]


CASES = [
    # -- unknown options: 42704 with the closest valid name -----------------------------------------
    Case(
        "typo_topic",
        f"CREATE CONNECTION bad TO kafka ({B}, topik = 't', type = 'sink', format = 'json')",
        "42704",
        ('unknown option "topik" for a Kafka sink connection', 'Did you mean "topic"?'),
    ),
    Case(
        "kafka_spelling_of_bootstrap_servers",
        "CREATE CONNECTION bad TO kafka ('bootstrap.servers' = '127.0.0.1:9092', topic = 't',"
        " type = 'sink', format = 'json')",
        "42704",
        ('unknown option "bootstrap.servers"', 'Did you mean "bootstrap_servers"?'),
    ),
    Case(
        "typo_compression_type",
        sink("'compresion.type' = 'gzip'"),
        "42704",
        ('Did you mean "compression.type"?',),
    ),
    Case(
        "typo_linger",
        sink("lingerms = '5'"),
        "42704",
        ('unknown option "lingerms"', 'Did you mean "linger_ms"?'),
    ),
    Case(
        "source_group_dot_id",
        source("'group.id' = 'g'"),
        "42704",
        ('unknown option "group.id" for a Kafka source connection', 'Did you mean "group_id"?'),
    ),
    Case(
        "source_auto_offset_reset", source("'auto.offset.reset' = 'earliest'"), "42704", ('"start_offset"',)
    ),
    Case("sink_option_on_source", source("key_field = 'id'"), "42704", ('unknown option "key_field"',)),
    Case(
        "nonsense_option",
        sink("flux_capacitor = '1.21'"),
        "42704",
        ('unknown option "flux_capacitor"', "Valid options: acks, auto.register.schemas,"),
    ),
    # -- bad enum values: 22023 listing the allowed values ----------------------------------------
    Case(
        "format_xml",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'sink', format = 'xml')",
        "22023",
        ('invalid value "xml" for option "format"', "allowed values are json, avro, protobuf, raw"),
    ),
    Case(
        "format_typo",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'sink', format = 'jsn')",
        "22023",
        ("allowed values are json, avro, protobuf, raw", "Did you mean 'json'?"),
    ),
    Case(
        "compression_brotli",
        sink("compression = 'brotli'"),
        "22023",
        ('option "compression"', "allowed values are none, gzip, snappy, lz4, zstd"),
    ),
    Case("acks_two", sink("acks = '2'"), "22023", ('option "acks"', "allowed values are 0, 1, all")),
    Case(
        "partitioner_sticky",
        sink("partitioner = 'sticky'"),
        "22023",
        ("allowed values are random,", "murmur2"),
    ),
    Case(
        "type_typo",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'sinc', format = 'json')",
        "22023",
        ('invalid value "sinc" for option "type": allowed values are sink, source', "Did you mean 'sink'?"),
    ),
    Case(
        "start_offset_beginning",
        source("start_offset = 'beginning'"),
        "22023",
        ("allowed values are earliest, latest, committed",),
    ),
    Case(
        "error_policy_ignore",
        sink("error_policy = 'ignore'"),
        "22023",
        ("allowed values are fail, skip, dlq",),
    ),
    # -- missing required options: 22023 naming the option ----------------------------------------
    Case(
        "missing_type",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', format = 'json')",
        "22023",
        ('missing required option "type"', "type = 'sink'"),
    ),
    Case(
        "empty_option_list", "CREATE CONNECTION bad TO kafka ()", "22023", ('missing required option "type"',)
    ),
    Case(
        "missing_format",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'sink')",
        "22023",
        ('missing required option "format" for a Kafka sink connection',),
    ),
    Case(
        "missing_bootstrap_servers",
        "CREATE CONNECTION bad TO kafka (topic = 't', type = 'sink', format = 'json')",
        "22023",
        ('missing required option "bootstrap_servers"',),
    ),
    Case(
        "sink_without_topic",
        f"CREATE CONNECTION bad TO kafka ({B}, type = 'sink', format = 'json')",
        "22023",
        ('missing required option "topic" for a Kafka sink connection', "topic_field"),
    ),
    Case(
        "source_without_topic",
        f"CREATE CONNECTION bad TO kafka ({B}, type = 'source', format = 'json')",
        "22023",
        ('missing required option "topic" for a Kafka source connection',),
    ),
    Case(
        "avro_without_registry",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'sink', format = 'avro')",
        "22023",
        ("format 'avro' needs option \"schema_registry.endpoint\"",),
    ),
    Case(
        "protobuf_without_message",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'sink', format = 'protobuf', {REGISTRY})",
        "22023",
        ("format 'protobuf' needs option \"protobuf.message\"",),
    ),
    Case(
        "sasl_protocol_without_credentials",
        sink("'security.protocol' = 'SASL_SSL'"),
        "22023",
        (
            "security.protocol 'SASL_SSL' needs options "
            '"sasl.mechanism", "sasl.username" and "sasl.password"',
            "'sasl.password' = '${secret:kafka_password}'",
        ),
    ),
    Case(
        "dlq_without_connection",
        sink("error_policy = 'dlq'"),
        "22023",
        ("error_policy 'dlq' needs option \"dlq_connection\"",),
    ),
    # -- bad typed values: 22023 saying what is expected ------------------------------------------
    Case(
        "batch_size_words",
        sink("batch_size = 'many'"),
        "22023",
        ('invalid value "many" for option "batch_size": expected an integer from 1 to 1000000',),
    ),
    Case("batch_size_zero", sink("batch_size = 0"), "22023", ('"batch_size"', "from 1 to 1000000")),
    Case("linger_negative", sink("linger_ms = -5"), "22023", ('"linger_ms"', "from 0 to 2147483647")),
    Case("pretty_maybe", sink("'json.pretty' = 'maybe'"), "22023", ("expected a boolean (true or false)",)),
    Case(
        "servers_without_port",
        "CREATE CONNECTION bad TO kafka (bootstrap_servers = 'localhost', topic = 't', type = 'sink',"
        " format = 'json')",
        "22023",
        ('option "bootstrap_servers"', '"localhost" has no port'),
    ),
    Case(
        "servers_port_out_of_range",
        "CREATE CONNECTION bad TO kafka (bootstrap_servers = 'h:99999', topic = 't', type = 'sink',"
        " format = 'json')",
        "22023",
        ('the port of "h:99999" is not from 1 to 65535',),
    ),
    Case(
        "servers_empty_entry",
        "CREATE CONNECTION bad TO kafka (bootstrap_servers = 'a:1,,b:2', topic = 't', type = 'sink',"
        " format = 'json')",
        "22023",
        ("an entry is empty",),
    ),
    Case(
        "topic_with_spaces",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 'bad topic!', type = 'sink', format = 'json')",
        "22023",
        ('option "topic"', "a Kafka topic name has 1 to 249 characters"),
    ),
    Case(
        "registry_not_http",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'sink', format = 'avro',"
        " 'schema_registry.endpoint' = 'ftp://registry:8081')",
        "22023",
        ('option "schema_registry.endpoint"', "expected an http:// or https:// URL"),
    ),
    Case(
        "registry_url_with_password",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'sink', format = 'avro',"
        f" 'schema_registry.endpoint' = 'http://user:{URL_PASSWORD}@registry:8081')",
        "22023",
        ("the URL must not contain credentials", "schema_registry.api_secret"),
    ),
    Case(
        "duration_without_unit",
        source("event_time_column = '_kafka_timestamp', watermark_delay = '5'"),
        "22023",
        ('option "watermark_delay"', "expected a duration such as '5 seconds'"),
    ),
    # -- options that conflict or have no effect: 22023 naming both sides --------------------------
    Case(
        "compression_conflict",
        sink("compression = 'gzip', 'compression.type' = 'lz4'"),
        "22023",
        ('conflicting options: compression = gzip but "compression.type" = lz4',),
    ),
    Case(
        "linger_conflict",
        sink("linger_ms = '5', 'linger.ms' = '10'"),
        "22023",
        ('conflicting options: linger_ms = 5 but "linger.ms" = 10',),
    ),
    Case(
        "idempotence_with_acks_one",
        sink("'enable.idempotence' = 'true', acks = '1'"),
        "22023",
        ('"enable.idempotence" = true conflicts with "acks" = 1 (needs all)',),
    ),
    Case(
        "idempotence_with_six_in_flight",
        sink("'enable.idempotence' = 'true', 'max.in.flight.requests.per.connection' = '6'"),
        "22023",
        ('"max.in.flight.requests.per.connection" = 6 (needs at most 5)',),
    ),
    Case(
        "transactions_without_idempotence",
        sink("'transactional.id' = 'tx', 'enable.idempotence' = 'false'"),
        "22023",
        ('"transactional.id" needs the idempotent producer',),
    ),
    Case(
        "transactions_with_acks_zero",
        sink("'transactional.id' = 'tx', acks = '0'"),
        "22023",
        ('"transactional.id" conflicts with "acks" = 0 (needs all)',),
    ),
    Case(
        "transaction_timeout_without_transactions",
        sink("'transaction.timeout.ms' = '60000'"),
        "22023",
        ('option "transaction.timeout.ms" applies only with "transactional.id"',),
    ),
    Case(
        "delivery_timeout_too_small",
        sink("'delivery.timeout.ms' = '1000'"),
        "22023",
        ('"delivery.timeout.ms" = 1000 must be at least "linger.ms" + "request.timeout.ms" = 30100',),
    ),
    Case(
        "sasl_option_without_sasl_protocol",
        sink("'security.protocol' = 'SSL', 'sasl.username' = 'laminar'"),
        "22023",
        (
            "option \"sasl.username\" applies only with security.protocol 'SASL_PLAINTEXT' or 'SASL_SSL'"
            " (security.protocol is 'SSL')",
        ),
    ),
    Case(
        "sasl_mechanism_gssapi",
        sink(f"{SASL.replace('SCRAM-SHA-256', 'GSSAPI')}"),
        "22023",
        ('option "sasl.mechanism"', "allowed values are PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
    ),
    Case(
        "json_option_with_raw",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'sink', format = 'raw',"
        " 'json.pretty' = 'true')",
        "22023",
        ("option \"json.pretty\" applies only to format 'json' (format is 'raw')",),
    ),
    Case(
        "value_subject_with_json",
        sink("value_subject = 'v'"),
        "22023",
        ("option \"value_subject\" applies only to format 'avro' or 'protobuf'",),
    ),
    Case(
        "watermark_without_event_time",
        source("watermark_delay = '5 seconds'"),
        "22023",
        ('option "watermark_delay" applies only with "event_time_column"',),
    ),
    Case(
        "topic_field_equals_partition_field",
        sink("topic_field = 'c', partition_field = 'c'"),
        "22023",
        ('topic_field and partition_field both name column "c"',),
    ),
    Case("option_twice", sink("topic = 'u'"), "42710", ('option "topic" specified more than once',)),
    # -- secrets in options ------------------------------------------------------------------------
    Case(
        "unknown_secret",
        sink(f"{SASL}, 'sasl.username' = 'k', 'sasl.password' = '${{secret:no_such_secret}}'"),
        "42704",
        ('secret "no_such_secret" does not exist', "CREATE SECRET no_such_secret AS '...'"),
    ),
    Case(
        "secret_for_plain_option",
        "CREATE CONNECTION bad TO kafka (bootstrap_servers = '${secret:err_key}', topic = 't',"
        " type = 'sink', format = 'json')",
        "22023",
        ('option "bootstrap_servers" cannot take a secret reference',),
    ),
    Case(
        "literal_sasl_password",
        sink(f"{SASL}, 'sasl.username' = 'k', 'sasl.password' = 'plain-text'"),
        "22023",
        ('option "sasl.password" must be a secret reference', "CREATE SECRET"),
    ),
    Case(
        "sasl_username_without_password",
        sink(f"{SASL}, 'sasl.username' = '${{secret:err_key}}'"),
        "22023",
        ("security.protocol 'SASL_PLAINTEXT' needs option \"sasl.password\"",),
    ),
    Case(
        "empty_secret_reference",
        sink(f"{SASL}, 'sasl.username' = '${{secret:}}', 'sasl.password' = '${{secret:err_key}}'"),
        "22023",
        ('invalid secret reference in option "sasl.username"', "'${secret:name}'"),
    ),
    Case(
        "literal_api_secret",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'sink', format = 'avro', {REGISTRY},"
        " 'schema_registry.api_key' = 'k', 'schema_registry.api_secret' = 'plain-text')",
        "22023",
        ('option "schema_registry.api_secret" must be a secret reference', "CREATE SECRET"),
    ),
    # -- avro and protobuf sources (accepted since issue 6) still need their options ----------------
    Case(
        "source_avro_without_registry",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'source', format = 'avro')",
        "22023",
        ("format 'avro' needs option \"schema_registry.endpoint\"",),
    ),
    Case(
        "source_protobuf_without_registry_or_descriptor_file",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'source', format = 'protobuf',"
        " 'protobuf.message' = 'com.example.Event')",
        "22023",
        ('format \'protobuf\' needs option "schema_registry.endpoint" or "protobuf.descriptor_file"',),
    ),
    Case(
        "source_avro_with_sink_only_value_subject",
        f"CREATE CONNECTION bad TO kafka ({B}, topic = 't', type = 'source', format = 'avro', {REGISTRY},"
        " 'value_subject' = 't-value')",
        "42704",
        ('unknown option "value_subject" for a Kafka source connection',),
    ),
    Case(
        "duplicate_secret", "CREATE SECRET err_key AS 'again'", "42710", ('secret "err_key" already exists',)
    ),
    Case(
        "drop_secret_in_use",
        "DROP SECRET err_in_use",
        "2BP01",
        ('cannot drop secret "err_in_use"', 'connection "err_existing" depends on secret "err_in_use"'),
    ),
    Case("alter_missing_secret", "ALTER SECRET no_such_secret AS 'x'", "42704", ('secret "no_such_secret"',)),
    # -- connectors and columns --------------------------------------------------------------------
    Case(
        "connector_typo",
        f"CREATE CONNECTION bad TO kafak ({SINK})",
        "42704",
        ('connector "kafak" does not exist', "kafka"),
    ),
    Case(
        "unknown_column_type",
        f"CREATE CONNECTION bad (id BIGINTT) TO kafka ({SOURCE})",
        "42704",
        ("bigintt",),
    ),
    Case(
        "duplicate_column",
        f"CREATE CONNECTION bad (id BIGINT, id TEXT) TO kafka ({SOURCE})",
        "42701",
        ('column "id" specified more than once',),
    ),
    Case(
        "key_field_not_a_column",
        f"CREATE CONNECTION bad (id BIGINT) TO kafka ({SINK}, key_field = 'user_id')",
        "42703",
        ('column "user_id" named by option "key_field" is not a column of this connection', "id"),
    ),
    # -- syntax: 42601 -----------------------------------------------------------------------------
    Case(
        "missing_to",
        f"CREATE CONNECTION bad kafka ({SINK})",
        "42601",
        ('syntax error at or near "kafka"', "Expected TO <connector> (...) after the connection name"),
    ),
    Case(
        "missing_equals",
        "CREATE CONNECTION bad TO kafka (topic 't')",
        "42601",
        # String literals are never echoed in syntax errors: one might be a secret.
        ("syntax error at or near a string literal", "Expected = after option topic"),
    ),
    Case(
        "missing_comma",
        "CREATE CONNECTION bad TO kafka (topic = 't' type = 'sink')",
        "42601",
        ('syntax error at or near "type"', "Expected , or ) in the option list"),
    ),
    Case(
        "missing_parenthesis",
        "CREATE CONNECTION bad TO kafka topic = 't'",
        "42601",
        ('syntax error at or near "topic"', "Expected ( to start the option list"),
    ),
    Case(
        "alter_without_set",
        "ALTER CONNECTION err_existing topic = 'x'",
        "42601",
        ("Expected SET (...) or RESET (...) after ALTER CONNECTION name",),
    ),
    Case("secret_without_as", "CREATE SECRET bad_secret 'v'", "42601", ("Expected AS 'value'",)),
    Case(
        "secret_not_a_string",
        "CREATE SECRET bad_secret AS 42",
        "42601",
        ('syntax error at or near "42"', "A secret's value must be a string literal"),
    ),
    Case("drop_without_name", "DROP CONNECTION", "42601", ("Expected a name",)),
    Case(
        "password_null",
        "CREATE USER bad_user WITH PASSWORD NULL",
        "42601",
        ("PASSWORD NULL is not supported",),
    ),
    # -- objects that do not exist or already do ------------------------------------------------------
    Case(
        "drop_missing_connection",
        "DROP CONNECTION no_such_conn",
        "42704",
        ('connection "no_such_conn" does not exist',),
    ),
    Case(
        "drop_missing_secret",
        "DROP SECRET no_such_secret",
        "42704",
        ('secret "no_such_secret" does not exist',),
    ),
    Case("drop_missing_user", "DROP USER no_such_user", "42704", ('role "no_such_user" does not exist',)),
    Case(
        "alter_missing_connection",
        "ALTER CONNECTION no_such_conn SET (topic = 'x')",
        "42704",
        ('"no_such_conn"',),
    ),
    Case("show_create_missing", "SHOW CREATE CONNECTION no_such_conn", "42704", ('"no_such_conn"',)),
    Case(
        "duplicate_connection",
        f"CREATE CONNECTION err_existing TO kafka ({SINK})",
        "42710",
        ('connection "err_existing" already exists',),
    ),
    Case(
        "alter_reset_unset_option",
        "ALTER CONNECTION err_existing RESET (key_field)",
        "42704",
        ('"key_field"',),
    ),
    Case(
        "alter_to_bad_value",
        "ALTER CONNECTION err_existing SET (linger_ms = 'soon')",
        "22023",
        ('"linger_ms"',),
    ),
    Case("user_without_password", "CREATE USER bad_user", "22023", ("needs a password",)),
    Case(
        "duplicate_user",
        "CREATE USER err_user WITH PASSWORD 'x'",
        "42710",
        ('role "err_user" already exists',),
    ),
]


def error_text(error: psycopg.Error) -> str:
    diag = error.diag
    parts = (diag.message_primary, diag.message_detail, diag.message_hint)
    return "\n".join(part for part in parts if part)


def catalog_contents(conn: Conn) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: conn.execute(f"SELECT * FROM system.{table} ORDER BY name").fetchall()
        for table in ("connections", "secrets", "users")
    }


@pytest.fixture(scope="module")
def baseline(catalog_gateway: CatalogGateway) -> CatalogGateway:
    """Objects the cases collide with: secrets, a connection using one, a user."""
    with catalog_gateway.connect() as conn:
        conn.execute("CREATE SECRET IF NOT EXISTS err_key AS 'error-key-value'")
        conn.execute("CREATE SECRET IF NOT EXISTS err_in_use AS 'error-in-use-value'")
        conn.execute(
            f"CREATE CONNECTION IF NOT EXISTS err_existing TO kafka ({SINK}, {SASL},"
            " 'sasl.username' = '${secret:err_key}', 'sasl.password' = '${secret:err_in_use}')"
        )
        conn.execute("CREATE USER IF NOT EXISTS err_user WITH PASSWORD 'err-user-password'")
    return catalog_gateway


def test_there_are_at_least_forty_distinct_cases() -> None:
    assert len({case.id for case in CASES}) == len(CASES)
    assert len({case.statement for case in CASES}) == len(CASES)
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_ddl_is_refused_with_an_actionable_error(baseline: CatalogGateway, case: Case) -> None:
    with baseline.connect() as conn:
        before = catalog_contents(conn)
        with pytest.raises(psycopg.Error) as info:
            conn.execute(case.statement)
        text = error_text(info.value)
        assert info.value.sqlstate == case.sqlstate, f"{case.statement}\n{info.value.sqlstate}: {text}"
        for fragment in case.fragments:
            assert fragment in text, f"{fragment!r} not in the error for {case.statement}:\n{text}"
        assert URL_PASSWORD not in text
        assert "error-in-use-value" not in text
        assert conn.execute("SELECT 1").fetchone() == (1,), "the session must stay usable"
        assert catalog_contents(conn) == before


def test_catalog_is_unchanged_after_every_bad_statement_in_one_session(baseline: CatalogGateway) -> None:
    with baseline.connect() as conn:
        before = catalog_contents(conn)
        refused = 0
        for case in CASES:
            with pytest.raises(psycopg.Error):
                conn.execute(case.statement)
            refused += 1
        assert refused == len(CASES)
        assert catalog_contents(conn) == before
        names = [row[0] for row in before["connections"]]
        assert "bad" not in names
