"""The Statement type: balance, rewards in reach, expiring points, redemptions, offers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.offers.types import Offer
from api.relay import encode_id
from api.rewards.types import RewardType
from loyalty.members.statements import Statement
from loyalty.money import from_cents


@strawberry.type
class ExpiringLot:
    points: int
    expires_at: datetime


@strawberry.type(name="Statement")
class StatementType:
    balance: int
    pending_points: int
    affordable_rewards: list[RewardType] = strawberry.field(
        description="Catalogue rewards the balance covers now, cheapest first."
    )
    next_reward: RewardType | None = strawberry.field(
        description="The cheapest reward the balance does not cover yet."
    )
    points_to_next_reward: int | None
    expiring_points: int = strawberry.field(description="Points expiring within 30 days.")
    expiring_lots: list[ExpiringLot] = strawberry.field(
        description="The lots behind expiringPoints, soonest first."
    )
    rewards_redeemed: int = strawberry.field(
        description="Coupons (not cancelled) and donations so far."
    )
    redeemed_points: int
    redeemed_value: Decimal = strawberry.field(
        description="Face value of those rewards (percent and free-item coupons count 0)."
    )
    tier_id: strawberry.ID | None = strawberry.field(description="The member's tier id.")
    tier_name: str | None
    next_tier_name: str | None
    points_to_next_tier: int = strawberry.field(
        description="What is still missing for the next tier (points or cents, by its basis)."
    )
    offers: list[Offer] = strawberry.field(description="The top 3 personalised offers.")
    generated_at: datetime

    @classmethod
    def from_statement(cls, s: Statement, secret: str) -> StatementType:
        return cls(
            balance=s.balance,
            pending_points=s.pending_points,
            affordable_rewards=[RewardType.from_row(r, 0) for r in s.affordable],
            next_reward=(
                RewardType.from_row(s.next_reward, s.points_to_next_reward)
                if s.next_reward
                else None
            ),
            points_to_next_reward=s.points_to_next_reward,
            expiring_points=s.expiring_points,
            expiring_lots=[
                ExpiringLot(points=x.points, expires_at=x.expires_at) for x in s.expiring
            ],
            rewards_redeemed=s.rewards_redeemed,
            redeemed_points=s.redeemed_points,
            redeemed_value=from_cents(s.redeemed_value_cents),
            tier_id=strawberry.ID(encode_id("Tier", s.tier_id)) if s.tier_id is not None else None,
            tier_name=s.tier_progress.tier.name if s.tier_progress.tier else None,
            next_tier_name=s.tier_progress.next_tier.name if s.tier_progress.next_tier else None,
            points_to_next_tier=s.tier_progress.missing,
            offers=[Offer.for_product(o, s.member_id, secret) for o in s.offers],
            generated_at=s.generated_at,
        )
