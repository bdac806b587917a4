"""Unit tests for gateway.protocol.messages: every message's encoding, decoding and rejection rules.

Every message class is round-tripped through its decoder; exact bytes are pinned for a few
messages (the DataRow, RowDescription, CommandComplete and ReadyForQuery bytes below were captured
from a real PostgreSQL 15 server); malformed input must raise ProtocolViolation (08P01) or
UnsupportedProtocol (0A000), and a seeded mutation loop shows the decoders never raise anything else.
"""

from __future__ import annotations

import random
import struct
import typing
from collections.abc import Callable
from typing import Any

import pytest

from gateway.errors import ProtocolViolation, UnsupportedProtocol
from gateway.protocol import messages as m

STARTUP_SAMPLES: list[m.StartupPacket] = [
    m.StartupMessage({"user": "alice", "database": "laminar", "application_name": "tést ✓"}),
    m.StartupMessage({}),
    m.StartupMessage({"user": "u", "_pq_.extension": "on"}, protocol=(3 << 16) | 2),
    m.SSLRequest(),
    m.GSSENCRequest(),
    m.CancelRequest(process_id=4242, secret_key=-123456789),
]

FRONTEND_SAMPLES: list[m.FrontendMessage] = [
    m.Query("SELECT 1"),
    m.Query(""),
    m.Query("SELECT 'ünïcødé ✓'"),
    m.Parse("stmt1", "SELECT $1::int, $2", (23, 0)),
    m.Parse("", "SELECT 1"),
    m.Parse("big", "SELECT $1", (4294967295,)),  # OIDs are unsigned 32-bit
    m.Bind("portal", "stmt1", (0, 1), (b"42", None, b"", b"\x00\x01\xff"), (1,)),
    m.Bind("", ""),
    m.Describe("S", "stmt1"),
    m.Describe("P", ""),
    m.Execute("portal", 100),
    m.Execute("", 0),
    m.Close("S", "stmt1"),
    m.Close("P", "portal"),
    m.Sync(),
    m.Flush(),
    m.Terminate(),
    m.PasswordData(b"secret\x00"),
    m.PasswordData.sasl_initial("SCRAM-SHA-256", b"n,,n=,r=abc"),
    m.PasswordData(b""),
    m.CopyFail("client gave up"),
    m.UnsupportedFrontend(b"d", b"copy data"),
    m.UnsupportedFrontend(b"c", b""),
    m.UnsupportedFrontend(b"F", b"\x00\x00\x00\x01"),
]

BACKEND_SAMPLES: list[m.BackendMessage] = [
    m.AuthenticationOk(),
    m.AuthenticationCleartextPassword(),
    m.AuthenticationMD5Password(b"\x01\x02\x03\x04"),
    m.AuthenticationSASL(("SCRAM-SHA-256", "SCRAM-SHA-256-PLUS")),
    m.AuthenticationSASL(()),
    m.AuthenticationSASLContinue(b"r=abc,s=c2FsdA==,i=4096"),
    m.AuthenticationSASLFinal(b"v=signature"),
    m.ParameterStatus("TimeZone", "UTC"),
    m.BackendKeyData(process_id=1, secret_key=-2),
    m.ReadyForQuery("I"),
    m.ReadyForQuery("T"),
    m.ReadyForQuery("E"),
    m.RowDescription(
        (
            m.FieldDescription("a", 23, 4),
            m.FieldDescription("b", 25, -1, -1, 1, 16384, 2),
            m.FieldDescription("ünï", 4294967295, -1, 7, 0, 4294967295, -1),
        )
    ),
    m.RowDescription(()),
    m.DataRow((b"1", None, b"", b"\xff\x00")),
    m.DataRow(()),
    m.CommandComplete("SELECT 3"),
    m.EmptyQueryResponse(),
    m.ErrorResponse({"S": "ERROR", "V": "ERROR", "C": "42601", "M": "syntax error", "P": "8"}),
    m.ErrorResponse({}),
    m.NoticeResponse({"S": "WARNING", "C": "25P01", "M": "there is no transaction in progress"}),
    m.ParseComplete(),
    m.BindComplete(),
    m.CloseComplete(),
    m.NoData(),
    m.PortalSuspended(),
    m.ParameterDescription((23, 25, 4294967295)),
    m.ParameterDescription(()),
    m.NegotiateProtocolVersion(0, ("_pq_.extension",)),
    m.NegotiateProtocolVersion(0, ()),
]


