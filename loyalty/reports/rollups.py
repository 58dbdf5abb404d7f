"""Daily rollups behind the programme report, kept up to date incrementally.

Every figure of the report is a sum over rows of the source tables (members, orders, refunds,
ledger entries, coupons, donations), bucketed by UTC day: ``report_rollups`` holds those sums.

Each source table is rolled up to an id: ``report_rollup_marks`` says that its rows with
``id <= last_id`` are in the rollups. ``roll`` (run by ``loyalty jobs run``) adds the rows
written since, whatever day they are dated: an order imported for last March, a refund of an old
order, a backdated adjustment or an expiry each land in their own day's bucket (the day of the
order for a refund), so late writes need no dirty-day tracking. No figure depends on a column
that is updated after its row is written (a refund is its own row; ledger entries never change).

A report reads the rollups for the whole days of its period and adds, live from indexed rows,
what they do not hold: rows written since the last roll (``id > last_id``, a primary-key range)
and the unfinished last day of a period that ends now (a ``created_at``/``placed_at`` range).

Distinct members do not add up over days, so they are kept as sums of another kind:

- active members in days [a, b] = orders in [a, b] less those whose member's previous order was
  on or after a; repeat customers = orders whose previous order was on or after a, less those
  whose order before the previous one was too (a repeat customer has exactly one second order in
  the period). The rollups count orders by (day, previous order's day): ``gap1``, and by (day,
  the day of the order before the previous one): ``gap2``.
- retention: per member and calendar month after its enrolment month, the day of its first
  order in that month, counted by (enrolment day, that day): ``cohort``; ``ref`` 1 marks the
  first such month, which makes the member retained.

These depend on a member's whole order sequence, so a roll recomputes them for the members with
new orders (taking away what those members counted before), and a report does the same, live,
for the members with orders the rollups do not hold yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from loyalty import db
from loyalty.ledger import keys
from models import (
    Coupon,
    Donation,
    EntryKind,
    LedgerEntry,
    Member,
    MemberOrderTotals,
    Order,
    Refund,
    ReportRollup,
    RollupMark,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

EPOCH_DAY = date(1970, 1, 1)
SOURCES: tuple[type[Model], ...] = (Member, Order, Refund, LedgerEntry, Coupon, Donation)
# Figures summed over the days of a period as they are (no second day to look at).
FLAT = ("referees", "orders", "revenue", "issued", "redeemed", "expired", "coupons")
DONATIONS = ("don_n", "don_pts", "don_val")
# How long a roll waits for transactions that may still commit ids below its marks.
SETTLE_SECONDS = 30.0

Key = tuple[str, int, int, int, str]  # metric, day, other, ref, label


def day_number(d: date) -> int:
    """Days since 1970-01-01: how the rollups name a day."""
    return (d - EPOCH_DAY).days


def day_of(number: int) -> date:
    return EPOCH_DAY + timedelta(days=number)


def day_sql(conn: BaseDBAsyncClient, column: str) -> str:
    """SQL for the UTC day of a timestamp column, as days since 1970-01-01."""
    if db.dialect(conn) == "sqlite":  # stored as ISO text in UTC
        return f"CAST(julianday(substr({column}, 1, 10)) - 2440587.5 AS INTEGER)"
    return f"(CAST(({column} AT TIME ZONE 'UTC') AS DATE) - DATE '1970-01-01')"


def month_number_sql(conn: BaseDBAsyncClient, column: str) -> str:
    """SQL for year * 12 + month of a timestamp column (to count months between two)."""
    if db.dialect(conn) == "sqlite":
        return (
            f"(CAST(substr({column}, 1, 4) AS INTEGER) * 12 "
            f"+ CAST(substr({column}, 6, 2) AS INTEGER))"
        )
    utc = f"({column} AT TIME ZONE 'UTC')"
    return f"CAST(EXTRACT(YEAR FROM {utc}) * 12 + EXTRACT(MONTH FROM {utc}) AS INTEGER)"


def day_month_sql(conn: BaseDBAsyncClient, column: str) -> str:
    """SQL for year * 12 + month of a day-number column."""
    if db.dialect(conn) == "sqlite":
        moment = f"{column} * 86400, 'unixepoch'"
        return (
            f"(CAST(strftime('%Y', {moment}) AS INTEGER) * 12 "
            f"+ CAST(strftime('%m', {moment}) AS INTEGER))"
        )
    d = f"(DATE '1970-01-01' + {column})"
    return f"CAST(EXTRACT(YEAR FROM {d}) * 12 + EXTRACT(MONTH FROM {d}) AS INTEGER)"


def month_of_day(number: int) -> int:
    d = day_of(number)
    return d.year * 12 + d.month


def _table(model: type[Model]) -> str:
    return str(model._meta.db_table)


class Params:
    """Collects query values and hands back their ``$n`` placeholders."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


