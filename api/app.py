"""The ASGI app: GraphQL, webhooks, health and metrics, with the database opened in lifespan."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from api import webhooks
from api.auth import Unauthenticated, authenticate
from api.console.routes import mount as console
from api.context import Context
from api.logs import refused
from api.metrics import MetricsMiddleware, metrics
from api.platforms.bigcommerce import bigcommerce_webhook
from api.platforms.shopify import shopify_webhook
from api.platforms.woocommerce import woocommerce_webhook
from api.schema import build_schema
from api.throttle import PublicRateLimit
from loyalty import db
from loyalty.settings import Settings, from_env

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1_000_000


class LoyaltyGraphQL(GraphQL[Context, None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            build_schema(production=settings.production),
            graphql_ide=None if settings.production else "graphiql",
            allow_queries_via_get=not settings.production,
        )
        self.settings = settings

    async def get_context(self, request: Any, response: Any) -> Context:
        role, member_id = request.scope["state"]["caller"]
        return Context(self.settings, role, member_id, request, response)


class Authenticated:
    """Answers 401 to a wrong key or an expired token before GraphQL sees the request."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            caller = await authenticate(Headers(scope=scope).get("authorization"), self.settings)
        except Unauthenticated as exc:
            refused(401, scope["path"], str(exc))
            response = JSONResponse({"errors": [{"message": str(exc)}]}, status_code=401)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


# A NUL character, raw or escaped (in JSON, or in a GraphQL string inside JSON): PostgreSQL
# text cannot hold it, so no field may contain it.
_NUL = re.compile(rb"\x00|\\+u0000|\\+u\{0+\}")
# An escaped UTF-16 surrogate (D800-DFFF), fixed-width or braced, with the backslashes before it.
_HALF = rb"([dD][89a-fA-F][0-9a-fA-F]{2})"
_SURROGATE = re.compile(rb"(\\+)u(?:" + _HALF + rb"|\{0*" + _HALF + rb"\})")


def lone_surrogate(body: bytes) -> bool:
    """Whether a body escapes half a surrogate pair: no text column can store it (it is not
    Unicode), so it is refused like a NUL. A pair (high then low, next to each other) is a
    character like any other and passes.

    The escape is JSON's when an odd number of backslashes precede the ``u``, a GraphQL string
    escape inside the JSON when that number is 2 mod 4 (JSON turns ``\\\\`` into one
    backslash), and plain text otherwise."""
    pending_high: tuple[int, int] | None = None  # (level, end) of a high half waiting for its low
    for match in _SURROGATE.finditer(body):
        slashes = len(match.group(1))
        level = 1 if slashes % 2 else 2 if slashes % 4 == 2 else 0
        if level == 0:
            continue
        unit = int(match.group(2) or match.group(3), 16)
        if pending_high is not None:
            paired = pending_high == (level, match.start()) and unit >= 0xDC00
            if not paired:
                return True
            pending_high = None
            continue
        if unit >= 0xDC00:
            return True  # a low half with no high half before it
        pending_high = (level, match.end())
    return pending_high is not None


class BodySizeLimit:
    """Answers 413 to a body over the limit, declared or streamed, before anything parses it;
    and 400 to a body or query string with a NUL character, which no field may contain."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            more = message.get("more_body", False)
        body = b"".join(chunks)
        query = unquote_to_bytes(scope.get("query_string", b""))
        refusal = None
        if _NUL.search(body) or _NUL.search(query):
            refusal = "NUL characters are not allowed"
        elif lone_surrogate(body) or lone_surrogate(query):
            refusal = "strings must be Unicode: half a UTF-16 surrogate pair is not allowed"
        if refusal is not None:
            refused(400, scope["path"], refusal)
            response = JSONResponse({"errors": [{"message": refusal}]}, status_code=400)
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"request body over {self.max_bytes} bytes"
        refused(413, scope["path"], message)
        response = JSONResponse({"errors": [{"message": message}]}, status_code=413)
        await response(scope, receive, send)


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(_: Request) -> Response:
    try:
        await db.fetch(db.connection(), "SELECT 1 AS ok")
    except Exception:
        log.exception("readiness check failed")
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})


def create_app(settings: Settings, *, migrate: bool = True) -> Starlette:
    """The app for these settings; ``migrate`` applies migrations at start-up."""
    settings.require_secrets()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await db.init(settings, apply_migrations=migrate)
        try:
            yield
        finally:
            await db.close()

    graphql = LoyaltyGraphQL(settings)
    app = Starlette(
        routes=[
            Route(
                "/graphql",
                Authenticated(PublicRateLimit(graphql, settings), settings),
                methods=["GET", "POST"],
            ),
            Route("/webhooks/orders", webhooks.order_webhook, methods=["POST"]),
            Route("/webhooks/refunds", webhooks.refund_webhook, methods=["POST"]),
            Route("/webhooks/shopify", shopify_webhook, methods=["POST"]),
            Route("/webhooks/bigcommerce", bigcommerce_webhook, methods=["POST"]),
            Route("/webhooks/woocommerce", woocommerce_webhook, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            console(),
        ],
        middleware=[Middleware(MetricsMiddleware), Middleware(BodySizeLimit)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.schema = graphql.schema  # the console runs its operations on the same schema
    return app


def app_from_env() -> Starlette:
    """uvicorn factory for worker processes: settings from the environment, schema ready."""
    return create_app(from_env(), migrate=False)
