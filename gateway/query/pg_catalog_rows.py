"""The rows of the emulated ``pg_catalog`` and ``information_schema``: Laminar's objects as PostgreSQL
describes relations, columns, schemas, roles and settings.

What SQL tools see (the object model of issue #8):

* schemas ``public`` (connections and pipelines), ``system`` (Laminar's system views),
  ``pg_catalog`` and ``information_schema`` (their own relations, so ``\\d pg_class`` works);
* every connection is a table (relkind ``r``) of ``public``: a source's declared columns, then its
  metadata columns (``_kafka_key``, ``_kafka_partition``, ...); a sink's declared columns;
* every pipeline is a view (relkind ``v``) of ``public`` whose definition is its SQL;
* every system view is a view of ``system`` with its columns;
* the gateway's users are roles; the bootstrap role (OID 10, which owns everything) is the
  session's user, as the user who ran ``initdb`` is in PostgreSQL.

OIDs are stable across sessions, restarts and nodes: built-in objects keep PostgreSQL's, and
Laminar's objects get ``16384 + crc32(kind:schema.name) mod 2**30``, so a client that caches an
OID (pgjdbc, asyncpg) finds the same object again. A row is built from a dict of the values that
matter; every other column gets the neutral value of its type (false, 0, '' or NULL), which is what
PostgreSQL shows for features Laminar does not have (no indexes, triggers, ACLs or inheritance).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from sqlglot import exp

from catalog.model import ColumnDef, ConnectionRecord, PipelineRecord
from gateway.errors import LaminarError
from gateway.protocol import types as pgtypes
from gateway.query import system_views
from gateway.query.pg_catalog_schema import (
    BUILTIN_TYPES,
    CATALOG_TABLES,
    INFORMATION_SCHEMA_TABLES,
    CatalogColumn,
    TypeRow,
)
from gateway.settings import SETTINGS
from sources.decode import declared_column
from sources.kafka_source import source_columns

Row = tuple[object, ...]

BOOTSTRAP_ROLE_OID: Final = 10
PG_CATALOG_OID: Final = 11
INFORMATION_SCHEMA_OID: Final = 13
PUBLIC_OID: Final = 2200
HEAP_AM_OID: Final = 2
DEFAULT_COLLATION_OID: Final = 100
DATABASE_OID: Final = 16384
FIRST_USER_OID: Final = 16384

TYPES_BY_OID: Final[Mapping[int, TypeRow]] = {row.oid: row for row in BUILTIN_TYPES}

# The names PostgreSQL's format_type() and information_schema.columns.data_type give.
SQL_TYPE_NAMES: Final[Mapping[int, str]] = {
    16: "boolean",
    17: "bytea",
    18: '"char"',
    19: "name",
    20: "bigint",
    21: "smallint",
    23: "integer",
    25: "text",
    26: "oid",
    114: "json",
    700: "real",
    701: "double precision",
    1042: "character",
    1043: "character varying",
    1082: "date",
    1083: "time without time zone",
    1114: "timestamp without time zone",
    1184: "timestamp with time zone",
    1186: "interval",
    1266: "time with time zone",
    1560: "bit",
    1562: "bit varying",
    1700: "numeric",
    2950: "uuid",
    3802: "jsonb",
}


def stable_oid(kind: str, name: str) -> int:
    """An OID for one of Laminar's objects that every node computes alike."""
    return FIRST_USER_OID + (zlib.crc32(f"{kind}:{name}".encode()) % (1 << 30))


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    type_oid: int
    typmod: int = -1


@dataclass(frozen=True, slots=True)
class Relation:
    """A relation as pg_class and information_schema show it."""

    oid: int
    name: str
    namespace: str
    kind: str  # 'r' table, 'v' view
    attributes: tuple[Attribute, ...]
    definition: str | None = None  # a view's SQL


@dataclass(frozen=True, slots=True)
class Role:
    oid: int
    name: str
    superuser: bool


NAMESPACES: Final[Mapping[str, int]] = {
    "pg_catalog": PG_CATALOG_OID,
    "information_schema": INFORMATION_SCHEMA_OID,
    "public": PUBLIC_OID,
    "system": stable_oid("namespace", "system"),
}


def _neutral(column: CatalogColumn) -> object:
    if column.duckdb_type == "BOOLEAN":
        return False
    if column.duckdb_type in ("BIGINT", "INTEGER", "SMALLINT", "FLOAT", "DOUBLE"):
        return 0
    return None


