"""PostgreSQL's ``pg_catalog`` and ``information_schema`` in a session's DuckDB, for SQL tools.

psql's ``\\d``, pgjdbc's DatabaseMetaData, SQLAlchemy, asyncpg and psqlODBC learn what a server
holds by querying PostgreSQL's catalogs. DuckDB has catalogs of its own under those names (about
DuckDB's objects, with DuckDB's columns), so Laminar keeps its emulation in two schemas of the
session's database, :data:`SCHEMAS`, and :func:`rewrite` points every reference there:

* tables: ``pg_catalog.pg_class``, or a bare ``pg_class`` that no CTE shadows, becomes
  ``memory.laminar_pg_catalog.pg_class`` (the same for ``information_schema.x``);
* functions: ``pg_catalog.f(...)`` is ``f(...)``; the functions clients call and DuckDB lacks or
  answers differently (``format_type``, ``pg_get_userbyid``, ``current_schemas``, ...) are macros
  over the emulated tables (:data:`MACROS`);
* PostgreSQL-only types: ``'orders'::regclass`` looks the relation's OID up, ``oid::regclass``
  its name, ``::oid``, ``::name``, ``::"char"`` become DuckDB's BIGINT and VARCHAR;
* ``public.orders`` is the session's table ``orders`` (public is the schema Laminar's objects
  are shown in);
* ``OPERATOR(pg_catalog.~)`` is the operator itself, and ``COLLATE pg_catalog."default"`` (or
  ``"C"``) is dropped: every comparison already uses the C collation.

The tables are created the first time a statement of the session uses them; the rows come from
:mod:`gateway.query.pg_catalog_rows` right before each statement that reads them, like the
``system`` views. Unknown relations of these schemas are 42P01 and unknown functions 42883, with
their names, as PostgreSQL says.
"""

from __future__ import annotations

# The macro bodies below are Laminar's own SQL over Laminar's own table names; no client text
# is ever formatted into them.
# ruff: noqa: S608
import functools
from collections.abc import Mapping
from typing import Final

from sqlglot import exp

from gateway import errors
from gateway.query.pg_catalog_rows import SQL_TYPE_NAMES, stable_oid
from gateway.query.pg_catalog_schema import CATALOG_TABLES, INFORMATION_SCHEMA_TABLES, CatalogColumn

SCHEMAS: Final[Mapping[str, str]] = {
    "pg_catalog": "laminar_pg_catalog",
    "information_schema": "laminar_information_schema",
}
_KINDS: Final[Mapping[str, tuple[str, int]]] = {
    "char": ("VARCHAR", 18),
    "int2": ("SMALLINT", 21),
    "int4": ("INTEGER", 23),
    "oid": ("BIGINT", 26),
    "bool": ("BOOLEAN", 16),
    "text": ("VARCHAR", 25),
}
# Catalogs psql, pgAdmin and Grafana read that the generated column lists (pg_catalog_schema)
# leave out.
_EXTRA_CATALOG_TABLES: Final[Mapping[str, tuple[CatalogColumn, ...]]] = {
    "pg_publication_namespace": (
        CatalogColumn("oid", "BIGINT", 26),
        CatalogColumn("pnpubid", "BIGINT", 26),
        CatalogColumn("pnnspid", "BIGINT", 26),
    ),
    "pg_publication_rel": (
        CatalogColumn("oid", "BIGINT", 26),
        CatalogColumn("prpubid", "BIGINT", 26),
        CatalogColumn("prrelid", "BIGINT", 26),
        CatalogColumn("prqual", "VARCHAR", 194),
        CatalogColumn("prattrs", "SMALLINT[]", 22),
    ),
    "pg_stat_gssapi": (
        CatalogColumn("pid", "INTEGER", 23),
        CatalogColumn("gss_authenticated", "BOOLEAN", 16),
        CatalogColumn("principal", "VARCHAR", 25),
        CatalogColumn("encrypted", "BOOLEAN", 16),
        CatalogColumn("credentials_delegated", "BOOLEAN", 16),
    ),
    "pg_aggregate": tuple(
        CatalogColumn(name, "VARCHAR", 24) if kind == "proc" else CatalogColumn(name, *_KINDS[kind])
        for name, kind in (
            ("aggfnoid", "proc"),
            ("aggkind", "char"),
            ("aggnumdirectargs", "int2"),
            ("aggtransfn", "proc"),
            ("aggfinalfn", "proc"),
            ("aggcombinefn", "proc"),
            ("aggserialfn", "proc"),
            ("aggdeserialfn", "proc"),
            ("aggmtransfn", "proc"),
            ("aggminvtransfn", "proc"),
            ("aggmfinalfn", "proc"),
            ("aggfinalextra", "bool"),
            ("aggmfinalextra", "bool"),
            ("aggfinalmodify", "char"),
            ("aggmfinalmodify", "char"),
            ("aggsortop", "oid"),
            ("aggtranstype", "oid"),
            ("aggtransspace", "int4"),
            ("aggmtranstype", "oid"),
            ("aggmtransspace", "int4"),
            ("agginitval", "text"),
            ("aggminitval", "text"),
        )
    ),
    "pg_statistic_ext_data": (
        CatalogColumn("stxoid", "BIGINT", 26),
        CatalogColumn("stxdinherit", "BOOLEAN", 16),
    ),
}
TABLES: Final[Mapping[str, Mapping[str, tuple[CatalogColumn, ...]]]] = {
    "pg_catalog": {**CATALOG_TABLES, **_EXTRA_CATALOG_TABLES},
    "information_schema": INFORMATION_SCHEMA_TABLES,
}
PG: Final = f"memory.{SCHEMAS['pg_catalog']}"
INFO: Final = f"memory.{SCHEMAS['information_schema']}"

