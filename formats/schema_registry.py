"""Async client for the Confluent Schema Registry REST API, shared by the Avro and Protobuf formats.

`SchemaRegistryClient(endpoint, api_key=..., api_secret=...)` speaks the four calls the formats need:

| method                                   | HTTP                                                       |
|------------------------------------------|------------------------------------------------------------|
| `register(subject, schema, schema_type)` | POST /subjects/{s}/versions -> the schema's global id      |
| `latest(subject)`                        | GET /subjects/{s}/versions/latest                          |
| `by_id(schema_id)`                       | GET /schemas/ids/{id}                                      |
| `is_compatible(subject, schema, type)`   | POST /compatibility/subjects/{s}/versions/latest?verbose=true |

Requests carry `application/vnd.schemaregistry.v1+json` and HTTP basic auth from api_key/api_secret
(or from user:password in the endpoint URL, Confluent's `URL` credentials source, when no key is
given). `endpoint` may list several URLs separated by commas; a retry moves on to the next one.

Caches: ids are immutable in a registry, so `by_id` answers are kept for the client's lifetime (and
`latest` fills that cache too); `register` remembers (subject, type, schema, references) -> id, so
registering the same schema again costs no request. Concurrent calls for the same id or schema share
one request. `latest` and `is_compatible` are never cached: the subject may move on.

Each attempt has `timeout_s` in total. 5xx and 429 answers, connection failures and timeouts are
retried `retries` times (so `retries + 1` attempts) after `backoff_s`, 2x`backoff_s`, 4x... (capped at
5 s); any other answer is final. TLS certificate failures are final too: retrying cannot fix them.

Errors (all `SchemaRegistryError`, a `gateway.errors.LaminarError`; each names the endpoint and the
subject or id, never the key or secret; `.status` and `.error_code` keep the registry's codes):

| class                          | when                               | SQLSTATE | retriable |
|--------------------------------|------------------------------------|----------|-----------|
| SchemaRegistryAuthError        | 401 credentials rejected / 403     | 42501    | no        |
| SchemaRegistryNotFound         | 404 subject, version or schema id  | 42704    | no        |
| SchemaRegistryIncompatible     | 409 incompatible with latest       | 42804    | no        |
| SchemaRegistryInvalidSchema    | 422 invalid schema / schema type   | 22023    | no        |
| SchemaRegistryConfigError      | bad endpoint URL, key w/o secret   | 22023    | no        |
| SchemaRegistryUnavailable      | unreachable, timeouts, 5xx/429     | 08006    | yes       |
|                                | still failing after all retries    |          |           |
| SchemaRegistryTlsError         | TLS handshake / certificate failed | 08006    | no        |
| SchemaRegistryResponseError    | any other answer (400, 405, junk)  | 58000    | no        |

401 and 403 are 42501 (insufficient_privilege) rather than 28000: in this gateway 28000 is the
FATAL error of a client's own failed login, which closes the client's session; wrong registry
credentials are a problem of a connection's options, not of the session.

`is_compatible` on a subject with no versions answers (True, []), as the registry itself does for
`versions/latest` of an empty subject (some registry versions answer 404 40401 instead; both mean
"nothing to be incompatible with").

A client belongs to one event loop (its aiohttp session is created on first use there); `close()`
releases it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import aiohttp
from yarl import URL

from gateway.errors import (
    ConnectionFailure,
    DatatypeMismatch,
    InsufficientPrivilege,
    InvalidParameterValue,
    LaminarError,
    UndefinedObject,
)

__all__ = [
    "CONTENT_TYPE",
    "SCHEMA_TYPES",
    "RegisteredSchema",
    "SchemaRegistryAuthError",
    "SchemaRegistryClient",
    "SchemaRegistryConfigError",
    "SchemaRegistryError",
    "SchemaRegistryIncompatible",
    "SchemaRegistryInvalidSchema",
    "SchemaRegistryNotFound",
    "SchemaRegistryResponseError",
    "SchemaRegistryTlsError",
    "SchemaRegistryUnavailable",
]

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
ACCEPT = (
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; q=0.9, "
    "application/json; q=0.5"
)
SCHEMA_TYPES = ("AVRO", "PROTOBUF", "JSON")
MAX_BACKOFF_S = 5.0
MAX_DETAIL_CHARS = 4000

# The registry's own error codes (Confluent's Errors.java).
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403

Reference = tuple[str, str, int]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    """A schema as the registry returns it.

    `schema_type` is "AVRO", "PROTOBUF" or "JSON" (the registry omits schemaType for AVRO);
    `subject` and `version` are set when the schema was looked up through a subject (`latest`);
    `references` are (name, subject, version) triples (Protobuf imports, Avro named types).
    """

    id: int
    schema_type: str
    schema: str
    subject: str | None = None
    version: int | None = None
    references: tuple[Reference, ...] = ()


# --- errors -------------------------------------------------------------------------------------
class SchemaRegistryError(LaminarError):
    """Root of the registry client's errors; the SQLSTATE comes from the second base of each leaf."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        subject: str | None = None,
        schema_id: int | None = None,
        status: int | None = None,
        error_code: int | None = None,
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, detail=detail, hint=hint)
        self.endpoint = endpoint
        self.subject = subject
        self.schema_id = schema_id
        self.status = status
        self.error_code = error_code