def build_row(columns: Sequence[CatalogColumn], values: Mapping[str, object]) -> Row:
    """A row of a catalog relation: ``values`` where given, the neutral value elsewhere."""
    unknown = values.keys() - {column.name for column in columns}
    if unknown:
        raise KeyError(f"no such catalog columns: {sorted(unknown)}")
    return tuple(values[c.name] if c.name in values else _neutral(c) for c in columns)


def _declared(column: ColumnDef) -> Attribute:
    """A declared column typed as a source decodes it (:func:`sources.decode.declared_column`)."""
    try:
        payload = declared_column(column)
    except LaminarError:  # a type a source cannot decode still shows, as text
        return Attribute(column.name, pgtypes.TEXT)
    typmod = -1
    if payload.oid in (pgtypes.VARCHAR, pgtypes.BPCHAR) and payload.length is not None:
        typmod = payload.length + 4  # varchar(20) -> 24
    elif payload.oid == pgtypes.NUMERIC and payload.precision is not None:
        typmod = ((payload.precision << 16) | (payload.scale or 0)) + 4  # numeric(10,2) -> 655366
    return Attribute(column.name, payload.oid, typmod)


# -- the relations -----------------------------------------------------------------------------
@functools.cache
def _catalog_relations() -> tuple[Relation, ...]:
    """pg_catalog's and information_schema's own relations (static)."""
    relations = []
    for schema, tables in (("pg_catalog", CATALOG_TABLES), ("information_schema", INFORMATION_SCHEMA_TABLES)):
        for name, columns in tables.items():
            kind = "r" if schema == "pg_catalog" and not _is_view(name) else "v"
            attributes = tuple(Attribute(c.name, c.type_oid, c.typmod) for c in columns)
            relations.append(
                Relation(stable_oid("relation", f"{schema}.{name}"), name, schema, kind, attributes)
            )
    return tuple(relations)


def _is_view(name: str) -> bool:
    return name in {
        "pg_roles",
        "pg_user",
        "pg_settings",
        "pg_tables",
        "pg_views",
        "pg_matviews",
        "pg_stat_activity",
        "pg_locks",
        "pg_stat_user_tables",
        "pg_statio_user_tables",
        "pg_stat_replication",
        "pg_timezone_names",
        "pg_available_extensions",
        "pg_replication_slots",
        "pg_user_mappings",
    }


@functools.cache
def _system_relations() -> tuple[Relation, ...]:
    relations = []
    for table in system_views.SYSTEM_TABLES.values():
        attributes = tuple(
            Attribute(name, pgtypes.oid_for_duckdb_type(duck_type))
            for name, duck_type in _column_definitions(table.columns)
        )
        relations.append(
            Relation(stable_oid("relation", f"system.{table.name}"), table.name, "system", "v", attributes)
        )
    return tuple(relations)


