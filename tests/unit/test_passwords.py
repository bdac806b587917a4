"""Unit tests for gateway.auth.passwords: SASLprep, SCRAM verifiers, cleartext and md5 checks.

The expected verifier strings and md5 responses were produced by a real PostgreSQL 15 server
(`ALTER ROLE ... PASSWORD` with password_encryption = scram-sha-256, `SELECT 'md5' || md5(...)`);
tests/integration/test_scram_vs_postgres.py re-derives them live.
"""

from __future__ import annotations

import base64

import pytest

from gateway.auth.passwords import (
    AuthMethod,
    ScramVerifier,
    expected_md5_response,
    make_scram_verifier,
    md5_password_hash,
    md5_salt,
    saslprep,
    verify_cleartext,
    verify_md5_response,
)

# (password, verifier PostgreSQL 15 stored for it)
POSTGRES_VERIFIERS = [
    (
        "pw",
        "SCRAM-SHA-256$4096:SLrjDryLhwstvP9jHue7Jg==$L+SVJsDYZHgEbx+Wnk6BR0wy/oSIfW9DRb+PzbqQ2eI="
        ":70xm00hD166lUGuIjApCXmfOaovLpFF+5/a5xRBlupk=",
    ),
    (
        "\u2168",  # ROMAN NUMERAL NINE: NFKC turns it into "IX"
        "SCRAM-SHA-256$4096:vgjxEZJYtUcpjxIs9wzZTQ==$TWtjSwwGN27F6FfNQznz/m5Wr5CUbDAOF6oJa/D0hxg="
        ":1Qv8L5EDCyiaB7FTVfExNJEkFy2wG5auBvRK+qQupDA=",
    ),
    (
        "x\u3000y",  # IDEOGRAPHIC SPACE maps to " "
        "SCRAM-SHA-256$4096:aZzO/+ai9qYzIFFfYfojMQ==$V21pkdEfwRL2qzA0g9hzchh5qBVHh0cGIjCpgeXaJ0Q="
        ":vWMXhpcdSQ6bRVgDxWKZLE4uN6Bq/idfi2ufsOWW2j8=",
    ),
    (
        "a\u0340",  # U+0340 is prohibited (C.8) before NFKC: PostgreSQL falls back to the raw bytes
        "SCRAM-SHA-256$4096:dozqJI+xe6Bn3X1s9rWM+Q==$adfq0Ab8nMFWrvNMmX3cSUT/T4BJ75i3yKBxNlx42TQ="
        ":VGB4sqOohEE40Mtn9BHSckRetVkbMrpQZ23K16FJ4nI=",
    ),
    (
        "\u06271",  # ARABIC ALEF then "1": fails the bidi rule, raw bytes are used
        "SCRAM-SHA-256$4096:ZW+X9TFJkmFwoAt5ns5Z0A==$TC1guxlLWICCDJEC7n5AXns/ED35aYSmDmHCvwP8cWI="
        ":JrZN6ezGvKMqSjOpVqaJEr6pDaKmzVjYmYJrD46j1J4=",
    ),
    (
        "I\u00adX",  # SOFT HYPHEN is mapped to nothing
        "SCRAM-SHA-256$4096:mXeWrJ0QYJegRfwsPC6Mfg==$q8SoVXGjB5Xra2IBYIWbTNxbMdKwv6E+lbD6PI87Who="
        ":6/wXP3BpNHVFUH3Z0PxDRlvHD7c5ETZjW7wmAExqAvk=",
    ),
    (
        "\u00e9t\u00e9",
        "SCRAM-SHA-256$4096:KgTiJgf6cN6U4qa709+yoQ==$e3jHPhU5Zdk9zub8aqx+d21M4SEXsTul1obDchLIEjs="
        ":rqRFqQlMvjCeRHHVPSLP8FB75wWxxZ4aAC/9tA1p9Kw=",
    ),
]


def test_auth_method_values_are_pg_hba_names() -> None:
    assert [method.value for method in AuthMethod] == ["trust", "password", "md5", "scram-sha-256"]
    assert AuthMethod("scram-sha-256") is AuthMethod.SCRAM_SHA_256
    assert f"{AuthMethod.MD5}" == "md5"


