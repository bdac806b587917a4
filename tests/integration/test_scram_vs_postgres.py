"""gateway.auth against the real thing: PostgreSQL's stored verifiers and md5 sums, libpq and asyncpg clients.

Two directions are checked:
  * PostgreSQL 15 at 127.0.0.1:5432 (trust auth, user postgres) computes verifiers and md5 responses,
    and `ScramVerifier.parse` / `verify_cleartext` / `verify_md5_response` must agree with them;
    PostgreSQL must also keep a verifier made by `make_scram_verifier` as-is (it re-hashes anything
    it does not recognise as a valid SCRAM secret).
  * Real SCRAM clients (libpq through psycopg, and asyncpg's own implementation) log in to a minimal
    pgwire responder whose authentication is `ScramExchange`: they accept our server signature, and
    a wrong password or an unknown user gets 28P01.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import struct
from collections.abc import AsyncIterator, Iterator

import asyncpg
import asyncpg.exceptions
import psycopg
import pytest
from psycopg import sql

from gateway.auth.passwords import (
    ScramVerifier,
    expected_md5_response,
    make_scram_verifier,
    md5_password_hash,
    verify_cleartext,
    verify_md5_response,
)
from gateway.auth.scram import ScramError, ScramExchange

pytestmark = pytest.mark.integration

POSTGRES_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable"
TRICKY_PASSWORDS = ["pw", "\u2168", "x\u3000y", "a\u0340", "\u0627\u0031", "I\u00adX", "caf\u00e9 \u2603"]


@contextlib.contextmanager
def _temporary_role(password: str, encryption: str) -> Iterator[tuple[str, str]]:
    """Create a LOGIN role with `password` hashed by PostgreSQL; yield (name, rolpassword); drop it."""
    role = f"tmp_x_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("SET password_encryption = {}").format(sql.Literal(encryption)))
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
        )
        try:
            row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role]).fetchone()
            assert row is not None
            yield role, str(row[0])
        finally:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_postgres_scram_verifier_checks_cleartext() -> None:
    with _temporary_role("pw", "scram-sha-256") as (_, rolpassword):
        verifier = ScramVerifier.parse(rolpassword)
    assert rolpassword.startswith("SCRAM-SHA-256$4096:")
    assert (verifier.iterations, len(verifier.salt)) == (4096, 16)
    assert verifier.to_string() == rolpassword
    assert verify_cleartext(rolpassword, "pw") is True
    for wrong in ["pW", "pw ", " pw", "p", "", "pw\x00"]:
        assert verify_cleartext(rolpassword, wrong) is False


@pytest.mark.parametrize("password", TRICKY_PASSWORDS)
def test_postgres_saslprep_and_ours_give_the_same_keys(password: str) -> None:
    with _temporary_role(password, "scram-sha-256") as (_, rolpassword):
        parsed = ScramVerifier.parse(rolpassword)
    assert make_scram_verifier(password, salt=parsed.salt, iterations=parsed.iterations) == rolpassword
    assert verify_cleartext(rolpassword, password) is True
    assert verify_cleartext(rolpassword, password + "!") is False


@pytest.mark.parametrize("iterations", [4096, 1, 10000])
def test_postgres_stores_our_verifier_unchanged(iterations: int) -> None:
    ours = make_scram_verifier("s3cret \u00e9", iterations=iterations)
    with _temporary_role(ours, "scram-sha-256") as (_, rolpassword):
        assert rolpassword == ours


def test_md5_response_equals_postgres_for_printable_salts() -> None:
    rng = random.Random(1996)
    printable = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) not in "'\\")
    cases = [("user", "pw"), ("alice", "s3cr3t"), ("j\u00fcrgen", "gr\u00fc\u00df"), ("u", "")]
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        for username, password in cases:
            salt = "".join(rng.choice(printable) for _ in range(4))
            row = conn.execute(
                "SELECT 'md5' || md5(md5(%s || %s) || %s)", [password, username, salt]
            ).fetchone()
            assert row is not None
            postgres_response = str(row[0]).encode("ascii")
            assert expected_md5_response(username, password, salt.encode()) == postgres_response
            assert verify_md5_response(username, password, salt.encode(), postgres_response) is True
            assert verify_md5_response(username, password + "x", salt.encode(), postgres_response) is False


def test_md5_password_hash_equals_postgres_stored_md5() -> None:
    with _temporary_role("pw \u00e9", "md5") as (role, rolpassword):
        pass
    assert rolpassword.startswith("md5")  # md5(password || role name), as the md5 method expects
    assert md5_password_hash(role, "pw \u00e9") == rolpassword
    assert md5_password_hash(role, "pw") != rolpassword


# ------------------------------------------------------------------------------------------------
# Real SCRAM clients against ScramExchange behind a minimal pgwire responder
# ------------------------------------------------------------------------------------------------

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
MOCK_SECRET = b"integration-test-mock-secret-0123456789"
SCRAM_USER = "laminar"
SCRAM_PASSWORD = "p\u00e4ss w\u00f6rd"  # non-ASCII on purpose: both sides SASLprep it


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def _authentication(code: int, data: bytes = b"") -> bytes:
    return _message(b"R", struct.pack("!i", code) + data)


def _error_response(sqlstate: str, message: str) -> bytes:
    fields = b"".join(
        tag + value.encode() + b"\x00"
        for tag, value in [(b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message)]
    )
    return _message(b"E", fields + b"\x00")


async def _read_startup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> dict[str, str]:
    while True:
        (length,) = struct.unpack("!i", await reader.readexactly(4))
        body = await reader.readexactly(length - 4)
        (code,) = struct.unpack("!i", body[:4])
        if code in {SSL_REQUEST, GSSENC_REQUEST}:
            writer.write(b"N")
            continue
        assert code == PROTOCOL_3
        parts = body[4:].split(b"\x00")
        return {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts) - 2, 2)}


async def _read_password_message(reader: asyncio.StreamReader) -> bytes:
    kind = await reader.readexactly(1)
    assert kind == b"p"
    (length,) = struct.unpack("!i", await reader.readexactly(4))
    return await reader.readexactly(length - 4)


class ScramResponder:
    """Accepts connections, authenticates them with ScramExchange, records what clients sent."""

    def __init__(self) -> None:
        self.verifiers = {SCRAM_USER: ScramVerifier.parse(make_scram_verifier(SCRAM_PASSWORD))}
        self.client_firsts: list[bytes] = []
        self.outcomes: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            user = (await _read_startup(reader, writer))["user"]
            verifier = self.verifiers.get(user) or ScramVerifier.mock(user, MOCK_SECRET)
            exchange = ScramExchange(verifier)
            writer.write(_authentication(10, b"SCRAM-SHA-256\x00\x00"))
            mechanism, _, rest = (await _read_password_message(reader)).partition(b"\x00")
            (data_length,) = struct.unpack("!i", rest[:4])
            client_first = rest[4 : 4 + data_length]
            self.client_firsts.append(client_first)
            try:
                writer.write(
                    _authentication(11, exchange.handle_client_first(mechanism.decode(), client_first))
                )
                server_final = exchange.handle_client_final(await _read_password_message(reader))
            except ScramError as error:
                self.outcomes.append(error.sqlstate)
                text = (
                    f'password authentication failed for user "{user}"'
                    if error.sqlstate == "28P01"
                    else str(error)
                )
                writer.write(_error_response(error.sqlstate, text))
                return
            self.outcomes.append("ok")
            parameters = {
                "server_version": "15.0",
                "server_encoding": "UTF8",
                "client_encoding": "UTF8",
                "DateStyle": "ISO, MDY",
                "integer_datetimes": "on",
                "standard_conforming_strings": "on",
            }
            writer.write(
                _authentication(12, server_final)
                + _authentication(0)
                + b"".join(_message(b"S", f"{k}\x00{v}\x00".encode()) for k, v in parameters.items())
                + _message(b"K", struct.pack("!ii", 4242, 1234))
                + _message(b"Z", b"I")
            )
            await writer.drain()
            await reader.read(1)  # clients send Terminate ("X"), then wait for the server to close
        finally:
            writer.close()


@pytest.fixture
async def responder() -> AsyncIterator[tuple[ScramResponder, int]]:
    scram = ScramResponder()
    server = await asyncio.start_server(scram.handle, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    async with server:
        yield scram, port


def _libpq_dsn(port: int, user: str, password: str) -> str:
    return psycopg.conninfo.make_conninfo(
        "",
        host="127.0.0.1",
        port=port,
        user=user,
        password=password,
        dbname="laminar",
        sslmode="disable",
        gssencmode="disable",
        channel_binding="prefer",
    )


async def test_libpq_logs_in_and_accepts_our_server_signature(responder: tuple[ScramResponder, int]) -> None:
    scram, port = responder
    conn = await psycopg.AsyncConnection.connect(_libpq_dsn(port, SCRAM_USER, SCRAM_PASSWORD))
    await conn.close()
    assert scram.outcomes == ["ok"]
    # libpq sends an empty username (PostgreSQL uses the startup user) and "n" without TLS.
    assert scram.client_firsts[0].startswith(b"n,,n=,r=")


@pytest.mark.parametrize("user", [SCRAM_USER, "nobody"])
async def test_libpq_wrong_password_or_unknown_user_gets_28p01(
    responder: tuple[ScramResponder, int], user: str
) -> None:
    scram, port = responder
    with pytest.raises(psycopg.OperationalError, match=f'password authentication failed for user "{user}"'):
        await psycopg.AsyncConnection.connect(_libpq_dsn(port, user, "wrong"))
    assert scram.outcomes == ["28P01"]


async def test_asyncpg_logs_in_and_accepts_our_server_signature(
    responder: tuple[ScramResponder, int],
) -> None:
    scram, port = responder
    conn = await asyncpg.connect(
        host="127.0.0.1", port=port, user=SCRAM_USER, password=SCRAM_PASSWORD, database="laminar", ssl=False
    )
    await conn.close()
    assert scram.outcomes == ["ok"]
    # asyncpg names the user in its client-first-message; the exchange ignores it.
    assert scram.client_firsts[0].startswith(b"n,,n=laminar,r=")


@pytest.mark.parametrize("user", [SCRAM_USER, "nobody"])
async def test_asyncpg_wrong_password_or_unknown_user_gets_28p01(
    responder: tuple[ScramResponder, int], user: str
) -> None:
    scram, port = responder
    with pytest.raises(asyncpg.exceptions.InvalidPasswordError) as error:
        await asyncpg.connect(
            host="127.0.0.1", port=port, user=user, password="wrong", database="x", ssl=False
        )
    assert error.value.sqlstate == "28P01"
    assert scram.outcomes == ["28P01"]
