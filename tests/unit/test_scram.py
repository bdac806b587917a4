"""Unit tests for gateway.auth.scram: the server side of SCRAM-SHA-256, driven by an RFC 5802 client.

`RfcScramClient` below is an independent client written from RFC 5802 section 3 (it uses only
hashlib/hmac, nothing from the gateway), so a bug shared by server and client code is unlikely.
The RFC 7677 section 3 example pins the exact bytes of every message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from gateway.auth.passwords import ScramVerifier, make_scram_verifier
from gateway.auth.scram import ScramError, ScramExchange

MECHANISM = "SCRAM-SHA-256"
PASSWORD = "correct horse battery staple"
VERIFIER = ScramVerifier.from_password(PASSWORD, salt=b"laminar-test-slt")
CLIENT_NONCE = b"fyko+d2lbbFgONRv9qkxdawL"
SERVER_NONCE = b"3rfcNHYJY1ZVvWVs7j"
PROOF_OF_ZEROS = base64.b64encode(bytes(32))  # well-formed, always wrong

# RFC 7677 section 3: user "user", password "pencil".
RFC7677_CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC7677_SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
RFC7677_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC7677_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


@dataclass
class RfcScramClient:
    """Client side of SCRAM-SHA-256 per RFC 5802 section 3 (password already SASLprep'd)."""

    password: bytes
    nonce: bytes = CLIENT_NONCE
    gs2_header: bytes = b"n,,"
    username: bytes = b""
    channel_binding: bytes | None = None  # override the c= value (to test mismatches)
    extension: bytes = b""  # e.g. b",x=1" inserted before the proof
    client_first_bare: bytes = field(init=False, default=b"")
    server_signature: bytes = field(init=False, default=b"")

    def client_first(self) -> bytes:
        self.client_first_bare = b"n=" + self.username + b",r=" + self.nonce
        return self.gs2_header + self.client_first_bare

    def client_final(self, server_first: bytes) -> bytes:
        attributes = dict(part.split(b"=", 1) for part in server_first.split(b","))
        combined_nonce = attributes[b"r"]  # a real client checks it starts with its nonce; tests tamper
        salted = hashlib.pbkdf2_hmac(
            "sha256", self.password, base64.b64decode(attributes[b"s"]), int(attributes[b"i"])
        )
        client_key = _hmac(salted, b"Client Key")
        binding = base64.b64encode(self.gs2_header) if self.channel_binding is None else self.channel_binding
        without_proof = b"c=" + binding + b",r=" + combined_nonce + self.extension
        auth_message = self.client_first_bare + b"," + server_first + b"," + without_proof
        client_signature = _hmac(hashlib.sha256(client_key).digest(), auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, client_signature, strict=True))
        self.server_signature = _hmac(_hmac(salted, b"Server Key"), auth_message)
        return without_proof + b",p=" + base64.b64encode(proof)

    def server_final_is_valid(self, server_final: bytes) -> bool:
        return server_final == b"v=" + base64.b64encode(self.server_signature)


def _run(client: RfcScramClient, exchange: ScramExchange) -> bytes:
    server_first = exchange.handle_client_first(MECHANISM, client.client_first())
    return exchange.handle_client_final(client.client_final(server_first))


def _started_exchange(verifier: ScramVerifier = VERIFIER) -> ScramExchange:
    exchange = ScramExchange(verifier, nonce=SERVER_NONCE)
    exchange.handle_client_first(MECHANISM, b"n,,n=,r=" + CLIENT_NONCE)
    return exchange


