"""The sink's raw format: value/key bytes per type, tombstones, and refused shapes (no sockets)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import duckdb
import pytest

from formats.raw_format import RawEncoder, raw_bytes
from gateway.errors import LaminarError
from gateway.protocol import types as t


@pytest.mark.parametrize(
    ("oid", "value", "expected"),
    [
        (t.TEXT, "hello", b"hello"),
        (t.TEXT, "é€😀", "é€😀".encode()),
        (t.VARCHAR, "", b""),
        (t.JSON, '{"a": 1}', b'{"a": 1}'),
        (t.BYTEA, b"\x00\xff", b"\x00\xff"),
        (t.BYTEA, bytearray(b"ab"), b"ab"),
        (t.BYTEA, memoryview(b"cd"), b"cd"),
        (t.INT4, 42, b"42"),
        (t.INT8, -(2**63), b"-9223372036854775808"),
        (t.BOOL, True, b"t"),
        (t.NUMERIC, Decimal("1.500"), b"1.500"),
        (t.FLOAT8, 0.1, b"0.1"),
        (t.UUID, uuid.UUID("16a5bf80-6338-45c4-910a-978371f27e46"), b"16a5bf80-6338-45c4-910a-978371f27e46"),
        (t.DATE, dt.date(2024, 2, 29), b"2024-02-29"),
        (
            t.TIMESTAMPTZ,
            dt.datetime(2024, 2, 29, 12, 34, 56, 789000, tzinfo=dt.UTC),
            b"2024-02-29 12:34:56.789+00",
        ),
        (t.INTERVAL, dt.timedelta(days=1, hours=2), b"1 day 02:00:00"),
        (t.INT4_ARRAY, [1, None], b"{1,NULL}"),
        (t.TEXT, {"k": "v"}, b'{"k":"v"}'),  # a MAP announced as text: its text form
        (t.TEXT, None, None),
        (t.BYTEA, None, None),
    ],
)
def test_raw_bytes(oid: int, value: object, expected: bytes | None) -> None:
    assert raw_bytes(oid, value) == expected


def test_value_and_key_columns_become_message_value_and_key() -> None:
    encoder = RawEncoder([("key", t.TEXT), ("value", t.BYTEA)])
    rows = [("user-1", b"\x01\x02"), (None, b"v"), ("user-3", None)]
    assert encoder.has_key
    assert [encoder.encode(row) for row in rows] == [b"\x01\x02", b"v", None]
    assert [encoder.value(row) for row in rows] == [b"\x01\x02", b"v", None]
    assert [encoder.key(row) for row in rows] == [b"user-1", None, b"user-3"]
    assert encoder.encode_many(rows) == [b"\x01\x02", b"v", None]
    assert encoder.keys(rows) == [b"user-1", None, b"user-3"]


def test_without_a_key_column_messages_have_no_key() -> None:
    encoder = RawEncoder([("value", t.TEXT)])
    assert not encoder.has_key
    assert encoder.key(["x"]) is None
    assert encoder.keys([["x"], ["y"]]) == [None, None]
    rows: list[list[object]] = [["x"], [None]]
    assert encoder.encode_many(iter(rows)) == [b"x", None]


def test_routing_columns_are_allowed_and_not_written() -> None:
    columns = [("value", t.TEXT), ("_target_topic", t.TEXT), ("_kafka_headers", t.TEXT), ("p", t.INT4)]
    encoder = RawEncoder(columns, exclude={"_target_topic", "_kafka_headers", "p"})
    assert encoder.encode(["v", "orders-topic", {"h": "1"}, 2]) == b"v"


def test_key_field_column_supplies_the_key() -> None:
    encoder = RawEncoder([("user_id", t.INT8), ("value", t.TEXT)], key_column="user_id")
    assert encoder.key([42, "v"]) == b"42"
    assert encoder.key_column == "user_id"
    with pytest.raises(LaminarError) as caught:
        RawEncoder([("key", t.TEXT), ("user_id", t.INT8), ("value", t.TEXT)], key_column="user_id")
    assert caught.value.sqlstate == "42601"
    assert caught.value.message == 'raw format has no place for column "key"'


def test_the_spec_raw_example_from_duckdb() -> None:
    """SELECT encode(data, 'base64') AS value, encode(key, 'utf8') AS key, as the spec writes it
    (DuckDB's spelling of the same functions: to_base64 and decode)."""
    connection = duckdb.connect()
    cursor = connection.execute(
        r"SELECT to_base64('\x00\x01hi'::BLOB) AS value, decode('k\xC3\xA9'::BLOB) AS key"
    )
    columns = [(name, t.oid_for_duckdb_type(str(kind))) for name, kind, *_ in cursor.description]
    row = cursor.fetchall()[0]
    encoder = RawEncoder(columns)
    assert encoder.encode(row) == b"AAFoaQ=="
    assert encoder.key(row) == "ké".encode()


def test_missing_value_column_is_refused() -> None:
    with pytest.raises(LaminarError) as caught:
        RawEncoder([("data", t.BYTEA), ("key", t.TEXT)])
    error = caught.value
    assert error.sqlstate == "42703"
    assert error.message == 'raw format needs a column named "value"'
    assert error.detail == 'The row has "data", "key".'
    assert error.hint == (
        "Name the message bytes with AS value (and the key with AS key), e.g. "
        "SELECT encode(data, 'base64') AS value, encode(key, 'utf8') AS key."
    )
    with pytest.raises(LaminarError) as excluded:
        RawEncoder([("value", t.TEXT)], exclude={"value"})
    assert excluded.value.sqlstate == "42703"


def test_extra_columns_are_refused_all_listed() -> None:
    with pytest.raises(LaminarError) as caught:
        RawEncoder([("id", t.INT4), ("value", t.TEXT), ("note", t.TEXT), ("key", t.TEXT)])
    error = caught.value
    assert error.sqlstate == "42601"
    assert error.message == 'raw format has no place for columns "id", "note"'
    assert error.detail == 'A raw message is the bytes of column "value", keyed by column "key".'
    assert error.hint == "Remove the other columns from the select list, or use format = 'json'."


def test_a_value_column_given_twice_is_refused() -> None:
    with pytest.raises(LaminarError) as caught:
        RawEncoder([("value", t.TEXT), ("value", t.BYTEA)])
    assert caught.value.sqlstate == "42601"
    assert caught.value.message == 'raw format has column "value" given more than once'


def test_other_duckdb_types_arrive_as_their_postgresql_text() -> None:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    cursor = connection.execute(
        "SELECT TIMESTAMPTZ '2024-02-29 12:34:56.789+00' AS value, 1.50::DECIMAL(5,2) AS key "
        "UNION ALL SELECT NULL, NULL"
    )
    columns = [(name, t.oid_for_duckdb_type(str(kind))) for name, kind, *_ in cursor.description]
    assert columns == [("value", t.TIMESTAMPTZ), ("key", t.NUMERIC)]
    rows = cursor.fetchall()
    encoder = RawEncoder(columns)
    assert encoder.encode_many(rows) == [b"2024-02-29 12:34:56.789+00", None]
    assert encoder.keys(rows) == [b"1.50", None]


def test_a_key_column_named_as_routing_is_not_the_key() -> None:
    encoder = RawEncoder([("value", t.TEXT), ("key", t.TEXT)], exclude={"key"})
    assert not encoder.has_key
    assert encoder.keys([["v", "k"]]) == [None]


def test_one_column_may_be_both_value_and_key() -> None:
    encoder = RawEncoder([("value", t.TEXT)], key_column="value")
    assert (encoder.encode(["same"]), encoder.key(["same"])) == (b"same", b"same")


def test_str_subclasses_are_text() -> None:
    class Label(str):
        __slots__ = ()

    assert raw_bytes(t.TEXT, Label("ok")) == b"ok"
