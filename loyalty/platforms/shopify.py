"""Shopify's webhook bodies as the programme's commands: pure functions, no I/O.

Shopify's field names stop here. What earns, and what does not:

- ``orders/create``, ``orders/paid`` and ``orders/updated`` record the order once it is paid
  (``financial_status`` ``paid``, or ``partially_refunded``), then reverse the refunds the
  order lists (each once, by its id: ``refunds/create`` may bring the same refund too); every
  topic carries the same order id, which the domain records once. Not paid yet (``pending``,
  ``authorized``, ``partially_paid``: points follow money received in full, and Shopify sends
  ``orders/paid`` when that happens), ``voided`` and test orders (``test: true``) earn nothing:
  they are ignored with that reason. A cancelled (``cancelled_at`` set) or fully ``refunded``
  order reverses what is left of it, as ``orders/cancelled`` does. A paid guest order (no
  customer) is kept for whoever enrols with its ``email`` (``loyalty.orders.guests``).
- Amounts are the shop's (``*_set.shop_money``, else the plain field, also in shop currency),
  never the presentment currency the customer saw; the order's currency is ``currency``.
- ``orders/cancelled`` reverses what is left of a recorded order, like a full refund.
- ``refunds/create`` reverses the money of its successful, non-test ``refund`` transactions.
- ``customers/create`` and ``customers/update`` enrol the customer (``str(id)``); an e-mail is
  optional.
- ``products/create`` and ``products/update`` (and a sync's products) describe the catalogue:
  Shopify's order lines carry a ``vendor`` but no product type; the product's ``product_type``
  is its category, for every variant's sku (``shopify-variant-<id>`` without one) and for
  ``shopify-product-<id>``.
- The privacy topics: ``customers/redact`` erases the member (``loyalty.privacy.erasure``);
  ``customers/delete`` closes it (its orders no longer earn); ``customers/data_request`` waits
  in the inbox for the merchant to answer with the member's export; ``shop/redact`` waits there
  too, with the reason: a whole shop's data is the operator's to remove, not a delivery's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from loyalty.errors import ErrorCode, InvalidInput
from loyalty.members import EnrollInput
from loyalty.orders import LineInput, OrderInput, ProductInput, RefundInput
from loyalty.platforms import fields
from loyalty.platforms.commands import (
    Cancel,
    Close,
    Command,
    DescribeProducts,
    Enrol,
    Erase,
    Ignore,
    KeepForClaim,
    Park,
    RecordOrder,
    Refund,
    Steps,
)

PLATFORM = "shopify"
ORDER_TOPICS = frozenset({"orders/create", "orders/paid", "orders/updated"})
CUSTOMER_TOPICS = frozenset({"customers/create", "customers/update"})
PRODUCT_TOPICS = frozenset({"products/create", "products/update"})
PRIVACY_TOPICS = frozenset(
    {"customers/redact", "customers/delete", "customers/data_request", "shop/redact"}
)
TOPICS = (
    ORDER_TOPICS
    | CUSTOMER_TOPICS
    | PRODUCT_TOPICS
    | PRIVACY_TOPICS
    | {"orders/cancelled", "refunds/create"}
)
"""The topics a shop subscribes to; any other is stored and ignored."""
EARNING_STATUSES = frozenset({"paid", "partially_refunded"})
CUSTOM_ITEM_SKU = "shopify-custom-item"
"""A line with no sku, variant or product (a custom item, a tip): one catalogue entry for all."""


def order_id(shopify_id: str) -> str:
    """The domain's external id of a Shopify order."""
    return f"shopify-{shopify_id}"


def command(topic: str, body: dict[str, Any], currency: str) -> Command:
    """What a delivery of this topic asks for; ``currency`` is the programme's."""
    if topic in ORDER_TOPICS:
        return order_command(body, currency)
    if topic == "orders/cancelled":
        return cancel_command(body)
    if topic == "refunds/create":
        return refund_command(body, currency)
    if topic in CUSTOMER_TOPICS:
        return Enrol(customer_input(body, "customer"))
    if topic in PRODUCT_TOPICS:
        return products_command(body)
    if topic in PRIVACY_TOPICS:
        return privacy_command(topic, body)
    return Ignore(f"topic {topic!r} is not handled")


