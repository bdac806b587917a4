"""The protobuf format: schema compilation, Confluent framing, encoding and decoding (no sockets).

Encoded bytes are checked independently of formats.protobuf_format: the framing byte by byte, the
message by parsing it with a class built here from descriptors that protoc wrote when run as its own
process (python -m grpc_tools.protoc), not through compile_proto.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from google.protobuf import descriptor_pb2, json_format

from formats.protobuf_format import (
    ProtobufDecoder,
    ProtobufEncoder,
    ProtobufMismatch,
    check_fits,
    columns_for,
    compile_proto,
    frame_header,
    load_descriptor_set,
    message_class,
    message_class_at,
    read_frame,
)
from gateway.errors import DataException, LaminarError
from gateway.protocol import types as t
from gateway.protocol.datetime_codec import Interval
from tests.fixtures.protoc import descriptor_set_class, protoc_descriptor_set

UTC = dt.UTC

SCHEMA = """\
syntax = "proto3";
package com.example;

import "google/protobuf/duration.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Kind {
  KIND_UNSPECIFIED = 0;
  CLICK = 1;
  PURCHASE = 2;
}

message Audit {
  string note = 1;
}

message Event {
  message Address {
    string city = 1;
    int32 zip = 2;
  }
  int64 id = 1;
  string user_id = 2;
  Kind kind = 3;
  google.protobuf.Timestamp ts = 4;
  double amount = 5;
  bool ok = 6;
  repeated string tags = 7;
  Address address = 8;
  map<string, int64> counts = 9;
  message Later {
    repeated Kind kinds = 1;
  }
  google.protobuf.Int64Value maybe = 10;
  float ratio = 11;
  optional int32 score = 12;
  uint64 big = 13;
  bytes blob = 14;
  repeated int32 nums = 15;
  repeated Address history = 16;
  google.protobuf.Duration took = 17;
  oneof target {
    string url = 18;
    int64 item = 19;
  }
  repeated google.protobuf.Timestamp seen = 20;
  Later later = 21;
}
"""

EVENT_COLUMNS: list[tuple[str, int]] = [
    ("id", t.INT8),
    ("user_id", t.TEXT),
    ("kind", t.TEXT),
    ("ts", t.TIMESTAMPTZ),
    ("amount", t.FLOAT8),
    ("ok", t.BOOL),
    ("tags", t.TEXT_ARRAY),
    ("address", t.JSONB),
    ("counts", t.JSONB),
    ("maybe", t.INT8),
    ("ratio", t.FLOAT4),
    ("score", t.INT4),
    ("big", t.NUMERIC),
    ("blob", t.BYTEA),
    ("nums", t.INT4_ARRAY),
    ("history", t.JSON),
    ("took", t.INTERVAL),
    ("url", t.TEXT),
    ("item", t.INT8),
    ("seen", t.TIMESTAMPTZ_ARRAY),
    ("later", t.JSONB),
]
MOMENT = dt.datetime(2024, 2, 29, 12, 34, 56, 789012, tzinfo=UTC)
FULL_ROW: tuple[Any, ...] = (
    -(2**63),
    "user-1 é",
    "PURCHASE",
    MOMENT,
    19.99,
    True,
    ["a", "b"],
    '{"city": "Oslo", "zip": 150}',
    '{"x": 1, "y": "-2"}',
    7,
    0.5,
    -3,
    Decimal(2**64 - 1),
    b"\x00\xff",
    [1, -2, 3],
    '[{"city": "Rome"}, {"zip": 1}]',
    dt.timedelta(days=1, seconds=2, microseconds=500000),
    "https://example.com",
    None,
    [MOMENT, dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)],
    '{"kinds": ["CLICK", "PURCHASE"]}',
)


# --- independent descriptors and classes -----------------------------------------------------------


@pytest.fixture(scope="module")
def protoc_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The schema's descriptor set written by protoc run as a separate process."""
    return protoc_descriptor_set(tmp_path_factory.mktemp("proto"), SCHEMA)


@pytest.fixture(scope="module")
def compiled() -> descriptor_pb2.FileDescriptorSet:
    return compile_proto(SCHEMA, file_name="event.proto")


@pytest.fixture(scope="module")
def event(compiled: descriptor_pb2.FileDescriptorSet) -> tuple[Any, list[int]]:
    return message_class(compiled, "com.example.Event")


def sqlstate(excinfo: pytest.ExceptionInfo[LaminarError]) -> str:
    return excinfo.value.sqlstate


# --- schemas -------------------------------------------------------------------------------------


