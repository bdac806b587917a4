"""Option values of ``CREATE CONNECTION``: how each kind of option's text is parsed and checked.

:class:`OptionSpec` describes one option; :func:`parse_value` turns the value as written into a
typed value (int, bool, milliseconds, a tuple of brokers, a URL, a :class:`SecretRef`) or raises
an error a user can act on. Schemas built from these specs live in :mod:`catalog.options`.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from catalog.model import SECRET_PREFIX, secret_reference
from gateway.errors import InvalidParameterValue, UndefinedObject

JAVA_INT_MAX = 2**31 - 1  # Kafka's int-typed client settings are Java ints

OptionKind = Literal["string", "integer", "boolean", "enum", "servers", "duration", "url"]


@dataclass(frozen=True, slots=True)
class SecretRef:
    """An option value written as ``'${secret:name}'``: resolved only when the connection is used."""

    name: str

    def __str__(self) -> str:
        return f"{SECRET_PREFIX}{self.name}}}"


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionSpec:
    """One option: how its text is parsed and checked, and its default.

    ``kind`` picks the parser: ``string`` (non-empty text; ``check`` may add a rule), ``integer``
    (decimal, within ``minimum``/``maximum``), ``boolean`` (true/false, on/off, yes/no, 1/0),
    ``enum`` (one of ``allowed``, case-insensitive; ``synonyms`` map other spellings to an allowed
    value), ``servers`` (comma-separated ``host:port`` list → tuple), ``duration`` (``'5 seconds'``,
    ``'500 ms'``, ``INTERVAL '1 minute'`` → milliseconds, within ``minimum``/``maximum``) and ``url``
    (http or https, without credentials).
    """

    name: str
    kind: OptionKind
    description: str
    required: bool = False
    default: object | None = None
    allowed: tuple[str, ...] = ()
    synonyms: tuple[tuple[str, str], ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    secret_ok: bool = False  # may be a '${secret:name}' reference; the value never appears in errors
    secret_required: bool = False  # must be a secret reference (a literal would be shown back by SHOW)
    check: Callable[[str], str | None] | None = None  # for strings: returns what is wrong, or None


def closest(word: str, candidates: Sequence[str]) -> str | None:
    """The most similar candidate (difflib), or None when nothing is close."""
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


# --- values --------------------------------------------------------------------------------------
_INTEGER = re.compile(r"[+-]?[0-9]+")
_TRUE = frozenset({"true", "t", "on", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "off", "no", "n", "0"})
_HOST_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def parse_value(spec: OptionSpec, raw: str, *, secret_exists: Callable[[str], bool]) -> object:
    """The typed value of one option, or InvalidParameterValue / UndefinedObject."""
    if raw.startswith(SECRET_PREFIX):
        return _parse_secret_reference(spec, raw, secret_exists)
    if spec.secret_required:
        raise InvalidParameterValue(
            f"option \"{spec.name}\" must be a secret reference such as '${{secret:name}}'",
            hint=f"Store the value with CREATE SECRET name AS '...' and write "
            f"{spec.name} = '${{secret:name}}', so that it is encrypted and never shown back.",
        )
    problem = _value_problem(spec, raw)
    if isinstance(problem, _Parsed):
        return problem.value
    text, show_value = (problem.text, False) if isinstance(problem, _Unshowable) else (problem, True)
    shown = f' "{raw}"' if show_value and not spec.secret_ok else ""
    raise InvalidParameterValue(
        f'invalid value{shown} for option "{spec.name}": {text}',
        hint=_enum_hint(spec, raw),
    )


@dataclass(frozen=True, slots=True)
class _Parsed:
    value: object


@dataclass(frozen=True, slots=True)
class _Unshowable:
    """What is wrong with a value that must not be shown back (it holds a credential)."""

    text: str


def _value_problem(spec: OptionSpec, raw: str) -> _Parsed | _Unshowable | str:
    """The parsed value, or a sentence saying what is wrong with ``raw``."""
    if spec.kind == "string":
        if not raw.strip():
            return "must not be empty"
        problem = spec.check(raw) if spec.check is not None else None
        return problem if problem is not None else _Parsed(raw)
    if spec.kind == "integer":
        text = raw.strip()
        number = int(text) if _INTEGER.fullmatch(text) else None
        if number is None or not _in_range(spec, number):
            return "expected an integer " + _range_text(spec)
        return _Parsed(number)
    if spec.kind == "boolean":
        word = raw.strip().lower()
        if word in _TRUE:
            return _Parsed(True)
        if word in _FALSE:
            return _Parsed(False)
        return "expected a boolean (true or false)"
    if spec.kind == "enum":
        canonical = _enum_value(spec, raw)
        if canonical is None:
            return "allowed values are " + ", ".join(spec.allowed)
        return _Parsed(canonical)
    if spec.kind == "servers":
        return _parse_servers(raw)
    if spec.kind == "duration":
        millis = parse_duration_ms(raw)
        if millis is None:
            return "expected a duration such as '5 seconds', '500 ms', '1 minute' or INTERVAL '1 hour'"
        if not _in_range(spec, millis):
            return "the duration must be " + _range_text(spec, unit=" ms")
        return _Parsed(millis)
    return _parse_url(raw)


def _in_range(spec: OptionSpec, number: int) -> bool:
    return (spec.minimum is None or number >= spec.minimum) and (
        spec.maximum is None or number <= spec.maximum
    )


def _range_text(spec: OptionSpec, *, unit: str = "") -> str:
    if spec.minimum is not None and spec.maximum is not None:
        return f"from {spec.minimum}{unit} to {spec.maximum}{unit}"
    if spec.minimum is not None:
        return f"of at least {spec.minimum}{unit}"
    if spec.maximum is not None:
        return f"of at most {spec.maximum}{unit}"
    return "(decimal digits)"


def _enum_value(spec: OptionSpec, raw: str) -> str | None:
    word = raw.strip().lower()
    for allowed in spec.allowed:
        if word == allowed.lower():
            return allowed
    for spelling, canonical in spec.synonyms:
        if word == spelling.lower():
            return canonical
    return None


def _enum_hint(spec: OptionSpec, raw: str) -> str | None:
    if spec.kind != "enum":
        return None
    by_lower = {allowed.lower(): allowed for allowed in spec.allowed}  # enums match case-insensitively
    suggestion = closest(raw.strip().lower(), list(by_lower))
    return f"Did you mean '{by_lower[suggestion]}'?" if suggestion is not None else None


def _parse_servers(raw: str) -> _Parsed | str:
    servers: list[str] = []
    for item in raw.split(","):
        entry = item.strip()
        problem = _server_problem(entry)
        if problem is not None:
            return f"expected a comma-separated list of host:port, but {problem}"
        servers.append(entry)
    return _Parsed(tuple(servers))


def _server_problem(entry: str) -> str | None:
    if not entry:
        return "an entry is empty"
    host, sep, port = entry.rpartition(":")
    if not sep:
        return f'"{entry}" has no port'
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f'the port of "{entry}" is not from 1 to 65535'
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f'"{host}" is not an IPv6 address'
        return None
    labels = host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return f'"{host}" is not a host name'
    return None


def _parse_url(raw: str) -> _Parsed | _Unshowable | str:
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        return "expected an http:// or https:// URL"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "expected an http:// or https:// URL"
    if parts.username is not None or parts.password is not None:
        return _Unshowable(
            "the URL must not contain credentials; use schema_registry.api_key and schema_registry.api_secret"
        )
    if port == 0:
        return "the URL's port must be from 1 to 65535"
    return _Parsed(raw.strip())


_DURATION_UNITS: dict[str, int] = {
    **dict.fromkeys(("ms", "msec", "msecs", "millisecond", "milliseconds"), 1),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1000),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60_000),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3_600_000),
    **dict.fromkeys(("d", "day", "days"), 86_400_000),
}
_DURATION_TERM = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)\s*")
_CLOCK = re.compile(r"([0-9]+):([0-5][0-9]):([0-5][0-9](?:\.[0-9]{1,3})?)")
_SQL_INTERVAL = re.compile(r"interval\s+'([^']*)'\s*([a-z]*)", re.IGNORECASE)


def parse_duration_ms(text: str) -> int | None:
    """Milliseconds in ``'5 seconds'``, ``'500ms'``, ``'1 minute 30 seconds'``, ``'00:01:30'``,
    ``INTERVAL '1 hour'`` or ``INTERVAL '5' SECOND``; None when it is not such a duration.
    A bare number has no unit and is refused (is '5' seconds or milliseconds?)."""
    body = text.strip()
    sql = _SQL_INTERVAL.fullmatch(body)
    if sql is not None:
        body = f"{sql.group(1)} {sql.group(2)}".strip()
    body = body.lower()
    clock = _CLOCK.fullmatch(body)
    if clock is not None:
        hours, minutes, seconds = clock.groups()
        return round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)
    total = 0.0
    position = 0
    while position < len(body):
        term = _DURATION_TERM.match(body, position)
        if term is None or term.group(2) not in _DURATION_UNITS:
            return None
        total += float(term.group(1)) * _DURATION_UNITS[term.group(2)]
        position = term.end()
    return round(total) if position else None


def _parse_secret_reference(spec: OptionSpec, raw: str, secret_exists: Callable[[str], bool]) -> SecretRef:
    if not spec.secret_ok:
        raise InvalidParameterValue(
            f'option "{spec.name}" cannot take a secret reference',
            hint="Only credentials (sasl.username, sasl.password, schema_registry.api_key and "
            "schema_registry.api_secret) may be written as '${secret:name}'.",
        )
    name = secret_reference(raw)
    if not name:
        raise InvalidParameterValue(
            f'invalid secret reference in option "{spec.name}"',
            hint="Write the reference as '${secret:name}'.",
        )
    if not secret_exists(name):
        shown = name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'
        raise UndefinedObject(
            f'secret "{name}" does not exist',
            detail=f'Option "{spec.name}" refers to it.',
            hint=f"CREATE SECRET {shown} AS '...'",
        )
    return SecretRef(name)


def check_spec(spec: OptionSpec) -> None:
    """Catch schema mistakes when the schema is built, not when a user trips over them."""
    if spec.kind == "enum" and not spec.allowed:
        raise ValueError(f"enum option {spec.name!r} has no allowed values")
    if spec.kind == "enum" and spec.default is not None and spec.default not in spec.allowed:
        raise ValueError(f"default of {spec.name!r} is not an allowed value")
    if spec.required and spec.default is not None:
        raise ValueError(f"required option {spec.name!r} has a default")
    if spec.secret_required and not spec.secret_ok:
        raise ValueError(f"option {spec.name!r} requires a secret but does not accept one")
