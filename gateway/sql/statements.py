"""Typed statements: what a parsed statement means to the gateway, independent of wire protocol.

:func:`classify` maps each sqlglot tree from the Laminar dialect to one small frozen dataclass.
The session executes these; the protocol handlers never look inside SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from gateway.errors import FeatureNotSupported, SyntaxError_
from gateway.sql import ast


@dataclass(frozen=True, slots=True)
class SelectStatement:
    """A query answered by the ad-hoc query engine."""

    tree: exp.Expression


@dataclass(frozen=True, slots=True)
class SetStatement:
    name: str
    value: str | None  # None means DEFAULT
    local: bool = False


@dataclass(frozen=True, slots=True)
class ShowStatement:
    name: str  # lower-case setting name, or "all"


@dataclass(frozen=True, slots=True)
class ResetStatement:
    name: str  # lower-case setting name, or "all"


@dataclass(frozen=True, slots=True)
class TransactionStatement:
    action: str  # "BEGIN", "COMMIT" or "ROLLBACK"
    tag: str = ""  # the command tag when it differs from the action (START TRANSACTION)


@dataclass(frozen=True, slots=True)
class SavepointStatement:
    action: str  # "SAVEPOINT", "RELEASE" or "ROLLBACK"
    name: str


@dataclass(frozen=True, slots=True)
class SessionResetStatement:
    """DISCARD, DEALLOCATE, CLOSE, LISTEN/UNLISTEN: session bookkeeping with a fixed tag."""

    tag: str
    deallocate: str | None = None  # name of the prepared statement, "" for ALL
    close: str | None = None  # name of the cursor, "" for ALL
    reset_settings: bool = False


@dataclass(frozen=True, slots=True)
class NoOpStatement:
    """Accepted and answered with its tag; has no effect on a streaming gateway."""

    tag: str


# --- catalog DDL -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreateConnectionStatement:
    name: str
    connector: str
    columns: tuple[tuple[str, str], ...]
    options: tuple[tuple[str, str], ...]
    if_not_exists: bool
    sql: str


@dataclass(frozen=True, slots=True)
class AlterConnectionStatement:
    name: str
    set_options: tuple[tuple[str, str], ...] = ()
    reset_options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SecretStatement:
    """CREATE SECRET (``alter`` False) or ALTER SECRET. ``repr`` hides the value."""

    name: str
    value: str = field(repr=False)
    alter: bool = False
    if_not_exists: bool = False


@dataclass(frozen=True, slots=True)
class UserStatement:
    """CREATE USER/ROLE (``alter`` False) or ALTER USER/ROLE. ``repr`` hides the password."""

    name: str
    password: str | None = field(repr=False)
    superuser: bool | None = None
    alter: bool = False
    if_not_exists: bool = False


@dataclass(frozen=True, slots=True)
class DropStatement:
    kind: str  # CONNECTION, SECRET, USER or PIPELINE
    name: str
    if_exists: bool = False
    cascade: bool = False


@dataclass(frozen=True, slots=True)
class ShowObjectsStatement:
    kind: str  # CONNECTION, SECRET, USER or PIPELINE
    create_of: str | None = None  # SHOW CREATE <kind> name


@dataclass(frozen=True, slots=True)
class InsertStatement:
    """``INSERT INTO connection [(cols)] VALUES ... | SELECT ...``; ``query`` is a SELECT tree
    producing the rows (VALUES are wrapped as ``SELECT * FROM (VALUES ...) AS t(cols)``)."""

    target: str
    columns: tuple[str, ...]  # as written; empty when the statement names none
    query: exp.Expression
    from_values: bool


@dataclass(frozen=True, slots=True)
class CreatePipelineStatement:
    """``CREATE PIPELINE``: ``inserts`` are the body's INSERT ... SELECTs (several for fan-out),
    each with the body's leading CTEs; ``body`` is the body as written, ``sql`` the statement."""

    name: str
    inserts: tuple[InsertStatement, ...]
    options: tuple[tuple[str, str], ...]
    if_not_exists: bool
    body: str
    sql: str


@dataclass(frozen=True, slots=True)
class AlterPipelineStatement:
    name: str
    action: str  # PAUSE or RESUME


@dataclass(frozen=True, slots=True)
class ExplainPipelineStatement:
    """``EXPLAIN PIPELINE name`` (``name``) or ``EXPLAIN CREATE PIPELINE ...`` (``create``)."""

    name: str | None = None
    create: CreatePipelineStatement | None = None


DDL_STATEMENTS = (
    CreateConnectionStatement,
    AlterConnectionStatement,
    SecretStatement,
    UserStatement,
    DropStatement,
    CreatePipelineStatement,
    AlterPipelineStatement,
)


@dataclass(frozen=True, slots=True)
class DeclareCursorStatement:
    name: str
    query: exp.Expression
    hold: bool


@dataclass(frozen=True, slots=True)
class FetchStatement:
    name: str
    count: int | None  # None: ALL
    move: bool  # MOVE: skip the rows instead of returning them


