"""Teach aiokafka 0.14 the flexible InitProducerId v3 request (plus two smaller fixes), so
idempotence, transactions, zombie fencing and acks=0 work against the test broker.

Why this module exists: aiokafka 0.14 only knows InitProducerId **v0** (API key 22). The test
broker, Tansu, rejects v0 and v1 (it needs the producer id/epoch fields that v3 added, KIP-360) and
answers UnknownError, so an idempotent or transactional producer never gets a producer id. Real
Apache Kafka accepts v0..v5, so sending v3 changes nothing there.

How aiokafka picks a request version: ``Request.prepare(versions)`` walks the request's
``_CLASSES`` (its versioned request structs, oldest first) from the newest down and builds the
first one inside the broker's ApiVersions range. :func:`install` appends
:class:`InitProducerIdRequestV3` to ``InitProducerIdRequest._CLASSES``; the stock
``InitProducerIdRequest.build`` calls the chosen struct with ``(transactional_id,
transaction_timeout_ms)``, so the v3 struct fills in ``producer_id = -1`` and ``producer_epoch = -1``
("a new producer") and empty tagged fields itself. The sender (``aiokafka.producer.sender``)
only reads ``error_code``, ``producer_id`` and ``producer_epoch`` of the response, which the v3
response has under the same names.

Error code 90 (PRODUCER_FENCED, KIP-588): aiokafka 0.14 does not know it and turns it into
UnknownError. Tansu answers a produce request of a fenced producer (a newer producer took its
transactional.id) with code 90, so :func:`install` registers :class:`ProducerFencedResponse`, a
``ProducerFenced`` subclass, for that code; the producer then reports fencing instead of an
unknown server error. Apache Kafka answers old-version requests with INVALID_PRODUCER_EPOCH (47),
which aiokafka already turns into ``ProducerFenced``.

Answers to acks=0 produce requests: Kafka never answers a produce request with acks=0, and
aiokafka does not wait for one; Tansu answers anyway. aiokafka then reads a frame that no request
waits for (or one older than the request at the head of its queue) and closes the connection, so
the next acks=0 batches written to it are lost. :func:`install` wraps
``AIOKafkaConnection._handle_frame`` to drop such frames (a correlation id below the awaited one,
or nothing awaited at all); with Apache Kafka they never occur.

The shim touches private attributes, so it refuses to run on an aiokafka minor version it was
not tested with (pyproject.toml pins ``aiokafka==0.14.*``). Importing this module only defines
classes; :func:`install` does the registration and may be called any number of times.
"""

from __future__ import annotations

import functools
import logging
import struct
from collections.abc import Callable
from typing import Any

import aiokafka
from aiokafka import conn, errors
from aiokafka.protocol import transaction
from aiokafka.protocol.api import RequestStruct, Response
from aiokafka.protocol.types import CompactString, Int16, Int32, Int64, Schema, TaggedFields

TESTED_AIOKAFKA_MINOR = (0, 14)
INIT_PRODUCER_ID_API_KEY = 22
NEW_PRODUCER_ID = -1
NEW_PRODUCER_EPOCH = -1
PRODUCER_FENCED_ERROR_CODE = 90

log = logging.getLogger(__name__)


class IncompatibleAiokafkaVersion(RuntimeError):
    """The installed aiokafka is not the minor version the InitProducerId v3 shim was tested with."""


class ProducerFencedResponse(errors.BrokerResponseError, errors.ProducerFenced):  # type: ignore[misc]
    """Broker error code 90: a newer producer with the same transactional.id fenced this one."""

    errno = PRODUCER_FENCED_ERROR_CODE
    message = "PRODUCER_FENCED"
    description = "There is a newer producer with the same transactionalId which fences the current one."


class InitProducerIdResponseV3(Response):  # type: ignore[misc]  # aiokafka ships no type hints
    """InitProducerId response v3: flexible (compact) encoding with a tagged-field trailer."""

    API_KEY = INIT_PRODUCER_ID_API_KEY
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("tags", TaggedFields),
    )