class SchemaRegistryAuthError(SchemaRegistryError, InsufficientPrivilege):
    """401 (credentials missing or rejected) or 403 (not allowed on this subject): 42501."""


class SchemaRegistryNotFound(SchemaRegistryError, UndefinedObject):
    """404: the subject, the version or the schema id does not exist: 42704."""


class SchemaRegistryIncompatible(SchemaRegistryError, DatatypeMismatch):
    """409: the schema is incompatible with the subject's latest version: 42804."""


class SchemaRegistryInvalidSchema(SchemaRegistryError, InvalidParameterValue):
    """422: the registry could not parse the schema (or its type or references): 22023."""


class SchemaRegistryConfigError(SchemaRegistryError, InvalidParameterValue):
    """The client's own settings are unusable (endpoint URL, key without secret): 22023."""


class SchemaRegistryUnavailable(SchemaRegistryError, ConnectionFailure):
    """Unreachable, timing out or answering 5xx/429 after every retry: 08006, retriable."""


class SchemaRegistryTlsError(SchemaRegistryUnavailable):
    """TLS handshake or certificate verification failed: 08006, not retriable."""

    retriable: ClassVar[bool] = False


class SchemaRegistryResponseError(SchemaRegistryError):
    """An answer the client does not expect (400, 405, a body that is not the API's JSON): 58000."""

    sqlstate: ClassVar[str] = "58000"


# --- the client ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: Any  # parsed JSON, or the raw text when the body is not JSON
    is_json: bool


def _parse_endpoints(endpoint: str) -> tuple[list[str], tuple[str, str] | None]:
    """Base URLs without credentials, and user:password found in them (Confluent's URL source)."""
    bases: list[str] = []
    userinfo: tuple[str, str] | None = None
    shown = endpoint if "@" not in endpoint else "<endpoint with credentials>"
    for raw in endpoint.split(","):
        text = raw.strip()
        if not text:
            continue
        try:
            url = URL(text)
        except (ValueError, TypeError) as exc:
            raise SchemaRegistryConfigError(
                f"schema registry endpoint {shown!r} is not a URL: {exc}", endpoint=shown
            ) from None
        if url.scheme not in ("http", "https") or not url.host:
            raise SchemaRegistryConfigError(
                f"schema registry endpoint {url.with_user(None)!s} must be an http:// or https:// URL "
                "with a host",
                endpoint=shown,
                hint="for example 'schema_registry.endpoint' = 'http://127.0.0.1:8081'",
            )
        if url.user is not None and userinfo is None:
            userinfo = (url.user, url.password or "")
        base = str(url.with_user(None).with_query(None).with_fragment(None)).rstrip("/")
        bases.append(base)
    if not bases:
        raise SchemaRegistryConfigError(
            "schema registry endpoint is empty",
            endpoint="",
            hint="set 'schema_registry.endpoint', for example 'http://127.0.0.1:8081'",
        )
    return bases, userinfo


