"""Unit tests for gateway.protocol.state: one test per rule written at the top of state.py.

The rules (PostgreSQL protocol 3.0, "Message Flow") are quoted in each section. The state machine
is pure, so every test builds a ConnectionState, moves it along and checks phase, transaction
status and what ``admit`` says about each message.
"""

from __future__ import annotations

import pytest

from gateway.errors import InFailedTransaction, ProtocolViolation
from gateway.protocol import messages as m
from gateway.protocol.state import EXTENDED_MESSAGES, ConnectionState, Phase, TransactionStatus

# One instance of every frontend message class.
QUERY = m.Query("SELECT 1")
PARSE = m.Parse("s", "SELECT 1")
BIND = m.Bind("p", "s")
DESCRIBE = m.Describe("S", "s")
EXECUTE = m.Execute("p")
CLOSE = m.Close("P", "p")
SYNC = m.Sync()
FLUSH = m.Flush()
TERMINATE = m.Terminate()
PASSWORD = m.PasswordData.password("secret")
COPY_FAIL = m.CopyFail("gave up")
COPY_DATA = m.UnsupportedFrontend(b"d", b"1\t2\n")
FUNCTION_CALL = m.UnsupportedFrontend(b"F", b"\x00\x00\x00\x01")

EXTENDED: list[m.FrontendMessage] = [PARSE, BIND, DESCRIBE, EXECUTE, CLOSE]
READY_MESSAGES: list[m.FrontendMessage] = [QUERY, *EXTENDED, SYNC, FLUSH, TERMINATE]
NOT_READY_MESSAGES: list[m.FrontendMessage] = [PASSWORD, COPY_FAIL, COPY_DATA, FUNCTION_CALL]
ALL_MESSAGES = READY_MESSAGES + NOT_READY_MESSAGES
DISCARDED_WHILE_SKIPPING: list[m.FrontendMessage] = [QUERY, *EXTENDED, FLUSH]


def _name(message: m.FrontendMessage) -> str:
    return type(message).__name__ + (
        f"-{message.type_code.decode()}" if isinstance(message, m.UnsupportedFrontend) else ""
    )


def _authenticating() -> ConnectionState:
    state = ConnectionState()
    state.start_authentication()
    return state


def _ready() -> ConnectionState:
    state = _authenticating()
    state.authenticated()
    return state


def _skipping(transaction: TransactionStatus = TransactionStatus.IDLE) -> ConnectionState:
    state = _ready()
    state.transaction = transaction
    state.extended_error()
    return state


def _in_transaction() -> ConnectionState:
    state = _ready()
    assert state.begin() is True
    return state


def _failed_transaction() -> ConnectionState:
    state = _in_transaction()
    state.statement_failed()
    return state


# --- rule 1: STARTUP ------------------------------------------------------------------------------
def test_a_new_connection_starts_in_startup_phase_idle() -> None:
    state = ConnectionState()
    assert state.phase is Phase.STARTUP
    assert state.transaction is TransactionStatus.IDLE


@pytest.mark.parametrize("message", [msg for msg in ALL_MESSAGES if msg is not TERMINATE], ids=_name)
def test_startup_phase_admits_no_typed_message(message: m.FrontendMessage) -> None:
    state = ConnectionState()
    with pytest.raises(ProtocolViolation) as caught:
        state.admit(message)
    assert caught.value.sqlstate == "08P01"
    assert state.phase is Phase.STARTUP


def test_startup_moves_to_authenticating_once() -> None:
    state = ConnectionState()
    state.start_authentication()
    assert state.phase is Phase.AUTHENTICATING
    with pytest.raises(ProtocolViolation):
        state.start_authentication()


def test_cannot_be_authenticated_straight_from_startup() -> None:
    state = ConnectionState()
    with pytest.raises(ProtocolViolation):
        state.authenticated()
    assert state.phase is Phase.STARTUP


# --- rule 2: AUTHENTICATING ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "message", [PASSWORD, m.PasswordData.sasl_initial("SCRAM-SHA-256", b"n,,"), TERMINATE]
)
def test_authenticating_admits_password_messages_and_terminate(message: m.FrontendMessage) -> None:
    state = _authenticating()
    assert state.admit(message) is True
    assert state.phase is Phase.AUTHENTICATING


