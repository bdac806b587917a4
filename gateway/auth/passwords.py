"""Password material for server-side authentication: SCRAM verifiers, SASLprep, md5 and cleartext checks.

Everything here is pure computation (no I/O), shared by the SCRAM exchange in `gateway.auth.scram`
and by the cleartext (`password`) and `md5` methods of the connection handler.

Stored form. The gateway stores passwords the way PostgreSQL stores them in `pg_authid.rolpassword`
with `password_encryption = scram-sha-256`:

    SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>

so a verifier produced by PostgreSQL can be pasted into Laminar and the other way round.

SASLprep. Before hashing, the password goes through SASLprep (RFC 4013) exactly as PostgreSQL's
`pg_saslprep` (src/common/saslprep.c) does it, including its quirks, so that the same password
gives the same keys in both systems:
  * a pure-ASCII password is used unchanged (even with control characters, which RFC 4013 forbids);
  * bytes that are not valid UTF-8, or a password that SASLprep prohibits (or that maps to the empty
    string), are used as the raw bytes instead of failing;
  * the prohibited-character and bidirectional checks look at the string after the mapping step but
    *before* NFKC normalisation (PostgreSQL checks its `input_chars`), and the output is the NFKC
    form of the mapped string.

Methods:
  * `scram-sha-256`: see `gateway.auth.scram`.
  * `password` (cleartext over the wire): `verify_cleartext` runs the client's password through
    the SCRAM key derivation and compares with the stored key, like PostgreSQL's
    `scram_verify_plain_password`.
  * `md5`: the wire response is md5(md5(password + username) + salt), so the server needs the
    cleartext password (or PostgreSQL's stored "md5..." hash, which Laminar does not keep). A SCRAM
    verifier cannot answer an md5 challenge. The gateway therefore only allows `md5` for the
    bootstrap user whose cleartext password it was given at start-up (`LAMINAR_PASSWORD`).
    (PostgreSQL itself, when `md5` is configured but the role has a SCRAM secret, silently runs
    SCRAM instead.)
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import secrets
import stringprep
import unicodedata
from dataclasses import dataclass, field

SCRAM_SHA_256 = "SCRAM-SHA-256"
SCRAM_KEY_LENGTH = 32  # SHA-256 digest size
SCRAM_DEFAULT_SALT_LENGTH = 16  # PostgreSQL's SCRAM_DEFAULT_SALT_LEN
SCRAM_DEFAULT_ITERATIONS = 4096  # PostgreSQL's default scram_iterations
MD5_SALT_LENGTH = 4


class AuthMethod(enum.StrEnum):
    """How the gateway authenticates clients (the `--auth` option), named as in pg_hba.conf."""

    TRUST = "trust"
    PASSWORD = "password"  # noqa: S105 - the method's name, not a credential
    MD5 = "md5"
    SCRAM_SHA_256 = "scram-sha-256"


# --------------------------------------------------------------------------------------------------
# SASLprep (RFC 4013 on top of RFC 3454 stringprep), PostgreSQL flavour
# --------------------------------------------------------------------------------------------------


def _is_prohibited_output(char: str) -> bool:
    """RFC 4013 section 2.3: tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9."""
    return (
        stringprep.in_table_c12(char)
        or stringprep.in_table_c21_c22(char)
        or stringprep.in_table_c3(char)
        or stringprep.in_table_c4(char)
        or stringprep.in_table_c5(char)
        or stringprep.in_table_c6(char)
        or stringprep.in_table_c7(char)
        or stringprep.in_table_c8(char)
        or stringprep.in_table_c9(char)
    )


def _saslprep_text(text: str) -> str | None:
    """The SASLprep form of `text`, or None when SASLprep prohibits it (caller falls back to raw bytes)."""
    # Non-ASCII spaces (C.1.2) become SPACE, "commonly mapped to nothing" (B.1) characters vanish.
    # U+200B is in both tables; like PostgreSQL, the space mapping wins.
    mapped = "".join(
        " " if stringprep.in_table_c12(char) else char
        for char in text
        if stringprep.in_table_c12(char) or not stringprep.in_table_b1(char)
    )
    if not mapped:
        return None  # PostgreSQL does not allow a password that maps to nothing
    # PostgreSQL runs the prohibition and bidi checks on the mapped (not yet normalised) string.
    for char in mapped:
        if _is_prohibited_output(char) or stringprep.in_table_a1(char):
            return None
    if any(stringprep.in_table_d1(char) for char in mapped):
        if any(stringprep.in_table_d2(char) for char in mapped):
            return None
        if not (stringprep.in_table_d1(mapped[0]) and stringprep.in_table_d1(mapped[-1])):
            return None
    return unicodedata.normalize("NFKC", mapped)


def password_bytes(password: str | bytes) -> bytes:
    """The bytes a password stands for: str is UTF-8 encoded (surrogate-escaped bytes round-trip)."""
    if isinstance(password, bytes):
        return password
    try:
        return password.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return password.encode("utf-8", "surrogatepass")


def saslprep(password: str | bytes) -> bytes:
    """Prepare a password for SCRAM hashing exactly as PostgreSQL's pg_saslprep + its fallbacks do.

    Returns the bytes to feed into PBKDF2: the SASLprep output in UTF-8, or the raw password bytes
    when the password is not valid UTF-8 or SASLprep rejects it (PostgreSQL then uses the raw bytes).
    """
    raw = password_bytes(password)
    if raw.isascii():
        return raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    prepared = _saslprep_text(text)
    if prepared is None:
        return raw
    return prepared.encode("utf-8")


# --------------------------------------------------------------------------------------------------
# SCRAM-SHA-256 keys and verifiers (RFC 5802 section 3, RFC 7677)
# --------------------------------------------------------------------------------------------------


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA-256 (RFC 5802's HMAC with H = SHA-256)."""
    return hmac.digest(key, message, "sha256")


