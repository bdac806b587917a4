"""SASL and TLS options of Kafka connections: typed values, cross-checks, secrets, producer settings.

``'security.protocol'``, ``'sasl.mechanism'``, ``'sasl.username'`` and ``'sasl.password'`` are shared
by sink and source connections (specs and check in :mod:`catalog.options`), so every rule is checked
for both types. :class:`sinks.producer.ProducerSettings` turns them into aiokafka's arguments with
the secrets resolved; an ``AIOKafkaProducer`` built from those arguments (never started, so no
sockets) shows that aiokafka accepts them as they are.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaProducer

from catalog.model import secret_reference
from catalog.option_values import SecretRef
from catalog.options import ValidatedOptions, describe_options, validate_connection_options
from gateway.errors import LaminarError
from sinks.producer_settings import ProducerSettings

SECRETS = {"kafka_user": "secret-user-name", "kafka_pw": "secret-pass-word-7c1e"}
KINDS = ("sink", "source")
SASL = [
    ("security.protocol", "SASL_SSL"),
    ("sasl.mechanism", "SCRAM-SHA-512"),
    ("sasl.username", "laminar"),
    ("sasl.password", "${secret:kafka_pw}"),
]
NOT_SASL_HINT = "Set 'security.protocol' = 'SASL_SSL' (or 'SASL_PLAINTEXT'), or remove \"{}\"."
SASL_NEEDS_HINT = (
    "Add 'sasl.mechanism' = 'SCRAM-SHA-512', 'sasl.username' = 'laminar' and "
    "'sasl.password' = '${secret:kafka_password}'."
)
LITERAL_PASSWORD = "hunter2-literal-pw"


def base(kind: str) -> list[tuple[str, str]]:
    return [("bootstrap_servers", "broker:9093"), ("topic", "events"), ("type", kind), ("format", "json")]


def validate(options: list[tuple[str, str]]) -> ValidatedOptions:
    return validate_connection_options(options, secret_exists=SECRETS.__contains__)


def resolve(options: list[tuple[str, str]]) -> dict[str, str]:
    """What Catalog.resolve_options hands the sink: every value, secret references replaced."""
    return {name: SECRETS.get(secret_reference(value) or "", value) for name, value in options}


def without(options: list[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    return [(name, value) for name, value in options if name not in names]


# --- valid connections ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_plaintext_is_the_default_and_sasl_options_are_unset(kind: str) -> None:
    validated = validate(base(kind))
    assert validated.get("security.protocol") == "PLAINTEXT"
    assert [validated.get(name) for name in ("sasl.mechanism", "sasl.username", "sasl.password")] == [
        None,
        None,
        None,
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_a_sasl_connection_is_typed_and_keeps_its_secret_reference(kind: str) -> None:
    validated = validate(
        [
            *base(kind),
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanism", "scram-sha-512"),
            ("sasl.username", "laminar"),
            ("sasl.password", "${secret:kafka_pw}"),
        ]
    )
    assert validated.get("security.protocol") == "SASL_SSL"
    assert validated.get("sasl.mechanism") == "SCRAM-SHA-512"
    assert validated.get("sasl.username") == "laminar"
    assert validated.get("sasl.password") == SecretRef("kafka_pw")
    assert validated.explicit == set(dict(base(kind))) | {
        "security.protocol",
        "sasl.mechanism",
        "sasl.username",
        "sasl.password",
    }


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_every_mechanism_with_sasl_plaintext_and_a_secret_user_name(kind: str, mechanism: str) -> None:
    validated = validate(
        [
            *base(kind),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", mechanism),
            ("sasl.username", "${secret:kafka_user}"),
            ("sasl.password", "${secret:kafka_pw}"),
        ]
    )
    assert validated.get("security.protocol") == "SASL_PLAINTEXT"
    assert validated.get("sasl.mechanism") == mechanism
    assert validated.secret_or_text("sasl.username") == SecretRef("kafka_user")


@pytest.mark.parametrize("kind", KINDS)
def test_ssl_needs_no_sasl_options(kind: str) -> None:
    validated = validate([*base(kind), ("security.protocol", "ssl")])
    assert validated.get("security.protocol") == "SSL"
    assert validated.get("sasl.mechanism") is None


@pytest.mark.parametrize("kind", KINDS)
def test_the_schemas_document_the_security_options(kind: str) -> None:
    specs = {spec.name: spec for spec in describe_options(kind)}
    assert specs["security.protocol"].allowed == ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
    assert specs["security.protocol"].default == "PLAINTEXT"
    assert specs["sasl.mechanism"].allowed == ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
    assert (specs["sasl.username"].secret_ok, specs["sasl.username"].secret_required) == (True, False)
    assert (specs["sasl.password"].secret_ok, specs["sasl.password"].secret_required) == (True, True)
    assert not specs["security.protocol"].secret_ok
    assert not specs["sasl.mechanism"].secret_ok


# --- bad combinations and values -------------------------------------------------------------------
@dataclass(frozen=True)
class Bad:
    id: str
    extra: list[tuple[str, str]]
    sqlstate: str
    message: str
    hint: str | None
    detail: str | None = None


BAD = [
    Bad(
        "mechanism_with_default_plaintext",
        [("sasl.mechanism", "PLAIN")],
        "22023",
        "option \"sasl.mechanism\" applies only with security.protocol 'SASL_PLAINTEXT' or 'SASL_SSL' "
        "(security.protocol is 'PLAINTEXT')",
        NOT_SASL_HINT.format("sasl.mechanism"),
    ),
    Bad(
        "username_with_explicit_plaintext",
        [("security.protocol", "PLAINTEXT"), ("sasl.username", "laminar")],
        "22023",
        "option \"sasl.username\" applies only with security.protocol 'SASL_PLAINTEXT' or 'SASL_SSL' "
        "(security.protocol is 'PLAINTEXT')",
        NOT_SASL_HINT.format("sasl.username"),
    ),
    Bad(
        "password_with_ssl",
        [("security.protocol", "SSL"), ("sasl.password", "${secret:kafka_pw}")],
        "22023",
        "option \"sasl.password\" applies only with security.protocol 'SASL_PLAINTEXT' or 'SASL_SSL' "
        "(security.protocol is 'SSL')",
        NOT_SASL_HINT.format("sasl.password"),
    ),
    Bad(
        "sasl_plaintext_alone",
        [("security.protocol", "SASL_PLAINTEXT")],
        "22023",
        'security.protocol \'SASL_PLAINTEXT\' needs options "sasl.mechanism", "sasl.username" and '
        '"sasl.password"',
        SASL_NEEDS_HINT,
    ),
    Bad(
        "sasl_ssl_without_credentials",
        SASL[:2],
        "22023",
        'security.protocol \'SASL_SSL\' needs options "sasl.username" and "sasl.password"',
        "Add 'sasl.username' = 'laminar' and 'sasl.password' = '${secret:kafka_password}'.",
    ),
    Bad(
        "sasl_ssl_without_password",
        SASL[:3],
        "22023",
        "security.protocol 'SASL_SSL' needs option \"sasl.password\"",
        "Add 'sasl.password' = '${secret:kafka_password}'.",
    ),
    Bad(
        "sasl_ssl_without_mechanism",
        without(SASL, "sasl.mechanism"),
        "22023",
        "security.protocol 'SASL_SSL' needs option \"sasl.mechanism\"",
        "Add 'sasl.mechanism' = 'SCRAM-SHA-512'.",
    ),
    Bad(
        "protocol_tls",
        [("security.protocol", "TLS")],
        "22023",
        'invalid value "TLS" for option "security.protocol": '
        "allowed values are PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
        None,
    ),
    Bad(
        "protocol_typo_suggests_in_upper_case",
        [("security.protocol", "sasl_ssll")],
        "22023",
        'invalid value "sasl_ssll" for option "security.protocol": '
        "allowed values are PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
        "Did you mean 'SASL_SSL'?",
    ),
    Bad(
        "mechanism_gssapi",
        [*without(SASL, "sasl.mechanism"), ("sasl.mechanism", "GSSAPI")],
        "22023",
        'invalid value "GSSAPI" for option "sasl.mechanism": '
        "allowed values are PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
        None,
    ),
    Bad(
        "mechanism_scram_sha_1",
        [*without(SASL, "sasl.mechanism"), ("sasl.mechanism", "scram-sha-1")],
        "22023",
        'invalid value "scram-sha-1" for option "sasl.mechanism": '
        "allowed values are PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
        "Did you mean 'SCRAM-SHA-512'?",
    ),
    Bad(
        "literal_password",
        [*without(SASL, "sasl.password"), ("sasl.password", LITERAL_PASSWORD)],
        "22023",
        "option \"sasl.password\" must be a secret reference such as '${secret:name}'",
        "Store the value with CREATE SECRET name AS '...' and write sasl.password = '${secret:name}', "
        "so that it is encrypted and never shown back.",
    ),
    Bad(
        "password_secret_does_not_exist",
        [*without(SASL, "sasl.password"), ("sasl.password", "${secret:no_such_pw}")],
        "42704",
        'secret "no_such_pw" does not exist',
        "CREATE SECRET no_such_pw AS '...'",
        'Option "sasl.password" refers to it.',
    ),
    Bad(
        "empty_user_name",
        [*without(SASL, "sasl.username"), ("sasl.username", " ")],
        "22023",
        'invalid value for option "sasl.username": must not be empty',
        None,
    ),
    Bad(
        "secret_for_the_protocol",
        [("security.protocol", "${secret:kafka_user}")],
        "22023",
        'option "security.protocol" cannot take a secret reference',
        "Only credentials (sasl.username, sasl.password, schema_registry.api_key and "
        "schema_registry.api_secret) may be written as '${secret:name}'.",
    ),
    Bad(
        "password_twice",
        [*SASL, ("sasl.password", "${secret:kafka_user}")],
        "42710",
        'option "sasl.password" specified more than once',
        "Give each option once.",
    ),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", BAD, ids=[case.id for case in BAD])
def test_bad_security_options(kind: str, case: Bad) -> None:
    with pytest.raises(LaminarError) as raised:
        validate([*base(kind), *case.extra])
    error = raised.value
    assert (error.sqlstate, error.message, error.hint, error.detail) == (
        case.sqlstate,
        case.message,
        case.hint,
        case.detail,
    )


def test_bad_cases_are_distinct() -> None:
    assert len({case.id for case in BAD}) == len({repr(case.extra) for case in BAD}) == len(BAD)


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("security_protocol", "security.protocol"),
        ("sasl.mechanisms", "sasl.mechanism"),
        ("sasl.user", "sasl.username"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_misspelt_security_options_get_a_suggestion(kind: str, typo: str, suggestion: str) -> None:
    with pytest.raises(LaminarError) as raised:
        validate([*base(kind), (typo, "x")])
    assert (raised.value.sqlstate, raised.value.message, raised.value.hint) == (
        "42704",
        f'unknown option "{typo}" for a Kafka {kind} connection',
        f'Did you mean "{suggestion}"?',
    )


@pytest.mark.parametrize(
    "extra",
    [
        [*without(SASL, "sasl.password"), ("sasl.password", LITERAL_PASSWORD)],
        [*SASL, ("sasl.password", LITERAL_PASSWORD)],
        [*without(SASL, "sasl.password"), ("sasl.password", "${secret:" + LITERAL_PASSWORD)],
        [("sasl.username", LITERAL_PASSWORD)],
        [("security.protocol", "SASL_SSL"), ("sasl.username", LITERAL_PASSWORD)],
    ],
    ids=["literal", "duplicate", "malformed reference", "user name without SASL", "SASL incomplete"],
)
def test_credential_values_never_appear_in_errors(extra: list[tuple[str, str]]) -> None:
    with pytest.raises(LaminarError) as raised:
        validate([*base("sink"), *extra])
    assert raised.value.sqlstate in {"22023", "42710"}
    for text in (raised.value.message, raised.value.detail, raised.value.hint, str(raised.value)):
        assert LITERAL_PASSWORD not in (text or "")


# --- producer settings ------------------------------------------------------------------------------
def settings(options: list[tuple[str, str]]) -> ProducerSettings:
    return ProducerSettings.from_options(validate(options), resolve(options))


def test_plaintext_producer_has_no_tls_and_no_login() -> None:
    assert settings(base("sink")).security_kwargs() == {"security_protocol": "PLAINTEXT", "ssl_context": None}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_plaintext_producer_gets_the_resolved_credentials(mechanism: str) -> None:
    options = [
        *base("sink"),
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", mechanism),
        ("sasl.username", "laminar"),
        ("sasl.password", "${secret:kafka_pw}"),
    ]
    assert settings(options).security_kwargs() == {
        "security_protocol": "SASL_PLAINTEXT",
        "ssl_context": None,
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "laminar",
        "sasl_plain_password": "secret-pass-word-7c1e",
    }


def test_a_secret_user_name_is_resolved_too() -> None:
    options = [*without(SASL, "sasl.username"), ("sasl.username", "${secret:kafka_user}"), *base("sink")]
    produced = settings(options)
    assert (produced.sasl_username, produced.sasl_password) == ("secret-user-name", "secret-pass-word-7c1e")


def assert_verifying_tls(context: object) -> None:
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_sasl_ssl_producer_verifies_tls_and_logs_in() -> None:
    kwargs = settings([*base("sink"), *SASL]).security_kwargs()
    assert_verifying_tls(kwargs.pop("ssl_context"))
    assert kwargs == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "laminar",
        "sasl_plain_password": "secret-pass-word-7c1e",
    }


def test_ssl_producer_verifies_tls_without_a_login() -> None:
    produced = settings([*base("sink"), ("security.protocol", "SSL")])
    kwargs = produced.security_kwargs()
    assert_verifying_tls(kwargs.pop("ssl_context"))
    assert kwargs == {"security_protocol": "SSL"}
    assert (produced.sasl_mechanism, produced.sasl_username, produced.sasl_password) == (None, None, None)


def test_the_resolved_password_is_not_in_the_settings_repr() -> None:
    produced = settings([*base("sink"), *SASL])
    assert produced.sasl_password == "secret-pass-word-7c1e"
    assert "secret-pass-word-7c1e" not in repr(produced)
    assert "SASL_SSL" in repr(produced)


@pytest.mark.parametrize(
    "security",
    [
        [],
        [("security.protocol", "SSL")],
        [*without(SASL, "security.protocol"), ("security.protocol", "SASL_PLAINTEXT")],
        SASL,
    ],
    ids=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"],
)
async def test_aiokafka_accepts_the_security_arguments(security: list[tuple[str, str]]) -> None:
    produced = settings([*base("sink"), *security])
    # aiokafka checks these arguments when the producer is built (no socket is opened before start()):
    # SSL without an ssl_context or SASL without credentials would raise ValueError here.
    producer = AIOKafkaProducer(
        bootstrap_servers=list(produced.bootstrap_servers), **produced.security_kwargs()
    )
    try:
        assert producer.client._security_protocol == produced.security_protocol
        assert producer.client._ssl_context is produced.ssl_context
    finally:
        await producer.stop()
