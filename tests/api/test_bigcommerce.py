"""POST /webhooks/bigcommerce: BigCommerce's published callback samples, sent byte for byte, and
the order or customer they name fetched from a local fake of the API (tests/bigcommerce_fake.py)
that serves the published V2/V3 samples.

The V2 order sample is order 218 in "Awaiting Payment"; the callbacks name order 250. Where a
test needs it, the fake serves the sample as order 250 in the status the test names, with the
published products (55.99 and a bundled 0.00 line): 55.99 less the order's discount_amount 5.00
and coupon_discount 5.00 earns 45 points; the 11.09 shipping never earns.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.relay import encode_id
from loyalty.ledger import check
from loyalty.platforms import client as client_module
from loyalty.settings import Secret, Settings
from models import InboxDelivery, InboxStatus, LedgerEntry, Member, Order, OrderLine, Refund
from tests.bigcommerce_fake import ACCESS_TOKEN, STORE_HASH, FakeBigCommerce, customer, order
from tests.bigcommerce_fake import raw as published
from tests.bigcommerce_fake import refund as refund_of
from tests.support import gql

pytestmark = pytest.mark.usefixtures("database")

SECRET = "test-bigcommerce-secret-of-32-bytes!"
ORDER_ID = "bigcommerce-250"
CUSTOMER_ID = "11"
POINTS = 45
CREATED = "webhook_store_order_created.json"
UPDATED = "webhook_store_order_updated.json"
STATUS_UPDATED = "webhook_store_order_statusUpdated.json"
REFUND_CREATED = "webhook_store_order_refund_created.json"

REPLAY = """
mutation($id: ID!) {
  replayWebhook(id: $id) {
    delivery { deliveryId status reason attempts }
    userErrors { field message code }
  }
}"""


@pytest.fixture
def store_settings(database: Settings) -> Settings:
    return replace(
        database,
        bigcommerce_secret=Secret(SECRET),
        bigcommerce_store_hash=STORE_HASH,
        bigcommerce_access_token=Secret(ACCESS_TOKEN),
    )


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeBigCommerce:
    """The store's API, where the connector's requests go."""
    store = FakeBigCommerce()
    monkeypatch.setattr(client_module, "TRANSPORT", store.transport)
    return store


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the client asked for, in seconds (none is slept)."""
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(client_module, "SLEEP", sleep)
    return waited


