"""Translate DuckDB's exceptions into Laminar errors with the SQLSTATE PostgreSQL would use.

DuckDB reports errors by exception class and message; PostgreSQL clients branch on SQLSTATE.
The message keeps DuckDB's first line (what went wrong) without DuckDB's "LINE 1:" excerpt,
which points into the DuckDB translation rather than into the statement the user wrote.
"""

from __future__ import annotations

import duckdb

from gateway import errors

# (exception class, words that must all appear in the message, error class); first match wins.
_RULES: tuple[tuple[type[Exception], tuple[str, ...], type[errors.LaminarError]], ...] = (
    (duckdb.InterruptException, (), errors.QueryCanceled),
    (duckdb.InvalidInputException, ("division by zero",), errors.DivisionByZero),
    (duckdb.OutOfRangeException, ("division by zero",), errors.DivisionByZero),
    (duckdb.ParserException, (), errors.SyntaxError_),
    (duckdb.BinderException, ("column", "not found"), errors.UndefinedColumn),
    (duckdb.BinderException, ("function",), errors.UndefinedFunction),
    (duckdb.BinderException, ("table", "does not exist"), errors.UndefinedTable),
    (duckdb.BinderException, (), errors.DatatypeMismatch),
    (duckdb.CatalogException, ("function", "does not exist"), errors.UndefinedFunction),
    (duckdb.CatalogException, ("macro", "does not exist"), errors.UndefinedFunction),
    (duckdb.CatalogException, ("table", "does not exist"), errors.UndefinedTable),
    (duckdb.CatalogException, ("type", "does not exist"), errors.UndefinedObject),
    (duckdb.CatalogException, (), errors.UndefinedObject),
    (duckdb.ConversionException, ("date",), errors.InvalidDatetimeFormat),
    (duckdb.ConversionException, ("timestamp",), errors.InvalidDatetimeFormat),
    (duckdb.ConversionException, ("out of range",), errors.NumericValueOutOfRange),
    (duckdb.ConversionException, (), errors.InvalidTextRepresentation),
    (duckdb.OutOfRangeException, (), errors.NumericValueOutOfRange),
    (duckdb.InvalidInputException, (), errors.InvalidParameterValue),
    (duckdb.NotImplementedException, (), errors.FeatureNotSupported),
    (duckdb.TypeMismatchException, (), errors.DatatypeMismatch),
)

_PREFIXES = (
    "Parser Error: ",
    "Binder Error: ",
    "Catalog Error: ",
    "Conversion Error: ",
    "Out of Range Error: ",
    "Invalid Input Error: ",
    "Not implemented Error: ",
    "INTERRUPT Error: ",
    "Type Mismatch Error: ",
)


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "error"
    for prefix in _PREFIXES:
        if line.startswith(prefix):
            line = line[len(prefix) :]
            break
    return line


def translate(exc: duckdb.Error) -> errors.LaminarError:
    """The Laminar error for a DuckDB exception."""
    text = str(exc)
    lowered = text.lower()
    for exception_class, words, error_class in _RULES:
        if isinstance(exc, exception_class) and all(word in lowered for word in words):
            if error_class is errors.QueryCanceled:
                return errors.QueryCanceled("canceling statement due to user request")
            if error_class is errors.DivisionByZero:
                return errors.DivisionByZero("division by zero")
            return error_class(_first_line(text))
    return errors.InternalError(_first_line(text))
