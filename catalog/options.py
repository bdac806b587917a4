"""Typed option schemas for ``CREATE CONNECTION ... TO kafka (...)``: parse, check and default options.

A schema is a list of :class:`OptionSpec` (one per option: kind, default, allowed values, range)
plus cross-checks that look at several options at once. :meth:`OptionSchema.validate` turns the
statement's ``(name, value-as-written)`` pairs into :class:`ValidatedOptions` with typed values
(``int``, ``bool``, milliseconds, ``tuple`` of brokers, :class:`SecretRef`) and every default
filled in, or raises the first problem as a SQLSTATE error a user can act on:

* an option given twice: ``DuplicateObject`` (42710);
* an unknown option: ``UndefinedObject`` (42704) with a "Did you mean ..." hint;
* a bad value or a missing/conflicting option: ``InvalidParameterValue`` (22023) naming the
  option, the value and what is allowed;
* a ``'${secret:name}'`` reference to a secret that does not exist: ``UndefinedObject`` (42704);
* a routing option naming a column the connection does not declare: ``UndefinedColumn`` (42703).

Values of options that may hold a secret (``secret_ok``) are never copied into an error message.

The sink and source schemas live in :mod:`sinks.options` and :mod:`sources.options`; this module
also holds the option specs and checks both of them share (brokers, security and SASL login,
Schema Registry, error policy) and :func:`validate_connection_options`, which picks the schema by
the ``type`` option.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlsplit

from catalog.model import SECRET_PREFIX, secret_reference
from gateway.errors import DuplicateObject, InvalidParameterValue, UndefinedColumn, UndefinedObject

OptionKind = Literal["string", "integer", "boolean", "enum", "servers", "duration", "url"]

JAVA_INT_MAX = 2**31 - 1  # Kafka's int-typed client settings are Java ints

CONNECTION_TYPES = ("sink", "source")


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


class _TypedGetters:
    """Typed reads of option values, shared by :class:`ValidatedOptions` and :class:`CheckContext`."""

    __slots__ = ()

    def _lookup(self) -> Mapping[str, object]:
        raise NotImplementedError

    def get(self, name: str) -> object:
        """The typed value of ``name`` (its default when not given); KeyError if not in the schema."""
        values = self._lookup()
        if name not in values:
            raise KeyError(f"{name!r} is not an option of this schema")
        return values[name]

    def string(self, name: str) -> str | None:
        value = self.get(name)
        if value is None or isinstance(value, str):
            return value
        raise TypeError(f"option {name!r} is not a string option: {value!r}")

    def integer(self, name: str) -> int:
        value = self.get(name)
        if type(value) is int:
            return value
        raise TypeError(f"option {name!r} has no integer value: {value!r}")

    def boolean(self, name: str) -> bool:
        value = self.get(name)
        if isinstance(value, bool):
            return value
        raise TypeError(f"option {name!r} has no boolean value: {value!r}")

    def duration_ms(self, name: str) -> int | None:
        value = self.get(name)
        if value is None or type(value) is int:
            return value
        raise TypeError(f"option {name!r} is not a duration: {value!r}")

    def servers(self, name: str) -> tuple[str, ...]:
        value = self.get(name)
        if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
            return value
        raise TypeError(f"option {name!r} is not a server list: {value!r}")

    def secret_or_text(self, name: str) -> SecretRef | str | None:
        value = self.get(name)
        if value is None or isinstance(value, SecretRef | str):
            return value
        raise TypeError(f"option {name!r} is not a text or secret option: {value!r}")


@dataclass(frozen=True, slots=True)
class ValidatedOptions(_TypedGetters):
    """Every option of the schema with its typed value (defaults filled in), and which were given."""

    values: Mapping[str, object]
    explicit: frozenset[str]

    def _lookup(self) -> Mapping[str, object]:
        return self.values

    @property
    def connection_type(self) -> str:
        """``'sink'`` or ``'source'``."""
        return str(self.values["type"])


@dataclass(slots=True)
class CheckContext(_TypedGetters):
    """What a cross-check sees: the typed values (which it may complete, e.g. derived defaults),
    the names the user gave, and the declared columns (empty when none were declared)."""

    label: str
    values: dict[str, object]
    explicit: frozenset[str]
    columns: tuple[str, ...]

    def _lookup(self) -> Mapping[str, object]:
        return self.values

    def given(self, name: str) -> bool:
        return name in self.explicit

    def fail(self, message: str, *, hint: str | None = None) -> InvalidParameterValue:
        """The error to raise for a bad combination of options (22023)."""
        return InvalidParameterValue(message, hint=hint)


Check = Callable[[CheckContext], None]


class OptionSchema:
    """The options of one kind of connection and the checks that span several of them."""

    def __init__(
        self,
        specs: Sequence[OptionSpec],
        checks: Sequence[Check] = (),
        *,
        label: str,
        suggestions: Mapping[str, str] | None = None,
    ) -> None:
        """``label`` names the connection kind in messages ("Kafka sink connection");
        ``suggestions`` maps foreign spellings (``'group.id'``) to the option to use instead."""
        self.specs: tuple[OptionSpec, ...] = tuple(specs)
        self.checks: tuple[Check, ...] = tuple(checks)
        self.label = label
        self.suggestions: Mapping[str, str] = dict(suggestions or {})
        self._by_name = {spec.name: spec for spec in self.specs}
        if len(self._by_name) != len(self.specs):
            raise ValueError(f"duplicate option spec in the {label} schema")
        for spec in self.specs:
            _check_spec(spec)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.specs)

    def spec(self, name: str) -> OptionSpec:
        return self._by_name[name]

    def validate(
        self,
        options: Sequence[tuple[str, str]],
        *,
        secret_exists: Callable[[str], bool],
        columns: Sequence[str] = (),
    ) -> ValidatedOptions:
        """Typed, defaulted, cross-checked options, or the first problem as a SQLSTATE error."""
        reject_duplicates(options)
        for name, _ in options:
            if name not in self._by_name:
                raise self._unknown_option(name)
        values: dict[str, object] = {spec.name: spec.default for spec in self.specs}
        for name, raw in options:
            values[name] = parse_value(self._by_name[name], raw, secret_exists=secret_exists)
        explicit = frozenset(name for name, _ in options)
        for spec in self.specs:
            if spec.required and spec.name not in explicit:
                raise InvalidParameterValue(
                    f'missing required option "{spec.name}" for a {self.label}',
                    hint=f"{spec.name}: {spec.description}",
                )
        context = CheckContext(self.label, values, explicit, tuple(columns))
        for check in self.checks:
            check(context)
        return ValidatedOptions(MappingProxyType(dict(context.values)), explicit)

    def _unknown_option(self, name: str) -> UndefinedObject:
        message = f'unknown option "{name}" for a {self.label}'
        suggestion = self.suggestions.get(name) or closest(name.lower(), self.names)
        if suggestion is not None:
            return UndefinedObject(message, hint=f'Did you mean "{suggestion}"?')
        return UndefinedObject(message, hint="Valid options: " + ", ".join(sorted(self.names)) + ".")


def closest(word: str, candidates: Sequence[str]) -> str | None:
    """The most similar candidate (difflib), or None when nothing is close."""
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def reject_duplicates(options: Sequence[tuple[str, str]]) -> None:
    """An option given twice in one statement is an error (42710), never "last one wins"."""
    seen: set[str] = set()
    for name, _ in options:
        if name in seen:
            raise DuplicateObject(f'option "{name}" specified more than once', hint="Give each option once.")
        seen.add(name)


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


def _check_spec(spec: OptionSpec) -> None:
    """Catch schema mistakes when the schema is built, not when a user trips over them."""
    if spec.kind == "enum" and not spec.allowed:
        raise ValueError(f"enum option {spec.name!r} has no allowed values")
    if spec.kind == "enum" and spec.default is not None and spec.default not in spec.allowed:
        raise ValueError(f"default of {spec.name!r} is not an allowed value")
    if spec.required and spec.default is not None:
        raise ValueError(f"required option {spec.name!r} has a default")
    if spec.secret_required and not spec.secret_ok:
        raise ValueError(f"option {spec.name!r} requires a secret but does not accept one")


# --- options and checks shared by sinks and sources ----------------------------------------------
def _topic_problem(value: str) -> str | None:
    if len(value) > 249 or value in {".", ".."} or not re.fullmatch(r"[A-Za-z0-9._-]+", value):
        return "a Kafka topic name has 1 to 249 characters from a-z, A-Z, 0-9, '.', '_' and '-'"
    return None


def _message_name_problem(value: str) -> str | None:
    if not re.fullmatch(r"\.?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", value):
        return "expected a fully qualified Protobuf message name such as 'com.example.Event'"
    return None


def connection_type_spec(kind: str) -> OptionSpec:
    return OptionSpec(
        name="type",
        kind="enum",
        required=True,
        allowed=(kind,),
        description="'sink' to produce to Kafka, 'source' to consume from it",
    )


def bootstrap_servers_spec() -> OptionSpec:
    return OptionSpec(
        name="bootstrap_servers",
        kind="servers",
        required=True,
        description="Comma-separated list of Kafka brokers (host:port)",
    )


def topic_spec(description: str) -> OptionSpec:
    return OptionSpec(name="topic", kind="string", check=_topic_problem, description=description)


FORMATS = ("json", "avro", "protobuf", "raw")
REGISTRY_FORMATS = ("avro", "protobuf")

SCHEMA_REGISTRY_SPECS = (
    OptionSpec(
        name="schema_registry.endpoint",
        kind="url",
        description="Confluent Schema Registry URL (http or https) for avro and protobuf",
    ),
    OptionSpec(
        name="schema_registry.api_key",
        kind="string",
        secret_ok=True,
        description="Schema Registry basic-auth user name (a '${secret:name}' reference or text)",
    ),
    OptionSpec(
        name="schema_registry.api_secret",
        kind="string",
        secret_ok=True,
        secret_required=True,
        description="Schema Registry basic-auth password; must be a '${secret:name}' reference",
    ),
)

PROTOBUF_SPECS = (
    OptionSpec(
        name="protobuf.message",
        kind="string",
        check=_message_name_problem,
        description="Fully qualified Protobuf message name (format protobuf)",
    ),
    OptionSpec(
        name="protobuf.descriptor_file",
        kind="string",
        description="Path of a compiled FileDescriptorSet to take the message from instead of the registry",
    ),
)

ERROR_POLICY_SPECS = (
    OptionSpec(
        name="error_policy",
        kind="enum",
        allowed=("fail", "skip", "dlq"),
        default="fail",
        description="What a record that cannot be processed does: fail the statement or pipeline, "
        "skip it (counted) or send it to dlq_connection",
    ),
    OptionSpec(
        name="dlq_connection",
        kind="string",
        description="Sink connection that receives failed records (with error_policy = 'dlq')",
    ),
)


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
TLS_PROTOCOLS = ("SSL", "SASL_SSL")

SECURITY_SPECS = (
    OptionSpec(
        name="security.protocol",
        kind="enum",
        allowed=SECURITY_PROTOCOLS,
        default="PLAINTEXT",
        description="How to reach the brokers: PLAINTEXT, SSL (TLS checked against the system's CAs), "
        "SASL_PLAINTEXT or SASL_SSL (a SASL login, without or with TLS)",
    ),
    OptionSpec(
        name="sasl.mechanism",
        kind="enum",
        allowed=("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
        description="SASL login mechanism (with a SASL_* security.protocol)",
    ),
    OptionSpec(
        name="sasl.username", kind="string", secret_ok=True, description="SASL user name (text or secret)"
    ),
    OptionSpec(
        name="sasl.password",
        kind="string",
        secret_ok=True,
        secret_required=True,
        description="SASL password; must be a '${secret:name}' reference",
    ),
)
# what a SASL connection needs, with the example a hint shows when one is missing
_SASL_EXAMPLES = {
    "sasl.mechanism": "'sasl.mechanism' = 'SCRAM-SHA-512'",
    "sasl.username": "'sasl.username' = 'laminar'",
    "sasl.password": "'sasl.password' = '${secret:kafka_password}'",
}


def check_security(context: CheckContext) -> None:
    """``sasl.*`` only with a SASL protocol, and a SASL protocol needs all three of them."""
    protocol = context.string("security.protocol")
    if protocol not in SASL_PROTOCOLS:
        for name in _SASL_EXAMPLES:
            if context.given(name):
                raise context.fail(
                    f"option \"{name}\" applies only with security.protocol 'SASL_PLAINTEXT' or "
                    f"'SASL_SSL' (security.protocol is '{protocol}')",
                    hint=f"Set 'security.protocol' = 'SASL_SSL' (or 'SASL_PLAINTEXT'), or remove \"{name}\".",
                )
        return
    missing = [name for name in _SASL_EXAMPLES if not context.given(name)]
    if missing:
        names = _and_list([f'"{name}"' for name in missing])
        raise context.fail(
            f"security.protocol '{protocol}' needs option{'s' if len(missing) > 1 else ''} {names}",
            hint="Add " + _and_list([_SASL_EXAMPLES[name] for name in missing]) + ".",
        )


def _and_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def check_error_policy(context: CheckContext) -> None:
    """``dlq`` needs a ``dlq_connection``; a ``dlq_connection`` without ``dlq`` would be ignored."""
    policy = context.string("error_policy")
    if policy == "dlq" and not context.given("dlq_connection"):
        raise context.fail(
            "error_policy 'dlq' needs option \"dlq_connection\"",
            hint="Name a sink connection: dlq_connection = 'my_dlq_sink'.",
        )
    if policy != "dlq" and context.given("dlq_connection"):
        raise context.fail(
            f"option \"dlq_connection\" applies only with error_policy 'dlq' (error_policy is '{policy}')",
            hint="Add error_policy = 'dlq', or remove dlq_connection.",
        )


def check_format_options(context: CheckContext, *, key_uses_registry: bool = False) -> None:
    """Format-specific options only with their format; avro/protobuf need a schema source."""
    fmt = context.string("format")
    uses_registry = fmt in REGISTRY_FORMATS or key_uses_registry
    for name in ("json.pretty", "json.include_nulls"):
        if context.given(name) and fmt != "json":
            raise _only_with_format(context, name, "'json'", fmt)
    for name in ("protobuf.message", "protobuf.descriptor_file"):
        if context.given(name) and fmt != "protobuf":
            raise _only_with_format(context, name, "'protobuf'", fmt)
    if not uses_registry:
        for spec in SCHEMA_REGISTRY_SPECS:
            if context.given(spec.name):
                raise _only_with_format(context, spec.name, "'avro' or 'protobuf'", fmt)
    has_registry = context.given("schema_registry.endpoint")
    if fmt == "avro" and not has_registry:
        raise context.fail(
            "format 'avro' needs option \"schema_registry.endpoint\"",
            hint="Add 'schema_registry.endpoint' = 'http://schema-registry:8081'.",
        )
    if fmt == "protobuf":
        if not context.given("protobuf.message"):
            raise context.fail(
                "format 'protobuf' needs option \"protobuf.message\"",
                hint="Name the message: 'protobuf.message' = 'com.example.Event'.",
            )
        if not has_registry and not context.given("protobuf.descriptor_file"):
            raise context.fail(
                'format \'protobuf\' needs option "schema_registry.endpoint" or "protobuf.descriptor_file"',
                hint="Add 'schema_registry.endpoint' = 'http://schema-registry:8081'.",
            )
    key_given = context.given("schema_registry.api_key")
    if key_given != context.given("schema_registry.api_secret"):
        missing = "schema_registry.api_secret" if key_given else "schema_registry.api_key"
        raise context.fail(
            f'option "{missing}" is missing: the Schema Registry credentials come as a pair',
            hint="Give both 'schema_registry.api_key' and 'schema_registry.api_secret', or neither.",
        )
    if key_given and not has_registry:
        raise context.fail(
            'Schema Registry credentials need option "schema_registry.endpoint"',
            hint="Add 'schema_registry.endpoint' = 'https://...'.",
        )


def _only_with_format(
    context: CheckContext, name: str, wanted: str, fmt: str | None
) -> InvalidParameterValue:
    return context.fail(
        f"option \"{name}\" applies only to format {wanted} (format is '{fmt}')",
        hint=f'Remove "{name}", or change the format.',
    )


def check_declared_column(context: CheckContext, option: str, *, also_allowed: Sequence[str] = ()) -> None:
    """A routing option must name a declared column (skipped when no columns are declared)."""
    column = context.string(option)
    if column is None or not context.columns or column in context.columns or column in also_allowed:
        return
    raise UndefinedColumn(
        f'column "{column}" named by option "{option}" is not a column of this connection',
        hint="Declared columns: " + ", ".join([*context.columns, *also_allowed]) + ".",
    )


# --- dispatch on 'type' -----------------------------------------------------------------------
def schema_for(kind: str) -> OptionSchema:
    """The schema of a connection type ('sink' or 'source')."""
    # sinks.options and sources.options build their schemas from this module, so importing them at
    # the top would be an import cycle; they are imported when a schema is first asked for.
    if kind == "sink":
        from sinks.options import SINK_OPTIONS  # noqa: PLC0415

        return SINK_OPTIONS
    if kind == "source":
        from sources.options import SOURCE_OPTIONS  # noqa: PLC0415

        return SOURCE_OPTIONS
    raise _bad_connection_type(kind)


def validate_connection_options(
    options: Sequence[tuple[str, str]],
    *,
    secret_exists: Callable[[str], bool],
    columns: Sequence[str] = (),
) -> ValidatedOptions:
    """Validate the options of ``CREATE CONNECTION ... TO kafka (...)`` with the schema their
    ``type`` option picks; ``columns`` are the declared column names (empty when none)."""
    reject_duplicates(options)
    types = [value for name, value in options if name == "type"]
    if not types:
        raise InvalidParameterValue(
            'missing required option "type"',
            hint="Add type = 'sink' (to produce to Kafka) or type = 'source' (to consume from it).",
        )
    kind = types[0].strip().lower()
    if kind not in CONNECTION_TYPES:
        raise _bad_connection_type(types[0])
    return schema_for(kind).validate(options, secret_exists=secret_exists, columns=columns)


def describe_options(kind: str) -> list[OptionSpec]:
    """Every option of a connection type, in documentation order (for docs and system views)."""
    return list(schema_for(kind).specs)


def _bad_connection_type(value: str) -> InvalidParameterValue:
    suggestion = closest(value.strip().lower(), CONNECTION_TYPES)
    return InvalidParameterValue(
        f'invalid value "{value}" for option "type": allowed values are sink, source',
        hint=f"Did you mean '{suggestion}'?" if suggestion else "Use type = 'sink' or type = 'source'.",
    )