# ------------------------------------------------------------------------------------------------
# SASLprep
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "prepared"),
    [
        pytest.param("pw", b"pw", id="ascii"),
        pytest.param("a\x07b", b"a\x07b", id="ascii-control-kept-like-postgres"),
        pytest.param("", b"", id="empty-ascii"),
        pytest.param("\u2168", b"IX", id="nfkc"),
        pytest.param("\u00aa", b"a", id="nfkc-feminine-ordinal"),
        pytest.param("\ufb01", b"fi", id="nfkc-ligature"),
        pytest.param("x\u3000y", b"x y", id="non-ascii-space"),
        pytest.param("\u00a0x\u00a0", b" x ", id="nbsp"),
        pytest.param("I\u00adX", b"IX", id="mapped-to-nothing"),
        pytest.param("\u200b\u00e9", b" \xc3\xa9", id="zero-width-space-maps-to-space"),
        pytest.param("e\u0301", b"\xc3\xa9", id="nfkc-composes"),
        pytest.param("\u0627\u0628", "\u0627\u0628".encode(), id="rtl-ok"),
        pytest.param("\u0627\u0031", "\u0627\u0031".encode(), id="bidi-last-not-rtl-raw"),
        pytest.param("\u0627a\u0627", "\u0627a\u0627".encode(), id="bidi-mixed-raw"),
        pytest.param("\u0007\u00e9", "\u0007\u00e9".encode(), id="control-with-non-ascii-raw"),
        pytest.param("\u0221x", "\u0221x".encode(), id="unassigned-in-unicode-3.2-raw"),
        pytest.param("\ue000x", "\ue000x".encode(), id="private-use-raw"),
        pytest.param("a\u0340", "a\u0340".encode(), id="prohibited-before-nfkc-raw"),
        pytest.param("\u00ad", "\u00ad".encode(), id="maps-to-empty-raw"),
        pytest.param(b"\xff\xfepw", b"\xff\xfepw", id="invalid-utf8-raw"),
        pytest.param("caf\u00e9".encode(), b"caf\xc3\xa9", id="utf8-bytes"),
        pytest.param("\u2168".encode(), b"IX", id="utf8-bytes-nfkc"),
    ],
)
def test_saslprep_matches_postgres_rules(password: str | bytes, prepared: bytes) -> None:
    assert saslprep(password) == prepared


def test_saslprep_surrogate_escaped_text_round_trips_to_the_wire_bytes() -> None:
    wire = b"\xffpw"
    assert saslprep(wire.decode("utf-8", "surrogateescape")) == wire


# ------------------------------------------------------------------------------------------------
# SCRAM verifiers
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "postgres_verifier"), POSTGRES_VERIFIERS)
def test_make_scram_verifier_equals_postgres(password: str, postgres_verifier: str) -> None:
    parsed = ScramVerifier.parse(postgres_verifier)
    assert make_scram_verifier(password, salt=parsed.salt, iterations=parsed.iterations) == postgres_verifier


@pytest.mark.parametrize(("password", "postgres_verifier"), POSTGRES_VERIFIERS)
def test_verify_cleartext_against_postgres_verifier(password: str, postgres_verifier: str) -> None:
    assert verify_cleartext(postgres_verifier, password) is True
    assert verify_cleartext(postgres_verifier, password + "x") is False
    assert verify_cleartext(postgres_verifier, password.encode("utf-8")) is True


def test_verify_cleartext_accepts_equivalent_forms_after_saslprep() -> None:
    verifier = dict(POSTGRES_VERIFIERS)["\u2168"]
    assert verify_cleartext(verifier, "IX") is True
    assert verify_cleartext(verifier, "I\u00adX") is True
    assert verify_cleartext(verifier, "ix") is False
    # "a\u0340" kept its raw bytes, so its NFKC form "\u00e0" is a different password.
    assert verify_cleartext(dict(POSTGRES_VERIFIERS)["a\u0340"], "\u00e0") is False


