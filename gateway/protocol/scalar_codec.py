"""Wire codecs for PostgreSQL's non-temporal scalar types: bool, integers, floats, numeric, text,
bytea, uuid, "char" and bit strings (json/jsonb live in `json_codec`).

Every function is pure: Python value in, bytes out (or the reverse). Text output is byte-identical
to what PostgreSQL 16 prints with its default settings (extra_float_digits=1, bytea_output=hex);
binary output is exactly what the type's `*send` function produces. Decoders accept what the
type's input/`*recv` function accepts and raise `TypeCodecError`, which carries the SQLSTATE the
server reports for the same mistake. `gateway.protocol.types` dispatches to these by OID.
"""

from __future__ import annotations

import decimal
import math
import struct
import uuid
from decimal import Decimal
from fractions import Fraction
from typing import Final

SQLSTATE_INVALID_TEXT: Final = "22P02"
SQLSTATE_INVALID_BINARY: Final = "22P03"
SQLSTATE_OUT_OF_RANGE: Final = "22003"
SQLSTATE_BAD_ENCODING: Final = "22021"
SQLSTATE_DATATYPE_MISMATCH: Final = "42804"
SQLSTATE_INVALID_PARAMETER: Final = "22023"


class TypeCodecError(ValueError):
    """A value could not be converted to or from its wire form; `sqlstate` says why, PostgreSQL-style."""

    def __init__(self, message: str, sqlstate: str = SQLSTATE_INVALID_TEXT) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def ascii_text(data: bytes, type_name: str) -> str:
    """Decode an input literal that must be ASCII (numbers, dates, ...)."""
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise TypeCodecError(f'invalid input syntax for type {type_name}: "{data!r}"') from None


def _syntax(type_name: str, text: str | bytes) -> TypeCodecError:
    shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return TypeCodecError(f'invalid input syntax for type {type_name}: "{shown}"')


def _mismatch(value: object, type_name: str) -> TypeCodecError:
    return TypeCodecError(
        f"cannot send {type(value).__name__} {value!r} as {type_name}", SQLSTATE_DATATYPE_MISMATCH
    )


def _expect_length(data: bytes, size: int, type_name: str) -> None:
    if len(data) != size:
        raise TypeCodecError(
            f"incorrect binary data format for {type_name}: expected {size} bytes, got {len(data)}",
            SQLSTATE_INVALID_BINARY,
        )


# --- text types ---------------------------------------------------------------------------------


def decode_utf8(data: bytes) -> str:
    """Text-like input (text, varchar, name, json, ...), which must be valid UTF-8 (server encoding)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TypeCodecError(
            f"invalid byte sequence for encoding UTF8: {exc}", SQLSTATE_BAD_ENCODING
        ) from None


# --- bool ---------------------------------------------------------------------------------------

_BOOL_WORDS: Final = (("true", True), ("false", False), ("yes", True), ("no", False))


def encode_bool_text(value: object) -> bytes:
    return b"t" if value else b"f"


def decode_bool_text(data: bytes) -> bool:
    """boolin: any unique prefix of true/false/yes/no, on/off, 1/0, case-insensitive, trimmed."""
    text = ascii_text(data, "boolean").strip().lower()
    if text in ("on", "1"):
        return True
    if text in ("of", "off", "0"):
        return False
    if text:
        for word, result in _BOOL_WORDS:
            if word.startswith(text):
                return result
    raise _syntax("boolean", text)


def encode_bool_binary(value: object) -> bytes:
    return b"\x01" if value else b"\x00"


def decode_bool_binary(data: bytes) -> bool:
    _expect_length(data, 1, "boolean")
    return data != b"\x00"


# --- integers and oid ---------------------------------------------------------------------------

INT_FORMATS: Final = {2: struct.Struct(">h"), 4: struct.Struct(">i"), 8: struct.Struct(">q")}
_UINT32: Final = struct.Struct(">I")


def as_int(value: object) -> int:
    """An int from whatever DuckDB handed us for an integer column (int, integral Decimal/float, str)."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Decimal | float) and math.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, str):
        return decode_int_text(value.encode(), 8)
    raise _mismatch(value, "an integer")


