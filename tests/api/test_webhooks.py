"""Signed webhooks: same effect and idempotency as the mutations; bad signatures record nothing."""

from __future__ import annotations

import json

import httpx
import pytest

from api.app import create_app
from api.webhooks import sign
from loyalty.ledger import check
from models import LedgerEntry, Member, Order
from tests.support import WEBHOOK_SECRET, enroll

pytestmark = pytest.mark.usefixtures("database")

ORDER = {
    "id": "shop-1001",
    "customer": {"id": "cust-1"},
    "created_at": "2026-11-01T10:00:00+00:00",
    "currency": "USD",
    "total_discounts": "2.00",
    "total_shipping": "4.90",
    "line_items": [
        {"sku": "MUG", "quantity": 2, "price": "12.00", "title": "Mug", "product_type": "kitchen"}
    ],
}


@pytest.fixture
def client(database):
    app = create_app(database, migrate=False)
    # The database is opened by the `database` fixture; the app's lifespan is not run here.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def post(client, path, payload, signature=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not False:
        headers["X-Loyalty-Hmac-Sha256"] = (
            sign(body, WEBHOOK_SECRET) if signature is None else signature
        )
    return await client.post(path, content=body, headers=headers)


async def test_order_webhook_credits_once(client):
    await enroll()

    first = await post(client, "/webhooks/orders", ORDER)
    again = await post(client, "/webhooks/orders", ORDER)

    assert first.status_code == 200 and first.json()["pointsAwarded"] == 22
    assert again.status_code == 200 and again.json() == {**first.json(), "replayed": True}
    assert (await Member.get(external_id="cust-1")).balance == 22
    assert await check.violations() == []


@pytest.mark.parametrize("signature", [False, "", "bm90IGEgc2lnbmF0dXJl", "tampered"])
async def test_bad_signature_is_401_and_records_nothing(client, signature):
    await enroll()
    if signature == "tampered":
        signature = sign(json.dumps({**ORDER, "id": "other"}).encode(), WEBHOOK_SECRET)

    response = await post(client, "/webhooks/orders", ORDER, signature=signature)

    assert response.status_code == 401
    assert await Order.all().count() == 0


async def test_signature_is_over_the_raw_body(client):
    await enroll()
    raw = json.dumps(ORDER, indent=2).encode()
    reserialised = json.dumps(json.loads(raw)).encode()

    response = await post(
        client, "/webhooks/orders", None, signature=sign(reserialised, WEBHOOK_SECRET), raw=raw
    )

    assert response.status_code == 401


async def test_unknown_member_is_422_and_records_nothing(client):
    response = await post(client, "/webhooks/orders", ORDER)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "MEMBER_NOT_FOUND"
    assert await LedgerEntry.all().count() == 0


async def test_malformed_json_is_400(client):
    response = await post(client, "/webhooks/orders", None, raw=b"{not json")
    assert response.status_code == 400


async def test_refund_webhook_reverses_once(client):
    await enroll()
    await post(client, "/webhooks/orders", ORDER)
    refund = {
        "id": "refund-1",
        "order_id": "shop-1001",
        "refund_line_items": [{"sku": "MUG", "quantity": 1}],
    }

    first = await post(client, "/webhooks/refunds", refund)
    again = await post(client, "/webhooks/refunds", refund)

    assert first.status_code == 200 and first.json()["pointsReversed"] == 11
    assert again.json()["replayed"] is True
    assert (await Member.get(external_id="cust-1")).balance == 11
