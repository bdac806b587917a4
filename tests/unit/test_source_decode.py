"""Kafka source record decoding (sources.decode): column types, JSON → declared types, raw, errors.

Every conversion is checked for its exact Python value, and every refusal for its SQLSTATE and
message, the way PostgreSQL words the same problem where it has one. Also the socket-free parts of
sources.kafka_source: a source's full column list with the metadata columns, and the consumer's
security arguments (catalog.kafka_security), which aiokafka must accept as they are.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal

import pytest

from catalog.model import ColumnDef
from catalog.options import validate_connection_options
from gateway.errors import LaminarError
from gateway.protocol import types as pg
from sources.decode import PayloadColumn, RecordDecoder, make_decoder, payload_columns
from sources.kafka_source import KafkaSourceReader, source_columns, source_duckdb_types


def decoder(*columns: tuple[str, str], fail_on_missing: bool = False) -> RecordDecoder:
    payload = payload_columns([ColumnDef(name, type_sql) for name, type_sql in columns], "json")
    return make_decoder(payload, "json", fail_on_missing=fail_on_missing)


def one(type_sql: str, json_value: str) -> object:
    """The value a record {"c": <json_value>} gives a column c of type type_sql."""
    (value,) = decoder(("c", type_sql)).decode(None, b'{"c": ' + json_value.encode() + b"}")
    return value


def refused(type_sql: str, json_value: str) -> LaminarError:
    with pytest.raises(LaminarError) as caught:
        one(type_sql, json_value)
    return caught.value


# --- columns ---------------------------------------------------------------------------------------
def test_declared_json_columns_have_oids_and_duckdb_types() -> None:
    declared = [
        ColumnDef("id", "bigint"),
        ColumnDef("name", "varchar(20)"),
        ColumnDef("amount", "numeric(10,2)"),
        ColumnDef("ratio", "double precision"),
        ColumnDef("at", "timestamp with time zone"),
        ColumnDef("tags", "text[]"),
        ColumnDef("doc", "jsonb"),
        ColumnDef("code", "char(3)"),
    ]
    columns = payload_columns(declared, "json")
    assert [(c.name, c.oid, c.duckdb_type, c.type_name) for c in columns] == [
        ("id", pg.INT8, "BIGINT", "bigint"),
        ("name", pg.VARCHAR, "VARCHAR", "character varying(20)"),
        ("amount", pg.NUMERIC, "DECIMAL(10,2)", "numeric(10,2)"),
        ("ratio", pg.FLOAT8, "DOUBLE", "double precision"),
        ("at", pg.TIMESTAMPTZ, "TIMESTAMP WITH TIME ZONE", "timestamp with time zone"),
        ("tags", pg.TEXT_ARRAY, "VARCHAR[]", "text[]"),
        ("doc", pg.JSONB, "JSON", "jsonb"),
        ("code", pg.BPCHAR, "VARCHAR", "character(3)"),
    ]


def test_a_json_source_without_declared_columns_has_one_jsonb_value_column() -> None:
    payload = payload_columns([], "json")
    assert payload == [PayloadColumn("value", pg.JSONB, "JSON", "jsonb", whole_value=True)]
    assert make_decoder(payload, "json").decode(None, b'[1, {"a": "b"}, 2.50]') == ('[1,{"a":"b"},2.5]',)


def test_a_declared_value_column_is_a_key_like_any_other() -> None:
    assert decoder(("value", "jsonb")).decode(None, b'{"value": {"x": 1}, "y": 2}') == ('{"x":1}',)


def test_raw_columns_are_key_and_value_bytes_or_the_declared_ones() -> None:
    assert [(c.name, c.oid) for c in payload_columns([], "raw")] == [("key", pg.BYTEA), ("value", pg.BYTEA)]
    declared = payload_columns([ColumnDef("value", "text")], "raw")
    assert [(c.name, c.oid) for c in declared] == [("value", pg.TEXT)]
    assert make_decoder(declared, "raw").decode(b"k", "grüße".encode()) == ("grüße",)
    both = payload_columns([], "raw")
    assert make_decoder(both, "raw").decode(None, b"\x00\xff") == (None, b"\x00\xff")


@pytest.mark.parametrize(
    ("declared", "sqlstate", "message"),
    [
        (ColumnDef("payload", "bytea"), "42703", 'column "payload" cannot be filled by a raw Kafka source'),
        (ColumnDef("value", "bigint"), "42804", 'column "value" of a raw Kafka source is of type bigint'),
    ],
)
def test_raw_sources_refuse_other_columns(declared: ColumnDef, sqlstate: str, message: str) -> None:
    with pytest.raises(LaminarError) as caught:
        payload_columns([declared], "raw")
    assert (caught.value.sqlstate, caught.value.message) == (sqlstate, message)


def test_raw_text_column_with_invalid_utf8_is_22021() -> None:
    raw = make_decoder(payload_columns([ColumnDef("key", "text")], "raw"), "raw")
    with pytest.raises(LaminarError) as caught:
        raw.decode(b"ab\xffcd", b"v")
    assert caught.value.sqlstate == "22021"
    assert caught.value.message == 'column "key": invalid byte sequence for encoding "UTF8" at byte 2'


@pytest.mark.parametrize("type_sql", ["interval", "timetz", "bit(3)", "map(text, text)", "int[][]"])
def test_types_json_cannot_fill_are_refused_up_front(type_sql: str) -> None:
    with pytest.raises(LaminarError) as caught:
        payload_columns([ColumnDef("x", type_sql)], "json")
    assert caught.value.sqlstate == "0A000"
    assert caught.value.message == f'column "x" of type {type_sql} cannot be read from a Kafka JSON source'


def test_formats_other_than_json_and_raw_are_not_supported_yet() -> None:
    with pytest.raises(LaminarError) as caught:
        payload_columns([], "avro")
    assert (caught.value.sqlstate, caught.value.message) == (
        "0A000",
        'format "avro" is not supported for Kafka sources yet',
    )


# --- records ---------------------------------------------------------------------------------------
def test_keys_fill_columns_by_name_extra_keys_are_ignored_missing_ones_are_null() -> None:
    events = decoder(("id", "bigint"), ("userid", "text"), ("amount", "double precision"), ("note", "text"))
    value = b'{"amount": 12.5, "id": 7, "userId": "u-1", "extra": [1, 2], "note": null}'
    assert events.decode(b"key", value) == (7, "u-1", 12.5, None)
    assert events.decode(None, b'{"id": 8}') == (8, None, None, None)


def test_an_exact_key_wins_over_a_case_insensitive_one() -> None:
    assert decoder(("id", "int")).decode(None, b'{"ID": 1, "id": 2}') == (2,)
    assert decoder(("id", "int")).decode(None, b'{"Id": 3}') == (3,)


def test_fail_on_missing_makes_a_missing_key_an_error_but_not_a_null() -> None:
    strict = decoder(("id", "bigint"), ("name", "text"), fail_on_missing=True)
    assert strict.decode(None, b'{"id": 1, "name": null}') == (1, None)
    with pytest.raises(LaminarError) as caught:
        strict.decode(None, b'{"id": 1}')
    assert caught.value.sqlstate == "22023"
    assert caught.value.message == 'the record has no key "name" (json.fail_on_missing is true)'


def test_a_tombstone_is_a_row_of_nulls() -> None:
    assert decoder(("id", "bigint"), ("name", "text"), fail_on_missing=True).decode(b"k", None) == (
        None,
        None,
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            b"{not json",
            "invalid JSON in the record value: unexpected character, expected a string key: "
            "line 1 column 2 (char 1)",
        ),
        (
            b"",
            "invalid JSON in the record value: Input is a zero-length, empty document: "
            "line 1 column 1 (char 0)",
        ),
        (b'"text"', 'the record value is not a JSON object: "text"'),
        (b"[1, 2]", 'the record value is not a JSON object: "[1,2]"'),
    ],
)
def test_values_that_are_not_json_objects_are_22p02(value: bytes, message: str) -> None:
    with pytest.raises(LaminarError) as caught:
        decoder(("id", "bigint")).decode(None, value)
    assert (caught.value.sqlstate, caught.value.message) == ("22P02", message)


def test_invalid_json_in_exact_number_mode_is_22p02_too() -> None:
    exact = decoder(("amount", "numeric"))
    for bad in (b'{"amount": NaN}', b'{"amount": 1', b'{"amount": "\xff"}'):
        with pytest.raises(LaminarError) as caught:
            exact.decode(None, bad)
        assert caught.value.sqlstate == "22P02"
        assert caught.value.message.startswith("invalid JSON in the record value: ")


# --- conversions -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("type_sql", "json_value", "expected"),
    [
        ("bigint", "9223372036854775807", 2**63 - 1),
        ("bigint", '" -42 "', -42),
        ("integer", "3.0", 3),
        ("smallint", "-32768", -32768),
        ("double precision", "1e-3", 0.001),
        ("double precision", '"2.5"', 2.5),
        ("double precision", '"-Infinity"', -math.inf),
        ("real", "1.5", 1.5),
        ("numeric", "0.1000000000000000055511151231257827", Decimal("0.1000000000000000055511151231257827")),
        ("numeric", "123456789012345678901234567890", Decimal("123456789012345678901234567890")),
        ("numeric", '"19.990"', Decimal("19.990")),
        ("numeric(5,2)", "123.455", Decimal("123.46")),
        ("numeric(5,2)", "-123.455", Decimal("-123.46")),
        ("numeric(3)", "2.5", Decimal("3")),
        ("boolean", "true", True),
        ("boolean", "0", False),
        ("boolean", '" YES "', True),
        ("boolean", '"off"', False),
        ("text", '"héllo"', "héllo"),
        ("text", "42", "42"),
        ("text", "true", "true"),
        ("text", '{"a": [1, 2.5, null]}', '{"a":[1,2.5,null]}'),
        ("varchar(3)", '"abc"', "abc"),
        ("varchar(2)", '"ab   "', "ab"),
        ("char(3)", '"a"', "a  "),
        ("bytea", '"aGVs bG8="', b"hello"),
        ("date", '"2024-02-29"', dt.date(2024, 2, 29)),
        ("date", '"2024-02-29T23:30:00-05:00"', dt.date(2024, 2, 29)),
        ("time", '"12:34:56.5"', dt.time(12, 34, 56, 500000)),
        (
            "timestamptz",
            '"2024-02-29T12:34:56.789Z"',
            dt.datetime(2024, 2, 29, 12, 34, 56, 789000, tzinfo=dt.UTC),
        ),
        ("timestamptz", '"2024-02-29 14:34:56+02"', dt.datetime(2024, 2, 29, 12, 34, 56, tzinfo=dt.UTC)),
        ("timestamptz", '"2024-02-29T12:34:56"', dt.datetime(2024, 2, 29, 12, 34, 56, tzinfo=dt.UTC)),
        ("timestamptz", "1709210096789", dt.datetime(2024, 2, 29, 12, 34, 56, 789000, tzinfo=dt.UTC)),
        ("timestamptz", "-1000", dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC)),
        ("timestamp", '"2024-02-29T12:34:56-01:00"', dt.datetime(2024, 2, 29, 13, 34, 56)),
        ("timestamp", "1709210096789.5", dt.datetime(2024, 2, 29, 12, 34, 56, 789500)),
        ("timestamp(3)", '"2024-02-29T12:34:56.1235"', dt.datetime(2024, 2, 29, 12, 34, 56, 124000)),
        ("timestamp(0)", '"2024-02-29T23:59:59.5"', dt.datetime(2024, 3, 1, 0, 0, 0)),
        ("uuid", '"16A5BF80-6338-45C4-910A-978371F27E46"', uuid.UUID("16a5bf80-6338-45c4-910a-978371f27e46")),
        ("jsonb", '{"b": {"c": [true, null]}, "a": 1}', '{"b":{"c":[true,null]},"a":1}'),
        ("json", '"just a string"', '"just a string"'),
        ("int[]", "[1, null, 3]", [1, None, 3]),
        ("text[]", '["a", 2]', ["a", "2"]),
        ("numeric[]", "[1.10, 2]", [Decimal("1.10"), Decimal("2")]),
    ],
)
def test_json_values_convert_to_the_declared_type(type_sql: str, json_value: str, expected: object) -> None:
    value = one(type_sql, json_value)
    assert value == expected
    assert type(value) is type(expected)


def test_numeric_json_keeps_digits_in_nested_json_columns() -> None:
    mixed = decoder(("amount", "numeric"), ("doc", "jsonb"), ("label", "text"))
    value = b'{"amount": 1.50, "doc": {"price": 19.990, "n": 12345678901234567890123}, "label": 2.50}'
    assert mixed.decode(None, value) == (
        Decimal("1.50"),
        '{"price":19.990,"n":12345678901234567890123}',
        "2.50",
    )


def test_nan_from_a_string_is_a_float_nan() -> None:
    value = one("double precision", '"NaN"')
    assert isinstance(value, float)
    assert math.isnan(value)


@pytest.mark.parametrize(
    ("type_sql", "json_value", "sqlstate", "message"),
    [
        ("bigint", '"abc"', "22P02", 'column "c": invalid input syntax for type bigint: "abc"'),
        ("bigint", "1.5", "22P02", 'column "c": invalid input syntax for type bigint: "1.5"'),
        ("bigint", "true", "22P02", 'column "c": invalid input syntax for type bigint: "true"'),
        ("bigint", '"1_000"', "22P02", 'column "c": invalid input syntax for type bigint: "1_000"'),
        (
            "bigint",
            "9223372036854775808",
            "22003",
            'column "c": value "9223372036854775808" is out of range for type bigint',
        ),
        ("integer", "2147483648", "22003", 'column "c": value "2147483648" is out of range for type integer'),
        ("smallint", '"40000"', "22003", 'column "c": value "40000" is out of range for type smallint'),
        (
            "double precision",
            '"1e400"',
            "22003",
            'column "c": value "1e400" is out of range for type double precision',
        ),
        (
            "double precision",
            '"1_0"',
            "22P02",
            'column "c": invalid input syntax for type double precision: "1_0"',
        ),
        (
            "double precision",
            "[1]",
            "22P02",
            'column "c": invalid input syntax for type double precision: "[1]"',
        ),
        ("real", "1e39", "22003", 'column "c": value "1e+39" is out of range for type real'),
        (
            "numeric(5,2)",
            "1234.5",
            "22003",
            'column "c": numeric field overflow: "1234.5" does not fit numeric(5,2)',
        ),
        (
            "numeric(5,2)",
            "999.995",
            "22003",
            'column "c": numeric field overflow: "999.995" does not fit numeric(5,2)',
        ),
        ("numeric", '"NaN"', "22P02", 'column "c": numeric value "NaN" is not supported (NaN or infinity)'),
        ("numeric", '"1.2.3"', "22P02", 'column "c": invalid input syntax for type numeric: "1.2.3"'),
        ("boolean", '"maybe"', "22P02", 'column "c": invalid input syntax for type boolean: "maybe"'),
        ("boolean", "1.0", "22P02", 'column "c": invalid input syntax for type boolean: "1.0"'),
        ("varchar(3)", '"abcd"', "22001", 'column "c": value too long for type character varying(3)'),
        ("char(2)", '"abc"', "22001", 'column "c": value too long for type character(2)'),
        ("bytea", '"!!"', "22P02", 'column "c": invalid base64 for type bytea: "!!"'),
        ("bytea", "12", "22P02", 'column "c": invalid base64 for type bytea: "12"'),
        ("date", "20240229", "22007", 'column "c": invalid input syntax for type date: "20240229"'),
        ("date", '"2024-02-30"', "22007", 'column "c": invalid input syntax for type date: "2024-02-30"'),
        (
            "time",
            '"25:00"',
            "22007",
            'column "c": invalid input syntax for type time without time zone: "25:00"',
        ),
        (
            "timestamptz",
            '"yesterday"',
            "22007",
            'column "c": invalid input syntax for type timestamp with time zone: "yesterday"',
        ),
        (
            "timestamptz",
            "false",
            "22007",
            'column "c": invalid input syntax for type timestamp with time zone: "false"',
        ),
        ("timestamp", "1e300", "22003", 'column "c": timestamp out of range: "1e+300"'),
        ("uuid", '"not-a-uuid"', "22P02", 'column "c": invalid input syntax for type uuid: "not-a-uuid"'),
        ("int[]", "1", "22P02", 'column "c": expected a JSON array for type integer[], not "1"'),
        ("int[]", '[1, "x"]', "22P02", 'column "c": invalid input syntax for type integer: "x"'),
    ],
)
def test_values_that_do_not_fit_the_type_are_refused(
    type_sql: str, json_value: str, sqlstate: str, message: str
) -> None:
    error = refused(type_sql, json_value)
    assert (error.sqlstate, error.message) == (sqlstate, message)


def test_long_bad_values_are_shortened_in_messages() -> None:
    error = refused("bigint", '"' + "9" * 100 + 'x"')
    assert error.message == f'column "c": invalid input syntax for type bigint: "{"9" * 60}..."'


def test_the_timestamp_hint_names_both_accepted_forms() -> None:
    assert refused("timestamptz", '"soon"').hint == (
        "Use an ISO-8601 string such as '2024-02-29T12:34:56Z' or epoch milliseconds."
    )
    assert refused("date", '"soon"').hint == "Use an ISO-8601 string such as '2024-02-29T12:34:56Z'."


# --- the whole source ------------------------------------------------------------------------------
METADATA = [
    ("_kafka_key", pg.BYTEA),
    ("_kafka_partition", pg.INT4),
    ("_kafka_offset", pg.INT8),
    ("_kafka_timestamp", pg.TIMESTAMPTZ),
    ("_kafka_headers", pg.TEXT),
]
METADATA_DUCKDB = ["BLOB", "INTEGER", "BIGINT", "TIMESTAMP WITH TIME ZONE", "MAP(VARCHAR, BLOB)"]


def test_a_source_has_its_payload_columns_then_the_metadata_columns() -> None:
    declared = [ColumnDef("id", "bigint"), ColumnDef("amount", "numeric(10,2)")]
    assert source_columns(declared, "json") == [("id", pg.INT8), ("amount", pg.NUMERIC), *METADATA]
    assert source_duckdb_types(declared, "json") == ["BIGINT", "DECIMAL(10,2)", *METADATA_DUCKDB]
    assert source_columns([], "raw") == [("key", pg.BYTEA), ("value", pg.BYTEA), *METADATA]
    assert source_columns([], " RAW ") == source_columns([], "raw")  # the option's text as written
    assert source_duckdb_types([], "raw") == ["BLOB", "BLOB", *METADATA_DUCKDB]


def test_a_declared_column_may_not_take_a_metadata_column_name() -> None:
    with pytest.raises(LaminarError) as caught:
        source_columns([ColumnDef("_kafka_offset", "bigint")], "json")
    assert caught.value.sqlstate == "42701"
    assert caught.value.message == (
        'column "_kafka_offset" of a Kafka source clashes with the metadata column of that name'
    )


SASL_SOURCE = [
    ("bootstrap_servers", "broker-1:9093,broker-2:9093"),
    ("topic", "events"),
    ("type", "source"),
    ("format", "json"),
    ("group_id", "analytics"),
    ("security.protocol", "SASL_SSL"),
    ("sasl.mechanism", "SCRAM-SHA-256"),
    ("sasl.username", "${secret:kafka_user}"),
    ("sasl.password", "${secret:kafka_pw}"),
]


async def test_the_consumer_takes_the_connection_s_security_and_group() -> None:
    options = validate_connection_options(SASL_SOURCE, secret_exists=lambda _: True, columns=["id"])
    resolved = {"sasl.username": "user-from-secret", "sasl.password": "pw-from-secret"}
    reader = KafkaSourceReader("clicks", options, resolved, [ColumnDef("id", "bigint")])
    assert (reader.topic, reader.group_id, reader.start_offset, reader.isolation_level) == (
        "events",
        "analytics",
        "earliest",
        "read_committed",
    )
    consumer = reader.consumer(with_group=True)  # built, never started: no socket is opened
    try:
        client = consumer._client
        assert (client._security_protocol, client._sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-256")
        assert (client._sasl_plain_username, client._sasl_plain_password) == (
            "user-from-secret",
            "pw-from-secret",
        )
        assert client._ssl_context is not None
        assert client._bootstrap_servers == ["broker-1:9093", "broker-2:9093"]
        assert consumer._group_id == "analytics"
        assert consumer._enable_auto_commit is False
    finally:
        await consumer.stop()
    plain = KafkaSourceReader(
        "clicks", validate_connection_options(SASL_SOURCE[:4], secret_exists=lambda _: True), {}, []
    )
    assert plain.group_id == "laminar-clicks"
    unnamed = plain.consumer(with_group=False)
    try:
        assert unnamed._group_id is None
        assert unnamed._client._security_protocol == "PLAINTEXT"
    finally:
        await unnamed.stop()