def test_compile_proto_matches_protoc_run_alone(
    compiled: descriptor_pb2.FileDescriptorSet, protoc_set: Path
) -> None:
    alone = descriptor_pb2.FileDescriptorSet.FromString(protoc_set.read_bytes())
    assert [file.name for file in compiled.file] == [
        "google/protobuf/duration.proto",
        "google/protobuf/timestamp.proto",
        "google/protobuf/wrappers.proto",
        "event.proto",
    ]
    assert compiled == alone


def test_message_indexes_follow_the_file_layout(compiled: descriptor_pb2.FileDescriptorSet) -> None:
    event_proto = compiled.file[-1].message_type[1]
    # protoc puts the map's entry message where the map field is declared: Later comes third.
    assert [m.name for m in event_proto.nested_type] == ["Address", "CountsEntry", "Later"]
    expected = {
        "com.example.Audit": [0],
        "com.example.Event": [1],
        "com.example.Event.Address": [1, 0],
        ".com.example.Event.Later": [1, 2],
    }
    for name, indexes in expected.items():
        cls, found = message_class(compiled, name)
        assert found == indexes
        assert cls.DESCRIPTOR.full_name == name.lstrip(".")
        assert message_class_at(compiled, indexes).DESCRIPTOR.full_name == name.lstrip(".")


def test_message_class_at_rejects_indexes_past_the_file(compiled: descriptor_pb2.FileDescriptorSet) -> None:
    with pytest.raises(DataException) as excinfo:
        message_class_at(compiled, [1, 7])
    assert sqlstate(excinfo) == "22P03"
    assert "[1, 7]" in excinfo.value.message


def test_syntax_error_carries_protocs_message() -> None:
    text = 'syntax = "proto3";\npackage x;\nmessage A { int32 a = 1 }\n'
    with pytest.raises(LaminarError) as excinfo:
        compile_proto(text)
    assert sqlstate(excinfo) == "22023"
    assert excinfo.value.message == 'invalid Protobuf schema "schema.proto": schema.proto:3:25: Expected ";".'


def test_unresolved_import_and_type_are_errors() -> None:
    text = 'syntax = "proto3";\nimport "missing/dep.proto";\nmessage A { dep.Thing t = 1; }\n'
    with pytest.raises(LaminarError) as excinfo:
        compile_proto(text)
    assert sqlstate(excinfo) == "22023"
    assert "missing/dep.proto" in excinfo.value.message
    assert excinfo.value.hint is not None
    assert "schema references" in excinfo.value.hint


def test_unused_import_warning_is_not_an_error() -> None:
    text = 'syntax = "proto3";\nimport "google/protobuf/timestamp.proto";\nmessage A { int32 a = 1; }\n'
    assert compile_proto(text).file[-1].name == "schema.proto"


def test_references_are_compiled_with_the_schema() -> None:
    common = (
        'syntax = "proto3";\npackage com.common;\nmessage Money { string currency = 1; int64 units = 2; }\n'
    )
    text = (
        'syntax = "proto3";\npackage com.shop;\nimport "com/common/money.proto";\n'
        "message Order { com.common.Money total = 1; }\n"
    )
    compiled = compile_proto(text, file_name="order.proto", dependencies={"com/common/money.proto": common})
    assert [file.name for file in compiled.file] == ["com/common/money.proto", "order.proto"]
    cls, indexes = message_class(compiled, "com.shop.Order", file_name="order.proto")
    assert indexes == [0]
    assert cls(total={"currency": "EUR", "units": 5}).SerializeToString() == b"\n\x07\n\x03EUR\x10\x05"
    with pytest.raises(LaminarError) as excinfo:
        message_class(compiled, "com.common.Money", file_name="order.proto")
    assert sqlstate(excinfo) == "22023"
    assert "com/common/money.proto" in excinfo.value.message


def test_reference_names_must_stay_inside_the_schema_directory() -> None:
    with pytest.raises(LaminarError) as excinfo:
        compile_proto('syntax = "proto3";', dependencies={"../etc/passwd": ""})
    assert sqlstate(excinfo) == "22023"


def test_unknown_message_lists_the_known_ones(compiled: descriptor_pb2.FileDescriptorSet) -> None:
    with pytest.raises(LaminarError) as excinfo:
        message_class(compiled, "com.example.Nope")
    assert sqlstate(excinfo) == "42704"
    assert excinfo.value.message == 'Protobuf message "com.example.Nope" does not exist in the schema'
    assert excinfo.value.hint == (
        "The schema defines: com.example.Audit, com.example.Event, com.example.Event.Address, "
        "com.example.Event.Later."
    )


