"""Protocol v3 edge cases checked byte by byte over raw sockets, with no driver in between.

The frontend messages are built here with `struct` and the backend messages parsed here too, so this
module checks the gateway independently of its own codec: batching with Flush, error recovery until
Sync, row-limited Execute and interleaved portals, Describe without execution, startup oddities
(SSLRequest/GSSENCRequest on a plain socket, garbage, oversized lengths), SCRAM failures and
CancelRequest keys. Expected values are what PostgreSQL 16 answers, except where noted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import ssl
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from tests.fixtures.gateway import GatewayEndpoint
from tests.fixtures.wire import (
    FLUSH,
    GSSENC_REQUEST_CODE,
    INT4_OID,
    READ_DEADLINE_S,
    SSL_REQUEST_CODE,
    SYNC,
    VOID_OID,
    Message,
    Wire,
    bind,
    cancel_request,
    command_tag,
    connect,
    cstr,
    describe,
    error_fields,
    execute,
    finish_trust_startup,
    frame,
    kinds,
    open_socket,
    parameter_description,
    parse,
    query,
    row_description,
    rows,
    simple_rows,
    special_request,
    split_messages,
    startup_message,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def wire(gateway: GatewayEndpoint) -> Iterator[Wire]:
    connection = connect(gateway)
    yield connection
    connection.close()


# --- extended query protocol ---------------------------------------------------------------------


def test_flush_after_parse_and_describe_answers_without_sync(wire: Wire) -> None:
    wire.send(parse("s_answer", "SELECT $1::int4 + 1 AS answer", (0,)), describe(b"S", "s_answer"), FLUSH)
    parse_complete, params, columns = wire.read_message(), wire.read_message(), wire.read_message()
    assert parse_complete == Message(b"1", b"")
    assert params.kind == b"t"
    assert parameter_description(params.body) == [INT4_OID]
    assert columns.kind == b"T"
    assert row_description(columns.body) == [("answer", INT4_OID, 0)]

    wire.send(bind("", "s_answer", (b"41",)), execute(""), SYNC)
    messages = wire.read_until(b"Z")
    assert kinds(messages) == b"2DCZ"
    assert rows(messages) == [[b"42"]]
    assert command_tag(messages[2].body) == "SELECT 1"
    assert messages[-1].body == b"I"


def test_parse_error_discards_the_batch_until_sync(wire: Wire) -> None:
    wire.send(
        parse("", "SELEC 1"),
        bind("", ""),
        execute(""),
        parse("", "SELECT 2"),
        bind("", ""),
        execute(""),
        SYNC,
    )
    messages = wire.read_until(b"Z")
    assert kinds(messages) == b"EZ"
    error = error_fields(messages[0].body)
    assert (error["S"], error["C"]) == ("ERROR", "42601")
    assert messages[-1].body == b"I"


def test_error_after_a_good_statement_discards_the_rest_then_recovers(wire: Wire) -> None:
    wire.send(
        parse("", "SELECT 1"),
        bind("", ""),
        execute(""),
        parse("", "SELECT no_such_column_anywhere"),
        bind("", ""),
        execute(""),
        parse("", "SELECT 3"),
        bind("", ""),
        execute(""),
        SYNC,
    )
    messages = wire.read_until(b"Z")
    assert kinds(messages) == b"12DCEZ"
    assert rows(messages) == [[b"1"]]
    assert error_fields(messages[4].body)["C"] == "42703"
    assert messages[-1].body == b"I"

    wire.send(parse("", "SELECT 4"), bind("", ""), execute(""), SYNC)
    messages = wire.read_until(b"Z")
    assert kinds(messages) == b"12DCZ"
    assert rows(messages) == [[b"4"]]


def test_describe_never_executes_the_statement(wire: Wire) -> None:
    started = time.monotonic()
    wire.send(parse("s_sleep", "SELECT pg_sleep(5)"), describe(b"S", "s_sleep"), SYNC)
    messages = wire.read_until(b"Z")
    assert kinds(messages) == b"1tTZ"
    assert parameter_description(messages[1].body) == []
    assert row_description(messages[2].body) == [("pg_sleep", VOID_OID, 0)]

    wire.send(bind("", "s_sleep"), describe(b"P", ""), SYNC)
    messages = wire.read_until(b"Z")
    assert kinds(messages) == b"2TZ"
    assert time.monotonic() - started < 1.0


def test_execute_with_row_limit_suspends_the_portal(wire: Wire) -> None:
    wire.send(
        parse("", "SELECT generate_series(1, 5) AS n"),
        bind("", ""),
        execute("", 2),
        execute("", 2),
        execute("", 2),
        SYNC,
    )
    messages = wire.read_until(b"Z")
    assert kinds(messages) == b"12DDsDDsDCZ"
    assert rows(messages) == [[b"1"], [b"2"], [b"3"], [b"4"], [b"5"]]
    assert command_tag(messages[9].body) == "SELECT 1"


def test_two_named_portals_interleave_inside_a_transaction(wire: Wire) -> None:
    wire.send(query("BEGIN"))
    assert kinds(wire.read_until(b"Z")) == b"CZ"
    wire.send(
        parse("s_low", "SELECT generate_series(1, 3) AS low"),
        parse("s_high", "SELECT generate_series(10, 13) AS high"),
        bind("p_low", "s_low"),
        bind("p_high", "s_high"),
        execute("p_low", 1),
        execute("p_high", 1),
        execute("p_low", 1),
        execute("p_high", 0),
        execute("p_low", 0),
        SYNC,
    )
    messages = wire.read_until(b"Z")
    assert kinds(messages) == b"1122DsDsDsDDDCDCZ"
    assert rows(messages) == [[b"1"], [b"10"], [b"2"], [b"11"], [b"12"], [b"13"], [b"3"]]
    assert command_tag(messages[13].body) == "SELECT 3"
    assert command_tag(messages[15].body) == "SELECT 1"
    assert messages[-1].body == b"T"
    wire.send(query("COMMIT"))
    messages = wire.read_until(b"Z")
    assert command_tag(messages[0].body) == "COMMIT"
    assert messages[-1].body == b"I"


# --- simple query protocol -----------------------------------------------------------------------


def test_simple_query_with_two_statements_returns_two_results(wire: Wire) -> None:
    wire.send(query("SELECT 1 AS a; SELECT 'two' AS b"))
    messages = wire.read_until(b"Z")
    assert kinds(messages) == b"TDCTDCZ"
    assert [row_description(messages[i].body)[0][0] for i in (0, 3)] == ["a", "b"]
    assert rows(messages) == [[b"1"], [b"two"]]
    assert [command_tag(messages[i].body) for i in (2, 5)] == ["SELECT 1", "SELECT 1"]


@pytest.mark.parametrize("sql", ["", "   ", ";"], ids=["empty", "blank", "semicolon"])
def test_empty_query_gets_empty_query_response(wire: Wire, sql: str) -> None:
    wire.send(query(sql))
    assert wire.read_until(b"Z") == [Message(b"I", b""), Message(b"Z", b"I")]


# --- startup and connection-level edges ----------------------------------------------------------


@pytest.mark.parametrize("code", [SSL_REQUEST_CODE, GSSENC_REQUEST_CODE], ids=["ssl", "gssenc"])
def test_encryption_request_on_plain_gateway_is_refused_then_startup_proceeds(
    gateway: GatewayEndpoint, code: int
) -> None:
    # The gateway has no GSSAPI, so it answers like a PostgreSQL built without it: 'N' for both.
    wire = Wire(open_socket(gateway))
    try:
        wire.send(special_request(code))
        assert wire.read_bytes(1) == b"N"
        finish_trust_startup(wire, gateway)
        wire.send(query("SELECT 1"))
        assert rows(wire.read_until(b"Z")) == [[b"1"]]
    finally:
        wire.close()


def test_oversized_message_length_is_a_protocol_violation(wire: Wire, gateway: GatewayEndpoint) -> None:
    # The gateway answers a 2 GB claim with a FATAL 08P01 and hangs up without reading the body;
    # PostgreSQL itself only logs "invalid message length" and closes the socket silently.
    wire.send(b"Q" + struct.pack("!I", 0x7FFFFFFF) + b"SELECT 1")
    messages = split_messages(wire.read_to_eof())
    assert kinds(messages) == b"E"
    error = error_fields(messages[0].body)
    assert (error["S"], error["C"]) == ("FATAL", "08P01")
    assert simple_rows(gateway, "SELECT 1") == [[b"1"]]


def test_garbage_startup_packet_closes_only_that_connection(gateway: GatewayEndpoint) -> None:
    wire = Wire(open_socket(gateway))
    wire.send(b"GET / HTTP/1.1\r\nHost: laminar\r\n\r\n")
    received = wire.read_to_eof()
    wire.close()
    # PostgreSQL closes silently; an ErrorResponse before the close is acceptable too.
    assert received == b"" or kinds(split_messages(received)) == b"E"
    assert simple_rows(gateway, "SELECT 2") == [[b"2"]]


def test_unsupported_protocol_version_is_refused_with_0a000(gateway: GatewayEndpoint) -> None:
    wire = Wire(open_socket(gateway))
    wire.send(struct.pack("!II", 8, 0x12345678))
    messages = split_messages(wire.read_to_eof())
    wire.close()
    assert kinds(messages) == b"E"
    error = error_fields(messages[0].body)
    assert (error["S"], error["C"]) == ("FATAL", "0A000")
    assert simple_rows(gateway, "SELECT 3") == [[b"3"]]


# --- SCRAM-SHA-256 by hand over TLS --------------------------------------------------------------


def scram_exchange(endpoint: GatewayEndpoint, password: str) -> list[Message]:
    """Authenticate with SCRAM-SHA-256 over TLS and return every message after the client proof."""
    sock = open_socket(endpoint)
    sock.sendall(special_request(SSL_REQUEST_CODE))
    assert sock.recv(1) == b"S"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    wire = Wire(context.wrap_socket(sock, server_hostname=endpoint.host))
    try:
        wire.send(startup_message(endpoint.user, endpoint.database))
        sasl = wire.read_message()
        assert sasl.kind == b"R"
        assert struct.unpack_from("!I", sasl.body)[0] == 10
        assert "SCRAM-SHA-256" in sasl.body[4:].decode().split("\0")

        client_nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        client_first_bare = f"n=,r={client_nonce}"
        client_first = f"n,,{client_first_bare}".encode()
        wire.send(frame(b"p", cstr("SCRAM-SHA-256") + struct.pack("!i", len(client_first)) + client_first))

        challenge = wire.read_message()
        assert challenge.kind == b"R"
        assert struct.unpack_from("!I", challenge.body)[0] == 11
        server_first = challenge.body[4:].decode()
        attributes = dict(item.split("=", 1) for item in server_first.split(","))
        assert attributes["r"].startswith(client_nonce)

        salted = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), base64.b64decode(attributes["s"]), int(attributes["i"])
        )
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        stored_key = hashlib.sha256(client_key).digest()
        final_without_proof = f"c=biws,r={attributes['r']}"
        auth_message = f"{client_first_bare},{server_first},{final_without_proof}".encode()
        signature = hmac.digest(stored_key, auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        wire.send(frame(b"p", f"{final_without_proof},p={base64.b64encode(proof).decode()}".encode()))

        if password == endpoint.password:
            return wire.read_until(b"Z")
        return split_messages(wire.read_to_eof())
    finally:
        wire.close()


def test_scram_with_the_right_password_reaches_ready_for_query(gateway_scram_tls: GatewayEndpoint) -> None:
    assert gateway_scram_tls.password is not None
    messages = scram_exchange(gateway_scram_tls, gateway_scram_tls.password)
    assert messages[0].kind == b"R"
    assert struct.unpack_from("!I", messages[0].body)[0] == 12
    assert messages[0].body[4:].startswith(b"v=")
    assert messages[1] == Message(b"R", struct.pack("!I", 0))
    assert messages[-1] == Message(b"Z", b"I")


def test_scram_with_a_wrong_password_never_yields_ready_for_query(gateway_scram_tls: GatewayEndpoint) -> None:
    messages = scram_exchange(gateway_scram_tls, "not the password")
    assert kinds(messages) == b"E"
    error = error_fields(messages[0].body)
    assert (error["S"], error["C"]) == ("FATAL", "28P01")
    assert error["M"] == f'password authentication failed for user "{gateway_scram_tls.user}"'


# --- CancelRequest -------------------------------------------------------------------------------


def send_cancel(endpoint: GatewayEndpoint, process_id: int, secret_key: int) -> bytes:
    """Send one CancelRequest; the server answers nothing and closes, so this returns what it sent."""
    cancel = Wire(open_socket(endpoint))
    try:
        cancel.send(cancel_request(process_id, secret_key))
        return cancel.read_to_eof()
    finally:
        cancel.close()


def test_cancel_request_with_a_wrong_key_is_ignored(wire: Wire, gateway: GatewayEndpoint) -> None:
    wire.send(query("SELECT pg_sleep(0.5) AS slept"))
    assert send_cancel(gateway, wire.process_id, wire.secret_key ^ 0x5A5A5A5A) == b""
    assert send_cancel(gateway, wire.process_id ^ 0x00FF00FF, wire.secret_key) == b""
    messages = wire.read_until(b"Z")
    assert kinds(messages) == b"TDCZ"
    assert rows(messages) == [[b""]]
    assert command_tag(messages[2].body) == "SELECT 1"


def test_cancel_request_with_the_right_key_cancels_the_query(wire: Wire, gateway: GatewayEndpoint) -> None:
    started = time.monotonic()
    wire.send(query("SELECT pg_sleep(30)"))
    answers: list[list[Message]] = []
    reader = threading.Thread(target=lambda: answers.append(wire.read_until(b"Z")))
    reader.start()
    # The query may not have started when the first cancel lands (an idle session ignores it): repeat
    # until the reader has the answer, polling with a deadline.
    while reader.is_alive() and time.monotonic() - started < READ_DEADLINE_S:
        assert send_cancel(gateway, wire.process_id, wire.secret_key) == b""
        reader.join(0.05)
    reader.join(READ_DEADLINE_S)
    assert time.monotonic() - started < READ_DEADLINE_S
    [messages] = answers
    # PostgreSQL sends the RowDescription before it starts sleeping; the gateway may or may not.
    assert kinds(messages).replace(b"T", b"") == b"EZ"
    error = error_fields(messages[-2].body)
    assert (error["S"], error["C"]) == ("ERROR", "57014")
    assert messages[-1].body == b"I"
    wire.send(query("SELECT 5"))
    assert rows(wire.read_until(b"Z")) == [[b"5"]]