def privacy_command(topic: str, body: dict[str, Any]) -> Command:
    """What a privacy topic asks for (see the module's docstring)."""
    if topic == "shop/redact":
        return Park(
            "shop/redact: the shop uninstalled the app 48 hours ago; removing a whole shop's "
            "data is the operator's decision (its database), not a delivery's"
        )
    if topic == "customers/delete":
        return Close(fields.required(fields.identifier(body.get("id"), "id"), "id"))
    customer = fields.required(fields.obj(body.get("customer"), "customer"), "customer")
    external_id = fields.required(
        fields.identifier(customer.get("id"), "customer.id"), "customer.id"
    )
    if topic == "customers/redact":
        email = (fields.text(customer.get("email"), "customer.email") or "").strip()
        return Erase(external_id, email, "Shopify customers/redact")
    request = fields.obj(body.get("data_request"), "data_request") or {}
    request_id = fields.identifier(request.get("id"), "data_request.id") or "without an id"
    return Park(
        f"customers/data_request {request_id}: answer it with the export of the member whose "
        "externalId is this delivery's customer.id (exportMember, or loyalty member export)"
    )


def order_command(body: dict[str, Any], currency: str) -> Command:
    """Record a paid order and reverse the refunds it lists, reverse a cancelled or refunded
    one, or say why it earns nothing."""
    if fields.flag(body.get("test"), "test"):
        return Ignore("test order")
    status = fields.text(body.get("financial_status"), "financial_status")
    if body.get("cancelled_at") is not None or status == "refunded":
        return cancel_command(body)
    if status not in EARNING_STATUSES:
        return Ignore(f"financial_status is {status}: points follow payment")
    refunds = tuple(
        refund_command(refund, currency)
        for _, refund in fields.objects(body.get("refunds"), "refunds")
    )
    customer = fields.obj(body.get("customer"), "customer")
    if customer is None:
        email = (fields.text(body.get("email"), "email") or "").strip()
        if not email:
            return Ignore("guest order without an e-mail: no one can claim it")
        kept = KeepForClaim(order_input(body, ""), email)
        return Steps((kept, *refunds)) if refunds else kept
    member = customer_input(customer, "customer")
    recorded = RecordOrder(order=order_input(body, member.external_id), customer=member)
    return Steps((recorded, *refunds)) if refunds else recorded


def order_input(body: dict[str, Any], member_external_id: str) -> OrderInput:
    """A Shopify order as the domain's order input, in shop currency."""
    return OrderInput(
        external_id=order_id(fields.required(fields.identifier(body.get("id"), "id"), "id")),
        member_external_id=member_external_id,
        lines=[
            _line(item, at) for at, item in fields.objects(body.get("line_items"), "line_items")
        ],
        currency=fields.text(body.get("currency"), "currency"),
        placed_at=fields.moment(body.get("created_at"), "created_at"),
        discount=_shop_money(body, "total_discounts_set", "total_discounts") or Decimal(0),
        shipping=_shop_money(body, "total_shipping_price_set") or Decimal(0),
    )


def customer_input(customer: dict[str, Any], at: str) -> EnrollInput:
    """A Shopify customer as an enrolment; customers without an e-mail join too."""
    external_id = fields.required(fields.identifier(customer.get("id"), f"{at}.id"), f"{at}.id")
    names = [
        fields.text(customer.get("first_name"), f"{at}.first_name"),
        fields.text(customer.get("last_name"), f"{at}.last_name"),
    ]
    name = " ".join(n.strip() for n in names if n and n.strip())
    return EnrollInput(
        external_id=external_id,
        email=(fields.text(customer.get("email"), f"{at}.email") or "").strip(),
        name=name or None,
    )


