"""POST /webhooks/shopify and the inbox, with Shopify's own published sample payloads.

The samples (tests/fixtures/platforms/shopify, SOURCES.md) are sent byte for byte where they
fit. Shopify publishes one body for all four order topics, a cancelled, voided test order;
where a test needs a paid order (or another variant) it copies the sample and changes only
the fields it names.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.relay import encode_id
from loyalty.events.signing import sign
from loyalty.ledger import check
from loyalty.platforms import inbox as inbox_module
from loyalty.settings import Secret, Settings
from models import (
    InboxDelivery,
    InboxStatus,
    LedgerEntry,
    Member,
    Order,
    OrderLine,
    Product,
    Refund,
)
from tests.support import gql

pytestmark = pytest.mark.usefixtures("database")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms" / "shopify"
SHOPIFY_SECRET = "test-shopify-secret-of-thirty-two-bytes"
ORDER_ID = "shopify-820982911946154508"
CUSTOMER_ID = "115310627314723954"
POINTS = 394  # lines 414.95 less the 20.00 discount; the 10.00 shipping never earns

INBOX = """
query($status: InboxStatus, $first: Int, $after: String) {
  webhookInbox(status: $status, first: $first, after: $after) {
    edges { node { id topic deliveryId status reason attempts } }
    pageInfo { hasNextPage endCursor }
  }
}"""
REPLAY = """
mutation($id: ID!) {
  replayWebhook(id: $id) {
    delivery { deliveryId status reason attempts appliedAt }
    userErrors { field message code }
  }
}"""
ENROLL = """
mutation($input: EnrollMemberInput!) {
  enrollMember(input: $input) { member { externalId } userErrors { code } }
}"""


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sample(name: str) -> dict[str, Any]:
    # Python's json keeps the 64-bit ids exact; the only floats (refund line subtotals) are
    # written back with the same digits.
    return json.loads(raw(name))


def sample_rest(name: str) -> dict[str, Any]:
    return json.loads(raw(name))


def paid_order(**changes: Any) -> dict[str, Any]:
    """The published order sample as a paid order: test, financial_status, cancelled_at and
    cancel_reason changed (the sample is a cancelled, voided test order), then ``changes``."""
    body = sample("orders_paid.json")
    body.update(test=False, financial_status="paid", cancelled_at=None, cancel_reason=None)
    body.update(changes)
    return body


def in_currency(body: dict[str, Any], code: str) -> dict[str, Any]:
    """The same body with the shop's currency (``currency`` and every ``currency_code``) set to
    ``code``."""
    text = json.dumps(body).replace('"currency_code": "USD"', f'"currency_code": "{code}"')
    changed = json.loads(text)
    changed.update(currency=code, presentment_currency=code)
    return changed


@pytest.fixture
def shop_settings(database: Settings) -> Settings:
    return replace(database, shopify_secret=Secret(SHOPIFY_SECRET))


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
    """POST as Shopify does: the raw body, its HMAC, the topic and a delivery id."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": delivery_id or f"delivery-{next(_deliveries)}",
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-Hmac-Sha256": sign(content, SHOPIFY_SECRET) if signature is None else signature,
    }
    return await client.post("/webhooks/shopify", content=content, headers=headers)


