"""Guest orders (no customer account) claimed by the member who enrols with their e-mail
within LOYALTY_GUEST_CLAIM_DAYS of the order, on WooCommerce's published order (Shopify's
guest orders: tests/api/test_shopify.py).

The published WooCommerce order is a guest order as it stands (``customer_id`` 0, billing
e-mail john.doe@example.com); the only change the tests make to it is ``date_created_gmt``
(2017 in the example, years outside any claim window), said where it is made.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.app import create_app
from loyalty.ledger import check
from loyalty.members import EnrollInput
from loyalty.ops import jobs
from loyalty.orders import guests
from loyalty.settings import Secret, Settings
from models import GuestOrder, GuestRefund, LedgerEntry, Member, Order, Refund
from tests.api import test_woocommerce as woo
from tests.support import gql

pytestmark = pytest.mark.usefixtures("database")

ORDER_ID = "woocommerce-727"
EMAIL = "john.doe@example.com"
ENROLL = """
mutation($input: EnrollMemberInput!) {
  enrollMember(input: $input) { member { externalId pointsBalance } userErrors { code } }
}"""


def placed(days_ago: float) -> str:
    """A ``date_created_gmt`` this many days ago, written as WooCommerce writes it (UTC, no
    offset)."""
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S")


def guest_order(days_ago: float = 1, **changes: Any) -> dict[str, Any]:
    """The published (guest) order, placed ``days_ago`` days ago; then ``changes``."""
    return {**woo.sample("order.json"), "date_created_gmt": placed(days_ago), **changes}


@pytest.fixture
def shop_settings(database: Settings) -> Settings:
    return replace(database, woocommerce_secret=Secret(woo.WOOCOMMERCE_SECRET))


@pytest.fixture
async def client(shop_settings):
    app = create_app(shop_settings, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def join(settings: Settings, external_id: str, email: str = EMAIL) -> dict[str, Any]:
    data = await gql(settings, ENROLL, {"input": {"externalId": external_id, "email": email}})
    assert data["enrollMember"]["userErrors"] == []
    member: dict[str, Any] = data["enrollMember"]["member"]
    return member


async def test_a_guest_order_is_kept_then_credited_once_to_the_member_who_enrols(
    client, shop_settings
):
    kept = await woo.deliver(client, "order.created", guest_order())
    again = await woo.deliver(client, "order.updated", guest_order())

    until = (datetime.now(UTC) + timedelta(days=29)).date()
    assert woo.answered(kept) == {
        "status": "applied",
        "reason": f"guest order {ORDER_ID}: kept for the member who enrols with its e-mail by "
        f"{until}",
    }
    assert woo.answered(again) == woo.answered(kept)
    assert await GuestOrder.all().count() == 1 and await Order.all().count() == 0

    # The e-mail as typed at enrolment differs; its normalised form is the order's.
    member = await join(shop_settings, "wp-25", "John.Doe+shop@Example.com")
    later = await woo.deliver(client, "order.updated", guest_order())

    assert member == {"externalId": "wp-25", "pointsBalance": woo.POINTS}
    assert woo.answered(later)["status"] == "applied"
    order = await Order.get(external_id=ORDER_ID).prefetch_related("member")
    assert (order.member.external_id, order.points_awarded) == ("wp-25", woo.POINTS)
    guest = await GuestOrder.get(external_id=ORDER_ID)
    assert guest.claimed_by_id == order.member_id and guest.claimed_at is not None
    assert await LedgerEntry.filter(source__contains=ORDER_ID).count() == 1
    assert await check.violations() == []


async def test_a_second_member_with_the_same_email_gets_nothing(client, shop_settings):
    await woo.deliver(client, "order.created", guest_order())
    await join(shop_settings, "first")

    second = await join(shop_settings, "second")

    assert second == {"externalId": "second", "pointsBalance": 0}
    assert (await Member.get(external_id="first")).balance == woo.POINTS
    assert await Order.all().count() == 1
    assert await check.violations() == []


async def test_concurrent_enrolments_with_one_email_credit_once(client, shop_settings):
    await woo.deliver(client, "order.created", guest_order())

    await asyncio.gather(*(join(shop_settings, f"m-{i}") for i in range(6)))

    assert sorted(await Member.all().values_list("balance", flat=True)) == [0] * 5 + [18]
    assert await Order.all().count() == 1 and await LedgerEntry.all().count() == 1
    assert await check.violations() == []


async def test_a_claim_that_runs_twice_credits_once(client, shop_settings):
    await woo.deliver(client, "order.created", guest_order())
    member = await guests.enroll_and_claim(EnrollInput("25", EMAIL), shop_settings)
    # A crash after the order was recorded, before the guest order was marked claimed.
    await GuestOrder.all().update(claimed_by_id=None, claimed_at=None)

    again = await guests.claim(shop_settings, member)

    assert [r.replayed for r in again] == [True]
    assert (await Member.get(external_id="25")).balance == woo.POINTS
    assert await LedgerEntry.all().count() == 1
    assert await check.violations() == []


async def test_no_claim_for_another_email(client, shop_settings):
    await woo.deliver(client, "order.created", guest_order())

    member = await join(shop_settings, "jane", "jane.doe@example.com")

    assert member["pointsBalance"] == 0
    assert await Order.all().count() == 0
    assert (await GuestOrder.get()).claimed_by_id is None
    assert await check.violations() == []


async def test_no_claim_after_the_window(client, shop_settings):
    # Placed 20 days ago and kept (the window is 30 days); the programme then shortens the
    # window to 10 days before anyone enrols.
    kept = await woo.deliver(client, "order.created", guest_order(20))
    assert woo.answered(kept)["status"] == "applied"
    shorter = replace(shop_settings, guest_claim_days=10)

    member = await join(shorter, "25")

    assert member["pointsBalance"] == 0
    assert await Order.all().count() == 0
    assert await check.violations() == []


async def test_a_guest_order_older_than_the_window_is_not_kept(client):
    response = await woo.deliver(client, "order.created", guest_order(31))

    assert woo.answered(response) == {
        "status": "ignored",
        "reason": f"guest order {ORDER_ID} is older than the 30 days a member has to claim it",
    }
    assert await GuestOrder.all().count() == 0


async def test_the_published_order_from_2017_is_not_kept(client):
    response = await woo.deliver(client, "order.created", woo.raw("order.json"))

    assert woo.answered(response)["status"] == "ignored"
    assert await GuestOrder.all().count() == 0


async def test_a_guest_who_creates_an_account_in_the_shop_claims_the_order(client):
    await woo.deliver(client, "order.created", guest_order())

    created = await woo.deliver(client, "customer.created", woo.raw("customer.json"))

    assert woo.answered(created) == {"status": "applied", "reason": "enrolled 25"}
    assert (await Member.get(external_id="25")).balance == woo.POINTS
    assert await check.violations() == []


async def test_a_refund_before_the_claim_is_reversed_when_it_is_claimed(client, shop_settings):
    await woo.deliver(client, "order.created", guest_order())
    refunded = guest_order(refunds=[woo.listed(woo.sample("refund.json"))])  # 726: 10.00

    held = await woo.deliver(client, "order.updated", refunded)
    await woo.deliver(client, "order.updated", refunded)
    member = await join(shop_settings, "25")
    after = await woo.deliver(client, "order.updated", refunded)

    assert woo.answered(held)["reason"].endswith(
        f"refund woocommerce-refund-726 on guest order {ORDER_ID}: kept for its claim"
    )
    assert member["pointsBalance"] == woo.POINTS - 10
    assert woo.answered(after)["reason"].endswith("already reversed")
    refund = await Refund.get(external_id="woocommerce-refund-726")
    assert (refund.amount_cents, refund.points_reversed) == (1000, 10)
    assert await check.violations() == []


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
async def test_a_guest_order_cancelled_before_the_claim_is_not_claimed(
    client, shop_settings, status
):
    await woo.deliver(client, "order.created", guest_order())

    cancelled = await woo.deliver(client, "order.updated", guest_order(status=status))
    member = await join(shop_settings, "25")

    assert woo.answered(cancelled) == {
        "status": "applied",
        "reason": f"guest order {ORDER_ID} cancelled: no one can claim it",
    }
    assert member["pointsBalance"] == 0
    assert await Order.all().count() == 0
    assert await check.violations() == []


async def test_a_guest_order_in_another_currency_is_parked_not_kept(client):
    response = await woo.deliver(client, "order.created", guest_order(currency="EUR"))

    assert woo.answered(response)["reason"].startswith("CURRENCY_MISMATCH (currency)")
    assert await GuestOrder.all().count() == 0


async def test_a_guest_order_with_a_members_email_is_credited_to_it_at_once(client, shop_settings):
    await join(shop_settings, "25", "John.Doe@example.com")

    response = await woo.deliver(client, "order.created", guest_order())

    assert woo.answered(response) == {
        "status": "applied",
        "reason": f"guest order {ORDER_ID}: its e-mail is member 25's, credited to it",
    }
    assert (await Member.get(external_id="25")).balance == woo.POINTS
    assert (await GuestOrder.get()).claimed_by_id is not None
    assert await check.violations() == []


async def test_a_guest_order_whose_email_two_members_share_waits_for_a_claim(client, shop_settings):
    await join(shop_settings, "a")
    await join(shop_settings, "b")

    response = await woo.deliver(client, "order.created", guest_order())

    assert woo.answered(response)["reason"].startswith(f"guest order {ORDER_ID}: kept for")
    assert await Order.all().count() == 0
    assert await check.violations() == []


async def test_jobs_drop_guest_orders_past_their_claim_window(client, shop_settings):
    await woo.deliver(client, "order.created", guest_order(5))
    await woo.deliver(client, "order.created", guest_order(1, id=728))
    await woo.deliver(client, "order.updated", guest_order(5, status="cancelled"))

    report = await jobs.run(datetime.now(UTC) + timedelta(days=27), shop_settings)

    assert report.purged_guest_orders == 1
    assert await GuestOrder.all().values_list("external_id", flat=True) == ["woocommerce-728"]
    assert await GuestRefund.all().count() == 0  # the cancellation went with its order
    assert "1 guest orders past their claim window dropped" in str(report)
    assert await check.violations() == []
