"""Syntax-tree nodes for the statements Laminar adds to PostgreSQL's grammar.

They are ordinary sqlglot expressions, so the rest of the gateway walks one kind of tree. The
dialect in :mod:`gateway.sql.dialect` builds them; :mod:`gateway.sql.statements` turns them into
typed statements.
"""

from __future__ import annotations

from typing import ClassVar

from sqlglot import exp


class Show(exp.Expression):
    """``SHOW name`` / ``SHOW ALL``; ``this`` is the normalised setting name (``all`` for ALL)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class Reset(exp.Expression):
    """``RESET name`` / ``RESET ALL``."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class Discard(exp.Expression):
    """``DISCARD ALL | PLANS | SEQUENCES | TEMP``; ``this`` is the upper-cased target."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class Deallocate(exp.Expression):
    """``DEALLOCATE [PREPARE] name | ALL``; ``this`` is None for ALL."""

    arg_types: ClassVar[dict[str, bool]] = {"this": False}


class ClosePortal(exp.Expression):
    """``CLOSE name | ALL``; ``this`` is None for ALL."""

    arg_types: ClassVar[dict[str, bool]] = {"this": False}


class DeclareCursor(exp.Expression):
    """``DECLARE name CURSOR [WITH HOLD] FOR query``."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": True, "hold": False}


class FetchCursor(exp.Expression):
    """``FETCH|MOVE [count | ALL | NEXT | FORWARD ...] [FROM|IN] name``; ``count`` None is ALL."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "count": False, "move": False}


class Listen(exp.Expression):
    """``LISTEN channel`` (``unlisten`` set for UNLISTEN; ``this`` None for ``UNLISTEN *``)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": False, "unlisten": False}


class Savepoint(exp.Expression):
    """``SAVEPOINT name`` or, with ``release`` set, ``RELEASE [SAVEPOINT] name``."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "release": False}


# --- catalog DDL ---------------------------------------------------------------------------------
class CreateConnection(exp.Expression):
    """``CREATE CONNECTION [IF NOT EXISTS] name [(col type, ...)] TO connector (opt = value, ...)``.

    ``columns`` is a list of (name, type) pairs, ``options`` of (name, value) pairs, both as plain
    Python values; ``sql`` is the statement exactly as written.
    """

    arg_types: ClassVar[dict[str, bool]] = {
        "this": True,
        "connector": True,
        "columns": False,
        "options": False,
        "exists": False,
        "sql": False,
    }


class AlterConnection(exp.Expression):
    """``ALTER CONNECTION name SET (opt = value, ...)`` or ``RESET (opt, ...)``."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "set_options": False, "reset_options": False}


class CreateSecret(exp.Expression):
    """``CREATE SECRET [IF NOT EXISTS] name AS 'value'`` (``alter`` set for ALTER SECRET)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "value": True, "exists": False, "alter": False}


class CreateUser(exp.Expression):
    """``CREATE USER|ROLE name [WITH] [PASSWORD 'x'] [SUPERUSER|NOSUPERUSER] [LOGIN|NOLOGIN]``
    (``alter`` set for ALTER USER|ROLE)."""

    arg_types: ClassVar[dict[str, bool]] = {
        "this": True,
        "password": False,
        "superuser": False,
        "exists": False,
        "alter": False,
    }


class DropObject(exp.Expression):
    """``DROP CONNECTION|SECRET|USER|ROLE [IF EXISTS] name [CASCADE|RESTRICT]``."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "kind": True, "exists": False, "cascade": False}


class ShowObjects(exp.Expression):
    """``SHOW CONNECTIONS | SECRETS | USERS`` or ``SHOW CREATE CONNECTION name``."""

    arg_types: ClassVar[dict[str, bool]] = {"kind": True, "this": False}


class CreatePipeline(exp.Expression):
    """``CREATE PIPELINE [IF NOT EXISTS] name [WITH (opt = 'v', ...)] AS body``.

    ``expressions`` are the body's INSERT trees, in order: one, or several for the fan-out form
    ``INSERT INTO a SELECT ... UNION ALL INSERT INTO b SELECT ...``; a leading ``WITH cte AS (...)``
    is kept on the first and applies to all. ``body`` is the body's text as written.
    """

    arg_types: ClassVar[dict[str, bool]] = {
        "this": True,
        "expressions": True,
        "options": False,
        "exists": False,
        "body": True,
        "sql": True,
    }


class AlterPipeline(exp.Expression):
    """``ALTER PIPELINE name PAUSE | RESUME``."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "action": True}


class ExplainPipeline(exp.Expression):
    """``EXPLAIN PIPELINE name`` (``this``) or ``EXPLAIN CREATE PIPELINE ...`` (``expression``)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": False, "expression": False}
