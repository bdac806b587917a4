"""psql (the libpq command-line client) against both gateways: commands, scripts, \\conninfo, errors.

psql runs as a subprocess with `-X` (no psqlrc), `-w` (never prompt), `ON_ERROR_STOP=1` and
`-At` (unaligned, tuples only), so stdout holds exactly the rows. Expected outputs are what psql
prints against a real PostgreSQL 15/16 server.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.gateway import GatewayEndpoint

pytestmark = pytest.mark.integration

PSQL_TIMEOUT_S = 60.0
# The connection variables GatewayEndpoint.libpq_env sets; any other PG* variable of the caller's
# environment (PGSERVICE, PGOPTIONS, PGSSLROOTCERT, ...) is dropped so it cannot change the outcome.
ENDPOINT_LIBPQ_VARIABLES = frozenset({"PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSSLMODE", "PGPASSWORD"})

# psql 15 and 16 end the line with ", compression: off)"; later versions may end it after the cipher.
TLS_CONNINFO = re.compile(r"SSL connection \(protocol: TLSv1\.3, cipher: TLS_[A-Z0-9_]+(, |\)$)")

PSQL_SCRIPT = """\
SET application_name = 'laminar_psql_script';
SHOW application_name;
SET TimeZone = 'UTC';
SHOW TimeZone;
SELECT 42::int4, 9000000000::int8, -7::int2, 12.50::numeric(6,2), 0.1::float8, 1.5::float4, true, false;
SELECT 'it''s text'::text, 'chars'::varchar, NULL::text, 'héllo ✓';
SELECT DATE '2024-02-29', TIME '12:34:56.789', TIMESTAMP '2024-02-29 12:34:56.789';
SELECT TIMESTAMPTZ '2024-02-29 12:34:56.789+00', INTERVAL '1 day 02:03:04';
SELECT '\\xdeadbeef'::bytea, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, '{"a": 1}'::json;
SELECT ARRAY[1, 2, 3], ARRAY['x', 'y z'], NULL::int4 IS NULL;
BEGIN;
SELECT 'inside transaction';
SELECT n, n * n FROM generate_series(1, 3) AS t(n);
COMMIT;
BEGIN;
SELECT 'rolled back';
ROLLBACK;
SELECT 'after commit and rollback';
"""

PSQL_SCRIPT_OUTPUT = """\
SET
laminar_psql_script
SET
UTC
42|9000000000|-7|12.50|0.1|1.5|t|f
it's text|chars||héllo ✓
2024-02-29|12:34:56.789|2024-02-29 12:34:56.789
2024-02-29 12:34:56.789+00|1 day 02:03:04
\\xdeadbeef|a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|{"a": 1}
{1,2,3}|{x,"y z"}|t
BEGIN
inside transaction
1|1
2|4
3|9
COMMIT
BEGIN
rolled back
ROLLBACK
after commit and rollback
"""


def psql_env(endpoint: GatewayEndpoint, **overrides: str | None) -> dict[str, str]:
    """libpq environment for endpoint, in the C locale; an override of None removes the variable."""
    env = {
        name: value
        for name, value in endpoint.libpq_env().items()
        if not name.startswith("PG") or name in ENDPOINT_LIBPQ_VARIABLES
    }
    env["PGCONNECT_TIMEOUT"] = "10"
    env["LC_ALL"] = "C.UTF-8"  # untranslated messages
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_psql(
    endpoint: GatewayEndpoint, *args: str, **env_overrides: str | None
) -> subprocess.CompletedProcess[str]:
    """Run `psql -X -w -v ON_ERROR_STOP=1 -At ARGS` against endpoint and capture its output."""
    return subprocess.run(
        ["psql", "-X", "-w", "-v", "ON_ERROR_STOP=1", "-At", *args],
        env=psql_env(endpoint, **env_overrides),
        capture_output=True,
        encoding="utf-8",
        timeout=PSQL_TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def connection_failure(endpoint: GatewayEndpoint, reason: str) -> str:
    """The line psql (libpq 15/16) prints on stderr when it cannot connect to endpoint."""
    return f'psql: error: connection to server at "{endpoint.host}", port {endpoint.port} failed: {reason}\n'


def test_psql_select_1_prints_exactly_1(any_gateway: GatewayEndpoint) -> None:
    result = run_psql(any_gateway, "-c", "SELECT 1")

    assert (result.returncode, result.stdout, result.stderr) == (0, "1\n", "")


def test_psql_prints_every_statement_of_one_command(any_gateway: GatewayEndpoint) -> None:
    result = run_psql(any_gateway, "-c", "SELECT 1; SELECT 2")

    assert (result.returncode, result.stdout, result.stderr) == (0, "1\n2\n", "")


def test_psql_runs_a_script_file(any_gateway: GatewayEndpoint, tmp_path: Path) -> None:
    script = tmp_path / "script.sql"
    script.write_text(PSQL_SCRIPT, encoding="utf-8")

    result = run_psql(any_gateway, "-f", str(script))

    assert result.stderr == ""
    assert result.returncode == 0
    assert result.stdout.splitlines() == PSQL_SCRIPT_OUTPUT.splitlines()


def test_psql_script_stops_at_the_first_error(any_gateway: GatewayEndpoint, tmp_path: Path) -> None:
    script = tmp_path / "failing.sql"
    script.write_text("SELECT 'before';\nSELECT 1/0;\nSELECT 'not reached';\n", encoding="utf-8")

    result = run_psql(any_gateway, "-f", str(script))

    assert result.returncode == 3  # psql's exit status for a script error under ON_ERROR_STOP
    assert result.stdout == "before\n"
    assert result.stderr == f"psql:{script}:2: ERROR:  division by zero\n"


def test_psql_conninfo_names_database_user_host_port_and_tls(any_gateway: GatewayEndpoint) -> None:
    result = run_psql(any_gateway, "-c", "\\conninfo")

    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f'You are connected to database "{any_gateway.database}" as user "{any_gateway.user}" '
        f'on host "{any_gateway.host}" at port "{any_gateway.port}".'
    )
    if any_gateway.sslmode == "require":
        assert len(lines) == 2
        assert TLS_CONNINFO.match(lines[1]), lines[1]
    else:
        assert len(lines) == 1


def test_psql_error_exits_nonzero_with_the_message(any_gateway: GatewayEndpoint) -> None:
    result = run_psql(any_gateway, "-c", "SELECT 1/0")

    assert (result.returncode, result.stdout, result.stderr) == (1, "", "ERROR:  division by zero\n")


def test_psql_verbose_error_shows_the_sqlstate(any_gateway: GatewayEndpoint) -> None:
    result = run_psql(any_gateway, "-c", "\\set VERBOSITY verbose", "-c", "SELECT 1/0")

    assert (result.returncode, result.stdout) == (1, "")
    first, *rest = result.stderr.splitlines()
    assert first == "ERROR:  22012: division by zero"
    # PostgreSQL adds its source location; a gateway may send none, but nothing else may follow.
    assert all(line.startswith("LOCATION:  ") for line in rest), result.stderr


def test_psql_session_continues_after_an_error(any_gateway: GatewayEndpoint) -> None:
    result = run_psql(
        any_gateway,
        "-v",
        "ON_ERROR_STOP=0",
        "-c",
        "SELECT 'first'",
        "-c",
        "SELECT 1/0",
        "-c",
        "SELECT 'after error'",
    )

    assert result.stdout == "first\nafter error\n"
    assert result.stderr == "ERROR:  division by zero\n"
    assert result.returncode == 0  # without ON_ERROR_STOP psql only reports the last command


def test_psql_wrong_password_is_refused(gateway_scram_tls: GatewayEndpoint) -> None:
    result = run_psql(gateway_scram_tls, "-c", "SELECT 1", PGPASSWORD="not the password")

    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == connection_failure(
        gateway_scram_tls, f'FATAL:  password authentication failed for user "{gateway_scram_tls.user}"'
    )


def test_psql_unknown_user_gets_the_same_answer_as_a_wrong_password(
    gateway_scram_tls: GatewayEndpoint,
) -> None:
    # PostgreSQL does not tell a client which user names exist.
    result = run_psql(gateway_scram_tls, "-c", "SELECT 1", PGUSER="nobody")

    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == connection_failure(
        gateway_scram_tls, 'FATAL:  password authentication failed for user "nobody"'
    )


def test_psql_without_password_stops_at_the_scram_request(
    gateway_scram_tls: GatewayEndpoint, tmp_path: Path
) -> None:
    result = run_psql(
        gateway_scram_tls, "-c", "SELECT 1", PGPASSWORD=None, PGPASSFILE=str(tmp_path / "no-such-pgpass")
    )

    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == connection_failure(gateway_scram_tls, "fe_sendauth: no password supplied")