def sha256(data: bytes) -> bytes:
    """SHA-256 (RFC 5802's H)."""
    return hashlib.sha256(data).digest()


def salted_password(password: str | bytes, salt: bytes, iterations: int) -> bytes:
    """SaltedPassword := Hi(Normalize(password), salt, i), with Hi = PBKDF2-HMAC-SHA-256."""
    return hashlib.pbkdf2_hmac("sha256", saslprep(password), salt, iterations)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode_strict(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"invalid base64 in SCRAM verifier {what}") from exc


@dataclass(frozen=True)
class ScramVerifier:
    """What the server stores for one SCRAM-SHA-256 password: enough to verify, not to log in.

    `doomed` marks a mock verifier (see `mock`): an exchange against it always fails at the proof.
    """

    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes
    doomed: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.iterations <= 0:
            raise ValueError("SCRAM iteration count must be positive")
        if not self.salt:
            raise ValueError("SCRAM salt must not be empty")
        if len(self.stored_key) != SCRAM_KEY_LENGTH or len(self.server_key) != SCRAM_KEY_LENGTH:
            raise ValueError(f"SCRAM-SHA-256 keys must be {SCRAM_KEY_LENGTH} bytes")

    @classmethod
    def from_password(
        cls, password: str | bytes, *, salt: bytes | None = None, iterations: int = SCRAM_DEFAULT_ITERATIONS
    ) -> ScramVerifier:
        """Derive StoredKey and ServerKey from a password (random 16-byte salt unless given)."""
        if salt is None:
            salt = secrets.token_bytes(SCRAM_DEFAULT_SALT_LENGTH)
        if iterations <= 0:
            raise ValueError("SCRAM iteration count must be positive")
        if b"\x00" in password_bytes(password):
            raise ValueError("a password cannot contain NUL (PostgreSQL cannot store one either)")
        salted = salted_password(password, salt, iterations)
        client_key = hmac_sha256(salted, b"Client Key")
        return cls(
            iterations=iterations,
            salt=salt,
            stored_key=sha256(client_key),
            server_key=hmac_sha256(salted, b"Server Key"),
        )

    @classmethod
    def parse(cls, text: str) -> ScramVerifier:
        """Read PostgreSQL's rolpassword format; ValueError when `text` is not a SCRAM-SHA-256 verifier."""
        parts = text.split("$")
        if len(parts) != 3 or parts[0] != SCRAM_SHA_256:
            raise ValueError("not a SCRAM-SHA-256 verifier")
        iterations_text, sep1, salt_text = parts[1].partition(":")
        stored_text, sep2, server_text = parts[2].partition(":")
        if not (sep1 and sep2) or not (iterations_text.isascii() and iterations_text.isdigit()):
            raise ValueError("malformed SCRAM-SHA-256 verifier")
        return cls(
            iterations=int(iterations_text),
            salt=_b64decode_strict(salt_text, "salt"),
            stored_key=_b64decode_strict(stored_text, "StoredKey"),
            server_key=_b64decode_strict(server_text, "ServerKey"),
        )

    @classmethod
    def mock(cls, username: str, secret: bytes) -> ScramVerifier:
        """A stand-in verifier for a user that does not exist, as PostgreSQL's mock_scram_secret.

        The salt is derived from the username and a server-wide secret, so repeated attempts for the
        same unknown user see the same salt and iteration count as for a real user: the exchange
        cannot be used to probe which users exist. It fails only when the proof is checked.
        """
        if len(secret) < 16:
            raise ValueError("the mock-verifier secret must be at least 16 bytes")
        salt = sha256(username.encode("utf-8", "surrogatepass") + secret)[:SCRAM_DEFAULT_SALT_LENGTH]
        zero = bytes(SCRAM_KEY_LENGTH)
        return cls(SCRAM_DEFAULT_ITERATIONS, salt, stored_key=zero, server_key=zero, doomed=True)

    def to_string(self) -> str:
        """PostgreSQL's rolpassword format (refused for a mock verifier: it must never be stored)."""
        if self.doomed:
            raise ValueError("a mock SCRAM verifier cannot be serialised")
        return (
            f"{SCRAM_SHA_256}${self.iterations}:{_b64(self.salt)}"
            f"${_b64(self.stored_key)}:{_b64(self.server_key)}"
        )