def test_load_descriptor_set(protoc_set: Path, tmp_path: Path) -> None:
    loaded = load_descriptor_set(protoc_set)
    cls, indexes = message_class(loaded, "com.example.Event.Address")
    assert indexes == [1, 0]
    assert cls(city="x").SerializeToString() == b"\n\x01x"
    with pytest.raises(LaminarError) as missing:
        load_descriptor_set(tmp_path / "nope.pb")
    assert sqlstate(missing) == "58P01"
    garbage = tmp_path / "garbage.pb"
    garbage.write_bytes(b"\xff\xff\xff")
    with pytest.raises(LaminarError) as bad:
        load_descriptor_set(garbage)
    assert sqlstate(bad) == "22023"


def test_descriptor_set_without_its_imports_uses_the_runtimes_well_known_types(protoc_set: Path) -> None:
    alone = descriptor_pb2.FileDescriptorSet.FromString(protoc_set.read_bytes())
    only_event = descriptor_pb2.FileDescriptorSet(file=[alone.file[-1]])
    cls, _ = message_class(only_event, "com.example.Event")
    assert cls(ts=dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)).SerializeToString() == b'"\x02\x08\x01'


# --- framing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indexes", "expected"),
    [
        ([0], b"\x00"),
        ([1], b"\x02\x02"),
        ([1, 0], b"\x04\x02\x00"),
        ([0, 2], b"\x04\x00\x04"),
        ([70], b"\x02\x8c\x01"),
    ],
)
def test_frame_header(indexes: list[int], expected: bytes) -> None:
    header = frame_header(258, indexes)
    assert header == b"\x00\x00\x00\x01\x02" + expected
    assert read_frame(header + b"payload") == (258, tuple(indexes), len(header))


def test_read_frame_accepts_a_spelled_out_zero_index() -> None:
    assert read_frame(b"\x00\x00\x00\x00\x07\x02\x00\x08\x01") == (7, (0,), 7)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\x00\x00\x00", b"\x01\x00\x00\x00\x01\x00\x08", b"\x00\x00\x00\x00\x01\x04\x02"],
    ids=["empty", "short", "magic", "truncated-indexes"],
)
def test_read_frame_rejects_bad_headers(data: bytes) -> None:
    with pytest.raises(DataException) as excinfo:
        read_frame(data)
    assert sqlstate(excinfo) == "22P03"


# --- encoding ------------------------------------------------------------------------------------


def test_encode_every_kind_of_field(event: tuple[Any, list[int]], protoc_set: Path) -> None:
    cls, indexes = event
    encoder = ProtobufEncoder(EVENT_COLUMNS, cls, 42, indexes)
    data = encoder.encode(FULL_ROW)
    # magic byte, schema id 42 big-endian, indexes [1]: count 1 and index 1 as zig-zag varints
    assert data[:7] == b"\x00\x00\x00\x00\x2a\x02\x02"
    parsed = descriptor_set_class(protoc_set, "com.example.Event").FromString(data[7:])
    assert parsed.id == -(2**63)
    assert parsed.user_id == "user-1 é"
    assert parsed.kind == 2
    assert (parsed.ts.seconds, parsed.ts.nanos) == (1709210096, 789012000)
    assert parsed.amount == 19.99
    assert parsed.ok is True
    assert list(parsed.tags) == ["a", "b"]
    assert (parsed.address.city, parsed.address.zip) == ("Oslo", 150)
    assert dict(parsed.counts) == {"x": 1, "y": -2}
    assert parsed.HasField("maybe")
    assert parsed.maybe.value == 7
    assert parsed.ratio == 0.5
    assert parsed.HasField("score")
    assert parsed.score == -3
    assert parsed.big == 2**64 - 1
    assert parsed.blob == b"\x00\xff"
    assert list(parsed.nums) == [1, -2, 3]
    assert [(h.city, h.zip) for h in parsed.history] == [("Rome", 0), ("", 1)]
    assert (parsed.took.seconds, parsed.took.nanos) == (86402, 500000000)
    assert parsed.WhichOneof("target") == "url"
    assert parsed.url == "https://example.com"
    assert [(s.seconds, s.nanos) for s in parsed.seen] == [(1709210096, 789012000), (-1, 0)]
    assert list(parsed.later.kinds) == [1, 2]
    assert encoder.encode_many([FULL_ROW, FULL_ROW]) == [data, data]