def encode_int_text(value: object) -> bytes:
    return str(as_int(value)).encode()


def decode_int_text(data: bytes, size: int) -> int:
    """int2in/int4in/int8in: optional sign, digits (PG 16: also underscores and 0x/0o/0b), trimmed,
    range-checked."""
    name = f"int{size}" if size != 8 else "bigint"
    text = ascii_text(data, name)
    stripped = text.strip()
    # PostgreSQL 16 also reads 0x / 0o / 0b prefixed literals; base 0 would refuse '012'.
    base = 0 if stripped.lstrip("+-")[:2].lower() in ("0x", "0o", "0b") else 10
    try:
        result = int(stripped, base)
    except ValueError:
        raise _syntax("integer" if size == 4 else name, text) from None
    limit = 1 << (size * 8 - 1)
    if not -limit <= result < limit:
        raise TypeCodecError(f'value "{text}" is out of range for type {name}', SQLSTATE_OUT_OF_RANGE)
    return result


def encode_int_binary(value: object, size: int) -> bytes:
    try:
        return INT_FORMATS[size].pack(as_int(value))
    except struct.error:
        raise TypeCodecError(f"integer {value!r} out of range for int{size}", SQLSTATE_OUT_OF_RANGE) from None


def decode_int_binary(data: bytes, size: int) -> int:
    _expect_length(data, size, f"int{size}")
    result: int = INT_FORMATS[size].unpack(data)[0]
    return result


def decode_oid_text(data: bytes) -> int:
    """oidin accepts -2147483648..4294967295; negative values wrap around like C's unsigned cast."""
    text = ascii_text(data, "oid")
    try:
        result = int(text.strip(), 10)
    except ValueError:
        raise _syntax("oid", text) from None
    if not -(1 << 31) <= result < (1 << 32):
        raise TypeCodecError(f'value "{text}" is out of range for type oid', SQLSTATE_OUT_OF_RANGE)
    return result & 0xFFFFFFFF


def encode_oid_binary(value: object) -> bytes:
    try:
        return _UINT32.pack(as_int(value))
    except struct.error:
        raise TypeCodecError(f"oid {value!r} out of range", SQLSTATE_OUT_OF_RANGE) from None


def decode_oid_binary(data: bytes) -> int:
    _expect_length(data, 4, "oid")
    result: int = _UINT32.unpack(data)[0]
    return result


# --- floats -------------------------------------------------------------------------------------

_FLOAT4: Final = struct.Struct(">f")
_FLOAT8: Final = struct.Struct(">d")
_FLOAT4_OVERFLOW: Final = 3.4028235677973366e38  # smallest double that float32 rounding makes infinite


def as_float(value: object) -> float:
    if isinstance(value, float | int | Decimal):
        return float(value)
    if isinstance(value, str):
        return decode_float_text(value.encode(), single=False)
    raise _mismatch(value, "a float")


def _round_to_float4(value: float) -> float:
    try:
        result: float = _FLOAT4.unpack(_FLOAT4.pack(value))[0]
    except OverflowError:
        raise TypeCodecError(f'"{value!r}" is out of range for type real', SQLSTATE_OUT_OF_RANGE) from None
    return result


def _open_interval(value: float, single: bool) -> tuple[Fraction, Fraction]:
    """The decimals strictly between these bounds (midpoints to the neighbouring floats) read back as
    `value`. PostgreSQL's Ryu never prints a decimal lying exactly on a bound (acceptBounds = false),
    even where round-half-even reading would give `value`: 1e23 prints as 9.999999999999999e+22."""
    if single:
        bits = _UINT32.unpack(_FLOAT4.pack(value))[0]
        below = _FLOAT4.unpack(_UINT32.pack(bits - 1))[0] if bits else 0.0
        above = _FLOAT4.unpack(_UINT32.pack(bits + 1))[0]
    else:
        below, above = math.nextafter(value, 0.0), math.nextafter(value, math.inf)
    exact = Fraction(value)
    upper = 2 * exact - Fraction(below) if math.isinf(above) else Fraction(above)
    return (exact + Fraction(below)) / 2, (exact + upper) / 2


