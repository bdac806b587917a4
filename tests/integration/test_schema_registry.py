"""The Schema Registry client against the Confluent-API test server, over real HTTP on loopback.

Round trips (register -> id, latest, by_id), id reuse across subjects, what the client caches
(counted at the server), basic auth (right, wrong, missing credentials; the secret never appears in
an error), the registry's 403/404/409/422 answers as SQLSTATEs naming the subject or id, the
verbose compatibility messages, retries of 503 answers, timeouts and refused connections ending in
a retriable 08006. The fixture itself is checked too: its status codes and error bodies are the ones
the Confluent API reference documents, since other tests rely on it standing in for the registry.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import fastavro
import pytest

from formats.schema_registry import (
    CONTENT_TYPE,
    RegisteredSchema,
    SchemaRegistryAuthError,
    SchemaRegistryClient,
    SchemaRegistryConfigError,
    SchemaRegistryError,
    SchemaRegistryIncompatible,
    SchemaRegistryInvalidSchema,
    SchemaRegistryNotFound,
    SchemaRegistryTlsError,
    SchemaRegistryUnavailable,
)
from gateway.errors import error_fields
from tests.fixtures.consume import unique
from tests.fixtures.gateway import free_port
from tests.fixtures.schema_registry import SchemaRegistryServer, running_schema_registry

pytestmark = pytest.mark.integration

USER = "sr-user"
SECRET = "s3cr3t-registry-pass"


def avro_record(name: str, *fields: dict[str, object]) -> str:
    return json.dumps({"type": "record", "name": name, "namespace": "com.example", "fields": list(fields)})


ORDER_V1 = avro_record("Order", {"name": "id", "type": "long"}, {"name": "item", "type": "string"})
ORDER_V2_DEFAULT = avro_record(
    "Order",
    {"name": "id", "type": "long"},
    {"name": "item", "type": "string"},
    {"name": "qty", "type": ["null", "int"], "default": None},
)
ORDER_V2_NO_DEFAULT = avro_record(
    "Order",
    {"name": "id", "type": "long"},
    {"name": "item", "type": "string"},
    {"name": "qty", "type": "int"},
)
PROTO = """syntax = "proto3";
package com.example;