Statement = (
    SelectStatement
    | DeclareCursorStatement
    | FetchStatement
    | SetStatement
    | ShowStatement
    | ResetStatement
    | TransactionStatement
    | SavepointStatement
    | SessionResetStatement
    | NoOpStatement
    | CreateConnectionStatement
    | AlterConnectionStatement
    | SecretStatement
    | UserStatement
    | DropStatement
    | ShowObjectsStatement
    | InsertStatement
    | CreatePipelineStatement
    | AlterPipelineStatement
    | ExplainPipelineStatement
)


def _set_value(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Literal):
        return str(node.this)
    if isinstance(node, exp.Var) and node.name.upper() == "DEFAULT":
        return None
    if isinstance(node, exp.Neg):
        inner = _set_value(node.this)
        return None if inner is None else f"-{inner}"
    if isinstance(node, exp.Boolean):
        return "on" if node.this else "off"
    if isinstance(node, exp.Tuple):  # SET search_path = a, b
        return ", ".join(v for v in (_set_value(e) for e in node.expressions) if v is not None)
    if isinstance(node, exp.Column | exp.Identifier | exp.Var):
        return node.sql("postgres").strip('"')
    return node.sql("postgres")


def _classify_set(tree: exp.Set) -> SetStatement | NoOpStatement:
    items = tree.expressions
    if len(items) != 1 or not isinstance(items[0], exp.SetItem):
        raise SyntaxError_("SET takes one setting at a time")
    item = items[0]
    if item.args.get("kind") == "CHARACTERISTICS":
        return NoOpStatement("SET")
    assignment = item.this
    if not isinstance(assignment, exp.EQ):
        raise SyntaxError_("syntax error in SET: expected name = value")
    target = assignment.this
    name = ".".join(part.name for part in target.parts) if isinstance(target, exp.Column) else target.name
    return SetStatement(
        name=name.lower(),
        value=_set_value(assignment.expression),
        local=str(item.args.get("kind") or "").upper() == "LOCAL",
    )


def _classify_session(tree: exp.Expression) -> Statement | None:
    result: Statement | None = None
    if isinstance(tree, ast.Show):
        result = ShowStatement(str(tree.this))
    elif isinstance(tree, ast.Reset):
        result = ResetStatement(str(tree.this))
    elif isinstance(tree, ast.Discard):
        target = str(tree.this)
        result = SessionResetStatement(
            f"DISCARD {target}",
            deallocate="" if target in ("ALL", "PLANS") else None,
            close="" if target == "ALL" else None,
            reset_settings=target == "ALL",
        )
    elif isinstance(tree, ast.Deallocate):
        name = tree.this
        result = SessionResetStatement(
            "DEALLOCATE ALL" if name is None else "DEALLOCATE", deallocate="" if name is None else str(name)
        )
    elif isinstance(tree, ast.ClosePortal):
        name = tree.this
        result = SessionResetStatement(
            "CLOSE CURSOR ALL" if name is None else "CLOSE CURSOR", close="" if name is None else str(name)
        )
    elif isinstance(tree, ast.DeclareCursor):
        result = DeclareCursorStatement(tree.this.name, tree.expression, bool(tree.args.get("hold")))
    elif isinstance(tree, ast.FetchCursor):
        count = tree.args.get("count")
        move = bool(tree.args.get("move"))
        result = FetchStatement(tree.this.name, None if count is None else int(count), move)
    elif isinstance(tree, ast.Listen):
        result = NoOpStatement("UNLISTEN" if tree.args.get("unlisten") else "LISTEN")
    elif isinstance(tree, ast.Savepoint):
        result = SavepointStatement("RELEASE" if tree.args.get("release") else "SAVEPOINT", str(tree.this))
    return result


def _classify_ddl(tree: exp.Expression) -> Statement | None:
    result: Statement | None = None
    args = tree.args
    if isinstance(tree, ast.CreateConnection):
        result = CreateConnectionStatement(
            name=str(tree.this),
            connector=str(args["connector"]),
            columns=tuple(args.get("columns") or ()),
            options=tuple(args.get("options") or ()),
            if_not_exists=bool(args.get("exists")),
            sql=str(args.get("sql") or ""),
        )
    elif isinstance(tree, ast.AlterConnection):
        result = AlterConnectionStatement(
            str(tree.this), tuple(args.get("set_options") or ()), tuple(args.get("reset_options") or ())
        )
    elif isinstance(tree, ast.CreateSecret):
        result = SecretStatement(
            str(tree.this), str(args["value"]), bool(args.get("alter")), bool(args.get("exists"))
        )
    elif isinstance(tree, ast.CreateUser):
        result = UserStatement(
            str(tree.this),
            args.get("password"),
            args.get("superuser"),
            bool(args.get("alter")),
            bool(args.get("exists")),
        )
    elif isinstance(tree, ast.DropObject):
        result = DropStatement(
            str(args["kind"]), str(tree.this), bool(args.get("exists")), bool(args.get("cascade"))
        )
    elif isinstance(tree, ast.ShowObjects):
        name = args.get("this")
        result = ShowObjectsStatement(str(args["kind"]), None if name is None else str(name))
    elif isinstance(tree, ast.CreatePipeline):
        result = _classify_create_pipeline(tree)
    elif isinstance(tree, ast.AlterPipeline):
        result = AlterPipelineStatement(str(tree.this), str(args["action"]))
    elif isinstance(tree, ast.ExplainPipeline):
        create = args.get("expression")
        if isinstance(create, ast.CreatePipeline):
            result = ExplainPipelineStatement(create=_classify_create_pipeline(create))
        else:
            result = ExplainPipelineStatement(name=str(tree.this))
    return result


