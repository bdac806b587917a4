"""compose/: the Docker Compose stack, checked without Docker (which cannot run where tests run).

The compose file is parsed with PyYAML and its ``${VAR}`` references are resolved the way
``docker compose`` resolves them. Each gateway node's effective ``laminar serve`` invocation (the
image's ENV, the service's environment and its command) is run through the CLI's own argparse
parser, ``gateway.cli.build_parser()`` (what ``laminar serve --help`` prints), so a flag or
``LAMINAR_*`` variable the CLI does not know fails here. Ports, service names, the catalog URL,
the Kafka listeners, the registry address, ``compose/example.sql`` and the Dockerfile are checked
against each other.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shlex
import tomllib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlglot import exp

from catalog.options import validate_connection_options
from catalog.postgres_store import PostgresStore
from catalog.secret_box import KEY_ENV
from gateway import cli
from gateway.sql import statements as st
from gateway.sql.dialect import parse

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
EXAMPLE_SQL = COMPOSE_DIR / "example.sql"
GATEWAYS = ("gateway-1", "gateway-2")
POSTGRES_PORT = 5432  # the postgres image's port; the service sets no PGPORT

# Values for the variables compose/.env must provide (the README says how to generate them).
SAMPLE_ENV = {
    "LAMINAR_PASSWORD": "gateway-password",
    "LAMINAR_SECRET_KEY": "x2GTNyOqZqVGNDcUGkL-7ZyuLTvJbmKpk5ouG1c5Yw8=",
    "POSTGRES_PASSWORD": "catalog-password",
}
# LAMINAR_* variables that are not `laminar serve` flags, and who reads them.
NON_FLAG_LAMINAR_VARIABLES = {KEY_ENV: "catalog.secret_box: the Fernet key of CREATE SECRET values"}
# Other variables a gateway container may set, and who reads them.
OTHER_GATEWAY_VARIABLES = {"PGPASSWORD": "asyncpg: the catalog password the --catalog URL leaves out"}

_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Resolve ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``
    and ``$$`` as docker compose does; an unset required variable raises KeyError."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3) or ""
        value = env.get(name)
        empty_counts_as_unset = operator is not None and operator.startswith(":")
        unset = value is None or (empty_counts_as_unset and value == "")
        if operator is not None and operator.endswith("?") and unset:
            raise KeyError(f"{name}: {argument}")
        if operator is not None and operator.endswith("-") and unset:
            return argument
        return value or ""

    return _REFERENCE.sub(replace, text)


def resolve(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [resolve(item, env) for item in node]
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    return node


def required_variables(node: Any) -> set[str]:
    """Names used as ``${VAR:?...}`` anywhere in the (unresolved) compose file."""
    if isinstance(node, str):
        return {m.group(1) for m in _REFERENCE.finditer(node) if m.group(1) and m.group(2) == ":?"}
    if isinstance(node, list):
        return set().union(*(required_variables(item) for item in node))
    if isinstance(node, dict):
        return set().union(*(required_variables(value) for value in node.values()))
    return set()


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment as a dict (compose accepts a mapping or a list of KEY=VALUE)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


@dataclass(frozen=True)
class Dockerfile:
    instructions: list[tuple[str, str]]

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        logical: list[str] = []
        pending = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("#") or not line.strip():
                continue
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            logical.append(pending + line)
            pending = ""
        assert not pending, "the Dockerfile ends inside a continued line"
        instructions = []
        for line in logical:
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), " ".join(rest.split())))
        return cls(instructions)

    def all(self, keyword: str) -> list[str]:
        return [rest for name, rest in self.instructions if name == keyword]

    def one(self, keyword: str) -> str:
        found = self.all(keyword)
        assert len(found) == 1, f"{keyword}: expected one instruction, found {found}"
        return found[0]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for rest in self.all("ENV"):
            for item in shlex.split(rest):
                name, equals, value = item.partition("=")
                assert equals, f"ENV {rest!r}: use the NAME=value form"
                values[name] = value
        return values


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def compose(raw_compose: dict[str, Any]) -> dict[str, Any]:
    resolved = resolve(raw_compose, SAMPLE_ENV)
    assert isinstance(resolved, dict)
    return resolved


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


@pytest.fixture(scope="module")
def dockerfile(services: dict[str, dict[str, Any]]) -> Dockerfile:
    build = services[GATEWAYS[0]]["build"]
    return Dockerfile.read(COMPOSE_DIR / build["context"] / build["dockerfile"])


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No LAMINAR_* variable of the test process leaks into the parser's defaults."""
    for name in list(os.environ):
        if name.startswith("LAMINAR_"):
            monkeypatch.delenv(name)
    return monkeypatch


