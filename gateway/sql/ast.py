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


class Listen(exp.Expression):
    """``LISTEN channel`` (``unlisten`` set for UNLISTEN; ``this`` None for ``UNLISTEN *``)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": False, "unlisten": False}


class Savepoint(exp.Expression):
    """``SAVEPOINT name`` or, with ``release`` set, ``RELEASE [SAVEPOINT] name``."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "release": False}