def test_nulls_leave_fields_unset(event: tuple[Any, list[int]], protoc_set: Path) -> None:
    cls, indexes = event
    encoder = ProtobufEncoder(EVENT_COLUMNS, cls, 42, indexes)
    data = encoder.encode((None,) * len(EVENT_COLUMNS))
    assert data == b"\x00\x00\x00\x00\x2a\x02\x02"  # an empty message
    parsed = descriptor_set_class(protoc_set, "com.example.Event").FromString(data[7:])
    assert not parsed.HasField("maybe")
    assert not parsed.HasField("score")
    assert not parsed.HasField("ts")


def test_first_message_is_framed_with_a_single_zero(compiled: descriptor_pb2.FileDescriptorSet) -> None:
    cls, indexes = message_class(compiled, "com.example.Audit")
    encoder = ProtobufEncoder([("note", t.TEXT)], cls, 1, indexes)
    assert encoder.encode(("hi",)) == b"\x00\x00\x00\x00\x01\x00" + b"\n\x02hi"


def test_nested_message_is_framed_with_its_path(
    compiled: descriptor_pb2.FileDescriptorSet, protoc_set: Path
) -> None:
    cls, indexes = message_class(compiled, "com.example.Event.Later")
    encoder = ProtobufEncoder([("kinds", t.TEXT_ARRAY)], cls, 2**31 - 1, indexes)
    data = encoder.encode((["click", "Purchase", "KIND_UNSPECIFIED"],))
    assert data[:8] == b"\x00\x7f\xff\xff\xff\x04\x02\x04"  # [1, 2]
    parsed = descriptor_set_class(protoc_set, "com.example.Event.Later").FromString(data[8:])
    assert list(parsed.kinds) == [1, 2, 0]


def test_without_schema_id_messages_are_bare(event: tuple[Any, list[int]]) -> None:
    cls, _ = event
    encoder = ProtobufEncoder([("id", t.INT8)], cls, None)
    assert encoder.encode((150,)) == b"\x08\x96\x01"


def test_excluded_and_case_folded_columns(event: tuple[Any, list[int]], protoc_set: Path) -> None:
    cls, indexes = event
    columns = [("_kafka_headers", t.JSONB), ("USER_ID", t.VARCHAR), ("id", t.INT2), ("region", t.TEXT)]
    encoder = ProtobufEncoder(columns, cls, 5, indexes, exclude={"_kafka_headers", "region"})
    assert encoder.columns == (("USER_ID", t.VARCHAR), ("id", t.INT2))
    data = encoder.encode(('{"h": "1"}', "u", 9, "eu"))
    parsed = descriptor_set_class(protoc_set, "com.example.Event").FromString(data[7:])
    assert (parsed.user_id, parsed.id) == ("u", 9)


def test_values_are_converted_like_postgresql_casts(event: tuple[Any, list[int]], protoc_set: Path) -> None:
    cls, indexes = event
    columns = [
        ("id", t.NUMERIC),
        ("score", t.FLOAT8),
        ("user_id", t.UUID),
        ("ts", t.DATE),
        ("kind", t.INT4),
        ("blob", t.TEXT),
        ("amount", t.NUMERIC),
        ("item", t.NUMERIC),
    ]
    encoder = ProtobufEncoder(columns, cls, 1, indexes)
    row = (Decimal("2.5"), 2.5, "not-used", dt.date(2024, 1, 2), 7, "é", Decimal("0.1"), Decimal("-2.5"))
    import uuid

    row = (*row[:2], uuid.UUID("16a5bf80-6338-45c4-910a-978371f27e46"), *row[3:])
    parsed = descriptor_set_class(protoc_set, "com.example.Event").FromString(encoder.encode(row)[7:])
    assert parsed.id == 3  # numeric rounds half away from zero
    assert parsed.score == 2  # floats round half to even
    assert parsed.user_id == "16a5bf80-6338-45c4-910a-978371f27e46"
    assert (parsed.ts.seconds, parsed.ts.nanos) == (1704153600, 0)
    assert parsed.kind == 7  # an open enum keeps unknown numbers
    assert parsed.blob == "é".encode()
    assert parsed.amount == 0.1
    assert parsed.item == -3


