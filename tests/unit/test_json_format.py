"""The sink's json format: exact bytes for every column type, options, routing exclusions (no sockets).

Rows come either as literal Python values (the shapes DuckDB's fetchall() and the gateway's parameter
decoding produce) or from a real in-process DuckDB query whose column OIDs are announced the way the
gateway announces them (gateway.protocol.types.oid_for_duckdb_type).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal

import duckdb
import pytest

from formats.json_format import JsonEncoder, iso8601_duration
from gateway.errors import LaminarError
from gateway.protocol import types as t
from gateway.protocol.datetime_codec import Interval

UTC = dt.UTC


def encode(columns: Sequence[tuple[str, int]], row: Sequence[object], **options: bool) -> bytes:
    pretty = options.pop("pretty", False)
    include_nulls = options.pop("include_nulls", True)
    return JsonEncoder(columns, pretty=pretty, include_nulls=include_nulls).encode(row)


def duckdb_rows(sql: str) -> tuple[list[tuple[str, int]], list[tuple[object, ...]]]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    cursor = connection.execute(sql)
    columns = [(name, t.oid_for_duckdb_type(str(kind))) for name, kind, *_ in cursor.description]
    return columns, cursor.fetchall()


# --- scalar types --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("oid", "value", "expected"),
    [
        (t.BOOL, True, b"true"),
        (t.INT2, -7, b"-7"),
        (t.INT8, 2**63 - 1, b"9223372036854775807"),
        (t.TEXT, 'a "quoted" é\n', b'"a \\"quoted\\" \xc3\xa9\\n"'),
        (t.FLOAT8, 0.1, b"0.1"),
        (t.FLOAT8, 1e-7, b"1e-7"),
        (t.FLOAT8, float("nan"), b"null"),
        (t.FLOAT8, float("-inf"), b"null"),
        (t.FLOAT4, 0.10000000149011612, b"0.1"),  # DuckDB's REAL 0.1 as a Python float
        (t.FLOAT4, 123456.78125, b"123456.78"),
        (t.FLOAT4, float("inf"), b"null"),
        (t.NUMERIC, Decimal("1.500"), b"1.500"),
        (t.NUMERIC, Decimal("-12345678901234567890.0000000001"), b"-12345678901234567890.0000000001"),
        (t.NUMERIC, Decimal("1E+2"), b"100"),
        (t.NUMERIC, Decimal("1E-7"), b"0.0000001"),
        (t.NUMERIC, Decimal("NaN"), b"null"),
        (t.NUMERIC, Decimal("-Infinity"), b"null"),
        (t.NUMERIC, 12345678901234567890123, b"12345678901234567890123"),  # HUGEINT
        (t.NUMERIC, -(2**63) - 1, b"-9223372036854775809"),
        (t.BYTEA, b"\x00\x01\xfe\xff", b'"AAH+/w=="'),
        (t.BYTEA, memoryview(b"xyz"), b'"eHl6"'),
        (t.BYTEA, b"", b'""'),
        (
            t.UUID,
            uuid.UUID("16a5bf80-6338-45c4-910a-978371f27e46"),
            b'"16a5bf80-6338-45c4-910a-978371f27e46"',
        ),
        (t.DATE, dt.date(2024, 2, 29), b'"2024-02-29"'),
        (t.TIME, dt.time(12, 34, 56), b'"12:34:56"'),
        (t.TIME, dt.time(12, 34, 56, 5), b'"12:34:56.000005"'),
        (t.TIMETZ, dt.time(12, 34, 56, tzinfo=dt.timezone(dt.timedelta(hours=2))), b'"12:34:56+02:00"'),
        (t.TIMESTAMP, dt.datetime(2024, 2, 29, 12, 34, 56), b'"2024-02-29T12:34:56"'),
        (
            t.TIMESTAMPTZ,
            dt.datetime(2024, 2, 29, 12, 34, 56, 789000, tzinfo=UTC),
            b'"2024-02-29T12:34:56.789000+00:00"',
        ),
        (
            t.TIMESTAMPTZ,
            dt.datetime(2024, 2, 29, 12, 34, 56, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
            b'"2024-02-29T12:34:56-05:30"',
        ),
        (t.INTERVAL, dt.timedelta(days=1, hours=2, minutes=3, seconds=4), b'"P1DT2H3M4S"'),
        (t.INTERVAL, Interval(14, 3, 500_000), b'"P1Y2M3DT0.5S"'),
        (t.JSON, '{"a":1,"b":[true,null]}', b'{"a":1,"b":[true,null]}'),
        (t.JSON, '"just a string"', b'"just a string"'),
        (t.JSON, b"[1, 2]", b"[1, 2]"),  # json text is kept verbatim, spaces included
        (t.JSONB, '{"n": 1.10}', b'{"n": 1.10}'),
        (t.JSON, {"from": "a driver", "n": Decimal("2.50")}, b'{"from":"a driver","n":2.50}'),
    ],
)
def test_value_is_written_as(oid: int, value: object, expected: bytes) -> None:
    assert encode([("v", oid)], [value]) == b'{"v":' + expected + b"}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [  # PostgreSQL 15 with SET intervalstyle = iso_8601 printed the right-hand side.
        (Interval(0, 1, (2 * 3600 + 3 * 60 + 4) * 1_000_000), "P1DT2H3M4S"),  # '1 day 2 hours 3 min 4 s'
        (Interval(0, 0, 0), "PT0S"),  # '0'
        (Interval(14, 0, 0), "P1Y2M"),  # '1 year 2 months'
        (Interval(-10, 3, -14_706_500_000), "P-10M3DT-4H-5M-6.5S"),  # '-1 year 2 mons 3 days -04:05:06.5'
        (Interval(0, 0, 500_000), "PT0.5S"),  # '0.5 seconds'
        (Interval(0, 0, -500_000), "PT-0.5S"),  # '-0.5 seconds'
        (Interval(1, -1, 0), "P1M-1D"),  # '1 month -1 day'
        (Interval(0, 0, 100 * 3600 * 1_000_000), "PT100H"),  # '100 hours'
        (Interval(0, -1, 0), "P-1D"),  # '-1 day'
        # timedelta (what DuckDB hands over): split sign-symmetrically into days and time.
        (dt.timedelta(hours=100), "P4DT4H"),
        (dt.timedelta(seconds=-1), "PT-1S"),
        (dt.timedelta(days=-1, seconds=-61, microseconds=-10), "P-1DT-1M-1.00001S"),
    ],
)
def test_iso8601_duration(value: dt.timedelta | Interval, expected: str) -> None:
    assert iso8601_duration(value) == expected


# --- structured values ---------------------------------------------------------------------------


def test_arrays_keep_nulls_and_convert_each_element() -> None:
    columns = [
        ("ints", t.INT4_ARRAY),
        ("docs", t.JSON_ARRAY),
        ("blobs", t.BYTEA_ARRAY),
        ("reals", t.FLOAT4_ARRAY),
        ("zoned", t.TIMETZ_ARRAY),
        ("nested", t.NUMERIC_ARRAY),
    ]
    row = [
        [1, None, 3],
        ['{"a":1}', None, "[2]"],
        [b"a", None],
        [0.10000000149011612, float("nan")],
        [dt.time(1, 2, 3, tzinfo=UTC)],
        [[Decimal("1.0"), None], [Decimal("2.50"), Decimal("3")]],
    ]
    assert encode(columns, row) == (
        b'{"ints":[1,null,3],"docs":[{"a":1},null,[2]],"blobs":["YQ==",null],"reals":[0.1,null],'
        b'"zoned":["01:02:03+00:00"],"nested":[[1.0,null],[2.50,3]]}'
    )


def test_maps_and_structs_become_objects_with_string_keys() -> None:
    # DuckDB announces MAP and STRUCT columns as text and hands them over as dicts.
    columns = [("labels", t.TEXT), ("by_id", t.TEXT), ("record", t.TEXT)]
    row = [
        {"source": "laminar", "version": "1.0"},
        {1: "one", 2: None},
        {"price": Decimal("9.99"), "raw": b"\x00", "at": dt.date(2024, 1, 2), "big": 2**70},
    ]
    assert encode(columns, row) == (
        b'{"labels":{"source":"laminar","version":"1.0"},"by_id":{"1":"one","2":null},'
        b'"record":{"price":9.99,"raw":"AA==","at":"2024-01-02","big":1180591620717411303424}}'
    )


def test_other_python_values_use_their_postgresql_text() -> None:
    assert encode([("v", t.TEXT)], [frozenset()]) == b'{"v":"frozenset()"}'


# --- options -------------------------------------------------------------------------------------


def test_nulls_are_written_or_left_out() -> None:
    columns = [("a", t.INT4), ("b", t.TEXT), ("c", t.JSON), ("d", t.FLOAT4)]
    row = [1, None, None, float("nan")]
    assert encode(columns, row) == b'{"a":1,"b":null,"c":null,"d":null}'
    # NaN is not NULL: its key stays (written as null) when NULL columns are left out.
    assert encode(columns, row, include_nulls=False) == b'{"a":1,"d":null}'
    assert encode(columns, [None, None, None, None], include_nulls=False) == b"{}"


def test_pretty_indents_by_two_and_reindents_embedded_json_keeping_its_digits() -> None:
    columns = [("id", t.INT8), ("details", t.JSON), ("tags", t.TEXT_ARRAY)]
    row = [7, '{"gpa": 3.90, "big": 123456789012345678901234567890, "clubs": ["chess"]}', ["x"]]
    expected = """{
  "id": 7,
  "details": {
    "gpa": 3.90,
    "big": 123456789012345678901234567890,
    "clubs": [
      "chess"
    ]
  },
  "tags": [
    "x"
  ]
}"""
    assert encode(columns, row, pretty=True) == expected.encode()


def test_routing_columns_are_left_out_of_the_value() -> None:
    columns = [
        ("id", t.INT8),
        ("_target_topic", t.TEXT),
        ("payload", t.TEXT),
        ("region_partition", t.INT4),
        ("_kafka_headers", t.TEXT),
    ]
    encoder = JsonEncoder(
        columns,
        pretty=False,
        include_nulls=True,
        exclude={"_target_topic", "region_partition", "_kafka_headers"},
    )
    row = [1, "orders-topic", "p", 2, {"source": "laminar"}]
    assert encoder.encode(row) == b'{"id":1,"payload":"p"}'
    assert encoder.columns == (("id", t.INT8), ("payload", t.TEXT))
    only_routing = JsonEncoder(
        [("_kafka_headers", t.TEXT)], pretty=False, include_nulls=True, exclude={"_kafka_headers"}
    )
    assert only_routing.encode([{"a": "b"}]) == b"{}"
    one_left = JsonEncoder(columns[:2], pretty=False, include_nulls=False, exclude={"_target_topic"})
    assert one_left.encode_many([[5, "t"], [None, "t"]]) == [b'{"id":5}', b"{}"]


def test_duplicate_column_names_are_refused() -> None:
    with pytest.raises(LaminarError) as caught:
        JsonEncoder([("id", t.INT4), ("id", t.TEXT)], pretty=False, include_nulls=True)
    assert caught.value.sqlstate == "42701"
    assert caught.value.message == 'column "id" specified more than once'
    # A duplicate that is excluded as a routing column is fine.
    JsonEncoder(
        [("id", t.INT4), ("x", t.TEXT), ("x", t.TEXT)], pretty=False, include_nulls=True, exclude={"x"}
    )


# --- encode_many ---------------------------------------------------------------------------------


@pytest.mark.parametrize("include_nulls", [True, False])
@pytest.mark.parametrize("pretty", [True, False])
def test_encode_many_equals_encode_row_by_row(include_nulls: bool, pretty: bool) -> None:
    columns = [("id", t.INT8), ("name", t.TEXT), ("doc", t.JSON), ("n", t.NUMERIC)]
    rows = [
        (1, "a", '{"k":1}', Decimal("1.0")),
        (2, None, None, 2**80),  # an integer past 64 bits takes the slow path mid-batch
        (3, "c", "[]", None),
    ]
    encoder = JsonEncoder(columns, pretty=pretty, include_nulls=include_nulls)
    assert encoder.encode_many(rows) == [encoder.encode(row) for row in rows]
    assert encoder.encode_many(iter(rows)) == [encoder.encode(row) for row in rows]
    assert encoder.encode_many([]) == []


@pytest.mark.parametrize("include_nulls", [True, False])
def test_encode_many_fast_path_falls_back_for_values_orjson_refuses(include_nulls: bool) -> None:
    columns = [("id", t.INT8), ("m", t.TEXT)]
    rows = ((i, {i: None} if i == 2 else None) for i in range(4))  # a generator, read twice inside
    encoder = JsonEncoder(columns, pretty=False, include_nulls=include_nulls)
    if include_nulls:
        expected = [
            b'{"id":0,"m":null}',
            b'{"id":1,"m":null}',
            b'{"id":2,"m":{"2":null}}',
            b'{"id":3,"m":null}',
        ]
    else:
        expected = [b'{"id":0}', b'{"id":1}', b'{"id":2,"m":{"2":null}}', b'{"id":3}']
    assert encoder.encode_many(rows) == expected


# --- rows from DuckDB ----------------------------------------------------------------------------


def test_the_spec_json_example_row_from_duckdb() -> None:
    """The spec's "JSON Format" pipeline: id, name, a CASE grade and TO_JSON(details) nested."""
    columns, rows = duckdb_rows(
        """SELECT 7::BIGINT AS id, 'Ada' AS name,
                  CASE WHEN 95 > 90 THEN 'A' WHEN 95 > 80 THEN 'B' ELSE 'C' END AS grade,
                  TO_JSON({'clubs': ['chess'], 'year': 2}) AS details_json"""
    )
    assert columns == [("id", t.INT8), ("name", t.TEXT), ("grade", t.TEXT), ("details_json", t.JSON)]
    value = JsonEncoder(columns, pretty=False, include_nulls=True).encode(rows[0])
    assert value == b'{"id":7,"name":"Ada","grade":"A","details_json":{"clubs":["chess"],"year":2}}'
    assert json.loads(value)["details_json"] == {"clubs": ["chess"], "year": 2}