def _classify_create_pipeline(tree: ast.CreatePipeline) -> CreatePipelineStatement:
    trees = list(tree.expressions)
    ctes = trees[0].args.get("with_") if trees else None
    inserts = []
    for written in trees:
        insert_tree = written
        if ctes is not None and written.args.get("with_") is None:
            insert_tree = written.copy()
            insert_tree.set("with_", ctes.copy())  # WITH ... applies to every INSERT of a fan-out
        statement = _classify_insert(insert_tree)
        if statement.from_values:
            raise FeatureNotSupported(
                "a pipeline reads a source: INSERT INTO sink SELECT ... FROM source, not VALUES",
                hint="Run INSERT INTO sink VALUES (...) as a statement of its own.",
            )
        inserts.append(statement)
    args = tree.args
    return CreatePipelineStatement(
        name=str(tree.this),
        inserts=tuple(inserts),
        options=tuple(args.get("options") or ()),
        if_not_exists=bool(args.get("exists")),
        body=str(args["body"]),
        sql=str(args["sql"]),
    )


def _classify_insert(tree: exp.Insert) -> InsertStatement:
    target = tree.this
    columns: tuple[str, ...] = ()
    if isinstance(target, exp.Schema):
        columns = tuple(column.name for column in target.expressions)
        target = target.this
    if not isinstance(target, exp.Table) or target.db:
        raise FeatureNotSupported("INSERT writes to a connection: INSERT INTO connection_name ...")
    source = tree.expression
    with_clause = tree.args.get("with_")  # WITH cte AS (...) INSERT INTO sink SELECT ... FROM cte
    if with_clause is not None and isinstance(source, exp.Select | exp.SetOperation):
        source = source.copy()
        source.set("with_", with_clause.copy())
    if isinstance(source, exp.Values):
        width = len(source.expressions[0].expressions) if source.expressions else 0
        names = columns or tuple(f"column{i}" for i in range(1, width + 1))
        if columns and width != len(columns):
            problem = "more" if width > len(columns) else "fewer"
            raise SyntaxError_(f"INSERT has {problem} expressions than target columns")
        query = exp.select("*").from_(
            exp.alias_(source, "t", table=[exp.to_identifier(name) for name in names], copy=False), copy=False
        )
        return InsertStatement(target.name, columns, query, from_values=True)
    if isinstance(source, exp.Select | exp.SetOperation):
        query_tree: exp.Expression = source
        return InsertStatement(target.name, columns, query_tree, from_values=False)
    raise FeatureNotSupported("INSERT takes VALUES or a SELECT")


def classify(tree: exp.Expression) -> Statement:
    """The typed statement for one parsed tree, or a clear error for what Laminar cannot run."""
    session = _classify_session(tree) or _classify_ddl(tree)
    if session is not None:
        return session
    if isinstance(tree, exp.Query):
        return SelectStatement(tree)
    if isinstance(tree, exp.Insert):
        return _classify_insert(tree)
    if isinstance(tree, exp.Set):
        return _classify_set(tree)
    if isinstance(tree, exp.Transaction):
        started = tree.args.get("this") == "START"
        return TransactionStatement("BEGIN", "START TRANSACTION" if started else "")
    if isinstance(tree, exp.Commit):
        return TransactionStatement("COMMIT")
    if isinstance(tree, exp.Rollback):
        savepoint = tree.args.get("savepoint")
        if savepoint is not None:
            return SavepointStatement("ROLLBACK", savepoint.name)
        return TransactionStatement("ROLLBACK")
    if isinstance(tree, exp.Command):
        word = str(tree.this).upper()
        if word == "SET":  # forms sqlglot keeps opaque, e.g. SET ROLE, SET CONSTRAINTS ALL DEFERRED
            rest = str(tree.expression or "").strip()
            if not rest[:1].isalpha():
                raise SyntaxError_(
                    f'syntax error at or near "{rest[:20]}"' if rest else "SET needs a setting"
                )
            return NoOpStatement("SET")
        raise FeatureNotSupported(f"{word} is not supported by Laminar")
    kind = type(tree).__name__.upper()
    raise FeatureNotSupported(f"{kind} statements are not supported by Laminar yet")