def products_command(product: dict[str, Any]) -> Command:
    """A Shopify product as catalogue entries: one per variant, and one for the product."""
    product_id = fields.required(fields.identifier(product.get("id"), "id"), "id")
    title = (fields.text(product.get("title"), "title") or "").strip()
    category = (fields.text(product.get("product_type"), "product_type") or "").strip() or None
    vendor = (fields.text(product.get("vendor"), "vendor") or "").strip() or None
    name = title or f"Shopify product {product_id}"
    described = [ProductInput(f"shopify-product-{product_id}", name, category, vendor)]
    for at, variant in fields.objects(product.get("variants"), "variants"):
        sku = (fields.text(variant.get("sku"), f"{at}.sku") or "").strip()
        if not sku:
            variant_id = fields.identifier(variant.get("id"), f"{at}.id")
            if variant_id is None:
                continue
            sku = f"shopify-variant-{variant_id}"
        described.append(ProductInput(sku, name, category, vendor))
    return DescribeProducts(tuple(described))


def cancel_command(body: dict[str, Any]) -> Command:
    """Reverse what is left of a cancelled order."""
    if fields.flag(body.get("test"), "test"):
        return Ignore("test order")
    shopify_id = fields.required(fields.identifier(body.get("id"), "id"), "id")
    return Cancel(order_id(shopify_id), refund_external_id=f"shopify-cancel-{shopify_id}")


def refund_command(body: dict[str, Any], currency: str) -> Command:
    """Reverse the money refunded: the successful, non-test ``refund`` transactions."""
    refund_id = fields.required(fields.identifier(body.get("id"), "id"), "id")
    order = fields.required(fields.identifier(body.get("order_id"), "order_id"), "order_id")
    refunded = Decimal(0)
    tests = 0
    for at, transaction in fields.objects(body.get("transactions"), "transactions"):
        if transaction.get("kind") != "refund" or transaction.get("status") != "success":
            continue
        if fields.flag(transaction.get("test"), f"{at}.test"):
            tests += 1
            continue
        # A transaction's currency may be null (Shopify's own sample): then it is the shop's.
        paid_in = fields.text(transaction.get("currency"), f"{at}.currency")
        if paid_in is not None and paid_in.upper() != currency:
            raise InvalidInput(
                f"{at}.currency: the programme runs in {currency}, not {paid_in}",
                field=f"{at}.currency",
                code=ErrorCode.CURRENCY_MISMATCH,
            )
        refunded += fields.required(
            fields.amount(transaction.get("amount"), f"{at}.amount"), f"{at}.amount"
        )
    if refunded == 0:
        return Ignore("test refund" if tests else "no money was refunded")
    return Refund(
        RefundInput(
            order_external_id=order_id(order),
            external_id=f"shopify-refund-{refund_id}",
            amount=refunded,
        )
    )


def _line(item: dict[str, Any], at: str) -> LineInput:
    return LineInput(
        sku=_sku(item, at),
        quantity=fields.quantity(item.get("quantity"), f"{at}.quantity"),
        unit_price=fields.required(_shop_money(item, "price_set", "price", at=at), f"{at}.price"),
        name=fields.text(item.get("title"), f"{at}.title"),
        category=fields.text(item.get("product_type"), f"{at}.product_type"),
        vendor=fields.text(item.get("vendor"), f"{at}.vendor"),
    )


def _sku(item: dict[str, Any], at: str) -> str:
    """The line's sku; without one, its variant, else its product (``variant_id`` may be
    null), else the one entry for custom items."""
    sku = (fields.text(item.get("sku"), f"{at}.sku") or "").strip()
    if sku:
        return sku
    variant = fields.identifier(item.get("variant_id"), f"{at}.variant_id")
    if variant:
        return f"shopify-variant-{variant}"
    product = fields.identifier(item.get("product_id"), f"{at}.product_id")
    if product:
        return f"shopify-product-{product}"
    return CUSTOM_ITEM_SKU


def _shop_money(
    body: dict[str, Any], set_field: str, plain_field: str | None = None, *, at: str = ""
) -> Decimal | None:
    """An amount in shop currency: ``<set_field>.shop_money.amount``, else the plain field."""
    prefix = f"{at}." if at else ""
    money = fields.obj(body.get(set_field), prefix + set_field)
    shop = fields.obj(money.get("shop_money"), f"{prefix}{set_field}.shop_money") if money else None
    if shop is not None:
        return fields.amount(shop.get("amount"), f"{prefix}{set_field}.shop_money.amount")
    if plain_field is None:
        return None
    return fields.amount(body.get(plain_field), prefix + plain_field)
