"""Session-wide fixtures: the gateway processes every integration test talks to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.gateway import GatewayEndpoint, running_gateway

SCRAM_USER = "laminar_scram"
SCRAM_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayEndpoint]:
    """A gateway with trust auth and no TLS: the default `make run` shape."""
    with running_gateway(tmp_path_factory.mktemp("gw-trust")) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def gateway_scram_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayEndpoint]:
    """A gateway that demands SCRAM-SHA-256 and offers TLS (clients use sslmode=require)."""
    with running_gateway(
        tmp_path_factory.mktemp("gw-scram"),
        auth="scram-sha-256",
        user=SCRAM_USER,
        password=SCRAM_PASSWORD,
        tls=True,
    ) as endpoint:
        yield endpoint


@pytest.fixture(params=["plain", "scram_tls"])
def any_gateway(request: pytest.FixtureRequest) -> GatewayEndpoint:
    """Every client test runs against both gateways: trust/plain and SCRAM over TLS."""
    name = "gateway" if request.param == "plain" else "gateway_scram_tls"
    endpoint: GatewayEndpoint = request.getfixturevalue(name)
    return endpoint
