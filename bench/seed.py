"""A realistic history, bulk-loaded with the raw driver, keeping the ledger invariants.

Each member gets ``entries`` ledger entries spread over the last eleven months: mostly order
earnings (an order of 1-8 lines), some action bonuses, and redemptions that consume lots oldest
first. Balances, lot remainders and running ``balance_after`` add up exactly as ``loyalty.ledger``
would have written them; ``loyalty check`` passes on the result (the bench runs it).

Around the history, what a live programme has: three lifetime points tiers (thresholds at
quantiles of the members' lifetime points, so most members hold one and some none, each since
the entry that crossed it, as ``loyalty.programme.tiers.upgrade`` would have recorded), a
rewards catalogue of every kind, and an active model version with ``OFFERS_PER_MEMBER``
precomputed product offers per member plus the popularity fallback, the rows ``loyalty
retrain`` publishes.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.fields import DatetimeField
from tortoise.models import Model

from loyalty.codes import CODE_ALPHABET
from loyalty.offers.publish import OFFERS_PER_MEMBER
from loyalty.settings import Settings
from models import (
    LedgerEntry,
    Lot,
    Member,
    MemberOffer,
    MemberTier,
    ModelVersion,
    Order,
    OrderLine,
    Reward,
    RewardKind,
    Tier,
    TierBasis,
    TierWindow,
)
from models import Product as ProductRow
from recommend.base import Reason

CATEGORIES = ("produce", "dairy", "bakery", "meat", "frozen", "drinks", "snacks", "household")
LOT_LIFETIME = timedelta(days=365)
REDEEM_COSTS = (500, 1000, 2000)
# Tier names and the share of members below each threshold (of lifetime points).
TIERS = (
    ("Silver", 0.25, ["birthday bonus"]),
    ("Gold", 0.7, ["free delivery"]),
    ("Platinum", 0.95, ["free delivery", "early access"]),
)

COLUMNS = {
    "products": ("id", "sku", "name", "category", "price_cents", "active", "created_at"),
    "members": (
        "id",
        "external_id",
        "email",
        "email_normalized",
        "name",
        "balance",
        "pending",
        "lifetime_points",
        "lifetime_spend_cents",
        "referral_code",
        "last_order_at",
        "created_at",
    ),
    "orders": (
        "id",
        "external_id",
        "member_id",
        "placed_at",
        "currency",
        "subtotal_cents",
        "discount_cents",
        "shipping_cents",
        "eligible_cents",
        "points_awarded",
        "refunded_cents",
        "points_reversed",
        "created_at",
    ),
    "order_lines": (
        "id",
        "order_id",
        "product_id",
        "quantity",
        "unit_price_cents",
        "line_total_cents",
    ),
    "ledger_entries": (
        "id",
        "member_id",
        "kind",
        "points",
        "balance_after",
        "shortfall",
        "idempotency_key",
        "source",
        "expires_at",
        "created_at",
    ),
    "lots": ("id", "entry_id", "member_id", "points", "remaining", "expires_at", "created_at"),
    "tiers": ("id", "name", "threshold", "basis", "window", "multiplier", "perks"),
    "member_tiers": ("member_id", "tier_id", "since", "period_ends_at"),
    "rewards": (
        "id",
        "name",
        "kind",
        "points_cost",
        "value_cents",
        "percent",
        "sku",
        "category",
        "cause",
        "min_tier_id",
    ),
    "model_versions": (
        "id",
        "version",
        "path",
        "active",
        "metrics",
        "params",
        "data_from",
        "data_to",
        "members",
    ),
    "member_offers": ("id", "version_id", "member_id", "rank", "product_id", "score", "reason"),
}


MODELS: dict[str, type[Model]] = {
    "products": ProductRow,
    "members": Member,
    "orders": Order,
    "order_lines": OrderLine,
    "ledger_entries": LedgerEntry,
    "lots": Lot,
    "tiers": Tier,
    "member_tiers": MemberTier,
    "rewards": Reward,
    "model_versions": ModelVersion,
    "member_offers": MemberOffer,
}


def model_defaults(table: str, given: Sequence[str]) -> dict[str, Any]:
    """Values for the table's other NOT NULL columns, from the model's Python-side defaults.

    tortoise applies defaults in Python, not in the schema; a column added to a model later
    must not break the bench's raw inserts.
    """
    extra: dict[str, Any] = {}
    for name, f in MODELS[table]._meta.fields_map.items():
        column = getattr(f, "source_field", None) or name
        if column in given or f.null or getattr(f, "generated", False) or name in given:
            continue
        if f.default is not None:
            extra[column] = f.default() if callable(f.default) else f.default
        elif isinstance(f, DatetimeField) and (f.auto_now or f.auto_now_add):
            extra[column] = datetime.now(UTC)
    return extra


@dataclass(frozen=True)
class Product:
    id: int
    sku: str
    price_cents: int


@dataclass
class Seeded:
    """What the benchmarks need to know about the seeded data."""

    member_ids: list[int]
    member_external_ids: list[str]
    products: list[Product]
    rows: dict[str, int] = field(default_factory=dict)


@dataclass
class _Activity:
    """What one member's history adds up to, for their tier and their offers."""

    bought: Counter[int] = field(default_factory=Counter)  # order lines per product id
    earned: list[tuple[datetime, int]] = field(default_factory=list)  # lifetime points so far


