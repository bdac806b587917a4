"""Issue #10: password guessing is slowed per source address, and the right password still works.

A fresh SCRAM gateway (its own, so the failures here slow no other test) gets wrong passwords from
127.0.0.1: the first five are answered at once, then each answer waits longer (0.5 s, 1 s, 2 s...);
every answer is still the 28P01 failure. The right password then logs in at once and
clears the address's count.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fixtures.gateway import GatewayEndpoint, running_gateway

pytestmark = pytest.mark.integration

PASSWORD = "right-password-9c1"
FREE_FAILURES = 5  # gateway/auth/throttle.py's default


@pytest.fixture
def scram_gateway(tmp_path: Path) -> Iterator[GatewayEndpoint]:
    with running_gateway(tmp_path / "gw", auth="scram-sha-256", password=PASSWORD) as endpoint:
        yield endpoint


def _login(endpoint: GatewayEndpoint, password: str) -> tuple[str | None, float]:
    started = time.monotonic()
    try:
        with psycopg.connect(endpoint.dsn(password=password), connect_timeout=30) as conn:
            conn.execute("SELECT 1")
        state = None
    except psycopg.OperationalError as exc:
        # libpq reports a failed login before there is a session: psycopg has no sqlstate for it
        state = exc.sqlstate or ("28P01" if "password authentication failed" in str(exc) else str(exc))
    return state, time.monotonic() - started


def test_wrong_passwords_get_slower_answers(scram_gateway: GatewayEndpoint) -> None:
    answers = [_login(scram_gateway, f"guess-{i}") for i in range(FREE_FAILURES + 3)]
    assert {state for state, _ in answers} == {"28P01"}
    free = [seconds for _, seconds in answers[:FREE_FAILURES]]
    slowed = [seconds for _, seconds in answers[FREE_FAILURES:]]
    assert slowed[0] >= 0.5, slowed
    assert slowed[1] >= 1.0, slowed
    assert slowed[2] >= 2.0, slowed
    # Relative to the first slowed answer, so a busy machine's slower logins do not matter.
    assert max(free) < slowed[0], (free, slowed)
    state, seconds = _login(scram_gateway, PASSWORD)
    assert state is None
    assert seconds < slowed[0], (seconds, slowed)
    state, seconds = _login(scram_gateway, "guess-after-success")
    assert state == "28P01"
    assert seconds < slowed[0], (seconds, slowed)  # the success cleared the address's failures
