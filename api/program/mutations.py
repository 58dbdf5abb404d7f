"""Programme configuration (admin) and recordAction (storefront)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.context import STAFF, Info, Role, require
from api.errors import UserError, payload
from api.members.types import MemberType, PointsTransaction
from api.program.types import (
    ActionRule,
    ActionType,
    Campaign,
    Cap,
    EarningRule,
    PeriodType,
    Plan,
    Tier,
    TierBasisType,
    TierWindowType,
)
from api.relay import decode_id
from loyalty import members
from loyalty.money import to_cents
from loyalty.programme import actions, admin
from models import Period, TierBasis, TierWindow


@strawberry.input
class EarningRuleInput:
    name: str
    id: strawberry.ID | None = None
    category: str | None = None
    sku: str | None = None
    multiplier: Decimal | None = None
    points_per_item: int | None = None
    active: bool = True


@strawberry.input
class CampaignInput:
    name: str
    starts_at: datetime
    ends_at: datetime
    id: strawberry.ID | None = None
    multiplier: Decimal | None = None
    fixed_points: int | None = None
    skus: list[str] | None = None
    categories: list[str] | None = None
    tiers: list[str] | None = None
    active: bool = True


@strawberry.input
class TierInput:
    name: str
    threshold: int
    id: strawberry.ID | None = None
    basis: TierBasisType = TierBasis.POINTS  # type: ignore[valid-type]
    window: TierWindowType = TierWindow.LIFETIME  # type: ignore[valid-type]
    multiplier: Decimal | None = None
    perks: list[str] | None = None
    active: bool = True


@strawberry.input
class ActionRuleInput:
    action: ActionType  # type: ignore[valid-type]
    points: int
    limit: int = 1
    period: PeriodType = Period.LIFETIME  # type: ignore[valid-type]
    active: bool = True


@strawberry.input
class PlanInput:
    name: str
    fee: Decimal
    period_days: int
    multiplier: Decimal | None = None
    perks: list[str] | None = None
    active: bool = True


@strawberry.input
class RecordActionInput:
    member_external_id: str
    action: ActionType  # type: ignore[valid-type]
    reference: str


@strawberry.type
class EarningRulePayload:
    rule: EarningRule | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CampaignPayload:
    campaign: Campaign | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TierPayload:
    tier: Tier | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ActionRulePayload:
    rule: ActionRule | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CapPayload:
    cap: Cap | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PlanPayload:
    plan: Plan | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SubscribePayload:
    ends_at: datetime | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RecordActionPayload:
    points: int = 0
    transaction: PointsTransaction | None = None
    member: MemberType | None = None
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _id(type_name: str, value: strawberry.ID | None) -> int | None:
    return decode_id(type_name, value) if value is not None else None


@strawberry.type
class ProgramMutation:
    @strawberry.mutation(description="Create or update a category/product bonus rule (admin).")
    @payload(EarningRulePayload)
    async def save_earning_rule(self, info: Info, input: EarningRuleInput) -> EarningRulePayload:
        require(info, Role.ADMIN)
        rule = await admin.save_earning_rule(
            name=input.name,
            category=input.category,
            sku=input.sku,
            multiplier=input.multiplier,
            points_per_item=input.points_per_item,
            active=input.active,
            rule_id=_id("EarningRule", input.id),
        )
        return EarningRulePayload(rule=EarningRule.from_row(rule))

    @strawberry.mutation(description="Create or update a campaign (admin).")
    @payload(CampaignPayload)
    async def save_campaign(self, info: Info, input: CampaignInput) -> CampaignPayload:
        require(info, Role.ADMIN)
        campaign = await admin.save_campaign(
            name=input.name,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            multiplier=input.multiplier,
            fixed_points=input.fixed_points,
            skus=input.skus,
            categories=input.categories,
            tiers=input.tiers,
            active=input.active,
            campaign_id=_id("Campaign", input.id),
        )
        return CampaignPayload(campaign=Campaign.from_row(campaign))

    @strawberry.mutation(description="Create or update a tier (admin).")
    @payload(TierPayload)
    async def save_tier(self, info: Info, input: TierInput) -> TierPayload:
        require(info, Role.ADMIN)
        tier = await admin.save_tier(
            name=input.name,
            threshold=input.threshold,
            basis=input.basis,
            window=input.window,
            multiplier=input.multiplier,
            perks=input.perks,
            active=input.active,
            tier_id=_id("Tier", input.id),
        )
        return TierPayload(tier=Tier.from_row(tier))

    @strawberry.mutation(description="Set the points and limit of an action (admin).")
    @payload(ActionRulePayload)
    async def save_action_rule(self, info: Info, input: ActionRuleInput) -> ActionRulePayload:
        require(info, Role.ADMIN)
        rule = await admin.save_action_rule(
            action=input.action,
            points=input.points,
            limit_count=input.limit,
            period=input.period,
            active=input.active,
        )
        return ActionRulePayload(rule=ActionRule.from_row(rule))

    @strawberry.mutation(description="Cap order points per order or period; null removes it.")
    @payload(CapPayload)
    async def set_earning_cap(
        self,
        info: Info,
        period: Period,
        max_points: int | None = None,
    ) -> CapPayload:
        require(info, Role.ADMIN)
        cap = await admin.set_cap(period, max_points)
        return CapPayload(cap=Cap(period=cap.period, max_points=cap.max_points) if cap else None)

    @strawberry.mutation(description="Create or update a paid membership plan (admin).")
    @payload(PlanPayload)
    async def save_plan(self, info: Info, input: PlanInput) -> PlanPayload:
        require(info, Role.ADMIN)
        plan = await admin.save_plan(
            name=input.name,
            fee_cents=to_cents(input.fee, field="fee"),
            period_days=input.period_days,
            multiplier=input.multiplier,
            perks=input.perks,
            active=input.active,
        )
        return PlanPayload(plan=Plan.from_row(plan))

    @strawberry.mutation(description="Record a member's paid subscription (admin).")
    @payload(SubscribePayload)
    async def subscribe_member(
        self, info: Info, member_id: strawberry.ID, plan_id: strawberry.ID, starts_at: datetime
    ) -> SubscribePayload:
        require(info, Role.ADMIN)
        member = await members.get(decode_id("Member", member_id, field="memberId"))
        subscription = await admin.subscribe(
            member.id, decode_id("Plan", plan_id, field="planId"), starts_at
        )
        return SubscribePayload(ends_at=subscription.ends_at)

    @strawberry.mutation(description="Points for an action; the same reference earns once.")
    @payload(RecordActionPayload)
    async def record_action(self, info: Info, input: RecordActionInput) -> RecordActionPayload:
        context = require(info, *STAFF)
        result = await actions.record_action(
            context.settings, input.member_external_id, input.action, input.reference
        )
        member = await members.by_external_id(input.member_external_id)
        return RecordActionPayload(
            points=result.points,
            transaction=PointsTransaction.from_row(result.entry) if result.entry else None,
            member=MemberType.from_row(member),
            replayed=result.replayed,
        )