@dataclass
class _Rows:
    tables: dict[str, list[list[Any]]] = field(
        default_factory=lambda: {name: [] for name in COLUMNS}
    )

    def add(self, table: str, row: list[Any]) -> list[Any]:
        """Append a row with the next id in front."""
        row = [len(self.tables[table]) + 1, *row]
        self.tables[table].append(row)
        return row

    def put(self, table: str, row: list[Any]) -> list[Any]:
        """Append a row whose key is given (``member_tiers`` is keyed by member)."""
        self.tables[table].append(row)
        return row


def referral_code(n: int) -> str:
    """A unique code per member number, from the same alphabet enrolment uses."""
    base = len(CODE_ALPHABET)
    digits = []
    for _ in range(8):
        n, d = divmod(n, base)
        digits.append(CODE_ALPHABET[d])
    return "".join(reversed(digits))


def generate(members: int, entries: int, products: int, seed: int = 7) -> tuple[_Rows, Seeded]:
    """All rows of the history, with ids assigned; deterministic for a seed."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    rows = _Rows()
    catalogue = []
    for p in range(1, products + 1):
        price = rng.randint(150, 4999)
        rows.add(
            "products",
            [f"SKU-{p:05d}", f"Product {p}", CATEGORIES[p % len(CATEGORIES)], price, True, now],
        )
        catalogue.append(Product(p, f"SKU-{p:05d}", price))
    ids, external_ids, activities = [], [], []
    for m in range(1, members + 1):
        external_id = f"bench-member-{m:06d}"
        times = sorted(
            now - timedelta(seconds=rng.uniform(3600, 330 * 86400)) for _ in range(entries)
        )
        member = rows.add(
            "members",
            [
                external_id,
                f"{external_id}@example.com",
                f"{external_id}@example.com",
                f"Member {m}",
                0,
                0,
                0,
                0,
                referral_code(m),
                None,
                times[0] - timedelta(days=1),
            ],
        )
        activities.append(_history(rng, rows, member, times, catalogue))
        ids.append(member[0])
        external_ids.append(external_id)
    tiers = _tiers(rows, [m[7] for m in rows.tables["members"]])
    for member_id, activity in zip(ids, activities, strict=True):
        _member_tier(rows, member_id, activity, tiers)
    popular: Counter[int] = Counter()
    for activity in activities:
        popular.update(activity.bought)
    _rewards(rows, catalogue, tiers, popular)
    _offers(rng, rows, dict(zip(ids, activities, strict=True)), popular, now)
    seeded = Seeded(ids, external_ids, catalogue, {t: len(r) for t, r in rows.tables.items()})
    return rows, seeded


def _history(
    rng: random.Random,
    rows: _Rows,
    member: list[Any],
    times: Sequence[datetime],
    catalogue: list[Product],
) -> _Activity:
    """Entries for one member; fills in the member's balance and totals."""
    member_id = member[0]
    activity = _Activity()
    balance = lifetime_points = spend = 0
    last_order_at = None
    lots: list[list[Any]] = []  # lots rows; index 4 is remaining
    for k, at in enumerate(times):
        roll = rng.random()
        if balance >= REDEEM_COSTS[0] and roll < 0.10:
            cost = max(c for c in REDEEM_COSTS if c <= balance)
            balance -= cost
            _consume(lots, cost)
            rows.add(
                "ledger_entries",
                [
                    member_id,
                    "redeem",
                    -cost,
                    balance,
                    0,
                    f"redeem:seed:{member_id}:{k}",
                    "reward:seed",
                    None,
                    at,
                ],
            )
            continue
        if roll < 0.15:
            points, kind = 50, "earn_action"
            key = source = f"action:seed:{member_id}:{k}"
        else:
            kind = "earn_order"
            external_id = f"seed-{member_id}-{k}"
            key = source = f"order:{external_id}"
            subtotal = 0
            order = rows.add(
                "orders",
                [external_id, member_id, at, "USD", 0, 0, 0, 0, 0, 0, 0, at],
            )
            for product in rng.sample(catalogue, rng.randint(1, 8)):
                activity.bought[product.id] += 1
                quantity = rng.randint(1, 3)
                total = quantity * product.price_cents
                subtotal += total
                rows.add(
                    "order_lines", [order[0], product.id, quantity, product.price_cents, total]
                )
            points = subtotal // 100  # 1 point per currency unit, rounded down
            order[5] = order[8] = subtotal  # subtotal_cents, eligible_cents
            order[9] = points
            spend += subtotal
            last_order_at = at
        balance += points
        lifetime_points += points
        activity.earned.append((at, lifetime_points))
        expires_at = at + LOT_LIFETIME
        entry = rows.add(
            "ledger_entries",
            [member_id, kind, points, balance, 0, key, source, expires_at, at],
        )
        lots.append(rows.add("lots", [entry[0], member_id, points, points, expires_at, at]))
    member[5] = balance
    member[7] = lifetime_points
    member[8] = spend
    member[10] = last_order_at
    return activity


