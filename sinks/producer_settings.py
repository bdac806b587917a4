"""A sink connection's options as the producer needs them: typed, defaults applied, secrets
resolved, and turned into aiokafka's keyword arguments (including SASL and TLS).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog.kafka_security import option_text
from catalog.options import SASL_PROTOCOLS, TLS_PROTOCOLS, ValidatedOptions


@dataclass(frozen=True, slots=True)
class ProducerSettings:
    """The producer's view of a sink connection's options (typed, defaults applied)."""

    bootstrap_servers: tuple[str, ...]
    acks: int | str
    idempotent: bool
    transactional_id: str | None
    transaction_timeout_ms: int
    compression: str | None
    batch_messages: int
    batch_bytes: int
    linger_ms: int
    max_request_size: int
    buffer_memory: int
    send_buffer_bytes: int
    retries: int
    retry_backoff_ms: int
    request_timeout_ms: int
    delivery_timeout_ms: int
    max_in_flight: int
    security_protocol: str
    sasl_mechanism: str | None
    sasl_username: str | None
    sasl_password: str | None = field(repr=False)  # the resolved secret: never in a repr or a log
    ssl_context: ssl.SSLContext | None = field(repr=False, compare=False)

    def security_kwargs(self) -> dict[str, Any]:
        """aiokafka's arguments for TLS and the SASL login (the SCRAM mechanisms take the
        ``sasl_plain_*`` credentials too)."""
        kwargs: dict[str, Any] = {
            "security_protocol": self.security_protocol,
            "ssl_context": self.ssl_context,
        }
        if self.sasl_mechanism is not None:
            kwargs.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        return kwargs

    @classmethod
    def from_options(cls, options: ValidatedOptions, resolved: Mapping[str, str]) -> ProducerSettings:
        def text(name: str) -> str | None:
            return option_text(options, resolved, name)  # secret references resolved

        acks = options.string("acks") or "all"
        compression = options.string("compression") or "none"
        max_request = options.integer("max.request.size")
        buffer_memory = options.integer("buffer.memory")
        protocol = options.string("security.protocol") or "PLAINTEXT"
        sasl = protocol in SASL_PROTOCOLS
        return cls(
            bootstrap_servers=options.servers("bootstrap_servers"),
            acks="all" if acks == "all" else int(acks),
            idempotent=options.boolean("enable.idempotence"),
            transactional_id=text("transactional.id"),
            transaction_timeout_ms=options.integer("transaction.timeout.ms"),
            compression=None if compression == "none" else compression,
            batch_messages=options.integer("batch_size"),
            batch_bytes=min(options.integer("batch.size"), max_request, buffer_memory),
            linger_ms=options.integer("linger.ms"),
            max_request_size=max_request,
            buffer_memory=buffer_memory,
            send_buffer_bytes=options.integer("send.buffer.bytes"),
            retries=options.integer("retries"),
            retry_backoff_ms=options.integer("retry.backoff.ms"),
            request_timeout_ms=options.integer("request.timeout.ms"),
            delivery_timeout_ms=options.integer("delivery.timeout.ms"),
            max_in_flight=options.integer("max.in.flight.requests.per.connection"),
            security_protocol=protocol,
            sasl_mechanism=options.string("sasl.mechanism") if sasl else None,
            sasl_username=text("sasl.username") if sasl else None,
            sasl_password=text("sasl.password") if sasl else None,
            # TLS verified against the system's CAs, with host name checks (Kafka's defaults)
            ssl_context=ssl.create_default_context() if protocol in TLS_PROTOCOLS else None,
        )
