"""The programme report and segments by full scans of the source tables: the reference the
rollups are checked against (the SQL they ran before they read rollups)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.ledger import keys
from loyalty.reports.segments import SegmentFilter, SegmentMember, _member
from loyalty.reports.summary import TOP_REWARDS, Cohort, ProgramReport, RewardCount, period
from loyalty.rewards import donation_totals
from loyalty.settings import Settings
from models import EntryKind


def _month(conn: BaseDBAsyncClient, column: str) -> str:
    """SQL for the UTC calendar month ``YYYY-MM`` of a timestamp column."""
    if db.dialect(conn) == "sqlite":
        return f"substr({column}, 1, 7)"  # stored as ISO text in UTC
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"


def _month_number(conn: BaseDBAsyncClient, column: str) -> str:
    """SQL for year * 12 + month of a timestamp column (to count months between two)."""
    if db.dialect(conn) == "sqlite":
        return (
            f"(CAST(substr({column}, 1, 4) AS INTEGER) * 12 "
            f"+ CAST(substr({column}, 6, 2) AS INTEGER))"
        )
    utc = f"({column} AT TIME ZONE 'UTC')"
    return f"CAST(EXTRACT(YEAR FROM {utc}) * 12 + EXTRACT(MONTH FROM {utc}) AS INTEGER)"


_MEMBERS = """
SELECT COALESCE(SUM(CASE WHEN created_at >= $1 THEN 1 ELSE 0 END), 0) AS enrolled,
       COUNT(*) AS total
FROM members WHERE created_at < $2
"""

_ORDERS = """
SELECT COUNT(*) AS orders, COUNT(DISTINCT member_id) AS active,
       COALESCE(SUM(subtotal_cents - discount_cents - refunded_cents), 0) AS revenue
FROM orders WHERE placed_at >= $1 AND placed_at < $2
"""

_REPEAT = """
SELECT COUNT(*) AS repeaters FROM (
    SELECT member_id FROM orders WHERE placed_at >= $1 AND placed_at < $2
    GROUP BY member_id HAVING COUNT(*) >= 2
) AS x
"""

_POINTS = """
SELECT
  COALESCE(SUM(CASE WHEN points > 0 AND kind <> $3 THEN points ELSE 0 END), 0) AS issued,
  COALESCE(SUM(CASE WHEN kind IN ($4, $5) THEN -points
                    WHEN kind = $3 AND points > 0 THEN -points
                    ELSE 0 END), 0) AS redeemed,
  COALESCE(SUM(CASE WHEN kind = $6 THEN -points ELSE 0 END), 0) AS expired
FROM ledger_entries WHERE created_at >= $1 AND created_at < $2
"""

_OUTSTANDING = "SELECT COALESCE(SUM(points), 0) AS points FROM ledger_entries WHERE created_at < $1"

_REFERRALS = """
SELECT COUNT(*) AS referees,
       COALESCE(SUM(CASE WHEN EXISTS (
           SELECT 1 FROM ledger_entries e
           WHERE e.idempotency_key = $3 || CAST(m.id AS TEXT) AND e.created_at < $2
       ) THEN 1 ELSE 0 END), 0) AS converted