def answered(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def balance(external_id: str = CUSTOMER_ID) -> int:
    return (await Member.get(external_id=external_id)).balance


async def replay(settings: Settings, delivery_id: str) -> dict[str, Any]:
    delivery = await InboxDelivery.get(delivery_id=delivery_id)
    data = await gql(settings, REPLAY, {"id": encode_id("InboxDelivery", delivery.id)})
    result: dict[str, Any] = data["replayWebhook"]
    assert result["userErrors"] == []
    return result["delivery"]


# -- customers -----------------------------------------------------------------------------------


async def test_customer_created_becomes_a_member_once(client):
    created = await deliver(client, "customers/create", raw("customers_create.json"))
    updated = await deliver(client, "customers/update", raw("customers_update.json"))

    assert answered(created) == "applied"
    assert updated.json() == {
        "status": "ignored",
        "reason": "706405506930370084 is already a member, unchanged",
    }
    member = await Member.get(external_id="706405506930370084")
    assert (member.email, member.name) == ("bob@biller.com", "Bob Biller")
    assert await Member.all().count() == 1
    assert await check.violations() == []


async def test_customer_update_brings_the_members_email_and_name_up_to_date(client):
    await deliver(client, "customers/create", raw("customers_create.json"))
    # The update sample with a new e-mail and name (the sample repeats the created ones).
    changed = {
        **sample("customers_update.json"),
        "email": "Robert.Biller+shop@example.com",
        "first_name": "Robert",
    }

    updated = await deliver(client, "customers/update", changed)
    blank = await deliver(
        client,
        "customers/update",
        {**changed, "email": None, "first_name": None, "last_name": None},
    )

    assert updated.json() == {
        "status": "applied",
        "reason": "706405506930370084: e-mail and name updated",
    }
    assert answered(blank) == "ignored"  # a field the shop stops sending is not erased
    member = await Member.get(external_id="706405506930370084")
    assert (member.email, member.email_normalized, member.name) == (
        "Robert.Biller+shop@example.com",
        "robert.biller@example.com",
        "Robert Biller",
    )


async def test_email_less_customer_joins(client):
    # The customer sample with no e-mail and a phone (both null/absent in the sample otherwise).
    body = {**sample("customers_create.json"), "email": None, "phone": "+16135550123"}

    assert answered(await deliver(client, "customers/create", body)) == "applied"

    member = await Member.get(external_id="706405506930370084")
    assert (member.email, member.email_normalized) == ("", "")
    assert await check.violations() == []


# -- products ------------------------------------------------------------------------------------


async def test_a_product_update_gives_its_variants_their_category_and_vendor(client):
    # A products/update body is the REST product (the published REST list's first product).
    product = sample_rest("rest_products.json")["products"][0]
    await deliver(client, "orders/paid", paid_order())  # creates the catalogue entries it names

    response = await deliver(client, "products/update", product)
    again = await deliver(client, "products/update", product)

    assert response.json() == {
        "status": "applied",
        "reason": "catalogue: 5 product(s) added, 0 updated",
    }
    assert again.json() == {
        "status": "ignored",
        "reason": "catalogue: 0 product(s) added, 0 updated",
    }
    green = await Product.get(sku="IPOD2008GREEN")
    assert (green.name, green.category, green.vendor) == (
        "IPod Nano - 8GB",
        "Cult Products",
        "Apple",
    )
    assert await Product.filter(sku="shopify-product-632910392").exists()
    assert await check.violations() == []


async def test_a_product_update_that_is_malformed_is_parked(client):
    product = {**sample_rest("rest_products.json")["products"][0], "title": "x" * 300}

    response = await deliver(client, "products/update", product)

    assert response.json()["status"] == "parked"
    assert "name must be 1 to 255 characters" in response.json()["reason"]


# -- orders --------------------------------------------------------------------------------------


@pytest.mark.parametrize("topic", ["orders/create", "orders/paid", "orders/updated"])
async def test_the_published_order_sample_is_a_test_order_and_earns_nothing(client, topic):
    response = await deliver(client, topic, raw("orders_paid.json"))

    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "reason": "test order"}
    assert await Order.all().count() == 0 and await Member.all().count() == 0
    assert await InboxDelivery.filter(status=InboxStatus.IGNORED).count() == 1


