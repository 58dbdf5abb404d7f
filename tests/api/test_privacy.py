"""Erasing a member end to end, through the HTTP app: a Shopify customer (the published
customers/create sample) who ordered, redeemed and was adjusted is erased; afterwards no
personal value is left in any text column of any table, the ledger checks clean, reports keep
their totals, old tokens answer 401, and the shop's id of the customer no longer earns.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise import Tortoise, fields

from api.app import create_app
from api.relay import encode_id
from loyalty import db
from loyalty.events.signing import sign
from loyalty.ledger import check
from loyalty.offers import publish
from loyalty.reports import summary
from loyalty.settings import Secret, Settings
from models import (
    AuditEntry,
    Coupon,
    CouponStatus,
    EntryKind,
    InboxDelivery,
    InboxStatus,
    LedgerEntry,
    Member,
    MemberOffer,
    ModelVersion,
    Product,
)
from tests.support import ADMIN_KEY, STOREFRONT_KEY, gql

pytestmark = pytest.mark.usefixtures("database")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms" / "shopify"
SHOPIFY_SECRET = "test-shopify-secret-of-thirty-two-bytes"
# The customers/create sample's customer.
CUSTOMER_ID, EMAIL, NAME = "706405506930370084", "bob@biller.com", "Bob Biller"
LINES = [{"sku": "TEA", "quantity": 2, "unitPrice": "30.00"}]

RECORD_ORDER = """mutation($input: RecordOrderInput!) {
  recordOrder(input: $input) { pointsAwarded userErrors { code } } }"""
ERASE = """mutation($id: ID!, $reason: String!) {
  eraseMember(id: $id, reason: $reason) {
    member { externalId email name pointsBalance erasedAt }
    closedPoints voidedCoupons alreadyErased userErrors { field code }
  } }"""


@pytest.fixture
def shop_settings(database: Settings) -> Settings:
    return replace(database, shopify_secret=Secret(SHOPIFY_SECRET))


@pytest.fixture
async def client(shop_settings: Settings):
    app = create_app(shop_settings, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def post(
    client: httpx.AsyncClient, credential: str, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {credential}"},
    )


async def data(
    client: httpx.AsyncClient, credential: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await post(client, credential, query, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("errors") is None, body
    result: dict[str, Any] = body["data"]
    return result


async def shopify(client: httpx.AsyncClient, topic: str, content: bytes, delivery: str) -> str:
    response = await client.post(
        "/webhooks/shopify",
        content=content,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Webhook-Id": delivery,
            "X-Shopify-Hmac-Sha256": sign(content, SHOPIFY_SECRET),
        },
    )
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


def paid_order_for(customer_id: int, order_id: int) -> bytes:
    """The published order sample as a paid order of this customer (the sample is a
    cancelled, voided test order of another customer)."""
    body = json.loads((FIXTURES / "orders_paid.json").read_bytes())
    body.update(test=False, financial_status="paid", cancelled_at=None, cancel_reason=None)
    body.update(id=order_id)
    body["customer"]["id"] = customer_id
    return json.dumps(body).encode()


async def text_columns_holding(needle: str) -> list[str]:
    """``table.column`` of every text or JSON column of every table that holds ``needle``
    (case-insensitive); the columns come from the models, so a new table is scanned too."""
    found = []
    conn = db.connection()
    for model in Tortoise.apps["models"].values():
        table = model._meta.db_table
        for name, column in model._meta.fields_db_projection.items():
            field = model._meta.fields_map[name]
            if not isinstance(field, fields.CharField | fields.TextField | fields.JSONField):
                continue
            rows = await db.fetch(
                conn,
                f'SELECT COUNT(*) AS n FROM "{table}" '
                f'WHERE LOWER(CAST("{column}" AS TEXT)) LIKE $1',
                f"%{needle.lower()}%",
            )
            if rows[0]["n"]:
                found.append(f"{table}.{column}")
    return found


def totals(report: summary.ProgramReport) -> dict[str, Any]:
    """The report's figures, without the points still outstanding (an erasure closes them)."""
    figures = dataclasses.asdict(report)
    figures.pop("points_outstanding")
    figures.pop("liability")
    return figures


