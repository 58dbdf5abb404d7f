"""Member segments: points range, last order date, RFM scores and an at-risk flag, in SQL.

RFM scores members who have ordered (up to ``now``) from 1 to 5 on recency (latest order),
frequency (number of orders) and monetary value (subtotal less discounts and refunds): the
score is the quintile of the member's ``PERCENT_RANK`` among all ordering members, so equal
values share a score (NTILE would split ties arbitrarily). PERCENT_RANK is a standard window
function on PostgreSQL and on SQLite (3.25+), so one query serves both.

At risk: no order in the last ``at_risk_days`` days, yet at least ``regular_orders`` orders in the
``regular_window_days`` days before that quiet spell (a regular who stopped coming).

Each member's order count, spend and latest order come from the rollups' member totals
(``loyalty.reports.rollups``), except for members with orders or refunds written since the last
roll, or orders dated after ``now``, whose totals are summed from their orders; the regulars'
order counts read only the orders of their window (by date, indexed). So a segment costs about
the number of members, not the number of orders behind them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from loyalty import db
from loyalty.errors import InvalidInput
from loyalty.money import from_cents
from loyalty.paging import fetch_page
from loyalty.reports import rollups
from models import Member, Order, Refund


@dataclass(frozen=True)
class SegmentFilter:
    """Every condition given must hold; None: not filtered on."""

    min_points: int | None = None
    max_points: int | None = None
    tier: str | None = None
    last_order_before: datetime | None = None
    last_order_after: datetime | None = None
    min_recency: int | None = None
    min_frequency: int | None = None
    min_monetary: int | None = None
    min_rfm: int | None = None  # sum of the three scores, 3 to 15
    at_risk: bool | None = None
    at_risk_days: int = 60
    regular_orders: int = 3
    regular_window_days: int = 90


@dataclass(frozen=True)
class SegmentMember:
    member_id: int
    external_id: str
    email: str
    balance: int
    orders: int
    spend_cents: int
    last_order_at: datetime | None
    recency: int | None
    frequency: int | None
    monetary: int | None
    at_risk: bool

    @property
    def rfm(self) -> int | None:
        if self.recency is None or self.frequency is None or self.monetary is None:
            return None
        return self.recency + self.frequency + self.monetary


def _quintile(column: str) -> str:
    return (
        f"CASE WHEN {column} >= 0.8 THEN 5 WHEN {column} >= 0.6 THEN 4 "
        f"WHEN {column} >= 0.4 THEN 3 WHEN {column} >= 0.2 THEN 2 ELSE 1 END"
    )


# $1 now, $2 start of the quiet spell (now - at_risk_days), $3 start of the regular window,
# $4 regular orders, $5 and $6 how far orders and refunds are rolled up.
_SCORED = f"""
WITH live AS (
    SELECT member_id FROM orders WHERE id > $5
    UNION SELECT o.member_id FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.id > $6
    UNION SELECT member_id FROM orders WHERE placed_at > $1
), totals AS (
    SELECT t.member_id, t.last_order_at, t.orders, t.spend_cents FROM report_member_totals t
    WHERE t.member_id NOT IN (SELECT member_id FROM live)
    UNION ALL
    SELECT member_id, MAX(placed_at), COUNT(*),
           SUM(subtotal_cents - discount_cents - refunded_cents)
    FROM orders WHERE placed_at <= $1 AND member_id IN (SELECT member_id FROM live)
    GROUP BY member_id
), regulars AS (
    -- only members quiet since $2 can be at risk: their orders of the window, by index
    SELECT t.member_id, (
        SELECT COUNT(*) FROM orders o WHERE o.member_id = t.member_id
        AND o.placed_at >= $3 AND o.placed_at < $2 AND o.placed_at <= $1
    ) AS regular
    FROM totals t WHERE t.last_order_at < $2
), agg AS (
    SELECT totals.*, COALESCE(regulars.regular, 0) AS regular
    FROM totals LEFT JOIN regulars ON regulars.member_id = totals.member_id
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
    """Conditions on the scored rows, with their parameters from $7 on."""
    conditions: list[str] = []
    values: list[Any] = []

    def add(sql: str, value: Any) -> None:
        values.append(value)
        conditions.append(sql.replace("?", f"${len(values) + 6}"))

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


def _check(f: SegmentFilter) -> None:
    for name in ("min_recency", "min_frequency", "min_monetary"):
        value = getattr(f, name)
        if value is not None and not 1 <= value <= 5:
            raise InvalidInput(f"{name} must be between 1 and 5", field=name)
    if f.min_rfm is not None and not 3 <= f.min_rfm <= 15:
        raise InvalidInput("min_rfm must be between 3 and 15", field="minRfm")
    if not (1 <= f.at_risk_days <= 3660 and 1 <= f.regular_window_days <= 3660):
        raise InvalidInput("at-risk windows must be between 1 and 3660 days", field="atRisk")
    if not 1 <= f.regular_orders <= 100_000:
        raise InvalidInput("regularOrders must be between 1 and 100000", field="atRisk")


async def find(
    f: SegmentFilter, first: int | None, after_id: int | None = None, now: datetime | None = None
) -> tuple[list[SegmentMember], bool]:
    """Members in the segment in id order after a cursor (all with ``first=None``); more?"""
    _check(f)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    quiet_since = now - timedelta(days=f.at_risk_days)
    regular_since = quiet_since - timedelta(days=f.regular_window_days)
    conditions, values = _where(f, after_id)
    query = _SCORED
    if conditions:
        query += " WHERE " + " AND ".join(conditions)
    query += " ORDER BY mb.id"

    async def fetch(limit: int | None) -> list[SegmentMember]:
        limited = query if limit is None else f"{query} LIMIT {int(limit)}"

        async def read(conn: BaseDBAsyncClient) -> list[dict[str, Any]]:
            marks = await rollups.marks(conn)
            rolled = (marks.get(Order._meta.db_table, 0), marks.get(Refund._meta.db_table, 0))
            params = (now, quiet_since, regular_since, f.regular_orders, *rolled, *values)
            return await db.fetch(conn, limited, *params)

        return [_member(row) for row in await rollups.in_one_snapshot(read)]

    if first is None:
        return await fetch(None), False
    return await fetch_page(fetch, first)


async def page(
    f: SegmentFilter, first: int, after_id: int | None = None, now: datetime | None = None
) -> tuple[list[tuple[Member, SegmentMember]], bool]:
    """A page of the segment with each member's row (one more query, not one per member)."""
    found, more = await find(f, first, after_id, now)
    rows = {m.id: m for m in await Member.filter(id__in=[s.member_id for s in found])}
    return [(rows[s.member_id], s) for s in found], more


def _member(row: dict[str, Any]) -> SegmentMember:
    last = row["last_order_at"]
    if isinstance(last, str):  # SQLite hands back raw timestamp text
        last = datetime.fromisoformat(last)

    def score(name: str) -> int | None:
        return None if row[name] is None else int(row[name])

    return SegmentMember(
        member_id=int(row["id"]),
        external_id=row["external_id"],
        email=row["email"],
        balance=int(row["balance"]),
        orders=int(row["orders"]),
        spend_cents=int(row["spend_cents"]),
        last_order_at=last,
        recency=score("recency"),
        frequency=score("frequency"),
        monetary=score("monetary"),
        at_risk=bool(row["at_risk"]),
    )


CSV_COLUMNS = (
    "external_id",
    "email",
    "points",
    "orders",
    "spend",
    "last_order_at",
    "recency",
    "frequency",
    "monetary",
    "at_risk",
)


async def to_csv(f: SegmentFilter, now: datetime | None = None) -> str:
    """The whole segment as CSV text, one member a line, in id order."""
    found, _ = await find(f, None, now=now)
    rows = [
        [
            m.external_id,
            m.email,
            m.balance,
            m.orders,
            from_cents(m.spend_cents),
            m.last_order_at.isoformat() if m.last_order_at else "",
            m.recency or "",
            m.frequency or "",
            m.monetary or "",
            "yes" if m.at_risk else "no",
        ]
        for m in found
    ]
    return spreadsheet_csv([CSV_COLUMNS, *rows])


# A spreadsheet runs a cell that starts with one of ``= + - @`` (or tab, CR) as a formula. A
# cell holding a separator may be split there when it is imported (a semicolon locale, "text to
# columns"), so what follows each separator must be as harmless as the cell's start.
_FORMULA_START = re.compile(r"(^|[,;|\t\r\n])(?=[=+\-@\t\r])")


def spreadsheet_csv(rows: Iterable[Sequence[object]]) -> str:
    """CSV that spreadsheet apps open without running anything (CSV injection): every text
    cell is quoted and a ``'`` goes before a formula character at its start or after any
    separator in it; numbers stay numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    for row in rows:
        writer.writerow(
            [_FORMULA_START.sub(r"\1'", cell) if isinstance(cell, str) else cell for cell in row]
        )
    return out.getvalue()
