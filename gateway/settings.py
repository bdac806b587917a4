"""Session settings (PostgreSQL's GUCs) that the gateway knows, with their defaults and rules.

Drivers read these through ParameterStatus at start-up and through ``SHOW``/``current_setting``;
several drivers refuse to work when one is missing or has an unexpected value (psycopg 3 needs
``TimeZone`` and ``IntervalStyle``; asyncpg and SQLAlchemy parse ``server_version``). Laminar
advertises PostgreSQL 16: the catalog columns clients query depend on that one choice.

Unknown names follow PostgreSQL: a dotted name (``myapp.tenant``) is a custom placeholder that
is accepted and remembered; anything else is 42704.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gateway.errors import CantChangeRuntimeParam, InvalidParameterValue, UndefinedParameter

SERVER_VERSION = "16.4"
SERVER_VERSION_NUM = "160004"
LAMINAR_VERSION = "0.1.0"
VERSION_STRING = (
    f"PostgreSQL {SERVER_VERSION} (Laminar {LAMINAR_VERSION}) on x86_64-pc-linux-gnu, "
    "compiled by Laminar, 64-bit"
)


def _utf8_only(value: str) -> str:
    value = value.strip("'\"")  # asyncpg sends client_encoding='utf-8', quotes included
    if value.replace("-", "").replace("_", "").upper() in {"UTF8", "UNICODE"}:
        return "UTF8"
    raise InvalidParameterValue(
        f'invalid value for parameter "client_encoding": "{value}"',
        hint="Laminar speaks UTF8 only.",
    )


def _iso_datestyle(value: str) -> str:
    parts = [part.strip().upper() for part in value.split(",")]
    if "ISO" not in parts and not all(part in {"MDY", "DMY", "YMD"} for part in parts):
        raise InvalidParameterValue(
            f'invalid value for parameter "DateStyle": "{value}"',
            hint="Laminar writes dates in ISO format only.",
        )
    order = next((part for part in parts if part in {"MDY", "DMY", "YMD"}), "MDY")
    return f"ISO, {order}"


def _postgres_intervalstyle(value: str) -> str:
    if value.lower() != "postgres":
        raise InvalidParameterValue(
            f'invalid value for parameter "IntervalStyle": "{value}"',
            hint="Laminar writes intervals in the postgres style only.",
        )
    return "postgres"


def _time_zone(value: str) -> str:
    if value.upper() in {"UTC", "GMT", "Z", "ZULU", "ETC/UTC", "ETC/GMT", "UCT"}:
        return "UTC" if value.upper() in {"UTC", "Z", "ZULU", "UCT"} else value
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long
        raise InvalidParameterValue(f'invalid value for parameter "TimeZone": "{value}"') from exc
    return value


def _integer(name: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            return str(int(value))
        except ValueError as exc:
            raise InvalidParameterValue(f'invalid value for parameter "{name}": "{value}"') from exc

    return check


def _boolean(name: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        lowered = value.lower()
        if lowered in {"on", "true", "yes", "1", "t", "y"}:
            return "on"
        if lowered in {"off", "false", "no", "0", "f", "n"}:
            return "off"
        raise InvalidParameterValue(f'parameter "{name}" requires a Boolean value')

    return check


def _milliseconds(name: str) -> Callable[[str], str]:
    """A duration as PostgreSQL's time settings take it: a number of ms, or with a unit."""
    units = {"ms": 1, "s": 1000, "min": 60_000}

    def check(value: str) -> str:
        text = value.strip().strip("'").lower()
        number = text.rstrip("abcdefghijklmnopqrstuvwxyz ")
        unit = text[len(number) :].strip() or "ms"
        try:
            millis = float(number) * units[unit]
        except (ValueError, KeyError) as exc:
            raise InvalidParameterValue(
                f'invalid value for parameter "{name}": "{value}"',
                hint='Valid units are "ms", "s" and "min".',
            ) from exc
        if millis < 0:
            raise InvalidParameterValue(f'invalid value for parameter "{name}": "{value}"')
        return str(int(millis))

    return check