def _references_json(references: Sequence[Reference]) -> list[dict[str, object]]:
    return [{"name": name, "subject": subject, "version": version} for name, subject, version in references]


def _references_of(body: dict[str, Any]) -> tuple[Reference, ...]:
    refs = body.get("references") or []
    return tuple((str(r["name"]), str(r["subject"]), int(r["version"])) for r in refs)


def _schema_type(schema_type: str, endpoint: str) -> str:
    normalized = schema_type.upper()
    if normalized not in SCHEMA_TYPES:
        raise SchemaRegistryConfigError(
            f"schema type {schema_type!r} is not one the schema registry knows",
            endpoint=endpoint,
            hint="use one of " + ", ".join(SCHEMA_TYPES),
        )
    return normalized


def _basic_auth(user: str, password: str) -> str:
    """The Authorization header value for HTTP basic auth (RFC 7617, UTF-8)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _subject_path(subject: str) -> str:
    return quote(subject, safe="")


class SchemaRegistryClient:
    """Confluent Schema Registry client: register, latest, by_id, is_compatible (see module doc)."""

    def __init__(
        self,
        endpoint: str,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        timeout_s: float = 10.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._bases, url_userinfo = _parse_endpoints(endpoint)
        self.endpoint = ",".join(self._bases)
        if (api_key is None) != (api_secret is None):
            missing = "api_secret" if api_secret is None else "api_key"
            given = "api_key" if api_secret is None else "api_secret"
            raise SchemaRegistryConfigError(
                f"'schema_registry.{given}' is set but 'schema_registry.{missing}' is not "
                f"(schema registry {self.endpoint})",
                endpoint=self.endpoint,
                hint="set both, or neither for a registry without authentication",
            )
        if timeout_s <= 0 or retries < 0 or backoff_s < 0:
            raise SchemaRegistryConfigError(
                f"schema registry client for {self.endpoint} needs timeout_s > 0, retries >= 0 and "
                f"backoff_s >= 0 (got {timeout_s}, {retries}, {backoff_s})",
                endpoint=self.endpoint,
            )
        credentials = (api_key, api_secret or "") if api_key is not None else url_userinfo
        if credentials is not None and ":" in credentials[0]:
            raise SchemaRegistryConfigError(
                f"the schema registry key for {self.endpoint} contains ':', which basic auth cannot carry",
                endpoint=self.endpoint,
                hint="check 'schema_registry.api_key'",
            )
        self._authorization = None if credentials is None else _basic_auth(*credentials)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._retries = retries
        self._backoff_s = backoff_s
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._by_id: dict[int, RegisteredSchema] = {}
        self._ids: dict[tuple[str, str, str, tuple[Reference, ...]], int] = {}
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}

    # --- public API ---------------------------------------------------------------------------
    async def register(
        self, subject: str, schema: str, schema_type: str, *, references: Sequence[Reference] = ()
    ) -> int:
        """Register `schema` under `subject` (idempotent: the same schema gets the same id)."""
        kind = _schema_type(schema_type, self.endpoint)
        refs = tuple(references)
        key = (subject, kind, schema, refs)
        known = self._ids.get(key)
        if known is not None:
            return known

        async def fetch() -> int:
            answer = await self._call(
                "POST",
                f"/subjects/{_subject_path(subject)}/versions",
                body=self._schema_body(schema, kind, refs),
                action=f'registering a schema under subject "{subject}"',
                subject=subject,
            )
            schema_id = self._int_field(answer, "id", subject=subject)
            self._ids[key] = schema_id
            return schema_id

        return await self._single_flight(("register", *key), fetch)

    async def latest(self, subject: str) -> RegisteredSchema:
        """The subject's latest version (never cached: a new version may be registered any time)."""
        answer = await self._call(
            "GET",
            f"/subjects/{_subject_path(subject)}/versions/latest",
            action=f'looking up the latest schema of subject "{subject}"',
            subject=subject,
        )
        body = self._object(answer, subject=subject)
        registered = RegisteredSchema(
            id=self._int_field(answer, "id", subject=subject),
            schema_type=str(body.get("schemaType") or "AVRO"),
            schema=self._str_field(answer, "schema", subject=subject),
            subject=str(body.get("subject", subject)),
            version=self._int_field(answer, "version", subject=subject),
            references=_references_of(body),
        )
        self._by_id.setdefault(
            registered.id,
            RegisteredSchema(
                registered.id, registered.schema_type, registered.schema, references=registered.references
            ),
        )
        return registered

    async def by_id(self, schema_id: int) -> RegisteredSchema:
        """The schema with this global id (cached for the client's lifetime: ids are immutable)."""
        cached = self._by_id.get(schema_id)
        if cached is not None:
            return cached

        async def fetch() -> RegisteredSchema:
            answer = await self._call(
                "GET",
                f"/schemas/ids/{schema_id}",
                action=f"looking up schema id {schema_id}",
                schema_id=schema_id,
            )
            body = self._object(answer, schema_id=schema_id)
            registered = RegisteredSchema(
                id=schema_id,
                schema_type=str(body.get("schemaType") or "AVRO"),
                schema=self._str_field(answer, "schema", schema_id=schema_id),
                references=_references_of(body),
            )
            self._by_id[schema_id] = registered
            return registered

        return await self._single_flight(("by_id", schema_id), fetch)

    async def is_compatible(
        self, subject: str, schema: str, schema_type: str, *, references: Sequence[Reference] = ()
    ) -> tuple[bool, list[str]]:
        """Whether `schema` may become the subject's next version, and the registry's reasons if not."""
        kind = _schema_type(schema_type, self.endpoint)
        try:
            answer = await self._call(
                "POST",
                f"/compatibility/subjects/{_subject_path(subject)}/versions/latest",
                params={"verbose": "true"},
                body=self._schema_body(schema, kind, tuple(references)),
                action=f'checking a schema for compatibility with subject "{subject}"',
                subject=subject,
            )
        except SchemaRegistryNotFound as exc:
            if exc.error_code in (SUBJECT_NOT_FOUND, VERSION_NOT_FOUND):
                return True, []
            raise
        body = self._object(answer, subject=subject)
        compatible = body.get("is_compatible")
        if not isinstance(compatible, bool):
            raise self._bad_answer(answer, "no boolean is_compatible", subject=subject)
        messages = body.get("messages") or []
        return compatible, [m if isinstance(m, str) else json.dumps(m) for m in messages]

    async def close(self) -> None:
        """Close the HTTP session (idempotent); the client cannot be used afterwards."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> SchemaRegistryClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- HTTP ---------------------------------------------------------------------------------
    def _session_now(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("SchemaRegistryClient used after close()")
        if self._session is None:
            headers = {"Accept": ACCEPT}
            if self._authorization is not None:
                headers["Authorization"] = self._authorization
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                headers=headers,
                raise_for_status=False,
            )
        return self._session

    @staticmethod
    def _schema_body(schema: str, kind: str, refs: tuple[Reference, ...]) -> dict[str, object]:
        body: dict[str, object] = {"schema": schema}
        if kind != "AVRO":  # registries before 5.5 know AVRO only and reject the field
            body["schemaType"] = kind
        if refs:
            body["references"] = _references_json(refs)
        return body

    async def _call(
        self,
        method: str,
        path: str,
        *,
        action: str,
        body: dict[str, object] | None = None,
        params: dict[str, str] | None = None,
        subject: str | None = None,
        schema_id: int | None = None,
    ) -> _Answer:
        """One API call with retries; a 2xx answer, or the matching SchemaRegistryError."""
        session = self._session_now()
        data = None if body is None else json.dumps(body).encode()
        headers = {} if data is None else {"Content-Type": CONTENT_TYPE}
        attempts = self._retries + 1
        failure = ""
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(min(self._backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
            base = self._bases[attempt % len(self._bases)]
            url = URL(base + path, encoded=True)
            if params:
                url = url.update_query(params)
            try:
                async with session.request(method, url, data=data, headers=headers, ssl=self._ssl) as resp:
                    status = resp.status
                    raw = await resp.read()
            except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
                raise SchemaRegistryTlsError(
                    f"TLS with schema registry {base} failed while {action}: {exc}",
                    endpoint=self.endpoint,
                    subject=subject,
                    schema_id=schema_id,
                    hint="check the registry's certificate and the CA the gateway trusts",
                ) from None
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                failure = self._describe_failure(exc)
                log.info("schema registry %s: %s (attempt %d of %d)", base, failure, attempt + 1, attempts)
                continue
            answer = self._answer(status, raw)
            if 200 <= status < 300:
                return answer
            if status >= 500 or status == 429:
                failure = f"HTTP {status}" + self._registry_message_suffix(answer)
                log.info("schema registry %s: %s (attempt %d of %d)", base, failure, attempt + 1, attempts)
                continue
            raise self._error(answer, action=action, subject=subject, schema_id=schema_id)
        tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
        raise SchemaRegistryUnavailable(
            f"schema registry {self.endpoint} is unavailable while {action}: {failure} ({tries})",
            endpoint=self.endpoint,
            subject=subject,
            schema_id=schema_id,
            hint="check that the registry is running and reachable from the gateway; "
            "the operation can be retried",
        )

    def _describe_failure(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            return f"no answer within {self._timeout.total:g} s"
        if isinstance(exc, aiohttp.ClientConnectorError):
            return f"cannot connect ({exc.os_error.strerror or type(exc.os_error).__name__})"
        text = str(exc) or type(exc).__name__
        return f"{type(exc).__name__}: {text}"

    @staticmethod
    def _answer(status: int, raw: bytes) -> _Answer:
        text = raw.decode("utf-8", errors="replace")
        try:
            return _Answer(status, json.loads(text), True)
        except ValueError:
            return _Answer(status, text, False)

    @staticmethod
    def _registry_message(answer: _Answer) -> tuple[int | None, str]:
        """The registry's (error_code, message) from an error body; the text itself otherwise."""
        body = answer.body
        if answer.is_json and isinstance(body, dict):
            code = body.get("error_code")
            message = body.get("message")
            return (code if isinstance(code, int) else None), (
                str(message) if message is not None else json.dumps(body)
            )
        text = str(body).strip()
        return None, text[:MAX_DETAIL_CHARS]

    def _registry_message_suffix(self, answer: _Answer) -> str:
        _, message = self._registry_message(answer)
        if not message or message.startswith(f"HTTP {answer.status}"):
            return ""
        return f" ({message[:200]})"

    def _error(
        self, answer: _Answer, *, action: str, subject: str | None, schema_id: int | None
    ) -> SchemaRegistryError:
        status = answer.status
        code, message = self._registry_message(answer)
        detail = f"the registry said: {message[:MAX_DETAIL_CHARS]}" if message else None
        where = f"schema registry {self.endpoint}"
        common: dict[str, Any] = {
            "endpoint": self.endpoint,
            "subject": subject,
            "schema_id": schema_id,
            "status": status,
            "error_code": code,
            "detail": detail,
        }
        if status == 401:
            hint = (
                "check 'schema_registry.api_key' and 'schema_registry.api_secret'"
                if self._authorization is not None
                else "the registry requires credentials: set 'schema_registry.api_key' and "
                "'schema_registry.api_secret'"
            )
            what = "rejected the credentials" if self._authorization is not None else "requires credentials"
            return SchemaRegistryAuthError(f"{where} {what} (HTTP 401) while {action}", hint=hint, **common)
        if status == 403:
            return SchemaRegistryAuthError(
                f"{where} denied access (HTTP 403) while {action}",
                hint="the registry's credentials need permission on this subject",
                **common,
            )
        if status == 404:
            if schema_id is not None and code in (SCHEMA_NOT_FOUND, None):
                return SchemaRegistryNotFound(
                    f"schema id {schema_id} not found in {where}",
                    hint="the data was written with a schema this registry does not have: "
                    "is this the registry its producer used?",
                    **common,
                )
            if subject is not None and code == VERSION_NOT_FOUND:
                return SchemaRegistryNotFound(
                    f'subject "{subject}" has no schema version in {where}', **common
                )
            if subject is not None and code in (SUBJECT_NOT_FOUND, None):
                return SchemaRegistryNotFound(
                    f'subject "{subject}" not found in {where}',
                    hint="register a schema under the subject first (or let the sink register it with "
                    "'auto.register.schemas' = 'true'), or check the subject name",
                    **common,
                )
            return SchemaRegistryNotFound(f"{where}: not found (HTTP 404) while {action}", **common)
        if status == 409:
            return SchemaRegistryIncompatible(
                f'the schema is incompatible with the registered versions of subject "{subject}" in {where}',
                hint="make the change compatible (new fields need defaults), or change the subject's "
                "compatibility level in the registry",
                **common,
            )
        if status == 422:
            return SchemaRegistryInvalidSchema(
                f"{where} rejected the schema as invalid while {action}", **common
            )
        return SchemaRegistryResponseError(f"{where} answered HTTP {status} while {action}", **common)

    # --- answers ------------------------------------------------------------------------------
    def _bad_answer(
        self, answer: _Answer, what: str, *, subject: str | None = None, schema_id: int | None = None
    ) -> SchemaRegistryResponseError:
        shown = answer.body if not answer.is_json else json.dumps(answer.body)
        return SchemaRegistryResponseError(
            f"schema registry {self.endpoint} answered HTTP {answer.status} with {what}",
            endpoint=self.endpoint,
            subject=subject,
            schema_id=schema_id,
            status=answer.status,
            detail=f"the answer was: {str(shown)[:MAX_DETAIL_CHARS]}",
            hint="is the endpoint a Confluent-compatible schema registry?",
        )

    def _object(
        self, answer: _Answer, *, subject: str | None = None, schema_id: int | None = None
    ) -> dict[str, Any]:
        if not answer.is_json or not isinstance(answer.body, dict):
            raise self._bad_answer(answer, "no JSON object", subject=subject, schema_id=schema_id)
        return answer.body

    def _int_field(
        self, answer: _Answer, name: str, *, subject: str | None = None, schema_id: int | None = None
    ) -> int:
        value = self._object(answer, subject=subject, schema_id=schema_id).get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._bad_answer(answer, f"no integer {name}", subject=subject, schema_id=schema_id)
        return value

    def _str_field(
        self, answer: _Answer, name: str, *, subject: str | None = None, schema_id: int | None = None
    ) -> str:
        value = self._object(answer, subject=subject, schema_id=schema_id).get(name)
        if not isinstance(value, str):
            raise self._bad_answer(answer, f"no string {name}", subject=subject, schema_id=schema_id)
        return value

    # --- concurrency --------------------------------------------------------------------------
    async def _single_flight(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        """Run `fetch` once for concurrent callers asking for the same key."""
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(fetch())
            self._inflight[key] = future

            def forget(done: asyncio.Future[Any]) -> None:
                self._inflight.pop(key, None)
                if not done.cancelled():
                    done.exception()  # retrieved here too, so an unawaited failure is not logged

            future.add_done_callback(forget)
        result: T = await asyncio.shield(future)
        return result
