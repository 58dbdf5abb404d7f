"""A member's statement: everything a reminder e-mail or an app home screen shows, in one place.

Balance and pending points, rewards affordable now, the next reward and the points still needed,
points expiring soon (per lot), what the member has redeemed so far and its value, tier (when
the tier engine provides one) and the top personalised offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty import db, members, rewards
from loyalty.offers import serving
from loyalty.offers.serving import ProductOffer
from loyalty.programme import tiers
from models import CouponStatus, Lot, Reward

EXPIRING_WITHIN_DAYS = 30
TOP_OFFERS = 3


@dataclass(frozen=True)
class ExpiringLot:
    points: int
    expires_at: datetime


@dataclass(frozen=True)
class Statement:
    member_id: int
    external_id: str
    balance: int
    pending_points: int
    affordable: list[Reward]
    next_reward: Reward | None
    points_to_next_reward: int | None
    expiring: list[ExpiringLot]
    rewards_redeemed: int
    redeemed_points: int
    redeemed_value_cents: int
    tier_id: int | None
    tier_progress: tiers.TierProgress
    offers: list[ProductOffer]
    generated_at: datetime

    @property
    def expiring_points(self) -> int:
        return sum(lot.points for lot in self.expiring)

    def payload(self) -> dict[str, Any]:
        """The statement as JSON-ready data (the payload of a reminder event)."""
        return {
            "memberExternalId": self.external_id,
            "balance": self.balance,
            "pendingPoints": self.pending_points,
            "affordableRewards": [_reward(r) for r in self.affordable],
            "nextReward": _reward(self.next_reward) if self.next_reward else None,
            "pointsToNextReward": self.points_to_next_reward,
            "expiringPoints": self.expiring_points,
            "expiringLots": [
                {"points": lot.points, "expiresAt": lot.expires_at.isoformat()}
                for lot in self.expiring
            ],
            "rewardsRedeemed": self.rewards_redeemed,
            "redeemedPoints": self.redeemed_points,
            "redeemedValueCents": self.redeemed_value_cents,
            "tierId": self.tier_id,
            "tier": self.tier_progress.tier.name if self.tier_progress.tier else None,
            "nextTier": (
                self.tier_progress.next_tier.name if self.tier_progress.next_tier else None
            ),
            "tierMissing": self.tier_progress.missing,
            "offers": [
                {"sku": o.product.sku, "name": o.product.name, "reason": o.reason}
                for o in self.offers
            ],
            "generatedAt": self.generated_at.isoformat(),
        }


def _reward(reward: Reward) -> dict[str, Any]:
    return {"id": reward.id, "name": reward.name, "pointsCost": reward.points_cost}


# A cancelled coupon gave its points back, so it is not a redemption; a percent, free-product
# or free-shipping coupon has no fixed value and counts 0 towards the value.
_REDEEMED = """
SELECT COUNT(*) AS n, COALESCE(SUM(c.points), 0) AS points,
       COALESCE(SUM(COALESCE(r.value_cents, 0)), 0) AS value
FROM coupons c JOIN rewards r ON r.id = c.reward_id
WHERE c.member_id = $1 AND c.status <> $2
UNION ALL
SELECT COUNT(*), COALESCE(SUM(points), 0), COALESCE(SUM(value_cents), 0)
FROM donations WHERE member_id = $1
"""


async def build(member_id: int, now: datetime | None = None) -> Statement:
    """The statement of one member at ``now`` (NotFound for an unknown member)."""
    now = now or datetime.now(UTC)
    member = await members.get(member_id)
    catalogue = await rewards.catalogue(now)
    affordable = [r for r in catalogue if r.points_cost <= member.balance]
    # The catalogue is cheapest first: the next reward is the cheapest one not yet affordable.
    upcoming = next((r for r in catalogue if r.points_cost > member.balance), None)
    lots = await (
        Lot.filter(
            member_id=member_id,
            remaining__gt=0,
            expires_at__lte=now + timedelta(days=EXPIRING_WITHIN_DAYS),
        )
        .order_by("expires_at", "id")
        .values_list("remaining", "expires_at")
    )
    redeemed = await db.fetch(db.connection(), _REDEEMED, member_id, CouponStatus.CANCELLED.value)
    progress = await tiers.progress(member_id, now)
    return Statement(
        member_id=member.id,
        external_id=member.external_id,
        balance=member.balance,
        pending_points=member.pending,
        affordable=affordable,
        next_reward=upcoming,
        points_to_next_reward=upcoming.points_cost - member.balance if upcoming else None,
        expiring=[ExpiringLot(int(points), expires) for points, expires in lots],
        rewards_redeemed=sum(int(row["n"]) for row in redeemed),
        redeemed_points=sum(int(row["points"]) for row in redeemed),
        redeemed_value_cents=sum(int(row["value"]) for row in redeemed),
        tier_id=progress.tier.id if progress.tier else None,
        tier_progress=progress,
        offers=await serving.served_product_offers(member_id, TOP_OFFERS),
        generated_at=now,
    )