# PostgreSQL's "object identifier" types: a cast of text looks the object up, a cast of a number
# names it. (regproc columns hold names already: see pg_catalog_schema.)
_LOOKUPS: Final[Mapping[str, tuple[str, str]]] = {
    "regclass": ("laminar_regclass_oid", "laminar_regclass_name"),
    "regtype": ("laminar_regtype_oid", "format_type"),
    "regnamespace": ("laminar_regnamespace_oid", "laminar_regnamespace_name"),
    "regrole": ("laminar_regrole_oid", "pg_get_userbyid"),
}
_AS_BIGINT: Final = frozenset({"oid", "xid", "cid", "regproc", "regprocedure", "regoper"})
_AS_VARCHAR: Final = frozenset({"name", "char", "pg_node_tree", "aclitem", "regconfig"})
_AS_LIST: Final = {"int2vector": "SMALLINT[]", "oidvector": "BIGINT[]"}


def _format_type_body() -> str:
    # Each macro's subqueries use aliases of their own (_ft here): macros nest (to_regtype calls
    # format_type), and a shared alias would turn the inner WHERE into a tautology.
    names = " ".join(f"WHEN {oid} THEN '{name}'" for oid, name in SQL_TYPE_NAMES.items())
    base = (
        f"coalesce(CASE type_oid {names} END, (SELECT CASE WHEN _ft.typelem <> 0 AND _ft.typlen = -1 "
        f"AND _ft.typname LIKE '\\_%' ESCAPE '\\' THEN coalesce(CASE _ft.typelem {names} END, "
        f"substr(_ft.typname, 2)) || '[]' ELSE _ft.typname END "
        f"FROM {PG}.pg_type _ft WHERE _ft.oid = type_oid), '???')"
    )
    return (
        "CASE WHEN type_oid IS NULL THEN NULL "
        "WHEN typmod IS NOT NULL AND typmod >= 4 AND type_oid IN (1043, 1042) "
        f"THEN {base} || '(' || CAST(typmod - 4 AS VARCHAR) || ')' "
        "WHEN typmod IS NOT NULL AND typmod >= 4 AND type_oid = 1700 "
        f"THEN {base} || '(' || CAST((typmod - 4) // 65536 AS VARCHAR) || ',' "
        "|| CAST((typmod - 4) % 65536 AS VARCHAR) || ')' "
        f"ELSE {base} END"
    )


