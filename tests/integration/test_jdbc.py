"""pgjdbc (Debian's PostgreSQL JDBC driver 42.5) against both gateways, through ClientCheck.java.

ClientCheck binds parameters of every common type, reads every supported result type, repeats
statements until pgjdbc switches to named server-side statements and binary transfer, reads
through a cursor with a fetch size (named portals + PortalSuspended), provokes errors and reads
result metadata. It prints what Java sees; the expected lines below are what pgjdbc prints
against a real PostgreSQL 15/16 server.
"""

from __future__ import annotations

import pytest

from tests.fixtures.gateway import GatewayEndpoint
from tests.fixtures.jdbc import LazyJavaProgram

pytestmark = pytest.mark.integration

TYPED_PARAMETER_LINES = [
    "p_int4=-2147483648",
    "p_int8=9223372036854775807",
    "p_text=héllo, wörld ✓ 'quoted'",
    "p_numeric=12345.6789",
    "p_bool=true",
    "p_float8=3.141592653589793",
    "p_date=2024-02-29",
    "p_timestamp=2024-02-29 12:34:56.789",
    "p_uuid=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "p_null=null wasNull=true",
    "typed_parameters_executions=6",
    "typed_parameters_server_prepared=true",
]

RESULT_TYPE_LINES = [
    "v_bool=true",
    "v_int2=32767",
    "v_int4=2147483647",
    "v_int8=9223372036854775807",
    "v_float4=0.1",
    "v_float8=0.1",
    "v_numeric=12345.6789",
    "v_text=plain text",
    "v_varchar=varchar text",
    "v_bytea=deadbeef",
    "v_date=2024-02-29",
    "v_time=12:34:56.789",
    "v_timestamp=2024-02-29 12:34:56.789",
    "v_timestamptz=2024-02-29T12:34:56.789Z",
    "v_interval=1 day 02:03:04",
    "v_uuid=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    'v_json={"a": 1, "b": [true, null]}',
    "v_int4_array=[1, 2, 3] base=int4",
    "v_text_array=[x, y z] base=text",
    "v_null=null wasNull=true",
    # getObject's class is chosen from the type OID in RowDescription.
    "v_bool.class=java.lang.Boolean",
    "v_int2.class=java.lang.Integer",
    "v_int4.class=java.lang.Integer",
    "v_int8.class=java.lang.Long",
    "v_float4.class=java.lang.Float",
    "v_float8.class=java.lang.Double",
    "v_numeric.class=java.math.BigDecimal",
    "v_text.class=java.lang.String",
    "v_varchar.class=java.lang.String",
    "v_bytea.class=byte[]",
    "v_date.class=java.sql.Date",
    "v_time.class=java.sql.Time",
    "v_timestamp.class=java.sql.Timestamp",
    "v_timestamptz.class=java.sql.Timestamp",
    "v_uuid.class=java.util.UUID",
    "v_json.class=org.postgresql.util.PGobject",
    "v_int4_array.class=org.postgresql.jdbc.PgArray",
    "v_text_array.class=org.postgresql.jdbc.PgArray",
    "v_null.class=null",
    "result_types_server_prepared=true",
]

CURSOR_AND_ERROR_LINES = [
    "cursor_fetch_rows=100",
    "cursor_fetch_sum=5050",
    "statement_error_sqlstate=22012",
    "statement_error_severity=ERROR",
    "statement_error_message=division by zero",
    "statement_error_then=2",
    "prepared_error_sqlstate=22012",
    "prepared_error_severity=ERROR",
    "prepared_error_message=division by zero",
    "prepared_error_then=2",
]

METADATA_LINES = [
    "metadata_columns=7",
    "metadata_1=id int4 INTEGER",
    "metadata_2=label text VARCHAR",
    "metadata_3=amount numeric NUMERIC",
    "metadata_4=created_at timestamptz TIMESTAMP",
    "metadata_5=flag bool BIT",
    "metadata_6=row_id uuid OTHER",
    # An unaliased function call is labelled with the function name, as PostgreSQL does.
    "metadata_7=now timestamptz TIMESTAMP",
]

EXPECTED_CLIENT_CHECK_LINES = (
    TYPED_PARAMETER_LINES + RESULT_TYPE_LINES + CURSOR_AND_ERROR_LINES + METADATA_LINES
)


@pytest.fixture(scope="session")
def client_check(tmp_path_factory: pytest.TempPathFactory) -> LazyJavaProgram:
    """ClientCheck.java, compiled once per test session against the pgjdbc jar by the first test using it."""
    return LazyJavaProgram(tmp_path_factory.mktemp("jdbc-client-check"))


def test_pgjdbc_sees_postgres_values_types_cursors_and_errors(
    any_gateway: GatewayEndpoint, client_check: LazyJavaProgram
) -> None:
    result = client_check.run(any_gateway.jdbc_url(), any_gateway.user, any_gateway.password)

    output = f"--- stdout ---\n{result.stdout}--- stderr ---\n{result.stderr}"
    assert result.returncode == 0, f"ClientCheck exited {result.returncode}\n{output}"
    assert result.stdout.splitlines() == EXPECTED_CLIENT_CHECK_LINES


def test_pgjdbc_wrong_password_is_refused_with_28p01(
    gateway_scram_tls: GatewayEndpoint, client_check: LazyJavaProgram
) -> None:
    result = client_check.run(gateway_scram_tls.jdbc_url(), gateway_scram_tls.user, "not the password")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "CONNECTION FAILED: SQLSTATE=28P01 MESSAGE=FATAL: password authentication failed for user "
        f'"{gateway_scram_tls.user}"\n'
    )


def test_pgjdbc_without_password_stops_at_the_scram_request(
    gateway_scram_tls: GatewayEndpoint, client_check: LazyJavaProgram
) -> None:
    result = client_check.run(gateway_scram_tls.jdbc_url(), gateway_scram_tls.user, None)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "CONNECTION FAILED: SQLSTATE=08004 MESSAGE=The server requested SCRAM-based authentication, "
        "but no password was provided.\n"
    )
