"""The outbox: every committed change writes its event in the same transaction, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty import db, ledger, rewards
from loyalty.errors import InsufficientPoints
from loyalty.ledger import adjust
from loyalty.ops import jobs
from models import EntryKind, OutboxEvent, RewardKind
from tests.support import enroll, order

pytestmark = pytest.mark.usefixtures("database")
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


async def kinds() -> list[str]:
    return list(await OutboxEvent.all().order_by("id").values_list("kind", flat=True))


async def test_earning_spending_and_expiry_each_write_one_event(database):
    member = await enroll()
    await order(database, "o-1", amount="100.00", placed_at=NOW - timedelta(days=400))
    await adjust.adjust_points(member.id, -30, "till")

    await jobs.run(NOW, database)

    assert await kinds() == ["points_earned", "points_spent", "points_expired", "reminder_due"]
    earned, spent, expired = await OutboxEvent.filter(
        kind__in=["points_earned", "points_spent", "points_expired"]
    ).order_by("id")
    assert earned.member_id == member.id
    assert (earned.payload["points"], earned.payload["balanceAfter"]) == (100, 100)
    assert (spent.payload["points"], spent.payload["entryKind"]) == (-30, "adjust")
    assert (expired.payload["points"], expired.payload["balanceAfter"]) == (-70, 0)
    assert len({e.event_id for e in (earned, spent, expired)}) == 3


async def test_a_replayed_order_writes_no_second_event(database):
    await enroll()
    await order(database, "o-1", amount="10.00")
    await order(database, "o-1", amount="10.00")

    assert await kinds() == ["points_earned"]


async def test_a_refused_debit_rolls_its_event_back_with_it(database):
    member = await enroll()
    await order(database, "o-1", amount="10.00")

    async def overspend(conn):
        return await ledger.debit(conn, member.id, 11, kind=EntryKind.REDEEM, key="too-much")

    with pytest.raises(InsufficientPoints):
        await db.atomic(overspend)

    assert await kinds() == ["points_earned"]


async def test_redeeming_and_using_a_coupon_write_their_events(database):
    member = await enroll()
    await order(database, "o-1", amount="50.00")
    reward = await rewards.create_reward(
        rewards.RewardInput(
            name="5 off", kind=RewardKind.FIXED_DISCOUNT, points_cost=40, value=Decimal(5)
        )
    )

    redemption = await rewards.redeem(member.id, reward.id, key="r-1")
    assert redemption.coupon is not None
    await rewards.use(redemption.coupon.code, "shop-order-9")
    await rewards.use(redemption.coupon.code, "shop-order-9")  # replay: no second event

    assert await kinds() == ["points_earned", "points_spent", "reward_redeemed", "coupon_used"]
    redeemed = await OutboxEvent.get(kind="reward_redeemed")
    assert redeemed.payload["couponCode"] == redemption.coupon.code
    assert (redeemed.payload["points"], redeemed.payload["valueCents"]) == (40, 500)
    used = await OutboxEvent.get(kind="coupon_used")
    assert used.payload["orderExternalId"] == "shop-order-9"
