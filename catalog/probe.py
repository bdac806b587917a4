"""Asking a connection's Kafka brokers what they have: reachability, topics and partitions.

Used by ``SELECT test_connection('name')`` and ``system.kafka_topics``. Every probe is bounded
by a timeout and reports failures as data (a reason a user can act on), never as a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class TopicInfo:
    name: str
    partitions: int
    internal: bool


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    brokers: int = 0
    topics: tuple[TopicInfo, ...] = ()
    error: str | None = None

    def topic(self, name: str) -> TopicInfo | None:
        return next((t for t in self.topics if t.name == name), None)


async def probe_brokers(bootstrap_servers: str, *, timeout_s: float = PROBE_TIMEOUT_S) -> ProbeResult:
    """Connect to the brokers and read cluster metadata, within ``timeout_s``."""
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=int(timeout_s * 1000),
        client_id="laminar-probe",
    )
    try:
        async with asyncio.timeout(timeout_s):
            await client.bootstrap()
            metadata = await client.fetch_all_metadata()
    except TimeoutError:
        return ProbeResult(False, error=f"no answer from {bootstrap_servers} within {timeout_s:g} s")
    except (KafkaError, OSError) as exc:
        return ProbeResult(False, error=f"cannot reach {bootstrap_servers}: {exc}")
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    topics = tuple(
        TopicInfo(name, len(metadata.partitions_for_topic(name) or ()), name.startswith("__"))
        for name in sorted(metadata.topics())
    )
    return ProbeResult(True, brokers=len(metadata.brokers()), topics=topics)


def describe_probe(connection: str, topic: str | None, result: ProbeResult) -> str:
    """One line for test_connection(): what works and what does not."""
    if not result.ok:
        return f"FAILED: connection {connection}: {result.error}"
    where = f"{result.brokers} broker{'s' if result.brokers != 1 else ''}"
    if not topic:
        return f"OK: connection {connection} reached {where}"
    info = result.topic(topic)
    if info is None:
        return (
            f"OK: connection {connection} reached {where}; topic {topic} does not exist yet "
            "(it will be created on first write if the broker allows automatic creation)"
        )
    return f"OK: connection {connection} reached {where}; topic {topic} has {info.partitions} partitions"