# --- every class is covered ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("union", "samples"),
    [
        (m.StartupPacket, STARTUP_SAMPLES),
        (m.FrontendMessage, FRONTEND_SAMPLES),
        (m.BackendMessage, BACKEND_SAMPLES),
    ],
    ids=["startup", "frontend", "backend"],
)
def test_samples_cover_every_message_class(union: Any, samples: list[Any]) -> None:
    assert {type(sample) for sample in samples} == set(typing.get_args(union))


# --- round trips ----------------------------------------------------------------------------------
@pytest.mark.parametrize("packet", STARTUP_SAMPLES, ids=repr)
def test_startup_packet_round_trips(packet: m.StartupPacket) -> None:
    data = packet.encode()
    assert m.decode_startup(data) == (packet, len(data))


@pytest.mark.parametrize("message", FRONTEND_SAMPLES, ids=repr)
def test_frontend_message_round_trips(message: m.FrontendMessage) -> None:
    data = message.encode()
    assert m.decode_frontend(data) == (message, len(data))


@pytest.mark.parametrize("message", BACKEND_SAMPLES, ids=repr)
def test_backend_message_round_trips(message: m.BackendMessage) -> None:
    data = message.encode()
    assert m.decode_backend(data) == (message, len(data))


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview], ids=["bytes", "bytearray", "memoryview"])
def test_decoders_accept_every_buffer_type(wrap: Callable[[bytes], m.Buffer]) -> None:
    parse = m.Parse("s", "SELECT $1", (23,))
    assert m.decode_frontend(wrap(parse.encode())) == (parse, len(parse.encode()))
    assert m.decode_backend(wrap(b"Z\x00\x00\x00\x05T")) == (m.ReadyForQuery("T"), 6)
    assert m.decode_startup(wrap(m.SSLRequest().encode())) == (m.SSLRequest(), 8)


# --- partial buffers --------------------------------------------------------------------------------
@pytest.mark.parametrize("packet", STARTUP_SAMPLES, ids=repr)
def test_startup_prefix_needs_more_bytes(packet: m.StartupPacket) -> None:
    data = packet.encode()
    for cut in range(len(data)):
        assert m.decode_startup(data[:cut]) is None, cut


@pytest.mark.parametrize("message", FRONTEND_SAMPLES, ids=repr)
def test_frontend_prefix_needs_more_bytes(message: m.FrontendMessage) -> None:
    data = message.encode()
    for cut in range(len(data)):
        assert m.decode_frontend(data[:cut]) is None, cut


@pytest.mark.parametrize("message", BACKEND_SAMPLES, ids=repr)
def test_backend_prefix_needs_more_bytes(message: m.BackendMessage) -> None:
    data = message.encode()
    for cut in range(len(data)):
        assert m.decode_backend(data[:cut]) is None, cut


# --- back-to-back messages ----------------------------------------------------------------------------
def test_frontend_messages_back_to_back_decode_one_at_a_time() -> None:
    pipeline: list[m.FrontendMessage] = [
        m.Parse("", "SELECT $1", (23,)),
        m.Bind("", "", (1,), (b"\x00\x00\x00\x07",)),
        m.Sync(),
    ]
    encoded = [message.encode() for message in pipeline]
    buffer = b"".join(encoded)
    offset = 0
    for message, data in zip(pipeline, encoded, strict=True):
        assert m.decode_frontend(buffer[offset:]) == (message, len(data))
        offset += len(data)
    assert offset == len(buffer)
    assert m.decode_frontend(buffer[offset:]) is None


def test_backend_messages_back_to_back_decode_one_at_a_time() -> None:
    buffer = m.CommandComplete("SELECT 1").encode() + m.ReadyForQuery("I").encode()
    first = m.decode_backend(buffer)
    assert first == (m.CommandComplete("SELECT 1"), 14)
    assert m.decode_backend(buffer[14:]) == (m.ReadyForQuery("I"), 6)


def test_startup_packet_followed_by_typed_message_consumes_only_the_packet() -> None:
    buffer = m.SSLRequest().encode() + m.Query("x").encode()
    assert m.decode_startup(buffer) == (m.SSLRequest(), 8)
    assert m.decode_frontend(buffer[8:]) == (m.Query("x"), 7)