# Which rows of a source table a query reads: (id column, time column, params) -> condition.
Rows = Callable[[str, str, Params], str]
Marks = dict[str, int]


def rows_between(old: Marks, new: Marks, source: type[Model]) -> Rows:
    """Rows a roll adds: ids in (old, new]."""

    def cond(id_col: str, _: str, p: Params) -> str:
        t = _table(source)
        return f"({id_col} > {p(old.get(t, 0))} AND {id_col} <= {p(new.get(t, 0))})"

    return cond


def rows_from(marks: Marks, start: datetime | None, source: type[Model]) -> Rows:
    """Rows a rebuild counts: ids up to the marks, dated from ``start`` on (None: all)."""

    def cond(id_col: str, time_col: str, p: Params) -> str:
        upto = f"{id_col} <= {p(marks.get(_table(source), 0))}"
        return upto if start is None else f"({upto} AND {time_col} >= {p(start)})"

    return cond


def rows_unrolled(marks: Marks, cut: datetime, source: type[Model]) -> Rows:
    """Rows a report reads live by id: not rolled up yet, dated before ``cut``."""

    def cond(id_col: str, time_col: str, p: Params) -> str:
        return f"({id_col} > {p(marks.get(_table(source), 0))} AND {time_col} < {p(cut)})"

    return cond


def rows_dated(cut: datetime, until: datetime) -> Rows:
    """Rows a report reads live by date: the unfinished last day ``[cut, until)``, whose
    rolled-up bucket it leaves out, rolled up or not."""

    def cond(_: str, time_col: str, p: Params) -> str:
        return f"({time_col} >= {p(cut)} AND {time_col} < {p(until)})"

    return cond


# ---------------------------------------------------------------------------------------------
# What a set of rows adds to the rollups


async def _members(conn: BaseDBAsyncClient, rows: Rows) -> list[tuple[Key, int]]:
    p = Params()
    cond = rows("m.id", "m.created_at", p)
    query = (
        f"SELECT {day_sql(conn, 'm.created_at')} AS day, COUNT(*) AS n, "
        "SUM(CASE WHEN m.referred_by_id IS NOT NULL THEN 1 ELSE 0 END) AS referees "
        f"FROM {_table(Member)} m WHERE {cond} GROUP BY 1"
    )
    out: list[tuple[Key, int]] = []
    for r in await db.fetch(conn, query, *p.values):
        day = int(r["day"])
        out.append((("enrolled", day, 0, 0, ""), int(r["n"])))
        out.append((("referees", day, 0, 0, ""), int(r["referees"])))
    return out


async def _orders(
    conn: BaseDBAsyncClient, rows: Rows, refunded: bool = False
) -> list[tuple[Key, int]]:
    """Orders and their revenue before refunds (refunds count apart, as rows of their own);
    ``refunded``: with their refunds so far taken off instead."""
    p = Params()
    cond = rows("o.id", "o.placed_at", p)
    refunds = "o.refunded_cents" if refunded else "0"
    query = (
        f"SELECT {day_sql(conn, 'o.placed_at')} AS day, COUNT(*) AS n, "
        f"SUM(o.subtotal_cents - o.discount_cents - {refunds}) AS revenue "
        f"FROM {_table(Order)} o WHERE {cond} GROUP BY 1"
    )
    out: list[tuple[Key, int]] = []
    for r in await db.fetch(conn, query, *p.values):
        day = int(r["day"])
        out.append((("orders", day, 0, 0, ""), int(r["n"])))
        out.append((("revenue", day, 0, 0, ""), int(r["revenue"])))
    return out


