"""A realistic history, bulk-loaded with the raw driver, keeping the ledger invariants.

Each member gets ``entries`` ledger entries spread over the last eleven months: mostly order
earnings (an order of 1-8 lines), some action bonuses, and redemptions that consume lots oldest
first. Balances, lot remainders and running ``balance_after`` add up exactly as ``loyalty.ledger``
would have written them; ``loyalty check`` passes on the result (the bench runs it).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.fields import DatetimeField
from tortoise.models import Model

from loyalty.members import REFERRAL_ALPHABET
from loyalty.settings import Settings
from models import LedgerEntry, Lot, Member, Order, OrderLine
from models import Product as ProductRow

CATEGORIES = ("produce", "dairy", "bakery", "meat", "frozen", "drinks", "snacks", "household")
LOT_LIFETIME = timedelta(days=365)
REDEEM_COSTS = (500, 1000, 2000)

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
}


MODELS: dict[str, type[Model]] = {
    "products": ProductRow,
    "members": Member,
    "orders": Order,
    "order_lines": OrderLine,
    "ledger_entries": LedgerEntry,
    "lots": Lot,
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
class _Rows:
    tables: dict[str, list[list[Any]]] = field(
        default_factory=lambda: {name: [] for name in COLUMNS}
    )

    def add(self, table: str, row: list[Any]) -> list[Any]:
        row = [len(self.tables[table]) + 1, *row]
        self.tables[table].append(row)
        return row


def referral_code(n: int) -> str:
    """A unique code per member number, from the same alphabet enrolment uses."""
    base = len(REFERRAL_ALPHABET)
    digits = []
    for _ in range(8):
        n, d = divmod(n, base)
        digits.append(REFERRAL_ALPHABET[d])
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
    ids, external_ids = [], []
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
        _history(rng, rows, member, times, catalogue)
        ids.append(member[0])
        external_ids.append(external_id)
    seeded = Seeded(ids, external_ids, catalogue, {t: len(r) for t, r in rows.tables.items()})
    return rows, seeded


def _history(
    rng: random.Random,
    rows: _Rows,
    member: list[Any],
    times: Sequence[datetime],
    catalogue: list[Product],
) -> None:
    """Entries for one member; fills in the member's balance and totals."""
    member_id = member[0]
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
    return value.isoformat(" ") if isinstance(value, datetime) else value


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
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
        # What autovacuum would have done on a database that grew to this size.
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