# --- exact bytes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (m.ReadyForQuery("I"), b"Z\x00\x00\x00\x05I"),
        (m.SSLRequest(), b"\x00\x00\x00\x08\x04\xd2\x16\x2f"),
        (m.GSSENCRequest(), b"\x00\x00\x00\x08\x04\xd2\x16\x30"),
        (m.CancelRequest(7, 9), b"\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x00\x07\x00\x00\x00\x09"),
        (m.StartupMessage({"user": "u"}), b"\x00\x00\x00\x10\x00\x03\x00\x00user\x00u\x00\x00"),
        (m.Query("SELECT 1"), b"Q\x00\x00\x00\x0dSELECT 1\x00"),
        (m.Sync(), b"S\x00\x00\x00\x04"),
        (m.Terminate(), b"X\x00\x00\x00\x04"),
        (m.Execute("", 0), b"E\x00\x00\x00\x09\x00\x00\x00\x00\x00"),
        (m.Describe("S", "a"), b"D\x00\x00\x00\x07Sa\x00"),
        (m.Parse("", "SELECT $1", (23,)), b"P\x00\x00\x00\x15\x00SELECT $1\x00\x00\x01\x00\x00\x00\x17"),
        (
            m.Bind("", "", (1,), (None, b"x"), (0,)),
            b"B\x00\x00\x00\x19\x00\x00\x00\x01\x00\x01\x00\x02\xff\xff\xff\xff\x00\x00\x00\x01x\x00\x01\x00\x00",
        ),
        (m.AuthenticationOk(), b"R\x00\x00\x00\x08\x00\x00\x00\x00"),
        (m.AuthenticationMD5Password(b"salt"), b"R\x00\x00\x00\x0c\x00\x00\x00\x05salt"),
        (m.AuthenticationSASL(("SCRAM-SHA-256",)), b"R\x00\x00\x00\x17\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00"),
        (m.BackendKeyData(1, 2), b"K\x00\x00\x00\x0c\x00\x00\x00\x01\x00\x00\x00\x02"),
        (m.ParameterStatus("a", "b"), b"S\x00\x00\x00\x08a\x00b\x00"),
        (m.EmptyQueryResponse(), b"I\x00\x00\x00\x04"),
        (m.CommandComplete("SELECT 1"), b"C\x00\x00\x00\rSELECT 1\x00"),
        (m.DataRow((b"1", None)), b"D\x00\x00\x00\x0f\x00\x02\x00\x00\x00\x011\xff\xff\xff\xff"),
        (
            m.RowDescription((m.FieldDescription("a", 23, 4), m.FieldDescription("b", 25))),
            b"T\x00\x00\x00.\x00\x02a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff"
            b"\x00\x00b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x19\xff\xff\xff\xff\xff\xff\x00\x00",
        ),
        (m.ErrorResponse({"C": "42601"}), b"E\x00\x00\x00\x0cC42601\x00\x00"),
        (m.ParameterDescription((23,)), b"t\x00\x00\x00\x0a\x00\x01\x00\x00\x00\x17"),
        (m.NoData(), b"n\x00\x00\x00\x04"),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, bytes) else "",
)
def test_exact_bytes(message: Any, expected: bytes) -> None:
    assert message.encode() == expected


def test_encode_data_row_with_none_values() -> None:
    data = m.encode_data_row([None, b"", b"ab", None])
    assert data == (
        b"D\x00\x00\x00\x18\x00\x04\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x02ab\xff\xff\xff\xff"
    )
    assert data == m.DataRow((None, b"", b"ab", None)).encode()
    assert m.decode_backend(data) == (m.DataRow((None, b"", b"ab", None)), len(data))


def test_encode_data_row_with_no_columns_and_only_nulls() -> None:
    assert m.encode_data_row([]) == b"D\x00\x00\x00\x06\x00\x00"
    assert m.encode_data_row((None,)) == b"D\x00\x00\x00\x0a\x00\x01\xff\xff\xff\xff"


# --- PasswordData readers -------------------------------------------------------------------------------
def test_password_round_trip() -> None:
    message = m.PasswordData.password("s3cret ✓")
    assert message.data == "s3cret ✓".encode() + b"\x00"
    assert message.as_password() == "s3cret ✓"
    decoded = m.decode_frontend(message.encode())
    assert decoded is not None
    assert isinstance(decoded[0], m.PasswordData)
    assert decoded[0].as_password() == "s3cret ✓"