def test_duckdb_struct_list_and_map_values(event: tuple[Any, list[int]], protoc_set: Path) -> None:
    cls, indexes = event
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    cursor = connection.execute(
        "SELECT 1::BIGINT AS id, {'city': 'Oslo', 'zip': 150} AS address, [1, 2]::INTEGER[] AS nums, "
        "MAP {'a': 1, 'b': 2} AS counts, [{'city': 'Rome', 'zip': 1}] AS history, "
        "TIMESTAMP '2024-01-01 00:00:00.5' AS ts, INTERVAL 1 MONTH AS took, 'CLICK'::VARCHAR AS kind"
    )
    columns = [(name, t.oid_for_duckdb_type(str(kind))) for name, kind, *_ in cursor.description]
    assert dict(columns)["address"] == t.TEXT
    assert dict(columns)["history"] == t.TEXT_ARRAY
    rows = cursor.fetchall()
    data = ProtobufEncoder(columns, cls, 1, indexes).encode_many(rows)
    parsed = descriptor_set_class(protoc_set, "com.example.Event").FromString(data[0][7:])
    assert (parsed.id, parsed.address.city, parsed.address.zip) == (1, "Oslo", 150)
    assert list(parsed.nums) == [1, 2]
    assert dict(parsed.counts) == {"a": 1, "b": 2}
    assert [(h.city, h.zip) for h in parsed.history] == [("Rome", 1)]
    assert (parsed.ts.seconds, parsed.ts.nanos) == (1704067200, 500000000)
    assert (parsed.took.seconds, parsed.took.nanos) == (30 * 86400, 0)
    assert parsed.kind == 1


def test_check_fits_lists_every_problem(event: tuple[Any, list[int]]) -> None:
    cls, _ = event
    columns = [
        ("id", t.TEXT),
        ("nope", t.INT4),
        ("ok", t.INT4),
        ("tags", t.TEXT),
        ("nums", t.TEXT_ARRAY),
        ("ts", t.INT8),
        ("blob", t.INT4),
        ("address", t.INT4),
        ("ID", t.INT8),
        ("amount", t.INT8_ARRAY),
        ("kind", t.FLOAT8),
        ("took", t.TEXT),
    ]
    assert check_fits(columns, cls.DESCRIPTOR, exclude={"tags"}) == [
        'column "id" of type text does not fit field "id" (int64) of com.example.Event',
        'column "nope" has no field in message com.example.Event (fields: id, user_id, kind, ts, amount, '
        "ok, tags, address, counts, maybe, ratio, score, big, blob, nums, history, took, url, item, seen, "
        "later)",
        'column "ok" of type int4 does not fit field "ok" (bool) of com.example.Event',
        'column "nums" of type text[] does not fit field "nums" (repeated int32) of com.example.Event',
        'column "ts" of type int8 does not fit field "ts" (google.protobuf.Timestamp) of com.example.Event',
        'column "blob" of type int4 does not fit field "blob" (bytes) of com.example.Event',
        'column "address" of type int4 does not fit field "address" (com.example.Event.Address) of '
        "com.example.Event",
        'columns "id" and "ID" both fill field "id"',
        'column "amount" of type int8[] does not fit field "amount" (double) of com.example.Event',
        'column "kind" of type float8 does not fit field "kind" (com.example.Kind) of com.example.Event',
        'column "took" of type text does not fit field "took" (google.protobuf.Duration) of '
        "com.example.Event",
    ]
    assert check_fits([("id", t.INT8), ("counts", t.JSON), ("tags", t.VARCHAR_ARRAY)], cls.DESCRIPTOR) == []


def test_constructor_refuses_columns_without_fields(event: tuple[Any, list[int]]) -> None:
    cls, indexes = event
    with pytest.raises(ProtobufMismatch) as excinfo:
        ProtobufEncoder([("id", t.INT8), ("region", t.TEXT)], cls, 1, indexes)
    assert sqlstate(excinfo) == "22023"
    assert isinstance(excinfo.value, DataException)
    assert excinfo.value.message == (
        "the output does not fit Protobuf message com.example.Event: "
        'column "region" has no field in message com.example.Event (fields: id, user_id, kind, ts, amount, '
        "ok, tags, address, counts, maybe, ratio, score, big, blob, nums, history, took, url, item, seen, "
        "later)"
    )