def _column_definitions(definitions: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of a system table's column definitions (Laminar's own DDL text)."""
    tree: exp.Expression = exp.maybe_parse(f"CREATE TABLE t ({definitions})", dialect="duckdb")
    schema = tree.this
    assert isinstance(schema, exp.Schema), definitions
    return [
        (column.name, column.args["kind"].sql("duckdb"))
        for column in schema.expressions
        if isinstance(column, exp.ColumnDef)
    ]


def connection_relation(record: ConnectionRecord) -> Relation:
    declared = {column.name: _declared(column) for column in record.columns}
    options = record.options_dict
    if options.get("type") == "source":  # declared columns, then the metadata columns
        attributes = tuple(
            Attribute(name, oid, declared[name].typmod if name in declared else -1)
            for name, oid in source_columns(record.columns, options.get("format", "json"))
        )
    else:
        attributes = tuple(declared.values())
    return Relation(stable_oid("relation", f"public.{record.name}"), record.name, "public", "r", attributes)


def pipeline_relation(record: PipelineRecord) -> Relation:
    return Relation(
        stable_oid("relation", f"public.{record.name}"), record.name, "public", "v", (), record.sql
    )


def relations(connections: Iterable[ConnectionRecord], pipelines: Iterable[PipelineRecord]) -> list[Relation]:
    return [
        *[connection_relation(record) for record in connections],
        *[pipeline_relation(record) for record in pipelines],
        *_system_relations(),
        *_catalog_relations(),
    ]


# -- rows of each table ------------------------------------------------------------------------
def _columns(table: str) -> tuple[CatalogColumn, ...]:
    return CATALOG_TABLES[table]


def namespace_rows() -> list[Row]:
    return [
        build_row(_columns("pg_namespace"), {"oid": oid, "nspname": name, "nspowner": BOOTSTRAP_ROLE_OID})
        for name, oid in NAMESPACES.items()
    ]


def class_rows(all_relations: Sequence[Relation]) -> list[Row]:
    columns = _columns("pg_class")
    return [
        build_row(
            columns,
            {
                "oid": relation.oid,
                "relname": relation.name,
                "relnamespace": NAMESPACES[relation.namespace],
                "relowner": BOOTSTRAP_ROLE_OID,
                "relam": HEAP_AM_OID if relation.kind == "r" else 0,
                "reltuples": -1.0,
                "relpersistence": "p",
                "relkind": relation.kind,
                "relnatts": len(relation.attributes),
                "relhasrules": relation.kind == "v",
                "relispopulated": True,
                "relreplident": "d" if relation.kind == "r" else "n",
            },
        )
        for relation in all_relations
    ]


def attribute_rows(all_relations: Sequence[Relation]) -> list[Row]:
    columns = _columns("pg_attribute")
    rows = []
    for relation in all_relations:
        for number, attribute in enumerate(relation.attributes, start=1):
            known = TYPES_BY_OID.get(attribute.type_oid)
            rows.append(
                build_row(
                    columns,
                    {
                        "attrelid": relation.oid,
                        "attname": attribute.name,
                        "atttypid": attribute.type_oid,
                        "attstattarget": -1,
                        "attlen": known.typlen if known else -1,
                        "attnum": number,
                        "attcacheoff": -1,
                        "atttypmod": attribute.typmod,
                        "attbyval": known.typbyval if known else False,
                        "attalign": known.typalign if known else "i",
                        "attstorage": known.typstorage if known else "x",
                        "attcompression": "",
                        "attidentity": "",
                        "attgenerated": "",
                        "attislocal": True,
                        "attcollation": known.typcollation if known else 0,
                    },
                )
            )
    return rows


def type_rows() -> list[Row]:
    return [tuple(row) for row in BUILTIN_TYPES]


def database_rows(databases: Iterable[str]) -> list[Row]:
    columns = _columns("pg_database")
    return [
        build_row(
            columns,
            {
                "oid": DATABASE_OID if name == "laminar" else stable_oid("database", name),
                "datname": name,
                "datdba": BOOTSTRAP_ROLE_OID,
                "encoding": 6,  # UTF8
                "datlocprovider": "c",
                "datallowconn": True,
                "datconnlimit": -1,
                "datminmxid": 1,
                "dattablespace": 1663,
                "datcollate": "C",
                "datctype": "C",
            },
        )
        for name in sorted(set(databases))
    ]


def roles(session_user: str, users: Iterable[tuple[str, bool]]) -> list[Role]:
    found = {session_user: Role(BOOTSTRAP_ROLE_OID, session_user, True)}
    for name, superuser in users:
        if name not in found:
            found[name] = Role(stable_oid("role", name), name, superuser)
    return sorted(found.values(), key=lambda role: role.oid)


def role_rows(all_roles: Sequence[Role]) -> dict[str, list[Row]]:
    roles_rows = [
        build_row(
            _columns("pg_roles"),
            {
                "rolname": role.name,
                "rolsuper": role.superuser,
                "rolinherit": True,
                "rolcreaterole": role.superuser,
                "rolcreatedb": role.superuser,
                "rolcanlogin": True,
                "rolconnlimit": -1,
                "rolpassword": "********",
                "oid": role.oid,
            },
        )
        for role in all_roles
    ]
    user_rows = [
        build_row(
            _columns("pg_user"),
            {
                "usename": role.name,
                "usesysid": role.oid,
                "usecreatedb": role.superuser,
                "usesuper": role.superuser,
                "passwd": "********",
            },
        )
        for role in all_roles
    ]
    return {"pg_roles": roles_rows, "pg_user": user_rows}


def settings_rows(current: Mapping[str, str]) -> list[Row]:
    columns = _columns("pg_settings")
    return [
        build_row(
            columns,
            {
                "name": setting.name,
                "setting": current.get(setting.name.lower(), setting.default),
                "category": "Laminar",
                "short_desc": setting.description,
                "context": "internal" if setting.fixed else "user",
                "vartype": "string",
                "source": "default",
                "boot_val": setting.default,
                "reset_val": setting.default,
                "pending_restart": False,
            },
        )
        for setting in SETTINGS
    ]


STATIC_ROWS: Final[Mapping[str, Sequence[Mapping[str, object]]]] = {
    "pg_am": (
        {"oid": 2, "amname": "heap", "amhandler": "heap_tableam_handler", "amtype": "t"},
        {"oid": 403, "amname": "btree", "amhandler": "bthandler", "amtype": "i"},
    ),
    "pg_tablespace": (
        {"oid": 1663, "spcname": "pg_default", "spcowner": BOOTSTRAP_ROLE_OID},
        {"oid": 1664, "spcname": "pg_global", "spcowner": BOOTSTRAP_ROLE_OID},
    ),
    "pg_collation": (
        {
            "oid": 100,
            "collname": "default",
            "collnamespace": 11,
            "collowner": 10,
            "collprovider": "d",
            "collisdeterministic": True,
            "collencoding": -1,
        },
        {
            "oid": 950,
            "collname": "C",
            "collnamespace": 11,
            "collowner": 10,
            "collprovider": "c",
            "collisdeterministic": True,
            "collencoding": -1,
            "collcollate": "C",
            "collctype": "C",
        },
        {
            "oid": 951,
            "collname": "POSIX",
            "collnamespace": 11,
            "collowner": 10,
            "collprovider": "c",
            "collisdeterministic": True,
            "collencoding": -1,
            "collcollate": "POSIX",
            "collctype": "POSIX",
        },
    ),
    "pg_language": (
        {"oid": 12, "lanname": "internal", "lanowner": 10, "lanvalidator": 2246},
        {"oid": 13, "lanname": "c", "lanowner": 10, "lanvalidator": 2247},
        {"oid": 14, "lanname": "sql", "lanowner": 10, "lanpltrusted": True, "lanvalidator": 2248},
    ),
    "pg_range": (
        {"rngtypid": 3904, "rngsubtype": 23, "rngmultitypid": 4451, "rngsubopc": 1978},
        {"rngtypid": 3906, "rngsubtype": 1700, "rngmultitypid": 4532, "rngsubopc": 3125},
        {"rngtypid": 3908, "rngsubtype": 1114, "rngmultitypid": 4533, "rngsubopc": 3128},
        {"rngtypid": 3910, "rngsubtype": 1184, "rngmultitypid": 4534, "rngsubopc": 3127},
        {"rngtypid": 3912, "rngsubtype": 1082, "rngmultitypid": 4535, "rngsubopc": 3122},
        {"rngtypid": 3926, "rngsubtype": 20, "rngmultitypid": 4536, "rngsubopc": 3124},
    ),
}


def static_rows() -> dict[str, list[Row]]:
    """Rows that never change: built-in types, access methods, tablespaces, collations, ranges."""
    rows = {
        table: [build_row(_columns(table), values) for values in all_values]
        for table, all_values in STATIC_ROWS.items()
    }
    rows["pg_type"] = type_rows()
    rows["pg_namespace"] = namespace_rows()
    return rows


# -- information_schema --------------------------------------------------------------------------
_INTEGER_PRECISION: Final = {21: 16, 23: 32, 20: 64, 700: 24, 701: 53}
_TIMESTAMPS: Final = frozenset({1082, 1083, 1114, 1184, 1186, 1266})


def _data_type(type_oid: int) -> str:
    known = TYPES_BY_OID.get(type_oid)
    if known is not None and known.typcategory == "A":
        return "ARRAY"
    return SQL_TYPE_NAMES.get(type_oid, "USER-DEFINED")


def information_schema_rows(
    all_relations: Sequence[Relation], database: str, owner: str
) -> dict[str, list[Row]]:
    tables, columns, views = [], [], []
    for relation in all_relations:
        table_type = "BASE TABLE" if relation.kind == "r" else "VIEW"
        writable = "YES" if relation.kind == "r" else "NO"
        tables.append(
            build_row(
                INFORMATION_SCHEMA_TABLES["tables"],
                {
                    "table_catalog": database,
                    "table_schema": relation.namespace,
                    "table_name": relation.name,
                    "table_type": table_type,
                    "is_insertable_into": writable,
                    "is_typed": "NO",
                },
            )
        )
        if relation.kind == "v":
            views.append(
                build_row(
                    INFORMATION_SCHEMA_TABLES["views"],
                    {
                        "table_catalog": database,
                        "table_schema": relation.namespace,
                        "table_name": relation.name,
                        "view_definition": relation.definition,
                        "check_option": "NONE",
                        "is_updatable": "NO",
                        "is_insertable_into": "NO",
                        "is_trigger_updatable": "NO",
                        "is_trigger_deletable": "NO",
                        "is_trigger_insertable_into": "NO",
                    },
                )
            )
        for number, attribute in enumerate(relation.attributes, start=1):
            columns.append(_column_row(relation, number, attribute, database, writable))
    schemata = [
        build_row(
            INFORMATION_SCHEMA_TABLES["schemata"],
            {"catalog_name": database, "schema_name": name, "schema_owner": owner},
        )
        for name in NAMESPACES
    ]
    return {"tables": tables, "columns": columns, "views": views, "schemata": schemata}


def _column_row(relation: Relation, number: int, attribute: Attribute, database: str, writable: str) -> Row:
    oid, typmod = attribute.type_oid, attribute.typmod
    known = TYPES_BY_OID.get(oid)
    values: dict[str, object] = {
        "table_catalog": database,
        "table_schema": relation.namespace,
        "table_name": relation.name,
        "column_name": attribute.name,
        "ordinal_position": number,
        "is_nullable": "YES",
        "data_type": _data_type(oid),
        "udt_catalog": database,
        "udt_schema": "pg_catalog",
        "udt_name": known.typname if known else "text",
        "dtd_identifier": str(number),
        "is_self_referencing": "NO",
        "is_identity": "NO",
        "identity_cycle": "NO",
        "is_generated": "NEVER",
        "is_updatable": writable,
    }
    if oid in (1043, 1042) and typmod >= 4:
        values["character_maximum_length"] = typmod - 4
        values["character_octet_length"] = (typmod - 4) * 4
    elif oid in (25, 1043, 1042):
        values["character_octet_length"] = 1073741824
    if oid in _INTEGER_PRECISION:
        values["numeric_precision"] = _INTEGER_PRECISION[oid]
        values["numeric_precision_radix"] = 2
        if oid not in (700, 701):
            values["numeric_scale"] = 0
    elif oid == 1700:
        values["numeric_precision_radix"] = 10
        if typmod >= 4:
            values["numeric_precision"] = (typmod - 4) >> 16
            values["numeric_scale"] = (typmod - 4) & 0xFFFF
    if oid in _TIMESTAMPS:
        values["datetime_precision"] = 0 if oid == 1082 else 6
    return build_row(INFORMATION_SCHEMA_TABLES["columns"], values)


def view_and_table_rows(all_relations: Sequence[Relation], owner: str) -> dict[str, list[Row]]:
    views = [
        build_row(
            _columns("pg_views"),
            {"schemaname": r.namespace, "viewname": r.name, "viewowner": owner, "definition": r.definition},
        )
        for r in all_relations
        if r.kind == "v"
    ]
    tables = [
        build_row(
            _columns("pg_tables"), {"schemaname": r.namespace, "tablename": r.name, "tableowner": owner}
        )
        for r in all_relations
        if r.kind == "r"
    ]
    return {"pg_views": views, "pg_tables": tables}


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What the catalogs show of the session asking: its user, database and settings."""

    user: str
    database: str
    settings: Mapping[str, str]


def dynamic_rows(
    connections: Sequence[ConnectionRecord],
    pipelines: Sequence[PipelineRecord],
    users: Sequence[tuple[str, bool]],
    session: SessionFacts,
) -> tuple[dict[str, list[Row]], dict[str, list[Row]]]:
    """The rows that follow the catalog and the session: (pg_catalog tables, information_schema
    views), each by table name."""
    all_relations = relations(connections, pipelines)
    all_roles = roles(session.user, users)
    pg = {
        "pg_class": class_rows(all_relations),
        "pg_attribute": attribute_rows(all_relations),
        "pg_database": database_rows(["laminar", session.database]),
        "pg_settings": settings_rows(session.settings),
        **role_rows(all_roles),
        **view_and_table_rows(all_relations, session.user),
    }
    return pg, information_schema_rows(all_relations, session.database, session.user)
