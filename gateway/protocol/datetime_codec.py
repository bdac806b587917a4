"""Wire codecs for PostgreSQL's date/time types: date, time, timetz, timestamp, timestamptz, interval.

Text output matches PostgreSQL with DateStyle=ISO and IntervalStyle=postgres; timestamptz and
timetz print at the value's own UTC offset (naive values count as UTC), so a caller shows the
session's TimeZone by converting with astimezone() first. Binary output is the `*send` format
(microseconds / days since 2000-01-01, interval as micros + days + months). Input parsing
accepts what drivers send: ISO dates and timestamps with ' ' or 'T', fractional seconds, zone
offsets ('Z', '+02', '+05:30', '-0800', zone names), 'infinity' / 'epoch', and intervals in
postgres style ('1 year 2 mons -3 days 04:05:06.5', '@ 1 day ago', '1 day, 2:03:04') or
ISO 8601 ('P1DT2H').

Python has no infinite dates: +-infinity map to date.max/min and datetime.max/min (and back), the
same convention DuckDB uses when it hands such values to Python.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
import zoneinfo
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from gateway.protocol.scalar_codec import (
    SQLSTATE_DATATYPE_MISMATCH,
    SQLSTATE_INVALID_BINARY,
    TypeCodecError,
    ascii_text,
)

SQLSTATE_BAD_DATETIME_FORMAT: Final = "22007"
SQLSTATE_DATETIME_OVERFLOW: Final = "22008"
SQLSTATE_INTERVAL_OVERFLOW: Final = "22015"
SQLSTATE_BAD_TIME_ZONE: Final = "22023"

UTC: Final = dt.UTC
PG_EPOCH_DATE: Final = dt.date(2000, 1, 1)
PG_EPOCH: Final = dt.datetime(2000, 1, 1)
PG_EPOCH_UTC: Final = dt.datetime(2000, 1, 1, tzinfo=UTC)
MICROS_PER_SECOND: Final = 1_000_000
MICROS_PER_DAY: Final = 86_400 * MICROS_PER_SECOND
DAYS_PER_MONTH: Final = 30  # PostgreSQL's interval arithmetic convention (and DuckDB's)
_ONE_MICRO: Final = dt.timedelta(microseconds=1)
_INT32_MAX: Final = 2**31 - 1
_INT64_MAX: Final = 2**63 - 1
_INT32: Final = struct.Struct(">i")
_INT64: Final = struct.Struct(">q")
_TIMETZ: Final = struct.Struct(">qi")
_INTERVAL: Final = struct.Struct(">qii")


def _overflow(what: str, text: object) -> TypeCodecError:
    return TypeCodecError(f'{what} out of range: "{text}"', SQLSTATE_DATETIME_OVERFLOW)


def _bad_syntax(type_name: str, text: str) -> TypeCodecError:
    return TypeCodecError(
        f'invalid input syntax for type {type_name}: "{text}"', SQLSTATE_BAD_DATETIME_FORMAT
    )


def _expect_length(data: bytes, size: int, type_name: str) -> None:
    if len(data) != size:
        message = f"incorrect binary data format for {type_name}: expected {size} bytes, got {len(data)}"
        raise TypeCodecError(message, SQLSTATE_INVALID_BINARY)


# --- text parsing -------------------------------------------------------------------------------

_DATE_RE: Final = r"(?P<year>\d{4,})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
_TIME_RE: Final = r"(?P<hour>\d{1,2}):(?P<minute>\d{1,2})(?::(?P<second>\d{1,2})(?:\.(?P<fraction>\d*))?)?"
_ZONE_RE: Final = r"(?P<zone>[zZ]|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?|[A-Za-z][A-Za-z0-9_/+-]*)"
_TIMESTAMP_PATTERN: Final = re.compile(
    rf"\s*{_DATE_RE}(?:(?:[Tt]|\s+){_TIME_RE})?\s*{_ZONE_RE}?\s*(?P<era>[AaBb][Cc])?\s*"
)
_TIME_PATTERN: Final = re.compile(rf"\s*(?:{_DATE_RE}(?:[Tt]|\s+))?{_TIME_RE}\s*{_ZONE_RE}?\s*")
_OFFSET_PATTERN: Final = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?")
_UTC_NAMES: Final = frozenset({"z", "utc", "gmt", "ut", "zulu", "etc/utc"})


def _zone(name: str | None, on: dt.datetime | None) -> dt.tzinfo | None:
    """A tzinfo for '+05:30', 'Z', 'UTC', 'Europe/Paris', ...; None when no zone was written.
    A zone name is resolved to its offset at local time `on` (today when there is no date)."""
    if name is None:
        return None
    if name.lower() in _UTC_NAMES:
        return UTC
    offset = _OFFSET_PATTERN.fullmatch(name)
    if offset is not None:
        sign, hours, minutes, seconds = offset.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes or 0), seconds=int(seconds or 0))
        if delta >= dt.timedelta(hours=16):
            raise TypeCodecError(f'time zone displacement out of range: "{name}"', SQLSTATE_DATETIME_OVERFLOW)
        return dt.timezone(-delta if sign == "-" else delta)
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise TypeCodecError(f'time zone "{name}" not recognized', SQLSTATE_BAD_TIME_ZONE) from None
    when = dt.datetime.now(UTC).replace(tzinfo=None) if on is None else on
    return dt.timezone(zone.utcoffset(when) or dt.timedelta(0))


def _fraction_micros(fraction: str | None) -> int:
    """Fractional seconds rounded to microseconds (more than six digits are rounded, like PG)."""
    if not fraction:
        return 0
    return int((Decimal("0." + fraction) * MICROS_PER_SECOND).quantize(Decimal(1), ROUND_HALF_EVEN))


def _clock_delta(match: re.Match[str], text: str) -> dt.timedelta:
    """The time-of-day part of a match as a timedelta; 24:00:00 and leap second 60 roll over like PG."""
    if match["hour"] is None:
        return dt.timedelta(0)
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"] or 0)
    micros = _fraction_micros(match["fraction"])
    if hour > 24 or minute > 59 or second > 60 or (hour == 24 and (minute or second or micros)):
        raise _overflow("date/time field value", text)
    return dt.timedelta(hours=hour, minutes=minute, seconds=second, microseconds=micros)


_SPECIAL_TIMESTAMPS: Final = {
    "infinity": dt.datetime.max,
    "+infinity": dt.datetime.max,
    "-infinity": dt.datetime.min,
    "epoch": dt.datetime(1970, 1, 1),
}


def parse_timestamp(text: str, with_zone: bool) -> dt.datetime:
    """timestamp_in / timestamptz_in. Without zone the written offset is ignored (as PostgreSQL does);
    with zone the result is an aware datetime in UTC (a missing offset means the session zone, UTC)."""
    special = _SPECIAL_TIMESTAMPS.get(text.strip().lower())
    if special is not None:
        return special.replace(tzinfo=UTC) if with_zone else special
    match = _TIMESTAMP_PATTERN.fullmatch(text)
    type_name = "timestamp with time zone" if with_zone else "timestamp"
    if match is None:
        raise _bad_syntax(type_name, text)
    zone_name, era = match["zone"], match["era"]
    if zone_name is not None and zone_name.upper() in ("BC", "AD") and era is None:
        zone_name, era = None, zone_name
    if era is not None and era.upper() == "BC":
        raise _overflow(f"{type_name} (BC dates are not supported)", text)
    try:
        naive = dt.datetime(int(match["year"]), int(match["month"]), int(match["day"]))
        naive += _clock_delta(match, text)
    except (ValueError, OverflowError):
        raise _overflow("date/time field value", text) from None
    if not with_zone:
        return naive
    zone = _zone(zone_name, naive) or UTC
    try:
        return naive.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:
        raise _overflow(type_name, text) from None


def parse_date(text: str) -> dt.date:
    """date_in: ISO 'YYYY-MM-DD', optionally followed by a time and zone (ignored), or infinity/epoch."""
    special = _SPECIAL_TIMESTAMPS.get(text.strip().lower())
    if special is not None:
        return special.date()
    match = _TIMESTAMP_PATTERN.fullmatch(text)
    if match is None:
        raise _bad_syntax("date", text)
    era = match["era"] or (match["zone"] if (match["zone"] or "").upper() in ("BC", "AD") else None)
    if era is not None and era.upper() == "BC":
        raise _overflow("date (BC dates are not supported)", text)
    try:
        return dt.date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        raise _overflow("date/time field value", text) from None


def parse_time(text: str, with_zone: bool) -> dt.time:
    """time_in / timetz_in: 'HH:MM[:SS[.ffffff]]' with optional leading date and zone (timetz keeps
    the written offset; a missing one means UTC; plain time ignores it)."""
    if text.strip().lower() == "allballs":
        return dt.time(tzinfo=UTC) if with_zone else dt.time()
    match = _TIME_PATTERN.fullmatch(text)
    if match is None:
        raise _bad_syntax("time with time zone" if with_zone else "time without time zone", text)
    micros = _clock_delta(match, text) // _ONE_MICRO
    if micros >= MICROS_PER_DAY:
        raise _overflow("time (24:00:00 is not representable in Python)", text)
    seconds, micro = divmod(micros, MICROS_PER_SECOND)
    clock = dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro)
    if not with_zone:
        return clock
    on = None
    if match["year"] is not None:
        try:
            on = dt.datetime(int(match["year"]), int(match["month"]), int(match["day"]))
        except ValueError:
            raise _overflow("date/time field value", text) from None
    return clock.replace(tzinfo=_zone(match["zone"], on) or UTC)


# --- text formatting ----------------------------------------------------------------------------


def _format_clock(hour: int, minute: int, second: int, micros: int) -> str:
    """HH:MM:SS plus the fraction without trailing zeros (PostgreSQL's AppendSeconds)."""
    clock = f"{hour:02d}:{minute:02d}:{second:02d}"
    return f"{clock}.{micros:06d}".rstrip("0") if micros else clock


def _format_date(value: dt.date) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _format_offset(offset: dt.timedelta) -> str:
    """EncodeTimezone: +HH, +HH:MM or +HH:MM:SS, whichever is the shortest exact form."""
    total = int(offset.total_seconds())
    sign = "-" if total < 0 else "+"
    hours, rest = divmod(abs(total), 3600)
    minutes, seconds = divmod(rest, 60)
    if seconds:
        return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{sign}{hours:02d}:{minutes:02d}" if minutes else f"{sign}{hours:02d}"


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return parse_date(value)
    raise TypeCodecError(f"cannot send {type(value).__name__} {value!r} as date", SQLSTATE_DATATYPE_MISMATCH)


def _as_time(value: object, with_zone: bool) -> dt.time:
    if isinstance(value, dt.datetime):
        return value.timetz()
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        return parse_time(value, with_zone)
    raise TypeCodecError(f"cannot send {type(value).__name__} {value!r} as time", SQLSTATE_DATATYPE_MISMATCH)


def _as_timestamp(value: object, with_zone: bool) -> dt.datetime:
    """The value as naive wall clock (timestamp) or naive UTC (timestamptz). Naive input for
    timestamptz is taken to be UTC already; datetime.max/min stay as they are (+-infinity)."""
    if isinstance(value, str):
        value = parse_timestamp(value, with_zone)
    elif not isinstance(value, dt.datetime) and isinstance(value, dt.date):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise TypeCodecError(
            f"cannot send {type(value).__name__} {value!r} as timestamp", SQLSTATE_DATATYPE_MISMATCH
        )
    if value.tzinfo is None or value.replace(tzinfo=None) in (dt.datetime.max, dt.datetime.min):
        return value.replace(tzinfo=None)
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise _overflow("timestamp", value) from None


def _infinity_sign(value: dt.date) -> int:
    if value in (dt.date.max, dt.datetime.max):
        return 1
    return -1 if value in (dt.date.min, dt.datetime.min) else 0


def encode_date_text(value: object) -> bytes:
    day = _as_date(value)
    sign = _infinity_sign(day)
    return (b"infinity" if sign > 0 else b"-infinity") if sign else _format_date(day).encode()


def encode_time_text(value: object) -> bytes:
    clock = _as_time(value, False)
    return _format_clock(clock.hour, clock.minute, clock.second, clock.microsecond).encode()


def encode_timetz_text(value: object) -> bytes:
    clock = _as_time(value, True)
    offset = clock.utcoffset() or dt.timedelta(0)
    text = _format_clock(clock.hour, clock.minute, clock.second, clock.microsecond) + _format_offset(offset)
    return text.encode()


def encode_timestamp_text(value: object, with_zone: bool) -> bytes:
    """timestamp_out / timestamptz_out. An aware value is printed at its own UTC offset, which is what
    PostgreSQL prints in a session whose TimeZone gives that offset: convert with astimezone() to
    the session's zone first. Naive values count as UTC for timestamptz."""
    if with_zone and isinstance(value, dt.datetime) and value.tzinfo is not None:
        offset = value.utcoffset()
        wall = value.replace(tzinfo=None)
        if offset is not None and not _infinity_sign(wall):
            clock = _format_clock(wall.hour, wall.minute, wall.second, wall.microsecond)
            return f"{_format_date(wall)} {clock}{_format_offset(offset)}".encode()
    stamp = _as_timestamp(value, with_zone)
    sign = _infinity_sign(stamp)
    if sign:
        return b"infinity" if sign > 0 else b"-infinity"
    text = f"{_format_date(stamp)} {_format_clock(stamp.hour, stamp.minute, stamp.second, stamp.microsecond)}"
    return (text + "+00").encode() if with_zone else text.encode()


def decode_date_text(data: bytes) -> dt.date:
    return parse_date(ascii_text(data, "date"))


def decode_time_text(data: bytes, with_zone: bool) -> dt.time:
    return parse_time(ascii_text(data, "time"), with_zone)


def decode_timestamp_text(data: bytes, with_zone: bool) -> dt.datetime:
    return parse_timestamp(ascii_text(data, "timestamp"), with_zone)


# --- binary -------------------------------------------------------------------------------------


def encode_date_binary(value: object) -> bytes:
    day = _as_date(value)
    sign = _infinity_sign(day)
    if sign:
        return _INT32.pack(_INT32_MAX if sign > 0 else -_INT32_MAX - 1)
    return _INT32.pack((day - PG_EPOCH_DATE).days)


def decode_date_binary(data: bytes) -> dt.date:
    _expect_length(data, 4, "date")
    (days,) = _INT32.unpack(data)
    if days in (_INT32_MAX, -_INT32_MAX - 1):
        return dt.date.max if days > 0 else dt.date.min
    try:
        return PG_EPOCH_DATE + dt.timedelta(days=days)
    except OverflowError:
        raise _overflow("date", days) from None


def _clock_micros(clock: dt.time) -> int:
    return ((clock.hour * 60 + clock.minute) * 60 + clock.second) * MICROS_PER_SECOND + clock.microsecond


def _clock_from_micros(micros: int, type_name: str) -> dt.time:
    if not 0 <= micros < MICROS_PER_DAY:
        raise _overflow(type_name, micros)
    seconds, micro = divmod(micros, MICROS_PER_SECOND)
    return dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro)


