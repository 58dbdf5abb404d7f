"""Signed order and refund webhooks: same effect and idempotency as the mutations."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from loyalty import orders
from loyalty.earning import LineInput
from loyalty.errors import LoyaltyError
from loyalty.settings import Settings

MAX_BODY = 1_000_000
SIGNATURE_HEADER = "x-loyalty-hmac-sha256"


def sign(body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(raw body, secret)), as senders compute it."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _verified(body: bytes, signature: str | None, settings: Settings) -> bool:
    if not signature or not settings.webhook_secret:
        return False
    expected = sign(body, settings.webhook_secret.value)
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "field": field}}, status)


async def _read(request: Request) -> tuple[dict[str, Any] | None, JSONResponse | None]:
    body = await request.body()
    if len(body) > MAX_BODY:
        return None, _error(413, "TOO_LARGE", "body over 1 MB")
    settings: Settings = request.app.state.settings
    if not _verified(body, request.headers.get(SIGNATURE_HEADER), settings):
        return None, _error(401, "BAD_SIGNATURE", "missing or invalid X-Loyalty-Hmac-Sha256")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, _error(400, "BAD_JSON", "body is not JSON")
    if not isinstance(data, dict):
        return None, _error(400, "BAD_JSON", "body must be a JSON object")
    return data, None


def _order_input(data: dict[str, Any]) -> orders.OrderInput:
    customer = data.get("customer") or {}
    placed = data.get("created_at")
    return orders.OrderInput(
        external_id=str(data.get("id") or ""),
        member_external_id=str(customer.get("id") or data.get("customer_id") or ""),
        placed_at=datetime.fromisoformat(placed) if placed else None,
        currency=data.get("currency"),
        discount=data.get("total_discounts") or 0,
        shipping=data.get("total_shipping") or 0,
        lines=[
            LineInput(
                sku=str(item.get("sku") or ""),
                quantity=item.get("quantity"),  # type: ignore[arg-type]
                unit_price=item.get("price"),  # type: ignore[arg-type]
                name=item.get("title"),
                category=item.get("product_type"),
            )
            for item in data.get("line_items") or []
        ],
    )


async def order_webhook(request: Request) -> JSONResponse:
    data, failure = await _read(request)
    if failure:
        return failure
    assert data is not None
    try:
        result = await orders.record_order(request.app.state.settings, _order_input(data))
    except LoyaltyError as exc:
        return _error(422, exc.code.value, exc.message, exc.field)
    except (TypeError, ValueError, AttributeError):
        return _error(422, "INVALID", "the order payload is malformed")
    return JSONResponse(
        {
            "order": result.order.external_id,
            "pointsAwarded": result.points_awarded,
            "replayed": result.replayed,
        }
    )


async def refund_webhook(request: Request) -> JSONResponse:
    data, failure = await _read(request)
    if failure:
        return failure
    assert data is not None
    try:
        refund = orders.RefundInput(
            order_external_id=str(data.get("order_id") or ""),
            external_id=str(data["id"]) if data.get("id") else None,
            amount=data.get("amount"),
            lines=[
                orders.RefundLineInput(str(x.get("sku")), int(x.get("quantity")))
                for x in data.get("refund_line_items") or []
            ],
        )
        result = await orders.refund_order(request.app.state.settings, refund)
    except LoyaltyError as exc:
        return _error(422, exc.code.value, exc.message, exc.field)
    except (TypeError, ValueError, AttributeError):
        return _error(422, "INVALID", "the refund payload is malformed")
    return JSONResponse(
        {
            "refund": result.refund.external_id,
            "pointsReversed": result.points_reversed,
            "shortfall": result.shortfall,
            "replayed": result.replayed,
        }
    )