message Event {
  string id = 1;
  int64 ts = 2;
}
"""


@pytest.fixture(scope="module")
def registry() -> Iterator[SchemaRegistryServer]:
    with running_schema_registry() as server:
        yield server


@pytest.fixture(scope="module")
def secured_registry() -> Iterator[SchemaRegistryServer]:
    with running_schema_registry(username=USER, password=SECRET) as server:
        yield server


def client_for(url: str, **options: object) -> SchemaRegistryClient:
    settings: dict[str, object] = {"backoff_s": 0.0, "timeout_s": 5.0}
    settings.update(options)
    return SchemaRegistryClient(url, **settings)  # type: ignore[arg-type]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def all_text(exc: SchemaRegistryError) -> str:
    """Everything a client of the gateway could see of the error."""
    return " ".join(error_fields(exc).values()) + " " + str(exc)


# --- round trips ------------------------------------------------------------------------------
async def test_register_latest_by_id_round_trip(registry: SchemaRegistryServer) -> None:
    subject = unique("orders-value")
    async with client_for(registry.url) as client:
        schema_id = await client.register(subject, ORDER_V1, "AVRO")
        latest = await client.latest(subject)
        assert latest.id == schema_id
        assert latest.subject == subject
        assert latest.version == 1
        assert latest.schema_type == "AVRO"
        assert latest.references == ()
        # The registry answers its own (compact) text; it is the same schema.
        assert json.loads(latest.schema) == json.loads(ORDER_V1)
        fastavro.parse_schema(json.loads(latest.schema))
        by_id = await client.by_id(schema_id)
        assert by_id == RegisteredSchema(schema_id, "AVRO", latest.schema)

    assert registry.subjects[subject] == [schema_id]
    stored = registry.schemas[schema_id]
    assert stored.schema_type == "AVRO"
    assert json.loads(stored.schema) == json.loads(ORDER_V1)


async def test_protobuf_round_trip(registry: SchemaRegistryServer) -> None:
    subject = unique("events-value")
    async with client_for(registry.url) as client:
        schema_id = await client.register(subject, PROTO, "protobuf")
        latest = await client.latest(subject)
        assert (latest.id, latest.schema_type, latest.schema) == (schema_id, "PROTOBUF", PROTO)
        assert await client.by_id(schema_id) == RegisteredSchema(schema_id, "PROTOBUF", PROTO)
    assert registry.schemas[schema_id].schema_type == "PROTOBUF"


async def test_references_round_trip(registry: SchemaRegistryServer) -> None:
    """An Avro schema using a named type registered under another subject."""
    base = unique("money")
    subject = unique("payments-value")
    money = json.dumps(
        {
            "type": "record",
            "name": "Money",
            "namespace": "com.example",
            "fields": [{"name": "cents", "type": "long"}],
        }
    )
    payment = avro_record("Payment", {"name": "amount", "type": "com.example.Money"})
    async with client_for(registry.url) as client:
        await client.register(base, money, "AVRO")
        schema_id = await client.register(
            subject, payment, "AVRO", references=[("com.example.Money", base, 1)]
        )
        fetched = await client.by_id(schema_id)
        assert fetched.references == (("com.example.Money", base, 1),)
        latest = await client.latest(subject)
        assert latest.references == (("com.example.Money", base, 1),)
        with pytest.raises(SchemaRegistryInvalidSchema):  # without the reference the type is unknown
            await client.register(unique("payments-value"), payment, "AVRO")


async def test_same_schema_same_id_across_subjects(registry: SchemaRegistryServer) -> None:
    first, second = unique("a-value"), unique("b-value")
    reformatted = json.dumps(json.loads(ORDER_V1), indent=4)
    async with client_for(registry.url) as client:
        schema_id = await client.register(first, ORDER_V1, "AVRO")
        assert await client.register(second, reformatted, "AVRO") == schema_id
        assert await client.register(first, reformatted, "AVRO") == schema_id
        proto_id = await client.register(first + "-proto", PROTO, "PROTOBUF")
        assert proto_id != schema_id
    subjects = registry.subjects
    assert subjects[first] == [schema_id]  # registering the same schema again adds no version
    assert subjects[second] == [schema_id]


async def test_subject_names_are_escaped_in_urls(registry: SchemaRegistryServer) -> None:
    subject = unique("team a/orders?v=1#x")
    async with client_for(registry.url) as client:
        schema_id = await client.register(subject, ORDER_V1, "AVRO")
        latest = await client.latest(subject)
    assert (latest.subject, latest.id) == (subject, schema_id)
    assert registry.subjects[subject] == [schema_id]


# --- caching ----------------------------------------------------------------------------------
async def test_by_id_is_cached_and_shared_by_concurrent_callers(registry: SchemaRegistryServer) -> None:
    schema_id = registry.register(unique("cache-value"), avro_record("Cached", {"name": "x", "type": "int"}))
    path = f"/schemas/ids/{schema_id}"
    async with client_for(registry.url) as client:
        results = await asyncio.gather(*(client.by_id(schema_id) for _ in range(20)))
        assert len({r.schema for r in results}) == 1
        assert registry.request_count("GET", path) == 1
        await client.by_id(schema_id)
        assert registry.request_count("GET", path) == 1
    async with client_for(registry.url) as fresh:  # the cache belongs to the client
        await fresh.by_id(schema_id)
    assert registry.request_count("GET", path) == 2


async def test_register_is_cached_latest_is_not(registry: SchemaRegistryServer) -> None:
    subject = unique("cache2-value")
    versions_path = f"/subjects/{subject}/versions"
    async with client_for(registry.url) as client:
        ids = await asyncio.gather(*(client.register(subject, ORDER_V1, "AVRO") for _ in range(5)))
        await client.register(subject, ORDER_V1, "AVRO")
        assert len(set(ids)) == 1
        assert registry.request_count("POST", versions_path) == 1

        latest = await client.latest(subject)
        await client.latest(subject)
        assert registry.request_count("GET", versions_path + "/latest") == 2
        # latest() fills the id cache: decoding by that id costs nothing more.
        await client.by_id(latest.id)
        assert registry.request_count("GET", f"/schemas/ids/{latest.id}") == 0

        # A new version shows in latest() at once.
        registry.register(subject, ORDER_V2_DEFAULT)
        assert (await client.latest(subject)).version == 2


# --- authentication ---------------------------------------------------------------------------
async def test_basic_auth_accepted(secured_registry: SchemaRegistryServer) -> None:
    subject = unique("auth-value")
    async with client_for(secured_registry.url, api_key=USER, api_secret=SECRET) as client:
        schema_id = await client.register(subject, ORDER_V1, "AVRO")
        assert (await client.by_id(schema_id)).schema_type == "AVRO"


async def test_credentials_in_the_endpoint_url(secured_registry: SchemaRegistryServer) -> None:
    url = secured_registry.url.replace("http://", f"http://{USER}:{SECRET}@")
    async with client_for(url) as client:
        assert SECRET not in client.endpoint
        await client.register(unique("url-auth-value"), ORDER_V1, "AVRO")


async def test_wrong_secret_is_42501_without_the_secret(secured_registry: SchemaRegistryServer) -> None:
    subject = unique("auth-value")
    wrong = "wrong-" + SECRET
    before = secured_registry.request_count()
    async with client_for(secured_registry.url, api_key=USER, api_secret=wrong, retries=3) as client:
        with pytest.raises(SchemaRegistryAuthError) as caught:
            await client.register(subject, ORDER_V1, "AVRO")
    exc = caught.value
    assert exc.sqlstate == "42501"
    assert exc.retriable is False
    assert exc.status == 401
    assert f'subject "{subject}"' in exc.message
    assert secured_registry.url in exc.message
    assert "api_secret" in (exc.hint or "")
    assert wrong not in all_text(exc)
    assert SECRET not in all_text(exc)
    assert secured_registry.request_count() - before == 1  # 401 is final: no retries
    assert secured_registry.requests[-1].status == 401


async def test_missing_credentials_say_so(secured_registry: SchemaRegistryServer) -> None:
    async with client_for(secured_registry.url) as client:
        with pytest.raises(SchemaRegistryAuthError) as caught:
            await client.by_id(1)
    assert "requires credentials" in caught.value.message
    assert "schema_registry.api_key" in (caught.value.hint or "")
    assert error_fields(caught.value)["C"] == "42501"


async def test_forbidden_subject_is_42501(registry: SchemaRegistryServer) -> None:
    subject = unique("secret-subject-value")
    registry.forbid(subject)
    async with client_for(registry.url) as client:
        with pytest.raises(SchemaRegistryAuthError) as caught:
            await client.register(subject, ORDER_V1, "AVRO")
    assert caught.value.status == 403
    assert caught.value.error_code == 40301
    assert f'subject "{subject}"' in caught.value.message
    assert "denied" in (caught.value.detail or "")


# --- not found, invalid, incompatible ---------------------------------------------------------
async def test_unknown_subject_is_42704(registry: SchemaRegistryServer) -> None:
    subject = unique("nobody-value")
    async with client_for(registry.url) as client:
        with pytest.raises(SchemaRegistryNotFound) as caught:
            await client.latest(subject)
    exc = caught.value
    assert (exc.sqlstate, exc.status, exc.error_code) == ("42704", 404, 40401)
    assert f'subject "{subject}" not found' in exc.message
    assert exc.subject == subject


async def test_unknown_id_is_42704(registry: SchemaRegistryServer) -> None:
    async with client_for(registry.url) as client:
        with pytest.raises(SchemaRegistryNotFound) as caught:
            await client.by_id(987654)
    assert "schema id 987654 not found" in caught.value.message
    assert caught.value.error_code == 40403
    assert caught.value.schema_id == 987654


@pytest.mark.parametrize(
    ("schema", "schema_type"),
    [
        ('{"type": "record", "name": "Bad", "fields": [{"name": "x", "type": "nosuchtype"}]}', "AVRO"),
        ('{"type": "record", "name": "NoFields"}', "AVRO"),
        ("not json at all", "AVRO"),
        ("just some words", "PROTOBUF"),
    ],
)
async def test_invalid_schema_is_22023(registry: SchemaRegistryServer, schema: str, schema_type: str) -> None:
    subject = unique("invalid-value")
    async with client_for(registry.url) as client:
        with pytest.raises(SchemaRegistryInvalidSchema) as caught:
            await client.register(subject, schema, schema_type)
    exc = caught.value
    assert (exc.sqlstate, exc.status, exc.error_code) == ("22023", 422, 42201)
    assert f'subject "{subject}"' in exc.message
    assert "Invalid schema" in (exc.detail or "")
    assert subject not in registry.subjects


async def test_incompatible_schema_is_42804_with_the_registrys_reasons(
    registry: SchemaRegistryServer,
) -> None:
    subject = unique("evolve-value")
    async with client_for(registry.url) as client:
        first = await client.register(subject, ORDER_V1, "AVRO")

        compatible, messages = await client.is_compatible(subject, ORDER_V2_NO_DEFAULT, "AVRO")
        assert compatible is False
        assert messages[0].startswith("{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'")
        assert "The field 'qty' at path '/fields/2' in the new schema has no default value" in messages[0]
        assert "{oldSchemaVersion: 1}" in messages
        assert "{validateFields: 'false', compatibility: 'BACKWARD'}" in messages

        with pytest.raises(SchemaRegistryIncompatible) as caught:
            await client.register(subject, ORDER_V2_NO_DEFAULT, "AVRO")
        exc = caught.value
        assert (exc.sqlstate, exc.status) == ("42804", 409)
        assert f'subject "{subject}"' in exc.message
        assert "READER_FIELD_MISSING_DEFAULT_VALUE" in (exc.detail or "")
        assert "incompatible with an earlier schema" in (exc.detail or "")

        assert await client.is_compatible(subject, ORDER_V2_DEFAULT, "AVRO") == (True, [])
        second = await client.register(subject, ORDER_V2_DEFAULT, "AVRO")
        assert second != first
        latest = await client.latest(subject)
        assert (latest.id, latest.version) == (second, 2)
    assert registry.subjects[subject] == [first, second]


@pytest.mark.parametrize(
    ("old_type", "new_type", "compatible", "error_type"),
    [
        ("int", "long", True, None),  # promotion: a long reader reads int data
        ("int", "double", True, None),
        ("string", "bytes", True, None),
        ("long", "int", False, "TYPE_MISMATCH"),
        ("int", "string", False, "TYPE_MISMATCH"),
        ("int", ["null", "int"], True, None),  # a union reader with the writer's type
        (["null", "int"], "int", False, "TYPE_MISMATCH"),  # int cannot read the writer's null branch
        (["null", "int", "string"], ["null", "int"], False, "MISSING_UNION_BRANCH"),
        (
            {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]},
            {"type": "enum", "name": "Color", "symbols": ["RED"]},
            False,
            "MISSING_ENUM_SYMBOLS",
        ),
        (
            {"type": "fixed", "name": "Hash", "size": 16},
            {"type": "fixed", "name": "Hash", "size": 32},
            False,
            "FIXED_SIZE_MISMATCH",
        ),
        ({"type": "array", "items": "int"}, {"type": "array", "items": "long"}, True, None),
        ({"type": "map", "values": "string"}, {"type": "map", "values": "int"}, False, "TYPE_MISMATCH"),
    ],
)
async def test_backward_compatibility_rules(
    registry: SchemaRegistryServer,
    old_type: object,
    new_type: object,
    compatible: bool,
    error_type: str | None,
) -> None:
    subject = unique("rules-value")
    registry.register(subject, avro_record("R", {"name": "f", "type": old_type}))
    async with client_for(registry.url) as client:
        ok, messages = await client.is_compatible(
            subject, avro_record("R", {"name": "f", "type": new_type}), "AVRO"
        )
    assert ok is compatible, messages
    if error_type is None:
        assert messages == []
    else:
        assert messages[0].startswith(f"{{errorType:'{error_type}'"), messages
        assert "path '/fields/0/type" in messages[0]


async def test_removing_a_field_and_renaming_the_record(registry: SchemaRegistryServer) -> None:
    subject = unique("shape-value")
    registry.register(subject, ORDER_V1)
    async with client_for(registry.url) as client:
        # BACKWARD: the new reader may ignore fields the old writer wrote.
        assert await client.is_compatible(
            subject, avro_record("Order", {"name": "id", "type": "long"}), "AVRO"
        ) == (
            True,
            [],
        )
        ok, messages = await client.is_compatible(
            subject, avro_record("Other", {"name": "id", "type": "long"}), "AVRO"
        )
        assert ok is False
        assert messages[0].startswith("{errorType:'NAME_MISMATCH'")


async def test_compatibility_levels(registry: SchemaRegistryServer) -> None:
    subject = unique("levels-value")
    registry.register(subject, ORDER_V1)
    removed = avro_record("Order", {"name": "id", "type": "long"})
    async with client_for(registry.url) as client:
        registry.set_compatibility("FORWARD", subject)
        # FORWARD: the old reader needs `item`, which the new writer no longer writes.
        ok, messages = await client.is_compatible(subject, removed, "AVRO")
        assert ok is False
        assert "in the old schema has no default value" in messages[0]
        assert "compatibility: 'FORWARD'" in messages[-1]
        registry.set_compatibility("NONE", subject)
        assert await client.is_compatible(subject, ORDER_V2_NO_DEFAULT, "AVRO") == (True, [])
        assert await client.register(subject, ORDER_V2_NO_DEFAULT, "AVRO") > 0
        # Changing the schema type is never compatible, whatever the level (short of NONE).
        registry.set_compatibility("BACKWARD", subject)
        ok, messages = await client.is_compatible(subject, PROTO, "PROTOBUF")
        assert ok is False
        assert "different schema type" in messages[0]


async def test_is_compatible_with_an_empty_subject(registry: SchemaRegistryServer) -> None:
    async with client_for(registry.url) as client:
        assert await client.is_compatible(unique("empty-value"), ORDER_V1, "AVRO") == (True, [])


# --- retries and unavailability ---------------------------------------------------------------
async def test_503_is_retried_then_succeeds(registry: SchemaRegistryServer) -> None:
    subject = unique("flaky-value")
    path = f"/subjects/{subject}/versions"
    registry.fail_next(2)
    async with client_for(registry.url, retries=3) as client:
        schema_id = await client.register(subject, ORDER_V1, "AVRO")
    assert registry.subjects[subject] == [schema_id]
    assert [r.status for r in registry.requests if r.path == path] == [503, 503, 200]


async def test_503_after_all_retries_is_08006_retriable(registry: SchemaRegistryServer) -> None:
    subject = unique("down-value")
    before = registry.request_count()
    with registry.unavailable():
        async with client_for(registry.url, retries=2) as client:
            with pytest.raises(SchemaRegistryUnavailable) as caught:
                await client.latest(subject)
    exc = caught.value
    assert (exc.sqlstate, exc.retriable) == ("08006", True)
    assert "HTTP 503" in exc.message
    assert "3 attempts" in exc.message
    assert f'subject "{subject}"' in exc.message
    assert registry.request_count() - before == 3
    async with client_for(registry.url) as client:  # served again once the block ends
        with pytest.raises(SchemaRegistryNotFound):
            await client.latest(subject)


async def test_stopped_registry_is_08006_retriable() -> None:
    with running_schema_registry() as server:
        url = server.url
        async with client_for(url) as client:
            schema_id = await client.register(unique("gone-value"), ORDER_V1, "AVRO")
            await client.by_id(schema_id)
            server.stop()
            assert (await client.by_id(schema_id)).id == schema_id  # cached: no request needed
            with pytest.raises(SchemaRegistryUnavailable) as caught:
                await client.by_id(schema_id + 1)
    exc = caught.value
    assert error_fields(exc)["C"] == "08006"
    assert exc.retriable is True
    assert url in exc.message
    assert "cannot connect" in exc.message
    assert f"schema id {schema_id + 1}" in exc.message


async def test_unanswered_request_times_out_as_08006() -> None:
    """A listener that accepts connections and never answers: each attempt ends at timeout_s."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        async with client_for(url, timeout_s=0.3, retries=1) as client:
            with pytest.raises(SchemaRegistryUnavailable) as caught:
                await client.latest("slow-value")
    assert "no answer within 0.3 s" in caught.value.message
    assert "2 attempts" in caught.value.message