class InitProducerIdRequestV3(RequestStruct):  # type: ignore[misc]  # aiokafka ships no type hints
    """InitProducerId request v3 (flexible): a new producer asks for an id (-1/-1 = none yet)."""

    FLEXIBLE_VERSION = True  # request header v2 / response header v1, as every flexible version
    API_KEY = INIT_PRODUCER_ID_API_KEY
    API_VERSION = 3
    RESPONSE_TYPE = InitProducerIdResponseV3
    SCHEMA = Schema(
        ("transactional_id", CompactString("utf-8")),
        ("transaction_timeout_ms", Int32),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("tags", TaggedFields),
    )

    def __init__(
        self,
        transactional_id: str | None,
        transaction_timeout_ms: int,
        producer_id: int = NEW_PRODUCER_ID,
        producer_epoch: int = NEW_PRODUCER_EPOCH,
        tags: dict[int, bytes] | None = None,
    ) -> None:
        # InitProducerIdRequest.build passes only the first two fields (the v0 ones).
        super().__init__(transactional_id, transaction_timeout_ms, producer_id, producer_epoch, tags or {})


def unanswered_frame(awaited_correlation_id: int | None, frame: bytes) -> bool:
    """Whether a response frame answers no waiting request: nothing is awaited, or its correlation
    id is older than the awaited one (an answer to an acks=0 produce request sent before it)."""
    if awaited_correlation_id is None:
        return False  # a SASL handshake frame: it carries no correlation id
    received: int = struct.unpack_from(">i", frame)[0]
    return received < awaited_correlation_id


def _dropping_unanswered_frames(handle_frame: Callable[[Any, bytes], None]) -> Callable[[Any, bytes], None]:
    @functools.wraps(handle_frame)
    def handle_awaited_frame(connection: Any, frame: bytes) -> None:
        requests = connection._requests
        if not requests or unanswered_frame(requests[0][0], frame):
            log.debug("dropped a broker answer to a request sent without expecting one (acks=0)")
            return
        handle_frame(connection, frame)

    handle_awaited_frame.laminar_shim = True  # type: ignore[attr-defined]
    return handle_awaited_frame


def check_aiokafka_version(installed: str) -> None:
    """Raise :class:`IncompatibleAiokafkaVersion` unless ``installed`` is an aiokafka 0.14.x version."""
    parts = installed.split(".")
    try:
        minor = (int(parts[0]), int(parts[1]))
    except (IndexError, ValueError):
        minor = None
    if minor != TESTED_AIOKAFKA_MINOR:
        tested = ".".join(map(str, TESTED_AIOKAFKA_MINOR))
        raise IncompatibleAiokafkaVersion(
            f"aiokafka {installed} is installed, but sinks/kafka_compat.py (the InitProducerId v3 "
            f"shim that idempotent and transactional producers need) was tested with aiokafka "
            f"{tested}.x only. Install aiokafka=={tested}.*, or check that the new version still "
            "picks request versions through Request._CLASSES (and whether it speaks "
            "InitProducerId v3 itself) and then update TESTED_AIOKAFKA_MINOR."
        )


def install() -> None:
    """Register the three fixes with aiokafka (idempotent; checks the aiokafka version first)."""
    check_aiokafka_version(aiokafka.__version__)
    errors.kafka_errors.setdefault(PRODUCER_FENCED_ERROR_CODE, ProducerFencedResponse)
    connection_class: Any = conn.AIOKafkaConnection
    if not getattr(connection_class._handle_frame, "laminar_shim", False):
        connection_class._handle_frame = _dropping_unanswered_frames(connection_class._handle_frame)
    request: Any = transaction.InitProducerIdRequest
    classes = getattr(request, "_CLASSES", None)
    if not isinstance(classes, tuple) or not classes:
        raise IncompatibleAiokafkaVersion(
            "aiokafka's InitProducerIdRequest has no _CLASSES tuple; the InitProducerId v3 shim "
            "in sinks/kafka_compat.py cannot register itself"
        )
    if InitProducerIdRequestV3 in classes:
        return
    if any(cls.API_VERSION >= InitProducerIdRequestV3.API_VERSION for cls in classes):
        return  # aiokafka already speaks v3 or newer itself
    request._CLASSES = (*classes, InitProducerIdRequestV3)


def installed() -> bool:
    """Whether :func:`install` has registered all three fixes."""
    classes: tuple[type, ...] = getattr(transaction.InitProducerIdRequest, "_CLASSES", ())
    return (
        InitProducerIdRequestV3 in classes
        and PRODUCER_FENCED_ERROR_CODE in errors.kafka_errors
        and getattr(conn.AIOKafkaConnection._handle_frame, "laminar_shim", False) is True
    )
