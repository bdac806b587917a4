"""Issue #10: Laminar's role model. Superusers change the catalog and see secrets and users; a user
created without SUPERUSER queries, reads the system views and INSERTs, and is refused (42501) the
rest: creating, altering or dropping connections, secrets, users and pipelines (pausing someone's
pipeline included), and reading system.secrets, system.users, SHOW SECRETS and SHOW USERS.
Granting SUPERUSER lifts it.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.integration.conftest import CatalogGateway

pytestmark = pytest.mark.integration

REFUSED = [
    "CREATE CONNECTION analyst_sink TO kafka (bootstrap_servers = '127.0.0.1:1', topic = 't', "
    "type = 'sink', format = 'json')",
    "ALTER CONNECTION roles_sink SET ('linger.ms' = 5)",
    "DROP CONNECTION roles_sink",
    "CREATE SECRET analyst_secret AS 'x'",
    "ALTER SECRET roles_secret AS 'y'",
    "DROP SECRET roles_secret",
    "CREATE USER other WITH PASSWORD 'pw'",
    "ALTER USER analyst WITH SUPERUSER",
    "DROP USER laminar",
    "ALTER PIPELINE roles_pipeline PAUSE",
    "DROP PIPELINE roles_pipeline",
    "SELECT * FROM system.secrets",
    "SELECT name FROM system.users",
    "SHOW SECRETS",
    "SHOW USERS",
]


def test_a_user_without_superuser_queries_but_changes_nothing(sink_gateway: CatalogGateway) -> None:
    with sink_gateway.connect() as admin:
        admin.execute("DROP USER IF EXISTS analyst")
        admin.execute("CREATE USER analyst WITH PASSWORD 'analyst-pw'")
        admin.execute("DROP SECRET IF EXISTS roles_secret")
        admin.execute("CREATE SECRET roles_secret AS 'roles-secret-value'")
        admin.execute(
            "CREATE CONNECTION IF NOT EXISTS roles_sink TO kafka (bootstrap_servers = '127.0.0.1:1', "
            "topic = 'roles', type = 'sink', format = 'json')"
        )
        before = admin.execute("SELECT name FROM system.connections ORDER BY name").fetchall()
    with sink_gateway.connect(user="analyst", password="analyst-pw") as analyst:
        for statement in REFUSED:
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
                analyst.execute(statement)
            assert 'needs a superuser, and "analyst" is not one' in str(refused.value), statement
            assert "roles-secret-value" not in str(refused.value)
        assert analyst.execute("SELECT 1").fetchone() == (1,)
        assert analyst.execute("SELECT name FROM system.connections ORDER BY name").fetchall() == before
        assert analyst.execute("SELECT count(*) FROM pg_catalog.pg_class").fetchone() != (0,)
    with sink_gateway.connect() as admin:
        assert admin.execute("SELECT name FROM system.connections ORDER BY name").fetchall() == before
        admin.execute("ALTER USER analyst WITH SUPERUSER")
    with sink_gateway.connect(user="analyst", password="analyst-pw") as analyst:
        assert analyst.execute("SELECT name FROM system.secrets WHERE name = 'roles_secret'").fetchall() == [
            ("roles_secret",)
        ]
    with sink_gateway.connect() as admin:
        admin.execute("DROP USER analyst")
