"""The programme report: enrolments, purchases, retention, points, referrals and rewards.

Every figure is an aggregate query in the database (nothing loads rows one by one into Python).
The period is ``[start, end)`` in UTC and passed as parameters, so the same SQL runs on SQLite
and PostgreSQL; only the "month of a timestamp" expression differs between the two.

Definitions:

- revenue: order subtotal less discounts and refunds (shipping excluded), of orders placed in
  the period; average order value = revenue / orders; purchase frequency = orders / active
  members; repeat purchase rate = share of active members with two or more orders.
- retention: members enrolled in the period, by enrolment month (the cohort); a member is
  retained when it ordered in a later calendar month (before the end of the period), and
  ``months`` counts the members ordering 1, 2, ... months after their enrolment month.
- points issued: credits except reversals (a cancelled coupon's points coming back);
  redeemed: redemptions and donations, less points returned by cancelled coupons; expired:
  expiry entries. Redemption rate = redeemed / issued; breakage = expired / issued.
- liability: points outstanding at the end of the period (sum of all entries before it) times
  the value of a point.
- referral conversion: referees enrolled in the period whose referrer got the referral reward
  (their first qualifying order) / referees enrolled in the period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.errors import InvalidInput
from loyalty.ledger import keys
from loyalty.rewards import CauseTotal, donation_totals
from loyalty.settings import Settings
from models import EntryKind

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TOP_REWARDS = 5


@dataclass(frozen=True)
class Cohort:
    month: str  # YYYY-MM of enrolment
    members: int
    retained: int
    months: list[tuple[int, int]] = field(default_factory=list)  # (months later, members)

    @property
    def retention(self) -> float:
        return self.retained / self.members if self.members else 0.0


@dataclass(frozen=True)
class RewardCount:
    reward_id: int
    name: str
    coupons: int


@dataclass(frozen=True)
class ProgramReport:
    start: datetime
    end: datetime
    members_enrolled: int
    members_total: int
    active_members: int
    orders: int
    revenue_cents: int
    repeat_customers: int
    cohorts: list[Cohort]
    points_issued: int
    points_redeemed: int
    points_expired: int
    points_outstanding: int
    liability: Decimal
    referees: int
    referees_converted: int
    top_rewards: list[RewardCount]
    donations: list[CauseTotal]
    tier_mix: list[tuple[str | None, int]]

    @property
    def repeat_purchase_rate(self) -> float | None:
        return _ratio(self.repeat_customers, self.active_members)

    @property
    def average_order_value_cents(self) -> int | None:
        return round(self.revenue_cents / self.orders) if self.orders else None

    @property
    def purchase_frequency(self) -> float | None:
        return _ratio(self.orders, self.active_members)

    @property
    def redemption_rate(self) -> float | None:
        return _ratio(self.points_redeemed, self.points_issued)

    @property
    def breakage(self) -> float | None:
        return _ratio(self.points_expired, self.points_issued)

    @property
    def referral_conversion(self) -> float | None:
        return _ratio(self.referees_converted, self.referees)


def liability(settings: Settings, points: int) -> Decimal:
    """What outstanding points are worth, to the cent."""
    return (settings.point_value * points).quantize(Decimal("0.01"))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def period(start: date | None, end: date | None, now: datetime) -> tuple[datetime, datetime]:
    """``[start 00:00, day after end 00:00)`` in UTC; open ends: the epoch, and now."""
    since = datetime.combine(start, time.min, tzinfo=UTC) if start else EPOCH
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC) if end else now
    if until <= since:
        raise InvalidInput("to must not be before from", field="to")
    return since, until


def month_of(conn: BaseDBAsyncClient, column: str) -> str:
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

# Order figures (a select list, also grouped by month in ``trends``).
ORDER_SUMS = """COUNT(*) AS orders, COUNT(DISTINCT member_id) AS active,
       COALESCE(SUM(subtotal_cents - discount_cents - refunded_cents), 0) AS revenue"""

_ORDERS = f"SELECT {ORDER_SUMS} FROM orders WHERE placed_at >= $1 AND placed_at < $2"

_REPEAT = """
SELECT COUNT(*) AS repeaters FROM (
    SELECT member_id FROM orders WHERE placed_at >= $1 AND placed_at < $2
    GROUP BY member_id HAVING COUNT(*) >= 2
) AS x
"""

# Points issued, redeemed and expired (a select list, also grouped by month in ``trends``);
# $3..$6 are ``POINT_KINDS``.
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

_POINTS = f"SELECT {POINT_SUMS} FROM ledger_entries WHERE created_at >= $1 AND created_at < $2"

OUTSTANDING = "SELECT COALESCE(SUM(points), 0) AS points FROM ledger_entries WHERE created_at < $1"

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
    cohort = month_of(conn, "m.created_at")
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


async def program_report(
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
    points = await one(_POINTS, since, until, *POINT_KINDS)
    outstanding = int((await one(OUTSTANDING, until))["points"])
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
        liability=liability(settings, outstanding),
        referees=int(referred["referees"]),
        referees_converted=int(referred["converted"]),
        top_rewards=[RewardCount(int(r["id"]), r["name"], int(r["issued"])) for r in top],
        donations=await donation_totals((since, until), conn),
        tier_mix=[(None, untiered), *tiered],
    )
