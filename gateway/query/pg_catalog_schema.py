"""PostgreSQL 16's pg_catalog and information_schema relations, column by column, for DuckDB.

Laminar emulates the catalog relations BI tools introspect (psql's \\d, pgjdbc's DatabaseMetaData,
SQLAlchemy, asyncpg, psqlODBC, DBeaver, Metabase, Grafana, pgAdmin, Superset, Tableau) as DuckDB
tables. This module is data only: for each relation, every column in PostgreSQL's order as a
`CatalogColumn` holding the DuckDB type the emulated table declares and the type OID and type
modifier PostgreSQL announces for the column in RowDescription, so a described result looks like
PostgreSQL's (`oid` columns as OID 26, `name` 19, `"char"` 18, `regproc` 24, `int2vector` 22,
`oidvector` 30, `aclitem[]` 1034, `pg_node_tree` 194, ...). `CATALOG_TABLES` covers pg_catalog,
`INFORMATION_SCHEMA_TABLES` information_schema; `BUILTIN_TYPES` (in `pg_type_rows`, re-exported
here) holds the pg_type rows of the built-in types.

How it was generated: from a PostgreSQL 15.20 server, by running `SELECT * FROM <schema>.<relation>
LIMIT 0` for each relation and taking each column's name, type OID and type modifier from the
RowDescription it answered (checked against pg_attribute: attnum > 0, not dropped, in attnum
order). RowDescription already reports information_schema's domains as their base types, as
PostgreSQL does on the wire: sql_identifier as name (19), cardinal_number as int4 (23),
character_data as varchar (1043), yes_or_no as varchar(3) (1043, typmod 7) and time_stamp as
timestamptz(2) (1184, typmod 2); the trailing comments name the declared domain.

PostgreSQL 16 differs from 15 in these relations as follows (checked against the PostgreSQL 16
catalog and system-view documentation); the columns are added by hand and marked "PostgreSQL 16":
pg_database.daticurules; pg_collation.collicurules; pg_auth_members.oid, .inherit_option and
.set_option; pg_subscription.subpasswordrequired, .subrunasowner and .suborigin, and
pg_subscription.substream turned from bool into "char"; pg_stat_user_tables.last_seq_scan,
.last_idx_scan and .n_tup_newpage_upd; pg_replication_slots.conflicting. The information_schema
views listed here have the same columns in 15 and 16. pg_authid, pg_seclabel and pg_init_privs
are left out.

DuckDB types (`DUCKDB_TYPE_FOR_OID`): oid, xid, xid8, cid, regclass, regtype, regnamespace ->
BIGINT; int2 -> SMALLINT; int4 -> INTEGER; int8 -> BIGINT; float4 -> FLOAT; float8 -> DOUBLE;
bool -> BOOLEAN; bytea -> BLOB; timestamptz -> TIMESTAMPTZ; interval -> INTERVAL; name, text,
varchar, "char", pg_node_tree, pg_lsn, inet -> VARCHAR; int2vector and int2[] -> SMALLINT[];
oidvector and oid[] -> BIGINT[]; text[], "char"[], aclitem[] and anyarray -> VARCHAR[]. regproc is
VARCHAR holding the function's name ("-" for none), which is what PostgreSQL prints for a regproc
and what clients compare it with (`typinput = 'array_in'::regproc`); pg_type's regproc columns in
`BUILTIN_TYPES` are names too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from gateway.query.pg_type_rows import BUILTIN_TYPES, TypeRow

__all__ = [
    "BUILTIN_TYPES",
    "CATALOG_TABLES",
    "DUCKDB_TYPE_FOR_OID",
    "INFORMATION_SCHEMA_TABLES",
    "CatalogColumn",
    "TypeRow",
]


@dataclass(frozen=True, slots=True)
class CatalogColumn:
    """One column of an emulated catalog relation."""

    name: str
    duckdb_type: str  # the type the DuckDB table declares
    type_oid: int  # the pg_type OID PostgreSQL announces in RowDescription
    typmod: int = -1  # the type modifier PostgreSQL announces (-1: none)


# PostgreSQL type OIDs the columns below use.
_BOOL: Final = 16  # bool
_BYTEA: Final = 17  # bytea
_CHAR: Final = 18  # "char"
_NAME: Final = 19  # name
_INT8: Final = 20  # int8
_INT2: Final = 21  # int2
_INT2VECTOR: Final = 22  # int2vector
_INT4: Final = 23  # int4
_REGPROC: Final = 24  # regproc
_TEXT: Final = 25  # text
_OID: Final = 26  # oid
_XID: Final = 28  # xid
_OIDVECTOR: Final = 30  # oidvector
_PG_NODE_TREE: Final = 194  # pg_node_tree
_FLOAT4: Final = 700  # float4
_INET: Final = 869  # inet
_CHAR_ARRAY: Final = 1002  # "char"[]
_INT2_ARRAY: Final = 1005  # int2[]
_TEXT_ARRAY: Final = 1009  # text[]
_OID_ARRAY: Final = 1028  # oid[]
_ACLITEM_ARRAY: Final = 1034  # aclitem[]
_VARCHAR: Final = 1043  # varchar
_TIMESTAMPTZ: Final = 1184  # timestamptz
_INTERVAL: Final = 1186  # interval
_ANYARRAY: Final = 2277  # anyarray
_PG_LSN: Final = 3220  # pg_lsn

# The DuckDB type each PostgreSQL type is emulated with.
DUCKDB_TYPE_FOR_OID: Final[Mapping[int, str]] = MappingProxyType(
    {
        16: "BOOLEAN",  # bool
        17: "BLOB",  # bytea
        18: "VARCHAR",  # "char"
        19: "VARCHAR",  # name
        20: "BIGINT",  # int8
        21: "SMALLINT",  # int2
        22: "SMALLINT[]",  # int2vector
        23: "INTEGER",  # int4
        24: "VARCHAR",  # regproc
        25: "VARCHAR",  # text
        26: "BIGINT",  # oid
        28: "BIGINT",  # xid
        29: "BIGINT",  # cid
        30: "BIGINT[]",  # oidvector
        194: "VARCHAR",  # pg_node_tree
        700: "FLOAT",  # float4
        701: "DOUBLE",  # float8
        869: "VARCHAR",  # inet
        1002: "VARCHAR[]",  # "char"[]
        1005: "SMALLINT[]",  # int2[]
        1009: "VARCHAR[]",  # text[]
        1028: "BIGINT[]",  # oid[]
        1034: "VARCHAR[]",  # aclitem[]
        1043: "VARCHAR",  # varchar
        1184: "TIMESTAMPTZ",  # timestamptz
        1186: "INTERVAL",  # interval
        2205: "BIGINT",  # regclass
        2206: "BIGINT",  # regtype
        2277: "VARCHAR[]",  # anyarray
        3220: "VARCHAR",  # pg_lsn
        4089: "BIGINT",  # regnamespace
        5069: "BIGINT",  # xid8
    }
)


CATALOG_TABLES: Final[dict[str, tuple[CatalogColumn, ...]]] = {
    "pg_class": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("relname", "VARCHAR", _NAME),
        CatalogColumn("relnamespace", "BIGINT", _OID),
        CatalogColumn("reltype", "BIGINT", _OID),
        CatalogColumn("reloftype", "BIGINT", _OID),
        CatalogColumn("relowner", "BIGINT", _OID),
        CatalogColumn("relam", "BIGINT", _OID),
        CatalogColumn("relfilenode", "BIGINT", _OID),
        CatalogColumn("reltablespace", "BIGINT", _OID),
        CatalogColumn("relpages", "INTEGER", _INT4),
        CatalogColumn("reltuples", "FLOAT", _FLOAT4),
        CatalogColumn("relallvisible", "INTEGER", _INT4),
        CatalogColumn("reltoastrelid", "BIGINT", _OID),
        CatalogColumn("relhasindex", "BOOLEAN", _BOOL),
        CatalogColumn("relisshared", "BOOLEAN", _BOOL),
        CatalogColumn("relpersistence", "VARCHAR", _CHAR),
        CatalogColumn("relkind", "VARCHAR", _CHAR),
        CatalogColumn("relnatts", "SMALLINT", _INT2),
        CatalogColumn("relchecks", "SMALLINT", _INT2),
        CatalogColumn("relhasrules", "BOOLEAN", _BOOL),
        CatalogColumn("relhastriggers", "BOOLEAN", _BOOL),
        CatalogColumn("relhassubclass", "BOOLEAN", _BOOL),
        CatalogColumn("relrowsecurity", "BOOLEAN", _BOOL),
        CatalogColumn("relforcerowsecurity", "BOOLEAN", _BOOL),
        CatalogColumn("relispopulated", "BOOLEAN", _BOOL),
        CatalogColumn("relreplident", "VARCHAR", _CHAR),
        CatalogColumn("relispartition", "BOOLEAN", _BOOL),
        CatalogColumn("relrewrite", "BIGINT", _OID),
        CatalogColumn("relfrozenxid", "BIGINT", _XID),
        CatalogColumn("relminmxid", "BIGINT", _XID),
        CatalogColumn("relacl", "VARCHAR[]", _ACLITEM_ARRAY),
        CatalogColumn("reloptions", "VARCHAR[]", _TEXT_ARRAY),
        CatalogColumn("relpartbound", "VARCHAR", _PG_NODE_TREE),
    ),
    "pg_namespace": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("nspname", "VARCHAR", _NAME),
        CatalogColumn("nspowner", "BIGINT", _OID),
        CatalogColumn("nspacl", "VARCHAR[]", _ACLITEM_ARRAY),
    ),
    "pg_attribute": (
        CatalogColumn("attrelid", "BIGINT", _OID),
        CatalogColumn("attname", "VARCHAR", _NAME),
        CatalogColumn("atttypid", "BIGINT", _OID),
        CatalogColumn("attstattarget", "INTEGER", _INT4),
        CatalogColumn("attlen", "SMALLINT", _INT2),
        CatalogColumn("attnum", "SMALLINT", _INT2),
        CatalogColumn("attndims", "INTEGER", _INT4),
        CatalogColumn("attcacheoff", "INTEGER", _INT4),
        CatalogColumn("atttypmod", "INTEGER", _INT4),
        CatalogColumn("attbyval", "BOOLEAN", _BOOL),
        CatalogColumn("attalign", "VARCHAR", _CHAR),
        CatalogColumn("attstorage", "VARCHAR", _CHAR),
        CatalogColumn("attcompression", "VARCHAR", _CHAR),
        CatalogColumn("attnotnull", "BOOLEAN", _BOOL),
        CatalogColumn("atthasdef", "BOOLEAN", _BOOL),
        CatalogColumn("atthasmissing", "BOOLEAN", _BOOL),
        CatalogColumn("attidentity", "VARCHAR", _CHAR),
        CatalogColumn("attgenerated", "VARCHAR", _CHAR),
        CatalogColumn("attisdropped", "BOOLEAN", _BOOL),
        CatalogColumn("attislocal", "BOOLEAN", _BOOL),
        CatalogColumn("attinhcount", "INTEGER", _INT4),
        CatalogColumn("attcollation", "BIGINT", _OID),
        CatalogColumn("attacl", "VARCHAR[]", _ACLITEM_ARRAY),
        CatalogColumn("attoptions", "VARCHAR[]", _TEXT_ARRAY),
        CatalogColumn("attfdwoptions", "VARCHAR[]", _TEXT_ARRAY),
        CatalogColumn("attmissingval", "VARCHAR[]", _ANYARRAY),
    ),
    "pg_type": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("typname", "VARCHAR", _NAME),
        CatalogColumn("typnamespace", "BIGINT", _OID),
        CatalogColumn("typowner", "BIGINT", _OID),
        CatalogColumn("typlen", "SMALLINT", _INT2),
        CatalogColumn("typbyval", "BOOLEAN", _BOOL),
        CatalogColumn("typtype", "VARCHAR", _CHAR),
        CatalogColumn("typcategory", "VARCHAR", _CHAR),
        CatalogColumn("typispreferred", "BOOLEAN", _BOOL),
        CatalogColumn("typisdefined", "BOOLEAN", _BOOL),
        CatalogColumn("typdelim", "VARCHAR", _CHAR),
        CatalogColumn("typrelid", "BIGINT", _OID),
        CatalogColumn("typsubscript", "VARCHAR", _REGPROC),
        CatalogColumn("typelem", "BIGINT", _OID),
        CatalogColumn("typarray", "BIGINT", _OID),
        CatalogColumn("typinput", "VARCHAR", _REGPROC),
        CatalogColumn("typoutput", "VARCHAR", _REGPROC),
        CatalogColumn("typreceive", "VARCHAR", _REGPROC),
        CatalogColumn("typsend", "VARCHAR", _REGPROC),
        CatalogColumn("typmodin", "VARCHAR", _REGPROC),
        CatalogColumn("typmodout", "VARCHAR", _REGPROC),
        CatalogColumn("typanalyze", "VARCHAR", _REGPROC),
        CatalogColumn("typalign", "VARCHAR", _CHAR),
        CatalogColumn("typstorage", "VARCHAR", _CHAR),
        CatalogColumn("typnotnull", "BOOLEAN", _BOOL),
        CatalogColumn("typbasetype", "BIGINT", _OID),
        CatalogColumn("typtypmod", "INTEGER", _INT4),
        CatalogColumn("typndims", "INTEGER", _INT4),
        CatalogColumn("typcollation", "BIGINT", _OID),
        CatalogColumn("typdefaultbin", "VARCHAR", _PG_NODE_TREE),
        CatalogColumn("typdefault", "VARCHAR", _TEXT),
        CatalogColumn("typacl", "VARCHAR[]", _ACLITEM_ARRAY),
    ),
    "pg_database": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("datname", "VARCHAR", _NAME),
        CatalogColumn("datdba", "BIGINT", _OID),
        CatalogColumn("encoding", "INTEGER", _INT4),
        CatalogColumn("datlocprovider", "VARCHAR", _CHAR),
        CatalogColumn("datistemplate", "BOOLEAN", _BOOL),
        CatalogColumn("datallowconn", "BOOLEAN", _BOOL),
        CatalogColumn("datconnlimit", "INTEGER", _INT4),
        CatalogColumn("datfrozenxid", "BIGINT", _XID),
        CatalogColumn("datminmxid", "BIGINT", _XID),
        CatalogColumn("dattablespace", "BIGINT", _OID),
        CatalogColumn("datcollate", "VARCHAR", _TEXT),
        CatalogColumn("datctype", "VARCHAR", _TEXT),
        CatalogColumn("daticulocale", "VARCHAR", _TEXT),
        CatalogColumn("daticurules", "VARCHAR", _TEXT),  # PostgreSQL 16
        CatalogColumn("datcollversion", "VARCHAR", _TEXT),
        CatalogColumn("datacl", "VARCHAR[]", _ACLITEM_ARRAY),
    ),
    "pg_settings": (
        CatalogColumn("name", "VARCHAR", _TEXT),
        CatalogColumn("setting", "VARCHAR", _TEXT),
        CatalogColumn("unit", "VARCHAR", _TEXT),
        CatalogColumn("category", "VARCHAR", _TEXT),
        CatalogColumn("short_desc", "VARCHAR", _TEXT),
        CatalogColumn("extra_desc", "VARCHAR", _TEXT),
        CatalogColumn("context", "VARCHAR", _TEXT),
        CatalogColumn("vartype", "VARCHAR", _TEXT),
        CatalogColumn("source", "VARCHAR", _TEXT),
        CatalogColumn("min_val", "VARCHAR", _TEXT),
        CatalogColumn("max_val", "VARCHAR", _TEXT),
        CatalogColumn("enumvals", "VARCHAR[]", _TEXT_ARRAY),
        CatalogColumn("boot_val", "VARCHAR", _TEXT),
        CatalogColumn("reset_val", "VARCHAR", _TEXT),
        CatalogColumn("sourcefile", "VARCHAR", _TEXT),
        CatalogColumn("sourceline", "INTEGER", _INT4),
        CatalogColumn("pending_restart", "BOOLEAN", _BOOL),
    ),
    "pg_roles": (
        CatalogColumn("rolname", "VARCHAR", _NAME),
        CatalogColumn("rolsuper", "BOOLEAN", _BOOL),
        CatalogColumn("rolinherit", "BOOLEAN", _BOOL),
        CatalogColumn("rolcreaterole", "BOOLEAN", _BOOL),
        CatalogColumn("rolcreatedb", "BOOLEAN", _BOOL),
        CatalogColumn("rolcanlogin", "BOOLEAN", _BOOL),
        CatalogColumn("rolreplication", "BOOLEAN", _BOOL),
        CatalogColumn("rolconnlimit", "INTEGER", _INT4),
        CatalogColumn("rolpassword", "VARCHAR", _TEXT),
        CatalogColumn("rolvaliduntil", "TIMESTAMPTZ", _TIMESTAMPTZ),
        CatalogColumn("rolbypassrls", "BOOLEAN", _BOOL),
        CatalogColumn("rolconfig", "VARCHAR[]", _TEXT_ARRAY),
        CatalogColumn("oid", "BIGINT", _OID),
    ),
    "pg_user": (
        CatalogColumn("usename", "VARCHAR", _NAME),
        CatalogColumn("usesysid", "BIGINT", _OID),
        CatalogColumn("usecreatedb", "BOOLEAN", _BOOL),
        CatalogColumn("usesuper", "BOOLEAN", _BOOL),
        CatalogColumn("userepl", "BOOLEAN", _BOOL),
        CatalogColumn("usebypassrls", "BOOLEAN", _BOOL),
        CatalogColumn("passwd", "VARCHAR", _TEXT),
        CatalogColumn("valuntil", "TIMESTAMPTZ", _TIMESTAMPTZ),
        CatalogColumn("useconfig", "VARCHAR[]", _TEXT_ARRAY),
    ),
    "pg_description": (
        CatalogColumn("objoid", "BIGINT", _OID),
        CatalogColumn("classoid", "BIGINT", _OID),
        CatalogColumn("objsubid", "INTEGER", _INT4),
        CatalogColumn("description", "VARCHAR", _TEXT),
    ),
    "pg_index": (
        CatalogColumn("indexrelid", "BIGINT", _OID),
        CatalogColumn("indrelid", "BIGINT", _OID),
        CatalogColumn("indnatts", "SMALLINT", _INT2),
        CatalogColumn("indnkeyatts", "SMALLINT", _INT2),
        CatalogColumn("indisunique", "BOOLEAN", _BOOL),
        CatalogColumn("indnullsnotdistinct", "BOOLEAN", _BOOL),
        CatalogColumn("indisprimary", "BOOLEAN", _BOOL),
        CatalogColumn("indisexclusion", "BOOLEAN", _BOOL),
        CatalogColumn("indimmediate", "BOOLEAN", _BOOL),
        CatalogColumn("indisclustered", "BOOLEAN", _BOOL),
        CatalogColumn("indisvalid", "BOOLEAN", _BOOL),
        CatalogColumn("indcheckxmin", "BOOLEAN", _BOOL),
        CatalogColumn("indisready", "BOOLEAN", _BOOL),
        CatalogColumn("indislive", "BOOLEAN", _BOOL),
        CatalogColumn("indisreplident", "BOOLEAN", _BOOL),
        CatalogColumn("indkey", "SMALLINT[]", _INT2VECTOR),
        CatalogColumn("indcollation", "BIGINT[]", _OIDVECTOR),
        CatalogColumn("indclass", "BIGINT[]", _OIDVECTOR),
        CatalogColumn("indoption", "SMALLINT[]", _INT2VECTOR),
        CatalogColumn("indexprs", "VARCHAR", _PG_NODE_TREE),
        CatalogColumn("indpred", "VARCHAR", _PG_NODE_TREE),
    ),
    "pg_constraint": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("conname", "VARCHAR", _NAME),
        CatalogColumn("connamespace", "BIGINT", _OID),
        CatalogColumn("contype", "VARCHAR", _CHAR),
        CatalogColumn("condeferrable", "BOOLEAN", _BOOL),
        CatalogColumn("condeferred", "BOOLEAN", _BOOL),
        CatalogColumn("convalidated", "BOOLEAN", _BOOL),
        CatalogColumn("conrelid", "BIGINT", _OID),
        CatalogColumn("contypid", "BIGINT", _OID),
        CatalogColumn("conindid", "BIGINT", _OID),
        CatalogColumn("conparentid", "BIGINT", _OID),
        CatalogColumn("confrelid", "BIGINT", _OID),
        CatalogColumn("confupdtype", "VARCHAR", _CHAR),
        CatalogColumn("confdeltype", "VARCHAR", _CHAR),
        CatalogColumn("confmatchtype", "VARCHAR", _CHAR),
        CatalogColumn("conislocal", "BOOLEAN", _BOOL),
        CatalogColumn("coninhcount", "INTEGER", _INT4),
        CatalogColumn("connoinherit", "BOOLEAN", _BOOL),
        CatalogColumn("conkey", "SMALLINT[]", _INT2_ARRAY),
        CatalogColumn("confkey", "SMALLINT[]", _INT2_ARRAY),
        CatalogColumn("conpfeqop", "BIGINT[]", _OID_ARRAY),
        CatalogColumn("conppeqop", "BIGINT[]", _OID_ARRAY),
        CatalogColumn("conffeqop", "BIGINT[]", _OID_ARRAY),
        CatalogColumn("confdelsetcols", "SMALLINT[]", _INT2_ARRAY),
        CatalogColumn("conexclop", "BIGINT[]", _OID_ARRAY),
        CatalogColumn("conbin", "VARCHAR", _PG_NODE_TREE),
    ),
    "pg_proc": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("proname", "VARCHAR", _NAME),
        CatalogColumn("pronamespace", "BIGINT", _OID),
        CatalogColumn("proowner", "BIGINT", _OID),
        CatalogColumn("prolang", "BIGINT", _OID),
        CatalogColumn("procost", "FLOAT", _FLOAT4),
        CatalogColumn("prorows", "FLOAT", _FLOAT4),
        CatalogColumn("provariadic", "BIGINT", _OID),
        CatalogColumn("prosupport", "VARCHAR", _REGPROC),
        CatalogColumn("prokind", "VARCHAR", _CHAR),
        CatalogColumn("prosecdef", "BOOLEAN", _BOOL),
        CatalogColumn("proleakproof", "BOOLEAN", _BOOL),
        CatalogColumn("proisstrict", "BOOLEAN", _BOOL),
        CatalogColumn("proretset", "BOOLEAN", _BOOL),
        CatalogColumn("provolatile", "VARCHAR", _CHAR),
        CatalogColumn("proparallel", "VARCHAR", _CHAR),
        CatalogColumn("pronargs", "SMALLINT", _INT2),
        CatalogColumn("pronargdefaults", "SMALLINT", _INT2),
        CatalogColumn("prorettype", "BIGINT", _OID),
        CatalogColumn("proargtypes", "BIGINT[]", _OIDVECTOR),
        CatalogColumn("proallargtypes", "BIGINT[]", _OID_ARRAY),
        CatalogColumn("proargmodes", "VARCHAR[]", _CHAR_ARRAY),
        CatalogColumn("proargnames", "VARCHAR[]", _TEXT_ARRAY),
        CatalogColumn("proargdefaults", "VARCHAR", _PG_NODE_TREE),
        CatalogColumn("protrftypes", "BIGINT[]", _OID_ARRAY),
        CatalogColumn("prosrc", "VARCHAR", _TEXT),
        CatalogColumn("probin", "VARCHAR", _TEXT),
        CatalogColumn("prosqlbody", "VARCHAR", _PG_NODE_TREE),
        CatalogColumn("proconfig", "VARCHAR[]", _TEXT_ARRAY),
        CatalogColumn("proacl", "VARCHAR[]", _ACLITEM_ARRAY),
    ),
    "pg_am": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("amname", "VARCHAR", _NAME),
        CatalogColumn("amhandler", "VARCHAR", _REGPROC),
        CatalogColumn("amtype", "VARCHAR", _CHAR),
    ),
    "pg_tablespace": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("spcname", "VARCHAR", _NAME),
        CatalogColumn("spcowner", "BIGINT", _OID),
        CatalogColumn("spcacl", "VARCHAR[]", _ACLITEM_ARRAY),
        CatalogColumn("spcoptions", "VARCHAR[]", _TEXT_ARRAY),
    ),
    "pg_range": (
        CatalogColumn("rngtypid", "BIGINT", _OID),
        CatalogColumn("rngsubtype", "BIGINT", _OID),
        CatalogColumn("rngmultitypid", "BIGINT", _OID),
        CatalogColumn("rngcollation", "BIGINT", _OID),
        CatalogColumn("rngsubopc", "BIGINT", _OID),
        CatalogColumn("rngcanonical", "VARCHAR", _REGPROC),
        CatalogColumn("rngsubdiff", "VARCHAR", _REGPROC),
    ),
    "pg_enum": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("enumtypid", "BIGINT", _OID),
        CatalogColumn("enumsortorder", "FLOAT", _FLOAT4),
        CatalogColumn("enumlabel", "VARCHAR", _NAME),
    ),
    "pg_attrdef": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("adrelid", "BIGINT", _OID),
        CatalogColumn("adnum", "SMALLINT", _INT2),
        CatalogColumn("adbin", "VARCHAR", _PG_NODE_TREE),
    ),
    "pg_inherits": (
        CatalogColumn("inhrelid", "BIGINT", _OID),
        CatalogColumn("inhparent", "BIGINT", _OID),
        CatalogColumn("inhseqno", "INTEGER", _INT4),
        CatalogColumn("inhdetachpending", "BOOLEAN", _BOOL),
    ),
    "pg_views": (
        CatalogColumn("schemaname", "VARCHAR", _NAME),
        CatalogColumn("viewname", "VARCHAR", _NAME),
        CatalogColumn("viewowner", "VARCHAR", _NAME),
        CatalogColumn("definition", "VARCHAR", _TEXT),
    ),
    "pg_tables": (
        CatalogColumn("schemaname", "VARCHAR", _NAME),
        CatalogColumn("tablename", "VARCHAR", _NAME),
        CatalogColumn("tableowner", "VARCHAR", _NAME),
        CatalogColumn("tablespace", "VARCHAR", _NAME),
        CatalogColumn("hasindexes", "BOOLEAN", _BOOL),
        CatalogColumn("hasrules", "BOOLEAN", _BOOL),
        CatalogColumn("hastriggers", "BOOLEAN", _BOOL),
        CatalogColumn("rowsecurity", "BOOLEAN", _BOOL),
    ),
    "pg_matviews": (
        CatalogColumn("schemaname", "VARCHAR", _NAME),
        CatalogColumn("matviewname", "VARCHAR", _NAME),
        CatalogColumn("matviewowner", "VARCHAR", _NAME),
        CatalogColumn("tablespace", "VARCHAR", _NAME),
        CatalogColumn("hasindexes", "BOOLEAN", _BOOL),
        CatalogColumn("ispopulated", "BOOLEAN", _BOOL),
        CatalogColumn("definition", "VARCHAR", _TEXT),
    ),
    "pg_collation": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("collname", "VARCHAR", _NAME),
        CatalogColumn("collnamespace", "BIGINT", _OID),
        CatalogColumn("collowner", "BIGINT", _OID),
        CatalogColumn("collprovider", "VARCHAR", _CHAR),
        CatalogColumn("collisdeterministic", "BOOLEAN", _BOOL),
        CatalogColumn("collencoding", "INTEGER", _INT4),
        CatalogColumn("collcollate", "VARCHAR", _TEXT),
        CatalogColumn("collctype", "VARCHAR", _TEXT),
        CatalogColumn("colliculocale", "VARCHAR", _TEXT),
        CatalogColumn("collicurules", "VARCHAR", _TEXT),  # PostgreSQL 16
        CatalogColumn("collversion", "VARCHAR", _TEXT),
    ),
    "pg_extension": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("extname", "VARCHAR", _NAME),
        CatalogColumn("extowner", "BIGINT", _OID),
        CatalogColumn("extnamespace", "BIGINT", _OID),
        CatalogColumn("extrelocatable", "BOOLEAN", _BOOL),
        CatalogColumn("extversion", "VARCHAR", _TEXT),
        CatalogColumn("extconfig", "BIGINT[]", _OID_ARRAY),
        CatalogColumn("extcondition", "VARCHAR[]", _TEXT_ARRAY),
    ),
    "pg_foreign_table": (
        CatalogColumn("ftrelid", "BIGINT", _OID),
        CatalogColumn("ftserver", "BIGINT", _OID),
        CatalogColumn("ftoptions", "VARCHAR[]", _TEXT_ARRAY),
    ),
    "pg_foreign_server": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("srvname", "VARCHAR", _NAME),
        CatalogColumn("srvowner", "BIGINT", _OID),
        CatalogColumn("srvfdw", "BIGINT", _OID),
        CatalogColumn("srvtype", "VARCHAR", _TEXT),
        CatalogColumn("srvversion", "VARCHAR", _TEXT),
        CatalogColumn("srvacl", "VARCHAR[]", _ACLITEM_ARRAY),
        CatalogColumn("srvoptions", "VARCHAR[]", _TEXT_ARRAY),
    ),
    "pg_foreign_data_wrapper": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("fdwname", "VARCHAR", _NAME),
        CatalogColumn("fdwowner", "BIGINT", _OID),
        CatalogColumn("fdwhandler", "BIGINT", _OID),
        CatalogColumn("fdwvalidator", "BIGINT", _OID),
        CatalogColumn("fdwacl", "VARCHAR[]", _ACLITEM_ARRAY),
        CatalogColumn("fdwoptions", "VARCHAR[]", _TEXT_ARRAY),
    ),
    "pg_partitioned_table": (
        CatalogColumn("partrelid", "BIGINT", _OID),
        CatalogColumn("partstrat", "VARCHAR", _CHAR),
        CatalogColumn("partnatts", "SMALLINT", _INT2),
        CatalogColumn("partdefid", "BIGINT", _OID),
        CatalogColumn("partattrs", "SMALLINT[]", _INT2VECTOR),
        CatalogColumn("partclass", "BIGINT[]", _OIDVECTOR),
        CatalogColumn("partcollation", "BIGINT[]", _OIDVECTOR),
        CatalogColumn("partexprs", "VARCHAR", _PG_NODE_TREE),
    ),
    "pg_sequence": (
        CatalogColumn("seqrelid", "BIGINT", _OID),
        CatalogColumn("seqtypid", "BIGINT", _OID),
        CatalogColumn("seqstart", "BIGINT", _INT8),
        CatalogColumn("seqincrement", "BIGINT", _INT8),
        CatalogColumn("seqmax", "BIGINT", _INT8),
        CatalogColumn("seqmin", "BIGINT", _INT8),
        CatalogColumn("seqcache", "BIGINT", _INT8),
        CatalogColumn("seqcycle", "BOOLEAN", _BOOL),
    ),
    "pg_trigger": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("tgrelid", "BIGINT", _OID),
        CatalogColumn("tgparentid", "BIGINT", _OID),
        CatalogColumn("tgname", "VARCHAR", _NAME),
        CatalogColumn("tgfoid", "BIGINT", _OID),
        CatalogColumn("tgtype", "SMALLINT", _INT2),
        CatalogColumn("tgenabled", "VARCHAR", _CHAR),
        CatalogColumn("tgisinternal", "BOOLEAN", _BOOL),
        CatalogColumn("tgconstrrelid", "BIGINT", _OID),
        CatalogColumn("tgconstrindid", "BIGINT", _OID),
        CatalogColumn("tgconstraint", "BIGINT", _OID),
        CatalogColumn("tgdeferrable", "BOOLEAN", _BOOL),
        CatalogColumn("tginitdeferred", "BOOLEAN", _BOOL),
        CatalogColumn("tgnargs", "SMALLINT", _INT2),
        CatalogColumn("tgattr", "SMALLINT[]", _INT2VECTOR),
        CatalogColumn("tgargs", "BLOB", _BYTEA),
        CatalogColumn("tgqual", "VARCHAR", _PG_NODE_TREE),
        CatalogColumn("tgoldtable", "VARCHAR", _NAME),
        CatalogColumn("tgnewtable", "VARCHAR", _NAME),
    ),
    "pg_rewrite": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("rulename", "VARCHAR", _NAME),
        CatalogColumn("ev_class", "BIGINT", _OID),
        CatalogColumn("ev_type", "VARCHAR", _CHAR),
        CatalogColumn("ev_enabled", "VARCHAR", _CHAR),
        CatalogColumn("is_instead", "BOOLEAN", _BOOL),
        CatalogColumn("ev_qual", "VARCHAR", _PG_NODE_TREE),
        CatalogColumn("ev_action", "VARCHAR", _PG_NODE_TREE),
    ),
    "pg_depend": (
        CatalogColumn("classid", "BIGINT", _OID),
        CatalogColumn("objid", "BIGINT", _OID),
        CatalogColumn("objsubid", "INTEGER", _INT4),
        CatalogColumn("refclassid", "BIGINT", _OID),
        CatalogColumn("refobjid", "BIGINT", _OID),
        CatalogColumn("refobjsubid", "INTEGER", _INT4),
        CatalogColumn("deptype", "VARCHAR", _CHAR),
    ),
    "pg_shdescription": (
        CatalogColumn("objoid", "BIGINT", _OID),
        CatalogColumn("classoid", "BIGINT", _OID),
        CatalogColumn("description", "VARCHAR", _TEXT),
    ),
    "pg_event_trigger": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("evtname", "VARCHAR", _NAME),
        CatalogColumn("evtevent", "VARCHAR", _NAME),
        CatalogColumn("evtowner", "BIGINT", _OID),
        CatalogColumn("evtfoid", "BIGINT", _OID),
        CatalogColumn("evtenabled", "VARCHAR", _CHAR),
        CatalogColumn("evttags", "VARCHAR[]", _TEXT_ARRAY),
    ),
    "pg_language": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("lanname", "VARCHAR", _NAME),
        CatalogColumn("lanowner", "BIGINT", _OID),
        CatalogColumn("lanispl", "BOOLEAN", _BOOL),
        CatalogColumn("lanpltrusted", "BOOLEAN", _BOOL),
        CatalogColumn("lanplcallfoid", "BIGINT", _OID),
        CatalogColumn("laninline", "BIGINT", _OID),
        CatalogColumn("lanvalidator", "BIGINT", _OID),
        CatalogColumn("lanacl", "VARCHAR[]", _ACLITEM_ARRAY),
    ),
    "pg_stat_activity": (
        CatalogColumn("datid", "BIGINT", _OID),
        CatalogColumn("datname", "VARCHAR", _NAME),
        CatalogColumn("pid", "INTEGER", _INT4),
        CatalogColumn("leader_pid", "INTEGER", _INT4),
        CatalogColumn("usesysid", "BIGINT", _OID),
        CatalogColumn("usename", "VARCHAR", _NAME),
        CatalogColumn("application_name", "VARCHAR", _TEXT),
        CatalogColumn("client_addr", "VARCHAR", _INET),
        CatalogColumn("client_hostname", "VARCHAR", _TEXT),
        CatalogColumn("client_port", "INTEGER", _INT4),
        CatalogColumn("backend_start", "TIMESTAMPTZ", _TIMESTAMPTZ),
        CatalogColumn("xact_start", "TIMESTAMPTZ", _TIMESTAMPTZ),
        CatalogColumn("query_start", "TIMESTAMPTZ", _TIMESTAMPTZ),
        CatalogColumn("state_change", "TIMESTAMPTZ", _TIMESTAMPTZ),
        CatalogColumn("wait_event_type", "VARCHAR", _TEXT),
        CatalogColumn("wait_event", "VARCHAR", _TEXT),
        CatalogColumn("state", "VARCHAR", _TEXT),
        CatalogColumn("backend_xid", "BIGINT", _XID),
        CatalogColumn("backend_xmin", "BIGINT", _XID),
        CatalogColumn("query_id", "BIGINT", _INT8),
        CatalogColumn("query", "VARCHAR", _TEXT),
        CatalogColumn("backend_type", "VARCHAR", _TEXT),
    ),
    "pg_locks": (
        CatalogColumn("locktype", "VARCHAR", _TEXT),
        CatalogColumn("database", "BIGINT", _OID),
        CatalogColumn("relation", "BIGINT", _OID),
        CatalogColumn("page", "INTEGER", _INT4),
        CatalogColumn("tuple", "SMALLINT", _INT2),
        CatalogColumn("virtualxid", "VARCHAR", _TEXT),
        CatalogColumn("transactionid", "BIGINT", _XID),
        CatalogColumn("classid", "BIGINT", _OID),
        CatalogColumn("objid", "BIGINT", _OID),
        CatalogColumn("objsubid", "SMALLINT", _INT2),
        CatalogColumn("virtualtransaction", "VARCHAR", _TEXT),
        CatalogColumn("pid", "INTEGER", _INT4),
        CatalogColumn("mode", "VARCHAR", _TEXT),
        CatalogColumn("granted", "BOOLEAN", _BOOL),
        CatalogColumn("fastpath", "BOOLEAN", _BOOL),
        CatalogColumn("waitstart", "TIMESTAMPTZ", _TIMESTAMPTZ),
    ),
    "pg_operator": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("oprname", "VARCHAR", _NAME),
        CatalogColumn("oprnamespace", "BIGINT", _OID),
        CatalogColumn("oprowner", "BIGINT", _OID),
        CatalogColumn("oprkind", "VARCHAR", _CHAR),
        CatalogColumn("oprcanmerge", "BOOLEAN", _BOOL),
        CatalogColumn("oprcanhash", "BOOLEAN", _BOOL),
        CatalogColumn("oprleft", "BIGINT", _OID),
        CatalogColumn("oprright", "BIGINT", _OID),
        CatalogColumn("oprresult", "BIGINT", _OID),
        CatalogColumn("oprcom", "BIGINT", _OID),
        CatalogColumn("oprnegate", "BIGINT", _OID),
        CatalogColumn("oprcode", "VARCHAR", _REGPROC),
        CatalogColumn("oprrest", "VARCHAR", _REGPROC),
        CatalogColumn("oprjoin", "VARCHAR", _REGPROC),
    ),
    "pg_cast": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("castsource", "BIGINT", _OID),
        CatalogColumn("casttarget", "BIGINT", _OID),
        CatalogColumn("castfunc", "BIGINT", _OID),
        CatalogColumn("castcontext", "VARCHAR", _CHAR),
        CatalogColumn("castmethod", "VARCHAR", _CHAR),
    ),
    "pg_stat_user_tables": (
        CatalogColumn("relid", "BIGINT", _OID),
        CatalogColumn("schemaname", "VARCHAR", _NAME),
        CatalogColumn("relname", "VARCHAR", _NAME),
        CatalogColumn("seq_scan", "BIGINT", _INT8),
        CatalogColumn("last_seq_scan", "TIMESTAMPTZ", _TIMESTAMPTZ),  # PostgreSQL 16
        CatalogColumn("seq_tup_read", "BIGINT", _INT8),
        CatalogColumn("idx_scan", "BIGINT", _INT8),
        CatalogColumn("last_idx_scan", "TIMESTAMPTZ", _TIMESTAMPTZ),  # PostgreSQL 16
        CatalogColumn("idx_tup_fetch", "BIGINT", _INT8),
        CatalogColumn("n_tup_ins", "BIGINT", _INT8),
        CatalogColumn("n_tup_upd", "BIGINT", _INT8),
        CatalogColumn("n_tup_del", "BIGINT", _INT8),
        CatalogColumn("n_tup_hot_upd", "BIGINT", _INT8),
        CatalogColumn("n_tup_newpage_upd", "BIGINT", _INT8),  # PostgreSQL 16
        CatalogColumn("n_live_tup", "BIGINT", _INT8),
        CatalogColumn("n_dead_tup", "BIGINT", _INT8),
        CatalogColumn("n_mod_since_analyze", "BIGINT", _INT8),
        CatalogColumn("n_ins_since_vacuum", "BIGINT", _INT8),
        CatalogColumn("last_vacuum", "TIMESTAMPTZ", _TIMESTAMPTZ),
        CatalogColumn("last_autovacuum", "TIMESTAMPTZ", _TIMESTAMPTZ),
        CatalogColumn("last_analyze", "TIMESTAMPTZ", _TIMESTAMPTZ),
        CatalogColumn("last_autoanalyze", "TIMESTAMPTZ", _TIMESTAMPTZ),
        CatalogColumn("vacuum_count", "BIGINT", _INT8),
        CatalogColumn("autovacuum_count", "BIGINT", _INT8),
        CatalogColumn("analyze_count", "BIGINT", _INT8),
        CatalogColumn("autoanalyze_count", "BIGINT", _INT8),
    ),
    "pg_statio_user_tables": (
        CatalogColumn("relid", "BIGINT", _OID),
        CatalogColumn("schemaname", "VARCHAR", _NAME),
        CatalogColumn("relname", "VARCHAR", _NAME),
        CatalogColumn("heap_blks_read", "BIGINT", _INT8),
        CatalogColumn("heap_blks_hit", "BIGINT", _INT8),
        CatalogColumn("idx_blks_read", "BIGINT", _INT8),
        CatalogColumn("idx_blks_hit", "BIGINT", _INT8),
        CatalogColumn("toast_blks_read", "BIGINT", _INT8),
        CatalogColumn("toast_blks_hit", "BIGINT", _INT8),
        CatalogColumn("tidx_blks_read", "BIGINT", _INT8),
        CatalogColumn("tidx_blks_hit", "BIGINT", _INT8),
    ),
    "pg_policy": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("polname", "VARCHAR", _NAME),
        CatalogColumn("polrelid", "BIGINT", _OID),
        CatalogColumn("polcmd", "VARCHAR", _CHAR),
        CatalogColumn("polpermissive", "BOOLEAN", _BOOL),
        CatalogColumn("polroles", "BIGINT[]", _OID_ARRAY),
        CatalogColumn("polqual", "VARCHAR", _PG_NODE_TREE),
        CatalogColumn("polwithcheck", "VARCHAR", _PG_NODE_TREE),
    ),
    "pg_publication": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("pubname", "VARCHAR", _NAME),
        CatalogColumn("pubowner", "BIGINT", _OID),
        CatalogColumn("puballtables", "BOOLEAN", _BOOL),
        CatalogColumn("pubinsert", "BOOLEAN", _BOOL),
        CatalogColumn("pubupdate", "BOOLEAN", _BOOL),
        CatalogColumn("pubdelete", "BOOLEAN", _BOOL),
        CatalogColumn("pubtruncate", "BOOLEAN", _BOOL),
        CatalogColumn("pubviaroot", "BOOLEAN", _BOOL),
    ),
    "pg_stat_replication": (
        CatalogColumn("pid", "INTEGER", _INT4),
        CatalogColumn("usesysid", "BIGINT", _OID),
        CatalogColumn("usename", "VARCHAR", _NAME),
        CatalogColumn("application_name", "VARCHAR", _TEXT),
        CatalogColumn("client_addr", "VARCHAR", _INET),
        CatalogColumn("client_hostname", "VARCHAR", _TEXT),
        CatalogColumn("client_port", "INTEGER", _INT4),
        CatalogColumn("backend_start", "TIMESTAMPTZ", _TIMESTAMPTZ),
        CatalogColumn("backend_xmin", "BIGINT", _XID),
        CatalogColumn("state", "VARCHAR", _TEXT),
        CatalogColumn("sent_lsn", "VARCHAR", _PG_LSN),
        CatalogColumn("write_lsn", "VARCHAR", _PG_LSN),
        CatalogColumn("flush_lsn", "VARCHAR", _PG_LSN),
        CatalogColumn("replay_lsn", "VARCHAR", _PG_LSN),
        CatalogColumn("write_lag", "INTERVAL", _INTERVAL),
        CatalogColumn("flush_lag", "INTERVAL", _INTERVAL),
        CatalogColumn("replay_lag", "INTERVAL", _INTERVAL),
        CatalogColumn("sync_priority", "INTEGER", _INT4),
        CatalogColumn("sync_state", "VARCHAR", _TEXT),
        CatalogColumn("reply_time", "TIMESTAMPTZ", _TIMESTAMPTZ),
    ),
    "pg_auth_members": (
        CatalogColumn("oid", "BIGINT", _OID),  # PostgreSQL 16
        CatalogColumn("roleid", "BIGINT", _OID),
        CatalogColumn("member", "BIGINT", _OID),
        CatalogColumn("grantor", "BIGINT", _OID),
        CatalogColumn("admin_option", "BOOLEAN", _BOOL),
        CatalogColumn("inherit_option", "BOOLEAN", _BOOL),  # PostgreSQL 16
        CatalogColumn("set_option", "BOOLEAN", _BOOL),  # PostgreSQL 16
    ),
    "pg_conversion": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("conname", "VARCHAR", _NAME),
        CatalogColumn("connamespace", "BIGINT", _OID),
        CatalogColumn("conowner", "BIGINT", _OID),
        CatalogColumn("conforencoding", "INTEGER", _INT4),
        CatalogColumn("contoencoding", "INTEGER", _INT4),
        CatalogColumn("conproc", "VARCHAR", _REGPROC),
        CatalogColumn("condefault", "BOOLEAN", _BOOL),
    ),
    "pg_opclass": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("opcmethod", "BIGINT", _OID),
        CatalogColumn("opcname", "VARCHAR", _NAME),
        CatalogColumn("opcnamespace", "BIGINT", _OID),
        CatalogColumn("opcowner", "BIGINT", _OID),
        CatalogColumn("opcfamily", "BIGINT", _OID),
        CatalogColumn("opcintype", "BIGINT", _OID),
        CatalogColumn("opcdefault", "BOOLEAN", _BOOL),
        CatalogColumn("opckeytype", "BIGINT", _OID),
    ),
    "pg_statistic_ext": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("stxrelid", "BIGINT", _OID),
        CatalogColumn("stxname", "VARCHAR", _NAME),
        CatalogColumn("stxnamespace", "BIGINT", _OID),
        CatalogColumn("stxowner", "BIGINT", _OID),
        CatalogColumn("stxstattarget", "INTEGER", _INT4),
        CatalogColumn("stxkeys", "SMALLINT[]", _INT2VECTOR),
        CatalogColumn("stxkind", "VARCHAR[]", _CHAR_ARRAY),
        CatalogColumn("stxexprs", "VARCHAR", _PG_NODE_TREE),
    ),
    "pg_user_mappings": (
        CatalogColumn("umid", "BIGINT", _OID),
        CatalogColumn("srvid", "BIGINT", _OID),
        CatalogColumn("srvname", "VARCHAR", _NAME),
        CatalogColumn("umuser", "BIGINT", _OID),
        CatalogColumn("usename", "VARCHAR", _NAME),
        CatalogColumn("umoptions", "VARCHAR[]", _TEXT_ARRAY),
    ),
    "pg_timezone_names": (
        CatalogColumn("name", "VARCHAR", _TEXT),
        CatalogColumn("abbrev", "VARCHAR", _TEXT),
        CatalogColumn("utc_offset", "INTERVAL", _INTERVAL),
        CatalogColumn("is_dst", "BOOLEAN", _BOOL),
    ),
    "pg_available_extensions": (
        CatalogColumn("name", "VARCHAR", _NAME),
        CatalogColumn("default_version", "VARCHAR", _TEXT),
        CatalogColumn("installed_version", "VARCHAR", _TEXT),
        CatalogColumn("comment", "VARCHAR", _TEXT),
    ),
    "pg_replication_slots": (
        CatalogColumn("slot_name", "VARCHAR", _NAME),
        CatalogColumn("plugin", "VARCHAR", _NAME),
        CatalogColumn("slot_type", "VARCHAR", _TEXT),
        CatalogColumn("datoid", "BIGINT", _OID),
        CatalogColumn("database", "VARCHAR", _NAME),
        CatalogColumn("temporary", "BOOLEAN", _BOOL),
        CatalogColumn("active", "BOOLEAN", _BOOL),
        CatalogColumn("active_pid", "INTEGER", _INT4),
        CatalogColumn("xmin", "BIGINT", _XID),
        CatalogColumn("catalog_xmin", "BIGINT", _XID),
        CatalogColumn("restart_lsn", "VARCHAR", _PG_LSN),
        CatalogColumn("confirmed_flush_lsn", "VARCHAR", _PG_LSN),
        CatalogColumn("wal_status", "VARCHAR", _TEXT),
        CatalogColumn("safe_wal_size", "BIGINT", _INT8),
        CatalogColumn("two_phase", "BOOLEAN", _BOOL),
        CatalogColumn("conflicting", "BOOLEAN", _BOOL),  # PostgreSQL 16
    ),
    "pg_subscription": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("subdbid", "BIGINT", _OID),
        CatalogColumn("subskiplsn", "VARCHAR", _PG_LSN),
        CatalogColumn("subname", "VARCHAR", _NAME),
        CatalogColumn("subowner", "BIGINT", _OID),
        CatalogColumn("subenabled", "BOOLEAN", _BOOL),
        CatalogColumn("subbinary", "BOOLEAN", _BOOL),
        CatalogColumn("substream", "VARCHAR", _CHAR),  # PostgreSQL 16 (bool in 15)
        CatalogColumn("subtwophasestate", "VARCHAR", _CHAR),
        CatalogColumn("subdisableonerr", "BOOLEAN", _BOOL),
        CatalogColumn("subpasswordrequired", "BOOLEAN", _BOOL),  # PostgreSQL 16
        CatalogColumn("subrunasowner", "BOOLEAN", _BOOL),  # PostgreSQL 16
        CatalogColumn("subconninfo", "VARCHAR", _TEXT),
        CatalogColumn("subslotname", "VARCHAR", _NAME),
        CatalogColumn("subsynccommit", "VARCHAR", _TEXT),
        CatalogColumn("subpublications", "VARCHAR[]", _TEXT_ARRAY),
        CatalogColumn("suborigin", "VARCHAR", _TEXT),  # PostgreSQL 16
    ),
    "pg_largeobject_metadata": (
        CatalogColumn("oid", "BIGINT", _OID),
        CatalogColumn("lomowner", "BIGINT", _OID),
        CatalogColumn("lomacl", "VARCHAR[]", _ACLITEM_ARRAY),
    ),
    "pg_db_role_setting": (
        CatalogColumn("setdatabase", "BIGINT", _OID),
        CatalogColumn("setrole", "BIGINT", _OID),
        CatalogColumn("setconfig", "VARCHAR[]", _TEXT_ARRAY),
    ),
}

INFORMATION_SCHEMA_TABLES: Final[dict[str, tuple[CatalogColumn, ...]]] = {
    "tables": (
        CatalogColumn("table_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("self_referencing_column_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("reference_generation", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("user_defined_type_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("user_defined_type_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("user_defined_type_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("is_insertable_into", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("is_typed", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("commit_action", "VARCHAR", _VARCHAR),  # character_data
    ),
    "columns": (
        CatalogColumn("table_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("column_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("ordinal_position", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("column_default", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("is_nullable", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("data_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("character_maximum_length", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("character_octet_length", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_precision_radix", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_scale", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("datetime_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("interval_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("interval_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("character_set_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_set_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_set_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("domain_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("domain_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("domain_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("udt_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("udt_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("udt_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("maximum_cardinality", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("dtd_identifier", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("is_self_referencing", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("is_identity", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("identity_generation", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("identity_start", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("identity_increment", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("identity_maximum", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("identity_minimum", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("identity_cycle", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("is_generated", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("generation_expression", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("is_updatable", "VARCHAR", _VARCHAR, 7),  # yes_or_no
    ),
    "schemata": (
        CatalogColumn("catalog_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("schema_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("schema_owner", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("default_character_set_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("default_character_set_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("default_character_set_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("sql_path", "VARCHAR", _VARCHAR),  # character_data
    ),
    "views": (
        CatalogColumn("table_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("view_definition", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("check_option", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("is_updatable", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("is_insertable_into", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("is_trigger_updatable", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("is_trigger_deletable", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("is_trigger_insertable_into", "VARCHAR", _VARCHAR, 7),  # yes_or_no
    ),
    "table_constraints": (
        CatalogColumn("constraint_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("constraint_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("constraint_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("constraint_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("is_deferrable", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("initially_deferred", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("enforced", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("nulls_distinct", "VARCHAR", _VARCHAR, 7),  # yes_or_no
    ),
    "key_column_usage": (
        CatalogColumn("constraint_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("constraint_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("constraint_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("column_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("ordinal_position", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("position_in_unique_constraint", "INTEGER", _INT4),  # cardinal_number
    ),
    "referential_constraints": (
        CatalogColumn("constraint_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("constraint_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("constraint_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("unique_constraint_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("unique_constraint_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("unique_constraint_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("match_option", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("update_rule", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("delete_rule", "VARCHAR", _VARCHAR),  # character_data
    ),
    "constraint_column_usage": (
        CatalogColumn("table_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("column_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("constraint_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("constraint_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("constraint_name", "VARCHAR", _NAME),  # sql_identifier
    ),
    "routines": (
        CatalogColumn("specific_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("specific_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("specific_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("routine_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("routine_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("routine_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("routine_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("module_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("module_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("module_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("udt_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("udt_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("udt_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("data_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("character_maximum_length", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("character_octet_length", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("character_set_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_set_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_set_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("numeric_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_precision_radix", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_scale", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("datetime_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("interval_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("interval_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("type_udt_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("type_udt_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("type_udt_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("maximum_cardinality", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("dtd_identifier", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("routine_body", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("routine_definition", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("external_name", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("external_language", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("parameter_style", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("is_deterministic", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("sql_data_access", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("is_null_call", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("sql_path", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("schema_level_routine", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("max_dynamic_result_sets", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("is_user_defined_cast", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("is_implicitly_invocable", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("security_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("to_sql_specific_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("to_sql_specific_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("to_sql_specific_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("as_locator", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("created", "TIMESTAMPTZ", _TIMESTAMPTZ, 2),  # time_stamp
        CatalogColumn("last_altered", "TIMESTAMPTZ", _TIMESTAMPTZ, 2),  # time_stamp
        CatalogColumn("new_savepoint_level", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("is_udt_dependent", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("result_cast_from_data_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("result_cast_as_locator", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("result_cast_char_max_length", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("result_cast_char_octet_length", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("result_cast_char_set_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("result_cast_char_set_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("result_cast_char_set_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("result_cast_collation_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("result_cast_collation_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("result_cast_collation_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("result_cast_numeric_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("result_cast_numeric_precision_radix", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("result_cast_numeric_scale", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("result_cast_datetime_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("result_cast_interval_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("result_cast_interval_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("result_cast_type_udt_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("result_cast_type_udt_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("result_cast_type_udt_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("result_cast_scope_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("result_cast_scope_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("result_cast_scope_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("result_cast_maximum_cardinality", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("result_cast_dtd_identifier", "VARCHAR", _NAME),  # sql_identifier
    ),
    "parameters": (
        CatalogColumn("specific_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("specific_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("specific_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("ordinal_position", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("parameter_mode", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("is_result", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("as_locator", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("parameter_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("data_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("character_maximum_length", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("character_octet_length", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("character_set_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_set_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_set_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("numeric_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_precision_radix", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_scale", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("datetime_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("interval_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("interval_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("udt_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("udt_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("udt_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("maximum_cardinality", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("dtd_identifier", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("parameter_default", "VARCHAR", _VARCHAR),  # character_data
    ),
    "table_privileges": (
        CatalogColumn("grantor", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("grantee", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("privilege_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("is_grantable", "VARCHAR", _VARCHAR, 7),  # yes_or_no
        CatalogColumn("with_hierarchy", "VARCHAR", _VARCHAR, 7),  # yes_or_no
    ),
    "column_privileges": (
        CatalogColumn("grantor", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("grantee", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("table_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("column_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("privilege_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("is_grantable", "VARCHAR", _VARCHAR, 7),  # yes_or_no
    ),
    "character_sets": (
        CatalogColumn("character_set_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_set_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_set_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_repertoire", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("form_of_use", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("default_collate_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("default_collate_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("default_collate_name", "VARCHAR", _NAME),  # sql_identifier
    ),
    "sequences": (
        CatalogColumn("sequence_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("sequence_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("sequence_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("data_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("numeric_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_precision_radix", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_scale", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("start_value", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("minimum_value", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("maximum_value", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("increment", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("cycle_option", "VARCHAR", _VARCHAR, 7),  # yes_or_no
    ),
    "triggers": (
        CatalogColumn("trigger_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("trigger_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("trigger_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("event_manipulation", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("event_object_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("event_object_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("event_object_table", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("action_order", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("action_condition", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("action_statement", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("action_orientation", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("action_timing", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("action_reference_old_table", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("action_reference_new_table", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("action_reference_old_row", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("action_reference_new_row", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("created", "TIMESTAMPTZ", _TIMESTAMPTZ, 2),  # time_stamp
    ),
    "domains": (
        CatalogColumn("domain_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("domain_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("domain_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("data_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("character_maximum_length", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("character_octet_length", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("character_set_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_set_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_set_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("numeric_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_precision_radix", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_scale", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("datetime_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("interval_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("interval_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("domain_default", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("udt_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("udt_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("udt_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("maximum_cardinality", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("dtd_identifier", "VARCHAR", _NAME),  # sql_identifier
    ),
    "element_types": (
        CatalogColumn("object_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("object_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("object_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("object_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("collection_type_identifier", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("data_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("character_maximum_length", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("character_octet_length", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("character_set_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_set_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("character_set_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("collation_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("numeric_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_precision_radix", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("numeric_scale", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("datetime_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("interval_type", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("interval_precision", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("domain_default", "VARCHAR", _VARCHAR),  # character_data
        CatalogColumn("udt_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("udt_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("udt_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_catalog", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_schema", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("scope_name", "VARCHAR", _NAME),  # sql_identifier
        CatalogColumn("maximum_cardinality", "INTEGER", _INT4),  # cardinal_number
        CatalogColumn("dtd_identifier", "VARCHAR", _NAME),  # sql_identifier
    ),
}
