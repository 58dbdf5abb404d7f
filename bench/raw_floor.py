"""The raw-SQL floor: the account page with hand-written SQL on the raw driver, no ORM.

``POST /graphql`` answers the same JSON as the app's answer to ``bench.queries.ME`` (the bench
compares them before timing), the way a hand-tuned endpoint would: the same bearer-token check
(``api.auth.authenticate``), the body parsed and the answer encoded compactly, and five
statements on asyncpg (a pool as large as the app's) or aiosqlite (one connection, as tortoise
runs SQLite): the member with their tier's name and threshold, the page of history, the product
offers, the rewards the member may redeem now, and the member's lines per category. The reward
ranking is the rule's own function (``loyalty.offers.serving.rank_rewards``); the availability
and tier filters are restated as SQL conditions. What the bench shows against it is what the
ORM, GraphQL and the rest of the stack cost over what the hardware and the driver need.

Served like the app: ``python -m uvicorn bench.raw_floor:app_from_env --factory``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import Unauthenticated, authenticate
from api.context import Role
from api.relay import encode_id
from loyalty.money import from_cents
from loyalty.offers.offerable import OFFERABLE
from loyalty.offers.serving import rank_rewards
from loyalty.settings import Settings, from_env
from models import EntryKind, RewardKind
from recommend.rewards import REWARD_CONTEXT

PAGE = 10  # transactions(first: 10)
OFFERS = 10  # offers(first: 10)

MEMBER = """
SELECT m.balance, t.name AS tier, t.threshold
FROM members m
LEFT JOIN member_tiers mt ON mt.member_id = m.id
LEFT JOIN tiers t ON t.id = mt.tier_id AND t.active
WHERE m.id = $1"""
HISTORY = """
SELECT kind, points, balance_after, created_at FROM ledger_entries
WHERE member_id = $1 ORDER BY id DESC LIMIT $2"""
PRODUCTS = f"""
SELECT * FROM (
  SELECT 0 AS fallback, mo.rank, mo.score, mo.reason, p.id, p.sku, p.name, p.category, p.price_cents
  FROM member_offers mo JOIN products p ON p.id = mo.product_id AND {OFFERABLE}
  WHERE mo.version_id = (SELECT id FROM model_versions WHERE active LIMIT 1)
    AND mo.member_id = $1
  ORDER BY mo.rank LIMIT $2) own
UNION ALL
SELECT * FROM (
  SELECT 1 AS fallback, mo.rank, mo.score, mo.reason, p.id, p.sku, p.name, p.category, p.price_cents
  FROM member_offers mo JOIN products p ON p.id = mo.product_id AND {OFFERABLE}
  WHERE mo.version_id = (SELECT id FROM model_versions WHERE active LIMIT 1)
    AND mo.member_id IS NULL
  ORDER BY mo.rank LIMIT $3) popular
ORDER BY fallback, rank"""
# Active, inside the window, in stock, and for no tier or one at or below the member's.
REWARDS = """
SELECT r.id, r.name, r.kind, r.points_cost, r.sku, r.category
FROM rewards r LEFT JOIN tiers t ON t.id = r.min_tier_id AND t.active
WHERE r.active AND (r.starts_at IS NULL OR r.starts_at <= $1)
  AND (r.ends_at IS NULL OR r.ends_at > $1) AND (r.stock IS NULL OR r.stock > 0)
  AND (r.min_tier_id IS NULL OR t.threshold <= $2)
