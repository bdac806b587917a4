"""gateway.query.pg_catalog_schema: the emulated catalog relations build in DuckDB and hold together.

Every relation's columns are unique and declare the DuckDB type their PostgreSQL type maps to;
DuckDB creates every relation as a table with exactly those columns; every BUILTIN_TYPES row goes
into the pg_type table and comes back unchanged; and the type OIDs the catalog columns and
gateway.protocol.types use are all rows of BUILTIN_TYPES, with the same facts.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from gateway.protocol import types as t
from gateway.query.pg_catalog_schema import (
    BUILTIN_TYPES,
    CATALOG_TABLES,
    DUCKDB_TYPE_FOR_OID,
    INFORMATION_SCHEMA_TABLES,
    CatalogColumn,
    TypeRow,
)

RELATIONS = {("pg_catalog", name): columns for name, columns in CATALOG_TABLES.items()} | {
    ("information_schema", name): columns for name, columns in INFORMATION_SCHEMA_TABLES.items()
}

# pg_type's columns as the PostgreSQL 16 documentation lists them.
PG_TYPE_COLUMNS = (
    "oid", "typname", "typnamespace", "typowner", "typlen", "typbyval", "typtype", "typcategory",
    "typispreferred", "typisdefined", "typdelim", "typrelid", "typsubscript", "typelem", "typarray",
    "typinput", "typoutput", "typreceive", "typsend", "typmodin", "typmodout", "typanalyze",
    "typalign", "typstorage", "typnotnull", "typbasetype", "typtypmod", "typndims", "typcollation",
    "typdefaultbin", "typdefault", "typacl",
)  # fmt: skip

PG_CATALOG_RELATIONS = {
    "pg_class", "pg_namespace", "pg_attribute", "pg_type", "pg_database", "pg_settings", "pg_roles",
    "pg_user", "pg_description", "pg_index", "pg_constraint", "pg_proc", "pg_am", "pg_tablespace",
    "pg_range", "pg_enum", "pg_attrdef", "pg_inherits", "pg_views", "pg_tables", "pg_matviews",
    "pg_collation", "pg_extension", "pg_foreign_table", "pg_foreign_server", "pg_foreign_data_wrapper",
    "pg_partitioned_table", "pg_sequence", "pg_trigger", "pg_rewrite", "pg_depend", "pg_shdescription",
    "pg_event_trigger", "pg_language", "pg_stat_activity", "pg_locks", "pg_operator", "pg_cast",
    "pg_stat_user_tables", "pg_statio_user_tables", "pg_policy", "pg_publication",
    "pg_stat_replication", "pg_auth_members", "pg_conversion", "pg_opclass", "pg_statistic_ext",
    "pg_user_mappings", "pg_timezone_names", "pg_available_extensions", "pg_replication_slots",
    "pg_subscription", "pg_largeobject_metadata", "pg_db_role_setting",
}  # fmt: skip

INFORMATION_SCHEMA_RELATIONS = {
    "tables", "columns", "schemata", "views", "table_constraints", "key_column_usage",
    "referential_constraints", "constraint_column_usage", "routines", "parameters", "table_privileges",
    "column_privileges", "character_sets", "sequences", "triggers", "domains", "element_types",
}  # fmt: skip

# How DuckDB's DESCRIBE spells the types the catalog columns declare, where it differs.
DESCRIBED_AS = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}

TYPES_BY_OID = {row.oid: row for row in BUILTIN_TYPES}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create_table(
    connection: duckdb.DuckDBPyConnection, table: str, columns: tuple[CatalogColumn, ...]
) -> None:
    body = ", ".join(f"{_quote(column.name)} {column.duckdb_type}" for column in columns)
    connection.execute(f"CREATE TABLE {table} ({body})")


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    # DuckDB has pg_catalog and information_schema schemas of its own, so build under other names.
    connection.execute("CREATE SCHEMA emulated_pg_catalog")
    connection.execute("CREATE SCHEMA emulated_information_schema")
    yield connection
    connection.close()


def test_the_requested_relations_are_all_there() -> None:
    assert set(CATALOG_TABLES) == PG_CATALOG_RELATIONS
    assert set(INFORMATION_SCHEMA_TABLES) == INFORMATION_SCHEMA_RELATIONS


@pytest.mark.parametrize(("schema", "relation"), sorted(RELATIONS))
def test_column_names_are_unique_and_types_follow_the_mapping(schema: str, relation: str) -> None:
    columns = RELATIONS[schema, relation]
    names = [column.name for column in columns]
    assert columns
    assert len(names) == len(set(names)), names
    for column in columns:
        assert column.duckdb_type == DUCKDB_TYPE_FOR_OID[column.type_oid], column
        assert column.typmod == -1 or column.typmod > 0, column


@pytest.mark.parametrize(("schema", "relation"), sorted(RELATIONS))
def test_duckdb_creates_every_relation(duck: duckdb.DuckDBPyConnection, schema: str, relation: str) -> None:
    columns = RELATIONS[schema, relation]
    table = f"emulated_{schema}.{_quote(relation)}"
    _create_table(duck, table, columns)
    described = [(name, kind) for name, kind, *_ in duck.execute(f"DESCRIBE {table}").fetchall()]
    expected = [(c.name, DESCRIBED_AS.get(c.duckdb_type, c.duckdb_type)) for c in columns]
    assert described == expected


def test_every_catalog_column_type_is_a_builtin_type() -> None:
    used = {column.type_oid for columns in RELATIONS.values() for column in columns}
    assert used - TYPES_BY_OID.keys() == set()


def test_pg_type_has_postgresql_16_columns() -> None:
    columns = CATALOG_TABLES["pg_type"]
    assert len(columns) == 32
    assert tuple(column.name for column in columns) == PG_TYPE_COLUMNS
    assert TypeRow._fields == PG_TYPE_COLUMNS


def test_builtin_types_round_trip_through_duckdb_pg_type(duck: duckdb.DuckDBPyConnection) -> None:
    _create_table(duck, "builtin_pg_type", CATALOG_TABLES["pg_type"])
    duck.executemany(f"INSERT INTO builtin_pg_type VALUES ({', '.join('?' * 32)})", list(BUILTIN_TYPES))
    rows = duck.execute("SELECT * FROM builtin_pg_type ORDER BY oid").fetchall()
    assert [TypeRow(*row) for row in rows] == sorted(BUILTIN_TYPES)
    assert len(rows) == 185


def test_builtin_types_hold_together() -> None:
    assert len(TYPES_BY_OID) == len(BUILTIN_TYPES)
    assert len({row.typname for row in BUILTIN_TYPES}) == len(BUILTIN_TYPES)
    for row in BUILTIN_TYPES:
        assert (row.typnamespace, row.typowner, row.typrelid) == (11, 10, 0), row
        assert row.typtype in "bprm", row
        if row.typarray:
            array = TYPES_BY_OID[row.typarray]
            assert (array.typelem, array.typname) == (row.oid, f"_{row.typname}"), array
            assert array.typcategory == ("P" if array.typtype == "p" else "A"), (
                array
            )  # _record is a pseudo-type
        if row.typcategory == "A":
            assert row.typelem in TYPES_BY_OID, row


def test_well_known_rows() -> None:
    int4 = TYPES_BY_OID[t.INT4]
    assert (int4.typname, int4.typlen, int4.typbyval, int4.typinput, int4.typsend) == (
        "int4",
        4,
        True,
        "int4in",
        "int4send",
    )
    assert TYPES_BY_OID[1034].typname == "_aclitem"
    assert TYPES_BY_OID[t.UNKNOWN].typtype == "p"
    assert TYPES_BY_OID[t.BOOL].typreceive == "boolrecv"
    assert TYPES_BY_OID[t.BOOL].typmodin == "-"  # regproc 0 prints as "-"


def test_every_gateway_type_is_a_builtin_type_with_the_same_facts() -> None:
    assert set(t.TYPES_BY_OID) - TYPES_BY_OID.keys() == set()
    for oid, known in t.TYPES_BY_OID.items():
        row = TYPES_BY_OID[oid]
        assert (row.typname, row.typlen, row.typcategory) == (known.name, known.typlen, known.category)
        assert row.typarray == known.array_oid
        if known.elem_oid:
            assert row.typelem == known.elem_oid


def test_columns_announce_postgresql_types() -> None:
    def column(schema: str, relation: str, name: str) -> CatalogColumn:
        return next(c for c in RELATIONS[schema, relation] if c.name == name)

    assert column("pg_catalog", "pg_class", "oid") == CatalogColumn("oid", "BIGINT", 26)
    assert column("pg_catalog", "pg_class", "relname") == CatalogColumn("relname", "VARCHAR", 19)
    assert column("pg_catalog", "pg_class", "relkind") == CatalogColumn("relkind", "VARCHAR", 18)
    assert column("pg_catalog", "pg_class", "relacl") == CatalogColumn("relacl", "VARCHAR[]", 1034)
    assert column("pg_catalog", "pg_type", "typinput") == CatalogColumn("typinput", "VARCHAR", 24)
    assert column("pg_catalog", "pg_index", "indkey") == CatalogColumn("indkey", "SMALLINT[]", 22)
    assert column("pg_catalog", "pg_index", "indclass") == CatalogColumn("indclass", "BIGINT[]", 30)
    assert column("pg_catalog", "pg_attrdef", "adbin") == CatalogColumn("adbin", "VARCHAR", 194)
    tables = "information_schema", "tables"
    assert column(*tables, "table_name") == CatalogColumn("table_name", "VARCHAR", 19)
    assert column(*tables, "is_insertable_into") == CatalogColumn("is_insertable_into", "VARCHAR", 1043, 7)
    columns = "information_schema", "columns"
    assert column(*columns, "ordinal_position") == CatalogColumn("ordinal_position", "INTEGER", 23)
    triggers = "information_schema", "triggers"
    assert column(*triggers, "created") == CatalogColumn("created", "TIMESTAMPTZ", 1184, 2)


def test_postgresql_16_columns() -> None:
    def names(relation: str) -> list[str]:
        return [column.name for column in CATALOG_TABLES[relation]]

    assert names("pg_database")[-4:] == ["daticulocale", "daticurules", "datcollversion", "datacl"]
    assert names("pg_auth_members") == [
        "oid",
        "roleid",
        "member",
        "grantor",
        "admin_option",
        "inherit_option",
        "set_option",
    ]
    assert names("pg_replication_slots")[-1] == "conflicting"
    assert "n_tup_newpage_upd" in names("pg_stat_user_tables")
    substream = next(c for c in CATALOG_TABLES["pg_subscription"] if c.name == "substream")
    assert substream.type_oid == 18