def _tiers(rows: _Rows, lifetime_points: list[int]) -> list[list[Any]]:
    """Lifetime points tiers at quantiles of the members' lifetime points (rows by threshold)."""
    ranked = sorted(lifetime_points)
    tiers: list[list[Any]] = []
    for name, below, perks in TIERS:
        threshold = ranked[int(below * (len(ranked) - 1))] // 100 * 100
        if tiers:
            threshold = max(threshold, tiers[-1][2] + 100)
        row = [
            name,
            threshold,
            TierBasis.POINTS.value,
            TierWindow.LIFETIME.value,
            Decimal(1),
            json.dumps(perks),
        ]
        tiers.append(rows.add("tiers", row))
    return tiers


def _member_tier(rows: _Rows, member_id: int, activity: _Activity, tiers: list[list[Any]]) -> None:
    """The highest tier reached, held since the earning that crossed it (lifetime: no end)."""
    total = activity.earned[-1][1] if activity.earned else 0
    held = [tier for tier in tiers if tier[2] <= total]
    if held:
        tier_id, _, threshold = held[-1][:3]
        since = next(at for at, points in activity.earned if points >= threshold)
        rows.put("member_tiers", [member_id, tier_id, since, None])


def _rewards(
    rows: _Rows, catalogue: list[Product], tiers: list[list[Any]], popular: Counter[int]
) -> None:
    """A catalogue with every kind; the free product is a popular one, so it gets offered."""
    free = next(p for p in catalogue if p.id == popular.most_common(1)[0][0])
    gold = tiers[1][0]
    kind = RewardKind
    for name, reward_kind, cost, value, percent, sku, category, cause, min_tier in (
        ("$5 off", kind.FIXED_DISCOUNT, 500, 500, None, None, None, None, None),
        ("Free delivery", kind.FREE_SHIPPING, 300, None, None, None, None, None, None),
        ("10% off bakery", kind.PERCENT_DISCOUNT, 1000, None, 10, None, "bakery", None, None),
        ("15% off drinks", kind.PERCENT_DISCOUNT, 1500, None, 15, None, "drinks", None, None),
        (f"Free {free.sku}", kind.FREE_PRODUCT, 800, None, None, free.sku, None, None, None),
        ("$20 gift card", kind.GIFT_CARD, 2000, 2000, None, None, None, None, None),
        ("Food bank donation", kind.DONATION, 250, 250, None, None, None, "Food bank", None),
        ("$15 off for Gold", kind.FIXED_DISCOUNT, 1200, 1500, None, None, None, None, gold),
    ):
        row = [name, reward_kind.value, cost, value, percent, sku, category, cause, min_tier]
        rows.add("rewards", row)


