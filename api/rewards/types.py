"""Reward, coupon and donation types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.context import Info
from api.relay import Listed, encode_id
from loyalty import rewards
from loyalty.money import from_cents
from models import Coupon, CouponStatus, Donation, Reward, RewardKind, Tier

RewardKindType = strawberry.enum(RewardKind, name="RewardKind")
CouponStatusType = strawberry.enum(CouponStatus, name="CouponStatus")


def _money(cents: int | None) -> Decimal | None:
    return from_cents(cents) if cents is not None else None


@strawberry.type(name="Reward")
class RewardType:
    id: strawberry.ID
    name: str
    description: str | None
    kind: RewardKindType  # type: ignore[valid-type]
    points_cost: int
    value: Decimal | None
    percent: int | None
    sku: str | None
    cause: str | None
    category: str | None
    min_tier_id: strawberry.Private[int | None]
    minimum_order: Decimal
    stock: int | None
    per_member_limit: int | None
    coupon_days: int
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool
    affordable: bool | None = strawberry.field(
        default=None, description="With a member token: the balance covers it now."
    )
    points_missing: int | None = strawberry.field(
        default=None, description="With a member token: points still needed."
    )

    @strawberry.field(description="Only members at this tier or above may redeem it.")
    async def min_tier(self, info: Info) -> str | None:
        if self.min_tier_id is None:
            return None
        # Active tiers from the request's configuration; one deactivated since, by its id.
        tier = (await info.context.program()).tier(self.min_tier_id)
        tier = tier or await Tier.get_or_none(id=self.min_tier_id)
        return tier.name if tier else None

    @classmethod
    def listed(cls, missing: dict[int, int], row: Listed[Reward]) -> RewardType:
        """A catalogue row, with the points the member still misses for it."""
        return cls.from_row(row.item, missing.get(row.item.id))

    @classmethod
    def from_row(cls, row: Reward, missing: int | None = None) -> RewardType:
        return cls(
            id=strawberry.ID(encode_id("Reward", row.id)),
            name=row.name,
            description=row.description,
            kind=row.kind,
            points_cost=row.points_cost,
            value=_money(row.value_cents),
            percent=row.percent,
            sku=row.sku,
            cause=row.cause,
            category=row.category,
            min_tier_id=row.min_tier_id,
            minimum_order=from_cents(row.min_order_cents),
            stock=row.stock,
            per_member_limit=row.per_member_limit,
            coupon_days=row.coupon_days,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            active=row.active,
            affordable=None if missing is None else missing == 0,
            points_missing=missing,
        )


@strawberry.type(name="Coupon")
class CouponType:
    code: str
    status: CouponStatusType  # type: ignore[valid-type]
    expires_at: datetime
    points: int
    order_external_id: str | None
    used_at: datetime | None
    created_at: datetime
    reward_row: strawberry.Private[Reward | None]
    reward_id: strawberry.Private[int]

    @strawberry.field
    async def reward(self) -> RewardType:
        row = self.reward_row or await rewards.get_reward(self.reward_id)
        return RewardType.from_row(row)

    @classmethod
    def from_row(cls, row: Coupon, reward: Reward | None = None) -> CouponType:
        return cls(
            code=row.code,
            status=row.status,
            expires_at=row.expires_at,
            points=row.points,
            order_external_id=row.order_external_id,
            used_at=row.used_at,
            created_at=row.created_at,
            # A coupon read with its reward (select_related) carries it already.
            reward_row=reward or _read_with(row),
            reward_id=row.reward_id,
        )


def _read_with(coupon: Coupon) -> Reward | None:
    """The coupon's reward when it was read with the coupon (select_related), else None."""
    reward = getattr(coupon, "_reward", None)  # where tortoise keeps a related row it read
    return reward if isinstance(reward, Reward) else None


@strawberry.type(name="Donation")
class DonationType:
    cause: str
    points: int
    value: Decimal
    created_at: datetime

    @classmethod
    def from_row(cls, row: Donation) -> DonationType:
        return cls(
            cause=row.cause,
            points=row.points,
            value=from_cents(row.value_cents),
            created_at=row.created_at,
        )


@strawberry.type
class CauseTotal:
    cause: str
    donations: int
    points: int
    value: Decimal

    @classmethod
    def of(cls, total: rewards.CauseTotal) -> CauseTotal:
        return cls(
            cause=total.cause,
            donations=total.donations,
            points=total.points,
            value=from_cents(total.value_cents),
        )


@strawberry.type
class CouponCheck:
    valid: bool
    code: str
    discount: Decimal
    free_shipping: bool
    reason: str | None
    error_code: str | None
    coupon: CouponType | None

    @classmethod
    def from_check(cls, code: str, check: rewards.CouponCheck, show_coupon: bool) -> CouponCheck:
        return cls(
            valid=check.valid,
            code=code,
            discount=from_cents(check.discount_cents),
            free_shipping=check.free_shipping,
            reason=check.message or None,
            error_code=check.code.value if check.code else None,
            coupon=CouponType.from_row(check.coupon, check.reward)
            if show_coupon and check.coupon
            else None,
        )
