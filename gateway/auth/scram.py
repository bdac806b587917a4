"""Server side of one SCRAM-SHA-256 exchange (RFC 5802, RFC 7677), sans-IO, as PostgreSQL does it.

The connection handler owns the sockets and the pgwire framing; this module only turns the bytes of
SASLInitialResponse / SASLResponse into the bytes of AuthenticationSASLContinue / AuthenticationSASLFinal,
or raises `ScramError`.

The rules of the exchange (each one enforced below, each violation is a `ScramError`):

 1. Order. `handle_client_first` is called exactly once, then `handle_client_final` exactly once.
    Any other order is an error, and after any error the exchange is dead: every later call raises.
 2. Mechanism. Only "SCRAM-SHA-256" is offered and accepted. "SCRAM-SHA-256-PLUS" (channel binding)
    is not offered: tls-server-end-point binding needs the hash of the server certificate of the TLS
    connection the exchange runs on, which this module does not see, and the gateway does not plumb
    it through yet. Without it, "-PLUS" could never be verified, so advertising it would be a lie.
 3. client-first-message = gs2-header client-first-message-bare, where
      gs2-header = ("n" | "y") "," "," ; "p=<cb-name>" (the client demands channel binding) is an
      error, since we did not offer "-PLUS". "y" (client could bind but thinks we cannot) is accepted:
      RFC 5802 section 6 says a server that does not support channel binding accepts it. (Once
      "-PLUS" is offered on TLS connections, "y" there must be refused: it signals a downgrade.)
      An authorization identity ("a=...") is refused (0A000), as PostgreSQL does.
      client-first-message-bare = "n=" username "," "r=" c-nonce ["," extensions]. A mandatory
      extension "m=" is refused (0A000). The username is ignored: like PostgreSQL, the gateway
      authenticates the user named in the StartupMessage (clients such as libpq send "n=").
      c-nonce is 1+ printable ASCII characters (0x21-0x7E except ","). Optional extensions are
      well-formed "<letter>=<value>" attributes and are ignored.
 4. server-first-message = "r=" c-nonce s-nonce ",s=" base64(salt) ",i=" iterations.
 5. client-final-message = "c=" base64(gs2-header) ",r=" c-nonce s-nonce ["," extensions] ",p=" base64(proof)
      c must be the base64 of the exact gs2 header of step 3 ("biws" for "n,,", "eSws" for "y,,").
      r must equal the combined nonce of step 4 (else 08P01 "invalid SCRAM response").
      p must be canonical base64 of exactly 32 bytes and must be the last attribute.
 6. Proof. AuthMessage = client-first-message-bare "," server-first-message ","
    client-final-message-without-proof; ClientKey = proof XOR HMAC(StoredKey, AuthMessage);
    the proof is good when SHA-256(ClientKey) == StoredKey (constant-time compare). A mock verifier
    (unknown user) fails here and only here, after doing the same work, so the error and the timing
    for a wrong password and for an unknown user are the same (28P01).
 7. server-final-message = "v=" base64(HMAC(ServerKey, AuthMessage)).
 8. Messages are bytes: empty messages and messages with a NUL byte are malformed. Error texts
    never echo client bytes except printable ASCII (as PostgreSQL's sanitize_char).

SQLSTATEs on `ScramError.sqlstate`: 08P01 protocol_violation (malformed, out of order, nonce or
channel-binding mismatch), 0A000 feature_not_supported (authzid, mandatory extension), 28P01
invalid_password (bad proof, unknown user). For 28P01 the client should see PostgreSQL's text
`password authentication failed for user "<startup user>"`; the caller knows the user name.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
import secrets

from gateway.auth.passwords import SCRAM_KEY_LENGTH, ScramVerifier, hmac_sha256, sha256

PROTOCOL_VIOLATION = "08P01"
FEATURE_NOT_SUPPORTED = "0A000"
INVALID_PASSWORD = "28P01"  # noqa: S105 - a SQLSTATE, not a credential

SERVER_NONCE_RAW_LENGTH = 18  # PostgreSQL's SCRAM_RAW_NONCE_LEN: 18 random bytes, base64 -> 24 chars

_MALFORMED = "malformed SCRAM message"


class ScramError(Exception):
    """The exchange failed; `message`/`detail` are meant for the client, `sqlstate` for ErrorResponse."""

    def __init__(
        self, message: str, *, sqlstate: str = PROTOCOL_VIOLATION, detail: str | None = None
    ) -> None:
        super().__init__(message if detail is None else f"{message}: {detail}")
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail


class _State(enum.Enum):
    AWAIT_CLIENT_FIRST = enum.auto()
    AWAIT_CLIENT_FINAL = enum.auto()
    SUCCEEDED = enum.auto()
    FAILED = enum.auto()


def _malformed(detail: str) -> ScramError:
    return ScramError(_MALFORMED, detail=detail)


def _describe(byte: int) -> str:
    """A client byte for an error text: itself when printable ASCII, else its hex code."""
    return chr(byte) if 0x21 <= byte <= 0x7E else f"0x{byte:02x}"


def _is_printable(value: bytes) -> bool:
    """RFC 5802 `printable`: 0x21-0x7E except ",", and at least one character."""
    return bool(value) and all(0x21 <= byte <= 0x7E and byte != 0x2C for byte in value)


def _check_framing(data: bytes) -> None:
    if not data:
        raise _malformed("The message is empty.")
    if b"\x00" in data:
        raise _malformed("Message length does not match input length.")


def _attributes(data: bytes) -> list[tuple[int, bytes]]:
    """Split "a=v,b=w,..." into (attribute letter, value) pairs; every part must be "<letter>=<value>"."""
    pairs: list[tuple[int, bytes]] = []
    for part in data.split(b","):
        if not part:
            raise _malformed("Attribute expected, but found end of string.")
        letter = part[0]
        if not (0x41 <= letter <= 0x5A or 0x61 <= letter <= 0x7A):
            raise _malformed(f'Attribute expected, but found invalid character "{_describe(letter)}".')
        if part[1:2] != b"=":
            raise _malformed(f'Expected character "=" for attribute "{chr(letter)}".')
        pairs.append((letter, part[2:]))
    return pairs


def _expect(pairs: list[tuple[int, bytes]], index: int, letter: str) -> bytes:
    if index >= len(pairs):
        raise _malformed("Attribute expected, but found end of string.")
    found, value = pairs[index]
    if found != ord(letter):
        raise _malformed(f'Expected attribute "{letter}" but found "{_describe(found)}".')
    return value


class ScramExchange:
    """One SCRAM-SHA-256 authentication exchange with one client, following the rules above."""

    MECHANISMS: tuple[str, ...] = ("SCRAM-SHA-256",)

    def __init__(self, verifier: ScramVerifier | str, *, nonce: bytes | None = None) -> None:
        """`verifier`: the user's stored verifier, or `ScramVerifier.mock(...)` for an unknown user.

        `nonce`: the server's part of the nonce as printable ASCII (tests pass RFC vectors here);
        by default 18 random bytes, base64-encoded, as PostgreSQL does.
        """
        self._verifier = verifier if isinstance(verifier, ScramVerifier) else ScramVerifier.parse(verifier)
        if nonce is None:
            nonce = base64.b64encode(secrets.token_bytes(SERVER_NONCE_RAW_LENGTH))
        if not _is_printable(nonce):
            raise ValueError("the server nonce must be printable ASCII without ','")
        self._server_nonce = nonce
        self._state = _State.AWAIT_CLIENT_FIRST
        self._gs2_header = b""
        self._client_username = b""
        self._combined_nonce = b""
        self._client_first_bare = b""
        self._server_first = b""

    @property
    def authenticated(self) -> bool:
        """True once `handle_client_final` accepted the client's proof."""
        return self._state is _State.SUCCEEDED

    @property
    def client_username(self) -> str:
        """The (ignored) username from client-first-message, for logs only."""
        return self._client_username.decode("utf-8", "replace")

    def handle_client_first(self, mechanism: str, data: bytes) -> bytes:
        """Read the SASLInitialResponse payload; return the server-first-message (SASLContinue data)."""
        self._begin_step(_State.AWAIT_CLIENT_FIRST)
        try:
            if mechanism not in self.MECHANISMS:
                raise ScramError("client selected an invalid SASL authentication mechanism")
            self._read_client_first(data)
        except ScramError:
            self._state = _State.FAILED
            raise
        self._server_first = b"r=%s,s=%s,i=%d" % (
            self._combined_nonce,
            base64.b64encode(self._verifier.salt),
            self._verifier.iterations,
        )
        self._state = _State.AWAIT_CLIENT_FINAL
        return self._server_first

    def handle_client_final(self, data: bytes) -> bytes:
        """Read the SASLResponse payload; return the server-final-message (SASLFinal data) on success."""
        self._begin_step(_State.AWAIT_CLIENT_FINAL)
        self._state = _State.FAILED  # until proven otherwise
        without_proof, proof = self._read_client_final(data)
        auth_message = b",".join((self._client_first_bare, self._server_first, without_proof))
        client_signature = hmac_sha256(self._verifier.stored_key, auth_message)
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
        proof_ok = hmac.compare_digest(sha256(client_key), self._verifier.stored_key)
        if not proof_ok or self._verifier.doomed:
            raise ScramError("password authentication failed", sqlstate=INVALID_PASSWORD)
        self._state = _State.SUCCEEDED
        return b"v=" + base64.b64encode(hmac_sha256(self._verifier.server_key, auth_message))

    # ----------------------------------------------------------------------------------------------

    def _begin_step(self, expected: _State) -> None:
        if self._state is not expected:
            previous = self._state
            self._state = _State.FAILED
            raise ScramError(
                "invalid SCRAM exchange state",
                detail=f"Message received while the exchange is in state {previous.name}.",
            )

    def _read_client_first(self, data: bytes) -> None:
        _check_framing(data)
        flag = data[:1]
        if flag == b"p":
            raise _malformed(
                "The client selected SCRAM-SHA-256 without channel binding, "
                "but the SCRAM message includes channel binding data."
            )
        if flag not in (b"n", b"y"):
            raise _malformed(f'Unexpected channel-binding flag "{_describe(data[0])}".')
        if data[1:2] != b",":
            detail = "end of string" if len(data) < 2 else f'character "{_describe(data[1])}"'
            raise _malformed(f"Comma expected, but found {detail}.")
        if data[2:3] == b"a":
            raise ScramError(
                "client uses authorization identity, but it is not supported", sqlstate=FEATURE_NOT_SUPPORTED
            )
        if data[2:3] != b",":
            what = "end of string" if len(data) < 3 else f'"{_describe(data[2])}"'
            raise _malformed(f"Unexpected attribute {what} in client-first-message.")
        self._gs2_header = data[:3]
        bare = data[3:]
        if bare[:1] == b"m":
            raise ScramError("client requires an unsupported SCRAM extension", sqlstate=FEATURE_NOT_SUPPORTED)
        pairs = _attributes(bare)
        self._client_username = _expect(pairs, 0, "n")
        client_nonce = _expect(pairs, 1, "r")
        if not _is_printable(client_nonce):
            raise ScramError("non-printable characters in SCRAM nonce")
        # pairs[2:] are optional extensions: well-formed (checked by _attributes) and ignored.
        self._client_first_bare = bare
        self._combined_nonce = client_nonce + self._server_nonce

    def _read_client_final(self, data: bytes) -> tuple[bytes, bytes]:
        """Validate client-final-message; return (client-final-message-without-proof, proof)."""
        _check_framing(data)
        pairs = _attributes(data)
        channel_binding = _expect(pairs, 0, "c")
        final_nonce = _expect(pairs, 1, "r")
        proof_index = next((i for i in range(2, len(pairs)) if pairs[i][0] == ord("p")), None)
        if proof_index is None:
            raise _malformed("Attribute expected, but found end of string.")
        if proof_index != len(pairs) - 1:
            raise _malformed("Garbage found at the end of client-final-message.")
        if not hmac.compare_digest(channel_binding, base64.b64encode(self._gs2_header)):
            raise ScramError("unexpected SCRAM channel-binding attribute in client-final-message")
        if not hmac.compare_digest(final_nonce, self._combined_nonce):
            raise ScramError("invalid SCRAM response", detail="Nonce does not match.")
        proof_text = pairs[proof_index][1]
        try:
            proof = base64.b64decode(proof_text, validate=True)
        except binascii.Error:
            proof = b""
        if len(proof) != SCRAM_KEY_LENGTH or base64.b64encode(proof) != proof_text:
            raise _malformed("Malformed proof in client-final-message.")
        without_proof = data[: len(data) - len(proof_text) - len(b",p=")]
        return without_proof, proof
