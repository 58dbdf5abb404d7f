"""Signed webhooks: same effect and idempotency as the mutations; bad signatures record nothing."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import MAX_BODY_BYTES, create_app
from loyalty.events.signing import sign
from loyalty.ledger import check
from models import LedgerEntry, Member, Order, Refund
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


MUG = ORDER["line_items"][0]
TWO_LINES = [MUG, {**MUG, "sku": "CUP"}]


def with_line(**changes):
    """ORDER whose second line has these values."""
    return {**ORDER, "line_items": [MUG, {**MUG, "sku": "CUP", **changes}]}


async def assert_refused(response, status, code, field):
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (with_line(price="1e30"), 400, "INVALID_AMOUNT", "line_items[1].price"),
        (with_line(price="NaN"), 400, "INVALID_AMOUNT", "line_items[1].price"),
        (with_line(price=True), 400, "INVALID_AMOUNT", "line_items[1].price"),
        (with_line(price=None), 400, "INVALID", "line_items[1].price"),
        ({**ORDER, "total_discounts": "1e30"}, 400, "INVALID_AMOUNT", "total_discounts"),
        ({**ORDER, "total_shipping": "NaN"}, 400, "INVALID_AMOUNT", "total_shipping"),
        ({**ORDER, "total_shipping": "-1.00"}, 400, "INVALID_AMOUNT", "total_shipping"),
        (with_line(quantity="2"), 400, "INVALID_QUANTITY", "line_items[1].quantity"),
        (with_line(quantity=2.5), 400, "INVALID_QUANTITY", "line_items[1].quantity"),
        (with_line(quantity=None), 400, "INVALID_QUANTITY", "line_items[1].quantity"),
        (with_line(quantity=-1), 422, "INVALID_QUANTITY", "line_items[1].quantity"),
        (with_line(quantity=10**20), 422, "INVALID_QUANTITY", "line_items[1].quantity"),
        (with_line(product_type=["a"]), 400, "INVALID", "line_items[1].product_type"),
        (with_line(title=42), 400, "INVALID", "line_items[1].title"),
        (with_line(sku={"id": 1}), 400, "INVALID", "line_items[1].sku"),
        ({**ORDER, "customer": "cust-1"}, 400, "INVALID", "customer"),
        ({**ORDER, "customer": {"id": ["cust-1"]}}, 400, "INVALID", "customer.id"),
        ({**ORDER, "id": 1.5}, 400, "INVALID", "id"),
        ({**ORDER, "currency": 840}, 400, "INVALID", "currency"),
        ({**ORDER, "line_items": MUG}, 400, "INVALID", "line_items"),
        ({**ORDER, "line_items": [MUG, "CUP"]}, 400, "INVALID", "line_items[1]"),
        ({**ORDER, "created_at": "last tuesday"}, 400, "INVALID", "created_at"),
        ({**ORDER, "created_at": 1700000000}, 400, "INVALID", "created_at"),
        ({**ORDER, "created_at": "9999-12-31T23:59:59+00:00"}, 400, "INVALID", "created_at"),
        ({**ORDER, "created_at": "0001-01-01T00:00:00+00:00"}, 400, "INVALID", "created_at"),
    ],
)
async def test_order_webhook_refuses_bad_values_naming_the_field(client, body, status, code, field):
    await enroll()

    response = await post(client, "/webhooks/orders", body)

    await assert_refused(response, status, code, field)
    assert await Order.all().count() == 0
    assert await LedgerEntry.all().count() == 0


async def test_order_webhook_with_half_a_surrogate_pair_is_refused_before_it_is_read(client):
    await enroll()

    response = await post(client, "/webhooks/orders", with_line(sku="\ud800"))

    assert response.status_code == 400
    assert "surrogate" in response.json()["errors"][0]["message"]
    assert await Order.all().count() == 0


async def test_order_webhook_names_domain_errors_as_the_body_does(client):
    response = await post(client, "/webhooks/orders", ORDER)

    await assert_refused(response, 422, "MEMBER_NOT_FOUND", "customer.id")


async def test_order_webhook_takes_json_numbers_and_integer_ids(client):
    await enroll("4242")
    body = {
        **ORDER,
        "id": 820982911946154508,
        "customer": {"id": 4242},
        "total_discounts": 2,
        "total_shipping": 4.9,
        "line_items": [{**MUG, "price": 12.00, "title": None, "product_type": None}],
    }

    response = await post(client, "/webhooks/orders", body)

    assert response.status_code == 200, response.text
    assert response.json()["order"] == "820982911946154508"
    assert response.json()["pointsAwarded"] == 22


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"amount": "1e30"}, 400, "INVALID_AMOUNT", "amount"),
        ({"amount": "Infinity"}, 400, "INVALID_AMOUNT", "amount"),
        ({"amount": [5]}, 400, "INVALID_AMOUNT", "amount"),
        (
            {"refund_line_items": [{"sku": "MUG", "quantity": "1"}]},
            400,
            "INVALID_QUANTITY",
            "refund_line_items[0].quantity",
        ),
        (
            {"refund_line_items": [{"sku": "MUG", "quantity": 10**20}]},
            422,
            "INVALID_QUANTITY",
            "refund_line_items[0].quantity",
        ),
        ({"refund_line_items": "MUG"}, 400, "INVALID", "refund_line_items"),
        ({"order_id": {"id": "shop-1001"}, "amount": "1.00"}, 400, "INVALID", "order_id"),
    ],
)
async def test_refund_webhook_refuses_bad_values_naming_the_field(
    client, body, status, code, field
):
    await enroll()
    assert (await post(client, "/webhooks/orders", ORDER)).status_code == 200
    entries = await LedgerEntry.all().count()

    response = await post(
        client, "/webhooks/refunds", {"id": "refund-1", "order_id": "shop-1001", **body}
    )

    await assert_refused(response, status, code, field)
    assert await Refund.all().count() == 0
    assert await LedgerEntry.all().count() == entries
    assert (await Order.get(external_id="shop-1001")).refunded_cents == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        json.dumps(ORDER).replace('"12.00"', "NaN").encode(),
        json.dumps(ORDER).replace('"12.00"', "1" * 5000).encode(),
        json.dumps(ORDER).replace('"12.00"', "1e999999999999999999999").encode(),
        b'{"id": "\xff"}',
    ],
    ids=[
        "nested-arrays",
        "nested-in-a-field",
        "nested-objects",
        "nan",
        "long-int",
        "exponent",
        "utf8",
    ],
)
@pytest.mark.parametrize("path", ["/webhooks/orders", "/webhooks/refunds"])
async def test_webhook_refuses_unparsable_json_with_400(client, path, raw):
    await enroll()

    response = await post(client, path, None, raw=raw)

    await assert_refused(response, 400, "BAD_JSON", None)
    assert await Order.all().count() == 0
    assert await LedgerEntry.all().count() == 0


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["1e30", "NaN", "-1", "12.00", "2026-01-01", "9999-12-31T00:00:00"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
REFUND = {
    "id": "fuzz",
    "order_id": "shop-1001",
    "refund_line_items": [{"sku": "MUG", "quantity": 1}],
}
TARGETS = [
    *(
        ("/webhooks/orders", path)
        for path in [
            ("id",),
            ("customer",),
            ("customer", "id"),
            ("created_at",),
            ("currency",),
            ("total_discounts",),
            ("total_shipping",),
            ("line_items",),
            ("line_items", 0),
            *(("line_items", 0, key) for key in MUG),
        ]
    ),
    *(
        ("/webhooks/refunds", path)
        for path in [
            ("id",),
            ("order_id",),
            ("amount",),
            ("refund_line_items",),
            ("refund_line_items", 0),
            ("refund_line_items", 0, "sku"),
            ("refund_line_items", 0, "quantity"),
        ]
    ),
]


def replaced(body, path, value):
    """A copy of body with the value at path replaced (or added)."""
    copy = list(body) if isinstance(body, list) else dict(body)
    copy[path[0]] = replaced(body[path[0]], path[1:], value) if path[1:] else value
    return copy


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(target=st.sampled_from(TARGETS), value=JSON_VALUES)
async def test_webhooks_never_fail_on_any_json_value(client, target, value):
    if not await Member.exists(external_id="cust-1"):  # the database outlives one example
        await enroll()
        await post(client, "/webhooks/orders", ORDER)
    path, where = target
    fresh = {**(ORDER if "orders" in path else REFUND), "id": str(uuid.uuid4())}
    body = json.dumps(replaced(fresh, where, value)).encode()

    response = await post(client, path, None, raw=body)

    assert response.status_code in (200, 400, 422), (target, value, response.text)
    assert await check.violations() == []


@pytest.mark.parametrize("path", ["/webhooks/orders", "/webhooks/refunds"])
async def test_webhook_body_over_the_app_limit_is_413_and_records_nothing(client, path):
    # The app's body limit is the webhooks' only one: a signed body over it never reaches them.
    await enroll()
    raw = json.dumps({**ORDER, "pad": "x" * MAX_BODY_BYTES}).encode()

    response = await post(client, path, None, raw=raw)

    assert response.status_code == 413
    assert response.json() == {"errors": [{"message": f"request body over {MAX_BODY_BYTES} bytes"}]}
    assert await Order.all().count() == 0
