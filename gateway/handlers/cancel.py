"""CancelRequest handling: the registry of live backends and their secret keys.

A CancelRequest arrives on a new connection carrying a backend's process id and secret key.
If both match a live session, whatever it runs is interrupted (SQLSTATE 57014 for that
session); otherwise the request is ignored silently, exactly as PostgreSQL does, so that a
wrong key tells an attacker nothing.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


class Cancellable(Protocol):
    def cancel(self) -> None: ...


@dataclass(frozen=True, slots=True)
class BackendKey:
    process_id: int
    secret_key: int


class BackendRegistry:
    """Live backends by process id; process ids are unique per gateway process."""

    def __init__(self) -> None:
        # Start from this process's pid so that two gateway nodes rarely hand out the same ids.
        self._ids = itertools.count((os.getpid() % 100_000) * 10_000 + 1)
        self._backends: dict[int, tuple[int, Cancellable]] = {}

    def register(self, backend: Cancellable) -> BackendKey:
        process_id = next(self._ids) % 2**31
        key = BackendKey(process_id, secrets.randbits(31))
        self._backends[process_id] = (key.secret_key, backend)
        return key

    def unregister(self, key: BackendKey) -> None:
        self._backends.pop(key.process_id, None)

    def cancel(self, process_id: int, secret_key: int) -> bool:
        entry = self._backends.get(process_id)
        if entry is None or not secrets.compare_digest(
            entry[0].to_bytes(4, "big"), (secret_key % 2**32).to_bytes(4, "big")
        ):
            log.info("ignored a cancel request with an unknown backend key")
            return False
        entry[1].cancel()
        return True

    def __len__(self) -> int:
        return len(self._backends)