def serve_parser() -> argparse.ArgumentParser:
    """The ``serve`` sub-parser of ``laminar``: what ``laminar serve --help`` prints."""
    for action in cli.build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            parser = action.choices["serve"]
            assert isinstance(parser, argparse.ArgumentParser)
            return parser
    raise AssertionError("laminar has no serve command")


def serve_options() -> dict[str, argparse.Action]:
    return {
        option: action
        for action in serve_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }


def flag_of(variable: str) -> str:
    """LAMINAR_DATA_DIR -> --data-dir (the CLI's rule: every serve flag is LAMINAR_<FLAG>)."""
    return "--" + variable.removeprefix("LAMINAR_").lower().replace("_", "-")


def container_env(service: Mapping[str, Any], dockerfile: Dockerfile) -> dict[str, str]:
    """What the gateway process sees: the image's ENV overlaid by the service's environment."""
    return {**dockerfile.env(), **environment(service)}


def effective_args(
    service: Mapping[str, Any], dockerfile: Dockerfile, monkeypatch: pytest.MonkeyPatch
) -> argparse.Namespace:
    """Parse a gateway service's ``laminar <command>`` with its container environment set."""
    for name, value in container_env(service, dockerfile).items():
        monkeypatch.setenv(name, value)
    try:
        return cli.build_parser().parse_args(service["command"])
    finally:
        for name in container_env(service, dockerfile):
            monkeypatch.delenv(name)


def published(service: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """(host address, host port, container port) of each ``ports`` entry."""
    entries = []
    for entry in service.get("ports", []):
        parts = str(entry).split(":")
        address = parts[0] if len(parts) == 3 else "0.0.0.0"  # no address: every interface
        entries.append((address, int(parts[-2]), int(parts[-1].split("/")[0])))
    return entries


def host_port(address: str) -> tuple[str, int]:
    """'PLAINTEXT://kafka:9092' or 'kafka:9092' or 'http://h:1' -> (host, port)."""
    parsed = urllib.parse.urlsplit(address if "://" in address else f"//{address}")
    assert parsed.hostname is not None, address
    assert parsed.port is not None, address
    return parsed.hostname, parsed.port


def kafka_listeners(kafka: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, tuple[str, int]]]:
    """The broker's listeners (name -> port) and advertised listeners (name -> (host, port))."""
    env = environment(kafka)
    listeners = {}
    for item in env["KAFKA_LISTENERS"].split(","):
        name, _, address = item.partition("://")
        listeners[name] = int(address.rsplit(":", 1)[1])
    advertised = {}
    for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","):
        name, _, address = item.partition("://")
        advertised[name] = host_port(address)
    return listeners, advertised


def example_statements() -> list[st.Statement]:
    return [st.classify(tree) for tree in parse(EXAMPLE_SQL.read_text(encoding="utf-8"))]


def test_the_stack_has_kafka_a_registry_postgres_and_two_gateways(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) == {"kafka", "schema-registry", "postgres", *GATEWAYS}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["schema-registry"]["image"].startswith("confluentinc/cp-schema-registry:")
    assert services["postgres"]["image"].startswith("postgres:")
    for name in GATEWAYS:
        build = services[name]["build"]
        assert (COMPOSE_DIR / build["context"]).resolve() == ROOT
        assert (COMPOSE_DIR / build["context"] / build["dockerfile"]).resolve() == COMPOSE_DIR / "Dockerfile"


