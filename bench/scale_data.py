"""6. Data at scale: import, retrain, programReport and ``me`` at 1x, 5x and 20x the data set.

Each scale gets a new PostgreSQL database filled by ``loyalty import synthetic --members N``
(the Complete Journey households cloned, ``loyalty.ops.importer.import_synthetic``), then
``loyalty rollups rebuild`` (the report rollups a running shop's jobs runner keeps) and
``loyalty retrain`` run on it, ``programReport``'s domain function is timed in this process,
and the ``me`` query is driven against one uvicorn worker. The commands run as a user runs them,
through ``bench.bulk``'s launcher (wall time, the child's peak RSS and CPU seconds). Every figure
is compared with the first scale's.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from bench import http
from bench.bulk import Finished, households_in_data_set, loyalty
from bench.database import scratch_database
from bench.measure import Variant, compare
from bench.plan import Bench
from bench.read_path import me_call
from bench.report import Table, median, verdict
from bench.servers import APP, serve
from loyalty import db
from loyalty.ledger import check
from loyalty.members import tokens
from loyalty.reports import summary
from loyalty.settings import Settings
from models import Member

IMPORTED = re.compile(r"imported synthetic: households (\d+) .*?orders (\d+), lines (\d+),")
STEP = re.compile(r"^\s+(\w+) seconds: ([\d.]+)$", re.MULTILINE)
PRECOMPUTED = re.compile(r"^\s+precomputed members: (\d+)$", re.MULTILINE)
REPORT_CALLS = 3
ME_MEMBERS = 200
# Targets on a 2-core machine at 20x (about 29M order lines, 49k members)
RETRAIN_SECONDS = 15 * 60
RETRAIN_MIB = 8 * 1024
PRECOMPUTE_RATE = 2000
GROWTH = 25  # time at 20x / time at 1x
COLUMNS = [
    "scale",
    "members",
    "order lines",
    "import s",
    "import CPU s",
    "import vs first",
    "rollups s",
    "retrain s",
    "retrain CPU s",
    "retrain vs first",
    "retrain peak RSS MiB",
    "precompute members/s",
    "programReport s",
    "report vs first",
    "me p50 ms",
    "me p50 vs first",
]


@dataclass(frozen=True)
class Scaled:
    """One scale's database and what was measured on it."""

    scale: float
    members: int
    lines: int
    imported: Finished
    rolled: Finished
    retrained: Finished
    precompute_rate: float | None
    report_seconds: float
    me_p50: float


async def report_seconds(settings: Settings) -> float:
    """Median wall time of ``programReport`` (default period) over ``REPORT_CALLS`` calls."""
    await db.init(settings, apply_migrations=False)
    try:
        spent = []
        for _ in range(REPORT_CALLS):
            began = time.perf_counter()
            await summary.program_report(settings)
            spent.append(time.perf_counter() - began)
        return median(spent)
    finally:
        await db.close()


