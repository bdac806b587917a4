"""The protocol state machine of one connection, kept apart from I/O and from SQL.

Rules (PostgreSQL protocol 3.0, "Message Flow"):

1. STARTUP: the client may send SSLRequest and GSSENCRequest (each answered 'S' or 'N') before its
   StartupMessage; a CancelRequest ends the connection after it is handled. Nothing else is valid.
2. AUTHENTICATING: only password / SASL messages ('p') and Terminate are valid. A failed
   authentication sends an ErrorResponse and closes: ReadyForQuery is never sent before success.
3. READY: Query, Parse, Bind, Describe, Execute, Close, Sync, Flush and Terminate are valid.
   A 'p' message here, or an unknown type, is a protocol violation (FATAL 08P01, then close).
4. An error while handling an extended-query message (Parse, Bind, Describe, Execute, Close)
   moves to SKIP_UNTIL_SYNC: every message but Sync and Terminate is discarded; Sync returns to
   READY and is answered with ReadyForQuery. A Query message answers ReadyForQuery itself.
5. Transaction status, reported in every ReadyForQuery: 'I' idle, 'T' inside BEGIN, 'E' inside a
   failed transaction. In 'E' every statement but COMMIT/ROLLBACK (and ROLLBACK TO) fails with
   25P02; COMMIT of a failed transaction rolls back and reports ROLLBACK.
"""

from __future__ import annotations

import enum

from gateway.errors import InFailedTransaction, ProtocolViolation
from gateway.protocol import messages as m


class Phase(enum.Enum):
    STARTUP = "startup"
    AUTHENTICATING = "authenticating"
    READY = "ready"
    SKIP_UNTIL_SYNC = "skip-until-sync"
    CLOSED = "closed"


class TransactionStatus(enum.StrEnum):
    IDLE = "I"
    IN_TRANSACTION = "T"
    FAILED = "E"


_READY_MESSAGES = (m.Query, m.Parse, m.Bind, m.Describe, m.Execute, m.Close, m.Sync, m.Flush, m.Terminate)
EXTENDED_MESSAGES = (m.Parse, m.Bind, m.Describe, m.Execute, m.Close)


class ConnectionState:
    """Tracks phase and transaction status; tells the server what to do with each message."""

    def __init__(self) -> None:
        self.phase = Phase.STARTUP
        self.transaction = TransactionStatus.IDLE

    # -- phases --------------------------------------------------------------------------------
    def start_authentication(self) -> None:
        self._expect(Phase.STARTUP)
        self.phase = Phase.AUTHENTICATING

    def authenticated(self) -> None:
        self._expect(Phase.AUTHENTICATING)
        self.phase = Phase.READY

    def close(self) -> None:
        self.phase = Phase.CLOSED

    def _expect(self, phase: Phase) -> None:
        if self.phase is not phase:
            raise ProtocolViolation(f"unexpected message in {self.phase.value} phase")

    # -- message admission ---------------------------------------------------------------------
    def admit(self, message: m.FrontendMessage) -> bool:
        """True if the message should be handled, False if it is to be discarded.

        Raises ProtocolViolation for a message that is not valid in the current phase.
        """
        if self.phase is Phase.AUTHENTICATING:
            if isinstance(message, m.PasswordData | m.Terminate):
                return True
            raise ProtocolViolation("expected a password message during authentication")
        if self.phase is Phase.SKIP_UNTIL_SYNC:
            if isinstance(message, m.Sync | m.Terminate):
                return True
            if isinstance(message, _READY_MESSAGES):
                return False
        if self.phase in (Phase.READY, Phase.SKIP_UNTIL_SYNC) and isinstance(message, _READY_MESSAGES):
            return True
        if isinstance(message, m.Terminate):
            return True
        raise ProtocolViolation(f"unexpected {type(message).__name__} message in {self.phase.value} phase")

    def extended_error(self) -> None:
        """An extended-query message failed: discard until Sync."""
        self.phase = Phase.SKIP_UNTIL_SYNC
        self.statement_failed()

    def sync(self) -> TransactionStatus:
        if self.phase is Phase.SKIP_UNTIL_SYNC:
            self.phase = Phase.READY
        return self.transaction

    # -- transactions --------------------------------------------------------------------------
    def statement_failed(self) -> None:
        if self.transaction is TransactionStatus.IN_TRANSACTION:
            self.transaction = TransactionStatus.FAILED

    def check_can_run(self, *, ends_transaction: bool) -> None:
        """Refuse ordinary statements inside a failed transaction (25P02)."""
        if self.transaction is TransactionStatus.FAILED and not ends_transaction:
            raise InFailedTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )

    def begin(self) -> bool:
        """Enter a transaction block; False (a warning) if one is already open."""
        if self.transaction is TransactionStatus.IDLE:
            self.transaction = TransactionStatus.IN_TRANSACTION
            return True
        return False

    def end(self) -> tuple[bool, bool]:
        """Leave the transaction block: (was in one, had failed)."""
        was_in = self.transaction is not TransactionStatus.IDLE
        failed = self.transaction is TransactionStatus.FAILED
        self.transaction = TransactionStatus.IDLE
        return was_in, failed

    def rollback_to_savepoint(self) -> None:
        if self.transaction is TransactionStatus.FAILED:
            self.transaction = TransactionStatus.IN_TRANSACTION
