"""Rate limits per caller: a sliding window on failures (coupon guessing) and a token bucket on
requests (callers without a key). In-process: with several workers each has its own state, so
the effective limit is the limit times the workers; a restart forgets everything.

Both forget callers that went quiet, so a stream of new keys cannot grow the memory for ever.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]


class FailureLimiter:
    """At most ``limit`` failures per caller within ``window`` seconds."""

    def __init__(self, limit: int, window: float = 60.0, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._sweep_at = 1024

    def _recent(self, caller: str) -> deque[float]:
        failures = self._failures.setdefault(caller, deque())
        cutoff = self.clock() - self.window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[caller]
            return deque()
        return failures

    def blocked(self, caller: str) -> bool:
        return len(self._recent(caller)) >= self.limit

    def fail(self, caller: str) -> None:
        self._recent(caller)
        self._failures.setdefault(caller, deque()).append(self.clock())
        if len(self._failures) >= self._sweep_at:
            self._sweep()

    def _sweep(self) -> None:
        """Drop callers whose last failure left the window (amortised: the next sweep waits
        until the table has doubled)."""
        cutoff = self.clock() - self.window
        self._failures = {k: v for k, v in self._failures.items() if v[-1] > cutoff}
        self._sweep_at = max(1024, 2 * len(self._failures))


class RequestLimiter:
    """A token bucket per caller: ``per_minute`` requests a minute, up to that many at once."""

    def __init__(self, per_minute: int, clock: Clock = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, at)
        self._sweep_at = 1024

    def take(self, caller: str) -> float:
        """0 when the request may go ahead (a token is spent); otherwise the seconds until
        the caller has a token again (nothing is spent)."""
        now = self.clock()
        tokens, at = self._buckets.get(caller, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[caller] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[caller] = (tokens - 1.0, now)
        if len(self._buckets) >= self._sweep_at:
            self._sweep(now)
        return 0.0

    def _sweep(self, now: float) -> None:
        """Drop callers whose bucket has filled up again: they look like new callers."""
        self._buckets = {
            k: (tokens, at)
            for k, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate < self.capacity
        }
        self._sweep_at = max(1024, 2 * len(self._buckets))