def test_kafka_runs_in_kraft_mode(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]
    env = environment(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in name for name in env)
    assert not any("zookeeper" in (service.get("image") or "") for service in services.values())
    listeners, advertised = kafka_listeners(kafka)
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(listeners) <= set(protocols)
    assert set(advertised) <= set(listeners)
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert controller in listeners
    assert controller not in advertised
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert voters == [f"{env['KAFKA_NODE_ID']}@kafka:{listeners[controller]}"]
    assert kafka.get("hostname", "kafka") == "kafka"
    # One broker: the internal topics cannot ask for more replicas.
    for setting in ("OFFSETS_TOPIC_REPLICATION_FACTOR", "TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert env[f"KAFKA_{setting}"] == "1"
    assert any(mount.endswith(":" + env["KAFKA_LOG_DIRS"]) for mount in kafka["volumes"])


def test_every_gateway_flag_is_in_laminar_serve_help(
    services: dict[str, dict[str, Any]], dockerfile: Dockerfile, clean_environ: pytest.MonkeyPatch
) -> None:
    options = serve_options()
    help_text = serve_parser().format_help()
    for name in GATEWAYS:
        command = services[name]["command"]
        assert command[0] == "serve", (
            f"{name}: the image's entrypoint is `laminar`; the command starts with serve"
        )
        flags = [token.split("=", 1)[0] for token in command if token.startswith("-")]
        assert flags, f"{name} passes no flag"
        for flag in flags:
            assert flag in options, f"{name}: `laminar serve` has no {flag} (argparse would take a prefix)"
            assert flag in help_text
        assert "--catalog" in flags
        effective_args(services[name], dockerfile, clean_environ)  # argparse exits on a bad value


def test_every_laminar_variable_reaches_the_cli(
    services: dict[str, dict[str, Any]], dockerfile: Dockerfile, clean_environ: pytest.MonkeyPatch
) -> None:
    options = serve_options()
    help_text = serve_parser().format_help()
    for name in GATEWAYS:
        env = container_env(services[name], dockerfile)
        laminar = {key: value for key, value in env.items() if key.startswith("LAMINAR_")}
        others = {key for key in environment(services[name]) if not key.startswith("LAMINAR_")}
        assert others <= set(OTHER_GATEWAY_VARIABLES), f"{name}: unexplained variables {others}"
        image_only = {key for key in dockerfile.env() if not key.startswith("LAMINAR_")}
        assert all(key.startswith(("PYTHON", "PIP_")) for key in image_only), image_only
        flag_variables = {
            key: value for key, value in laminar.items() if key not in NON_FLAG_LAMINAR_VARIABLES
        }
        for variable, value in flag_variables.items():
            assert flag_of(variable) in options, f"{name}: {variable} is no `laminar serve` flag"
            assert flag_of(variable) in help_text
            # argparse checks `choices` for command-line values only, not for defaults read from
            # the environment, so a misspelt LAMINAR_KAFKA or LAMINAR_LOG_FORMAT passes it silently.
            choices = options[flag_of(variable)].choices
            if choices is not None:
                assert value in choices, f"{name}: {variable}={value!r} is not one of {list(choices)}"
        # Set them all and parse a bare `serve`: each value must come out as the flag's value.
        for variable, value in flag_variables.items():
            clean_environ.setenv(variable, value)
        args = cli.build_parser().parse_args(["serve"])
        for variable, value in flag_variables.items():
            parsed = getattr(args, options[flag_of(variable)].dest)
            if isinstance(parsed, bool):
                assert parsed is (value == "1"), variable
            else:
                assert str(parsed) == value, f"{variable}={value!r} read as {parsed!r}"
        for variable in flag_variables:
            clean_environ.delenv(variable)


def test_secrets_come_from_required_variables(raw_compose: dict[str, Any]) -> None:
    """No password or key is written in the file; the README tells how to provide each."""
    required = required_variables(raw_compose)
    assert required == set(SAMPLE_ENV)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running with Docker Compose", 1)[1].split("\n## ", 1)[0]
    for variable in required:
        assert variable in section, f"README's compose section does not mention {variable}"
    with pytest.raises(KeyError, match="LAMINAR_PASSWORD"):
        resolve(raw_compose, {key: value for key, value in SAMPLE_ENV.items() if key != "LAMINAR_PASSWORD"})
    raw_services = raw_compose["services"]
    secret_names = (*SAMPLE_ENV, *OTHER_GATEWAY_VARIABLES)
    for name, service in raw_services.items():
        for key, value in environment(service).items():
            if key in secret_names:
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", value), f"{name}: {key} is written in the file"


def test_gateways_listen_everywhere_with_password_auth(
    compose: dict[str, Any],
    services: dict[str, dict[str, Any]],
    dockerfile: Dockerfile,
    clean_environ: pytest.MonkeyPatch,
) -> None:
    node_ids = []
    data_volumes = []
    for name in GATEWAYS:
        args = effective_args(services[name], dockerfile, clean_environ)
        assert args.host == "0.0.0.0"
        # trust is refused off loopback (cli._auth_config); a password method needs the password.
        assert args.auth == "scram-sha-256"
        assert args.password == SAMPLE_ENV["LAMINAR_PASSWORD"]
        assert not args.allow_remote_trust
        assert args.kafka == "none"  # the compose Kafka, not the embedded broker
        env = container_env(services[name], dockerfile)
        assert env[KEY_ENV] == SAMPLE_ENV[KEY_ENV]  # one key for every node of the catalog
        mounts = [volume for volume in services[name]["volumes"] if volume.endswith(f":{args.data_dir}")]
        assert len(mounts) == 1, f"{name}: --data-dir {args.data_dir} is not a volume"
        data_volumes.append(mounts[0].split(":")[0])
        node_ids.append(args.node_id)
    assert len(set(node_ids)) == len(GATEWAYS)
    assert None not in node_ids
    assert len(set(data_volumes)) == len(GATEWAYS)
    assert set(data_volumes) <= set(compose["volumes"])  # named volumes, declared at the top level


def test_the_catalog_url_names_the_postgres_service(
    services: dict[str, dict[str, Any]], dockerfile: Dockerfile, clean_environ: pytest.MonkeyPatch
) -> None:
    postgres = environment(services["postgres"])
    assert "PGPORT" not in postgres
    urls = set()
    for name in GATEWAYS:
        args = effective_args(services[name], dockerfile, clean_environ)
        url = urllib.parse.urlsplit(args.catalog)
        assert url.scheme == "postgresql"
        assert url.hostname == "postgres"
        assert url.hostname in services
        assert url.port == POSTGRES_PORT
        assert url.username == postgres["POSTGRES_USER"]
        assert url.path == "/" + postgres["POSTGRES_DB"]
        assert url.password is None  # the password is PGPASSWORD, not on the command line
        assert container_env(services[name], dockerfile)["PGPASSWORD"] == postgres["POSTGRES_PASSWORD"]
        assert isinstance(cli._catalog_store(args), PostgresStore)
        assert "postgres" in services[name]["depends_on"]
        urls.add(args.catalog)
    assert len(urls) == 1, "the nodes must share one catalog"


def test_depends_on_names_services_that_report_health(
    services: dict[str, dict[str, Any]], dockerfile: Dockerfile
) -> None:
    def has_healthcheck(name: str) -> bool:
        service = services[name]
        if "healthcheck" in service:
            return not service["healthcheck"].get("disable", False)
        return "build" in service and bool(dockerfile.all("HEALTHCHECK"))

    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert target != name
            if rule.get("condition") == "service_healthy":
                assert has_healthcheck(target), f"{name} waits for {target}, which has no healthcheck"
    for name in services:
        assert has_healthcheck(name), f"{name} has no healthcheck"
    # No cycle: start order exists.
    order: list[str] = []
    pending = dict(services)
    while pending:
        ready = [n for n, s in pending.items() if set(s.get("depends_on") or {}) <= set(order)]
        assert ready, f"depends_on cycle among {sorted(pending)}"
        order += ready
        for n in ready:
            del pending[n]


def test_published_ports_are_loopback_unique_and_match_what_listens(
    services: dict[str, dict[str, Any]], dockerfile: Dockerfile, clean_environ: pytest.MonkeyPatch
) -> None:
    host_ports = [port for service in services.values() for _, port, _ in published(service)]
    assert len(host_ports) == len(set(host_ports)), f"host ports clash: {host_ports}"
    for name, service in services.items():
        for address, _, _ in published(service):
            assert address == "127.0.0.1", f"{name} publishes on {address}"
    exposed = {int(port.split("/")[0]) for rest in dockerfile.all("EXPOSE") for port in rest.split()}
    for name in GATEWAYS:
        args = effective_args(services[name], dockerfile, clean_environ)
        # The SQL port, and the metrics port when the node serves /metrics.
        wanted = [args.port] + ([args.metrics_port] if args.metrics_port else [])
        assert [container for _, _, container in published(services[name])] == wanted
        assert exposed == {args.port} == {cli.DEFAULT_PORT}
    registry = services["schema-registry"]
    _, registry_port = host_port(environment(registry)["SCHEMA_REGISTRY_LISTENERS"])
    assert [container for _, _, container in published(registry)] == [registry_port]
    assert registry["healthcheck"]["test"][-1] == f"http://127.0.0.1:{registry_port}/subjects"
    # Kafka: the published port is a listener that advertises exactly that host address.
    listeners, advertised = kafka_listeners(services["kafka"])
    for _, host, container in published(services["kafka"]):
        names = [listener for listener, port in listeners.items() if port == container]
        assert len(names) == 1
        assert advertised[names[0]] == ("127.0.0.1", host)
    assert "postgres" not in {name for name, service in services.items() if published(service)}


def internal_bootstrap(services: dict[str, dict[str, Any]]) -> str:
    """The address containers use for Kafka: the inter-broker listener, advertised as kafka:PORT."""
    env = environment(services["kafka"])
    host, port = kafka_listeners(services["kafka"])[1][env["KAFKA_INTER_BROKER_LISTENER_NAME"]]
    assert host == "kafka"
    assert host in services
    return f"{host}:{port}"


def test_the_registry_and_its_healthcheck_reach_kafka(services: dict[str, dict[str, Any]]) -> None:
    bootstrap = internal_bootstrap(services)
    registry = environment(services["schema-registry"])
    store = registry["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"]
    assert [f"{h}:{p}" for h, p in map(host_port, store.split(","))] == [bootstrap]
    assert registry["SCHEMA_REGISTRY_HOST_NAME"] == "schema-registry"
    assert "kafka" in services["schema-registry"]["depends_on"]
    healthcheck = services["kafka"]["healthcheck"]["test"]
    assert healthcheck[healthcheck.index("--bootstrap-server") + 1] == bootstrap
    for name in GATEWAYS:
        assert {"kafka", "schema-registry"} <= set(services[name]["depends_on"])


def test_example_sql_is_valid_laminar_addressed_to_the_compose_services(
    services: dict[str, dict[str, Any]],
) -> None:
    statements = example_statements()
    secrets = {s.name for s in statements if isinstance(s, st.SecretStatement)}
    connections = [s for s in statements if isinstance(s, st.CreateConnectionStatement)]
    pipelines = [s for s in statements if isinstance(s, st.CreatePipelineStatement)]
    assert connections
    assert pipelines
    bootstrap = internal_bootstrap(services)
    _, registry_port = host_port(environment(services["schema-registry"])["SCHEMA_REGISTRY_LISTENERS"])
    registry_used = False
    for connection in connections:
        validated = validate_connection_options(
            connection.options,
            secret_exists=lambda name: name in secrets,
            columns=[column for column, _ in connection.columns],
        )
        assert validated.values["bootstrap_servers"] == (bootstrap,), connection.name
        endpoint = validated.values.get("schema_registry.endpoint")
        if endpoint is not None:
            assert endpoint == f"http://schema-registry:{registry_port}", connection.name
            registry_used = True
    assert registry_used, "example.sql should show the Schema Registry"
    declared = {c.name for c in connections}
    for pipeline in pipelines:
        for insert in pipeline.inserts:
            assert insert.target in declared
            tables = {table.name for table in insert.query.find_all(exp.Table)}
            assert tables <= declared, f"{pipeline.name} reads {tables - declared}"


def test_dockerfile_builds_a_non_root_image_with_a_healthcheck(
    dockerfile: Dockerfile, services: dict[str, dict[str, Any]]
) -> None:
    assert dockerfile.one("FROM") == "python:3.11-slim"
    user = dockerfile.all("USER")[-1]
    assert user not in {"root", "0"}
    assert not user.startswith(("root:", "0:"))
    runs = " ".join(dockerfile.all("RUN"))
    assert "pip install ." in runs
    assert "postgresql-client" in runs  # provides pg_isready
    assert re.search(r"useradd .*\b" + re.escape(user) + r"\b", runs)
    # The build context holds what `pip install .` needs: pyproject, README and every package.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {
        pattern.rstrip("*") for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = set()
    for rest in dockerfile.all("COPY"):
        sources = shlex.split(rest)[:-1]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the build context"
            copied.add(source)
    assert {"pyproject.toml", pyproject["project"]["readme"], *packages} <= copied
    ignored = [
        line.strip()
        for line in (COMPOSE_DIR / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for source in copied:
        for pattern in ignored:
            assert not fnmatch.fnmatch(source, pattern.removeprefix("**/")), (
                f"{source} is ignored by {pattern}"
            )
    # ENTRYPOINT is the console script pyproject installs.
    assert dockerfile.one("ENTRYPOINT") == '["laminar"]'
    assert "laminar" in pyproject["project"]["scripts"]
    # The healthcheck asks the gateway's own port on loopback.
    healthcheck = dockerfile.one("HEALTHCHECK")
    assert " CMD " in f" {healthcheck} "
    command = shlex.split(healthcheck.split(" CMD ", 1)[1])
    assert command[0] == "pg_isready"
    image_env = dockerfile.env()
    host = command[command.index("--host") + 1]
    port = int(interpolate(command[command.index("--port") + 1], image_env))
    assert host == "127.0.0.1"
    exposed = {int(p.split("/")[0]) for rest in dockerfile.all("EXPOSE") for p in rest.split()}
    assert exposed == {port} == {int(image_env["LAMINAR_PORT"])}
    # ...also when a service's environment overrides the port.
    for name in GATEWAYS:
        env = {**image_env, **environment(services[name])}
        assert int(interpolate(command[command.index("--port") + 1], env)) == int(env["LAMINAR_PORT"])


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("$$SET ${SET} $SET", env) == "$SET v v"
    assert interpolate("${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d}", env) == "d d  d"
    assert interpolate("${SET:?msg}", env) == "v"
    with pytest.raises(KeyError, match="EMPTY: needed"):
        interpolate("${EMPTY:?needed}", env)