ORDER BY r.points_cost, r.id"""
BOUGHT = """
SELECT p.sku, p.category, COUNT(*) AS lines FROM order_lines ol
JOIN orders o ON o.id = ol.order_id JOIN products p ON p.id = ol.product_id
WHERE o.member_id = $1 GROUP BY p.sku, p.category"""

Fetch = Callable[..., Awaitable[list[dict[str, Any]]]]


class RewardRow(NamedTuple):
    """What the ranking reads of a reward, and what the answer shows (a row, not a model:
    the floor runs without the ORM)."""

    id: int
    name: str
    kind: RewardKind
    points_cost: int
    sku: str | None
    category: str | None


async def account_page(fetch: Fetch, member_id: int, now: Any) -> dict[str, Any] | None:
    """The ``me`` answer for a member, or None when there is no such member."""
    found = await fetch(MEMBER, member_id)
    if not found:
        return None
    member = found[0]
    history = await fetch(HISTORY, member_id, PAGE)
    context = max(REWARD_CONTEXT, OFFERS)
    products: list[dict[str, Any]] = []
    seen: set[int] = set()
    for row in await fetch(PRODUCTS, member_id, context, 2 * context):
        if len(products) < context and row["id"] not in seen:
            seen.add(row["id"])
            products.append(row)
    # A member without a tier may take only the rewards without one (no threshold is <= -1).
    held = member["threshold"] if member["threshold"] is not None else -1
    rewards = [
        RewardRow(
            r["id"], r["name"], RewardKind(r["kind"]), r["points_cost"], r["sku"], r["category"]
        )
        for r in await fetch(REWARDS, now, held)
    ]
    lines: dict[tuple[str, str | None], int] = {}
    if any(r.category or (r.kind == RewardKind.FREE_PRODUCT and r.sku) for r in rewards):
        lines = {(r["sku"], r["category"]): int(r["lines"]) for r in await fetch(BOUGHT, member_id)}
    context = [(p["sku"], p["category"]) for p in products[:REWARD_CONTEXT]]
    ranked = rank_rewards(rewards, member["balance"], lines, context, max(1, OFFERS // 4))  # type: ignore[arg-type]
    offers = [
        {
            "kind": "REWARD",
            "score": o.score,
            "reason": o.reason,
            "product": None,
            "reward": {
                "id": encode_id("Reward", o.reward.id),
                "name": o.reward.name,
                "kind": o.reward.kind.name,
                "pointsCost": o.reward.points_cost,
            },
        }
        for o in ranked
    ]
    offers += [
        {
            "kind": "PRODUCT",
            "score": p["score"],
            "reason": "POPULAR" if p["fallback"] else p["reason"],
            "product": {
                "id": encode_id("Product", p["id"]),
                "sku": p["sku"],
                "name": p["name"],
                "price": None if p["price_cents"] is None else str(from_cents(p["price_cents"])),
            },
            "reward": None,
        }
        for p in products[: OFFERS - len(ranked)]
    ]
    return {
        "pointsBalance": member["balance"],
        "tier": {"name": member["tier"]} if member["tier"] is not None else None,
        "transactions": {
            "edges": [
                {
                    "node": {
                        "kind": EntryKind(e["kind"]).name,
                        "points": e["points"],
                        "balanceAfter": e["balance_after"],
                        "createdAt": _iso(e["created_at"]),
                    }
                }
                for e in history
            ]
        },
        "offers": offers,
    }


def _iso(value: Any) -> str:
    """A timestamp as the API prints it (SQLite's text has a space where ISO has a T)."""
    return value.isoformat() if isinstance(value, datetime) else value.replace(" ", "T", 1)


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type="application/json")


async def me(request: Request) -> Response:
    """The account page for a member token."""
    settings: Settings = request.app.state.settings
    try:
        role, member_id = authenticate(request.headers.get("authorization"), settings)
    except Unauthenticated as exc:
        return _json({"errors": [{"message": str(exc)}]}, 401)
    json.loads(await request.body())  # the app parses the body too
    if role is not Role.MEMBER or member_id is None:
        return _json({"data": None, "errors": [{"message": "not authorised"}]})
    database: Database = request.app.state.database
    now = datetime.now(UTC)
    answer = await account_page(database.fetch, member_id, database.when(now))
    return _json({"data": {"me": answer}})


async def readyz(request: Request) -> Response:
    await request.app.state.database.fetch("SELECT 1 AS ok")
    return _json({"status": "ready"})


_PLACEHOLDER = re.compile(r"\$(\d+)")


class Database:
    """Rows as dicts from asyncpg or aiosqlite; statements written with $1.. placeholders."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sqlite = settings.is_sqlite
        self.pool: Any = None
        self.conn: Any = None

    async def open(self) -> None:
        if self.sqlite:
            import aiosqlite

            path = self.settings.database_url.removeprefix("sqlite://")
            self.conn = await aiosqlite.connect(path, isolation_level=None)
            for pragma in ("journal_mode=WAL", "busy_timeout=10000", "cache_size=-65536"):
                await self.conn.execute(f"PRAGMA {pragma}")
        else:
            import asyncpg

            url = self.settings.database_url.replace("postgres://", "postgresql://", 1)
            self.pool = await asyncpg.create_pool(
                url, min_size=1, max_size=self.settings.db_pool_max
            )

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()
        if self.pool is not None:
            await self.pool.close()

    def when(self, at: datetime) -> Any:
        """A timestamp as a parameter: SQLite compares the text tortoise writes."""
        return at.isoformat(" ") if self.sqlite else at

    async def fetch(self, query: str, *values: Any) -> list[dict[str, Any]]:
        if self.sqlite:
            cursor = await self.conn.execute(_PLACEHOLDER.sub(r"?\1", query), values)
            names = [d[0] for d in cursor.description]
            rows = await cursor.fetchall()
            await cursor.close()
            return [dict(zip(names, row, strict=True)) for row in rows]
        async with self.pool.acquire() as conn:
            return [dict(row) for row in await conn.fetch(query, *values)]


def create_app(settings: Settings) -> Starlette:
    """The raw floor for these settings (the schema must already be migrated and seeded)."""
    settings.require_secrets()
    database = Database(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await database.open()
        try:
            yield
        finally:
            await database.close()

    app = Starlette(
        routes=[Route("/graphql", me, methods=["POST"]), Route("/readyz", readyz)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    return app


def app_from_env() -> Starlette:
    """uvicorn factory: settings from the environment, like ``api.app.app_from_env``."""
    return create_app(from_env())