def _startup_options(options: str) -> Iterator[tuple[str, str]]:
    """``-c name=value`` and ``--name=value`` pairs of a start-up packet's ``options`` (PGOPTIONS)."""
    words = options.split()
    for position, word in enumerate(words):
        pair = None
        if word == "-c" and position + 1 < len(words):
            pair = words[position + 1]
        elif (word.startswith("-c") and len(word) > 2) or word.startswith("--"):
            pair = word[2:]
        if pair is not None and "=" in pair:
            name, _, value = pair.partition("=")
            yield name.replace("-", "_"), value


def _any(value: str) -> str:
    return value


FIXED = None  # marks a setting that reports server facts and cannot be changed


@dataclass(frozen=True, slots=True)
class Setting:
    name: str  # canonical spelling, as SHOW ALL and ParameterStatus print it
    default: str
    description: str
    reported: bool = False  # sent as ParameterStatus at start-up and whenever it changes
    normalise: Callable[[str], str] | None = _any  # None: fixed, cannot be changed

    @property
    def fixed(self) -> bool:
        return self.normalise is None


SETTINGS: tuple[Setting, ...] = (
    Setting("application_name", "", "Sets the application name.", reported=True),
    Setting("client_encoding", "UTF8", "Sets the client's character set encoding.", True, _utf8_only),
    Setting("DateStyle", "ISO, MDY", "Sets the display format for dates.", True, _iso_datestyle),
    Setting("default_transaction_read_only", "off", "Default read-only status.", True),
    Setting("in_hot_standby", "off", "Whether the server is in hot standby.", True, FIXED),
    Setting("integer_datetimes", "on", "Datetimes are integer based.", True, FIXED),
    Setting(
        "IntervalStyle", "postgres", "Sets the display format for intervals.", True, _postgres_intervalstyle
    ),
    Setting("is_superuser", "on", "Whether the current user is a superuser.", True, FIXED),
    Setting("server_encoding", "UTF8", "The server's character set encoding.", True, FIXED),
    Setting("server_version", SERVER_VERSION, "The server version.", True, FIXED),
    Setting("server_version_num", SERVER_VERSION_NUM, "The server version as an integer.", False, FIXED),
    Setting("session_authorization", "", "The session user name.", True, FIXED),
    Setting("standard_conforming_strings", "on", "Backslashes in ordinary strings are literal.", True, FIXED),
    Setting("TimeZone", "UTC", "Sets the time zone for displaying time stamps.", True, _time_zone),
    Setting(
        "extra_float_digits",
        "1",
        "Sets the number of digits displayed for floats.",
        False,
        _integer("extra_float_digits"),
    ),
    Setting("search_path", '"$user", public', "Sets the schema search order.", False),
    Setting(
        "statement_timeout",
        "0",
        "Maximum allowed duration of any statement (ms).",
        False,
        _integer("statement_timeout"),
    ),
    Setting(
        "lock_timeout", "0", "Maximum allowed duration of a lock wait (ms).", False, _integer("lock_timeout")
    ),
    Setting(
        "idle_in_transaction_session_timeout",
        "0",
        "Idle-in-transaction timeout (ms).",
        False,
        _integer("idle_in_transaction_session_timeout"),
    ),
    Setting("transaction_isolation", "read committed", "The current transaction's isolation level.", False),
    Setting("default_transaction_isolation", "read committed", "Default transaction isolation level.", False),
    Setting("transaction_read_only", "off", "The current transaction's read-only status.", False),
    Setting("max_identifier_length", "63", "Maximum identifier length.", False, FIXED),
    Setting("jit", "off", "Allow JIT compilation.", False, _boolean("jit")),
    Setting("bytea_output", "hex", "Sets the output format for bytea.", False),
    Setting("lc_messages", "C", "Sets the language in which messages are displayed.", False),
    Setting("lc_monetary", "C", "Sets the locale for monetary amounts.", False),
    Setting("lc_numeric", "C", "Sets the locale for numbers.", False),
    Setting("lc_time", "C", "Sets the locale for dates and times.", False),
    Setting("client_min_messages", "notice", "Sets the message levels sent to the client.", False),
    Setting("max_connections", "1000", "Maximum number of concurrent connections.", False, FIXED),
    Setting("synchronous_commit", "on", "Synchronisation level of commits.", False),
    Setting("row_security", "on", "Enable row security.", False, _boolean("row_security")),
    # Read by SQL tools' catalog queries (SQLAlchemy's table options, pg_dump-like browsers).
    Setting("default_table_access_method", "heap", "Sets the default table access method.", False),
    Setting("default_tablespace", "", "Sets the default tablespace for new tables.", False),
    Setting("max_index_keys", "32", "Maximum number of index keys.", False, FIXED),
    Setting("block_size", "8192", "The size of a disk block.", False, FIXED),
    Setting(
        "laminar.progress_interval",
        "0",
        "How often a long statement reports its progress as a NOTICE (ms; 0: never).",
        False,
        _milliseconds("laminar.progress_interval"),
    ),
)

