"""Partition choice for the Kafka sink: Kafka's and librdkafka's partitioners, bit for bit.

`partitioner_for(name)` returns a fresh `Partitioner` -- a callable `(key, partitions) -> partition`
-- for one of the names the sink's `partitioner` option accepts (librdkafka's names plus
`round_robin`), or for `None`, the sink default. What each one does, with the source it copies:

| name                | keyed record                          | NULL key (and empty key where noted)  |
|---------------------|---------------------------------------|----------------------------------------|
| None (default)      | murmur2, as the Java client           | round-robin (spec: "No key_field means |
|                     | (BuiltInPartitioner.partitionForKey)  | round-robin distribution")             |
| `murmur2`           | to_positive(murmur2(key)) % n         | hashed as empty bytes: one partition   |
| `murmur2_random`    | same                                  | random                                 |
| `consistent`        | crc32(key) % n                        | NULL and empty: crc32(b"") = 0 -> 0    |
| `consistent_random` | same                                  | NULL and empty: random                 |
| `fnv1a`             | rd_fnv1a(key) % n (Sarama-compatible) | hashed as empty bytes: one partition   |
| `fnv1a_random`      | same                                  | random                                 |
| `random`            | random                                | random                                 |
| `round_robin`       | 0, 1, ..., n-1, 0, ... per record     | same (the key is not looked at)        |

NULL keys follow the contract librdkafka documents for its `partitioner` property ("NULL keys are
mapped to single partition" / "randomly partitioned") and asserts in tests/0048-partitioner.c (run
there with sticky.partitioning.linger.ms = 0). The librdkafka *producer* since 1.5 may hand NULL-key
messages to its sticky partitioner before the configured one runs; that is a batching optimisation
that changes the partition every few milliseconds, which we do not copy: our NULL keys are
deterministic where the documentation says "single partition". An empty key is not NULL: it is
hashed, except by `consistent_random`, which librdkafka sends at random for keylen == 0.

Round-robin state lives in the partitioner object, so the sink keeps one object per topic
(`TopicPartitioners` does that) and a new sink starts at partition 0, like the Java
RoundRobinPartitioner's per-topic counter. `partitions` must be >= 1 (the sink knows the topic's
partition count from metadata before it partitions).

Speed per record (measured with timeit on this 2-core machine, CPython 3.11; first sight of a key /
key seen before): murmur2 of a 10-byte key 1.35 / 0.11 us, of a 36-byte UUID text 2.9 / 0.11 us;
fnv1a 1.2 / 0.12 us and 3.2 / 0.12 us; consistent 0.12-0.17 us; round-robin 0.09 us; random
0.16 us. Hashes of keys up to 128 bytes are memoised in a bounded table (cleared when it reaches
65536 keys) because keyed sinks usually repeat keys (user ids, customer ids).
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Callable
from typing import Final, Protocol

from gateway.errors import InvalidParameterValue

__all__ = [
    "PARTITIONER_NAMES",
    "Partitioner",
    "TopicPartitioners",
    "fnv1a",
    "murmur2",
    "partitioner_for",
    "to_positive",
]

# The names the `partitioner` option accepts (sinks.options.PARTITIONERS; a unit test keeps them equal).
PARTITIONER_NAMES: Final = (
    "random",
    "consistent",
    "consistent_random",
    "murmur2",
    "murmur2_random",
    "fnv1a",
    "fnv1a_random",
    "round_robin",
)


class Partitioner(Protocol):
    """Picks the partition (0 <= p < partitions) of one record from its key (None: NULL key)."""

    def __call__(self, key: bytes | None, partitions: int) -> int: ...


# --- hash functions ------------------------------------------------------------------------------

# Little-endian 32-bit word readers for keys of up to 256 bytes, built once (a Struct per call is slow).
_WORD_READERS: Final = tuple(struct.Struct(f"<{count}I") for count in range(65))


def _murmur2_unsigned(data: bytes) -> int:
    """Kafka's Utils.murmur2 as an unsigned 32-bit value. The constants are written inline (seed
    0x9747b28c, m 0x5bd1e995, r 24) because literal constants are the fastest loads in CPython, and
    `(h*m ^ k*m) & mask` equals `(h*m & mask) ^ (k*m & mask)`, which saves a mask per word."""
    length = len(data)
    h = 0x9747B28C ^ length
    words = length >> 2
    if words:
        reader = _WORD_READERS[words] if words < 65 else struct.Struct(f"<{words}I")
        for word in reader.unpack_from(data):
            k = (word * 0x5BD1E995) & 0xFFFFFFFF
            h = ((h * 0x5BD1E995) ^ ((k ^ (k >> 24)) * 0x5BD1E995)) & 0xFFFFFFFF
    extra = length & 3
    if extra:
        tail = length - extra
        if extra == 3:
            h ^= data[tail + 2] << 16
        if extra >= 2:
            h ^= data[tail + 1] << 8
        h = ((h ^ data[tail]) * 0x5BD1E995) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0x5BD1E995) & 0xFFFFFFFF
    return h ^ (h >> 15)


def murmur2(data: bytes) -> int:
    """org.apache.kafka.common.utils.Utils.murmur2: MurmurHash2, seed 0x9747b28c, as Java's signed
    int (-2**31 <= result < 2**31). librdkafka's rd_murmur2 gives the same 32 bits unsigned."""
    h = _murmur2_unsigned(data)
    return h - 0x100000000 if h & 0x80000000 else h


def to_positive(number: int) -> int:
    """Utils.toPositive: clear the sign bit (not abs(): toPositive(-2**31) is 0, abs would overflow)."""
    return number & 0x7FFFFFFF