MACROS: Final[Mapping[str, str]] = {
    "format_type(type_oid, typmod)": _format_type_body(),
    "pg_get_userbyid(role_oid)": "coalesce((SELECT _r.rolname "
    f"FROM {PG}.pg_roles _r WHERE _r.oid = role_oid), "
    "'unknown (OID=' || CAST(role_oid AS VARCHAR) || ')')",
    "laminar_regclass_oid(name)": (
        f"(SELECT _c.oid FROM {PG}.pg_class _c JOIN {PG}.pg_namespace _n ON _n.oid = _c.relnamespace "
        "WHERE _c.relname = CASE WHEN contains(trim(name, '\"'), '.') "
        "THEN split_part(trim(name, '\"'), '.', 2) "
        "ELSE trim(name, '\"') END AND (NOT contains(trim(name, '\"'), '.') "
        "OR _n.nspname = split_part(trim(name, '\"'), '.', 1)) "
        "ORDER BY _n.nspname = 'pg_catalog' DESC, _n.nspname = 'public' DESC LIMIT 1)"
    ),
    "laminar_regclass_name(rel_oid)": (
        f"coalesce((SELECT CASE WHEN _n.nspname IN ('pg_catalog', 'public') THEN _c.relname "
        f"ELSE _n.nspname || '.' || _c.relname END FROM {PG}.pg_class _c JOIN {PG}.pg_namespace _n "
        "ON _n.oid = _c.relnamespace WHERE _c.oid = rel_oid), CAST(rel_oid AS VARCHAR))"
    ),
    "laminar_regtype_oid(name)": (
        f"(SELECT _t.oid FROM {PG}.pg_type _t WHERE _t.typname = regexp_replace(name, '^pg_catalog\\.', '') "
        f"OR format_type(_t.oid, NULL) = name ORDER BY _t.oid LIMIT 1)"
    ),
    "laminar_regnamespace_oid(name)": f"(SELECT _n.oid FROM {PG}.pg_namespace _n WHERE _n.nspname = name)",
    "laminar_regnamespace_name(ns_oid)": "(SELECT _n.nspname "
    f"FROM {PG}.pg_namespace _n WHERE _n.oid = ns_oid)",
    "laminar_regrole_oid(name)": f"(SELECT _r.oid FROM {PG}.pg_roles _r WHERE _r.rolname = name)",
    "current_schemas(include_implicit)": "CASE WHEN include_implicit THEN ['pg_catalog', 'public'] "
    "ELSE ['public'] END",
    "pg_table_is_visible(rel_oid)": f"(SELECT _n.nspname IN ('pg_catalog', 'public') FROM {PG}.pg_class _c "
    f"JOIN {PG}.pg_namespace _n ON _n.oid = _c.relnamespace WHERE _c.oid = rel_oid)",
    "pg_type_is_visible(type_oid)": "true",
    "pg_collation_is_visible(collation_oid)": "true",
    "pg_opclass_is_visible(opclass_oid)": "true",
    "to_regclass(name)": "laminar_regclass_oid(name)",
    "to_regtype(name)": "laminar_regtype_oid(name)",
    "to_regnamespace(name)": "laminar_regnamespace_oid(name)",
    "to_regrole(name)": "laminar_regrole_oid(name)",
    "pg_function_is_visible(fn_oid)": "true",
    "obj_description(object_oid, catalog_name)": "CAST(NULL AS VARCHAR)",
    "col_description(table_oid, column_number)": "CAST(NULL AS VARCHAR)",
    "shobj_description(object_oid, catalog_name)": "CAST(NULL AS VARCHAR)",
    "pg_get_viewdef(view_oid)": f"(SELECT _v.definition FROM {PG}.pg_views _v JOIN {PG}.pg_class _c "
    f"ON _c.relname = _v.viewname WHERE _c.oid = view_oid)",
    "pg_get_expr(expression, relation)": "CAST(NULL AS VARCHAR)",
    "pg_get_expr(expression, relation, pretty)": "CAST(NULL AS VARCHAR)",
    "pg_get_viewdef(view_oid, pretty)": "pg_get_viewdef(view_oid)",
    "pg_get_indexdef(index_oid, column_number, pretty)": "CAST(NULL AS VARCHAR)",
    "pg_get_constraintdef(constraint_oid, pretty)": "CAST(NULL AS VARCHAR)",
    "pg_get_triggerdef(trigger_oid, pretty)": "CAST(NULL AS VARCHAR)",
    "pg_get_statisticsobjdef_columns(stat_oid)": "CAST(NULL AS VARCHAR)",
    "pg_stat_get_numscans(rel_oid)": "CAST(0 AS BIGINT)",
    "pg_stat_get_tuples_returned(rel_oid)": "CAST(0 AS BIGINT)",
    "pg_stat_get_tuples_fetched(rel_oid)": "CAST(0 AS BIGINT)",
    "pg_stat_get_live_tuples(rel_oid)": "CAST(0 AS BIGINT)",
    "pg_stat_get_dead_tuples(rel_oid)": "CAST(0 AS BIGINT)",
    "parse_ident(name)": "string_split(replace(name, '\"', ''), '.')",
    "parse_ident(name, strict)": "string_split(replace(name, '\"', ''), '.')",
    "pg_get_ruledef(rule_oid)": "CAST(NULL AS VARCHAR)",
    "pg_get_ruledef(rule_oid, pretty)": "CAST(NULL AS VARCHAR)",
    "pg_relation_is_publishable(rel_oid)": "false",
    "pg_get_indexdef(index_oid)": "CAST(NULL AS VARCHAR)",
    "pg_get_constraintdef(constraint_oid)": "CAST(NULL AS VARCHAR)",
    "pg_get_triggerdef(trigger_oid)": "CAST(NULL AS VARCHAR)",
    "pg_get_partkeydef(table_oid)": "CAST(NULL AS VARCHAR)",
    "pg_get_function_result(fn_oid)": "CAST(NULL AS VARCHAR)",
    "pg_get_function_arguments(fn_oid)": "CAST(NULL AS VARCHAR)",
    "pg_get_function_identity_arguments(fn_oid)": "CAST(NULL AS VARCHAR)",
    "pg_get_serial_sequence(table_name, column_name)": "CAST(NULL AS VARCHAR)",
    "pg_encoding_to_char(encoding)": "CASE encoding WHEN 6 THEN 'UTF8' WHEN 0 THEN 'SQL_ASCII' ELSE '' END",
    "pg_char_to_encoding(name)": "CASE upper(name) WHEN 'UTF8' THEN 6 WHEN 'SQL_ASCII' THEN 0 ELSE -1 END",
    "has_table_privilege(a, b)": "true",
    "has_table_privilege(a, b, c)": "true",
    "has_schema_privilege(a, b)": "true",
    "has_schema_privilege(a, b, c)": "true",
    "has_database_privilege(a, b)": "true",
    "has_database_privilege(a, b, c)": "true",
    "has_column_privilege(a, b, c)": "true",
    "has_column_privilege(a, b, c, d)": "true",
    "has_function_privilege(a, b)": "true",
    "has_function_privilege(a, b, c)": "true",
    "has_sequence_privilege(a, b)": "true",
    "has_sequence_privilege(a, b, c)": "true",
    "has_type_privilege(a, b)": "true",
    "has_type_privilege(a, b, c)": "true",
    "pg_has_role(a, b)": "true",
    "pg_has_role(a, b, c)": "true",
    "pg_tablespace_location(ts_oid)": "''",
    "pg_relation_size(rel)": "CAST(0 AS BIGINT)",
    "pg_total_relation_size(rel)": "CAST(0 AS BIGINT)",
    "pg_table_size(rel)": "CAST(0 AS BIGINT)",
    "pg_indexes_size(rel)": "CAST(0 AS BIGINT)",
    "pg_database_size(db)": "CAST(0 AS BIGINT)",
    "pg_size_pretty(size)": "format_bytes(CAST(size AS BIGINT))",
    "pg_is_other_temp_schema(ns_oid)": "false",
    "pg_my_temp_schema()": "CAST(0 AS BIGINT)",
    "pg_conf_load_time()": "CAST(NULL AS TIMESTAMPTZ)",
    "txid_current()": "CAST(1 AS BIGINT)",
    "quote_ident(name)": "CASE WHEN regexp_full_match(name, '[a-z_][a-z0-9_$]*') THEN name "
    "ELSE '\"' || replace(name, '\"', '\"\"') || '\"' END",
    "array_lower(arr, dimension)": "CASE WHEN arr IS NULL OR len(arr) = 0 OR dimension <> 1 THEN NULL "
    "ELSE 1 END",
    "array_upper(arr, dimension)": "CASE WHEN arr IS NULL OR len(arr) = 0 OR dimension <> 1 THEN NULL "
    "ELSE len(arr) END",
    "laminar_pg_expandarray(arr)": "TABLE SELECT unnest(arr) AS x, unnest(generate_series(1, len(arr))) AS n",
    "laminar_pg_expandarray_rows(arr)": "unnest(list_transform(range(1, len(arr) + 1), "
    "lambda i: struct_pack(x := arr[i], n := i)))",
    "pg_get_keywords()": "TABLE SELECT * FROM memory.laminar_pg_catalog.laminar_keywords",
}