@pytest.fixture
async def client(store_settings, fake, waits):
    app = create_app(store_settings, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def callback(name: str, **changes: Any) -> bytes:
    """A published callback, byte for byte, or with ``changes`` to its top-level fields."""
    if not changes:
        return published(name)
    body = json.loads(published(name))
    body.update(changes)
    return json.dumps(body).encode()


async def deliver(
    client: httpx.AsyncClient, body: bytes, *, secret: str | None = SECRET
) -> httpx.Response:
    """POST as BigCommerce does, with the custom header the hook was created with."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Loyalty-Bigcommerce-Secret"] = secret
    return await client.post("/webhooks/bigcommerce", content=body, headers=headers)


async def balance(external_id: str = CUSTOMER_ID) -> int:
    return (await Member.get(external_id=external_id)).balance


async def replay(settings: Settings, delivery: InboxDelivery) -> dict[str, Any]:
    data = await gql(settings, REPLAY, {"id": encode_id("InboxDelivery", delivery.id)})
    result: dict[str, Any] = data["replayWebhook"]
    assert result["userErrors"] == []
    return result["delivery"]


# -- orders --------------------------------------------------------------------------------------


async def test_order_callback_fetches_the_order_and_credits_it_once(client, fake):
    fake.add_order(order(250, status_id=11))

    first = await deliver(client, callback(CREATED))
    again = await deliver(client, callback(CREATED))  # a retry: the same hash and created_at

    assert first.status_code == 200
    assert first.json() == {"status": "applied", "reason": f"order {ORDER_ID}: {POINTS} points"}
    assert again.json() == first.json()
    placed = await Order.get(external_id=ORDER_ID)
    assert (placed.eligible_cents, placed.discount_cents, placed.shipping_cents) == (
        4599,
        1000,
        1109,
    )
    assert (placed.points_awarded, placed.currency) == (POINTS, "USD")
    skus = await OrderLine.all().order_by("id").values_list("product__sku", flat=True)
    assert skus == ["S-ORAN", "ABS"]
    member = await Member.get(external_id=CUSTOMER_ID)  # enrolled from the billing address
    assert (member.email, member.name, member.balance) == ("janedoe@example.com", "Jane Doe", 45)
    assert await LedgerEntry.all().count() == 1
    delivery = await InboxDelivery.get()
    assert (delivery.topic, delivery.attempts) == ("store/order/created", 1)
    assert delivery.delivery_id == (
        "store/order/created:dd70c0976e06b67aaf671e73f49dcb79230ebf9d:1561479335"
    )
    assert (
        len(fake.asked("/v2/orders/250")) == 1 and len(fake.asked("/v2/orders/250/products")) == 1
    )
    assert fake.requests[0].headers["x-auth-token"] == ACCESS_TOKEN
    assert await check.violations() == []


async def test_order_earns_once_it_is_paid_whichever_callback_says_so(client, fake):
    fake.add_order(order(250, status_id=7))  # Awaiting Payment, as in the published sample

    waiting = await deliver(client, callback(CREATED))
    fake.orders[250].update(status_id=11, status="Awaiting Fulfillment")
    # BigCommerce's updated sample carries the created one's hash (the hash is of `data`):
    # a different scope, a different delivery.
    paid = await deliver(client, callback(UPDATED))
    status = await deliver(client, callback(STATUS_UPDATED))
    later = await deliver(client, callback(UPDATED, created_at=1561479999))

    assert waiting.json() == {
        "status": "ignored",
        "reason": f"order {ORDER_ID} is Awaiting Payment (status 7): points follow payment",
    }
    assert paid.json() == {"status": "applied", "reason": f"order {ORDER_ID}: {POINTS} points"}
    assert (
        status.json()["reason"] == later.json()["reason"] == f"order {ORDER_ID}: already recorded"
    )
    assert await InboxDelivery.all().count() == 4
    assert len(fake.asked("/v2/orders/250/products")) == 1  # fetched only to record it
    assert await balance() == POINTS and await LedgerEntry.all().count() == 1
    assert await check.violations() == []


@pytest.mark.parametrize("status_id", [0, 1, 7, 12, 13])
async def test_unpaid_statuses_earn_nothing(client, fake, status_id):
    fake.add_order(order(250, status_id=status_id))

    response = await deliver(client, callback(CREATED))

    assert response.json()["status"] == "ignored"
    assert response.json()["reason"].endswith(f"(status {status_id}): points follow payment")
    assert await Order.all().count() == 0 and await Member.all().count() == 0
    assert fake.asked("/v2/orders/250/products") == []


@pytest.mark.parametrize("status_id", [2, 3, 8, 9, 10, 11, 14])
async def test_paid_statuses_earn(client, fake, status_id):
    fake.add_order(order(250, status_id=status_id))

    response = await deliver(client, callback(CREATED))

    assert response.json()["status"] == "applied"
    assert await balance() == POINTS
    assert await check.violations() == []


async def test_guest_order_is_ignored(client, fake):
    fake.add_order(order(250, status_id=10, customer_id=0))

    response = await deliver(client, callback(CREATED))

    assert response.json() == {"status": "ignored", "reason": "guest order: no customer to credit"}
    assert await Order.all().count() == 0 and await Member.all().count() == 0


# -- refunds and cancellations -------------------------------------------------------------------


async def test_refund_callback_reverses_each_refund_once(client, fake):
    fake.add_order(order(250, status_id=11))
    await deliver(client, callback(CREATED))
    fake.add_refund(refund_of(3, 250, 20))

    first = await deliver(client, callback(REFUND_CREATED))
    again = await deliver(client, callback(REFUND_CREATED, created_at=1561479999))
    fake.add_refund(refund_of(4, 250, "5.50"))
    second = await deliver(
        client, callback(REFUND_CREATED, hash="0" * 40, data={"type": "order", "id": 250})
    )

    # 20.00 of 45.99 came back: 45 * 2000 // 4599 = 19; then 5.50: 45 * 550 // 4599 = 5
    assert first.json()["status"] == "applied"
    assert first.json()["reason"].endswith(
        "refund bigcommerce-refund-3 on bigcommerce-250: 19 points reversed"
    )
    assert again.json()["reason"].endswith(
        "bigcommerce-refund-3 on bigcommerce-250: already reversed"
    )
    assert "bigcommerce-refund-4 on bigcommerce-250: 5 points reversed" in second.json()["reason"]
    refunds = await Refund.all().order_by("id").values_list("external_id", "amount_cents")
    assert refunds == [("bigcommerce-refund-3", 2000), ("bigcommerce-refund-4", 550)]
    assert await balance() == POINTS - 19 - 5
    assert await check.violations() == []


async def test_declined_refund_payments_reverse_nothing(client, fake):
    fake.add_order(order(250, status_id=11))
    await deliver(client, callback(CREATED))
    declined = refund_of(3, 250, 20)
    declined["payments"][0]["is_declined"] = True
    fake.add_refund(declined)

    response = await deliver(client, callback(REFUND_CREATED))

    assert response.json()["reason"].endswith("refund 3: no money went back")
    assert await Refund.all().count() == 0 and await balance() == POINTS


@pytest.mark.parametrize("status_id", [4, 5, 6])
async def test_refunded_cancelled_or_declined_after_credit_reverses_the_rest(
    client, fake, status_id
):
    fake.add_order(order(250, status_id=11))
    await deliver(client, callback(CREATED))
    fake.add_refund(refund_of(3, 250, 20))
    await deliver(client, callback(REFUND_CREATED))
    fake.orders[250].update(status_id=status_id)

    response = await deliver(client, callback(STATUS_UPDATED))
    again = await deliver(client, callback(STATUS_UPDATED, created_at=1561479999))

    assert response.json()["status"] == "applied"
    assert response.json()["reason"].endswith(
        f"refund bigcommerce-cancel-250 on {ORDER_ID}: {POINTS - 19} points reversed"
    )
    assert again.json()["reason"].endswith("already reversed")
    placed = await Order.get(external_id=ORDER_ID)
    assert (placed.refunded_cents, placed.points_reversed) == (4599, POINTS)
    assert await balance() == 0
    assert await check.violations() == []


async def test_cancelling_an_order_that_never_earned_is_ignored(client, fake):
    fake.add_order(order(250, status_id=5))

    response = await deliver(client, callback(STATUS_UPDATED))

    assert response.json() == {
        "status": "ignored",
        "reason": f"order {ORDER_ID} never earned: nothing to undo",
    }
    assert await Refund.all().count() == 0 and await Order.all().count() == 0


# -- customers -----------------------------------------------------------------------------------


async def test_customer_callback_enrols_the_customer(client, fake):
    fake.customers[32] = customer(32)

    first = await deliver(client, callback("webhook_store_customer_created.json"))
    updated = await deliver(
        client,
        callback("webhook_store_customer_created.json", scope="store/customer/updated"),
    )

    assert first.json() == {"status": "applied", "reason": "enrolled 32"}
    assert updated.json() == {"status": "ignored", "reason": "32 is already a member, unchanged"}
    member = await Member.get(external_id="32")
    assert (member.email, member.name) == ("jane.smith@example.com", "Jane Smith")
    assert fake.asked("/v3/customers")[0].url.params["id:in"] == "32"


async def test_callback_of_an_unhandled_scope_is_ignored(client, fake):
    body = callback(CREATED, scope="store/product/updated")

    response = await deliver(client, body)

    assert response.json() == {
        "status": "ignored",
        "reason": "topic 'store/product/updated' is not handled",
    }
    assert fake.requests == []


# -- the secret header ---------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "another-secret-of-thirty-two-bytes!", SECRET[:-1]])
async def test_missing_or_wrong_secret_is_401_and_stores_nothing(client, fake, secret):
    fake.add_order(order(250, status_id=11))

    response = await deliver(client, callback(CREATED), secret=secret)

    assert response.status_code == 401
    assert await InboxDelivery.all().count() == 0 and await Order.all().count() == 0
    assert fake.requests == []


async def test_unset_secret_is_404_and_stores_nothing(database, fake):
    app = create_app(database, migrate=False)  # LOYALTY_BIGCOMMERCE_SECRET not set
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await deliver(client, callback(CREATED))

    assert response.status_code == 404
    assert await InboxDelivery.all().count() == 0
    assert fake.requests == []


# -- fetch failures and the inbox ----------------------------------------------------------------


async def test_fetch_failure_is_parked_then_replayed_once_the_api_recovers(
    client, fake, waits, store_settings
):
    fake.add_order(order(250, status_id=11))
    fake.outage = lambda request: httpx.Response(503)

    response = await deliver(client, callback(CREATED))

    assert response.status_code == 200
    assert response.json() == {
        "status": "parked",
        "reason": "BigCommerce API: GET /v2/orders/250: 503 Service Unavailable (3 attempts)",
    }
    assert waits == [1.0, 2.0]  # doubling back-off between the three tries
    assert await Order.all().count() == 0 and await Member.all().count() == 0
    delivery = await InboxDelivery.get()
    assert delivery.status is InboxStatus.PARKED

    fake.outage = None
    replayed = await replay(store_settings, delivery)
    twice = await replay(store_settings, delivery)

    assert replayed["status"] == "APPLIED" and replayed["attempts"] == 2
    assert replayed["reason"] == f"order {ORDER_ID}: {POINTS} points"
    assert twice == replayed
    assert await balance() == POINTS and await LedgerEntry.all().count() == 1
    assert await check.violations() == []


async def test_rate_limited_fetch_waits_what_retry_after_asks(client, fake, waits):
    fake.add_order(order(250, status_id=11))
    limited = [httpx.Response(429, headers={"Retry-After": "7"})]
    fake.outage = lambda request: limited.pop() if limited else None

    response = await deliver(client, callback(CREATED))

    assert response.json()["status"] == "applied"
    assert waits == [7.0]
    assert len(fake.asked("/v2/orders/250")) == 2
    assert await balance() == POINTS
    assert await check.violations() == []


async def test_rate_limit_longer_than_a_callback_may_wait_is_parked_at_once(client, fake, waits):
    fake.add_order(order(250, status_id=11))
    fake.outage = lambda request: httpx.Response(429, headers={"Retry-After": "120"})

    response = await deliver(client, callback(CREATED))

    assert response.json() == {
        "status": "parked",
        "reason": "BigCommerce API: GET /v2/orders/250: 429 Too Many Requests, retry after 120s",
    }
    assert waits == [] and len(fake.requests) == 1


async def test_a_wrong_access_token_is_parked_without_retrying(client, fake, waits):
    fake.add_order(order(250, status_id=11))
    fake.outage = lambda request: httpx.Response(401)

    response = await deliver(client, callback(CREATED))

    assert response.json() == {
        "status": "parked",
        "reason": "BigCommerce API: GET /v2/orders/250: 401 Unauthorized",
    }
    assert waits == [] and len(fake.requests) == 1


async def test_an_order_in_another_currency_is_parked_with_the_reason(client, fake):
    fake.add_order(order(250, status_id=11, default_currency_code="EUR"))

    response = await deliver(client, callback(CREATED))

    assert response.json()["status"] == "parked"
    assert response.json()["reason"].startswith("CURRENCY_MISMATCH")
    assert await Order.all().count() == 0 and await LedgerEntry.all().count() == 0


async def test_a_body_that_is_not_json_is_parked(client, fake):
    response = await deliver(client, b"{not json")

    assert response.json() == {"status": "parked", "reason": "INVALID (body): body is not JSON"}
    assert fake.requests == []