_BY_NAME = {setting.name.lower(): setting for setting in SETTINGS}


class SessionSettings:
    """The settings of one session: defaults, start-up values and what SET changed."""

    def __init__(self, user: str, startup: dict[str, str] | None = None) -> None:
        self._values = {setting.name.lower(): setting.default for setting in SETTINGS}
        self._values["session_authorization"] = user
        self._custom: dict[str, str] = {}
        self._startup: dict[str, str] = {}
        # Start-up packets may carry settings (pgjdbc sends TimeZone, asyncpg client_encoding);
        # fixed server facts and names the server does not know are ignored there.
        parameters = dict(startup or {})
        parameters.update(_startup_options(parameters.pop("options", "")))
        for key, value in parameters.items():
            setting = _BY_NAME.get(key.lower())
            if setting is not None and not setting.fixed:
                self.set(key, value)
                self._startup[key.lower()] = self._values[key.lower()]

    def get(self, name: str) -> str:
        key = name.lower()
        if key in self._values:
            return self._values[key]
        if key in self._custom:
            return self._custom[key]
        raise UndefinedParameter(f'unrecognized configuration parameter "{name}"')

    def get_or_none(self, name: str) -> str | None:
        key = name.lower()
        return self._values.get(key, self._custom.get(key))

    def set(self, name: str, value: str) -> Setting | None:
        """Change a setting; returns its definition (None for a custom dotted one)."""
        key = name.lower()
        setting = _BY_NAME.get(key)
        if setting is None:
            if "." not in key:
                raise UndefinedParameter(f'unrecognized configuration parameter "{name}"')
            self._custom[key] = value
            return None
        if setting.normalise is None:
            raise CantChangeRuntimeParam(f'parameter "{setting.name}" cannot be changed')
        self._values[key] = setting.normalise(value)
        return setting

    def reset(self, name: str) -> Setting | None:
        key = name.lower()
        setting = _BY_NAME.get(key)
        if setting is None:
            if key in self._custom:
                self._custom[key] = ""  # PostgreSQL keeps a reset placeholder, empty
                return None
            raise UndefinedParameter(f'unrecognized configuration parameter "{name}"')
        if setting.fixed:
            raise CantChangeRuntimeParam(f'parameter "{setting.name}" cannot be changed')
        self._values[key] = self._startup.get(key, setting.default)
        return setting

    def reset_all(self) -> list[Setting]:
        """RESET ALL / DISCARD ALL; returns the reported settings whose value changed."""
        changed = []
        for setting in SETTINGS:
            key = setting.name.lower()
            if setting.fixed:
                continue
            value = self._startup.get(key, setting.default)
            if self._values[key] != value:
                self._values[key] = value
                if setting.reported:
                    changed.append(setting)
        for key in self._custom:
            self._custom[key] = ""
        return changed

    def reported(self) -> Iterator[tuple[str, str]]:
        for setting in SETTINGS:
            if setting.reported:
                yield setting.name, self._values[setting.name.lower()]

    def all(self) -> Iterator[tuple[str, str, str]]:
        for setting in sorted(SETTINGS, key=lambda s: s.name.lower()):
            yield setting.name, self._values[setting.name.lower()], setting.description
        for key, value in sorted(self._custom.items()):
            yield key, value, ""


def canonical_name(name: str) -> str:
    setting = _BY_NAME.get(name.lower())
    return setting.name if setting else name.lower()
