"""The programme report: enrolments, purchases, retention, points, referrals and rewards.

The figures come from daily rollups (``loyalty.reports.rollups``): the whole days of the period
are read from them, and what they do not hold yet (rows written since the last roll, the
unfinished last day of a period that ends now) is added live from indexed rows, so a report
costs about the rollup rows of the days it covers, not the orders and ledger entries behind
them. The period is ``[start, end)`` in UTC.

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

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.errors import InvalidInput
from loyalty.reports import rollups
from loyalty.rewards import CauseTotal
from loyalty.settings import Settings
from models import Order, ReportRollup

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


# Tier mix now (tiers are a state, not an event of the period): members per tier, and without.
_TIER_MIX = """
SELECT t.name AS tier, COUNT(*) AS n
FROM member_tiers mt JOIN tiers t ON t.id = mt.tier_id
GROUP BY t.name, t.threshold ORDER BY t.threshold
"""


# Figures summed over the days of the period as they are (no second day to look at).
_FLAT = (*rollups.FLAT, *rollups.DONATIONS)


@dataclass
class _Tally:
    """The report's sums over rollup rows and live rows of the days ``first`` on."""

    first: int
    sums: Counter[str] = field(default_factory=Counter)
    coupons: Counter[int] = field(default_factory=Counter)
    donations: Counter[tuple[str, str]] = field(default_factory=Counter)
    enrolled_total: int = 0
    outstanding: int = 0
    sizes: Counter[int] = field(default_factory=Counter)  # enrolments per day of the period
    # members by (enrolment month, month of a later order, 1 if the first such month)
    cohort: Counter[tuple[int, int, int]] = field(default_factory=Counter)

    def add(self, key: rollups.Key, value: int, last: int) -> None:
        """Count one row of a figure if it falls in the days ``first`` to ``last``."""
        metric, day, other, ref, label = key
        if day > last:
            return
        if metric == "net":  # outstanding: every entry before the end
            self.outstanding += value
            return
        if metric == "enrolled":
            self.enrolled_total += value
            if day >= self.first:
                self.sizes[day] += value
            return
        if day < self.first:
            return
        if metric in ("gap1", "gap2"):  # orders whose earlier order is in the period too
            if other >= self.first:
                self.sums[metric] += value
        elif metric in ("converted", "cohort"):  # a second day that must be in the period
            if other <= last:
                if metric == "cohort":
                    months = (rollups.month_of_day(day), rollups.month_of_day(other))
                    self.cohort[(*months, ref)] += value
                else:
                    self.sums[metric] += value
        elif metric == "coupons":
            self.coupons[ref] += value
        elif metric in rollups.DONATIONS:
            self.donations[(label, metric)] += value
        else:
            self.sums[metric] += value

    def add_all(self, rows: list[tuple[rollups.Key, int]], sign: int, last: int) -> None:
        for key, value in rows:
            self.add(key, sign * value, last)


async def _read_rollups(conn: BaseDBAsyncClient, tally: _Tally, last: int) -> None:
    """The rolled-up days ``tally.first`` to ``last``, summed in the database where the
    figure allows (one row per figure, not per day)."""
    first, table = tally.first, ReportRollup._meta.db_table
    flat = await db.fetch(
        conn,
        f"SELECT metric, ref, label, SUM(value) AS value FROM {table} "
        f"WHERE metric IN ({', '.join(repr(m) for m in _FLAT)}) AND day >= $1 AND day <= $2 "
        "GROUP BY metric, ref, label "
        f"UNION ALL SELECT metric, 0, '', SUM(value) FROM {table} "
        "WHERE metric IN ('gap1', 'gap2') AND day >= $1 AND day <= $2 AND other >= $1 "
        "GROUP BY metric "
        f"UNION ALL SELECT metric, 0, '', SUM(value) FROM {table} "
        "WHERE metric = 'converted' AND day >= $1 AND day <= $2 AND other <= $2 "
        "GROUP BY metric",
        first,
        last,
    )
    for r in flat:  # stands at the first day: inside every bound the query applied
        tally.add((r["metric"], first, first, int(r["ref"]), r["label"]), int(r["value"]), last)
    totals = await db.fetch(
        conn,
        f"SELECT metric, CASE WHEN day < $1 THEN $1 - 1 ELSE day END AS d, "
        f"SUM(value) AS value FROM {table} "
        "WHERE metric IN ('enrolled', 'net') AND day <= $2 GROUP BY 1, 2",
        first,
        last,
    )
    for r in totals:
        tally.add((r["metric"], int(r["d"]), 0, 0, ""), int(r["value"]), last)
    enrolled, ordered = rollups.day_month_sql(conn, "day"), rollups.day_month_sql(conn, "other")
    cohorts = await db.fetch(
        conn,
        f"SELECT {enrolled} AS enrolled, {ordered} AS ordered, ref, SUM(value) AS value "
        f"FROM {table} WHERE metric = 'cohort' AND day >= $1 AND day <= $2 AND other <= $2 "
        "GROUP BY 1, 2, 3",
        first,
        last,
    )
    for r in cohorts:
        tally.cohort[(int(r["enrolled"]), int(r["ordered"]), int(r["ref"]))] += int(r["value"])


