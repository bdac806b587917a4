"""A Kafka connection's security options as aiokafka keyword arguments (TLS and the SASL login).

Sources and sinks reach brokers the same way: ``'security.protocol'`` (PLAINTEXT, SSL, SASL_PLAINTEXT,
SASL_SSL) and, with a SASL protocol, ``'sasl.mechanism'``, ``'sasl.username'`` and ``'sasl.password'``
(checked together by :func:`catalog.options.check_security`). Options written as
``'${secret:name}'`` are taken from ``resolved`` (option name → the secret's plaintext), which the
caller fills when the connection is used; plaintext never reaches a repr or a log from here.
TLS is verified against the system's CAs with host name checks, as Kafka's clients do by default.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

from catalog.option_values import SecretRef
from catalog.options import SASL_PROTOCOLS, TLS_PROTOCOLS, ValidatedOptions

__all__ = ["option_text", "security_kwargs"]


def option_text(options: ValidatedOptions, resolved: Mapping[str, str], name: str) -> str | None:
    """A text option's value, with a ``'${secret:name}'`` reference replaced by its resolved value."""
    value = options.get(name)
    if isinstance(value, SecretRef):
        if name not in resolved:
            raise KeyError(f"the secret of option {name!r} ({value.name}) was not resolved")
        return resolved[name]
    return options.string(name)


def security_kwargs(options: ValidatedOptions, resolved: Mapping[str, str]) -> dict[str, Any]:
    """aiokafka's arguments for TLS and the SASL login (the SCRAM mechanisms take the
    ``sasl_plain_*`` credentials too), for a producer, a consumer or an admin client."""
    protocol = options.string("security.protocol") or "PLAINTEXT"
    kwargs: dict[str, Any] = {
        "security_protocol": protocol,
        "ssl_context": ssl.create_default_context() if protocol in TLS_PROTOCOLS else None,
    }
    if protocol in SASL_PROTOCOLS:
        kwargs.update(
            sasl_mechanism=options.string("sasl.mechanism"),
            sasl_plain_username=option_text(options, resolved, "sasl.username"),
            sasl_plain_password=option_text(options, resolved, "sasl.password"),
        )
    return kwargs