@functools.cache
def column_oids(schema: str, name: str) -> Mapping[str, int]:
    """The PostgreSQL type of each column of an emulated relation (``schema`` '' for a bare
    catalog name), so a plain column reference is described as PostgreSQL describes it (an
    ``oid`` column as oid, not int8); empty for anything else."""
    if schema == "" and name in TABLES["pg_catalog"]:
        schema = "pg_catalog"
    columns = TABLES.get(schema, {}).get(name, ())
    return {column.name: column.type_oid for column in columns}


def create_statements() -> list[str]:
    """DDL of the emulated schemas, their (empty) tables and the functions over them."""
    statements = []
    for schema, tables in TABLES.items():
        target = f"memory.{SCHEMAS[schema]}"
        statements.append(f"CREATE SCHEMA IF NOT EXISTS {target}")
        for name, columns in tables.items():
            definitions = ", ".join(f'"{c.name}" {c.duckdb_type}' for c in columns)
            statements.append(f'CREATE TABLE {target}."{name}" ({definitions})')
    statements.append(
        f"CREATE TABLE {PG}.laminar_keywords (word VARCHAR, catcode VARCHAR, barelabel BOOLEAN, "
        "catdesc VARCHAR, baredesc VARCHAR)"
    )
    # Overloads (pg_get_expr with two or three arguments) are one CREATE MACRO with several bodies.
    overloads: dict[str, list[str]] = {}
    for signature, body in MACROS.items():
        name, _, parameters = signature.partition("(")
        overloads.setdefault(name, []).append(f"({parameters} AS {body}")
    statements.extend(
        f"CREATE OR REPLACE MACRO {name}{', '.join(bodies)}" for name, bodies in overloads.items()
    )
    return statements


