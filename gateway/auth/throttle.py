"""Slow down password guessing: a per-source-address back-off after failed logins.

Like PostgreSQL's auth_delay, the gateway pauses before it answers a failed login, so a client
that guesses passwords gets few answers per second. The pause depends on the source address's
recent failures: the first ``free_failures`` within ``window_s`` cost nothing (people mistype),
then each further failure waits ``first_delay_s`` doubled per failure, up to ``max_delay_s``. A
successful login from the address forgets its failures; so does ``window_s`` without one. At most
``max_addresses`` addresses are remembered (the oldest forgotten first), so the table itself cannot
be used to exhaust memory.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class LoginThrottle:
    def __init__(
        self,
        *,
        free_failures: int = 5,
        first_delay_s: float = 0.5,
        max_delay_s: float = 10.0,
        window_s: float = 60.0,
        max_addresses: int = 10_000,
    ) -> None:
        self.free_failures = free_failures
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.window_s = window_s
        self.max_addresses = max_addresses
        self._failures: OrderedDict[str, _Failures] = OrderedDict()

    def failed(self, address: str, now: float | None = None) -> float:
        """Record a failed login from ``address``; returns how long to wait before answering it."""
        now = time.monotonic() if now is None else now
        entry = self._failures.pop(address, None)
        if entry is None or now - entry.last > self.window_s:
            entry = _Failures(0, now)
        entry.count += 1
        entry.last = now
        self._failures[address] = entry
        while len(self._failures) > self.max_addresses:
            self._failures.popitem(last=False)
        beyond = entry.count - self.free_failures
        if beyond <= 0 or self.first_delay_s <= 0:
            return 0.0
        return float(min(self.first_delay_s * 2.0 ** (beyond - 1), self.max_delay_s))

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)