async def test_paid_order_credits_once_across_redelivery_and_topics(client):
    body = paid_order()

    first = await deliver(client, "orders/create", body, delivery_id="d-1")
    redelivered = await deliver(client, "orders/create", body, delivery_id="d-1")
    paid = await deliver(client, "orders/paid", body, delivery_id="d-2")

    assert first.json() == {"status": "applied", "reason": f"order {ORDER_ID}: {POINTS} points"}
    assert redelivered.json() == first.json()
    assert paid.json() == {"status": "applied", "reason": f"order {ORDER_ID}: already recorded"}
    order = await Order.get(external_id=ORDER_ID)  # the id > 2**53 kept every digit
    assert (order.eligible_cents, order.shipping_cents, order.points_awarded) == (39495, 1000, 394)
    member = await Member.get(external_id=CUSTOMER_ID)  # enrolled from the order's customer
    assert (member.email, member.balance) == ("john@example.com", POINTS)
    assert await Order.all().count() == 1 and await LedgerEntry.all().count() == 1
    assert (await InboxDelivery.get(delivery_id="d-1")).attempts == 1
    assert await InboxDelivery.all().count() == 2
    assert await check.violations() == []


async def test_order_earns_when_it_becomes_paid(client):
    pending = await deliver(client, "orders/create", paid_order(financial_status="pending"))
    paid = await deliver(client, "orders/paid", paid_order())

    assert pending.json() == {
        "status": "ignored",
        "reason": "financial_status is pending: points follow payment",
    }
    assert answered(paid) == "applied"
    assert await balance() == POINTS
    assert await check.violations() == []


async def test_concurrent_deliveries_of_one_order_credit_once(client):
    body = paid_order()
    topics = ["orders/create", "orders/paid"] * 4
    ids = ["same", "same", "same", "same", "a", "b", "c", "d"]

    responses = await asyncio.gather(
        *(deliver(client, t, body, delivery_id=i) for t, i in zip(topics, ids, strict=True))
    )

    assert [r.status_code for r in responses] == [200] * 8
    assert await Order.all().count() == 1 and await Member.all().count() == 1
    assert await balance() == POINTS
    assert await InboxDelivery.all().count() == 5
    assert await check.violations() == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"test": True}, "test order"),
        ({"financial_status": "voided"}, "financial_status is voided: points follow payment"),
        (
            {"customer": None, "email": None},
            "guest order without an e-mail: no one can claim it",
        ),
    ],
)
async def test_orders_that_earn_nothing_are_ignored_not_parked(client, changes, reason):
    response = await deliver(client, "orders/paid", paid_order(**changes))

    assert response.json() == {"status": "ignored", "reason": reason}
    assert await Order.all().count() == 0 and await LedgerEntry.all().count() == 0
    assert await check.violations() == []


async def test_skuless_lines_are_recorded_by_variant_product_or_as_a_custom_item(client):
    body = paid_order()
    lines = body["line_items"]
    # The sample's lines all have a sku and a null variant_id; these three lose their sku.
    lines[0].update(sku=None, variant_id=9007199254740993)  # 2**53 + 1: exact, not ...992
    lines[1].update(sku="")  # its variant_id and product_id are null in the sample
    lines[3].update(sku=None)  # variant_id null, product_id 788032119674292922

    assert answered(await deliver(client, "orders/paid", body)) == "applied"

    skus = await OrderLine.all().order_by("id").values_list("product__sku", flat=True)
    assert skus == [
        "shopify-variant-9007199254740993",
        "shopify-custom-item",
        "CASE-LEATHER-PREM",
        "shopify-product-788032119674292922",
        "SKU2006-035",
    ]
    assert await balance() == POINTS
    assert await check.violations() == []


async def test_presentment_currency_order_earns_in_shop_currency(client):
    body = paid_order(presentment_currency="EUR")
    # The customer saw euros: every presentment_money is changed to EUR at half the amount
    # (the sample shows USD twice); shop_money, and so the points, stay in dollars.
    for money in _money_sets(body):
        amount = money["presentment_money"]["amount"]
        money["presentment_money"] = {"amount": f"{float(amount) / 2:.2f}", "currency_code": "EUR"}

    assert answered(await deliver(client, "orders/paid", body)) == "applied"

    order = await Order.get(external_id=ORDER_ID)
    assert (order.currency, order.eligible_cents, order.points_awarded) == ("USD", 39495, POINTS)
    assert await check.violations() == []