async def test_next_endpoint_is_tried_after_a_refused_connection(registry: SchemaRegistryServer) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with client_for(f"{dead}, {registry.url}", retries=1) as client:
        assert client.endpoint == f"{dead},{registry.url}"
        schema_id = await client.register(unique("failover-value"), ORDER_V1, "AVRO")
    assert schema_id in registry.schemas


# --- TLS -------------------------------------------------------------------------------------
async def test_https_with_a_trusted_ca(tmp_path: Path) -> None:
    with running_schema_registry(tls_dir=tmp_path, username=USER, password=SECRET) as server:
        assert server.url.startswith("https://")
        trusted = server.client_ssl_context()
        async with client_for(server.url, api_key=USER, api_secret=SECRET, ssl_context=trusted) as client:
            schema_id = await client.register(unique("tls-value"), ORDER_V1, "AVRO")
            assert (await client.by_id(schema_id)).id == schema_id


async def test_untrusted_certificate_is_08006_not_retried(tmp_path: Path) -> None:
    with running_schema_registry(tls_dir=tmp_path) as server:
        async with client_for(server.url, retries=3) as client:  # default CAs: self-signed is unknown
            with pytest.raises(SchemaRegistryTlsError) as caught:
                await client.latest("tls-value")
        assert server.request_count() == 0
    exc = caught.value
    assert (exc.sqlstate, exc.retriable) == ("08006", False)
    assert "TLS with schema registry" in exc.message
    assert "certificate" in exc.message.lower()