def _shortest_digits(value: float, single: bool, start: int) -> tuple[str, int]:
    """(significant digits, decimal exponent of the first digit) of the shortest decimal strictly
    inside the value's rounding interval, the closest to the value among those: Ryu's d2s/f2s."""
    low, high = _open_interval(value, single)
    exact = Fraction(value)
    for precision in range(start, 18):
        mantissa, exponent = f"{value:.{precision - 1}e}".split("e")
        rounded = int(mantissa.replace(".", ""))
        scale = Fraction(10) ** (int(exponent) - precision + 1)
        # `rounded` is the closest precision-digit decimal; a neighbour may fit when it does not.
        fitting = [c for c in (rounded, rounded + 1, rounded - 1) if c > 0 and low < c * scale < high]
        if fitting:
            text = str(min(fitting, key=lambda c: abs(c * scale - exact)))
            # A carry (9.99 -> 10.0) or borrow (1.00 -> 0.99) changes the length and the exponent.
            return text.rstrip("0"), int(exponent) + len(text) - precision
    raise AssertionError(f"no shortest decimal found for {value!r}")  # pragma: no cover


def _float4_round_trip_length(value: float) -> int:
    """Digits of the shortest decimal that float32 reading maps back to value (a lower bound)."""
    for precision in range(1, 10):
        candidate = float(f"{value:.{precision - 1}e}")
        if abs(candidate) < _FLOAT4_OVERFLOW and _round_to_float4(candidate) == value:
            return precision
    return 9  # pragma: no cover - nine digits always round-trip


