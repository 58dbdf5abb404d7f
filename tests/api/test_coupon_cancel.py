"""Cancelling a coupon gives its points back only as they were: an open refund shortfall is
settled first, and the points keep the expiry dates of the lots the redemption consumed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from api.context import Role
from loyalty import rewards
from loyalty.ledger import adjust, check
from loyalty.ops import jobs
from models import LedgerEntry, Lot, Member
from tests.support import enroll, gql, order

pytestmark = pytest.mark.usefixtures("database")

CREATE = """mutation($input: CreateRewardInput!) { createReward(input: $input) {
  reward { id } userErrors { code } } }"""
REDEEM = """mutation($id: ID!) { redeemReward(input: {rewardId: $id}) {
  coupon { code } member { pointsBalance } userErrors { code } } }"""
REFUND = """mutation($order: String!, $id: String!, $amount: Decimal!) {
  refundOrder(input: {orderExternalId: $order, externalId: $id, amount: $amount}) {
    pointsReversed shortfall userErrors { code } } }"""
CANCEL = """mutation($code: String!) { cancelCoupon(input: {code: $code}) {
  coupon { status } userErrors { code } } }"""
BALANCE = "{ me { pointsBalance } }"


async def gift_card(settings, points: int) -> str:
    data = await gql(
        settings,
        CREATE,
        {
            "input": {
                "name": "Gift card",
                "kind": "GIFT_CARD",
                "value": "5.00",
                "pointsCost": points,
            }
        },
    )
    assert data["createReward"]["userErrors"] == []
    return data["createReward"]["reward"]["id"]


async def redeem(settings, member: Member, reward_id: str) -> str:
    data = await gql(settings, REDEEM, {"id": reward_id}, role=Role.MEMBER, member_id=member.id)
    assert data["redeemReward"]["userErrors"] == []
    return data["redeemReward"]["coupon"]["code"]


async def cancel(settings, member: Member, code: str) -> None:
    data = await gql(settings, CANCEL, {"code": code}, role=Role.MEMBER, member_id=member.id)
    assert data["cancelCoupon"] == {"coupon": {"status": "CANCELLED"}, "userErrors": []}


async def balance(settings, member: Member) -> int:
    data = await gql(settings, BALANCE, role=Role.MEMBER, member_id=member.id)
    return data["me"]["pointsBalance"]


async def refund(settings, order_id: str, refund_id: str, amount: str) -> dict:
    data = await gql(settings, REFUND, {"order": order_id, "id": refund_id, "amount": amount})
    return data["refundOrder"]


async def test_refunded_points_do_not_come_back_through_cancel_coupon(database):
    # given: 500 points from an order, all of them redeemed into a gift card
    member = await enroll()
    await order(database, "o-1", amount="500.00")
    reward_id = await gift_card(database, 500)
    code = await redeem(database, member, reward_id)
    # and: the order refunded in full: nothing left to take back, 500 owed
    assert await refund(database, "o-1", "r-1", "500.00") == {
        "pointsReversed": 0,
        "shortfall": 500,
        "userErrors": [],
    }

    # when: the coupon is cancelled
    await cancel(database, member, code)

    # then: the returned 500 paid the shortfall; nothing reached the balance
    assert await balance(database, member) == 0
    await member.refresh_from_db()
    assert member.shortfall == 0
    settlement = await LedgerEntry.get(member_id=member.id, settled__gt=0)
    assert (settlement.points, settlement.settled) == (0, 500)
    assert await check.violations() == []


async def test_buy_redeem_return_cancel_cannot_be_repeated_for_points(database):
    # given: a member who buys, redeems, returns and cancels three times
    member = await enroll()
    reward_id = await gift_card(database, 500)
    for i in range(3):
        await order(database, f"o-{i}", amount="500.00")
        code = await redeem(database, member, reward_id)
        await refund(database, f"o-{i}", f"r-{i}", "500.00")
        await cancel(database, member, code)
        # then: after each round the balance is where it started
        assert await balance(database, member) == 0
    assert await check.violations() == []


async def test_cancel_credits_what_exceeds_the_open_shortfall(database):
    # given: 700 points, 500 redeemed, a refund of 400 that can take back only 200
    member = await enroll()
    await order(database, "o-1", amount="300.00")
    await order(database, "o-2", amount="400.00")
    code = await redeem(database, member, await gift_card(database, 500))
    assert await refund(database, "o-2", "r-1", "400.00") == {
        "pointsReversed": 200,
        "shortfall": 200,
        "userErrors": [],
    }

    # when
    await cancel(database, member, code)

    # then: 200 settle the shortfall, 300 come back
    assert await balance(database, member) == 300
    await member.refresh_from_db()
    assert member.shortfall == 0
    assert await check.violations() == []


async def test_concurrent_cancels_settle_a_shortfall_once(database):
    # given: two coupons of 300 and an open shortfall of 400
    member = await enroll()
    await order(database, "o-1", amount="600.00")
    reward_id = await gift_card(database, 300)
    codes = [await redeem(database, member, reward_id) for _ in range(2)]
    await refund(database, "o-1", "r-1", "400.00")

    # when: both coupons are cancelled at once
    await asyncio.gather(*(rewards.cancel(code, member.id, database) for code in codes))

    # then: 600 returned, 400 of them paid the debt
    assert await balance(database, member) == 200
    await member.refresh_from_db()
    assert member.shortfall == 0
    assert await check.violations() == []


async def test_cancel_coupon_keeps_the_expiry_of_the_spent_lots(database):
    # given: two lots, 100 points expiring in 15 days and 200 in 300 days, 250 redeemed
    now = datetime.now(UTC)
    member = await enroll()
    await order(database, "old", amount="100.00", placed_at=now - timedelta(days=350))
    await order(database, "new", amount="200.00", placed_at=now - timedelta(days=65))
    code = await redeem(database, member, await gift_card(database, 250))

    # when: the coupon is cancelled
    await cancel(database, member, code)

    # then: 100 come back expiring with the old lot, 150 with the new one, no fresh date
    returned = await Lot.filter(member_id=member.id, entry__kind="reversal").order_by("expires_at")
    assert [(lot.points, lot.expires_at) for lot in returned] == [
        (100, now - timedelta(days=350) + timedelta(days=365)),
        (150, now - timedelta(days=65) + timedelta(days=365)),
    ]
    assert await balance(database, member) == 300
    assert await check.violations() == []


async def test_cancel_coupon_expires_at_once_what_had_already_expired(database):
    # given: 100 points redeemed from a lot that expires in 5 days
    now = datetime.now(UTC)
    member = await enroll()
    await order(database, "o-1", amount="100.00", placed_at=now - timedelta(days=360))
    code = await redeem(database, member, await gift_card(database, 100))

    # when: the lot's date passes while the coupon is open, then the coupon is cancelled
    later = now + timedelta(days=6)
    await jobs.run(later, database)
    await rewards.cancel(code, member.id, database, now=later)

    # then: the points are returned and expired in the same step; the balance stays 0
    assert await balance(database, member) == 0
    kinds = (
        await LedgerEntry.filter(member_id=member.id).order_by("id").values_list("kind", "points")
    )
    assert kinds[-2:] == [("reversal", 100), ("expire", -100)]
    assert await check.violations() == []


async def test_refund_shortfall_is_owed_and_check_knows_it(database):
    # given: an order's points spent, then the order refunded
    member = await enroll()
    await order(database, "o-1", amount="100.00")
    await adjust.adjust_points(member.id, -100, "spent elsewhere")
    await refund(database, "o-1", "r-1", "100.00")
    await member.refresh_from_db()
    assert member.shortfall == 100
    assert await check.violations() == []

    # when: the open shortfall is tampered with
    await Member.filter(id=member.id).update(shortfall=0)

    # then: loyalty check names the broken invariant
    found = await check.violations()
    assert [v.invariant for v in found] == ["6 open shortfall == shortfalls less settlements"]
