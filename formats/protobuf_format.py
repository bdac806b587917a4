"""The `protobuf` format: rows as Protobuf messages in the Confluent wire format, and back.

Schemas. :func:`compile_proto` turns .proto text, as a Confluent Schema Registry stores it (plus the
texts of the files it imports, by import path), into a ``FileDescriptorSet`` by running protoc in
process (grpcio-tools' bundled compiler, whose well-known types make ``import
"google/protobuf/timestamp.proto"`` work without a reference). :func:`load_descriptor_set` reads the
file named by ``'protobuf.descriptor_file'`` (``protoc --include_imports -o FILE``). From a set,
:func:`message_class` builds the dynamic message class of ``'protobuf.message'`` in a fresh
DescriptorPool and gives its message indexes; :func:`message_class_at` finds the message a record's
indexes name. Bad schema text or an unreadable set is :class:`ProtobufSchemaError` (22023) carrying
protoc's messages (``schema.proto:3:25: Expected ";".``); a message the set lacks is 42704.

Framing (Confluent's wire format for Protobuf, docs.confluent.io/platform/current/schema-registry/
fundamentals/serdes-develop/index.html#wire-format): byte 0 is the magic byte 0; bytes 1-4 the schema
id, big-endian; then the message indexes, the path from the schema file's top level to the message
(``[1]`` the second top-level message, ``[0, 2]`` the third message nested in the first), written as
zig-zag varints: their count, then each index; ``[0]``, by far the commonest, is written as the single
byte 0 (a count of zero). The serialized message follows. :func:`frame_header` writes it,
:func:`read_frame` reads it (22P03 for a bad magic byte or truncated header). An encoder or decoder
built without a schema id reads and writes bare messages (a descriptor file without a registry).

Sinks: :class:`ProtobufEncoder` is built once per statement from the output columns, (name,
PostgreSQL OID) pairs like :class:`formats.json_format.JsonEncoder`, less the routing columns in
``exclude``. Each column goes to the field of the same name (else the field whose JSON name matches,
else a case-insensitive match: PostgreSQL folds ``userId`` to ``userid``). NULL leaves the field
unset (proto3's default, or absent for fields with presence: optional, messages, wrappers, oneof
members). What each field takes (:func:`check_fits` lists the columns that do not fit at CREATE time;
the constructor raises :class:`ProtobufMismatch`, 22023, for them):

=============================  ====================================================================
field                          columns (values as DuckDB's fetchall() gives them)
=============================  ====================================================================
int32/sint32/sfixed32, int64,  smallint/integer/bigint; numeric and real/double rounded as
uint32/fixed32, uint64, ...    PostgreSQL casts them (numeric half away from zero, floats half to
                               even); out of the field's range is 22003
float / double                 any number; past float's range is 22003 (NaN and infinities pass)
bool                           boolean
string                         any type: text as is, other values as their PostgreSQL text form
bytes                          bytea; text as its UTF-8 bytes
enum                           text: the value's name (exact, else case-insensitively; unknown names
                               22P02); integers: the number (closed proto2 enums: defined ones only)
google.protobuf.Timestamp      timestamptz, timestamp (as UTC), date (its midnight UTC), text
                               (ISO-8601, UTC without an offset), json (RFC 3339 string)
google.protobuf.Duration       interval (a month counts 30 days, as DuckDB's timedelta does)
google.protobuf.*Value         what the wrapped field takes; NULL leaves the wrapper unset
other messages, Struct         json/jsonb or text holding a JSON object (Protobuf's JSON mapping:
                               names or JSON names, int64 as numbers or strings, enums by name);
                               STRUCT values (dicts, announced as text) with the field names as keys
repeated X                     an array whose elements fit X (a NULL element is 22004); json/jsonb or
                               text holding a JSON array
map<K, V>                      json/jsonb or text holding a JSON object; MAP values (dicts)
=============================  ====================================================================

Two non-NULL columns for members of one oneof are 22000 (one would silently replace the other); a
NULL for a proto2 ``required`` field is 22004. A value that does not fit its field at run time (a
string in a bigint column, an integer past the field's range) raises a :class:`DataException`
subclass naming the column and the field; ``encode_many`` raises on the first such row, so a sink with
a skip/dlq policy re-encodes that batch row by row with ``encode``.

Sources: :func:`columns_for` derives columns (name, PostgreSQL type) from a message's fields and
:class:`ProtobufDecoder` turns framed record values into those columns' values (a ``RecordDecoder``
like :mod:`sources.decode`'s). Columns are the fields in declaration order, named as in the .proto:

=============================  ==========================  =========================================
field                          column type                 value
=============================  ==========================  =========================================
int32, sint32, sfixed32        integer                     int
int64, sint64, sfixed64        bigint                      int
uint32, fixed32                bigint                      int
uint64, fixed64                numeric                     Decimal
float / double                 real / double precision     float
bool / string / bytes          boolean / text / bytea      bool / str / bytes
enum                           text                        the value's name (its number if unnamed)
google.protobuf.Timestamp      timestamptz                 aware datetime in UTC (nanos truncated to
                                                           microseconds; past year 9999 is 22008)
google.protobuf.Duration       interval                    timedelta
google.protobuf.*Value         the wrapped type            the value; NULL when unset
other messages                 jsonb                       JSON text: fields by their .proto names,
                                                           enums by name, bytes base64, int64 as
                                                           numbers, Timestamp/Duration/Struct as
                                                           Protobuf's JSON mapping writes them,
                                                           unset optional fields left out, map
                                                           keys sorted
repeated scalar/enum/Timestamp the array type (text[],...) a list
repeated message, map          jsonb                       a JSON array / a JSON object
=============================  ==========================  =========================================

Fields with presence (``optional``, messages, wrappers, oneof members) read as NULL when unset;
proto3 scalars without presence read as their default (0, '', false, the enum's first name). The
message is parsed with the reader's (configured) message whatever schema id the record carries:
Protobuf matches fields by number, so fields a newer writer added are skipped and fields it dropped
read as defaults. Bad bytes are 22P03. A record without a value (a tombstone) is a row of NULLs.

Speed (bench/formats.py, ``KafkaSink.encode`` in chunks of 1,000 rows, one core of this 2-core machine,
upb runtime): the 6-field message (int64, int64, string, Timestamp, double, bool) takes about 3.0 us per
row (~330k rows/s), where JsonEncoder.encode_many takes about 1.4 us for the same rows. Each row is one
constructor call plus one converter call per column whose values need one (text into string fields,
timestamps, enums by name); rows whose columns need no conversion go through one comprehension.
Datetimes become seconds/nanos here, as the runtime's own datetime conversion costs ~3 us.

Layout: this module is the facade other code imports from. :mod:`formats.protobuf_schema` holds
compilation, descriptor sets, message classes and indexes and the framing; :mod:`formats.protobuf_writer`
the encoder (field converters, :func:`check_fits`, :class:`ProtobufEncoder`);
:mod:`formats.protobuf_reader` the decoder (:func:`columns_for`, field readers, :class:`ProtobufDecoder`).
"""

from __future__ import annotations

from formats.protobuf_reader import DatetimeFieldOverflow, ProtobufDecoder, columns_for
from formats.protobuf_schema import (
    ProtobufSchemaError,
    UndefinedFile,
    compile_proto,
    frame_header,
    load_descriptor_set,
    message_class,
    message_class_at,
    message_indexes,
    read_frame,
)
from formats.protobuf_writer import (
    NullValueNotAllowed,
    ProtobufEncoder,
    ProtobufMismatch,
    ProtobufValueError,
    check_fits,
)

__all__ = [
    "DatetimeFieldOverflow",
    "NullValueNotAllowed",
    "ProtobufDecoder",
    "ProtobufEncoder",
    "ProtobufMismatch",
    "ProtobufSchemaError",
    "ProtobufValueError",
    "UndefinedFile",
    "check_fits",
    "columns_for",
    "compile_proto",
    "frame_header",
    "load_descriptor_set",
    "message_class",
    "message_class_at",
    "message_indexes",
    "read_frame",
]