def test_every_duckdb_type_the_gateway_announces() -> None:
    columns, rows = duckdb_rows(
        r"""SELECT TIMESTAMPTZ '2024-02-29 12:34:56.789+00' AS ts,
                  TIMESTAMP '2024-02-29 12:34:56' AS naive, DATE '2024-02-29' AS d, TIME '12:34:56' AS tm,
                  INTERVAL '1 day 2 hours 3 minutes 4 seconds' AS iv, 1.500::DECIMAL(10,3) AS amount,
                  12345678901234567890123::HUGEINT AS huge, '\x01\x02'::BLOB AS b, 'nan'::DOUBLE AS f,
                  0.1::REAL AS r, NULL::VARCHAR AS missing, [1, NULL] AS l, MAP {'k': 'v'} AS m,
                  {'s': 1} AS st, UUID '16a5bf80-6338-45c4-910a-978371f27e46' AS u, TRUE AS ok"""
    )
    value = JsonEncoder(columns, pretty=False, include_nulls=True).encode(rows[0])
    assert value == (
        b'{"ts":"2024-02-29T12:34:56.789000+00:00","naive":"2024-02-29T12:34:56","d":"2024-02-29",'
        b'"tm":"12:34:56","iv":"P1DT2H3M4S","amount":1.500,"huge":12345678901234567890123,"b":"AQI=",'
        b'"f":null,"r":0.1,"missing":null,"l":[1,null],"m":{"k":"v"},"st":{"s":1},'
        b'"u":"16a5bf80-6338-45c4-910a-978371f27e46","ok":true}'
    )


def test_a_value_json_cannot_hold_is_a_data_exception_naming_its_column() -> None:
    encoder = JsonEncoder([("id", t.INT4), ("note", t.TEXT)], pretty=False, include_nulls=True)
    for attempt in (
        lambda: encoder.encode([1, "\ud800"]),
        lambda: encoder.encode_many([[1, "ok"], [2, "\ud800"]]),
    ):
        with pytest.raises(LaminarError) as caught:
            attempt()
        assert caught.value.sqlstate == "22000"
        assert caught.value.message == (
            'value of column "note" cannot be written as JSON: str is not valid UTF-8: surrogates not allowed'
        )
