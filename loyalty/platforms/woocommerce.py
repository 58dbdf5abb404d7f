"""WooCommerce's webhook bodies as the programme's commands: pure functions, no I/O.

WooCommerce's field names stop here. A webhook body is the resource exactly as the REST API
(v3) returns it. What earns, and what does not:

- ``order.created`` and ``order.updated`` record the order once its ``status`` is
  ``processing`` (paid) or ``completed``; the same order id is recorded once, however many
  deliveries carry it. Any other status (``pending``, ``on-hold``, ``failed``, ``trash``,
  ``checkout-draft``, ...) earns nothing, except that ``cancelled`` and ``refunded`` reverse
  what is left of an order that earned (like a full refund).
- WooCommerce has no refund topic: a refund arrives as ``order.updated``, listed in the order's
  ``refunds`` (``{id, reason, total}``, ``total`` negative, ``"-10.00"``). Each listed refund is
  reversed once, by its id, however often the order is delivered again.
- Lines earn on what was paid for them after coupons: ``price`` is WooCommerce's ``total /
  quantity`` (a JSON number), so the order's ``discount_total`` is already in it. When that
  division leaves a fraction of a cent (``8.333333333333334``), the line's exact ``total`` is
  split instead: some units at the cent below, the rest a cent above, adding up to ``total``.
  ``shipping_total`` is recorded and never earns; tax is not in any of these.
- A line without a ``sku`` (``""`` or null) is ``woocommerce-variation-<variation_id>``, else
  ``woocommerce-product-<product_id>`` (``0`` means none: the product was deleted), else
  ``woocommerce-deleted-product``.
- ``date_created_gmt`` (UTC, written without an offset) is when the order was placed;
  ``date_created`` is the shop's local time and is not used.
- The member is ``str(customer_id)``, enrolled from the order's ``billing`` when new.
  ``customer_id`` 0 is a guest: the order is kept for whoever enrols with its
  ``billing.email`` (``loyalty.orders.guests``).
- ``customer.created`` and ``customer.updated`` enrol the customer; an e-mail is optional.
- ``order.deleted`` (a body of just ``{"id"}``) changes nothing: points follow refunds and
  cancellations. ``customer.deleted`` (also just ``{"id"}``) closes the member: it keeps its
  history, its orders no longer earn.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal, InvalidOperation
from typing import Any

from loyalty.errors import ErrorCode
from loyalty.members import EnrollInput
from loyalty.money import CENT, from_cents, to_cents
from loyalty.orders import LineInput, OrderInput, RefundInput
from loyalty.platforms import fields
from loyalty.platforms.commands import (
    Cancel,
    Close,
    Command,
    Enrol,
    Ignore,
    KeepForClaim,
    RecordOrder,
    Refund,
    Steps,
)

PLATFORM = "woocommerce"
ORDER_TOPICS = frozenset({"order.created", "order.updated"})
CUSTOMER_TOPICS = frozenset({"customer.created", "customer.updated"})
TOPICS = ORDER_TOPICS | CUSTOMER_TOPICS | {"order.deleted", "customer.deleted"}
"""The topics a shop subscribes to; any other is stored and ignored."""
EARNING_STATUSES = frozenset({"processing", "completed"})
REVERSING_STATUSES = frozenset({"cancelled", "refunded"})
DELETED_PRODUCT_SKU = "woocommerce-deleted-product"
"""A line with no sku, variation or product: one catalogue entry for all."""


def order_id(woocommerce_id: str) -> str:
    """The domain's external id of a WooCommerce order."""
    return f"woocommerce-{woocommerce_id}"


def command(topic: str, body: dict[str, Any], currency: str) -> Command:
    """What a delivery of this topic asks for (refunds are in the order's own currency)."""
    if topic in ORDER_TOPICS:
        return order_command(body)
    if topic in CUSTOMER_TOPICS:
        return Enrol(customer_input(body))
    if topic == "order.deleted":
        return Ignore("a deleted order takes nothing back: refund or cancel it")
    if topic == "customer.deleted":
        return Close(fields.required(fields.identifier(body.get("id"), "id"), "id"))
    return Ignore(f"topic {topic!r} is not handled")