@pytest.mark.parametrize(
    "message", [msg for msg in ALL_MESSAGES if msg not in (PASSWORD, TERMINATE)], ids=_name
)
def test_authenticating_refuses_everything_else(message: m.FrontendMessage) -> None:
    state = _authenticating()
    with pytest.raises(ProtocolViolation) as caught:
        state.admit(message)
    assert caught.value.sqlstate == "08P01"
    assert caught.value.severity == "FATAL"


def test_sync_during_authentication_is_refused_so_no_ready_for_query_is_sent() -> None:
    state = _authenticating()
    with pytest.raises(ProtocolViolation):
        state.admit(SYNC)
    assert state.phase is Phase.AUTHENTICATING
    assert state.transaction is TransactionStatus.IDLE


def test_successful_authentication_moves_to_ready_once() -> None:
    state = _authenticating()
    state.authenticated()
    assert state.phase is Phase.READY
    with pytest.raises(ProtocolViolation):
        state.authenticated()
    with pytest.raises(ProtocolViolation):
        state.start_authentication()


# --- rule 3: READY --------------------------------------------------------------------------------------
@pytest.mark.parametrize("message", READY_MESSAGES, ids=_name)
def test_ready_admits_query_and_extended_messages(message: m.FrontendMessage) -> None:
    state = _ready()
    assert state.admit(message) is True
    assert state.phase is Phase.READY


@pytest.mark.parametrize("message", NOT_READY_MESSAGES, ids=_name)
def test_ready_refuses_password_and_unsupported_messages(message: m.FrontendMessage) -> None:
    state = _ready()
    with pytest.raises(ProtocolViolation) as caught:
        state.admit(message)
    assert caught.value.sqlstate == "08P01"
    assert caught.value.severity == "FATAL"


def test_closed_connection_admits_nothing_but_terminate() -> None:
    state = _ready()
    state.close()
    assert state.phase is Phase.CLOSED
    with pytest.raises(ProtocolViolation):
        state.admit(QUERY)
    with pytest.raises(ProtocolViolation):
        state.admit(SYNC)
    assert state.admit(TERMINATE) is True


# --- rule 4: SKIP_UNTIL_SYNC -------------------------------------------------------------------------------
def test_extended_message_classes_are_the_five_that_can_fail() -> None:
    assert set(EXTENDED_MESSAGES) == {type(message) for message in EXTENDED}


def test_extended_error_moves_to_skip_until_sync() -> None:
    state = _ready()
    state.extended_error()
    assert state.phase is Phase.SKIP_UNTIL_SYNC
    assert state.transaction is TransactionStatus.IDLE


@pytest.mark.parametrize("message", DISCARDED_WHILE_SKIPPING, ids=_name)
def test_skip_until_sync_discards_everything_but_sync_and_terminate(message: m.FrontendMessage) -> None:
    state = _skipping()
    assert state.admit(message) is False
    assert state.phase is Phase.SKIP_UNTIL_SYNC


@pytest.mark.parametrize("message", [SYNC, TERMINATE], ids=_name)
def test_skip_until_sync_admits_sync_and_terminate(message: m.FrontendMessage) -> None:
    state = _skipping()
    assert state.admit(message) is True


def test_password_message_while_skipping_is_still_a_protocol_violation() -> None:
    state = _skipping()
    with pytest.raises(ProtocolViolation):
        state.admit(PASSWORD)


def test_sync_ends_skipping_and_returns_transaction_status() -> None:
    state = _skipping()
    assert state.sync() is TransactionStatus.IDLE
    assert state.phase is Phase.READY
    assert state.admit(PARSE) is True


def test_sync_in_ready_phase_keeps_ready_and_reports_status() -> None:
    state = _in_transaction()
    assert state.sync() is TransactionStatus.IN_TRANSACTION
    assert state.phase is Phase.READY


def test_many_messages_are_discarded_until_the_one_sync() -> None:
    state = _skipping()
    assert [state.admit(message) for message in EXTENDED] == [False] * 5
    assert state.admit(SYNC) is True
    assert state.sync() is TransactionStatus.IDLE
    assert [state.admit(message) for message in EXTENDED] == [True] * 5


def test_query_error_does_not_skip_until_sync() -> None:
    """A Query answers ReadyForQuery itself: its failure marks the transaction, not the phase."""
    state = _in_transaction()
    state.statement_failed()
    assert state.phase is Phase.READY
    assert state.admit(QUERY) is True
    assert state.transaction is TransactionStatus.FAILED