def test_sasl_initial_round_trip() -> None:
    message = m.PasswordData.sasl_initial("SCRAM-SHA-256", b"n,,n=,r=rOprNGfwEbeRWgbNEkqO")
    assert message.data == b"SCRAM-SHA-256\x00\x00\x00\x00\x1cn,,n=,r=rOprNGfwEbeRWgbNEkqO"
    assert message.as_sasl_initial() == ("SCRAM-SHA-256", b"n,,n=,r=rOprNGfwEbeRWgbNEkqO")
    decoded = m.decode_frontend(message.encode())
    assert decoded is not None
    assert isinstance(decoded[0], m.PasswordData)
    assert decoded[0].as_sasl_initial() == ("SCRAM-SHA-256", b"n,,n=,r=rOprNGfwEbeRWgbNEkqO")


def test_sasl_initial_with_length_minus_one_has_empty_payload() -> None:
    assert m.PasswordData(b"SCRAM-SHA-256\x00\xff\xff\xff\xff").as_sasl_initial() == ("SCRAM-SHA-256", b"")


@pytest.mark.parametrize(
    "data",
    [b"no terminator", b"pw\x00trailing", b"\xff\xfe\x00"],
    ids=["unterminated", "trailing", "bad-utf8"],
)
def test_malformed_password_is_a_protocol_violation(data: bytes) -> None:
    with pytest.raises(ProtocolViolation) as caught:
        m.PasswordData(data).as_password()
    assert caught.value.sqlstate == "08P01"


@pytest.mark.parametrize(
    "data",
    [
        b"SCRAM-SHA-256",  # no terminator
        b"SCRAM-SHA-256\x00\x00\x00",  # short length field
        b"SCRAM-SHA-256\x00\x00\x00\x00\x05abc",  # payload shorter than its length
        b"SCRAM-SHA-256\x00\x00\x00\x00\x01abc",  # trailing bytes
        b"SCRAM-SHA-256\x00\xff\xff\xff\xfe",  # length below -1
    ],
    ids=["unterminated", "short-length", "short-payload", "trailing", "length-minus-two"],
)
def test_malformed_sasl_initial_is_a_protocol_violation(data: bytes) -> None:
    with pytest.raises(ProtocolViolation):
        m.PasswordData(data).as_sasl_initial()


# --- invalid frontend input --------------------------------------------------------------------------
def _typed(type_code: bytes, body: bytes) -> bytes:
    """A typed message with a correct length header around an arbitrary (maybe malformed) body."""
    return type_code + struct.pack("!i", len(body) + 4) + body


def _bind_body(*parts: bytes) -> bytes:
    return _typed(b"B", b"".join(parts))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"Q\xff\xff\xff\xff", id="negative-length"),
        pytest.param(b"Q\x00\x00\x00\x03", id="length-below-four"),
        pytest.param(b"Q\x00\x00\x00\x00", id="zero-length"),
        pytest.param(b"?\x00\x00\x00\x04", id="unknown-type"),
        pytest.param(b"R\x00\x00\x00\x04", id="backend-type-from-client"),
        pytest.param(b"S\x00\x00\x00\x05\x00", id="trailing-byte-in-sync"),
        pytest.param(b"X\x00\x00\x00\x06ab", id="trailing-bytes-in-terminate"),
        pytest.param(b"Q\x00\x00\x00\x07abc", id="unterminated-cstring"),
        pytest.param(b"Q\x00\x00\x00\x08a\x00b\x00", id="trailing-after-query"),
        pytest.param(b"Q\x00\x00\x00\x07\xff\xfe\x00", id="invalid-utf8"),
        pytest.param(b"D\x00\x00\x00\x06X\x00", id="bad-describe-kind"),
        pytest.param(b"D\x00\x00\x00\x06\xff\x00", id="non-ascii-describe-kind"),
        pytest.param(b"C\x00\x00\x00\x06Q\x00", id="bad-close-kind"),
        pytest.param(b"D\x00\x00\x00\x04", id="empty-describe"),
        pytest.param(b"E\x00\x00\x00\x07p\x00\x00", id="short-execute"),
        pytest.param(_typed(b"P", b"\x00q\x00\xff\xff"), id="negative-parse-count"),
        pytest.param(_typed(b"P", b"\x00q\x00\x00\x02\x00"), id="parse-oids-missing"),
        pytest.param(_bind_body(b"\x00\x00", b"\xff\xff"), id="bind-negative-format-count"),
        pytest.param(_bind_body(b"\x00\x00", b"\x00\x00", b"\xff\xff"), id="bind-negative-param-count"),
        pytest.param(
            _bind_body(b"\x00\x00", b"\x00\x00", b"\x00\x00", b"\xff\xff"), id="bind-negative-result-count"
        ),
        pytest.param(
            _bind_body(b"\x00\x00", b"\x00\x00", b"\x00\x01", b"\xff\xff\xff\xfe", b"\x00\x00"),
            id="bind-param-length-minus-two",
        ),
        pytest.param(
            _bind_body(b"\x00\x00", b"\x00\x00", b"\x00\x01", b"\x00\x00\x00\x09ab", b"\x00\x00"),
            id="bind-param-longer-than-message",
        ),
        pytest.param(_bind_body(b"\x00\x00", b"\x00\x02\x00\x00"), id="bind-formats-missing"),
    ],
)
def test_invalid_frontend_message_is_a_protocol_violation(data: bytes) -> None:
    with pytest.raises(ProtocolViolation) as caught:
        m.decode_frontend(data)
    assert caught.value.sqlstate == "08P01"
    assert caught.value.severity == "FATAL"