def order_command(body: dict[str, Any]) -> Command:
    """Record a paid order and reverse its refunds, reverse a cancelled or refunded one, or
    say why it earns nothing."""
    woocommerce_id = fields.required(fields.identifier(body.get("id"), "id"), "id")
    status = fields.text(body.get("status"), "status")
    if status in REVERSING_STATUSES:
        return Cancel(order_id(woocommerce_id), f"woocommerce-cancel-{woocommerce_id}")
    if status not in EARNING_STATUSES:
        return Ignore(f"status is {status}: only processing and completed orders earn")
    billing = fields.obj(body.get("billing"), "billing") or {}
    customer = fields.identifier(body.get("customer_id"), "customer_id")
    record: Command
    if customer is None or customer == "0":
        email = (fields.text(billing.get("email"), "billing.email") or "").strip()
        if not email:
            return Ignore("guest order without an e-mail: no one can claim it")
        record = KeepForClaim(order_input(body, ""), email)
    else:
        member = fields.enrolment(customer, billing, "billing")
        record = RecordOrder(order_input(body, member.external_id), member)
    refunds = refund_commands(body)
    return Steps((record, *refunds)) if refunds else record


def order_input(body: dict[str, Any], member_external_id: str) -> OrderInput:
    """A WooCommerce order as the domain's order input."""
    placed_at = fields.moment(body.get("date_created_gmt"), "date_created_gmt")
    if placed_at is not None:
        placed_at = (
            placed_at.replace(tzinfo=UTC) if placed_at.tzinfo is None else placed_at.astimezone(UTC)
        )
    return OrderInput(
        external_id=order_id(fields.required(fields.identifier(body.get("id"), "id"), "id")),
        member_external_id=member_external_id,
        lines=[
            line
            for at, item in fields.objects(body.get("line_items"), "line_items")
            for line in _lines(item, at)
        ],
        currency=fields.text(body.get("currency"), "currency"),
        placed_at=placed_at,
        # Line prices are after coupons already: the order's discount_total is in them.
        discount=Decimal(0),
        shipping=fields.amount(body.get("shipping_total"), "shipping_total") or Decimal(0),
    )


def refund_commands(body: dict[str, Any]) -> list[Command]:
    """One refund per entry of the order's ``refunds``, keyed on WooCommerce's refund id."""
    woocommerce_id = fields.required(fields.identifier(body.get("id"), "id"), "id")
    commands: list[Command] = []
    for at, refund in fields.objects(body.get("refunds"), "refunds"):
        refund_id = fields.required(fields.identifier(refund.get("id"), f"{at}.id"), f"{at}.id")
        total = fields.required(_number(refund.get("total"), f"{at}.total"), f"{at}.total")
        if total == 0:
            continue
        commands.append(
            Refund(
                RefundInput(
                    order_external_id=order_id(woocommerce_id),
                    external_id=f"woocommerce-refund-{refund_id}",
                    # Listed as a negative total ("-10.00"); the money that went back.
                    amount=from_cents(to_cents(abs(total), field=f"{at}.total")),
                )
            )
        )
    return commands


def customer_input(body: dict[str, Any]) -> EnrollInput:
    """A WooCommerce customer as an enrolment; customers without an e-mail join too."""
    customer = fields.required(fields.identifier(body.get("id"), "id"), "id")
    return fields.enrolment(customer, body, "")


def _lines(item: dict[str, Any], at: str) -> list[LineInput]:
    """A line at its ``price``, or, when that is not whole cents, its ``total`` split over the
    units: ``quantity - r`` at the cent below and ``r`` a cent above."""
    sku = _sku(item, at)
    quantity = fields.quantity(item.get("quantity"), f"{at}.quantity")
    name = fields.text(item.get("name"), f"{at}.name")
    price = fields.required(_number(item.get("price"), f"{at}.price"), f"{at}.price")
    if price == price.quantize(CENT) or quantity <= 0:
        return [LineInput(sku=sku, quantity=quantity, unit_price=price, name=name)]
    total = to_cents(fields.required(item.get("total"), f"{at}.total"), field=f"{at}.total")
    unit, above = divmod(total, quantity)
    parts = [(quantity - above, unit), (above, unit + 1)]
    return [
        LineInput(sku=sku, quantity=units, unit_price=from_cents(cents), name=name)
        for units, cents in parts
        if units
    ]


def _number(value: object, field: str) -> Decimal | None:
    """A JSON number or numeric string, exactly (any number of decimals), or None."""
    if value is None:
        return None
    wrong = fields.bad(field, "must be a number or a numeric string", ErrorCode.INVALID_AMOUNT)
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise wrong
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise wrong from None
    if not number.is_finite():
        raise wrong
    return number


def _sku(item: dict[str, Any], at: str) -> str:
    """The line's sku; without one, its variation, else its product (0: none)."""
    sku = (fields.text(item.get("sku"), f"{at}.sku") or "").strip()
    if sku:
        return sku
    for key, prefix in (
        ("variation_id", "woocommerce-variation"),
        ("product_id", "woocommerce-product"),
    ):
        found = fields.identifier(item.get(key), f"{at}.{key}")
        if found and found != "0":
            return f"{prefix}-{found}"
    return DELETED_PRODUCT_SKU
