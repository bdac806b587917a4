"""Wire codecs for json and jsonb.

json keeps its text verbatim in both directions (input is validated as PostgreSQL does: no NaN or
Infinity tokens). jsonb output is what jsonb_out prints: object keys deduplicated (the last wins)
and ordered by length then bytes, ', ' and ': ' separators, numbers in numeric's notation, strings
escaped like escape_json. Its binary form is a version byte 1 followed by that text. Python dicts
and lists are accepted too: compact orjson for json, the canonical jsonb text for jsonb.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Final

import orjson

from gateway.protocol.scalar_codec import (
    SQLSTATE_INVALID_BINARY,
    TypeCodecError,
    as_decimal,
    decode_utf8,
    encode_bytea_text,
    format_numeric,
)


def _reject_constant(name: str) -> object:
    raise ValueError(f"Token {name!r} is invalid")


def _parse_json(text: str) -> object:
    try:
        return json.loads(
            text, parse_float=Decimal, parse_int=int, parse_constant=_reject_constant, object_pairs_hook=dict
        )
    except (ValueError, RecursionError) as exc:
        raise TypeCodecError(f"invalid input syntax for type json: {exc}") from None


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, bytes | bytearray | memoryview):
        return encode_bytea_text(value).decode()
    return str(value)


def dump_json(value: object) -> str:
    """Compact JSON for Python structures sent as json (orjson; non-string keys become strings)."""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


_JSON_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _jsonb_string(text: str) -> str:
    """escape_json: the short escapes, \\u00xx (lowercase hex) for other control characters."""
    parts = ['"']
    for char in text:
        escaped = _JSON_ESCAPES.get(char)
        if escaped is not None:
            parts.append(escaped)
        elif char < " ":
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(char)
    parts.append('"')
    return "".join(parts)


def _jsonb_render(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _jsonb_string(value)
    if isinstance(value, int | float | Decimal):
        number = as_decimal(value)
        if not number.is_finite():
            raise TypeCodecError(f"{value!r} cannot be represented in jsonb")
        return format_numeric(number)
    if isinstance(value, dict):
        items = {str(key): item for key, item in value.items()}
        # jsonb orders object keys by byte length, then bytewise.
        ordered = sorted(items, key=lambda key: (len(key.encode()), key.encode()))
        return "{" + ", ".join(f"{_jsonb_string(key)}: {_jsonb_render(items[key])}" for key in ordered) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_jsonb_render(item) for item in value) + "]"
    return _jsonb_string(str(_json_default(value)))


def jsonb_canonical(value: object) -> str:
    """The text jsonb_out prints: keys sorted and deduplicated (last wins), ', ' and ': ' separators,
    numbers as numeric. A str is taken to be JSON text; anything else is a Python JSON structure."""
    return _jsonb_render(_parse_json(value) if isinstance(value, str) else value)


def encode_json_text(value: object) -> bytes:
    """json keeps its text verbatim; Python structures are serialized compactly."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return dump_json(value).encode()


def decode_json_text(data: bytes) -> str:
    text = decode_utf8(data)
    _parse_json(text)
    return text


def encode_jsonb_text(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        value = decode_utf8(bytes(value))
    return jsonb_canonical(value).encode()


def encode_jsonb_binary(value: object) -> bytes:
    return b"\x01" + encode_jsonb_text(value)


def decode_jsonb_binary(data: bytes) -> str:
    if data[:1] != b"\x01":
        raise TypeCodecError(f"unsupported jsonb version number {data[:1]!r}", SQLSTATE_INVALID_BINARY)
    return decode_json_text(data[1:])
