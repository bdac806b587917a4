"""The ``laminar`` command: ``serve`` starts a gateway node; ``sql`` and ``status`` talk to one.

Every ``serve`` flag can also be given as an environment variable ``LAMINAR_<FLAG>`` (for
example ``LAMINAR_PORT=6543``); a flag on the command line wins over the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import logging
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

try:
    import uvloop
except ImportError:  # uvloop is optional (not on Windows); asyncio's own loop works too
    uvloop = None  # type: ignore[assignment]

from catalog.postgres_store import PostgresStore
from catalog.secret_box import SecretBox
from catalog.service import Catalog
from catalog.sqlite_store import SqliteStore
from catalog.store import CatalogStore
from gateway.auth.passwords import AuthMethod, make_scram_verifier
from gateway.connection import ConnectionConfig
from gateway.embedded_broker import EmbeddedBroker
from gateway.handlers.authentication import AuthConfig, Credential
from gateway.logs import configure_logging
from gateway.metrics_http import MetricsServer
from gateway.progress import SETTING as PROGRESS_SETTING
from gateway.server import GatewayServer, tls_context
from pipelines.supervisor import LEASE_S, Supervisor
from sinks.registry import SinkRegistry

log = logging.getLogger("laminar")

DEFAULT_PORT = 5433
DEFAULT_KAFKA_PORT = 9092
# What `laminar status` prints (through psql, like `laminar sql`).
STATUS_QUERIES = (
    "SELECT name AS node, alive, this_node, started_at, heartbeat_at, pipelines FROM system.nodes",
    "SELECT name AS pipeline, state, node, tasks, delivery, rows_in, rows_out, "
    "round(rows_per_second, 1) AS rows_per_second, rows_dropped, rows_late, lag, last_commit, error "
    "FROM system.pipelines",
)
DEFAULT_PROGRESS_MS = 2_000  # `laminar sql`: how often a long INSERT prints how far it got
GC_GEN0_THRESHOLD = 20_000  # allocations between two young-generation collections (CPython: 700)


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"LAMINAR_{name.upper().replace('-', '_')}", default)


def _env_choice(name: str, default: str, choices: Sequence[str]) -> str:
    """An environment default for a flag with choices: argparse checks choices only of values
    given on the command line, so a mistyped LAMINAR_<FLAG> would otherwise be taken as it is."""
    value = _env(name, default) or default
    if value not in choices:
        variable = f"LAMINAR_{name.upper()}"
        raise SystemExit(f"laminar: {variable}={value!r} is not one of: {', '.join(c for c in choices if c)}")
    return value


def _add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", default=_env("host", "127.0.0.1"), help="address to listen on (default 127.0.0.1)")
    add(
        "--port",
        type=int,
        default=int(_env("port", str(DEFAULT_PORT)) or DEFAULT_PORT),
        help=f"port to listen on (default {DEFAULT_PORT})",
    )
    add(
        "--data-dir",
        type=Path,
        default=Path(_env("data_dir", "./laminar-data") or "./laminar-data"),
        help="directory for the catalog, the secret key and embedded broker logs",
    )
    add("--catalog", default=_env("catalog", "sqlite"), help="'sqlite' (default) or a postgresql:// URL")
    add(
        "--kafka",
        choices=["embedded", "none"],
        default=_env_choice("kafka", "none", ["embedded", "none"]),
        help="'embedded' starts the bundled Kafka-compatible broker on --kafka-port",
    )
    add(
        "--kafka-port",
        type=int,
        default=int(_env("kafka_port", str(DEFAULT_KAFKA_PORT)) or DEFAULT_KAFKA_PORT),
        help=f"port of the embedded broker (default {DEFAULT_KAFKA_PORT})",
    )
    add(
        "--auth",
        choices=[m.value for m in AuthMethod],
        default=_env_choice("auth", "", ["", *[m.value for m in AuthMethod]]) or None,
        help="client authentication method (default: scram-sha-256 when a password is set, else trust; "
        "trust is refused off loopback)",
    )
    add(
        "--allow-remote-trust",
        action="store_true",
        default=_env("allow_remote_trust") == "1",
        help="allow --auth trust on a non-loopback address (dangerous)",
    )
    add("--user", default=_env("user", "laminar"), help="bootstrap superuser name (default laminar)")
    add("--password", default=_env("password"), help="bootstrap superuser password (prefer LAMINAR_PASSWORD)")
    add("--tls-cert", type=Path, default=_env("tls_cert"), help="PEM certificate: enables TLS")
    add("--tls-key", type=Path, default=_env("tls_key"), help="PEM private key for --tls-cert")
    add(
        "--max-message-size",
        type=int,
        default=int(_env("max_message_size", str(64 * 1024 * 1024)) or 0),
        help="largest protocol message accepted, in bytes",
    )
    add(
        "--metrics-port",
        type=int,
        default=int(_env("metrics_port", "0") or 0),
        help="serve Prometheus metrics at http://HOST:PORT/metrics, on --host (default 0: off)",
    )
    add("--log-format", choices=["text", "json"], default=_env_choice("log_format", "text", ["text", "json"]))
    add("--log-level", default=_env("log_level", "INFO"))
    add(
        "--node-id",
        default=_env("node_id"),
        help="name of this node among the nodes sharing a catalog (default: made once and kept in "
        "the data directory)",
    )
    add(
        "--lease-timeout",
        type=float,
        default=float(_env("lease_timeout", str(LEASE_S)) or LEASE_S),
        help=f"seconds after which another node takes over the pipelines of a node that stopped "
        f"renewing them (default {LEASE_S:g})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="laminar", description="Laminar streaming-SQL gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start a gateway node")
    _add_serve_arguments(serve)
    sql = commands.add_parser("sql", help="run SQL against a running node (uses psql)")
    sql.add_argument("statement", nargs="?", help="SQL to run; omit to read --file")
    sql.add_argument("--file", "-f", type=Path)
    sql.add_argument(
        "--progress-interval",
        type=int,
        default=DEFAULT_PROGRESS_MS,
        metavar="MS",
        help="a statement still running reports its progress every MS milliseconds (0: never)",
    )
    status = commands.add_parser("status", help="the nodes and pipelines a node sees, with rows and lag")
    for sub in (sql, status):
        sub.add_argument("--host", default=_env("host", "127.0.0.1"))
        sub.add_argument("--port", type=int, default=int(_env("port", str(DEFAULT_PORT)) or DEFAULT_PORT))
        sub.add_argument("--user", default=_env("user", "laminar"))
    return parser


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _auth_config(args: argparse.Namespace, catalog: Catalog) -> AuthConfig:
    # Password users get SCRAM-SHA-256 unless another method is asked for by name.
    method = AuthMethod(args.auth or ("scram-sha-256" if args.password else "trust"))
    if method is AuthMethod.TRUST and not _is_loopback(args.host) and not args.allow_remote_trust:
        raise SystemExit(
            f"refusing --auth trust on non-loopback address {args.host}: use --auth scram-sha-256 "
            "with --password, or pass --allow-remote-trust if you really mean it"
        )
    users: dict[str, Credential] = {}
    if method is not AuthMethod.TRUST:
        if not args.password:
            raise SystemExit(f"--auth {method.value} needs a password: set LAMINAR_PASSWORD or --password")
        users[args.user] = Credential(make_scram_verifier(args.password), cleartext=args.password)

    async def catalog_user(name: str) -> Credential | None:
        record = await catalog.user(name)
        return None if record is None else Credential(record.scram_verifier)

    return AuthConfig(method, users, catalog_user)


def _catalog_store(args: argparse.Namespace) -> CatalogStore:
    if args.catalog == "sqlite":
        return SqliteStore(args.data_dir / "catalog.db")
    if args.catalog.startswith(("postgresql://", "postgres://")):
        return PostgresStore(args.catalog)
    raise SystemExit(f"--catalog must be 'sqlite' or a postgresql:// URL, not {args.catalog!r}")


def tune_garbage_collection() -> None:
    """Fewer, cheaper cyclic garbage collections for a process that makes millions of short-lived
    objects (records, rows, tuples) which reference counting already frees.

    With CPython's default gen-0 threshold (700 allocations) a pipeline moving 300k records/s
    triggers hundreds of collections a second, each also walking older generations that grow
    with every live micro-batch; bench/pipeline.py measured a third of the gateway's time there.
    ``gc.freeze()`` moves everything allocated at start-up (modules, the catalog, DuckDB
    bindings) out of the collector's sight, and a gen-0 threshold of 20,000 makes collections
    rare; cycles are still collected, only later.
    """
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 50, 100)


def _node_id(data_dir: Path) -> str:
    """This node's name when --node-id is not given: made once per data directory and kept in it,
    so a restarted node is the same node and takes its pipelines' leases back at once."""
    path = data_dir / "node-id"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    name = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
    path.write_text(name + "\n", encoding="utf-8")
    return name


