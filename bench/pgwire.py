"""Benchmark the Laminar pgwire path against a throwaway PostgreSQL 15, both driven by pgbench.

This is a benchmark, not a test: run it from the repo root with
`.venv/bin/python bench/pgwire.py [--seconds 10] [--clients 4] [--threads 2] [--json PATH]`.
It starts a private PostgreSQL cluster (initdb in a temp dir, trust auth, loopback only, fsync=off,
synchronous_commit=off, full_page_writes=off: the workload is read-only, so durability settings only
matter for start-up) and a `python -m gateway serve` subprocess, runs `SELECT 1;` (bench/select1.sql)
through pgbench in simple and extended query mode against each, and prints TPS and the Laminar/PostgreSQL
ratio next to its target. Both servers and the temp dir are removed afterwards, also on error or Ctrl-C.
The exit code is 0 whatever the figures are; it is non-zero only when something failed to run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.machine import machine_facts  # noqa: E402 - needs the repo root on sys.path
from tests.fixtures.gateway import (  # noqa: E402 - needs the repo root on sys.path
    GatewayEndpoint,
    free_port,
    running_gateway,
    wait_for_port,
)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PGBENCH = "/usr/bin/pgbench"
SCRIPT = REPO_ROOT / "bench" / "select1.sql"
MODES = ("simple", "extended")
TARGET_RATIO = 0.15
TPS_LINE = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)$", re.MULTILINE)
FAILED_LINE = re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE)


class BenchError(RuntimeError):
    """Something needed for the benchmark did not run; the message says what and shows its output."""


@dataclass(frozen=True)
class Target:
    """One server under benchmark: how pgbench reaches it and where its log is."""

    name: str
    endpoint: GatewayEndpoint
    log_path: Path


@dataclass(frozen=True)
class Result:
    """TPS of both servers for one pgbench query mode."""

    mode: str
    postgres_tps: float
    laminar_tps: float
    ratio: float
    target: float
    status: str


def as_postgres_user() -> list[str]:
    """Command prefix that runs PostgreSQL tools as `postgres` when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def run_checked(args: list[str], what: str) -> None:
    """Run a command to completion, raising BenchError with its output if it fails."""
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"{what} failed ({proc.returncode}): {' '.join(args)}\n{proc.stdout}{proc.stderr}")


@contextlib.contextmanager
def throwaway_postgres(root: Path) -> Iterator[Target]:
    """initdb + pg_ctl start a private cluster under root; stop it on the way out."""
    root.mkdir(mode=0o700)
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, log = root / "pgdata", root / "postgres.log"
    run_checked(
        [*as_postgres_user(), str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
         "-E", "UTF8", "--locale=C", "--no-sync"],
        "initdb",
    )  # fmt: skip
    port = free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    pg_ctl = [*as_postgres_user(), str(PG_BIN / "pg_ctl"), "-D", str(data)]
    try:
        try:
            run_checked([*pg_ctl, "-l", str(log), "-o", options, "-w", "-t", "60", "start"], "pg_ctl start")
        except BenchError as exc:
            raise BenchError(f"{exc}\n--- postgres log ---\n{tail(log)}") from exc
        wait_for_port("127.0.0.1", port, 30.0)
        endpoint = GatewayEndpoint(
            host="127.0.0.1", port=port, user="postgres", password=None, database="postgres"
        )
        yield Target("PostgreSQL", endpoint, log)
    finally:
        stopped = subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True, check=False)
        if stopped.returncode != 0 and (data / "postmaster.pid").exists():
            subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, check=False)


