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

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from catalog.option_values import OptionSpec, SecretRef, check_spec, closest, parse_value
from gateway.errors import DuplicateObject, InvalidParameterValue, UndefinedColumn, UndefinedObject

CONNECTION_TYPES = ("sink", "source")


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
            check_spec(spec)

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


def reject_duplicates(options: Sequence[tuple[str, str]]) -> None:
    """An option given twice in one statement is an error (42710), never "last one wins"."""
    seen: set[str] = set()
    for name, _ in options:
        if name in seen:
            raise DuplicateObject(f'option "{name}" specified more than once', hint="Give each option once.")
        seen.add(name)


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