async def _serve(args: argparse.Namespace) -> None:
    args.data_dir.mkdir(parents=True, exist_ok=True)
    tune_garbage_collection()
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("--tls-cert and --tls-key go together")
    store = _catalog_store(args)
    await store.open()
    catalog = Catalog(store, SecretBox.for_data_dir(args.data_dir))
    sinks = SinkRegistry(catalog)
    node = args.node_id or _node_id(args.data_dir)
    supervisor = Supervisor(catalog, sinks, node=node, lease_s=args.lease_timeout)
    config = ConnectionConfig(
        auth=_auth_config(args, catalog),
        tls=tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None,
        max_message_size=args.max_message_size,
        catalog=catalog,
        sinks=sinks,
        pipelines=supervisor,
    )
    broker = None
    if args.kafka == "embedded":
        broker = EmbeddedBroker("127.0.0.1", args.kafka_port, args.data_dir / "broker.log")
        try:
            await broker.start()
        except RuntimeError as exc:
            raise SystemExit(f"laminar: {exc}") from None
    server = GatewayServer(args.host, args.port, config)
    metrics = None
    if args.metrics_port:
        metrics = MetricsServer(args.host, args.metrics_port, supervisor, sinks.metrics)
    try:
        await server.start()
        await supervisor.start()  # resumes every running pipeline from its committed offsets
        if metrics is not None:
            await metrics.start()
        print(
            f"Laminar is ready. Connect with:  psql -h {args.host} -p {args.port} -U {args.user} laminar"
            + (f"\nEmbedded Kafka broker: {broker.bootstrap_servers}" if broker else "")
            + (f"\nPrometheus metrics: {metrics.url}" if metrics else ""),
            flush=True,
        )
        await server.serve_until_stopped()
    finally:
        if metrics is not None:
            await metrics.stop()
        await server.stop()
        await supervisor.close()  # before the sinks and the broker they write to
        if broker is not None:
            await broker.stop()
        if config.sinks is not None:
            await config.sinks.close()
        await store.close()


