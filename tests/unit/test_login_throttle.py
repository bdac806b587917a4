"""The per-address back-off after failed logins (no sockets, no waiting: times are given)."""

from __future__ import annotations

from gateway.auth.throttle import LoginThrottle


def test_free_failures_then_doubling_delays_up_to_the_cap() -> None:
    throttle = LoginThrottle(free_failures=2, first_delay_s=0.5, max_delay_s=3.0, window_s=60)
    delays = [throttle.failed("10.0.0.1", now=100.0 + i) for i in range(7)]
    assert delays == [0.0, 0.0, 0.5, 1.0, 2.0, 3.0, 3.0]


def test_addresses_are_counted_apart_and_a_success_forgets() -> None:
    throttle = LoginThrottle(free_failures=1, first_delay_s=1.0)
    assert throttle.failed("a", now=0.0) == 0.0
    assert throttle.failed("a", now=1.0) == 1.0
    assert throttle.failed("b", now=1.0) == 0.0
    throttle.succeeded("a")
    assert throttle.failed("a", now=2.0) == 0.0


def test_failures_expire_after_the_window_and_the_table_is_bounded() -> None:
    throttle = LoginThrottle(free_failures=1, first_delay_s=1.0, window_s=10, max_addresses=3)
    throttle.failed("a", now=0.0)
    assert throttle.failed("a", now=20.0) == 0.0  # the first failure is older than the window
    for address in ("b", "c", "d", "e"):
        throttle.failed(address, now=21.0)
    assert throttle.failed("a", now=22.0) == 0.0  # forgotten: only the 3 newest addresses are kept
