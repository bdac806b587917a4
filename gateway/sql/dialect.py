"""The Laminar SQL dialect: PostgreSQL as sqlglot parses it, plus the statements Laminar adds.

Every customisation of the grammar lives here, as additions to sqlglot's parser tables: no
regular expressions over SQL text and no patching of sqlglot itself.

Session statements that drivers send on connect (``SHOW transaction isolation level``,
``DISCARD ALL``, ``DEALLOCATE ALL``, ``UNLISTEN *``, ``SAVEPOINT``, ``RELEASE``, ``RESET``,
``CLOSE ALL``, ``START TRANSACTION``, ``SET TIME ZONE``) are parsed into the nodes of
:mod:`gateway.sql.ast` instead of sqlglot's opaque ``Command`` fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokenizer_core import Token, TokenType
from sqlglot.trie import new_trie

from gateway.errors import StatementTooComplex, SyntaxError_
from gateway.sql import ast

log = logging.getLogger(__name__)

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

# Catalog objects of DDL statements, and the plural SHOW forms listing them.
CATALOG_OBJECTS = frozenset({"CONNECTION", "SECRET", "USER", "ROLE", "PIPELINE"})
SHOWABLE_OBJECTS = {
    "CONNECTIONS": "CONNECTION",
    "SECRETS": "SECRET",
    "USERS": "USER",
    "ROLES": "USER",
    "PIPELINES": "PIPELINE",
}
PIPELINE_ACTIONS = frozenset({"PAUSE", "RESUME"})

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
        TokenType.CREATE: lambda self: self._parse_laminar_create(),
        TokenType.ALTER: lambda self: self._parse_laminar_alter(),
        TokenType.DROP: lambda self: self._parse_laminar_drop(),
    }

    SET_PARSERS: ClassVar[dict[str, Callable[[Any], exp.Expression | None]]] = {
        **PostgresParser.SET_PARSERS,
        "TIME ZONE": lambda self: self._parse_set_time_zone(),
        "SESSION CHARACTERISTICS": lambda self: self._parse_set_session_characteristics(),
    }
    SET_TRIE: ClassVar[dict[str, Any]] = new_trie(key.split(" ") for key in SET_PARSERS)

    # MAP {'k': v, ...} (the spec's headers example) as DuckDB writes it; keys may be expressions.
    NO_PAREN_FUNCTION_PARSERS: ClassVar[dict[str, Callable[[Any], exp.Expression | None]]] = {
        **PostgresParser.NO_PAREN_FUNCTION_PARSERS,
        "MAP": lambda self: self._parse_map_literal(),
    }
    MAP_KEYS_ARE_ARBITRARY_EXPRESSIONS = True

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
        word = self._curr.text.upper() if self._curr else ""
        if word in SHOWABLE_OBJECTS and (not self._next or self._next.token_type == TokenType.SEMICOLON):
            self._advance()
            return self.expression(ast.ShowObjects(kind=SHOWABLE_OBJECTS[word]))
        if word == "CREATE" and self._next and self._next.text.upper() in CATALOG_OBJECTS:
            self._advance()
            kind = self._curr.text.upper()
            self._advance()
            return self.expression(ast.ShowObjects(kind=kind, this=self._parse_object_name()))
        return self.expression(ast.Show(this=self._parse_setting_name()))

    # -- catalog DDL ---------------------------------------------------------------------------
    def _parse_object_name(self) -> str:
        ident = self._parse_id_var(any_token=False)
        if not isinstance(ident, exp.Identifier):
            self.raise_error("Expected a name")
            return ""
        return str(ident.name) if ident.quoted else str(ident.name).lower()

    def _parse_if_exists(self, *, negated: bool) -> bool:
        words = ("IF", "NOT", "EXISTS") if negated else ("IF", "EXISTS")
        return bool(self._match_text_seq(*words))

    def _parse_laminar_create(self) -> exp.Expression:
        start = self._prev
        word = self._curr.text.upper() if self._curr else ""
        if word == "CONNECTION":
            self._advance()
            return self._parse_create_connection(start)
        if word == "SECRET":
            self._advance()
            exists = self._parse_if_exists(negated=True)
            name = self._parse_object_name()
            return self.expression(
                ast.CreateSecret(this=name, value=self._parse_secret_value(), exists=exists)
            )
        if word in ("USER", "ROLE"):
            self._advance()
            exists = self._parse_if_exists(negated=True)
            return self._parse_user_options(self._parse_object_name(), exists=exists, alter=False)
        if word == "PIPELINE":
            self._advance()
            return self._parse_create_pipeline(start)
        result = self._parse_create()
        assert isinstance(result, exp.Expression)
        return result

    def _parse_laminar_alter(self) -> exp.Expression:
        word = self._curr.text.upper() if self._curr else ""
        if word == "CONNECTION":
            self._advance()
            name = self._parse_object_name()
            if self._match(TokenType.SET):
                return self.expression(ast.AlterConnection(this=name, set_options=self._parse_option_list()))
            if self._match_text_seq("RESET"):
                if not self._match(TokenType.L_PAREN):
                    self.raise_error("Expected (")
                names = [self._parse_option_name()]
                while self._match(TokenType.COMMA):
                    names.append(self._parse_option_name())
                if not self._match(TokenType.R_PAREN):
                    self.raise_error("Expected )")
                return self.expression(ast.AlterConnection(this=name, reset_options=names))
            self.raise_error("Expected SET (...) or RESET (...) after ALTER CONNECTION name")
        if word == "SECRET":
            self._advance()
            name = self._parse_object_name()
            return self.expression(ast.CreateSecret(this=name, value=self._parse_secret_value(), alter=True))
        if word in ("USER", "ROLE"):
            self._advance()
            return self._parse_user_options(self._parse_object_name(), exists=False, alter=True)
        if word == "PIPELINE":
            self._advance()
            name = self._parse_object_name()
            action = self._curr.text.upper() if self._curr else ""
            if action not in PIPELINE_ACTIONS:
                self.raise_error("Expected PAUSE or RESUME after ALTER PIPELINE name")
            self._advance()
            return self.expression(ast.AlterPipeline(this=name, action=action))
        result = self._parse_alter()
        assert isinstance(result, exp.Expression)
        return result

    def _parse_laminar_drop(self) -> exp.Expression:
        word = self._curr.text.upper() if self._curr else ""
        if word not in CATALOG_OBJECTS:
            result = self._parse_drop()
            assert isinstance(result, exp.Expression)
            return result
        self._advance()
        kind = "USER" if word == "ROLE" else word
        exists = self._parse_if_exists(negated=False)
        name = self._parse_object_name()
        cascade = bool(self._match_text_seq("CASCADE"))
        if not cascade:
            self._match_text_seq("RESTRICT")
        return self.expression(ast.DropObject(this=name, kind=kind, exists=exists, cascade=cascade))

    def _parse_secret_value(self) -> str:
        if not self._match(TokenType.ALIAS):
            self.raise_error("Expected AS 'value'")
        if not self._match(TokenType.STRING):
            self.raise_error("A secret's value must be a string literal")
        return self._prev.text

    def _parse_user_options(self, name: str, *, exists: bool, alter: bool) -> exp.Expression:
        self._match(TokenType.WITH)
        password: str | None = None
        superuser: bool | None = None
        while self._curr and self._curr.token_type != TokenType.SEMICOLON:
            if self._curr.token_type == TokenType.STRING:  # never echo a literal: it may be a password
                self.raise_error("unexpected string literal in the role options (PASSWORD 'x' expected)")
            word = self._curr.text.upper()
            self._advance()
            if word == "PASSWORD":
                if self._match(TokenType.NULL):
                    self.raise_error("PASSWORD NULL is not supported: every Laminar user has a password")
                if not self._match(TokenType.STRING):
                    self.raise_error("Expected a string literal after PASSWORD")
                password = self._prev.text
            elif word in ("SUPERUSER", "NOSUPERUSER"):
                superuser = word == "SUPERUSER"
            elif word in ("LOGIN", "NOLOGIN", "INHERIT", "NOINHERIT"):
                continue
            else:
                self.raise_error(f"unrecognized role option {word}")
        return self.expression(
            ast.CreateUser(this=name, password=password, superuser=superuser, exists=exists, alter=alter)
        )

    def _parse_option_name(self) -> str:
        if self._match(TokenType.STRING):
            return self._prev.text
        ident = self._parse_id_var(any_token=True)
        if not isinstance(ident, exp.Identifier):
            self.raise_error("Expected an option name")
            return ""
        return str(ident.name) if ident.quoted else str(ident.name).lower()

    def _parse_option_value(self) -> str:
        negative = self._match(TokenType.DASH)
        if self._match_set((TokenType.STRING, TokenType.NUMBER)):
            text = self._prev.text
            return f"-{text}" if negative else text
        if not negative and self._match_set((TokenType.TRUE, TokenType.FALSE)):
            return self._prev.text.lower()
        ident = None if negative else self._parse_id_var(any_token=False)
        if not isinstance(ident, exp.Identifier):
            self.raise_error("Expected an option value: a string, a number, true/false or a name")
            return ""
        return str(ident.name)

    def _parse_option_list(self) -> list[tuple[str, str]]:
        if not self._match(TokenType.L_PAREN):
            self.raise_error("Expected ( to start the option list")
        options: list[tuple[str, str]] = []
        if self._match(TokenType.R_PAREN):
            return options
        while True:
            name = self._parse_option_name()
            if not self._match(TokenType.EQ):
                self.raise_error(f"Expected = after option {name}")
            options.append((name, self._parse_option_value()))
            if self._match(TokenType.R_PAREN):
                return options
            if not self._match(TokenType.COMMA):
                self.raise_error("Expected , or ) in the option list")

    def _parse_create_connection(self, start: Token) -> exp.Expression:
        exists = self._parse_if_exists(negated=True)
        name = self._parse_object_name()
        columns: list[tuple[str, str]] = []
        if self._match(TokenType.L_PAREN):
            while True:
                column = self._parse_object_name()
                type_start = self._curr
                datatype = self._parse_types(check_func=False, schema=True)
                if not isinstance(datatype, exp.DataType) or type_start is None:
                    self.raise_error(f"Expected a type for column {column}")
                    return exp.Null()
                columns.append((column, self._find_sql(type_start, self._prev).lower()))  # as written
                if self._match(TokenType.R_PAREN):
                    break
                if not self._match(TokenType.COMMA):
                    self.raise_error("Expected , or ) in the column list")
        if not self._match_text_seq("TO"):
            self.raise_error("Expected TO <connector> (...) after the connection name")
        connector = self._parse_object_name()
        options = self._parse_option_list()
        return self.expression(
            ast.CreateConnection(
                this=name,
                connector=connector,
                columns=columns,
                options=options,
                exists=exists,
                sql=self._find_sql(start, self._prev),
            )
        )

    def _parse_create_pipeline(self, start: Token) -> exp.Expression:
        exists = self._parse_if_exists(negated=True)
        name = self._parse_object_name()
        options: list[tuple[str, str]] = []
        if self._match(TokenType.WITH):
            options = self._parse_option_list()
        if not self._match(TokenType.ALIAS):
            self.raise_error("Expected AS INSERT INTO sink SELECT ... after the pipeline name")
        body_start = self._curr
        first = self._parse_statement()
        inserts = [first]
        # The fan-out form: INSERT INTO a SELECT ... UNION ALL INSERT INTO b SELECT ...
        while self._at_union_all_insert():
            self._advance(2)
            inserts.append(self._parse_statement())
        if body_start is None or not all(isinstance(tree, exp.Insert) for tree in inserts):
            self.raise_error("A pipeline's body is INSERT INTO sink SELECT ... (or WITH ... INSERT ...)")
            return exp.Null()
        return self.expression(
            ast.CreatePipeline(
                this=name,
                expressions=inserts,
                options=options,
                exists=exists,
                body=self._find_sql(body_start, self._prev),
                sql=self._find_sql(start, self._prev),
            )
        )

    def _at_union_all_insert(self) -> bool:
        """At ``UNION ALL INSERT``: the boundary between the INSERTs of a fan-out pipeline."""
        index = self._index
        tokens = self._tokens
        return (
            index + 2 < len(tokens)
            and tokens[index].token_type == TokenType.UNION
            and tokens[index + 1].token_type == TokenType.ALL
            and tokens[index + 2].token_type == TokenType.INSERT
        )

    def _parse_set_operations(self, this: exp.Expr | None) -> exp.Expr | None:
        if self._at_union_all_insert():
            return this  # left for _parse_create_pipeline: the next INSERT of a fan-out
        return super()._parse_set_operations(this)

    def _parse_explain(self) -> exp.Expression | None:
        """EXPLAIN PIPELINE name / EXPLAIN CREATE PIPELINE ...; None for other EXPLAINs."""
        if self._curr and self._curr.text.upper() == "PIPELINE":
            self._advance()
            return self.expression(ast.ExplainPipeline(this=self._parse_object_name()))
        if (
            self._curr
            and self._next
            and self._curr.token_type == TokenType.CREATE
            and self._next.text.upper() == "PIPELINE"
        ):
            start = self._curr
            self._advance(2)
            return self.expression(ast.ExplainPipeline(expression=self._parse_create_pipeline(start)))
        return None

    def _parse_session_command(self) -> exp.Expression:
        start: Token = self._prev
        word = start.text.upper()
        if word == "EXPLAIN":
            explained = self._parse_explain()
            if explained is not None:
                return explained
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

    def _parse_map_literal(self) -> exp.Expression | None:
        if not self._match(TokenType.L_BRACE, advance=False):
            self._retreat(self._index - 1)  # plain "map", e.g. a column name
            return None
        return self.expression(exp.ToMap(this=self._parse_bracket()))

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

    def _parse_alias(self, this: exp.Expr | None, explicit: bool = False) -> exp.Expr | None:
        # PostgreSQL takes any key word as a column label after AS; Metabase's privilege query
        # names a column "select" (sqlglot takes AS table/update/insert/delete already).
        if (
            this is not None
            and self._curr
            and self._next
            and self._curr.token_type == TokenType.ALIAS
            and self._next.token_type == TokenType.SELECT
        ):
            after = self._tokens[self._index + 2] if self._index + 2 < len(self._tokens) else None
            if after is None or after.token_type in _AFTER_A_LABEL:
                self._advance(2)
                return self.expression(exp.Alias(this=this, alias=exp.to_identifier(self._prev.text)))
        return super()._parse_alias(this, explicit)

    def _parse_declare_cursor(self) -> exp.Expression:
        name = self._parse_id_var(any_token=True)
        if name is None:
            self.raise_error("DECLARE needs a cursor name")
        while self._curr and self._curr.text.upper() in {
            "BINARY",
            "ASENSITIVE",
            "INSENSITIVE",
            "NO",
            "SCROLL",
        }:
            self._advance()
        if not self._match_text_seq("CURSOR"):
            self.raise_error("expected CURSOR")
        hold = False
        if self._match_text_seq("WITH", "HOLD"):
            hold = True
        else:
            self._match_text_seq("WITHOUT", "HOLD")
        if not self._match_text_seq("FOR"):
            self.raise_error("expected FOR")
        query = self._parse_select()
        if query is None:
            self.raise_error("DECLARE CURSOR needs a query")
        return self.expression(ast.DeclareCursor(this=name, expression=query, hold=hold))

    def _parse_fetch_cursor(self, *, move: bool) -> exp.Expression:
        count: int | None = 1
        word = self._curr.text.upper() if self._curr else ""
        if word in {"NEXT", "FORWARD"}:
            self._advance()
            word = self._curr.text.upper() if self._curr else ""
        if word == "ALL":
            self._advance()
            count = None
        elif self._curr and self._curr.token_type == TokenType.NUMBER:
            count = int(self._curr.text)
            self._advance()
        elif word in {"PRIOR", "FIRST", "LAST", "ABSOLUTE", "RELATIVE", "BACKWARD"}:
            self.raise_error(f"FETCH {word}: Laminar's cursors only move forward")
        self._match_texts(("FROM", "IN"))
        name = self._parse_id_var(any_token=True)
        if name is None:
            self.raise_error("FETCH needs a cursor name")
        return self.expression(ast.FetchCursor(this=name, count=count, move=move))

    def _parse_statement(self) -> exp.Expression | None:
        # DECLARE ... CURSOR, FETCH and MOVE: SQL-level cursors (Tableau lists tables through one).
        word = self._curr.text.upper() if self._curr else ""
        if word == "DECLARE":
            self._advance()
            return self._parse_declare_cursor()
        if word in {"FETCH", "MOVE"}:
            self._advance()
            return self._parse_fetch_cursor(move=word == "MOVE")
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


_AFTER_A_LABEL = frozenset({TokenType.COMMA, TokenType.FROM, TokenType.R_PAREN, TokenType.SEMICOLON})


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
            TokenType.FETCH,  # FETCH n FROM cursor
        }

    Parser = LaminarParser


def parse(sql: str) -> list[exp.Expression]:
    """Split and parse a query string into statements (empty statements are dropped)."""
    try:
        statements = sqlglot.parse(sql, read=Laminar)
    except TokenError:
        # sqlglot's message quotes the text around the error, which may be a secret: not shown.
        raise SyntaxError_(
            "unterminated quoted string, quoted identifier, comment or dollar-quoted string",
            hint="Close every quote and comment the statement opens.",
        ) from None
    except RecursionError:
        # sqlglot parses recursively: an expression nested thousands deep ends here.
        raise StatementTooComplex(
            "statement is too deeply nested", hint="Simplify the expression or split the statement."
        ) from None
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        # sqlglot's parser itself tripping on malformed text (the fuzzer found '{:},,'): the text
        # is not a statement we can read, which is a syntax error, not an internal one.
        log.debug("sqlglot failed on a malformed statement", exc_info=True)
        raise SyntaxError_("syntax error: the statement could not be parsed") from None
    return [
        statement
        for statement in statements
        if isinstance(statement, exp.Expression) and not isinstance(statement, exp.Semicolon)
    ]


__all__ = ["Laminar", "ParseError", "parse"]
