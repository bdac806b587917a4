"""Issue #10: malformed and adversarial input gets an ErrorResponse and the gateway keeps serving.

Over 200 statements from tests/fixtures/hostile.py (syntax garbage, 100,000-character names,
expressions nested 20,000 deep, 10 MB literals, injection attempts through option values, secret
references and names) each go to a gateway with a catalog, through psycopg. Each must fail with a
SQLSTATE that is not XX000 (an internal error is a bug), an error message of bounded length, the
known secret value nowhere in it, and nothing created; after every statement the same connection
still answers. Raw Query messages psycopg cannot send (NUL bytes, invalid UTF-8) go over a raw
socket; a message over the size limit is refused. The gateway process must still accept new
sessions at the end.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.fixtures.hostile import RAW_QUERIES, SECRET_VALUE, Hostile, corpus
from tests.fixtures.wire import TERMINATE, connect, error_fields, frame, simple_rows
from tests.integration.conftest import CatalogGateway

pytestmark = pytest.mark.integration

CORPUS = corpus()
MAX_MESSAGE_CHARS = 4_000  # the gateway caps each field at 1,000 characters


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 200


@pytest.fixture(scope="module")
def hostile_gateway(sink_gateway: CatalogGateway) -> CatalogGateway:
    """The victims the injection attempts aim at: a sink connection and a secret."""
    with psycopg.connect(sink_gateway.endpoint.dsn(), autocommit=True) as conn:
        conn.execute(
            "CREATE CONNECTION IF NOT EXISTS victim (id BIGINT) TO kafka (bootstrap_servers = '127.0.0.1:1', "
            "topic = 'victim', type = 'sink', format = 'json')"
        )
        conn.execute("DROP SECRET IF EXISTS victim_secret")
        conn.execute(f"CREATE SECRET victim_secret AS '{SECRET_VALUE}'")
    return sink_gateway


def _objects(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[object, ...]]:
    connections = conn.execute("SELECT name FROM system.connections ORDER BY name").fetchall()
    pipelines = conn.execute("SELECT name FROM system.pipelines ORDER BY name").fetchall()
    secrets = conn.execute("SELECT name FROM system.secrets ORDER BY name").fetchall()
    return [*connections, *pipelines, *secrets]


def test_every_hostile_statement_is_refused_cleanly(hostile_gateway: CatalogGateway) -> None:
    problems: list[str] = []
    states: dict[str, int] = {}
    with psycopg.connect(hostile_gateway.endpoint.dsn(), autocommit=True) as conn:
        before = _objects(conn)
        for entry in CORPUS:
            problem = _refused(conn, entry, states)
            if problem is not None:
                problems.append(problem)
            assert conn.execute("SELECT 1").fetchone() == (1,), f"connection unusable after {entry.label}"
        after = _objects(conn)
    assert problems == [], "\n".join(problems)
    assert after == before, "a refused statement left an object behind"
    assert "XX000" not in states
    assert sum(states.values()) == len(CORPUS)


def _refused(
    conn: psycopg.Connection[tuple[object, ...]], entry: Hostile, states: dict[str, int]
) -> str | None:
    try:
        conn.execute(entry.sql.encode())
    except psycopg.Error as exc:
        state = exc.sqlstate or "none"
        states[state] = states.get(state, 0) + 1
        text = str(exc)
        if state in ("none", "XX000"):
            return f"{entry.label}: {state} {text[:200]}"
        if len(text) > MAX_MESSAGE_CHARS:
            return f"{entry.label}: an error of {len(text)} characters"
        if SECRET_VALUE in text:
            return f"{entry.label}: the secret value is in the error"
        return None
    return f"{entry.label}: accepted"


@pytest.mark.parametrize(("label", "payload"), RAW_QUERIES, ids=[label for label, _ in RAW_QUERIES])
def test_raw_bytes_get_an_error_response(hostile_gateway: CatalogGateway, label: str, payload: bytes) -> None:
    endpoint = hostile_gateway.endpoint
    wire = connect(endpoint)
    try:
        wire.send(frame(b"Q", payload + b"\0"))
        messages = wire.read_until(b"E")
        fields = error_fields(messages[-1].body)
        assert fields["C"] in {"08P01", "22021", "42601"}, (label, fields)
        assert fields["C"] != "XX000"
        wire.send(TERMINATE)
    finally:
        wire.close()
    assert simple_rows(endpoint, "SELECT 1") == [[b"1"]], f"the gateway stopped serving after {label}"


def test_a_message_over_the_size_limit_is_refused(hostile_gateway: CatalogGateway) -> None:
    endpoint = hostile_gateway.endpoint
    wire = connect(endpoint)
    try:
        # 65 MB announced (the limit is 64 MB): refused from the length field, before the body.
        wire.send(b"Q" + (65 * 1024 * 1024).to_bytes(4, "big"))
        fields = error_fields(wire.read_until(b"E")[-1].body)
        assert fields["C"] == "08P01", fields
        assert "exceeds the limit" in fields["M"]
    finally:
        wire.close()
    assert simple_rows(endpoint, "SELECT 1") == [[b"1"]]
