"""The `avro` format: rows <-> Avro records in the Confluent wire format, for sinks and sources.

A Confluent-framed message is the magic byte 0, the schema's registry id as 4 big-endian bytes, then
the record in Avro binary encoding. This module is sans-IO: the registry client fetches and
registers schemas; here they are plain dicts (the JSON of the registry's `schema` string).

Sinks
-----
`avro_schema_for(columns, name=..., namespace="laminar", exclude=..., typmods=...)` derives a record
schema from the output columns, (name, PostgreSQL type OID) pairs as gateway.protocol.types announces
them. Every field is nullable: `{"name": n, "type": ["null", T], "default": null}`. T is:

| PostgreSQL type                  | Avro type T                                                      |
|----------------------------------|------------------------------------------------------------------|
| boolean                          | boolean                                                          |
| smallint, integer                | int                                                              |
| bigint, oid                      | long                                                             |
| real / double precision          | float / double                                                   |
| numeric(p,s)                     | bytes, logicalType decimal, precision p, scale s; unconstrained  |
|                                  | numeric (no typmod) is decimal(38, 10), the DuckDB type the      |
|                                  | gateway gives numeric everywhere (28 integer digits): more       |
|                                  | fractional digits are rounded half away from zero, more integer  |
|                                  | digits are 22003                                                 |
| text, varchar, char(n), name     | string                                                           |
| bytea                            | bytes                                                            |
| date                             | int, logicalType date                                            |
| time                             | long, logicalType time-micros                                    |
| timestamp                        | long, logicalType local-timestamp-micros (a wall-clock time)     |
| timestamptz                      | long, logicalType timestamp-micros (an instant)                  |
| uuid                             | string, logicalType uuid                                         |
| json, jsonb                      | string holding the JSON text                                     |
| interval                         | string, ISO-8601 as the json format writes it ("P1DT2H3M4S"):    |
|                                  | Avro's duration (fixed 12, unsigned months/days/millis) cannot   |
|                                  | hold negative or sub-millisecond intervals                       |
| timetz, bit, varbit              | string (ISO time with offset; the bits as '0'/'1')               |
| X[] (one-dimensional arrays)     | array, items ["null", X's type]                                  |
| anything else announced as text  | string: DuckDB MAP/STRUCT/UNION and nested lists are announced   |
| (MAP, STRUCT, nested lists, ...) | as text, so their values are written as PostgreSQL text (maps    |
|                                  | and structs as JSON objects)                                     |

Field names are column names made valid Avro names (`avro_name`): every character outside
[A-Za-z0-9_] becomes `_` and a name starting with a digit (or empty) gets a leading `_`, so
`count(*)` is the field `count___` and `2nd` is `_2nd`. Two columns giving the same field name are
refused (42701). The record's name and namespace are sanitised the same way (per dotted part).
`typmods` maps column names to PostgreSQL type modifiers (gateway.protocol.types
.typmod_for_duckdb_type, RowDescription's type_modifier) so numeric(p,s) keeps its precision.

`AvroEncoder(columns, schema, schema_id, exclude=...)` encodes rows into framed messages by any
record schema the output fits (the derived one, or a registered one when auto.register.schemas is
false): columns meet fields by name (exactly, else by their `avro_name`, else case-insensitively when
that is unambiguous), fields without a column get their default, field order is the schema's.
`check_fits` lists what stops the output from fitting (an empty list: it fits); building an encoder
for an output that does not fit raises 42804 with that list as the detail. What fits, per column:

| column type                      | Avro field types it can fill                                     |
|----------------------------------|------------------------------------------------------------------|
| smallint, integer, bigint, oid,  | int, long (range checked: 22003), float, double, decimal         |
| numeric                          | (numeric into int/long rounds half away from zero, like          |
|                                  | PostgreSQL's assignment cast)                                    |
| real, double precision           | float, double, decimal (float4 range checked: 22003)             |
| boolean                          | boolean                                                          |
| text-like, json(b), uuid,        | string (any logical type; uuid checks the text: 22P02), enum     |
| interval, timetz, bit, others    | (text-like only; unknown symbols are 22P02), bytes (the UTF-8)   |
| bytea                            | bytes, fixed (wrong length: 22026)                               |
| date                             | int date                                                         |
| time                             | long time-micros, int time-millis (truncated)                    |
| timestamp, timestamptz           | long timestamp-micros/millis, local-timestamp-micros/millis: a   |
|                                  | timestamp is taken as UTC, a timestamptz's local time is UTC's   |
| X[]                              | array whose items X fits                                         |

A union field is filled through its first branch the column fits; NULL goes to its "null" branch, and
is 22004 for a field without one. Unknown logical types are ignored (their physical type counts), as
the Avro specification says. Map and record fields cannot be filled from a column.

Values are the Python values DuckDB's fetchall() gives: int, float, Decimal, str, bytes, bool, date,
time, datetime (aware for timestamptz), timedelta, UUID, list, dict; json as str. A value that does not
fit raises a DataException subclass naming the column (22003 out of range, 22004 NULL into a
non-nullable field, 22021 a str with lone surrogates, 22026 wrong fixed length, 22P02 not a uuid or
an enum symbol, 22000 a value of an unexpected Python type); `encode_many` raises on the first such
row, so a sink with a skip/dlq error policy re-encodes that batch row by row with `encode`.

The binary encoding is written here, not by fastavro.schemaless_writer: one closure per field turns
a value into its bytes (zig-zag varints from two 16k-entry tables), and a row is the header plus the
join of its fields. fastavro parses and validates every schema, and the unit tests decode every
message independently with fastavro.schemaless_reader. Speed, one core of this 2-core machine, rows
from a DuckDB query (timestamptz in ZoneInfo('UTC') as the gateway's DuckDB gives them), batches of
10k rows through `encode_many`: a 6-column row (bigint, bigint, text, timestamptz, float8, bool)
2.9 us (~350k rows/s), where fastavro.schemaless_writer with a parsed schema and one reused BytesIO
takes 7.4 us (~135k rows/s) for the same bytes (each ["null", T] union costs it a validation pass);
plus a numeric(10,2), a date and a uuid column 5.8 us (~170k rows/s).

Sources
-------
`columns_for(schema)` gives a source's columns from a record schema's fields, (field name,
PostgreSQL type SQL) pairs that sources.decode.declared_column accepts:

| Avro type                                   | column type                                     |
|---------------------------------------------|-------------------------------------------------|
| boolean / int / long / float / double       | boolean / integer / bigint / real / double      |
|                                             | precision                                       |
| string / enum                               | text                                            |
| bytes / fixed                               | bytea                                           |
| decimal(p,s) (bytes or fixed)               | numeric(p,s); text when p > 38 (DuckDB's limit) |
| date                                        | date                                            |
| time-millis / time-micros                   | time                                            |
| timestamp-millis / timestamp-micros         | timestamptz                                     |
| local-timestamp-millis / -micros            | timestamp                                       |
| uuid (on string)                            | uuid                                            |
| array of a type above (nullable items too)  | that type[]                                     |
| record, map, nested array, union of several | jsonb (the value's JSON text; bytes as base64,  |
| non-null types                              | decimals with their digits, times in ISO-8601)  |
| ["null", T] / [T, "null"]                   | T's column                                      |
| null                                        | text (always NULL)                              |

A schema that is not a record gives one column `value`. `AvroDecoder(columns)` decodes each message
by its own writer schema (`decode(value, writer_schema)`: fastavro.schemaless_reader, logical types
become datetime (aware UTC for timestamp-*, naive for local-timestamp-*), Decimal, UUID, date and
time) and `to_row` maps the record onto the reader's columns by name: a field the message lacks is
NULL and fields the reader lacks are ignored, so messages written with older or newer schema versions
read side by side. Values are coerced to the column's type the way Avro schema resolution promotes
them (int -> long/float/double, string <-> bytes) plus rescaling decimals and converting timestamps
between local and UTC; anything else raises DataException (22000) naming the column (`decode_row`
adds the writer schema id as the detail). A message without the Confluent framing (too short, magic
byte not 0) or whose body is not valid Avro for its schema (or leaves bytes after the record) is
22P03. Decoding the 6-column message above: 5.5 us in fastavro.schemaless_reader plus 1.1 us mapping
it to a row (~150k rows/s). Parsed writer schemas are cached per schema id (re-parsed if the same id
comes with another schema).

Layout
------
This module is the facade: the names above are imported from here. The code lives in
formats.avro_schema (names, type mapping, schema derivation and parsing), formats.avro_writer (the
binary encoding, one writer per field), formats.avro_encoder (matching columns to fields,
`check_fits`, `AvroEncoder`) and formats.avro_reader (`schema_id_of`, `columns_for`, `AvroDecoder`).
"""

from __future__ import annotations

from formats.avro_encoder import AvroEncoder, check_fits
from formats.avro_reader import AvroDecoder, columns_for, schema_id_of
from formats.avro_schema import (
    DEFAULT_DECIMAL,
    HEADER_SIZE,
    MAGIC_BYTE,
    VALUE_COLUMN,
    avro_name,
    avro_schema_for,
    avro_type_for,
)
from formats.avro_writer import NullValueNotAllowed, StringDataLengthMismatch

__all__ = [
    "DEFAULT_DECIMAL",
    "HEADER_SIZE",
    "MAGIC_BYTE",
    "VALUE_COLUMN",
    "AvroDecoder",
    "AvroEncoder",
    "NullValueNotAllowed",
    "StringDataLengthMismatch",
    "avro_name",
    "avro_schema_for",
    "avro_type_for",
    "check_fits",
    "columns_for",
    "schema_id_of",
]
