"""The floor for the read path: one plain Starlette endpoint doing only what must be done.

Same bearer-token check (``api.auth.authenticate``), same database reads (``loyalty.members.get``
and ``loyalty.history.entries`` on the same tortoise models), same JSON as the GraphQL answer to
``bench.queries.ME``, opened the same way (``loyalty.db.init`` in the lifespan) and served by the
same uvicorn. What the real app spends above this is the GraphQL and middleware stack.
Serve with ``python -m uvicorn bench.floor:app_from_env --factory``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth import Unauthenticated, authenticate
from api.context import Role
from loyalty import db, history, members
from loyalty.errors import LoyaltyError
from loyalty.settings import Settings, from_env
from models import LedgerEntry

PAGE = 10  # transactions(first: 10)


def node(row: LedgerEntry) -> dict[str, Any]:
    """One transaction as the GraphQL query selects it."""
    return {
        "kind": row.kind.name,
        "points": row.points,
        "balanceAfter": row.balance_after,
        "createdAt": row.created_at.isoformat(),
    }


async def me(request: Request) -> Response:
    """The member's balance and last transactions, for a member token."""
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
    rows, _ = await history.entries(member.id, PAGE, None)
    # Offers and tier fields: add them here when they are added to bench.queries.ME.
    me = {
        "pointsBalance": member.balance,
        "transactions": {"edges": [{"node": node(r)} for r in rows]},
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