def _format_shortest(digits: str, exponent: int, negative: bool, fixed_limit: int) -> str:
    """Lay out shortest digits the way PostgreSQL's Ryu-based float output does: fixed notation for
    decimal exponents in [-4, fixed_limit), else d.ddde±XX."""
    sign = "-" if negative else ""
    if -4 <= exponent < fixed_limit:
        if exponent < 0:
            return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
        if len(digits) <= exponent + 1:
            return f"{sign}{digits}{'0' * (exponent + 1 - len(digits))}"
        return f"{sign}{digits[: exponent + 1]}.{digits[exponent + 1 :]}"
    mantissa = digits if len(digits) == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def format_float(value: float, single: bool) -> str:
    """float4out / float8out with extra_float_digits >= 1: shortest exact round-trip form."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    negative = math.copysign(1.0, value) < 0
    if value == 0:
        return "-0" if negative else "0"
    magnitude = abs(value)
    if single:
        magnitude = _round_to_float4(magnitude)
        digits, exponent = _shortest_digits(magnitude, True, _float4_round_trip_length(magnitude))
        return _format_shortest(digits, exponent, negative, 6)
    # repr() is the shortest round-trip decimal, right unless it sits exactly on an interval bound.
    _, digit_tuple, last_exponent = Decimal(repr(magnitude)).as_tuple()
    assert isinstance(last_exponent, int)
    digits = "".join(map(str, digit_tuple))
    exponent = last_exponent + len(digits) - 1
    if _may_be_a_midpoint(int(digits), last_exponent, magnitude):
        low, high = _open_interval(magnitude, False)
        if not low < Fraction(int(digits)) * Fraction(10) ** last_exponent < high:
            digits, exponent = _shortest_digits(magnitude, False, len(digits))
    return _format_shortest(digits.rstrip("0"), exponent, negative, 15)


def _may_be_a_midpoint(coefficient: int, exponent: int, magnitude: float) -> bool:
    """Cheap filter: a midpoint between adjacent normal doubles is a dyadic number whose odd part
    has exactly 54 bits; subnormals and the extremes are always checked exactly."""
    if not 2.2250738585072014e-308 <= magnitude < 1.7976931348623157e308:
        return True
    if exponent >= 0:
        odd = coefficient * int(5**exponent)
    else:
        odd, remainder = divmod(coefficient, int(5**-exponent))
        if remainder:
            return False
    odd >>= (odd & -odd).bit_length() - 1
    return odd.bit_length() == 54


def encode_float_text(value: object, single: bool) -> bytes:
    return format_float(as_float(value), single).encode()


def decode_float_text(data: bytes, single: bool) -> float:
    """float4in/float8in: decimal or exponent notation, NaN, [+-]Infinity/inf, trimmed."""
    name = "real" if single else "double precision"
    text = ascii_text(data, name)
    stripped = text.strip()
    if "_" in stripped:
        raise _syntax(name, text)
    try:
        result = float(stripped)
    except ValueError:
        raise _syntax(name, text) from None
    if math.isinf(result) and "inf" not in stripped.lower():
        raise TypeCodecError(f'"{stripped}" is out of range for type {name}', SQLSTATE_OUT_OF_RANGE)
    return _round_to_float4(result) if single else result


def encode_float_binary(value: object, single: bool) -> bytes:
    number = as_float(value)
    return _FLOAT4.pack(_round_to_float4(number)) if single else _FLOAT8.pack(number)


def decode_float_binary(data: bytes, single: bool) -> float:
    _expect_length(data, 4 if single else 8, "float4" if single else "float8")
    result: float = (_FLOAT4 if single else _FLOAT8).unpack(data)[0]
    return result


# --- numeric ------------------------------------------------------------------------------------

NUMERIC_POS: Final = 0x0000
NUMERIC_NEG: Final = 0x4000
NUMERIC_NAN: Final = 0xC000
NUMERIC_PINF: Final = 0xD000
NUMERIC_NINF: Final = 0xF000
# numeric_send reports dscale 32 for +-Infinity: it reads the "short header" dscale bits of the
# special-value header word (0xD000/0xF000 & 0x1F80 >> 7). Reproduced to stay byte-identical.
_INFINITY_DSCALE: Final = 32
_NUMERIC_HEADER: Final = struct.Struct(">hhHh")


def as_decimal(value: object) -> Decimal:
    """A Decimal from a numeric-ish Python value (Decimal, int, float, or a numeric string such as BIGNUM)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else Decimal(value)
    if isinstance(value, str):
        return decode_numeric_text(value.encode())
    raise _mismatch(value, "numeric")


def format_numeric(value: Decimal) -> str:
    """numeric_out: plain notation keeping the scale, 'NaN', '[-]Infinity', no negative zero."""
    if value.is_nan():
        return "NaN"
    if value.is_infinite():
        return "-Infinity" if value.is_signed() else "Infinity"
    if value.is_zero():
        value = abs(value)
    return format(value, "f")


def encode_numeric_text(value: object) -> bytes:
    return format_numeric(as_decimal(value)).encode()


_NUMERIC_SPECIALS: Final = {
    "nan": "NaN",
    "inf": "Infinity",
    "+inf": "Infinity",
    "infinity": "Infinity",
    "+infinity": "Infinity",
    "-inf": "-Infinity",
    "-infinity": "-Infinity",
}


def decode_numeric_text(data: bytes) -> Decimal:
    """numeric_in: plain or exponent notation, NaN, [+-]Infinity/inf, trimmed."""
    text = ascii_text(data, "numeric")
    stripped = text.strip()
    special = _NUMERIC_SPECIALS.get(stripped.lower())
    if special is not None:
        return Decimal(special)
    try:
        result = Decimal(stripped)
    except decimal.InvalidOperation:
        raise _syntax("numeric", text) from None
    if not result.is_finite():
        raise _syntax("numeric", text)
    return result