async def _refunds(conn: BaseDBAsyncClient, rows: Rows) -> list[tuple[Key, int]]:
    """Refunds less the revenue of the day their order was placed."""
    p = Params()
    cond = rows("r.id", "o.placed_at", p)
    query = (
        f"SELECT {day_sql(conn, 'o.placed_at')} AS day, SUM(r.amount_cents) AS amount "
        f"FROM {_table(Refund)} r JOIN {_table(Order)} o ON o.id = r.order_id "
        f"WHERE {cond} GROUP BY 1"
    )
    return [
        (("revenue", int(r["day"]), 0, 0, ""), -int(r["amount"]))
        for r in await db.fetch(conn, query, *p.values)
    ]


async def _entries(conn: BaseDBAsyncClient, rows: Rows) -> list[tuple[Key, int]]:
    """Points issued (credits but reversals, i.e. a cancelled coupon's points coming back),
    redeemed (redemptions and donations less returned points), expired, and every entry's
    points (their running sum is what is outstanding)."""
    p = Params()
    cond = rows("e.id", "e.created_at", p)
    reversal = p(EntryKind.REVERSAL.value)
    redeem, donate = p(EntryKind.REDEEM.value), p(EntryKind.DONATE.value)
    expire = p(EntryKind.EXPIRE.value)
    query = (
        f"SELECT {day_sql(conn, 'e.created_at')} AS day, "
        f"SUM(CASE WHEN e.points > 0 AND e.kind <> {reversal} THEN e.points ELSE 0 END) "
        "AS issued, "
        f"SUM(CASE WHEN e.kind IN ({redeem}, {donate}) THEN -e.points "
        f"WHEN e.kind = {reversal} AND e.points > 0 THEN -e.points ELSE 0 END) AS redeemed, "
        f"SUM(CASE WHEN e.kind = {expire} THEN -e.points ELSE 0 END) AS expired, "
        "SUM(e.points) AS net "
        f"FROM {_table(LedgerEntry)} e WHERE {cond} GROUP BY 1"
    )
    out: list[tuple[Key, int]] = []
    for r in await db.fetch(conn, query, *p.values):
        day = int(r["day"])
        for metric in ("issued", "redeemed", "expired", "net"):
            out.append(((metric, day, 0, 0, ""), int(r[metric])))
    return out


async def _conversions(
    conn: BaseDBAsyncClient, rows: Rows, by_enrolment: bool = False
) -> list[tuple[Key, int]]:
    """Referral rewards (one per referee at most: their key is unique), by the referee's
    enrolment day and the reward's day; ``by_enrolment``: rows chosen by the enrolment's
    date, not the reward's (a rebuild from a day recounts the referees enrolled from then)."""
    p = Params()
    cond = rows("e.id", "m.created_at" if by_enrolment else "e.created_at", p)
    prefix = keys.REFERRAL_REWARD
    query = (
        f"SELECT {day_sql(conn, 'm.created_at')} AS day, {day_sql(conn, 'e.created_at')} "
        "AS other, COUNT(*) AS n "
        f"FROM {_table(LedgerEntry)} e JOIN {_table(Member)} m "
        f"ON m.id = CAST(substr(e.idempotency_key, {len(prefix) + 1}) AS INTEGER) "
        f"WHERE {cond} AND e.idempotency_key LIKE {p(prefix + '%')} "
        "AND m.referred_by_id IS NOT NULL GROUP BY 1, 2"
    )
    return [
        (("converted", int(r["day"]), int(r["other"]), 0, ""), int(r["n"]))
        for r in await db.fetch(conn, query, *p.values)
    ]


async def _coupons(conn: BaseDBAsyncClient, rows: Rows) -> list[tuple[Key, int]]:
    p = Params()
    cond = rows("c.id", "c.created_at", p)
    query = (
        f"SELECT {day_sql(conn, 'c.created_at')} AS day, c.reward_id AS ref, COUNT(*) AS n "
        f"FROM {_table(Coupon)} c WHERE {cond} GROUP BY 1, 2"
    )
    return [
        (("coupons", int(r["day"]), 0, int(r["ref"]), ""), int(r["n"]))
        for r in await db.fetch(conn, query, *p.values)
    ]


