"""The statement: one hand-built member whose every statement figure is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty import orders, rewards
from loyalty.errors import NotFound
from loyalty.members import statements
from models import RewardKind
from tests.support import enroll, lines, order

pytestmark = pytest.mark.usefixtures("database")


async def reward(name: str, cost: int, kind: RewardKind = RewardKind.FIXED_DISCOUNT, **extra):
    if kind == RewardKind.FIXED_DISCOUNT:
        extra.setdefault("value", Decimal(5))
    return await rewards.create_reward(
        rewards.RewardInput(name=name, kind=kind, points_cost=cost, **extra)
    )


async def test_a_statement_has_every_figure_a_reminder_shows(database):
    # given: lots of 10 (expires in 20 days), 100 (in 25 days) and 200 points (in 355 days)
    now = datetime.now(UTC)
    member = await enroll()
    await order(database, "a", amount="10.00", placed_at=now - timedelta(days=345))
    await order(database, "b", amount="100.00", placed_at=now - timedelta(days=340))
    await orders.record_order(
        database,
        orders.OrderInput(
            external_id="c",
            member_external_id="cust-1",
            lines=lines(("SKU-2", 1, "100.00"), ("SKU-3", 1, "60.00"), ("SKU-4", 1, "40.00")),
            placed_at=now - timedelta(days=10),
        ),
    )
    five_off = await reward("5 off", 30)
    trees = await reward("Plant trees", 20, RewardKind.DONATION, value=Decimal(2), cause="Trees")
    tenth = await reward("10% off", 120, RewardKind.PERCENT_DISCOUNT, percent=10)
    big = await reward("50 off", 500, value=Decimal(50))
    await reward("Retired", 10, active=False)
    # and: 30 + 20 spent oldest lot first (lot a empty, lot b at 60), then 30 spent and returned
    await rewards.redeem(member.id, five_off.id, key="1")
    await rewards.redeem(member.id, trees.id, key="2")
    again = await rewards.redeem(member.id, five_off.id, key="3")
    assert again.coupon is not None
    await rewards.cancel(again.coupon.code, member.id, database)

    statement = await statements.build(member.id, now)

    assert (statement.balance, statement.pending_points) == (260, 0)
    assert [r.name for r in statement.affordable] == ["Plant trees", "5 off", "10% off"]
    assert [r.id for r in statement.affordable] == [trees.id, five_off.id, tenth.id]
    assert statement.next_reward is not None and statement.next_reward.id == big.id
    assert statement.points_to_next_reward == 240
    # lot b: 100, less 20 (the first 30 took lot a's 10 first), 20 (donation), 30 (third);
    # the cancelled coupon's 30 came back with lot b's expiry date
    lot_b_expiry = now - timedelta(days=340) + timedelta(days=365)
    assert [(lot.points, lot.expires_at) for lot in statement.expiring] == [
        (30, lot_b_expiry),
        (30, lot_b_expiry),
    ]
    assert statement.expiring_points == 60
    assert statement.rewards_redeemed == 2  # one coupon (the cancelled one is not), one donation
    assert statement.redeemed_points == 50
    assert statement.redeemed_value_cents == 500 + 200
    assert statement.tier_id is None
    assert len(statement.offers) == 3
    assert statement.offers[0].product.sku == "SKU-1"  # on two order lines, the others on one
    assert {o.reason for o in statement.offers} == {"POPULAR"}


async def test_with_nothing_in_reach_there_is_no_next_reward(database):
    member = await enroll()
    await reward("5 off", 30)
    await order(database, "a", amount="40.00")

    statement = await statements.build(member.id)

    assert [r.points_cost for r in statement.affordable] == [30]
    assert (statement.next_reward, statement.points_to_next_reward) == (None, None)
    assert (statement.expiring, statement.rewards_redeemed, statement.redeemed_value_cents) == (
        [],
        0,
        0,
    )


async def test_an_unknown_member_has_no_statement(database):
    with pytest.raises(NotFound):
        await statements.build(12345)


async def test_statement_shows_tier_and_what_is_missing(database):
    from loyalty.programme import admin
    from models import TierBasis, TierWindow
    from tests.support import enroll, order

    member = await enroll("tiered")
    await admin.save_tier(
        name="Silver", threshold=50, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
    )
    await admin.save_tier(
        name="Gold", threshold=200, basis=TierBasis.POINTS, window=TierWindow.LIFETIME
    )
    await order(database, "t-1", "tiered", amount="80.00")

    found = await statements.build(member.id)

    assert found.tier_progress.tier.name == "Silver"
    assert found.tier_progress.next_tier.name == "Gold" and found.tier_progress.missing == 120
    assert found.payload()["tier"] == "Silver" and found.payload()["tierMissing"] == 120
