"""The floor for the read path: one plain Starlette endpoint doing only what must be done.

Same bearer-token check (``api.auth.authenticate``), same database reads through the same
functions the resolvers call (``loyalty.members.get``, ``loyalty.history.entries``,
``loyalty.rules.member_tier``, ``recommend.serving.reward_offers`` and ``product_offers``), same
JSON as the GraphQL answer to ``bench.queries.ME``, opened the same way (``loyalty.db.init`` in
the lifespan) and served by the same uvicorn. What the real app spends above this is the GraphQL
and middleware stack. Serve with ``python -m uvicorn bench.floor:app_from_env --factory``.
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
from api.context import Role
from api.relay import encode_id
from loyalty import db, history, members, rules
from loyalty.errors import LoyaltyError
from loyalty.money import from_cents
from loyalty.settings import Settings, from_env
from models import LedgerEntry
from recommend import serving

PAGE = 10  # transactions(first: 10)
OFFERS = 10  # offers(first: 10)


def node(row: LedgerEntry) -> dict[str, Any]:
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


async def offers(member_id: int, first: int) -> list[dict[str, Any]]:
    """``Member.offers``: a quarter rewards, the rest products, as the resolver splits them."""
    rewards = await serving.reward_offers(member_id, max(1, first // 4))
    products = await serving.product_offers(member_id, first - len(rewards))
    return [*map(reward_offer, rewards), *map(product_offer, products)]


async def me(request: Request) -> Response:
    """The member's balance, tier, last transactions and offers, for a member token."""
    settings: Settings = request.app.state.settings
    try:
        role, member_id = authenticate(request.headers.get("authorization"), settings)
    except Unauthenticated as exc:
        return JSONResponse({"errors": [{"message": str(exc)}]}, status_code=401)
    await request.json()  # the real app parses the body too
    if role is not Role.MEMBER or member_id is None:
        return JSONResponse({"data": None, "errors": [{"message": "not authorised"}]})
    try:
        member = await members.get(member_id)
    except LoyaltyError:
        return JSONResponse({"data": {"me": None}})
    # The member's fields are read concurrently, as graphql-core gathers sibling resolvers.
    (rows, _), state, member_offers = await asyncio.gather(
        history.entries(member.id, PAGE, None),
        rules.member_tier(member.id),
        offers(member.id, OFFERS),
    )
    me = {
        "pointsBalance": member.balance,
        "tier": {"name": state.tier.name} if state.tier else None,
        "transactions": {"edges": [{"node": node(r)} for r in rows]},
        "offers": member_offers,
    }
    return JSONResponse({"data": {"me": me}})


async def readyz(_: Request) -> Response:
    await db.fetch(db.connection(), "SELECT 1 AS ok")
    return JSONResponse({"status": "ready"})


def create_app(settings: Settings) -> Starlette:
    """The floor app for these settings (the schema must already be migrated)."""
    settings.require_secrets()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await db.init(settings, apply_migrations=False)
        try:
            yield
        finally:
            await db.close()

    app = Starlette(
        routes=[Route("/graphql", me, methods=["POST"]), Route("/readyz", readyz)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


def app_from_env() -> Starlette:
    """uvicorn factory: settings from the environment, like ``api.app.app_from_env``."""
    return create_app(from_env())