async def _donations(conn: BaseDBAsyncClient, rows: Rows) -> list[tuple[Key, int]]:
    p = Params()
    cond = rows("d.id", "d.created_at", p)
    query = (
        f"SELECT {day_sql(conn, 'd.created_at')} AS day, d.cause AS label, COUNT(*) AS n, "
        "SUM(d.points) AS pts, SUM(d.value_cents) AS val "
        f"FROM {_table(Donation)} d WHERE {cond} GROUP BY 1, 2"
    )
    out: list[tuple[Key, int]] = []
    for r in await db.fetch(conn, query, *p.values):
        day, label = int(r["day"]), str(r["label"])
        out.append((("don_n", day, 0, 0, label), int(r["n"])))
        out.append((("don_pts", day, 0, 0, label), int(r["pts"])))
        out.append((("don_val", day, 0, 0, label), int(r["val"])))
    return out


# Members whose order sequences are counted again go by in lists of this many ids (each list
# one statement, read through the orders' (member_id, placed_at) index).
CHUNK = 500


async def member_ids(conn: BaseDBAsyncClient, query: str, *values: Any) -> list[int]:
    """The distinct ``member_id`` values a query returns, in order."""
    return sorted({int(r["member_id"]) for r in await db.fetch(conn, query, *values)})


@dataclass(frozen=True)
class MemberOrders:
    """Whose order sequences to count and which of their orders: these members (None:
    everyone), orders with ``id <= upto_id`` (None: any) placed in ``[placed_from, before)``,
    members enrolled in ``[enrolled_from, enrolled_before)`` (None: unbounded); ``since``
    keeps only rows whose own day is from then on (a partial rebuild).

    A report may leave out the orders before its period: an order's previous ones count only
    when they are in the period too, and a missing one counts as before it."""

    members: Sequence[int] | None = None
    upto_id: int | None = None
    before: datetime | None = None
    enrolled_before: datetime | None = None
    since: datetime | None = None
    placed_from: datetime | None = None
    enrolled_from: datetime | None = None

    def members_in(self, column: str, p: Params) -> str:
        if self.members is None:
            return "1 = 1"
        return f"{column} IN ({', '.join(p(m) for m in self.members)})"

    def chunks(self) -> Iterator[MemberOrders]:
        """The same scope in parts of at most CHUNK members (one part: everyone)."""
        if self.members is None:
            yield self
            return
        for start in range(0, len(self.members), CHUNK):
            yield replace(self, members=self.members[start : start + CHUNK])

    def orders(self, p: Params) -> str:
        conds = []
        if self.upto_id is not None:
            conds.append(f"o.id <= {p(self.upto_id)}")
        if self.before is not None:
            conds.append(f"o.placed_at < {p(self.before)}")
        if self.placed_from is not None:
            conds.append(f"o.placed_at >= {p(self.placed_from)}")
        return " AND ".join(conds) or "1 = 1"


async def _gaps(conn: BaseDBAsyncClient, scope: MemberOrders) -> list[tuple[Key, int]]:
    """Orders by (day, previous order's day) and (day, the day of the one before that)."""
    p = Params()
    day = day_sql(conn, "o.placed_at")
    where = f"{scope.orders(p)} AND {scope.members_in('o.member_id', p)}"
    since = ""
    if scope.since is not None:
        since = f" AND day >= {p(day_number(scope.since.date()))}"
    query = (
        f"WITH g AS (SELECT {day} AS day, LAG({day}, 1) OVER w AS prev1, "
        f"LAG({day}, 2) OVER w AS prev2 FROM {_table(Order)} o WHERE {where} "
        "WINDOW w AS (PARTITION BY o.member_id ORDER BY o.placed_at, o.id)) "
        "SELECT 'gap1' AS metric, day, prev1 AS other, COUNT(*) AS n FROM g "
        f"WHERE prev1 IS NOT NULL{since} GROUP BY day, prev1 "
        "UNION ALL "
        "SELECT 'gap2' AS metric, day, prev2 AS other, COUNT(*) AS n FROM g "
        f"WHERE prev2 IS NOT NULL{since} GROUP BY day, prev2"
    )
    return [
        ((str(r["metric"]), int(r["day"]), int(r["other"]), 0, ""), int(r["n"]))
        for r in await db.fetch(conn, query, *p.values)
    ]


