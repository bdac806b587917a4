"""What executing a statement produces: column descriptions, rows and a command tag.

Rows come from a :class:`RowSource`, which hands them out in chunks so that an Execute with a
row limit (pgjdbc's fetchSize, asyncpg cursors) can stop part-way and resume later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type_oid: int
    type_size: int = -1
    type_modifier: int = -1


class RowSource(Protocol):
    """Rows of one result, fetched on demand."""

    async def fetch(self, max_rows: int) -> list[Row]:
        """Up to max_rows rows (all remaining when max_rows is 0); empty when exhausted."""

    def close(self) -> None:
        """Release what the rows hold (a DuckDB cursor); idempotent."""


class ListRowSource:
    """Rows already in memory."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self._rows = list(rows)
        self._position = 0

    async def fetch(self, max_rows: int) -> list[Row]:
        end = len(self._rows) if max_rows <= 0 else self._position + max_rows
        chunk = self._rows[self._position : end]
        self._position += len(chunk)
        return chunk

    def close(self) -> None:
        self._rows = []
        self._position = 0


@dataclass(slots=True)
class Notice:
    message: str
    sqlstate: str = "00000"
    severity: str = "NOTICE"


@dataclass(slots=True)
class Result:
    """The outcome of one statement.

    ``columns`` is None for statements that return no rows (answered with NoData when described).
    ``tag`` is the CommandComplete tag; for row-returning commands it gets the row count appended.
    """

    tag: str
    columns: tuple[Column, ...] | None = None
    rows: RowSource | None = None
    notices: list[Notice] = field(default_factory=list)
    changed_parameters: list[tuple[str, str]] = field(default_factory=list)
    row_count: int | None = None  # rows written, for INSERT

    def command_tag(self, row_count: int) -> str:
        if self.tag == "SELECT":
            return f"SELECT {row_count}"
        if self.tag == "INSERT":
            return f"INSERT 0 {self.row_count or 0}"
        if self.tag == "FETCH":
            return f"FETCH {row_count}"
        return self.tag

    def notices_text(self, message: str) -> None:
        self.notices.append(Notice(message))