def test_password_with_nul_never_matches_and_cannot_be_stored() -> None:
    verifier = POSTGRES_VERIFIERS[0][1]
    # HMAC zero-pads short keys, so without this rule "pw\0" would derive the same keys as "pw".
    assert verify_cleartext(verifier, "pw\x00") is False
    assert verify_cleartext(verifier, b"pw\x00\x00") is False
    with pytest.raises(ValueError, match="NUL"):
        make_scram_verifier("pw\x00")


def test_scram_verifier_fields_and_round_trip() -> None:
    text = POSTGRES_VERIFIERS[0][1]
    parsed = ScramVerifier.parse(text)
    assert parsed.iterations == 4096
    assert parsed.salt == base64.b64decode("SLrjDryLhwstvP9jHue7Jg==")
    assert parsed.stored_key == base64.b64decode("L+SVJsDYZHgEbx+Wnk6BR0wy/oSIfW9DRb+PzbqQ2eI=")
    assert parsed.server_key == base64.b64decode("70xm00hD166lUGuIjApCXmfOaovLpFF+5/a5xRBlupk=")
    assert parsed.doomed is False
    assert parsed.to_string() == text


def test_make_scram_verifier_defaults_random_16_byte_salt_and_4096_iterations() -> None:
    first = ScramVerifier.parse(make_scram_verifier("pw"))
    second = ScramVerifier.parse(make_scram_verifier("pw"))
    assert (first.iterations, len(first.salt)) == (4096, 16)
    assert first.salt != second.salt
    assert first.stored_key != second.stored_key
    assert verify_cleartext(first, "pw") is True


def test_make_scram_verifier_other_iteration_count() -> None:
    text = make_scram_verifier("pw", salt=b"0123456789abcdef", iterations=1)
    assert text.startswith("SCRAM-SHA-256$1:MDEyMzQ1Njc4OWFiY2RlZg==$")
    assert verify_cleartext(text, "pw") is True
    with pytest.raises(ValueError, match="iteration count must be positive"):
        make_scram_verifier("pw", iterations=0)


KEY = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("md5871c429757b7a0bf1654fad112b77bd4", id="md5-hash"),
        pytest.param("pw", id="cleartext"),
        pytest.param(f"SCRAM-SHA-1$4096:c2FsdA==${KEY}:{KEY}", id="other-scheme"),
        pytest.param(f"SCRAM-SHA-256$4096:c2FsdA==${KEY}", id="no-server-key"),
        pytest.param(f"SCRAM-SHA-256$4096$c2FsdA==${KEY}:{KEY}", id="dollar-for-colon"),
        pytest.param(f"SCRAM-SHA-256$4096:c2FsdA==${KEY}:{KEY}$x", id="extra-part"),
        pytest.param(f"SCRAM-SHA-256$0:c2FsdA==${KEY}:{KEY}", id="zero-iterations"),
        pytest.param(f"SCRAM-SHA-256$-1:c2FsdA==${KEY}:{KEY}", id="negative-iterations"),
        pytest.param(f"SCRAM-SHA-256$ 4096:c2FsdA==${KEY}:{KEY}", id="space-in-iterations"),
        pytest.param(f"SCRAM-SHA-256$\u0664:c2FsdA==${KEY}:{KEY}", id="non-ascii-digit"),
        pytest.param(f"SCRAM-SHA-256$4096:c2Fsd*==${KEY}:{KEY}", id="bad-base64-salt"),
        pytest.param(f"SCRAM-SHA-256$4096:${KEY}:{KEY}", id="empty-salt"),
        pytest.param(f"SCRAM-SHA-256$4096:c2FsdA==$c2FsdA==:{KEY}", id="short-stored-key"),
        pytest.param(f"SCRAM-SHA-256$4096:c2FsdA==${KEY}:{KEY}AAAA", id="long-server-key"),
        pytest.param(f"SCRAM-SHA-256$4096:c2FsdA==${KEY}:\u00e9", id="non-ascii-key"),
    ],
)
def test_parse_rejects_anything_but_a_scram_verifier(text: str) -> None:
    with pytest.raises(ValueError, match="SCRAM"):
        ScramVerifier.parse(text)
    with pytest.raises(ValueError, match="SCRAM"):
        verify_cleartext(text, "pw")