async def _member_headers(settings: Settings) -> list[dict[str, str]]:
    """Tokens of ``ME_MEMBERS`` members spread over the whole id range (every clone)."""
    await db.init(settings, apply_migrations=False)
    try:
        violations = await check.violations()
        if violations:
            raise RuntimeError(f"the synthetic import breaks invariants: {violations[:3]}")
        ids = [row[0] for row in await Member.all().order_by("id").values_list("id")]
    finally:
        await db.close()
    step = max(1, len(ids) // ME_MEMBERS)
    return [{"Authorization": f"Bearer {tokens.issue(int(i), settings)[0]}"} for i in ids[::step]][
        :ME_MEMBERS
    ]


async def me_p50(bench: Bench, settings: Settings, name: str) -> float:
    """Median over rounds of the ``me`` query's p50 (ms), one uvicorn worker."""
    plan = bench.plan
    headers = await _member_headers(settings)
    with serve(APP, settings, bench.log(name)) as server:
        pool = http.Pool(server.base, plan.concurrency)
        try:
            result = await compare(
                [Variant("me", me_call(pool, headers), server.cpu_seconds)],
                total=plan.read_requests,
                rounds=plan.rounds,
                warmup=plan.warmup,
                concurrency=plan.concurrency,
                numbering=bench.numbering,
            )
        finally:
            await pool.close()
    found = result.summaries[0]
    if found.errors:
        raise RuntimeError(f"{found.errors} of {found.calls} me calls failed at {name}")
    return found.p50


async def measure(bench: Bench, scale: float, per_clone: int, models: Path) -> Scaled:
    """A new database at ``scale`` times the data set's households, and its figures."""
    members = max(1, round(scale * per_clone))
    label = f"scale-{scale:g}x"
    async with scratch_database("postgres") as settings:
        imported = await loyalty(
            bench,
            f"{label}-import",
            ["import", "synthetic", "--members", str(members)],
            settings,
            models,
        )
        found = IMPORTED.search(imported.out)
        if imported.code != 0 or found is None:
            raise imported.failure("loyalty import synthetic")
        lines = int(found.group(3))
        # A running shop's jobs runner rolls the report rollups daily; an import is rolled once.
        rolled = await loyalty(bench, f"{label}-rollups", ["rollups", "rebuild"], settings, models)
        if rolled.code != 0:
            raise rolled.failure("loyalty rollups rebuild")
        retrained = await loyalty(bench, f"{label}-retrain", ["retrain"], settings, models)
        # 1: refused to publish (below popularity on the holdout); the retrain itself ran
        if retrained.code not in (0, 1) or not retrained.out.strip():
            raise retrained.failure("loyalty retrain")
        steps = {step: float(seconds) for step, seconds in STEP.findall(retrained.out)}
        counted = PRECOMPUTED.search(retrained.out)
        rate = None
        if counted and steps.get("precompute"):
            rate = int(counted.group(1)) / steps["precompute"]
        report = await report_seconds(settings)
        p50 = await me_p50(bench, settings, f"{label}-me")
    return Scaled(scale, members, lines, imported, rolled, retrained, rate, report, p50)


def _ratio(value: float, first: float) -> str:
    return f"{value / first:.2f}x" if first > 0 else "-"


async def run(bench: Bench) -> Table:
    """Every scale of the plan, smallest first; ratios to the smallest."""
    scales = bench.plan.data_scales
    table = Table(
        f"Data at scale ({bench.backend}): synthetic import, retrain, programReport, me "
        f"at {', '.join(f'{s:g}x' for s in scales)} the Complete Journey households",
        COLUMNS,
    )
    if bench.settings.is_sqlite:
        table.notes.append("measured on PostgreSQL only (the production store at this size)")
        return table
    per_clone = households_in_data_set()
    rows: list[Scaled] = []
    for scale in scales:
        began = time.monotonic()
        rows.append(await measure(bench, scale, per_clone, bench.logs / "scale-models"))
        print(f"  scale {scale:g}x measured in {time.monotonic() - began:.0f} s", flush=True)
    first = rows[0]
    for row in rows:
        table.add(
            f"{row.scale:g}x",
            row.members,
            row.lines,
            row.imported.seconds,
            row.imported.cpu_seconds,
            _ratio(row.imported.seconds, first.imported.seconds),
            row.rolled.seconds,
            row.retrained.seconds,
            row.retrained.cpu_seconds,
            _ratio(row.retrained.seconds, first.retrained.seconds),
            row.retrained.peak_mib,
            row.precompute_rate,
            row.report_seconds,
            _ratio(row.report_seconds, first.report_seconds),
            row.me_p50,
            _ratio(row.me_p50, first.me_p50),
        )
    table.notes += _targets(rows)
    table.notes += [
        "each scale is a new PostgreSQL database: `loyalty import synthetic --members N` (the "
        "data set's households cloned with new ids and per-household time jitter), then "
        "`loyalty rollups rebuild` (what the daily jobs runner keeps rolled), `loyalty retrain` "
        "(holdout evaluation, fit, precompute, publish); wall s is the whole "
        "process, CPU s its user + system time (on a shared machine the CPU time says more "
        "about the code, the wall time about the machine), peak RSS its ru_maxrss (the "
        "largest single process: precompute workers, when there are several, each hold their "
        "own copy of the model on top of it)",
        "precompute members/s: members with offers (plus the fallback list) over the "
        "precompute step's seconds as `loyalty retrain` prints them",
        f"programReport: median of {REPORT_CALLS} calls of the domain function (default "
        f"period) in the bench process; me: {bench.plan.rounds} rounds of "
        f"{bench.plan.read_requests} requests from {ME_MEMBERS} members spread over every "
        f"clone, {bench.plan.concurrency} in flight, one uvicorn worker; `loyalty check` "
        "finds no violation on each database",
    ]
    return table


def _targets(rows: list[Scaled]) -> list[str]:
    """Whether the 20x targets are met, on the figures of this run."""
    at20 = next((row for row in rows if row.scale == 20), None)
    first = rows[0]
    if at20 is None:
        biggest = rows[-1]
        return [
            f"20x was not part of this run; the targets are judged at 20x only (largest here: "
            f"{biggest.scale:g}x, retrain {biggest.retrained.seconds:.0f} s, peak RSS "
            f"{biggest.retrained.peak_mib:,.0f} MiB)"
        ]
    notes = [
        verdict("retrain wall s at 20x", at20.retrained.seconds, at_most=RETRAIN_SECONDS),
        verdict("retrain peak RSS MiB at 20x", at20.retrained.peak_mib, at_most=RETRAIN_MIB),
    ]
    if at20.precompute_rate is not None:
        notes.append(
            verdict("precompute members/s at 20x", at20.precompute_rate, at_least=PRECOMPUTE_RATE)
        )
    if first.scale == 1:
        notes.append(
            verdict(
                "retrain time 20x / 1x",
                at20.retrained.seconds / first.retrained.seconds,
                at_most=GROWTH,
            )
        )
    return notes