def _offers(
    rng: random.Random,
    rows: _Rows,
    activities: dict[int, _Activity],
    popular: Counter[int],
    now: datetime,
) -> None:
    """An active model version and its offer rows, shaped as ``loyalty.offers.publish`` writes them.

    Per member: products bought more than once (BOUGHT_OFTEN), then popular products new to the
    member (SIMILAR_MEMBERS), scores falling with rank; the fallback list (no member) is the
    most popular products (POPULAR), scored against the first.
    """
    ranked = [product_id for product_id, _ in popular.most_common()]
    first_order = min(a.earned[0][0] for a in activities.values() if a.earned)
    version = rows.add(
        "model_versions",
        [
            f"bench-seed-{now:%Y%m%dT%H%M%S}",
            "bench-seed",  # no model files: serving reads only the offer rows
            True,
            json.dumps({"source": "bench seed"}),
            json.dumps({"kind": "bench-seed"}),
            first_order,
            now,
            len(activities),
        ],
    )[0]
    for member_id, activity in activities.items():
        often = [p for p, lines in activity.bought.most_common(OFFERS_PER_MEMBER // 4) if lines > 1]
        similar = [p for p in ranked[: 10 * OFFERS_PER_MEMBER] if p not in activity.bought]
        picks = [(p, Reason.BOUGHT_OFTEN) for p in often]
        picks += [(p, Reason.SIMILAR_MEMBERS) for p in rng.sample(similar, OFFERS_PER_MEMBER)]
        score = 1.0
        for rank, (product_id, reason) in enumerate(picks[:OFFERS_PER_MEMBER]):
            score *= rng.uniform(0.85, 0.99)
            row = [version, member_id, rank, product_id, round(score, 6), reason.value]
            rows.add("member_offers", row)
    top = popular[ranked[0]]
    for rank, product_id in enumerate(ranked[:OFFERS_PER_MEMBER]):
        row = [
            version,
            None,
            rank,
            product_id,
            round(popular[product_id] / top, 6),
            Reason.POPULAR.value,
        ]
        rows.add("member_offers", row)


def _consume(lots: list[list[Any]], points: int) -> None:
    """Lower remainders oldest expiry first, as ``loyalty.ledger`` does."""
    for lot in lots:
        take = min(points, lot[4])
        lot[4] -= take
        points -= take
        if points == 0:
            return
    raise AssertionError("lots do not cover the balance")


async def load(settings: Settings, rows: _Rows) -> None:
    """Insert the rows into the (migrated, empty) database of these settings."""
    if settings.is_sqlite:
        _load_sqlite(settings.database_url.removeprefix("sqlite://"), rows)
    else:
        await _load_postgres(settings.database_url, rows)


def _sqlite_value(value: Any) -> Any:
    # The text form tortoise writes, so the app reads the rows back unchanged.
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return str(value) if isinstance(value, Decimal) else value


def _load_sqlite(path: str, rows: _Rows) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN")
        for table, given in COLUMNS.items():
            extra = model_defaults(table, given)
            columns = [*given, *extra]
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            connection.executemany(
                f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                ([_sqlite_value(v) for v in [*row, *extra.values()]] for row in rows.tables[table]),
            )
        connection.execute("COMMIT")
    finally:
        connection.close()


async def _load_postgres(url: str, rows: _Rows) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        async with connection.transaction():
            for table, given in COLUMNS.items():
                extra = model_defaults(table, given)
                await connection.copy_records_to_table(
                    table,
                    records=[(*r, *extra.values()) for r in rows.tables[table]],
                    columns=[*given, *extra],
                )
                if given[0] != "id":
                    continue  # keyed by another table's id (member_tiers)
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
        # What autovacuum would have done on a database that grew to this size.
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
