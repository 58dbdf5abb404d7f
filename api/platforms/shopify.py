"""``POST /webhooks/shopify``: Shopify's deliveries exactly as it sends them.

Unset ``LOYALTY_SHOPIFY_SECRET``: 404. ``X-Shopify-Hmac-Sha256`` must be base64(HMAC-SHA256(raw
body, secret)), or the answer is 401 and nothing is stored. A correctly signed delivery is
stored in the inbox and always answered 200 (Shopify retries, then drops the subscription,
when it is not): what cannot be applied waits there, parked with its reason.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.logs import refused
from loyalty.events.signing import verify
from loyalty.platforms import inbox, shopify
from loyalty.settings import Settings

SIGNATURE_HEADER = "x-shopify-hmac-sha256"
TOPIC_HEADER = "x-shopify-topic"
DELIVERY_HEADER = "x-shopify-webhook-id"


async def shopify_webhook(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    if not settings.shopify_secret:
        return JSONResponse({"error": {"code": "NOT_FOUND", "message": "Not Found"}}, 404)
    body = await request.body()
    secret, signature = settings.shopify_secret.value, request.headers.get(SIGNATURE_HEADER)
    if not verify(body, secret=secret, signature=signature):
        refused(401, request.url.path, "missing or invalid X-Shopify-Hmac-Sha256")
        return JSONResponse(
            {"error": {"code": "BAD_SIGNATURE", "message": "invalid X-Shopify-Hmac-Sha256"}}, 401
        )
    delivery = await inbox.receive(
        settings,
        shopify.PLATFORM,
        request.headers.get(TOPIC_HEADER, ""),
        request.headers.get(DELIVERY_HEADER),
        body,
    )
    return JSONResponse({"status": delivery.status.value, "reason": delivery.reason})