def test_length_over_max_size_is_refused_from_the_header_alone() -> None:
    header = b"Q" + struct.pack("!i", 1001)
    with pytest.raises(ProtocolViolation, match="exceeds the limit of 1000 bytes"):
        m.decode_frontend(header, max_size=1000)


def test_length_at_max_size_is_accepted() -> None:
    message = m.Query("x" * 994)  # 4 length bytes + 994 + NUL = 999
    data = message.encode()
    assert m.decode_frontend(data, max_size=999) == (message, len(data))
    with pytest.raises(ProtocolViolation):
        m.decode_frontend(data, max_size=998)


def test_default_max_size_refuses_a_huge_header() -> None:
    header = b"Q" + struct.pack("!i", m.DEFAULT_MAX_MESSAGE_SIZE + 1)
    with pytest.raises(ProtocolViolation):
        m.decode_frontend(header)


# --- invalid startup input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xff\xff\xff\xff", id="negative-length"),
        pytest.param(b"\x00\x00\x00\x07", id="length-below-eight"),
        pytest.param(struct.pack("!i", m.MAX_STARTUP_PACKET_SIZE + 1), id="length-over-limit"),
        pytest.param(b"\x00\x00\x00\x0c\x04\xd2\x16\x2fabcd", id="ssl-trailing"),
        pytest.param(b"\x00\x00\x00\x0c\x04\xd2\x16\x2e\x00\x00\x00\x01", id="cancel-too-short"),
        pytest.param(b"\x00\x00\x00\x0e\x00\x03\x00\x00user\x00u", id="unterminated-parameter"),
        pytest.param(b"\x00\x00\x00\x0d\x00\x03\x00\x00user\x00", id="missing-value"),
        pytest.param(b"\x00\x00\x00\x0b\x00\x03\x00\x00\x00ab", id="trailing-after-terminator"),
    ],
)
def test_invalid_startup_packet_is_a_protocol_violation(data: bytes) -> None:
    with pytest.raises(ProtocolViolation) as caught:
        m.decode_startup(data)
    assert caught.value.sqlstate == "08P01"


@pytest.mark.parametrize("version", [(2, 0), (4, 0), (1234, 5677), (0, 0)], ids=lambda v: f"{v[0]}.{v[1]}")
def test_unsupported_protocol_version(version: tuple[int, int]) -> None:
    data = m.StartupMessage({"user": "u"}, protocol=(version[0] << 16) | version[1]).encode()
    with pytest.raises(UnsupportedProtocol) as caught:
        m.decode_startup(data)
    assert caught.value.sqlstate == "0A000"
    assert f"{version[0]}.{version[1]}" in caught.value.message


def test_newer_minor_version_of_protocol_3_is_decoded() -> None:
    packet = m.StartupMessage({"user": "u"}, protocol=(3 << 16) | 9)
    assert m.decode_startup(packet.encode()) == (packet, 16)