def fnv1a(data: bytes) -> int:
    """librdkafka's rd_fnv1a: 32-bit FNV-1a (offset 0x811c9dc5, prime 0x01000193), then the absolute
    value of the signed result, as Sarama's NewHashPartitioner takes it; -2**31 stays 0x80000000."""
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    if h & 0x80000000:
        h = -h & 0xFFFFFFFF
    return h


# Memo tables: key -> unsigned hash. Bounded by clearing when full (cheaper than LRU bookkeeping on
# the hot path); only short keys are kept so the tables stay a few MB at most.
_MEMO_LIMIT: Final = 1 << 16
_MEMO_KEY_BYTES: Final = 128
_murmur2_memo: dict[bytes, int] = {}
_fnv1a_memo: dict[bytes, int] = {}


def _positive_murmur2(key: bytes) -> int:
    h = _murmur2_memo.get(key)
    if h is None:
        h = _murmur2_unsigned(key) & 0x7FFFFFFF
        if len(key) <= _MEMO_KEY_BYTES:
            if len(_murmur2_memo) >= _MEMO_LIMIT:
                _murmur2_memo.clear()
            _murmur2_memo[key] = h
    return h


def _memo_fnv1a(key: bytes) -> int:
    h = _fnv1a_memo.get(key)
    if h is None:
        h = fnv1a(key)
        if len(key) <= _MEMO_KEY_BYTES:
            if len(_fnv1a_memo) >= _MEMO_LIMIT:
                _fnv1a_memo.clear()
            _fnv1a_memo[key] = h
    return h


# --- partitioners --------------------------------------------------------------------------------


class RandomPartitioner:
    """librdkafka `random` (rd_kafka_msg_partitioner_random): a uniform partition per record."""

    __slots__ = ("_random",)

    def __init__(self) -> None:
        self._random = random.Random().random

    def __call__(self, key: bytes | None, partitions: int) -> int:
        return int(self._random() * partitions)


class RoundRobinPartitioner:
    """A per-object counter: 0, 1, ..., partitions-1, 0, ... (Java's RoundRobinPartitioner with all
    partitions available). The count may change between calls; the counter is taken modulo it."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = 0

    def __call__(self, key: bytes | None, partitions: int) -> int:
        position = self._next
        self._next = position + 1
        return position % partitions


class KeyHashPartitioner:
    """librdkafka `murmur2` / `murmur2_random` and `fnv1a` / `fnv1a_random`: hash(key) % n, where
    murmur2 is (rd_murmur2(key) & 0x7fffffff), the Java client's toPositive(murmur2(key)), and fnv1a
    is rd_fnv1a(key). A NULL key is hashed as empty bytes, or sent at random when `random_null`
    (murmur2_random: "functionally equivalent to the Java default partitioner")."""

    __slots__ = ("_hash", "_null_random")

    def __init__(self, hash_key: Callable[[bytes], int], *, random_null: bool) -> None:
        self._hash = hash_key
        self._null_random = random.Random().random if random_null else None

    def __call__(self, key: bytes | None, partitions: int) -> int:
        if key is None:
            if self._null_random is not None:
                return int(self._null_random() * partitions)
            key = b""
        return self._hash(key) % partitions


class ConsistentPartitioner:
    """librdkafka `consistent` / `consistent_random`: CRC-32 (zlib's polynomial) of the key % n. NULL
    and empty keys hash to crc32(b"") = 0, or go to a random partition when `random_empty`."""

    __slots__ = ("_empty_random",)

    def __init__(self, *, random_empty: bool) -> None:
        self._empty_random = random.Random().random if random_empty else None

    def __call__(self, key: bytes | None, partitions: int) -> int:
        if not key:
            if self._empty_random is not None:
                return int(self._empty_random() * partitions)
            return 0
        return zlib.crc32(key) % partitions


class DefaultPartitioner:
    """The sink default: keyed records as the Java client (murmur2), NULL keys round-robin."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = 0

    def __call__(self, key: bytes | None, partitions: int) -> int:
        if key is None:
            position = self._next
            self._next = position + 1
            return position % partitions
        return _positive_murmur2(key) % partitions


def partitioner_for(name: str | None) -> Partitioner:
    """A new partitioner for an option value (already validated against PARTITIONER_NAMES by the
    option schema); None is the sink default. Each call returns fresh round-robin/random state."""
    match name:
        case None:
            return DefaultPartitioner()
        case "random":
            return RandomPartitioner()
        case "round_robin":
            return RoundRobinPartitioner()
        case "murmur2" | "murmur2_random":
            return KeyHashPartitioner(_positive_murmur2, random_null=name == "murmur2_random")
        case "consistent" | "consistent_random":
            return ConsistentPartitioner(random_empty=name == "consistent_random")
        case "fnv1a" | "fnv1a_random":
            return KeyHashPartitioner(_memo_fnv1a, random_null=name == "fnv1a_random")
    raise InvalidParameterValue(
        f'invalid value for option "partitioner": "{name}"',
        hint=f"Use one of: {', '.join(PARTITIONER_NAMES)}.",
    )


class TopicPartitioners(dict[str, Partitioner]):
    """One partitioner per topic, created on first use: `partitioners[topic](key, n)`. Needed where
    rows are routed to several topics (topic_field), so each topic gets its own round-robin."""

    __slots__ = ("name",)

    def __init__(self, name: str | None) -> None:
        super().__init__()
        self.name = name
        partitioner_for(name)  # fail now on an unknown name, not on the first record

    def __missing__(self, topic: str) -> Partitioner:
        partitioner = self[topic] = partitioner_for(self.name)
        return partitioner
