"""Fixed-concurrency load: N calls in flight until a total is done; latencies per call."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Call = Callable[[int], Awaitable[bool]]


@dataclass(frozen=True)
class Sample:
    """One measured run: each call's latency in seconds, the wall time, failed calls."""

    latencies: list[float]
    elapsed: float
    errors: int

    def percentile(self, q: float) -> float:
        """The q-quantile (0..1) of the latencies in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)

    @property
    def rate(self) -> float:
        """Completed calls per second of wall time."""
        return len(self.latencies) / self.elapsed if self.elapsed else float("nan")


async def drive(call: Call, *, total: int, concurrency: int, start: int = 0) -> Sample:
    """Run ``call(i)`` for i in start..start+total with ``concurrency`` calls in flight.

    A call returns whether it succeeded; an exception counts as a failure too. Failed calls
    are counted, not timed.
    """
    numbers = itertools.count(start)
    end = start + total
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        for i in numbers:
            if i >= end:
                return
            began = time.perf_counter()
            try:
                ok = await call(i)
            except Exception:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Sample(latencies, time.perf_counter() - began, errors)
