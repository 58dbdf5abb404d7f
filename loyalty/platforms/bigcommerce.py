"""BigCommerce's callbacks and API objects as the programme's commands: pure functions, no I/O.

BigCommerce's field names stop here. A callback is thin (``scope``, ``data {type, id}``,
``hash``, ``created_at``): the order or customer it names is fetched from the API
(``bigcommerce_api``) and mapped by the functions below.

What earns, by the order's ``status_id`` (the V2 Orders API's status table):

- paid: 2 Shipped, 3 Partially Shipped, 8 Awaiting Pickup, 9 Awaiting Shipment, 10 Completed,
  11 Awaiting Fulfillment ("payment has been confirmed") and 14 Partially Refunded (it was
  paid; its refunds are reversed one by one) record the order, once per order id;
- not paid yet, nothing happens: 0 Incomplete, 1 Pending, 7 Awaiting Payment,
  12 Manual Verification Required, 13 Disputed (an order credited before a dispute keeps its
  points until money goes back as a refund);
- 4 Refunded, 5 Cancelled, 6 Declined reverse what is left of an order that was credited.

Refunds come from the V3 refunds API (``GET /v3/orders/{id}/payment_actions/refunds``), one
reversal per refund id, of the money of its payments that were not declined. The V2 order's
``refunded_amount`` is not used: the V2 reference says it always returns 0.

Amounts are the V2 order's transactional currency (``default_currency_code``), pre-tax:
lines at ``price_ex_tax``, less ``discount_amount`` and ``coupon_discount``;
``shipping_cost_ex_tax`` is recorded and never earns. BigCommerce keeps four decimals; amounts
are rounded to the cent (half up). ``customer_id`` 0 is a guest order, which earns nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

from loyalty.errors import ErrorCode
from loyalty.members import EnrollInput
from loyalty.money import CENT
from loyalty.orders import LineInput, OrderInput, RefundInput
from loyalty.platforms import fields
from loyalty.platforms.commands import (
    Cancel,
    Close,
    Command,
    Enrol,
    Ignore,
    RecordOrder,
    Refund,
)

PLATFORM = "bigcommerce"
REFUND_SCOPE = "store/order/refund/created"
ORDER_SCOPES = frozenset(
    {"store/order/created", "store/order/updated", "store/order/statusUpdated", REFUND_SCOPE}
)
CUSTOMER_SCOPES = frozenset({"store/customer/created", "store/customer/updated"})
DELETED_SCOPE = "store/customer/deleted"
"""The customer was deleted in the store: the member is closed (its orders no longer earn)."""
SCOPES = ORDER_SCOPES | CUSTOMER_SCOPES | {DELETED_SCOPE}
"""The scopes a store's hooks are created for; any other is stored and ignored."""

PAID = {
    2: "Shipped",
    3: "Partially Shipped",
    8: "Awaiting Pickup",
    9: "Awaiting Shipment",
    10: "Completed",
    11: "Awaiting Fulfillment",
    14: "Partially Refunded",
}
NOT_PAID = {
    0: "Incomplete",
    1: "Pending",
    7: "Awaiting Payment",
    12: "Manual Verification Required",
    13: "Disputed",
}
UNDONE = {4: "Refunded", 5: "Cancelled", 6: "Declined"}
REFUNDED = frozenset({4, 14})
"""Statuses whose refunds are fetched with the order."""
GUEST = "0"
CUSTOM_ITEM_SKU = "bigcommerce-custom-item"
"""A line with no sku, variant or product (a custom product): one catalogue entry for all."""


def order_id(bigcommerce_id: str) -> str:
    """The domain's external id of a BigCommerce order."""
    return f"bigcommerce-{bigcommerce_id}"


