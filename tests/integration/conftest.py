"""Fixtures of the catalog integration tests: a real Kafka broker and gateways over both catalog stores.

Every catalog test runs twice, once per store: the embedded SQLite catalog (a file in the gateway's
data directory) and a PostgreSQL catalog (a fresh database with a random name on the local
PostgreSQL 15, dropped afterwards). ``catalog_gateway`` is one gateway per test module and store,
so tests in a module share it and use names of their own; tests that stop and start gateways
themselves (restarts) use ``catalog_store`` and :func:`gateway_on`.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psycopg
import pytest
from psycopg import sql

from tests.fixtures.bi import BiServer, BiTarget, open_bi_server, prepare_bi_target
from tests.fixtures.gateway import GatewayEndpoint, running_gateway
from tests.fixtures.kafka import KafkaBroker, running_kafka_broker

STORES = ["sqlite", "postgres"]
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
ADMIN_USER = "laminar_admin"
ADMIN_PASSWORD = "admin pass phrase 42"


@dataclass(frozen=True)
class CatalogStoreTarget:
    """Where a gateway keeps its catalog: ``sqlite`` (in the data directory) or a PostgreSQL database."""

    kind: str
    catalog_url: str | None = None

    @property
    def extra_args(self) -> tuple[str, ...]:
        return () if self.catalog_url is None else ("--catalog", self.catalog_url)

    def connect_catalog_database(self) -> psycopg.Connection[tuple[object, ...]]:
        """A direct connection to the PostgreSQL catalog database (not through the gateway)."""
        assert self.catalog_url is not None, "only a PostgreSQL catalog has a database to connect to"
        return psycopg.connect(self.catalog_url, autocommit=True)


@dataclass(frozen=True)
class CatalogGateway:
    """A running gateway, its data directory and its catalog store."""

    endpoint: GatewayEndpoint
    data_dir: Path
    store: CatalogStoreTarget

    @property
    def log_path(self) -> Path:
        return self.data_dir / "gateway.log"

    def connect(
        self, *, autocommit: bool = True, user: str | None = None, password: str | None = None
    ) -> psycopg.Connection[tuple[object, ...]]:
        """A psycopg connection (autocommit unless the test is about transactions)."""
        extra = {} if user is None else {"user": user}
        if password is not None:
            extra["password"] = password
        return psycopg.connect(self.endpoint.dsn(**extra), autocommit=autocommit)

    async def connect_asyncpg(
        self, *, user: str | None = None, password: str | None = None
    ) -> asyncpg.Connection:
        endpoint = self.endpoint
        return await asyncpg.connect(
            host=endpoint.host,
            port=endpoint.port,
            user=endpoint.user if user is None else user,
            password=endpoint.password if password is None else password,
            database=endpoint.database,
            ssl=False,
        )


def capture_notices(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """A list that collects the primary message of every NOTICE the connection receives."""
    notices: list[str] = []
    conn.add_notice_handler(lambda diag: notices.append(str(diag.message_primary)))
    return notices


@contextlib.contextmanager
def catalog_database(kind: str) -> Iterator[CatalogStoreTarget]:
    """A catalog target of the given kind; for PostgreSQL a fresh database, dropped afterwards."""
    if kind == "sqlite":
        yield CatalogStoreTarget("sqlite")
        return
    name = f"laminar_catalog_{secrets.token_hex(6)}"
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield CatalogStoreTarget("postgres", f"{POSTGRES_SERVER}/{name}")
    finally:
        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def gateway_on(
    data_dir: Path,
    store: CatalogStoreTarget,
    *,
    auth: str = "trust",
    user: str = "laminar",
    password: str | None = None,
) -> Iterator[CatalogGateway]:
    """Start a gateway on ``data_dir`` with the given catalog; SIGTERM it afterwards."""
    with running_gateway(
        data_dir, auth=auth, user=user, password=password, extra_args=store.extra_args
    ) as endpoint:
        yield CatalogGateway(endpoint, data_dir, store)


@pytest.fixture(scope="module")
def sink_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogGateway]:
    """One gateway per test module, SQLite catalog: for tests about sinks, not about catalogs."""
    with gateway_on(tmp_path_factory.mktemp("gw-sink"), CatalogStoreTarget("sqlite")) as gateway:
        yield gateway


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """One Tansu broker (in-memory storage) for the whole test session."""
    with running_kafka_broker(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


@pytest.fixture(params=STORES)
def catalog_store(request: pytest.FixtureRequest) -> Iterator[CatalogStoreTarget]:
    """A fresh, empty catalog target of each kind, for tests that run gateways themselves."""
    with catalog_database(request.param) as target:
        yield target


@pytest.fixture(scope="module", params=STORES)
def catalog_gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogGateway]:
    """A trust-auth gateway with a fresh catalog of each kind, shared by the tests of one module."""
    with (
        catalog_database(request.param) as store,
        gateway_on(tmp_path_factory.mktemp(f"gw-catalog-{request.param}"), store) as gateway,
    ):
        yield gateway


@pytest.fixture(scope="module", params=STORES)
def scram_catalog_gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogGateway]:
    """A SCRAM-SHA-256 gateway with a bootstrap superuser and a fresh catalog of each kind."""
    with (
        catalog_database(request.param) as store,
        gateway_on(
            tmp_path_factory.mktemp(f"gw-scram-catalog-{request.param}"),
            store,
            auth="scram-sha-256",
            user=ADMIN_USER,
            password=ADMIN_PASSWORD,
        ) as gateway,
    ):
        yield gateway


# -- issue #8: the same BI-client checks against Laminar and against the reference PostgreSQL ----------
@pytest.fixture(scope="module", params=["laminar", "postgres"])
def bi_server(request: pytest.FixtureRequest) -> Iterator[BiServer]:
    """Laminar's module gateway and the broker, or a PostgreSQL scratch database with the objects."""
    with open_bi_server(request) as server:
        yield server


@pytest.fixture(scope="module")
async def bi_target(bi_server: BiServer) -> BiTarget:
    """The server of ``bi_server`` with its objects (made now on Laminar)."""
    return await prepare_bi_target(bi_server)