async def test_an_erased_member_leaves_no_personal_data_and_the_books_balance(
    client, shop_settings
):
    # given a Shopify customer who joined, ordered, was adjusted, redeemed and was offered
    assert (
        await shopify(
            client, "customers/create", (FIXTURES / "customers_create.json").read_bytes(), "d-1"
        )
        == "applied"
    )
    member = await Member.get(external_id=CUSTOMER_ID)
    assert (member.email, member.name) == (EMAIL, NAME)
    member_id = encode_id("Member", member.id)
    assert (
        await shopify(client, "orders/paid", paid_order_for(int(CUSTOMER_ID), 4501), "d-2")
        == "applied"
    )
    ordered = await data(
        client,
        STOREFRONT_KEY,
        RECORD_ORDER,
        {"input": {"externalId": "o-2", "memberExternalId": CUSTOMER_ID, "lines": LINES}},
    )
    assert ordered["recordOrder"]["userErrors"] == []
    adjusted = await data(
        client,
        ADMIN_KEY,
        "mutation($id: ID!) { adjustPoints(input: {memberId: $id, points: 25, reason: "
        '"goodwill"}) { userErrors { code } } }',
        {"id": member_id},
    )
    assert adjusted["adjustPoints"]["userErrors"] == []
    reward = await data(
        client,
        ADMIN_KEY,
        'mutation { createReward(input: {name: "Mug", kind: FIXED_DISCOUNT, pointsCost: 50, '
        'value: "5.00"}) { reward { id } userErrors { code } } }',
    )
    reward_id = reward["createReward"]["reward"]["id"]
    token = (
        await data(
            client,
            STOREFRONT_KEY,
            f'mutation {{ issueMemberToken(externalId: "{CUSTOMER_ID}") {{ token }} }}',
        )
    )["issueMemberToken"]["token"]
    redeemed = await data(
        client,
        token,
        "mutation($r: ID!) { redeemReward(input: {rewardId: $r}) "
        "{ coupon { code } userErrors { code } } }",
        {"r": reward_id},
    )
    code = redeemed["redeemReward"]["coupon"]["code"]
    version = await ModelVersion.create(version="v1", path="-", active=True)
    product = await Product.get(sku="TEA")
    await MemberOffer.create(
        version=version,
        member_id=member.id,
        rank=1,
        product=product,
        score=1.0,
        reason="BOUGHT_OFTEN",
    )
    later = datetime.now(UTC) + timedelta(hours=1)  # both reports cover the same period
    before = await summary.program_report(shop_settings, now=later)
    balance = (await Member.get(id=member.id)).balance
    assert balance > 0 and await text_columns_holding(EMAIL)

    # when the admin erases the member
    erased = (await data(client, ADMIN_KEY, ERASE, {"id": member_id, "reason": "asked by mail"}))[
        "eraseMember"
    ]

    # then nothing personal is left anywhere
    assert erased["userErrors"] == [] and not erased["alreadyErased"]
    assert erased["closedPoints"] == balance and erased["voidedCoupons"] == 1
    assert erased["member"]["email"] == "" and erased["member"]["name"] is None
    assert erased["member"]["externalId"].startswith("erased-")
    assert erased["member"]["pointsBalance"] == 0 and erased["member"]["erasedAt"]
    for needle in (EMAIL, NAME, CUSTOMER_ID):
        assert await text_columns_holding(needle) == [], needle
    # the books balance, and reports keep their totals
    assert await check.violations() == []
    closing = await LedgerEntry.get(member_id=member.id, kind=EntryKind.ERASE)
    assert (closing.points, closing.balance_after) == (-balance, 0)
    after = await summary.program_report(shop_settings, now=later)
    assert totals(after) == totals(before)
    assert after.points_outstanding == before.points_outstanding - balance
    # the coupon is void, offers and training rows are gone
    assert (await Coupon.get(code=code)).status is CouponStatus.VOIDED
    assert not await MemberOffer.filter(member_id=member.id).exists()
    assert member.id not in set((await publish.load_interactions())["member_id"])
    # old tokens answer 401
    me = await post(client, token, "{ me { pointsBalance } }")
    assert me.status_code == 401
    # the shop's id of the customer cannot earn again without a new enrolment
    again = await data(
        client,
        STOREFRONT_KEY,
        RECORD_ORDER,
        {"input": {"externalId": "o-3", "memberExternalId": CUSTOMER_ID, "lines": LINES}},
    )
    assert [e["code"] for e in again["recordOrder"]["userErrors"]] == ["MEMBER_NOT_FOUND"]
    assert (
        await shopify(client, "orders/paid", paid_order_for(int(CUSTOMER_ID), 4502), "d-3")
        == "parked"
    )
    parked = await InboxDelivery.get(delivery_id="d-3")
    assert parked.reason is not None and parked.reason.startswith("MEMBER_ERASED")
    assert (
        await shopify(
            client, "customers/update", (FIXTURES / "customers_update.json").read_bytes(), "d-4"
        )
        == "parked"
    )
    assert await Member.filter(erased_at__isnull=True).count() == 0
    # an explicit enrolment starts a new member, which earns
    enrolled = await data(
        client,
        STOREFRONT_KEY,
        f'mutation {{ enrollMember(input: {{externalId: "{CUSTOMER_ID}", email: "{EMAIL}"}}) '
        "{ member { id } userErrors { code } } }",
    )
    assert enrolled["enrollMember"]["member"]["id"] != member_id
    fresh = await data(
        client,
        STOREFRONT_KEY,
        RECORD_ORDER,
        {"input": {"externalId": "o-4", "memberExternalId": CUSTOMER_ID, "lines": LINES}},
    )
    assert fresh["recordOrder"]["pointsAwarded"] > 0
    assert await check.violations() == []


