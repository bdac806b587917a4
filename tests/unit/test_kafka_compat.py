"""The aiokafka compatibility shims (sinks/kafka_compat.py): InitProducerId v3's exact request and
response bytes and version choice, error code 90, dropping answers to acks=0 requests, and the
aiokafka version guard. No sockets: structs are encoded and decoded directly, and frames are fed
to a connection object that never connects.

Expected bytes follow the Kafka protocol spec for InitProducerId v3 (flexible): COMPACT_NULLABLE_STRING
transactional_id (unsigned varint length + 1, then UTF-8), INT32 transaction_timeout_ms, INT64
producer_id, INT16 producer_epoch, then the tagged-field count (0); request header v2 with a
classic INT16-length client id and its own empty tagged fields.
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque

import aiokafka
import pytest
from aiokafka import errors
from aiokafka.conn import AIOKafkaConnection
from aiokafka.protocol.metadata import MetadataRequest, MetadataResponse_v0
from aiokafka.protocol.transaction import InitProducerIdRequest, InitProducerIdRequest_v0

from sinks import kafka_compat
from sinks.kafka_compat import (
    IncompatibleAiokafkaVersion,
    InitProducerIdRequestV3,
    InitProducerIdResponseV3,
    ProducerFencedResponse,
    check_aiokafka_version,
    unanswered_frame,
)

BROKER_RANGE_V0_TO_V5 = {22: (0, 5)}  # what Tansu (and Apache Kafka 3.x) advertise for API key 22
INT32_MAX = 2**31 - 1


@pytest.fixture(autouse=True)
def shim_installed() -> None:
    kafka_compat.install()


def test_install_is_idempotent_and_registers_v3_after_v0() -> None:
    kafka_compat.install()
    kafka_compat.install()
    registered = InitProducerIdRequest._CLASSES
    assert registered == (InitProducerIdRequest_v0, InitProducerIdRequestV3)
    assert AIOKafkaConnection._handle_frame.laminar_shim is True
    assert not hasattr(AIOKafkaConnection._handle_frame.__wrapped__, "laminar_shim")  # wrapped once
    assert kafka_compat.installed()


def test_broker_offering_v3_gets_v3() -> None:
    struct = InitProducerIdRequest("txn-1", 60000).prepare(BROKER_RANGE_V0_TO_V5)
    assert type(struct) is InitProducerIdRequestV3
    assert struct.API_KEY == 22
    assert struct.API_VERSION == 3
    assert struct.FLEXIBLE_VERSION is True


def test_broker_without_v3_still_gets_v0() -> None:
    struct = InitProducerIdRequest("txn-1", 60000).prepare({22: (0, 2)})
    assert type(struct) is InitProducerIdRequest_v0
    assert struct.encode() == bytes.fromhex("0005") + b"txn-1" + bytes.fromhex("0000ea60")


def test_transactional_request_body_bytes() -> None:
    struct = InitProducerIdRequest("txn-1", 60000).prepare(BROKER_RANGE_V0_TO_V5)
    assert struct.encode() == (
        bytes.fromhex("06")  # compact string: length 5 + 1
        + b"txn-1"
        + bytes.fromhex("0000ea60")  # transaction_timeout_ms = 60000
        + bytes.fromhex("ffffffffffffffff")  # producer_id = -1 (none yet)
        + bytes.fromhex("ffff")  # producer_epoch = -1
        + bytes.fromhex("00")  # no tagged fields
    )


def test_idempotent_request_has_null_transactional_id() -> None:
    # aiokafka sends the largest int32 as the timeout of a producer without transactional.id.
    struct = InitProducerIdRequest(None, INT32_MAX).prepare(BROKER_RANGE_V0_TO_V5)
    assert struct.encode() == bytes.fromhex("00" + "7fffffff" + "ff" * 8 + "ffff" + "00")


def test_multibyte_utf8_transactional_id_is_counted_in_bytes() -> None:
    struct = InitProducerIdRequest("zürich", 1000).prepare(BROKER_RANGE_V0_TO_V5)
    encoded_id = "zürich".encode()
    assert len(encoded_id) == 7
    assert struct.encode() == bytes([8]) + encoded_id + bytes.fromhex("000003e8" + "ff" * 10 + "00")


def test_request_header_is_the_flexible_v2_header() -> None:
    struct = InitProducerIdRequest("txn-1", 60000).prepare(BROKER_RANGE_V0_TO_V5)
    header = struct.build_request_header(correlation_id=7, client_id="laminar")
    assert header.encode() == (
        bytes.fromhex("0016")  # api_key 22
        + bytes.fromhex("0003")  # api_version 3
        + bytes.fromhex("00000007")  # correlation_id
        + bytes.fromhex("0007")
        + b"laminar"  # client_id: a classic INT16-length string even in header v2
        + bytes.fromhex("00")  # header tagged fields
    )


def test_response_v3_decodes_producer_id_and_epoch() -> None:
    wire = bytes.fromhex("00000000" + "0000" + "000000000000002a" + "0003" + "00")
    response = InitProducerIdRequestV3.RESPONSE_TYPE.decode(wire)
    assert isinstance(response, InitProducerIdResponseV3)
    assert (response.throttle_time_ms, response.error_code) == (0, 0)
    assert (response.producer_id, response.producer_epoch) == (42, 3)
    assert response.tags == {}


def test_flexible_response_header_has_tagged_fields() -> None:
    struct = InitProducerIdRequest("txn-1", 60000).prepare(BROKER_RANGE_V0_TO_V5)
    header = struct.parse_response_header(bytes.fromhex("00000007" + "00"))
    assert header.correlation_id == 7
    assert header.tags == {}


def test_v3_struct_round_trips_through_decode() -> None:
    original = InitProducerIdRequestV3("t", 5, 12, 4)
    decoded = InitProducerIdRequestV3.decode(original.encode())
    assert decoded == original
    assert (decoded.transactional_id, decoded.producer_id, decoded.producer_epoch) == ("t", 12, 4)


def test_error_code_90_is_producer_fenced() -> None:
    error_class = errors.for_code(90)
    assert error_class is ProducerFencedResponse
    error = error_class()
    assert isinstance(error, errors.ProducerFenced)
    assert error.retriable is False
    assert str(error).startswith("[Error 90] ")


def test_known_error_codes_are_untouched() -> None:
    assert errors.for_code(47) is errors.InvalidProducerEpoch
    assert errors.for_code(-1) is errors.UnknownError


@pytest.mark.parametrize(
    ("awaited", "received", "unanswered"),
    [(7, 5, True), (7, 6, True), (7, 7, False), (7, 8, False), (None, 3, False)],
)
def test_only_frames_older_than_the_awaited_request_are_unanswered(
    awaited: int | None, received: int, unanswered: bool
) -> None:
    assert unanswered_frame(awaited, struct.pack(">i", received) + b"rest of frame") is unanswered


async def test_connection_drops_answers_to_acks_0_requests_and_keeps_reading() -> None:
    connection = AIOKafkaConnection("127.0.0.1", 9)  # never connected: frames are fed by hand
    assert connection._requests == deque()
    connection._handle_frame(struct.pack(">i", 3) + b"\x00" * 8)  # nothing awaited: dropped, no IndexError
    answer: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    connection._requests.append((7, MetadataRequest([]).prepare({3: (0, 0)}), answer))
    connection._handle_frame(struct.pack(">i", 5) + b"\x00" * 8)  # an acks=0 produce answer: dropped
    assert not answer.done()
    assert len(connection._requests) == 1
    connection._handle_frame(bytes.fromhex("00000007" + "00000000" + "00000000"))  # correlation 7, no brokers
    assert answer.result() == MetadataResponse_v0([], [])
    assert connection._requests == deque()


@pytest.mark.parametrize("version", ["0.14.0", "0.14.1", "0.14.10.dev3"])
def test_tested_minor_versions_pass_the_guard(version: str) -> None:
    check_aiokafka_version(version)


@pytest.mark.parametrize("version", ["0.13.0", "0.15.0", "1.14.0", "garbage", ""])
def test_other_versions_fail_with_a_clear_error(version: str) -> None:
    with pytest.raises(IncompatibleAiokafkaVersion) as raised:
        check_aiokafka_version(version)
    message = str(raised.value)
    assert f"aiokafka {version} is installed" in message
    assert "tested with aiokafka 0.14.x only" in message
    assert "aiokafka==0.14.*" in message


def test_the_installed_aiokafka_is_the_tested_one() -> None:
    check_aiokafka_version(aiokafka.__version__)