# -- rewriting a statement ---------------------------------------------------------------------
def _catalog_schema(table: exp.Table, ctes: set[str]) -> str | None:
    """The emulated schema a table reference means (None: not a catalog reference)."""
    if table.catalog:
        return None
    schema, name = table.db.lower(), table.name.lower()
    if schema in TABLES:
        if name not in TABLES[schema] and isinstance(table.this, exp.Identifier):
            raise errors.UndefinedTable(f'relation "{schema}.{name}" does not exist')
        return schema
    if not schema and name in TABLES["pg_catalog"] and name not in ctes:
        return "pg_catalog"
    return None


def rewrite(tree: exp.Expression) -> tuple[exp.Expression, bool]:
    """The statement over the emulated catalogs, and whether it reads them (so their rows must be
    refreshed before it runs). ``tree`` is changed in place."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    reads = False
    aliases: dict[str, str] = {}  # alias -> pg_catalog table, for their tableoid
    for table in list(tree.find_all(exp.Table)):
        if table.db.lower() == "public" and not table.catalog:
            table.set("db", None)  # public is where the session's tables are (DuckDB's main)
            continue
        if isinstance(table.this, exp.StringToArray):  # FROM string_to_array(...) s: one row
            _scalar_as_row(table)
            continue
        schema = _catalog_schema(table, ctes)
        if schema is None:
            continue
        reads = True
        if schema == "pg_catalog" and isinstance(table.this, exp.Identifier):
            aliases[table.alias_or_name.lower()] = table.name.lower()
        if not isinstance(table.this, exp.Identifier):  # a function: pg_catalog.unnest(...) AS x
            _rename_expandarray(table.this, "laminar_pg_expandarray")
            table.set("db", None)
            continue
        table.set("db", exp.to_identifier(SCHEMAS[schema]))
        table.set("catalog", exp.to_identifier("memory"))
    for column in tree.find_all(exp.Column):  # pg_catalog.pg_class.relname, public.orders.id
        schema = column.db.lower()
        if schema == "public" and not column.catalog:
            column.set("db", None)
        elif schema in TABLES and not column.catalog:
            column.set("db", exp.to_identifier(SCHEMAS[schema]))
            column.set("catalog", exp.to_identifier("memory"))
    for dot in list(tree.find_all(exp.Dot)):
        qualifier = dot.this
        if isinstance(qualifier, exp.Identifier) and qualifier.name.lower() in TABLES:
            function = dot.expression
            _rename_expandarray(function, "laminar_pg_expandarray_rows")  # in a select list: rows
            dot.replace(function)
    for column in list(tree.find_all(exp.Column)):
        if column.name.lower() == "tableoid" and column.table.lower() in aliases:
            oid = stable_oid("relation", f"pg_catalog.{aliases[column.table.lower()]}")
            column.replace(exp.Literal.number(oid))
    _array_literals(tree)
    for operator in list(tree.find_all(exp.Operator)):
        operator.replace(_plain_operator(operator))
    for collate in list(tree.find_all(exp.Collate)):
        collation = collate.expression
        if isinstance(collation, exp.Column | exp.Identifier | exp.Var | exp.Literal):
            collate.replace(collate.this)
    for cast in reversed(list(tree.find_all(exp.Cast))):  # inner casts first: 'x'::regclass::oid
        replaced = _pg_type_cast(cast)
        if replaced is not None:
            cast.replace(replaced)
    for call in tree.find_all(exp.Anonymous):
        name = str(call.this).lower()
        if name in _RENAMED_FUNCTIONS:
            call.set("this", _RENAMED_FUNCTIONS[name])
        if name in _CATALOG_FUNCTIONS:
            reads = True
            _qualify_arguments(call)
    if tree.find(exp.CurrentSchemas) is not None:  # sqlglot's node for current_schemas(...)
        reads = True
    return tree, reads


def _rename_expandarray(function: exp.Expression, name: str) -> None:
    """information_schema._pg_expandarray is the macro ``name``: a table macro in FROM, a scalar
    one yielding rows in a select list (DuckDB names cannot be both)."""
    if isinstance(function, exp.Anonymous) and str(function.this).lower() == "_pg_expandarray":
        function.set("this", name)


def _qualify_arguments(call: exp.Anonymous) -> None:
    """Qualify bare columns passed to a macro with a subquery (``format_type(oid, NULL)``): inside the
    macro's own ``SELECT ... FROM pg_type`` a bare ``oid`` would name pg_type's column instead."""
    for column in call.find_all(exp.Column):
        if column.table or not column.name:
            continue
        select = column.find_ancestor(exp.Select)
        source = select.args.get("from_") if select is not None else None
        if select is None or select.args.get("joins") or not isinstance(source, exp.From):
            continue
        table = source.this
        if isinstance(table, exp.Table) and table.alias_or_name:
            column.set("table", exp.to_identifier(table.alias_or_name))


# PostgreSQL functions catalog queries call that DuckDB has under another name.
_RENAMED_FUNCTIONS: Final = {"json_build_object": "json_object", "jsonb_build_object": "json_object"}
# Calls that need the emulation: its macros exist once the session's catalog tables do.
_CATALOG_FUNCTIONS: Final = frozenset(signature.split("(", 1)[0] for signature in MACROS)


def _scalar_as_row(table: exp.Table) -> None:
    """``FROM f(...) AS s`` of a function returning one value: ``FROM (SELECT f(...) AS s) AS s``."""
    alias = table.alias_or_name or "f"
    select = exp.select(exp.alias_(table.this.copy(), alias))
    table.replace(exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(alias))))


def _array_literals(tree: exp.Expression) -> None:
    """``x = ANY ('{a,b}')`` and ``x <> ALL ('{a,b}')``: PostgreSQL reads the text as an array of
    x's type; DuckDB needs the list itself. The same for ``'{a,b}'::text[]`` anywhere."""
    for cast in list(tree.find_all(exp.Cast)):
        if cast.to.is_type(exp.DataType.Type.ARRAY):
            items = _array_items(cast.this)
            if items is not None:
                cast.set("this", exp.Array(expressions=items))
    for any_node in list(tree.find_all(exp.Any)):
        items = _array_items(any_node.this)
        if items is not None:
            any_node.set("this", exp.Array(expressions=items))
    for call in list(tree.find_all(exp.Anonymous)):
        parent = call.parent
        if str(call.this).upper() != "ALL" or len(call.expressions) != 1 or not isinstance(parent, exp.NEQ):
            continue
        items = _array_items(call.expressions[0])
        if items is not None:
            contains = exp.Anonymous(
                this="list_contains", expressions=[exp.Array(expressions=items), parent.this]
            )
            parent.replace(exp.Not(this=contains))