def _psql(args: argparse.Namespace, extra: Sequence[str], *, progress_ms: int = 0) -> int:
    psql = shutil.which("psql")
    if psql is None:
        print("laminar sql needs psql (Debian package postgresql-client)", file=sys.stderr)
        return 2
    command = [psql, "-X", "-h", args.host, "-p", str(args.port), "-U", args.user, "-d", "laminar", *extra]
    env = dict(os.environ)
    if progress_ms > 0:
        # psql prints the server's progress NOTICEs to stderr as they come (gateway/progress.py)
        env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c {PROGRESS_SETTING}={progress_ms}".strip()
    return subprocess.call(command, env=env)  # noqa: S603 - arguments are passed as a list, no shell


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        configure_logging(args.log_format, args.log_level)
        if uvloop is not None:
            uvloop.run(_serve(args))
        else:
            asyncio.run(_serve(args))
        return 0
    if args.command == "sql":
        source = ["-c", args.statement] if args.statement else ["-f", str(args.file)] if args.file else None
        if source is not None:
            return _psql(args, ["-v", "ON_ERROR_STOP=1", *source], progress_ms=args.progress_interval)
        print("laminar sql: give a statement or --file", file=sys.stderr)
        return 2
    return _psql(args, ["-P", "footer=off", *[arg for query in STATUS_QUERIES for arg in ("-c", query)]])