async def _cohorts(conn: BaseDBAsyncClient, scope: MemberOrders) -> list[tuple[Key, int]]:
    """Members by (enrolment day, first order day of a later calendar month); ``ref`` 1 for
    the first such month."""
    p = Params()
    order_month = month_number_sql(conn, "o.placed_at")
    member_month = month_number_sql(conn, "m.created_at")
    conds = [scope.orders(p), scope.members_in("m.id", p), f"{order_month} > {member_month}"]
    if scope.enrolled_before is not None:
        conds.append(f"m.created_at < {p(scope.enrolled_before)}")
    if scope.enrolled_from is not None:
        conds.append(f"m.created_at >= {p(scope.enrolled_from)}")
    if scope.since is not None:
        conds.append(f"m.created_at >= {p(scope.since)}")
    query = (
        f"WITH mm AS (SELECT m.id AS member_id, {day_sql(conn, 'm.created_at')} AS enrol_day, "
        f"MIN({day_sql(conn, 'o.placed_at')}) AS first_day, {order_month} AS mon "
        f"FROM {_table(Member)} m JOIN {_table(Order)} o ON o.member_id = m.id "
        f"WHERE {' AND '.join(conds)} GROUP BY m.id, m.created_at, {order_month}), "
        "ranked AS (SELECT enrol_day, first_day, "
        "CASE WHEN ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY mon) = 1 "
        "THEN 1 ELSE 0 END AS first_month FROM mm) "
        "SELECT enrol_day, first_day, first_month, COUNT(*) AS n FROM ranked "
        "GROUP BY enrol_day, first_day, first_month"
    )
    return [
        (
            ("cohort", int(r["enrol_day"]), int(r["first_day"]), int(r["first_month"]), ""),
            int(r["n"]),
        )
        for r in await db.fetch(conn, query, *p.values)
    ]


async def additive(
    conn: BaseDBAsyncClient,
    rows: Callable[[type[Model]], Rows],
    *,
    refunded: bool = False,
    rebuilding: bool = False,
) -> list[tuple[Key, int]]:
    """What the chosen rows of every source table add, figure by figure. ``refunded``:
    orders come with all their refunds taken off, and refunds do not count apart (a report's
    unfinished day, whose orders it reads by date while their refunds may be rolled up)."""
    out = await _members(conn, rows(Member))
    out += await _orders(conn, rows(Order), refunded)
    if not refunded:
        out += await _refunds(conn, rows(Refund))
    out += await _entries(conn, rows(LedgerEntry))
    out += await _conversions(conn, rows(LedgerEntry), by_enrolment=rebuilding)
    out += await _coupons(conn, rows(Coupon))
    out += await _donations(conn, rows(Donation))
    return out


async def sequences(conn: BaseDBAsyncClient, scope: MemberOrders) -> list[tuple[Key, int]]:
    """What the chosen members' order sequences add (``gap1``, ``gap2``, ``cohort``)."""
    out: list[tuple[Key, int]] = []
    for part in scope.chunks():
        out += await _gaps(conn, part) + await _cohorts(conn, part)
    return out


async def member_totals(
    conn: BaseDBAsyncClient, members: Sequence[int] | None, marks: Marks
) -> None:
    """Write the order totals of these members (None: everyone) from their orders and refunds
    up to the marks, in place of what they held."""
    for part in MemberOrders(members).chunks():
        await _member_totals(conn, part, marks)


async def _member_totals(conn: BaseDBAsyncClient, scope: MemberOrders, marks: Marks) -> None:
    p = Params()
    table, orders, refunds = _table(MemberOrderTotals), _table(Order), _table(Refund)
    await db.execute(
        conn, f"DELETE FROM {table} WHERE {scope.members_in('member_id', p)}", *p.values
    )
    p = Params()
    order_mark, refund_mark = p(marks.get(orders, 0)), p(marks.get(refunds, 0))
    query = (
        f"INSERT INTO {table} (member_id, orders, spend_cents, last_order_at) "
        "SELECT t.member_id, t.n, t.gross - COALESCE(x.refunded, 0), t.last_order_at FROM ("
        "SELECT o.member_id, COUNT(*) AS n, SUM(o.subtotal_cents - o.discount_cents) AS gross, "
        f"MAX(o.placed_at) AS last_order_at FROM {orders} o "
        f"WHERE o.id <= {order_mark} AND {scope.members_in('o.member_id', p)} "
        "GROUP BY o.member_id) AS t LEFT JOIN ("
        f"SELECT o.member_id, SUM(r.amount_cents) AS refunded FROM {refunds} r "
        f"JOIN {orders} o ON o.id = r.order_id "
        f"WHERE r.id <= {refund_mark} AND {scope.members_in('o.member_id', p)} "
        "GROUP BY o.member_id) AS x ON x.member_id = t.member_id"
    )
    await db.execute(conn, query, *p.values)


