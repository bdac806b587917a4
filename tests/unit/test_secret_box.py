"""Unit tests for catalog.secret_box: key from the environment or a 0600 key file, Fernet round trips, errors.

Every ciphertext is also checked with an independent ``Fernet`` built from the key the test knows,
so the box really uses that key. Error messages are asserted whole, and never contain a key, a
plaintext or a ciphertext.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from catalog.secret_box import KEY_ENV, SecretBox
from gateway.errors import ConfigFileError

PLAINTEXTS = ["", "hunter2", "pässwörd ✓ with 'quotes' and \"doubles\"\n", "x" * 10_000, "\x00nul"]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask of 0 while the test runs: the key file must still come out 0600."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
def test_key_file_is_created_with_mode_0600(tmp_path: Path) -> None:
    box = SecretBox.for_data_dir(tmp_path, environ={})

    key_file = tmp_path / "secret.key"
    assert mode_of(key_file) == 0o600
    content = key_file.read_bytes()
    assert len(content) == 45  # 44 characters of url-safe base64 and a newline
    assert content.endswith(b"\n")
    key = content.strip()
    assert box.key_source == str(key_file)
    assert Fernet(key).decrypt(box.encrypt("hunter2")) == b"hunter2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]  # no temporary file left


def test_existing_key_file_is_reused_unchanged(tmp_path: Path) -> None:
    first = SecretBox.for_data_dir(tmp_path, environ={})
    content = (tmp_path / "secret.key").read_bytes()

    second = SecretBox.for_data_dir(tmp_path, environ={})

    assert (tmp_path / "secret.key").read_bytes() == content
    assert second.decrypt(first.encrypt("kept across restarts")) == "kept across restarts"


def test_key_from_environment_wins_and_creates_no_file(tmp_path: Path) -> None:
    key = Fernet.generate_key()

    box = SecretBox.for_data_dir(tmp_path, environ={KEY_ENV: key.decode() + "\n"})

    assert box.key_source == "LAMINAR_SECRET_KEY"
    assert list(tmp_path.iterdir()) == []
    assert Fernet(key).decrypt(box.encrypt("from env")) == b"from env"
    assert box.decrypt(Fernet(key).encrypt(b"written elsewhere")) == "written elsewhere"


def test_environment_key_is_used_even_when_a_key_file_exists(tmp_path: Path) -> None:
    file_box = SecretBox.for_data_dir(tmp_path, environ={})
    key = Fernet.generate_key()

    env_box = SecretBox.for_data_dir(tmp_path, environ={KEY_ENV: key.decode()})

    assert Fernet(key).decrypt(env_box.encrypt("v")) == b"v"
    with pytest.raises(ConfigFileError):
        file_box.decrypt(env_box.encrypt("v"))


@pytest.mark.parametrize("plaintext", PLAINTEXTS, ids=["empty", "ascii", "unicode", "long", "nul"])
def test_round_trip(plaintext: str) -> None:
    key = Fernet.generate_key()
    box = SecretBox(key, key_source="test")

    ciphertext = box.encrypt(plaintext)

    assert isinstance(ciphertext, bytes)
    assert box.decrypt(ciphertext) == plaintext
    assert Fernet(key).decrypt(ciphertext) == plaintext.encode("utf-8")
    if plaintext:
        assert plaintext.encode("utf-8") not in ciphertext
    assert box.encrypt(plaintext) != ciphertext  # a fresh IV every time


def test_wrong_key_is_a_clear_error_without_the_ciphertext() -> None:
    writer = SecretBox(Fernet.generate_key(), key_source="LAMINAR_SECRET_KEY")
    reader = SecretBox(Fernet.generate_key(), key_source="/data/secret.key")
    ciphertext = writer.encrypt("hunter2")

    with pytest.raises(ConfigFileError) as caught:
        reader.decrypt(ciphertext)

    error = caught.value
    assert error.sqlstate == "F0000"
    assert error.message == (
        "cannot decrypt a stored secret: the secret key from /data/secret.key does not match"
        " the key it was encrypted with"
    )
    assert error.hint == (
        "Start Laminar with the key that was in use when the secret was created"
        " (LAMINAR_SECRET_KEY or the data directory's secret.key), or set the secret again with ALTER SECRET."
    )
    everything = f"{error} {error.message} {error.hint} {error.detail}"
    assert ciphertext.decode("ascii") not in everything
    assert "hunter2" not in everything
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_tampered_ciphertext_is_the_same_clear_error() -> None:
    box = SecretBox(Fernet.generate_key(), key_source="LAMINAR_SECRET_KEY")
    token = bytearray(box.encrypt("hunter2"))
    token[-5] = ord("A") if token[-5] != ord("A") else ord("B")

    with pytest.raises(ConfigFileError, match=r"^cannot decrypt a stored secret: the secret key from"):
        box.decrypt(bytes(token))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o700 | 0o010])
def test_key_file_accessible_by_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    key = Fernet.generate_key()
    key_file = tmp_path / "secret.key"
    key_file.write_bytes(key + b"\n")
    key_file.chmod(mode)

    with pytest.raises(ConfigFileError) as caught:
        SecretBox.for_data_dir(tmp_path, environ={})

    error = caught.value
    assert error.sqlstate == "F0000"
    assert error.message == (
        f"the secret key file {key_file} has mode {mode:04o}: it must not be accessible by group or others"
    )
    assert error.hint == f"Run: chmod 600 {key_file}"
    assert key.decode() not in f"{error.message} {error.hint}"
    assert mode_of(key_file) == mode  # refused, not silently "fixed"


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_key_file_private_to_its_owner_is_accepted(tmp_path: Path, mode: int) -> None:
    key = Fernet.generate_key()
    key_file = tmp_path / "secret.key"
    key_file.write_bytes(key + b"\n")
    key_file.chmod(mode)

    box = SecretBox.for_data_dir(tmp_path, environ={})

    assert Fernet(key).decrypt(box.encrypt("ok")) == b"ok"


def test_invalid_environment_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as caught:
        SecretBox.for_data_dir(tmp_path, environ={KEY_ENV: "not-a-fernet-key-but-a-password"})

    error = caught.value
    assert error.message == "the secret key from LAMINAR_SECRET_KEY is not a valid Fernet key"
    assert error.hint is not None
    assert error.hint.startswith("A key is 32 random bytes in url-safe base64 (44 characters)")
    assert "not-a-fernet-key-but-a-password" not in f"{error.message} {error.hint}"


def test_invalid_key_file_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_bytes(b"garbage\n")
    key_file.chmod(0o600)

    with pytest.raises(ConfigFileError) as caught:
        SecretBox.for_data_dir(tmp_path, environ={})

    assert caught.value.message == f"the secret key from {key_file} is not a valid Fernet key"


def test_empty_key_file_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_bytes(b"")
    key_file.chmod(0o600)

    with pytest.raises(ConfigFileError) as caught:
        SecretBox.for_data_dir(tmp_path, environ={})

    assert caught.value.message == f"the secret key file {key_file} is empty"
    assert (
        caught.value.hint == "Restore the key file from a backup, or remove it if no secret was ever stored."
    )


def test_missing_data_directory_is_a_clear_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "does-not-exist"

    with pytest.raises(ConfigFileError) as caught:
        SecretBox.for_data_dir(data_dir, environ={})

    assert caught.value.message == (
        f"cannot create the secret key file {data_dir / 'secret.key'}: No such file or directory"
    )