async def test_erasing_twice_changes_nothing_the_second_time(client):
    member = await Member.create(
        external_id="cust-9",
        email="x9@example.com",
        email_normalized="x9@example.com",
        referral_code="REF9",
        balance=0,
    )
    member_id = encode_id("Member", member.id)
    first = (await data(client, ADMIN_KEY, ERASE, {"id": member_id, "reason": "asked"}))[
        "eraseMember"
    ]
    snapshot = await Member.get(id=member.id).values()
    entries = await LedgerEntry.all().count()

    second = (await data(client, ADMIN_KEY, ERASE, {"id": member_id, "reason": "asked"}))[
        "eraseMember"
    ]

    assert (first["alreadyErased"], second["alreadyErased"]) == (False, True)
    assert second["member"] == first["member"]
    assert await Member.get(id=member.id).values() == snapshot
    assert await LedgerEntry.all().count() == entries


@pytest.mark.parametrize(
    ("variables", "field", "code"),
    [
        ({"id": "nope", "reason": "asked"}, ["id"], "INVALID_ID"),
        ({"id": encode_id("Member", 999), "reason": "asked"}, ["id"], "MEMBER_NOT_FOUND"),
        ({"id": None, "reason": "  "}, ["reason"], "INVALID"),
    ],
)
async def test_a_bad_erasure_request_is_refused_and_changes_nothing(client, variables, field, code):
    member = await Member.create(
        external_id="cust-8",
        email="x8@example.com",
        email_normalized="x8@example.com",
        referral_code="REF8",
    )
    if variables["id"] is None:
        variables = {**variables, "id": encode_id("Member", member.id)}
    before = await Member.get(id=member.id).values()

    erased = (await data(client, ADMIN_KEY, ERASE, variables))["eraseMember"]

    assert erased["userErrors"] == [{"field": field, "code": code}]
    assert await Member.get(id=member.id).values() == before


