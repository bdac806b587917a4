"""`laminar serve` as `make run` starts it: embedded broker, flags, refusal of unsafe settings."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from aiokafka.admin import AIOKafkaAdminClient

from tests.fixtures.gateway import free_port, wait_for_port
from tests.fixtures.kafka import create_topic
from tests.fixtures.pipelines import produce_json_batched


def _serve(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env or dict(os.environ),
    )


async def test_serve_with_embedded_kafka_answers_sql_and_kafka(tmp_path: Path) -> None:
    port, kafka_port = free_port(), free_port()
    process = _serve(tmp_path, "--port", str(port), "--kafka", "embedded", "--kafka-port", str(kafka_port))
    try:
        wait_for_port("127.0.0.1", port, 30, process)
        with psycopg.connect(host="127.0.0.1", port=port, user="laminar", dbname="laminar") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        admin = AIOKafkaAdminClient(bootstrap_servers=f"127.0.0.1:{kafka_port}")
        await admin.start()
        try:
            metadata = await admin.describe_cluster()
            assert metadata["brokers"][0]["port"] == kafka_port
        finally:
            await admin.close()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert f"psql -h 127.0.0.1 -p {port} -U laminar laminar" in output.decode()
    assert f"Embedded Kafka broker: 127.0.0.1:{kafka_port}" in output.decode()


def test_sigterm_closes_connected_clients_with_57p01(tmp_path: Path) -> None:
    port = free_port()
    process = _serve(tmp_path, "--port", str(port))
    try:
        wait_for_port("127.0.0.1", port, 30, process)
        conn = psycopg.connect(host="127.0.0.1", port=port, user="laminar", dbname="laminar", autocommit=True)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        try:
            conn.execute("SELECT 1")
            raised = None
        except psycopg.OperationalError as exc:
            raised = exc
        assert raised is not None
        assert "terminating connection due to administrator command" in str(raised)
        conn.close()
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=20)


def test_trust_is_refused_off_loopback(tmp_path: Path) -> None:
    process = _serve(tmp_path, "--host", "0.0.0.0", "--port", str(free_port()), "--auth", "trust")
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0
    assert "refusing --auth trust on non-loopback address 0.0.0.0" in output.decode()


def test_password_auth_needs_a_password(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "LAMINAR_PASSWORD"}
    process = _serve(tmp_path, "--port", str(free_port()), "--auth", "scram-sha-256", env=env)
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0
    assert "--auth scram-sha-256 needs a password" in output.decode()


def test_flags_can_come_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    process = _serve(tmp_path, env={**os.environ, "LAMINAR_PORT": str(port), "LAMINAR_USER": "envuser"})
    try:
        wait_for_port("127.0.0.1", port, 30, process)
        with psycopg.connect(host="127.0.0.1", port=port, user="envuser", dbname="laminar") as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("envuser",)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)


def test_a_mistyped_environment_choice_is_refused(tmp_path: Path) -> None:
    """argparse checks choices of command-line values only; LAMINAR_<FLAG> values are checked too."""
    env = {**os.environ, "LAMINAR_KAFKA": "embeded"}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "LAMINAR_KAFKA='embeded' is not one of: embedded, none" in done.stderr


def test_status_shows_the_node_and_its_pipelines(tmp_path: Path) -> None:
    port = free_port()
    process = _serve(tmp_path, "--port", str(port), "--node-id", "status-node")
    try:
        wait_for_port("127.0.0.1", port, 30, process)
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "status", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    assert done.returncode == 0, done.stderr
    rows = [[cell.strip() for cell in line.split("|")] for line in done.stdout.splitlines()]
    assert rows[0][:3] == ["node", "alive", "this_node"]
    assert rows[2][:3] == ["status-node", "t", "t"]
    assert ["pipeline", "state", "node", "tasks", "delivery", "rows_in", "rows_out", "rows_per_second"] in [
        row[:8] for row in rows
    ]


async def test_sql_shows_the_progress_of_a_long_insert(tmp_path: Path) -> None:
    """`laminar sql` asks for progress NOTICEs (laminar.progress_interval through PGOPTIONS) and
    psql prints them on stderr while a bounded INSERT reads its source and writes its sink."""
    port, kafka_port = free_port(), free_port()
    records = 50_000
    process = _serve(tmp_path, "--port", str(port), "--kafka", "embedded", "--kafka-port", str(kafka_port))
    try:
        wait_for_port("127.0.0.1", port, 30, process)
        bootstrap = f"127.0.0.1:{kafka_port}"
        await create_topic(bootstrap, "progress-src", 2)
        await create_topic(bootstrap, "progress-out", 1)
        await produce_json_batched(bootstrap, "progress-src", [{"id": i} for i in range(records)], 2)
        dsn = f"host=127.0.0.1 port={port} user=laminar dbname=laminar"
        with psycopg.connect(dsn, autocommit=True) as conn:
            servers = f"bootstrap_servers = '{bootstrap}'"
            conn.execute(
                f"CREATE CONNECTION psrc (id BIGINT) TO kafka ({servers}, topic = 'progress-src', "
                "type = 'source', format = 'json')"
            )
            conn.execute(
                f"CREATE CONNECTION pout TO kafka ({servers}, topic = 'progress-out', "
                "type = 'sink', format = 'json')"
            )
        sql = tmp_path / "copy.sql"
        sql.write_text("INSERT INTO pout SELECT id FROM psrc;\n")
        started = time.monotonic()
        cli = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "gateway", "sql", "--port", str(port)),
            *("--progress-interval", "20", "-f", str(sql)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(cli.communicate(), 120)
        print(f"INSERT of {records} records through laminar sql: {time.monotonic() - started:.1f} s")
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    stdout, stderr = out.decode(), err.decode()
    assert cli.returncode == 0, stderr
    assert stdout.strip() == f"INSERT 0 {records}"
    lines = [line for line in stderr.splitlines() if line.startswith("psql:") and "NOTICE:" in line]
    assert lines, stderr
    assert all("INSERT INTO pout: " in line for line in lines), lines
    phases = ('reading source "psrc": ', "computing the rows: ", 'writing to sink "pout": ')
    assert all(any(phase in line for phase in phases) for line in lines), lines


def test_an_embedded_broker_port_in_use_stops_the_start(tmp_path: Path) -> None:
    """Something else on --kafka-port would look like a ready broker; the start is refused."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "--data-dir",
                str(tmp_path),
                "--port",
                str(free_port()),
                "--kafka",
                "embedded",
                "--kafka-port",
                str(busy),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode != 0
    assert f"cannot start the embedded broker: 127.0.0.1:{busy} is in use" in done.stderr


def test_a_password_without_auth_means_scram(tmp_path: Path) -> None:
    """LAMINAR_PASSWORD set and no --auth: password users get SCRAM-SHA-256, not trust."""
    port = free_port()
    process = _serve(tmp_path, "--port", str(port), env={**os.environ, "LAMINAR_PASSWORD": "pw-for-scram"})
    try:
        wait_for_port("127.0.0.1", port, 30, process)
        base = f"host=127.0.0.1 port={port} user=laminar dbname=laminar"
        with psycopg.connect(f"{base} password=pw-for-scram require_auth=scram-sha-256") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        try:
            psycopg.connect(f"{base} password=wrong").close()
            refused = ""
        except psycopg.OperationalError as exc:
            refused = str(exc)
        assert "password authentication failed" in refused
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
