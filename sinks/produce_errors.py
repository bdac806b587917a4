"""What a produce can end in: ProduceError and its subclasses, each with a SQLSTATE and a
``retriable`` flag, and the translation of aiokafka's exceptions into them.

Kept apart from :mod:`sinks.producer` so that callers (the sink, the pipelines) can catch these
without importing the producer machinery.
"""

from __future__ import annotations

from typing import ClassVar

from aiokafka import errors as kafka_errors

from gateway.errors import LaminarError


# --- errors ------------------------------------------------------------------------------------
class ProduceError(LaminarError):
    """Kafka did not take the records (a broker error that retrying cannot fix)."""

    sqlstate: ClassVar[str] = "58000"


class RetriableProduceError(ProduceError):
    retriable = True


class BrokerUnavailable(ProduceError):
    sqlstate = "08006"
    retriable = True


class DeliveryTimeout(BrokerUnavailable):
    pass


class BufferExhausted(ProduceError):
    sqlstate = "53000"
    retriable = True


class RecordTooLarge(ProduceError):
    sqlstate = "22023"


class PartitionNotFound(ProduceError):
    sqlstate = "22023"


class TopicNotFound(ProduceError):
    sqlstate = "42704"


class KafkaAccessDenied(ProduceError):
    sqlstate = "42501"


class ProducerFencedError(ProduceError):
    """A newer producer with the same ``transactional.id`` started: this one may not write."""

    sqlstate = "40000"


class TransactionStateError(ProduceError):
    sqlstate = "25000"


class CompressionUnavailable(ProduceError):
    sqlstate = "0A000"


class ProducerReset(kafka_errors.KafkaError):  # type: ignore[misc]  # aiokafka ships no type hints
    """Fails every batch still pending in aiokafka when the producer gives up on delivery."""


# --- values ------------------------------------------------------------------------------------
# --- error translation ---------------------------------------------------------------------------
def describe_error(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_retriable(exc: BaseException) -> bool:
    if isinstance(exc, ProducerReset | kafka_errors.ProducerFenced):
        return False
    return isinstance(exc, kafka_errors.KafkaTimeoutError) or bool(getattr(exc, "retriable", False))


_TRANSLATIONS: tuple[tuple[tuple[type[BaseException], ...], type[ProduceError], str], ...] = (
    (
        (
            kafka_errors.MessageSizeTooLargeError,
            kafka_errors.RecordListTooLargeError,
            kafka_errors.RecordTooLargeError,
        ),
        RecordTooLarge,
        "the broker refused a record batch as too large",
    ),
    (
        (
            kafka_errors.TopicAuthorizationFailedError,
            kafka_errors.ClusterAuthorizationFailedError,
            kafka_errors.TransactionalIdAuthorizationFailed,
        ),
        KafkaAccessDenied,
        "the Kafka cluster denied access",
    ),
    (
        (kafka_errors.IllegalOperation, kafka_errors.InvalidTxnState),
        TransactionStateError,
        "invalid transaction state",
    ),
    (
        (
            ProducerReset,
            kafka_errors.KafkaConnectionError,
            kafka_errors.NodeNotReadyError,
            kafka_errors.NoBrokersAvailable,
            kafka_errors.RequestTimedOutError,
            kafka_errors.KafkaTimeoutError,
            TimeoutError,
            OSError,
        ),
        BrokerUnavailable,
        "Kafka is unreachable",
    ),
)


def translate(exc: BaseException, *, what: str, topic: str | None = None) -> ProduceError:
    """The :class:`ProduceError` for an aiokafka error that happened while doing ``what``."""
    if isinstance(exc, ProduceError):
        return exc
    detail = describe_error(exc)
    if isinstance(exc, kafka_errors.UnknownTopicOrPartitionError) and topic is not None:
        return TopicNotFound(
            f'Kafka topic "{topic}" does not exist',
            detail=detail,
            hint="Create the topic, or let the brokers create topics (auto.create.topics.enable).",
        )
    if isinstance(exc, kafka_errors.ProducerFenced):
        return ProducerFencedError(
            f"{what} failed: a newer producer with the same transactional.id fenced this one",
            detail=detail,
            hint="Another gateway or pipeline writes with this transactional.id; the open "
            "transaction was aborted.",
        )
    for kinds, error_class, problem in _TRANSLATIONS:
        if isinstance(exc, kinds):
            return error_class(f"{what} failed: {problem}", detail=detail)
    if is_retriable(exc):
        return RetriableProduceError(f"{what} failed after retries", detail=detail)
    return ProduceError(f"{what} failed", detail=detail)


# --- buffer.memory -------------------------------------------------------------------------------
