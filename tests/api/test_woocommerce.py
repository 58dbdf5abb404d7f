"""POST /webhooks/woocommerce and the inbox, with WooCommerce's own published examples.

A WooCommerce webhook body is the resource exactly as the REST API returns it, so the REST
examples (tests/fixtures/platforms/woocommerce, SOURCES.md) are sent byte for byte where they
fit. The published order is a guest order (``customer_id`` 0); where a test needs another
variant it copies the example and changes only the fields it names.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from loyalty.events.signing import sign
from loyalty.ledger import check
from loyalty.settings import Secret, Settings
from models import GuestOrder, InboxDelivery, LedgerEntry, Member, Order, OrderLine, Refund

pytestmark = pytest.mark.usefixtures("database")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms" / "woocommerce"
WOOCOMMERCE_SECRET = "test-woocommerce-secret-of-32-bytes"
ORDER_ID = "woocommerce-727"
POINTS = 18  # 2 x 3 + 1 x 12; the 10.00 shipping and the 1.35 tax never earn


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sample(name: str) -> Any:
    return json.loads(raw(name), parse_float=Decimal)


def customer_order(**changes: Any) -> dict[str, Any]:
    """The published order (a guest order) placed by the published customer 25, whose billing
    details it already carries: ``customer_id`` changed from 0 to 25, then ``changes``."""
    return {**sample("order.json"), "customer_id": 25, **changes}


def listed(refund: dict[str, Any]) -> dict[str, Any]:
    """A published refund as an order lists it in ``refunds`` (the order example has none):
    WooCommerce's REST controller writes ``{id, reason, total: "-" + amount}``."""
    return {"id": refund["id"], "reason": refund["reason"], "total": "-" + refund["amount"]}


def encode(body: dict[str, Any] | bytes) -> bytes:
    # Decimal amounts (the JSON numbers) are written back with their digits, as PHP wrote them.
    if isinstance(body, bytes):
        return body
    return json.dumps(body, default=_number).encode()


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral() else int(value)
    raise TypeError(type(value))


@pytest.fixture
def shop_settings(database: Settings) -> Settings:
    return replace(database, woocommerce_secret=Secret(WOOCOMMERCE_SECRET))


