"""Reward and coupon inputs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.rewards.types import RewardKindType
from loyalty import rewards


@strawberry.input
class CreateRewardInput:
    name: str
    kind: RewardKindType  # type: ignore[valid-type]
    points_cost: int
    description: str | None = None
    value: Decimal | None = None
    percent: int | None = None
    sku: str | None = None
    cause: str | None = None
    category: str | None = None
    minimum_order: Decimal | None = None
    stock: int | None = None
    per_member_limit: int | None = None
    coupon_days: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    min_tier: str | None = strawberry.field(default=None, description="Tier name, or none.")

    def to_domain(self) -> rewards.RewardInput:
        return rewards.RewardInput(
            min_tier=self.min_tier,
            name=self.name,
            kind=self.kind,
            points_cost=self.points_cost,
            description=self.description,
            value=self.value,
            percent=self.percent,
            sku=self.sku,
            cause=self.cause,
            category=self.category,
            min_order=self.minimum_order,
            stock=self.stock,
            per_member_limit=self.per_member_limit,
            coupon_days=self.coupon_days,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
        )


@strawberry.input
class UpdateRewardInput:
    reward_id: strawberry.ID
    name: str | None = None
    points_cost: int | None = None
    description: str | None = None
    value: Decimal | None = None
    percent: int | None = None
    sku: str | None = None
    cause: str | None = None
    category: str | None = None
    minimum_order: Decimal | None = None
    stock: int | None = None
    per_member_limit: int | None = None
    coupon_days: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool | None = None
    min_tier: str | None = strawberry.field(
        default=None, description="Tier name; an empty string removes the restriction."
    )

    def to_domain(self) -> rewards.RewardInput:
        return rewards.RewardInput(
            min_tier=self.min_tier,
            name=self.name,
            points_cost=self.points_cost,
            description=self.description,
            value=self.value,
            percent=self.percent,
            sku=self.sku,
            cause=self.cause,
            category=self.category,
            min_order=self.minimum_order,
            stock=self.stock,
            per_member_limit=self.per_member_limit,
            coupon_days=self.coupon_days,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            active=self.active,
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