def test_extended_error_inside_transaction_fails_the_transaction() -> None:
    state = _skipping(TransactionStatus.IN_TRANSACTION)
    assert state.transaction is TransactionStatus.FAILED
    assert state.sync() is TransactionStatus.FAILED
    assert state.phase is Phase.READY


# --- rule 5: transaction status --------------------------------------------------------------------------
def test_transaction_status_letters_are_those_of_ready_for_query() -> None:
    assert [status.value for status in TransactionStatus] == ["I", "T", "E"]
    assert m.ReadyForQuery(_failed_transaction().transaction).encode() == b"Z\x00\x00\x00\x05E"


def test_begin_enters_a_transaction() -> None:
    state = _ready()
    assert state.begin() is True
    assert state.transaction is TransactionStatus.IN_TRANSACTION


def test_begin_inside_a_transaction_is_only_a_warning() -> None:
    state = _in_transaction()
    assert state.begin() is False
    assert state.transaction is TransactionStatus.IN_TRANSACTION


def test_begin_inside_a_failed_transaction_keeps_it_failed() -> None:
    state = _failed_transaction()
    assert state.begin() is False
    assert state.transaction is TransactionStatus.FAILED


def test_statement_failure_inside_a_transaction_fails_it() -> None:
    state = _in_transaction()
    state.statement_failed()
    assert state.transaction is TransactionStatus.FAILED


def test_statement_failure_outside_a_transaction_stays_idle() -> None:
    state = _ready()
    state.statement_failed()
    assert state.transaction is TransactionStatus.IDLE


@pytest.mark.parametrize("ends_transaction", [True, False])
def test_check_can_run_allows_everything_when_not_failed(ends_transaction: bool) -> None:
    for state in (_ready(), _in_transaction()):
        state.check_can_run(ends_transaction=ends_transaction)


def test_check_can_run_refuses_ordinary_statements_in_a_failed_transaction() -> None:
    state = _failed_transaction()
    with pytest.raises(InFailedTransaction) as caught:
        state.check_can_run(ends_transaction=False)
    assert caught.value.sqlstate == "25P02"
    assert caught.value.severity == "ERROR"
    assert caught.value.message == (
        "current transaction is aborted, commands ignored until end of transaction block"
    )
    assert state.transaction is TransactionStatus.FAILED


def test_check_can_run_allows_statements_that_end_a_failed_transaction() -> None:
    state = _failed_transaction()
    state.check_can_run(ends_transaction=True)
    assert state.transaction is TransactionStatus.FAILED


def test_end_of_a_transaction_reports_it_was_in_one() -> None:
    state = _in_transaction()
    assert state.end() == (True, False)
    assert state.transaction is TransactionStatus.IDLE


def test_end_of_a_failed_transaction_reports_failure_so_commit_becomes_rollback() -> None:
    state = _failed_transaction()
    assert state.end() == (True, True)
    assert state.transaction is TransactionStatus.IDLE


def test_end_outside_a_transaction_reports_no_transaction() -> None:
    state = _ready()
    assert state.end() == (False, False)
    assert state.transaction is TransactionStatus.IDLE


def test_rollback_to_savepoint_recovers_a_failed_transaction() -> None:
    state = _failed_transaction()
    state.rollback_to_savepoint()
    assert state.transaction is TransactionStatus.IN_TRANSACTION
    state.check_can_run(ends_transaction=False)


def test_rollback_to_savepoint_leaves_other_statuses_alone() -> None:
    in_transaction, idle = _in_transaction(), _ready()
    in_transaction.rollback_to_savepoint()
    idle.rollback_to_savepoint()
    assert in_transaction.transaction is TransactionStatus.IN_TRANSACTION
    assert idle.transaction is TransactionStatus.IDLE


def test_full_cycle_begin_fail_commit_begin_again() -> None:
    state = _ready()
    statuses = [state.sync()]
    state.begin()
    statuses.append(state.sync())
    state.extended_error()
    statuses.append(state.sync())
    state.check_can_run(ends_transaction=True)
    assert state.end() == (True, True)
    statuses.append(state.sync())
    assert state.begin() is True
    statuses.append(state.sync())
    assert "".join(statuses) == "ITEIT"