def encode_numeric_binary(value: object) -> bytes:
    """numeric_send: ndigits, weight, sign, dscale, then base-10000 digits, zeros stripped at both ends."""
    number = as_decimal(value)
    if number.is_nan():
        return _NUMERIC_HEADER.pack(0, 0, NUMERIC_NAN, 0)
    if number.is_infinite():
        return _NUMERIC_HEADER.pack(
            0, 0, NUMERIC_NINF if number.is_signed() else NUMERIC_PINF, _INFINITY_DSCALE
        )
    sign, digit_tuple, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    dscale = max(0, -exponent)
    digits = "".join(map(str, digit_tuple)) + "0" * max(0, exponent)
    integer_length = len(digits) + min(0, exponent)
    if integer_length > 0:
        integer_part, fraction_part = digits[:integer_length], digits[integer_length:]
    else:
        integer_part, fraction_part = "", "0" * -integer_length + digits
    integer_part = integer_part.rjust((len(integer_part) + 3) // 4 * 4, "0")
    fraction_part = fraction_part.ljust((len(fraction_part) + 3) // 4 * 4, "0")
    groups = [int(integer_part[i : i + 4]) for i in range(0, len(integer_part), 4)]
    weight = len(groups) - 1
    groups += [int(fraction_part[i : i + 4]) for i in range(0, len(fraction_part), 4)]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    try:
        if not groups:
            return _NUMERIC_HEADER.pack(0, 0, NUMERIC_POS, dscale)
        header = _NUMERIC_HEADER.pack(len(groups), weight, NUMERIC_NEG if sign else NUMERIC_POS, dscale)
    except struct.error:
        raise TypeCodecError(f"value overflows numeric format: {number}", SQLSTATE_OUT_OF_RANGE) from None
    return header + struct.pack(f">{len(groups)}h", *groups)


def decode_numeric_binary(data: bytes) -> Decimal:
    if len(data) < _NUMERIC_HEADER.size:
        raise TypeCodecError("insufficient data for numeric", SQLSTATE_INVALID_BINARY)
    ndigits, weight, sign, dscale = _NUMERIC_HEADER.unpack_from(data)
    if sign == NUMERIC_NAN:
        return Decimal("NaN")
    if sign in (NUMERIC_PINF, NUMERIC_NINF):
        return Decimal("-Infinity" if sign == NUMERIC_NINF else "Infinity")
    if sign not in (NUMERIC_POS, NUMERIC_NEG) or ndigits < 0 or dscale < 0:
        raise TypeCodecError("invalid sign or scale in external numeric value", SQLSTATE_INVALID_BINARY)
    _expect_length(data, _NUMERIC_HEADER.size + 2 * ndigits, "numeric")
    groups = struct.unpack_from(f">{ndigits}h", data, _NUMERIC_HEADER.size)
    if any(not 0 <= group < 10000 for group in groups):
        raise TypeCodecError("invalid digit in external numeric value", SQLSTATE_INVALID_BINARY)
    coefficient = 0
    for group in groups:
        coefficient = coefficient * 10000 + group
    exponent = (weight - ndigits + 1) * 4
    if exponent < -dscale:  # digits hidden by the display scale: numeric_recv truncates them away
        coefficient //= 10 ** (-dscale - exponent)
    else:
        coefficient *= 10 ** (exponent + dscale)
    digits = tuple(int(d) for d in str(coefficient))
    return Decimal((1 if sign == NUMERIC_NEG else 0, digits, -dscale))


# --- bytea --------------------------------------------------------------------------------------


def as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    raise _mismatch(value, "bytea")


def encode_bytea_text(value: object) -> bytes:
    return b"\\x" + as_bytes(value).hex().encode()


def decode_bytea_text(data: bytes) -> bytes:
    """byteain: hex format '\\x0102' (whitespace between pairs allowed) or the escape format."""
    if data[:2] == b"\\x":
        try:
            return bytes.fromhex(data[2:].decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            # hex_decode reports bad digits and odd lengths as invalid_parameter_value.
            raise TypeCodecError("invalid hexadecimal data in bytea", SQLSTATE_INVALID_PARAMETER) from None
    out = bytearray()
    index = 0
    while index < len(data):
        byte = data[index]
        if byte != 0x5C:  # backslash
            out.append(byte)
            index += 1
        elif data[index + 1 : index + 2] == b"\\":
            out.append(0x5C)
            index += 2
        elif (
            len(data) >= index + 4
            and all(0x30 <= c <= 0x37 for c in data[index + 1 : index + 4])
            and (data[index + 1] <= 0x33)
        ):
            out.append(int(data[index + 1 : index + 4], 8))
            index += 4
        else:
            raise _syntax("bytea", data)
    return bytes(out)


# --- uuid ---------------------------------------------------------------------------------------


def as_uuid(value: object) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        return decode_uuid_text(value.encode())
    if isinstance(value, bytes | bytearray) and len(value) == 16:
        return uuid.UUID(bytes=bytes(value))
    raise _mismatch(value, "uuid")


def decode_uuid_text(data: bytes) -> uuid.UUID:
    """uuid_in: 32 hex digits, optionally braced and hyphenated after any group of four."""
    text = ascii_text(data, "uuid")
    body = text[1:-1] if text.startswith("{") and text.endswith("}") else text
    if body.startswith("-") or body.endswith("-") or "--" in body or len(body.replace("-", "")) != 32:
        raise _syntax("uuid", text)
    try:
        return uuid.UUID(hex=body.replace("-", ""))
    except ValueError:
        raise _syntax("uuid", text) from None


def decode_uuid_binary(data: bytes) -> uuid.UUID:
    _expect_length(data, 16, "uuid")
    return uuid.UUID(bytes=data)


# --- "char" and bit strings ---------------------------------------------------------------------


def _char_byte(value: object) -> bytes:
    if isinstance(value, str) and len(value) == 1 and ord(value) < 0x100:
        return value.encode("latin-1")
    return as_bytes(value)[:1]


def encode_char_text(value: object) -> bytes:
    """charout: the single byte; bytes with the high bit set print as \\ooo."""
    raw = _char_byte(value)
    if raw and raw[0] >= 0x80:
        return f"\\{raw[0]:03o}".encode()
    return raw


def decode_char_text(data: bytes) -> str:
    if len(data) == 4 and data[:1] == b"\\" and all(0x30 <= c <= 0x37 for c in data[1:]):
        return chr(int(data[1:], 8))
    return data[:1].decode("latin-1")


def encode_char_binary(value: object) -> bytes:
    return _char_byte(value)


def decode_char_binary(data: bytes) -> str:
    return data[:1].decode("latin-1")


def _as_bits(value: object) -> str:
    bits = value if isinstance(value, str) else decode_utf8(as_bytes(value))
    if any(bit not in "01" for bit in bits):
        raise TypeCodecError(f'"{bits}" is not a valid binary digit string')
    return bits


def encode_bits_text(value: object) -> bytes:
    return _as_bits(value).encode()


def decode_bits_text(data: bytes) -> str:
    """bit_in/varbit_in: '0101' or hex digits after an x ('xF0' == '11110000')."""
    text = ascii_text(data, "bit varying")
    if text[:1] in ("x", "X"):
        try:
            return "".join(f"{int(digit, 16):04b}" for digit in text[1:])
        except ValueError:
            raise TypeCodecError(f'"{text[1:]}" is not a valid hexadecimal digit') from None
    return _as_bits(text)


def encode_bits_binary(value: object) -> bytes:
    bits = _as_bits(value)
    padded = bits.ljust((len(bits) + 7) // 8 * 8, "0")
    return struct.pack(">i", len(bits)) + bytes(int(padded[i : i + 8], 2) for i in range(0, len(padded), 8))


def decode_bits_binary(data: bytes) -> str:
    if len(data) < 4:
        raise TypeCodecError("insufficient data for bit string", SQLSTATE_INVALID_BINARY)
    (length,) = struct.unpack_from(">i", data)
    _expect_length(data, 4 + (length + 7) // 8, "bit varying")
    return "".join(f"{byte:08b}" for byte in data[4:])[:length]