# ---------------------------------------------------------------------------------------------
# Marks and rolling


async def marks(conn: BaseDBAsyncClient) -> Marks:
    """How far each source table is rolled up (0: not at all)."""
    rows = await db.fetch(conn, f"SELECT source, last_id FROM {_table(RollupMark)}")
    return {str(r["source"]): int(r["last_id"]) for r in rows}


async def _heads(conn: BaseDBAsyncClient) -> Marks:
    selects = " UNION ALL ".join(
        f"SELECT '{_table(m)}' AS source, COALESCE(MAX(id), 0) AS top FROM {_table(m)}"
        for m in SOURCES
    )
    return {str(r["source"]): int(r["top"]) for r in await db.fetch(conn, selects)}


async def _settled_heads(conn: BaseDBAsyncClient) -> Marks | None:
    """The highest id of every source table, once no id below it can still appear.

    On PostgreSQL an id is taken from a sequence before its row commits, so a transaction
    still open when the heads are read may yet commit a lower id: wait until every
    transaction that began before then has ended (None after ``SETTLE_SECONDS``). SQLite
    has one writer, whose ids come after every committed one.
    """
    heads = await _heads(conn)
    if db.dialect(conn) == "sqlite":
        return heads
    started = (await db.fetch(conn, "SELECT clock_timestamp() AS t"))[0]["t"]
    waited = 0.0
    while True:
        open_before = await db.fetch(
            conn,
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
            "AND datname = current_database() AND backend_type = 'client backend' "
            "AND xact_start IS NOT NULL AND xact_start < $1",
            started,
        )
        if int(open_before[0]["n"]) == 0:
            return heads
        if waited >= SETTLE_SECONDS:
            return None
        await asyncio.sleep(0.05)
        waited += 0.05


def _sum(changes: Iterable[tuple[Key, int]], sign: int, into: Counter[Key]) -> None:
    for key, value in changes:
        into[key] += sign * value


async def _apply(conn: BaseDBAsyncClient, delta: Counter[Key]) -> None:
    rows = [[*key, value] for key, value in delta.items() if value]
    table = _table(ReportRollup)
    if rows:
        query = db.sql(
            conn,
            f"INSERT INTO {table} (metric, day, other, ref, label, value) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (metric, day, other, ref, label) "
            f"DO UPDATE SET value = {table}.value + excluded.value",
        )
        for start in range(0, len(rows), 5000):
            await conn.execute_many(query, rows[start : start + 5000])
    await db.execute(conn, f"DELETE FROM {_table(ReportRollup)} WHERE value = 0")


async def _save_marks(conn: BaseDBAsyncClient, new: Marks, now: datetime) -> None:
    table = _table(RollupMark)
    for source, last_id in new.items():
        await db.execute(
            conn,
            f"INSERT INTO {table} (source, last_id, rolled_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (source) DO UPDATE SET last_id = excluded.last_id, "
            "rolled_at = excluded.rolled_at",
            source,
            last_id,
            now,
        )


async def _lock(conn: BaseDBAsyncClient) -> None:
    """One roll or rebuild at a time (reports do not wait for it)."""
    table = _table(RollupMark)
    if db.dialect(conn) == "sqlite":  # any write takes SQLite's one write lock
        await db.execute(conn, f"UPDATE {table} SET last_id = last_id WHERE id < 0")
    else:
        await conn.execute_script(f"LOCK TABLE {table} IN EXCLUSIVE MODE")


@dataclass
class RollReport:
    rows: dict[str, int] = field(default_factory=dict)  # source table -> rows added
    members: int = 0  # members whose order sequence was counted again
    skipped: bool = False  # writers kept transactions open too long; nothing changed

    def __str__(self) -> str:
        if self.skipped:
            return "rollups: skipped (transactions left open; the report reads those rows live)"
        added = ", ".join(f"{n} {t}" for t, n in self.rows.items() if n) or "no new rows"
        return f"rollups: {added}; {self.members} members' orders recounted"


