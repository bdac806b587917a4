"""Wire codec for PostgreSQL arrays, independent of the element type.

Text form is array_out / array_in: '{1,2,NULL}', elements double-quoted when they are empty, spell
NULL, or contain braces, commas, quotes, backslashes or whitespace; multi-dimensional arrays nest
braces ('{{1,2},{3,4}}'); an optional '[lo:hi]=' dimension prefix is accepted on input. Binary form
is array_send / array_recv: int32 ndim, int32 has-nulls flag, int32 element OID, per dimension
int32 length and int32 lower bound (always 1 on output), then each element as int32 length (-1
for NULL) and its binary bytes. Python arrays are lists (tuples accepted on output); elements are
converted by the callables `gateway.protocol.types` passes in.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence
from typing import Final

from gateway.protocol.scalar_codec import (
    SQLSTATE_DATATYPE_MISMATCH,
    SQLSTATE_INVALID_BINARY,
    SQLSTATE_INVALID_TEXT,
    TypeCodecError,
)

SQLSTATE_ARRAY_SUBSCRIPT: Final = "2202E"
MAX_DIMENSIONS: Final = 6  # PostgreSQL's MAXDIM
_NEEDS_QUOTES: Final = frozenset(b'{},"\\ \t\n\r\v\f')
_ARRAY_SPACE: Final = b" \t\n\r\v\f"
_DIMENSIONS_PREFIX: Final = re.compile(rb"\s*(?:\[\s*[+-]?\d+\s*(?::\s*[+-]?\d+\s*)?\])+\s*=")
_HEADER: Final = struct.Struct(">iii")
_DIMENSION: Final = struct.Struct(">ii")
_LENGTH: Final = struct.Struct(">i")

ElementEncoder = Callable[[object], bytes]
ElementDecoder = Callable[[bytes], object]


def _as_sequence(value: object) -> Sequence[object]:
    if isinstance(value, list | tuple):
        return value
    raise TypeCodecError(
        f"cannot send {type(value).__name__} {value!r} as an array", SQLSTATE_DATATYPE_MISMATCH
    )


def _shape(values: Sequence[object], nested: bool) -> tuple[int, ...]:
    """Dimensions of a (possibly nested) list; sub-lists must be rectangular, as in PostgreSQL."""
    if not nested or not values or not any(isinstance(item, list | tuple) for item in values):
        return (len(values),)
    shapes = {_shape(item, nested) if isinstance(item, list | tuple) else None for item in values}
    if len(shapes) != 1 or None in shapes:
        raise TypeCodecError(
            "multidimensional arrays must have array expressions with matching dimensions",
            SQLSTATE_ARRAY_SUBSCRIPT,
        )
    (inner,) = shapes
    assert inner is not None
    shape = (len(values), *inner)
    if len(shape) > MAX_DIMENSIONS:
        raise TypeCodecError(f"number of array dimensions ({len(shape)}) exceeds the maximum allowed (6)")
    return shape


def _flatten(values: Sequence[object], depth: int) -> list[object]:
    if depth == 1:
        return list(values)
    return [leaf for item in values for leaf in _flatten(_as_sequence(item), depth - 1)]


def quote_element(text: bytes) -> bytes:
    """array_out's quoting of one element's text."""
    if text and text.upper() != b"NULL" and not _NEEDS_QUOTES.intersection(text):
        return text
    return b'"' + text.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def format_array_text(value: object, encode_element: ElementEncoder, nested: bool) -> bytes:
    """array_out. `nested` says whether sub-lists are dimensions (False: they are element values)."""
    values = _as_sequence(value)
    shape = _shape(values, nested)
    if 0 in shape:
        return b"{}"

    def level(items: Sequence[object], depth: int) -> bytes:
        if depth < len(shape):
            return b"{" + b",".join(level(_as_sequence(item), depth + 1) for item in items) + b"}"
        parts = (b"NULL" if item is None else quote_element(encode_element(item)) for item in items)
        return b"{" + b",".join(parts) + b"}"

    return level(values, 1)


def encode_array_binary(
    value: object, element_oid: int, encode_element: ElementEncoder, nested: bool
) -> bytes:
    """array_send with lower bound 1 in every dimension."""
    values = _as_sequence(value)
    shape = _shape(values, nested)
    if 0 in shape:
        return _HEADER.pack(0, 0, element_oid)
    leaves = _flatten(values, len(shape))
    has_nulls = any(item is None for item in leaves)
    parts = [_HEADER.pack(len(shape), int(has_nulls), element_oid)]
    parts.extend(_DIMENSION.pack(length, 1) for length in shape)
    for item in leaves:
        if item is None:
            parts.append(_LENGTH.pack(-1))
        else:
            encoded = encode_element(item)
            parts.append(_LENGTH.pack(len(encoded)))
            parts.append(encoded)
    return b"".join(parts)


# --- input --------------------------------------------------------------------------------------

_Parsed = list["bytes | _Parsed | None"]


class _ArrayTextParser:
    """Recursive-descent reader for array_in's syntax, producing nested lists of raw element text."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, detail: str) -> TypeCodecError:
        shown = self.data.decode("utf-8", "replace")
        return TypeCodecError(f'malformed array literal: "{shown}" ({detail})', SQLSTATE_INVALID_TEXT)

    def skip_space(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos] in _ARRAY_SPACE:
            self.pos += 1

    def peek(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("unexpected end of input")
        return self.data[self.pos]

    def parse(self) -> _Parsed:
        prefix = _DIMENSIONS_PREFIX.match(self.data)
        if prefix is not None:
            self.pos = prefix.end()
        self.skip_space()
        result = self.level()
        self.skip_space()
        if self.pos != len(self.data):
            raise self.fail("junk after closing right brace")
        return result

    def level(self) -> _Parsed:
        if self.peek() != ord("{"):
            raise self.fail('array value must start with "{" or dimension information')
        self.pos += 1
        items: _Parsed = []
        self.skip_space()
        if self.peek() == ord("}"):
            self.pos += 1
            return items
        while True:
            self.skip_space()
            char = self.peek()
            if char == ord("{"):
                items.append(self.level())
            elif char == ord('"'):
                items.append(self.quoted())
            else:
                items.append(self.unquoted())
            self.skip_space()
            char = self.peek()
            self.pos += 1
            if char == ord("}"):
                return items
            if char != ord(","):
                raise self.fail("unexpected character")

    def quoted(self) -> bytes:
        self.pos += 1
        out = bytearray()
        while True:
            char = self.peek()
            self.pos += 1
            if char == ord('"'):
                return bytes(out)
            if char == ord("\\"):
                char = self.peek()
                self.pos += 1
            out.append(char)

    def unquoted(self) -> bytes | None:
        out = bytearray()
        escaped = False
        keep = 0  # length of `out` that trailing-space trimming must not cut (escaped characters)
        while (char := self.peek()) not in (ord(","), ord("}")):
            if char in (ord("{"), ord('"')):
                raise self.fail("unexpected character")
            self.pos += 1
            if char == ord("\\"):
                out.append(self.peek())
                self.pos += 1
                escaped, keep = True, len(out)
            else:
                out.append(char)
        text = bytes(out[:keep]) + bytes(out[keep:]).rstrip(_ARRAY_SPACE)
        if not text and not escaped:
            raise self.fail("unexpected delimiter")
        return None if not escaped and text.upper() == b"NULL" else text


def _convert(items: _Parsed, decode_element: ElementDecoder) -> list[object]:
    return [
        None
        if item is None
        else _convert(item, decode_element)
        if isinstance(item, list)
        else decode_element(item)
        for item in items
    ]


def parse_array_text(data: bytes, decode_element: ElementDecoder) -> list[object]:
    """array_in: nested lists (one level per dimension), None for NULL elements."""
    return _convert(_ArrayTextParser(data).parse(), decode_element)


def decode_array_binary(data: bytes, element_oid: int, decode_element: ElementDecoder) -> list[object]:
    """array_recv: checks the element type, returns nested lists (one level per dimension)."""
    if len(data) < _HEADER.size:
        raise TypeCodecError("insufficient data left in array header", SQLSTATE_INVALID_BINARY)
    ndim, flags, sent_oid = _HEADER.unpack_from(data)
    if not 0 <= ndim <= MAX_DIMENSIONS:
        raise TypeCodecError(f"invalid number of dimensions: {ndim}", SQLSTATE_INVALID_BINARY)
    if flags not in (0, 1):
        raise TypeCodecError("invalid array flags", SQLSTATE_INVALID_BINARY)
    if sent_oid != element_oid:
        message = f"binary data has array element type {sent_oid} instead of expected {element_oid}"
        raise TypeCodecError(message, SQLSTATE_DATATYPE_MISMATCH)
    offset = _HEADER.size
    if len(data) < offset + ndim * _DIMENSION.size:
        raise TypeCodecError("insufficient data left in array dimensions", SQLSTATE_INVALID_BINARY)
    shape = [_DIMENSION.unpack_from(data, offset + i * _DIMENSION.size)[0] for i in range(ndim)]
    offset += ndim * _DIMENSION.size
    if ndim == 0 or 0 in shape:
        return []
    if any(length < 0 for length in shape):
        raise TypeCodecError("invalid array dimension length", SQLSTATE_INVALID_BINARY)
    leaves: list[object] = []
    count = 1
    for length in shape:
        count *= length
    for _ in range(count):
        if len(data) < offset + _LENGTH.size:
            raise TypeCodecError("insufficient data left in array element", SQLSTATE_INVALID_BINARY)
        (length,) = _LENGTH.unpack_from(data, offset)
        offset += _LENGTH.size
        if length == -1:
            leaves.append(None)
            continue
        if length < 0 or len(data) < offset + length:
            raise TypeCodecError("insufficient data left in array element", SQLSTATE_INVALID_BINARY)
        leaves.append(decode_element(data[offset : offset + length]))
        offset += length
    if offset != len(data):
        raise TypeCodecError("incorrect binary data format in array", SQLSTATE_INVALID_BINARY)
    for length in reversed(shape[1:]):
        leaves = [leaves[i : i + length] for i in range(0, len(leaves), length)]
    return leaves