@contextlib.contextmanager
def laminar_gateway(root: Path) -> Iterator[Target]:
    """The real gateway (`python -m gateway serve`, trust auth) with its data dir under root."""
    data_dir = root / "laminar"
    with running_gateway(data_dir, auth="trust", user="laminar") as endpoint:
        yield Target("Laminar", endpoint, data_dir / "gateway.log")


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, or a note that there is none."""
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def pgbench_tps(target: Target, mode: str, seconds: int, clients: int, threads: int) -> float:
    """Run pgbench with bench/select1.sql against target and return its TPS (excluding connection time)."""
    ep = target.endpoint
    args = [
        PGBENCH, "-n", "-f", str(SCRIPT), "-c", str(clients), "-j", str(threads), "-T", str(seconds),
        "-M", mode, "-h", ep.host, "-p", str(ep.port), "-U", ep.user, ep.database,
    ]  # fmt: skip
    try:
        proc = subprocess.run(
            args, env=ep.libpq_env(), capture_output=True, text=True, timeout=seconds + 120, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"pgbench against {target.name} hung: {' '.join(args)}") from exc
    match = TPS_LINE.search(proc.stdout)
    failed = FAILED_LINE.search(proc.stdout)
    if proc.returncode != 0 or match is None or (failed is not None and int(failed.group(1)) > 0):
        raise BenchError(
            f"pgbench -M {mode} against {target.name} failed ({proc.returncode}): {' '.join(args)}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}\n"
            f"--- {target.name} log ---\n{tail(target.log_path)}"
        )
    return float(match.group(1))


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    return {
        **machine_facts(),
        "pgbench": subprocess.run(
            [PGBENCH, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }


def benchmark(args: argparse.Namespace, root: Path) -> list[Result]:
    """Start both servers, warm each up, then measure every mode against each."""
    with throwaway_postgres(root / "pg") as postgres, laminar_gateway(root) as laminar:
        for target in (postgres, laminar):
            print(f"warm-up: {target.name} on port {target.endpoint.port} ({args.warmup}s)", flush=True)
            pgbench_tps(target, "simple", args.warmup, args.clients, args.threads)
        results = []
        for mode in MODES:
            tps = {}
            for target in (postgres, laminar):
                print(f"measuring: {target.name} -M {mode} ({args.seconds}s)", flush=True)
                tps[target.name] = pgbench_tps(target, mode, args.seconds, args.clients, args.threads)
            ratio = tps["Laminar"] / tps["PostgreSQL"]
            status = "PASS" if ratio >= args.target else "BELOW"
            results.append(Result(mode, tps["PostgreSQL"], tps["Laminar"], ratio, args.target, status))
        return results


def print_report(info: dict[str, str], args: argparse.Namespace, results: list[Result]) -> None:
    """The machine, the settings and one table row per query mode."""
    print(f"\nmachine: nproc={info['nproc']}, cpu={info['cpu']}, python={info['python']}, {info['pgbench']}")
    print(f"pgbench: SELECT 1, -c {args.clients} -j {args.threads} -T {args.seconds}, loopback TCP, no TLS")
    header = f"{'mode':<10}{'PostgreSQL TPS':>16}{'Laminar TPS':>14}{'ratio':>8}{'target':>9}  status"
    print(header)
    print("-" * len(header))
    for r in results:
        target = f">= {r.target}"
        print(
            f"{r.mode:<10}{r.postgres_tps:>16.1f}{r.laminar_tps:>14.1f}{r.ratio:>8.3f}{target:>9}  {r.status}"
        )
    below = [r.mode for r in results if r.status == "BELOW"]
    if below:
        print(f"\nBELOW TARGET: Laminar/PostgreSQL ratio < {args.target} in mode(s): {', '.join(below)}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=10, help="pgbench -T per measured run")
    parser.add_argument("--clients", type=int, default=4, help="pgbench -c")
    parser.add_argument("--threads", type=int, default=2, help="pgbench -j")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server")
    parser.add_argument("--target", type=float, default=TARGET_RATIO, help="minimum Laminar/PostgreSQL ratio")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (whatever the figures), 1 when something failed to run."""
    args = parse_args(argv)
    os.chdir(REPO_ROOT)  # `python -m gateway` must find the package: it is not installed in the venv
    info = machine()
    root = Path(tempfile.mkdtemp(prefix="laminar-bench-"))
    root.chmod(0o711)  # the postgres OS user must reach its cluster directory inside
    try:
        results = benchmark(args, root)
    except (BenchError, RuntimeError, TimeoutError) as exc:
        print(f"benchmark failed to run: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_report(info, args, results)
    if args.json is not None:
        settings = {"seconds": args.seconds, "clients": args.clients, "threads": args.threads}
        payload = {"machine": info, "settings": settings, "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
