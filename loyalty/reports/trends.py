"""The programme month by month: enrolments, orders, revenue, points and liability over time.

The figures are those of ``summary`` (the same definitions as its daily rollups, in
``rollups``), read here straight from the rows and grouped by UTC calendar month in four
aggregate queries whatever the number of months; months without any activity are filled with
zeros so a chart's time axis has no holes. ``tests/loyalty/test_trends.py`` holds the series to
the report's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.reports.summary import EPOCH, liability, period
from loyalty.settings import Settings
from models import EntryKind

MAX_MONTHS = 120

# Orders, active members and revenue (refunds taken off), as the report counts them.
ORDER_SUMS = """COUNT(*) AS orders, COUNT(DISTINCT member_id) AS active,
       COALESCE(SUM(subtotal_cents - discount_cents - refunded_cents), 0) AS revenue"""
# Points issued (credits but reversals), redeemed (redemptions and donations less points that
# came back) and expired, as ``rollups`` sums them per day; $3..$6 are ``POINT_KINDS``.
POINT_SUMS = """
  COALESCE(SUM(CASE WHEN points > 0 AND kind <> $3 THEN points ELSE 0 END), 0) AS issued,
  COALESCE(SUM(CASE WHEN kind IN ($4, $5) THEN -points
                    WHEN kind = $3 AND points > 0 THEN -points
                    ELSE 0 END), 0) AS redeemed,
  COALESCE(SUM(CASE WHEN kind = $6 THEN -points ELSE 0 END), 0) AS expired"""
POINT_KINDS = (
    EntryKind.REVERSAL.value,
    EntryKind.REDEEM.value,
    EntryKind.DONATE.value,
    EntryKind.EXPIRE.value,
)
OUTSTANDING = "SELECT COALESCE(SUM(points), 0) AS points FROM ledger_entries WHERE created_at < $1"


def month_of(conn: BaseDBAsyncClient, column: str) -> str:
    """SQL for the UTC calendar month ``YYYY-MM`` of a timestamp column."""
    if db.dialect(conn) == "sqlite":
        return f"substr({column}, 1, 7)"  # stored as ISO text in UTC
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM
    enrolled: int
    orders: int
    active_members: int
    revenue_cents: int
    points_issued: int
    points_redeemed: int
    points_expired: int
    points_outstanding: int  # at the end of the month (or of the period)
    liability: Decimal

    @property
    def breakage(self) -> float | None:
        return self.points_expired / self.points_issued if self.points_issued else None

    @property
    def redemption_rate(self) -> float | None:
        return self.points_redeemed / self.points_issued if self.points_issued else None


def _months(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM`` from ``first`` to ``last``, both included."""
    year, month = int(first[:4]), int(first[5:7])
    out: list[str] = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


async def monthly(
    settings: Settings,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
) -> list[Month]:
    """One row per month of ``start``..``end`` (both included; open ends as in the report),
    from the first month with any activity; at most the last ``MAX_MONTHS``."""
    now = now or datetime.now(EPOCH.tzinfo)
    since, until = period(start, end, now)
    conn = db.connection()

    async def grouped(select: str, source: str, column: str, *extra: Any) -> dict[str, Any]:
        month = month_of(conn, column)
        rows = await db.fetch(
            conn,
            f"SELECT {month} AS month, {select} {source} "
            f"WHERE {column} >= $1 AND {column} < $2 GROUP BY {month}",
            since,
            until,
            *extra,
        )
        return {row["month"]: row for row in rows}

    enrolled = await grouped("COUNT(*) AS enrolled", "FROM members", "created_at")
    orders = await grouped(ORDER_SUMS, "FROM orders", "placed_at")
    points = await grouped(
        f"{POINT_SUMS}, SUM(points) AS net", "FROM ledger_entries", "created_at", *POINT_KINDS
    )
    before = int((await db.fetch(conn, OUTSTANDING, since))[0]["points"])
    seen = sorted({*enrolled, *orders, *points})
    if not seen:
        return []
    months = _months(seen[0], seen[-1])
    out: list[Month] = []
    outstanding = before
    for month in months:
        o, p = orders.get(month, {}), points.get(month, {})
        outstanding += int(p.get("net") or 0)
        out.append(
            Month(
                month=month,
                enrolled=int(enrolled.get(month, {}).get("enrolled") or 0),
                orders=int(o.get("orders") or 0),
                active_members=int(o.get("active") or 0),
                revenue_cents=int(o.get("revenue") or 0),
                points_issued=int(p.get("issued") or 0),
                points_redeemed=int(p.get("redeemed") or 0),
                points_expired=int(p.get("expired") or 0),
                points_outstanding=outstanding,
                liability=liability(settings, outstanding),
            )
        )
    return out[-MAX_MONTHS:]
