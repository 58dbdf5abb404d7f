"""The write floor: the rows ``recordOrder`` writes, inserted with the raw driver.

One transaction per order: the order, its 10 lines (one ``executemany``), the member update
(balance, lifetime points and spend, last order), the ledger entry and its lot. No ORM, no
GraphQL, no HTTP, no idempotency or product look-ups: what is left is what the database costs.
PostgreSQL uses an asyncpg pool as large as the app's; SQLite uses one aiosqlite connection behind
an asyncio lock with the app's pragmas, the way tortoise runs SQLite. The bench calls a writer
from its own process, and ``bench.floor`` serves one over HTTP (an order as ``RawOrder.body``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bench.seed import LOT_LIFETIME, Product, model_defaults
from loyalty.settings import Settings

ORDER = (
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
)
LINE = ("order_id", "product_id", "quantity", "unit_price_cents", "line_total_cents")
ENTRY = (
    "member_id",
    "kind",
    "points",
    "balance_after",
    "shortfall",
    "idempotency_key",
    "source",
    "expires_at",
    "created_at",
)
LOT = ("entry_id", "member_id", "points", "remaining", "expires_at", "created_at")
MEMBER = (
    "UPDATE members SET balance = balance + $1, lifetime_points = lifetime_points + $1, "
    "lifetime_spend_cents = lifetime_spend_cents + $2, "
    "last_order_at = {later}(COALESCE(last_order_at, $3), $3) WHERE id = $4 RETURNING balance"
)


@dataclass(frozen=True)
class Insert:
    """An INSERT of the given columns plus the model's other required ones (their defaults)."""

    sql: str
    extra: tuple[Any, ...]

    @classmethod
    def of(cls, table: str, columns: Sequence[str], *, returning: bool, sqlite: bool) -> Insert:
        extra = model_defaults(table, columns)
        names = [*columns, *extra]
        marks = ", ".join(f"{'?' if sqlite else '$'}{i}" for i in range(1, len(names) + 1))
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
        values = tuple(_sqlite(v) if sqlite else v for v in extra.values())
        return cls(sql + (" RETURNING id" if returning else ""), values)

    def args(self, *values: Any) -> tuple[Any, ...]:
        return (*values, *self.extra)


def _sqlite(value: Any) -> Any:
    return value.isoformat(" ") if isinstance(value, datetime) else value


@dataclass(frozen=True)
class RawOrder:
    external_id: str
    member_id: int
    items: list[tuple[Product, int]]

    @property
    def subtotal_cents(self) -> int:
        return sum(p.price_cents * q for p, q in self.items)

    def body(self) -> bytes:
        """The order as a request body: what the writer needs, nothing to look up."""
        lines = [
            {"productId": p.id, "sku": p.sku, "unitPriceCents": p.price_cents, "quantity": q}
            for p, q in self.items
        ]
        order = {"externalId": self.external_id, "memberId": self.member_id, "lines": lines}
        return json.dumps(order).encode()

    @classmethod
    def from_json(cls, data: Any) -> RawOrder:
        """The order of a parsed ``body()``; KeyError, TypeError or ValueError if malformed."""
        items = [
            (
                Product(int(x["productId"]), str(x["sku"]), int(x["unitPriceCents"])),
                int(x["quantity"]),
            )
            for x in data["lines"]
        ]
        return cls(str(data["externalId"]), int(data["memberId"]), items)


class Writer(Protocol):
    async def write(self, order: RawOrder) -> int:
        """Write the order's rows in one transaction; the points it awarded."""
        ...


@asynccontextmanager
async def writer(settings: Settings) -> AsyncIterator[Writer]:
    """A raw writer for the database of these settings, closed afterwards."""
    if settings.is_sqlite:
        sqlite = await SqliteWriter.open(settings.database_url.removeprefix("sqlite://"))
        try:
            yield sqlite
        finally:
            await sqlite.close()
    else:
        postgres = await PostgresWriter.open(settings)
        try:
            yield postgres
        finally:
            await postgres.close()


