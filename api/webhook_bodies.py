"""The signed webhooks' JSON bodies read into the domain's inputs, every value type-checked.

A value of the wrong JSON type, an amount ``to_cents`` refuses, or a date that is not ISO 8601
raises ``InvalidInput`` naming the field as the body spells it (``line_items[2].price``); the
webhook answers it with a 400 before anything is recorded. The rules of the programme (lengths,
quantity bounds, the member, the currency) stay in ``loyalty``; ``body_field`` renames the
fields of their errors the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from loyalty import orders
from loyalty.errors import ErrorCode, InvalidInput
from loyalty.money import from_cents, to_cents
from loyalty.programme.earning import LineInput

# Orders are dated from here up to (not including) LATEST: expiries and windows computed from
# a date near year 1 or 9999 would leave the range of datetime.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)

# The domain's field names (recordOrder's, refundOrder's) as the bodies spell them.
ORDER_FIELDS = {
    "externalId": "id",
    "memberExternalId": "customer.id",
    "placedAt": "created_at",
    "discount": "total_discounts",
    "shipping": "total_shipping",
    "lines": "line_items",
    "unitPrice": "price",
    "name": "title",
    "category": "product_type",
}
REFUND_FIELDS = {"orderExternalId": "order_id", "externalId": "id", "lines": "refund_line_items"}

T = TypeVar("T")


def order_input(body: dict[str, Any]) -> orders.OrderInput:
    """An order webhook's body as the domain's order input."""
    customer = _object(body.get("customer"), "customer") or {}
    member = _identifier(customer.get("id"), "customer.id")
    placed = _text(body.get("created_at"), "created_at")
    return orders.OrderInput(
        external_id=_identifier(body.get("id"), "id") or "",
        member_external_id=member or _identifier(body.get("customer_id"), "customer_id") or "",
        placed_at=_moment(placed, "created_at") if placed is not None else None,
        currency=_text(body.get("currency"), "currency"),
        discount=_amount(body.get("total_discounts"), "total_discounts") or Decimal(0),
        shipping=_amount(body.get("total_shipping"), "total_shipping") or Decimal(0),
        lines=[
            LineInput(
                sku=_text(item.get("sku"), f"{at}.sku") or "",
                quantity=_quantity(item.get("quantity"), f"{at}.quantity"),
                unit_price=_required(_amount(item.get("price"), f"{at}.price"), f"{at}.price"),
                name=_text(item.get("title"), f"{at}.title"),
                category=_text(item.get("product_type"), f"{at}.product_type"),
            )
            for at, item in _objects(body.get("line_items"), "line_items")
        ],
    )


def refund_input(body: dict[str, Any]) -> orders.RefundInput:
    """A refund webhook's body as the domain's refund input."""
    return orders.RefundInput(
        order_external_id=_identifier(body.get("order_id"), "order_id") or "",
        external_id=_identifier(body.get("id"), "id") or None,
        amount=_amount(body.get("amount"), "amount"),
        lines=[
            orders.RefundLineInput(
                _text(item.get("sku"), f"{at}.sku") or "",
                _quantity(item.get("quantity"), f"{at}.quantity"),
            )
            for at, item in _objects(body.get("refund_line_items"), "refund_line_items")
        ],
    )


def body_field(field: str | None, names: dict[str, str]) -> str | None:
    """A domain error's field (``lines.2.unitPrice``) as the body spells it
    (``line_items[2].price``); names the body does not rename pass through."""
    if field is None:
        return None
    head, *rest = field.split(".")
    name = names.get(head, head)
    if rest and rest[0].isdigit():
        name += f"[{rest.pop(0)}]"
    return ".".join([name, *(names.get(part, part) for part in rest)])


def _bad(field: str, message: str, code: ErrorCode = ErrorCode.INVALID) -> InvalidInput:
    return InvalidInput(f"{field} {message}", field=field, code=code)


def _required(value: T | None, field: str) -> T:
    if value is None:
        raise _bad(field, "is required")
    return value


def _text(value: object, field: str) -> str | None:
    """A string, or None when the key is absent or null."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(field, "must be a string")
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate, which no database column can store
        raise _bad(field, "is not valid Unicode text") from None
    return value


def _identifier(value: object, field: str) -> str | None:
    """A string or an integer id (shops number their orders and customers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value, field)


def _amount(value: object, field: str) -> Decimal | None:
    """A JSON number or a numeric string, checked by the one parser of money."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _bad(field, "must be a number or a numeric string", ErrorCode.INVALID_AMOUNT)
    return from_cents(to_cents(value, field=field))


def _quantity(value: object, field: str) -> int:
    """A JSON integer; its bounds are the domain's."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(field, "must be an integer", ErrorCode.INVALID_QUANTITY)
    return value


def _moment(text: str, field: str) -> datetime:
    """An ISO 8601 date-time from EARLIEST to before LATEST; without an offset it is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(field, "must be an ISO 8601 date-time") from None
    if not EARLIEST <= moment.replace(tzinfo=moment.tzinfo or UTC) < LATEST:
        raise _bad(field, f"must be between {EARLIEST.year} and {LATEST.year - 1}")
    return moment


def _object(value: object, field: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad(field, "must be an object")
    return value


def _objects(value: object, field: str) -> list[tuple[str, dict[str, Any]]]:
    """A list of objects (absent or null: empty), each with its field path."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(field, "must be a list of objects")
    items = [(f"{field}[{i}]", item) for i, item in enumerate(value)]
    for at, item in items:
        if not isinstance(item, dict):
            raise _bad(at, "must be an object")
    return items
