"""The programme report and a segment on a database that already holds a history (for
instance after ``loyalty import completejourney``): read live with nothing rolled up, then
from the rollups.

``python -m bench.report_rollups URL [--repeat N]``. It empties and rebuilds the rollups of
that database (they are derived data), and writes nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

from bench.database import bench_settings
from bench.report import Table
from loyalty import db
from loyalty.reports import rollups, segments
from loyalty.reports import summary as reports
from loyalty.settings import Settings


async def _seconds(work: Callable[[], Awaitable[object]], repeat: int) -> float:
    spent = []
    for _ in range(repeat):
        began = time.perf_counter()
        await work()
        spent.append(time.perf_counter() - began)
    return statistics.median(spent)


def _queries(settings: Settings, periods: list[tuple[str, date | None, date | None]]):
    """What is timed: the report for each period, and two segments."""
    out: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        (f"programReport, {name}", lambda s=start, e=end: reports.program_report(settings, s, e))
        for name, start, end in periods
    ]
    for name, f in (
        ("segment, every member (RFM)", segments.SegmentFilter()),
        ("segment, at risk", segments.SegmentFilter(at_risk=True)),
    ):
        out.append((name, lambda f=f: segments.find(f, None)))
    return out


async def _periods() -> list[tuple[str, date | None, date | None]]:
    rows = await db.fetch(db.connection(), "SELECT MAX(placed_at) AS last FROM orders")
    last = rows[0]["last"]
    if isinstance(last, str):
        last = datetime.fromisoformat(last)
    end = (last or datetime.now(UTC)).date()
    return [
        ("all history, open end", None, None),
        ("last 365 days", end - timedelta(days=364), end),
        ("last 30 days", end - timedelta(days=29), end),
    ]


async def run(settings: Settings, repeat: int) -> Table:
    await db.init(settings, apply_migrations=False)
    conn = db.connection()
    try:
        sizes = {
            t: int((await db.fetch(conn, f"SELECT COUNT(*) AS n FROM {t}"))[0]["n"])
            for t in ("members", "orders", "ledger_entries")
        }
        table = Table(
            f"programReport on {settings.database_url.split('/')[-1]} ({db.dialect(conn)}): "
            f"{sizes['members']} members, {sizes['orders']} orders, "
            f"{sizes['ledger_entries']} ledger entries; median of {repeat}",
            ["query", "nothing rolled up s", "rolled up s", "ratio"],
        )
        await db.execute(conn, "DELETE FROM report_rollups")
        await db.execute(conn, "DELETE FROM report_rollup_marks")
        await db.execute(conn, "DELETE FROM report_member_totals")
        queries = _queries(settings, await _periods())
        live = {name: await _seconds(query, repeat) for name, query in queries}
        began = time.perf_counter()
        rolled = await rollups.rebuild()
        rebuild = time.perf_counter() - began
        for name, query in queries:
            fast = await _seconds(query, repeat)
            table.add(name, live[name], fast, f"{live[name] / fast:.1f}x")
        rows = int((await db.fetch(conn, "SELECT COUNT(*) AS n FROM report_rollups"))[0]["n"])
        idle = await _seconds(rollups.roll, repeat)
        table.notes += [
            f"rebuild (every row rolled up once): {rebuild:.1f} s; {rolled}",
            f"report_rollups rows: {rows}; a roll with nothing new: {idle * 1000:.0f} ms",
        ]
        return table
    finally:
        await db.close()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report_rollups")
    parser.add_argument("url", help="database URL (postgres://... or sqlite://...)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    table = asyncio.run(run(bench_settings(args.url), args.repeat))
    print(table.text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