@pytest.fixture
async def client(shop_settings):
    # The database is opened by the `database` fixture; the app's lifespan is not run here.
    app = create_app(shop_settings, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


_deliveries = iter(range(1, 10_000))


async def deliver(
    client: httpx.AsyncClient,
    topic: str,
    body: dict[str, Any] | bytes,
    *,
    delivery_id: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    """POST as WooCommerce does: the raw body, its HMAC and the X-WC-Webhook-* headers."""
    content = encode(body)
    resource, event = topic.split(".", 1)
    headers = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": delivery_id or f"{next(_deliveries):032x}",
        "X-WC-Webhook-Signature": (
            sign(content, WOOCOMMERCE_SECRET) if signature is None else signature
        ),
    }
    return await client.post("/webhooks/woocommerce", content=content, headers=headers)


def answered(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def balance(external_id: str = "25") -> int:
    return (await Member.get(external_id=external_id)).balance


async def stored_nothing() -> bool:
    counts = [await model.all().count() for model in (InboxDelivery, Member, Order, GuestOrder)]
    return counts == [0, 0, 0, 0]


# -- the ping and signatures ---------------------------------------------------------------------


async def test_the_ping_on_saving_a_webhook_is_200_and_stores_nothing(client):
    # wc-core's deliver_ping(): 'webhook_id=' . id, no X-WC-Webhook-* headers, no signature,
    # no Content-Type of its own.
    response = await client.post("/webhooks/woocommerce", content=b"webhook_id=12")

    assert response.status_code == 200
    assert response.json()["status"] == "ping"
    assert await stored_nothing()


@pytest.mark.parametrize(
    "signature", ["", "bm90IGEgc2lnbmF0dXJl", "other-secret", "reserialised", "absent"]
)
async def test_bad_signature_is_401_and_stores_nothing(client, signature):
    body = raw("customer.json")
    headers = {"X-WC-Webhook-Topic": "customer.created"}
    if signature == "other-secret":
        signature = sign(body, "another-secret-of-thirty-two-bytes!")
    elif signature == "reserialised":  # the same JSON, not the same bytes
        signature = sign(json.dumps(json.loads(body)).encode(), WOOCOMMERCE_SECRET)
    if signature != "absent":
        headers["X-WC-Webhook-Signature"] = signature

    response = await client.post("/webhooks/woocommerce", content=body, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "BAD_SIGNATURE"
    assert await stored_nothing()


async def test_a_ping_body_with_a_wrong_signature_is_401(client):
    response = await deliver(client, "action.woocommerce", b"webhook_id=12", signature="bad")

    assert response.status_code == 401
    assert await stored_nothing()


@pytest.mark.parametrize("body", [b"webhook_id=12", None])
async def test_unset_secret_is_404_and_stores_nothing(database, body):
    app = create_app(database, migrate=False)  # LOYALTY_WOOCOMMERCE_SECRET not set
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        if body is None:
            response = await deliver(client, "customer.created", raw("customer.json"))
        else:
            response = await client.post("/webhooks/woocommerce", content=body)

    assert response.status_code == 404
    assert await stored_nothing()


# -- customers -----------------------------------------------------------------------------------


async def test_the_published_customer_becomes_a_member_once(client):
    created = await deliver(client, "customer.created", raw("customer.json"))
    updated = await deliver(client, "customer.updated", raw("customer.json"))

    assert answered(created) == {"status": "applied", "reason": "enrolled 25"}
    assert answered(updated) == {"status": "ignored", "reason": "25 is already a member, unchanged"}
    member = await Member.get(external_id="25")
    assert (member.email, member.name) == ("john.doe@example.com", "John Doe")
    assert await check.violations() == []


# -- orders --------------------------------------------------------------------------------------


async def test_processing_order_credits_its_lines_exactly(client):
    response = await deliver(client, "order.created", customer_order())

    assert answered(response) == {"status": "applied", "reason": f"order {ORDER_ID}: 18 points"}
    order = await Order.get(external_id=ORDER_ID)
    assert (order.eligible_cents, order.shipping_cents, order.points_awarded) == (1800, 1000, 18)
    assert order.placed_at.isoformat() == "2017-03-22T19:28:02+00:00"  # date_created_gmt
    lines = await OrderLine.all().order_by("id").values_list("product__sku", "quantity")
    assert lines == [("woocommerce-product-93", 2), ("Bar3", 1)]  # the first line has sku ""
    assert await balance() == POINTS  # customer 25 enrolled from the order's billing
    assert await check.violations() == []


async def test_coupon_prices_that_are_float_fractions_credit_exact_points(client):
    body = customer_order(discount_total="12.00")
    first, second = body["line_items"]
    # Coupons (the example has none): 1.00 off the first line, whose price becomes the float
    # 2.5; 11.00 off three of the second item, whose price is 25 / 3 as PHP writes it.
    first.update(total="5.00", price=Decimal("2.5"))
    second.update(quantity=3, subtotal="36.00", total="25.00", price=Decimal("8.333333333333334"))

    response = await deliver(client, "order.created", body)

    assert answered(response)["reason"] == f"order {ORDER_ID}: 30 points"  # 5.00 + 25.00
    order = await Order.get(external_id=ORDER_ID)
    assert (order.subtotal_cents, order.eligible_cents, order.discount_cents) == (3000, 3000, 0)
    lines = await OrderLine.all().order_by("id").values_list("quantity", "unit_price_cents")
    assert lines == [(2, 250), (2, 833), (1, 834)]
    assert await balance() == 30
    assert await check.violations() == []


async def test_the_same_delivery_and_updates_with_the_same_status_credit_once(client):
    body = customer_order()

    first = await deliver(client, "order.created", body, delivery_id="d-1")
    again = await deliver(client, "order.created", body, delivery_id="d-1")
    updated = await deliver(client, "order.updated", body, delivery_id="d-2")
    completed = await deliver(client, "order.updated", customer_order(status="completed"))

    assert answered(again) == answered(first)
    assert answered(updated) == {
        "status": "applied",
        "reason": f"order {ORDER_ID}: already recorded",
    }
    assert answered(completed) == answered(updated)
    assert await Order.all().count() == 1 and await LedgerEntry.all().count() == 1
    assert await balance() == POINTS
    assert await InboxDelivery.all().count() == 3
    assert await check.violations() == []


async def test_an_order_earns_once_it_is_paid(client):
    pending = await deliver(client, "order.created", customer_order(status="pending"))
    paid = await deliver(client, "order.updated", customer_order())

    assert answered(pending) == {
        "status": "ignored",
        "reason": "status is pending: only processing and completed orders earn",
    }
    assert answered(paid)["status"] == "applied"
    assert await balance() == POINTS
    assert await check.violations() == []


async def test_a_refund_in_a_later_update_reverses_proportionally_once(client):
    await deliver(client, "order.created", customer_order())
    refunded = customer_order(refunds=[listed(sample("refund.json"))])  # 726: 10.00

    first = await deliver(client, "order.updated", refunded)
    again = await deliver(client, "order.updated", refunded)

    # 10.00 of 18.00 came back: 18 * 1000 // 1800 = 10
    assert answered(first) == {
        "status": "applied",
        "reason": f"order {ORDER_ID}: already recorded; "
        f"refund woocommerce-refund-726 on {ORDER_ID}: 10 points reversed",
    }
    assert answered(again)["reason"].endswith("already reversed")
    refund = await Refund.get(external_id="woocommerce-refund-726")
    assert (refund.amount_cents, refund.points_reversed) == (1000, 10)
    assert await Refund.all().count() == 1
    assert await balance() == POINTS - 10
    assert await check.violations() == []


async def test_a_second_refund_reverses_only_what_is_left(client):
    await deliver(client, "order.created", customer_order())
    refunds = [listed(r) for r in reversed(sample("refunds_list.json"))]  # 724: 9.00, 726: 10.00

    response = await deliver(client, "order.updated", customer_order(refunds=refunds))

    # 9.00 reverses 9 points; 10.00 is more than the 9.00 left of the 18.00 that earned
    assert answered(response)["reason"].endswith(
        "woocommerce-refund-724 on woocommerce-727: 9 points reversed; "
        "refund woocommerce-refund-726 on woocommerce-727: 9 points reversed"
    )
    assert (await Order.get(external_id=ORDER_ID)).refunded_cents == 1800
    assert await balance() == 0
    assert await check.violations() == []


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
async def test_cancelled_or_refunded_after_processing_reverses_the_rest(client, status):
    await deliver(client, "order.created", customer_order())
    await deliver(client, "order.updated", customer_order(refunds=[listed(sample("refund.json"))]))
    ended = customer_order(status=status, refunds=[listed(sample("refund.json"))])

    response = await deliver(client, "order.updated", ended)
    again = await deliver(client, "order.updated", ended)

    assert answered(response) == {
        "status": "applied",
        "reason": f"refund woocommerce-cancel-727 on {ORDER_ID}: 8 points reversed",
    }
    assert answered(again)["reason"].endswith("already reversed")
    order = await Order.get(external_id=ORDER_ID)
    assert (order.refunded_cents, order.points_reversed) == (1800, POINTS)
    assert await balance() == 0
    assert await check.violations() == []


async def test_a_cancellation_overtaking_the_paid_delivery_stops_it_from_earning(client):
    cancelled = await deliver(client, "order.updated", customer_order(status="cancelled"))
    late = await deliver(client, "order.updated", customer_order())  # processing, sent earlier

    assert answered(cancelled) == {
        "status": "applied",
        "reason": f"order {ORDER_ID} cancelled before it was recorded: a later paid delivery "
        "of it earns nothing",
    }
    assert answered(late) == {"status": "ignored", "reason": f"order {ORDER_ID} was cancelled"}
    assert await Refund.all().count() == 0 and await Order.all().count() == 0
    assert await check.violations() == []


async def test_a_deleted_order_takes_nothing_back(client):
    await deliver(client, "order.created", customer_order())

    response = await deliver(client, "order.deleted", {"id": 727})

    assert answered(response)["status"] == "ignored"
    assert await balance() == POINTS
    assert await check.violations() == []


# -- the inbox -----------------------------------------------------------------------------------


async def test_a_malformed_line_is_parked_naming_the_field(client):
    body = customer_order()
    body["line_items"][0]["price"] = "3,00"

    response = await deliver(client, "order.created", body)

    assert answered(response)["status"] == "parked"
    assert answered(response)["reason"].startswith("INVALID_AMOUNT (line_items[0].price)")
    assert await Order.all().count() == 0 and await Member.all().count() == 0


async def test_an_order_in_another_currency_is_parked(client):
    response = await deliver(client, "order.created", customer_order(currency="EUR"))

    assert answered(response)["reason"].startswith("CURRENCY_MISMATCH (currency)")
    assert await Order.all().count() == 0 and await LedgerEntry.all().count() == 0