def make_scram_verifier(
    password: str | bytes, *, salt: bytes | None = None, iterations: int = SCRAM_DEFAULT_ITERATIONS
) -> str:
    """A PostgreSQL-compatible SCRAM-SHA-256 verifier string for `password`."""
    return ScramVerifier.from_password(password, salt=salt, iterations=iterations).to_string()


def verify_cleartext(verifier: str | ScramVerifier, password: str | bytes) -> bool:
    """Whether a cleartext password (the `password` method) matches a stored SCRAM verifier.

    Raises ValueError when `verifier` is not a valid SCRAM-SHA-256 verifier string (a server
    configuration problem, not a client error). A password containing NUL never matches: HMAC pads
    short keys with zero bytes, so "pw" and "pw\\0" would derive the same keys (and PostgreSQL
    rejects such a PasswordMessage before it gets this far).
    """
    parsed = verifier if isinstance(verifier, ScramVerifier) else ScramVerifier.parse(verifier)
    if b"\x00" in password_bytes(password):
        return False
    salted = salted_password(password, parsed.salt, parsed.iterations)
    stored_key = sha256(hmac_sha256(salted, b"Client Key"))
    matches = hmac.compare_digest(stored_key, parsed.stored_key)
    return matches and not parsed.doomed


# --------------------------------------------------------------------------------------------------
# md5 (PostgreSQL's AuthenticationMD5Password)
# --------------------------------------------------------------------------------------------------


def md5_salt() -> bytes:
    """A fresh random 4-byte salt for one AuthenticationMD5Password challenge."""
    return secrets.token_bytes(MD5_SALT_LENGTH)


def _md5_hex(data: bytes) -> bytes:
    return hashlib.md5(data).hexdigest().encode("ascii")  # noqa: S324 - the md5 auth protocol mandates MD5


def md5_password_hash(username: str | bytes, password: str | bytes) -> str:
    """PostgreSQL's stored md5 form: "md5" + md5hex(password + username)."""
    return "md5" + _md5_hex(password_bytes(password) + password_bytes(username)).decode("ascii")


def expected_md5_response(username: str | bytes, password: str | bytes, salt: bytes) -> bytes:
    """What a client answers to an md5 challenge: b"md5" + md5hex(md5hex(password + username) + salt)."""
    inner = _md5_hex(password_bytes(password) + password_bytes(username))
    return b"md5" + _md5_hex(inner + salt)


def verify_md5_response(username: str | bytes, password: str | bytes, salt: bytes, response: bytes) -> bool:
    """Whether a PasswordMessage body (without its NUL terminator) answers the md5 challenge `salt`.

    Needs the cleartext password: see the module docstring for when the gateway can offer md5.
    """
    if len(salt) != MD5_SALT_LENGTH:
        raise ValueError(f"md5 salt must be {MD5_SALT_LENGTH} bytes")
    return hmac.compare_digest(expected_md5_response(username, password, salt), response)