async def roll(now: datetime | None = None) -> RollReport:
    """Add every row written since the last roll to the rollups (``loyalty jobs run``)."""
    now = now or datetime.now(UTC)
    heads = await _settled_heads(db.connection())
    if heads is None:
        log.warning("rollups: transactions open for %ss, not rolled this time", SETTLE_SECONDS)
        return RollReport(skipped=True)

    async def work(conn: BaseDBAsyncClient) -> RollReport:
        await _lock(conn)
        old = await marks(conn)
        new = {t: max(old.get(t, 0), heads[t]) for t in heads}
        report = RollReport(rows={t: 0 for t in heads})
        delta: Counter[Key] = Counter()
        _sum(await additive(conn, lambda m: rows_between(old, new, m)), 1, delta)
        order_table = _table(Order)
        first, last = old.get(order_table, 0), new[order_table]
        ordered = await member_ids(
            conn,
            f"SELECT member_id FROM {order_table} WHERE id > $1 AND id <= $2",
            first,
            last,
        )
        if ordered:
            _sum(await sequences(conn, MemberOrders(ordered, upto_id=first)), -1, delta)
            _sum(await sequences(conn, MemberOrders(ordered, upto_id=last)), 1, delta)
            report.members = len(ordered)
        refunds = _table(Refund)
        refunded = await member_ids(
            conn,
            f"SELECT o.member_id FROM {refunds} r JOIN {order_table} o ON o.id = r.order_id "
            "WHERE r.id > $1 AND r.id <= $2",
            old.get(refunds, 0),
            new[refunds],
        )
        if ordered or refunded:
            await member_totals(conn, sorted(set(ordered) | set(refunded)), new)
        for t in heads:
            report.rows[t] = await _count_between(conn, t, old.get(t, 0), new[t])
        await _apply(conn, delta)
        await _save_marks(conn, new, now)
        return report

    report = await db.atomic(work)
    log.info("%s", report)
    return report


async def _count_between(conn: BaseDBAsyncClient, table: str, first: int, last: int) -> int:
    if last <= first:
        return 0
    found = await db.fetch(
        conn, f"SELECT COUNT(*) AS n FROM {table} WHERE id > $1 AND id <= $2", first, last
    )
    return int(found[0]["n"])


async def rebuild(since: date | None = None, now: datetime | None = None) -> RollReport:
    """Recount the rollups from the source rows: all of them, or the days from ``since`` on
    (every figure whose day is from then on), up to the rows rolled up so far; then roll."""
    now = now or datetime.now(UTC)

    async def work(conn: BaseDBAsyncClient) -> None:
        await _lock(conn)
        current = await marks(conn)
        start = None if since is None else datetime.combine(since, time.min, tzinfo=UTC)
        if since is None:
            await db.execute(conn, f"DELETE FROM {_table(ReportRollup)}")
        else:
            await db.execute(
                conn, f"DELETE FROM {_table(ReportRollup)} WHERE day >= $1", day_number(since)
            )
        delta: Counter[Key] = Counter()
        _sum(
            await additive(conn, lambda m: rows_from(current, start, m), rebuilding=True), 1, delta
        )
        upto = current.get(_table(Order), 0)
        scope = MemberOrders(upto_id=upto, since=start)
        if start is not None:  # only members with orders from then on have gap rows then
            ordered = await member_ids(
                conn, f"SELECT member_id FROM {_table(Order)} WHERE placed_at >= $1", start
            )
            scope = replace(scope, members=ordered)
        for part in scope.chunks():
            _sum(await _gaps(conn, part), 1, delta)
        _sum(await _cohorts(conn, MemberOrders(upto_id=upto, since=start)), 1, delta)
        await _apply(conn, delta)
        await member_totals(conn, None, current)

    await db.atomic(work)
    return await roll(now)


async def in_one_snapshot(work: Callable[[BaseDBAsyncClient], Awaitable[T]]) -> T:
    """Marks, rollups and live rows read as of one moment (a roll may commit meanwhile)."""
    async with db.transaction() as conn:
        if db.dialect(conn) != "sqlite":  # SQLite's read transaction is one snapshot already
            await conn.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return await work(conn)
