"""Reward and coupon inputs."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from decimal import Decimal

import strawberry

from api.rewards.types import RewardKindType
from loyalty import rewards


class RewardFields:
    """What both reward inputs share: one mapping to the domain's ``RewardInput``."""

    def to_domain(self) -> rewards.RewardInput:
        """Every ``RewardInput`` field this input has, under the same name (absent: None)."""
        names = [f.name for f in fields(rewards.RewardInput) if hasattr(self, f.name)]
        return rewards.RewardInput(**{name: getattr(self, name) for name in names})


@strawberry.input
class CreateRewardInput(RewardFields):
    name: str
    kind: RewardKindType  # type: ignore[valid-type]
    points_cost: int
    description: str | None = None
    value: Decimal | None = None
    percent: int | None = None
    sku: str | None = None
    cause: str | None = None
    category: str | None = None
    min_order: Decimal | None = strawberry.field(default=None, name="minimumOrder")
    stock: int | None = None
    per_member_limit: int | None = None
    coupon_days: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    min_tier: str | None = strawberry.field(default=None, description="Tier name, or none.")


@strawberry.input
class UpdateRewardInput(RewardFields):
    reward_id: strawberry.ID
    name: str | None = None
    points_cost: int | None = None
    description: str | None = None
    value: Decimal | None = None
    percent: int | None = None
    sku: str | None = None
    cause: str | None = None
    category: str | None = None
    min_order: Decimal | None = strawberry.field(default=None, name="minimumOrder")
    stock: int | None = None
    per_member_limit: int | None = None
    coupon_days: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool | None = None
    min_tier: str | None = strawberry.field(
        default=None, description="Tier name; an empty string removes the restriction."
    )


@strawberry.input
class RedeemRewardInput:
    reward_id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.input
class UseCouponInput:
    code: str
    order_external_id: str
    shopper_id: str | None = strawberry.field(
        default=None,
        description="The storefront's id for its shopper or session: failed codes count "
        "per shopper.",
    )


@strawberry.input
class CancelCouponInput:
    code: str


@strawberry.input
class CartLineInput:
    sku: str
    quantity: int
    unit_price: Decimal
    category: str | None = None

    def to_domain(self) -> rewards.CartLine:
        return rewards.CartLine(self.sku, self.quantity, self.unit_price, self.category)
