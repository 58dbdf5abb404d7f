"""The floors: plain Starlette endpoints doing only what must be done, served like the app.

``POST /graphql`` is the read floor. Same bearer-token check (``api.auth.authenticate``), same
database reads through the same functions the resolvers call (``loyalty.members.account``,
``loyalty.ledger.history.entries``, ``loyalty.offers.serving.offers``), same JSON as the
GraphQL answer to ``bench.queries.ME``. What the real app spends above this is the GraphQL and
middleware stack.

``POST /orders`` is the write floor over HTTP: the same token check for a staff key, the JSON
body parsed, and the rows ``recordOrder`` writes inserted with the raw driver in one transaction
(``bench.raw_writes``). What the app spends above this is everything but HTTP, JSON and the
database.

Both open the database in the lifespan (``loyalty.db.init`` and a raw writer) and are served by
the same uvicorn: ``python -m uvicorn bench.floor:app_from_env --factory``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth import Unauthenticated, authenticate
from api.context import STAFF, Role
from api.relay import encode_id
from bench.raw_writes import RawOrder, Writer, writer
from loyalty import db, members
from loyalty.errors import LoyaltyError
from loyalty.ledger import history
from loyalty.money import from_cents
from loyalty.offers import serving
from loyalty.settings import Settings, from_env

PAGE = 10  # transactions(first: 10)
OFFERS = 10  # offers(first: 10)


def node(row: history.Entry) -> dict[str, Any]:
    """One transaction as the GraphQL query selects it."""
    return {
        "kind": row.kind.name,
        "points": row.points,
        "balanceAfter": row.balance_after,
        "createdAt": row.created_at.isoformat(),
    }


def product_offer(offer: serving.ProductOffer) -> dict[str, Any]:
    """A product offer as the GraphQL query selects it."""
    product = offer.product
    price = None if product.price_cents is None else str(from_cents(product.price_cents))
    return {
        "kind": "PRODUCT",
        "score": offer.score,
        "reason": offer.reason,
        "product": {
            "id": encode_id("Product", product.id),
            "sku": product.sku,
            "name": product.name,
            "price": price,
        },
        "reward": None,
    }


def reward_offer(offer: serving.RewardOffer) -> dict[str, Any]:
    """A reward offer as the GraphQL query selects it."""
    reward = offer.reward
    return {
        "kind": "REWARD",
        "score": offer.score,
        "reason": offer.reason,
        "product": None,
        "reward": {
            "id": encode_id("Reward", reward.id),
            "name": reward.name,
            "kind": reward.kind.name,
            "pointsCost": reward.points_cost,
        },
    }


async def offers(found: members.Account, first: int) -> list[dict[str, Any]]:
    """``Member.offers``, through the function the resolver calls."""
    rewards, products = await serving.offers(
        found.member, first, tier=found.tier, config=found.config
    )
    return [*map(reward_offer, rewards), *map(product_offer, products)]


async def me(request: Request) -> Response:
    """The member's balance, tier, last transactions and offers, for a member token."""
    settings: Settings = request.app.state.settings
    try:
        role, member_id = await authenticate(request.headers.get("authorization"), settings)
    except Unauthenticated as exc:
        return JSONResponse({"errors": [{"message": str(exc)}]}, status_code=401)
    await request.json()  # the real app parses the body too
    if role is not Role.MEMBER or member_id is None:
        return JSONResponse({"data": None, "errors": [{"message": "not authorised"}]})
    try:
        found = await members.account(member_id)
    except LoyaltyError:
        return JSONResponse({"data": {"me": None}})
    member = found.member
    # The member's fields are read concurrently, as graphql-core gathers sibling resolvers.
    (rows, _), member_offers = await asyncio.gather(
        history.entries(member.id, PAGE, None), offers(found, OFFERS)
    )
    tier = found.tier.tier
    me = {
        "pointsBalance": member.balance,
        "tier": {"name": tier.name} if tier else None,
        "transactions": {"edges": [{"node": node(r)} for r in rows]},
        "offers": member_offers,
    }
    return JSONResponse({"data": {"me": me}})


async def record_order(request: Request) -> Response:
    """One order's rows written with the raw driver, for a staff key."""
    settings: Settings = request.app.state.settings
    try:
        role, _ = await authenticate(request.headers.get("authorization"), settings)
    except Unauthenticated as exc:
        return JSONResponse({"errors": [{"message": str(exc)}]}, status_code=401)
    if role not in STAFF:
        return JSONResponse({"errors": [{"message": "not authorised"}]}, status_code=403)
    try:
        order = RawOrder.from_json(await request.json())
    except (KeyError, TypeError, ValueError) as exc:
        return JSONResponse({"errors": [{"message": f"malformed order: {exc}"}]}, status_code=400)
    raw: Writer = request.app.state.writer
    return JSONResponse({"pointsAwarded": await raw.write(order)})


async def readyz(_: Request) -> Response:
    await db.fetch(db.connection(), "SELECT 1 AS ok")
    return JSONResponse({"status": "ready"})


def create_app(settings: Settings) -> Starlette:
    """The floor app for these settings (the schema must already be migrated)."""
    settings.require_secrets()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.init(settings, apply_migrations=False)
        try:
            async with writer(settings) as raw:
                app.state.writer = raw
                yield
        finally:
            await db.close()

    app = Starlette(
        routes=[
            Route("/graphql", me, methods=["POST"]),
            Route("/orders", record_order, methods=["POST"]),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


def app_from_env() -> Starlette:
    """uvicorn factory: settings from the environment, like ``api.app.app_from_env``."""
    return create_app(from_env())
