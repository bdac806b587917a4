"""The one error hierarchy of the gateway: every error a client can see carries a SQLSTATE.

Modelled on psycopg's ``errors.py``: subclasses declare ``sqlstate`` (and whether retrying could
help); :func:`error_fields` is the single place that turns any exception into the fields of an
ErrorResponse. Exceptions that are not :class:`LaminarError` become ``XX000`` and are logged with
their traceback, because they are bugs.
"""

from __future__ import annotations

import logging
from typing import ClassVar

log = logging.getLogger(__name__)


class LaminarError(Exception):
    """Root of every error reported to a client."""

    sqlstate: ClassVar[str] = "XX000"
    severity: ClassVar[str] = "ERROR"
    retriable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        detail: str | None = None,
        hint: str | None = None,
        position: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position


class FatalError(LaminarError):
    """An error after which the connection is closed (severity FATAL)."""

    severity: ClassVar[str] = "FATAL"


# --- class 08: connection exception -------------------------------------------------------------
class ProtocolViolation(FatalError):
    sqlstate = "08P01"


# --- class 0A: feature not supported ------------------------------------------------------------
class FeatureNotSupported(LaminarError):
    sqlstate = "0A000"


class UnsupportedProtocol(FatalError):
    sqlstate = "0A000"


# --- class 22: data exception --------------------------------------------------------------------
class DataException(LaminarError):
    sqlstate = "22000"


class DivisionByZero(DataException):
    sqlstate = "22012"


class InvalidTextRepresentation(DataException):
    sqlstate = "22P02"


class InvalidParameterValue(DataException):
    sqlstate = "22023"


class NumericValueOutOfRange(DataException):
    sqlstate = "22003"


class InvalidDatetimeFormat(DataException):
    sqlstate = "22007"


class CharacterNotInRepertoire(DataException):
    sqlstate = "22021"


class InvalidBinaryRepresentation(DataException):
    sqlstate = "22P03"


# --- class 25: invalid transaction state ---------------------------------------------------------
class InFailedTransaction(LaminarError):
    sqlstate = "25P02"


# --- class 26 / 34: invalid names -----------------------------------------------------------------
class InvalidStatementName(LaminarError):
    sqlstate = "26000"


class InvalidCursorName(LaminarError):
    sqlstate = "34000"


# --- class 28: invalid authorization ------------------------------------------------------------
class InvalidAuthorization(FatalError):
    sqlstate = "28000"


class InvalidPassword(FatalError):
    sqlstate = "28P01"


# --- class 42: syntax error or access rule violation --------------------------------------------
class SyntaxError_(LaminarError):
    sqlstate = "42601"


class UndefinedColumn(LaminarError):
    sqlstate = "42703"


class UndefinedFunction(LaminarError):
    sqlstate = "42883"


class UndefinedTable(LaminarError):
    sqlstate = "42P01"


class UndefinedObject(LaminarError):
    sqlstate = "42704"


class DuplicateObject(LaminarError):
    sqlstate = "42710"


class DuplicatePreparedStatement(LaminarError):
    sqlstate = "42P05"


class DuplicateCursor(LaminarError):
    sqlstate = "42P03"


class DatatypeMismatch(LaminarError):
    sqlstate = "42804"


class IndeterminateDatatype(LaminarError):
    sqlstate = "42P18"


class InsufficientPrivilege(LaminarError):
    sqlstate = "42501"


class UndefinedParameter(LaminarError):
    sqlstate = "42704"


class StatementTooComplex(LaminarError):
    sqlstate = "54001"


class ObjectNotInPrerequisiteState(LaminarError):
    sqlstate = "55000"


class CantChangeRuntimeParam(LaminarError):
    sqlstate = "55P02"


# --- class 57: operator intervention ------------------------------------------------------------
class QueryCanceled(LaminarError):
    sqlstate = "57014"
    retriable = True


class AdminShutdown(FatalError):
    sqlstate = "57P01"
    retriable = True


# --- class XX: internal error -------------------------------------------------------------------
class InternalError(LaminarError):
    sqlstate = "XX000"


# --- added with the catalog and the sinks ---------------------------------------------------
class NoActiveTransactionError(LaminarError):
    """A statement that needs a transaction block ran outside one (an ERROR, unlike 25P01's warning)."""

    sqlstate = "25P01"


class InvalidSavepoint(LaminarError):
    sqlstate = "3B001"


class DependentObjectsStillExist(LaminarError):
    sqlstate = "2BP01"


class ConnectionFailure(LaminarError):
    """A remote system (a Kafka broker, the catalog database) could not be reached."""

    sqlstate = "08006"
    retriable = True


class DuplicateColumn(LaminarError):
    sqlstate = "42701"


class ActiveSqlTransaction(LaminarError):
    sqlstate = "25001"


# --- catalog storage and configuration (issue 3) ------------------------------------------------
class ReadOnlySqlTransaction(LaminarError):
    """A change was refused because the catalog database is read-only."""

    sqlstate = "25006"


class DiskFull(LaminarError):
    sqlstate = "53100"


class LockNotAvailable(LaminarError):
    """Another process held the catalog's write lock for longer than the wait allows."""

    sqlstate = "55P03"
    retriable = True


class IoError(LaminarError):
    sqlstate = "58030"


class DataCorrupted(LaminarError):
    sqlstate = "XX001"


class ConfigFileError(LaminarError):
    """A configuration file or key (e.g. the secret key) is missing, unsafe or does not match."""

    sqlstate = "F0000"


class WrongObjectType(LaminarError):
    sqlstate = "42809"


# --- the one place exceptions become ErrorResponse fields -----------------------------------------
MAX_FIELD_CHARS = 1000  # an error quoting a 10 MB literal or a 100,000-character name says less


def _bounded(text: str) -> str:
    """A message field at most MAX_FIELD_CHARS long: the start and the end of a longer one."""
    if len(text) <= MAX_FIELD_CHARS:
        return text
    half = MAX_FIELD_CHARS // 2
    return f"{text[:half]}... ({len(text) - 2 * half} characters left out) ...{text[-half:]}"


def error_fields(exc: BaseException) -> dict[str, str]:
    """ErrorResponse fields (by protocol field code) for any exception.

    Unknown exceptions are bugs: they are logged with a traceback and shown to the client as
    XX000 with the exception's class name only, so nothing internal (paths, secrets) leaks.
    """
    if isinstance(exc, LaminarError):
        fields = {"S": exc.severity, "V": exc.severity, "C": exc.sqlstate, "M": _bounded(exc.message)}
        if exc.detail:
            fields["D"] = _bounded(exc.detail)
        if exc.hint:
            fields["H"] = _bounded(exc.hint)
        if exc.position is not None:
            fields["P"] = str(exc.position)
        return fields
    log.error("internal error", exc_info=exc)
    return {
        "S": "ERROR",
        "V": "ERROR",
        "C": InternalError.sqlstate,
        "M": f"internal error ({type(exc).__name__}); the server log has the details",
    }
