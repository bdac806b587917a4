"""Authentication exchange of one connection: trust, cleartext, md5 or SCRAM-SHA-256.

Sans-IO: :meth:`Authenticator.start` returns the first server message, :meth:`receive` takes each
password message and returns what to answer. A failure raises :class:`InvalidPassword` (28P01,
FATAL), whose message never says whether the user exists, as in PostgreSQL. ReadyForQuery is
the caller's to send, and only after :attr:`Authenticator.done`.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.auth.passwords import (
    AuthMethod,
    ScramVerifier,
    md5_salt,
    verify_cleartext,
    verify_md5_response,
)
from gateway.auth.scram import ScramError, ScramExchange
from gateway.errors import InvalidPassword, ProtocolViolation
from gateway.protocol import messages as m


@dataclass(frozen=True, slots=True)
class Credential:
    """What the server knows about a user's password."""

    scram_verifier: str
    cleartext: str | None = None  # only for the bootstrap user: md5 needs the password itself


UserLookup = Callable[[str], Awaitable[Credential | None]]


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The method, the bootstrap users (from the command line) and where other users live."""

    method: AuthMethod
    users: dict[str, Credential] = field(default_factory=dict)
    lookup: UserLookup | None = None  # the catalog's users
    # Unknown users get a SCRAM exchange with a fake verifier derived from this secret, so the
    # exchange fails at the same step whether or not the user exists.
    mock_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    async def find(self, user: str) -> Credential | None:
        if self.method is AuthMethod.TRUST:
            return None
        if user in self.users:
            return self.users[user]
        return None if self.lookup is None else await self.lookup(user)


def _failed(user: str) -> InvalidPassword:
    return InvalidPassword(f'password authentication failed for user "{user}"')


class Authenticator:
    """One authentication exchange for ``user`` under the configured method."""

    def __init__(self, config: AuthConfig, user: str, credential: Credential | None) -> None:
        self._config = config
        self._user = user
        self._credential = credential
        # md5 needs the cleartext password; for users that only have a SCRAM verifier PostgreSQL
        # runs SCRAM instead, and so does Laminar.
        self._method = (
            AuthMethod.SCRAM_SHA_256
            if config.method is AuthMethod.MD5 and (credential is None or credential.cleartext is None)
            else config.method
        )
        self._salt = b""
        self._scram: ScramExchange | None = None
        self._sasl_started = False
        self.done = False

    def start(self) -> m.BackendMessage:
        method = self._method
        if method is AuthMethod.TRUST:
            self.done = True
            return m.AuthenticationOk()
        if method is AuthMethod.PASSWORD:
            return m.AuthenticationCleartextPassword()
        if method is AuthMethod.MD5:
            self._salt = md5_salt()
            return m.AuthenticationMD5Password(self._salt)
        verifier = (
            ScramVerifier.parse(self._credential.scram_verifier)
            if self._credential is not None
            else ScramVerifier.mock(self._user, self._config.mock_secret)
        )
        self._scram = ScramExchange(verifier)
        return m.AuthenticationSASL(ScramExchange.MECHANISMS)

    def receive(self, message: m.PasswordData) -> tuple[m.BackendMessage, ...]:
        """Answer one password message; the answer ends with AuthenticationOk when done."""
        if self.done:
            raise ProtocolViolation("authentication already completed")
        method = self._method
        if method is AuthMethod.SCRAM_SHA_256:
            return self._scram_step(message)
        credential = self._credential
        if method is AuthMethod.PASSWORD:
            password = message.as_password()
            if credential is None or not verify_cleartext(credential.scram_verifier, password):
                raise _failed(self._user)
        else:
            response = message.data.rstrip(b"\x00")
            if (
                credential is None
                or credential.cleartext is None
                or not verify_md5_response(self._user, credential.cleartext, self._salt, response)
            ):
                raise _failed(self._user)
        self.done = True
        return (m.AuthenticationOk(),)

    def _scram_step(self, message: m.PasswordData) -> tuple[m.BackendMessage, ...]:
        assert self._scram is not None
        try:
            if not self._sasl_started:
                self._sasl_started = True
                mechanism, payload = message.as_sasl_initial()
                return (m.AuthenticationSASLContinue(self._scram.handle_client_first(mechanism, payload)),)
            final = self._scram.handle_client_final(message.data)
        except ScramError as exc:
            if exc.sqlstate == InvalidPassword.sqlstate or self._credential is None:
                raise _failed(self._user) from exc
            raise ProtocolViolation(exc.message, detail=exc.detail) from exc
        if self._credential is None:
            raise _failed(self._user)
        self.done = True
        return m.AuthenticationSASLFinal(final), m.AuthenticationOk()