async def _tally(conn: BaseDBAsyncClient, since: datetime, until: datetime) -> _Tally:
    """Rollups for the whole days before the period's last unfinished one, plus live rows."""
    cut = datetime.combine(until.date(), time.min, tzinfo=UTC)  # start of the day until is in
    cut_day = rollups.day_number(cut.date())
    last = rollups.day_number((until - timedelta(microseconds=1)).date())
    tally = _Tally(rollups.day_number(since.date()))
    marks = await rollups.marks(conn)
    await _read_rollups(conn, tally, cut_day - 1)
    unrolled = await rollups.additive(conn, lambda m: rollups.rows_unrolled(marks, cut, m))
    tally.add_all(unrolled, 1, last)
    if cut < until:
        today = await rollups.additive(
            conn, lambda m: rollups.rows_dated(cut, until), refunded=True
        )
        tally.add_all(today, 1, last)
    # Members with orders the rollups do not hold: their order sequences, counted again.
    orders, rolled = Order._meta.db_table, marks.get(Order._meta.db_table, 0)
    touched = await rollups.member_ids(
        conn,
        f"SELECT member_id FROM {orders} WHERE id > $1 UNION "
        f"SELECT member_id FROM {orders} WHERE placed_at >= $2 AND placed_at < $3",
        rolled,
        cut,
        until,
    )
    if touched:  # what the rollups count for them in the period, and what they should
        in_period = rollups.MemberOrders(touched, placed_from=since, enrolled_from=since)
        before = replace(in_period, upto_id=rolled, before=cut, enrolled_before=cut)
        tally.add_all(await rollups.sequences(conn, before), -1, cut_day - 1)
        now = replace(in_period, before=until, enrolled_before=until)
        tally.add_all(await rollups.sequences(conn, now), 1, last)
    return tally


def _cohorts(tally: _Tally) -> list[Cohort]:
    sizes: Counter[int] = Counter()
    for day, n in tally.sizes.items():
        sizes[rollups.month_of_day(day)] += n
    retained: Counter[int] = Counter()
    months: Counter[tuple[int, int]] = Counter()
    for (cohort, ordered, first_month), n in tally.cohort.items():
        months[(cohort, ordered - cohort)] += n
        if first_month:
            retained[cohort] += n
    return [
        Cohort(
            f"{(month - 1) // 12:04d}-{(month - 1) % 12 + 1:02d}",
            n,
            retained[month],
            sorted((later, k) for (c, later), k in months.items() if c == month and k),
        )
        for month, n in sorted(sizes.items())
        if n
    ]


async def _top_rewards(conn: BaseDBAsyncClient, coupons: Counter[int]) -> list[RewardCount]:
    top = sorted(((-n, reward) for reward, n in coupons.items() if n > 0))[:TOP_REWARDS]
    if not top:
        return []
    ids = [reward for _, reward in top]
    names = await db.fetch(
        conn, f"SELECT id, name FROM rewards WHERE id IN ({db.in_list(len(ids))})", *ids
    )
    name = {int(r["id"]): str(r["name"]) for r in names}
    return [RewardCount(reward, name[reward], -n) for n, reward in top]


def _donations(tally: _Tally) -> list[CauseTotal]:
    causes = sorted({label for label, _ in tally.donations})
    return [
        CauseTotal(
            cause,
            tally.donations[(cause, "don_n")],
            tally.donations[(cause, "don_pts")],
            tally.donations[(cause, "don_val")],
        )
        for cause in causes
        if tally.donations[(cause, "don_n")]
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

    async def read(conn: BaseDBAsyncClient) -> ProgramReport:
        tally = await _tally(conn, since, until)
        s = tally.sums
        tiered = [(r["tier"], int(r["n"])) for r in await db.fetch(conn, _TIER_MIX)]
        untiered = max(0, tally.enrolled_total - sum(n for _, n in tiered))
        return ProgramReport(
            start=since,
            end=until,
            members_enrolled=sum(tally.sizes.values()),
            members_total=tally.enrolled_total,
            active_members=s["orders"] - s["gap1"],
            orders=s["orders"],
            revenue_cents=s["revenue"],
            repeat_customers=s["gap1"] - s["gap2"],
            cohorts=_cohorts(tally),
            points_issued=s["issued"],
            points_redeemed=s["redeemed"],
            points_expired=s["expired"],
            points_outstanding=tally.outstanding,
            liability=liability(settings, tally.outstanding),
            referees=s["referees"],
            referees_converted=s["converted"],
            top_rewards=await _top_rewards(conn, tally.coupons),
            donations=_donations(tally),
            tier_mix=[(None, untiered), *tiered],
        )

    return await rollups.in_one_snapshot(read)