def encode_time_binary(value: object) -> bytes:
    return _INT64.pack(_clock_micros(_as_time(value, False)))


def decode_time_binary(data: bytes) -> dt.time:
    _expect_length(data, 8, "time")
    return _clock_from_micros(_INT64.unpack(data)[0], "time")


def encode_timetz_binary(value: object) -> bytes:
    clock = _as_time(value, True)
    offset = clock.utcoffset() or dt.timedelta(0)
    # The zone is sent as seconds *west* of UTC, i.e. the negated offset.
    return _TIMETZ.pack(_clock_micros(clock), -int(offset.total_seconds()))


def decode_timetz_binary(data: bytes) -> dt.time:
    _expect_length(data, 12, "timetz")
    micros, west = _TIMETZ.unpack(data)
    if abs(west) >= 86_400:
        raise _overflow("time zone displacement", west)
    return _clock_from_micros(micros, "timetz").replace(tzinfo=dt.timezone(dt.timedelta(seconds=-west)))


def encode_timestamp_binary(value: object, with_zone: bool) -> bytes:
    stamp = _as_timestamp(value, with_zone)
    sign = _infinity_sign(stamp)
    if sign:
        return _INT64.pack(_INT64_MAX if sign > 0 else -_INT64_MAX - 1)
    return _INT64.pack((stamp - PG_EPOCH) // _ONE_MICRO)


def decode_timestamp_binary(data: bytes, with_zone: bool) -> dt.datetime:
    _expect_length(data, 8, "timestamp")
    (micros,) = _INT64.unpack(data)
    epoch = PG_EPOCH_UTC if with_zone else PG_EPOCH
    if micros in (_INT64_MAX, -_INT64_MAX - 1):
        stamp = dt.datetime.max if micros > 0 else dt.datetime.min
        return stamp.replace(tzinfo=epoch.tzinfo)
    try:
        return epoch + dt.timedelta(microseconds=micros)
    except OverflowError:
        raise _overflow("timestamp", micros) from None


# --- interval -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    """PostgreSQL's interval exactly: months, days and microseconds are independent fields."""

    months: int = 0
    days: int = 0
    microseconds: int = 0

    @classmethod
    def from_value(cls, value: object) -> Interval:
        """From a timedelta (split sign-symmetrically into days and time: -1s is '-00:00:01'), an
        Interval, a pyarrow MonthDayNano-like object (months/days/nanoseconds), or interval text."""
        if isinstance(value, Interval):
            return value
        if isinstance(value, dt.timedelta):
            total = value // _ONE_MICRO
            days, micros = divmod(abs(total), MICROS_PER_DAY)
            sign = -1 if total < 0 else 1
            return cls(0, sign * days, sign * micros)
        if isinstance(value, str):
            return parse_interval(value)
        fields = [getattr(value, name, None) for name in ("months", "days", "nanoseconds")]
        if all(isinstance(field, int) for field in fields):
            months, days, nanos = (field for field in fields if isinstance(field, int))
            micros, rest = divmod(nanos, 1000)
            return cls(months, days, micros + (rest >= 500))
        raise TypeCodecError(
            f"cannot send {type(value).__name__} {value!r} as interval", SQLSTATE_DATATYPE_MISMATCH
        )

    def to_timedelta(self) -> dt.timedelta:
        """A month counts as 30 days, as in PostgreSQL's interval arithmetic and DuckDB's conversion."""
        try:
            return dt.timedelta(days=self.days + self.months * DAYS_PER_MONTH, microseconds=self.microseconds)
        except OverflowError:
            raise TypeCodecError(
                f"interval {self} out of range for Python", SQLSTATE_INTERVAL_OVERFLOW
            ) from None


def _truncating_divmod(value: int, divisor: int) -> tuple[int, int]:
    """C-style division: the quotient rounds toward zero and the remainder keeps value's sign."""
    quotient = abs(value) // divisor * (1 if value >= 0 else -1)
    return quotient, value - quotient * divisor


def format_interval(interval: Interval) -> str:
    """EncodeInterval with IntervalStyle=postgres: '1 year 2 mons -3 days +04:05:06.5'."""
    parts: list[str] = []
    previous_negative = False
    years, months = _truncating_divmod(interval.months, 12)
    for value, unit in ((years, "year"), (months, "mon"), (interval.days, "day")):
        if value:
            plus = "+" if previous_negative and value > 0 else ""
            parts.append(f"{plus}{value} {unit}{'' if value == 1 else 's'}")
            previous_negative = value < 0
    micros = interval.microseconds
    if micros or not parts:
        hours, rest = _truncating_divmod(micros, 3600 * MICROS_PER_SECOND)
        minutes, rest = _truncating_divmod(rest, 60 * MICROS_PER_SECOND)
        seconds, fraction = _truncating_divmod(rest, MICROS_PER_SECOND)
        sign = "-" if micros < 0 else ("+" if previous_negative else "")
        parts.append(sign + _format_clock(abs(hours), abs(minutes), abs(seconds), abs(fraction)))
    return " ".join(parts)


_UNIT_TABLE: Final = (
    ("us usec usecs microsecond microseconds", "micros", 1),
    ("ms msec msecs millisecond milliseconds", "micros", 1000),
    ("s sec secs second seconds", "micros", MICROS_PER_SECOND),
    ("m min mins minute minutes", "micros", 60 * MICROS_PER_SECOND),
    ("h hr hrs hour hours", "micros", 3600 * MICROS_PER_SECOND),
    ("d day days", "days", 1),
    ("w week weeks", "days", 7),
    ("mon mons month months", "months", 1),
    ("y yr yrs year years", "years", 12),
    ("dec decs decade decades", "years", 120),
    ("c cent century centuries", "years", 1200),
    ("mil mils millennium millennia millenniums", "years", 12000),
)
_UNITS: Final = {name: (kind, factor) for names, kind, factor in _UNIT_TABLE for name in names.split()}

_NUMBER: Final = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_NUMBER_UNIT: Final = re.compile(rf"({_NUMBER})([a-z]*)")
_CLOCK_TOKEN: Final = re.compile(r"([+-]?)(\d+):(\d+)(?::(\d+(?:\.\d*)?))?")
_MINUTE_SECOND_TOKEN: Final = re.compile(r"([+-]?)(\d+):(\d+\.\d*)")
_YEAR_MONTH_TOKEN: Final = re.compile(r"([+-]?)(\d+)-(\d+)")
_ISO_INTERVAL: Final = re.compile(
    rf"p(?:({_NUMBER})y)?(?:({_NUMBER})m)?(?:({_NUMBER})w)?(?:({_NUMBER})d)?"
    rf"(?:t(?:({_NUMBER})h)?(?:({_NUMBER})m)?(?:({_NUMBER})s)?)?"
)


class _IntervalBuilder:
    """Accumulates interval fields the way DecodeInterval does, spilling fractions downwards."""

    def __init__(self) -> None:
        self.months = 0
        self.days = 0
        self.micros = Decimal(0)

    def add(self, number: Decimal, unit: str) -> None:
        kind, factor = _UNITS[unit]
        whole = int(number)
        if kind == "micros":
            self.micros += number * factor
        elif kind == "days":
            self.days += int(number * factor)
            self.micros += (number * factor - int(number * factor)) * MICROS_PER_DAY
        elif kind == "months":
            self.months += whole
            self.add((number - whole) * DAYS_PER_MONTH, "day")
        else:  # years and their multiples: the fraction becomes whole months, rounded
            self.months += whole * factor + int(
                ((number - whole) * factor).to_integral_value(ROUND_HALF_EVEN)
            )

    def add_clock(self, match: re.Match[str], minutes_seconds: bool) -> None:
        sign = -1 if match[1] == "-" else 1
        if minutes_seconds:
            seconds = int(match[2]) * 60 + Decimal(match[3])
        else:
            seconds = int(match[2]) * 3600 + int(match[3]) * 60 + Decimal(match[4] or 0)
        self.micros += sign * seconds * MICROS_PER_SECOND

    def build(self, negate: bool, text: str) -> Interval:
        micros = int(self.micros.to_integral_value(ROUND_HALF_EVEN))
        result = Interval(self.months, self.days, micros)
        if negate:
            result = Interval(-result.months, -result.days, -result.microseconds)
        if max(abs(result.months), abs(result.days)) > _INT32_MAX or abs(micros) > _INT64_MAX:
            raise TypeCodecError(f'interval field value out of range: "{text}"', SQLSTATE_INTERVAL_OVERFLOW)
        return result


def parse_interval(text: str) -> Interval:
    """interval_in for IntervalStyle=postgres input plus ISO 8601 designators ('P1Y2M3DT4H5M6.5S')."""
    lowered = text.strip().lower()
    builder = _IntervalBuilder()
    if lowered.startswith("p"):
        iso = _ISO_INTERVAL.fullmatch(lowered)
        if iso is None:
            raise _bad_syntax("interval", text)
        for number, unit in zip(iso.groups(), ("y", "mon", "w", "d", "h", "m", "s"), strict=True):
            if number is not None:
                builder.add(Decimal(number), unit)
        return builder.build(False, text)
    tokens = lowered.lstrip("@").replace(",", " ").split()
    negate = bool(tokens) and tokens[-1] == "ago"
    if negate:
        tokens.pop()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if (clock := _CLOCK_TOKEN.fullmatch(token)) is not None:
            builder.add_clock(clock, minutes_seconds=False)
        elif (minute_second := _MINUTE_SECOND_TOKEN.fullmatch(token)) is not None:
            builder.add_clock(minute_second, minutes_seconds=True)
        elif (year_month := _YEAR_MONTH_TOKEN.fullmatch(token)) is not None:
            months = int(year_month[2]) * 12 + int(year_month[3])
            builder.months += -months if year_month[1] == "-" else months
        elif (number_unit := _NUMBER_UNIT.fullmatch(token)) is not None:
            number, unit = Decimal(number_unit[1]), number_unit[2]
            if not unit:
                following = tokens[index] if index < len(tokens) else ""
                if following in _UNITS:
                    unit, index = following, index + 1
                else:  # a bare number is seconds, or days when a clock follows ('1 02:03:04')
                    unit = "d" if _CLOCK_TOKEN.fullmatch(following) else "s"
            if unit not in _UNITS:
                raise _bad_syntax("interval", text)
            builder.add(number, unit)
        else:
            raise _bad_syntax("interval", text)
    if not tokens:
        raise _bad_syntax("interval", text)
    return builder.build(negate, text)


def encode_interval_text(value: object) -> bytes:
    return format_interval(Interval.from_value(value)).encode()


def decode_interval_text(data: bytes) -> dt.timedelta:
    return parse_interval(ascii_text(data, "interval")).to_timedelta()


def encode_interval_binary(value: object) -> bytes:
    interval = Interval.from_value(value)
    try:
        return _INTERVAL.pack(interval.microseconds, interval.days, interval.months)
    except struct.error:
        raise TypeCodecError(f"interval {interval} out of range", SQLSTATE_INTERVAL_OVERFLOW) from None


def decode_interval_binary_exact(data: bytes) -> Interval:
    _expect_length(data, 16, "interval")
    micros, days, months = _INTERVAL.unpack(data)
    return Interval(months, days, micros)


def decode_interval_binary(data: bytes) -> dt.timedelta:
    return decode_interval_binary_exact(data).to_timedelta()