@pytest.mark.parametrize(
    ("column", "value", "state", "message"),
    [
        (
            ("id", t.INT8),
            "12",
            "22000",
            'column "id" (field "id" of com.example.Event): a value of type str does not fit int64: '
            "'str' object cannot be interpreted as an integer",
        ),
        (
            ("score", t.INT4),
            2**31,
            "22003",
            'column "score" (field "score" of com.example.Event): value "2147483648" is out of range '
            "for int32",
        ),
        (
            ("big", t.INT8),
            -1,
            "22003",
            'column "big" (field "big" of com.example.Event): value "-1" is out of range for uint64',
        ),
        (
            ("ratio", t.FLOAT8),
            1e39,
            "22003",
            'column "ratio" (field "ratio" of com.example.Event): value "1e+39" is out of range for float',
        ),
        (
            ("kind", t.TEXT),
            "REFUND",
            "22P02",
            'column "kind" (field "kind" of com.example.Event): invalid input value for enum '
            'com.example.Kind: "REFUND"',
        ),
        (
            ("nums", t.INT4_ARRAY),
            [1, None],
            "22004",
            'column "nums" (field "nums" of com.example.Event): the array holds a NULL, which a repeated '
            "field cannot hold",
        ),
        (
            ("address", t.JSONB),
            '{"town": "x"}',
            "22P02",
            'column "address" (field "address" of com.example.Event): Message type '
            '"com.example.Event.Address" has no field named "town" at "Address".\n'
            " Available Fields(except extensions): \"['city', 'zip']\"",
        ),
        (
            ("user_id", t.TEXT),
            "\ud800",
            "22021",
            None,
        ),
        (
            ("ts", t.TIMESTAMPTZ),
            "2024-01-01",
            "22000",
            'column "ts" (field "ts" of com.example.Event): a value of type str does not fit '
            "google.protobuf.Timestamp",
        ),
    ],
    ids=[
        "type",
        "int32-range",
        "uint64-negative",
        "float-range",
        "enum",
        "null-element",
        "json",
        "utf8",
        "ts",
    ],
)
def test_values_that_do_not_fit(
    event: tuple[Any, list[int]], column: tuple[str, int], value: object, state: str, message: str | None
) -> None:
    cls, indexes = event
    encoder = ProtobufEncoder([("ok", t.BOOL), column], cls, 1, indexes)
    good = (True, None)
    for call in (lambda: encoder.encode((True, value)), lambda: encoder.encode_many([good, (True, value)])):
        with pytest.raises(DataException) as excinfo:
            call()
        assert sqlstate(excinfo) == state
        if message is not None:
            assert excinfo.value.message == message
        assert f'column "{column[0]}"' in excinfo.value.message


def test_two_members_of_a_oneof(event: tuple[Any, list[int]]) -> None:
    cls, indexes = event
    encoder = ProtobufEncoder([("url", t.TEXT), ("item", t.INT8)], cls, 1, indexes)
    assert encoder.encode(("u", None))[7:] == b"\x92\x01\x01u"
    assert encoder.encode((None, 5))[7:] == b"\x98\x01\x05"
    with pytest.raises(DataException) as excinfo:
        encoder.encode(("u", 5))
    assert sqlstate(excinfo) == "22000"
    assert excinfo.value.message == 'columns "url" and "item" both set oneof "target" of com.example.Event'


PROTO2 = """\
syntax = "proto2";
package legacy;
enum Color { RED = 1; BLUE = 2; }
message Paint { required int32 code = 1; optional Color color = 2; }
"""


def test_proto2_required_fields_and_closed_enums() -> None:
    cls, indexes = message_class(compile_proto(PROTO2), "legacy.Paint")
    assert check_fits([("color", t.TEXT)], cls.DESCRIPTOR) == [
        'required field "code" of legacy.Paint has no column'
    ]
    encoder = ProtobufEncoder([("code", t.INT4), ("color", t.INT2)], cls, 3, indexes)
    assert encoder.encode((1, 2)) == b"\x00\x00\x00\x00\x03\x00\x08\x01\x10\x02"
    with pytest.raises(DataException) as missing:
        encoder.encode((None, 1))
    assert sqlstate(missing) == "22004"
    assert missing.value.message == 'the row leaves required field "code" of legacy.Paint NULL'
    with pytest.raises(DataException) as undefined:
        encoder.encode((1, 3))
    assert sqlstate(undefined) == "22P02"


# --- decoding ------------------------------------------------------------------------------------


def test_columns_for(event: tuple[Any, list[int]]) -> None:
    cls, _ = event
    assert columns_for(cls.DESCRIPTOR) == [
        ("id", "bigint"),
        ("user_id", "text"),
        ("kind", "text"),
        ("ts", "timestamptz"),
        ("amount", "double precision"),
        ("ok", "boolean"),
        ("tags", "text[]"),
        ("address", "jsonb"),
        ("counts", "jsonb"),
        ("maybe", "bigint"),
        ("ratio", "real"),
        ("score", "integer"),
        ("big", "numeric"),
        ("blob", "bytea"),
        ("nums", "integer[]"),
        ("history", "jsonb"),
        ("took", "interval"),
        ("url", "text"),
        ("item", "bigint"),
        ("seen", "timestamptz[]"),
        ("later", "jsonb"),
    ]


