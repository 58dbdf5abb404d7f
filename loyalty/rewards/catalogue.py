"""The rewards catalogue: creating and changing rewards, and who may redeem which reward when
(availability, tier, affordability): the one home of reward eligibility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from loyalty import db
from loyalty.errors import ErrorCode, InvalidInput, LoyaltyError, NotFound
from loyalty.limits import MAX_POINTS
from loyalty.money import to_cents
from loyalty.privacy import audit
from loyalty.programme.config import ProgramConfig, member_tier, program_config
from models import (
    Member,
    Reward,
    RewardKind,
    Tier,
)


@dataclass
class RewardInput:
    """What an admin sends to create or update a reward (None: unchanged on update)."""

    name: str | None = None
    kind: RewardKind | None = None
    points_cost: int | None = None
    description: str | None = None
    value: Decimal | None = None
    percent: int | None = None
    sku: str | None = None
    cause: str | None = None
    category: str | None = None
    min_order: Decimal | None = None
    stock: int | None = None
    per_member_limit: int | None = None
    coupon_days: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool | None = None
    min_tier: str | None = None


_NEEDS = {
    RewardKind.FIXED_DISCOUNT: "value",
    RewardKind.GIFT_CARD: "value",
    RewardKind.DONATION: "value",
    RewardKind.PERCENT_DISCOUNT: "percent",
    RewardKind.FREE_PRODUCT: "sku",
}


def _apply(reward: Reward, data: RewardInput) -> None:
    """Copy given fields onto the reward and check the whole reward."""
    if data.name is not None:
        reward.name = data.name.strip()
    if data.kind is not None:
        reward.kind = data.kind
    for name in ("points_cost", "description", "percent", "sku", "cause", "category", "stock"):
        value = getattr(data, name)
        if value is not None:
            setattr(reward, name, value)
    if data.per_member_limit is not None:
        reward.per_member_limit = data.per_member_limit
    if data.coupon_days is not None:
        reward.coupon_days = data.coupon_days
    if data.value is not None:
        reward.value_cents = to_cents(data.value, field="value", allow_zero=False)
    if data.min_order is not None:
        reward.min_order_cents = to_cents(data.min_order, field="minOrder")
    if data.starts_at is not None:
        reward.starts_at = data.starts_at
    if data.ends_at is not None:
        reward.ends_at = data.ends_at
    if data.active is not None:
        reward.active = data.active
    _check(reward)


def _check(reward: Reward) -> None:
    if not reward.name or len(reward.name) > 255:
        raise InvalidInput("name must be 1 to 255 characters", field="name")
    if reward.points_cost is None or not 0 < reward.points_cost <= MAX_POINTS:
        raise InvalidInput(f"pointsCost must be between 1 and {MAX_POINTS}", field="pointsCost")
    needed = _NEEDS.get(reward.kind)
    if needed == "value" and not reward.value_cents:
        raise InvalidInput(f"a {reward.kind.name} reward needs a value", field="value")
    if needed == "percent" and not (reward.percent and 0 < reward.percent <= 100):
        raise InvalidInput("percent must be between 1 and 100", field="percent")
    if needed == "sku" and not (reward.sku and reward.sku.strip()):
        raise InvalidInput("a FREE_PRODUCT reward needs a sku", field="sku")
    if reward.kind == RewardKind.DONATION and not (reward.cause and reward.cause.strip()):
        raise InvalidInput("a DONATION reward needs a cause", field="cause")
    for name, limit in (("sku", 64), ("cause", 255), ("category", 128)):
        value = getattr(reward, name)
        if value is not None and len(value) > limit:
            raise InvalidInput(f"{name} is longer than {limit} characters", field=name)
    if reward.stock is not None and reward.stock < 0:
        raise InvalidInput("stock must be zero or more", field="stock")
    if reward.per_member_limit is not None and reward.per_member_limit < 1:
        raise InvalidInput("perMemberLimit must be at least 1", field="perMemberLimit")
    if not 1 <= reward.coupon_days <= 3650:
        raise InvalidInput("couponDays must be between 1 and 3650", field="couponDays")
    if reward.starts_at and reward.ends_at and reward.ends_at <= reward.starts_at:
        raise InvalidInput("endsAt must be after startsAt", field="endsAt")


async def _set_min_tier(reward: Reward, data: RewardInput) -> None:
    if data.min_tier is None:
        return
    if data.min_tier == "":
        reward.min_tier_id = None
        return
    tier = await Tier.get_or_none(name=data.min_tier, active=True)
    if tier is None:
        raise InvalidInput(f"unknown tier {data.min_tier!r}", field="minTier")
    reward.min_tier_id = tier.id


async def create_reward(data: RewardInput) -> Reward:
    if data.kind is None:
        raise InvalidInput("kind is required", field="kind")
    reward = Reward(name=data.name or "", kind=data.kind, points_cost=data.points_cost or 0)
    _apply(reward, data)
    await _set_min_tier(reward, data)
    await reward.save()
    audit.saved(reward, {})
    return reward


async def update_reward(reward_id: int, data: RewardInput) -> Reward:
    reward = await get_reward(reward_id)
    before = audit.snapshot(reward)
    _apply(reward, data)
    await _set_min_tier(reward, data)
    await reward.save()
    audit.saved(reward, before)
    return reward


async def get_reward(reward_id: int) -> Reward:
    reward = await Reward.get_or_none(id=reward_id)
    if reward is None:
        raise NotFound("reward not found", field="rewardId", code=ErrorCode.REWARD_NOT_FOUND)
    return reward


_ACTIVE = "SELECT {} FROM rewards WHERE active ORDER BY points_cost, id"


async def catalogue(now: datetime | None = None) -> list[Reward]:
    """Active rewards inside their window with stock left, cheapest first (a fixed statement:
    the account page and the catalogue read it on every request)."""
    now = now or datetime.now(UTC)
    rows = await db.fetch(db.connection(), _ACTIVE.format(db.columns(Reward)))
    rewards = [db.load(Reward, row) for row in rows]
    return [r for r in rewards if unavailable(r, now) is None]


async def every_reward() -> list[Reward]:
    """Every reward, also inactive, out of stock or outside its window; newest first."""
    return await Reward.all().order_by("-id")


def unavailable(reward: Reward, now: datetime) -> LoyaltyError | None:
    """Why the reward cannot be redeemed now, or None."""
    if not reward.active:
        return InvalidInput(
            "this reward is not active", field="rewardId", code=ErrorCode.REWARD_INACTIVE
        )
    if reward.starts_at and now < reward.starts_at:
        return InvalidInput(
            "this reward is not available yet", field="rewardId", code=ErrorCode.REWARD_NOT_STARTED
        )
    if reward.ends_at and now >= reward.ends_at:
        return InvalidInput(
            "this reward is no longer available", field="rewardId", code=ErrorCode.REWARD_ENDED
        )
    if reward.stock is not None and reward.stock <= 0:
        return InvalidInput(
            "this reward is out of stock", field="rewardId", code=ErrorCode.OUT_OF_STOCK
        )
    return None


def tier_allows(config: ProgramConfig, held: Tier | None, reward: Reward) -> bool:
    """Whether a member holding tier ``held`` may redeem this reward: a tier-only reward needs
    that tier or above (and a reward whose minimum tier is no longer active, nobody)."""
    if reward.min_tier_id is None:
        return True
    required = config.tier(reward.min_tier_id)
    return required is not None and held is not None and held.threshold >= required.threshold


async def check_tier(member_id: int, reward: Reward) -> None:
    """Refuse a tier-only reward to a member below its tier (TIER_REQUIRED)."""
    if reward.min_tier_id is None:
        return
    config = await program_config()
    if not tier_allows(config, (await member_tier(member_id)).tier, reward):
        required = config.tier(reward.min_tier_id)
        raise InvalidInput(
            f"this reward is for {required.name if required else 'tier'} members and above",
            field="rewardId",
            code=ErrorCode.TIER_REQUIRED,
        )


async def affordability(member_id: int | None, rewards: list[Reward]) -> dict[int, int]:
    """Points still missing per reward for this member (0: affordable now)."""
    if member_id is None:
        return {}
    member = await Member.get_or_none(id=member_id)
    balance = member.balance if member else 0
    return {r.id: max(0, r.points_cost - balance) for r in rewards}