FROM members m
WHERE m.referred_by_id IS NOT NULL AND m.created_at >= $1 AND m.created_at < $2
"""

_TOP_REWARDS = """
SELECT r.id, r.name, COUNT(*) AS issued
FROM coupons c JOIN rewards r ON r.id = c.reward_id
WHERE c.created_at >= $1 AND c.created_at < $2
GROUP BY r.id, r.name
ORDER BY issued DESC, r.id
LIMIT $3
"""

# Tier mix now (tiers are a state, not an event of the period): members per tier, and without.
_TIER_MIX = """
SELECT t.name AS tier, COUNT(*) AS n
FROM member_tiers mt JOIN tiers t ON t.id = mt.tier_id
GROUP BY t.name, t.threshold ORDER BY t.threshold
"""


async def _cohorts(conn: BaseDBAsyncClient, since: datetime, until: datetime) -> list[Cohort]:
    cohort = _month(conn, "m.created_at")
    offset = f"{_month_number(conn, 'o.placed_at')} - {_month_number(conn, 'm.created_at')}"
    sizes = await db.fetch(
        conn,
        f"SELECT {cohort} AS cohort, COUNT(*) AS n FROM members m "
        f"WHERE m.created_at >= $1 AND m.created_at < $2 GROUP BY {cohort} ORDER BY {cohort}",
        since,
        until,
    )
    later = (
        f"SELECT m.id AS member_id, {cohort} AS cohort, {offset} AS month_offset "
        "FROM members m JOIN orders o ON o.member_id = m.id "
        "WHERE m.created_at >= $1 AND m.created_at < $2 AND o.placed_at < $2"
    )
    retained = await db.fetch(
        conn,
        f"SELECT cohort, COUNT(DISTINCT member_id) AS n FROM ({later}) AS x "
        "WHERE month_offset > 0 GROUP BY cohort",
        since,
        until,
    )
    by_month = await db.fetch(
        conn,
        f"SELECT cohort, month_offset, COUNT(DISTINCT member_id) AS n FROM ({later}) AS x "
        "WHERE month_offset > 0 GROUP BY cohort, month_offset ORDER BY cohort, month_offset",
        since,
        until,
    )
    kept = {row["cohort"]: int(row["n"]) for row in retained}
    months: dict[str, list[tuple[int, int]]] = {}
    for row in by_month:
        months.setdefault(row["cohort"], []).append((int(row["month_offset"]), int(row["n"])))
    return [
        Cohort(
            row["cohort"], int(row["n"]), kept.get(row["cohort"], 0), months.get(row["cohort"], [])
        )
        for row in sizes
    ]


async def scan_report(
    settings: Settings,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
) -> ProgramReport:
    """The programme's figures for the days ``start`` to ``end`` (both included)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    since, until = period(start, end, now)
    conn = db.connection()

    async def one(query: str, *values: Any) -> dict[str, Any]:
        return (await db.fetch(conn, query, *values))[0]

    enrolled = await one(_MEMBERS, since, until)
    bought = await one(_ORDERS, since, until)
    repeat = await one(_REPEAT, since, until)
    points = await one(
        _POINTS,
        since,
        until,
        EntryKind.REVERSAL.value,
        EntryKind.REDEEM.value,
        EntryKind.DONATE.value,
        EntryKind.EXPIRE.value,
    )
    outstanding = int((await one(_OUTSTANDING, until))["points"])
    referred = await one(_REFERRALS, since, until, keys.REFERRAL_REWARD)
    top = await db.fetch(conn, _TOP_REWARDS, since, until, TOP_REWARDS)
    tiered = [(r["tier"], int(r["n"])) for r in await db.fetch(conn, _TIER_MIX)]
    untiered = max(0, int(enrolled["total"]) - sum(n for _, n in tiered))
    return ProgramReport(
        start=since,
        end=until,
        members_enrolled=int(enrolled["enrolled"]),
        members_total=int(enrolled["total"]),
        active_members=int(bought["active"]),
        orders=int(bought["orders"]),
        revenue_cents=int(bought["revenue"]),
        repeat_customers=int(repeat["repeaters"]),
        cohorts=await _cohorts(conn, since, until),
        points_issued=int(points["issued"]),
        points_redeemed=int(points["redeemed"]),
        points_expired=int(points["expired"]),
        points_outstanding=outstanding,
        liability=(settings.point_value * outstanding).quantize(Decimal("0.01")),
        referees=int(referred["referees"]),
        referees_converted=int(referred["converted"]),
        top_rewards=[RewardCount(int(r["id"]), r["name"], int(r["issued"])) for r in top],
        donations=await donation_totals((since, until), conn),
        tier_mix=[(None, untiered), *tiered],
    )


