"""Encryption of secret values at rest: Fernet (AES-128-CBC + HMAC-SHA256) with one key per node.

The key comes from the environment variable ``LAMINAR_SECRET_KEY`` (a Fernet key: 32 random bytes,
url-safe base64) or, when that is unset, from ``<data_dir>/secret.key``, which is generated on the
first start with mode 0600. An existing key file that group or others can access is refused, so a
leaked file mode is noticed rather than silently tolerated. Nodes that share a PostgreSQL catalog
must share the key (set ``LAMINAR_SECRET_KEY`` on each).

Errors (SQLSTATE F0000, config_file_error) name the key's source but never contain a key, a
plaintext or a ciphertext.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from gateway.errors import ConfigFileError

KEY_ENV = "LAMINAR_SECRET_KEY"
KEY_FILE_NAME = "secret.key"
KEY_FILE_MODE = 0o600


class SecretBox:
    """Encrypts and decrypts secret values with one Fernet key.

    ``key_source`` says where the key came from (for error messages): the environment variable or
    the key file's path.
    """

    def __init__(self, key: bytes, *, key_source: str) -> None:
        self.key_source = key_source
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise ConfigFileError(
                f"the secret key from {key_source} is not a valid Fernet key",
                hint="A key is 32 random bytes in url-safe base64 (44 characters); generate one with"
                ' python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())".',
            ) from None

    @classmethod
    def for_data_dir(cls, data_dir: Path, environ: Mapping[str, str] | None = None) -> SecretBox:
        """The key from ``LAMINAR_SECRET_KEY``, else from (or newly generated into) the key file."""
        env = os.environ if environ is None else environ
        from_env = env.get(KEY_ENV)
        if from_env:
            return cls(from_env.strip().encode("ascii", errors="replace"), key_source=KEY_ENV)
        path = data_dir / KEY_FILE_NAME
        return cls(_read_or_create_key_file(path), key_source=str(path))

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(ciphertext).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError):
            raise ConfigFileError(
                f"cannot decrypt a stored secret: the secret key from {self.key_source} does not match"
                " the key it was encrypted with",
                hint=f"Start Laminar with the key that was in use when the secret was created"
                f" ({KEY_ENV} or the data directory's {KEY_FILE_NAME}), or set the secret again"
                " with ALTER SECRET.",
            ) from None


def _read_or_create_key_file(path: Path) -> bytes:
    if path.exists():
        return _read_key_file(path)
    # Write the key to a private temporary file, then link it into place: the key file is either
    # absent or complete, and of two processes starting on one data directory exactly one wins.
    temporary = path.with_name(f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    key = Fernet.generate_key()
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
        try:
            os.fchmod(fd, KEY_FILE_MODE)  # the umask can only narrow the mode; be explicit anyway
            os.write(fd, key + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(temporary, path)
    except FileExistsError:
        return _read_key_file(path)
    except OSError as exc:
        raise ConfigFileError(f"cannot create the secret key file {path}: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)
    return key


def _read_key_file(path: Path) -> bytes:
    try:
        info = path.stat()
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise ConfigFileError(
                f"the secret key file {path} has mode {mode:04o}:"
                " it must not be accessible by group or others",
                hint=f"Run: chmod 600 {path}",
            )
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigFileError(f"cannot read the secret key file {path}: {exc.strerror}") from None
    if not key:
        raise ConfigFileError(
            f"the secret key file {path} is empty",
            hint="Restore the key file from a backup, or remove it if no secret was ever stored.",
        )
    return key
