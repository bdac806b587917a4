"""One client session: its settings, transaction block, prepared statements and portals.

This is the Laminar side of a connection. The protocol handlers call :meth:`Session.prepare`
and :meth:`Session.execute` and never interpret SQL themselves; the session never touches
protocol messages. Parsed and compiled statements are cached by their text, so a pool's
``SELECT 1`` or a driver's repeated INSERT costs one parse.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot.errors import ParseError

from catalog.service import Catalog
from gateway import ddl, errors, insert, progress, source_tables
from gateway.protocol import types as pgtypes
from gateway.protocol.state import ConnectionState, TransactionStatus
from gateway.query import pg_catalog_rows, system_views
from gateway.query.compile import CompiledQuery, compile_select
from gateway.query.engine import QueryEngine
from gateway.query.results import Column, ListRowSource, Notice, Result
from gateway.settings import SessionSettings, canonical_name
from gateway.sql import statements as st
from gateway.sql.dialect import parse
from gateway.sql.params import infer_parameter_types
from pipelines import commands as pipeline_commands
from pipelines.supervisor import Supervisor
from sinks.registry import SinkRegistry

log = logging.getLogger(__name__)

STATEMENT_CACHE_SIZE = 256
SUPERUSER_VIEWS = frozenset({"secrets", "users"})  # system views only superusers read


@dataclass(frozen=True, slots=True)
class PreparedStatement:
    """A parsed (and for SELECTs, compiled) statement; ``statement`` None means empty query."""

    sql: str
    statement: st.Statement | None
    param_oids: tuple[int, ...] = ()
    compiled: CompiledQuery | None = None
    columns: tuple[Column, ...] | None = None  # bound at Parse, like PostgreSQL


@dataclass(slots=True)
class Portal:
    """A bound statement, possibly part-way through its rows."""

    prepared: PreparedStatement
    params: tuple[Any, ...]
    result_formats: tuple[int, ...]
    result: Result | None = None


def _syntax_error(exc: ParseError, sql: str) -> errors.SyntaxError_:
    detail = exc.errors[0] if exc.errors else {}
    line, column = int(detail.get("line") or 1), int(detail.get("col") or 1)
    lines = sql.splitlines(keepends=True)
    position = (
        sum(len(text) for text in lines[: line - 1])
        + max(column - len(str(detail.get("highlight") or "")), 0)
        + 1
    )
    near = str(detail.get("highlight") or "").strip()
    if near.startswith(("'", "E'", "e'", "$")):
        # A string literal may be a secret or a password: say where, never what.
        message = "syntax error at or near a string literal"
    else:
        message = f'syntax error at or near "{near}"' if near else "syntax error"
    description = str(detail.get("description") or "")
    return errors.SyntaxError_(message, detail=description or None, position=min(position, len(sql) or 1))


class Session:
    """Laminar logic for one connection."""

    def __init__(
        self,
        *,
        user: str,
        database: str,
        startup: dict[str, str],
        backend_pid: int,
        state: ConnectionState,
        catalog: Catalog | None = None,
        sinks: SinkRegistry | None = None,
        pipelines: Supervisor | None = None,
    ) -> None:
        self.user = user
        self.database = database
        self.backend_pid = backend_pid
        self.state = state
        self.settings = SessionSettings(user, startup)
        self.catalog = catalog
        self.sinks = sinks
        self.pipelines = pipelines
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop executing statements
        self._executing: asyncio.Task[Any] | None = None  # the task running a statement, if any
        self._cancel_requested = False
        self.progress: progress.Progress | None = None  # of the statement running, if it reports any
        self._pg_catalog_version: tuple[object, ...] | None = None  # what the catalogs were filled from
        self.engine = QueryEngine(
            user=user,
            database=database,
            setting=self.settings.get,
            backend_pid=backend_pid,
            test_connection=self._test_connection_from_worker if catalog is not None else None,
            change_setting=self.settings.set,
        )
        self.statements: dict[str, PreparedStatement] = {}
        self.portals: dict[str, Portal] = {}
        self._cache: OrderedDict[tuple[str, tuple[int, ...]], list[PreparedStatement]] = OrderedDict()
        self._savepoints: list[str] = []
        self._local_saved: dict[str, str] = {}
        self._tx_saved: dict[str, str] = {}

    # -- parsing -------------------------------------------------------------------------------
    def prepare_all(self, sql: str, param_oids: tuple[int, ...] = ()) -> list[PreparedStatement]:
        """Parse, classify and compile every statement in a query string (cached)."""
        key = (sql, param_oids)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        try:
            prepared = self._prepare_uncached(sql, param_oids)
        except RecursionError:
            # sqlglot walks the tree recursively: a statement nested thousands deep ends here.
            raise errors.StatementTooComplex(
                "statement is too deeply nested", hint="Simplify the expression or split the statement."
            ) from None
        self._cache[key] = prepared
        if len(self._cache) > STATEMENT_CACHE_SIZE:
            self._cache.popitem(last=False)
        return prepared

    def _prepare_uncached(self, sql: str, param_oids: tuple[int, ...]) -> list[PreparedStatement]:
        try:
            trees = parse(sql)
        except ParseError as exc:
            raise _syntax_error(exc, sql) from exc
        prepared = []
        for tree in trees:
            statement = st.classify(tree)
            if isinstance(statement, st.SelectStatement | st.DeclareCursorStatement):
                query = statement.tree if isinstance(statement, st.SelectStatement) else statement.query
                compiled = compile_select(
                    query,
                    param_oids,
                    hidden_columns=self.engine.hidden_columns,
                    column_oids=self.engine.column_oids,
                )
                # Binding now reports unknown columns and functions at Parse, as PostgreSQL does.
                columns: tuple[Column, ...] | None = self.engine.describe(compiled)
                if isinstance(statement, st.DeclareCursorStatement):
                    columns = None  # DECLARE itself returns no rows; FETCH does
                prepared.append(PreparedStatement(sql, statement, compiled.param_oids, compiled, columns))
            elif isinstance(statement, st.InsertStatement):
                compiled = compile_select(
                    insert.prepare_query(statement), param_oids, hidden_columns=self.engine.hidden_columns
                )
                self.engine.describe(compiled)  # binds the rows' query: errors surface at Parse
                prepared.append(PreparedStatement(sql, statement, compiled.param_oids, compiled, None))
            else:
                oids = infer_parameter_types(tree, param_oids) if param_oids else ()
                prepared.append(PreparedStatement(sql, statement, oids))
        return prepared

    async def _create_source_tables(self, sql: str, param_oids: tuple[int, ...]) -> None:
        """Before a first parse, give source connections the statement names a DuckDB table."""
        if self.catalog is None or (sql, param_oids) in self._cache:
            return
        names = source_tables.referenced_tables(sql)
        if names:
            records = await source_tables.source_records(self.catalog, names)
            source_tables.ensure_tables(self.engine, records)

    async def prepare_all_for_client(
        self, sql: str, param_oids: tuple[int, ...] = ()
    ) -> list[PreparedStatement]:
        """:meth:`prepare_all` for a Query message: source connections become tables first."""
        await self._create_source_tables(sql, param_oids)
        return self.prepare_all(sql, param_oids)

    async def prepare_for_client(self, sql: str, param_oids: tuple[int, ...] = ()) -> PreparedStatement:
        """:meth:`prepare`, plus what needs the catalog: source connections become tables, and
        parameters of an INSERT take the types of the connection's declared columns (the
        extended protocol's Parse uses this)."""
        await self._create_source_tables(sql, param_oids)
        prepared = self.prepare(sql, param_oids)
        statement = prepared.statement
        if not isinstance(statement, st.InsertStatement) or not prepared.param_oids or self.catalog is None:
            return prepared
        record = await self.catalog.store.get_connection(statement.target)
        if record is None or not record.columns:
            return prepared
        typed = insert.with_declared_types(statement, [(c.name, c.type_sql) for c in record.columns])
        compiled = compile_select(
            insert.prepare_query(typed), param_oids, hidden_columns=self.engine.hidden_columns
        )
        self.engine.describe(compiled)
        return PreparedStatement(sql, typed, compiled.param_oids, compiled, None)

    def prepare(self, sql: str, param_oids: tuple[int, ...] = ()) -> PreparedStatement:
        """One statement for the extended protocol (empty text is allowed, several are not)."""
        prepared = self.prepare_all(sql, param_oids)
        if not prepared:
            return PreparedStatement(sql, None, param_oids)
        if len(prepared) > 1:
            raise errors.SyntaxError_("cannot insert multiple commands into a prepared statement")
        return prepared[0]

    def describe(self, prepared: PreparedStatement) -> tuple[Column, ...] | None:
        """Result columns without executing anything (None: the statement returns no rows)."""
        statement = prepared.statement
        if prepared.compiled is not None:
            return prepared.columns
        if isinstance(statement, st.ShowStatement):
            return self._show_columns(statement.name)
        if isinstance(statement, st.ShowObjectsStatement):
            return ddl.show_columns(statement)
        if isinstance(statement, st.ExplainPipelineStatement):
            return pipeline_commands.EXPLAIN_COLUMNS
        if isinstance(statement, st.FetchStatement) and not statement.move:
            portal = self.portals.get(statement.name)
            return None if portal is None or portal.result is None else portal.result.columns
        return None

    # -- execution -----------------------------------------------------------------------------
    async def execute(self, prepared: PreparedStatement, params: Sequence[Any] = ()) -> Result:
        statement = prepared.statement
        if statement is None:
            raise errors.InternalError("empty statement executed")
        self.state.check_can_run(ends_transaction=_ends_transaction(statement))
        self._loop = asyncio.get_running_loop()
        self._executing = asyncio.current_task()
        try:
            return await self._execute(prepared, statement, params)
        except asyncio.CancelledError:
            if not self._cancel_requested:
                raise  # the connection is going away
            self._cancel_requested = False
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            self.state.statement_failed()
            raise errors.QueryCanceled("canceling statement due to user request") from None
        except errors.LaminarError as exc:
            if exc.severity != "WARNING":
                self.state.statement_failed()
            raise
        except Exception:
            self.state.statement_failed()
            raise
        finally:
            self._executing = None
            self._cancel_requested = False
            self.progress = None

    async def _select(self, prepared: PreparedStatement, params: Sequence[Any]) -> Result:
        compiled = prepared.compiled
        assert compiled is not None
        for view in sorted(compiled.system_tables & SUPERUSER_VIEWS):
            await self._require_superuser(f"reading system.{view}")
        if compiled.reads_pg_catalog:
            await self._refresh_pg_catalog()
        if compiled.system_tables:
            catalog = self._require_catalog()
            context = system_views.SystemContext(catalog, self.sinks, self.pipelines)
            rows_by_table = await system_views.fetch_rows(context, compiled.system_tables)
            await self.engine.refresh_system_tables(rows_by_table)
        columns, rows = await self.engine.execute(compiled, params)
        source = ListRowSource(rows) if isinstance(rows, list) else rows
        return Result("SELECT", columns, source)

    async def _declare_cursor(
        self, prepared: PreparedStatement, statement: st.DeclareCursorStatement, params: Sequence[Any]
    ) -> Result:
        """DECLARE: run the query now and keep its rows as a portal of that name for FETCH."""
        if not statement.hold and self.state.transaction is TransactionStatus.IDLE:
            raise errors.NoActiveTransactionError("DECLARE CURSOR can only be used in transaction blocks")
        if statement.name in self.portals:
            raise errors.DuplicateCursor(f'cursor "{statement.name}" already exists')
        result = await self._select(prepared, params)
        formats = (0,) * len(result.columns or ())
        self.portals[statement.name] = Portal(prepared, tuple(params), formats, result)
        return Result("DECLARE CURSOR")

    async def _fetch(self, statement: st.FetchStatement) -> Result:
        portal = self.portals.get(statement.name)
        if portal is None or portal.result is None or portal.result.rows is None:
            raise errors.InvalidCursorName(f'cursor "{statement.name}" does not exist')
        rows = await portal.result.rows.fetch(0 if statement.count is None else statement.count)
        if statement.move:
            return Result(f"MOVE {len(rows)}")
        return Result("FETCH", portal.result.columns, ListRowSource(rows))

    async def _refresh_pg_catalog(self) -> None:
        r"""Refill the emulated catalogs, unless neither the catalog (its generation) nor the
        session's settings changed since they were last filled (psql's \d runs several queries)."""
        settings = {name.lower(): value for name, value, _ in self.settings.all()}
        store = None if self.catalog is None else self.catalog.store
        version = (None if store is None else await store.generation(), tuple(settings.items()))
        if version == self._pg_catalog_version:
            return
        facts = pg_catalog_rows.SessionFacts(self.user, self.database, settings)
        pg_rows, information_rows = pg_catalog_rows.dynamic_rows(
            [] if store is None else await store.list_connections(),
            [] if store is None else await store.list_pipelines(),
            [] if store is None else [(user.name, user.superuser) for user in await store.list_users()],
            facts,
        )
        await self.engine.refresh_pg_catalog(pg_rows, information_rows)
        self._pg_catalog_version = version

    def progress_interval_s(self) -> float:
        return progress.interval_s(self.settings.get_or_none(progress.SETTING))

    async def _execute(
        self, prepared: PreparedStatement, statement: st.Statement, params: Sequence[Any]
    ) -> Result:
        # Source connections the statement reads (the session made them tables at Parse): a
        # bounded read of each topic, now. Other tables cost no catalog look-up here.
        compiled = prepared.compiled
        sources = compiled.user_tables & self.engine.hidden_columns.keys() if compiled else set()
        if isinstance(statement, st.InsertStatement):
            self.progress = progress.Progress(f"INSERT INTO {statement.target}")
        elif sources:
            self.progress = progress.Progress("SELECT")
        if compiled is not None and sources and self.catalog is not None:
            records = await source_tables.source_records(self.catalog, sources)
            if records:
                await source_tables.fill_tables(
                    self.engine, self.catalog, records, limit=compiled.peek_limit, progress=self.progress
                )
        if isinstance(statement, st.SelectStatement):
            return await self._select(prepared, params)
        if isinstance(statement, st.DeclareCursorStatement):
            return await self._declare_cursor(prepared, statement, params)
        if isinstance(statement, st.FetchStatement):
            return await self._fetch(statement)
        if isinstance(statement, st.SetStatement):
            return self._set(statement)
        if isinstance(statement, st.ShowStatement):
            return self._show(statement.name)
        if isinstance(statement, st.ResetStatement):
            return self._reset(statement.name)
        if isinstance(statement, st.TransactionStatement):
            return self._transaction(statement.action, statement.tag)
        if isinstance(statement, st.SavepointStatement):
            return self._savepoint(statement)
        if isinstance(statement, st.SessionResetStatement):
            return self._session_reset(statement)
        if isinstance(statement, st.InsertStatement):
            assert prepared.compiled is not None
            if self.sinks is None:
                raise errors.FeatureNotSupported("this gateway runs without sinks")
            return await insert.execute_insert(
                statement,
                prepared.compiled,
                params,
                catalog=self._require_catalog(),
                sinks=self.sinks,
                engine=self.engine,
                progress=self.progress,
            )
        if isinstance(statement, st.DDL_STATEMENTS):
            await self._require_superuser(ddl.command_name(statement))
            if self.state.transaction is not TransactionStatus.IDLE:
                raise errors.ActiveSqlTransaction(
                    f"{ddl.command_name(statement)} cannot run inside a transaction block",
                    hint="Laminar applies catalog changes at once: run DDL outside BEGIN ... COMMIT.",
                )
            if ddl.is_pipeline_statement(statement):
                return await self._pipeline_ddl(statement)
            assert not isinstance(statement, st.CreatePipelineStatement | st.AlterPipelineStatement)
            result = await ddl.execute(self._require_catalog(), statement)
            if self.pipelines is not None:
                await self.pipelines.reconcile()  # a dropped or altered connection's pipelines
            return result
        if isinstance(statement, st.ShowObjectsStatement):
            if statement.kind in ("SECRET", "USER"):
                await self._require_superuser(f"SHOW {statement.kind}S")
            if statement.kind == "PIPELINE":
                return await pipeline_commands.show(self._require_catalog(), self._require_pipelines())
            return await ddl.show(self._require_catalog(), statement)
        if isinstance(statement, st.ExplainPipelineStatement):
            return await pipeline_commands.explain_statement(self._require_catalog(), statement)
        assert isinstance(statement, st.NoOpStatement)
        return Result(statement.tag)

    async def _pipeline_ddl(
        self, statement: st.CreatePipelineStatement | st.AlterPipelineStatement | st.DropStatement
    ) -> Result:
        catalog, supervisor = self._require_catalog(), self._require_pipelines()
        if isinstance(statement, st.CreatePipelineStatement):
            return await pipeline_commands.create(catalog, supervisor, statement)
        if isinstance(statement, st.AlterPipelineStatement):
            return await pipeline_commands.alter(catalog, supervisor, statement)
        return await pipeline_commands.drop(catalog, supervisor, statement)

    async def _require_superuser(self, what: str) -> None:
        """Laminar's role model: superusers change the catalog and see secrets and users; other
        users (catalog users created without SUPERUSER) query, read the system views and INSERT.
        The gateway's own user (--user) and, under trust, names the catalog does not hold are
        superusers."""
        if self.catalog is None:
            return
        record = await self.catalog.user(self.user)
        if record is not None and not record.superuser:
            raise errors.InsufficientPrivilege(
                f'permission denied: {what} needs a superuser, and "{self.user}" is not one',
                hint="A superuser can run it, or grant the role with ALTER USER name WITH SUPERUSER.",
            )

    def _require_pipelines(self) -> Supervisor:
        if self.pipelines is None:
            raise errors.FeatureNotSupported("this gateway runs without pipelines")
        return self.pipelines

    def _require_catalog(self) -> Catalog:
        if self.catalog is None:
            raise errors.FeatureNotSupported("this gateway runs without a catalog")
        return self.catalog

    def _test_connection_from_worker(self, name: str) -> str:
        """test_connection() runs inside DuckDB in a worker thread; the probe runs on the loop."""
        assert self._loop is not None, "test_connection runs only inside an executing statement"
        future = asyncio.run_coroutine_threadsafe(
            ddl.test_connection(self._require_catalog(), name), self._loop
        )
        return future.result(timeout=ddl.TEST_CONNECTION_TIMEOUT_S + 5)

    # -- settings ------------------------------------------------------------------------------
    def _set(self, statement: st.SetStatement) -> Result:
        result = Result("SET")
        if statement.local and self.state.transaction is TransactionStatus.IDLE:
            result.notices.append(
                Notice("SET LOCAL can only be used in transaction blocks", "25P01", "WARNING")
            )
            return result
        if self.state.transaction is not TransactionStatus.IDLE:
            # Values before the transaction touched them: restored at its end (LOCAL) or on
            # rollback (plain SET); a custom setting that did not exist comes back empty.
            before = self.settings.get_or_none(statement.name) or ""
            (self._local_saved if statement.local else self._tx_saved).setdefault(statement.name, before)
        if statement.value is None:
            setting = self.settings.reset(statement.name)
        else:
            setting = self.settings.set(statement.name, statement.value)
        if setting is None:
            result.notices.append(Notice(f'custom setting "{statement.name}" accepted', "00000"))
        elif setting.reported:
            result.changed_parameters.append((setting.name, self.settings.get(setting.name)))
        return result

    def _show_columns(self, name: str) -> tuple[Column, ...]:
        if name == "all":
            return (
                Column("name", pgtypes.TEXT),
                Column("setting", pgtypes.TEXT),
                Column("description", pgtypes.TEXT),
            )
        return (Column(canonical_name(name), pgtypes.TEXT),)

    def _show(self, name: str) -> Result:
        columns = self._show_columns(name)
        if name == "all":
            return Result("SHOW", columns, ListRowSource(list(self.settings.all())))
        return Result("SHOW", columns, ListRowSource([(self.settings.get(name),)]))

    def _reset(self, name: str) -> Result:
        result = Result("RESET")
        if name == "all":
            changed = self.settings.reset_all()
        else:
            setting = self.settings.reset(name)
            changed = [setting] if setting is not None and setting.reported else []
        result.changed_parameters.extend((s.name, self.settings.get(s.name)) for s in changed)
        return result

    # -- transactions --------------------------------------------------------------------------
    def _transaction(self, action: str, tag: str = "") -> Result:
        if action == "BEGIN":
            result = Result(tag or "BEGIN")
            if not self.state.begin():
                result.notices.append(
                    Notice("there is already a transaction in progress", "25001", "WARNING")
                )
            return result
        was_in, failed = self.state.end()
        rolled_back = failed or action == "ROLLBACK"
        result = Result("ROLLBACK" if rolled_back else "COMMIT")
        if not was_in:
            result.notices.append(Notice("there is no transaction in progress", "25P01", "WARNING"))
        self._end_transaction(result, rolled_back=rolled_back)
        return result

    def _end_transaction(self, result: Result, *, rolled_back: bool) -> None:
        """SET LOCAL ends with the transaction; a rollback also undoes plain SETs."""
        self._savepoints.clear()
        restore = {**self._tx_saved, **self._local_saved} if rolled_back else self._local_saved
        for name, value in restore.items():
            if self.settings.get_or_none(name) == value:
                continue
            setting = self.settings.set(name, value)
            if setting is not None and setting.reported:
                result.changed_parameters.append((setting.name, value))
        self._local_saved.clear()
        self._tx_saved.clear()

    def _savepoint(self, statement: st.SavepointStatement) -> Result:
        if self.state.transaction is TransactionStatus.IDLE:
            raise errors.NoActiveTransactionError(
                f"{statement.action} can only be used in transaction blocks"
                if statement.action == "SAVEPOINT"
                else f"{statement.action}{' TO' if statement.action == 'ROLLBACK' else ''} SAVEPOINT "
                "can only be used in transaction blocks"
            )
        if statement.action == "SAVEPOINT":
            self._savepoints.append(statement.name)
            return Result("SAVEPOINT")
        if statement.name not in self._savepoints:
            raise errors.InvalidSavepoint(f'savepoint "{statement.name}" does not exist')
        index = len(self._savepoints) - 1 - self._savepoints[::-1].index(statement.name)
        if statement.action == "RELEASE":
            del self._savepoints[index:]
            return Result("RELEASE")
        del self._savepoints[index + 1 :]
        self.state.rollback_to_savepoint()
        return Result("ROLLBACK")

    def _session_reset(self, statement: st.SessionResetStatement) -> Result:
        result = Result(statement.tag)
        if statement.deallocate is not None:
            if statement.deallocate == "":
                self.statements.clear()
            elif self.statements.pop(statement.deallocate, None) is None:
                raise errors.InvalidStatementName(
                    f'prepared statement "{statement.deallocate}" does not exist'
                )
        if statement.close is not None:
            if statement.close == "":
                self.close_portals()
            elif statement.close not in self.portals:
                raise errors.InvalidCursorName(f'cursor "{statement.close}" does not exist')
            else:
                self.close_portal(statement.close)
        if statement.reset_settings:
            changed = self.settings.reset_all()
            result.changed_parameters.extend((s.name, self.settings.get(s.name)) for s in changed)
        return result

    # -- portals -------------------------------------------------------------------------------
    def close_portal(self, name: str) -> None:
        portal = self.portals.pop(name, None)
        if portal is not None and portal.result is not None and portal.result.rows is not None:
            portal.result.rows.close()

    def close_portals(self) -> None:
        for name in list(self.portals):
            self.close_portal(name)

    def cancel(self) -> None:
        """A CancelRequest: interrupt DuckDB work, and cancel the statement's awaits (a bounded
        read of a topic, a pipeline being created), which then ends in 57014."""
        self.engine.cancel()
        task = self._executing
        if task is not None and not task.done() and not self._cancel_requested:
            self._cancel_requested = True
            task.cancel()

    def close(self) -> None:
        self.close_portals()
        self.engine.close()


def _ends_transaction(statement: st.Statement) -> bool:
    if isinstance(statement, st.TransactionStatement):
        return statement.action in ("COMMIT", "ROLLBACK")
    return isinstance(statement, st.SavepointStatement) and statement.action == "ROLLBACK"