def _quintile(column: str) -> str:
    return (
        f"CASE WHEN {column} >= 0.8 THEN 5 WHEN {column} >= 0.6 THEN 4 "
        f"WHEN {column} >= 0.4 THEN 3 WHEN {column} >= 0.2 THEN 2 ELSE 1 END"
    )


# $1 now, $2 start of the quiet spell (now - at_risk_days), $3 start of the regular window.
_SCORED = f"""
WITH agg AS (
    SELECT member_id, MAX(placed_at) AS last_order_at, COUNT(*) AS orders,
           SUM(subtotal_cents - discount_cents - refunded_cents) AS spend_cents,
           SUM(CASE WHEN placed_at >= $3 AND placed_at < $2 THEN 1 ELSE 0 END) AS regular
    FROM orders WHERE placed_at <= $1
    GROUP BY member_id
), ranked AS (
    SELECT agg.*,
           PERCENT_RANK() OVER (ORDER BY last_order_at) AS r,
           PERCENT_RANK() OVER (ORDER BY orders) AS f,
           PERCENT_RANK() OVER (ORDER BY spend_cents) AS m
    FROM agg
), scored AS (
    SELECT member_id, last_order_at, orders, spend_cents, regular,
           {_quintile("r")} AS recency, {_quintile("f")} AS frequency,
           {_quintile("m")} AS monetary
    FROM ranked
)
SELECT mb.id, mb.external_id, mb.email, mb.balance, s.last_order_at,
       COALESCE(s.orders, 0) AS orders, COALESCE(s.spend_cents, 0) AS spend_cents,
       s.recency, s.frequency, s.monetary,
       CASE WHEN s.last_order_at < $2 AND s.regular >= $4 THEN 1 ELSE 0 END AS at_risk
FROM members mb LEFT JOIN scored s ON s.member_id = mb.id
"""


def _where(f: SegmentFilter, after_id: int | None) -> tuple[list[str], list[Any]]:
    """Conditions on the scored rows, with their parameters from $5 on."""
    conditions: list[str] = []
    values: list[Any] = []

    def add(sql: str, value: Any) -> None:
        values.append(value)
        conditions.append(sql.replace("?", f"${len(values) + 4}"))

    if f.min_points is not None:
        add("mb.balance >= ?", f.min_points)
    if f.max_points is not None:
        add("mb.balance <= ?", f.max_points)
    if f.tier is not None:
        add(
            "mb.id IN (SELECT mt.member_id FROM member_tiers mt "
            "JOIN tiers t ON t.id = mt.tier_id WHERE t.name = ?)",
            f.tier,
        )
    if f.last_order_before is not None:
        add("s.last_order_at < ?", f.last_order_before.astimezone(UTC))
    if f.last_order_after is not None:
        add("s.last_order_at >= ?", f.last_order_after.astimezone(UTC))
    if f.min_recency is not None:
        add("s.recency >= ?", f.min_recency)
    if f.min_frequency is not None:
        add("s.frequency >= ?", f.min_frequency)
    if f.min_monetary is not None:
        add("s.monetary >= ?", f.min_monetary)
    if f.min_rfm is not None:
        add("s.recency + s.frequency + s.monetary >= ?", f.min_rfm)
    if f.at_risk is not None:
        risky = "(s.last_order_at < $2 AND s.regular >= $4)"
        conditions.append(risky if f.at_risk else f"NOT COALESCE({risky}, FALSE)")
    if after_id is not None:
        add("mb.id > ?", after_id)
    return conditions, values


async def scan_segment(f: SegmentFilter, now: datetime) -> list[SegmentMember]:
    """The whole segment, in id order."""
    quiet_since = now - timedelta(days=f.at_risk_days)
    regular_since = quiet_since - timedelta(days=f.regular_window_days)
    conditions, values = _where(f, None)
    query = _SCORED
    if conditions:
        query += " WHERE " + " AND ".join(conditions)
    query += " ORDER BY mb.id"
    params = (now, quiet_since, regular_since, f.regular_orders, *values)
    return [_member(row) for row in await db.fetch(db.connection(), query, *params)]