def test_decode_round_trip(event: tuple[Any, list[int]]) -> None:
    cls, indexes = event
    data = ProtobufEncoder(EVENT_COLUMNS, cls, 42, indexes).encode(FULL_ROW)
    decoder = ProtobufDecoder(cls, message_indexes=indexes)
    row = decoder.decode(None, data)
    expected = dict(zip([name for name, _ in EVENT_COLUMNS], FULL_ROW, strict=True))
    expected.update(
        address='{"city":"Oslo","zip":150}',
        counts='{"x":1,"y":-2}',
        history='[{"city":"Rome","zip":0},{"city":"","zip":1}]',
        later='{"kinds":["CLICK","PURCHASE"]}',
    )
    assert dict(zip([name for name, _ in decoder.columns], row, strict=True)) == expected
    assert isinstance(row[12], Decimal)


def test_decode_defaults_and_presence(event: tuple[Any, list[int]]) -> None:
    cls, indexes = event
    decoder = ProtobufDecoder(cls)
    row = decoder.decode(None, frame_header(1, indexes))  # an empty message
    by_name = dict(zip([name for name, _ in decoder.columns], row, strict=True))
    assert by_name == {
        "id": 0,
        "user_id": "",
        "kind": "KIND_UNSPECIFIED",
        "ts": None,
        "amount": 0.0,
        "ok": False,
        "tags": [],
        "address": None,
        "counts": "{}",
        "maybe": None,
        "ratio": 0.0,
        "score": None,
        "big": Decimal(0),
        "blob": b"",
        "nums": [],
        "history": "[]",
        "took": None,
        "url": None,
        "item": None,
        "seen": [],
        "later": None,
    }
    assert decoder.decode(b"key", None) == (None,) * len(decoder.columns)


def test_decode_bytes_written_independently(protoc_set: Path) -> None:
    writer = descriptor_set_class(protoc_set, "com.example.Event")
    message = writer(id=5, kind=9, item=77, address={"city": "Lima"}, seen=[{"seconds": 1, "nanos": 999}])
    data = b"\x00\x00\x00\x00\x09\x02\x02" + message.SerializeToString()
    compiled = compile_proto(SCHEMA)
    cls, _ = message_class(compiled, "com.example.Event")
    decoder = ProtobufDecoder(cls, columns=["ID", "kind", "item", "url", "address", "seen"])
    assert decoder.columns == (
        ("ID", "bigint"),
        ("kind", "text"),
        ("item", "bigint"),
        ("url", "text"),
        ("address", "jsonb"),
        ("seen", "timestamptz[]"),
    )
    assert decoder.decode(None, data) == (
        5,
        "9",  # a number the enum does not name
        77,
        None,
        '{"city":"Lima","zip":0}',
        [dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)],
    )


def test_decode_json_of_nested_well_known_types(compiled: descriptor_pb2.FileDescriptorSet) -> None:
    text = (
        'syntax = "proto3";\nimport "google/protobuf/timestamp.proto";\n'
        'import "google/protobuf/wrappers.proto";\nimport "google/protobuf/struct.proto";\n'
        "message Inner { google.protobuf.Timestamp at = 1; google.protobuf.Int64Value n = 2; "
        "google.protobuf.Struct extra = 3; bytes b = 4; map<int32, Inner> kids = 5; }\n"
        "message Outer { Inner inner = 1; }\n"
    )
    cls, indexes = message_class(compile_proto(text), "Outer")
    assert indexes == [1]
    message = cls(
        inner={
            "at": {"seconds": 0, "nanos": 5000},
            "n": {"value": 2**62},
            "extra": {"k": "v"},  # the runtime reads a dict for a Struct as its content
            "b": b"\x01",
            "kids": {3: {"b": b"\x02"}},
        }
    )
    (value,) = ProtobufDecoder(cls, framed=False).decode(None, message.SerializeToString())
    assert json.loads(value) == {
        "at": "1970-01-01T00:00:00.000005Z",
        "n": 2**62,
        "extra": {"k": "v"},
        "b": "AQ==",
        "kids": {"3": {"b": "Ag==", "kids": {}}},
    }


