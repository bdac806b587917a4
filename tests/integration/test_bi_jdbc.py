"""Issue #8, JDBC: pgjdbc's DatabaseMetaData (what DBeaver, Metabase and friends browse with) on Laminar.

MetadataCheck.java lists schemas, the tables and views of ``public`` and ``system``, the columns and
primary keys of a source connection, the type info, the product name and version, and the result
metadata and row count of a query on the source. The same program runs against Laminar (two Kafka
connections, a pipeline, three records in the source topic) and against a scratch database on the
reference PostgreSQL holding equivalent real tables and views (tests/fixtures/bi.py); both must print
the same lines, so the expected lines are what pgjdbc prints against PostgreSQL itself. Only the
product version differs (the server_version each server reports), and the type of
``_kafka_headers``, which Laminar is free to choose.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fixtures.bi import SOURCE_TABLE, BiTarget
from tests.fixtures.jdbc import METADATA_CHECK_SOURCE, LazyJavaProgram

pytestmark = pytest.mark.integration


SCHEMA_LINES = [
    "schema=information_schema",
    "schema=pg_catalog",
    "schema=public",
    "schema=system",
]
PUBLIC_TABLE_LINES = [
    "public_table=orders_out TABLE",
    "public_table=orders_src TABLE",
    "public_table=orders_totals VIEW",
]
SYSTEM_TABLE_LINES = [
    "system_table=connections VIEW",
    "system_table=kafka_producer_logs VIEW",
    "system_table=kafka_producer_metrics VIEW",
    "system_table=kafka_producer_status VIEW",
    "system_table=kafka_topics VIEW",
    "system_table=nodes VIEW",
    "system_table=pipeline_tasks VIEW",
    "system_table=pipelines VIEW",
    "system_table=secrets VIEW",
    "system_table=users VIEW",
]
# COLUMN_NAME TYPE_NAME DATA_TYPE ORDINAL_POSITION IS_NULLABLE. No column is NOT NULL. The
# type of _kafka_headers is Laminar's choice: its two type fields are replaced by "*" before comparing.
COLUMN_LINES = [
    "column=id int8 BIGINT 1 YES",
    "column=customer varchar VARCHAR 2 YES",
    "column=amount float8 DOUBLE 3 YES",
    "column=ts timestamptz TIMESTAMP 4 YES",
    "column=_kafka_key bytea BINARY 5 YES",
    "column=_kafka_partition int4 INTEGER 6 YES",
    "column=_kafka_offset int8 BIGINT 7 YES",
    "column=_kafka_timestamp timestamptz TIMESTAMP 8 YES",
    "column=_kafka_headers * * 9 YES",
    "columns=9",
]
KEY_AND_TYPE_LINES = [
    "primary_keys=0",
    "type_info int4=true",
    "type_info int8=true",
    "type_info text=true",
    "type_info varchar=true",
    "type_info float8=true",
    "type_info bool=true",
    "type_info timestamptz=true",
    "type_info bytea=true",
]
QUERY_LINES = [
    "result_columns=4",
    "result_column=id int8 BIGINT",
    "result_column=customer varchar VARCHAR",
    "result_column=amount float8 DOUBLE",
    "result_column=ts timestamptz TIMESTAMP",
    "result_rows=3",
]
_HEADERS_TYPE = re.compile(r"^(column=_kafka_headers) \S+ \S+ ")


def expected_lines(target: BiTarget) -> list[str]:
    return [
        "product_name=PostgreSQL",
        f"product_version={target.server_version}",
        *SCHEMA_LINES,
        *PUBLIC_TABLE_LINES,
        *SYSTEM_TABLE_LINES,
        *COLUMN_LINES,
        *KEY_AND_TYPE_LINES,
        *QUERY_LINES,
    ]


def test_pgjdbc_browses_connections_and_pipelines(bi_target: BiTarget, tmp_path: Path) -> None:
    program = LazyJavaProgram(tmp_path / "classes", METADATA_CHECK_SOURCE)
    result = program.run(bi_target.jdbc_url(), bi_target.user, bi_target.password, SOURCE_TABLE)

    output = f"--- stdout ---\n{result.stdout}--- stderr ---\n{result.stderr}"
    assert result.returncode == 0, f"MetadataCheck exited {result.returncode}\n{output}"
    lines = [_HEADERS_TYPE.sub(r"\1 * * ", line) for line in result.stdout.splitlines()]
    assert lines == expected_lines(bi_target), output
