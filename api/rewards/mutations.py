"""Reward mutations: catalogue admin, redemption, coupon use and cancellation."""

from __future__ import annotations

import strawberry

from api.context import STAFF, Info, Role, require
from api.errors import UserError, payload
from api.members.types import MemberType
from api.relay import decode_id
from api.rewards.inputs import (
    CancelCouponInput,
    CreateRewardInput,
    RedeemRewardInput,
    UpdateRewardInput,
    UseCouponInput,
)
from api.rewards.types import CouponType, DonationType, RewardType
from loyalty import members, rewards
from loyalty.ops import guessing
from models import Member


@strawberry.type
class RewardPayload:
    reward: RewardType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RedeemRewardPayload:
    coupon: CouponType | None = None
    donation: DonationType | None = None
    member: MemberType | None = None
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, result: rewards.Redemption, member: Member) -> RedeemRewardPayload:
        return cls(
            coupon=CouponType.from_row(result.coupon, result.reward) if result.coupon else None,
            donation=DonationType.from_row(result.donation) if result.donation else None,
            member=MemberType.from_row(member),
            replayed=result.replayed,
        )


@strawberry.type
class CouponPayload:
    coupon: CouponType | None = None
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RewardMutation:
    @strawberry.mutation(description="Add a reward to the catalogue (admin).")
    @payload(RewardPayload)
    async def create_reward(self, info: Info, input: CreateRewardInput) -> RewardPayload:
        require(info, Role.ADMIN)
        return RewardPayload(
            reward=RewardType.from_row(await rewards.create_reward(input.to_domain()))
        )

    @strawberry.mutation(description="Change or deactivate (active: false) a reward (admin).")
    @payload(RewardPayload)
    async def update_reward(self, info: Info, input: UpdateRewardInput) -> RewardPayload:
        require(info, Role.ADMIN)
        reward_id = decode_id("Reward", input.reward_id, field="rewardId")
        reward = await rewards.update_reward(reward_id, input.to_domain())
        return RewardPayload(reward=RewardType.from_row(reward))

    @strawberry.mutation(description="Spend points on a reward: a coupon code, or a donation.")
    @payload(RedeemRewardPayload)
    async def redeem_reward(self, info: Info, input: RedeemRewardInput) -> RedeemRewardPayload:
        member_id = require(info, Role.MEMBER).member_id or 0
        reward_id = decode_id("Reward", input.reward_id, field="rewardId")
        result = await rewards.redeem(member_id, reward_id, key=input.idempotency_key)
        return RedeemRewardPayload.of(result, await members.get(member_id))

    @strawberry.mutation(
        description="Burn a coupon for one order; the same order again is a no-op."
    )
    @payload(CouponPayload)
    async def use_coupon(self, info: Info, input: UseCouponInput) -> CouponPayload:
        context = require(info, *STAFF)
        shopper = context.shopper(input.shopper_id)
        coupon, replayed = await guessing.use(shopper, input.code, input.order_external_id)
        return CouponPayload(coupon=CouponType.from_row(coupon), replayed=replayed)

    @strawberry.mutation(description="Cancel an unused coupon; its points come back.")
    @payload(CouponPayload)
    async def cancel_coupon(self, info: Info, input: CancelCouponInput) -> CouponPayload:
        context = require(info, *STAFF, Role.MEMBER)
        owner = context.member_id if context.role == Role.MEMBER else None
        coupon = await rewards.cancel(input.code, owner, context.settings)
        return CouponPayload(coupon=CouponType.from_row(coupon))
