"""A sliding-window limit on failures, per caller (coupon guessing). In-process: with several
workers each has its own window, so the effective limit is the limit times the workers."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class FailureLimiter:
    """At most ``limit`` failures per caller within ``window`` seconds."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

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