def envelope(body: bytes) -> tuple[str, str | None]:
    """A callback's topic (``scope``) and delivery id, read from its body.

    ``hash`` is the SHA-1 of the callback's ``data``: a retry carries the same one, but so does
    every ``store/order/updated`` of the same order. The delivery id is therefore the scope,
    the hash and ``created_at`` (when the event happened): a retried callback is the same
    delivery, a later change of the same order a new one. A body that is not a JSON object
    gives ``("", None)``: the inbox stores it under a digest and parks it.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return "", None
    if not isinstance(data, dict):
        return "", None
    scope = data.get("scope")
    topic = scope if isinstance(scope, str) else ""
    digest, created = data.get("hash"), data.get("created_at")
    if not isinstance(digest, str) or not digest:
        return topic, None
    if isinstance(created, int) and not isinstance(created, bool):
        return topic, f"{topic}:{digest}:{created}"
    return topic, f"{topic}:{digest}"


@dataclass(frozen=True)
class Callback:
    """What a callback names: an order or a customer, by BigCommerce id."""

    resource: str
    id: str

    @property
    def is_customer(self) -> bool:
        return self.resource == "customer"


def callback(topic: str, body: dict[str, Any]) -> Callback | Close | Ignore:
    """The order or customer a callback of this topic names, or what it asks for without a
    fetch (a deleted customer is closed; any other topic asks for nothing)."""
    if topic not in SCOPES:
        return Ignore(f"topic {topic!r} is not handled")
    data = fields.required(fields.obj(body.get("data"), "data"), "data")
    found = fields.required(fields.identifier(data.get("id"), "data.id"), "data.id")
    if topic == DELETED_SCOPE:
        return Close(found)
    return Callback("customer" if topic in CUSTOMER_SCOPES else "order", found)


@dataclass(frozen=True)
class OrderState:
    """What an order's status asks for: record it, fetch its refunds, undo the rest."""

    id: str
    status: int
    records: bool
    refunded: bool
    undone: bool

    @property
    def external_id(self) -> str:
        return order_id(self.id)

    @property
    def waiting(self) -> str:
        """Why an order in this status earns nothing yet."""
        name = NOT_PAID.get(self.status, "unknown")
        return f"order {self.external_id} is {name} (status {self.status}): points follow payment"


def state(order: dict[str, Any]) -> OrderState:
    """The order's status, read from a V2 order."""
    found = fields.required(fields.identifier(order.get("id"), "id"), "id")
    status = order.get("status_id")
    if isinstance(status, bool) or not isinstance(status, int):
        raise fields.bad("status_id", "must be an integer")
    return OrderState(found, status, status in PAID, status in REFUNDED, status in UNDONE)


def record_command(order: dict[str, Any], products: list[dict[str, Any]]) -> Command:
    """Record a paid V2 order with its products, or say why it earns nothing (a guest)."""
    customer = fields.required(
        fields.identifier(order.get("customer_id"), "customer_id"), "customer_id"
    )
    if customer == GUEST:
        return Ignore("guest order: no customer to credit")
    member = order_customer(order, customer)
    lines = [_line(item, at) for at, item in fields.objects(products, "products")]
    discount = (_money(order.get("discount_amount"), "discount_amount") or Decimal(0)) + (
        _money(order.get("coupon_discount"), "coupon_discount") or Decimal(0)
    )
    return RecordOrder(
        order=OrderInput(
            external_id=order_id(state(order).id),
            member_external_id=member.external_id,
            lines=lines,
            currency=fields.text(order.get("default_currency_code"), "default_currency_code"),
            placed_at=_moment(order.get("date_created"), "date_created"),
            discount=discount,
            shipping=_money(order.get("shipping_cost_ex_tax"), "shipping_cost_ex_tax") or 0,
        ),
        customer=member,
    )


def order_customer(order: dict[str, Any], customer_id: str) -> EnrollInput:
    """The order's customer as an enrolment, from its billing address (the V2 order has no
    other e-mail)."""
    billing = fields.obj(order.get("billing_address"), "billing_address") or {}
    return fields.enrolment(customer_id, billing, "billing_address")


def customer_command(customer: dict[str, Any]) -> Command:
    """A V3 customer joins (``str(id)`` is its member id); an e-mail is optional."""
    found = fields.required(fields.identifier(customer.get("id"), "id"), "id")
    return Enrol(fields.enrolment(found, customer, ""))