# --- invalid backend input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"Z\xff\xff\xff\xff", id="negative-length"),
        pytest.param(b"?\x00\x00\x00\x04", id="unknown-type"),
        pytest.param(b"Z\x00\x00\x00\x06IT", id="trailing-in-ready"),
        pytest.param(b"R\x00\x00\x00\x08\x00\x00\x00\x07", id="unknown-auth-request"),
        pytest.param(b"C\x00\x00\x00\x07abc", id="unterminated-tag"),
        pytest.param(b"D\x00\x00\x00\x0a\x00\x01\xff\xff\xff\xfe", id="data-row-length-minus-two"),
        pytest.param(b"1\x00\x00\x00\x05x", id="trailing-in-parse-complete"),
        pytest.param(b"Z\x00\x00\x00\x05\xff", id="non-ascii-ready-status"),
        pytest.param(b"E\x00\x00\x00\x08\xc3x\x00\x00", id="non-ascii-error-field-code"),
        pytest.param(b"N\x00\x00\x00\x08\x80x\x00\x00", id="non-ascii-notice-field-code"),
    ],
)
def test_invalid_backend_message_is_a_protocol_violation(data: bytes) -> None:
    with pytest.raises(ProtocolViolation):
        m.decode_backend(data)


# --- seeded random mutations ------------------------------------------------------------------------------
MUTATION_SEED = 20240611
MUTATION_CASES = 3000


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(6)
        position = rng.randrange(len(buffer) + 1)
        if choice == 0 and buffer:  # overwrite one byte
            buffer[min(position, len(buffer) - 1)] = rng.randrange(256)
        elif choice == 1:  # insert a byte
            buffer.insert(position, rng.randrange(256))
        elif choice == 2 and buffer:  # delete a byte
            del buffer[min(position, len(buffer) - 1)]
        elif choice == 3:  # truncate
            del buffer[position:]
        elif choice == 4 and len(buffer) >= 5:  # rewrite the length field (startup: offset 0)
            offset = rng.choice((0, 1))
            buffer[offset : offset + 4] = struct.pack("!i", rng.randint(-(2**31), 2**31 - 1))
        else:  # a small plausible length nudge
            buffer[1:5] = struct.pack("!i", max(len(buffer) - 1 + rng.randint(-3, 3), -1))
    return bytes(buffer)


def _assert_mutations_are_safe(decode: Callable[[bytes], Any], encodings: list[bytes], seed: int) -> None:
    rng = random.Random(seed)
    outcomes = {"none": 0, "message": 0, "violation": 0}
    for case in range(MUTATION_CASES):
        data = _mutate(rng, rng.choice(encodings))
        try:
            result = decode(data)
        except (ProtocolViolation, UnsupportedProtocol):
            outcomes["violation"] += 1
            continue
        except Exception as exc:
            pytest.fail(f"case {case}: {data!r} raised {type(exc).__name__}: {exc}")
        if result is None:
            outcomes["none"] += 1
            continue
        message, consumed = result
        assert 0 < consumed <= len(data), (case, data)
        assert hasattr(message, "encode"), (case, data)
        outcomes["message"] += 1
    # The loop must have exercised all three outcomes, or it proves little.
    assert all(count > 0 for count in outcomes.values()), outcomes


def test_mutated_startup_packets_never_raise_other_errors() -> None:
    encodings = [packet.encode() for packet in STARTUP_SAMPLES]
    _assert_mutations_are_safe(m.decode_startup, encodings, MUTATION_SEED)


def test_mutated_frontend_messages_never_raise_other_errors() -> None:
    encodings = [message.encode() for message in FRONTEND_SAMPLES]
    _assert_mutations_are_safe(m.decode_frontend, encodings, MUTATION_SEED + 1)


def test_mutated_backend_messages_never_raise_other_errors() -> None:
    encodings = [message.encode() for message in BACKEND_SAMPLES]
    _assert_mutations_are_safe(m.decode_backend, encodings, MUTATION_SEED + 2)


def test_decoded_frontend_messages_re_encode_to_the_same_bytes() -> None:
    """Frontend decoding loses nothing: whatever decodes re-encodes to exactly the bytes consumed."""
    rng = random.Random(MUTATION_SEED + 3)
    encodings = [message.encode() for message in FRONTEND_SAMPLES]
    decoded = 0
    for _ in range(MUTATION_CASES):
        data = _mutate(rng, rng.choice(encodings))
        try:
            result = m.decode_frontend(data)
        except ProtocolViolation:
            continue
        if result is not None:
            message, consumed = result
            assert message.encode() == data[:consumed], (data, message)
            decoded += 1
    assert decoded > 0
