"""The Laminar SQL dialect: PostgreSQL as sqlglot parses it, plus the statements Laminar adds.

Every customisation of the grammar lives here, as additions to sqlglot's parser tables: no
regular expressions over SQL text and no patching of sqlglot itself.

Session statements that drivers send on connect (``SHOW transaction isolation level``,
``DISCARD ALL``, ``DEALLOCATE ALL``, ``UNLISTEN *``, ``SAVEPOINT``, ``RELEASE``, ``RESET``,
``CLOSE ALL``, ``START TRANSACTION``, ``SET TIME ZONE``) are parsed into the nodes of
:mod:`gateway.sql.ast` instead of sqlglot's opaque ``Command`` fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokenizer_core import Token, TokenType
from sqlglot.trie import new_trie

from gateway.sql import ast

# Words that start a statement of their own in PostgreSQL but that sqlglot's tokenizer treats as
# identifiers. They are tokenised as COMMAND and dispatched on their text by the parser below.
SESSION_COMMAND_WORDS = (
    "DISCARD",
    "DEALLOCATE",
    "LISTEN",
    "UNLISTEN",
    "SAVEPOINT",
    "RELEASE",
    "RESET",
    "CLOSE",
)

# SHOW forms whose setting name is spelt as several words.
MULTIWORD_SETTINGS = {
    ("transaction", "isolation", "level"): "transaction_isolation",
    ("time", "zone"): "timezone",
    ("session", "authorization"): "session_authorization",
}


INTERVAL_UNITS = frozenset(
    unit + suffix
    for unit in ("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "WEEK", "MILLISECOND", "MICROSECOND")
    for suffix in ("", "S")
)


class LaminarParser(PostgresParser):
    """PostgreSQL's parser with Laminar's statement table."""

    STATEMENT_PARSERS: ClassVar[dict[TokenType, Callable[[Any], exp.Expression]]] = {
        **PostgresParser.STATEMENT_PARSERS,
        TokenType.SHOW: lambda self: self._parse_show_statement(),
        TokenType.COMMAND: lambda self: self._parse_session_command(),
    }

    SET_PARSERS: ClassVar[dict[str, Callable[[Any], exp.Expression | None]]] = {
        **PostgresParser.SET_PARSERS,
        "TIME ZONE": lambda self: self._parse_set_time_zone(),
        "SESSION CHARACTERISTICS": lambda self: self._parse_set_session_characteristics(),
    }
    SET_TRIE: ClassVar[dict[str, Any]] = new_trie(key.split(" ") for key in SET_PARSERS)

    # -- helpers -------------------------------------------------------------------------------
    def _remaining_words(self) -> list[str]:
        words: list[str] = []
        while self._curr and self._curr.token_type != TokenType.SEMICOLON:
            words.append(self._curr.text)
            self._advance()
        return words

    def _parse_name_or_all(self) -> str | None:
        """An identifier (returned as written, case-folded like PostgreSQL) or ALL / * (None)."""
        if self._match(TokenType.ALL) or self._match(TokenType.STAR):
            return None
        ident = self._parse_id_var(any_token=True)
        if not isinstance(ident, exp.Identifier):
            self.raise_error("Expected a name")
            return None
        return str(ident.name) if ident.quoted else str(ident.name).lower()

    def _parse_setting_name(self) -> str:
        words = self._remaining_words()
        if not words:
            self.raise_error("Expected a setting name")
        lowered = tuple(word.lower() for word in words)
        if lowered in MULTIWORD_SETTINGS:
            return MULTIWORD_SETTINGS[lowered]
        name = "".join(words)
        if len(words) > 1 and "." not in words:
            self.raise_error(f"unexpected words after setting name: {' '.join(words[1:])}")
        return name.lower()

    # -- statements ----------------------------------------------------------------------------
    def _parse_show_statement(self) -> exp.Expression:
        return self.expression(ast.Show(this=self._parse_setting_name()))

    def _parse_session_command(self) -> exp.Expression:
        start: Token = self._prev
        word = start.text.upper()
        if word == "RESET":
            return self.expression(ast.Reset(this=self._parse_setting_name()))
        if word == "DISCARD":
            words = self._remaining_words()
            target = " ".join(words).upper()
            if target not in {"ALL", "PLANS", "SEQUENCES", "TEMP", "TEMPORARY"}:
                self.raise_error("DISCARD takes ALL, PLANS, SEQUENCES or TEMP")
            return self.expression(ast.Discard(this="TEMP" if target == "TEMPORARY" else target))
        if word == "DEALLOCATE":
            self._match_text_seq("PREPARE")
            return self.expression(ast.Deallocate(this=self._parse_name_or_all()))
        if word in {"LISTEN", "UNLISTEN"}:
            return self.expression(ast.Listen(this=self._parse_name_or_all(), unlisten=word == "UNLISTEN"))
        if word == "SAVEPOINT":
            return self.expression(ast.Savepoint(this=self._parse_name_or_all()))
        if word == "CLOSE":
            return self.expression(ast.ClosePortal(this=self._parse_name_or_all()))
        if word == "RELEASE":
            self._match_text_seq("SAVEPOINT")
            return self.expression(ast.Savepoint(this=self._parse_name_or_all(), release=True))
        return self._parse_as_command(start)

    def _parse_set_time_zone(self) -> exp.Expression:
        value = self._parse_primary() or self._parse_var(any_token=True)
        if value is None:
            self.raise_error("Expected a time zone")
        return self.expression(exp.SetItem(this=exp.EQ(this=exp.column("timezone"), expression=value)))

    def _parse_set_session_characteristics(self) -> exp.Expression:
        # Transaction characteristics have no effect on a streaming gateway; accept them.
        self._remaining_words()
        return self.expression(exp.SetItem(kind="CHARACTERISTICS"))

    def _parse_interval(self, require_interval: bool = True, parse_function_unit: bool = True) -> Any:
        # PostgreSQL reads INTERVAL '1 day 02:03:04' as a typed literal; sqlglot would split the
        # string into a number and one unit and lose the rest. A string followed by no unit is
        # therefore kept whole, as CAST('...' AS INTERVAL), which DuckDB parses the same way.
        if (
            self._curr
            and self._curr.token_type == TokenType.INTERVAL
            and self._next
            and self._next.token_type == TokenType.STRING
        ):
            after = self._tokens[self._index + 2] if self._index + 2 < len(self._tokens) else None
            if after is None or after.text.upper() not in INTERVAL_UNITS:
                self._advance()
                literal = self._parse_primary()
                return self.expression(exp.Cast(this=literal, to=exp.DataType.build("INTERVAL")))
        return super()._parse_interval(require_interval, parse_function_unit)

    def _parse_statement(self) -> exp.Expression | None:
        # START TRANSACTION is BEGIN; START is not reserved elsewhere in statements we accept.
        if (
            self._curr
            and self._next
            and self._curr.text.upper() == "START"
            and self._next.text.upper() == "TRANSACTION"
        ):
            self._advance(2)
            transaction = self._parse_transaction()
            transaction.set("this", "START")  # remembered for the START TRANSACTION command tag
            return transaction
        result = super()._parse_statement()
        return result if isinstance(result, exp.Expression) else None


class Laminar(Postgres):
    """PostgreSQL, as Laminar's clients write it."""

    class Tokenizer(Postgres.Tokenizer):
        KEYWORDS: ClassVar[dict[str, TokenType]] = {
            **Postgres.Tokenizer.KEYWORDS,
            **dict.fromkeys(SESSION_COMMAND_WORDS, TokenType.COMMAND),
            "ABORT": TokenType.ROLLBACK,  # PostgreSQL's synonym for ROLLBACK
        }
        # Statements we parse ourselves must be tokenised normally, not swallowed as one string.
        COMMANDS: ClassVar[set[TokenType]] = Postgres.Tokenizer.COMMANDS - {
            TokenType.COMMAND,
            TokenType.SHOW,
        }

    Parser = LaminarParser


def parse(sql: str) -> list[exp.Expression]:
    """Split and parse a query string into statements (empty statements are dropped)."""
    statements = sqlglot.parse(sql, read=Laminar)
    return [
        statement
        for statement in statements
        if isinstance(statement, exp.Expression) and not isinstance(statement, exp.Semicolon)
    ]


__all__ = ["Laminar", "ParseError", "parse"]
