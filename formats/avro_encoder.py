"""Rows -> Confluent-framed Avro messages for the `avro` format's sinks (`AvroEncoder`, `check_fits`).

Matches the output columns to a record schema's fields (by name, by `avro_name`, then
case-insensitively when unambiguous; fields without a column get their default) into a plan of
per-field writers from formats.avro_writer. `check_fits` lists what stops an output from fitting a
schema; `AvroEncoder` refuses such an output (42804) and otherwise writes each row as the 5-byte
header plus the join of its fields, naming the failing column when a value does not fit. The
overview (type tables, speed figures) is formats.avro_format's docstring.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import InvalidOperation
from operator import call
from typing import Any

from formats.avro_schema import MAGIC_BYTE, _kept, _parse, _Schema, _shown, _type_name, avro_name
from formats.avro_writer import _default_bytes, _Field, _Writers
from formats.rows import row_picker
from gateway.errors import (
    CharacterNotInRepertoire,
    DataException,
    DatatypeMismatch,
    InvalidParameterValue,
    LaminarError,
    NumericValueOutOfRange,
)


# --- matching columns and fields ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Plan:
    """How an output fills a schema: per field (in schema order) a column index or a default."""

    fields: list[tuple[int | None, _Field]]  # (column index, writer) or (None, constant writer)
    problems: list[str]


def _constant(data: bytes) -> _Field:
    def write(value: object) -> bytes:
        del value
        return data

    return write


def _plan(columns: Sequence[tuple[str, int]], schema: _Schema, exclude: Collection[str]) -> _Plan:
    kept = _kept(columns, exclude)
    writers = _Writers(schema)
    root = schema.resolve(schema.parsed)
    problems: list[str] = []
    if not (isinstance(root, dict) and root.get("type") in ("record", "error")):
        return _plan_single(kept, schema, writers, root)
    fields: list[dict[str, Any]] = list(root["fields"])
    by_name = {field["name"]: field for field in fields}
    folded: dict[str, list[str]] = {}
    for field in fields:
        folded.setdefault(field["name"].casefold(), []).append(field["name"])
    chosen: dict[str, tuple[int, str, int]] = {}  # field name -> (column index, column, oid)
    for index, column, oid in kept:
        name = column if column in by_name else avro_name(column)
        if name not in by_name and len(folded.get(column.casefold(), ())) == 1:
            name = folded[column.casefold()][0]
        if name not in by_name:
            problems.append(f"column {column} has no field in the schema")
        elif name in chosen:
            problems.append(f"columns {chosen[name][1]} and {column} both match field {name}")
        else:
            chosen[name] = (index, column, oid)
    plan: list[tuple[int | None, _Field]] = []
    for field in fields:
        name = field["name"]
        if name in chosen:
            index, column, oid = chosen[name]
            write = writers.field(column, oid, field["type"])
            if write is None:
                problems.append(
                    f"column {column} is {_type_name(oid)}, field {name} is {schema.describe(field['type'])}"
                )
            else:
                plan.append((index, write))
        elif "default" not in field:
            problems.append(f"field {name} has no default and the output has no column {name}")
        else:
            try:
                plan.append((None, _constant(_default_bytes(schema, field["type"], field["default"]))))
            except (TypeError, ValueError, KeyError, OverflowError, struct.error, UnicodeEncodeError):
                problems.append(
                    f"field {name} has a default Laminar cannot write and the output has no column {name}"
                )
    return _Plan(plan, problems)


def _plan_single(kept: list[tuple[int, str, int]], schema: _Schema, writers: _Writers, root: Any) -> _Plan:
    """A schema that is not a record (a key's "string", "long", ...): exactly one column fills it."""
    if len(kept) != 1:
        names = ", ".join(column for _, column, _ in kept) or "none"
        return _Plan(
            [], [f"the schema is {schema.describe(root)}, which takes one column, not {len(kept)} ({names})"]
        )
    index, column, oid = kept[0]
    write = writers.field(column, oid, root)
    if write is None:
        return _Plan([], [f"column {column} is {_type_name(oid)}, the schema is {schema.describe(root)}"])
    return _Plan([(index, write)], [])


def check_fits(
    columns: Sequence[tuple[str, int]],
    schema: Mapping[str, Any] | str | list[Any],
    *,
    exclude: Collection[str] = (),
) -> list[str]:
    """What stops the output columns from filling `schema` (for auto.register.schemas = false), one
    human-readable line each; an empty list when they fit. Duplicate column names raise 42701."""
    try:
        parsed = _parse(schema)
    except InvalidParameterValue as exc:
        return [f"the schema is not valid Avro: {exc.message.removeprefix('invalid Avro schema: ')}"]
    return _plan(columns, parsed, exclude).problems


# --- encoder -------------------------------------------------------------------------------------
def _exception_state(column: str, value: object, exc: Exception) -> DataException:
    if isinstance(exc, OverflowError | struct.error | InvalidOperation):
        return NumericValueOutOfRange(
            f'column "{column}": value {_shown(value)} is out of range for its Avro field'
        )
    if isinstance(exc, UnicodeEncodeError):
        return CharacterNotInRepertoire(
            f'column "{column}": the text cannot be encoded as UTF-8 '
            f"(character {exc.start} is a lone surrogate)"
        )
    return DataException(
        f'column "{column}": a value of Python type {type(value).__name__} ({_shown(value)}) '
        f"cannot be written to its Avro field ({exc})"
    )


class AvroEncoder:
    """Encodes rows of one result shape as Confluent-framed Avro messages (see formats.avro_format)."""

    __slots__ = ("_columns", "_header", "_pick", "_plan", "_writers", "schema", "schema_id")

    def __init__(
        self,
        columns: Sequence[tuple[str, int]],
        schema: Mapping[str, Any] | str | list[Any],
        schema_id: int,
        *,
        exclude: Collection[str] = (),
    ) -> None:
        if not 0 <= schema_id < 2**32:
            raise InvalidParameterValue(
                f"schema id {schema_id} does not fit the 4 bytes of the Confluent framing"
            )
        self.schema = schema
        self.schema_id = schema_id
        self._header = bytes((MAGIC_BYTE,)) + schema_id.to_bytes(4, "big")
        self._columns = tuple(name for name, _ in columns)
        plan = _plan(columns, _parse(schema), exclude)
        if plan.problems:
            raise DatatypeMismatch(
                "the output columns do not fit the Avro schema: " + "; ".join(plan.problems),
                detail="\n".join(plan.problems),
                hint="Rename or cast the columns in the SELECT list, or let the sink register its own "
                "schema ('auto.register.schemas' = 'true').",
            )
        self._plan = plan.fields
        self._writers = tuple(write for _, write in plan.fields)
        indexes = [0 if index is None else index for index, _ in plan.fields]
        self._pick: Callable[[Sequence[object]], Sequence[object]]
        if not columns:
            width = len(indexes)
            self._pick = lambda row: (None,) * width
        else:
            picker = row_picker(indexes, len(columns), checked=True)
            assert picker is not None
            self._pick = picker

    def encode(self, row: Sequence[object]) -> bytes:
        """One row (one value per constructor column, excluded ones included) as one message."""
        try:
            return self._header + b"".join(map(call, self._writers, self._pick(row)))
        except LaminarError:
            raise
        except Exception as exc:
            raise self._diagnose(row, exc) from None

    def encode_many(self, rows: Iterable[Sequence[object]]) -> list[bytes]:
        """Rows in order; raises on the first row that cannot be written (named like `encode`)."""
        if not isinstance(rows, list | tuple):
            rows = list(rows)  # the fallback below reads them again
        header, join, writers, pick = self._header, b"".join, self._writers, self._pick
        try:
            return [header + join(map(call, writers, pick(row))) for row in rows]
        except Exception:
            return [self.encode(row) for row in rows]

    def _diagnose(self, row: Sequence[object], exc: Exception) -> LaminarError:
        """The failing field of a row, as a DataException naming its column."""
        for index, write in self._plan:
            if index is None:
                continue
            if index >= len(row):
                return DataException(
                    f"the row has {len(row)} values, the output has {len(self._columns)} columns"
                )
            try:
                write(row[index])
            except LaminarError as error:
                return error
            except Exception as error:
                return _exception_state(self._columns[index], row[index], error)
        return DataException(f"the row cannot be written as Avro: {exc}")