# --- configuration ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("endpoint", "options", "fragment"),
    [
        ("http://127.0.0.1:8081", {"api_key": "k"}, "'schema_registry.api_secret' is not"),
        ("http://127.0.0.1:8081", {"api_secret": SECRET}, "'schema_registry.api_key' is not"),
        ("ftp://127.0.0.1:8081", {}, "http:// or https://"),
        ("", {}, "empty"),
    ],
)
def test_unusable_settings_are_22023(endpoint: str, options: dict[str, str], fragment: str) -> None:
    with pytest.raises(SchemaRegistryConfigError) as caught:
        SchemaRegistryClient(endpoint, **options)  # type: ignore[arg-type]
    assert caught.value.sqlstate == "22023"
    assert fragment in caught.value.message
    assert SECRET not in all_text(caught.value)


# --- the fixture speaks Confluent's API -------------------------------------------------------
async def test_fixture_status_codes_and_error_bodies(secured_registry: SchemaRegistryServer) -> None:
    subject = unique("wire-value")
    secured_registry.register(subject, ORDER_V1)
    auth = basic(USER, SECRET)
    base = secured_registry.url
    async with aiohttp.ClientSession() as session:

        async def call(method: str, path: str, body: object = None, auth: str = "") -> tuple[int, object]:
            headers = {"Content-Type": CONTENT_TYPE}
            if auth:
                headers["Authorization"] = auth
            data = None if body is None else json.dumps(body)
            async with session.request(method, base + path, data=data, headers=headers) as resp:
                assert resp.content_type == CONTENT_TYPE
                if resp.status == 401:
                    assert resp.headers["WWW-Authenticate"].startswith("Basic ")
                return resp.status, await resp.json(content_type=None)

        assert await call("GET", "/subjects") == (401, {"error_code": 401, "message": "Unauthorized"})
        assert (await call("GET", "/subjects", auth=basic(USER, "nope")))[0] == 401

        status, subjects = await call("GET", "/subjects", auth=auth)
        assert status == 200
        assert isinstance(subjects, list)
        assert subject in subjects
        assert await call("GET", f"/subjects/{subject}/versions", auth=auth) == (200, [1])
        status, version = await call("GET", f"/subjects/{subject}/versions/1", auth=auth)
        assert status == 200
        assert isinstance(version, dict)
        assert set(version) == {"subject", "version", "id", "schema"}  # no schemaType for AVRO
        assert await call("GET", f"/subjects/{subject}/versions/-1", auth=auth) == (200, version)
        assert await call("GET", f"/subjects/{subject}/versions/2", auth=auth) == (
            404,
            {"error_code": 40402, "message": "Version 2 not found."},
        )
        status, body = await call("GET", f"/subjects/{subject}/versions/two", auth=auth)
        assert status == 422
        assert isinstance(body, dict)
        assert body["error_code"] == 42202
        assert await call("GET", "/subjects/nobody/versions", auth=auth) == (
            404,
            {"error_code": 40401, "message": "Subject 'nobody' not found."},
        )
        assert await call("GET", "/schemas/ids/424242", auth=auth) == (
            404,
            {"error_code": 40403, "message": "Schema 424242 not found"},
        )
        assert await call("POST", f"/subjects/{subject}", {"schema": ORDER_V1}, auth=auth) == (200, version)
        status, body = await call("POST", f"/subjects/{subject}/versions", {"schema": "{"}, auth=auth)
        assert status == 422
        assert isinstance(body, dict)
        assert body["error_code"] == 42201
        status, body = await call(
            "POST", f"/subjects/{subject}/versions", {"schema": ORDER_V2_NO_DEFAULT}, auth=auth
        )
        assert status == 409
        assert isinstance(body, dict)
        assert body["error_code"] == 409
        assert body["message"].startswith(
            "Schema being registered is incompatible with an earlier schema "
            f'for subject "{subject}", details: '
        )
        compat = f"/compatibility/subjects/{subject}/versions/latest"
        assert await call("POST", compat, {"schema": ORDER_V2_DEFAULT}, auth=auth) == (
            200,
            {"is_compatible": True},
        )
        assert await call("POST", compat + "?verbose=true", {"schema": ORDER_V2_DEFAULT}, auth=auth) == (
            200,
            {"is_compatible": True, "messages": []},
        )
        assert await call("GET", "/config", auth=auth) == (200, {"compatibilityLevel": "BACKWARD"})
        assert await call("GET", "/no/such/path", auth=auth) == (
            404,
            {"error_code": 404, "message": "HTTP 404 Not Found"},
        )