@pytest.mark.parametrize(
    "data",
    [b"\x01\x00\x00\x00\x01\x02\x02", b"\x00\x00\x00\x00\x01\x02\x02\xff\xff", b"\x00\x00\x00\x00\x01\x00"],
    ids=["magic", "garbage", "other-message"],
)
def test_decode_errors(event: tuple[Any, list[int]], data: bytes) -> None:
    cls, indexes = event
    with pytest.raises(DataException) as excinfo:
        ProtobufDecoder(cls, message_indexes=indexes).decode(None, data)
    assert sqlstate(excinfo) == "22P03"


def test_decoder_unknown_column(event: tuple[Any, list[int]]) -> None:
    cls, _ = event
    with pytest.raises(LaminarError) as excinfo:
        ProtobufDecoder(cls, columns=["id", "region"])
    assert sqlstate(excinfo) == "42703"


def test_decode_timestamp_past_year_9999(protoc_set: Path, event: tuple[Any, list[int]]) -> None:
    cls, _ = event
    writer = descriptor_set_class(protoc_set, "com.example.Event")
    data = writer(ts={"seconds": 253402300800}).SerializeToString()  # 10000-01-01
    with pytest.raises(DataException) as excinfo:
        ProtobufDecoder(cls, framed=False, columns=["ts"]).decode(None, data)
    assert sqlstate(excinfo) == "22008"


def test_round_trip_through_a_json_mapping_check(event: tuple[Any, list[int]], protoc_set: Path) -> None:
    """The encoder's output read back through Protobuf's own JSON mapping, as a consumer would."""
    cls, indexes = event
    encoder = ProtobufEncoder(EVENT_COLUMNS[:6], cls, 42, indexes)
    rows: Sequence[tuple[Any, ...]] = [
        (i, f"user-{i}", "CLICK", MOMENT + dt.timedelta(seconds=i), i / 4, i % 2 == 0) for i in range(3)
    ]
    reader = descriptor_set_class(protoc_set, "com.example.Event")
    seen = [json_format.MessageToDict(reader.FromString(data[7:])) for data in encoder.encode_many(rows)]
    assert seen[1] == {
        "id": "1",
        "userId": "user-1",
        "kind": "CLICK",
        "ts": "2024-02-29T12:34:57.789012Z",
        "amount": 0.25,
    }


def test_interval_values_from_the_gateway(event: tuple[Any, list[int]], protoc_set: Path) -> None:
    cls, indexes = event
    encoder = ProtobufEncoder([("took", t.INTERVAL)], cls, 1, indexes)
    parsed = descriptor_set_class(protoc_set, "com.example.Event").FromString(
        encoder.encode((Interval(months=1, days=1, microseconds=-1_500_000),))[7:]
    )
    assert (parsed.took.seconds, parsed.took.nanos) == (31 * 86400 - 2, 500_000_000)  # 31 days - 1.5 s
    negative = encoder.encode((dt.timedelta(seconds=-1.5),))
    parsed = descriptor_set_class(protoc_set, "com.example.Event").FromString(negative[7:])
    assert (parsed.took.seconds, parsed.took.nanos) == (-1, -500_000_000)


def test_timestamps_from_text_and_wrappers_from_json(event: tuple[Any, list[int]], protoc_set: Path) -> None:
    cls, indexes = event
    encoder = ProtobufEncoder([("ts", t.TEXT), ("maybe", t.JSONB), ("score", t.INT8)], cls, 1, indexes)
    parsed = descriptor_set_class(protoc_set, "com.example.Event").FromString(
        encoder.encode(("2024-01-01T02:00:00.25+02:00", '"-5"', 0))[7:]
    )
    assert (parsed.ts.seconds, parsed.ts.nanos) == (1704067200, 250_000_000)
    assert parsed.maybe.value == -5
    assert parsed.HasField("score")  # a zero is set, not NULL
    with pytest.raises(DataException) as excinfo:
        encoder.encode(("yesterday", None, None))
    assert sqlstate(excinfo) == "22007"
    assert excinfo.value.message == (
        'column "ts" (field "ts" of com.example.Event): invalid input syntax for a timestamp: "yesterday"'
    )


def test_decode_any_of_an_unknown_type_keeps_its_bytes() -> None:
    text = (
        'syntax = "proto3";\nimport "google/protobuf/any.proto";\n'
        "message Box { google.protobuf.Any thing = 1; }\n"
    )
    cls, _ = message_class(compile_proto(text), "Box")
    data = cls(thing={"type_url": "type.googleapis.com/x.Unknown", "value": b"\x08\x01"}).SerializeToString()
    assert ProtobufDecoder(cls, framed=False).decode(None, data) == (
        '{"@type":"type.googleapis.com/x.Unknown","value":"CAE="}',
    )
