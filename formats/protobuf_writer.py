"""Rows into Protobuf messages: the sink side of the `protobuf` format.

:class:`ProtobufEncoder` turns rows of one result shape into framed (or bare) serialized messages;
:func:`check_fits` lists the output columns that cannot fill the message at CREATE time. One converter
is planned per (column type, field) pair; the mapping they implement is tabled in
:mod:`formats.protobuf_format`'s docstring.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import orjson
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import EncodeError

from formats.protobuf_schema import (
    _DURATION,
    _EPOCH,
    _F,
    _INTEGER_BOUNDS,
    _TIMESTAMP,
    _WRAPPERS,
    Converter,
    MessageClass,
    _find_field,
    _is_map,
    frame_header,
)
from formats.rows import row_picker
from gateway.errors import (
    CharacterNotInRepertoire,
    DataException,
    InvalidDatetimeFormat,
    InvalidParameterValue,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
)
from gateway.protocol import types as pg
from gateway.protocol.datetime_codec import Interval


# --- errors --------------------------------------------------------------------------------------
class ProtobufMismatch(InvalidParameterValue):
    """Output columns that have no field, or whose type does not fit their field (22023)."""


class ProtobufValueError(DataException):
    """A value that does not fit its field (22000)."""


class NullValueNotAllowed(DataException):
    sqlstate = "22004"


# --- field facts (encoding) ----------------------------------------------------------------------
_SCALAR_NAMES: Final = {
    _F.TYPE_INT32: "int32",
    _F.TYPE_SINT32: "sint32",
    _F.TYPE_SFIXED32: "sfixed32",
    _F.TYPE_INT64: "int64",
    _F.TYPE_SINT64: "sint64",
    _F.TYPE_SFIXED64: "sfixed64",
    _F.TYPE_UINT32: "uint32",
    _F.TYPE_FIXED32: "fixed32",
    _F.TYPE_UINT64: "uint64",
    _F.TYPE_FIXED64: "fixed64",
    _F.TYPE_FLOAT: "float",
    _F.TYPE_DOUBLE: "double",
    _F.TYPE_BOOL: "bool",
    _F.TYPE_STRING: "string",
    _F.TYPE_BYTES: "bytes",
}
_FLOAT4_MAX: Final = 3.4028234663852886e38
_NAIVE_EPOCH: Final = dt.datetime(1970, 1, 1)
_SECONDS_PER_DAY: Final = 86_400
_MONTH_DAYS: Final = 30

_TEXT_OIDS: Final = frozenset({pg.TEXT, pg.VARCHAR, pg.BPCHAR, pg.NAME, pg.CHAR, pg.UNKNOWN})
_JSON_OIDS: Final = frozenset({pg.JSON, pg.JSONB})
_INTEGER_OIDS: Final = frozenset({pg.INT2, pg.INT4, pg.INT8, pg.OID})
_FLOAT_OIDS: Final = frozenset({pg.FLOAT4, pg.FLOAT8})
_NUMBER_OIDS: Final = _INTEGER_OIDS | _FLOAT_OIDS | {pg.NUMERIC}


def _type_name(field: Any, *, element: bool = False) -> str:
    """'int64', 'repeated string', 'map<string, int64>', 'com.example.Kind', 'google.protobuf.Timestamp'."""
    if _is_map(field) and not element:
        entry = field.message_type.fields_by_name
        return f"map<{_type_name(entry['key'])}, {_type_name(entry['value'])}>"
    if field.is_repeated and not element:
        return "repeated " + _type_name(field, element=True)
    if field.type == _F.TYPE_ENUM:
        return str(field.enum_type.full_name)
    if field.message_type is not None:
        return str(field.message_type.full_name)
    return _SCALAR_NAMES.get(field.type, "group")


def _oid_name(oid: int) -> str:
    pg_type = pg.TYPES_BY_OID.get(oid)
    if pg_type is None:
        return f"type {oid}"
    if pg_type.elem_oid:
        return _oid_name(pg_type.elem_oid) + "[]"
    return pg_type.name


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:60] + "..."


# --- encoding: one converter per (column type, field) ---------------------------------------------
class _Unfit(Exception):
    """A column type that cannot fill a field (a check_fits problem)."""


class _Where:
    """Names a column and its field in error messages."""

    __slots__ = ("column", "field", "message")

    def __init__(self, column: str, field: Any) -> None:
        self.column = column
        self.field = field
        self.message = field.containing_type.full_name

    def __str__(self) -> str:
        return f'column "{self.column}" (field "{self.field.name}" of {self.message})'

    def out_of_range(self, value: object, type_name: str | None = None) -> NumericValueOutOfRange:
        kind = type_name or _type_name(self.field, element=True)
        return NumericValueOutOfRange(f'{self}: value "{_shown(value)}" is out of range for {kind}')

    def mismatch(self, value: object, detail: str = "") -> ProtobufValueError:
        kind = _type_name(self.field, element=True)
        return ProtobufValueError(
            f"{self}: a value of type {type(value).__name__} does not fit {kind}"
            + (f": {detail}" if detail else "")
        )


def _integer_converter(oid: int, field: Any, where: _Where) -> Converter | None:
    if oid in _INTEGER_OIDS:
        return None  # the runtime checks the range (a ValueError, reported by _diagnose)
    low, high = _INTEGER_BOUNDS[field.type]

    def convert(value: Any) -> int:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise where.out_of_range(value)
            number = int(value.to_integral_value(ROUND_HALF_UP))
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise where.out_of_range(value)
            number = round(value)  # PostgreSQL's float-to-integer casts round half to even
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            raise where.mismatch(value)
        if not low <= number <= high:
            raise where.out_of_range(value)
        return number

    return convert


def _float_converter(oid: int, field: Any, where: _Where) -> Converter | None:
    single = field.type == _F.TYPE_FLOAT
    if oid in _INTEGER_OIDS or oid == pg.FLOAT4 or (oid == pg.FLOAT8 and not single):
        return None
    limit = _FLOAT4_MAX if single else math.inf

    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise where.mismatch(value)
        number = float(value)
        if math.isinf(number) and not _is_infinite(value):
            raise where.out_of_range(value)  # a numeric or double past the field's range
        if math.isfinite(number) and abs(number) > limit:
            raise where.out_of_range(value)
        return number

    return convert


def _is_infinite(value: int | float | Decimal) -> bool:
    if isinstance(value, Decimal):
        return value.is_infinite()
    return isinstance(value, float) and math.isinf(value)


def _as_text(value: Any) -> str:
    return value if type(value) is str else pg.render_text(value)


def _bytes_from_text(where: _Where) -> Converter:
    def convert(value: Any) -> bytes:
        try:
            return _as_text(value).encode()
        except UnicodeEncodeError as exc:
            raise CharacterNotInRepertoire(f"{where}: the text is not valid Unicode ({exc.reason})") from None

    return convert


def _enum_converter(oid: int, field: Any, where: _Where) -> Converter | None:
    enum = field.enum_type
    if oid in _INTEGER_OIDS:
        if not enum.is_closed:
            return None  # open (proto3) enums take any int32
        defined = frozenset(enum.values_by_number)

        def convert_number(value: Any) -> int:
            if value not in defined:
                raise InvalidTextRepresentation(
                    f"{where}: {value} is not a value of the closed enum {enum.full_name}",
                    hint="Its values are " + ", ".join(str(n) for n in sorted(defined)) + ".",
                )
            return int(value)

        return convert_number
    if oid not in _TEXT_OIDS:
        raise _Unfit
    exact = {name: value.number for name, value in enum.values_by_name.items()}
    folded: dict[str, int] = {}
    for name, number in exact.items():
        folded.setdefault(name.casefold(), number)

    def convert_name(value: Any) -> int:
        if isinstance(value, str):
            number = exact.get(value)
            if number is None:
                number = folded.get(value.strip().casefold())
            if number is not None:
                return number
        raise InvalidTextRepresentation(
            f'{where}: invalid input value for enum {enum.full_name}: "{_shown(value)}"',
            hint="Its names are " + ", ".join(exact) + ".",
        )

    return convert_name


def _seconds_nanos(moment: dt.datetime) -> dict[str, int]:
    delta = moment - (_EPOCH if moment.tzinfo is not None else _NAIVE_EPOCH)
    return {"seconds": delta.days * _SECONDS_PER_DAY + delta.seconds, "nanos": delta.microseconds * 1000}


def _json_message(where: _Where, message_cls: MessageClass) -> Converter:
    """JSON text (Protobuf's JSON mapping) into a message of ``message_cls``."""

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            raise where.mismatch(value)
        message = message_cls()
        try:
            json_format.Parse(value, message)
        except json_format.ParseError as exc:
            raise InvalidTextRepresentation(f"{where}: {exc}") from None
        return message

    return convert


def _timestamp_converter(oid: int, where: _Where, message_cls: MessageClass) -> Converter:
    if oid in (pg.TIMESTAMPTZ, pg.TIMESTAMP):

        def convert_moment(value: Any) -> dict[str, int]:
            if not isinstance(value, dt.datetime):
                raise where.mismatch(value)
            return _seconds_nanos(value)

        return convert_moment
    if oid == pg.DATE:

        def convert_date(value: Any) -> dict[str, int]:
            if not isinstance(value, dt.date):
                raise where.mismatch(value)
            return _seconds_nanos(dt.datetime.combine(value, dt.time(), dt.UTC))

        return convert_date
    if oid in _TEXT_OIDS:

        def convert_text(value: Any) -> dict[str, int]:
            if isinstance(value, dt.datetime):
                return _seconds_nanos(value)
            try:
                return _seconds_nanos(dt.datetime.fromisoformat(_as_text(value).strip()))
            except ValueError:
                raise InvalidDatetimeFormat(
                    f'{where}: invalid input syntax for a timestamp: "{_shown(value)}"',
                    hint="Use an ISO-8601 timestamp such as '2024-02-29T12:34:56Z'.",
                ) from None

        return convert_text
    if oid in _JSON_OIDS:
        return _json_message(where, message_cls)
    raise _Unfit


def _duration_converter(oid: int, where: _Where, message_cls: MessageClass) -> Converter:
    if oid == pg.INTERVAL:

        def convert(value: Any) -> dict[str, int]:
            if isinstance(value, Interval):
                micros = (value.months * _MONTH_DAYS + value.days) * _SECONDS_PER_DAY * 10**6
                value = dt.timedelta(microseconds=micros + value.microseconds)
            if not isinstance(value, dt.timedelta):
                raise where.mismatch(value)
            micros = (value.days * _SECONDS_PER_DAY + value.seconds) * 10**6 + value.microseconds
            seconds = int(micros / 10**6)  # toward zero: seconds and nanos share the sign
            return {"seconds": seconds, "nanos": (micros - seconds * 10**6) * 1000}

        return convert
    if oid in _JSON_OIDS:
        return _json_message(where, message_cls)
    raise _Unfit


def _jsonable(value: Any) -> Any:
    """A STRUCT/MAP value with only JSON types, for Struct/Value/ListValue fields."""
    return orjson.loads(orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return pg.render_text(value)


def _message_converter(oid: int, field: Any, where: _Where) -> Converter | None:
    message_type = field.message_type
    full_name = message_type.full_name
    message_cls = message_factory.GetMessageClass(message_type)
    if full_name == _TIMESTAMP:
        return _timestamp_converter(oid, where, message_cls)
    if full_name == _DURATION:
        return _duration_converter(oid, where, message_cls)
    if full_name in _WRAPPERS:
        if oid in _JSON_OIDS:
            return _json_message(where, message_cls)
        inner = _scalar_converter(oid, message_type.fields_by_name["value"], where)
        if inner is None:
            return lambda value: {"value": value}
        return lambda value: {"value": inner(value)}
    if oid not in _JSON_OIDS and oid not in _TEXT_OIDS:
        raise _Unfit
    from_json = _json_message(where, message_cls)
    generic = full_name.startswith("google.protobuf.")

    def convert(value: Any) -> Any:
        if isinstance(value, dict | list) and generic:  # Struct, Value, ListValue from a STRUCT/list
            message = message_cls()
            try:
                json_format.ParseDict(_jsonable(value), message)
            except json_format.ParseError as exc:
                raise InvalidTextRepresentation(f"{where}: {exc}") from None
            return message
        if isinstance(value, dict):  # a STRUCT: its keys are the field names
            try:
                return message_cls(**value)
            except (TypeError, ValueError, OverflowError) as exc:
                raise where.mismatch(value, str(exc)) from None
        return from_json(value)

    return convert


def _scalar_converter(oid: int, field: Any, where: _Where) -> Converter | None:
    """Turns one non-NULL value of a column of type ``oid`` into what a (single, not repeated) field
    takes; None when the runtime takes the value as it is. Raises _Unfit."""
    kind = field.type
    if kind in _INTEGER_BOUNDS:
        if oid not in _NUMBER_OIDS:
            raise _Unfit
        return _integer_converter(oid, field, where)
    if kind in (_F.TYPE_FLOAT, _F.TYPE_DOUBLE):
        if oid not in _NUMBER_OIDS:
            raise _Unfit
        return _float_converter(oid, field, where)
    if kind == _F.TYPE_BOOL:
        if oid != pg.BOOL:
            raise _Unfit
        return None
    if kind == _F.TYPE_STRING:
        return _as_text if oid in _TEXT_OIDS or oid in _JSON_OIDS else pg.render_text
    if kind == _F.TYPE_BYTES:
        if oid == pg.BYTEA:
            return None
        if oid in _TEXT_OIDS:
            return _bytes_from_text(where)
        raise _Unfit
    if kind == _F.TYPE_ENUM:
        return _enum_converter(oid, field, where)
    if field.message_type is not None and kind == _F.TYPE_MESSAGE:
        return _message_converter(oid, field, where)
    raise _Unfit  # groups


def _json_field(where: _Where, field: Any, container: Callable[[Any], Any]) -> Converter:
    """JSON text of a repeated or map field's value, parsed through a scratch parent message."""
    parent_cls = message_factory.GetMessageClass(field.containing_type)
    key = orjson.dumps(field.name).decode()

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            raise where.mismatch(value)
        parent = parent_cls()
        try:
            json_format.Parse("{" + key + ":" + value + "}", parent)
        except json_format.ParseError as exc:
            raise InvalidTextRepresentation(f"{where}: {exc}") from None
        return container(getattr(parent, field.name))

    return convert


def _field_converter(oid: int, field: Any, where: _Where) -> Converter | None:
    """The converter of a column of type ``oid`` into ``field`` (any label). Raises _Unfit."""
    element_oid = pg.TYPES_BY_OID[oid].elem_oid if oid in pg.TYPES_BY_OID else 0
    if _is_map(field):
        if oid in _JSON_OIDS or oid in _TEXT_OIDS:
            from_json = _json_field(where, field, dict)

            def convert_map(value: Any) -> Any:
                return value if isinstance(value, dict) else from_json(value)

            return convert_map
        raise _Unfit
    if field.is_repeated:
        if element_oid:
            element = _scalar_converter(element_oid, field, where)
            return _list_converter(element, where)
        if oid in _JSON_OIDS or oid in _TEXT_OIDS:
            from_json = _json_field(where, field, list)
            from_list: Converter | None = None
            if oid in _TEXT_OIDS:  # lists that DuckDB announces as text (inside a UNION, say)
                with contextlib.suppress(_Unfit):
                    from_list = _list_converter(_scalar_converter(pg.TEXT, field, where), where)

            def convert_list(value: Any) -> Any:
                if from_list is not None and isinstance(value, list | tuple):
                    return from_list(value)
                return from_json(value)

            return convert_list
        raise _Unfit
    if element_oid:
        raise _Unfit
    return _scalar_converter(oid, field, where)


def _list_converter(element: Converter | None, where: _Where) -> Converter:
    def convert(value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise where.mismatch(value)
        if None in value:
            raise NullValueNotAllowed(
                f"{where}: the array holds a NULL, which a repeated field cannot hold",
                hint="Drop NULL elements first, for example with list_filter(x, e -> e IS NOT NULL).",
            )
        return value if element is None else [element(item) for item in value]

    return convert


# --- column-to-field matching ---------------------------------------------------------------------
def _plan(
    columns: Sequence[tuple[str, int]], descriptor: Any, exclude: Collection[str]
) -> tuple[list[tuple[int, str, Any, Converter | None]], list[str]]:
    """(row index, column, field, converter) of each kept column, and the problems found."""
    plans: list[tuple[int, str, Any, Converter | None]] = []
    problems: list[str] = []
    filled: dict[str, str] = {}
    for index, (column, oid) in enumerate(columns):
        if column in exclude:
            continue
        field, candidates = _find_field(descriptor, column)
        if field is None:
            if candidates:
                names = ", ".join(f'"{f.name}"' for f in candidates)
                problems.append(
                    f'column "{column}" matches several fields of {descriptor.full_name}: {names}'
                )
            else:
                fields = ", ".join(f.name for f in descriptor.fields)
                problems.append(
                    f'column "{column}" has no field in message {descriptor.full_name} (fields: {fields})'
                )
            continue
        if field.name in filled:
            problems.append(f'columns "{filled[field.name]}" and "{column}" both fill field "{field.name}"')
            continue
        filled[field.name] = column
        try:
            convert = _field_converter(oid, field, _Where(column, field))
        except _Unfit:
            problems.append(
                f'column "{column}" of type {_oid_name(oid)} does not fit field "{field.name}" '
                f"({_type_name(field)}) of {descriptor.full_name}"
            )
            continue
        plans.append((index, column, field, convert))
    for field in descriptor.fields:
        if field.is_required and field.name not in filled:
            problems.append(f'required field "{field.name}" of {descriptor.full_name} has no column')
    return plans, problems


def check_fits(
    columns: Sequence[tuple[str, int]], descriptor: Descriptor, exclude: Collection[str] = ()
) -> list[str]:
    """What keeps the output columns (name, OID) from filling the message: columns without a field,
    column types that do not fit their field, proto2 required fields without a column. Empty when
    they fit; fields without a column are fine (they stay unset)."""
    return _plan(columns, descriptor, exclude)[1]


class ProtobufEncoder:
    """Encodes rows of one result shape as framed Protobuf messages (see the module docstring)."""

    __slots__ = (
        "_cls",
        "_converters",
        "_header",
        "_names",
        "_oneofs",
        "_pick",
        "_plans",
        "columns",
        "descriptor",
        "message_indexes",
        "schema_id",
    )

    def __init__(
        self,
        columns: Sequence[tuple[str, int]],
        message_cls: MessageClass,
        schema_id: int | None,
        message_indexes: Sequence[int] = (0,),
        *,
        exclude: Collection[str] = (),
    ) -> None:
        """``schema_id`` None writes bare messages, without the Confluent header."""
        self.descriptor = message_cls.DESCRIPTOR
        plans, problems = _plan(columns, self.descriptor, exclude)
        if problems:
            raise ProtobufMismatch(
                f"the output does not fit Protobuf message {self.descriptor.full_name}: "
                + "; ".join(problems),
                hint="Rename columns with AS to the message's field names and cast them to fitting types.",
            )
        self._cls = message_cls
        self._plans = tuple((column, field, convert) for _, column, field, convert in plans)
        self.columns: tuple[tuple[str, int], ...] = tuple(columns[index] for index, *_ in plans)
        self.schema_id = schema_id
        self.message_indexes = tuple(message_indexes)
        self._header = b"" if schema_id is None else frame_header(schema_id, self.message_indexes)
        self._names = tuple(field.name for _, field, _ in self._plans)
        self._converters = tuple(
            (position, field.name, convert)
            for position, (_, field, convert) in enumerate(self._plans)
            if convert is not None
        )
        indexes = [index for index, *_ in plans]
        self._pick = row_picker(indexes, len(columns))
        groups: dict[str, list[int]] = {}
        for position, (_, field, _) in enumerate(self._plans):
            if field.containing_oneof is not None:
                groups.setdefault(field.containing_oneof.full_name, []).append(position)
        self._oneofs = tuple(tuple(group) for group in groups.values() if len(group) > 1)

    def _build(self, row: Sequence[Any]) -> Any:
        values = row if self._pick is None else self._pick(row)
        fields = dict(zip(self._names, values))  # noqa: B905 - rows have the constructor's width
        for position, name, convert in self._converters:
            value = values[position]
            if value is not None:
                fields[name] = convert(value)
        for group in self._oneofs:
            present = [self._plans[p][0] for p in group if values[p] is not None]
            if len(present) > 1:
                oneof = self._plans[group[0]][1].containing_oneof.name
                raise ProtobufValueError(
                    f'columns "{present[0]}" and "{present[1]}" both set oneof "{oneof}" of '
                    f"{self.descriptor.full_name}",
                    hint="At most one column of a oneof may be non-NULL in a row.",
                )
        try:
            return self._cls(**fields)
        except (TypeError, ValueError, OverflowError) as exc:
            raise self._diagnose(values, exc) from None

    def _diagnose(self, values: Sequence[Any], exc: Exception) -> DataException:
        """The error naming the column whose value the runtime refused."""
        for (column, field, convert), value in zip(self._plans, values):  # noqa: B905
            if value is None:
                continue
            converted = value if convert is None else convert(value)
            try:
                self._cls(**{field.name: converted})
            except (TypeError, ValueError, OverflowError) as error:
                where = _Where(column, field)
                if isinstance(error, UnicodeError):
                    return CharacterNotInRepertoire(f"{where}: the text is not valid Unicode ({error})")
                if field.is_repeated and isinstance(converted, list | tuple) and None in converted:
                    return NullValueNotAllowed(
                        f"{where}: the array holds a NULL, which a repeated field cannot hold"
                    )
                if "out of range" in str(error):
                    return where.out_of_range(value)
                return where.mismatch(value, str(error))
        return ProtobufValueError(f"the row cannot be encoded as {self.descriptor.full_name}: {exc}")

    def _serialize(self, message: Any) -> bytes:
        try:
            data: bytes = message.SerializeToString()
        except EncodeError as exc:
            missing = [
                f.name for f in self.descriptor.fields if f.is_required and not message.HasField(f.name)
            ]
            if not missing:
                raise ProtobufValueError(
                    f"the row cannot be encoded as {self.descriptor.full_name}: {exc}"
                ) from None
            names = ", ".join(f'"{name}"' for name in missing)
            raise NullValueNotAllowed(
                f"the row leaves required field {names} of {self.descriptor.full_name} NULL"
            ) from None
        return self._header + data

    def encode(self, row: Sequence[Any]) -> bytes:
        """One row (one value per constructor column, excluded ones included)."""
        return self._serialize(self._build(row))

    def encode_many(self, rows: Iterable[Sequence[Any]]) -> list[bytes]:
        """Rows in order; raises on the first row that does not fit."""
        if self._converters or self._pick is not None or self._oneofs:
            build, serialize = self._build, self._serialize
            return [serialize(build(row)) for row in rows]
        if not isinstance(rows, list | tuple):
            rows = list(rows)  # read again by the fallback below
        cls, names, header = self._cls, self._names, self._header
        try:
            return [header + cls(**dict(zip(names, row))).SerializeToString() for row in rows]  # noqa: B905
        except (TypeError, ValueError, OverflowError, EncodeError):
            return [self.encode(row) for row in rows]
