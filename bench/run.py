"""The command: set up each backend's database, run every benchmark, print and save the tables."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shlex
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import bulk, machine, preview, read_path, scale_data, scaling, seed, write_path
from bench.database import POSTGRES_URL, postgres_reachable, postgres_version, scratch_database
from bench.plan import FULL, QUICK, Bench, Plan
from bench.report import Table
from loyalty import db
from loyalty.ledger import check
from loyalty.settings import Settings

RESULTS = Path(__file__).with_name("results.md")
# Each gives its table, or several; by the name ``--only`` knows it by.
BENCHMARKS: dict[str, Callable[[Bench], Awaitable[Table | list[Table]]]] = {
    "read": read_path.run,
    "write": write_path.run,
    "checkout": preview.run,
    "scaling": scaling.run,
    "bulk": bulk.run,
    "scale_data": scale_data.run,
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument(
        "--quick", action="store_true", help="a short run (about a minute per backend)"
    )
    parser.add_argument(
        "--only",
        type=_names,
        default=list(BENCHMARKS),
        help=f"comma-separated benchmarks to run (of {','.join(BENCHMARKS)}; default all)",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help=f"markdown results (default {RESULTS})"
    )
    parser.add_argument(
        "--scales",
        type=_scales,
        default=None,
        help="data scales of scale_data, e.g. 1,5 (default: 1,5,20; --quick 0.05,0.1,0.2)",
    )
    return parser.parse_args(argv)


def _scales(text: str) -> tuple[float, ...]:
    try:
        scales = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not scales or min(scales) <= 0:
        raise argparse.ArgumentTypeError("scales must be positive")
    return scales


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown or not names:
        given = ", ".join(unknown) or "(none)"
        raise argparse.ArgumentTypeError(
            f"unknown benchmark {given}; choose from {', '.join(BENCHMARKS)}"
        )
    return names


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; 2 when a backend that was asked for is unavailable."""
    args = parse(argv)
    plan = QUICK if args.quick else FULL
    if args.scales:
        plan = dataclasses.replace(plan, data_scales=args.scales)
    results = asyncio.run(run(args.backend, plan, args.quick, args.only))
    if results is None:
        return 2
    args.output.write_text(results)
    print(f"results written to {args.output}")
    return 0


async def run(backend: str, plan: Plan, quick: bool, only: list[str] | None = None) -> str | None:
    """The results as markdown; None when a backend that was asked for is unavailable."""
    backends = ["sqlite", "postgres"] if backend == "all" else [backend]
    skipped: list[str] = []
    pg_version = None
    if "postgres" in backends:
        problem = await postgres_reachable()
        if problem is not None:
            if backend == "postgres":
                print(f"PostgreSQL at {POSTGRES_URL} is not reachable: {problem}", file=sys.stderr)
                return None
            backends.remove("postgres")
            skipped.append(f"PostgreSQL skipped: not reachable at {POSTGRES_URL} ({problem})")
        else:
            pg_version = await postgres_version()
    chosen = list(BENCHMARKS) if only is None else only
    subset = [] if chosen == list(BENCHMARKS) else ["--only", ",".join(chosen)]
    command = "python -m bench " + shlex.join(
        [
            "--backend",
            backend,
            *(["--quick"] if quick else []),
            *subset,
            *(["--scales", ",".join(f"{s:g}" for s in plan.data_scales)]),
        ]
    )
    header = [
        f"{command}  ({'quick' if quick else 'full'} run, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        *machine.describe(pg_version),
        *skipped,
    ]
    print("\n".join(header), flush=True)
    started = time.monotonic()
    tables: list[Table] = []
    with tempfile.TemporaryDirectory(prefix="loyalty-bench-logs-") as logs:
        for name in backends:
            tables += await run_backend(name, plan, Path(logs), chosen)
    header.append(f"load average at end: {machine.load()}")
    header.append(f"total time: {time.monotonic() - started:.0f} s")
    print("\n".join(header[-2:]))
    return markdown(header, tables)


async def run_backend(backend: str, plan: Plan, logs: Path, only: list[str]) -> list[Table]:
    """Seed a new database of this backend and run every benchmark on it."""
    print(f"\n== {backend} ==", flush=True)
    tables = []
    async with scratch_database(backend) as settings:
        began = time.monotonic()
        rows, seeded = seed.generate(plan.members, plan.entries_per_member, plan.products)
        await seed.load(settings, rows)
        await _check_ledger(settings, "the seeded ledger")
        counts = ", ".join(f"{n:,} {t}" for t, n in seeded.rows.items())
        print(f"seeded in {time.monotonic() - began:.1f} s: {counts}; ledger invariants hold")
        bench = Bench(backend, settings, seeded, plan, logs)
        for benchmark in (BENCHMARKS[name] for name in only):
            began = time.monotonic()
            result = await benchmark(bench)
            made = result if isinstance(result, list) else [result]
            texts = "\n\n".join(table.text() for table in made)
            print(f"\n{texts}\n  ({time.monotonic() - began:.0f} s)", flush=True)
            tables += made
        await _check_ledger(settings, "the ledger after the run")
        print("ledger invariants hold after the run (loyalty check)")
    return tables


async def _check_ledger(settings: Settings, what: str) -> None:
    """Fail loudly when ``loyalty check`` finds a broken invariant."""
    await db.init(settings, apply_migrations=False)
    try:
        violations = await check.violations()
    finally:
        await db.close()
    if violations:
        shown = "; ".join(map(str, violations[:3]))
        raise RuntimeError(f"{what} breaks {len(violations)} invariants: {shown}")


def markdown(header: list[str], tables: list[Table]) -> str:
    """bench/results.md: the machine, then every table."""
    lines = ["# Benchmark results", "", "Written by `python -m bench`; regenerate, don't edit.", ""]
    lines += [f"- {line}" for line in header]
    for table in tables:
        lines += ["", table.markdown()]
    return "\n".join(lines) + "\n"