def _array_items(node: exp.Expression) -> list[exp.Expression] | None:
    while isinstance(node, exp.Paren) or (
        isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.ARRAY)
    ):
        node = node.this
    if isinstance(node, exp.Array):
        return list(node.expressions)
    if not isinstance(node, exp.Literal) or not node.is_string:
        return None
    text = str(node.this)
    if not (text.startswith("{") and text.endswith("}")):
        return None
    items = [item.strip().strip('"') for item in text[1:-1].split(",") if item.strip()]
    if all(item.lstrip("-").isdigit() for item in items):
        return [exp.Literal.number(item) for item in items]
    return [exp.Literal.string(item) for item in items]


def _plain_operator(operator: exp.Operator) -> exp.Expression:
    """``a OPERATOR(pg_catalog.~) b`` as ``a ~ b`` (the operators catalog queries use)."""
    symbol = str(operator.args.get("operator", "")).rsplit(".", 1)[-1].strip()
    left, right = operator.this, operator.expression
    sql = f"({left.sql('postgres')}) {symbol} ({right.sql('postgres')})"
    try:
        return exp.maybe_parse(sql, dialect="postgres")
    except Exception as exc:
        raise errors.UndefinedFunction(f"operator does not exist: {symbol}") from exc


def _type_name(datatype: exp.Expression) -> str | None:
    """The lower-case name of a PostgreSQL-only cast target (``pg_catalog.`` dropped)."""
    if isinstance(datatype, exp.ObjectIdentifier):
        return str(datatype.this).lower()
    if isinstance(datatype, exp.DataType):
        if datatype.this == exp.DataType.Type.NAME:
            return "name"
        if datatype.this == exp.DataType.Type.USERDEFINED:
            kind = datatype.args.get("kind")
            text = kind.sql("postgres") if isinstance(kind, exp.Expression) else str(kind)
            return text.replace('"', "").lower().removeprefix("pg_catalog.")
        if datatype.this == exp.DataType.Type.CHAR and not datatype.expressions:
            written = datatype.sql("postgres")
            return "char" if written.startswith('"') else None
    return None


