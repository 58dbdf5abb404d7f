"""``POST /webhooks/woocommerce``: a WooCommerce shop's deliveries exactly as it sends them.

Unset ``LOYALTY_WOOCOMMERCE_SECRET``: 404. ``X-WC-Webhook-Signature`` must be
base64(HMAC-SHA256(raw body, secret)), or the answer is 401 and nothing is stored. The one
exception is the ping WooCommerce sends when a webhook is first activated: an unsigned form
body ``webhook_id=<n>`` with no ``X-WC-Webhook-*`` header, answered 200 (WooCommerce shows the
admin an error otherwise) and not stored. A correctly signed delivery is stored in the inbox
and always answered 200; what cannot be applied waits there, parked with its reason.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.logs import refused
from loyalty.events.signing import verify
from loyalty.platforms import inbox, woocommerce
from loyalty.settings import Settings

SIGNATURE_HEADER = "x-wc-webhook-signature"
TOPIC_HEADER = "x-wc-webhook-topic"
DELIVERY_HEADER = "x-wc-webhook-delivery-id"
PING = re.compile(rb"webhook_id=[0-9]+")


async def woocommerce_webhook(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    if not settings.woocommerce_secret:
        return JSONResponse({"error": {"code": "NOT_FOUND", "message": "Not Found"}}, 404)
    body = await request.body()
    signature = request.headers.get(SIGNATURE_HEADER)
    if signature is None and PING.fullmatch(body.strip()):
        return JSONResponse({"status": "ping", "reason": "webhook activated; nothing stored"})
    if not verify(body, secret=settings.woocommerce_secret.value, signature=signature):
        refused(401, request.url.path, "missing or invalid X-WC-Webhook-Signature")
        return JSONResponse(
            {"error": {"code": "BAD_SIGNATURE", "message": "invalid X-WC-Webhook-Signature"}}, 401
        )
    delivery = await inbox.receive(
        settings,
        woocommerce.PLATFORM,
        request.headers.get(TOPIC_HEADER, ""),
        request.headers.get(DELIVERY_HEADER),
        body,
    )
    return JSONResponse({"status": delivery.status.value, "reason": delivery.reason})