def test_rfc7677_example_exact_messages() -> None:
    verifier = ScramVerifier.from_password("pencil", salt=base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="))
    exchange = ScramExchange(verifier, nonce=b"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
    assert exchange.handle_client_first(MECHANISM, RFC7677_CLIENT_FIRST) == RFC7677_SERVER_FIRST
    assert exchange.authenticated is False
    assert exchange.client_username == "user"
    assert exchange.handle_client_final(RFC7677_CLIENT_FINAL) == RFC7677_SERVER_FINAL
    assert exchange.authenticated is True


def test_rfc7677_example_through_the_test_client() -> None:
    verifier = make_scram_verifier("pencil", salt=base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="))
    client = RfcScramClient(b"pencil", nonce=b"rOprNGfwEbeRWgbNEkqO", username=b"user")
    assert client.client_first() == RFC7677_CLIENT_FIRST
    assert client.client_final(RFC7677_SERVER_FIRST) == RFC7677_CLIENT_FINAL
    exchange = ScramExchange(verifier, nonce=b"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
    assert _run(client, exchange) == RFC7677_SERVER_FINAL


@pytest.mark.parametrize("gs2_header", [b"n,,", b"y,,"])
def test_round_trip_with_random_server_nonce(gs2_header: bytes) -> None:
    client = RfcScramClient(PASSWORD.encode(), gs2_header=gs2_header)
    exchange = ScramExchange(make_scram_verifier(PASSWORD))  # a verifier string is accepted too
    server_first = exchange.handle_client_first(MECHANISM, client.client_first())
    assert server_first.startswith(b"r=" + CLIENT_NONCE)
    server_nonce = server_first.split(b",")[0].removeprefix(b"r=" + CLIENT_NONCE)
    assert len(server_nonce) == 24
    assert len(base64.b64decode(server_nonce, validate=True)) == 18
    server_final = exchange.handle_client_final(client.client_final(server_first))
    assert client.server_final_is_valid(server_final)
    assert exchange.authenticated is True


def test_each_exchange_has_its_own_server_nonce() -> None:
    firsts = {ScramExchange(VERIFIER).handle_client_first(MECHANISM, b"n,,n=,r=abc") for _ in range(16)}
    assert len(firsts) == 16


def test_saslprep_applies_to_the_stored_verifier() -> None:
    # libpq SASLpreps on its side too: "\u2168" (ROMAN NUMERAL NINE) is sent as the key of "IX".
    verifier = ScramVerifier.from_password("\u2168")
    assert _run(RfcScramClient(b"IX"), ScramExchange(verifier)).startswith(b"v=")


def test_username_in_client_first_is_ignored() -> None:
    client = RfcScramClient(PASSWORD.encode(), username=b"someone=2Celse")
    exchange = ScramExchange(VERIFIER)
    assert client.server_final_is_valid(_run(client, exchange))
    assert exchange.client_username == "someone=2Celse"


def test_optional_extensions_are_ignored_but_covered_by_the_proof() -> None:
    client = RfcScramClient(PASSWORD.encode(), extension=b",x=unknown")
    exchange = ScramExchange(VERIFIER)
    server_first = exchange.handle_client_first(MECHANISM, client.client_first() + b",e=ext")
    client.client_first_bare += b",e=ext"
    assert client.server_final_is_valid(exchange.handle_client_final(client.client_final(server_first)))


def _assert_scram_error(
    error: pytest.ExceptionInfo[ScramError], sqlstate: str, message: str, detail: str | None = None
) -> None:
    assert (error.value.sqlstate, error.value.message, error.value.detail) == (sqlstate, message, detail)


def test_wrong_password_is_rejected_with_28p01() -> None:
    client = RfcScramClient(b"Correct horse battery staple")
    exchange = ScramExchange(VERIFIER)
    server_first = exchange.handle_client_first(MECHANISM, client.client_first())
    with pytest.raises(ScramError) as error:
        exchange.handle_client_final(client.client_final(server_first))
    _assert_scram_error(error, "28P01", "password authentication failed")
    assert exchange.authenticated is False


def test_unknown_user_fails_only_at_the_proof_like_a_wrong_password() -> None:
    mock = ScramVerifier.mock("ghost", b"server-secret-0123456789abcdef")
    exchange = ScramExchange(mock, nonce=SERVER_NONCE)
    client = RfcScramClient(b"anything")
    server_first = exchange.handle_client_first(MECHANISM, client.client_first())
    salt = base64.b64encode(mock.salt)
    assert server_first == b"r=" + CLIENT_NONCE + SERVER_NONCE + b",s=" + salt + b",i=4096"
    with pytest.raises(ScramError) as error:
        exchange.handle_client_final(client.client_final(server_first))
    _assert_scram_error(error, "28P01", "password authentication failed")


def test_doomed_verifier_fails_even_with_the_right_proof() -> None:
    doomed = ScramVerifier(
        VERIFIER.iterations, VERIFIER.salt, VERIFIER.stored_key, VERIFIER.server_key, doomed=True
    )
    client = RfcScramClient(PASSWORD.encode())
    exchange = ScramExchange(doomed)
    server_first = exchange.handle_client_first(MECHANISM, client.client_first())
    with pytest.raises(ScramError) as error:
        exchange.handle_client_final(client.client_final(server_first))
    _assert_scram_error(error, "28P01", "password authentication failed")
    assert exchange.authenticated is False


@pytest.mark.parametrize(
    "final_nonce",
    [
        pytest.param(CLIENT_NONCE, id="client-part-only"),
        pytest.param(CLIENT_NONCE + SERVER_NONCE[:-1] + b"X", id="server-part-changed"),
        pytest.param(b"X" + CLIENT_NONCE[1:] + SERVER_NONCE, id="client-part-changed"),
        pytest.param(CLIENT_NONCE + SERVER_NONCE + b"X", id="appended"),
    ],
)
def test_tampered_nonce_is_rejected(final_nonce: bytes) -> None:
    client = RfcScramClient(PASSWORD.encode())
    exchange = ScramExchange(VERIFIER, nonce=SERVER_NONCE)
    server_first = exchange.handle_client_first(MECHANISM, client.client_first())
    tampered = server_first.replace(CLIENT_NONCE + SERVER_NONCE, final_nonce)
    with pytest.raises(ScramError) as error:
        # The proof is computed over the tampered message, so only the nonce check can catch it.
        exchange.handle_client_final(client.client_final(tampered))
    _assert_scram_error(error, "08P01", "invalid SCRAM response", "Nonce does not match.")


def test_replayed_client_final_is_rejected_by_a_new_exchange() -> None:
    client = RfcScramClient(PASSWORD.encode())
    first_exchange = ScramExchange(VERIFIER)
    server_first = first_exchange.handle_client_first(MECHANISM, client.client_first())
    client_final = client.client_final(server_first)
    first_exchange.handle_client_final(client_final)
    second_exchange = ScramExchange(VERIFIER)
    second_exchange.handle_client_first(MECHANISM, client.client_first())
    with pytest.raises(ScramError, match="Nonce does not match"):
        second_exchange.handle_client_final(client_final)


# ------------------------------------------------------------------------------------------------
# Channel binding and mechanisms
# ------------------------------------------------------------------------------------------------


def test_only_scram_sha_256_without_channel_binding_is_offered() -> None:
    assert ScramExchange.MECHANISMS == ("SCRAM-SHA-256",)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1", "scram-sha-256", "", "PLAIN"])
def test_other_mechanisms_are_rejected(mechanism: str) -> None:
    exchange = ScramExchange(VERIFIER)
    with pytest.raises(ScramError) as error:
        exchange.handle_client_first(mechanism, b"n,,n=,r=abc")
    _assert_scram_error(error, "08P01", "client selected an invalid SASL authentication mechanism")


def test_client_demanding_channel_binding_is_rejected() -> None:
    exchange = ScramExchange(VERIFIER)
    with pytest.raises(ScramError) as error:
        exchange.handle_client_first(MECHANISM, b"p=tls-server-end-point,,n=,r=abc")
    _assert_scram_error(
        error,
        "08P01",
        "malformed SCRAM message",
        "The client selected SCRAM-SHA-256 without channel binding, "
        "but the SCRAM message includes channel binding data.",
    )


@pytest.mark.parametrize(
    ("gs2_header", "channel_binding"),
    [
        pytest.param(b"n,,", b"eSws", id="n-flag-then-y-binding"),
        pytest.param(b"y,,", b"biws", id="y-flag-then-n-binding"),
        pytest.param(b"n,,", b"biws=", id="padding-added"),
        pytest.param(b"n,,", b"cD10bHMtc2VydmVyLWVuZC1wb2ludCws", id="p-binding"),
        pytest.param(b"n,,", b"", id="empty"),
    ],
)
def test_channel_binding_attribute_must_repeat_the_gs2_header(
    gs2_header: bytes, channel_binding: bytes
) -> None:
    client = RfcScramClient(PASSWORD.encode(), gs2_header=gs2_header, channel_binding=channel_binding)
    exchange = ScramExchange(VERIFIER)
    server_first = exchange.handle_client_first(MECHANISM, client.client_first())
    with pytest.raises(ScramError) as error:
        # The proof covers the wrong c= value, so only the channel-binding check can catch it.
        exchange.handle_client_final(client.client_final(server_first))
    _assert_scram_error(error, "08P01", "unexpected SCRAM channel-binding attribute in client-final-message")


# ------------------------------------------------------------------------------------------------
# Order of calls
# ------------------------------------------------------------------------------------------------


def test_client_final_before_client_first_is_rejected() -> None:
    exchange = ScramExchange(VERIFIER)
    with pytest.raises(ScramError) as error:
        exchange.handle_client_final(b"c=biws,r=abc,p=" + PROOF_OF_ZEROS)
    assert (error.value.sqlstate, error.value.message) == ("08P01", "invalid SCRAM exchange state")
    with pytest.raises(ScramError, match="invalid SCRAM exchange state"):
        exchange.handle_client_first(MECHANISM, b"n,,n=,r=abc")  # dead after the first error


def test_client_first_twice_is_rejected() -> None:
    exchange = _started_exchange()
    with pytest.raises(ScramError, match="invalid SCRAM exchange state"):
        exchange.handle_client_first(MECHANISM, b"n,,n=,r=" + CLIENT_NONCE)


def test_no_call_is_accepted_after_success() -> None:
    client = RfcScramClient(PASSWORD.encode())
    exchange = ScramExchange(VERIFIER)
    server_first = exchange.handle_client_first(MECHANISM, client.client_first())
    client_final = client.client_final(server_first)
    exchange.handle_client_final(client_final)
    with pytest.raises(ScramError, match="invalid SCRAM exchange state"):
        exchange.handle_client_final(client_final)
    with pytest.raises(ScramError, match="invalid SCRAM exchange state"):
        exchange.handle_client_first(MECHANISM, client.client_first())


def test_a_failed_exchange_cannot_be_retried() -> None:
    client = RfcScramClient(PASSWORD.encode())
    exchange = ScramExchange(VERIFIER, nonce=SERVER_NONCE)
    server_first = exchange.handle_client_first(MECHANISM, client.client_first())
    with pytest.raises(ScramError, match="password authentication failed"):
        exchange.handle_client_final(b"c=biws,r=" + CLIENT_NONCE + SERVER_NONCE + b",p=" + PROOF_OF_ZEROS)
    with pytest.raises(ScramError, match="invalid SCRAM exchange state"):
        exchange.handle_client_final(client.client_final(server_first))  # the right proof, too late
    assert exchange.authenticated is False


def test_a_failed_client_first_kills_the_exchange() -> None:
    exchange = ScramExchange(VERIFIER)
    with pytest.raises(ScramError, match="non-printable"):
        exchange.handle_client_first(MECHANISM, b"n,,n=,r=a b")
    with pytest.raises(ScramError, match="invalid SCRAM exchange state"):
        exchange.handle_client_first(MECHANISM, b"n,,n=,r=ab")


@pytest.mark.parametrize("nonce", [b"", b"a,b", b"a b", b"\xff", b"a\x00"])
def test_server_nonce_must_be_printable(nonce: bytes) -> None:
    with pytest.raises(ValueError, match="printable"):
        ScramExchange(VERIFIER, nonce=nonce)


# ------------------------------------------------------------------------------------------------
# Malformed messages: exact errors for known shapes, then a seeded mutation loop
# ------------------------------------------------------------------------------------------------

MALFORMED = "malformed SCRAM message"


@pytest.mark.parametrize(
    ("client_first", "sqlstate", "message", "detail"),
    [
        (b"", "08P01", MALFORMED, "The message is empty."),
        (b"n,,n=,r=abc\x00", "08P01", MALFORMED, "Message length does not match input length."),
        (b"x,,n=,r=abc", "08P01", MALFORMED, 'Unexpected channel-binding flag "x".'),
        (b"\xff,,n=,r=abc", "08P01", MALFORMED, 'Unexpected channel-binding flag "0xff".'),
        (b"N,,n=,r=abc", "08P01", MALFORMED, 'Unexpected channel-binding flag "N".'),
        (b"n", "08P01", MALFORMED, "Comma expected, but found end of string."),
        (b"n;,n=,r=abc", "08P01", MALFORMED, 'Comma expected, but found character ";".'),
        (b"y=,n=,r=abc", "08P01", MALFORMED, 'Comma expected, but found character "=".'),
        (b"n,", "08P01", MALFORMED, "Unexpected attribute end of string in client-first-message."),
        (b"n,x,n=,r=abc", "08P01", MALFORMED, 'Unexpected attribute "x" in client-first-message.'),
        (b"n,a=bob,n=,r=abc", "0A000", "client uses authorization identity, but it is not supported", None),
        (b"n,,m=ext,n=,r=abc", "0A000", "client requires an unsupported SCRAM extension", None),
        (b"n,,", "08P01", MALFORMED, "Attribute expected, but found end of string."),
        (b"n,,r=abc", "08P01", MALFORMED, 'Expected attribute "n" but found "r".'),
        (b"n,,n=", "08P01", MALFORMED, "Attribute expected, but found end of string."),
        (b"n,,n,r=abc", "08P01", MALFORMED, 'Expected character "=" for attribute "n".'),
        (b"n,,n=,n=abc", "08P01", MALFORMED, 'Expected attribute "r" but found "n".'),
        (b"n,,n=,r=", "08P01", "non-printable characters in SCRAM nonce", None),
        (b"n,,n=,r=ab c", "08P01", "non-printable characters in SCRAM nonce", None),
        (b"n,,n=,r=ab\xffc", "08P01", "non-printable characters in SCRAM nonce", None),
        (b"n,,n=,r=abc,", "08P01", MALFORMED, "Attribute expected, but found end of string."),
        (b"n,,n=,r=abc,1=x", "08P01", MALFORMED, 'Attribute expected, but found invalid character "1".'),
        (
            b"n,,n=,r=abc,\x01=x",
            "08P01",
            MALFORMED,
            'Attribute expected, but found invalid character "0x01".',
        ),
        (b"n,,n=,r=abc,xx", "08P01", MALFORMED, 'Expected character "=" for attribute "x".'),
    ],
)
def test_malformed_client_first(client_first: bytes, sqlstate: str, message: str, detail: str | None) -> None:
    with pytest.raises(ScramError) as error:
        ScramExchange(VERIFIER).handle_client_first(MECHANISM, client_first)
    _assert_scram_error(error, sqlstate, message, detail)


NONCE = CLIENT_NONCE + SERVER_NONCE
NON_CANONICAL_PROOF = PROOF_OF_ZEROS[:42] + b"B="  # decodes to the same 32 zero bytes


@pytest.mark.parametrize(
    ("client_final", "message", "detail"),
    [
        (b"", MALFORMED, "The message is empty."),
        (
            b"c=biws,r=" + NONCE + b",p=" + PROOF_OF_ZEROS + b"\x00",
            MALFORMED,
            "Message length does not match input length.",
        ),
        (b"r=" + NONCE + b",c=biws,p=" + PROOF_OF_ZEROS, MALFORMED, 'Expected attribute "c" but found "r".'),
        (b"c=biws,p=" + PROOF_OF_ZEROS, MALFORMED, 'Expected attribute "r" but found "p".'),
        (b"c=biws", MALFORMED, "Attribute expected, but found end of string."),
        (b"c=biws,r=" + NONCE, MALFORMED, "Attribute expected, but found end of string."),
        (b"c=biws,r=" + NONCE + b",x=1", MALFORMED, "Attribute expected, but found end of string."),
        (
            b"c=biws,r=" + NONCE + b",p=" + PROOF_OF_ZEROS + b",x=1",
            MALFORMED,
            "Garbage found at the end of client-final-message.",
        ),
        (
            b"c=biws,r=" + NONCE + b",p=" + PROOF_OF_ZEROS + b",",
            MALFORMED,
            "Attribute expected, but found end of string.",
        ),
        (b"c=biws,r=" + NONCE + b",p", MALFORMED, 'Expected character "=" for attribute "p".'),
        (b"c=biws,r=" + NONCE + b",p=", MALFORMED, "Malformed proof in client-final-message."),
        (b"c=biws,r=" + NONCE + b",p=AAAA", MALFORMED, "Malformed proof in client-final-message."),
        (
            b"c=biws,r=" + NONCE + b",p=" + PROOF_OF_ZEROS[:-1],
            MALFORMED,
            "Malformed proof in client-final-message.",
        ),
        (
            b"c=biws,r=" + NONCE + b",p=" + NON_CANONICAL_PROOF,
            MALFORMED,
            "Malformed proof in client-final-message.",
        ),
        (
            b"c=biws,r=" + NONCE + b",p=" + PROOF_OF_ZEROS + b"AAAA",
            MALFORMED,
            "Malformed proof in client-final-message.",
        ),
        (
            b"c=biws,r=" + NONCE + b",p=*" + PROOF_OF_ZEROS[1:],
            MALFORMED,
            "Malformed proof in client-final-message.",
        ),
        (
            b"c=biws,r=" + NONCE + b",p=\xff" + PROOF_OF_ZEROS[1:],
            MALFORMED,
            "Malformed proof in client-final-message.",
        ),
        (b"c=biws,r=" + NONCE + b",p=" + PROOF_OF_ZEROS, "password authentication failed", None),
        (
            b"c=biws,r=" + CLIENT_NONCE + b",p=" + PROOF_OF_ZEROS,
            "invalid SCRAM response",
            "Nonce does not match.",
        ),
        (
            b"c=Ymlz,r=" + NONCE + b",p=" + PROOF_OF_ZEROS,
            "unexpected SCRAM channel-binding attribute in client-final-message",
            None,
        ),
    ],
)
def test_malformed_client_final(client_final: bytes, message: str, detail: str | None) -> None:
    with pytest.raises(ScramError) as error:
        _started_exchange().handle_client_final(client_final)
    sqlstate = "28P01" if message == "password authentication failed" else "08P01"
    _assert_scram_error(error, sqlstate, message, detail)


MUTATION_SEED = 5802
MUTATIONS_PER_MESSAGE = 3000
INTERESTING_BYTES = b",=nrpcyam \x00\x01\x7f\x80\xff" + PROOF_OF_ZEROS[:4]


def _mutations(message: bytes, rng: random.Random) -> Iterator[bytes]:
    """Every truncation of `message`, then random edits; each yielded message differs from it."""
    for end in range(len(message)):
        yield message[:end]
    yielded = 0
    while yielded < MUTATIONS_PER_MESSAGE:
        data = bytearray(message)
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(data) + 1)
            byte = rng.choice(INTERESTING_BYTES) if rng.random() < 0.7 else rng.randrange(256)
            edit = rng.choice(("replace", "insert", "delete", "duplicate"))
            if edit == "replace" and position < len(data):
                data[position] = byte
            elif edit == "insert":
                data.insert(position, byte)
            elif edit == "delete" and position < len(data):
                del data[position]
            elif edit == "duplicate":
                data[position:position] = data[position : position + rng.randint(1, 8)]
        if bytes(data) != message:
            yielded += 1
            yield bytes(data)
    for _ in range(200):
        yield rng.randbytes(rng.randint(1, 80))


def test_mutated_client_first_only_ever_raises_scram_error() -> None:
    rng = random.Random(MUTATION_SEED)
    client = RfcScramClient(PASSWORD.encode(), username=b"alice")
    accepted = 0
    rejected_sqlstates: list[str] = []
    for message in _mutations(client.client_first(), rng):
        exchange = ScramExchange(VERIFIER, nonce=SERVER_NONCE)
        try:
            server_first = exchange.handle_client_first(MECHANISM, message)
        except ScramError as error:
            rejected_sqlstates.append(error.sqlstate)
            continue
        # Accepted, e.g. a changed username or client nonce: still a well-formed message.
        assert server_first.startswith(b"r=")
        assert server_first.endswith(b",s=" + base64.b64encode(VERIFIER.salt) + b",i=4096")
        accepted += 1
    assert accepted > 0
    assert len(rejected_sqlstates) > 1000
    assert set(rejected_sqlstates) == {"08P01", "0A000"}


def test_mutated_client_final_always_raises_scram_error() -> None:
    rng = random.Random(MUTATION_SEED + 1)
    client = RfcScramClient(PASSWORD.encode())
    reference = ScramExchange(VERIFIER, nonce=SERVER_NONCE)
    valid_final = client.client_final(reference.handle_client_first(MECHANISM, client.client_first()))
    assert client.server_final_is_valid(reference.handle_client_final(valid_final))
    sqlstates: set[str] = set()
    for message in _mutations(valid_final, rng):
        exchange = _started_exchange()
        with pytest.raises(ScramError) as error:
            exchange.handle_client_final(message)
        sqlstates.add(error.value.sqlstate)
        assert exchange.authenticated is False
    assert sqlstates == {"08P01", "28P01"}
