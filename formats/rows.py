"""What every value encoder does with a row before writing it: pick the columns it writes.

A sink's rows carry routing columns (topic, partition, headers, key) that never reach the value;
:func:`kept_columns` names the columns an encoder writes (refusing two of one name: a JSON key, an
Avro field or a Protobuf field would be written twice) and :func:`row_picker` returns the fastest
way to take them out of a row (None when the row is used as it is).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from operator import itemgetter

from gateway.errors import DuplicateColumn

Picker = Callable[[Sequence[object]], Sequence[object]]


def kept_columns(
    columns: Sequence[tuple[str, int]], exclude: Collection[str], *, what: str
) -> list[tuple[int, str, int]]:
    """(position, name, OID) of the columns not excluded; 42701 if a name is kept twice (``what``
    says where names must be unique, e.g. "JSON keys")."""
    kept = [(index, name, oid) for index, (name, oid) in enumerate(columns) if name not in exclude]
    seen: set[str] = set()
    for _, name, _ in kept:
        if name in seen:
            raise DuplicateColumn(
                f'column "{name}" specified more than once',
                hint=f"{what} must be unique: give the columns distinct names with AS.",
            )
        seen.add(name)
    return kept


def row_picker(indexes: Sequence[int], width: int, *, checked: bool = False) -> Picker | None:
    """A function taking the values at ``indexes`` out of a row of ``width`` values, or None when
    that is the whole row in order; ``checked`` always picks, so a short row raises IndexError."""
    if not checked and list(indexes) == list(range(width)):
        return None
    if len(indexes) == 1:
        only = indexes[0]
        return lambda row: (row[only],)
    if indexes:
        return itemgetter(*indexes)
    return lambda row: ()