def _money_sets(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [m for item in value for m in _money_sets(item)]
    if not isinstance(value, dict):
        return []
    own = [value] if "presentment_money" in value else []
    return own + [m for item in value.values() for m in _money_sets(item)]


async def test_a_paid_guest_order_is_claimed_by_the_member_enrolling_with_its_email(
    client, shop_settings
):
    # The paid order without its customer (a guest), placed yesterday (2021 in the sample,
    # outside the claim window); the order's own e-mail is jon@example.com.
    body = paid_order(customer=None, created_at=_yesterday())

    kept = await deliver(client, "orders/paid", body)
    enrolled = await gql(
        shop_settings, ENROLL, {"input": {"externalId": "j", "email": "jon@example.com"}}
    )
    cancelled = await deliver(
        client, "orders/cancelled", {**sample("orders_cancelled.json"), "test": False}
    )

    assert answered(kept) == "applied"
    assert kept.json()["reason"].startswith(f"guest order {ORDER_ID}: kept for the member")
    assert enrolled["enrollMember"]["userErrors"] == []
    order = await Order.get(external_id=ORDER_ID)
    assert (
        order.points_awarded == POINTS and order.member_id == (await Member.get(external_id="j")).id
    )
    assert answered(cancelled) == "applied"  # the claimed order, cancelled: all of it back
    assert await balance("j") == 0
    assert await check.violations() == []


async def test_a_refund_of_an_unclaimed_guest_order_is_kept_for_its_claim(client, shop_settings):
    await deliver(client, "orders/paid", paid_order(customer=None, created_at=_yesterday()))

    refund = await deliver(client, "refunds/create", raw("refunds_create.json"))
    await gql(shop_settings, ENROLL, {"input": {"externalId": "j", "email": "jon@example.com"}})

    assert refund.json() == {
        "status": "applied",  # not parked as a refund of an unknown order
        "reason": f"refund shopify-refund-890088186047892319 on guest order {ORDER_ID}: "
        "kept for its claim",
    }
    assert await balance("j") == POINTS - 84  # 85.00 of 394.95, as for a customer's order
    assert await check.violations() == []


def _yesterday() -> str:
    return (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")


# -- refunds and cancellations -------------------------------------------------------------------


async def test_refund_reverses_the_proportional_points_once(client):
    await deliver(client, "orders/paid", paid_order())

    first = await deliver(client, "refunds/create", raw("refunds_create.json"))
    again = await deliver(client, "refunds/create", raw("refunds_create.json"))

    # 85.00 of 394.95 came back (the two refund transactions): 394 * 8500 // 39495 = 84
    assert first.json()["status"] == "applied"
    assert first.json()["reason"].endswith("84 points reversed")
    assert again.json()["reason"].endswith("already reversed")
    refund = await Refund.get(external_id="shopify-refund-890088186047892319")
    assert (refund.amount_cents, refund.points_reversed) == (8500, 84)
    assert await balance() == POINTS - 84
    assert await check.violations() == []


async def test_cancelled_after_paid_reverses_the_rest(client):
    await deliver(client, "orders/paid", paid_order())
    await deliver(client, "refunds/create", raw("refunds_create.json"))
    # The cancelled sample as a real (not test) cancellation of a paid, refunded order.
    cancelled = {**sample("orders_cancelled.json"), "test": False, "financial_status": "refunded"}

    response = await deliver(client, "orders/cancelled", cancelled)
    again = await deliver(client, "orders/cancelled", cancelled)

    assert response.json()["status"] == "applied"
    assert response.json()["reason"].endswith(f"{POINTS - 84} points reversed")
    assert again.json()["reason"].endswith("already reversed")
    order = await Order.get(external_id=ORDER_ID)
    assert (order.refunded_cents, order.points_reversed) == (39495, POINTS)
    assert await balance() == 0
    assert await check.violations() == []


async def test_a_cancellation_before_the_paid_delivery_stops_it_from_earning(client):
    # Deliveries come out of order: the cancellation arrives before the order it cancels.
    cancelled = {**sample("orders_cancelled.json"), "test": False}  # the sample is a test order

    first = await deliver(client, "orders/cancelled", cancelled)
    late_paid = await deliver(client, "orders/paid", paid_order())
    again = await deliver(client, "orders/cancelled", cancelled)

    assert first.json() == {
        "status": "applied",
        "reason": f"order {ORDER_ID} cancelled before it was recorded: a later paid delivery "
        "of it earns nothing",
    }
    assert late_paid.json() == {"status": "ignored", "reason": f"order {ORDER_ID} was cancelled"}
    assert answered(again) == "applied"
    assert await Order.all().count() == 0 and await LedgerEntry.all().count() == 0
    assert await check.violations() == []


async def test_an_updated_order_that_was_cancelled_reverses_what_it_earned(client):
    # orders/updated carries the whole order; once cancelled it reverses like orders/cancelled.
    await deliver(client, "orders/paid", paid_order())

    response = await deliver(
        client, "orders/updated", paid_order(cancelled_at="2021-12-31T19:00:00-05:00")
    )

    assert answered(response) == "applied"
    assert await balance() == 0
    assert await Refund.filter(external_id="shopify-cancel-820982911946154508").exists()
    assert await check.violations() == []


async def test_a_paid_and_a_cancelled_delivery_racing_credit_nothing_in_the_end(client):
    cancelled = {**sample("orders_cancelled.json"), "test": False}

    for _ in range(3):
        await asyncio.gather(
            deliver(client, "orders/paid", paid_order()),
            deliver(client, "orders/cancelled", cancelled),
        )

    member = await Member.get_or_none(external_id=CUSTOMER_ID)
    assert member is None or member.balance == 0
    assert await check.violations() == []


async def test_refund_bigger_than_the_points_earning_part_reverses_the_rest(client):
    await deliver(client, "orders/paid", paid_order())
    body = sample("refunds_create.json")
    # The whole 404.95 (with the 10.00 shipping) went back, in one transaction.
    body["transactions"] = [{**body["transactions"][0], "amount": "404.95"}]

    assert answered(await deliver(client, "refunds/create", body)) == "applied"

    assert (await Order.get(external_id=ORDER_ID)).refunded_cents == 39495
    assert await balance() == 0
    assert await check.violations() == []


# -- signatures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", "other-secret", "reserialised"])
async def test_bad_signature_is_401_and_stores_nothing(client, signature):
    body = raw("customers_create.json")
    if signature == "other-secret":
        signature = sign(body, "another-secret-of-thirty-two-bytes!")
    elif signature == "reserialised":  # the same JSON, not the same bytes
        signature = sign(json.dumps(json.loads(body)).encode(), SHOPIFY_SECRET)

    response = await deliver(client, "customers/create", body, signature=signature)

    assert response.status_code == 401
    assert await InboxDelivery.all().count() == 0 and await Member.all().count() == 0


async def test_unset_secret_is_404_and_stores_nothing(database):
    app = create_app(database, migrate=False)  # LOYALTY_SHOPIFY_SECRET not set
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await deliver(client, "customers/create", raw("customers_create.json"))

    assert response.status_code == 404
    assert await InboxDelivery.all().count() == 0 and await Member.all().count() == 0


# -- the inbox -----------------------------------------------------------------------------------


async def test_unprocessable_deliveries_are_parked_and_replayed_once_fixed(client, shop_settings):
    # Five deliveries the programme cannot apply yet: two orders in euros (the programme runs
    # in dollars), a refund of each before its order is known, and an order whose customer's
    # e-mail is not an address.
    first = in_currency(paid_order(id=1001), "EUR")
    second = in_currency(paid_order(id=1002), "EUR")
    refund = sample("refunds_create.json")
    refunds = [{**refund, "id": 1, "order_id": 1001}, {**refund, "id": 2, "order_id": 1002}]
    customer = {**first["customer"], "id": 42, "email": "b@"}
    third = in_currency(paid_order(id=1003, customer=customer), "EUR")
    sent = [
        ("orders/paid", first, "p-1"),
        ("orders/paid", second, "p-2"),
        ("refunds/create", refunds[0], "p-3"),
        ("refunds/create", refunds[1], "p-4"),
        ("orders/paid", third, "p-5"),
    ]

    responses = [await deliver(client, t, body, delivery_id=i) for t, body, i in sent]

    assert [r.status_code for r in responses] == [200] * 5
    assert [r.json()["status"] for r in responses] == ["parked"] * 5
    assert [r.json()["reason"].split(" ")[0] for r in responses] == [
        "CURRENCY_MISMATCH",
        "CURRENCY_MISMATCH",
        "ORDER_NOT_FOUND",
        "ORDER_NOT_FOUND",
        "INVALID_EMAIL",
    ]
    assert await Order.all().count() == 0 and await LedgerEntry.all().count() == 0
    listed = (await gql(shop_settings, INBOX, {"status": "PARKED", "first": 3}))["webhookInbox"]
    assert [e["node"]["deliveryId"] for e in listed["edges"]] == ["p-5", "p-4", "p-3"]
    assert listed["pageInfo"]["hasNextPage"] is True
    rest = await gql(
        shop_settings, INBOX, {"status": "PARKED", "after": listed["pageInfo"]["endCursor"]}
    )
    assert [e["node"]["deliveryId"] for e in rest["webhookInbox"]["edges"]] == ["p-2", "p-1"]

    # A replay while the cause is still there parks again.
    early = await replay(shop_settings, "p-3")
    assert (early["status"], early["attempts"]) == ("PARKED", 2)

    # The causes fixed: the programme runs in euros, the customer enrolled with an address.
    in_euros = replace(shop_settings, currency="EUR")
    enrolled = await gql(
        in_euros, ENROLL, {"input": {"externalId": "42", "email": "b@example.com"}}
    )
    assert enrolled["enrollMember"]["userErrors"] == []
    replayed = [await replay(in_euros, i) for i in ("p-1", "p-2", "p-3", "p-4", "p-5")]
    twice = [await replay(in_euros, i) for i in ("p-1", "p-2", "p-3", "p-4", "p-5")]

    assert [r["status"] for r in replayed] == ["APPLIED"] * 5
    assert twice == replayed
    assert await Order.all().count() == 3 and await Refund.all().count() == 2
    assert await balance() == 2 * (POINTS - 84)
    assert await balance("42") == POINTS
    assert await InboxDelivery.filter(status=InboxStatus.PARKED).count() == 0
    assert await check.violations() == []


async def test_a_signed_body_that_is_not_json_is_parked(client):
    response = await deliver(client, "orders/paid", b"{not json")

    assert response.json() == {"status": "parked", "reason": "INVALID (body): body is not JSON"}
    assert (await InboxDelivery.get()).body == "{not json"


async def test_a_malformed_line_is_parked_naming_the_field(client):
    body = paid_order()
    body["line_items"][2]["price_set"]["shop_money"]["amount"] = "12,50"

    response = await deliver(client, "orders/paid", body)

    assert response.json()["status"] == "parked"
    assert response.json()["reason"].startswith(
        "INVALID_AMOUNT (line_items[2].price_set.shop_money.amount)"
    )
    assert await Order.all().count() == 0 and await Member.all().count() == 0


async def test_an_unexpected_error_is_parked_and_answered_200(client, shop_settings, monkeypatch):
    async def broken(*_: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(inbox_module, "apply", broken)
    response = await deliver(client, "orders/paid", paid_order(), delivery_id="x-1")
    monkeypatch.undo()

    assert response.json() == {
        "status": "parked",
        "reason": "unexpected error (see the service log)",
    }
    assert (await replay(shop_settings, "x-1"))["status"] == "APPLIED"
    assert await balance() == POINTS
    assert await check.violations() == []


async def test_replaying_an_unknown_delivery_is_a_user_error(shop_settings):
    data = await gql(shop_settings, REPLAY, {"id": encode_id("InboxDelivery", 99)})

    assert data["replayWebhook"] == {
        "delivery": None,
        "userErrors": [{"field": ["id"], "message": "delivery not found", "code": "NOT_FOUND"}],
    }
