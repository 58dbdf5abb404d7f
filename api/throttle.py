"""Callers without a key are limited per client address: past the limit, 429 and Retry-After."""

from __future__ import annotations

import math

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.context import Role, client_address
from loyalty.ops.ratelimit import RequestLimiter
from loyalty.settings import Settings


class PublicRateLimit:
    """Spends one of the client address's ``public_rate_limit`` requests a minute on each call
    without a key (after ``Authenticated`` has named the role); keyed callers pass untouched."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        per_minute = settings.public_rate_limit
        self.limiter = RequestLimiter(per_minute) if per_minute else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        role, _ = scope["state"]["caller"]
        if self.limiter is not None and role is Role.PUBLIC:
            wait = self.limiter.take(client_address(scope))
            if wait:
                seconds = max(1, math.ceil(wait))
                message = f"too many requests without a key; retry in {seconds} s"
                response = JSONResponse(
                    {"errors": [{"message": message}]},
                    status_code=429,
                    headers={"Retry-After": str(seconds)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