def _pg_type_cast(cast: exp.Cast) -> exp.Expression | None:
    name = _type_name(cast.to)
    if name is None:
        return None
    value: exp.Expression = cast.this
    if name in _LOOKUPS:
        by_name, by_number = _LOOKUPS[name]
        parent = cast.parent
        wants_number = isinstance(parent, exp.Cast) and _type_name(parent.to) in _AS_BIGINT
        if _is_text(value):
            return exp.Anonymous(this=by_name, expressions=[value.copy()])
        if wants_number:
            return value.copy()
        if name == "regtype":
            return exp.Anonymous(this=by_number, expressions=[value.copy(), exp.Null()])
        return exp.Anonymous(this=by_number, expressions=[value.copy()])
    if name in _AS_BIGINT:
        if _is_text(value) and name.startswith("regproc"):
            return value.copy()
        return exp.Cast(this=value.copy(), to=exp.DataType.build("BIGINT"))
    if name in _AS_VARCHAR:
        return exp.Cast(this=value.copy(), to=exp.DataType.build("VARCHAR"))
    if name in _AS_LIST:
        return exp.Cast(this=value.copy(), to=exp.DataType.build(_AS_LIST[name], dialect="duckdb"))
    return None


def _is_text(node: exp.Expression) -> bool:
    """Whether a reg* cast's operand is a name (text or a bound parameter) rather than an OID."""
    if isinstance(node, exp.Literal):
        return bool(node.is_string)
    if isinstance(node, exp.Placeholder | exp.Parameter):
        return True  # '...'::regclass with the name bound: clients bind names, not OIDs
    if isinstance(node, exp.Cast):
        return node.to.is_type(*exp.DataType.TEXT_TYPES) or _type_name(node.to) in _AS_VARCHAR
    return False
