"""Partitioners against published vectors of the Java client, librdkafka and their ports (no sockets).

Every expected number below is copied from the file named in the comment above it; none was produced
by the code under test. Java's murmur2 is signed, librdkafka's unsigned: the vectors are compared in
the form their source writes them.
"""

from __future__ import annotations

import random
import zlib

import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from gateway.errors import LaminarError
from sinks.options import PARTITIONERS
from sinks.partitioners import (
    PARTITIONER_NAMES,
    TopicPartitioners,
    fnv1a,
    murmur2,
    partitioner_for,
    to_positive,
)

# apache/kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2.
KAFKA_UTILS_TEST = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]
# burdiyan/kafkautil partitioner_test.go ("generated offline using JVM Kafka client for version 1.0.0").
JVM_1_0_0 = [(bytes([12, 42, 56, 24, 109, 111]), 274204207)]
# tulios/kafkajs src/producer/partitioners/defaultJava/murmur2.spec.js ("Generated with ...Test.java",
# a copy of Utils.murmur2 run on the JVM).
KAFKAJS_JAVA = [
    (b"0", 971027396),
    (b"1", -1993445489),
    (b"128", -326012175),
    (b"2187", -1508407203),
    (b"16384", -325739742),
    (b"78125", -1654490814),
    (b"279936", 1462227128),
    (b"823543", -2014198330),
    (b"2097152", 607668903),
    (b"4782969", -1182699775),
    (b"10000000", -1830336757),
    (b"19487171", -1603849305),
    (b"35831808", -857013643),
    (b"62748517", -1167431028),
    (b"105413504", -381294639),
    (b"170859375", -1658323481),
    (b"100:48069", 1009543857),
]
# confluentinc/librdkafka src/rdmurmur2.c, unittest_murmur2 (java_murmur2_results, unsigned hex).
LIBRDKAFKA_MURMUR2 = [
    (b"kafka", 0xD067CF64),
    (b"giberish123456789", 0x8F552B0C),
    (b"1234", 0x9FC97B14),
    (b"234", 0xE7C009CA),
    (b"34", 0x873930DA),
    (b"4", 0x5A4B5CA1),
    (b"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424F1C),
    (b"reAmbleWillBeRemoved,ThePrePartThatIs", 0x4A62B377),
    (b"eAmbleWillBeRemoved,ThePrePartThatIs", 0xE0E4E09E),
    (b"AmbleWillBeRemoved,ThePrePartThatIs", 0x62B8B43F),
    (b"", 0x106E08D9),
]
# confluentinc/librdkafka src/rdfnv1a.c, unittest_fnv1a (golang_hashfnv_results).
LIBRDKAFKA_FNV1A = [
    (b"kafka", 0xD33C4E1),
    (b"giberish123456789", 0x77A58295),
    (b"1234", 0x23BDD03),
    (b"234", 0x2DEA3CD2),
    (b"34", 0x740FA83E),
    (b"4", 0x310CA263),
    (b"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x65CBD69C),
    (b"reAmbleWillBeRemoved,ThePrePartThatIs", 0x6E49C79A),
    (b"eAmbleWillBeRemoved,ThePrePartThatIs", 0x69EED356),
    (b"AmbleWillBeRemoved,ThePrePartThatIs", 0x6ABCC023),
    (b"", 0x7EE3623B),
]
# dpkp/kafka-python test/test_partitioner.py, test_murmur2_java_compatibility: partitions out of 1000
# "compare[d] with output from Kafka's org.apache.kafka.clients.producer.Partitioner".
JAVA_PARTITIONS_OF_1000 = [
    (b"", 681),
    (b"a", 524),
    (b"ab", 434),
    (b"abc", 107),
    (b"123456789", 566),
    (b"\x00 ", 742),
]

# confluentinc/librdkafka tests/0048-partitioner.c, do_test_partitioners: message keys and the hash
# each partitioner is expected to take modulo the partition count (7 in quick mode, else 17); None
# marks "random" (-1 there). The murmur2 values were made "using tests/java/Murmur2Cli".
LIBRDKAFKA_0048_KEYS: list[bytes | None] = [
    None,
    b"",
    b"23456",  # unaligned + 1 with unaligned = "123456"
    b"this is another string with more length to it perhaps",
    b"hejsan",
]
LIBRDKAFKA_0048_HASHES: dict[str, list[int | None]] = {
    "consistent": [0x0, 0x0, 0xB1B451D7, 0xB0150DF7, 0xD077037E],
    "consistent_random": [None, None, 0xB1B451D7, 0xB0150DF7, 0xD077037E],
    "murmur2": [0x106E08D9, 0x106E08D9, 0x058D780F, 0x4F7703DA, 0x5EC19395],
    "murmur2_random": [None, 0x106E08D9, 0x058D780F, 0x4F7703DA, 0x5EC19395],
    "fnv1a": [0x7EE3623B, 0x7EE3623B, 0x27E6F469, 0x155E3E5F, 0x17B1E27A],
    "fnv1a_random": [None, 0x7EE3623B, 0x27E6F469, 0x155E3E5F, 0x17B1E27A],
}


# --- hash functions ------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "expected"), KAFKA_UTILS_TEST + JVM_1_0_0 + KAFKAJS_JAVA)
def test_murmur2_equals_the_java_client(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


@pytest.mark.parametrize(("data", "expected"), LIBRDKAFKA_MURMUR2)
def test_murmur2_equals_librdkafka(data: bytes, expected: int) -> None:
    assert murmur2(data) & 0xFFFFFFFF == expected


def test_murmur2_is_a_signed_32_bit_int() -> None:
    assert murmur2(b"kafka") == 0xD067CF64 - 2**32
    assert murmur2(b"abc") == 479470107


def test_murmur2_agrees_with_aiokafka_on_every_length_up_to_300_bytes() -> None:
    """aiokafka's own Java port, byte-by-byte: covers all tail lengths and keys past 64 words."""
    rng = random.Random(20240229)
    for length in range(301):
        data = rng.randbytes(length)
        assert murmur2(data) & 0xFFFFFFFF == aiokafka_murmur2(data), length


def test_to_positive_clears_only_the_sign_bit() -> None:
    assert to_positive(-973932308) == 1173551340  # burdiyan/kafkautil ExpectedPositive for "21"
    assert to_positive(-(2**31)) == 0
    assert to_positive(2**31 - 1) == 2**31 - 1
    assert to_positive(-1) == 2**31 - 1


@pytest.mark.parametrize(("data", "expected"), LIBRDKAFKA_FNV1A)
def test_fnv1a_equals_librdkafka_and_sarama(data: bytes, expected: int) -> None:
    assert fnv1a(data) == expected


def test_fnv1a_takes_the_absolute_value_of_the_signed_hash() -> None:
    # FNV-1a 32 of "a" is 0xe40c292c (the FNV reference test vectors, test_fnv.c), negative as an
    # int32, so rd_fnv1a negates it.
    assert fnv1a(b"a") == 0x100000000 - 0xE40C292C


# --- partitioners --------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "expected"), JAVA_PARTITIONS_OF_1000)
def test_murmur2_partition_equals_the_java_partitioner(key: bytes, expected: int) -> None:
    assert partitioner_for("murmur2")(key, 1000) == expected
    assert partitioner_for("murmur2_random")(key, 1000) == expected
    assert partitioner_for(None)(key, 1000) == expected


@pytest.mark.parametrize("name", sorted(LIBRDKAFKA_0048_HASHES))
@pytest.mark.parametrize("partition_count", [7, 17])
def test_hash_partitioners_equal_librdkafka_test_0048(name: str, partition_count: int) -> None:
    partitioner = partitioner_for(name)
    for key, expected_hash in zip(LIBRDKAFKA_0048_KEYS, LIBRDKAFKA_0048_HASHES[name], strict=True):
        partition = partitioner(key, partition_count)
        if expected_hash is None:
            assert 0 <= partition < partition_count
        else:
            assert partition == expected_hash % partition_count, (name, key)


def test_java_utils_vectors_as_partitions() -> None:
    """BuiltInPartitioner.partitionForKey: toPositive(murmur2(key)) % n, for the UtilsTest keys."""
    partitioner = partitioner_for("murmur2")
    for key, java_hash in KAFKA_UTILS_TEST:
        for count in (1, 3, 6, 12, 48, 1000):
            assert partitioner(key, count) == (java_hash & 0x7FFFFFFF) % count


def test_consistent_is_zlib_crc32() -> None:
    partitioner = partitioner_for("consistent")
    assert partitioner(b"hejsan", 2**32 - 1) == 0xD077037E == zlib.crc32(b"hejsan")


def _partitions(name: str | None, key: bytes | None, calls: int, count: int) -> set[int]:
    partitioner = partitioner_for(name)
    return {partitioner(key, count) for _ in range(calls)}


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("random", b"same-key"),
        ("random", None),
        ("murmur2_random", None),
        ("fnv1a_random", None),
        ("consistent_random", None),
        ("consistent_random", b""),
    ],
)
def test_random_choices_reach_every_partition(name: str, key: bytes | None) -> None:
    # 2000 draws over 5 partitions miss one with probability 5 * 0.8**2000 (about 1e-193).
    assert _partitions(name, key, 2000, 5) == {0, 1, 2, 3, 4}


@pytest.mark.parametrize(
    ("name", "key", "expected"),
    [
        ("murmur2", None, 0x106E08D9 % 17),  # NULL hashed as empty bytes (tests/0048)
        ("murmur2_random", b"", 0x106E08D9 % 17),  # empty is not NULL: hashed
        ("fnv1a", None, 0x7EE3623B % 17),
        ("fnv1a_random", b"", 0x7EE3623B % 17),
        ("consistent", None, 0),
        ("consistent", b"", 0),
        (None, b"", 0x106E08D9 % 17),  # the default hashes an empty key, as Java does
    ],
)
def test_null_and_empty_keys_that_map_to_a_single_partition(
    name: str | None, key: bytes | None, expected: int
) -> None:
    assert _partitions(name, key, 50, 17) == {expected}


@pytest.mark.parametrize("name", ["round_robin", None])
def test_round_robin_cycles_from_partition_zero(name: str | None) -> None:
    partitioner = partitioner_for(name)
    assert [partitioner(None, 3) for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]


def test_round_robin_ignores_the_key_and_follows_a_changed_partition_count() -> None:
    partitioner = partitioner_for("round_robin")
    assert [partitioner(b"k", 4) for _ in range(3)] == [0, 1, 2]
    assert [partitioner(b"k", 2) for _ in range(3)] == [1, 0, 1]


def test_default_partitioner_hashes_keys_and_spreads_null_keys() -> None:
    partitioner = partitioner_for(None)
    picks = [partitioner(None, 4), partitioner(b"foobar", 4), partitioner(None, 4), partitioner(None, 4)]
    # toPositive(-790332482) % 4 == 1357151166 % 4 == 2; the NULL keys continue 0, 1, 2.
    assert picks == [0, 2, 1, 2]


def test_each_call_returns_fresh_state() -> None:
    first, second = partitioner_for("round_robin"), partitioner_for("round_robin")
    assert [first(None, 5), first(None, 5), second(None, 5)] == [0, 1, 0]


def test_topic_partitioners_keep_one_round_robin_per_topic() -> None:
    partitioners = TopicPartitioners(None)
    picks = [partitioners[topic](None, 3) for topic in ("orders", "orders", "payments", "orders")]
    assert picks == [0, 1, 0, 2]
    assert sorted(partitioners) == ["orders", "payments"]


def test_memoised_hashes_stay_exact_for_repeated_and_long_keys() -> None:
    partitioner = partitioner_for("murmur2")
    long_key = b"x" * 1000
    expected_long = (aiokafka_murmur2(long_key) & 0x7FFFFFFF) % 97
    for _ in range(3):
        assert partitioner(b"foobar", 2**31 - 1) == 1357151166
        assert partitioner(long_key, 97) == expected_long


def test_unknown_name_is_refused_with_the_allowed_names() -> None:
    with pytest.raises(LaminarError) as caught:
        partitioner_for("sticky")
    assert caught.value.sqlstate == "22023"
    assert caught.value.message == 'invalid value for option "partitioner": "sticky"'
    assert caught.value.hint == (
        "Use one of: random, consistent, consistent_random, murmur2, murmur2_random, fnv1a, "
        "fnv1a_random, round_robin."
    )
    with pytest.raises(LaminarError):
        TopicPartitioners("sticky")


def test_names_match_the_option_schema() -> None:
    assert PARTITIONER_NAMES == PARTITIONERS
    for name in PARTITIONER_NAMES:
        assert 0 <= partitioner_for(name)(b"k", 3) < 3