@dataclass(frozen=True)
class Rows:
    """The values of one order's rows; times as the driver wants them."""

    order: tuple[Any, ...]
    lines: list[tuple[Any, ...]]  # without the order id, which comes first
    points: int
    subtotal: int
    at: Any
    expires: Any
    key: str

    @classmethod
    def of(cls, order: RawOrder, *, sqlite: bool) -> Rows:
        now = datetime.now(UTC)
        at, expires = now, now + LOT_LIFETIME
        if sqlite:
            at, expires = _sqlite(at), _sqlite(expires)
        subtotal = order.subtotal_cents
        points = subtotal // 100  # 1 point per currency unit, rounded down
        row = (order.external_id, order.member_id, at, "USD", subtotal, 0, 0, subtotal)
        return cls(
            (*row, points, 0, 0, at),
            [(p.id, q, p.price_cents, p.price_cents * q) for p, q in order.items],
            points,
            subtotal,
            at,
            expires,
            f"order:{order.external_id}",
        )

    def entry(self, member_id: int, balance: int) -> tuple[Any, ...]:
        return (member_id, "earn_order", self.points, balance, 0, self.key, self.key)

    def lot(self, entry_id: int, member_id: int) -> tuple[Any, ...]:
        return (entry_id, member_id, self.points, self.points, self.expires, self.at)


class PostgresWriter:
    """asyncpg, one pooled connection and one transaction per order."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.order = Insert.of("orders", ORDER, returning=True, sqlite=False)
        self.line = Insert.of("order_lines", LINE, returning=False, sqlite=False)
        self.entry = Insert.of("ledger_entries", ENTRY, returning=True, sqlite=False)
        self.lot = Insert.of("lots", LOT, returning=False, sqlite=False)
        self.member = MEMBER.format(later="GREATEST")

    @classmethod
    async def open(cls, settings: Settings) -> PostgresWriter:
        import asyncpg

        url = settings.database_url.replace("postgres://", "postgresql://", 1)
        pool = await asyncpg.create_pool(url, min_size=1, max_size=settings.db_pool_max)
        return cls(pool)

    async def write(self, order: RawOrder) -> int:
        rows = Rows.of(order, sqlite=False)
        member = order.member_id
        async with self.pool.acquire() as conn, conn.transaction():
            order_id = await conn.fetchval(self.order.sql, *self.order.args(*rows.order))
            await conn.executemany(
                self.line.sql, [self.line.args(order_id, *line) for line in rows.lines]
            )
            balance = await conn.fetchval(self.member, rows.points, rows.subtotal, rows.at, member)
            entry_id = await conn.fetchval(
                self.entry.sql,
                *self.entry.args(*rows.entry(member, balance), rows.expires, rows.at),
            )
            await conn.execute(self.lot.sql, *self.lot.args(*rows.lot(entry_id, member)))
        return rows.points

    async def close(self) -> None:
        await self.pool.close()


class SqliteWriter:
    """aiosqlite, one connection for the process, transactions one at a time."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.lock = asyncio.Lock()
        self.order = Insert.of("orders", ORDER, returning=True, sqlite=True)
        self.line = Insert.of("order_lines", LINE, returning=False, sqlite=True)
        self.entry = Insert.of("ledger_entries", ENTRY, returning=True, sqlite=True)
        self.lot = Insert.of("lots", LOT, returning=False, sqlite=True)
        self.member = MEMBER.format(later="MAX").replace("$", "?")

    @classmethod
    async def open(cls, path: str) -> SqliteWriter:
        import aiosqlite

        conn = await aiosqlite.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL"):
            await conn.execute(f"PRAGMA {pragma}")
        await conn.execute("PRAGMA foreign_keys=ON")
        return cls(conn)

    async def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        return next(iter(await self.conn.execute_fetchall(sql, args)))[0]

    async def write(self, order: RawOrder) -> int:
        rows = Rows.of(order, sqlite=True)
        member = order.member_id
        async with self.lock:
            await self.conn.execute("BEGIN")
            try:
                order_id = await self._one(self.order.sql, self.order.args(*rows.order))
                await self.conn.executemany(
                    self.line.sql, [self.line.args(order_id, *line) for line in rows.lines]
                )
                balance = await self._one(
                    self.member, (rows.points, rows.subtotal, rows.at, member)
                )
                entry_id = await self._one(
                    self.entry.sql,
                    self.entry.args(*rows.entry(member, balance), rows.expires, rows.at),
                )
                await self.conn.execute(self.lot.sql, self.lot.args(*rows.lot(entry_id, member)))
                await self.conn.execute("COMMIT")
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
        return rows.points

    async def close(self) -> None:
        await self.conn.close()