async def test_the_privacy_topics_of_shopify(client):
    customer = (FIXTURES / "customers_create.json").read_bytes()
    assert await shopify(client, "customers/create", customer, "c-1") == "applied"
    # a data request waits in the inbox for the merchant to answer with the export
    request = (FIXTURES / "customers_data_request.json").read_bytes()
    assert await shopify(client, "customers/data_request", request, "c-2") == "parked"
    assert (
        await shopify(client, "shop/redact", (FIXTURES / "shop_redact.json").read_bytes(), "c-3")
        == "parked"
    )
    # customers/delete closes the member: later orders do not earn
    deleted = (FIXTURES / "customers_delete.json").read_bytes()
    assert await shopify(client, "customers/delete", deleted, "c-4") == "applied"
    member = await Member.get(external_id=CUSTOMER_ID)
    assert member.closed_at is not None and member.erased_at is None
    assert (
        await shopify(client, "orders/paid", paid_order_for(int(CUSTOMER_ID), 4601), "c-5")
        == "parked"
    )
    closed = await InboxDelivery.get(delivery_id="c-5")
    assert closed.status is InboxStatus.PARKED and (closed.reason or "").startswith("MEMBER_CLOSED")
    assert member.balance == (await Member.get(id=member.id)).balance
    # customers/redact of a customer who is not a member erases what the inbox kept of it
    redact = (FIXTURES / "customers_redact.json").read_bytes()
    assert await shopify(client, "customers/redact", redact, "c-6") == "ignored"
    assert await text_columns_holding("john@example.com") == []
    # and of a member erases the member
    redact_bob = json.loads(redact)
    redact_bob["customer"].update(id=int(CUSTOMER_ID), email=EMAIL)
    assert (
        await shopify(client, "customers/redact", json.dumps(redact_bob).encode(), "c-7")
        == "applied"
    )
    assert (await Member.get(id=member.id)).erased_at is not None
    for needle in (EMAIL, NAME, CUSTOMER_ID):
        assert await text_columns_holding(needle) == [], needle
    assert await check.violations() == []


async def test_an_export_through_the_api_is_the_members_document_and_is_audited(database):
    member = await Member.create(
        external_id="cust-7",
        email="x7@example.com",
        email_normalized="x7@example.com",
        referral_code="REF7",
    )
    query = "query($id: ID!) { exportMember(id: $id) }"

    found = await gql(database, query, {"id": encode_id("Member", member.id)})
    missing = await gql(database, query, {"id": encode_id("Member", 999)})

    assert found["exportMember"]["member"]["external_id"] == "cust-7"
    assert "orders" in found["exportMember"]["tables"]
    assert missing == {"exportMember": None}
    entries = await AuditEntry.all().order_by("id")
    assert [(e.operation, e.target) for e in entries] == [
        ("exportMember", f"Member:{member.id}"),
        ("exportMember", "Member:999"),
    ]


async def test_revoked_tokens_answer_401_and_a_token_issued_later_works(client):
    member = await Member.create(
        external_id="cust-6",
        email="x6@example.com",
        email_normalized="x6@example.com",
        referral_code="REF6",
    )
    issue = 'mutation { issueMemberToken(externalId: "cust-6") { token } }'
    old = (await data(client, STOREFRONT_KEY, issue))["issueMemberToken"]["token"]
    assert (await post(client, old, "{ me { externalId } }")).status_code == 200

    revoked = await data(
        client,
        ADMIN_KEY,
        "mutation($id: ID!) { revokeMemberTokens(memberId: $id) { tokenVersion } }",
        {"id": encode_id("Member", member.id)},
    )
    refused = await post(client, old, "{ me { externalId } }")
    new = (await data(client, STOREFRONT_KEY, issue))["issueMemberToken"]["token"]

    assert revoked["revokeMemberTokens"]["tokenVersion"] == 1
    assert refused.status_code == 401
    assert await data(client, new, "{ me { externalId } }") == {"me": {"externalId": "cust-6"}}
