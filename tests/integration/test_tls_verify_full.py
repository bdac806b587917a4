"""Issue #10: TLS a client can verify. The gateway's certificate is signed by a test CA; psycopg with
``sslmode=verify-full`` and that CA connects (the name and the chain check out), and with another
CA it refuses to, before sending a password."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fixtures.gateway import GatewayEndpoint, running_gateway, write_self_signed_cert

pytestmark = pytest.mark.integration

PASSWORD = "tls-pw-51d"


@pytest.fixture
def tls_gateway(tmp_path: Path) -> Iterator[tuple[GatewayEndpoint, Path]]:
    data_dir = tmp_path / "gw"
    with running_gateway(data_dir, auth="scram-sha-256", password=PASSWORD, tls=True) as endpoint:
        yield endpoint, data_dir / "ca.crt"


def _dsn(endpoint: GatewayEndpoint, ca: Path) -> str:
    return (
        f"host=localhost port={endpoint.port} user={endpoint.user} dbname=laminar password={PASSWORD} "
        f"sslmode=verify-full sslrootcert={ca}"
    )


def test_verify_full_with_the_test_ca(tls_gateway: tuple[GatewayEndpoint, Path], tmp_path: Path) -> None:
    endpoint, ca = tls_gateway
    with psycopg.connect(_dsn(endpoint, ca)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.pgconn.ssl_in_use
    other = tmp_path / "other"
    other.mkdir()
    write_self_signed_cert(other)  # a CA that did not sign the gateway's certificate
    with pytest.raises(psycopg.OperationalError, match="SSL error"):  # the chain does not verify
        psycopg.connect(_dsn(endpoint, other / "ca.crt")).close()
