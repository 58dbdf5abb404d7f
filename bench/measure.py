"""Variants measured in alternating rounds, summarised as medians and paired ratios.

The machine may be shared, so background load drifts during a run. Every round runs each variant
once, back to back (in alternating order), and a ratio is the median over rounds of the ratio
within a round: drift that hits both variants of a round cancels out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.load import Call, Sample, drive
from bench.machine import Busy
from bench.report import Table, median

COLUMNS = ["variant", "p50 ms", "p99 ms", "req/s", "server CPU ms/req", "errors"]


@dataclass(frozen=True)
class Variant:
    """A named way to make a call; ``cpu`` reads the CPU seconds its server has used so far."""

    name: str
    call: Call
    cpu: Callable[[], float] | None = None


@dataclass(frozen=True)
class Round:
    sample: Sample
    cpu_seconds: float | None

    @property
    def cpu_ms(self) -> float | None:
        """Server CPU per completed call, in milliseconds."""
        if self.cpu_seconds is None or not self.sample.latencies:
            return None
        return 1000 * self.cpu_seconds / len(self.sample.latencies)


@dataclass(frozen=True)
class Summary:
    """Medians over rounds of one variant's p50, p99, rate and server CPU per call."""

    name: str
    p50: float
    p99: float
    rate: float
    cpu_ms: float | None
    errors: int
    calls: int


@dataclass(frozen=True)
class Ratios:
    """Medians over rounds of (variant / baseline) within each round."""

    p50: float
    p99: float
    rate: float
    cpu_ms: float | None


@dataclass(frozen=True)
class Comparison:
    summaries: list[Summary]
    ratios: list[Ratios]  # to the first variant, one per variant
    busy: float  # how busy the machine's CPUs were during the rounds (0..1)
    runs: list[list[Round]]  # per variant, its rounds

    def ratios_between(self, variant: int, baseline: int) -> Ratios:
        """Paired ratios of one variant to another (by position), as ``ratios`` has to the first."""
        return _ratios(self.runs[variant], self.runs[baseline])

    def row(self, name: str) -> tuple[Summary, Ratios]:
        for summary, ratios in zip(self.summaries, self.ratios, strict=True):
            if summary.name == name:
                return summary, ratios
        raise KeyError(name)


class Numbering:
    """Call numbers that never repeat within a run (order ids are built from them)."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, count: int) -> int:
        first = self.next
        self.next += count
        return first


async def compare(
    variants: list[Variant],
    *,
    total: int,
    rounds: int,
    warmup: int,
    concurrency: int,
    numbering: Numbering,
) -> Comparison:
    """Warm each variant up, then ``rounds`` rounds of ``total`` calls per variant."""
    for variant in variants:
        await drive(
            variant.call, total=warmup, concurrency=concurrency, start=numbering.take(warmup)
        )
    runs: list[list[Round]] = [[] for _ in variants]
    busy = Busy()
    for r in range(rounds):
        order = list(range(len(variants)))
        for i in order if r % 2 == 0 else reversed(order):
            variant = variants[i]
            before = variant.cpu() if variant.cpu else None
            sample = await drive(
                variant.call, total=total, concurrency=concurrency, start=numbering.take(total)
            )
            used = variant.cpu() - before if variant.cpu and before is not None else None
            runs[i].append(Round(sample, used))
    summaries = [_summary(v.name, rs) for v, rs in zip(variants, runs, strict=True)]
    ratios = [_ratios(rs, runs[0]) for rs in runs]
    return Comparison(summaries, ratios, busy.fraction(), runs)


def _summary(name: str, rounds: list[Round]) -> Summary:
    cpu = [r.cpu_ms for r in rounds if r.cpu_ms is not None]
    return Summary(
        name,
        median([r.sample.p50 for r in rounds]),
        median([r.sample.p99 for r in rounds]),
        median([r.sample.rate for r in rounds]),
        median(cpu) if cpu else None,
        sum(r.sample.errors for r in rounds),
        sum(len(r.sample.latencies) + r.sample.errors for r in rounds),
    )


def _ratios(rounds: list[Round], baseline: list[Round]) -> Ratios:
    pairs = list(zip(rounds, baseline, strict=True))
    cpu = [r.cpu_ms / b.cpu_ms for r, b in pairs if r.cpu_ms is not None and b.cpu_ms is not None]
    return Ratios(
        median([r.sample.p50 / b.sample.p50 for r, b in pairs]),
        median([r.sample.p99 / b.sample.p99 for r, b in pairs]),
        median([r.sample.rate / b.sample.rate for r, b in pairs]),
        median(cpu) if cpu else None,
    )


def times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def add_comparison(table: Table, comparison: Comparison, label: str) -> Ratios:
    """A row per variant, then ``label`` with the last variant's ratios to the first."""
    table.notes.append(f"machine CPUs busy while measuring {label}: {comparison.busy:.0%}")
    for s in comparison.summaries:
        table.add(s.name, s.p50, s.p99, s.rate, s.cpu_ms, s.errors)
    ratios = comparison.ratios[-1]
    add_ratios(table, label, ratios)
    return ratios


def add_ratios(table: Table, label: str, ratios: Ratios) -> None:
    """A row of ratios under ``label``."""
    table.add(
        label, times(ratios.p50), times(ratios.p99), times(ratios.rate), times(ratios.cpu_ms), ""
    )


RATIO_NOTE = (
    "ratios: median over rounds of the ratio within a round (the variants of a round run back "
    "to back), so load from other processes that drifts during the run cancels out"
)
