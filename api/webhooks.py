"""Signed order and refund webhooks: same effect and idempotency as the mutations.

Errors are ``{"error": {"code", "message", "field"}}``, the field as the body spells it: 400 for
a body that is not JSON or holds a value of the wrong type (``webhook_bodies``), 422 for a rule
of the programme; either way nothing is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.webhook_bodies import ORDER_FIELDS, REFUND_FIELDS, body_field, order_input, refund_input
from loyalty import orders
from loyalty.errors import InvalidInput, LoyaltyError
from loyalty.events.signing import verify
from loyalty.settings import Settings

SIGNATURE_HEADER = "x-loyalty-hmac-sha256"
In = TypeVar("In")
R = TypeVar("R")


def _verified(body: bytes, signature: str | None, settings: Settings) -> bool:
    return verify(body, secret=settings.webhook_secret.value, signature=signature)


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "field": field}}, status)


async def _read(request: Request) -> tuple[dict[str, Any] | None, JSONResponse | None]:
    body = await request.body()  # at most MAX_BODY_BYTES: the app's BodySizeLimit answers 413
    settings: Settings = request.app.state.settings
    if not _verified(body, request.headers.get(SIGNATURE_HEADER), settings):
        return None, _error(401, "BAD_SIGNATURE", "missing or invalid X-Loyalty-Hmac-Sha256")
    try:
        data = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        return None, _error(400, "BAD_JSON", "body is nested too deeply")
    except (ValueError, InvalidOperation):  # also bad UTF-8, NaN, huge integers or exponents
        return None, _error(400, "BAD_JSON", "body is not JSON")
    if not isinstance(data, dict):
        return None, _error(400, "BAD_JSON", "body must be a JSON object")
    return data, None


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259), though Python's parser takes them."""
    raise ValueError(f"{name} is not JSON")


async def _handle(
    request: Request,
    parse: Callable[[dict[str, Any]], In],
    run: Callable[[Settings, In], Awaitable[R]],
    names: dict[str, str],
    answer: Callable[[R], dict[str, Any]],
) -> JSONResponse:
    """Both webhooks: read and verify the body, ``parse`` it into the domain's input (400), let
    ``run`` apply it as the mutation does (422 for a rule, the field as the body spells it)."""
    data, failure = await _read(request)
    if failure:
        return failure
    assert data is not None
    try:
        parsed = parse(data)
    except InvalidInput as exc:
        return _error(400, exc.code.value, exc.message, exc.field)
    try:
        result = await run(request.app.state.settings, parsed)
    except LoyaltyError as exc:
        return _error(422, exc.code.value, exc.message, body_field(exc.field, names))
    return JSONResponse(answer(result))


def _recorded(result: orders.OrderResult) -> dict[str, Any]:
    return {
        "order": result.order.external_id,
        "pointsAwarded": result.points_awarded,
        "replayed": result.replayed,
    }


def _refunded(result: orders.RefundResult) -> dict[str, Any]:
    return {
        "refund": result.refund.external_id,
        "pointsReversed": result.points_reversed,
        "shortfall": result.shortfall,
        "replayed": result.replayed,
    }


async def order_webhook(request: Request) -> JSONResponse:
    return await _handle(request, order_input, orders.record_order, ORDER_FIELDS, _recorded)


async def refund_webhook(request: Request) -> JSONResponse:
    return await _handle(request, refund_input, orders.refund_order, REFUND_FIELDS, _refunded)
