"""``POST /webhooks/bigcommerce``: BigCommerce's callbacks exactly as it sends them.

Unset ``LOYALTY_BIGCOMMERCE_SECRET``: 404. BigCommerce signs nothing with a key the store
holds; each hook is created with a custom header instead, ``X-Loyalty-Bigcommerce-Secret:
<LOYALTY_BIGCOMMERCE_SECRET>``, compared here in constant time: missing or different, the
answer is 401 and nothing is stored. An authentic callback is stored in the inbox, the order
or customer it names is fetched and applied, and the answer is 200 whatever happens next
(BigCommerce retries, then deactivates a hook whose domain keeps failing): what cannot be
applied, a failed fetch included, waits in the inbox, parked with its reason.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.logs import refused
from loyalty.platforms import bigcommerce, inbox
from loyalty.settings import Settings

SECRET_HEADER = "x-loyalty-bigcommerce-secret"


def authentic(header: str | None, secret: str) -> bool:
    """Whether the callback carries the secret header, compared in constant time."""
    if not header or not secret:
        return False
    return hmac.compare_digest(header.strip().encode(), secret.encode())


async def bigcommerce_webhook(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    if not settings.bigcommerce_secret:
        return JSONResponse({"error": {"code": "NOT_FOUND", "message": "Not Found"}}, 404)
    if not authentic(request.headers.get(SECRET_HEADER), settings.bigcommerce_secret.value):
        refused(401, request.url.path, "missing or wrong X-Loyalty-Bigcommerce-Secret")
        return JSONResponse(
            {"error": {"code": "UNAUTHORIZED", "message": "wrong X-Loyalty-Bigcommerce-Secret"}},
            401,
        )
    body = await request.body()
    topic, delivery_id = bigcommerce.envelope(body)
    delivery = await inbox.receive(settings, bigcommerce.PLATFORM, topic, delivery_id, body)
    return JSONResponse({"status": delivery.status.value, "reason": delivery.reason})