def refund_commands(bigcommerce_order_id: str, refunds: list[dict[str, Any]]) -> list[Command]:
    """One reversal per V3 refund of the order: the money of its payments that were not
    declined (all of ``total_amount`` when it lists no payments)."""
    commands: list[Command] = []
    for at, refund in fields.objects(refunds, "data"):
        found = fields.required(fields.identifier(refund.get("id"), f"{at}.id"), f"{at}.id")
        payments = fields.objects(refund.get("payments"), f"{at}.payments")
        if payments:
            amounts = [
                _money(payment.get("amount"), f"{where}.amount") or Decimal(0)
                for where, payment in payments
                if not fields.flag(payment.get("is_declined"), f"{where}.is_declined")
            ]
            money = sum(amounts, Decimal(0))
        else:
            money = _money(refund.get("total_amount"), f"{at}.total_amount") or Decimal(0)
        if money == 0:
            commands.append(Ignore(f"refund {found}: no money went back"))
            continue
        key = f"bigcommerce-refund-{found}"
        commands.append(Refund(RefundInput(order_id(bigcommerce_order_id), key, money)))
    return commands


def refund_order_id(refund: dict[str, Any]) -> str:
    """The BigCommerce id of the order a V3 refund belongs to."""
    return fields.required(fields.identifier(refund.get("order_id"), "order_id"), "order_id")


def stand_in(resource: str, item: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The callback an item a sync pulled stands for, to park it in the inbox: its scope, a
    delivery id, and a body naming the item as BigCommerce's callbacks do."""
    found = fields.required(fields.identifier(item.get("id"), "id"), "id")
    if resource == "refunds":
        scope = REFUND_SCOPE
        data = {"type": "order", "id": refund_order_id(item), "refund": {"refund_id": found}}
        return scope, f"sync:{scope}:{found}", _stand_in_body(scope, data)
    kind = "customer" if resource == "customers" else "order"
    scope = f"store/{kind}/updated"
    changed = fields.text(item.get("date_modified"), "date_modified") or ""
    delivery = f"sync:{scope}:{found}:{changed}"
    return scope, delivery, _stand_in_body(scope, {"type": kind, "id": found})


def _stand_in_body(scope: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"scope": scope, "data": data, "producer": "loyalty sync"}


def cancel_command(order: OrderState) -> Cancel:
    """Reverse what is left of a refunded, cancelled or declined order."""
    return Cancel(
        order.external_id, refund_external_id=f"bigcommerce-cancel-{order.id}", final=False
    )


def _line(item: dict[str, Any], at: str) -> LineInput:
    return LineInput(
        sku=_sku(item, at),
        quantity=fields.quantity(item.get("quantity"), f"{at}.quantity"),
        unit_price=fields.required(
            _money(item.get("price_ex_tax"), f"{at}.price_ex_tax"), f"{at}.price_ex_tax"
        ),
        name=fields.text(item.get("name"), f"{at}.name"),
    )


def _sku(item: dict[str, Any], at: str) -> str:
    """The line's sku; without one, its variant, else its product (0 is none), else the one
    entry for custom products."""
    sku = (fields.text(item.get("sku"), f"{at}.sku") or "").strip()
    if sku:
        return sku
    variant = fields.identifier(item.get("variant_id"), f"{at}.variant_id")
    if variant and variant != "0":
        return f"bigcommerce-variant-{variant}"
    product = fields.identifier(item.get("product_id"), f"{at}.product_id")
    if product and product != "0":
        return f"bigcommerce-product-{product}"
    return CUSTOM_ITEM_SKU


def _money(value: object, field: str) -> Decimal | None:
    """A BigCommerce amount (a string with four decimals, or a JSON number) rounded to the
    cent; empty or absent is None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise fields.bad(field, "must be a number or a numeric string", ErrorCode.INVALID_AMOUNT)
    try:
        exact = Decimal(value.strip() if isinstance(value, str) else value)
        cents = exact.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # not a number, or too large to have cents
        raise fields.bad(field, "is not an amount", ErrorCode.INVALID_AMOUNT) from None
    return fields.amount(cents, field)


def _moment(value: object, field: str) -> datetime | None:
    """An RFC 2822 date-time (``Tue, 05 Mar 2019 21:40:11 +0000``), as V2 orders give them."""
    found = fields.text(value, field)
    if not found:
        return None
    try:
        moment = parsedate_to_datetime(found)
    except (TypeError, ValueError):
        raise fields.bad(field, "must be an RFC 2822 date-time", ErrorCode.INVALID_DATE) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