def test_mock_verifier_is_deterministic_per_user_and_never_matches() -> None:
    secret = b"s" * 32
    alice = ScramVerifier.mock("alice", secret)
    assert alice == ScramVerifier.mock("alice", secret)
    assert alice.salt != ScramVerifier.mock("bob", secret).salt
    assert alice.salt != ScramVerifier.mock("alice", b"t" * 32).salt
    assert (alice.iterations, len(alice.salt), alice.doomed) == (4096, 16, True)
    assert verify_cleartext(alice, "") is False
    with pytest.raises(ValueError, match="cannot be serialised"):
        alice.to_string()
    with pytest.raises(ValueError, match="at least 16 bytes"):
        ScramVerifier.mock("alice", b"short")


# ------------------------------------------------------------------------------------------------
# md5
# ------------------------------------------------------------------------------------------------


def test_md5_password_hash_equals_postgres() -> None:
    # SELECT 'md5' || md5('pw' || 'user')
    assert md5_password_hash("user", "pw") == "md5871c429757b7a0bf1654fad112b77bd4"


@pytest.mark.parametrize(
    ("username", "password", "salt", "postgres_response"),
    [
        # SELECT 'md5' || md5(md5('pw' || 'user') || 'abcd')
        ("user", "pw", b"abcd", b"md5d79d8448c33606d692ded4b89951495f"),
        # SELECT 'md5' || md5(md5('s3cr' || 'alice') || 'Zq!7')
        ("alice", "s3cr", b"Zq!7", b"md5f3255b0a2718529b58231fe7e801b40f"),
    ],
)
def test_md5_response_equals_postgres(
    username: str, password: str, salt: bytes, postgres_response: bytes
) -> None:
    assert expected_md5_response(username, password, salt) == postgres_response
    assert verify_md5_response(username, password, salt, postgres_response) is True


@pytest.mark.parametrize(
    ("username", "password", "salt", "response"),
    [
        pytest.param("user", "pW", b"abcd", b"md5d79d8448c33606d692ded4b89951495f", id="wrong-password"),
        pytest.param("User", "pw", b"abcd", b"md5d79d8448c33606d692ded4b89951495f", id="wrong-user"),
        pytest.param("user", "pw", b"abce", b"md5d79d8448c33606d692ded4b89951495f", id="other-salt"),
        pytest.param("user", "pw", b"abcd", b"d79d8448c33606d692ded4b89951495f", id="no-prefix"),
        pytest.param("user", "pw", b"abcd", b"md5d79d8448c33606d692ded4b89951495f\x00", id="trailing-nul"),
        pytest.param("user", "pw", b"abcd", b"MD5d79d8448c33606d692ded4b89951495f", id="upper-prefix"),
        pytest.param("user", "pw", b"abcd", b"md5D79D8448C33606D692DED4B89951495F", id="upper-hex"),
        pytest.param("user", "pw", b"abcd", b"", id="empty"),
        pytest.param(
            "user", "pw", b"abcd", b"md5871c429757b7a0bf1654fad112b77bd4", id="stored-hash-replayed"
        ),
    ],
)
def test_md5_response_rejected(username: str, password: str, salt: bytes, response: bytes) -> None:
    assert verify_md5_response(username, password, salt, response) is False


def test_md5_binary_salt_and_non_ascii_credentials() -> None:
    salt = b"\x00\xff\x10\x80"
    response = expected_md5_response("j\u00fcrgen", "gr\u00fc\u00df", salt)
    assert response.startswith(b"md5")
    assert len(response) == 35
    assert verify_md5_response("j\u00fcrgen".encode(), "gr\u00fc\u00df".encode(), salt, response) is True
    assert verify_md5_response("j\u00fcrgen", "gruss", salt, response) is False


def test_md5_salt_is_four_fresh_random_bytes() -> None:
    salts = {md5_salt() for _ in range(64)}
    assert all(len(salt) == 4 for salt in salts)
    assert len(salts) == 64
    with pytest.raises(ValueError, match="4 bytes"):
        verify_md5_response("user", "pw", b"abc", b"md5")
