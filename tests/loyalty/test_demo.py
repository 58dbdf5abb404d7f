"""The demo's sample programme and redemptions: every kind of reward, and a second run that
changes nothing (the import and training are exercised by the console's browser tests)."""

from __future__ import annotations

from datetime import UTC, datetime

from loyalty.ledger.check import violations
from loyalty.ops import demo
from models import Campaign, Coupon, LedgerEntry, MemberTier, Reward, RewardKind, Tier
from tests.support import enroll, order


async def test_sample_programme_and_redemptions_once(database):
    for i in range(6):
        await enroll(f"m-{i}")
        await order(database, f"o-{i}", member_external_id=f"m-{i}", amount=f"{200 * (i + 1)}.00")
    now = datetime.now(UTC)

    await demo.sample_programme(now)
    await demo._place_members(now)
    first = await demo._redemptions(now)
    state = (
        await Tier.all().count(),
        await Reward.all().count(),
        await Campaign.all().count(),
        await Coupon.all().count(),
        await LedgerEntry.all().count(),
    )
    await demo.sample_programme(now)
    await demo._place_members(now)
    again = await demo._redemptions(now)

    kinds = set(await Reward.all().values_list("kind", flat=True))
    assert kinds == set(RewardKind)
    assert [t.name for t in await Tier.all().order_by("threshold")] == [
        "Silver",
        "Gold",
        "Platinum",
    ]
    assert first == again and first >= 1
    assert state == (
        await Tier.all().count(),
        await Reward.all().count(),
        await Campaign.all().count(),
        await Coupon.all().count(),
        await LedgerEntry.all().count(),
    )
    assert await MemberTier.all().count() == 2  # 1,000 and 1,200 points: Silver
    assert await violations() == []
